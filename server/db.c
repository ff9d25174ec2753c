/* tulayd's database pool: jobs, the libpq sockets, pipelined batches and merged ones
 * (db_merge_fits), the queue. Starting, connecting and closing are db_connect.c. */
#include "db.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "db_internal.h"

static void pool_dispatch(struct db_pool *pool);

uint64_t db_pool_now(const struct db_pool *pool)
{
	return uv_now(pool->loop);
}

/* --- jobs ---------------------------------------------------------------------------- */

void db_job_reset(struct db_job *job)
{
	db_job_clear(job);
	memset(job->queries, 0, sizeof(job->queries));
	job->nqueries = 0;
	job->failed_query = -1;
	job->sent = false;
	job->waited_ms = 0;
	job->queue_depth = 0;
	job->batchable = false;
	job->merge = NULL;
	job->next = NULL;
}

void db_job_clear(struct db_job *job)
{
	for (int i = 0; i < DB_MAX_QUERIES; i++) {
		PQclear(job->results[i]);
		job->results[i] = NULL;
	}
}

struct db_query *db_job_add(struct db_job *job, const char *statement)
{
	assert(job->nqueries < DB_MAX_QUERIES);
	struct db_query *q = &job->queries[job->nqueries++];
	q->statement = statement;
	q->nparams = 0;
	return q;
}

void db_params_text(struct db_query *q, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		db_param_text(q, values[i]);
}

int db_column(const PGresult *res, const char *name)
{
	/* PQfnumber compares `name` with every column before it: a list page of 500 claims
	 * asks for 40 columns a row. Readers pass string literals, so the index last found
	 * for this pointer is remembered (per thread) and taken when the result's column at
	 * that index has the name; any other result finds its own. */
	static _Thread_local struct {
		const char *name;
		int col;
	} memo[64];
	size_t slot = ((uintptr_t)name >> 3) % N_ELEMS(memo);
	int col = memo[slot].col;
	if (memo[slot].name == name && col < PQnfields(res) && strcmp(PQfname(res, col), name) == 0)
		return col;
	col = PQfnumber(res, name);
	if (col < 0)
		log_bug("no column %s in a result of %d columns", name, PQnfields(res));
	memo[slot].name = name;
	memo[slot].col = col;
	return col;
}

const char *db_value(const PGresult *res, int row, const char *name)
{
	return PQgetvalue(res, row, db_column(res, name));
}

const char *db_sqlstate(const PGresult *res)
{
	const char *s = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s != NULL ? s : "";
}

void db_job_finish(struct db_job *job, enum db_outcome outcome)
{
	job->next = NULL;
	job->done(job, outcome);
}

/* --- handles ------------------------------------------------------------------------- */

void db_pool_handle_closed(struct db_pool *pool)
{
	assert(pool->open_handles > 0);
	if (--pool->open_handles == 0 && pool->closing) {
		void (*closed)(void *) = pool->closed;
		void *arg = pool->closed_arg;
		for (unsigned i = 0; i < pool->opts.connections; i++) {
			free(pool->conns[i].hosts);
			free(pool->conns[i].hostaddrs);
			free(pool->conns[i].ports);
		}
		free(pool->conns);
		free(pool->conninfo);
		free(pool->resolve_host);
		free(pool->options);
		db_hosts_free(&pool->hosts);
		free(pool);
		if (closed != NULL)
			closed(arg);
	}
}

static void watch_on_close(uv_handle_t *h)
{
	struct db_watch *w = container_of((uv_poll_t *)h, struct db_watch, poll);
	struct db_pool *pool = h->data;
	free(w);
	db_pool_handle_closed(pool);
}

void db_timer_on_close(uv_handle_t *h)
{
	db_pool_handle_closed(h->data);
}

static void watch_close(struct db_conn *c)
{
	if (c->watch == NULL)
		return;
	c->watch->conn = NULL;
	uv_close((uv_handle_t *)&c->watch->poll, watch_on_close);
	c->watch = NULL;
	c->watch_events = 0;
}

static void watch_on_event(uv_poll_t *h, int status, int events);

