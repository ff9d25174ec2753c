/* TLS 1.3 and the connection limits, against real tulayd processes started here (with the
 * harness's development certificates, TULAY_TEST_TLS_DIR, and its database): the happy
 * path through libtulay, certificate and host-name verification, plaintext and old TLS
 * refused, the handshake, login and idle deadlines, a client that never reads, login
 * throttling per user and per address, backpressure under TLS, and the rule that a server
 * off loopback needs TLS. Each tulayd is stopped with SIGTERM and must exit 0 cleanly. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "it_client.h"
#include "it_support.h"
#include "libtulay.h"

#define FLOOD 1500

struct tulayd {
	pid_t pid;
	char log[512];
	char server[64];    /* 127.0.0.1:PORT */
	char localhost[64]; /* localhost:PORT */
};

static char ca_file[512];    /* the development CA */
static char other_cert[512]; /* self-signed for other.example: a wrong CA, a wrong host */
static char other_key[512];

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts tulayd with `cert`/`key` (NULL: plaintext) and the extra flags (NULL-ended),
 * its log in the harness's state directory, and waits until it listens and has its
 * database connection. */
static void start_tulayd(struct tulayd *d, const char *cert, const char *key, ...)
{
	const char *argv[40];
	int argc = 0;
	argv[argc++] = "--db-connections";
	argv[argc++] = "1";
	if (cert != NULL) {
		argv[argc++] = "--tls-cert";
		argv[argc++] = cert;
		argv[argc++] = "--tls-key";
		argv[argc++] = key;
	}
	va_list ap;
	va_start(ap, key);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < 38;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;

	struct it_tulayd t;
	it_tulayd_start(&t, "it_tls", argv);
	d->pid = t.pid;
	snprintf(d->log, sizeof(d->log), "%s", t.log);
	snprintf(d->server, sizeof(d->server), "%s", t.server);
	snprintf(d->localhost, sizeof(d->localhost), "localhost:%u", t.port);
}

/* SIGTERM: tulayd must drain and exit 0 with every handle closed (and, under ASan, with
 * nothing leaked: TLS objects included). */
