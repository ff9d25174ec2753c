/* report_bench: how fast tulayd answers a coordinator's reports (GetReport, served from the
 * incrementally maintained rollups), next to the same aggregation computed from the raw
 * tables with libpq.
 *
 * For each grouping of a fixed mix typical of advocacy (corridor by quarter, sector by year,
 * status, ..., some with a date range or filters) it sends one warm-up GetReport and then
 * --iterations more, one at a time, timing each from send to the parsed Response; then it
 * runs the equivalent SELECT over cases and wage_theft_claims of the organisations in
 * report_scope(network) one warm-up time and --raw-iterations more. It prints a table of
 * p50 and p95 latencies per grouping and over the whole mix, and checks the report against
 * the raw result: the total number of cases (unless suppressed) and the number of cases of
 * every cell that is not suppressed must be the raw tables' own. A mismatch or an error
 * answer exits 1.
 *
 * bench/report_bench.sh seeds a database, starts tulayd and runs this program; see
 * bench/README.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "bench_util.h"
#include "libtulay.h"

#define CLIENT_NAME        "report_bench"
#define PASSWORD_CAP       1024
#define MAX_GROUP_BY       4
#define MAX_FILTERS        3
#define MAX_SHOWN_MISMATCH 5

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define PERIOD(p)  TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_##p

enum exit_code {
	EXIT_OK = 0,        /* every answer OK and equal to the raw tables' */
	EXIT_FAILED = 1,    /* an error answer, a failed connection or a wrong number */
	EXIT_USAGE_ERR = 2, /* bad options */
};

struct options {
	const char *server;
	const char *username;
	const char *db;
	const char *network;
	unsigned iterations;
	unsigned raw_iterations;
	unsigned target_ms;
	unsigned timeout_ms;
	bool raw_only;
};

/* --- the mix ------------------------------------------------------------------------- */

struct bench_filter {
	const char *dimension;
	const char *value;
};

/* One grouping of the mix: a GetReport of kind CLAIMS. Unused group_by and filter slots
 * are NULL. */
struct bench_query {
	const char *title;
	const char *group_by[MAX_GROUP_BY];
	Tulay__V1__ReportPeriod period;
	const char *from_month; /* YYYY-MM, or NULL */
	const char *to_month;
	struct bench_filter filters[MAX_FILTERS];
};

static const struct bench_query bench_queries[] = {
    {"corridor x quarter", {"corridor"}, PERIOD(QUARTER), NULL, NULL, {{NULL, NULL}}},
    {"sector x year", {"sector"}, PERIOD(YEAR), NULL, NULL, {{NULL, NULL}}},
    {"status", {"status"}, PERIOD(NONE), NULL, NULL, {{NULL, NULL}}},
    {"origin", {"origin"}, PERIOD(NONE), NULL, NULL, {{NULL, NULL}}},
    {"forum x status", {"forum", "status"}, PERIOD(NONE), NULL, NULL, {{NULL, NULL}}},
    {"organisation", {"organisation"}, PERIOD(NONE), NULL, NULL, {{NULL, NULL}}},
    {"corridor x sector x year", {"corridor", "sector"}, PERIOD(YEAR), NULL, NULL, {{NULL, NULL}}},
    {"destination x month, 2024-2025",
     {"destination"},
     PERIOD(MONTH),
     "2024-01",
     "2025-12",
     {{NULL, NULL}}},
    {"corridor x quarter, domestic work",
     {"corridor"},
     PERIOD(QUARTER),
     NULL,
     NULL,
     {{"sector", "domestic_work"}}},
    {"employer, in Malaysia", {"employer"}, PERIOD(NONE), NULL, NULL, {{"destination", "MY"}}},
    {"agency x origin, from ID or NP",
     {"agency", "origin"},
     PERIOD(NONE),
     NULL,
     NULL,
     {{"origin", "ID"}, {"origin", "NP"}}},
    {"status x year, MY construction since 2022",
     {"status"},
     PERIOD(YEAR),
     "2022-01",
     NULL,
     {{"destination", "MY"}, {"sector", "construction"}}},
    {"year (the trend)", {NULL}, PERIOD(YEAR), NULL, NULL, {{NULL, NULL}}},
};