/* Watches the libpq socket for `events`. A fresh handle is made when asked (each connect
 * step) or when there is none; otherwise the mask is changed only if it differs. */
int dbc_watch(struct db_conn *c, int events, bool fresh)
{
	int fd = PQsocket(c->pg);
	if (fd < 0)
		return -1;
	if (fresh || c->watch == NULL) {
		watch_close(c);
		struct db_watch *w = malloc(sizeof(*w));
		if (w == NULL)
			return -1;
		int rc = uv_poll_init_socket(c->pool->loop, &w->poll, fd);
		if (rc != 0) {
			free(w);
			log_error("event=db_poll_init_failed db_conn=%u error=%s", c->index,
				  uv_strerror(rc));
			return -1;
		}
		w->conn = c;
		w->poll.data = c->pool;
		c->pool->open_handles++;
		c->watch = w;
		c->watch_events = 0;
	}
	if (events != c->watch_events) {
		int rc = uv_poll_start(&c->watch->poll, events, watch_on_event);
		if (rc != 0) {
			log_error("event=db_poll_start_failed db_conn=%u error=%s", c->index,
				  uv_strerror(rc));
			return -1;
		}
		c->watch_events = events;
	}
	return 0;
}

/* --- connection loss ----------------------------------------------------------------- */

/* Drops the connection: fails its job (outcome unknown if sent), frees libpq's state and
 * schedules a reconnect unless the pool is closing. Always returns -1 so callers can
 * `return dbc_lost(...)` and stop touching the connection. */
int dbc_lost(struct db_conn *c, const char *reason)
{
	char clean[256];
	const char *detail = c->pg != NULL ? PQerrorMessage(c->pg) : "";
	log_event(c->pool->closing ? LOG_INFO : LOG_WARN,
		  "event=%s db_conn=%u state=%d reason=%s detail=\"%s\"",
		  c->pool->closing ? "db_conn_closed" : "db_conn_lost", c->index, c->state, reason,
		  log_clean(detail, clean, sizeof(clean)));
	struct db_job *jobs[DB_MAX_BATCH];
	unsigned njobs = c->state == DBC_BUSY ? c->njobs : 0;
	memcpy(jobs, c->jobs, sizeof(jobs[0]) * njobs);
	c->njobs = 0;
	dbc_merge_clear(c);
	watch_close(c);
	if (c->pg != NULL) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	if (c->state == DBC_CONNECTING || c->state == DBC_PREPARING)
		c->host_start++; /* an attempt failed: the next starts one host further on */
	c->state = DBC_DOWN;
	if (!c->pool->closing) {
		dbc_schedule_reconnect(c);
		/* Jobs held back for this connection's batch (pool_hold_small_batch) go now. */
		UV_MUST(uv_timer_start(&c->pool->kick, db_pool_on_kick, 0, 0));
	}
	for (unsigned i = 0; i < njobs; i++)
		db_job_finish(jobs[i], DB_UNAVAILABLE);
	return -1;
}

/* --- running jobs -------------------------------------------------------------------- */

int dbc_flush_and_watch(struct db_conn *c)
{
	int rc = PQflush(c->pg);
	if (rc < 0)
		return dbc_lost(c, "flush");
	/* Reads stay armed always (to notice a dead server); writes only while libpq has
	 * unsent data. */
	int events = UV_READABLE | (rc == 1 ? UV_WRITABLE : 0);
	return dbc_watch(c, events, false) == 0 ? 0 : dbc_lost(c, "poll");
}

static int dbc_send_job(struct db_conn *c, struct db_job *job)
{
	job->sent = true;
	job->failed_query = -1;
	job->deadline_ms = db_pool_now(c->pool) + c->pool->opts.query_timeout_ms;
	for (int i = 0; i < job->nqueries; i++) {
		const struct db_query *q = &job->queries[i];
		/* Text results: every value we read is small and text is what we log. */
		if (PQsendQueryPrepared(c->pg, q->statement, q->nparams, q->values, q->lengths,
					q->formats, 0) != 1)
			return -1;
	}
	return 0;
}

