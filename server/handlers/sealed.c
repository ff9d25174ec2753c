/* Sealed requests (outbox.proto): a case write that waited in a field office's outbox,
 * sealed there to this deployment's public key so that the device cannot read it back.
 * It is opened here, checked as request_start() checks a frame, and handed to its own
 * handler as if it had come in the clear under the carrying Request's id: the same
 * validation, the same idempotency (a resend after a cut link is answered as the first),
 * the same audit entry. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "case_common.h"
#include "dispatch.h"
#include "handlers.h"
#include "log.h"
#include "request.h"
#include "validate.h"
#include "vault.h"
#include "wire.h"

static void refuse(struct request *req, const char *field, const char *problem)
{
	request_field_error(req, field, problem);
	request_fail_invalid(req, "the sealed request was not opened: see the field named");
}

const struct db_statement sealed_statements[] = {
    /* The case a queued write logged, by that write's key, in the caller's organisation. */
    {"case_by_creating_key",
     "SELECT reference FROM cases WHERE org_id = $1 AND idempotency_key = $2"},
};
const unsigned sealed_statements_count = N_ELEMS(sealed_statements);

struct sealed_state {
	const Tulay__V1__SealedRequest *outer;
};

/* Puts `reference` in place of `placeholder` wherever that is the whole value of a string
 * field, or an element of a repeated one, of the body message `body`. Returns how many. */
static size_t substitute(ProtobufCMessage *body, const char *placeholder, const char *reference)
{
	size_t n = 0;
	const ProtobufCMessageDescriptor *d = body->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		size_t count = 0;
		char **values = wire_string_values(body, &d->fields[i], &count);
		for (size_t k = 0; values != NULL && k < count; k++) {
			if (values[k] != NULL && strcmp(values[k], placeholder) == 0) {
				values[k] = (char *)reference;
				n++;
			}
		}
	}
	return n;
}

static void local_cases_found(struct request *req, enum db_outcome outcome)
{
	struct sealed_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	ProtobufCMessage *body = wire_request_body(req->msg);
	for (size_t i = 0; i < st->outer->n_local_cases; i++) {
		const Tulay__V1__LocalCase *lc = st->outer->local_cases[i];
		const PGresult *res = request_result(req, (int)i);
		const char *field = arena_printf(&req->arena, "local_cases[%zu]", i);
		if (PQntuples(res) != 1) {
			request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
				     arena_printf(&req->arena,
						  "%s: the case it names (%s) is not logged: send "
						  "the queued write that logs it first",
						  field != NULL ? field : "local_cases",
						  lc->placeholder));
			return;
		}
		char *reference = arena_strdup(&req->arena, db_value(res, 0, "reference"));
		if (reference == NULL) {
			request_fail_oom(req);
			return;
		}
		if (body == NULL || substitute(body, lc->placeholder, reference) == 0) {
			request_field_error(req, field != NULL ? field : "local_cases",
					    "names a placeholder the sealed write does not hold");
			request_fail_invalid(req,
					     "the sealed request was not opened: see the field "
					     "named");
			return;
		}
	}
	db_job_reset(&req->job);
	req->state = NULL;
	req->handler->fn(req);
}

/* Finds the cases the sealed write names by their queued writes' keys, then hands it to
 * its handler with their references in place (local_cases_found). */