/* How the raw query computes each dimension: the same values the report's keys carry
 * ("" where nothing is recorded, corridor as "KH>TH", organisations by acronym). */
static const struct dimension {
	const char *name;
	const char *sql;
} dimensions[] = {
    {"corridor", "w.worker_nationality || '>' || w.country_of_work"},
    {"origin", "w.worker_nationality::text"},
    {"destination", "w.country_of_work::text"},
    {"sector", "w.sector"},
    {"employer", "w.employer"},
    {"agency", "coalesce(w.recruitment_agency, '')"},
    {"forum", "coalesce(w.forum, '')"},
    {"status", "c.status"},
    {"organisation", "o.acronym"},
};

/* --- small helpers ------------------------------------------------------------------- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(CLIENT_NAME ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* A growing string; on allocation failure the program exits (a benchmark has no better
 * answer). */
struct text {
	char *s;
	size_t len, cap;
};

static void text_addf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_addf(struct text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = t->cap - t->len;
		int n = vsnprintf(t->s == NULL ? NULL : t->s + t->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			say("formatting failed");
			exit(EXIT_FAILED);
		}
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap == 0 ? 256 : t->cap;
		while (cap - t->len <= (size_t)n)
			cap *= 2;
		char *s = realloc(t->s, cap);
		if (s == NULL) {
			say("out of memory");
			exit(EXIT_FAILED);
		}
		t->s = s;
		t->cap = cap;
	}
}

static void text_free(struct text *t)
{
	free(t->s);
	*t = (struct text){0};
}

/* The q-quantile (0 < q <= 1) of n samples by the nearest-rank method; sorts them. */
static double percentile(double *samples, size_t n, double q)
{
	bench_sort(samples, n);
	return bench_percentile(samples, n, q);
}

static size_t n_group_by(const struct bench_query *q)
{
	size_t n = 0;
	while (n < MAX_GROUP_BY && q->group_by[n] != NULL)
		n++;
	return n;
}

static size_t n_filters(const struct bench_query *q)
{
	size_t n = 0;
	while (n < MAX_FILTERS && q->filters[n].dimension != NULL)
		n++;
	return n;
}

static const char *dimension_sql(const char *name)
{
	for (size_t i = 0; i < N_ELEMS(dimensions); i++) {
		if (strcmp(dimensions[i].name, name) == 0)
			return dimensions[i].sql;
	}
	return NULL;
}

/* The SQL of a period of claims (the month their work ended), formatted like
 * ReportCell.period; NULL for no period. */
static const char *period_sql(Tulay__V1__ReportPeriod p)
{
	switch (p) {
	case PERIOD(MONTH):
		return "to_char(w.work_ended_on, 'YYYY-MM')";
	case PERIOD(QUARTER):
		return "to_char(w.work_ended_on, 'YYYY-\"Q\"Q')";
	case PERIOD(YEAR):
		return "to_char(w.work_ended_on, 'YYYY')";
	default:
		return NULL;
	}
}