/* Batches. Under load the queue holds several jobs, and most of what PostgreSQL spends
 * on a small write is set-up it repeats for every transaction (executor and PL/pgSQL
 * state, the commit): jobs marked batchable that wait at the head of the queue are sent
 * together, as BEGIN, each job's queries, Sync, COMMIT, Sync, still one round trip. If
 * any of their queries fails, the rest are skipped up to the first Sync and the COMMIT
 * after it rolls back (COMMIT of a failed transaction is a ROLLBACK): nothing of the batch
 * happened, and each job goes back to the head of the queue to run alone, so it gets its
 * own outcome and no job fails because of another. */
static bool dbc_send_text(struct db_conn *c, const char *sql)
{
	return PQsendQueryParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
}

int dbc_start_jobs(struct db_conn *c, struct db_job **jobs, unsigned njobs)
{
	assert(njobs >= 1 && njobs <= DB_MAX_BATCH);
	memcpy(c->jobs, jobs, sizeof(jobs[0]) * njobs);
	c->njobs = njobs;
	c->state = DBC_BUSY;
	c->query_index = 0;
	c->query_open = false;
	c->batch_failed = false;
	c->batch_committed = false;
	c->merged = false;
	bool batch = njobs > 1;
	if (batch && !dbc_send_text(c, "BEGIN"))
		return dbc_lost(c, "send_query");
	for (unsigned i = 0; i < njobs; i++) {
		if (dbc_send_job(c, jobs[i]) != 0)
			return dbc_lost(c, "send_query");
	}
	if (PQpipelineSync(c->pg) != 1)
		return dbc_lost(c, "pipeline_sync");
	c->syncs_left = 1;
	if (batch) {
		if (!dbc_send_text(c, "COMMIT") || PQpipelineSync(c->pg) != 1)
			return dbc_lost(c, "pipeline_sync");
		c->syncs_left = 2;
	}
	return dbc_flush_and_watch(c);
}

/* Where the result sequence `index` of the jobs in flight belongs: a job and its query,
 * or (job NULL) the batch's BEGIN (-1) or COMMIT (-2). */
static struct db_job *dbc_result_owner(const struct db_conn *c, int index, int *query)
{
	if (c->njobs > 1) {
		if (index == 0) {
			*query = -1;
			return NULL;
		}
		index--;
	}
	for (unsigned i = 0; i < c->njobs; i++) {
		if (index < c->jobs[i]->nqueries) {
			*query = index;
			return c->jobs[i];
		}
		index -= c->jobs[i]->nqueries;
	}
	*query = -2;
	return NULL;
}

/* A batch rolled back: its jobs go back to the head of the queue, in their order, to run
 * alone. They were sent, but nothing of them happened. */
void db_pool_requeue_alone(struct db_pool *pool, struct db_job **jobs, unsigned njobs)
{
	for (unsigned i = njobs; i-- > 0;) {
		struct db_job *job = jobs[i];
		db_job_clear(job);
		job->failed_query = -1;
		job->sent = false;
		job->batchable = false;
		job->next = pool->queue_head;
		pool->queue_head = job;
		if (pool->queue_tail == NULL)
			pool->queue_tail = job;
		pool->queued++;
	}
}

/* The last Sync of what was in flight arrived: the prepares or the jobs are complete. */
static int dbc_batch_done(struct db_conn *c)
{
	if (c->state == DBC_PREPARING) {
		if (c->prepare_failed) {
			/* Most likely the schema is older than this tulayd: retrying later is all
			 * we can do; the log line says why. */
			return dbc_lost(c, "prepare_failed");
		}
		UV_MUST(uv_timer_stop(&c->timer));
		c->state = DBC_READY;
		c->backoff_ms = 0;
		log_info("event=db_conn_ready db_conn=%u", c->index);
		return 0;
	}
	struct db_job *jobs[DB_MAX_BATCH];
	unsigned njobs = c->njobs;
	memcpy(jobs, c->jobs, sizeof(jobs[0]) * njobs);
	c->njobs = 0;
	c->state = DBC_READY;
	if (c->merged) {
		dbc_merged_done(c, jobs, njobs);
		return 0;
	}
	if (njobs == 1) {
		db_job_finish(jobs[0], jobs[0]->failed_query >= 0 ? DB_QUERY_ERROR : DB_OK);
		return 0;
	}
	if (c->batch_failed || !c->batch_committed) {
		log_info("event=db_batch_rolled_back db_conn=%u jobs=%u", c->index, njobs);
		db_pool_requeue_alone(c->pool, jobs, njobs);
		return 0;
	}
	for (unsigned i = 0; i < njobs; i++)
		db_job_finish(jobs[i], DB_OK);
	return 0;
}

