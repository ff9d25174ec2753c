/* The audit chain under concurrency (issue 11): audit rows are appended without a shared
 * row and sealed into hash-chained blocks off the request path, by tulayd in the
 * background (within about a second) or by `tulayd audit seal`. This test holds the new
 * sealer to what the old chain guaranteed:
 *
 *  - while concurrent writers and readers run (creates, GetClaim and ListClaims are all
 *    audited), `tulayd audit verify` finds the log intact every time; afterwards, with
 *    every row sealed ("0 unsealed" within 15 s) and at least one sealed row per audited
 *    request that succeeded;
 *  - `tulayd audit seal` seals what has ended, and then nothing is left unsealed;
 *  - PostgreSQL stopped with `pg_ctl -m immediate` in the middle of that load and started
 *    again: every create acknowledged OK is in the cases and in the audit log, and the
 *    chain verifies and is sealed to the end again;
 *  - a sealed row edited or deleted in the database is found (BROKEN, exit 1), and once
 *    put back the log verifies again (it_audit.sh covers the other kinds of tampering on a
 *    copy of a small log: a forged hash, reordering, truncation).
 *
 * Runs alone (RUN_SERIAL): it restarts the shared cluster. */
#include <pthread.h>
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

#define WRITERS        4
#define READERS        4
#define MAX_CREATES    2000 /* per writer, far more than a few seconds allow */
#define SEAL_TIMEOUT_S 120.0
/* A write answered UNAVAILABLE is sent again with its key; enough to outlast a restart. */
#define UNAVAILABLE_RETRIES 30

static char output[16384];

/* --- tulayd audit verify / seal ------------------------------------------------------ */

struct verdict {
	int exit;
	bool intact;  /* "audit log intact: ..." */
	bool broken;  /* "audit log BROKEN: ..." */
	bool sealing; /* the line has the sealer's counts */
	long long entries, blocks, unsealed;
	char line[512];
};

static void audit_verify(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->exit = it_sh(output, sizeof(output), "\"$TULAYD\" audit verify");
	const char *line = strstr(output, "audit log ");
	if (line == NULL)
		line = output;
	snprintf(v->line, sizeof(v->line), "%.*s", (int)strcspn(line, "\n"), line);
	v->intact = strncmp(v->line, "audit log intact: ", 18) == 0;
	v->broken = strncmp(v->line, "audit log BROKEN: ", 18) == 0;
	v->sealing =
	    sscanf(v->line, "audit log intact: %lld entries sealed in %lld blocks, %lld unsealed",
		   &v->entries, &v->blocks, &v->unsealed) == 3;
}

/* Polls `audit verify` until it exits 0 with nothing unsealed; fails the test when the
 * log is broken, when verify does not speak of sealing, or after SEAL_TIMEOUT_S. Returns
 * the number of sealed entries. */
static long long wait_all_sealed(const char *when)
{
	struct verdict v;
	double t0 = it_now();
	for (;;) {
		audit_verify(&v);
		if (v.exit != 0 || !v.intact)
			fail_msg("%s: audit verify exited %d: %s", when, v.exit, output);
		if (!v.sealing)
			fail_msg("%s: audit verify does not report sealed entries, blocks and the "
				 "unsealed tail: %s",
				 when, v.line);
		if (v.unsealed == 0)
			break;
		if (it_now() - t0 > SEAL_TIMEOUT_S)
			fail_msg("%s: still %lld unsealed after %.0f s: %s", when, v.unsealed,
				 SEAL_TIMEOUT_S, v.line);
		it_sleep_ms(200);
	}
	printf("# %s: %s (sealed after %.1f s)\n", when, v.line, it_now() - t0);
	return v.entries;
}

/* The rows the log holds now, sealed or not (from a verifier that chains every row as it
 * is appended: its entries). Fails the test when the log is not intact. */
static long long rows_now(const char *when)
{
	struct verdict v;
	audit_verify(&v);
	long long entries;
	if (v.exit != 0 || !v.intact)
		fail_msg("%s: audit verify exited %d: %s", when, v.exit, output);
	if (v.sealing)
		return v.entries + v.unsealed;
	if (sscanf(v.line, "audit log intact: %lld entries", &entries) != 1)
		fail_msg("%s: audit verify said: %s", when, v.line);
	return entries;
}

