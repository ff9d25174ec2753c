/* The outbox (cli_outbox.h): queuing a write, listing, showing and dropping entries, and
 * tulay sync, which sends them in order, many in flight at a time, as SealedRequests. */
#include "cli_outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "cli_args.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "wire.h"

#define OUTBOX_FILE      "outbox.db"
#define SYNC_WINDOW_MAX  256 /* SealedRequests in flight, at most (the server may say fewer) */
#define SYNC_ATTEMPTS    8   /* sends of one entry answered UNAVAILABLE, and reconnections */
#define SEALING_KEY_HEX  (2 * crypto_box_PUBLICKEYBYTES)
#define OUTBOX_ERROR_MAX 1000

/* One table. `command` and `request` say what kind of write it is ("claim add",
 * "create_claim"); `sealed` is all there is of its content. A refused entry stays, with
 * the server's answer in `error`, until it is dropped. */
static const char outbox_schema[] =
    "CREATE TABLE IF NOT EXISTS outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " queued_at INTEGER NOT NULL,"
    " command TEXT NOT NULL,"
    " request TEXT NOT NULL,"
    " idempotency_key BLOB NOT NULL,"
    " sealed BLOB NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'refused')),"
    " error TEXT,"
    " sent_attempts INTEGER NOT NULL DEFAULT 0,"
    " local_cases TEXT," /* "local:7=<key in hex>;...": the queued cases it names */
    " queued_by TEXT);"  /* "username@ORG" of the session that queued it */
    /* The cases logged by synced entries, so that their local ids still name them. */
    "CREATE TABLE IF NOT EXISTS synced ("
    " local_id INTEGER PRIMARY KEY,"
    " reference TEXT NOT NULL,"
    " synced_at INTEGER NOT NULL)";

bool outbox_sealable(const Tulay__V1__Request *req)
{
	return wire_sealable((int)req->body_case);
}

/* --- the file ------------------------------------------------------------------------ */

static void db_failed(const struct cli *cli, sqlite3 *db, const char *what)
{
	cli_error(cli, "the outbox: %s: %s", what, db != NULL ? sqlite3_errmsg(db) : "no memory");
}

/* Opens the outbox, creating it when `create`. *db is NULL with CLI_EXIT_OK when there is
 * no outbox and !create (nothing was ever queued). */
static int outbox_open(const struct cli *cli, bool create, sqlite3 **db)
{
	*db = NULL;
	char *dir = config_directory(cli, create);
	if (dir == NULL)
		return CLI_EXIT_LOCAL;
	char *path = NULL;
	int rc = CLI_EXIT_LOCAL;
	if (asprintf(&path, "%s/%s", dir, OUTBOX_FILE) < 0) {
		path = NULL;
		cli_error(cli, "out of memory");
		goto out;
	}
	/* The file first, with mode 0600 whatever the umask: SQLite gives its write-ahead log
	 * the database file's mode. An outbox others may read is refused, as a session is. */
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
	if (fd < 0 && errno == ENOENT && !create) {
		rc = CLI_EXIT_OK;
		goto out;
	}
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		cli_error(cli, "cannot open the outbox %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
		cli_error(cli, "refusing the outbox %s: it is not private to you (mode %04o)", path,
			  (unsigned)(st.st_mode & 07777));
		cli_detail("fix it with: chmod 600 %s", path);
		goto out;
	}
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
	    SQLITE_OK) {
		db_failed(cli, *db, "cannot open it");
		sqlite3_close(*db);
		*db = NULL;
		goto out;
	}
	sqlite3_busy_timeout(*db, 10000); /* another tulay queuing or syncing meanwhile */
	/* FULL: each commit is on disk before the command says the write is kept. */
	if (sqlite3_exec(*db,
			 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
			 "PRAGMA secure_delete = ON",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(*db, outbox_schema, NULL, NULL, NULL) != SQLITE_OK) {
		db_failed(cli, *db, "cannot set it up");
		sqlite3_close(*db);
		*db = NULL;
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	free(path);
	free(dir);
	return rc;
}

static long long outbox_count(sqlite3 *db, const char *state)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox WHERE state = ?", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* --- local ids --------------------------------------------------------------------- */

static bool is_create(const char *request)
{
	return strcmp(request, "create_claim") == 0 || strcmp(request, "create_deportation") == 0 ||
	       strcmp(request, "create_recommendation") == 0;
}

/* Entry `id` of the outbox: its reference if it was synced (*reference, malloc'd), else its
 * key if it is a create still there. Returns false when it names no case. */
static bool local_lookup(sqlite3 *db, sqlite3_int64 id, char **reference,
			 uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES])
{
	sqlite3_stmt *st = NULL;
	bool found = false;
	*reference = NULL;
	if (sqlite3_prepare_v2(db, "SELECT reference FROM synced WHERE local_id = ?", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, id) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		*reference = strdup((const char *)sqlite3_column_text(st, 0));
		found = *reference != NULL;
	}
	sqlite3_finalize(st);
	if (found)
		return true;
	if (sqlite3_prepare_v2(db, "SELECT request, idempotency_key FROM outbox WHERE id = ?", -1,
			       &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, id) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    is_create((const char *)sqlite3_column_text(st, 0)) &&
	    sqlite3_column_bytes(st, 1) == TULAY_IDEMPOTENCY_KEY_BYTES) {
		memcpy(key, sqlite3_column_blob(st, 1), TULAY_IDEMPOTENCY_KEY_BYTES);
		found = true;
	}
	sqlite3_finalize(st);
	return found;
}

