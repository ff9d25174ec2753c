/* Disclosure control (server/disclosure.c), rule by rule, on hand-made tables, then on
 * random adversarial tables checked against what an attacker holding the shown figures
 * and the total can work out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "disclosure.h"

#define K              11
#define MAX_CELLS      24
#define MAX_CURRENCIES 3

/* A table under test: its cells, their money, the total. */
struct table {
	struct cell cells[MAX_CELLS];
	struct money money[MAX_CELLS][MAX_CURRENCIES];
	struct cell total;
	struct money total_money[MAX_CURRENCIES];
	struct disclosure_candidate scratch[MAX_CELLS];
	size_t n;
};

static void table_init(struct table *t)
{
	memset(t, 0, sizeof(*t));
	t->total.money = t->total_money;
}

/* Adds a cell of `cases` cases (and as many workers). */
static struct cell *add_cell(struct table *t, uint64_t cases)
{
	struct cell *c = &t->cells[t->n];
	c->cases = cases;
	c->workers = cases;
	c->money = t->money[t->n];
	t->n++;
	return c;
}

/* Sets measure `m` of `cell` in `currency`: n contributions summing to sum, the largest
 * max. */
static struct measure *set_measure(struct cell *cell, const char *currency, int m, int64_t n,
				   int64_t sum, int64_t max)
{
	struct money *mo = disclosure_money_of(cell, currency);
	if (mo == NULL) {
		mo = &cell->money[cell->n_money++];
		mo->currency = currency;
	}
	mo->m[m] = (struct measure){.sum = sum, .n = n, .max = max};
	return &mo->m[m];
}

static void apply(struct table *t)
{
	disclosure_total(t->cells, t->n, &t->total);
	disclosure_apply(t->cells, t->n, &t->total, K, t->scratch);
}

static void test_dominance_threshold(void **state)
{
	(void)state;
	assert_false(disclosure_dominated(85, 100)); /* exactly 85%: not more */
	assert_true(disclosure_dominated(86, 100));
	assert_false(disclosure_dominated(0, 0));
	/* No overflow near the top of int64. */
	assert_true(disclosure_dominated(INT64_MAX, INT64_MAX));
	assert_false(disclosure_dominated(INT64_MAX / 2, INT64_MAX));
}

/* Rule 1: a cell under k is hidden, and another with it so that the total minus the
 * shown cells does not give it away. */
static void test_small_count_and_its_complement(void **state)
{
	(void)state;
	struct table t;
	table_init(&t);
	add_cell(&t, 3);
	add_cell(&t, 40);
	add_cell(&t, 12);
	apply(&t);
	assert_true(t.cells[0].hidden);
	assert_true(t.cells[2].hidden); /* the smallest of the others */
	assert_false(t.cells[1].hidden);
	assert_false(t.total.hidden); /* 3 + 12 = 15 hidden together: safe */
}

/* Several small cells that together count fewer than k are one small cell again. */
static void test_small_cells_together_under_k(void **state)
{
	(void)state;
	struct table t;
	table_init(&t);
	add_cell(&t, 2);
	add_cell(&t, 3);
	add_cell(&t, 20);
	add_cell(&t, 30);
	apply(&t);
	assert_true(t.cells[0].hidden && t.cells[1].hidden);
	assert_true(t.cells[2].hidden); /* 5 < k: one more */
	assert_false(t.cells[3].hidden);
	assert_false(t.total.hidden);
}

/* No complement to hide behind: the total goes too. */
static void test_total_hidden_when_nothing_covers(void **state)
{
	(void)state;
	struct table t;
	table_init(&t);
	add_cell(&t, 4);
	apply(&t);
	assert_true(t.cells[0].hidden);
	assert_true(t.total.hidden);

	table_init(&t);
	add_cell(&t, 5);
	add_cell(&t, 5);
	apply(&t);
	assert_true(t.total.hidden); /* the total itself counts 10 < k */
}

