#include "cli_case.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "cli_args.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_vocab.h"
#include "utf8.h"

/* Characters of a summary in the table format; JSON and CSV give all of it. */
#define CASE_SUMMARY_SHOWN 40
/* Longest status code the server takes (ListCases.status). */
#define CASE_STATUS_MAX 30

/* A protocol code ("in_mediation", "wage_theft") as the CLI's word ("in-mediation"), as a
 * new string; NULL when memory runs out. */
static char *code_word(const char *code)
{
	char *word = strdup(code);
	for (char *p = word; p != NULL && *p != '\0'; p++) {
		if (*p == '_')
			*p = '-';
	}
	return word;
}

/* `text` cut to `max` terminal columns, the last of them then "…", as a new string; NULL
 * when memory runs out. */
static char *shortened(const char *text, size_t max)
{
	if (utf8_width(text) <= max)
		return strdup(text);
	size_t len = utf8_fit(text, max - 1, NULL);
	char *out = malloc(len + sizeof("…"));
	if (out != NULL) {
		memcpy(out, text, len);
		strcpy(out + len, "…");
	}
	return out;
}

/* The countries of a case as "PH,MY", as a new string; NULL when memory runs out. */
static char *countries_text(const Tulay__V1__CaseSummary *c)
{
	size_t len = 1;
	for (size_t i = 0; i < c->n_countries; i++)
		len += strlen(c->countries[i]) + 1;
	char *out = malloc(len);
	if (out == NULL)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < c->n_countries; i++) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, c->countries[i]);
	}
	return out;
}

/* Every field of a CaseSummary, for JSON and CSV; the table picks its columns. */
static struct output_record *case_record(const Tulay__V1__CaseSummary *c)
{
	struct output_record *rec = output_record_new();
	char *status = code_word(c->status), *countries = countries_text(c);
	char *summary = shortened(c->summary, CASE_SUMMARY_SHOWN);
	if (rec == NULL || status == NULL || countries == NULL || summary == NULL) {
		output_record_free(rec);
		rec = NULL;
		goto out;
	}
	output_add_text(rec, "reference", "Reference", c->reference);
	output_add_text(rec, "organisation", "Organisation", c->organisation);
	output_add_text(rec, "kind", "Kind",
			c->kind != 0 ? vocab_word(&vocab_case_kinds, c->kind) : "");
	output_add_text(rec, "status", "Status", status);
	output_add_text(rec, "opened_on", "Opened", c->opened_on);
	output_add_text(rec, "closed_on", "Closed", c->closed_on);
	output_add_text(rec, "office", "Office", c->office);
	output_add_text(rec, "countries", "Countries", countries);
	output_add_text(rec, "sector", "Sector",
			c->sector != 0 ? vocab_word(&vocab_sectors, c->sector) : "");
	output_add_text(rec, "employer", "Employer", c->employer);
	output_add_text(rec, "summary", "Summary", c->summary);
	output_add_int(rec, "version", "Version", c->version);
	output_add_human(rec, "summary_shown", NULL, "%s", summary);
out:
	free(status);
	free(countries);
	free(summary);
	return rec;
}

static struct output_record *case_blank(void)
{
	Tulay__V1__CaseSummary c = TULAY__V1__CASE_SUMMARY__INIT;
	return case_record(&c);
}

static const char *case_page(struct output_list *list, const Tulay__V1__Response *resp)
{
	const Tulay__V1__CaseList *page = resp->cases;
	for (size_t i = 0; i < page->n_cases; i++)
		output_list_add(list, case_record(page->cases[i]));
	return page->next_page_token;
}

/* The table's columns; shared cases add the organisation they belong to. */
#define CASE_COLUMNS                                                                               \
	{"reference", "REFERENCE", false}, {"kind", "KIND", false}, {"status", "STATUS", false},   \
	    {"opened_on", "OPENED", false}, {"countries", "COUNTRIES", false},                     \
	    {"sector", "SECTOR", false}, {"summary_shown", "SUMMARY", false},                      \
	{                                                                                          \
		"office", "OFFICE", false                                                          \
	}
static const struct output_column case_columns[] = {CASE_COLUMNS};
static const struct output_column shared_case_columns[] = {CASE_COLUMNS,
							   {"organisation", "ORG", false}};

