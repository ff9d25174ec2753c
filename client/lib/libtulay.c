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

#include "frame.h"

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
	char *server;     /* the address as given to tulay_connect, for messages */
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
static _Thread_local char connect_error[ERROR_BYTES];

static void set_error(struct tulay_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct tulay_client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* A message longer than the buffer is cut short, which is fine for a message. */
	(void)vsnprintf(c != NULL ? c->error : connect_error, ERROR_BYTES, fmt, ap);
	va_end(ap);
}

static int nomem(struct tulay_client *c)
{
	set_error(c, "out of memory");
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

static int64_t deadline_after(int timeout_ms)
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
static int wait_ready(struct tulay_client *c, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = c->fd, .events = events};
		int n = poll(&p, 1, remaining_ms(deadline));
		if (n > 0)
			return 0;
		if (n == 0) {
			set_error(c, "no answer from %s within %d ms", c->server, c->timeout_ms);
			return TULAY_E_TIMEOUT;
		}
		if (errno != EINTR) {
			set_error(c, "waiting for %s: %s", c->server, strerror(errno));
			return TULAY_E_IO;
		}
	}
}

static int socket_error(struct tulay_client *c, const char *doing, int err)
{
	if (err == EPIPE || err == ECONNRESET) {
		set_error(c, "%s closed the connection", c->server);
		return TULAY_E_CLOSED;
	}
	set_error(c, "%s %s: %s", doing, c->server, strerror(err));
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
		int rc = wait_ready(c, POLLOUT, deadline);
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
		return nomem(c);
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
			set_error(c, "%s closed the connection", c->server);
			return TULAY_E_CLOSED;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return socket_error(c, "receiving from", errno);
		int rc = wait_ready(c, POLLIN, deadline);
		if (rc < 0)
			return rc;
	}
}

/* Sends the ciphertext OpenSSL has written into the write BIO. */
static int tls_flush(struct tulay_client *c, int64_t deadline)
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
	int rc = tls_flush(c, deadline);
	if (rc == 0)
		rc = raw_recv(c, chunk, sizeof(chunk), &n, deadline);
	if (rc == 0 && BIO_write(c->rbio, chunk, (int)n) != (int)n)
		rc = nomem(c);
	return rc;
}

/* What a failed SSL_* call (result rc) means: TULAY_E_TIMEOUT etc. after waiting for the
 * server when OpenSSL needs more of its bytes (then 1: try again), or the error. */
static int tls_step_failed(struct tulay_client *c, int rc, const char *doing, int64_t deadline)
{
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		rc = tls_pull(c, deadline);
		return rc < 0 ? rc : 1;
	case SSL_ERROR_WANT_WRITE: /* a memory BIO is never full; send what it has */
		rc = tls_flush(c, deadline);
		return rc < 0 ? rc : 1;
	case SSL_ERROR_ZERO_RETURN:
		set_error(c, "%s closed the connection", c->server);
		return TULAY_E_CLOSED;
	default:
		break;
	}
	unsigned long e = ERR_peek_last_error();
	const char *why = ERR_reason_error_string(e);
	/* Send the alert OpenSSL prepared, so the server's log says why too. */
	(void)tls_flush(c, deadline);
	set_error(c, "TLS with %s failed while %s: %s", c->server, doing,
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
			return tls_flush(c, deadline);
		int rc = tls_step_failed(c, ok, "sending", deadline);
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
			rc = tls_step_failed(c, ok, "receiving", deadline);
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
		set_error(c, "%s sent a frame that is not a tulay.v1 Response", c->server);
		return TULAY_E_PROTOCOL;
	}
	if (resp->status == NULL) {
		tulay__v1__response__free_unpacked(resp, NULL);
		set_error(c, "%s sent a Response without a status", c->server);
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
			set_error(
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
		set_error(c, "the request is %zu bytes, more than a frame may hold", size);
		return TULAY_E_USAGE;
	}
	size_t len;
	uint8_t *buf = frame_pack(&req->base, CLIENT_MAX_PAYLOAD, &len);
	if (buf == NULL)
		return nomem(c);
	int rc = send_all(c, buf, len, deadline);
	explicit_bzero(buf, len); /* a Login frame holds a password */
	free(buf);
	return rc;
}

