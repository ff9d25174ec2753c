/* libtulay: one blocking-with-deadline TCP connection to tulayd speaking tulay.v1.
 *
 * The socket is non-blocking; every wait is a poll() bounded by the deadline of the public
 * call that is running, so no call takes longer than the client's timeout. Bytes received
 * are kept in a growable buffer and cut into frames with the shared frame codec.
 *
 * TLS runs on memory BIOs, as in tulayd: OpenSSL encrypts into the write BIO and this file
 * sends the ciphertext with send(MSG_NOSIGNAL) (an OpenSSL socket BIO would write() and
 * raise SIGPIPE in the calling program when the server has gone); ciphertext received goes
 * into the read BIO. The waits are the same poll()s with the same deadlines. */
#include "libtulay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "wire.h"

_Thread_local char client_connect_error[ERROR_BYTES];

void client_error(struct tulay_client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* A message longer than the buffer is cut short, which is fine for a message. */
	(void)vsnprintf(c != NULL ? c->error : client_connect_error, ERROR_BYTES, fmt, ap);
	va_end(ap);
}

int client_nomem(struct tulay_client *c)
{
	client_error(c, "out of memory");
	return TULAY_E_NOMEM;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	/* CLOCK_MONOTONIC cannot fail on Linux; a zero clock would only shorten deadlines. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t client_deadline(int timeout_ms)
{
	return now_ms() + timeout_ms;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();
	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits until the socket is ready for `events` (or has an error or hang-up, which the
 * next send or recv reports) or the deadline passes. */
int client_wait(struct tulay_client *c, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = c->fd, .events = events};
		int n = poll(&p, 1, remaining_ms(deadline));
		if (n > 0)
			return 0;
		if (n == 0) {
			client_error(c, "no answer from %s within %d ms", c->server, c->timeout_ms);
			return TULAY_E_TIMEOUT;
		}
		if (errno != EINTR) {
			client_error(c, "waiting for %s: %s", c->server, strerror(errno));
			return TULAY_E_IO;
		}
	}
}

static int socket_error(struct tulay_client *c, const char *doing, int err)
{
	if (err == EPIPE || err == ECONNRESET) {
		client_error(c, "%s closed the connection", c->server);
		return TULAY_E_CLOSED;
	}
	client_error(c, "%s %s: %s", doing, c->server, strerror(err));
	return TULAY_E_IO;
}

/* Sends bytes as they go on the wire (ciphertext, with TLS). */
static int raw_send_all(struct tulay_client *c, const uint8_t *buf, size_t len, int64_t deadline)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return socket_error(c, "sending to", errno);
		int rc = client_wait(c, POLLOUT, deadline);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Makes room for at least `want` bytes in the input buffer. */
static int reserve_input(struct tulay_client *c, size_t want)
{
	if (want <= c->in_cap)
		return 0;
	size_t cap = c->in_cap > 0 ? c->in_cap : INPUT_INITIAL_BYTES;
	while (cap < want)
		cap *= 2;
	uint8_t *in = realloc(c->in, cap);
	if (in == NULL)
		return client_nomem(c);
	c->in = in;
	c->in_cap = cap;
	return 0;
}

/* Receives whatever the server has sent on the wire (at least one byte, at most cap) into
 * buf; *got says how much. */