/* --- load: writers creating claims, readers reading and listing them ------------------ */

struct acked {
	char key[48]; /* "ACRONYM REFERENCE" */
	double at;
};

struct worker {
	const char *username;
	const char *organisation; /* its acronym */
	bool writer;
	const char (*refs)[32]; /* readers: the claims to read */
	int n_refs;
	uint64_t rng;
	struct it_tally answers;
	int audited; /* OK answers that each wrote an audit row of their own */
	int reconnects;
	struct acked *acked; /* writers: every create answered OK */
	int n_acked;
	double last_ok;
};

static volatile int stop_load;
static pthread_mutex_t last_ok_lock = PTHREAD_MUTEX_INITIALIZER;

static Tulay__V1__Response *worker_call(struct worker *w, struct tulay_client **c,
					Tulay__V1__Request *req)
{
	if (*c == NULL) {
		*c = it_login_try(w->username);
		if (*c == NULL) {
			it_sleep_ms(200);
			return NULL;
		}
		w->reconnects++;
	}
	int unknown_before = w->answers.outcome_unknown;
	Tulay__V1__Response *resp = NULL;
	if (it_call_retrying(*c, req, UNAVAILABLE_RETRIES, &w->answers, &resp) != 0) {
		tulay_close(*c);
		*c = NULL;
		return NULL;
	}
	if (resp->status->code == TULAY__V1__CODE__OK) {
		/* An OK after an outcome-unknown attempt may be the replay of a create that
		 * was saved (and audited) the first time: count only certain rows. */
		if (w->answers.outcome_unknown == unknown_before)
			w->audited++;
		pthread_mutex_lock(&last_ok_lock);
		w->last_ok = it_now();
		pthread_mutex_unlock(&last_ok_lock);
	}
	return resp;
}

static void writer_once(struct worker *w, struct tulay_client **c, int serial)
{
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	it_new_key(key);
	char employer[80];
	snprintf(employer, sizeof(employer), "Audit Load Employer %s %d", w->username, serial);
	struct it_claim cc;
	it_claim_init(&cc, key,
		      &(struct it_claim_spec){.nationality = "VN",
					      .country = "MY",
					      .sector = TULAY__V1__SECTOR__SECTOR_SERVICES,
					      .employer = employer,
					      .started = "2025-01-01",
					      .ended = "2025-06-30",
					      .minor_units = 300000 + serial,
					      .currency = "MYR"});
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	req.create_claim = &cc.m;
	/* Until answered: a lost connection is reconnected and the create sent again with
	 * its key, so an acknowledged create is never mistaken for a lost one. */
	for (int attempt = 0; attempt < 50 && !(stop_load && attempt > 0); attempt++) {
		Tulay__V1__Response *resp = worker_call(w, c, &req);
		if (resp == NULL)
			continue;
		if (resp->status->code == TULAY__V1__CODE__OK && w->n_acked < MAX_CREATES) {
			struct acked *a = &w->acked[w->n_acked];
			snprintf(a->key, sizeof(a->key), "%s %s", w->organisation,
				 resp->claim->reference);
			a->at = it_now();
			pthread_mutex_lock(&last_ok_lock);
			w->n_acked++;
			pthread_mutex_unlock(&last_ok_lock);
		}
		tulay_response_free(resp);
		return;
	}
}

static void reader_once(struct worker *w, struct tulay_client **c)
{
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__GetClaim get = TULAY__V1__GET_CLAIM__INIT;
	Tulay__V1__ListClaims list = TULAY__V1__LIST_CLAIMS__INIT;
	if (it_rand(&w->rng, 3) > 0) {
		get.reference = (char *)w->refs[it_rand(&w->rng, (uint32_t)w->n_refs)];
		get.organisation = "";
		req.body_case = TULAY__V1__REQUEST__BODY_GET_CLAIM;
		req.get_claim = &get;
	} else {
		list.limit = 20;
		req.body_case = TULAY__V1__REQUEST__BODY_LIST_CLAIMS;
		req.list_claims = &list;
	}
	Tulay__V1__Response *resp = worker_call(w, c, &req);
	tulay_response_free(resp);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct tulay_client *c = NULL;
	for (int serial = 0; !stop_load; serial++) {
		if (w->writer)
			writer_once(w, &c, serial);
		else
			reader_once(w, &c);
	}
	tulay_close(c);
	return NULL;
}

