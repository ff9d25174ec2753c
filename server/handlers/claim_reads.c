/* Wage-theft claims: GetClaim (one by reference, its identity opened, with its group's
 * other workers and its timeline) and ListClaims (a page of summaries, newest first). */
#include <stdlib.h>
#include <string.h>

#include "case_common.h"
#include "claims.h"
#include "common.h"
#include "handlers.h"
#include "request.h"
#include "validate.h"
#include "vault.h"

#define CLAIM_LIST_DEFAULT 50

const struct db_statement claim_reads_statements[] = {
    /* GetClaims of the caller's own claims waiting together, in one statement (migration
     * 0018): each row one of claim_get_shape's results, tagged with its statement's name,
     * its columns after the column of that name. */
    {"claim_get_merged",
     "SELECT m.m_ord, m.m_part, NULL AS claim_by_reference, c_.*, NULL AS case_timeline, "
     "e_.*, NULL AS claim_workers_of, w_.* FROM read_wage_theft_claims($1::text[], "
     "$2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], "
     "$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], "
     "$15::text[]) m "
     "LEFT JOIN LATERAL (SELECT " CLAIM_IDENTITY_COLUMNS " FROM (SELECT (m.m_claim).*) v) c_ "
     "ON m.m_part = 'claim_by_reference' "
     "LEFT JOIN LATERAL (SELECT " CASE_EVENT_COLUMNS " FROM (SELECT (m.m_event).*) e, "
     "(SELECT (m.m_recorder).*) u) e_ ON m.m_part = 'case_timeline' "
     "LEFT JOIN LATERAL (SELECT w.position, w.name_enc, w.id_number_enc, w.phone_enc, "
     "m.m_key AS idempotency_key FROM (SELECT (m.m_worker).*) w) w_ "
     "ON m.m_part = 'claim_workers_of' "
     "ORDER BY m.m_ord, m.m_part, m.m_seq"},
    {"claim_by_reference", "SELECT " CLAIM_IDENTITY_COLUMNS " FROM wage_theft_claim_view "
			   " WHERE org_id = $1 AND reference = $2"},
    {"claim_list", "SELECT " CLAIM_COLUMNS " FROM wage_theft_claim_view "
		   " WHERE org_id = $1 "
		   "   AND ($2::text = '' OR country_of_work = $2::bpchar) "
		   "   AND ($3::text = '' OR status = $3::text) "
		   "   AND ($4::bigint = 0 OR case_id < $4::bigint) "
		   "   AND ($6::bytea IS NULL OR worker_id_number_index = $6::bytea "
		   "        OR EXISTS (SELECT 1 FROM claim_workers cw WHERE cw.org_id = "
		   "wage_theft_claim_view.org_id AND cw.case_id = wage_theft_claim_view.case_id "
		   "AND cw.id_number_index = $6::bytea)) "
		   " ORDER BY case_id DESC LIMIT $5::integer"},
};
const unsigned claim_reads_statements_count = N_ELEMS(claim_reads_statements);

/* A GetClaim's job, as request_db() wraps it; claim_loaded() reads the claim, its timeline
 * and its co-workers, each from the rows tagged with its statement's name. */
static const char *const claim_get_shape[] = {"tenant_context_checked",
					      "claim_by_reference",
					      "case_timeline",
					      "claim_workers_of",
					      "audit",
					      NULL};
static const struct db_merge claim_get_merge = {
    .statement = "claim_get_merged",
    .shape = claim_get_shape,
    .parts = {{.query = 1, .name = "claim_by_reference"},
	      {.query = 2, .name = "case_timeline"},
	      {.query = 3, .name = "claim_workers_of"}},
    .nparts = 3,
    .tagged = true,
};

/* --- GetClaim -------------------------------------------------------------------------- */

struct claim_read_state {
	int64_t org_id;
	unsigned limit;
	char *org_param;
};

static void claim_loaded(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result_of(req, "claim_by_reference");
	if (PQntuples(res) != 1) {
		request_fail(req, TULAY__V1__CODE__NOT_FOUND, "no claim with this reference");
		return;
	}
	Tulay__V1__Claim *claim =
	    claim_build_group(req, res, request_result_of(req, "claim_workers_of"));
	if (claim == NULL)
		return;
	struct claim_read_state *st = req->state;
	if (!case_timeline(req, request_result_of(req, "case_timeline"), st->org_id,
			   &claim->timeline, &claim->n_timeline))
		return;
	claim_send(req, claim);
}