static int raw_recv(struct tulay_client *c, uint8_t *buf, size_t cap, size_t *got, int64_t deadline)
{
	for (;;) {
		ssize_t n = recv(c->fd, buf, cap, 0);
		if (n > 0) {
			*got = (size_t)n;
			return 0;
		}
		if (n == 0) {
			client_error(c, "%s closed the connection", c->server);
			return TULAY_E_CLOSED;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return socket_error(c, "receiving from", errno);
		int rc = client_wait(c, POLLIN, deadline);
		if (rc < 0)
			return rc;
	}
}

/* Sends the ciphertext OpenSSL has written into the write BIO. */
int client_tls_flush(struct tulay_client *c, int64_t deadline)
{
	uint8_t chunk[TLS_CHUNK_BYTES];
	size_t n;
	while (BIO_read_ex(c->wbio, chunk, sizeof(chunk), &n) == 1 && n > 0) {
		int rc = raw_send_all(c, chunk, n, deadline);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Receives ciphertext into the read BIO, after sending what OpenSSL has for the server. */
static int tls_pull(struct tulay_client *c, int64_t deadline)
{
	uint8_t chunk[TLS_CHUNK_BYTES];
	size_t n = 0;
	int rc = client_tls_flush(c, deadline);
	if (rc == 0)
		rc = raw_recv(c, chunk, sizeof(chunk), &n, deadline);
	if (rc == 0 && BIO_write(c->rbio, chunk, (int)n) != (int)n)
		rc = client_nomem(c);
	return rc;
}

/* What a failed SSL_* call (result rc) means: TULAY_E_TIMEOUT etc. after waiting for the
 * server when OpenSSL needs more of its bytes (then 1: try again), or the error. */
int client_tls_step_failed(struct tulay_client *c, int rc, const char *doing, int64_t deadline)
{
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		rc = tls_pull(c, deadline);
		return rc < 0 ? rc : 1;
	case SSL_ERROR_WANT_WRITE: /* a memory BIO is never full; send what it has */
		rc = client_tls_flush(c, deadline);
		return rc < 0 ? rc : 1;
	case SSL_ERROR_ZERO_RETURN:
		client_error(c, "%s closed the connection", c->server);
		return TULAY_E_CLOSED;
	default:
		break;
	}
	unsigned long e = ERR_peek_last_error();
	const char *why = ERR_reason_error_string(e);
	/* Send the alert OpenSSL prepared, so the server's log says why too. */
	(void)client_tls_flush(c, deadline);
	client_error(c, "TLS with %s failed while %s: %s", c->server, doing,
		     why != NULL ? why : "protocol error");
	ERR_clear_error();
	return TULAY_E_TLS;
}

static int send_all(struct tulay_client *c, const uint8_t *buf, size_t len, int64_t deadline)
{
	if (c->ssl == NULL)
		return raw_send_all(c, buf, len, deadline);
	for (;;) {
		size_t n;
		ERR_clear_error();
		/* All or nothing: the write BIO takes everything. */
		int ok = SSL_write_ex(c->ssl, buf, len, &n);
		if (ok == 1)
			return client_tls_flush(c, deadline);
		int rc = client_tls_step_failed(c, ok, "sending", deadline);
		if (rc < 0)
			return rc;
	}
}

/* Receives whatever the server has sent (at least one byte) into the input buffer, after
 * making room for `want` bytes in all. */
static int fill_input(struct tulay_client *c, size_t want, int64_t deadline)
{
	int rc = reserve_input(c, want);
	if (rc < 0)
		return rc;
	uint8_t *to = c->in + c->in_len;
	size_t cap = c->in_cap - c->in_len, n = 0;
	if (c->ssl == NULL) {
		rc = raw_recv(c, to, cap, &n, deadline);
	} else {
		for (;;) {
			ERR_clear_error();
			int ok = SSL_read_ex(c->ssl, to, cap, &n);
			if (ok == 1)
				break;
			rc = client_tls_step_failed(c, ok, "receiving", deadline);
			if (rc < 0)
				break;
			rc = 0;
		}
	}
	if (rc == 0)
		c->in_len += n;
	return rc;
}

/* Unpacks the complete frame `f` at the start of the input buffer and drops its bytes. */
static int take_frame(struct tulay_client *c, const struct frame *f, Tulay__V1__Response **out)
{
	Tulay__V1__Response *resp = tulay__v1__response__unpack(NULL, f->payload_len, f->payload);
	c->in_len -= f->frame_len;
	memmove(c->in, c->in + f->frame_len, c->in_len);
	if (resp == NULL) {
		client_error(c, "%s sent a frame that is not a tulay.v1 Response", c->server);
		return TULAY_E_PROTOCOL;
	}
	if (resp->status == NULL) {
		tulay__v1__response__free_unpacked(resp, NULL);
		client_error(c, "%s sent a Response without a status", c->server);
		return TULAY_E_PROTOCOL;
	}
	*out = resp;
	return 0;
}

/* Reads the next Response off the wire, waiting until `deadline` for it. */
static int read_response(struct tulay_client *c, int64_t deadline, Tulay__V1__Response **out)
{
	for (;;) {
		struct frame f;
		switch (frame_decode(c->in, c->in_len, CLIENT_MAX_PAYLOAD, &f)) {
		case FRAME_COMPLETE:
			return take_frame(c, &f, out);
		case FRAME_TOO_LARGE:
			client_error(
			    c, "%s announced a frame of %zu bytes, over the client's limit of %u",
			    c->server, f.announced, CLIENT_MAX_PAYLOAD);
			return TULAY_E_PROTOCOL;
		case FRAME_NEED_MORE:
			break;
		}
		size_t want = FRAME_HEADER_BYTES + f.announced;
		if (want <= c->in_len)
			want = c->in_len + 1;
		int rc = fill_input(c, want, deadline);
		if (rc < 0)
			return rc;
	}
}

static int send_request(struct tulay_client *c, Tulay__V1__Request *req, int64_t deadline)
{
	size_t size = tulay__v1__request__get_packed_size(req);
	if (size > CLIENT_MAX_PAYLOAD) {
		client_error(c, "the request is %zu bytes, more than a frame may hold", size);
		return TULAY_E_USAGE;
	}
	size_t len;
	uint8_t *buf = frame_pack(&req->base, CLIENT_MAX_PAYLOAD, &len);
	if (buf == NULL)
		return client_nomem(c);
	int rc = send_all(c, buf, len, deadline);
	explicit_bzero(buf, len); /* a Login frame holds a password */
	free(buf);
	return rc;
}

static int hold(struct tulay_client *c, Tulay__V1__Response *resp)
{
	if (c->held_len == HELD_MAX) {
		client_error(c, "%s sent more than %u responses nobody waits for", c->server,
			     HELD_MAX);
		return TULAY_E_PROTOCOL;
	}
	if (c->held_len == c->held_cap) {
		size_t cap = c->held_cap > 0 ? c->held_cap * 2 : 4;
		Tulay__V1__Response **held = realloc(c->held, cap * sizeof(*held));
		if (held == NULL)
			return client_nomem(c);
		c->held = held;
		c->held_cap = cap;
	}
	c->held[c->held_len++] = resp;
	return 0;
}

/* tulay_call with the deadline of a larger operation (tulay_connect's Hello). */
int client_call_until(struct tulay_client *c, Tulay__V1__Request *req, int64_t deadline,
		      Tulay__V1__Response **out)
{
	req->id = ++c->last_id;
	int rc = send_request(c, req, deadline);
	while (rc == 0) {
		Tulay__V1__Response *resp;
		rc = read_response(c, deadline, &resp);
		if (rc < 0)
			break;
		/* Id 0 is the server's answer to what it could not read (a frame over its
		 * limit): it concerns the request we are waiting for. */
		if (resp->id == req->id ||
		    (resp->id == 0 && resp->status->code != TULAY__V1__CODE__OK)) {
			*out = resp;
			return 0;
		}
		if (resp->id > c->last_id) {
			client_error(c, "%s answered request %llu, which was never sent", c->server,
				     (unsigned long long)resp->id);
			rc = TULAY_E_PROTOCOL;
		} else {
			rc = hold(c, resp);
		}
		if (rc < 0)
			tulay__v1__response__free_unpacked(resp, NULL);
	}
	return rc;
}

void tulay_close(struct tulay_client *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL && c->fd >= 0 && SSL_is_init_finished(c->ssl)) {
		/* close_notify, if the socket takes it now; the server closes either way. */
		uint8_t chunk[TLS_CHUNK_BYTES];
		size_t n;
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
		if (BIO_read_ex(c->wbio, chunk, sizeof(chunk), &n) == 1)
			(void)send(c->fd, chunk, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		ERR_clear_error();
	}
	SSL_free(c->ssl); /* and its BIOs */
	SSL_CTX_free(c->tls_ctx);
	if (c->fd >= 0)
		close(c->fd); /* nothing to do about an error: the client is gone either way */
	for (size_t i = 0; i < c->held_len; i++)
		tulay__v1__response__free_unpacked(c->held[i], NULL);
	free(c->held);
	if (c->hello != NULL)
		tulay__v1__response__free_unpacked(c->hello, NULL);
	free(c->in);
	free(c->servers);
	free(c->server);
	free(c->ca_file);
	free(c->client_name);
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c->host);
	free(c);
}

const char *tulay_last_error(const struct tulay_client *c)
{
	return c != NULL ? c->error : client_connect_error;
}

const char *tulay_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case TULAY_E_USAGE:
		return "invalid argument";
	case TULAY_E_RESOLVE:
		return "server name does not resolve";
	case TULAY_E_CONNECT:
		return "cannot connect to the server";
	case TULAY_E_TIMEOUT:
		return "timed out";
	case TULAY_E_CLOSED:
		return "the server closed the connection";
	case TULAY_E_PROTOCOL:
		return "the server does not speak tulay.v1";
	case TULAY_E_NOMEM:
		return "out of memory";
	case TULAY_E_IO:
		return "socket error";
	case TULAY_E_TLS:
		return "TLS failed";
	case TULAY_E_VERIFY:
		return "the server's certificate is not trusted";
	}
	return "unknown error";
}

