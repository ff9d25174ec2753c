/* The lifecycle of wage-theft claims: ChangeClaimStatus, AddCaseNote (any case kind),
 * UpdateClaimAmounts and RecordPayment, each a write to an existing case through one SQL
 * function (migrations), under the lock order of issue 11 (ARCHITECTURE.md). */
#include <stdlib.h>
#include <string.h>

#include "case_common.h"
#include "claims.h"
#include "common.h"
#include "handlers.h"
#include "money.h"
#include "request.h"
#include "validate.h"
#include "vault.h"

const struct db_statement claim_lifecycle_statements[] = {
    {"claim_update_amounts", "SELECT outcome, detail FROM claim_update_amounts("
			     "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"},
    {"claim_record_payment", "SELECT outcome, detail FROM claim_record_payment("
			     "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"},
    {"claim_change_status", "SELECT outcome, detail FROM change_case_status('wage_theft', "
			    "$1, $2, $3, $4, $5, $6, $7, $8, $9)"},
};
const unsigned claim_lifecycle_statements_count = N_ELEMS(claim_lifecycle_statements);

/* A write to an existing case names it by reference and, for a case another organisation
 * referred to the caller's, by that organisation. The write's state waits for the
 * organisation to be resolved; then the request hash and the sealed text are made for it
 * (row-level security decides whether the case is visible: if not, 'not_found'). */
struct claim_write {
	struct case_write *w;
	const char **parts; /* what the request hash covers */
	size_t n_parts;
	const char *text; /* to seal into case_events.text, or "" */
	uint8_t *sealed;  /* NULL for no text */
	size_t sealed_len;
	const ProtobufCBinaryData *key;
	void (*submit)(struct request *req);
};

static void claim_write_resolved(struct request *req)
{
	struct claim_write *cw = req->state;
	case_write_finish(req, cw->w, cw->w->org_id, cw->parts, cw->n_parts);
	if (*cw->text != '\0') {
		cw->sealed = case_seal(req, cw->w->org_id, "case_events", "text", cw->key->data,
				       cw->key->len, cw->text, &cw->sealed_len);
		if (cw->sealed == NULL) {
			request_fail_oom(req);
			return;
		}
	}
	cw->submit(req);
}

/* Starts the write once case_write_begin accepted it: copies `parts` (n of them) and
 * resolves `organisation`. */
static void claim_write_start(struct request *req, struct case_write *w,
			      const ProtobufCBinaryData *key, const char *organisation,
			      const char *const *parts, size_t n, const char *text,
			      void (*submit)(struct request *req))
{
	struct claim_write *cw = request_alloc(req, sizeof(*cw));
	const char **copy = request_alloc(req, sizeof(*copy) * n);
	if (cw == NULL || copy == NULL) {
		request_fail_oom(req);
		return;
	}
	memcpy(copy, parts, sizeof(*copy) * n);
	*cw = (struct claim_write){
	    .w = w, .parts = copy, .n_parts = n, .text = text, .key = key, .submit = submit};
	req->state = cw;
	request_resolve_org(req, organisation, "organisation", true, &w->org_id,
			    claim_write_resolved);
}

/* The sealed text as the last parameter of a case function (NULL for none). */
static void param_sealed(struct db_query *q, const struct claim_write *cw)
{
	if (cw->sealed != NULL)
		db_param_bytes(q, cw->sealed, (int)cw->sealed_len);
	else
		db_param_text(q, NULL);
}

static void claim_changed(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *r = case_write_result(req);
	if (case_fail_outcome(req, db_value(r, 0, "outcome"), db_value(r, 0, "detail"), "claim",
			      "reason"))
		return;
	const PGresult *res = request_result_of(req, "claim_by_reference");
	if (PQntuples(res) != 1)
		request_fail(req, TULAY__V1__CODE__INTERNAL, "the claim could not be read");
	else
		claim_reply(req, res);
}

