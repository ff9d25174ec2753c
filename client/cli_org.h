/* The organisation commands of the tulay CLI: org add, org list. */
#ifndef TULAY_CLI_ORG_H
#define TULAY_CLI_ORG_H

#include "cli.h"

/* Each runs one command: argv[0] is the command's name, the rest its arguments. They
 * return the process's exit code (enum cli_exit) after printing the result on stdout or
 * the problem on stderr. */
int org_add(struct cli *cli, int argc, char **argv);
int org_list(struct cli *cli, int argc, char **argv);

#endif
