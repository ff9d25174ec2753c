/* The policy recommendation commands of the tulay CLI: recommendation add, show, status and
 * evidence. */
#ifndef TULAY_CLI_RECOMMENDATION_H
#define TULAY_CLI_RECOMMENDATION_H

#include "cli.h"
#include "cli_output.h"
#include "tulay/v1/recommendations.pb-c.h"

/* Each runs one command, like those of cli_claim.h. */
int recommendation_add(struct cli *cli, int argc, char **argv);
int recommendation_show(struct cli *cli, int argc, char **argv);
int recommendation_status(struct cli *cli, int argc, char **argv);
int recommendation_evidence(struct cli *cli, int argc, char **argv);

/* A recommendation as the CLI prints it (without its evidence and timeline). */
struct output_record *recommendation_record(const Tulay__V1__Recommendation *r);

#endif