const char *tulay_code_name(Tulay__V1__Code code)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&tulay__v1__code__descriptor, (int)code);
	return v != NULL ? v->name : "UNKNOWN_CODE";
}

const Tulay__V1__HelloReply *tulay_server_hello(const struct tulay_client *c)
{
	return c != NULL && c->hello != NULL ? c->hello->hello : NULL;
}

int tulay_send(struct tulay_client *c, Tulay__V1__Request *req, uint64_t *id_out)
{
	if (c == NULL || req == NULL)
		return TULAY_E_USAGE;
	req->id = ++c->last_id;
	if (id_out != NULL)
		*id_out = req->id;
	return send_request(c, req, client_deadline(c->timeout_ms));
}

int tulay_recv(struct tulay_client *c, Tulay__V1__Response **out)
{
	if (c == NULL || out == NULL)
		return TULAY_E_USAGE;
	*out = NULL;
	if (c->held_len > 0) {
		*out = c->held[0];
		memmove(c->held, c->held + 1, --c->held_len * sizeof(*c->held));
		return 0;
	}
	return read_response(c, client_deadline(c->timeout_ms), out);
}

static int retry_unavailable(struct tulay_client *c, Tulay__V1__Request *req, int rc,
			     Tulay__V1__Response **out);

int tulay_call(struct tulay_client *c, Tulay__V1__Request *req, Tulay__V1__Response **out)
{
	if (c == NULL || req == NULL || out == NULL)
		return TULAY_E_USAGE;
	*out = NULL;
	c->last_attempts = 1;
	int rc = client_call_until(c, req, client_deadline(c->timeout_ms), out);
	return retry_unavailable(c, req, rc, out);
}

