/* tulay-demo: loads the synthetic demo data set of demo_data.h into a running tulayd,
 * through the protocol like any client: as the admin (organisations, memberships, offices,
 * users), then as each organisation's field officer (cases, their lifecycle, referrals).
 *
 * Requests are pipelined: every session keeps up to the server's max_requests_in_flight
 * requests outstanding, and all sessions work at once. Every write carries an idempotency
 * key derived from the item it creates, so a second run (or a run after a crash) replays
 * instead of duplicating. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "codes.h"
#include "demo_data.h"
#include "libtulay.h"

#ifndef TULAY_VERSION
#define TULAY_VERSION "unknown"
#endif
#define CLIENT_NAME        "tulay-demo/" TULAY_VERSION
#define DEFAULT_SCALE      400
#define MAX_SCALE          100000
#define MAX_SHOWN_FAILURES 25
#define PASSWORD_CAP       1024
#define DEFAULT_RETRIES    (TULAY_DEFAULT_MAX_ATTEMPTS - 1)
#define MAX_RETRIES        20
/* Requests in flight over all sessions at the start; congestion control moves it between
 * WINDOW_MIN and the sum of the sessions' windows. */
#define WINDOW_START 32.0
#define WINDOW_MIN   2.0
#define WINDOW_MAX   512.0

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

enum exit_code {
	EXIT_LOADED = 0,    /* everything the server supports was loaded */
	EXIT_FAILED = 1,    /* unexpected answers, or the connection failed */
	EXIT_USAGE_ERR = 2, /* bad options or password file */
};

/* The requests tulay-demo sends, in the order of the summary. */
enum rpc {
	RPC_LOGIN,
	RPC_CREATE_ORGANISATION,
	RPC_ADD_MEMBERSHIP,
	RPC_END_MEMBERSHIP,
	RPC_ADD_OFFICE,
	RPC_CREATE_USER,
	RPC_SET_EXCHANGE_RATE,
	RPC_CREATE_CLAIM,
	RPC_CHANGE_CLAIM_STATUS,
	RPC_UPDATE_CLAIM_AMOUNTS,
	RPC_ADD_CASE_NOTE,
	RPC_CREATE_DEPORTATION,
	RPC_RECORD_DEPORTATION_STAGE,
	RPC_ADD_INTERVENTION,
	RPC_CREATE_RECOMMENDATION,
	RPC_CHANGE_RECOMMENDATION_STATUS,
	RPC_PROPOSE_REFERRAL,
	RPC_DECIDE_REFERRAL,
	RPC_LOGOUT,
	N_RPCS
};

static const char *const rpc_names[N_RPCS] = {
    [RPC_LOGIN] = "Login",
    [RPC_CREATE_ORGANISATION] = "CreateOrganisation",
    [RPC_ADD_MEMBERSHIP] = "AddMembership",
    [RPC_END_MEMBERSHIP] = "EndMembership",
    [RPC_ADD_OFFICE] = "AddOffice",
    [RPC_CREATE_USER] = "CreateUser",
    [RPC_SET_EXCHANGE_RATE] = "SetExchangeRate",
    [RPC_CREATE_CLAIM] = "CreateClaim",
    [RPC_CHANGE_CLAIM_STATUS] = "ChangeClaimStatus",
    [RPC_UPDATE_CLAIM_AMOUNTS] = "UpdateClaimAmounts",
    [RPC_ADD_CASE_NOTE] = "AddCaseNote",
    [RPC_CREATE_DEPORTATION] = "CreateDeportation",
    [RPC_RECORD_DEPORTATION_STAGE] = "RecordDeportationStage",
    [RPC_ADD_INTERVENTION] = "AddIntervention",
    [RPC_CREATE_RECOMMENDATION] = "CreateRecommendation",
    [RPC_CHANGE_RECOMMENDATION_STATUS] = "ChangeRecommendationStatus",
    [RPC_PROPOSE_REFERRAL] = "ProposeReferral",
    [RPC_DECIDE_REFERRAL] = "DecideReferral",
    [RPC_LOGOUT] = "Logout",
};

/* What became of the requests of one type. `existing`: refused because the thing is
 * there already (an organisation, membership, office or user made by someone else or by
 * an earlier run with other keys). `skipped`: not sent, because what it builds on is
 * missing (a case the server could not create, a session that could not log in).
 * `retried`: sent again after the server said it was busy or its database unavailable
 * (each resend counts; `sent` counts every request once). */
struct tally {
	unsigned sent, ok, existing, skipped, failed, retried;
};

enum case_kind { CASE_CLAIM, CASE_DEPORTATION, CASE_RECOMMENDATION, N_CASE_KINDS };
static const char *const case_kind_names[N_CASE_KINDS] = {"claim", "deportation", "recommendation"};

struct case_state {
	char reference[32];  /* empty until the server created the case */
	bool broken;         /* a step failed: the later ones would be refused too */
	int64_t referral_id; /* 0: no referral proposed */
};

struct job;

struct pending {
	uint64_t id;
	struct job *job;
};

/* One connection, logged in as one user. */
struct session {
	char username[72];
	bool admin;
	struct tulay_client *client;
	bool ready; /* logged in */
	size_t window;
	struct pending *pending;
	size_t in_flight;
	struct job **queue;
	size_t queued, next, cap;
};

struct job {
	struct session *session;
	enum rpc rpc;
	enum case_kind kind;
	size_t item;       /* organisation, membership, office, user, or case number */
	size_t step;       /* the step of the case, for lifecycle requests */
	unsigned attempts; /* times sent so far */
	double sent_at;    /* when the last attempt was sent (now_s) */
	double not_before; /* a resend waits until then */
};

struct options {
	const char *server;
	const char *ca_file;
	const char *admin;
	const char *users_password_file;
	size_t scale;
	uint64_t seed;
	unsigned wait_s;
	unsigned timeout_s;
	unsigned retries;
	bool print_plan;
};

struct loader {
	struct options opt;
	char admin_password[PASSWORD_CAP];
	char users_password[PASSWORD_CAP];
	struct session admin;
	struct session *orgs; /* demo_n_orgs field officers' sessions */
	struct demo_claim *claims;
	struct demo_deportation *deportations;
	struct demo_recommendation *recommendations;
	struct case_state *state[N_CASE_KINDS];
	/* Per membership, from AddMembership's answer: its version (0: not known) and
	 * whether it has ended already. */
	int64_t *membership_version;
	bool *membership_ended;
	struct tally tally[N_RPCS];
	unsigned failures_shown;
	/* Congestion control over all sessions: at most `window` requests in flight in all.
	 * A busy answer to a request sent after the last cut halves it; every other answer
	 * widens it by 1/window, so by one a window's worth of answers (AIMD, as TCP does). */
	double window;
	double window_max;
	double last_cut;
	size_t in_flight;
	uint64_t jitter; /* xorshift64 state for the pauses before resends */
};

/* Everything one request is built from: it lives until tulay_send has packed it. */
struct scratch {
	uint8_t key[DEMO_KEY_BYTES];
	char label[160];
	char text[64];
	Tulay__V1__Money money[6];
	Tulay__V1__Worker worker;
	Tulay__V1__ApproxDate dates[2];
	Tulay__V1__Person person;
	Tulay__V1__Consent consent;
	Tulay__V1__ExploitationMeans means[DEMO_MAX_MEANS];
	Tulay__V1__DeportationGround grounds[DEMO_MAX_GROUNDS];
	char *co_signers[DEMO_MAX_COSIGNERS];
	char *evidence[DEMO_MAX_EVIDENCE];
	union {
		Tulay__V1__Login login;
		Tulay__V1__Logout logout;
		Tulay__V1__CreateOrganisation create_organisation;
		Tulay__V1__AddMembership add_membership;
		Tulay__V1__EndMembership end_membership;
		Tulay__V1__AddOffice add_office;
		Tulay__V1__CreateUser create_user;
		Tulay__V1__SetExchangeRate set_exchange_rate;
		Tulay__V1__CreateClaim create_claim;
		Tulay__V1__ChangeClaimStatus change_claim_status;
		Tulay__V1__UpdateClaimAmounts update_claim_amounts;
		Tulay__V1__AddCaseNote add_case_note;
		Tulay__V1__CreateDeportation create_deportation;
		Tulay__V1__RecordDeportationStage record_deportation_stage;
		Tulay__V1__AddIntervention add_intervention;
		Tulay__V1__CreateRecommendation create_recommendation;
		Tulay__V1__ChangeRecommendationStatus change_recommendation_status;
		Tulay__V1__ProposeReferral propose_referral;
		Tulay__V1__DecideReferral decide_referral;
	} body;
};

