/* Cases of every kind together: ListCases, the search behind `tulay case list` and the
 * per-kind lists, and ExportCases, the whole export of one kind as a response stream. One prepared
 * statement over case_search_view (and its twin for shared cases) takes every filter: an unset
 * filter is an empty or NULL parameter that matches everything, which the plan of each call folds
 * away. Row-level security decides which cases exist for the caller. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"
#include "case_common.h"
#include "claims.h"
#include "handlers.h"
#include "request.h"
#include "server.h"
#include "validate.h"
#include "vault.h"

#define CASE_LIST_DEFAULT  50
#define CASE_TEXT_MAX      100
#define CASE_EMPLOYER_MAX  200
#define CASE_OFFICE_MAX    200
#define CASE_STATUS_MAX    30
#define CASE_COUNTRIES_MAX 6 /* the most case_search_view.countries can hold */

/* The columns case_summary_from_row() reads, each by its name. */
#define CASE_SUMMARY_COLUMNS                                                                       \
	"reference, organisation, kind, status, to_char(opened_on, 'YYYY-MM-DD') AS opened_on, "   \
	"coalesce(to_char(closed_on, 'YYYY-MM-DD'), '') AS closed_on, "                            \
	"coalesce(office, '') AS office, array_to_string(countries, ',') AS countries, "           \
	"coalesce(sector, '') AS sector, coalesce(employer, '') AS employer, "                     \
	"coalesce(summary, '') AS summary, version, case_id"

/* The filters of ListCases, after the organisation ($1): $2 kind, $3 status, $4 and $5
 * opened from and to (NULL: unset), $6 country, $7 sector, $8 employer, $9 office, $10
 * text, $11 the last case_id of the previous page (0 for the first), $12 rows to fetch,
 * $13 the blind index of an ID number (migration 0016's case_id_numbers).
 * An unset filter is '' (or NULL); custom plans fold its branch away. */
#define CASE_LIST_FILTERS                                                                          \
	"   AND ($2::text = '' OR kind = $2::text) "                                               \
	"   AND ($3::text = '' OR status = $3::text) "                                             \
	"   AND ($4::date IS NULL OR opened_on >= $4::date) "                                      \
	"   AND ($5::date IS NULL OR opened_on <= $5::date) "                                      \
	"   AND ($6::text = '' OR $6::text = ANY (countries)) "                                    \
	"   AND ($7::text = '' OR sector = $7::text) "                                             \
	"   AND ($8::text = '' OR strpos(lower(employer), lower($8::text)) > 0) "                  \
	"   AND ($9::text = '' OR office = $9::text) "                                             \
	"   AND ($10::text = '' OR strpos(lower(search_text), lower($10::text)) > 0) "             \
	"   AND ($11::bigint = 0 OR case_id < $11::bigint) "                                       \
	"   AND ($13::bytea IS NULL OR (org_id, case_id) IN (SELECT i.org_id, i.case_id "          \
	"        FROM case_id_numbers i WHERE i.org_id = $1::bigint AND i.id_index = "             \
	"$13::bytea)) "                                                                            \
	" ORDER BY case_id DESC LIMIT $12::integer"

const struct db_statement cases_statements[] = {
    /* The organisation's own cases: the primary key read backwards from the page's
     * start. */
    {"case_list", "SELECT " CASE_SUMMARY_COLUMNS
		  " FROM case_search_view WHERE org_id = $1::bigint " CASE_LIST_FILTERS},
    /* Cases other organisations referred to $1 (the caller's) and it accepted: found from
     * the referrals, not by reading every other organisation's cases past row-level
     * security. */
    {"case_list_shared",
     "SELECT " CASE_SUMMARY_COLUMNS " FROM case_search_view WHERE org_id <> $1::bigint "
     "   AND (org_id, case_id) IN (SELECT s.org_id, s.case_id "
     "                             FROM tulay_shared_cases() s) " CASE_LIST_FILTERS},
    /* ExportCases of claims: without the workers, and with them (the sealed lead worker,
     * and one row per co-worker: a claim's rows are consecutive). */
    {"export_claims", "SELECT " CLAIM_COLUMNS " FROM wage_theft_claim_view WHERE org_id = "
		      "$1::bigint" EXPORT_PAGE("wage_theft", "case_id")},
    {"export_claims_identities",
     "WITH page AS (SELECT " CLAIM_IDENTITY_COLUMNS " FROM wage_theft_claim_view WHERE org_id = "
     "$1::bigint" EXPORT_PAGE("wage_theft",
			      "case_id") ") SELECT page.*, w.position, w.name_enc, "
					 "w.id_number_enc, w.phone_enc FROM page "
					 "LEFT JOIN claim_workers w ON w.org_id = page.org_id "
					 "AND w.case_id = page.case_id "
					 "ORDER BY page.case_id, w.position"},
};
const unsigned cases_statements_count = N_ELEMS(cases_statements);

