/* libtulay: the C client library of tulay.
 *
 * One `struct tulay_client` is one TCP connection to tulayd speaking tulay.v1 (see
 * proto/README.md): over TLS 1.3 (tulay_connect_tls), or in plaintext to a server on this
 * computer (tulay_connect). Every call has a deadline (the timeout given at connect); no
 * call blocks longer, except that tulay_call retries a refusal that says "try again"
 * (UNAVAILABLE) a bounded number of times, each attempt with that deadline (see
 * "Retrying"). A client is not thread-safe: use one per thread. The library never raises
 * SIGPIPE.
 *
 * Return values: 0 when a Response arrived (its status may still be an error: look at
 * resp->status->code), or a negative TULAY_E_* when no response could be had. Responses
 * are owned by the caller and released with tulay_response_free(). */
#ifndef LIBTULAY_H
#define LIBTULAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tulay/v1/envelope.pb-c.h"

#define TULAY_PROTOCOL_VERSION      1
#define TULAY_DEFAULT_PORT          7420
#define TULAY_DEFAULT_SERVER        "127.0.0.1:7420"
#define TULAY_IDEMPOTENCY_KEY_BYTES 16

enum tulay_err {
	TULAY_E_USAGE = -1,    /* bad argument from the calling program */
	TULAY_E_RESOLVE = -2,  /* the server name does not resolve */
	TULAY_E_CONNECT = -3,  /* nothing answered at the address */
	TULAY_E_TIMEOUT = -4,  /* the deadline passed */
	TULAY_E_CLOSED = -5,   /* the server closed the connection */
	TULAY_E_PROTOCOL = -6, /* the server sent bytes that are not a tulay.v1 Response */
	TULAY_E_NOMEM = -7,
	TULAY_E_IO = -8,      /* another socket error (errno in tulay_last_error) */
	TULAY_E_TLS = -9,     /* no TLS 1.3 session could be had, or a TLS record was bad */
	TULAY_E_VERIFY = -10, /* the server's certificate is not trusted, or not for its name */
};

struct tulay_client;

/* Connects to `server` ("host:port", "host" for port 7420, "[::1]:7420"; or several,
 * comma-separated, "a:7420,b:7420": the first that answers, in turn, and the next ones
 * when failing over, see "Retrying" below) in plaintext and exchanges Hello. Plaintext is
 * for a server on this computer only: any other server is refused with TULAY_E_USAGE (see
 * tulay_server_is_loopback). `timeout_ms` bounds the connect and every later call. A
 * connection the server closes before answering Hello (one making room for clients that
 * have not logged in, or one going away) is made again until `timeout_ms` runs out, with
 * the pauses of tulay_call's resends. On success stores a new client in *out and returns
 * 0; on failure returns a TULAY_E_* and *out is NULL. */
int tulay_connect(const char *server, int timeout_ms, const char *client_name,
		  struct tulay_client **out);

/* Like tulay_connect, over TLS 1.3 (older versions are refused), for any server. The
 * server's certificate must chain to a certificate in the PEM file `ca_file` and name the
 * host of `server`: its DNS name, or for a numeric host the IP address. The handshake is
 * within `timeout_ms` too. Failures besides tulay_connect's: TULAY_E_VERIFY (the
 * certificate is not trusted or names another host), TULAY_E_TLS (the server does not
 * speak TLS 1.3), TULAY_E_USAGE (ca_file cannot be read). */
int tulay_connect_tls(const char *server, const char *ca_file, int timeout_ms,
		      const char *client_name, struct tulay_client **out);

/* True when `server` (as for tulay_connect) is on this computer: a loopback IP address
 * (127.0.0.0/8, ::1) or the name "localhost". */
bool tulay_server_is_loopback(const char *server);

/* Closes the connection and frees the client and any response it still holds. NULL is
 * allowed. */
void tulay_close(struct tulay_client *c);

