/* tulay: the command-line client of tulayd. Reads the global options and the environment,
 * finds the command (git style: `tulay claim add ...`) and runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_case.h"
#include "cli_claim.h"
#include "cli_deportation.h"
#include "cli_export.h"
#include "cli_import.h"
#include "cli_org.h"
#include "cli_outbox.h"
#include "cli_output.h"
#include "cli_rate.h"
#include "cli_recommendation.h"
#include "cli_referral.h"
#include "cli_report.h"
#include "cli_session.h"
#include "cli_user.h"
#include "libtulay.h"

#ifndef TULAY_VERSION
#define TULAY_VERSION "unknown"
#endif

struct command {
	const char *name;
	const char *summary;
	int (*run)(struct cli *cli, int argc, char **argv); /* NULL for a group */
	const struct command *subcommands;                  /* a group's commands */
};

static const struct command org_member_commands[] = {
    {"propose", "propose a membership; the other side accepts it", org_member_propose, NULL},
    {"accept", "accept a membership the other side proposed", org_member_accept, NULL},
    {"decline", "decline (or withdraw) a proposed membership", org_member_decline, NULL},
    {"proposals", "list open membership proposals, incoming and outgoing", org_member_proposals,
     NULL},
    {"end", "end a membership (either side)", org_member_end, NULL},
    {"add", "the same as 'org member propose'", org_member_add, NULL},
    {0},
};

static const struct command org_office_commands[] = {
    {"add", "add a field office", org_office_add, NULL},
    {0},
};

static const struct command org_commands[] = {
    {"add", "register an organisation (admins)", org_add, NULL},
    {"list", "list organisations", org_list, NULL},
    {"show", "show an organisation, its offices and networks", org_show, NULL},
    {"member", "memberships in networks", NULL, org_member_commands},
    {"office", "field offices", NULL, org_office_commands},
    {0},
};

static const struct command claim_commands[] = {
    {"add", "log a new wage-theft claim", claim_add, NULL},
    {"show", "show one claim", claim_show, NULL},
    {"list", "list claims, with filters", claim_list, NULL},
    {"status", "move a claim to another status", claim_status, NULL},
    {"amounts", "record the amount awarded (and a first recovery)", claim_amounts, NULL},
    {"pay", "record a payment recovered: payments add up", claim_pay, NULL},
    {"note", "add a dated note to a claim's timeline", claim_note, NULL},
    {0},
};

static const struct command deportation_commands[] = {
    {"add", "log a deportation case", deportation_add, NULL},
    {"show", "show one deportation case", deportation_show, NULL},
    {"list", "list deportation cases, with filters", deportation_list, NULL},
    {"stage", "record detention, release or deportation", deportation_stage, NULL},
    {"intervention", "record a visit or representation", deportation_intervention, NULL},
    {"note", "add a dated note to a case's timeline", claim_note, NULL},
    {0},
};

static const struct command recommendation_commands[] = {
    {"add", "record a policy recommendation", recommendation_add, NULL},
    {"show", "show one recommendation", recommendation_show, NULL},
    {"list", "list recommendations, with filters", recommendation_list, NULL},
    {"status", "record what became of a recommendation", recommendation_status, NULL},
    {"evidence", "link a case as evidence", recommendation_evidence, NULL},
    {"note", "add a dated follow-up to a recommendation", claim_note, NULL},
    {0},
};

static const struct command referral_commands[] = {
    {"propose", "refer a case to a partner, with the worker's consent", referral_propose, NULL},
    {"accept", "accept a referral to your organisation", referral_accept, NULL},
    {"decline", "decline a referral to your organisation", referral_decline, NULL},
    {"revoke", "withdraw a referral your organisation made", referral_revoke, NULL},
    {"list", "list referrals to and from your organisation", referral_list, NULL},
    {0},
};

static const struct command case_commands[] = {
    {"list", "search cases of every kind", case_list, NULL},
    {"note", "add a dated note to any case's timeline", claim_note, NULL},
    {0},
};

