#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "admin.h"
#include "common.h"
#include "vault.h"

/* Any constant works as long as every tulayd uses the same: "tulay" in ASCII. */
#define MIGRATE_LOCK_KEY 0x74756c6179LL
#define MIGRATE_MAX      1000

struct migration {
	int version;
	char file[160];
	char checksum[crypto_hash_sha256_BYTES * 2 + 1];
	char *sql;
	/* From schema_migrations, when applied: */
	bool applied;
	char applied_checksum[crypto_hash_sha256_BYTES * 2 + 1];
	char applied_at[40];
	bool file_missing;
};

struct plan {
	struct migration *m;
	int n;
};

static void plan_free(struct plan *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->m[i].sql);
	free(p->m);
	p->m = NULL;
	p->n = 0;
}

static bool migration_name_ok(const char *name, int *version)
{
	size_t len = strlen(name);
	if (len < 10 || len >= sizeof(((struct migration *)0)->file) ||
	    strcmp(name + len - 4, ".sql") != 0 || name[4] != '_')
		return false;
	for (int i = 0; i < 4; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
	}
	for (size_t i = 5; i < len - 4; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
	}
	*version = atoi(name) /* leading digits */;
	return *version > 0;
}

static int migration_cmp(const void *a, const void *b)
{
	return ((const struct migration *)a)->version - ((const struct migration *)b)->version;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long size = ftell(f);
		if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1))) {
			if (fread(buf, 1, (size_t)size, f) == (size_t)size) {
				buf[size] = '\0';
				*len = (size_t)size;
			} else {
				free(buf);
				buf = NULL;
			}
		}
	}
	fclose(f);
	return buf;
}

/* Reads every NNNN_name.sql in dir, sorted, with checksums. */
static int plan_load_files(const char *dir, struct plan *p)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr,
			"tulayd migrate: cannot open the migrations directory %s: %s\n"
			"  (set --migrations DIR or TULAY_MIGRATIONS)\n",
			dir, strerror(errno));
		return -1;
	}
	p->m = calloc(MIGRATE_MAX, sizeof(*p->m));
	p->n = 0;
	int rc = 0;
	struct dirent *e;
	while (p->m != NULL && (e = readdir(d)) != NULL) {
		int version;
		if (e->d_name[0] == '.' || strstr(e->d_name, ".sql") == NULL)
			continue;
		if (!migration_name_ok(e->d_name, &version)) {
			fprintf(stderr,
				"tulayd migrate: %s/%s is not named NNNN_lower_case_name.sql\n",
				dir, e->d_name);
			rc = -1;
			break;
		}
		if (p->n == MIGRATE_MAX) {
			rc = -1;
			break;
		}
		struct migration *m = &p->m[p->n++];
		m->version = version;
		memcpy(m->file, e->d_name, strlen(e->d_name) + 1); /* length checked above */
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		size_t len = 0;
		m->sql = read_file(path, &len);
		if (m->sql == NULL) {
			fprintf(stderr, "tulayd migrate: cannot read %s: %s\n", path,
				strerror(errno));
			rc = -1;
			break;
		}
		uint8_t digest[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(digest, (const uint8_t *)m->sql, len);
		sodium_bin2hex(m->checksum, sizeof(m->checksum), digest, sizeof(digest));
	}
	closedir(d);
	if (p->m == NULL)
		return -1;
	qsort(p->m, (size_t)p->n, sizeof(*p->m), migration_cmp);
	for (int i = 1; rc == 0 && i < p->n; i++) {
		if (p->m[i].version == p->m[i - 1].version) {
			fprintf(stderr, "tulayd migrate: %s and %s have the same number\n",
				p->m[i - 1].file, p->m[i].file);
			rc = -1;
		}
	}
	return rc;
}

