/* The tulay frame: a 4-byte unsigned big-endian length N, then N bytes holding one
 * protobuf message (tulay.v1.Request from client to server, tulay.v1.Response back).
 * Shared by tulayd and libtulay so both sides agree on every edge case. */
#ifndef TULAY_FRAME_H
#define TULAY_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define FRAME_HEADER_BYTES 4

/* Defaults of the limits (the server may be configured otherwise; Hello tells clients). */
#define FRAME_DEFAULT_MAX_PAYLOAD              (1024u * 1024u) /* after login */
#define FRAME_DEFAULT_MAX_PAYLOAD_BEFORE_LOGIN (16u * 1024u)

enum frame_status {
	FRAME_COMPLETE,  /* a whole frame is in the buffer */
	FRAME_NEED_MORE, /* the header or payload is not all there yet */
	FRAME_TOO_LARGE, /* the header announces more than max_payload bytes */
};

struct frame {
	const uint8_t *payload; /* points into the caller's buffer */
	size_t payload_len;
	size_t frame_len; /* header + payload: how far to advance to the next frame */
	size_t announced; /* the length from the header, once the header is complete */
};

/* Looks at the bytes buf[0..len) received so far. FRAME_COMPLETE fills *out with the first
 * frame; FRAME_NEED_MORE and FRAME_TOO_LARGE fill out->announced when the header is
 * complete (0 otherwise). Never reads past buf+len, never allocates. */
enum frame_status frame_decode(const uint8_t *buf, size_t len, size_t max_payload,
			       struct frame *out);

/* Writes the big-endian header for a payload of `payload_len` bytes. */
void frame_put_header(uint8_t *out, uint32_t payload_len);

/* Packs `msg` behind a frame header into one malloc'ed buffer that the caller owns and
 * frees. Returns NULL (and sets *out_len to 0) when the message is larger than
 * max_payload or memory runs out. */
uint8_t *frame_pack(const ProtobufCMessage *msg, size_t max_payload, size_t *out_len);

#endif
