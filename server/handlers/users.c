/* Users: create, list and disable them (admins anywhere, org admins in their own
 * organisation), and change one's own password. Passwords are hashed with argon2id on the
 * thread pool; only the hash is stored. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"
#include "conn.h"
#include "handlers.h"
#include "request.h"
#include "server.h"
#include "throttle.h"
#include "validate.h"
#include "vault.h"

#define PASSWORD_MIN_CHARS 10
#define PASSWORD_MAX_CHARS 1000

/* The columns user_from_row reads, each by its name (struct user_columns). */
#define USER_COLUMNS                                                                               \
	"u.user_id, u.username, o.acronym AS organisation, u.role, "                               \
	"u.disabled_at IS NOT NULL AS disabled, u.version, "                                       \
	"extract(epoch FROM u.created_at)::bigint AS created_at"

const struct db_statement users_statements[] = {
    {"user_create", "SELECT user_id, outcome FROM create_user($1, $2, $3, $4, $5, $6)"},
    {"user_by_key", "SELECT " USER_COLUMNS " FROM users u JOIN organisations o "
		    "ON o.org_id = u.org_id WHERE u.idempotency_key = $1"},
    {"user_list", "SELECT " USER_COLUMNS " FROM users u JOIN organisations o "
		  "ON o.org_id = u.org_id WHERE u.org_id = $1 ORDER BY u.username"},
    /* Disabling ends the user's sessions in the same statement. */
    {"user_disable",
     "WITH d AS (UPDATE users SET disabled_at = now(), version = version + 1 "
     "           WHERE username = $1 AND version = $2 AND disabled_at IS NULL "
     "           RETURNING *), "
     "     s AS (UPDATE sessions SET ended_at = now() "
     "           WHERE user_id IN (SELECT user_id FROM d) AND ended_at IS NULL) "
     "SELECT " USER_COLUMNS " FROM d u JOIN organisations o ON o.org_id = u.org_id"},
    {"user_state", "SELECT version, disabled_at IS NOT NULL AS disabled, "
		   "user_id = tulay_user() AS is_caller "
		   "FROM users WHERE username = $1"},
    {"user_own_hash", "SELECT password_hash FROM users WHERE user_id = tulay_user()"},
    {"user_set_password",
     "WITH p AS (UPDATE users SET password_hash = $1, version = version + 1 "
     "           WHERE user_id = tulay_user() RETURNING user_id) "
     "UPDATE sessions SET ended_at = now() WHERE user_id IN (SELECT user_id FROM p) "
     "   AND token_hash <> $2 AND ended_at IS NULL"},
};
const unsigned users_statements_count = N_ELEMS(users_statements);

/* The indexes of the USER_COLUMNS of a result, looked up once for all its rows. */
struct user_columns {
	int user_id, username, organisation, role, disabled, version, created_at;
};

static struct user_columns user_columns(const PGresult *res)
{
	return (struct user_columns){
	    .user_id = db_column(res, "user_id"),
	    .username = db_column(res, "username"),
	    .organisation = db_column(res, "organisation"),
	    .role = db_column(res, "role"),
	    .disabled = db_column(res, "disabled"),
	    .version = db_column(res, "version"),
	    .created_at = db_column(res, "created_at"),
	};
}

static Tulay__V1__User *user_from_row(struct request *req, const PGresult *res, int row,
				      const struct user_columns *c)
{
	Tulay__V1__User *u = request_alloc(req, sizeof(*u));
	if (u == NULL)
		return NULL;
	tulay__v1__user__init(u);
	u->id = strtoll(PQgetvalue(res, row, c->user_id), NULL, 10);
	u->username = arena_strdup(&req->arena, PQgetvalue(res, row, c->username));
	u->organisation = arena_strdup(&req->arena, PQgetvalue(res, row, c->organisation));
	u->role = (Tulay__V1__Role)VALUE_OF(role, PQgetvalue(res, row, c->role));
	u->disabled = strcmp(PQgetvalue(res, row, c->disabled), "t") == 0;
	u->version = strtoll(PQgetvalue(res, row, c->version), NULL, 10);
	u->created_at = strtoll(PQgetvalue(res, row, c->created_at), NULL, 10);
	return u->username != NULL && u->organisation != NULL ? u : NULL;
}

