/* Unit tests of the frame codec (proto/frame.[ch]).
 *
 * Each test feeds bytes the way a connection's input buffer receives them and asserts the
 * whole decoder state (status and every field of struct frame) after every step. The
 * struct is poisoned before each call so a field the decoder forgot to set shows up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"
#include "tulay/v1/envelope.pb-c.h"

/* What a receive buffer looks like: bytes appended at the end, consumed from the front. */
struct rxbuf {
	uint8_t bytes[1024];
	size_t len;
};

static void rxbuf_append(struct rxbuf *rx, const uint8_t *data, size_t n)
{
	assert_true(rx->len + n <= sizeof(rx->bytes));
	memcpy(rx->bytes + rx->len, data, n);
	rx->len += n;
}

static void rxbuf_consume(struct rxbuf *rx, size_t n)
{
	assert_true(n <= rx->len);
	memmove(rx->bytes, rx->bytes + n, rx->len - n);
	rx->len -= n;
}

/* Calls frame_decode on a poisoned struct frame. */
static enum frame_status decode(const uint8_t *buf, size_t len, size_t max_payload,
				struct frame *out)
{
	memset(out, 0xA5, sizeof(*out));
	return frame_decode(buf, len, max_payload, out);
}

/* Asserts the whole state after a decode. A macro so a failure names the caller's line. */
#define assert_frame(status_, f_, want_status, want_payload, want_payload_len, want_frame_len,     \
		     want_announced)                                                               \
	do {                                                                                       \
		assert_int_equal((status_), (want_status));                                        \
		assert_ptr_equal((f_).payload, (want_payload));                                    \
		assert_int_equal((f_).payload_len, (want_payload_len));                            \
		assert_int_equal((f_).frame_len, (want_frame_len));                                \
		assert_int_equal((f_).announced, (want_announced));                                \
	} while (0)

/* The Hello a client sends first, as documented byte for byte in proto/README.md:
 * Request{id: 1, hello: Hello{protocol_version: 1, client: "tulay-cli/0.1.0"}}. */
static const uint8_t hello_frame[] = {
    0x00, 0x00, 0x00, 0x17,                               /* length 23 */
    0x08, 0x01,                                           /* id = 1 */
    0x52, 0x13,                                           /* hello (field 10), 19 bytes */
    0x08, 0x01,                                           /*   protocol_version = 1 */
    0x12, 0x0f,                                           /*   client (field 2), 15 bytes */
    't',  'u',  'l',  'a',  'y', '-', 'c', 'l', 'i', '/', /*   "tulay-cli/0.1.0" */
    '0',  '.',  '1',  '.',  '0',
};

static void test_put_header_is_big_endian(void **state)
{
	(void)state;
	uint8_t h[FRAME_HEADER_BYTES];

	frame_put_header(h, 0);
	assert_memory_equal(h, ((const uint8_t[]){0x00, 0x00, 0x00, 0x00}), 4);
	frame_put_header(h, 0x01020304u);
	assert_memory_equal(h, ((const uint8_t[]){0x01, 0x02, 0x03, 0x04}), 4);
	frame_put_header(h, 300);
	assert_memory_equal(h, ((const uint8_t[]){0x00, 0x00, 0x01, 0x2c}), 4);
	frame_put_header(h, UINT32_MAX);
	assert_memory_equal(h, ((const uint8_t[]){0xff, 0xff, 0xff, 0xff}), 4);
}

static void test_put_header_round_trips_through_decode(void **state)
{
	(void)state;
	static const uint32_t lengths[] = {0,     1,        255,      256,         65535,
					   65536, 16777215, 16777216, 0x7fffffffu, UINT32_MAX};
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		uint8_t h[FRAME_HEADER_BYTES];
		struct frame f;
		frame_put_header(h, lengths[i]);
		enum frame_status st = decode(h, sizeof(h), SIZE_MAX, &f);
		if (lengths[i] == 0)
			assert_frame(st, f, FRAME_COMPLETE, h + 4, 0, 4, 0);
		else
			assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, lengths[i]);
	}
}

