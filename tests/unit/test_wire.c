/* proto/wire.c: what it finds in a request's bytes before protobuf-c unpacks them
 * (issue 12, point 4): NUL and other control characters by field path, repeated fields
 * past their limit (the same answer at any count above it), unknown-field floods, and the
 * request's id wherever it stands. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tulay/v1/claims.pb-c.h"
#include "tulay/v1/envelope.pb-c.h"
#include "tulay/v1/reports.pb-c.h"
#include "wire.h"

/* A CreateClaim request with `n_workers` co-workers named "w". */
struct claim_req {
	Tulay__V1__Request req;
	Tulay__V1__CreateClaim body;
	Tulay__V1__Worker *workers;
	Tulay__V1__Worker **ptrs;
};

static void claim_req_init(struct claim_req *r, size_t n_workers)
{
	tulay__v1__request__init(&r->req);
	tulay__v1__create_claim__init(&r->body);
	r->req.id = 77;
	r->req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	r->req.create_claim = &r->body;
	r->body.employer = "Syarikat Bina Jaya";
	r->workers = calloc(n_workers + 1, sizeof(*r->workers));
	r->ptrs = calloc(n_workers + 1, sizeof(*r->ptrs));
	assert_non_null(r->workers);
	assert_non_null(r->ptrs);
	for (size_t i = 0; i < n_workers; i++) {
		tulay__v1__worker__init(&r->workers[i]);
		r->workers[i].name = "w";
		r->ptrs[i] = &r->workers[i];
	}
	r->body.n_co_workers = n_workers;
	r->body.co_workers = r->ptrs;
}

static void claim_req_free(struct claim_req *r)
{
	free(r->workers);
	free(r->ptrs);
}

/* Packs `req` and scans it. protobuf-c packs a string with strlen(), so NULs inside one
 * are put in by patch_nul() afterwards. */
static uint8_t *pack(const Tulay__V1__Request *req, size_t *len)
{
	*len = tulay__v1__request__get_packed_size(req);
	uint8_t *buf = malloc(*len + 1);
	assert_non_null(buf);
	tulay__v1__request__pack(req, buf);
	return buf;
}

/* Replaces the first occurrence of `marker` (one byte) in buf with `with`. */
static void patch(uint8_t *buf, size_t len, uint8_t marker, uint8_t with)
{
	uint8_t *p = memchr(buf, marker, len);
	assert_non_null(p);
	*p = with;
}

static void scan_claim(struct claim_req *r, uint8_t marker, uint8_t with, struct wire_scan *s)
{
	size_t len;
	uint8_t *buf = pack(&r->req, &len);
	if (marker != 0)
		patch(buf, len, marker, with);
	wire_scan(&tulay__v1__request__descriptor, buf, len, s);
	free(buf);
}

static void test_clean_request(void **state)
{
	(void)state;
	struct claim_req r;
	claim_req_init(&r, 3);
	struct wire_scan s;
	scan_claim(&r, 0, 0, &s);
	assert_int_equal(s.finding, WIRE_CLEAN);
	assert_true(s.has_id);
	assert_int_equal(s.id, 77);
	claim_req_free(&r);
}

/* "a\0b" and "\0" alone, in a free field and in coded ones: named, NUL said. */
static void test_nul_is_found_by_field(void **state)
{
	(void)state;
	struct claim_req r;
	struct wire_scan s;
	claim_req_init(&r, 0);
	r.body.employer = "a#b";
	scan_claim(&r, '#', 0, &s);
	assert_int_equal(s.finding, WIRE_CONTROL_CHAR);
	assert_true(s.nul);
	assert_string_equal(s.path, "employer");
	assert_int_equal(s.id, 77);

	r.body.organisation = "#";
	r.body.employer = "Syarikat Bina Jaya";
	scan_claim(&r, '#', 0, &s);
	assert_int_equal(s.finding, WIRE_CONTROL_CHAR);
	assert_string_equal(s.path, "organisation");
	claim_req_free(&r);

	claim_req_init(&r, 5);
	Tulay__V1__Worker odd;
	tulay__v1__worker__init(&odd);
	odd.phone = "+60#12";
	r.ptrs[3] = &odd;
	scan_claim(&r, '#', 0, &s);
	assert_int_equal(s.finding, WIRE_CONTROL_CHAR);
	assert_string_equal(s.path, "co_workers[3].phone");
	claim_req_free(&r);
}

/* Other C0 characters: refused in single-line fields; tab and line feed pass in a note,
 * other controls do not. */
