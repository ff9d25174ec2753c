/* The demo set's recommendations: drawn from templates by theme, addressed to ministries
 * and parliaments of the countries in the plan, moved along their statuses. */
#include <stdio.h>
#include <string.h>

#include "demo_plan.h"

/* --- recommendations ----------------------------------------------------------------- */

struct template
{
	Tulay__V1__RecommendationTheme theme;
	Tulay__V1__AddressedTo addressed_to;
	const char *title;
	const char *text;
};

static const struct template templates[] = {
    {THEME(WAGE_PROTECTION), TO(RECEIVING_STATES),
     "Pay wages into bank accounts the worker controls",
     "Require employers to pay migrant workers' wages monthly into bank accounts held and "
     "controlled by the workers, with payslips in a language they read, and make the "
     "confiscation of ATM cards an offence."},
    {THEME(WAGE_PROTECTION), TO(RECEIVING_AND_SENDING_STATES),
     "Set up a wage-theft claims mechanism for repatriated workers",
     "Establish a transnational mechanism through which workers who were repatriated before "
     "being paid can file and pursue claims for unpaid wages and benefits from their "
     "country of origin, with evidence accepted in electronic form."},
    {THEME(WAGE_PROTECTION), TO(RECEIVING_STATES), "Create a wage guarantee fund",
     "Create a fund, financed by employers' contributions, that pays workers the wages "
     "awarded to them when the employer is insolvent, has absconded or cannot be found."},
    {THEME(RECRUITMENT), TO(SENDING_STATES), "Enforce zero recruitment fees for workers",
     "Apply the employer-pays principle: prohibit the charging of recruitment fees and "
     "related costs to workers, publish the list of licensed agencies, and suspend the "
     "licences of agencies found to charge fees."},
    {THEME(RECRUITMENT), TO(RECEIVING_AND_SENDING_STATES),
     "Regulate sub-agents in bilateral agreements",
     "Include in every bilateral labour agreement a joint register of recruitment agencies "
     "and their sub-agents, and joint liability of agencies and employers for unpaid "
     "wages."},
    {THEME(ACCESS_TO_JUSTICE), TO(RECEIVING_STATES),
     "Let workers stay and work while their claims are heard",
     "Grant migrant workers with pending labour claims a special pass that allows them to "
     "remain and to change employer until their case is decided."},
    {THEME(ACCESS_TO_JUSTICE), TO(RECEIVING_STATES), "Interpreters in labour courts",
     "Provide free interpretation in the languages of the main countries of origin at "
     "labour offices, labour courts and mediation sessions."},
    {THEME(ACCESS_TO_JUSTICE), TO(SENDING_STATES), "Legal aid desks at embassies",
     "Staff the labour sections of embassies in the main destination countries with "
     "lawyers who can represent workers in wage claims."},
    {THEME(DETENTION_AND_DEPORTATION), TO(RECEIVING_STATES),
     "End immigration detention of children",
     "End the detention of migrant children for immigration reasons and adopt alternatives "
     "to detention for families."},
    {THEME(DETENTION_AND_DEPORTATION), TO(RECEIVING_STATES),
     "Independent monitoring of immigration depots",
     "Allow independent monitoring bodies and civil-society organisations regular access "
     "to immigration detention facilities, and publish data on the number of people "
     "detained and the length of detention."},
    {THEME(DETENTION_AND_DEPORTATION), TO(RECEIVING_STATES), "No deportation before wages are paid",
     "Before any deportation, verify that the person has received all wages and benefits "
     "due, and suspend removal while a labour claim is pending."},
    {THEME(DETENTION_AND_DEPORTATION), TO(RECEIVING_STATES),
     "Stop automatic arrest on absconding reports",
     "Stop treating employers' absconding reports as grounds for arrest; investigate the "
     "circumstances, which often include unpaid wages and abuse."},
    {THEME(SOCIAL_PROTECTION), TO(RECEIVING_AND_SENDING_STATES),
     "Portability of social security benefits",
     "Conclude agreements that make social security contributions and benefits portable "
     "between countries of destination and origin."},
    {THEME(SOCIAL_PROTECTION), TO(RECEIVING_STATES),
     "Employment injury insurance for all migrant workers",
     "Cover every migrant worker, including domestic workers and workers without valid "
     "documents, by employment injury insurance."},
    {THEME(LABOUR_RIGHTS), TO(RECEIVING_STATES), "Freedom of association for migrant workers",
     "Recognise the right of migrant workers to form and join trade unions and to hold "
     "union office."},
    {THEME(LABOUR_RIGHTS), TO(NATIONAL_GOVERNMENT), "Recognise domestic work as work in labour law",
     "Bring domestic workers under the labour law with a weekly day off, limits on working "
     "hours and the minimum wage."},
    {THEME(GENDER), TO(SENDING_STATES), "Lift gender-based bans on migration",
     "Lift bans and age limits that apply only to women migrating for domestic work; they "
     "push women into irregular channels."},
    {THEME(GENDER), TO(ASEAN), "Gender-responsive ASEAN consensus implementation",
     "Include gender-responsive indicators and budget lines in the action plan implementing "
     "the ASEAN Consensus on the Protection and Promotion of the Rights of Migrant "
     "Workers."},
    {THEME(DATA_AND_MONITORING), TO(ASEAN), "Publish regional data on wage claims",
     "Collect and publish, disaggregated by corridor, sector and sex, the number of wage "
     "claims filed by migrant workers, the amounts awarded and the amounts recovered."},
    {THEME(DATA_AND_MONITORING), TO(NATIONAL_GOVERNMENT),
     "Report annually on deportations and their grounds",
     "Publish annual statistics on arrests, detention and deportation of migrant workers, "
     "with the grounds and the average length of detention."},
    {THEME(CIVIL_SOCIETY_PARTICIPATION), TO(ASEAN),
     "Civil-society seats in the ASEAN Forum on Migrant Labour",
     "Guarantee meaningful participation of migrant workers' organisations, trade unions "
     "and NGOs in the preparation, sessions and follow-up of the AFML."},
    {THEME(CIVIL_SOCIETY_PARTICIPATION), TO(PARLIAMENT),
     "Parliamentary caucus hearings with migrant workers",
     "Hold regular public hearings of the parliamentary caucus on labour migration with "
     "migrant workers' organisations, and follow up on the issues raised."},
    {THEME(ACCESS_TO_JUSTICE), TO(PARLIAMENT), "Amend the law on labour claims",
     "Amend the employment law so that claims for unpaid wages can be filed for up to six "
     "years after the end of employment and from abroad."},
    {THEME(RECRUITMENT), TO(PARLIAMENT), "Inquiry into recruitment costs",
     "Open a parliamentary inquiry into the costs workers pay to migrate and the debts they "
     "incur, and publish its findings."},
};

