/* Checks the fuzz drivers run on any protobuf-c message they unpacked, whatever its type:
 * a walk over every field by descriptor, and the pack/unpack round trip. */
#ifndef TULAY_FUZZ_MESSAGE_H
#define TULAY_FUZZ_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* What the walk calls for each part of a message; any callback may be NULL. */
struct fuzz_walk {
	/* Each message, outermost first, before its fields. */
	void (*on_message)(const ProtobufCMessage *msg, void *ctx);
	/* Each string field (each element of a repeated one): never NULL, NUL-terminated. */
	void (*on_string)(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field,
			  const char *value, void *ctx);
	void *ctx;
};

/* Walks `msg` and every sub-message reachable from it and aborts unless the structure
 * is what the code reading it relies on: a descriptor with the right magic, the fields of
 * the selected oneof member only, every string non-NULL (handlers dereference them
 * without checking), no NULL element in a repeated field, a data pointer wherever bytes or
 * an unknown field are non-empty, and protobuf_c_message_check() true. */
void fuzz_message_walk(const ProtobufCMessage *msg, const struct fuzz_walk *walk);

/* Packs `msg`, unpacks the result (with the default allocator), walks it and packs it
 * again, and aborts unless the second packing is byte for byte the first: what a peer
 * receives is what was sent. Frees everything it allocated. */
void fuzz_message_check_repack(const ProtobufCMessage *msg);

/* A libFuzzer custom mutator for inputs that are `desc` messages (LLVMFuzzerCustomMutator
 * passes its arguments on). Half the time, and whenever the input does not unpack, it
 * mutates the bytes as libFuzzer would, so the parser keeps seeing malformed input. Otherwise
 * it mutates the contents of one string or bytes field and packs the message again: growing
 * a string inside a sub-message means changing two length prefixes at once, which byte
 * mutations almost never do, so without this the validators' length limits go unreached.
 * Returns the new size (at most max_size). */
size_t fuzz_message_mutate(const ProtobufCMessageDescriptor *desc, uint8_t *data, size_t size,
			   size_t max_size, unsigned int seed);

#endif
