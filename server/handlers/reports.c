/* Reports: GetReport, aggregates of cases over an organisation and its members, read from
 * the rollups of migration 0011 (report_cells) and put through disclosure control
 * (server/disclosure.c: every figure judged on its own contributors) before they leave the
 * server; their money is converted with the exchange rates of rates.c. A suppressed value
 * is sent as 0 with `suppressed` set, never as a plain zero. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "civil_date.h"
#include "common.h"
#include "disclosure.h"
#include "case_common.h"
#include "handlers.h"
#include "iso.h"
#include "money.h"
#include "request.h"
#include "server.h"
#include "validate.h"
#include "vault.h"

#define REPORT_GROUP_MAX   4
#define REPORT_FILTERS_MAX 16
#define REPORT_TEXT_MAX    200
#define REPORT_DIMS        DISCLOSURE_DIMS /* d1..d7 of report_cells */
/* A report answers at most this many rows (a cell per currency, and its count): enough for
 * any table a person reads, and a bound on the memory one request takes. */
#define REPORT_ROWS_MAX 10000
/* It adds up at most this many rows of its rollup (and deltas): the rollups of a
 * million-claim network read at most 40,000. */
#define REPORT_SOURCE_ROWS_MAX 200000
/* What building the answer takes per row, at most: the cell, its money, the protobuf
 * messages. The request's arena may grow by this much per row. */
#define REPORT_ROW_BYTES 2048

enum dim_type { DIM_COUNTRY, DIM_CODE, DIM_TEXT, DIM_ORG, DIM_CORRIDOR };

struct dimension {
	const char *name;
	int pos; /* d1..d7; 0 for the organisation and the corridor */
	enum dim_type type;
	const ProtobufCEnumDescriptor *codes; /* DIM_CODE: the enum whose codes it holds */
	const char *problem;                  /* DIM_CODE: what to say of another value */
};

static const struct dimension claim_dims[] = {
    {"corridor", 0, DIM_CORRIDOR, NULL, NULL},
    {"origin", 1, DIM_COUNTRY, NULL, NULL},
    {"destination", 2, DIM_COUNTRY, NULL, NULL},
    {"sector", 3, DIM_CODE, ENUM_OF(sector), "is not a sector"},
    {"employer", 4, DIM_TEXT, NULL, NULL},
    {"agency", 5, DIM_TEXT, NULL, NULL},
    {"forum", 6, DIM_CODE, ENUM_OF(claim_forum), "is not a forum"},
    {"status", 7, DIM_CODE, ENUM_OF(claim_status), "is not a status of claims"},
    {"organisation", 0, DIM_ORG, NULL, NULL},
};
static const struct dimension deportation_dims[] = {
    {"from", 1, DIM_COUNTRY, NULL, NULL},
    {"to", 2, DIM_COUNTRY, NULL, NULL},
    {"ground", 3, DIM_CODE, ENUM_OF(deportation_ground), "is not a ground of deportation"},
    {"stage", 4, DIM_CODE, ENUM_OF(deportation_status), "is not a stage"},
    {"nationality", 5, DIM_COUNTRY, NULL, NULL},
    {"organisation", 0, DIM_ORG, NULL, NULL},
};
static const struct dimension recommendation_dims[] = {
    {"status", 1, DIM_CODE, ENUM_OF(recommendation_status), "is not a status of recommendations"},
    {"target_body", 2, DIM_TEXT, NULL, NULL},
    {"theme", 3, DIM_CODE, ENUM_OF(recommendation_theme), "is not a theme"},
    {"addressed_to", 4, DIM_CODE, ENUM_OF(addressed_to), "is not an addressee"},
    {"organisation", 0, DIM_ORG, NULL, NULL},
};

struct report_kind {
	const char *code; /* cases.kind */
	const char *name;
	const struct dimension *dims;
	size_t n_dims;
	const char *dim_names; /* for errors */
};

static const struct report_kind kinds[] = {
    [TULAY__V1__REPORT_KIND__REPORT_KIND_CLAIMS] =
	{"wage_theft", "claims", claim_dims, N_ELEMS(claim_dims),
	 "corridor, origin, destination, sector, employer, agency, forum, status or "
	 "organisation"},
    [TULAY__V1__REPORT_KIND__REPORT_KIND_DEPORTATIONS] =
	{"deportation", "deportations", deportation_dims, N_ELEMS(deportation_dims),
	 "from, to, ground, stage, nationality or organisation"},
    [TULAY__V1__REPORT_KIND__REPORT_KIND_RECOMMENDATIONS] =
	{"recommendation", "recommendations", recommendation_dims, N_ELEMS(recommendation_dims),
	 "status, target_body, theme, addressed_to or organisation"},
};

/* The columns of report_cells' money measures are in the order of disclosure.h's M_*:
 * claimed, awarded, recovered; each sum, claims, largest. */

/* Row columns of "report_rows": 0 the period's first day, 1..7 keys, 8 organisation, 9
 * currency (columns 1..9 are the keys of struct report_row), 10 cases, 11 workers, 12..
 * the measures (sum, n, max) x 3. */
#define COL_CASES    10
#define COL_WORKERS  11
#define COL_MEASURES 12
/* Row columns of "report_rates": 0 today, 1 currency, 2 valid_from, 3 rate, 4 the factor
 * from the currency's minor units to the reporting currency's. */
#define COL_RATE_TODAY    0
#define COL_RATE_CURRENCY 1
#define COL_RATE_FROM     2
#define COL_RATE          3
#define COL_RATE_FACTOR   4

/* The rollup a report reads, as a CTE "cube": the lowest-ranked cube of the kind that keeps
 * every dimension needed, at a grain that will do. */
#define REPORT_CUBE_SQL(kind, dims, grains)                                                        \
	"cube AS (SELECT c.cube, c.name, c.scoped FROM report_cubes c "                            \
	"          WHERE c.kind = " kind "::text AND c.dims @> " dims "::smallint[] "              \
	"            AND c.grain = ANY (" grains "::text[]) ORDER BY c.rank LIMIT 1)"