static const char *const ministries[][2] = {
    {"MY", "Ministry of Human Resources"},
    {"TH", "Ministry of Labour"},
    {"SG", "Ministry of Manpower"},
    {"BD", "Ministry of Expatriates' Welfare and Overseas Employment"},
    {"NP", "Ministry of Labour, Employment and Social Security"},
    {"PH", "Department of Migrant Workers"},
    {"ID", "Ministry of Manpower"},
    {"MM", "Ministry of Labour"},
    {"KH", "Ministry of Labour and Vocational Training"},
};
static const char *const parliaments[][2] = {
    {"MY", "Parliament of Malaysia"},
    {"BD", "Parliament of Bangladesh"},
    {"TH", "National Assembly of Thailand"},
    {"PH", "House of Representatives of the Philippines"},
};

/* How much of the networks' advocacy is about each theme (by RecommendationTheme value):
 * wage theft first, as in the claims they handle. */
static const unsigned theme_weights[] = {
    [THEME(WAGE_PROTECTION)] = 30,
    [THEME(RECRUITMENT)] = 14,
    [THEME(ACCESS_TO_JUSTICE)] = 20,
    [THEME(DETENTION_AND_DEPORTATION)] = 14,
    [THEME(SOCIAL_PROTECTION)] = 5,
    [THEME(LABOUR_RIGHTS)] = 5,
    [THEME(GENDER)] = 4,
    [THEME(DATA_AND_MONITORING)] = 4,
    [THEME(CIVIL_SOCIETY_PARTICIPATION)] = 4,
};

