/* What tulay import reads: a CSV file, a row at a time (libcsv), and the checks of its
 * cells that turn a row into a request or name each bad cell with its fix. The columns of
 * each kind of case, and what a row becomes, are in cli_import_claims.c and
 * cli_import_cases.c; cli_import.c sends them. */
#ifndef TULAY_CLI_IMPORT_ROWS_H
#define TULAY_CLI_IMPORT_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "cli_vocab.h"
#include "libtulay.h"

#define IMPORT_MAX_COLUMNS 48
#define IMPORT_MAX_ERRORS  8    /* per row, in the refused file's errors cell */
#define IMPORT_ROW         (-1) /* a problem of the row, not of one cell */

/* A column's name in the header, whether a row must fill it, and what it takes (NULL:
 * written by an export, not imported). */
struct import_column {
	const char *name;
	bool required;
	const char *help;
};

struct row {
	size_t line;   /* where the row starts in the file */
	size_t ncells; /* as many as the file has */
	char *cells[IMPORT_MAX_COLUMNS + 1];
	bool too_many; /* more cells than IMPORT_MAX_COLUMNS */
};

/* Reads `path` and calls on_row for each row (which may take the cells: set ncells to 0).
 * 0, or -1 after saying why. */
int import_read_csv(struct cli *cli, const char *path, void (*on_row)(struct row *, void *),
		    void *ctx);
/* Frees the row's cells. */
void import_row_free(struct row *row);

struct problem {
	int col; /* a column of the kind, or IMPORT_ROW */
	char text[200];
};

struct checker {
	const struct import_column *columns; /* the kind's */
	int ncolumns;
	int map[IMPORT_MAX_COLUMNS];   /* file column -> the kind's column, -1: not one */
	int where[IMPORT_MAX_COLUMNS]; /* the kind's column -> file column, -1: absent */
	struct problem problems[IMPORT_MAX_ERRORS * 2];
	size_t nproblems;
	const struct row *row;
	const char *own_org; /* the importer's organisation once known (pass 2), or NULL */
};

/* Starts checking a row: no problems yet. */
void import_check_begin(struct checker *k, const struct row *row);
__attribute__((format(printf, 3, 4))) void import_problem(struct checker *k, int col,
							  const char *fmt, ...);
/* The row's cell of `col`, "" when the file has no such column or the row is short. */
const char *import_cell(const struct checker *k, int col);

/* The checks of one cell, each naming the problem with its fix; an empty cell is a problem
 * only in a required column. They return the cell, or the value read. */
const char *import_text(struct checker *k, int col, size_t max_chars);
const char *import_country(struct checker *k, int col); /* ISO 3166-1 alpha-2 */
bool import_date(struct checker *k, int col);           /* YYYY-MM-DD; false: empty or bad */
/* An approximate date (YYYY-MM-DD, YYYY-MM or YYYY, ~ first: circa) into *out; NULL when
 * the cell is empty or bad. */
Tulay__V1__ApproxDate *import_approx_date(struct checker *k, int col, Tulay__V1__ApproxDate *out);
/* The version of a row naming a case by reference: the whole number an export wrote,
 * required (a case of yours is changed at that version); 0 when missing or bad. */
int64_t import_version(struct checker *k, int col);
/* An amount and its currency column into *out: false when both are empty (or bad). */
bool import_money(struct checker *k, int amount, int currency, int64_t min, Tulay__V1__Money *out);
int import_word(struct checker *k, int col, const struct vocab *v); /* 0: empty or bad */
/* Words of v, comma-separated, into values (at most cap); how many. */
size_t import_words(struct checker *k, int col, const struct vocab *v, int *values, size_t cap);

/* A person's name, ID number and phone (NULL: none), as the server takes them; `cols`
 * name them in messages. */
void import_identity(struct checker *k, const int cols[3], const char *name, const char *id,
		     const char *phone);

/* The column of a server's field error: "worker.name" is worker_name (a column of the
 * kind), "arrested_on.date" arrested_on, "co_workers[2].name" co_workers, and
 * "expected_version" the row's version; into buf. */
const char *import_field_column(const struct checker *k, const char *field, char *buf, size_t cap);

/* The digest of a row's cells of columns 0 .. ncolumns - 1 (each with its NUL). */
void import_row_digest(const struct checker *k, int ncolumns, uint8_t digest[32]);
/* The idempotency key of a row of that digest after `occurrence` identical rows. */
void import_row_key(const char *purpose, const uint8_t digest[32], unsigned occurrence,
		    uint8_t key[16]);
/* The idempotency key of one request an import makes (`bytes`: the request packed with an
 * empty key), so that the same change in a file run again has the same key. */
void import_request_key(const char *purpose, const uint8_t *bytes, size_t len, uint8_t key[16]);

#endif