static void stop_tulayd(struct tulayd *d)
{
	assert_int_equal(kill(d->pid, SIGTERM), 0);
	int status;
	assert_int_equal(waitpid(d->pid, &status, 0), d->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *text = it_read_file(d->log);
		fprintf(stderr, "tulayd log %s:\n%s\n", d->log, text);
		free(text);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(it_file_has_within(d->log, "event=stopped clean=1", 0));
}

static void start_tls_tulayd(struct tulayd *d, const char *extra)
{
	char cert[512], key[512];
	snprintf(cert, sizeof(cert), "%s/server.pem", it_env("TULAY_TEST_TLS_DIR"));
	snprintf(key, sizeof(key), "%s/server.key", it_env("TULAY_TEST_TLS_DIR"));
	/* `extra` is one string of space-separated flags, split here. */
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", extra);
	char *words[16] = {0};
	int n = 0;
	for (char *save = NULL, *w = strtok_r(buf, " ", &save); w != NULL && n < 15;
	     w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	start_tulayd(d, cert, key, words[0], words[1], words[2], words[3], words[4], words[5],
		     words[6], words[7], words[8], words[9], words[10], words[11], words[12],
		     words[13], words[14], (char *)NULL);
}

static struct tulay_client *connect_tls(const char *server, const char *ca)
{
	struct tulay_client *c = NULL;
	int rc = tulay_connect_tls(server, ca, 30000, "it_tls", &c);
	if (rc != 0)
		fprintf(stderr, "connect %s: %s\n", server, tulay_last_error(NULL));
	assert_int_equal(rc, 0);
	return c;
}

/* Logs in with the harness password (or `password`); returns the status code. */
static int login_code(struct tulay_client *c, const char *username, const char *password)
{
	Tulay__V1__Response *resp = NULL;
	assert_int_equal(tulay_login(c, username,
				     password != NULL ? password : it_env("TULAY_TEST_PASSWORD"),
				     &resp),
			 0);
	int code = resp->status->code;
	if (code == TULAY__V1__CODE__RESOURCE_EXHAUSTED)
		assert_string_equal(resp->status->message,
				    "too many login attempts; wait a minute");
	tulay_response_free(resp);
	return code;
}

/* Connects over TLS with the development CA and logs in as the field officer. */
static struct tulay_client *officer_tls(const char *server)
{
	struct tulay_client *c = connect_tls(server, ca_file);
	assert_int_equal(login_code(c, "officer", NULL), TULAY__V1__CODE__OK);
	return c;
}

static int list_claims(struct tulay_client *c, size_t *n_claims)
{
	Tulay__V1__ListClaims q = TULAY__V1__LIST_CLAIMS__INIT;
	q.limit = 500;
	Tulay__V1__Response *resp = NULL;
	int rc = tulay_list_claims(c, &q, &resp);
	if (rc == 0) {
		rc = resp->status->code;
		if (n_claims != NULL && rc == 0)
			*n_claims = resp->claims->n_claims;
	}
	tulay_response_free(resp);
	return rc;
}

/* A raw TCP connection to `server` (127.0.0.1:PORT), as it_raw_connect. */
static int raw_connect(const char *server)
{
	setenv("TULAY_SERVER", server, 1);
	return it_raw_connect();
}

/* --- TLS itself ------------------------------------------------------------------------- */

static void test_tls_happy_path(void **state)
{
	(void)state;
	struct tulayd d;
	start_tls_tulayd(&d, "");
	assert_true(it_file_has_within(d.log, "transport=tls", 0));
	/* By IP address (an IP SAN) and by name (a DNS SAN). */
	const char *servers[] = {d.server, d.localhost};
	for (size_t i = 0; i < 2; i++) {
		struct tulay_client *c = officer_tls(servers[i]);
		assert_non_null(tulay_server_hello(c));
		size_t n = 0;
		assert_int_equal(list_claims(c, &n), TULAY__V1__CODE__OK);
		tulay_close(c);
	}
	assert_true(it_file_has_within(d.log, "event=tls_handshake", 0));
	assert_true(it_file_has_within(d.log, "version=TLSv1.3", 0));

	/* A frame over the limit before login is answered (id 0), then the server sends
	 * close_notify and closes, as in plaintext. */
	struct tulay_client *c = connect_tls(d.server, ca_file);
	char *password = malloc(20000);
	assert_non_null(password);
	memset(password, 'x', 19999);
	password[19999] = '\0';
	Tulay__V1__Response *resp = NULL;
	assert_int_equal(tulay_login(c, "officer", password, &resp), 0);
	free(password);
	assert_int_equal(resp->id, 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__RESOURCE_EXHAUSTED);
	tulay_response_free(resp);
	tulay_set_max_attempts(c, 1); /* closed: no connecting again */
	assert_int_equal(list_claims(c, NULL), TULAY_E_CLOSED);
	tulay_close(c);
	assert_true(it_file_has_within(d.log, "event=frame_too_large", 0));
	stop_tulayd(&d);
}

static void test_wrong_ca_and_wrong_host_are_refused(void **state)
{
	(void)state;
	struct tulayd d;
	start_tls_tulayd(&d, "");
	struct tulay_client *c = NULL;
	assert_int_equal(tulay_connect_tls(d.server, other_cert, 5000, "it_tls", &c),
			 TULAY_E_VERIFY);
	assert_null(c);
	assert_non_null(strstr(tulay_last_error(NULL), "not trusted"));
	assert_true(
	    it_file_has_within(d.log, "alert unknown ca", 30000)); /* the server knows why */

	assert_int_equal(tulay_connect_tls(d.server, "/nonexistent/ca.pem", 5000, "it_tls", &c),
			 TULAY_E_USAGE);
	assert_non_null(strstr(tulay_last_error(NULL), "/nonexistent/ca.pem"));
	stop_tulayd(&d);

	/* A certificate the CA file trusts, but for another host. */
	start_tulayd(&d, other_cert, other_key, (char *)NULL);
	assert_int_equal(tulay_connect_tls(d.server, other_cert, 5000, "it_tls", &c),
			 TULAY_E_VERIFY);
	assert_non_null(strstr(tulay_last_error(NULL), "is not for 127.0.0.1"));
	assert_int_equal(tulay_connect_tls(d.localhost, other_cert, 5000, "it_tls", &c),
			 TULAY_E_VERIFY);
	assert_non_null(strstr(tulay_last_error(NULL), "is not for localhost"));
	stop_tulayd(&d);
}

static void test_plaintext_and_old_tls_are_closed(void **state)
{
	(void)state;
	struct tulayd d;
	start_tls_tulayd(&d, ""); /* handshake deadline 10 s: a close within 5 s is a refusal */

	int fd = raw_connect(d.server);
	it_raw_send_hello(fd);
	assert_true(it_raw_closed(fd));
	close(fd);
	assert_true(it_file_has_within(d.log, "wrong version number", 30000));

	/* libtulay connects again after a close before Hello until its deadline: the last
	 * attempt's close, or on a loaded machine the deadline within an attempt, ends it. */
	struct tulay_client *c = NULL;
	int rc = tulay_connect(d.server, 5000, "it_tls", &c);
	if (rc != TULAY_E_CLOSED)
		assert_int_equal(rc, TULAY_E_TIMEOUT);
	assert_null(c);

	/* TLS 1.2 is refused. */
	fd = raw_connect(d.server);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION), 1);
	SSL *ssl = SSL_new(ctx);
	assert_non_null(ssl);
	assert_int_equal(SSL_set_fd(ssl, fd), 1);
	assert_true(SSL_connect(ssl) != 1);
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);

	/* Plaintext libtulay refuses a server off this computer by itself. */
	assert_int_equal(tulay_connect("192.0.2.1:7420", 5000, "it_tls", &c), TULAY_E_USAGE);
	assert_true(tulay_server_is_loopback("127.0.0.1:7420"));
	assert_true(tulay_server_is_loopback("[::1]:7420"));
	assert_true(tulay_server_is_loopback("localhost"));
	assert_false(tulay_server_is_loopback("tulay.example.org:7420"));
	assert_false(tulay_server_is_loopback("10.0.0.1"));
	stop_tulayd(&d);
}

