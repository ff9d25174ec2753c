/* The table from request body to handler, with what each needs before it may run. */
#ifndef TULAYD_DISPATCH_H
#define TULAYD_DISPATCH_H

#include <stdbool.h>

#include "db.h"

struct request;

enum handler_access {
	ACCESS_HELLO,   /* only Hello itself: allowed first */
	ACCESS_ANON,    /* after Hello, before authentication: Login, Authenticate */
	ACCESS_SESSION, /* needs an authenticated, unexpired session */
};

struct handler {
	const char *name;
	int body; /* TULAY__V1__REQUEST__BODY_* */
	enum handler_access access;
	bool barrier;  /* changes connection state: later frames wait until it ends */
	bool mutating; /* a write: on database loss its outcome is unknown */
	void (*fn)(struct request *req);
	bool replica; /* a read a standby may serve (--db-replica): reports and lists */
};

/* The i-th handler of the table (0, 1, ...), or NULL past its end; and a handler's index. */
const struct handler *dispatch_at(unsigned i);
unsigned dispatch_index(const struct handler *h);

/* The handler for a Request body case, or NULL for an unknown one. */
const struct handler *dispatch_find(int body);

/* Every prepared statement of every handler module, for the database pool. */
const struct db_statement *dispatch_statements(unsigned *count);

#endif
