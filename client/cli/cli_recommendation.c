#include "cli_recommendation.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil_date.h"
#include "cli_args.h"
#include "cli_timeline.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_vocab.h"

/* Limits of the server (proto: CreateRecommendation, ChangeRecommendationStatus), in
 * characters and items, checked here so that nothing is typed in vain. */
#define REC_TITLE_MAX  200
#define REC_TEXT_MAX   4000
#define REC_SOURCE_MAX 300
#define REC_BODY_MAX   200
#define REC_NOTE_MAX   1000
#define REC_LIST_MAX   50

/* --- printing a recommendation --------------------------------------------------------- */

/* The label of a field every recommendation has as a JSON key and a CSV column, but that
 * the listing shows only when it is set. */
static const char *label_if(bool set, const char *label)
{
	return set ? label : NULL;
}

/* The co-signers as "MYNGO,CARAM", as --co-signers takes them; NULL when memory runs
 * out. */
static char *co_signer_list(const Tulay__V1__Recommendation *r)
{
	size_t len = 1;
	for (size_t i = 0; i < r->n_co_signers; i++)
		len += strlen(r->co_signers[i]) + 1;
	char *out = malloc(len);
	if (out == NULL)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < r->n_co_signers; i++) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, r->co_signers[i]);
	}
	return out;
}

struct output_record *recommendation_record(const Tulay__V1__Recommendation *r)
{
	struct output_record *rec = output_record_new();
	char *co_signers = co_signer_list(r);
	if (rec == NULL || co_signers == NULL) {
		output_record_free(rec);
		free(co_signers);
		return NULL;
	}
	output_add_text(rec, "reference", "Reference", r->reference);
	output_add_text(rec, "organisation", "Organisation", r->organisation);
	output_add_text(rec, "co_signers", label_if(co_signers[0] != '\0', "Co-signers"),
			co_signers);
	free(co_signers);
	output_add_text(rec, "status", "Status",
			vocab_word(&vocab_recommendation_statuses, r->status));
	output_add_text(rec, "title", "Title", r->title);
	output_add_text(rec, "text", "Text", r->text);
	output_add_text(rec, "source_document", "Source", r->source_document);
	output_add_text(rec, "source_date", "Source date", r->source_date);
	output_add_text(rec, "addressed_to", "Addressed to",
			vocab_word(&vocab_addressed_to, r->addressed_to));
	output_add_text(rec, "target_body", label_if(r->target_body[0] != '\0', "Target body"),
			r->target_body);
	output_add_country(rec, "country", label_if(r->country[0] != '\0', "Country"), r->country);
	output_add_text(rec, "theme", "Theme", vocab_word(&vocab_recommendation_themes, r->theme));
	output_add_text(rec, "office", label_if(r->office[0] != '\0', "Office"), r->office);
	output_add_text(rec, "opened_on", "Opened on", r->opened_on);
	output_add_text(rec, "closed_on", label_if(r->closed_on[0] != '\0', "Closed on"),
			r->closed_on);
	output_add_int(rec, "version", "Version", r->version);
	output_add_text(rec, "created_by", "Created by", r->created_by);
	output_add_time(rec, "created_at", "Created at", r->created_at);
	return rec;
}

static struct output_record *evidence_record(const Tulay__V1__CaseRef *ref)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
	output_add_text(rec, "organisation", "Organisation", ref->organisation);
	output_add_text(rec, "reference", "Reference", ref->reference);
	return rec;
}

/* Sections are never printed as CSV (the recommendation alone is), so they need no
 * blank. */
static const struct output_column evidence_columns[] = {
    {"organisation", "ORGANISATION", false},
    {"reference", "REFERENCE", false},
};

static const struct output_list_spec evidence_spec = {
    .columns = evidence_columns,
    .n_columns = sizeof(evidence_columns) / sizeof(evidence_columns[0]),
    .empty = "No evidence linked.",
};

