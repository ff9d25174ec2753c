/* Batches (issue 11): under load tulayd sends the batchable jobs waiting in its queue
 * (CreateClaim, GetClaim) together in one transaction. This test makes that happen for
 * certain: its own tulayd with one PostgreSQL connection and no chores to speak of, and
 * wage_theft_claims locked while the creates arrive, so the first takes the connection
 * and waits and the others queue behind it.
 *
 *   1. Six officers create a claim each: all six are answered OK, each claim is there
 *      once, and the five that queued share one transaction (their audit entries carry
 *      one xid).
 *   2. Again, with a seventh request in the queue from a user whose session was ended in
 *      the database meanwhile: its session check fails inside the batch, the batch rolls
 *      back (logged) and each of its jobs runs again alone. The officers' claims are all
 *      answered OK and written once; the other user is answered UNAUTHENTICATED and wrote
 *      nothing. One request's failure fails no other.
 *   3. Plain claims queued together are merged into one statement (migration 0018,
 *      "Merged batches" in server/db.c), and so are claims with details (migration 0027:
 *      agency, fee, wages, forum, deadline, means, each kind of value), for officers of
 *      two organisations, with employer
 *      names and worker identities that an array literal must carry exactly (quotes,
 *      backslashes, braces, commas, the word NULL, Thai). Each claim reads back as sent,
 *      and as the same claim sent alone reads back; each has one opened event and one
 *      audit entry naming its reference and its officer; a resend of one is answered
 *      with its reference.
 *   4. GetClaims queued together are merged the same way: a claim with co-workers and
 *      notes, plain claims of two organisations, and a reference that names no claim.
 *      Each answer equals the same GetClaim made alone (NOT_FOUND for the missing one),
 *      and each read has its audit entry, the merged ones in one transaction.
 *   5. The merged functions, called directly as tulay_app, refuse what the policies
 *      would: a claim in another organisation than the session's, a session that does
 *      not exist, a read of another organisation's claim. The same call with the
 *      session's own organisation succeeds.
 *   6. --db-min-batch: with two connections, claims that would start a small batch while
 *      the other connection runs one wait for company or for it to end (test comment). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_concurrent.h"
#include "it_support.h"
#include "libtulay.h"

#define OFFICERS 6

struct sender {
	struct tulay_client *client;
	char employer[96];
	const char *worker_name; /* optional: a worker identity, sealed */
	const char *worker_phone;
	const char *co_worker_name; /* optional: a second worker (not a plain claim then) */
	const char *co_worker_phone;
	int details; /* 0: none; 1..: a claim's details, varied by the number (claim_details_of) */
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES]; /* the last claim's */
	int code; /* the answer's status code, or -1 for no answer */
	char message[200];
	char reference[32]; /* the claim's, when answered OK */
};

static struct it_tulayd tulayd;
static const char *tulayd_log = tulayd.log;

static void stop_tulayd(void)
{
	it_tulayd_stop(&tulayd);
}

/* Starts a tulayd of our own on the harness database: `connections` PostgreSQL
 * connections (--db-min-batch `min_batch`), a queue that waits long enough, chores that
 * only run at start. */
static void start_tulayd_with(const char *connections, const char *min_batch)
{
	stop_tulayd(); /* a test that failed half-way left its own running */
	const char *args[] = {
	    "--log-level",           "debug",   "--db-connections",      connections,
	    "--db-min-batch",        min_batch, "--db-queue-timeout-ms", "30000",
	    "--db-query-timeout-ms", "30000",   IT_TULAYD_NO_CHORES,     NULL};
	it_tulayd_start(&tulayd, "it_batch", args);
	setenv("TULAY_SERVER", tulayd.server, 1);
}

static void start_tulayd(void)
{
	start_tulayd_with("1", "4");
}

/* Details that vary with k (1..): every kind of value claim_details writes, an agency name
 * an array literal must carry exactly, a zero actual wage, no means or several. */
struct claim_details {
	Tulay__V1__Money fee, contract, actual;
	Tulay__V1__ExploitationMeans means[3];
	char agency[64], deadline[16];
};

static void claim_details_of(Tulay__V1__CreateClaim *m, struct claim_details *d, int k)
{
	static const char *const agencies[] = {"Agensi \"Maju\" Sdn. Bhd.",
					       "{braces},commas & back\\slash", "NULL",
					       "บริษัท จัดหางาน", "Plain Agency"};
	snprintf(d->agency, sizeof(d->agency), "%s", agencies[k % 5]);
	snprintf(d->deadline, sizeof(d->deadline), "2026-%02d-15", 1 + k % 12);
	Tulay__V1__Money init = TULAY__V1__MONEY__INIT;
	d->fee = d->contract = d->actual = init;
	d->fee.minor_units = 150000 * k;
	d->fee.currency = "MYR";
	d->contract.minor_units = 2000000 + k;
	d->contract.currency = "THB";
	d->actual.minor_units = k % 3 == 0 ? 0 : 900000;
	d->actual.currency = "THB";
	for (int i = 0; i < 3; i++)
		d->means[i] = (Tulay__V1__ExploitationMeans)(1 + (k + i) % 5);
	m->recruitment_agency = d->agency;
	m->recruitment_fee = &d->fee;
	m->contract_wage = &d->contract;
	m->actual_wage = k % 4 == 1 ? NULL : &d->actual; /* unknown: a NULL in the arrays */
	m->forum = (Tulay__V1__ClaimForum)(1 + k % 7);
	m->filing_deadline = d->deadline;
	m->exploitation_means = d->means;
	m->n_exploitation_means = (size_t)(k % 4 == 2 ? 0 : 1 + k % 3);
}

