/* tulayd: the tulay server, and its admin commands. */
#include <stdio.h>
#include <sys/prctl.h>

/* LeakSanitizer inspects the exiting process with ptrace, which a non-dumpable process
 * refuses to non-root users: sanitizer builds keep core dumps enabled. */
#if defined(__SANITIZE_ADDRESS__)
#define TULAYD_NO_CORE_DUMPS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TULAYD_NO_CORE_DUMPS 0
#endif
#endif
#ifndef TULAYD_NO_CORE_DUMPS
#define TULAYD_NO_CORE_DUMPS 1
#endif
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "audit.h"
#include "common.h"
#include "config.h"
#include "handlers/handlers.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "server.h"
#include "vault.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: tulayd [serve] [SETTINGS]          run the server (default)\n"
	    "       tulayd migrate status|up [--dry-run] [SETTINGS]\n"
	    "       tulayd org add --acronym A --name N --kind K --country CC [SETTINGS]\n"
	    "       tulayd user add --org A --username U --role R [--password-stdin] [SETTINGS]\n"
	    "       tulayd audit verify|seal [SETTINGS]       check or seal the audit log's hash "
	    "chain\n"
	    "       tulayd keygen FILE                        create a data key file (mode 0600)\n"
	    "       tulayd keycheck [SETTINGS]                is the data key this database's? "
	    "(exit\n"
	    "                                                 0 yes, 78 no, 3 none recorded yet)\n"
	    "       tulayd stats [SETTINGS]                   print a running tulayd's counters\n"
	    "       tulayd --help | --version\n"
	    "\n"
	    "tulayd serves the tulay.v1 protocol (see proto/README.md) on TCP and stores\n"
	    "everything in PostgreSQL. It refuses to start on a database whose schema is older\n"
	    "than it needs; 'tulayd migrate up' fixes that. SIGTERM or Ctrl-C stops accepting,\n"
	    "finishes the requests in flight, answers any request read after it UNAVAILABLE\n"
	    "(\"the server is shutting down\": the client sends it elsewhere), tells each\n"
	    "connection to go, and exits 0 once every client has gone, or at\n"
	    "--drain-timeout-ms; a second signal exits at once. Logs go to stderr, one\n"
	    "key=value line per event.\n"
	    "\n"
	    "Without --db (or TULAY_DB, or db in the config file), every command uses the\n"
	    "PostgreSQL cluster scripts/run.sh made (var/pg, looked for in the working\n"
	    "directory, then in the source tree), as tulay_app to serve and as its owner for\n"
	    "migrate, org, user, audit and keycheck, with var/data.key as the data key.\n"
	    "\n"
	    "Exit codes: 0 done; 1 failed (audit verify: the chain is broken); 2 migrate\n"
	    "status: migrations pending, or, to serve, the schema is not current; 64 a wrong\n"
	    "argument or setting; 69 the database cannot be reached; 70 the database answered\n"
	    "with an error; 78 the data key is not the one the database was used with.\n"
	    "\n"
	    "  --config FILE   read settings from FILE ('key = value' lines; also TULAY_CONFIG)\n"
	    "\n");
	config_print_help(out);
	fprintf(out, "\nEach command has --help, e.g. tulayd migrate --help.\n");
}

/* Keeps freed memory for the next request instead of handing it back to the kernel. By
 * default glibc returns the top of the heap once 128 KB are free there and serves blocks
 * over 128 KB with mmap, so a report of a few thousand cells (its libpq result, its arena,
 * its reply) touched fresh pages on every request: about 1,500 page faults and 20 ms of
 * tulayd's 30 ms per "corridor x sector x year" report on the benchmark's machine, a
 * virtual machine where a fault is dear. Up to 64 MB freed at the top of the heap stays
 * mapped; blocks up to 16 MB come from the heap. (A no-op under AddressSanitizer, whose
 * allocator ignores mallopt.) */
static void malloc_keep_freed_memory(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, 16 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
	(void)mallopt(M_TOP_PAD, 4 << 20);
}

