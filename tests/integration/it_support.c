#include "it_support.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "wire.h"

void it_load_env(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s HARNESS_ENV_FILE\n", argv[0]);
		exit(2);
	}
	FILE *f = fopen(argv[1], "r");
	if (f == NULL) {
		fprintf(stderr, "%s: cannot open %s: %s (did the harness start?)\n", argv[0],
			argv[1], strerror(errno));
		exit(2);
	}
	char line[2048];
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		char *value = eq + 1;
		size_t len = strlen(value);
		if (len >= 2 && value[0] == '\'' && value[len - 1] == '\'') {
			value[len - 1] = '\0';
			value++;
		}
		setenv(line, value, 1);
	}
	fclose(f);
}

const char *it_env(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL) {
		fprintf(stderr, "missing %s in the harness environment\n", name);
		abort();
	}
	return v;
}

int it_raw_connect(void)
{
	const char *server = it_env("TULAY_SERVER");
	const char *colon = strrchr(server, ':');
	assert_non_null(colon);
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_port = htons((uint16_t)atoi(colon + 1))};
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct timeval tv = {.tv_sec = IT_RAW_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

int it_raw_write(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int it_raw_send(int fd, const Tulay__V1__Request *req)
{
	size_t len;
	uint8_t *buf = frame_pack(&req->base, 64u * 1024 * 1024, &len);
	assert_non_null(buf);
	int rc = it_raw_write(fd, buf, len);
	free(buf);
	return rc;
}

static int read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

Tulay__V1__Response *it_raw_recv(int fd)
{
	uint8_t hdr[FRAME_HEADER_BYTES];
	if (read_exact(fd, hdr, sizeof(hdr)) != 0)
		return NULL;
	size_t len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (len > 16u * 1024 * 1024)
		return NULL;
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	Tulay__V1__Response *resp = NULL;
	if (read_exact(fd, buf, len) == 0)
		resp = tulay__v1__response__unpack(NULL, len, buf);
	free(buf);
	return resp;
}

bool it_raw_closed(int fd)
{
	uint8_t byte;
	for (;;) {
		ssize_t n = recv(fd, &byte, 1, 0);
		if (n == 0)
			return true;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ECONNRESET;
		return false; /* more data: not closed */
	}
}

void it_raw_send_hello(int fd)
{
	IT_REQUEST(req);
	Tulay__V1__Hello hello = TULAY__V1__HELLO__INIT;
	hello.protocol_version = 1;
	hello.client = "tulay-it";
	req.id = 1;
	req.body_case = TULAY__V1__REQUEST__BODY_HELLO;
	req.hello = &hello;
	assert_int_equal(it_raw_send(fd, &req), 0);
}

void it_raw_hello(int fd)
{
	it_raw_send_hello(fd);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(resp->body_case, TULAY__V1__RESPONSE__BODY_HELLO);
	tulay__v1__response__free_unpacked(resp, NULL);
}

void it_raw_send_login(int fd, uint64_t id, const char *username)
{
	IT_REQUEST(req);
	Tulay__V1__Login login = TULAY__V1__LOGIN__INIT;
	login.username = (char *)username;
	login.password = (char *)it_env("TULAY_TEST_PASSWORD");
	req.id = id;
	req.body_case = TULAY__V1__REQUEST__BODY_LOGIN;
	req.login = &login;
	assert_int_equal(it_raw_send(fd, &req), 0);
}

void it_raw_login(int fd, const char *username)
{
	it_raw_send_login(fd, 2, username);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	tulay__v1__response__free_unpacked(resp, NULL);
}

/* The directory of the cluster's socket, from TULAY_TEST_DB ("host=DIR dbname=tulay ..."). */
static const char *socket_dir(void)
{
	static char host[512];
	const char *db = it_env("TULAY_TEST_DB");
	snprintf(host, sizeof(host), "%s", db + strlen("host="));
	host[strcspn(host, " ")] = '\0';
	return host;
}

/* The superuser's connection of the foreground it_psql calls: one for the whole test, as
 * a psql process and a backend for each statement cost more CPU than the statements. A
 * connection the cluster lost (it_outage restarts it) is made again. */
static PGconn *superuser_conn(void)
{
	static PGconn *pg;
	if (pg != NULL && PQstatus(pg) == CONNECTION_OK)
		return pg;
	PQfinish(pg);
	const char *keys[] = {"host", "user", "dbname", "application_name", NULL};
	const char *values[] = {socket_dir(), "postgres", "tulay", "it_support", NULL};
	pg = PQconnectdbParams(keys, values, 0);
	if (PQstatus(pg) != CONNECTION_OK)
		fail_msg("cannot connect to the test cluster: %s", PQerrorMessage(pg));
	return pg;
}

void it_psql(const char *sql, char *out, size_t cap, bool background)
{
	if (background) {
		char cmd[4096];
		snprintf(
		    cmd, sizeof(cmd),
		    "'%s/psql' -X -qAt -h '%s' -U postgres -d tulay -c \"%s\" >/dev/null 2>&1 &",
		    it_env("TULAY_TEST_PG_BIN"), socket_dir(), sql);
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		pclose(p);
		return;
	}
	PGresult *r = PQexec(superuser_conn(), sql);
	if (PQresultStatus(r) == PGRES_FATAL_ERROR && PQstatus(superuser_conn()) != CONNECTION_OK) {
		PQclear(r); /* the cluster was restarted under the connection: once more */
		r = PQexec(superuser_conn(), sql);
	}
	/* As psql -qAt printed it: the first column of the first row, "" for none or on error. */
	if (out != NULL)
		snprintf(out, cap, "%s",
			 PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0
			     ? PQgetvalue(r, 0, 0)
			     : "");
	PQclear(r);
}

/* The number of granted ACCESS EXCLUSIVE locks on `table`. */
static int exclusive_locks(const char *table)
{
	char sql[512], line[32];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM pg_locks WHERE relation = '%s'::regclass AND "
		 "mode = 'AccessExclusiveLock' AND granted",
		 table);
	it_psql(sql, line, sizeof(line), false);
	return atoi(line);
}

void it_lock_table(const char *table, const char *seconds)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(%s); COMMIT;",
		 table, seconds);
	it_psql(sql, NULL, 0, true);
	for (int i = 0; i < 3000; i++) {
		if (exclusive_locks(table) == 1)
			return;
		usleep(10 * 1000);
	}
	fail_msg("the lock on %s was not taken within 30 s", table);
}

