/* The deportation commands of the tulay CLI: deportation add, show, stage and intervention. */
#ifndef TULAY_CLI_DEPORTATION_H
#define TULAY_CLI_DEPORTATION_H

#include "cli.h"
#include "cli_output.h"
#include "tulay/v1/deportations.pb-c.h"

/* Each runs one command, like those of cli_claim.h. */
int deportation_add(struct cli *cli, int argc, char **argv);
int deportation_show(struct cli *cli, int argc, char **argv);
int deportation_stage(struct cli *cli, int argc, char **argv);
int deportation_intervention(struct cli *cli, int argc, char **argv);

/* A deportation as the CLI prints it (its person's fields when it carries the person). */
struct output_record *deportation_record(const Tulay__V1__Deportation *d);

#endif
