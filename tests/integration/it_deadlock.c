/* No deadlocks (issue 11, part 2): ten clients, each on its own connection, make 1,000
 * updates of every kind on a dozen overlapping cases at once: claim status changes and
 * amounts, case notes, deportation stages and interventions, recommendation status changes
 * and evidence links, and referrals proposed by DEMO, accepted or declined by MYNGO,
 * revoked by DEMO, with MYNGO writing to the cases it accepted. Versions are read fresh
 * before every versioned write; a stale version (FAILED_PRECONDITION) is expected and
 * retried a few times, as a client would.
 *
 * Afterwards: PostgreSQL's log, from where it stood when the test began, has no "deadlock
 * detected"; tulayd's log has no request that failed on a deadlock (event=db_busy with
 * sqlstate=40P01, answered UNAVAILABLE); no answer was INTERNAL; and every other answer is
 * one the requests can legitimately get. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "it_concurrent.h"
#include "it_support.h"
#include "libtulay.h"

#define N_CLAIMS          6
#define N_DEPORTATIONS    3
#define N_RECOMMENDATIONS 3
#define N_DEMO_WORKERS    8
#define N_PARTNER_WORKERS 2
#define N_WORKERS         (N_DEMO_WORKERS + N_PARTNER_WORKERS)
#define UPDATES_TOTAL     1000
#define PARTNER_UPDATES   60 /* each; the DEMO workers share the rest */
/* Fresh reads and retries of a versioned write that met a newer version. */
#define STALE_RETRIES 4
/* Resends of a write answered UNAVAILABLE, with the same key. */
#define UNAVAILABLE_RETRIES 5

/* The overlapping cases every worker writes to, created before the workers start. */
static char claims[N_CLAIMS][32];
static char deportations[N_DEPORTATIONS][32];
static char recommendations[N_RECOMMENDATIONS][32];

enum op {
	OP_CLAIM_STATUS,
	OP_CLAIM_AMOUNTS,
	OP_NOTE,
	OP_STAGE,
	OP_INTERVENTION,
	OP_RECOMMENDATION_STATUS,
	OP_LINK_EVIDENCE,
	OP_PROPOSE_REFERRAL,
	OP_REVOKE_REFERRAL,
	OP_DECIDE_REFERRAL,
	OP_PARTNER_WRITE,
	N_OPS
};

static const char *const op_names[N_OPS] = {
    "claim status",     "claim amounts",         "case note",     "deportation stage",
    "intervention",     "recommendation status", "evidence link", "referral proposed",
    "referral revoked", "referral decided",      "partner write"};

/* How an update ended: written; refused with an answer its request may legitimately get
 * under concurrency (a newer version after the retries, a link or referral that exists, a
 * case no longer shared); or failed otherwise (an unexpected answer, or none). */
enum outcome { WRITTEN, REFUSED, FAILED };

struct worker {
	int index;
	const char *username;
	bool partner; /* MYNGO's klofficer: decides referrals, writes to accepted cases */
	int updates;
	uint64_t rng;
	struct tulay_client *c;
	struct it_tally writes; /* every answer to a write, retries included */
	struct it_tally reads;  /* the fresh reads before versioned writes, the lists */
	int outcomes[N_OPS][3];
	int unexpected;
	char first_unexpected[3][300];
	bool no_login;
};

/* Records an answer a worker did not expect, keeping the first few for the report. */
static void unexpected(struct worker *w, const char *what, const Tulay__V1__Response *resp)
{
	if (w->unexpected < 3) {
		char *slot = w->first_unexpected[w->unexpected];
		if (resp != NULL)
			snprintf(slot, sizeof(w->first_unexpected[0]), "%s: %s: %s%s%s", what,
				 tulay_code_name(resp->status->code), resp->status->message,
				 resp->status->n_field_errors > 0 ? " on " : "",
				 resp->status->n_field_errors > 0
				     ? resp->status->field_errors[0]->field
				     : "");
		else
			snprintf(slot, sizeof(w->first_unexpected[0]), "%s: no answer: %s", what,
				 tulay_last_error(w->c));
	}
	w->unexpected++;
}

static Tulay__V1__Code code_of(const Tulay__V1__Response *resp)
{
	return resp->status->code;
}

/* Whether the answer says MYNGO's access to a shared case ended: DEMO revoked the referral
 * before the request (NOT_FOUND), or while it ran (PERMISSION_DENIED, nothing saved). */
static bool lost_access(const struct worker *w, Tulay__V1__Code code)
{
	return w->partner &&
	       (code == TULAY__V1__CODE__NOT_FOUND || code == TULAY__V1__CODE__PERMISSION_DENIED);
}

