/* A saturated tulayd answers honestly and libtulay rides it out (issue 11, point 4).
 *
 * tulayd is started here with one database connection and a 100 ms queue timeout. While a
 * transaction of ours holds the `cases` table, the first claim takes the only connection
 * and waits for the lock, and every request behind it waits for that connection: past the
 * queue timeout it is answered UNAVAILABLE, "the server is busy and nothing was saved",
 * outcome known, and tulayd logs event=db_busy with the queue depth. Then: libtulay's
 * retries get every claim stored once, however many attempts it took; a keyless write
 * (Logout) is never resent; the CLI retries and says so, and with --retries 0 reports the
 * busy answer. Each claim's key must name exactly one case. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_support.h"
#include "libtulay.h"

#define BUSY_MESSAGE "the server is busy and nothing was saved: retry with the same idempotency key"
#define TIMEOUT_MS   20000
#define LOCK_S       "60" /* each test ends the lock itself, on an event */

static struct it_tulayd tulayd;

/* How many cases the idempotency key names (after the lock is gone). */
static int cases_with_key(const uint8_t key[16])
{
	char sql[256], hex[33], line[32];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM cases WHERE idempotency_key = '\\x%s'",
		 hex);
	it_psql(sql, line, sizeof(line), false);
	return atoi(line);
}

/* tulayd's busy answers so far (event=db_busy, a warning: written at once). */
static long busy_lines(void)
{
	char *log = it_read_file(tulayd.log);
	long n = 0;
	for (const char *p = log; (p = strstr(p, "level=warn event=db_busy ")) != NULL; p++)
		n++;
	free(log);
	return n;
}

static void await_busy_lines(long want)
{
	for (int i = 0; i < 3000 && busy_lines() < want; i++)
		usleep(10 * 1000);
	if (busy_lines() < want)
		fail_msg("tulayd answered no request busy within 30 s");
}

static void start_tulayd(void)
{
	/* No chores after the start: the one connection is the tests'. */
	const char *args[] = {"--db-connections",      "1",     "--db-queue-timeout-ms", "100",
			      "--db-query-timeout-ms", "60000", IT_TULAYD_NO_CHORES,     NULL};
	it_tulayd_start(&tulayd, "it_retry", args);
}

