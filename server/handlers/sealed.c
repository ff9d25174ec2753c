/* Sealed requests (outbox.proto): a case write that waited in a field office's outbox,
 * sealed there to this deployment's public key so that the device cannot read it back.
 * It is opened here, checked as request_start() checks a frame, and handed to its own
 * handler as if it had come in the clear under the carrying Request's id: the same
 * validation, the same idempotency (a resend after a cut link is answered as the first),
 * the same audit entry. */
#include <stdio.h>

#include "common.h"
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
	log_debug("event=request_unsealed conn=%llu req=%llu type=%s bytes=%zu",
		  (unsigned long long)req->conn->id, (unsigned long long)req->seq, h->name, len);
	inner->id = req->msg->id;
	req->msg = inner;
	req->handler = h;
	h->fn(req);
}