/* A read (counted apart from writes). Returns the response or NULL (recorded). */
static Tulay__V1__Response *read_call(struct worker *w, Tulay__V1__Request *req, const char *what)
{
	Tulay__V1__Response *resp = NULL;
	if (it_call_retrying(w->c, req, UNAVAILABLE_RETRIES, &w->reads, &resp) != 0) {
		unexpected(w, what, NULL);
		return NULL;
	}
	return resp;
}

static Tulay__V1__Response *write_call(struct worker *w, Tulay__V1__Request *req, const char *what)
{
	Tulay__V1__Response *resp = NULL;
	if (it_call_retrying(w->c, req, UNAVAILABLE_RETRIES, &w->writes, &resp) != 0) {
		unexpected(w, what, NULL);
		return NULL;
	}
	return resp;
}

/* The organisation field of a request on DEMO's cases: "" for DEMO's own workers. */
static char *case_org(const struct worker *w)
{
	return w->partner ? "DEMO" : "";
}

/* Where a claim goes next, along legal moves that keep it open most of the time: intake
 * -> filed <-> in mediation, and now and then filed -> rejected -> filed (both need a
 * reason). */
static Tulay__V1__ClaimStatus next_claim_status(struct worker *w, Tulay__V1__ClaimStatus from,
						bool *needs_reason)
{
	*needs_reason = false;
	switch (from) {
	case TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_INTAKE:
		return TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_FILED;
	case TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_FILED:
		if (it_rand(&w->rng, 5) == 0) {
			*needs_reason = true;
			return TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_REJECTED;
		}
		return TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_IN_MEDIATION;
	case TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_IN_MEDIATION:
		return TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_FILED;
	case TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_REJECTED:
		*needs_reason = true;
		return TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_FILED;
	case TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_WITHDRAWN:
		*needs_reason = true;
		return TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_INTAKE;
	case TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_AWARDED:
		return TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_PARTIALLY_PAID;
	default:
		return TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_PAID;
	}
}

/* Reads the claim (fresh version), then moves it or records amounts with that version
 * (once something is recovered, half the time a payment instead, which needs no version);
 * a newer version meanwhile is read again and retried. */
static enum outcome claim_update(struct worker *w, const char *reference, bool amounts)
{
	const char *what = amounts ? "UpdateClaimAmounts" : "ChangeClaimStatus";
	for (int attempt = 0; attempt <= STALE_RETRIES; attempt++) {
		Tulay__V1__Request get = TULAY__V1__REQUEST__INIT;
		Tulay__V1__GetClaim g = TULAY__V1__GET_CLAIM__INIT;
		g.reference = (char *)reference;
		g.organisation = case_org(w);
		get.body_case = TULAY__V1__REQUEST__BODY_GET_CLAIM;
		get.get_claim = &g;
		Tulay__V1__Response *claim = read_call(w, &get, "GetClaim");
		if (claim == NULL)
			return FAILED;
		if (code_of(claim) != TULAY__V1__CODE__OK) {
			/* A partner's access ends when DEMO revokes the referral. */
			bool revoked = lost_access(w, code_of(claim));
			if (!revoked)
				unexpected(w, "GetClaim", claim);
			tulay_response_free(claim);
			return revoked ? REFUSED : FAILED;
		}
		uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
		it_new_key(key);
		Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
		Tulay__V1__ChangeClaimStatus change = TULAY__V1__CHANGE_CLAIM_STATUS__INIT;
		Tulay__V1__UpdateClaimAmounts update = TULAY__V1__UPDATE_CLAIM_AMOUNTS__INIT;
		Tulay__V1__Money awarded = TULAY__V1__MONEY__INIT;
		Tulay__V1__Money recovered = TULAY__V1__MONEY__INIT;
		Tulay__V1__RecordPayment pay = TULAY__V1__RECORD_PAYMENT__INIT;
		bool paid = claim->claim->amount_recovered != NULL &&
			    claim->claim->amount_recovered->minor_units > 0;
		if (amounts && paid && it_rand(&w->rng, 2) == 0) {
			recovered.minor_units = 100 + it_rand(&w->rng, 100000);
			recovered.currency = "MYR"; /* the claims of this test are in MYR */
			pay.idempotency_key.data = key;
			pay.idempotency_key.len = sizeof(key);
			pay.reference = (char *)reference;
			pay.organisation = case_org(w);
			pay.amount = &recovered;
			pay.paid_on = "2026-01-15";
			req.body_case = TULAY__V1__REQUEST__BODY_RECORD_PAYMENT;
			req.record_payment = &pay;
		} else if (amounts) {
			awarded.minor_units = 100000 + it_rand(&w->rng, 4000000);
			awarded.currency = "MYR";
			recovered.minor_units = it_rand(&w->rng, (uint32_t)awarded.minor_units);
			recovered.currency = "MYR";
			update.idempotency_key.data = key;
			update.idempotency_key.len = sizeof(key);
			update.reference = (char *)reference;
			update.organisation = case_org(w);
			update.expected_version = claim->claim->version;
			update.amount_awarded = &awarded;
			/* A recovery as a total only while none is recorded: afterwards payments.
			 */
			if (!paid)
				update.amount_recovered = &recovered;
			req.body_case = TULAY__V1__REQUEST__BODY_UPDATE_CLAIM_AMOUNTS;
			req.update_claim_amounts = &update;
		} else {
			bool needs_reason;
			change.idempotency_key.data = key;
			change.idempotency_key.len = sizeof(key);
			change.reference = (char *)reference;
			change.organisation = case_org(w);
			change.expected_version = claim->claim->version;
			change.status = next_claim_status(w, claim->claim->status, &needs_reason);
			change.reason = needs_reason ? "Deadlock test: closed or reopened" : "";
			req.body_case = TULAY__V1__REQUEST__BODY_CHANGE_CLAIM_STATUS;
			req.change_claim_status = &change;
		}
		tulay_response_free(claim);
		Tulay__V1__Response *resp = write_call(w, &req, what);
		if (resp == NULL)
			return FAILED;
		Tulay__V1__Code code = code_of(resp);
		if (code == TULAY__V1__CODE__OK) {
			tulay_response_free(resp);
			return WRITTEN;
		}
		bool revoked = lost_access(w, code);
		if (code != TULAY__V1__CODE__FAILED_PRECONDITION && !revoked)
			unexpected(w, what, resp);
		tulay_response_free(resp);
		if (code != TULAY__V1__CODE__FAILED_PRECONDITION)
			return revoked ? REFUSED : FAILED;
	}
	return REFUSED; /* others kept moving it: fine */
}

