/* Money as integer minor units of an ISO 4217 currency. Never floating point: "45000.00"
 * MYR is 4500000 sen. Shared by the server (validation) and the client (parsing what a
 * field officer types, printing what the server returns). */
#ifndef TULAY_MONEY_H
#define TULAY_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum money_error {
	MONEY_OK = 0,
	MONEY_EMPTY,            /* no digits at all */
	MONEY_SYNTAX,           /* anything but digits and one decimal point */
	MONEY_NEGATIVE,         /* a leading minus sign */
	MONEY_TOO_PRECISE,      /* more decimals than the currency has minor units */
	MONEY_TOO_LARGE,        /* more than MONEY_MAX_MINOR_UNITS */
	MONEY_UNKNOWN_CURRENCY, /* not an ISO 4217 code we list */
};

/* The largest amount accepted anywhere: 10^15 minor units (10 trillion in a two-decimal
 * currency), far above any claim, and far below where sums of many claims overflow int64. */
#define MONEY_MAX_MINOR_UNITS INT64_C(1000000000000000)

/* Parses a non-negative decimal amount ("45000", "45000.5", "45000.50") in the currency
 * `currency` (upper-case ISO 4217) into minor units. On MONEY_OK stores the amount in
 * *minor_out; on any error *minor_out is untouched. */
enum money_error money_parse(const char *text, const char *currency, int64_t *minor_out)
    __attribute__((warn_unused_result));

/* Returns a sentence describing `err` for a field officer, e.g. "has more decimal places
 * than the currency allows". Static storage. */
const char *money_error_text(enum money_error err);

/* Writes `minor` in `currency` as a plain decimal ("45000.00", "1200" for JPY) into buf.
 * Returns the length written, or -1 if the currency is unknown or buf is too small. */
int money_format(int64_t minor, const char *currency, char *buf, size_t cap);

/* Multiplies `minor` (any sign) by the decimal `factor` ("0.2135", "12", "0.000021350000":
 * digits and at most one point, at most 18 digits before it and, trailing zeros aside, 18
 * after) and rounds half away from zero, as PostgreSQL's round(numeric) does: the same
 * figure as round(minor * factor) in SQL. Stores it in *out and returns true; false if the
 * factor is not such a decimal or the result does not fit in int64 (*out untouched). */
bool money_convert(int64_t minor, const char *factor, int64_t *out)
    __attribute__((warn_unused_result));

#endif
