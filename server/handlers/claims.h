/* What claims.c shares with claim_reads.c and claim_lifecycle.c. */
#ifndef TULAYD_CLAIMS_H
#define TULAYD_CLAIMS_H

#include <libpq-fe.h>

#include "tulay/v1/envelope.pb-c.h"

struct request;

/* The columns claim_from_row() reads from wage_theft_claim_view, each by its name (every
 * computed one has an alias); a money is two, NAME_minor and NAME_currency. */
#define CLAIM_COLUMNS                                                                              \
	"reference, organisation, status, worker_nationality, country_of_work, sector, "           \
	"employer, to_char(work_started_on, 'YYYY-MM-DD') AS work_started_on, "                    \
	"to_char(work_ended_on, 'YYYY-MM-DD') AS work_ended_on, amount_claimed_minor, "            \
	"amount_claimed_currency, workers, to_char(opened_on, 'YYYY-MM-DD') AS opened_on, "        \
	"version, created_by, created_at, case_id, "                                               \
	"coalesce(to_char(closed_on, 'YYYY-MM-DD'), '') AS closed_on, "                            \
	"coalesce(recruitment_agency, '') AS recruitment_agency, recruitment_fee_minor, "          \
	"recruitment_fee_currency, contract_wage_minor, contract_wage_currency, "                  \
	"actual_wage_minor, actual_wage_currency, coalesce(forum, '') AS forum, "                  \
	"coalesce(to_char(filing_deadline, 'YYYY-MM-DD'), '') AS filing_deadline, "                \
	"array_to_string(exploitation_means, ',') AS exploitation_means, amount_awarded_minor, "   \
	"amount_awarded_currency, amount_recovered_minor, amount_recovered_currency, "             \
	"coalesce(office, '') AS office"
/* And, to show one claim, the sealed worker identity with what it is bound to. */
#define CLAIM_IDENTITY_COLUMNS                                                                     \
	CLAIM_COLUMNS ", org_id, idempotency_key, worker_name_enc, worker_id_number_enc, "         \
		      "worker_phone_enc"

/* --- a claim from its rows ------------------------------------------------------ */

/* The claim in row `row` of a result with CLAIM_COLUMNS (no identity, no timeline). NULL
 * (the request failed) when out of memory. */
Tulay__V1__Claim *claim_from_row(struct request *req, const PGresult *res, int row);
/* The claim of a CLAIM_IDENTITY_COLUMNS result (one row), its identity opened, with its
 * lead worker and, from a claim_workers_of result, the others; NULL after ending the
 * request. */
Tulay__V1__Claim *claim_build_group(struct request *req, const PGresult *res,
				    const PGresult *workers);
/* The sealed columns of a worker's identity: wage_theft_claims' (name, ID number, phone),
 * and claim_workers' for the other workers of a group claim. */
extern const char *const claim_identity_columns[3];
extern const char *const claim_co_worker_columns[3];
/* What a group claim's other worker at `position` (1, 2, ...) is sealed bound to: the
 * claim's idempotency key followed by the position; in the request's arena. */
uint8_t *claim_co_worker_key(struct request *req, const uint8_t *key, size_t len,
			     unsigned position);
/* Opens the worker's identity of row `row` of a CLAIM_IDENTITY_COLUMNS result into
 * claim->worker; false when memory runs out or a sealed value fails its check (logged). */
bool claim_open_identity(struct request *req, const PGresult *res, int row,
			 Tulay__V1__Claim *claim);
/* The co-workers of rows [from, to) of a result with claim_workers_of's columns (rows
 * whose position is NULL skipped) into claim->co_workers; false as claim_open_identity. */
bool claim_open_co_workers(struct request *req, const PGresult *res, int from, int to,
			   int64_t org_id, Tulay__V1__Claim *claim);
/* Answers the request with the claim. */
void claim_send(struct request *req, Tulay__V1__Claim *claim);

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
