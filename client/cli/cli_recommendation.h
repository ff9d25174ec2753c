/* The policy recommendation commands of the tulay CLI: recommendation add, show, status and
 * evidence. */
#ifndef TULAY_CLI_RECOMMENDATION_H
#define TULAY_CLI_RECOMMENDATION_H

#include "cli.h"

/* Each runs one command, like those of cli_claim.h. */
int recommendation_add(struct cli *cli, int argc, char **argv);
int recommendation_show(struct cli *cli, int argc, char **argv);
int recommendation_status(struct cli *cli, int argc, char **argv);
int recommendation_evidence(struct cli *cli, int argc, char **argv);

#endif
