/* Unit tests of calendar dates (proto/civil_date.[ch]): exactly "YYYY-MM-DD", a real day,
 * between CIVIL_DATE_MIN_YEAR and CIVIL_DATE_MAX_YEAR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "civil_date.h"

/* Parses `text` and asserts that it is the date y-m-d. */
#define expect_date(text, y, m, d)                                                                 \
	do {                                                                                       \
		struct civil_date got_ = {.year = -1, .month = -1, .day = -1};                     \
		assert_true(civil_date_parse((text), &got_));                                      \
		assert_int_equal(got_.year, (y));                                                  \
		assert_int_equal(got_.month, (m));                                                 \
		assert_int_equal(got_.day, (d));                                                   \
	} while (0)

/* Parses `text`, asserts that it is refused and that the out parameter is untouched. */
#define expect_invalid(text)                                                                       \
	do {                                                                                       \
		struct civil_date got_ = {.year = -1, .month = -2, .day = -3};                     \
		assert_false(civil_date_parse((text), &got_));                                     \
		assert_int_equal(got_.year, -1);                                                   \
		assert_int_equal(got_.month, -2);                                                  \
		assert_int_equal(got_.day, -3);                                                    \
	} while (0)

static void test_valid_dates(void **state)
{
	(void)state;
	expect_date("2025-01-01", 2025, 1, 1);
	expect_date("2025-12-31", 2025, 12, 31);
	expect_date("2024-06-15", 2024, 6, 15);
	expect_date("2025-04-30", 2025, 4, 30);
	expect_date("2025-01-31", 2025, 1, 31);
	expect_date("2025-02-28", 2025, 2, 28);
	expect_date("2026-03-07", 2026, 3, 7);
}

/* Every month's last day is valid and the day after it is not. */
static void test_month_lengths(void **state)
{
	(void)state;
	static const char *last_days[] = {"2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30",
					  "2025-05-31", "2025-06-30", "2025-07-31", "2025-08-31",
					  "2025-09-30", "2025-10-31", "2025-11-30", "2025-12-31"};
	static const char *day_after[] = {"2025-01-32", "2025-02-29", "2025-03-32", "2025-04-31",
					  "2025-05-32", "2025-06-31", "2025-07-32", "2025-08-32",
					  "2025-09-31", "2025-10-32", "2025-11-31", "2025-12-32"};
	for (int i = 0; i < 12; i++) {
		struct civil_date d = {0, 0, 0};
		assert_true(civil_date_parse(last_days[i], &d));
		assert_int_equal(d.month, i + 1);
		expect_invalid(day_after[i]);
	}
}

static void test_leap_years(void **state)
{
	(void)state;
	/* 2000 is in range: divisible by 400, so a leap year despite being a century. */
	assert_true(CIVIL_DATE_MIN_YEAR <= 2000 && 2000 <= CIVIL_DATE_MAX_YEAR);
	expect_date("2024-02-29", 2024, 2, 29);
	expect_date("2000-02-29", 2000, 2, 29);
	expect_date("1952-02-29", 1952, 2, 29);
	expect_invalid("2023-02-29");
	expect_invalid("2025-02-29");
	expect_invalid("2024-02-30");
	/* 2100 is in range: a century not divisible by 400 is not a leap year. */
	assert_true(CIVIL_DATE_MIN_YEAR <= 2100 && 2100 <= CIVIL_DATE_MAX_YEAR);
	expect_date("2100-02-28", 2100, 2, 28);
	expect_invalid("2100-02-29");
	/* 1900 is not a leap year, and out of range anyway. */
	expect_invalid("1900-02-29");
}

static void test_month_and_day_out_of_range(void **state)
{
	(void)state;
	expect_invalid("2025-00-10");
	expect_invalid("2025-13-10");
	expect_invalid("2025-99-10");
	expect_invalid("2025-01-00");
	expect_invalid("2025-01-32");
	expect_invalid("2025-04-31");
	expect_invalid("2025-00-00");
}

