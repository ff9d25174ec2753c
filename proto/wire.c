/* The protocol's bytes: frames, and the scan of a request before unpacking (wire.h). */
#include "wire.h"

#include "tulay/v1/envelope.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tulay/v1/claims.pb-c.h"
#include "tulay/v1/deportations.pb-c.h"
#include "tulay/v1/recommendations.pb-c.h"
#include "tulay/v1/referrals.pb-c.h"
#include "tulay/v1/reports.pb-c.h"

/* --- frames ---------------------------------------------------------------------------- */

enum frame_status frame_decode(const uint8_t *buf, size_t len, size_t max_payload,
			       struct frame *out)
{
	out->payload = NULL;
	out->payload_len = 0;
	out->frame_len = 0;
	out->announced = 0;
	if (len < FRAME_HEADER_BYTES)
		return FRAME_NEED_MORE;

	size_t announced =
	    (size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | (size_t)buf[3];
	out->announced = announced;
	if (announced > max_payload)
		return FRAME_TOO_LARGE;
	if (len - FRAME_HEADER_BYTES < announced)
		return FRAME_NEED_MORE;

	out->payload = buf + FRAME_HEADER_BYTES;
	out->payload_len = announced;
	out->frame_len = FRAME_HEADER_BYTES + announced;
	return FRAME_COMPLETE;
}

void frame_put_header(uint8_t *out, uint32_t payload_len)
{
	out[0] = (uint8_t)(payload_len >> 24);
	out[1] = (uint8_t)(payload_len >> 16);
	out[2] = (uint8_t)(payload_len >> 8);
	out[3] = (uint8_t)payload_len;
}

uint8_t *frame_pack(const ProtobufCMessage *msg, size_t max_payload, size_t *out_len)
{
	*out_len = 0;
	size_t size = protobuf_c_message_get_packed_size(msg);
	if (size > max_payload || size > UINT32_MAX)
		return NULL;
	uint8_t *buf = malloc(FRAME_HEADER_BYTES + size);
	if (buf == NULL)
		return NULL;
	frame_put_header(buf, (uint32_t)size);
	protobuf_c_message_pack(msg, buf + FRAME_HEADER_BYTES);
	*out_len = FRAME_HEADER_BYTES + size;
	return buf;
}

/* --- the scan before unpacking ---------------------------------------------------------- */

/* Every repeated field a request can carry, with its most elements; proto/README.md lists
 * the same (unit_wire checks that no repeated request field is missing here). */
const struct wire_limit wire_limits[] = {
    {&tulay__v1__create_claim__descriptor, "exploitation_means", 16},
    {&tulay__v1__create_claim__descriptor, "co_workers", 100},
    {&tulay__v1__create_deportation__descriptor, "grounds", 16},
    {&tulay__v1__create_recommendation__descriptor, "co_signers", 50},
    {&tulay__v1__create_recommendation__descriptor, "evidence", 50},
    {&tulay__v1__get_report__descriptor, "group_by", 4},
    {&tulay__v1__get_report__descriptor, "filters", 16},
    {&tulay__v1__sealed_request__descriptor, "local_cases", 8},
};
const size_t wire_n_limits = sizeof(wire_limits) / sizeof(wire_limits[0]);

unsigned wire_limit_of(const ProtobufCMessageDescriptor *message, const char *field)
{
	for (size_t i = 0; i < wire_n_limits; i++)
		if (wire_limits[i].message == message && strcmp(wire_limits[i].field, field) == 0)
			return wire_limits[i].max;
	return 0;
}

/* The notes and reasons people write in sentences: tab and line feed allowed. */
static const struct {
	const ProtobufCMessageDescriptor *message;
	const char *field;
} free_text[] = {
    {&tulay__v1__add_case_note__descriptor, "text"},
    {&tulay__v1__change_claim_status__descriptor, "reason"},
    {&tulay__v1__record_deportation_stage__descriptor, "note"},
    {&tulay__v1__add_intervention__descriptor, "text"},
    {&tulay__v1__create_recommendation__descriptor, "text"},
    {&tulay__v1__change_recommendation_status__descriptor, "note"},
};

bool wire_free_text(const ProtobufCMessageDescriptor *message, const char *field)
{
	for (size_t i = 0; i < sizeof(free_text) / sizeof(free_text[0]); i++)
		if (free_text[i].message == message && strcmp(free_text[i].field, field) == 0)
			return true;
	return false;
}

/* Paths as the handlers name their fields: a repeated string by the field alone
 * ("co_signers", "group_by"), and a report filter by the element, whatever part of it is
 * wrong ("filters[0]"). */
static bool named_as_element(const ProtobufCMessageDescriptor *message)
{
	return message == &tulay__v1__report_filter__descriptor;
}

struct walker {
	struct wire_scan *out;
	size_t unknown;
	char path[WIRE_PATH_BYTES];
};

/* Reads a varint at *p (before end); false when it runs off the end or past 10 bytes. */
static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* One field on the wire: its number and wire type; for a varint its value in `len`, for a
 * length-delimited field its bytes at `value`, `len` long. */
struct wire_field {
	uint32_t number;
	unsigned type;
	const uint8_t *value;
	uint64_t len;
};

/* Reads the field at *p and moves past it; false when it runs off the end or is of a
 * wire type tulay.v1 never uses (groups: protobuf-c decides). */
static bool next_field(const uint8_t **p, const uint8_t *end, struct wire_field *f)
{
	uint64_t tag;
	if (!read_varint(p, end, &tag))
		return false;
	f->number = (uint32_t)(tag >> 3);
	f->type = (unsigned)(tag & 7);
	f->value = *p;
	f->len = 0;
	switch (f->type) {
	case 0:
		return read_varint(p, end, &f->len);
	case 1:
	case 5: {
		size_t size = f->type == 1 ? 8 : 4;
		if ((size_t)(end - *p) < size)
			return false;
		*p += size;
		return true;
	}
	case 2:
		if (!read_varint(p, end, &f->len) || f->len > (uint64_t)(end - *p))
			return false;
		f->value = *p;
		*p += f->len;
		return true;
	default:
		return false;
	}
}

static bool control_char(const uint8_t *s, size_t n, bool lines, bool *nul)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 0x20)
			continue;
		if (lines && (s[i] == '\t' || s[i] == '\n'))
			continue;
		*nul = s[i] == 0;
		return true;
	}
	return false;
}

