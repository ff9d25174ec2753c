/* Referrals: an organisation refers one of its cases (a claim or a deportation) to a
 * partner across the border, with the worker's consent recorded; the partner accepts or
 * declines; the referring organisation may revoke. While accepted, the partner reads and
 * works the case (row-level security, migrations/0010_referrals.sql). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "case_common.h"
#include "common.h"
#include "handlers.h"
#include "request.h"
#include "validate.h"
#include "vault.h"

#define REFERRAL_LIST_DEFAULT 50

/* The columns referral_from_row reads from referral_view, each by its name (struct
 * referral_columns). */
#define REFERRAL_COLUMNS                                                                           \
	"referral_id, reference, kind, from_organisation, to_organisation, status, "               \
	"to_char(consent_given_on, 'YYYY-MM-DD') AS consent_given_on, consent_form, reason_enc, "  \
	"decision_reason_enc, revoke_reason_enc, proposed_by, proposed_at, "                       \
	"coalesce(decided_by, '') AS decided_by, coalesce(decided_at, 0) AS decided_at, "          \
	"coalesce(revoked_by, '') AS revoked_by, coalesce(revoked_at, 0) AS revoked_at, version, " \
	"idempotency_key, org_id"

const struct db_statement referrals_statements[] = {
    {"referral_propose", "SELECT referral_id, outcome FROM propose_referral("
			 "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
    {"referral_decide", "SELECT outcome, detail FROM decide_referral("
			"$1, $2, $3, $4, $5, $6, $7, $8)"},
    {"referral_by_id", "SELECT " REFERRAL_COLUMNS " FROM referral_view WHERE referral_id = $1"},
    {"referral_by_key", "SELECT " REFERRAL_COLUMNS " FROM referral_view "
			"WHERE org_id = $1 AND idempotency_key = $2"},
    {"referral_list", "SELECT " REFERRAL_COLUMNS " FROM referral_view "
		      "WHERE (($1 = 'incoming' AND to_org_id = tulay_org()) "
		      "    OR ($1 = 'outgoing' AND org_id = tulay_org()) OR $1 = 'all') "
		      "  AND ($2 = '' OR status = $2) AND ($3 = '' OR reference = $3) "
		      "  AND ($4::bigint = 0 OR referral_id < $4::bigint) "
		      "ORDER BY referral_id DESC LIMIT $5::integer"},
};
const unsigned referrals_statements_count = N_ELEMS(referrals_statements);

/* The status each decision leads to. */
static const char *const decision_statuses[] = {
    [TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_ACCEPT] = "accepted",
    [TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_DECLINE] = "declined",
    [TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_REVOKE] = "revoked",
};

/* The sealed reasons of a referral: what each is bound to, and its column. */
static const char *const reason_columns[] = {"reason", "decision_reason", "revoke_reason"};
static const char *const reason_sealed_columns[] = {"reason_enc", "decision_reason_enc",
						    "revoke_reason_enc"};

/* The indexes of the REFERRAL_COLUMNS of a result, looked up once for all its rows. */
struct referral_columns {
	int referral_id, reference, kind, from_organisation, to_organisation, status,
	    consent_given_on, consent_form, reason_enc[N_ELEMS(reason_sealed_columns)], proposed_by,
	    proposed_at, decided_by, decided_at, revoked_by, revoked_at, version, idempotency_key,
	    org_id;
};

static struct referral_columns referral_columns(const PGresult *res)
{
	struct referral_columns c = {
	    .referral_id = db_column(res, "referral_id"),
	    .reference = db_column(res, "reference"),
	    .kind = db_column(res, "kind"),
	    .from_organisation = db_column(res, "from_organisation"),
	    .to_organisation = db_column(res, "to_organisation"),
	    .status = db_column(res, "status"),
	    .consent_given_on = db_column(res, "consent_given_on"),
	    .consent_form = db_column(res, "consent_form"),
	    .proposed_by = db_column(res, "proposed_by"),
	    .proposed_at = db_column(res, "proposed_at"),
	    .decided_by = db_column(res, "decided_by"),
	    .decided_at = db_column(res, "decided_at"),
	    .revoked_by = db_column(res, "revoked_by"),
	    .revoked_at = db_column(res, "revoked_at"),
	    .version = db_column(res, "version"),
	    .idempotency_key = db_column(res, "idempotency_key"),
	    .org_id = db_column(res, "org_id"),
	};
	for (size_t i = 0; i < N_ELEMS(reason_sealed_columns); i++)
		c.reason_enc[i] = db_column(res, reason_sealed_columns[i]);
	return c;
}

/* One referral_view row, its reasons opened; NULL after ending the request. */
static Tulay__V1__Referral *referral_from_row(struct request *req, const PGresult *res, int row,
					      const struct referral_columns *c)
{
	struct arena *a = &req->arena;
	Tulay__V1__Referral *r = request_alloc(req, sizeof(*r));
	Tulay__V1__Consent *consent = request_alloc(req, sizeof(*consent));
	if (r == NULL || consent == NULL) {
		request_fail_oom(req);
		return NULL;
	}
	tulay__v1__referral__init(r);
	tulay__v1__consent__init(consent);
	r->id = strtoll(PQgetvalue(res, row, c->referral_id), NULL, 10);
	r->reference = arena_strdup(a, PQgetvalue(res, row, c->reference));
	r->case_kind = arena_strdup(a, PQgetvalue(res, row, c->kind));
	r->from_organisation = arena_strdup(a, PQgetvalue(res, row, c->from_organisation));
	r->to_organisation = arena_strdup(a, PQgetvalue(res, row, c->to_organisation));
	r->status =
	    (Tulay__V1__ReferralStatus)VALUE_OF(referral_status, PQgetvalue(res, row, c->status));
	consent->given_on = arena_strdup(a, PQgetvalue(res, row, c->consent_given_on));
	consent->form =
	    (Tulay__V1__ConsentForm)VALUE_OF(consent_form, PQgetvalue(res, row, c->consent_form));
	r->consent = consent;
	r->proposed_by = arena_strdup(a, PQgetvalue(res, row, c->proposed_by));
	r->proposed_at = strtoll(PQgetvalue(res, row, c->proposed_at), NULL, 10);
	r->decided_by = arena_strdup(a, PQgetvalue(res, row, c->decided_by));
	r->decided_at = strtoll(PQgetvalue(res, row, c->decided_at), NULL, 10);
	r->revoked_by = arena_strdup(a, PQgetvalue(res, row, c->revoked_by));
	r->revoked_at = strtoll(PQgetvalue(res, row, c->revoked_at), NULL, 10);
	r->version = strtoll(PQgetvalue(res, row, c->version), NULL, 10);
	if (r->reference == NULL || r->case_kind == NULL || r->from_organisation == NULL ||
	    r->to_organisation == NULL || consent->given_on == NULL || r->proposed_by == NULL ||
	    r->decided_by == NULL || r->revoked_by == NULL) {
		request_fail_oom(req);
		return NULL;
	}
	int64_t org_id = strtoll(PQgetvalue(res, row, c->org_id), NULL, 10);
	char **reasons[] = {&r->reason, &r->decision_reason, &r->revoke_reason};
	for (size_t i = 0; i < N_ELEMS(reasons); i++) {
		char *text = NULL;
		if (!case_open_column(req, res, row, c->reason_enc[i], c->idempotency_key, org_id,
				      "referrals", reason_columns[i], &text)) {
			request_fail(req, TULAY__V1__CODE__DATA_LOSS,
				     "a reason of this referral fails its integrity check; the "
				     "incident is logged");
			return NULL;
		}
		if (text != NULL)
			*reasons[i] = text;
	}
	return r;
}

static void referral_reply(struct request *req, const PGresult *res)
{
	if (PQntuples(res) != 1) {
		request_fail(req, TULAY__V1__CODE__INTERNAL, "the referral could not be read back");
		return;
	}
	struct referral_columns cols = referral_columns(res);
	Tulay__V1__Referral *r = referral_from_row(req, res, 0, &cols);
	if (r == NULL)
		return;
	REQUEST_REPLY(req, REFERRAL, referral, r);
}

/* Coordinators read; they refer and decide nothing. */
static bool referral_may_write(struct request *req)
{
	if (req->session.role != TULAY__V1__ROLE__ROLE_COORDINATOR)
		return true;
	request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
		     "coordinators read referrals; a field officer or org admin makes them");
	return false;
}

