/* `tulayd audit verify` and `tulayd audit seal`: one-shot admin commands that block on
 * libpq; they never run inside the server's event loop.
 *
 * verify recomputes, independently of the database's own functions, the hash chain of the
 * sealed audit rows and the chain of the blocks that seal them
 * (migrations/0013_concurrent_writes.sql), reports the first broken link, and counts the
 * unsealed tail. seal chains every row whose transaction has ended, as tulayd's sealer
 * does in the background. */
#ifndef TULAYD_AUDIT_H
#define TULAYD_AUDIT_H

#include "config.h"

/* args are the words after "audit". Returns the exit code: 0 intact (verify) or done
 * (seal), 1 broken or error, 64 usage. */
int audit_command(const struct config *cfg, int argc, char **argv);

#endif
