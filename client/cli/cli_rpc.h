/* Talking to tulayd for the CLI's commands: connecting, authenticating with the saved
 * session, and turning every failure into a message on stderr and an exit code.
 *
 * An authenticated command opens one connection and pipelines Authenticate and its
 * request (two frames, one round trip); the server applies them in order. */
#ifndef TULAY_CLI_RPC_H
#define TULAY_CLI_RPC_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "cli_config.h"
#include "cli_output.h"
#include "libtulay.h"

struct rpc {
	struct cli *cli;
	struct tulay_client *client;
	struct config_session session;
	const char *ca_file; /* the CA file of the connection (TLS), NULL for plaintext */
	bool authenticated;
	/* Set by a command that sends a write, so that a failure whose outcome is unknown
	 * can say so and how to retry safely: the request's idempotency key, and a sentence
	 * such as "the claim may or may not have been logged". */
	const uint8_t *idempotency_key;
	const char *uncertain;
	/* Set when the server refused the session (UNAUTHENTICATED on Authenticate). With
	 * quiet_ended set by the command, that refusal is not reported: logout takes it as
	 * done. */
	bool session_ended;
	bool quiet_ended;
	/* Set when the server answered UNAVAILABLE (after libtulay's retries): it, or its
	 * database, cannot do it now. A write may then wait in the outbox. */
	bool unavailable;
};

/* The server to use: --server or TULAY_SERVER (cli->server), else the session's, else
 * TULAY_DEFAULT_SERVER. */
const char *rpc_server(const struct cli *cli, const char *session_server);

/* Connects rpc->client to `server` (rpc->cli must be set): over TLS with --ca-file, else
 * with the CA file of `session` (may be NULL) when it was opened on the same server, else
 * in plaintext, which only a server on this computer gets. Sets rpc->ca_file. Returns
 * CLI_EXIT_OK, or the exit code after saying why not (CLI_EXIT_USAGE for a server that
 * is not on this computer and no CA file). */
int rpc_connect(struct rpc *rpc, const char *server, const struct config_session *session)
    __attribute__((warn_unused_result));

/* Reads the session file and connects to the server. Returns CLI_EXIT_OK, or the exit
 * code after saying why not (CLI_EXIT_REFUSED when not logged in). Call rpc_end after
 * either. */
int rpc_begin(struct cli *cli, struct rpc *rpc) __attribute__((warn_unused_result));

/* Sends Authenticate alone and hands back its Response (status OK, body Session), which
 * the caller frees. Returns CLI_EXIT_OK or the exit code after saying what failed. */
int rpc_authenticate(struct rpc *rpc, Tulay__V1__Response **out)
    __attribute__((warn_unused_result));

/* Sends `req` (after Authenticate, pipelined, on the first call) and hands back its
 * Response, with status OK and body `expect` (any body for BODY__NOT_SET), which the
 * caller frees. Returns CLI_EXIT_OK, or the exit code after saying what failed. */
int rpc_call(struct rpc *rpc, Tulay__V1__Request *req, Tulay__V1__Response__BodyCase expect,
	     Tulay__V1__Response **out) __attribute__((warn_unused_result));

/* Takes one page of a list Response: adds its items to `list` and returns its
 * next_page_token (owned by the Response). */
typedef const char *(*rpc_page_fn)(struct output_list *list, const Tulay__V1__Response *resp);

/* What a list command asks for and how it prints it. */
struct rpc_lister {
	Tulay__V1__Response__BodyCase expect; /* the body of each page */
	const char *noun;                     /* "claims": for "there are more claims" */
	bool page_token_option; /* the command takes --page-token: name the next page's */
	rpc_page_fn page;
	const struct output_list_spec *spec;
};

/* Runs a list command: connects with the session, sends `req` (whose page_token field is
 * *page_token) and, with `all`, asks for every next page until the server says there is
 * none; without it and with more pages left, says so on stderr. Then prints the items.
 * Returns the exit code, after saying what failed. *page_token is as it was afterwards. */
