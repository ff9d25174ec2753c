/* The wage-theft claim commands of the tulay CLI: claim add, claim show, claim list,
 * claim status, claim amounts and claim note. */
#ifndef TULAY_CLI_CLAIM_H
#define TULAY_CLI_CLAIM_H

#include "cli.h"

/* Each runs one command: argv[0] is the command's name, the rest its arguments. They
 * return the process's exit code (enum cli_exit) after printing the result on stdout or
 * the problem on stderr. */
int claim_add(struct cli *cli, int argc, char **argv);
int claim_show(struct cli *cli, int argc, char **argv);
int claim_list(struct cli *cli, int argc, char **argv);
int claim_status(struct cli *cli, int argc, char **argv);
int claim_amounts(struct cli *cli, int argc, char **argv);
int claim_pay(struct cli *cli, int argc, char **argv);
int claim_note(struct cli *cli, int argc, char **argv);

#endif
