/* Hello, Login, Authenticate, Logout: how a connection comes to speak for a user. */
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common.h"
#include "conn.h"
#include "handlers.h"
#include "log.h"
#include "request.h"
#include "server.h"
#include "validate.h"
#include "vault.h"

#define SESSION_TOKEN_BYTES 32
#define PASSWORD_MAX_BYTES  1024

const struct db_statement session_statements[] = {
    /* Before a tenant is known: SECURITY DEFINER functions return the one row asked for. */
    {"user_by_username", "SELECT user_id, org_id, password_hash, role, acronym, disabled "
			 "FROM login_lookup($1)"},
    {"session_create", "INSERT INTO sessions (token_hash, user_id, expires_at) "
		       "VALUES ($1, $2, now() + make_interval(secs => $3::integer)) "
		       "RETURNING extract(epoch FROM expires_at)::bigint AS expires_at"},
    {"session_lookup", "SELECT user_id, org_id, username, role, acronym, expires_at "
		       "FROM session_lookup($1)"},
    /* A login's password hashed again at the current cost, unless it changed meanwhile
     * (the user's own row, under the login's tenant context; not a change of the user:
     * no new version). */
    {"session_rehash", "UPDATE users SET password_hash = $1 "
		       "WHERE user_id = tulay_user() AND password_hash = $2"},
    {"session_end", "UPDATE sessions SET ended_at = now() "
		    "WHERE token_hash = $1 AND ended_at IS NULL"},
};
const unsigned session_statements_count = N_ELEMS(session_statements);

/* A login for a username that does not exist verifies against this hash anyway, so that
 * the answer takes as long as for a wrong password and says nothing about who exists. */
static char decoy_hash[crypto_pwhash_STRBYTES];

int session_init(unsigned password_cost)
{
	if (sodium_init() < 0)
		return -1;
	char random_password[33];
	uint8_t bytes[16];
	randombytes_buf(bytes, sizeof(bytes));
	sodium_bin2hex(random_password, sizeof(random_password), bytes, sizeof(bytes));
	/* At the cost of new hashes: users' hashes have it too, unless made before a change. */
	if (!vault_password_hash(decoy_hash, random_password, password_cost))
		return -1;
	return 0;
}

static Tulay__V1__Session *session_message(struct request *req, const struct conn_session *s)
{
	Tulay__V1__Session *msg = request_alloc(req, sizeof(*msg));
	if (msg == NULL)
		return NULL;
	tulay__v1__session__init(msg);
	msg->username = arena_strdup(&req->arena, s->username);
	msg->organisation = arena_strdup(&req->arena, s->org_acronym);
	msg->role = (Tulay__V1__Role)s->role;
	msg->expires_at = s->expires_at;
	if (msg->username == NULL || msg->organisation == NULL)
		return NULL;
	return msg;
}

/* Binds the session to the request's connection (if it is still there) and replies. */
static void session_bind_and_reply(struct request *req, const struct conn_session *s,
				   const char *token)
{
	Tulay__V1__Session *msg = session_message(req, s);
	if (msg == NULL) {
		request_fail_oom(req);
		return;
	}
	if (token != NULL)
		msg->session_token = (char *)token;
	if (req->conn != NULL) {
		req->conn->session = *s;
		strangers_remove(&req->srv->strangers, req->conn); /* a user now, for good */
		log_info("event=authenticated conn=%llu req=%llu user_id=%lld org_id=%lld role=%s",
			 (unsigned long long)req->conn->id, (unsigned long long)req->seq,
			 (long long)s->user_id, (long long)s->org_id, CODE_OF(role, s->role));
	}
	REQUEST_REPLY(req, SESSION, session, msg);
}

/* --- Hello ----------------------------------------------------------------------------- */

void handle_hello(struct request *req)
{
	const Tulay__V1__Hello *hello = req->msg->hello;
	if (hello->protocol_version != 1) {
		/* Flag first: request_fail() sends the reply and frees req. */
		conn_close_after_reply(req->conn);
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     "this server speaks tulay protocol version 1 only");
		return;
	}
	Tulay__V1__HelloReply *reply = request_alloc(req, sizeof(*reply));
	if (reply == NULL) {
		request_fail_oom(req);
		return;
	}
	tulay__v1__hello_reply__init(reply);
	const struct config *cfg = &req->srv->cfg;
	reply->protocol_version = 1;
	reply->server = "tulayd/" TULAYD_VERSION;
	reply->max_frame_bytes = cfg->max_frame_bytes;
	reply->max_frame_bytes_before_login = cfg->max_frame_bytes_before_login;
	reply->max_requests_in_flight = cfg->max_requests_in_flight;
	reply->sealing_public_key.data = (uint8_t *)vault_sealing_public_key();
	reply->sealing_public_key.len = crypto_box_PUBLICKEYBYTES;
	req->conn->hello_done = true;
	REQUEST_REPLY(req, HELLO, hello, reply);
}

