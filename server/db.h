/* The PostgreSQL pool: N asynchronous libpq connections driven by the event loop.
 *
 * A request hands the pool a `struct db_job` of up to DB_MAX_QUERIES prepared statements.
 * The pool sends them on one connection in pipeline mode followed by a single Sync, so
 * the job costs one round trip and its statements run in one implicit transaction: either
 * all of them take effect or none do. Under load, batchable jobs waiting together share one
 * transaction (see `batchable` below), and jobs of one merge's shape one statement (see
 * `merge`); each still gets its own outcome. Nothing here
 * blocks: connections are opened with
 * PQconnectStartParams/PQconnectPoll, host names are resolved on libuv's thread pool, and
 * every socket is watched by a uv_poll handle.
 *
 * Contract: after a successful db_pool_submit() the job's `done` callback runs exactly once, always
 * from the event loop and never from inside db_pool_submit(). Until then the job, its
 * parameter values and the memory they point to must stay valid and untouched. */
#ifndef TULAYD_DB_H
#define TULAYD_DB_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <uv.h>

#define DB_MAX_QUERIES 10
#define DB_MAX_PARAMS  40 /* the widest: claim_create_merged_details */
#define DB_MAX_BATCH   16 /* batchable jobs that may share one transaction */

struct db_statement {
	const char *name; /* prepared once per connection under this name */
	const char *sql;
};

enum db_outcome {
	DB_OK,          /* every query ran and the transaction committed */
	DB_QUERY_ERROR, /* results[failed_query] holds PostgreSQL's error; nothing committed */
	DB_UNAVAILABLE, /* PostgreSQL could not be reached in time, or the connection broke or
			 * timed out: see job->sent */
	DB_BUSY,        /* connections were up but all taken for the whole queue timeout: the
			 * job was never sent (job->sent is false), so nothing of it happened */
};

struct db_query {
	const char *statement;
	int nparams;
	const char *values[DB_MAX_PARAMS];
	int lengths[DB_MAX_PARAMS];
	int formats[DB_MAX_PARAMS];
};

/* A statement that does the work of several jobs of one shape at once (see "Merged
 * batches" in db.c). It takes one text[] parameter per parameter of the shape's queries,
 * in order, with one element per job (binary values as hex digits), and returns rows in
 * the jobs' order, each with its job's position (1, 2, ...) in its first column. */
#define DB_MERGE_MAX_PARTS 3
struct db_merge {
	const char *statement;    /* the merged statement, prepared like any other */
	const char *const *shape; /* the statements of each job, in order; NULL-terminated */
	/* Each part answers one of the job's queries: its columns are those after the
	 * column named `name` up to the next part's or the last; its rows, the job's one
	 * row, or (tagged) those whose second column holds `name`, as many as there are.
	 * The job's other queries get an empty result. */
	struct db_merge_part {
		int query;
		const char *name;
	} parts[DB_MERGE_MAX_PARTS];
	unsigned nparts;
	bool tagged;
	/* A job with no company goes as the merged statement too (of one element): its
	 * shape run query by query would do more than the merge does for it. */
	bool alone;
};

struct db_job {
	/* Set by the owner (db_job_reset, db_job_add, db_param_*). */
	struct db_query queries[DB_MAX_QUERIES];
	int nqueries;
	void (*done)(struct db_job *job, enum db_outcome outcome);
	/* The job may share its transaction with other batchable jobs queued with it (see
	 * "Batches" in db.c): it only inserts rows nobody else writes and reads, so it takes
	 * no lock another request could wait on, and it sets its own context first. The
	 * outcome stays the job's own: if any job of a batch fails, the batch rolls back and
	 * each of its jobs runs again alone. db_job_reset() clears it. */
	bool batchable;
	/* A batchable job whose queries have this merge's shape may be merged with others of
	 * the same shape waiting with it. db_job_reset() clears it. */
	const struct db_merge *merge;

	/* Set by the pool before `done` runs. The owner releases results with
	 * db_job_clear(). `sent` is true once the queries may have reached PostgreSQL: a write
	 * that fails with DB_UNAVAILABLE and sent=true has an unknown outcome. `waited_ms` is
	 * how long the job waited in the queue for a connection; for DB_BUSY, `queue_depth` is
	 * the number of jobs that were waiting when it gave up, itself included (0 otherwise). */
	PGresult *results[DB_MAX_QUERIES];
	int failed_query;
	bool sent;
	uint64_t waited_ms;
	unsigned queue_depth;