/* Takes every result libpq has complete. In pipeline mode each query yields its
 * result(s) and then NULL; each Sync yields PGRES_PIPELINE_SYNC. */
static int dbc_drain(struct db_conn *c)
{
	while ((c->state == DBC_PREPARING || c->state == DBC_BUSY) && !PQisBusy(c->pg)) {
		PGresult *r = PQgetResult(c->pg);
		if (r == NULL) {
			if (!c->query_open)
				return 0; /* nothing complete yet */
			c->query_open = false;
			c->query_index++;
			continue;
		}
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			if (c->state == DBC_BUSY && --c->syncs_left > 0)
				continue;
			if (dbc_batch_done(c) != 0)
				return -1;
			continue;
		}
		c->query_open = true;
		if (c->state == DBC_PREPARING) {
			if (st != PGRES_COMMAND_OK) {
				char clean[256];
				const struct db_statement *s =
				    &c->pool->opts.statements[c->query_index];
				log_error(
				    "event=db_prepare_failed db_conn=%u statement=%s error=\"%s\"",
				    c->index, s->name,
				    log_clean(PQresultErrorMessage(r), clean, sizeof(clean)));
				c->prepare_failed = true;
			}
			PQclear(r);
			continue;
		}
		bool failed = st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED;
		if (c->merged) {
			if (failed)
				c->batch_failed = true;
			if (c->merge_result == NULL)
				c->merge_result = r;
			else
				PQclear(r);
			continue;
		}
		int i;
		struct db_job *job = dbc_result_owner(c, c->query_index, &i);
		if (failed)
			c->batch_failed = true;
		if (job == NULL) {
			/* The batch's BEGIN or COMMIT; COMMIT of a failed transaction answers
			 * ROLLBACK. */
			if (i == -2 && st == PGRES_COMMAND_OK &&
			    strcmp(PQcmdStatus(r), "COMMIT") == 0)
				c->batch_committed = true;
			PQclear(r);
			continue;
		}
		if (failed && job->failed_query < 0)
			job->failed_query = i;
		if (job->results[i] == NULL)
			job->results[i] = r;
		else
			PQclear(r);
	}
	return 0;
}

/* The one service function of a connected socket: read, flush, drain, re-arm. */
int dbc_service(struct db_conn *c, int events)
{
	if ((events & UV_READABLE) && PQconsumeInput(c->pg) != 1)
		return dbc_lost(c, "read");
	if (PQstatus(c->pg) == CONNECTION_BAD)
		return dbc_lost(c, "bad");
	if (dbc_flush_and_watch(c) != 0)
		return -1;
	if (dbc_drain(c) != 0)
		return -1;
	if (c->state == DBC_READY)
		pool_dispatch(c->pool);
	return 0;
}

static void watch_on_event(uv_poll_t *h, int status, int events)
{
	struct db_watch *w = container_of(h, struct db_watch, poll);
	struct db_conn *c = w->conn;
	if (c == NULL)
		return;
	if (status < 0) {
		/* libuv stopped the handle; re-arm it on the next dbc_watch, and let libpq find
		 * out what went wrong with the socket. */
		c->watch_events = 0;
		events = UV_READABLE;
	}
	if (c->state == DBC_CONNECTING)
		dbc_connect_step(c, PQconnectPoll(c->pg));
	else
		dbc_service(c, events);
}