static void test_wrong_shapes(void **state)
{
	(void)state;
	expect_invalid("2025-1-01");
	expect_invalid("2025-01-1");
	expect_invalid("2025/01/01");
	expect_invalid("2025-01/01"); /* each separator is checked */
	expect_invalid("2025/01-01");
	expect_invalid("2025.01.01");
	expect_invalid("20250101");
	expect_invalid("01-01-2025");
	expect_invalid("2025-01-01x");
	expect_invalid("2025-01-01 ");
	expect_invalid(" 2025-01-01");
	expect_invalid("2025-01-01T00:00:00Z");
	expect_invalid("2025-01-0a");
	expect_invalid("202a-01-01");
	expect_invalid("2025--1-01"); /* right length, a sign where a digit belongs */
	expect_invalid("+025-01-01");
	expect_invalid("2025-0 -01");
	expect_invalid("");
	expect_invalid(NULL);
}

static void test_year_range(void **state)
{
	(void)state;
	assert_int_equal(CIVIL_DATE_MIN_YEAR, 1950);
	assert_int_equal(CIVIL_DATE_MAX_YEAR, 2100);
	expect_date("1950-01-01", 1950, 1, 1);
	expect_date("2100-12-31", 2100, 12, 31);
	expect_invalid("1949-12-31");
	expect_invalid("2101-01-01");
	expect_invalid("0000-01-01");
	expect_invalid("9999-12-31");
	expect_invalid("1025-01-01");
}

static void test_cmp(void **state)
{
	(void)state;
	const struct civil_date a = {2025, 3, 15};
	const struct civil_date same = {2025, 3, 15};
	const struct civil_date next_day = {2025, 3, 16};
	const struct civil_date next_month = {2025, 4, 1};
	const struct civil_date next_year = {2026, 1, 1};
	/* The year outranks month and day, the month outranks the day. */
	const struct civil_date late_in_earlier_year = {2024, 12, 31};
	const struct civil_date late_in_earlier_month = {2025, 2, 28};

	assert_int_equal(civil_date_cmp(&a, &same), 0);
	assert_int_equal(civil_date_cmp(&a, &a), 0);
	assert_true(civil_date_cmp(&a, &next_day) < 0);
	assert_true(civil_date_cmp(&next_day, &a) > 0);
	assert_true(civil_date_cmp(&a, &next_month) < 0);
	assert_true(civil_date_cmp(&next_month, &a) > 0);
	assert_true(civil_date_cmp(&a, &next_year) < 0);
	assert_true(civil_date_cmp(&next_year, &a) > 0);
	assert_true(civil_date_cmp(&late_in_earlier_year, &a) < 0);
	assert_true(civil_date_cmp(&a, &late_in_earlier_year) > 0);
	assert_true(civil_date_cmp(&late_in_earlier_month, &a) < 0);
	assert_true(civil_date_cmp(&a, &late_in_earlier_month) > 0);
}

/* Ordering of parsed dates agrees with the order of their text (the format sorts). */
static void test_cmp_matches_text_order(void **state)
{
	(void)state;
	static const char *sorted[] = {"1950-01-01", "1999-12-31", "2000-02-29",
				       "2024-02-28", "2024-02-29", "2024-03-01",
				       "2024-10-09", "2024-10-10", "2100-12-31"};
	const size_t n = sizeof(sorted) / sizeof(sorted[0]);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			struct civil_date a, b;
			assert_true(civil_date_parse(sorted[i], &a));
			assert_true(civil_date_parse(sorted[j], &b));
			int c = civil_date_cmp(&a, &b);
			if (i < j)
				assert_true(c < 0);
			else if (i > j)
				assert_true(c > 0);
			else
				assert_int_equal(c, 0);
		}
	}
}

static void test_format_round_trip(void **state)
{
	(void)state;
	static const char *texts[] = {"1950-01-01", "2000-02-29", "2025-04-30", "2026-03-07",
				      "2100-12-31"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct civil_date d;
		char buf[11];
		memset(buf, 'Z', sizeof(buf));
		assert_true(civil_date_parse(texts[i], &d));
		civil_date_format(&d, buf, sizeof(buf));
		assert_string_equal(buf, texts[i]);
	}
	/* Single-digit months and days are zero-padded. */
	const struct civil_date d = {2025, 1, 2};
	char buf[16];
	civil_date_format(&d, buf, sizeof(buf));
	assert_string_equal(buf, "2025-01-02");
}

