#include "conn.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"
#include "conn_transport.h"
#include "wire.h"
#include "log.h"
#include "request.h"
#include "server.h"
#include "tulay/v1/envelope.pb-c.h"

#define CONN_INITIAL_INPUT 4096
#define CONN_SHRINK_ABOVE  (64 * 1024)
#define CONN_LINGER_MS     2000
/* Draining: a connection with nothing in flight that sends no request for this long after
 * its GoAway is closed (its client did not go). */
#define CONN_DRAIN_QUIET_MS 1000

static void conn_process_input(struct conn *c);

static void conn_on_close(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->handles_open > 0)
		return;
	struct server *srv = c->srv;
	tls_conn_free(&c->tls);
	free(c->in);
	free(c->proxy_header);
	free(c);
	server_check_drained(srv);
}

void conn_close(struct conn *c, const char *reason)
{
	if (c->state == CONN_CLOSING)
		return;
	c->state = CONN_CLOSING;
	log_info("event=conn_close conn=%llu peer=%s reason=%s", (unsigned long long)c->id, c->peer,
		 reason);
	for (struct request *r = c->requests; r != NULL; r = r->next)
		r->conn = NULL;
	c->requests = NULL;

	struct server *srv = c->srv;
	strangers_remove(&srv->strangers, c);
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
	c->transport->alloc(c, buf);
}

static void plain_alloc(struct conn *c, uv_buf_t *buf)
{
	if (c->state == CONN_DISCARDING) {
		/* Bytes after a refused frame are read only to be dropped. */
		c->in_len = 0;
	}
	/* Never more than the buffer's free tail: its cap is the frame limit. A full buffer
	 * yields UV_ENOBUFS, and reading pauses. */
	buf->base = (char *)c->in + c->in_len;
	buf->len = c->in_cap - c->in_len;
}

/* True while the connection takes no new request: too much in flight or unsent, a
 * state-changing request running, or an error reply on its way. A draining server keeps
 * reading, to answer what comes (request_start). */
static bool conn_paused(const struct conn *c)
{
	const struct config *cfg = &c->srv->cfg;
	return c->state != CONN_OPEN || c->barrier || c->inflight >= cfg->max_requests_in_flight ||
	       c->out_bytes >= cfg->max_output_bytes;
}

static bool conn_should_read(const struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return false;
	if (c->state == CONN_DISCARDING)
		return true;
	if (conn_paused(c) || c->in_len >= c->in_cap)
		return false;
	return c->transport->has_room(c);
}

/* --- deadlines -------------------------------------------------------------------------- */

/* The connection's earliest deadline; *reason names it (NULL when none applies). */
static uint64_t conn_next_deadline(const struct conn *c, const char **reason)
{
	const struct config *cfg = &c->srv->cfg;
	const struct {
		bool applies;
		uint64_t at;
		const char *name;
	} deadlines[] = {
	    {c->transport->handshaking(c), c->opened_ms + cfg->handshake_timeout_ms,
	     "handshake_timeout"},
	    /* A Login already read is answered first, however long the server takes to hash
	     * its password: the client kept the deadline, the server did not. */
	    {!c->session.authenticated && c->login_due_ms != 0 && c->inflight == 0, c->login_due_ms,
	     "login_timeout"},
	    /* Responses unsent and none written for so long: the client does not read. */
	    {c->out_writes > 0, c->last_write_ms + cfg->idle_timeout_ms, "write_stalled"},
	    {c->out_writes == 0 && c->inflight == 0, c->last_request_ms + cfg->idle_timeout_ms,
	     "idle_timeout"},
	    /* Draining: told to go (the GoAway is written), quiet since. */
	    {c->goaway_sent && c->out_writes == 0 && c->inflight == 0,
	     (c->last_request_ms > c->srv->drain_started_ms ? c->last_request_ms
							    : c->srv->drain_started_ms) +
		 CONN_DRAIN_QUIET_MS,
	     "drained"},
	};
	uint64_t due = UINT64_MAX;
	*reason = NULL;
	for (size_t i = 0; i < N_ELEMS(deadlines); i++) {
		if (deadlines[i].applies && deadlines[i].at < due) {
			due = deadlines[i].at;
			*reason = deadlines[i].name;
		}
	}
	return due;
}

static void conn_on_timer(uv_timer_t *t);

/* Makes sure the timer fires no later than the earliest deadline. Deadlines that move
 * later (a request arrived, a write completed) leave the timer alone: when it fires it
 * looks again and re-arms, so busy connections cost no timer updates. */