static bool exec_ok(PGconn *pg, const char *sql, const char *what)
{
	PGresult *r = PQexec(pg, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "tulayd migrate: %s failed: %s", what, PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

/* Merges what schema_migrations records into the plan. Applied versions without a file
 * are appended as file_missing entries. */
static int plan_load_applied(PGconn *pg, struct plan *p)
{
	PGresult *r = PQexec(pg, "SELECT version, checksum, "
				 "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
				 "FROM schema_migrations ORDER BY version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "tulayd migrate: cannot read schema_migrations: %s",
			PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	for (int row = 0; row < PQntuples(r); row++) {
		int version = atoi(PQgetvalue(r, row, 0));
		struct migration *m = NULL;
		for (int i = 0; i < p->n; i++) {
			if (p->m[i].version == version)
				m = &p->m[i];
		}
		if (m == NULL && p->n < MIGRATE_MAX) {
			m = &p->m[p->n++];
			m->version = version;
			m->file_missing = true;
			snprintf(m->file, sizeof(m->file), "%04d_(file missing)", version);
		}
		if (m == NULL)
			continue;
		m->applied = true;
		snprintf(m->applied_checksum, sizeof(m->applied_checksum), "%s",
			 PQgetvalue(r, row, 1));
		snprintf(m->applied_at, sizeof(m->applied_at), "%s", PQgetvalue(r, row, 2));
	}
	PQclear(r);
	qsort(p->m, (size_t)p->n, sizeof(*p->m), migration_cmp);
	return 0;
}

/* Problems that make applying anything unsafe: edited or vanished applied files, and a
 * pending file numbered below an applied one. Printed; returns their number. */
static int plan_problems(const struct plan *p)
{
	int problems = 0, last_applied = 0;
	for (int i = 0; i < p->n; i++) {
		if (p->m[i].applied)
			last_applied = p->m[i].version;
	}
	for (int i = 0; i < p->n; i++) {
		const struct migration *m = &p->m[i];
		if (m->file_missing) {
			fprintf(
			    stderr,
			    "error: migration %04d was applied but its file is missing from the "
			    "migrations directory\n",
			    m->version);
			problems++;
		} else if (m->applied && strcmp(m->checksum, m->applied_checksum) != 0) {
			fprintf(
			    stderr,
			    "error: %s was edited after it was applied (checksum %.12s… now, "
			    "%.12s… when applied): restore the original file and put the change "
			    "in a new migration\n",
			    m->file, m->checksum, m->applied_checksum);
			problems++;
		} else if (!m->applied && m->version < last_applied) {
			fprintf(
			    stderr,
			    "error: %s is not applied but a later migration (%04d) is: renumber "
			    "it after %04d\n",
			    m->file, last_applied, last_applied);
			problems++;
		}
	}
	return problems;
}

static int apply_one(PGconn *pg, const struct migration *m)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!exec_ok(pg, "BEGIN", "BEGIN"))
		return -1;
	PGresult *r = PQexec(pg, m->sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "tulayd migrate: %s failed and was rolled back: %s", m->file,
			PQresultErrorMessage(r));
		PQclear(r);
		exec_ok(pg, "ROLLBACK", "ROLLBACK");
		return -1;
	}
	PQclear(r);
	char version[16];
	snprintf(version, sizeof(version), "%d", m->version);
	const char *params[] = {version, m->file, m->checksum};
	r = PQexecParams(pg,
			 "INSERT INTO schema_migrations (version, name, checksum) "
			 "VALUES ($1, $2, $3)",
			 3, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "tulayd migrate: recording %s failed: %s", m->file,
			PQresultErrorMessage(r));
	PQclear(r);
	if (!ok || !exec_ok(pg, "COMMIT", "COMMIT")) {
		exec_ok(pg, "ROLLBACK", "ROLLBACK");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("applied %s (%ld ms)\n", m->file, ms);
	return 0;
}

static void migrate_usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: tulayd migrate status [SETTINGS]\n"
	    "       tulayd migrate up [--dry-run] [SETTINGS]\n"
	    "\n"
	    "Applies the SQL files NNNN_name.sql of the migrations directory in order, each in\n"
	    "its own transaction, holding an advisory lock so that two runs never interleave.\n"
	    "Each applied file is recorded with its SHA-256 in schema_migrations; a recorded\n"
	    "file that was edited since is an error (put changes in a new file).\n"
	    "\n"
	    "  status      list every migration as applied, pending, EDITED or FILE MISSING;\n"
	    "              exit 0 when up to date, 2 when some are pending, 69 when the\n"
	    "              database cannot be reached, 1 on other errors\n"
	    "  up          apply the pending migrations\n"
	    "  --dry-run   with up: only list what would be applied\n"
	    "\n"
	    "Settings that matter here: --db CONNINFO (TULAY_DB), --migrations DIR\n"
	    "(TULAY_MIGRATIONS). See tulayd --help for all.\n");
}

