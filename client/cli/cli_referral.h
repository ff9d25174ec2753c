/* The referral commands of the tulay CLI: referral propose, accept, decline, revoke and list. */
#ifndef TULAY_CLI_REFERRAL_H
#define TULAY_CLI_REFERRAL_H

#include "cli.h"

/* Each runs one command, like those of cli_claim.h. */
int referral_propose(struct cli *cli, int argc, char **argv);
int referral_accept(struct cli *cli, int argc, char **argv);
int referral_decline(struct cli *cli, int argc, char **argv);
int referral_revoke(struct cli *cli, int argc, char **argv);
int referral_list(struct cli *cli, int argc, char **argv);

#endif
