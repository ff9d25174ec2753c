#include "admin.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "codes.h"
#include "common.h"
#include "tulay/v1/organisations.pb-c.h"
#include "validate.h"
#include "vault.h"

#define PASSWORD_MIN_CHARS 10

struct option_value {
	const char *flag;
	const char *value;
};

/* Reads --flag VALUE pairs into opts (NULL-terminated by flag) and the listed boolean
 * switches. Returns 0, or -1 after printing what is wrong. */
static int parse_options(const char *cmd, int argc, char **argv, struct option_value *opts,
			 const char *const *switches, bool *switch_set)
{
	for (int i = 0; i < argc; i++) {
		bool matched = false;
		for (int s = 0; switches[s] != NULL; s++) {
			if (strcmp(argv[i], switches[s]) == 0) {
				switch_set[s] = true;
				matched = true;
			}
		}
		for (struct option_value *o = opts; !matched && o->flag != NULL; o++) {
			if (strcmp(argv[i], o->flag) != 0)
				continue;
			if (i + 1 >= argc) {
				fprintf(stderr, "tulayd %s: %s needs a value\n", cmd, o->flag);
				return -1;
			}
			o->value = argv[++i];
			matched = true;
		}
		if (!matched) {
			fprintf(stderr, "tulayd %s: unknown argument '%s' (see tulayd %s --help)\n",
				cmd, argv[i], cmd);
			return -1;
		}
	}
	return 0;
}

PGconn *admin_connect(const struct config *cfg)
{
	/* A default connect_timeout, which the connection string's own overrides (it comes
	 * later): a host that accepts and never answers must not hold a command for ever. */
	const char *keys[] = {"connect_timeout", "dbname", NULL};
	const char *values[] = {"10", cfg->db, NULL};
	PGconn *pg = PQconnectdbParams(keys, values, 1);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "tulayd: cannot connect to the database: %s", PQerrorMessage(pg));
		if (cfg->db_hint[0] != '\0')
			fprintf(stderr, "tulayd: %s\n", cfg->db_hint);
		PQfinish(pg);
		return NULL;
	}
	PQclear(PQexec(pg, "SET client_min_messages = warning"));
	return pg;
}

static void org_usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: tulayd org add --acronym ACRONYM --name NAME --kind KIND --country CC\n"
	    "                      [--if-not-exists] [SETTINGS]\n"
	    "\n"
	    "Registers an organisation directly in the database: for bootstrapping, before\n"
	    "any admin can log in. Afterwards use 'tulay org add' as an admin.\n"
	    "\n"
	    "  --acronym ACRONYM   2-20 of A-Z 0-9 - _, unique (e.g. MFA, TF-AMW)\n"
	    "  --name NAME         full name, 1-200 characters\n"
	    "  --kind KIND         network, ngo, trade-union, migrant-association,\n"
	    "                      faith-based, research-institute, parliamentary-caucus, other\n"
	    "  --country CC        ISO 3166-1 alpha-2 code of the head office (e.g. PH)\n"
	    "  --if-not-exists     succeed without change when the acronym is registered\n");
}

