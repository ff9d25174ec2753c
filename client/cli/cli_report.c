#include "cli_report.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "cli_args.h"
#include "cli_output.h"
#include "cli_report_render.h"
#include "cli_rpc.h"
#include "cli_vocab.h"
#include "iso.h"
#include "money.h"

/* The options of a kind besides its filters, the end of the table included. */
#define REPORT_OTHER_OPTIONS 9
/* --by's words for the periods have the value of their ReportPeriod plus this, and the
 * dimensions their index: the two never meet. */
#define REPORT_BY_PERIOD 100

/* --- the kinds of report --------------------------------------------------------------- */

#define BY_PERIOD_WORDS                                                                            \
	{REPORT_BY_PERIOD + TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_MONTH, "month"},               \
	    {REPORT_BY_PERIOD + TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_QUARTER, "quarter"},       \
	{                                                                                          \
		REPORT_BY_PERIOD + TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_YEAR, "year"            \
	}

/* The words of --by: each dimension (sent with '_' for '-') and each period. */
static const struct vocab_word claim_by_words[] = {
    {0, "corridor"}, {1, "origin"}, {2, "destination"}, {3, "sector"},       {4, "employer"},
    {5, "agency"},   {6, "forum"},  {7, "status"},      {8, "organisation"}, BY_PERIOD_WORDS,
};
static const struct vocab_word deportation_by_words[] = {
    {0, "from"},        {1, "to"},           {2, "ground"},   {3, "stage"},
    {4, "nationality"}, {5, "organisation"}, BY_PERIOD_WORDS,
};
static const struct vocab_word recommendation_by_words[] = {
    {0, "status"},       {1, "target-body"},  {2, "theme"},
    {3, "addressed-to"}, {4, "organisation"}, BY_PERIOD_WORDS,
};

static const struct vocab claim_by = VOCAB_WORDS("dimension of claims", claim_by_words);
static const struct vocab deportation_by =
    VOCAB_WORDS("dimension of deportations", deportation_by_words);
static const struct vocab recommendation_by =
    VOCAB_WORDS("dimension of recommendations", recommendation_by_words);

/* The dimensions a case may lack, for --not-recorded: a claim's agency and forum, a
 * deportation's destination and ground, a recommendation's target body. */
static const struct vocab_word claim_optional_words[] = {{0, "agency"}, {1, "forum"}};
static const struct vocab_word deportation_optional_words[] = {{0, "to"}, {1, "ground"}};
static const struct vocab_word recommendation_optional_words[] = {{0, "target-body"}};
static const struct vocab claim_optional =
    VOCAB_WORDS("dimension claims may lack", claim_optional_words);
static const struct vocab deportation_optional =
    VOCAB_WORDS("dimension deportations may lack", deportation_optional_words);
static const struct vocab recommendation_optional =
    VOCAB_WORDS("dimension recommendations may lack", recommendation_optional_words);

/* A filter option: each value it is given becomes a ReportFilter on `dimension`. */
struct report_filter {
	const char *flag;          /* "--from-country" */
	const char *dimension;     /* "from": the protocol's name */
	enum args_type each;       /* how a value is checked: ARGS_COUNTRY, ARGS_CHOICE, ... */
	const struct vocab *words; /* ARGS_CHOICE: the words, sent as codes ('_' for '-') */
	const char *metavar;
	const char *help;
};

#define ORG_FILTER(what)                                                                           \
	{                                                                                          \
		"--org", "organisation", ARGS_ACRONYM, NULL, "ACRONYM",                            \
		    "only " what " of this organisation (one of those reported)"                   \
	}