int migrate_command(const struct config *cfg, int argc, char **argv)
{
	bool up = false, dry_run = false, status = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "up") == 0)
			up = true;
		else if (strcmp(argv[i], "status") == 0)
			status = true;
		else if (strcmp(argv[i], "--dry-run") == 0)
			dry_run = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			migrate_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "tulayd migrate: unknown argument '%s'\n\n", argv[i]);
			migrate_usage(stderr);
			return 64;
		}
	}
	if (up == status || (dry_run && !up)) {
		migrate_usage(stderr);
		return 64;
	}
	if (sodium_init() < 0)
		return 1;

	struct plan p = {0};
	int exit_code = 1;
	PGconn *pg = NULL;
	if (plan_load_files(cfg->migrations, &p) != 0)
		goto out;
	if ((pg = admin_connect(cfg)) == NULL) {
		exit_code = EXIT_NO_DATABASE;
		goto out;
	}
	char lock[64];
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%lld)", MIGRATE_LOCK_KEY);
	if (!exec_ok(pg, lock, "taking the migration lock") ||
	    !exec_ok(pg,
		     "CREATE TABLE IF NOT EXISTS schema_migrations ("
		     " version integer PRIMARY KEY, name text NOT NULL,"
		     " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
		     "creating schema_migrations") ||
	    plan_load_applied(pg, &p) != 0)
		goto out;

	int problems = plan_problems(&p);
	int pending = 0;
	for (int i = 0; i < p.n; i++)
		pending += !p.m[i].applied;

	if (status) {
		printf("%-8s %-44s %s\n", "VERSION", "FILE", "STATE");
		for (int i = 0; i < p.n; i++) {
			const struct migration *m = &p.m[i];
			const char *state = m->file_missing ? "FILE MISSING"
					    : !m->applied   ? "pending"
					    : strcmp(m->checksum, m->applied_checksum) != 0
						? "EDITED"
						: "applied";
			printf("%04d     %-44s %s%s%s\n", m->version, m->file, state,
			       m->applied ? " " : "", m->applied ? m->applied_at : "");
		}
		if (problems > 0)
			exit_code = 1;
		else if (pending > 0) {
			printf("%d pending: run 'tulayd migrate up'\n", pending);
			exit_code = 2;
		} else {
			printf("up to date\n");
			exit_code = 0;
		}
		goto out;
	}

	if (problems > 0) {
		fprintf(stderr, "tulayd migrate: nothing applied because of the errors above\n");
		goto out;
	}
	for (int i = 0; i < p.n; i++) {
		if (p.m[i].applied)
			continue;
		if (dry_run) {
			printf("would apply %s\n", p.m[i].file);
			continue;
		}
		if (apply_one(pg, &p.m[i]) != 0)
			goto out;
	}
	if (pending == 0)
		printf("up to date: nothing to apply\n");
	else if (dry_run)
		printf("%d to apply (dry run: nothing changed)\n", pending);
	exit_code = 0;
out:
	PQfinish(pg);
	plan_free(&p);
	return exit_code;
}

/* Row-level security protects nothing from a role that owns the tables, is a superuser or
 * bypasses RLS: tulayd refuses to serve as one. */