/* As a CTE "whole": whether the network's whole rows serve, that is when they count
 * exactly its scope today and the report neither groups nor filters by organisation; else
 * its organisations' own rows do. */
#define REPORT_WHOLE_SQL(org, by_org, orgs, whole_scope)                                           \
	"whole AS (SELECT coalesce(" whole_scope "::boolean AND NOT " by_org "::boolean "          \
	"            AND " orgs "::text[] IS NULL AND (SELECT scoped FROM cube) "                  \
	"            AND (SELECT s.members FROM report_scopes s WHERE s.scope_id = " org           \
	"::bigint AND s.cube = (SELECT cube FROM cube)) = report_members(" org "::bigint), "       \
	"            false) AS ok)"

const struct db_statement reports_statements[] = {
    /* The organisation reported on: the caller's own ($1 = '') or by acronym, and whether
     * the caller may report on it. */
    {"report_network",
     "SELECT org_id, acronym, report_allowed(org_id) FROM organisations "
     " WHERE CASE WHEN $1::text = '' THEN org_id = tulay_org() ELSE acronym = $1::text END"},
    /* The rows the report adds up, neither grouped nor sorted: the rollup's and the
     * deltas not folded yet, one per combination and currency ('' the count row), from
     * report_rows_of() (migration 0022), which picks the rollup first and plans the read
     * for it: $1 kind, $2 the organisation reported on, $3 dimensions the rollup must
     * keep, $4 grains that will do, $5 dimensions grouped by, $6 grouped by organisation,
     * $7 the period grouping ('', month, quarter, year), $8 / $9 the first month and the
     * first after (NULL: open), $10..$16 values d1..d7 must have (NULL: any), $17
     * organisations (NULL: all), $18 whether the organisation's whole scope counts (else
     * itself only), $19 the most rows (one more than a report may add up). */
    {"report_rows",
     "SELECT * FROM report_rows_of($1::text, $2::bigint, $3::smallint[], $4::text[], "
     "$5::smallint[], $6::boolean, $7::text, $8::date, $9::date, $10::text[], $11::text[], "
     "$12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], "
     "$18::boolean, $19::integer)"},
    /* Today, and every rate into the reporting currency $1 by currency and date, with its
     * factor from minor units to minor units (a first row of NULLs when there is none). */
    {"report_rates",
     "SELECT to_char(current_date, 'YYYY-MM-DD'), e.currency, "
     "       to_char(e.valid_from, 'YYYY-MM-DD'), e.rate::text, "
     "       (e.rate * power(10::numeric, e.reporting_exponent - e.currency_exponent))::text "
     "  FROM (VALUES (1)) one (x) "
     "  LEFT JOIN exchange_rates e ON e.reporting_currency = $1::text "
     " ORDER BY e.currency, e.valid_from"},
    /* The rollup that serves a report, named for Report.rollup (also when no row has
     * cases): $1 kind, $2 the organisation, $3 dimensions needed, $4 grains, $5 grouped by
     * organisation, $6 organisations (NULL: all), $7 whether the whole scope counts. */
    {"report_rollup", "WITH " REPORT_CUBE_SQL("$1", "$3", "$4") ", " REPORT_WHOLE_SQL(
			  "$2", "$5", "$6", "$7") " "
						  "SELECT c.name || CASE WHEN w.ok THEN ' (network "
						  "rows)' ELSE ' (organisation rows)' END "
						  "  FROM cube c, whole w"},
    /* The organisations a report covers, acronyms, sorted ($2: only these, or NULL; $3
     * false: the organisation itself only). */
    {"report_organisations",
     "SELECT o.acronym FROM organisations o "
     " WHERE o.org_id IN (SELECT s.org_id FROM report_scope($1::bigint) s "
     "                     WHERE $3::boolean OR s.org_id = $1::bigint) "
     "   AND ($2::text[] IS NULL OR o.acronym = ANY ($2::text[])) ORDER BY o.acronym"},
};
const unsigned reports_statements_count = N_ELEMS(reports_statements);

/* --- GetReport: what was asked --------------------------------------------------------- */

struct group {
	const struct dimension *dim;
};

struct report_state {
	const struct report_kind *kind;
	const struct dimension *groups[REPORT_GROUP_MAX];
	size_t n_groups;
	const char *period;          /* '', month, quarter or year */
	char from[32], to_after[32]; /* YYYY-MM-DD or "" */
	char to_last[32];            /* the last day of the range, YYYY-MM-DD, or "" */
	const char *grains;          /* {month,quarter,year,all} that will do */
	int64_t org_id;
	const char *network;
	char org_param[24];
	char row_limit[16]; /* REPORT_SOURCE_ROWS_MAX + 1, for the statement's LIMIT */
	/* parameters built from the request, in the arena */
	const char *needed, *grouped, *by_org, *filters[REPORT_DIMS], *org_filter;
	bool used[REPORT_DIMS + 1]; /* d1..d7 grouped by (index 0 unused) */
	bool org_used;              /* grouped by organisation */
	/* Adding up, on the thread pool: the rows read, room for them, and what it gave. */
	const PGresult *rows_read;
	struct report_row *rows_all, **rows;
	struct row_order *order;
	size_t n_rows;
	bool overflow;
	bool has_filter[REPORT_DIMS + 1]; /* d1..d7, then the organisation: a NULL array
					   * there means out of memory, not "any" */
	uint32_t k;
};

static const struct dimension *dimension_named(const struct report_kind *kind, const char *name)
{
	for (size_t i = 0; i < kind->n_dims; i++) {
		if (strcmp(kind->dims[i].name, name) == 0)
			return &kind->dims[i];
	}
	return NULL;
}

/* Parses "YYYY-MM" into *year and *month; false if it is not one. */
static bool parse_month(const char *text, int *year, int *month)
{
	if (strlen(text) != 7 || text[4] != '-' || !chars_in(text, 7, 7, "0123456789-"))
		return false;
	*year = atoi(text);
	*month = atoi(text + 5);
	return text[0] != '-' && *year >= 1900 && *year <= 2200 && *month >= 1 && *month <= 12;
}

