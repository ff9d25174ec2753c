/* The session file: where `tulay login` keeps the session token for later commands.
 *
 * It lives in $TULAY_CONFIG_DIR, else $XDG_CONFIG_HOME/tulay, else ~/.config/tulay (made
 * with mode 0700), is named `session`, has mode 0600 and holds two or three lines:
 *   server=HOST:PORT
 *   ca_file=/absolute/path/ca.pem      (when the session was opened over TLS)
 *   token=...
 * A token lets anyone who reads it act as the user, so a file that other users can read
 * is refused, not used. */
#ifndef TULAY_CLI_CONFIG_H
#define TULAY_CLI_CONFIG_H

#include <stdbool.h>

#include "cli.h"

struct config_session {
	char *server;  /* the server the session was opened on; NULL if the file has none */
	char *ca_file; /* the CA file it was opened with (TLS); NULL: plaintext */
	char *token;
	/* The server's sealing public key as 64 hexadecimal digits, pinned at login (from
	 * HelloReply): queued writes are sealed to it. NULL if the server sent none. */
	char *sealing_key;
	/* Who logged in: "username@ORGANISATION" (NULL in sessions saved before it was kept):
	 * the outbox sends each write only in its author's session. */
	char *user;
};

enum config_result {
	CONFIG_OK,      /* the session was read */
	CONFIG_MISSING, /* there is no session file: not logged in */
	CONFIG_FAILED,  /* the file cannot be used; cli_error said why (unless quiet) */
};

/* Reads the session file into *s (fresh strings the caller frees with
 * config_session_clear, also after a failure). `quiet` suppresses the messages, for
 * login, which only looks for a server to reuse. */
enum config_result config_session_load(const struct cli *cli, struct config_session *s, bool quiet)
    __attribute__((warn_unused_result));

/* Writes the session atomically (a 0600 temporary file in the same directory, renamed
 * over the old one), creating the directory with mode 0700. Returns 0, or -1 after
 * cli_error said why. */
int config_session_save(const struct cli *cli, const struct config_session *s)
    __attribute__((warn_unused_result));

/* Deletes the session file; no file is fine. Returns 0, or -1 after cli_error said why. */
int config_session_remove(const struct cli *cli) __attribute__((warn_unused_result));

/* The configuration directory ($TULAY_CONFIG_DIR, else $XDG_CONFIG_HOME/tulay, else
 * ~/.config/tulay), created with mode 0700 when `create`. A string the caller frees, or
 * NULL after cli_error said why. */
char *config_directory(const struct cli *cli, bool create) __attribute__((warn_unused_result));

/* Wipes the token from memory and frees the strings. */
void config_session_clear(struct config_session *s);

#endif
