/* The referral commands: an organisation refers a case to a partner across the border
 * with the worker's consent; the partner accepts or declines; the referring organisation
 * may revoke; both sides list what went between them. */
#include "cli_referral.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_vocab.h"

/* Limit of the server (proto: ProposeReferral.reason, DecideReferral.reason). */
#define REFERRAL_REASON_MAX 1000

static struct output_record *referral_record(const Tulay__V1__Referral *r)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
	const Tulay__V1__Consent *c = r->consent;
	output_add_int(rec, "id", "Referral", r->id);
	output_add_text(rec, "reference", "Case", r->reference);
	output_add_text(rec, "case_kind", "Kind", r->case_kind);
	output_add_text(rec, "from_organisation", "From", r->from_organisation);
	output_add_text(rec, "to_organisation", "To", r->to_organisation);
	output_add_human(rec, "between", NULL, "%s → %s", r->from_organisation, r->to_organisation);
	output_add_text(rec, "status", "Status", vocab_word(&vocab_referral_statuses, r->status));
	output_add_text(rec, "consent_given_on", "Consent given on", c != NULL ? c->given_on : "");
	output_add_text(rec, "consent_form", "Consent",
			c != NULL ? vocab_word(&vocab_consent_forms, c->form) : "");
	output_add_text(rec, "reason", r->reason[0] != '\0' ? "Reason" : NULL, r->reason);
	output_add_text(rec, "proposed_by", "Proposed by", r->proposed_by);
	output_add_time(rec, "proposed_at", "Proposed at", r->proposed_at);
	output_add_text(rec, "decided_by", r->decided_by[0] != '\0' ? "Decided by" : NULL,
			r->decided_by);
	output_add_time(rec, "decided_at", r->decided_at != 0 ? "Decided at" : NULL, r->decided_at);
	output_add_text(rec, "decision_reason",
			r->decision_reason[0] != '\0' ? "Decision reason" : NULL,
			r->decision_reason);
	output_add_text(rec, "revoked_by", r->revoked_by[0] != '\0' ? "Revoked by" : NULL,
			r->revoked_by);
	output_add_time(rec, "revoked_at", r->revoked_at != 0 ? "Revoked at" : NULL, r->revoked_at);
	output_add_text(rec, "revoke_reason", r->revoke_reason[0] != '\0' ? "Revoke reason" : NULL,
			r->revoke_reason);
	output_add_int(rec, "version", "Version", r->version);
	return rec;
}

static void check_reason(struct cli *cli, const char *reason)
{
	args_check_length(cli, "--reason", reason, REFERRAL_REASON_MAX);
}

/* Sends a write that answers with a Referral and prints it under `heading`. */
static int referral_send(struct cli *cli, Tulay__V1__Request *req, const struct args_key *key,
			 const char *uncertain, const char *heading)
{
	Tulay__V1__Response *resp = NULL;
	int rc =
	    rpc_once(cli, req, TULAY__V1__RESPONSE__BODY_REFERRAL, key->bytes, uncertain, &resp);
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "%s: referral %lld of %s to %s", heading,
			       (long long)resp->referral->id, resp->referral->reference,
			       resp->referral->to_organisation);
		rc = output_show(cli, referral_record(resp->referral));
	}
	tulay_response_free(resp);
	return rc;
}

/* --- propose --------------------------------------------------------------------------- */

struct propose_draft {
	const char *reason;
};

static void propose_check(struct cli *cli, void *ctx)
{
	check_reason(cli, ((struct propose_draft *)ctx)->reason);
}