static void claim_get_submit(struct request *req)
{
	struct claim_read_state *st = req->state;
	st->org_param = case_int_param(req, st->org_id);
	if (st->org_param == NULL) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q = db_job_add(&req->job, "claim_by_reference");
	db_param_text(q, st->org_param);
	db_param_text(q, req->msg->get_claim->reference);
	q = db_job_add(&req->job, "case_timeline");
	db_param_text(q, st->org_param);
	db_param_text(q, req->msg->get_claim->reference);
	q = db_job_add(&req->job, "claim_workers_of");
	DB_PARAMS_TEXT(q, st->org_param, req->msg->get_claim->reference, NULL);
	request_audit(req, "read_claim", req->msg->get_claim->reference, "");
	req->job.batchable = true; /* a read (and its audit entry) */
	/* A claim another organisation shares with the caller is read alone, under the
	 * policies that share it: read_wage_theft_claims() would refuse it. */
	if (st->org_id == req->session.org_id)
		req->job.merge = &claim_get_merge;
	request_db(req, claim_loaded);
}

void handle_get_claim(struct request *req)
{
	const Tulay__V1__GetClaim *m = req->msg->get_claim;
	if (!case_reference_is_valid(m->reference)) {
		request_field_error(req, "reference",
				    "is not a claim reference such as WT-2026-000123");
		request_fail_invalid(req, "invalid claim reference");
		return;
	}
	struct claim_read_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	req->state = st;
	request_resolve_org(req, m->organisation, "organisation", true, &st->org_id,
			    claim_get_submit);
}

/* --- ListClaims ------------------------------------------------------------------------ */

static void *claim_item(struct request *req, const PGresult *res, int row, const void *cols)
{
	(void)cols; /* claim_from_row looks its columns up by name */
	Tulay__V1__Claim *claim = claim_from_row(req, res, row);
	if (claim == NULL)
		request_fail_oom(req);
	return claim;
}

static void claims_listed(struct request *req, enum db_outcome outcome)
{
	struct claim_read_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	Tulay__V1__ClaimList *list = request_alloc(req, sizeof(*list));
	if (request_oom(req, list))
		return;
	tulay__v1__claim_list__init(list);
	const PGresult *res = request_result_of(req, "claim_list");
	struct case_page page;
	if (!case_page(req, res, st->limit, db_column(res, "case_id"), claim_item, NULL, &page))
		return;
	list->claims = (Tulay__V1__Claim **)page.items;
	list->n_claims = page.n;
	list->next_page_token = page.next;
	REQUEST_REPLY(req, CLAIMS, claims, list);
}

static void claim_list_submit(struct request *req)
{
	const Tulay__V1__ListClaims *m = req->msg->list_claims;
	struct claim_read_state *st = req->state;
	const char *status = CODE_OF(claim_status, m->status);
	st->org_param = case_int_param(req, st->org_id);
	char *fetch = case_int_param(req, (long long)st->limit + 1);
	if (st->org_param == NULL || fetch == NULL) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q = db_job_add(&req->job, "claim_list");
	DB_PARAMS_TEXT(q, st->org_param, m->country_of_work, status != NULL ? status : "",
		       *m->page_token != '\0' ? m->page_token : "0", fetch);
	char index_hex[2 * VAULT_INDEX_BYTES + 1] = "";
	if (*m->worker_id_number != '\0') {
		uint8_t *index = arena_alloc(&req->arena, VAULT_INDEX_BYTES);
		if (index == NULL) {
			request_fail_oom(req);
			return;
		}
		vault_index(st->org_id, m->worker_id_number, index);
		db_param_bytes(q, index, VAULT_INDEX_BYTES);
		sodium_bin2hex(index_hex, sizeof(index_hex), index, VAULT_INDEX_BYTES);
	} else {
		db_param_text(q, NULL);
	}
	/* The audit entry names the ID number searched for by its blind index (as stored
	 * with the claims), never the number: an auditor can tell who looked for whom. */
	request_audit(
	    req, "list_claims", "",
	    arena_printf(&req->arena, "country_of_work=%s status=%s page_token=%s limit=%u%s%s",
			 m->country_of_work, status != NULL ? status : "", m->page_token, st->limit,
			 index_hex[0] != '\0' ? " worker_id_number_index=" : "", index_hex));
	req->job.batchable = true; /* a read (and its audit entry) */
	request_db(req, claims_listed);
}

void handle_list_claims(struct request *req)
{
	const Tulay__V1__ListClaims *m = req->msg->list_claims;
	const char *problem;
	if (*m->country_of_work != '\0' && (problem = validate_country(m->country_of_work)) != NULL)
		request_field_error(req, "country_of_work", problem);
	if (m->status != TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_UNSPECIFIED &&
	    CODE_OF(claim_status, m->status) == NULL)
		request_field_error(req, "status", "is not a claim status");
	if (strlen(m->worker_id_number) > 40)
		request_field_error(req, "worker_id_number", "is longer than any ID number");
	case_check_paging(req, m->limit, m->page_token);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "invalid claim list request");
		return;
	}
	struct claim_read_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	st->limit = m->limit != 0 ? m->limit : CLAIM_LIST_DEFAULT;
	req->state = st;
	request_resolve_org(req, m->organisation, "organisation", false, &st->org_id,
			    claim_list_submit);
}
