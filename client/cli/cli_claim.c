#include "cli_claim.h"
#include "cli_claim_common.h"

#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "cli_args.h"
#include "cli_case.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_timeline.h"
#include "cli_vocab.h"
#include "iso.h"
#include "money.h"

/* Room for the words of a vocabulary joined, in messages, help and listings. */
#define CLAIM_WORDS_BYTES 256

/* The label of a field that every claim has as a JSON key and a CSV column, but that the
 * listing shows only when it is set. */
static const char *label_if(bool set, const char *label)
{
	return set ? label : NULL;
}

struct output_record *claim_record(const Tulay__V1__Claim *c)
{
	struct output_record *rec = output_record_new();
	/* The means as the words --exploitation takes: "id-confiscated,threats". */
	char means[CLAIM_WORDS_BYTES];
	if (rec == NULL ||
	    !vocab_join_values(&vocab_exploitation_means, (const int *)c->exploitation_means,
			       c->n_exploitation_means, means, sizeof(means))) {
		output_record_free(rec);
		return NULL;
	}
	output_add_text(rec, "reference", "Reference", c->reference);
	output_add_text(rec, "organisation", "Organisation", c->organisation);
	output_add_text(rec, "status", "Status", vocab_word(&vocab_claim_statuses, c->status));
	output_add_human(rec, "corridor", "Corridor", "%s → %s", c->worker_nationality,
			 c->country_of_work);
	output_add_country(rec, "worker_nationality", "Nationality", c->worker_nationality);
	output_add_country(rec, "country_of_work", "Country of work", c->country_of_work);
	output_add_text(rec, "sector", "Sector", vocab_word(&vocab_sectors, c->sector));
	output_add_text(rec, "employer", "Employer", c->employer);
	output_add_text(rec, "work_started_on", NULL, c->work_started_on);
	output_add_text(rec, "work_ended_on", NULL, c->work_ended_on);
	output_add_human(rec, "work_period", "Work period", "%s – %s", c->work_started_on,
			 c->work_ended_on);
	/* The optional details: always JSON keys and CSV columns (null or empty when
	 * unknown), in the listing only when known. */
	output_add_text(rec, "recruitment_agency",
			label_if(c->recruitment_agency[0] != '\0', "Recruitment agency"),
			c->recruitment_agency);
	output_add_money(rec, "recruitment_fee", label_if(c->recruitment_fee != NULL, "Agency fee"),
			 c->recruitment_fee);
	output_add_money(rec, "contract_wage", label_if(c->contract_wage != NULL, "Contract wage"),
			 c->contract_wage);
	output_add_money(rec, "actual_wage", label_if(c->actual_wage != NULL, "Actual wage"),
			 c->actual_wage);
	output_add_text(rec, "exploitation_means", label_if(means[0] != '\0', "Exploitation"),
			means);
	output_add_money(rec, "amount_claimed", "Amount claimed", c->amount_claimed);
	output_add_money(rec, "amount_awarded", label_if(c->amount_awarded != NULL, "Awarded"),
			 c->amount_awarded);
	output_add_money(rec, "amount_recovered",
			 label_if(c->amount_recovered != NULL, "Recovered"), c->amount_recovered);
	output_add_int(rec, "workers", "Workers", c->workers);
	output_add_text(rec, "forum", label_if(c->forum != 0, "Forum"),
			vocab_optional_word(&vocab_claim_forums, c->forum));
	output_add_text(rec, "filing_deadline",
			label_if(c->filing_deadline[0] != '\0', "Filing deadline"),
			c->filing_deadline);
	output_add_text(rec, "opened_on", "Opened on", c->opened_on);
	output_add_text(rec, "closed_on", label_if(c->closed_on[0] != '\0', "Closed on"),
			c->closed_on);
	output_add_int(rec, "version", "Version", c->version);
	output_add_text(rec, "created_by", "Created by", c->created_by);
	output_add_time(rec, "created_at", "Created at", c->created_at);
	/* Only `claim show` and `claim add` receive the worker's identity; lists never do. */
	if (c->worker != NULL) {
		output_add_text(rec, "worker_name", "Worker", c->worker->name);
		output_add_text(rec, "worker_id_number", "Worker ID number", c->worker->id_number);
		output_add_text(rec, "worker_phone", "Worker phone", c->worker->phone);
	}
	return rec;
}

