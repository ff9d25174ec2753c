#include "db.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "db_internal.h"

static void pool_dispatch(struct db_pool *pool);
static void pool_on_kick(uv_timer_t *t);

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

void db_param_text(struct db_query *q, const char *value)
{
	assert(q->nparams < DB_MAX_PARAMS);
	q->values[q->nparams] = value;
	q->lengths[q->nparams] = 0;
	q->formats[q->nparams] = 0;
	q->nparams++;
}

void db_param_bytes(struct db_query *q, const void *data, int len)
{
	assert(q->nparams < DB_MAX_PARAMS);
	q->values[q->nparams] = data;
	q->lengths[q->nparams] = len;
	q->formats[q->nparams] = 1;
	q->nparams++;
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

static void timer_on_close(uv_handle_t *h)
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
		UV_MUST(uv_timer_start(&c->pool->kick, pool_on_kick, 0, 0));
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
			if (n > 1) {
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
static void pool_fail_queue(struct db_pool *pool, bool expired_only)
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

static void pool_on_sweep(uv_timer_t *t)
{
	struct db_pool *pool = container_of(t, struct db_pool, sweep);
	uint64_t now = db_pool_now(pool);
	pool_fail_queue(pool, true);
	for (unsigned i = 0; i < pool->opts.connections; i++) {
		struct db_conn *c = &pool->conns[i];
		if (c->state == DBC_BUSY && c->jobs[0]->deadline_ms <= now)
			dbc_lost(c, "query_timeout");
	}
}

static void pool_on_kick(uv_timer_t *t)
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
	UV_MUST(uv_timer_start(&pool->kick, pool_on_kick, 0, 0));
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

/* True when every element of a host list is a socket directory, an abstract socket, a
 * numeric address, or has a non-empty hostaddr element at the same position. */
static bool hosts_need_no_lookup(const char *host, const char *hostaddr)
{
	if (host == NULL || *host == '\0')
		return true; /* hostaddr alone, or the socket default */
	const char *h = host, *a = hostaddr != NULL ? hostaddr : "";
	for (;;) {
		size_t hl = strcspn(h, ","), al = strcspn(a, ",");
		char name[256];
		unsigned char buf[sizeof(struct in6_addr)];
		snprintf(name, sizeof(name), "%.*s", (int)hl, h);
		bool numeric =
		    inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
		if (name[0] != '/' && name[0] != '@' && !numeric && al == 0)
			return false;
		if (h[hl] == '\0')
			return true;
		h += hl + 1;
		a += a[al] == ',' ? al + 1 : al;
	}
}

/* Reads what the pool needs from the connection string (and libpq's PG* environment
 * defaults, which PQconninfoParse does not apply): whether connecting needs a name lookup
 * first, and the server options to send. A single host name that is not a socket
 * directory or a numeric address, without a hostaddr, would otherwise be resolved by a
 * blocking getaddrinfo() inside PQconnectStartParams. */
static int pool_parse_conninfo(struct db_pool *pool)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(pool->conninfo, &err);
	if (opts == NULL) {
		char clean[256];
		log_error("event=db_conninfo_invalid error=\"%s\"",
			  log_clean(err != NULL ? err : "out of memory", clean, sizeof(clean)));
		PQfreemem(err);
		return -EINVAL;
	}
	const char *host = NULL, *hostaddr = NULL, *port = NULL, *options = NULL;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || *o->val == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "options") == 0)
			options = o->val;
	}
	host = host != NULL ? host : getenv("PGHOST");
	hostaddr = hostaddr != NULL ? hostaddr : getenv("PGHOSTADDR");
	options = options != NULL ? options : getenv("PGOPTIONS");

	int rc = db_hosts_init(&pool->hosts, host, hostaddr, port);
	if (rc == 0 && pool->hosts.n > 1 && !hosts_need_no_lookup(host, hostaddr)) {
		log_error(
		    "event=db_conninfo_invalid error=\"each of several hosts must be a socket "
		    "directory or a numeric address, or have its hostaddr= so that connecting "
		    "never blocks on a name lookup\"");
		rc = -EINVAL;
	} else if (rc == 0 && pool->hosts.n < 2 && host != NULL && *host != '\0' &&
		   host[0] != '/' && host[0] != '@' && (hostaddr == NULL || *hostaddr == '\0')) {
		unsigned char buf[sizeof(struct in6_addr)];
		if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1) {
			pool->resolve_host = strdup(host);
			rc = pool->resolve_host != NULL ? 0 : -ENOMEM;
		}
	}

	/* PostgreSQL ends a statement or lock wait that outlives the query timeout by itself,
	 * and notices a client that went away, so a timed-out job never leaves a backend
	 * working (or holding locks) for nobody. The idempotent write functions rely on READ
	 * COMMITTED. No JIT: our statements are short, and compiling a report's plan took
	 * longer (30-40 ms) than running it. */
	unsigned limit = pool->opts.query_timeout_ms * 3 / 4;
	char ours[256];
	snprintf(
	    ours, sizeof(ours),
	    "-c statement_timeout=%u -c lock_timeout=%u -c client_connection_check_interval=5000 "
	    "-c default_transaction_isolation=read\\ committed -c jit=off",
	    limit < 100 ? 100 : limit, limit < 100 ? 100 : limit);
	size_t len = (options != NULL ? strlen(options) + 1 : 0) + strlen(ours) + 1;
	pool->options = malloc(len);
	if (pool->options == NULL)
		rc = -ENOMEM;
	else
		snprintf(pool->options, len, "%s%s%s", options != NULL ? options : "",
			 options != NULL ? " " : "", ours);
	PQconninfoFree(opts);
	return rc;
}