/* Takes the job at the head of the queue. */
static struct db_job *pool_dequeue(struct db_pool *pool)
{
	struct db_job *job = pool->queue_head;
	pool->queue_head = job->next;
	if (pool->queue_head == NULL)
		pool->queue_tail = NULL;
	job->next = NULL;
	assert(pool->queued > 0);
	pool->queued--;
	job->waited_ms = db_pool_now(pool) - job->queued_at_ms;
	return job;
}

/* Whether the jobs at the head of the queue should wait for company. Each transaction's
 * commit waits for its WAL flush, and most of what a merged batch (server/handlers: plain
 * CreateClaims, GetClaims) costs is per statement, not per job: a free connection that
 * took two such jobs the moment another connection started a batch would spend a
 * statement and a commit on each pair while the processors idle through the flushes. So
 * while some connection runs mergeable jobs, fewer than min_batch mergeable jobs wait for
 * more to arrive or for that batch to end, a few milliseconds at most; then they go.
 * Other jobs never wait, nor make anyone wait behind held ones: a batch of ListClaims
 * shares only its commit, and a chore's job may take long. On the benchmark's 2 cores at
 * 16 clients: about 19% more claims a second (bench/README.md). */
static bool pool_hold_small_batch(const struct db_pool *pool)
{
	if (pool->queued >= pool->opts.min_batch)
		return false;
	for (const struct db_job *j = pool->queue_head; j != NULL; j = j->next) {
		if (j->merge == NULL)
			return false; /* someone who would wait behind them */
	}
	for (unsigned i = 0; i < pool->opts.connections; i++) {
		const struct db_conn *c = &pool->conns[i];
		if (c->state == DBC_BUSY && c->jobs[0]->merge != NULL)
			return true;
	}
	return false;
}

static void pool_dispatch(struct db_pool *pool)
{
	for (unsigned i = 0; i < pool->opts.connections && pool->queue_head != NULL; i++) {
		struct db_conn *c = &pool->conns[i];
		if (c->state != DBC_READY)
			continue;
		/* Held: dispatched again when that batch ends (dbc_service, dbc_lost). */
		if (pool_hold_small_batch(pool))
			return;
		/* The batchable jobs waiting at the head go together; any other job alone. */
		struct db_job *jobs[DB_MAX_BATCH];
		unsigned n = 0;
		jobs[n++] = pool_dequeue(pool);
		if (jobs[0]->merge != NULL && db_merge_fits(jobs[0], jobs[0])) {
			/* Those of the same shape waiting behind it go in one statement. */
			while (n < DB_MAX_BATCH && pool->queue_head != NULL &&
			       db_merge_fits(pool->queue_head, jobs[0]))
				jobs[n++] = pool_dequeue(pool);
			if (n > 1 || jobs[0]->merge->alone) {
				dbc_start_merged(c, jobs, n);
				continue;
			}
		}
		while (jobs[0]->batchable && n < DB_MAX_BATCH && pool->queue_head != NULL &&
		       pool->queue_head->batchable)
			jobs[n++] = pool_dequeue(pool);
		dbc_start_jobs(c, jobs, n);
	}
}

/* --- the pool ------------------------------------------------------------------------ */

/* Fails the queued jobs whose queue timeout passed (expired_only), or all of them (the
 * pool is closing: DB_UNAVAILABLE). An expired job fails DB_BUSY while some connection is
 * up, since then PostgreSQL answers and the connections were only all taken; with none up,
 * PostgreSQL cannot be reached and the job fails DB_UNAVAILABLE. */
void db_pool_fail_queue(struct db_pool *pool, bool expired_only)
{
	uint64_t now = db_pool_now(pool);
	enum db_outcome outcome =
	    expired_only && db_pool_ready(pool) > 0 ? DB_BUSY : DB_UNAVAILABLE;
	while (pool->queue_head != NULL) {
		if (expired_only && pool->queue_head->deadline_ms > now)
			break; /* FIFO with one timeout: the rest are younger */
		unsigned depth = pool->queued;
		struct db_job *job = pool_dequeue(pool);
		job->queue_depth = outcome == DB_BUSY ? depth : 0;
		db_job_finish(job, outcome);
	}
}