/* What differs between `case list` and the per-kind lists built on it. */
struct case_list_variant {
	const char *name;        /* "deportation list" */
	const char *description; /* for --help */
	const char *example;
	const char *notes;
	Tulay__V1__CaseKind kind; /* fixed, or UNSPECIFIED: --kind chooses */
	const char *noun;         /* "deportations": "there are more deportations" */
	const char *empty;        /* "No deportations." */
	const char *const *omit;  /* options that make no sense for the kind, NULL-ended */
};

/* The options of one run, for the checks across options. */
struct case_query {
	const char *org, *status, *opened_from, *opened_to, *page_token, *id_number;
	bool shared;
	char status_code[CASE_STATUS_MAX + 2];
};

static void case_list_check(struct cli *cli, void *ctx)
{
	struct case_query *q = ctx;
	struct civil_date from, to;
	if (q->opened_from != NULL && q->opened_to != NULL &&
	    civil_date_parse(q->opened_from, &from) && civil_date_parse(q->opened_to, &to) &&
	    civil_date_cmp(&to, &from) < 0)
		cli_problem(cli, "--opened-to", "%s is before --opened-from %s: no case can match",
			    q->opened_to, q->opened_from);
	if (q->shared && q->org != NULL)
		cli_problem(cli, "--org",
			    "cannot go with --shared, which lists the cases other organisations "
			    "referred to your own");
	if (q->shared && q->id_number != NULL)
		cli_problem(cli, "--id-number",
			    "searches your organisation's own cases (ID numbers are indexed per "
			    "organisation): leave out --shared");
	/* The status as the protocol's code: the server knows the statuses of each kind
	 * and says which it takes. Words are typed with '-' ("in-mediation"). */
	if (q->status != NULL) {
		size_t len = strlen(q->status);
		if (len > CASE_STATUS_MAX) {
			cli_problem(cli, "--status", "'%s' is longer than any status", q->status);
			return;
		}
		for (size_t i = 0; i <= len; i++) {
			char ch = q->status[i];
			q->status_code[i] = ch == '-' ? '_' : (char)tolower((unsigned char)ch);
		}
	}
}

static const char case_status_notes[] =
    "Statuses, by kind:\n"
    "  wage-theft      intake, filed, in-mediation, awarded, partially-paid, paid,\n"
    "                  rejected, withdrawn\n"
    "  deportation     arrested, detained, released, deported\n"
    "  recommendation  drafted, submitted, acknowledged, accepted,\n"
    "                  partially-implemented, implemented, noted, rejected\n\n";

#define CASE_TEXT_NOTES                                                                            \
	"--text looks in what is not personal: the reference, employer, recruitment\n"             \
	"agency, places of arrest and detention, a recommendation's title, text, source\n"         \
	"and target body, and the office's name and city. Never in names, ID numbers or\n"         \
	"notes: search a worker or deported person by ID number with --id-number.\n"               \
	"\n"                                                                                       \
	"Pages: newest first, --limit at a time (default 50). Without --all, only the\n"           \
	"first page is listed, and when there are more, stderr names the --page-token\n"           \
	"of the next one: the same command with it lists the next page, and never\n"               \
	"repeats or skips a case, even when cases are added in between. JSON and CSV\n"            \
	"give every field of each case: reference, organisation, kind, status, opened_on,\n"       \
	"closed_on, office, countries (comma-separated), sector, employer, summary, version."

static const struct case_list_variant case_variant = {
    .name = "case list",
    .description =
	"Searches cases of every kind (wage-theft claims, deportations, recommendations),\n"
	"newest first. Filters combine: a case is listed when it matches all of them.",
    .example = "  tulay case list --kind wage-theft --status in-mediation --country MY\n"
	       "  tulay case list --text \"Bina Jaya\" --opened-from 2026-01-01\n"
	       "  tulay case list --sector construction --office \"Kuala Lumpur\" --all\n"
	       "  tulay case list --shared\n"
	       "  tulay case list --id-number AB1234567\n"
	       "  tulay case list --all --format csv > cases.csv",
    .notes = "--status takes a status of the --kind given, or of any kind without it.\n"
	     "--shared lists instead the cases other organisations referred to yours and\n"
	     "you accepted (the ORG column names whose they are).\n\n" CASE_TEXT_NOTES,
    .kind = TULAY__V1__CASE_KIND__CASE_KIND_UNSPECIFIED,
    .noun = "cases",
    .empty = "No cases.",
};