/* Prints the recommendation, its evidence and its timeline. Returns the exit code. */
static int recommendation_print(const struct cli *cli, const Tulay__V1__Recommendation *r)
{
	struct output_section sections[] = {
	    {.key = "evidence", .title = "Evidence", .spec = &evidence_spec},
	    {.key = "timeline", .title = "Timeline", .spec = &timeline_list_spec},
	};
	for (size_t i = 0; i < r->n_evidence; i++)
		output_list_add(&sections[0].list, evidence_record(r->evidence[i]));
	for (size_t i = 0; i < r->n_timeline; i++)
		output_list_add(&sections[1].list, timeline_event_record(r->timeline[i]));
	return output_show_sections(cli, recommendation_record(r), sections,
				    sizeof(sections) / sizeof(sections[0]));
}

/* Sends the write `req` (idempotency key `key`) on a new connection, a failure of unknown
 * outcome saying `uncertain` and how to retry, then prints the heading (table format)
 * and the recommendation answered. Returns the exit code. */
static int recommendation_send(struct cli *cli, Tulay__V1__Request *req, const uint8_t *key,
			       const char *uncertain, const char *heading)
{
	Tulay__V1__Response *resp = NULL;
	int rc =
	    rpc_once(cli, req, TULAY__V1__RESPONSE__BODY_RECOMMENDATION, key, uncertain, &resp);
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "%s %s", heading, resp->recommendation->reference);
		rc = recommendation_print(cli, resp->recommendation);
	}
	tulay_response_free(resp);
	return rc;
}

/* --- options shared by the commands ---------------------------------------------------- */

/* The REFERENCE operand of the commands about one recommendation. */
#define REC_REFERENCE_OPERAND(where)                                                               \
	.operand = "REFERENCE",                                                                    \
	.operand_help = "the recommendation's reference, e.g. RC-2026-000012",                     \
	.operand_value = (where)

/* The --on option of the timeline's commands. */
#define REC_ON_OPTION(where, what)                                                                 \
	{                                                                                          \
		.name = "--on", .type = ARGS_DATE, .target = (where), .metavar = "YYYY-MM-DD",     \
		.help = what " (default: today)",                                                  \
	}

/* --- recommendation add ---------------------------------------------------------------- */

/* A comma-separated list option (--co-signers, --evidence): the text given, and its
 * items once split (pointing into `copy`). */
struct rec_list {
	const char *text; /* NULL: not given */
	char *copy;
	char *items[REC_LIST_MAX];
	size_t n;
};

/* Splits l->text at commas (spaces around items allowed) into l->items, upper-cased
 * when `upper`, reporting empty and repeated items and more than REC_LIST_MAX of them
 * under `flag`. Items that are acronyms are checked as such when `acronyms`. */
static void check_list(struct cli *cli, const char *flag, struct rec_list *l, bool acronyms)
{
	if (l->text == NULL)
		return;
	if ((l->copy = strdup(l->text)) == NULL) {
		cli_problem(cli, flag, "could not be read: out of memory");
		return;
	}
	bool too_many = false;
	for (char *p = l->copy; p != NULL;) {
		p += strspn(p, " ");
		char *comma = strchr(p, ',');
		char *next = comma != NULL ? comma + 1 : NULL;
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		p[len] = '\0';
		for (size_t i = 0; acronyms && i < len; i++)
			p[i] = (char)(p[i] >= 'a' && p[i] <= 'z' ? p[i] - 'a' + 'A' : p[i]);
		bool repeated = false;
		for (size_t i = 0; i < l->n; i++)
			repeated = repeated || strcmp(l->items[i], p) == 0;
		if (len == 0)
			cli_problem(cli, flag,
				    "'%s' has an empty item: separate the items by single commas",
				    l->text);
		else if (acronyms && (len < 2 || len > 20 ||
				      strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != len))
			cli_problem(cli, flag,
				    "'%s' is not an organisation acronym (2-20 letters, digits, "
				    "'-' and '_')",
				    p);
		else if (repeated)
			cli_problem(cli, flag, "'%s' is given twice: name each once", p);
		else if (l->n < REC_LIST_MAX)
			l->items[l->n++] = p;
		else if (!too_many) {
			cli_problem(cli, flag, "names more than %d: at most %d, please",
				    REC_LIST_MAX, REC_LIST_MAX);
			too_many = true;
		}
		p = next;
	}
}

