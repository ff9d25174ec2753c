#include "civil_date.h"

#include <stdio.h>
#include <string.h>

static bool is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
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
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
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
