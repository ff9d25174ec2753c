#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "handlers/case_common.h"
#include "handlers/handlers.h"
#include "chore.h"
#include "request.h"
#include "standby.h"
#include "tulay/v1/envelope.pb-c.h"

static const struct handler handlers[] = {
    {"hello", TULAY__V1__REQUEST__BODY_HELLO, ACCESS_HELLO, true, false, handle_hello, false},
    {"login", TULAY__V1__REQUEST__BODY_LOGIN, ACCESS_ANON, true, false, handle_login, false},
    {"authenticate", TULAY__V1__REQUEST__BODY_AUTHENTICATE, ACCESS_ANON, true, false,
     handle_authenticate, false},
    {"logout", TULAY__V1__REQUEST__BODY_LOGOUT, ACCESS_SESSION, true, true, handle_logout, false},
    /* Opened, then handled as the case write it holds (handlers/sealed.c). */
    {"sealed_request", TULAY__V1__REQUEST__BODY_SEALED_REQUEST, ACCESS_SESSION, false, true,
     handle_sealed_request, false},
    {"create_organisation", TULAY__V1__REQUEST__BODY_CREATE_ORGANISATION, ACCESS_SESSION, false,
     true, handle_create_organisation, false},
    {"list_organisations", TULAY__V1__REQUEST__BODY_LIST_ORGANISATIONS, ACCESS_SESSION, false,
     false, handle_list_organisations, false},
    {"create_claim", TULAY__V1__REQUEST__BODY_CREATE_CLAIM, ACCESS_SESSION, false, true,
     handle_create_claim, false},
    {"get_claim", TULAY__V1__REQUEST__BODY_GET_CLAIM, ACCESS_SESSION, false, false,
     handle_get_claim, false},
    {"list_claims", TULAY__V1__REQUEST__BODY_LIST_CLAIMS, ACCESS_SESSION, false, false,
     handle_list_claims, true},
    {"create_user", TULAY__V1__REQUEST__BODY_CREATE_USER, ACCESS_SESSION, false, true,
     handle_create_user, false},
    {"list_users", TULAY__V1__REQUEST__BODY_LIST_USERS, ACCESS_SESSION, false, false,
     handle_list_users, false},
    {"disable_user", TULAY__V1__REQUEST__BODY_DISABLE_USER, ACCESS_SESSION, false, true,
     handle_disable_user, false},
    {"change_password", TULAY__V1__REQUEST__BODY_CHANGE_PASSWORD, ACCESS_SESSION, false, true,
     handle_change_password, false},
    {"get_organisation", TULAY__V1__REQUEST__BODY_GET_ORGANISATION, ACCESS_SESSION, false, false,
     handle_get_organisation, false},
    {"add_membership", TULAY__V1__REQUEST__BODY_ADD_MEMBERSHIP, ACCESS_SESSION, false, true,
     handle_add_membership, false},
    {"end_membership", TULAY__V1__REQUEST__BODY_END_MEMBERSHIP, ACCESS_SESSION, false, true,
     handle_end_membership, false},
    {"accept_membership", TULAY__V1__REQUEST__BODY_ACCEPT_MEMBERSHIP, ACCESS_SESSION, false, true,
     handle_accept_membership, false},
    {"decline_membership", TULAY__V1__REQUEST__BODY_DECLINE_MEMBERSHIP, ACCESS_SESSION, false, true,
     handle_decline_membership, false},
    {"add_office", TULAY__V1__REQUEST__BODY_ADD_OFFICE, ACCESS_SESSION, false, true,
     handle_add_office, false},
    {"change_claim_status", TULAY__V1__REQUEST__BODY_CHANGE_CLAIM_STATUS, ACCESS_SESSION, false,
     true, handle_change_claim_status, false},
    {"add_case_note", TULAY__V1__REQUEST__BODY_ADD_CASE_NOTE, ACCESS_SESSION, false, true,
     handle_add_case_note, false},
    {"update_claim_amounts", TULAY__V1__REQUEST__BODY_UPDATE_CLAIM_AMOUNTS, ACCESS_SESSION, false,
     true, handle_update_claim_amounts, false},
    {"record_payment", TULAY__V1__REQUEST__BODY_RECORD_PAYMENT, ACCESS_SESSION, false, true,
     handle_record_payment, false},
    {"create_deportation", TULAY__V1__REQUEST__BODY_CREATE_DEPORTATION, ACCESS_SESSION, false, true,
     handle_create_deportation, false},
    {"get_deportation", TULAY__V1__REQUEST__BODY_GET_DEPORTATION, ACCESS_SESSION, false, false,
     handle_get_deportation, false},
    {"record_deportation_stage", TULAY__V1__REQUEST__BODY_RECORD_DEPORTATION_STAGE, ACCESS_SESSION,
     false, true, handle_record_deportation_stage, false},
    {"add_intervention", TULAY__V1__REQUEST__BODY_ADD_INTERVENTION, ACCESS_SESSION, false, true,
     handle_add_intervention, false},
    {"create_recommendation", TULAY__V1__REQUEST__BODY_CREATE_RECOMMENDATION, ACCESS_SESSION, false,
     true, handle_create_recommendation, false},
    {"get_recommendation", TULAY__V1__REQUEST__BODY_GET_RECOMMENDATION, ACCESS_SESSION, false,
     false, handle_get_recommendation, false},
    {"change_recommendation_status", TULAY__V1__REQUEST__BODY_CHANGE_RECOMMENDATION_STATUS,
     ACCESS_SESSION, false, true, handle_change_recommendation_status, false},
    {"link_evidence", TULAY__V1__REQUEST__BODY_LINK_EVIDENCE, ACCESS_SESSION, false, true,
     handle_link_evidence, false},
    {"propose_referral", TULAY__V1__REQUEST__BODY_PROPOSE_REFERRAL, ACCESS_SESSION, false, true,
     handle_propose_referral, false},
    {"decide_referral", TULAY__V1__REQUEST__BODY_DECIDE_REFERRAL, ACCESS_SESSION, false, true,
     handle_decide_referral, false},
    {"list_referrals", TULAY__V1__REQUEST__BODY_LIST_REFERRALS, ACCESS_SESSION, false, false,
     handle_list_referrals, true},
    {"list_cases", TULAY__V1__REQUEST__BODY_LIST_CASES, ACCESS_SESSION, false, false,
     handle_list_cases, true},
    {"export_cases", TULAY__V1__REQUEST__BODY_EXPORT_CASES, ACCESS_SESSION, false, false,
     handle_export_cases, false},
    {"get_report", TULAY__V1__REQUEST__BODY_GET_REPORT, ACCESS_SESSION, false, false,
     handle_get_report, true},
    {"set_exchange_rate", TULAY__V1__REQUEST__BODY_SET_EXCHANGE_RATE, ACCESS_SESSION, false, true,
     handle_set_exchange_rate, false},
    {"list_exchange_rates", TULAY__V1__REQUEST__BODY_LIST_EXCHANGE_RATES, ACCESS_SESSION, false,
     false, handle_list_exchange_rates, false},
};