static void claim_status_submit(struct request *req)
{
	const Tulay__V1__ChangeClaimStatus *m = req->msg->change_claim_status;
	struct claim_write *cw = req->state;
	struct case_write *w = cw->w;
	const char *to = CODE_OF(claim_status, m->status);
	struct db_query *q =
	    case_write_query(req, "claim_change_status", w, &m->idempotency_key, m->reference);
	DB_PARAMS_TEXT(q, w->version, to, w->occurred_on);
	param_sealed(q, cw);
	q = db_job_add(&req->job, "claim_by_reference");
	db_param_text(q, w->org);
	db_param_text(q, m->reference);
	request_audit(req, "change_claim_status", m->reference,
		      arena_printf(&req->arena, "to=%s org=%s", to, w->org));
	request_db(req, claim_changed);
}

void handle_change_claim_status(struct request *req)
{
	const Tulay__V1__ChangeClaimStatus *m = req->msg->change_claim_status;
	const char *to = CODE_OF(claim_status, m->status);
	if (to == NULL)
		request_field_error(req, "status", "is required: the status to move the claim to");
	if (m->expected_version <= 0)
		request_field_error(req, "expected_version",
				    "is required: the version of the claim you saw");
	struct case_write *w =
	    case_write_begin(req, &m->idempotency_key, m->reference, m->occurred_on, m->reason,
			     1000, "reason", m->expected_version);
	if (w == NULL)
		return;
	const char *parts[] = {m->reference, to, w->version, w->occurred_on, m->reason};
	claim_write_start(req, w, &m->idempotency_key, m->organisation, parts, N_ELEMS(parts),
			  m->reason, claim_status_submit);
}

static void case_note_added(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	struct claim_write *cw = req->state;
	if (case_fail_outcome(req, db_value(case_write_result(req), 0, "outcome"), "", "case",
			      "text"))
		return;
	case_event_reply(req, request_result_of(req, "case_event_by_key"), cw->w->org_id);
}

static void case_note_submit(struct request *req)
{
	const Tulay__V1__AddCaseNote *m = req->msg->add_case_note;
	struct claim_write *cw = req->state;
	struct case_write *w = cw->w;
	struct db_query *q =
	    case_write_query(req, "case_note_add", w, &m->idempotency_key, m->reference);
	db_param_text(q, w->occurred_on);
	param_sealed(q, cw);
	q = db_job_add(&req->job, "case_event_by_key");
	db_param_text(q, w->org);
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	request_audit(req, "add_case_note", m->reference,
		      arena_printf(&req->arena, "org=%s", w->org));
	request_db(req, case_note_added);
}

void handle_add_case_note(struct request *req)
{
	const Tulay__V1__AddCaseNote *m = req->msg->add_case_note;
	if (*m->text == '\0')
		request_field_error(req, "text", "is required: what happened");
	struct case_write *w = case_write_begin(req, &m->idempotency_key, m->reference,
						m->occurred_on, m->text, 4000, "text", 0);
	if (w == NULL)
		return;
	const char *parts[] = {m->reference, w->occurred_on, m->text};
	claim_write_start(req, w, &m->idempotency_key, m->organisation, parts, N_ELEMS(parts),
			  m->text, case_note_submit);
}

/* --- UpdateClaimAmounts, RecordPayment ---------------------------------------------------- */

/* The money outcomes of migration 0017's functions: an amount in another currency than
 * the claim's without a rate date, no rate for that date, or a recovery given as a total
 * where payments exist. `detail`: field|currency|claim currency[|date], or the total
 * recovered. True if it ended the request. */