void it_unlock_table(const char *table)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE relation = "
		 "'%s'::regclass AND mode = 'AccessExclusiveLock' AND granted",
		 table);
	it_psql(sql, NULL, 0, false);
	for (int i = 0; i < 3000; i++) {
		if (exclusive_locks(table) == 0)
			return;
		usleep(10 * 1000);
	}
	fail_msg("the lock on %s was still held 30 s after its holder was ended", table);
}

void it_await_lock_waiter(const char *table)
{
	char sql[256], waiting[32] = "0";
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM pg_locks WHERE relation = '%s'::regclass AND NOT granted",
		 table);
	for (int i = 0; i < 3000 && atoi(waiting) == 0; i++) {
		it_psql(sql, waiting, sizeof(waiting), false);
		if (atoi(waiting) == 0)
			usleep(10 * 1000);
	}
	if (atoi(waiting) == 0)
		fail_msg("no statement waited for the lock on %s within 30 s", table);
}

void it_claim_init(struct it_claim *c, const uint8_t *key, const struct it_claim_spec *spec)
{
	tulay__v1__create_claim__init(&c->m);
	tulay__v1__money__init(&c->amount);
	tulay__v1__request__init(&c->req);
	c->m.idempotency_key.data = (uint8_t *)key;
	c->m.idempotency_key.len = 16;
	c->m.worker_nationality = (char *)(spec->nationality != NULL ? spec->nationality : "PH");
	c->m.country_of_work = (char *)(spec->country != NULL ? spec->country : "MY");
	c->m.sector = spec->sector != 0 ? spec->sector : TULAY__V1__SECTOR__SECTOR_DOMESTIC_WORK;
	c->m.employer = (char *)(spec->employer != NULL ? spec->employer : "It Test Employer");
	c->m.work_started_on = (char *)(spec->started != NULL ? spec->started : "2025-01-01");
	c->m.work_ended_on = (char *)(spec->ended != NULL ? spec->ended : "2025-06-30");
	c->amount.minor_units = spec->minor_units != 0 ? spec->minor_units : 100000;
	c->amount.currency = (char *)(spec->currency != NULL ? spec->currency : "MYR");
	c->m.amount_claimed = &c->amount;
	c->req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	c->req.create_claim = &c->m;
}

double it_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void it_sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

char *it_read_file(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	assert_non_null(mem);
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, mem);
		fclose(f);
	}
	fclose(mem);
	return text;
}

bool it_file_has_within(const char *path, const char *needle, int ms)
{
	double deadline = it_now() + ms / 1000.0;
	for (;;) {
		char *text = it_read_file(path);
		bool found = strstr(text, needle) != NULL;
		free(text);
		if (found || it_now() > deadline)
			return found;
		it_sleep_ms(20);
	}
}

void it_tulayd_start(struct it_tulayd *d, const char *name, const char *const *args)
{
	static int started;
	const char *argv[48] = {"tulayd", "--port", "0", "--db", it_env("TULAY_TEST_DB")};
	int argc = 5;
	for (; args != NULL && *args != NULL; args++) {
		assert_true(argc < 47);
		argv[argc++] = *args;
	}
	argv[argc] = NULL;
	snprintf(d->log, sizeof(d->log), "%s/%s.%d.%d.log", it_env("TULAY_TEST_STATE"), name,
		 (int)getpid(), ++started);
	int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	d->pid = fork();
	assert_true(d->pid >= 0);
	if (d->pid == 0) {
		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
		execv(it_env("TULAYD"), (char *const *)argv);
		_exit(127);
	}
	close(fd);
	if (!it_file_has_within(d->log, "event=db_conn_ready", 60000))
		fail_msg("tulayd did not start within 60 s; see %s", d->log);
	char *text = it_read_file(d->log);
	const char *port = strstr(text, "event=listening");
	port = port != NULL ? strstr(port, " port=") : NULL;
	assert_non_null(port);
	d->port = (unsigned)atoi(port + 6);
	snprintf(d->server, sizeof(d->server), "127.0.0.1:%u", d->port);
	free(text);
}

int it_tulayd_stop(struct it_tulayd *d)
{
	if (d->pid <= 0)
		return -1;
	int status = -1;
	kill(d->pid, SIGTERM);
	if (waitpid(d->pid, &status, 0) != d->pid)
		status = -1;
	d->pid = 0;
	return status;
}
