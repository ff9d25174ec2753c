/* The login throttle's counters: limits, minute windows, take-backs, resets, eviction of
 * the counter with the fewest attempts, fixed memory, and the addresses counted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <sodium.h>

#include "throttle.h"

#define MINUTE 60000

static void test_limit_and_window(void **state)
{
	(void)state;
	struct throttle t;
	assert_int_equal(throttle_init(&t, 64, MINUTE), 0);
	uint64_t now = 1000000;
	for (unsigned i = 0; i < 3; i++) {
		assert_false(throttle_over(&t, "maria", 5, 3, now));
		throttle_add(&t, "maria", 5, now + i);
	}
	assert_true(throttle_over(&t, "maria", 5, 3, now + 10));
	assert_false(throttle_over(&t, "mario", 5, 3, now + 10)); /* another key */
	assert_true(throttle_over(&t, "maria", 5, 3, now + MINUTE - 1));
	assert_false(throttle_over(&t, "maria", 5, 3, now + MINUTE)); /* the window passed */
	throttle_add(&t, "maria", 5, now + MINUTE);                   /* a new window */
	assert_false(throttle_over(&t, "maria", 5, 2, now + MINUTE));
	assert_true(throttle_over(&t, "maria", 5, 1, now + MINUTE));
	throttle_free(&t);
	throttle_free(&t); /* idempotent */
}

static void test_remove_and_reset(void **state)
{
	(void)state;
	struct throttle t;
	assert_int_equal(throttle_init(&t, 64, MINUTE), 0);
	throttle_add(&t, "a", 1, 10);
	throttle_add(&t, "a", 1, 10);
	throttle_remove(&t, "a", 1, 20);
	assert_true(throttle_over(&t, "a", 1, 1, 20));
	assert_false(throttle_over(&t, "a", 1, 2, 20));
	throttle_remove(&t, "a", 1, 20);
	throttle_remove(&t, "a", 1, 20); /* never below zero */
	throttle_add(&t, "a", 1, 30);
	assert_true(throttle_over(&t, "a", 1, 1, 30));
	throttle_reset(&t, "a", 1);
	assert_false(throttle_over(&t, "a", 1, 1, 30));
	throttle_remove(&t, "nobody", 6, 30); /* unknown keys are fine */
	throttle_reset(&t, "nobody", 6);
	throttle_free(&t);
}

/* Many keys in a small table: memory stays fixed and a key with many attempts survives
 * the churn of keys with one attempt each. */
static void test_eviction_keeps_the_busiest(void **state)
{
	(void)state;
	struct throttle t;
	assert_int_equal(throttle_init(&t, 8, MINUTE), 0); /* one set of 8 */
	for (int i = 0; i < 5; i++)
		throttle_add(&t, "target", 6, 100);
	char key[32];
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(key, sizeof(key), "churn-%d", i);
		throttle_add(&t, key, (size_t)n, 100);
	}
	assert_true(throttle_over(&t, "target", 6, 5, 100));
	throttle_free(&t);
	assert_int_equal(throttle_init(&t, 12, MINUTE), -1); /* not a power of two */
	assert_int_equal(throttle_init(&t, 4, MINUTE), -1);  /* smaller than a set */
}

static void test_login_throttle(void **state)
{
	(void)state;
	struct login_throttle lt;
	assert_int_equal(login_throttle_init(&lt, 2, 3), 0);
	struct throttle_addr addr = {.len = 4, .bytes = {192, 0, 2, 7}};
	uint64_t now = 5000;
	assert_int_equal(login_throttle_begin(&lt, "maria", &addr, now), LOGIN_ALLOWED);
	assert_int_equal(login_throttle_begin(&lt, "maria", &addr, now), LOGIN_ALLOWED);
	assert_int_equal(login_throttle_begin(&lt, "maria", &addr, now), LOGIN_THROTTLED_USER);
	/* A success forgets the user's attempts and takes back its own from the address. */
	login_throttle_succeeded(&lt, "maria", &addr, now);
	assert_int_equal(login_throttle_begin(&lt, "maria", &addr, now), LOGIN_ALLOWED);
	assert_int_equal(login_throttle_begin(&lt, "pedro", &addr, now), LOGIN_ALLOWED);
	/* Three attempts on the address were not taken back: the next user is over. */
	assert_int_equal(login_throttle_begin(&lt, "jose", &addr, now), LOGIN_THROTTLED_ADDRESS);
	struct throttle_addr other = {.len = 4, .bytes = {192, 0, 2, 8}};
	assert_int_equal(login_throttle_begin(&lt, "jose", &other, now), LOGIN_ALLOWED);
	struct throttle_addr unknown = {0}; /* no address: only the user counts */
	assert_int_equal(login_throttle_begin(&lt, "ana", &unknown, now), LOGIN_ALLOWED);
	assert_int_equal(login_throttle_begin(&lt, "jose", &addr, now + MINUTE), LOGIN_ALLOWED);
	login_throttle_free(&lt);
}

static void test_addresses(void **state)
{
	(void)state;
	struct throttle_addr a, b;
	struct sockaddr_in v4 = {.sin_family = AF_INET};
	inet_pton(AF_INET, "198.51.100.9", &v4.sin_addr);
	throttle_addr_from((struct sockaddr *)&v4, &a);
	assert_int_equal(a.len, 4);
	assert_memory_equal(a.bytes, "\xc6\x33\x64\x09", 4);

	struct sockaddr_in6 mapped = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::ffff:198.51.100.9", &mapped.sin6_addr);
	throttle_addr_from((struct sockaddr *)&mapped, &b);
	assert_int_equal(b.len, 4);
	assert_memory_equal(a.bytes, b.bytes, 4);

	/* Two hosts of one /64 count as one. */
	struct sockaddr_in6 h1 = {.sin6_family = AF_INET6}, h2 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "2001:db8:1:2::1", &h1.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &h2.sin6_addr);
	throttle_addr_from((struct sockaddr *)&h1, &a);
	throttle_addr_from((struct sockaddr *)&h2, &b);
	assert_int_equal(a.len, 8);
	assert_memory_equal(&a, &b, sizeof(a));

	struct sockaddr unix_like = {.sa_family = AF_UNIX};
	throttle_addr_from(&unix_like, &a);
	assert_int_equal(a.len, 0);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limit_and_window),
	    cmocka_unit_test(test_remove_and_reset),
	    cmocka_unit_test(test_eviction_keeps_the_busiest),
	    cmocka_unit_test(test_login_throttle),
	    cmocka_unit_test(test_addresses),
	};
	return cmocka_run_group_tests_name("throttle", tests, NULL, NULL);
}
