/* libFuzzer driver for the text parsers of proto/: money_parse (what a field officer types
 * as an amount, and what the server checks) and civil_date_parse (dates on forms), with
 * money_format, their inverse, and civil_approx_parse (dates known to the month or year).
 *
 * The input is lines: a currency code, an amount, two dates and a number of minor units
 * (decimal, any int64) for money_format; missing lines are empty. Each parser is compared
 * with a reference written here from its header's contract, and everything accepted must
 * round-trip through the formatter to the same value. money_format writes into heap
 * buffers of every small size so that AddressSanitizer catches a write past the end. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "fuzz_check.h"
#include "fuzz_reference.h"
#include "iso.h"
#include "money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { LINE_CURRENCY, LINE_AMOUNT, LINE_DATE_A, LINE_DATE_B, LINE_MINOR, N_LINES };

/* Longer than any formatted int64 ("-9223372036854775808" plus a decimal point). */
#define FORMAT_MAX_BYTES 32

/* What money.h promises: digits with at most one decimal point, at least one digit (the
 * current code also takes "5." and ".5", and so does this reference), no more decimals
 * than the currency has, at most MONEY_MAX_MINOR_UNITS. Stores the minor units. */
static bool ref_money(const char *text, int minor_units, int64_t *out)
{
	uint64_t value = 0; /* saturates above the maximum, so it cannot wrap */
	int digits = 0, decimals = -1;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '.') {
			if (decimals >= 0)
				return false;
			decimals = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			return false;
		digits++;
		if (decimals >= 0)
			decimals++;
		if (value <= (uint64_t)MONEY_MAX_MINOR_UNITS)
			value = value * 10 + (uint64_t)(*p - '0');
	}
	if (digits == 0 || decimals > minor_units)
		return false;
	for (int i = decimals < 0 ? 0 : decimals; i < minor_units; i++) {
		if (value <= (uint64_t)MONEY_MAX_MINOR_UNITS)
			value *= 10;
	}
	if (value > (uint64_t)MONEY_MAX_MINOR_UNITS)
		return false;
	*out = (int64_t)value;
	return true;
}

static void check_money_parse(const char *text, const char *currency)
{
	const struct iso_currency *cur = iso_currency_find(currency);
	int64_t got = -1;
	enum money_error err = money_parse(text, currency, &got);
	const char *why = money_error_text(err);
	FUZZ_CHECK(why != NULL && why[0] != '\0');
	if (cur == NULL) {
		FUZZ_CHECK(err == MONEY_UNKNOWN_CURRENCY && got == -1);
		return;
	}
	if (text[0] == '\0')
		FUZZ_CHECK(err == MONEY_EMPTY);
	if (text[0] == '-')
		FUZZ_CHECK(err == MONEY_NEGATIVE);

	int64_t want = -1;
	bool ok = ref_money(text, cur->minor_units, &want);
	FUZZ_CHECK((err == MONEY_OK) == ok);
	FUZZ_CHECK(got == want); /* the value, or untouched on error */
	if (!ok)
		return;

	/* The canonical text of the value parses back to it and has all the decimals. */
	char canonical[FORMAT_MAX_BYTES];
	int n = money_format(got, currency, canonical, sizeof(canonical));
	FUZZ_CHECK(n > 0 && (size_t)n == strlen(canonical));
	const char *point = strchr(canonical, '.');
	if (cur->minor_units == 0)
		FUZZ_CHECK(point == NULL);
	else
		FUZZ_CHECK(point != NULL && strlen(point + 1) == (size_t)cur->minor_units);
	int64_t back = -1;
	FUZZ_CHECK(money_parse(canonical, currency, &back) == MONEY_OK && back == got);
}

/* money_format into buffers of 0..FORMAT_MAX_BYTES bytes: the full text when it fits with
 * its NUL, -1 otherwise, never a byte past the buffer. */
static void check_money_format(int64_t minor, const char *currency)
{
	char full[FORMAT_MAX_BYTES + 1];
	int n = money_format(minor, currency, full, sizeof(full));
	if (iso_currency_find(currency) == NULL) {
		FUZZ_CHECK(n == -1);
		return;
	}
	FUZZ_CHECK(n > 0 && (size_t)n == strlen(full) && (size_t)n < FORMAT_MAX_BYTES);
	for (size_t cap = 0; cap <= FORMAT_MAX_BYTES; cap++) {
		char *buf = malloc(cap > 0 ? cap : 1);
		FUZZ_CHECK(buf != NULL);
		int got = money_format(minor, currency, buf, cap);
		if ((size_t)n < cap)
			FUZZ_CHECK(got == n && memcmp(buf, full, (size_t)n + 1) == 0);
		else
			FUZZ_CHECK(got == -1);
		free(buf);
	}
	int64_t back = -1;
	enum money_error err = money_parse(full, currency, &back);
	if (minor < 0)
		FUZZ_CHECK(err == MONEY_NEGATIVE && back == -1);
	else if (minor > MONEY_MAX_MINOR_UNITS)
		FUZZ_CHECK(err == MONEY_TOO_LARGE && back == -1);
	else
		FUZZ_CHECK(err == MONEY_OK && back == minor);
}

