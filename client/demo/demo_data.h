/* demo_data: the synthetic data set that tulay-demo loads.
 *
 * The networks of shared/DOMAIN.md (Migrant Forum in Asia, the Task Force on ASEAN Migrant
 * Workers, the Mekong Migration Network, CARAM Asia, WARBE) with fictional national NGOs,
 * trade unions and associations as their members, focal points, partners and secretariats;
 * field offices in cities of origin and destination; and plans for wage-theft claims,
 * deportations and policy recommendations. Employers, agencies and workers are invented:
 * workers appear only as "Worker 0042"-style pseudonyms.
 *
 * Everything is deterministic: case n of a kind is a function of (seed, kind, n) only, so
 * loading the same seed at a larger scale adds cases without changing the earlier ones,
 * and the idempotency keys (demo_key) of a second run are those of the first. Nothing
 * depends on the day of loading or on what is loaded already. */
#ifndef TULAY_DEMO_DATA_H
#define TULAY_DEMO_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tulay/v1/envelope.pb-c.h"

#define DEMO_KEY_BYTES     16
#define DEMO_MAX_STEPS     8
#define DEMO_MAX_MEANS     3
#define DEMO_MAX_GROUNDS   2
#define DEMO_MAX_COSIGNERS 3
#define DEMO_MAX_EVIDENCE  2
#define DEMO_NO_ORG        ((size_t)-1)
/* The version of the plan of cases, part of their idempotency keys: a plan that makes
 * different cases from the same seed must change it, so that its keys never meet those of
 * cases an older plan loaded (the server would refuse them as reused). */
#define DEMO_PLAN_VERSION 2

/* An organisation, and how many of each kind of case it logs (relative weights). */
struct demo_org {
	const char *acronym;
	const char *name;
	Tulay__V1__OrganisationKind kind;
	const char *country;
	unsigned claims, deportations, recommendations;
};

/* `member` belongs to `network` from `since`; `until` (NULL: still) ends it. */
struct demo_membership {
	const char *member;
	const char *network;
	Tulay__V1__MembershipRole role;
	const char *since;
	bool shares_aggregates;
	const char *until;
};

struct demo_office {
	const char *org;
	const char *name;
	const char *city;
	const char *country;
};

extern const struct demo_org demo_orgs[];
extern const size_t demo_n_orgs;
extern const struct demo_membership demo_memberships[];
extern const size_t demo_n_memberships;
/* An exchange rate an admin sets so that reports can convert the claims' currencies. */
struct demo_rate {
	const char *currency;
	const char *reporting_currency;
	const char *rate; /* 1 currency = rate reporting_currency */
	const char *valid_from;
};

extern const struct demo_office demo_offices[];
extern const size_t demo_n_offices;
extern const struct demo_rate demo_rates[];
extern const size_t demo_n_rates;

/* The index of the organisation `acronym` in demo_orgs, or DEMO_NO_ORG. */
size_t demo_org_index(const char *acronym);

/* Fills key with the first 16 bytes of SHA-256(label): the idempotency key of the item
 * the label names (e.g. "tulay-demo/2/1/claim/42/create"). */
void demo_key(const char *label, uint8_t key[DEMO_KEY_BYTES]);

/* One change to a case after it was logged, in the order they are sent. */
enum demo_step_kind {
	DEMO_STEP_CLAIM_STATUS,          /* ChangeClaimStatus: to, text = reason */
	DEMO_STEP_CLAIM_AMOUNTS,         /* UpdateClaimAmounts: awarded, recovered */
	DEMO_STEP_NOTE,                  /* AddCaseNote: text */
	DEMO_STEP_DEPORTATION_STAGE,     /* RecordDeportationStage: to = stage, on, place... */
	DEMO_STEP_INTERVENTION,          /* AddIntervention: to = kind, text */
	DEMO_STEP_RECOMMENDATION_STATUS, /* ChangeRecommendationStatus: to, text = note */
};

