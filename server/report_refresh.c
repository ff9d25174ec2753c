#include "report_refresh.h"

#include "common.h"
#include "log.h"

const struct db_statement report_refresh_statements[] = {
    {"report_refresh_next", "SELECT report_refresh_next()"},
};
const unsigned report_refresh_statements_count = N_ELEMS(report_refresh_statements);

/* Refreshes in a row before waiting for the next tick: more than every network's rollups
 * would need, so that a scope that never settles costs one burst a tick, not a busy loop. */
#define REPORT_REFRESH_CHAIN_MAX 1000

static void report_refresh_submit(struct report_refresh *r);

static void report_refresh_done(struct db_job *job, enum db_outcome outcome)
{
	struct report_refresh *r = container_of(job, struct report_refresh, job);
	r->busy = false;
	bool more = false;
	if (outcome == DB_OK) {
		const PGresult *res = job->results[0];
		more = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
		if (more) {
			char clean[256];
			log_info("event=report_scope_refreshed scope=\"%s\"",
				 log_clean(PQgetvalue(res, 0, 0), clean, sizeof(clean)));
		}
	} else if (!r->stopping) {
		/* Reports stay right meanwhile (they read the organisations' rows); try again
		 * at the next tick. */
		const PGresult *res =
		    outcome == DB_QUERY_ERROR ? job->results[job->failed_query] : NULL;
		char clean[256];
		log_warn("event=report_refresh_failed error=\"%s\"",
			 log_clean(res != NULL          ? PQresultErrorMessage(res)
				   : outcome == DB_BUSY ? "database busy: every connection taken"
							: "database unavailable",
				   clean, sizeof(clean)));
	}
	db_job_clear(job);
	if (r->stopping)
		return;
	if (r->again || (more && ++r->chained < REPORT_REFRESH_CHAIN_MAX))
		report_refresh_submit(r);
	else if (more)
		log_warn("event=report_refresh_paused refreshes=%u note=\"again at the next tick\"",
			 r->chained);
}

static void report_refresh_submit(struct report_refresh *r)
{
	if (r->stopping)
		return;
	if (r->busy) {
		r->again = true;
		return;
	}
	r->again = false;
	db_job_reset(&r->job);
	db_job_add(&r->job, "report_refresh_next");
	r->job.done = report_refresh_done;
	if (db_pool_submit(r->db, &r->job))
		r->busy = true;
}

static void report_refresh_on_timer(uv_timer_t *t)
{
	struct report_refresh *r = t->data;
	r->chained = 0;
	report_refresh_submit(r);
}

void report_refresh_start(struct report_refresh *r, uv_loop_t *loop, struct db_pool *db,
			  unsigned interval_ms)
{
	r->db = db;
	r->interval_ms = interval_ms;
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	uv_timer_start(&r->timer, report_refresh_on_timer, 0, interval_ms);
}

void report_refresh_soon(struct report_refresh *r)
{
	r->chained = 0;
	report_refresh_submit(r);
}

void report_refresh_stop(struct report_refresh *r, uv_close_cb closed)
{
	r->stopping = true;
	uv_close((uv_handle_t *)&r->timer, closed);
}
