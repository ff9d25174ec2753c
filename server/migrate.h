/* Schema migrations: plain SQL files migrations/NNNN_name.sql applied in order, each in its
 * own transaction, under an advisory lock, and recorded with a SHA-256 checksum in
 * schema_migrations. An applied file that was edited afterwards is an error.
 *
 * These are one-shot admin commands that block on libpq: they never run on the event loop
 * (`tulayd migrate` is its own process; the schema check runs before the loop starts). */
#ifndef TULAYD_MIGRATE_H
#define TULAYD_MIGRATE_H

#include "config.h"

/* The schema version this build of tulayd needs: the number of its newest migration. */
#define MIGRATE_REQUIRED_VERSION 29

/* `tulayd migrate status|up [--dry-run]`: args are the words after "migrate". Prints to
 * stdout/stderr. Returns the exit code: 0 success (status: up to date), 1 error, 2 status
 * found pending migrations, 64 usage, 69 when the database cannot be reached. */
int migrate_command(const struct config *cfg, int argc, char **argv);

/* Before serving: returns 0 if tulayd's database role owns nothing and cannot bypass
 * row-level security, and the database has at least MIGRATE_REQUIRED_VERSION; else prints
 * why and what fixes it to stderr and returns the exit code: EXIT_NO_DATABASE (69) when it
 * cannot connect, 1 for the role, 2 for the schema. */
int migrate_check_schema(const struct config *cfg);

/* Compares the loaded data key (vault_load) with the check value the database keeps
 * (data_key_check). When there is none (a database older than 0025), the key must open a
 * sealed worker name of the database, if it holds any (data_key_sample()); then, when
 * `record`, its check value is recorded. Returns 0 when it matches (or opens the data);
 * else prints why and what to do, and returns the exit code: EXIT_WRONG_KEY (78) for another key, 3
 * when none is recorded (and not `record`) or the schema predates the check (migration 0025),
 * EXIT_NO_DATABASE or EXIT_DB_ERROR. Blocking: before the loop, or from a shell. */
int migrate_check_key(const struct config *cfg, bool record);

/* `tulayd keycheck`: migrate_check_key without recording, and a line saying so. */
int migrate_keycheck_command(const struct config *cfg, int argc, char **argv);

#endif