/* Checks one filter value of `dim`; NULL if fine, else the problem. */
static const char *filter_value_problem(struct request *req, const struct dimension *dim,
					const char *value)
{
	if (*value == '\0')
		return NULL; /* matches cases where it is not recorded */
	switch (dim->type) {
	case DIM_COUNTRY:
		return validate_country(value);
	case DIM_CODE:
		if (proto_value(dim->codes, value) > 0)
			return NULL;
		/* Name the values that would do: the fix is one of them. */
		const char *problem = arena_printf(&req->arena, "'%.40s' %s:", value, dim->problem);
		for (size_t i = 0; proto_nth_value(dim->codes, i) != 0 && problem != NULL; i++)
			problem =
			    arena_printf(&req->arena, "%s%s %s", problem, i > 0 ? "," : "",
					 proto_code(dim->codes, proto_nth_value(dim->codes, i)));
		return problem != NULL ? problem : dim->problem;
	case DIM_TEXT:
		return validate_text(value, 1, REPORT_TEXT_MAX);
	case DIM_ORG:
		return validate_acronym(value);
	case DIM_CORRIDOR:
		break; /* report_read refuses it before asking */
	}
	return "cannot be filtered on";
}

/* Validates the request into st; false (with field errors recorded) if it is not one. */
static bool report_read(struct request *req, struct report_state *st)
{
	const Tulay__V1__GetReport *m = req->msg->get_report;
	const char *problem;
	/* Without a kind, the dimensions cannot be checked; everything else still is. */
	if (m->kind <= 0 || (size_t)m->kind >= N_ELEMS(kinds) || kinds[m->kind].code == NULL)
		request_field_error(req, "kind",
				    "is required: claims, deportations or recommendations");
	else
		st->kind = &kinds[m->kind];
	bool *used = st->used, org_used = false;
	if (m->n_group_by > REPORT_GROUP_MAX)
		request_field_error(req, "group_by", "has more than 4 dimensions");
	for (size_t i = 0; st->kind != NULL && i < m->n_group_by && i < REPORT_GROUP_MAX; i++) {
		const struct dimension *d = dimension_named(st->kind, m->group_by[i]);
		if (d == NULL) {
			request_field_error(
			    req, "group_by",
			    arena_printf(&req->arena, "'%.40s' is not a dimension of %s: %s",
					 m->group_by[i], st->kind->name, st->kind->dim_names));
			continue;
		}
		bool repeat = d->type == DIM_ORG        ? org_used
			      : d->type == DIM_CORRIDOR ? used[1] || used[2]
							: used[d->pos];
		if (repeat) {
			request_field_error(
			    req, "group_by",
			    arena_printf(&req->arena,
					 "names %s twice (corridor is origin and destination)",
					 d->name));
			continue;
		}
		if (d->type == DIM_ORG)
			org_used = true;
		else if (d->type == DIM_CORRIDOR)
			used[1] = used[2] = true;
		else
			used[d->pos] = true;
		st->groups[st->n_groups++] = d;
	}
	/* REPORT_PERIOD_NONE is "": no grouping by time. */
	st->period = m->period == TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_NONE
			 ? ""
			 : CODE_OF(report_period, m->period);
	if (st->period == NULL)
		request_field_error(req, "period", "is not a period: none, month, quarter or year");
	int fy = 0, fm = 0, ty = 0, tm = 0;
	bool has_from = *m->from_month != '\0', has_to = *m->to_month != '\0';
	if (has_from && !parse_month(m->from_month, &fy, &fm))
		request_field_error(req, "from_month", "is not a month: YYYY-MM, such as 2026-01");
	if (has_to && !parse_month(m->to_month, &ty, &tm))
		request_field_error(req, "to_month", "is not a month: YYYY-MM, such as 2026-12");
	if (has_from && has_to && fy * 12 + fm > ty * 12 + tm)
		request_field_error(req, "to_month", "is before from_month: no case can match");
	if (m->n_filters > REPORT_FILTERS_MAX)
		request_field_error(req, "filters", "has more than 16 filters");
	const char *values[REPORT_DIMS + 1][REPORT_FILTERS_MAX];
	size_t n_values[REPORT_DIMS + 1] = {0};
	bool needed[REPORT_DIMS + 1] = {false};
	memcpy(needed, used, sizeof(needed));
	for (size_t i = 0; st->kind != NULL && i < m->n_filters && i < REPORT_FILTERS_MAX; i++) {
		const Tulay__V1__ReportFilter *f = m->filters[i];
		const struct dimension *d = dimension_named(st->kind, f->dimension);
		const char *field = arena_printf(&req->arena, "filters[%zu]", i);
		if (d == NULL) {
			request_field_error(
			    req, field,
			    arena_printf(&req->arena, "'%.40s' is not a dimension of %s: %s",
					 f->dimension, st->kind->name, st->kind->dim_names));
			continue;
		}
		if (d->type == DIM_CORRIDOR) {
			request_field_error(req, field,
					    "corridor cannot be filtered on: filter on origin and "
					    "destination (one filter each)");
			continue;
		}
		if ((problem = filter_value_problem(req, d, f->value)) != NULL) {
			request_field_error(req, field,
					    arena_printf(&req->arena, "%s: %s", d->name, problem));
			continue;
		}
		int slot = d->type == DIM_ORG ? 0 : d->pos;
		values[slot][n_values[slot]++] = f->value;
		if (slot > 0)
			needed[slot] = true;
	}
	if (*m->network != '\0' && (problem = validate_acronym(m->network)) != NULL)
		request_field_error(req, "network", problem);
	if (*m->currency != '\0') {
		if (st->kind != NULL && m->kind != TULAY__V1__REPORT_KIND__REPORT_KIND_CLAIMS)
			request_field_error(req, "currency", "only claims reports have money");
		else if ((problem = validate_currency(m->currency)) != NULL)
			request_field_error(req, "currency", problem);
	}
	if (request_has_field_errors(req))
		return false;

	/* Which rollups will do: fine enough for the period grouped by and for the range's
	 * ends (a quarter's rollup cannot start a report in February). */
	bool month_only = strcmp(st->period, "month") == 0;
	bool quarter_ok = !month_only && (!has_from || fm % 3 == 1) && (!has_to || tm % 3 == 0);
	bool year_ok = quarter_ok && strcmp(st->period, "quarter") != 0 && (!has_from || fm == 1) &&
		       (!has_to || tm == 12);
	/* Without a period or a range, the rollups over all time will do too (0023). */
	bool all_ok = year_ok && *st->period == '\0' && !has_from && !has_to;
	st->grains = all_ok       ? "{month,quarter,year,all}"
		     : year_ok    ? "{month,quarter,year}"
		     : quarter_ok ? "{month,quarter}"
				  : "{month}";
	if (has_from)
		snprintf(st->from, sizeof(st->from), "%04d-%02d-01", fy, fm);
	if (has_to) {
		snprintf(st->to_after, sizeof(st->to_after), "%04d-%02d-01", tm == 12 ? ty + 1 : ty,
			 tm == 12 ? 1 : tm + 1);
		snprintf(st->to_last, sizeof(st->to_last), "%04d-%02d-%02d", ty, tm,
			 civil_days_in_month(ty, tm));
	}
	/* The dimensions (d1..d7) the report needs and groups by, as integer[] parameters. */
	static const char *const dim_numbers[] = {"0", "1", "2", "3", "4", "5", "6", "7"};
	_Static_assert(N_ELEMS(dim_numbers) == REPORT_DIMS + 1, "a number for each dimension");
	const char *needed_dims[REPORT_DIMS], *grouped_dims[REPORT_DIMS];
	size_t n_needed = 0, n_grouped = 0;
	for (int i = 1; i <= REPORT_DIMS; i++) {
		if (needed[i])
			needed_dims[n_needed++] = dim_numbers[i];
		if (used[i])
			grouped_dims[n_grouped++] = dim_numbers[i];
	}
	st->needed = request_array_param(req, needed_dims, n_needed);
	st->grouped = request_array_param(req, grouped_dims, n_grouped);
	st->by_org = org_used ? "t" : "f";
	st->org_used = org_used;
	for (int i = 1; i <= REPORT_DIMS; i++)
		st->filters[i - 1] =
		    n_values[i] > 0 ? request_array_param(req, values[i], n_values[i]) : NULL;
	st->org_filter = n_values[0] > 0 ? request_array_param(req, values[0], n_values[0]) : NULL;
	st->k = req->srv->cfg.report_min_cell;
	return true;
}