/* The statuses of each kind, as the cases_status constraint (0009) allows them. */
static const char *const wage_theft_statuses[] = {
    "intake", "filed",    "in_mediation", "awarded", "partially_paid",
    "paid",   "rejected", "withdrawn",    NULL,
};
static const char *const deportation_statuses[] = {
    "arrested", "detained", "released", "deported", NULL,
};
static const char *const recommendation_statuses[] = {
    "drafted",     "submitted", "acknowledged", "accepted", "partially_implemented",
    "implemented", "noted",     "rejected",     NULL,
};
static const char *const *const kind_statuses[] = {
    [TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT] = wage_theft_statuses,
    [TULAY__V1__CASE_KIND__CASE_KIND_DEPORTATION] = deportation_statuses,
    [TULAY__V1__CASE_KIND__CASE_KIND_RECOMMENDATION] = recommendation_statuses,
};

/* The field errors of a status that is no status of the kind asked for, listing them. */
static const char *const kind_status_problems[] = {
    [TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT] =
	"is not a status of wage-theft claims: intake, filed, in_mediation, awarded, "
	"partially_paid, paid, rejected or withdrawn",
    [TULAY__V1__CASE_KIND__CASE_KIND_DEPORTATION] =
	"is not a status of deportations: arrested, detained, released or deported",
    [TULAY__V1__CASE_KIND__CASE_KIND_RECOMMENDATION] =
	"is not a status of recommendations: drafted, submitted, acknowledged, accepted, "
	"partially_implemented, implemented, noted or rejected",
};

static bool status_of_kind(int kind, const char *status)
{
	for (const char *const *s = kind_statuses[kind]; *s != NULL; s++) {
		if (strcmp(*s, status) == 0)
			return true;
	}
	return false;
}

/* True if `status` is a status of `kind`, or of any kind when kind is unspecified. */
static bool status_is_known(int kind, const char *status)
{
	if (kind != TULAY__V1__CASE_KIND__CASE_KIND_UNSPECIFIED)
		return status_of_kind(kind, status);
	for (size_t k = 1; k < N_ELEMS(kind_statuses); k++) {
		if (status_of_kind((int)k, status))
			return true;
	}
	return false;
}

struct case_list_state {
	int64_t org_id;
	uint32_t limit;
};

/* The countries of a row ("PH,MY") as a NULL-terminated array in the arena; false when
 * memory runs out. */
static bool countries_from_text(struct request *req, const char *text, Tulay__V1__CaseSummary *s)
{
	char **codes = request_alloc(req, sizeof(*codes) * (CASE_COUNTRIES_MAX + 1));
	if (codes == NULL)
		return false;
	size_t n = 0;
	for (const char *p = text; *p != '\0' && n < CASE_COUNTRIES_MAX;) {
		size_t len = strcspn(p, ",");
		if ((codes[n] = arena_printf(&req->arena, "%.*s", (int)len, p)) == NULL)
			return false;
		n++;
		p += len;
		if (*p == ',')
			p++;
	}
	s->countries = codes;
	s->n_countries = n;
	return true;
}

/* The indexes of the CASE_SUMMARY_COLUMNS of a result, looked up once for a page. */
struct case_summary_columns {
	int reference, organisation, kind, status, opened_on, closed_on, office, countries, sector,
	    employer, summary, version;
};