/* --- deadlines -------------------------------------------------------------------------- */

/* Connects raw, sends `bytes`, and returns how long the server took to close (ms). */
static int64_t ms_until_closed(const char *server, const void *bytes, size_t len)
{
	int fd = raw_connect(server);
	int64_t start = now_ms();
	if (len > 0)
		assert_int_equal(it_raw_write(fd, bytes, len), 0);
	assert_true(it_raw_closed(fd));
	close(fd);
	return now_ms() - start;
}

static void test_handshake_deadline(void **state)
{
	(void)state;
	struct tulayd d;
	start_tls_tulayd(&d, "--handshake-timeout-ms 500");
	int64_t silent = ms_until_closed(d.server, NULL, 0);
	/* The start of a ClientHello: a record header and a few bytes of the message. */
	static const uint8_t partial_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00,
						0x01, 0x00, 0x01, 0xfc, 0x03};
	int64_t partial = ms_until_closed(d.server, partial_hello, sizeof(partial_hello));
	printf("# closed after %lld ms (silent), %lld ms (partial ClientHello)\n",
	       (long long)silent, (long long)partial);
	/* Well under the 10 s default: the 500 ms deadline acted (with room for a slow
	 * machine). */
	assert_true(silent >= 400 && silent < 8000);
	assert_true(partial >= 400 && partial < 8000);
	assert_true(it_file_has_within(d.log, "reason=handshake_timeout", 0));
	stop_tulayd(&d);
}

