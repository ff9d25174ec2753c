/* tulay-demo's loader: its sessions, jobs and state, shared by tulay_demo.c (options,
 * passwords, the pipeline, the answers, the phases) and demo_requests.c (the plan and the
 * requests built from it). Private to tulay-demo. */
#ifndef TULAY_DEMO_LOADER_H
#define TULAY_DEMO_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* "claim", "deportation", "recommendation" */
extern const char *const case_kind_names[N_CASE_KINDS];

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
	bool ready;   /* logged in */
	bool no_user; /* its CreateUser failed in this run: its Login is skipped */
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

/* A growing list of jobs for one batch. */
struct batch {
	struct job *jobs;
	size_t n, cap;
};

/* The names of the requests, as the summary shows them. */
extern const char *const rpc_names[N_RPCS];

/* --- tulay_demo.c ---------------------------------------------------------------------- */

/* Prints "tulay-demo: " and the message on stderr. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- demo_pipeline.c: sending jobs, handling answers ---------------------------------- */

/* Seconds on the monotonic clock. */
double now_s(void);
/* Appends j to b; false (said) when out of memory. */
bool add_job(struct batch *b, struct job j);
/* Sends b's jobs and handles their answers; empties b. Returns 0, or -1 when a connection
 * failed (said). */
int run_batch(struct loader *L, struct batch *b);
/* Connects s (waiting up to wait_s seconds for the server); 0, or -1 (said). */
int open_session(struct loader *L, struct session *s, unsigned wait_s);
void close_session(struct session *s);

/* --- demo_requests.c: the plan and the requests -------------------------------------- */

/* The username of organisation org's field officer (officer) or coordinator. */
void username_of(size_t org, bool officer, char *out, size_t cap);
/* Draws the cases of L->opt's scale and seed; false (said) when out of memory. */
bool make_plans(struct loader *L);
/* Prints the plan as tab-separated lines (--print-plan). */
void print_plan(const struct loader *L);
/* Case n of a kind: its lifecycle steps (count of them in *count), its organisation, and
 * its referral. */
const struct demo_step *case_steps(const struct loader *L, enum case_kind kind, size_t n,
				   size_t *count);
size_t case_org(const struct loader *L, enum case_kind kind, size_t n);
const struct demo_referral *case_referral(const struct loader *L, enum case_kind kind, size_t n);
/* Builds job j's request in req, from parts that live in s until it is sent. */
void build(const struct loader *L, const struct job *j, struct scratch *s, Tulay__V1__Request *req);

#endif