int admin_org_command(const struct config *cfg, int argc, char **argv)
{
	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		org_usage(stdout);
		return 0;
	}
	if (argc < 1 || strcmp(argv[0], "add") != 0) {
		org_usage(stderr);
		return EXIT_USAGE;
	}
	struct option_value opts[] = {{"--acronym", NULL},
				      {"--name", NULL},
				      {"--kind", NULL},
				      {"--country", NULL},
				      {NULL, NULL}};
	const char *const switches[] = {"--if-not-exists", "--help", NULL};
	bool set[2] = {false, false};
	if (parse_options("org add", argc - 1, argv + 1, opts, switches, set) != 0)
		return EXIT_USAGE;
	if (set[1]) {
		org_usage(stdout);
		return 0;
	}
	char acronym[32];
	const char *kind = NULL;
	const char *problem = NULL, *field = NULL;
	if (opts[0].value == NULL || strlen(opts[0].value) >= 24) {
		field = "--acronym", problem = "is required (2-20 characters)";
	} else if ((problem = validate_acronym(
			validate_upper(opts[0].value, acronym, sizeof(acronym)))) != NULL) {
		field = "--acronym";
	} else if ((problem = validate_text(opts[1].value, 1, 200)) != NULL) {
		field = "--name";
	} else if (opts[2].value == NULL ||
		   (kind = proto_code(&tulay__v1__organisation_kind__descriptor,
				      proto_word_value(&tulay__v1__organisation_kind__descriptor,
						       opts[2].value))) == NULL) {
		field = "--kind", problem = "must be one of network, ngo, trade-union, "
					    "migrant-association, faith-based, research-institute, "
					    "parliamentary-caucus, other";
	} else if ((problem = validate_country(opts[3].value)) != NULL) {
		field = "--country";
	}
	if (problem != NULL) {
		fprintf(stderr, "tulayd org add: %s %s\n", field, problem);
		return EXIT_USAGE;
	}

	PGconn *pg = admin_connect(cfg);
	if (pg == NULL)
		return EXIT_NO_DATABASE;
	const char *params[] = {acronym, opts[1].value, kind, opts[3].value};
	PGresult *r = PQexecParams(pg,
				   "INSERT INTO organisations (acronym, name, kind, country) "
				   "VALUES ($1, $2, $3, $4) ON CONFLICT (acronym) DO NOTHING "
				   "RETURNING org_id",
				   4, NULL, params, NULL, NULL, 0);
	int rc = 1;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "tulayd org add: %s", PQresultErrorMessage(r));
	} else if (PQntuples(r) == 0) {
		if (set[0]) {
			printf("organisation %s is already registered\n", acronym);
			rc = 0;
		} else {
			fprintf(stderr, "tulayd org add: --acronym %s is already registered\n",
				acronym);
		}
	} else {
		printf("registered organisation %s (id %s)\n", acronym, PQgetvalue(r, 0, 0));
		rc = 0;
	}
	PQclear(r);
	if (rc == 0) {
		/* The sequences of its case references, so that its first cases need not make
		 * them (a running tulayd would do it within --report-refresh-ms). */
		r = PQexec(pg, "SELECT case_numbering_prepare()");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fprintf(stderr, "tulayd org add: preparing its case numbering: %s",
				PQresultErrorMessage(r));
			rc = 1;
		}
		PQclear(r);
	}
	PQfinish(pg);
	return rc;
}

/* Reads a password: one line of stdin with --password-stdin, else TULAY_NEW_PASSWORD,
 * else a prompt on the terminal with echo off. */
static int read_password(bool from_stdin, char *out, size_t cap)
{
	const char *env = getenv("TULAY_NEW_PASSWORD");
	if (!from_stdin && env != NULL) {
		snprintf(out, cap, "%s", env);
		return 0;
	}
	FILE *in = from_stdin ? stdin : fopen("/dev/tty", "r+");
	if (in == NULL) {
		fprintf(stderr, "tulayd user add: no terminal to ask for the password: use "
				"--password-stdin or TULAY_NEW_PASSWORD\n");
		return -1;
	}
	struct termios old, quiet;
	bool tty = !from_stdin && tcgetattr(fileno(in), &old) == 0;
	if (tty) {
		fprintf(in, "New password: ");
		fflush(in);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(in), TCSAFLUSH, &quiet);
	}
	char *line = fgets(out, (int)cap, in);
	if (tty) {
		tcsetattr(fileno(in), TCSAFLUSH, &old);
		fprintf(in, "\n");
	}
	if (!from_stdin)
		fclose(in);
	if (line == NULL)
		return -1;
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

static void user_usage(FILE *out)
{
	fprintf(out,
		"Usage: tulayd user add --org ACRONYM --username NAME --role ROLE\n"
		"                       [--password-stdin] [--if-not-exists] [SETTINGS]\n"
		"\n"
		"Creates a user directly in the database: for bootstrapping the first admin.\n"
		"The password is read from standard input with --password-stdin, else from\n"
		"TULAY_NEW_PASSWORD, else asked on the terminal; at least %d characters.\n"
		"It is stored only as an argon2id hash.\n"
		"\n"
		"  --org ACRONYM       the user's organisation (must be registered)\n"
		"  --username NAME     2-64 of a-z 0-9 . _ -\n"
		"  --role ROLE         field_officer, coordinator, org_admin or admin\n"
		"  --if-not-exists     succeed without change when the username exists\n",
		PASSWORD_MIN_CHARS);
}

