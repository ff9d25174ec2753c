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

#define IMPORT_MAX_STEPS 4 /* the changes one row may make to a case */

/* Where the update of one case stands (cli_import_update.c). */
struct import_update {
	const char *reference;          /* the row's (points into its cells) */
	int64_t file_version;           /* the row's version: the case as the file was exported */
	int64_t current;                /* the case's version when read */
	int64_t expected;               /* the version the step sent goes at */
	int nsteps, step;               /* the kind's changes, in order; the one sent */
	bool differs[IMPORT_MAX_STEPS]; /* the row's value is not the case's: to be sent */
	bool reading;                   /* the Get is what was sent */
	bool probing;                   /* past the file's version: the steps that already have the
					   row's values are sent again, to find those this import made */
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES]; /* the step's, from its content */
};

struct import_kind {
	const char *word; /* "claims": the command's operand, as `tulay export`'s */
	const char *noun; /* "claim" */
	const struct import_column *columns;
	int ncolumns;
	int nimported; /* columns 0 .. nimported - 1 make the new case (and its row's key) */
	int col_reference, col_organisation, col_version;
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
	/* A row naming a case of yours by its reference: the case read (its Get), compared
	 * (false: refused, `why` naming the column; else the steps, in order, and which of
	 * them differ from the case), then each step's request at a version, with the key of
	 * its content (import_step_key). */
	void (*update_read)(void *msg, const char *reference, Tulay__V1__Request *req);
	bool (*update_plan)(void *msg, const struct checker *k, const Tulay__V1__Response *resp,
			    int *nsteps, bool differs[IMPORT_MAX_STEPS], char *why, size_t cap);
	void (*update_step)(void *msg, int step, bool differs, int64_t version,
			    uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES], Tulay__V1__Request *req);
	int64_t (*case_version)(const Tulay__V1__Response *resp); /* -1: no case in it */
	/* The column of a field a step's refusal names, where it is not the field's own
	 * ("on" of a stage: its date's column); NULL for the usual one. May be NULL. */
	const char *(*step_column)(void *msg, int step, const char *field);
	/* For --help and --template. */
	const char *template_row;
	const char *description, *notes, *example;
};

/* The update path (cli_import_update.c): the first request (the Get), and what to do after
 * each answer; on UPDATE_STALE and UPDATE_REFUSED `why` says what, as "column: problem". */
void import_update_begin(const struct import_kind *kind, void *msg, const char *reference,
			 int64_t file_version, struct import_update *u, Tulay__V1__Request *req);
enum update_result import_update_next(const struct import_kind *kind, void *msg,
				      struct import_update *u, const struct checker *k,
				      const Tulay__V1__Response *resp, Tulay__V1__Request *req,
				      char *why, size_t cap);
/* The key of a step's request: its content (the key field left empty) made into a key. */
void import_step_key(ProtobufCMessage *msg, ProtobufCBinaryData *key_field,
		     uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES]);
/* Whether two amounts are the same (both unset, or equal). */
bool import_money_same(const Tulay__V1__Money *a, const Tulay__V1__Money *b);

extern const struct import_kind import_claims_kind, import_deportations_kind,
    import_recommendations_kind;

#endif