static const struct report_filter claim_filters[] = {
    {"--origin", "origin", ARGS_COUNTRY, NULL, "CC",
     "only claims of workers from this country (e.g. KH)"},
    {"--destination", "destination", ARGS_COUNTRY, NULL, "CC",
     "only claims for work in this country (e.g. TH)"},
    {"--sector", "sector", ARGS_CHOICE, &vocab_sectors, "SECTOR", "only claims in this sector"},
    {"--employer", "employer", ARGS_TEXT, NULL, "NAME",
     "only claims against this employer, named as the report names it"},
    {"--agency", "agency", ARGS_TEXT, NULL, "NAME",
     "only claims with this recruitment agency, named as the report names it"},
    {"--forum", "forum", ARGS_CHOICE, &vocab_claim_forums, "FORUM",
     "only claims pursued in this forum"},
    {"--status", "status", ARGS_CHOICE, &vocab_claim_statuses, "STATUS",
     "only claims with this status now"},
    ORG_FILTER("claims"),
};

static const struct report_filter deportation_filters[] = {
    {"--from-country", "from", ARGS_COUNTRY, NULL, "CC",
     "only people deported (or held) in this country (e.g. MY)"},
    {"--to-country", "to", ARGS_COUNTRY, NULL, "CC",
     "only people deported to this country (e.g. ID)"},
    {"--ground", "ground", ARGS_CHOICE, &vocab_deportation_grounds, "GROUND",
     "only cases whose first ground recorded is this"},
    {"--stage", "stage", ARGS_CHOICE, &vocab_deportation_statuses, "STAGE",
     "only cases at this stage now"},
    {"--nationality", "nationality", ARGS_COUNTRY, NULL, "CC",
     "only people of this nationality (e.g. ID)"},
    ORG_FILTER("cases"),
};

static const struct report_filter recommendation_filters[] = {
    {"--status", "status", ARGS_CHOICE, &vocab_recommendation_statuses, "STATUS",
     "only recommendations with this status now"},
    {"--target-body", "target_body", ARGS_TEXT, NULL, "TEXT",
     "only recommendations to this body, named as the report names it"},
    {"--theme", "theme", ARGS_CHOICE, &vocab_recommendation_themes, "THEME",
     "only recommendations on this theme"},
    {"--addressed-to", "addressed_to", ARGS_CHOICE, &vocab_addressed_to, "WHO",
     "only recommendations addressed to these"},
    ORG_FILTER("recommendations"),
};

/* --- help ------------------------------------------------------------------------------ */

#define REPORT_FILTER_NOTES                                                                        \
	"Filters keep the cases with the value given. Given again, a filter keeps\n"               \
	"either value (--status filed --status paid); different filters must all\n"                \
	"match. --not-recorded DIMENSION keeps the cases that lack it (given with a\n"             \
	"filter on the same dimension: either). At most 16 values in all. --from and\n"            \
	"--to take a month (2026-01), or the first (--from) or last (--to) day of\n"               \
	"one: reports count by month. A report has at most 10000 rows (a cell per\n"               \
	"currency): group by less, or filter, for more.\n"

#define REPORT_SUPPRESSION_NOTES                                                                   \
	"Suppression: nothing in a report may identify a person. The server suppresses\n"          \
	"cells that count fewer than K cases (K is the server's, at least 5: the\n"                \
	"footer says which), sums of money fewer than K claims make or where one\n"                \
	"claim is more than 85% of the total, and more cells where needed so that a\n"             \
	"hidden one cannot be worked out from the total or from the others. A\n"                   \
	"suppressed value is never shown as 0: tables show \"suppressed\" (CSV: an\n"              \
	"empty value, named in the suppressed column).\n"                                          \
	"\n"                                                                                       \
	"Perturbation: every figure shown is moved a little, by an amount fixed by the\n"          \
	"cases it counts (the footer gives the bounds: counts by at most 3, amounts by\n"          \
	"at most 20% of the largest claim in them). The same question always gets the\n"           \
	"same answer, and subtracting two reports gives noise, not one person's case.\n"           \
	"Cells need not add up to the total exactly.\n"

