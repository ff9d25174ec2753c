#include "cli_claim.h"

#include "civil_date.h"
#include "cli_args.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_vocab.h"
#include "iso.h"
#include "money.h"

static struct output_record *claim_record(const Tulay__V1__Claim *c)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
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
	output_add_money(rec, "amount_claimed", "Amount claimed", c->amount_claimed);
	output_add_int(rec, "workers", "Workers", c->workers);
	output_add_text(rec, "opened_on", "Opened on", c->opened_on);
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

/* The --org option, naming another organisation than the user's own. */
#define CLAIM_ORG_OPTION(where, what)                                                              \
	{                                                                                          \
		.name = "--org", .type = ARGS_ACRONYM, .target = (where), .metavar = "ACRONYM",    \
		.help = what " (default: your own)",                                               \
	}

/* What `claim add` collects before it builds the request. */
struct claim_draft {
	const char *nationality;
	const char *country_of_work;
	int sector;
	const char *employer;
	const char *work_start;
	const char *work_end;
	const char *amount;
	const char *currency;
	int64_t minor_units; /* the amount, once checked against the currency */
	uint32_t workers;
	const char *worker_name;
	const char *worker_id_number;
	const char *worker_phone;
	const char *org;
	struct args_key key;
};

static void amount_problem(struct cli *cli, const struct claim_draft *d, enum money_error err)
{
	const struct iso_currency *cur = iso_currency_find(d->currency);
	if (err == MONEY_TOO_PRECISE && cur != NULL && cur->minor_units == 0)
		cli_problem(cli, "--amount",
			    "'%s' has decimals, but %s has no minor unit: give a whole number",
			    d->amount, d->currency);
	else if (err == MONEY_TOO_PRECISE && cur != NULL)
		cli_problem(cli, "--amount", "'%s' has more than the %d decimal places of %s",
			    d->amount, cur->minor_units, d->currency);
	else
		cli_problem(cli, "--amount", "'%s' %s", d->amount, money_error_text(err));
}

