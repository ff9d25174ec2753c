/* A client connection: TLS, framing, limits, deadlines and backpressure.
 *
 * Input goes into the connection's own buffer, which grows only up to the current frame
 * limit (small before login). Reading stops while the connection has too many requests in
 * flight or too many response bytes unsent, and resumes when both fall below their caps.
 *
 * With TLS, libuv reads ciphertext into the server's scratch buffer, which goes straight
 * into the connection's OpenSSL read BIO (at most TLS_BUFFERED_MAX bytes held there);
 * the decrypt step then moves plaintext into the input buffer, never more than it can
 * hold. The decrypt step runs whenever input is processed, so plaintext already inside
 * OpenSSL is picked up when a paused connection resumes, without waiting for the socket.
 * Responses are encrypted into the write BIO, whose bytes are queued with uv_write.
 *
 * One timer per connection enforces the deadlines: the TLS handshake, Hello plus a
 * successful login, idle time, and write progress while responses are unsent.
 *
 * A connection is freed only in the close callback of its last handle; requests still in
 * flight when it closes are detached (their `conn` set to NULL) and finish silently. */
#ifndef TULAYD_CONN_H
#define TULAYD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "strangers.h"
#include "throttle.h"
#include "tls.h"

struct conn_transport;

struct server;
struct request;

/* Who is logged in on a connection, set by Login/Authenticate. */
struct conn_session {
	bool authenticated;
	int64_t user_id;
	int64_t org_id;
	int role; /* Tulay__V1__Role */
	int64_t expires_at;
	char username[72];
	char org_acronym[24];
	uint8_t token_hash[32];
};

/* Where a connection is on its way from accept to close; it only moves down this list. */
enum conn_state {
	CONN_OPEN,       /* reading frames and answering them */
	CONN_FINISHING,  /* a fatal error reply is queued: no new request, writes drain */
	CONN_DISCARDING, /* replies written, half-closed: read and drop until EOF or linger */
	CONN_CLOSING,    /* handles closing; nothing more is done */
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer; /* the deadlines; the linger after a refused frame */
	struct server *srv;
	struct conn *prev, *next;
	uint64_t id;
	char peer[64];
	struct throttle_addr source;   /* the client's address, for the login throttle */
	struct stranger_link stranger; /* until it first logs in (strangers.h) */
	bool heard;                    /* it has sent something */
	/* How bytes cross the socket: conn_plaintext, or conn_tls (tls.c), chosen at
	 * accept. conn.c calls through it wherever the two differ. */
	const struct conn_transport *transport;
	struct tls_conn tls;   /* tls.ssl is NULL on a plaintext connection */
	bool peer_closed;      /* the peer said goodbye (TLS close_notify): close once the
				* input before it is used */
	uint8_t *proxy_header; /* --proxy-protocol: the header read so far (proxy.c), or NULL */
	size_t proxy_len;

	/* Deadlines and clocks, in uv_now() milliseconds; 0: none. */
	uint64_t opened_ms;       /* accepted: the handshake deadline counts from here */
	uint64_t login_due_ms;    /* while not logged in */
	uint64_t last_request_ms; /* a request arrived or ended: the idle clock */
	uint64_t last_write_ms;   /* a write completed, or was queued when none was */
	uint64_t timer_due_ms;    /* when the timer fires */

	uint8_t *in;
	size_t in_len, in_cap;

	unsigned inflight;
	size_t out_bytes; /* queued in uv_write and not yet written */
	unsigned out_writes;
	struct request *requests; /* in flight, for detaching on close */

	bool reading;
	bool in_process; /* inside conn_process_input: do not re-enter */
	bool barrier;    /* a Hello/Login/Authenticate/Logout runs: hold later frames */
	bool hello_done;
	bool goaway_sent; /* draining: the connection-level GoAway is queued */
	enum conn_state state;
	int handles_open;

	struct conn_session session;
};

/* True when the client has sent nothing: nothing read, and nothing waiting in the socket
 * (a peek that never blocks). A client that speaks at once is not silent even before its
 * first bytes are read. */
bool conn_silent(const struct conn *c);

/* Accepts a pending connection on the listener (or refuses it when at max_connections). */
void conn_accept(struct server *srv);

/* Names the client: its address for the caps and throttles, and `peer` in logs. */
void conn_set_peer(struct conn *c, const struct sockaddr *addr);

/* Admits a connection whose client is named: the caps on strangers and on connections
 * (which may close it, or others), then TLS if configured, then reading. 0, or -1 when c
 * was closed. */
int conn_admit(struct conn *c);

/* Frames `msg` and queues it for writing. Returns 0, or -1 if the connection is closing or
 * the write failed (the connection is then closed). Never frees the connection. */
int conn_send(struct conn *c, const ProtobufCMessage *msg);

/* After a fatal protocol error reply has been queued: stop reading requests, close once
 * the reply is written. */
void conn_close_after_reply(struct conn *c);

/* Closes the connection (idempotent). `reason` is logged. Requests in flight are detached.
 * The memory is freed later, in the last close callback. */
void conn_close(struct conn *c, const char *reason);

/* A request of this connection ended: updates the counters and, if reading was paused or
 * frames were held, carries on with the buffered input. */
void conn_request_ended(struct conn *c, bool was_barrier);

/* Re-evaluates whether the connection should be reading and when its timer must fire
 * next. Can close the connection (a libuv failure). */
void conn_update_reading(struct conn *c);

/* The server is draining: once nothing of the connection is in flight, tells the client
 * with a GoAway (Response id 0, UNAVAILABLE, REQUEST_SHUTTING_DOWN) to reconnect
 * elsewhere; the connection stays open, every request read is answered UNAVAILABLE under
 * its id, and it closes when the client closes it or after CONN_DRAIN_QUIET_MS without a
 * request (or at the drain deadline). Can close the connection. */
void conn_drain(struct conn *c);

#endif
