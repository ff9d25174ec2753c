#include "cli_rpc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cli_outbox.h"

#ifndef TULAY_VERSION
#define TULAY_VERSION "unknown"
#endif
#define CLIENT_NAME "tulay-cli/" TULAY_VERSION

/* Protocol field names (paths in the request message) as the CLI's flags. */
static const struct {
	const char *field;
	const char *flag;
} field_flags[] = {
    {"worker_nationality", "--nationality"},
    {"country_of_work", "--country-of-work"},
    {"sector", "--sector"},
    {"employer", "--employer"},
    {"work_started_on", "--work-start"},
    {"work_ended_on", "--work-end"},
    {"amount_claimed", "--amount"},
    {"amount_claimed.minor_units", "--amount"},
    {"amount_claimed.currency", "--currency"},
    {"workers", "--workers"},
    {"organisation", "--org"},
    {"idempotency_key", "--idempotency-key"},
    {"acronym", "--acronym"},
    {"name", "--name"},
    {"kind", "--kind"},
    {"country", "--country"},
    {"status", "--status"},
    {"limit", "--limit"},
    {"reference", "REFERENCE"},
    {"username", "--username"},
    {"password", "password"},
    {"role", "--role"},
    {"network", "--network"},
    {"member", "--member"},
    {"since", "--since"},
    {"until", "--until"},
    {"city", "--city"},
    {"expected_version", "--expected-version"},
    {"worker.name", "--worker-name"},
    {"worker.id_number", "--worker-id-number"},
    {"worker.phone", "--worker-phone"},
    {"worker_id_number", "--worker-id-number"},
    {"current_password", "current password"},
    {"new_password", "new password"},
    {"reason", "--reason"},
    {"text", "--text"},
    {"occurred_on", "--on"},
    {"recruitment_agency", "--agency"},
    {"recruitment_fee", "--agency-fee"},
    {"recruitment_fee.minor_units", "--agency-fee"},
    {"recruitment_fee.currency", "--agency-fee-currency"},
    {"contract_wage", "--contract-wage"},
    {"contract_wage.minor_units", "--contract-wage"},
    {"contract_wage.currency", "--wage-currency"},
    {"actual_wage", "--actual-wage"},
    {"actual_wage.minor_units", "--actual-wage"},
    {"actual_wage.currency", "--wage-currency"},
    {"forum", "--forum"},
    {"filing_deadline", "--filing-deadline"},
    {"exploitation_means", "--exploitation"},
    {"amount_awarded", "--awarded"},
    {"amount_awarded.minor_units", "--awarded"},
    {"amount_awarded.currency", "--currency"},
    {"amount_recovered", "--recovered"},
    {"amount_recovered.minor_units", "--recovered"},
    {"amount_recovered.currency", "--currency"},
    {"office", "--office"},
    {"co_workers", "--co-worker"},
    {"nationality", "--nationality"},
    {"deported_from", "--deported-from"},
    {"deported_to", "--deported-to"},
    {"grounds", "--grounds"},
    {"arrested_on", "--arrested-on"},
    {"arrested_on.date", "--arrested-on"},
    {"arrest_place", "--arrest-place"},
    {"detained_on", "--detained-on"},
    {"detained_on.date", "--detained-on"},
    {"detention_place", "--detention-place"},
    {"detention_type", "--detention-type"},
    {"released_on", "--released-on"},
    {"released_on.date", "--released-on"},
    {"deported_on", "--deported-on"},
    {"deported_on.date", "--deported-on"},
    {"legal_counsel", "--counsel"},
    {"consular_notified", "--consular-notified"},
    {"family_separated", "--family-separated"},
    {"person.name", "--person-name"},
    {"person.id_number", "--person-id-number"},
    {"stage", "--stage"},
    {"on", "--on"},
    {"on.date", "--on"},
    {"note", "--note"},
    {"title", "--title"},
    {"source_document", "--source"},
    {"source_date", "--source-date"},
    {"addressed_to", "--addressed-to"},
    {"target_body", "--target-body"},
    {"theme", "--theme"},
    {"co_signers", "--co-signers"},
    {"evidence", "--evidence"},
    {"evidence.reference", "--case"},
    {"evidence.organisation", "--case-org"},
    {"to_organisation", "--to"},
    {"consent", "--consent-on"},
    {"consent.given_on", "--consent-on"},
    {"consent.form", "--consent"},
    {"referral_id", "REFERRAL"},
    {"opened_from", "--opened-from"},
    {"opened_to", "--opened-to"},
    {"page_token", "--page-token"},
    {"group_by", "--by"},
    {"period", "--by"},
    {"from_month", "--from"},
    {"to_month", "--to"},
    {"reporting_currency", "--reporting-currency"},
    {"rate", "RATE"},
    {"valid_from", "--from"},
};

