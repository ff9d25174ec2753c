/* Wage-theft claims: log one (idempotently), and a claim's message from the rows of
 * wage_theft_claim_view (every claim request answers with it), its worker's identity
 * opened with the data key (bound to the organisation and the claim's key), its group's
 * other workers and its timeline added. Showing and listing them is claim_reads.c, their
 * lifecycle (status, notes, amounts, payments) claim_lifecycle.c. */
#include <ctype.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include <sodium.h>

#include "common.h"
#include "case_common.h"
#include "claims.h"
#include "handlers.h"
#include "money.h"
#include "request.h"
#include "log.h"
#include "validate.h"
#include "vault.h"

#define CLAIM_MAX_WORKERS 100000

/* create_wage_theft_claims() over `arrays`, each claim's row as claim_create's and
 * claim_by_key's results would be (db_merge's parts). */
#define CLAIM_CREATE_MERGED(arrays)                                                                \
	"SELECT m.m_ord, NULL AS claim_create, m.m_case_id AS case_id, m.m_outcome AS outcome, "   \
	"NULL AS claim_by_key, " CLAIM_IDENTITY_COLUMNS " FROM create_wage_theft_claims(" arrays   \
	") m, LATERAL (SELECT (m.m_claim).*) v ORDER BY m.m_ord"
#define CLAIM_MERGED_ARRAYS_27                                                                     \
	"$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "     \
	"$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], "             \
	"$14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], "           \
	"$20::text[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], "           \
	"$26::text[], $27::text[]"

const struct db_statement claims_statements[] = {
    /* The details of a claim just created (or replayed: then the same values), in the
     * same transaction; a reused key with other content matches nothing. The case is
     * found first, by its key (a subquery run once), and its claim by primary key: as a
     * join, the generic plan read every claim of the organisation under row-level
     * security, 1 s a claim at 3,000 of them. */
    {"claim_details",
     "UPDATE wage_theft_claims w SET recruitment_agency = $3, recruitment_fee_minor = $4, "
     "recruitment_fee_currency = $5, contract_wage_minor = $6, contract_wage_currency = $7, "
     "actual_wage_minor = $8, actual_wage_currency = $9, forum = $10, filing_deadline = $11, "
     "exploitation_means = $12::text[] WHERE w.org_id = $1 AND w.case_id = (SELECT c.case_id "
     "FROM cases c WHERE c.org_id = $1 AND c.idempotency_key = $2 AND c.request_hash = $13)"},
    {"claim_create", "SELECT case_id, outcome FROM create_wage_theft_claim("
		     "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
		     "$17)"},
    /* Plain CreateClaims waiting together, in one statement (db.c, "Merged batches";
     * migration 0018): the parameters of claim_create_shape's statements as arrays. */
    {"claim_create_merged", CLAIM_CREATE_MERGED(CLAIM_MERGED_ARRAYS_27)},
    /* The same for CreateClaims with details (migration 0027): claim_details's parameters
     * between the create's and the read-back's. */
    {"claim_create_merged_details",
     CLAIM_CREATE_MERGED(CLAIM_MERGED_ARRAYS_27
			 ", $28::text[], $29::text[], $30::text[], "
			 "$31::text[], $32::text[], $33::text[], $34::text[], "
			 "$35::text[], $36::text[], $37::text[], $38::text[], "
			 "$39::text[], $40::text[]")},
    {"claim_office", "SELECT case_set_office($1, $2, $3, $4)"},
    /* The other workers of a group claim, sealed; replays insert nothing new. */
    {"claim_workers_add",
     "INSERT INTO claim_workers (org_id, case_id, position, name_enc, id_number_enc, "
     "phone_enc, id_number_index) SELECT c.org_id, c.case_id, w.position, w.name_enc, "
     "w.id_enc, w.phone_enc, w.idx FROM cases c, unnest($4::bytea[], $5::bytea[], "
     "$6::bytea[], $7::bytea[]) WITH ORDINALITY AS w(name_enc, id_enc, phone_enc, idx, "
     "position) WHERE c.org_id = $1 AND c.idempotency_key = $2 AND c.request_hash = $3 "
     "ON CONFLICT DO NOTHING"},
    {"claim_workers_of",
     "SELECT w.position, w.name_enc, w.id_number_enc, w.phone_enc, c.idempotency_key "
     "FROM claim_workers w JOIN cases c ON c.org_id = w.org_id AND c.case_id = w.case_id "
     "WHERE c.org_id = $1 AND (c.reference = $2 OR c.idempotency_key = $3) "
     "ORDER BY w.position"},
    /* The case by its key first (the unique index), then the view by primary key: the
     * generic plan of a filter on the view's key walked the organisation's cases. */
    {"claim_by_key", "SELECT " CLAIM_IDENTITY_COLUMNS " FROM wage_theft_claim_view "
		     " WHERE org_id = $1 AND case_id = (SELECT c.case_id FROM cases c "
		     "WHERE c.org_id = $1 AND c.idempotency_key = $2)"},
};
const unsigned claims_statements_count = N_ELEMS(claims_statements);