static void test_control_chars_and_free_text(void **state)
{
	(void)state;
	struct claim_req r;
	struct wire_scan s;
	claim_req_init(&r, 0);
	r.body.employer = "Bina\tJaya";
	scan_claim(&r, 0, 0, &s);
	assert_int_equal(s.finding, WIRE_CONTROL_CHAR);
	assert_false(s.nul);
	assert_false(s.lines_allowed);
	assert_string_equal(s.path, "employer");
	claim_req_free(&r);

	Tulay__V1__Request req;
	Tulay__V1__AddCaseNote note;
	tulay__v1__request__init(&req);
	tulay__v1__add_case_note__init(&note);
	req.body_case = TULAY__V1__REQUEST__BODY_ADD_CASE_NOTE;
	req.add_case_note = &note;
	note.text = "Met the worker.\n\tPassport still held by the agent.";
	size_t len;
	uint8_t *buf = pack(&req, &len);
	wire_scan(&tulay__v1__request__descriptor, buf, len, &s);
	assert_int_equal(s.finding, WIRE_CLEAN);
	free(buf);

	note.text = "bell\x07";
	buf = pack(&req, &len);
	wire_scan(&tulay__v1__request__descriptor, buf, len, &s);
	assert_int_equal(s.finding, WIRE_CONTROL_CHAR);
	assert_true(s.lines_allowed);
	assert_string_equal(s.path, "text");
	free(buf);
}

/* Paths as the handlers name fields: a report filter by its element, a repeated string by
 * its field. */
static void test_paths_as_handlers_name_them(void **state)
{
	(void)state;
	Tulay__V1__Request req;
	Tulay__V1__GetReport report;
	Tulay__V1__ReportFilter f0, f1, *filters[2] = {&f0, &f1};
	char *group_by[2] = {"origin", "sec\ttor"};
	tulay__v1__request__init(&req);
	tulay__v1__get_report__init(&report);
	tulay__v1__report_filter__init(&f0);
	tulay__v1__report_filter__init(&f1);
	req.body_case = TULAY__V1__REQUEST__BODY_GET_REPORT;
	req.get_report = &report;
	f0.dimension = "origin";
	f0.value = "MY";
	f1.dimension = "employer";
	f1.value = "a\nb";
	report.n_filters = 2;
	report.filters = filters;
	size_t len;
	uint8_t *buf = pack(&req, &len);
	struct wire_scan s;
	wire_scan(&tulay__v1__request__descriptor, buf, len, &s);
	assert_int_equal(s.finding, WIRE_CONTROL_CHAR);
	assert_string_equal(s.path, "filters[1]");
	free(buf);

	report.n_filters = 0;
	report.n_group_by = 2;
	report.group_by = group_by;
	buf = pack(&req, &len);
	wire_scan(&tulay__v1__request__descriptor, buf, len, &s);
	assert_int_equal(s.finding, WIRE_CONTROL_CHAR);
	assert_string_equal(s.path, "group_by");
	free(buf);
}

/* Past the limit, whatever the count: 101, 60,000, 70,000 and 100,000 co-workers all get
 * the same finding; 100 do not. */
static void test_repeated_limit_is_monotonic(void **state)
{
	(void)state;
	const size_t counts[] = {100, 101, 60000, 70000, 100000};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct claim_req r;
		struct wire_scan s;
		claim_req_init(&r, counts[i]);
		scan_claim(&r, 0, 0, &s);
		if (counts[i] <= 100) {
			assert_int_equal(s.finding, WIRE_CLEAN);
		} else {
			assert_int_equal(s.finding, WIRE_TOO_MANY);
			assert_string_equal(s.path, "co_workers");
			assert_int_equal(s.limit, 100);
			assert_int_equal(s.id, 77);
		}
		claim_req_free(&r);
	}
}

/* Packed enums are counted element by element. */
static void test_packed_elements_count(void **state)
{
	(void)state;
	struct claim_req r;
	struct wire_scan s;
	claim_req_init(&r, 0);
	Tulay__V1__ExploitationMeans means[17];
	for (size_t i = 0; i < 17; i++)
		means[i] = TULAY__V1__EXPLOITATION_MEANS__EXPLOITATION_MEANS_ID_CONFISCATED;
	r.body.exploitation_means = means;
	r.body.n_exploitation_means = 16;
	scan_claim(&r, 0, 0, &s);
	assert_int_equal(s.finding, WIRE_CLEAN);
	r.body.n_exploitation_means = 17;
	scan_claim(&r, 0, 0, &s);
	assert_int_equal(s.finding, WIRE_TOO_MANY);
	assert_string_equal(s.path, "exploitation_means");
	claim_req_free(&r);
}

