/* SIGTERM with a request in flight: tulayd stops accepting, finishes the request (a Login,
 * held in flight by this test's lock on the users table until the test lets it go), sends
 * its response, closes every handle and exits 0. A second signal during a drain exits at
 * once. Runs its own tulayd on the harness's database. */
#include <errno.h>
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

struct child {
	pid_t pid;
	FILE *log; /* tulayd's stderr */
	char server[32];
};

/* Starts tulayd on a free port and waits until it listens and has a database connection. */
static void start_tulayd(struct child *ch, unsigned drain_timeout_ms)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	char drain[16];
	snprintf(drain, sizeof(drain), "%u", drain_timeout_ms);
	ch->pid = fork();
	assert_true(ch->pid >= 0);
	if (ch->pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(it_env("TULAYD"), "tulayd", "--port", "0", "--db", it_env("TULAY_TEST_DB"),
		      "--db-connections", "1", "--drain-timeout-ms", drain, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	ch->log = fdopen(fds[0], "r");
	char line[1024];
	bool ready = false;
	ch->server[0] = '\0';
	while (!ready && fgets(line, sizeof(line), ch->log) != NULL) {
		const char *port = strstr(line, "event=listening");
		if (port != NULL && (port = strstr(line, " port=")) != NULL)
			snprintf(ch->server, sizeof(ch->server), "127.0.0.1:%d", atoi(port + 6));
		ready = ch->server[0] != '\0' && strstr(line, "event=db_conn_ready") != NULL;
	}
	assert_true(ready);
}

/* Reads the rest of the log; returns true if it contains `needle`. Then reaps the child
 * and returns its exit status through *status. */
static bool finish(struct child *ch, const char *needle, int *status)
{
	char line[1024];
	bool found = false;
	while (fgets(line, sizeof(line), ch->log) != NULL)
		found |= strstr(line, needle) != NULL;
	fclose(ch->log);
	assert_int_equal(waitpid(ch->pid, status, 0), ch->pid);
	return found;
}

/* Starts a tulayd and leaves a Login (id) in flight: it waits for the users table, which
 * this test holds until it_unlock_table("users"). Returns the fd once the Login waits. */
static int login_in_flight(struct child *ch, unsigned drain_timeout_ms, uint64_t id)
{
	start_tulayd(ch, drain_timeout_ms);
	setenv("TULAY_SERVER", ch->server, 1);
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_lock_table("users", "60");
	it_raw_send_login(fd, id, "officer");
	char waiting[32] = "0";
	for (int i = 0; i < 1000 && atoi(waiting) == 0; i++) {
		it_psql("SELECT count(*) FROM pg_locks WHERE relation = 'users'::regclass "
			"AND NOT granted",
			waiting, sizeof(waiting), false);
		if (atoi(waiting) == 0)
			usleep(10 * 1000);
	}
	assert_int_not_equal(atoi(waiting), 0);
	return fd;
}

static void test_sigterm_finishes_the_request_in_flight(void **state)
{
	(void)state;
	struct child ch;
	int fd = login_in_flight(&ch, 10000, 77);
	assert_int_equal(kill(ch.pid, SIGTERM), 0);
	it_unlock_table("users");

	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	assert_int_equal(resp->id, 77);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	tulay__v1__response__free_unpacked(resp, NULL);
	assert_true(it_raw_closed(fd));
	close(fd);

	int status;
	assert_true(finish(&ch, "event=stopped clean=1", &status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_second_signal_exits_at_once(void **state)
{
	(void)state;
	struct child ch;
	int fd = login_in_flight(&ch, 60000, 78);
	/* Both signals land while the Login still waits: the first starts the drain, the
	 * second ends the process without waiting for it. */
	assert_int_equal(kill(ch.pid, SIGTERM), 0);
	assert_int_equal(kill(ch.pid, SIGINT), 0);
	int status;
	bool second = finish(&ch, "event=second_signal", &status);
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
	    cmocka_unit_test(test_second_signal_exits_at_once),
	};
	return cmocka_run_group_tests_name("it_drain", tests, NULL, NULL);
}
