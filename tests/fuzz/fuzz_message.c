#include "fuzz_message.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

/* Deeper than any tulay.v1 message nests (Response > ClaimList > Claim > Money). */
#define WALK_MAX_DEPTH 8

/* How big one element of a field of this type is in a repeated field's array, for the
 * types the walk looks into; 0 for the others. */
static size_t element_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 0;
	}
}

static void walk_element(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field,
			 const void *slot, bool repeated, const struct fuzz_walk *walk_cb,
			 unsigned depth);

static void walk_message(const ProtobufCMessage *msg, const struct fuzz_walk *walk_cb,
			 unsigned depth)
{
	FUZZ_CHECK(depth < WALK_MAX_DEPTH);
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	FUZZ_CHECK(desc != NULL);
	FUZZ_CHECK(desc->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
	FUZZ_CHECK(msg->n_unknown_fields == 0 || msg->unknown_fields != NULL);
	for (unsigned i = 0; i < msg->n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *u = &msg->unknown_fields[i];
		FUZZ_CHECK(u->len == 0 || u->data != NULL);
		/* Known field numbers land in their fields, never among the unknown ones. */
		FUZZ_CHECK(protobuf_c_message_descriptor_get_field(desc, u->tag) == NULL);
	}
	if (walk_cb->on_message != NULL)
		walk_cb->on_message(msg, walk_cb->ctx);

	const char *base = (const char *)msg;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *field = &desc->fields[i];
		if (element_size(field->type) == 0)
			continue;
		const void *member = base + field->offset;
		if (field->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t count = *(const size_t *)(base + field->quantifier_offset);
			const char *elements = *(const void *const *)member;
			FUZZ_CHECK(count == 0 || elements != NULL);
			for (size_t j = 0; j < count; j++)
				walk_element(msg, field, elements + j * element_size(field->type),
					     true, walk_cb, depth);
			continue;
		}
		if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t selected = *(const uint32_t *)(base + field->quantifier_offset);
			if (selected != field->id)
				continue;
		}
		walk_element(msg, field, member, false, walk_cb, depth);
	}
}

static void walk_element(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field,
			 const void *slot, bool repeated, const struct fuzz_walk *walk_cb,
			 unsigned depth)
{
	switch (field->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *value = *(const char *const *)slot;
		FUZZ_CHECK(value != NULL);
		if (walk_cb->on_string != NULL)
			walk_cb->on_string(msg, field, value, walk_cb->ctx);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *value = slot;
		FUZZ_CHECK(value->len == 0 || value->data != NULL);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)slot;
		/* A singular message field may be absent; a selected oneof member or an element of
		 * a repeated field may not. */
		bool may_be_absent = !repeated && !(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
		FUZZ_CHECK(sub != NULL || may_be_absent);
		if (sub != NULL) {
			FUZZ_CHECK(sub->descriptor == field->descriptor);
			walk_message(sub, walk_cb, depth + 1);
		}
		break;
	}
	default:
		break;
	}
}

void fuzz_message_walk(const ProtobufCMessage *msg, const struct fuzz_walk *walk_cb)
{
	FUZZ_CHECK(protobuf_c_message_check(msg));
	walk_message(msg, walk_cb, 0);
}

/* Packs msg into a new malloc'ed buffer; checks the size matches what was announced. */
static uint8_t *pack(const ProtobufCMessage *msg, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(*len > 0 ? *len : 1);
	FUZZ_CHECK(buf != NULL);
	FUZZ_CHECK(protobuf_c_message_pack(msg, buf) == *len);
	return buf;
}

static void find_field_zero(const ProtobufCMessage *msg, void *ctx)
{
	for (unsigned i = 0; i < msg->n_unknown_fields; i++) {
		if (msg->unknown_fields[i].tag == 0)
			*(bool *)ctx = true;
	}
}

void fuzz_message_check_repack(const ProtobufCMessage *msg)
{
	static const struct fuzz_walk structure_only = {0};

	/* protobuf-c (1.4.1) refuses field number 0 in a one-byte tag but keeps it as an
	 * unknown field when the tag is an overlong varint (82 00), and then packs it in one
	 * byte, which its own unpack refuses. Harmless to tulay, which never re-sends what it
	 * received, so such messages are left out of the round trip rather than reported. */
	bool has_field_zero = false;
	const struct fuzz_walk field_zero = {.on_message = find_field_zero, .ctx = &has_field_zero};
	fuzz_message_walk(msg, &field_zero);
	if (has_field_zero)
		return;

	size_t first_len;
	uint8_t *first = pack(msg, &first_len);
	ProtobufCMessage *again =
	    protobuf_c_message_unpack(msg->descriptor, NULL, first_len, first);
	FUZZ_CHECK(again != NULL);
	fuzz_message_walk(again, &structure_only);
	size_t second_len;
	uint8_t *second = pack(again, &second_len);
	FUZZ_CHECK(second_len == first_len);
	FUZZ_CHECK(memcmp(first, second, first_len) == 0);
	protobuf_c_message_free_unpacked(again, NULL);
	free(second);
	free(first);
}

