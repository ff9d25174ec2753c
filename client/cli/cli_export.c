/* tulay export: ExportCases' response stream (proto/README.md) written record by record
 * to CSV or JSON, in constant memory. A stream cut by a lost connection or a server that
 * shuts down is taken up again after the last page received (resume_after), on a new
 * connection, so the file holds every case once. With --output the file is written as
 * FILE.part (mode 0600: it may hold identities) and renamed when complete. */
#include "cli_export.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_args.h"
#include "cli_claim_common.h"
#include "cli_deportation.h"
#include "cli_output.h"
#include "cli_recommendation.h"
#include "cli_rpc.h"
#include "cli_vocab.h"

#define EXPORT_ATTEMPTS 5 /* connections for one export: the first and four to resume */

struct export_kind {
	const char *word; /* the operand: "claims" */
	Tulay__V1__CaseKind kind;
	/* The records of one page. */
	int (*page)(struct output_stream *out, const Tulay__V1__ExportPage *page);
	struct output_record *(*blank)(void);
};

/* Co-workers in one CSV cell: "name|id number|phone" each, separated by ';'. */
static void add_co_workers(struct output_record *rec, const Tulay__V1__Claim *c)
{
	size_t len = 0;
	for (size_t i = 0; i < c->n_co_workers; i++) {
		const Tulay__V1__Worker *w = c->co_workers[i];
		len += strlen(w->name) + strlen(w->id_number) + strlen(w->phone) + 3;
	}
	char *cell = malloc(len + 1);
	if (cell == NULL) {
		output_add_text(rec, "co_workers", NULL, NULL); /* marks the record failed */
		return;
	}
	char *p = cell;
	*p = '\0';
	for (size_t i = 0; i < c->n_co_workers; i++) {
		const Tulay__V1__Worker *w = c->co_workers[i];
		p += sprintf(p, "%s%s|%s|%s", i > 0 ? ";" : "", w->name, w->id_number, w->phone);
	}
	output_add_text(rec, "co_workers", NULL, cell);
	free(cell);
}

static struct output_record *export_claim_record(const Tulay__V1__Claim *c)
{
	struct output_record *rec = claim_record(c);
	output_add_text(rec, "office", NULL, c->office);
	if (c->worker != NULL)
		add_co_workers(rec, c);
	return rec;
}

static bool with_identities; /* the run's --with-identities, for the blank records */

static struct output_record *claim_export_blank(void)
{
	Tulay__V1__Claim c = TULAY__V1__CLAIM__INIT;
	Tulay__V1__Worker w = TULAY__V1__WORKER__INIT;
	c.worker = with_identities ? &w : NULL;
	return export_claim_record(&c);
}

static int claims_page(struct output_stream *out, const Tulay__V1__ExportPage *page)
{
	for (size_t i = 0; i < page->n_claims; i++) {
		if (output_stream_add(out, export_claim_record(page->claims[i])) != 0)
			return -1;
	}
	return 0;
}

static struct output_record *deportation_export_blank(void)
{
	Tulay__V1__Deportation d = TULAY__V1__DEPORTATION__INIT;
	Tulay__V1__Person p = TULAY__V1__PERSON__INIT;
	d.person = with_identities ? &p : NULL;
	return deportation_record(&d);
}

static int deportations_page(struct output_stream *out, const Tulay__V1__ExportPage *page)
{
	for (size_t i = 0; i < page->n_deportations; i++) {
		if (output_stream_add(out, deportation_record(page->deportations[i])) != 0)
			return -1;
	}
	return 0;
}

/* The evidence in one CSV cell: "ORG/REFERENCE" each, separated by ';'. */
static struct output_record *export_recommendation_record(const Tulay__V1__Recommendation *r)
{
	struct output_record *rec = recommendation_record(r);
	size_t len = 1;
	for (size_t i = 0; i < r->n_evidence; i++)
		len += strlen(r->evidence[i]->organisation) + strlen(r->evidence[i]->reference) + 2;
	char *cell = malloc(len);
	if (cell != NULL) {
		char *p = cell;
		*p = '\0';
		for (size_t i = 0; i < r->n_evidence; i++)
			p += sprintf(p, "%s%s/%s", i > 0 ? ";" : "", r->evidence[i]->organisation,
				     r->evidence[i]->reference);
	}
	output_add_text(rec, "evidence", NULL, cell); /* NULL marks the record failed */
	free(cell);
	return rec;
}

static struct output_record *recommendation_export_blank(void)
{
	Tulay__V1__Recommendation r = TULAY__V1__RECOMMENDATION__INIT;
	return export_recommendation_record(&r);
}

static int recommendations_page(struct output_stream *out, const Tulay__V1__ExportPage *page)
{
	for (size_t i = 0; i < page->n_recommendations; i++) {
		if (output_stream_add(out,
				      export_recommendation_record(page->recommendations[i])) != 0)
			return -1;
	}
	return 0;
}

