/* Wage-theft claims: a claim message from the rows of wage_theft_claim_view, its worker's
 * identity opened with the data key (bound to the organisation and the claim's key), its
 * group's other workers and its timeline added. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "case_common.h"
#include "claims.h"
#include "common.h"
#include "handlers.h"
#include "log.h"
#include "money.h"
#include "request.h"
#include "vault.h"

/* The text of column `name` of the row, copied into the request's arena (NULL: out of
 * memory). */
static char *text_of(struct request *req, const PGresult *res, int row, const char *name)
{
	return arena_strdup(&req->arena, PQgetvalue(res, row, db_column(res, name)));
}

static bool claim_details_from_row(struct request *req, const PGresult *res, int row,
				   Tulay__V1__Claim *c)
{
	bool oom = false;
	c->recruitment_agency = text_of(req, res, row, "recruitment_agency");
	c->recruitment_fee = case_money(req, res, row, "recruitment_fee", &oom);
	c->contract_wage = case_money(req, res, row, "contract_wage", &oom);
	c->actual_wage = case_money(req, res, row, "actual_wage", &oom);
	c->forum = (Tulay__V1__ClaimForum)VALUE_OF(claim_forum, db_value(res, row, "forum"));
	c->filing_deadline = text_of(req, res, row, "filing_deadline");
	c->amount_awarded = case_money(req, res, row, "amount_awarded", &oom);
	c->amount_recovered = case_money(req, res, row, "amount_recovered", &oom);
	/* "id_confiscated,threats" */
	c->exploitation_means = (Tulay__V1__ExploitationMeans *)case_code_list_values(
	    req, db_value(res, row, "exploitation_means"), ENUM_OF(exploitation_means),
	    &c->n_exploitation_means);
	if (c->exploitation_means == NULL || c->recruitment_agency == NULL ||
	    c->filing_deadline == NULL || oom)
		return false;
	return true;
}

Tulay__V1__Claim *claim_from_row(struct request *req, const PGresult *res, int row)
{
	Tulay__V1__Claim *c = request_alloc(req, sizeof(*c));
	Tulay__V1__Money *amount = request_alloc(req, sizeof(*amount));
	if (c == NULL || amount == NULL)
		return NULL;
	tulay__v1__claim__init(c);
	tulay__v1__money__init(amount);
	c->reference = text_of(req, res, row, "reference");
	c->organisation = text_of(req, res, row, "organisation");
	c->status = (Tulay__V1__ClaimStatus)VALUE_OF(claim_status, db_value(res, row, "status"));
	c->worker_nationality = text_of(req, res, row, "worker_nationality");
	c->country_of_work = text_of(req, res, row, "country_of_work");
	c->sector = (Tulay__V1__Sector)VALUE_OF(sector, db_value(res, row, "sector"));
	c->employer = text_of(req, res, row, "employer");
	c->work_started_on = text_of(req, res, row, "work_started_on");
	c->work_ended_on = text_of(req, res, row, "work_ended_on");
	amount->minor_units = strtoll(db_value(res, row, "amount_claimed_minor"), NULL, 10);
	amount->currency = text_of(req, res, row, "amount_claimed_currency");
	c->amount_claimed = amount;
	c->workers = (uint32_t)strtoul(db_value(res, row, "workers"), NULL, 10);
	c->opened_on = text_of(req, res, row, "opened_on");
	c->version = strtoll(db_value(res, row, "version"), NULL, 10);
	c->created_by = text_of(req, res, row, "created_by");
	c->created_at = strtoll(db_value(res, row, "created_at"), NULL, 10);
	c->closed_on = text_of(req, res, row, "closed_on");
	c->office = text_of(req, res, row, "office");
	if (c->reference == NULL || c->organisation == NULL || c->worker_nationality == NULL ||
	    c->country_of_work == NULL || c->employer == NULL || c->work_started_on == NULL ||
	    c->work_ended_on == NULL || amount->currency == NULL || c->opened_on == NULL ||
	    c->created_by == NULL || c->closed_on == NULL || c->office == NULL)
		return NULL;
	return claim_details_from_row(req, res, row, c) ? c : NULL;
}

const char *const claim_identity_columns[3] = {"worker_name_enc", "worker_id_number_enc",
					       "worker_phone_enc"};

/* Opens the sealed worker identity of a row read with CLAIM_IDENTITY_COLUMNS. Returns
 * false if a ciphertext fails its integrity check: altered, or moved from another row or
 * column (the associated data binds organisation, table, column and the case's key). */
