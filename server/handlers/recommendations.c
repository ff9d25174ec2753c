/* Policy recommendations: record one (idempotently) with its co-signers and evidence,
 * show it with its timeline, move it along what governments did with it, and link more
 * cases as its evidence. Every request answers with the whole Recommendation. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"
#include "case_common.h"
#include "handlers.h"
#include "request.h"
#include "validate.h"
#include "vault.h"

/* At most this many co-signers and evidence references in one CreateRecommendation. */
#define RECOMMENDATION_MAX_LIST 50
/* Limits of the texts (characters), as the table's CHECKs. */
#define RECOMMENDATION_TITLE_MAX  200
#define RECOMMENDATION_TEXT_MAX   4000
#define RECOMMENDATION_SOURCE_MAX 300
#define RECOMMENDATION_BODY_MAX   200 /* target_body */
#define RECOMMENDATION_OFFICE_MAX 200
#define RECOMMENDATION_NOTE_MAX   1000

/* The columns recommendation_from_row() reads, each by its name. The co-signers come as
 * one comma-separated string of acronyms. */
#define RECOMMENDATION_SELECT                                                                      \
	"SELECT c.case_id, c.reference, o.acronym AS organisation, c.status, r.title, r.body, "    \
	"r.source_document, to_char(r.source_date, 'YYYY-MM-DD') AS source_date, r.addressed_to, " \
	"coalesce(r.target_body, '') AS target_body, coalesce(r.country, '') AS country, "         \
	"r.theme, "                                                                                \
	"coalesce(f.name, '') AS office, to_char(c.opened_on, 'YYYY-MM-DD') AS opened_on, "        \
	"coalesce(to_char(c.closed_on, 'YYYY-MM-DD'), '') AS closed_on, c.version, "               \
	"u.username AS created_by, extract(epoch FROM c.created_at)::bigint AS created_at, "       \
	"coalesce((SELECT string_agg(so.acronym, ',' ORDER BY so.acronym) "                        \
	"  FROM recommendation_signatories s JOIN organisations so ON so.org_id = "                \
	"s.signatory_org "                                                                         \
	"  WHERE s.org_id = c.org_id AND s.case_id = c.case_id), '') AS co_signers "               \
	"FROM cases c JOIN recommendations r ON r.org_id = c.org_id AND r.case_id = c.case_id "    \
	"JOIN organisations o ON o.org_id = c.org_id "                                             \
	"JOIN user_names u ON u.user_id = c.created_by "                                           \
	"LEFT JOIN offices f ON f.org_id = c.org_id AND f.office_id = c.office_id "                \
	"WHERE c.kind = 'recommendation' AND c.org_id = $1 "

/* The evidence of a recommendation: (acronym, reference) in the order linked. A case
 * referred to the author stays named after the referral is revoked (referral_cases gives
 * the reference of a case of any of the caller's referrals, nothing more). */
#define RECOMMENDATION_EVIDENCE_SELECT                                                             \
	"SELECT eo.acronym AS organisation, coalesce(ec.reference, rc.reference, '') AS "          \
	"reference "                                                                               \
	"FROM recommendation_evidence e "                                                          \
	"JOIN cases c ON c.org_id = e.org_id AND c.case_id = e.case_id "                           \
	"JOIN organisations eo ON eo.org_id = e.evidence_org "                                     \
	"LEFT JOIN cases ec ON ec.org_id = e.evidence_org AND ec.case_id = e.evidence_case "       \
	"LEFT JOIN referral_cases rc ON rc.org_id = e.evidence_org "                               \
	"  AND rc.case_id = e.evidence_case "                                                      \
	"WHERE c.kind = 'recommendation' AND c.org_id = $1 "
#define RECOMMENDATION_EVIDENCE_ORDER " ORDER BY e.added_at, eo.acronym, 2"

