/* The deportation commands: add, show, stage and intervention. A deportation moves by
 * its stages, arrest -> detention -> release and/or deportation, each with a date that is
 * often known only roughly: "2025-03-14", "2025-03" or "2025", "~" in front for circa. */
#include "cli_deportation.h"

#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "cli_case.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_timeline.h"
#include "cli_vocab.h"

/* Limits of the server (proto: RecordDeportationStage.note, AddIntervention.text), in
 * characters, checked here so that a long text is not typed in vain. */
#define DEPORTATION_NOTE_MAX  1000
#define INTERVENTION_TEXT_MAX 4000

/* Room for the words of a vocabulary joined, in messages, help and listings. */
#define DEPORTATION_WORDS_BYTES 256

/* --- printing ---------------------------------------------------------------------------- */

/* An approximate date as the CLI writes it ("~2025-03"), "" when unknown; into buf. */
static const char *approx_text(const Tulay__V1__ApproxDate *d, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s", d != NULL && d->circa ? "~" : "", d != NULL ? d->date : "");
	return buf;
}

/* An optional approximate date: always a JSON key and a CSV column, in the listing only
 * when known. */
static void add_approx(struct output_record *rec, const char *key, const char *label,
		       const Tulay__V1__ApproxDate *d)
{
	char text[16];
	output_add_text(rec, key, d != NULL ? label : NULL, approx_text(d, text, sizeof(text)));
}

/* An optional text, likewise. */
static void add_optional(struct output_record *rec, const char *key, const char *label,
			 const char *text)
{
	output_add_text(rec, key, text[0] != '\0' ? label : NULL, text);
}

struct output_record *deportation_record(const Tulay__V1__Deportation *d)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
	char grounds[DEPORTATION_WORDS_BYTES];
	if (!vocab_join_values(&vocab_deportation_grounds, (const int *)d->grounds, d->n_grounds,
			       grounds, sizeof(grounds)))
		snprintf(grounds, sizeof(grounds), "(too many to list)");
	output_add_text(rec, "reference", "Reference", d->reference);
	output_add_text(rec, "organisation", "Organisation", d->organisation);
	add_optional(rec, "office", "Office", d->office);
	output_add_text(rec, "status", "Status",
			vocab_word(&vocab_deportation_statuses, d->status));
	output_add_human(rec, "route", "Route", "%s → %s", d->deported_from,
			 d->deported_to[0] != '\0' ? d->deported_to : "?");
	output_add_country(rec, "nationality", "Nationality", d->nationality);
	output_add_country(rec, "deported_from", "Deported from", d->deported_from);
	output_add_country(rec, "deported_to", d->deported_to[0] != '\0' ? "Deported to" : NULL,
			   d->deported_to);
	add_optional(rec, "sector", "Sector", vocab_optional_word(&vocab_sectors, d->sector));
	add_optional(rec, "grounds", "Grounds", grounds);
	add_approx(rec, "arrested_on", "Arrested on", d->arrested_on);
	add_optional(rec, "arrest_place", "Arrest place", d->arrest_place);
	add_approx(rec, "detained_on", "Detained on", d->detained_on);
	add_optional(rec, "detention_place", "Detention place", d->detention_place);
	add_optional(rec, "detention_type", "Detention type",
		     vocab_optional_word(&vocab_detention_types, d->detention_type));
	add_approx(rec, "released_on", "Released on", d->released_on);
	add_approx(rec, "deported_on", "Deported on", d->deported_on);
	output_add_text(rec, "legal_counsel", "Legal counsel",
			vocab_word(&vocab_legal_counsel, d->legal_counsel));
	output_add_text(rec, "consular_notified", "Consulate notified",
			vocab_word(&vocab_known, d->consular_notified));
	output_add_text(rec, "family_separated", "Family separated",
			vocab_word(&vocab_known, d->family_separated));
	output_add_text(rec, "opened_on", "Opened on", d->opened_on);
	add_optional(rec, "closed_on", "Closed on", d->closed_on);
	output_add_int(rec, "version", "Version", d->version);
	output_add_text(rec, "created_by", "Created by", d->created_by);
	output_add_time(rec, "created_at", "Created at", d->created_at);
	/* Only add, show and stage receive the person; lists never do. */
	if (d->person != NULL) {
		add_optional(rec, "person_name", "Person", d->person->name);
		add_optional(rec, "person_id_number", "Person ID number", d->person->id_number);
	}
	return rec;
}

