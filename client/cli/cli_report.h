/* The report commands of the tulay CLI: report claims, report deportations and report
 * recommendations. Each asks the server for counts over the cases of a network (or of the
 * user's organisation), grouped by dimensions and by period, with small numbers
 * suppressed, and prints them as a table, a bar chart, CSV or JSON. */
#ifndef TULAY_CLI_REPORT_H
#define TULAY_CLI_REPORT_H

#include "cli.h"

/* Each runs one command, like those of cli_claim.h. */
int report_claims(struct cli *cli, int argc, char **argv);
int report_deportations(struct cli *cli, int argc, char **argv);
int report_recommendations(struct cli *cli, int argc, char **argv);

#endif
