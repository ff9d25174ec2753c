/* TLS 1.3 for tulayd, on memory BIOs: OpenSSL never touches a socket.
 *
 * The connection reads ciphertext from libuv and hands it to tls_conn_feed(); plaintext
 * comes out of tls_conn_read() into the connection's frame buffer, as much as fits and no
 * more (the rest stays inside OpenSSL until there is room). Responses go in through
 * tls_conn_write() and the ciphertext to send comes out of tls_conn_take_output(). Every
 * call returns at once: nothing here blocks or does I/O.
 *
 * OpenSSL keeps its error queue per thread, shared by all connections: every function
 * here clears it before its call and drains it after a failure, so an error is reported
 * on the connection that caused it. */
#ifndef TULAYD_TLS_H
#define TULAYD_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* The most ciphertext a connection keeps buffered for decryption: two full TLS records
 * (16 KiB of plaintext each, plus header and expansion), so a record can always
 * complete. */
#define TLS_MAX_RECORD_BYTES (16384 + 256 + 5)
#define TLS_BUFFERED_MAX     (2 * TLS_MAX_RECORD_BYTES)

/* Creates the server context: TLS 1.3 only, the certificate chain and private key from the
 * PEM files `cert` and `key` (read now: call before the event loop), no session tickets or
 * cache (clients do not resume). Returns the context, or NULL with a sentence naming the
 * file and the problem in err. Logs the certificate's subject and expiry. */
SSL_CTX *tls_server_ctx_new(const char *cert, const char *key, char *err, size_t errlen);

enum tls_result {
	TLS_OK,        /* done (handshake complete; bytes read) */
	TLS_WANT_MORE, /* more ciphertext from the peer is needed */
	TLS_EOF,       /* the peer sent close_notify */
	TLS_FAILED,    /* a fatal error; tls_conn_error() says which */
};

/* One connection's TLS state. */
struct tls_conn {
	SSL *ssl;  /* NULL: a plaintext connection */
	BIO *rbio; /* ciphertext received, not yet decrypted; owned by ssl */
	BIO *wbio; /* ciphertext to send; owned by ssl */
	bool handshake_done;
	char error[160]; /* the last failure, log-safe */
};

/* Sets up the server side of a connection. Returns 0, or -1 (out of memory) with
 * t->error set. t->ssl is NULL until it succeeds. */
int tls_conn_init(struct tls_conn *t, SSL_CTX *ctx) __attribute__((warn_unused_result));

/* Frees the OpenSSL objects (idempotent). */
void tls_conn_free(struct tls_conn *t);

/* Ciphertext received and not yet decrypted, in bytes. */
size_t tls_conn_buffered(const struct tls_conn *t);

/* Appends ciphertext received from the peer. Returns 0, or -1 (out of memory). */
int tls_conn_feed(struct tls_conn *t, const void *data, size_t len)
    __attribute__((warn_unused_result));

/* Advances the handshake with the ciphertext fed so far. TLS_OK once it is complete
 * (t->handshake_done is then set). Either way, send tls_conn_take_output() afterwards. */
enum tls_result tls_conn_handshake(struct tls_conn *t) __attribute__((warn_unused_result));

/* Decrypts up to `cap` bytes of plaintext into buf (after the handshake). TLS_OK with
 * *n > 0 bytes; what does not fit stays inside OpenSSL for the next call. May produce
 * output (an alert, a key update): send tls_conn_take_output() afterwards. */
enum tls_result tls_conn_read(struct tls_conn *t, void *buf, size_t cap, size_t *n)
    __attribute__((warn_unused_result));

/* Encrypts all `len` bytes into the output. Returns 0, or -1 with t->error set. */
int tls_conn_write(struct tls_conn *t, const void *data, size_t len)
    __attribute__((warn_unused_result));

/* Queues close_notify (once the handshake is done; otherwise nothing). */
void tls_conn_close_notify(struct tls_conn *t);

/* Ciphertext waiting to be sent, in bytes. */
size_t tls_conn_output(const struct tls_conn *t);

/* Moves up to `cap` bytes of ciphertext to send into buf. Returns how many. */
size_t tls_conn_take_output(struct tls_conn *t, void *buf, size_t cap);

/* The negotiated protocol and cipher, for the log ("TLSv1.3", "TLS_AES_128_GCM_SHA256"). */
const char *tls_conn_version(const struct tls_conn *t);
const char *tls_conn_cipher(const struct tls_conn *t);

#endif
