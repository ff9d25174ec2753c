/* References under concurrency (issue 11): sixteen writers, each on its own connection,
 * create claims in ONE organisation at once (30 each), some of them deportations and
 * recommendations too, and replay every create with its idempotency key while the others
 * still write. Every reference must be distinct within its kind, have the form
 * PREFIX-YEAR-NNNNNN with the year the case was opened, come back unchanged on a replay,
 * and be in the database exactly once: the organisation's cases grow by exactly the
 * number of creates. */
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "it_concurrent.h"
#include "it_support.h"
#include "libtulay.h"

#define WRITERS      16
#define CLAIMS_EACH  30
#define OTHERS_EACH  3 /* deportations (writers 0-3), recommendations (writers 4-7) */
#define CREATES_EACH (CLAIMS_EACH + OTHERS_EACH)
/* A create answered UNAVAILABLE (the server busy) is sent again with the same key. */
#define UNAVAILABLE_RETRIES 20

enum kind { CLAIM, DEPORTATION, RECOMMENDATION };
static const char *const prefixes[] = {"WT", "DP", "RC"};

struct created {
	enum kind kind;
	int serial; /* content varies with it, so every create is its own request */
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	char reference[32];
	char opened_on[16];
	bool ok;
	bool replay_ok; /* the replay answered OK with the same reference */
};

struct writer {
	int index;
	const char *username;
	int n;
	struct created made[CREATES_EACH];
	struct it_tally answers;
	int failures;
	char first_failure[300];
};

static void failure(struct writer *w, const char *what, const Tulay__V1__Response *resp,
		    struct tulay_client *c)
{
	if (w->failures++ == 0)
		snprintf(w->first_failure, sizeof(w->first_failure), "%s: %s%s%s", what,
			 resp != NULL ? tulay_code_name(resp->status->code) : "no answer: ",
			 resp != NULL ? ": " : "",
			 resp != NULL ? resp->status->message : tulay_last_error(c));
}

/* Sends the create of `m` (again, for a replay: the same key and content) and returns the
 * answer, or NULL (recorded). */
static Tulay__V1__Response *send_create(struct writer *w, struct tulay_client *c,
					const struct created *m)
{
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__CreateClaim cc = TULAY__V1__CREATE_CLAIM__INIT;
	Tulay__V1__Money amount = TULAY__V1__MONEY__INIT;
	Tulay__V1__CreateDeportation cd = TULAY__V1__CREATE_DEPORTATION__INIT;
	Tulay__V1__ApproxDate arrested = TULAY__V1__APPROX_DATE__INIT;
	Tulay__V1__CreateRecommendation cr = TULAY__V1__CREATE_RECOMMENDATION__INIT;
	char text[96];
	switch (m->kind) {
	case CLAIM:
		snprintf(text, sizeof(text), "References Test Employer %d-%d", w->index, m->serial);
		cc.idempotency_key.data = (uint8_t *)m->key;
		cc.idempotency_key.len = sizeof(m->key);
		cc.worker_nationality = "NP";
		cc.country_of_work = "MY";
		cc.sector = TULAY__V1__SECTOR__SECTOR_MANUFACTURING;
		cc.employer = text;
		cc.work_started_on = "2024-09-01";
		cc.work_ended_on = "2025-09-30";
		amount.minor_units = 200000 + m->serial;
		amount.currency = "MYR";
		cc.amount_claimed = &amount;
		req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
		req.create_claim = &cc;
		break;
	case DEPORTATION:
		snprintf(text, sizeof(text), "References Test Town %d-%d", w->index, m->serial);
		arrested.date = "2025-07";
		cd.idempotency_key.data = (uint8_t *)m->key;
		cd.idempotency_key.len = sizeof(m->key);
		cd.nationality = "NP";
		cd.deported_from = "MY";
		cd.arrested_on = &arrested;
		cd.arrest_place = text;
		req.body_case = TULAY__V1__REQUEST__BODY_CREATE_DEPORTATION;
		req.create_deportation = &cd;
		break;
	case RECOMMENDATION:
		snprintf(text, sizeof(text), "References test: portable social security %d-%d",
			 w->index, m->serial);
		cr.idempotency_key.data = (uint8_t *)m->key;
		cr.idempotency_key.len = sizeof(m->key);
		cr.title = text;
		cr.text = "Contributions follow the worker home.";
		cr.source_document = "References test statement";
		cr.source_date = "2025-02-01";
		cr.addressed_to = TULAY__V1__ADDRESSED_TO__ADDRESSED_TO_SENDING_STATES;
		cr.theme = TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_SOCIAL_PROTECTION;
		req.body_case = TULAY__V1__REQUEST__BODY_CREATE_RECOMMENDATION;
		req.create_recommendation = &cr;
		break;
	}
	Tulay__V1__Response *resp = NULL;
	if (it_call_retrying(c, &req, UNAVAILABLE_RETRIES, &w->answers, &resp) != 0) {
		failure(w, "create", NULL, c);
		return NULL;
	}
	if (resp->status->code != TULAY__V1__CODE__OK) {
		failure(w, "create", resp, c);
		tulay_response_free(resp);
		return NULL;
	}
	return resp;
}