/* Adds `text` sealed for (org, table, column, key) as a parameter; NULL when empty.
 * Returns false when memory runs out. */
static bool param_sealed_text(struct request *req, struct db_query *q, int64_t org_id,
			      const char *table, const char *column, const uint8_t *key,
			      size_t key_len, const char *text)
{
	if (*text == '\0') {
		db_param_text(q, NULL);
		return true;
	}
	size_t len = 0;
	uint8_t *sealed = case_seal(req, org_id, table, column, key, key_len, text, &len);
	if (sealed == NULL)
		return false;
	db_param_bytes(q, sealed, (int)len);
	return true;
}

/* --- ProposeReferral ------------------------------------------------------------------- */

struct propose_state {
	int64_t to_org;
	char org[24], user[24], to[24];
	uint8_t hash[32];
};

static void referral_proposed(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const char *result = db_value(request_result_of(req, "referral_propose"), 0, "outcome");
	if (strcmp(result, "key_reused") == 0) {
		request_fail_key_reused(req, "referral");
	} else if (strcmp(result, "not_found") == 0) {
		request_field_error(req, "reference", "names no case of your organisation");
		request_fail(req, TULAY__V1__CODE__NOT_FOUND, "no case with this reference");
	} else if (strcmp(result, "not_referable") == 0) {
		request_field_error(
		    req, "reference",
		    "is a recommendation: only claims and deportations are referred");
		request_fail_invalid(req, "nothing was referred");
	} else if (strcmp(result, "self") == 0) {
		request_field_error(req, "to_organisation", "is your own organisation");
		request_fail_invalid(req, "nothing was referred");
	} else if (strcmp(result, "consent_in_future") == 0) {
		request_field_error(req, "consent.given_on", "is in the future");
		request_fail_invalid(req, "nothing was referred");
	} else if (strcmp(result, "open") == 0) {
		request_field_error(req, "to_organisation",
				    "already has an open (proposed or accepted) referral of this "
				    "case");
		request_fail(req, TULAY__V1__CODE__ALREADY_EXISTS, "nothing was referred");
	} else {
		referral_reply(req, request_result_of(req, "referral_by_key"));
	}
}

