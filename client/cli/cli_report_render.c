#include "cli_report_render.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli_output.h"
#include "money.h"
#include "utf8.h"

/* Room for a count, an amount or a percentage as text. */
#define REPORT_VALUE_BYTES 48
/* The chart fits a terminal this wide; its labels take at most CHART_LABEL_MAX columns
 * and its bars at least CHART_BAR_MIN. */
#define CHART_WIDTH     80
#define CHART_LABEL_MAX 32
#define CHART_BAR_MIN   10

/* How the value of a dimension reads. */
enum report_style {
	STYLE_AS_IS,    /* countries, names, acronyms: as the server sends them */
	STYLE_WORD,     /* a protocol code ("domestic_work"), shown as the CLI's word */
	STYLE_CORRIDOR, /* "KH>TH": "KH → TH" in tables and charts */
};

static const struct {
	const char *dimension;
	enum report_style style;
} dimension_styles[] = {
    {"corridor", STYLE_CORRIDOR}, {"sector", STYLE_WORD},       {"forum", STYLE_WORD},
    {"status", STYLE_WORD},       {"ground", STYLE_WORD},       {"stage", STYLE_WORD},
    {"theme", STYLE_WORD},        {"addressed_to", STYLE_WORD},
};

/* --- values as text -------------------------------------------------------------------- */

/* Sub-messages the server left out read as their defaults, as in any proto3 message. */
static const Tulay__V1__ReportCount no_count = TULAY__V1__REPORT_COUNT__INIT;
static const Tulay__V1__ReportAmount no_amount = TULAY__V1__REPORT_AMOUNT__INIT;

static const Tulay__V1__ReportCount *count_of(const Tulay__V1__ReportCount *c)
{
	return c != NULL ? c : &no_count;
}

static const Tulay__V1__ReportAmount *amount_of(const Tulay__V1__ReportAmount *a)
{
	return a != NULL ? a : &no_amount;
}

static enum report_style dimension_style(const char *dimension)
{
	for (size_t i = 0; i < sizeof(dimension_styles) / sizeof(dimension_styles[0]); i++) {
		if (strcmp(dimension_styles[i].dimension, dimension) == 0)
			return dimension_styles[i].style;
	}
	return STYLE_AS_IS;
}

/* The key of a cell on `dimension` as people read it: words with '-' ("domestic-work")
 * and, for tables (`table`), corridors with an arrow ("KH → TH") and "(not recorded)"
 * for an empty key. Returns `key` itself or buf, which it may use. */
static const char *key_text(const char *dimension, const char *key, bool table, char *buf,
			    size_t cap)
{
	if (key[0] == '\0')
		return table ? "(not recorded)" : "";
	size_t len = strlen(key);
	const char *arrow = strchr(key, '>');
	switch (dimension_style(dimension)) {
	case STYLE_WORD:
		if (len >= cap)
			return key;
		for (size_t i = 0; i <= len; i++)
			buf[i] = key[i] == '_' ? '-' : key[i];
		return buf;
	case STYLE_CORRIDOR:
		if (!table || arrow == NULL || len + sizeof(" → ") > cap)
			return key;
		snprintf(buf, cap, "%.*s → %s", (int)(arrow - key), key, arrow + 1);
		return buf;
	case STYLE_AS_IS:
		break;
	}
	return key;
}

/* The key of a cell's i-th dimension (a server may send fewer keys than dimensions). */
static const char *cell_key(const Tulay__V1__ReportCell *cell, size_t i)
{
	return i < cell->n_keys ? cell->keys[i] : "";
}

/* A count for a table: the number, or "suppressed". Not "<K": a cell hidden so that
 * another cannot be recovered from the total may count K or more. */
static const char *count_text(const Tulay__V1__ReportCount *c, char *buf, size_t cap)
{
	c = count_of(c);
	if (c->suppressed)
		snprintf(buf, cap, "suppressed");
	else
		snprintf(buf, cap, "%llu", (unsigned long long)c->value);
	return buf;
}

/* An amount in `currency` as a decimal ("45000.00"), or as minor units for a currency
 * this client does not know. */
static const char *amount_decimal(int64_t minor, const char *currency, char *buf, size_t cap)
{
	if (money_format(minor, currency, buf, cap) < 0)
		snprintf(buf, cap, "%lld (minor units)", (long long)minor);
	return buf;
}

/* An amount for a table: "-" when no claim has it (`present` false), "suppressed", or
 * the decimal amount. */