/* What `recommendation add` collects before it builds the request. */
struct rec_draft {
	const char *title, *text, *source, *source_date, *target_body, *country, *office, *org;
	int addressed_to, theme, status;
	struct rec_list co_signers, evidence;
	struct args_key key;
};

/* Today in UTC, the server's calendar. */
static void today_utc(struct civil_date *today)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	*today = (struct civil_date){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
}

static void recommendation_add_check(struct cli *cli, void *ctx)
{
	struct rec_draft *d = ctx;
	args_check_length(cli, "--title", d->title, REC_TITLE_MAX);
	args_check_length(cli, "--text", d->text, REC_TEXT_MAX);
	args_check_length(cli, "--source", d->source, REC_SOURCE_MAX);
	args_check_length(cli, "--target-body", d->target_body, REC_BODY_MAX);
	struct civil_date source, today;
	today_utc(&today);
	if (d->source_date != NULL && civil_date_parse(d->source_date, &source) &&
	    civil_date_cmp(&source, &today) > 0)
		cli_problem(cli, "--source-date",
			    "%s is in the future: give the day the source document was issued",
			    d->source_date);
	check_list(cli, "--co-signers", &d->co_signers, true);
	check_list(cli, "--evidence", &d->evidence, false);
}

/* A recommendation is recorded drafted or submitted; what governments do with it comes
 * later, with `recommendation status`. */
static const struct vocab_word create_status_words[] = {
    {TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_DRAFTED, "drafted"},
    {TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_SUBMITTED, "submitted"},
};
static const struct vocab create_statuses =
    VOCAB_WORDS("status for a new recommendation", create_status_words);