int tulay_set_max_attempts(struct tulay_client *c, unsigned attempts)
{
	if (c == NULL || attempts == 0 || attempts > TULAY_MAX_ATTEMPTS)
		return TULAY_E_USAGE;
	c->max_attempts = attempts;
	return 0;
}

unsigned tulay_last_attempts(const struct tulay_client *c)
{
	return c != NULL ? c->last_attempts : 0;
}

void tulay_set_retry_observer(struct tulay_client *c, tulay_retry_fn fn, void *arg)
{
	if (c == NULL)
		return;
	c->retry_observer = fn;
	c->retry_observer_arg = arg;
}

/* The body message of a request: the member of its oneof that is set, or NULL. */
static const ProtobufCMessage *request_body(const Tulay__V1__Request *req)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
	    &tulay__v1__request__descriptor, (unsigned)req->body_case);
	if (req->body_case == TULAY__V1__REQUEST__BODY__NOT_SET || f == NULL ||
	    f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	return *(const ProtobufCMessage *const *)((const char *)req + f->offset);
}

bool tulay_request_retryable(const Tulay__V1__Request *req)
{
	if (req == NULL)
		return false;
	switch (req->body_case) {
	case TULAY__V1__REQUEST__BODY_HELLO:
	case TULAY__V1__REQUEST__BODY_AUTHENTICATE:
	case TULAY__V1__REQUEST__BODY_LIST_ORGANISATIONS:
	case TULAY__V1__REQUEST__BODY_GET_ORGANISATION:
	case TULAY__V1__REQUEST__BODY_GET_CLAIM:
	case TULAY__V1__REQUEST__BODY_LIST_CLAIMS:
	case TULAY__V1__REQUEST__BODY_LIST_USERS:
	case TULAY__V1__REQUEST__BODY_GET_DEPORTATION:
	case TULAY__V1__REQUEST__BODY_GET_RECOMMENDATION:
	case TULAY__V1__REQUEST__BODY_LIST_REFERRALS:
	case TULAY__V1__REQUEST__BODY_LIST_CASES:
	case TULAY__V1__REQUEST__BODY_GET_REPORT:
	case TULAY__V1__REQUEST__BODY_LIST_EXCHANGE_RATES:
	/* Decisions on a membership proposal are idempotent without a key: the server
	 * answers a decision its caller already made as it did the first time. */
	case TULAY__V1__REQUEST__BODY_ACCEPT_MEMBERSHIP:
	case TULAY__V1__REQUEST__BODY_DECLINE_MEMBERSHIP:
		return true;
	default:
		break;
	}
	/* A write is safe to resend with its key, whichever request it is: found by name, so
	 * that requests added to the protocol later are covered too. */
	const ProtobufCMessage *body = request_body(req);
	if (body == NULL)
		return false;
	const ProtobufCFieldDescriptor *key =
	    protobuf_c_message_descriptor_get_field_by_name(body->descriptor, "idempotency_key");
	if (key == NULL || key->type != PROTOBUF_C_TYPE_BYTES ||
	    key->label == PROTOBUF_C_LABEL_REPEATED)
		return false;
	const ProtobufCBinaryData *value =
	    (const ProtobufCBinaryData *)((const char *)body + key->offset);
	return value->len > 0;
}

