/* What the handlers of every case kind share (see case_common.h). */
#include "case_common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common.h"
#include "handlers.h"
#include "log.h"
#include "request.h"
#include "validate.h"
#include "vault.h"

const struct db_statement case_common_statements[] = {
    {"case_timeline",
     "SELECT " CASE_EVENT_COLUMNS " FROM case_events e "
     "JOIN cases c ON c.org_id = e.org_id AND c.case_id = e.case_id "
     "JOIN user_names u ON u.user_id = e.recorded_by "
     "WHERE c.org_id = $1 AND c.reference = $2 ORDER BY e.recorded_at, e.event_id"},
    {"case_event_by_key", "SELECT " CASE_EVENT_COLUMNS " FROM case_events e "
			  "JOIN user_names u ON u.user_id = e.recorded_by "
			  "WHERE e.org_id = $1 AND e.idempotency_key = $2"},
    /* The timeline of the case created (or replayed) under idempotency key $2 in the same
     * transaction, whose reference the pipeline does not know yet. */
    {"case_timeline_by_key",
     "SELECT " CASE_EVENT_COLUMNS " FROM case_events e "
     "JOIN cases c ON c.org_id = e.org_id AND c.case_id = e.case_id "
     "JOIN user_names u ON u.user_id = e.recorded_by "
     "WHERE c.org_id = $1 AND c.idempotency_key = $2 ORDER BY e.recorded_at, e.event_id"},
    {"case_note_add", "SELECT event_id, outcome FROM add_case_note($1, $2, $3, $4, $5, $6, $7)"},
    /* Possible duplicates: the organisation's ($1) other cases (not the one with key $4)
     * holding one of these ID numbers' blind indexes: $2 one, $3 an array (migration
     * 0016's case_id_numbers). */
    {"case_duplicates", "SELECT DISTINCT c.reference FROM case_id_numbers i "
			"JOIN cases c ON c.org_id = i.org_id AND c.case_id = i.case_id "
			"WHERE i.org_id = $1::bigint "
			"AND (i.id_index = $2::bytea OR i.id_index = ANY ($3::bytea[])) "
			"AND c.idempotency_key <> $4::bytea ORDER BY 1 LIMIT 20"},
};
const unsigned case_common_statements_count = N_ELEMS(case_common_statements);

uint8_t *case_bytea(struct request *req, const PGresult *res, int row, int col, size_t *len)
{
	const char *text = PQgetvalue(res, row, col);
	size_t hex = strlen(text);
	if (hex < 2 || strncmp(text, "\\x", 2) != 0)
		return NULL;
	uint8_t *out = arena_alloc(&req->arena, hex / 2 + 1);
	if (out == NULL || sodium_hex2bin(out, hex / 2, text + 2, hex - 2, NULL, len, NULL) != 0)
		return NULL;
	return out;
}

Tulay__V1__Money *case_money(struct request *req, const PGresult *res, int row, const char *name,
			     bool *oom)
{
	char minor[64], currency[64];
	snprintf(minor, sizeof(minor), "%s_minor", name);
	snprintf(currency, sizeof(currency), "%s_currency", name);
	int col = db_column(res, minor);
	if (PQgetisnull(res, row, col))
		return NULL;
	Tulay__V1__Money *m = request_alloc(req, sizeof(*m));
	if (m != NULL) {
		tulay__v1__money__init(m);
		m->minor_units = strtoll(PQgetvalue(res, row, col), NULL, 10);
		m->currency = arena_strdup(&req->arena, db_value(res, row, currency));
	}
	if (m == NULL || m->currency == NULL)
		*oom = true;
	return m;
}

char *case_int_param(struct request *req, long long value)
{
	return arena_printf(&req->arena, "%lld", value);
}

bool case_reference_is_valid(const char *ref)
{
	size_t len = strlen(ref);
	if (len < 14 || len > 24 || !isupper((unsigned char)ref[0]) ||
	    !isupper((unsigned char)ref[1]) || ref[2] != '-' || ref[7] != '-')
		return false;
	for (size_t i = 3; i < len; i++) {
		if (i != 7 && !isdigit((unsigned char)ref[i]))
			return false;
	}
	return true;
}

bool case_page_token_is_valid(const char *token)
{
	size_t len = strlen(token);
	if (len > 18)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)token[i]))
			return false;
	}
	return true;
}

void case_check_paging(struct request *req, uint32_t limit, const char *page_token)
{
	if (limit > CASE_PAGE_MAX)
		request_field_error(req, "limit", "must be at most " CASE_PAGE_MAX_TEXT);
	if (!case_page_token_is_valid(page_token))
		request_field_error(req, "page_token",
				    "is not a next_page_token this server gave out");
}

