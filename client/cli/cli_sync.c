/* tulay sync (cli_outbox.h): the outbox's entries sent in order, many in flight at a time,
 * as SealedRequests; each result kept in the outbox file before the next window. */
#include "cli_outbox.h"
#include "cli_outbox_file.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "cli_args.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "wire.h"

#define SYNC_WINDOW_MAX 256 /* SealedRequests in flight, at most (the server may say fewer) */
#define SYNC_ATTEMPTS   8   /* sends of one entry answered UNAVAILABLE, and reconnections */

/* --- tulay sync ----------------------------------------------------------------------- */

struct sync_entry {
	sqlite3_int64 id;
	char *command, *request;
	/* The queued cases it names: placeholders and keys, and the entries that log them. */
	size_t n_local;
	char placeholder[OUTBOX_MAX_LOCAL][32];
	uint8_t local_key[OUTBOX_MAX_LOCAL][TULAY_IDEMPOTENCY_KEY_BYTES];
	bool refused;
	uint8_t *sealed;
	size_t sealed_len;
	uint64_t request_id; /* of its last send */
	unsigned attempts;
	bool inflight; /* sent, not yet answered */
	bool done;
};

struct sync {
	struct cli *cli;
	struct rpc rpc;
	bool connected;
	sqlite3 *db;
	struct sync_entry *entries;
	size_t n, next;       /* entries; the next to send */
	size_t sent, refused; /* answered OK; refused (kept) */
	size_t inflight, window;
	double started;
	bool tty;
	int rc;
	struct output_list results; /* --format json or csv: a record per entry answered */
};

/* An entry's outcome as a record, for --format json or csv. */
static void sync_result(struct sync *s, const struct sync_entry *e, const char *result,
			const char *reference, const char *error)
{
	if (s->cli->format == OUTPUT_TABLE)
		return;
	struct output_record *rec = output_record_new();
	output_add_int(rec, "id", "Entry", e->id);
	output_add_text(rec, "command", "Command", e->command);
	output_add_text(rec, "result", "Result", result);
	output_add_text(rec, "reference", "Reference", reference);
	output_add_text(rec, "error", "Refused with", error);
	output_list_add(&s->results, rec);
}