static int hold(struct tulay_client *c, Tulay__V1__Response *resp)
{
	if (c->held_len == HELD_MAX) {
		set_error(c, "%s sent more than %u responses nobody waits for", c->server,
			  HELD_MAX);
		return TULAY_E_PROTOCOL;
	}
	if (c->held_len == c->held_cap) {
		size_t cap = c->held_cap > 0 ? c->held_cap * 2 : 4;
		Tulay__V1__Response **held = realloc(c->held, cap * sizeof(*held));
		if (held == NULL)
			return nomem(c);
		c->held = held;
		c->held_cap = cap;
	}
	c->held[c->held_len++] = resp;
	return 0;
}

/* tulay_call with the deadline of a larger operation (tulay_connect's Hello). */
static int call_until(struct tulay_client *c, Tulay__V1__Request *req, int64_t deadline,
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
			set_error(c, "%s answered request %llu, which was never sent", c->server,
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

/* Splits "host:port", "host", "[v6]:port", "[v6]" or a bare IPv6 address into a newly
 * allocated host and a pointer to the port text inside `server` (or the default). */
static int split_server(const char *server, char **host_out, char *port_out, size_t port_cap)
{
	const char *host = server, *port = NULL;
	size_t host_len;
	if (server[0] == '[') {
		const char *close = strchr(server, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			goto bad;
		host = server + 1;
		host_len = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
	} else {
		const char *colon = strchr(server, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			host_len = (size_t)(colon - server);
			port = colon + 1;
		} else {
			host_len = strlen(server); /* a name, or an IPv6 address without a port */
		}
	}
	if (host_len == 0)
		goto bad;
	unsigned long port_number = TULAY_DEFAULT_PORT;
	if (port != NULL) {
		char *end;
		if (port[0] < '0' || port[0] > '9')
			goto bad;
		errno = 0;
		port_number = strtoul(port, &end, 10);
		if (errno != 0 || *end != '\0' || port_number == 0 || port_number > 65535)
			goto bad;
	}
	int n = snprintf(port_out, port_cap, "%lu", port_number);
	if (n < 0 || (size_t)n >= port_cap)
		goto bad;
	*host_out = strndup(host, host_len);
	if (*host_out == NULL)
		return TULAY_E_NOMEM;
	return 0;
bad:
	return TULAY_E_USAGE;
}

static int connect_error_code(struct tulay_client *c, int err)
{
	if (err == ECONNREFUSED)
		set_error(c, "connection to %s refused", c->server);
	else if (err == ENETUNREACH || err == EHOSTUNREACH)
		set_error(c, "no route to %s", c->server);
	else
		set_error(c, "cannot connect to %s: %s", c->server, strerror(err));
	return TULAY_E_CONNECT;
}

/* Connects a non-blocking socket to one address; on success c->fd is the socket. */
static int try_address(struct tulay_client *c, const struct addrinfo *ai, int64_t deadline)
{
	c->fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (c->fd < 0) {
		set_error(c, "cannot create a socket: %s", strerror(errno));
		return TULAY_E_IO;
	}
	int rc = 0;
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS && errno != EINTR) {
			rc = connect_error_code(c, errno);
			goto out;
		}
		rc = wait_ready(c, POLLOUT, deadline);
		if (rc < 0)
			goto out;
		int err = 0;
		socklen_t err_len = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0)
			err = errno;
		if (err != 0) {
			rc = connect_error_code(c, err);
			goto out;
		}
	}
	/* Requests are small and pipelined: send each as soon as it is written. */
	int one = 1;
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
		set_error(c, "cannot set TCP_NODELAY: %s", strerror(errno));
		rc = TULAY_E_IO;
	}