bool case_page(struct request *req, const PGresult *res, unsigned limit, int id_column,
	       case_item_fn *item, const void *cols, struct case_page *page)
{
	int rows = PQntuples(res);
	int n = rows > (int)limit ? (int)limit : rows;
	void **items = request_alloc(req, sizeof(*items) * (size_t)(n + 1));
	if (request_oom(req, items))
		return false;
	for (int i = 0; i < n; i++) {
		if ((items[i] = item(req, res, i, cols)) == NULL)
			return false;
	}
	items[n] = NULL;
	char *next = "";
	if (rows > n &&
	    request_oom(req, next = arena_strdup(&req->arena, PQgetvalue(res, n - 1, id_column))))
		return false;
	*page = (struct case_page){items, (size_t)n, next};
	return true;
}

bool chars_in(const char *value, size_t min, size_t max, const char *allowed)
{
	size_t len = strlen(value);
	return len >= min && len <= max && strspn(value, allowed) == len;
}

void case_check_code_list(struct request *req, const char *field, const ProtobufCEnumDescriptor *e,
			  const int *values, size_t n, const char *noun)
{
	for (size_t i = 0; i < n; i++) {
		if (proto_code(e, values[i]) == NULL) {
			request_field_error(
			    req, field,
			    arena_printf(&req->arena, "holds a value that is not a %s", noun));
			return;
		}
		for (size_t j = 0; j < i; j++) {
			if (values[j] == values[i]) {
				request_field_error(req, field,
						    arena_printf(&req->arena,
								 "names %s twice: give each once",
								 proto_code(e, values[i])));
				return;
			}
		}
	}
}