void db_pool_on_sweep(uv_timer_t *t)
{
	struct db_pool *pool = container_of(t, struct db_pool, sweep);
	uint64_t now = db_pool_now(pool);
	db_pool_fail_queue(pool, true);
	for (unsigned i = 0; i < pool->opts.connections; i++) {
		struct db_conn *c = &pool->conns[i];
		if (c->state == DBC_BUSY && c->jobs[0]->deadline_ms <= now)
			dbc_lost(c, "query_timeout");
	}
}

void db_pool_on_kick(uv_timer_t *t)
{
	pool_dispatch(container_of(t, struct db_pool, kick));
}

bool db_pool_submit(struct db_pool *pool, struct db_job *job)
{
	if (pool->closing)
		return false;
	job->next = NULL;
	job->sent = false;
	job->failed_query = -1;
	job->waited_ms = 0;
	job->queue_depth = 0;
	job->queued_at_ms = db_pool_now(pool);
	job->deadline_ms = job->queued_at_ms + pool->opts.queue_timeout_ms;
	if (pool->queue_tail != NULL)
		pool->queue_tail->next = job;
	else
		pool->queue_head = job;
	pool->queue_tail = job;
	pool->queued++;
	/* Start it from the loop, not from here: `done` must never run inside submit. */
	UV_MUST(uv_timer_start(&pool->kick, db_pool_on_kick, 0, 0));
	return true;
}

unsigned db_pool_queued(const struct db_pool *pool)
{
	return pool->queued;
}

unsigned db_pool_ready(const struct db_pool *pool)
{
	unsigned n = 0;
	for (unsigned i = 0; i < pool->opts.connections; i++)
		n += pool->conns[i].state == DBC_READY || pool->conns[i].state == DBC_BUSY;
	return n;
}

/* --- merged batches ------------------------------------------------------------------ */

/* Forgets the merged batch in flight, if any. */
void dbc_merge_clear(struct db_conn *c)
{
	c->merged = false;
	free(c->merge_buf);
	c->merge_buf = NULL;
	PQclear(c->merge_result);
	c->merge_result = NULL;
}

/* Merged batches. A batch shares one transaction but still runs each job's statements
 * one by one, and for a small write most of PostgreSQL's time is that per-statement
 * set-up. Batchable jobs with the same `merge` whose queries have its shape (plain
 * CreateClaims, GetClaims) that wait together are sent instead as the merge's one
 * statement, which does the work of them all in a few set-based statements: each
 * parameter of the shape's queries becomes a text[] with one element per job, and each
 * job gets, from its rows of the result, the results its own queries would have had. If
 * the statement fails (it refuses anything but the plain case: a replay, a reused key,
 * an ended session), nothing of it happened and each job runs again alone, as a failed
 * batch's jobs do. */
bool db_merge_fits(const struct db_job *job, const struct db_job *first)
{
	const struct db_merge *m = first->merge;
	if (!job->batchable || job->merge != m || job->nqueries != first->nqueries)
		return false;
	int i = 0;
	for (; m->shape[i] != NULL; i++) {
		if (i >= job->nqueries || strcmp(job->queries[i].statement, m->shape[i]) != 0 ||
		    job->queries[i].nparams != first->queries[i].nparams)
			return false;
	}
	return i == job->nqueries;
}

/* One element of a text[] literal at `out` (or only its length, out NULL): NULL, or the
 * value in double quotes with " and \ escaped, a binary value as hex digits. */
static size_t merge_element(char *out, const struct db_query *q, int p)
{
	static const char hex[] = "0123456789abcdef";
	const char *v = q->values[p];
	if (v == NULL) {
		if (out != NULL)
			memcpy(out, "NULL", 4);
		return 4;
	}
	size_t n = 0;
	if (out != NULL)
		out[n] = '"';
	n++;
	if (q->formats[p] == 1) {
		for (int i = 0; i < q->lengths[p]; i++) {
			unsigned char b = (unsigned char)v[i];
			if (out != NULL) {
				out[n] = hex[b >> 4];
				out[n + 1] = hex[b & 15];
			}
			n += 2;
		}
	} else {
		for (const char *t = v; *t != '\0'; t++) {
			if (*t == '"' || *t == '\\') {
				if (out != NULL)
					out[n] = '\\';
				n++;
			}
			if (out != NULL)
				out[n] = *t;
			n++;
		}
	}
	if (out != NULL)
		out[n] = '"';
	return n + 1;
}