/* The table, CSV and JSON of the reports that only count (deportations, recommendations). */
#define REPORT_COUNT_NOTES                                                                         \
	"Table: PERIOD (with month, quarter or year), a column per dimension and\n"                \
	"CASES; the last line is the TOTAL; the organisations included, K and the\n"               \
	"rollup follow. (not recorded) is a value not recorded. --chart draws a bar\n"             \
	"per cell instead.\n"                                                                      \
	"\n"                                                                                       \
	"CSV: a header row, then a row per cell, the total last, with the columns row\n"           \
	"(cell or total), period, one per dimension, cases and suppressed (\"cases\"\n"            \
	"when it is suppressed, and then empty).\n"                                                \
	"\n" REPORT_JSON_NOTES

#define REPORT_JSON_NOTES                                                                          \
	"JSON: one object like the protocol's Report: kind, network, organisations,\n"             \
	"group_by, period, min_cell, currency, rates, rollup, from_standby and\n"                  \
	"staleness_ms (a standby's data may lag the primary's by that much),\n"                    \
	"perturbation (its bounds, or null for exact figures), cells and total. A cell\n"          \
	"has period, keys (one per group_by, null when not recorded) and cases; a count\n"         \
	"is {\"value\": 12, \"suppressed\": false} or {\"value\": null, \"suppressed\": true}."

static const struct report_kind claim_kind = {
    .name = "report claims",
    .noun = "claims",
    .title = "Wage-theft claims",
    .kind = TULAY__V1__REPORT_KIND__REPORT_KIND_CLAIMS,
    .by = &claim_by,
    .filters = claim_filters,
    .n_filters = sizeof(claim_filters) / sizeof(claim_filters[0]),
    .optional = &claim_optional,
    .money = true,
    .description = "Counts the wage-theft claims of a network's organisations (or of your own),\n"
		   "grouped by the dimensions of --by and by month, quarter or year: cases,\n"
		   "workers, and the amounts claimed, awarded and recovered in each currency or,\n"
		   "with --currency, converted into one. Small numbers are suppressed (below).",
    .notes = "A claim counts in the month its work ended (when the wages went unpaid); a\n"
	     "date known only to the month or year counts in that month, or in January.\n"
	     "--by corridor groups by origin and destination together (KH → TH); --corridor\n"
	     "KH-TH is short for --origin KH --destination TH.\n\n" REPORT_FILTER_NOTES
	     "\n" REPORT_SUPPRESSION_NOTES "\n"
	     "Table: PERIOD (with month, quarter or year), a column per dimension, CASES,\n"
	     "WORKERS, then CUR, CLAIMED, AWARDED, RECOVERED and RECOVERY (recovered /\n"
	     "claimed). A cell with amounts in several currencies takes a line per currency,\n"
	     "its period, keys and counts on the first. With --currency, one line per cell,\n"
	     "the currency in the headings. The last line is the TOTAL; the organisations\n"
	     "included, K, the rates used and the rollup follow. (not recorded) is a value\n"
	     "not recorded; - a measure no claim has (nothing awarded yet). --chart draws\n"
	     "a bar per cell instead: its cases or, with --currency, the amount claimed.\n"
	     "\n"
	     "CSV: a header row, then a row per cell and currency, the total last, with the\n"
	     "columns row (cell or total), period, one per dimension (corridor as KH>TH),\n"
	     "cases, workers, currency, claimed, awarded, recovered, recovery_rate_percent\n"
	     "and suppressed: the names of the values suppressed in the row, space-separated.\n"
	     "Suppressed and absent values are empty. Cases and workers repeat on each\n"
	     "currency's row of a cell: do not add them up across currencies.\n"
	     "\n" REPORT_JSON_NOTES "\n"
	     "A cell of claims adds workers and money: one entry per currency with currency,\n"
	     "claimed, awarded, recovered (each {\"amount\": \"450.00\", \"minor_units\": 45000,\n"
	     "\"suppressed\": false}, amount and minor_units null when suppressed, the whole\n"
	     "null when no claim has it) and recovery_rate_bp (a count, in basis points).",
    .example = "  tulay report claims --by corridor,quarter --from 2026-01-01 --network MFA\n"
	       "  tulay report claims --by sector --currency USD\n"
	       "  tulay report claims --by status,year --corridor KH-TH --chart\n"
	       "  tulay report claims --by origin,month --sector domestic-work --format csv",
};