int referral_propose(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL, *to = NULL, *consent_on = NULL;
	int form = 0;
	struct propose_draft d = {0};
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--to", ARGS_ACRONYM, &to, "ACRONYM",
		     "the partner organisation that is to continue the case", .required = true),
	    ARGS_OPT("--consent-on", ARGS_DATE, &consent_on, "YYYY-MM-DD",
		     "the day the worker consented to the referral", .required = true),
	    ARGS_OPT("--consent", ARGS_CHOICE, &form, "FORM", "how the worker consented",
		     .required = true, .choices = &vocab_consent_forms),
	    ARGS_OPT("--reason", ARGS_TEXT, &d.reason, "TEXT",
		     "why the partner should take it on, 1-1000 characters (encrypted)"),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "referral propose",
	    .description =
		"Refers a claim or a deportation case of your organisation to a partner\n"
		"organisation, typically across the border: a worker deported or sent home\n"
		"from Malaysia whose claim an organisation in Bangladesh takes on. No\n"
		"consent, no referral: say when and how the worker agreed. Once the partner\n"
		"accepts, it reads and works the case (status, notes) as you do, until you\n"
		"revoke the referral; both sides see the referral's history.",
	    .options = options,
	    .operand = "REFERENCE",
	    .operand_help = "the case to refer, e.g. WT-2026-000123",
	    .operand_value = &reference,
	    .example =
		"  tulay referral propose WT-2026-000123 --to WARBE --consent-on 2026-03-01 \\\n"
		"      --consent written --reason \"Worker returned to Dhaka; claim goes on "
		"there\"",
	    .check = propose_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;
	Tulay__V1__Consent consent = TULAY__V1__CONSENT__INIT;
	consent.given_on = (char *)consent_on;
	consent.form = (Tulay__V1__ConsentForm)form;
	Tulay__V1__ProposeReferral propose = TULAY__V1__PROPOSE_REFERRAL__INIT;
	propose.idempotency_key.data = key.bytes;
	propose.idempotency_key.len = sizeof(key.bytes);
	propose.reference = (char *)reference;
	propose.to_organisation = (char *)to;
	propose.consent = &consent;
	propose.reason = (char *)(d.reason != NULL ? d.reason : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_PROPOSE_REFERRAL;
	req.propose_referral = &propose;
	return referral_send(cli, &req, &key, "The referral may or may not have been made",
			     "Proposed");
}

/* --- accept, decline, revoke ----------------------------------------------------------- */

struct decide_draft {
	const char *id_text;
	int64_t id;
	const char *reason;
	bool reason_required;
};

static void decide_check(struct cli *cli, void *ctx)
{
	struct decide_draft *d = ctx;
	char *end = NULL;
	errno = 0;
	long long id = d->id_text != NULL ? strtoll(d->id_text, &end, 10) : 0;
	if (d->id_text != NULL && (errno != 0 || end == d->id_text || *end != '\0' || id <= 0))
		cli_problem(cli, "REFERRAL", "is not a referral number (tulay referral list)");
	d->id = id;
	if (d->reason_required && d->reason == NULL)
		cli_problem(cli, "--reason", "is required: say why");
	check_reason(cli, d->reason);
}

/* One decision: the command's name, what it does, whether it needs a reason. */
struct decision {
	const char *name;
	Tulay__V1__ReferralDecision decision;
	const char *description;
	const char *example;
	const char *heading;
	bool reason_required;
};

static int referral_decide(struct cli *cli, int argc, char **argv, const struct decision *dec)
{
	struct decide_draft d = {.reason_required = dec->reason_required};
	uint32_t expected = 0;
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--reason", ARGS_TEXT, &d.reason, "TEXT",
		     dec->reason_required ? "why, 1-1000 characters (encrypted)"
					  : "optional: a word for the referring side (encrypted)",
		     .required = dec->reason_required),
	    ARGS_OPT("--expected-version", ARGS_COUNT, &expected, "N",
		     "refuse if the referral changed since you saw version N", .min = 1,
		     .max = UINT32_MAX),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = dec->name,
	    .description = dec->description,
	    .options = options,
	    .operand = "REFERRAL",
	    .operand_help = "the referral's number, as tulay referral list shows it",
	    .operand_value = &d.id_text,
	    .example = dec->example,
	    .check = decide_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;
	Tulay__V1__DecideReferral decide = TULAY__V1__DECIDE_REFERRAL__INIT;
	decide.idempotency_key.data = key.bytes;
	decide.idempotency_key.len = sizeof(key.bytes);
	decide.referral_id = d.id;
	decide.expected_version = expected;
	decide.decision = dec->decision;
	decide.reason = (char *)(d.reason != NULL ? d.reason : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_DECIDE_REFERRAL;
	req.decide_referral = &decide;
	return referral_send(cli, &req, &key, "The decision may or may not have been recorded",
			     dec->heading);
}

int referral_accept(struct cli *cli, int argc, char **argv)
{
	static const struct decision accept = {
	    .name = "referral accept",
	    .decision = TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_ACCEPT,
	    .description =
		"Accepts a referral made to your organisation. From then on your field\n"
		"officers read and work the case with the referring organisation's\n"
		"acronym: tulay claim show REFERENCE --org ACRONYM, tulay claim status ...\n"
		"--org ACRONYM, tulay case list --shared.",
	    .example = "  tulay referral accept 12\n"
		       "  tulay referral accept 12 --reason \"Our Dhaka office takes it on\"",
	    .heading = "Accepted",
	};
	return referral_decide(cli, argc, argv, &accept);
}