/* --- options all commands share -------------------------------------------------------- */

/* The --org option: another organisation than the user's own (a partner's case referred
 * to it, for show, stage and intervention). */
#define DEPORTATION_ORG_OPTION(where, what)                                                        \
	{                                                                                          \
		.name = "--org", .type = ARGS_ACRONYM, .target = (where), .metavar = "ACRONYM",    \
		.help = what " (default: your own)",                                               \
	}

/* The REFERENCE operand of the commands about one deportation. */
#define DEPORTATION_REFERENCE_OPERAND(where)                                                       \
	.operand = "REFERENCE", .operand_help = "the case's reference, e.g. DP-2026-000123",       \
	.operand_value = (where)

#define APPROX_DATE_METAVAR "DATE"
#define APPROX_DATE_NOTE                                                                           \
	"Dates: 2025-03-14 (the day), 2025-03 (only the month is known) or 2025\n"                 \
	"(only the year), with ~ in front when even that is approximate (~2025-03).\n"             \
	"A stage may not certainly come before an earlier one: 2025-03 then\n"                     \
	"2025-03-10 is fine, 2025-03 then 2025-02-28 is refused."

/* The request's ApproxDate of an option, in *msg; NULL when the option was not given. */
static Tulay__V1__ApproxDate *approx_message(const struct args_approx_date *given,
					     Tulay__V1__ApproxDate *msg)
{
	if (given->date == NULL)
		return NULL;
	*msg = (Tulay__V1__ApproxDate)TULAY__V1__APPROX_DATE__INIT;
	msg->date = (char *)given->date;
	msg->circa = given->circa;
	return msg;
}

/* "" for an option not given. */
static char *or_empty(const char *text)
{
	return (char *)(text != NULL ? text : "");
}

/* Asks for deportation `reference` of `org` ("": the caller's own) on `rpc`. Returns
 * CLI_EXIT_OK with the Response (body deportation) in *out for the caller to free, or
 * the exit code after saying what failed. */
static int deportation_get(struct rpc *rpc, const char *reference, const char *org,
			   Tulay__V1__Response **out)
{
	Tulay__V1__GetDeportation get = TULAY__V1__GET_DEPORTATION__INIT;
	get.reference = (char *)reference;
	get.organisation = (char *)org;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_DEPORTATION;
	req.get_deportation = &get;
	return rpc_call(rpc, &req, TULAY__V1__RESPONSE__BODY_DEPORTATION, out);
}

/* --- deportation add ------------------------------------------------------------------- */

/* What `deportation add` collects before it builds the request. */
struct deportation_draft {
	const char *org, *office;
	const char *nationality, *deported_from, *deported_to;
	int sector;
	struct args_choices grounds;
	struct args_approx_date arrested_on, detained_on, released_on, deported_on;
	const char *arrest_place, *detention_place;
	int detention_type, counsel, consular_notified, family_separated;
	const char *person_name, *person_id_number;
	struct args_key key;
};

