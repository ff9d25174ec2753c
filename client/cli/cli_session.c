#include "cli_session.h"

#include <sodium.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli_args.h"
#include "cli_config.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_vocab.h"

/* The terminal whose echo a password prompt turned off, for the signal handler that
 * turns it back on when the user gives up with Ctrl-C. */
static volatile sig_atomic_t echo_off_fd = -1;
static struct termios echo_saved;
static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define PROMPT_SIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

static void restore_echo_and_die(int sig)
{
	if (echo_off_fd >= 0)
		(void)tcsetattr(echo_off_fd, TCSAFLUSH, &echo_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads one line without its line break, as a new string; NULL at end of file. */
static char *read_line(FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, in);
	if (n <= 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

static void restore_signals(const struct sigaction old[PROMPT_SIGNALS], size_t n)
{
	for (size_t i = 0; i < n; i++)
		(void)sigaction(prompt_signals[i], &old[i], NULL); /* they were set: cannot fail */
}

/* Turns echo off on `fd`, arranging for signals to turn it back on. Returns 0, or -1
 * having changed nothing. */
static int echo_off(int fd, struct sigaction old[PROMPT_SIGNALS])
{
	if (tcgetattr(fd, &echo_saved) != 0)
		return -1;
	struct sigaction sa = {.sa_handler = restore_echo_and_die};
	sigemptyset(&sa.sa_mask);
	echo_off_fd = fd;
	for (size_t i = 0; i < PROMPT_SIGNALS; i++) {
		if (sigaction(prompt_signals[i], &sa, &old[i]) != 0) {
			restore_signals(old, i);
			echo_off_fd = -1;
			return -1;
		}
	}
	struct termios quiet = echo_saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL; /* the user's Enter still ends the line on the screen */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
		restore_signals(old, PROMPT_SIGNALS);
		echo_off_fd = -1;
		return -1;
	}
	return 0;
}

static void echo_on(int fd, const struct sigaction old[PROMPT_SIGNALS])
{
	(void)tcsetattr(fd, TCSAFLUSH, &echo_saved); /* nothing better to do if it fails */
	echo_off_fd = -1;
	restore_signals(old, PROMPT_SIGNALS);
}

/* Asks `question` on the terminal (not stdin, which may be a pipe) and returns the answer
 * as a new string, or NULL when there is no terminal or no answer. */
static char *prompt(const char *question, bool echo)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	FILE *tty = fdopen(fd, "r+");
	if (tty == NULL) {
		close(fd);
		return NULL;
	}
	char *answer = NULL;
	struct sigaction old[PROMPT_SIGNALS];
	fputs(question, tty);
	fflush(tty);
	if (!echo && echo_off(fd, old) != 0)
		goto out; /* never ask for a password that would show on the screen */
	answer = read_line(tty);
	if (!echo)
		echo_on(fd, old);
out:
	fclose(tty);
	return answer;
}

static void forget_secret(char *secret)
{
	if (secret != NULL)
		explicit_bzero(secret, strlen(secret));
	free(secret);
}

/* Who is logging in: --username, TULAY_USERNAME, else asked. The password:
 * --password-stdin, TULAY_PASSWORD, else asked without echo. */
static int read_credentials(struct cli *cli, const char *username, bool password_stdin,
			    char **user_out, char **password_out)
{
	const char *env_user = getenv("TULAY_USERNAME");
	const char *env_password = getenv("TULAY_PASSWORD");
	if (username == NULL && env_user != NULL && env_user[0] != '\0')
		username = env_user;
	*user_out = username != NULL ? strdup(username) : prompt("Username: ", true);
	if (*user_out == NULL || (*user_out)[0] == '\0')
		cli_problem(cli, "--username",
			    "no user name: give --username, set TULAY_USERNAME, "
			    "or run on a terminal to be asked");

	if (password_stdin)
		*password_out = read_line(stdin);
	else if (env_password != NULL && env_password[0] != '\0')
		*password_out = strdup(env_password);
	else
		*password_out = prompt("Password: ", false);
	if (*password_out == NULL || (*password_out)[0] == '\0')
		cli_problem(cli, password_stdin ? "--password-stdin" : "password",
			    password_stdin
				? "standard input holds no password line"
				: "no password: type it when asked, use --password-stdin, "
				  "or set TULAY_PASSWORD");
	return cli_usage_result(cli);
}

static struct output_record *session_record(const Tulay__V1__Session *s, const char *server)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
	output_add_text(rec, "username", "User", s->username);
	output_add_text(rec, "role", "Role", vocab_word(&vocab_roles, s->role));
	output_add_text(rec, "organisation", "Organisation", s->organisation);
	output_add_time(rec, "expires_at", "Session expires", s->expires_at);
	output_add_text(rec, "server", "Server", server);
	return rec;
}