static struct case_summary_columns case_summary_columns(const PGresult *res)
{
	return (struct case_summary_columns){
	    .reference = db_column(res, "reference"),
	    .organisation = db_column(res, "organisation"),
	    .kind = db_column(res, "kind"),
	    .status = db_column(res, "status"),
	    .opened_on = db_column(res, "opened_on"),
	    .closed_on = db_column(res, "closed_on"),
	    .office = db_column(res, "office"),
	    .countries = db_column(res, "countries"),
	    .sector = db_column(res, "sector"),
	    .employer = db_column(res, "employer"),
	    .summary = db_column(res, "summary"),
	    .version = db_column(res, "version"),
	};
}

/* One CaseSummary from row `row` of a CASE_SUMMARY_COLUMNS result; NULL when out of
 * memory. */
static Tulay__V1__CaseSummary *case_summary_from_row(struct request *req, const PGresult *res,
						     int row, const struct case_summary_columns *c)
{
	Tulay__V1__CaseSummary *s = request_alloc(req, sizeof(*s));
	if (s == NULL)
		return NULL;
	tulay__v1__case_summary__init(s);
	struct arena *a = &req->arena;
	s->reference = arena_strdup(a, PQgetvalue(res, row, c->reference));
	s->organisation = arena_strdup(a, PQgetvalue(res, row, c->organisation));
	s->kind = (Tulay__V1__CaseKind)VALUE_OF(case_kind, PQgetvalue(res, row, c->kind));
	s->status = arena_strdup(a, PQgetvalue(res, row, c->status));
	s->opened_on = arena_strdup(a, PQgetvalue(res, row, c->opened_on));
	s->closed_on = arena_strdup(a, PQgetvalue(res, row, c->closed_on));
	s->office = arena_strdup(a, PQgetvalue(res, row, c->office));
	s->sector = (Tulay__V1__Sector)VALUE_OF(sector, PQgetvalue(res, row, c->sector));
	s->employer = arena_strdup(a, PQgetvalue(res, row, c->employer));
	s->summary = arena_strdup(a, PQgetvalue(res, row, c->summary));
	s->version = strtoll(PQgetvalue(res, row, c->version), NULL, 10);
	if (s->reference == NULL || s->organisation == NULL || s->status == NULL ||
	    s->opened_on == NULL || s->closed_on == NULL || s->office == NULL ||
	    s->employer == NULL || s->summary == NULL ||
	    !countries_from_text(req, PQgetvalue(res, row, c->countries), s))
		return NULL;
	return s;
}

static void *case_item(struct request *req, const PGresult *res, int row, const void *cols)
{
	Tulay__V1__CaseSummary *summary = case_summary_from_row(req, res, row, cols);
	if (summary == NULL)
		request_fail_oom(req);
	return summary;
}

static void cases_listed(struct request *req, enum db_outcome outcome)
{
	struct case_list_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	Tulay__V1__CaseList *list = request_alloc(req, sizeof(*list));
	if (request_oom(req, list))
		return;
	tulay__v1__case_list__init(list);
	const PGresult *res = request_result_if(req, "case_list_shared");
	if (res == NULL)
		res = request_result_of(req, "case_list");
	struct case_summary_columns cols = case_summary_columns(res);
	struct case_page page;
	if (!case_page(req, res, st->limit, db_column(res, "case_id"), case_item, &cols, &page))
		return;
	list->cases = (Tulay__V1__CaseSummary **)page.items;
	list->n_cases = page.n;
	list->next_page_token = page.next;
	REQUEST_REPLY(req, CASES, cases, list);
}