/* "local:7" -> 7; 0 for anything else. */
static sqlite3_int64 local_id(const char *text)
{
	if (text == NULL || strncmp(text, "local:", 6) != 0 || text[6] == '\0' ||
	    strlen(text) > 6 + 18)
		return 0;
	sqlite3_int64 id = 0;
	for (const char *c = text + 6; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return 0;
		id = id * 10 + (*c - '0');
	}
	return id;
}

/* The references put into requests in place of local ids: the request (and what the
 * command prints from it) uses them until the command ends, so they are freed at exit. */
static char **resolved;
static size_t n_resolved;

static void free_resolved(void)
{
	for (size_t i = 0; i < n_resolved; i++)
		free(resolved[i]);
	free(resolved);
	resolved = NULL;
	n_resolved = 0;
}

/* Keeps `reference` until exit; NULL (and it freed) when memory runs out. */
static char *keep_reference(char *reference)
{
	char **grown = realloc(resolved, (n_resolved + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(reference);
		return NULL;
	}
	if (resolved == NULL)
		atexit(free_resolved);
	resolved = grown;
	resolved[n_resolved++] = reference;
	return reference;
}

int outbox_resolve_local(struct cli *cli, Tulay__V1__Request *req, struct outbox_pending *pending)
{
	pending->n = 0;
	ProtobufCMessage *body = wire_request_body(req);
	if (body == NULL)
		return CLI_EXIT_OK;
	sqlite3 *db = NULL;
	int rc = CLI_EXIT_OK;
	const ProtobufCMessageDescriptor *d = body->descriptor;
	for (unsigned i = 0; rc == CLI_EXIT_OK && i < d->n_fields; i++) {
		size_t count = 0;
		char **values = wire_string_values(body, &d->fields[i], &count);
		for (size_t k = 0; rc == CLI_EXIT_OK && values != NULL && k < count; k++) {
			sqlite3_int64 id = local_id(values[k]);
			if (id == 0)
				continue;
			if (db == NULL && (rc = outbox_open(cli, false, &db)) != CLI_EXIT_OK)
				break;
			char *reference = NULL;
			uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
			if (db == NULL || !local_lookup(db, id, &reference, key)) {
				cli_error(cli,
					  "%s names no case: a local id is the number of an outbox "
					  "entry that logs a case ('tulay outbox list')",
					  values[k]);
				rc = CLI_EXIT_USAGE;
			} else if (reference != NULL) {
				if ((reference = keep_reference(reference)) == NULL) {
					cli_error(cli, "out of memory");
					rc = CLI_EXIT_LOCAL;
				} else {
					values[k] = reference;
				}
			} else if (pending->n == OUTBOX_MAX_LOCAL) {
				cli_error(cli,
					  "a write can name at most %d cases still in the outbox",
					  OUTBOX_MAX_LOCAL);
				rc = CLI_EXIT_USAGE;
			} else {
				snprintf(pending->placeholder[pending->n],
					 sizeof(pending->placeholder[0]), "%s", values[k]);
				memcpy(pending->key[pending->n], key, sizeof(key));
				pending->n++;
			}
		}
	}
	sqlite3_close(db);
	return rc;
}

/* --- queuing ----------------------------------------------------------------------- */

static const char *request_name(const Tulay__V1__Request *req)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
	    &tulay__v1__request__descriptor, (unsigned)req->body_case);
	return f != NULL ? f->name : "unknown";
}