static const char *amount_text(const Tulay__V1__ReportAmount *a, bool present, const char *currency,
			       char *buf, size_t cap)
{
	a = amount_of(a);
	if (a->suppressed)
		return "suppressed";
	if (!present)
		return "-";
	return amount_decimal(a->minor, currency, buf, cap);
}

/* Recovered / claimed for a table: basis points as a percentage with one decimal
 * ("23.5%"), "suppressed", or "-" without recoveries or claims. */
static const char *recovery_text(const Tulay__V1__ReportMoney *m, char *buf, size_t cap)
{
	const Tulay__V1__ReportCount *rate = count_of(m->recovery_rate_bp);
	if (rate->suppressed)
		return "suppressed";
	if (!m->has_recovered || amount_of(m->claimed)->minor == 0)
		return "-";
	unsigned long long tenths = (rate->value + 5) / 10;
	snprintf(buf, cap, "%llu.%llu%%", tenths / 10, tenths % 10);
	return buf;
}

/* --- table ----------------------------------------------------------------------------- */

/* The keys of the columns of the label: the period, and one per dimension. */
static const char *const key_columns[REPORT_DIMENSIONS_MAX] = {"key1", "key2", "key3", "key4"};

/* Whether the table needs a CUR column: amounts in more than the reporting currency. */
static bool needs_currency_column(const Tulay__V1__Report *r)
{
	if (r->currency[0] == '\0')
		return true;
	for (size_t i = 0; i <= r->n_cells; i++) {
		const Tulay__V1__ReportCell *cell = i < r->n_cells ? r->cells[i] : r->total;
		for (size_t m = 0; cell != NULL && m < cell->n_money; m++) {
			if (strcmp(cell->money[m]->currency, r->currency) != 0)
				return true;
		}
	}
	return false;
}

/* Whether the table has a PERIOD column: with a period, and to hold the total's label
 * when there is no other column before the counts. */
static bool has_period_column(const Tulay__V1__Report *r)
{
	return r->period != TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_NONE || r->n_group_by == 0;
}

/* Adds the rows of one cell to a table: one per currency of claims (at least one), the
 * period, keys and counts on the first only. `label` replaces the period and keys (the
 * total's "TOTAL"), or is NULL. */
static void add_table_rows(struct output_list *list, const struct report_query *q,
			   const Tulay__V1__Report *r, const Tulay__V1__ReportCell *cell,
			   const char *label)
{
	char buf[REPORT_VALUE_BYTES], key_buf[REPORT_VALUE_BYTES];
	size_t rows = q->kind->money && cell->n_money > 1 ? cell->n_money : 1;
	for (size_t row = 0; row < rows; row++) {
		struct output_record *rec = output_record_new();
		bool first = row == 0;
		if (rec == NULL) {
			output_list_add(list, NULL);
			return;
		}
		/* The label goes in the first column: the period's, else the first key's. */
		bool period_column = has_period_column(r);
		const char *period = label != NULL ? label : cell->period;
		if (period_column)
			output_add_human(rec, "period", NULL, "%s", first ? period : "");
		for (size_t i = 0; i < r->n_group_by; i++) {
			const char *key = key_text(r->group_by[i], cell_key(cell, i), true, key_buf,
						   sizeof(key_buf));
			if (label != NULL)
				key = i == 0 && !period_column ? label : "";
			output_add_human(rec, key_columns[i], NULL, "%s", first ? key : "");
		}
		output_add_human(rec, "cases", NULL, "%s",
				 first ? count_text(cell->cases, buf, sizeof(buf)) : "");
		if (!q->kind->money) {
			output_list_add(list, rec);
			continue;
		}
		output_add_human(rec, "workers", NULL, "%s",
				 first ? count_text(cell->workers, buf, sizeof(buf)) : "");
		const Tulay__V1__ReportMoney *m = row < cell->n_money ? cell->money[row] : NULL;
		if (m == NULL) {
			output_add_human(rec, "currency", NULL, "%s", "");
			output_add_human(rec, "claimed", NULL, "%s", "-");
			output_add_human(rec, "awarded", NULL, "%s", "-");
			output_add_human(rec, "recovered", NULL, "%s", "-");
			output_add_human(rec, "recovery", NULL, "%s", "-");
			output_list_add(list, rec);
			continue;
		}
		output_add_human(rec, "currency", NULL, "%s", m->currency);
		output_add_human(rec, "claimed", NULL, "%s",
				 amount_text(m->claimed, true, m->currency, buf, sizeof(buf)));
		output_add_human(
		    rec, "awarded", NULL, "%s",
		    amount_text(m->awarded, m->has_awarded, m->currency, buf, sizeof(buf)));
		output_add_human(
		    rec, "recovered", NULL, "%s",
		    amount_text(m->recovered, m->has_recovered, m->currency, buf, sizeof(buf)));
		output_add_human(rec, "recovery", NULL, "%s", recovery_text(m, buf, sizeof(buf)));
		output_list_add(list, rec);
	}
}