static void case_list_submit(struct request *req)
{
	const Tulay__V1__ListCases *m = req->msg->list_cases;
	struct case_list_state *st = req->state;
	const char *kind = CODE_OF(case_kind, m->kind);
	const char *sector = CODE_OF(sector, m->sector);
	char *org = case_int_param(req, st->org_id);
	char *fetch = case_int_param(req, (long long)st->limit + 1);
	if (org == NULL || fetch == NULL) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q = db_job_add(&req->job, m->shared ? "case_list_shared" : "case_list");
	DB_PARAMS_TEXT(q, org, kind != NULL ? kind : "", m->status,
		       *m->opened_from != '\0' ? m->opened_from : NULL,
		       *m->opened_to != '\0' ? m->opened_to : NULL, m->country,
		       sector != NULL ? sector : "", m->employer, m->office, m->text,
		       *m->page_token != '\0' ? m->page_token : "0", fetch);
	char index_hex[2 * VAULT_INDEX_BYTES + 1] = "";
	if (*m->id_number != '\0') {
		uint8_t *index = arena_alloc(&req->arena, VAULT_INDEX_BYTES);
		if (index == NULL) {
			request_fail_oom(req);
			return;
		}
		vault_index(st->org_id, m->id_number, index);
		db_param_bytes(q, index, VAULT_INDEX_BYTES);
		sodium_bin2hex(index_hex, sizeof(index_hex), index, VAULT_INDEX_BYTES);
	} else {
		db_param_text(q, NULL);
	}
	/* Free text may be anything a user typed, a name among it: the audit entry names it
	 * by its keyed hash (as ID numbers are), so an auditor holding the key can tell who
	 * searched for what, and nobody else can read it. */
	char text_hex[2 * VAULT_INDEX_BYTES + 1] = "";
	if (*m->text != '\0') {
		uint8_t index[VAULT_INDEX_BYTES];
		vault_index(req->session.org_id, m->text, index);
		sodium_bin2hex(text_hex, sizeof(text_hex), index, sizeof(index));
	}
	request_audit(req, "list_cases", "",
		      arena_printf(&req->arena,
				   "shared=%s kind=%s status=%s opened_from=%s opened_to=%s "
				   "country=%s sector=%s employer=%s office=%s text_index=%s "
				   "id_number_index=%s page_token=%s limit=%u",
				   m->shared ? "true" : "false", kind != NULL ? kind : "",
				   m->status, m->opened_from, m->opened_to, m->country,
				   sector != NULL ? sector : "", m->employer, m->office, text_hex,
				   index_hex, m->page_token, st->limit));
	request_db(req, cases_listed);
}

/* Checks the optional date `value` of `field`; true if it is set and valid (*out then). */
static bool optional_date(struct request *req, const char *field, const char *value,
			  struct civil_date *out)
{
	const char *problem;
	if (*value == '\0')
		return false;
	if ((problem = validate_date(value, out)) != NULL) {
		request_field_error(req, field, problem);
		return false;
	}
	return true;
}

void handle_list_cases(struct request *req)
{
	const Tulay__V1__ListCases *m = req->msg->list_cases;
	const char *problem;
	bool kind_known = m->kind == TULAY__V1__CASE_KIND__CASE_KIND_UNSPECIFIED ||
			  CODE_OF(case_kind, m->kind) != NULL;
	if (!kind_known)
		request_field_error(req, "kind",
				    "is not a kind of case: wage theft, deportation or "
				    "recommendation");
	if (*m->status != '\0') {
		if (!chars_in(m->status, 1, CASE_STATUS_MAX, "abcdefghijklmnopqrstuvwxyz_"))
			request_field_error(req, "status",
					    "is not a status code: lower-case letters and '_', "
					    "such as in_mediation");
		else if (kind_known && !status_is_known(m->kind, m->status))
			request_field_error(
			    req, "status",
			    m->kind != TULAY__V1__CASE_KIND__CASE_KIND_UNSPECIFIED
				? kind_status_problems[m->kind]
				: "is not a status of any kind of case (for example filed, "
				  "detained, submitted)");
	}
	struct civil_date from, to;
	bool has_from = optional_date(req, "opened_from", m->opened_from, &from);
	bool has_to = optional_date(req, "opened_to", m->opened_to, &to);
	if (has_from && has_to && civil_date_cmp(&from, &to) > 0)
		request_field_error(req, "opened_to", "is before opened_from: no case can match");
	if (*m->country != '\0' && (problem = validate_country(m->country)) != NULL)
		request_field_error(req, "country", problem);
	if (m->sector != TULAY__V1__SECTOR__SECTOR_UNSPECIFIED &&
	    CODE_OF(sector, m->sector) == NULL)
		request_field_error(req, "sector", "is not a sector");
	if (*m->employer != '\0' &&
	    (problem = validate_text(m->employer, 1, CASE_EMPLOYER_MAX)) != NULL)
		request_field_error(req, "employer", problem);
	if (*m->office != '\0' && (problem = validate_text(m->office, 1, CASE_OFFICE_MAX)) != NULL)
		request_field_error(req, "office", problem);
	if (*m->text != '\0' && (problem = validate_text(m->text, 1, CASE_TEXT_MAX)) != NULL)
		request_field_error(req, "text", problem);
	if (*m->id_number != '\0' && !chars_in(m->id_number, 3, 40, ID_NUMBER_CHARS))
		request_field_error(req, "id_number", ID_NUMBER_PROBLEM);
	if (*m->id_number != '\0' && m->shared)
		request_field_error(
		    req, "id_number",
		    "searches your organisation's own cases: ID numbers are indexed "
		    "per organisation, so leave out shared");
	case_check_paging(req, m->limit, m->page_token);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "invalid case search");
		return;
	}
	struct case_list_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	st->limit = m->limit != 0 ? m->limit : CASE_LIST_DEFAULT;
	req->state = st;
	/* Shared cases are those referred to the caller's own organisation, whatever
	 * `organisation` says. */
	if (m->shared) {
		st->org_id = req->session.org_id;
		case_list_submit(req);
		return;
	}
	request_resolve_org(req, m->organisation, "organisation", false, &st->org_id,
			    case_list_submit);
}