/* ---------------------------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: tulay-demo [OPTIONS] --users-password-file FILE\n"
	    "       tulay-demo --print-plan [--scale N] [--seed N]\n"
	    "\n"
	    "Loads a synthetic demo data set into a running tulayd through the tulay.v1\n"
	    "protocol, as the admin and then as each demo organisation's field officer.\n"
	    "SYNTHETIC DATA ONLY: the regional networks are the real ones (Migrant Forum in\n"
	    "Asia, the Task Force on ASEAN Migrant Workers, the Mekong Migration Network, CARAM\n"
	    "Asia, WARBE); every national organisation, employer (\"Syarikat Bina Contoh Sdn\n"
	    "Bhd\", \"Tua Yang Siam Seafood Co., Ltd.\"), agency, case and amount is invented.\n"
	    "No real person appears: workers are at most pseudonyms such as \"Worker 0042\"\n"
	    "(sealed by the server like any worker's identity); notes name no one.\n"
	    "\n"
	    "What it creates:\n"
	    "  - %zu organisations: 6 networks (MFA, TF-AMW, MMN, CARAM-ASIA, WARBE and a\n"
	    "    national coalition, MY-MRC) and NGOs, trade unions, a migrant association, a\n"
	    "    research institute and a parliamentarians' caucus in MY, TH, SG, PH, KH, BD,\n"
	    "    ID, MM and NP;\n"
	    "  - %zu memberships: members, TF-AMW country focal points, partners and\n"
	    "    secretariats, with start dates (one ended); networks are members of networks\n"
	    "    (WARBE, MY-MRC, CARAM-ASIA and MMN of MFA), so MFA has members at depth 2;\n"
	    "  - %zu field offices in cities of origin and destination (Kuala Lumpur, Klang,\n"
	    "    Johor Bahru, George Town, Mae Sot, Bangkok, Chiang Mai, Samut Sakhon,\n"
	    "    Singapore, Manila, Cebu City, Phnom Penh, Battambang, Dhaka, Cumilla, Jakarta,\n"
	    "    Yangon, Kathmandu, Hong Kong);\n"
	    "  - 2 users per organisation: ACRONYM.officer (field officer) and ACRONYM.coord\n"
	    "    (coordinator), acronym in lower case, e.g. kl-mwa.officer, mfa.coord;\n"
	    "  - exchange rates of MYR, THB and SGD in USD from 2020, for reports in one\n"
	    "    currency (tulay report claims --currency USD);\n"
	    "  - --scale wage-theft claims, deportations and policy recommendations each, spread\n"
	    "    over corridors (BD, NP, ID, MM, PH, KH, LA -> MY, TH, SG), sectors, employers,\n"
	    "    offices and statuses, back-dated to 2017-2026 (their opened_on is the day of\n"
	    "    loading); a share moved along their lifecycle (status changes with reasons,\n"
	    "    amounts awarded and recovered, notes, detention, release and deportation\n"
	    "    stages, interventions, follow-ups of recommendations);\n"
	    "  - referrals with the worker's consent from destination-country organisations to\n"
	    "    origin-country partners (e.g. KL-MWA -> BD-MLA), most accepted, some declined.\n"
	    "\n"
	    "Idempotent: every write carries an idempotency key derived from what it creates\n"
	    "(the first 16 bytes of SHA-256 of e.g. \"tulay-demo/2/1/claim/42/create\": plan\n"
	    "version, seed, kind, number, request), and every request is the same for a seed\n"
	    "whatever is loaded already, so running it again adds nothing, and a run\n"
	    "interrupted half-way is completed by the next one. A recommendation waits for\n"
	    "every claim it cites as evidence. Answers that the server is busy or its database\n"
	    "unavailable are retried (--retries) with the same keys.\n"
	    "Case n is the same at every --scale, so a larger scale only adds cases. The\n"
	    "organisations, memberships, offices, users and rates do not depend on --seed;\n"
	    "one that exists already (the same acronym, username or office name) is used as\n"
	    "it is.\n"
	    "\n"
	    "Passwords: the admin's password is read from TULAY_DEMO_PASSWORD, else from the\n"
	    "first line of standard input. All demo users share one password, kept in the\n"
	    "--users-password-file: when the file does not exist, tulay-demo makes a random\n"
	    "password and writes it there with mode 0600; otherwise it uses the one in it\n"
	    "(the file must not be readable by others). Log in as a demo user with\n"
	    "  tulay login --username kl-mwa.officer --password-stdin < FILE\n"
	    "\n"
	    "scripts/run.sh --demo runs it against the tulayd it starts, with the password\n"
	    "file var/demo-password.\n"
	    "\n"
	    "Options:\n"
	    "  --server HOST:PORT    the tulayd server (default: TULAY_SERVER, else %s)\n"
	    "  --ca-file FILE        talk TLS 1.3 and trust the server's certificate only if\n"
	    "                        this CA signed it (default: TULAY_CA_FILE); without it,\n"
	    "                        plaintext, to a server on this computer only\n"
	    "  --admin USERNAME      the admin to log in as (default: admin)\n"
	    "  --users-password-file FILE\n"
	    "                        the demo users' shared password (made if missing)\n"
	    "  --scale N             cases of each kind (default: %d; at most %d)\n"
	    "  --seed N              which synthetic cases (default: 1)\n"
	    "  --wait SECONDS        keep trying to connect this long while the server is\n"
	    "                        starting (default: 0)\n"
	    "  --timeout SECONDS     the longest wait for any answer (default: 60)\n"
	    "  --retries N           send a request the server refused as busy or unavailable\n"
	    "                        again up to N times, 0-%d, after a random pause of up to\n"
	    "                        0.1 s, 0.2 s, 0.4 s ... (at most 2 s), with the same\n"
	    "                        idempotency key (default: %d); a busy server also makes\n"
	    "                        tulay-demo keep fewer requests in flight\n"
	    "  --print-plan          print the organisations, memberships, offices, users and\n"
	    "                        case counts it would load, tab-separated, and exit\n"
	    "  --help, --version\n"
	    "\n"
	    "Output: a table with, per request type, how many were sent, answered OK, found\n"
	    "existing, skipped (what they build on is missing) and failed, each failure\n"
	    "named on standard error.\n"
	    "\n"
	    "Exit status: 0 when every answer was OK or existing; 1 when an answer was an\n"
	    "error (UNIMPLEMENTED too: the server is older than tulay-demo) or the connection\n"
	    "failed (run it again: it only adds what is missing); 2 for bad options or an\n"
	    "unusable password file.\n",
	    demo_n_orgs, demo_n_memberships, demo_n_offices, TULAY_DEFAULT_SERVER, DEFAULT_SCALE,
	    MAX_SCALE, MAX_RETRIES, DEFAULT_RETRIES);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("tulay-demo: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool parse_number(const char *text, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_SERVER = 256,
		OPT_CA,
		OPT_ADMIN,
		OPT_USERS,
		OPT_SCALE,
		OPT_SEED,
		OPT_WAIT,
		OPT_TIMEOUT,
		OPT_RETRIES,
		OPT_PLAN,
		OPT_HELP,
		OPT_VERSION
	};
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, OPT_SERVER},
	    {"ca-file", required_argument, NULL, OPT_CA},
	    {"admin", required_argument, NULL, OPT_ADMIN},
	    {"users-password-file", required_argument, NULL, OPT_USERS},
	    {"scale", required_argument, NULL, OPT_SCALE},
	    {"seed", required_argument, NULL, OPT_SEED},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"retries", required_argument, NULL, OPT_RETRIES},
	    {"print-plan", no_argument, NULL, OPT_PLAN},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	const char *env_server = getenv("TULAY_SERVER");
	const char *env_ca = getenv("TULAY_CA_FILE");
	*o = (struct options){
	    .server = env_server != NULL && *env_server != '\0' ? env_server : TULAY_DEFAULT_SERVER,
	    .ca_file = env_ca != NULL && *env_ca != '\0' ? env_ca : NULL,
	    .admin = "admin",
	    .scale = DEFAULT_SCALE,
	    .seed = 1,
	    .timeout_s = 60,
	    .retries = DEFAULT_RETRIES,
	};
	int c;
	uint64_t v;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SERVER:
			o->server = optarg;
			break;
		case OPT_CA:
			o->ca_file = optarg;
			break;
		case OPT_ADMIN:
			o->admin = optarg;
			break;
		case OPT_USERS:
			o->users_password_file = optarg;
			break;
		case OPT_SCALE:
			if (!parse_number(optarg, MAX_SCALE, &v)) {
				say("--scale: give a number of cases from 0 to %d", MAX_SCALE);
				return EXIT_USAGE_ERR;
			}
			o->scale = (size_t)v;
			break;
		case OPT_SEED:
			if (!parse_number(optarg, UINT64_MAX, &o->seed)) {
				say("--seed: give a whole number");
				return EXIT_USAGE_ERR;
			}
			break;
		case OPT_WAIT:
		case OPT_TIMEOUT:
			if (!parse_number(optarg, 3600, &v) || (c == OPT_TIMEOUT && v == 0)) {
				say("%s: give a number of seconds up to 3600",
				    c == OPT_WAIT ? "--wait" : "--timeout");
				return EXIT_USAGE_ERR;
			}
			if (c == OPT_WAIT)
				o->wait_s = (unsigned)v;
			else
				o->timeout_s = (unsigned)v;
			break;
		case OPT_RETRIES:
			if (!parse_number(optarg, MAX_RETRIES, &v)) {
				say("--retries: give a number from 0 to %d", MAX_RETRIES);
				return EXIT_USAGE_ERR;
			}
			o->retries = (unsigned)v;
			break;
		case OPT_PLAN:
			o->print_plan = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(EXIT_LOADED);
		case OPT_VERSION:
			printf("%s\n", CLIENT_NAME);
			exit(EXIT_LOADED);
		default:
			usage(stderr);
			return EXIT_USAGE_ERR;
		}
	}
	if (optind < argc) {
		say("unexpected argument '%s' (see --help)", argv[optind]);
		return EXIT_USAGE_ERR;
	}
	if (!o->print_plan && o->users_password_file == NULL) {
		say("--users-password-file is required: the demo users' shared password is "
		    "kept there (see --help)");
		return EXIT_USAGE_ERR;
	}
	return EXIT_LOADED;
}

/* --- passwords ------------------------------------------------------------------------ */

