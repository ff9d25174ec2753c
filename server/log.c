#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

static enum log_level min_level = LOG_INFO;

/* Held lines (log_hold): info and debug lines of one turn of the event loop, written
 * together when it ends. */
static char held[64 * 1024];
static size_t held_len;
static bool holding;

static void write_all(const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere to log: nothing better to do than go on */
		p += n;
		len -= (size_t)n;
	}
}

void log_flush(void)
{
	if (held_len > 0)
		write_all(held, held_len);
	held_len = 0;
}

void log_on_turn_end(uv_prepare_t *h)
{
	(void)h;
	log_flush();
}

void log_hold(bool on)
{
	if (!on)
		log_flush();
	holding = on;
}
static const char *const level_names[] = {"debug", "info", "warn", "error"};

bool log_set_level(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			min_level = (enum log_level)i;
			return true;
		}
	}
	return false;
}

void log_event(enum log_level level, const char *fmt, ...)
{
	if (level < min_level)
		return;
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);

	/* Build the whole line first so concurrent writers (the thread pool never logs, but
	 * child processes sharing stderr might) cannot interleave within it. */
	char line[2048];
	int n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, now.tv_nsec / 1000000, level_names[level]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	if (holding && level < LOG_WARN) {
		if (held_len + len > sizeof(held))
			log_flush();
		memcpy(held + held_len, line, len);
		held_len += len;
		return;
	}
	log_flush(); /* what came before goes first */
	write_all(line, len);
}

char *log_sample(const void *data, size_t len, size_t max, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t o = 0;
	for (size_t i = 0; i < len && i < max && o + 3 < cap; i++) {
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 15];
	}
	if (cap > 0)
		out[o < cap ? o : cap - 1] = '\0';
	return out;
}

char *log_clean(const char *text, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = text; p != NULL && *p != '\0' && o + 1 < cap; p++)
		out[o++] = (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '=') ? *p : '_';
	if (cap > 0)
		out[o] = '\0';
	return out;
}

void log_bug(const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_error("event=bug what=\"%s\"", what);
	log_flush();
	abort();
}

void log_uv_must(int rc, const char *call, const char *file, int line)
{
	if (rc != 0)
		log_bug("%s failed at %s:%d: %s", call, file, line, uv_strerror(rc));
}