static void test_empty_buffer_needs_more(void **state)
{
	(void)state;
	struct frame f;
	enum frame_status st = decode(hello_frame, 0, FRAME_DEFAULT_MAX_PAYLOAD, &f);
	assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, 0);
}

/* The Hello frame arriving one byte per read: nothing is known until the 4th byte, the
 * length is known from then on, and the frame completes exactly at its last byte. */
static void test_frame_fed_byte_by_byte(void **state)
{
	(void)state;
	struct rxbuf rx = {.len = 0};
	struct frame f;
	enum frame_status st;

	for (size_t i = 0; i < sizeof(hello_frame); i++) {
		st = decode(rx.bytes, rx.len, FRAME_DEFAULT_MAX_PAYLOAD_BEFORE_LOGIN, &f);
		if (rx.len < FRAME_HEADER_BYTES)
			assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, 0);
		else
			assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, 23);
		rxbuf_append(&rx, hello_frame + i, 1);
	}
	assert_int_equal(rx.len, sizeof(hello_frame));
	st = decode(rx.bytes, rx.len, FRAME_DEFAULT_MAX_PAYLOAD_BEFORE_LOGIN, &f);
	assert_frame(st, f, FRAME_COMPLETE, rx.bytes + 4, 23, 27, 23);
	assert_memory_equal(f.payload, hello_frame + 4, 23);

	/* The payload is a Request the generated code accepts. */
	Tulay__V1__Request *req = tulay__v1__request__unpack(NULL, f.payload_len, f.payload);
	assert_non_null(req);
	assert_int_equal(req->id, 1);
	assert_int_equal(req->body_case, TULAY__V1__REQUEST__BODY_HELLO);
	assert_int_equal(req->hello->protocol_version, 1);
	assert_string_equal(req->hello->client, "tulay-cli/0.1.0");
	tulay__v1__request__free_unpacked(req, NULL);
}

/* Two frames received in one read: decode the first, advance by frame_len, decode the
 * second, and find nothing after it. */
static void test_two_frames_in_one_buffer(void **state)
{
	(void)state;
	static const uint8_t second[] = {0x00, 0x00, 0x00, 0x03, 0x08, 0x02, 0x6a};
	uint8_t buf[sizeof(hello_frame) + sizeof(second)];
	memcpy(buf, hello_frame, sizeof(hello_frame));
	memcpy(buf + sizeof(hello_frame), second, sizeof(second));
	struct frame f;

	enum frame_status st = decode(buf, sizeof(buf), FRAME_DEFAULT_MAX_PAYLOAD, &f);
	assert_frame(st, f, FRAME_COMPLETE, buf + 4, 23, 27, 23);

	size_t off = f.frame_len;
	st = decode(buf + off, sizeof(buf) - off, FRAME_DEFAULT_MAX_PAYLOAD, &f);
	assert_frame(st, f, FRAME_COMPLETE, buf + off + 4, 3, 7, 3);
	assert_memory_equal(f.payload, second + 4, 3);

	off += f.frame_len;
	assert_int_equal(off, sizeof(buf));
	st = decode(buf + off, sizeof(buf) - off, FRAME_DEFAULT_MAX_PAYLOAD, &f);
	assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, 0);
}

/* A stream cut in the middle of the second frame's header, as TCP is free to do:
 * read 1 = frame A + 2 header bytes of B, read 2 = the rest of B's header,
 * reads 3 and 4 = B's payload. */
