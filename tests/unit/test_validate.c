/* The server's boundary validators: each returns NULL for an acceptable value and a
 * sentence otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "money.h"
#include "validate.h"

static void test_country(void **state)
{
	(void)state;
	assert_null(validate_country("MY"));
	assert_null(validate_country("KH"));
	assert_non_null(validate_country(""));
	assert_non_null(validate_country(NULL));
	assert_non_null(validate_country("my"));
	assert_non_null(validate_country("XX"));
	assert_non_null(validate_country("MYS"));
	/* Required and unknown read differently. */
	assert_string_not_equal(validate_country(""), validate_country("XX"));
}

static void test_currency_and_amount(void **state)
{
	(void)state;
	assert_null(validate_currency("MYR"));
	assert_null(validate_currency("JPY"));
	assert_non_null(validate_currency("myr"));
	assert_non_null(validate_currency("XAU"));
	assert_non_null(validate_currency(""));
	assert_null(validate_amount(1));
	assert_null(validate_amount(MONEY_MAX_MINOR_UNITS));
	assert_non_null(validate_amount(0));
	assert_non_null(validate_amount(-1));
	assert_non_null(validate_amount(INT64_MIN));
	assert_non_null(validate_amount(MONEY_MAX_MINOR_UNITS + 1));
}

static void test_date(void **state)
{
	(void)state;
	struct civil_date d = {0, 0, 0};
	assert_null(validate_date("2024-02-29", &d));
	assert_int_equal(d.year, 2024);
	assert_int_equal(d.month, 2);
	assert_int_equal(d.day, 29);
	assert_non_null(validate_date("2025-02-29", &d));
	assert_non_null(validate_date("", &d));
	assert_non_null(validate_date("29/02/2024", &d));
	/* Untouched on failure. */
	assert_int_equal(d.day, 29);
}

/* Notes and reasons: tab and line feed allowed, every other control character refused, the
 * rest as validate_text(). */
static void test_free_text(void **state)
{
	(void)state;
	assert_null(validate_free_text("Met the worker.\n\tPassport held by the agent.", 1, 4000));
	assert_non_null(validate_text("Met the worker.\nPassport held.", 1, 4000));
	assert_non_null(validate_free_text("carriage\rreturn", 1, 4000));
	assert_non_null(validate_free_text("bell\x07", 1, 4000));
	assert_non_null(validate_free_text("del\x7f", 1, 4000));
	assert_non_null(validate_free_text("\xc2\x85", 1, 4000)); /* U+0085 */
	assert_non_null(validate_free_text("", 1, 4000));
	assert_non_null(validate_free_text("abcdef", 1, 5));
	assert_null(validate_free_text("a\nb", 3, 3)); /* the line feed counts */
	assert_string_equal(validate_free_text("x\x01", 1, 10),
			    "must not contain control characters other than tab and line feed");
}

static void test_text(void **state)
{
	(void)state;
	assert_null(validate_text("Syarikat Bina Jaya Sdn Bhd", 1, 200));
	assert_null(validate_text("Công ty TNHH Việt Nam", 1, 200)); /* UTF-8 */
	assert_null(validate_text("", 0, 10));
	assert_non_null(validate_text("", 1, 200));
	assert_non_null(validate_text(NULL, 1, 200));
	assert_non_null(validate_text("   ", 1, 200));
	assert_non_null(validate_text("tab\there", 1, 200));
	assert_non_null(validate_text("new\nline", 1, 200));
	assert_non_null(validate_text("\x7f", 1, 200));
	assert_non_null(validate_text("bad \xc3\x28 utf8", 1, 200));
	assert_non_null(validate_text("overlong \xc0\xaf", 1, 200));
	assert_non_null(validate_text("surrogate \xed\xa0\x80", 1, 200));
	assert_non_null(validate_text("truncated \xe2\x82", 1, 200));
	/* Length counts characters, not bytes: 200 two-byte characters are fine. */
	char s[402];
	for (int i = 0; i < 200; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[400] = '\0';
	assert_null(validate_text(s, 1, 200));
	s[400] = 'x';
	s[401] = '\0';
	assert_non_null(validate_text(s, 1, 200));
}

static void test_keys_and_names(void **state)
{
	(void)state;
	assert_null(validate_idempotency_key(16));
	assert_non_null(validate_idempotency_key(0));
	assert_non_null(validate_idempotency_key(15));
	assert_non_null(validate_idempotency_key(17));

	assert_null(validate_acronym("MFA"));
	assert_null(validate_acronym("TF-AMW"));
	assert_null(validate_acronym("ABCDEFGHIJKLMNOPQRST")); /* 20 */
	assert_non_null(validate_acronym("ABCDEFGHIJKLMNOPQRSTU"));
	assert_non_null(validate_acronym("M"));
	assert_non_null(validate_acronym("mfa"));
	assert_non_null(validate_acronym("M F A"));
	assert_non_null(validate_acronym(""));

	assert_null(validate_username("maria.santos"));
	assert_non_null(validate_username("Maria"));
	assert_non_null(validate_username("a"));
	assert_non_null(validate_username("semi;colon"));

	char out[8];
	assert_string_equal(validate_upper("tf-amw", out, sizeof(out)), "TF-AMW");
	assert_string_equal(validate_upper("abcdefghij", out, sizeof(out)), "ABCDEFG");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_country),   cmocka_unit_test(test_currency_and_amount),
	    cmocka_unit_test(test_date),      cmocka_unit_test(test_text),
	    cmocka_unit_test(test_free_text), cmocka_unit_test(test_keys_and_names),
	};
	return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
