/* One-shot bootstrap commands run from a shell, before any admin can log in:
 * `tulayd org add` and `tulayd user add`. They block on libpq and never run inside the
 * server's event loop. */
#ifndef TULAYD_ADMIN_H
#define TULAYD_ADMIN_H

#include "config.h"

/* `tulayd org add ...`; args are the words after "org". Returns the exit code. */
int admin_org_command(const struct config *cfg, int argc, char **argv);

/* `tulayd user add ...`; args are the words after "user". Returns the exit code. */
int admin_user_command(const struct config *cfg, int argc, char **argv);

#endif