static void reply_user(struct request *req, const PGresult *res)
{
	struct user_columns cols = user_columns(res);
	Tulay__V1__User *u = PQntuples(res) == 1 ? user_from_row(req, res, 0, &cols) : NULL;
	if (u == NULL) {
		request_fail(req, TULAY__V1__CODE__INTERNAL, "the user could not be read back");
		return;
	}
	REQUEST_REPLY(req, USER, user, u);
}

static bool is_user_manager(const struct request *req)
{
	return req->session.role == TULAY__V1__ROLE__ROLE_ADMIN ||
	       req->session.role == TULAY__V1__ROLE__ROLE_ORG_ADMIN;
}

static const char *validate_password(const char *password)
{
	const char *problem = validate_text(password, PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS);
	return problem != NULL ? "must be 10 to 1000 characters, without line breaks" : NULL;
}

/* --- CreateUser ------------------------------------------------------------------------ */

struct user_create_state {
	int64_t org_id;
	char hash[crypto_pwhash_STRBYTES];
	bool hashed;
	uint8_t request_hash[32];
	char *org_param;
};

static void user_created(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const char *result = db_value(request_result_of(req, "user_create"), 0, "outcome");
	if (strcmp(result, "key_reused") == 0) {
		request_fail_key_reused(req, "user");
		return;
	}
	if (strcmp(result, "username_taken") == 0) {
		request_field_error(req, "username", "is taken: choose another");
		request_fail(req, TULAY__V1__CODE__ALREADY_EXISTS, "this username is taken");
		return;
	}
	reply_user(req, request_result_of(req, "user_by_key"));
}

static void user_hash_work(struct request *req)
{
	struct user_create_state *st = req->state;
	const char *password = req->msg->create_user->password;
	st->hashed = vault_password_hash(st->hash, password, req->srv->cfg.password_cost);
}

static void user_hashed(struct request *req, bool ok)
{
	const Tulay__V1__CreateUser *m = req->msg->create_user;
	struct user_create_state *st = req->state;
	if (!ok || !st->hashed) {
		request_fail(req, TULAY__V1__CODE__UNAVAILABLE, "the server is busy; try again");
		return;
	}
	struct db_query *q = db_job_add(&req->job, "user_create");
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	db_param_bytes(q, st->request_hash, sizeof(st->request_hash));
	DB_PARAMS_TEXT(q, st->org_param, m->username, st->hash, CODE_OF(role, m->role));
	q = db_job_add(&req->job, "user_by_key");
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	request_audit(req, "create_user", m->username, CODE_OF(role, m->role));
	request_db(req, user_created);
}

static void user_create_resolved(struct request *req)
{
	const Tulay__V1__CreateUser *m = req->msg->create_user;
	struct user_create_state *st = req->state;
	st->org_param = arena_printf(&req->arena, "%lld", (long long)st->org_id);
	if (st->org_param == NULL) {
		request_fail_oom(req);
		return;
	}
	/* A retry is the same organisation, username and role; the password is left out (it
	 * must not be stored in a fast hash), so a retry never changes it. */
	const char *parts[] = {st->org_param, m->username, CODE_OF(role, m->role)};
	vault_fingerprint(parts, N_ELEMS(parts), st->request_hash, sizeof(st->request_hash));
	request_offload(req, user_hash_work, user_hashed);
}

void handle_create_user(struct request *req)
{
	const Tulay__V1__CreateUser *m = req->msg->create_user;
	if (!is_user_manager(req)) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "only admins and organisation admins manage users");
		return;
	}
	const char *problem;
	if ((problem = validate_idempotency_key(m->idempotency_key.len)) != NULL)
		request_field_error(req, "idempotency_key", problem);
	if ((problem = validate_username(m->username)) != NULL)
		request_field_error(req, "username", problem);
	if (CODE_OF(role, m->role) == NULL)
		request_field_error(req, "role",
				    "is required: field officer, coordinator, org admin or admin");
	if ((problem = validate_password(m->password)) != NULL)
		request_field_error(req, "password", problem);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the user was not created");
		return;
	}
	if (m->role == TULAY__V1__ROLE__ROLE_ADMIN &&
	    req->session.role != TULAY__V1__ROLE__ROLE_ADMIN) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "only an admin can create admins");
		return;
	}
	struct user_create_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	req->state = st;
	request_resolve_org(req, m->organisation, "organisation",
			    req->session.role == TULAY__V1__ROLE__ROLE_ADMIN, &st->org_id,
			    user_create_resolved);
}