/* A sentence describing the last failure of `c` (or of the last tulay_connect when c is
 * NULL), e.g. "connection to 127.0.0.1:7420 refused". Static or client-owned storage,
 * valid until the next call. */
const char *tulay_last_error(const struct tulay_client *c);

/* Returns a short text for a TULAY_E_* value. */
const char *tulay_strerror(int err);

/* Returns the protocol name of a status code, e.g. "INVALID_ARGUMENT" (static storage;
 * "UNKNOWN_CODE" for a number this client does not know). */
const char *tulay_code_name(Tulay__V1__Code code);

/* The HelloReply the server sent at connect time (owned by the client). */
const Tulay__V1__HelloReply *tulay_server_hello(const struct tulay_client *c);

/* Pipelining. tulay_send assigns the request a fresh id (stored in req->id and returned
 * through *id_out when not NULL), frames and sends it without waiting. tulay_recv waits
 * for the next Response, whatever its id. Many requests may be sent before receiving;
 * responses can come back in any order. tulay_send only writes: a caller pipelining more
 * requests than the server's max_requests_in_flight should receive in between. */
int tulay_send(struct tulay_client *c, Tulay__V1__Request *req, uint64_t *id_out);
int tulay_recv(struct tulay_client *c, Tulay__V1__Response **out);

/* Sends `req` and waits for the Response with its id; responses to other requests that
 * arrive meanwhile are kept for later tulay_recv calls. A Response with id 0 and an error
 * status (the server could not read a request, e.g. a frame over its limit) is returned
 * as the answer. An UNAVAILABLE answer to a request that is safe to resend is retried
 * (see "Retrying" below): the request then gets a new id for each attempt. */
int tulay_call(struct tulay_client *c, Tulay__V1__Request *req, Tulay__V1__Response **out);

void tulay_response_free(Tulay__V1__Response *resp);

/* Retrying. tulay_call, and so every typed helper, sends a request again when the server
 * answered UNAVAILABLE (busy, or its database unreachable: proto/README.md, section 6) and
 * sending it again is safe: the request only reads, or it carries an idempotency key, which
 * is the same on every attempt, so the server applies the request at most once. Before
 * resend n it pauses tulay_backoff_ms(n, random) on the calling thread. Each attempt has
 * the client's timeout: a call that is retried can take up to max_attempts times the
 * timeout plus the pauses (each under TULAY_BACKOFF_CAP_MS). The answer to the last attempt
 * is returned.
 *
 * Failing over. A busy answer is sent again on the same connection. When the server is
 * shutting down (an UNAVAILABLE answer with Status.reconnect: it did nothing with the
 * request, so any request may be sent again), or the connection closes or breaks under a
 * request safe to resend, the client connects to the next of its servers (the list given
 * at connect, in turn), says Hello, authenticates again with the session of its last
 * successful tulay_login or tulay_authenticate (tulay_remember_session for one made
 * otherwise), and sends the request again, within the same attempts and pauses. Answers
 * held for tulay_recv are dropped with the old connection.
 * tulay_send and tulay_recv never retry; a pipelining program can use
 * tulay_retry_unavailable for an answer it received. */
#define TULAY_DEFAULT_MAX_ATTEMPTS 5
#define TULAY_MAX_ATTEMPTS         100
#define TULAY_BACKOFF_BASE_MS      100u
#define TULAY_BACKOFF_CAP_MS       2000u

/* Sets how many times tulay_call may send one request, first attempt included: 1 never
 * retries. New clients have TULAY_DEFAULT_MAX_ATTEMPTS. Returns 0, or TULAY_E_USAGE (and
 * changes nothing) for 0 or more than TULAY_MAX_ATTEMPTS. */
int tulay_set_max_attempts(struct tulay_client *c, unsigned attempts);

/* How many times the last tulay_call or tulay_retry_unavailable sent its request, first
 * attempt included (1: not retried; 0: nothing sent yet). */