int deportation_add(struct cli *cli, int argc, char **argv)
{
	struct deportation_draft d = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--nationality", ARGS_COUNTRY, &d.nationality, "CC",
		     "the person's country of origin, ISO 3166-1 alpha-2 (e.g. ID)",
		     .required = true),
	    ARGS_OPT("--deported-from", ARGS_COUNTRY, &d.deported_from, "CC",
		     "the country where the person was arrested (e.g. MY)", .required = true),
	    ARGS_OPT("--deported-to", ARGS_COUNTRY, &d.deported_to, "CC",
		     "the country the person was (or is to be) deported to, if known"),
	    ARGS_OPT("--sector", ARGS_CHOICE, &d.sector, "SECTOR",
		     "the sector of the person's last work, if known", .choices = &vocab_sectors),
	    ARGS_OPT("--grounds", ARGS_CHOICES, &d.grounds, "LIST",
		     "the grounds given for the arrest, comma-separated",
		     .choices = &vocab_deportation_grounds),
	    ARGS_OPT("--arrested-on", ARGS_APPROX, &d.arrested_on, APPROX_DATE_METAVAR,
		     "when the person was arrested"),
	    ARGS_OPT("--arrest-place", ARGS_TEXT, &d.arrest_place, "TEXT",
		     "the town or district of the arrest, 1-200 characters"),
	    ARGS_OPT("--detained-on", ARGS_APPROX, &d.detained_on, APPROX_DATE_METAVAR,
		     "when the detention began (required with --detention-place or "
		     "--detention-type)"),
	    ARGS_OPT("--detention-place", ARGS_TEXT, &d.detention_place, "TEXT",
		     "where the person is or was held, 1-200 characters"),
	    ARGS_OPT("--detention-type", ARGS_CHOICE, &d.detention_type, "TYPE",
		     "the kind of place of detention", .choices = &vocab_detention_types),
	    ARGS_OPT("--released-on", ARGS_APPROX, &d.released_on, APPROX_DATE_METAVAR,
		     "when the person was released"),
	    ARGS_OPT("--deported-on", ARGS_APPROX, &d.deported_on, APPROX_DATE_METAVAR,
		     "when the person was deported"),
	    ARGS_OPT("--counsel", ARGS_CHOICE, &d.counsel, "COUNSEL",
		     "the legal counsel the person had (default: unknown)",
		     .choices = &vocab_legal_counsel),
	    ARGS_OPT("--consular-notified", ARGS_CHOICE, &d.consular_notified, "KNOWN",
		     "whether the embassy or consulate was notified (default: unknown)",
		     .choices = &vocab_known),
	    ARGS_OPT("--family-separated", ARGS_CHOICE, &d.family_separated, "KNOWN",
		     "whether the person was separated from family (default: unknown)",
		     .choices = &vocab_known),
	    ARGS_OPT("--person-name", ARGS_TEXT, &d.person_name, "NAME",
		     "the person's name (optional; encrypted by the server)"),
	    ARGS_OPT("--person-id-number", ARGS_TEXT, &d.person_id_number, "ID",
		     "passport or ID number (optional; encrypted; found by exact match with tulay "
		     "case list --id-number)"),
	    ARGS_OPT("--office", ARGS_TEXT, &d.office, "NAME",
		     "the field office logging it, by name (see tulay org show)"),
	    DEPORTATION_ORG_OPTION(&d.org, "log it for this organisation"),
	    ARGS_IDEMPOTENCY_KEY(&d.key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "deportation add",
	    .description =
		"Logs a deportation case with every stage known so far and prints it with the\n"
		"reference the server gave it. The status follows the latest stage given:\n"
		"deported, else released, else detained, else arrested. Later stages can be\n"
		"recorded with tulay deportation stage. If the outcome is unknown (the\n"
		"connection or the database failed), the idempotency key is printed:\n"
		"repeating the command with --idempotency-key never logs the case twice.",
	    .options = options,
	    .notes = APPROX_DATE_NOTE "\n\n"
				      "Undocumented status is the most dangerous thing this system "
				      "holds:\nrecord only what the case needs.",
	    .example = "  tulay deportation add --nationality ID --deported-from MY \\\n"
		       "      --grounds no-permit,absconding-report --arrested-on 2025-03-14 \\\n"
		       "      --arrest-place \"Kajang\" --detained-on ~2025-03 \\\n"
		       "      --detention-place \"Semenyih depot\" --detention-type "
		       "immigration-depot\n"
		       "  tulay deportation add --nationality MM --deported-from TH \\\n"
		       "      --deported-to MM --deported-on 2024 --counsel none",
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &d.key, &rc))
		return rc;

	Tulay__V1__ApproxDate arrested, detained, released, deported;
	Tulay__V1__CreateDeportation create = TULAY__V1__CREATE_DEPORTATION__INIT;
	create.idempotency_key.data = d.key.bytes;
	create.idempotency_key.len = sizeof(d.key.bytes);
	create.organisation = or_empty(d.org);
	create.office = or_empty(d.office);
	create.nationality = (char *)d.nationality;
	create.deported_from = (char *)d.deported_from;
	create.deported_to = or_empty(d.deported_to);
	create.sector = (Tulay__V1__Sector)d.sector;
	create.grounds = (Tulay__V1__DeportationGround *)d.grounds.values;
	create.n_grounds = d.grounds.n;
	create.arrested_on = approx_message(&d.arrested_on, &arrested);
	create.arrest_place = or_empty(d.arrest_place);
	create.detained_on = approx_message(&d.detained_on, &detained);
	create.detention_place = or_empty(d.detention_place);
	create.detention_type = (Tulay__V1__DetentionType)d.detention_type;
	create.released_on = approx_message(&d.released_on, &released);
	create.deported_on = approx_message(&d.deported_on, &deported);
	create.legal_counsel = (Tulay__V1__LegalCounsel)d.counsel;
	create.consular_notified = (Tulay__V1__Known)d.consular_notified;
	create.family_separated = (Tulay__V1__Known)d.family_separated;
	Tulay__V1__Person person = TULAY__V1__PERSON__INIT;
	if (d.person_name != NULL || d.person_id_number != NULL) {
		person.name = or_empty(d.person_name);
		person.id_number = or_empty(d.person_id_number);
		create.person = &person;
	}
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_DEPORTATION;
	req.create_deportation = &create;

	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY_DEPORTATION, d.key.bytes,
		      "The deportation may or may not have been logged", &resp);
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "Logged deportation %s", resp->deportation->reference);
		case_warn_duplicates(cli, resp->deportation->possible_duplicates,
				     resp->deportation->n_possible_duplicates);
		rc = output_show(cli, deportation_record(resp->deportation));
	}
	tulay_response_free(resp);
	return rc;
}