int recommendation_add(struct cli *cli, int argc, char **argv)
{
	struct rec_draft d = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--title", ARGS_TEXT, &d.title, "TEXT", "a short title, 1-200 characters",
		     .required = true),
	    ARGS_OPT("--text", ARGS_TEXT, &d.text, "TEXT",
		     "the recommendation as worded in the source, 1-4000 characters (public: "
		     "name no one)",
		     .required = true),
	    ARGS_OPT("--source", ARGS_TEXT, &d.source, "DOCUMENT",
		     "the document it comes from, 1-300 characters", .required = true),
	    ARGS_OPT("--source-date", ARGS_DATE, &d.source_date, "YYYY-MM-DD",
		     "the day that document was issued, not in the future", .required = true),
	    ARGS_OPT("--addressed-to", ARGS_CHOICE, &d.addressed_to, "WHOM", "whom it calls on",
		     .required = true, .choices = &vocab_addressed_to),
	    ARGS_OPT("--target-body", ARGS_TEXT, &d.target_body, "TEXT",
		     "the body addressed, e.g. ACMW, AFML, a ministry (1-200 characters)"),
	    ARGS_OPT("--country", ARGS_COUNTRY, &d.country, "CC",
		     "the country of the government addressed, ISO 3166-1 alpha-2 (e.g. MY)"),
	    ARGS_OPT("--theme", ARGS_CHOICE, &d.theme, "THEME", "what it is about",
		     .required = true, .choices = &vocab_recommendation_themes),
	    ARGS_OPT("--co-signers", ARGS_TEXT, &d.co_signers.text, "LIST",
		     "the other organisations behind it: acronyms, comma-separated (at most "
		     "50)"),
	    ARGS_OPT("--evidence", ARGS_TEXT, &d.evidence.text, "LIST",
		     "references of your organisation's cases that are its evidence, "
		     "comma-separated (at most 50)"),
	    ARGS_OPT("--status", ARGS_CHOICE, &d.status, "STATUS", "drafted (default) or submitted",
		     .choices = &create_statuses),
	    ARGS_OPT("--office", ARGS_TEXT, &d.office, "NAME",
		     "the field office recording it (see: tulay org show)"),
	    ARGS_OPT("--org", ARGS_ACRONYM, &d.org, "ACRONYM",
		     "record it for this organisation (default: your own)"),
	    ARGS_IDEMPOTENCY_KEY(&d.key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "recommendation add",
	    .description =
		"Records a policy recommendation of your organisation, drafted or submitted,\n"
		"with the organisations behind it and the cases that are its evidence, and\n"
		"prints it with the reference the server gave it. If the outcome is unknown\n"
		"(the connection or the database failed), the idempotency key is printed:\n"
		"repeating the command with --idempotency-key never records it twice.",
	    .options = options,
	    .notes = "Recommendation texts are public advocacy text, stored as they are: name no\n"
		     "one in them. What governments do with a recommendation comes later, with\n"
		     "tulay recommendation status; more evidence with tulay recommendation\n"
		     "evidence.",
	    .example =
		"  tulay recommendation add --title \"Wage protection for migrant workers\" \\\n"
		"      --text \"Receiving states should pay wages through bank transfers...\" \\\n"
		"      --source \"Civil Society Proposal: ASEAN Framework Instrument\" \\\n"
		"      --source-date 2009-05-01 --addressed-to receiving-states \\\n"
		"      --target-body ACMW --theme wage-protection \\\n"
		"      --co-signers MFA,CARAM --evidence WT-2026-000123,WT-2026-000130",
	    .check = recommendation_add_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &d.key, &rc))
		goto out;

	Tulay__V1__CreateRecommendation create = TULAY__V1__CREATE_RECOMMENDATION__INIT;
	create.idempotency_key.data = d.key.bytes;
	create.idempotency_key.len = sizeof(d.key.bytes);
	create.organisation = (char *)(d.org != NULL ? d.org : "");
	create.office = (char *)(d.office != NULL ? d.office : "");
	create.status = (Tulay__V1__RecommendationStatus)d.status;
	create.title = (char *)d.title;
	create.text = (char *)d.text;
	create.source_document = (char *)d.source;
	create.source_date = (char *)d.source_date;
	create.addressed_to = (Tulay__V1__AddressedTo)d.addressed_to;
	create.target_body = (char *)(d.target_body != NULL ? d.target_body : "");
	create.country = (char *)(d.country != NULL ? d.country : "");
	create.theme = (Tulay__V1__RecommendationTheme)d.theme;
	create.co_signers = d.co_signers.items;
	create.n_co_signers = d.co_signers.n;
	create.evidence = d.evidence.items;
	create.n_evidence = d.evidence.n;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_RECOMMENDATION;
	req.create_recommendation = &create;
	rc = recommendation_send(cli, &req, d.key.bytes,
				 "The recommendation may or may not have been recorded",
				 "Recorded recommendation");
out:
	free(d.co_signers.copy);
	free(d.evidence.copy);
	return rc;
}

/* --- recommendation show --------------------------------------------------------------- */

/* Asks for recommendation `reference` of `org` ("": the caller's own) on `rpc`. Returns
 * CLI_EXIT_OK with the Response in *out for the caller to free, or the exit code after
 * saying what failed. */
static int recommendation_get(struct rpc *rpc, const char *reference, const char *org,
			      Tulay__V1__Response **out)
{
	Tulay__V1__GetRecommendation get = TULAY__V1__GET_RECOMMENDATION__INIT;
	get.reference = (char *)reference;
	get.organisation = (char *)org;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_RECOMMENDATION;
	req.get_recommendation = &get;
	return rpc_call(rpc, &req, TULAY__V1__RESPONSE__BODY_RECOMMENDATION, out);
}

/* Prints the recommendation of resp, its evidence and its timeline. */
static int recommendation_show_answer(const struct cli *cli, const Tulay__V1__Response *resp)
{
	return recommendation_print(cli, resp->recommendation);
}