/* Finding 2: a row of 11 or more cases showed each currency's sum, even a currency only
 * two claims had; each of the two could work out the other's amount. Here 11 claims are
 * in MYR and 2 in USD. */
static void test_finding2_currency_with_few_claims(void **state)
{
	(void)state;
	struct table t;
	table_init(&t);
	struct cell *row = add_cell(&t, 13);
	set_measure(row, "MYR", M_CLAIMED, 11, 1100000, 110000);
	struct measure *usd = set_measure(row, "USD", M_CLAIMED, 2, 250000, 150000);
	struct cell *other = add_cell(&t, 30);
	set_measure(other, "MYR", M_CLAIMED, 30, 3000000, 110000);
	apply(&t);
	assert_false(row->hidden); /* the counts are safe */
	assert_false(disclosure_money_of(row, "MYR")->m[M_CLAIMED].hidden);
	assert_true(usd->hidden);
	/* The USD total would be that same sum: hidden too. */
	assert_true(disclosure_money_of(&t.total, "USD")->m[M_CLAIMED].hidden);
	assert_false(disclosure_money_of(&t.total, "MYR")->m[M_CLAIMED].hidden);
}

/* The workers of a cell where one group claim may hold most of them are hidden (a group
 * of 100 among 10 single workers would be read off the count), and another cell with
 * them; a cell of single workers, or of modest groups, shows its workers. */
static void test_workers_one_group_dominates(void **state)
{
	(void)state;
	struct table t;
	table_init(&t);
	struct cell *group = add_cell(&t, 11);
	group->workers = 110; /* at most 100 in one claim: more than 85% */
	struct cell *singles = add_cell(&t, 12);
	struct cell *modest = add_cell(&t, 30);
	modest->workers = 60; /* at most 31 in one claim */
	apply(&t);
	assert_false(group->hidden); /* the number of cases is safe */
	assert_true(group->workers_measure.hidden);
	assert_true(singles->workers_measure.hidden); /* the smallest other: its complement */
	assert_false(modest->workers_measure.hidden);
	assert_false(singles->hidden || modest->hidden);
	/* Hidden together, 122 workers of which one group holds at most 100 (82%): safe, so
	 * the total's workers show. */
	assert_false(t.total.workers_measure.hidden);

	table_init(&t);
	for (int i = 0; i < 3; i++)
		add_cell(&t, 20)->workers = 20 + (uint64_t)i;
	apply(&t);
	for (size_t i = 0; i < t.n; i++)
		assert_false(t.cells[i].workers_measure.hidden);
	assert_false(t.total.workers_measure.hidden);
}

/* Each measure on its own: awards can be few where claims are many. */
static void test_each_measure_on_its_own(void **state)
{
	(void)state;
	struct table t;
	table_init(&t);
	for (int i = 0; i < 3; i++) {
		struct cell *c = add_cell(&t, 20);
		set_measure(c, "THB", M_CLAIMED, 20, 2000000, 120000);
		set_measure(c, "THB", M_AWARDED, i == 0 ? 3 : 15, 300000, 40000);
		set_measure(c, "THB", M_RECOVERED, 12, 120000, 15000);
	}
	apply(&t);
	assert_true(t.cells[0].money[0].m[M_AWARDED].hidden);  /* 3 awards */
	assert_true(t.cells[1].money[0].m[M_AWARDED].hidden);  /* its complement */
	assert_false(t.cells[2].money[0].m[M_AWARDED].hidden); /* a third stays */
	for (size_t i = 0; i < t.n; i++) {
		assert_false(t.cells[i].money[0].m[M_CLAIMED].hidden);
		assert_false(t.cells[i].money[0].m[M_RECOVERED].hidden);
	}
	assert_false(t.total.money[0].m[M_AWARDED].hidden); /* 18 hidden together: safe */
}