/* Sends the sender's claim with the key in s->key (a new one unless `resend`) without
 * waiting for the answer, which claim_answer reads. */
static void claim_send(struct sender *s, bool resend)
{
	struct it_claim cc;
	it_claim_init(&cc, s->key,
		      &(struct it_claim_spec){.nationality = "KH",
					      .country = "TH",
					      .sector = TULAY__V1__SECTOR__SECTOR_FISHERIES,
					      .employer = s->employer,
					      .started = "2025-03-01",
					      .ended = "2025-08-31",
					      .minor_units = 3100000,
					      .currency = "THB"});
	Tulay__V1__Worker worker = TULAY__V1__WORKER__INIT;
	Tulay__V1__Worker co = TULAY__V1__WORKER__INIT;
	Tulay__V1__Worker *co_workers[] = {&co};
	struct claim_details details;
	if (s->details > 0)
		claim_details_of(&cc.m, &details, s->details);
	if (!resend)
		it_new_key(s->key);
	if (s->worker_name != NULL) {
		worker.name = (char *)s->worker_name;
		worker.phone = s->worker_phone != NULL ? (char *)s->worker_phone : "";
		cc.m.worker = &worker;
	}
	if (s->co_worker_name != NULL) {
		co.name = (char *)s->co_worker_name;
		co.phone = s->co_worker_phone != NULL ? (char *)s->co_worker_phone : "";
		cc.m.co_workers = co_workers;
		cc.m.n_co_workers = 1;
		cc.m.workers = 2;
	}
	s->code = -1;
	s->reference[0] = '\0';
	s->message[0] = '\0';
	if (tulay_send(s->client, &cc.req, NULL) != 0)
		snprintf(s->message, sizeof(s->message), "%s", tulay_last_error(s->client));
}

/* Reads the answer to the sender's claim_send into s->code, message and reference. */
static void claim_answer(struct sender *s)
{
	Tulay__V1__Response *resp = NULL;
	if (s->message[0] != '\0') /* not sent */
		return;
	if (tulay_recv(s->client, &resp) != 0) {
		snprintf(s->message, sizeof(s->message), "%s", tulay_last_error(s->client));
		return;
	}
	s->code = (int)resp->status->code;
	snprintf(s->message, sizeof(s->message), "%s", resp->status->message);
	if (resp->claim != NULL)
		snprintf(s->reference, sizeof(s->reference), "%s", resp->claim->reference);
	tulay_response_free(resp);
}

static void send_claim_keyed(struct sender *s, bool resend)
{
	claim_send(s, resend);
	claim_answer(s);
}

/* tulayd's backends waiting for the lock on wage_theft_claims, as many as there are
 * connections with claims in flight (the harness's own tulayd never writes claims). */
static long long claim_backends_waiting(PGconn *su)
{
	/* By the lock awaited, not the query's text: pg_stat_activity cuts a long statement
	 * (the merged one) before the table's name. */
	return it_sql_number(su,
			     "SELECT count(DISTINCT l.pid) FROM pg_locks l "
			     "JOIN pg_stat_activity a ON a.pid = l.pid "
			     "WHERE a.usename = 'tulay_app' AND NOT l.granted "
			     "AND l.relation = $1::regclass",
			     "wage_theft_claims");
}

/* Waits up to 30 s for `want` waiting backends; returns how many there are then. */
static long long await_claim_backends(PGconn *su, long long want)
{
	long long n = -1;
	for (int i = 0; i < 600 && (n = claim_backends_waiting(su)) != want; i++)
		it_sleep_ms(50);
	return n;
}

/* Requests of `type` whose job tulayd has queued for the database (event=request_queued,
 * logged at --log-level debug). */
static long requests_queued(const char *type)
{
	char also[64];
	snprintf(also, sizeof(also), " type=%s", type);
	return it_count_lines(tulayd.log, 0, "event=request_queued", also, 0);
}

/* Waits until tulayd has queued `want` requests of `type` in all (some seal personal data
 * on the thread pool first: reading a request is not queuing it). */
static void await_queued(const char *type, long want)
{
	for (int i = 0; i < 3000 && requests_queued(type) < want; i++)
		it_sleep_ms(10);
	if (requests_queued(type) < want)
		fail_msg("tulayd queued %ld %s requests within 30 s, not %ld",
			 requests_queued(type), type, want);
}

/* Sends the claims of senders[0..n) behind a lock on wage_theft_claims, waiting on events,
 * not on a clock: the first takes the connection and waits for the lock; the rest are sent
 * once it does, and the lock goes once tulayd has queued them all. `meanwhile`
 * runs on the superuser's connection just before. Then the answers. */