static void conn_schedule(struct conn *c)
{
	if (c->state == CONN_CLOSING || c->state == CONN_DISCARDING)
		return; /* the linger timer, if any, decides now */
	const char *reason;
	uint64_t due = conn_next_deadline(c, &reason);
	if (reason == NULL || (c->timer_due_ms != 0 && c->timer_due_ms <= due))
		return;
	uint64_t now = uv_now(&c->srv->loop);
	int rc = uv_timer_start(&c->timer, conn_on_timer, due > now ? due - now : 0, 0);
	if (rc != 0) {
		log_error("event=timer_failed conn=%llu error=%s", (unsigned long long)c->id,
			  uv_strerror(rc));
		conn_close(c, "timer_failed");
		return;
	}
	c->timer_due_ms = due;
}

static void conn_on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	c->timer_due_ms = 0;
	const char *reason;
	uint64_t due = conn_next_deadline(c, &reason);
	if (reason != NULL && due <= uv_now(&c->srv->loop)) {
		conn_close(c, reason);
		return;
	}
	conn_schedule(c);
}

/* --- reading ---------------------------------------------------------------------------- */

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

void conn_update_reading(struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	bool want = conn_should_read(c);
	if (want != c->reading) {
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
	conn_schedule(c);
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

/* --- writing ---------------------------------------------------------------------------- */

static void conn_on_write(uv_write_t *wr, int status);

int conn_queue_write(struct conn *c, struct conn_write *w)
{
	w->conn = c;
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
	int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write);
	if (rc != 0) {
		log_warn("event=write_failed conn=%llu error=%s", (unsigned long long)c->id,
			 uv_strerror(rc));
		free(w);
		conn_close(c, "write_failed");
		return -1;
	}
	if (c->out_writes == 0)
		c->last_write_ms = uv_now(&c->srv->loop); /* the write-stall clock starts */
	c->out_bytes += w->len;
	c->out_writes++;
	return 0;
}

/* After a fatal protocol error: once the requests still in flight have answered and
 * every reply is written, half-close, drain what the client still sends, then close.
 * Closing at once with unread input would reset the connection and could destroy the
 * replies in flight. Returns true if the connection is on its way out. */
static bool conn_finish_after_error(struct conn *c)
{
	if (c->state != CONN_FINISHING)
		return c->state == CONN_DISCARDING;
	if (c->out_writes > 0 || c->inflight > 0)
		return false;
	c->state = CONN_DISCARDING;
	c->in_len = 0;
	if (c->transport->goodbye(c) != 0)
		return true;
	uv_shutdown_t *sd = malloc(sizeof(*sd));
	if (sd == NULL || uv_shutdown(sd, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0) {
		free(sd);
		conn_close(c, "protocol_error");
		return true;
	}
	int rc = uv_timer_start(&c->timer, conn_on_linger, CONN_LINGER_MS, 0);
	if (rc != 0) {
		conn_close(c, "protocol_error");
		return true;
	}
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
	if (c->state == CONN_CLOSING)
		return;
	if (status < 0) {
		conn_close(c, "write_failed");
		return;
	}
	c->last_write_ms = uv_now(&c->srv->loop);
	if (conn_finish_after_error(c))
		return;
	conn_update_reading(c);
	conn_process_input(c);
	server_check_drained(c->srv);
}

int conn_send(struct conn *c, const ProtobufCMessage *msg)
{
	if (c->state == CONN_CLOSING)
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
	w->len = FRAME_HEADER_BYTES + size;
	int rc = c->transport->send(c, w);
	if (rc != 0)
		return -1;
	conn_update_reading(c);
	return 0;
}

void conn_close_after_reply(struct conn *c)
{
	if (c->state == CONN_OPEN)
		c->state = CONN_FINISHING;
	conn_update_reading(c);
}

/* --- input ------------------------------------------------------------------------------ */

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

/* Starts a request for each complete frame in the input buffer while the connection is
 * not paused, then moves what is left to the buffer's start, with room for the next
 * frame. Returns false once the connection is closing or refusing input. */
static bool conn_take_frames(struct conn *c)
{
	size_t off = 0;
	struct frame f = {0};
	while (!conn_paused(c)) {
		enum frame_status st =
		    frame_decode(c->in + off, c->in_len - off, conn_frame_limit(c), &f);
		if (st == FRAME_TOO_LARGE) {
			conn_refuse_frame(c, f.announced, conn_frame_limit(c));
			break;
		}
		if (st == FRAME_NEED_MORE)
			break;
		off += f.frame_len;
		c->last_request_ms = uv_now(&c->srv->loop);
		if (request_start(c, f.payload, f.payload_len) != 0) {
			conn_close(c, "bad_frame");
			break;
		}
	}
	if (c->state != CONN_OPEN)
		return false;
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	if (c->in_len == 0 && c->in_cap > CONN_SHRINK_ABOVE) {
		uint8_t *in = realloc(c->in, CONN_INITIAL_INPUT);
		if (in != NULL) {
			c->in = in;
			c->in_cap = CONN_INITIAL_INPUT;
		}
	}
	if (frame_decode(c->in, c->in_len, conn_frame_limit(c), &f) == FRAME_NEED_MORE &&
	    f.announced > 0 && conn_reserve(c, f.announced) != 0) {
		conn_close(c, "out_of_memory");
		return false;
	}
	return true;
}

/* Uses the input: decrypts (TLS) and starts requests until the connection pauses or runs
 * out of input. Called on every read and whenever a paused connection may resume, which
 * is what picks up plaintext OpenSSL decrypted earlier but the buffer had no room for. */
static void conn_process_input(struct conn *c)
{
	if (c->in_process || c->state == CONN_CLOSING || c->state == CONN_DISCARDING)
		return;
	c->in_process = true;
	bool more = true;
	while (more) {
		more = !conn_paused(c) && c->transport->pump(c);
		if (!conn_take_frames(c))
			break;
		/* The buffer was full and frames left it: OpenSSL may hold the next ones. */
		more = more && !conn_paused(c) && c->in_len < c->in_cap;
	}
	if (c->peer_closed && !conn_paused(c)) {
		if (c->in_len > 0)
			log_warn("event=bad_frame conn=%llu peer=%s reason=truncated bytes=%zu",
				 (unsigned long long)c->id, c->peer, c->in_len);
		conn_close(c, "eof");
	}
	c->in_process = false;
	conn_drain(c);
	conn_update_reading(c);
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	if (nread == UV_ENOBUFS) {
		conn_update_reading(c); /* buffer full: wait for requests to end */
		return;
	}
	if (nread < 0) {
		size_t held = c->in_len + c->transport->held(c);
		if (held > 0 && c->state != CONN_DISCARDING) {
			log_warn("event=bad_frame conn=%llu peer=%s reason=truncated bytes=%zu",
				 (unsigned long long)c->id, c->peer, held);
		}
		conn_close(c, nread == UV_EOF ? "eof" : uv_err_name((int)nread));
		return;
	}
	if (nread > 0)
		c->heard = true;
	if (c->state == CONN_DISCARDING)
		return;
	if (c->transport->received(c, buf->base, (size_t)nread) == 0)
		conn_process_input(c);
}

void conn_request_ended(struct conn *c, bool was_barrier)
{
	c->inflight--;
	if (was_barrier)
		c->barrier = false;
	if (c->state == CONN_CLOSING)
		return;
	c->last_request_ms = uv_now(&c->srv->loop);
	/* Login, Logout or an expired session may have changed who is logged in: a connection
	 * that is not logged in (any more) has login_timeout_ms to log in. */
	if (c->session.authenticated)
		c->login_due_ms = 0;
	else if (c->login_due_ms == 0)
		c->login_due_ms = c->last_request_ms + c->srv->cfg.login_timeout_ms;
	if (conn_finish_after_error(c))
		return;
	conn_process_input(c);
}

void conn_drain(struct conn *c)
{
	/* Not while frames are being taken: the GoAway follows the answers to what the client
	 * sent before it (conn_process_input calls again when done). */
	if (!c->srv->draining || c->goaway_sent || c->inflight > 0 || c->state != CONN_OPEN ||
	    c->in_process)
		return;
	if (c->transport->handshaking(c)) {
		conn_close(c, "drained"); /* no TLS yet to say it in */
		return;
	}
	Tulay__V1__Status status = TULAY__V1__STATUS__INIT;
	Tulay__V1__Response resp = TULAY__V1__RESPONSE__INIT;
	status.code = TULAY__V1__CODE__UNAVAILABLE;
	status.message = REQUEST_SHUTTING_DOWN;
	status.reconnect = true;
	resp.status = &status;
	c->goaway_sent = true;
	if (conn_send(c, &resp.base) == 0)
		log_info("event=goaway conn=%llu", (unsigned long long)c->id);
}

/* --- plaintext: the socket's bytes are the frames ------------------------------------ */

static bool plain_has_room(const struct conn *c)
{
	(void)c;
	return true;
}

static bool plain_handshaking(const struct conn *c)
{
	(void)c;
	return false;
}

static size_t plain_held(const struct conn *c)
{
	(void)c;
	return 0;
}

static int plain_received(struct conn *c, const char *buf, size_t n)
{
	(void)buf; /* read into c->in by plain_alloc */
	c->in_len += n;
	return 0;
}

static bool plain_pump(struct conn *c)
{
	(void)c;
	return false;
}

static int plain_goodbye(struct conn *c)
{
	(void)c;
	return 0;
}

const struct conn_transport conn_plaintext = {
    .name = "plaintext",
    .alloc = plain_alloc,
    .has_room = plain_has_room,
    .handshaking = plain_handshaking,
    .held = plain_held,
    .received = plain_received,
    .pump = plain_pump,
    .send = conn_queue_write,
    .goodbye = plain_goodbye,
};

bool conn_silent(const struct conn *c)
{
	if (c->heard)
		return false;
	uv_os_fd_t fd;
	if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) != 0)
		return true;
	char byte;
	return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

/* Closes c when it is one past max_connections (logged, counted). True when it did. */
static bool conn_refused_at_limit(struct conn *c)
{
	struct server *srv = c->srv;
	if (srv->nconns <= srv->cfg.max_connections)
		return false;
	log_warn("event=conn_refused conn=%llu reason=max_connections limit=%u",
		 (unsigned long long)c->id, srv->cfg.max_connections);
	srv->metrics.conns_refused++;
	conn_close(c, "max_connections");
	return true;
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
	c->opened_ms = c->last_request_ms = uv_now(&srv->loop);
	c->login_due_ms = c->opened_ms + srv->cfg.login_timeout_ms;
	c->transport = &conn_plaintext; /* conn_tls_start switches to TLS */
	UV_MUST(uv_tcp_init(&srv->loop, &c->tcp));
	UV_MUST(uv_timer_init(&srv->loop, &c->timer));
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
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&addr, &len) == 0)
		conn_set_peer(c, (struct sockaddr *)&addr);
	else
		snprintf(c->peer, sizeof(c->peer), "?:0");
	rc = uv_tcp_nodelay(&c->tcp, 1);
	if (rc != 0) /* responses go out a little later, nothing worse */
		log_debug("event=nodelay_failed conn=%llu error=%s", (unsigned long long)c->id,
			  uv_strerror(rc));
	srv->metrics.conns_accepted++;
	log_info("event=conn_open conn=%llu peer=%s transport=%s%s", (unsigned long long)c->id,
		 c->peer, srv->tls_ctx != NULL ? "tls" : "plaintext",
		 srv->cfg.proxy_protocol ? " proxy_protocol=v2" : "");
	if (srv->cfg.proxy_protocol) {
		/* The client is named by the proxy's header first (proxy.c), then admitted. */
		if (conn_refused_at_limit(c))
			return;
		c->transport = &conn_proxy_header;
		conn_update_reading(c);
		return;
	}
	(void)conn_admit(c);
}