static void sealed_resolve_local_cases(struct request *req, const Tulay__V1__SealedRequest *outer)
{
	for (size_t i = 0; i < outer->n_local_cases; i++) {
		const Tulay__V1__LocalCase *lc = outer->local_cases[i];
		const char *p = lc->placeholder;
		bool ok = strncmp(p, "local:", 6) == 0 && p[6] != '\0' && strlen(p) <= 6 + 18;
		for (const char *c = p + 6; ok && *c != '\0'; c++)
			ok = *c >= '0' && *c <= '9';
		if (!ok)
			request_field_error(
			    req, arena_printf(&req->arena, "local_cases[%zu].placeholder", i),
			    "must be local: and the outbox entry's number, e.g. local:7");
		const char *problem = validate_idempotency_key(lc->idempotency_key.len);
		if (problem != NULL)
			request_field_error(
			    req, arena_printf(&req->arena, "local_cases[%zu].idempotency_key", i),
			    problem);
	}
	if (request_has_field_errors(req)) {
		request_fail_invalid(req,
				     "the sealed request was not opened: see the fields named");
		return;
	}
	struct sealed_state *st = request_alloc(req, sizeof(*st));
	char *org = case_int_param(req, req->session.org_id);
	if (st == NULL || org == NULL) {
		request_fail_oom(req);
		return;
	}
	st->outer = outer;
	req->state = st;
	for (size_t i = 0; i < outer->n_local_cases; i++) {
		struct db_query *q = db_job_add(&req->job, "case_by_creating_key");
		db_param_text(q, org);
		db_param_bytes(q, outer->local_cases[i]->idempotency_key.data,
			       (int)outer->local_cases[i]->idempotency_key.len);
	}
	request_db(req, local_cases_found);
}

void handle_sealed_request(struct request *req)
{
	const ProtobufCBinaryData *sealed = &req->msg->sealed_request->sealed;
	size_t len = 0;
	uint8_t *bytes = vault_unseal(&req->arena, sealed->data, sealed->len, &len);
	if (bytes == NULL) {
		if (req->arena.refused) {
			request_fail_oom(req);
			return;
		}
		refuse(req, "sealed",
		       "cannot be opened with this server's key: it was sealed to another "
		       "deployment's key (log in to this one to pin its key, and queue the write "
		       "again) or it was altered");
		return;
	}
	/* The frame checks of request_start(), on the opened bytes; field errors name the
	 * inner request's fields, as if it had been sent in the clear. */
	struct wire_scan scan;
	wire_scan(&tulay__v1__request__descriptor, bytes, len, &scan);
	switch (scan.finding) {
	case WIRE_CLEAN:
		break;
	case WIRE_TOO_MANY:
		refuse(req, arena_strdup(&req->arena, scan.path),
		       arena_printf(&req->arena, "must have at most %zu elements", scan.limit));
		return;
	case WIRE_TOO_MANY_UNKNOWN:
		refuse(req, "sealed", "holds more fields than this server knows");
		return;
	case WIRE_CONTROL_CHAR:
		refuse(req, arena_strdup(&req->arena, scan.path),
		       scan.nul             ? "must not contain NUL characters"
		       : scan.lines_allowed ? VALIDATE_FREE_TEXT_CONTROL_PROBLEM
					    : VALIDATE_CONTROL_PROBLEM);
		return;
	}
	Tulay__V1__Request *inner = tulay__v1__request__unpack(&req->arena.allocator, len, bytes);
	if (inner == NULL) {
		if (req->arena.refused)
			request_fail_oom(req);
		else
			refuse(req, "sealed", "does not hold a tulay.v1.Request");
		return;
	}
	const struct handler *h = dispatch_find(inner->body_case);
	if (h == NULL || !wire_sealable(inner->body_case)) {
		refuse(req, "sealed",
		       "must hold a write about a case (CreateClaim, ChangeClaimStatus, "
		       "AddCaseNote, ...: proto/README.md, \"Sealed requests\")");
		return;
	}
	log_debug("event=request_unsealed conn=%llu req=%llu type=%s bytes=%zu local_cases=%zu",
		  (unsigned long long)req->conn->id, (unsigned long long)req->seq, h->name, len,
		  req->msg->sealed_request->n_local_cases);
	Tulay__V1__SealedRequest *outer = req->msg->sealed_request;
	inner->id = req->msg->id;
	req->msg = inner;
	req->handler = h;
	if (outer->n_local_cases == 0) {
		h->fn(req);
		return;
	}
	sealed_resolve_local_cases(req, outer);
}
