/* SIGTERM drains without dropping (issue 14): tulayd stops accepting, finishes the requests
 * in flight (a Login, held in flight by this test's lock on the users table until the test
 * lets it go), keeps reading, answers every request read after the signal UNAVAILABLE under
 * its id (nothing of it done), tells each connection to go with a GoAway (Response id 0,
 * UNAVAILABLE) once nothing of it is in flight, closes each when its client does or once
 * it stays quiet, and exits 0 as soon as every connection is gone, long before the drain
 * deadline. A second signal during a drain exits at once. Runs its own tulayd on the
 * harness's database. */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_support.h"

#define SHUTTING_DOWN "the server is shutting down"

/* Starts a tulayd (drain deadline `drain_timeout_ms`) and leaves a Login (id) in flight on
 * a connection of its own: it waits for the users table, which this test holds until
 * it_unlock_table("users"). Returns the connection once the Login waits. */
static int login_in_flight(struct it_tulayd *d, const char *drain_timeout_ms, uint64_t id)
{
	const char *args[] = {"--db-connections", "1", "--drain-timeout-ms", drain_timeout_ms,
			      NULL};
	it_tulayd_start(d, "it_drain", args);
	setenv("TULAY_SERVER", d->server, 1);
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_lock_table("users", "60");
	it_raw_send_login(fd, id, "officer");
	it_await_lock_waiter("users");
	return fd;
}

/* Reads the next response: it must have `id` and `code`. */
static void expect_answer(int fd, uint64_t id, Tulay__V1__Code code)
{
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	if (resp->id != id || resp->status->code != code)
		fail_msg("expected id %llu code %d, got id %llu code %d: %s",
			 (unsigned long long)id, (int)code, (unsigned long long)resp->id,
			 (int)resp->status->code, resp->status->message);
	if (code == TULAY__V1__CODE__UNAVAILABLE) {
		assert_non_null(strstr(resp->status->message, SHUTTING_DOWN));
		assert_false(resp->status->outcome_unknown);
	}
	tulay__v1__response__free_unpacked(resp, NULL);
}

/* The GoAway: Response id 0, UNAVAILABLE, "the server is shutting down ...". */
static void expect_goaway(int fd)
{
	expect_answer(fd, 0, TULAY__V1__CODE__UNAVAILABLE);
}

/* The answer to request `id` (UNAVAILABLE) and the GoAway, in either order. */
static void expect_answers_and_goaway(int fd, uint64_t id)
{
	bool answered = false, told = false;
	for (int i = 0; i < 2; i++) {
		Tulay__V1__Response *resp = it_raw_recv(fd);
		assert_non_null(resp);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__UNAVAILABLE);
		assert_non_null(strstr(resp->status->message, SHUTTING_DOWN));
		if (resp->id == 0)
			told = true;
		else if (resp->id == id)
			answered = true;
		else
			fail_msg("an answer to id %llu", (unsigned long long)resp->id);
		tulay__v1__response__free_unpacked(resp, NULL);
	}
	assert_true(answered && told);
}

/* Waits for tulayd to exit; true if its log has `needle`. Its wait status in *status. */
static bool finish(struct it_tulayd *d, const char *needle, int *status)
{
	assert_int_equal(waitpid(d->pid, status, 0), d->pid);
	d->pid = 0;
	return it_file_has_within(d->log, needle, 0);
}