static bool claim_money_outcome(struct request *req, const char *outcome, const char *detail)
{
	char field[32] = "", currency[8] = "", claim_currency[8] = "", date[16] = "";
	sscanf(detail, "%31[^|]|%7[^|]|%7[^|]|%15s", field, currency, claim_currency, date);
	if (strcmp(outcome, "currency") == 0) {
		request_field_error(
		    req, arena_printf(&req->arena, "%s.currency", field),
		    arena_printf(&req->arena,
				 "is %s but the claim is in %s: give the amount in %s, or "
				 "a rate date to convert it at that day's rate "
				 "(exchange_rate_date)",
				 currency, claim_currency, claim_currency));
		request_fail_invalid(req, "nothing was changed: the claim keeps one currency");
	} else if (strcmp(outcome, "no_rate") == 0) {
		request_field_error(req, "exchange_rate_date",
				    arena_printf(&req->arena,
						 "has no rate between %s and %s in force: an admin "
						 "sets one with `tulay rate set %s %s RATE --from "
						 "DATE`",
						 currency, claim_currency, currency,
						 claim_currency));
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     "no exchange rate to convert the amount: nothing was changed");
	} else if (strcmp(outcome, "payments") == 0) {
		long long total = 0;
		char total_text[48] = "?";
		if (sscanf(detail, "%lld %7s", &total, currency) == 2 &&
		    money_format(total, currency, total_text, sizeof(total_text)) < 0)
			snprintf(total_text, sizeof(total_text), "%lld minor units of", total);
		request_field_error(
		    req, "amount_recovered",
		    arena_printf(&req->arena,
				 "would overwrite the payments recorded (%s %s so "
				 "far): record what was recovered since as a payment "
				 "(RecordPayment; tulay claim pay)",
				 total_text, currency));
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     "recoveries of this claim are dated payments: nothing was changed");
	} else {
		return false;
	}
	return true;
}

static void claim_money_changed(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *r = case_write_result(req);
	if (claim_money_outcome(req, db_value(r, 0, "outcome"), db_value(r, 0, "detail")))
		return;
	claim_changed(req, outcome);
}

/* `m` as the decimal tulayd writes ("1000.00"), for the event's detail; "-" for none. */
static const char *money_text_param(struct request *req, const Tulay__V1__Money *m)
{
	if (m == NULL)
		return "-";
	char buf[48];
	if (money_format(m->minor_units, m->currency, buf, sizeof(buf)) < 0)
		return "?";
	return arena_strdup(&req->arena, buf);
}

static void claim_amounts_submit(struct request *req)
{
	const Tulay__V1__UpdateClaimAmounts *m = req->msg->update_claim_amounts;
	struct claim_write *cw = req->state;
	struct case_write *w = cw->w;
	struct db_query *q =
	    case_write_query(req, "claim_update_amounts", w, &m->idempotency_key, m->reference);
	DB_PARAMS_TEXT(q, w->version, cw->parts[2][0] != '-' ? cw->parts[2] : NULL,
		       m->amount_awarded ? m->amount_awarded->currency : NULL,
		       cw->parts[4][0] != '-' ? cw->parts[4] : NULL,
		       m->amount_recovered ? m->amount_recovered->currency : NULL, w->occurred_on,
		       *m->exchange_rate_date != '\0' ? m->exchange_rate_date : NULL,
		       money_text_param(req, m->amount_awarded),
		       money_text_param(req, m->amount_recovered));
	q = db_job_add(&req->job, "claim_by_reference");
	db_param_text(q, w->org);
	db_param_text(q, m->reference);
	request_audit(req, "update_claim_amounts", m->reference,
		      arena_printf(&req->arena, "org=%s", w->org));
	request_db(req, claim_money_changed);
}

/* The optional exchange_rate_date of both requests. */
static void validate_rate_date(struct request *req, const char *value)
{
	struct civil_date day;
	const char *problem;
	if (*value != '\0' && (problem = validate_date(value, &day)) != NULL)
		request_field_error(req, "exchange_rate_date", problem);
}

