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

/* The vocabularies of the protocol's enums, one line each and written only here:
 * X(name, noun, e) stands for vocab_<name>, the words of the enum whose protobuf-c
 * descriptor is tulay__v1__<e>__descriptor, called <noun> in messages. This list declares
 * them below and defines them in cli_vocab.c. A new enum needs only its line here. */
#define VOCAB_ENUMS(X)                                                                             \
	X(sectors, "sector", sector)                                                               \
	X(claim_statuses, "claim status", claim_status)                                            \
	X(case_kinds, "kind of case", case_kind)                                                   \
	X(case_event_kinds, "case event", case_event_kind)                                         \
	X(claim_forums, "forum", claim_forum)                                                      \
	X(exploitation_means, "means of exploitation", exploitation_means)                         \
	X(org_kinds, "organisation kind", organisation_kind)                                       \
	X(roles, "role", role)                                                                     \
	X(membership_roles, "membership role", membership_role)                                    \
	X(membership_states, "membership state", membership_state)                                 \
	X(referral_statuses, "referral status", referral_status)                                   \
	X(consent_forms, "form of consent", consent_form)                                          \
	/* Policy recommendations. */                                                              \
	X(recommendation_statuses, "recommendation status", recommendation_status)                 \
	X(addressed_to, "addressee", addressed_to)                                                 \
	X(recommendation_themes, "theme", recommendation_theme)                                    \
	/* Deportations. */                                                                        \
	X(deportation_statuses, "deportation status", deportation_status)                          \
	X(deportation_grounds, "ground of deportation", deportation_ground)                        \
	X(detention_types, "type of detention", detention_type)                                    \
	X(legal_counsel, "kind of legal counsel", legal_counsel)                                   \
	X(deportation_stages, "stage", deportation_stage)                                          \
	X(intervention_kinds, "kind of intervention", intervention_kind)

#define VOCAB_DECLARE(name, noun, e) extern const struct vocab vocab_##name;
VOCAB_ENUMS(VOCAB_DECLARE)
#undef VOCAB_DECLARE

/* Vocabularies of words of their own. */
extern const struct vocab vocab_formats; /* enum output_format */
extern const struct vocab vocab_known;   /* Tulay__V1__Known: yes, no, unknown */

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