/* --- GetReport: the answer ------------------------------------------------------------- */

static Tulay__V1__ReportCount *count_out(struct request *req, uint64_t value, bool hidden)
{
	Tulay__V1__ReportCount *c = request_alloc(req, sizeof(*c));
	if (c != NULL) {
		tulay__v1__report_count__init(c);
		c->suppressed = hidden;
		c->value = hidden ? 0 : value;
	}
	return c;
}

static Tulay__V1__ReportAmount *amount_out(struct request *req, const struct measure *me)
{
	Tulay__V1__ReportAmount *a = request_alloc(req, sizeof(*a));
	if (a != NULL) {
		tulay__v1__report_amount__init(a);
		a->suppressed = me->hidden;
		a->minor = me->hidden ? 0 : me->sum;
	}
	return a;
}

static Tulay__V1__ReportMoney *money_out(struct request *req, const struct money *mo)
{
	Tulay__V1__ReportMoney *out = request_alloc(req, sizeof(*out));
	if (out == NULL)
		return NULL;
	tulay__v1__report_money__init(out);
	const struct measure *cl = &mo->m[M_CLAIMED], *rc = &mo->m[M_RECOVERED];
	out->currency = (char *)mo->currency;
	out->claimed = amount_out(req, cl);
	out->awarded = amount_out(req, &mo->m[M_AWARDED]);
	out->recovered = amount_out(req, rc);
	out->has_awarded = mo->m[M_AWARDED].n > 0;
	out->has_recovered = rc->n > 0;
	/* Recovered of claimed; nothing recovered is 0%. */
	bool rate_hidden = cl->hidden || (rc->n > 0 && rc->hidden);
	uint64_t bp = 0;
	if (cl->n > 0 && cl->sum > 0 && !rate_hidden)
		bp = (uint64_t)(((__int128)(rc->n > 0 ? rc->sum : 0) * 10000 + cl->sum / 2) /
				cl->sum);
	out->recovery_rate_bp = count_out(req, bp, rate_hidden || cl->n == 0);
	if (out->claimed == NULL || out->awarded == NULL || out->recovered == NULL ||
	    out->recovery_rate_bp == NULL)
		return NULL;
	return out;
}

/* "2026-03", "2026-Q1" or "2026" for a bucket's first day. */
static char *period_label(struct request *req, const char *period, const char *bucket)
{
	if (*bucket == '\0')
		return "";
	int month = atoi(bucket + 5);
	if (strcmp(period, "month") == 0)
		return arena_printf(&req->arena, "%.7s", bucket);
	if (strcmp(period, "quarter") == 0)
		return arena_printf(&req->arena, "%.4s-Q%d", bucket, (month - 1) / 3 + 1);
	return arena_printf(&req->arena, "%.4s", bucket);
}

