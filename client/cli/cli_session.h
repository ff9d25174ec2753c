/* The session commands of the tulay CLI: login, logout, whoami. */
#ifndef TULAY_CLI_SESSION_H
#define TULAY_CLI_SESSION_H

#include <stdbool.h>

#include "cli.h"

/* Each runs one command: argv[0] is the command's name, the rest its arguments. They
 * return the process's exit code (enum cli_exit) after printing the result on stdout or
 * the problem on stderr. */
int session_login(struct cli *cli, int argc, char **argv);
int session_logout(struct cli *cli, int argc, char **argv);
int session_whoami(struct cli *cli, int argc, char **argv);

/* Reads a secret: one line of standard input when from_stdin, else asked on the terminal
 * with `question` and echo off. On CLI_EXIT_OK *out is a malloc'ed string for
 * session_forget_secret(); otherwise the problem was reported (exit code returned). */
int session_read_secret(struct cli *cli, const char *question, bool from_stdin, char **out)
    __attribute__((warn_unused_result));

/* Wipes and frees a secret from session_read_secret (NULL is fine). */
void session_forget_secret(char *secret);

#endif
