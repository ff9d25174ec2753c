/* GetReport, SetExchangeRate and ListExchangeRates against a real tulayd, over raw frames:
 * every field the server refuses is named, as proto/README.md ("Reports") says, for
 * clients other than the CLI; what it takes it answers in the shape of Report and
 * ExchangeRate; and a connection that was refused keeps being served. it_reports.sh
 * covers the figures themselves through the CLI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_support.h"

#define CLAIMS          TULAY__V1__REPORT_KIND__REPORT_KIND_CLAIMS
#define DEPORTATIONS    TULAY__V1__REPORT_KIND__REPORT_KIND_DEPORTATIONS
#define RECOMMENDATIONS TULAY__V1__REPORT_KIND__REPORT_KIND_RECOMMENDATIONS

#define GROUP_BY_ROOM 6 /* one more than the server's limit of 4, and a NULL */
#define FILTERS_ROOM  17

static uint64_t next_id = 100;
/* Which table entry is being asked, for failure messages. */
static char asking[32] = "";

/* Sends `req` with the next id and returns the Response to it. */
static Tulay__V1__Response *call(int fd, Tulay__V1__Request *req)
{
	req->id = next_id++;
	assert_int_equal(it_raw_send(fd, req), 0);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	assert_int_equal(resp->id, req->id);
	return resp;
}

static Tulay__V1__Response *get_report(int fd, Tulay__V1__GetReport *q)
{
	IT_REQUEST(req);
	req.body_case = TULAY__V1__REQUEST__BODY_GET_REPORT;
	req.get_report = q;
	return call(fd, &req);
}

static Tulay__V1__Response *set_rate(int fd, Tulay__V1__SetExchangeRate *m)
{
	IT_REQUEST(req);
	req.body_case = TULAY__V1__REQUEST__BODY_SET_EXCHANGE_RATE;
	req.set_exchange_rate = m;
	return call(fd, &req);
}

static Tulay__V1__Response *list_rates(int fd, Tulay__V1__ListExchangeRates *m)
{
	IT_REQUEST(req);
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_EXCHANGE_RATES;
	req.list_exchange_rates = m;
	return call(fd, &req);
}

/* Fails with the server's own words when the code is not `code`: they say what went wrong. */
static void expect_code(const Tulay__V1__Response *resp, Tulay__V1__Code code)
{
	if (resp->status->code == code)
		return;
	const char *first =
	    resp->status->n_field_errors > 0 ? resp->status->field_errors[0]->field : "";
	fail_msg("%scode %d, not %d: %s (%s)", asking, resp->status->code, code,
		 resp->status->message, first);
}

/* The problem the server names for `field`, or NULL if it names none. */
static const char *field_problem(const Tulay__V1__Response *resp, const char *field)
{
	for (size_t i = 0; i < resp->status->n_field_errors; i++) {
		if (strcmp(resp->status->field_errors[i]->field, field) == 0)
			return resp->status->field_errors[i]->problem;
	}
	return NULL;
}

/* `resp` is INVALID_ARGUMENT with a field error on exactly `field`, whose problem contains
 * each of `mentions` (up to two, NULL ends). Frees `resp`. */
static void expect_refused(Tulay__V1__Response *resp, const char *field,
			   const char *const *mentions)
{
	expect_code(resp, TULAY__V1__CODE__INVALID_ARGUMENT);
	const char *problem = field_problem(resp, field);
	if (problem == NULL)
		fail_msg("%sno field error on %s", asking, field);
	if (resp->status->n_field_errors != 1)
		fail_msg("%s%zu field errors, not 1", asking, resp->status->n_field_errors);
	for (int i = 0; mentions != NULL && i < 2 && mentions[i] != NULL; i++) {
		if (strstr(problem, mentions[i]) == NULL)
			fail_msg("%s%s: '%s' does not mention %s", asking, field, problem,
				 mentions[i]);
	}
	tulay__v1__response__free_unpacked(resp, NULL);
}

static int logged_in(const char *username)
{
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_raw_login(fd, username);
	return fd;
}