/* The exceptions to field_flags, where one command sets a field with another flag:
 * `claim list` filters on `status` with --status, `claim status` sets it with --to. */
static const struct {
	const char *command;
	const char *field;
	const char *flag;
} command_field_flags[] = {
    {"claim status", "status", "--to"},
    {"recommendation status", "status", "--to"},
    {"rate set", "currency", "CURRENCY"},
    {"rate set", "reporting_currency", "REPORTING_CURRENCY"},
};

/* The flag of `field` for `command` (cli->command, NULL outside a command). */
static const char *field_flag(const char *command, const char *field)
{
	for (size_t i = 0;
	     command != NULL && i < sizeof(command_field_flags) / sizeof(command_field_flags[0]);
	     i++) {
		if (strcmp(command_field_flags[i].command, command) == 0 &&
		    strcmp(command_field_flags[i].field, field) == 0)
			return command_field_flags[i].flag;
	}
	for (size_t i = 0; i < sizeof(field_flags) / sizeof(field_flags[0]); i++) {
		if (strcmp(field_flags[i].field, field) == 0)
			return field_flags[i].flag;
	}
	return field; /* a field no flag sets: its protocol name is the best we have */
}

/* What a code means, for a refusal that came without a message. */
static const char *code_meaning(Tulay__V1__Code code)
{
	switch (code) {
	case TULAY__V1__CODE__INVALID_ARGUMENT:
		return "the request has invalid values";
	case TULAY__V1__CODE__NOT_FOUND:
		return "no such record, or not one you may see";
	case TULAY__V1__CODE__ALREADY_EXISTS:
		return "it exists already";
	case TULAY__V1__CODE__PERMISSION_DENIED:
		return "your role does not allow this";
	case TULAY__V1__CODE__RESOURCE_EXHAUSTED:
		return "a limit of the server was reached";
	case TULAY__V1__CODE__FAILED_PRECONDITION:
		return "the record is not in a state that allows this";
	case TULAY__V1__CODE__UNAVAILABLE:
		return "the server cannot do this now: try again later";
	case TULAY__V1__CODE__UNAUTHENTICATED:
		return "log in with 'tulay login'";
	case TULAY__V1__CODE__INTERNAL:
		return "the server failed: its log has the details";
	default:
		return "the server refused the request";
	}
}

static void retry_hint(const struct rpc *rpc)
{
	if (rpc->idempotency_key == NULL)
		return;
	char hex[2 * TULAY_IDEMPOTENCY_KEY_BYTES + 1];
	args_key_hex(rpc->idempotency_key, hex);
	cli_detail("%s. Re-running the same command with", rpc->uncertain);
	cli_detail("  --idempotency-key %s", hex);
	cli_detail("is safe: the server never applies one key twice.");
}

int rpc_report_status(const struct rpc *rpc, const Tulay__V1__Status *status)
{
	cli_error(rpc->cli, "%s: %s", tulay_code_name(status->code),
		  status->message[0] != '\0' ? status->message : code_meaning(status->code));
	for (size_t i = 0; i < status->n_field_errors; i++) {
		const Tulay__V1__FieldError *fe = status->field_errors[i];
		cli_detail("%s: %s", field_flag(rpc->cli->command, fe->field), fe->problem);
	}
	if (status->code == TULAY__V1__CODE__UNAVAILABLE && status->outcome_unknown)
		retry_hint(rpc);
	return CLI_EXIT_REFUSED;
}

