#include "request.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common.h"
#include "dispatch.h"
#include "handlers/handlers.h"
#include "log.h"
#include "server.h"
#include "standby.h"
#include "validate.h"
#include "wire.h"

/* What one request may allocate: its unpacked frame (protobuf-c's structures cost a
 * multiple of the bytes, most for many tiny unknown fields) plus a response of up to a
 * page of records. A frame that needs more is refused as not a request. */
#define REQUEST_ARENA_PER_BYTE 16u
#define REQUEST_ARENA_OVERHEAD (2u * 1024 * 1024)

const char *request_type(const struct request *req)
{
	return req->handler != NULL ? req->handler->name : "none";
}

void *request_alloc(struct request *req, size_t size)
{
	void *p = arena_alloc(&req->arena, size);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

static void request_link(struct conn *c, struct request *req)
{
	req->prev = NULL;
	req->next = c->requests;
	if (c->requests != NULL)
		c->requests->prev = req;
	c->requests = req;
}

static void request_unlink(struct conn *c, struct request *req)
{
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		c->requests = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
}

static void request_end(struct request *req)
{
	struct server *srv = req->srv;
	struct conn *c = req->conn;
	uint64_t elapsed = uv_now(&srv->loop) - req->started_ms;

	metrics_request(&srv->metrics, req->handler, req->status.code, elapsed);
	log_info("event=request conn=%llu req=%llu id=%llu type=%s code=%d field_errors=%zu "
		 "ms=%llu%s%s",
		 c != NULL ? (unsigned long long)c->id : 0ULL, (unsigned long long)req->seq,
		 (unsigned long long)req->resp.id, request_type(req), req->status.code,
		 req->status.n_field_errors, (unsigned long long)elapsed,
		 req->replica.staleness_ms >= 0 ? " read_on=standby" : "",
		 c == NULL ? " dropped=conn_closed" : "");

	if (c != NULL) {
		conn_send(c, &req->resp.base);
		request_unlink(c, req);
	}
	bool was_barrier = req->handler != NULL && req->handler->barrier;
	db_job_clear(&req->job);
	arena_release(&req->arena);
	free(req);

	assert(srv->requests_in_flight > 0);
	srv->requests_in_flight--;
	if (c != NULL)
		conn_request_ended(c, was_barrier);
	server_check_drained(srv);
}

void request_reply(struct request *req)
{
	req->status.code = TULAY__V1__CODE__OK;
	req->status.message = "";
	req->status.n_field_errors = 0;
	request_end(req);
}

bool request_send_part(struct request *req)
{
	struct conn *c = req->conn;
	if (c == NULL)
		return false;
	req->status.code = TULAY__V1__CODE__OK;
	req->status.message = "";
	req->status.n_field_errors = 0;
	return conn_send(c, &req->resp.base) == 0 && req->conn != NULL;
}

static bool request_may_go_on(const struct request *req)
{
	const struct server *srv = req->srv;
	return req->conn == NULL || srv->draining || srv->stopped ||
	       req->conn->out_bytes < srv->cfg.max_output_bytes / 2;
}

static void request_on_pace(uv_timer_t *t)
{
	request_resume_paced(container_of(t, struct server, pace_timer), false);
}

bool request_pace(struct request *req, void (*resume)(struct request *req))
{
	struct server *srv = req->srv;
	if (request_may_go_on(req))
		return true;
	req->resume = resume;
	req->parked_next = srv->parked;
	if (srv->parked == NULL)
		UV_MUST(uv_timer_start(&srv->pace_timer, request_on_pace, REQUEST_PACE_MS,
				       REQUEST_PACE_MS));
	srv->parked = req;
	return false;
}

void request_resume_paced(struct server *srv, bool all)
{
	/* Those that may go on leave the list first: resuming one may park it again. */
	struct request *ready = NULL, **link = &srv->parked;
	while (*link != NULL) {
		struct request *req = *link;
		if (all || request_may_go_on(req)) {
			*link = req->parked_next;
			req->parked_next = ready;
			ready = req;
		} else {
			link = &req->parked_next;
		}
	}
	if (srv->parked == NULL && !srv->stopped)
		UV_MUST(uv_timer_stop(&srv->pace_timer));
	while (ready != NULL) {
		struct request *req = ready;
		ready = req->parked_next;
		req->parked_next = NULL;
		req->resume(req);
	}
}

void request_fail(struct request *req, Tulay__V1__Code code, const char *message)
{
	req->status.code = code;
	/* Callers may pass an arena_printf() result, NULL once the arena is exhausted. */
	req->status.message =
	    (char *)(message != NULL ? message : "the request could not be completed");
	req->resp.body_case = TULAY__V1__RESPONSE__BODY__NOT_SET;
	request_end(req);
}

void request_fail_shutting_down(struct request *req)
{
	req->status.reconnect = true;
	request_fail(req, TULAY__V1__CODE__UNAVAILABLE, REQUEST_SHUTTING_DOWN);
}

void request_field_error(struct request *req, const char *field, const char *problem)
{
	if (req->status.n_field_errors >= REQUEST_MAX_FIELD_ERRORS)
		return;
	Tulay__V1__FieldError *fe = request_alloc(req, sizeof(*fe));
	if (fe == NULL)
		return;
	tulay__v1__field_error__init(fe);
	fe->field = (char *)field;
	fe->problem = (char *)problem;
	req->field_errors[req->status.n_field_errors++] = fe;
}

bool request_has_field_errors(const struct request *req)
{
	return req->status.n_field_errors > 0;
}

void request_fail_oom(struct request *req)
{
	request_fail(req, TULAY__V1__CODE__RESOURCE_EXHAUSTED, "out of memory");
}

bool request_oom(struct request *req, const void *p)
{
	if (p != NULL)
		return false;
	request_fail_oom(req);
	return true;
}

char *request_array_param(struct request *req, const char *const *values, size_t n)
{
	size_t cap = 3; /* "{", "}" and the NUL */
	for (size_t i = 0; i < n; i++)
		cap += values[i] != NULL ? 2 * strlen(values[i]) + 3 : sizeof("NULL,");
	char *out = request_alloc(req, cap);
	if (out == NULL)
		return NULL;
	char *p = out;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		if (values[i] == NULL) {
			memcpy(p, "NULL", 4);
			p += 4;
			continue;
		}
		*p++ = '"';
		for (const char *v = values[i]; *v != '\0'; v++) {
			if (*v == '"' || *v == '\\')
				*p++ = '\\';
			*p++ = *v;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}

const char *request_bytea_text(struct request *req, const uint8_t *bytes, size_t len, bool *oom)
{
	if (bytes == NULL)
		return NULL;
	char *text = request_alloc(req, 2 * len + 3);
	if (text == NULL) {
		*oom = true;
		return NULL;
	}
	memcpy(text, "\\x", 2);
	sodium_bin2hex(text + 2, 2 * len + 1, bytes, len);
	return text;
}

void request_fail_invalid(struct request *req, const char *message)
{
	req->status.code = TULAY__V1__CODE__INVALID_ARGUMENT;
	req->status.message = (char *)message;
	req->resp.body_case = TULAY__V1__RESPONSE__BODY__NOT_SET;
	request_end(req);
}

void request_fail_key_reused(struct request *req, const char *noun)
{
	const char *problem = arena_printf(&req->arena,
					   "was already used for a different %s: use a new key "
					   "for a new %s",
					   noun, noun);
	request_field_error(req, "idempotency_key",
			    problem != NULL ? problem : "was already used for another request");
	request_fail(req, TULAY__V1__CODE__ALREADY_EXISTS,
		     "this idempotency key belongs to another request");
}

/* SQLSTATEs after which the transaction was rolled back and a retry may well succeed:
 * statement or lock timeout, serialization failure, deadlock, too many connections. */
static bool sqlstate_is_transient(const char *state)
{
	static const char *const transient[] = {"57014", "55P03", "40001", "40P01", "53300"};
	for (size_t i = 0; i < N_ELEMS(transient); i++) {
		if (strcmp(state, transient[i]) == 0)
			return true;
	}
	return false;
}

void request_fail_db(struct request *req)
{
	int i = req->job.failed_query >= 0 ? req->job.failed_query : 0;
	const PGresult *res = req->job.results[i];
	char clean[512];
	if (sqlstate_is_transient(db_sqlstate(res))) {
		log_warn("event=db_busy conn=%llu req=%llu type=%s sqlstate=%s",
			 req->conn != NULL ? (unsigned long long)req->conn->id : 0ULL,
			 (unsigned long long)req->seq, request_type(req), db_sqlstate(res));
		request_fail(req, TULAY__V1__CODE__UNAVAILABLE,
			     "the database is busy and nothing was saved; try again shortly");
		return;
	}
	if (strcmp(db_sqlstate(res), "42501") == 0) {
		/* Row-level security refused a row the request wrote: the caller's access to the
		 * case ended while the request ran (a referral revoked by a concurrent request
		 * between the function's checks and its insert). The transaction rolled back. */
		log_warn("event=db_denied conn=%llu req=%llu type=%s query=%d sqlstate=42501 "
			 "error=\"%s\"",
			 req->conn != NULL ? (unsigned long long)req->conn->id : 0ULL,
			 (unsigned long long)req->seq, request_type(req), i,
			 log_clean(PQresultErrorMessage(res), clean, sizeof(clean)));
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "your organisation may no longer change this (its access ended while "
			     "the request ran, for example a referral was revoked); nothing was "
			     "saved");
		return;
	}
	const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	size_t len = constraint != NULL ? strlen(constraint) : 0;
	if (strcmp(db_sqlstate(res), "23505") == 0 && len > 16 &&
	    strcmp(constraint + len - 16, "_idempotency_key") == 0) {
		/* The key was used before by a request of another kind (a payment's key sent
		 * again to log a deportation): its functions only recognise their own. */
		log_warn("event=key_reused conn=%llu req=%llu type=%s constraint=%s",
			 req->conn != NULL ? (unsigned long long)req->conn->id : 0ULL,
			 (unsigned long long)req->seq, request_type(req), constraint);
		request_fail_key_reused(req, "request");
		return;
	}
	log_error(
	    "event=db_error conn=%llu req=%llu type=%s query=%d sqlstate=%s error=\"%s\"",
	    req->conn != NULL ? (unsigned long long)req->conn->id : 0ULL,
	    (unsigned long long)req->seq, request_type(req), i, db_sqlstate(res),
	    log_clean(res != NULL ? PQresultErrorMessage(res) : "no result", clean, sizeof(clean)));
	request_fail(req, TULAY__V1__CODE__INTERNAL,
		     "the server could not complete the request; it has been logged");
}

void request_on_db(struct db_job *job, enum db_outcome outcome)
{
	struct request *req = container_of(job, struct request, job);
	metrics_db_job(&req->srv->metrics, outcome, job->waited_ms);
	if (outcome == DB_QUERY_ERROR && req->job_base > 0 && job->failed_query == 0 &&
	    strcmp(db_sqlstate(job->results[0]), "28000") == 0) {
		/* The session died or changed since this connection authenticated (logged out,
		 * user disabled or demoted, perhaps through another tulayd; or expired): nothing
		 * of the job happened. */
		if (req->conn != NULL)
			memset(&req->conn->session, 0, sizeof(req->conn->session));
		request_fail(req, TULAY__V1__CODE__UNAUTHENTICATED,
			     "your session has ended or expired: log in again");
		return;
	}
	if (outcome == DB_BUSY) {
		/* Saturation, not an outage: every connection was taken for the whole queue
		 * timeout. The job never reached PostgreSQL, so the outcome is known: nothing was
		 * done, and the same request with the same key is safe to send again. */
		log_warn("event=db_busy conn=%llu req=%llu type=%s queue_depth=%u waited_ms=%llu",
			 req->conn != NULL ? (unsigned long long)req->conn->id : 0ULL,
			 (unsigned long long)req->seq, request_type(req), job->queue_depth,
			 (unsigned long long)job->waited_ms);
		req->status.outcome_unknown = false;
		request_fail(req, TULAY__V1__CODE__UNAVAILABLE,
			     req->handler->mutating
				 ? "the server is busy and nothing was saved: retry with the same "
				   "idempotency key"
				 : "the server is busy; try again shortly");
		return;
	}
	if (outcome == DB_UNAVAILABLE) {
		bool unknown = job->sent && req->handler->mutating;
		req->status.outcome_unknown = unknown;
		request_fail(req, TULAY__V1__CODE__UNAVAILABLE,
			     unknown ? "the database became unavailable while this write was "
				       "sent: it may or may not have been saved; retry with the "
				       "same idempotency key"
				     : "the database is unavailable; try again shortly");
		return;
	}
	req->db_done(req, outcome);
}

const struct db_statement request_statements[] = {
    /* Sets the context from the database's own row, and only while the session is alive
     * and still this user's, in this organisation, with this role: otherwise it raises
     * (28000) and the whole transaction, audit entry included, rolls back. */
    {"tenant_context_checked", "SELECT tulay_enter($4, $1::bigint, $2::bigint, $3)"},
    /* For the Login that is creating the session in this very transaction. */
    {"tenant_context", "SELECT set_config('tulay.org_id', $1, true), "
		       "set_config('tulay.user_id', $2, true), set_config('tulay.role', $3, true)"},
    {"audit", "SELECT audit_append($1, coalesce($2, (SELECT reference FROM cases "
	      "WHERE org_id = tulay_org() AND idempotency_key = $3)), $4)"},
    {"org_by_acronym", "SELECT org_id FROM organisations WHERE acronym = $1"},
};
const unsigned request_statements_count = N_ELEMS(request_statements);

void request_audit(struct request *req, const char *action, const char *target, const char *detail)
{
	req->audit.action = action;
	req->audit.target = target != NULL ? target : "";
	req->audit.case_key = NULL;
	req->audit.case_key_len = 0;
	req->audit.detail = detail != NULL ? detail : "";
}

void request_audit_case_key(struct request *req, const char *action, const void *key, int len)
{
	request_audit(req, action, NULL, NULL);
	req->audit.target = NULL;
	req->audit.case_key = key;
	req->audit.case_key_len = len;
}

const PGresult *request_result(const struct request *req, int i)
{
	assert(req->job_base + i < DB_MAX_QUERIES);
	return req->job.results[req->job_base + i];
}

/* The index in the job of the handler's first query of `statement`, or -1. */
static int request_query_of(const struct request *req, const char *statement)
{
	for (int i = req->job_base; i < req->job.nqueries; i++) {
		if (strcmp(req->job.queries[i].statement, statement) == 0)
			return i;
	}
	return -1;
}

const PGresult *request_result_if(const struct request *req, const char *statement)
{
	int i = request_query_of(req, statement);
	return i >= 0 ? req->job.results[i] : NULL;
}

const PGresult *request_result_of(const struct request *req, const char *statement)
{
	int i = request_query_of(req, statement);
	if (i < 0)
		log_bug("no query %s in the job of request %llu", statement,
			(unsigned long long)req->seq);
	return req->job.results[i];
}

void request_add_audit(struct request *req, struct db_job *job)
{
	if (req->audit.action == NULL)
		return;
	struct db_query *q = db_job_add(job, "audit");
	db_param_text(q, req->audit.action);
	db_param_text(q, req->audit.target);
	if (req->audit.case_key != NULL)
		db_param_bytes(q, req->audit.case_key, req->audit.case_key_len);
	else
		db_param_text(q, NULL);
	db_param_text(q, req->audit.detail);
	req->audit.action = NULL;
}

/* Wraps the handler's queries: tenant context first, audit entry last. Returns false when
 * out of memory. */
static bool request_wrap_job(struct request *req)
{
	struct db_job *job = &req->job;
	req->job_base = 0;
	if (req->session.authenticated) {
		char *org = arena_printf(&req->arena, "%lld", (long long)req->session.org_id);
		char *user = arena_printf(&req->arena, "%lld", (long long)req->session.user_id);
		const char *role = CODE_OF(role, req->session.role);
		if (org == NULL || user == NULL || role == NULL)
			return false;
		assert(job->nqueries < DB_MAX_QUERIES);
		memmove(&job->queries[1], &job->queries[0],
			sizeof(job->queries[0]) * (size_t)job->nqueries);
		job->nqueries++;
		struct db_query *q = &job->queries[0];
		q->statement = req->session_opening ? "tenant_context" : "tenant_context_checked";
		q->nparams = 0;
		DB_PARAMS_TEXT(q, org, user, role);
		if (!req->session_opening)
			db_param_bytes(q, req->session.token_hash, sizeof(req->session.token_hash));
		req->job_base = 1;
	}
	request_add_audit(req, job);
	return true;
}

static void request_on_work(uv_work_t *w)
{
	struct request *req = container_of(w, struct request, work);
	req->work_fn(req);
}

static void request_on_work_done(uv_work_t *w, int status)
{
	struct request *req = container_of(w, struct request, work);
	req->work_done(req, status == 0);
}

void request_offload(struct request *req, void (*work)(struct request *req),
		     void (*done)(struct request *req, bool ok))
{
	req->work_fn = work;
	req->work_done = done;
	int rc = uv_queue_work(&req->srv->loop, &req->work, request_on_work, request_on_work_done);
	if (rc != 0) {
		log_error("event=queue_work_failed req=%llu error=%s", (unsigned long long)req->seq,
			  uv_strerror(rc));
		done(req, false);
	}
}

void request_db(struct request *req, void (*done)(struct request *req, enum db_outcome outcome))
{
	bool standby = req->handler->replica && standby_eligible(req);
	if (standby) {
		req->replica.audit = req->audit;
		req->audit.action = NULL;
	}
	if (!request_wrap_job(req)) {
		request_fail_oom(req);
		return;
	}
	/* A batch shares one transaction, so only jobs that set their own context first may
	 * join one: not those without a session, nor the Login creating it. */
	if (!req->session.authenticated || req->session_opening)
		req->job.batchable = false;
	req->db_done = done;
	if (standby && standby_submit(req))
		return;
	req->replica.staleness_ms = -1; /* this job, the one answered from, runs on the primary */
	req->job.done = request_on_db;
	if (req->srv->db == NULL || !db_pool_submit(req->srv->db, &req->job)) {
		request_fail_shutting_down(req);
		return;
	}
	log_debug("event=request_queued conn=%llu req=%llu type=%s",
		  req->conn != NULL ? (unsigned long long)req->conn->id : 0ULL,
		  (unsigned long long)req->seq, request_type(req));
}

/* Checks the connection's state against what the handler needs. Returns false after
 * ending the request with the reason. */
static bool request_admit(struct request *req, struct conn *c)
{
	const struct handler *h = req->handler;
	if (h->access != ACCESS_HELLO && !c->hello_done) {
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     "send Hello first: every connection starts with Hello");
		return false;
	}
	if (h->access != ACCESS_SESSION)
		return true;
	if (!c->session.authenticated) {
		request_fail(req, TULAY__V1__CODE__UNAUTHENTICATED,
			     "log in first (Login or Authenticate)");
		return false;
	}
	if (c->session.expires_at <= (int64_t)time(NULL)) {
		memset(&c->session, 0, sizeof(c->session));
		request_fail(req, TULAY__V1__CODE__UNAUTHENTICATED,
			     "your session has expired: log in again");
		return false;
	}
	req->session = c->session;
	return true;
}