struct demo_step {
	enum demo_step_kind kind;
	int to;                   /* the new status, stage or intervention (protocol enum) */
	int64_t expected_version; /* for the steps that bump the case's version */
	char on[11];              /* YYYY-MM-DD; a stage's date may be YYYY-MM or YYYY */
	bool circa;
	const char *text;        /* reason, note or follow-up; NULL for none */
	int64_t awarded;         /* minor units; -1: leave as it is */
	int64_t recovered;       /* minor units; -1: leave as it is */
	const char *place;       /* detention place (DETENTION stage) */
	int detention_type;      /* Tulay__V1__DetentionType */
	const char *deported_to; /* country (DEPORTATION stage) */
};

/* A referral of a case to a partner across the border, and the partner's answer. */
struct demo_referral {
	size_t to_org; /* DEMO_NO_ORG: none */
	char consent_on[11];
	Tulay__V1__ConsentForm consent_form;
	const char *reason;
	Tulay__V1__ReferralDecision decision; /* UNSPECIFIED: left proposed */
	const char *decision_reason;
};

struct demo_claim {
	size_t org;
	const char *office;
	const char *nationality;
	const char *country_of_work;
	Tulay__V1__Sector sector;
	char employer[100];
	char work_started_on[11], work_ended_on[11];
	int64_t amount_claimed; /* minor units of currency */
	const char *currency;
	uint32_t workers;
	char worker_name[24];      /* a pseudonym, or empty */
	char worker_id_number[24]; /* a synthetic number, or empty */
	char agency[100];          /* or empty */
	int64_t recruitment_fee;   /* minor units of fee_currency; -1: unknown */
	const char *fee_currency;
	int64_t contract_wage, actual_wage; /* monthly, minor units of currency; -1: unknown */
	Tulay__V1__ClaimForum forum;
	char filing_deadline[11]; /* or empty */
	Tulay__V1__ExploitationMeans means[DEMO_MAX_MEANS];
	size_t n_means;
	struct demo_step steps[DEMO_MAX_STEPS];
	size_t n_steps;
	struct demo_referral referral;
};

struct demo_deportation {
	size_t org;
	const char *office;
	const char *nationality;
	const char *deported_from;
	Tulay__V1__Sector sector;
	Tulay__V1__DeportationGround grounds[DEMO_MAX_GROUNDS];
	size_t n_grounds;
	char arrested_on[11];
	bool arrested_circa;
	const char *arrest_place;
	char detained_on[11]; /* empty: the detention is recorded later, or never */
	const char *detention_place;
	Tulay__V1__DetentionType detention_type;
	Tulay__V1__LegalCounsel legal_counsel;
	Tulay__V1__Known consular_notified, family_separated;
	char person_name[24]; /* a pseudonym, or empty */
	struct demo_step steps[DEMO_MAX_STEPS];
	size_t n_steps;
	struct demo_referral referral;
};

struct demo_recommendation {
	size_t org;
	const char *office;                     /* or NULL */
	Tulay__V1__RecommendationStatus status; /* DRAFTED or SUBMITTED */
	const char *title;
	const char *text;
	char source_document[160];
	char source_date[11];
	Tulay__V1__AddressedTo addressed_to;
	const char *target_body; /* or NULL */
	const char *country;     /* or NULL */
	Tulay__V1__RecommendationTheme theme;
	size_t co_signers[DEMO_MAX_COSIGNERS]; /* organisations */
	size_t n_co_signers;
	size_t evidence[DEMO_MAX_EVIDENCE]; /* claim numbers of the author's own claims */
	size_t n_evidence;
	struct demo_step steps[DEMO_MAX_STEPS];
	size_t n_steps;
};

/* Claim n of `seed`. */
void demo_claim_plan(uint64_t seed, size_t n, struct demo_claim *out);

/* Deportation n of `seed`. */
void demo_deportation_plan(uint64_t seed, size_t n, struct demo_deportation *out);

/* Recommendation n of `seed`. `claims` must hold claims 0..n at least (n_claims of them):
 * the evidence is chosen among the author's claims with a number up to n, so it does not
 * depend on the scale. */
void demo_recommendation_plan(uint64_t seed, size_t n, const struct demo_claim *claims,
			      size_t n_claims, struct demo_recommendation *out);

#endif
