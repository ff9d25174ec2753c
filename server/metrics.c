#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common.h"
#include "conn.h"
#include "dispatch.h"
#include "log.h"
#include "server.h"
#include "tulay/v1/common.pb-c.h"

#define METRICS_TIMEOUT_MS 5000
#define METRICS_DEFAULT_PORT                                                                       \
	7421 /* scripts/run.sh's; `tulayd stats` tries it when no port is set */

const unsigned metrics_bucket_ms[METRICS_BUCKETS] = {1,   5,   10,   25,   50,   100,
						     250, 500, 1000, 2500, 5000, 10000};

/* --- the text ---------------------------------------------------------------------- */

struct text {
	char *p;
	size_t len, cap;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
	for (int tries = 0; tries < 2 && !t->failed; tries++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->p != NULL ? t->p + t->len : NULL, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
		} else if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		} else {
			size_t cap = (t->cap + (size_t)n + 1) * 2;
			char *p = realloc(t->p, cap);
			if (p == NULL)
				t->failed = true;
			else
				t->p = p, t->cap = cap;
		}
	}
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One series per label value: name{label="values[i]"} counts[i]. */
static void put_series(struct text *t, const char *name, const char *label,
		       const char *const *values, const uint64_t *counts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(t, "%s{%s=\"%s\"} %llu\n", name, label, values[i],
		    (unsigned long long)counts[i]);
}

static const char *conn_state_name(const struct conn *c)
{
	if (c->state != CONN_OPEN)
		return "closing";
	if (c->tls.ssl != NULL && !c->tls.handshake_done)
		return "tls_handshake";
	if (!c->hello_done)
		return "awaiting_hello";
	return c->session.authenticated ? "logged_in" : "not_logged_in";
}

static void put_requests(struct text *t, const struct metrics *m)
{
	family(t, "tulay_requests_total", "counter",
	       "Requests answered, by request type and status code (tulay.v1.Code).");
	for (unsigned type = 0; type < METRICS_TYPES; type++) {
		const struct handler *h = dispatch_at(type);
		if (h == NULL && type != METRICS_TYPES - 1)
			continue;
		for (int code = 0; code < METRICS_CODES; code++) {
			if (m->requests[type][code] == 0)
				continue;
			const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
			    &tulay__v1__code__descriptor, code);
			put(t, "tulay_requests_total{type=\"%s\",code=\"%s\"} %llu\n",
			    h != NULL ? h->name : "unknown", v != NULL ? v->name : "UNKNOWN",
			    (unsigned long long)m->requests[type][code]);
		}
	}
	family(t, "tulay_request_duration_seconds", "histogram",
	       "Time from reading a request to queueing its answer.");
	uint64_t cumulative = 0;
	for (unsigned b = 0; b <= METRICS_BUCKETS; b++) {
		cumulative += m->latency[b];
		if (b < METRICS_BUCKETS)
			put(t, "tulay_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
			    metrics_bucket_ms[b] / 1000.0, (unsigned long long)cumulative);
		else
			put(t, "tulay_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cumulative);
	}
	put(t, "tulay_request_duration_seconds_sum %.3f\n", (double)m->latency_ms_sum / 1000.0);
	put(t, "tulay_request_duration_seconds_count %llu\n", (unsigned long long)cumulative);
}