static const struct command report_commands[] = {
    {"claims", "wage-theft claims counted and summed, small numbers hidden", report_claims, NULL},
    {"deportations", "deportation cases counted, small numbers hidden", report_deportations, NULL},
    {"recommendations", "policy recommendations counted", report_recommendations, NULL},
    {0},
};

static const struct command import_commands[] = {
    {"claims", "log or update the claims of a CSV file, every row checked first", import_claims,
     NULL},
    {"deportations", "log or update the deportations of a CSV file, every row checked first",
     import_deportations, NULL},
    {"recommendations", "log or update the recommendations of a CSV file", import_recommendations,
     NULL},
    {0},
};

static const struct command outbox_commands[] = {
    {"list", "list the writes waiting to be sent", outbox_list_command, NULL},
    {"show", "show one waiting write", outbox_show_command, NULL},
    {"drop", "forget a waiting write (it will not be sent)", outbox_drop_command, NULL},
    {0},
};

static const struct command rate_commands[] = {
    {"set", "set an exchange rate for reports (admins)", rate_set, NULL},
    {"list", "list exchange rates", rate_list, NULL},
    {0},
};

static const struct command user_commands[] = {
    {"add", "create a user (admins, org admins)", user_add, NULL},
    {"list", "list an organisation's users", user_list, NULL},
    {"disable", "disable a user and end their sessions", user_disable, NULL},
    {0},
};

static const struct command commands[] = {
    {"login", "log in and keep the session on this computer", session_login, NULL},
    {"logout", "end the session, on the server and here", session_logout, NULL},
    {"whoami", "show who you are logged in as", session_whoami, NULL},
    {"org", "organisations", NULL, org_commands},
    {"claim", "wage-theft claims", NULL, claim_commands},
    {"deportation", "arrests, detention and deportations", NULL, deportation_commands},
    {"recommendation", "policy recommendations", NULL, recommendation_commands},
    {"referral", "referrals of cases between organisations", NULL, referral_commands},
    {"case", "cases of every kind: search", NULL, case_commands},
    {"export", "every case of one kind, streamed to CSV or JSON", export_cases, NULL},
    {"import", "cases from a CSV file", NULL, import_commands},
    {"outbox", "writes kept here while the server could not be reached", NULL, outbox_commands},
    {"sync", "send the writes in the outbox", outbox_sync_command, NULL},
    {"report", "reports over a network's cases", NULL, report_commands},
    {"rate", "exchange rates for reports in one currency", NULL, rate_commands},
    {"user", "users", NULL, user_commands},
    {"passwd", "change your password", user_passwd, NULL},
    {0},
};

/* Lists the commands of `table` and of its groups, each with the names of its groups
 * below `group` in front ("member add"), for a help text. */
static void print_commands(FILE *out, const struct command *table, const char *group)
{
	for (const struct command *c = table; c->name != NULL; c++) {
		char name[32];
		int n = snprintf(name, sizeof(name), "%s%s%s", group != NULL ? group : "",
				 group != NULL ? " " : "", c->name);
		const char *shown = n > 0 && (size_t)n < sizeof(name) ? name : c->name;
		if (c->subcommands != NULL)
			print_commands(out, c->subcommands, shown);
		else
			fprintf(out, "  %-24s %s\n", shown, c->summary);
	}
}