static void send_behind_lock(PGconn *su, struct sender *senders, int n, const char *meanwhile)
{
	PGconn *locker = it_db_connect(it_superuser_conninfo());
	it_sql_exec(locker, "BEGIN");
	it_sql_exec(locker, "LOCK TABLE wage_theft_claims IN ACCESS EXCLUSIVE MODE");
	long queued = requests_queued("create_claim");
	claim_send(&senders[0], false);
	assert_int_equal(await_claim_backends(su, 1), 1);
	for (int i = 1; i < n; i++)
		claim_send(&senders[i], false);
	await_queued("create_claim", queued + n);
	if (meanwhile != NULL)
		it_sql_exec(su, meanwhile);
	it_sql_exec(locker, "COMMIT");
	PQfinish(locker);
	for (int i = 0; i < n; i++)
		claim_answer(&senders[i]);
}

static long long claims_with_employer(PGconn *su, const char *employer)
{
	return it_sql_number(su, "SELECT count(*) FROM wage_theft_claims WHERE employer = $1",
			     employer);
}

static void test_batches_commit_together_and_fail_alone(void **state)
{
	(void)state;
	start_tulayd();
	PGconn *su = it_db_connect(it_superuser_conninfo());
	struct sender senders[OFFICERS + 1];
	memset(senders, 0, sizeof(senders));
	for (int i = 0; i < OFFICERS + 1; i++) {
		senders[i].client = it_login_try(i == OFFICERS - 2 ? "klofficer" : "officer");
		assert_non_null(senders[i].client);
	}
	int rolled_back_before =
	    it_count_lines(tulayd_log, 0, "event=db_batch_rolled_back", NULL, 0);

	/* 1. Six officers' claims (the klofficer client sits this one out). */
	struct sender first[OFFICERS];
	int n = 0;
	for (int i = 0; i < OFFICERS + 1; i++) {
		if (i == OFFICERS - 2)
			continue;
		first[n] = senders[i];
		snprintf(first[n].employer, sizeof(first[n].employer), "Batch One Employer %d", n);
		n++;
	}
	send_behind_lock(su, first, n, NULL);
	for (int i = 0; i < n; i++) {
		if (first[i].code != TULAY__V1__CODE__OK)
			fail_msg("batch 1, claim %d: code %d: %s", i, first[i].code,
				 first[i].message);
		assert_int_equal(claims_with_employer(su, first[i].employer), 1);
	}
	long long xids = it_sql_number(
	    su,
	    "SELECT count(DISTINCT a.xid) FROM audit_log a JOIN cases c ON c.org_id = a.org_id "
	    "AND c.reference = a.target "
	    "JOIN wage_theft_claims w ON w.org_id = c.org_id AND w.case_id = c.case_id "
	    "WHERE a.action = 'create_claim' AND w.employer LIKE $1",
	    "Batch One Employer %");
	printf("# batch 1: %d claims written in %lld transactions\n", n, xids);
	assert_true(xids < n); /* the queued ones shared one */
	assert_int_equal(it_count_lines(tulayd_log, 0, "event=db_batch_rolled_back", NULL, 0),
			 rolled_back_before);

	/* 2. The same, with klofficer's request queued among the officers' and its session
	 * ended while it waits. */
	for (int i = 0; i < OFFICERS + 1; i++)
		snprintf(senders[i].employer, sizeof(senders[i].employer), "Batch Two Employer %d",
			 i);
	send_behind_lock(
	    su, senders, OFFICERS + 1,
	    "UPDATE sessions SET ended_at = now() WHERE ended_at IS NULL AND user_id = "
	    "(SELECT user_id FROM users WHERE username = 'klofficer')");
	for (int i = 0; i < OFFICERS + 1; i++) {
		if (i == OFFICERS - 2) {
			if (senders[i].code != TULAY__V1__CODE__UNAUTHENTICATED)
				fail_msg("the ended session's claim: code %d: %s", senders[i].code,
					 senders[i].message);
			assert_int_equal(claims_with_employer(su, senders[i].employer), 0);
			continue;
		}
		if (senders[i].code != TULAY__V1__CODE__OK)
			fail_msg("batch 2, officer's claim %d: code %d: %s", i, senders[i].code,
				 senders[i].message);
		assert_int_equal(claims_with_employer(su, senders[i].employer), 1);
	}
	assert_int_equal(it_await_lines(tulayd_log, 0, "event=db_batch_rolled_back", NULL,
					rolled_back_before + 1, 3),
			 rolled_back_before + 1);

	for (int i = 0; i < OFFICERS + 1; i++)
		tulay_close(senders[i].client);
	PQfinish(su);
	stop_tulayd();
}

/* The claim `reference` as GetClaim shows it to `client`, less what differs between two
 * claims of the same content (reference, case, key-derived times, timeline). */
static Tulay__V1__Response *get_claim(struct tulay_client *client, const char *reference)
{
	Tulay__V1__Response *resp = NULL;
	assert_int_equal(tulay_get_claim(client, reference, "", &resp), 0);
	if (resp->status->code != TULAY__V1__CODE__OK)
		fail_msg("GetClaim %s: code %d: %s", reference, (int)resp->status->code,
			 resp->status->message);
	assert_non_null(resp->claim);
	return resp;
}