/* Claims the readers read: a few of DEMO's and of MYNGO's. */
static char demo_refs[4][32], myngo_refs[4][32];

static void create_for_readers(const char *username, char (*refs)[32], int n)
{
	struct tulay_client *c = it_login_try(username);
	assert_non_null(c);
	for (int i = 0; i < n; i++) {
		uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
		it_new_key(key);
		struct it_claim cc;
		it_claim_init(
		    &cc, key,
		    &(struct it_claim_spec){.nationality = "LA",
					    .country = "TH",
					    .sector = TULAY__V1__SECTOR__SECTOR_HOSPITALITY,
					    .employer = "Audit Read Hotel Co",
					    .started = "2025-03-01",
					    .ended = "2025-04-30",
					    .minor_units = 1200000,
					    .currency = "THB"});
		Tulay__V1__Response *resp = NULL;
		assert_int_equal(tulay_create_claim(c, &cc.m, &resp), 0);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		snprintf(refs[i], 32, "%s", resp->claim->reference);
		tulay_response_free(resp);
	}
	tulay_close(c);
}

struct load {
	struct worker workers[WRITERS + READERS];
	pthread_t threads[WRITERS + READERS];
};

static void load_start(struct load *l)
{
	static const char *const writer_users[WRITERS] = {"officer", "admin", "officer",
							  "klofficer"};
	static const char *const reader_users[READERS] = {"officer", "coord", "admin", "klofficer"};
	stop_load = 0;
	for (int i = 0; i < WRITERS + READERS; i++) {
		struct worker *w = &l->workers[i];
		memset(w, 0, sizeof(*w));
		w->writer = i < WRITERS;
		w->username = w->writer ? writer_users[i] : reader_users[i - WRITERS];
		bool kl = strcmp(w->username, "klofficer") == 0;
		w->organisation = kl ? "MYNGO" : "DEMO";
		w->refs = (const char(*)[32])(kl ? myngo_refs : demo_refs);
		w->n_refs = 4;
		w->rng = 0xA0D17ULL * (uint64_t)(i + 1);
		if (w->writer) {
			w->acked = calloc(MAX_CREATES, sizeof(*w->acked));
			assert_non_null(w->acked);
		}
		assert_int_equal(pthread_create(&l->threads[i], NULL, worker_main, w), 0);
	}
}

/* Stops the load; returns the audited requests that succeeded, and sums the answers. */
static int load_stop(struct load *l, struct it_tally *answers)
{
	stop_load = 1;
	int audited = 0;
	memset(answers, 0, sizeof(*answers));
	for (int i = 0; i < WRITERS + READERS; i++) {
		pthread_join(l->threads[i], NULL);
		audited += l->workers[i].audited;
		it_tally_add(answers, &l->workers[i].answers);
	}
	return audited;
}

static void load_free(struct load *l)
{
	for (int i = 0; i < WRITERS; i++)
		free(l->workers[i].acked);
}

static double last_ok(const struct load *l)
{
	double t = 0;
	pthread_mutex_lock(&last_ok_lock);
	for (int i = 0; i < WRITERS + READERS; i++) {
		if (l->workers[i].last_ok > t)
			t = l->workers[i].last_ok;
	}
	pthread_mutex_unlock(&last_ok_lock);
	return t;
}

/* Creates acknowledged so far, by every writer. */
static int acked_now(const struct load *l)
{
	int n = 0;
	pthread_mutex_lock(&last_ok_lock);
	for (int i = 0; i < WRITERS; i++)
		n += l->workers[i].n_acked;
	pthread_mutex_unlock(&last_ok_lock);
	return n;
}

/* --- the tests ----------------------------------------------------------------------- */