/* --- Login ----------------------------------------------------------------------------- */

struct login_state {
	char hash[crypto_pwhash_STRBYTES];
	char rehash[crypto_pwhash_STRBYTES]; /* at the current cost, when hash is not */
	bool user_usable;                    /* exists and not disabled */
	bool password_ok;
	bool rehashed;
	unsigned password_cost;
	struct conn_session session;
	uint8_t token[SESSION_TOKEN_BYTES];
	char token_text[sodium_base64_ENCODED_LEN(SESSION_TOKEN_BYTES,
						  sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char ttl[16];
	struct throttle_addr source; /* the client's address, for the login throttle */
};

static void login_failure_recorded(struct request *req, enum db_outcome outcome)
{
	(void)outcome; /* the answer is the same whether or not the audit entry was written */
	request_fail(req, TULAY__V1__CODE__UNAUTHENTICATED, "wrong username or password");
}

/* A failed login is answered only after its audit entry is committed. */
static void login_fail(struct request *req)
{
	log_info("event=login_failed conn=%llu req=%llu",
		 req->conn ? (unsigned long long)req->conn->id : 0ULL,
		 (unsigned long long)req->seq);
	db_job_reset(&req->job);
	request_audit(req, "login_failed", req->msg->login->username, "");
	request_db(req, login_failure_recorded);
}
static void login_session_created(struct request *req, enum db_outcome outcome)
{
	struct login_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	st->session.expires_at =
	    strtoll(db_value(request_result_of(req, "session_create"), 0, "expires_at"), NULL, 10);
	st->session.authenticated = true;
	session_bind_and_reply(req, &st->session, st->token_text);
}

/* Runs on libuv's thread pool: argon2id costs tens of milliseconds and 64 MiB by design,
 * which must never stall the event loop. Touches only the login state. */
static void login_verify_work(struct request *req)
{
	struct login_state *st = req->state;
	const char *password = req->msg->login->password;
	st->password_ok = crypto_pwhash_str_verify(st->hash, password, strlen(password)) == 0;
	/* A hash made at another --password-cost is made again, once, at this one: every
	 * user's login then takes as long as the decoy's, and a cost raised protects old
	 * passwords too. */
	if (st->password_ok && st->user_usable &&
	    vault_password_needs_rehash(st->hash, st->password_cost))
		st->rehashed = vault_password_hash(st->rehash, password, st->password_cost);
}

static void login_verified(struct request *req, bool ok)
{
	struct login_state *st = req->state;
	if (!ok || !st->user_usable || !st->password_ok) {
		login_fail(req);
		return;
	}
	login_throttle_succeeded(&req->srv->login_throttle, req->msg->login->username, &st->source,
				 uv_now(&req->srv->loop));
	randombytes_buf(st->token, sizeof(st->token));
	sodium_bin2base64(st->token_text, sizeof(st->token_text), st->token, sizeof(st->token),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	/* Only the hash of the token is stored, and Authenticate looks it up the same way. */
	crypto_generichash(st->session.token_hash, sizeof(st->session.token_hash),
			   (const uint8_t *)st->token_text, strlen(st->token_text), NULL, 0);
	snprintf(st->ttl, sizeof(st->ttl), "%u", req->srv->cfg.session_ttl_s);
	char *user_id = arena_printf(&req->arena, "%lld", (long long)st->session.user_id);
	if (user_id == NULL) {
		request_fail_oom(req);
		return;
	}
	db_job_reset(&req->job);
	/* From here the request acts as the user: the session row is written under their
	 * tenant context, with the login's audit entry in the same transaction. */
	req->session = st->session;
	req->session.authenticated = true;
	req->session_opening = true;
	request_audit(req, "login", st->session.username, "");
	struct db_query *q = db_job_add(&req->job, "session_create");
	db_param_bytes(q, st->session.token_hash, sizeof(st->session.token_hash));
	db_param_text(q, user_id);
	db_param_text(q, st->ttl);
	if (st->rehashed) {
		q = db_job_add(&req->job, "session_rehash");
		db_param_text(q, st->rehash);
		db_param_text(q, st->hash);
		log_info("event=password_rehashed conn=%llu req=%llu cost=%u",
			 req->conn ? (unsigned long long)req->conn->id : 0ULL,
			 (unsigned long long)req->seq, st->password_cost);
	}
	request_db(req, login_session_created);
}

static void login_user_loaded(struct request *req, enum db_outcome outcome)
{
	struct login_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result_of(req, "user_by_username");
	snprintf(st->hash, sizeof(st->hash), "%s", decoy_hash);
	if (PQntuples(res) == 1) {
		snprintf(st->hash, sizeof(st->hash), "%s", db_value(res, 0, "password_hash"));
		st->session.user_id = strtoll(db_value(res, 0, "user_id"), NULL, 10);
		st->session.org_id = strtoll(db_value(res, 0, "org_id"), NULL, 10);
		st->session.role = VALUE_OF(role, db_value(res, 0, "role"));
		snprintf(st->session.username, sizeof(st->session.username), "%s",
			 req->msg->login->username);
		snprintf(st->session.org_acronym, sizeof(st->session.org_acronym), "%s",
			 db_value(res, 0, "acronym"));
		st->user_usable = strcmp(db_value(res, 0, "disabled"), "f") == 0;
	}
	st->password_cost = req->srv->cfg.password_cost;
	request_offload(req, login_verify_work, login_verified);
}

void handle_login(struct request *req)
{
	const Tulay__V1__Login *login = req->msg->login;
	if (validate_username(login->username) != NULL)
		request_field_error(req, "username", "is not a valid username");
	if (*login->password == '\0')
		request_field_error(req, "password", "is required");
	else if (strlen(login->password) > PASSWORD_MAX_BYTES)
		request_field_error(req, "password", "is too long");
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the login request is incomplete");
		return;
	}
	struct login_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	req->state = st;
	/* Counted before the password is checked; over the limit, it is not checked at all. */
	st->source = req->conn->source;
	enum login_verdict verdict = login_throttle_begin(
	    &req->srv->login_throttle, login->username, &st->source, uv_now(&req->srv->loop));
	if (verdict != LOGIN_ALLOWED) {
		log_warn("event=login_throttled conn=%llu req=%llu limit=%s",
			 (unsigned long long)req->conn->id, (unsigned long long)req->seq,
			 verdict == LOGIN_THROTTLED_USER ? "username" : "address");
		request_fail(req, TULAY__V1__CODE__RESOURCE_EXHAUSTED,
			     "too many login attempts; wait a minute");
		return;
	}
	struct db_query *q = db_job_add(&req->job, "user_by_username");
	db_param_text(q, login->username);
	request_db(req, login_user_loaded);
}

/* --- Authenticate ---------------------------------------------------------------------- */

struct auth_state {
	struct conn_session session;
};

static void authenticate_loaded(struct request *req, enum db_outcome outcome)
{
	struct auth_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result_of(req, "session_lookup");
	if (PQntuples(res) != 1) {
		request_fail(req, TULAY__V1__CODE__UNAUTHENTICATED,
			     "this session has expired or was ended: log in again");
		return;
	}
	st->session.authenticated = true;
	st->session.user_id = strtoll(db_value(res, 0, "user_id"), NULL, 10);
	st->session.org_id = strtoll(db_value(res, 0, "org_id"), NULL, 10);
	snprintf(st->session.username, sizeof(st->session.username), "%s",
		 db_value(res, 0, "username"));
	st->session.role = VALUE_OF(role, db_value(res, 0, "role"));
	snprintf(st->session.org_acronym, sizeof(st->session.org_acronym), "%s",
		 db_value(res, 0, "acronym"));
	st->session.expires_at = strtoll(db_value(res, 0, "expires_at"), NULL, 10);
	session_bind_and_reply(req, &st->session, NULL);
}

void handle_authenticate(struct request *req)
{
	const char *token = req->msg->authenticate->session_token;
	/* Any string is hashed and looked up: a forged token simply matches nothing. The
	 * length check only keeps absurd input away from the database. */
	if (*token == '\0' || strlen(token) > 256) {
		request_fail(req, TULAY__V1__CODE__UNAUTHENTICATED,
			     "this session has expired or was ended: log in again");
		return;
	}
	struct auth_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	req->state = st;
	crypto_generichash(st->session.token_hash, sizeof(st->session.token_hash),
			   (const uint8_t *)token, strlen(token), NULL, 0);
	struct db_query *q = db_job_add(&req->job, "session_lookup");
	db_param_bytes(q, st->session.token_hash, sizeof(st->session.token_hash));
	request_db(req, authenticate_loaded);
}

/* --- Logout ---------------------------------------------------------------------------- */

static void logout_done(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	/* The token is dead in the database, so new connections cannot use it. Connections of
	 * this process that authenticated with it are logged out now too; other tulayd
	 * processes notice when they next check the session (on reconnect or expiry). */
	for (struct conn *c = req->srv->conns; c != NULL; c = c->next) {
		if (c->session.authenticated &&
		    sodium_memcmp(c->session.token_hash, req->session.token_hash,
				  sizeof(c->session.token_hash)) == 0)
			memset(&c->session, 0, sizeof(c->session));
	}
	request_reply(req);
}

void handle_logout(struct request *req)
{
	request_audit(req, "logout", req->session.username, "");
	struct db_query *q = db_job_add(&req->job, "session_end");
	db_param_bytes(q, req->session.token_hash, sizeof(req->session.token_hash));
	request_db(req, logout_done);
}
