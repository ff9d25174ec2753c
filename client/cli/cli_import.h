/* tulay import: cases from a CSV file in the columns of tulay export. */
#ifndef TULAY_CLI_IMPORT_H
#define TULAY_CLI_IMPORT_H

#include "cli.h"

int import_claims(struct cli *cli, int argc, char **argv);
int import_deportations(struct cli *cli, int argc, char **argv);
int import_recommendations(struct cli *cli, int argc, char **argv);

#endif