int recommendation_show(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL, *org = NULL;
	const struct args_option options[] = {
	    ARGS_OPT("--org", ARGS_ACRONYM, &org, "ACRONYM",
		     "the recommendation's organisation (default: your own)"),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "recommendation show",
	    .description =
		"Shows one recommendation: its text and source, whom it is addressed to,\n"
		"its theme, status and co-signers; then the cases that are its evidence, and\n"
		"its timeline, oldest first: when it was recorded, each change of status with\n"
		"its dated follow-up, and each case linked, with who recorded it.",
	    .options = options,
	    REC_REFERENCE_OPERAND(&reference),
	    .notes = "With --format json, one object: the recommendation's fields and the arrays\n"
		     "evidence and timeline. With --format csv, the recommendation's record only.",
	    .example = "  tulay recommendation show RC-2026-000012\n"
		       "  tulay recommendation show RC-2026-000012 --format json",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	return rpc_show(cli, recommendation_get, reference, org, recommendation_show_answer);
}

/* --- recommendation status ------------------------------------------------------------- */

/* What `recommendation status` collects, for its check. */
struct rec_status_draft {
	int status;
	const char *note;
};

static void recommendation_status_check(struct cli *cli, void *ctx)
{
	const struct rec_status_draft *d = ctx;
	args_check_length(cli, "--note", d->note, REC_NOTE_MAX);
	/* Noted and rejected need a follow-up; so does resubmitting, which only the server
	 * can tell (it knows the current status). */
	if ((d->status == TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_NOTED ||
	     d->status == TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_REJECTED) &&
	    d->note == NULL)
		cli_problem(cli, "--note",
			    "is required with --to %s: say what the government answered",
			    vocab_word(&vocab_recommendation_statuses, d->status));
}

/* The version of the recommendation (`ctx`, the ChangeRecommendationStatus) as the
 * server shows it now, for --expected-version's default (rpc_current_fn). */
static int recommendation_current_version(struct rpc *rpc, const void *ctx, int64_t *version)
{
	const Tulay__V1__ChangeRecommendationStatus *change = ctx;
	Tulay__V1__Response *resp = NULL;
	int rc = recommendation_get(rpc, change->reference, "", &resp);
	if (rc == CLI_EXIT_OK)
		*version = resp->recommendation->version;
	tulay_response_free(resp);
	return rc;
}

int recommendation_status(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL, *on = NULL;
	struct rec_status_draft d = {0};
	uint32_t expected = 0;
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--to", ARGS_CHOICE, &d.status, "STATUS",
		     "the new status: one the current one may move to (see below)",
		     .required = true, .choices = &vocab_recommendation_statuses),
	    ARGS_OPT("--note", ARGS_TEXT, &d.note, "TEXT",
		     "the follow-up, 1-1000 characters (encrypted by the server): required for "
		     "noted, rejected and resubmitting"),
	    REC_ON_OPTION(&on, "the day it happened"),
	    ARGS_OPT("--expected-version", ARGS_COUNT, &expected, "N",
		     "refuse if the recommendation changed since you saw version N (tulay "
		     "recommendation show)",
		     .min = 1, .max = UINT32_MAX),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "recommendation status",
	    .description =
		"Records what became of a recommendation of your organisation: its new\n"
		"status as of a day, with a follow-up note, and prints it. The move, the note\n"
		"and who recorded them go into its timeline (tulay recommendation show).",
	    .options = options,
	    REC_REFERENCE_OPERAND(&reference),
	    .notes = "Allowed moves:\n"
		     "  drafted                -> submitted\n"
		     "  submitted              -> acknowledged, accepted, noted, rejected\n"
		     "  acknowledged           -> accepted, noted, rejected\n"
		     "  accepted               -> partially-implemented, implemented\n"
		     "  partially-implemented  -> implemented\n"
		     "  noted, rejected        -> submitted (resubmitted)\n"
		     "Noted, rejected and resubmitting need --note.\n"
		     "\n"
		     "Without --expected-version, the version the server shows just before is\n"
		     "used: give it when you decided on the strength of what you saw earlier.",
	    .example =
		"  tulay recommendation status RC-2026-000012 --to submitted --on 2026-03-02\n"
		"  tulay recommendation status RC-2026-000012 --to noted \\\n"
		"      --note \"The ministry noted it without commitment at the AFML\"",
	    .check = recommendation_status_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;

	char uncertain[160];
	snprintf(uncertain, sizeof(uncertain), "The recommendation may or may not be %s now",
		 vocab_word(&vocab_recommendation_statuses, d.status));
	Tulay__V1__ChangeRecommendationStatus change =
	    TULAY__V1__CHANGE_RECOMMENDATION_STATUS__INIT;
	change.idempotency_key.data = key.bytes;
	change.idempotency_key.len = sizeof(key.bytes);
	change.reference = (char *)reference;
	change.status = (Tulay__V1__RecommendationStatus)d.status;
	change.note = (char *)(d.note != NULL ? d.note : "");
	change.occurred_on = (char *)(on != NULL ? on : "");
	change.expected_version = expected; /* 0: rpc_change asks for the current one */
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CHANGE_RECOMMENDATION_STATUS;
	req.change_recommendation_status = &change;
	const struct rpc_change send = {
	    .req = &req,
	    .expect = TULAY__V1__RESPONSE__BODY_RECOMMENDATION,
	    .expected = &change.expected_version,
	    .current = recommendation_current_version,
	    .ctx = &change,
	    .key = key.bytes,
	    .uncertain = uncertain,
	};
	Tulay__V1__Response *resp = NULL;
	rc = rpc_change(cli, &send, &resp);
	if (rc == CLI_EXIT_OK) {
		output_heading(
		    cli, "%s is now %s", resp->recommendation->reference,
		    vocab_word(&vocab_recommendation_statuses, resp->recommendation->status));
		rc = recommendation_print(cli, resp->recommendation);
	}
	tulay_response_free(resp);
	return rc;
}