/* The checks that need two options: the amount in its currency, the period's order. */
static void claim_add_check(struct cli *cli, void *ctx)
{
	struct claim_draft *d = ctx;
	if (d->amount != NULL && d->currency != NULL) {
		enum money_error err = money_parse(d->amount, d->currency, &d->minor_units);
		if (err != MONEY_OK)
			amount_problem(cli, d, err);
		else if (d->minor_units == 0)
			cli_problem(cli, "--amount", "must be more than zero");
	}
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
	    {.name = "--nationality",
	     .type = ARGS_COUNTRY,
	     .target = &d.nationality,
	     .metavar = "CC",
	     .help = "the worker's country of origin, ISO 3166-1 alpha-2 (e.g. PH)",
	     .required = true},
	    {.name = "--country-of-work",
	     .type = ARGS_COUNTRY,
	     .target = &d.country_of_work,
	     .metavar = "CC",
	     .help = "where the work was done (e.g. MY)",
	     .required = true},
	    {.name = "--sector",
	     .type = ARGS_CHOICE,
	     .target = &d.sector,
	     .metavar = "SECTOR",
	     .help = "the sector of the work",
	     .required = true,
	     .choices = &vocab_sectors},
	    {.name = "--employer",
	     .type = ARGS_TEXT,
	     .target = &d.employer,
	     .metavar = "TEXT",
	     .help = "the employer's name, 1-200 characters",
	     .required = true},
	    {.name = "--work-start",
	     .type = ARGS_DATE,
	     .target = &d.work_start,
	     .metavar = "YYYY-MM-DD",
	     .help = "first day of the work the claim is about",
	     .required = true},
	    {.name = "--work-end",
	     .type = ARGS_DATE,
	     .target = &d.work_end,
	     .metavar = "YYYY-MM-DD",
	     .help = "last day of that work, not before --work-start",
	     .required = true},
	    {.name = "--amount",
	     .type = ARGS_TEXT,
	     .target = &d.amount,
	     .metavar = "AMOUNT",
	     .help = "amount claimed, e.g. 45000.00: digits and one '.' only",
	     .required = true},
	    {.name = "--currency",
	     .type = ARGS_CURRENCY,
	     .target = &d.currency,
	     .metavar = "CODE",
	     .help = "currency of the amount, ISO 4217 (e.g. MYR)",
	     .required = true},
	    {.name = "--workers",
	     .type = ARGS_COUNT,
	     .target = &d.workers,
	     .metavar = "N",
	     .help = "workers in a group claim, 1-100000 (default 1)",
	     .min = 1,
	     .max = 100000},
	    {.name = "--worker-name",
	     .type = ARGS_TEXT,
	     .target = &d.worker_name,
	     .metavar = "NAME",
	     .help = "the worker's name (optional; encrypted by the server)"},
	    {.name = "--worker-id-number",
	     .type = ARGS_TEXT,
	     .target = &d.worker_id_number,
	     .metavar = "ID",
	     .help = "passport or ID number (optional; encrypted, findable by exact match)"},
	    {.name = "--worker-phone",
	     .type = ARGS_TEXT,
	     .target = &d.worker_phone,
	     .metavar = "PHONE",
	     .help = "the worker's phone number (optional; encrypted)"},
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
	    .notes = "The amount is in the currency's units with at most its decimal places:\n"
		     "45000.00 MYR, 1500 JPY (none), 12.345 KWD (three).",
	    .example =
		"  tulay claim add --nationality PH --country-of-work MY \\\n"
		"      --sector construction --employer \"Syarikat Binaan Jaya Sdn Bhd\" \\\n"
		"      --work-start 2025-01-06 --work-end 2025-11-30 \\\n"
		"      --amount 45000.00 --currency MYR --workers 12",
	    .check = claim_add_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	rc = args_key_finish(cli, &d.key);
	if (rc != CLI_EXIT_OK)
		return rc;

	Tulay__V1__Money amount = TULAY__V1__MONEY__INIT;
	amount.minor_units = d.minor_units;
	amount.currency = (char *)d.currency;
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
	create.amount_claimed = &amount;
	create.workers = d.workers;
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

	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK) {
		rpc.idempotency_key = d.key.bytes;
		rpc.uncertain = "The claim may or may not have been logged";
		rc = rpc_call(&rpc, &req, TULAY__V1__RESPONSE__BODY_CLAIM, &resp);
	}
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "Logged claim %s", resp->claim->reference);
		rc = output_show(cli, claim_record(resp->claim));
	}
	tulay_response_free(resp);
	rpc_end(&rpc);
	return rc;
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
	    .description = "Shows one claim: corridor, sector, employer, work period, amount,\n"
			   "status and who logged it.",
	    .options = options,
	    .operand = "REFERENCE",
	    .operand_help = "the claim's reference, e.g. WT-2026-000123",
	    .operand_value = &reference,
	    .example = "  tulay claim show WT-2026-000123\n"
		       "  tulay claim show WT-2026-000123 --format json",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	Tulay__V1__GetClaim get = TULAY__V1__GET_CLAIM__INIT;
	get.reference = (char *)reference;
	get.organisation = (char *)(org != NULL ? org : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_CLAIM;
	req.get_claim = &get;

	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK)
		rc = rpc_call(&rpc, &req, TULAY__V1__RESPONSE__BODY_CLAIM, &resp);
	if (rc == CLI_EXIT_OK)
		rc = output_show(cli, claim_record(resp->claim));
	tulay_response_free(resp);
	rpc_end(&rpc);
	return rc;
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
	    {
		.name = "--country-of-work",
		.type = ARGS_COUNTRY,
		.target = &country_of_work,
		.metavar = "CC",
		.help = "only claims about work in this country (e.g. MY)",
	    },
	    {
		.name = "--status",
		.type = ARGS_CHOICE,
		.target = &status,
		.metavar = "STATUS",
		.help = "only claims with this status",
		.choices = &vocab_claim_statuses,
	    },
	    {
		.name = "--worker-id-number",
		.type = ARGS_TEXT,
		.target = &worker_id_number,
		.metavar = "ID",
		.help = "only claims of the worker with this passport or ID number (exact)",
	    },
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