static void main_help(FILE *out)
{
	fputs("tulay: the command-line client of tulayd, case management for migrant-support\n"
	      "organisations.\n\n"
	      "Usage: tulay [--server HOST:PORT] [--ca-file FILE] [--format FORMAT]\n"
	      "             [--timeout SECONDS] [--retries N] COMMAND [SUBCOMMAND] [OPTIONS]\n"
	      "\nCommands:\n",
	      out);
	print_commands(out, commands, NULL);
	fputs(
	    "\nRun 'tulay COMMAND --help' (e.g. 'tulay claim add --help') for its options.\n"
	    "\nGlobal options (also accepted after the command):\n"
	    "  --server HOST:PORT  the tulayd server: HOST, HOST:PORT or [IPv6]:PORT; or several,\n"
	    "                      comma-separated (a:7420,b:7420): the first that answers,\n"
	    "                      and the next when one goes away in the middle of a command\n"
	    "                      (default: TULAY_SERVER, else the server you logged in to,\n"
	    "                      else " TULAY_DEFAULT_SERVER ")\n"
	    "  --ca-file FILE      talk TLS 1.3, trusting the server's certificate if this CA\n"
	    "                      (PEM) signed it for the server's name or address; needed\n"
	    "                      for a server not on this computer (default: TULAY_CA_FILE,\n"
	    "                      else the CA file you logged in with; without one, plaintext\n"
	    "                      to 127.0.0.1, ::1 or localhost only)\n"
	    "  --format FORMAT     table (default): aligned columns for people;\n"
	    "                      json: an object, or an array for lists;\n"
	    "                      csv: RFC 4180 with a header row of field names\n"
	    "  --timeout SECONDS   give up waiting for the server after this long, 1-3600\n"
	    "                      (default: TULAY_TIMEOUT, else 10)\n"
	    "  --retries N         when the server answers that it is busy or its database\n"
	    "                      is unavailable, send the request again up to N times,\n"
	    "                      0-20, waiting a random time up to 0.1 s, 0.2 s, 0.4 s ...\n"
	    "                      (at most 2 s) first; only reads and writes that carry an\n"
	    "                      idempotency key, always with the same key, so nothing is\n"
	    "                      saved twice (default: TULAY_RETRIES, else 4; 0: never)\n"
	    "  --no-queue          a write about a case that the server cannot take now (it\n"
	    "                      cannot be reached, or answers UNAVAILABLE) fails with exit\n"
	    "                      3; without it, the write is kept in the outbox, sealed to\n"
	    "                      the server's key, and 'tulay sync' sends it later\n"
	    "                      (default: TULAY_NO_QUEUE=1 sets it)\n"
	    "  --version           print the version and exit\n"
	    "  -h, --help          show this help and exit\n"
	    "\nEnvironment:\n"
	    "  TULAY_SERVER      the server (or servers) when --server is not given\n"
	    "  TULAY_CA_FILE     the CA file when --ca-file is not given\n"
	    "  TULAY_TIMEOUT     seconds to wait for the server when --timeout is not given\n"
	    "  TULAY_RETRIES     resends of a busy-refused request when --retries is not given\n"
	    "  TULAY_USERNAME    the user name for 'tulay login' when --username is not given\n"
	    "  TULAY_PASSWORD    the password for 'tulay login' (else it is asked for)\n"
	    "  TULAY_NO_QUEUE    1: as --no-queue\n"
	    "  TULAY_CONFIG_DIR  where the session file and the outbox are kept (default:\n"
	    "                    $XDG_CONFIG_HOME/tulay, else ~/.config/tulay)\n"
	    "\nExit codes:\n"
	    "  0  done, or a write kept in the outbox (it says 'queued')\n"
	    "  1  usage error: a bad option or value, found before contacting the server\n"
	    "  2  the server refused (the message says why), or you are not logged in\n"
	    "  3  the server could not be reached or gave no usable answer\n"
	    "  4  this computer failed: out of memory, the session file not writable\n"
	    "\nExample:\n"
	    "  tulay login --server tulay.example.org:7420 --ca-file tulay-ca.pem --username "
	    "maria\n"
	    "  tulay claim list --status in-mediation --format csv > claims.csv\n"
	    "  tulay report claims --by corridor,quarter --from 2026-01 --network MFA\n",
	    out);
}