/* Many tiny unknown fields (what made a frame cost most to unpack) are counted. */
static void test_unknown_field_flood(void **state)
{
	(void)state;
	size_t n = WIRE_MAX_UNKNOWN_FIELDS + 1;
	uint8_t *buf = malloc(2 + 3 * n);
	assert_non_null(buf);
	size_t len = 0;
	buf[len++] = 0x08; /* id = 5 */
	buf[len++] = 5;
	for (size_t i = 0; i < n; i++) {
		buf[len++] = 0xf8; /* field 1999, varint */
		buf[len++] = 0x7c;
		buf[len++] = 0;
	}
	struct wire_scan s;
	wire_scan(&tulay__v1__request__descriptor, buf, len - 3, &s);
	assert_int_equal(s.finding, WIRE_CLEAN);
	wire_scan(&tulay__v1__request__descriptor, buf, len, &s);
	assert_int_equal(s.finding, WIRE_TOO_MANY_UNKNOWN);
	assert_int_equal(s.id, 5);
	free(buf);
}

/* The id is found when it comes after the body, and the last one wins. */
static void test_id_anywhere(void **state)
{
	(void)state;
	struct claim_req r;
	claim_req_init(&r, 0);
	r.req.id = 0;
	r.body.employer = "a#b";
	size_t len;
	uint8_t *body = pack(&r.req, &len);
	patch(body, len, '#', 0);
	uint8_t *buf = malloc(len + 4);
	assert_non_null(buf);
	memcpy(buf, body, len);
	buf[len] = 0x08;
	buf[len + 1] = 9;
	buf[len + 2] = 0x08;
	buf[len + 3] = 42;
	struct wire_scan s;
	wire_scan(&tulay__v1__request__descriptor, buf, len + 4, &s);
	assert_int_equal(s.finding, WIRE_CONTROL_CHAR);
	assert_true(s.has_id);
	assert_int_equal(s.id, 42);
	free(buf);
	free(body);
	claim_req_free(&r);
}

/* Bytes it cannot walk are left to protobuf-c: a cut-off length, a group. */
static void test_unwalkable_bytes_are_left_alone(void **state)
{
	(void)state;
	const uint8_t cut[] = {0x08, 0x01, 0xa2, 0x01, 0x40, 0x0a};
	struct wire_scan s;
	wire_scan(&tulay__v1__request__descriptor, cut, sizeof(cut), &s);
	assert_int_equal(s.finding, WIRE_CLEAN);
	const uint8_t group[] = {0x0b, 0x0c};
	wire_scan(&tulay__v1__request__descriptor, group, sizeof(group), &s);
	assert_int_equal(s.finding, WIRE_CLEAN);
	wire_scan(&tulay__v1__request__descriptor, cut, 0, &s);
	assert_int_equal(s.finding, WIRE_CLEAN);
	assert_false(s.has_id);
}

/* Every repeated field a request can reach has its own limit in wire_limits[] (and so in
 * proto/README.md), none left to the default. */
static void check_repeated_listed(const ProtobufCMessageDescriptor *d, unsigned depth)
{
	assert_true(depth < WIRE_MAX_DEPTH);
	assert_true(d->n_fields <= 64);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->label == PROTOBUF_C_LABEL_REPEATED && wire_limit_of(d, f->name) == 0)
			fail_msg("%s.%s is repeated but has no limit in proto/wire.c", d->name,
				 f->name);
		if (f->type == PROTOBUF_C_TYPE_MESSAGE)
			check_repeated_listed(f->descriptor, depth + 1);
	}
}

static void test_every_repeated_request_field_has_a_limit(void **state)
{
	(void)state;
	check_repeated_listed(&tulay__v1__request__descriptor, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean_request),
	    cmocka_unit_test(test_nul_is_found_by_field),
	    cmocka_unit_test(test_control_chars_and_free_text),
	    cmocka_unit_test(test_paths_as_handlers_name_them),
	    cmocka_unit_test(test_repeated_limit_is_monotonic),
	    cmocka_unit_test(test_packed_elements_count),
	    cmocka_unit_test(test_unknown_field_flood),
	    cmocka_unit_test(test_id_anywhere),
	    cmocka_unit_test(test_unwalkable_bytes_are_left_alone),
	    cmocka_unit_test(test_every_repeated_request_field_has_a_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