static void referral_propose_submit(struct request *req)
{
	const Tulay__V1__ProposeReferral *m = req->msg->propose_referral;
	struct propose_state *st = req->state;
	int64_t org = req->session.org_id;
	snprintf(st->org, sizeof(st->org), "%lld", (long long)org);
	snprintf(st->user, sizeof(st->user), "%lld", (long long)req->session.user_id);
	snprintf(st->to, sizeof(st->to), "%lld", (long long)st->to_org);
	const char *form = CODE_OF(consent_form, m->consent->form);
	const char *parts[] = {st->org, m->reference, st->to, m->consent->given_on,
			       form,    m->reason};
	vault_fingerprint(parts, N_ELEMS(parts), st->hash, 32);
	const ProtobufCBinaryData *key = &m->idempotency_key;
	struct db_query *q = db_job_add(&req->job, "referral_propose");
	db_param_text(q, st->org);
	db_param_text(q, st->user);
	db_param_bytes(q, key->data, (int)key->len);
	db_param_bytes(q, st->hash, sizeof(st->hash));
	DB_PARAMS_TEXT(q, m->reference, st->to, m->consent->given_on, form);
	if (!param_sealed_text(req, q, org, "referrals", "reason", key->data, key->len,
			       m->reason) ||
	    !param_sealed_text(req, q, org, "case_events", "text", key->data, key->len,
			       m->reason)) {
		request_fail_oom(req);
		return;
	}
	db_param_bytes(q, key->data, (int)key->len);
	q = db_job_add(&req->job, "referral_by_key");
	db_param_text(q, st->org);
	db_param_bytes(q, key->data, (int)key->len);
	request_audit(req, "propose_referral", m->reference,
		      arena_printf(&req->arena, "to=%s", m->to_organisation));
	request_db(req, referral_proposed);
}

void handle_propose_referral(struct request *req)
{
	const Tulay__V1__ProposeReferral *m = req->msg->propose_referral;
	if (!referral_may_write(req))
		return;
	const char *problem;
	struct civil_date given;
	if ((problem = validate_idempotency_key(m->idempotency_key.len)) != NULL)
		request_field_error(req, "idempotency_key", problem);
	if (!case_reference_is_valid(m->reference))
		request_field_error(req, "reference",
				    "is not a case reference such as WT-2026-000123");
	if (*m->to_organisation == '\0')
		request_field_error(req, "to_organisation",
				    "is required: the acronym of the partner organisation");
	/* No consent, no referral. */
	if (m->consent == NULL) {
		request_field_error(req, "consent",
				    "is required: a referral needs the worker's consent, with the "
				    "date it was given and how");
	} else {
		if (*m->consent->given_on == '\0')
			request_field_error(req, "consent.given_on",
					    "is required: the date the worker consented");
		else if ((problem = validate_date(m->consent->given_on, &given)) != NULL)
			request_field_error(req, "consent.given_on", problem);
		if (CODE_OF(consent_form, m->consent->form) == NULL)
			request_field_error(req, "consent.form",
					    "is required: written, verbal or recorded message");
	}
	if (*m->reason != '\0' && (problem = validate_text(m->reason, 1, 1000)) != NULL)
		request_field_error(req, "reason", problem);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "nothing was referred: correct the fields named");
		return;
	}
	struct propose_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	req->state = st;
	request_resolve_org(req, m->to_organisation, "to_organisation", true, &st->to_org,
			    referral_propose_submit);
}

