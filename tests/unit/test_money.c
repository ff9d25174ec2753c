/* Unit tests of money parsing and formatting (proto/money.[ch]): integer minor units of an
 * ISO 4217 currency, never floating point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "money.h"

/* Stored in the out parameter before every parse: an error must leave it there. */
#define UNTOUCHED INT64_C(-777)

/* Parses `text` in `currency` and asserts the result and the out parameter (the amount on
 * MONEY_OK, UNTOUCHED otherwise). A macro so a failure names the caller's line. */
#define expect_parse(text, currency, want_err, want_minor)                                         \
	do {                                                                                       \
		int64_t minor_ = UNTOUCHED;                                                        \
		enum money_error err_ = money_parse((text), (currency), &minor_);                  \
		assert_int_equal(err_, (want_err));                                                \
		assert_int_equal(minor_, (want_err) == MONEY_OK ? (want_minor) : UNTOUCHED);       \
	} while (0)

#define expect_ok(text, currency, want_minor) expect_parse(text, currency, MONEY_OK, want_minor)
#define expect_err(text, currency, want_err)  expect_parse(text, currency, want_err, 0)

static void test_parse_two_decimal_currency(void **state)
{
	(void)state;
	expect_ok("45000.00", "MYR", 4500000);
	expect_ok("45000", "MYR", 4500000);
	expect_ok("45000.5", "MYR", 4500050);
	expect_ok("45000.05", "MYR", 4500005);
	expect_ok("0.01", "MYR", 1);
	expect_ok("0", "MYR", 0);
	expect_ok("12000.75", "THB", 1200075);
	expect_ok("250", "USD", 25000);
}

static void test_parse_zero_decimal_currency(void **state)
{
	(void)state;
	expect_ok("1500", "JPY", 1500);
	expect_err("1500.5", "JPY", MONEY_TOO_PRECISE);
	expect_err("1500.0", "JPY", MONEY_TOO_PRECISE);
	expect_ok("3200000", "VND", 3200000);
}

static void test_parse_three_decimal_currency(void **state)
{
	(void)state;
	expect_ok("1.234", "KWD", 1234);
	expect_ok("1.2", "KWD", 1200);
	expect_ok("1", "KWD", 1000);
	expect_err("1.2345", "KWD", MONEY_TOO_PRECISE);
}

static void test_parse_leading_zeros_are_not_size(void **state)
{
	(void)state;
	/* 40 characters, but a small value: the limit is on the amount, not the length. */
	expect_ok("0000000000000000000000000000000045000.00", "MYR", 4500000);
}

static void test_parse_empty(void **state)
{
	(void)state;
	expect_err("", "MYR", MONEY_EMPTY);
	expect_err(".", "MYR", MONEY_EMPTY);
	expect_err(NULL, "MYR", MONEY_EMPTY);
}

static void test_parse_negative(void **state)
{
	(void)state;
	expect_err("-5", "MYR", MONEY_NEGATIVE);
	expect_err("-0.01", "MYR", MONEY_NEGATIVE);
	expect_err("-", "MYR", MONEY_NEGATIVE);
}

static void test_parse_syntax(void **state)
{
	(void)state;
	expect_err("45,000.00", "MYR", MONEY_SYNTAX);
	expect_err("4 5", "MYR", MONEY_SYNTAX);
	expect_err("1.2.3", "MYR", MONEY_SYNTAX);
	expect_err("12abc", "MYR", MONEY_SYNTAX);
	expect_err("+5", "MYR", MONEY_SYNTAX);
	expect_err(" 45", "MYR", MONEY_SYNTAX);
	expect_err("45 ", "MYR", MONEY_SYNTAX);
	expect_err("RM45", "MYR", MONEY_SYNTAX);
	expect_err("1e3", "MYR", MONEY_SYNTAX);
	expect_err("4-5", "MYR", MONEY_SYNTAX);
}

static void test_parse_too_precise(void **state)
{
	(void)state;
	expect_err("1.001", "MYR", MONEY_TOO_PRECISE);
	/* Trailing zeros are still decimals the currency does not have. */
	expect_err("1.000", "MYR", MONEY_TOO_PRECISE);
}

/* MONEY_MAX_MINOR_UNITS (10^15) is accepted, one minor unit more is not, however the
 * amount is written. */
