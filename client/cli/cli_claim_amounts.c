/* The claim commands that record an award, a payment or a note: claim amounts, claim pay
 * and claim note, each a change made against a version of the claim (claim_change_send). */
#include "cli_claim.h"

#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "cli_args.h"
#include "cli_case.h"
#include "cli_claim_common.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_timeline.h"
#include "cli_vocab.h"
#include "iso.h"
#include "money.h"

/* --- amounts awarded and recovered ----------------------------------------------------- */

/* What `claim amounts` collects, for its check. */
struct amounts_draft {
	struct claim_amount awarded, recovered;
	const char *currency;
};

static void claim_amounts_check(struct cli *cli, void *ctx)
{
	struct amounts_draft *d = ctx;
	if (d->awarded.text == NULL && d->recovered.text == NULL)
		cli_problem(
		    cli, "--awarded or --recovered",
		    "is required: what was awarded, what has been recovered so far, or both");
	claim_check_amount(cli, "--awarded", &d->awarded, d->currency, true);
	claim_check_amount(cli, "--recovered", &d->recovered, d->currency, true);
}

static void claim_pay_check(struct cli *cli, void *ctx)
{
	struct amounts_draft *d = ctx;
	claim_check_amount(cli, "--amount", &d->recovered, d->currency, false);
}

/* "WT-2026-000004: awarded 30000.00 MYR, recovered 12000.00 MYR", of what is known. */
static void amounts_heading(const struct cli *cli, const Tulay__V1__Claim *c)
{
	char awarded[64] = "", recovered[64] = "";
	if (c->amount_awarded != NULL)
		claim_money_text(c->amount_awarded, awarded, sizeof(awarded));
	if (c->amount_recovered != NULL)
		claim_money_text(c->amount_recovered, recovered, sizeof(recovered));
	output_heading(cli, "%s: %s%s%s%s%s", c->reference, awarded[0] ? "awarded " : "", awarded,
		       awarded[0] && recovered[0] ? ", " : "", recovered[0] ? "recovered " : "",
		       recovered);
}

/* The --rate-date option of the commands that record money on a claim. */
#define CLAIM_RATE_DATE_OPTION(where)                                                              \
	{                                                                                          \
		.name = "--rate-date", .type = ARGS_DATE, .target = (where),                       \
		.metavar = "YYYY-MM-DD",                                                           \
		.help = "amounts in another currency than the claim's: convert them at the "       \
			"exchange rate in force on this day (tulay rate list)",                    \
	}

int claim_amounts(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL, *org = NULL, *rate_date = NULL;
	struct amounts_draft d = {0};
	uint32_t expected = 0;
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--awarded", ARGS_TEXT, &d.awarded.text, "AMOUNT",
		     "what the forum awarded the worker(s) in all, 0 or more"),
	    ARGS_OPT("--recovered", ARGS_TEXT, &d.recovered.text, "AMOUNT",
		     "what has been recovered in all, while nothing is recorded yet; after "
		     "that, record each payment with tulay claim pay"),
	    ARGS_OPT("--currency", ARGS_CURRENCY, &d.currency, "CODE",
		     "currency of the amounts, ISO 4217 (e.g. MYR): the claim's, unless "
		     "--rate-date converts them",
		     .required = true),
	    CLAIM_RATE_DATE_OPTION(&rate_date),
	    CLAIM_EXPECTED_VERSION_OPTION(&expected),
	    CASE_ORG_OPTION(&org),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "claim amounts",
	    .description =
		"Records what was awarded on a claim of your organisation (and, while nothing\n"
		"is recorded as recovered, what has been), and prints the claim. An amount not\n"
		"given stays as it was. The update goes into the claim's timeline (tulay\n"
		"claim show). Recoveries after the first are payments: tulay claim pay.",
	    .options = options,
	    CLAIM_REFERENCE_OPERAND(&reference),
	    .notes = "Give --awarded, --recovered or both, as totals in the currency's units\n"
		     "with at most its decimal places: 30000.00 MYR, 1500 JPY (none), in the\n"
		     "claim's currency; in another only with --rate-date, which converts them.\n"
		     "\n"
		     "An award is never replaced unseen: when the claim has one, give the\n"
		     "--expected-version you saw it at (tulay claim show); if the claim changed\n"
		     "since, the award and version it has now are shown. Without an award yet,\n"
		     "the version the server shows just before is used.",
	    .example = "  tulay claim amounts WT-2026-000004 --awarded 30000.00 --currency MYR\n"
		       "  tulay claim amounts WT-2026-000004 --recovered 12000.00 --currency MYR "
		       "\\\n"
		       "      --expected-version 5",
	    .check = claim_amounts_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;

	Tulay__V1__UpdateClaimAmounts update = TULAY__V1__UPDATE_CLAIM_AMOUNTS__INIT;
	update.idempotency_key.data = key.bytes;
	update.idempotency_key.len = sizeof(key.bytes);
	update.reference = (char *)reference;
	update.amount_awarded = claim_amount_money(&d.awarded);
	update.amount_recovered = claim_amount_money(&d.recovered);
	update.organisation = (char *)(org != NULL ? org : "");
	update.exchange_rate_date = (char *)(rate_date != NULL ? rate_date : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_UPDATE_CLAIM_AMOUNTS;
	req.update_claim_amounts = &update;
	const struct claim_change ch = {
	    .reference = reference,
	    .expected = expected,
	    .key = &key,
	    .uncertain = "The amounts may or may not have been recorded",
	    .req = &req,
	    .expected_version = &update.expected_version,
	    .heading = amounts_heading,
	    .org = org,
	    .sets_award = d.awarded.text != NULL,
	};
	return claim_change_send(cli, &ch);
}