/* Returns whether the text is a date, storing it in *out. */
static bool check_date(const char *text, struct civil_date *out)
{
	struct civil_date want = {-1, -1, -1}, got = {-1, -1, -1};
	bool ok = fuzz_ref_date(text, &want);
	FUZZ_CHECK(civil_date_parse(text, &got) == ok);
	/* The reference's date, or untouched. */
	FUZZ_CHECK(got.year == want.year && got.month == want.month && got.day == want.day);
	if (ok) {
		char formatted[11];
		civil_date_format(&got, formatted, sizeof(formatted));
		FUZZ_CHECK(strcmp(formatted, text) == 0);
	}
	*out = got;
	return ok;
}

/* An approximate date (civil_approx_parse): the span of a day, a month or a year, whose
 * first day written and cut to the text's length is the text; a full date is the day
 * civil_date_parse reads. Returns whether it parsed, storing it in *out. */
static bool check_approx(const char *text, const struct civil_date *day, bool day_ok,
			 struct civil_approx *out)
{
	struct civil_approx got = {.first = {-1, -1, -1}};
	bool ok = civil_approx_parse(text, &got);
	size_t len = strlen(text);
	if (len == 10)
		FUZZ_CHECK(ok == day_ok);
	if (!ok) {
		FUZZ_CHECK(got.first.year == -1); /* untouched */
		return false;
	}
	static const size_t lengths[] = {
	    [CIVIL_PRECISION_DAY] = 10, [CIVIL_PRECISION_MONTH] = 7, [CIVIL_PRECISION_YEAR] = 4};
	FUZZ_CHECK(lengths[got.precision] == len);
	FUZZ_CHECK(civil_date_cmp(&got.first, &got.last) <= 0);
	FUZZ_CHECK(!civil_approx_before(&got, &got));
	char first[11], last[11];
	civil_date_format(&got.first, first, sizeof(first));
	civil_date_format(&got.last, last, sizeof(last));
	FUZZ_CHECK(strncmp(first, text, len) == 0 && strncmp(last, text, len) == 0);
	if (len == 10)
		FUZZ_CHECK(civil_date_cmp(&got.first, day) == 0 &&
			   civil_date_cmp(&got.last, day) == 0);
	*out = got;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line[N_LINES];
	size_t pos = 0;
	for (int i = 0; i < N_LINES; i++) {
		const uint8_t *end = pos < size ? memchr(data + pos, '\n', size - pos) : NULL;
		size_t len = end != NULL ? (size_t)(end - (data + pos)) : size - pos;
		line[i] = fuzz_strndup(data + pos, len);
		pos = end != NULL ? pos + len + 1 : size;
	}

	check_money_parse(line[LINE_AMOUNT], line[LINE_CURRENCY]);

	errno = 0;
	char *rest;
	long long minor = strtoll(line[LINE_MINOR], &rest, 10);
	if (errno == 0 && rest != line[LINE_MINOR])
		check_money_format((int64_t)minor, line[LINE_CURRENCY]);

	struct civil_date a, b;
	bool a_ok = check_date(line[LINE_DATE_A], &a);
	bool b_ok = check_date(line[LINE_DATE_B], &b);
	if (a_ok && b_ok)
		fuzz_check_date_order(line[LINE_DATE_A], &a, line[LINE_DATE_B], &b);
	struct civil_approx approx_a, approx_b;
	if (check_approx(line[LINE_DATE_A], &a, a_ok, &approx_a) &&
	    check_approx(line[LINE_DATE_B], &b, b_ok, &approx_b)) {
		/* "Certainly before" is a strict order of spans: never both ways. */
		FUZZ_CHECK(!(civil_approx_before(&approx_a, &approx_b) &&
			     civil_approx_before(&approx_b, &approx_a)));
		FUZZ_CHECK(civil_approx_before(&approx_a, &approx_b) ==
			   (civil_date_cmp(&approx_a.last, &approx_b.first) < 0));
	}

	for (int i = 0; i < N_LINES; i++)
		free(line[i]);
	return 0;
}
