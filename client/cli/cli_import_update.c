/* tulay import's update path: a row of the importer's own organisation that names a claim
 * by its reference changes that claim's status and amounts, at the version the file was
 * exported at. cli_import.c sends the requests; this decides them, one answer at a time:
 *
 *   GetClaim           the claim as it is now; the row's other cells must still be its own
 *   ChangeClaimStatus  when the row's status differs, at the file's version
 *   UpdateClaimAmounts when amount_awarded or amount_recovered differ, at the version the
 *                      status change left (or the file's)
 *
 * Nothing to change: unchanged. The claim changed since the export (its version is past
 * the file's): stale, flagged, never overwritten. Each request's idempotency key comes
 * from its own content, so a run cut between the two changes and run again finds its
 * status change by replaying it (the server answers a known key with its first answer)
 * and goes on with the amounts; any other change since the export is stale. */
#include "cli_import_claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool money_same(const Tulay__V1__Money *a, const Tulay__V1__Money *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->minor_units == b->minor_units && strcmp(a->currency, b->currency) == 0;
}

static bool means_same(const Tulay__V1__CreateClaim *row, const Tulay__V1__Claim *c)
{
	if (row->n_exploitation_means != c->n_exploitation_means)
		return false;
	for (size_t i = 0; i < row->n_exploitation_means; i++) {
		bool found = false;
		for (size_t j = 0; j < c->n_exploitation_means && !found; j++)
			found = row->exploitation_means[i] == c->exploitation_means[j];
		if (!found)
			return false;
	}
	return true;
}

/* The first of the file's columns whose cell is not the claim's, or COL_COUNT. Only
 * status, amount_awarded and amount_recovered may differ: an import does not rewrite what
 * was recorded at intake. The worker's cells are personal data an export leaves empty
 * (without --with-identities) and are not compared. */
static enum claim_column first_difference(const struct checker *k,
					  const Tulay__V1__CreateClaim *row,
					  const Tulay__V1__Claim *c)
{
	struct {
		enum claim_column col;
		bool same;
	} cells[] = {
	    {COL_WORKER_NATIONALITY, strcmp(row->worker_nationality, c->worker_nationality) == 0},
	    {COL_COUNTRY_OF_WORK, strcmp(row->country_of_work, c->country_of_work) == 0},
	    {COL_SECTOR, row->sector == c->sector},
	    {COL_EMPLOYER, strcmp(row->employer, c->employer) == 0},
	    {COL_WORK_STARTED_ON, strcmp(row->work_started_on, c->work_started_on) == 0},
	    {COL_WORK_ENDED_ON, strcmp(row->work_ended_on, c->work_ended_on) == 0},
	    {COL_AMOUNT_CLAIMED, money_same(row->amount_claimed, c->amount_claimed)},
	    {COL_WORKERS, (row->workers != 0 ? row->workers : 1) == c->workers},
	    {COL_RECRUITMENT_AGENCY, strcmp(row->recruitment_agency, c->recruitment_agency) == 0},
	    {COL_RECRUITMENT_FEE, money_same(row->recruitment_fee, c->recruitment_fee)},
	    {COL_CONTRACT_WAGE, money_same(row->contract_wage, c->contract_wage)},
	    {COL_ACTUAL_WAGE, money_same(row->actual_wage, c->actual_wage)},
	    {COL_EXPLOITATION_MEANS, means_same(row, c)},
	    {COL_FORUM, row->forum == c->forum},
	    {COL_FILING_DEADLINE, strcmp(row->filing_deadline, c->filing_deadline) == 0},
	    {COL_OFFICE, strcmp(row->office, c->office) == 0},
	};
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		if (!cells[i].same && k->where[cells[i].col] >= 0)
			return cells[i].col;
	}
	return COL_COUNT;
}

/* Sets the request's key from its content: the request packed with an empty key. Out of
 * memory, a random key (the change is then not recognised in a run again: stale). */
static void request_key(struct claim_update *u, ProtobufCMessage *msg, ProtobufCBinaryData *key,
			const char *purpose)
{
	*key = (ProtobufCBinaryData){0};
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *bytes = malloc(len > 0 ? len : 1);
	if (bytes != NULL) {
		protobuf_c_message_pack(msg, bytes);
		import_request_key(purpose, bytes, len, u->key);
	} else {
		arc4random_buf(u->key, sizeof(u->key));
	}
	free(bytes);
	key->data = u->key;
	key->len = sizeof(u->key);
}

static enum update_result status_step(struct claim_update *u, Tulay__V1__Request *req,
				      int64_t version)
{
	u->step = UPDATE_STATUS;
	tulay__v1__change_claim_status__init(&u->status);
	u->status.reference = (char *)u->cells.reference;
	u->status.status = u->cells.status;
	u->status.expected_version = version;
	u->status.reason = (char *)u->cells.reason;
	request_key(u, &u->status.base, &u->status.idempotency_key,
		    "tulay import change_claim_status v1");
	tulay__v1__request__init(req);
	req->body_case = TULAY__V1__REQUEST__BODY_CHANGE_CLAIM_STATUS;
	req->change_claim_status = &u->status;
	return UPDATE_SEND;
}

