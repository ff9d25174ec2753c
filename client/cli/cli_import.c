/* tulay import claims|deportations|recommendations FILE.csv: cases from a spreadsheet, in
 * the columns of `tulay export` (struct import_kind says which, and what a row becomes).
 *
 * Two passes over the file (libcsv reads it, a block at a time): the first checks every
 * row and reports every bad cell with its line, column and fix, before anything is sent;
 * the second sends the good rows as pipelined creates, as many in flight as the server
 * allows, on one connection (taken up again after a lost connection, the requests in
 * flight sent again with their keys). Each row's idempotency key is derived from its
 * content (and the number of identical rows before it), so re-running an import that was
 * cut, or the same file with bad rows corrected, creates no case twice: the server
 * answers a replayed key with the case it made the first time. A row naming a case of the
 * importer's own organisation changes it instead (cli_import_update.c). Refused
 * rows, with their errors, go to FILE.refused.csv for correction. */
#include "cli_import.h"
#include "cli_import_kind.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <csv.h>

#include "cli_args.h"
#include "cli_rpc.h"

#define IMPORT_MAX_INFLIGHT 256
#define IMPORT_ATTEMPTS     5 /* connections for one import */
/* Sends of one row answered UNAVAILABLE (a busy database): a bulk import waits longer for
 * it than an interactive command, about 15 s in all, before it names the row. */
#define IMPORT_BUSY_ATTEMPTS 10

/* --- identical rows ------------------------------------------------------------------------ */

/* How many rows with the same imported cells came before: a set of content digests with a
 * count each (open addressing). */
struct seen {
	struct seen_entry {
		uint8_t digest[32];
		unsigned count;
		bool used;
	} * slots;
	size_t cap, n;
};

static unsigned seen_add(struct seen *s, const uint8_t digest[32])
{
	if (s->n * 2 >= s->cap) {
		struct seen bigger = {.cap = s->cap != 0 ? s->cap * 2 : 1024};
		bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
		if (bigger.slots == NULL)
			return 0; /* every row then counts as the first of its kind */
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slots[i].used)
				continue;
			size_t j;
			memcpy(&j, s->slots[i].digest, sizeof(j));
			for (j %= bigger.cap; bigger.slots[j].used; j = (j + 1) % bigger.cap)
				;
			bigger.slots[j] = s->slots[i];
		}
		bigger.n = s->n;
		free(s->slots);
		*s = bigger;
	}
	size_t j;
	memcpy(&j, digest, sizeof(j));
	for (j %= s->cap; s->slots[j].used; j = (j + 1) % s->cap) {
		if (memcmp(s->slots[j].digest, digest, 32) == 0)
			return s->slots[j].count++;
	}
	s->slots[j].used = true;
	memcpy(s->slots[j].digest, digest, 32);
	s->n++;
	return s->slots[j].count++;
}

/* --- one import ----------------------------------------------------------------------------- */

struct slot {
	bool used;
	uint64_t id;
	unsigned attempts;
	struct row row; /* the cells, owned here */
	void *msg;      /* the kind's message of the row (kept for the next row of the slot) */
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	Tulay__V1__Request req;
	bool update; /* a case of the importer's organisation, changed at the file's version */
	struct import_update up;
};