int db_pool_start(uv_loop_t *loop, const struct db_pool_options *opts, struct db_pool **out)
{
	*out = NULL;
	struct db_pool *pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return -ENOMEM;
	pool->loop = loop;
	pool->opts = *opts;
	pool->conninfo = strdup(opts->conninfo);
	pool->conns = calloc(opts->connections, sizeof(*pool->conns));
	if (pool->conninfo == NULL || pool->conns == NULL) {
		free(pool->conninfo);
		free(pool->conns);
		free(pool);
		return -ENOMEM;
	}
	pool->opts.conninfo = pool->conninfo;
	int rc = pool_parse_conninfo(pool);
	if (rc != 0) {
		db_hosts_free(&pool->hosts);
		free(pool->options);
		free(pool->resolve_host);
		free(pool->conninfo);
		free(pool->conns);
		free(pool);
		return rc;
	}

	UV_MUST(uv_timer_init(loop, &pool->sweep));
	UV_MUST(uv_timer_init(loop, &pool->kick));
	pool->sweep.data = pool;
	pool->kick.data = pool;
	pool->open_handles = 2;
	UV_MUST(uv_timer_start(&pool->sweep, pool_on_sweep, DB_SWEEP_MS, DB_SWEEP_MS));
	for (unsigned i = 0; i < opts->connections; i++) {
		struct db_conn *c = &pool->conns[i];
		c->pool = pool;
		c->index = i;
		c->state = DBC_DOWN;
		UV_MUST(uv_timer_init(loop, &c->timer));
		c->timer.data = pool;
		pool->open_handles++;
		dbc_begin(c);
	}
	*out = pool;
	return 0;
}

void db_pool_close(struct db_pool *pool, void (*closed)(void *arg), void *arg)
{
	if (pool->closing)
		return;
	pool->closing = true;
	pool->closed = closed;
	pool->closed_arg = arg;
	pool_fail_queue(pool, false);
	for (unsigned i = 0; i < pool->opts.connections; i++) {
		struct db_conn *c = &pool->conns[i];
		if (c->state != DBC_DOWN && c->state != DBC_RESOLVING)
			dbc_lost(c, "shutdown");
		c->state = DBC_CLOSED;
		if (c->resolving)
			/* Fails (UV_EBUSY) once the lookup runs; its callback releases it either
			 * way. */
			(void)uv_cancel((uv_req_t *)&c->resolver);
		uv_close((uv_handle_t *)&c->timer, timer_on_close);
	}
	uv_close((uv_handle_t *)&pool->sweep, timer_on_close);
	uv_close((uv_handle_t *)&pool->kick, timer_on_close);
}
