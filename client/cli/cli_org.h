/* The organisation commands of the tulay CLI: org add, org list, org show, org member add,
 * org member end, org office add. */
#ifndef TULAY_CLI_ORG_H
#define TULAY_CLI_ORG_H

#include "cli.h"
#include "libtulay.h"

/* Each runs one command: argv[0] is the command's name, the rest its arguments. They
 * return the process's exit code (enum cli_exit) after printing the result on stdout or
 * the problem on stderr. */
int org_add(struct cli *cli, int argc, char **argv);
int org_list(struct cli *cli, int argc, char **argv);
int org_show(struct cli *cli, int argc, char **argv);
int org_member_add(struct cli *cli, int argc, char **argv);
int org_member_end(struct cli *cli, int argc, char **argv);
int org_member_propose(struct cli *cli, int argc, char **argv);
int org_member_accept(struct cli *cli, int argc, char **argv);
int org_member_decline(struct cli *cli, int argc, char **argv);
int org_member_proposals(struct cli *cli, int argc, char **argv);
int org_office_add(struct cli *cli, int argc, char **argv);

/* Shared by cli_org.c and cli_membership.c. */
struct rpc;
/* The membership as a record of the CLI's output formats. */
struct output_record *membership_record(const Tulay__V1__Membership *m);
/* A record with a membership's fields, all empty (a list's header without rows). */
struct output_record *membership_blank(void);
/* Asks for the organisation `acronym` on `rpc`. Returns CLI_EXIT_OK with the Response
 * (body organisation_detail, its organisation present) in *out for the caller to free,
 * or the exit code after saying what failed. */
int org_detail(struct rpc *rpc, const char *acronym, Tulay__V1__Response **out);

#endif