/* --- GetReport ------------------------------------------------------------------------- */

struct filter_spec {
	const char *dimension, *value;
};

/* A GetReport; if the server must refuse it, on exactly `field`. */
struct report_spec {
	const char *field;
	const char *mentions[2]; /* what the problem must say, to help fix it */
	int kind;
	const char *group_by[GROUP_BY_ROOM];
	int period;
	const char *from_month, *to_month;
	struct filter_spec filters[2];
	size_t more_filters; /* valid filters after those: origin = MY */
	const char *network, *currency;
};

static const struct report_spec bad_reports[] = {
    {.field = "kind"}, /* missing */
    {.field = "kind", .kind = 99},
    {.field = "group_by",
     .kind = CLAIMS,
     .group_by = {"origin", "destination", "sector", "employer", "agency"}},
    {.field = "group_by", .mentions = {"corridor"}, .kind = CLAIMS, .group_by = {"ground"}},
    {.field = "group_by",
     .mentions = {"nationality"},
     .kind = DEPORTATIONS,
     .group_by = {"corridor"}},
    {.field = "group_by", .kind = CLAIMS, .group_by = {"origin", "origin"}},
    {.field = "group_by", .kind = CLAIMS, .group_by = {"corridor", "origin"}},
    {.field = "group_by", .kind = CLAIMS, .group_by = {"destination", "corridor"}},
    {.field = "group_by", .kind = RECOMMENDATIONS, .group_by = {"organisation", "organisation"}},
    {.field = "period", .kind = CLAIMS, .period = 7},
    {.field = "from_month", .kind = CLAIMS, .from_month = "2026-13"},
    {.field = "from_month", .kind = CLAIMS, .from_month = "26-01"},
    {.field = "from_month", .kind = CLAIMS, .from_month = "2026-1"},
    {.field = "to_month", .kind = CLAIMS, .to_month = "2026/12"},
    {.field = "to_month", .kind = CLAIMS, .from_month = "2026-03", .to_month = "2026-02"},
    {.field = "filters", .kind = CLAIMS, .more_filters = 17},
    /* The corridor is two dimensions: the fix is to filter on them. */
    {.field = "filters[0]",
     .mentions = {"origin", "destination"},
     .kind = CLAIMS,
     .filters = {{"corridor", "KH>TH"}}},
    {.field = "filters[0]", .mentions = {"origin"}, .kind = CLAIMS, .filters = {{"ground", "x"}}},
    {.field = "filters[0]",
     .mentions = {"construction", "domestic_work"},
     .kind = CLAIMS,
     .filters = {{"sector", "mining"}}},
    {.field = "filters[0]",
     .mentions = {"detained"},
     .kind = DEPORTATIONS,
     .filters = {{"stage", "lost"}}},
    {.field = "filters[0]", .kind = CLAIMS, .filters = {{"origin", "XX"}}},
    {.field = "filters[0]", .kind = CLAIMS, .filters = {{"origin", "my"}}},
    {.field = "filters[0]", .kind = DEPORTATIONS, .filters = {{"nationality", "MYS"}}},
    {.field = "filters[0]", .kind = CLAIMS, .filters = {{"employer", "a\nb"}}},
    {.field = "filters[0]", .kind = CLAIMS, .filters = {{"organisation", "demo ngo"}}},
    {.field = "filters[1]", .kind = CLAIMS, .filters = {{"origin", "MY"}, {"sector", "mining"}}},
    {.field = "network", .kind = CLAIMS, .network = "bad acronym!"},
    {.field = "currency", .kind = DEPORTATIONS, .currency = "USD"},
    {.field = "currency", .kind = CLAIMS, .currency = "usd"},
    {.field = "currency", .kind = CLAIMS, .currency = "ZZZ"},
};

/* A GetReport and the storage it points into. */
struct report_msg {
	Tulay__V1__GetReport q;
	char *group_by[GROUP_BY_ROOM];
	Tulay__V1__ReportFilter filters[FILTERS_ROOM];
	Tulay__V1__ReportFilter *filter_ptrs[FILTERS_ROOM];
};