static Tulay__V1__ReportCell *cell_out(struct request *req, const struct report_state *st,
				       const struct cell *c, bool money)
{
	Tulay__V1__ReportCell *out = request_alloc(req, sizeof(*out));
	char **keys = request_alloc(req, sizeof(*keys) * (st->n_groups + 1));
	Tulay__V1__ReportMoney **mo = request_alloc(req, sizeof(*mo) * (c->n_money + 1));
	if (out == NULL || keys == NULL || mo == NULL)
		return NULL;
	tulay__v1__report_cell__init(out);
	for (size_t i = 0; i < st->n_groups; i++) {
		const struct dimension *d = st->groups[i];
		keys[i] = d->type == DIM_ORG ? (char *)c->org
			  : d->type == DIM_CORRIDOR
			      ? arena_printf(&req->arena, "%s>%s", c->keys[0], c->keys[1])
			      : (char *)c->keys[d->pos - 1];
		if (keys[i] == NULL)
			return NULL;
	}
	out->keys = keys;
	out->n_keys = st->n_groups;
	out->period = period_label(req, st->period, c->bucket);
	out->cases = count_out(req, c->cases, c->hidden);
	out->workers = count_out(req, c->workers, c->hidden || c->workers_measure.hidden);
	if (out->period == NULL || out->cases == NULL || out->workers == NULL)
		return NULL;
	if (money) {
		for (size_t i = 0; i < c->n_money; i++) {
			if ((mo[i] = money_out(req, &c->money[i])) == NULL)
				return NULL;
		}
		out->money = mo;
		out->n_money = c->n_money;
	}
	return out;
}

/* --- GetReport: adding up ------------------------------------------------------------- */

/* The keys of a report row, in the order its cells sort by: the period bucket, d1..d7,
 * the organisation, the currency. Row columns 1..9 of report_rows are keys 1..9. */
enum { KEY_BUCKET, KEY_ORG = 1 + REPORT_DIMS, KEY_CURRENCY, N_KEYS };

/* A row of report_rows and, once added up, a row of the report: one cell's counts
 * (currency "") or its money in one currency. */
struct report_row {
	const char *key[N_KEYS];
	char bucket[11]; /* key[KEY_BUCKET]: YYYY-MM-DD, or "" without a period */
	int64_t cases, workers;
	int64_t sum[N_MEASURES], n[N_MEASURES], max[N_MEASURES];
	const char *rate, *rate_from; /* the rate that converted its money, or NULL */
};

/* The keys a report's rows can differ in, in order: the others are "" in every row. */
struct row_order {
	int key[N_KEYS];
	int n;
};

static void row_order_of(const struct report_state *st, struct row_order *o)
{
	o->n = 0;
	if (*st->period != '\0')
		o->key[o->n++] = KEY_BUCKET;
	for (int i = 1; i <= REPORT_DIMS; i++) {
		if (st->used[i])
			o->key[o->n++] = i;
	}
	if (st->org_used)
		o->key[o->n++] = KEY_ORG;
	o->key[o->n++] = KEY_CURRENCY;
}

/* Byte order of the keys, as cells are sorted. With `cell_only`, the currency aside. */
static int row_keys_cmp(const struct report_row *a, const struct report_row *b,
			const struct row_order *o, bool cell_only)
{
	for (int i = 0; i < o->n; i++) {
		int k = o->key[i];
		if (cell_only && k == KEY_CURRENCY)
			continue;
		int c = strcmp(a->key[k], b->key[k]);
		if (c != 0)
			return c;
	}
	return 0;
}

static int row_cmp(const void *a, const void *b, void *order)
{
	return row_keys_cmp(*(struct report_row *const *)a, *(struct report_row *const *)b, order,
			    false);
}

/* A decimal integer column ("-12", "4500000"); *overflow when it does not fit in 64 bits. */
static int64_t column_i64(const PGresult *res, int row, int col, bool *overflow)
{
	const char *p = PQgetvalue(res, row, col);
	bool negative = *p == '-';
	int64_t v = 0;
	for (p += negative; *p >= '0' && *p <= '9'; p++) {
		*overflow |= __builtin_mul_overflow(v, 10, &v);
		*overflow |= __builtin_add_overflow(v, negative ? '0' - *p : *p - '0', &v);
	}
	return v;
}

/* The first day of the `period` (month, quarter, year) that holds `day` (YYYY-MM-DD, the
 * first of a month); "" for "" (no period). */
static void bucket_of(const char *period, const char *day, char out[11])
{
	snprintf(out, 11, "%s", day);
	if (strlen(out) != 10)
		return;
	int month = (day[5] - '0') * 10 + (day[6] - '0');
	if (strcmp(period, "quarter") == 0)
		month = (month - 1) / 3 * 3 + 1;
	else if (strcmp(period, "year") == 0)
		month = 1;
	out[5] = (char)('0' + month / 10);
	out[6] = (char)('0' + month % 10);
	out[8] = '0';
	out[9] = '1';
}

/* The day whose exchange rate converts a row: the last of its bucket's period, else of
 * the report's range (`to_last`), else today. */
static void rate_day_of(const char *period, const char *bucket, const char *to_last,
			const char *today, char out[32])
{
	if (*bucket == '\0') {
		snprintf(out, 32, "%s", *to_last != '\0' ? to_last : today);
		return;
	}
	int year = atoi(bucket);
	int month = atoi(bucket + 5);
	if (strcmp(period, "quarter") == 0)
		month += 2;
	else if (strcmp(period, "year") == 0)
		month = 12;
	snprintf(out, 32, "%04d-%02d-%02d", year, month, civil_days_in_month(year, month));
}

/* Adds up st->rows_read per cell and currency into st->rows (st->n_rows of them, sorted
 * as cells are); drops the ones left without cases or contributors (withdrawals not folded
 * yet), as folding would; st->overflow when a figure does not fit in 64 bits. Runs on the
 * thread pool (request_offload): a report may add up 200,000 rows, tens of milliseconds
 * the event loop would not serve anyone else. Touches only the state. */