/* --- deportation show ------------------------------------------------------------------ */

/* Prints the deportation of resp and its timeline. */
static int deportation_print(const struct cli *cli, const Tulay__V1__Response *resp)
{
	return timeline_show(cli, deportation_record(resp->deportation),
			     resp->deportation->timeline, resp->deportation->n_timeline);
}

int deportation_show(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL, *org = NULL;
	const struct args_option options[] = {
	    DEPORTATION_ORG_OPTION(&org, "the case's organisation, for a case referred to yours"),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "deportation show",
	    .description =
		"Shows one deportation case: the route, the grounds, each stage known with\n"
		"its date and place, legal counsel, consular notification, the person if\n"
		"recorded, then its timeline, oldest first: the opening, each stage recorded\n"
		"and what the organisation did (visits, representations), each with the day\n"
		"it happened and who recorded it.",
	    .options = options,
	    DEPORTATION_REFERENCE_OPERAND(&reference),
	    .notes = "Dates show as precisely as they are known (2025-03: only the month),\n"
		     "with ~ in front when approximate. With --format json, one object: the\n"
		     "case's fields and the array timeline. With --format csv, the case alone.",
	    .example = "  tulay deportation show DP-2026-000123\n"
		       "  tulay deportation show DP-2026-000123 --format json",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	return rpc_show(cli, deportation_get, reference, org, deportation_print);
}

/* --- deportation stage ----------------------------------------------------------------- */

/* What `deportation stage` collects, for its check. */
struct stage_draft {
	int stage;
	struct args_approx_date on;
	const char *detention_place, *deported_to, *note, *org;
	int detention_type;
	uint32_t expected;
	struct args_key key;
};

/* The details of one stage go with that stage only. */
static void stage_check(struct cli *cli, void *ctx)
{
	const struct stage_draft *d = ctx;
	bool detention = d->stage == TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DETENTION;
	bool deportation = d->stage == TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DEPORTATION;
	if (!detention && d->detention_place != NULL)
		cli_problem(cli, "--detention-place", "is only for --stage detention");
	if (!detention && d->detention_type != 0)
		cli_problem(cli, "--detention-type", "is only for --stage detention");
	if (!deportation && d->deported_to != NULL)
		cli_problem(cli, "--deported-to", "is only for --stage deportation");
	args_check_length(cli, "--note", d->note, DEPORTATION_NOTE_MAX);
}

/* The version of the case the stage is recorded in (`ctx`, the
 * RecordDeportationStage) as the server shows it now, for --expected-version's default
 * (rpc_current_fn). */
static int deportation_current_version(struct rpc *rpc, const void *ctx, int64_t *version)
{
	const Tulay__V1__RecordDeportationStage *record = ctx;
	Tulay__V1__Response *resp = NULL;
	int rc = deportation_get(rpc, record->reference, record->organisation, &resp);
	if (rc == CLI_EXIT_OK)
		*version = resp->deportation->version;
	tulay_response_free(resp);
	return rc;
}

int deportation_stage(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL;
	struct stage_draft d = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--stage", ARGS_CHOICE, &d.stage, "STAGE",
		     "the stage reached: one the current status may move to (see below)",
		     .required = true, .choices = &vocab_deportation_stages),
	    ARGS_OPT("--on", ARGS_APPROX, &d.on, APPROX_DATE_METAVAR,
		     "when it happened, as precisely as known", .required = true),
	    ARGS_OPT("--detention-place", ARGS_TEXT, &d.detention_place, "TEXT",
		     "detention: where the person is held, 1-200 characters"),
	    ARGS_OPT("--detention-type", ARGS_CHOICE, &d.detention_type, "TYPE",
		     "detention: the kind of place", .choices = &vocab_detention_types),
	    ARGS_OPT("--deported-to", ARGS_COUNTRY, &d.deported_to, "CC",
		     "deportation: the country the person was sent to"),
	    ARGS_OPT("--note", ARGS_TEXT, &d.note, "TEXT",
		     "what happened, 1-1000 characters (encrypted by the server)"),
	    ARGS_OPT("--expected-version", ARGS_COUNT, &d.expected, "N",
		     "refuse if the case changed since you saw version N (tulay deportation "
		     "show)",
		     .min = 1, .max = UINT32_MAX),
	    DEPORTATION_ORG_OPTION(&d.org, "the case's organisation, for a case referred to yours"),
	    ARGS_IDEMPOTENCY_KEY(&d.key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "deportation stage",
	    .description =
		"Records the next stage of a deportation case, as of a date, and prints the\n"
		"case. The stage, its note and who recorded it go into the case's timeline\n"
		"(tulay deportation show).",
	    .options = options,
	    DEPORTATION_REFERENCE_OPERAND(&reference),
	    .notes = "Allowed moves (stage -> the status it gives):\n"
		     "  arrested  -> detention (detained), release (released),\n"
		     "               deportation (deported)\n"
		     "  detained  -> release (released), deportation (deported)\n"
		     "  released  -> deportation (deported)\n\n" APPROX_DATE_NOTE "\n\n"
		     "Without --expected-version, the version the server shows just before is\n"
		     "used: give it when you decided on the strength of what you saw earlier.",
	    .example = "  tulay deportation stage DP-2026-000123 --stage detention --on ~2025-03 "
		       "\\\n"
		       "      --detention-place \"Semenyih depot\" --detention-type "
		       "immigration-depot\n"
		       "  tulay deportation stage DP-2026-000123 --stage deportation \\\n"
		       "      --on 2025-06-02 --deported-to ID --note \"Flown to Surabaya\"",
	    .check = stage_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &d.key, &rc))
		return rc;

	Tulay__V1__ApproxDate on;
	Tulay__V1__RecordDeportationStage record = TULAY__V1__RECORD_DEPORTATION_STAGE__INIT;
	record.idempotency_key.data = d.key.bytes;
	record.idempotency_key.len = sizeof(d.key.bytes);
	record.reference = (char *)reference;
	record.organisation = or_empty(d.org);
	record.stage = (Tulay__V1__DeportationStage)d.stage;
	record.on = approx_message(&d.on, &on);
	record.detention_place = or_empty(d.detention_place);
	record.detention_type = (Tulay__V1__DetentionType)d.detention_type;
	record.deported_to = or_empty(d.deported_to);
	record.note = or_empty(d.note);
	record.expected_version = d.expected; /* 0: rpc_change asks for the current one */
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_RECORD_DEPORTATION_STAGE;
	req.record_deportation_stage = &record;

	char uncertain[160];
	snprintf(uncertain, sizeof(uncertain), "The %s may or may not have been recorded",
		 vocab_word(&vocab_deportation_stages, d.stage));
	const struct rpc_change change = {
	    .req = &req,
	    .expect = TULAY__V1__RESPONSE__BODY_DEPORTATION,
	    .expected = &record.expected_version,
	    .current = deportation_current_version,
	    .ctx = &record,
	    .key = d.key.bytes,
	    .uncertain = uncertain,
	};
	Tulay__V1__Response *resp = NULL;
	rc = rpc_change(cli, &change, &resp);
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "%s is now %s", resp->deportation->reference,
			       vocab_word(&vocab_deportation_statuses, resp->deportation->status));
		rc = output_show(cli, deportation_record(resp->deportation));
	}
	tulay_response_free(resp);
	return rc;
}