int admin_user_command(const struct config *cfg, int argc, char **argv)
{
	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		user_usage(stdout);
		return 0;
	}
	if (argc < 1 || strcmp(argv[0], "add") != 0) {
		user_usage(stderr);
		return EXIT_USAGE;
	}
	struct option_value opts[] = {
	    {"--org", NULL}, {"--username", NULL}, {"--role", NULL}, {NULL, NULL}};
	const char *const switches[] = {"--password-stdin", "--if-not-exists", "--help", NULL};
	bool set[3] = {false, false, false};
	if (parse_options("user add", argc - 1, argv + 1, opts, switches, set) != 0)
		return EXIT_USAGE;
	if (set[2]) {
		user_usage(stdout);
		return 0;
	}
	char acronym[32];
	const char *role = opts[2].value;
	const char *problem;
	if (opts[0].value == NULL || strlen(opts[0].value) >= 24) {
		fprintf(stderr, "tulayd user add: --org is required\n");
		return EXIT_USAGE;
	}
	validate_upper(opts[0].value, acronym, sizeof(acronym));
	if ((problem = validate_username(opts[1].value)) != NULL) {
		fprintf(stderr, "tulayd user add: --username %s\n", problem);
		return EXIT_USAGE;
	}
	if (role == NULL ||
	    (strcmp(role, "field_officer") != 0 && strcmp(role, "coordinator") != 0 &&
	     strcmp(role, "org_admin") != 0 && strcmp(role, "admin") != 0)) {
		fprintf(stderr, "tulayd user add: --role must be field_officer, coordinator, "
				"org_admin or admin\n");
		return EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return 1;

	PGconn *pg = admin_connect(cfg);
	if (pg == NULL)
		return EXIT_NO_DATABASE;
	int rc = 1;
	char password[1024];
	char hash[crypto_pwhash_STRBYTES];
	const char *exists_params[] = {opts[1].value};
	PGresult *r = PQexecParams(pg, "SELECT 1 FROM users WHERE username = $1", 1, NULL,
				   exists_params, NULL, NULL, 0);
	bool exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
	PQclear(r);
	if (exists) {
		if (set[1]) {
			printf("user %s already exists\n", opts[1].value);
			rc = 0;
		} else {
			fprintf(stderr, "tulayd user add: --username %s is taken\n", opts[1].value);
		}
		goto out;
	}
	if (read_password(set[0], password, sizeof(password)) != 0)
		goto out;
	if ((problem = validate_text(password, PASSWORD_MIN_CHARS, 1000)) != NULL) {
		fprintf(stderr, "tulayd user add: the password %s (at least %d characters)\n",
			problem, PASSWORD_MIN_CHARS);
		goto out;
	}
	if (!vault_password_hash(hash, password, cfg->password_cost)) {
		fprintf(stderr, "tulayd user add: out of memory hashing the password\n");
		goto out;
	}
	const char *params[] = {acronym, opts[1].value, hash, role};
	r = PQexecParams(pg,
			 "INSERT INTO users (org_id, username, password_hash, role) "
			 "SELECT org_id, $2, $3, $4 FROM organisations WHERE acronym = $1 "
			 "RETURNING user_id",
			 4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "tulayd user add: %s", PQresultErrorMessage(r));
	else if (PQntuples(r) == 0)
		fprintf(stderr, "tulayd user add: --org %s is not a registered organisation\n",
			acronym);
	else {
		printf("created user %s (%s of %s)\n", opts[1].value, role, acronym);
		rc = 0;
	}
	PQclear(r);
out:
	sodium_memzero(password, sizeof(password));
	PQfinish(pg);
	return rc;
}