/* Room for the headings the table makes up: a dimension's, "CLAIMED (USD)". */
#define HEADING_BYTES 48

static int print_table(const struct report_query *q, const Tulay__V1__Report *r)
{
	struct output_column columns[1 + REPORT_DIMENSIONS_MAX + 7];
	char headings[REPORT_DIMENSIONS_MAX + 3][HEADING_BYTES];
	size_t n = 0;
	if (has_period_column(r))
		columns[n++] = (struct output_column){
		    "period",
		    r->period != TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_NONE ? "PERIOD" : "",
		    false};
	for (size_t i = 0; i < r->n_group_by; i++) {
		size_t len = 0;
		for (const char *p = r->group_by[i]; *p != '\0' && len + 1 < HEADING_BYTES; p++)
			headings[i][len++] =
			    *p == '_' ? ' ' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		headings[i][len] = '\0';
		columns[n++] = (struct output_column){key_columns[i], headings[i], false};
	}
	columns[n++] = (struct output_column){"cases", "CASES", true};
	if (q->kind->money) {
		bool currency_column = needs_currency_column(r);
		const char *suffix = currency_column ? "" : r->currency;
		char *claimed = headings[REPORT_DIMENSIONS_MAX];
		char *awarded = headings[REPORT_DIMENSIONS_MAX + 1];
		char *recovered = headings[REPORT_DIMENSIONS_MAX + 2];
		snprintf(claimed, HEADING_BYTES, "CLAIMED%s%.3s%s", suffix[0] ? " (" : "", suffix,
			 suffix[0] ? ")" : "");
		snprintf(awarded, HEADING_BYTES, "AWARDED%s%.3s%s", suffix[0] ? " (" : "", suffix,
			 suffix[0] ? ")" : "");
		snprintf(recovered, HEADING_BYTES, "RECOVERED%s%.3s%s", suffix[0] ? " (" : "",
			 suffix, suffix[0] ? ")" : "");
		columns[n++] = (struct output_column){"workers", "WORKERS", true};
		if (currency_column)
			columns[n++] = (struct output_column){"currency", "CUR", false};
		columns[n++] = (struct output_column){"claimed", claimed, true};
		columns[n++] = (struct output_column){"awarded", awarded, true};
		columns[n++] = (struct output_column){"recovered", recovered, true};
		columns[n++] = (struct output_column){"recovery", "RECOVERY", true};
	}
	assert(n <= sizeof(columns) / sizeof(columns[0]));

	struct output_list list = {0};
	for (size_t i = 0; i < r->n_cells; i++)
		add_table_rows(&list, q, r, r->cells[i], NULL);
	if (r->total != NULL)
		add_table_rows(&list, q, r, r->total, "TOTAL");
	const struct output_list_spec spec = {
	    .columns = columns,
	    .n_columns = n,
	    .empty = "The report has no cells.",
	};
	int rc = output_print_list(OUTPUT_TABLE, &list, &spec, stdout);
	output_list_clear(&list);
	return rc;
}

/* --- chart ----------------------------------------------------------------------------- */

/* One line of the chart. */
struct chart_line {
	char *label;                         /* period and keys, a new string */
	char number[REPORT_VALUE_BYTES + 8]; /* the value after the bar */
	double value;                        /* the measure, for the bar's length */
	const char *instead;                 /* printed instead of bar and number, or NULL */
	char instead_buf[REPORT_VALUE_BYTES];
};

static void put_spaces(size_t n, FILE *out)
{
	while (n-- > 0)
		fputc(' ', out);
}

/* Writes `s` in `width` terminal columns: cut with "…" when longer, padded when shorter;
 * control characters, which would let a server's string drive the terminal, become '?'. */
static void put_fitted(const char *s, size_t width, FILE *out)
{
	if (width == 0)
		return;
	size_t used;
	size_t len = utf8_fit(s, utf8_width(s) <= width ? width : width - 1, &used);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, out);
	}
	if (s[len] != '\0') {
		fputs("…", out);
		used++;
	}
	put_spaces(width - used, out);
}

