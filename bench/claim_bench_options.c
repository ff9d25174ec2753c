/* claim_bench: its options, the users it acts as, and the helpers it shares. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "claim_bench.h"

const char *const op_names[3] = {
    [OP_CREATE] = "create",
    [OP_GET] = "get",
    [OP_LIST] = "list",
};

/* --- small helpers ------------------------------------------------------------------- */

void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(CLIENT_NAME ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n > 0 ? n : 1, size);
	if (p == NULL) {
		say("out of memory");
		exit(EXIT_FAILED);
	}
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (d == NULL) {
		say("out of memory");
		exit(EXIT_FAILED);
	}
	return d;
}

/* --- options ------------------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: claim_bench [--server HOST:PORT] [--ca FILE]\n"
	    "                   (--user [ORG:]USERNAME ... | --users FILE) [--orgs K]\n"
	    "                   [--op create|get|list] [--clients N] [--depth D]\n"
	    "                   [--seconds S] [--requests N] [--warmup-claims N]\n"
	    "                   [--timeout-ms MS] [--allow-errors]\n"
	    "\n"
	    "Loads tulayd with claims requests from N clients, each its own connection and\n"
	    "thread keeping D requests in flight, and prints the rate and latencies:\n"
	    "\n"
	    "  op=create clients=16 depth=1 orgs=1 requests=R errors=E seconds=S rate=R/S\n"
	    "     p50_ms=.. p99_ms=.. error_codes=CODE:N,...   (one line, then one for people)\n"
	    "\n"
	    "requests counts the requests answered OK; errors every other outcome (an error\n"
	    "status, by its code; E_TIMEOUT, E_CLOSED, ...: a connection failed, and LOST: its\n"
	    "requests then in flight; BAD_REPLY: OK without the expected body). seconds runs\n"
	    "from the start of the first request to the last answer; rate = requests / seconds.\n"
	    "Latencies (nearest-rank percentiles) are of the OK answers, from sending the\n"
	    "request to its parsed Response.\n"
	    "\n"
	    "  --server HOST:PORT  tulayd's address (default %s); plaintext, so on this\n"
	    "                      computer, unless --ca\n"
	    "  --ca FILE           talk TLS 1.3, trusting the CA certificate(s) in FILE\n"
	    "  --user [ORG:]NAME   act as this user (repeatable; ORG, its organisation's\n"
	    "                      acronym, is only a label). The password, the same for all,\n"
	    "                      comes from TULAY_BENCH_PASSWORD, else the first line of\n"
	    "                      standard input\n"
	    "  --users FILE        users from FILE: one per line, 'ORG USERNAME PASSWORD'\n"
	    "                      (the password is the rest of the line; '#' starts a comment)\n"
	    "  --orgs K            use the first K users, one per organisation (default: all);\n"
	    "                      client i acts as user i mod K, so a run spreads over\n"
	    "                      min(K, N) organisations\n"
	    "  --op OP             create: CreateClaim, a fresh random idempotency key each\n"
	    "                      time (KH -> TH, construction, Siam Build Co, 2026-01-01 to\n"
	    "                      2026-04-30, 45000.00 THB, 1 worker); get: GetClaim of a\n"
	    "                      random one of the organisation's claims; list: the first\n"
	    "                      page of ListClaims (default create)\n"
	    "  --clients N         connections, each on its own thread (default 1, at most %u)\n"
	    "  --depth D           requests in flight per connection (default 1); at most the\n"
	    "                      server's max_requests_in_flight\n"
	    "  --seconds S         stop sending after S seconds (decimals allowed); SIGINT or\n"
	    "                      SIGTERM stops it sooner, with the same summary\n"
	    "  --requests N        stop after N requests in all; with --seconds, whichever\n"
	    "                      comes first; with neither, --seconds 10\n"
	    "  --warmup-claims N   op get: the references of up to N claims per organisation,\n"
	    "                      from ListClaims, created first if fewer exist (default 20)\n"
	    "  --timeout-ms MS     the longest wait for any answer (default 30000)\n"
	    "  --allow-errors      exit 0 even when some requests failed\n"
	    "\n"
	    "Exit status: 0 when every request was answered OK (or --allow-errors); 1 for\n"
	    "error answers, a failed connection or login; 2 for bad options.\n",
	    TULAY_DEFAULT_SERVER, MAX_CLIENTS);
}

static bool parse_uint64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_unsigned(const char *text, unsigned min, unsigned max, unsigned *out)
{
	uint64_t v;
	if (!parse_uint64(text, min, max, &v))
		return false;
	*out = (unsigned)v;
	return true;
}

static struct bench_user *add_user(struct options *o, size_t *cap)
{
	if (o->n_users == *cap) {
		*cap = *cap > 0 ? *cap * 2 : 16;
		struct bench_user *users = realloc(o->users, *cap * sizeof(*users));
		if (users == NULL) {
			say("out of memory");
			exit(EXIT_FAILED);
		}
		o->users = users;
	}
	struct bench_user *u = &o->users[o->n_users++];
	*u = (struct bench_user){0};
	return u;
}

/* --user [ORG:]NAME; the password is filled in later. */
static bool parse_user_option(struct options *o, size_t *cap, const char *text)
{
	const char *colon = strchr(text, ':');
	const char *name = colon != NULL ? colon + 1 : text;
	if (*name == '\0' || (colon != NULL && colon == text)) {
		say("--user %s: give USERNAME or ORG:USERNAME", text);
		return false;
	}
	struct bench_user *u = add_user(o, cap);
	u->organisation = colon != NULL ? strndup(text, (size_t)(colon - text)) : xstrdup("");
	u->username = xstrdup(name);
	if (u->organisation == NULL) {
		say("out of memory");
		exit(EXIT_FAILED);
	}
	return true;
}