/* Builds the merged query of jobs[0..n) into c->merge_query, its parameters in
 * c->merge_buf. Returns false when out of memory or past DB_MAX_PARAMS. */
static bool merge_build(struct db_conn *c, struct db_job *const *jobs, unsigned n)
{
	const struct db_job *first = jobs[0];
	size_t size = 0;
	int nparams = 0;
	for (int q = 0; q < first->nqueries; q++) {
		for (int p = 0; p < first->queries[q].nparams; p++) {
			nparams++;
			size += 3; /* {, } and the terminating NUL */
			for (unsigned j = 0; j < n; j++)
				size += merge_element(NULL, &jobs[j]->queries[q], p) + 1;
		}
	}
	if (nparams > DB_MAX_PARAMS) {
		/* A merge whose shape outgrew the array: a bug, never merged, so said loudly. */
		log_error("event=db_merge_too_wide statement=%s params=%d max=%d",
			  first->merge->statement, nparams, DB_MAX_PARAMS);
		return false;
	}
	char *w = malloc(size);
	if (w == NULL)
		return false;
	c->merge_buf = w;
	struct db_query *mq = &c->merge_query;
	memset(mq, 0, sizeof(*mq));
	mq->statement = first->merge->statement;
	for (int q = 0; q < first->nqueries; q++) {
		for (int p = 0; p < first->queries[q].nparams; p++) {
			mq->values[mq->nparams++] = w;
			*w++ = '{';
			for (unsigned j = 0; j < n; j++) {
				if (j > 0)
					*w++ = ',';
				w += merge_element(w, &jobs[j]->queries[q], p);
			}
			*w++ = '}';
			*w++ = '\0';
		}
	}
	return true;
}

/* Sends jobs[0..n) as one merged statement, or as a plain batch when it cannot be built. */
int dbc_start_merged(struct db_conn *c, struct db_job **jobs, unsigned n)
{
	if (!merge_build(c, jobs, n)) {
		dbc_merge_clear(c);
		return dbc_start_jobs(c, jobs, n);
	}
	memcpy(c->jobs, jobs, sizeof(jobs[0]) * n);
	c->njobs = n;
	c->state = DBC_BUSY;
	c->query_index = 0;
	c->query_open = false;
	c->batch_failed = false;
	c->batch_committed = false;
	c->merged = true;
	uint64_t deadline = db_pool_now(c->pool) + c->pool->opts.query_timeout_ms;
	for (unsigned i = 0; i < n; i++) {
		jobs[i]->sent = true;
		jobs[i]->failed_query = -1;
		jobs[i]->deadline_ms = deadline;
	}
	const struct db_query *q = &c->merge_query;
	if (PQsendQueryPrepared(c->pg, q->statement, q->nparams, q->values, NULL, NULL, 0) != 1 ||
	    PQpipelineSync(c->pg) != 1)
		return dbc_lost(c, "send_query");
	c->syncs_left = 1;
	return dbc_flush_and_watch(c);
}

/* Columns [first, end) of the rows [from, to) of `res` whose second column is `tag` (any
 * with tag NULL), as a result of their own. */
static PGresult *merge_part(const PGresult *res, int from, int to, int first, int end,
			    const char *tag)
{
	PGresAttDesc attrs[64];
	int count = end - first;
	if (first < 0 || count < 0 || count > (int)N_ELEMS(attrs))
		return NULL;
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	if (r == NULL)
		return NULL;
	for (int k = 0; k < count; k++) {
		attrs[k] = (PGresAttDesc){
		    .name = PQfname(res, first + k),
		    .tableid = PQftable(res, first + k),
		    .columnid = PQftablecol(res, first + k),
		    .format = PQfformat(res, first + k),
		    .typid = PQftype(res, first + k),
		    .typlen = PQfsize(res, first + k),
		    .atttypmod = PQfmod(res, first + k),
		};
	}
	bool ok = PQsetResultAttrs(r, count, attrs) == 1;
	int out = 0;
	for (int row = from; ok && row < to; row++) {
		if (tag != NULL && strcmp(PQgetvalue(res, row, 1), tag) != 0)
			continue;
		for (int k = 0; ok && k < count; k++) {
			bool null = PQgetisnull(res, row, first + k);
			ok = PQsetvalue(r, out, k, null ? NULL : PQgetvalue(res, row, first + k),
					null ? -1 : PQgetlength(res, row, first + k)) == 1;
		}
		out++;
	}
	if (!ok) {
		PQclear(r);
		return NULL;
	}
	return r;
}