/* --- deportation intervention ---------------------------------------------------------- */

/* `ctx` is the text (const char **). */
static void intervention_check(struct cli *cli, void *ctx)
{
	args_check_length(cli, "--text", *(const char **)ctx, INTERVENTION_TEXT_MAX);
}

int deportation_intervention(struct cli *cli, int argc, char **argv)
{
	const char *reference = NULL, *on = NULL, *text = NULL, *org = NULL;
	int kind = 0;
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--kind", ARGS_CHOICE, &kind, "KIND", "what the organisation did",
		     .required = true, .choices = &vocab_intervention_kinds),
	    ARGS_OPT("--on", ARGS_DATE, &on, "YYYY-MM-DD", "the day it happened (default: today)"),
	    ARGS_OPT("--text", ARGS_TEXT, &text, "TEXT",
		     "what was done and what came of it, 1-4000 characters (encrypted by the "
		     "server)"),
	    DEPORTATION_ORG_OPTION(&org, "the case's organisation, for a case referred to yours"),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "deportation intervention",
	    .description =
		"Records what your organisation did for the person of a deportation case: a\n"
		"detention visit, a representation to a ministry or an embassy, legal\n"
		"representation, support to go home. Prints the entry as recorded; tulay\n"
		"deportation show lists all of them in the case's timeline.",
	    .options = options,
	    DEPORTATION_REFERENCE_OPERAND(&reference),
	    .example =
		"  tulay deportation intervention DP-2026-000123 --kind visit \\\n"
		"      --on 2025-03-20 --text \"Visited at the depot; no interpreter so far\"\n"
		"  tulay deportation intervention DP-2026-000123 \\\n"
		"      --kind representation-embassy --text \"Asked the embassy for travel "
		"papers\"",
	    .check = intervention_check,
	    .check_ctx = &text,
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;

	Tulay__V1__AddIntervention add = TULAY__V1__ADD_INTERVENTION__INIT;
	add.idempotency_key.data = key.bytes;
	add.idempotency_key.len = sizeof(key.bytes);
	add.reference = (char *)reference;
	add.organisation = or_empty(org);
	add.kind = (Tulay__V1__InterventionKind)kind;
	add.occurred_on = or_empty(on);
	add.text = or_empty(text);
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_ADD_INTERVENTION;
	req.add_intervention = &add;

	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY_CASE_EVENT, key.bytes,
		      "The intervention may or may not have been recorded", &resp);
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "Recorded %s on %s",
			       vocab_word(&vocab_intervention_kinds, kind), reference);
		rc = output_show(cli, timeline_event_record(resp->case_event));
	}
	tulay_response_free(resp);
	return rc;
}