const struct db_statement recommendations_statements[] = {
    {"recommendation_create",
     "SELECT case_id, outcome, coalesce(detail, '') AS detail FROM create_recommendation($1, "
     "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::text[], $16::text[])"},
    {"recommendation_change_status",
     "SELECT outcome, coalesce(detail, '') AS detail FROM change_case_status('recommendation', "
     "$1, $2, $3, $4, $5, $6, $7, $8, $9)"},
    {"recommendation_link_evidence",
     "SELECT outcome FROM link_recommendation_evidence($1, $2, $3, $4, $5, $6, $7, $8)"},
    {"recommendation_by_reference", RECOMMENDATION_SELECT "AND c.reference = $2"},
    {"recommendation_by_key", RECOMMENDATION_SELECT "AND c.idempotency_key = $2"},
    {"recommendation_evidence_by_reference",
     RECOMMENDATION_EVIDENCE_SELECT "AND c.reference = $2" RECOMMENDATION_EVIDENCE_ORDER},
    {"recommendation_evidence_by_key",
     RECOMMENDATION_EVIDENCE_SELECT "AND c.idempotency_key = $2" RECOMMENDATION_EVIDENCE_ORDER},
    /* ExportCases (cases.c): a page of recommendations, each with a row per piece of
     * evidence (consecutive), as RECOMMENDATION_EVIDENCE_SELECT names them. */
    {"export_recommendations",
     "WITH page AS (" RECOMMENDATION_SELECT EXPORT_PAGE(
	 "recommendation",
	 "c.case_id") ") SELECT page.*, ev.evidence_organisation, ev.evidence_reference FROM page "
		      "LEFT JOIN LATERAL (SELECT eo.acronym AS evidence_organisation, "
		      "coalesce(ec.reference, rc.reference, '') AS evidence_reference, e.added_at "
		      "FROM recommendation_evidence e "
		      "JOIN organisations eo ON eo.org_id = e.evidence_org "
		      "LEFT JOIN cases ec ON ec.org_id = e.evidence_org AND ec.case_id = "
		      "e.evidence_case "
		      "LEFT JOIN referral_cases rc ON rc.org_id = e.evidence_org AND rc.case_id = "
		      "e.evidence_case "
		      "WHERE e.org_id = $1 AND e.case_id = page.case_id) ev ON true "
		      "ORDER BY page.case_id, ev.added_at, ev.evidence_organisation, 2"},
};
const unsigned recommendations_statements_count = N_ELEMS(recommendations_statements);

/* --- reading one back ------------------------------------------------------------------ */

/* Splits the comma-separated acronyms of column co_signers into r->co_signers. */
static bool co_signers_from_row(struct request *req, const PGresult *res, int row,
				Tulay__V1__Recommendation *r)
{
	char *list = arena_strdup(&req->arena, db_value(res, row, "co_signers"));
	r->co_signers = request_alloc(req, sizeof(*r->co_signers) * (RECOMMENDATION_MAX_LIST + 1));
	if (list == NULL || r->co_signers == NULL)
		return false;
	char *save = NULL;
	for (char *a = strtok_r(list, ",", &save);
	     a != NULL && r->n_co_signers < RECOMMENDATION_MAX_LIST; a = strtok_r(NULL, ",", &save))
		r->co_signers[r->n_co_signers++] = a;
	return true;
}

/* The recommendation of row `row` of a RECOMMENDATION_SELECT result; NULL when out of
 * memory. */
static Tulay__V1__Recommendation *recommendation_from_row(struct request *req, const PGresult *res,
							  int row)
{
	struct arena *a = &req->arena;
	Tulay__V1__Recommendation *r = request_alloc(req, sizeof(*r));
	if (r == NULL)
		return NULL;
	tulay__v1__recommendation__init(r);
	struct {
		char **field;
		const char *column;
	} texts[] = {
	    {&r->reference, "reference"},
	    {&r->organisation, "organisation"},
	    {&r->title, "title"},
	    {&r->text, "body"},
	    {&r->source_document, "source_document"},
	    {&r->source_date, "source_date"},
	    {&r->target_body, "target_body"},
	    {&r->country, "country"},
	    {&r->office, "office"},
	    {&r->opened_on, "opened_on"},
	    {&r->closed_on, "closed_on"},
	    {&r->created_by, "created_by"},
	};
	for (size_t i = 0; i < N_ELEMS(texts); i++) {
		if ((*texts[i].field = arena_strdup(a, db_value(res, row, texts[i].column))) ==
		    NULL)
			return NULL;
	}
	r->status = (Tulay__V1__RecommendationStatus)VALUE_OF(recommendation_status,
							      db_value(res, row, "status"));
	r->addressed_to =
	    (Tulay__V1__AddressedTo)VALUE_OF(addressed_to, db_value(res, row, "addressed_to"));
	r->theme = (Tulay__V1__RecommendationTheme)VALUE_OF(recommendation_theme,
							    db_value(res, row, "theme"));
	r->version = strtoll(db_value(res, row, "version"), NULL, 10);
	r->created_at = strtoll(db_value(res, row, "created_at"), NULL, 10);
	return co_signers_from_row(req, res, row, r) ? r : NULL;
}