static const struct report_kind deportation_kind = {
    .name = "report deportations",
    .noun = "deportations",
    .title = "Deportations",
    .kind = TULAY__V1__REPORT_KIND__REPORT_KIND_DEPORTATIONS,
    .by = &deportation_by,
    .filters = deportation_filters,
    .n_filters = sizeof(deportation_filters) / sizeof(deportation_filters[0]),
    .optional = &deportation_optional,
    .description = "Counts the deportation cases of a network's organisations (or of your own),\n"
		   "grouped by the dimensions of --by and by month, quarter or year. Small\n"
		   "numbers are suppressed (below).",
    .notes =
	"A case counts in the month of the first stage known (arrest, detention,\n"
	"deportation or release), else the month it was opened; a date known only to\n"
	"the month or year counts in that month, or in January. ground is the first\n"
	"ground recorded; stage the case's stage now (arrested, detained, released or\n"
	"deported).\n\n" REPORT_FILTER_NOTES "\n" REPORT_SUPPRESSION_NOTES "\n" REPORT_COUNT_NOTES,
    .example = "  tulay report deportations --by from,to,year\n"
	       "  tulay report deportations --by ground,quarter --from 2026-01 --to 2026-06\n"
	       "  tulay report deportations --by nationality --from-country MY --chart",
};

static const struct report_kind recommendation_kind = {
    .name = "report recommendations",
    .noun = "recommendations",
    .title = "Policy recommendations",
    .kind = TULAY__V1__REPORT_KIND__REPORT_KIND_RECOMMENDATIONS,
    .by = &recommendation_by,
    .filters = recommendation_filters,
    .n_filters = sizeof(recommendation_filters) / sizeof(recommendation_filters[0]),
    .optional = &recommendation_optional,
    .description = "Counts the policy recommendations of a network's organisations (or of your\n"
		   "own), grouped by the dimensions of --by and by month, quarter or year. Small\n"
		   "numbers are suppressed (below).",
    .notes = "A recommendation counts in the month of its source document's date.\n\n"
	     "" REPORT_FILTER_NOTES "\n" REPORT_SUPPRESSION_NOTES "\n" REPORT_COUNT_NOTES,
    .example = "  tulay report recommendations --by status,theme\n"
	       "  tulay report recommendations --by addressed-to,year --theme wage-protection",
};

/* --- the request ----------------------------------------------------------------------- */

/* Copies the CLI's word ("target-body", "domestic-work") as the protocol's code
 * ("target_body", "domestic_work") into code[REPORT_CODE_BYTES]. */
static void word_code(const char *word, char code[REPORT_CODE_BYTES])
{
	size_t i = 0;
	for (; word[i] != '\0' && i + 1 < REPORT_CODE_BYTES; i++)
		code[i] = word[i] == '-' ? '_' : word[i];
	code[i] = '\0';
}

/* The dimensions of --by for `kind`, as "corridor, origin, ..." for messages. */
static void dimension_names(const struct vocab *by, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < by->n && len < cap; i++) {
		if (by->words[i].value >= REPORT_BY_PERIOD)
			continue;
		int n =
		    snprintf(buf + len, cap - len, "%s%s", len > 0 ? ", " : "", by->words[i].word);
		len += n > 0 ? (size_t)n : 0;
	}
}

/* Reads --from (first) or --to: YYYY-MM, or a day that begins (--from) or ends (--to) a
 * month. Stores "YYYY-MM" in month and the month's number since year 0 in *index and
 * returns true; else reports the problem and returns false. */