int rpc_report_failure(const struct rpc *rpc, int err)
{
	const char *why = tulay_last_error(rpc->client);
	switch (err) {
	case TULAY_E_USAGE:
		cli_error(rpc->cli, "%s", why);
		return CLI_EXIT_USAGE;
	case TULAY_E_NOMEM:
		cli_error(rpc->cli, "out of memory");
		return CLI_EXIT_LOCAL;
	case TULAY_E_RESOLVE:
	case TULAY_E_CONNECT:
		cli_error(rpc->cli, "cannot reach the server: %s", why);
		cli_detail("Is tulayd running there? Choose the server with --server or "
			   "TULAY_SERVER.");
		return CLI_EXIT_UNREACHABLE;
	case TULAY_E_VERIFY:
		cli_error(rpc->cli, "refusing the server: %s", why);
		cli_detail("--ca-file (or TULAY_CA_FILE) must be the CA certificate that signed "
			   "the server's, and --server the name or address in it.");
		return CLI_EXIT_UNREACHABLE;
	case TULAY_E_TLS:
		cli_error(rpc->cli, "%s", why);
		cli_detail("Does the server use TLS 1.3? A tulayd without tls_cert talks "
			   "plaintext: leave out --ca-file for a server on this computer.");
		return CLI_EXIT_UNREACHABLE;
	default: /* the sentence says it all: "no answer from ... within 10000 ms" */
		cli_error(rpc->cli, "%s", why);
		retry_hint(rpc);
		return CLI_EXIT_UNREACHABLE;
	}
}

const char *rpc_server(const struct cli *cli, const char *session_server)
{
	if (cli->server != NULL && cli->server[0] != '\0')
		return cli->server;
	if (session_server != NULL && session_server[0] != '\0')
		return session_server;
	return TULAY_DEFAULT_SERVER;
}

/* Says why a command takes longer: libtulay is about to send a refused request again. */
static void on_retry(void *arg, const Tulay__V1__Request *req, const Tulay__V1__Status *status,
		     unsigned attempt, unsigned delay_ms)
{
	(void)req;
	const struct rpc *rpc = arg;
	cli_error(rpc->cli, "%s: %s (sending it again in %.1f s: attempt %u of %u)",
		  tulay_code_name(status->code),
		  status->message[0] != '\0' ? status->message : code_meaning(status->code),
		  delay_ms / 1000.0, attempt, rpc->cli->retries + 1);
}

int rpc_connect(struct rpc *rpc, const char *server, const struct config_session *session)
{
	const struct cli *cli = rpc->cli;
	uint32_t timeout_s = cli->timeout_s;
	int timeout_ms = timeout_s > INT_MAX / 1000 ? INT_MAX : (int)timeout_s * 1000;
	rpc->ca_file = cli->ca_file;
	if (rpc->ca_file == NULL && session != NULL && session->server != NULL &&
	    strcmp(session->server, server) == 0)
		rpc->ca_file = session->ca_file;
	int rc;
	if (rpc->ca_file != NULL) {
		rc = tulay_connect_tls(server, rpc->ca_file, timeout_ms, CLIENT_NAME, &rpc->client);
	} else if (!tulay_server_is_loopback(server)) {
		cli_error(cli, "%s is not on this computer: tulay talks to it over TLS only",
			  server);
		cli_detail("Give the CA certificate that signed the server's certificate with "
			   "--ca-file FILE or TULAY_CA_FILE.");
		return CLI_EXIT_USAGE;
	} else {
		rc = tulay_connect(server, timeout_ms, CLIENT_NAME, &rpc->client);
	}
	if (rc < 0)
		return rpc_report_failure(rpc, rc);
	/* --retries is checked against the same bounds as libtulay's, so this cannot fail. */
	(void)tulay_set_max_attempts(rpc->client, cli->retries + 1);
	tulay_set_retry_observer(rpc->client, on_retry, rpc);
	return CLI_EXIT_OK;
}

int rpc_begin(struct cli *cli, struct rpc *rpc)
{
	*rpc = (struct rpc){.cli = cli};
	switch (config_session_load(cli, &rpc->session, false)) {
	case CONFIG_OK:
		break;
	case CONFIG_MISSING:
		cli_error(cli, "not logged in: run 'tulay login'");
		return CLI_EXIT_REFUSED;
	case CONFIG_FAILED:
		return CLI_EXIT_REFUSED;
	}
	return rpc_connect(rpc, rpc_server(cli, rpc->session.server), &rpc->session);
}