static struct output_record *sync_result_blank(void)
{
	struct output_record *rec = output_record_new();
	const char *keys[] = {"id", "command", "result", "reference", "error"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		output_add_text(rec, keys[i], NULL, "");
	return rec;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sync_progress(struct sync *s, bool done)
{
	if (!s->tty)
		return;
	size_t n = s->sent + s->refused;
	double secs = now_s() - s->started, rate = secs > 0 ? (double)n / secs : 0;
	fprintf(stderr, "\rSyncing: %zu/%zu sent (%.0f a second, %.0f s left)   ", n, s->n, rate,
		rate > 0 ? (double)(s->n - n) / rate : 0.0);
	if (done)
		fputc('\n', stderr);
	fflush(stderr);
}

static bool sync_send(struct sync *s, struct sync_entry *e)
{
	Tulay__V1__SealedRequest body = TULAY__V1__SEALED_REQUEST__INIT;
	body.sealed.data = e->sealed;
	body.sealed.len = e->sealed_len;
	Tulay__V1__LocalCase locals[OUTBOX_MAX_LOCAL], *local_ptrs[OUTBOX_MAX_LOCAL];
	for (size_t i = 0; i < e->n_local; i++) {
		tulay__v1__local_case__init(&locals[i]);
		locals[i].placeholder = e->placeholder[i];
		locals[i].idempotency_key.data = e->local_key[i];
		locals[i].idempotency_key.len = TULAY_IDEMPOTENCY_KEY_BYTES;
		local_ptrs[i] = &locals[i];
	}
	body.local_cases = local_ptrs;
	body.n_local_cases = e->n_local;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_SEALED_REQUEST;
	req.sealed_request = &body;
	e->attempts++;
	e->inflight = true;
	return tulay_send(s->rpc.client, &req, &e->request_id) == 0;
}

/* (Re)connects and authenticates, then sends again the entries in flight; false after
 * saying why not (s->rc set). */
static bool sync_connect(struct sync *s)
{
	for (int attempt = 1; attempt <= SYNC_ATTEMPTS; attempt++) {
		if (s->connected) {
			rpc_end(&s->rpc);
			s->connected = false;
			cli_detail("no connection to the server: trying again (%d of %d)", attempt,
				   SYNC_ATTEMPTS);
			unsigned ms = tulay_backoff_ms((unsigned)attempt, arc4random());
			struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
			nanosleep(&pause, NULL);
		}
		Tulay__V1__Response *resp = NULL;
		int rc = rpc_begin(s->cli, &s->rpc);
		if (rc == CLI_EXIT_OK)
			rc = rpc_authenticate(&s->rpc, &resp);
		tulay_response_free(resp);
		if (rc == CLI_EXIT_UNREACHABLE || (rc != CLI_EXIT_OK && s->rpc.unavailable)) {
			s->connected = true; /* ended at the top of the next attempt */
			continue;
		}
		if (rc != CLI_EXIT_OK) {
			rpc_end(&s->rpc);
			s->rc = rc;
			return false;
		}
		s->connected = true;
		const Tulay__V1__HelloReply *hello = tulay_server_hello(s->rpc.client);
		s->window = hello != NULL && hello->max_requests_in_flight > 0 &&
				    hello->max_requests_in_flight < SYNC_WINDOW_MAX
				? hello->max_requests_in_flight
				: SYNC_WINDOW_MAX;
		bool sent = true;
		for (size_t i = 0; sent && i < s->next; i++) {
			if (s->entries[i].inflight)
				sent = sync_send(s, &s->entries[i]);
		}
		if (sent)
			return true;
	}
	cli_error(s->cli,
		  "the server could not be reached %d times: nothing is lost, run "
		  "'tulay sync' again later",
		  SYNC_ATTEMPTS);
	if (s->connected)
		rpc_end(&s->rpc);
	s->connected = false;
	s->rc = CLI_EXIT_UNREACHABLE;
	return false;
}

/* What the server made of an entry: the new record's reference, or a short description. */
static const char *answer_reference(const Tulay__V1__Response *resp)
{
	switch (resp->body_case) {
	case TULAY__V1__RESPONSE__BODY_CLAIM:
		return resp->claim->reference;
	case TULAY__V1__RESPONSE__BODY_DEPORTATION:
		return resp->deportation->reference;
	case TULAY__V1__RESPONSE__BODY_RECOMMENDATION:
		return resp->recommendation->reference;
	case TULAY__V1__RESPONSE__BODY_REFERRAL:
		return resp->referral->reference;
	case TULAY__V1__RESPONSE__BODY_CASE_EVENT:
		return "a timeline entry";
	default:
		return "done";
	}
}

static void sync_mark_refused(struct sync *s, struct sync_entry *e, const Tulay__V1__Status *st)
{
	char error[OUTBOX_ERROR_MAX];
	int used = snprintf(error, sizeof(error), "%s: %s", tulay_code_name(st->code), st->message);
	for (size_t i = 0; i < st->n_field_errors && used >= 0 && (size_t)used < sizeof(error); i++)
		used += snprintf(error + used, sizeof(error) - (size_t)used, "; %s: %s",
				 st->field_errors[i]->field, st->field_errors[i]->problem);
	bool stale = st->code == TULAY__V1__CODE__FAILED_PRECONDITION &&
		     strstr(st->message, "version") != NULL;
	sync_result(s, e, stale ? "refused-stale" : "refused", "", error);
	fprintf(stderr, "%sentry %lld (%s): refused%s: %s\n", s->tty ? "\r" : "", (long long)e->id,
		e->command,
		stale ? " (the record changed since: check it, then queue the change again with "
			"the version you now see, and drop this one)"
		      : "",
		error);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE outbox SET state = 'refused', error = ?, sent_attempts = "
			       "sent_attempts + ? WHERE id = ?",
			       -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(q, 1, error, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int(q, 2, (int)e->attempts) != SQLITE_OK ||
	    sqlite3_bind_int64(q, 3, e->id) != SQLITE_OK || sqlite3_step(q) != SQLITE_DONE)
		outbox_db_failed(s->cli, s->db, "cannot mark a refused entry");
	sqlite3_finalize(q);
	e->refused = true;
	s->refused++;
}

/* A case a synced entry logged: its local id names it from now on. */
static void sync_record_case(struct sync *s, const struct sync_entry *e, const char *reference)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT OR REPLACE INTO synced (local_id, reference, synced_at) "
			       "VALUES (?, ?, ?)",
			       -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(q, 1, e->id) != SQLITE_OK ||
	    sqlite3_bind_text(q, 2, reference, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL)) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_DONE)
		outbox_db_failed(s->cli, s->db, "cannot record a synced case");
	sqlite3_finalize(q);
}