void handle_update_claim_amounts(struct request *req)
{
	const Tulay__V1__UpdateClaimAmounts *m = req->msg->update_claim_amounts;
	claim_validate_money(req, "amount_awarded", m->amount_awarded, 0);
	claim_validate_money(req, "amount_recovered", m->amount_recovered, 0);
	if (m->amount_awarded == NULL && m->amount_recovered == NULL)
		request_field_error(req, "amount_awarded", "or amount_recovered is required");
	if (m->expected_version <= 0)
		request_field_error(req, "expected_version",
				    "is required: the version of the claim you saw");
	validate_rate_date(req, m->exchange_rate_date);
	struct case_write *w = case_write_begin(req, &m->idempotency_key, m->reference, "", "", 0,
						"text", m->expected_version);
	if (w == NULL)
		return;
	/* Amounts are never negative, so "-" marks one left as it is. */
	char *awarded = claim_money_param(req, m->amount_awarded);
	char *recovered = claim_money_param(req, m->amount_recovered);
	if ((m->amount_awarded != NULL && awarded == NULL) ||
	    (m->amount_recovered != NULL && recovered == NULL)) {
		request_fail_oom(req);
		return;
	}
	const char *parts[] = {m->reference,
			       w->version,
			       awarded ? awarded : "-",
			       m->amount_awarded ? m->amount_awarded->currency : "-",
			       recovered ? recovered : "-",
			       m->amount_recovered ? m->amount_recovered->currency : "-",
			       *m->exchange_rate_date != '\0' ? m->exchange_rate_date : "-"};
	claim_write_start(req, w, &m->idempotency_key, m->organisation, parts, N_ELEMS(parts), "",
			  claim_amounts_submit);
}

static void claim_payment_submit(struct request *req)
{
	const Tulay__V1__RecordPayment *m = req->msg->record_payment;
	struct claim_write *cw = req->state;
	struct case_write *w = cw->w;
	struct db_query *q =
	    case_write_query(req, "claim_record_payment", w, &m->idempotency_key, m->reference);
	DB_PARAMS_TEXT(q, cw->parts[1], m->amount->currency, w->occurred_on,
		       *m->exchange_rate_date != '\0' ? m->exchange_rate_date : NULL,
		       money_text_param(req, m->amount));
	q = db_job_add(&req->job, "claim_by_reference");
	db_param_text(q, w->org);
	db_param_text(q, m->reference);
	request_audit(req, "record_payment", m->reference,
		      arena_printf(&req->arena, "org=%s paid_on=%s", w->org, w->occurred_on));
	request_db(req, claim_money_changed);
}

void handle_record_payment(struct request *req)
{
	const Tulay__V1__RecordPayment *m = req->msg->record_payment;
	if (m->amount == NULL)
		request_field_error(req, "amount", "is required: what was paid, more than zero");
	claim_validate_money(req, "amount", m->amount, 1);
	struct civil_date paid;
	const char *problem;
	char today[11];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	if (*m->paid_on == '\0')
		request_field_error(req, "paid_on", "is required: the day the payment was made");
	else if ((problem = validate_date(m->paid_on, &paid)) != NULL)
		request_field_error(req, "paid_on", problem);
	else if (strcmp(m->paid_on, today) > 0)
		request_field_error(req, "paid_on", "is in the future: record a payment once made");
	validate_rate_date(req, m->exchange_rate_date);
	/* paid_on, checked above, is the event's day. */
	struct case_write *w =
	    case_write_begin(req, &m->idempotency_key, m->reference,
			     request_has_field_errors(req) ? "" : m->paid_on, "", 0, "text", 0);
	if (w == NULL)
		return;
	char *amount = claim_money_param(req, m->amount);
	if (amount == NULL) {
		request_fail_oom(req);
		return;
	}
	const char *parts[] = {m->reference, amount, m->amount->currency, w->occurred_on,
			       *m->exchange_rate_date != '\0' ? m->exchange_rate_date : "-"};
	claim_write_start(req, w, &m->idempotency_key, m->organisation, parts, N_ELEMS(parts), "",
			  claim_payment_submit);
}