/* Draws `value` of `max` as a bar of whole and eighth blocks, padded to `width`. Any
 * value above zero gets at least an eighth, so that it shows. */
static void put_bar(double value, double max, size_t width, FILE *out)
{
	static const char *const eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
	size_t units = max > 0 ? (size_t)(value / max * (double)(width * 8) + 0.5) : 0;
	if (units == 0 && value > 0)
		units = 1;
	if (units > width * 8)
		units = width * 8;
	for (size_t i = 0; i < units / 8; i++)
		fputs("█", out);
	fputs(eighths[units % 8], out);
	put_spaces(width - units / 8 - (units % 8 != 0), out);
}

/* The money of `cell` in the reporting currency (else its first), or NULL. */
static const Tulay__V1__ReportMoney *reporting_money(const Tulay__V1__Report *r,
						     const Tulay__V1__ReportCell *cell)
{
	for (size_t m = 0; m < cell->n_money; m++) {
		if (strcmp(cell->money[m]->currency, r->currency) == 0)
			return cell->money[m];
	}
	return cell->n_money > 0 ? cell->money[0] : NULL;
}

/* Fills `line` with the measure of `cell`: its cases, or with `by_amount` its amount
 * claimed. Returns false when memory runs out. */
static bool chart_line_fill(struct chart_line *line, const Tulay__V1__Report *r,
			    const Tulay__V1__ReportCell *cell, bool by_amount)
{
	char key_buf[REPORT_VALUE_BYTES];
	size_t len = strlen(cell->period) + 1;
	for (size_t i = 0; i < r->n_group_by; i++)
		len += 2 + strlen(key_text(r->group_by[i], cell_key(cell, i), true, key_buf,
					   sizeof(key_buf)));
	if ((line->label = malloc(len)) == NULL)
		return false;
	strcpy(line->label, cell->period);
	for (size_t i = 0; i < r->n_group_by; i++) {
		if (line->label[0] != '\0')
			strcat(line->label, "  ");
		strcat(line->label,
		       key_text(r->group_by[i], cell_key(cell, i), true, key_buf, sizeof(key_buf)));
	}

	const Tulay__V1__ReportCount *cases = count_of(cell->cases);
	const Tulay__V1__ReportMoney *m = by_amount ? reporting_money(r, cell) : NULL;
	const Tulay__V1__ReportAmount *claimed = m != NULL ? amount_of(m->claimed) : NULL;
	char amount[REPORT_VALUE_BYTES];
	if (!by_amount && cases->suppressed) {
		snprintf(line->instead_buf, sizeof(line->instead_buf),
			 "suppressed (fewer than %u cases)", r->min_cell);
		line->instead = r->min_cell > 0 ? line->instead_buf : "suppressed";
	} else if (!by_amount) {
		line->value = (double)cases->value;
		snprintf(line->number, sizeof(line->number), "%llu",
			 (unsigned long long)cases->value);
	} else if (claimed == NULL) {
		line->instead = "-";
	} else if (claimed->suppressed) {
		line->instead = "suppressed";
	} else {
		line->value = (double)claimed->minor;
		snprintf(line->number, sizeof(line->number), "%s %.3s",
			 amount_decimal(claimed->minor, m->currency, amount, sizeof(amount)),
			 m->currency);
	}
	return true;
}

static int print_chart(const Tulay__V1__Report *r)
{
	bool by_amount = r->currency[0] != '\0';
	size_t n = r->n_cells;
	struct chart_line *lines = calloc(n + 1, sizeof(*lines));
	int rc = -1;
	if (lines == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!chart_line_fill(&lines[i], r, r->cells[i], by_amount))
			goto out;
	}
	size_t label_width = strlen("TOTAL"), number_width = 0;
	double max = 0;
	for (size_t i = 0; i < n; i++) {
		size_t w = utf8_width(lines[i].label);
		label_width = w > label_width ? w : label_width;
		w = utf8_width(lines[i].number);
		number_width = w > number_width ? w : number_width;
		max = lines[i].instead == NULL && lines[i].value > max ? lines[i].value : max;
	}
	label_width = label_width < CHART_LABEL_MAX ? label_width : CHART_LABEL_MAX;
	size_t taken = label_width + 2 + 1 + number_width;
	size_t bar_width =
	    taken + CHART_BAR_MIN < CHART_WIDTH ? CHART_WIDTH - taken : CHART_BAR_MIN;

	if (n == 0)
		puts("The report has no cells.");
	for (size_t i = 0; i < n; i++) {
		put_fitted(lines[i].label, label_width, stdout);
		fputs("  ", stdout);
		if (lines[i].instead != NULL) {
			puts(lines[i].instead);
			continue;
		}
		put_bar(lines[i].value, max, bar_width, stdout);
		printf(" %s\n", lines[i].number);
	}
	if (r->total != NULL) {
		struct chart_line *total = &lines[n];
		if (!chart_line_fill(total, r, r->total, by_amount))
			goto out;
		put_fitted("TOTAL", label_width, stdout);
		fputs("  ", stdout);
		if (total->instead != NULL)
			puts(total->instead);
		else
			printf("%s%s\n", total->number, by_amount ? " claimed" : " cases");
	}
	rc = ferror(stdout) ? -1 : 0;