/* The rows of a RECOMMENDATION_EVIDENCE_SELECT result into r->evidence. */
static bool evidence_from_rows(struct request *req, const PGresult *res,
			       Tulay__V1__Recommendation *r)
{
	int rows = PQntuples(res);
	int organisation = db_column(res, "organisation"), reference = db_column(res, "reference");
	r->evidence = request_alloc(req, sizeof(*r->evidence) * (size_t)(rows + 1));
	if (r->evidence == NULL)
		return false;
	for (int i = 0; i < rows; i++) {
		Tulay__V1__CaseRef *ref = request_alloc(req, sizeof(*ref));
		if (ref == NULL)
			return false;
		tulay__v1__case_ref__init(ref);
		ref->organisation = arena_strdup(&req->arena, PQgetvalue(res, i, organisation));
		ref->reference = arena_strdup(&req->arena, PQgetvalue(res, i, reference));
		if (ref->organisation == NULL || ref->reference == NULL)
			return false;
		r->evidence[i] = ref;
	}
	r->n_evidence = (size_t)rows;
	return true;
}

Tulay__V1__Recommendation *recommendation_export_row(struct request *req, const PGresult *res,
						     int from, int to)
{
	Tulay__V1__Recommendation *r = recommendation_from_row(req, res, from);
	int organisation = db_column(res, "evidence_organisation");
	int reference = db_column(res, "evidence_reference");
	if (r != NULL)
		r->evidence = request_alloc(req, sizeof(*r->evidence) * (size_t)(to - from + 1));
	if (r == NULL || r->evidence == NULL) {
		request_fail_oom(req);
		return NULL;
	}
	for (int row = from; row < to; row++) {
		if (PQgetisnull(res, row, organisation))
			continue; /* no evidence */
		Tulay__V1__CaseRef *ref = request_alloc(req, sizeof(*ref));
		if (request_oom(req, ref))
			return NULL;
		tulay__v1__case_ref__init(ref);
		ref->organisation = arena_strdup(&req->arena, PQgetvalue(res, row, organisation));
		ref->reference = arena_strdup(&req->arena, PQgetvalue(res, row, reference));
		if (ref->organisation == NULL || ref->reference == NULL) {
			request_fail_oom(req);
			return NULL;
		}
		r->evidence[r->n_evidence++] = ref;
	}
	return r;
}

/* The read-back queries of a recommendation (recommendation_read_queries): itself, its
 * evidence and its timeline, named by reference or by the creating request's key. */
static const char *const read_names[3][2] = {
    {"recommendation_by_reference", "recommendation_by_key"},
    {"recommendation_evidence_by_reference", "recommendation_evidence_by_key"},
    {"case_timeline", "case_timeline_by_key"},
};

/* The result of read-back query i, whichever way it named the recommendation. */
static const PGresult *read_back(const struct request *req, size_t i)
{
	const PGresult *res = request_result_if(req, read_names[i][0]);
	return res != NULL ? res : request_result_of(req, read_names[i][1]);
}

/* Replies with the recommendation its read-back queries read, of organisation org_id. */
static void recommendation_reply(struct request *req, int64_t org_id)
{
	const PGresult *res = read_back(req, 0);
	if (PQntuples(res) != 1) {
		request_fail(req, TULAY__V1__CODE__INTERNAL,
			     "the recommendation could not be read back");
		return;
	}
	Tulay__V1__Recommendation *r = recommendation_from_row(req, res, 0);
	if (r == NULL || !evidence_from_rows(req, read_back(req, 1), r)) {
		request_fail_oom(req);
		return;
	}
	if (!case_timeline(req, read_back(req, 2), org_id, &r->timeline, &r->n_timeline))
		return;
	REQUEST_REPLY(req, RECOMMENDATION, recommendation, r);
}

/* Adds the three read-back queries of recommendation_reply for the recommendation of
 * organisation `org` (text) named by reference, or by the idempotency key of the request
 * creating it (key != NULL). */