static void chomp(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

/* The admin's password: TULAY_DEMO_PASSWORD, else the first line of standard input
 * (asked for without echo on a terminal). */
static bool read_admin_password(const char *admin, char *out, size_t cap)
{
	const char *env = getenv("TULAY_DEMO_PASSWORD");
	if (env != NULL && *env != '\0') {
		snprintf(out, cap, "%s", env);
		return true;
	}
	struct termios saved, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (tty) {
		fprintf(stderr, "Password of %s: ", admin);
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	bool got = fgets(out, (int)cap, stdin) != NULL;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	if (!got)
		out[0] = '\0';
	chomp(out);
	if (out[0] == '\0') {
		say("no password for %s: set TULAY_DEMO_PASSWORD or give it on standard input",
		    admin);
		return false;
	}
	return true;
}

/* The demo users' password from `path`, or a new random one written there (mode 0600). */
static bool users_password(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;
		ssize_t got = -1;
		if (fstat(fd, &st) == 0 && (st.st_mode & 077) == 0)
			got = read(fd, out, cap - 1);
		else
			say("%s: others may read it; make it private with chmod 600 %s", path,
			    path);
		close(fd);
		if (got < 0)
			return false;
		out[got] = '\0';
		chomp(out);
		if (strlen(out) < 10) {
			say("%s: the first line must be a password of at least 10 characters",
			    path);
			return false;
		}
		return true;
	}
	if (errno != ENOENT) {
		say("%s: %s", path, strerror(errno));
		return false;
	}
	uint8_t random[TULAY_IDEMPOTENCY_KEY_BYTES];
	if (tulay_new_idempotency_key(random) != 0) {
		say("no randomness for the demo users' password");
		return false;
	}
	int n = snprintf(out, cap, "demo-");
	for (size_t i = 0; i < sizeof(random); i++)
		n += snprintf(out + n, cap - (size_t)n, "%02x", random[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		say("%s: %s", path, strerror(errno));
		return false;
	}
	char line[PASSWORD_CAP + 1];
	int len = snprintf(line, sizeof(line), "%s\n", out);
	bool written = write(fd, line, (size_t)len) == len;
	if (close(fd) != 0 || !written) {
		say("%s: could not write the password", path);
		unlink(path);
		return false;
	}
	say("the demo users' password is in %s (mode 0600)", path);
	return true;
}

/* --- the plan ------------------------------------------------------------------------- */

static void username_of(size_t org, bool officer, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = demo_orgs[org].acronym; *p != '\0' && n + 1 < cap; p++)
		out[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	out[n] = '\0';
	snprintf(out + n, cap - n, "%s", officer ? ".officer" : ".coord");
}

static bool make_plans(struct loader *L)
{
	size_t n = L->opt.scale;
	L->claims = calloc(n + 1, sizeof(*L->claims));
	L->deportations = calloc(n + 1, sizeof(*L->deportations));
	L->recommendations = calloc(n + 1, sizeof(*L->recommendations));
	for (size_t k = 0; k < N_CASE_KINDS; k++)
		L->state[k] = calloc(n + 1, sizeof(*L->state[k]));
	if (L->claims == NULL || L->deportations == NULL || L->recommendations == NULL ||
	    L->state[CASE_CLAIM] == NULL || L->state[CASE_DEPORTATION] == NULL ||
	    L->state[CASE_RECOMMENDATION] == NULL) {
		say("out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		demo_claim_plan(L->opt.seed, i, &L->claims[i]);
		demo_deportation_plan(L->opt.seed, i, &L->deportations[i]);
	}
	for (size_t i = 0; i < n; i++)
		demo_recommendation_plan(L->opt.seed, i, L->claims, n, &L->recommendations[i]);
	return true;
}

/* The protocol's code of an organisation kind or membership role ("trade_union"). */
static const char *code_or_unspecified(const ProtobufCEnumDescriptor *e, int value)
{
	const char *code = proto_code(e, value);
	return code != NULL ? code : "unspecified";
}

static void print_plan(const struct loader *L)
{
	for (size_t i = 0; i < demo_n_orgs; i++)
		printf("organisation\t%s\t%s\t%s\t%s\n", demo_orgs[i].acronym,
		       code_or_unspecified(&tulay__v1__organisation_kind__descriptor,
					   demo_orgs[i].kind),
		       demo_orgs[i].country, demo_orgs[i].name);
	for (size_t i = 0; i < demo_n_memberships; i++) {
		const struct demo_membership *m = &demo_memberships[i];
		printf("membership\t%s\t%s\t%s\t%s\t%s\n", m->member, m->network,
		       code_or_unspecified(&tulay__v1__membership_role__descriptor, m->role),
		       m->since, m->until != NULL ? m->until : "-");
	}
	for (size_t i = 0; i < demo_n_offices; i++)
		printf("office\t%s\t%s\t%s\t%s\n", demo_offices[i].org, demo_offices[i].name,
		       demo_offices[i].city, demo_offices[i].country);
	for (size_t i = 0; i < demo_n_orgs; i++) {
		char name[72];
		username_of(i, true, name, sizeof(name));
		printf("user\t%s\t%s\tfield_officer\n", name, demo_orgs[i].acronym);
		username_of(i, false, name, sizeof(name));
		printf("user\t%s\t%s\tcoordinator\n", name, demo_orgs[i].acronym);
	}
	for (size_t i = 0; i < demo_n_rates; i++)
		printf("rate\t%s\t%s\t%s\t%s\n", demo_rates[i].currency,
		       demo_rates[i].reporting_currency, demo_rates[i].rate,
		       demo_rates[i].valid_from);
	size_t referrals = 0;
	for (size_t i = 0; i < L->opt.scale; i++) {
		referrals += L->claims[i].referral.to_org != DEMO_NO_ORG;
		referrals += L->deportations[i].referral.to_org != DEMO_NO_ORG;
	}
	printf("cases\twage_theft\t%zu\n", L->opt.scale);
	printf("cases\tdeportation\t%zu\n", L->opt.scale);
	printf("cases\trecommendation\t%zu\n", L->opt.scale);
	printf("referrals\t%zu\n", referrals);
}

/* The steps and referral of case n of `kind`. */
static const struct demo_step *case_steps(const struct loader *L, enum case_kind kind, size_t n,
					  size_t *count)
{
	switch (kind) {
	case CASE_CLAIM:
		*count = L->claims[n].n_steps;
		return L->claims[n].steps;
	case CASE_DEPORTATION:
		*count = L->deportations[n].n_steps;
		return L->deportations[n].steps;
	default:
		*count = L->recommendations[n].n_steps;
		return L->recommendations[n].steps;
	}
}

static size_t case_org(const struct loader *L, enum case_kind kind, size_t n)
{
	switch (kind) {
	case CASE_CLAIM:
		return L->claims[n].org;
	case CASE_DEPORTATION:
		return L->deportations[n].org;
	default:
		return L->recommendations[n].org;
	}
}

static const struct demo_referral *case_referral(const struct loader *L, enum case_kind kind,
						 size_t n)
{
	if (kind == CASE_CLAIM)
		return &L->claims[n].referral;
	if (kind == CASE_DEPORTATION)
		return &L->deportations[n].referral;
	return NULL;
}

/* --- building requests ---------------------------------------------------------------- */

static ProtobufCBinaryData key_of(struct scratch *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static ProtobufCBinaryData key_of(struct scratch *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->label, sizeof(s->label), fmt, ap);
	va_end(ap);
	demo_key(s->label, s->key);
	return (ProtobufCBinaryData){.len = DEMO_KEY_BYTES, .data = s->key};
}

/* The key of one write about case n of `kind`: a function of the plan's version, the seed,
 * the kind, n and the write (what: "create", "step/3", "referral", "referral/decision")
 * only, so that every run of a plan sends the same keys whatever it finds loaded. */
static ProtobufCBinaryData case_key(struct scratch *s, const struct loader *L, enum case_kind kind,
				    size_t n, const char *what)
{
	return key_of(s, "tulay-demo/%d/%" PRIu64 "/%s/%zu/%s", DEMO_PLAN_VERSION, L->opt.seed,
		      case_kind_names[kind], n, what);
}

static Tulay__V1__Money *money(struct scratch *s, size_t slot, int64_t minor, const char *currency)
{
	Tulay__V1__Money *m = &s->money[slot];
	tulay__v1__money__init(m);
	m->minor_units = minor;
	m->currency = (char *)currency;
	return m;
}

static char *or_empty(const char *s)
{
	return (char *)(s != NULL ? s : "");
}

static void build_create_claim(const struct loader *L, size_t n, struct scratch *s,
			       Tulay__V1__Request *req)
{
	const struct demo_claim *c = &L->claims[n];
	Tulay__V1__CreateClaim *m = &s->body.create_claim;
	tulay__v1__create_claim__init(m);
	m->idempotency_key = case_key(s, L, CASE_CLAIM, n, "create");
	m->office = or_empty(c->office);
	m->worker_nationality = (char *)c->nationality;
	m->country_of_work = (char *)c->country_of_work;
	m->sector = c->sector;
	m->employer = (char *)c->employer;
	m->work_started_on = (char *)c->work_started_on;
	m->work_ended_on = (char *)c->work_ended_on;
	m->amount_claimed = money(s, 0, c->amount_claimed, c->currency);
	m->workers = c->workers;
	if (c->worker_name[0] != '\0') {
		tulay__v1__worker__init(&s->worker);
		s->worker.name = (char *)c->worker_name;
		s->worker.id_number = (char *)c->worker_id_number;
		m->worker = &s->worker;
	}
	if (c->agency[0] != '\0') {
		m->recruitment_agency = (char *)c->agency;
		m->recruitment_fee = money(s, 1, c->recruitment_fee, c->fee_currency);
	}
	if (c->contract_wage >= 0) {
		m->contract_wage = money(s, 2, c->contract_wage, c->currency);
		m->actual_wage = money(s, 3, c->actual_wage, c->currency);
	}
	m->forum = c->forum;
	m->filing_deadline = (char *)c->filing_deadline;
	for (size_t i = 0; i < c->n_means; i++)
		s->means[i] = c->means[i];
	m->n_exploitation_means = c->n_means;
	m->exploitation_means = s->means;
	req->body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	req->create_claim = m;
}

static Tulay__V1__ApproxDate *approx_date(struct scratch *s, size_t slot, const char *date,
					  bool circa)
{
	Tulay__V1__ApproxDate *d = &s->dates[slot];
	tulay__v1__approx_date__init(d);
	d->date = (char *)date;
	d->circa = circa;
	return d;
}

static void build_create_deportation(const struct loader *L, size_t n, struct scratch *s,
				     Tulay__V1__Request *req)
{
	const struct demo_deportation *d = &L->deportations[n];
	Tulay__V1__CreateDeportation *m = &s->body.create_deportation;
	tulay__v1__create_deportation__init(m);
	m->idempotency_key = case_key(s, L, CASE_DEPORTATION, n, "create");
	m->office = or_empty(d->office);
	m->nationality = (char *)d->nationality;
	m->deported_from = (char *)d->deported_from;
	m->sector = d->sector;
	for (size_t i = 0; i < d->n_grounds; i++)
		s->grounds[i] = d->grounds[i];
	m->n_grounds = d->n_grounds;
	m->grounds = s->grounds;
	m->arrested_on = approx_date(s, 0, d->arrested_on, d->arrested_circa);
	m->arrest_place = (char *)d->arrest_place;
	if (d->detained_on[0] != '\0') {
		m->detained_on = approx_date(s, 1, d->detained_on, false);
		m->detention_place = or_empty(d->detention_place);
		m->detention_type = d->detention_type;
	}
	m->legal_counsel = d->legal_counsel;
	m->consular_notified = d->consular_notified;
	m->family_separated = d->family_separated;
	if (d->person_name[0] != '\0') {
		tulay__v1__person__init(&s->person);
		s->person.name = (char *)d->person_name;
		m->person = &s->person;
	}
	req->body_case = TULAY__V1__REQUEST__BODY_CREATE_DEPORTATION;
	req->create_deportation = m;
}

static void build_create_recommendation(const struct loader *L, size_t n, struct scratch *s,
					Tulay__V1__Request *req)
{
	const struct demo_recommendation *r = &L->recommendations[n];
	Tulay__V1__CreateRecommendation *m = &s->body.create_recommendation;
	tulay__v1__create_recommendation__init(m);
	m->idempotency_key = case_key(s, L, CASE_RECOMMENDATION, n, "create");
	m->office = or_empty(r->office);
	m->status = r->status;
	m->title = (char *)r->title;
	m->text = (char *)r->text;
	m->source_document = (char *)r->source_document;
	m->source_date = (char *)r->source_date;
	m->addressed_to = r->addressed_to;
	m->target_body = or_empty(r->target_body);
	m->country = or_empty(r->country);
	m->theme = r->theme;
	for (size_t i = 0; i < r->n_co_signers; i++)
		s->co_signers[i] = (char *)demo_orgs[r->co_signers[i]].acronym;
	m->n_co_signers = r->n_co_signers;
	m->co_signers = s->co_signers;
	/* Every claim it cites was created (evidence_ready): the request is the same in
	 * every run, whatever an earlier one left out. */
	for (size_t i = 0; i < r->n_evidence; i++)
		s->evidence[m->n_evidence++] = L->state[CASE_CLAIM][r->evidence[i]].reference;
	m->evidence = s->evidence;
	req->body_case = TULAY__V1__REQUEST__BODY_CREATE_RECOMMENDATION;
	req->create_recommendation = m;
}

static void build_step(const struct loader *L, const struct job *j, struct scratch *s,
		       Tulay__V1__Request *req)
{
	size_t count;
	const struct demo_step *st = &case_steps(L, j->kind, j->item, &count)[j->step];
	char *reference = (char *)L->state[j->kind][j->item].reference;
	char what[24];
	snprintf(what, sizeof(what), "step/%zu", j->step);
	ProtobufCBinaryData key = case_key(s, L, j->kind, j->item, what);
	const char *currency = j->kind == CASE_CLAIM ? L->claims[j->item].currency : "";
	switch (st->kind) {
	case DEMO_STEP_CLAIM_STATUS: {
		Tulay__V1__ChangeClaimStatus *m = &s->body.change_claim_status;
		tulay__v1__change_claim_status__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->status = (Tulay__V1__ClaimStatus)st->to;
		m->expected_version = st->expected_version;
		m->reason = or_empty(st->text);
		m->occurred_on = (char *)st->on;
		req->body_case = TULAY__V1__REQUEST__BODY_CHANGE_CLAIM_STATUS;
		req->change_claim_status = m;
		break;
	}
	case DEMO_STEP_CLAIM_AMOUNTS: {
		Tulay__V1__UpdateClaimAmounts *m = &s->body.update_claim_amounts;
		tulay__v1__update_claim_amounts__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->expected_version = st->expected_version;
		if (st->awarded >= 0)
			m->amount_awarded = money(s, 4, st->awarded, currency);
		if (st->recovered >= 0)
			m->amount_recovered = money(s, 5, st->recovered, currency);
		req->body_case = TULAY__V1__REQUEST__BODY_UPDATE_CLAIM_AMOUNTS;
		req->update_claim_amounts = m;
		break;
	}
	case DEMO_STEP_NOTE: {
		Tulay__V1__AddCaseNote *m = &s->body.add_case_note;
		tulay__v1__add_case_note__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->occurred_on = (char *)st->on;
		m->text = or_empty(st->text);
		req->body_case = TULAY__V1__REQUEST__BODY_ADD_CASE_NOTE;
		req->add_case_note = m;
		break;
	}
	case DEMO_STEP_DEPORTATION_STAGE: {
		Tulay__V1__RecordDeportationStage *m = &s->body.record_deportation_stage;
		tulay__v1__record_deportation_stage__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->expected_version = st->expected_version;
		m->stage = (Tulay__V1__DeportationStage)st->to;
		m->on = approx_date(s, 0, st->on, st->circa);
		m->detention_place = or_empty(st->place);
		m->detention_type = (Tulay__V1__DetentionType)st->detention_type;
		m->deported_to = or_empty(st->deported_to);
		req->body_case = TULAY__V1__REQUEST__BODY_RECORD_DEPORTATION_STAGE;
		req->record_deportation_stage = m;
		break;
	}
	case DEMO_STEP_INTERVENTION: {
		Tulay__V1__AddIntervention *m = &s->body.add_intervention;
		tulay__v1__add_intervention__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->kind = (Tulay__V1__InterventionKind)st->to;
		m->occurred_on = (char *)st->on;
		m->text = or_empty(st->text);
		req->body_case = TULAY__V1__REQUEST__BODY_ADD_INTERVENTION;
		req->add_intervention = m;
		break;
	}
	case DEMO_STEP_RECOMMENDATION_STATUS: {
		Tulay__V1__ChangeRecommendationStatus *m = &s->body.change_recommendation_status;
		tulay__v1__change_recommendation_status__init(m);
		m->idempotency_key = key;
		m->reference = reference;
		m->status = (Tulay__V1__RecommendationStatus)st->to;
		m->expected_version = st->expected_version;
		m->occurred_on = (char *)st->on;
		m->note = or_empty(st->text);
		req->body_case = TULAY__V1__REQUEST__BODY_CHANGE_RECOMMENDATION_STATUS;
		req->change_recommendation_status = m;
		break;
	}
	}
}

static void build(const struct loader *L, const struct job *j, struct scratch *s,
		  Tulay__V1__Request *req)
{
	tulay__v1__request__init(req);
	switch (j->rpc) {
	case RPC_LOGIN: {
		Tulay__V1__Login *m = &s->body.login;
		tulay__v1__login__init(m);
		m->username = (char *)j->session->username;
		m->password = (char *)(j->session->admin ? L->admin_password : L->users_password);
		req->body_case = TULAY__V1__REQUEST__BODY_LOGIN;
		req->login = m;
		break;
	}
	case RPC_LOGOUT:
		tulay__v1__logout__init(&s->body.logout);
		req->body_case = TULAY__V1__REQUEST__BODY_LOGOUT;
		req->logout = &s->body.logout;
		break;
	case RPC_CREATE_ORGANISATION: {
		const struct demo_org *o = &demo_orgs[j->item];
		Tulay__V1__CreateOrganisation *m = &s->body.create_organisation;
		tulay__v1__create_organisation__init(m);
		m->idempotency_key = key_of(s, "tulay-demo/organisation/%s", o->acronym);
		m->acronym = (char *)o->acronym;
		m->name = (char *)o->name;
		m->kind = o->kind;
		m->country = (char *)o->country;
		req->body_case = TULAY__V1__REQUEST__BODY_CREATE_ORGANISATION;
		req->create_organisation = m;
		break;
	}
	case RPC_ADD_MEMBERSHIP: {
		const struct demo_membership *ms = &demo_memberships[j->item];
		Tulay__V1__AddMembership *m = &s->body.add_membership;
		tulay__v1__add_membership__init(m);
		m->idempotency_key =
		    key_of(s, "tulay-demo/membership/%s/%s/%s", ms->member, ms->network, ms->since);
		m->network = (char *)ms->network;
		m->member = (char *)ms->member;
		m->role = ms->role;
		m->since = (char *)ms->since;
		m->shares_aggregates = ms->shares_aggregates;
		req->body_case = TULAY__V1__REQUEST__BODY_ADD_MEMBERSHIP;
		req->add_membership = m;
		break;
	}
	case RPC_END_MEMBERSHIP: {
		const struct demo_membership *ms = &demo_memberships[j->item];
		Tulay__V1__EndMembership *m = &s->body.end_membership;
		tulay__v1__end_membership__init(m);
		m->network = (char *)ms->network;
		m->member = (char *)ms->member;
		m->until = (char *)ms->until;
		m->expected_version = L->membership_version[j->item];
		req->body_case = TULAY__V1__REQUEST__BODY_END_MEMBERSHIP;
		req->end_membership = m;
		break;
	}
	case RPC_ADD_OFFICE: {
		const struct demo_office *o = &demo_offices[j->item];
		Tulay__V1__AddOffice *m = &s->body.add_office;
		tulay__v1__add_office__init(m);
		m->idempotency_key = key_of(s, "tulay-demo/office/%s/%s", o->org, o->name);
		m->organisation = (char *)o->org;
		m->name = (char *)o->name;
		m->city = (char *)o->city;
		m->country = (char *)o->country;
		req->body_case = TULAY__V1__REQUEST__BODY_ADD_OFFICE;
		req->add_office = m;
		break;
	}
	case RPC_CREATE_USER: {
		size_t org = j->item / 2;
		bool officer = j->item % 2 == 0;
		Tulay__V1__CreateUser *m = &s->body.create_user;
		tulay__v1__create_user__init(m);
		username_of(org, officer, s->text, sizeof(s->text));
		m->idempotency_key = key_of(s, "tulay-demo/user/%s", s->text);
		m->organisation = (char *)demo_orgs[org].acronym;
		m->username = s->text;
		m->role = officer ? TULAY__V1__ROLE__ROLE_FIELD_OFFICER
				  : TULAY__V1__ROLE__ROLE_COORDINATOR;
		m->password = (char *)L->users_password;
		req->body_case = TULAY__V1__REQUEST__BODY_CREATE_USER;
		req->create_user = m;
		break;
	}
	case RPC_SET_EXCHANGE_RATE: {
		const struct demo_rate *r = &demo_rates[j->item];
		Tulay__V1__SetExchangeRate *m = &s->body.set_exchange_rate;
		tulay__v1__set_exchange_rate__init(m);
		m->idempotency_key = key_of(s, "tulay-demo/rate/%s/%s/%s", r->currency,
					    r->reporting_currency, r->valid_from);
		m->currency = (char *)r->currency;
		m->reporting_currency = (char *)r->reporting_currency;
		m->rate = (char *)r->rate;
		m->valid_from = (char *)r->valid_from;
		req->body_case = TULAY__V1__REQUEST__BODY_SET_EXCHANGE_RATE;
		req->set_exchange_rate = m;
		break;
	}
	case RPC_CREATE_CLAIM:
		build_create_claim(L, j->item, s, req);
		break;
	case RPC_CREATE_DEPORTATION:
		build_create_deportation(L, j->item, s, req);
		break;
	case RPC_CREATE_RECOMMENDATION:
		build_create_recommendation(L, j->item, s, req);
		break;
	case RPC_PROPOSE_REFERRAL: {
		const struct demo_referral *r = case_referral(L, j->kind, j->item);
		Tulay__V1__ProposeReferral *m = &s->body.propose_referral;
		tulay__v1__propose_referral__init(m);
		m->idempotency_key = case_key(s, L, j->kind, j->item, "referral");
		m->reference = (char *)L->state[j->kind][j->item].reference;
		m->to_organisation = (char *)demo_orgs[r->to_org].acronym;
		tulay__v1__consent__init(&s->consent);
		s->consent.given_on = (char *)r->consent_on;
		s->consent.form = r->consent_form;
		m->consent = &s->consent;
		m->reason = or_empty(r->reason);
		req->body_case = TULAY__V1__REQUEST__BODY_PROPOSE_REFERRAL;
		req->propose_referral = m;
		break;
	}
	case RPC_DECIDE_REFERRAL: {
		const struct demo_referral *r = case_referral(L, j->kind, j->item);
		Tulay__V1__DecideReferral *m = &s->body.decide_referral;
		tulay__v1__decide_referral__init(m);
		m->idempotency_key = case_key(s, L, j->kind, j->item, "referral/decision");
		m->referral_id = L->state[j->kind][j->item].referral_id;
		m->expected_version = 1;
		m->decision = r->decision;
		m->reason = or_empty(r->decision_reason);
		req->body_case = TULAY__V1__REQUEST__BODY_DECIDE_REFERRAL;
		req->decide_referral = m;
		break;
	}
	default:
		build_step(L, j, s, req);
		break;
	}
}

/* --- answers -------------------------------------------------------------------------- */

static void describe_job(const struct loader *L, const struct job *j, char *out, size_t cap)
{
	switch (j->rpc) {
	case RPC_LOGIN:
	case RPC_LOGOUT:
		snprintf(out, cap, "as %s", j->session->username);
		break;
	case RPC_CREATE_ORGANISATION:
		snprintf(out, cap, "%s", demo_orgs[j->item].acronym);
		break;
	case RPC_ADD_MEMBERSHIP:
	case RPC_END_MEMBERSHIP:
		snprintf(out, cap, "%s in %s", demo_memberships[j->item].member,
			 demo_memberships[j->item].network);
		break;
	case RPC_ADD_OFFICE:
		snprintf(out, cap, "%s of %s", demo_offices[j->item].name,
			 demo_offices[j->item].org);
		break;
	case RPC_CREATE_USER:
		username_of(j->item / 2, j->item % 2 == 0, out, cap);
		break;
	case RPC_SET_EXCHANGE_RATE:
		snprintf(out, cap, "%s in %s from %s", demo_rates[j->item].currency,
			 demo_rates[j->item].reporting_currency, demo_rates[j->item].valid_from);
		break;
	default: {
		const char *ref = L->state[j->kind][j->item].reference;
		int n = snprintf(out, cap, "%s %zu of %s", case_kind_names[j->kind], j->item,
				 demo_orgs[case_org(L, j->kind, j->item)].acronym);
		if (ref[0] != '\0' && n > 0 && (size_t)n < cap)
			snprintf(out + n, cap - (size_t)n, " (%s)", ref);
		break;
	}
	}
}

static void report_failure(struct loader *L, const struct job *j, const Tulay__V1__Status *st,
			   const char *problem)
{
	if (L->failures_shown++ >= MAX_SHOWN_FAILURES) {
		if (L->failures_shown == MAX_SHOWN_FAILURES + 1)
			say("(further failures are counted, not shown)");
		return;
	}
	char what[160];
	describe_job(L, j, what, sizeof(what));
	if (st == NULL) {
		say("%s %s: %s", rpc_names[j->rpc], what, problem);
		return;
	}
	say("%s %s: %s: %s", rpc_names[j->rpc], what, tulay_code_name(st->code),
	    st->message != NULL && st->message[0] != '\0' ? st->message : "(no message)");
	for (size_t i = 0; i < st->n_field_errors; i++)
		say("    %s: %s", st->field_errors[i]->field, st->field_errors[i]->problem);
	if (j->rpc == RPC_LOGIN && st->code == TULAY__V1__CODE__UNAUTHENTICATED &&
	    !j->session->admin)
		say("    the demo user exists with another password: give the "
		    "--users-password-file of the run that created it");
}

/* Refusals that mean "it is there already": someone made the organisation, office,
 * user or membership with other keys (or this is a run with a changed plan). */
static bool means_existing(enum rpc rpc, Tulay__V1__Code code)
{
	switch (rpc) {
	case RPC_CREATE_ORGANISATION:
	case RPC_ADD_MEMBERSHIP:
	case RPC_ADD_OFFICE:
	case RPC_CREATE_USER:
		return code == TULAY__V1__CODE__ALREADY_EXISTS;
	case RPC_END_MEMBERSHIP: /* ended by an earlier run */
		return code == TULAY__V1__CODE__NOT_FOUND;
	default:
		return false;
	}
}

/* The reference of the case a creating request's answer carries, or NULL. */
static const char *created_reference(enum rpc rpc, const Tulay__V1__Response *resp)
{
	if (rpc == RPC_CREATE_CLAIM && resp->body_case == TULAY__V1__RESPONSE__BODY_CLAIM)
		return resp->claim->reference;
	if (rpc == RPC_CREATE_DEPORTATION &&
	    resp->body_case == TULAY__V1__RESPONSE__BODY_DEPORTATION)
		return resp->deportation->reference;
	if (rpc == RPC_CREATE_RECOMMENDATION &&
	    resp->body_case == TULAY__V1__RESPONSE__BODY_RECOMMENDATION)
		return resp->recommendation->reference;
	return NULL;
}

/* Requests about one case (job.kind and job.item name it). */
static bool is_case_rpc(enum rpc rpc)
{
	return rpc >= RPC_CREATE_CLAIM && rpc <= RPC_DECIDE_REFERRAL;
}

/* --- busy answers -------------------------------------------------------------------- */

static bool enqueue(struct session *s, struct job *j);

static uint32_t jitter_next(struct loader *L)
{
	L->jitter ^= L->jitter << 13;
	L->jitter ^= L->jitter >> 7;
	L->jitter ^= L->jitter << 17;
	return (uint32_t)(L->jitter >> 32);
}

/* Whether a request the server refused with UNAVAILABLE may be sent again: every write
 * of the demo carries its idempotency key, except Login, Logout and EndMembership. A Login
 * sent twice costs at most a second session; the other two only when the server said
 * nothing was done (outcome known). */
static bool may_resend(const struct job *j, const Tulay__V1__Status *st)
{
	switch (j->rpc) {
	case RPC_LOGIN:
		return true;
	case RPC_LOGOUT:
	case RPC_END_MEMBERSHIP:
		return !st->outcome_unknown;
	default:
		return true;
	}
}

/* The server is busy: fewer requests in flight, at most once per round trip (only an
 * answer to a request sent after the last cut counts, as in TCP's fast recovery). */
static void congestion(struct loader *L, const struct job *j)
{
	if (j->sent_at <= L->last_cut)
		return;
	L->window /= 2;
	if (L->window < WINDOW_MIN)
		L->window = WINDOW_MIN;
	L->last_cut = now_s();
}

/* Puts j back in its session's queue, to be sent again after the backoff pause. Returns
 * false when it may not or must not be: no attempts left, or out of memory. */
static bool resend_later(struct loader *L, struct job *j, const Tulay__V1__Status *st)
{
	if (j->attempts > L->opt.retries || !may_resend(j, st))
		return false;
	j->not_before = now_s() + tulay_backoff_ms(j->attempts, jitter_next(L)) / 1000.0;
	if (!enqueue(j->session, j))
		return false;
	L->tally[j->rpc].retried++;
	return true;
}

static void handle(struct loader *L, struct job *j, const Tulay__V1__Response *resp)
{
	struct tally *t = &L->tally[j->rpc];
	const Tulay__V1__Status *st = resp->status;
	Tulay__V1__Code code = st != NULL ? st->code : TULAY__V1__CODE__UNKNOWN;
	struct case_state *cs = is_case_rpc(j->rpc) ? &L->state[j->kind][j->item] : NULL;
	if (code == TULAY__V1__CODE__UNAVAILABLE) {
		congestion(L, j);
		if (resend_later(L, j, st))
			return;
	} else if (L->window < L->window_max) {
		L->window += 1.0 / L->window;
	}
	if (code != TULAY__V1__CODE__OK) {
		if (means_existing(j->rpc, code)) {
			t->existing++;
		} else {
			t->failed++;
			report_failure(L, j, st, NULL);
		}
		if (cs != NULL)
			cs->broken = true;
		return;
	}
	switch (j->rpc) {
	case RPC_LOGIN:
		if (resp->body_case != TULAY__V1__RESPONSE__BODY_SESSION) {
			t->failed++;
			report_failure(L, j, NULL, "no session in the answer");
			return;
		}
		if (j->session->admin && resp->session->role != TULAY__V1__ROLE__ROLE_ADMIN) {
			t->failed++;
			report_failure(L, j, NULL, "this user is not an admin of tulay");
			return;
		}
		j->session->ready = true;
		break;
	case RPC_LOGOUT:
		j->session->ready = false;
		break;
	case RPC_CREATE_CLAIM:
	case RPC_CREATE_DEPORTATION:
	case RPC_CREATE_RECOMMENDATION: {
		const char *ref = created_reference(j->rpc, resp);
		if (ref == NULL || ref[0] == '\0' || strlen(ref) >= sizeof(cs->reference)) {
			t->failed++;
			report_failure(L, j, NULL, "the answer carries no case reference");
			cs->broken = true;
			return;
		}
		snprintf(cs->reference, sizeof(cs->reference), "%s", ref);
		break;
	}
	case RPC_ADD_MEMBERSHIP:
		if (resp->body_case == TULAY__V1__RESPONSE__BODY_MEMBERSHIP) {
			L->membership_version[j->item] = resp->membership->version;
			L->membership_ended[j->item] =
			    resp->membership->until != NULL && resp->membership->until[0] != '\0';
		}
		break;
	case RPC_PROPOSE_REFERRAL:
		if (resp->body_case != TULAY__V1__RESPONSE__BODY_REFERRAL ||
		    resp->referral->id <= 0) {
			t->failed++;
			report_failure(L, j, NULL, "the answer carries no referral");
			return;
		}
		cs->referral_id = resp->referral->id;
		break;
	default:
		break;
	}
	t->ok++;
}

/* --- the pipeline --------------------------------------------------------------------- */

static bool enqueue(struct session *s, struct job *j)
{
	if (s->queued == s->cap) {
		size_t cap = s->cap == 0 ? 64 : s->cap * 2;
		struct job **q = realloc(s->queue, cap * sizeof(*q));
		if (q == NULL)
			return false;
		s->queue = q;
		s->cap = cap;
	}
	s->queue[s->queued++] = j;
	return true;
}

static struct session *session_at(struct loader *L, size_t i)
{
	return i == 0 ? &L->admin : &L->orgs[i - 1];
}

static int connection_failed(struct session *s, int err, const char *doing)
{
	say("%s as %s: %s (%s)", doing, s->username, tulay_last_error(s->client),
	    tulay_strerror(err));
	say("nothing is lost: run tulay-demo again, it adds only what is missing");
	return -1;
}

/* Sends the due jobs of every session while it and the loader have room in their windows.
 * Returns 0, or -1 when a connection failed (already said). */
static int send_due(struct loader *L, struct scratch *scratch)
{
	double now = now_s();
	for (size_t i = 0; i < demo_n_orgs + 1; i++) {
		struct session *s = session_at(L, i);
		while (s->in_flight < s->window && (double)L->in_flight < L->window &&
		       s->next < s->queued && s->queue[s->next]->not_before <= now) {
			struct job *j = s->queue[s->next++];
			Tulay__V1__Request req;
			build(L, j, scratch, &req);
			uint64_t id;
			int err = tulay_send(s->client, &req, &id);
			if (err != 0)
				return connection_failed(s, err, "sending");
			if (j->attempts++ == 0)
				L->tally[j->rpc].sent++;
			j->sent_at = now;
			s->pending[s->in_flight++] = (struct pending){id, j};
			L->in_flight++;
		}
	}
	return 0;
}

/* Waits for the first resend that is due, when nothing is in flight. Returns false when
 * no job is left either. */
static bool wait_for_resends(struct loader *L)
{
	double first = 0;
	bool any = false;
	for (size_t i = 0; i < demo_n_orgs + 1; i++) {
		const struct session *s = session_at(L, i);
		if (s->next < s->queued && (!any || s->queue[s->next]->not_before < first)) {
			first = s->queue[s->next]->not_before;
			any = true;
		}
	}
	double pause = first - now_s();
	if (any && pause > 0) {
		struct timespec ts = {(time_t)pause, (long)((pause - (double)(time_t)pause) * 1e9)};
		nanosleep(&ts, NULL);
	}
	return any;
}

/* Sends every job, each session keeping up to its window of requests in flight, all
 * sessions at once within the loader's window; handles the answers as they come, putting
 * a busy-refused job back for a resend after its pause. Jobs of a session that is not
 * logged in are skipped. Returns 0, or -1 when a connection failed (already said). */
static int run_jobs(struct loader *L, struct job *jobs, size_t n)
{
	size_t n_sessions = demo_n_orgs + 1;
	for (size_t i = 0; i < n_sessions; i++) {
		struct session *s = session_at(L, i);
		s->queued = s->next = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct session *s = jobs[i].session;
		bool usable = jobs[i].rpc == RPC_LOGIN ? s->client != NULL : s->ready;
		if (!usable) {
			L->tally[jobs[i].rpc].skipped++;
			continue;
		}
		if (!enqueue(s, &jobs[i])) {
			say("out of memory");
			return -1;
		}
	}
	struct scratch *scratch = malloc(sizeof(*scratch));
	if (scratch == NULL) {
		say("out of memory");
		return -1;
	}
	int rc = 0;
	for (;;) {
		if (send_due(L, scratch) != 0) {
			rc = -1;
			goto out;
		}
		if (L->in_flight == 0) {
			if (!wait_for_resends(L))
				break;
			continue;
		}
		for (size_t i = 0; i < n_sessions; i++) {
			struct session *s = session_at(L, i);
			if (s->in_flight == 0)
				continue;
			Tulay__V1__Response *resp = NULL;
			int err = tulay_recv(s->client, &resp);
			if (err != 0) {
				rc = connection_failed(s, err, "waiting for an answer");
				goto out;
			}
			size_t k = 0;
			while (k < s->in_flight && s->pending[k].id != resp->id)
				k++;
			if (k == s->in_flight) {
				say("an answer with id %" PRIu64 " to no request (%s: %s)",
				    resp->id,
				    tulay_code_name(resp->status != NULL
							? resp->status->code
							: TULAY__V1__CODE__UNKNOWN),
				    resp->status != NULL && resp->status->message != NULL
					? resp->status->message
					: "");
				tulay_response_free(resp);
				rc = -1;
				goto out;
			}
			struct job *j = s->pending[k].job;
			s->pending[k] = s->pending[--s->in_flight];
			L->in_flight--;
			handle(L, j, resp);
			tulay_response_free(resp);
		}
	}
out:
	free(scratch);
	return rc;
}

/* A growing list of jobs for one batch. */
struct batch {
	struct job *jobs;
	size_t n, cap;
};

static bool add_job(struct batch *b, struct job j)
{
	if (b->n == b->cap) {
		size_t cap = b->cap == 0 ? 256 : b->cap * 2;
		struct job *jobs = realloc(b->jobs, cap * sizeof(*jobs));
		if (jobs == NULL) {
			say("out of memory");
			return false;
		}
		b->jobs = jobs;
		b->cap = cap;
	}
	b->jobs[b->n++] = j;
	return true;
}

static int run_batch(struct loader *L, struct batch *b)
{
	int rc = run_jobs(L, b->jobs, b->n);
	b->n = 0;
	return rc;
}

/* --- connections ---------------------------------------------------------------------- */

static int open_session(struct loader *L, struct session *s, unsigned wait_s)
{
	int timeout_ms = (int)L->opt.timeout_s * 1000;
	double give_up = now_s() + wait_s;
	int err;
	for (;;) {
		if (L->opt.ca_file != NULL)
			err = tulay_connect_tls(L->opt.server, L->opt.ca_file, timeout_ms,
						CLIENT_NAME, &s->client);
		else
			err = tulay_connect(L->opt.server, timeout_ms, CLIENT_NAME, &s->client);
		if (err == 0)
			break;
		if ((err != TULAY_E_CONNECT && err != TULAY_E_CLOSED) || now_s() >= give_up) {
			say("cannot connect to %s: %s", L->opt.server, tulay_last_error(NULL));
			if (err == TULAY_E_USAGE && L->opt.ca_file == NULL)
				say("a server not on this computer needs --ca-file (TLS 1.3)");
			return -1;
		}
		struct timespec pause = {0, 200 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	const Tulay__V1__HelloReply *hello = tulay_server_hello(s->client);
	s->window =
	    hello != NULL && hello->max_requests_in_flight > 0 ? hello->max_requests_in_flight : 1;
	if (s->window > 256)
		s->window = 256;
	s->pending = calloc(s->window, sizeof(*s->pending));
	if (s->pending == NULL) {
		say("out of memory");
		return -1;
	}
	return 0;
}

static void close_session(struct session *s)
{
	tulay_close(s->client);
	s->client = NULL;
	s->ready = false;
	free(s->pending);
	free(s->queue);
	s->pending = NULL;
	s->queue = NULL;
	s->cap = s->queued = s->next = s->in_flight = 0;
}

/* --- the phases ----------------------------------------------------------------------- */

static int load_network(struct loader *L, struct batch *b)
{
	struct session *a = &L->admin;
	for (size_t i = 0; i < demo_n_orgs; i++) {
		if (!add_job(b,
			     (struct job){.session = a, .rpc = RPC_CREATE_ORGANISATION, .item = i}))
			return -1;
	}
	if (run_batch(L, b) != 0)
		return -1;
	for (size_t i = 0; i < demo_n_memberships; i++) {
		if (!add_job(b, (struct job){.session = a, .rpc = RPC_ADD_MEMBERSHIP, .item = i}))
			return -1;
	}
	for (size_t i = 0; i < demo_n_offices; i++) {
		if (!add_job(b, (struct job){.session = a, .rpc = RPC_ADD_OFFICE, .item = i}))
			return -1;
	}
	for (size_t i = 0; i < 2 * demo_n_orgs; i++) {
		if (!add_job(b, (struct job){.session = a, .rpc = RPC_CREATE_USER, .item = i}))
			return -1;
	}
	for (size_t i = 0; i < demo_n_rates; i++) {
		if (!add_job(b,
			     (struct job){.session = a, .rpc = RPC_SET_EXCHANGE_RATE, .item = i}))
			return -1;
	}
	if (run_batch(L, b) != 0)
		return -1;
	/* Ends the memberships that ended, unless an earlier run did (or, made by someone
	 * else, their version is not known). */
	for (size_t i = 0; i < demo_n_memberships; i++) {
		if (demo_memberships[i].until == NULL)
			continue;
		if (L->membership_ended[i])
			L->tally[RPC_END_MEMBERSHIP].existing++;
		else if (L->membership_version[i] == 0)
			L->tally[RPC_END_MEMBERSHIP].skipped++;
		else if (!add_job(b,
				  (struct job){.session = a, .rpc = RPC_END_MEMBERSHIP, .item = i}))
			return -1;
	}
	if (run_batch(L, b) != 0)
		return -1;
	if (!add_job(b, (struct job){.session = a, .rpc = RPC_LOGOUT}))
		return -1;
	return run_batch(L, b);
}

/* Logins in flight count against tulayd's per-address login throttle (30 a minute by
 * default) until they succeed, with whatever attempts others on this address made: a few
 * at a time, so the loader never spends the budget by itself. */
enum { LOGINS_AT_ONCE = 4 };

static int log_in_officers(struct loader *L, struct batch *b)
{
	for (size_t i = 0; i < demo_n_orgs; i++) {
		struct session *s = &L->orgs[i];
		username_of(i, true, s->username, sizeof(s->username));
		if (open_session(L, s, 0) != 0)
			return -1;
		if (!add_job(b, (struct job){.session = s, .rpc = RPC_LOGIN}))
			return -1;
		if ((i + 1) % LOGINS_AT_ONCE == 0 && run_batch(L, b) != 0)
			return -1;
	}
	return run_batch(L, b);
}

/* Whether every claim recommendation n cites as evidence has its reference. A
 * recommendation sent without one of them would differ from the same recommendation sent
 * in full by a later run, and the server would refuse that one for ever as reusing its
 * key (ALREADY_EXISTS): it is skipped instead, and the run that has its claims sends it. */
static bool evidence_ready(const struct loader *L, size_t n)
{
	const struct demo_recommendation *r = &L->recommendations[n];
	for (size_t i = 0; i < r->n_evidence; i++) {
		if (L->state[CASE_CLAIM][r->evidence[i]].reference[0] == '\0')
			return false;
	}
	return true;
}

static int create_cases(struct loader *L, struct batch *b, enum case_kind kind)
{
	static const enum rpc creates[N_CASE_KINDS] = {RPC_CREATE_CLAIM, RPC_CREATE_DEPORTATION,
						       RPC_CREATE_RECOMMENDATION};
	for (size_t i = 0; i < L->opt.scale; i++) {
		if (kind == CASE_RECOMMENDATION && !evidence_ready(L, i)) {
			L->tally[RPC_CREATE_RECOMMENDATION].skipped++;
			continue;
		}
		struct job j = {.session = &L->orgs[case_org(L, kind, i)],
				.rpc = creates[kind],
				.kind = kind,
				.item = i};
		if (!add_job(b, j))
			return -1;
	}
	return 0;
}

static enum rpc step_rpc(enum demo_step_kind kind)
{
	switch (kind) {
	case DEMO_STEP_CLAIM_STATUS:
		return RPC_CHANGE_CLAIM_STATUS;
	case DEMO_STEP_CLAIM_AMOUNTS:
		return RPC_UPDATE_CLAIM_AMOUNTS;
	case DEMO_STEP_NOTE:
		return RPC_ADD_CASE_NOTE;
	case DEMO_STEP_DEPORTATION_STAGE:
		return RPC_RECORD_DEPORTATION_STAGE;
	case DEMO_STEP_INTERVENTION:
		return RPC_ADD_INTERVENTION;
	default:
		return RPC_CHANGE_RECOMMENDATION_STATUS;
	}
}

/* The lifecycle: round r sends step r of every case, so each case's steps go in order
 * (each names the version the one before left) while the cases go in parallel. */
static int move_cases(struct loader *L, struct batch *b)
{
	for (size_t round = 0; round < DEMO_MAX_STEPS; round++) {
		for (size_t k = 0; k < N_CASE_KINDS; k++) {
			for (size_t i = 0; i < L->opt.scale; i++) {
				size_t count;
				const struct demo_step *steps = case_steps(L, k, i, &count);
				if (round >= count)
					continue;
				enum rpc rpc = step_rpc(steps[round].kind);
				const struct case_state *cs = &L->state[k][i];
				if (cs->reference[0] == '\0' || cs->broken) {
					L->tally[rpc].skipped++;
					continue;
				}
				struct job j = {.session = &L->orgs[case_org(L, k, i)],
						.rpc = rpc,
						.kind = (enum case_kind)k,
						.item = i,
						.step = round};
				if (!add_job(b, j))
					return -1;
			}
		}
		if (b->n > 0 && run_batch(L, b) != 0)
			return -1;
	}
	return 0;
}

/* Referrals go from the case's organisation; the partner then accepts or declines. */
static int refer_cases(struct loader *L, struct batch *b)
{
	for (int decide = 0; decide < 2; decide++) {
		for (size_t k = CASE_CLAIM; k <= CASE_DEPORTATION; k++) {
			for (size_t i = 0; i < L->opt.scale; i++) {
				const struct demo_referral *r = case_referral(L, k, i);
				const struct case_state *cs = &L->state[k][i];
				if (r->to_org == DEMO_NO_ORG ||
				    (decide &&
				     r->decision ==
					 TULAY__V1__REFERRAL_DECISION__REFERRAL_DECISION_UNSPECIFIED))
					continue;
				enum rpc rpc = decide ? RPC_DECIDE_REFERRAL : RPC_PROPOSE_REFERRAL;
				if (decide ? cs->referral_id == 0 : cs->reference[0] == '\0') {
					L->tally[rpc].skipped++;
					continue;
				}
				size_t org = decide ? r->to_org : case_org(L, k, i);
				struct job j = {.session = &L->orgs[org],
						.rpc = rpc,
						.kind = (enum case_kind)k,
						.item = i};
				if (!add_job(b, j))
					return -1;
			}
		}
		if (run_batch(L, b) != 0)
			return -1;
	}
	return 0;
}

static int log_out_officers(struct loader *L, struct batch *b)
{
	for (size_t i = 0; i < demo_n_orgs; i++) {
		if (L->orgs[i].ready &&
		    !add_job(b, (struct job){.session = &L->orgs[i], .rpc = RPC_LOGOUT}))
			return -1;
	}
	return run_batch(L, b);
}

static int load(struct loader *L)
{
	struct batch b = {0};
	int rc = -1;
	struct session *a = &L->admin;
	snprintf(a->username, sizeof(a->username), "%s", L->opt.admin);
	a->admin = true;
	if (open_session(L, a, L->opt.wait_s) != 0)
		goto out;
	if (!add_job(&b, (struct job){.session = a, .rpc = RPC_LOGIN}) || run_batch(L, &b) != 0)
		goto out;
	if (!a->ready) {
		say("cannot go on without the admin's session");
		goto out;
	}
	double t0 = now_s();
	if (load_network(L, &b) != 0)
		goto out;
	close_session(a);
	double t1 = now_s();
	if (log_in_officers(L, &b) != 0)
		goto out;
	double t2 = now_s();
	if (create_cases(L, &b, CASE_CLAIM) != 0 || create_cases(L, &b, CASE_DEPORTATION) != 0 ||
	    run_batch(L, &b) != 0)
		goto out;
	/* Recommendations cite claims as evidence: their references must be known. */
	if (create_cases(L, &b, CASE_RECOMMENDATION) != 0 || run_batch(L, &b) != 0)
		goto out;
	double t3 = now_s();
	if (move_cases(L, &b) != 0 || refer_cases(L, &b) != 0)
		goto out;
	double t4 = now_s();
	if (log_out_officers(L, &b) != 0)
		goto out;
	printf("timing: network %.2f s, logins %.2f s, cases %.2f s, lifecycle and referrals "
	       "%.2f s\n",
	       t1 - t0, t2 - t1, t3 - t2, t4 - t3);
	rc = 0;
out:
	free(b.jobs);
	close_session(a);
	for (size_t i = 0; i < demo_n_orgs; i++)
		close_session(&L->orgs[i]);
	return rc;
}

/* Prints the table and the summary line; returns false if anything failed. */
static bool print_summary(const struct loader *L, bool complete, double seconds)
{
	printf("%-28s %6s %6s %8s %7s %6s %7s\n", "request", "sent", "ok", "existing", "skipped",
	       "failed", "retried");
	unsigned failed = 0, retried = 0;
	for (size_t i = 0; i < N_RPCS; i++) {
		const struct tally *t = &L->tally[i];
		if (t->sent + t->skipped + t->existing == 0)
			continue;
		printf("%-28s %6u %6u %8u %7u %6u %7u\n", rpc_names[i], t->sent, t->ok, t->existing,
		       t->skipped, t->failed, t->retried);
		failed += t->failed;
		retried += t->retried;
	}
	const struct tally *t = L->tally;
	printf("tulay-demo: %s in %.1f s: %u organisations, %u memberships, %u offices, %u "
	       "users, %u claims, %u deportations, %u recommendations, %u referrals",
	       !complete    ? "STOPPED"
	       : failed > 0 ? "loaded with failures"
			    : "loaded",
	       seconds, t[RPC_CREATE_ORGANISATION].ok + t[RPC_CREATE_ORGANISATION].existing,
	       t[RPC_ADD_MEMBERSHIP].ok + t[RPC_ADD_MEMBERSHIP].existing,
	       t[RPC_ADD_OFFICE].ok + t[RPC_ADD_OFFICE].existing,
	       t[RPC_CREATE_USER].ok + t[RPC_CREATE_USER].existing, t[RPC_CREATE_CLAIM].ok,
	       t[RPC_CREATE_DEPORTATION].ok, t[RPC_CREATE_RECOMMENDATION].ok,
	       t[RPC_PROPOSE_REFERRAL].ok);
	printf("; %u failed", failed);
	if (retried > 0)
		printf(" (%u resent after busy answers)", retried);
	printf("\n");
	return failed == 0;
}

int main(int argc, char **argv)
{
	static struct loader loader;
	struct loader *L = &loader;
	int rc = parse_options(argc, argv, &L->opt);
	if (rc != EXIT_LOADED)
		return rc;
	if (!make_plans(L))
		return EXIT_FAILED;
	if (L->opt.print_plan) {
		print_plan(L);
		return EXIT_LOADED;
	}
	if (!read_admin_password(L->opt.admin, L->admin_password, sizeof(L->admin_password)) ||
	    !users_password(L->opt.users_password_file, L->users_password,
			    sizeof(L->users_password)))
		return EXIT_USAGE_ERR;
	L->orgs = calloc(demo_n_orgs, sizeof(*L->orgs));
	L->membership_version = calloc(demo_n_memberships, sizeof(*L->membership_version));
	L->membership_ended = calloc(demo_n_memberships, sizeof(*L->membership_ended));
	if (L->orgs == NULL || L->membership_version == NULL || L->membership_ended == NULL) {
		say("out of memory");
		return EXIT_FAILED;
	}
	L->window = WINDOW_START;
	L->window_max = WINDOW_MAX;
	uint8_t seed[TULAY_IDEMPOTENCY_KEY_BYTES] = {0};
	(void)tulay_new_idempotency_key(seed); /* without randomness: the same pauses */
	memcpy(&L->jitter, seed, sizeof(L->jitter));
	L->jitter |= 1; /* xorshift never leaves 0 */
	printf("tulay-demo: loading seed %" PRIu64 ", %zu cases of each kind, into %s\n",
	       L->opt.seed, L->opt.scale, L->opt.server);
	fflush(stdout);
	double start = now_s();
	bool complete = load(L) == 0;
	bool clean = print_summary(L, complete, now_s() - start);
	return complete && clean ? EXIT_LOADED : EXIT_FAILED;
}