static void assert_same_claim(const Tulay__V1__Claim *a, const Tulay__V1__Claim *b)
{
	assert_string_equal(a->organisation, b->organisation);
	assert_int_equal(a->status, b->status);
	assert_string_equal(a->worker_nationality, b->worker_nationality);
	assert_string_equal(a->country_of_work, b->country_of_work);
	assert_int_equal(a->sector, b->sector);
	assert_string_equal(a->employer, b->employer);
	assert_string_equal(a->work_started_on, b->work_started_on);
	assert_string_equal(a->work_ended_on, b->work_ended_on);
	assert_int_equal(a->amount_claimed->minor_units, b->amount_claimed->minor_units);
	assert_string_equal(a->amount_claimed->currency, b->amount_claimed->currency);
	assert_int_equal(a->workers, b->workers);
	assert_string_equal(a->opened_on, b->opened_on);
	assert_int_equal(a->version, b->version);
	assert_string_equal(a->created_by, b->created_by);
	assert_string_equal(a->office, b->office);
	assert_int_equal(a->worker != NULL, b->worker != NULL);
	if (a->worker != NULL) {
		assert_string_equal(a->worker->name, b->worker->name);
		assert_string_equal(a->worker->phone, b->worker->phone);
		assert_string_equal(a->worker->id_number, b->worker->id_number);
	}
	assert_string_equal(a->recruitment_agency, b->recruitment_agency);
	const Tulay__V1__Money *money_a[] = {a->recruitment_fee, a->contract_wage, a->actual_wage};
	const Tulay__V1__Money *money_b[] = {b->recruitment_fee, b->contract_wage, b->actual_wage};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(money_a[i] != NULL, money_b[i] != NULL);
		if (money_a[i] != NULL) {
			assert_int_equal(money_a[i]->minor_units, money_b[i]->minor_units);
			assert_string_equal(money_a[i]->currency, money_b[i]->currency);
		}
	}
	assert_int_equal(a->forum, b->forum);
	assert_string_equal(a->filing_deadline, b->filing_deadline);
	assert_int_equal(a->n_exploitation_means, b->n_exploitation_means);
	for (size_t i = 0; i < a->n_exploitation_means; i++)
		assert_int_equal(a->exploitation_means[i], b->exploitation_means[i]);
	assert_int_equal(a->n_timeline, b->n_timeline);
	for (size_t i = 0; i < a->n_timeline; i++) {
		assert_int_equal(a->timeline[i]->kind, b->timeline[i]->kind);
		assert_string_equal(a->timeline[i]->to_code, b->timeline[i]->to_code);
	}
}