static void test_sigterm_finishes_the_request_in_flight(void **state)
{
	(void)state;
	struct it_tulayd d;
	int fd = login_in_flight(&d, "10000", 77);
	assert_int_equal(kill(d.pid, SIGTERM), 0);
	assert_true(it_file_has_within(d.log, "event=draining", 30000));
	it_unlock_table("users");

	expect_answer(fd, 77, TULAY__V1__CODE__OK);
	/* Then, with nothing in flight, the GoAway; the client stays, quiet: closed. */
	expect_goaway(fd);
	assert_true(it_raw_closed(fd));
	close(fd);

	int status;
	assert_true(finish(&d, "event=stopped clean=1", &status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(it_file_has_within(d.log, "reason=drained", 0));
}

/* How many cases the idempotency key `hex` (32 hex digits) names. */
static int cases_with_key(const char *hex)
{
	char sql[160], line[32];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM cases WHERE idempotency_key = '\\x%s'",
		 hex);
	it_psql(sql, line, sizeof(line), false);
	return atoi(line);
}

static void test_requests_after_the_signal_are_answered(void **state)
{
	(void)state;
	struct it_tulayd d;
	/* A deadline far off: the drain must end because the clients went, not because of it. */
	int busy = login_in_flight(&d, "60000", 80);
	/* Behind the Login, before the signal: read after it, so refused. */
	IT_REQUEST(list);
	Tulay__V1__ListOrganisations orgs = TULAY__V1__LIST_ORGANISATIONS__INIT;
	list.id = 81;
	list.body_case = TULAY__V1__REQUEST__BODY_LIST_ORGANISATIONS;
	list.list_organisations = &orgs;
	assert_int_equal(it_raw_send(busy, &list), 0);
	int idle = it_raw_connect();
	it_raw_hello(idle);

	double signalled = it_now();
	assert_int_equal(kill(d.pid, SIGTERM), 0);
	/* The idle connection is told at once, and still answered under its ids. */
	expect_goaway(idle);
	it_raw_send_hello(idle);
	expect_answer(idle, 1, TULAY__V1__CODE__UNAVAILABLE);

	it_unlock_table("users");
	expect_answer(busy, 80, TULAY__V1__CODE__OK); /* in flight at the signal: finished */
	/* 81 waited in the socket behind the Login: tulayd may send the GoAway before it
	 * reads it, and answers it either way. */
	expect_answers_and_goaway(busy, 81);
	/* A write sent after the signal, on a logged-in connection: refused, not done. */
	static const uint8_t key[16] = {0xd2, 0xa1, 0x17, 0x50, 1, 2,  3,  4,
					5,    6,    7,    8,    9, 10, 11, 12};
	struct it_claim claim;
	it_claim_init(&claim, key, &(struct it_claim_spec){.employer = "Drain Test Employer"});
	claim.req.id = 82;
	assert_int_equal(it_raw_send(busy, &claim.req), 0);
	expect_answer(busy, 82, TULAY__V1__CODE__UNAVAILABLE);
	assert_int_equal(cases_with_key("d2a11750010203040506070809"
					"0a0b0c"),
			 0);

	/* The clients go; tulayd exits then, not at its 60 s deadline. */
	close(busy);
	close(idle);
	int status;
	assert_true(finish(&d, "event=stopped clean=1", &status));
	double took = it_now() - signalled;
	printf("# tulayd exited %.1f s after SIGTERM (drain deadline 60 s)\n", took);
	assert_true(took < 30);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_false(it_file_has_within(d.log, "event=drain_timeout", 0));
}

static void test_second_signal_exits_at_once(void **state)
{
	(void)state;
	struct it_tulayd d;
	int fd = login_in_flight(&d, "60000", 78);
	/* Both signals land while the Login still waits: the first starts the drain, the
	 * second ends the process without waiting for it. */
	assert_int_equal(kill(d.pid, SIGTERM), 0);
	assert_int_equal(kill(d.pid, SIGINT), 0);
	int status;
	bool second = finish(&d, "event=second_signal", &status);
	it_unlock_table("users");
	assert_true(second);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	close(fd);
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sigterm_finishes_the_request_in_flight),
	    cmocka_unit_test(test_requests_after_the_signal_are_answered),
	    cmocka_unit_test(test_second_signal_exits_at_once),
	};
	return cmocka_run_group_tests_name("it_drain", tests, NULL, NULL);
}