int claim_pay(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL, *org = NULL, *rate_date = NULL, *paid_on = NULL;
	struct amounts_draft d = {0};
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--amount", ARGS_TEXT, &d.recovered.text, "AMOUNT",
		     "what was paid this time, more than 0 (not the total so far)",
		     .required = true),
	    ARGS_OPT("--currency", ARGS_CURRENCY, &d.currency, "CODE",
		     "currency of the payment, ISO 4217: the claim's, unless --rate-date "
		     "converts it",
		     .required = true),
	    ARGS_OPT("--paid-on", ARGS_DATE, &paid_on, "YYYY-MM-DD",
		     "the day it was paid, not in the future", .required = true),
	    CLAIM_RATE_DATE_OPTION(&rate_date),
	    CASE_ORG_OPTION(&org),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "claim pay",
	    .description =
		"Records a payment recovered for the worker(s) of a claim: payments add up\n"
		"into what the claim has recovered, and never replace one another. Prints\n"
		"the claim; the payment goes into its timeline (tulay claim show).",
	    .options = options,
	    CLAIM_REFERENCE_OPERAND(&reference),
	    .notes = "The amount is in the claim's currency; a payment in another currency\n"
		     "needs --rate-date, the day whose exchange rate converts it (an admin sets\n"
		     "rates: tulay rate set). Run again with the --idempotency-key printed when\n"
		     "the outcome is unknown: a payment is never recorded twice.",
	    .example = "  tulay claim pay WT-2026-000004 --amount 4000.00 --currency MYR "
		       "--paid-on 2026-11-30\n"
		       "  tulay claim pay WT-2026-000004 --amount 900.00 --currency USD \\\n"
		       "      --paid-on 2026-12-01 --rate-date 2026-12-01",
	    .check = claim_pay_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;

	Tulay__V1__RecordPayment pay = TULAY__V1__RECORD_PAYMENT__INIT;
	pay.idempotency_key.data = key.bytes;
	pay.idempotency_key.len = sizeof(key.bytes);
	pay.reference = (char *)reference;
	pay.amount = claim_amount_money(&d.recovered);
	pay.paid_on = (char *)paid_on;
	pay.exchange_rate_date = (char *)(rate_date != NULL ? rate_date : "");
	pay.organisation = (char *)(org != NULL ? org : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_RECORD_PAYMENT;
	req.record_payment = &pay;

	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY_CLAIM, key.bytes,
		      "The payment may or may not have been recorded", &resp);
	if (rc == CLI_EXIT_OK) {
		amounts_heading(cli, resp->claim);
		rc = output_show(cli, claim_record(resp->claim));
	}
	tulay_response_free(resp);
	return rc;
}

/* `ctx` is the note's text (const char **). */
static void claim_note_check(struct cli *cli, void *ctx)
{
	args_check_length(cli, "--text", *(const char **)ctx, CLAIM_NOTE_MAX);
}

int claim_note(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL, *on = NULL, *text = NULL, *org = NULL;
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--text", ARGS_TEXT, &text, "TEXT",
		     "the note, 1-4000 characters (encrypted by the server)", .required = true),
	    CLAIM_ON_OPTION(&on, "the day it happened"),
	    CASE_ORG_OPTION(&org),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = cli->command != NULL ? cli->command : "claim note",
	    .description =
		"Adds a dated note to the timeline of a case: a claim, a deportation or a\n"
		"recommendation (a follow-up). A call with the worker, a hearing, a\n"
		"promise of payment, a reply from a ministry. Prints the note as recorded;\n"
		"the case's show command lists all of them.",
	    .options = options,
	    .operand = "REFERENCE",
	    .operand_help = "the case's reference, e.g. WT-2026-000123, DP-2026-000004",
	    .operand_value = &reference,
	    .example = "  tulay claim note WT-2026-000123 --on 2026-03-05 \\\n"
		       "      --text \"Hearing at the labour office moved to 12 March\"",
	    .check = claim_note_check,
	    .check_ctx = &text,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;

	Tulay__V1__AddCaseNote add = TULAY__V1__ADD_CASE_NOTE__INIT;
	add.idempotency_key.data = key.bytes;
	add.idempotency_key.len = sizeof(key.bytes);
	add.reference = (char *)reference;
	add.occurred_on = (char *)(on != NULL ? on : "");
	add.text = (char *)text;
	add.organisation = (char *)(org != NULL ? org : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_ADD_CASE_NOTE;
	req.add_case_note = &add;

	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY_CASE_EVENT, key.bytes,
		      "The note may or may not have been added", &resp);
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "Added a note to %s", reference);
		rc = output_show(cli, timeline_event_record(resp->case_event));
	}
	tulay_response_free(resp);
	return rc;
}
