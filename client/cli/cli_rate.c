#include "cli_rate.h"

#include <string.h>

#include "cli_args.h"
#include "cli_output.h"
#include "cli_rpc.h"

/* Limit of the server (proto: SetExchangeRate.rate): digits before and after the point. */
#define RATE_DIGITS_MAX 12

static struct output_record *rate_record(const Tulay__V1__ExchangeRate *r)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
	output_add_text(rec, "currency", "Currency", r->currency);
	output_add_text(rec, "reporting_currency", "Reporting currency", r->reporting_currency);
	output_add_text(rec, "rate", "Rate", r->rate);
	output_add_text(rec, "valid_from", "Valid from", r->valid_from);
	output_add_text(rec, "set_by", "Set by", r->set_by);
	output_add_time(rec, "set_at", "Set at", r->set_at);
	return rec;
}

static struct output_record *rate_blank(void)
{
	Tulay__V1__ExchangeRate rate = TULAY__V1__EXCHANGE_RATE__INIT;
	return rate_record(&rate);
}

/* --- rate set -------------------------------------------------------------------------- */

/* What `rate set` collects, for its check. */
struct rate_draft {
	const char *currency, *reporting_currency, *rate, *valid_from;
};

/* Checks a rate as the server takes it: a decimal number more than 0, with at most
 * RATE_DIGITS_MAX digits before and after the point. */
static void check_rate(struct cli *cli, const char *text)
{
	static const char digits[] = "0123456789";
	if (text == NULL)
		return;
	size_t before = strspn(text, digits), after = 0;
	const char *end = text + before;
	bool point = *end == '.';
	if (point) {
		after = strspn(end + 1, digits);
		end += 1 + after;
	}
	if (before == 0 || *end != '\0' || (point && after == 0))
		cli_problem(cli, "RATE",
			    "'%s' is not a rate: write a decimal number such as 0.2135 (digits and "
			    "one '.', no commas or signs)",
			    text);
	else if (before > RATE_DIGITS_MAX)
		cli_problem(cli, "RATE", "'%s' has more than %d digits before the point", text,
			    RATE_DIGITS_MAX);
	else if (after > RATE_DIGITS_MAX)
		cli_problem(cli, "RATE",
			    "'%s' has more than %d decimal places: round it to %d at most", text,
			    RATE_DIGITS_MAX, RATE_DIGITS_MAX);
	else if (strspn(text, "0.") == strlen(text))
		cli_problem(cli, "RATE", "must be more than 0");
}

static void rate_set_check(struct cli *cli, void *ctx)
{
	struct rate_draft *d = ctx;
	check_rate(cli, d->rate);
	if (d->currency != NULL && d->reporting_currency != NULL &&
	    strcmp(d->currency, d->reporting_currency) == 0)
		cli_problem(cli, "REPORTING_CURRENCY",
			    "is CURRENCY itself (%s): a currency needs no rate into itself",
			    d->currency);
}

