#include "tls.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "log.h"

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