static bool claim_open_identity(struct request *req, const PGresult *res, int row,
				Tulay__V1__Claim *claim)
{
	Tulay__V1__Worker *w = request_alloc(req, sizeof(*w));
	size_t key_len = 0;
	uint8_t *key = case_bytea(req, res, row, db_column(res, "idempotency_key"), &key_len);
	if (w == NULL || key == NULL)
		return false;
	tulay__v1__worker__init(w);
	char **fields[] = {&w->name, &w->id_number, &w->phone};
	for (size_t i = 0; i < N_ELEMS(fields); i++) {
		int col = db_column(res, claim_identity_columns[i]);
		if (PQgetisnull(res, row, col))
			continue;
		struct vault_place place = {
		    .org_id = strtoll(db_value(res, row, "org_id"), NULL, 10),
		    .table = "wage_theft_claims",
		    .column = claim_identity_columns[i],
		    .row = key,
		    .row_len = key_len,
		};
		size_t len = 0;
		uint8_t *sealed = case_bytea(req, res, row, col, &len);
		char *plain = sealed != NULL ? vault_open(&req->arena, sealed, len, &place) : NULL;
		if (plain == NULL) {
			log_error("event=identity_integrity_failure conn=%llu req=%llu column=%s "
				  "reference=%s",
				  req->conn != NULL ? (unsigned long long)req->conn->id : 0ULL,
				  (unsigned long long)req->seq, claim_identity_columns[i],
				  claim->reference);
			return false;
		}
		*fields[i] = plain;
	}
	claim->worker = w;
	return true;
}

/* The claim in the first row of a CLAIM_IDENTITY_COLUMNS result, its identity opened.
 * Returns NULL after ending the request when that fails. */
static Tulay__V1__Claim *claim_build(struct request *req, const PGresult *res)
{
	Tulay__V1__Claim *claim = claim_from_row(req, res, 0);
	if (claim == NULL) {
		request_fail_oom(req);
		return NULL;
	}
	if (!claim_open_identity(req, res, 0, claim)) {
		request_fail(req, TULAY__V1__CODE__DATA_LOSS,
			     "the worker's personal details of this claim fail their integrity "
			     "check: they were altered in the database; the incident is logged");
		return NULL;
	}
	return claim;
}

/* The other workers of a group claim (a claim_workers_of result), opened. Their sealed
 * fields are bound to the claim's key followed by the worker's position. */
const char *const claim_co_worker_columns[3] = {"name", "id_number", "phone"};
/* Their columns in a claim_workers_of result. */
static const char *const co_worker_sealed_columns[3] = {"name_enc", "id_number_enc", "phone_enc"};

uint8_t *claim_co_worker_key(struct request *req, const uint8_t *key, size_t len, unsigned position)
{
	uint8_t *k = request_alloc(req, len + 1);
	if (k != NULL) {
		memcpy(k, key, len);
		k[len] = (uint8_t)position;
	}
	return k;
}

static bool claim_open_co_workers(struct request *req, const PGresult *res, int64_t org_id,
				  Tulay__V1__Claim *claim)
{
	int n = PQntuples(res);
	claim->co_workers = request_alloc(req, sizeof(*claim->co_workers) * (size_t)(n + 1));
	if (claim->co_workers == NULL)
		return false;
	for (int row = 0; row < n; row++) {
		Tulay__V1__Worker *w = request_alloc(req, sizeof(*w));
		size_t key_len = 0;
		uint8_t *key =
		    case_bytea(req, res, row, db_column(res, "idempotency_key"), &key_len);
		unsigned position = (unsigned)strtoul(db_value(res, row, "position"), NULL, 10);
		uint8_t *row_key =
		    key != NULL ? claim_co_worker_key(req, key, key_len, position) : NULL;
		if (w == NULL || row_key == NULL)
			return false;
		tulay__v1__worker__init(w);
		char **fields[] = {&w->name, &w->id_number, &w->phone};
		for (size_t i = 0; i < N_ELEMS(fields); i++) {
			int col = db_column(res, co_worker_sealed_columns[i]);
			if (PQgetisnull(res, row, col))
				continue;
			size_t len = 0;
			uint8_t *sealed = case_bytea(req, res, row, col, &len);
			struct vault_place place = {org_id, "claim_workers",
						    claim_co_worker_columns[i], row_key,
						    key_len + 1};
			char *plain =
			    sealed != NULL ? vault_open(&req->arena, sealed, len, &place) : NULL;
			if (plain == NULL) {
				log_error("event=identity_integrity_failure req=%llu "
					  "column=claim_workers.%s reference=%s position=%u",
					  (unsigned long long)req->seq, claim_co_worker_columns[i],
					  claim->reference, position);
				return false;
			}
			*fields[i] = plain;
		}
		claim->co_workers[row] = w;
	}
	claim->n_co_workers = (size_t)n;
	return true;
}

/* The claim of a CLAIM_IDENTITY_COLUMNS result with its lead worker and, from a
 * claim_workers_of result, the others; NULL after ending the request. */
Tulay__V1__Claim *claim_build_group(struct request *req, const PGresult *res,
				    const PGresult *workers)
{
	Tulay__V1__Claim *claim = claim_build(req, res);
	if (claim == NULL)
		return NULL;
	int64_t org_id = strtoll(db_value(res, 0, "org_id"), NULL, 10);
	if (!claim_open_co_workers(req, workers, org_id, claim)) {
		request_fail(req, TULAY__V1__CODE__DATA_LOSS,
			     "the other workers' personal details of this claim fail their "
			     "integrity check; the incident is logged");
		return NULL;
	}
	return claim;
}

void claim_send(struct request *req, Tulay__V1__Claim *claim)
{
	req->resp.body_case = TULAY__V1__RESPONSE__BODY_CLAIM;
	req->resp.claim = claim;
	request_reply(req);
}

void claim_reply(struct request *req, const PGresult *res)
{
	Tulay__V1__Claim *claim = claim_build(req, res);
	if (claim != NULL)
		claim_send(req, claim);
}