/* A plain CreateClaim's job, as request_db() wraps it; claim_created() reads the results
 * of claim_create and claim_by_key, each from its part of the merged row. */
static const char *const claim_create_shape[] = {"tenant_context_checked", "claim_create",
						 "claim_by_key", "audit", NULL};
static const struct db_merge claim_create_merge = {
    .statement = "claim_create_merged",
    .shape = claim_create_shape,
    .parts = {{.query = 1, .name = "claim_create"}, {.query = 2, .name = "claim_by_key"}},
    .nparts = 2,
};
/* A CreateClaim with details (an imported spreadsheet's rows have them): claim_details
 * gets an empty result, as nothing reads it. Alone, too: query by query, claim_create
 * inserts the claim and claim_details updates it, so the report deltas hold the claim
 * removed and added again, and folding those recomputes the largest amount of each of its
 * cells from the organisation's claims (on the bulk benchmark, 0.3 s a cell). */
static const char *const claim_create_details_shape[] = {
    "tenant_context_checked", "claim_create", "claim_details", "claim_by_key", "audit", NULL};
static const struct db_merge claim_create_details_merge = {
    .statement = "claim_create_merged_details",
    .shape = claim_create_details_shape,
    .parts = {{.query = 1, .name = "claim_create"}, {.query = 3, .name = "claim_by_key"}},
    .nparts = 2,
    .alone = true,
};

/* --- CreateClaim ----------------------------------------------------------------------- */

struct claim_create_state {
	int64_t org_id;
	uint32_t workers;
	uint8_t hash[32];
	uint8_t id_index[VAULT_INDEX_BYTES];
};

static const char *worker_field(const Tulay__V1__CreateClaim *m, size_t i)
{
	if (m->worker == NULL)
		return "";
	const char *values[] = {m->worker->name, m->worker->id_number, m->worker->phone};
	return values[i];
}

/* Whether CreateClaim sets any of the details that claim_details writes. */
static bool claim_has_details(const Tulay__V1__CreateClaim *m)
{
	return *m->recruitment_agency != '\0' || m->recruitment_fee != NULL ||
	       m->contract_wage != NULL || m->actual_wage != NULL ||
	       m->forum != TULAY__V1__CLAIM_FORUM__CLAIM_FORUM_UNSPECIFIED ||
	       *m->filing_deadline != '\0' || m->n_exploitation_means > 0;
}

static void claim_created(struct request *req, enum db_outcome outcome)
{
	if (case_created(req, outcome, "claim") == NULL)
		return;
	/* The claim read back; its other workers and possible duplicates, when asked for. */
	const PGresult *res = request_result_of(req, "claim_by_key");
	if (PQntuples(res) != 1) {
		request_fail(req, TULAY__V1__CODE__INTERNAL, "the claim could not be read back");
		return;
	}
	Tulay__V1__Claim *claim =
	    claim_build_group(req, res, request_result_if(req, "claim_workers_of"));
	const PGresult *duplicates = request_result_if(req, "case_duplicates");
	if (claim != NULL && duplicates != NULL &&
	    !case_references(req, duplicates, &claim->possible_duplicates,
			     &claim->n_possible_duplicates)) {
		request_fail_oom(req);
		return;
	}
	if (claim != NULL)
		claim_send(req, claim);
}

/* The claim_details parameters $3..$12, as text (NULL for unset). */
struct claim_detail_params {
	const char *values[10];
};

char *claim_money_param(struct request *req, const Tulay__V1__Money *m)
{
	return m != NULL ? case_int_param(req, m->minor_units) : NULL;
}

