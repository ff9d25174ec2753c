/* Validation of values arriving from clients. Each function returns NULL when the value is
 * acceptable, or a sentence (static storage) saying what is wrong and how to fix it, in
 * words a field officer understands; the caller names the field. Pure functions: no I/O. */
#ifndef TULAYD_VALIDATE_H
#define TULAYD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "civil_date.h"

#define VALIDATE_IDEMPOTENCY_KEY_BYTES 16

/* Required ISO 3166-1 alpha-2 code in upper case ("MY"). */
const char *validate_country(const char *value);

/* Required ISO 4217 code in upper case ("MYR"). */
const char *validate_currency(const char *value);

/* A positive amount in minor units, at most MONEY_MAX_MINOR_UNITS. */
const char *validate_amount(int64_t minor_units);

/* Required "YYYY-MM-DD" of a real day; on success stores it in *out. */
const char *validate_date(const char *value, struct civil_date *out);

/* The problems validate_text() and validate_free_text() name for a control character
 * (proto/wire.c names the same before unpacking). */
#define VALIDATE_CONTROL_PROBLEM "must not contain control characters such as line breaks or tabs"
#define VALIDATE_FREE_TEXT_CONTROL_PROBLEM                                                         \
	"must not contain control characters other than tab and line feed"

/* Text of min..max characters (Unicode code points), valid UTF-8, without control
 * characters, and not only white space. */
const char *validate_text(const char *value, size_t min_chars, size_t max_chars);

/* validate_text() for notes and reasons written in sentences: tab and line feed allowed
 * (proto/wire.c lets them through for the same fields). */
const char *validate_free_text(const char *value, size_t min_chars, size_t max_chars);

/* Exactly 16 bytes. */
const char *validate_idempotency_key(size_t len);

/* An organisation acronym: 2-20 of A-Z 0-9 - _ (after upper-casing). */
const char *validate_acronym(const char *value);

/* A login name: 2-64 of a-z 0-9 . _ - */
const char *validate_username(const char *value);

/* Copies `value` upper-cased into out (cap bytes, truncating). Returns out. */
char *validate_upper(const char *value, char *out, size_t cap);

#endif
