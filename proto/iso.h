/* ISO code lists shared by server and client: countries (ISO 3166-1 alpha-2) and
 * currencies (ISO 4217, with their minor units). */
#ifndef TULAY_ISO_H
#define TULAY_ISO_H

struct iso_country {
	const char *code; /* "PH" */
	const char *name; /* "Philippines" */
};

struct iso_currency {
	const char *code; /* "MYR" */
	int minor_units;  /* digits after the decimal point: 2 for MYR, 0 for JPY */
	const char *name;
};

/* Returns the country with this exact upper-case alpha-2 code, or NULL. */
const struct iso_country *iso_country_find(const char *code);

/* Returns the currency with this exact upper-case alpha-3 code, or NULL. Funds, precious
 * metals and test codes are not currencies a wage is paid in and are not listed. */
const struct iso_currency *iso_currency_find(const char *code);

#endif
