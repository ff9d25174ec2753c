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
#include "report.h"
#include "iso.h"
#include "money.h"
#include "request.h"
#include "server.h"
#include "validate.h"
#include "vault.h"

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
     "SELECT org_id, acronym, report_allowed(org_id) AS allowed FROM organisations "
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
     "SELECT to_char(current_date, 'YYYY-MM-DD') AS today, e.currency, "
     "       to_char(e.valid_from, 'YYYY-MM-DD') AS valid_from, e.rate::text AS rate, "
     "       (e.rate * power(10::numeric, e.reporting_exponent - e.currency_exponent))::text "
     "       AS factor "
     "  FROM (VALUES (1)) one (x) "
     "  LEFT JOIN exchange_rates e ON e.reporting_currency = $1::text "
     " ORDER BY e.currency, e.valid_from"},
    /* The rollup that serves a report, named for Report.rollup (also when no row has
     * cases): $1 kind, $2 the organisation, $3 dimensions needed, $4 grains, $5 grouped by
     * organisation, $6 organisations (NULL: all), $7 whether the whole scope counts. */
    {"report_rollup",
     "WITH " REPORT_CUBE_SQL("$1", "$3", "$4") ", " REPORT_WHOLE_SQL(
	 "$2", "$5", "$6", "$7") " "
				 "SELECT c.name || CASE WHEN w.ok THEN ' (network "
				 "rows)' ELSE ' (organisation rows)' END AS rollup "
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

static void report_added_up(struct request *req, bool ok);

static void report_done(struct request *req, enum db_outcome outcome)
{
	struct report_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result_of(req, "report_rows");
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
	report_row_columns(res, &st->rows_read_cols);
	st->rows_all = request_alloc(req, sizeof(*st->rows_all) * n);
	st->rows = request_alloc(req, sizeof(*st->rows) * n);
	st->order = request_alloc(req, sizeof(*st->order));
	if (st->rows_all == NULL || st->rows == NULL || st->order == NULL) {
		request_fail_oom(req);
		return;
	}
	report_row_order(st, st->order);
	request_offload(req, report_add_up, report_added_up);
}

/* The report's rows added up (report_add_up): the cells, disclosure control, the answer. */
static void report_added_up(struct request *req, bool ok)
{
	struct report_state *st = req->state;
	const Tulay__V1__GetReport *m = req->msg->get_report;
	const PGresult *orgs = request_result_of(req, "report_organisations");
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
	    !report_rows_converted(req, rows, n_rows, request_result_of(req, "report_rates"),
				   m->currency))
		return;
	size_t n = 0;
	struct cell *cells = report_cells_from_rows(req, rows, n_rows, st->order, m->currency, &n);
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
	report->from_standby = req->replica.staleness_ms >= 0;
	report->staleness_ms = report->from_standby ? (uint64_t)req->replica.staleness_ms : 0;
	const PGresult *rollup = request_result_of(req, "report_rollup");
	report->rollup =
	    PQntuples(rollup) == 1 ? PQgetvalue(rollup, 0, db_column(rollup, "rollup")) : "";
	report->cells = request_alloc(req, sizeof(*report->cells) * (n + 1));
	report->organisations =
	    request_alloc(req, sizeof(*report->organisations) * (size_t)(PQntuples(orgs) + 1));
	if (report->cells == NULL || report->organisations == NULL ||
	    (report->total = cell_out(req, st, total, money)) == NULL ||
	    (*m->currency != '\0' && !report_rates_out(req, rows, n_rows, m->currency, report))) {
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
	int acronym = db_column(orgs, "acronym");
	for (int i = 0; i < PQntuples(orgs); i++)
		report->organisations[i] = PQgetvalue(orgs, i, acronym);
	report->n_organisations = (size_t)PQntuples(orgs);
	REQUEST_REPLY(req, REPORT, report, report);
}

static void report_submit(struct request *req)
{
	struct report_state *st = req->state;
	const Tulay__V1__GetReport *m = req->msg->get_report;
	struct db_query *q = db_job_add(&req->job, "report_rows");
	DB_PARAMS_TEXT(q, st->kind->code, st->org_param, st->needed, st->grains, st->grouped,
		       st->by_org, st->period, *st->from != '\0' ? st->from : NULL,
		       *st->to_after != '\0' ? st->to_after : NULL);
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
	DB_PARAMS_TEXT(q, st->org_param, st->org_filter, whole_scope);
	q = db_job_add(&req->job, "report_rollup");
	DB_PARAMS_TEXT(q, st->kind->code, st->org_param, st->needed, st->grains, st->by_org,
		       st->org_filter, whole_scope);
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
	const PGresult *res = request_result_of(req, "report_network");
	if (PQntuples(res) != 1) {
		request_field_error(req, "network", "is not the acronym of an organisation");
		request_fail_invalid(req, "no report");
		return;
	}
	if (strcmp(db_value(res, 0, "allowed"), "t") != 0) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     arena_printf(&req->arena,
					  "%s is outside your reports: a coordinator reports on "
					  "their organisation and its members (where they share "
					  "aggregates), others on their own organisation",
					  m->network));
		return;
	}
	snprintf(st->org_param, sizeof(st->org_param), "%s", db_value(res, 0, "org_id"));
	st->network = arena_strdup(&req->arena, db_value(res, 0, "acronym"));
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