static void test_sealed_after_concurrent_writers_and_readers(void **state)
{
	(void)state;
	create_for_readers("officer", demo_refs, 4);
	create_for_readers("klofficer", myngo_refs, 4);
	long long before = rows_now("before the load");

	static struct load l;
	load_start(&l);
	/* verify is for a live system: while the load runs and the sealer seals, it must find
	 * the log intact every time (one consistent view of entries and blocks). */
	int verifies = 0, verify_failures = 0;
	char first_failure[600] = "";
	double t0 = it_now();
	while (it_now() - t0 < 2.5) {
		struct verdict v;
		audit_verify(&v);
		verifies++;
		if ((v.exit != 0 || !v.intact) && verify_failures++ == 0)
			snprintf(first_failure, sizeof(first_failure), "exit %d: %s", v.exit,
				 v.line);
		it_sleep_ms(100);
	}
	struct it_tally answers;
	int audited = load_stop(&l, &answers);
	int creates = 0;
	for (int i = 0; i < WRITERS; i++)
		creates += l.workers[i].n_acked;
	load_free(&l);
	it_tally_print("answers", &answers);
	printf("# %d audited requests succeeded, %d of them creates\n", audited, creates);
	assert_true(creates > 0);
	assert_true(audited > creates);
	printf("# audit verify during the load: %d runs, %d not intact\n", verifies,
	       verify_failures);
	if (verify_failures > 0)
		fail_msg("audit verify during the load found the log not intact %d times of %d, "
			 "the first: %s",
			 verify_failures, verifies, first_failure);

	long long after = wait_all_sealed("after the load");
	printf("# %lld entries sealed during the load, for %d audited requests\n", after - before,
	       audited);
	assert_true(after - before >= audited);
}

static void test_seal_command(void **state)
{
	(void)state;
	int rc = it_sh(output, sizeof(output), "\"$TULAYD\" audit seal");
	printf("# audit seal: exit %d: %s", rc, output);
	assert_int_equal(rc, 0);
	assert_non_null(strpbrk(output, "0123456789"));
	/* Nothing runs: everything ended is sealed, at once. */
	struct verdict v;
	audit_verify(&v);
	if (v.exit != 0 || !v.sealing || v.unsealed != 0)
		fail_msg("right after audit seal, verify says (exit %d): %s", v.exit, v.line);
}

static void pg_stop_immediately(void)
{
	/* The cluster belongs to tulay-pg when the tests run as root (scripts/pg-cluster.sh). */
	int rc = it_sh(output, sizeof(output),
		       "bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1); "
		       "as=; [ \"$(id -u)\" = 0 ] && as='runuser -u tulay-pg --'; "
		       "$as \"$bin/pg_ctl\" --pgdata=\"$TULAY_TEST_PGDIR/data\" --mode=immediate "
		       "--wait stop");
	if (rc != 0)
		fail_msg("pg_ctl -m immediate stop exited %d: %s", rc, output);
}

static void pg_start(void)
{
	int rc = it_sh(output, sizeof(output),
		       "\"$TULAY_TEST_REPO/scripts/pg-cluster.sh\" start \"$TULAY_TEST_PGDIR\"");
	if (rc != 0)
		fail_msg("restarting PostgreSQL exited %d: %s", rc, output);
}

static bool pg_running(void)
{
	return it_sh(output, sizeof(output),
		     "\"$TULAY_TEST_REPO/scripts/pg-cluster.sh\" status \"$TULAY_TEST_PGDIR\"") ==
	       0;
}