unsigned tulay_last_attempts(const struct tulay_client *c);

/* Called before each resend with the request, the refusal that prompts it, the number of
 * the attempt about to be made (2 for the first resend) and the pause before it, e.g. to
 * tell a user why a command takes longer. `req` and `status` are only lent for the call. */
typedef void (*tulay_retry_fn)(void *arg, const Tulay__V1__Request *req,
			       const Tulay__V1__Status *status, unsigned attempt,
			       unsigned delay_ms);

/* Sets the function called before each resend (NULL: none). */
void tulay_set_retry_observer(struct tulay_client *c, tulay_retry_fn fn, void *arg);

/* True when `req` may be sent again after an UNAVAILABLE answer: it carries a non-empty
 * idempotency_key (whatever its type), or it is a request that changes nothing (Hello,
 * Authenticate, and the Get and List requests, GetReport included). Writes without a key
 * (Login, Logout, EndMembership, DisableUser, ChangePassword) are false. */
bool tulay_request_retryable(const Tulay__V1__Request *req);

/* The pause in milliseconds before resend `retry` (1 for the first) with "full jitter":
 * `random` (any uniformly random 32-bit number) scaled into [0, ceiling], where the ceiling
 * is TULAY_BACKOFF_BASE_MS doubled for each resend after the first, at most
 * TULAY_BACKOFF_CAP_MS. retry 0 gives 0. Pure: the same arguments give the same pause. */
unsigned tulay_backoff_ms(unsigned retry, uint32_t random);

/* For a pipelining program: `*resp` is the answer to `req`, sent once with tulay_send.
 * When tulay_call would have retried it (UNAVAILABLE, tulay_request_retryable, attempts
 * left), frees *resp, then pauses and resends `req` as tulay_call does, counting the send
 * already made, and stores the last answer in *resp. Otherwise leaves *resp alone. Returns
 * 0, or a TULAY_E_* when a resend got no answer (then *resp is NULL). Responses to other
 * requests that arrive meanwhile are kept for tulay_recv. */
int tulay_retry_unavailable(struct tulay_client *c, Tulay__V1__Request *req,
			    Tulay__V1__Response **resp);

/* Fills key[16] with random bytes for a mutating request's idempotency_key. Returns 0, or
 * TULAY_E_IO if the system has no randomness to give. */
int tulay_new_idempotency_key(uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES]);

/* Typed helpers: each builds the request, calls tulay_call, and hands back the Response.
 * When its status is OK the Response carries the body the request calls for (a Session
 * for login and authenticate, ...); otherwise they return TULAY_E_PROTOCOL. */
int tulay_login(struct tulay_client *c, const char *username, const char *password,
		Tulay__V1__Response **out);
int tulay_authenticate(struct tulay_client *c, const char *session_token,
		       Tulay__V1__Response **out);
int tulay_logout(struct tulay_client *c, Tulay__V1__Response **out);

/* Remembers `session_token` (NULL: none) as the session to authenticate again with after
 * failing over, for a session taken up without tulay_login or tulay_authenticate (an
 * Authenticate sent with tulay_send, say). tulay_logout forgets it. 0 or TULAY_E_*. */
int tulay_remember_session(struct tulay_client *c, const char *session_token);
int tulay_create_organisation(struct tulay_client *c, const Tulay__V1__CreateOrganisation *org,
			      Tulay__V1__Response **out);
int tulay_list_organisations(struct tulay_client *c, const Tulay__V1__ListOrganisations *q,
			     Tulay__V1__Response **out);
int tulay_create_claim(struct tulay_client *c, const Tulay__V1__CreateClaim *claim,
		       Tulay__V1__Response **out);
int tulay_get_claim(struct tulay_client *c, const char *reference, const char *organisation,
		    Tulay__V1__Response **out);
int tulay_list_claims(struct tulay_client *c, const Tulay__V1__ListClaims *q,
		      Tulay__V1__Response **out);

#endif