static int check_role(PGconn *pg)
{
	PGresult *r = PQexec(pg, "SELECT current_user, r.rolsuper, r.rolbypassrls, "
				 "  (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) + "
				 "  (SELECT count(*) FROM pg_proc p WHERE p.proowner = r.oid) "
				 "FROM pg_roles r WHERE r.rolname = current_user");
	int rc = -1;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		fprintf(stderr, "tulayd: cannot read the database role: %s",
			PQresultErrorMessage(r));
	} else if (strcmp(PQgetvalue(r, 0, 1), "f") != 0 || strcmp(PQgetvalue(r, 0, 2), "f") != 0 ||
		   strcmp(PQgetvalue(r, 0, 3), "0") != 0) {
		fprintf(
		    stderr,
		    "tulayd: refusing to serve as database role '%s' (superuser=%s, "
		    "bypassrls=%s, owns %s objects): row-level security would not protect "
		    "anything. Connect tulayd as a role that owns nothing and cannot bypass RLS "
		    "(tulay_app), and run 'tulayd migrate' as the owner.\n",
		    PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
		    PQgetvalue(r, 0, 3));
	} else {
		rc = 0;
	}
	PQclear(r);
	return rc;
}

/* The stored check value against ours: 1 equal, 0 different, -1 none stored, -2 the
 * schema predates it, -3 another error (printed). */
static int key_check_compare(PGconn *pg, const uint8_t ours[VAULT_CHECK_BYTES])
{
	const char *values[] = {(const char *)ours};
	const int lengths[] = {VAULT_CHECK_BYTES}, formats[] = {1};
	PGresult *r = PQexecParams(pg, "SELECT key_check = $1 FROM data_key_check", 1, NULL, values,
				   lengths, formats, 0);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	int got;
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		got = PQntuples(r) == 0 ? -1 : strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	else if (state != NULL && strcmp(state, "42P01") == 0)
		got = -2;
	else {
		fprintf(stderr, "tulayd: cannot read the data key's check value: %s",
			PQresultErrorMessage(r));
		got = -3;
	}
	PQclear(r);
	return got;
}

/* Whether the loaded key opens one sealed worker name of the database (data_key_sample(),
 * 0025): 1 it does, 0 it does not, -1 there is none, -2 an error (printed). */
static int key_opens_sample(PGconn *pg)
{
	PGresult *r =
	    PQexecParams(pg, "SELECT org_id, idempotency_key, sealed FROM data_key_sample()", 0,
			 NULL, NULL, NULL, NULL, 1);
	int got = -2;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "tulayd: cannot read a sealed value to check the data key with: %s",
			PQresultErrorMessage(r));
	} else if (PQntuples(r) == 0) {
		got = -1;
	} else {
		uint64_t org = 0;
		const uint8_t *o = (const uint8_t *)PQgetvalue(r, 0, 0);
		for (int i = 0; i < 8 && PQgetlength(r, 0, 0) == 8; i++)
			org = org << 8 | o[i];
		struct vault_place place = {
		    .org_id = (int64_t)org,
		    .table = "wage_theft_claims",
		    .column = "worker_name_enc",
		    .row = (const uint8_t *)PQgetvalue(r, 0, 1),
		    .row_len = (size_t)PQgetlength(r, 0, 1),
		};
		struct arena a;
		arena_init(&a, 64 * 1024);
		got = vault_open(&a, (const uint8_t *)PQgetvalue(r, 0, 2),
				 (size_t)PQgetlength(r, 0, 2), &place) != NULL;
		arena_release(&a);
	}
	PQclear(r);
	return got;
}

