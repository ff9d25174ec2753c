/* libFuzzer driver for the frame codec (proto/wire.c), the first thing both tulayd and
 * libtulay run on a peer's bytes.
 *
 * The input is what a connection has received so far. It is decoded under several payload
 * limits: whole, then at every prefix length (as if the bytes arrived one at a time), then
 * as a stream of back-to-back frames the way a connection consumes them. After each call
 * the whole struct frame is checked against the header bytes. frame_put_header must give
 * back the header it was read from, and frame_pack must produce frames that frame_decode
 * reads back into the message that was packed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "fuzz_check.h"
#include "tulay/v1/session.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The limits the server and client use, and the edges around them. */
static const size_t max_payloads[] = {
    0,          1,        23, FRAME_DEFAULT_MAX_PAYLOAD_BEFORE_LOGIN, FRAME_DEFAULT_MAX_PAYLOAD,
    UINT32_MAX, SIZE_MAX,
};

/* Prefixes up to this length are decoded from an exact-size heap copy, so AddressSanitizer
 * catches a read past `len` while the header is still incomplete. Longer prefixes reuse the
 * input (copying every prefix would make the driver quadratic). */
#define PREFIX_COPY_BYTES 16

/* Decodes buf[0..len) into a poisoned struct frame, so that a field the decoder forgot to
 * set shows up, and checks everything that must hold of the answer. Returns the status. */
static enum frame_status decode_checked(const uint8_t *buf, size_t len, size_t max, struct frame *f)
{
	memset(f, 0xA5, sizeof(*f));
	enum frame_status status = frame_decode(buf, len, max, f);

	if (len < FRAME_HEADER_BYTES) {
		FUZZ_CHECK(status == FRAME_NEED_MORE);
		FUZZ_CHECK(f->announced == 0);
	} else {
		size_t announced = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 |
				   (size_t)buf[2] << 8 | (size_t)buf[3];
		FUZZ_CHECK(f->announced == announced);
		uint8_t header[FRAME_HEADER_BYTES];
		frame_put_header(header, (uint32_t)announced);
		FUZZ_CHECK(memcmp(header, buf, FRAME_HEADER_BYTES) == 0);
	}

	switch (status) {
	case FRAME_COMPLETE:
		FUZZ_CHECK(len >= FRAME_HEADER_BYTES);
		FUZZ_CHECK(f->announced <= max);
		FUZZ_CHECK(f->payload == buf + FRAME_HEADER_BYTES);
		FUZZ_CHECK(f->payload_len == f->announced);
		FUZZ_CHECK(f->frame_len == FRAME_HEADER_BYTES + f->payload_len);
		FUZZ_CHECK(f->frame_len <= len);
		return status;
	case FRAME_TOO_LARGE:
		FUZZ_CHECK(len >= FRAME_HEADER_BYTES);
		FUZZ_CHECK(f->announced > max);
		break;
	case FRAME_NEED_MORE:
		FUZZ_CHECK(len < FRAME_HEADER_BYTES ||
			   (f->announced <= max && len - FRAME_HEADER_BYTES < f->announced));
		break;
	default:
		FUZZ_CHECK(0 && "frame_decode returned an unknown status");
	}
	/* Only a complete frame has a payload. */
	FUZZ_CHECK(f->payload == NULL);
	FUZZ_CHECK(f->payload_len == 0);
	FUZZ_CHECK(f->frame_len == 0);
	return status;
}

/* Decodes every prefix of the input: the answer must be NEED_MORE until the header is in,
 * then TOO_LARGE for good if the whole input is too large, else NEED_MORE until the whole
 * frame is in and COMPLETE, with the same frame, from then on. */