static void test_crash_mid_load(void **state)
{
	(void)state;
	/* The harness's cluster commits asynchronously (synchronous_commit off): a crash may
	 * then lose commits PostgreSQL itself acknowledged. For this test commits are
	 * durable, so a lost acknowledged write is tulay's. */
	PGconn *su = it_db_connect(it_superuser_conninfo());
	it_sql_exec(su, "ALTER SYSTEM SET synchronous_commit = on");
	it_sql_exec(su, "SELECT pg_reload_conf()");
	PQfinish(su);
	long long before = rows_now("before the crash");

	static struct load l;
	load_start(&l);
	/* Mid-load: once the writers have had creates acknowledged (however slow the
	 * machine), and a little more. */
	double load_began = it_now();
	while (acked_now(&l) < 20 && it_now() - load_began < 60)
		it_sleep_ms(50);
	it_sleep_ms(500);
	double crash = it_now();
	pg_stop_immediately();
	printf("# PostgreSQL stopped (immediate) %.1f s into the load\n", crash - load_began);
	it_sleep_ms(1000);
	pg_start();
	double restarted = it_now();
	while (last_ok(&l) < restarted && it_now() - restarted < 120)
		it_sleep_ms(100);
	double serving = last_ok(&l);
	bool recovered = serving >= restarted;
	/* More load after the recovery: until creates are acknowledged after the crash (a
	 * slow machine's writers may take a while to reconnect), and a second more. */
	int acked_at_recovery = acked_now(&l);
	for (double t0 = it_now();
	     recovered && acked_now(&l) <= acked_at_recovery && it_now() - t0 < 120;)
		it_sleep_ms(100);
	if (recovered)
		it_sleep_ms(1000);
	struct it_tally answers;
	int audited = load_stop(&l, &answers);
	it_tally_print("answers", &answers);
	if (!recovered)
		fail_msg("no request succeeded within 120 s of PostgreSQL's restart");
	printf("# serving again %.1f s after the restart\n", serving - restarted);

	/* Every acknowledged create is there, in the cases and in the audit log. */
	static char list[WRITERS * MAX_CREATES * 32];
	size_t len = 0;
	int acked = 0, acked_before_crash = 0;
	list[len++] = '{';
	for (int i = 0; i < WRITERS; i++) {
		for (int k = 0; k < l.workers[i].n_acked; k++) {
			const struct acked *a = &l.workers[i].acked[k];
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s\"%s\"",
						acked > 0 ? "," : "", a->key);
			acked++;
			acked_before_crash += a->at < crash;
		}
	}
	snprintf(list + len, sizeof(list) - len, "}");
	load_free(&l);
	printf("# %d creates acknowledged, %d of them before the crash; %d audited requests "
	       "succeeded\n",
	       acked, acked_before_crash, audited);
	assert_true(acked_before_crash > 0);
	assert_true(acked > acked_before_crash);

	PGconn *pg = it_db_connect(it_owner_conninfo());
	long long found = it_sql_number(pg,
					"SELECT count(*) FROM cases c JOIN organisations o "
					"USING (org_id) WHERE o.acronym || ' ' || c.reference "
					"= ANY ($1::text[])",
					list);
	long long audited_creates = it_sql_number(
	    pg,
	    "SELECT count(DISTINCT (a.org_id, a.target)) FROM audit_log a "
	    "JOIN organisations o ON o.org_id = a.org_id WHERE a.action = 'create_claim' "
	    "AND o.acronym || ' ' || a.target = ANY ($1::text[])",
	    list);
	PQfinish(pg);
	printf("# of them in the cases: %lld; with their create_claim audit row: %lld\n", found,
	       audited_creates);
	assert_int_equal(found, acked);
	assert_int_equal(audited_creates, acked);

	/* The chain verifies, and is sealed to its end again. */
	struct verdict v;
	audit_verify(&v);
	printf("# right after the load: exit %d: %s\n", v.exit, v.line);
	if (v.exit != 0 || !v.intact)
		fail_msg("after the crash, audit verify exited %d: %s", v.exit, output);
	long long after = wait_all_sealed("after the crash");
	assert_true(after - before >= audited);
}

/* One sealed audit row to tamper with, named by its organisation, action and target,
 * and kept in a temporary table of the superuser's session to put it back. */
static PGconn *tamper_db;
static const char *tampered = "org_id = (SELECT org_id FROM tampered) AND action = "
			      "'create_claim' AND target = (SELECT target FROM tampered)";

/* Puts the row back as it was (its detail, or the whole row if deleted). Returns false
 * when that failed. No assertion: the teardown uses it too. */
static bool restore_tampered_row(void)
{
	char update[512], insert[512];
	snprintf(update, sizeof(update),
		 "UPDATE audit_log SET detail = (SELECT detail FROM tampered) WHERE %s", tampered);
	snprintf(insert, sizeof(insert),
		 "INSERT INTO audit_log OVERRIDING SYSTEM VALUE SELECT * FROM tampered "
		 "WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE %s)",
		 tampered);
	bool ok = true;
	const char *steps[] = {update, insert};
	for (int i = 0; i < 2; i++) {
		PGresult *r = PQexec(tamper_db, steps[i]);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "restoring the tampered audit row: %s",
				PQresultErrorMessage(r));
			ok = false;
		}
		PQclear(r);
	}
	return ok;
}