out:
	if (rc < 0) {
		close(c->fd);
		c->fd = -1;
	}
	return rc;
}

static int open_socket(struct tulay_client *c, int64_t deadline)
{
	char port[8];
	int rc = split_server(c->server, &c->host, port, sizeof(port));
	if (rc == TULAY_E_USAGE)
		set_error(c, "'%s' is not a server address: use HOST, HOST:PORT or [IPv6]:PORT",
			  c->server);
	if (rc < 0)
		return rc == TULAY_E_NOMEM ? nomem(c) : rc;
	const char *host = c->host;

	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *addrs = NULL;
	int gai = getaddrinfo(host, port, &hints, &addrs);
	if (gai != 0) {
		set_error(c, "cannot resolve %s: %s", host,
			  gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		rc = TULAY_E_RESOLVE;
		goto out;
	}
	rc = TULAY_E_CONNECT;
	for (const struct addrinfo *ai = addrs; ai != NULL; ai = ai->ai_next) {
		rc = try_address(c, ai, deadline);
		if (rc == 0 || rc == TULAY_E_TIMEOUT)
			break;
	}
out:
	if (addrs != NULL)
		freeaddrinfo(addrs);
	return rc;
}

static bool host_is_numeric(const char *host)
{
	struct in6_addr a;
	return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
}

/* Why the server's certificate was refused, as the error of the client. */
static int verify_failed(struct tulay_client *c, long result, const char *ca_file)
{
	const char *why = X509_verify_cert_error_string(result);
	if (result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH)
		set_error(c, "the TLS certificate of %s is not for %s: %s", c->server, c->host,
			  why);
	else
		set_error(c, "the TLS certificate of %s is not trusted by the CA file %s: %s",
			  c->server, ca_file, why);
	return TULAY_E_VERIFY;
}

/* The TLS 1.3 context trusting `ca_file`: made before connecting, so that a CA file that
 * cannot be used costs no connection. */
static int tls_context(struct tulay_client *c, const char *ca_file)
{
	ERR_clear_error();
	c->tls_ctx = SSL_CTX_new(TLS_client_method());
	if (c->tls_ctx == NULL)
		return nomem(c);
	if (SSL_CTX_set_min_proto_version(c->tls_ctx, TLS1_3_VERSION) != 1) {
		set_error(c, "this OpenSSL has no TLS 1.3");
		return TULAY_E_TLS;
	}
	SSL_CTX_set_verify(c->tls_ctx, SSL_VERIFY_PEER, NULL);
	FILE *f = fopen(ca_file, "r");
	if (f == NULL) {
		set_error(c, "cannot read the CA file %s: %s", ca_file, strerror(errno));
		return TULAY_E_USAGE;
	}
	fclose(f);
	if (SSL_CTX_load_verify_locations(c->tls_ctx, ca_file, NULL) != 1) {
		set_error(c, "the CA file %s holds no PEM certificate", ca_file);
		ERR_clear_error();
		return TULAY_E_USAGE;
	}
	return 0;
}

/* Completes the TLS handshake over the connected socket, verifying the server's
 * certificate against the context's CA file (named `ca_file` in messages) and the host. */
static int tls_start(struct tulay_client *c, const char *ca_file, int64_t deadline)
{
	ERR_clear_error();
	c->ssl = SSL_new(c->tls_ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		c->rbio = c->wbio = NULL;
		return nomem(c);
	}
	BIO_set_mem_eof_return(c->rbio, -1);
	BIO_set_mem_eof_return(c->wbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	/* The certificate must name the host as it was given: an IP address SAN for a
	 * numeric host, else the DNS name (also sent as SNI). */
	int ok;
	if (host_is_numeric(c->host)) {
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host);
	} else {
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = SSL_set1_host(c->ssl, c->host) == 1 &&
		     SSL_set_tlsext_host_name(c->ssl, c->host) == 1;
	}
	if (ok != 1) {
		set_error(c, "cannot check certificates for the host %s", c->host);
		ERR_clear_error();
		return TULAY_E_USAGE;
	}
	SSL_set_connect_state(c->ssl);
	for (;;) {
		ERR_clear_error();
		int hs = SSL_do_handshake(c->ssl);
		if (hs == 1)
			break;
		long verify = SSL_get_verify_result(c->ssl);
		if (SSL_get_error(c->ssl, hs) == SSL_ERROR_SSL && verify != X509_V_OK) {
			(void)tls_flush(c, deadline); /* the alert: the server logs why */
			ERR_clear_error();
			return verify_failed(c, verify, ca_file);
		}
		int rc = tls_step_failed(c, hs, "connecting", deadline);
		if (rc < 0)
			return rc;
	}
	return tls_flush(c, deadline);
}

static int say_hello(struct tulay_client *c, const char *client_name, int64_t deadline)
{
	Tulay__V1__Hello hello = TULAY__V1__HELLO__INIT;
	hello.protocol_version = TULAY_PROTOCOL_VERSION;
	hello.client = (char *)client_name;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_HELLO;
	req.hello = &hello;

	Tulay__V1__Response *resp = NULL;
	int rc = call_until(c, &req, deadline, &resp);
	if (rc < 0)
		return rc;
	if (resp->status->code != TULAY__V1__CODE__OK) {
		set_error(c, "%s refused the connection: %s: %s", c->server,
			  tulay_code_name(resp->status->code), resp->status->message);
		rc = TULAY_E_PROTOCOL;
	} else if (resp->body_case != TULAY__V1__RESPONSE__BODY_HELLO) {
		set_error(c, "%s did not answer Hello with a HelloReply", c->server);
		rc = TULAY_E_PROTOCOL;
	} else if (resp->hello->protocol_version != TULAY_PROTOCOL_VERSION) {
		set_error(c, "%s speaks protocol version %u, this client version %d", c->server,
			  resp->hello->protocol_version, TULAY_PROTOCOL_VERSION);
		rc = TULAY_E_PROTOCOL;
	}
	if (rc < 0) {
		tulay__v1__response__free_unpacked(resp, NULL);
		return rc;
	}
	c->hello = resp;
	return 0;
}

/* A seed for the pauses between attempts. It needs no secrecy, only to differ between
 * clients that a busy server refused at the same moment, so that they do not come back
 * together; without getrandom() the clock and the client's address still differ. */
static uint64_t jitter_seed(const struct tulay_client *c)
{
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		struct timespec ts;
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)c;
	}
	return seed != 0 ? seed : 0x9e3779b97f4a7c15u;
}