static void test_login_and_idle_deadlines(void **state)
{
	(void)state;
	struct tulayd d;
	/* A login deadline that a loaded machine keeps (TLS handshake, Hello, Login and its
	 * password hash) and that a silent client misses. */
	start_tls_tulayd(&d, "--login-timeout-ms 2000 --idle-timeout-ms 2500");

	/* Three clients side by side, one for each deadline. The silent one: Hello, then no
	 * login. The busy one: logged in, a request every 500 ms for 3 s keeps it. */
	struct tulay_client *silent = connect_tls(d.server, ca_file);
	int64_t silent_since = now_ms();
	struct tulay_client *busy = officer_tls(d.server);
	for (int i = 0; i < 6; i++) {
		usleep(500 * 1000);
		assert_int_equal(list_claims(busy, NULL), TULAY__V1__CODE__OK);
		if (silent != NULL && now_ms() - silent_since > 2100) {
			/* Once the server has closed it (a loaded machine's timer can be late). */
			assert_true(it_file_has_within(d.log, "reason=login_timeout", 30000));
			Tulay__V1__Response *resp = NULL;
			assert_int_equal(
			    tulay_login(silent, "officer", it_env("TULAY_TEST_PASSWORD"), &resp),
			    TULAY_E_CLOSED);
			tulay_close(silent);
			silent = NULL;
		}
	}
	assert_null(silent);
	assert_true(it_file_has_within(d.log, "reason=login_timeout", 0));
	int64_t busy_idle_since = now_ms();

	/* While the busy one idles: a Login read before the deadline is answered, however long
	 * the server takes over it. The users table stays locked until 2.5 s after connecting,
	 * past the 2 s deadline, with the Login waiting for it. */
	it_lock_table("users", "60");
	struct tulay_client *c = connect_tls(d.server, ca_file);
	int64_t t0 = now_ms();
	Tulay__V1__Login login = TULAY__V1__LOGIN__INIT;
	login.username = "officer";
	login.password = (char *)it_env("TULAY_TEST_PASSWORD");
	IT_REQUEST(req);
	req.body_case = TULAY__V1__REQUEST__BODY_LOGIN;
	req.login = &login;
	assert_int_equal(tulay_send(c, &req, NULL), 0);
	it_await_lock_waiter("users");
	while (now_ms() - t0 < 2500)
		usleep(50 * 1000);
	it_unlock_table("users");
	Tulay__V1__Response *answer = NULL;
	assert_int_equal(tulay_recv(c, &answer), 0);
	assert_int_equal(answer->status->code, TULAY__V1__CODE__OK);
	tulay_response_free(answer);
	printf("# logged in %lld ms after connecting (login deadline 2000 ms)\n",
	       (long long)(now_ms() - t0));

	/* The busy one, idle past idle_timeout_ms, is closed (once the server says so). */
	int64_t idle = now_ms() - busy_idle_since;
	if (idle < 2700)
		usleep((useconds_t)(2700 - idle) * 1000);
	assert_true(it_file_has_within(d.log, "reason=idle_timeout", 30000));
	tulay_set_max_attempts(busy, 1); /* closed: no connecting again */
	assert_true(list_claims(busy, NULL) == TULAY_E_CLOSED);
	tulay_close(busy);
	assert_true(it_file_has_within(d.log, "reason=idle_timeout", 0));

	assert_int_equal(list_claims(c, NULL), TULAY__V1__CODE__OK);
	tulay_close(c);
	stop_tulayd(&d);
}

