/* Wage-theft claims and organisations through libtulay against a real tulayd: the happy
 * path, idempotency, every kind of invalid value, other organisations' records, roles,
 * and two clients pipelining at once. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_client.h"
#include "it_support.h"
#include "libtulay.h"

/* Connects and logs in; NULL on any failure. Safe in threads (no cmocka asserts). */
static struct tulay_client *try_login(const char *username)
{
	struct tulay_client *c = NULL;
	if (tulay_connect(getenv("TULAY_SERVER"), 5000, "it_claims", &c) != 0)
		return NULL;
	Tulay__V1__Response *resp = NULL;
	if (tulay_login(c, username, getenv("TULAY_TEST_PASSWORD"), &resp) != 0 ||
	    resp->status->code != TULAY__V1__CODE__OK) {
		tulay_response_free(resp);
		tulay_close(c);
		return NULL;
	}
	tulay_response_free(resp);
	return c;
}

static struct tulay_client *login_as(const char *username)
{
	struct tulay_client *c = try_login(username);
	assert_non_null(c);
	return c;
}

/* A valid claim; tests change one thing at a time. */
struct claim_form {
	Tulay__V1__CreateClaim msg;
	Tulay__V1__Money amount;
	uint8_t key[16];
};

static void claim_form_init(struct claim_form *f, const char *employer)
{
	tulay__v1__create_claim__init(&f->msg);
	tulay__v1__money__init(&f->amount);
	if (tulay_new_idempotency_key(f->key) != 0)
		abort();
	f->msg.idempotency_key.data = f->key;
	f->msg.idempotency_key.len = sizeof(f->key);
	f->msg.worker_nationality = "PH";
	f->msg.country_of_work = "MY";
	f->msg.sector = TULAY__V1__SECTOR__SECTOR_CONSTRUCTION;
	f->msg.employer = (char *)employer;
	f->msg.work_started_on = "2025-01-06";
	f->msg.work_ended_on = "2025-11-30";
	f->amount.minor_units = 4500000; /* 45000.00 MYR */
	f->amount.currency = "MYR";
	f->msg.amount_claimed = &f->amount;
}

static Tulay__V1__Response *create(struct tulay_client *c, struct claim_form *f)
{
	Tulay__V1__Response *resp = NULL;
	assert_int_equal(tulay_create_claim(c, &f->msg, &resp), 0);
	return resp;
}

/* Number of claims the user's organisation has (all pages). */
static size_t count_claims(struct tulay_client *c)
{
	size_t total = 0;
	char token[32] = "";
	do {
		Tulay__V1__ListClaims q = TULAY__V1__LIST_CLAIMS__INIT;
		q.limit = 500;
		q.page_token = token;
		Tulay__V1__Response *resp = NULL;
		assert_int_equal(tulay_list_claims(c, &q, &resp), 0);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		total += resp->claims->n_claims;
		snprintf(token, sizeof(token), "%s", resp->claims->next_page_token);
		tulay_response_free(resp);
	} while (token[0] != '\0');
	return total;
}

static bool has_field_error(const Tulay__V1__Response *resp, const char *field)
{
	for (size_t i = 0; i < resp->status->n_field_errors; i++) {
		if (strcmp(resp->status->field_errors[i]->field, field) == 0)
			return true;
	}
	return false;
}

/* A claim whose worker or co-worker has the ID number of an earlier case of the
 * organisation is logged, and names that case as a possible duplicate (issue 12, point 6):
 * written another way, as a co-worker, never the claim itself on a retry, and never a
 * case of another organisation. */