/* One claim above 85% of a sum hides it, and the sum it would be recovered from. */
static void test_dominated_sum_and_complement(void **state)
{
	(void)state;
	struct table t;
	table_init(&t);
	struct cell *a = add_cell(&t, 12);
	set_measure(a, "MYR", M_CLAIMED, 12, 987654321 + 1100000, 987654321);
	struct cell *b = add_cell(&t, 12);
	set_measure(b, "MYR", M_CLAIMED, 12, 1200000, 100000);
	struct cell *c = add_cell(&t, 12);
	set_measure(c, "MYR", M_CLAIMED, 12, 1300000, 110000);
	apply(&t);
	assert_true(a->money[0].m[M_CLAIMED].hidden);
	assert_true(b->money[0].m[M_CLAIMED].hidden); /* the smallest other sum */
	/* a and b hidden together are still dominated by the one claim: c too, and then the
	 * total (the one claim dominates it as well). */
	assert_true(c->money[0].m[M_CLAIMED].hidden);
	assert_true(t.total.money[0].m[M_CLAIMED].hidden);
	assert_false(a->hidden || b->hidden || c->hidden); /* the counts are fine */
}

/* A measure hidden because its cell is: the money follows the count. */
static void test_money_follows_hidden_count(void **state)
{
	(void)state;
	struct table t;
	table_init(&t);
	struct cell *small = add_cell(&t, 4);
	set_measure(small, "SGD", M_CLAIMED, 4, 40000, 10000);
	for (int i = 0; i < 2; i++)
		set_measure(add_cell(&t, 30), "SGD", M_CLAIMED, 30, 300000, 10000);
	apply(&t);
	assert_true(small->hidden);
	assert_true(small->money[0].m[M_CLAIMED].hidden);
	assert_true(t.cells[1].hidden);
	assert_true(t.cells[1].money[0].m[M_CLAIMED].hidden);
	assert_false(t.cells[2].money[0].m[M_CLAIMED].hidden);
}

/* What an attacker who sees the shown figures and the total can work out about the
 * hidden ones of one figure: their sum (total minus the shown). That sum must be safe
 * like a shown figure (at least two cells, k contributors, no dominating contribution),
 * or the total must be hidden too. */
static void check_measure(struct table *t, const char *currency, int m)
{
	const struct money *tm = disclosure_money_of(&t->total, currency);
	struct measure hidden = {0};
	size_t n_hidden = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct money *mo = disclosure_money_of(&t->cells[i], currency);
		if (mo == NULL || mo->m[m].n == 0)
			continue;
		const struct measure *me = &mo->m[m];
		if (!me->hidden) {
			/* Every shown figure passes the rules on its own contributors. */
			assert_true(me->n >= K);
			assert_false(disclosure_dominated(me->max, me->sum));
			assert_false(t->cells[i].hidden);
			continue;
		}
		hidden.sum += me->sum;
		hidden.n += me->n;
		hidden.max = me->max > hidden.max ? me->max : hidden.max;
		n_hidden++;
	}
	if (!tm->m[m].hidden) {
		assert_true(tm->m[m].n >= K);
		assert_false(disclosure_dominated(tm->m[m].max, tm->m[m].sum));
		if (n_hidden > 0) {
			assert_true(n_hidden >= 2);
			assert_true(hidden.n >= K);
			assert_false(disclosure_dominated(hidden.max, hidden.sum));
		}
	}
}