static void recommendation_read_queries(struct request *req, const char *org, const char *reference,
					const ProtobufCBinaryData *key)
{
	for (size_t i = 0; i < N_ELEMS(read_names); i++) {
		struct db_query *q = db_job_add(&req->job, read_names[i][key != NULL]);
		db_param_text(q, org);
		if (key != NULL)
			db_param_bytes(q, key->data, (int)key->len);
		else
			db_param_text(q, reference);
	}
}

/* --- CreateRecommendation -------------------------------------------------------------- */

struct recommendation_create_state {
	int64_t org_id;
	char *co_signers; /* PostgreSQL array literals: {MYNGO,CARAM} */
	char *evidence;   /* {WT-2026-000001} */
	uint8_t hash[32];
};

static void recommendation_created(struct request *req, enum db_outcome outcome)
{
	struct recommendation_create_state *st = req->state;
	const PGresult *res = case_created(req, outcome, "recommendation");
	if (res == NULL)
		return;
	const char *result = db_value(res, 0, "outcome"), *detail = db_value(res, 0, "detail");
	if (strcmp(result, "unknown_signatory") == 0)
		request_field_error(req, "co_signers",
				    arena_printf(&req->arena,
						 "names %s, which is not a registered organisation",
						 detail));
	else if (strcmp(result, "self_signatory") == 0)
		request_field_error(req, "co_signers",
				    "names the author, your own organisation: co-signers are "
				    "the other organisations behind it");
	else if (strcmp(result, "unknown_evidence") == 0)
		request_field_error(
		    req, "evidence",
		    arena_printf(&req->arena, "names %s, which is not a case of your organisation",
				 detail));
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the recommendation was not recorded: correct the fields "
					  "named");
		return;
	}
	recommendation_reply(req, st->org_id);
}

static void recommendation_create_submit(struct request *req)
{
	const Tulay__V1__CreateRecommendation *m = req->msg->create_recommendation;
	struct recommendation_create_state *st = req->state;
	const char *status = m->status != 0 ? CODE_OF(recommendation_status, m->status) : "drafted";
	const char *addressed_to = CODE_OF(addressed_to, m->addressed_to);
	const char *theme = CODE_OF(recommendation_theme, m->theme);
	char *org = case_int_param(req, st->org_id);
	char *user = case_int_param(req, req->session.user_id);
	if (org == NULL || user == NULL) {
		request_fail_oom(req);
		return;
	}
	/* The request's content as the server understood it, so that a retry is recognised
	 * and a reused key with other content is refused. NUL-separated fields. */
	const char *parts[] = {
	    org,          status,         m->title,   m->text, m->source_document, m->source_date,
	    addressed_to, m->target_body, m->country, theme,   m->office,          st->co_signers,
	    st->evidence};
	vault_fingerprint(parts, N_ELEMS(parts), st->hash, sizeof(st->hash));

	struct db_query *q = db_job_add(&req->job, "recommendation_create");
	db_param_text(q, org);
	db_param_text(q, user);
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	db_param_bytes(q, st->hash, sizeof(st->hash));
	DB_PARAMS_TEXT(q, m->office, status, m->title, m->text, m->source_document, m->source_date,
		       addressed_to, *m->target_body != '\0' ? m->target_body : NULL,
		       *m->country != '\0' ? m->country : NULL, theme, st->co_signers,
		       st->evidence);
	/* Same pipeline, same transaction: read back what was created or replayed. */
	recommendation_read_queries(req, org, NULL, &m->idempotency_key);
	request_audit_case_key(req, "create_recommendation", m->idempotency_key.data,
			       (int)m->idempotency_key.len);
	request_db(req, recommendation_created);
}

/* Checks the co-signers (acronyms of other organisations, each once) and stores them,
 * upper-cased, as an array literal in st. */
