/* Keeps the networks' whole report rows (migrations/0012_report_scopes.sql) in step with
 * their memberships: asks PostgreSQL for report_refresh_next() until it answers NULL,
 * after a membership changes (report_refresh_soon) and every --report-refresh-ms, since
 * memberships also end by date. Each call is one short job in the pool; while a scope is
 * stale, reports read the organisations' own rows instead, so nothing waits for this. */
#ifndef TULAYD_REPORT_REFRESH_H
#define TULAYD_REPORT_REFRESH_H

#include <stdbool.h>

#include <uv.h>

#include "db.h"

struct report_refresh {
	uv_timer_t timer;
	struct db_pool *db;
	struct db_job job;
	unsigned interval_ms;
	bool busy;        /* the job is in the pool */
	bool again;       /* asked for while busy: run once more when the job ends */
	bool stopping;    /* closing: submit nothing more */
	unsigned chained; /* refreshes in a row since the last tick or request */
};

/* The statement the refresh runs, for the pool's list. */
extern const struct db_statement report_refresh_statements[];
extern const unsigned report_refresh_statements_count;

/* Starts the timer: a first run at once, then every interval_ms. */
void report_refresh_start(struct report_refresh *r, uv_loop_t *loop, struct db_pool *db,
			  unsigned interval_ms);

/* Runs as soon as the pool allows (after a membership change). */
void report_refresh_soon(struct report_refresh *r);

/* Stops for good and closes the timer; a job in flight ends when the pool closes. */
void report_refresh_stop(struct report_refresh *r, uv_close_cb closed);

#endif
