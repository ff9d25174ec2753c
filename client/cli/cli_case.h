/* Cases of every kind together: case list (search), and the per-kind list commands
 * (deportation list, recommendation list) built on it. */
#ifndef TULAY_CLI_CASE_H
#define TULAY_CLI_CASE_H

#include <stddef.h>

#include "cli.h"

/* Each runs one command, like those of cli_claim.h. */
int case_list(struct cli *cli, int argc, char **argv);
int deportation_list(struct cli *cli, int argc, char **argv);
int recommendation_list(struct cli *cli, int argc, char **argv);

/* Says on stderr that a case just logged may be a duplicate of the n cases `refs` (the
 * server found a worker or person with the same ID number in them). Nothing when n is 0. */
void case_warn_duplicates(const struct cli *cli, char *const *refs, size_t n);

#endif