static enum outcome add_note(struct worker *w, const char *reference)
{
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	it_new_key(key);
	char text[96];
	snprintf(text, sizeof(text), "Deadlock test: follow-up call by worker %d", w->index);
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__AddCaseNote note = TULAY__V1__ADD_CASE_NOTE__INIT;
	note.idempotency_key.data = key;
	note.idempotency_key.len = sizeof(key);
	note.reference = (char *)reference;
	note.organisation = case_org(w);
	note.text = text;
	req.body_case = TULAY__V1__REQUEST__BODY_ADD_CASE_NOTE;
	req.add_case_note = &note;
	Tulay__V1__Response *resp = write_call(w, &req, "AddCaseNote");
	if (resp == NULL)
		return FAILED;
	enum outcome out = WRITTEN;
	if (lost_access(w, code_of(resp))) {
		out = REFUSED;
	} else if (code_of(resp) != TULAY__V1__CODE__OK) {
		unexpected(w, "AddCaseNote", resp);
		out = FAILED;
	}
	tulay_response_free(resp);
	return out;
}

static enum outcome add_intervention(struct worker *w, const char *reference)
{
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	it_new_key(key);
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__AddIntervention iv = TULAY__V1__ADD_INTERVENTION__INIT;
	iv.idempotency_key.data = key;
	iv.idempotency_key.len = sizeof(key);
	iv.reference = (char *)reference;
	iv.organisation = case_org(w);
	iv.kind = (Tulay__V1__InterventionKind)(1 + it_rand(&w->rng, 6));
	iv.text = "Deadlock test: visited the depot";
	req.body_case = TULAY__V1__REQUEST__BODY_ADD_INTERVENTION;
	req.add_intervention = &iv;
	Tulay__V1__Response *resp = write_call(w, &req, "AddIntervention");
	if (resp == NULL)
		return FAILED;
	enum outcome out = WRITTEN;
	if (lost_access(w, code_of(resp))) {
		out = REFUSED;
	} else if (code_of(resp) != TULAY__V1__CODE__OK) {
		unexpected(w, "AddIntervention", resp);
		out = FAILED;
	}
	tulay_response_free(resp);
	return out;
}

/* The next stage of a deportation: arrested -> detained -> released -> deported. Once
 * deported nothing follows, and the update is an intervention on it instead (*op says
 * which it was). */
