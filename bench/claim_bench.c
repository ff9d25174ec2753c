/* claim_bench: a load generator for claims. N clients, each its own connection on its own
 * thread, send CreateClaim, GetClaim or ListClaims to tulayd as fast as the answers come
 * back, keeping up to D requests in flight each (libtulay's tulay_send / tulay_recv
 * pipelining), for a number of seconds or requests. It prints one machine-readable line
 * (op=... rate=... p50_ms=... p99_ms=...) and one for people.
 *
 * Every user in the list is logged in once, by the main thread, before the clients start
 * (the login throttle counts concurrent logins of one user, and argon2id is deliberately
 * expensive): the clients then Authenticate with that session's token. Client i acts as
 * user i mod K, so K users of K organisations spread the load over K organisations.
 *
 * bench/write_bench.sh sets up a cluster, organisations and users, starts tulayd and runs
 * this program beside pgbench; see bench/README.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "libtulay.h"

#include "claim_bench.h"

/* A small xorshift generator per client thread: which reference a GetClaim asks for. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* --- errors, counted by what went wrong ---------------------------------------------- */

/* A tally slot per status code, then per libtulay failure (-1 .. -10), then two of our
 * own: an OK answer without the body it should carry, and requests still in flight when
 * their connection failed (they have no answer at all). */
#define TALLY_CODES     17
#define TALLY_TRANSPORT 10
enum {
	TALLY_UNKNOWN_CODE = TALLY_CODES + TALLY_TRANSPORT,
	TALLY_BAD_REPLY,
	TALLY_LOST,
	TALLY_SLOTS,
};

static const char *const transport_names[TALLY_TRANSPORT] = {
    "E_USAGE",    "E_RESOLVE", "E_CONNECT", "E_TIMEOUT", "E_CLOSED",
    "E_PROTOCOL", "E_NOMEM",   "E_IO",      "E_TLS",     "E_VERIFY",
};

static const char *tally_name(size_t slot)
{
	if (slot < TALLY_CODES)
		return tulay_code_name((Tulay__V1__Code)slot);
	if (slot < TALLY_CODES + TALLY_TRANSPORT)
		return transport_names[slot - TALLY_CODES];
	switch (slot) {
	case TALLY_UNKNOWN_CODE:
		return "UNKNOWN_CODE";
	case TALLY_BAD_REPLY:
		return "BAD_REPLY";
	default:
		return "LOST";
	}
}

static size_t tally_of_code(Tulay__V1__Code code)
{
	return (unsigned)code < TALLY_CODES ? (size_t)code : TALLY_UNKNOWN_CODE;
}

static size_t tally_of_err(int err)
{
	if (err > -1 || err < -TALLY_TRANSPORT)
		err = TULAY_E_IO;
	return (size_t)(TALLY_CODES - 1 - err);
}

/* --- talking to tulayd --------------------------------------------------------------- */

static int connect_client(const struct options *o, struct tulay_client **out)
{
	if (o->ca_file != NULL)
		return tulay_connect_tls(o->server, o->ca_file, (int)o->timeout_ms, CLIENT_NAME,
					 out);
	return tulay_connect(o->server, (int)o->timeout_ms, CLIENT_NAME, out);
}

/* Says why a call that returned `err` and `resp` did not succeed; true when it did. */
static bool call_ok(struct tulay_client *c, const char *what, int err,
		    const Tulay__V1__Response *resp)
{
	if (err != 0) {
		say("%s failed: %s (%s)", what, tulay_strerror(err), tulay_last_error(c));
		return false;
	}
	if (resp->status->code != TULAY__V1__CODE__OK) {
		say("%s answered %s: %s", what, tulay_code_name(resp->status->code),
		    resp->status->message);
		for (size_t i = 0; i < resp->status->n_field_errors; i++)
			say("  %s: %s", resp->status->field_errors[i]->field,
			    resp->status->field_errors[i]->problem);
		return false;
	}
	return true;
}