/* The session was opened but cannot be kept: end it rather than leave it open on the
 * server with nobody holding its token. */
static void abandon_session(struct rpc *rpc)
{
	Tulay__V1__Response *resp = NULL;
	if (tulay_logout(rpc->client, &resp) == 0)
		tulay_response_free(resp);
}

int session_login(struct cli *cli, int argc, char **argv)
{
	const char *username = NULL;
	bool password_stdin = false;
	const struct args_option options[] = {
	    ARGS_OPT("--username", ARGS_TEXT, &username, "NAME",
		     "your user name (default: TULAY_USERNAME, else asked)"),
	    ARGS_OPT("--password-stdin", ARGS_FLAG, &password_stdin, NULL,
		     "read the password from the first line of standard input"),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "login",
	    .description =
		"Logs in to tulayd and keeps the session on this computer, so that later\n"
		"commands need no password. The session is saved with its server (and the\n"
		"CA file, for TLS) in the file `session` (mode 0600) in $TULAY_CONFIG_DIR,\n"
		"else $XDG_CONFIG_HOME/tulay, else ~/.config/tulay.",
	    .options = options,
	    .notes = "The password is read, in this order, from standard input with\n"
		     "--password-stdin, from TULAY_PASSWORD, or else asked for on the terminal\n"
		     "without echo. The server is --server, else TULAY_SERVER, else the server\n"
		     "of the last session, else 127.0.0.1:7420.",
	    .example = "  tulay login --server tulay.example.org:7420 --ca-file tulay-ca.pem "
		       "--username maria\n"
		       "  tulay login --username maria --password-stdin < password.txt",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	char *user = NULL, *password = NULL, *ca_path = NULL;
	struct config_session last = {0};
	struct rpc rpc = {.cli = cli};
	Tulay__V1__Response *resp = NULL;
	rc = read_credentials(cli, username, password_stdin, &user, &password);
	if (rc != CLI_EXIT_OK)
		goto out;
	/* The last session only suggests a server; its problems are not ours now. */
	if (config_session_load(cli, &last, true) != CONFIG_OK)
		config_session_clear(&last);
	const char *server = rpc_server(cli, last.server);
	rc = rpc_connect(&rpc, server, &last);
	if (rc != CLI_EXIT_OK)
		goto out;
	int err = tulay_login(rpc.client, user, password, &resp);
	if (err < 0) {
		rc = rpc_report_failure(&rpc, err);
		goto out;
	}
	if (resp->status->code != TULAY__V1__CODE__OK) {
		rc = rpc_report_status(&rpc, resp->status);
		goto out;
	}
	const Tulay__V1__Session *s = resp->session;
	/* The CA file is kept by its absolute path: later commands may run elsewhere. */
	ca_path = rpc.ca_file != NULL ? realpath(rpc.ca_file, NULL) : NULL;
	/* The server's sealing key, pinned: writes queued while it cannot be reached are
	 * sealed to this one, whatever a server claims later. */
	const Tulay__V1__HelloReply *hello = tulay_server_hello(rpc.client);
	char sealing_key[2 * 32 + 1];
	bool has_key = hello != NULL && hello->sealing_public_key.len == 32;
	if (has_key)
		sodium_bin2hex(sealing_key, sizeof(sealing_key), hello->sealing_public_key.data,
			       32);
	char author[256];
	snprintf(author, sizeof(author), "%s@%s", s->username, s->organisation);
	const struct config_session keep = {.user = author,
					    .server = (char *)server,
					    .ca_file =
						ca_path != NULL ? ca_path : (char *)rpc.ca_file,
					    .token = s->session_token,
					    .sealing_key = has_key ? sealing_key : NULL};
	if (config_session_save(cli, &keep) != 0) {
		abandon_session(&rpc);
		rc = CLI_EXIT_LOCAL;
		goto out;
	}
	if (cli->format == OUTPUT_TABLE) {
		char expiry[32];
		if (!output_time(s->expires_at, false, expiry, sizeof(expiry)))
			snprintf(expiry, sizeof(expiry), "at an unknown time");
		output_heading(cli, "Logged in as %s (%s) of %s; session expires %s", s->username,
			       vocab_word(&vocab_roles, s->role), s->organisation, expiry);
	} else {
		rc = output_show(cli, session_record(s, server));
	}
out:
	if (resp != NULL && resp->body_case == TULAY__V1__RESPONSE__BODY_SESSION)
		explicit_bzero(resp->session->session_token, strlen(resp->session->session_token));
	tulay_response_free(resp);
	rpc_end(&rpc);
	config_session_clear(&last);
	forget_secret(password);
	free(user);
	free(ca_path);
	return rc;
}

int session_logout(struct cli *cli, int argc, char **argv)
{
	const struct args_option options[] = {{0}};
	const struct args_command cmd = {
	    .name = "logout",
	    .description = "Ends your session on the server and deletes the session file on this\n"
			   "computer. When the server cannot be reached the file is kept, so\n"
			   "that you can try again: the session stays open until it expires.",
	    .options = options,
	    .example = "  tulay logout",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	Tulay__V1__Logout logout = TULAY__V1__LOGOUT__INIT;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LOGOUT;
	req.logout = &logout;
	rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK) {
		rpc.quiet_ended = true;
		rc = rpc_call(&rpc, &req, TULAY__V1__RESPONSE__BODY__NOT_SET, &resp);
	}
	if (rc == CLI_EXIT_REFUSED && rpc.session_ended)
		rc = CLI_EXIT_OK; /* ended already: only the file is left to delete */
	if (rc == CLI_EXIT_UNREACHABLE)
		cli_detail("The session file is kept: run 'tulay logout' again later.");
	if (rc != CLI_EXIT_OK)
		goto out;
	if (config_session_remove(cli) != 0) {
		rc = CLI_EXIT_LOCAL;
		goto out;
	}
	output_heading(cli, "%s",
		       rpc.session_ended ? "The session had already ended; removed it."
					 : "Logged out.");
out:
	tulay_response_free(resp);
	rpc_end(&rpc);
	return rc;
}

int session_whoami(struct cli *cli, int argc, char **argv)
{
	const struct args_option options[] = {{0}};
	const struct args_command cmd = {
	    .name = "whoami",
	    .description = "Shows who you are logged in as: user, role, organisation, when the\n"
			   "session expires and which server it is on. Asks the server, so it\n"
			   "also tells whether the session still works.",
	    .options = options,
	    .example = "  tulay whoami\n  tulay whoami --format json",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK)
		rc = rpc_authenticate(&rpc, &resp);
	if (rc == CLI_EXIT_OK)
		rc = output_show(
		    cli, session_record(resp->session, rpc_server(cli, rpc.session.server)));
	tulay_response_free(resp);
	rpc_end(&rpc);
	return rc;
}

int session_read_secret(struct cli *cli, const char *question, bool from_stdin, char **out)
{
	*out = from_stdin ? read_line(stdin) : prompt(question, false);
	if (*out == NULL || (*out)[0] == '\0') {
		forget_secret(*out);
		*out = NULL;
		cli_problem(cli, from_stdin ? "--password-stdin" : "password",
			    from_stdin
				? "standard input holds no more password lines"
				: "no password: type it when asked, or use --password-stdin");
		return cli_usage_result(cli);
	}
	return CLI_EXIT_OK;
}

void session_forget_secret(char *secret)
{
	forget_secret(secret);
}