static const struct export_kind kinds[] = {
    {"claims", TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT, claims_page, claim_export_blank},
    {"deportations", TULAY__V1__CASE_KIND__CASE_KIND_DEPORTATION, deportations_page,
     deportation_export_blank},
    {"recommendations", TULAY__V1__CASE_KIND__CASE_KIND_RECOMMENDATION, recommendations_page,
     recommendation_export_blank},
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The progress line on a terminal: cases so far and the rate. */
static void progress(bool tty, const char *noun, size_t n, double started, bool done)
{
	if (!tty && !done)
		return;
	double secs = now_s() - started;
	fprintf(stderr, "%s%s %zu %s in %.1f s (%.0f a second)%s", tty ? "\r" : "",
		done ? "Exported" : "Exporting:", n, noun, secs, secs > 0 ? (double)n / secs : 0.0,
		done || !tty ? "\n" : "");
	fflush(stderr);
}

/* One connection's part of the export: sends `req` and writes every page until the last,
 * an error, or a lost connection. *resume is the last page's resume_after. Returns the
 * exit code; *retry is set when the stream broke in a way that resuming may mend. */
static int export_stream(struct cli *cli, const struct export_kind *kind, Tulay__V1__Request *req,
			 struct output_stream *out, char *resume, size_t resume_cap, bool *retry,
			 double started, bool tty)
{
	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	*retry = false;
	int rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK)
		rc = rpc_call(&rpc, req, TULAY__V1__RESPONSE__BODY_EXPORT_PAGE, &resp);
	while (rc == CLI_EXIT_OK) {
		const Tulay__V1__ExportPage *page = resp->export_page;
		if (kind->page(out, page) != 0) {
			cli_error(cli, "writing the export failed: %s",
				  errno != 0 ? strerror(errno) : "out of memory");
			rc = CLI_EXIT_LOCAL;
			break;
		}
		snprintf(resume, resume_cap, "%s", page->resume_after);
		progress(tty, kind->word, out->n, started, false);
		bool last = page->last;
		tulay_response_free(resp);
		resp = NULL;
		if (last)
			break;
		int err = tulay_recv(rpc.client, &resp);
		if (err < 0) {
			rc = rpc_report_failure(&rpc, err);
			*retry = true;
		} else if (resp->id != req->id) {
			cli_error(cli,
				  "the server answered another request in the export's stream");
			rc = CLI_EXIT_UNREACHABLE;
		} else if (resp->status->code != TULAY__V1__CODE__OK) {
			*retry = resp->status->code == TULAY__V1__CODE__UNAVAILABLE;
			rc = rpc_report_status(&rpc, resp->status);
		} else if (resp->body_case != TULAY__V1__RESPONSE__BODY_EXPORT_PAGE) {
			cli_error(cli, "the server sent an unexpected kind of response");
			rc = CLI_EXIT_UNREACHABLE;
		}
	}
	tulay_response_free(resp);
	rpc_end(&rpc);
	if (rc == CLI_EXIT_UNREACHABLE && !*retry)
		*retry = resume[0] != '\0'; /* the connection broke between pages */
	return rc;
}