static void report_build(struct report_msg *r, const struct report_spec *b)
{
	tulay__v1__get_report__init(&r->q);
	r->q.kind = (Tulay__V1__ReportKind)b->kind;
	size_t n = 0;
	while (n < GROUP_BY_ROOM && b->group_by[n] != NULL) {
		r->group_by[n] = (char *)b->group_by[n];
		n++;
	}
	r->q.group_by = r->group_by;
	r->q.n_group_by = n;
	r->q.period = (Tulay__V1__ReportPeriod)b->period;
	if (b->from_month != NULL)
		r->q.from_month = (char *)b->from_month;
	if (b->to_month != NULL)
		r->q.to_month = (char *)b->to_month;
	n = 0;
	for (size_t i = 0; i < 2 && b->filters[i].dimension != NULL; i++, n++) {
		tulay__v1__report_filter__init(&r->filters[n]);
		r->filters[n].dimension = (char *)b->filters[i].dimension;
		r->filters[n].value = (char *)b->filters[i].value;
	}
	for (size_t i = 0; i < b->more_filters && n < FILTERS_ROOM; i++, n++) {
		tulay__v1__report_filter__init(&r->filters[n]);
		r->filters[n].dimension = "origin";
		r->filters[n].value = "MY";
	}
	for (size_t i = 0; i < n; i++)
		r->filter_ptrs[i] = &r->filters[i];
	r->q.filters = r->filter_ptrs;
	r->q.n_filters = n;
	if (b->network != NULL)
		r->q.network = (char *)b->network;
	if (b->currency != NULL)
		r->q.currency = (char *)b->currency;
}

/* Sends every bad_reports entry on `fd` and checks each is refused on its field. */
static void refuse_every_bad_report(int fd)
{
	for (size_t i = 0; i < sizeof(bad_reports) / sizeof(bad_reports[0]); i++) {
		struct report_msg r;
		report_build(&r, &bad_reports[i]);
		snprintf(asking, sizeof(asking), "bad_reports[%zu]: ", i);
		expect_refused(get_report(fd, &r.q), bad_reports[i].field, bad_reports[i].mentions);
	}
	asking[0] = '\0';
}

/* Period, from_month and currency wrong at once: all three are named. */
static void refuse_three_at_once(int fd)
{
	Tulay__V1__GetReport q;
	tulay__v1__get_report__init(&q);
	q.kind = CLAIMS;
	q.period = (Tulay__V1__ReportPeriod)7;
	q.from_month = "2026-13";
	q.currency = "usd";
	Tulay__V1__Response *resp = get_report(fd, &q);
	expect_code(resp, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_int_equal(resp->status->n_field_errors, 3);
	assert_non_null(field_problem(resp, "period"));
	assert_non_null(field_problem(resp, "from_month"));
	assert_non_null(field_problem(resp, "currency"));
	tulay__v1__response__free_unpacked(resp, NULL);
}

static void test_each_bad_report_field_is_named(void **state)
{
	(void)state;
	int fd = logged_in("officer");
	refuse_every_bad_report(fd);
	refuse_three_at_once(fd);
	close(fd);
}

/* Without a kind the dimensions cannot be checked, but every other field still is: a
 * client learns of all its mistakes at once. */
static void test_bad_kind_hides_no_other_error(void **state)
{
	(void)state;
	int fd = logged_in("officer");
	Tulay__V1__GetReport q;
	tulay__v1__get_report__init(&q);
	q.period = (Tulay__V1__ReportPeriod)7;
	q.from_month = "2026-13";
	q.network = "bad acronym!";
	Tulay__V1__Response *resp = get_report(fd, &q);
	expect_code(resp, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_non_null(field_problem(resp, "kind"));
	assert_non_null(field_problem(resp, "period"));
	assert_non_null(field_problem(resp, "from_month"));
	assert_non_null(field_problem(resp, "network"));
	assert_int_equal(resp->status->n_field_errors, 4);
	tulay__v1__response__free_unpacked(resp, NULL);
	close(fd);
}

static bool contains(char *const *list, size_t n, const char *value)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], value) == 0)
			return true;
	}
	return false;
}

