/* Cases of every kind together: case list (search), and the per-kind list commands
 * (deportation list, recommendation list) built on it. */
#ifndef TULAY_CLI_CASE_H
#define TULAY_CLI_CASE_H

#include "cli.h"

/* Each runs one command, like those of cli_claim.h. */
int case_list(struct cli *cli, int argc, char **argv);
int deportation_list(struct cli *cli, int argc, char **argv);
int recommendation_list(struct cli *cli, int argc, char **argv);

#endif