struct import {
	struct cli *cli;
	const struct import_kind *kind;
	const char *path;
	bool header_done, dry_run;
	struct checker k;
	struct seen seen;
	size_t rows, good, bad;                  /* pass 1 */
	size_t sent, created, existing, refused; /* pass 2 */
	size_t updated, unchanged, stale; /* rows naming cases of the importer's organisation */
	char own_org[24];                 /* the importer's organisation (from Authenticate) */
	FILE *refused_out;
	char *refused_path;
	void *scratch; /* the kind's message, for pass 1 */
	/* pass 2 */
	struct rpc rpc;
	bool connected;
	struct slot slots[IMPORT_MAX_INFLIGHT];
	unsigned inflight, max_inflight;
	int rc;
	bool tty;
	double started;
	double started_unix; /* wall clock, to tell cases logged before this run */
	size_t progress_at;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Maps the header row; false after reporting what is wrong with it. */
static bool map_header(struct import *im, const struct row *row)
{
	struct checker *k = &im->k;
	const struct import_column *columns = im->kind->columns;
	k->columns = columns;
	k->ncolumns = im->kind->ncolumns;
	for (int c = 0; c < k->ncolumns; c++)
		k->where[c] = -1;
	bool ok = true;
	for (size_t i = 0; i < row->ncells && i < IMPORT_MAX_COLUMNS; i++) {
		k->map[i] = -1;
		for (int c = 0; c < k->ncolumns; c++) {
			if (strcmp(row->cells[i], columns[c].name) == 0) {
				if (k->where[c] >= 0) {
					cli_error(im->cli,
						  "%s, line %zu: the column %s is there twice",
						  im->path, row->line, columns[c].name);
					ok = false;
				}
				k->map[i] = c;
				k->where[c] = (int)i;
			}
		}
		if (k->map[i] < 0) {
			cli_error(im->cli,
				  "%s, line %zu: the column '%s' (%zu) is not one of a %s's: see "
				  "`tulay import %s --template`",
				  im->path, row->line, row->cells[i], i + 1, im->kind->noun,
				  im->kind->word);
			ok = false;
		}
	}
	for (int c = 0; c < k->ncolumns; c++) {
		if (columns[c].required && k->where[c] < 0) {
			cli_error(im->cli, "%s: the header (line %zu) has no column %s (%s)",
				  im->path, row->line, columns[c].name, columns[c].help);
			ok = false;
		}
	}
	return ok;
}

/* Writes a refused row: its line, its errors, then its cells as the file had them. */
static void write_refused(struct import *im, const struct row *row, const char *errors)
{
	if (im->refused_out == NULL)
		return;
	char line[24];
	snprintf(line, sizeof(line), "%zu", row->line);
	csv_fwrite(im->refused_out, line, strlen(line));
	fputc(',', im->refused_out);
	csv_fwrite(im->refused_out, errors, strlen(errors));
	for (size_t i = 0; i < row->ncells; i++) {
		fputc(',', im->refused_out);
		csv_fwrite(im->refused_out, row->cells[i], strlen(row->cells[i]));
	}
	fputs("\r\n", im->refused_out);
}

static const char *column_name(const struct checker *k, int col, char *buf, size_t cap)
{
	if (col == IMPORT_ROW)
		return "the row";
	snprintf(buf, cap, "column %s (%d)", k->columns[col].name, k->where[col] + 1);
	return buf;
}

/* The kind's checks of a row, then the version of a row with a reference (a case of yours
 * is changed at it); *version is 0 without one. */
static void check_row(struct import *im, const struct row *row, void *msg, int64_t *version)
{
	const struct import_kind *kind = im->kind;
	kind->check(&im->k, row, msg);
	*version = 0;
	if (*import_cell(&im->k, kind->col_reference) != '\0')
		*version = import_version(&im->k, kind->col_version);
}

/* Pass 1: every row checked, every problem reported. */
static void check_one(struct row *row, void *ctx)
{
	struct import *im = ctx;
	if (!im->header_done) {
		im->header_done = true;
		if (!map_header(im, row))
			im->rc = CLI_EXIT_USAGE;
		/* The refused file: the file's columns after the line and the errors. */
		if (im->refused_out != NULL) {
			fputs("line,errors", im->refused_out);
			for (size_t i = 0; i < row->ncells; i++) {
				fputc(',', im->refused_out);
				csv_fwrite(im->refused_out, row->cells[i], strlen(row->cells[i]));
			}
			fputs("\r\n", im->refused_out);
		}
		return;
	}
	if (im->rc != CLI_EXIT_OK)
		return;
	im->rows++;
	int64_t version;
	check_row(im, row, im->scratch, &version);
	if (im->k.nproblems == 0) {
		im->good++;
		return;
	}
	im->bad++;
	char errors[IMPORT_MAX_ERRORS * 240] = "";
	for (size_t i = 0; i < im->k.nproblems; i++) {
		char where[80];
		const struct problem *p = &im->k.problems[i];
		column_name(&im->k, p->col, where, sizeof(where));
		fprintf(stderr, "%s, line %zu, %s: %s\n", im->path, row->line, where, p->text);
		if (i < IMPORT_MAX_ERRORS)
			snprintf(errors + strlen(errors), sizeof(errors) - strlen(errors),
				 "%s%s: %s", i > 0 ? "; " : "",
				 p->col != IMPORT_ROW ? im->k.columns[p->col].name : "row",
				 p->text);
	}
	write_refused(im, row, errors);
}

static void progress(struct import *im, bool done)
{
	size_t n =
	    im->created + im->existing + im->refused + im->updated + im->unchanged + im->stale;
	if (!im->tty || (!done && n < im->progress_at))
		return;
	im->progress_at = n + 500;
	double secs = now_s() - im->started, rate = secs > 0 ? (double)n / secs : 0;
	fprintf(stderr, "\rImporting: %zu/%zu rows (%.0f a second, %.0f s left)   ", n, im->good,
		rate, rate > 0 ? (double)(im->good - n) / rate : 0.0);
	if (done)
		fputc('\n', stderr);
	fflush(stderr);
}

static void slot_free(struct import *im, struct slot *s)
{
	void *msg = s->msg;
	if (im->kind->msg_free != NULL && msg != NULL)
		im->kind->msg_free(msg);
	import_row_free(&s->row);
	memset(s, 0, sizeof(*s));
	s->msg = msg;
	im->inflight--;
}

/* Sends the slot's request (again, after a lost connection); false when the connection
 * failed. */
static bool slot_send(struct import *im, struct slot *s)
{
	s->attempts++;
	return tulay_send(im->rpc.client, &s->req, &s->id) == 0;
}

/* Connects (again) and sends every request in flight; false after saying why not. */
static bool import_connect(struct import *im)
{
	for (int attempt = 1; attempt <= IMPORT_ATTEMPTS; attempt++) {
		if (im->connected) {
			rpc_end(&im->rpc);
			im->connected = false;
			cli_detail("the connection was lost: connecting again (%d of %d)", attempt,
				   IMPORT_ATTEMPTS);
		}
		Tulay__V1__Response *resp = NULL;
		int rc = rpc_begin(im->cli, &im->rpc);
		if (rc == CLI_EXIT_OK)
			rc = rpc_authenticate(&im->rpc, &resp);
		im->k.own_org = im->own_org;
		if (rc == CLI_EXIT_OK && resp->session != NULL)
			snprintf(im->own_org, sizeof(im->own_org), "%s",
				 resp->session->organisation);
		tulay_response_free(resp);
		if (rc != CLI_EXIT_OK) {
			rpc_end(&im->rpc);
			im->rc = rc;
			return false;
		}
		im->connected = true;
		const Tulay__V1__HelloReply *hello = tulay_server_hello(im->rpc.client);
		im->max_inflight = hello != NULL && hello->max_requests_in_flight > 0 &&
					   hello->max_requests_in_flight < IMPORT_MAX_INFLIGHT
				       ? hello->max_requests_in_flight
				       : IMPORT_MAX_INFLIGHT;
		bool sent = true;
		for (unsigned i = 0; sent && i < IMPORT_MAX_INFLIGHT; i++) {
			if (im->slots[i].used)
				sent = slot_send(im, &im->slots[i]);
		}
		if (sent)
			return true;
	}
	im->rc = CLI_EXIT_UNREACHABLE;
	cli_error(im->cli,
		  "the connection to the server failed %d times: %zu rows were not "
		  "sent; run the same import again to send them (nothing is done twice)",
		  IMPORT_ATTEMPTS,
		  im->good - im->created - im->existing - im->refused - im->updated -
		      im->unchanged - im->stale);
	return false;
}

/* Reports a row refused: `why` as "column: problem", or the server's status. */
static void row_refused(struct import *im, struct slot *s, const Tulay__V1__Status *st,
			const char *why)
{
	char errors[IMPORT_MAX_ERRORS * 240];
	size_t used = 0;
	errors[0] = '\0';
	for (size_t i = 0; why == NULL && i < st->n_field_errors && used < sizeof(errors); i++) {
		char col[64];
		const char *field = st->field_errors[i]->field, *column = NULL;
		/* A field of an update's step ("on" of a stage) is the kind's to name. */
		if (s->update && !s->up.reading && im->kind->step_column != NULL)
			column = im->kind->step_column(s->msg, s->up.step, field);
		if (column == NULL)
			column = import_field_column(&im->k, field, col, sizeof(col));
		int n = snprintf(errors + used, sizeof(errors) - used, "%s%s: %s",
				 i > 0 ? "; " : "", column, st->field_errors[i]->problem);
		used += n > 0 ? (size_t)n : 0;
	}
	if (why != NULL)
		snprintf(errors, sizeof(errors), "%s", why);
	else if (st->n_field_errors == 0)
		snprintf(errors, sizeof(errors), "%s: %s", tulay_code_name(st->code), st->message);
	fprintf(stderr, "%s, line %zu: refused by the server: %s\n", im->path, s->row.line, errors);
	write_refused(im, &s->row, errors);
	im->refused++;
}

/* The answer to one of an update's requests: the next one sent, or the row done. False
 * when the connection failed and could not be made again. */
static bool update_answered(struct import *im, struct slot *s, const Tulay__V1__Response *resp)
{
	char why[400];
	switch (
	    import_update_next(im->kind, s->msg, &s->up, &im->k, resp, &s->req, why, sizeof(why))) {
	case UPDATE_SEND:
		s->attempts = 0;
		return slot_send(im, s) || import_connect(im);
	case UPDATE_UPDATED:
		im->updated++;
		break;
	case UPDATE_UNCHANGED:
		im->unchanged++;
		break;
	case UPDATE_STALE:
		fprintf(stderr, "%s, line %zu: stale, not changed: %s\n", im->path, s->row.line,
			why);
		write_refused(im, &s->row, why);
		im->stale++;
		break;
	case UPDATE_REFUSED:
		row_refused(im, s, resp->status, why);
		break;
	case UPDATE_SERVER_REFUSED:
		row_refused(im, s, resp->status, NULL);
		break;
	}
	slot_free(im, s);
	return true;
}

/* Takes one response; false when the connection failed and could not be made again. */
static bool take_response(struct import *im)
{
	Tulay__V1__Response *resp = NULL;
	if (tulay_recv(im->rpc.client, &resp) < 0)
		return import_connect(im);
	struct slot *s = NULL;
	for (unsigned i = 0; i < IMPORT_MAX_INFLIGHT && s == NULL; i++) {
		if (im->slots[i].used && im->slots[i].id == resp->id)
			s = &im->slots[i];
	}
	if (s == NULL) {
		tulay_response_free(resp); /* an answer to a request sent before a reconnect */
		return true;
	}
	const Tulay__V1__Status *st = resp->status;
	bool connected = true;
	if (st->code == TULAY__V1__CODE__UNAVAILABLE && s->attempts < IMPORT_BUSY_ATTEMPTS) {
		/* Nothing of it was done, or it may have been: the same request again, key and
		 * all, after libtulay's backoff (full jitter, doubling up to its cap). */
		unsigned ms = tulay_backoff_ms((unsigned)s->attempts, arc4random());
		struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
		nanosleep(&pause, NULL);
		connected = slot_send(im, s) || import_connect(im);
	} else if (s->update) {
		connected = update_answered(im, s, resp);
	} else if (st->code == TULAY__V1__CODE__OK) {
		int64_t created_at = im->kind->created_at(resp);
		/* created_at is whole seconds, rounded: certainly before this run? */
		if (created_at >= 0 && (double)created_at + 0.5 <= im->started_unix)
			im->existing++;
		else
			im->created++;
		slot_free(im, s);
	} else {
		row_refused(im, s, st, NULL);
		slot_free(im, s);
	}
	tulay_response_free(resp);
	progress(im, false);
	return connected;
}

/* Pass 2: each good row sent, with as many in flight as the server takes. */
static void send_one(struct row *row, void *ctx)
{
	struct import *im = ctx;
	if (!im->header_done) {
		im->header_done = true;
		return;
	}
	if (im->rc != CLI_EXIT_OK)
		return;
	int64_t version;
	check_row(im, row, im->scratch, &version);
	uint8_t digest[32];
	import_row_digest(&im->k, im->kind->nimported, digest);
	unsigned occurrence = seen_add(&im->seen, digest);
	if (im->k.nproblems > 0)
		return; /* reported in pass 1 */
	/* A row that names a case of the importer's own organisation (its own export, or a
	 * sheet of references) updates that case; other rows log new cases, those of another
	 * organisation's export too. */
	const char *reference = import_cell(&im->k, im->kind->col_reference),
		   *org = import_cell(&im->k, im->kind->col_organisation);
	bool update =
	    *reference != '\0' &&
	    (*org == '\0' || (im->own_org[0] != '\0' && strcasecmp(org, im->own_org) == 0));
	while (im->inflight >= im->max_inflight) {
		if (!take_response(im))
			return;
	}
	struct slot *s = NULL;
	for (unsigned i = 0; i < IMPORT_MAX_INFLIGHT && s == NULL; i++) {
		if (!im->slots[i].used)
			s = &im->slots[i];
	}
	/* The slot takes the row's cells and the message checked from them (which points into
	 * the cells, not into *row), and gives its spare message for the next row. */
	void *spare = s->msg != NULL ? s->msg : calloc(1, im->kind->msg_size);
	if (spare == NULL) {
		cli_error(im->cli, "out of memory");
		im->rc = CLI_EXIT_LOCAL;
		return;
	}
	s->used = true;
	im->inflight++;
	s->row = *row;
	row->ncells = 0; /* the slot owns the cells now */
	s->msg = im->scratch;
	im->scratch = spare;
	s->update = update;
	if (update) {
		import_update_begin(im->kind, s->msg, reference, version, &s->up, &s->req);
	} else {
		import_row_key(im->kind->key_purpose, digest, occurrence, s->key);
		im->kind->create(s->msg, s->key, &s->req);
	}
	im->sent++;
	if (!slot_send(im, s))
		(void)import_connect(im);
}

static int print_template(const struct import_kind *kind)
{
	for (int c = 0; c < kind->nimported; c++)
		printf("%s%s", c > 0 ? "," : "", kind->columns[c].name);
	printf("\r\n%s\r\n", kind->template_row);
	return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_LOCAL;
}

static int import_run(struct import *im, bool all_or_nothing, const char *refused_path)
{
	struct cli *cli = im->cli;
	/* The refused file: mode 0600, as it may hold workers' identities. */
	size_t len = strlen(im->path) + sizeof(".refused.csv");
	im->refused_path = refused_path != NULL ? strdup(refused_path) : malloc(len);
	if (im->refused_path == NULL)
		return CLI_EXIT_LOCAL;
	if (refused_path == NULL) {
		const char *dot = strrchr(im->path, '.');
		size_t stem = dot != NULL && strcmp(dot, ".csv") == 0 ? (size_t)(dot - im->path)
								      : strlen(im->path);
		snprintf(im->refused_path, len, "%.*s.refused.csv", (int)stem, im->path);
	}
	int fd = open(im->refused_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	im->refused_out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (im->refused_out == NULL) {
		cli_error(cli, "cannot write %s: %s", im->refused_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CLI_EXIT_LOCAL;
	}

	/* Pass 1: the checks. The refused file's header is written once the file's is read. */
	if (import_read_csv(cli, im->path, check_one, im) != 0)
		return CLI_EXIT_USAGE;
	if (!im->header_done) {
		cli_error(cli, "%s is empty: it needs a header row (see --template)", im->path);
		return CLI_EXIT_USAGE;
	}
	if (im->rc != CLI_EXIT_OK)
		return im->rc;
	fprintf(stderr, "Checked %zu rows of %s: %zu good, %zu refused.\n", im->rows, im->path,
		im->good, im->bad);
	if (im->dry_run || (all_or_nothing && im->bad > 0) || im->good == 0) {
		if (all_or_nothing && im->bad > 0)
			fprintf(stderr,
				"Nothing was sent (--all-or-nothing): correct the rows named "
				"above.\n");
		return im->bad > 0 ? CLI_EXIT_REFUSED : CLI_EXIT_OK;
	}

	/* Pass 2: the good rows, sent. */
	im->header_done = false;
	im->tty = isatty(STDERR_FILENO) == 1;
	im->started = now_s();
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	im->started_unix = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
	if (!import_connect(im))
		return im->rc;
	if (import_read_csv(cli, im->path, send_one, im) != 0 && im->rc == CLI_EXIT_OK)
		im->rc = CLI_EXIT_LOCAL;
	while (im->rc == CLI_EXIT_OK && im->inflight > 0) {
		if (!take_response(im))
			break;
	}
	progress(im, true);
	double secs = now_s() - im->started;
	const char *word = im->kind->word;
	fprintf(stderr,
		"Imported %zu %s from %s in %.1f s: %zu logged now, %zu logged before (by an "
		"earlier run of this import)",
		im->created + im->existing + im->updated + im->unchanged, word, im->path, secs,
		im->created, im->existing);
	if (im->updated + im->unchanged + im->stale > 0)
		fprintf(stderr,
			"; %zu %s of %s updated, %zu already as the file has them, %zu stale "
			"(changed since the export: not changed)",
			im->updated, word, im->own_org, im->unchanged, im->stale);
	fprintf(stderr, "; %zu refused by the server, %zu by the checks.\n", im->refused, im->bad);
	if (im->rc != CLI_EXIT_OK)
		return im->rc;
	return im->bad + im->refused + im->stale > 0 ? CLI_EXIT_REFUSED : CLI_EXIT_OK;
}

static int import_cases(struct cli *cli, int argc, char **argv, const struct import_kind *kind)
{
	const char *file = NULL, *refused_path = NULL;
	bool dry_run = false, all_or_nothing = false, template = false;
	const struct args_option options[] = {
	    ARGS_OPT("--dry-run", ARGS_FLAG, &dry_run, NULL,
		     "check every row and report, send nothing"),
	    ARGS_OPT("--all-or-nothing", ARGS_FLAG, &all_or_nothing, NULL,
		     "send nothing when any row fails the checks"),
	    ARGS_OPT("--refused", ARGS_TEXT, &refused_path, "FILE",
		     "write the refused rows there (default: FILE.refused.csv beside FILE)"),
	    ARGS_OPT("--template", ARGS_FLAG, &template, NULL,
		     "print the columns and an example row, and exit"),
	    {0},
	};
	char name[40], notes[3000];
	snprintf(name, sizeof(name), "import %s", kind->word);
	snprintf(notes, sizeof(notes),
		 "%s\n"
		 "\n"
		 "Each row's idempotency key comes from its content: running an import again\n"
		 "(after a cut, or with bad rows corrected) logs nothing twice, and the\n"
		 "summary counts what was logged before apart. Refused rows go to\n"
		 "FILE.refused.csv (mode 0600), each with its line and errors, for\n"
		 "correction. On a terminal a progress line counts the rows sent.\n"
		 "\n"
		 "Exit status: 0 when every row was logged or applied (or, with --dry-run,\n"
		 "passed the checks), 2 when any was refused or stale, 1 when the file cannot\n"
		 "be read as %s.",
		 kind->notes, kind->word);
	const struct args_command cmd = {
	    .name = name,
	    .description = kind->description,
	    .operand = "FILE",
	    .operand_help = "the CSV file (not with --template)",
	    .operand_value = &file,
	    .operand_optional = true,
	    .options = options,
	    .notes = notes,
	    .example = kind->example,
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	if (template)
		return print_template(kind);
	if (file == NULL) {
		cli_problem(cli, "FILE", "is required: the CSV file to import (or --template)");
		return cli_usage_result(cli);
	}
	struct import *im = calloc(1, sizeof(*im));
	if (im == NULL) {
		cli_error(cli, "out of memory");
		return CLI_EXIT_LOCAL;
	}
	im->cli = cli;
	im->kind = kind;
	im->path = file;
	im->scratch = calloc(1, kind->msg_size);
	if (im->scratch == NULL) {
		free(im);
		cli_error(cli, "out of memory");
		return CLI_EXIT_LOCAL;
	}
	im->dry_run = dry_run;
	rc = import_run(im, all_or_nothing, refused_path);
	if (im->connected)
		rpc_end(&im->rpc);
	for (unsigned i = 0; i < IMPORT_MAX_INFLIGHT; i++) {
		if (im->slots[i].used)
			slot_free(im, &im->slots[i]);
		free(im->slots[i].msg);
	}
	bool any_refused = im->bad + im->refused + im->stale > 0;
	if (im->refused_out != NULL && fclose(im->refused_out) != 0 && rc == CLI_EXIT_OK)
		rc = CLI_EXIT_LOCAL;
	if (im->refused_path != NULL) {
		if (any_refused)
			fprintf(stderr, "The refused rows, with their errors: %s\n",
				im->refused_path);
		else
			unlink(im->refused_path);
	}
	free(im->refused_path);
	if (kind->msg_free != NULL)
		kind->msg_free(im->scratch);
	free(im->scratch);
	free(im->seen.slots);
	free(im);
	return rc;
}

int import_claims(struct cli *cli, int argc, char **argv)
{
	return import_cases(cli, argc, argv, &import_claims_kind);
}

int import_deportations(struct cli *cli, int argc, char **argv)
{
	return import_cases(cli, argc, argv, &import_deportations_kind);
}

int import_recommendations(struct cli *cli, int argc, char **argv)
{
	return import_cases(cli, argc, argv, &import_recommendations_kind);
}