/* --- options ------------------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: report_bench --server HOST:PORT --username U --db CONNINFO --network A\n"
	    "                    [--iterations N] [--raw-iterations N] [--target-ms MS]\n"
	    "                    [--timeout-ms MS] [--raw-only]\n"
	    "\n"
	    "Times GetReport (claims, %zu groupings) as coordinator U of network A against\n"
	    "tulayd at HOST:PORT (plaintext, this computer only), and the same aggregation\n"
	    "computed from the raw tables through libpq with CONNINFO (the database owner or\n"
	    "the superuser: row-level security must not hide other organisations' rows). The\n"
	    "password is read from TULAY_BENCH_PASSWORD, else from the first line of standard\n"
	    "input. Normally run by bench/report_bench.sh.\n"
	    "\n"
	    "  --iterations N      timed GetReports per grouping, after one warm-up (default 30)\n"
	    "  --raw-iterations N  timed raw queries per grouping, after one warm-up (default:\n"
	    "                      --iterations, at most 10)\n"
	    "  --target-ms MS      the report p95 to meet over the whole mix (default 50);\n"
	    "                      missing it is reported, not an error\n"
	    "  --timeout-ms MS     the longest wait for any answer (default 60000)\n"
	    "  --raw-only          time the raw queries only (no tulayd needed)\n"
	    "\n"
	    "Exit status: 0 when every report was answered and agrees with the raw tables; 1\n"
	    "for an error answer, a failed connection or a report that disagrees; 2 for bad\n"
	    "options.\n",
	    N_ELEMS(bench_queries));
}

static bool parse_unsigned(const char *text, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_SERVER = 256,
		OPT_USERNAME,
		OPT_DB,
		OPT_NETWORK,
		OPT_ITERATIONS,
		OPT_RAW_ITERATIONS,
		OPT_TARGET,
		OPT_TIMEOUT,
		OPT_RAW_ONLY,
		OPT_HELP,
	};
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, OPT_SERVER},
	    {"username", required_argument, NULL, OPT_USERNAME},
	    {"db", required_argument, NULL, OPT_DB},
	    {"network", required_argument, NULL, OPT_NETWORK},
	    {"iterations", required_argument, NULL, OPT_ITERATIONS},
	    {"raw-iterations", required_argument, NULL, OPT_RAW_ITERATIONS},
	    {"target-ms", required_argument, NULL, OPT_TARGET},
	    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
	    {"raw-only", no_argument, NULL, OPT_RAW_ONLY},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	*o = (struct options){.iterations = 30, .target_ms = 50, .timeout_ms = 60000};
	bool raw_iterations_given = false;
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SERVER:
			o->server = optarg;
			break;
		case OPT_USERNAME:
			o->username = optarg;
			break;
		case OPT_DB:
			o->db = optarg;
			break;
		case OPT_NETWORK:
			o->network = optarg;
			break;
		case OPT_ITERATIONS:
		case OPT_RAW_ITERATIONS:
			if (!parse_unsigned(optarg, 1, 100000,
					    c == OPT_ITERATIONS ? &o->iterations
								: &o->raw_iterations)) {
				say("%s: give a number from 1 to 100000",
				    c == OPT_ITERATIONS ? "--iterations" : "--raw-iterations");
				return EXIT_USAGE_ERR;
			}
			raw_iterations_given |= c == OPT_RAW_ITERATIONS;
			break;
		case OPT_TARGET:
		case OPT_TIMEOUT:
			if (!parse_unsigned(optarg, 1, 3600000,
					    c == OPT_TARGET ? &o->target_ms : &o->timeout_ms)) {
				say("%s: give milliseconds from 1 to 3600000",
				    c == OPT_TARGET ? "--target-ms" : "--timeout-ms");
				return EXIT_USAGE_ERR;
			}
			break;
		case OPT_RAW_ONLY:
			o->raw_only = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(EXIT_OK);
		default:
			usage(stderr);
			return EXIT_USAGE_ERR;
		}
	}
	if (optind < argc) {
		say("unexpected argument '%s' (see --help)", argv[optind]);
		return EXIT_USAGE_ERR;
	}
	if (!raw_iterations_given)
		o->raw_iterations = o->iterations < 10 ? o->iterations : 10;
	if (o->db == NULL || o->network == NULL ||
	    (!o->raw_only && (o->server == NULL || o->username == NULL))) {
		say("--db and --network are required, and --server and --username unless "
		    "--raw-only (see --help)");
		return EXIT_USAGE_ERR;
	}
	return EXIT_OK;
}

/* --- the raw side -------------------------------------------------------------------- */

/* One cell's number of cases, keyed by its period and keys joined with '\x1f'. */
struct raw_cell {
	char *key;
	uint64_t cases;
};

/* A raw query's answer, cells merged over currencies and sorted by key. */
struct raw_result {
	struct raw_cell *cells;
	size_t n_cells;
	uint64_t total_cases;
};

static void raw_result_free(struct raw_result *r)
{
	for (size_t i = 0; i < r->n_cells; i++)
		free(r->cells[i].key);
	free(r->cells);
	*r = (struct raw_result){0};
}

