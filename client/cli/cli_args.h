/* Command-line parsing for every tulay command, from one table of options each.
 *
 * A command lists its options (name, type, where the value goes, a line of help); the
 * parser reads "--name VALUE" and "--name=VALUE" in any order, checks each value by its
 * type (country codes, dates, numbers, enum words), reports every problem at once naming
 * the flag, and generates --help from the same table. --format, --server, --timeout,
 * --ca-file and --retries are accepted by every command. */
#ifndef TULAY_CLI_ARGS_H
#define TULAY_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "cli_vocab.h"
#include "libtulay.h"

enum args_type {
	ARGS_FLAG,    /* bool: true when given; takes no value */
	ARGS_TEXT,    /* const char *: the value as given, not empty */
	ARGS_COUNTRY, /* const char *: ISO 3166-1 alpha-2 in any case; stores the upper-case code */
	ARGS_CURRENCY, /* const char *: ISO 4217 in any case; stores the upper-case code */
	ARGS_DATE,     /* const char *: YYYY-MM-DD naming a real day */
	ARGS_ACRONYM,  /* const char *: 2-20 of A-Z 0-9 - _; upper-cased in place */
	ARGS_COUNT,    /* uint32_t: a whole number from min to max */
	ARGS_CHOICE,   /* int: the value of one of the words in `choices` */
	ARGS_KEY,      /* struct args_key: 32 hexadecimal digits */
	ARGS_CHOICES,  /* struct args_choices: comma-separated words of `choices`, each once */
	ARGS_APPROX,   /* struct args_approx_date: YYYY-MM-DD, YYYY-MM or YYYY; "~" first: circa */
	ARGS_REPEATED, /* struct args_list: the option may be given again; each value is checked
			* by the type `each` (TEXT, COUNTRY, CURRENCY, DATE, ACRONYM, CHOICE) */
};

/* The words given to an ARGS_CHOICES option, as their values in the order given. */
#define ARGS_CHOICES_MAX 16
struct args_choices {
	int values[ARGS_CHOICES_MAX];
	size_t n;
};

/* A date given to an ARGS_APPROX option: "~2025-03" is date "2025-03", circa. */
struct args_approx_date {
	const char *date; /* NULL: not given */
	bool circa;
};

/* The values given to an ARGS_REPEATED option, in the order given. */
#define ARGS_LIST_MAX 16
struct args_list {
	const char *texts[ARGS_LIST_MAX]; /* each value as its `each` type stores it; for
					   * ARGS_CHOICE the word as given */
	int values[ARGS_LIST_MAX];        /* ARGS_CHOICE: the value of each word */
	size_t n;
	bool overflow; /* given more than ARGS_LIST_MAX times (reported once) */
};

/* An idempotency key given with --idempotency-key, or made up (args_parse_write). */
struct args_key {
	bool given;
	uint8_t bytes[TULAY_IDEMPOTENCY_KEY_BYTES];
};

struct args_option {
	const char *name; /* "--work-start"; NULL ends a table */
	enum args_type type;
	void *target;        /* where the value goes: see args_type */
	const char *metavar; /* "YYYY-MM-DD"; NULL for flags */
	const char *help;    /* one line */
	bool required;
	uint32_t min, max;           /* ARGS_COUNT */
	const struct vocab *choices; /* ARGS_CHOICE(S); --help lists the words */
	enum args_type each;         /* ARGS_REPEATED: the type of each value */
};