int export_cases(struct cli *cli, int argc, char **argv)
{
	const char *what = NULL, *status = NULL, *opened_from = NULL, *opened_to = NULL,
		   *office = NULL, *output = NULL;
	bool identities = false;
	uint32_t page_size = 0;
	const struct args_option options[] = {
	    ARGS_OPT("--status", ARGS_TEXT, &status, "STATUS", "only cases with this status"),
	    ARGS_OPT("--opened-from", ARGS_DATE, &opened_from, "YYYY-MM-DD",
		     "only cases opened on this day or later"),
	    ARGS_OPT("--opened-to", ARGS_DATE, &opened_to, "YYYY-MM-DD",
		     "only cases opened on this day or earlier"),
	    ARGS_OPT("--office", ARGS_TEXT, &office, "NAME",
		     "only cases logged at the field office of this exact name"),
	    ARGS_OPT("--with-identities", ARGS_FLAG, &identities, NULL,
		     "with the workers' and deported persons' names, ID numbers and phones "
		     "(field officers and organisation admins; recorded in the audit log)"),
	    ARGS_OPT("--output", ARGS_TEXT, &output, "FILE",
		     "write FILE (mode 0600; as FILE.part until complete) instead of stdout"),
	    ARGS_OPT("--page-size", ARGS_COUNT, &page_size, "N",
		     "cases per page of the stream (1-1000; default 500)", .min = 1, .max = 1000),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "export",
	    .description =
		"Writes every case of one kind of your organisation, oldest first, with every\n"
		"field but the timeline, as CSV (the default) or JSON (--format json). The\n"
		"server streams it page by page, so an export of any size takes the same\n"
		"little memory on both sides.",
	    .operand = "KIND",
	    .operand_help = "claims, deportations or recommendations",
	    .operand_value = &what,
	    .options = options,
	    .notes = "The columns are those of `claim show`, `deportation show` and\n"
		     "`recommendation show` in CSV, with office for claims and evidence\n"
		     "(\"ORG/REFERENCE\" each, separated by ';') for recommendations; with\n"
		     "--with-identities also worker_name, worker_id_number, worker_phone and\n"
		     "co_workers (\"name|id number|phone\" each, separated by ';') for claims,\n"
		     "person_name and person_id_number for deportations.\n"
		     "\n"
		     "Statuses: claims intake, filed, in-mediation, awarded, partially-paid,\n"
		     "paid, rejected, withdrawn; deportations arrested, detained, released,\n"
		     "deported; recommendations drafted, submitted, acknowledged, accepted,\n"
		     "partially-implemented, implemented, noted, rejected.\n"
		     "\n"
		     "A stream cut by a lost connection or a server going away is taken up\n"
		     "after the last page received, so every case is written once. On a\n"
		     "terminal a progress line counts the cases; a summary ends the run.",
	    .example = "  tulay export claims --output claims.csv\n"
		       "  tulay export deportations --status detained --format json\n"
		       "  tulay export claims --with-identities --output /secure/claims.csv",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	const struct export_kind *kind = NULL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kinds[i].word, what) == 0)
			kind = &kinds[i];
	}
	if (kind == NULL) {
		cli_problem(cli, "KIND",
			    "'%s' is not a kind to export: claims, deportations or "
			    "recommendations",
			    what);
		return cli_usage_result(cli);
	}
	/* Statuses are typed with '-' ("in-mediation"); the protocol's codes have '_'. */
	char status_code[32] = "";
	if (status != NULL) {
		if (strlen(status) >= sizeof(status_code)) {
			cli_problem(cli, "--status", "'%s' is longer than any status", status);
			return cli_usage_result(cli);
		}
		for (size_t i = 0; status[i] != '\0'; i++)
			status_code[i] =
			    status[i] == '-' ? '_' : (char)tolower((unsigned char)status[i]);
	}
	with_identities = identities;

	char *part = NULL;
	FILE *out = stdout;
	if (output != NULL) {
		size_t len = strlen(output) + sizeof(".part");
		part = malloc(len);
		int fd = -1;
		if (part != NULL) {
			snprintf(part, len, "%s.part", output);
			fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		}
		out = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (out == NULL) {
			cli_error(cli, "cannot write %s: %s", part != NULL ? part : output,
				  strerror(errno));
			if (fd >= 0)
				close(fd);
			free(part);
			return CLI_EXIT_LOCAL;
		}
	}
	struct output_stream stream;
	output_stream_begin(&stream, cli->format == OUTPUT_JSON ? OUTPUT_JSON : OUTPUT_CSV, out,
			    kind->blank);

	Tulay__V1__ExportCases query = TULAY__V1__EXPORT_CASES__INIT;
	query.kind = kind->kind;
	query.status = status_code;
	query.opened_from = (char *)(opened_from != NULL ? opened_from : "");
	query.opened_to = (char *)(opened_to != NULL ? opened_to : "");
	query.office = (char *)(office != NULL ? office : "");
	query.with_identities = identities;
	query.page_size = page_size;
	char resume[32] = "";
	query.resume_after = resume;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_EXPORT_CASES;
	req.export_cases = &query;

	bool tty = isatty(STDERR_FILENO) == 1;
	double started = now_s();
	bool retry = false;
	for (int attempt = 1; attempt <= EXPORT_ATTEMPTS; attempt++) {
		req.id = (uint64_t)attempt;
		rc = export_stream(cli, kind, &req, &stream, resume, sizeof(resume), &retry,
				   started, tty);
		if (rc == CLI_EXIT_OK || !retry || attempt == EXPORT_ATTEMPTS)
			break;
		cli_detail("taking the export up again after the %zu %s received", stream.n,
			   kind->word);
	}
	if (rc == CLI_EXIT_OK && output_stream_end(&stream) != 0) {
		cli_error(cli, "writing the export failed: %s",
			  errno != 0 ? strerror(errno) : "out of memory");
		rc = CLI_EXIT_LOCAL;
	}
	if (out != stdout && fclose(out) != 0 && rc == CLI_EXIT_OK) {
		cli_error(cli, "writing %s failed: %s", part, strerror(errno));
		rc = CLI_EXIT_LOCAL;
	}
	if (rc == CLI_EXIT_OK && part != NULL && rename(part, output) != 0) {
		cli_error(cli, "cannot rename %s to %s: %s", part, output, strerror(errno));
		rc = CLI_EXIT_LOCAL;
	}
	if (rc == CLI_EXIT_OK)
		progress(tty, kind->word, stream.n, started, true);
	else if (part != NULL)
		cli_detail("%s holds the %zu %s written before the failure", part, stream.n,
			   kind->word);
	free(part);
	return rc;
}