static bool claim_detail_params(struct request *req, const Tulay__V1__CreateClaim *m,
				struct claim_detail_params *p)
{
	/* The means as a PostgreSQL array literal: {id_confiscated,threats}. */
	char *means =
	    case_code_list_param(req, ENUM_OF(exploitation_means),
				 (const int *)m->exploitation_means, m->n_exploitation_means);
	if (means == NULL)
		return false;
	const char *values[10] = {
	    *m->recruitment_agency != '\0' ? m->recruitment_agency : NULL,
	    claim_money_param(req, m->recruitment_fee),
	    m->recruitment_fee != NULL ? m->recruitment_fee->currency : NULL,
	    claim_money_param(req, m->contract_wage),
	    m->contract_wage != NULL ? m->contract_wage->currency : NULL,
	    claim_money_param(req, m->actual_wage),
	    m->actual_wage != NULL ? m->actual_wage->currency : NULL,
	    CODE_OF(claim_forum, m->forum),
	    *m->filing_deadline != '\0' ? m->filing_deadline : NULL,
	    means,
	};
	memcpy(p->values, values, sizeof(values));
	return (m->recruitment_fee == NULL || values[1] != NULL) &&
	       (m->contract_wage == NULL || values[3] != NULL) &&
	       (m->actual_wage == NULL || values[5] != NULL);
}

/* The co-workers' sealed names, ID numbers, phones and ID number indexes as four bytea[]
 * literals, positions 1.. in order. Returns false when memory runs out. */
static bool claim_seal_co_workers(struct request *req, const Tulay__V1__CreateClaim *m,
				  int64_t org_id, char *out[4])
{
	const ProtobufCBinaryData *key = &m->idempotency_key;
	const char **columns[4];
	bool oom = false;
	for (size_t i = 0; i < 4; i++) {
		if ((columns[i] = request_alloc(req, sizeof(char *) * (m->n_co_workers + 1))) ==
		    NULL)
			return false;
	}
	for (size_t w = 0; w < m->n_co_workers; w++) {
		const Tulay__V1__Worker *cw = m->co_workers[w];
		const char *fields[] = {cw->name, cw->id_number, cw->phone};
		uint8_t *row_key = claim_co_worker_key(req, key->data, key->len, (unsigned)w + 1);
		if (row_key == NULL)
			return false;
		for (size_t i = 0; i < N_ELEMS(fields); i++) {
			size_t len = 0;
			uint8_t *sealed = NULL;
			if (*fields[i] != '\0') {
				sealed = case_seal(req, org_id, "claim_workers",
						   claim_co_worker_columns[i], row_key,
						   key->len + 1, fields[i], &len);
				if (sealed == NULL)
					return false;
			}
			columns[i][w] = request_bytea_text(req, sealed, len, &oom);
		}
		uint8_t index[VAULT_INDEX_BYTES];
		if (*cw->id_number != '\0')
			vault_index(org_id, cw->id_number, index);
		columns[3][w] = request_bytea_text(req, *cw->id_number != '\0' ? index : NULL,
						   sizeof(index), &oom);
	}
	for (size_t i = 0; i < 4 && !oom; i++)
		oom = (out[i] = request_array_param(req, columns[i], m->n_co_workers)) == NULL;
	return !oom;
}

