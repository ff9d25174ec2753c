#include "civil_date.h"

#include <stdio.h>
#include <string.h>

static bool is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int civil_days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

static int digits(const char *p, int n)
{
	int value = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		value = value * 10 + (p[i] - '0');
	}
	return value;
}

bool civil_date_parse(const char *text, struct civil_date *out)
{
	if (text == NULL || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
		return false;
	int year = digits(text, 4), month = digits(text + 5, 2), day = digits(text + 8, 2);
	if (year < CIVIL_DATE_MIN_YEAR || year > CIVIL_DATE_MAX_YEAR)
		return false;
	if (month < 1 || month > 12 || day < 1 || day > civil_days_in_month(year, month))
		return false;
	out->year = year;
	out->month = month;
	out->day = day;
	return true;
}

int civil_date_cmp(const struct civil_date *a, const struct civil_date *b)
{
	if (a->year != b->year)
		return a->year < b->year ? -1 : 1;
	if (a->month != b->month)
		return a->month < b->month ? -1 : 1;
	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	return 0;
}

void civil_date_format(const struct civil_date *d, char *buf, size_t cap)
{
	snprintf(buf, cap, "%04d-%02d-%02d", d->year, d->month, d->day);
}

bool civil_approx_parse(const char *text, struct civil_approx *out)
{
	if (text == NULL)
		return false;
	/* The shorter forms are read as their first day, which must be a real one. */
	char full[11];
	enum civil_precision precision;
	switch (strlen(text)) {
	case 4:
		precision = CIVIL_PRECISION_YEAR;
		snprintf(full, sizeof(full), "%s-01-01", text);
		break;
	case 7:
		precision = CIVIL_PRECISION_MONTH;
		snprintf(full, sizeof(full), "%s-01", text);
		break;
	case 10:
		precision = CIVIL_PRECISION_DAY;
		snprintf(full, sizeof(full), "%s", text);
		break;
	default:
		return false;
	}
	struct civil_date first;
	if (!civil_date_parse(full, &first))
		return false;
	struct civil_date last = first;
	if (precision == CIVIL_PRECISION_YEAR) {
		last.month = 12;
		last.day = 31;
	} else if (precision == CIVIL_PRECISION_MONTH) {
		last.day = civil_days_in_month(first.year, first.month);
	}
	out->first = first;
	out->last = last;
	out->precision = precision;
	return true;
}

bool civil_approx_before(const struct civil_approx *a, const struct civil_approx *b)
{
	return civil_date_cmp(&a->last, &b->first) < 0;
}
