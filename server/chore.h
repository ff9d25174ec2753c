/* Chores: the work that needs one writer and so stays off the request path, run by tulayd
 * in short pool jobs on a timer (DESIGN.md section 4). Each chore calls one SQL function
 * that does a batch and answers two columns: a word for the log, and whether more is
 * waiting. While more is waiting the chore runs again at once (up to CHORE_CHAIN_MAX
 * batches in a row); else at its next tick. Several tulayd on one database take turns:
 * each function takes its own advisory lock (migrations/0013_concurrent_writes.sql).
 *
 *   report_refresh   networks' whole report rows follow their memberships (0012)
 *   case_numbering   sequences of case references exist before a case needs one
 *   audit_seal       committed audit rows chained into hash-linked blocks
 *   report_fold      rollup deltas folded into report_cells
 */
#ifndef TULAYD_CHORE_H
#define TULAYD_CHORE_H

#include <stdbool.h>

#include <uv.h>

#include "db.h"

struct chore {
	uv_timer_t timer;
	struct db_pool *db;
	struct db_job job;
	const char *name;     /* for logs, and the prepared statement's name */
	unsigned interval_ms; /* between ticks */
	bool log_each;        /* log every batch at info (else only failures) */
	bool busy;            /* the job is in the pool */
	bool again;           /* asked for while busy: run once more when the job ends */
	bool stopping;        /* closing: submit nothing more */
	bool failing;         /* the last batch failed: log the recovery */
	unsigned chained;     /* batches in a row since the last tick or request */
};

/* The statements the chores run, for the pool's list. */
extern const struct db_statement chore_statements[];
extern const unsigned chore_statements_count;

/* Starts the chore `name` (one of chore_statements' names): a first run at once, then every
 * interval_ms. */
void chore_start(struct chore *c, const char *name, uv_loop_t *loop, struct db_pool *db,
		 unsigned interval_ms, bool log_each);

/* Runs as soon as the pool allows (for example after a membership change). */
void chore_soon(struct chore *c);

/* Stops for good and closes the timer; a job in flight ends when the pool closes. */
void chore_stop(struct chore *c, uv_close_cb closed);

#endif