unsigned tulay_backoff_ms(unsigned retry, uint32_t random)
{
	if (retry == 0)
		return 0;
	/* The ceiling doubles from the base at each resend until it reaches the cap; the shift
	 * stops early so that it cannot overflow. */
	uint64_t ceiling = TULAY_BACKOFF_BASE_MS;
	for (unsigned i = 1; i < retry && ceiling < TULAY_BACKOFF_CAP_MS; i++)
		ceiling *= 2;
	if (ceiling > TULAY_BACKOFF_CAP_MS)
		ceiling = TULAY_BACKOFF_CAP_MS;
	/* random / 2^32 scaled onto 0..ceiling, without the bias of a remainder. */
	return (unsigned)(((uint64_t)random * (ceiling + 1)) >> 32);
}

uint32_t client_jitter(struct tulay_client *c)
{
	c->jitter ^= c->jitter << 13;
	c->jitter ^= c->jitter >> 7;
	c->jitter ^= c->jitter << 17;
	return (uint32_t)(c->jitter >> 32);
}

void client_pause_ms(unsigned ms)
{
	struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

/* The retry loop of tulay_call and tulay_retry_unavailable: c->last_attempts sends were
 * made, with the result rc and, when rc is 0, the answer *out. Sends again, after
 * tulay_backoff_ms:
 *  - an answer UNAVAILABLE with Status.reconnect (the server is shutting down and did
 *    nothing with it): any request, on a new connection to the next server;
 *  - an answer UNAVAILABLE (busy): a request safe to resend, on the same connection;
 *  - no answer, the connection closed or broken: a request safe to resend, on a new
 *    connection to the next server. */
static int retry_unavailable(struct tulay_client *c, Tulay__V1__Request *req, int rc,
			     Tulay__V1__Response **out)
{
	while (c->last_attempts < c->max_attempts) {
		bool unavailable = rc == 0 && (*out)->status->code == TULAY__V1__CODE__UNAVAILABLE;
		bool going = unavailable && (*out)->status->reconnect;
		bool lost = rc == TULAY_E_CLOSED || rc == TULAY_E_IO;
		if (!going && !((unavailable || lost) && tulay_request_retryable(req)))
			break;
		unsigned delay = tulay_backoff_ms(c->last_attempts, client_jitter(c));
		if (c->retry_observer != NULL) {
			Tulay__V1__Status gone = TULAY__V1__STATUS__INIT;
			gone.code = TULAY__V1__CODE__UNAVAILABLE;
			gone.message = c->error;
			gone.outcome_unknown = true;
			c->retry_observer(c->retry_observer_arg, req, lost ? &gone : (*out)->status,
					  c->last_attempts + 1, delay);
		}
		tulay_response_free(*out);
		*out = NULL;
		client_pause_ms(delay);
		c->last_attempts++;
		int64_t deadline = client_deadline(c->timeout_ms);
		rc = going || lost ? client_reconnect(c, deadline) : 0;
		if (rc == 0)
			rc = client_call_until(c, req, deadline, out);
	}
	return rc;
}

int tulay_retry_unavailable(struct tulay_client *c, Tulay__V1__Request *req,
			    Tulay__V1__Response **resp)
{
	if (c == NULL || req == NULL || resp == NULL || *resp == NULL)
		return TULAY_E_USAGE;
	c->last_attempts = 1;
	return retry_unavailable(c, req, 0, resp);
}

void tulay_response_free(Tulay__V1__Response *resp)
{
	if (resp != NULL)
		tulay__v1__response__free_unpacked(resp, NULL);
}

int tulay_new_idempotency_key(uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES])
{
	size_t got = 0;
	while (got < TULAY_IDEMPOTENCY_KEY_BYTES) {
		ssize_t n = getrandom(key + got, TULAY_IDEMPOTENCY_KEY_BYTES - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return TULAY_E_IO;
		}
		got += (size_t)n;
	}
	return 0;
}

