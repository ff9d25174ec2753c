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

static const struct vocab_word case_kinds[] = {
    {TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT, "wage-theft"},
    {TULAY__V1__CASE_KIND__CASE_KIND_DEPORTATION, "deportation"},
    {TULAY__V1__CASE_KIND__CASE_KIND_RECOMMENDATION, "recommendation"},
};

static const struct vocab_word case_event_kinds[] = {
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_OPENED, "opened"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_STATUS_CHANGED, "status-changed"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_NOTE, "note"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_AMOUNTS_UPDATED, "amounts-updated"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_STAGE_RECORDED, "stage-recorded"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_INTERVENTION, "intervention"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_EVIDENCE_LINKED, "evidence-linked"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_REFERRAL_PROPOSED, "referral-proposed"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_REFERRAL_ACCEPTED, "referral-accepted"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_REFERRAL_DECLINED, "referral-declined"},
    {TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_REFERRAL_REVOKED, "referral-revoked"},
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

static const struct vocab_word deportation_statuses[] = {
    {TULAY__V1__DEPORTATION_STATUS__DEPORTATION_STATUS_ARRESTED, "arrested"},
    {TULAY__V1__DEPORTATION_STATUS__DEPORTATION_STATUS_DETAINED, "detained"},
    {TULAY__V1__DEPORTATION_STATUS__DEPORTATION_STATUS_RELEASED, "released"},
    {TULAY__V1__DEPORTATION_STATUS__DEPORTATION_STATUS_DEPORTED, "deported"},
};

static const struct vocab_word deportation_grounds[] = {
    {TULAY__V1__DEPORTATION_GROUND__DEPORTATION_GROUND_NO_PERMIT, "no-permit"},
    {TULAY__V1__DEPORTATION_GROUND__DEPORTATION_GROUND_OVERSTAY, "overstay"},
    {TULAY__V1__DEPORTATION_GROUND__DEPORTATION_GROUND_ABSCONDING_REPORT, "absconding-report"},
    {TULAY__V1__DEPORTATION_GROUND__DEPORTATION_GROUND_CRIMINAL_CHARGE, "criminal-charge"},
    {TULAY__V1__DEPORTATION_GROUND__DEPORTATION_GROUND_HEALTH_SCREENING, "health-screening"},
    {TULAY__V1__DEPORTATION_GROUND__DEPORTATION_GROUND_OTHER, "other"},
};

static const struct vocab_word detention_types[] = {
    {TULAY__V1__DETENTION_TYPE__DETENTION_TYPE_IMMIGRATION_DEPOT, "immigration-depot"},
    {TULAY__V1__DETENTION_TYPE__DETENTION_TYPE_POLICE_CELL, "police-cell"},
    {TULAY__V1__DETENTION_TYPE__DETENTION_TYPE_PRISON, "prison"},
    {TULAY__V1__DETENTION_TYPE__DETENTION_TYPE_SHELTER, "shelter"},
    {TULAY__V1__DETENTION_TYPE__DETENTION_TYPE_OTHER, "other"},
};

static const struct vocab_word legal_counsel[] = {
    {TULAY__V1__LEGAL_COUNSEL__LEGAL_COUNSEL_NONE, "none"},
    {TULAY__V1__LEGAL_COUNSEL__LEGAL_COUNSEL_NGO_LAWYER, "ngo-lawyer"},
    {TULAY__V1__LEGAL_COUNSEL__LEGAL_COUNSEL_LEGAL_AID, "legal-aid"},
    {TULAY__V1__LEGAL_COUNSEL__LEGAL_COUNSEL_PRIVATE_LAWYER, "private-lawyer"},
    {TULAY__V1__LEGAL_COUNSEL__LEGAL_COUNSEL_UNKNOWN, "unknown"},
};

static const struct vocab_word known[] = {
    {TULAY__V1__KNOWN__KNOWN_YES, "yes"},
    {TULAY__V1__KNOWN__KNOWN_NO, "no"},
    {TULAY__V1__KNOWN__KNOWN_UNKNOWN, "unknown"},
};

static const struct vocab_word deportation_stages[] = {
    {TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DETENTION, "detention"},
    {TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_RELEASE, "release"},
    {TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DEPORTATION, "deportation"},
};

