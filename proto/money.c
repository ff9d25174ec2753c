#include "money.h"

#include <stdio.h>
#include <string.h>

#include "iso.h"

enum money_error money_parse(const char *text, const char *currency, int64_t *minor_out)
{
	const struct iso_currency *cur = iso_currency_find(currency);
	if (cur == NULL)
		return MONEY_UNKNOWN_CURRENCY;
	if (text == NULL || *text == '\0')
		return MONEY_EMPTY;
	if (*text == '-')
		return MONEY_NEGATIVE;

	int64_t value = 0;
	int digits = 0;
	int decimals = -1; /* -1 until the decimal point is seen */
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '.') {
			if (decimals >= 0)
				return MONEY_SYNTAX;
			decimals = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			return MONEY_SYNTAX;
		if (decimals >= 0 && ++decimals > cur->minor_units)
			return MONEY_TOO_PRECISE;
		if (value > (MONEY_MAX_MINOR_UNITS - (*p - '0')) / 10)
			return MONEY_TOO_LARGE;
		value = value * 10 + (*p - '0');
		digits++;
	}
	if (digits == 0)
		return MONEY_EMPTY;
	for (int scale = decimals < 0 ? 0 : decimals; scale < cur->minor_units; scale++) {
		if (value > MONEY_MAX_MINOR_UNITS / 10)
			return MONEY_TOO_LARGE;
		value *= 10;
	}
	*minor_out = value;
	return MONEY_OK;
}

const char *money_error_text(enum money_error err)
{
	switch (err) {
	case MONEY_OK:
		return "is valid";
	case MONEY_EMPTY:
		return "is empty: give an amount such as 45000.00";
	case MONEY_SYNTAX:
		return "must be digits with at most one decimal point, e.g. 45000.00 (no commas or "
		       "currency signs)";
	case MONEY_NEGATIVE:
		return "must not be negative";
	case MONEY_TOO_PRECISE:
		return "has more decimal places than the currency allows";
	case MONEY_TOO_LARGE:
		return "is too large";
	case MONEY_UNKNOWN_CURRENCY:
		return "has an unknown currency: use an ISO 4217 code such as MYR, THB, PHP, USD";
	}
	return "is invalid";
}

int money_format(int64_t minor, const char *currency, char *buf, size_t cap)
{
	const struct iso_currency *cur = iso_currency_find(currency);
	if (cur == NULL)
		return -1;
	int64_t scale = 1;
	for (int i = 0; i < cur->minor_units; i++)
		scale *= 10;
	const char *sign = minor < 0 ? "-" : "";
	/* Negate in unsigned arithmetic so INT64_MIN cannot overflow. */
	uint64_t magnitude = minor < 0 ? 0 - (uint64_t)minor : (uint64_t)minor;
	int n;
	if (cur->minor_units == 0)
		n = snprintf(buf, cap, "%s%llu", sign, (unsigned long long)magnitude);
	else
		n = snprintf(buf, cap, "%s%llu.%0*llu", sign,
			     (unsigned long long)(magnitude / (uint64_t)scale), cur->minor_units,
			     (unsigned long long)(magnitude % (uint64_t)scale));
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}

bool money_convert(int64_t minor, const char *factor, int64_t *out)
{
	/* factor = whole + frac / 10^scale, each part below 10^18; minor below 2^63: both
	 * products fit in 128 bits. */
	size_t n_whole = strspn(factor, "0123456789");
	const char *frac_text = factor + n_whole;
	size_t n_frac = 0;
	if (*frac_text == '.') {
		frac_text++;
		n_frac = strspn(frac_text, "0123456789");
		if (frac_text[n_frac] != '\0')
			return false;
		while (n_frac > 0 && frac_text[n_frac - 1] == '0')
			n_frac--;
	} else if (*frac_text != '\0') {
		return false;
	}
	if (n_whole + n_frac == 0 || n_whole > 18 || n_frac > 18)
		return false;
	__int128 whole = 0, frac = 0, scale = 1;
	for (size_t i = 0; i < n_whole; i++)
		whole = whole * 10 + (factor[i] - '0');
	for (size_t i = 0; i < n_frac; i++) {
		frac = frac * 10 + (frac_text[i] - '0');
		scale *= 10;
	}
	__int128 m = minor < 0 ? -(__int128)minor : (__int128)minor;
	__int128 part = m * frac;
	__int128 q = m * whole + part / scale;
	if (2 * (part % scale) >= scale)
		q++;
	if (q > INT64_MAX)
		return false;
	*out = minor < 0 ? -(int64_t)q : (int64_t)q;
	return true;
}
