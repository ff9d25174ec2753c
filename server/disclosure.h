/* Disclosure control of report tables: which figures of a table of aggregates may be shown.
 * Pure: no I/O, no database, no allocation but the caller's scratch; unit-tested alone.
 *
 * A table is a set of cells (a combination of the grouped dimensions and a period) and a
 * total, the sum of the cells. Each cell has counts (cases, workers) and, per currency,
 * three money measures (claimed, awarded, recovered) with their number of contributors
 * (n: the claims with that amount) and the largest contribution (max). Every figure is
 * judged on its own contributors:
 *
 *  1. counts: a cell counting fewer than k cases is hidden, cases and workers alike (the
 *     workers' contributors are the cell's cases); its workers are hidden too when one
 *     claim might hold more than DISCLOSURE_DOMINANCE_PERCENT of them (a group claim):
 *     the rollups keep no largest group, so the largest possible one is taken, the
 *     workers less one for each other case. That errs toward hiding;
 *  2. money: a measure in one currency is hidden where its cell's counts are, where fewer
 *     than k claims contribute to it (a cell of 11 cases with 2 claims in USD shows no
 *     USD sum), or where one claim is more than DISCLOSURE_DOMINANCE_PERCENT of it;
 *  3. complementary suppression, for the counts and for each measure in each currency
 *     apart: the table shows its total, so the hidden cells of a measure must together be
 *     as safe as one shown cell: at least two of them, k contributors, no dominating
 *     contribution. Otherwise more cells are hidden, smallest first, and if that is not
 *     enough the total's figure too;
 *  4. the total's own figures pass rules 1 and 2 like any cell.
 *
 * A hidden figure is marked, never replaced by a plausible number: the caller sends 0 with
 * `suppressed` set.
 *
 * Then cell-key perturbation (the method of the Australian Bureau of Statistics'
 * TableBuilder), so that differencing two reports yields noise rather than a person:
 * every shown figure is moved by a small amount drawn from the cell's key, a keyed hash
 * of the cell's exact contents (cases, workers, and per currency each measure's sum and
 * contributors). The same cases always give the same key, whatever query produced the
 * cell, so repeating or rephrasing a query cannot average the noise away; two cells that
 * differ by one case get unrelated noise. Counts move by at most
 * DISCLOSURE_COUNT_MAX_CHANGE (a table of probabilities whose variance is
 * DISCLOSURE_COUNT_VARIANCE: small counts are moved most, relatively), amounts by at
 * most DISCLOSURE_AMOUNT_MAX_PERCENT percent of the largest claim in them (small sums,
 * where one claim matters, most). Hidden figures stay hidden and zeros stay zero. The
 * rules above are applied to the exact figures first. */
#ifndef TULAY_DISCLOSURE_H
#define TULAY_DISCLOSURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The published parameters of cell-key perturbation. */
#define DISCLOSURE_COUNT_MAX_CHANGE   3
#define DISCLOSURE_COUNT_VARIANCE     "3.3"
#define DISCLOSURE_AMOUNT_MAX_PERCENT 20
#define DISCLOSURE_KEY_BYTES          32

/* One claim above this share of a sum dominates it. */
#define DISCLOSURE_DOMINANCE_PERCENT 85
/* d1..d7 of report_cells: the keys of a cell. */
#define DISCLOSURE_DIMS 7

enum { M_CLAIMED, M_AWARDED, M_RECOVERED, N_MEASURES };

struct measure {
	int64_t sum; /* minor units */
	int64_t n;   /* contributions (claims with this amount) */
	int64_t max; /* the largest contribution */
	bool hidden;
};

struct money {
	const char *currency;
	struct measure m[N_MEASURES];
};

struct cell {
	/* What the cell is, for the caller; disclosure does not look at them. */
	const char *bucket;                /* YYYY-MM-DD of the period's first day, or "" */
	const char *keys[DISCLOSURE_DIMS]; /* d1..d7 as grouped ('' otherwise) */
	const char *org;
	/* What it counts. */
	uint64_t cases, workers;
	bool hidden; /* the counts */
	/* The workers as a measure of their own (set by disclosure_apply): sum the workers,
	 * n the cases, max the largest group one case may hold; `hidden` for the workers. */
	struct measure workers_measure;
	struct money *money;
	size_t n_money;
};

/* A cell, or one money measure of it, that complementary suppression may hide. */
struct disclosure_candidate {
	int64_t size;
	size_t index;
	struct cell *cell;
	struct measure *me;
};

/* True if the largest contribution `max` is more than DISCLOSURE_DOMINANCE_PERCENT of
 * `sum`. */
bool disclosure_dominated(int64_t max, int64_t sum);

/* The money entry of `cell` in `currency`, or NULL. */
struct money *disclosure_money_of(struct cell *cell, const char *currency);

/* Adds every cell into `total` (zeroed by the caller, its `money` with room for every
 * currency of the cells, n_money 0): counts and sums add, maxima are the largest. */
void disclosure_total(const struct cell *cells, size_t n, struct cell *total);

/* Applies the rules above to the n cells and their total (from disclosure_total) with
 * minimum k, setting every `hidden` flag. `scratch` has room for n candidates. */
void disclosure_apply(struct cell *cells, size_t n, struct cell *total, uint32_t k,
		      struct disclosure_candidate *scratch);

/* Moves every figure that is shown (of the cells and of the total, after
 * disclosure_apply) by its cell's noise under `key` (DISCLOSURE_KEY_BYTES, secret). */
void disclosure_perturb(struct cell *cells, size_t n, struct cell *total,
			const uint8_t key[DISCLOSURE_KEY_BYTES]);

/* The change of a count for the uniform draw `u`, from the perturbation table:
 * -DISCLOSURE_COUNT_MAX_CHANGE..DISCLOSURE_COUNT_MAX_CHANGE. */
int disclosure_count_change(uint64_t u);

/* The change of an amount whose largest contribution is `max`, for the draw `u`: within
 * DISCLOSURE_AMOUNT_MAX_PERCENT percent of max, either way. */
int64_t disclosure_amount_change(int64_t max, uint64_t u);

#endif