/* tulay_call, and a Response with status OK must carry the body `expect` (any body when
 * `expect` is BODY__NOT_SET): the typed helpers' callers may then use it without looking. */
static int call_expect(struct tulay_client *c, Tulay__V1__Request *req,
		       Tulay__V1__Response__BodyCase expect, Tulay__V1__Response **out)
{
	int rc = tulay_call(c, req, out);
	if (rc < 0)
		return rc;
	if ((*out)->status->code == TULAY__V1__CODE__OK &&
	    expect != TULAY__V1__RESPONSE__BODY__NOT_SET && (*out)->body_case != expect) {
		tulay_response_free(*out);
		*out = NULL;
		client_error(c, "%s answered with an unexpected kind of response", c->server);
		return TULAY_E_PROTOCOL;
	}
	return 0;
}

/* Protocol strings must not be NULL: an absent optional string is the empty string. */
static char *or_empty(const char *s)
{
	return (char *)(s != NULL ? s : "");
}

/* The request envelope of the typed helpers, written once: TULAY_CALL(fn, field, Type,
 * BODY, RESPONSE) defines `int fn(c, const Tulay__V1__<Type> *m, out)`, which sends `m` as
 * it is in the Request's field <field> (body case TULAY__V1__REQUEST__BODY_<BODY>) and
 * expects a Response with body TULAY__V1__RESPONSE__BODY_<RESPONSE> (_NOT_SET: any), as
 * call_expect does. The public helpers that only wrap their message are such functions
 * (libtulay.h declares them, with their contract); the ones that do more (build their
 * message from strings, remember the session) are written out below, around a static one.
 * The request structs are only read while packing: the cast drops a const that the
 * generated Request type cannot express. */
