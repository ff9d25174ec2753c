#include "validate.h"

#include <ctype.h>
#include <string.h>

#include "iso.h"
#include "money.h"
#include "utf8.h"

const char *validate_country(const char *value)
{
	if (value == NULL || *value == '\0')
		return "is required: give an ISO 3166-1 country code such as MY, TH or PH";
	if (iso_country_find(value) == NULL)
		return "is not an ISO 3166-1 alpha-2 country code (two capital letters such as "
		       "MY, TH, PH, KH, BD)";
	return NULL;
}

const char *validate_currency(const char *value)
{
	if (value == NULL || *value == '\0')
		return "is required: give an ISO 4217 currency code such as MYR, THB or USD";
	if (iso_currency_find(value) == NULL)
		return "is not an ISO 4217 currency code (three capital letters such as MYR, THB, "
		       "PHP, USD)";
	return NULL;
}

const char *validate_amount(int64_t minor_units)
{
	if (minor_units <= 0)
		return "must be more than zero";
	if (minor_units > MONEY_MAX_MINOR_UNITS)
		return "is larger than any claim tulay accepts";
	return NULL;
}

const char *validate_date(const char *value, struct civil_date *out)
{
	if (value == NULL || *value == '\0')
		return "is required: give a date as YYYY-MM-DD";
	if (!civil_date_parse(value, out))
		return "is not a real date written YYYY-MM-DD (years 1950 to 2100)";
	return NULL;
}

static const char *text_check(const char *value, size_t min_chars, size_t max_chars, bool lines);

const char *validate_text(const char *value, size_t min_chars, size_t max_chars)
{
	return text_check(value, min_chars, max_chars, false);
}

const char *validate_free_text(const char *value, size_t min_chars, size_t max_chars)
{
	return text_check(value, min_chars, max_chars, true);
}

static const char *text_check(const char *value, size_t min_chars, size_t max_chars, bool lines)
{
	if (value == NULL)
		value = "";
	size_t chars = 0;
	bool visible = false;
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0';) {
		uint32_t cp;
		size_t n = utf8_next(p, &cp);
		if (n == 0)
			return "is not valid UTF-8 text";
		if (lines && (cp == '\t' || cp == '\n')) {
			chars++;
			p += n;
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return lines ? VALIDATE_FREE_TEXT_CONTROL_PROBLEM
				     : VALIDATE_CONTROL_PROBLEM;
		if (cp != ' ')
			visible = true;
		chars++;
		p += n;
	}
	if (chars == 0 && min_chars > 0)
		return "is required";
	if (!visible && min_chars > 0)
		return "must not be only spaces";
	if (chars < min_chars)
		return "is too short";
	if (chars > max_chars)
		return "is too long";
	return NULL;
}

const char *validate_idempotency_key(size_t len)
{
	if (len != VALIDATE_IDEMPOTENCY_KEY_BYTES)
		return "must be exactly 16 random bytes chosen by the client, the same on every "
		       "retry of this request";
	return NULL;
}

const char *validate_acronym(const char *value)
{
	size_t len = value != NULL ? strlen(value) : 0;
	if (len == 0)
		return "is required";
	if (len < 2 || len > 20)
		return "must be 2 to 20 characters";
	for (const char *p = value; *p != '\0'; p++) {
		if (!(isupper((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' ||
		      *p == '_'))
			return "may contain only letters A-Z, digits, '-' and '_'";
	}
	return NULL;
}

const char *validate_username(const char *value)
{
	size_t len = value != NULL ? strlen(value) : 0;
	if (len == 0)
		return "is required";
	if (len < 2 || len > 64)
		return "must be 2 to 64 characters";
	for (const char *p = value; *p != '\0'; p++) {
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' ||
		      *p == '_' || *p == '-'))
			return "may contain only lower-case letters a-z, digits, '.', '_' and '-'";
	}
	return NULL;
}

char *validate_upper(const char *value, char *out, size_t cap)
{
	size_t i = 0;
	for (; value != NULL && value[i] != '\0' && i + 1 < cap; i++)
		out[i] = (char)toupper((unsigned char)value[i]);
	if (cap > 0)
		out[i] = '\0';
	return out;
}
