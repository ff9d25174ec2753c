/* The CLI's words for the protocol's enums: what a field officer types after --sector and
 * what tables, CSV and JSON print ("domestic-work", "in-mediation"). One table per enum,
 * so parsing, printing and the allowed values in --help never disagree. */
#ifndef TULAY_CLI_VOCAB_H
#define TULAY_CLI_VOCAB_H

#include <stdbool.h>
#include <stddef.h>

struct vocab_word {
	int value; /* the protocol enum value */
	const char *word;
};

struct vocab {
	const char *noun; /* "sector": for messages */
	const struct vocab_word *words;
	size_t n;
};

extern const struct vocab vocab_sectors;            /* Tulay__V1__Sector */
extern const struct vocab vocab_claim_statuses;     /* Tulay__V1__ClaimStatus */
extern const struct vocab vocab_case_event_kinds;   /* Tulay__V1__CaseEventKind */
extern const struct vocab vocab_claim_forums;       /* Tulay__V1__ClaimForum */
extern const struct vocab vocab_exploitation_means; /* Tulay__V1__ExploitationMeans */
extern const struct vocab vocab_org_kinds;          /* Tulay__V1__OrganisationKind */
extern const struct vocab vocab_roles;              /* Tulay__V1__Role */
extern const struct vocab vocab_membership_roles;   /* Tulay__V1__MembershipRole */
extern const struct vocab vocab_formats;            /* enum output_format */

/* Finds `text` among the words, ignoring case and reading '_' as '-'. Returns true and
 * stores the value, or false leaving *value untouched. */
bool vocab_parse(const struct vocab *v, const char *text, int *value)
    __attribute__((warn_unused_result));

/* Returns the word for `value`, or "unknown" for a value this client does not know (a
 * newer server may send one). Static storage. */
const char *vocab_word(const struct vocab *v, int value);

/* Writes the words as "a, b, c" into buf, for messages and help. Returns false when they
 * do not fit in `cap` bytes, leaving buf an empty string. */
bool vocab_join(const struct vocab *v, char *buf, size_t cap) __attribute__((warn_unused_result));

#endif
