/* The user commands of the tulay CLI: user add, user list, user disable, passwd. */
#ifndef TULAY_CLI_USER_H
#define TULAY_CLI_USER_H

#include "cli.h"

/* Each runs one command: argv[0] is the command's name, the rest its arguments. They
 * return the process's exit code (enum cli_exit). */
int user_add(struct cli *cli, int argc, char **argv);
int user_list(struct cli *cli, int argc, char **argv);
int user_disable(struct cli *cli, int argc, char **argv);
int user_passwd(struct cli *cli, int argc, char **argv);

#endif
