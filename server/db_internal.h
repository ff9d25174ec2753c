/* db.c's insides, shared by db.c (jobs, handles, running jobs and merged batches, the
 * queue) and db_connect.c (the pool's start and close, connecting and reconnecting). Only
 * these two include it. Their functions are named db_ (the pool and its jobs) and dbc_ (one
 * connection). */
#ifndef TULAY_DB_INTERNAL_H
#define TULAY_DB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

#define DB_BACKOFF_MIN_MS     100
#define DB_BACKOFF_MAX_MS     2000
#define DB_CONNECT_TIMEOUT_MS 5000
#define DB_SWEEP_MS           100

enum db_conn_state {
	DBC_DOWN,       /* waiting for the backoff timer */
	DBC_RESOLVING,  /* host name lookup on the thread pool */
	DBC_CONNECTING, /* PQconnectPoll steps */
	DBC_PREPARING,  /* statements being prepared */
	DBC_READY,      /* idle, takes the next job */
	DBC_BUSY,       /* a job in flight */
	DBC_CLOSED,
};

/* The poll handle of one libpq socket. It lives on the heap, apart from its connection,
 * because libpq may replace the socket while connecting (next address, SSL fallback) and
 * a new socket may even reuse the old fd number: a fresh handle is made for every connect
 * step, and the old one is freed in its close callback. */
struct db_watch {
	uv_poll_t poll;
	struct db_conn *conn; /* NULL once stale */
};

struct db_conn {
	struct db_pool *pool;
	unsigned index;
	enum db_conn_state state;
	PGconn *pg;
	struct db_watch *watch;
	int watch_events;
	uv_timer_t timer; /* backoff, connect deadline */
	uv_getaddrinfo_t resolver;
	bool resolving;
	char *hosts;         /* "name,name": the host name once per resolved address, or the
			      * connection string's hosts, rotated (struct db_hosts) */
	char *hostaddrs;     /* "addr1,addr2": libpq tries them in turn */
	char *ports;         /* the connection string's ports, rotated with the hosts */
	unsigned host_start; /* the host its attempts start with: one further on after each
			      * attempt that failed (struct db_hosts) */
	unsigned backoff_ms;

	/* What is in flight: the prepares (DBC_PREPARING), or jobs (DBC_BUSY): one job
	 * alone, or a batch of them in one transaction. */
	struct db_job *jobs[DB_MAX_BATCH];
	unsigned njobs;
	int query_index; /* counts every result sequence: BEGIN, each query, COMMIT */
	bool query_open; /* results of query_index seen; the NULL that ends them is not */
	bool prepare_failed;
	unsigned syncs_left;  /* PIPELINE_SYNC results still to come */
	bool batch_failed;    /* an error in the batch: it rolled back */
	bool batch_committed; /* the batch's COMMIT answered COMMIT */

	/* A merged batch in flight: its one query, the memory of its parameters, and its
	 * result. */
	bool merged;
	struct db_query merge_query;
	char *merge_buf;
	PGresult *merge_result;
};

/* A connection string naming several hosts. libpq tries them in order, and in non-blocking
 * mode its connect_timeout does not apply: a first host that drops packets (a machine gone,
 * not a server refusing) would hold every attempt until our connect deadline, so that the
 * others were never tried. After an attempt that failed, a connection's next one therefore
 * starts one host further on (db_conn.host_start); one that succeeded keeps its order. */
struct db_hosts {
	unsigned n;                   /* hosts named; < 2: no rotation */
	char *host, *hostaddr, *port; /* the lists as given (NULL: not given) */
};

struct db_pool {
	uv_loop_t *loop;
	char *conninfo;
	struct db_hosts hosts;
	char *resolve_host; /* host name to look up before each connect, or NULL */
	char *options;      /* server settings sent at connect (the user's, then ours) */
	struct db_pool_options opts;
	struct db_conn *conns;
	struct db_job *queue_head, *queue_tail;
	unsigned queued; /* jobs in the queue */
	uv_timer_t sweep;
	uv_timer_t kick;
	bool closing;
	unsigned open_handles; /* handles and requests whose close callback has not run */
	void (*closed)(void *arg);
	void *closed_arg;
};