static bool parse_month(struct cli *cli, const char *flag, const char *text, bool first,
			char month[REPORT_MONTH_BYTES], int *index)
{
	struct civil_approx span, whole;
	if (!civil_approx_parse(text, &span) || span.precision == CIVIL_PRECISION_YEAR) {
		cli_problem(cli, flag,
			    "'%s' is not a month: write YYYY-MM, such as 2026-01, or the %s day "
			    "of a month, such as %s",
			    text, first ? "first" : "last", first ? "2026-01-01" : "2026-01-31");
		return false;
	}
	snprintf(month, REPORT_MONTH_BYTES, "%04d-%02d", span.first.year, span.first.month);
	if (span.precision == CIVIL_PRECISION_DAY && civil_approx_parse(month, &whole)) {
		const struct civil_date *edge = first ? &whole.first : &whole.last;
		if (civil_date_cmp(&span.first, edge) != 0) {
			cli_problem(
			    cli, flag,
			    "'%s': reports count cases by month: %s must be the %s day of a "
			    "month, such as %04d-%02d-%02d",
			    text, flag, first ? "first" : "last", edge->year, edge->month,
			    edge->day);
			return false;
		}
	}
	*index = span.first.year * 12 + span.first.month - 1;
	return true;
}

/* The values given to the filter on `dimension`, or NULL when the kind has none. */
static const struct args_list *filter_values(const struct report_query *q, const char *dimension)
{
	for (size_t i = 0; i < q->kind->n_filters; i++) {
		if (strcmp(q->kind->filters[i].dimension, dimension) == 0)
			return &q->filters[i];
	}
	return NULL;
}

/* Reads --corridor ORIGIN-DESTINATION ("KH-TH"; "kh>th" too) into the query. */
static void check_corridor(struct cli *cli, struct report_query *q)
{
	const char *text = q->corridor;
	if (text == NULL)
		return;
	char origin[3] = {0}, destination[3] = {0};
	bool shape = strlen(text) == 5 && (text[2] == '-' || text[2] == '>');
	for (size_t i = 0; shape && i < 2; i++) {
		origin[i] =
		    (char)(text[i] >= 'a' && text[i] <= 'z' ? text[i] - 'a' + 'A' : text[i]);
		destination[i] =
		    (char)(text[i + 3] >= 'a' && text[i + 3] <= 'z' ? text[i + 3] - 'a' + 'A'
								    : text[i + 3]);
	}
	if (!shape) {
		cli_problem(cli, "--corridor",
			    "'%s' is not a corridor: write the countries of origin and destination "
			    "as ISO 3166-1 alpha-2 codes with '-' between, such as KH-TH",
			    text);
		return;
	}
	if (iso_country_find(origin) == NULL || iso_country_find(destination) == NULL) {
		cli_problem(cli, "--corridor",
			    "'%s': %s is not a country code: use ISO 3166-1 alpha-2, such as KH-TH",
			    text, iso_country_find(origin) == NULL ? origin : destination);
		return;
	}
	const struct args_list *o = filter_values(q, "origin"),
			       *d = filter_values(q, "destination");
	if ((o != NULL && o->n > 0) || (d != NULL && d->n > 0))
		cli_problem(cli, "--corridor",
			    "cannot go with --origin or --destination: it sets both (give those "
			    "two instead to combine several countries)");
	memcpy(q->corridor_origin, origin, sizeof(origin));
	memcpy(q->corridor_destination, destination, sizeof(destination));
}