static void test_parse_limit(void **state)
{
	(void)state;
	assert_int_equal(MONEY_MAX_MINOR_UNITS, INT64_C(1000000000000000));

	expect_ok("10000000000000.00", "MYR", MONEY_MAX_MINOR_UNITS);
	expect_ok("10000000000000", "MYR", MONEY_MAX_MINOR_UNITS);
	expect_ok("9999999999999.99", "MYR", MONEY_MAX_MINOR_UNITS - 1);
	expect_err("10000000000000.01", "MYR", MONEY_TOO_LARGE);
	expect_err("10000000000000.1", "MYR", MONEY_TOO_LARGE); /* too large only once scaled */
	expect_err("10000000000001", "MYR", MONEY_TOO_LARGE);

	expect_ok("1000000000000000", "JPY", MONEY_MAX_MINOR_UNITS);
	expect_err("1000000000000001", "JPY", MONEY_TOO_LARGE);

	expect_ok("1000000000000.000", "KWD", MONEY_MAX_MINOR_UNITS);
	expect_err("1000000000000.001", "KWD", MONEY_TOO_LARGE);
}

/* Digits past int64 are refused, not wrapped (UBSan would flag an overflow here). */
static void test_parse_huge_does_not_overflow(void **state)
{
	(void)state;
	expect_err("1234567890123456789012345678901234567890", "MYR", MONEY_TOO_LARGE);
	expect_err("9223372036854775807", "JPY", MONEY_TOO_LARGE);  /* INT64_MAX */
	expect_err("9223372036854775808", "JPY", MONEY_TOO_LARGE);  /* INT64_MAX + 1 */
	expect_err("18446744073709551616", "JPY", MONEY_TOO_LARGE); /* 2^64 */
	expect_err("92233720368547758.07", "MYR", MONEY_TOO_LARGE);
}

static void test_parse_unknown_currency(void **state)
{
	(void)state;
	expect_err("10", "XYZ", MONEY_UNKNOWN_CURRENCY);
	expect_err("10", "myr", MONEY_UNKNOWN_CURRENCY);
	expect_err("10", "MY", MONEY_UNKNOWN_CURRENCY);
	expect_err("10", "MYRR", MONEY_UNKNOWN_CURRENCY);
	expect_err("10", "", MONEY_UNKNOWN_CURRENCY);
	expect_err("10", NULL, MONEY_UNKNOWN_CURRENCY);
	expect_err("10", "XAU", MONEY_UNKNOWN_CURRENCY); /* gold is not a wage */
}

/* Formats `minor` in `currency` into a roomy buffer and asserts text and length. */
#define expect_format(minor, currency, want)                                                       \
	do {                                                                                       \
		char buf_[64];                                                                     \
		memset(buf_, 'Z', sizeof(buf_));                                                   \
		int n_ = money_format((minor), (currency), buf_, sizeof(buf_));                    \
		assert_int_equal(n_, (int)strlen(want));                                           \
		assert_string_equal(buf_, (want));                                                 \
	} while (0)

static void test_format(void **state)
{
	(void)state;
	expect_format(4500000, "MYR", "45000.00");
	expect_format(4500050, "MYR", "45000.50");
	expect_format(1500, "JPY", "1500");
	expect_format(1234, "KWD", "1.234");
	expect_format(1, "KWD", "0.001");
	expect_format(5, "MYR", "0.05");
	expect_format(0, "MYR", "0.00");
	expect_format(0, "JPY", "0");
	expect_format(-4500000, "MYR", "-45000.00");
	expect_format(-5, "MYR", "-0.05");
	expect_format(-1500, "JPY", "-1500");
	expect_format(INT64_MAX, "MYR", "92233720368547758.07");
	expect_format(INT64_MIN, "MYR", "-92233720368547758.08");
	expect_format(INT64_MIN, "JPY", "-9223372036854775808");
	expect_format(INT64_MIN, "KWD", "-9223372036854775.808");
}

static void test_format_buffer_too_small(void **state)
{
	(void)state;
	char buf[16];

	/* "45000.00" is 8 characters: it needs 9 bytes with the NUL. */
	assert_int_equal(money_format(4500000, "MYR", buf, 9), 8);
	assert_string_equal(buf, "45000.00");
	assert_int_equal(money_format(4500000, "MYR", buf, 8), -1);
	assert_int_equal(money_format(4500000, "MYR", buf, 1), -1);
	assert_int_equal(money_format(4500000, "MYR", NULL, 0), -1);
	assert_int_equal(money_format(1500, "JPY", buf, 4), -1);
	assert_int_equal(money_format(1500, "JPY", buf, 5), 4);
	assert_string_equal(buf, "1500");
}

static void test_format_unknown_currency(void **state)
{
	(void)state;
	char buf[32] = "unchanged";
	assert_int_equal(money_format(100, "XYZ", buf, sizeof(buf)), -1);
	assert_int_equal(money_format(100, "myr", buf, sizeof(buf)), -1);
	assert_int_equal(money_format(100, NULL, buf, sizeof(buf)), -1);
	assert_string_equal(buf, "unchanged");
}

/* What the server sends back is printed as text the client can parse into the same
 * amount. */
