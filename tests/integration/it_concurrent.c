#include "it_concurrent.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "it_support.h"

struct tulay_client *it_login_try(const char *username)
{
	struct tulay_client *c = NULL;
	if (tulay_connect(getenv("TULAY_SERVER"), 15000, "it_concurrent", &c) != 0)
		return NULL;
	Tulay__V1__Response *resp = NULL;
	if (tulay_login(c, username, getenv("TULAY_TEST_PASSWORD"), &resp) != 0 ||
	    resp->status->code != TULAY__V1__CODE__OK) {
		tulay_response_free(resp);
		tulay_close(c);
		return NULL;
	}
	tulay_response_free(resp);
	return c;
}

void it_new_key(uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES])
{
	if (tulay_new_idempotency_key(key) != 0)
		abort();
}

uint32_t it_rand(uint64_t *state, uint32_t n)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

static void tally_code(struct it_tally *t, Tulay__V1__Code code)
{
	if ((int)code >= 0 && (int)code < IT_N_CODES)
		t->codes[code]++;
	else
		t->codes[TULAY__V1__CODE__INTERNAL]++; /* an unknown code counts as a bug */
}

int it_call_retrying(struct tulay_client *c, Tulay__V1__Request *req, int retries,
		     struct it_tally *t, Tulay__V1__Response **out)
{
	*out = NULL;
	for (int attempt = 0;; attempt++) {
		Tulay__V1__Response *resp = NULL;
		int rc = tulay_call(c, req, &resp);
		if (rc != 0) {
			t->no_answer++;
			return rc;
		}
		tally_code(t, resp->status->code);
		if (resp->status->outcome_unknown)
			t->outcome_unknown++;
		if (resp->status->code != TULAY__V1__CODE__UNAVAILABLE || attempt >= retries) {
			*out = resp;
			return 0;
		}
		tulay_response_free(resp);
		it_sleep_ms(100 + 100 * (attempt < 3 ? attempt : 3));
	}
}

void it_tally_add(struct it_tally *into, const struct it_tally *from)
{
	for (int i = 0; i < IT_N_CODES; i++)
		into->codes[i] += from->codes[i];
	into->no_answer += from->no_answer;
	into->outcome_unknown += from->outcome_unknown;
}

void it_tally_print(const char *name, const struct it_tally *t)
{
	printf("# %s:", name);
	const char *sep = " ";
	for (int i = 0; i < IT_N_CODES; i++) {
		if (t->codes[i] == 0)
			continue;
		printf("%s%s %d", sep, tulay_code_name((Tulay__V1__Code)i), t->codes[i]);
		sep = ", ";
	}
	if (t->no_answer > 0)
		printf("%sno answer %d", sep, t->no_answer);
	if (t->outcome_unknown > 0)
		printf(" (%d of the UNAVAILABLE with the outcome unknown)", t->outcome_unknown);
	printf("\n");
}

long it_file_size(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long size = ftell(f);
	fclose(f);
	assert_true(size >= 0);
	return size;
}

int it_count_lines(const char *path, long offset, const char *needle, const char *also, int show)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, offset, SEEK_SET), 0);
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	while (getline(&line, &cap, f) != -1) {
		if (strstr(line, needle) == NULL || (also != NULL && strstr(line, also) == NULL))
			continue;
		if (n++ < show)
			printf("#   | %s", line);
	}
	free(line);
	fclose(f);
	return n;
}

const char *it_owner_conninfo(void)
{
	return it_env("TULAY_TEST_DB_OWNER");
}

int it_await_lines(const char *path, long offset, const char *needle, const char *also, int want,
		   int show)
{
	for (int i = 0; i < 500 && it_count_lines(path, offset, needle, also, 0) < want; i++)
		it_sleep_ms(20);
	return it_count_lines(path, offset, needle, also, show);
}

const char *it_superuser_conninfo(void)
{
	/* TULAY_TEST_DB is "host=DIR dbname=tulay user=tulay_app". */
	static char conninfo[600];
	const char *db = it_env("TULAY_TEST_DB");
	char host[512];
	snprintf(host, sizeof(host), "%s", db + strlen("host="));
	host[strcspn(host, " ")] = '\0';
	snprintf(conninfo, sizeof(conninfo), "host=%s dbname=tulay user=postgres", host);
	return conninfo;
}

PGconn *it_db_connect(const char *conninfo)
{
	PGconn *pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK)
		fail_msg("cannot connect to %s: %s", conninfo, PQerrorMessage(pg));
	return pg;
}