int outbox_queue(struct cli *cli, const struct config_session *session,
		 const Tulay__V1__Request *req, const uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES],
		 const struct outbox_pending *pending)
{
	char local_cases[OUTBOX_MAX_LOCAL * 72 + 1] = "";
	for (size_t i = 0; pending != NULL && i < pending->n; i++) {
		char hex[2 * TULAY_IDEMPOTENCY_KEY_BYTES + 1];
		args_key_hex(pending->key[i], hex);
		size_t used = strlen(local_cases);
		snprintf(local_cases + used, sizeof(local_cases) - used, "%s%s=%s",
			 i > 0 ? ";" : "", pending->placeholder[i], hex);
	}
	uint8_t pk[crypto_box_PUBLICKEYBYTES];
	size_t pk_len = 0;
	if (session->sealing_key == NULL ||
	    sodium_hex2bin(pk, sizeof(pk), session->sealing_key, strlen(session->sealing_key), NULL,
			   &pk_len, NULL) != 0 ||
	    pk_len != sizeof(pk)) {
		cli_detail("It was not kept in the outbox: your session has no server key to seal "
			   "it to. Run 'tulay login' once the server can be reached.");
		return CLI_EXIT_UNREACHABLE;
	}
	/* The request as sent, without its envelope id (the sync gives each send its own). */
	Tulay__V1__Request copy = *req;
	copy.id = 0;
	size_t len = tulay__v1__request__get_packed_size(&copy);
	uint8_t *plain = malloc(len + 1), *sealed = malloc(len + crypto_box_SEALBYTES);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = CLI_EXIT_LOCAL;
	if (plain == NULL || sealed == NULL) {
		cli_error(cli, "out of memory");
		goto out;
	}
	tulay__v1__request__pack(&copy, plain);
	if (crypto_box_seal(sealed, plain, len, pk) != 0) {
		cli_error(cli, "cannot seal the write for the outbox");
		goto out;
	}
	if ((rc = outbox_open(cli, true, &db)) != CLI_EXIT_OK)
		goto out;
	rc = CLI_EXIT_LOCAL;
	if (sqlite3_prepare_v2(
		db,
		"INSERT INTO outbox (queued_at, command, request, idempotency_key, "
		"sealed, local_cases, queued_by) VALUES (?, ?, ?, ?, ?, nullif(?, ''), "
		"?)",
		-1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL)) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, cli->command != NULL ? cli->command : "tulay", -1,
			      SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, request_name(req), -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 4, key, TULAY_IDEMPOTENCY_KEY_BYTES, SQLITE_STATIC) !=
		SQLITE_OK ||
	    sqlite3_bind_blob(st, 5, sealed, (int)(len + crypto_box_SEALBYTES), SQLITE_STATIC) !=
		SQLITE_OK ||
	    sqlite3_bind_text(st, 6, local_cases, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 7, session->user, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		db_failed(cli, db, "cannot keep the write");
		goto out;
	}
	long long id = sqlite3_last_insert_rowid(db), queued = outbox_count(db, "queued");
	output_heading(cli, "queued: %lld in the outbox; run 'tulay sync'", queued);
	if (is_create(request_name(req)))
		output_heading(cli,
			       "Until then, name this case local:%lld (tulay claim note "
			       "local:%lld ...)",
			       id, id);
	struct output_record *rec = output_record_new();
	output_add_int(rec, "outbox_id", "Outbox entry", id);
	output_add_text(rec, "command", "Command", cli->command != NULL ? cli->command : "");
	output_add_int(rec, "queued", "Queued in all", queued);
	if (is_create(request_name(req))) {
		char local[32];
		snprintf(local, sizeof(local), "local:%lld", id);
		output_add_text(rec, "local_id", "Local id", local);
	}
	rc = output_show(cli, rec);
	if (rc == CLI_EXIT_OK)
		rc = CLI_EXIT_QUEUED;
