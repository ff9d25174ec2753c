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

/* Writes "YYYY-MM-DD" and a NUL into buf (at least 11 bytes). */
void civil_date_format(const struct civil_date *d, char *buf, size_t cap);

#endif