static void report_check(struct cli *cli, void *ctx)
{
	struct report_query *q = ctx;
	const struct report_kind *k = q->kind;
	size_t periods = 0, dimensions = 0;
	for (size_t i = 0; i < q->by.n; i++) {
		int v = q->by.values[i];
		if (v >= REPORT_BY_PERIOD) {
			periods++;
			q->period = (Tulay__V1__ReportPeriod)(v - REPORT_BY_PERIOD);
		} else if (dimensions++ < REPORT_DIMENSIONS_MAX) {
			word_code(vocab_word(k->by, v), q->dimensions[q->n_dimensions++]);
		}
	}
	if (periods > 1)
		cli_problem(cli, "--by",
			    "names %zu periods: give at most one of month, quarter and year",
			    periods);
	if (dimensions > REPORT_DIMENSIONS_MAX) {
		char names[256];
		dimension_names(k->by, names, sizeof(names));
		cli_problem(cli, "--by",
			    "names %zu dimensions: at most %d (besides month, quarter or year) "
			    "of %s",
			    dimensions, REPORT_DIMENSIONS_MAX, names);
	}

	int from = 0, to = 0;
	bool from_ok =
	    q->from != NULL && parse_month(cli, "--from", q->from, true, q->from_month, &from);
	bool to_ok = q->to != NULL && parse_month(cli, "--to", q->to, false, q->to_month, &to);
	if (from_ok && to_ok && to < from)
		cli_problem(cli, "--to", "%s is before --from %s: no case can count", q->to_month,
			    q->from_month);

	check_corridor(cli, q);
	size_t values = (q->corridor_origin[0] != '\0' ? 2 : 0) + q->not_recorded.n;
	for (size_t i = 0; i < k->n_filters; i++)
		values += q->filters[i].n;
	if (values > REPORT_FILTERS_MAX)
		cli_problem(cli, "filters",
			    "%zu values in all (a --corridor counts 2): at most %d, please", values,
			    REPORT_FILTERS_MAX);
	if (q->chart && cli->format != OUTPUT_TABLE)
		cli_problem(cli, "--chart", "draws for people: it cannot go with --format %s",
			    vocab_word(&vocab_formats, cli->format));
}

/* The filters of the request: every value of every filter option, and the corridor. */
struct report_filters {
	Tulay__V1__ReportFilter items[REPORT_FILTERS_MAX];
	Tulay__V1__ReportFilter *pointers[REPORT_FILTERS_MAX];
	char codes[REPORT_FILTERS_MAX][REPORT_CODE_BYTES]; /* codes, and dimensions lacking */
	size_t n;
};

static void add_filter(struct report_filters *f, const char *dimension, const char *value)
{
	assert(f->n < REPORT_FILTERS_MAX); /* report_check counted them */
	Tulay__V1__ReportFilter *item = &f->items[f->n];
	*item = (Tulay__V1__ReportFilter)TULAY__V1__REPORT_FILTER__INIT;
	item->dimension = (char *)dimension;
	item->value = (char *)value;
	f->pointers[f->n++] = item;
}

static void build_filters(const struct report_query *q, struct report_filters *f)
{
	for (size_t i = 0; i < q->kind->n_filters; i++) {
		const struct report_filter *rf = &q->kind->filters[i];
		const struct args_list *list = &q->filters[i];
		for (size_t j = 0; j < list->n; j++) {
			if (rf->each != ARGS_CHOICE) {
				add_filter(f, rf->dimension, list->texts[j]);
				continue;
			}
			word_code(vocab_word(rf->words, list->values[j]), f->codes[f->n]);
			add_filter(f, rf->dimension, f->codes[f->n]);
		}
	}
	for (size_t j = 0; j < q->not_recorded.n; j++) {
		/* "" is the protocol's value for "not recorded". */
		word_code(vocab_word(q->kind->optional, q->not_recorded.values[j]), f->codes[f->n]);
		add_filter(f, f->codes[f->n], "");
	}
	if (q->corridor_origin[0] != '\0') {
		add_filter(f, "origin", q->corridor_origin);
		add_filter(f, "destination", q->corridor_destination);
	}
}

/* --- the commands ---------------------------------------------------------------------- */

