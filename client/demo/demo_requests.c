/* tulay-demo: the plan (which cases, by whom, with which steps) and the protocol request
 * built for each job of it. Every write's idempotency key derives from the item it
 * creates, so that a second run replays instead of duplicating. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "demo_loader.h"

const char *const case_kind_names[N_CASE_KINDS] = {"claim", "deportation", "recommendation"};

/* --- the plan ------------------------------------------------------------------------- */

void username_of(size_t org, bool officer, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = demo_orgs[org].acronym; *p != '\0' && n + 1 < cap; p++)
		out[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	out[n] = '\0';
	snprintf(out + n, cap - n, "%s", officer ? ".officer" : ".coord");
}

bool make_plans(struct loader *L)
{
	size_t n = L->opt.scale;
	L->claims = calloc(n + 1, sizeof(*L->claims));
	L->deportations = calloc(n + 1, sizeof(*L->deportations));
	L->recommendations = calloc(n + 1, sizeof(*L->recommendations));
	for (size_t k = 0; k < N_CASE_KINDS; k++)
		L->state[k] = calloc(n + 1, sizeof(*L->state[k]));
	if (L->claims == NULL || L->deportations == NULL || L->recommendations == NULL ||
	    L->state[CASE_CLAIM] == NULL || L->state[CASE_DEPORTATION] == NULL ||
	    L->state[CASE_RECOMMENDATION] == NULL) {
		say("out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		demo_claim_plan(L->opt.seed, i, &L->claims[i]);
		demo_deportation_plan(L->opt.seed, i, &L->deportations[i]);
	}
	for (size_t i = 0; i < n; i++)
		demo_recommendation_plan(L->opt.seed, i, L->claims, n, &L->recommendations[i]);
	return true;
}

/* The protocol's code of an organisation kind or membership role ("trade_union"). */
static const char *code_or_unspecified(const ProtobufCEnumDescriptor *e, int value)
{
	const char *code = proto_code(e, value);
	return code != NULL ? code : "unspecified";
}

void print_plan(const struct loader *L)
{
	for (size_t i = 0; i < demo_n_orgs; i++)
		printf("organisation\t%s\t%s\t%s\t%s\n", demo_orgs[i].acronym,
		       code_or_unspecified(&tulay__v1__organisation_kind__descriptor,
					   demo_orgs[i].kind),
		       demo_orgs[i].country, demo_orgs[i].name);
	for (size_t i = 0; i < demo_n_memberships; i++) {
		const struct demo_membership *m = &demo_memberships[i];
		printf("membership\t%s\t%s\t%s\t%s\t%s\n", m->member, m->network,
		       code_or_unspecified(&tulay__v1__membership_role__descriptor, m->role),
		       m->since, m->until != NULL ? m->until : "-");
	}
	for (size_t i = 0; i < demo_n_offices; i++)
		printf("office\t%s\t%s\t%s\t%s\n", demo_offices[i].org, demo_offices[i].name,
		       demo_offices[i].city, demo_offices[i].country);
	for (size_t i = 0; i < demo_n_orgs; i++) {
		char name[72];
		username_of(i, true, name, sizeof(name));
		printf("user\t%s\t%s\tfield_officer\n", name, demo_orgs[i].acronym);
		username_of(i, false, name, sizeof(name));
		printf("user\t%s\t%s\tcoordinator\n", name, demo_orgs[i].acronym);
	}
	for (size_t i = 0; i < demo_n_rates; i++)
		printf("rate\t%s\t%s\t%s\t%s\n", demo_rates[i].currency,
		       demo_rates[i].reporting_currency, demo_rates[i].rate,
		       demo_rates[i].valid_from);
	size_t referrals = 0;
	for (size_t i = 0; i < L->opt.scale; i++) {
		referrals += L->claims[i].referral.to_org != DEMO_NO_ORG;
		referrals += L->deportations[i].referral.to_org != DEMO_NO_ORG;
	}
	printf("cases\twage_theft\t%zu\n", L->opt.scale);
	printf("cases\tdeportation\t%zu\n", L->opt.scale);
	printf("cases\trecommendation\t%zu\n", L->opt.scale);
	printf("referrals\t%zu\n", referrals);
}

/* The steps and referral of case n of `kind`. */
const struct demo_step *case_steps(const struct loader *L, enum case_kind kind, size_t n,
				   size_t *count)
{
	switch (kind) {
	case CASE_CLAIM:
		*count = L->claims[n].n_steps;
		return L->claims[n].steps;
	case CASE_DEPORTATION:
		*count = L->deportations[n].n_steps;
		return L->deportations[n].steps;
	default:
		*count = L->recommendations[n].n_steps;
		return L->recommendations[n].steps;
	}
}

size_t case_org(const struct loader *L, enum case_kind kind, size_t n)
{
	switch (kind) {
	case CASE_CLAIM:
		return L->claims[n].org;
	case CASE_DEPORTATION:
		return L->deportations[n].org;
	default:
		return L->recommendations[n].org;
	}
}

const struct demo_referral *case_referral(const struct loader *L, enum case_kind kind, size_t n)
{
	if (kind == CASE_CLAIM)
		return &L->claims[n].referral;
	if (kind == CASE_DEPORTATION)
		return &L->deportations[n].referral;
	return NULL;
}

/* --- building requests ---------------------------------------------------------------- */

static ProtobufCBinaryData key_of(struct scratch *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static ProtobufCBinaryData key_of(struct scratch *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->label, sizeof(s->label), fmt, ap);
	va_end(ap);
	demo_key(s->label, s->key);
	return (ProtobufCBinaryData){.len = DEMO_KEY_BYTES, .data = s->key};
}

/* The key of one write about case n of `kind`: a function of the plan's version, the seed,
 * the kind, n and the write (what: "create", "step/3", "referral", "referral/decision")
 * only, so that every run of a plan sends the same keys whatever it finds loaded. */
static ProtobufCBinaryData case_key(struct scratch *s, const struct loader *L, enum case_kind kind,
				    size_t n, const char *what)
{
	return key_of(s, "tulay-demo/%d/%" PRIu64 "/%s/%zu/%s", DEMO_PLAN_VERSION, L->opt.seed,
		      case_kind_names[kind], n, what);
}

static Tulay__V1__Money *money(struct scratch *s, size_t slot, int64_t minor, const char *currency)
{
	Tulay__V1__Money *m = &s->money[slot];
	tulay__v1__money__init(m);
	m->minor_units = minor;
	m->currency = (char *)currency;
	return m;
}

static char *or_empty(const char *s)
{
	return (char *)(s != NULL ? s : "");
}

static void build_create_claim(const struct loader *L, size_t n, struct scratch *s,
			       Tulay__V1__Request *req)
{
	const struct demo_claim *c = &L->claims[n];
	Tulay__V1__CreateClaim *m = &s->body.create_claim;
	tulay__v1__create_claim__init(m);
	m->idempotency_key = case_key(s, L, CASE_CLAIM, n, "create");
	m->office = or_empty(c->office);
	m->worker_nationality = (char *)c->nationality;
	m->country_of_work = (char *)c->country_of_work;
	m->sector = c->sector;
	m->employer = (char *)c->employer;
	m->work_started_on = (char *)c->work_started_on;
	m->work_ended_on = (char *)c->work_ended_on;
	m->amount_claimed = money(s, 0, c->amount_claimed, c->currency);
	m->workers = c->workers;
	if (c->worker_name[0] != '\0') {
		tulay__v1__worker__init(&s->worker);
		s->worker.name = (char *)c->worker_name;
		s->worker.id_number = (char *)c->worker_id_number;
		m->worker = &s->worker;
	}
	if (c->agency[0] != '\0') {
		m->recruitment_agency = (char *)c->agency;
		m->recruitment_fee = money(s, 1, c->recruitment_fee, c->fee_currency);
	}
	if (c->contract_wage >= 0) {
		m->contract_wage = money(s, 2, c->contract_wage, c->currency);
		m->actual_wage = money(s, 3, c->actual_wage, c->currency);
	}
	m->forum = c->forum;
	m->filing_deadline = (char *)c->filing_deadline;
	for (size_t i = 0; i < c->n_means; i++)
		s->means[i] = c->means[i];
	m->n_exploitation_means = c->n_means;
	m->exploitation_means = s->means;
	req->body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	req->create_claim = m;
}

static Tulay__V1__ApproxDate *approx_date(struct scratch *s, size_t slot, const char *date,
					  bool circa)
{
	Tulay__V1__ApproxDate *d = &s->dates[slot];
	tulay__v1__approx_date__init(d);
	d->date = (char *)date;
	d->circa = circa;
	return d;
}

static void build_create_deportation(const struct loader *L, size_t n, struct scratch *s,
				     Tulay__V1__Request *req)
{
	const struct demo_deportation *d = &L->deportations[n];
	Tulay__V1__CreateDeportation *m = &s->body.create_deportation;
	tulay__v1__create_deportation__init(m);
	m->idempotency_key = case_key(s, L, CASE_DEPORTATION, n, "create");
	m->office = or_empty(d->office);
	m->nationality = (char *)d->nationality;
	m->deported_from = (char *)d->deported_from;
	m->sector = d->sector;
	for (size_t i = 0; i < d->n_grounds; i++)
		s->grounds[i] = d->grounds[i];
	m->n_grounds = d->n_grounds;
	m->grounds = s->grounds;
	m->arrested_on = approx_date(s, 0, d->arrested_on, d->arrested_circa);
	m->arrest_place = (char *)d->arrest_place;
	if (d->detained_on[0] != '\0') {
		m->detained_on = approx_date(s, 1, d->detained_on, false);
		m->detention_place = or_empty(d->detention_place);
		m->detention_type = d->detention_type;
	}
	m->legal_counsel = d->legal_counsel;
	m->consular_notified = d->consular_notified;
	m->family_separated = d->family_separated;
	if (d->person_name[0] != '\0') {
		tulay__v1__person__init(&s->person);
		s->person.name = (char *)d->person_name;
		m->person = &s->person;
	}
	req->body_case = TULAY__V1__REQUEST__BODY_CREATE_DEPORTATION;
	req->create_deportation = m;
}

static void build_create_recommendation(const struct loader *L, size_t n, struct scratch *s,
					Tulay__V1__Request *req)
{
	const struct demo_recommendation *r = &L->recommendations[n];
	Tulay__V1__CreateRecommendation *m = &s->body.create_recommendation;
	tulay__v1__create_recommendation__init(m);
	m->idempotency_key = case_key(s, L, CASE_RECOMMENDATION, n, "create");
	m->office = or_empty(r->office);
	m->status = r->status;
	m->title = (char *)r->title;
	m->text = (char *)r->text;
	m->source_document = (char *)r->source_document;
	m->source_date = (char *)r->source_date;
	m->addressed_to = r->addressed_to;
	m->target_body = or_empty(r->target_body);
	m->country = or_empty(r->country);
	m->theme = r->theme;
	for (size_t i = 0; i < r->n_co_signers; i++)
		s->co_signers[i] = (char *)demo_orgs[r->co_signers[i]].acronym;
	m->n_co_signers = r->n_co_signers;
	m->co_signers = s->co_signers;
	/* Every claim it cites was created (evidence_ready): the request is the same in
	 * every run, whatever an earlier one left out. */
	for (size_t i = 0; i < r->n_evidence; i++)
		s->evidence[m->n_evidence++] = L->state[CASE_CLAIM][r->evidence[i]].reference;
	m->evidence = s->evidence;
	req->body_case = TULAY__V1__REQUEST__BODY_CREATE_RECOMMENDATION;
	req->create_recommendation = m;
}

static void build_step(const struct loader *L, const struct job *j, struct scratch *s,
		       Tulay__V1__Request *req)
{
	size_t count;
	const struct demo_step *st = &case_steps(L, j->kind, j->item, &count)[j->step];
	char *reference = (char *)L->state[j->kind][j->item].reference;
	char what[24];
	snprintf(what, sizeof(what), "step/%zu", j->step);
	ProtobufCBinaryData key = case_key(s, L, j->kind, j->item, what);
	const char *currency = j->kind == CASE_CLAIM ? L->claims[j->item].currency : "";
	switch (st->kind) {
	case DEMO_STEP_CLAIM_STATUS: {
		Tulay__V1__ChangeClaimStatus *m = &s->body.change_claim_status;
		tulay__v1__change_claim_status__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->status = (Tulay__V1__ClaimStatus)st->to;
		m->expected_version = st->expected_version;
		m->reason = or_empty(st->text);
		m->occurred_on = (char *)st->on;
		req->body_case = TULAY__V1__REQUEST__BODY_CHANGE_CLAIM_STATUS;
		req->change_claim_status = m;
		break;
	}
	case DEMO_STEP_CLAIM_AMOUNTS: {
		Tulay__V1__UpdateClaimAmounts *m = &s->body.update_claim_amounts;
		tulay__v1__update_claim_amounts__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->expected_version = st->expected_version;
		if (st->awarded >= 0)
			m->amount_awarded = money(s, 4, st->awarded, currency);
		if (st->recovered >= 0)
			m->amount_recovered = money(s, 5, st->recovered, currency);
		req->body_case = TULAY__V1__REQUEST__BODY_UPDATE_CLAIM_AMOUNTS;
		req->update_claim_amounts = m;
		break;
	}
	case DEMO_STEP_NOTE: {
		Tulay__V1__AddCaseNote *m = &s->body.add_case_note;
		tulay__v1__add_case_note__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->occurred_on = (char *)st->on;
		m->text = or_empty(st->text);
		req->body_case = TULAY__V1__REQUEST__BODY_ADD_CASE_NOTE;
		req->add_case_note = m;
		break;
	}
	case DEMO_STEP_DEPORTATION_STAGE: {
		Tulay__V1__RecordDeportationStage *m = &s->body.record_deportation_stage;
		tulay__v1__record_deportation_stage__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->expected_version = st->expected_version;
		m->stage = (Tulay__V1__DeportationStage)st->to;
		m->on = approx_date(s, 0, st->on, st->circa);
		m->detention_place = or_empty(st->place);
		m->detention_type = (Tulay__V1__DetentionType)st->detention_type;
		m->deported_to = or_empty(st->deported_to);
		req->body_case = TULAY__V1__REQUEST__BODY_RECORD_DEPORTATION_STAGE;
		req->record_deportation_stage = m;
		break;
	}
	case DEMO_STEP_INTERVENTION: {
		Tulay__V1__AddIntervention *m = &s->body.add_intervention;
		tulay__v1__add_intervention__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->kind = (Tulay__V1__InterventionKind)st->to;
		m->occurred_on = (char *)st->on;
		m->text = or_empty(st->text);
		req->body_case = TULAY__V1__REQUEST__BODY_ADD_INTERVENTION;
		req->add_intervention = m;
		break;
	}
	case DEMO_STEP_RECOMMENDATION_STATUS: {
		Tulay__V1__ChangeRecommendationStatus *m = &s->body.change_recommendation_status;
		tulay__v1__change_recommendation_status__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->status = (Tulay__V1__RecommendationStatus)st->to;
		m->expected_version = st->expected_version;
		m->occurred_on = (char *)st->on;
		m->note = or_empty(st->text);
		req->body_case = TULAY__V1__REQUEST__BODY_CHANGE_RECOMMENDATION_STATUS;
		req->change_recommendation_status = m;
		break;
	}
	}
}

void build(const struct loader *L, const struct job *j, struct scratch *s, Tulay__V1__Request *req)
{
	tulay__v1__request__init(req);
	switch (j->rpc) {
	case RPC_LOGIN: {
		Tulay__V1__Login *m = &s->body.login;
		tulay__v1__login__init(m);
		m->username = (char *)j->session->username;
		m->password = (char *)(j->session->admin ? L->admin_password : L->users_password);
		req->body_case = TULAY__V1__REQUEST__BODY_LOGIN;
		req->login = m;
		break;
	}
	case RPC_LOGOUT:
		tulay__v1__logout__init(&s->body.logout);
		req->body_case = TULAY__V1__REQUEST__BODY_LOGOUT;
		req->logout = &s->body.logout;
		break;
	case RPC_CREATE_ORGANISATION: {
		const struct demo_org *o = &demo_orgs[j->item];
		Tulay__V1__CreateOrganisation *m = &s->body.create_organisation;
		tulay__v1__create_organisation__init(m);
		m->idempotency_key = key_of(s, "tulay-demo/organisation/%s", o->acronym);
		m->acronym = (char *)o->acronym;
		m->name = (char *)o->name;
		m->kind = o->kind;
		m->country = (char *)o->country;
		req->body_case = TULAY__V1__REQUEST__BODY_CREATE_ORGANISATION;
		req->create_organisation = m;
		break;
	}
	case RPC_ADD_MEMBERSHIP: {
		const struct demo_membership *ms = &demo_memberships[j->item];
		Tulay__V1__AddMembership *m = &s->body.add_membership;
		tulay__v1__add_membership__init(m);
		m->idempotency_key =
		    key_of(s, "tulay-demo/membership/%s/%s/%s", ms->member, ms->network, ms->since);
		m->network = (char *)ms->network;
		m->member = (char *)ms->member;
		m->role = ms->role;
		m->since = (char *)ms->since;
		m->shares_aggregates = ms->shares_aggregates;
		req->body_case = TULAY__V1__REQUEST__BODY_ADD_MEMBERSHIP;
		req->add_membership = m;
		break;
	}
	case RPC_END_MEMBERSHIP: {
		const struct demo_membership *ms = &demo_memberships[j->item];
		Tulay__V1__EndMembership *m = &s->body.end_membership;
		tulay__v1__end_membership__init(m);
		m->network = (char *)ms->network;
		m->member = (char *)ms->member;
		m->until = (char *)ms->until;
		m->expected_version = L->membership_version[j->item];
		req->body_case = TULAY__V1__REQUEST__BODY_END_MEMBERSHIP;
		req->end_membership = m;
		break;
	}
	case RPC_ADD_OFFICE: {
		const struct demo_office *o = &demo_offices[j->item];
		Tulay__V1__AddOffice *m = &s->body.add_office;
		tulay__v1__add_office__init(m);
		m->idempotency_key = key_of(s, "tulay-demo/office/%s/%s", o->org, o->name);
		m->organisation = (char *)o->org;
		m->name = (char *)o->name;
		m->city = (char *)o->city;
		m->country = (char *)o->country;
		req->body_case = TULAY__V1__REQUEST__BODY_ADD_OFFICE;
		req->add_office = m;
		break;
	}
	case RPC_CREATE_USER: {
		size_t org = j->item / 2;
		bool officer = j->item % 2 == 0;
		Tulay__V1__CreateUser *m = &s->body.create_user;
		tulay__v1__create_user__init(m);
		username_of(org, officer, s->text, sizeof(s->text));
		m->idempotency_key = key_of(s, "tulay-demo/user/%s", s->text);
		m->organisation = (char *)demo_orgs[org].acronym;
		m->username = s->text;
		m->role = officer ? TULAY__V1__ROLE__ROLE_FIELD_OFFICER
				  : TULAY__V1__ROLE__ROLE_COORDINATOR;
		m->password = (char *)L->users_password;
		req->body_case = TULAY__V1__REQUEST__BODY_CREATE_USER;
		req->create_user = m;
		break;
	}
	case RPC_SET_EXCHANGE_RATE: {
		const struct demo_rate *r = &demo_rates[j->item];
		Tulay__V1__SetExchangeRate *m = &s->body.set_exchange_rate;
		tulay__v1__set_exchange_rate__init(m);
		m->idempotency_key = key_of(s, "tulay-demo/rate/%s/%s/%s", r->currency,
					    r->reporting_currency, r->valid_from);
		m->currency = (char *)r->currency;
		m->reporting_currency = (char *)r->reporting_currency;
		m->rate = (char *)r->rate;
		m->valid_from = (char *)r->valid_from;
		req->body_case = TULAY__V1__REQUEST__BODY_SET_EXCHANGE_RATE;
		req->set_exchange_rate = m;
		break;
	}
	case RPC_CREATE_CLAIM:
		build_create_claim(L, j->item, s, req);
		break;
	case RPC_CREATE_DEPORTATION:
		build_create_deportation(L, j->item, s, req);
		break;
	case RPC_CREATE_RECOMMENDATION:
		build_create_recommendation(L, j->item, s, req);
		break;
	case RPC_PROPOSE_REFERRAL: {
		const struct demo_referral *r = case_referral(L, j->kind, j->item);
		Tulay__V1__ProposeReferral *m = &s->body.propose_referral;
		tulay__v1__propose_referral__init(m);
		m->idempotency_key = case_key(s, L, j->kind, j->item, "referral");
		m->reference = (char *)L->state[j->kind][j->item].reference;
		m->to_organisation = (char *)demo_orgs[r->to_org].acronym;
		tulay__v1__consent__init(&s->consent);
		s->consent.given_on = (char *)r->consent_on;
		s->consent.form = r->consent_form;
		m->consent = &s->consent;
		m->reason = or_empty(r->reason);
		req->body_case = TULAY__V1__REQUEST__BODY_PROPOSE_REFERRAL;
		req->propose_referral = m;
		break;
	}
	case RPC_DECIDE_REFERRAL: {
		const struct demo_referral *r = case_referral(L, j->kind, j->item);
		Tulay__V1__DecideReferral *m = &s->body.decide_referral;
		tulay__v1__decide_referral__init(m);
		m->idempotency_key = case_key(s, L, j->kind, j->item, "referral/decision");
		m->referral_id = L->state[j->kind][j->item].referral_id;
		m->expected_version = 1;
		m->decision = r->decision;
		m->reason = or_empty(r->decision_reason);
		req->body_case = TULAY__V1__REQUEST__BODY_DECIDE_REFERRAL;
		req->decide_referral = m;
		break;
	}
	default:
		build_step(L, j, s, req);
		break;
	}
}