static void test_frame_split_across_header_boundary(void **state)
{
	(void)state;
	static const uint8_t frame_b[] = {0x00, 0x00, 0x01, 0x02}; /* 258-byte payload */
	uint8_t payload_b[258];
	for (size_t i = 0; i < sizeof(payload_b); i++)
		payload_b[i] = (uint8_t)i;
	struct rxbuf rx = {.len = 0};
	struct frame f;
	enum frame_status st;
	const size_t max = 1024;

	/* read 1 */
	rxbuf_append(&rx, hello_frame, sizeof(hello_frame));
	rxbuf_append(&rx, frame_b, 2);
	st = decode(rx.bytes, rx.len, max, &f);
	assert_frame(st, f, FRAME_COMPLETE, rx.bytes + 4, 23, 27, 23);
	rxbuf_consume(&rx, f.frame_len);
	assert_int_equal(rx.len, 2);
	st = decode(rx.bytes, rx.len, max, &f);
	assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, 0);

	/* read 2: the header is complete, the length is known, no payload yet */
	rxbuf_append(&rx, frame_b + 2, 2);
	st = decode(rx.bytes, rx.len, max, &f);
	assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, 258);

	/* read 3 is one byte short of the payload, read 4 brings the last byte */
	rxbuf_append(&rx, payload_b, sizeof(payload_b) - 1);
	st = decode(rx.bytes, rx.len, max, &f);
	assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, 258);
	rxbuf_append(&rx, payload_b + sizeof(payload_b) - 1, 1);
	st = decode(rx.bytes, rx.len, max, &f);
	assert_frame(st, f, FRAME_COMPLETE, rx.bytes + 4, 258, 262, 258);
	assert_memory_equal(f.payload, payload_b, sizeof(payload_b));
}

/* A zero-length payload is a complete frame (an empty Request is all defaults). */
static void test_zero_length_payload(void **state)
{
	(void)state;
	static const uint8_t buf[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	struct frame f;

	enum frame_status st = decode(buf, 4, FRAME_DEFAULT_MAX_PAYLOAD, &f);
	assert_frame(st, f, FRAME_COMPLETE, buf + 4, 0, 4, 0);

	/* Even with a limit of 0 bytes. */
	st = decode(buf, 4, 0, &f);
	assert_frame(st, f, FRAME_COMPLETE, buf + 4, 0, 4, 0);

	/* Followed by the first 3 bytes of another header: the first frame is unaffected. */
	st = decode(buf, sizeof(buf), FRAME_DEFAULT_MAX_PAYLOAD, &f);
	assert_frame(st, f, FRAME_COMPLETE, buf + 4, 0, 4, 0);
	st = decode(buf + 4, sizeof(buf) - 4, FRAME_DEFAULT_MAX_PAYLOAD, &f);
	assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, 0);
}

/* Exactly max_payload is allowed; one byte more is refused from the header alone, before
 * any payload byte arrives (so the server never buffers an oversized frame). */
static void test_limit_is_inclusive_and_checked_on_header(void **state)
{
	(void)state;
	const size_t max = FRAME_DEFAULT_MAX_PAYLOAD_BEFORE_LOGIN;
	uint8_t *buf = calloc(1, FRAME_HEADER_BYTES + max + 1);
	assert_non_null(buf);
	struct frame f;
	enum frame_status st;

	frame_put_header(buf, (uint32_t)max);
	st = decode(buf, FRAME_HEADER_BYTES, max, &f);
	assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, max);
	st = decode(buf, FRAME_HEADER_BYTES + max - 1, max, &f);
	assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, max);
	st = decode(buf, FRAME_HEADER_BYTES + max, max, &f);
	assert_frame(st, f, FRAME_COMPLETE, buf + 4, max, max + 4, max);

	frame_put_header(buf, (uint32_t)(max + 1));
	st = decode(buf, FRAME_HEADER_BYTES - 1, max, &f); /* header incomplete: unknown */
	assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, 0);
	st = decode(buf, FRAME_HEADER_BYTES, max, &f);
	assert_frame(st, f, FRAME_TOO_LARGE, NULL, 0, 0, max + 1);
	/* Still too large once the bytes are all there. */
	st = decode(buf, FRAME_HEADER_BYTES + max + 1, max, &f);
	assert_frame(st, f, FRAME_TOO_LARGE, NULL, 0, 0, max + 1);
	/* The same frame is fine under the larger limit that applies after login. */
	st = decode(buf, FRAME_HEADER_BYTES + max + 1, FRAME_DEFAULT_MAX_PAYLOAD, &f);
	assert_frame(st, f, FRAME_COMPLETE, buf + 4, max + 1, max + 5, max + 1);

	free(buf);
}

