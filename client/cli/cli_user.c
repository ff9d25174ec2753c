#include "cli_user.h"

#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_session.h"
#include "cli_vocab.h"

static struct output_record *user_record(const Tulay__V1__User *u)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
	output_add_int(rec, "id", NULL, u->id);
	output_add_text(rec, "username", "Username", u->username);
	output_add_text(rec, "organisation", "Organisation", u->organisation);
	output_add_text(rec, "role", "Role", vocab_word(&vocab_roles, u->role));
	output_add_text(rec, "state", "State", u->disabled ? "disabled" : "active");
	output_add_int(rec, "version", "Version", u->version);
	output_add_time(rec, "created_at", "Created at", u->created_at);
	return rec;
}

static struct output_record *user_blank(void)
{
	Tulay__V1__User u = TULAY__V1__USER__INIT;
	return user_record(&u);
}

/* Asks twice on a terminal (a typo would lock someone out); reads one line with stdin. */
static int read_new_password(struct cli *cli, const char *question, bool from_stdin, char **out)
{
	int rc = session_read_secret(cli, question, from_stdin, out);
	if (rc != CLI_EXIT_OK || from_stdin)
		return rc;
	char *again = NULL;
	rc = session_read_secret(cli, "Repeat it: ", false, &again);
	if (rc == CLI_EXIT_OK && strcmp(*out, again) != 0) {
		cli_problem(cli, "password", "the two passwords differ: nothing was changed");
		rc = cli_usage_result(cli);
	}
	session_forget_secret(again);
	if (rc != CLI_EXIT_OK) {
		session_forget_secret(*out);
		*out = NULL;
	}
	return rc;
}

int user_add(struct cli *cli, int argc, char **argv)
{
	const char *username = NULL, *org = NULL;
	int role = 0;
	bool password_stdin = false;
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--username", ARGS_TEXT, &username, "NAME",
		     "the login name: 2-64 of a-z 0-9 . _ -", .required = true),
	    ARGS_OPT("--role", ARGS_CHOICE, &role, "ROLE", "what the user may do", .required = true,
		     .choices = &vocab_roles),
	    ARGS_OPT("--org", ARGS_ACRONYM, &org, "ACRONYM",
		     "the user's organisation (admins only; default: yours)"),
	    ARGS_OPT("--password-stdin", ARGS_FLAG, &password_stdin, NULL,
		     "read the new user's password from standard input (else asked twice)"),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "user add",
	    .description =
		"Creates a user who can log in. Organisation admins create users of their\n"
		"own organisation (not admins); admins anyone, anywhere. The password,\n"
		"at least 10 characters, is stored only as an argon2id hash.",
	    .options = options,
	    .notes = "Roles: a field officer logs and reads their organisation's cases; a\n"
		     "coordinator reads them and the network's reports; an org admin manages\n"
		     "their organisation's users; an admin manages organisations and everyone.",
	    .example = "  tulay user add --username maria.santos --role field-officer",
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;
	char *password = NULL;
	rc = read_new_password(cli, "Password for the new user: ", password_stdin, &password);
	if (rc != CLI_EXIT_OK)
		return rc;

	Tulay__V1__CreateUser create = TULAY__V1__CREATE_USER__INIT;
	create.idempotency_key.data = key.bytes;
	create.idempotency_key.len = sizeof(key.bytes);
	create.username = (char *)username;
	create.role = (Tulay__V1__Role)role;
	create.organisation = (char *)(org != NULL ? org : "");
	create.password = password;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_USER;
	req.create_user = &create;

	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY_USER, key.bytes,
		      "The user may or may not have been created", &resp);
	session_forget_secret(password);
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "Created user %s", resp->user->username);
		rc = output_show(cli, user_record(resp->user));
	}
	tulay_response_free(resp);
	return rc;
}

static const char *user_page(struct output_list *list, const Tulay__V1__Response *resp)
{
	for (size_t i = 0; i < resp->users->n_users; i++)
		output_list_add(list, user_record(resp->users->users[i]));
	return "";
}

static const struct output_column user_columns[] = {
    {"username", "USERNAME", false}, {"role", "ROLE", false},          {"state", "STATE", false},
    {"version", "VERSION", true},    {"created_at", "CREATED", false},
};

static const struct output_list_spec user_list_spec = {
    .columns = user_columns,
    .n_columns = sizeof(user_columns) / sizeof(user_columns[0]),
    .empty = "No users.",
    .blank = user_blank,
};

static const struct rpc_lister user_lister = {
    .expect = TULAY__V1__RESPONSE__BODY_USERS,
    .noun = "users",
    .page = user_page,
    .spec = &user_list_spec,
};

