/* The session commands of the tulay CLI: login, logout, whoami. */
#ifndef TULAY_CLI_SESSION_H
#define TULAY_CLI_SESSION_H

#include "cli.h"

/* Each runs one command: argv[0] is the command's name, the rest its arguments. They
 * return the process's exit code (enum cli_exit) after printing the result on stdout or
 * the problem on stderr. */
int session_login(struct cli *cli, int argc, char **argv);
int session_logout(struct cli *cli, int argc, char **argv);
int session_whoami(struct cli *cli, int argc, char **argv);

#endif