static const struct case_list_variant deportation_variant = {
    .name = "deportation list",
    .description = "Lists deportation cases, newest first, with the filters of\n"
		   "`tulay case list`: a case is listed when it matches all of them.",
    .example = "  tulay deportation list --status detained --country MY\n"
	       "  tulay deportation list --text \"Semenyih\" --opened-from 2026-01-01\n"
	       "  tulay deportation list --id-number \"EB 123 4567\"\n"
	       "  tulay deportation list --all --format csv > deportations.csv",
    .notes = "--status: arrested, detained, released or deported. --country matches the\n"
	     "nationality and the countries deported from and to.\n\n" CASE_TEXT_NOTES,
    .kind = TULAY__V1__CASE_KIND__CASE_KIND_DEPORTATION,
    .omit = (const char *const[]){"--kind", "--employer", NULL},
    .noun = "deportations",
    .empty = "No deportations.",
};

static const struct case_list_variant recommendation_variant = {
    .name = "recommendation list",
    .description = "Lists policy recommendations, newest first, with the filters of\n"
		   "`tulay case list`: one is listed when it matches all of them.",
    .example = "  tulay recommendation list --status submitted --country MY\n"
	       "  tulay recommendation list --text \"ACMW\"\n"
	       "  tulay recommendation list --all --format json",
    .notes = "--status: drafted, submitted, acknowledged, accepted, partially-implemented,\n"
	     "implemented, noted or rejected. --country matches the country addressed.\n"
	     "\n" CASE_TEXT_NOTES,
    .kind = TULAY__V1__CASE_KIND__CASE_KIND_RECOMMENDATION,
    .omit =
	(const char *const[]){"--kind", "--employer", "--sector", "--shared", "--id-number", NULL},
    .noun = "recommendations",
    .empty = "No recommendations.",
};

static bool omitted(const struct case_list_variant *v, const char *option)
{
	for (const char *const *o = v->omit; o != NULL && *o != NULL; o++) {
		if (strcmp(*o, option) == 0)
			return true;
	}
	return false;
}