static void report_add_up(struct request *req)
{
	struct report_state *st = req->state;
	const PGresult *res = st->rows_read;
	const char *period = st->period;
	const struct row_order *order = st->order;
	bool *overflow = &st->overflow;
	struct report_row *all = st->rows_all, **sorted = st->rows;
	int rows = PQntuples(res);
	for (int r = 0; r < rows; r++) {
		struct report_row *x = &all[r];
		bucket_of(period, PQgetvalue(res, r, 0), x->bucket);
		x->key[KEY_BUCKET] = x->bucket;
		for (int k = 1; k < N_KEYS; k++)
			x->key[k] = PQgetvalue(res, r, k);
		x->cases = column_i64(res, r, COL_CASES, overflow);
		x->workers = column_i64(res, r, COL_WORKERS, overflow);
		for (int m = 0; m < N_MEASURES; m++) {
			x->sum[m] = column_i64(res, r, COL_MEASURES + 3 * m, overflow);
			x->n[m] = column_i64(res, r, COL_MEASURES + 3 * m + 1, overflow);
			x->max[m] = column_i64(res, r, COL_MEASURES + 3 * m + 2, overflow);
		}
		x->rate = x->rate_from = NULL;
		sorted[r] = x;
	}
	qsort_r(sorted, (size_t)rows, sizeof(*sorted), row_cmp, (void *)order);
	size_t n = 0;
	for (int r = 0; r < rows; r++) {
		struct report_row *x = sorted[r], *g = n > 0 ? sorted[n - 1] : NULL;
		if (g == NULL || row_keys_cmp(g, x, order, false) != 0) {
			sorted[n++] = x;
			continue;
		}
		*overflow |= __builtin_add_overflow(g->cases, x->cases, &g->cases);
		*overflow |= __builtin_add_overflow(g->workers, x->workers, &g->workers);
		for (int m = 0; m < N_MEASURES; m++) {
			*overflow |= __builtin_add_overflow(g->sum[m], x->sum[m], &g->sum[m]);
			*overflow |= __builtin_add_overflow(g->n[m], x->n[m], &g->n[m]);
			g->max[m] = x->max[m] > g->max[m] ? x->max[m] : g->max[m];
		}
	}
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		const struct report_row *g = sorted[i];
		if (*g->key[KEY_CURRENCY] == '\0'
			? g->cases > 0
			: g->n[M_CLAIMED] + g->n[M_AWARDED] + g->n[M_RECOVERED] > 0)
			sorted[kept++] = sorted[i];
	}
	st->n_rows = kept;
}

/* Converts the money of every row into the reporting currency `target` at the rate in force
 * on its rate day (`rates`: report_rates' result, by currency and valid_from). False, and
 * the request failed, when a rate is missing or an amount would not fit. */
static bool rows_converted(struct request *req, struct report_row **rows, size_t n,
			   const PGresult *rates, const char *target)
{
	const struct report_state *st = req->state;
	const char *today = PQgetvalue(rates, 0, COL_RATE_TODAY);
	for (size_t i = 0; i < n; i++) {
		struct report_row *x = rows[i];
		const char *currency = x->key[KEY_CURRENCY];
		if (*currency == '\0' || strcmp(currency, target) == 0)
			continue;
		char day[32];
		rate_day_of(st->period, x->bucket, st->to_last, today, day);
		int found = -1; /* the latest rate from that day or before */
		for (int r = 0; r < PQntuples(rates); r++) {
			if (strcmp(PQgetvalue(rates, r, COL_RATE_CURRENCY), currency) == 0 &&
			    strcmp(PQgetvalue(rates, r, COL_RATE_FROM), day) <= 0)
				found = r;
		}
		if (found < 0) {
			request_fail(
			    req, TULAY__V1__CODE__FAILED_PRECONDITION,
			    arena_printf(&req->arena,
					 "no exchange rate from %s to %s in force on %s: an "
					 "admin sets one with `tulay rate set %s %s RATE "
					 "--from DATE`",
					 currency, target, day, currency, target));
			return false;
		}
		const char *factor = PQgetvalue(rates, found, COL_RATE_FACTOR);
		for (int m = 0; m < N_MEASURES; m++) {
			if (!money_convert(x->sum[m], factor, &x->sum[m]) ||
			    !money_convert(x->max[m], factor, &x->max[m])) {
				request_fail(
				    req, TULAY__V1__CODE__FAILED_PRECONDITION,
				    arena_printf(&req->arena,
						 "an amount in %s is too large to show in %s: "
						 "report without a currency, or filter",
						 currency, target));
				return false;
			}
		}
		x->rate = PQgetvalue(rates, found, COL_RATE);
		x->rate_from = PQgetvalue(rates, found, COL_RATE_FROM);
	}
	return true;
}

/* The rates a converted report used, distinct, in row order. */
static bool rates_out(struct request *req, struct report_row *const *rows, size_t n_rows,
		      const char *target, Tulay__V1__Report *report)
{
	Tulay__V1__ExchangeRate **rates = request_alloc(req, sizeof(*rates) * (n_rows + 1));
	if (rates == NULL)
		return false;
	size_t n = 0;
	for (size_t r = 0; r < n_rows; r++) {
		const struct report_row *x = rows[r];
		if (x->rate_from == NULL)
			continue;
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = strcmp(rates[i]->currency, x->key[KEY_CURRENCY]) == 0 &&
			       strcmp(rates[i]->valid_from, x->rate_from) == 0;
		if (seen)
			continue;
		Tulay__V1__ExchangeRate *e = request_alloc(req, sizeof(*e));
		if (e == NULL)
			return false;
		tulay__v1__exchange_rate__init(e);
		e->currency = (char *)x->key[KEY_CURRENCY];
		e->reporting_currency = (char *)target;
		e->rate = (char *)x->rate;
		e->valid_from = (char *)x->rate_from;
		rates[n++] = e;
	}
	report->rates = rates;
	report->n_rates = n;
	return true;
}

/* Builds the cells of the report's rows (added up, sorted: a cell's rows are adjacent).
 * Converted money is all in the reporting currency `target`: one entry per cell. */
