/* Unit tests of the ISO code lists (proto/iso.[ch]): countries (ISO 3166-1 alpha-2) and the
 * currencies wages are paid in (ISO 4217, with minor units). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iso.h"

/* Every ISO 3166-1 alpha-2 code (Debian iso-codes 4.15, iso_3166-1.json), and every ISO 4217
 * code there except funds (BOV CHE CHW CLF COU MXV USN UYI UYW), precious metals, units of
 * account and test codes (X..), and withdrawn currencies (HRK, SLL). Independent of the
 * tables in proto/iso.c: update both when ISO publishes a change. */
static const char all_countries[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM "
    "BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX "
    "CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG "
    "GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR "
    "IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV "
    "LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE "
    "NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO "
    "RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF "
    "TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF "
    "WS YE YT ZA ZM ZW";

static const char all_currencies[] =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR "
    "FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD "
    "JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT "
    "MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG "
    "QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS "
    "TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XOF XPF YER "
    "ZAR ZMW ZWL";

/* Looks up `code` and asserts that it is listed under that code with a name containing
 * `name_part` (a part, so "Viet Nam" and "Vietnam" both pass). */
#define expect_country(want_code, name_part)                                                       \
	do {                                                                                       \
		const struct iso_country *c_ = iso_country_find(want_code);                        \
		assert_non_null(c_);                                                               \
		assert_string_equal(c_->code, (want_code));                                        \
		assert_non_null(c_->name);                                                         \
		assert_non_null(strstr(c_->name, (name_part)));                                    \
	} while (0)

#define expect_currency(want_code, units, name_part)                                               \
	do {                                                                                       \
		const struct iso_currency *c_ = iso_currency_find(want_code);                      \
		assert_non_null(c_);                                                               \
		assert_string_equal(c_->code, (want_code));                                        \
		assert_int_equal(c_->minor_units, (units));                                        \
		assert_non_null(c_->name);                                                         \
		assert_non_null(strstr(c_->name, (name_part)));                                    \
	} while (0)

/* The sending and receiving countries of South-East Asian labour migration. */
static void test_region_countries_found(void **state)
{
	(void)state;
	expect_country("PH", "Philippines");
	expect_country("MY", "Malaysia");
	expect_country("TH", "Thailand");
	expect_country("KH", "Cambodia");
	expect_country("BD", "Bangladesh");
	expect_country("SG", "Singapore");
	expect_country("MM", "Myanmar");
	expect_country("ID", "Indonesia");
	expect_country("VN", "Viet");
	expect_country("LA", "Lao");
	expect_country("NP", "Nepal");
}

/* The first and last entries of a sorted table are where a binary search goes wrong. */
static void test_country_table_ends(void **state)
{
	(void)state;
	expect_country("AD", "Andorra");
	expect_country("ZW", "Zimbabwe");
}

static void test_countries_not_found(void **state)
{
	(void)state;
	assert_null(iso_country_find("ph"));
	assert_null(iso_country_find("Ph"));
	assert_null(iso_country_find("XX"));
	assert_null(iso_country_find("PHL")); /* alpha-3 is not accepted */
	assert_null(iso_country_find("P"));
	assert_null(iso_country_find(""));
	assert_null(iso_country_find(NULL));
	assert_null(iso_country_find("PH "));
	assert_null(iso_country_find("AA"));
	assert_null(iso_country_find("ZZ"));
}

/* Splits a space-separated code list; calls fn on each code. */
static void for_each_code(const char *list, size_t code_len, void (*fn)(const char *code))
{
	char code[4];
	assert_true(code_len < sizeof(code));
	for (const char *p = list; *p != '\0'; p += code_len + (p[code_len] == ' ')) {
		memcpy(code, p, code_len);
		code[code_len] = '\0';
		fn(code);
	}
}

static int countries_seen;

static void expect_listed_country(const char *code)
{
	const struct iso_country *c = iso_country_find(code);
	if (c == NULL)
		fail_msg("country %s is not found", code);
	assert_string_equal(c->code, code);
	assert_non_null(c->name);
	assert_true(strlen(c->name) > 0);
	countries_seen++;
}

/* Every ISO country is found (a table out of order makes bsearch miss some), and probing
 * all 676 two-letter codes finds no others. */
static void test_every_country_is_found(void **state)
{
	(void)state;
	countries_seen = 0;
	for_each_code(all_countries, 2, expect_listed_country);
	assert_int_equal(countries_seen, 249);

	int found = 0;
	char code[3] = {0, 0, 0};
	for (char a = 'A'; a <= 'Z'; a++) {
		for (char b = 'A'; b <= 'Z'; b++) {
			code[0] = a;
			code[1] = b;
			const struct iso_country *c = iso_country_find(code);
			if (c == NULL)
				continue;
			found++;
			assert_string_equal(c->code, code);
			assert_non_null(strstr(all_countries, code));
		}
	}
	assert_int_equal(found, 249);
}

static void test_currencies_found(void **state)
{
	(void)state;
	expect_currency("MYR", 2, "Ringgit");
	expect_currency("THB", 2, "Baht");
	expect_currency("PHP", 2, "Peso");
	expect_currency("JPY", 0, "Yen");
	expect_currency("KWD", 3, "Dinar");
	expect_currency("USD", 2, "Dollar");
	expect_currency("SGD", 2, "Dollar");
	expect_currency("VND", 0, "Dong");
	expect_currency("BHD", 3, "Dinar");
	expect_currency("AED", 2, "Dirham");   /* first entry */
	expect_currency("ZWL", 2, "Zimbabwe"); /* last entry */
}

/* Precious metals, test codes, funds and units of account are not wages. */
static void test_non_currencies_not_listed(void **state)
{
	(void)state;
	static const char *not_wages[] = {
	    "XAU", /* gold */
	    "XAG", /* silver */
	    "XPT", /* platinum */
	    "XPD", /* palladium */
	    "XTS", /* reserved for testing */
	    "XXX", /* no currency */
	    "XDR", /* IMF special drawing right */
	    "XSU", /* Sucre */
	    "XUA", /* ADB unit of account */
	    "BOV", /* Mvdol fund */
	    "CLF", /* Unidad de Fomento */
	    "USN", /* US Dollar (next day) */
	};
	for (size_t i = 0; i < sizeof(not_wages) / sizeof(not_wages[0]); i++) {
		if (iso_currency_find(not_wages[i]) != NULL)
			fail_msg("%s is listed as a currency", not_wages[i]);
	}
}

static void test_currencies_not_found(void **state)
{
	(void)state;
	assert_null(iso_currency_find("myr"));
	assert_null(iso_currency_find("XYZ"));
	assert_null(iso_currency_find("MY"));
	assert_null(iso_currency_find("MYRR"));
	assert_null(iso_currency_find(""));
	assert_null(iso_currency_find(NULL));
	assert_null(iso_currency_find("AAA"));
	assert_null(iso_currency_find("ZZZ"));
}

static int currencies_seen;

static void expect_listed_currency(const char *code)
{
	const struct iso_currency *cur = iso_currency_find(code);
	if (cur == NULL)
		fail_msg("currency %s is not found", code);
	assert_string_equal(cur->code, code);
	/* ISO 4217 uses 0, 2, 3 (and 4 only for a fund, which is not listed). */
	if (cur->minor_units != 0 && cur->minor_units != 2 && cur->minor_units != 3)
		fail_msg("currency %s has %d minor units", code, cur->minor_units);
	assert_non_null(cur->name);
	assert_true(strlen(cur->name) > 0);
	currencies_seen++;
}

/* As for countries: every listed currency is found, and probing all 17576 three-letter
 * codes finds no others. */
static void test_every_currency_is_found(void **state)
{
	(void)state;
	const size_t n_listed = (strlen(all_currencies) + 1) / 4;
	currencies_seen = 0;
	for_each_code(all_currencies, 3, expect_listed_currency);
	assert_int_equal(currencies_seen, n_listed);

	size_t found = 0;
	char code[4] = {0, 0, 0, 0};
	for (char a = 'A'; a <= 'Z'; a++) {
		for (char b = 'A'; b <= 'Z'; b++) {
			for (char c = 'A'; c <= 'Z'; c++) {
				code[0] = a;
				code[1] = b;
				code[2] = c;
				const struct iso_currency *cur = iso_currency_find(code);
				if (cur == NULL)
					continue;
				found++;
				if (strstr(all_currencies, code) == NULL)
					fail_msg(
					    "%s is listed but is not a currency wages are paid in",
					    code);
			}
		}
	}
	assert_int_equal(found, n_listed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_region_countries_found),
	    cmocka_unit_test(test_country_table_ends),
	    cmocka_unit_test(test_countries_not_found),
	    cmocka_unit_test(test_every_country_is_found),
	    cmocka_unit_test(test_currencies_found),
	    cmocka_unit_test(test_non_currencies_not_listed),
	    cmocka_unit_test(test_currencies_not_found),
	    cmocka_unit_test(test_every_currency_is_found),
	};
	return cmocka_run_group_tests_name("iso", tests, NULL, NULL);
}