static void expect_verdict(bool intact, const char *what)
{
	struct verdict v;
	audit_verify(&v);
	printf("# %s: exit %d: %s\n", what, v.exit, v.line);
	if (intact && (v.exit != 0 || !v.intact))
		fail_msg("%s: expected the log intact (exit 0), got exit %d: %s", what, v.exit,
			 output);
	if (!intact && (v.exit != 1 || !v.broken))
		fail_msg("%s: expected 'audit log BROKEN' (exit 1), got exit %d: %s", what, v.exit,
			 output);
}

static void test_tampering_with_sealed_rows(void **state)
{
	(void)state;
	/* Everything sealed first (or, from a verifier that chains every row as it is
	 * appended, intact). */
	struct verdict v;
	double t0 = it_now();
	do {
		audit_verify(&v);
		if (v.intact && (!v.sealing || v.unsealed == 0))
			break;
		it_sleep_ms(200);
	} while (it_now() - t0 < SEAL_TIMEOUT_S);
	if (!v.intact || (v.sealing && v.unsealed != 0))
		fail_msg("the log is not intact and sealed before tampering: %s", v.line);

	tamper_db = it_db_connect(it_superuser_conninfo());
	/* As someone with the database's keys would: no trigger stands in the way. */
	it_sql_exec(tamper_db, "SET session_replication_role = replica");
	/* The create of a claim the first test made before its load: sealed, in the middle
	 * of the log, written once. */
	char sql[1024];
	assert_true(demo_refs[0][0] != '\0');
	snprintf(sql, sizeof(sql),
		 "CREATE TEMP TABLE tampered AS SELECT * FROM audit_log WHERE action = "
		 "'create_claim' AND target = '%s' AND org_id = (SELECT org_id FROM organisations "
		 "WHERE acronym = 'DEMO')",
		 demo_refs[0]);
	it_sql_exec(tamper_db, sql);
	assert_int_equal(it_sql_number(tamper_db, "SELECT count(*) FROM tampered", NULL), 1);

	snprintf(sql, sizeof(sql), "UPDATE audit_log SET detail = detail || ' (forged)' WHERE %s",
		 tampered);
	it_sql_exec(tamper_db, sql);
	expect_verdict(false, "a sealed row's detail edited");
	assert_true(restore_tampered_row());
	expect_verdict(true, "the detail put back");

	snprintf(sql, sizeof(sql), "DELETE FROM audit_log WHERE %s", tampered);
	it_sql_exec(tamper_db, sql);
	expect_verdict(false, "a sealed row deleted");
	assert_true(restore_tampered_row());
	expect_verdict(true, "the row inserted again");
}

/* Whatever happened: PostgreSQL running, commits as the harness had them, the tampered
 * row put back. */
static int teardown(void **state)
{
	(void)state;
	if (!pg_running()) {
		int rc = it_sh(output, sizeof(output),
			       "\"$TULAY_TEST_REPO/scripts/pg-cluster.sh\" start "
			       "\"$TULAY_TEST_PGDIR\"");
		if (rc != 0)
			fprintf(stderr, "teardown: PostgreSQL did not start: %s\n", output);
	}
	PGconn *su = PQconnectdb(it_superuser_conninfo());
	if (PQstatus(su) == CONNECTION_OK) {
		PQclear(PQexec(su, "ALTER SYSTEM RESET synchronous_commit"));
		PQclear(PQexec(su, "SELECT pg_reload_conf()"));
	}
	PQfinish(su);
	if (tamper_db != NULL) {
		(void)restore_tampered_row();
		PQfinish(tamper_db);
		tamper_db = NULL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	/* tulayd audit verify and seal connect as the owner, from TULAY_DB. */
	setenv("TULAY_DB", it_env("TULAY_TEST_DB_OWNER"), 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_sealed_after_concurrent_writers_and_readers, teardown),
	    cmocka_unit_test_teardown(test_seal_command, teardown),
	    cmocka_unit_test_teardown(test_crash_mid_load, teardown),
	    cmocka_unit_test_teardown(test_tampering_with_sealed_rows, teardown),
	};
	return cmocka_run_group_tests_name("it_audit_concurrency", tests, NULL, NULL);
}
