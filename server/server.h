/* The tulayd process: one libuv loop, a listener, the client connections and the
 * database pool, and the orderly shutdown that ties them together. */
#ifndef TULAYD_SERVER_H
#define TULAYD_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "chore.h"
#include "metrics.h"
#include "strangers.h"
#include "throttle.h"
#include "tls.h"

struct conn;
struct db_pool;
struct request;

struct server {
	uv_loop_t loop;
	struct config cfg;
	uv_tcp_t listener;
	uv_signal_t sigterm, sigint;
	uv_timer_t drain_timer;
	uv_prepare_t log_flusher; /* writes the turn's held log lines (log_hold) */
	uv_timer_t pace_timer;    /* response streams waiting for their client (request_pace) */
	struct request *parked;
	struct db_pool *db;
	struct db_pool *replica; /* --db-replica: a standby for reports and lists, or NULL */
	/* The single-writer work kept off the request path (chore.h). */
	struct chore report_refresh, case_numbering, audit_seal, report_fold;
	SSL_CTX *tls_ctx; /* NULL: plaintext (loopback only) */
	/* Where libuv reads ciphertext; each read goes into its connection's BIO at once. */
	uint8_t tls_read_buf[TLS_BUFFERED_MAX];
	struct login_throttle login_throttle;
	struct strangers strangers; /* connections that have not logged in yet */
	struct metrics metrics;
	struct conn *conns; /* every open connection, doubly linked */
	unsigned nconns;
	unsigned requests_in_flight; /* including those whose connection is gone */
	uint64_t next_conn_id;
	uint64_t next_request_seq;
	bool draining;
	uint64_t drain_started_ms;
	bool stopped; /* handles are being closed */
	int signals;
};

/* Runs tulayd with `cfg` until SIGTERM/SIGINT and an orderly drain. Returns the process
 * exit code: 0 after a clean shutdown (every handle closed, uv_loop_close succeeded). */
int server_run(const struct config *cfg);

/* Closes every remaining handle so that uv_run returns (once). */
void server_stop(struct server *srv);

/* Called whenever a request ends, a write completes or a connection closes: once draining
 * and no connection is left (each closes when its client goes, or once quiet after the
 * GoAway: conn.c), nor anything in flight or unsent, closes everything so the loop can
 * end. */
static inline void server_check_drained(struct server *srv)
{
	if (srv->draining && !srv->stopped && srv->requests_in_flight == 0 && srv->nconns == 0)
		server_stop(srv);
}

#endif