static void put_connections(struct text *t, const struct server *srv)
{
	static const char *const states[] = {"tls_handshake", "awaiting_hello", "not_logged_in",
					     "logged_in", "closing"};
	uint64_t counts[N_ELEMS(states)] = {0};
	for (const struct conn *c = srv->conns; c != NULL; c = c->next) {
		const char *name = conn_state_name(c);
		for (size_t i = 0; i < N_ELEMS(states); i++)
			counts[i] += strcmp(states[i], name) == 0;
	}
	family(t, "tulay_connections", "gauge", "Client connections open now, by state.");
	put_series(t, "tulay_connections", "state", states, counts, N_ELEMS(states));
	family(t, "tulay_connections_accepted_total", "counter", "Client connections accepted.");
	put(t, "tulay_connections_accepted_total %llu\n",
	    (unsigned long long)srv->metrics.conns_accepted);
	family(t, "tulay_connections_refused_total", "counter",
	       "Connections closed at once or evicted: at max_connections, or past the caps on "
	       "connections that have not logged in.");
	put(t, "tulay_connections_refused_total %llu\n",
	    (unsigned long long)srv->metrics.conns_refused);
	family(t, "tulay_requests_in_flight", "gauge", "Requests read and not yet answered.");
	put(t, "tulay_requests_in_flight %u\n", srv->requests_in_flight);
	family(t, "tulay_draining", "gauge", "1 once tulayd has been told to stop.");
	put(t, "tulay_draining %d\n", srv->draining ? 1 : 0);
}

static void put_database(struct text *t, const struct server *srv)
{
	const struct metrics *m = &srv->metrics;
	family(t, "tulay_db_connections_ready", "gauge",
	       "Database connections up, by pool (primary; standby with --db-replica).");
	put(t, "tulay_db_connections_ready{pool=\"primary\"} %u\n",
	    srv->db != NULL ? db_pool_ready(srv->db) : 0);
	if (srv->cfg.db_replica[0] != '\0')
		put(t, "tulay_db_connections_ready{pool=\"standby\"} %u\n",
		    srv->replica != NULL ? db_pool_ready(srv->replica) : 0);
	family(t, "tulay_db_queue_depth", "gauge",
	       "Jobs waiting for a connection of the primary's pool now.");
	put(t, "tulay_db_queue_depth %u\n", srv->db != NULL ? db_pool_queued(srv->db) : 0);
	family(t, "tulay_db_jobs_total", "counter", "Requests' jobs the primary's pool ended.");
	put(t, "tulay_db_jobs_total %llu\n", (unsigned long long)m->db_jobs);
	family(t, "tulay_db_jobs_waited_total", "counter",
	       "Of those, the jobs that waited for a free connection.");
	put(t, "tulay_db_jobs_waited_total %llu\n", (unsigned long long)m->db_jobs_waited);
	family(t, "tulay_db_wait_seconds_total", "counter",
	       "Time jobs waited for a free connection, in all.");
	put(t, "tulay_db_wait_seconds_total %.3f\n", (double)m->db_wait_ms_sum / 1000.0);
	family(t, "tulay_db_jobs_failed_total", "counter",
	       "Jobs refused because every connection stayed taken (busy), or failed because "
	       "the database could not be reached (unavailable).");
	static const char *const reasons[] = {"busy", "unavailable"};
	put_series(t, "tulay_db_jobs_failed_total", "reason", reasons,
		   (const uint64_t[]){m->db_busy, m->db_unavailable}, 2);
	family(t, "tulay_standby_reads_total", "counter",
	       "Reports and lists a standby served (--db-replica), and those sent to it that "
	       "the primary served instead (fallback).");
	static const char *const servers[] = {"standby", "fallback"};
	put_series(t, "tulay_standby_reads_total", "served_by", servers,
		   (const uint64_t[]){m->standby_reads, m->standby_fallbacks}, 2);
}

/* --- the endpoint ------------------------------------------------------------------ */

struct metrics_scrape {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t write;
	struct server *srv;
	struct metrics_scrape *prev, *next;
	char in[2048];
	size_t in_len;
	char *out;
	int handles_open;
	bool closing;
};

static void scrape_on_closed(uv_handle_t *h)
{
	struct metrics_scrape *s = h->data;
	if (--s->handles_open > 0)
		return;
	struct metrics *m = &s->srv->metrics;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		m->scrapes = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	m->nscrapes--;
	free(s->out);
	free(s);
}