/* --- ExportCases ------------------------------------------------------------------------ */

/* An export is a response stream (proto/README.md): keyset pages of the kind's cases, each
 * fetched in a short transaction of its own once the client has taken the one before
 * (request_pace), and sent as an ExportPage; the last one ends the request. Nothing holds
 * a connection or a snapshot between pages, so an export of a million cases neither ties
 * up the pool nor holds back vacuum; a case logged meanwhile comes at the end (its
 * case_id is higher), and none comes twice. The arena holds one page at a time. */
#define EXPORT_PAGE_DEFAULT 500
#define EXPORT_PAGE_MAX     1000
#define EXPORT_PAGE_BYTES   (256u * 1024) /* a page is cut there, a whole case at a time */
#define EXPORT_ARENA_BYTES  (32u * 1024 * 1024)

struct export_state;

struct export_kind {
	const char *statement, *statement_identities;
	/* Adds the case of rows [from, to) to the page and returns its packed size, or 0 after
	 * ending the request. */
	size_t (*add)(struct request *req, const PGresult *res, int from, int to,
		      Tulay__V1__ExportPage *page);
};

struct export_state {
	const struct export_kind *kind;
	bool identities;
	uint32_t page_size;
	char org[24], after[24], rows[16];
	uint64_t exported;
	const PGresult *res; /* the fetched cases... */
	int next_row;        /* ...from this row on not sent yet */
	bool full;           /* the fetch found page_size cases: more may follow */
	struct arena_mark mark;
};

static size_t export_add_claim(struct request *req, const PGresult *res, int from, int to,
			       Tulay__V1__ExportPage *page)
{
	const struct export_state *st = req->state;
	Tulay__V1__Claim *c = claim_from_row(req, res, from);
	if (c == NULL)
		return 0;
	if (st->identities) {
		int64_t org_id = strtoll(db_value(res, from, "org_id"), NULL, 10);
		if (!claim_open_identity(req, res, from, c) ||
		    !claim_open_co_workers(req, res, from, to, org_id, c)) {
			request_fail(req, TULAY__V1__CODE__DATA_LOSS,
				     arena_printf(&req->arena,
						  "the workers' personal details of claim %s fail "
						  "their integrity check; the incident is logged",
						  c->reference));
			return 0;
		}
	}
	page->claims[page->n_claims++] = c;
	return protobuf_c_message_get_packed_size(&c->base);
}