static enum update_result amounts_step(struct claim_update *u, Tulay__V1__Request *req,
				       int64_t version)
{
	u->step = UPDATE_AMOUNTS;
	tulay__v1__update_claim_amounts__init(&u->amounts);
	u->amounts.reference = (char *)u->cells.reference;
	u->amounts.expected_version = version;
	u->amounts.amount_awarded = u->change_awarded ? &u->cells.awarded : NULL;
	u->amounts.amount_recovered = u->change_recovered ? &u->cells.recovered : NULL;
	request_key(u, &u->amounts.base, &u->amounts.idempotency_key,
		    "tulay import update_claim_amounts v1");
	tulay__v1__request__init(req);
	req->body_case = TULAY__V1__REQUEST__BODY_UPDATE_CLAIM_AMOUNTS;
	req->update_claim_amounts = &u->amounts;
	return UPDATE_SEND;
}

static enum update_result stale(const struct claim_update *u, char *why, size_t cap)
{
	snprintf(why, cap,
		 "version: %s was changed since the file was exported (the file has version "
		 "%lld, the claim is at %lld): export it again and make the change there",
		 u->cells.reference, (long long)u->cells.version, (long long)u->current);
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

void claim_update_begin(void *msg, Tulay__V1__Request *req)
{
	struct claim_msg *c = msg;
	struct claim_update *u = &c->up;
	u->cells = c->update;
	u->step = UPDATE_READ;
	tulay__v1__get_claim__init(&u->get);
	u->get.reference = (char *)u->cells.reference;
	tulay__v1__request__init(req);
	req->body_case = TULAY__V1__REQUEST__BODY_GET_CLAIM;
	req->get_claim = &u->get;
}

/* The claim as it is now: what to change, and from which version. */
static enum update_result read_answered(struct claim_update *u, const struct checker *k,
					const Tulay__V1__CreateClaim *row,
					const Tulay__V1__Claim *c, Tulay__V1__Request *req,
					char *why, size_t cap)
{
	u->current = c->version;
	enum claim_column col = first_difference(k, row, c);
	if (col != COL_COUNT) {
		snprintf(why, cap,
			 "%s: differs from %s's: an import changes only the status, "
			 "amount_awarded and amount_recovered of a claim you have; put back the "
			 "claim's (export it again to see it), or leave reference empty to log a "
			 "new claim",
			 k->columns[col].name, c->reference);
		return UPDATE_REFUSED;
	}
	u->change_status = u->cells.status != 0 && u->cells.status != c->status;
	u->change_awarded =
	    u->cells.has_awarded && !money_same(&u->cells.awarded, c->amount_awarded);
	u->change_recovered =
	    u->cells.has_recovered && !money_same(&u->cells.recovered, c->amount_recovered);
	if (!u->change_status && !u->change_awarded && !u->change_recovered)
		return UPDATE_UNCHANGED;
	if (c->version == u->cells.version)
		return u->change_status ? status_step(u, req, c->version)
					: amounts_step(u, req, c->version);
	/* Past the file's version. The status is the row's: perhaps this import moved it in a
	 * run that was cut before the amounts. Its change, sent again with its key, is then
	 * answered as it was the first time; a change of anyone else's leaves it stale. */
	if (u->cells.status != 0 && !u->change_status) {
		u->probing = true;
		return status_step(u, req, u->cells.version);
	}
	return stale(u, why, cap);
}

enum update_result claim_update_next(void *msg, const struct checker *k,
				     const Tulay__V1__Response *resp, Tulay__V1__Request *req,
				     char *why, size_t cap)
{
	struct claim_msg *m = msg;
	struct claim_update *u = &m->up;
	const Tulay__V1__CreateClaim *row = &m->m;
	const Tulay__V1__Status *st = resp->status;
	bool ok = st->code == TULAY__V1__CODE__OK && resp->claim != NULL;
	why[0] = '\0';
	switch (u->step) {
	case UPDATE_READ:
		if (st->code == TULAY__V1__CODE__NOT_FOUND) {
			snprintf(
			    why, cap,
			    "reference: %s is not a claim of your organisation: correct it, or "
			    "leave it empty to log the row as a new claim",
			    u->cells.reference);
			return UPDATE_REFUSED;
		}
		if (!ok)
			return UPDATE_SERVER_REFUSED;
		return read_answered(u, k, row, resp->claim, req, why, cap);
	case UPDATE_STATUS:
		if (!ok)
			return u->probing || names_stale_version(st) ? stale(u, why, cap)
								     : UPDATE_SERVER_REFUSED;
		u->probing = false;
		if (u->change_awarded || u->change_recovered)
			return amounts_step(u, req, resp->claim->version);
		return UPDATE_UPDATED;
	case UPDATE_AMOUNTS:
		if (!ok)
			return names_stale_version(st) ? stale(u, why, cap) : UPDATE_SERVER_REFUSED;
		return UPDATE_UPDATED;
	}
	return UPDATE_SERVER_REFUSED;
}