/* Fails the queued jobs whose queue timeout passed (expired_only), or all of them. */
void db_pool_fail_queue(struct db_pool *pool, bool expired_only);
/* The pool's timers: the sweep of timed-out jobs and queries, and the kick that starts
 * queued jobs from the loop. */
void db_pool_on_sweep(uv_timer_t *t);
void db_pool_on_kick(uv_timer_t *t);
/* The close callback of a pool's timer. */
void db_timer_on_close(uv_handle_t *h);

/* --- db_connect.c ----------------------------------------------------------------------- */

/* Keeps copies of the connection string's host, hostaddr and port lists when it names
 * several hosts. 0, or -ENOMEM. */
int db_hosts_init(struct db_hosts *h, const char *host, const char *hostaddr, const char *port);
void db_hosts_free(struct db_hosts *h);

/* --- db.c ----------------------------------------------------------------------------- */

uint64_t db_pool_now(const struct db_pool *pool);
/* Hands the job its outcome (its done callback). */
void db_job_finish(struct db_job *job, enum db_outcome outcome);
/* One of the pool's handles or requests has closed; the last one after db_pool_close
 * frees the pool. */
void db_pool_handle_closed(struct db_pool *pool);
/* Watches the libpq socket for `events`: a fresh poll handle when `fresh` (each connect
 * step) or when there is none. 0, or -1. */
int dbc_watch(struct db_conn *c, int events, bool fresh);
/* Drops the connection, fails its jobs and schedules a reconnect; always -1. */
int dbc_lost(struct db_conn *c, const char *reason);
/* Handles the socket's `events` in c's state; 0, or -1 when c was lost. */
int dbc_service(struct db_conn *c, int events);
/* Flushes libpq's output and watches for what comes next; 0, or -1 when c was lost. */
int dbc_flush_and_watch(struct db_conn *c);
/* Sends jobs (one, or a batch in one transaction) on the idle connection c. */
int dbc_start_jobs(struct db_conn *c, struct db_job **jobs, unsigned njobs);
/* Puts the jobs of a batch that failed back at the head of the queue, each to run alone. */
void db_pool_requeue_alone(struct db_pool *pool, struct db_job **jobs, unsigned njobs);

/* Fails the queued jobs whose queue timeout passed (expired_only), or all of them. */
void db_pool_fail_queue(struct db_pool *pool, bool expired_only);
/* The pool's timers: the sweep of timed-out jobs and queries, and the kick that starts
 * queued jobs from the loop. */
void db_pool_on_sweep(uv_timer_t *t);
void db_pool_on_kick(uv_timer_t *t);
/* The close callback of a pool's timer. */
void db_timer_on_close(uv_handle_t *h);

/* --- db_connect.c ----------------------------------------------------------------------- */

/* Starts c's first connection (resolving the host first when the pool must). */
void dbc_begin(struct db_conn *c);
/* Connects again after the backoff, which doubles up to DB_BACKOFF_MAX_MS. */
void dbc_schedule_reconnect(struct db_conn *c);
/* Takes one PQconnectPoll step's status; 0, or -1 when c was lost. */
int dbc_connect_step(struct db_conn *c, PostgresPollingStatusType st);

/* --- db.c: merged batches ---------------------------------------------------------------- */

/* Whether job can join a merged batch that starts with `first`. */
bool db_merge_fits(const struct db_job *job, const struct db_job *first);
/* Sends jobs as their merge's one statement on the idle connection c. */
int dbc_start_merged(struct db_conn *c, struct db_job **jobs, unsigned n);
/* The merged statement has answered: each job gets its part, or they run again alone. */
void dbc_merged_done(struct db_conn *c, struct db_job **jobs, unsigned njobs);
/* Forgets the merged batch in flight, if any. */
void dbc_merge_clear(struct db_conn *c);

#endif