/* tulay_connect and tulay_connect_tls: TLS when ca_file is not NULL. */
static int connect_to(const char *server, const char *ca_file, int timeout_ms,
		      const char *client_name, struct tulay_client **out)
{
	struct tulay_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return nomem(NULL);
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	c->max_attempts = TULAY_DEFAULT_MAX_ATTEMPTS;
	c->jitter = jitter_seed(c);
	c->server = strdup(server);
	int rc;
	if (c->server == NULL) {
		rc = nomem(NULL);
		goto out;
	}
	int64_t deadline = deadline_after(timeout_ms);
	rc = ca_file != NULL ? tls_context(c, ca_file) : 0;
	if (rc == 0)
		rc = open_socket(c, deadline);
	if (rc == 0 && ca_file != NULL)
		rc = tls_start(c, ca_file, deadline);
	if (rc == 0)
		rc = say_hello(c, client_name, deadline);
	if (rc == TULAY_E_CLOSED && ca_file == NULL)
		set_error(c, "%s closed the connection at once: if it talks TLS, give its CA file",
			  c->server);
	if (rc < 0)
		set_error(NULL, "%s", c->error);
out:
	if (rc < 0)
		tulay_close(c);
	else
		*out = c;
	return rc;
}

bool tulay_server_is_loopback(const char *server)
{
	char *host = NULL;
	char port[8];
	if (server == NULL || split_server(server, &host, port, sizeof(port)) != 0)
		return false;
	struct in_addr v4;
	struct in6_addr v6;
	bool loopback = strcmp(host, "localhost") == 0 ||
			(inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) ||
			(inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6));
	free(host);
	return loopback;
}