out:
	for (size_t i = 0; i <= n; i++)
		free(lines[i].label);
	free(lines);
	return rc;
}

/* --- what goes with the table ---------------------------------------------------------- */

/* A sentence under the table or chart, wrapped; the server's words in it are sanitized. */
static void print_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void print_note(const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	for (char *p = text; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	args_print_wrapped(stdout, 0, 2, text);
	free(text);
}

/* The organisations as "A, B, C", as a new string (NULL when memory runs out). */
static char *organisations_text(const Tulay__V1__Report *r)
{
	size_t len = 1;
	for (size_t i = 0; i < r->n_organisations; i++)
		len += strlen(r->organisations[i]) + 2;
	char *text = malloc(len);
	if (text == NULL)
		return NULL;
	text[0] = '\0';
	for (size_t i = 0; i < r->n_organisations; i++) {
		if (i > 0)
			strcat(text, ", ");
		strcat(text, r->organisations[i]);
	}
	return text;
}

/* The notes under the table or chart: who is counted, what is hidden, how amounts were
 * converted and which rollup answered. */
static int print_footer(const struct report_query *q, const Tulay__V1__Report *r)
{
	char *organisations = organisations_text(r);
	if (organisations == NULL)
		return -1;
	fputc('\n', stdout);
	print_note("Organisations included (%zu): %s", r->n_organisations,
		   r->n_organisations > 0 ? organisations : "none");
	free(organisations);
	char how[80] = "";
	if (!q->chart)
		snprintf(how, sizeof(how), ": \"suppressed\" hides a value, never a zero");
	if (r->min_cell > 0)
		print_note("Cells with fewer than %u cases are suppressed, and so are %scells that "
			   "would give a hidden one away%s.",
			   r->min_cell,
			   q->kind->money
			       ? "sums that fewer claims make or one claim dominates, and "
			       : "",
			   how);
	for (size_t i = 0; i < r->n_rates; i++) {
		const Tulay__V1__ExchangeRate *rate = r->rates[i];
		print_note("Rate used: 1 %s = %s %s from %s", rate->currency, rate->rate,
			   rate->reporting_currency, rate->valid_from);
	}
	const Tulay__V1__ReportPerturbation *p = r->perturbation;
	if (p != NULL && q->kind->money)
		print_note("Figures are perturbed so that reports cannot be differenced to find a "
			   "person: counts by at most %u (variance %s), amounts by at most %u%% of "
			   "the largest claim in them; the same query always gives the same "
			   "figures.",
			   p->count_max_change, p->count_variance, p->amount_max_percent);
	else if (p != NULL)
		print_note("Figures are perturbed so that reports cannot be differenced to find a "
			   "person: counts by at most %u (variance %s); the same query always "
			   "gives the same figures.",
			   p->count_max_change, p->count_variance);
	else
		print_note("Figures are exact: this server does not perturb them (a test "
			   "setting).");
	if (r->rollup[0] != '\0')
		print_note("Rollup: %s", r->rollup);
	if (r->from_standby && r->staleness_ms == 0)
		print_note("Read from a standby that had applied everything the primary sent it.");
	else if (r->from_standby)
		print_note(
		    "Read from a standby: its data may be up to %.1f s behind the primary's.",
		    (double)r->staleness_ms / 1000.0);
	return ferror(stdout) ? -1 : 0;
}

/* "Wage-theft claims in MFA by corridor, quarter, 2026-01 to 2026-06, in USD". */
static void print_heading(const struct cli *cli, const struct report_query *q,
			  const Tulay__V1__Report *r)
{
	char text[512];
	size_t len = 0;
#define APPEND(...)                                                                                \
	do {                                                                                       \
		int n_ = snprintf(text + len, sizeof(text) - len, __VA_ARGS__);                    \
		len += n_ > 0 && (size_t)n_ < sizeof(text) - len ? (size_t)n_ : 0;                 \
	} while (0)
	APPEND("%s", q->kind->title);
	if (r->network[0] != '\0')
		APPEND(" in %s", r->network);
	for (size_t i = 0; i < q->by.n; i++)
		APPEND("%s%s", i == 0 ? " by " : ", ", vocab_word(q->kind->by, q->by.values[i]));
	if (q->from_month[0] != '\0' && q->to_month[0] != '\0')
		APPEND(", %s to %s", q->from_month, q->to_month);
	else if (q->from_month[0] != '\0')
		APPEND(", from %s", q->from_month);
	else if (q->to_month[0] != '\0')
		APPEND(", to %s", q->to_month);
	if (r->currency[0] != '\0')
		APPEND(", amounts in %s", r->currency);
#undef APPEND
	output_heading(cli, "%s", text);
}

/* --- CSV ------------------------------------------------------------------------------- */

/* Appends `name` to the space-separated list of suppressed values when `suppressed`. */
static void note_suppressed(char *list, size_t cap, bool suppressed, const char *name)
{
	size_t len = strlen(list);
	if (suppressed)
		snprintf(list + len, cap - len, "%s%s", len > 0 ? " " : "", name);
}

/* Adds the rows of one cell: one per currency of claims (at least one), each whole. */
static void add_csv_rows(struct output_list *list, const struct report_query *q,
			 const Tulay__V1__Report *r, const Tulay__V1__ReportCell *cell, bool total)
{
	char buf[REPORT_VALUE_BYTES], key_buf[REPORT_VALUE_BYTES], suppressed[128];
	const Tulay__V1__ReportCount *cases = count_of(cell->cases);
	const Tulay__V1__ReportCount *workers = count_of(cell->workers);
	size_t rows = q->kind->money && cell->n_money > 1 ? cell->n_money : 1;
	for (size_t row = 0; row < rows; row++) {
		struct output_record *rec = output_record_new();
		if (rec == NULL) {
			output_list_add(list, NULL);
			return;
		}
		suppressed[0] = '\0';
		output_add_text(rec, "row", NULL, total ? "total" : "cell");
		if (r->period != TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_NONE)
			output_add_text(rec, "period", NULL, cell->period);
		for (size_t i = 0; i < r->n_group_by; i++)
			output_add_text(rec, r->group_by[i], NULL,
					key_text(r->group_by[i], cell_key(cell, i), false, key_buf,
						 sizeof(key_buf)));
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)cases->value);
		output_add_text(rec, "cases", NULL, cases->suppressed ? "" : buf);
		note_suppressed(suppressed, sizeof(suppressed), cases->suppressed, "cases");
		if (!q->kind->money) {
			output_add_text(rec, "suppressed", NULL, suppressed);
			output_list_add(list, rec);
			continue;
		}
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)workers->value);
		output_add_text(rec, "workers", NULL, workers->suppressed ? "" : buf);
		note_suppressed(suppressed, sizeof(suppressed), workers->suppressed, "workers");

		const Tulay__V1__ReportMoney *m = row < cell->n_money ? cell->money[row] : NULL;
		const Tulay__V1__ReportAmount *claimed = amount_of(m != NULL ? m->claimed : NULL);
		const Tulay__V1__ReportAmount *awarded = amount_of(m != NULL ? m->awarded : NULL);
		const Tulay__V1__ReportAmount *recovered =
		    amount_of(m != NULL ? m->recovered : NULL);
		const Tulay__V1__ReportCount *rate =
		    count_of(m != NULL ? m->recovery_rate_bp : NULL);
		const char *currency = m != NULL ? m->currency : "";
		output_add_text(rec, "currency", NULL, currency);
		output_add_text(rec, "claimed", NULL,
				m == NULL || claimed->suppressed
				    ? ""
				    : amount_decimal(claimed->minor, currency, buf, sizeof(buf)));
		output_add_text(rec, "awarded", NULL,
				m == NULL || !m->has_awarded || awarded->suppressed
				    ? ""
				    : amount_decimal(awarded->minor, currency, buf, sizeof(buf)));
		output_add_text(rec, "recovered", NULL,
				m == NULL || !m->has_recovered || recovered->suppressed
				    ? ""
				    : amount_decimal(recovered->minor, currency, buf, sizeof(buf)));
		snprintf(buf, sizeof(buf), "%llu.%02llu", (unsigned long long)rate->value / 100,
			 (unsigned long long)rate->value % 100);
		output_add_text(rec, "recovery_rate_percent", NULL,
				m == NULL || !m->has_recovered || rate->suppressed ||
					claimed->minor == 0
				    ? ""
				    : buf);
		note_suppressed(suppressed, sizeof(suppressed), claimed->suppressed, "claimed");
		note_suppressed(suppressed, sizeof(suppressed), awarded->suppressed, "awarded");
		note_suppressed(suppressed, sizeof(suppressed), recovered->suppressed, "recovered");
		note_suppressed(suppressed, sizeof(suppressed), rate->suppressed, "recovery_rate");
		output_add_text(rec, "suppressed", NULL, suppressed);
		output_list_add(list, rec);
	}
}

