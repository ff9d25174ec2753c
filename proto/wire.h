/* The protocol's bytes, read without protobuf-c: shared by tulayd and libtulay so both
 * sides agree on every edge case.
 *
 * Frames (frame_*): a 4-byte unsigned big-endian length N, then N bytes holding one
 * protobuf message (tulay.v1.Request from client to server, tulay.v1.Response back).
 *
 * The scan (wire_*): a look at a request's bytes before protobuf-c unpacks them, for what
 * unpacking would hide or cost:
 * - a string holding NUL or another C0 control character (unpacked, a C string ends at
 *   its first NUL, so "a\0b" would be stored as "a" and "\0" as not given). Tab and line
 *   feed are allowed in the free-text fields that take several lines (wire_free_text());
 * - a repeated field with more elements than its limit (wire_limits[], documented in
 *   proto/README.md), and more unknown fields than WIRE_MAX_UNKNOWN_FIELDS: refused before
 *   anything is allocated, whatever the frame's size;
 * - the request's id, so that even a request refused unread is answered under its id.
 * It does not judge the framing: bytes it cannot walk are left to protobuf-c to refuse. */
#ifndef TULAY_WIRE_H
#define TULAY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "tulay/v1/envelope.pb-c.h"

/* --- frames ---------------------------------------------------------------------------- */

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

/* --- the scan before unpacking ---------------------------------------------------------- */

#define WIRE_MAX_UNKNOWN_FIELDS 1000
#define WIRE_MAX_DEPTH          16
#define WIRE_PATH_BYTES         160

enum wire_finding {
	WIRE_CLEAN,           /* nothing found (or bytes it could not walk) */
	WIRE_CONTROL_CHAR,    /* `path` holds NUL or a control character */
	WIRE_TOO_MANY,        /* `path` repeats more than `limit` times (`count` seen so far) */
	WIRE_TOO_MANY_UNKNOWN /* more than WIRE_MAX_UNKNOWN_FIELDS unknown fields */
};

struct wire_scan {
	bool has_id;
	uint64_t id;
	enum wire_finding finding;
	bool nul;           /* WIRE_CONTROL_CHAR: the character was NUL */
	bool lines_allowed; /* WIRE_CONTROL_CHAR: in a free-text field (tab, line feed fine) */
	char path[WIRE_PATH_BYTES]; /* e.g. "co_workers[3].name" (the body's own name left out) */
	size_t count, limit;
};

/* The most elements a repeated field of a request may have. */
struct wire_limit {
	const ProtobufCMessageDescriptor *message;
	const char *field;
	unsigned max;
};
extern const struct wire_limit wire_limits[];
extern const size_t wire_n_limits;

/* The limit of `field` of `message` in wire_limits[], or 0 when it has none there (the
 * scan then uses WIRE_DEFAULT_REPEATED; unit_wire checks that no request field does). */
#define WIRE_DEFAULT_REPEATED 100
unsigned wire_limit_of(const ProtobufCMessageDescriptor *message, const char *field);

/* True for the free-text fields where tab and line feed are allowed. */
bool wire_free_text(const ProtobufCMessageDescriptor *message, const char *field);

/* Walks `len` bytes as a `top` message (tulay.v1.Request) and fills `out`; stops at the
 * first finding. */
void wire_scan(const ProtobufCMessageDescriptor *top, const uint8_t *buf, size_t len,
	       struct wire_scan *out);

/* Whether a Request body may travel sealed in a SealedRequest (outbox.proto): the writes
 * about cases, each with its idempotency key. The server opens only these; the CLI's
 * outbox keeps only these. */
bool wire_sealable(int body_case);

/* The body message of a Request: the member of its oneof that is set, or NULL. */
ProtobufCMessage *wire_request_body(const Tulay__V1__Request *req);

/* The values of `f`, a string field of `m` (NULL for a field of another type): one value
 * for a single field, the elements of a repeated one; their number in *count. */
char **wire_string_values(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, size_t *count);

#endif