void conn_set_peer(struct conn *c, const struct sockaddr *addr)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (uv_ip_name(addr, host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "?");
	int port =
	    ntohs(addr->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)addr)->sin6_port
					      : ((const struct sockaddr_in *)addr)->sin_port);
	throttle_addr_from(addr, &c->source);
	snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
}

int conn_admit(struct conn *c)
{
	struct server *srv = c->srv;
	if (strangers_add(&srv->strangers, c, &c->source) != 0) {
		conn_close(c, "out_of_memory");
		return -1;
	}
	/* Past a cap on strangers, or at max_connections, the oldest silent stranger goes
	 * (strangers.h): possibly this one. */
	const char *reason;
	for (struct conn *victim;
	     (victim = strangers_victim(&srv->strangers, c, srv->nconns > srv->cfg.max_connections,
					uv_now(&srv->loop), &reason)) != NULL;) {
		/* Each at info (written with the loop turn's lines); a warning at most once a
		 * second says how many, so that a flood cannot turn into a flood of writes. */
		log_info("event=%s conn=%llu peer=%s reason=%s silent=%d",
			 victim == c ? "conn_refused" : "conn_evicted",
			 (unsigned long long)victim->id, victim->peer, reason, conn_silent(victim));
		srv->strangers.closed++;
		srv->metrics.conns_refused++;
		uint64_t now = uv_now(&srv->loop);
		if (now - srv->strangers.warned_ms >= 1000) {
			log_warn(
			    "event=strangers_closed count=%llu reason=%s peer=%s "
			    "note=\"connections "
			    "that had not logged in, closed to make room since the last warning\"",
			    (unsigned long long)srv->strangers.closed, reason, victim->peer);
			srv->strangers.closed = 0;
			srv->strangers.warned_ms = now;
		}
		conn_close(victim, reason);
		if (victim == c)
			return -1;
	}
	if (conn_refused_at_limit(c))
		return -1;
	if (srv->tls_ctx != NULL && conn_tls_start(c) != 0)
		return -1;
	conn_update_reading(c);
	return 0;
}