static void check_prefixes(const uint8_t *data, size_t size, size_t max,
			   enum frame_status whole_status, const struct frame *whole)
{
	size_t complete_from = whole_status == FRAME_COMPLETE ? whole->frame_len : SIZE_MAX;
	for (size_t k = 0; k <= size; k++) {
		uint8_t *copy = NULL;
		const uint8_t *buf = data;
		if (k <= PREFIX_COPY_BYTES) {
			copy = malloc(k > 0 ? k : 1);
			FUZZ_CHECK(copy != NULL);
			if (k > 0)
				memcpy(copy, data, k);
			buf = copy;
		}
		struct frame f;
		enum frame_status status = decode_checked(buf, k, max, &f);
		if (k < FRAME_HEADER_BYTES) {
			FUZZ_CHECK(status == FRAME_NEED_MORE);
		} else if (whole_status == FRAME_TOO_LARGE) {
			FUZZ_CHECK(status == FRAME_TOO_LARGE);
			FUZZ_CHECK(f.announced == whole->announced);
		} else if (k < complete_from) {
			FUZZ_CHECK(status == FRAME_NEED_MORE);
		} else {
			FUZZ_CHECK(status == FRAME_COMPLETE);
			FUZZ_CHECK(f.frame_len == whole->frame_len);
		}
		free(copy);
	}
}

/* Consumes the input as a connection does: frame after frame while they are complete. Every
 * payload must lie inside the input and every frame must move the position forward. */
static void check_stream(const uint8_t *data, size_t size, size_t max)
{
	size_t pos = 0;
	for (;;) {
		struct frame f;
		if (decode_checked(data + pos, size - pos, max, &f) != FRAME_COMPLETE)
			break;
		FUZZ_CHECK(f.frame_len >= FRAME_HEADER_BYTES);
		FUZZ_CHECK(f.payload >= data + pos);
		FUZZ_CHECK(f.payload_len <= size - pos - FRAME_HEADER_BYTES);
		pos += f.frame_len;
		FUZZ_CHECK(pos <= size);
	}
}

/* frame_pack of a Hello whose client string is (the start of) the input: NULL exactly when
 * the message is larger than the limit, otherwise a frame that decodes as COMPLETE, spans the
 * whole buffer and unpacks into the same Hello. */
static void check_pack(const uint8_t *data, size_t size)
{
	Tulay__V1__Hello hello = TULAY__V1__HELLO__INIT;
	char *client = fuzz_strndup(data, size);
	hello.protocol_version = (uint32_t)size;
	hello.client = client;
	size_t packed_size = protobuf_c_message_get_packed_size(&hello.base);

	for (size_t i = 0; i < sizeof(max_payloads) / sizeof(max_payloads[0]); i++) {
		size_t max = max_payloads[i];
		size_t out_len = 12345;
		uint8_t *out = frame_pack(&hello.base, max, &out_len);
		if (packed_size > max) {
			FUZZ_CHECK(out == NULL);
			FUZZ_CHECK(out_len == 0);
			continue;
		}
		FUZZ_CHECK(out != NULL);
		FUZZ_CHECK(out_len == FRAME_HEADER_BYTES + packed_size);
		struct frame f;
		FUZZ_CHECK(decode_checked(out, out_len, max, &f) == FRAME_COMPLETE);
		FUZZ_CHECK(f.frame_len == out_len);
		Tulay__V1__Hello *back = tulay__v1__hello__unpack(NULL, f.payload_len, f.payload);
		FUZZ_CHECK(back != NULL);
		FUZZ_CHECK(back->protocol_version == hello.protocol_version);
		FUZZ_CHECK(strcmp(back->client, client) == 0);
		tulay__v1__hello__free_unpacked(back, NULL);
		free(out);
	}
	free(client);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < sizeof(max_payloads) / sizeof(max_payloads[0]); i++) {
		struct frame whole;
		enum frame_status status = decode_checked(data, size, max_payloads[i], &whole);
		check_prefixes(data, size, max_payloads[i], status, &whole);
		check_stream(data, size, max_payloads[i]);
	}
	check_pack(data, size);
	return 0;
}
