/* What the claim commands share: cli_claim.c (add, show, list, status) and
 * cli_claim_amounts.c (amounts, pay, note). Private to them. */
#ifndef TULAY_CLI_CLAIM_COMMON_H
#define TULAY_CLI_CLAIM_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_output.h"
#include "libtulay.h"

/* Limits of the server (proto: ChangeClaimStatus.reason, AddCaseNote.text), in
 * characters, checked here so that a long text is not typed in vain. */
#define CLAIM_REASON_MAX 1000
#define CLAIM_NOTE_MAX   4000

/* The --org option, naming another organisation than the user's own. */
#define CLAIM_ORG_OPTION(where, what)                                                              \
	{                                                                                          \
		.name = "--org", .type = ARGS_ACRONYM, .target = (where), .metavar = "ACRONYM",    \
		.help = what " (default: your own)",                                               \
	}

/* The REFERENCE operand of the commands about one claim. */
#define CLAIM_REFERENCE_OPERAND(where)                                                             \
	.operand = "REFERENCE", .operand_help = "the claim's reference, e.g. WT-2026-000123",      \
	.operand_value = (where)

/* The --expected-version option of the commands that change a claim. */
#define CLAIM_EXPECTED_VERSION_OPTION(where)                                                       \
	{                                                                                          \
		.name = "--expected-version", .type = ARGS_COUNT, .target = (where),               \
		.metavar = "N",                                                                    \
		.help = "refuse if the claim changed since you saw version N (tulay claim show)",  \
		.min = 1, .max = UINT32_MAX,                                                       \
	}

#define CLAIM_EXPECTED_VERSION_NOTE                                                                \
	"Without --expected-version, the version the server shows just before is\n"                \
	"used: give it when you decided on the strength of what you saw earlier."

/* The --org option of the commands that change a case: a case another organisation
 * referred to yours. */
#define CASE_ORG_OPTION(where)                                                                     \
	{                                                                                          \
		.name = "--org", .type = ARGS_ACRONYM, .target = (where), .metavar = "ACRONYM",    \
		.help = "the organisation whose case it is, when it referred the case to yours "   \
			"(default: your own)",                                                     \
	}

/* The --on option of the timeline's commands. */
#define CLAIM_ON_OPTION(where, what)                                                               \
	{                                                                                          \
		.name = "--on", .type = ARGS_DATE, .target = (where), .metavar = "YYYY-MM-DD",     \
		.help = what " (default: today)",                                                  \
	}

/* An amount option: the text given, and the Money once checked in its currency. */
struct claim_amount {
	const char *text; /* NULL: not given */
	Tulay__V1__Money money;
};

/* A change to one claim, made against a version of it. */
struct claim_change {
	const char *reference;
	const char *org;   /* --org: NULL for the caller's own organisation */
	uint32_t expected; /* --expected-version; 0: the version the server shows now */
	const struct args_key *key;
	const char *uncertain;     /* "The claim may or may not be filed now" */
	Tulay__V1__Request *req;   /* the change */
	int64_t *expected_version; /* where in req the version goes */
	/* Prints the heading over the changed claim, in the table format. */
	void (*heading)(const struct cli *cli, const Tulay__V1__Claim *c);
	/* The change sets the award: without --expected-version it is refused when the claim
	 * has one already (it would be overwritten unseen), and a stale version is answered
	 * with the award and version the claim has now. */
	bool sets_award;
};

/* The claim as a record of the CLI's output formats. */
struct output_record *claim_record(const Tulay__V1__Claim *c);
/* Checks the amount `a` given with `flag` in `currency` (either may be missing: the
 * pairing is checked apart) and stores it in a->money; reports a problem naming `flag`
 * otherwise. Zero passes only with `zero_ok`. */
void claim_check_amount(struct cli *cli, const char *flag, struct claim_amount *a,
			const char *currency, bool zero_ok);
/* The checked amount for a request, or NULL (unset) when it was not given. */
Tulay__V1__Money *claim_amount_money(struct claim_amount *a);
/* `m` as "30000.00 MYR" in buf (64 bytes are plenty). */
const char *claim_money_text(const Tulay__V1__Money *m, char *buf, size_t cap);
/* "30000.00 MYR" in buf, or "none" when `m` is unset. */
const char *claim_money_or_none(const Tulay__V1__Money *m, char *buf, size_t cap);
/* Sends the change on one connection, after asking for the claim's current version when
 * none was given, and prints the changed claim. Returns the exit code. */
int claim_change_send(struct cli *cli, const struct claim_change *ch);

#endif