/* A refused Authenticate: mostly a session that expired or was logged out. */
static int report_auth_failure(struct rpc *rpc, const Tulay__V1__Status *status)
{
	rpc->unavailable = status->code == TULAY__V1__CODE__UNAVAILABLE;
	if (status->code != TULAY__V1__CODE__UNAUTHENTICATED)
		return rpc_report_status(rpc, status);
	rpc->session_ended = true;
	if (!rpc->quiet_ended)
		cli_error(rpc->cli,
			  "UNAUTHENTICATED: your session expired or was ended: run 'tulay login'");
	return CLI_EXIT_REFUSED;
}

int rpc_authenticate(struct rpc *rpc, Tulay__V1__Response **out)
{
	*out = NULL;
	Tulay__V1__Response *resp = NULL;
	int rc = tulay_authenticate(rpc->client, rpc->session.token, &resp);
	if (rc < 0)
		return rpc_report_failure(rpc, rc);
	if (resp->status->code != TULAY__V1__CODE__OK) {
		rc = report_auth_failure(rpc, resp->status);
		tulay_response_free(resp);
		return rc;
	}
	rpc->authenticated = true;
	*out = resp;
	return CLI_EXIT_OK;
}

/* Sends Authenticate and `req` back to back, then takes their responses in whatever order
 * they come. Stores req's Response in *out once Authenticate succeeded. A refusal that says
 * "try again" (UNAVAILABLE) is retried as libtulay retries tulay_call: the request's own
 * with tulay_retry_unavailable; Authenticate's by authenticating alone and then sending
 * the request, since without a session the request was not applied. */
static int call_pipelined(struct rpc *rpc, Tulay__V1__Request *req, Tulay__V1__Response **out)
{
	Tulay__V1__Authenticate auth = TULAY__V1__AUTHENTICATE__INIT;
	auth.session_token = rpc->session.token;
	Tulay__V1__Request auth_req = TULAY__V1__REQUEST__INIT;
	auth_req.body_case = TULAY__V1__REQUEST__BODY_AUTHENTICATE;
	auth_req.authenticate = &auth;
	Tulay__V1__Response *auth_resp = NULL, *resp = NULL;
	uint64_t auth_id = 0, req_id = 0;
	int result = CLI_EXIT_OK;

	int rc = tulay_send(rpc->client, &auth_req, &auth_id);
	if (rc == 0)
		rc = tulay_send(rpc->client, req, &req_id);
	while (rc == 0 && (auth_resp == NULL || resp == NULL)) {
		Tulay__V1__Response *r;
		rc = tulay_recv(rpc->client, &r);
		if (rc < 0)
			break;
		if (r->id == auth_id && auth_resp == NULL) {
			auth_resp = r;
		} else if (r->id == req_id && resp == NULL) {
			resp = r;
		} else if (r->id == 0 && r->status->reconnect) {
			/* The server's GoAway: it answers both all the same (UNAVAILABLE, to
			 * send again elsewhere, when it had not read them). */
			tulay_response_free(r);
		} else {
			/* Id 0 with an error: the server could not read a request and closes. */
			if (r->id == 0 && r->status->code != TULAY__V1__CODE__OK)
				result = rpc_report_status(rpc, r->status);
			else
				cli_error(rpc->cli,
					  "the server answered a request that was not sent");
			if (result == CLI_EXIT_OK)
				result = CLI_EXIT_UNREACHABLE;
			tulay_response_free(r);
			goto out;
		}
		/* Without a session the request cannot have been applied: no need to wait. */
		if (auth_resp != NULL && auth_resp->status->code != TULAY__V1__CODE__OK)
			break;
	}
	/* The session to take up again should the request fail over to another server. */
	if (rc == 0 && auth_resp->status->code == TULAY__V1__CODE__OK)
		rc = tulay_remember_session(rpc->client, rpc->session.token);
	if (rc == 0 && auth_resp->status->code == TULAY__V1__CODE__UNAVAILABLE &&
	    rpc->cli->retries > 0) {
		/* Said as for any resend: the user waits for it. */
		on_retry(rpc, &auth_req, auth_resp->status, 2, 0);
		tulay_response_free(auth_resp);
		tulay_response_free(resp);
		auth_resp = resp = NULL;
		rc = tulay_authenticate(rpc->client, rpc->session.token, &auth_resp);
		if (rc == 0 && auth_resp->status->code == TULAY__V1__CODE__OK)
			rc = tulay_call(rpc->client, req, &resp);
	} else if (rc == 0 && auth_resp->status->code == TULAY__V1__CODE__OK) {
		rc = tulay_retry_unavailable(rpc->client, req, &resp);
	}
	if (rc < 0)
		result = rpc_report_failure(rpc, rc);
	else if (auth_resp->status->code != TULAY__V1__CODE__OK)
		result = report_auth_failure(rpc, auth_resp->status);
	if (result != CLI_EXIT_OK)
		goto out;
	rpc->authenticated = true;
	*out = resp;
	resp = NULL;
out:
	tulay_response_free(auth_resp);
	tulay_response_free(resp);
	return result;
}

