/* tulay import's update path: a row of the importer's own organisation that names a case by
 * its reference brings that case to the row's values, at the version the file was exported
 * at. cli_import.c sends the requests; this decides them, one answer at a time, for any
 * kind (struct import_kind says what to read, compare and send):
 *
 *   the Get            the case as it is now; the kind compares the row with it: cells
 *                      recorded at intake must still be the case's (an import does not
 *                      rewrite them), and each change the kind can make is a step (a
 *                      claim's status, then its amounts; a deportation's stages)
 *   each step that     sent in order, the first at the file's version, each next one at
 *   differs            the version the one before left
 *
 * Nothing differs: unchanged. The case changed since the export (its version is past the
 * file's): stale, flagged, never overwritten, unless the changes since were this import's
 * own, in a run that was cut. Each step's idempotency key comes from its content, so
 * the steps that already have the row's values are sent again, in order, at the versions
 * they would have gone at: one this import made is answered as it was the first time (the
 * server replays a known key) and accounts for a version; one it did not make fails as
 * stale and changes nothing. Such probes are sent only while the versions so accounted for
 * stay below the case's, so a probe can never be applied anew. The steps left are then
 * sent; if others changed the case meanwhile, the first is refused as stale. */
#include "cli_import_kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool import_money_same(const Tulay__V1__Money *a, const Tulay__V1__Money *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->minor_units == b->minor_units && strcmp(a->currency, b->currency) == 0;
}

void import_step_key(ProtobufCMessage *msg, ProtobufCBinaryData *key_field,
		     uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES])
{
	*key_field = (ProtobufCBinaryData){0};
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *bytes = malloc(len > 0 ? len : 1);
	if (bytes != NULL) {
		protobuf_c_message_pack(msg, bytes);
		import_request_key(msg->descriptor->name, bytes, len, key);
	} else {
		/* Out of memory: a key of its own (the step is then not recognised in a run
		 * again, and the row is flagged stale there). */
		arc4random_buf(key, TULAY_IDEMPOTENCY_KEY_BYTES);
	}
	free(bytes);
	key_field->data = key;
	key_field->len = TULAY_IDEMPOTENCY_KEY_BYTES;
}

static enum update_result stale(const struct import_kind *kind, const struct import_update *u,
				char *why, size_t cap)
{
	snprintf(why, cap,
		 "version: %s was changed since the file was exported (the file has version "
		 "%lld, the %s is at %lld): export it again and make the change there",
		 u->reference, (long long)u->file_version, kind->noun, (long long)u->current);
	return UPDATE_STALE;
}

static bool names_stale_version(const Tulay__V1__Status *st)
{
	for (size_t i = 0; i < st->n_field_errors; i++) {
		if (strcmp(st->field_errors[i]->field, "expected_version") == 0)
			return true;
	}
	return false;
}

void import_update_begin(const struct import_kind *kind, void *msg, const char *reference,
			 int64_t file_version, struct import_update *u, Tulay__V1__Request *req)
{
	*u = (struct import_update){
	    .reference = reference, .file_version = file_version, .reading = true};
	kind->update_read(msg, reference, req);
}

/* The next step to send from u->step on, or UPDATE_UPDATED when none is left. */
static enum update_result next_step(const struct import_kind *kind, void *msg,
				    struct import_update *u, Tulay__V1__Request *req)
{
	for (; u->step < u->nsteps; u->step++) {
		if (u->probing && u->expected >= u->current)
			u->probing = false; /* every version since the file's is accounted for */
		if (u->differs[u->step] || u->probing) {
			kind->update_step(msg, u->step, u->differs[u->step], u->expected, u->key,
					  req);
			return UPDATE_SEND;
		}
	}
	return UPDATE_UPDATED;
}

enum update_result import_update_next(const struct import_kind *kind, void *msg,
				      struct import_update *u, const struct checker *k,
				      const Tulay__V1__Response *resp, Tulay__V1__Request *req,
				      char *why, size_t cap)
{
	const Tulay__V1__Status *st = resp->status;
	int64_t version = kind->case_version(resp);
	bool ok = st->code == TULAY__V1__CODE__OK && version > 0;
	why[0] = '\0';
	if (u->reading) {
		u->reading = false;
		if (st->code == TULAY__V1__CODE__NOT_FOUND) {
			snprintf(why, cap,
				 "reference: %s is not a %s of your organisation: correct it, or "
				 "leave it empty to log the row as a new one",
				 u->reference, kind->noun);
			return UPDATE_REFUSED;
		}
		if (!ok)
			return UPDATE_SERVER_REFUSED;
		if (!kind->update_plan(msg, k, resp, &u->nsteps, u->differs, why, cap))
			return UPDATE_REFUSED;
		bool any = false;
		for (int i = 0; i < u->nsteps; i++)
			any = any || u->differs[i];
		if (!any)
			return UPDATE_UNCHANGED;
		u->current = version;
		u->expected = u->file_version;
		u->probing = version != u->file_version;
		u->step = 0;
		return next_step(kind, msg, u, req);
	}
	bool probe = u->probing && !u->differs[u->step];
	if (ok) {
		u->expected = version;
		u->step++;
		return next_step(kind, msg, u, req);
	}
	if (probe) {
		u->step++; /* not this import's: it had the row's value before */
		return next_step(kind, msg, u, req);
	}
	if (u->probing || names_stale_version(st))
		return stale(kind, u, why, cap);
	return UPDATE_SERVER_REFUSED;
}