static struct tulay_client *officer(unsigned attempts)
{
	struct tulay_client *c = NULL;
	assert_int_equal(tulay_connect(tulayd.server, TIMEOUT_MS, "it_retry", &c), 0);
	Tulay__V1__Response *resp = NULL;
	assert_int_equal(tulay_login(c, "officer", it_env("TULAY_TEST_PASSWORD"), &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	tulay_response_free(resp);
	assert_int_equal(tulay_set_max_attempts(c, attempts), 0);
	return c;
}

/* A claim whose key is `tag` followed by `n`: distinct for every claim of this file. */
struct claim {
	uint8_t key[16];
	Tulay__V1__Money amount;
	Tulay__V1__CreateClaim body;
	Tulay__V1__Request req;
};

static void claim_init(struct claim *c, char tag, unsigned n)
{
	memset(c->key, 0, sizeof(c->key));
	memcpy(c->key, "it_retry", 8);
	c->key[8] = (uint8_t)tag;
	c->key[12] = (uint8_t)(n >> 8);
	c->key[13] = (uint8_t)n;
	c->key[15] = (uint8_t)(getpid() & 0xff); /* a rerun of the test is another claim */
	c->key[14] = (uint8_t)((getpid() >> 8) & 0xff);
	tulay__v1__money__init(&c->amount);
	c->amount.minor_units = 100000 + n;
	c->amount.currency = "MYR";
	tulay__v1__create_claim__init(&c->body);
	c->body.idempotency_key = (ProtobufCBinaryData){.len = sizeof(c->key), .data = c->key};
	c->body.worker_nationality = "BD";
	c->body.country_of_work = "MY";
	c->body.sector = TULAY__V1__SECTOR__SECTOR_CONSTRUCTION;
	c->body.employer = "Retry Test Builders Sdn Bhd";
	c->body.work_started_on = "2025-01-06";
	c->body.work_ended_on = "2025-11-30";
	c->body.amount_claimed = &c->amount;
	tulay__v1__request__init(&c->req);
	c->req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	c->req.create_claim = &c->body;
}

/* The busy answer itself: UNAVAILABLE saying the server is busy and nothing was saved,
 * outcome known; and it is true: its key names no case. Logged with the queue depth. */
static void test_busy_is_answered_as_busy_and_nothing_is_saved(void **state)
{
	(void)state;
	/* tulayd sends up to 16 batchable requests waiting together in one transaction (see
	 * server/db.h): the first of them take the one connection and wait on the lock, the
	 * rest stay queued and are answered busy. */
	enum { N = 32, BATCH = 16 };
	struct tulay_client *c = officer(1);
	struct claim claims[N];
	uint64_t ids[N];
	it_lock_table("cases", LOCK_S);
	for (unsigned i = 0; i < N; i++) {
		claim_init(&claims[i], 'a', i);
		assert_int_equal(tulay_send(c, &claims[i].req, &ids[i]), 0);
	}
	Tulay__V1__Response *answers[N] = {0};
	for (unsigned got = 0; got < N; got++) {
		/* Those are busy answers (the rest wait on the lock): the lock can go. */
		if (got == N - BATCH - 1)
			it_unlock_table("cases");
		Tulay__V1__Response *resp = NULL;
		assert_int_equal(tulay_recv(c, &resp), 0);
		unsigned i = 0;
		while (i < N && ids[i] != resp->id)
			i++;
		assert_true(i < N);
		answers[i] = resp;
	}
	unsigned busy = 0;
	for (unsigned i = 0; i < N; i++) {
		const Tulay__V1__Status *st = answers[i]->status;
		if (st->code == TULAY__V1__CODE__OK) {
			assert_int_equal(cases_with_key(claims[i].key), 1);
			continue;
		}
		assert_int_equal(st->code, TULAY__V1__CODE__UNAVAILABLE);
		assert_string_equal(st->message, BUSY_MESSAGE);
		assert_false(st->outcome_unknown);
		assert_int_equal(cases_with_key(claims[i].key), 0);
		busy++;
	}
	printf("# %u of %d claims answered busy\n", busy, N);
	/* All but those holding the connection: one batch at most, or a chore and then one. */
	assert_true(busy >= N - BATCH - 1);
	for (unsigned i = 0; i < N; i++)
		tulay_response_free(answers[i]);
	tulay_close(c);

	char *log = it_read_file(tulayd.log);
	const char *line = strstr(log, "level=warn event=db_busy ");
	assert_non_null(line);
	assert_non_null(strstr(line, " type=create_claim queue_depth="));
	const char *waited = strstr(line, " waited_ms=");
	assert_non_null(waited);
	assert_true(atoi(waited + strlen(" waited_ms=")) >= 100);
	free(log);
}

/* One writer thread: its client, its claims and what became of them. Threads record, the
 * main thread asserts (cmocka's asserts belong to it). */
struct writer {
	pthread_t thread;
	struct tulay_client *client;
	struct claim claims[3];
	int rc[3];
	Tulay__V1__Code code[3];
	char references[3][32];
	unsigned attempts[3];
	unsigned busy_retries; /* counted by the retry observer */
	bool odd_retry;        /* the observer saw something other than a busy claim */
	bool busy_message_seen;
};

static void on_retry(void *arg, const Tulay__V1__Request *req, const Tulay__V1__Status *st,
		     unsigned attempt, unsigned delay_ms)
{
	struct writer *w = arg;
	w->odd_retry |= req->body_case != TULAY__V1__REQUEST__BODY_CREATE_CLAIM ||
			st->code != TULAY__V1__CODE__UNAVAILABLE || attempt < 2 ||
			delay_ms > TULAY_BACKOFF_CAP_MS;
	w->busy_retries++;
	w->busy_message_seen |= strcmp(st->message, BUSY_MESSAGE) == 0;
}

static void *write_claims(void *arg)
{
	struct writer *w = arg;
	tulay_set_retry_observer(w->client, on_retry, w);
	for (unsigned i = 0; i < 3; i++) {
		Tulay__V1__Response *resp = NULL;
		w->rc[i] = tulay_create_claim(w->client, &w->claims[i].body, &resp);
		if (w->rc[i] != 0)
			continue;
		w->code[i] = resp->status->code;
		if (resp->status->code == TULAY__V1__CODE__OK)
			snprintf(w->references[i], sizeof(w->references[i]), "%s",
				 resp->claim->reference);
		w->attempts[i] = tulay_last_attempts(w->client);
		tulay_response_free(resp);
	}
	return NULL;
}

/* Twenty writers at once against the one busy connection: libtulay resends each refused
 * claim with its key until it is stored; every key names one case, and sending a claim
 * again returns the same reference. tulayd puts up to 16 waiting claims in one transaction
 * (server/db.h), so more writers than that are needed for some to be refused whatever the
 * order they arrive in: the connection stays taken until the lock is released. */
static void test_libtulay_retries_until_stored_once(void **state)
{
	(void)state;
	enum { WRITERS = 20 };
	static struct writer writers[WRITERS];
	memset(writers, 0, sizeof(writers));
	for (unsigned t = 0; t < WRITERS; t++) {
		for (unsigned i = 0; i < 3; i++)
			claim_init(&writers[t].claims[i], 'b', t * 3 + i);
		writers[t].client = officer(TULAY_MAX_ATTEMPTS);
	}
	it_lock_table("cases", LOCK_S);
	long busy_before = busy_lines();
	for (unsigned t = 0; t < WRITERS; t++)
		assert_int_equal(
		    pthread_create(&writers[t].thread, NULL, write_claims, &writers[t]), 0);
	/* Once some claims have been refused busy, the lock goes and the resends get in. */
	await_busy_lines(busy_before + 1);
	it_unlock_table("cases");
	unsigned retries = 0, retried_calls = 0;
	bool busy_seen = false;
	for (unsigned t = 0; t < WRITERS; t++) {
		assert_int_equal(pthread_join(writers[t].thread, NULL), 0);
		tulay_close(writers[t].client);
		assert_false(writers[t].odd_retry);
		retries += writers[t].busy_retries;
		busy_seen |= writers[t].busy_message_seen;
		for (unsigned i = 0; i < 3; i++) {
			assert_int_equal(writers[t].rc[i], 0);
			assert_int_equal(writers[t].code[i], TULAY__V1__CODE__OK);
			retried_calls += writers[t].attempts[i] > 1;
		}
	}
	printf("# %u resends over %u of %d calls\n", retries, retried_calls, WRITERS * 3);
	assert_true(retried_calls > 0);
	assert_true(busy_seen);

	struct tulay_client *c = officer(TULAY_MAX_ATTEMPTS);
	for (unsigned t = 0; t < WRITERS; t++) {
		for (unsigned i = 0; i < 3; i++) {
			assert_int_equal(cases_with_key(writers[t].claims[i].key), 1);
			Tulay__V1__Response *resp = NULL;
			assert_int_equal(tulay_create_claim(c, &writers[t].claims[i].body, &resp),
					 0);
			assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
			assert_string_equal(resp->claim->reference, writers[t].references[i]);
			tulay_response_free(resp);
			assert_int_equal(cases_with_key(writers[t].claims[i].key), 1);
		}
	}
	tulay_close(c);
}

/* A write without an idempotency key is answered busy like any other, and never resent. */
static void test_keyless_write_is_not_resent(void **state)
{
	(void)state;
	struct tulay_client *holder = officer(1), *c = officer(5);
	struct claim claim;
	claim_init(&claim, 'c', 0);
	it_lock_table("cases", LOCK_S);
	uint64_t id;
	assert_int_equal(tulay_send(holder, &claim.req, &id), 0); /* takes the connection */
	it_await_lock_waiter("cases");
	Tulay__V1__Response *resp = NULL;
	assert_int_equal(tulay_logout(c, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__UNAVAILABLE);
	assert_false(resp->status->outcome_unknown);
	assert_int_equal(tulay_last_attempts(c), 1);
	tulay_response_free(resp);
	it_unlock_table("cases");
	assert_int_equal(tulay_recv(holder, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	tulay_response_free(resp);
	tulay_close(holder);
	tulay_close(c);
}

/* Runs a shell command line; returns its exit status, with its output in out. */
static int run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The CLI retries too (its Authenticate here: the session is checked in the database) and
 * says so on stderr; with --retries 0 (and --no-queue) it reports the busy answer and
 * exits 2. */
static void test_cli_retries_and_says_so(void **state)
{
	(void)state;
	char dir[512], env[1024], cmd[4096], out[8192];
	snprintf(dir, sizeof(dir), "%s/it_retry-cli.%d", it_env("TULAY_TEST_STATE"), (int)getpid());
	snprintf(env, sizeof(env),
		 "env -u TULAY_RETRIES TULAY_CONFIG_DIR='%s' TULAY_SERVER='%s' '%s'", dir,
		 tulayd.server, it_env("TULAY_CLI"));
	snprintf(cmd, sizeof(cmd), "echo '%s' | %s login --username officer --password-stdin 2>&1",
		 it_env("TULAY_TEST_PASSWORD"), env);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);

	const char *add = "claim add --nationality NP --country-of-work MY --sector agriculture "
			  "--employer 'Retry Test Estate' --work-start 2025-02-01 --work-end "
			  "2025-10-31 --amount 3000.00 --currency MYR";
	for (int retries = 0; retries <= 1; retries++) {
		struct tulay_client *holder = officer(1);
		struct claim claim;
		claim_init(&claim, 'd', (unsigned)retries);
		it_lock_table("cases", LOCK_S);
		uint64_t id;
		assert_int_equal(tulay_send(holder, &claim.req, &id), 0);
		it_await_lock_waiter("cases");
		/* --no-queue: without it, a write refused busy is kept in the outbox (exit 0;
		 * it_outbox tests that). */
		snprintf(cmd, sizeof(cmd), "%s %s --retries %d --no-queue 2>&1", env, add,
			 retries == 0 ? 0 : 20);
		/* Without retries, the answer comes while the lock is held. With them, the lock
		 * goes once the CLI has been refused busy, and a resend gets in. */
		long busy_before = busy_lines();
		FILE *cli = popen(cmd, "r");
		assert_non_null(cli);
		if (retries > 0) {
			await_busy_lines(busy_before + 1);
			it_unlock_table("cases");
		}
		size_t n = fread(out, 1, sizeof(out) - 1, cli);
		out[n] = '\0';
		int status = pclose(cli);
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (retries == 0)
			it_unlock_table("cases");
		printf("# tulay --retries %d: exit %d\n%s", retries == 0 ? 0 : 20, code, out);
		if (retries == 0) {
			assert_int_equal(code, 2);
			assert_non_null(strstr(out, "UNAVAILABLE: the server is busy"));
		} else {
			assert_int_equal(code, 0);
			assert_non_null(strstr(out, "UNAVAILABLE: the server is busy"));
			assert_non_null(strstr(out, "(sending it again in "));
			assert_non_null(strstr(out, "Logged claim"));
		}
		Tulay__V1__Response *resp = NULL;
		assert_int_equal(tulay_recv(holder, &resp), 0);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		tulay_response_free(resp);
		tulay_close(holder);
	}
}

static int setup(void **state)
{
	(void)state;
	start_tulayd();
	return 0;
}

/* SIGTERM: tulayd drains and exits 0, busy answers or not. */
static int teardown(void **state)
{
	(void)state;
	int status = it_tulayd_stop(&tulayd);
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_busy_is_answered_as_busy_and_nothing_is_saved),
	    cmocka_unit_test(test_libtulay_retries_until_stored_once),
	    cmocka_unit_test(test_keyless_write_is_not_resent),
	    cmocka_unit_test(test_cli_retries_and_says_so),
	};
	return cmocka_run_group_tests_name("it_retry", tests, setup, teardown);
}
