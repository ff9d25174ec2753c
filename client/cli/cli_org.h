/* The organisation commands of the tulay CLI: org add, org list, org show, org member add,
 * org member end, org office add. */
#ifndef TULAY_CLI_ORG_H
#define TULAY_CLI_ORG_H

#include "cli.h"

/* Each runs one command: argv[0] is the command's name, the rest its arguments. They
 * return the process's exit code (enum cli_exit) after printing the result on stdout or
 * the problem on stderr. */
int org_add(struct cli *cli, int argc, char **argv);
int org_list(struct cli *cli, int argc, char **argv);
int org_show(struct cli *cli, int argc, char **argv);
int org_member_add(struct cli *cli, int argc, char **argv);
int org_member_end(struct cli *cli, int argc, char **argv);
int org_member_propose(struct cli *cli, int argc, char **argv);
int org_member_accept(struct cli *cli, int argc, char **argv);
int org_member_decline(struct cli *cli, int argc, char **argv);
int org_member_proposals(struct cli *cli, int argc, char **argv);
int org_office_add(struct cli *cli, int argc, char **argv);

#endif
