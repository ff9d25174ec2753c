/* claim_bench's shared parts: its options (claim_bench_options.c, which parses them) and
 * the small helpers both files use. Private to claim_bench. */
#ifndef TULAY_CLAIM_BENCH_H
#define TULAY_CLAIM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtulay.h"

#define CLIENT_NAME   "claim_bench"
#define PASSWORD_CAP  1024
#define LINE_CAP      2048
#define MAX_CLIENTS   1024u
#define MAX_DEPTH     4096u
#define LIST_PAGE_MAX 500u

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

enum exit_code {
	EXIT_OK = 0,        /* every request answered OK (or errors allowed) */
	EXIT_FAILED = 1,    /* an error answer, a failed connection or login */
	EXIT_USAGE_ERR = 2, /* bad options */
};

enum bench_op { OP_CREATE, OP_GET, OP_LIST };

/* "create", "get", "list" */
extern const char *const op_names[3];

/* One account the clients act as. `organisation` is only a label ("" when not given): the
 * requests name no organisation, so they go to the user's own. */
struct bench_user {
	char *organisation;
	char *username;
	char *password;
	struct tulay_client *login; /* the connection that logged in; kept for the warm-up */
	char *token;                /* the session's token, for the clients' Authenticate */
	char **references;          /* GetClaim's targets (op get) */
	size_t n_references;
};

struct options {
	const char *server;
	const char *ca_file; /* TLS when not NULL */
	struct bench_user *users;
	size_t n_users;
	unsigned orgs; /* users used: the first `orgs` of the list */
	unsigned clients;
	unsigned depth;
	enum bench_op op;
	double seconds;    /* 0: no time limit */
	uint64_t requests; /* 0: no request limit */
	unsigned warmup_claims;
	unsigned timeout_ms;
	bool allow_errors;
};

/* Prints "claim_bench: " and the message on stderr. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* On allocation failure the program exits: a load generator has no better answer. */
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);

/* Parses the command line into o (users from --user or --users; their password as
 * bench_read_password gets it). --help prints the usage and exits. Returns EXIT_OK, or
 * EXIT_USAGE_ERR after saying what is wrong. */
int parse_options(int argc, char **argv, struct options *o);

#endif
