/* What demo_data.c and demo_recommendations.c share to draw the demo set: the random
 * generator, dates, organisations and lifecycle steps. Private to them. */
#ifndef TULAY_DEMO_PLAN_H
#define TULAY_DEMO_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "demo_data.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define KIND(k)    TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_##k
#define MROLE(r)   TULAY__V1__MEMBERSHIP_ROLE__MEMBERSHIP_ROLE_##r
#define SECTOR(s)  TULAY__V1__SECTOR__SECTOR_##s
#define CLAIM(s)   TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_##s
#define FORUM(f)   TULAY__V1__CLAIM_FORUM__CLAIM_FORUM_##f
#define MEANS(m)   TULAY__V1__EXPLOITATION_MEANS__EXPLOITATION_MEANS_##m
#define GROUND(g)  TULAY__V1__DEPORTATION_GROUND__DEPORTATION_GROUND_##g
#define DETAIN(d)  TULAY__V1__DETENTION_TYPE__DETENTION_TYPE_##d
#define COUNSEL(c) TULAY__V1__LEGAL_COUNSEL__LEGAL_COUNSEL_##c
#define KNOWN(k)   TULAY__V1__KNOWN__KNOWN_##k
#define STAGE(s)   TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_##s
#define ACTION(a)  TULAY__V1__INTERVENTION_KIND__INTERVENTION_KIND_##a
#define REC(s)     TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_##s
#define TO(a)      TULAY__V1__ADDRESSED_TO__ADDRESSED_TO_##a
#define THEME(t)   TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_##t
#define CONSENT(c) TULAY__V1__CONSENT_FORM__CONSENT_FORM_##c
#define DECIDE(d)  TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_##d

/* xorshift64*: small, fast and the same everywhere; not for anything secret. */
struct rng {
	uint64_t s;
};

/* Seeds r for the n-th item of a kind (the same seed, kind and n: the same numbers). */
void rng_init(struct rng *r, uint64_t seed, const char *kind, size_t n);
uint64_t rng_next(struct rng *r);
/* A number in [lo, hi]. */
int64_t rng_range(struct rng *r, int64_t lo, int64_t hi);
/* True `percent` times in a hundred. */
bool rng_chance(struct rng *r, unsigned percent);
/* An index in [0, n) with the given weights (not all zero). */
size_t rng_weighted(struct rng *r, const unsigned *weights, size_t n);
#define PICK(r, array) ((array)[rng_next(r) % N_ELEMS(array)])

/* One of the offices of organisation `org` in `country` (the first one more often), else
 * its first office, else NULL. */
const char *office_in(struct rng *r, size_t org, const char *country);
/* An organisation by one of its weights (offsetof the weight in struct demo_org). */
size_t pick_org(struct rng *r, size_t weight_offset);

/* Days since 1970-01-01 of a civil date. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
enum precision { DAY, MONTH, YEAR };
/* Day `day` as YYYY-MM-DD, YYYY-MM or YYYY. */
void format_date(char out[11], int64_t day, enum precision p);

/* Appends a lifecycle step (at most DEMO_MAX_STEPS) that expects *version, on `day` (not
 * after the data set's last day); bumps *version unless the step is a note or an
 * intervention. */
void add_step(struct demo_step *steps, size_t *n, enum demo_step_kind kind, int to,
	      int64_t *version, int64_t day, const char *text);

#endif
