/* What claims.c shares with claim_lifecycle.c. */
#ifndef TULAYD_CLAIMS_H
#define TULAYD_CLAIMS_H

#include <libpq-fe.h>

#include "tulay/v1/envelope.pb-c.h"

struct request;

/* Replies with the claim of a claim_by_key / claim_by_reference result (its identity
 * opened), or ends the request when it cannot. */
void claim_reply(struct request *req, const PGresult *res);

/* The minor units of `m` as a parameter in the arena; NULL for no amount or out of memory. */
char *claim_money_param(struct request *req, const Tulay__V1__Money *m);

/* An optional amount: unset is fine; set, its currency must be known and its minor units
 * within [min, MONEY_MAX_MINOR_UNITS]; else a field error on `field`. */
void claim_validate_money(struct request *req, const char *field, const Tulay__V1__Money *m,
			  int64_t min);

#endif