/* Connects and logs in as `u`, keeping the connection and the session's token in it. */
static bool log_in(const struct options *o, struct bench_user *u)
{
	int err = connect_client(o, &u->login);
	if (err != 0) {
		say("cannot connect to %s: %s", o->server, tulay_last_error(NULL));
		return false;
	}
	Tulay__V1__Response *resp = NULL;
	char what[160];
	snprintf(what, sizeof(what), "login as %s", u->username);
	err = tulay_login(u->login, u->username, u->password, &resp);
	bool ok = call_ok(u->login, what, err, resp);
	if (ok)
		u->token = xstrdup(resp->session->session_token);
	tulay_response_free(resp);
	return ok;
}

/* Ends the session of `u` (its token stops working) and closes its connection. */
static void log_out(struct bench_user *u)
{
	if (u->login == NULL)
		return;
	if (u->token != NULL) {
		Tulay__V1__Response *resp = NULL;
		if (tulay_logout(u->login, &resp) == 0)
			tulay_response_free(resp);
	}
	tulay_close(u->login);
	u->login = NULL;
}

/* The claim every CreateClaim sends, with `key` as its idempotency key (the request only
 * borrows the strings and the key). */
static void claim_request(Tulay__V1__CreateClaim *claim, Tulay__V1__Money *amount,
			  uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES])
{
	tulay__v1__money__init(amount);
	amount->minor_units = 4500000; /* 45000.00 THB */
	amount->currency = (char *)"THB";
	tulay__v1__create_claim__init(claim);
	claim->idempotency_key.data = key;
	claim->idempotency_key.len = TULAY_IDEMPOTENCY_KEY_BYTES;
	claim->worker_nationality = (char *)"KH";
	claim->country_of_work = (char *)"TH";
	claim->sector = TULAY__V1__SECTOR__SECTOR_CONSTRUCTION;
	claim->employer = (char *)"Siam Build Co";
	claim->work_started_on = (char *)"2026-01-01";
	claim->work_ended_on = (char *)"2026-04-30";
	claim->amount_claimed = amount;
	claim->workers = 1;
}

/* op get: the references of up to --warmup-claims claims of the user's organisation,
 * listed, and created first when there are fewer. */
static bool warm_up_references(const struct options *o, struct bench_user *u)
{
	unsigned want = o->warmup_claims;
	char what[160];
	Tulay__V1__Response *resp = NULL;
	Tulay__V1__ListClaims q = TULAY__V1__LIST_CLAIMS__INIT;
	q.limit = want;
	snprintf(what, sizeof(what), "ListClaims as %s", u->username);
	int err = tulay_list_claims(u->login, &q, &resp);
	if (!call_ok(u->login, what, err, resp)) {
		tulay_response_free(resp);
		return false;
	}
	u->references = xcalloc(want, sizeof(*u->references));
	for (size_t i = 0; i < resp->claims->n_claims && u->n_references < want; i++)
		u->references[u->n_references++] = xstrdup(resp->claims->claims[i]->reference);
	tulay_response_free(resp);

	snprintf(what, sizeof(what), "warm-up CreateClaim as %s", u->username);
	while (u->n_references < want) {
		uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
		Tulay__V1__CreateClaim claim;
		Tulay__V1__Money amount;
		if (tulay_new_idempotency_key(key) != 0) {
			say("no randomness for idempotency keys");
			return false;
		}
		claim_request(&claim, &amount, key);
		resp = NULL;
		err = tulay_create_claim(u->login, &claim, &resp);
		if (!call_ok(u->login, what, err, resp)) {
			tulay_response_free(resp);
			return false;
		}
		u->references[u->n_references++] = xstrdup(resp->claim->reference);
		tulay_response_free(resp);
	}
	return true;
}

/* --- the clients --------------------------------------------------------------------- */

/* What every client shares. The main thread writes t0_ms, deadline_ms and go before the
 * second barrier; the clients only read them after it. */