static void check_counts(struct table *t)
{
	uint64_t hidden = 0;
	size_t n_hidden = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (t->cells[i].hidden) {
			hidden += t->cells[i].cases;
			n_hidden++;
		} else {
			assert_true(t->cells[i].cases >= K);
		}
	}
	if (!t->total.hidden) {
		assert_true(t->total.cases >= K);
		if (n_hidden > 0) {
			assert_true(n_hidden >= 2);
			assert_true(hidden >= K);
		}
	}
	/* Workers: shown only where no group can dominate them, hidden ones covered. */
	struct measure workers_hidden = {0};
	size_t n_workers_hidden = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct cell *c = &t->cells[i];
		if (c->cases == 0)
			continue;
		int64_t largest = (int64_t)c->workers - ((int64_t)c->cases - 1);
		if (!c->workers_measure.hidden) {
			assert_false(c->hidden);
			assert_false(disclosure_dominated(largest, (int64_t)c->workers));
			continue;
		}
		workers_hidden.sum += (int64_t)c->workers;
		workers_hidden.n += (int64_t)c->cases;
		workers_hidden.max = largest > workers_hidden.max ? largest : workers_hidden.max;
		n_workers_hidden++;
	}
	if (!t->total.workers_measure.hidden && n_workers_hidden > 0) {
		assert_true(n_workers_hidden >= 2);
		assert_true(workers_hidden.n >= K);
		assert_false(disclosure_dominated(workers_hidden.max, workers_hidden.sum));
	}
}

/* Random tables built to trip the rules: many small cells, currencies with one or two
 * claims, single huge claims, cells just at k. */
static void test_random_tables_leak_nothing(void **state)
{
	(void)state;
	static const char *const currencies[MAX_CURRENCIES] = {"MYR", "THB", "USD"};
	srand(20261204);
	unsigned shown_money = 0, hidden_money = 0;
	for (int round = 0; round < 20000; round++) {
		struct table t;
		table_init(&t);
		size_t n = 1 + (size_t)(rand() % MAX_CELLS);
		for (size_t i = 0; i < n; i++) {
			int shape = rand() % 4;
			uint64_t cases = shape == 0   ? (uint64_t)(rand() % K)
					 : shape == 1 ? K + (uint64_t)(rand() % 2)
						      : (uint64_t)(rand() % 60);
			struct cell *c = add_cell(&t, cases);
			if (cases > 0 && rand() % 4 == 0)
				c->workers = cases + (uint64_t)(rand() % 200);
			for (size_t j = 0; j < MAX_CURRENCIES && cases > 0; j++) {
				for (int m = 0; m < N_MEASURES; m++) {
					if (rand() % 3 == 0)
						continue;
					int64_t claims = 1 + rand() % (int)cases;
					int64_t typical = 1000 + rand() % 100000;
					int64_t max = rand() % 10 == 0 ? typical * 1000 : typical;
					set_measure(c, currencies[j], m, claims,
						    max + (claims - 1) * (typical / 2), max);
				}
			}
		}
		apply(&t);
		check_counts(&t);
		for (size_t j = 0; j < t.total.n_money; j++) {
			for (int m = 0; m < N_MEASURES; m++) {
				if (t.total.money[j].m[m].n == 0)
					continue;
				check_measure(&t, t.total.money[j].currency, m);
				if (t.total.money[j].m[m].hidden)
					hidden_money++;
				else
					shown_money++;
			}
		}
	}
	/* The tables are not all hidden (a test that hid everything would pass vacuously). */
	assert_true(shown_money > 1000);
	assert_true(hidden_money > 1000);
}

/* --- cell-key perturbation --------------------------------------------------------- */

static const uint8_t test_key[DISCLOSURE_KEY_BYTES] = {7, 4, 2, 0};

static void test_count_table(void **state)
{
	(void)state;
	unsigned seen[2 * DISCLOSURE_COUNT_MAX_CHANGE + 1] = {0};
	double mean = 0, square = 0;
	for (uint64_t u = 0; u < 1000; u++) {
		int c = disclosure_count_change(u);
		assert_in_range(c + DISCLOSURE_COUNT_MAX_CHANGE, 0,
				2 * DISCLOSURE_COUNT_MAX_CHANGE);
		seen[c + DISCLOSURE_COUNT_MAX_CHANGE]++;
		mean += c;
		square += c * c;
	}
	static const unsigned table[] = {100, 150, 150, 200, 150, 150, 100};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_int_equal(seen[i], table[i]);
	/* The published variance, exactly: a mean of 0 and 3.3. */
	assert_true(mean == 0);
	assert_true(square / 1000 > 3.2999 && square / 1000 < 3.3001);
	assert_string_equal(DISCLOSURE_COUNT_VARIANCE, "3.3");
}