/* The arguments every connect needs; false (after saying why) when one is missing. */
static bool connect_arguments_ok(const char *server, int timeout_ms, const char *client_name,
				 struct tulay_client **out)
{
	if (out == NULL)
		return false;
	*out = NULL;
	if (server == NULL || client_name == NULL || timeout_ms <= 0) {
		set_error(NULL, "connecting needs a server, a client name and a timeout");
		return false;
	}
	return true;
}

int tulay_connect(const char *server, int timeout_ms, const char *client_name,
		  struct tulay_client **out)
{
	if (!connect_arguments_ok(server, timeout_ms, client_name, out))
		return TULAY_E_USAGE;
	if (!tulay_server_is_loopback(server)) {
		set_error(NULL,
			  "%s is not on this computer, and plaintext is for loopback only: "
			  "connect with TLS and the CA certificate of the server",
			  server);
		return TULAY_E_USAGE;
	}
	return connect_to(server, NULL, timeout_ms, client_name, out);
}

int tulay_connect_tls(const char *server, const char *ca_file, int timeout_ms,
		      const char *client_name, struct tulay_client **out)
{
	if (!connect_arguments_ok(server, timeout_ms, client_name, out))
		return TULAY_E_USAGE;
	if (ca_file == NULL || ca_file[0] == '\0') {
		set_error(NULL, "TLS needs the CA file that signed the server's certificate");
		return TULAY_E_USAGE;
	}
	return connect_to(server, ca_file, timeout_ms, client_name, out);
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
	free(c->server);
	free(c->host);
	free(c);
}

const char *tulay_last_error(const struct tulay_client *c)
{
	return c != NULL ? c->error : connect_error;
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
	return send_request(c, req, deadline_after(c->timeout_ms));
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
	return read_response(c, deadline_after(c->timeout_ms), out);
}

static int retry_unavailable(struct tulay_client *c, Tulay__V1__Request *req,
			     Tulay__V1__Response **out);