struct bench_shared {
	const struct options *o;
	pthread_barrier_t ready; /* every client connected (or failed), and main */
	pthread_barrier_t start; /* main has decided: go or not */
	bool go;
	double t0_ms;
	double deadline_ms;   /* 0: none */
	atomic_ullong issued; /* requests sent, against --requests */
};

/* A request in flight: its id, when it was sent and, for GetClaim, what it asked for. */
struct in_flight {
	uint64_t id;
	double sent_ms;
	const char *reference;
};

struct bench_client {
	pthread_t thread;
	unsigned index;
	struct bench_user *user;
	struct bench_shared *shared;
	struct tulay_client *conn;
	uint64_t random;
	bool setup_failed;
	struct in_flight *slots;
	unsigned n_slots;
	/* Results: OK answers and their latencies, errors by tally slot, the last answer. */
	uint64_t ok;
	uint64_t errors[TALLY_SLOTS];
	double *latencies;
	size_t n_latencies, cap_latencies;
	double last_ms;
};

static void record_latency(struct bench_client *bc, double ms)
{
	if (bc->n_latencies == bc->cap_latencies) {
		size_t cap = bc->cap_latencies > 0 ? bc->cap_latencies * 2 : 1024;
		double *l = realloc(bc->latencies, cap * sizeof(*l));
		if (l == NULL) {
			say("out of memory");
			exit(EXIT_FAILED);
		}
		bc->latencies = l;
		bc->cap_latencies = cap;
	}
	bc->latencies[bc->n_latencies++] = ms;
}

/* Set by SIGINT or SIGTERM: stop sending, let the requests in flight finish, print the
 * results as at the deadline (a load run beside another benchmark is stopped this way). */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int signum)
{
	(void)signum;
	stop_requested = 1;
}

/* Whether another request may be sent: before the deadline, within --requests, and not
 * asked to stop. */
static bool may_send(struct bench_client *bc)
{
	const struct bench_shared *sh = bc->shared;
	if (stop_requested)
		return false;
	if (sh->deadline_ms > 0 && bench_now_ms() >= sh->deadline_ms)
		return false;
	if (sh->o->requests == 0)
		return true;
	return atomic_fetch_add(&bc->shared->issued, 1) < sh->o->requests;
}

/* Builds and sends the next request into a free slot. Returns 0 or a TULAY_E_*. */
static int send_one(struct bench_client *bc, struct in_flight *slot)
{
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__CreateClaim claim;
	Tulay__V1__Money amount;
	Tulay__V1__GetClaim get = TULAY__V1__GET_CLAIM__INIT;
	Tulay__V1__ListClaims list = TULAY__V1__LIST_CLAIMS__INIT;
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	slot->reference = NULL;
	switch (bc->shared->o->op) {
	case OP_CREATE:
		if (tulay_new_idempotency_key(key) != 0)
			return TULAY_E_IO;
		claim_request(&claim, &amount, key);
		req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
		req.create_claim = &claim;
		break;
	case OP_GET: {
		const struct bench_user *u = bc->user;
		slot->reference = u->references[next_random(&bc->random) % u->n_references];
		get.reference = (char *)slot->reference;
		get.organisation = (char *)"";
		req.body_case = TULAY__V1__REQUEST__BODY_GET_CLAIM;
		req.get_claim = &get;
		break;
	}
	case OP_LIST:
		req.body_case = TULAY__V1__REQUEST__BODY_LIST_CLAIMS;
		req.list_claims = &list;
		break;
	}
	slot->sent_ms = bench_now_ms();
	return tulay_send(bc->conn, &req, &slot->id);
}