static int compare_raw_cell(const void *a, const void *b)
{
	return strcmp(((const struct raw_cell *)a)->key, ((const struct raw_cell *)b)->key);
}

/* A cell's key: its period ("" without one), then each key after a '\x1f'. */
static void cell_key_add(struct text *key, const char *part, bool first)
{
	text_addf(key, "%s%s", first ? "" : "\x1f", part);
}

/* The raw query of `q` and its parameters ($1: the network's org_id, then filter values
 * and month bounds); values point into `q` or `org_id`, which must outlive them. */
struct raw_query {
	struct text sql;
	const char *values[1 + MAX_FILTERS + 2];
	int n_values;
	size_t n_dims; /* leading columns that key a cell: the period (if any), then keys */
	char from_date[16], to_date[16];
};

static bool build_raw_query(const struct bench_query *q, const char *org_id, struct raw_query *rq)
{
	*rq = (struct raw_query){0};
	size_t ng = n_group_by(q), nf = n_filters(q);
	const char *psql = period_sql(q->period);
	bool need_org = false;
	struct text *s = &rq->sql;
	rq->values[rq->n_values++] = org_id;

	text_addf(s, "SELECT ");
	if (psql != NULL) {
		text_addf(s, "%s, ", psql);
		rq->n_dims++;
	}
	for (size_t i = 0; i < ng; i++) {
		const char *d = dimension_sql(q->group_by[i]);
		if (d == NULL) {
			say("%s: unknown dimension %s", q->title, q->group_by[i]);
			return false;
		}
		need_org |= strcmp(q->group_by[i], "organisation") == 0;
		text_addf(s, "%s, ", d);
		rq->n_dims++;
	}
	/* Money per currency, as a report without a reporting currency has it (awarded and
	 * recovered amounts are summed under the claimed amount's currency: the seed never
	 * records them in another). */
	text_addf(s,
		  "w.amount_claimed_currency, count(*), sum(w.workers), "
		  "sum(w.amount_claimed_minor), sum(w.amount_awarded_minor), "
		  "sum(w.amount_recovered_minor)\n"
		  "  FROM cases c\n"
		  "  JOIN wage_theft_claims w ON w.org_id = c.org_id AND w.case_id = c.case_id\n");
	for (size_t i = 0; i < nf; i++)
		need_org |= strcmp(q->filters[i].dimension, "organisation") == 0;
	if (need_org)
		text_addf(s, "  JOIN organisations o ON o.org_id = c.org_id\n");
	text_addf(
	    s, " WHERE c.kind = 'wage_theft' AND c.org_id IN (SELECT report_scope($1::bigint))\n");
	if (q->from_month != NULL) {
		snprintf(rq->from_date, sizeof(rq->from_date), "%s-01", q->from_month);
		rq->values[rq->n_values++] = rq->from_date;
		text_addf(s, "   AND w.work_ended_on >= $%d::date\n", rq->n_values);
	}
	if (q->to_month != NULL) {
		snprintf(rq->to_date, sizeof(rq->to_date), "%s-01", q->to_month);
		rq->values[rq->n_values++] = rq->to_date;
		text_addf(s, "   AND w.work_ended_on < $%d::date + interval '1 month'\n",
			  rq->n_values);
	}
	/* Filters on one dimension combine with OR, on different dimensions with AND. */
	for (size_t i = 0; i < nf; i++) {
		bool first_of_dimension = true;
		for (size_t j = 0; j < i; j++)
			first_of_dimension &=
			    strcmp(q->filters[j].dimension, q->filters[i].dimension) != 0;
		if (!first_of_dimension)
			continue;
		const char *d = dimension_sql(q->filters[i].dimension);
		if (d == NULL) {
			say("%s: unknown filter dimension %s", q->title, q->filters[i].dimension);
			return false;
		}
		text_addf(s, "   AND (");
		for (size_t j = i; j < nf; j++) {
			if (strcmp(q->filters[j].dimension, q->filters[i].dimension) != 0)
				continue;
			rq->values[rq->n_values++] = q->filters[j].value;
			text_addf(s, "%s%s = $%d", j == i ? "" : " OR ", d, rq->n_values);
		}
		text_addf(s, ")\n");
	}
	text_addf(s, " GROUP BY ");
	for (size_t i = 0; i <= rq->n_dims; i++)
		text_addf(s, "%s%zu", i == 0 ? "" : ", ", i + 1);
	text_addf(s, "\n ORDER BY ");
	for (size_t i = 0; i <= rq->n_dims; i++)
		text_addf(s, "%s%zu", i == 0 ? "" : ", ", i + 1);
	return true;
}