/* `tulay case list` and the per-kind lists: one implementation, the kind fixed or not. */
static int case_list_run(struct cli *cli, const struct case_list_variant *v, int argc, char **argv)
{
	struct case_query q = {0};
	const char *country = NULL, *employer = NULL, *office = NULL, *text = NULL;
	int kind = v->kind, sector = 0;
	uint32_t limit = 0;
	bool all = false;
	char notes[2048];
	snprintf(notes, sizeof(notes), "%s%s",
		 v->kind == TULAY__V1__CASE_KIND__CASE_KIND_UNSPECIFIED ? case_status_notes : "",
		 v->notes);
	const struct args_option options[] = {
	    ARGS_OPT("--kind", ARGS_CHOICE, &kind, "KIND", "only cases of this kind",
		     .choices = &vocab_case_kinds),
	    ARGS_OPT("--status", ARGS_TEXT, &q.status, "STATUS",
		     "only cases with this status (see below)"),
	    ARGS_OPT("--opened-from", ARGS_DATE, &q.opened_from, "YYYY-MM-DD",
		     "only cases opened on this day or later"),
	    ARGS_OPT("--opened-to", ARGS_DATE, &q.opened_to, "YYYY-MM-DD",
		     "only cases opened on this day or earlier"),
	    ARGS_OPT("--country", ARGS_COUNTRY, &country, "CC",
		     "only cases involving this country (e.g. MY): of origin, work, "
		     "deportation or addressed"),
	    ARGS_OPT("--sector", ARGS_CHOICE, &sector, "SECTOR", "only cases in this sector",
		     .choices = &vocab_sectors),
	    ARGS_OPT("--employer", ARGS_TEXT, &employer, "TEXT",
		     "only claims whose employer's name contains TEXT (any case)"),
	    ARGS_OPT("--office", ARGS_TEXT, &office, "NAME",
		     "only cases logged at the field office of this exact name"),
	    ARGS_OPT("--text", ARGS_TEXT, &text, "TEXT",
		     "only cases whose non-personal text contains TEXT (any case; "
		     "1-100 characters; see below)"),
	    ARGS_OPT("--id-number", ARGS_TEXT, &q.id_number, "NUMBER",
		     "only cases whose worker (or co-worker) or deported person has this "
		     "passport or ID number (exact; spaces, '-', '.' and '/' ignored)"),
	    ARGS_OPT("--shared", ARGS_FLAG, &q.shared, NULL,
		     "instead, cases other organisations referred to yours"),
	    ARGS_OPT("--org", ARGS_ACRONYM, &q.org, "ACRONYM",
		     "cases of this organisation (default: your own)"),
	    ARGS_PAGE_LIMIT(&limit),
	    ARGS_ALL_PAGES(&all),
	    ARGS_OPT("--page-token", ARGS_TEXT, &q.page_token, "TOKEN",
		     "start at this page: the next_page_token of an earlier page, same "
		     "filters"),
	    {0},
	};
	/* The per-kind lists have their kind fixed, and leave out what their kind lacks. */
	struct args_option used[sizeof(options) / sizeof(options[0])];
	size_t n_used = 0;
	for (const struct args_option *o = options; o->name != NULL; o++) {
		if (!omitted(v, o->name))
			used[n_used++] = *o;
	}
	used[n_used] = (struct args_option){0};
	const struct args_command cmd = {
	    .name = v->name,
	    .description = v->description,
	    .options = used,
	    .notes = notes,
	    .example = v->example,
	    .check = case_list_check,
	    .check_ctx = &q,
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	Tulay__V1__ListCases query = TULAY__V1__LIST_CASES__INIT;
	query.organisation = (char *)(q.org != NULL ? q.org : "");
	query.kind = (Tulay__V1__CaseKind)kind;
	query.status = q.status != NULL ? q.status_code : (char *)"";
	query.opened_from = (char *)(q.opened_from != NULL ? q.opened_from : "");
	query.opened_to = (char *)(q.opened_to != NULL ? q.opened_to : "");
	query.country = (char *)(country != NULL ? country : "");
	query.sector = (Tulay__V1__Sector)sector;
	query.employer = (char *)(employer != NULL ? employer : "");
	query.office = (char *)(office != NULL ? office : "");
	query.text = (char *)(text != NULL ? text : "");
	query.id_number = (char *)(q.id_number != NULL ? q.id_number : "");
	query.shared = q.shared;
	query.limit = limit;
	query.page_token = (char *)(q.page_token != NULL ? q.page_token : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_CASES;
	req.list_cases = &query;

	const struct output_list_spec spec = {
	    .columns = q.shared ? shared_case_columns : case_columns,
	    .n_columns = q.shared ? sizeof(shared_case_columns) / sizeof(shared_case_columns[0])
				  : sizeof(case_columns) / sizeof(case_columns[0]),
	    .empty = v->empty,
	    .blank = case_blank,
	};
	const struct rpc_lister lister = {
	    .expect = TULAY__V1__RESPONSE__BODY_CASES,
	    .noun = v->noun,
	    .page_token_option = true,
	    .page = case_page,
	    .spec = &spec,
	};
	return rpc_list(cli, &lister, &req, &query.page_token, all);
}

int case_list(struct cli *cli, int argc, char **argv)
{
	return case_list_run(cli, &case_variant, argc, argv);
}

int deportation_list(struct cli *cli, int argc, char **argv)
{
	return case_list_run(cli, &deportation_variant, argc, argv);
}

int recommendation_list(struct cli *cli, int argc, char **argv)
{
	return case_list_run(cli, &recommendation_variant, argc, argv);
}

void case_warn_duplicates(const struct cli *cli, char *const *refs, size_t n)
{
	if (n == 0)
		return;
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(refs[i]) + 2;
	char *list = malloc(len);
	if (list == NULL) {
		cli_error(cli, "possible duplicate: %zu other case%s hold%s the same ID number", n,
			  n == 1 ? "" : "s", n == 1 ? "s" : "");
		return;
	}
	list[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(list, ", ");
		strcat(list, refs[i]);
	}
	cli_error(cli, "possible duplicate of %s: a worker or person with the same ID number",
		  list);
	cli_detail("the case was logged; check that it is not one already logged (tulay case list "
		   "--id-number NUMBER)");
	free(list);
}