/* Whether an OK answer carries what the request asked for. */
static bool reply_ok(const struct bench_client *bc, const struct in_flight *slot,
		     const Tulay__V1__Response *resp)
{
	switch (bc->shared->o->op) {
	case OP_CREATE:
		return resp->body_case == TULAY__V1__RESPONSE__BODY_CLAIM &&
		       resp->claim->reference[0] != '\0';
	case OP_GET:
		return resp->body_case == TULAY__V1__RESPONSE__BODY_CLAIM &&
		       strcmp(resp->claim->reference, slot->reference) == 0;
	case OP_LIST:
		return resp->body_case == TULAY__V1__RESPONSE__BODY_CLAIMS;
	}
	return false;
}

/* The connection failed with `err`: one error of that kind, and every other request in
 * flight is lost. The client stops. */
static void client_failed(struct bench_client *bc, int err, unsigned in_flight)
{
	bc->errors[tally_of_err(err)]++;
	if (in_flight > 1)
		bc->errors[TALLY_LOST] += in_flight - 1;
	say("client %u (%s): %s (%s)", bc->index, bc->user->username, tulay_strerror(err),
	    tulay_last_error(bc->conn));
}

/* Sends and receives until the deadline or the request budget, keeping up to --depth
 * requests in flight, then collects the answers still due. */
static void client_run(struct bench_client *bc)
{
	unsigned in_flight = 0;
	bool sending = true;
	for (;;) {
		while (sending && in_flight < bc->n_slots) {
			if (!may_send(bc)) {
				sending = false;
				break;
			}
			int err = send_one(bc, &bc->slots[in_flight]);
			if (err != 0) {
				client_failed(bc, err, in_flight + 1);
				return;
			}
			in_flight++;
		}
		if (in_flight == 0)
			return;
		Tulay__V1__Response *resp = NULL;
		int err = tulay_recv(bc->conn, &resp);
		double at = bench_now_ms();
		if (err != 0) {
			client_failed(bc, err, in_flight);
			return;
		}
		bc->last_ms = at;
		unsigned i = 0;
		while (i < in_flight && bc->slots[i].id != resp->id)
			i++;
		if (i == in_flight) {
			/* Id 0 (the server could not read a request) or an id never sent: which
			 * request it answers is unknown, so the connection is not trusted on. */
			bc->errors[tally_of_code(resp->status->code)]++;
			if (in_flight > 1)
				bc->errors[TALLY_LOST] += in_flight - 1;
			say("client %u (%s): an answer to request %" PRIu64 " (%s: %s), which is "
			    "not in flight",
			    bc->index, bc->user->username, resp->id,
			    tulay_code_name(resp->status->code), resp->status->message);
			tulay_response_free(resp);
			return;
		}
		if (resp->status->code != TULAY__V1__CODE__OK)
			bc->errors[tally_of_code(resp->status->code)]++;
		else if (!reply_ok(bc, &bc->slots[i], resp))
			bc->errors[TALLY_BAD_REPLY]++;
		else {
			bc->ok++;
			record_latency(bc, at - bc->slots[i].sent_ms);
		}
		tulay_response_free(resp);
		bc->slots[i] = bc->slots[--in_flight];
	}
}

static void *client_main(void *arg)
{
	struct bench_client *bc = arg;
	struct bench_shared *sh = bc->shared;
	Tulay__V1__Response *resp = NULL;
	int err = connect_client(sh->o, &bc->conn);
	if (err != 0) {
		say("client %u: cannot connect to %s: %s", bc->index, sh->o->server,
		    tulay_last_error(NULL));
		bc->setup_failed = true;
	} else {
		err = tulay_authenticate(bc->conn, bc->user->token, &resp);
		char what[160];
		snprintf(what, sizeof(what), "client %u: Authenticate as %s", bc->index,
			 bc->user->username);
		bc->setup_failed = !call_ok(bc->conn, what, err, resp);
		tulay_response_free(resp);
	}
	pthread_barrier_wait(&sh->ready);
	pthread_barrier_wait(&sh->start);
	if (sh->go && !bc->setup_failed)
		client_run(bc);
	tulay_close(bc->conn);
	bc->conn = NULL;
	return NULL;
}

/* --- the run ------------------------------------------------------------------------- */

