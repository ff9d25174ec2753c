/* Connection slots strangers cannot take (issue 14, point 3). Against a tulayd of its own
 * with --max-connections 200 and --max-unauthenticated-per-address 16 (so at most 100
 * strangers in all): a flood of 300 connections that never send Hello, each reconnected as
 * soon as the server closes it, while 40 clients connect and log in one after another.
 * Before, the flood held every slot until the 30 s login deadline and the 40 were refused;
 * now the oldest silent strangers are closed to make room. From one address (the
 * clients' own) and from 30 addresses (10 each: under the cap per address, over the one in
 * all):
 *  - all 40 log in and are answered;
 *  - users logged in before the flood keep their connections and are answered;
 *  - the server holds at most 16 (one address) or 100 (in all) of the flood's connections;
 *  - it logs each one it closed and why (event=conn_evicted reason=... silent=1), and a
 *    warning at most once a second with how many (event=strangers_closed). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_concurrent.h"
#include "it_support.h"
#include "libtulay.h"

#define FLOOD_MAX 4000
#define PER_ADDR  16
#define LEGIT     40
#define USERS     3

/* The flood and --max-connections: 300 and 200 by default; IT_STRANGERS_FLOOD and
 * IT_STRANGERS_MAX_CONNECTIONS give the issue's own figures (1,100 and 1,000) by hand. */
static int flood_size = 300;
static int max_connections = 200;
#define FLOOD flood_size
#define TOTAL (max_connections / 2) /* the cap on strangers in all */

static struct it_tulayd tulayd;

struct flood {
	int sources; /* 1: all from 127.0.0.1; more: from 127.0.1.1 on, in turn */
	int fds[FLOOD_MAX];
	atomic_bool stop;
	atomic_long opened;
	atomic_int failed; /* connects that failed (the test cannot go on without them) */
};

/* True when the server has closed fd (EOF or reset), without waiting. */
static bool closed_now(int fd)
{
	char byte;
	ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* A connection to our tulayd that says nothing (no assertion: a thread of its own). */
static int silent_connect(struct flood *f, int i)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)tulayd.port)};
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	struct sockaddr_in from = {.sin_family = AF_INET};
	from.sin_addr.s_addr = htonl(0x7f000101u + (uint32_t)(i % f->sources));
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 && (f->sources == 1 || bind(fd, (struct sockaddr *)&from, sizeof(from)) == 0) &&
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		f->opened++;
		return fd;
	}
	if (fd >= 0)
		close(fd);
	f->failed++;
	return -1;
}

/* Opens FLOOD silent connections, and opens each again as soon as the server closes it,
 * until told to stop. */
static void *flood_run(void *arg)
{
	struct flood *f = arg;
	for (int i = 0; i < FLOOD; i++)
		f->fds[i] = silent_connect(f, i);
	while (!f->stop) {
		for (int i = 0; i < FLOOD && !f->stop; i++) {
			if (f->fds[i] >= 0 && !closed_now(f->fds[i]))
				continue;
			if (f->fds[i] >= 0)
				close(f->fds[i]);
			f->fds[i] = silent_connect(f, i);
		}
		it_sleep_ms(10); /* "at once": a sweep every 10 ms */
	}
	return NULL;
}

static Tulay__V1__Code list_claims(struct tulay_client *c)
{
	Tulay__V1__ListClaims q = TULAY__V1__LIST_CLAIMS__INIT;
	q.limit = 1;
	Tulay__V1__Response *resp = NULL;
	if (tulay_list_claims(c, &q, &resp) != 0)
		return (Tulay__V1__Code)-1;
	Tulay__V1__Code code = resp->status->code;
	tulay_response_free(resp);
	return code;
}

/* Floods from `sources` addresses while LEGIT clients log in; returns how many of the
 * flood's connections the server still held at the end. Users logged in before keep
 * being answered; no client is refused. */
static int flood_while_logging_in(int sources)
{
	struct tulay_client *users[USERS];
	for (int i = 0; i < USERS; i++) {
		users[i] = it_login_try("officer");
		assert_non_null(users[i]);
	}

	static struct flood f;
	memset(&f, 0, sizeof(f));
	f.sources = sources;
	pthread_t flooder;
	assert_int_equal(pthread_create(&flooder, NULL, flood_run, &f), 0);
	while (f.opened + f.failed < FLOOD)
		it_sleep_ms(10);

	int refused = 0;
	for (int i = 0; i < LEGIT; i++) {
		struct tulay_client *c = it_login_try("officer");
		if (c == NULL || list_claims(c) != TULAY__V1__CODE__OK) {
			refused++;
			printf("# client %d: %s\n", i, tulay_last_error(c));
		}
		tulay_close(c);
	}
	f.stop = true;
	assert_int_equal(pthread_join(flooder, NULL), 0);
	printf("# %d of %d clients refused under a flood of %d silent connections from %d "
	       "address(es) (%ld opened in all, %d failed to connect)\n",
	       refused, LEGIT, FLOOD, sources, (long)f.opened, (int)f.failed);

	/* What the server still holds of the flood: closed ones are seen at once on loopback. */
	it_sleep_ms(200);
	int held = 0;
	for (int i = 0; i < FLOOD; i++) {
		if (f.fds[i] < 0)
			continue;
		held += !closed_now(f.fds[i]);
		close(f.fds[i]);
	}
	printf("# the server held %d of the flood's connections at the end\n", held);

	for (int i = 0; i < USERS; i++) {
		assert_int_equal(list_claims(users[i]), TULAY__V1__CODE__OK);
		tulay_close(users[i]);
	}
	assert_int_equal(f.failed, 0);
	assert_int_equal(refused, 0);
	assert_true(f.opened > FLOOD); /* the server did close some, and they came back */
	return held;
}

static void test_strangers_from_one_address(void **state)
{
	(void)state;
	assert_true(flood_while_logging_in(1) <= PER_ADDR);
	assert_true(
	    it_file_has_within(tulayd.log, "reason=unauthenticated_per_address silent=1", 0));
	assert_true(it_file_has_within(tulayd.log, "event=strangers_closed", 0));
}

/* From FLOOD / 10 addresses (30), 10 each: under the cap per address, over the one in all
 * (half of --max-connections: 100). */
static void test_strangers_from_many_addresses(void **state)
{
	(void)state;
	assert_true(flood_while_logging_in(FLOOD / 10) <= TOTAL);
	assert_true(it_file_has_within(tulayd.log, "reason=unauthenticated_total silent=1", 0));
}

static int start(void **state)
{
	(void)state;
	const char *flood = getenv("IT_STRANGERS_FLOOD");
	const char *max = getenv("IT_STRANGERS_MAX_CONNECTIONS");
	if (flood != NULL && atoi(flood) > 0 && atoi(flood) <= FLOOD_MAX)
		flood_size = atoi(flood);
	if (max != NULL && atoi(max) > 0)
		max_connections = atoi(max);
	char max_text[16];
	snprintf(max_text, sizeof(max_text), "%d", max_connections);
	const char *args[] = {"--db-connections",
			      "2",
			      "--max-connections",
			      max_text,
			      "--max-unauthenticated-per-address",
			      "16",
			      IT_TULAYD_NO_CHORES,
			      NULL};
	it_tulayd_start(&tulayd, "it_strangers", args);
	setenv("TULAY_SERVER", tulayd.server, 1);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	return it_tulayd_stop(&tulayd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strangers_from_one_address),
	    cmocka_unit_test(test_strangers_from_many_addresses),
	};
	return cmocka_run_group_tests_name("it_strangers", tests, start, stop);
}
