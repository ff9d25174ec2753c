#include "fuzz_reference.h"

#include <ctype.h>
#include <string.h>

#include "fuzz_check.h"

bool fuzz_ref_date(const char *text, struct civil_date *out)
{
	static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	static const int start[3] = {0, 5, 8}, width[3] = {4, 2, 2};
	if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
		return false;
	int value[3] = {0, 0, 0};
	for (int part = 0; part < 3; part++) {
		for (int i = start[part]; i < start[part] + width[part]; i++) {
			if (!isdigit((unsigned char)text[i]))
				return false;
			value[part] = value[part] * 10 + (text[i] - '0');
		}
	}
	int year = value[0], month = value[1], day = value[2];
	if (year < CIVIL_DATE_MIN_YEAR || year > CIVIL_DATE_MAX_YEAR || month < 1 || month > 12)
		return false;
	bool leap = year % 400 == 0 || (year % 4 == 0 && year % 100 != 0);
	int last_day = month_days[month - 1] + (month == 2 && leap ? 1 : 0);
	if (day < 1 || day > last_day)
		return false;
	out->year = year;
	out->month = month;
	out->day = day;
	return true;
}

void fuzz_check_date_order(const char *a_text, const struct civil_date *a, const char *b_text,
			   const struct civil_date *b)
{
	int by_text = strcmp(a_text, b_text);
	int ab = civil_date_cmp(a, b), ba = civil_date_cmp(b, a);
	FUZZ_CHECK((ab < 0) == (by_text < 0) && (ab == 0) == (by_text == 0));
	FUZZ_CHECK((ab < 0) == (ba > 0) && (ab == 0) == (ba == 0));
	FUZZ_CHECK(civil_date_cmp(a, a) == 0 && civil_date_cmp(b, b) == 0);
}