/* Claims with details (`details`) or plain ones: see the file's comment, point 3. */
static void merged_claims_equal_claims_made_alone(bool details)
{
	enum { N = 7 };
	static const char *const employers[N] = {
	    "Merge Lead Employer",
	    "Merge \"Quoted\" and back\\slash Sdn. Bhd.",
	    "Merge {braces},commas, \"NULL\" & O'Brien",
	    "NULL",
	    "Merge บริษัท ประมง",
	    "Merge \\\\ two backslashes \\\"",
	    "Merge Plain Employer",
	};
	static const char *const names[N] = {
	    NULL, "Sok \"Dara\" Chan", NULL, "NULL", "สมชาย \\ {x}", NULL, "Nguyen, Van A",
	};
	static const char *const phones[N] = {NULL, "+66 81 234 5678", NULL, NULL, "",
					      NULL, "0812345678"};
	start_tulayd();
	PGconn *su = it_db_connect(it_superuser_conninfo());
	struct sender senders[N];
	memset(senders, 0, sizeof(senders));
	for (int i = 0; i < N; i++) {
		senders[i].client = it_login_try(i % 2 == 0 ? "officer" : "klofficer");
		assert_non_null(senders[i].client);
		/* Names of their own for each variant: both run on one database. */
		snprintf(senders[i].employer, sizeof(senders[i].employer), "%s%s", employers[i],
			 details ? " (details)" : "");
		senders[i].worker_name = names[i];
		senders[i].worker_phone = phones[i];
		senders[i].details = details ? i + 1 : 0;
	}
	/* Six jobs in the one statement for their shape (plain, or with details). */
	const char *merged_six = details ? " jobs=6 statement=claim_create_merged_details\n"
					 : " jobs=6 statement=claim_create_merged\n";
	int merged_before = it_count_lines(tulayd_log, 0, "event=db_merged", merged_six, 0);
	int rolled_back_before =
	    it_count_lines(tulayd_log, 0, "event=db_batch_rolled_back", NULL, 0);

	/* The first takes the connection and waits on the lock; the six behind it merge. */
	send_behind_lock(su, senders, N, NULL);
	for (int i = 0; i < N; i++) {
		if (senders[i].code != TULAY__V1__CODE__OK)
			fail_msg("claim %d: code %d: %s", i, senders[i].code, senders[i].message);
	}
	assert_int_equal(
	    it_await_lines(tulayd_log, 0, "event=db_merged", merged_six, merged_before + 1, 3),
	    merged_before + 1);
	assert_int_equal(it_count_lines(tulayd_log, 0, "event=db_batch_rolled_back", NULL, 3),
			 rolled_back_before);

	/* The six merged share one transaction. */
	char merged_employers[6 * 96];
	merged_employers[0] = '\0';
	for (int i = 1; i < N; i++) {
		strcat(merged_employers, senders[i].employer);
		if (i + 1 < N)
			strcat(merged_employers, "|");
	}
	assert_int_equal(
	    it_sql_number(su,
			  "SELECT count(DISTINCT a.xid) FROM audit_log a JOIN cases c ON c.org_id "
			  "= a.org_id AND c.reference = a.target JOIN wage_theft_claims w ON "
			  "w.org_id = c.org_id AND w.case_id = c.case_id WHERE a.action = "
			  "'create_claim' AND w.employer = ANY "
			  "(string_to_array($1, '|'))",
			  merged_employers),
	    1);

	for (int i = 0; i < N; i++) {
		struct sender *s = &senders[i];
		/* One case, one opened event, one audit entry naming it and its officer, in
		 * the merged transaction for all but the first. */
		assert_int_equal(claims_with_employer(su, s->employer), 1);
		assert_int_equal(
		    it_sql_number(su,
				  "SELECT count(*) FROM case_events e JOIN cases c USING (org_id, "
				  "case_id) JOIN wage_theft_claims w USING (org_id, case_id) WHERE "
				  "w.employer = $1 AND e.kind = 'opened' AND e.recorded_by = "
				  "c.created_by AND e.to_status = 'intake'",
				  s->employer),
		    1);
		assert_int_equal(
		    it_sql_number(
			su,
			"SELECT count(*) FROM audit_log a JOIN cases c ON c.org_id = "
			"a.org_id AND c.reference = a.target AND c.created_by = a.user_id "
			"JOIN wage_theft_claims w ON w.org_id = c.org_id AND w.case_id = c.case_id "
			"WHERE a.action = "
			"'create_claim' AND w.employer = $1",
			s->employer),
		    1);

		/* As sent, and as the same claim sent alone reads back. */
		Tulay__V1__Response *merged = get_claim(s->client, s->reference);
		assert_string_equal(merged->claim->employer, s->employer);
		if (details) {
			struct claim_details want;
			Tulay__V1__CreateClaim sent = TULAY__V1__CREATE_CLAIM__INIT;
			claim_details_of(&sent, &want, s->details);
			assert_string_equal(merged->claim->recruitment_agency, want.agency);
			assert_int_equal(merged->claim->recruitment_fee->minor_units,
					 want.fee.minor_units);
			assert_int_equal(merged->claim->actual_wage != NULL,
					 sent.actual_wage != NULL);
			assert_int_equal(merged->claim->forum, sent.forum);
			assert_string_equal(merged->claim->filing_deadline, want.deadline);
			assert_int_equal(merged->claim->n_exploitation_means,
					 sent.n_exploitation_means);
		}
		if (s->worker_name != NULL) {
			assert_non_null(merged->claim->worker);
			assert_string_equal(merged->claim->worker->name, s->worker_name);
			assert_string_equal(merged->claim->worker->phone,
					    s->worker_phone != NULL ? s->worker_phone : "");
		}
		char first_reference[32];
		snprintf(first_reference, sizeof(first_reference), "%s", s->reference);
		snprintf(s->employer, sizeof(s->employer), "%s%s", employers[i],
			 details ? " (details)" : "");
		const char *lone = " jobs=1 statement=claim_create_merged_details\n";
		int lone_before = it_count_lines(tulayd_log, 0, "event=db_merged", lone, 0);
		send_claim_keyed(s, false);
		if (s->code != TULAY__V1__CODE__OK)
			fail_msg("claim %d alone: code %d: %s", i, s->code, s->message);
		if (details && it_await_lines(tulayd_log, 0, "event=db_merged", lone,
					      lone_before + 1, 3) != lone_before + 1)
			fail_msg("claim %d alone: not the merged statement of one (0029)", i);
		Tulay__V1__Response *alone = get_claim(s->client, s->reference);
		assert_same_claim(merged->claim, alone->claim);
		tulay_response_free(merged);
		tulay_response_free(alone);

		/* A resend of the alone claim's request is answered with its reference. */
		char alone_reference[32];
		snprintf(alone_reference, sizeof(alone_reference), "%s", s->reference);
		send_claim_keyed(s, true);
		assert_int_equal(s->code, TULAY__V1__CODE__OK);
		assert_string_equal(s->reference, alone_reference);
		assert_string_not_equal(first_reference, alone_reference);
	}
	for (int i = 0; i < N; i++)
		tulay_close(senders[i].client);
	PQfinish(su);
	stop_tulayd();
}

static void test_merged_claims_equal_claims_made_alone(void **state)
{
	(void)state;
	merged_claims_equal_claims_made_alone(false);
}

static void test_merged_claims_with_details_equal_claims_made_alone(void **state)
{
	(void)state;
	merged_claims_equal_claims_made_alone(true);
}

struct reader {
	struct tulay_client *client;
	char reference[32];
	Tulay__V1__Response *resp; /* the answer, or NULL */
};

/* Sends r's GetClaim without waiting for the answer (read_claim_answer takes it). */
static void read_claim_send(struct reader *r)
{
	Tulay__V1__GetClaim get = TULAY__V1__GET_CLAIM__INIT;
	get.reference = r->reference;
	get.organisation = "";
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_CLAIM;
	req.get_claim = &get;
	uint64_t id;
	assert_int_equal(tulay_send(r->client, &req, &id), 0);
}

static void read_claim_answer(struct reader *r)
{
	r->resp = NULL;
	if (tulay_recv(r->client, &r->resp) != 0)
		r->resp = NULL;
}

/* The claim `s` describes, with a second worker and two notes in its timeline: made alone.
 * Its reference into `reference`. */
