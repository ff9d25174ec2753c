/* The CLI's words for the protocol's enums: what a field officer types after --sector and
 * what tables, CSV and JSON print ("domestic-work", "in-mediation"). A protocol enum's words
 * are its codes with '-' for '_', from its protobuf-c descriptor (proto/codes.h), as the
 * server's codes are: parsing, printing, --help and the server never disagree. */
#ifndef TULAY_CLI_VOCAB_H
#define TULAY_CLI_VOCAB_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct vocab_word {
	int value; /* the protocol enum value */
	const char *word;
};

struct vocab {
	const char *noun;               /* "sector": for messages */
	const struct vocab_word *words; /* words of its own (--format, --by), or NULL: */
	size_t n;
	const ProtobufCEnumDescriptor *e; /* the words of this protocol enum */
};

/* A vocabulary of words of its own: VOCAB_WORDS("format", formats) for an array of
 * struct vocab_word. */
#define VOCAB_WORDS(noun, array)                                                                   \
	{                                                                                          \
		(noun), (array), sizeof(array) / sizeof((array)[0]), NULL                          \
	}

extern const struct vocab vocab_sectors;            /* Tulay__V1__Sector */
extern const struct vocab vocab_claim_statuses;     /* Tulay__V1__ClaimStatus */
extern const struct vocab vocab_case_kinds;         /* Tulay__V1__CaseKind */
extern const struct vocab vocab_case_event_kinds;   /* Tulay__V1__CaseEventKind */
extern const struct vocab vocab_claim_forums;       /* Tulay__V1__ClaimForum */
extern const struct vocab vocab_exploitation_means; /* Tulay__V1__ExploitationMeans */
extern const struct vocab vocab_org_kinds;          /* Tulay__V1__OrganisationKind */
extern const struct vocab vocab_roles;              /* Tulay__V1__Role */
extern const struct vocab vocab_membership_roles;   /* Tulay__V1__MembershipRole */
extern const struct vocab vocab_membership_states;  /* Tulay__V1__MembershipState */
extern const struct vocab vocab_formats;            /* enum output_format */
extern const struct vocab vocab_referral_statuses;  /* Tulay__V1__ReferralStatus */
extern const struct vocab vocab_consent_forms;      /* Tulay__V1__ConsentForm */

/* Policy recommendations. */
extern const struct vocab vocab_recommendation_statuses; /* Tulay__V1__RecommendationStatus */
extern const struct vocab vocab_addressed_to;            /* Tulay__V1__AddressedTo */
extern const struct vocab vocab_recommendation_themes;   /* Tulay__V1__RecommendationTheme */

/* Deportations. */
extern const struct vocab vocab_deportation_statuses; /* Tulay__V1__DeportationStatus */
extern const struct vocab vocab_deportation_grounds;  /* Tulay__V1__DeportationGround */
extern const struct vocab vocab_detention_types;      /* Tulay__V1__DetentionType */
extern const struct vocab vocab_legal_counsel;        /* Tulay__V1__LegalCounsel */
extern const struct vocab vocab_known;                /* Tulay__V1__Known */
extern const struct vocab vocab_deportation_stages;   /* Tulay__V1__DeportationStage */
extern const struct vocab vocab_intervention_kinds;   /* Tulay__V1__InterventionKind */

/* Finds `text` among the words, ignoring case and reading '_' as '-'. Returns true and
 * stores the value, or false leaving *value untouched. */
bool vocab_parse(const struct vocab *v, const char *text, int *value)
    __attribute__((warn_unused_result));

/* Returns the word for `value`, or "unknown" for a value this client does not know (a
 * newer server may send one). Static storage. */
const char *vocab_word(const struct vocab *v, int value);

/* Like vocab_word, but "" for 0, the value of an optional enum field that is unset. */
const char *vocab_optional_word(const struct vocab *v, int value);

/* Writes the words of `values` as "a,b,c" (as list options take them) into buf. Returns
 * false when they do not fit in `cap` bytes, leaving buf an empty string. */
bool vocab_join_values(const struct vocab *v, const int *values, size_t n, char *buf, size_t cap)
    __attribute__((warn_unused_result));

/* Writes the words as "a, b, c" into buf, for messages and help. Returns false when they
 * do not fit in `cap` bytes, leaving buf an empty string. */
bool vocab_join(const struct vocab *v, char *buf, size_t cap) __attribute__((warn_unused_result));

#endif
