/* What tulay import reads: a CSV file of claims, a row at a time (libcsv), each row checked
 * and turned into a CreateClaim. cli_import.c sends them. */
#ifndef TULAY_CLI_IMPORT_ROWS_H
#define TULAY_CLI_IMPORT_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "libtulay.h"

#define IMPORT_MAX_COLUMNS   48
#define IMPORT_MAX_ERRORS    8 /* per row, in the refused file's errors cell */
#define IMPORT_MAX_CO_WORKER 100

/* The columns import reads, as `tulay export claims` writes them. Those the server
 * assigns (from COL_IMPORTED on) are read but not imported. */
enum column {
	COL_WORKER_NATIONALITY,
	COL_COUNTRY_OF_WORK,
	COL_SECTOR,
	COL_EMPLOYER,
	COL_WORK_STARTED_ON,
	COL_WORK_ENDED_ON,
	COL_AMOUNT_CLAIMED,
	COL_AMOUNT_CLAIMED_CURRENCY,
	COL_WORKERS,
	COL_RECRUITMENT_AGENCY,
	COL_RECRUITMENT_FEE,
	COL_RECRUITMENT_FEE_CURRENCY,
	COL_CONTRACT_WAGE,
	COL_CONTRACT_WAGE_CURRENCY,
	COL_ACTUAL_WAGE,
	COL_ACTUAL_WAGE_CURRENCY,
	COL_EXPLOITATION_MEANS,
	COL_FORUM,
	COL_FILING_DEADLINE,
	COL_OFFICE,
	COL_WORKER_NAME,
	COL_WORKER_ID_NUMBER,
	COL_WORKER_PHONE,
	COL_CO_WORKERS,
	COL_IMPORTED, /* the columns above are imported */
	COL_REFERENCE = COL_IMPORTED,
	COL_ORGANISATION,
	COL_STATUS,
	COL_AMOUNT_AWARDED,
	COL_AMOUNT_AWARDED_CURRENCY,
	COL_AMOUNT_RECOVERED,
	COL_AMOUNT_RECOVERED_CURRENCY,
	COL_OPENED_ON,
	COL_CLOSED_ON,
	COL_VERSION,
	COL_CREATED_BY,
	COL_CREATED_AT,
	COL_REASON, /* not exported: why an update moves a claim's status */
	COL_COUNT,
};

/* A column's name in the header, whether a row must fill it, and what it takes. */
struct import_column {
	const char *name;
	bool required;
	const char *help;
};
extern const struct import_column import_columns[COL_COUNT];

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
	enum column col;
	char text[200];
};

/* What a row that names a claim by its reference would change in it: the cells of the
 * export that an import updates, as the row has them (unset when empty). */
struct claim_update_cells {
	const char *reference;
	int64_t version;               /* 0: the cell is empty */
	Tulay__V1__ClaimStatus status; /* 0: the cell is empty */
	const char *reason;
	Tulay__V1__Money awarded, recovered;
	bool has_awarded, has_recovered;
};

/* The CreateClaim of one row and what it points to, and what it would update. */
struct claim_msg {
	Tulay__V1__CreateClaim m;
	Tulay__V1__Money claimed, fee, contract, actual;
	Tulay__V1__Worker worker;
	Tulay__V1__Worker co[IMPORT_MAX_CO_WORKER], *co_ptrs[IMPORT_MAX_CO_WORKER];
	Tulay__V1__ExploitationMeans means[16];
	char *co_cell; /* a copy of the co_workers cell, cut into the co-workers' fields */
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	struct claim_update_cells update; /* all unset when the row has no reference */
};

struct checker {
	int map[IMPORT_MAX_COLUMNS]; /* file column -> enum column, -1: not ours */
	int where[COL_COUNT];        /* enum column -> file column, -1: absent */
	struct problem problems[IMPORT_MAX_ERRORS * 2];
	size_t nproblems;
	const struct row *row;
};

/* Fills c from the row (c points into the row's cells), and c->update from a row with a
 * reference (version, status, amounts, reason); the problems are in k. The header
 * must have been mapped into k->map and k->where. */
void import_check_row(struct checker *k, const struct row *row, struct claim_msg *c);
/* The row's cell of `col`, "" when the file has no such column or the row is short. */
const char *import_cell(const struct checker *k, enum column col);
/* The idempotency key of one request an import makes (`bytes`: the request packed with
 * an empty key), so that the same change in a file run again has the same key. */
void import_request_key(const char *purpose, const uint8_t *bytes, size_t len, uint8_t key[16]);

/* The digest of a row's imported cells, and the idempotency key of a row of that digest
 * after `occurrence` identical rows. */
void import_row_digest(const struct checker *k, uint8_t digest[32]);
void import_row_key(const uint8_t digest[32], unsigned occurrence, uint8_t key[16]);

#endif