static void claim_with_co_worker_and_note(struct sender *s, char *reference, size_t cap)
{
	s->worker_name = "Read Merge Worker";
	s->co_worker_name = "Read Merge \"Co\" Worker";
	s->co_worker_phone = "+60 12 345 6789";
	send_claim_keyed(s, false);
	s->worker_name = s->co_worker_name = s->co_worker_phone = NULL;
	if (s->code != TULAY__V1__CODE__OK)
		fail_msg("the claim with a co-worker: code %d: %s", s->code, s->message);
	snprintf(reference, cap, "%s", s->reference);
	Tulay__V1__Response *resp = NULL;
	for (int i = 0; i < 2; i++) {
		IT_REQUEST(note_req);
		Tulay__V1__AddCaseNote note = TULAY__V1__ADD_CASE_NOTE__INIT;
		uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
		it_new_key(key);
		note.idempotency_key.data = key;
		note.idempotency_key.len = sizeof(key);
		note.reference = reference;
		note.text = i == 0 ? "First note, with \"quotes\"" : "Second note";
		note_req.body_case = TULAY__V1__REQUEST__BODY_ADD_CASE_NOTE;
		note_req.add_case_note = &note;
		assert_int_equal(tulay_call(s->client, &note_req, &resp), 0);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		tulay_response_free(resp);
	}
}

static void assert_same_timeline_and_workers(const Tulay__V1__Claim *a, const Tulay__V1__Claim *b)
{
	assert_same_claim(a, b);
	for (size_t i = 0; i < a->n_timeline; i++) {
		assert_string_equal(a->timeline[i]->text, b->timeline[i]->text);
		assert_string_equal(a->timeline[i]->recorded_by, b->timeline[i]->recorded_by);
		assert_string_equal(a->timeline[i]->occurred_on, b->timeline[i]->occurred_on);
	}
	assert_int_equal(a->n_co_workers, b->n_co_workers);
	for (size_t i = 0; i < a->n_co_workers; i++) {
		assert_string_equal(a->co_workers[i]->name, b->co_workers[i]->name);
		assert_string_equal(a->co_workers[i]->phone, b->co_workers[i]->phone);
	}
}

static void test_merged_reads_equal_reads_alone(void **state)
{
	(void)state;
	enum { N = 6 };
	start_tulayd();
	PGconn *su = it_db_connect(it_superuser_conninfo());
	struct sender makers[2];
	memset(makers, 0, sizeof(makers));
	makers[0].client = it_login_try("officer");
	makers[1].client = it_login_try("klofficer");
	assert_non_null(makers[0].client);
	assert_non_null(makers[1].client);
	char rich[32], plain[2][32];
	snprintf(makers[0].employer, sizeof(makers[0].employer), "Read Merge Rich Employer");
	claim_with_co_worker_and_note(&makers[0], rich, sizeof(rich));
	for (int i = 0; i < 2; i++) {
		snprintf(makers[i].employer, sizeof(makers[i].employer), "Read Merge Plain %d", i);
		send_claim_keyed(&makers[i], false);
		assert_int_equal(makers[i].code, TULAY__V1__CODE__OK);
		snprintf(plain[i], sizeof(plain[i]), "%s", makers[i].reference);
	}

	/* The first read takes the connection and waits on the lock; five merge behind it. */
	struct reader readers[N];
	memset(readers, 0, sizeof(readers));
	const char *refs[N] = {plain[0], rich, plain[1], "WT-1999-999999", rich, plain[0]};
	const char *users[N] = {"officer",   "officer", "klofficer",
				"klofficer", "officer", "officer"};
	for (int i = 0; i < N; i++) {
		readers[i].client = it_login_try(users[i]);
		assert_non_null(readers[i].client);
		snprintf(readers[i].reference, sizeof(readers[i].reference), "%s", refs[i]);
	}
	int merged_before = it_count_lines(tulayd_log, 0, "event=db_merged", "claim_get", 0);
	PGconn *locker = it_db_connect(it_superuser_conninfo());
	it_sql_exec(locker, "BEGIN");
	it_sql_exec(locker, "LOCK TABLE wage_theft_claims IN ACCESS EXCLUSIVE MODE");
	/* Waits on events, not on a clock: the first read is waiting for the lock, and tulayd
	 * has queued the five after it, before the lock goes. */
	long queued = requests_queued("get_claim");
	read_claim_send(&readers[0]);
	assert_int_equal(await_claim_backends(su, 1), 1);
	for (int i = 1; i < N; i++)
		read_claim_send(&readers[i]);
	await_queued("get_claim", queued + N);
	it_sql_exec(locker, "COMMIT");
	PQfinish(locker);
	for (int i = 0; i < N; i++)
		read_claim_answer(&readers[i]);
	assert_int_equal(
	    it_await_lines(tulayd_log, 0, "event=db_merged", "claim_get", merged_before + 1, 3),
	    merged_before + 1);

	for (int i = 0; i < N; i++) {
		Tulay__V1__Response *merged = readers[i].resp;
		assert_non_null(merged);
		Tulay__V1__Response *alone = NULL;
		assert_int_equal(tulay_get_claim(readers[i].client, refs[i], "", &alone), 0);
		assert_int_equal(merged->status->code, alone->status->code);
		if (i == 3) {
			assert_int_equal(merged->status->code, TULAY__V1__CODE__NOT_FOUND);
			assert_string_equal(merged->status->message, alone->status->message);
		} else {
			if (merged->status->code != TULAY__V1__CODE__OK)
				fail_msg("read %d: code %d: %s", i, (int)merged->status->code,
					 merged->status->message);
			assert_string_equal(merged->claim->reference, refs[i]);
			assert_same_timeline_and_workers(merged->claim, alone->claim);
		}
		tulay_response_free(merged);
		tulay_response_free(alone);
	}
	/* The rich claim's timeline and co-worker came through the merge. */
	assert_int_equal(it_sql_number(su,
				       "SELECT count(*) FROM case_events e JOIN cases c USING "
				       "(org_id, case_id) WHERE c.reference = $1 AND c.org_id = "
				       "(SELECT org_id FROM organisations WHERE acronym = 'DEMO')",
				       rich),
			 3);
	/* Every read audited: the five merged in one transaction. */
	char targets[160];
	snprintf(targets, sizeof(targets), "%s|%s|%s|WT-1999-999999", plain[0], plain[1], rich);
	assert_int_equal(
	    it_sql_number(su,
			  "SELECT count(*) FROM (SELECT xid FROM audit_log WHERE action = "
			  "'read_claim' AND target = ANY (string_to_array($1, '|')) GROUP BY "
			  "xid HAVING count(*) = 5) x",
			  targets),
	    1);

	for (int i = 0; i < N; i++)
		tulay_close(readers[i].client);
	for (int i = 0; i < 2; i++)
		tulay_close(makers[i].client);
	PQfinish(su);
	stop_tulayd();
}