static void scrape_close(struct metrics_scrape *s)
{
	if (s->closing)
		return;
	s->closing = true;
	uv_close((uv_handle_t *)&s->tcp, scrape_on_closed);
	uv_close((uv_handle_t *)&s->timer, scrape_on_closed);
}

static void scrape_on_timeout(uv_timer_t *t)
{
	scrape_close(t->data);
}

static void scrape_on_written(uv_write_t *w, int status)
{
	(void)status;
	scrape_close(w->data);
}

static void scrape_answer(struct metrics_scrape *s)
{
	UV_MUST(uv_read_stop((uv_stream_t *)&s->tcp));
	bool found = strncmp(s->in, "GET /metrics ", 13) == 0 || strncmp(s->in, "GET / ", 6) == 0;
	struct text body = {0};
	if (found) {
		put_requests(&body, &s->srv->metrics);
		put_connections(&body, s->srv);
		put_database(&body, s->srv);
	} else {
		put(&body, "tulayd serves its metrics at GET /metrics\n");
	}
	struct text all = {0};
	if (!body.failed)
		put(&all,
		    "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%.*s",
		    found ? "200 OK" : "404 Not Found", body.len, (int)body.len,
		    body.p != NULL ? body.p : "");
	free(body.p);
	if (body.failed || all.failed) {
		free(all.p);
		log_error("event=out_of_memory what=metrics");
		scrape_close(s);
		return;
	}
	s->out = all.p;
	uv_buf_t buf = uv_buf_init(all.p, (unsigned)all.len);
	s->write.data = s;
	if (uv_write(&s->write, (uv_stream_t *)&s->tcp, &buf, 1, scrape_on_written) != 0)
		scrape_close(s);
}

static void scrape_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct metrics_scrape *s = h->data;
	*buf = uv_buf_init(s->in + s->in_len, (unsigned)(sizeof(s->in) - 1 - s->in_len));
}

static void scrape_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct metrics_scrape *s = stream->data;
	if (nread < 0) {
		scrape_close(s);
		return;
	}
	s->in_len += (size_t)nread;
	s->in[s->in_len] = '\0';
	/* The request line is all we need; the headers end the request. A full buffer
	 * without their end is answered from what came. */
	if (strstr(s->in, "\r\n\r\n") != NULL || strstr(s->in, "\n\n") != NULL ||
	    s->in_len == sizeof(s->in) - 1)
		scrape_answer(s);
}

static void metrics_on_connection(uv_stream_t *listener, int status)
{
	struct server *srv = listener->data;
	struct metrics *m = &srv->metrics;
	if (status != 0) {
		log_warn("event=metrics_listen_error error=%s", uv_strerror(status));
		return;
	}
	struct metrics_scrape *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		log_error("event=out_of_memory what=metrics");
		return;
	}
	s->srv = srv;
	UV_MUST(uv_tcp_init(&srv->loop, &s->tcp));
	UV_MUST(uv_timer_init(&srv->loop, &s->timer));
	s->tcp.data = s->timer.data = s;
	s->handles_open = 2;
	s->next = m->scrapes;
	if (m->scrapes != NULL)
		m->scrapes->prev = s;
	m->scrapes = s;
	m->nscrapes++;
	if (uv_accept(listener, (uv_stream_t *)&s->tcp) != 0 || m->nscrapes > METRICS_SCRAPES_MAX ||
	    uv_read_start((uv_stream_t *)&s->tcp, scrape_alloc, scrape_on_read) != 0) {
		scrape_close(s);
		return;
	}
	UV_MUST(uv_timer_start(&s->timer, scrape_on_timeout, METRICS_TIMEOUT_MS, 0));
}

