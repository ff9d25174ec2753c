/* What tulay import needs to know of a kind of case: its columns (those of `tulay export`),
 * how a row becomes its create request, and whether a row naming a case of yours changes
 * it. cli_import.c runs an import of any kind; cli_import_claims.c and cli_import_cases.c
 * describe the kinds. */
#ifndef TULAY_CLI_IMPORT_KIND_H
#define TULAY_CLI_IMPORT_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli_import_rows.h"
#include "libtulay.h"

/* Where a row naming a case of yours stands after an answer. */
enum update_result {
	UPDATE_SEND,           /* the next request is in *req: send it */
	UPDATE_UPDATED,        /* the case now has the row's values */
	UPDATE_UNCHANGED,      /* it had them already */
	UPDATE_STALE,          /* changed since the export: why, naming the version */
	UPDATE_REFUSED,        /* why, naming the column */
	UPDATE_SERVER_REFUSED, /* the answer's status says why */
};

struct import_kind {
	const char *word; /* "claims": the command's operand, as `tulay export`'s */
	const char *noun; /* "claim" */
	const struct import_column *columns;
	int ncolumns;
	int nimported; /* columns 0 .. nimported - 1 make the new case (and its row's key) */
	int col_reference, col_organisation;
	const char *key_purpose; /* of the rows' idempotency keys */
	size_t msg_size;         /* the kind's message of one row (struct claim_msg ...) */
	/* Starts checking a row (import_check_begin) and fills msg, pointing into the row's
	 * cells; the problems are in k. */
	void (*check)(struct checker *k, const struct row *row, void *msg);
	/* The create request of a checked row, with its key. */
	void (*create)(void *msg, const uint8_t key[16], Tulay__V1__Request *req);
	/* The created_at of the case in a create's answer; -1 when it has none. */
	int64_t (*created_at)(const Tulay__V1__Response *resp);
	void (*msg_free)(void *msg); /* frees what check allocated into msg, or NULL */
	/* A row naming a case of yours by its reference: its first request, then the next
	 * after each answer (cli_import_update.c for claims). NULL: an import does not change
	 * cases of this kind, and such a row is refused with `no_update` (the command to use). */
	void (*update_begin)(void *msg, Tulay__V1__Request *req);
	enum update_result (*update_next)(void *msg, const struct checker *k,
					  const Tulay__V1__Response *resp, Tulay__V1__Request *req,
					  char *why, size_t cap);
	const char *no_update;
	/* For --help and --template. */
	const char *template_row;
	const char *description, *notes, *example;
};

extern const struct import_kind import_claims_kind, import_deportations_kind,
    import_recommendations_kind;

#endif