/* --- structure-aware mutation ------------------------------------------------------------- */

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* The string and bytes fields of one unpacked message, to pick one to mutate. */
#define MUTATE_MAX_SLOTS 64
#define MUTATE_MAX_VALUE 4096

struct mutable_slots {
	size_t n;
	ProtobufCType type[MUTATE_MAX_SLOTS];
	void *slot[MUTATE_MAX_SLOTS]; /* char ** or ProtobufCBinaryData * */
};

static void collect_slots(ProtobufCMessage *msg, struct mutable_slots *ms, unsigned depth)
{
	if (depth >= WALK_MAX_DEPTH)
		return;
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	char *base = (char *)msg;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *field = &desc->fields[i];
		size_t elem = element_size(field->type);
		if (elem == 0)
			continue;
		size_t count = 1;
		char *elements = base + field->offset;
		if (field->label == PROTOBUF_C_LABEL_REPEATED) {
			count = *(size_t *)(base + field->quantifier_offset);
			elements = *(char **)elements;
		} else if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			   *(uint32_t *)(base + field->quantifier_offset) != field->id) {
			continue;
		}
		for (size_t j = 0; j < count; j++) {
			void *slot = elements + j * elem;
			if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (*(ProtobufCMessage **)slot != NULL)
					collect_slots(*(ProtobufCMessage **)slot, ms, depth + 1);
			} else if (ms->n < MUTATE_MAX_SLOTS) {
				ms->type[ms->n] = field->type;
				ms->slot[ms->n++] = slot;
			}
		}
	}
}

size_t fuzz_message_mutate(const ProtobufCMessageDescriptor *desc, uint8_t *data, size_t size,
			   size_t max_size, unsigned int seed)
{
	if (seed % 2 == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, size, data);
	if (msg == NULL)
		return LLVMFuzzerMutate(data, size, max_size);
	struct mutable_slots ms = {.n = 0};
	collect_slots(msg, &ms, 0);
	if (ms.n == 0) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return LLVMFuzzerMutate(data, size, max_size);
	}

	/* Mutate a copy of the value with room to grow, swap it in, pack, swap it back. */
	size_t k = (seed / 2) % ms.n;
	uint8_t *value = malloc(MUTATE_MAX_VALUE + 1);
	FUZZ_CHECK(value != NULL);
	size_t len;
	if (ms.type[k] == PROTOBUF_C_TYPE_STRING) {
		char **str = ms.slot[k];
		len = strlen(*str);
	} else {
		len = ((ProtobufCBinaryData *)ms.slot[k])->len;
	}
	if (len > MUTATE_MAX_VALUE)
		len = MUTATE_MAX_VALUE;
	if (ms.type[k] == PROTOBUF_C_TYPE_STRING)
		memcpy(value, *(char **)ms.slot[k], len);
	else if (len > 0)
		memcpy(value, ((ProtobufCBinaryData *)ms.slot[k])->data, len);
	len = LLVMFuzzerMutate(value, len, MUTATE_MAX_VALUE);
	value[len] = '\0';

	size_t out_size;
	if (ms.type[k] == PROTOBUF_C_TYPE_STRING) {
		char **str = ms.slot[k];
		char *old = *str;
		*str = (char *)value;
		out_size = protobuf_c_message_get_packed_size(msg);
		if (out_size <= max_size)
			protobuf_c_message_pack(msg, data);
		*str = old;
	} else {
		ProtobufCBinaryData *bytes = ms.slot[k];
		ProtobufCBinaryData old = *bytes;
		bytes->data = value;
		bytes->len = len;
		out_size = protobuf_c_message_get_packed_size(msg);
		if (out_size <= max_size)
			protobuf_c_message_pack(msg, data);
		*bytes = old;
	}
	free(value);
	protobuf_c_message_free_unpacked(msg, NULL);
	if (out_size > max_size)
		return LLVMFuzzerMutate(data, size, max_size);
	return out_size;
}