int referral_decline(struct cli *cli, int argc, char **argv)
{
	static const struct decision decline = {
	    .name = "referral decline",
	    .decision = TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_DECLINE,
	    .description = "Declines a referral made to your organisation, saying why. The\n"
			   "referring organisation keeps the case and sees your reason.",
	    .example = "  tulay referral decline 12 --reason \"No lawyer in Sylhet this month\"",
	    .heading = "Declined",
	    .reason_required = true,
	};
	return referral_decide(cli, argc, argv, &decline);
}

int referral_revoke(struct cli *cli, int argc, char **argv)
{
	static const struct decision revoke = {
	    .name = "referral revoke",
	    .decision = TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_REVOKE,
	    .description =
		"Withdraws a referral your organisation made, proposed or accepted, saying\n"
		"why (the worker withdrew consent, say). The partner no longer sees the\n"
		"case; both sides keep the referral's history.",
	    .example = "  tulay referral revoke 12 --reason \"The worker withdrew consent\"",
	    .heading = "Revoked",
	    .reason_required = true,
	};
	return referral_decide(cli, argc, argv, &revoke);
}

/* --- list ------------------------------------------------------------------------------ */

static const char *referral_page(struct output_list *list, const Tulay__V1__Response *resp)
{
	const Tulay__V1__ReferralList *page = resp->referrals;
	for (size_t i = 0; i < page->n_referrals; i++)
		output_list_add(list, referral_record(page->referrals[i]));
	return page->next_page_token;
}

static struct output_record *referral_blank(void)
{
	Tulay__V1__Referral r = TULAY__V1__REFERRAL__INIT;
	return referral_record(&r);
}

static const struct output_column referral_columns[] = {
    {"id", "ID", true},
    {"reference", "CASE", false},
    {"between", "FROM → TO", false},
    {"status", "STATUS", false},
    {"consent_given_on", "CONSENT", false},
    {"proposed_by", "BY", false},
    {"version", "VERSION", true},
};

static const struct output_list_spec referral_list_spec = {
    .columns = referral_columns,
    .n_columns = sizeof(referral_columns) / sizeof(referral_columns[0]),
    .empty = "No referrals.",
    .blank = referral_blank,
};

static const struct rpc_lister referral_lister = {
    .expect = TULAY__V1__RESPONSE__BODY_REFERRALS,
    .noun = "referrals",
    .page = referral_page,
    .spec = &referral_list_spec,
};

struct list_draft {
	bool incoming, outgoing;
};

static void list_check(struct cli *cli, void *ctx)
{
	const struct list_draft *d = ctx;
	if (d->incoming && d->outgoing)
		cli_problem(cli, "--incoming",
			    "and --outgoing exclude each other: give one or none");
}

int referral_list(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL;
	int status = 0;
	uint32_t limit = 0;
	bool all = false;
	struct list_draft d = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--incoming", ARGS_FLAG, &d.incoming, NULL,
		     "only referrals to your organisation"),
	    ARGS_OPT("--outgoing", ARGS_FLAG, &d.outgoing, NULL,
		     "only referrals from your organisation"),
	    ARGS_OPT("--status", ARGS_CHOICE, &status, "STATUS", "only referrals in this state",
		     .choices = &vocab_referral_statuses),
	    ARGS_OPT("--case", ARGS_TEXT, &reference, "REFERENCE",
		     "only the referrals of this case"),
	    ARGS_PAGE_LIMIT(&limit),
	    ARGS_ALL_PAGES(&all),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "referral list",
	    .description = "Lists referrals to and from your organisation, newest first.",
	    .options = options,
	    .example = "  tulay referral list --incoming --status proposed\n"
		       "  tulay referral list --case WT-2026-000123 --format json",
	    .check = list_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	Tulay__V1__ListReferrals query = TULAY__V1__LIST_REFERRALS__INIT;
	query.direction = d.incoming   ? TULAY__V1__REFERRAL_DIRECTION__REFERRAL_DIRECTION_INCOMING
			  : d.outgoing ? TULAY__V1__REFERRAL_DIRECTION__REFERRAL_DIRECTION_OUTGOING
				       : TULAY__V1__REFERRAL_DIRECTION__REFERRAL_DIRECTION_ALL;
	query.status = (Tulay__V1__ReferralStatus)status;
	query.reference = (char *)(reference != NULL ? reference : "");
	query.limit = limit;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_REFERRALS;
	req.list_referrals = &query;
	return rpc_list(cli, &referral_lister, &req, &query.page_token, all);
}