int rpc_call(struct rpc *rpc, Tulay__V1__Request *req, Tulay__V1__Response__BodyCase expect,
	     Tulay__V1__Response **out)
{
	*out = NULL;
	Tulay__V1__Response *resp = NULL;
	struct outbox_pending pending;
	int rc = outbox_resolve_local(rpc->cli, req, &pending);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (pending.n > 0) {
		cli_error(rpc->cli, "%s is still in the outbox: run 'tulay sync' first",
			  pending.placeholder[0]);
		return CLI_EXIT_REFUSED;
	}
	if (rpc->authenticated) {
		rc = tulay_call(rpc->client, req, &resp);
		rc = rc < 0 ? rpc_report_failure(rpc, rc) : CLI_EXIT_OK;
	} else {
		rc = call_pipelined(rpc, req, &resp);
	}
	if (rc != CLI_EXIT_OK)
		return rc;
	if (resp->status->code != TULAY__V1__CODE__OK) {
		rpc->unavailable = resp->status->code == TULAY__V1__CODE__UNAVAILABLE;
		rc = rpc_report_status(rpc, resp->status);
	} else if (expect != TULAY__V1__RESPONSE__BODY__NOT_SET && resp->body_case != expect) {
		cli_error(rpc->cli, "the server sent an unexpected kind of response");
		rc = CLI_EXIT_UNREACHABLE;
	}
	if (rc != CLI_EXIT_OK) {
		tulay_response_free(resp);
		return rc;
	}
	*out = resp;
	return CLI_EXIT_OK;
}

/* Asks for the pages of a list into `list`: the first, or with `all` every one. */
static int call_pages(struct rpc *rpc, const struct rpc_lister *lister, Tulay__V1__Request *req,
		      char **page_token, bool all, struct output_list *list)
{
	char *const first_token = *page_token;
	char *token = NULL; /* our copy of the token of the page asked for */
	int rc;
	for (;;) {
		Tulay__V1__Response *resp;
		rc = rpc_call(rpc, req, lister->expect, &resp);
		if (rc != CLI_EXIT_OK)
			break;
		const char *next = lister->page(list, resp);
		bool more = next[0] != '\0';
		char *next_copy = NULL;
		if (more && !all && lister->page_token_option) {
			cli_error(rpc->cli,
				  "there are more %s: add --all to list them all, or "
				  "--page-token %s for the next page",
				  lister->noun, next);
		} else if (more && !all) {
			cli_error(rpc->cli, "there are more %s: add --all to list them all",
				  lister->noun);
		} else if (more && token != NULL && strcmp(next, token) == 0) {
			cli_error(rpc->cli, "the server sent the same page twice");
			rc = CLI_EXIT_UNREACHABLE;
		} else if (more && (next_copy = strdup(next)) == NULL) {
			cli_error(rpc->cli, "out of memory");
			rc = CLI_EXIT_LOCAL;
		}
		tulay_response_free(resp); /* `next` is gone with it */
		if (!more || !all || rc != CLI_EXIT_OK)
			break;
		free(token);
		token = next_copy;
		*page_token = token;
	}
	*page_token = first_token;
	free(token);
	return rc;
}

int rpc_list(struct cli *cli, const struct rpc_lister *lister, Tulay__V1__Request *req,
	     char **page_token, bool all)
{
	struct rpc rpc;
	struct output_list list = {0};
	int rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK)
		rc = call_pages(&rpc, lister, req, page_token, all, &list);
	if (rc == CLI_EXIT_OK)
		rc = output_show_list(cli, &list, lister->spec);
	output_list_clear(&list);
	rpc_end(&rpc);
	return rc;
}

