/* Reference answers for the date checks of more than one driver, written from the
 * contracts in proto/civil_date.h rather than from civil_date.c, so that a driver can
 * compare the real code against them. */
#ifndef TULAY_FUZZ_REFERENCE_H
#define TULAY_FUZZ_REFERENCE_H

#include <stdbool.h>

#include "civil_date.h"

/* Returns whether `text` is exactly "YYYY-MM-DD" naming a real day (Gregorian leap years)
 * in CIVIL_DATE_MIN_YEAR..CIVIL_DATE_MAX_YEAR, and if so stores it in *out. */
bool fuzz_ref_date(const char *text, struct civil_date *out);

/* Aborts unless civil_date_cmp orders the two accepted dates as their YYYY-MM-DD texts
 * order, is antisymmetric, and finds each date equal to itself. */
void fuzz_check_date_order(const char *a_text, const struct civil_date *a, const char *b_text,
			   const struct civil_date *b);

#endif