struct bench_result {
	uint64_t ok;
	uint64_t errors;
	uint64_t by_slot[TALLY_SLOTS];
	double seconds;
	double p50, p99;
};

static void summarise(const struct options *o, struct bench_client *clients, double t0_ms,
		      struct bench_result *r)
{
	*r = (struct bench_result){0};
	size_t n = 0;
	double last = t0_ms;
	for (unsigned i = 0; i < o->clients; i++) {
		r->ok += clients[i].ok;
		n += clients[i].n_latencies;
		for (size_t s = 0; s < TALLY_SLOTS; s++) {
			r->by_slot[s] += clients[i].errors[s];
			r->errors += clients[i].errors[s];
		}
		if (clients[i].last_ms > last)
			last = clients[i].last_ms;
	}
	double *all = xcalloc(n, sizeof(*all));
	size_t k = 0;
	for (unsigned i = 0; i < o->clients; i++) {
		memcpy(all + k, clients[i].latencies, clients[i].n_latencies * sizeof(*all));
		k += clients[i].n_latencies;
	}
	bench_sort(all, n);
	r->p50 = bench_percentile(all, n, 0.50);
	r->p99 = bench_percentile(all, n, 0.99);
	r->seconds = (last - t0_ms) / 1e3;
	free(all);
}

static void print_result(const struct options *o, const struct bench_result *r)
{
	unsigned orgs = o->orgs < o->clients ? o->orgs : o->clients;
	double rate = r->seconds > 0 ? (double)r->ok / r->seconds : 0;
	char codes[1024] = "-";
	size_t len = 0;
	for (size_t s = 0; s < TALLY_SLOTS; s++) {
		if (r->by_slot[s] == 0)
			continue;
		int w = snprintf(codes + len, sizeof(codes) - len, "%s%s:%" PRIu64,
				 len > 0 ? "," : "", tally_name(s), r->by_slot[s]);
		if (w < 0 || (size_t)w >= sizeof(codes) - len)
			break;
		len += (size_t)w;
	}
	printf("op=%s clients=%u depth=%u orgs=%u requests=%" PRIu64 " errors=%" PRIu64
	       " seconds=%.3f rate=%.1f p50_ms=%.2f p99_ms=%.2f error_codes=%s\n",
	       op_names[o->op], o->clients, o->depth, orgs, r->ok, r->errors, r->seconds, rate,
	       r->p50, r->p99, codes);
	printf("%s: %" PRIu64 " answered OK in %.1f s by %u client%s (depth %u) over %u "
	       "organisation%s: %.1f/s, p50 %.1f ms, p99 %.1f ms; ",
	       op_names[o->op], r->ok, r->seconds, o->clients, o->clients == 1 ? "" : "s", o->depth,
	       orgs, orgs == 1 ? "" : "s", rate, r->p50, r->p99);
	if (r->errors == 0)
		printf("no errors\n");
	else
		printf("%" PRIu64 " error%s (%s)\n", r->errors, r->errors == 1 ? "" : "s", codes);
	fflush(stdout);
}

/* Starts the clients, lets them run and waits for them. Returns false when a client could
 * not connect or authenticate (nothing was measured then). */
