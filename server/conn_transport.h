/* The seam between a connection (conn.c) and how its bytes cross the socket: plaintext
 * (conn.c) or TLS (tls.c). Each transport is a table of these operations, chosen at
 * accept; conn.c never asks which one it has. */
#ifndef TULAYD_CONN_TRANSPORT_H
#define TULAYD_CONN_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct conn;

/* One write in flight: a frame (plaintext) or ciphertext (TLS), freed when written. */
struct conn_write {
	uv_write_t req;
	struct conn *conn;
	size_t len;
	uint8_t data[];
};

struct conn_transport {
	const char *name;
	/* Where libuv reads the socket's next bytes into. */
	void (*alloc)(struct conn *c, uv_buf_t *buf);
	/* Whether it takes more bytes now (TLS: room in the read BIO, no close_notify yet). */
	bool (*has_room)(const struct conn *c);
	/* Whether the handshake is still under way (its deadline applies). */
	bool (*handshaking)(const struct conn *c);
	/* Bytes received and not yet in the input buffer. */
	size_t (*held)(const struct conn *c);
	/* Takes n bytes read into buf: 0, or -1 after closing the connection. */
	int (*received)(struct conn *c, const char *buf, size_t n);
	/* Moves what it holds into the input buffer (TLS: handshake, decrypt). True when it
	 * stopped because the buffer was full, so that it may hold more. May close. */
	bool (*pump)(struct conn *c);
	/* Sends one frame, taking w over: 0, or -1 after closing the connection. */
	int (*send)(struct conn *c, struct conn_write *w);
	/* Says goodbye before the half-close after a fatal error: 0, or -1 after closing. */
	int (*goodbye)(struct conn *c);
};

extern const struct conn_transport conn_plaintext;
/* --proxy-protocol: reads the PROXY v2 header that names the client, then hands the
 * connection to conn_admit (proxy.c). */
extern const struct conn_transport conn_proxy_header;

/* Queues w (data and len filled in) with uv_write and takes it over: 0, or -1 after
 * closing the connection. */
int conn_queue_write(struct conn *c, struct conn_write *w);

/* Makes c a TLS connection (tls.c): 0, or -1 after closing it. */
int conn_tls_start(struct conn *c);

#endif
