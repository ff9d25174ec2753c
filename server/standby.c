/* Reads a standby serves. With --db-replica, reads a standby may serve (handler->replica: reports
 * and lists) go to its pool while one of its connections is up. A standby cannot write, so the
 * read's audit entry is written on the primary once the read has succeeded, before anything is
 * answered: no disclosure goes unrecorded. A read the standby could not serve (it went
 * down, was busy, or recovery cancelled the query) runs again on the primary. */
#include "standby.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "dispatch.h"
#include "log.h"
#include "server.h"

const struct db_statement standby_statements[] = {
    /* How far behind the primary a standby's data may be: 0 while it streams from its
     * primary and has replayed all the WAL it received; else (behind, or cut off from its
     * primary, when the last WAL received says nothing of what it missed since) the age of
     * the last transaction it replayed; -1 on a primary. */
    {"replica_staleness",
     "SELECT CASE WHEN NOT pg_is_in_recovery() THEN -1 "
     "WHEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver) AND "
     "pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
     "ELSE coalesce((extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) "
     "* 1000)::bigint, 0) END AS staleness_ms"},
};
const unsigned standby_statements_count = N_ELEMS(standby_statements);

/* The audit entry of a read the standby served, on its way to the primary. */
struct standby_audit {
	struct db_job job;
	struct request *req;
};

static void standby_on_audit(struct db_job *job, enum db_outcome outcome)
{
	struct standby_audit *sa = container_of(job, struct standby_audit, job);
	struct request *req = sa->req;
	metrics_db_job(&req->srv->metrics, outcome, job->waited_ms);
	bool session_ended = outcome == DB_QUERY_ERROR && job->failed_query == 0 &&
			     strcmp(db_sqlstate(job->results[0]), "28000") == 0;
	db_job_clear(job);
	if (outcome == DB_OK) {
		req->db_done(req, DB_OK);
	} else if (session_ended) {
		if (req->conn != NULL)
			memset(&req->conn->session, 0, sizeof(req->conn->session));
		request_fail(req, TULAY__V1__CODE__UNAUTHENTICATED,
			     "your session has ended or expired: log in again");
	} else {
		log_warn("event=standby_audit_failed req=%llu type=%s outcome=%d",
			 (unsigned long long)req->seq, request_type(req), (int)outcome);
		request_fail(req, TULAY__V1__CODE__UNAVAILABLE,
			     "the database is unavailable; try again shortly");
	}
}

static void standby_on_read(struct db_job *job, enum db_outcome outcome)
{
	struct request *req = container_of(job, struct request, job);
	struct server *srv = req->srv;
	/* Any failure runs the read on the primary, a session the standby does not know
	 * included: it may be too new to have been replayed there yet. */
	req->audit = req->replica.audit;
	if (outcome != DB_OK) {
		log_info("event=standby_fallback req=%llu type=%s outcome=%d sqlstate=%s",
			 (unsigned long long)req->seq, request_type(req), (int)outcome,
			 outcome == DB_QUERY_ERROR ? db_sqlstate(job->results[job->failed_query])
						   : "");
		db_job_clear(job);
		req->srv->metrics.standby_fallbacks++;
		req->replica.staleness_ms = -1;
		job->nqueries--; /* replica_staleness, the last query */
		request_add_audit(req, job);
		job->done = request_on_db;
		if (srv->db == NULL || !db_pool_submit(srv->db, job))
			request_fail_shutting_down(req);
		return;
	}
	const PGresult *lag = request_result_of(req, "replica_staleness");
	long long ms = strtoll(db_value(lag, 0, "staleness_ms"), NULL, 10);
	req->replica.staleness_ms = ms < 0 ? -1 : ms;
	srv->metrics.standby_reads++;
	if (req->audit.action == NULL) {
		req->db_done(req, DB_OK);
		return;
	}
	struct standby_audit *sa = request_alloc(req, sizeof(*sa)); /* zeroed: no stale results */
	if (sa == NULL) {
		request_fail_oom(req);
		return;
	}
	db_job_reset(&sa->job);
	sa->req = req;
	sa->job.queries[0] = job->queries[0]; /* the tenant context, checked again */
	sa->job.nqueries = 1;
	request_add_audit(req, &sa->job);
	sa->job.done = standby_on_audit;
	if (srv->db == NULL || !db_pool_submit(srv->db, &sa->job))
		request_fail_shutting_down(req);
}

bool standby_eligible(const struct request *req)
{
	const struct server *srv = req->srv;
	return req->handler->replica && srv->replica != NULL && req->session.authenticated &&
	       !req->session_opening && db_pool_ready(srv->replica) > 0;
}

bool standby_submit(struct request *req)
{
	struct server *srv = req->srv;
	struct db_job *job = &req->job;
	db_job_add(job, "replica_staleness");
	job->batchable = false;
	job->merge = NULL;
	job->done = standby_on_read;
	if (!db_pool_submit(srv->replica, job)) {
		job->nqueries--;
		req->audit = req->replica.audit;
		request_add_audit(req, job);
		return false;
	}
	return true;
}