static struct cell *cells_from_rows(struct request *req, struct report_row *const *rows,
				    size_t n_rows, const struct row_order *order,
				    const char *target, size_t *n_out)
{
	struct cell *cells = request_alloc(req, sizeof(*cells) * (n_rows + 1));
	if (cells == NULL)
		return NULL;
	size_t n = 0;
	for (size_t r = 0; r < n_rows; r++) {
		const struct report_row *x = rows[r];
		if (r == 0 || row_keys_cmp(rows[r - 1], x, order, true) != 0) {
			struct cell *c = &cells[n++];
			memset(c, 0, sizeof(*c));
			c->bucket = x->bucket;
			for (int i = 0; i < REPORT_DIMS; i++)
				c->keys[i] = x->key[1 + i];
			c->org = x->key[KEY_ORG];
			/* At most one money entry per further row of this cell. */
			size_t end = r + 1;
			while (end < n_rows && row_keys_cmp(rows[end], x, order, true) == 0)
				end++;
			c->money = request_alloc(req, sizeof(*c->money) * (end - r));
			if (c->money == NULL)
				return NULL;
		}
		struct cell *c = &cells[n - 1];
		const char *currency = x->key[KEY_CURRENCY];
		if (*currency == '\0') {
			c->cases += (uint64_t)x->cases;
			c->workers += (uint64_t)x->workers;
			continue;
		}
		const char *as = *target != '\0' ? target : currency;
		struct money *mo = disclosure_money_of(c, as);
		if (mo == NULL) {
			mo = &c->money[c->n_money++];
			memset(mo, 0, sizeof(*mo));
			mo->currency = as;
		}
		for (int m = 0; m < N_MEASURES; m++) {
			struct measure *me = &mo->m[m];
			me->sum += x->sum[m];
			me->n += x->n[m];
			me->max = x->max[m] > me->max ? x->max[m] : me->max;
		}
	}
	*n_out = n;
	return cells;
}

static void report_added_up(struct request *req, bool ok);

static void report_done(struct request *req, enum db_outcome outcome)
{
	struct report_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result(req, 0);
	if (PQntuples(res) > REPORT_SOURCE_ROWS_MAX) {
		request_fail(
		    req, TULAY__V1__CODE__FAILED_PRECONDITION,
		    arena_printf(&req->arena,
				 "the report would add up more than %d rows of its rollup: "
				 "filter, or report on a shorter range",
				 REPORT_SOURCE_ROWS_MAX));
		return;
	}
	arena_raise_cap(&req->arena,
			req->arena.cap +
			    (size_t)PQntuples(res) * (sizeof(struct report_row) + sizeof(void *)));
	size_t n = (size_t)PQntuples(res) + 1;
	st->rows_read = res;
	st->rows_all = request_alloc(req, sizeof(*st->rows_all) * n);
	st->rows = request_alloc(req, sizeof(*st->rows) * n);
	st->order = request_alloc(req, sizeof(*st->order));
	if (st->rows_all == NULL || st->rows == NULL || st->order == NULL) {
		request_fail_oom(req);
		return;
	}
	row_order_of(st, st->order);
	request_offload(req, report_add_up, report_added_up);
}

/* The report's rows added up (report_add_up): the cells, disclosure control, the answer. */
static void report_added_up(struct request *req, bool ok)
{
	struct report_state *st = req->state;
	const Tulay__V1__GetReport *m = req->msg->get_report;
	const PGresult *orgs = request_result(req, 1);
	struct report_row **rows = st->rows;
	size_t n_rows = st->n_rows;
	if (!ok) {
		request_fail(req, TULAY__V1__CODE__UNAVAILABLE,
			     "the server could not add up the report now: try again");
		return;
	}
	if (st->overflow) {
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     "a figure of the report is too large to add up: filter, or group by "
			     "more dimensions");
		return;
	}
	if (n_rows > REPORT_ROWS_MAX) {
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     arena_printf(&req->arena,
					  "the report would have more than %d rows: group by fewer "
					  "dimensions or a coarser period, or filter",
					  REPORT_ROWS_MAX));
		return;
	}
	arena_raise_cap(&req->arena, req->arena.cap + n_rows * REPORT_ROW_BYTES);
	/* Never mix currencies silently: every amount converts, or the report fails. */
	if (*m->currency != '\0' &&
	    !rows_converted(req, rows, n_rows, request_result(req, 3), m->currency))
		return;
	size_t n = 0;
	struct cell *cells = cells_from_rows(req, rows, n_rows, st->order, m->currency, &n);
	Tulay__V1__Report *report = request_alloc(req, sizeof(*report));
	struct cell *total = request_alloc(req, sizeof(*total));
	if (cells == NULL || report == NULL || total == NULL) {
		request_fail_oom(req);
		return;
	}
	memset(total, 0, sizeof(*total));
	total->bucket = total->org = "";
	for (int i = 0; i < REPORT_DIMS; i++)
		total->keys[i] = "";
	total->money = request_alloc(req, sizeof(*total->money) * (n_rows + 1));
	if (total->money == NULL) {
		request_fail_oom(req);
		return;
	}
	disclosure_total(cells, n, total);
	struct disclosure_candidate *scratch = request_alloc(req, sizeof(*scratch) * (n + 1));
	if (scratch == NULL) {
		request_fail_oom(req);
		return;
	}
	disclosure_apply(cells, n, total, st->k, scratch);
	Tulay__V1__ReportPerturbation *perturbation = NULL;
	if (req->srv->cfg.report_perturbation) {
		disclosure_perturb(cells, n, total, vault_cell_key());
		perturbation = request_alloc(req, sizeof(*perturbation));
		if (perturbation == NULL) {
			request_fail_oom(req);
			return;
		}
		tulay__v1__report_perturbation__init(perturbation);
		perturbation->count_max_change = DISCLOSURE_COUNT_MAX_CHANGE;
		perturbation->count_variance = DISCLOSURE_COUNT_VARIANCE;
		perturbation->amount_max_percent = DISCLOSURE_AMOUNT_MAX_PERCENT;
	}

	bool money = m->kind == TULAY__V1__REPORT_KIND__REPORT_KIND_CLAIMS;
	tulay__v1__report__init(report);
	report->kind = m->kind;
	report->group_by = m->group_by;
	report->n_group_by = m->n_group_by;
	report->period = m->period;
	report->network = (char *)st->network;
	report->min_cell = st->k;
	report->currency = m->currency;
	report->perturbation = perturbation;
	const PGresult *rollup = request_result(req, 2);
	report->rollup = PQntuples(rollup) == 1 ? PQgetvalue(rollup, 0, 0) : "";
	report->cells = request_alloc(req, sizeof(*report->cells) * (n + 1));
	report->organisations =
	    request_alloc(req, sizeof(*report->organisations) * (size_t)(PQntuples(orgs) + 1));
	if (report->cells == NULL || report->organisations == NULL ||
	    (report->total = cell_out(req, st, total, money)) == NULL ||
	    (*m->currency != '\0' && !rates_out(req, rows, n_rows, m->currency, report))) {
		request_fail_oom(req);
		return;
	}
	/* The total has no keys. */
	report->total->n_keys = 0;
	for (size_t i = 0; i < n; i++) {
		if ((report->cells[i] = cell_out(req, st, &cells[i], money)) == NULL) {
			request_fail_oom(req);
			return;
		}
	}
	report->n_cells = n;
	for (int i = 0; i < PQntuples(orgs); i++)
		report->organisations[i] = PQgetvalue(orgs, i, 0);
	report->n_organisations = (size_t)PQntuples(orgs);
	req->resp.body_case = TULAY__V1__RESPONSE__BODY_REPORT;
	req->resp.report = report;
	request_reply(req);
}