static bool recommendation_co_signers(struct request *req, const Tulay__V1__CreateRecommendation *m,
				      struct recommendation_create_state *st)
{
	char **upper = request_alloc(req, sizeof(*upper) * (m->n_co_signers + 1));
	if (upper == NULL)
		return false;
	if (m->n_co_signers > RECOMMENDATION_MAX_LIST)
		request_field_error(req, "co_signers", "names more than 50 organisations");
	for (size_t i = 0; i < m->n_co_signers && i < RECOMMENDATION_MAX_LIST; i++) {
		const char *given = m->co_signers[i];
		if ((upper[i] = request_alloc(req, strlen(given) + 1)) == NULL)
			return false;
		validate_upper(given, upper[i], strlen(given) + 1);
		const char *problem = NULL;
		if (validate_acronym(upper[i]) != NULL)
			problem = arena_printf(
			    &req->arena, "holds '%.40s', which is not an organisation acronym",
			    given);
		else if (strcmp(upper[i], req->session.org_acronym) == 0)
			problem = arena_printf(&req->arena,
					       "names %s, the author: co-signers are the other "
					       "organisations behind it",
					       upper[i]);
		for (size_t j = 0; problem == NULL && j < i; j++) {
			if (strcmp(upper[i], upper[j]) == 0)
				problem = arena_printf(&req->arena, "names %s twice", upper[i]);
		}
		if (problem != NULL) {
			request_field_error(req, "co_signers", problem);
			return true;
		}
	}
	if (!request_has_field_errors(req) &&
	    (st->co_signers =
		 request_array_param(req, (const char *const *)upper, m->n_co_signers)) == NULL)
		return false;
	return true;
}

/* Checks the evidence (references of the author's cases, each once) and stores it as an
 * array literal in st. */
static bool recommendation_evidence(struct request *req, const Tulay__V1__CreateRecommendation *m,
				    struct recommendation_create_state *st)
{
	if (m->n_evidence > RECOMMENDATION_MAX_LIST) {
		request_field_error(req, "evidence", "names more than 50 cases");
		return true;
	}
	for (size_t i = 0; i < m->n_evidence; i++) {
		const char *problem = NULL;
		if (!case_reference_is_valid(m->evidence[i]))
			problem =
			    arena_printf(&req->arena,
					 "holds '%.40s', which is not a case reference such as "
					 "WT-2026-000123",
					 m->evidence[i]);
		for (size_t j = 0; problem == NULL && j < i; j++) {
			if (strcmp(m->evidence[i], m->evidence[j]) == 0)
				problem =
				    arena_printf(&req->arena, "names %s twice", m->evidence[i]);
		}
		if (problem != NULL) {
			request_field_error(req, "evidence", problem);
			return true;
		}
	}
	if (!request_has_field_errors(req) &&
	    (st->evidence =
		 request_array_param(req, (const char *const *)m->evidence, m->n_evidence)) == NULL)
		return false;
	return true;
}

static void recommendation_validate(struct request *req, const Tulay__V1__CreateRecommendation *m)
{
	const char *problem;
	if ((problem = validate_idempotency_key(m->idempotency_key.len)) != NULL)
		request_field_error(req, "idempotency_key", problem);
	if (m->status != TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_UNSPECIFIED &&
	    m->status != TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_DRAFTED &&
	    m->status != TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_SUBMITTED)
		request_field_error(req, "status",
				    "must be drafted or submitted: record what governments did "
				    "with it afterwards, as status changes");
	if ((problem = validate_text(m->title, 1, RECOMMENDATION_TITLE_MAX)) != NULL)
		request_field_error(req, "title", problem);
	if ((problem = validate_free_text(m->text, 1, RECOMMENDATION_TEXT_MAX)) != NULL)
		request_field_error(req, "text", problem);
	if ((problem = validate_text(m->source_document, 1, RECOMMENDATION_SOURCE_MAX)) != NULL)
		request_field_error(req, "source_document", problem);
	struct civil_date source, today;
	case_today(&today);
	if ((problem = validate_date(m->source_date, &source)) != NULL)
		request_field_error(req, "source_date", problem);
	else if (civil_date_cmp(&source, &today) > 0)
		request_field_error(req, "source_date",
				    "is in the future: the day the source document was issued");
	if (CODE_OF(addressed_to, m->addressed_to) == NULL)
		request_field_error(req, "addressed_to",
				    "is required: receiving states, sending states, receiving "
				    "and sending states, ASEAN, a national government or a "
				    "parliament");
	if (*m->target_body != '\0' &&
	    (problem = validate_text(m->target_body, 1, RECOMMENDATION_BODY_MAX)) != NULL)
		request_field_error(req, "target_body", problem);
	if (*m->country != '\0' && (problem = validate_country(m->country)) != NULL)
		request_field_error(req, "country", problem);
	if (CODE_OF(recommendation_theme, m->theme) == NULL)
		request_field_error(req, "theme",
				    "is required: wage protection, recruitment, access to "
				    "justice, detention and deportation, social protection, "
				    "labour rights, gender, data and monitoring, civil society "
				    "participation or other");
	if (*m->office != '\0' &&
	    (problem = validate_text(m->office, 1, RECOMMENDATION_OFFICE_MAX)) != NULL)
		request_field_error(req, "office", problem);
}