#define TULAY_CALL(fn, field, Type, BODY, RESPONSE)                                                \
	int fn(struct tulay_client *c, const Tulay__V1__##Type *m, Tulay__V1__Response **out)      \
	{                                                                                          \
		Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;                                 \
		req.body_case = TULAY__V1__REQUEST__BODY_##BODY;                                   \
		req.field = (Tulay__V1__##Type *)m;                                                \
		return call_expect(c, &req, TULAY__V1__RESPONSE__BODY_##RESPONSE, out);            \
	}

/* The same, private to this file: the envelope of a helper that does more. */
#define TULAY_CALL_STATIC(fn, field, Type, BODY, RESPONSE)                                         \
	static TULAY_CALL(fn, field, Type, BODY, RESPONSE)

TULAY_CALL_STATIC(call_login, login, Login, LOGIN, SESSION)
TULAY_CALL_STATIC(call_authenticate, authenticate, Authenticate, AUTHENTICATE, SESSION)
TULAY_CALL_STATIC(call_logout, logout, Logout, LOGOUT, _NOT_SET)
TULAY_CALL_STATIC(call_get_claim, get_claim, GetClaim, GET_CLAIM, CLAIM)
TULAY_CALL(tulay_create_organisation, create_organisation, CreateOrganisation, CREATE_ORGANISATION,
	   ORGANISATION)
TULAY_CALL(tulay_list_organisations, list_organisations, ListOrganisations, LIST_ORGANISATIONS,
	   ORGANISATIONS)
TULAY_CALL(tulay_create_claim, create_claim, CreateClaim, CREATE_CLAIM, CLAIM)
TULAY_CALL(tulay_list_claims, list_claims, ListClaims, LIST_CLAIMS, CLAIMS)

#undef TULAY_CALL_STATIC
#undef TULAY_CALL

int tulay_login(struct tulay_client *c, const char *username, const char *password,
		Tulay__V1__Response **out)
{
	Tulay__V1__Login login = TULAY__V1__LOGIN__INIT;
	login.username = or_empty(username);
	login.password = or_empty(password);
	int rc = call_login(c, &login, out);
	if (rc == 0 && (*out)->status->code == TULAY__V1__CODE__OK && (*out)->session != NULL)
		rc = client_remember_session(c, (*out)->session->session_token);
	return rc;
}

int tulay_authenticate(struct tulay_client *c, const char *session_token, Tulay__V1__Response **out)
{
	Tulay__V1__Authenticate auth = TULAY__V1__AUTHENTICATE__INIT;
	auth.session_token = or_empty(session_token);
	int rc = call_authenticate(c, &auth, out);
	if (rc == 0 && (*out)->status->code == TULAY__V1__CODE__OK)
		rc = client_remember_session(c, session_token);
	return rc;
}

int tulay_logout(struct tulay_client *c, Tulay__V1__Response **out)
{
	Tulay__V1__Logout logout = TULAY__V1__LOGOUT__INIT;
	int rc = call_logout(c, &logout, out);
	if (rc == 0 && (*out)->status->code == TULAY__V1__CODE__OK)
		(void)client_remember_session(c, NULL);
	return rc;
}

int tulay_remember_session(struct tulay_client *c, const char *session_token)
{
	if (c == NULL)
		return TULAY_E_USAGE;
	return client_remember_session(c, session_token);
}

int tulay_get_claim(struct tulay_client *c, const char *reference, const char *organisation,
		    Tulay__V1__Response **out)
{
	Tulay__V1__GetClaim get = TULAY__V1__GET_CLAIM__INIT;
	get.reference = or_empty(reference);
	get.organisation = or_empty(organisation);
	return call_get_claim(c, &get, out);
}
