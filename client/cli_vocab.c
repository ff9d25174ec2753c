#include "cli_vocab.h"

#include <ctype.h>
#include <stdio.h>

#include "cli_output.h"
#include "tulay/v1/envelope.pb-c.h"

#define WORDS(name, array)                                                                         \
	{                                                                                          \
		name, array, sizeof(array) / sizeof(array[0])                                      \
	}

static const struct vocab_word sectors[] = {
    {TULAY__V1__SECTOR__SECTOR_CONSTRUCTION, "construction"},
    {TULAY__V1__SECTOR__SECTOR_AGRICULTURE, "agriculture"},
    {TULAY__V1__SECTOR__SECTOR_FISHERIES, "fisheries"},
    {TULAY__V1__SECTOR__SECTOR_MANUFACTURING, "manufacturing"},
    {TULAY__V1__SECTOR__SECTOR_DOMESTIC_WORK, "domestic-work"},
    {TULAY__V1__SECTOR__SECTOR_HOSPITALITY, "hospitality"},
    {TULAY__V1__SECTOR__SECTOR_CARE, "care"},
    {TULAY__V1__SECTOR__SECTOR_SERVICES, "services"},
    {TULAY__V1__SECTOR__SECTOR_OTHER, "other"},
};

static const struct vocab_word claim_statuses[] = {
    {TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_INTAKE, "intake"},
    {TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_FILED, "filed"},
    {TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_IN_MEDIATION, "in-mediation"},
    {TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_AWARDED, "awarded"},
    {TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_PARTIALLY_PAID, "partially-paid"},
    {TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_PAID, "paid"},
    {TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_REJECTED, "rejected"},
    {TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_WITHDRAWN, "withdrawn"},
};

static const struct vocab_word case_event_kinds[] = {
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_OPENED, "opened"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_STATUS_CHANGED, "status-changed"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_NOTE, "note"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_AMOUNTS_UPDATED, "amounts-updated"},
};

static const struct vocab_word claim_forums[] = {
    {TULAY__V1__CLAIM_FORUM__CLAIM_FORUM_LABOUR_COURT, "labour-court"},
    {TULAY__V1__CLAIM_FORUM__CLAIM_FORUM_LABOUR_MINISTRY, "labour-ministry"},
    {TULAY__V1__CLAIM_FORUM__CLAIM_FORUM_EMBASSY, "embassy"},
    {TULAY__V1__CLAIM_FORUM__CLAIM_FORUM_MEDIATION, "mediation"},
    {TULAY__V1__CLAIM_FORUM__CLAIM_FORUM_ORIGIN_AUTHORITY, "origin-authority"},
    {TULAY__V1__CLAIM_FORUM__CLAIM_FORUM_CLAIMS_MECHANISM, "claims-mechanism"},
    {TULAY__V1__CLAIM_FORUM__CLAIM_FORUM_OTHER, "other"},
};

static const struct vocab_word exploitation_means[] = {
    {TULAY__V1__EXPLOITATION_MEANS__EXPLOITATION_MEANS_ID_CONFISCATED, "id-confiscated"},
    {TULAY__V1__EXPLOITATION_MEANS__EXPLOITATION_MEANS_ATM_CARD_CONFISCATED,
     "atm-card-confiscated"},
    {TULAY__V1__EXPLOITATION_MEANS__EXPLOITATION_MEANS_ILLEGAL_DEDUCTIONS, "illegal-deductions"},
    {TULAY__V1__EXPLOITATION_MEANS__EXPLOITATION_MEANS_FORCED_SIGNATURE, "forced-signature"},
    {TULAY__V1__EXPLOITATION_MEANS__EXPLOITATION_MEANS_THREATS, "threats"},
    {TULAY__V1__EXPLOITATION_MEANS__EXPLOITATION_MEANS_FALSE_ABSCONDING_REPORT,
     "false-absconding-report"},
    {TULAY__V1__EXPLOITATION_MEANS__EXPLOITATION_MEANS_REPATRIATED_UNPAID, "repatriated-unpaid"},
    {TULAY__V1__EXPLOITATION_MEANS__EXPLOITATION_MEANS_OTHER, "other"},
};