/* Runs the raw query once. On success returns true and, when `out` is not NULL, fills it
 * (the caller frees it with raw_result_free). */
static bool run_raw_query(PGconn *pg, const struct bench_query *q, const struct raw_query *rq,
			  struct raw_result *out)
{
	PGresult *res = PQexecParams(pg, rq->sql.s, rq->n_values, NULL, rq->values, NULL, NULL, 0);
	bool ok = false;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		say("%s: the raw query failed: %s", q->title, PQresultErrorMessage(res));
		goto out;
	}
	ok = true;
	if (out == NULL)
		goto out;
	*out = (struct raw_result){0};
	int rows = PQntuples(res);
	out->cells = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*out->cells));
	if (out->cells == NULL) {
		say("out of memory");
		ok = false;
		goto out;
	}
	int cases_col = (int)rq->n_dims + 1;
	for (int r = 0; r < rows; r++) {
		struct text key = {0};
		int c = 0;
		cell_key_add(&key, period_sql(q->period) != NULL ? PQgetvalue(res, r, c++) : "",
			     true);
		for (; c < (int)rq->n_dims; c++)
			cell_key_add(&key, PQgetvalue(res, r, c), false);
		uint64_t cases = strtoull(PQgetvalue(res, r, cases_col), NULL, 10);
		out->total_cases += cases;
		/* Rows of one cell in several currencies are adjacent (ORDER BY). */
		if (out->n_cells > 0 && strcmp(out->cells[out->n_cells - 1].key, key.s) == 0) {
			out->cells[out->n_cells - 1].cases += cases;
			text_free(&key);
		} else {
			out->cells[out->n_cells++] =
			    (struct raw_cell){.key = key.s, .cases = cases};
		}
	}
	qsort(out->cells, out->n_cells, sizeof(*out->cells), compare_raw_cell);
out:
	PQclear(res);
	return ok;
}

/* --- the report side ----------------------------------------------------------------- */

/* The GetReport of `q`; its storage lives in `gr` and `filters`. */
static void build_get_report(const struct bench_query *q, const char *network,
			     Tulay__V1__GetReport *gr, Tulay__V1__ReportFilter filters[MAX_FILTERS],
			     Tulay__V1__ReportFilter *filter_ptrs[MAX_FILTERS])
{
	tulay__v1__get_report__init(gr);
	gr->kind = TULAY__V1__REPORT_KIND__REPORT_KIND_CLAIMS;
	gr->n_group_by = n_group_by(q);
	gr->group_by = (char **)q->group_by;
	gr->period = q->period;
	gr->from_month = (char *)(q->from_month != NULL ? q->from_month : "");
	gr->to_month = (char *)(q->to_month != NULL ? q->to_month : "");
	gr->n_filters = n_filters(q);
	for (size_t i = 0; i < gr->n_filters; i++) {
		tulay__v1__report_filter__init(&filters[i]);
		filters[i].dimension = (char *)q->filters[i].dimension;
		filters[i].value = (char *)q->filters[i].value;
		filter_ptrs[i] = &filters[i];
	}
	gr->filters = gr->n_filters > 0 ? filter_ptrs : NULL;
	gr->network = (char *)network;
}

/* Sends GetReport and waits for its answer. Returns the Response (the caller frees it)
 * when it is OK with a Report; otherwise says why and returns NULL. */