/* --users FILE: 'ORG USERNAME PASSWORD' lines. */
static bool read_users_file(struct options *o, size_t *cap, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		say("--users %s: %s", path, strerror(errno));
		return false;
	}
	char line[LINE_CAP];
	unsigned lineno = 0;
	bool ok = true;
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		char *p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		char *org = p;
		p += strcspn(p, " \t");
		char *name = p + strspn(p, " \t");
		*p = '\0';
		p = name + strcspn(name, " \t");
		char *password = p + strspn(p, " \t");
		*p = '\0';
		size_t len = strlen(password);
		while (len > 0 && (password[len - 1] == ' ' || password[len - 1] == '\t'))
			password[--len] = '\0';
		if (*name == '\0' || *password == '\0') {
			say("%s:%u: expected 'ORG USERNAME PASSWORD'", path, lineno);
			ok = false;
			break;
		}
		struct bench_user *u = add_user(o, cap);
		u->organisation = xstrdup(org);
		u->username = xstrdup(name);
		u->password = xstrdup(password);
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	if (ok && o->n_users == 0) {
		say("%s: no users in it", path);
		ok = false;
	}
	return ok;
}

int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_SERVER = 256,
		OPT_CA,
		OPT_USER,
		OPT_USERS,
		OPT_ORGS,
		OPT_OP,
		OPT_CLIENTS,
		OPT_DEPTH,
		OPT_SECONDS,
		OPT_REQUESTS,
		OPT_WARMUP,
		OPT_TIMEOUT,
		OPT_ALLOW_ERRORS,
		OPT_HELP,
	};
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, OPT_SERVER},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"user", required_argument, NULL, OPT_USER},
	    {"users", required_argument, NULL, OPT_USERS},
	    {"orgs", required_argument, NULL, OPT_ORGS},
	    {"op", required_argument, NULL, OPT_OP},
	    {"clients", required_argument, NULL, OPT_CLIENTS},
	    {"depth", required_argument, NULL, OPT_DEPTH},
	    {"seconds", required_argument, NULL, OPT_SECONDS},
	    {"requests", required_argument, NULL, OPT_REQUESTS},
	    {"warmup-claims", required_argument, NULL, OPT_WARMUP},
	    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
	    {"allow-errors", no_argument, NULL, OPT_ALLOW_ERRORS},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	*o = (struct options){.server = TULAY_DEFAULT_SERVER,
			      .clients = 1,
			      .depth = 1,
			      .op = OP_CREATE,
			      .warmup_claims = 20,
			      .timeout_ms = 30000};
	size_t cap = 0;
	bool users_file = false, users_option = false;
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SERVER:
			o->server = optarg;
			break;
		case OPT_CA:
			o->ca_file = optarg;
			break;
		case OPT_USER:
			if (!parse_user_option(o, &cap, optarg))
				return EXIT_USAGE_ERR;
			users_option = true;
			break;
		case OPT_USERS:
			if (users_file) {
				say("--users: give one file");
				return EXIT_USAGE_ERR;
			}
			if (!read_users_file(o, &cap, optarg))
				return EXIT_USAGE_ERR;
			users_file = true;
			break;
		case OPT_ORGS:
			if (!parse_unsigned(optarg, 1, MAX_CLIENTS, &o->orgs)) {
				say("--orgs: give a number from 1 to %u", MAX_CLIENTS);
				return EXIT_USAGE_ERR;
			}
			break;
		case OPT_OP: {
			size_t i = 0;
			while (i < N_ELEMS(op_names) && strcmp(optarg, op_names[i]) != 0)
				i++;
			if (i == N_ELEMS(op_names)) {
				say("--op: create, get or list, not '%s'", optarg);
				return EXIT_USAGE_ERR;
			}
			o->op = (enum bench_op)i;
			break;
		}
		case OPT_CLIENTS:
			if (!parse_unsigned(optarg, 1, MAX_CLIENTS, &o->clients)) {
				say("--clients: give a number from 1 to %u", MAX_CLIENTS);
				return EXIT_USAGE_ERR;
			}
			break;
		case OPT_DEPTH:
			if (!parse_unsigned(optarg, 1, MAX_DEPTH, &o->depth)) {
				say("--depth: give a number from 1 to %u", MAX_DEPTH);
				return EXIT_USAGE_ERR;
			}
			break;
		case OPT_SECONDS: {
			char *end;
			errno = 0;
			o->seconds = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(o->seconds > 0) ||
			    o->seconds > 86400) {
				say("--seconds: give seconds, more than 0 and at most 86400");
				return EXIT_USAGE_ERR;
			}
			break;
		}
		case OPT_REQUESTS:
			if (!parse_uint64(optarg, 1, UINT64_C(1000000000000), &o->requests)) {
				say("--requests: give a number from 1 to 10^12");
				return EXIT_USAGE_ERR;
			}
			break;
		case OPT_WARMUP:
			if (!parse_unsigned(optarg, 1, LIST_PAGE_MAX, &o->warmup_claims)) {
				say("--warmup-claims: give a number from 1 to %u", LIST_PAGE_MAX);
				return EXIT_USAGE_ERR;
			}
			break;
		case OPT_TIMEOUT:
			if (!parse_unsigned(optarg, 1, 3600000, &o->timeout_ms)) {
				say("--timeout-ms: give milliseconds from 1 to 3600000");
				return EXIT_USAGE_ERR;
			}
			break;
		case OPT_ALLOW_ERRORS:
			o->allow_errors = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(EXIT_OK);
		default:
			usage(stderr);
			return EXIT_USAGE_ERR;
		}
	}
	if (optind < argc) {
		say("unexpected argument '%s' (see --help)", argv[optind]);
		return EXIT_USAGE_ERR;
	}
	if (users_file && users_option) {
		say("give --users FILE or --user options, not both");
		return EXIT_USAGE_ERR;
	}
	if (o->n_users == 0) {
		say("who to act as: give --user [ORG:]USERNAME or --users FILE (see --help)");
		return EXIT_USAGE_ERR;
	}
	if (o->orgs == 0)
		o->orgs = (unsigned)(o->n_users < MAX_CLIENTS ? o->n_users : MAX_CLIENTS);
	if (o->orgs > o->n_users) {
		say("--orgs %u: only %zu users were given", o->orgs, o->n_users);
		return EXIT_USAGE_ERR;
	}
	if (o->seconds == 0 && o->requests == 0)
		o->seconds = 10;
	if (users_option) {
		char password[PASSWORD_CAP];
		if (!bench_read_password("claim_bench", password, sizeof(password)))
			return EXIT_USAGE_ERR;
		for (size_t i = 0; i < o->n_users; i++)
			o->users[i].password = xstrdup(password);
		explicit_bzero(password, sizeof(password));
	}
	return EXIT_OK;
}