/* Parses the approximate date `text` and asserts its span and precision. */
static void expect_approx(const char *text, enum civil_precision precision, const char *first,
			  const char *last)
{
	struct civil_approx got;
	char buf[11];
	assert_true(civil_approx_parse(text, &got));
	assert_int_equal(got.precision, precision);
	civil_date_format(&got.first, buf, sizeof(buf));
	assert_string_equal(buf, first);
	civil_date_format(&got.last, buf, sizeof(buf));
	assert_string_equal(buf, last);
}

static void test_approx_forms(void **state)
{
	(void)state;
	expect_approx("2025-03-14", CIVIL_PRECISION_DAY, "2025-03-14", "2025-03-14");
	expect_approx("2025-03", CIVIL_PRECISION_MONTH, "2025-03-01", "2025-03-31");
	expect_approx("2025-04", CIVIL_PRECISION_MONTH, "2025-04-01", "2025-04-30");
	expect_approx("2024-02", CIVIL_PRECISION_MONTH, "2024-02-01", "2024-02-29");
	expect_approx("2025-02", CIVIL_PRECISION_MONTH, "2025-02-01", "2025-02-28");
	expect_approx("2025", CIVIL_PRECISION_YEAR, "2025-01-01", "2025-12-31");
	expect_approx("1950", CIVIL_PRECISION_YEAR, "1950-01-01", "1950-12-31");
	expect_approx("2100-12", CIVIL_PRECISION_MONTH, "2100-12-01", "2100-12-31");
}

static void test_approx_invalid(void **state)
{
	(void)state;
	static const char *invalid[] = {
	    "",        "202",      "20250",      "2025-", "2025-3", "2025-13", "2025-00",
	    "2025/03", "2025-03-", "2025-02-30", "1949",  "2101",   "1949-12", "~2025",
	    "2025 ",   " 2025",    "2025-03-1x", "abcd",  "20-5",   "2025-0a", NULL,
	};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct civil_approx got = {.first = {-1, -1, -1}};
		assert_false(civil_approx_parse(invalid[i], &got));
		assert_int_equal(got.first.year, -1); /* untouched */
	}
}

/* "Certainly before": only spans that do not overlap are ordered. */
static void test_approx_before(void **state)
{
	(void)state;
	struct civil_approx march, march_10, feb_28, april_1, year_2025, year_2024;
	assert_true(civil_approx_parse("2025-03", &march));
	assert_true(civil_approx_parse("2025-03-10", &march_10));
	assert_true(civil_approx_parse("2025-02-28", &feb_28));
	assert_true(civil_approx_parse("2025-04-01", &april_1));
	assert_true(civil_approx_parse("2025", &year_2025));
	assert_true(civil_approx_parse("2024", &year_2024));
	assert_false(civil_approx_before(&march, &march_10));
	assert_false(civil_approx_before(&march_10, &march));
	assert_true(civil_approx_before(&feb_28, &march));
	assert_false(civil_approx_before(&march, &feb_28));
	assert_true(civil_approx_before(&march, &april_1));
	assert_false(civil_approx_before(&year_2025, &march));
	assert_false(civil_approx_before(&march, &year_2025));
	assert_true(civil_approx_before(&year_2024, &march));
	assert_false(civil_approx_before(&march_10, &march_10)); /* the same day */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_dates),
	    cmocka_unit_test(test_month_lengths),
	    cmocka_unit_test(test_leap_years),
	    cmocka_unit_test(test_month_and_day_out_of_range),
	    cmocka_unit_test(test_wrong_shapes),
	    cmocka_unit_test(test_year_range),
	    cmocka_unit_test(test_cmp),
	    cmocka_unit_test(test_cmp_matches_text_order),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_approx_forms),
	    cmocka_unit_test(test_approx_invalid),
	    cmocka_unit_test(test_approx_before),
	};
	return cmocka_run_group_tests_name("civil_date", tests, NULL, NULL);
}
