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
#include "demo_loader.h"

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

void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("tulay-demo: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
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
