/* Reports: adding up. The rows GetReport read (rollups and the deltas not folded yet) are
 * summed by their keys, sorted, converted into the reporting currency and made cells for
 * disclosure control. report_add_up runs on libuv's thread pool: it touches only the
 * request's state. */
#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "common.h"
#include "handlers.h"
#include "money.h"
#include "report.h"

void report_row_order(const struct report_state *st, struct row_order *o)
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

void report_row_columns(const PGresult *res, struct report_row_columns *c)
{
	/* In the order of disclosure.h's M_*. */
	static const char *const measures[N_MEASURES] = {"o_claimed", "o_awarded", "o_recovered"};
	char name[32];
	c->period = db_column(res, "o_period");
	c->key[KEY_BUCKET] = -1;
	for (int k = 1; k <= REPORT_DIMS; k++) {
		snprintf(name, sizeof(name), "o_k%d", k);
		c->key[k] = db_column(res, name);
	}
	c->key[KEY_ORG] = db_column(res, "o_korg");
	c->key[KEY_CURRENCY] = db_column(res, "o_currency");
	c->cases = db_column(res, "o_cases");
	c->workers = db_column(res, "o_workers");
	for (int m = 0; m < N_MEASURES; m++) {
		c->sum[m] = db_column(res, measures[m]);
		snprintf(name, sizeof(name), "%s_n", measures[m]);
		c->n[m] = db_column(res, name);
		snprintf(name, sizeof(name), "%s_max", measures[m]);
		c->max[m] = db_column(res, name);
	}
}

/* Adds up st->rows_read per cell and currency into st->rows (st->n_rows of them, sorted
 * as cells are); drops the ones left without cases or contributors (withdrawals not folded
 * yet), as folding would; st->overflow when a figure does not fit in 64 bits. Runs on the
 * thread pool (request_offload): a report may add up 200,000 rows, tens of milliseconds
 * the event loop would not serve anyone else. Touches only the state. */
void report_add_up(struct request *req)
{
	struct report_state *st = req->state;
	const PGresult *res = st->rows_read;
	const struct report_row_columns *c = &st->rows_read_cols;
	const char *period = st->period;
	const struct row_order *order = st->order;
	bool *overflow = &st->overflow;
	struct report_row *all = st->rows_all, **sorted = st->rows;
	int rows = PQntuples(res);
	for (int r = 0; r < rows; r++) {
		struct report_row *x = &all[r];
		bucket_of(period, PQgetvalue(res, r, c->period), x->bucket);
		x->key[KEY_BUCKET] = x->bucket;
		for (int k = 1; k < N_KEYS; k++)
			x->key[k] = PQgetvalue(res, r, c->key[k]);
		x->cases = column_i64(res, r, c->cases, overflow);
		x->workers = column_i64(res, r, c->workers, overflow);
		for (int m = 0; m < N_MEASURES; m++) {
			x->sum[m] = column_i64(res, r, c->sum[m], overflow);
			x->n[m] = column_i64(res, r, c->n[m], overflow);
			x->max[m] = column_i64(res, r, c->max[m], overflow);
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
bool report_rows_converted(struct request *req, struct report_row **rows, size_t n,
			   const PGresult *rates, const char *target)
{
	const struct report_state *st = req->state;
	/* Its columns, looked up once for every row converted. */
	int currency_col = db_column(rates, "currency"), from_col = db_column(rates, "valid_from"),
	    rate_col = db_column(rates, "rate"), factor_col = db_column(rates, "factor");
	const char *today = db_value(rates, 0, "today");
	for (size_t i = 0; i < n; i++) {
		struct report_row *x = rows[i];
		const char *currency = x->key[KEY_CURRENCY];
		if (*currency == '\0' || strcmp(currency, target) == 0)
			continue;
		char day[32];
		rate_day_of(st->period, x->bucket, st->to_last, today, day);
		int found = -1; /* the latest rate from that day or before */
		for (int r = 0; r < PQntuples(rates); r++) {
			if (strcmp(PQgetvalue(rates, r, currency_col), currency) == 0 &&
			    strcmp(PQgetvalue(rates, r, from_col), day) <= 0)
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
		const char *factor = PQgetvalue(rates, found, factor_col);
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
		x->rate = PQgetvalue(rates, found, rate_col);
		x->rate_from = PQgetvalue(rates, found, from_col);
	}
	return true;
}

/* The rates a converted report used, distinct, in row order. */
bool report_rates_out(struct request *req, struct report_row *const *rows, size_t n_rows,
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
struct cell *report_cells_from_rows(struct request *req, struct report_row *const *rows,
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