/* A template for `author`: its theme by theme_weights, then one of the theme's templates;
 * a caucus addresses its parliament. */
static const struct template *template_for(struct rng *r, const struct demo_org *author)
{
	unsigned weights[N_ELEMS(templates)];
	for (size_t i = 0; i < N_ELEMS(templates); i++) {
		unsigned same_theme = 0;
		for (size_t j = 0; j < N_ELEMS(templates); j++)
			same_theme += templates[j].theme == templates[i].theme;
		size_t theme = (size_t)templates[i].theme;
		weights[i] =
		    theme < N_ELEMS(theme_weights) ? theme_weights[theme] * 12 / same_theme : 0;
		if (author->kind == KIND(PARLIAMENTARY_CAUCUS) &&
		    templates[i].addressed_to != TO(PARLIAMENT))
			weights[i] = 0;
	}
	return &templates[rng_weighted(r, weights, N_ELEMS(templates))];
}

static const char *ministry_of(const char *country)
{
	for (size_t i = 0; i < N_ELEMS(ministries); i++) {
		if (strcmp(ministries[i][0], country) == 0)
			return ministries[i][1];
	}
	return NULL;
}

static const char *const follow_ups[] = {
    [REC(SUBMITTED)] = "Submitted to the body addressed with the supporting case data.",
    [REC(ACKNOWLEDGED)] = "Receipt acknowledged; the officials asked for aggregated case data.",
    [REC(ACCEPTED)] = "Accepted in the official reply; a working group will follow up.",
    [REC(PARTIALLY_IMPLEMENTED)] = "A circular was issued; enforcement is not yet monitored.",
    [REC(IMPLEMENTED)] = "The measure is in force; members monitor how it is applied.",
    [REC(NOTED)] = "Noted in the plenary without any commitment.",
    [REC(REJECTED)] = "The reply says the existing law already covers the issue.",
};

static void rec_step(struct demo_recommendation *rec, Tulay__V1__RecommendationStatus to,
		     int64_t *version, int64_t day, bool resubmitted)
{
	const char *note = resubmitted ? "Resubmitted with the evidence of the past year's cases."
				       : follow_ups[to];
	add_step(rec->steps, &rec->n_steps, DEMO_STEP_RECOMMENDATION_STATUS, (int)to, version, day,
		 note);
}