static size_t export_add_deportation(struct request *req, const PGresult *res, int from, int to,
				     Tulay__V1__ExportPage *page)
{
	(void)to;
	const struct export_state *st = req->state;
	Tulay__V1__Deportation *d = deportation_export_row(req, res, from, st->identities);
	if (d == NULL)
		return 0;
	page->deportations[page->n_deportations++] = d;
	return protobuf_c_message_get_packed_size(&d->base);
}

static size_t export_add_recommendation(struct request *req, const PGresult *res, int from, int to,
					Tulay__V1__ExportPage *page)
{
	Tulay__V1__Recommendation *r = recommendation_export_row(req, res, from, to);
	if (r == NULL)
		return 0;
	page->recommendations[page->n_recommendations++] = r;
	return protobuf_c_message_get_packed_size(&r->base);
}

static const struct export_kind export_kinds[] = {
    [TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT] = {"export_claims", "export_claims_identities",
						    export_add_claim},
    [TULAY__V1__CASE_KIND__CASE_KIND_DEPORTATION] = {"export_deportations", "export_deportations",
						     export_add_deportation},
    [TULAY__V1__CASE_KIND__CASE_KIND_RECOMMENDATION] = {"export_recommendations",
							"export_recommendations",
							export_add_recommendation},
};

static void export_submit(struct request *req);

/* Ends the stream after the page in req->resp when it is the last, else sends it as a
 * part; false when the request ended. */
static bool export_send(struct request *req)
{
	struct export_state *st = req->state;
	const PGresult *res = st->res;
	int n = PQntuples(res), case_id_col = db_column(res, "case_id");
	Tulay__V1__ExportPage *page = request_alloc(req, sizeof(*page));
	void **items = request_alloc(req, sizeof(void *) * st->page_size);
	if (page == NULL || items == NULL) {
		request_fail_oom(req);
		return false;
	}
	tulay__v1__export_page__init(page);
	page->claims = (Tulay__V1__Claim **)items;
	page->deportations = (Tulay__V1__Deportation **)items;
	page->recommendations = (Tulay__V1__Recommendation **)items;
	size_t bytes = 0, added = 0;
	const char *last = NULL;
	while (st->next_row < n && added < st->page_size && bytes < EXPORT_PAGE_BYTES) {
		int from = st->next_row, to = from + 1;
		last = PQgetvalue(res, from, case_id_col);
		while (to < n && strcmp(PQgetvalue(res, to, case_id_col), last) == 0)
			to++;
		size_t size = st->kind->add(req, res, from, to, page);
		if (size == 0)
			return false;
		bytes += size;
		added++;
		st->next_row = to;
	}
	if (last != NULL)
		snprintf(st->after, sizeof(st->after), "%s", last);
	st->exported += added;
	page->exported = st->exported;
	page->resume_after = st->after;
	page->last = st->next_row == n && !st->full;
	req->resp.body_case = TULAY__V1__RESPONSE__BODY_EXPORT_PAGE;
	req->resp.export_page = page;
	if (page->last) {
		request_reply(req);
		return false;
	}
	if (!request_send_part(req)) {
		request_fail(req, TULAY__V1__CODE__CANCELLED, "the connection closed");
		return false;
	}
	req->resp.body_case = TULAY__V1__RESPONSE__BODY__NOT_SET;
	arena_rewind(&req->arena, st->mark);
	return true;
}

/* Goes on with the stream once the client has taken what was sent. */
static void export_resume(struct request *req)
{
	struct export_state *st = req->state;
	do {
		if (req->conn == NULL) {
			request_fail(req, TULAY__V1__CODE__CANCELLED, "the connection closed");
			return;
		}
		if (st->next_row == PQntuples(st->res)) {
			export_submit(req);
			return;
		}
	} while (export_send(req) && request_pace(req, export_resume));
}

static void export_fetched(struct request *req, enum db_outcome outcome)
{
	struct export_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	st->res = request_result_of(req, st->identities ? st->kind->statement_identities
							: st->kind->statement);
	st->next_row = 0;
	/* Cases, not rows: a claim with co-workers has a row for each. */
	int n = PQntuples(st->res), col = db_column(st->res, "case_id");
	uint32_t cases = 0;
	for (int row = 0; row < n; row++)
		cases += row == 0 || strcmp(PQgetvalue(st->res, row, col),
					    PQgetvalue(st->res, row - 1, col)) != 0;
	st->full = cases == st->page_size;
	if (export_send(req) && request_pace(req, export_resume))
		export_resume(req);
}