static void test_amount_change_bounds(void **state)
{
	(void)state;
	int64_t max = 987654321, lo = 0, hi = 0;
	for (uint64_t u = 0; u < 200000; u++) {
		int64_t c = disclosure_amount_change(max, u * 2654435761u);
		assert_true(c * 100 <= max * DISCLOSURE_AMOUNT_MAX_PERCENT);
		assert_true(-c * 100 <= max * DISCLOSURE_AMOUNT_MAX_PERCENT);
		lo = c < lo ? c : lo;
		hi = c > hi ? c : hi;
	}
	/* Both ways, and to near the bound. */
	assert_true(lo * 100 < -max * (DISCLOSURE_AMOUNT_MAX_PERCENT - 1));
	assert_true(hi * 100 > max * (DISCLOSURE_AMOUNT_MAX_PERCENT - 1));
}

/* The figures shown for a table of one cell of `cases` claims in MYR summing to `sum`
 * (largest `max`), perturbed. */
struct shown {
	uint64_t cases, workers;
	int64_t claimed;
};

static struct shown perturbed_cell(uint64_t cases, int64_t sum, int64_t max, const char *label)
{
	struct table t;
	table_init(&t);
	struct cell *c = add_cell(&t, cases);
	c->keys[0] = label;
	set_measure(c, "MYR", M_CLAIMED, (int64_t)cases, sum, max);
	set_measure(c, "MYR", M_AWARDED, (int64_t)cases, sum / 2, max / 2);
	apply(&t);
	disclosure_perturb(t.cells, t.n, &t.total, test_key);
	return (struct shown){c->cases, c->workers, c->money[0].m[M_CLAIMED].sum};
}

/* The same cases give the same figures, whatever the query called the cell. */
static void test_same_cases_same_figures(void **state)
{
	(void)state;
	struct shown a = perturbed_cell(40, 4000000, 150000, "KH>TH");
	struct shown b = perturbed_cell(40, 4000000, 150000, "another label");
	assert_int_equal(a.cases, b.cases);
	assert_int_equal(a.workers, b.workers);
	assert_int_equal(a.claimed, b.claimed);
	/* Currencies in another order: the same key. */
	struct table t1, t2;
	table_init(&t1);
	table_init(&t2);
	struct cell *c1 = add_cell(&t1, 30), *c2 = add_cell(&t2, 30);
	set_measure(c1, "MYR", M_CLAIMED, 15, 1500000, 110000);
	set_measure(c1, "THB", M_CLAIMED, 15, 4500000, 330000);
	set_measure(c2, "THB", M_CLAIMED, 15, 4500000, 330000);
	set_measure(c2, "MYR", M_CLAIMED, 15, 1500000, 110000);
	apply(&t1);
	apply(&t2);
	disclosure_perturb(t1.cells, 1, &t1.total, test_key);
	disclosure_perturb(t2.cells, 1, &t2.total, test_key);
	assert_int_equal(c1->cases, c2->cases);
	assert_int_equal(disclosure_money_of(c1, "THB")->m[M_CLAIMED].sum,
			 disclosure_money_of(c2, "THB")->m[M_CLAIMED].sum);
	/* Another key, other noise (over a few cells, not all alike). */
	unsigned differ = 0;
	for (uint64_t cases = 20; cases < 40; cases++) {
		struct table x, y;
		table_init(&x);
		table_init(&y);
		add_cell(&x, cases);
		add_cell(&y, cases);
		apply(&x);
		apply(&y);
		uint8_t other[DISCLOSURE_KEY_BYTES] = {1};
		disclosure_perturb(x.cells, 1, &x.total, test_key);
		disclosure_perturb(y.cells, 1, &y.total, other);
		differ += x.cells[0].cases != y.cells[0].cases;
	}
	assert_true(differ >= 10);
}