/* Appends "name" or "name[i]" (after a '.' unless first) to the path; returns the old
 * length, to cut back to. */
static size_t path_push(struct walker *w, const char *name, bool repeated, size_t index)
{
	size_t old = strlen(w->path);
	size_t room = sizeof(w->path) - old;
	int n = repeated ? snprintf(w->path + old, room, "%s%s[%zu]", old ? "." : "", name, index)
			 : snprintf(w->path + old, room, "%s%s", old ? "." : "", name);
	if (n < 0 || (size_t)n >= room)
		w->path[sizeof(w->path) - 1] = '\0';
	return old;
}

static void finding(struct walker *w, enum wire_finding f)
{
	w->out->finding = f;
	snprintf(w->out->path, sizeof(w->out->path), "%s", w->path);
}

/* Walks one message's bytes. Returns false to stop: a finding, or bytes it cannot walk
 * (left to protobuf-c). `top`: the request itself, whose body's name is left out of paths. */
static bool walk(struct walker *w, const ProtobufCMessageDescriptor *d, const uint8_t *p,
		 const uint8_t *end, unsigned depth, bool top)
{
	if (depth > WIRE_MAX_DEPTH)
		return false;
	size_t counts[64] = {0}; /* elements seen per field (by descriptor index) */
	while (p < end) {
		struct wire_field wf;
		if (!next_field(&p, end, &wf))
			return false;
		uint32_t number = wf.number;
		unsigned type = wf.type;
		const uint8_t *value = wf.value;
		uint64_t len = wf.len;
		const ProtobufCFieldDescriptor *f =
		    protobuf_c_message_descriptor_get_field(d, number);
		if (f == NULL) {
			if (++w->unknown > WIRE_MAX_UNKNOWN_FIELDS) {
				finding(w, WIRE_TOO_MANY_UNKNOWN);
				w->out->count = w->unknown;
				w->out->limit = WIRE_MAX_UNKNOWN_FIELDS;
				return false;
			}
			continue;
		}
		size_t fi = (size_t)(f - d->fields);
		bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
		size_t index = fi < 64 ? counts[fi] : 0;
		size_t elements = 1;
		if (repeated && type == 2 && f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_BYTES && f->type != PROTOBUF_C_TYPE_MESSAGE) {
			/* packed: count the varints inside (tulay.v1's packed request fields
			 * are all enums) */
			elements = 0;
			for (const uint8_t *q = value; q < value + len; elements++) {
				uint64_t ignored;
				if (!read_varint(&q, value + len, &ignored))
					return false;
			}
		}
		if (repeated && fi < 64) {
			counts[fi] += elements;
			unsigned max = wire_limit_of(d, f->name);
			if (max == 0)
				max = WIRE_DEFAULT_REPEATED;
			if (counts[fi] > max) {
				size_t old = path_push(w, f->name, false, 0);
				finding(w, WIRE_TOO_MANY);
				w->path[old] = '\0';
				w->out->count = counts[fi];
				w->out->limit = max;
				return false;
			}
		}
		if (type != 2)
			continue;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			bool nul = false;
			bool lines = wire_free_text(d, f->name);
			if (control_char(value, (size_t)len, lines, &nul)) {
				size_t old = named_as_element(d)
						 ? strlen(w->path)
						 : path_push(w, f->name, false, index);
				finding(w, WIRE_CONTROL_CHAR);
				w->path[old] = '\0';
				w->out->nul = nul;
				w->out->lines_allowed = lines;
				return false;
			}
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			/* The body of the request is named by its type, not in field paths. */
			size_t old = top ? strlen(w->path) : path_push(w, f->name, repeated, index);
			bool go = walk(w, f->descriptor, value, value + len, depth + 1, false);
			w->path[old] = '\0';
			if (!go)
				return false;
		}
	}
	return true;
}