/* --- ListUsers ------------------------------------------------------------------------- */

static void users_listed(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result_of(req, "user_list");
	int n = PQntuples(res);
	Tulay__V1__UserList *list = request_alloc(req, sizeof(*list));
	Tulay__V1__User **items = request_alloc(req, sizeof(*items) * (size_t)(n + 1));
	if (list == NULL || items == NULL) {
		request_fail_oom(req);
		return;
	}
	tulay__v1__user_list__init(list);
	struct user_columns cols = user_columns(res);
	for (int i = 0; i < n; i++) {
		if ((items[i] = user_from_row(req, res, i, &cols)) == NULL) {
			request_fail_oom(req);
			return;
		}
	}
	list->users = items;
	list->n_users = (size_t)n;
	REQUEST_REPLY(req, USERS, users, list);
}

static void user_list_resolved(struct request *req)
{
	int64_t *org_id = req->state;
	char *org = arena_printf(&req->arena, "%lld", (long long)*org_id);
	if (org == NULL) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q = db_job_add(&req->job, "user_list");
	db_param_text(q, org);
	request_audit(req, "list_users", org, "");
	request_db(req, users_listed);
}

void handle_list_users(struct request *req)
{
	if (!is_user_manager(req)) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "only admins and organisation admins manage users");
		return;
	}
	int64_t *org_id = request_alloc(req, sizeof(*org_id));
	if (org_id == NULL) {
		request_fail_oom(req);
		return;
	}
	req->state = org_id;
	request_resolve_org(req, req->msg->list_users->organisation, "organisation",
			    req->session.role == TULAY__V1__ROLE__ROLE_ADMIN, org_id,
			    user_list_resolved);
}

/* --- DisableUser ----------------------------------------------------------------------- */

static void user_disabled(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *done = request_result_of(req, "user_disable");
	if (PQntuples(done) == 1) {
		/* This process's connections of that user lose their session at once too. */
		int64_t user_id = strtoll(db_value(done, 0, "user_id"), NULL, 10);
		for (struct conn *c = req->srv->conns; c != NULL; c = c->next) {
			if (c->session.authenticated && c->session.user_id == user_id)
				memset(&c->session, 0, sizeof(c->session));
		}
		reply_user(req, done);
		return;
	}
	/* Nothing changed: say why, from the row as the caller may see it. */
	const PGresult *state = request_result_of(req, "user_state");
	if (PQntuples(state) != 1) {
		request_fail(req, TULAY__V1__CODE__NOT_FOUND, "no such user in your organisation");
	} else if (strcmp(db_value(state, 0, "disabled"), "t") == 0) {
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     "the user is already disabled");
	} else {
		char *message =
		    arena_printf(&req->arena,
				 "the user changed since you looked (version is now %s): "
				 "check again and retry with expected_version %s",
				 db_value(state, 0, "version"), db_value(state, 0, "version"));
		request_field_error(req, "expected_version", "is stale");
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     message != NULL ? message : "stale expected_version");
	}
}

void handle_disable_user(struct request *req)
{
	const Tulay__V1__DisableUser *m = req->msg->disable_user;
	if (!is_user_manager(req)) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "only admins and organisation admins manage users");
		return;
	}
	if (validate_username(m->username) != NULL)
		request_field_error(req, "username", "is not a valid username");
	if (m->expected_version <= 0)
		request_field_error(
		    req, "expected_version",
		    "is required: the version of the user you saw (tulay user list)");
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the user was not disabled");
		return;
	}
	if (strcmp(m->username, req->session.username) == 0) {
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     "you cannot disable yourself: ask another admin");
		return;
	}
	char *version = arena_printf(&req->arena, "%lld", (long long)m->expected_version);
	if (version == NULL) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q = db_job_add(&req->job, "user_disable");
	db_param_text(q, m->username);
	db_param_text(q, version);
	q = db_job_add(&req->job, "user_state");
	db_param_text(q, m->username);
	request_audit(req, "disable_user", m->username, "");
	request_db(req, user_disabled);
}