static void test_all_ones_length(void **state)
{
	(void)state;
	static const uint8_t buf[] = {0xff, 0xff, 0xff, 0xff, 0x08, 0x01};
	struct frame f;

	enum frame_status st = decode(buf, sizeof(buf), FRAME_DEFAULT_MAX_PAYLOAD, &f);
	assert_frame(st, f, FRAME_TOO_LARGE, NULL, 0, 0, 0xffffffffu);
	/* With no limit at all the length is read without wrapping: 4 GiB are still due. */
	st = decode(buf, sizeof(buf), SIZE_MAX, &f);
	assert_frame(st, f, FRAME_NEED_MORE, NULL, 0, 0, 0xffffffffu);
	/* The top bit alone is a length too, not a sign. */
	static const uint8_t top[] = {0x80, 0x00, 0x00, 0x00};
	st = decode(top, sizeof(top), FRAME_DEFAULT_MAX_PAYLOAD, &f);
	assert_frame(st, f, FRAME_TOO_LARGE, NULL, 0, 0, 0x80000000u);
}

/* Fills a CreateClaim the way a field office would. */
static void fill_create_claim(Tulay__V1__Request *req, Tulay__V1__CreateClaim *cc,
			      Tulay__V1__Money *money, uint8_t key[16])
{
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(0xf0 ^ (i * 17));
	money->minor_units = 4500000;
	money->currency = "MYR";
	cc->idempotency_key.len = 16;
	cc->idempotency_key.data = key;
	cc->organisation = "TENAGA";
	cc->worker_nationality = "NP";
	cc->country_of_work = "MY";
	cc->sector = TULAY__V1__SECTOR__SECTOR_MANUFACTURING;
	cc->employer = "Syarikat Contoh Sdn Bhd";
	cc->work_started_on = "2024-03-01";
	cc->work_ended_on = "2025-11-30";
	cc->amount_claimed = money;
	cc->workers = 37;
	req->id = 0x1122334455667788u;
	req->body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	req->create_claim = cc;
}

static void test_pack_create_claim_round_trips(void **state)
{
	(void)state;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__CreateClaim cc = TULAY__V1__CREATE_CLAIM__INIT;
	Tulay__V1__Money money = TULAY__V1__MONEY__INIT;
	uint8_t key[16];
	fill_create_claim(&req, &cc, &money, key);

	size_t packed = tulay__v1__request__get_packed_size(&req);
	size_t len = 12345;
	uint8_t *buf = frame_pack(&req.base, FRAME_DEFAULT_MAX_PAYLOAD, &len);
	assert_non_null(buf);
	assert_int_equal(len, FRAME_HEADER_BYTES + packed);

	struct frame f;
	enum frame_status st = decode(buf, len, FRAME_DEFAULT_MAX_PAYLOAD, &f);
	assert_frame(st, f, FRAME_COMPLETE, buf + 4, packed, len, packed);

	Tulay__V1__Request *got = tulay__v1__request__unpack(NULL, f.payload_len, f.payload);
	assert_non_null(got);
	assert_int_equal(got->id, 0x1122334455667788u);
	assert_int_equal(got->body_case, TULAY__V1__REQUEST__BODY_CREATE_CLAIM);
	const Tulay__V1__CreateClaim *g = got->create_claim;
	assert_non_null(g);
	assert_int_equal(g->idempotency_key.len, 16);
	assert_memory_equal(g->idempotency_key.data, key, 16);
	assert_string_equal(g->organisation, "TENAGA");
	assert_string_equal(g->worker_nationality, "NP");
	assert_string_equal(g->country_of_work, "MY");
	assert_int_equal(g->sector, TULAY__V1__SECTOR__SECTOR_MANUFACTURING);
	assert_string_equal(g->employer, "Syarikat Contoh Sdn Bhd");
	assert_string_equal(g->work_started_on, "2024-03-01");
	assert_string_equal(g->work_ended_on, "2025-11-30");
	assert_non_null(g->amount_claimed);
	assert_int_equal(g->amount_claimed->minor_units, 4500000);
	assert_string_equal(g->amount_claimed->currency, "MYR");
	assert_int_equal(g->workers, 37);
	tulay__v1__request__free_unpacked(got, NULL);
	free(buf);
}

