/* tulay export: every case of one kind of your organisation, streamed to CSV or JSON. */
#ifndef TULAY_CLI_EXPORT_H
#define TULAY_CLI_EXPORT_H

#include "cli.h"

int export_cases(struct cli *cli, int argc, char **argv);

#endif