/* What entry e must wait for: 0 when it may be sent now; 1 when a case it names is logged
 * by an entry of this run not answered yet (send it after); -1 when that entry, or one
 * from an earlier sync, was refused (e cannot be sent: *which names it). */
static int sync_blocked(struct sync *s, const struct sync_entry *e, const char **which)
{
	for (size_t i = 0; i < e->n_local; i++) {
		sqlite3_int64 id = outbox_local_id(e->placeholder[i]);
		*which = e->placeholder[i];
		const struct sync_entry *dep = NULL;
		for (size_t k = 0; k < s->n && dep == NULL; k++) {
			if (s->entries[k].id == id)
				dep = &s->entries[k];
		}
		if (dep != NULL && dep->refused)
			return -1;
		if (dep != NULL && !dep->done)
			return 1;
		if (dep == NULL) {
			sqlite3_stmt *q = NULL;
			bool refused = false;
			if (sqlite3_prepare_v2(
				s->db, "SELECT 1 FROM outbox WHERE id = ? AND state = 'refused'",
				-1, &q, NULL) == SQLITE_OK &&
			    sqlite3_bind_int64(q, 1, id) == SQLITE_OK)
				refused = sqlite3_step(q) == SQLITE_ROW;
			sqlite3_finalize(q);
			if (refused)
				return -1;
		}
	}
	return 0;
}

/* Takes one answer; false when the connection failed and could not be made again. */
static bool sync_take(struct sync *s, sqlite3_stmt *delete_done)
{
	Tulay__V1__Response *resp = NULL;
	if (tulay_recv(s->rpc.client, &resp) < 0)
		return sync_connect(s);
	struct sync_entry *e = NULL;
	for (size_t i = 0; i < s->next && e == NULL; i++) {
		if (s->entries[i].inflight && s->entries[i].request_id == resp->id)
			e = &s->entries[i];
	}
	if (e == NULL) { /* an answer to a send made before a reconnection */
		tulay_response_free(resp);
		return true;
	}
	const Tulay__V1__Status *st = resp->status;
	if (st->code == TULAY__V1__CODE__UNAVAILABLE && e->attempts < SYNC_ATTEMPTS) {
		unsigned ms = tulay_backoff_ms(e->attempts, arc4random());
		struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
		nanosleep(&pause, NULL);
		tulay_response_free(resp);
		return sync_send(s, e) || sync_connect(s);
	}
	if (st->code == TULAY__V1__CODE__UNAUTHENTICATED) {
		cli_error(s->cli,
			  "UNAUTHENTICATED: %s: run 'tulay login', then 'tulay sync' again "
			  "(nothing is lost)",
			  st->message);
		s->rc = CLI_EXIT_REFUSED;
		tulay_response_free(resp);
		return false;
	}
	e->done = true;
	e->inflight = false;
	s->inflight--;
	if (st->code == TULAY__V1__CODE__OK) {
		if (s->cli->format == OUTPUT_TABLE) { /* a line as each comes, even to a file */
			printf("%sentry %lld (%s): %s\n", s->tty ? "\r" : "", (long long)e->id,
			       e->command, answer_reference(resp));
			fflush(stdout);
		}
		/* Deleted in the window's transaction: if this run dies before it commits, the
		 * next sends it again and the server answers as the first time. */
		if (sqlite3_reset(delete_done) != SQLITE_OK ||
		    sqlite3_bind_int64(delete_done, 1, e->id) != SQLITE_OK ||
		    sqlite3_step(delete_done) != SQLITE_DONE)
			outbox_db_failed(s->cli, s->db, "cannot remove a sent entry");
		if (outbox_is_create(e->request))
			sync_record_case(s, e, answer_reference(resp));
		sync_result(s, e, "sent", answer_reference(resp), "");
		s->sent++;
	} else {
		sync_mark_refused(s, e, st);
	}
	tulay_response_free(resp);
	sync_progress(s, false);
	return true;
}

/* The queued entries of this session's user (and those of sessions that did not say who):
 * a write goes in as its author, never as whoever logs in next on this computer. */
