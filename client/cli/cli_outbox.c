/* The outbox (cli_outbox.h): its file, queuing a write, local ids, and listing, showing
 * and dropping entries. tulay sync is in cli_sync.c. */
#include "cli_outbox.h"
#include "cli_outbox_file.h"

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

#define OUTBOX_FILE     "outbox.db"
#define SEALING_KEY_HEX (2 * crypto_box_PUBLICKEYBYTES)

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

void outbox_db_failed(const struct cli *cli, sqlite3 *db, const char *what)
{
	cli_error(cli, "the outbox: %s: %s", what, db != NULL ? sqlite3_errmsg(db) : "no memory");
}

/* Opens the outbox, creating it when `create`. *db is NULL with CLI_EXIT_OK when there is
 * no outbox and !create (nothing was ever queued). */
int outbox_open(const struct cli *cli, bool create, sqlite3 **db)
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
		outbox_db_failed(cli, *db, "cannot open it");
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
		outbox_db_failed(cli, *db, "cannot set it up");
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

long long outbox_count(sqlite3 *db, const char *state)
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

bool outbox_is_create(const char *request)
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
	    outbox_is_create((const char *)sqlite3_column_text(st, 0)) &&
	    sqlite3_column_bytes(st, 1) == TULAY_IDEMPOTENCY_KEY_BYTES) {
		memcpy(key, sqlite3_column_blob(st, 1), TULAY_IDEMPOTENCY_KEY_BYTES);
		found = true;
	}
	sqlite3_finalize(st);
	return found;
}

/* "local:7" -> 7; 0 for anything else. */
sqlite3_int64 outbox_local_id(const char *text)
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
			sqlite3_int64 id = outbox_local_id(values[k]);
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
		outbox_db_failed(cli, db, "cannot keep the write");
		goto out;
	}
	long long id = sqlite3_last_insert_rowid(db), queued = outbox_count(db, "queued");
	output_heading(cli, "queued: %lld in the outbox; run 'tulay sync'", queued);
	if (outbox_is_create(request_name(req)))
		output_heading(cli,
			       "Until then, name this case local:%lld (tulay claim note "
			       "local:%lld ...)",
			       id, id);
	struct output_record *rec = output_record_new();
	output_add_int(rec, "outbox_id", "Outbox entry", id);
	output_add_text(rec, "command", "Command", cli->command != NULL ? cli->command : "");
	output_add_int(rec, "queued", "Queued in all", queued);
	if (outbox_is_create(request_name(req))) {
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

/* What outbox show or drop does to the one entry it names: SQL whose one parameter is the
 * entry's ID. */
struct entry_command {
	const char *name, *description, *example, *sql;
};

/* An entry command under way: the entry's ID, the outbox (NULL when there is none) and
 * the command's SQL prepared on it with the ID bound (NULL without an outbox or when it
 * cannot be prepared). */
struct entry {
	sqlite3_int64 id;
	sqlite3 *db;
	sqlite3_stmt *st;
};

/* What outbox show and drop share: the ID operand checked and the command's statement
 * prepared on the outbox in *e. True to go on; false when the command is over (--help, a
 * bad ID, an outbox that cannot be opened), with its exit code in *rc. */
static bool entry_begin(struct cli *cli, int argc, char **argv, const struct entry_command *command,
			struct entry *e, int *rc)
{
	const char *operand = NULL;
	const struct args_command cmd = {
	    .name = command->name,
	    .options = no_options,
	    .description = command->description,
	    .operand = "ID",
	    .operand_help = "the entry, as 'tulay outbox list' shows it",
	    .operand_value = &operand,
	    .example = command->example,
	};
	*e = (struct entry){0};
	if (!args_parse(cli, &cmd, argc, argv, rc))
		return false;
	if (!entry_id(cli, operand, &e->id)) {
		*rc = CLI_EXIT_USAGE;
		return false;
	}
	if ((*rc = outbox_open(cli, false, &e->db)) != CLI_EXIT_OK)
		return false;
	if (e->db != NULL &&
	    (sqlite3_prepare_v2(e->db, command->sql, -1, &e->st, NULL) != SQLITE_OK ||
	     sqlite3_bind_int64(e->st, 1, e->id) != SQLITE_OK)) {
		sqlite3_finalize(e->st);
		e->st = NULL;
	}
	return true;
}

static void entry_end(struct entry *e)
{
	sqlite3_finalize(e->st);
	sqlite3_close(e->db);
}

static int no_entry(const struct cli *cli, sqlite3_int64 id)
{
	cli_error(cli, "there is no entry %lld in the outbox (see 'tulay outbox list')",
		  (long long)id);
	return CLI_EXIT_REFUSED;
}

int outbox_show_command(struct cli *cli, int argc, char **argv)
{
	static const struct entry_command show = {
	    .name = "outbox show",
	    .description = "Shows one write kept in the outbox: when and by which command it "
			   "was\nqueued, its idempotency key, and the server's answer if it "
			   "refused it.",
	    .example = "  tulay outbox show 3",
	    .sql = ENTRY_COLUMNS "WHERE id = ?",
	};
	struct entry e;
	int rc;
	if (!entry_begin(cli, argc, argv, &show, &e, &rc))
		return rc;
	struct output_record *rec = NULL;
	if (e.st != NULL && sqlite3_step(e.st) == SQLITE_ROW)
		rec = entry_record(e.st);
	entry_end(&e);
	return rec != NULL ? output_show(cli, rec) : no_entry(cli, e.id);
}

int outbox_drop_command(struct cli *cli, int argc, char **argv)
{
	static const struct entry_command drop = {
	    .name = "outbox drop",
	    .description = "Forgets a write kept in the outbox: it will not be sent. For an "
			   "entry\nthe server refused, once you have made the write again as it "
			   "should\nbe, or decided it is not needed.",
	    .example = "  tulay outbox drop 3",
	    .sql = "DELETE FROM outbox WHERE id = ?",
	};
	struct entry e;
	int rc;
	if (!entry_begin(cli, argc, argv, &drop, &e, &rc))
		return rc;
	bool dropped = false;
	if (e.st != NULL && sqlite3_step(e.st) == SQLITE_DONE)
		dropped = sqlite3_changes(e.db) == 1;
	long long left = e.db != NULL ? outbox_count(e.db, "queued") : 0;
	entry_end(&e);
	if (!dropped)
		return no_entry(cli, e.id);
	output_heading(cli, "Dropped entry %lld; %lld left to send", (long long)e.id, left);
	struct output_record *rec = output_record_new();
	output_add_int(rec, "dropped", "Dropped", e.id);
	output_add_int(rec, "queued", "Left to send", left);
	return output_show(cli, rec);
}
