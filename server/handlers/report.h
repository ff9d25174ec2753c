/* What reports.c (GetReport: the question, the statements, the answer) and report_sum.c
 * (adding up the rows read, on the thread pool) share. Private to them. */
#ifndef TULAY_HANDLERS_REPORT_H
#define TULAY_HANDLERS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "disclosure.h"
#include "request.h"
#include "tulay/v1/envelope.pb-c.h"

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

struct report_kind {
	const char *code; /* cases.kind */
	const char *name;
	const struct dimension *dims;
	size_t n_dims;
	const char *dim_names; /* for errors */
};

struct group {
	const struct dimension *dim;
};

/* The keys of a report row, in the order its cells sort by: the period bucket, d1..d7,
 * the organisation, the currency. */
enum { KEY_BUCKET, KEY_ORG = 1 + REPORT_DIMS, KEY_CURRENCY, N_KEYS };

/* The indexes of the columns of a "report_rows" result, named by report_rows_of's OUT
 * parameters: o_period (the period's first day), the keys o_k1..o_k7, o_korg and
 * o_currency (key[1..]; key[KEY_BUCKET] is unused), o_cases, o_workers, and each money
 * measure's sum, claims and largest (o_claimed, o_claimed_n, o_claimed_max, ... in the
 * order of disclosure.h's M_*). */
struct report_row_columns {
	int period, key[N_KEYS], cases, workers;
	int sum[N_MEASURES], n[N_MEASURES], max[N_MEASURES];
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
	/* Adding up, on the thread pool: the rows read (their columns looked up before), room
	 * for them, and what it gave. */
	const PGresult *rows_read;
	struct report_row_columns rows_read_cols;
	struct report_row *rows_all, **rows;
	struct row_order *order;
	size_t n_rows;
	bool overflow;
	bool has_filter[REPORT_DIMS + 1]; /* d1..d7, then the organisation: a NULL array
					   * there means out of memory, not "any" */
	uint32_t k;
};

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

/* The indexes of the columns of `res`, a report_rows result (a missing one is a bug: see
 * db_column). Runs on the event loop. */
void report_row_columns(const PGresult *res, struct report_row_columns *c);
/* Adds up st->rows_read (its columns in st->rows_read_cols) into st->rows (report_sum.c).
 * Runs on the thread pool and touches only the request's state. */
void report_add_up(struct request *req);
/* The keys the report's rows can differ in, in order. */
void report_row_order(const struct report_state *st, struct row_order *o);
/* Converts the money of every row into `target` at the rate in force on its rate day
 * (`rates`: report_rates' result). False, and the request failed, when a rate is missing
 * or an amount would not fit. */
bool report_rows_converted(struct request *req, struct report_row **rows, size_t n,
			   const PGresult *rates, const char *target);
/* The rates a converted report used, distinct, in row order, into report. */
bool report_rates_out(struct request *req, struct report_row *const *rows, size_t n_rows,
		      const char *target, Tulay__V1__Report *report);
/* The cells of the report's rows (added up, sorted): one entry per cell in `target`. */
struct cell *report_cells_from_rows(struct request *req, struct report_row *const *rows,
				    size_t n_rows, const struct row_order *order,
				    const char *target, size_t *n_out);

#endif
