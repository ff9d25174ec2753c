/* PostgreSQL stopped under a running tulayd: requests get UNAVAILABLE within a bounded
 * time, tulayd keeps serving what needs no database, serves again by itself once
 * PostgreSQL is back, and a write retried with its idempotency key is stored exactly once.
 * It stops its group's cluster, and runs against a tulayd of its own whose timeouts it
 * waits out: a queue timeout of 2 s, a query timeout of 4 s (PostgreSQL's statement and
 * lock timeouts 3 s); the harness's are long, for slow machines. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_support.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cluster(const char *action)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s/scripts/pg-cluster.sh %s %s >/dev/null",
		 it_env("TULAY_TEST_REPO"), action, it_env("TULAY_TEST_PGDIR"));
	assert_int_equal(system(cmd), 0);
}

static uint8_t outage_key[16] = {0x6f, 0x75, 0x74, 0x61, 0x67, 0x65, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

static Tulay__V1__Response *create_claim(int fd, uint64_t id)
{
	IT_REQUEST(req);
	struct it_claim c;
	it_claim_init(&c, outage_key,
		      &(struct it_claim_spec){.nationality = "KH",
					      .country = "TH",
					      .sector = TULAY__V1__SECTOR__SECTOR_FISHERIES,
					      .employer = "Outage Test Fishing Co",
					      .started = "2025-02-01",
					      .ended = "2025-08-31",
					      .minor_units = 1234500,
					      .currency = "THB"});
	req.id = id;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	req.create_claim = &c.m;
	assert_int_equal(it_raw_send(fd, &req), 0);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	return resp;
}

/* Sends the claim twice more (ids id, id+1): both OK with one reference, i.e. stored once. */
static void assert_stored_once(int fd, uint64_t id)
{
	Tulay__V1__Response *first = create_claim(fd, id);
	Tulay__V1__Response *again = create_claim(fd, id + 1);
	assert_int_equal(first->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(again->status->code, TULAY__V1__CODE__OK);
	assert_string_equal(first->claim->reference, again->claim->reference);
	tulay__v1__response__free_unpacked(first, NULL);
	tulay__v1__response__free_unpacked(again, NULL);
}

static Tulay__V1__Code list_code(int fd, uint64_t id)
{
	IT_REQUEST(req);
	Tulay__V1__ListClaims list = TULAY__V1__LIST_CLAIMS__INIT;
	req.id = id;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_CLAIMS;
	req.list_claims = &list;
	assert_int_equal(it_raw_send(fd, &req), 0);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	Tulay__V1__Code code = resp->status->code;
	tulay__v1__response__free_unpacked(resp, NULL);
	return code;
}

static void test_database_outage_and_recovery(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_raw_login(fd, "officer");
	assert_int_equal(list_code(fd, 1), TULAY__V1__CODE__OK);

	cluster("stop");
	double t0 = now_s();
	assert_int_equal(list_code(fd, 2), TULAY__V1__CODE__UNAVAILABLE);
	double waited = now_s() - t0;
	printf("# UNAVAILABLE after %.2f s with PostgreSQL down\n", waited);
	assert_true(waited < 20.0); /* our queue timeout (2 s), with room for a slow machine */

	/* A write during the outage: refused, flagged if its fate is unknown. */
	Tulay__V1__Response *resp = create_claim(fd, 3);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__UNAVAILABLE);
	tulay__v1__response__free_unpacked(resp, NULL);

	/* tulayd itself is alive: a new connection is accepted and greeted. */
	int other = it_raw_connect();
	it_raw_hello(other);
	close(other);

	cluster("start");
	t0 = now_s();
	Tulay__V1__Code code;
	uint64_t id = 10;
	while ((code = list_code(fd, id++)) != TULAY__V1__CODE__OK && now_s() - t0 < 60)
		usleep(200 * 1000);
	printf("# serving again %.2f s after PostgreSQL restarted\n", now_s() - t0);
	assert_int_equal(code, TULAY__V1__CODE__OK);

	/* The retry with the same key stores the claim once; a second retry returns it. */
	assert_stored_once(fd, 100);
	close(fd);
}

/* Regression (review finding): a job that timed out used to leave its backend waiting on
 * the lock for nobody, and every retry added one. Now PostgreSQL's own statement and lock
 * timeouts end the wait: the client gets UNAVAILABLE (nothing saved), no backend is left
 * behind, and the retry after the lock is gone stores the claim once. */
static void test_lock_wait_ends_cleanly(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_raw_login(fd, "officer");
	outage_key[15] ^= 0xff; /* a key of its own */

	it_lock_table("wage_theft_claims", "60");
	double t0 = now_s();
	Tulay__V1__Response *resp = create_claim(fd, 200);
	printf("# answered %.2f s into the lock wait: %s\n", now_s() - t0, resp->status->message);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__UNAVAILABLE);
	assert_false(resp->status->outcome_unknown);
	tulay__v1__response__free_unpacked(resp, NULL);

	/* Claim writes only: the group's own tulayd shares the database, and its chores (a
	 * report refresh reads the claims) may be waiting on the same lock meanwhile. */
	char line[64];
	it_psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tulayd' AND "
		"wait_event_type = 'Lock' AND (query LIKE '%create_wage_theft_claim%' OR "
		"query LIKE '%claim_create%')",
		line, sizeof(line), false);
	assert_int_equal(atoi(line), 0);

	it_unlock_table("wage_theft_claims");
	assert_stored_once(fd, 201);
	close(fd);
}

/* Regression: a connection kept its session after the session was ended elsewhere (by
 * another tulayd behind the same load balancer, or a user disabled there). Every job now
 * re-checks the session in the statement that sets the tenant context. */
static void test_session_ended_elsewhere(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_raw_login(fd, "coord");
	assert_int_equal(list_code(fd, 300), TULAY__V1__CODE__OK);
	it_psql("UPDATE sessions SET ended_at = now() WHERE user_id = "
		"(SELECT user_id FROM users WHERE username = 'coord') AND ended_at IS NULL",
		NULL, 0, false);
	assert_int_equal(list_code(fd, 301), TULAY__V1__CODE__UNAUTHENTICATED);
	/* and the connection stays logged out */
	assert_int_equal(list_code(fd, 302), TULAY__V1__CODE__UNAUTHENTICATED);
	close(fd);
}

static struct it_tulayd own;

static int start_own(void **state)
{
	(void)state;
	/* No chores after the start: the one connection is the tests'. */
	const char *args[] = {"--db-connections",      "1",    "--db-queue-timeout-ms", "2000",
			      "--db-query-timeout-ms", "4000", IT_TULAYD_NO_CHORES,     NULL};
	it_tulayd_start(&own, "it_outage", args);
	setenv("TULAY_SERVER", own.server, 1);
	return 0;
}

static int stop_own(void **state)
{
	(void)state;
	int status = it_tulayd_stop(&own);
	return status == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_database_outage_and_recovery),
	    cmocka_unit_test(test_lock_wait_ends_cleanly),
	    cmocka_unit_test(test_session_ended_elsewhere),
	};
	return cmocka_run_group_tests_name("it_outage", tests, start_own, stop_own);
}
