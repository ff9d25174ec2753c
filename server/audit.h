/* `tulayd audit verify`: recomputes the hash chain of the audit log independently of the
 * database's own functions and reports the first broken link. A one-shot admin command
 * that blocks on libpq; it never runs inside the server's event loop. */
#ifndef TULAYD_AUDIT_H
#define TULAYD_AUDIT_H

#include "config.h"

/* args are the words after "audit". Returns the exit code: 0 intact, 1 broken or error,
 * 64 usage. */
int audit_command(const struct config *cfg, int argc, char **argv);

#endif