static struct output_record *claim_blank(void)
{
	Tulay__V1__Claim claim = TULAY__V1__CLAIM__INIT;
	return claim_record(&claim);
}

/* Checks the amount `a` given with `flag` in `currency` (either may be missing: the
 * pairing is checked apart) and stores it in a->money; reports a problem naming `flag`
 * otherwise. Zero passes only with `zero_ok`. */
void claim_check_amount(struct cli *cli, const char *flag, struct claim_amount *a,
			const char *currency, bool zero_ok)
{
	if (a->text == NULL || currency == NULL)
		return;
	const struct iso_currency *cur = iso_currency_find(currency);
	int64_t minor_units = 0;
	enum money_error err = money_parse(a->text, currency, &minor_units);
	if (err == MONEY_TOO_PRECISE && cur != NULL && cur->minor_units == 0)
		cli_problem(cli, flag,
			    "'%s' has decimals, but %s has no minor unit: give a whole number",
			    a->text, currency);
	else if (err == MONEY_TOO_PRECISE && cur != NULL)
		cli_problem(cli, flag, "'%s' has more than the %d decimal places of %s", a->text,
			    cur->minor_units, currency);
	else if (err != MONEY_OK)
		cli_problem(cli, flag, "'%s' %s", a->text, money_error_text(err));
	else if (minor_units == 0 && !zero_ok)
		cli_problem(cli, flag, "must be more than zero");
	a->money = (Tulay__V1__Money)TULAY__V1__MONEY__INIT;
	a->money.minor_units = minor_units;
	a->money.currency = (char *)currency;
}

/* The checked amount for a request, or NULL (unset) when it was not given. */
Tulay__V1__Money *claim_amount_money(struct claim_amount *a)
{
	return a->text != NULL ? &a->money : NULL;
}

/* A currency option given without any of the amounts it is for, or amounts without it:
 * `amounts` names their options ("--agency-fee"). */
static void check_currency_given(struct cli *cli, const char *flag, const char *currency,
				 bool amount_given, const char *amounts)
{
	if (amount_given && currency == NULL)
		cli_problem(cli, flag, "is required with %s: say which currency it is in", amounts);
	else if (!amount_given && currency != NULL)
		cli_problem(cli, flag,
			    "is only for %s, which is not given: add it or leave this out",
			    amounts);
}

/* What `claim add` collects before it builds the request. */
struct claim_draft {
	const char *nationality;
	const char *country_of_work;
	int sector;
	const char *employer;
	const char *work_start;
	const char *work_end;
	struct claim_amount claimed;
	const char *currency;
	uint32_t workers;
	const char *worker_name;
	const char *worker_id_number;
	const char *worker_phone;
	const char *agency;
	struct claim_amount agency_fee;
	const char *agency_fee_currency;
	struct claim_amount contract_wage, actual_wage;
	const char *wage_currency;
	int forum;
	const char *filing_deadline;
	struct args_choices means; /* --exploitation */
	const char *org;
	struct args_key key;
};

/* The checks that need two options: each amount in its currency and the period's order. */
static void claim_add_check(struct cli *cli, void *ctx)
{
	struct claim_draft *d = ctx;
	claim_check_amount(cli, "--amount", &d->claimed, d->currency, false);
	check_currency_given(cli, "--agency-fee-currency", d->agency_fee_currency,
			     d->agency_fee.text != NULL, "--agency-fee");
	claim_check_amount(cli, "--agency-fee", &d->agency_fee, d->agency_fee_currency, true);
	check_currency_given(cli, "--wage-currency", d->wage_currency,
			     d->contract_wage.text != NULL || d->actual_wage.text != NULL,
			     "--contract-wage or --actual-wage");
	claim_check_amount(cli, "--contract-wage", &d->contract_wage, d->wage_currency, false);
	claim_check_amount(cli, "--actual-wage", &d->actual_wage, d->wage_currency, true);
	struct civil_date start, end;
	if (d->work_start != NULL && d->work_end != NULL &&
	    civil_date_parse(d->work_start, &start) && civil_date_parse(d->work_end, &end) &&
	    civil_date_cmp(&end, &start) < 0)
		cli_problem(cli, "--work-end", "%s is before --work-start %s", d->work_end,
			    d->work_start);
}