/* Calls create_wage_theft_claims() (or, with `read`, read_wage_theft_claims()) for one
 * request as tulay_app, with session `token` (hex) of user `user` in `org`, for a claim of
 * organisation `claim_org`. Returns the SQLSTATE of its error, or "" when it answered. */
static const char *merged_call(PGconn *app, bool read, const char *token, const char *org,
			       const char *user, const char *claim_org, char *state, size_t cap)
{
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	char key_hex[2 * sizeof(key) + 1];
	it_new_key(key);
	for (size_t i = 0; i < sizeof(key); i++)
		snprintf(key_hex + 2 * i, 3, "%02x", key[i]);
	const char *values[] = {token, org, user, claim_org, key_hex};
	const char *sql =
	    read ? "SELECT count(*) FROM read_wage_theft_claims(ARRAY[$2::text], ARRAY[$3::text], "
		   "ARRAY['field_officer'], ARRAY[$1::text], ARRAY[$4::text], "
		   "ARRAY['WT-2025-000001'], ARRAY[$4::text], ARRAY['WT-2025-000001'], "
		   "ARRAY[$4::text], ARRAY['WT-2025-000001'], ARRAY[NULL::text], "
		   "ARRAY['read_claim'], ARRAY['WT-2025-000001'], ARRAY[NULL::text], "
		   "ARRAY[$5::text])"
		 : "SELECT count(*) FROM create_wage_theft_claims(ARRAY[$2::text], "
		   "ARRAY[$3::text], ARRAY['field_officer'], ARRAY[$1::text], ARRAY[$4::text], "
		   "ARRAY[$3::text], ARRAY[$5::text], ARRAY[encode(sha256($5::bytea), 'hex')], "
		   "ARRAY['KH'], ARRAY['TH'], ARRAY['fisheries'], ARRAY['Merged Function Check'], "
		   "ARRAY['2025-03-01'], ARRAY['2025-08-31'], ARRAY['3100000'], ARRAY['THB'], "
		   "ARRAY['1'], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::text], "
		   "ARRAY[NULL::text], ARRAY[$4::text], ARRAY[$5::text], ARRAY['create_claim'], "
		   "ARRAY[NULL::text], ARRAY[$5::text], ARRAY[''])";
	PGresult *r = PQexecParams(app, sql, 5, NULL, values, NULL, NULL, 0);
	const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	snprintf(state, cap, "%s", PQresultStatus(r) == PGRES_TUPLES_OK ? "" : code ? code : "?");
	PQclear(r);
	return state;
}

static void test_merged_functions_refuse_what_policies_refuse(void **state)
{
	(void)state;
	start_tulayd();
	struct tulay_client *officer = it_login_try("officer");
	assert_non_null(officer);
	PGconn *su = it_db_connect(it_superuser_conninfo());
	PGconn *app = it_db_connect(it_env("TULAY_TEST_DB"));
	PGresult *r = PQexec(su, "SELECT encode(s.token_hash, 'hex'), u.org_id::text, "
				 "u.user_id::text, (SELECT org_id::text FROM organisations WHERE "
				 "acronym = 'MYNGO') FROM sessions s JOIN users u USING (user_id) "
				 "WHERE u.username = 'officer' AND s.ended_at IS NULL AND "
				 "s.expires_at > now() ORDER BY s.created_at DESC LIMIT 1");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	const char *token = PQgetvalue(r, 0, 0), *org = PQgetvalue(r, 0, 1);
	const char *user = PQgetvalue(r, 0, 2), *other = PQgetvalue(r, 0, 3);
	char st[8];
	/* The control: the session's own organisation. */
	assert_string_equal(merged_call(app, false, token, org, user, org, st, sizeof(st)), "");
	/* Another organisation's claim, a session that does not exist, another's read. */
	assert_string_equal(merged_call(app, false, token, org, user, other, st, sizeof(st)),
			    "55000");
	assert_string_equal(merged_call(app, false, token, other, user, other, st, sizeof(st)),
			    "55000");
	char forged[65];
	snprintf(forged, sizeof(forged), "%s", token);
	forged[0] = forged[0] == '0' ? '1' : '0';
	assert_string_equal(merged_call(app, false, forged, org, user, org, st, sizeof(st)),
			    "55000");
	assert_string_equal(merged_call(app, true, token, org, user, other, st, sizeof(st)),
			    "55000");
	assert_string_equal(merged_call(app, true, token, org, user, org, st, sizeof(st)), "");
	assert_int_equal(
	    it_sql_number(su,
			  "SELECT count(*) FROM wage_theft_claims w JOIN organisations "
			  "o USING (org_id) WHERE w.employer = $1 AND o.acronym = "
			  "'MYNGO'",
			  "Merged Function Check"),
	    0);
	PQclear(r);
	PQfinish(app);
	PQfinish(su);
	tulay_close(officer);
	stop_tulayd();
}