/* --- DecideReferral -------------------------------------------------------------------- */

/* First the referral is read (its organisation and key bind the sealed reason), then
 * decided and read back in one transaction. */
struct decide_state {
	char id[24], user[24], version[24], org[24];
	int64_t org_id;
	uint8_t *referral_key;
	size_t referral_key_len;
	uint8_t hash[32];
};

static void referral_decided(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const Tulay__V1__DecideReferral *m = req->msg->decide_referral;
	const PGresult *r = request_result_of(req, "referral_decide");
	const char *result = db_value(r, 0, "outcome"), *detail = db_value(r, 0, "detail");
	if (strcmp(result, "not_yours") == 0) {
		request_field_error(req, "decision",
				    m->decision ==
					    TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_REVOKE
					? "is the referring organisation's to make"
					: "is the receiving organisation's to make");
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED, "nothing was decided");
	} else if (strcmp(result, "illegal") == 0) {
		request_field_error(req, "decision", "does not apply to a referral in this state");
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     arena_printf(&req->arena, "the referral is already %s", detail));
	} else if (strcmp(result, "key_reused") == 0) {
		request_fail_key_reused(req, "decision");
	} else if (strcmp(result, "not_found") == 0) {
		request_fail(req, TULAY__V1__CODE__NOT_FOUND, "no referral with this id");
	} else if (!case_fail_outcome(req, result, detail, "referral", "reason")) {
		referral_reply(req, request_result_of(req, "referral_by_id"));
	}
}

static void referral_read_for_decision(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const Tulay__V1__DecideReferral *m = req->msg->decide_referral;
	struct decide_state *st = req->state;
	const PGresult *res = request_result_of(req, "referral_by_id");
	if (PQntuples(res) != 1) {
		request_field_error(req, "referral_id", "names no referral to or from you");
		request_fail(req, TULAY__V1__CODE__NOT_FOUND, "no referral with this id");
		return;
	}
	st->org_id = strtoll(db_value(res, 0, "org_id"), NULL, 10);
	snprintf(st->org, sizeof(st->org), "%lld", (long long)st->org_id);
	st->referral_key =
	    case_bytea(req, res, 0, db_column(res, "idempotency_key"), &st->referral_key_len);
	if (st->referral_key == NULL) {
		request_fail_oom(req);
		return;
	}
	const char *decision = TABLE_WORD(decision_statuses, m->decision);
	const char *column = m->decision == TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_REVOKE
				 ? "revoke_reason"
				 : "decision_reason";
	db_job_reset(&req->job);
	const ProtobufCBinaryData *key = &m->idempotency_key;
	struct db_query *q = db_job_add(&req->job, "referral_decide");
	DB_PARAMS_TEXT(q, st->user, st->id, st->version, decision);
	if (!param_sealed_text(req, q, st->org_id, "referrals", column, st->referral_key,
			       st->referral_key_len, m->reason) ||
	    !param_sealed_text(req, q, st->org_id, "case_events", "text", key->data, key->len,
			       m->reason)) {
		request_fail_oom(req);
		return;
	}
	db_param_bytes(q, key->data, (int)key->len);
	db_param_bytes(q, st->hash, sizeof(st->hash));
	q = db_job_add(&req->job, "referral_by_id");
	db_param_text(q, st->id);
	request_audit(req, "decide_referral", arena_printf(&req->arena, "referral:%s", st->id),
		      arena_printf(&req->arena, "decision=%s", decision));
	request_db(req, referral_decided);
}

