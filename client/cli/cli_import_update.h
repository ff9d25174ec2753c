/* tulay import's update path: a row of the importer's own organisation that names a claim
 * by its reference changes that claim's status and amounts, at the version the file was
 * exported at. cli_import.c sends the requests; this decides them, one answer at a time:
 *
 *   GetClaim           the claim as it is now; the row's other cells must still be its own
 *   ChangeClaimStatus  when the row's status differs, at the file's version
 *   UpdateClaimAmounts when amount_awarded or amount_recovered differ, at the version the
 *                      status change left (or the file's)
 *
 * Nothing to change: unchanged. The claim changed since the export (its version is past
 * the file's): stale, flagged, never overwritten. Each request's idempotency key comes
 * from its own content, so a run cut between the two changes and run again finds its
 * status change by replaying it (the server answers a known key with its first answer)
 * and goes on with the amounts; any other change since the export is stale. */
#ifndef TULAY_CLI_IMPORT_UPDATE_H
#define TULAY_CLI_IMPORT_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli_import_rows.h"
#include "libtulay.h"

enum update_step { UPDATE_READ, UPDATE_STATUS, UPDATE_AMOUNTS };

enum update_result {
	UPDATE_SEND,           /* the next request is in *req: send it */
	UPDATE_UPDATED,        /* the claim now has the row's status and amounts */
	UPDATE_UNCHANGED,      /* it had them already */
	UPDATE_STALE,          /* changed since the export: why, naming the version */
	UPDATE_REFUSED,        /* why, naming the column */
	UPDATE_SERVER_REFUSED, /* the answer's status says why */
};

struct claim_update {
	struct claim_update_cells cells;
	enum update_step step;
	bool probing;    /* past the file's version: is the status change this import's? */
	int64_t current; /* the claim's version when read */
	bool change_status, change_awarded, change_recovered;
	Tulay__V1__GetClaim get;
	Tulay__V1__ChangeClaimStatus status;
	Tulay__V1__UpdateClaimAmounts amounts;
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
};

/* The first request, the GetClaim of the row's claim, into *req. */
void import_update_begin(struct claim_update *u, Tulay__V1__Request *req);

/* Takes the answer to the update's last request. `k` says which columns the file has;
 * `row` is the row read as a new claim, for the cells an import does not change. On
 * UPDATE_SEND the next request is in *req (pointing into u); on UPDATE_STALE and
 * UPDATE_REFUSED `why` says what, as "column: problem". */
enum update_result import_update_next(struct claim_update *u, const struct checker *k,
				      const Tulay__V1__CreateClaim *row,
				      const Tulay__V1__Response *resp, Tulay__V1__Request *req,
				      char *why, size_t cap);

#endif