static bool run_clients(const struct options *o, struct bench_client *clients,
			struct bench_shared *sh)
{
	unsigned started = 0;
	bool ok = true;
	if (pthread_barrier_init(&sh->ready, NULL, o->clients + 1) != 0 ||
	    pthread_barrier_init(&sh->start, NULL, o->clients + 1) != 0) {
		say("cannot set up the start barriers");
		exit(EXIT_FAILED);
	}
	/* The generators' seed: random bytes, as an idempotency key has them. */
	uint8_t seed_bytes[TULAY_IDEMPOTENCY_KEY_BYTES];
	uint64_t seed = (uint64_t)bench_now_ms();
	if (tulay_new_idempotency_key(seed_bytes) == 0)
		memcpy(&seed, seed_bytes, sizeof(seed));
	for (unsigned i = 0; i < o->clients; i++) {
		struct bench_client *bc = &clients[i];
		bc->index = i;
		bc->user = &o->users[i % o->orgs];
		bc->shared = sh;
		bc->random = (seed ^ (0x9e3779b97f4a7c15ULL * (i + 1))) | 1;
		bc->n_slots = o->depth;
		bc->slots = xcalloc(o->depth, sizeof(*bc->slots));
		int err = pthread_create(&bc->thread, NULL, client_main, bc);
		if (err != 0) {
			say("cannot start client thread %u: %s", i, strerror(err));
			exit(EXIT_FAILED); /* the barriers would never open */
		}
		started++;
	}
	pthread_barrier_wait(&sh->ready);
	for (unsigned i = 0; i < started; i++)
		ok &= !clients[i].setup_failed;
	sh->go = ok;
	sh->t0_ms = bench_now_ms();
	sh->deadline_ms = o->seconds > 0 ? sh->t0_ms + o->seconds * 1e3 : 0;
	pthread_barrier_wait(&sh->start);
	for (unsigned i = 0; i < started; i++)
		pthread_join(clients[i].thread, NULL);
	pthread_barrier_destroy(&sh->ready);
	pthread_barrier_destroy(&sh->start);
	return ok;
}

int main(int argc, char **argv)
{
	struct options o;
	int rc = parse_options(argc, argv, &o);
	if (rc != EXIT_OK)
		return rc;
	struct sigaction stop = {.sa_handler = on_stop_signal};
	sigemptyset(&stop.sa_mask);
	if (sigaction(SIGINT, &stop, NULL) != 0 || sigaction(SIGTERM, &stop, NULL) != 0) {
		say("cannot handle SIGINT/SIGTERM: %s", strerror(errno));
		return EXIT_FAILED;
	}
	rc = EXIT_FAILED;
	struct bench_client *clients = xcalloc(o.clients, sizeof(*clients));
	struct bench_shared sh = {.o = &o};
	atomic_init(&sh.issued, 0);

	/* Only the users some client acts as: client i is user i mod orgs. */
	unsigned used = o.orgs < o.clients ? o.orgs : o.clients;
	for (unsigned i = 0; i < used; i++) {
		if (!log_in(&o, &o.users[i]))
			goto out;
	}
	const Tulay__V1__HelloReply *hello = tulay_server_hello(o.users[0].login);
	if (hello != NULL && hello->max_requests_in_flight > 0 &&
	    o.depth > hello->max_requests_in_flight) {
		say("--depth %u is more than the server takes in flight per connection (%u): "
		    "it would stop reading",
		    o.depth, hello->max_requests_in_flight);
		rc = EXIT_USAGE_ERR;
		goto out;
	}
	if (o.op == OP_GET) {
		for (unsigned i = 0; i < used; i++) {
			if (!warm_up_references(&o, &o.users[i]))
				goto out;
		}
	}

	if (!run_clients(&o, clients, &sh))
		goto out;
	struct bench_result r;
	summarise(&o, clients, sh.t0_ms, &r);
	print_result(&o, &r);
	rc = r.errors > 0 && !o.allow_errors ? EXIT_FAILED : EXIT_OK;
	if (r.ok == 0 && !o.allow_errors)
		rc = EXIT_FAILED;
out:
	for (unsigned i = 0; i < o.clients; i++) {
		free(clients[i].slots);
		free(clients[i].latencies);
	}
	free(clients);
	for (size_t i = 0; i < o.n_users; i++) {
		struct bench_user *u = &o.users[i];
		log_out(u);
		for (size_t k = 0; k < u->n_references; k++)
			free(u->references[k]);
		free(u->references);
		free(u->token);
		if (u->password != NULL)
			explicit_bzero(u->password, strlen(u->password));
		free(u->password);
		free(u->username);
		free(u->organisation);
	}
	free(o.users);
	return rc;
}