void handle_decide_referral(struct request *req)
{
	const Tulay__V1__DecideReferral *m = req->msg->decide_referral;
	if (!referral_may_write(req))
		return;
	const char *problem;
	if ((problem = validate_idempotency_key(m->idempotency_key.len)) != NULL)
		request_field_error(req, "idempotency_key", problem);
	if (m->referral_id <= 0)
		request_field_error(req, "referral_id", "is required: the referral's number");
	if (m->expected_version < 0)
		request_field_error(req, "expected_version", "must not be negative");
	const char *decision = TABLE_WORD(decision_statuses, m->decision);
	if (decision == NULL)
		request_field_error(req, "decision", "is required: accept, decline or revoke");
	bool needs_reason = m->decision != TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_ACCEPT;
	if (decision != NULL && needs_reason && *m->reason == '\0')
		request_field_error(req, "reason",
				    "is required to decline or revoke a referral: say why");
	if (*m->reason != '\0' && (problem = validate_text(m->reason, 1, 1000)) != NULL)
		request_field_error(req, "reason", problem);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "nothing was decided: correct the fields named");
		return;
	}
	struct decide_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	snprintf(st->id, sizeof(st->id), "%lld", (long long)m->referral_id);
	snprintf(st->user, sizeof(st->user), "%lld", (long long)req->session.user_id);
	snprintf(st->version, sizeof(st->version), "%lld", (long long)m->expected_version);
	const char *parts[] = {st->id, st->version, decision, m->reason};
	vault_fingerprint(parts, N_ELEMS(parts), st->hash, 32);
	req->state = st;
	struct db_query *q = db_job_add(&req->job, "referral_by_id");
	db_param_text(q, st->id);
	request_db(req, referral_read_for_decision);
}

/* --- ListReferrals --------------------------------------------------------------------- */

struct list_state {
	unsigned limit;
};

static void *referral_item(struct request *req, const PGresult *res, int row, const void *cols)
{
	return referral_from_row(req, res, row, cols);
}

static void referrals_listed(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	struct list_state *st = req->state;
	Tulay__V1__ReferralList *list = request_alloc(req, sizeof(*list));
	if (request_oom(req, list))
		return;
	tulay__v1__referral_list__init(list);
	const PGresult *res = request_result_of(req, "referral_list");
	struct referral_columns cols = referral_columns(res);
	struct case_page page;
	if (!case_page(req, res, st->limit, cols.referral_id, referral_item, &cols, &page))
		return;
	list->referrals = (Tulay__V1__Referral **)page.items;
	list->n_referrals = page.n;
	list->next_page_token = page.next;
	REQUEST_REPLY(req, REFERRALS, referrals, list);
}

void handle_list_referrals(struct request *req)
{
	static const char *const directions[] = {
	    [TULAY__V1__REFERRAL_DIRECTION__REFERRAL_DIRECTION_ALL] = "all",
	    [TULAY__V1__REFERRAL_DIRECTION__REFERRAL_DIRECTION_INCOMING] = "incoming",
	    [TULAY__V1__REFERRAL_DIRECTION__REFERRAL_DIRECTION_OUTGOING] = "outgoing",
	};
	const Tulay__V1__ListReferrals *m = req->msg->list_referrals;
	const char *direction = m->direction >= 0 && (size_t)m->direction < N_ELEMS(directions)
				    ? directions[m->direction]
				    : NULL;
	const char *status = CODE_OF(referral_status, m->status);
	if (direction == NULL)
		request_field_error(req, "direction", "is not incoming, outgoing or all");
	if (m->status != TULAY__V1__REFERRAL_STATUS__REFERRAL_STATUS_UNSPECIFIED && status == NULL)
		request_field_error(req, "status", "is not a referral status");
	if (*m->reference != '\0' && !case_reference_is_valid(m->reference))
		request_field_error(req, "reference",
				    "is not a case reference such as WT-2026-000123");
	case_check_paging(req, m->limit, m->page_token);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "invalid referral list request");
		return;
	}
	struct list_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	st->limit = m->limit != 0 ? m->limit : REFERRAL_LIST_DEFAULT;
	req->state = st;
	char *fetch = case_int_param(req, (long long)st->limit + 1);
	if (fetch == NULL) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q = db_job_add(&req->job, "referral_list");
	DB_PARAMS_TEXT(q, direction, status != NULL ? status : "", m->reference,
		       *m->page_token != '\0' ? m->page_token : "0", fetch);
	request_audit(req, "list_referrals", m->reference,
		      arena_printf(&req->arena, "direction=%s status=%s page_token=%s limit=%u",
				   direction, status != NULL ? status : "", m->page_token,
				   st->limit));
	request_db(req, referrals_listed);
}
