/* The TLS transport of a connection (struct conn_transport): TLS 1.3 on memory BIOs
 * (tls.c). Ciphertext read lands in the server's scratch buffer and goes into the read
 * BIO; the decrypt step (tls_pump) completes the handshake and moves plaintext into the
 * connection's input buffer while it has room; frames are encrypted into the write BIO
 * and sent from there; close_notify goes out before the half-close after a fatal error. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "conn_transport.h"
#include "log.h"
#include "server.h"
#include "tls.h"

/* Sends the ciphertext OpenSSL has produced: handshake messages, records, alerts.
 * Returns 0, or -1 after closing the connection. */
static int tls_flush(struct conn *c)
{
	size_t pending = tls_conn_output(&c->tls);
	if (pending == 0)
		return 0;
	struct conn_write *w = malloc(sizeof(*w) + pending);
	if (w == NULL) {
		conn_close(c, "out_of_memory");
		return -1;
	}
	w->len = tls_conn_take_output(&c->tls, w->data, pending);
	return conn_queue_write(c, w);
}

/* A TLS failure: logs OpenSSL's reason and closes. */
static void tls_failed(struct conn *c, const char *reason)
{
	char clean[sizeof(c->tls.error)];
	log_warn("event=tls_failed conn=%llu peer=%s reason=%s error=\"%s\"",
		 (unsigned long long)c->id, c->peer, reason,
		 log_clean(c->tls.error, clean, sizeof(clean)));
	conn_close(c, reason);
}

/* The decrypt step: completes the handshake, then moves plaintext out of OpenSSL into the
 * input buffer while it has room. Returns true when it stopped because the buffer is full,
 * so that OpenSSL may hold more. May close the connection. */
static bool tls_pump(struct conn *c)
{
	if (c->peer_closed)
		return false;
	if (!c->tls.handshake_done) {
		enum tls_result r = tls_conn_handshake(&c->tls);
		if (tls_flush(c) != 0 || r == TLS_WANT_MORE)
			return false;
		if (r != TLS_OK) {
			tls_failed(c, "tls_handshake_failed");
			return false;
		}
		log_info("event=tls_handshake conn=%llu version=%s cipher=%s ms=%llu",
			 (unsigned long long)c->id, tls_conn_version(&c->tls),
			 tls_conn_cipher(&c->tls),
			 (unsigned long long)(uv_now(&c->srv->loop) - c->opened_ms));
	}
	while (c->in_len < c->in_cap) {
		size_t n;
		enum tls_result r =
		    tls_conn_read(&c->tls, c->in + c->in_len, c->in_cap - c->in_len, &n);
		if (r == TLS_OK) {
			c->in_len += n;
			continue;
		}
		if (tls_flush(c) != 0)
			return false;
		if (r == TLS_EOF)
			c->peer_closed = true; /* closed once the input before it is used */
		else if (r == TLS_FAILED)
			tls_failed(c, "tls_error");
		return false;
	}
	return tls_flush(c) == 0; /* a read can answer a key update */
}

/* Ciphertext lands in the server's scratch buffer and tls_received moves it into the read
 * BIO before anything else can use the buffer. The BIO holds at most TLS_BUFFERED_MAX
 * bytes: when it is full this yields UV_ENOBUFS, and reading pauses until the decrypt step
 * has taken some. */
static void tls_alloc(struct conn *c, uv_buf_t *buf)
{
	size_t held = c->state == CONN_DISCARDING ? 0 : tls_conn_buffered(&c->tls);
	buf->base = (char *)c->srv->tls_read_buf;
	buf->len = held < TLS_BUFFERED_MAX ? TLS_BUFFERED_MAX - held : 0;
}

static bool tls_has_room(const struct conn *c)
{
	return !c->peer_closed && tls_conn_buffered(&c->tls) < TLS_BUFFERED_MAX;
}

static bool tls_handshaking(const struct conn *c)
{
	return !c->tls.handshake_done;
}

static size_t tls_held(const struct conn *c)
{
	return tls_conn_buffered(&c->tls);
}

static int tls_received(struct conn *c, const char *buf, size_t n)
{
	if (tls_conn_feed(&c->tls, buf, n) != 0) {
		tls_failed(c, "out_of_memory");
		return -1;
	}
	return 0;
}

/* Encrypted into the write BIO and sent from there; the plaintext (a session token,
 * personal data) does not outlive this. */
static int tls_send(struct conn *c, struct conn_write *w)
{
	int rc = tls_conn_write(&c->tls, w->data, w->len);
	explicit_bzero(w->data, w->len);
	free(w);
	if (rc != 0) {
		tls_failed(c, "tls_write_failed");
		return -1;
	}
	return tls_flush(c);
}

/* close_notify goes out before the FIN: uv_shutdown waits for queued writes. */
static int tls_goodbye(struct conn *c)
{
	tls_conn_close_notify(&c->tls);
	return tls_flush(c);
}

static const struct conn_transport conn_tls = {
    .name = "tls",
    .alloc = tls_alloc,
    .has_room = tls_has_room,
    .handshaking = tls_handshaking,
    .held = tls_held,
    .received = tls_received,
    .pump = tls_pump,
    .send = tls_send,
    .goodbye = tls_goodbye,
};

int conn_tls_start(struct conn *c)
{
	c->transport = &conn_tls;
	if (tls_conn_init(&c->tls, c->srv->tls_ctx) != 0) {
		tls_failed(c, "tls_init_failed");
		return -1;
	}
	return 0;
}