/* --- ChangePassword -------------------------------------------------------------------- */

struct passwd_state {
	struct throttle_addr source; /* counted against the login throttle, like a login */
	char current_hash[crypto_pwhash_STRBYTES];
	char new_hash[crypto_pwhash_STRBYTES];
	bool current_ok;
	bool hashed;
};

static void password_changed(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	request_reply(req);
}

static void passwd_failure_recorded(struct request *req, enum db_outcome outcome)
{
	(void)outcome; /* the answer is the same whether or not the entry was written */
	request_field_error(req, "current_password", "is not your current password");
	request_fail_invalid(req, "the password was not changed");
}

/* Verifies the current password and hashes the new one: both argon2id, both here. */
static void passwd_work(struct request *req)
{
	struct passwd_state *st = req->state;
	const Tulay__V1__ChangePassword *m = req->msg->change_password;
	st->current_ok = crypto_pwhash_str_verify(st->current_hash, m->current_password,
						  strlen(m->current_password)) == 0;
	if (st->current_ok)
		st->hashed =
		    crypto_pwhash_str(st->new_hash, m->new_password, strlen(m->new_password),
				      crypto_pwhash_OPSLIMIT_INTERACTIVE,
				      crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

static void passwd_worked(struct request *req, bool ok)
{
	struct passwd_state *st = req->state;
	if (!ok || (st->current_ok && !st->hashed)) {
		request_fail(req, TULAY__V1__CODE__UNAVAILABLE, "the server is busy; try again");
		return;
	}
	if (!st->current_ok) {
		/* Answered only once the failure is in the audit log. */
		db_job_reset(&req->job);
		request_audit(req, "change_password_failed", req->session.username, "");
		request_db(req, passwd_failure_recorded);
		return;
	}
	login_throttle_succeeded(&req->srv->login_throttle, req->session.username, &st->source,
				 uv_now(&req->srv->loop));
	db_job_reset(&req->job);
	struct db_query *q = db_job_add(&req->job, "user_set_password");
	db_param_text(q, st->new_hash);
	db_param_bytes(q, req->session.token_hash, sizeof(req->session.token_hash));
	request_audit(req, "change_password", req->session.username, "");
	request_db(req, password_changed);
}

static void passwd_loaded(struct request *req, enum db_outcome outcome)
{
	struct passwd_state *st = req->state;
	if (outcome != DB_OK || PQntuples(request_result_of(req, "user_own_hash")) != 1) {
		request_fail_db(req);
		return;
	}
	snprintf(st->current_hash, sizeof(st->current_hash), "%s",
		 db_value(request_result_of(req, "user_own_hash"), 0, "password_hash"));
	request_offload(req, passwd_work, passwd_worked);
}

void handle_change_password(struct request *req)
{
	const Tulay__V1__ChangePassword *m = req->msg->change_password;
	const char *problem;
	if (*m->current_password == '\0')
		request_field_error(req, "current_password", "is required");
	if ((problem = validate_password(m->new_password)) != NULL)
		request_field_error(req, "new_password", problem);
	else if (strcmp(m->new_password, m->current_password) == 0)
		request_field_error(req, "new_password", "is the same as the current one");
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the password was not changed");
		return;
	}
	struct passwd_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	req->state = st;
	/* A stolen session must not become an oracle for the real password: guesses of the
	 * current one count against the same throttle as logins. */
	st->source = req->conn->source;
	if (login_throttle_begin(&req->srv->login_throttle, req->session.username, &st->source,
				 uv_now(&req->srv->loop)) != LOGIN_ALLOWED) {
		request_fail(req, TULAY__V1__CODE__RESOURCE_EXHAUSTED,
			     "too many password attempts; wait a minute");
		return;
	}
	db_job_add(&req->job, "user_own_hash");
	request_db(req, passwd_loaded);
}