long long it_sql_number(PGconn *pg, const char *sql, const char *param)
{
	const char *params[1] = {param};
	PGresult *r = PQexecParams(pg, sql, param != NULL ? 1 : 0, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
		PQclear(r);
		fail_msg("query failed: %s\n%s", sql, msg);
	}
	long long v = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

void it_sql_exec(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
		PQclear(r);
		fail_msg("statement failed: %s\n%s", sql, msg);
	}
	PQclear(r);
}

int it_sh(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) - 8)
		return -1;
	strcat(cmd, " 2>&1");
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	size_t len = 0;
	if (cap > 0) {
		size_t got;
		while (len + 1 < cap && (got = fread(out + len, 1, cap - 1 - len, p)) > 0)
			len += got;
		out[len] = '\0';
	}
	char sink[256];
	while (fread(sink, 1, sizeof(sink), p) > 0)
		; /* the rest, so the command never blocks on a full pipe */
	int status = pclose(p);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* --- varied cases (it_deadlock) ------------------------------------------------------- */

/* The claims differ in corridor, sector and month (of one year), as an organisation's
 * claims do: they share some rollup rows and not others. */
void it_make_claim(struct tulay_client *c, int i, char *reference)
{
	static const char *const origins[] = {"ID", "PH", "NP", "BD", "MM", "KH"};
	static const char *const destinations[] = {"MY", "TH", "SG"};
	static const char *const ended[] = {"2025-01-31", "2025-02-28", "2025-04-30",
					    "2025-06-30", "2025-08-31", "2025-11-30"};
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	it_new_key(key);
	char employer[64];
	snprintf(employer, sizeof(employer), "Deadlock Test Employer %d Sdn Bhd", i % 3);
	struct it_claim cc;
	it_claim_init(&cc, key,
		      &(struct it_claim_spec){.nationality = origins[i % 6],
					      .country = destinations[i % 3],
					      .sector = (Tulay__V1__Sector)(1 + i % 4),
					      .employer = employer,
					      .started = "2024-06-01",
					      .ended = ended[i % 6],
					      .minor_units = 1500000 + 1000 * i,
					      .currency = "MYR"});
	Tulay__V1__Response *resp = NULL;
	assert_int_equal(tulay_create_claim(c, &cc.m, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	snprintf(reference, 32, "%s", resp->claim->reference);
	tulay_response_free(resp);
}

void it_make_deportation(struct tulay_client *c, int i, char *reference)
{
	static const char *const arrested_in[] = {"2025-01", "2025-03", "2025-02"};
	static const char *const nationalities[] = {"MM", "ID", "KH"};
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	it_new_key(key);
	Tulay__V1__CreateDeportation d = TULAY__V1__CREATE_DEPORTATION__INIT;
	Tulay__V1__ApproxDate arrested = TULAY__V1__APPROX_DATE__INIT;
	arrested.date = (char *)arrested_in[i % 3];
	d.idempotency_key.data = key;
	d.idempotency_key.len = sizeof(key);
	d.nationality = (char *)nationalities[i % 3];
	d.deported_from = i % 2 == 0 ? "MY" : "TH";
	d.sector = TULAY__V1__SECTOR__SECTOR_CONSTRUCTION;
	d.arrested_on = &arrested;
	d.arrest_place = "Kajang";
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_DEPORTATION;
	req.create_deportation = &d;
	Tulay__V1__Response *resp = NULL;
	assert_int_equal(tulay_call(c, &req, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(resp->deportation->status,
			 TULAY__V1__DEPORTATION_STATUS__DEPORTATION_STATUS_ARRESTED);
	snprintf(reference, 32, "%s", resp->deportation->reference);
	tulay_response_free(resp);
}

void it_make_recommendation(struct tulay_client *c, int i, char *reference)
{
	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	it_new_key(key);
	char title[80];
	snprintf(title, sizeof(title), "Deadlock test: pay wages through banks (%d)", i);
	Tulay__V1__CreateRecommendation r = TULAY__V1__CREATE_RECOMMENDATION__INIT;
	r.idempotency_key.data = key;
	r.idempotency_key.len = sizeof(key);
	r.status = TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_SUBMITTED;
	r.title = title;
	r.text = "Employers pay every wage into the worker's own bank account.";
	r.source_document = "Deadlock test statement";
	r.source_date = "2025-01-15";
	r.addressed_to = TULAY__V1__ADDRESSED_TO__ADDRESSED_TO_ASEAN;
	r.theme = TULAY__V1__RECOMMENDATION_THEME__RECOMMENDATION_THEME_WAGE_PROTECTION;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_RECOMMENDATION;
	req.create_recommendation = &r;
	Tulay__V1__Response *resp = NULL;
	assert_int_equal(tulay_call(c, &req, &resp), 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	snprintf(reference, 32, "%s", resp->recommendation->reference);
	tulay_response_free(resp);
}