out:
	if (plain != NULL) {
		sodium_memzero(plain, len);
		free(plain);
	}
	free(sealed);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* --- outbox list, show, drop --------------------------------------------------------- */

static const struct args_option no_options[] = {{0}}; /* the common ones only */

static struct output_record *entry_record(sqlite3_stmt *st)
{
	struct output_record *rec = output_record_new();
	char key[2 * TULAY_IDEMPOTENCY_KEY_BYTES + 1] = "";
	if (sqlite3_column_bytes(st, 4) == TULAY_IDEMPOTENCY_KEY_BYTES)
		args_key_hex(sqlite3_column_blob(st, 4), key);
	const char *error = (const char *)sqlite3_column_text(st, 6);
	output_add_int(rec, "id", "Entry", sqlite3_column_int64(st, 0));
	output_add_time(rec, "queued_at", "Queued", sqlite3_column_int64(st, 1));
	output_add_text(rec, "command", "Command", (const char *)sqlite3_column_text(st, 2));
	output_add_text(rec, "request", "Request", (const char *)sqlite3_column_text(st, 3));
	output_add_text(rec, "state", "State", (const char *)sqlite3_column_text(st, 5));
	output_add_text(rec, "error", "Refused with", error != NULL ? error : "");
	output_add_int(rec, "sealed_bytes", "Sealed bytes", sqlite3_column_bytes(st, 7));
	output_add_text(rec, "idempotency_key", "Idempotency key", key);
	return rec;
}