static bool sync_load(struct sync *s, const char *user)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		s->db,
		"SELECT id, command, sealed, request, coalesce(local_cases, '') FROM "
		"outbox WHERE state = 'queued' AND (queued_by IS NULL OR ?1 IS NULL OR "
		"queued_by = ?1) ORDER BY id",
		-1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK) {
		sqlite3_finalize(st);
		outbox_db_failed(s->cli, s->db, "cannot read it");
		return false;
	}
	size_t cap = 0;
	bool ok = true;
	while (ok && sqlite3_step(st) == SQLITE_ROW) {
		if (s->n == cap) {
			cap = cap != 0 ? 2 * cap : 64;
			struct sync_entry *grown = realloc(s->entries, cap * sizeof(*grown));
			if (grown == NULL) {
				ok = false;
				break;
			}
			s->entries = grown;
		}
		struct sync_entry *e = &s->entries[s->n];
		*e = (struct sync_entry){.id = sqlite3_column_int64(st, 0)};
		e->command = strdup((const char *)sqlite3_column_text(st, 1));
		e->request = strdup((const char *)sqlite3_column_text(st, 3));
		e->sealed_len = (size_t)sqlite3_column_bytes(st, 2);
		e->sealed = malloc(e->sealed_len + 1);
		if (e->command == NULL || e->request == NULL || e->sealed == NULL) {
			free(e->command);
			free(e->request);
			free(e->sealed);
			ok = false;
			break;
		}
		memcpy(e->sealed, sqlite3_column_blob(st, 2), e->sealed_len);
		/* "local:7=<hex>;local:9=<hex>" */
		char locals[OUTBOX_MAX_LOCAL * 72 + 1];
		snprintf(locals, sizeof(locals), "%s", (const char *)sqlite3_column_text(st, 4));
		char *save = NULL;
		for (char *item = strtok_r(locals, ";", &save);
		     item != NULL && e->n_local < OUTBOX_MAX_LOCAL;
		     item = strtok_r(NULL, ";", &save)) {
			char *eq = strchr(item, '=');
			size_t klen = 0;
			if (eq == NULL)
				continue;
			*eq = '\0';
			snprintf(e->placeholder[e->n_local], sizeof(e->placeholder[0]), "%s", item);
			if (sodium_hex2bin(e->local_key[e->n_local], TULAY_IDEMPOTENCY_KEY_BYTES,
					   eq + 1, strlen(eq + 1), NULL, &klen, NULL) == 0 &&
			    klen == TULAY_IDEMPOTENCY_KEY_BYTES)
				e->n_local++;
		}
		s->n++;
	}
	sqlite3_finalize(st);
	if (!ok)
		cli_error(s->cli, "out of memory");
	return ok;
}

