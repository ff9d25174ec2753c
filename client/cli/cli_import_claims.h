/* tulay import claims: the columns of a claim (those of `tulay export claims`), a row read
 * as a CreateClaim, and what a row naming a claim of yours changes in it. */
#ifndef TULAY_CLI_IMPORT_CLAIMS_H
#define TULAY_CLI_IMPORT_CLAIMS_H

#include <stdbool.h>
#include <stdint.h>

#include "cli_import_kind.h"

#define IMPORT_MAX_CO_WORKER 100

/* The columns import reads, as `tulay export claims` writes them. Those the server
 * assigns (from COL_IMPORTED on) are read but not part of a new claim. */
enum claim_column {
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

/* What a row that names a claim by its reference would change in it: the cells of the
 * export that an import updates, as the row has them (unset when empty). */
struct claim_update_cells {
	Tulay__V1__ClaimStatus status; /* 0: the cell is empty */
	const char *reason;
	Tulay__V1__Money awarded, recovered;
	bool has_awarded, has_recovered;
};

/* One row: its CreateClaim and what it points to, and what it would update. */
struct claim_msg {
	Tulay__V1__CreateClaim m;
	Tulay__V1__Money claimed, fee, contract, actual;
	Tulay__V1__Worker worker;
	Tulay__V1__Worker co[IMPORT_MAX_CO_WORKER], *co_ptrs[IMPORT_MAX_CO_WORKER];
	int means[16];
	char *co_cell; /* a copy of the co_workers cell, cut into the co-workers' fields */
	struct claim_update_cells update; /* all unset when the row has no reference */
	/* The update's requests (cli_import_claims.c), and the amounts that differ. */
	bool change_awarded, change_recovered;
	Tulay__V1__GetClaim get;
	Tulay__V1__ChangeClaimStatus status;
	Tulay__V1__UpdateClaimAmounts amounts;
};

#endif