static struct output_record *entry_blank(void)
{
	struct output_record *rec = output_record_new();
	const char *keys[] = {"id",    "queued_at", "command",      "request",
			      "state", "error",     "sealed_bytes", "idempotency_key"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		output_add_text(rec, keys[i], NULL, "");
	return rec;
}

#define ENTRY_COLUMNS                                                                              \
	"SELECT id, queued_at, command, request, idempotency_key, state, error, sealed FROM "      \
	"outbox "

int outbox_list_command(struct cli *cli, int argc, char **argv)
{
	const struct args_command cmd = {
	    .name = "outbox list",
	    .options = no_options,
	    .description =
		"Lists the writes kept on this computer because the server could not be\n"
		"reached, oldest first: when, by which command, and whether the server refused\n"
		"one when it was last sent. Their content is sealed to the server's key:\n"
		"nobody can read it here, you neither.",
	    .notes = "Send them with 'tulay sync'; forget one with 'tulay outbox drop ID'.",
	    .example = "  tulay outbox list\n  tulay outbox list --format json",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	sqlite3 *db = NULL;
	if ((rc = outbox_open(cli, false, &db)) != CLI_EXIT_OK)
		return rc;
	static const struct output_column columns[] = {
	    {"id", "ID", true},
	    {"queued_at", "QUEUED", false},
	    {"command", "COMMAND", false},
	    {"state", "STATE", false},
	    {"error", "REFUSED WITH", false},
	};
	static const struct output_list_spec spec = {columns, sizeof(columns) / sizeof(columns[0]),
						     "The outbox is empty.", entry_blank};
	struct output_list list = {0};
	sqlite3_stmt *st = NULL;
	if (db != NULL &&
	    sqlite3_prepare_v2(db, ENTRY_COLUMNS "ORDER BY id", -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW)
			output_list_add(&list, entry_record(st));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return output_show_list(cli, &list, &spec);
}

/* The entry named by the operand ID into *id; false after saying why not. */
static bool entry_id(struct cli *cli, const char *text, sqlite3_int64 *id)
{
	uint32_t n = 0;
	if (!args_count(text, 1, UINT32_MAX, &n)) {
		cli_error(cli,
			  "'%s' is not an outbox entry: give its ID as 'tulay outbox list' "
			  "shows it",
			  text);
		return false;
	}
	*id = n;
	return true;
}

/* What outbox show and drop share: the ID operand, checked, and the outbox opened (*db
 * NULL when there is none). True to go on; false when the command is over (--help, a bad
 * ID, an outbox that cannot be opened), with its exit code in *rc. */
static bool entry_command(struct cli *cli, int argc, char **argv, const char *name,
			  const char *description, const char *example, sqlite3_int64 *id,
			  sqlite3 **db, int *rc)
{
	const char *operand = NULL;
	const struct args_command cmd = {
	    .name = name,
	    .options = no_options,
	    .description = description,
	    .operand = "ID",
	    .operand_help = "the entry, as 'tulay outbox list' shows it",
	    .operand_value = &operand,
	    .example = example,
	};
	*db = NULL;
	if (!args_parse(cli, &cmd, argc, argv, rc))
		return false;
	if (!entry_id(cli, operand, id)) {
		*rc = CLI_EXIT_USAGE;
		return false;
	}
	return (*rc = outbox_open(cli, false, db)) == CLI_EXIT_OK;
}

static int no_entry(const struct cli *cli, sqlite3_int64 id)
{
	cli_error(cli, "there is no entry %lld in the outbox (see 'tulay outbox list')",
		  (long long)id);
	return CLI_EXIT_REFUSED;
}

int outbox_show_command(struct cli *cli, int argc, char **argv)
{
	sqlite3_int64 id = 0;
	sqlite3 *db = NULL;
	int rc;
	if (!entry_command(cli, argc, argv, "outbox show",
			   "Shows one write kept in the outbox: when and by which command it was\n"
			   "queued, its idempotency key, and the server's answer if it refused it.",
			   "  tulay outbox show 3", &id, &db, &rc))
		return rc;
	sqlite3_stmt *st = NULL;
	struct output_record *rec = NULL;
	if (db != NULL &&
	    sqlite3_prepare_v2(db, ENTRY_COLUMNS "WHERE id = ?", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, id) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		rec = entry_record(st);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rec != NULL ? output_show(cli, rec) : no_entry(cli, id);
}

int outbox_drop_command(struct cli *cli, int argc, char **argv)
{
	sqlite3_int64 id = 0;
	sqlite3 *db = NULL;
	int rc;
	if (!entry_command(cli, argc, argv, "outbox drop",
			   "Forgets a write kept in the outbox: it will not be sent. For an entry\n"
			   "the server refused, once you have made the write again as it should\n"
			   "be, or decided it is not needed.",
			   "  tulay outbox drop 3", &id, &db, &rc))
		return rc;
	sqlite3_stmt *st = NULL;
	bool dropped = false;
	if (db != NULL &&
	    sqlite3_prepare_v2(db, "DELETE FROM outbox WHERE id = ?", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, id) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE)
		dropped = sqlite3_changes(db) == 1;
	sqlite3_finalize(st);
	long long left = db != NULL ? outbox_count(db, "queued") : 0;
	sqlite3_close(db);
	if (!dropped)
		return no_entry(cli, id);
	output_heading(cli, "Dropped entry %lld; %lld left to send", (long long)id, left);
	struct output_record *rec = output_record_new();
	output_add_int(rec, "dropped", "Dropped", id);
	output_add_int(rec, "queued", "Left to send", left);
	return output_show(cli, rec);
}

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
		db_failed(s->cli, s->db, "cannot mark a refused entry");
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
		db_failed(s->cli, s->db, "cannot record a synced case");
	sqlite3_finalize(q);
}

/* What entry e must wait for: 0 when it may be sent now; 1 when a case it names is logged
 * by an entry of this run not answered yet (send it after); -1 when that entry, or one
 * from an earlier sync, was refused (e cannot be sent: *which names it). */
static int sync_blocked(struct sync *s, const struct sync_entry *e, const char **which)
{
	for (size_t i = 0; i < e->n_local; i++) {
		sqlite3_int64 id = local_id(e->placeholder[i]);
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
			db_failed(s->cli, s->db, "cannot remove a sent entry");
		if (is_create(e->request))
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
		db_failed(s->cli, s->db, "cannot read it");
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
		db_failed(cli, s.db, "cannot prepare");
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
				bool alone = !is_create(e->request);
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
				db_failed(cli, s.db, "cannot record what was sent");
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