/* Hidden figures are not touched; shown ones stay within the published bounds. */
static void test_perturbation_bounds_and_hidden(void **state)
{
	(void)state;
	struct table t;
	table_init(&t);
	struct cell *small = add_cell(&t, 4);
	set_measure(small, "MYR", M_CLAIMED, 4, 40000, 10000);
	for (int i = 0; i < 5; i++)
		set_measure(add_cell(&t, 30 + (uint64_t)i), "MYR", M_CLAIMED, 30 + i,
			    3000000 + i * 1000, 200000);
	apply(&t);
	struct table exact = t;
	disclosure_perturb(t.cells, t.n, &t.total, test_key);
	assert_true(small->hidden);
	assert_int_equal(small->cases, 4); /* hidden: never sent, not perturbed */
	assert_int_equal(small->money[0].m[M_CLAIMED].sum, 40000);
	for (size_t i = 0; i < t.n; i++) {
		if (t.cells[i].hidden)
			continue;
		int64_t dc = (int64_t)t.cells[i].cases - (int64_t)exact.cells[i].cases;
		assert_true(dc >= -DISCLOSURE_COUNT_MAX_CHANGE &&
			    dc <= DISCLOSURE_COUNT_MAX_CHANGE);
		int64_t dm =
		    t.cells[i].money[0].m[M_CLAIMED].sum - exact.money[i][0].m[M_CLAIMED].sum;
		assert_true((dm < 0 ? -dm : dm) * 100 <= 200000 * DISCLOSURE_AMOUNT_MAX_PERCENT);
	}
	int64_t dt = (int64_t)t.total.cases - (int64_t)exact.total.cases;
	assert_true(dt >= -DISCLOSURE_COUNT_MAX_CHANGE && dt <= DISCLOSURE_COUNT_MAX_CHANGE);
}

/* Finding 3: the report of everyone minus the report without one person gave that person
 * (1 case, their exact amount). Now the difference is noise in the large majority of
 * tries, and the amount is never exact. */
static void test_finding3_differencing_gives_noise(void **state)
{
	(void)state;
	unsigned count_exposed = 0, amount_exposed = 0, tries = 1000;
	for (unsigned i = 0; i < tries; i++) {
		uint64_t others = 15 + i % 40;
		int64_t typical = 100000 + (int64_t)(i * 7919 % 50000);
		int64_t person = 987654321 % (typical * 3) + typical; /* below dominance */
		int64_t sum = typical * (int64_t)others;
		int64_t largest = person > typical + 5000 ? person : typical + 5000;
		struct shown without = perturbed_cell(others, sum, typical + 5000, "");
		struct shown with = perturbed_cell(others + 1, sum + person, largest, "");
		count_exposed += with.cases - without.cases == 1;
		amount_exposed += with.claimed - without.claimed == person;
	}
	/* Equal changes on both sides happen with probability 0.15 (the table's squares). */
	assert_true(count_exposed < tries / 4);
	assert_true(amount_exposed <= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dominance_threshold),
	    cmocka_unit_test(test_small_count_and_its_complement),
	    cmocka_unit_test(test_small_cells_together_under_k),
	    cmocka_unit_test(test_total_hidden_when_nothing_covers),
	    cmocka_unit_test(test_finding2_currency_with_few_claims),
	    cmocka_unit_test(test_each_measure_on_its_own),
	    cmocka_unit_test(test_workers_one_group_dominates),
	    cmocka_unit_test(test_dominated_sum_and_complement),
	    cmocka_unit_test(test_money_follows_hidden_count),
	    cmocka_unit_test(test_random_tables_leak_nothing),
	    cmocka_unit_test(test_count_table),
	    cmocka_unit_test(test_amount_change_bounds),
	    cmocka_unit_test(test_same_cases_same_figures),
	    cmocka_unit_test(test_perturbation_bounds_and_hidden),
	    cmocka_unit_test(test_finding3_differencing_gives_noise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