static int print_csv(const struct report_query *q, const Tulay__V1__Report *r)
{
	struct output_list list = {0};
	for (size_t i = 0; i < r->n_cells; i++)
		add_csv_rows(&list, q, r, r->cells[i], false);
	if (r->total != NULL)
		add_csv_rows(&list, q, r, r->total, true);
	const struct output_list_spec spec = {.empty = ""};
	int rc = output_print_list(OUTPUT_CSV, &list, &spec, stdout);
	output_list_clear(&list);
	return rc;
}

/* --- JSON ------------------------------------------------------------------------------ */

/* Each builds a value and returns it, or NULL when memory runs out. */

static json_t *json_count(const Tulay__V1__ReportCount *c)
{
	c = count_of(c);
	return json_pack("{s:o,s:b}", "value",
			 c->suppressed ? json_null() : json_integer((json_int_t)c->value),
			 "suppressed", c->suppressed);
}

/* An amount: null when no claim has it (`present` false). */
static json_t *json_amount(const Tulay__V1__ReportAmount *a, bool present, const char *currency)
{
	char decimal[REPORT_VALUE_BYTES];
	a = amount_of(a);
	if (a->suppressed)
		return json_pack("{s:n,s:n,s:b}", "amount", "minor_units", "suppressed", 1);
	if (!present)
		return json_null();
	return json_pack("{s:o,s:I,s:b}", "amount",
			 money_format(a->minor, currency, decimal, sizeof(decimal)) >= 0
			     ? output_json_text(decimal)
			     : json_null(),
			 "minor_units", (json_int_t)a->minor, "suppressed", 0);
}

