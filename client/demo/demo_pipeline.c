/* tulay-demo: the pipeline. Jobs go out on every session at once, each session keeping up to
 * its window of requests in flight and all of them within the loader's congestion window;
 * the answers are tallied as they come, and a request the server refused as busy goes
 * again after a pause (with its idempotency key, so at most once in effect). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo_loader.h"

const char *const rpc_names[N_RPCS] = {
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

double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
			if (j->rpc == RPC_CREATE_USER && j->item % 2 == 0)
				L->orgs[j->item / 2].no_user = true;
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
 * logged in are skipped, and so is the Login of an officer this run failed to create. Returns 0, or
 * -1 when a connection failed (already said). */
static int run_jobs(struct loader *L, struct job *jobs, size_t n)
{
	size_t n_sessions = demo_n_orgs + 1;
	for (size_t i = 0; i < n_sessions; i++) {
		struct session *s = session_at(L, i);
		s->queued = s->next = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct session *s = jobs[i].session;
		bool usable =
		    jobs[i].rpc == RPC_LOGIN ? s->client != NULL && !s->no_user : s->ready;
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

bool add_job(struct batch *b, struct job j)
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

int run_batch(struct loader *L, struct batch *b)
{
	int rc = run_jobs(L, b->jobs, b->n);
	b->n = 0;
	return rc;
}

/* --- connections ---------------------------------------------------------------------- */

int open_session(struct loader *L, struct session *s, unsigned wait_s)
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

void close_session(struct session *s)
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