const struct handler *dispatch_at(unsigned i)
{
	return i < N_ELEMS(handlers) ? &handlers[i] : NULL;
}

unsigned dispatch_index(const struct handler *h)
{
	return (unsigned)(h - handlers);
}

const struct handler *dispatch_find(int body)
{
	for (size_t i = 0; i < N_ELEMS(handlers); i++) {
		if (handlers[i].body == body)
			return &handlers[i];
	}
	return NULL;
}

const struct db_statement *dispatch_statements(unsigned *count)
{
	static struct db_statement all[128];
	static unsigned n;
	if (n == 0) {
		const struct {
			const struct db_statement *set;
			unsigned count;
		} sets[] = {
		    {request_statements, request_statements_count},
		    {standby_statements, standby_statements_count},
		    {session_statements, session_statements_count},
		    {sealed_statements, sealed_statements_count},
		    {orgs_statements, orgs_statements_count},
		    {claims_statements, claims_statements_count},
		    {claim_reads_statements, claim_reads_statements_count},
		    {claim_lifecycle_statements, claim_lifecycle_statements_count},
		    {users_statements, users_statements_count},
		    {networks_statements, networks_statements_count},
		    {case_common_statements, case_common_statements_count},
		    {deportations_statements, deportations_statements_count},
		    {recommendations_statements, recommendations_statements_count},
		    {referrals_statements, referrals_statements_count},
		    {cases_statements, cases_statements_count},
		    {reports_statements, reports_statements_count},
		    {rates_statements, rates_statements_count},
		    {chore_statements, chore_statements_count},
		};
		for (size_t s = 0; s < N_ELEMS(sets); s++) {
			for (unsigned i = 0; i < sets[s].count; i++) {
				/* A table that outgrows `all` is a programming error: stop at
				 * once rather than serve without some statements. */
				if (n == N_ELEMS(all)) {
					fprintf(stderr,
						"tulayd: more than %zu prepared statements: "
						"raise the size of all[] in dispatch.c\n",
						N_ELEMS(all));
					abort();
				}
				all[n++] = sets[s].set[i];
			}
		}
	}
	*count = n;
	return all;
}