static enum outcome record_stage(struct worker *w, const char *reference, enum op *op)
{
	for (int attempt = 0; attempt <= STALE_RETRIES; attempt++) {
		Tulay__V1__Request get = TULAY__V1__REQUEST__INIT;
		Tulay__V1__GetDeportation g = TULAY__V1__GET_DEPORTATION__INIT;
		g.reference = (char *)reference;
		g.organisation = case_org(w);
		get.body_case = TULAY__V1__REQUEST__BODY_GET_DEPORTATION;
		get.get_deportation = &g;
		Tulay__V1__Response *dep = read_call(w, &get, "GetDeportation");
		if (dep == NULL)
			return FAILED;
		if (code_of(dep) != TULAY__V1__CODE__OK) {
			unexpected(w, "GetDeportation", dep);
			tulay_response_free(dep);
			return FAILED;
		}
		Tulay__V1__DeportationStatus status = dep->deportation->status;
		int64_t version = dep->deportation->version;
		tulay_response_free(dep);
		uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
		it_new_key(key);
		Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
		Tulay__V1__RecordDeportationStage st = TULAY__V1__RECORD_DEPORTATION_STAGE__INIT;
		Tulay__V1__ApproxDate on = TULAY__V1__APPROX_DATE__INIT;
		st.idempotency_key.data = key;
		st.idempotency_key.len = sizeof(key);
		st.reference = (char *)reference;
		st.organisation = case_org(w);
		st.expected_version = version;
		st.on = &on;
		switch (status) {
		case TULAY__V1__DEPORTATION_STATUS__DEPORTATION_STATUS_ARRESTED:
			st.stage = TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DETENTION;
			on.date = "2025-04";
			st.detention_place = "Semenyih depot";
			st.detention_type =
			    TULAY__V1__DETENTION_TYPE__DETENTION_TYPE_IMMIGRATION_DEPOT;
			break;
		case TULAY__V1__DEPORTATION_STATUS__DEPORTATION_STATUS_DETAINED:
			st.stage = TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_RELEASE;
			on.date = "2025-05";
			break;
		case TULAY__V1__DEPORTATION_STATUS__DEPORTATION_STATUS_RELEASED:
			st.stage = TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DEPORTATION;
			on.date = "2025-06";
			st.deported_to = "MM";
			break;
		default:
			*op = OP_INTERVENTION;
			return add_intervention(w, reference);
		}
		req.body_case = TULAY__V1__REQUEST__BODY_RECORD_DEPORTATION_STAGE;
		req.record_deportation_stage = &st;
		Tulay__V1__Response *resp = write_call(w, &req, "RecordDeportationStage");
		if (resp == NULL)
			return FAILED;
		Tulay__V1__Code code = code_of(resp);
		if (code != TULAY__V1__CODE__OK && code != TULAY__V1__CODE__FAILED_PRECONDITION)
			unexpected(w, "RecordDeportationStage", resp);
		tulay_response_free(resp);
		if (code == TULAY__V1__CODE__OK)
			return WRITTEN;
		if (code != TULAY__V1__CODE__FAILED_PRECONDITION)
			return FAILED;
	}
	return REFUSED;
}

/* submitted -> acknowledged -> noted -> submitted (resubmitted), round and round; noting
 * and resubmitting need a note. */
static enum outcome recommendation_status(struct worker *w, const char *reference)
{
	for (int attempt = 0; attempt <= STALE_RETRIES; attempt++) {
		Tulay__V1__Request get = TULAY__V1__REQUEST__INIT;
		Tulay__V1__GetRecommendation g = TULAY__V1__GET_RECOMMENDATION__INIT;
		g.reference = (char *)reference;
		g.organisation = "";
		get.body_case = TULAY__V1__REQUEST__BODY_GET_RECOMMENDATION;
		get.get_recommendation = &g;
		Tulay__V1__Response *rec = read_call(w, &get, "GetRecommendation");
		if (rec == NULL)
			return FAILED;
		if (code_of(rec) != TULAY__V1__CODE__OK) {
			unexpected(w, "GetRecommendation", rec);
			tulay_response_free(rec);
			return FAILED;
		}
		Tulay__V1__RecommendationStatus status = rec->recommendation->status;
		int64_t version = rec->recommendation->version;
		tulay_response_free(rec);
		uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
		it_new_key(key);
		Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
		Tulay__V1__ChangeRecommendationStatus ch =
		    TULAY__V1__CHANGE_RECOMMENDATION_STATUS__INIT;
		ch.idempotency_key.data = key;
		ch.idempotency_key.len = sizeof(key);
		ch.reference = (char *)reference;
		ch.expected_version = version;
		switch (status) {
		case TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_DRAFTED:
			ch.status =
			    TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_SUBMITTED;
			break;
		case TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_SUBMITTED:
			ch.status =
			    TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_ACKNOWLEDGED;
			break;
		case TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_ACKNOWLEDGED:
			ch.status = TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_NOTED;
			ch.note = "Deadlock test: noted without commitment";
			break;
		default: /* noted, rejected */
			ch.status =
			    TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_SUBMITTED;
			ch.note = "Deadlock test: resubmitted";
			break;
		}
		req.body_case = TULAY__V1__REQUEST__BODY_CHANGE_RECOMMENDATION_STATUS;
		req.change_recommendation_status = &ch;
		Tulay__V1__Response *resp = write_call(w, &req, "ChangeRecommendationStatus");
		if (resp == NULL)
			return FAILED;
		Tulay__V1__Code code = code_of(resp);
		if (code != TULAY__V1__CODE__OK && code != TULAY__V1__CODE__FAILED_PRECONDITION)
			unexpected(w, "ChangeRecommendationStatus", resp);
		tulay_response_free(resp);
		if (code == TULAY__V1__CODE__OK)
			return WRITTEN;
		if (code != TULAY__V1__CODE__FAILED_PRECONDITION)
			return FAILED;
	}
	return REFUSED;
}

