/* Helpers of the concurrency tests (it_deadlock, it_references, it_audit_concurrency):
 * logins and calls from worker threads, tallies of answers by status code, the logs the
 * stack writes, the database as its owner or superuser, and shell commands.
 *
 * Functions marked "thread-safe" make no cmocka assertion and may run in worker threads;
 * the others assert, and belong to the test's own thread. */
#ifndef TULAY_IT_CONCURRENT_H
#define TULAY_IT_CONCURRENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "libtulay.h"

/* Status codes are 0-16 (gRPC's numbering). */
#define IT_N_CODES 17

/* How many answers of each status code a worker got, and how many calls got no answer. */
struct it_tally {
	int codes[IT_N_CODES];
	int no_answer;       /* a TULAY_E_* instead of a Response */
	int outcome_unknown; /* UNAVAILABLE answers to writes that may have been applied */
};

/* Connects to TULAY_SERVER and logs in as `username` with the harness password. Returns
 * the client, or NULL on any failure. Thread-safe. */
struct tulay_client *it_login_try(const char *username);

/* A fresh idempotency key; aborts if the system has no randomness. Thread-safe. */
void it_new_key(uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES]);

/* xorshift64*: a worker's own reproducible choices. *state must start non-zero. Returns a
 * number in [0, n). Thread-safe (on the caller's own state). */
uint32_t it_rand(uint64_t *state, uint32_t n);

/* Sends `req` on `c` and waits for its answer, counting the answer's code (or the missing
 * answer) in `t`. While the answer is UNAVAILABLE, resends the very same request (same
 * idempotency key) up to `retries` more times, 100-400 ms apart. Returns 0 with *out set,
 * or a TULAY_E_* with *out NULL. Thread-safe. */
int it_call_retrying(struct tulay_client *c, Tulay__V1__Request *req, int retries,
		     struct it_tally *t, Tulay__V1__Response **out);

/* Adds `from` into `into`. */
void it_tally_add(struct it_tally *into, const struct it_tally *from);

/* Prints "# NAME: OK 812, FAILED_PRECONDITION 40, ..." (codes that occurred only). */
void it_tally_print(const char *name, const struct it_tally *t);

/* The size of the file at `path` in bytes; asserts that it exists and can be read. */
long it_file_size(const char *path);

/* The lines of the file at `path`, from byte `offset` on, that contain `needle` and, when
 * `also` is not NULL, `also` too. Asserts the file can be read. When `show` is positive,
 * prints up to `show` of them as "#   | LINE". */
int it_count_lines(const char *path, long offset, const char *needle, const char *also, int show);

/* it_count_lines, waiting up to 10 s for `want` of them: tulayd writes a turn of its event
 * loop's lines when the turn ends, after the answers it sent in that turn. Returns the count
 * (printing up to `show` of the lines). */
int it_await_lines(const char *path, long offset, const char *needle, const char *also, int want,
		   int show);

/* libpq connection strings: the database owner (TULAY_TEST_DB_OWNER), and the cluster's
 * superuser "postgres" on the same socket and database. Static storage. */
const char *it_owner_conninfo(void);
const char *it_superuser_conninfo(void);

/* Connects with `conninfo`; asserts it worked. */
PGconn *it_db_connect(const char *conninfo);

/* Runs `sql` with at most one text parameter (`param`, may be NULL) and returns the first
 * column of the first row as a number (0 when NULL); asserts the query worked and returned
 * a row. */
long long it_sql_number(PGconn *pg, const char *sql, const char *param);

/* Runs `sql` (no result wanted); asserts it worked. */
void it_sql_exec(PGconn *pg, const char *sql);

/* Runs a shell command (printf-style) through sh -c, stdout and stderr together into
 * out[cap] (truncated, NUL-terminated). Returns its exit status, or -1 when it could not
 * run or was killed. Thread-safe. */
int it_sh(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The i-th of a set of varied cases, created on c and asserted OK; its reference goes
 * into reference (32 bytes). Claims differ in corridor, sector and month (of one year), as
 * an organisation's do: they share some rollup rows and not others. */
void it_make_claim(struct tulay_client *c, int i, char *reference);
void it_make_deportation(struct tulay_client *c, int i, char *reference);
void it_make_recommendation(struct tulay_client *c, int i, char *reference);

#endif