/* Gives each job of the merged batch its results from its rows. Returns false when the
 * result does not fit the merge (rows out of order, a part's column missing, an untagged
 * job without exactly one row), or when out of memory. */
static bool merge_split(struct db_conn *c, struct db_job *const *jobs, unsigned n)
{
	const PGresult *res = c->merge_result;
	const struct db_merge *m = jobs[0]->merge;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) < (m->tagged ? 2 : 1))
		return false;
	int first[DB_MERGE_MAX_PARTS], end[DB_MERGE_MAX_PARTS];
	for (unsigned k = 0; k < m->nparts; k++) {
		first[k] = PQfnumber(res, m->parts[k].name) + 1;
		end[k] = PQnfields(res);
		if (first[k] <= 0)
			return false;
	}
	for (unsigned k = 0; k < m->nparts; k++) {
		for (unsigned l = 0; l < m->nparts; l++) {
			if (first[l] > first[k] && first[l] - 1 < end[k])
				end[k] = first[l] - 1;
		}
	}
	int rows = PQntuples(res), row = 0;
	for (unsigned i = 0; i < n; i++) {
		struct db_job *job = jobs[i];
		int from = row;
		while (row < rows && strtoll(PQgetvalue(res, row, 0), NULL, 10) == (long long)i + 1)
			row++;
		if (!m->tagged && row - from != 1)
			return false;
		for (unsigned k = 0; k < m->nparts; k++) {
			const struct db_merge_part *part = &m->parts[k];
			assert(part->query < job->nqueries);
			job->results[part->query] = merge_part(res, from, row, first[k], end[k],
							       m->tagged ? part->name : NULL);
			if (job->results[part->query] == NULL)
				return false;
		}
		for (int q = 0; q < job->nqueries; q++) {
			if (job->results[q] == NULL &&
			    (job->results[q] = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK)) == NULL)
				return false;
		}
	}
	return row == rows;
}

/* The merged batch in flight is complete: each job gets its results, or runs again alone
 * if the statement failed. */
void dbc_merged_done(struct db_conn *c, struct db_job **jobs, unsigned njobs)
{
	if (c->batch_failed || c->merge_result == NULL) {
		char clean[256];
		log_info("event=db_batch_rolled_back db_conn=%u jobs=%u merged=1 error=\"%s\"",
			 c->index, njobs,
			 log_clean(c->merge_result != NULL ? PQresultErrorMessage(c->merge_result)
							   : "no result",
				   clean, sizeof(clean)));
		dbc_merge_clear(c);
		db_pool_requeue_alone(c->pool, jobs, njobs);
		return;
	}
	bool split = merge_split(c, jobs, njobs);
	dbc_merge_clear(c);
	if (!split) {
		/* Committed, but the answers are lost: the outcome is unknown to the clients,
		 * who resend with the same keys and are answered from what was stored. */
		log_error("event=db_merge_split_failed db_conn=%u jobs=%u", c->index, njobs);
		for (unsigned i = 0; i < njobs; i++) {
			db_job_clear(jobs[i]);
			db_job_finish(jobs[i], DB_UNAVAILABLE);
		}
		return;
	}
	log_info("event=db_merged db_conn=%u jobs=%u statement=%s", c->index, njobs,
		 jobs[0]->merge->statement);
	for (unsigned i = 0; i < njobs; i++)
		db_job_finish(jobs[i], DB_OK);
}