/* How many transactions wrote the claims of senders[from..to). */
static long long claims_transactions(PGconn *su, const struct sender *senders, int from, int to)
{
	char refs[512] = "{";
	for (int i = from; i < to; i++)
		snprintf(refs + strlen(refs), sizeof(refs) - strlen(refs), "%s%s",
			 i > from ? "," : "", senders[i].reference);
	snprintf(refs + strlen(refs), sizeof(refs) - strlen(refs), "}");
	return it_sql_number(su,
			     "SELECT count(DISTINCT a.xid) FROM audit_log a "
			     "WHERE a.action = 'create_claim' AND a.target = ANY ($1::text[]) "
			     "AND a.org_id = (SELECT org_id FROM organisations WHERE acronym = "
			     "'DEMO')",
			     refs);
}

/* --db-min-batch: while one connection runs mergeable claims, a free connection waits for
 * at least that many before it starts a batch, and the ones held back go when the running
 * batch ends. Two connections, min batch 4, wage_theft_claims locked: the first claim
 * takes a connection and waits on the lock; two more are held in the queue (the second
 * connection stays free: one backend waits on the lock); two more make four, which go
 * together on the second connection (two backends wait); all are answered once the lock
 * goes, the four in one transaction. Then the first claim alone again, two held behind
 * it, and the lock released with only those: the two go when the first one ends. */
static void test_small_batches_wait_while_one_runs(void **state)
{
	(void)state;
	enum { N = 5 };
	start_tulayd_with("2", "4");
	PGconn *su = it_db_connect(it_superuser_conninfo());
	struct sender senders[N];
	memset(senders, 0, sizeof(senders));
	for (int i = 0; i < N; i++) {
		senders[i].client = it_login_try("officer");
		assert_non_null(senders[i].client);
	}

	for (int round = 1; round <= 2; round++) {
		int n = round == 1 ? N : 3;
		for (int i = 0; i < n; i++)
			snprintf(senders[i].employer, sizeof(senders[i].employer),
				 "Min Batch %d Employer %d", round, i);
		PGconn *locker = it_db_connect(it_superuser_conninfo());
		it_sql_exec(locker, "BEGIN");
		it_sql_exec(locker, "LOCK TABLE wage_theft_claims IN ACCESS EXCLUSIVE MODE");
		long queued = requests_queued("create_claim");
		claim_send(&senders[0], false);
		assert_int_equal(await_claim_backends(su, 1), 1);
		for (int i = 1; i < 3; i++)
			claim_send(&senders[i], false);
		await_queued("create_claim", queued + 3);
		it_sleep_ms(300); /* time enough to take the free connection, were they let */
		assert_int_equal(claim_backends_waiting(su), 1);
		if (round == 1) {
			for (int i = 3; i < N; i++)
				claim_send(&senders[i], false);
			assert_int_equal(await_claim_backends(su, 2), 2);
		}
		it_sql_exec(locker, "COMMIT");
		PQfinish(locker);
		for (int i = 0; i < n; i++) {
			claim_answer(&senders[i]);
			if (senders[i].code != TULAY__V1__CODE__OK)
				fail_msg("round %d, claim %d: code %d: %s", round, i,
					 senders[i].code, senders[i].message);
			assert_int_equal(claims_with_employer(su, senders[i].employer), 1);
		}
		long long xids = claims_transactions(su, senders, 1, n);
		printf("# round %d: the %d claims held back were written in %lld transaction(s)\n",
		       round, n - 1, xids);
		assert_int_equal(xids, 1);
		assert_int_equal(claims_transactions(su, senders, 0, n), 2);
	}

	for (int i = 0; i < N; i++)
		tulay_close(senders[i].client);
	PQfinish(su);
	stop_tulayd();
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	atexit(stop_tulayd);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_batches_commit_together_and_fail_alone),
	    cmocka_unit_test(test_merged_claims_equal_claims_made_alone),
	    cmocka_unit_test(test_merged_claims_with_details_equal_claims_made_alone),
	    cmocka_unit_test(test_merged_reads_equal_reads_alone),
	    cmocka_unit_test(test_merged_functions_refuse_what_policies_refuse),
	    cmocka_unit_test(test_small_batches_wait_while_one_runs),
	};
	return cmocka_run_group_tests_name("it_batch", tests, NULL, NULL);
}