/* Links a claim or deportation as evidence of a recommendation; a link that exists is
 * ALREADY_EXISTS. */
static enum outcome link_evidence(struct worker *w, const char *recommendation,
				  const char *evidence)
{
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	it_new_key(key);
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__LinkEvidence link = TULAY__V1__LINK_EVIDENCE__INIT;
	Tulay__V1__CaseRef ref = TULAY__V1__CASE_REF__INIT;
	ref.organisation = "";
	ref.reference = (char *)evidence;
	link.idempotency_key.data = key;
	link.idempotency_key.len = sizeof(key);
	link.reference = (char *)recommendation;
	link.evidence = &ref;
	req.body_case = TULAY__V1__REQUEST__BODY_LINK_EVIDENCE;
	req.link_evidence = &link;
	Tulay__V1__Response *resp = write_call(w, &req, "LinkEvidence");
	if (resp == NULL)
		return FAILED;
	enum outcome out = WRITTEN;
	if (code_of(resp) == TULAY__V1__CODE__ALREADY_EXISTS) {
		out = REFUSED;
	} else if (code_of(resp) != TULAY__V1__CODE__OK) {
		unexpected(w, "LinkEvidence", resp);
		out = FAILED;
	}
	tulay_response_free(resp);
	return out;
}

/* DEMO refers one of its cases to MYNGO; a case with an open referral there already is
 * ALREADY_EXISTS. */
static enum outcome propose_referral(struct worker *w, const char *reference)
{
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	it_new_key(key);
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__ProposeReferral p = TULAY__V1__PROPOSE_REFERRAL__INIT;
	Tulay__V1__Consent consent = TULAY__V1__CONSENT__INIT;
	consent.given_on = "2025-10-01";
	consent.form = TULAY__V1__CONSENT_FORM__CONSENT_FORM_VERBAL;
	p.idempotency_key.data = key;
	p.idempotency_key.len = sizeof(key);
	p.reference = (char *)reference;
	p.to_organisation = "MYNGO";
	p.consent = &consent;
	p.reason = "Deadlock test: the worker went home";
	req.body_case = TULAY__V1__REQUEST__BODY_PROPOSE_REFERRAL;
	req.propose_referral = &p;
	Tulay__V1__Response *resp = write_call(w, &req, "ProposeReferral");
	if (resp == NULL)
		return FAILED;
	enum outcome out = WRITTEN;
	if (code_of(resp) == TULAY__V1__CODE__ALREADY_EXISTS) {
		out = REFUSED;
	} else if (code_of(resp) != TULAY__V1__CODE__OK) {
		unexpected(w, "ProposeReferral", resp);
		out = FAILED;
	}
	tulay_response_free(resp);
	return out;
}

static bool is_test_case(const char *reference)
{
	for (int i = 0; i < N_CLAIMS; i++) {
		if (strcmp(reference, claims[i]) == 0)
			return true;
	}
	for (int i = 0; i < N_DEPORTATIONS; i++) {
		if (strcmp(reference, deportations[i]) == 0)
			return true;
	}
	return false;
}

struct referral_pick {
	int64_t id;
	int64_t version;
	char reference[32];
	bool claim;
};

/* Lists the referrals of this test's cases in one direction and status, and picks one at
 * random. Returns 1 with *pick set, 0 when there is none, -1 on a failure (recorded). */
static int pick_referral(struct worker *w, Tulay__V1__ReferralDirection direction,
			 Tulay__V1__ReferralStatus status, struct referral_pick *pick)
{
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__ListReferrals q = TULAY__V1__LIST_REFERRALS__INIT;
	q.direction = direction;
	q.status = status;
	q.limit = 500;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_REFERRALS;
	req.list_referrals = &q;
	Tulay__V1__Response *resp = read_call(w, &req, "ListReferrals");
	if (resp == NULL)
		return -1;
	if (code_of(resp) != TULAY__V1__CODE__OK) {
		unexpected(w, "ListReferrals", resp);
		tulay_response_free(resp);
		return -1;
	}
	int seen = 0;
	for (size_t i = 0; i < resp->referrals->n_referrals; i++) {
		const Tulay__V1__Referral *r = resp->referrals->referrals[i];
		if (strcmp(r->from_organisation, "DEMO") != 0 || !is_test_case(r->reference))
			continue;
		/* Reservoir sampling: each referral equally likely. */
		if (it_rand(&w->rng, (uint32_t)++seen) == 0) {
			pick->id = r->id;
			pick->version = r->version;
			snprintf(pick->reference, sizeof(pick->reference), "%s", r->reference);
			pick->claim = strcmp(r->case_kind, "wage_theft") == 0;
		}
	}
	tulay_response_free(resp);
	return seen > 0 ? 1 : 0;
}