int user_list(struct cli *cli, int argc, char **argv)
{
	const char *org = NULL;
	const struct args_option options[] = {
	    ARGS_OPT("--org", ARGS_ACRONYM, &org, "ACRONYM",
		     "another organisation's users (admins only; default: yours)"),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "user list",
	    .description = "Lists an organisation's users with their role, state and version.\n"
			   "Admins and organisation admins only.",
	    .options = options,
	    .example = "  tulay user list\n  tulay user list --org MYNGO --format csv",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	Tulay__V1__ListUsers query = TULAY__V1__LIST_USERS__INIT;
	query.organisation = (char *)(org != NULL ? org : "");
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_USERS;
	req.list_users = &query;
	char *no_pages = NULL;
	return rpc_list(cli, &user_lister, &req, &no_pages, false);
}

/* The version of the user `ctx` (its username) as the server shows it now, for
 * --expected-version's default (rpc_current_fn). */
static int user_current_version(struct rpc *rpc, const void *ctx, int64_t *version)
{
	const char *username = ctx;
	Tulay__V1__ListUsers query = TULAY__V1__LIST_USERS__INIT;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_USERS;
	req.list_users = &query;
	Tulay__V1__Response *resp = NULL;
	int rc = rpc_call(rpc, &req, TULAY__V1__RESPONSE__BODY_USERS, &resp);
	if (rc != CLI_EXIT_OK)
		return rc;
	*version = 0;
	for (size_t i = 0; i < resp->users->n_users; i++) {
		if (strcmp(resp->users->users[i]->username, username) == 0)
			*version = resp->users->users[i]->version;
	}
	tulay_response_free(resp);
	if (*version == 0) {
		cli_error(rpc->cli, "no user %s in your organisation", username);
		return CLI_EXIT_REFUSED;
	}
	return CLI_EXIT_OK;
}

int user_disable(struct cli *cli, int argc, char **argv)
{
	const char *username = NULL;
	uint32_t expected = 0;
	const struct args_option options[] = {
	    ARGS_OPT("--expected-version", ARGS_COUNT, &expected, "N",
		     "refuse if the user changed since you saw version N (tulay user list)",
		     .min = 1, .max = UINT32_MAX),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "user disable",
	    .description = "Disables a user: they can no longer log in, and their sessions end at\n"
			   "once. Admins and organisation admins only; nobody can disable\n"
			   "themselves.",
	    .options = options,
	    .operand = "USERNAME",
	    .operand_help = "the user to disable",
	    .operand_value = &username,
	    .notes = "Without --expected-version, the version the server shows just before is\n"
		     "used: give it when you decided on the strength of a listing.",
	    .example = "  tulay user disable maria.santos --expected-version 3",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	Tulay__V1__DisableUser disable = TULAY__V1__DISABLE_USER__INIT;
	disable.username = (char *)username;
	disable.expected_version = expected;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_DISABLE_USER;
	req.disable_user = &disable;
	const struct rpc_change change = {
	    .req = &req,
	    .expect = TULAY__V1__RESPONSE__BODY_USER,
	    .expected = &disable.expected_version,
	    .current = user_current_version,
	    .ctx = username,
	};
	Tulay__V1__Response *resp = NULL;
	rc = rpc_change(cli, &change, &resp);
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "Disabled user %s", resp->user->username);
		rc = output_show(cli, user_record(resp->user));
	}
	tulay_response_free(resp);
	return rc;
}

int user_passwd(struct cli *cli, int argc, char **argv)
{
	bool password_stdin = false;
	const struct args_option options[] = {
	    ARGS_OPT("--password-stdin", ARGS_FLAG, &password_stdin, NULL,
		     "read the current password, then the new one, from standard input"),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "passwd",
	    .description = "Changes your own password. Your other sessions end; this one stays.",
	    .options = options,
	    .example = "  tulay passwd",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	char *current = NULL, *fresh = NULL;
	rc = session_read_secret(cli, "Current password: ", password_stdin, &current);
	if (rc == CLI_EXIT_OK)
		rc = read_new_password(cli, "New password: ", password_stdin, &fresh);
	if (rc != CLI_EXIT_OK) {
		session_forget_secret(current);
		return rc;
	}
	Tulay__V1__ChangePassword change = TULAY__V1__CHANGE_PASSWORD__INIT;
	change.current_password = current;
	change.new_password = fresh;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CHANGE_PASSWORD;
	req.change_password = &change;
	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY__NOT_SET, NULL, NULL, &resp);
	session_forget_secret(current);
	session_forget_secret(fresh);
	if (rc == CLI_EXIT_OK)
		output_heading(cli, "Password changed; your other sessions have ended");
	tulay_response_free(resp);
	return rc;
}
