/* The codes of the protocol's enums, derived from protobuf-c's enum descriptors, for the
 * server (the codes stored in PostgreSQL), the CLI (its words, the codes with '-' for '_')
 * and the demo alike: one table, the .proto file.
 *
 * An enum's code is its value's name without the enum's prefix, in lower case:
 * tulay.v1.Sector's SECTOR_DOMESTIC_WORK is "domestic_work" (the prefix is the enum's name
 * in upper snake case, as protobuf's style guide writes it). Value 0 (UNSPECIFIED,
 * UNKNOWN, NONE) has no code. */
#ifndef TULAY_CODES_H
#define TULAY_CODES_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* The code of `value` in enum `d`, or NULL for 0, for a value `d` lacks, and when memory
 * runs out (the codes of an enum are made once, on first use; thread-safe). */
const char *proto_code(const ProtobufCEnumDescriptor *d, int value);

/* The CLI's word for `value`: its code with '-' for '_' ("domestic-work"); NULL likewise. */
const char *proto_word(const ProtobufCEnumDescriptor *d, int value);

/* The value whose code is exactly `code`, or 0 for none. */
int proto_value(const ProtobufCEnumDescriptor *d, const char *code);

/* The same for one of the CLI's words, which write '-' for '_' ("domestic-work"). */
int proto_word_value(const ProtobufCEnumDescriptor *d, const char *word);

/* The n-th value of `d` that has a code (n from 0), in the .proto file's numeric order, or
 * 0 past the last: for listing an enum's words. */
int proto_nth_value(const ProtobufCEnumDescriptor *d, size_t n);

#endif