void demo_recommendation_plan(uint64_t seed, size_t n, const struct demo_claim *claims,
			      size_t n_claims, struct demo_recommendation *rec)
{
	struct rng r;
	rng_init(&r, seed, "recommendation", n);
	memset(rec, 0, sizeof(*rec));
	rec->org = pick_org(&r, offsetof(struct demo_org, recommendations));
	const struct demo_org *author = &demo_orgs[rec->org];
	rec->office = office_in(&r, rec->org, author->country);

	const struct template *t = template_for(&r, author);
	rec->title = t->title;
	rec->text = t->text;
	rec->theme = t->theme;
	rec->addressed_to = t->addressed_to;

	int year = (int)rng_range(&r, 2017, 2025);
	int64_t source_day =
	    days_from_civil(year, (unsigned)rng_range(&r, 1, 12), (unsigned)rng_range(&r, 1, 28));
	format_date(rec->source_date, source_day, DAY);
	static const char *const receiving[] = {"MY", "TH", "SG"};
	static const char *const sending[] = {"BD", "NP", "PH", "ID", "MM", "KH"};
	switch (t->addressed_to) {
	case TO(RECEIVING_STATES):
		rec->country = PICK(&r, receiving);
		rec->target_body = ministry_of(rec->country);
		snprintf(rec->source_document, sizeof(rec->source_document),
			 "Submission to the %s, %s, %d", rec->target_body, rec->country, year);
		break;
	case TO(SENDING_STATES):
		rec->country = PICK(&r, sending);
		rec->target_body = ministry_of(rec->country);
		snprintf(rec->source_document, sizeof(rec->source_document),
			 "Submission to the %s, %s, %d", rec->target_body, rec->country, year);
		break;
	case TO(NATIONAL_GOVERNMENT):
		rec->country = strcmp(author->country, "HK") == 0 ? "TH" : author->country;
		rec->target_body = ministry_of(rec->country);
		snprintf(rec->source_document, sizeof(rec->source_document),
			 "National consultation on labour migration, %s, %d", rec->country, year);
		break;
	case TO(PARLIAMENT): {
		size_t p = rng_next(&r) % N_ELEMS(parliaments);
		if (author->kind == KIND(PARLIAMENTARY_CAUCUS))
			p = 1; /* Bangladesh */
		rec->country = parliaments[p][0];
		rec->target_body = parliaments[p][1];
		snprintf(rec->source_document, sizeof(rec->source_document),
			 "Parliamentary fact-finding visit, %s, %d: issues and recommendations",
			 rec->country, year);
		break;
	}
	case TO(ASEAN):
		rec->target_body = rng_chance(&r, 50) ? "ASEAN Committee on Migrant Workers (ACMW)"
						      : "ASEAN Forum on Migrant Labour (AFML)";
		snprintf(rec->source_document, sizeof(rec->source_document),
			 "Civil-society recommendations to the ASEAN Forum on Migrant Labour, %d",
			 year);
		break;
	default:
		rec->target_body = "ASEAN Forum on Migrant Labour (AFML)";
		snprintf(rec->source_document, sizeof(rec->source_document),
			 "Regional consultation on wage theft and access to justice, Bangkok, %d",
			 year);
		break;
	}

	size_t n_co = (size_t)rng_range(&r, 0, DEMO_MAX_COSIGNERS);
	for (size_t i = 0; i < n_co; i++) {
		size_t o = rng_next(&r) % demo_n_orgs;
		bool taken = o == rec->org;
		for (size_t j = 0; j < rec->n_co_signers; j++)
			taken |= rec->co_signers[j] == o;
		if (!taken)
			rec->co_signers[rec->n_co_signers++] = o;
	}
	/* Evidence: the author's own latest claims numbered up to n. */
	if (rng_chance(&r, 60)) {
		for (size_t j = n < n_claims ? n + 1 : n_claims; j-- > 0;) {
			if (rec->n_evidence == DEMO_MAX_EVIDENCE)
				break;
			if (claims[j].org == rec->org)
				rec->evidence[rec->n_evidence++] = j;
		}
	}

	enum { DRAFTED, SUBMITTED, ACKNOWLEDGED, ACCEPTED, PARTIAL, IMPLEMENTED, NOTED, REJECTED };
	/* Most advocacy waits for an answer: submitted or acknowledged. */
	static const unsigned finals[] = {10, 34, 18, 10, 6, 4, 10, 8};
	size_t final = rng_weighted(&r, finals, N_ELEMS(finals));
	int64_t version = 1;
	int64_t day = source_day + rng_range(&r, 0, 30);
	rec->status = REC(SUBMITTED);
	if (final == DRAFTED || rng_chance(&r, 25)) {
		rec->status = REC(DRAFTED);
		if (final != DRAFTED)
			rec_step(rec, REC(SUBMITTED), &version, day, false);
	}
	if (final == DRAFTED || final == SUBMITTED)
		return;
	day += rng_range(&r, 30, 240);
	if (final == ACKNOWLEDGED || rng_chance(&r, 50)) {
		rec_step(rec, REC(ACKNOWLEDGED), &version, day, false);
		day += rng_range(&r, 30, 240);
	}
	switch (final) {
	case ACCEPTED:
	case PARTIAL:
	case IMPLEMENTED:
		rec_step(rec, REC(ACCEPTED), &version, day, false);
		day += rng_range(&r, 60, 365);
		if (final == PARTIAL || (final == IMPLEMENTED && rng_chance(&r, 50))) {
			rec_step(rec, REC(PARTIALLY_IMPLEMENTED), &version, day, false);
			day += rng_range(&r, 60, 365);
		}
		if (final == IMPLEMENTED)
			rec_step(rec, REC(IMPLEMENTED), &version, day, false);
		break;
	case NOTED:
	case REJECTED:
		rec_step(rec, final == NOTED ? REC(NOTED) : REC(REJECTED), &version, day, false);
		if (rng_chance(&r, 15)) { /* resubmitted with new evidence */
			day += rng_range(&r, 90, 365);
			rec_step(rec, REC(SUBMITTED), &version, day, true);
		}
		break;
	default:
		break;
	}
}