static enum outcome decide_referral(struct worker *w, const struct referral_pick *pick,
				    Tulay__V1__ReferralDecision decision)
{
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	it_new_key(key);
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__DecideReferral d = TULAY__V1__DECIDE_REFERRAL__INIT;
	d.idempotency_key.data = key;
	d.idempotency_key.len = sizeof(key);
	d.referral_id = pick->id;
	d.expected_version = pick->version;
	d.decision = decision;
	if (decision != TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_ACCEPT)
		d.reason = "Deadlock test: no caseworker free";
	req.body_case = TULAY__V1__REQUEST__BODY_DECIDE_REFERRAL;
	req.decide_referral = &d;
	Tulay__V1__Response *resp = write_call(w, &req, "DecideReferral");
	if (resp == NULL)
		return FAILED;
	enum outcome out = WRITTEN;
	/* Another worker decided or revoked it first. */
	if (code_of(resp) == TULAY__V1__CODE__FAILED_PRECONDITION) {
		out = REFUSED;
	} else if (code_of(resp) != TULAY__V1__CODE__OK) {
		unexpected(w, "DecideReferral", resp);
		out = FAILED;
	}
	tulay_response_free(resp);
	return out;
}

static const char *any_case(struct worker *w)
{
	uint32_t i = it_rand(&w->rng, N_CLAIMS + N_DEPORTATIONS);
	return i < N_CLAIMS ? claims[i] : deportations[i - N_CLAIMS];
}

/* One update by one of DEMO's workers; weights in percent. */
static enum outcome demo_update(struct worker *w, enum op *op)
{
	uint32_t roll = it_rand(&w->rng, 100);
	const char *claim = claims[it_rand(&w->rng, N_CLAIMS)];
	const char *dep = deportations[it_rand(&w->rng, N_DEPORTATIONS)];
	const char *rec = recommendations[it_rand(&w->rng, N_RECOMMENDATIONS)];
	if (roll < 25) {
		*op = OP_CLAIM_STATUS;
		return claim_update(w, claim, false);
	}
	if (roll < 40) {
		*op = OP_CLAIM_AMOUNTS;
		return claim_update(w, claim, true);
	}
	if (roll < 53) {
		*op = OP_NOTE;
		return add_note(w, any_case(w));
	}
	if (roll < 60) {
		*op = OP_STAGE;
		return record_stage(w, dep, op);
	}
	if (roll < 67) {
		*op = OP_INTERVENTION;
		return add_intervention(w, dep);
	}
	if (roll < 77) {
		*op = OP_RECOMMENDATION_STATUS;
		return recommendation_status(w, rec);
	}
	if (roll < 85) {
		*op = OP_LINK_EVIDENCE;
		return link_evidence(w, rec, any_case(w));
	}
	if (roll < 94) {
		*op = OP_PROPOSE_REFERRAL;
		return propose_referral(w, any_case(w));
	}
	struct referral_pick pick;
	*op = OP_REVOKE_REFERRAL;
	int found = pick_referral(w, TULAY__V1__REFERRAL_DIRECTION__REFERRAL_DIRECTION_OUTGOING,
				  TULAY__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED, &pick);
	if (found < 0)
		return FAILED;
	if (found > 0)
		return decide_referral(w, &pick,
				       TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_REVOKE);
	*op = OP_PROPOSE_REFERRAL; /* nothing accepted to revoke yet */
	return propose_referral(w, any_case(w));
}

/* DEMO's workers still updating: once none is, nothing new will be referred. */
static atomic_int demo_running;

/* One update by MYNGO's officer: decide a proposed referral if there is one, else write to
 * a case it accepted (a note, a status change, amounts, an intervention), else wait for
 * DEMO to refer something (up to 5 s, and not once DEMO's workers have finished: then it
 * counts as refused). */
