/* Calendar dates ("YYYY-MM-DD") as people write them on forms: no time, no zone. */
#ifndef TULAY_CIVIL_DATE_H
#define TULAY_CIVIL_DATE_H

#include <stdbool.h>
#include <stddef.h>

struct civil_date {
	int year;
	int month; /* 1..12 */
	int day;   /* 1..31, valid for the month */
};

/* Years outside this range are typing mistakes, not work periods. */
#define CIVIL_DATE_MIN_YEAR 1950
#define CIVIL_DATE_MAX_YEAR 2100

/* Parses exactly "YYYY-MM-DD" naming a real day (leap years included) between
 * CIVIL_DATE_MIN_YEAR and CIVIL_DATE_MAX_YEAR. Returns false, leaving *out untouched,
 * for anything else. */
bool civil_date_parse(const char *text, struct civil_date *out) __attribute__((warn_unused_result));

/* Returns <0, 0 or >0 as a is before, equal to or after b. */
int civil_date_cmp(const struct civil_date *a, const struct civil_date *b);

/* The days of `month` (1..12) of `year`, leap years included. */
int civil_days_in_month(int year, int month);

/* Writes "YYYY-MM-DD" and a NUL into buf (at least 11 bytes). */
void civil_date_format(const struct civil_date *d, char *buf, size_t cap);

/* How much of a date people remember: the day, only the month, or only the year. */
enum civil_precision {
	CIVIL_PRECISION_DAY,
	CIVIL_PRECISION_MONTH,
	CIVIL_PRECISION_YEAR,
};

/* A date known to some precision, as the span of days it may mean: "2025-03" is
 * 2025-03-01 to 2025-03-31, "2025" the whole year, "2025-03-14" that day alone. */
struct civil_approx {
	struct civil_date first;
	struct civil_date last;
	enum civil_precision precision;
};

/* Parses exactly "YYYY-MM-DD", "YYYY-MM" or "YYYY" within the years of civil_date_parse.
 * Returns false, leaving *out untouched, for anything else. */
bool civil_approx_parse(const char *text, struct civil_approx *out)
    __attribute__((warn_unused_result));

/* True when `a` certainly happened before `b`: a's last possible day is before b's first.
 * Spans that overlap ("2025-03" and "2025-03-10") are not before each other. */
bool civil_approx_before(const struct civil_approx *a, const struct civil_approx *b);

#endif
