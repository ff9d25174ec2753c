/* One request from arrival to response.
 *
 * request_start() unpacks a frame into a fresh per-request arena, checks the connection's
 * state (Hello first, authentication) and calls the handler from the dispatch table. The
 * handler ends the request exactly once, with request_reply() or request_fail(), either at
 * once or from a database or thread-pool callback. Ending writes the response (unless the
 * connection went away meanwhile), logs one line and frees everything the request held. */
#ifndef TULAYD_REQUEST_H
#define TULAYD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "arena.h"
#include "conn.h"
#include "db.h"
#include "tulay/v1/envelope.pb-c.h"

/* The answer to a request read while the server drains (UNAVAILABLE, nothing done), and
 * the GoAway's message (proto/README.md, section 4). */
#define REQUEST_SHUTTING_DOWN                                                                      \
	"the server is shutting down and did nothing with this request: reconnect (to another "    \
	"server, or to this one shortly) and send it again"

struct server;
struct handler;

#define REQUEST_MAX_FIELD_ERRORS 32

struct request {
	struct server *srv;
	struct conn *conn; /* NULL once the connection closed: the response is dropped */
	struct request *prev, *next;
	uint64_t seq; /* server-side number, for logs */
	uint64_t started_ms;
	const struct handler *handler;
	Tulay__V1__Request *msg;
	struct arena arena;

	Tulay__V1__Response resp;
	Tulay__V1__Status status;
	Tulay__V1__FieldError *field_errors[REQUEST_MAX_FIELD_ERRORS];

	struct conn_session session; /* the caller, copied at start */
	struct db_job job;
	int job_base;          /* index in job.results of the handler's first query */
	bool session_opening;  /* a Login writing its session: no liveness check yet */
	struct request_audit { /* the audit entry request_db() adds to the next job, if set */
		const char *action;
		const char *target;
		const void *case_key; /* or: the target is the case with this key */
		int case_key_len;
		const char *detail;
	} audit;
	/* A read a standby serves (handler->replica, --db-replica): its audit entry, written
	 * on the primary once the read succeeded, and how far behind the primary the data it
	 * read may be. staleness_ms is -1 when the primary served the read. */
	struct {
		struct request_audit audit;
		int64_t staleness_ms;
	} replica;
	void (*db_done)(struct request *req, enum db_outcome outcome);
	uv_work_t work; /* for CPU-heavy steps (password hashing): request_offload() */
	void (*work_fn)(struct request *req);
	void (*work_done)(struct request *req, bool ok);
	void *state; /* the handler's own, in the arena */
	/* A response stream waiting for its connection to take more (request_pace). */
	void (*resume)(struct request *req);
	struct request *parked_next;
};

/* Handles one frame's payload for connection c. Returns 0, or -1 when the payload is not a
 * tulay.v1.Request (the caller closes the connection; the reason is logged here). */
int request_start(struct conn *c, const uint8_t *payload, size_t len);

/* Ends the request with status OK and whatever body the handler set on req->resp. */
void request_reply(struct request *req);
/* Answers with body BODY (a TULAY__V1__RESPONSE__BODY_ suffix) in field `field` of the
 * Response: REQUEST_REPLY(req, CLAIM, claim, claim). */
#define REQUEST_REPLY(req, BODY, field, value)                                                     \
	do {                                                                                       \
		(req)->resp.body_case = TULAY__V1__RESPONSE__BODY_##BODY;                          \
		(req)->resp.field = (value);                                                       \
		request_reply(req);                                                                \
	} while (0)

/* --- response streams (proto/README.md): several Responses for one request ----------- */

/* Sends req->resp, status OK with the body the handler set, as one part of the request's
 * answer without ending the request: more Responses with its id follow, the last ended as
 * any request is (request_reply, request_fail). False when the connection is gone: the
 * handler then ends the request, whose answer is dropped. */
bool request_send_part(struct request *req);

/* The pace of a stream is the client's. True when the handler may go on at once: the
 * connection has less than half of max_output_bytes unwritten, or it is gone, or the
 * server drains. Otherwise the request waits, and resume(req) is called from the loop
 * once one of those holds (at once when the server stops). */
bool request_pace(struct request *req, void (*resume)(struct request *req));

/* For server.c: the check of waiting streams, every REQUEST_PACE_MS while any waits, and
 * at the stop (every waiting stream resumed). */
#define REQUEST_PACE_MS 5
void request_resume_paced(struct server *srv, bool all);

/* Ends the request with `code` and `message` (a sentence for the user; no internals;
 * NULL gives a generic sentence). */
void request_fail(struct request *req, Tulay__V1__Code code, const char *message);

/* Ends the request UNAVAILABLE, REQUEST_SHUTTING_DOWN, with Status.reconnect: the server is
 * shutting down and did nothing with it. */
void request_fail_shutting_down(struct request *req);

/* Ends the request with RESOURCE_EXHAUSTED, "out of memory": its arena is full or
 * malloc failed. */
void request_fail_oom(struct request *req);

/* When `p` is NULL (an allocation failed), ends the request as request_fail_oom does and
 * returns true; else false: `if (request_oom(req, p)) return;`. */
