/* Reads a standby serves (--db-replica): reports and lists (handler->replica) go to the
 * standby's pool while one of its connections is up; their audit entries to the primary,
 * before the answer. See standby.c. */
#ifndef TULAYD_STANDBY_H
#define TULAYD_STANDBY_H

#include <stdbool.h>

#include "db.h"
#include "request.h"

extern const struct db_statement standby_statements[];
extern const unsigned standby_statements_count;

/* True when the handler allows a standby to serve its reads and a standby connection is
 * up: request_db then holds the audit entry back for the primary. A replica handler's
 * last job must carry an audit entry: writing it on the primary checks the session there
 * too, which the standby may know only as it was a moment ago. */
bool standby_eligible(const struct request *req);

/* Sends the wrapped job (without its audit entry) to the standby. Returns false, with the
 * audit entry back in the job, when the primary must serve it. */
bool standby_submit(struct request *req);

#endif
