/* The PROXY protocol, version 2 (HAProxy's send-proxy-v2; www.haproxy.org/download/2.6/doc/
 * proxy-protocol.txt), as the first transport of a connection when --proxy-protocol is 1:
 * behind a proxy every connection comes from the proxy's address, so the caps on
 * connections that have not logged in, the login throttle and the logs would count all
 * clients as one. The proxy first sends a binary header naming the client; this transport
 * reads exactly that header (never a byte of what follows), names the client
 * (conn_set_peer) and hands the connection to conn_admit, which starts TLS if configured.
 * A connection that does not start with a valid header is closed: with the setting on, only
 * the proxy may reach tulayd. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "conn_transport.h"
#include "log.h"
#include "server.h"

#define PROXY_FIXED 16  /* signature, version and command, family, length */
#define PROXY_MAX   536 /* the fixed part and the longest addresses with room for TLVs */
#define PROXY_LOCAL 0x20
#define PROXY_PROXY 0x21
#define PROXY_TCP4  0x11
#define PROXY_TCP6  0x21

static const uint8_t proxy_signature[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
					    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* How long the whole header is, once its fixed part is in; 0 before. */
static size_t proxy_header_len(const struct conn *c)
{
	if (c->proxy_len < PROXY_FIXED)
		return 0;
	return PROXY_FIXED + ((size_t)c->proxy_header[14] << 8 | c->proxy_header[15]);
}

static void proxy_alloc(struct conn *c, uv_buf_t *buf)
{
	if (c->proxy_header == NULL)
		c->proxy_header = malloc(PROXY_MAX);
	size_t want = c->proxy_len < PROXY_FIXED ? PROXY_FIXED : proxy_header_len(c);
	if (c->proxy_header == NULL || want > PROXY_MAX) {
		*buf = uv_buf_init(NULL, 0); /* UV_ENOBUFS: received() refuses it below */
		return;
	}
	/* Only what the header still lacks: the bytes after it stay in the socket for the
	 * transport that follows (TLS, or plaintext frames). */
	*buf = uv_buf_init((char *)c->proxy_header + c->proxy_len, (unsigned)(want - c->proxy_len));
}

static int proxy_refuse(struct conn *c, const char *reason)
{
	log_warn("event=proxy_header_invalid conn=%llu peer=%s reason=%s",
		 (unsigned long long)c->id, c->peer, reason);
	conn_close(c, "proxy_header_invalid");
	return -1;
}

/* Names the client from a complete header; a LOCAL header (the proxy's own health check)
 * or an address family other than TCP over IPv4 or IPv6 keeps the proxy's address. */
static void proxy_name_client(struct conn *c)
{
	const uint8_t *h = c->proxy_header;
	size_t addr_len = proxy_header_len(c) - PROXY_FIXED;
	if (h[12] != PROXY_PROXY)
		return;
	if (h[13] == PROXY_TCP4 && addr_len >= 12) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		memcpy(&a.sin_addr, h + 16, 4);
		memcpy(&a.sin_port, h + 24, 2);
		conn_set_peer(c, (struct sockaddr *)&a);
	} else if (h[13] == PROXY_TCP6 && addr_len >= 36) {
		struct sockaddr_in6 a = {.sin6_family = AF_INET6};
		memcpy(&a.sin6_addr, h + 16, 16);
		memcpy(&a.sin6_port, h + 48, 2);
		conn_set_peer(c, (struct sockaddr *)&a);
	}
}

static int proxy_received(struct conn *c, const char *buf, size_t n)
{
	(void)buf; /* read into c->proxy_header by proxy_alloc */
	if (c->proxy_header == NULL)
		return proxy_refuse(c, "out_of_memory");
	c->proxy_len += n;
	size_t sig =
	    c->proxy_len < sizeof(proxy_signature) ? c->proxy_len : sizeof(proxy_signature);
	if (memcmp(c->proxy_header, proxy_signature, sig) != 0)
		return proxy_refuse(c, "no_signature");
	if (c->proxy_len < PROXY_FIXED)
		return 0;
	uint8_t command = c->proxy_header[12];
	if (command != PROXY_LOCAL && command != PROXY_PROXY)
		return proxy_refuse(c, "version_or_command");
	if (proxy_header_len(c) > PROXY_MAX)
		return proxy_refuse(c, "too_long");
	if (c->proxy_len < proxy_header_len(c))
		return 0;
	char proxy[sizeof(c->peer)];
	memcpy(proxy, c->peer, sizeof(proxy));
	proxy_name_client(c);
	log_info("event=conn_proxied conn=%llu peer=%s proxy=%s", (unsigned long long)c->id,
		 c->peer, proxy);
	free(c->proxy_header);
	c->proxy_header = NULL;
	c->proxy_len = 0;
	c->transport = &conn_plaintext; /* conn_admit starts TLS if configured */
	return conn_admit(c);
}

static bool proxy_has_room(const struct conn *c)
{
	(void)c;
	return true;
}

static bool proxy_handshaking(const struct conn *c)
{
	(void)c;
	return true; /* the handshake deadline covers the header too */
}

static size_t proxy_held(const struct conn *c)
{
	return c->proxy_len;
}

static bool proxy_pump(struct conn *c)
{
	(void)c;
	return false;
}

static int proxy_goodbye(struct conn *c)
{
	(void)c;
	return 0;
}

const struct conn_transport conn_proxy_header = {
    .name = "proxy_header",
    .alloc = proxy_alloc,
    .has_room = proxy_has_room,
    .handshaking = proxy_handshaking,
    .held = proxy_held,
    .received = proxy_received,
    .pump = proxy_pump,
    .send = conn_queue_write,
    .goodbye = proxy_goodbye,
};