/* A string, or null when it is empty. */
static json_t *json_optional(const char *s)
{
	return s[0] == '\0' ? json_null() : output_json_text(s);
}

static json_t *json_money(const Tulay__V1__ReportMoney *m)
{
	bool rate = m->has_recovered || count_of(m->recovery_rate_bp)->suppressed;
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "currency", output_json_text(m->currency),
			 "claimed", json_amount(m->claimed, true, m->currency), "awarded",
			 json_amount(m->awarded, m->has_awarded, m->currency), "recovered",
			 json_amount(m->recovered, m->has_recovered, m->currency),
			 "recovery_rate_bp", rate ? json_count(m->recovery_rate_bp) : json_null());
}

static json_t *json_cell(const struct report_query *q, const Tulay__V1__Report *r,
			 const Tulay__V1__ReportCell *cell)
{
	char key_buf[REPORT_VALUE_BYTES];
	bool ok = true;
	json_t *keys = json_array();
	for (size_t i = 0; keys != NULL && i < cell->n_keys; i++) {
		const char *dimension = i < r->n_group_by ? r->group_by[i] : "";
		output_json_add(keys,
				json_optional(key_text(dimension, cell->keys[i], false, key_buf,
						       sizeof(key_buf))),
				&ok);
	}
	json_t *obj = json_object();
	if (obj == NULL || keys == NULL || !ok) {
		json_decref(keys);
		json_decref(obj);
		return NULL;
	}
	output_json_put(obj, "period", json_optional(cell->period), &ok);
	output_json_put(obj, "keys", keys, &ok);
	output_json_put(obj, "cases", json_count(cell->cases), &ok);
	if (q->kind->money) {
		json_t *money = json_array();
		for (size_t m = 0; money != NULL && m < cell->n_money; m++)
			output_json_add(money, json_money(cell->money[m]), &ok);
		output_json_put(obj, "workers", json_count(cell->workers), &ok);
		output_json_put(obj, "money", money, &ok);
	}
	if (!ok) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static json_t *json_rate(const Tulay__V1__ExchangeRate *rate)
{
	char when[32];
	return json_pack(
	    "{s:o,s:o,s:o,s:o,s:o,s:o}", "currency", output_json_text(rate->currency),
	    "reporting_currency", output_json_text(rate->reporting_currency), "rate",
	    output_json_text(rate->rate), "valid_from", output_json_text(rate->valid_from),
	    "set_by", output_json_text(rate->set_by), "set_at",
	    output_time(rate->set_at, true, when, sizeof(when)) ? output_json_text(when)
								: json_null());
}

/* The strings of a repeated field as an array. */
static json_t *json_texts(char **texts, size_t n)
{
	bool ok = true;
	json_t *array = json_array();
	for (size_t i = 0; array != NULL && i < n; i++)
		output_json_add(array, output_json_text(texts[i]), &ok);
	if (!ok) {
		json_decref(array);
		return NULL;
	}
	return array;
}

static const char *period_word(Tulay__V1__ReportPeriod period)
{
	switch (period) {
	case TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_MONTH:
		return "month";
	case TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_QUARTER:
		return "quarter";
	case TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_YEAR:
		return "year";
	default:
		return "";
	}
}

static json_t *json_report(const struct report_query *q, const Tulay__V1__Report *r)
{
	bool ok = true;
	json_t *obj = json_object();
	if (obj == NULL)
		return NULL;
	output_json_put(obj, "kind", output_json_text(q->kind->noun), &ok);
	output_json_put(obj, "network", output_json_text(r->network), &ok);
	output_json_put(obj, "organisations", json_texts(r->organisations, r->n_organisations),
			&ok);
	output_json_put(obj, "group_by", json_texts(r->group_by, r->n_group_by), &ok);
	output_json_put(obj, "period", json_optional(period_word(r->period)), &ok);
	output_json_put(obj, "min_cell", json_integer(r->min_cell), &ok);
	output_json_put(obj, "currency", json_optional(r->currency), &ok);
	json_t *rates = json_array();
	for (size_t i = 0; rates != NULL && i < r->n_rates; i++)
		output_json_add(rates, json_rate(r->rates[i]), &ok);
	output_json_put(obj, "rates", rates, &ok);
	output_json_put(obj, "rollup", json_optional(r->rollup), &ok);
	output_json_put(obj, "from_standby", json_boolean(r->from_standby), &ok);
	output_json_put(obj, "staleness_ms", json_integer((json_int_t)r->staleness_ms), &ok);
	const Tulay__V1__ReportPerturbation *p = r->perturbation;
	output_json_put(obj, "perturbation",
			p == NULL ? json_null()
				  : json_pack("{s:i,s:o,s:i}", "count_max_change",
					      (int)p->count_max_change, "count_variance",
					      output_json_text(p->count_variance),
					      "amount_max_percent", (int)p->amount_max_percent),
			&ok);
	json_t *cells = json_array();
	for (size_t i = 0; cells != NULL && i < r->n_cells; i++)
		output_json_add(cells, json_cell(q, r, r->cells[i]), &ok);
	output_json_put(obj, "cells", cells, &ok);
	output_json_put(obj, "total", r->total != NULL ? json_cell(q, r, r->total) : json_null(),
			&ok);
	if (!ok) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static int print_json(const struct report_query *q, const Tulay__V1__Report *r, FILE *out)
{
	json_t *report = json_report(q, r);
	if (report == NULL)
		return -1;
	int rc = output_json_print(report, out);
	json_decref(report);
	return rc;
}

/* --- the report as a whole ---------------------------------------------------------- */

int report_show(const struct cli *cli, const struct report_query *q, const Tulay__V1__Report *r)
{
	if (r->n_group_by > REPORT_DIMENSIONS_MAX) {
		cli_error(cli,
			  "the server sent a report of %zu dimensions: at most %d were asked for",
			  r->n_group_by, REPORT_DIMENSIONS_MAX);
		return CLI_EXIT_UNREACHABLE;
	}
	int rc;
	switch (cli->format) {
	case OUTPUT_JSON:
		rc = print_json(q, r, stdout);
		break;
	case OUTPUT_CSV:
		rc = print_csv(q, r);
		break;
	default:
		print_heading(cli, q, r);
		rc = q->chart ? print_chart(r) : print_table(q, r);
		if (rc == 0)
			rc = print_footer(q, r);
		break;
	}
	if (rc == 0)
		return CLI_EXIT_OK;
	cli_error(cli, "cannot print the report: %s",
		  ferror(stdout) ? "standard output is not writable" : "out of memory");
	return CLI_EXIT_LOCAL;
}
