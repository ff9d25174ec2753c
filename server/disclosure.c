/* Disclosure control of report tables: the rules are in disclosure.h. */
#include "disclosure.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

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

/* The measure of `cell` that one pass of suppress_measure works on, or NULL if the cell
 * has none: a money measure (`currency`, `measure`), or the workers (currency NULL). */
static struct measure *measure_of(struct cell *cell, const char *currency, int measure)
{
	if (currency == NULL)
		return cell->cases > 0 ? &cell->workers_measure : NULL;
	struct money *mo = disclosure_money_of(cell, currency);
	return mo != NULL && mo->m[measure].n > 0 ? &mo->m[measure] : NULL;
}

/* One measure over every cell: hidden where the cell is or where the measure is unsafe
 * on its own contributors; then complementary suppression as for counts, the hidden
 * cells together needing at least two cells, k contributors and no dominating one.
 * `total` gets its own hidden flag. */
static void suppress_measure(struct cell *cells, size_t n, const char *currency, int measure,
			     struct measure *total, uint32_t k, bool total_hidden,
			     struct disclosure_candidate *scratch)
{
	struct measure together = {0};
	size_t hidden = 0, n_candidates = 0;
	for (size_t i = 0; i < n; i++) {
		struct measure *me = measure_of(&cells[i], currency, measure);
		if (me == NULL)
			continue;
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

/* The workers of `c` as a measure: a case holds at least one worker, so the largest
 * group is at most the workers less one for each other case. */
static void workers_measure(struct cell *c)
{
	c->workers_measure = (struct measure){
	    .sum = (int64_t)c->workers,
	    .n = (int64_t)c->cases,
	    .max = c->cases > 0 ? (int64_t)c->workers - ((int64_t)c->cases - 1) : 0,
	};
}

void disclosure_apply(struct cell *cells, size_t n, struct cell *total, uint32_t k,
		      struct disclosure_candidate *scratch)
{
	for (size_t i = 0; i < n; i++)
		workers_measure(&cells[i]);
	workers_measure(total);
	total->hidden = suppress_counts(cells, n, total->cases, k, scratch);
	suppress_measure(cells, n, NULL, 0, &total->workers_measure, k, total->hidden, scratch);
	for (size_t j = 0; j < total->n_money; j++) {
		for (int m = 0; m < N_MEASURES; m++)
			suppress_measure(cells, n, total->money[j].currency, m,
					 &total->money[j].m[m], k, total->hidden, scratch);
	}
}

/* --- cell-key perturbation -------------------------------------------------------------- */

/* The probability, in thousandths, of each change of a count from -3 to 3. Its variance:
 * 2 x (0.10 x 9 + 0.15 x 4 + 0.15 x 1) = 3.3 (DISCLOSURE_COUNT_VARIANCE). */
_Static_assert(DISCLOSURE_KEY_BYTES == crypto_generichash_KEYBYTES,
	       "the perturbation key is a BLAKE2b key");
#define N_COUNT_CHANGES (2 * DISCLOSURE_COUNT_MAX_CHANGE + 1)
static const unsigned count_table[N_COUNT_CHANGES] = {100, 150, 150, 200, 150, 150, 100};

int disclosure_count_change(uint64_t u)
{
	unsigned r = (unsigned)(u % 1000), cumulative = 0;
	for (int i = 0; i < (int)N_COUNT_CHANGES; i++) {
		cumulative += count_table[i];
		if (r < cumulative)
			return i - DISCLOSURE_COUNT_MAX_CHANGE;
	}
	return DISCLOSURE_COUNT_MAX_CHANGE;
}

int64_t disclosure_amount_change(int64_t max, uint64_t u)
{
	/* A fraction of max from -P% to +P% in steps of 0.001%. */
	const int64_t steps = DISCLOSURE_AMOUNT_MAX_PERCENT * 1000;
	int64_t step = (int64_t)(u % (uint64_t)(2 * steps + 1)) - steps;
	return (int64_t)((__int128)max * step / (100 * 1000));
}

static void hash_i64(crypto_generichash_state *h, int64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)v >> (8 * i));
	crypto_generichash_update(h, b, sizeof(b));
}

/* The money entry of `cell` with the smallest currency after `after` (NULL: the
 * smallest of all), so that a cell's key does not depend on the order its currencies
 * came in. */
static const struct money *money_after(const struct cell *cell, const char *after)
{
	const struct money *best = NULL;
	for (size_t i = 0; i < cell->n_money; i++) {
		const char *c = cell->money[i].currency;
		if ((after == NULL || strcmp(c, after) > 0) &&
		    (best == NULL || strcmp(c, best->currency) < 0))
			best = &cell->money[i];
	}
	return best;
}

/* The cell's key: a keyed hash of what it counts, exactly, and nothing about the query
 * (no labels, no maxima, which a withdrawal not yet folded may leave high for a moment). */
static void cell_key(const struct cell *c, const uint8_t key[DISCLOSURE_KEY_BYTES],
		     uint8_t out[crypto_generichash_BYTES])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, key, DISCLOSURE_KEY_BYTES, crypto_generichash_BYTES);
	hash_i64(&h, (int64_t)c->cases);
	hash_i64(&h, (int64_t)c->workers);
	for (const struct money *mo = money_after(c, NULL); mo != NULL;
	     mo = money_after(c, mo->currency)) {
		crypto_generichash_update(&h, (const uint8_t *)mo->currency,
					  strlen(mo->currency) + 1);
		for (int m = 0; m < N_MEASURES; m++) {
			hash_i64(&h, mo->m[m].sum);
			hash_i64(&h, mo->m[m].n);
		}
	}
	crypto_generichash_final(&h, out, crypto_generichash_BYTES);
}

/* A uniform 64-bit draw for one figure of a cell: its key and the figure's name. */
static uint64_t draw(const uint8_t cell[crypto_generichash_BYTES], const char *figure, int measure)
{
	uint8_t d[8];
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, sizeof(d));
	crypto_generichash_update(&h, cell, crypto_generichash_BYTES);
	crypto_generichash_update(&h, (const uint8_t *)figure, strlen(figure) + 1);
	hash_i64(&h, measure);
	crypto_generichash_final(&h, d, sizeof(d));
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t)d[i] << (8 * i);
	return u;
}

static uint64_t perturbed_count(uint64_t value, uint64_t u)
{
	int64_t v = (int64_t)value + disclosure_count_change(u);
	return v > 0 ? (uint64_t)v : 0;
}

static void perturb_cell(struct cell *c, const uint8_t key[DISCLOSURE_KEY_BYTES])
{
	uint8_t ck[crypto_generichash_BYTES];
	cell_key(c, key, ck);
	if (!c->hidden && c->cases > 0)
		c->cases = perturbed_count(c->cases, draw(ck, "cases", 0));
	if (!c->workers_measure.hidden && c->cases > 0)
		c->workers = perturbed_count(c->workers, draw(ck, "workers", 0));
	for (size_t i = 0; i < c->n_money; i++) {
		for (int m = 0; m < N_MEASURES; m++) {
			struct measure *me = &c->money[i].m[m];
			if (!me->hidden && me->n > 0)
				me->sum += disclosure_amount_change(
				    me->max, draw(ck, c->money[i].currency, m));
		}
	}
}

void disclosure_perturb(struct cell *cells, size_t n, struct cell *total,
			const uint8_t key[DISCLOSURE_KEY_BYTES])
{
	for (size_t i = 0; i < n; i++)
		perturb_cell(&cells[i], key);
	perturb_cell(total, key);
}