static void test_possible_duplicates(void **state)
{
	(void)state;
	struct tulay_client *c = login_as("officer");
	char number[32];
	snprintf(number, sizeof(number), "DUP %u", (unsigned)(time(NULL) % 1000000));

	struct claim_form first;
	claim_form_init(&first, "Duplicate Check Sdn Bhd");
	Tulay__V1__Worker worker = TULAY__V1__WORKER__INIT;
	worker.id_number = number;
	first.msg.worker = &worker;
	Tulay__V1__Response *a = create(c, &first);
	assert_int_equal(a->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(a->claim->n_possible_duplicates, 0);

	/* The same number as a co-worker's, without the space. */
	char squeezed[32];
	size_t o = 0;
	for (const char *p = number; *p != '\0'; p++)
		if (*p != ' ')
			squeezed[o++] = *p;
	squeezed[o] = '\0';
	struct claim_form second;
	claim_form_init(&second, "Duplicate Check Sdn Bhd");
	Tulay__V1__Worker lead = TULAY__V1__WORKER__INIT, co = TULAY__V1__WORKER__INIT;
	lead.name = "Lead worker";
	co.name = "Co-worker";
	co.id_number = squeezed;
	Tulay__V1__Worker *co_workers[] = {&co};
	second.msg.worker = &lead;
	second.msg.co_workers = co_workers;
	second.msg.n_co_workers = 1;
	second.msg.workers = 2;
	Tulay__V1__Response *b = create(c, &second);
	assert_int_equal(b->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(b->claim->n_possible_duplicates, 1);
	assert_string_equal(b->claim->possible_duplicates[0], a->claim->reference);

	/* A retry answers the same claim and does not call it its own duplicate. */
	Tulay__V1__Response *again = create(c, &second);
	assert_int_equal(again->status->code, TULAY__V1__CODE__OK);
	assert_string_equal(again->claim->reference, b->claim->reference);
	assert_int_equal(again->claim->n_possible_duplicates, 1);
	assert_string_equal(again->claim->possible_duplicates[0], a->claim->reference);

	/* Another organisation's claim with the same number is no duplicate of these. */
	struct tulay_client *kl = login_as("klofficer");
	struct claim_form other;
	claim_form_init(&other, "Duplicate Check Sdn Bhd");
	Tulay__V1__Worker same = TULAY__V1__WORKER__INIT;
	same.id_number = number;
	other.msg.worker = &same;
	Tulay__V1__Response *d = create(kl, &other);
	assert_int_equal(d->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(d->claim->n_possible_duplicates, 0);

	tulay_response_free(a);
	tulay_response_free(b);
	tulay_response_free(again);
	tulay_response_free(d);
	tulay_close(kl);
	tulay_close(c);
}

static void test_create_show_list(void **state)
{
	(void)state;
	struct tulay_client *c = login_as("officer");
	struct claim_form f;
	claim_form_init(&f, "Syarikat Bina Jaya Sdn Bhd");
	f.msg.workers = 14;
	Tulay__V1__Response *resp = create(c, &f);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	const Tulay__V1__Claim *claim = resp->claim;
	assert_memory_equal(claim->reference, "WT-", 3);
	assert_int_equal(strlen(claim->reference), strlen("WT-2026-000001"));
	assert_string_equal(claim->organisation, "DEMO");
	assert_int_equal(claim->status, TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_INTAKE);
	assert_string_equal(claim->worker_nationality, "PH");
	assert_string_equal(claim->country_of_work, "MY");
	assert_int_equal(claim->sector, TULAY__V1__SECTOR__SECTOR_CONSTRUCTION);
	assert_string_equal(claim->employer, "Syarikat Bina Jaya Sdn Bhd");
	assert_string_equal(claim->work_started_on, "2025-01-06");
	assert_string_equal(claim->work_ended_on, "2025-11-30");
	assert_int_equal(claim->amount_claimed->minor_units, 4500000);
	assert_string_equal(claim->amount_claimed->currency, "MYR");
	assert_int_equal(claim->workers, 14);
	assert_int_equal(claim->version, 1);
	assert_string_equal(claim->created_by, "officer");
	char reference[32];
	snprintf(reference, sizeof(reference), "%s", claim->reference);
	tulay_response_free(resp);

	/* Show it by reference. */
	assert_int_equal(tulay_get_claim(c, reference, "", &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_string_equal(resp->claim->reference, reference);
	assert_string_equal(resp->claim->employer, "Syarikat Bina Jaya Sdn Bhd");
	tulay_response_free(resp);

	/* Another claim elsewhere, then filter by country of work and status. */
	claim_form_init(&f, "Bangkok Garments Ltd");
	f.msg.worker_nationality = "KH";
	f.msg.country_of_work = "TH";
	f.msg.sector = TULAY__V1__SECTOR__SECTOR_MANUFACTURING;
	f.amount.currency = "THB";
	resp = create(c, &f);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	tulay_response_free(resp);

	Tulay__V1__ListClaims q = TULAY__V1__LIST_CLAIMS__INIT;
	q.country_of_work = "TH";
	q.status = TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_INTAKE;
	assert_int_equal(tulay_list_claims(c, &q, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_true(resp->claims->n_claims >= 1);
	for (size_t i = 0; i < resp->claims->n_claims; i++)
		assert_string_equal(resp->claims->claims[i]->country_of_work, "TH");
	tulay_response_free(resp);

	q.status = TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_PAID;
	assert_int_equal(tulay_list_claims(c, &q, &resp), 0);
	assert_int_equal(resp->claims->n_claims, 0);
	tulay_response_free(resp);
	tulay_close(c);
}

static void test_paging_is_stable(void **state)
{
	(void)state;
	struct tulay_client *c = login_as("officer");
	for (int i = 0; i < 5; i++) {
		struct claim_form f;
		claim_form_init(&f, "Paging Plantation Sdn Bhd");
		Tulay__V1__Response *resp = create(c, &f);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		tulay_response_free(resp);
	}
	size_t total = count_claims(c);
	/* Walk in pages of 2: every claim once, none twice, newest first. */
	size_t seen = 0;
	char token[32] = "", last[32] = "";
	do {
		Tulay__V1__ListClaims q = TULAY__V1__LIST_CLAIMS__INIT;
		q.limit = 2;
		q.page_token = token;
		Tulay__V1__Response *resp = NULL;
		assert_int_equal(tulay_list_claims(c, &q, &resp), 0);
		assert_true(resp->claims->n_claims <= 2);
		for (size_t i = 0; i < resp->claims->n_claims; i++) {
			if (last[0] != '\0')
				assert_true(strcmp(resp->claims->claims[i]->reference, last) < 0);
			snprintf(last, sizeof(last), "%s", resp->claims->claims[i]->reference);
			seen++;
		}
		snprintf(token, sizeof(token), "%s", resp->claims->next_page_token);
		tulay_response_free(resp);
	} while (token[0] != '\0');
	assert_int_equal(seen, total);
	tulay_close(c);
}

static void test_retry_returns_the_same_claim(void **state)
{
	(void)state;
	struct tulay_client *c = login_as("officer");
	struct claim_form f;
	claim_form_init(&f, "Retry Cleaning Services");
	size_t before = count_claims(c);
	Tulay__V1__Response *first = create(c, &f);
	Tulay__V1__Response *again = create(c, &f);
	assert_int_equal(first->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(again->status->code, TULAY__V1__CODE__OK);
	assert_string_equal(first->claim->reference, again->claim->reference);
	assert_int_equal(count_claims(c), before + 1);

	/* The same key with different content is refused, and writes nothing. */
	f.amount.minor_units += 100;
	Tulay__V1__Response *changed = create(c, &f);
	assert_int_equal(changed->status->code, TULAY__V1__CODE__ALREADY_EXISTS);
	assert_true(has_field_error(changed, "idempotency_key"));
	assert_int_equal(count_claims(c), before + 1);
	tulay_response_free(first);
	tulay_response_free(again);
	tulay_response_free(changed);
	tulay_close(c);
}

struct invalid_case {
	const char *what;
	const char *field;
	void (*spoil)(struct claim_form *f);
};

static void bad_country(struct claim_form *f)
{
	f->msg.country_of_work = "XX";
}
static void lower_case_country(struct claim_form *f)
{
	f->msg.worker_nationality = "ph";
}
static void bad_currency(struct claim_form *f)
{
	f->amount.currency = "ZZZ";
}
static void negative_amount(struct claim_form *f)
{
	f->amount.minor_units = -500;
}
static void zero_amount(struct claim_form *f)
{
	f->amount.minor_units = 0;
}
static void no_amount(struct claim_form *f)
{
	f->msg.amount_claimed = NULL;
}
static void period_reversed(struct claim_form *f)
{
	f->msg.work_started_on = "2025-06-01";
	f->msg.work_ended_on = "2025-05-31";
}
static void impossible_date(struct claim_form *f)
{
	f->msg.work_started_on = "2025-02-30";
}
static void empty_employer(struct claim_form *f)
{
	f->msg.employer = "";
}
static void blank_employer(struct claim_form *f)
{
	f->msg.employer = "    ";
}
static char long_employer[202];
static void employer_too_long(struct claim_form *f)
{
	memset(long_employer, 'E', 201);
	f->msg.employer = long_employer;
}
static void no_sector(struct claim_form *f)
{
	f->msg.sector = TULAY__V1__SECTOR__SECTOR_UNSPECIFIED;
}
static void sector_out_of_range(struct claim_form *f)
{
	f->msg.sector = (Tulay__V1__Sector)77;
}
static void short_key(struct claim_form *f)
{
	f->msg.idempotency_key.len = 8;
}
static void too_many_workers(struct claim_form *f)
{
	f->msg.workers = 100001;
}
static void unknown_organisation(struct claim_form *f)
{
	f->msg.organisation = "NOSUCHORG";
}
static void control_characters(struct claim_form *f)
{
	f->msg.employer = "Line\nbreak Ltd";
}

static void test_invalid_values_are_named_and_nothing_is_written(void **state)
{
	(void)state;
	static const struct invalid_case cases[] = {
	    {"unknown country", "country_of_work", bad_country},
	    {"lower-case country", "worker_nationality", lower_case_country},
	    {"unknown currency", "amount_claimed.currency", bad_currency},
	    {"negative amount", "amount_claimed.minor_units", negative_amount},
	    {"zero amount", "amount_claimed.minor_units", zero_amount},
	    {"missing amount", "amount_claimed", no_amount},
	    {"period end before start", "work_ended_on", period_reversed},
	    {"impossible date", "work_started_on", impossible_date},
	    {"empty employer", "employer", empty_employer},
	    {"blank employer", "employer", blank_employer},
	    {"employer over 200 characters", "employer", employer_too_long},
	    {"no sector", "sector", no_sector},
	    {"sector out of range", "sector", sector_out_of_range},
	    {"short idempotency key", "idempotency_key", short_key},
	    {"too many workers", "workers", too_many_workers},
	    {"unknown organisation", "organisation", unknown_organisation},
	    {"control characters", "employer", control_characters},
	};
	struct tulay_client *c = login_as("officer");
	size_t before = count_claims(c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct claim_form f;
		claim_form_init(&f, "Valid Employer Sdn Bhd");
		cases[i].spoil(&f);
		Tulay__V1__Response *resp = create(c, &f);
		if (resp->status->code != TULAY__V1__CODE__INVALID_ARGUMENT ||
		    !has_field_error(resp, cases[i].field))
			fail_msg("%s: expected INVALID_ARGUMENT on %s, got code %d (%s)",
				 cases[i].what, cases[i].field, resp->status->code,
				 resp->status->message);
		tulay_response_free(resp);
	}

	/* Several bad fields at once are all named. */
	struct claim_form f;
	claim_form_init(&f, "");
	bad_country(&f);
	bad_currency(&f);
	period_reversed(&f);
	Tulay__V1__Response *resp = create(c, &f);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_true(has_field_error(resp, "employer"));
	assert_true(has_field_error(resp, "country_of_work"));
	assert_true(has_field_error(resp, "amount_claimed.currency"));
	assert_true(has_field_error(resp, "work_ended_on"));
	tulay_response_free(resp);

	assert_int_equal(count_claims(c), before);
	tulay_close(c);
}

static void test_other_organisations_records(void **state)
{
	(void)state;
	struct tulay_client *demo = login_as("officer");
	struct claim_form f;
	claim_form_init(&f, "Cross Tenant Holdings");
	Tulay__V1__Response *resp = create(demo, &f);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	char reference[32];
	snprintf(reference, sizeof(reference), "%s", resp->claim->reference);
	tulay_response_free(resp);

	struct tulay_client *kl = login_as("klofficer");
	/* Asking for a DEMO claim by naming DEMO: not visible (only a claim DEMO referred to
	 * KL's organisation and KL accepted would be), and not told apart from one that does
	 * not exist. Listing DEMO's claims: refused outright. */
	assert_int_equal(tulay_get_claim(kl, reference, "DEMO", &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__NOT_FOUND);
	tulay_response_free(resp);
	Tulay__V1__ListClaims q = TULAY__V1__LIST_CLAIMS__INIT;
	q.organisation = "DEMO";
	assert_int_equal(tulay_list_claims(kl, &q, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__PERMISSION_DENIED);
	tulay_response_free(resp);
	/* Logging a claim for DEMO: refused, nothing written there. */
	size_t demo_before = count_claims(demo);
	claim_form_init(&f, "Cross Tenant Holdings");
	f.msg.organisation = "DEMO";
	resp = create(kl, &f);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__PERMISSION_DENIED);
	tulay_response_free(resp);
	assert_int_equal(count_claims(demo), demo_before);
	/* KL's own list never holds DEMO's employer. */
	q.organisation = "";
	assert_int_equal(tulay_list_claims(kl, &q, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	for (size_t i = 0; i < resp->claims->n_claims; i++)
		assert_string_not_equal(resp->claims->claims[i]->organisation, "DEMO");
	tulay_response_free(resp);
	/* A reference that KL's organisation does not have is simply not found. */
	assert_int_equal(tulay_get_claim(kl, "WT-2026-999999", "", &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__NOT_FOUND);
	tulay_response_free(resp);

	/* Case records stay with their organisation whatever the role: DEMO's admin cannot
	 * read KL's claims by naming KL. (An acronym in any case names the caller's own.) */
	struct tulay_client *admin = login_as("admin");
	assert_int_equal(tulay_get_claim(admin, reference, "demo", &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	tulay_response_free(resp);
	assert_int_equal(tulay_get_claim(admin, "WT-2026-000001", "MYNGO", &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__NOT_FOUND);
	tulay_response_free(resp);
	tulay_close(admin);
	tulay_close(kl);
	tulay_close(demo);
}

static void test_roles(void **state)
{
	(void)state;
	struct tulay_client *coord = login_as("coord");
	struct claim_form f;
	claim_form_init(&f, "Coordinator Should Not Log");
	Tulay__V1__Response *resp = create(coord, &f);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__PERMISSION_DENIED);
	tulay_response_free(resp);

	uint8_t key[16];
	assert_int_equal(tulay_new_idempotency_key(key), 0);
	Tulay__V1__CreateOrganisation org = TULAY__V1__CREATE_ORGANISATION__INIT;
	org.idempotency_key.data = key;
	org.idempotency_key.len = sizeof(key);
	org.acronym = "warbe";
	org.name = "WARBE Development Foundation";
	org.kind = TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_NGO;
	org.country = "BD";
	assert_int_equal(tulay_create_organisation(coord, &org, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__PERMISSION_DENIED);
	tulay_response_free(resp);
	tulay_close(coord);

	struct tulay_client *admin = login_as("admin");
	assert_int_equal(tulay_create_organisation(admin, &org, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_string_equal(resp->organisation->acronym, "WARBE");
	int64_t id = resp->organisation->id;
	tulay_response_free(resp);
	/* Retry: the same organisation. */
	assert_int_equal(tulay_create_organisation(admin, &org, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(resp->organisation->id, id);
	tulay_response_free(resp);
	/* A new key for the same acronym: taken. */
	assert_int_equal(tulay_new_idempotency_key(key), 0);
	assert_int_equal(tulay_create_organisation(admin, &org, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__ALREADY_EXISTS);
	assert_true(has_field_error(resp, "acronym"));
	tulay_response_free(resp);
	/* Invalid values named. */
	org.acronym = "X";
	org.country = "ZZ";
	org.kind = TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_UNSPECIFIED;
	assert_int_equal(tulay_create_organisation(admin, &org, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_true(has_field_error(resp, "acronym"));
	assert_true(has_field_error(resp, "country"));
	assert_true(has_field_error(resp, "kind"));
	tulay_response_free(resp);

	Tulay__V1__ListOrganisations lq = TULAY__V1__LIST_ORGANISATIONS__INIT;
	lq.country = "BD";
	assert_int_equal(tulay_list_organisations(admin, &lq, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(resp->organisations->n_organisations, 1);
	assert_string_equal(resp->organisations->organisations[0]->acronym, "WARBE");
	tulay_response_free(resp);
	tulay_close(admin);
}

#define PIPELINED 40

struct pipeline_result {
	const char *username;
	char references[PIPELINED][32];
	int ok;
};

/* Sends PIPELINED claims without waiting, then collects the responses in whatever order
 * they come, matching them by id. */
static void *pipeline_worker(void *arg)
{
	struct pipeline_result *r = arg;
	struct tulay_client *c = try_login(r->username);
	if (c == NULL)
		return NULL;
	struct claim_form forms[PIPELINED];
	uint64_t ids[PIPELINED];
	for (int i = 0; i < PIPELINED; i++) {
		claim_form_init(&forms[i], "Pipelined Plantation Bhd");
		forms[i].amount.minor_units = 100000 + i;
		Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
		req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
		req.create_claim = &forms[i].msg;
		if (tulay_send(c, &req, &ids[i]) != 0)
			return NULL;
	}
	for (int n = 0; n < PIPELINED; n++) {
		Tulay__V1__Response *resp = NULL;
		if (tulay_recv(c, &resp) != 0)
			break;
		for (int i = 0; i < PIPELINED; i++) {
			if (ids[i] == resp->id && resp->status->code == TULAY__V1__CODE__OK &&
			    resp->claim->amount_claimed->minor_units == 100000 + i) {
				snprintf(r->references[i], sizeof(r->references[i]), "%s",
					 resp->claim->reference);
				r->ok++;
			}
		}
		tulay_response_free(resp);
	}
	tulay_close(c);
	return NULL;
}

static void test_two_clients_pipelining(void **state)
{
	(void)state;
	struct pipeline_result a = {.username = "officer"}, b = {.username = "admin"};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, pipeline_worker, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, pipeline_worker, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.ok, PIPELINED);
	assert_int_equal(b.ok, PIPELINED);
	/* Both users are of DEMO: 80 claims, 80 distinct references. */
	for (int i = 0; i < 2 * PIPELINED; i++) {
		const char *ri = i < PIPELINED ? a.references[i] : b.references[i - PIPELINED];
		for (int j = i + 1; j < 2 * PIPELINED; j++) {
			const char *rj =
			    j < PIPELINED ? a.references[j] : b.references[j - PIPELINED];
			assert_string_not_equal(ri, rj);
		}
	}
}

/* A client that pipelines far more than max_requests_in_flight (32) and does not read
 * until it has sent everything: the server pauses reading at the in-flight cap and at the
 * output cap (the harness runs tulayd with --max-output-bytes 262144; the answers here are
 * pages of claims, over 12 MB in all: more than loopback's socket buffers can absorb, so
 * unsent responses queue in the server), resumes as the client reads, and every request
 * gets exactly one answer. */
#define FLOOD 1500

static void test_backpressure_loses_nothing(void **state)
{
	(void)state;
	struct tulay_client *c = login_as("officer");
	uint64_t first_id = it_flood(c, FLOOD);
	size_t bytes = it_drain(c, first_id, FLOOD);
	printf("# %d pipelined requests, %zu response bytes, none lost\n", FLOOD, bytes);
	assert_true(bytes > 12u * 1024 * 1024);
	tulay_close(c);
}

/* No consent, no referral: the server refuses a ProposeReferral without a consent (or
 * with half of one), naming the field, and writes nothing; the same for a decline or a
 * revocation without a reason. The CLI checks this too, but the server cannot rely on it. */
static void test_referral_needs_consent(void **state)
{
	(void)state;
	struct tulay_client *kl = login_as("klofficer");
	struct claim_form f;
	claim_form_init(&f, "Consent Check Sdn Bhd");
	Tulay__V1__Response *resp = create(kl, &f);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	char reference[32];
	snprintf(reference, sizeof(reference), "%s", resp->claim->reference);
	tulay_response_free(resp);

	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	assert_int_equal(tulay_new_idempotency_key(key), 0);
	Tulay__V1__ProposeReferral p = TULAY__V1__PROPOSE_REFERRAL__INIT;
	p.idempotency_key.data = key;
	p.idempotency_key.len = sizeof(key);
	p.reference = reference;
	p.to_organisation = "DEMO";
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_PROPOSE_REFERRAL;
	req.propose_referral = &p;
	assert_int_equal(tulay_call(kl, &req, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_true(has_field_error(resp, "consent"));
	tulay_response_free(resp);

	Tulay__V1__Consent half = TULAY__V1__CONSENT__INIT; /* a date but no form */
	half.given_on = "2025-10-01";
	p.consent = &half;
	assert_int_equal(tulay_call(kl, &req, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_true(has_field_error(resp, "consent.form"));
	tulay_response_free(resp);

	/* With consent it goes through; a decline without a reason does not. */
	half.form = TULAY__V1__CONSENT_FORM__CONSENT_FORM_VERBAL;
	assert_int_equal(tulay_call(kl, &req, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	int64_t id = resp->referral->id;
	tulay_response_free(resp);
	struct tulay_client *demo = login_as("officer");
	Tulay__V1__DecideReferral d = TULAY__V1__DECIDE_REFERRAL__INIT;
	assert_int_equal(tulay_new_idempotency_key(key), 0);
	d.idempotency_key.data = key;
	d.idempotency_key.len = sizeof(key);
	d.referral_id = id;
	d.decision = TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_DECLINE;
	req.body_case = TULAY__V1__REQUEST__BODY_DECIDE_REFERRAL;
	req.decide_referral = &d;
	assert_int_equal(tulay_call(demo, &req, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_true(has_field_error(resp, "reason"));
	tulay_response_free(resp);
	/* The same decline retried with its reason, twice: one decision, the same answer. */
	d.reason = "No caseworker free";
	for (int i = 0; i < 2; i++) {
		assert_int_equal(tulay_call(demo, &req, &resp), 0);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		assert_int_equal(resp->referral->status,
				 TULAY__V1__REFERRAL_STATUS__REFERRAL_STATUS_DECLINED);
		assert_int_equal(resp->referral->version, 2);
		tulay_response_free(resp);
	}
	tulay_close(demo);
	tulay_close(kl);
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_show_list),
	    cmocka_unit_test(test_paging_is_stable),
	    cmocka_unit_test(test_retry_returns_the_same_claim),
	    cmocka_unit_test(test_invalid_values_are_named_and_nothing_is_written),
	    cmocka_unit_test(test_other_organisations_records),
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test(test_referral_needs_consent),
	    cmocka_unit_test(test_two_clients_pipelining),
	    cmocka_unit_test(test_backpressure_loses_nothing),
	    cmocka_unit_test(test_possible_duplicates),
	};
	return cmocka_run_group_tests_name("it_claims", tests, NULL, NULL);
}
