/* Logging: one line per event on stderr, `key=value` fields, e.g.
 *   ts=2026-11-22T10:00:00.123Z level=info event=conn_open conn=7 peer=127.0.0.1:51234
 * Every line about a connection or request names it (conn=, req=). Values that come from a
 * peer must go through log_sample() first; personal data never goes into a log line. */
#ifndef TULAYD_LOG_H
#define TULAYD_LOG_H

#include <stdbool.h>

#include <uv.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the lowest level written. Returns false for an unknown name (debug, info, warn,
 * error) and leaves the level unchanged. */
bool log_set_level(const char *name) __attribute__((warn_unused_result));

/* Writes one line: the timestamp and level, then `fmt` (which should be key=value pairs). */
void log_event(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Holding on: info and debug lines are kept in memory (up to 64 KiB) until log_flush(),
 * which tulayd's event loop calls once per turn, before it waits for I/O: one write for
 * all the lines of a turn instead of one per line (a write per request cost tulayd about
 * a twentieth of its CPU). Warnings and errors are written at once, after whatever is
 * held. Off: every line is written at once (the default; holding off flushes). A crash
 * loses at most the info lines of the turn it happened in. */
void log_hold(bool on);

/* A bug: code that contradicts itself (a statement without the column its reader names,
 * a libuv call misused). Logs "event=bug" with the message, flushes the log and aborts:
 * tulayd stops rather than answer from a state nobody designed. */
void log_bug(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* For libuv calls that fail only when misused (a closing handle, a NULL callback) or when
 * the process lacks what any server needs (a signal pipe at start-up): `rc` is their
 * result. A failure is a bug, not a condition to serve through: it is logged with the
 * call and where it was made, and tulayd aborts. UV_MUST(uv_timer_start(...)). */
void log_uv_must(int rc, const char *call, const char *file, int line);
#define UV_MUST(call) log_uv_must((call), #call, __FILE__, __LINE__)
void log_flush(void);
/* log_flush as the callback of a uv_prepare_t: the event loop's hook for it. */
void log_on_turn_end(uv_prepare_t *h);

/* Writes a printable, quote-free sample of untrusted bytes into out (at most `max` input
 * bytes, as hex), so a log line can show what a peer sent without letting it forge fields.
 * Returns out. */
char *log_sample(const void *data, size_t len, size_t max, char *out, size_t cap);

/* Like log_sample but for text we chose to log (error messages from libpq): keeps printable
 * ASCII, replaces quotes, newlines and the rest with '_'. Returns out. */
char *log_clean(const char *text, char *out, size_t cap);

#define log_debug(...) log_event(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_event(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_event(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_event(LOG_ERROR, __VA_ARGS__)

#endif