static void report_submit(struct request *req)
{
	struct report_state *st = req->state;
	const Tulay__V1__GetReport *m = req->msg->get_report;
	struct db_query *q = db_job_add(&req->job, "report_rows");
	db_param_text(q, st->kind->code);
	db_param_text(q, st->org_param);
	db_param_text(q, st->needed);
	db_param_text(q, st->grains);
	db_param_text(q, st->grouped);
	db_param_text(q, st->by_org);
	db_param_text(q, st->period);
	db_param_text(q, *st->from != '\0' ? st->from : NULL);
	db_param_text(q, *st->to_after != '\0' ? st->to_after : NULL);
	for (int i = 0; i < REPORT_DIMS; i++)
		db_param_text(q, st->filters[i]);
	db_param_text(q, st->org_filter);
	/* Coordinators and admins report on the organisation's whole scope; anyone else on
	 * their organisation's own cases only. */
	const char *whole_scope = req->session.role == TULAY__V1__ROLE__ROLE_ADMIN ||
					  req->session.role == TULAY__V1__ROLE__ROLE_COORDINATOR
				      ? "true"
				      : "false";
	db_param_text(q, whole_scope);
	snprintf(st->row_limit, sizeof(st->row_limit), "%d", REPORT_SOURCE_ROWS_MAX + 1);
	db_param_text(q, st->row_limit);
	q = db_job_add(&req->job, "report_organisations");
	db_param_text(q, st->org_param);
	db_param_text(q, st->org_filter);
	db_param_text(q, whole_scope);
	q = db_job_add(&req->job, "report_rollup");
	db_param_text(q, st->kind->code);
	db_param_text(q, st->org_param);
	db_param_text(q, st->needed);
	db_param_text(q, st->grains);
	db_param_text(q, st->by_org);
	db_param_text(q, st->org_filter);
	db_param_text(q, whole_scope);
	if (*m->currency != '\0') {
		q = db_job_add(&req->job, "report_rates");
		db_param_text(q, m->currency);
	}
	char by[128] = "";
	for (size_t i = 0; i < m->n_group_by; i++)
		snprintf(by + strlen(by), sizeof(by) - strlen(by), "%s%.30s", i > 0 ? "," : "",
			 m->group_by[i]);
	char filters[64] = "";
	for (size_t i = 0; i < m->n_filters && strlen(filters) < 40; i++)
		snprintf(filters + strlen(filters), sizeof(filters) - strlen(filters), "%s%.20s",
			 i > 0 ? "," : "", m->filters[i]->dimension);
	request_audit(req, "report", st->network,
		      arena_printf(&req->arena,
				   "kind=%s group_by=%s period=%s from=%s to=%s filters=%s "
				   "currency=%s",
				   st->kind->name, by, st->period, m->from_month, m->to_month,
				   filters, m->currency));
	request_db(req, report_done);
}

static void report_network_resolved(struct request *req, enum db_outcome outcome)
{
	struct report_state *st = req->state;
	const Tulay__V1__GetReport *m = req->msg->get_report;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result(req, 0);
	if (PQntuples(res) != 1) {
		request_field_error(req, "network", "is not the acronym of an organisation");
		request_fail_invalid(req, "no report");
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     arena_printf(&req->arena,
					  "%s is outside your reports: a coordinator reports on "
					  "their organisation and its members (where they share "
					  "aggregates), others on their own organisation",
					  m->network));
		return;
	}
	snprintf(st->org_param, sizeof(st->org_param), "%s", PQgetvalue(res, 0, 0));
	st->network = arena_strdup(&req->arena, PQgetvalue(res, 0, 1));
	if (st->network == NULL) {
		request_fail_oom(req);
		return;
	}
	db_job_reset(&req->job);
	report_submit(req);
}

void handle_get_report(struct request *req)
{
	struct report_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	memset(st, 0, sizeof(*st));
	req->state = st;
	if (!report_read(req, st)) {
		request_fail_invalid(req, "invalid report request");
		return;
	}
	bool oom = st->needed == NULL || st->grouped == NULL;
	for (size_t i = 0; i < REPORT_DIMS; i++)
		oom = oom || (st->has_filter[i] && st->filters[i] == NULL);
	oom = oom || (st->has_filter[REPORT_DIMS] && st->org_filter == NULL);
	if (oom) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q = db_job_add(&req->job, "report_network");
	db_param_text(q, req->msg->get_report->network);
	request_db(req, report_network_resolved);
}