void handle_create_recommendation(struct request *req)
{
	const Tulay__V1__CreateRecommendation *m = req->msg->create_recommendation;
	if (req->session.role == TULAY__V1__ROLE__ROLE_COORDINATOR) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "coordinators read cases; a field officer records recommendations");
		return;
	}
	struct recommendation_create_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	recommendation_validate(req, m);
	if (!recommendation_co_signers(req, m, st) || !recommendation_evidence(req, m, st)) {
		request_fail_oom(req);
		return;
	}
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the recommendation was not recorded: correct the fields "
					  "named");
		return;
	}
	req->state = st;
	request_resolve_org(req, m->organisation, "organisation", false, &st->org_id,
			    recommendation_create_submit);
}

/* --- GetRecommendation ----------------------------------------------------------------- */

struct recommendation_read_state {
	int64_t org_id;
};

static void recommendation_loaded(struct request *req, enum db_outcome outcome)
{
	struct recommendation_read_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	if (PQntuples(read_back(req, 0)) != 1) {
		case_fail_outcome(req, "not_found", "", "recommendation", "");
		return;
	}
	recommendation_reply(req, st->org_id);
}

static void recommendation_get_submit(struct request *req)
{
	struct recommendation_read_state *st = req->state;
	const char *reference = req->msg->get_recommendation->reference;
	char *org = case_int_param(req, st->org_id);
	if (org == NULL) {
		request_fail_oom(req);
		return;
	}
	recommendation_read_queries(req, org, reference, NULL);
	request_audit(req, "read_recommendation", reference, "");
	request_db(req, recommendation_loaded);
}

void handle_get_recommendation(struct request *req)
{
	const Tulay__V1__GetRecommendation *m = req->msg->get_recommendation;
	if (!case_reference_is_valid(m->reference)) {
		request_field_error(req, "reference",
				    "is not a recommendation reference such as RC-2026-000012");
		request_fail_invalid(req, "invalid recommendation reference");
		return;
	}
	struct recommendation_read_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	req->state = st;
	request_resolve_org(req, m->organisation, "organisation", false, &st->org_id,
			    recommendation_get_submit);
}

/* --- ChangeRecommendationStatus -------------------------------------------------------- */

static void recommendation_status_changed(struct request *req, enum db_outcome outcome)
{
	struct case_write *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result_of(req, "recommendation_change_status");
	if (case_fail_outcome(req, db_value(res, 0, "outcome"), db_value(res, 0, "detail"),
			      "recommendation", "note"))
		return;
	recommendation_reply(req, st->org_id);
}

void handle_change_recommendation_status(struct request *req)
{
	const Tulay__V1__ChangeRecommendationStatus *m = req->msg->change_recommendation_status;
	const char *to = CODE_OF(recommendation_status, m->status);
	if (to == NULL)
		request_field_error(req, "status",
				    "is required: the status to move the recommendation to");
	if (m->expected_version <= 0)
		request_field_error(req, "expected_version",
				    "is required: the version of the recommendation you saw");
	struct case_write *st =
	    case_write_begin(req, &m->idempotency_key, m->reference, m->occurred_on, m->note,
			     RECOMMENDATION_NOTE_MAX, "note", m->expected_version);
	if (st == NULL)
		return;
	req->state = st;
	const char *parts[] = {m->reference, to, st->version, st->occurred_on, m->note};
	case_write_finish(req, st, req->session.org_id, parts, N_ELEMS(parts));
	/* The follow-up may name officials or workers: sealed like a claim's reasons. */
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	if (*m->note != '\0' &&
	    (sealed = case_seal(req, st->org_id, "case_events", "text", m->idempotency_key.data,
				m->idempotency_key.len, m->note, &sealed_len)) == NULL) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q = case_write_query(req, "recommendation_change_status", st,
					      &m->idempotency_key, m->reference);
	DB_PARAMS_TEXT(q, st->version, to, st->occurred_on);
	if (sealed != NULL)
		db_param_bytes(q, sealed, (int)sealed_len);
	else
		db_param_text(q, NULL);
	recommendation_read_queries(req, st->org, m->reference, NULL);
	request_audit(req, "change_recommendation_status", m->reference,
		      arena_printf(&req->arena, "to=%s", to));
	request_db(req, recommendation_status_changed);
}

