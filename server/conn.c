#include "conn.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "frame.h"
#include "log.h"
#include "request.h"
#include "server.h"
#include "tulay/v1/envelope.pb-c.h"

#define CONN_INITIAL_INPUT 4096
#define CONN_SHRINK_ABOVE  (64 * 1024)
#define CONN_LINGER_MS     2000

struct conn_write {
	uv_write_t req;
	struct conn *conn;
	size_t len;
	uint8_t data[];
};

static void conn_process_input(struct conn *c);

static void conn_on_close(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles_open > 0)
		return;
	struct server *srv = c->srv;
	free(c->in);
	free(c);
	server_check_drained(srv);
}

void conn_close(struct conn *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	log_info("event=conn_close conn=%llu peer=%s reason=%s", (unsigned long long)c->id, c->peer,
		 reason);
	for (struct request *r = c->requests; r != NULL; r = r->next)
		r->conn = NULL;
	c->requests = NULL;

	struct server *srv = c->srv;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;

	uv_close((uv_handle_t *)&c->tcp, conn_on_close);
	uv_close((uv_handle_t *)&c->timer, conn_on_close);
}

static size_t conn_frame_limit(const struct conn *c)
{
	const struct config *cfg = &c->srv->cfg;
	return c->session.authenticated ? cfg->max_frame_bytes : cfg->max_frame_bytes_before_login;
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	(void)suggested;
	if (c->discarding) {
		/* Bytes after a refused frame are read only to be dropped. */
		c->in_len = 0;
	}
	/* Never more than the buffer's free tail: its cap is the frame limit. A full buffer
	 * yields UV_ENOBUFS, and reading pauses. */
	buf->base = (char *)c->in + c->in_len;
	buf->len = c->in_cap - c->in_len;
}

static bool conn_should_read(const struct conn *c)
{
	const struct config *cfg = &c->srv->cfg;
	if (c->closing)
		return false;
	if (c->discarding)
		return true;
	return !c->srv->draining && !c->close_after_write && !c->barrier &&
	       c->inflight < cfg->max_requests_in_flight && c->out_bytes < cfg->max_output_bytes &&
	       c->in_len < c->in_cap;
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

void conn_update_reading(struct conn *c)
{
	bool want = conn_should_read(c);
	if (want == c->reading)
		return;
	int rc = want ? uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_on_read)
		      : uv_read_stop((uv_stream_t *)&c->tcp);
	if (rc != 0) {
		log_warn("event=conn_read_toggle_failed conn=%llu error=%s",
			 (unsigned long long)c->id, uv_strerror(rc));
		conn_close(c, "read_toggle");
		return;
	}
	c->reading = want;
	log_debug("event=conn_reading conn=%llu reading=%d inflight=%u out_bytes=%zu",
		  (unsigned long long)c->id, want, c->inflight, c->out_bytes);
}

static void conn_on_linger(uv_timer_t *t)
{
	conn_close(t->data, "linger_done");
}

static void conn_on_shutdown(uv_shutdown_t *sd, int status)
{
	(void)status; /* the linger timer or EOF closes the connection either way */
	free(sd);
}

/* After a fatal protocol error: once the requests still in flight have answered and
 * every reply is written, half-close, drain what the client still sends, then close.
 * Closing at once with unread input would reset the connection and could destroy the
 * replies in flight. Returns true if the connection is on its way out. */
static bool conn_finish_after_error(struct conn *c)
{
	if (!c->close_after_write || c->discarding)
		return c->discarding;
	if (c->out_writes > 0 || c->inflight > 0)
		return false;
	c->discarding = true;
	c->in_len = 0;
	uv_shutdown_t *sd = malloc(sizeof(*sd));
	if (sd == NULL || uv_shutdown(sd, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0) {
		free(sd);
		conn_close(c, "protocol_error");
		return true;
	}
	uv_timer_start(&c->timer, conn_on_linger, CONN_LINGER_MS, 0);
	conn_update_reading(c);
	return true;
}

static void conn_on_write(uv_write_t *wr, int status)
{
	struct conn_write *w = container_of(wr, struct conn_write, req);
	struct conn *c = w->conn;
	c->out_bytes -= w->len;
	c->out_writes--;
	free(w);
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c, "write_failed");
		return;
	}
	if (conn_finish_after_error(c))
		return;
	conn_update_reading(c);
	conn_process_input(c);
	server_check_drained(c->srv);
}

int conn_send(struct conn *c, const ProtobufCMessage *msg)
{
	if (c->closing)
		return -1;
	size_t size = protobuf_c_message_get_packed_size(msg);
	struct conn_write *w = malloc(sizeof(*w) + FRAME_HEADER_BYTES + size);
	if (w == NULL || size > UINT32_MAX) {
		free(w);
		conn_close(c, "out_of_memory");
		return -1;
	}
	frame_put_header(w->data, (uint32_t)size);
	protobuf_c_message_pack(msg, w->data + FRAME_HEADER_BYTES);
	w->conn = c;
	w->len = FRAME_HEADER_BYTES + size;
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
	int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write);
	if (rc != 0) {
		free(w);
		conn_close(c, "write_failed");
		return -1;
	}
	c->out_bytes += w->len;
	c->out_writes++;
	conn_update_reading(c);
	return 0;
}

void conn_close_after_reply(struct conn *c)
{
	c->close_after_write = true;
	conn_update_reading(c);
}