/* The Hello in proto/README.md is exactly what frame_pack produces. */
static void test_pack_hello_matches_documented_bytes(void **state)
{
	(void)state;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__Hello hello = TULAY__V1__HELLO__INIT;
	hello.protocol_version = 1;
	hello.client = "tulay-cli/0.1.0";
	req.id = 1;
	req.body_case = TULAY__V1__REQUEST__BODY_HELLO;
	req.hello = &hello;

	size_t len = 0;
	uint8_t *buf = frame_pack(&req.base, FRAME_DEFAULT_MAX_PAYLOAD_BEFORE_LOGIN, &len);
	assert_non_null(buf);
	assert_int_equal(len, sizeof(hello_frame));
	assert_memory_equal(buf, hello_frame, sizeof(hello_frame));
	free(buf);
}

/* A Request with every field at its default packs to nothing: a 4-byte frame of zeros. */
static void test_pack_empty_request(void **state)
{
	(void)state;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	size_t len = 99;
	uint8_t *buf = frame_pack(&req.base, 0, &len);
	assert_non_null(buf);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, ((const uint8_t[]){0, 0, 0, 0}), 4);
	free(buf);
}

/* frame_pack applies the same limit as frame_decode: exactly max_payload is packed, one
 * byte over is refused with NULL and *out_len 0. */
static void test_pack_refuses_message_over_limit(void **state)
{
	(void)state;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	Tulay__V1__CreateClaim cc = TULAY__V1__CREATE_CLAIM__INIT;
	Tulay__V1__Money money = TULAY__V1__MONEY__INIT;
	uint8_t key[16];
	fill_create_claim(&req, &cc, &money, key);
	size_t packed = tulay__v1__request__get_packed_size(&req);
	assert_true(packed > 16);

	size_t len = 12345;
	uint8_t *buf = frame_pack(&req.base, packed - 1, &len);
	assert_null(buf);
	assert_int_equal(len, 0);

	len = 12345;
	buf = frame_pack(&req.base, 16, &len);
	assert_null(buf);
	assert_int_equal(len, 0);

	len = 12345;
	buf = frame_pack(&req.base, packed, &len);
	assert_non_null(buf);
	assert_int_equal(len, packed + 4);
	struct frame f;
	enum frame_status st = decode(buf, len, packed, &f);
	assert_frame(st, f, FRAME_COMPLETE, buf + 4, packed, packed + 4, packed);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_header_is_big_endian),
	    cmocka_unit_test(test_put_header_round_trips_through_decode),
	    cmocka_unit_test(test_empty_buffer_needs_more),
	    cmocka_unit_test(test_frame_fed_byte_by_byte),
	    cmocka_unit_test(test_two_frames_in_one_buffer),
	    cmocka_unit_test(test_frame_split_across_header_boundary),
	    cmocka_unit_test(test_zero_length_payload),
	    cmocka_unit_test(test_limit_is_inclusive_and_checked_on_header),
	    cmocka_unit_test(test_all_ones_length),
	    cmocka_unit_test(test_pack_create_claim_round_trips),
	    cmocka_unit_test(test_pack_hello_matches_documented_bytes),
	    cmocka_unit_test(test_pack_empty_request),
	    cmocka_unit_test(test_pack_refuses_message_over_limit),
	};
	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