int outbox_sync_command(struct cli *cli, int argc, char **argv)
{
	static const struct args_option no_options[] = {{0}}; /* the common ones only */
	const struct args_command cmd = {
	    .name = "sync",
	    .options = no_options,
	    .description =
		"Sends the writes kept in the outbox, oldest first, many at a time, and\n"
		"removes each one the server has taken. Each line says what became of an\n"
		"entry: the new record's reference, or why the server refused it; a refused\n"
		"entry stays in the outbox, marked, until you drop it. Interrupt it at any\n"
		"point and run it again: every write keeps its idempotency key, so the server\n"
		"applies each once.",
	    .notes = "A progress line (sent/total, rate, time left) is shown on a terminal.\n"
		     "With --format json or csv, stdout has a record per entry answered: id,\n"
		     "command, result (sent, refused, refused-stale), reference, error.",
	    .example = "  tulay sync\n  tulay outbox list",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	struct sync s = {.cli = cli, .rc = CLI_EXIT_OK};
	struct config_session session;
	if (config_session_load(cli, &session, false) != CONFIG_OK) {
		config_session_clear(&session);
		cli_error(cli, "not logged in: run 'tulay login' (the outbox is kept)");
		return CLI_EXIT_REFUSED;
	}
	char *user = session.user != NULL ? strdup(session.user) : NULL;
	config_session_clear(&session);
	if ((rc = outbox_open(cli, false, &s.db)) != CLI_EXIT_OK) {
		free(user);
		return rc;
	}
	if (s.db != NULL && user != NULL) {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(s.db,
				       "SELECT count(*) FROM outbox WHERE state = 'queued' AND "
				       "queued_by IS NOT NULL AND queued_by <> ?",
				       -1, &q, NULL) == SQLITE_OK &&
		    sqlite3_bind_text(q, 1, user, -1, SQLITE_STATIC) == SQLITE_OK &&
		    sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) > 0)
			fprintf(stderr,
				"%lld queued by another user: left for them, sent when they log in "
				"here and run 'tulay sync'.\n",
				(long long)sqlite3_column_int64(q, 0));
		sqlite3_finalize(q);
	}
	bool loaded = s.db != NULL && sync_load(&s, user);
	free(user);
	if (s.db == NULL || !loaded) {
		if (s.db != NULL)
			rc = CLI_EXIT_LOCAL;
		else
			fprintf(stderr, "The outbox is empty: nothing to send.\n");
		sqlite3_close(s.db);
		return rc;
	}
	long long kept = outbox_count(s.db, "refused");
	if (s.n == 0) {
		fprintf(stderr, "Nothing to send%s.\n",
			kept > 0 ? ": only refused entries are left (tulay outbox list)" : "");
		sqlite3_close(s.db);
		return CLI_EXIT_OK;
	}
	s.tty = isatty(STDERR_FILENO) == 1;
	s.started = now_s();
	sqlite3_stmt *delete_done = NULL;
	if (sqlite3_prepare_v2(s.db, "DELETE FROM outbox WHERE id = ?", -1, &delete_done, NULL) !=
	    SQLITE_OK) {
		outbox_db_failed(cli, s.db, "cannot prepare");
		s.rc = CLI_EXIT_LOCAL;
	}
	if (s.rc == CLI_EXIT_OK && sync_connect(&s)) {
		/* Windows of as many as the server takes in flight, each one transaction here:
		 * one write to disk per window, not per entry. */
		while (s.rc == CLI_EXIT_OK && (s.next < s.n || s.inflight > 0)) {
			sqlite3_exec(s.db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
			bool ok = true;
			while (ok && s.next < s.n && s.inflight < s.window) {
				struct sync_entry *e = &s.entries[s.next];
				const char *which = NULL;
				int blocked = sync_blocked(&s, e, &which);
				if (blocked > 0 && s.inflight == 0)
					blocked =
					    0; /* cannot happen: what it waits for is in flight */
				/* New cases go many at a time; a change to a case goes alone, in
				 * its turn, so that changes to one case arrive in the order made.
				 */
				bool alone = !outbox_is_create(e->request);
				if (blocked > 0 || (alone && s.inflight > 0))
					break; /* after the answers of this window */
				s.next++;
				if (blocked < 0) {
					char why[160];
					snprintf(why, sizeof(why),
						 "not sent: it names %s, whose entry was refused: "
						 "correct or drop that one first",
						 which);
					Tulay__V1__Status st = TULAY__V1__STATUS__INIT;
					st.code = TULAY__V1__CODE__FAILED_PRECONDITION;
					st.message = why;
					e->done = true;
					sync_mark_refused(&s, e, &st);
					continue;
				}
				s.inflight++;
				ok = sync_send(&s, e) || sync_connect(&s);
				if (alone)
					break;
			}
			while (ok && s.inflight > 0)
				ok = sync_take(&s, delete_done);
			if (sqlite3_exec(s.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
				outbox_db_failed(cli, s.db, "cannot record what was sent");
				s.rc = CLI_EXIT_LOCAL;
			}
			if (!ok && s.rc == CLI_EXIT_OK)
				s.rc = CLI_EXIT_UNREACHABLE;
		}
	}
	sync_progress(&s, true);
	sqlite3_finalize(delete_done);
	static const struct output_list_spec results_spec = {NULL, 0, "", sync_result_blank};
	if (cli->format != OUTPUT_TABLE &&
	    output_show_list(cli, &s.results, &results_spec) != CLI_EXIT_OK && s.rc == CLI_EXIT_OK)
		s.rc = CLI_EXIT_LOCAL;
	output_list_clear(&s.results);
	long long left = outbox_count(s.db, "queued");
	kept = outbox_count(s.db, "refused");
	fprintf(stderr,
		"Synced %zu of %zu in %.1f s: %zu taken by the server, %zu refused (kept, "
		"marked: tulay outbox list), %lld left to send.\n",
		s.sent + s.refused, s.n, now_s() - s.started, s.sent, s.refused, left);
	if (s.connected)
		rpc_end(&s.rpc);
	for (size_t i = 0; i < s.n; i++) {
		free(s.entries[i].command);
		free(s.entries[i].request);
		free(s.entries[i].sealed);
	}
	free(s.entries);
	sqlite3_close(s.db);
	if (s.rc == CLI_EXIT_OK && (s.refused > 0 || kept > 0))
		return CLI_EXIT_REFUSED;
	return s.rc;
}