int claim_add(struct cli *cli, int argc, char **argv)
{
	struct claim_draft d = {.workers = 1};
	const struct args_option options[] = {
	    ARGS_OPT("--nationality", ARGS_COUNTRY, &d.nationality, "CC",
		     "the worker's country of origin, ISO 3166-1 alpha-2 (e.g. PH)",
		     .required = true),
	    ARGS_OPT("--country-of-work", ARGS_COUNTRY, &d.country_of_work, "CC",
		     "where the work was done (e.g. MY)", .required = true),
	    ARGS_OPT("--sector", ARGS_CHOICE, &d.sector, "SECTOR", "the sector of the work",
		     .required = true, .choices = &vocab_sectors),
	    ARGS_OPT("--employer", ARGS_TEXT, &d.employer, "TEXT",
		     "the employer's name, 1-200 characters", .required = true),
	    ARGS_OPT("--work-start", ARGS_DATE, &d.work_start, "YYYY-MM-DD",
		     "first day of the work the claim is about", .required = true),
	    ARGS_OPT("--work-end", ARGS_DATE, &d.work_end, "YYYY-MM-DD",
		     "last day of that work, not before --work-start", .required = true),
	    ARGS_OPT("--amount", ARGS_TEXT, &d.claimed.text, "AMOUNT",
		     "amount claimed, e.g. 45000.00: digits and one '.' only", .required = true),
	    ARGS_OPT("--currency", ARGS_CURRENCY, &d.currency, "CODE",
		     "currency of the amount, ISO 4217 (e.g. MYR)", .required = true),
	    ARGS_OPT("--workers", ARGS_COUNT, &d.workers, "N",
		     "workers in a group claim, 1-100000 (default 1)", .min = 1, .max = 100000),
	    ARGS_OPT("--worker-name", ARGS_TEXT, &d.worker_name, "NAME",
		     "the worker's name (optional; encrypted by the server)"),
	    ARGS_OPT("--worker-id-number", ARGS_TEXT, &d.worker_id_number, "ID",
		     "passport or ID number (optional; encrypted; found by exact match with tulay "
		     "case list --id-number)"),
	    ARGS_OPT("--worker-phone", ARGS_TEXT, &d.worker_phone, "PHONE",
		     "the worker's phone number (optional; encrypted)"),
	    ARGS_OPT("--agency", ARGS_TEXT, &d.agency, "TEXT",
		     "the recruitment agency's name, 1-200 characters"),
	    ARGS_OPT("--agency-fee", ARGS_TEXT, &d.agency_fee.text, "AMOUNT",
		     "what the worker paid the agency (0 or more), with --agency-fee-currency"),
	    ARGS_OPT("--agency-fee-currency", ARGS_CURRENCY, &d.agency_fee_currency, "CODE",
		     "currency of the agency fee, often the origin country's (e.g. BDT)"),
	    ARGS_OPT("--contract-wage", ARGS_TEXT, &d.contract_wage.text, "AMOUNT",
		     "monthly wage in the contract (more than 0), with --wage-currency"),
	    ARGS_OPT("--actual-wage", ARGS_TEXT, &d.actual_wage.text, "AMOUNT",
		     "monthly wage actually paid (0 or more), with --wage-currency"),
	    ARGS_OPT("--wage-currency", ARGS_CURRENCY, &d.wage_currency, "CODE",
		     "currency of both wages (e.g. MYR)"),
	    ARGS_OPT("--forum", ARGS_CHOICE, &d.forum, "FORUM", "where the claim is pursued",
		     .choices = &vocab_claim_forums),
	    ARGS_OPT("--filing-deadline", ARGS_DATE, &d.filing_deadline, "YYYY-MM-DD",
		     "the last day to file the claim with the forum"),
	    ARGS_OPT("--exploitation", ARGS_CHOICES, &d.means, "LIST",
		     "how the worker was held or cheated, comma-separated",
		     .choices = &vocab_exploitation_means),
	    CLAIM_ORG_OPTION(&d.org, "log it for this organisation"),
	    ARGS_IDEMPOTENCY_KEY(&d.key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "claim add",
	    .description =
		"Logs a new wage-theft claim, with status intake, and prints it with the\n"
		"reference the server gave it. Values are checked here before anything is\n"
		"sent. If the outcome is unknown (the connection or the database failed),\n"
		"the idempotency key is printed: repeating the command with\n"
		"--idempotency-key never logs the claim twice.",
	    .options = options,
	    .notes = "Amounts are in the currency's units with at most its decimal places:\n"
		     "45000.00 MYR, 1500 JPY (none), 12.345 KWD (three). The agency fee has a\n"
		     "currency of its own (it is mostly paid at home); both wages are monthly,\n"
		     "in --wage-currency. Recruitment details, forum, deadline and means of\n"
		     "exploitation are optional: give what is known. Amounts awarded and\n"
		     "recovered come later, with tulay claim amounts.",
	    .example =
		"  tulay claim add --nationality PH --country-of-work MY \\\n"
		"      --sector construction --employer \"Syarikat Binaan Jaya Sdn Bhd\" \\\n"
		"      --work-start 2025-01-06 --work-end 2025-11-30 \\\n"
		"      --amount 45000.00 --currency MYR --workers 12\n"
		"  tulay claim add --nationality BD --country-of-work MY \\\n"
		"      --sector manufacturing --employer \"Perkasa Glove Industries Sdn Bhd\" \\\n"
		"      --work-start 2024-03-01 --work-end 2025-08-31 \\\n"
		"      --amount 10800.00 --currency MYR \\\n"
		"      --agency \"Dhaka Overseas Manpower Ltd\" \\\n"
		"      --agency-fee 450000 --agency-fee-currency BDT \\\n"
		"      --contract-wage 1500.00 --actual-wage 900.00 --wage-currency MYR \\\n"
		"      --forum labour-court --filing-deadline 2026-08-31 \\\n"
		"      --exploitation id-confiscated,forced-signature",
	    .check = claim_add_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &d.key, &rc))
		return rc;

	Tulay__V1__CreateClaim create = TULAY__V1__CREATE_CLAIM__INIT;
	create.idempotency_key.data = d.key.bytes;
	create.idempotency_key.len = sizeof(d.key.bytes);
	create.organisation = (char *)(d.org != NULL ? d.org : "");
	create.worker_nationality = (char *)d.nationality;
	create.country_of_work = (char *)d.country_of_work;
	create.sector = (Tulay__V1__Sector)d.sector;
	create.employer = (char *)d.employer;
	create.work_started_on = (char *)d.work_start;
	create.work_ended_on = (char *)d.work_end;
	create.amount_claimed = claim_amount_money(&d.claimed);
	create.workers = d.workers;
	create.recruitment_agency = (char *)(d.agency != NULL ? d.agency : "");
	create.recruitment_fee = claim_amount_money(&d.agency_fee);
	create.contract_wage = claim_amount_money(&d.contract_wage);
	create.actual_wage = claim_amount_money(&d.actual_wage);
	create.forum = (Tulay__V1__ClaimForum)d.forum;
	create.filing_deadline = (char *)(d.filing_deadline != NULL ? d.filing_deadline : "");
	create.exploitation_means = (Tulay__V1__ExploitationMeans *)d.means.values;
	create.n_exploitation_means = d.means.n;
	Tulay__V1__Worker worker = TULAY__V1__WORKER__INIT;
	if (d.worker_name != NULL || d.worker_id_number != NULL || d.worker_phone != NULL) {
		worker.name = (char *)(d.worker_name != NULL ? d.worker_name : "");
		worker.id_number = (char *)(d.worker_id_number != NULL ? d.worker_id_number : "");
		worker.phone = (char *)(d.worker_phone != NULL ? d.worker_phone : "");
		create.worker = &worker;
	}
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	req.create_claim = &create;

	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY_CLAIM, d.key.bytes,
		      "The claim may or may not have been logged", &resp);
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "Logged claim %s", resp->claim->reference);
		case_warn_duplicates(cli, resp->claim->possible_duplicates,
				     resp->claim->n_possible_duplicates);
		rc = output_show(cli, claim_record(resp->claim));
	}
	tulay_response_free(resp);
	return rc;
}

