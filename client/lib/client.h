/* libtulay's insides, shared by libtulay.c (frames, requests, retries, the typed calls)
 * and connect.c (resolving, connecting, TLS, Hello). Not installed; not for programs. */
#ifndef TULAY_CLIENT_H
#define TULAY_CLIENT_H

#include <stdint.h>

#include <openssl/ssl.h>

#include "libtulay.h"

/* The largest frame payload the client sends or accepts. Servers are configured far
 * below this; it only stops a broken or hostile peer from making the client allocate
 * without bound. */
#define CLIENT_MAX_PAYLOAD  (16u * 1024u * 1024u)
#define INPUT_INITIAL_BYTES 4096u
/* Responses tulay_call may set aside for later tulay_recv calls. A caller pipelining more
 * requests than this without receiving is not a use the library supports. */
#define HELD_MAX    4096u
#define ERROR_BYTES 256u
/* Ciphertext moves between the socket and OpenSSL in pieces of up to one TLS record. */
#define TLS_CHUNK_BYTES 16709u

struct tulay_client {
	int fd;
	int timeout_ms;
	uint64_t last_id; /* the id of the latest request sent; ids start at 1 */
	char *servers;    /* as given to tulay_connect: one address, or several, comma-separated */
	size_t n_servers; /* how many */
	size_t server_at; /* which one the connection is to */
	char *server;     /* that one's address, for messages */
	char *ca_file;    /* TLS: the CA file, for reconnecting; NULL: plaintext */
	char *client_name;
	char *token;      /* the session to authenticate again with after reconnecting */
	char *host;       /* its host part: what the certificate must name */
	SSL_CTX *tls_ctx; /* TLS: NULL for plaintext */
	SSL *ssl;
	BIO *rbio, *wbio; /* ciphertext received / to send; owned by ssl */
	uint8_t *in;      /* bytes received and not yet decoded */
	size_t in_len;
	size_t in_cap;
	Tulay__V1__Response **held; /* arrived while tulay_call waited for another id */
	size_t held_len;
	size_t held_cap;
	Tulay__V1__Response *hello; /* the answer to Hello; its body is the HelloReply */
	unsigned max_attempts;      /* tulay_call's sends of one request, first included */
	unsigned last_attempts;     /* the sends of the last tulay_call */
	uint64_t jitter;            /* xorshift64 state for the pauses between attempts */
	tulay_retry_fn retry_observer;
	void *retry_observer_arg;
	char error[ERROR_BYTES];
};

/* tulay_last_error(NULL): the failure of the calling thread's last tulay_connect. */

/* tulay_last_error(NULL): the failure of the calling thread's last tulay_connect. */
extern _Thread_local char client_connect_error[ERROR_BYTES];

/* Sets c's last error (the thread's connect error when c is NULL). */
void client_error(struct tulay_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Says "out of memory"; returns TULAY_E_NOMEM. */
int client_nomem(struct tulay_client *c);
/* The monotonic time, in ms, timeout_ms from now. */
int64_t client_deadline(int timeout_ms);
/* Waits until the socket is ready for `events` (or has an error or hang-up, which the
 * next send or recv reports) or the deadline passes: 0 or TULAY_E_TIMEOUT/TULAY_E_IO. */
int client_wait(struct tulay_client *c, short events, int64_t deadline);
/* Sends the ciphertext OpenSSL has written into the write BIO. */
int client_tls_flush(struct tulay_client *c, int64_t deadline);
/* What a failed SSL_* call (result rc) means: 1 (try again) after waiting for the server
 * when OpenSSL needs more of its bytes, else the error. */
int client_tls_step_failed(struct tulay_client *c, int rc, const char *doing, int64_t deadline);
/* The next random number of c's jitter (for the pauses between attempts). */
uint32_t client_jitter(struct tulay_client *c);
/* Sleeps `ms` milliseconds on the calling thread. */
void client_pause_ms(unsigned ms);
/* Drops the connection (answers held for later tulay_recv calls go with it) and connects
 * to the next of the client's servers that answers Hello, in turn, then authenticates
 * again with the client's session, if it has one. 0 or a TULAY_E_*. */
int client_reconnect(struct tulay_client *c, int64_t deadline);
/* Remembers `token` (NULL: none) as the session to authenticate again with. */
int client_remember_session(struct tulay_client *c, const char *token);
/* tulay_call with the deadline of a larger operation (tulay_connect's Hello). */
int client_call_until(struct tulay_client *c, Tulay__V1__Request *req, int64_t deadline,
		      Tulay__V1__Response **out);

#endif
