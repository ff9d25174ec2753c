/* libtulay: connecting. Resolves the server's name, tries each address within the
 * deadline, starts TLS (memory BIOs, the certificate checked against the CA file and the
 * host name) and says Hello; tulay_connect and tulay_connect_tls are the public ends. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"

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
		client_error(c, "connection to %s refused", c->server);
	else if (err == ENETUNREACH || err == EHOSTUNREACH)
		client_error(c, "no route to %s", c->server);
	else
		client_error(c, "cannot connect to %s: %s", c->server, strerror(err));
	return TULAY_E_CONNECT;
}

/* Connects a non-blocking socket to one address; on success c->fd is the socket. */
static int try_address(struct tulay_client *c, const struct addrinfo *ai, int64_t deadline)
{
	c->fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (c->fd < 0) {
		client_error(c, "cannot create a socket: %s", strerror(errno));
		return TULAY_E_IO;
	}
	int rc = 0;
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS && errno != EINTR) {
			rc = connect_error_code(c, errno);
			goto out;
		}
		rc = client_wait(c, POLLOUT, deadline);
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
		client_error(c, "cannot set TCP_NODELAY: %s", strerror(errno));
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
		client_error(c, "'%s' is not a server address: use HOST, HOST:PORT or [IPv6]:PORT",
			     c->server);
	if (rc < 0)
		return rc == TULAY_E_NOMEM ? client_nomem(c) : rc;
	const char *host = c->host;

	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *addrs = NULL;
	int gai = getaddrinfo(host, port, &hints, &addrs);
	if (gai != 0) {
		client_error(c, "cannot resolve %s: %s", host,
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
		client_error(c, "the TLS certificate of %s is not for %s: %s", c->server, c->host,
			     why);
	else
		client_error(c, "the TLS certificate of %s is not trusted by the CA file %s: %s",
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
		return client_nomem(c);
	if (SSL_CTX_set_min_proto_version(c->tls_ctx, TLS1_3_VERSION) != 1) {
		client_error(c, "this OpenSSL has no TLS 1.3");
		return TULAY_E_TLS;
	}
	SSL_CTX_set_verify(c->tls_ctx, SSL_VERIFY_PEER, NULL);
	FILE *f = fopen(ca_file, "r");
	if (f == NULL) {
		client_error(c, "cannot read the CA file %s: %s", ca_file, strerror(errno));
		return TULAY_E_USAGE;
	}
	fclose(f);
	if (SSL_CTX_load_verify_locations(c->tls_ctx, ca_file, NULL) != 1) {
		client_error(c, "the CA file %s holds no PEM certificate", ca_file);
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
		return client_nomem(c);
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
		client_error(c, "cannot check certificates for the host %s", c->host);
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
			(void)client_tls_flush(c, deadline); /* the alert: the server logs why */
			ERR_clear_error();
			return verify_failed(c, verify, ca_file);
		}
		int rc = client_tls_step_failed(c, hs, "connecting", deadline);
		if (rc < 0)
			return rc;
	}
	return client_tls_flush(c, deadline);
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
	int rc = client_call_until(c, &req, deadline, &resp);
	if (rc < 0)
		return rc;
	if (resp->status->code != TULAY__V1__CODE__OK) {
		client_error(c, "%s refused the connection: %s: %s", c->server,
			     tulay_code_name(resp->status->code), resp->status->message);
		rc = TULAY_E_PROTOCOL;
	} else if (resp->body_case != TULAY__V1__RESPONSE__BODY_HELLO) {
		client_error(c, "%s did not answer Hello with a HelloReply", c->server);
		rc = TULAY_E_PROTOCOL;
	} else if (resp->hello->protocol_version != TULAY_PROTOCOL_VERSION) {
		client_error(c, "%s speaks protocol version %u, this client version %d", c->server,
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

/* Back to before open_socket: the attempt's socket and TLS state go. */
static void drop_attempt(struct tulay_client *c)
{
	SSL_free(c->ssl); /* and its BIOs */
	c->ssl = NULL;
	c->rbio = c->wbio = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->host);
	c->host = NULL;
	c->in_len = 0;
}

/* The i-th address of a comma-separated list, newly allocated (NULL: out of memory). */
static char *nth_server(const char *list, size_t i)
{
	const char *p = list;
	for (; i > 0; i--)
		p = strchr(p, ',') + 1;
	return strndup(p, strcspn(p, ","));
}

static size_t count_servers(const char *list)
{
	size_t n = 1;
	for (const char *p = list; (p = strchr(p, ',')) != NULL; p++)
		n++;
	return n;
}

/* Connects to the server c->server_at and says Hello. A connection closed before Hello
 * was answered (a server making room for connections that have said nothing, which cannot
 * tell a client that has not spoken yet from one that never will; or one going away) is
 * made again until the deadline, with the pauses of tulay_call's resends (at most
 * TULAY_BACKOFF_CAP_MS): Hello changes nothing. */
static int open_one(struct tulay_client *c, int64_t deadline)
{
	free(c->server);
	c->server = nth_server(c->servers, c->server_at);
	if (c->server == NULL)
		return client_nomem(c);
	int rc = 0;
	for (unsigned attempt = 1; rc == 0; attempt++) {
		rc = open_socket(c, deadline);
		if (rc == 0 && c->ca_file != NULL)
			rc = tls_start(c, c->ca_file, deadline);
		if (rc == 0)
			rc = say_hello(c, c->client_name, deadline);
		if (rc != TULAY_E_CLOSED)
			break;
		unsigned delay = tulay_backoff_ms(attempt, client_jitter(c));
		if (client_deadline((int)delay) >= deadline)
			break;
		drop_attempt(c);
		client_pause_ms(delay);
		rc = 0;
	}
	if (rc == TULAY_E_CLOSED && c->ca_file == NULL)
		client_error(c,
			     "%s closed the connection at once: if it talks TLS, give its CA file",
			     c->server);
	return rc;
}

/* Connects to the first of the servers, from c->server_at on and in turn, that answers
 * Hello. A server that cannot be reached (or refuses, or closes) makes way for the next;
 * a mistake of the caller's (an address that is not one, a CA file that cannot be read)
 * or running out of memory stops. */
static int open_any(struct tulay_client *c, int64_t deadline)
{
	int rc = TULAY_E_CONNECT;
	for (size_t tried = 0; tried < c->n_servers; tried++) {
		rc = open_one(c, deadline);
		if (rc == 0 || rc == TULAY_E_USAGE || rc == TULAY_E_NOMEM)
			break;
		drop_attempt(c);
		if (tried + 1 < c->n_servers)
			c->server_at = (c->server_at + 1) % c->n_servers;
	}
	return rc;
}

int client_remember_session(struct tulay_client *c, const char *token)
{
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	c->token = NULL;
	if (token == NULL || token[0] == '\0')
		return 0;
	c->token = strdup(token);
	return c->token != NULL ? 0 : client_nomem(c);
}

int client_reconnect(struct tulay_client *c, int64_t deadline)
{
	drop_attempt(c);
	for (size_t i = 0; i < c->held_len; i++)
		tulay__v1__response__free_unpacked(c->held[i], NULL);
	c->held_len = 0;
	if (c->hello != NULL)
		tulay__v1__response__free_unpacked(c->hello, NULL);
	c->hello = NULL;
	c->server_at = (c->server_at + 1) % c->n_servers;
	int rc = open_any(c, deadline);
	if (rc < 0 || c->token == NULL)
		return rc;
	Tulay__V1__Authenticate auth = TULAY__V1__AUTHENTICATE__INIT;
	auth.session_token = c->token;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_AUTHENTICATE;
	req.authenticate = &auth;
	Tulay__V1__Response *resp = NULL;
	rc = client_call_until(c, &req, deadline, &resp);
	if (rc == 0 && resp->status->code != TULAY__V1__CODE__OK) {
		client_error(c, "%s did not take the session again: %s: %s", c->server,
			     tulay_code_name(resp->status->code), resp->status->message);
		rc = resp->status->code == TULAY__V1__CODE__UNAVAILABLE ? TULAY_E_CLOSED
									: TULAY_E_PROTOCOL;
	}
	tulay_response_free(resp);
	return rc;
}

/* tulay_connect and tulay_connect_tls: TLS when ca_file is not NULL. */
static int connect_to(const char *servers, const char *ca_file, int timeout_ms,
		      const char *client_name, struct tulay_client **out)
{
	struct tulay_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return client_nomem(NULL);
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	c->max_attempts = TULAY_DEFAULT_MAX_ATTEMPTS;
	c->jitter = jitter_seed(c);
	c->servers = strdup(servers);
	c->client_name = strdup(client_name);
	c->ca_file = ca_file != NULL ? strdup(ca_file) : NULL;
	int rc;
	if (c->servers == NULL || c->client_name == NULL ||
	    (ca_file != NULL && c->ca_file == NULL)) {
		rc = client_nomem(NULL);
		goto out;
	}
	c->n_servers = count_servers(servers);
	rc = ca_file != NULL ? tls_context(c, ca_file) : 0;
	if (rc == 0)
		rc = open_any(c, client_deadline(timeout_ms));
	if (rc < 0)
		client_error(NULL, "%s", c->error);
out:
	if (rc < 0)
		tulay_close(c);
	else
		*out = c;
	return rc;
}

static bool one_is_loopback(const char *server)
{
	char *host = NULL;
	char port[8];
	if (split_server(server, &host, port, sizeof(port)) != 0)
		return false;
	struct in_addr v4;
	struct in6_addr v6;
	bool loopback = strcmp(host, "localhost") == 0 ||
			(inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) ||
			(inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6));
	free(host);
	return loopback;
}

bool tulay_server_is_loopback(const char *server)
{
	if (server == NULL)
		return false;
	size_t n = count_servers(server);
	for (size_t i = 0; i < n; i++) {
		char *one = nth_server(server, i);
		bool loopback = one != NULL && one_is_loopback(one);
		free(one);
		if (!loopback)
			return false;
	}
	return true;
}

/* The arguments every connect needs; false (after saying why) when one is missing. */
static bool connect_arguments_ok(const char *server, int timeout_ms, const char *client_name,
				 struct tulay_client **out)
{
	if (out == NULL)
		return false;
	*out = NULL;
	if (server == NULL || client_name == NULL || timeout_ms <= 0) {
		client_error(NULL, "connecting needs a server, a client name and a timeout");
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
		client_error(NULL,
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
		client_error(NULL, "TLS needs the CA file that signed the server's certificate");
		return TULAY_E_USAGE;
	}
	return connect_to(server, ca_file, timeout_ms, client_name, out);
}