/* `path` is the group's full name: "org member". */
static void group_help(FILE *out, const struct command *group, const char *path)
{
	fprintf(out, "Usage: tulay %s COMMAND [OPTIONS]\n\nCommands for %s:\n", path,
		group->summary);
	print_commands(out, group->subcommands, NULL);
	fprintf(out, "\nRun 'tulay %s COMMAND --help' for a command's options.\n", path);
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* Runs the command argv[0] of `table`, descending into groups; `path` is the full name
 * of the table's group ("org member"), NULL for the top level. */
static int dispatch(struct cli *cli, const struct command *table, const char *path, int argc,
		    char **argv)
{
	const struct command *c = table;
	while (c->name != NULL && strcmp(c->name, argv[0]) != 0)
		c++;
	if (c->name == NULL) {
		cli_error(cli, "'%s' is not a %s command", argv[0], path ? path : "tulay");
		fprintf(stderr, "Run 'tulay%s%s --help' for the list.\n", path ? " " : "",
			path ? path : "");
		return CLI_EXIT_USAGE;
	}
	char *name = NULL;
	if (asprintf(&name, "%s%s%s", path ? path : "", path ? " " : "", c->name) < 0) {
		cli_error(cli, "out of memory");
		return CLI_EXIT_LOCAL;
	}
	int rc;
	if (c->subcommands != NULL && (argc < 2 || is_help(argv[1]))) {
		group_help(argc < 2 ? stderr : stdout, c, name);
		rc = argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	} else if (c->subcommands != NULL) {
		rc = dispatch(cli, c->subcommands, name, argc - 1, argv + 1);
	} else {
		cli->command = name;
		rc = c->run(cli, argc, argv);
		cli->command = NULL;
	}
	free(name);
	return rc;
}

/* TULAY_SERVER, TULAY_CA_FILE, TULAY_TIMEOUT and TULAY_RETRIES; options given later
 * override them. */
static void read_environment(struct cli *cli)
{
	const char *ca_file = getenv("TULAY_CA_FILE");
	if (ca_file != NULL && ca_file[0] != '\0')
		cli->ca_file = ca_file;
	const char *server = getenv("TULAY_SERVER");
	const char *timeout = getenv("TULAY_TIMEOUT");
	if (server != NULL && server[0] != '\0')
		cli->server = server;
	if (timeout != NULL && timeout[0] != '\0' &&
	    !args_count(timeout, 1, CLI_TIMEOUT_MAX_S, &cli->timeout_s))
		cli_problem(cli, "TULAY_TIMEOUT",
			    "'%s' is not a whole number of seconds from 1 to %d", timeout,
			    CLI_TIMEOUT_MAX_S);
	const char *no_queue = getenv("TULAY_NO_QUEUE");
	cli->no_queue = no_queue != NULL && strcmp(no_queue, "1") == 0;
	const char *retries = getenv("TULAY_RETRIES");
	if (retries != NULL && retries[0] != '\0' &&
	    !args_count(retries, 0, CLI_RETRIES_MAX, &cli->retries))
		cli_problem(cli, "TULAY_RETRIES", "'%s' is not a whole number from 0 to %d",
			    retries, CLI_RETRIES_MAX);
}

int main(int argc, char **argv)
{
	struct cli cli = {.format = OUTPUT_TABLE,
			  .timeout_s = CLI_TIMEOUT_DEFAULT_S,
			  .retries = CLI_RETRIES_DEFAULT};
	bool version = false;
	int rest = argc;
	const struct args_option options[] = {
	    {.name = "--version", .type = ARGS_FLAG, .target = &version},
	    {0},
	};
	const struct args_command cmd = {
	    .name = "",
	    .options = options,
	    .rest = &rest,
	    .help = main_help,
	};
	int rc;
	read_environment(&cli);
	if (!args_parse(&cli, &cmd, argc, argv, &rc))
		return rc;
	if (version) {
		printf("tulay %s (protocol tulay.v%d)\n", TULAY_VERSION, TULAY_PROTOCOL_VERSION);
	} else if (rest == argc) {
		main_help(stderr);
		rc = CLI_EXIT_USAGE;
	} else {
		rc = dispatch(&cli, commands, NULL, argc - rest, argv + rest);
		if (rc == CLI_EXIT_QUEUED)
			rc = CLI_EXIT_OK;
	}
	if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
		cli_error(&cli, "cannot write the output");
		rc = CLI_EXIT_LOCAL;
	}
	return rc;
}