static void test_format_parse_round_trip(void **state)
{
	(void)state;
	static const struct {
		int64_t minor;
		const char *currency;
	} cases[] = {
	    {0, "MYR"},
	    {1, "MYR"},
	    {99, "MYR"},
	    {100, "MYR"},
	    {4500050, "PHP"},
	    {1500, "JPY"},
	    {7, "KWD"},
	    {1234567, "KWD"},
	    {MONEY_MAX_MINOR_UNITS, "MYR"},
	    {MONEY_MAX_MINOR_UNITS, "JPY"},
	    {MONEY_MAX_MINOR_UNITS, "KWD"},
	    {MONEY_MAX_MINOR_UNITS - 1, "USD"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		assert_true(money_format(cases[i].minor, cases[i].currency, buf, sizeof(buf)) > 0);
		int64_t back = UNTOUCHED;
		assert_int_equal(money_parse(buf, cases[i].currency, &back), MONEY_OK);
		assert_int_equal(back, cases[i].minor);
	}
}

static void test_error_text(void **state)
{
	(void)state;
	static const enum money_error all[] = {
	    MONEY_OK,          MONEY_EMPTY,     MONEY_SYNTAX,           MONEY_NEGATIVE,
	    MONEY_TOO_PRECISE, MONEY_TOO_LARGE, MONEY_UNKNOWN_CURRENCY,
	};
	const size_t n = sizeof(all) / sizeof(all[0]);
	for (size_t i = 0; i < n; i++) {
		const char *text = money_error_text(all[i]);
		assert_non_null(text);
		assert_true(strlen(text) > 0);
		/* Each error reads differently: none falls through to a generic text. */
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(text, money_error_text(all[j]));
	}
	const char *other = money_error_text((enum money_error)99);
	assert_non_null(other);
	assert_true(strlen(other) > 0);
}

/* money_convert gives what PostgreSQL's round(minor::numeric * factor::numeric) gives
 * (each expected figure below was computed by PostgreSQL 15). */
static void test_convert_matches_postgres(void **state)
{
	(void)state;
	static const struct {
		int64_t minor;
		const char *factor;
		int64_t want;
	} cases[] = {
	    {12345, "0.2135", 2636},
	    {5, "0.5", 3},   /* half away from zero */
	    {-5, "0.5", -3}, /* and below zero too */
	    {15, "0.1", 2},
	    {25, "0.1", 3},
	    {4500000, "0.000021350000000000", 96},
	    {4500000, "0.0213500000000000", 96075},
	    {1, "0.4999999999999999", 0},
	    {INT64_C(9000000000000000000), "1", INT64_C(9000000000000000000)},
	    {0, "7", 0},
	    {7, "0", 0},
	    {333, "3.000000000000", 999},
	    {100, "12", 1200},
	    /* numeric(24,12) times 10^-2: 28 decimals, trailing zeros */
	    {400, "0.0025000000000000000000000000", 1},
	    {INT64_MAX, "0.999999999999999999", INT64_C(9223372036854775798)},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t out = UNTOUCHED;
		assert_true(money_convert(cases[i].minor, cases[i].factor, &out));
		assert_int_equal(out, cases[i].want);
	}
}

static void test_convert_refuses(void **state)
{
	(void)state;
	static const char *const bad[] = {"",
					  ".",
					  "1.2.3",
					  "-1",
					  "1e3",
					  "0x10",
					  " 1",
					  "1 ",
					  "1234567890123456789",
					  "0.1234567890123456789"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t out = UNTOUCHED;
		assert_false(money_convert(100, bad[i], &out));
		assert_int_equal(out, UNTOUCHED);
	}
	/* 10^15 * 123456.789... is 1.2e20: more than int64 holds. */
	int64_t out = UNTOUCHED;
	assert_false(money_convert(INT64_C(1000000000000000), "123456.789012345678", &out));
	assert_false(money_convert(INT64_MAX, "1.5", &out));
	assert_int_equal(out, UNTOUCHED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_convert_matches_postgres),
	    cmocka_unit_test(test_convert_refuses),
	    cmocka_unit_test(test_parse_two_decimal_currency),
	    cmocka_unit_test(test_parse_zero_decimal_currency),
	    cmocka_unit_test(test_parse_three_decimal_currency),
	    cmocka_unit_test(test_parse_leading_zeros_are_not_size),
	    cmocka_unit_test(test_parse_empty),
	    cmocka_unit_test(test_parse_negative),
	    cmocka_unit_test(test_parse_syntax),
	    cmocka_unit_test(test_parse_too_precise),
	    cmocka_unit_test(test_parse_limit),
	    cmocka_unit_test(test_parse_huge_does_not_overflow),
	    cmocka_unit_test(test_parse_unknown_currency),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_format_buffer_too_small),
	    cmocka_unit_test(test_format_unknown_currency),
	    cmocka_unit_test(test_format_parse_round_trip),
	    cmocka_unit_test(test_error_text),
	};
	return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
