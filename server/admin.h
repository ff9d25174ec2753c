/* One-shot bootstrap commands run from a shell, before any admin can log in:
 * `tulayd org add` and `tulayd user add`. They block on libpq and never run inside the
 * server's event loop. */
#ifndef TULAYD_ADMIN_H
#define TULAYD_ADMIN_H

#include <libpq-fe.h>

#include "config.h"

/* Exit codes of tulayd's commands (sysexits.h where one fits), documented in --help. */
#define EXIT_USAGE       64 /* a wrong argument or setting */
#define EXIT_NO_DATABASE 69 /* the database cannot be reached */
#define EXIT_DB_ERROR    70 /* the database answered with an error */
#define EXIT_WRONG_KEY   78 /* the data key is not the one the database was used with */

/* Connects for a command run from a shell (blocking): prints why it failed, with
 * config_find_database's advice, and returns NULL. */
PGconn *admin_connect(const struct config *cfg);

/* `tulayd org add ...`; args are the words after "org". Returns the exit code. */
int admin_org_command(const struct config *cfg, int argc, char **argv);

/* `tulayd user add ...`; args are the words after "user". Returns the exit code. */
int admin_user_command(const struct config *cfg, int argc, char **argv);

#endif
