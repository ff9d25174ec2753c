/* tulayd's counters, and the text endpoint that publishes them (--metrics-port): requests
 * by type and code, their latency, connections by state, the database pools' waits and
 * reads on a standby, in Prometheus' text exposition format (version 0.0.4) over a
 * minimal HTTP/1.0 exchange on a listener of its own, on loopback unless told otherwise.
 * `tulayd stats` fetches and prints it. Counting is a few additions on the loop; a scrape
 * walks the connections. */
#ifndef TULAYD_METRICS_H
#define TULAYD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "db.h"
#include "dispatch.h"

#define METRICS_TYPES       64 /* handlers, and one for requests no handler took */
#define METRICS_CODES       17 /* tulay.v1.Code */
#define METRICS_BUCKETS     12
#define METRICS_SCRAPES_MAX 8 /* scrapes served at once; more are closed at once */

struct server;
struct handler;
struct metrics_scrape;

struct metrics {
	uint64_t requests[METRICS_TYPES][METRICS_CODES];
	uint64_t latency[METRICS_BUCKETS + 1]; /* per bucket (not cumulative); last: +Inf */
	uint64_t latency_ms_sum;
	uint64_t db_jobs;           /* jobs of requests the primary's pool ran or refused */
	uint64_t db_jobs_waited;    /* of which waited for a connection */
	uint64_t db_wait_ms_sum;    /* how long they waited in all */
	uint64_t db_busy;           /* refused: every connection taken for the queue timeout */
	uint64_t db_unavailable;    /* failed: the database could not be reached, or broke */
	uint64_t standby_reads;     /* reads a standby served (--db-replica) */
	uint64_t standby_fallbacks; /* reads sent to a standby that the primary served */
	uint64_t conns_accepted;
	uint64_t conns_refused; /* at max_connections, or past the strangers' caps */

	uv_tcp_t listener;
	bool listening;
	struct metrics_scrape *scrapes;
	unsigned nscrapes;
};

/* Upper bounds of the latency buckets, in milliseconds. */
extern const unsigned metrics_bucket_ms[METRICS_BUCKETS];

/* Counting happens where the event does, in a few additions: these are inline. */

/* A request ended: its handler (NULL: none took it), code and time. */
static inline void metrics_request(struct metrics *m, const struct handler *h, int code,
				   uint64_t ms)
{
	unsigned type = h != NULL ? dispatch_index(h) : METRICS_TYPES - 1;
	if (type >= METRICS_TYPES - 1)
		type = METRICS_TYPES - 1;
	m->requests[type][code >= 0 && code < METRICS_CODES ? code : 2 /* UNKNOWN */]++;
	unsigned b = 0;
	while (b < METRICS_BUCKETS && ms > metrics_bucket_ms[b])
		b++;
	m->latency[b]++;
	m->latency_ms_sum += ms;
}

/* A request's job on the primary's pool ended with `outcome` after waiting `waited_ms`. */
static inline void metrics_db_job(struct metrics *m, enum db_outcome outcome, uint64_t waited_ms)
{
	m->db_jobs++;
	m->db_jobs_waited += waited_ms > 0;
	m->db_wait_ms_sum += waited_ms;
	m->db_busy += outcome == DB_BUSY;
	m->db_unavailable += outcome == DB_UNAVAILABLE;
}

/* Listens on cfg->metrics_listen:metrics_port when the port is set. 0, or a libuv error
 * (logged). */
int metrics_listen(struct server *srv);

/* Closes the listener and every scrape under way (tulayd is stopping). */
void metrics_close(struct server *srv);

/* `tulayd stats`: fetches the endpoint of a running tulayd and prints it. Blocking: a
 * command run from a shell, never inside the loop. Returns the exit code. */
int metrics_stats_command(const struct config *cfg, int argc, char **argv);

#endif