static void claim_create_submit(struct request *req)
{
	const Tulay__V1__CreateClaim *m = req->msg->create_claim;
	struct claim_create_state *st = req->state;
	const char *sector = CODE_OF(sector, m->sector);

	/* The request's content as the server understood it, so that a retry is recognised
	 * and a reused key with other content is refused. NUL-separated fields. */
	char org[24], minor[24], workers[16];
	snprintf(org, sizeof(org), "%lld", (long long)st->org_id);
	snprintf(minor, sizeof(minor), "%lld", (long long)m->amount_claimed->minor_units);
	snprintf(workers, sizeof(workers), "%u", st->workers);
	const char *parts[] = {org,
			       m->worker_nationality,
			       m->country_of_work,
			       sector,
			       m->employer,
			       m->work_started_on,
			       m->work_ended_on,
			       minor,
			       m->amount_claimed->currency,
			       workers};
	/* Keyed: the stored fingerprint covers the worker's identity too, and a plain hash of
	 * an ID number could be brute-forced back. */
	crypto_generichash_state h;
	vault_fingerprint_start(&h, sizeof(st->hash));
	vault_fingerprint_add(&h, parts, N_ELEMS(parts));
	for (size_t i = 0; i < N_ELEMS(claim_identity_columns); i++) {
		const char *field = worker_field(m, i);
		vault_fingerprint_add(&h, &field, 1);
	}
	struct claim_detail_params dp;
	if (!claim_detail_params(req, m, &dp)) {
		request_fail_oom(req);
		return;
	}
	for (size_t i = 0; i < N_ELEMS(dp.values); i++) {
		const char *v = dp.values[i] != NULL ? dp.values[i] : "\x01"; /* NULL != "" */
		vault_fingerprint_add(&h, &v, 1);
	}
	const char *office = m->office;
	vault_fingerprint_add(&h, &office, 1);
	for (size_t w = 0; w < m->n_co_workers; w++) {
		const Tulay__V1__Worker *cw = m->co_workers[w];
		const char *fields[] = {cw->name, cw->id_number, cw->phone};
		vault_fingerprint_add(&h, fields, N_ELEMS(fields));
	}
	crypto_generichash_final(&h, st->hash, sizeof(st->hash));
	char *co_workers[4];
	if (!claim_seal_co_workers(req, m, st->org_id, co_workers)) {
		request_fail_oom(req);
		return;
	}

	/* Seal each part of the worker's identity given, bound to this row. */
	uint8_t *sealed[N_ELEMS(claim_identity_columns)] = {NULL};
	size_t sealed_len[N_ELEMS(claim_identity_columns)] = {0};
	for (size_t i = 0; i < N_ELEMS(claim_identity_columns); i++) {
		if (*worker_field(m, i) == '\0')
			continue;
		struct vault_place place = {st->org_id, "wage_theft_claims",
					    claim_identity_columns[i], m->idempotency_key.data,
					    m->idempotency_key.len};
		sealed[i] = vault_seal(&req->arena, worker_field(m, i), &place, &sealed_len[i]);
		if (sealed[i] == NULL) {
			request_fail_oom(req);
			return;
		}
	}
	bool indexed = *worker_field(m, 1) != '\0';
	if (indexed)
		vault_index(st->org_id, worker_field(m, 1), st->id_index);

	char *org_id = case_int_param(req, st->org_id);
	char *user_id = case_int_param(req, req->session.user_id);
	char *amount = case_int_param(req, m->amount_claimed->minor_units);
	char *nworkers = case_int_param(req, st->workers);
	if (org_id == NULL || user_id == NULL || amount == NULL || nworkers == NULL) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q = db_job_add(&req->job, "claim_create");
	db_param_text(q, org_id);
	db_param_text(q, user_id);
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	db_param_bytes(q, st->hash, sizeof(st->hash));
	DB_PARAMS_TEXT(q, m->worker_nationality, m->country_of_work, sector, m->employer,
		       m->work_started_on, m->work_ended_on, amount, m->amount_claimed->currency,
		       nworkers);
	for (size_t i = 0; i < N_ELEMS(claim_identity_columns); i++) {
		if (sealed[i] != NULL)
			db_param_bytes(q, sealed[i], (int)sealed_len[i]);
		else
			db_param_text(q, NULL);
	}
	if (indexed)
		db_param_bytes(q, st->id_index, sizeof(st->id_index));
	else
		db_param_text(q, NULL);
	/* Each further statement only when it has something to write: an empty one would
	 * still update the claim's row (and append report deltas) for nothing. */
	if (claim_has_details(m)) {
		q = db_job_add(&req->job, "claim_details");
		db_param_text(q, org_id);
		db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
		for (size_t i = 0; i < N_ELEMS(dp.values); i++)
			db_param_text(q, dp.values[i]);
		db_param_bytes(q, st->hash, sizeof(st->hash));
	}
	if (*m->office != '\0') {
		q = db_job_add(&req->job, "claim_office");
		db_param_text(q, org_id);
		db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
		db_param_bytes(q, st->hash, sizeof(st->hash));
		db_param_text(q, m->office);
	}
	if (m->n_co_workers > 0) {
		q = db_job_add(&req->job, "claim_workers_add");
		db_param_text(q, org_id);
		db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
		db_param_bytes(q, st->hash, sizeof(st->hash));
		for (size_t i = 0; i < N_ELEMS(co_workers); i++)
			db_param_text(q, co_workers[i]);
	}
	/* Same pipeline, same transaction: read back what was created or replayed (a replay
	 * matches this request's hash, so it has the same co-workers, or none). */
	q = db_job_add(&req->job, "claim_by_key");
	db_param_text(q, org_id);
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	if (m->n_co_workers > 0) {
		q = db_job_add(&req->job, "claim_workers_of");
		db_param_text(q, org_id);
		db_param_text(q, NULL);
		db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	}
	bool co_indexed = false;
	for (size_t w = 0; w < m->n_co_workers; w++)
		co_indexed = co_indexed || *m->co_workers[w]->id_number != '\0';
	if (indexed || co_indexed) {
		case_find_duplicates(req, org_id, indexed ? st->id_index : NULL, co_workers[3],
				     &m->idempotency_key);
	}
	request_audit_case_key(req, "create_claim", m->idempotency_key.data,
			       (int)m->idempotency_key.len);
	req->job.batchable = true; /* inserts only its own rows */
	/* Merged with others only if nothing above was added, and in the caller's own
	 * organisation: create_wage_theft_claims() would refuse any other. */
	if (st->org_id == req->session.org_id)
		req->job.merge =
		    claim_has_details(m) ? &claim_create_details_merge : &claim_create_merge;
	request_db(req, claim_created);
}

