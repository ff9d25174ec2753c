/* The exchange-rate commands of the tulay CLI: rate set (admins) and rate list. Reports
 * with --currency convert claims' amounts into one reporting currency at these rates. */
#ifndef TULAY_CLI_RATE_H
#define TULAY_CLI_RATE_H

#include "cli.h"

/* Each runs one command, like those of cli_claim.h. */
int rate_set(struct cli *cli, int argc, char **argv);
int rate_list(struct cli *cli, int argc, char **argv);

#endif