/* --- one claim and its timeline -------------------------------------------------------- */

/* Asks for the claim `reference` of `org` ("": the caller's own) on `rpc`. Returns
 * CLI_EXIT_OK with the Response (body claim) in *out for the caller to free, or the exit
 * code after saying what failed. */
static int claim_get(struct rpc *rpc, const char *reference, const char *org,
		     Tulay__V1__Response **out)
{
	Tulay__V1__GetClaim get = TULAY__V1__GET_CLAIM__INIT;
	get.reference = (char *)reference;
	get.organisation = (char *)org;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_CLAIM;
	req.get_claim = &get;
	return rpc_call(rpc, &req, TULAY__V1__RESPONSE__BODY_CLAIM, out);
}

/* Prints the claim of resp and its timeline. */
static int claim_print(const struct cli *cli, const Tulay__V1__Response *resp)
{
	return timeline_show(cli, claim_record(resp->claim), resp->claim->timeline,
			     resp->claim->n_timeline);
}

int claim_show(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL, *org = NULL;
	const struct args_option options[] = {
	    CLAIM_ORG_OPTION(&org, "the claim's organisation"),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "claim show",
	    .description =
		"Shows one claim: corridor, sector, employer, work period, amount, status\n"
		"and who logged it, then its timeline, oldest first: when it was opened,\n"
		"each change of status with its reason, and the notes, each with the day it\n"
		"happened and who recorded it.",
	    .options = options,
	    CLAIM_REFERENCE_OPERAND(&reference),
	    .notes = "With --format json, one object: the claim's fields and the array\n"
		     "timeline. With --format csv, the claim's record only.",
	    .example = "  tulay claim show WT-2026-000123\n"
		       "  tulay claim show WT-2026-000123 --format json",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	return rpc_show(cli, claim_get, reference, org, claim_print);
}

static const char *claim_page(struct output_list *list, const Tulay__V1__Response *resp)
{
	const Tulay__V1__ClaimList *page = resp->claims;
	for (size_t i = 0; i < page->n_claims; i++)
		output_list_add(list, claim_record(page->claims[i]));
	return page->next_page_token;
}

static const struct output_column claim_columns[] = {
    {"reference", "REFERENCE", false},   {"status", "STATUS", false},
    {"corridor", "CORRIDOR", false},     {"sector", "SECTOR", false},
    {"employer", "EMPLOYER", false},     {"work_period", "WORK PERIOD", false},
    {"amount_claimed", "CLAIMED", true}, {"workers", "WORKERS", true},
    {"opened_on", "OPENED", false},
};

static const struct output_list_spec claim_list_spec = {
    .columns = claim_columns,
    .n_columns = sizeof(claim_columns) / sizeof(claim_columns[0]),
    .empty = "No claims.",
    .blank = claim_blank,
};

static const struct rpc_lister claim_lister = {
    .expect = TULAY__V1__RESPONSE__BODY_CLAIMS,
    .noun = "claims",
    .page = claim_page,
    .spec = &claim_list_spec,
};

int claim_list(struct cli *cli, int argc, char **argv)
{
	const char *country_of_work = NULL, *org = NULL, *worker_id_number = NULL;
	int status = 0;
	uint32_t limit = 0;
	bool all = false;
	const struct args_option options[] = {
	    ARGS_OPT("--country-of-work", ARGS_COUNTRY, &country_of_work, "CC",
		     "only claims about work in this country (e.g. MY)"),
	    ARGS_OPT("--status", ARGS_CHOICE, &status, "STATUS", "only claims with this status",
		     .choices = &vocab_claim_statuses),
	    ARGS_OPT("--worker-id-number", ARGS_TEXT, &worker_id_number, "ID",
		     "only claims of the worker with this passport or ID number (exact)"),
	    CLAIM_ORG_OPTION(&org, "claims of this organisation"),
	    ARGS_PAGE_LIMIT(&limit),
	    ARGS_ALL_PAGES(&all),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "claim list",
	    .description = "Lists wage-theft claims, newest first.",
	    .options = options,
	    .example = "  tulay claim list --country-of-work MY --status in-mediation\n"
		       "  tulay claim list --all --format csv > claims.csv",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	Tulay__V1__ListClaims query = TULAY__V1__LIST_CLAIMS__INIT;
	query.organisation = (char *)(org != NULL ? org : "");
	query.country_of_work = (char *)(country_of_work != NULL ? country_of_work : "");
	query.status = (Tulay__V1__ClaimStatus)status;
	query.worker_id_number = (char *)(worker_id_number != NULL ? worker_id_number : "");
	query.limit = limit;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_CLAIMS;
	req.list_claims = &query;

	return rpc_list(cli, &claim_lister, &req, &query.page_token, all);
}

/* --- the case's course: status changes and notes ------------------------------------ */

/* What `claim status` collects, for its check. */
struct status_draft {
	int status;
	const char *reason;
};

static void claim_status_check(struct cli *cli, void *ctx)
{
	const struct status_draft *d = ctx;
	args_check_length(cli, "--reason", d->reason, CLAIM_REASON_MAX);
	/* Closing always needs a reason, and so does moving to intake: the only way there
	 * is reopening a withdrawn claim. Reopening a rejected claim (to filed) is known only
	 * to the server, which sees the current status. */
	bool closing = d->status == TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_REJECTED ||
		       d->status == TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_WITHDRAWN;
	bool reopening = d->status == TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_INTAKE;
	if ((closing || reopening) && d->reason == NULL)
		cli_problem(cli, "--reason", "is required to %s a claim (--to %s): say why",
			    closing ? "close" : "reopen",
			    vocab_word(&vocab_claim_statuses, d->status));
}

/* `m` as "30000.00 MYR" in buf (64 bytes are plenty). */
const char *claim_money_text(const Tulay__V1__Money *m, char *buf, size_t cap)
{
	char amount[32];
	if (money_format(m->minor_units, m->currency, amount, sizeof(amount)) >= 0)
		snprintf(buf, cap, "%s %s", amount, m->currency);
	else
		snprintf(buf, cap, "%lld minor units of %s", (long long)m->minor_units,
			 m->currency);
	return buf;
}

/* "30000.00 MYR" in buf, or "none" when `m` is unset. */
const char *claim_money_or_none(const Tulay__V1__Money *m, char *buf, size_t cap)
{
	if (m == NULL) {
		snprintf(buf, cap, "none");
		return buf;
	}
	return claim_money_text(m, buf, cap);
}

/* After a refusal of an award change sent with `sent`: when the claim has moved on,
 * says what its award and version are now. `ctx` is the claim_change. */
static void award_now(struct rpc *rpc, const void *ctx, int64_t sent)
{
	const struct claim_change *ch = ctx;
	Tulay__V1__Response *resp = NULL;
	if (claim_get(rpc, ch->reference, ch->org != NULL ? ch->org : "", &resp) == CLI_EXIT_OK &&
	    resp->claim->version != sent) {
		char award[64];
		cli_detail("the claim is at version %lld now, its award %s: check it (tulay claim "
			   "show %s), then give --expected-version %lld",
			   (long long)resp->claim->version,
			   claim_money_or_none(resp->claim->amount_awarded, award, sizeof(award)),
			   ch->reference, (long long)resp->claim->version);
	}
	tulay_response_free(resp);
}

/* The claim's version now, for --expected-version's default (rpc_current_fn, `ctx` the
 * claim_change). A change that sets the award is refused when the claim has one already:
 * without --expected-version it would be overwritten unseen. */
static int claim_current_version(struct rpc *rpc, const void *ctx, int64_t *version)
{
	const struct claim_change *ch = ctx;
	Tulay__V1__Response *now = NULL;
	int rc = claim_get(rpc, ch->reference, ch->org != NULL ? ch->org : "", &now);
	if (rc == CLI_EXIT_OK) {
		*version = now->claim->version;
		if (ch->sets_award && now->claim->amount_awarded != NULL) {
			char award[64];
			cli_error(
			    rpc->cli,
			    "%s already has an award of %s (version %lld): to replace it, "
			    "give --expected-version %lld",
			    ch->reference,
			    claim_money_or_none(now->claim->amount_awarded, award, sizeof(award)),
			    (long long)*version, (long long)*version);
			rc = CLI_EXIT_REFUSED;
		}
	}
	tulay_response_free(now);
	return rc;
}

/* Sends the change on one connection, after asking for the claim's current version when
 * none was given, and prints the changed claim. Returns the exit code. */
int claim_change_send(struct cli *cli, const struct claim_change *ch)
{
	*ch->expected_version = ch->expected;
	const struct rpc_change change = {
	    .req = ch->req,
	    .expect = TULAY__V1__RESPONSE__BODY_CLAIM,
	    .expected = ch->expected_version,
	    .current = claim_current_version,
	    .ctx = ch,
	    .key = ch->key->bytes,
	    .uncertain = ch->uncertain,
	    .refused = ch->sets_award ? award_now : NULL,
	};
	Tulay__V1__Response *resp = NULL;
	int rc = rpc_change(cli, &change, &resp);
	if (rc == CLI_EXIT_OK) {
		ch->heading(cli, resp->claim);
		rc = output_show(cli, claim_record(resp->claim));
	}
	tulay_response_free(resp);
	return rc;
}

static void status_heading(const struct cli *cli, const Tulay__V1__Claim *c)
{
	output_heading(cli, "%s is now %s", c->reference,
		       vocab_word(&vocab_claim_statuses, c->status));
}

int claim_status(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL, *on = NULL, *org = NULL;
	struct status_draft d = {0};
	uint32_t expected = 0;
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--to", ARGS_CHOICE, &d.status, "STATUS",
		     "the new status: one the current one may move to (see below)",
		     .required = true, .choices = &vocab_claim_statuses),
	    ARGS_OPT("--reason", ARGS_TEXT, &d.reason, "TEXT",
		     "why, 1-1000 characters: required to close (rejected, withdrawn) or "
		     "reopen a claim"),
	    CLAIM_ON_OPTION(&on, "the day the status changed"),
	    CLAIM_EXPECTED_VERSION_OPTION(&expected),
	    CASE_ORG_OPTION(&org),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "claim status",
	    .description =
		"Moves a claim of your organisation to another status, as of a day, and\n"
		"prints the claim. The move, its reason and who made it go into the claim's\n"
		"timeline (tulay claim show).",
	    .options = options,
	    CLAIM_REFERENCE_OPERAND(&reference),
	    .notes = "Allowed moves:\n"
		     "  intake          -> filed, rejected, withdrawn\n"
		     "  filed           -> in-mediation, awarded, rejected, withdrawn\n"
		     "  in-mediation    -> filed, awarded, rejected, withdrawn\n"
		     "  awarded         -> partially-paid, paid\n"
		     "  partially-paid  -> paid\n"
		     "  rejected        -> filed (reopened, e.g. on appeal)\n"
		     "  withdrawn       -> intake (reopened)\n"
		     "Closing a claim (rejected, withdrawn) and reopening it need --reason.\n"
		     "\n" CLAIM_EXPECTED_VERSION_NOTE,
	    .example = "  tulay claim status WT-2026-000123 --to filed --on 2026-03-02\n"
		       "  tulay claim status WT-2026-000123 --to withdrawn \\\n"
		       "      --reason \"The worker went home and does not wish to go on\"",
	    .check = claim_status_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;

	char uncertain[80];
	snprintf(uncertain, sizeof(uncertain), "The claim may or may not be %s now",
		 vocab_word(&vocab_claim_statuses, d.status));
	Tulay__V1__ChangeClaimStatus change = TULAY__V1__CHANGE_CLAIM_STATUS__INIT;
	change.idempotency_key.data = key.bytes;
	change.idempotency_key.len = sizeof(key.bytes);
	change.reference = (char *)reference;
	change.status = (Tulay__V1__ClaimStatus)d.status;
	change.reason = (char *)(d.reason != NULL ? d.reason : "");
	change.occurred_on = (char *)(on != NULL ? on : "");
	change.organisation = (char *)(org != NULL ? org : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CHANGE_CLAIM_STATUS;
	req.change_claim_status = &change;
	const struct claim_change ch = {
	    .reference = reference,
	    .expected = expected,
	    .key = &key,
	    .uncertain = uncertain,
	    .req = &req,
	    .expected_version = &change.expected_version,
	    .heading = status_heading,
	    .org = org,
	};
	return claim_change_send(cli, &ch);
}