/* --- recommendation evidence ----------------------------------------------------------- */

int recommendation_evidence(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL, *on = NULL, *case_ref = NULL, *case_org = NULL;
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--case", ARGS_TEXT, &case_ref, "REFERENCE",
		     "the case that is evidence, e.g. WT-2026-000123", .required = true),
	    ARGS_OPT("--case-org", ARGS_ACRONYM, &case_org, "ACRONYM",
		     "the case's organisation, when another one referred it to yours (default: "
		     "your own)"),
	    REC_ON_OPTION(&on, "the day it was linked"),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "recommendation evidence",
	    .description =
		"Links one more case as evidence of a recommendation of your organisation,\n"
		"and prints the recommendation. The case is one of your organisation's, or\n"
		"one another organisation referred to yours (and yours accepted). The link\n"
		"goes into the recommendation's timeline.",
	    .options = options,
	    REC_REFERENCE_OPERAND(&reference),
	    .example = "  tulay recommendation evidence RC-2026-000012 --case WT-2026-000123\n"
		       "  tulay recommendation evidence RC-2026-000012 --case WT-2026-000045 \\\n"
		       "      --case-org MYNGO",
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;

	Tulay__V1__CaseRef evidence = TULAY__V1__CASE_REF__INIT;
	evidence.organisation = (char *)(case_org != NULL ? case_org : "");
	evidence.reference = (char *)case_ref;
	Tulay__V1__LinkEvidence link = TULAY__V1__LINK_EVIDENCE__INIT;
	link.idempotency_key.data = key.bytes;
	link.idempotency_key.len = sizeof(key.bytes);
	link.reference = (char *)reference;
	link.evidence = &evidence;
	link.occurred_on = (char *)(on != NULL ? on : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LINK_EVIDENCE;
	req.link_evidence = &link;
	char heading[96];
	snprintf(heading, sizeof(heading), "Linked %s%s%s as evidence of",
		 case_org != NULL ? case_org : "", case_org != NULL ? " " : "", case_ref);
	return recommendation_send(cli, &req, key.bytes, "The case may or may not have been linked",
				   heading);
}
