#include "chore.h"

#include <string.h>

#include "common.h"
#include "log.h"

/* Batch sizes: a seal or fold of this many rows takes well under the statement timeout
 * on a small machine, and more are taken at once in the next batch. */
const struct db_statement chore_statements[] = {
    {"report_refresh", "SELECT r, r IS NOT NULL FROM report_refresh_next() r"},
    {"case_numbering", "SELECT n::text, false FROM case_numbering_prepare() n"},
    {"audit_seal", "SELECT n::text, n >= 5000 FROM audit_seal(5000) n"},
    {"report_fold", "SELECT n::text, n >= 5000 FROM report_fold(5000) n"},
};
const unsigned chore_statements_count = N_ELEMS(chore_statements);

/* Batches in a row before waiting for the next tick: far more than a busy server needs,
 * so that a chore that never settles costs one burst a tick, not a busy loop. */
#define CHORE_CHAIN_MAX 1000

static void chore_submit(struct chore *c);

static void chore_done(struct db_job *job, enum db_outcome outcome)
{
	struct chore *c = container_of(job, struct chore, job);
	char clean[256];
	c->busy = false;
	bool more = false;
	if (outcome == DB_OK) {
		const PGresult *res = job->results[0];
		bool row = PQntuples(res) == 1 && PQnfields(res) == 2;
		more = row && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
		if (c->failing)
			log_info("event=chore_recovered chore=%s", c->name);
		c->failing = false;
		if (row && !PQgetisnull(res, 0, 0) && (c->log_each || more))
			log_info("event=chore_batch chore=%s result=\"%s\" more=%d", c->name,
				 log_clean(PQgetvalue(res, 0, 0), clean, sizeof(clean)), more);
	} else if (!c->stopping) {
		/* Nothing is lost meanwhile: what the chore would do waits in the database (and
		 * reports stay exact); try again at the next tick. */
		const PGresult *res =
		    outcome == DB_QUERY_ERROR ? job->results[job->failed_query] : NULL;
		log_warn("event=chore_failed chore=%s error=\"%s\"", c->name,
			 log_clean(res != NULL          ? PQresultErrorMessage(res)
				   : outcome == DB_BUSY ? "database busy: every connection taken"
							: "database unavailable",
				   clean, sizeof(clean)));
		c->failing = true;
	}
	db_job_clear(job);
	if (c->stopping)
		return;
	if (c->again || (more && ++c->chained < CHORE_CHAIN_MAX))
		chore_submit(c);
	else if (more)
		log_warn("event=chore_paused chore=%s batches=%u note=\"again at the next tick\"",
			 c->name, c->chained);
}

static void chore_submit(struct chore *c)
{
	if (c->stopping)
		return;
	if (c->busy) {
		c->again = true;
		return;
	}
	c->again = false;
	db_job_reset(&c->job);
	db_job_add(&c->job, c->name);
	c->job.done = chore_done;
	if (db_pool_submit(c->db, &c->job))
		c->busy = true;
}

static void chore_on_timer(uv_timer_t *t)
{
	struct chore *c = t->data;
	c->chained = 0;
	chore_submit(c);
}

void chore_start(struct chore *c, const char *name, uv_loop_t *loop, struct db_pool *db,
		 unsigned interval_ms, bool log_each)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->db = db;
	c->interval_ms = interval_ms;
	c->log_each = log_each;
	UV_MUST(uv_timer_init(loop, &c->timer));
	c->timer.data = c;
	UV_MUST(uv_timer_start(&c->timer, chore_on_timer, 0, interval_ms));
}

void chore_soon(struct chore *c)
{
	c->chained = 0;
	chore_submit(c);
}

void chore_stop(struct chore *c, uv_close_cb closed)
{
	c->stopping = true;
	uv_close((uv_handle_t *)&c->timer, closed);
}