void claim_validate_money(struct request *req, const char *field, const Tulay__V1__Money *m,
			  int64_t min)
{
	if (m == NULL)
		return;
	const char *problem = validate_currency(m->currency);
	if (problem != NULL)
		request_field_error(req, arena_printf(&req->arena, "%s.currency", field), problem);
	if (m->minor_units < min || m->minor_units > MONEY_MAX_MINOR_UNITS)
		request_field_error(req, arena_printf(&req->arena, "%s.minor_units", field),
				    min > 0 ? "must be more than zero" : "must not be negative");
}

static void claim_validate_details(struct request *req, const Tulay__V1__CreateClaim *m)
{
	const char *problem;
	if (*m->recruitment_agency != '\0' &&
	    (problem = validate_text(m->recruitment_agency, 1, 200)) != NULL)
		request_field_error(req, "recruitment_agency", problem);
	claim_validate_money(req, "recruitment_fee", m->recruitment_fee, 0);
	claim_validate_money(req, "contract_wage", m->contract_wage, 1);
	claim_validate_money(req, "actual_wage", m->actual_wage, 0);
	if (m->forum != TULAY__V1__CLAIM_FORUM__CLAIM_FORUM_UNSPECIFIED &&
	    CODE_OF(claim_forum, m->forum) == NULL)
		request_field_error(req, "forum", "is not a forum tulay knows");
	struct civil_date deadline;
	if (*m->filing_deadline != '\0' &&
	    (problem = validate_date(m->filing_deadline, &deadline)) != NULL)
		request_field_error(req, "filing_deadline", problem);
	case_check_code_list(req, "exploitation_means", ENUM_OF(exploitation_means),
			     (const int *)m->exploitation_means, m->n_exploitation_means,
			     "means of exploitation");
}

/* A worker's identity: each part optional; field errors name `prefix`.name etc. */
static void claim_validate_worker(struct request *req, const char *prefix,
				  const Tulay__V1__Worker *w)
{
	const char *problem;
	if (*w->name != '\0' && (problem = validate_text(w->name, 1, 200)) != NULL)
		request_field_error(req, arena_printf(&req->arena, "%s.name", prefix), problem);
	if (*w->id_number != '\0' && !chars_in(w->id_number, 3, 40, ID_NUMBER_CHARS))
		request_field_error(req, arena_printf(&req->arena, "%s.id_number", prefix),
				    ID_NUMBER_PROBLEM);
	if (*w->phone != '\0' && !chars_in(w->phone, 6, 30, "0123456789 +-()"))
		request_field_error(req, arena_printf(&req->arena, "%s.phone", prefix),
				    "must be 6 to 30 digits, spaces and + - ( ), e.g. "
				    "+60 12 345 6789");
}