/* Reports the server must answer, as the coordinator of DEMO. */
static const struct report_spec good_reports[] = {
    {.kind = CLAIMS,
     .group_by = {"corridor"},
     .period = TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_QUARTER,
     .from_month = "2026-01"},
    {.kind = CLAIMS, .filters = {{"agency", ""}}}, /* "": not recorded */
    {.kind = DEPORTATIONS, .group_by = {"from", "to"}},
    {.kind = RECOMMENDATIONS,
     .group_by = {"status"},
     .period = TULAY__V1__REPORT_PERIOD__REPORT_PERIOD_YEAR},
};

/* Asks `spec` and checks the Report against it: echoed, scoped to DEMO, k at least 5,
 * every cell keyed by each group_by. Returns the response (the caller frees it). */
static Tulay__V1__Response *expect_report(int fd, const struct report_spec *spec)
{
	struct report_msg r;
	report_build(&r, spec);
	Tulay__V1__Response *resp = get_report(fd, &r.q);
	expect_code(resp, TULAY__V1__CODE__OK);
	assert_int_equal(resp->body_case, TULAY__V1__RESPONSE__BODY_REPORT);
	const Tulay__V1__Report *report = resp->report;
	assert_int_equal(report->kind, r.q.kind);
	assert_int_equal(report->period, r.q.period);
	assert_int_equal(report->n_group_by, r.q.n_group_by);
	for (size_t i = 0; i < r.q.n_group_by; i++)
		assert_string_equal(report->group_by[i], r.q.group_by[i]);
	assert_string_equal(report->network, "DEMO"); /* empty asks for the caller's own */
	assert_true(contains(report->organisations, report->n_organisations, "DEMO"));
	assert_true(report->min_cell >= 5);
	assert_string_equal(report->currency, "");
	assert_int_equal(report->n_rates, 0);
	assert_non_null(report->total);
	assert_non_null(report->total->cases);
	assert_int_equal(report->total->n_keys, 0);
	for (size_t i = 0; i < report->n_cells; i++)
		assert_int_equal(report->cells[i]->n_keys, r.q.n_group_by);
	/* `rollup` is checked in test_report_names_its_rollup. */
	return resp;
}

static void test_good_reports_are_answered(void **state)
{
	(void)state;
	int fd = logged_in("coord");
	for (size_t i = 0; i < sizeof(good_reports) / sizeof(good_reports[0]); i++) {
		snprintf(asking, sizeof(asking), "good_reports[%zu]: ", i);
		tulay__v1__response__free_unpacked(expect_report(fd, &good_reports[i]), NULL);
	}
	asking[0] = '\0';

	/* A well-formed acronym of no organisation. */
	Tulay__V1__GetReport q;
	tulay__v1__get_report__init(&q);
	q.kind = CLAIMS;
	q.network = "NOSUCHNET";
	expect_refused(get_report(fd, &q), "network", NULL);
	close(fd);

	/* A field officer reports on their own organisation only. */
	fd = logged_in("officer");
	tulay__v1__get_report__init(&q);
	q.kind = CLAIMS;
	q.network = "MYNGO";
	Tulay__V1__Response *resp = get_report(fd, &q);
	expect_code(resp, TULAY__V1__CODE__PERMISSION_DENIED);
	tulay__v1__response__free_unpacked(resp, NULL);
	close(fd);
}

/* Report.rollup names the rollup chosen even when no cell has cases: the first report is
 * empty for sure (no worker from Antarctica), the others are the good ones. */
static void test_report_names_its_rollup(void **state)
{
	(void)state;
	int fd = logged_in("coord");
	static const struct report_spec empty = {.kind = CLAIMS, .filters = {{"origin", "AQ"}}};
	Tulay__V1__Response *resp = expect_report(fd, &empty);
	assert_int_equal(resp->report->n_cells, 0);
	assert_int_equal(resp->report->total->cases->value, 0);
	assert_string_not_equal(resp->report->rollup, "");
	tulay__v1__response__free_unpacked(resp, NULL);
	for (size_t i = 0; i < sizeof(good_reports) / sizeof(good_reports[0]); i++) {
		resp = expect_report(fd, &good_reports[i]);
		if (*resp->report->rollup == '\0')
			fail_msg("good_reports[%zu]: no rollup named", i);
		tulay__v1__response__free_unpacked(resp, NULL);
	}
	close(fd);
}