/* Makes sure DEMO has enough claims that 1500 lists of them are many megabytes. */
static void ensure_claims(const char *server, size_t want)
{
	struct tulay_client *c = officer_tls(server);
	size_t have = 0;
	assert_int_equal(list_claims(c, &have), TULAY__V1__CODE__OK);
	for (; have < want; have++) {
		struct it_claim claim;
		uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
		assert_int_equal(tulay_new_idempotency_key(key), 0);
		it_claim_init(
		    &claim, key,
		    &(struct it_claim_spec){
			.nationality = "NP",
			.country = "MY",
			.sector = TULAY__V1__SECTOR__SECTOR_MANUFACTURING,
			.employer = "TLS Backpressure Test Electronics Sdn Bhd, Penang plant",
			.started = "2025-03-01",
			.ended = "2025-09-30",
			.minor_units = 1234500,
			.currency = "MYR"});
		Tulay__V1__Response *resp = NULL;
		assert_int_equal(tulay_create_claim(c, &claim.m, &resp), 0);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		tulay_response_free(resp);
	}
	tulay_close(c);
}

static void test_client_that_never_reads_is_closed(void **state)
{
	(void)state;
	struct tulayd d;
	start_tls_tulayd(&d, "--idle-timeout-ms 1500 --max-output-bytes 65536");
	ensure_claims(d.server, 60);
	struct tulay_client *c = officer_tls(d.server);
	it_flood(c, FLOOD);
	/* The buffers fill and no write completes for longer than idle_timeout_ms: however
	 * slow the machine, wait until the server says so, then read what it sent. */
	assert_true(it_file_has_within(d.log, "reason=write_stalled", 120000));
	int rc = 0, answered = 0;
	while (answered < FLOOD && rc == 0) {
		Tulay__V1__Response *resp = NULL;
		rc = tulay_recv(c, &resp);
		answered += rc == 0;
		tulay_response_free(resp);
	}
	printf("# %d of %d answered before the server closed\n", answered, FLOOD);
	assert_int_equal(rc, TULAY_E_CLOSED);
	assert_true(answered < FLOOD);
	tulay_close(c);
	stop_tulayd(&d);
}

/* --- backpressure ----------------------------------------------------------------------- */

/* Both caps are hit with requests and plaintext still inside OpenSSL and the read BIO;
 * the last of them arrive with nothing more to read from the socket, so only resuming
 * (which runs the decrypt step again) can get them answered. */
static void test_backpressure_under_tls_loses_nothing(void **state)
{
	(void)state;
	struct tulayd d;
	start_tls_tulayd(&d,
			 "--max-output-bytes 65536 --max-requests-in-flight 8 --log-level debug");
	ensure_claims(d.server, 60);
	struct tulay_client *c = officer_tls(d.server);
	size_t bytes = it_drain(c, it_flood(c, FLOOD), FLOOD);
	printf("# %d pipelined requests over TLS, %zu response bytes, none lost\n", FLOOD, bytes);
	assert_true(bytes > 8u * 1024 * 1024);
	/* The caps were reached: the server stopped reading the connection (and it resumed,
	 * since every answer came). */
	assert_true(it_file_has_within(d.log, " reading=0 ", 0));
	/* Still in step: one more call works. */
	assert_int_equal(list_claims(c, NULL), TULAY__V1__CODE__OK);
	tulay_close(c);
	stop_tulayd(&d);
}

/* --- login throttling ------------------------------------------------------------------- */