static void claim_validate(struct request *req, const Tulay__V1__CreateClaim *m)
{
	const char *problem;
	if ((problem = validate_idempotency_key(m->idempotency_key.len)) != NULL)
		request_field_error(req, "idempotency_key", problem);
	if ((problem = validate_country(m->worker_nationality)) != NULL)
		request_field_error(req, "worker_nationality", problem);
	if ((problem = validate_country(m->country_of_work)) != NULL)
		request_field_error(req, "country_of_work", problem);
	if (CODE_OF(sector, m->sector) == NULL)
		request_field_error(req, "sector",
				    "is required: construction, agriculture, fisheries, "
				    "manufacturing, domestic work, hospitality, care, services or "
				    "other");
	if ((problem = validate_text(m->employer, 1, 200)) != NULL)
		request_field_error(req, "employer", problem);

	struct civil_date start, end;
	const char *start_problem = validate_date(m->work_started_on, &start);
	const char *end_problem = validate_date(m->work_ended_on, &end);
	if (start_problem != NULL)
		request_field_error(req, "work_started_on", start_problem);
	if (end_problem != NULL)
		request_field_error(req, "work_ended_on", end_problem);
	if (start_problem == NULL && end_problem == NULL && civil_date_cmp(&end, &start) < 0)
		request_field_error(req, "work_ended_on",
				    "is before work_started_on: the work period must end on or "
				    "after the day it started");

	if (m->amount_claimed == NULL) {
		request_field_error(req, "amount_claimed", "is required");
	} else {
		if ((problem = validate_currency(m->amount_claimed->currency)) != NULL)
			request_field_error(req, "amount_claimed.currency", problem);
		if ((problem = validate_amount(m->amount_claimed->minor_units)) != NULL)
			request_field_error(req, "amount_claimed.minor_units", problem);
	}
	if (m->workers > CLAIM_MAX_WORKERS)
		request_field_error(req, "workers", "must be at most 100000");
	claim_validate_details(req, m);
	if (m->worker != NULL)
		claim_validate_worker(req, "worker", m->worker);
	if (*m->office != '\0' && (problem = validate_text(m->office, 1, 200)) != NULL)
		request_field_error(req, "office", problem);
	uint32_t workers = m->workers == 0 ? 1 : m->workers;
	if (m->n_co_workers > 100 || m->n_co_workers >= workers)
		request_field_error(
		    req, "co_workers",
		    "are too many: at most workers - 1 (the lead worker is `worker`) "
		    "and at most 100");
	for (size_t i = 0; i < m->n_co_workers && i < 100; i++)
		claim_validate_worker(req, arena_printf(&req->arena, "co_workers[%zu]", i),
				      m->co_workers[i]);
}

void handle_create_claim(struct request *req)
{
	const Tulay__V1__CreateClaim *m = req->msg->create_claim;
	if (req->session.role == TULAY__V1__ROLE__ROLE_COORDINATOR) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "coordinators read claims and reports; a field officer logs claims");
		return;
	}
	claim_validate(req, m);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the claim was not logged: correct the fields named");
		return;
	}
	struct claim_create_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	st->workers = m->workers == 0 ? 1 : m->workers;
	req->state = st;
	request_resolve_org(req, m->organisation, "organisation", false, &st->org_id,
			    claim_create_submit);
}

/* --- a claim from its rows ------------------------------------------------------------ */

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
bool claim_open_identity(struct request *req, const PGresult *res, int row, Tulay__V1__Claim *claim)
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

bool claim_open_co_workers(struct request *req, const PGresult *res, int from, int to,
			   int64_t org_id, Tulay__V1__Claim *claim)
{
	int position_col = to > from ? db_column(res, "position") : -1;
	claim->co_workers =
	    request_alloc(req, sizeof(*claim->co_workers) * (size_t)(to - from + 1));
	if (claim->co_workers == NULL)
		return false;
	size_t n = 0;
	for (int row = from; row < to; row++) {
		if (PQgetisnull(res, row, position_col))
			continue; /* a claim without co-workers, in an export's join */
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
		claim->co_workers[n++] = w;
	}
	claim->n_co_workers = n;
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
	if (!claim_open_co_workers(req, workers, 0, PQntuples(workers), org_id, claim)) {
		request_fail(req, TULAY__V1__CODE__DATA_LOSS,
			     "the other workers' personal details of this claim fail their "
			     "integrity check; the incident is logged");
		return NULL;
	}
	return claim;
}

void claim_send(struct request *req, Tulay__V1__Claim *claim)
{
	REQUEST_REPLY(req, CLAIM, claim, claim);
}

void claim_reply(struct request *req, const PGresult *res)
{
	Tulay__V1__Claim *claim = claim_build(req, res);
	if (claim != NULL)
		claim_send(req, claim);
}