int rpc_list(struct cli *cli, const struct rpc_lister *lister, Tulay__V1__Request *req,
	     char **page_token, bool all) __attribute__((warn_unused_result));

/* Asks for one record by its key: `name` (a reference, an acronym) of organisation `org`
 * ("": the caller's own). Returns the exit code, with the Response in *out. */
typedef int rpc_getter(struct rpc *rpc, const char *name, const char *org,
		       Tulay__V1__Response **out);

/* Runs a show command: connects with the session, asks get(name, org (NULL: your own))
 * and prints the answer with print. Returns the exit code, after saying what failed. */
int rpc_show(struct cli *cli, rpc_getter *get, const char *name, const char *org,
	     int (*print)(const struct cli *cli, const Tulay__V1__Response *resp))
    __attribute__((warn_unused_result));

/* Prints the server's refusal: code name and message, then one line per field error named
 * as the CLI's flag (worker_nationality as --nationality, ...). Returns CLI_EXIT_REFUSED. */
int rpc_report_status(const struct rpc *rpc, const Tulay__V1__Status *status);

/* Prints why the library failed with `err` (a TULAY_E_*). Returns the exit code:
 * CLI_EXIT_UNREACHABLE mostly; CLI_EXIT_USAGE for a malformed --server. */
int rpc_report_failure(const struct rpc *rpc, int err);

/* One request on a connection of its own: rpc_begin, rpc_call with the idempotency key
 * and the sentence for an unknown outcome (either may be NULL: a read), rpc_end. Returns
 * the exit code, with the Response (body `expect`) in *out, which the caller frees (NULL
 * when nothing came). */
int rpc_once(struct cli *cli, Tulay__V1__Request *req, Tulay__V1__Response__BodyCase expect,
	     const uint8_t *key, const char *uncertain, Tulay__V1__Response **out)
    __attribute__((warn_unused_result));

/* Looks up, on the change's own connection, what a change names when the user did not
 * give it: the version the server shows now (--expected-version), the open proposal
 * (--proposal). `ctx` is the change's. Returns CLI_EXIT_OK with *current set, or the exit
 * code after saying why. */
typedef int rpc_current_fn(struct rpc *rpc, const void *ctx, int64_t *current);

/* A request that names what the user decided on: a version, an open proposal. */
struct rpc_change {
	Tulay__V1__Request *req;
	Tulay__V1__Response__BodyCase expect; /* the body of the answer */
	int64_t *expected;       /* the field of req naming it; 0: ask current() for it */
	rpc_current_fn *current; /* may be NULL when expected is NULL: names nothing */
	const void *ctx;         /* for current and refused */
	/* A write's idempotency key and its sentence for an unknown outcome, as for
	 * rpc_once (NULL: a read). */
	const uint8_t *key;
	const char *uncertain;
	/* When set, called on the connection after the server refused the change that
	 * named `sent`, to say what the record is like now. */
	void (*refused)(struct rpc *rpc, const void *ctx, int64_t sent);
};

/* rpc_once for a change: between rpc_begin and rpc_call, when *change->expected is 0,
 * sets it with change->current. A retry must send the very request of the attempt,
 * version included, while the server may by then show a newer one, made by that attempt
 * itself: so the sentence for an unknown outcome then ends with the version this attempt
 * sent ("(this attempt sent --expected-version N: add that too)"). Returns the exit
 * code, with the Response (body `expect`) in *out, which the caller frees (NULL when
 * nothing came). */
/* A write about a case that the server cannot take now (unreachable, UNAVAILABLE, or an
 * unknown outcome) is kept in the outbox instead (unless --no-queue): then the return is
 * CLI_EXIT_QUEUED, with no Response. rpc_once does the same. */
int rpc_change(struct cli *cli, const struct rpc_change *change, Tulay__V1__Response **out)
    __attribute__((warn_unused_result));

/* Closes the connection and forgets the session. */
void rpc_end(struct rpc *rpc);

#endif