	/* Private to the pool. */
	struct db_job *next;
	uint64_t queued_at_ms;
	uint64_t deadline_ms;
};

struct db_pool_options {
	const char *conninfo; /* libpq connection string; copied */
	unsigned connections;
	/* While another connection runs mergeable jobs (db_job.merge), a free connection
	 * starts no batch of fewer mergeable jobs than this: they wait for more to queue or
	 * for that batch to end. 0 or 1 starts every job at once. */
	unsigned min_batch;
	/* A job not started within this fails: DB_BUSY while some connection is up (they
	 * were all taken), DB_UNAVAILABLE while none is (PostgreSQL cannot be reached). */
	unsigned queue_timeout_ms;
	unsigned query_timeout_ms; /* a job not finished within this fails and resets the conn */
	const struct db_statement *statements; /* prepared on every connection; the */
	unsigned nstatements;                  /* array must outlive the pool */
};

struct db_pool;

/* Empties the job for (re)use: no queries, no results. The job must not be in the pool. */
void db_job_reset(struct db_job *job);

/* Releases the job's results. Safe to call more than once. */
void db_job_clear(struct db_job *job);

/* Appends a query on prepared statement `statement` and returns it for its parameters.
 * Asserts on more than DB_MAX_QUERIES: the number of queries is fixed by our code. */
struct db_query *db_job_add(struct db_job *job, const char *statement);

/* Appends a parameter: text (format 0, length unused) or binary (1). Asserts on more than
 * DB_MAX_PARAMS: the number of parameters is fixed by our code. */
static inline void db_param(struct db_query *q, const void *value, int len, int format)
{
	assert(q->nparams < DB_MAX_PARAMS);
	q->values[q->nparams] = value;
	q->lengths[q->nparams] = len;
	q->formats[q->nparams] = format;
	q->nparams++;
}

/* Appends a text parameter (NULL is SQL NULL). The string must outlive the job. */
static inline void db_param_text(struct db_query *q, const char *value)
{
	db_param(q, value, 0, 0);
}
/* Appends n text parameters in order (NULL elements: SQL NULL); DB_PARAMS_TEXT(q, a, b, c)
 * counts them. */
void db_params_text(struct db_query *q, const char *const *values, size_t n);
#define DB_PARAMS_TEXT(q, ...)                                                                     \
	db_params_text((q), (const char *const[]){__VA_ARGS__},                                    \
		       sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* Appends a binary (bytea) parameter. The bytes must outlive the job. */
static inline void db_param_bytes(struct db_query *q, const void *data, int len)
{
	db_param(q, data, len, 1);
}

/* Creates the pool and starts connecting. Returns 0 or a negative errno-style code. */
int db_pool_start(uv_loop_t *loop, const struct db_pool_options *opts, struct db_pool **out)
    __attribute__((warn_unused_result));

/* Queues the job and returns true; see the contract at the top of this file. Returns false
 * without queueing (and without ever calling `done`) once db_pool_close() has begun. */
bool db_pool_submit(struct db_pool *pool, struct db_job *job) __attribute__((warn_unused_result));

/* Number of connections up (idle or running a job), for logs and drain decisions. */
unsigned db_pool_ready(const struct db_pool *pool);

/* Jobs waiting for a connection now. */
unsigned db_pool_queued(const struct db_pool *pool);

/* Fails every queued and in-flight job with DB_UNAVAILABLE, closes every connection and
 * handle, then calls closed(arg) from the loop and frees the pool. */
void db_pool_close(struct db_pool *pool, void (*closed)(void *arg), void *arg);

/* PostgreSQL's SQLSTATE of an error result ("23505"), or "" for none. */
const char *db_sqlstate(const PGresult *res);

/* The index of res's column `name`. A statement without the column its reader names is a
 * bug: it is logged, and tulayd aborts. */
int db_column(const PGresult *res, const char *name);

/* The text of column `name` of row `row` of res (PQgetvalue's: "" for NULL). */
const char *db_value(const PGresult *res, int row, const char *name);

#endif
