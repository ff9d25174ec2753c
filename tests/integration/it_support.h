/* Shared helpers of the integration tests: the harness's environment file, raw protocol
 * sockets (for malformed input a real client would never send) and small assertions. */
#ifndef TULAY_IT_SUPPORT_H
#define TULAY_IT_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tulay/v1/envelope.pb-c.h"

/* Loads KEY=value lines of the harness env file (path in argv[1]) into the process
 * environment. Exits the test program when it cannot. */
void it_load_env(int argc, char **argv);

/* Returns the value of an environment variable the harness set; aborts if missing. */
const char *it_env(const char *name);

/* How long a raw connection waits for the server's next bytes: long enough for a machine
 * ten times slower than a quiet one (the harness's tulayd may take 30 s over a query). */
#define IT_RAW_TIMEOUT_S 60

/* Opens a TCP connection to TULAY_SERVER with an IT_RAW_TIMEOUT_S receive timeout.
 * Returns the fd. */
int it_raw_connect(void);

/* Writes all bytes; returns 0 or -1. */
int it_raw_write(int fd, const void *data, size_t len);

/* Frames and writes a Request. Returns 0 or -1. */
int it_raw_send(int fd, const Tulay__V1__Request *req);

/* Reads one Response (NULL on EOF, timeout or garbage). Free with
 * tulay__v1__response__free_unpacked(resp, NULL). */
Tulay__V1__Response *it_raw_recv(int fd);

/* True when the server closed the connection (EOF or reset) within IT_RAW_TIMEOUT_S with
 * no more bytes. */
bool it_raw_closed(int fd);

/* Sends Hello (request id 1) without waiting for the reply. */
void it_raw_send_hello(int fd);

/* Sends Hello and asserts an OK reply. */
void it_raw_hello(int fd);

/* Sends Login{username, harness password} with request id `id`, without waiting. */
void it_raw_send_login(int fd, uint64_t id, const char *username);

/* Sends Login for `username` with the harness password, asserts OK. */
void it_raw_login(int fd, const char *username);

/* A request with only an id and a body set by the caller. */
/* Runs SQL as the cluster's superuser; the first column of the first row goes to out (""
 * if none or on error; out may be NULL). In the foreground on one connection kept for the
 * test; in the background (a lock holder, say) through a psql of its own, nothing read. */
void it_psql(const char *sql, char *out, size_t cap, bool background);

/* Takes `table` in ACCESS EXCLUSIVE mode for `seconds` (a number, as SQL reads it) in a
 * transaction of its own, and returns once the lock is held: statements on the table wait
 * until then. */
void it_lock_table(const char *table, const char *seconds);

/* Ends the transaction holding `table` (it_lock_table) and returns once the lock is gone. */
void it_unlock_table(const char *table);

/* Waits (30 s at most, else fails the test) until a statement waits for the lock on
 * `table`: a request has reached the database and is held there. */
void it_await_lock_waiter(const char *table);

/* One CreateClaim builder for the C tests. it_claim_init fills a claim that the server
 * accepts as it is: fields the spec leaves 0 or NULL take the defaults (Filipino workers
 * in Malaysia, domestic work, January to June 2025, 1,000.00 MYR). The key (16 bytes) is
 * the caller's and must outlive the claim; req wraps m, so the struct is not copied. */
struct it_claim_spec {
	const char *nationality, *country;
	Tulay__V1__Sector sector;
	const char *employer, *started, *ended;
	int64_t minor_units;
	const char *currency;
};

struct it_claim {
	Tulay__V1__CreateClaim m;
	Tulay__V1__Money amount;
	Tulay__V1__Request req; /* body create_claim: &m */
};

void it_claim_init(struct it_claim *c, const uint8_t *key, const struct it_claim_spec *spec);

/* Seconds on the monotonic clock. Thread-safe. */
double it_now(void);

/* Sleeps `ms` milliseconds. Thread-safe. */
void it_sleep_ms(int ms);

/* A tulayd of a test's own, on the harness's database and a free port of loopback. */
struct it_tulayd {
	int pid;
	char log[512];   /* its output */
	char server[64]; /* 127.0.0.1:PORT */
	unsigned port;
};

/* Starts tulayd with --port 0 --db TULAY_TEST_DB and `args` (NULL-ended), its output in
 * TULAY_TEST_STATE/NAME.PID.N.log, and returns once it listens and has a database
 * connection (fails the test after 60 s). */
void it_tulayd_start(struct it_tulayd *d, const char *name, const char *const *args);

/* it_tulayd_start's arguments that keep tulayd's chores (audit sealing, report folding and
 * refreshing) off its connections after the start: a test's requests have them alone. */
#define IT_TULAYD_NO_CHORES                                                                        \
	"--audit-seal-ms", "60000", "--report-fold-ms", "60000", "--report-refresh-ms", "60000"

/* SIGTERM, then waits for it; returns its wait status (-1 when none was running). */
int it_tulayd_stop(struct it_tulayd *d);

/* The whole of a file as a string ("" when it is missing); free() it. */
char *it_read_file(const char *path);

/* Waits up to `ms` for `needle` in the file at `path`; true if it appeared. */
bool it_file_has_within(const char *path, const char *needle, int ms);

#define IT_REQUEST(name) Tulay__V1__Request name = TULAY__V1__REQUEST__INIT

#endif