/* --- exchange rates -------------------------------------------------------------------- */

/* A fresh key per run: reruns against one stack must not collide with earlier keys. */
static void random_key(uint8_t key[16])
{
	FILE *f = fopen("/dev/urandom", "rb");
	assert_non_null(f);
	assert_int_equal(fread(key, 1, 16, f), 16);
	fclose(f);
}

static void expect_same_rate(const Tulay__V1__ExchangeRate *a, const Tulay__V1__ExchangeRate *b)
{
	assert_string_equal(a->currency, b->currency);
	assert_string_equal(a->reporting_currency, b->reporting_currency);
	assert_string_equal(a->rate, b->rate);
	assert_string_equal(a->valid_from, b->valid_from);
	assert_string_equal(a->set_by, b->set_by);
	assert_int_equal(a->set_at, b->set_at);
}

static void test_exchange_rates(void **state)
{
	(void)state;
	uint8_t key[16];
	random_key(key);
	/* NPR to EUR: a pair no other test sets. */
	Tulay__V1__SetExchangeRate good = TULAY__V1__SET_EXCHANGE_RATE__INIT;
	good.idempotency_key.data = key;
	good.idempotency_key.len = sizeof(key);
	good.currency = "NPR";
	good.reporting_currency = "EUR";
	good.rate = "0.006950"; /* the server may drop the trailing zero */
	good.valid_from = "2026-01-01";
	int fd = logged_in("admin");
	Tulay__V1__SetExchangeRate m;

#define REFUSED(assignment, field)                                                                 \
	do {                                                                                       \
		m = good;                                                                          \
		assignment;                                                                        \
		expect_refused(set_rate(fd, &m), field, NULL);                                     \
	} while (0)

	REFUSED(m.idempotency_key.len = 15, "idempotency_key");
	REFUSED(m.idempotency_key.len = 0, "idempotency_key");
	REFUSED(m.currency = "XXX", "currency");
	REFUSED(m.currency = "usd", "currency");
	REFUSED(m.reporting_currency = "EURO", "reporting_currency");
	REFUSED(m.reporting_currency = "NPR", "reporting_currency");
	REFUSED(m.rate = "0", "rate");
	REFUSED(m.rate = "0.000000000000", "rate");
	REFUSED(m.rate = "-1", "rate");
	REFUSED(m.rate = "abc", "rate");
	REFUSED(m.rate = "1.2.3", "rate");
	REFUSED(m.rate = "", "rate");
	REFUSED(m.rate = "0.1234567890123", "rate"); /* 13 digits after the point */
	REFUSED(m.rate = "1234567890123", "rate");   /* 13 before */
	REFUSED(m.valid_from = "2026-02-30", "valid_from");
#undef REFUSED

	/* Admins only. */
	int officer = logged_in("officer");
	Tulay__V1__Response *resp = set_rate(officer, &good);
	expect_code(resp, TULAY__V1__CODE__PERMISSION_DENIED);
	tulay__v1__response__free_unpacked(resp, NULL);

	Tulay__V1__Response *first = set_rate(fd, &good);
	expect_code(first, TULAY__V1__CODE__OK);
	assert_int_equal(first->body_case, TULAY__V1__RESPONSE__BODY_EXCHANGE_RATE);
	const Tulay__V1__ExchangeRate *set = first->exchange_rate;
	assert_string_equal(set->currency, "NPR");
	assert_string_equal(set->reporting_currency, "EUR");
	assert_string_equal(set->valid_from, "2026-01-01");
	assert_true(strtod(set->rate, NULL) == strtod(good.rate, NULL));
	assert_string_equal(set->set_by, "admin");
	assert_true(set->set_at > 0);

	/* A retry replays the first answer. */
	resp = set_rate(fd, &good);
	expect_code(resp, TULAY__V1__CODE__OK);
	assert_int_equal(resp->body_case, TULAY__V1__RESPONSE__BODY_EXCHANGE_RATE);
	expect_same_rate(resp->exchange_rate, set);
	tulay__v1__response__free_unpacked(resp, NULL);

	/* The key is the first request's: another rate under it is refused, not applied. */
	m = good;
	m.rate = "0.00700";
	resp = set_rate(fd, &m);
	expect_code(resp, TULAY__V1__CODE__ALREADY_EXISTS);
	assert_non_null(field_problem(resp, "idempotency_key"));
	assert_int_equal(resp->status->n_field_errors, 1);
	tulay__v1__response__free_unpacked(resp, NULL);

	/* Anyone signed in lists the rates; the filter keeps to NPR. */
	Tulay__V1__ListExchangeRates list = TULAY__V1__LIST_EXCHANGE_RATES__INIT;
	list.currency = "NPR";
	resp = list_rates(officer, &list);
	expect_code(resp, TULAY__V1__CODE__OK);
	assert_int_equal(resp->body_case, TULAY__V1__RESPONSE__BODY_EXCHANGE_RATES);
	size_t found = 0;
	for (size_t i = 0; i < resp->exchange_rates->n_rates; i++) {
		const Tulay__V1__ExchangeRate *e = resp->exchange_rates->rates[i];
		assert_string_equal(e->currency, "NPR");
		if (strcmp(e->reporting_currency, "EUR") == 0 &&
		    strcmp(e->valid_from, "2026-01-01") == 0) {
			expect_same_rate(e, set);
			found++;
		}
	}
	assert_int_equal(found, 1);
	tulay__v1__response__free_unpacked(resp, NULL);
	tulay__v1__response__free_unpacked(first, NULL);

	list.currency = "usd";
	expect_refused(list_rates(fd, &list), "currency", NULL);
	list.currency = "";
	list.reporting_currency = "ZZZ";
	expect_refused(list_rates(fd, &list), "reporting_currency", NULL);
	close(officer);
	close(fd);
}