bool request_oom(struct request *req, const void *p);

/* A PostgreSQL array literal of `values` as the text of a text[], integer[] or bytea[]
 * parameter, in the arena: every element quoted, '"' and '\' escaped ({"a","b\"c"}),
 * NULL ones as NULL; NULL when out of memory. The one way handlers pass arrays. */
char *request_array_param(struct request *req, const char *const *values, size_t n);

/* `bytes` as the text of a bytea ("\x0a1b..."), in the arena, for request_array_param;
 * NULL for NULL bytes, and when out of memory (*oom then). */
const char *request_bytea_text(struct request *req, const uint8_t *bytes, size_t len, bool *oom);

/* Records that `field` (its path in the request message, e.g. "amount_claimed.currency")
 * is invalid because of `problem` (static or arena storage). */
void request_field_error(struct request *req, const char *field, const char *problem);

/* True if request_field_error() was called. */
bool request_has_field_errors(const struct request *req);

/* Resolves the organisation a request names by acronym (`field` is its name in the
 * request). An empty acronym or the caller's own means the caller's organisation. Another
 * organisation must exist (else INVALID_ARGUMENT on `field`) and be allowed by the caller
 * (`others_allowed`, else PERMISSION_DENIED: case records never are, whatever the role).
 * On success stores the id in *org_id and calls then(req); on failure ends the request. */
void request_resolve_org(struct request *req, const char *acronym, const char *field,
			 bool others_allowed, int64_t *org_id, void (*then)(struct request *req));

/* Ends the request with INVALID_ARGUMENT and the recorded field errors. */
void request_fail_invalid(struct request *req, const char *message);

/* Runs req->job (filled by the handler with db_job_add/db_param_*) on the pool, as one
 * transaction. For an authenticated caller the transaction first sets the tenant context
 * (organisation, user, role) that PostgreSQL's row-level security policies read, and it
 * ends with the audit entry recorded by request_audit(), if any: the action and its audit
 * entry commit together or not at all. When the database is unavailable the request fails
 * with UNAVAILABLE by itself (flagged outcome_unknown for a mutating request that may have
 * reached PostgreSQL), and so it does, saying the server is busy and nothing was saved,
 * when every connection stayed taken for the queue timeout (DB_BUSY, logged at warn with
 * the queue depth); otherwise done(req, DB_OK or DB_QUERY_ERROR) is called, and
 * request_result(req, i) is the result of the handler's i-th query. */
void request_db(struct request *req, void (*done)(struct request *req, enum db_outcome outcome));

/* The result of the handler's i-th query of the last job (not counting the tenant context
 * and audit queries request_db adds). */
const PGresult *request_result(const struct request *req, int i);

/* The result of the handler's query of `statement` (its first, if it sent that statement
 * more than once). request_result_of insists that the job had one: a handler that asks
 * for a statement it never sent is a bug, logged before tulayd aborts. request_result_if
 * answers NULL instead, for queries a handler sends only sometimes. */
const PGresult *request_result_of(const struct request *req, const char *statement);
const PGresult *request_result_if(const struct request *req, const char *statement);

/* Records the audit entry for the next request_db(): `action` ("read_claim"), `target`
 * (what it acted on, e.g. a reference; no personal data) and `detail` (e.g. the filters of
 * a list). Strings must outlive the job. */
void request_audit(struct request *req, const char *action, const char *target, const char *detail);

/* Like request_audit, with the target being the reference of the case created under
 * idempotency key `key` in the same transaction. */
void request_audit_case_key(struct request *req, const char *action, const void *key, int len);

/* Runs work(req) on libuv's thread pool, for CPU-heavy steps such as password hashing
 * that must not stall the event loop, then done(req, ok) on the loop (ok is false if the
 * work could not be queued or was cancelled). work() may touch only req->state and
 * req->msg: nothing else of the request is used while it runs. */
void request_offload(struct request *req, void (*work)(struct request *req),
		     void (*done)(struct request *req, bool ok));

/* Prepared statements of the request layer (tenant context, audit). */
extern const struct db_statement request_statements[];
extern const unsigned request_statements_count;

/* Ends a mutating request whose idempotency key was used before for other content, with
 * ALREADY_EXISTS and a field error on idempotency_key; `noun` names what the key created
 * ("claim"). */
void request_fail_key_reused(struct request *req, const char *noun);

/* For a database error the handler did not expect: logs the SQLSTATE and message and ends
 * the request with INTERNAL. */
void request_fail_db(struct request *req);

/* Allocates zeroed memory in the request's arena; NULL means the request is over its memory
 * cap (the caller should request_fail RESOURCE_EXHAUSTED). */
void *request_alloc(struct request *req, size_t size) __attribute__((warn_unused_result));

/* The name of the request type, for logs ("create_claim"). */
const char *request_type(const struct request *req);

/* For standby.c: appends the audit entry request_audit() set, if any, to job (one entry per
 * call); and the primary's completion of a request's job. */
void request_add_audit(struct request *req, struct db_job *job);
void request_on_db(struct db_job *job, enum db_outcome outcome);

#endif