static Tulay__V1__Response *get_report(struct tulay_client *client, const struct bench_query *q,
				       Tulay__V1__GetReport *gr)
{
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_REPORT;
	req.get_report = gr;
	Tulay__V1__Response *resp = NULL;
	int err = tulay_call(client, &req, &resp);
	if (err != 0) {
		say("%s: GetReport failed: %s (%s)", q->title, tulay_strerror(err),
		    tulay_last_error(client));
		return NULL;
	}
	const Tulay__V1__Status *st = resp->status;
	if (st == NULL || st->code != TULAY__V1__CODE__OK) {
		say("%s: GetReport answered %s: %s", q->title,
		    tulay_code_name(st != NULL ? st->code : TULAY__V1__CODE__OK),
		    st != NULL && st->message != NULL ? st->message : "(no status)");
		for (size_t i = 0; st != NULL && i < st->n_field_errors; i++)
			say("  %s: %s", st->field_errors[i]->field, st->field_errors[i]->problem);
		tulay_response_free(resp);
		return NULL;
	}
	if (resp->body_case != TULAY__V1__RESPONSE__BODY_REPORT || resp->report == NULL) {
		say("%s: GetReport answered OK without a Report", q->title);
		tulay_response_free(resp);
		return NULL;
	}
	return resp;
}

/* Compares a report with the raw result: the total number of cases, unless suppressed,
 * and every cell that is not suppressed. Returns the number of cells checked, or -1
 * after saying what differs. */
static long check_report(const struct bench_query *q, const Tulay__V1__Report *report,
			 const struct raw_result *raw)
{
	long checked = 0, wrong = 0;
	const Tulay__V1__ReportCell *total = report->total;
	if (total == NULL || total->cases == NULL) {
		say("%s: the report has no total", q->title);
		return -1;
	}
	if (!total->cases->suppressed && total->cases->value != raw->total_cases) {
		say("%s: the report's total is %" PRIu64 " cases, the raw tables have %" PRIu64,
		    q->title, total->cases->value, raw->total_cases);
		wrong++;
	}
	size_t ng = n_group_by(q);
	for (size_t i = 0; i < report->n_cells; i++) {
		const Tulay__V1__ReportCell *cell = report->cells[i];
		if (cell->n_keys != ng) {
			say("%s: a cell has %zu keys for %zu dimensions", q->title, cell->n_keys,
			    ng);
			return -1;
		}
		if (cell->cases == NULL || cell->cases->suppressed)
			continue;
		struct text key = {0};
		cell_key_add(&key, cell->period != NULL ? cell->period : "", true);
		for (size_t k = 0; k < ng; k++)
			cell_key_add(&key, cell->keys[k], false);
		struct raw_cell probe = {.key = key.s};
		const struct raw_cell *found = bsearch(&probe, raw->cells, raw->n_cells,
						       sizeof(*raw->cells), compare_raw_cell);
		uint64_t expected = found != NULL ? found->cases : 0;
		if (cell->cases->value != expected) {
			if (wrong < MAX_SHOWN_MISMATCH) {
				/* Shown as "2026-Q1|KH>TH", or "KH>TH" without a period. */
				for (char *p = key.s; *p != '\0'; p++)
					*p = *p == '\x1f' ? '|' : *p;
				const char *shown = key.s[0] == '|' ? key.s + 1 : key.s;
				say("%s: cell %s has %" PRIu64 " cases, the raw tables %" PRIu64,
				    q->title, shown[0] != '\0' ? shown : "(the only one)",
				    cell->cases->value, expected);
			}
			wrong++;
		}
		checked++;
		text_free(&key);
	}
	if (wrong > 0) {
		say("%s: %ld numbers differ from the raw tables", q->title, wrong);
		return -1;
	}
	return checked;
}

/* --- the run ------------------------------------------------------------------------- */

struct bench_row {
	char rollup[96];
	size_t report_cells;
	double report_p50, report_p95;
	size_t raw_cells;
	double raw_p50, raw_p95;
	long checked;
};

