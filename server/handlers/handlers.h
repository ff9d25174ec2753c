/* Request handlers, one file per domain. Each handler ends its request exactly once (see
 * request.h). Each file also lists the prepared statements it uses. */
#ifndef TULAYD_HANDLERS_H
#define TULAYD_HANDLERS_H

#include <stdbool.h>
#include <stdint.h>

#include "codes.h"
#include "common.h"
#include "db.h"
#include "tulay/v1/envelope.pb-c.h"

struct request;

/* The code stored for a value of one of the protocol's enums, and back, from its protobuf-c
 * descriptor (proto/codes.h): CODE_OF(sector, TULAY__V1__SECTOR__SECTOR_DOMESTIC_WORK) is
 * "domestic_work", NULL for 0 and unknown values; VALUE_OF(sector, code) is 0 for an
 * unknown code. `e` is the enum's name in snake case. */
#define ENUM_OF(e)        (&tulay__v1__##e##__descriptor)
#define CODE_OF(e, value) proto_code(ENUM_OF(e), (value))
#define VALUE_OF(e, code) proto_value(ENUM_OF(e), (code))

/* A mapping of enum values to other words than their codes (a Known as "true"/"false"):
 * table[value], NULL for 0 and values outside the table. */
#define TABLE_WORD(table, value)                                                                   \
	((value) > 0 && (size_t)(value) < N_ELEMS(table) ? (table)[(value)] : NULL)

/* session.c */
extern const struct db_statement session_statements[];
extern const unsigned session_statements_count;
extern const struct db_statement sealed_statements[];
extern const unsigned sealed_statements_count;
/* Prepares what login needs (libsodium, the decoy hash that makes a login for an unknown
 * user cost as much as for a known one). Blocking; call before the loop. Returns 0. */
int session_init(unsigned password_cost) __attribute__((warn_unused_result));
void handle_hello(struct request *req);
void handle_login(struct request *req);
void handle_authenticate(struct request *req);
void handle_logout(struct request *req);
void handle_sealed_request(struct request *req);

/* orgs.c */
extern const struct db_statement orgs_statements[];
extern const unsigned orgs_statements_count;
void handle_create_organisation(struct request *req);
void handle_list_organisations(struct request *req);
/* The Organisation in row `row` of a result with ORG_COLUMNS (in the arena); NULL when out
 * of memory. */
Tulay__V1__Organisation *org_from_row(struct request *req, const PGresult *res, int row);
/* The columns org_from_row reads, each by its name, for statements of other handler files. */
#define ORG_COLUMNS                                                                                \
	"org_id, acronym, name, kind, country, version, "                                          \
	"extract(epoch FROM created_at)::bigint AS created_at"

/* networks.c: memberships, field offices and an organisation's full picture */
extern const struct db_statement networks_statements[];
extern const unsigned networks_statements_count;
void handle_get_organisation(struct request *req);
void handle_add_membership(struct request *req);
void handle_end_membership(struct request *req);
void handle_accept_membership(struct request *req);
void handle_decline_membership(struct request *req);
void handle_add_office(struct request *req);

/* users.c */
extern const struct db_statement users_statements[];
extern const unsigned users_statements_count;
void handle_create_user(struct request *req);
void handle_list_users(struct request *req);
void handle_disable_user(struct request *req);
void handle_change_password(struct request *req);

/* claims.c */
extern const struct db_statement claims_statements[];
extern const unsigned claims_statements_count;
extern const struct db_statement claim_reads_statements[];
extern const unsigned claim_reads_statements_count;
void handle_create_claim(struct request *req);
void handle_get_claim(struct request *req);
void handle_list_claims(struct request *req);

/* claim_lifecycle.c */
extern const struct db_statement claim_lifecycle_statements[];
extern const unsigned claim_lifecycle_statements_count;
void handle_change_claim_status(struct request *req);
void handle_add_case_note(struct request *req);
void handle_update_claim_amounts(struct request *req);
void handle_record_payment(struct request *req);

/* deportations.c */
extern const struct db_statement deportations_statements[];
extern const unsigned deportations_statements_count;
void handle_create_deportation(struct request *req);
void handle_get_deportation(struct request *req);
void handle_record_deportation_stage(struct request *req);
void handle_add_intervention(struct request *req);

/* recommendations.c */
extern const struct db_statement recommendations_statements[];
extern const unsigned recommendations_statements_count;
void handle_create_recommendation(struct request *req);
void handle_get_recommendation(struct request *req);
void handle_change_recommendation_status(struct request *req);
void handle_link_evidence(struct request *req);

/* referrals.c */
extern const struct db_statement referrals_statements[];
extern const unsigned referrals_statements_count;
void handle_propose_referral(struct request *req);
void handle_decide_referral(struct request *req);
void handle_list_referrals(struct request *req);

/* cases.c: cases of every kind together */
void handle_export_cases(struct request *req);
extern const struct db_statement cases_statements[];
extern const unsigned cases_statements_count;
void handle_list_cases(struct request *req);

/* reports.c: GetReport */
extern const struct db_statement reports_statements[];
extern const unsigned reports_statements_count;
void handle_get_report(struct request *req);

/* rates.c: exchange rates */
extern const struct db_statement rates_statements[];
extern const unsigned rates_statements_count;
void handle_set_exchange_rate(struct request *req);
void handle_list_exchange_rates(struct request *req);

#endif