static void test_login_throttling(void **state)
{
	(void)state;
	struct tulayd d;
	start_tls_tulayd(&d, "--login-attempts-per-minute 3 "
			     "--login-attempts-per-minute-per-address 5");
	struct tulay_client *c = connect_tls(d.server, ca_file);
	/* Three wrong passwords for officer: the limit per user. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(login_code(c, "officer", "wrong password"),
				 TULAY__V1__CODE__UNAUTHENTICATED);
	assert_int_equal(login_code(c, "officer", "wrong password"),
			 TULAY__V1__CODE__RESOURCE_EXHAUSTED);
	tulay_close(c);
	/* From another connection, even with the right password: not checked at all. */
	c = connect_tls(d.server, ca_file);
	assert_int_equal(login_code(c, "officer", NULL), TULAY__V1__CODE__RESOURCE_EXHAUSTED);
	/* Another user from the same address: the address has 3 failures of its 5. A success
	 * does not reset the address's count. */
	assert_int_equal(login_code(c, "coord", NULL), TULAY__V1__CODE__OK);
	tulay_close(c);
	c = connect_tls(d.server, ca_file);
	for (int i = 0; i < 2; i++)
		assert_int_equal(login_code(c, "klofficer", "wrong password"),
				 TULAY__V1__CODE__UNAUTHENTICATED);
	assert_int_equal(login_code(c, "admin", NULL), TULAY__V1__CODE__RESOURCE_EXHAUSTED);
	tulay_close(c);
	assert_true(it_file_has_within(d.log, "event=login_throttled", 0));
	assert_true(it_file_has_within(d.log, "limit=username", 0));
	assert_true(it_file_has_within(d.log, "limit=address", 0));
	stop_tulayd(&d);
}

/* --- the transport rule ----------------------------------------------------------------- */

/* Runs tulayd with `args` (NULL-ended) and returns its exit status; its stderr goes to
 * `out` (cap bytes). */
static int run_tulayd(char *out, size_t cap, const char *const *args)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(it_env("TULAYD"), (char *const *)args);
		_exit(127);
	}
	close(fds[1]);
	size_t len = 0;
	ssize_t n;
	while (len + 1 < cap && (n = read(fds[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_plaintext_off_loopback_refuses_to_start(void **state)
{
	(void)state;
	char out[4096];
	const char *db = it_env("TULAY_TEST_DB");
	const char *const anywhere[] = {"tulayd", "--listen", "0.0.0.0", "--port",
					"0",      "--db",     db,        NULL};
	assert_true(run_tulayd(out, sizeof(out), anywhere) != 0);
	assert_non_null(strstr(out, "tls_cert"));
	assert_non_null(strstr(out, "tls_key"));

	char cert[512];
	snprintf(cert, sizeof(cert), "%s/server.pem", it_env("TULAY_TEST_TLS_DIR"));
	const char *const no_key[] = {"tulayd", "--port",     "0",  "--db",
				      db,       "--tls-cert", cert, NULL};
	assert_true(run_tulayd(out, sizeof(out), no_key) != 0);
	assert_non_null(strstr(out, "tls_key"));

	const char *const bad_cert[] = {"tulayd",     "--port", "0",         "--db", db,
					"--tls-cert", ca_file,  "--tls-key", cert,   NULL};
	assert_true(run_tulayd(out, sizeof(out), bad_cert) != 0);
	assert_non_null(strstr(out, "tls_key"));
}

static int setup(void **state)
{
	(void)state;
	const char *tls = it_env("TULAY_TEST_TLS_DIR");
	const char *dir = it_env("TULAY_TEST_STATE");
	snprintf(ca_file, sizeof(ca_file), "%s/ca.pem", tls);
	snprintf(other_cert, sizeof(other_cert), "%s/it_tls-other.pem", dir);
	snprintf(other_key, sizeof(other_key), "%s/it_tls-other.key", dir);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout '%s' -out '%s' -days 2 -subj /CN=other.example "
		 "-addext subjectAltName=DNS:other.example 2>/dev/null",
		 other_key, other_cert);
	return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tls_happy_path),
	    cmocka_unit_test(test_wrong_ca_and_wrong_host_are_refused),
	    cmocka_unit_test(test_plaintext_and_old_tls_are_closed),
	    cmocka_unit_test(test_handshake_deadline),
	    cmocka_unit_test(test_login_and_idle_deadlines),
	    cmocka_unit_test(test_login_throttling),
	    cmocka_unit_test(test_backpressure_under_tls_loses_nothing),
	    cmocka_unit_test(test_client_that_never_reads_is_closed),
	    cmocka_unit_test(test_plaintext_off_loopback_refuses_to_start),
	};
	return cmocka_run_group_tests_name("it_tls", tests, setup, NULL);
}