/* Answers a frame whose header announces more than the limit, then closes. */
static void conn_refuse_frame(struct conn *c, size_t announced, size_t limit)
{
	log_warn("event=frame_too_large conn=%llu peer=%s announced=%zu limit=%zu",
		 (unsigned long long)c->id, c->peer, announced, limit);
	char message[160];
	snprintf(message, sizeof(message),
		 "a frame of %zu bytes is over this connection's limit of %zu bytes%s", announced,
		 limit, c->session.authenticated ? "" : " (log in for the larger limit)");
	Tulay__V1__Status status = TULAY__V1__STATUS__INIT;
	Tulay__V1__Response resp = TULAY__V1__RESPONSE__INIT;
	status.code = TULAY__V1__CODE__RESOURCE_EXHAUSTED;
	status.message = message;
	resp.id = 0;
	resp.status = &status;
	c->in_len = 0;
	if (conn_send(c, &resp.base) == 0)
		conn_close_after_reply(c);
}

/* Makes room for the frame that starts at the beginning of the buffer. */
static int conn_reserve(struct conn *c, size_t announced)
{
	size_t need = FRAME_HEADER_BYTES + announced;
	if (need <= c->in_cap)
		return 0;
	size_t cap = c->in_cap * 2 > need ? c->in_cap * 2 : need;
	size_t limit = FRAME_HEADER_BYTES + conn_frame_limit(c);
	if (cap > limit)
		cap = limit;
	uint8_t *in = realloc(c->in, cap);
	if (in == NULL)
		return -1;
	c->in = in;
	c->in_cap = cap;
	return 0;
}

static void conn_process_input(struct conn *c)
{
	if (c->in_process || c->closing || c->discarding)
		return;
	c->in_process = true;
	const struct config *cfg = &c->srv->cfg;
	size_t off = 0;
	struct frame f = {0};
	enum frame_status st = FRAME_NEED_MORE;
	while (!c->closing && !c->close_after_write && !c->barrier && !c->srv->draining &&
	       c->inflight < cfg->max_requests_in_flight && c->out_bytes < cfg->max_output_bytes) {
		st = frame_decode(c->in + off, c->in_len - off, conn_frame_limit(c), &f);
		if (st == FRAME_TOO_LARGE) {
			conn_refuse_frame(c, f.announced, conn_frame_limit(c));
			break;
		}
		if (st == FRAME_NEED_MORE)
			break;
		off += f.frame_len;
		if (request_start(c, f.payload, f.payload_len) != 0) {
			conn_close(c, "bad_frame");
			break;
		}
	}
	if (!c->closing && !c->close_after_write) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
		if (c->in_len == 0 && c->in_cap > CONN_SHRINK_ABOVE) {
			uint8_t *in = realloc(c->in, CONN_INITIAL_INPUT);
			if (in != NULL) {
				c->in = in;
				c->in_cap = CONN_INITIAL_INPUT;
			}
		}
		st = frame_decode(c->in, c->in_len, conn_frame_limit(c), &f);
		if (st == FRAME_NEED_MORE && f.announced > 0 && conn_reserve(c, f.announced) != 0)
			conn_close(c, "out_of_memory");
	}
	c->in_process = false;
	conn_update_reading(c);
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	(void)buf;
	if (nread == UV_ENOBUFS) {
		conn_update_reading(c); /* buffer full: wait for requests to end */
		return;
	}
	if (nread < 0) {
		if (c->in_len > 0 && !c->discarding) {
			log_warn("event=bad_frame conn=%llu peer=%s reason=truncated bytes=%zu",
				 (unsigned long long)c->id, c->peer, c->in_len);
		}
		conn_close(c, nread == UV_EOF ? "eof" : uv_err_name((int)nread));
		return;
	}
	if (c->discarding)
		return;
	c->in_len += (size_t)nread;
	conn_process_input(c);
}

void conn_request_ended(struct conn *c, bool was_barrier)
{
	c->inflight--;
	if (was_barrier)
		c->barrier = false;
	if (c->closing || conn_finish_after_error(c))
		return;
	conn_process_input(c);
}

void conn_accept(struct server *srv)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->srv = srv;
	c->id = ++srv->next_conn_id;
	c->in = malloc(CONN_INITIAL_INPUT);
	c->in_cap = CONN_INITIAL_INPUT;
	uv_tcp_init(&srv->loop, &c->tcp);
	uv_timer_init(&srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;

	int rc = uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->tcp);
	if (rc != 0 || c->in == NULL) {
		log_warn("event=accept_failed error=%s", rc != 0 ? uv_strerror(rc) : "no memory");
		conn_close(c, "accept_failed");
		return;
	}
	struct sockaddr_storage addr;
	int len = sizeof(addr);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&addr, &len) == 0) {
		uv_ip_name((struct sockaddr *)&addr, host, sizeof(host));
		port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
							: ((struct sockaddr_in *)&addr)->sin_port);
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
	uv_tcp_nodelay(&c->tcp, 1);
	log_info("event=conn_open conn=%llu peer=%s", (unsigned long long)c->id, c->peer);
	if (srv->nconns > srv->cfg.max_connections) {
		log_warn("event=conn_refused conn=%llu reason=max_connections limit=%u",
			 (unsigned long long)c->id, srv->cfg.max_connections);
		conn_close(c, "max_connections");
		return;
	}
	conn_update_reading(c);
}