char *case_code_list_param(struct request *req, const ProtobufCEnumDescriptor *e, const int *values,
			   size_t n)
{
	const char **codes = request_alloc(req, sizeof(*codes) * (n + 1));
	if (codes == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		codes[i] = proto_code(e, values[i]);
	return request_array_param(req, codes, n);
}

int *case_code_list_values(struct request *req, const char *list, const ProtobufCEnumDescriptor *e,
			   size_t *n)
{
	/* At most one value per comma, plus one. */
	size_t cap = 1;
	for (const char *p = list; *p != '\0'; p++)
		cap += *p == ',';
	int *values = request_alloc(req, sizeof(*values) * cap);
	char *copy = arena_strdup(&req->arena, list);
	if (values == NULL || copy == NULL)
		return NULL;
	*n = 0;
	char *save = NULL;
	for (char *w = strtok_r(copy, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
		int v = proto_value(e, w);
		if (v != 0)
			values[(*n)++] = v;
	}
	return values;
}

uint8_t *case_seal(struct request *req, int64_t org_id, const char *table, const char *column,
		   const uint8_t *key, size_t key_len, const char *text, size_t *sealed_len)
{
	struct vault_place place = {org_id, table, column, key, key_len};
	return vault_seal(&req->arena, text, &place, sealed_len);
}

bool case_open_column(struct request *req, const PGresult *res, int row, int col, int key_col,
		      int64_t org_id, const char *table, const char *column, char **out)
{
	*out = NULL;
	if (PQgetisnull(res, row, col))
		return true;
	size_t key_len = 0, len = 0;
	uint8_t *key = case_bytea(req, res, row, key_col, &key_len);
	uint8_t *sealed = case_bytea(req, res, row, col, &len);
	struct vault_place place = {org_id, table, column, key, key_len};
	if (key == NULL || sealed == NULL ||
	    (*out = vault_open(&req->arena, sealed, len, &place)) == NULL) {
		log_error("event=identity_integrity_failure req=%llu column=%s.%s",
			  (unsigned long long)req->seq, table, column);
		return false;
	}
	return true;
}

/* The indexes of the CASE_EVENT_COLUMNS of a result, looked up once for all its rows. */
struct case_event_columns {
	int event_id, kind, occurred_on, recorded_at, recorded_by, from_status, to_status, text_enc,
	    idempotency_key, detail, recorded_by_organisation;
};

static struct case_event_columns case_event_columns(const PGresult *res)
{
	return (struct case_event_columns){
	    .event_id = db_column(res, "event_id"),
	    .kind = db_column(res, "kind"),
	    .occurred_on = db_column(res, "occurred_on"),
	    .recorded_at = db_column(res, "recorded_at"),
	    .recorded_by = db_column(res, "recorded_by"),
	    .from_status = db_column(res, "from_status"),
	    .to_status = db_column(res, "to_status"),
	    .text_enc = db_column(res, "text_enc"),
	    .idempotency_key = db_column(res, "idempotency_key"),
	    .detail = db_column(res, "detail"),
	    .recorded_by_organisation = db_column(res, "recorded_by_organisation"),
	};
}

/* One timeline row, its text opened (sealed for org_id); NULL on memory or integrity
 * failure (*integrity_failed says which). A claim's statuses also go into
 * from_status/to_status. */
static Tulay__V1__CaseEvent *case_event_from_row(struct request *req, const PGresult *res, int row,
						 const struct case_event_columns *c, int64_t org_id,
						 bool *integrity_failed)
{
	Tulay__V1__CaseEvent *e = request_alloc(req, sizeof(*e));
	if (e == NULL)
		return NULL;
	tulay__v1__case_event__init(e);
	struct arena *a = &req->arena;
	e->id = strtoll(PQgetvalue(res, row, c->event_id), NULL, 10);
	e->kind =
	    (Tulay__V1__CaseEventKind)VALUE_OF(case_event_kind, PQgetvalue(res, row, c->kind));
	e->occurred_on = arena_strdup(a, PQgetvalue(res, row, c->occurred_on));
	e->recorded_at = strtoll(PQgetvalue(res, row, c->recorded_at), NULL, 10);
	e->recorded_by = arena_strdup(a, PQgetvalue(res, row, c->recorded_by));
	e->from_code = arena_strdup(a, PQgetvalue(res, row, c->from_status));
	e->to_code = arena_strdup(a, PQgetvalue(res, row, c->to_status));
	e->from_status = (Tulay__V1__ClaimStatus)VALUE_OF(claim_status, e->from_code ?: "");
	e->to_status = (Tulay__V1__ClaimStatus)VALUE_OF(claim_status, e->to_code ?: "");
	e->detail = arena_strdup(a, PQgetvalue(res, row, c->detail));
	e->recorded_by_organisation =
	    arena_strdup(a, PQgetvalue(res, row, c->recorded_by_organisation));
	if (e->occurred_on == NULL || e->recorded_by == NULL || e->from_code == NULL ||
	    e->to_code == NULL || e->detail == NULL || e->recorded_by_organisation == NULL)
		return NULL;
	char *text = NULL;
	if (!case_open_column(req, res, row, c->text_enc, c->idempotency_key, org_id, "case_events",
			      "text", &text)) {
		*integrity_failed = true;
		return NULL;
	}
	if (text != NULL)
		e->text = text;
	return e;
}

bool case_timeline(struct request *req, const PGresult *res, int64_t org_id,
		   Tulay__V1__CaseEvent ***events, size_t *n)
{
	int rows = PQntuples(res);
	Tulay__V1__CaseEvent **list = request_alloc(req, sizeof(*list) * (size_t)(rows + 1));
	if (list == NULL) {
		request_fail_oom(req);
		return false;
	}
	struct case_event_columns cols = case_event_columns(res);
	for (int i = 0; i < rows; i++) {
		bool integrity_failed = false;
		list[i] = case_event_from_row(req, res, i, &cols, org_id, &integrity_failed);
		if (list[i] == NULL) {
			request_fail(req,
				     integrity_failed ? TULAY__V1__CODE__DATA_LOSS
						      : TULAY__V1__CODE__RESOURCE_EXHAUSTED,
				     integrity_failed ? "a timeline entry of this case fails its "
							"integrity check; the incident is logged"
						      : "out of memory");
			return false;
		}
	}
	*events = list;
	*n = (size_t)rows;
	return true;
}

void case_event_reply(struct request *req, const PGresult *res, int64_t org_id)
{
	bool integrity_failed = false;
	struct case_event_columns cols = case_event_columns(res);
	Tulay__V1__CaseEvent *e =
	    PQntuples(res) == 1 ? case_event_from_row(req, res, 0, &cols, org_id, &integrity_failed)
				: NULL;
	if (e == NULL) {
		request_fail(req, TULAY__V1__CODE__INTERNAL, "the entry could not be read back");
		return;
	}
	REQUEST_REPLY(req, CASE_EVENT, case_event, e);
}

struct case_write *case_write_begin(struct request *req, const ProtobufCBinaryData *key,
				    const char *reference, const char *occurred_on,
				    const char *text, size_t max_text, const char *text_field,
				    int64_t expected_version)
{
	if (req->session.role == TULAY__V1__ROLE__ROLE_COORDINATOR) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "coordinators read cases; a field officer changes them");
		return NULL;
	}
	struct case_write *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return NULL;
	}
	const char *problem;
	struct civil_date when;
	if ((problem = validate_idempotency_key(key->len)) != NULL)
		request_field_error(req, "idempotency_key", problem);
	if (!case_reference_is_valid(reference))
		request_field_error(req, "reference",
				    "is not a case reference such as WT-2026-000123");
	if (*occurred_on == '\0') {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(st->occurred_on, sizeof(st->occurred_on), "%Y-%m-%d", &tm);
	} else if ((problem = validate_date(occurred_on, &when)) != NULL) {
		request_field_error(req, "occurred_on", problem);
	} else {
		snprintf(st->occurred_on, sizeof(st->occurred_on), "%s", occurred_on);
	}
	if (*text != '\0' && (problem = validate_free_text(text, 1, max_text)) != NULL)
		request_field_error(req, text_field, problem);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "nothing was changed");
		return NULL;
	}
	snprintf(st->version, sizeof(st->version), "%lld", (long long)expected_version);
	return st;
}