/* The reference and opening day of an OK answer to a create of `kind`. */
static void answer_reference(enum kind kind, const Tulay__V1__Response *resp, const char **ref,
			     const char **opened_on)
{
	*ref = *opened_on = "";
	if (kind == CLAIM && resp->claim != NULL) {
		*ref = resp->claim->reference;
		*opened_on = resp->claim->opened_on;
	} else if (kind == DEPORTATION && resp->deportation != NULL) {
		*ref = resp->deportation->reference;
		*opened_on = resp->deportation->opened_on;
	} else if (kind == RECOMMENDATION && resp->recommendation != NULL) {
		*ref = resp->recommendation->reference;
		*opened_on = resp->recommendation->opened_on;
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct tulay_client *c = it_login_try(w->username);
	if (c == NULL) {
		failure(w, "login", NULL, NULL);
		return NULL;
	}
	/* Writers 0-7 create a deportation or a recommendation after every ten claims or so,
	 * so every kind is created at once. */
	int total = w->index < 8 ? CREATES_EACH : CLAIMS_EACH;
	for (int i = 0; i < total; i++) {
		struct created *m = &w->made[w->n++];
		m->kind = CLAIM;
		if (w->index < 8 && i % 11 == 5)
			m->kind = w->index < 4 ? DEPORTATION : RECOMMENDATION;
		m->serial = i;
		it_new_key(m->key);
		Tulay__V1__Response *resp = send_create(w, c, m);
		if (resp == NULL)
			continue;
		const char *ref, *opened_on;
		answer_reference(m->kind, resp, &ref, &opened_on);
		snprintf(m->reference, sizeof(m->reference), "%s", ref);
		snprintf(m->opened_on, sizeof(m->opened_on), "%s", opened_on);
		m->ok = true;
		tulay_response_free(resp);
	}
	/* Every create again, with its key, while the others may still be creating. */
	for (int i = 0; i < w->n; i++) {
		struct created *m = &w->made[i];
		if (!m->ok)
			continue;
		Tulay__V1__Response *resp = send_create(w, c, m);
		if (resp == NULL)
			continue;
		const char *ref, *opened_on;
		answer_reference(m->kind, resp, &ref, &opened_on);
		m->replay_ok = strcmp(ref, m->reference) == 0;
		tulay_response_free(resp);
	}
	tulay_close(c);
	return NULL;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *count_sql = "SELECT count(*) FROM cases c JOIN organisations o USING (org_id) "
			       "WHERE o.acronym = 'DEMO'";

static void test_references_unique_under_sixteen_writers(void **state)
{
	(void)state;
	PGconn *pg = it_db_connect(it_owner_conninfo());
	long long before = it_sql_number(pg, count_sql, NULL);

	static struct writer writers[WRITERS];
	pthread_t threads[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		memset(&writers[i], 0, sizeof(writers[i]));
		writers[i].index = i;
		writers[i].username = i % 2 == 0 ? "officer" : "admin";
	}
	double t0 = it_now();
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, writer_main, &writers[i]), 0);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(threads[i], NULL);
	double elapsed = it_now() - t0;

	struct it_tally answers = {0};
	int made = 0, ok = 0, replayed = 0, failures = 0, per_kind[3] = {0};
	for (int i = 0; i < WRITERS; i++) {
		struct writer *w = &writers[i];
		it_tally_add(&answers, &w->answers);
		failures += w->failures;
		if (w->failures > 0)
			printf("# writer %d (%s): %d failures, the first: %s\n", i, w->username,
			       w->failures, w->first_failure);
		for (int k = 0; k < w->n; k++) {
			made++;
			ok += w->made[k].ok;
			replayed += w->made[k].replay_ok;
			per_kind[w->made[k].kind] += w->made[k].ok;
		}
	}
	printf("# %d creates (%d claims, %d deportations, %d recommendations) and their replays "
	       "by %d writers in %.1f s\n",
	       made, per_kind[CLAIM], per_kind[DEPORTATION], per_kind[RECOMMENDATION], WRITERS,
	       elapsed);
	it_tally_print("answers", &answers);
	if (failures > 0)
		fail_msg("%d creates or replays failed", failures);
	assert_int_equal(made, WRITERS * CLAIMS_EACH + 8 * OTHERS_EACH);
	assert_int_equal(ok, made);
	/* A replay with the same key answers the same reference. */
	assert_int_equal(replayed, made);

	/* PREFIX-YEAR-NNNNNN, the prefix of the kind, the year it was opened. */
	regex_t form;
	assert_int_equal(regcomp(&form, "^(WT|DP|RC)-(19|20|21)[0-9]{2}-[0-9]{6,}$", REG_EXTENDED),
			 0);
	static const char *refs[3][WRITERS * CREATES_EACH];
	int n_refs[3] = {0};
	size_t list_len = 0;
	static char list[WRITERS * CREATES_EACH * 24 + 4];
	list[list_len++] = '{';
	for (int i = 0; i < WRITERS; i++) {
		for (int k = 0; k < writers[i].n; k++) {
			const struct created *m = &writers[i].made[k];
			if (regexec(&form, m->reference, 0, NULL, 0) != 0 ||
			    strncmp(m->reference, prefixes[m->kind], 2) != 0 ||
			    strncmp(m->reference + 3, m->opened_on, 4) != 0)
				fail_msg("reference %s (opened %s) is not %s-YEAR-NNNNNN",
					 m->reference, m->opened_on, prefixes[m->kind]);
			refs[m->kind][n_refs[m->kind]++] = m->reference;
			list_len += (size_t)snprintf(list + list_len, sizeof(list) - list_len,
						     "%s%s", list_len > 1 ? "," : "", m->reference);
		}
	}
	regfree(&form);
	snprintf(list + list_len, sizeof(list) - list_len, "}");
	for (int k = 0; k < 3; k++) {
		qsort(refs[k], (size_t)n_refs[k], sizeof(refs[k][0]), compare_strings);
		for (int i = 1; i < n_refs[k]; i++) {
			if (strcmp(refs[k][i - 1], refs[k][i]) == 0)
				fail_msg("two creates got the reference %s", refs[k][i]);
		}
		if (n_refs[k] > 0)
			printf("# %s: %d references, %s to %s\n", prefixes[k], n_refs[k],
			       refs[k][0], refs[k][n_refs[k] - 1]);
	}

	/* In the database: each once, and nothing else created (the replays created none). */
	long long after = it_sql_number(pg, count_sql, NULL);
	printf("# DEMO's cases: %lld before, %lld after\n", before, after);
	assert_int_equal(after - before, made);
	assert_int_equal(it_sql_number(pg,
				       "SELECT count(*) FROM cases c JOIN organisations o "
				       "USING (org_id) WHERE o.acronym = 'DEMO' "
				       "AND c.reference = ANY ($1::text[])",
				       list),
			 made);
	assert_int_equal(it_sql_number(pg,
				       "SELECT count(*) - count(DISTINCT (org_id, reference)) "
				       "FROM cases",
				       NULL),
			 0);
	PQfinish(pg);
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_references_unique_under_sixteen_writers),
	};
	return cmocka_run_group_tests_name("it_references", tests, NULL, NULL);
}