/* --- LinkEvidence ---------------------------------------------------------------------- */

struct recommendation_link_state {
	struct case_write *write;
	int64_t evidence_org;
	const char *evidence_acronym; /* for messages */
};

static void recommendation_evidence_linked(struct request *req, enum db_outcome outcome)
{
	struct recommendation_link_state *st = req->state;
	const Tulay__V1__LinkEvidence *m = req->msg->link_evidence;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const char *result =
	    db_value(request_result_of(req, "recommendation_link_evidence"), 0, "outcome");
	if (case_fail_outcome(req, result, "", "recommendation", "evidence"))
		return;
	if (strcmp(result, "unknown_evidence") == 0) {
		request_field_error(req, "evidence.reference",
				    arena_printf(&req->arena,
						 "names %s %s, which is not a case of your "
						 "organisation nor one referred to it",
						 st->evidence_acronym, m->evidence->reference));
		request_fail_invalid(req, "nothing was linked");
		return;
	}
	if (strcmp(result, "already_linked") == 0) {
		request_field_error(
		    req, "evidence.reference",
		    arena_printf(&req->arena, "names %s %s, which is already evidence of %s",
				 st->evidence_acronym, m->evidence->reference, m->reference));
		request_fail(req, TULAY__V1__CODE__ALREADY_EXISTS,
			     "that case is already linked as evidence");
		return;
	}
	recommendation_reply(req, st->write->org_id);
}

static void recommendation_link_submit(struct request *req)
{
	const Tulay__V1__LinkEvidence *m = req->msg->link_evidence;
	struct recommendation_link_state *st = req->state;
	struct case_write *w = st->write;
	char *evidence_org = case_int_param(req, st->evidence_org);
	if (evidence_org == NULL) {
		request_fail_oom(req);
		return;
	}
	const char *parts[] = {m->reference, evidence_org, m->evidence->reference, w->occurred_on};
	case_write_finish(req, w, req->session.org_id, parts, N_ELEMS(parts));
	struct db_query *q = case_write_query(req, "recommendation_link_evidence", w,
					      &m->idempotency_key, m->reference);
	DB_PARAMS_TEXT(q, evidence_org, m->evidence->reference, w->occurred_on);
	recommendation_read_queries(req, w->org, m->reference, NULL);
	request_audit(req, "link_evidence", m->reference,
		      arena_printf(&req->arena, "evidence=%s %s", st->evidence_acronym,
				   m->evidence->reference));
	request_db(req, recommendation_evidence_linked);
}

void handle_link_evidence(struct request *req)
{
	const Tulay__V1__LinkEvidence *m = req->msg->link_evidence;
	const char *evidence = m->evidence != NULL ? m->evidence->reference : "";
	if (*evidence == '\0')
		request_field_error(req, "evidence.reference",
				    "is required: the reference of the case to link");
	else if (!case_reference_is_valid(evidence))
		request_field_error(req, "evidence.reference",
				    "is not a case reference such as WT-2026-000123");
	struct case_write *w = case_write_begin(req, &m->idempotency_key, m->reference,
						m->occurred_on, "", 0, "evidence", 0);
	if (w == NULL)
		return;
	struct recommendation_link_state *st = request_alloc(req, sizeof(*st));
	const char *org = m->evidence->organisation;
	char *acronym = request_alloc(req, strlen(org) + 1);
	if (st == NULL || acronym == NULL) {
		request_fail_oom(req);
		return;
	}
	validate_upper(org, acronym, strlen(org) + 1);
	st->write = w;
	st->evidence_acronym = *org != '\0' ? acronym : req->session.org_acronym;
	req->state = st;
	/* Another organisation's case may be evidence once it was referred to the caller's:
	 * its rows are visible then, and invisible (unknown_evidence) otherwise. */
	request_resolve_org(req, org, "evidence.organisation", true, &st->evidence_org,
			    recommendation_link_submit);
}
