/* Disclosure control of report tables: the rules are in disclosure.h. */
#include "disclosure.h"

#include <stdlib.h>
#include <string.h>

bool disclosure_dominated(int64_t max, int64_t sum)
{
	return (__int128)max * 100 > (__int128)sum * DISCLOSURE_DOMINANCE_PERCENT;
}

struct money *disclosure_money_of(struct cell *cell, const char *currency)
{
	for (size_t i = 0; i < cell->n_money; i++) {
		if (strcmp(cell->money[i].currency, currency) == 0)
			return &cell->money[i];
	}
	return NULL;
}

void disclosure_total(const struct cell *cells, size_t n, struct cell *total)
{
	for (size_t i = 0; i < n; i++) {
		total->cases += cells[i].cases;
		total->workers += cells[i].workers;
		for (size_t j = 0; j < cells[i].n_money; j++) {
			const struct money *mo = &cells[i].money[j];
			struct money *t = disclosure_money_of(total, mo->currency);
			if (t == NULL) {
				t = &total->money[total->n_money++];
				memset(t, 0, sizeof(*t));
				t->currency = mo->currency;
			}
			for (int k = 0; k < N_MEASURES; k++) {
				t->m[k].sum += mo->m[k].sum;
				t->m[k].n += mo->m[k].n;
				if (mo->m[k].max > t->m[k].max)
					t->m[k].max = mo->m[k].max;
			}
		}
	}
}

/* Hidden smallest first, the earlier cell first among equals. */
static int candidate_cmp(const void *a, const void *b)
{
	const struct disclosure_candidate *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Counts: cells below k, then complementary suppression against the total. Returns
 * whether the total's counts must be hidden too. */
static bool suppress_counts(struct cell *cells, size_t n, uint64_t total, uint32_t k,
			    struct disclosure_candidate *scratch)
{
	uint64_t hidden_sum = 0;
	size_t hidden = 0, n_candidates = 0;
	for (size_t i = 0; i < n; i++) {
		cells[i].hidden = cells[i].cases < k;
		if (cells[i].hidden) {
			hidden_sum += cells[i].cases;
			hidden++;
		} else {
			scratch[n_candidates++] = (struct disclosure_candidate){
			    .size = (int64_t)cells[i].cases, .index = i, .cell = &cells[i]};
		}
	}
	/* One hidden cell is the total minus the others; several that together count fewer
	 * than k cases are a small cell again. */
	if (hidden > 0)
		qsort(scratch, n_candidates, sizeof(*scratch), candidate_cmp);
	for (size_t i = 0; i < n_candidates && hidden > 0 && (hidden == 1 || hidden_sum < k); i++) {
		scratch[i].cell->hidden = true;
		hidden_sum += scratch[i].cell->cases;
		hidden++;
	}
	return total < k || (hidden > 0 && (hidden == 1 || hidden_sum < k));
}

/* A measure on its own contributors: fewer than k, or one dominating it. */
static bool measure_unsafe(const struct measure *me, uint32_t k)
{
	return me->n < (int64_t)k || disclosure_dominated(me->max, me->sum);
}

/* One money measure in one currency over every cell: hidden where the cell is or where
 * the measure is unsafe on its own contributors; then complementary suppression as for
 * counts, the hidden cells together needing at least two cells, k claims and no
 * dominating claim. `total` gets its own hidden flag. */
static void suppress_measure(struct cell *cells, size_t n, const char *currency, int measure,
			     struct measure *total, uint32_t k, bool total_hidden,
			     struct disclosure_candidate *scratch)
{
	struct measure together = {0};
	size_t hidden = 0, n_candidates = 0;
	for (size_t i = 0; i < n; i++) {
		struct money *mo = disclosure_money_of(&cells[i], currency);
		if (mo == NULL || mo->m[measure].n == 0)
			continue;
		struct measure *me = &mo->m[measure];
		me->hidden = cells[i].hidden || measure_unsafe(me, k);
		if (me->hidden) {
			together.sum += me->sum;
			together.n += me->n;
			together.max = me->max > together.max ? me->max : together.max;
			hidden++;
		} else {
			scratch[n_candidates++] =
			    (struct disclosure_candidate){.size = me->sum, .index = i, .me = me};
		}
	}
	if (hidden > 0)
		qsort(scratch, n_candidates, sizeof(*scratch), candidate_cmp);
	for (size_t i = 0;
	     i < n_candidates && hidden > 0 && (hidden == 1 || measure_unsafe(&together, k)); i++) {
		struct measure *me = scratch[i].me;
		me->hidden = true;
		together.sum += me->sum;
		together.n += me->n;
		together.max = me->max > together.max ? me->max : together.max;
		hidden++;
	}
	total->hidden = total_hidden || (total->n > 0 && measure_unsafe(total, k)) ||
			(hidden > 0 && (hidden == 1 || measure_unsafe(&together, k)));
}

void disclosure_apply(struct cell *cells, size_t n, struct cell *total, uint32_t k,
		      struct disclosure_candidate *scratch)
{
	total->hidden = suppress_counts(cells, n, total->cases, k, scratch);
	for (size_t j = 0; j < total->n_money; j++) {
		for (int m = 0; m < N_MEASURES; m++)
			suppress_measure(cells, n, total->money[j].currency, m,
					 &total->money[j].m[m], k, total->hidden, scratch);
	}
}