static int report_run(struct cli *cli, const struct report_kind *k, int argc, char **argv)
{
	struct report_query q = {.kind = k};
	struct args_option options[REPORT_OTHER_OPTIONS + REPORT_FILTER_OPTIONS_MAX];
	size_t n = 0;
	assert(k->n_filters <= REPORT_FILTER_OPTIONS_MAX);
	options[n++] = (struct args_option)ARGS_OPT(
	    "--by", ARGS_CHOICES, &q.by, "LIST",
	    "group by these, comma-separated: at most 4 dimensions, and one of month, "
	    "quarter or year",
	    .choices = k->by);
	options[n++] = (struct args_option)ARGS_OPT(
	    "--from", ARGS_TEXT, &q.from, "YYYY-MM",
	    "count from this month on (or give its first day, YYYY-MM-01)");
	options[n++] =
	    (struct args_option)ARGS_OPT("--to", ARGS_TEXT, &q.to, "YYYY-MM",
					 "count up to this month, included (or give its last day)");
	for (size_t i = 0; i < k->n_filters; i++) {
		const struct report_filter *f = &k->filters[i];
		options[n++] = (struct args_option){
		    .name = f->flag,
		    .type = ARGS_REPEATED,
		    .each = f->each,
		    .target = &q.filters[i],
		    .metavar = f->metavar,
		    .help = f->help,
		    .choices = f->words,
		};
	}
	options[n++] = (struct args_option)ARGS_OPT("--not-recorded", ARGS_REPEATED,
						    &q.not_recorded, "DIMENSION",
						    "only cases that lack this: repeat for several",
						    .each = ARGS_CHOICE, .choices = k->optional);
	if (k->money)
		options[n++] = (struct args_option)ARGS_OPT(
		    "--corridor", ARGS_TEXT, &q.corridor, "CC-CC",
		    "only claims of this corridor, origin-destination (e.g. KH-TH)");
	options[n++] = (struct args_option)ARGS_OPT(
	    "--network", ARGS_ACRONYM, &q.network, "ACRONYM",
	    "report on this network: its member organisations that share their "
	    "numbers (default: your own organisation)");
	if (k->money)
		options[n++] = (struct args_option)ARGS_OPT(
		    "--currency", ARGS_CURRENCY, &q.currency, "CODE",
		    "convert every amount into this currency, ISO 4217 (e.g. USD), at "
		    "the rates of tulay rate list");
	options[n++] = (struct args_option)ARGS_OPT("--chart", ARGS_FLAG, &q.chart, NULL,
						    "draw a bar chart instead of the table");
	options[n++] = (struct args_option){0};
	assert(n <= sizeof(options) / sizeof(options[0]));
	const struct args_command cmd = {
	    .name = k->name,
	    .description = k->description,
	    .options = options,
	    .notes = k->notes,
	    .example = k->example,
	    .check = report_check,
	    .check_ctx = &q,
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	char *group_by[REPORT_DIMENSIONS_MAX];
	for (size_t i = 0; i < q.n_dimensions; i++)
		group_by[i] = q.dimensions[i];
	struct report_filters filters = {0};
	build_filters(&q, &filters);
	Tulay__V1__GetReport get = TULAY__V1__GET_REPORT__INIT;
	get.kind = k->kind;
	get.n_group_by = q.n_dimensions;
	get.group_by = group_by;
	get.period = q.period;
	get.from_month = q.from_month;
	get.to_month = q.to_month;
	get.n_filters = filters.n;
	get.filters = filters.pointers;
	get.network = (char *)(q.network != NULL ? q.network : "");
	get.currency = (char *)(q.currency != NULL ? q.currency : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_REPORT;
	req.get_report = &get;

	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY_REPORT, NULL, NULL, &resp);
	if (rc == CLI_EXIT_OK)
		rc = report_show(cli, &q, resp->report);
	tulay_response_free(resp);
	return rc;
}

int report_claims(struct cli *cli, int argc, char **argv)
{
	return report_run(cli, &claim_kind, argc, argv);
}

int report_deportations(struct cli *cli, int argc, char **argv)
{
	return report_run(cli, &deportation_kind, argc, argv);
}

int report_recommendations(struct cli *cli, int argc, char **argv)
{
	return report_run(cli, &recommendation_kind, argc, argv);
}