/* Refuses a request proto/wire.c found wrong before unpacking, naming the field at
 * `path` (copied: the scan lives on the caller's stack). */
static void fail_unread(struct request *req, const char *path, const char *problem)
{
	const char *field = arena_strdup(&req->arena, path);
	request_field_error(req, field != NULL ? field : "", problem);
	request_fail_invalid(req, "the request was not read: correct the fields named");
}

int request_start(struct conn *c, const uint8_t *payload, size_t len)
{
	struct server *srv = c->srv;
	struct request *req = calloc(1, sizeof(*req));
	if (req == NULL) {
		log_error("event=out_of_memory conn=%llu", (unsigned long long)c->id);
		return -1;
	}
	arena_init(&req->arena, REQUEST_ARENA_PER_BYTE * len + REQUEST_ARENA_OVERHEAD);
	req->replica.staleness_ms = -1;
	struct wire_scan scan;
	wire_scan(&tulay__v1__request__descriptor, payload, len, &scan);
	/* Answered before anything is unpacked: too many elements of a repeated field
	 * (INVALID_ARGUMENT naming it, as a handler would), or a request too costly to read
	 * (RESOURCE_EXHAUSTED naming the limit). */
	const char *refusal = NULL, *too_many = NULL;
	if (scan.finding == WIRE_TOO_MANY)
		too_many = arena_printf(&req->arena, "must have at most %zu elements", scan.limit);
	else if (scan.finding == WIRE_TOO_MANY_UNKNOWN)
		refusal =
		    arena_printf(&req->arena,
				 "the request carries more than %d fields this server does not "
				 "know",
				 WIRE_MAX_UNKNOWN_FIELDS);
	else {
		req->msg = tulay__v1__request__unpack(&req->arena.allocator, len, payload);
		if (req->msg == NULL && req->arena.refused) {
			arena_release(&req->arena);
			arena_init(&req->arena, REQUEST_ARENA_OVERHEAD);
			refusal = arena_printf(
			    &req->arena,
			    "the request needs more than %zu bytes of server memory to read: send "
			    "fewer or shorter values",
			    (size_t)REQUEST_ARENA_PER_BYTE * len + REQUEST_ARENA_OVERHEAD);
		}
	}
	if (refusal != NULL || too_many != NULL) {
		/* Answered under its id, as a request of no known type. */
		req->msg = arena_alloc(&req->arena, sizeof(*req->msg));
		if (req->msg != NULL) {
			tulay__v1__request__init(req->msg);
			req->msg->id = scan.id;
		}
		log_warn("event=request_refused conn=%llu peer=%s bytes=%zu reason=%s",
			 (unsigned long long)c->id, c->peer, len,
			 scan.finding == WIRE_CLEAN      ? "unpack_memory"
			 : scan.finding == WIRE_TOO_MANY ? "too_many_elements"
							 : "too_many_unknown_fields");
	}
	if (req->msg == NULL) {
		char sample[80];
		log_warn("event=bad_frame conn=%llu peer=%s reason=not_a_request bytes=%zu "
			 "sample=%s",
			 (unsigned long long)c->id, c->peer, len,
			 log_sample(payload, len, 32, sample, sizeof(sample)));
		arena_release(&req->arena);
		free(req);
		return -1;
	}

	req->srv = srv;
	req->conn = c;
	req->seq = ++srv->next_request_seq;
	req->started_ms = uv_now(&srv->loop);
	tulay__v1__response__init(&req->resp);
	tulay__v1__status__init(&req->status);
	req->resp.id = req->msg->id;
	req->resp.status = &req->status;
	req->status.field_errors = req->field_errors;
	db_job_reset(&req->job);
	req->handler = dispatch_find(req->msg->body_case);

	request_link(c, req);
	c->inflight++;
	srv->requests_in_flight++;
	if (srv->draining) {
		/* Read after SIGTERM: refused at once, whatever it is, so that the client sends
		 * it elsewhere; only what was read before is finished. */
		request_fail_shutting_down(req);
		return 0;
	}
	if (req->handler != NULL && req->handler->barrier)
		c->barrier = true;

	if (refusal != NULL) {
		request_fail(req, TULAY__V1__CODE__RESOURCE_EXHAUSTED, refusal);
		return 0;
	}
	if (too_many != NULL) {
		fail_unread(req, scan.path, too_many);
		return 0;
	}
	if (req->handler == NULL) {
		/* An unknown oneof member lands in the unknown fields: a newer client. */
		if (req->msg->base.n_unknown_fields > 0)
			request_fail(req, TULAY__V1__CODE__UNIMPLEMENTED,
				     "this server does not know that request type");
		else
			request_fail(req, TULAY__V1__CODE__INVALID_ARGUMENT,
				     "the request has no body");
		return 0;
	}
	if (!request_admit(req, c))
		return 0;
	if (scan.finding == WIRE_CONTROL_CHAR) {
		/* Unpacked, the string would have ended at the NUL: refused before any handler
		 * sees it. */
		fail_unread(req, scan.path,
			    scan.nul             ? "must not contain NUL characters"
			    : scan.lines_allowed ? VALIDATE_FREE_TEXT_CONTROL_PROBLEM
						 : VALIDATE_CONTROL_PROBLEM);
		return 0;
	}
	req->handler->fn(req);
	return 0;
}