struct args_command {
	const char *name;        /* "claim add" */
	const char *description; /* what the command does, a few lines */
	const struct args_option *options;
	const char *operand;      /* "REFERENCE": the one positional argument, or NULL */
	const char *operand_help; /* one line */
	const char **operand_value;
	bool operand_optional; /* the operand may be left out (shown as [OPERAND]) */
	/* Several positional arguments instead of `operand`, in order, each required and
	 * checked by its type like an option: `name` is what the synopsis and messages call
	 * it ("CURRENCY"). Ended by an entry without a name; NULL for none. */
	const struct args_option *operands;
	const char *notes;   /* printed after the options, or NULL */
	const char *example; /* command lines, one per line */
	/* The top-level command line only: stop at the first operand (the command name) and
	 * store its index (argc when there is none). */
	int *rest;
	/* Prints the help instead of the generated one (NULL: generate). */
	void (*help)(FILE *out);
	/* Checks that need several options (an amount in its currency, a period's end after
	 * its start), run after parsing and reporting with cli_problem; NULL for none. */
	void (*check)(struct cli *cli, void *check_ctx);
	void *check_ctx;
};

/* One entry of an option table: its flag ("--employer", or an operand's name), type,
 * target, metavar (NULL for a flag) and one line of help, then any other field by name:
 * ARGS_OPT("--sector", ARGS_CHOICE, &sector, "SECTOR", "the sector of the work",
 *          .required = true, .choices = &vocab_sectors). In the manner of git's OPT_*(). */
#define ARGS_OPT(flag, kind, where, meta, ...)                                                     \
	{                                                                                          \
		.name = (flag), .type = (kind), .target = (where), .metavar = (meta),              \
		.help = __VA_ARGS__                                                                \
	}

/* The --idempotency-key option of a command that creates a record. */
#define ARGS_IDEMPOTENCY_KEY(key)                                                                  \
	{                                                                                          \
		.name = "--idempotency-key", .type = ARGS_KEY, .target = (key),                    \
		.metavar = "HEX32",                                                                \
		.help = "repeat an attempt whose outcome is unknown: the key it printed",          \
	}

/* The --limit and --all options of a list command. */
#define ARGS_PAGE_LIMIT(limit)                                                                     \
	{                                                                                          \
		.name = "--limit", .type = ARGS_COUNT, .target = (limit), .metavar = "N",          \
		.help = "at most N per page, 1-500 (default 50)", .min = 1, .max = 500,            \
	}
#define ARGS_ALL_PAGES(all)                                                                        \
	{                                                                                          \
		.name = "--all", .type = ARGS_FLAG, .target = (all),                               \
		.help = "fetch every page, not only the first",                                    \
	}

/* Parses argv[1..argc) (argv[0] is the command's name) into the options' targets and
 * runs cmd->check. Returns true when the command should go on. Returns false with *exit_code set
 * when it should stop: CLI_EXIT_OK after printing --help on stdout, CLI_EXIT_USAGE after reporting
 * the problems on stderr. Values of ARGS_ACRONYM options are upper-cased inside argv. */
bool args_parse(struct cli *cli, const struct args_command *cmd, int argc, char **argv,
		int *exit_code) __attribute__((warn_unused_result));

/* args_parse for a command that writes: then makes up *key unless --idempotency-key gave
 * it. False with *exit_code set when the command should stop (also CLI_EXIT_LOCAL after
 * saying so, when the system has no randomness to give). */
bool args_parse_write(struct cli *cli, const struct args_command *cmd, int argc, char **argv,
		      struct args_key *key, int *exit_code) __attribute__((warn_unused_result));

/* Reports a problem (cli_problem) naming `flag` when `text` (NULL: not given) has more
 * than `max` characters, with its length and the limit: for commands' checks. */
void args_check_length(struct cli *cli, const char *flag, const char *text, size_t max);

/* Parses a whole number from min to max. Returns false for anything else. */
bool args_count(const char *text, uint32_t min, uint32_t max, uint32_t *out)
    __attribute__((warn_unused_result));

/* Writes the key as 32 lower-case hexadecimal digits and a NUL into hex. */
void args_key_hex(const uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES],
		  char hex[2 * TULAY_IDEMPOTENCY_KEY_BYTES + 1]);

/* Prints `words` wrapped to the help's width; the first line continues at column `col`,
 * the others start at column `indent`. For help texts of all commands. */
void args_print_wrapped(FILE *out, size_t col, size_t indent, const char *words);

#endif