int rate_set(struct cli *cli, int argc, char **argv)
{
	struct rate_draft d = {0};
	struct args_key key = {0};
	const struct args_option operands[] = {
	    ARGS_OPT("CURRENCY", ARGS_CURRENCY, &d.currency, NULL,
		     "the currency converted from, ISO 4217 (e.g. MYR)"),
	    ARGS_OPT("REPORTING_CURRENCY", ARGS_CURRENCY, &d.reporting_currency, NULL,
		     "the currency converted into, ISO 4217 (e.g. USD)"),
	    ARGS_OPT("RATE", ARGS_TEXT, &d.rate, NULL,
		     "what 1 CURRENCY is worth in REPORTING_CURRENCY: a decimal number more "
		     "than 0, at most 12 digits before and 12 after the point"),
	    {0},
	};
	const struct args_option options[] = {
	    ARGS_OPT("--from", ARGS_DATE, &d.valid_from, "YYYY-MM-DD",
		     "the first day the rate is in force", .required = true),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "rate set",
	    .description =
		"Sets the exchange rate that reports use to convert amounts in CURRENCY into\n"
		"REPORTING_CURRENCY (tulay report claims --currency), from a day on, and prints\n"
		"it. Admins only.",
	    .options = options,
	    .operands = operands,
	    .notes =
		"A rate is in force from --from until the next rate of the same pair. Setting\n"
		"another rate for a day that has one replaces it; the old one stays in the\n"
		"audit log. A claim's amounts are converted at the rate in force in the\n"
		"month the claim counts in.",
	    .example = "  tulay rate set MYR USD 0.2135 --from 2026-01-01\n"
		       "  tulay rate set THB USD 0.0281 --from 2026-01-01",
	    .check = rate_set_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;

	Tulay__V1__SetExchangeRate set = TULAY__V1__SET_EXCHANGE_RATE__INIT;
	set.idempotency_key.data = key.bytes;
	set.idempotency_key.len = sizeof(key.bytes);
	set.currency = (char *)d.currency;
	set.reporting_currency = (char *)d.reporting_currency;
	set.rate = (char *)d.rate;
	set.valid_from = (char *)d.valid_from;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_SET_EXCHANGE_RATE;
	req.set_exchange_rate = &set;

	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY_EXCHANGE_RATE, key.bytes,
		      "The rate may or may not have been set", &resp);
	if (rc == CLI_EXIT_OK) {
		const Tulay__V1__ExchangeRate *r = resp->exchange_rate;
		output_heading(cli, "Set 1 %s = %s %s from %s", r->currency, r->rate,
			       r->reporting_currency, r->valid_from);
		rc = output_show(cli, rate_record(r));
	}
	tulay_response_free(resp);
	return rc;
}

/* --- rate list ------------------------------------------------------------------------- */

static const char *rate_page(struct output_list *list, const Tulay__V1__Response *resp)
{
	const Tulay__V1__ExchangeRateList *page = resp->exchange_rates;
	for (size_t i = 0; i < page->n_rates; i++)
		output_list_add(list, rate_record(page->rates[i]));
	return ""; /* one page: the list is not paged */
}

static const struct output_column rate_columns[] = {
    {"currency", "CURRENCY", false}, {"reporting_currency", "REPORTING", false},
    {"rate", "RATE", true},          {"valid_from", "VALID FROM", false},
    {"set_by", "SET BY", false},     {"set_at", "SET AT", false},
};

int rate_list(struct cli *cli, int argc, char **argv)
{
	const char *currency = NULL, *reporting_currency = NULL;
	const struct args_option options[] = {
	    ARGS_OPT("--currency", ARGS_CURRENCY, &currency, "CODE",
		     "only rates from this currency, ISO 4217 (e.g. MYR)"),
	    ARGS_OPT("--reporting-currency", ARGS_CURRENCY, &reporting_currency, "CODE",
		     "only rates into this currency (e.g. USD)"),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "rate list",
	    .description = "Lists the exchange rates reports convert amounts with, by currency,\n"
			   "reporting currency and the day each is in force from.",
	    .options = options,
	    .notes = "JSON and CSV give every field of each rate: currency, reporting_currency,\n"
		     "rate (a decimal, as a string in JSON), valid_from, set_by, set_at.",
	    .example = "  tulay rate list\n"
		       "  tulay rate list --currency MYR --reporting-currency USD --format csv",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	Tulay__V1__ListExchangeRates query = TULAY__V1__LIST_EXCHANGE_RATES__INIT;
	query.currency = (char *)(currency != NULL ? currency : "");
	query.reporting_currency = (char *)(reporting_currency != NULL ? reporting_currency : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_EXCHANGE_RATES;
	req.list_exchange_rates = &query;

	const struct output_list_spec spec = {
	    .columns = rate_columns,
	    .n_columns = sizeof(rate_columns) / sizeof(rate_columns[0]),
	    .empty = "No exchange rates.",
	    .blank = rate_blank,
	};
	const struct rpc_lister lister = {
	    .expect = TULAY__V1__RESPONSE__BODY_EXCHANGE_RATES,
	    .noun = "rates",
	    .page = rate_page,
	    .spec = &spec,
	};
	/* The list has no pages: rate_page never names a next one, so no token is sent. */
	char *no_token = NULL;
	return rpc_list(cli, &lister, &req, &no_token, false);
}