int tulay_call(struct tulay_client *c, Tulay__V1__Request *req, Tulay__V1__Response **out)
{
	if (c == NULL || req == NULL || out == NULL)
		return TULAY_E_USAGE;
	*out = NULL;
	c->last_attempts = 1;
	int rc = call_until(c, req, deadline_after(c->timeout_ms), out);
	if (rc < 0)
		return rc;
	return retry_unavailable(c, req, out);
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

static uint32_t jitter_next(struct tulay_client *c)
{
	c->jitter ^= c->jitter << 13;
	c->jitter ^= c->jitter >> 7;
	c->jitter ^= c->jitter << 17;
	return (uint32_t)(c->jitter >> 32);
}

static void pause_ms(unsigned ms)
{
	struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

/* The retry loop of tulay_call and tulay_retry_unavailable: c->last_attempts sends were
 * made and *out is the last answer. */
static int retry_unavailable(struct tulay_client *c, Tulay__V1__Request *req,
			     Tulay__V1__Response **out)
{
	while ((*out)->status->code == TULAY__V1__CODE__UNAVAILABLE &&
	       c->last_attempts < c->max_attempts && tulay_request_retryable(req)) {
		unsigned delay = tulay_backoff_ms(c->last_attempts, jitter_next(c));
		if (c->retry_observer != NULL)
			c->retry_observer(c->retry_observer_arg, req, (*out)->status,
					  c->last_attempts + 1, delay);
		tulay_response_free(*out);
		*out = NULL;
		pause_ms(delay);
		c->last_attempts++;
		int rc = call_until(c, req, deadline_after(c->timeout_ms), out);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int tulay_retry_unavailable(struct tulay_client *c, Tulay__V1__Request *req,
			    Tulay__V1__Response **resp)
{
	if (c == NULL || req == NULL || resp == NULL || *resp == NULL)
		return TULAY_E_USAGE;
	c->last_attempts = 1;
	return retry_unavailable(c, req, resp);
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
		set_error(c, "%s answered with an unexpected kind of response", c->server);
		return TULAY_E_PROTOCOL;
	}
	return 0;
}

/* Protocol strings must not be NULL: an absent optional string is the empty string. */
static char *or_empty(const char *s)
{
	return (char *)(s != NULL ? s : "");
}

int tulay_login(struct tulay_client *c, const char *username, const char *password,
		Tulay__V1__Response **out)
{
	Tulay__V1__Login login = TULAY__V1__LOGIN__INIT;
	login.username = or_empty(username);
	login.password = or_empty(password);
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LOGIN;
	req.login = &login;
	return call_expect(c, &req, TULAY__V1__RESPONSE__BODY_SESSION, out);
}

int tulay_authenticate(struct tulay_client *c, const char *session_token, Tulay__V1__Response **out)
{
	Tulay__V1__Authenticate auth = TULAY__V1__AUTHENTICATE__INIT;
	auth.session_token = or_empty(session_token);
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_AUTHENTICATE;
	req.authenticate = &auth;
	return call_expect(c, &req, TULAY__V1__RESPONSE__BODY_SESSION, out);
}

int tulay_logout(struct tulay_client *c, Tulay__V1__Response **out)
{
	Tulay__V1__Logout logout = TULAY__V1__LOGOUT__INIT;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LOGOUT;
	req.logout = &logout;
	return call_expect(c, &req, TULAY__V1__RESPONSE__BODY__NOT_SET, out);
}

/* The request structs are only read while packing: the casts below drop a const that the
 * generated Request type cannot express. */
int tulay_create_organisation(struct tulay_client *c, const Tulay__V1__CreateOrganisation *org,
			      Tulay__V1__Response **out)
{
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_ORGANISATION;
	req.create_organisation = (Tulay__V1__CreateOrganisation *)org;
	return call_expect(c, &req, TULAY__V1__RESPONSE__BODY_ORGANISATION, out);
}

int tulay_list_organisations(struct tulay_client *c, const Tulay__V1__ListOrganisations *q,
			     Tulay__V1__Response **out)
{
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_ORGANISATIONS;
	req.list_organisations = (Tulay__V1__ListOrganisations *)q;
	return call_expect(c, &req, TULAY__V1__RESPONSE__BODY_ORGANISATIONS, out);
}

int tulay_create_claim(struct tulay_client *c, const Tulay__V1__CreateClaim *claim,
		       Tulay__V1__Response **out)
{
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	req.create_claim = (Tulay__V1__CreateClaim *)claim;
	return call_expect(c, &req, TULAY__V1__RESPONSE__BODY_CLAIM, out);
}

int tulay_get_claim(struct tulay_client *c, const char *reference, const char *organisation,
		    Tulay__V1__Response **out)
{
	Tulay__V1__GetClaim get = TULAY__V1__GET_CLAIM__INIT;
	get.reference = or_empty(reference);
	get.organisation = or_empty(organisation);
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_CLAIM;
	req.get_claim = &get;
	return call_expect(c, &req, TULAY__V1__RESPONSE__BODY_CLAIM, out);
}

int tulay_list_claims(struct tulay_client *c, const Tulay__V1__ListClaims *q,
		      Tulay__V1__Response **out)
{
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_CLAIMS;
	req.list_claims = (Tulay__V1__ListClaims *)q;
	return call_expect(c, &req, TULAY__V1__RESPONSE__BODY_CLAIMS, out);
}
