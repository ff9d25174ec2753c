/* ListCases against a real tulayd, over raw frames: what the CLI checks before sending
 * (dates, countries, enum values, lengths) the server checks again for every other
 * client, naming each field; and what it takes, it answers in the shape of CaseList.
 * it_search.sh covers the filters' results through the CLI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_support.h"

static uint64_t next_id = 100;

/* Sends `q` as ListCases on a logged-in connection and returns the Response. */
static Tulay__V1__Response *list_cases(int fd, Tulay__V1__ListCases *q)
{
	IT_REQUEST(req);
	req.id = next_id++;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_CASES;
	req.list_cases = q;
	assert_int_equal(it_raw_send(fd, &req), 0);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	assert_int_equal(resp->id, req.id);
	return resp;
}

static bool has_field_error(const Tulay__V1__Response *resp, const char *field)
{
	for (size_t i = 0; i < resp->status->n_field_errors; i++) {
		if (strcmp(resp->status->field_errors[i]->field, field) == 0)
			return true;
	}
	return false;
}

/* `q` is refused with INVALID_ARGUMENT and a field error on exactly `field`. */
static void expect_refused(int fd, Tulay__V1__ListCases *q, const char *field)
{
	Tulay__V1__Response *resp = list_cases(fd, q);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	if (!has_field_error(resp, field))
		fail_msg("no field error on %s", field);
	assert_int_equal(resp->status->n_field_errors, 1);
	tulay__v1__response__free_unpacked(resp, NULL);
}

static int logged_in(void)
{
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_raw_login(fd, "officer");
	return fd;
}

static void test_each_bad_field_is_named(void **state)
{
	(void)state;
	int fd = logged_in();
	char long_text[102];
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	Tulay__V1__ListCases q;

#define REFUSED(assignment, field)                                                                 \
	do {                                                                                       \
		tulay__v1__list_cases__init(&q);                                                   \
		assignment;                                                                        \
		expect_refused(fd, &q, field);                                                     \
	} while (0)

	REFUSED(q.opened_from = "2026-02-30", "opened_from");
	REFUSED(q.opened_to = "26-01-01", "opened_to");
	REFUSED((q.opened_from = "2026-03-01", q.opened_to = "2026-02-01"), "opened_to");
	REFUSED(q.country = "MYS", "country");
	REFUSED(q.country = "my", "country");
	REFUSED(q.kind = (Tulay__V1__CaseKind)9, "kind");
	REFUSED(q.sector = (Tulay__V1__Sector)99, "sector");
	REFUSED(q.status = "In-Mediation", "status");
	REFUSED(q.status = "lost", "status");
	REFUSED((q.kind = TULAY__V1__CASE_KIND__CASE_KIND_DEPORTATION, q.status = "filed"),
		"status");
	REFUSED((q.kind = TULAY__V1__CASE_KIND__CASE_KIND_RECOMMENDATION, q.status = "detained"),
		"status");
	REFUSED(q.status = "abcdefghijklmnopqrstuvwxyzabcde", "status");
	REFUSED(q.text = long_text, "text");
	REFUSED(q.text = "   ", "text");
	REFUSED(q.employer = "a\nb", "employer");
	REFUSED(q.office = "\t", "office");
	REFUSED(q.limit = 501, "limit");
	REFUSED(q.page_token = "12a", "page_token");
	REFUSED(q.page_token = "1234567890123456789", "page_token");
#undef REFUSED

	/* Several at once are all named. */
	tulay__v1__list_cases__init(&q);
	q.opened_from = "2026-13-01";
	q.country = "XX1";
	q.page_token = "-1";
	Tulay__V1__Response *resp = list_cases(fd, &q);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_true(has_field_error(resp, "opened_from"));
	assert_true(has_field_error(resp, "country"));
	assert_true(has_field_error(resp, "page_token"));
	tulay__v1__response__free_unpacked(resp, NULL);
	close(fd);
}

static void test_good_requests_are_answered(void **state)
{
	(void)state;
	int fd = logged_in();
	Tulay__V1__ListCases q;
	tulay__v1__list_cases__init(&q);
	q.kind = TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT;
	q.status = "in_mediation";
	q.opened_from = "2026-01-01";
	q.opened_to = "2026-01-01";
	q.country = "MY";
	q.sector = TULAY__V1__SECTOR__SECTOR_CARE;
	q.employer = "Bina";
	q.office = "Kuala Lumpur";
	q.text = "%_\\"; /* no LIKE: these are plain characters */
	q.limit = 500;
	q.page_token = "999999999999999999";
	Tulay__V1__Response *resp = list_cases(fd, &q);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(resp->body_case, TULAY__V1__RESPONSE__BODY_CASES);
	assert_int_equal(resp->cases->n_cases, 0);
	assert_string_equal(resp->cases->next_page_token, "");
	tulay__v1__response__free_unpacked(resp, NULL);

	/* A status of any kind, without a kind; shared ignores the organisation named. */
	tulay__v1__list_cases__init(&q);
	q.status = "partially_implemented";
	q.shared = true;
	q.organisation = "MYNGO";
	resp = list_cases(fd, &q);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	tulay__v1__response__free_unpacked(resp, NULL);

	/* Another organisation's case records are not the caller's to list. */
	tulay__v1__list_cases__init(&q);
	q.organisation = "MYNGO";
	resp = list_cases(fd, &q);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__PERMISSION_DENIED);
	tulay__v1__response__free_unpacked(resp, NULL);
	close(fd);
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_bad_field_is_named),
	    cmocka_unit_test(test_good_requests_are_answered),
	};
	return cmocka_run_group_tests_name("it_cases", tests, NULL, NULL);
}
