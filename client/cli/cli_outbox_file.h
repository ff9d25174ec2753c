/* The outbox file, for the outbox's two sides: cli_outbox.c (queuing, local ids, list, show,
 * drop) and cli_sync.c (tulay sync). */
#ifndef TULAY_CLI_OUTBOX_FILE_H
#define TULAY_CLI_OUTBOX_FILE_H

#include <stdbool.h>

#include <sqlite3.h>

#include "cli.h"

#define OUTBOX_ERROR_MAX 1000 /* bytes of a refused entry's error kept */

/* Says that `what` failed on the outbox file, with SQLite's reason. */
void outbox_db_failed(const struct cli *cli, sqlite3 *db, const char *what);

/* Opens the outbox, creating it when `create`. *db is NULL with CLI_EXIT_OK when there is
 * no outbox and !create (nothing was ever queued). */
int outbox_open(const struct cli *cli, bool create, sqlite3 **db);

/* The entries in `state` ("queued", "refused"); -1 when they cannot be counted. */
long long outbox_count(sqlite3 *db, const char *state);

/* Whether an entry's request ("create_claim") logs a case, which a local id may name. */
bool outbox_is_create(const char *request);

/* "local:7" -> 7; 0 for anything else. */
sqlite3_int64 outbox_local_id(const char *text);

#endif