static const struct vocab_word intervention_kinds[] = {
    {TULAY__V1__INTERVENTION_KIND__INTERVENTION_KIND_VISIT, "visit"},
    {TULAY__V1__INTERVENTION_KIND__INTERVENTION_KIND_REPRESENTATION_MINISTRY,
     "representation-ministry"},
    {TULAY__V1__INTERVENTION_KIND__INTERVENTION_KIND_REPRESENTATION_EMBASSY,
     "representation-embassy"},
    {TULAY__V1__INTERVENTION_KIND__INTERVENTION_KIND_LEGAL_REPRESENTATION, "legal-representation"},
    {TULAY__V1__INTERVENTION_KIND__INTERVENTION_KIND_REPATRIATION_SUPPORT, "repatriation-support"},
    {TULAY__V1__INTERVENTION_KIND__INTERVENTION_KIND_OTHER, "other"},
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

static const struct vocab_word membership_states[] = {
    {TULAY__V1__MEMBERSHIP_STATE__MEMBERSHIP_STATE_PROPOSED, "proposed"},
    {TULAY__V1__MEMBERSHIP_STATE__MEMBERSHIP_STATE_ACCEPTED, "accepted"},
    {TULAY__V1__MEMBERSHIP_STATE__MEMBERSHIP_STATE_DECLINED, "declined"},
    {TULAY__V1__MEMBERSHIP_STATE__MEMBERSHIP_STATE_WITHDRAWN, "withdrawn"},
    {TULAY__V1__MEMBERSHIP_STATE__MEMBERSHIP_STATE_ENDED, "ended"},
};

static const struct vocab_word recommendation_statuses[] = {
    {TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_DRAFTED, "drafted"},
    {TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_SUBMITTED, "submitted"},
    {TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_ACKNOWLEDGED, "acknowledged"},
    {TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_ACCEPTED, "accepted"},
    {TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_PARTIALLY_IMPLEMENTED,
     "partially-implemented"},
    {TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_IMPLEMENTED, "implemented"},
    {TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_NOTED, "noted"},
    {TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_REJECTED, "rejected"},
};

static const struct vocab_word addressed_to[] = {
    {TULAY__V1__ADDRESSED_TO__ADDRESSED_TO_RECEIVING_STATES, "receiving-states"},
    {TULAY__V1__ADDRESSED_TO__ADDRESSED_TO_SENDING_STATES, "sending-states"},
    {TULAY__V1__ADDRESSED_TO__ADDRESSED_TO_RECEIVING_AND_SENDING_STATES,
     "receiving-and-sending-states"},
    {TULAY__V1__ADDRESSED_TO__ADDRESSED_TO_ASEAN, "asean"},
    {TULAY__V1__ADDRESSED_TO__ADDRESSED_TO_NATIONAL_GOVERNMENT, "national-government"},
    {TULAY__V1__ADDRESSED_TO__ADDRESSED_TO_PARLIAMENT, "parliament"},
};

static const struct vocab_word recommendation_themes[] = {
    {TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_WAGE_PROTECTION, "wage-protection"},
    {TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_RECRUITMENT, "recruitment"},
    {TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_ACCESS_TO_JUSTICE, "access-to-justice"},
    {TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_DETENTION_AND_DEPORTATION,
     "detention-and-deportation"},
    {TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_SOCIAL_PROTECTION, "social-protection"},
    {TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_LABOUR_RIGHTS, "labour-rights"},
    {TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_GENDER, "gender"},
    {TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_DATA_AND_MONITORING,
     "data-and-monitoring"},
    {TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_CIVIL_SOCIETY_PARTICIPATION,
     "civil-society-participation"},
    {TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_OTHER, "other"},
};

static const struct vocab_word formats[] = {
    {OUTPUT_TABLE, "table"},
    {OUTPUT_JSON, "json"},
    {OUTPUT_CSV, "csv"},
};

static const struct vocab_word referral_statuses[] = {
    {TULAY__V1__REFERRAL_STATUS__REFERRAL_STATUS_PROPOSED, "proposed"},
    {TULAY__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED, "accepted"},
    {TULAY__V1__REFERRAL_STATUS__REFERRAL_STATUS_DECLINED, "declined"},
    {TULAY__V1__REFERRAL_STATUS__REFERRAL_STATUS_REVOKED, "revoked"},
};

static const struct vocab_word consent_forms[] = {
    {TULAY__V1__CONSENT_FORM__CONSENT_FORM_WRITTEN, "written"},
    {TULAY__V1__CONSENT_FORM__CONSENT_FORM_VERBAL, "verbal"},
    {TULAY__V1__CONSENT_FORM__CONSENT_FORM_RECORDED_MESSAGE, "recorded-message"},
};

const struct vocab vocab_sectors = WORDS("sector", sectors);
const struct vocab vocab_referral_statuses = WORDS("referral status", referral_statuses);
const struct vocab vocab_consent_forms = WORDS("form of consent", consent_forms);
const struct vocab vocab_claim_statuses = WORDS("claim status", claim_statuses);
const struct vocab vocab_case_kinds = WORDS("kind of case", case_kinds);
const struct vocab vocab_case_event_kinds = WORDS("case event", case_event_kinds);
const struct vocab vocab_claim_forums = WORDS("forum", claim_forums);
const struct vocab vocab_exploitation_means = WORDS("means of exploitation", exploitation_means);
const struct vocab vocab_deportation_statuses = WORDS("deportation status", deportation_statuses);
const struct vocab vocab_deportation_grounds = WORDS("ground of deportation", deportation_grounds);
const struct vocab vocab_detention_types = WORDS("type of detention", detention_types);
const struct vocab vocab_legal_counsel = WORDS("kind of legal counsel", legal_counsel);
const struct vocab vocab_known = WORDS("yes, no or unknown", known);
const struct vocab vocab_deportation_stages = WORDS("stage", deportation_stages);
const struct vocab vocab_intervention_kinds = WORDS("kind of intervention", intervention_kinds);
const struct vocab vocab_org_kinds = WORDS("organisation kind", org_kinds);
const struct vocab vocab_roles = WORDS("role", roles);
const struct vocab vocab_membership_roles = WORDS("membership role", membership_roles);
const struct vocab vocab_membership_states = WORDS("membership state", membership_states);
const struct vocab vocab_recommendation_statuses =
    WORDS("recommendation status", recommendation_statuses);
const struct vocab vocab_addressed_to = WORDS("addressee", addressed_to);
const struct vocab vocab_recommendation_themes = WORDS("theme", recommendation_themes);
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

const char *vocab_optional_word(const struct vocab *v, int value)
{
	return value == 0 ? "" : vocab_word(v, value);
}

bool vocab_join_values(const struct vocab *v, const int *values, size_t n, char *buf, size_t cap)
{
	if (cap == 0)
		return false;
	buf[0] = '\0';
	for (size_t i = 0, len = 0; i < n; i++) {
		int w = snprintf(buf + len, cap - len, "%s%s", i > 0 ? "," : "",
				 vocab_word(v, values[i]));
		if (w < 0 || (size_t)w >= cap - len) {
			buf[0] = '\0';
			return false;
		}
		len += (size_t)w;
	}
	return true;
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