/* --- one connection through all of it -------------------------------------------------- */

static void test_connection_survives_refusals(void **state)
{
	(void)state;
	int fd = logged_in("coord");
	refuse_every_bad_report(fd);
	refuse_three_at_once(fd);

	Tulay__V1__GetReport q;
	tulay__v1__get_report__init(&q);
	q.kind = CLAIMS;
	q.network = "NOSUCHNET";
	expect_refused(get_report(fd, &q), "network", NULL);

	/* A coordinator sets no rates, however good the request. */
	uint8_t key[16];
	random_key(key);
	Tulay__V1__SetExchangeRate m = TULAY__V1__SET_EXCHANGE_RATE__INIT;
	m.idempotency_key.data = key;
	m.idempotency_key.len = sizeof(key);
	m.currency = "NPR";
	m.reporting_currency = "EUR";
	m.rate = "1.2.3";
	m.valid_from = "2026-01-01";
	expect_refused(set_rate(fd, &m), "rate", NULL);
	m.rate = "0.007";
	Tulay__V1__Response *resp = set_rate(fd, &m);
	expect_code(resp, TULAY__V1__CODE__PERMISSION_DENIED);
	tulay__v1__response__free_unpacked(resp, NULL);

	/* Still served. */
	tulay__v1__response__free_unpacked(expect_report(fd, &good_reports[0]), NULL);
	close(fd);
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_bad_report_field_is_named),
	    cmocka_unit_test(test_bad_kind_hides_no_other_error),
	    cmocka_unit_test(test_good_reports_are_answered),
	    cmocka_unit_test(test_report_names_its_rollup),
	    cmocka_unit_test(test_exchange_rates),
	    cmocka_unit_test(test_connection_survives_refusals),
	};
	return cmocka_run_group_tests_name("it_report_requests", tests, NULL, NULL);
}