int rpc_show(struct cli *cli, rpc_getter *get, const char *name, const char *org,
	     int (*print)(const struct cli *cli, const Tulay__V1__Response *resp))
{
	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	int rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK)
		rc = get(&rpc, name, org != NULL ? org : "", &resp);
	if (rc == CLI_EXIT_OK)
		rc = print(cli, resp);
	tulay_response_free(resp);
	rpc_end(&rpc);
	return rc;
}

int rpc_once(struct cli *cli, Tulay__V1__Request *req, Tulay__V1__Response__BodyCase expect,
	     const uint8_t *key, const char *uncertain, Tulay__V1__Response **out)
{
	const struct rpc_change once = {
	    .req = req,
	    .expect = expect,
	    .key = key,
	    .uncertain = uncertain,
	};
	return rpc_change(cli, &once, out);
}

/* A write naming cases still in the outbox: kept there, after them. */
static int queue_behind(struct cli *cli, const struct rpc_change *change,
			const struct outbox_pending *pending, bool fetched)
{
	if (change->key == NULL || !outbox_sealable(change->req) || cli->no_queue) {
		cli_error(cli, "%s is still in the outbox: run 'tulay sync' first",
			  pending->placeholder[0]);
		return CLI_EXIT_REFUSED;
	}
	if (fetched) {
		cli_error(cli,
			  "%s is still in the outbox, so its version cannot be looked up: give "
			  "--expected-version (1 for a case nothing else changed yet)",
			  pending->placeholder[0]);
		return CLI_EXIT_USAGE;
	}
	struct config_session session;
	int rc;
	switch (config_session_load(cli, &session, false)) {
	case CONFIG_OK:
		rc = outbox_queue(cli, &session, change->req, change->key, pending);
		break;
	case CONFIG_MISSING:
		cli_error(cli, "not logged in: run 'tulay login'");
		rc = CLI_EXIT_REFUSED;
		break;
	default:
		rc = CLI_EXIT_REFUSED;
	}
	config_session_clear(&session);
	return rc;
}

int rpc_change(struct cli *cli, const struct rpc_change *change, Tulay__V1__Response **out)
{
	struct rpc rpc;
	*out = NULL;
	bool fetched = change->expected != NULL && *change->expected == 0;
	char uncertain[256];
	/* A case named by its local id: synced, its reference goes in; still in the outbox,
	 * this write waits there behind it, without trying the server. */
	struct outbox_pending pending;
	int rc = outbox_resolve_local(cli, change->req, &pending);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (pending.n > 0)
		return queue_behind(cli, change, &pending, fetched);
	rc = rpc_begin(cli, &rpc);
	bool session_read = rpc.session.token != NULL;
	if (rc == CLI_EXIT_OK && fetched)
		rc = change->current(&rpc, change->ctx, change->expected);
	bool looked_up = rc == CLI_EXIT_OK;
	if (rc == CLI_EXIT_OK) {
		rpc.idempotency_key = change->key;
		rpc.uncertain = change->uncertain;
		if (change->uncertain != NULL && fetched) {
			snprintf(uncertain, sizeof(uncertain),
				 "%s (this attempt sent --expected-version %lld: add that too)",
				 change->uncertain, (long long)*change->expected);
			rpc.uncertain = uncertain;
		}
		rc = rpc_call(&rpc, change->req, change->expect, out);
		if (rc == CLI_EXIT_REFUSED && change->refused != NULL)
			change->refused(&rpc, change->ctx,
					change->expected != NULL ? *change->expected : 0);
	}
	/* The server cannot be reached, or cannot do it now, or the outcome is unknown: a
	 * write about a case waits in the outbox, with its key, for 'tulay sync'. */
	bool unreached = rc == CLI_EXIT_UNREACHABLE || (rc == CLI_EXIT_REFUSED && rpc.unavailable);
	if (unreached && session_read && change->key != NULL && outbox_sealable(change->req) &&
	    !cli->no_queue) {
		if (!looked_up && fetched)
			cli_detail(
			    "It was not kept in the outbox: the change must name the version "
			    "you saw. Give --expected-version (as 'show' printed it) to queue "
			    "it.");
		else
			rc = outbox_queue(cli, &rpc.session, change->req, change->key, NULL);
	}
	rpc_end(&rpc);
	return rc;
}

void rpc_end(struct rpc *rpc)
{
	tulay_close(rpc->client);
	rpc->client = NULL;
	config_session_clear(&rpc->session);
}
