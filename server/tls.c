#include "tls.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "conn.h"
#include "conn_transport.h"
#include "log.h"
#include "server.h"

/* Writes the oldest error of OpenSSL's queue (or `fallback`) into out and clears the
 * queue. */
static void tls_take_error(char *out, size_t cap, const char *fallback)
{
	unsigned long e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, out, cap);
	else
		snprintf(out, cap, "%s", fallback);
	ERR_clear_error();
}

/* Logs who the certificate is for and until when; warns when it has expired. */
static void tls_log_certificate(SSL_CTX *ctx, const char *cert)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	if (x == NULL)
		return;
	char subject[256] = "?", not_after[64] = "?", clean[256];
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	BIO *b = BIO_new(BIO_s_mem());
	if (b != NULL && ASN1_TIME_print(b, X509_get0_notAfter(x)) == 1) {
		int n = BIO_read(b, not_after, (int)sizeof(not_after) - 1);
		not_after[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
	log_info("event=tls_certificate file=\"%s\" subject=\"%s\" not_after=\"%s\"", cert,
		 log_clean(subject, clean, sizeof(clean)), not_after);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		log_warn("event=tls_certificate_expired file=\"%s\" not_after=\"%s\"", cert,
			 not_after);
	ERR_clear_error();
}

SSL_CTX *tls_server_ctx_new(const char *cert, const char *key, char *err, size_t errlen)
{
	char why[160];
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tls_take_error(why, sizeof(why), "out of memory");
		snprintf(err, errlen, "cannot set up TLS: %s", why);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
		tls_take_error(why, sizeof(why), "TLS 1.3 is not available");
		snprintf(err, errlen, "cannot set up TLS 1.3: %s", why);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_take_error(why, sizeof(why), "unreadable");
		snprintf(err, errlen, "tls_cert %s: cannot load a PEM certificate chain: %s", cert,
			 why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_take_error(why, sizeof(why), "unreadable");
		snprintf(err, errlen, "tls_key %s: cannot load a PEM private key: %s", key, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_take_error(why, sizeof(why), "mismatch");
		snprintf(err, errlen, "tls_key %s is not the private key of tls_cert %s: %s", key,
			 cert, why);
		goto fail;
	}
	/* Clients connect afresh each time: no resumption, so no tickets to send after the
	 * handshake and no cache to bound. Idle connections give their buffers back. */
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1) {
		tls_take_error(why, sizeof(why), "unknown");
		snprintf(err, errlen, "cannot turn TLS session tickets off: %s", why);
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

	struct stat st;
	if (stat(key, &st) == 0 && (st.st_mode & 077) != 0)
		log_warn("event=tls_key_readable file=\"%s\" mode=%04o "
			 "hint=\"chmod 600: other users can read the private key\"",
			 key, (unsigned)(st.st_mode & 07777));
	tls_log_certificate(ctx, cert);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int tls_conn_init(struct tls_conn *t, SSL_CTX *ctx)
{
	memset(t, 0, sizeof(*t));
	ERR_clear_error();
	SSL *ssl = SSL_new(ctx);
	BIO *rbio = BIO_new(BIO_s_mem());
	BIO *wbio = BIO_new(BIO_s_mem());
	if (ssl == NULL || rbio == NULL || wbio == NULL) {
		tls_take_error(t->error, sizeof(t->error), "out of memory");
		SSL_free(ssl);
		BIO_free(rbio);
		BIO_free(wbio);
		return -1;
	}
	/* An empty memory BIO means "no bytes yet", not end of stream. */
	BIO_set_mem_eof_return(rbio, -1);
	BIO_set_mem_eof_return(wbio, -1);
	SSL_set_bio(ssl, rbio, wbio); /* ssl owns both from here */
	SSL_set_accept_state(ssl);
	t->ssl = ssl;
	t->rbio = rbio;
	t->wbio = wbio;
	return 0;
}

void tls_conn_free(struct tls_conn *t)
{
	SSL_free(t->ssl); /* frees the BIOs too */
	t->ssl = NULL;
	t->rbio = t->wbio = NULL;
}

size_t tls_conn_buffered(const struct tls_conn *t)
{
	return BIO_ctrl_pending(t->rbio);
}

int tls_conn_feed(struct tls_conn *t, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	ERR_clear_error();
	if (len > INT_MAX || BIO_write(t->rbio, data, (int)len) != (int)len) {
		tls_take_error(t->error, sizeof(t->error), "out of memory");
		return -1;
	}
	return 0;
}

/* What an SSL_* call's failure means. */
static enum tls_result tls_failure(struct tls_conn *t, int rc)
{
	int e = SSL_get_error(t->ssl, rc);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		ERR_clear_error();
		return TLS_WANT_MORE;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return TLS_EOF;
	case SSL_ERROR_SSL:
		tls_take_error(t->error, sizeof(t->error), "protocol error");
		return TLS_FAILED;
	default:
		snprintf(t->error, sizeof(t->error), "SSL_get_error %d", e);
		ERR_clear_error();
		return TLS_FAILED;
	}
}

enum tls_result tls_conn_handshake(struct tls_conn *t)
{
	if (t->handshake_done)
		return TLS_OK;
	ERR_clear_error();
	int rc = SSL_do_handshake(t->ssl);
	if (rc == 1) {
		t->handshake_done = true;
		return TLS_OK;
	}
	enum tls_result r = tls_failure(t, rc);
	return r == TLS_EOF ? TLS_FAILED : r; /* close_notify mid-handshake: no session */
}

enum tls_result tls_conn_read(struct tls_conn *t, void *buf, size_t cap, size_t *n)
{
	*n = 0;
	ERR_clear_error();
	size_t got = 0;
	int rc = SSL_read_ex(t->ssl, buf, cap, &got);
	if (rc == 1) {
		*n = got;
		return TLS_OK;
	}
	return tls_failure(t, rc);
}

int tls_conn_write(struct tls_conn *t, const void *data, size_t len)
{
	ERR_clear_error();
	size_t written = 0;
	/* The write BIO is memory: it takes everything, so a complete write or an error. */
	if (SSL_write_ex(t->ssl, data, len, &written) != 1 || written != len) {
		tls_take_error(t->error, sizeof(t->error), "write failed");
		return -1;
	}
	return 0;
}

void tls_conn_close_notify(struct tls_conn *t)
{
	if (!t->handshake_done)
		return;
	ERR_clear_error();
	/* 0 means "sent, the peer's has not come": all we want. Errors change nothing. */
	(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

size_t tls_conn_output(const struct tls_conn *t)
{
	return BIO_ctrl_pending(t->wbio);
}

size_t tls_conn_take_output(struct tls_conn *t, void *buf, size_t cap)
{
	size_t got = 0;
	if (cap == 0 || BIO_read_ex(t->wbio, buf, cap, &got) != 1)
		return 0;
	return got;
}

const char *tls_conn_version(const struct tls_conn *t)
{
	return SSL_get_version(t->ssl);
}

const char *tls_conn_cipher(const struct tls_conn *t)
{
	return SSL_get_cipher_name(t->ssl);
}

/* --- the TLS transport of a connection ---------------------------------------------------
 *
 * The TLS transport of a connection (struct conn_transport): TLS 1.3 on memory BIOs
 * (tls.c). Ciphertext read lands in the server's scratch buffer and goes into the read
 * BIO; the decrypt step (tls_pump) completes the handshake and moves plaintext into the
 * connection's input buffer while it has room; frames are encrypted into the write BIO
 * and sent from there; close_notify goes out before the half-close after a fatal error.
 */

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