int main(int argc, char **argv)
{
	int first = 1;
	const char *command = "serve";
	if (argc > 1 && argv[1][0] != '-') {
		command = argv[1];
		first = 2;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			 strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("tulayd %s (protocol tulay.v1, schema %04d)\n", TULAYD_VERSION,
		       MIGRATE_REQUIRED_VERSION);
		return 0;
	}

	struct config cfg;
	config_defaults(&cfg);
	int *rest = calloc((size_t)argc + 1, sizeof(*rest));
	char **rest_argv = calloc((size_t)argc + 1, sizeof(*rest_argv));
	if (rest == NULL || rest_argv == NULL) {
		free(rest);
		free(rest_argv);
		return 1;
	}
	int n_rest = 0;
	char err[512];
	if (config_load(&cfg, argc, argv, first, rest, &n_rest, err, sizeof(err)) != 0) {
		fprintf(stderr, "tulayd: %s\n", err);
		free(rest);
		free(rest_argv);
		return EXIT_USAGE;
	}
	for (int i = 0; i < n_rest; i++)
		rest_argv[i] = argv[rest[i]];
	bool serve = strcmp(command, "serve") == 0;
	bool wants_help = n_rest > 0 && (strcmp(rest_argv[0], "--help") == 0 ||
					 strcmp(rest_argv[n_rest - 1], "--help") == 0);
	if (strcmp(command, "keygen") != 0 && strcmp(command, "stats") != 0 && !wants_help) {
		char note[800];
		config_find_database(&cfg, serve ? CONFIG_ROLE_APP : CONFIG_ROLE_OWNER, note,
				     sizeof(note));
		if (note[0] != '\0')
			fprintf(stderr, "tulayd: %s\n", note);
	}

	int rc;
	if (strcmp(command, "migrate") == 0) {
		rc = migrate_command(&cfg, n_rest, rest_argv);
	} else if (strcmp(command, "keygen") == 0) {
		if (n_rest != 1 || rest_argv[0][0] == '-') {
			fprintf(stderr,
				"usage: tulayd keygen FILE   (writes a new data key, mode 0600; "
				"FILE must not exist)\n");
			rc = EXIT_USAGE;
		} else if (vault_create_key_file(rest_argv[0], err, sizeof(err)) != 0) {
			fprintf(stderr, "tulayd keygen: %s\n", err);
			rc = 1;
		} else {
			printf(
			    "wrote a new data key to %s (mode 0600): keep it outside the database "
			    "and back it up; without it the encrypted data cannot be read\n",
			    rest_argv[0]);
			rc = 0;
		}
	} else if (strcmp(command, "keycheck") == 0) {
		rc = migrate_keycheck_command(&cfg, n_rest, rest_argv);
	} else if (strcmp(command, "stats") == 0) {
		rc = metrics_stats_command(&cfg, n_rest, rest_argv);
	} else if (strcmp(command, "audit") == 0) {
		rc = audit_command(&cfg, n_rest, rest_argv);
	} else if (strcmp(command, "org") == 0) {
		rc = admin_org_command(&cfg, n_rest, rest_argv);
	} else if (strcmp(command, "user") == 0) {
		rc = admin_user_command(&cfg, n_rest, rest_argv);
	} else if (strcmp(command, "serve") == 0) {
		if (n_rest > 0) {
			fprintf(stderr, "tulayd: unknown option '%s' (see tulayd --help)\n",
				rest_argv[0]);
			rc = EXIT_USAGE;
		} else if (config_check_transport(&cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "tulayd: %s\n", err);
			rc = EXIT_USAGE;
		} else if (session_init(cfg.password_cost) != 0) {
			fprintf(stderr, "tulayd: libsodium could not be initialised\n");
			rc = 1;
		} else if (TULAYD_NO_CORE_DUMPS && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
			/* No core dumps: they would hold keys, passwords and decrypted data. */
			fprintf(stderr, "tulayd: cannot disable core dumps\n");
			rc = 1;
		} else if (vault_load(cfg.data_key_file, err, sizeof(err)) != 0) {
			fprintf(stderr, "tulayd: %s\n", err);
			rc = 1;
		} else if ((rc = migrate_check_schema(&cfg)) != 0 ||
			   (rc = migrate_check_key(&cfg, true)) != 0) {
			/* rc says why */
		} else {
			log_info("event=starting version=%s", TULAYD_VERSION);
			config_log(&cfg);
			malloc_keep_freed_memory();
			rc = server_run(&cfg);
		}
	} else {
		fprintf(stderr, "tulayd: unknown command '%s' (see tulayd --help)\n", command);
		rc = EXIT_USAGE;
	}
	free(rest);
	free(rest_argv);
	return rc;
}