static enum outcome partner_update(struct worker *w, enum op *op)
{
	struct referral_pick pick;
	for (int waited = 0; waited < 200; waited++) {
		bool demo_finished = atomic_load(&demo_running) == 0;
		bool decide_first = it_rand(&w->rng, 2) == 0;
		for (int turn = 0; turn < 2; turn++) {
			if ((turn == 0) == decide_first) {
				int found = pick_referral(
				    w, TULAY__V1__REFERRAL_DIRECTION__REFERRAL_DIRECTION_INCOMING,
				    TULAY__V1__REFERRAL_STATUS__REFERRAL_STATUS_PROPOSED, &pick);
				if (found < 0)
					return *op = OP_DECIDE_REFERRAL, FAILED;
				if (found == 0)
					continue;
				*op = OP_DECIDE_REFERRAL;
				return decide_referral(
				    w, &pick,
				    it_rand(&w->rng, 4) == 0
					? TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_DECLINE
					: TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_ACCEPT);
			}
			int found = pick_referral(
			    w, TULAY__V1__REFERRAL_DIRECTION__REFERRAL_DIRECTION_INCOMING,
			    TULAY__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED, &pick);
			if (found < 0)
				return *op = OP_PARTNER_WRITE, FAILED;
			if (found == 0)
				continue;
			*op = OP_PARTNER_WRITE;
			uint32_t roll = it_rand(&w->rng, 3);
			if (roll == 0)
				return add_note(w, pick.reference);
			if (pick.claim)
				return claim_update(w, pick.reference, roll == 2);
			return add_intervention(w, pick.reference);
		}
		if (demo_finished)
			break;
		it_sleep_ms(25);
	}
	/* Nothing referred to act on for 5 s, or nothing left now that DEMO's workers have
	 * finished and revoked what they had referred (their operations are random): every
	 * remaining update would otherwise wait its 5 s, past the test's time limit once
	 * DEMO's share ran fast. The server did nothing wrong. */
	*op = OP_PARTNER_WRITE;
	return REFUSED;
}

static void worker_run(struct worker *w)
{
	w->c = it_login_try(w->username);
	if (w->c == NULL) {
		w->no_login = true;
		return;
	}
	for (int i = 0; i < w->updates; i++) {
		enum op op = OP_NOTE;
		int lost = w->writes.no_answer + w->reads.no_answer;
		enum outcome out = w->partner ? partner_update(w, &op) : demo_update(w, &op);
		w->outcomes[op][out]++;
		if (w->writes.no_answer + w->reads.no_answer > lost) {
			/* The connection is gone (recorded): a new one, so the rest still runs. */
			tulay_close(w->c);
			w->c = it_login_try(w->username);
			if (w->c == NULL) {
				w->no_login = true;
				return;
			}
		}
	}
	tulay_close(w->c);
	w->c = NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	worker_run(w);
	if (!w->partner)
		atomic_fetch_sub(&demo_running, 1);
	return NULL;
}