int metrics_listen(struct server *srv)
{
	struct metrics *m = &srv->metrics;
	if (srv->cfg.metrics_port == 0)
		return 0;
	const char *host = srv->cfg.metrics_listen;
	struct sockaddr_storage addr;
	int rc = config_address(host, srv->cfg.metrics_port, &addr);
	UV_MUST(uv_tcp_init(&srv->loop, &m->listener));
	m->listener.data = srv;
	m->listening = true;
	if (rc == 0)
		rc = uv_tcp_bind(&m->listener, (struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&m->listener, 16, metrics_on_connection);
	if (rc != 0) {
		log_error("event=metrics_listen_failed listen=%s port=%u error=%s", host,
			  srv->cfg.metrics_port, uv_strerror(rc));
		return rc;
	}
	log_info("event=metrics_listening address=%s port=%u path=/metrics", host,
		 srv->cfg.metrics_port);
	return 0;
}

static void metrics_on_listener_closed(uv_handle_t *h)
{
	(void)h; /* embedded in struct server */
}

void metrics_close(struct server *srv)
{
	struct metrics *m = &srv->metrics;
	if (m->listening) {
		m->listening = false;
		uv_close((uv_handle_t *)&m->listener, metrics_on_listener_closed);
	}
	for (struct metrics_scrape *s = m->scrapes; s != NULL; s = s->next)
		scrape_close(s);
}

/* --- tulayd stats ------------------------------------------------------------------ */

static void stats_usage(FILE *out)
{
	fprintf(out,
		"Usage: tulayd stats [--metrics-listen ADDRESS] [--metrics-port PORT]\n"
		"\n"
		"Prints the counters of the tulayd running on this machine with --metrics-port:\n"
		"requests by type and status code, their latency, connections by state, the\n"
		"database pools' waits and failures, and reads on a standby, in Prometheus' text\n"
		"format (the same text GET /metrics answers, for a Prometheus server to scrape).\n"
		"Without --metrics-port it asks port %d, where scripts/run.sh serves them.\n"
		"Exit 0, or 69 when no tulayd answers there.\n",
		METRICS_DEFAULT_PORT);
}

int metrics_stats_command(const struct config *cfg, int argc, char **argv)
{
	if (argc > 0) {
		bool help = strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0;
		if (!help)
			fprintf(stderr, "tulayd stats: unknown argument '%s'\n\n", argv[0]);
		stats_usage(help ? stdout : stderr);
		return help ? 0 : 64;
	}
	unsigned port = cfg->metrics_port != 0 ? cfg->metrics_port : METRICS_DEFAULT_PORT;
	struct sockaddr_storage addr;
	if (config_address(cfg->metrics_listen, port, &addr) != 0) {
		fprintf(stderr,
			"tulayd stats: --metrics-listen must be a numeric address, not '%s'\n",
			cfg->metrics_listen);
		return 64;
	}
	socklen_t addr_len =
	    addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = METRICS_TIMEOUT_MS / 1000};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&addr, addr_len) != 0) {
		fprintf(stderr,
			"tulayd stats: no tulayd answers at %s port %u (%s): is it running with "
			"--metrics-port %u?\n",
			cfg->metrics_listen, port, strerror(errno), port);
		if (fd >= 0)
			close(fd);
		return 69;
	}
	static const char request[] = "GET /metrics HTTP/1.0\r\n\r\n";
	if (write(fd, request, sizeof(request) - 1) != (ssize_t)sizeof(request) - 1) {
		fprintf(stderr, "tulayd stats: sending the request failed: %s\n", strerror(errno));
		close(fd);
		return 69;
	}
	struct text got = {0};
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		put(&got, "%.*s", (int)n, buf);
	close(fd);
	const char *body = got.p != NULL ? strstr(got.p, "\r\n\r\n") : NULL;
	if (n < 0 || got.failed || body == NULL || strncmp(got.p, "HTTP/1.0 200", 12) != 0) {
		fprintf(stderr, "tulayd stats: no answer from tulayd at %s port %u%s%s\n",
			cfg->metrics_listen, port, n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		free(got.p);
		return 69;
	}
	fputs(body + 4, stdout);
	free(got.p);
	return ferror(stdout) ? 1 : 0;
}