const PGresult *case_write_result(const struct request *req)
{
	return request_result(req, 0);
}

struct db_query *case_write_query(struct request *req, const char *statement,
				  const struct case_write *w, const ProtobufCBinaryData *key,
				  const char *reference)
{
	struct db_query *q = db_job_add(&req->job, statement);
	db_param_text(q, w->org);
	db_param_text(q, w->user);
	db_param_bytes(q, key->data, (int)key->len);
	db_param_bytes(q, w->hash, sizeof(w->hash));
	db_param_text(q, reference);
	return q;
}

void case_write_finish(struct request *req, struct case_write *st, int64_t org_id,
		       const char *const *parts, size_t n)
{
	st->org_id = org_id;
	snprintf(st->org, sizeof(st->org), "%lld", (long long)org_id);
	snprintf(st->user, sizeof(st->user), "%lld", (long long)req->session.user_id);
	crypto_generichash_state h;
	vault_fingerprint_start(&h, sizeof(st->hash));
	/* The organisation of the case is part of what was asked. */
	const char *org = st->org;
	vault_fingerprint_add(&h, &org, 1);
	vault_fingerprint_add(&h, parts, n);
	crypto_generichash_final(&h, st->hash, sizeof(st->hash));
}

bool case_fail_outcome(struct request *req, const char *outcome, const char *detail,
		       const char *noun, const char *reason_field)
{
	if (strcmp(outcome, "key_reused") == 0) {
		request_fail_key_reused(req, "change");
	} else if (strcmp(outcome, "not_found") == 0) {
		request_field_error(req, "reference", "names no case of this kind visible to you");
		request_fail(req, TULAY__V1__CODE__NOT_FOUND,
			     arena_printf(&req->arena, "no %s with this reference", noun));
	} else if (strcmp(outcome, "stale") == 0) {
		request_field_error(req, "expected_version", "is stale");
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     arena_printf(&req->arena,
					  "the %s changed since you looked (version is now %s): "
					  "check it again",
					  noun, detail));
	} else if (strcmp(outcome, "illegal") == 0) {
		request_field_error(req, "status", "is not a move allowed from the current status");
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     arena_printf(&req->arena, "a %s in status %s", noun, detail));
	} else if (strcmp(outcome, "reason_required") == 0) {
		request_field_error(req, reason_field,
				    "is required for this move (closing, reopening): say why");
		request_fail_invalid(req, "nothing was changed");
	} else {
		return false;
	}
	return true;
}

bool case_fail_unknown_office(struct request *req)
{
	int i = req->job.failed_query;
	if (i < 0 || req->job.results[i] == NULL ||
	    strcmp(db_sqlstate(req->job.results[i]), "TU001") != 0)
		return false;
	request_field_error(req, "office",
			    "is not one of the organisation's field offices (see: tulay org show)");
	request_fail_invalid(req, "nothing was logged: correct the fields named");
	return true;
}

const PGresult *case_created(struct request *req, enum db_outcome outcome, const char *what)
{
	if (outcome != DB_OK) {
		if (!case_fail_unknown_office(req))
			request_fail_db(req);
		return NULL;
	}
	const PGresult *res = request_result(req, 0);
	if (strcmp(db_value(res, 0, "outcome"), "key_reused") == 0) {
		request_fail_key_reused(req, what);
		return NULL;
	}
	return res;
}

void case_today(struct civil_date *today)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	today->year = tm.tm_year + 1900;
	today->month = tm.tm_mon + 1;
	today->day = tm.tm_mday;
}

void case_find_duplicates(struct request *req, const char *org_id, const uint8_t *index,
			  const char *indexes, const ProtobufCBinaryData *key)
{
	struct db_query *q = db_job_add(&req->job, "case_duplicates");
	db_param_text(q, org_id);
	if (index != NULL)
		db_param_bytes(q, index, VAULT_INDEX_BYTES);
	else
		db_param_text(q, NULL);
	db_param_text(q, indexes);
	db_param_bytes(q, key->data, (int)key->len);
}

bool case_references(struct request *req, const PGresult *res, char ***out, size_t *n)
{
	int rows = PQntuples(res);
	int col = db_column(res, "reference");
	char **refs = request_alloc(req, sizeof(*refs) * (size_t)(rows + 1));
	if (refs == NULL)
		return false;
	for (int i = 0; i < rows; i++) {
		if ((refs[i] = arena_strdup(&req->arena, PQgetvalue(res, i, col))) == NULL)
			return false;
	}
	*out = refs;
	*n = (size_t)rows;
	return true;
}