/* --- the organisation a request names ------------------------------------------------- */

struct request_org_state {
	int64_t *org_id;
	const char *field;
	void (*then)(struct request *req);
	void *caller_state; /* req->state of the calling handler, restored before then() */
	bool others_allowed;
	char acronym[24];
};

static void request_org_resolved(struct request *req, enum db_outcome outcome)
{
	struct request_org_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result_of(req, "org_by_acronym");
	if (PQntuples(res) != 1) {
		request_field_error(req, st->field, "is not a registered organisation acronym");
		request_fail_invalid(req, "unknown organisation");
		return;
	}
	if (!st->others_allowed) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "records of another organisation are not visible to you");
		return;
	}
	*st->org_id = strtoll(db_value(res, 0, "org_id"), NULL, 10);
	db_job_reset(&req->job);
	req->state = st->caller_state;
	st->then(req);
}

void request_resolve_org(struct request *req, const char *acronym, const char *field,
			 bool others_allowed, int64_t *org_id, void (*then)(struct request *req))
{
	struct request_org_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	validate_upper(acronym, st->acronym, sizeof(st->acronym));
	if (*acronym == '\0' || strcmp(st->acronym, req->session.org_acronym) == 0) {
		*org_id = req->session.org_id;
		then(req);
		return;
	}
	if (strlen(acronym) >= sizeof(st->acronym) || validate_acronym(st->acronym) != NULL) {
		request_field_error(req, field, "is not a registered organisation acronym");
		request_fail_invalid(req, "unknown organisation");
		return;
	}
	st->org_id = org_id;
	st->field = field;
	st->then = then;
	st->others_allowed = others_allowed;
	st->caller_state = req->state;
	req->state = st;
	struct db_query *q = db_job_add(&req->job, "org_by_acronym");
	db_param_text(q, st->acronym);
	request_db(req, request_org_resolved);
}