static struct tulay_client *log_in(const struct options *o)
{
	char password[PASSWORD_CAP];
	if (!bench_read_password("report_bench", password, sizeof(password)))
		return NULL;
	struct tulay_client *client = NULL;
	int err = tulay_connect(o->server, (int)o->timeout_ms, CLIENT_NAME, &client);
	if (err != 0) {
		say("cannot connect to %s: %s", o->server, tulay_last_error(NULL));
		return NULL;
	}
	Tulay__V1__Response *resp = NULL;
	err = tulay_login(client, o->username, password, &resp);
	explicit_bzero(password, sizeof(password));
	if (err != 0) {
		say("login failed: %s (%s)", tulay_strerror(err), tulay_last_error(client));
		tulay_close(client);
		return NULL;
	}
	if (resp->status == NULL || resp->status->code != TULAY__V1__CODE__OK) {
		say("login as %s failed: %s", o->username,
		    resp->status != NULL ? resp->status->message : "no status");
		tulay_response_free(resp);
		tulay_close(client);
		return NULL;
	}
	tulay_response_free(resp);
	return client;
}

static bool network_org_id(PGconn *pg, const char *acronym, char *out, size_t cap)
{
	const char *values[1] = {acronym};
	PGresult *res = PQexecParams(pg, "SELECT org_id FROM organisations WHERE acronym = $1", 1,
				     NULL, values, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (ok)
		snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
	else if (PQresultStatus(res) == PGRES_TUPLES_OK)
		say("no organisation %s in the database", acronym);
	else
		say("looking up %s failed: %s", acronym, PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* Times one grouping on both sides and checks the report. Appends the latencies to the
 * mix's pools. */
static bool bench_one(const struct options *o, struct tulay_client *client, PGconn *pg,
		      const char *org_id, const struct bench_query *q, struct bench_row *row,
		      double *report_pool, size_t *n_report_pool, double *raw_pool,
		      size_t *n_raw_pool)
{
	bool ok = false;
	struct raw_query rq;
	struct raw_result raw = {0};
	Tulay__V1__Response *first = NULL;
	double *samples =
	    calloc(o->iterations > o->raw_iterations ? o->iterations : o->raw_iterations,
		   sizeof(*samples));
	*row = (struct bench_row){.rollup = "-", .checked = -1};
	if (samples == NULL || !build_raw_query(q, org_id, &rq)) {
		if (samples == NULL)
			say("out of memory");
		free(samples);
		return false;
	}

	if (!o->raw_only) {
		Tulay__V1__GetReport gr;
		Tulay__V1__ReportFilter filters[MAX_FILTERS];
		Tulay__V1__ReportFilter *filter_ptrs[MAX_FILTERS];
		build_get_report(q, o->network, &gr, filters, filter_ptrs);
		first = get_report(client, q, &gr); /* the warm-up, kept for the check */
		if (first == NULL)
			goto out;
		for (unsigned i = 0; i < o->iterations; i++) {
			double t0 = bench_now_ms();
			Tulay__V1__Response *resp = get_report(client, q, &gr);
			double t1 = bench_now_ms();
			if (resp == NULL)
				goto out;
			tulay_response_free(resp);
			samples[i] = t1 - t0;
			report_pool[(*n_report_pool)++] = t1 - t0;
		}
		if (first->report->rollup != NULL && first->report->rollup[0] != '\0')
			snprintf(row->rollup, sizeof(row->rollup), "%s", first->report->rollup);
		row->report_cells = first->report->n_cells;
		row->report_p50 = percentile(samples, o->iterations, 0.50);
		row->report_p95 = percentile(samples, o->iterations, 0.95);
	}

	if (!run_raw_query(pg, q, &rq, &raw)) /* the warm-up, kept for the check */
		goto out;
	for (unsigned i = 0; i < o->raw_iterations; i++) {
		double t0 = bench_now_ms();
		bool done = run_raw_query(pg, q, &rq, NULL);
		double t1 = bench_now_ms();
		if (!done)
			goto out;
		samples[i] = t1 - t0;
		raw_pool[(*n_raw_pool)++] = t1 - t0;
	}
	row->raw_cells = raw.n_cells;
	row->raw_p50 = percentile(samples, o->raw_iterations, 0.50);
	row->raw_p95 = percentile(samples, o->raw_iterations, 0.95);

	if (!o->raw_only) {
		row->checked = check_report(q, first->report, &raw);
		if (row->checked < 0)
			goto out;
	}
	ok = true;
out:
	if (first != NULL)
		tulay_response_free(first);
	raw_result_free(&raw);
	text_free(&rq.sql);
	free(samples);
	return ok;
}

static void print_header(void)
{
	printf("%-42s %-58s %7s %8s %8s | %9s %8s %8s\n", "grouping", "rollup", "cells", "p50 ms",
	       "p95 ms", "raw cells", "p50 ms", "p95 ms");
}

static void print_row(const struct options *o, const struct bench_query *q,
		      const struct bench_row *r)
{
	if (o->raw_only)
		printf("%-42s %-58s %7s %8s %8s | %9zu %8.1f %8.1f\n", q->title, "-", "-", "-", "-",
		       r->raw_cells, r->raw_p50, r->raw_p95);
	else
		printf("%-42s %-58s %7zu %8.1f %8.1f | %9zu %8.1f %8.1f\n", q->title, r->rollup,
		       r->report_cells, r->report_p50, r->report_p95, r->raw_cells, r->raw_p50,
		       r->raw_p95);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct options o;
	int rc = parse_options(argc, argv, &o);
	if (rc != EXIT_OK)
		return rc;

	rc = EXIT_FAILED;
	size_t nq = N_ELEMS(bench_queries);
	struct tulay_client *client = NULL;
	double *report_pool = calloc(nq * o.iterations + 1, sizeof(double));
	double *raw_pool = calloc(nq * o.raw_iterations + 1, sizeof(double));
	size_t n_report_pool = 0, n_raw_pool = 0;
	long checked = 0;
	char org_id[32];
	PGconn *pg = PQconnectdb(o.db);
	if (report_pool == NULL || raw_pool == NULL) {
		say("out of memory");
		goto out;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		say("cannot connect to PostgreSQL: %s", PQerrorMessage(pg));
		goto out;
	}
	if (!network_org_id(pg, o.network, org_id, sizeof(org_id)))
		goto out;
	if (!o.raw_only && (client = log_in(&o)) == NULL)
		goto out;

	printf("Claims reports of %s: %zu groupings; per grouping 1 warm-up, then %u timed "
	       "GetReports and %u timed raw queries\n\n",
	       o.network, nq, o.raw_only ? 0 : o.iterations, o.raw_iterations);
	print_header();
	for (size_t i = 0; i < nq; i++) {
		struct bench_row row;
		if (!bench_one(&o, client, pg, org_id, &bench_queries[i], &row, report_pool,
			       &n_report_pool, raw_pool, &n_raw_pool))
			goto out;
		print_row(&o, &bench_queries[i], &row);
		if (row.checked > 0)
			checked += row.checked;
	}

	double raw_p50 = percentile(raw_pool, n_raw_pool, 0.50);
	double raw_p95 = percentile(raw_pool, n_raw_pool, 0.95);
	char overall[64];
	if (o.raw_only) {
		snprintf(overall, sizeof(overall), "overall (%zu raw queries)", n_raw_pool);
		printf("%-42s %-58s %7s %8s %8s | %9s %8.1f %8.1f\n", overall, "", "", "-", "-", "",
		       raw_p50, raw_p95);
		printf("\nraw only: no reports were requested\n");
	} else {
		double p50 = percentile(report_pool, n_report_pool, 0.50);
		double p95 = percentile(report_pool, n_report_pool, 0.95);
		snprintf(overall, sizeof(overall), "overall (%zu reports, %zu raw)", n_report_pool,
			 n_raw_pool);
		printf("%-42s %-58s %7s %8.1f %8.1f | %9s %8.1f %8.1f\n", overall, "", "", p50, p95,
		       "", raw_p50, raw_p95);
		printf("\nreport p95 over the mix: %.1f ms, target %u ms: %s; p50 %.0fx faster "
		       "than the raw tables\n",
		       p95, o.target_ms, p95 < (double)o.target_ms ? "met" : "MISSED",
		       p50 > 0 ? raw_p50 / p50 : 0.0);
		printf("correctness: every report's total (unless suppressed) and %ld unsuppressed "
		       "cells equal the raw tables'\n",
		       checked);
	}
	rc = EXIT_OK;
out:
	if (client != NULL)
		tulay_close(client);
	PQfinish(pg);
	free(report_pool);
	free(raw_pool);
	return rc;
}
