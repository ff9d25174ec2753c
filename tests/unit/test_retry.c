/* libtulay's retry rules: the pause before each resend (exponential, capped, full jitter)
 * and which requests may be sent again after UNAVAILABLE. Both are pure functions: no
 * server is needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "libtulay.h"

/* The largest pause of each resend: random = UINT32_MAX is the top of the range. */
static void test_backoff_ceiling_doubles_to_the_cap(void **state)
{
	(void)state;
	assert_int_equal(tulay_backoff_ms(1, UINT32_MAX), 100);
	assert_int_equal(tulay_backoff_ms(2, UINT32_MAX), 200);
	assert_int_equal(tulay_backoff_ms(3, UINT32_MAX), 400);
	assert_int_equal(tulay_backoff_ms(4, UINT32_MAX), 800);
	assert_int_equal(tulay_backoff_ms(5, UINT32_MAX), 1600);
	assert_int_equal(tulay_backoff_ms(6, UINT32_MAX), TULAY_BACKOFF_CAP_MS);
	assert_int_equal(tulay_backoff_ms(7, UINT32_MAX), TULAY_BACKOFF_CAP_MS);
	/* Far past the cap nothing overflows into a short pause. */
	assert_int_equal(tulay_backoff_ms(64, UINT32_MAX), TULAY_BACKOFF_CAP_MS);
	assert_int_equal(tulay_backoff_ms(UINT32_MAX, UINT32_MAX), TULAY_BACKOFF_CAP_MS);
}

/* Full jitter: the pause is spread over the whole range from 0, not around the ceiling. */
static void test_backoff_full_jitter(void **state)
{
	(void)state;
	for (unsigned retry = 1; retry <= 10; retry++)
		assert_int_equal(tulay_backoff_ms(retry, 0), 0);
	assert_int_equal(tulay_backoff_ms(1, UINT32_MAX / 2), 50);
	assert_int_equal(tulay_backoff_ms(3, UINT32_MAX / 4), 100);
	assert_int_equal(tulay_backoff_ms(8, UINT32_MAX / 2), TULAY_BACKOFF_CAP_MS / 2);
	/* Monotonic in the random number, and within [0, ceiling] for every input. */
	for (unsigned retry = 1; retry <= 8; retry++) {
		unsigned ceiling = tulay_backoff_ms(retry, UINT32_MAX), last = 0;
		for (uint64_t r = 0; r <= UINT32_MAX; r += 0x01000193u) {
			unsigned pause = tulay_backoff_ms(retry, (uint32_t)r);
			assert_true(pause >= last);
			assert_true(pause <= ceiling);
			last = pause;
		}
	}
	/* Evenly spread: each tenth of the random range lands in its tenth of the pauses. */
	unsigned buckets[10] = {0};
	for (uint32_t i = 0; i < 10000; i++) {
		uint32_t r = (uint32_t)(((uint64_t)i * UINT32_MAX) / 9999);
		buckets[tulay_backoff_ms(6, r) * 10 / (TULAY_BACKOFF_CAP_MS + 1)]++;
	}
	for (size_t b = 0; b < 10; b++)
		assert_in_range(buckets[b], 990, 1010);
}

/* No pause before the first attempt; the same arguments give the same pause. */
static void test_backoff_edges(void **state)
{
	(void)state;
	assert_int_equal(tulay_backoff_ms(0, UINT32_MAX), 0);
	assert_int_equal(tulay_backoff_ms(0, 12345), 0);
	assert_int_equal(tulay_backoff_ms(4, 0x9e3779b9u), tulay_backoff_ms(4, 0x9e3779b9u));
}

static uint8_t key_bytes[TULAY_IDEMPOTENCY_KEY_BYTES] = {1, 2, 3};

/* Writes are retried only with their key: without one a resend could apply them twice. */
static void test_retryable_writes_need_their_key(void **state)
{
	(void)state;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__CreateClaim claim = TULAY__V1__CREATE_CLAIM__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	req.create_claim = &claim;
	assert_false(tulay_request_retryable(&req));
	claim.idempotency_key = (ProtobufCBinaryData){.len = sizeof(key_bytes), .data = key_bytes};
	assert_true(tulay_request_retryable(&req));

	Tulay__V1__ChangeClaimStatus status = TULAY__V1__CHANGE_CLAIM_STATUS__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CHANGE_CLAIM_STATUS;
	req.change_claim_status = &status;
	assert_false(tulay_request_retryable(&req));
	status.idempotency_key = claim.idempotency_key;
	assert_true(tulay_request_retryable(&req));

	Tulay__V1__SetExchangeRate rate = TULAY__V1__SET_EXCHANGE_RATE__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_SET_EXCHANGE_RATE;
	req.set_exchange_rate = &rate;
	rate.idempotency_key = claim.idempotency_key;
	assert_true(tulay_request_retryable(&req));
}

/* Writes the protocol gives no key are never retried; reads always are. */
static void test_retryable_reads_and_keyless_writes(void **state)
{
	(void)state;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	assert_false(tulay_request_retryable(&req)); /* no body */
	assert_false(tulay_request_retryable(NULL));

	Tulay__V1__Login login = TULAY__V1__LOGIN__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LOGIN;
	req.login = &login;
	assert_false(tulay_request_retryable(&req));
	Tulay__V1__Logout logout = TULAY__V1__LOGOUT__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LOGOUT;
	req.logout = &logout;
	assert_false(tulay_request_retryable(&req));
	Tulay__V1__EndMembership end = TULAY__V1__END_MEMBERSHIP__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_END_MEMBERSHIP;
	req.end_membership = &end;
	assert_false(tulay_request_retryable(&req));
	/* Membership decisions have no key, but the server answers a repeated one as the
	 * first: they are resent. */
	Tulay__V1__AcceptMembership accept = TULAY__V1__ACCEPT_MEMBERSHIP__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_ACCEPT_MEMBERSHIP;
	req.accept_membership = &accept;
	assert_true(tulay_request_retryable(&req));
	Tulay__V1__DeclineMembership decline = TULAY__V1__DECLINE_MEMBERSHIP__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_DECLINE_MEMBERSHIP;
	req.decline_membership = &decline;
	assert_true(tulay_request_retryable(&req));
	Tulay__V1__DisableUser disable = TULAY__V1__DISABLE_USER__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_DISABLE_USER;
	req.disable_user = &disable;
	assert_false(tulay_request_retryable(&req));
	Tulay__V1__ChangePassword passwd = TULAY__V1__CHANGE_PASSWORD__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CHANGE_PASSWORD;
	req.change_password = &passwd;
	assert_false(tulay_request_retryable(&req));

	Tulay__V1__GetClaim get = TULAY__V1__GET_CLAIM__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_CLAIM;
	req.get_claim = &get;
	assert_true(tulay_request_retryable(&req));
	Tulay__V1__ListCases list = TULAY__V1__LIST_CASES__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_CASES;
	req.list_cases = &list;
	assert_true(tulay_request_retryable(&req));
	Tulay__V1__GetReport report = TULAY__V1__GET_REPORT__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_REPORT;
	req.get_report = &report;
	assert_true(tulay_request_retryable(&req));
	Tulay__V1__Authenticate auth = TULAY__V1__AUTHENTICATE__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_AUTHENTICATE;
	req.authenticate = &auth;
	assert_true(tulay_request_retryable(&req));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_ceiling_doubles_to_the_cap),
	    cmocka_unit_test(test_backoff_full_jitter),
	    cmocka_unit_test(test_backoff_edges),
	    cmocka_unit_test(test_retryable_writes_need_their_key),
	    cmocka_unit_test(test_retryable_reads_and_keyless_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
