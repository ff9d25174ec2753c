/* What every part of the tulay CLI shares: the settings of one run, the exit codes, and
 * how messages reach the user (stderr, one line naming the command, then details). */
#ifndef TULAY_CLI_H
#define TULAY_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* The exit codes, as `tulay --help` documents them. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_USAGE = 1,       /* bad options or values, found before contacting the server */
	CLI_EXIT_REFUSED = 2,     /* the server answered with an error, or not logged in */
	CLI_EXIT_UNREACHABLE = 3, /* no usable answer from the server */
	CLI_EXIT_LOCAL = 4,       /* this machine failed us: out of memory, session file I/O */
	/* Not an exit status: a write was kept in the outbox, so there is no answer to print.
	 * Commands return it as they got it; main() exits 0 for it. */
	CLI_EXIT_QUEUED = 100,
};

/* --timeout and TULAY_TIMEOUT, in seconds. */
#define CLI_TIMEOUT_DEFAULT_S 10
#define CLI_TIMEOUT_MAX_S     3600

/* --retries and TULAY_RETRIES: how many times a request the server refused as busy or
 * unavailable is sent again (libtulay's default number of attempts, less the first). */
#define CLI_RETRIES_DEFAULT 4
#define CLI_RETRIES_MAX     20

/* The settings of one run, from options, environment and defaults. */
struct cli {
	const char *command; /* "claim add": names the command in messages */
	const char *server;  /* --server or TULAY_SERVER; NULL: the session's, else default */
	const char *ca_file; /* --ca-file or TULAY_CA_FILE: TLS; NULL: the session's, if any */
	int format;          /* enum output_format */
	uint32_t timeout_s;  /* --timeout or TULAY_TIMEOUT */
	uint32_t retries;    /* --retries or TULAY_RETRIES */
	bool no_queue;       /* --no-queue or TULAY_NO_QUEUE: fail rather than keep a write */
	unsigned problems;   /* usage problems reported so far (cli_problem) */
};

/* Prints "tulay: <command>: <message>" on stderr. Control characters in the message
 * (which may quote the server) are replaced, so a peer cannot drive the terminal. */
void cli_error(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints an indented detail line under the last cli_error, sanitized the same way. */
void cli_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports one usage problem with `what` (a flag such as "--amount", or an argument),
 * under a heading printed before the first problem. Counts it in cli->problems. */
void cli_problem(struct cli *cli, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* After all usage checks: CLI_EXIT_OK when there was no problem, else prints where help
 * is and returns CLI_EXIT_USAGE. */
int cli_usage_result(const struct cli *cli) __attribute__((warn_unused_result));

#endif