static void export_submit(struct request *req)
{
	const Tulay__V1__ExportCases *m = req->msg->export_cases;
	struct export_state *st = req->state;
	if (req->srv->draining) {
		req->status.reconnect = true;
		request_fail(req, TULAY__V1__CODE__UNAVAILABLE,
			     "the server is shutting down: export again with resume_after set to "
			     "that of the last page received, to this server shortly or another");
		return;
	}
	db_job_reset(&req->job);
	st->res = NULL;
	st->mark = arena_mark(&req->arena);
	struct db_query *q = db_job_add(&req->job, st->identities ? st->kind->statement_identities
								  : st->kind->statement);
	DB_PARAMS_TEXT(q, st->org, st->after, m->status,
		       *m->opened_from != '\0' ? m->opened_from : NULL,
		       *m->opened_to != '\0' ? m->opened_to : NULL, m->office, st->rows);
	request_db(req, export_fetched);
}

void handle_export_cases(struct request *req)
{
	const Tulay__V1__ExportCases *m = req->msg->export_cases;
	const char *kind = CODE_OF(case_kind, m->kind);
	const char *problem;
	if (kind == NULL)
		request_field_error(req, "kind",
				    "is required: wage theft, deportation or recommendation");
	else if (*m->status != '\0' && !status_of_kind(m->kind, m->status))
		request_field_error(req, "status", kind_status_problems[m->kind]);
	struct civil_date from, to;
	bool has_from = optional_date(req, "opened_from", m->opened_from, &from);
	bool has_to = optional_date(req, "opened_to", m->opened_to, &to);
	if (has_from && has_to && civil_date_cmp(&from, &to) > 0)
		request_field_error(req, "opened_to", "is before opened_from: no case can match");
	if (*m->office != '\0' && (problem = validate_text(m->office, 1, CASE_OFFICE_MAX)) != NULL)
		request_field_error(req, "office", problem);
	/* A case_id: digits, and within a bigint (19 nines would not be). */
	if (*m->resume_after != '\0' &&
	    (!chars_in(m->resume_after, 1, 19, "0123456789") ||
	     strtoull(m->resume_after, NULL, 10) > (unsigned long long)INT64_MAX))
		request_field_error(req, "resume_after",
				    "is not a resume_after of this server's export pages: give the "
				    "last page's as it came, or leave it empty to start over");
	if (m->page_size > EXPORT_PAGE_MAX)
		request_field_error(req, "page_size", "must be at most 1000 (0 is 500)");
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the export did not start: correct the fields named");
		return;
	}
	if (m->with_identities && req->session.role == TULAY__V1__ROLE__ROLE_COORDINATOR) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "coordinators export cases without the workers' and persons' "
			     "identities: leave out with_identities (a field officer or "
			     "organisation admin exports them)");
		return;
	}
	struct export_state *st = request_alloc(req, sizeof(*st));
	if (request_oom(req, st))
		return;
	st->kind = &export_kinds[m->kind];
	st->identities = m->with_identities;
	st->page_size = m->page_size != 0 ? m->page_size : EXPORT_PAGE_DEFAULT;
	snprintf(st->org, sizeof(st->org), "%lld", (long long)req->session.org_id);
	snprintf(st->after, sizeof(st->after), "%s",
		 *m->resume_after != '\0' ? m->resume_after : "0");
	snprintf(st->rows, sizeof(st->rows), "%u", st->page_size);
	req->state = st;
	/* A page's cases with their identities, built in the arena (rewound after each). */
	arena_raise_cap(&req->arena, EXPORT_ARENA_BYTES);
	request_audit(req, "export_cases", "",
		      arena_printf(&req->arena,
				   "kind=%s status=%s opened_from=%s opened_to=%s office=%s "
				   "with_identities=%s resume_after=%s",
				   kind, m->status, m->opened_from, m->opened_to, m->office,
				   m->with_identities ? "true" : "false", st->after));
	export_submit(req);
}