static const struct vocab_word org_kinds[] = {
    {TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_NETWORK, "network"},
    {TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_NGO, "ngo"},
    {TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_TRADE_UNION, "trade-union"},
    {TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_MIGRANT_ASSOCIATION, "migrant-association"},
    {TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_FAITH_BASED, "faith-based"},
    {TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_RESEARCH_INSTITUTE, "research-institute"},
    {TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_PARLIAMENTARY_CAUCUS, "parliamentary-caucus"},
    {TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_OTHER, "other"},
};

static const struct vocab_word roles[] = {
    {TULAY__V1__ROLE__ROLE_FIELD_OFFICER, "field-officer"},
    {TULAY__V1__ROLE__ROLE_COORDINATOR, "coordinator"},
    {TULAY__V1__ROLE__ROLE_ORG_ADMIN, "org-admin"},
    {TULAY__V1__ROLE__ROLE_ADMIN, "admin"},
};

static const struct vocab_word membership_roles[] = {
    {TULAY__V1__MEMBERSHIP_ROLE__MEMBERSHIP_ROLE_MEMBER, "member"},
    {TULAY__V1__MEMBERSHIP_ROLE__MEMBERSHIP_ROLE_FOCAL_POINT, "focal-point"},
    {TULAY__V1__MEMBERSHIP_ROLE__MEMBERSHIP_ROLE_PARTNER, "partner"},
    {TULAY__V1__MEMBERSHIP_ROLE__MEMBERSHIP_ROLE_SECRETARIAT, "secretariat"},
};

static const struct vocab_word formats[] = {
    {OUTPUT_TABLE, "table"},
    {OUTPUT_JSON, "json"},
    {OUTPUT_CSV, "csv"},
};

const struct vocab vocab_sectors = WORDS("sector", sectors);
const struct vocab vocab_claim_statuses = WORDS("claim status", claim_statuses);
const struct vocab vocab_case_event_kinds = WORDS("case event", case_event_kinds);
const struct vocab vocab_claim_forums = WORDS("forum", claim_forums);
const struct vocab vocab_exploitation_means = WORDS("means of exploitation", exploitation_means);
const struct vocab vocab_org_kinds = WORDS("organisation kind", org_kinds);
const struct vocab vocab_roles = WORDS("role", roles);
const struct vocab vocab_membership_roles = WORDS("membership role", membership_roles);
const struct vocab vocab_formats = WORDS("format", formats);

static bool same_word(const char *word, const char *text)
{
	for (; *word != '\0'; word++, text++) {
		char ch = *text == '_' ? '-' : (char)tolower((unsigned char)*text);
		if (ch != *word)
			return false;
	}
	return *text == '\0';
}

bool vocab_parse(const struct vocab *v, const char *text, int *value)
{
	for (size_t i = 0; i < v->n; i++) {
		if (same_word(v->words[i].word, text)) {
			*value = v->words[i].value;
			return true;
		}
	}
	return false;
}

const char *vocab_word(const struct vocab *v, int value)
{
	for (size_t i = 0; i < v->n; i++) {
		if (v->words[i].value == value)
			return v->words[i].word;
	}
	return "unknown";
}

bool vocab_join(const struct vocab *v, char *buf, size_t cap)
{
	if (cap == 0)
		return false;
	buf[0] = '\0';
	for (size_t i = 0, len = 0; i < v->n; i++) {
		int n = snprintf(buf + len, cap - len, "%s%s", i > 0 ? ", " : "", v->words[i].word);
		if (n < 0 || (size_t)n >= cap - len) {
			buf[0] = '\0';
			return false;
		}
		len += (size_t)n;
	}
	return true;
}