int migrate_check_key(const struct config *cfg, bool record)
{
	PGconn *pg = admin_connect(cfg);
	if (pg == NULL)
		return EXIT_NO_DATABASE;
	uint8_t ours[VAULT_CHECK_BYTES];
	vault_key_check(ours);
	int rc = EXIT_DB_ERROR;
	int same = key_check_compare(pg, ours);
	if (same == -1) {
		/* None recorded: a database made before 0025, or restored from a dump of one.
		 * Record ours only if it opens the personal data already there. */
		int opens = key_opens_sample(pg);
		if (opens == -2)
			goto out;
		if (opens == 0) {
			same = 0;
		} else if (!record) {
			fprintf(stderr, "tulayd: the database holds no data key check value yet "
					"(tulayd records one the first time it serves)\n");
			rc = opens == 1 ? 0 : 3;
			if (opens == 1)
				printf("the data key in %s opens this database's sealed personal "
				       "data\n",
				       cfg->data_key_file);
			goto out;
		} else {
			const char *values[] = {(const char *)ours};
			const int lengths[] = {sizeof(ours)}, formats[] = {1};
			PGresult *ins =
			    PQexecParams(pg,
					 "INSERT INTO data_key_check (key_check) VALUES ($1) "
					 "ON CONFLICT DO NOTHING",
					 1, NULL, values, lengths, formats, 0);
			bool ok = PQresultStatus(ins) == PGRES_COMMAND_OK;
			if (!ok)
				fprintf(stderr,
					"tulayd: cannot record the data key's check value: %s",
					PQresultErrorMessage(ins));
			else if (strcmp(PQcmdTuples(ins), "1") == 0)
				fprintf(
				    stderr,
				    "tulayd: recorded the data key's check value in the database: "
				    "from now on it serves with %s only\n",
				    cfg->data_key_file);
			PQclear(ins);
			if (!ok)
				goto out;
			same = key_check_compare(pg, ours); /* another tulayd may have been first */
		}
	}
	if (same == -2) {
		fprintf(stderr, "tulayd: the database's schema is older than the data key check "
				"(migration 0025): 'tulayd migrate up' adds it\n");
		rc = 3;
	} else if (same == 0) {
		fprintf(stderr,
			"tulayd: the data key in %s is not the key this database was used with (it "
			"does not match the recorded check value, or does not open the personal "
			"data). Give the right key (--data-key-file): serving with this one would "
			"show no worker's name and seal new ones under a key the others do not "
			"share.\n",
			cfg->data_key_file);
		rc = EXIT_WRONG_KEY;
	} else if (same == 1) {
		rc = 0;
		if (!record)
			printf("the data key in %s is the key this database was used with\n",
			       cfg->data_key_file);
	}
out:
	PQfinish(pg);
	return rc;
}

int migrate_keycheck_command(const struct config *cfg, int argc, char **argv)
{
	if (argc > 0) {
		bool help = strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0;
		fprintf(
		    help ? stdout : stderr,
		    "%sUsage: tulayd keycheck [--data-key-file FILE] [SETTINGS]\n"
		    "\n"
		    "Checks that FILE holds the key this database's personal data was sealed\n"
		    "with, against the check value tulayd recorded the first time it served.\n"
		    "Exit 0 when it does, 78 when it does not, 3 when no value is recorded yet\n"
		    "(or the schema predates it), 69 when the database cannot be reached.\n",
		    help ? "" : "tulayd keycheck: unknown argument\n\n");
		return help ? 0 : EXIT_USAGE;
	}
	char err[512];
	if (vault_load(cfg->data_key_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "tulayd keycheck: %s\n", err);
		return 1;
	}
	return migrate_check_key(cfg, false);
}

int migrate_check_schema(const struct config *cfg)
{
	PGconn *pg = admin_connect(cfg);
	if (pg == NULL)
		return EXIT_NO_DATABASE;
	if (check_role(pg) != 0) {
		PQfinish(pg);
		return 1;
	}
	int rc = 2;
	PGresult *r = PQexec(pg, "SELECT coalesce(max(version), 0) FROM schema_migrations");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr,
			"tulayd: the database has no tulay schema yet: run 'tulayd migrate up' "
			"first\n");
	} else {
		int have = atoi(PQgetvalue(r, 0, 0));
		if (have < MIGRATE_REQUIRED_VERSION)
			fprintf(stderr,
				"tulayd: the database schema is at version %04d but this tulayd "
				"needs %04d: run 'tulayd migrate up' first\n",
				have, MIGRATE_REQUIRED_VERSION);
		else
			rc = 0;
	}
	PQclear(r);
	PQfinish(pg);
	return rc;
}