/* The request's id (field 1, a varint; the last one wins, as when unpacking), read over the
 * top level alone, wherever it stands among the other fields. */
static void find_id(const uint8_t *p, const uint8_t *end, struct wire_scan *out)
{
	struct wire_field f;
	while (p < end && next_field(&p, end, &f)) {
		if (f.number == 1 && f.type == 0) {
			out->has_id = true;
			out->id = f.len;
		}
	}
}

void wire_scan(const ProtobufCMessageDescriptor *top, const uint8_t *buf, size_t len,
	       struct wire_scan *out)
{
	memset(out, 0, sizeof(*out));
	find_id(buf, buf + len, out);
	struct walker w = {.out = out};
	walk(&w, top, buf, buf + len, 0, true);
}

bool wire_sealable(int body_case)
{
	static const int sealable[] = {
	    TULAY__V1__REQUEST__BODY_CREATE_CLAIM,
	    TULAY__V1__REQUEST__BODY_CHANGE_CLAIM_STATUS,
	    TULAY__V1__REQUEST__BODY_ADD_CASE_NOTE,
	    TULAY__V1__REQUEST__BODY_UPDATE_CLAIM_AMOUNTS,
	    TULAY__V1__REQUEST__BODY_RECORD_PAYMENT,
	    TULAY__V1__REQUEST__BODY_CREATE_DEPORTATION,
	    TULAY__V1__REQUEST__BODY_RECORD_DEPORTATION_STAGE,
	    TULAY__V1__REQUEST__BODY_ADD_INTERVENTION,
	    TULAY__V1__REQUEST__BODY_CREATE_RECOMMENDATION,
	    TULAY__V1__REQUEST__BODY_CHANGE_RECOMMENDATION_STATUS,
	    TULAY__V1__REQUEST__BODY_LINK_EVIDENCE,
	    TULAY__V1__REQUEST__BODY_PROPOSE_REFERRAL,
	};
	for (size_t i = 0; i < sizeof(sealable) / sizeof(sealable[0]); i++) {
		if (sealable[i] == body_case)
			return true;
	}
	return false;
}

ProtobufCMessage *wire_request_body(const Tulay__V1__Request *req)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
	    &tulay__v1__request__descriptor, (unsigned)req->body_case);
	return f != NULL ? *(ProtobufCMessage **)((char *)req + f->offset) : NULL;
}

char **wire_string_values(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, size_t *count)
{
	*count = 0;
	if (f->type != PROTOBUF_C_TYPE_STRING)
		return NULL;
	char **values = (char **)((char *)m + f->offset);
	*count = 1;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		*count = *(size_t *)((char *)m + f->quantifier_offset);
		values = *(char ***)values;
	}
	return values;
}