static void test_no_deadlocks_under_overlapping_updates(void **state)
{
	(void)state;
	char pg_log[1024], tulayd_log[1024];
	snprintf(pg_log, sizeof(pg_log), "%s/postgres.log", it_env("TULAY_TEST_PGDIR"));
	snprintf(tulayd_log, sizeof(tulayd_log), "%s/tulayd.log", it_env("TULAY_TEST_STATE"));
	long pg_from = it_file_size(pg_log);
	long tulayd_from = it_file_size(tulayd_log);
	/* A line to find again: the log read below is the one PostgreSQL writes now. */
	PGconn *su = it_db_connect(it_superuser_conninfo());
	it_sql_exec(su, "DO $$BEGIN RAISE WARNING 'it_deadlock reads the log from here'; END$$");
	PQfinish(su);

	struct tulay_client *c = it_login_try("officer");
	assert_non_null(c);
	for (int i = 0; i < N_CLAIMS; i++)
		it_make_claim(c, i, claims[i]);
	for (int i = 0; i < N_DEPORTATIONS; i++)
		it_make_deportation(c, i, deportations[i]);
	for (int i = 0; i < N_RECOMMENDATIONS; i++)
		it_make_recommendation(c, i, recommendations[i]);
	tulay_close(c);
	printf("# cases: %s..%s, %s..%s, %s..%s\n", claims[0], claims[N_CLAIMS - 1],
	       deportations[0], deportations[N_DEPORTATIONS - 1], recommendations[0],
	       recommendations[N_RECOMMENDATIONS - 1]);

	static struct worker workers[N_WORKERS];
	pthread_t threads[N_WORKERS];
	int demo_updates = UPDATES_TOTAL - N_PARTNER_WORKERS * PARTNER_UPDATES;
	for (int i = 0; i < N_WORKERS; i++) {
		struct worker *w = &workers[i];
		memset(w, 0, sizeof(*w));
		w->index = i;
		w->partner = i >= N_DEMO_WORKERS;
		w->username = w->partner ? "klofficer" : (i % 2 == 0 ? "officer" : "admin");
		w->updates = w->partner ? PARTNER_UPDATES
					: demo_updates / N_DEMO_WORKERS +
					      (i < demo_updates % N_DEMO_WORKERS ? 1 : 0);
		w->rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
	}
	double t0 = it_now();
	atomic_store(&demo_running, N_DEMO_WORKERS);
	for (int i = 0; i < N_WORKERS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
	for (int i = 0; i < N_WORKERS; i++)
		pthread_join(threads[i], NULL);
	double elapsed = it_now() - t0;

	struct it_tally writes = {0}, reads = {0};
	int outcomes[N_OPS][3] = {{0}};
	int updates = 0, written = 0, failed = 0, unexpected_answers = 0, no_login = 0;
	for (int i = 0; i < N_WORKERS; i++) {
		struct worker *w = &workers[i];
		it_tally_add(&writes, &w->writes);
		it_tally_add(&reads, &w->reads);
		for (int op = 0; op < N_OPS; op++) {
			for (int o = 0; o < 3; o++) {
				outcomes[op][o] += w->outcomes[op][o];
				updates += w->outcomes[op][o];
			}
			written += w->outcomes[op][WRITTEN];
			failed += w->outcomes[op][FAILED];
		}
		unexpected_answers += w->unexpected;
		no_login += w->no_login;
		for (int k = 0; k < w->unexpected && k < 3; k++)
			printf("# worker %d (%s) unexpected: %s\n", i, w->username,
			       w->first_unexpected[k]);
	}
	printf("# %d updates by %d clients in %.1f s: %d written, %d refused as expected, %d "
	       "failed\n",
	       updates, N_WORKERS, elapsed, written, updates - written - failed, failed);
	for (int op = 0; op < N_OPS; op++)
		printf("#   %-22s written %4d  refused %4d  failed %4d\n", op_names[op],
		       outcomes[op][WRITTEN], outcomes[op][REFUSED], outcomes[op][FAILED]);
	it_tally_print("answers to writes", &writes);
	it_tally_print("answers to reads", &reads);

	printf("# PostgreSQL log since the start:\n");
	assert_int_equal(
	    it_count_lines(pg_log, pg_from, "it_deadlock reads the log from here", NULL, 0), 1);
	int deadlocks = it_count_lines(pg_log, pg_from, "deadlock detected", NULL, 3);
	it_count_lines(pg_log, pg_from, "Process ", " FROM ", 4);    /* who deadlocked */
	it_count_lines(pg_log, pg_from, "CONTEXT:  while", NULL, 2); /* on what */
	int pg_errors = it_count_lines(pg_log, pg_from, "ERROR:", NULL, 0);
	printf("# tulayd log since the start:\n");
	/* tulayd logs every request it answers: the log read is the live one. */
	int answered = 0;
	for (int i = 0; i < IT_N_CODES; i++)
		answered += writes.codes[i] + reads.codes[i];
	assert_true(it_await_lines(tulayd_log, tulayd_from, "event=request", NULL, answered, 0) >=
		    answered);
	int busy_deadlock =
	    it_count_lines(tulayd_log, tulayd_from, "event=db_busy", "sqlstate=40P01", 3);
	int busy = it_count_lines(tulayd_log, tulayd_from, "event=db_busy", NULL, 0);
	int db_errors = it_count_lines(tulayd_log, tulayd_from, "event=db_error", NULL, 3);
	printf("# \"deadlock detected\" in PostgreSQL's log: %d (of %d ERROR lines); tulayd: "
	       "%d requests failed on a deadlock, %d busy in all, %d database errors\n",
	       deadlocks, pg_errors, busy_deadlock, busy, db_errors);

	if (no_login > 0)
		fail_msg("%d workers could not log in", no_login);
	if (deadlocks > 0)
		fail_msg("PostgreSQL detected %d deadlocks during the updates", deadlocks);
	if (busy_deadlock > 0)
		fail_msg("%d requests were answered UNAVAILABLE because of a deadlock",
			 busy_deadlock);
	int internal =
	    writes.codes[TULAY__V1__CODE__INTERNAL] + reads.codes[TULAY__V1__CODE__INTERNAL];
	if (internal > 0)
		fail_msg("%d answers were INTERNAL", internal);
	/* Every update was made and answered, with answers it may legitimately get. */
	if (unexpected_answers > 0 || failed > 0)
		fail_msg("%d unexpected answers, %d updates failed", unexpected_answers, failed);
	assert_int_equal(updates, UPDATES_TOTAL);
	/* The load was real: most updates were written, not refused. */
	assert_true(written >= UPDATES_TOTAL / 2);
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_deadlocks_under_overlapping_updates),
	};
	return cmocka_run_group_tests_name("it_deadlock", tests, NULL, NULL);
}
