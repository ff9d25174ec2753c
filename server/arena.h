/* A per-request arena: protobuf-c unpacks the request into it and handlers build the
 * response in it; everything is released at once when the request ends. Its cap bounds
 * what one frame can cost the server. */
#ifndef TULAYD_ARENA_H
#define TULAYD_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *chunks;
	size_t used; /* bytes handed out plus chunk overhead, checked against cap */
	size_t cap;
	bool refused;                 /* an allocation was refused because of the cap */
	ProtobufCAllocator allocator; /* for protobuf-c: allocates from this arena */
};

/* Prepares an empty arena that will refuse to grow past `cap` bytes. */
void arena_init(struct arena *a, size_t cap);

/* Lets the arena grow to `cap` bytes if that is more than it may now: for a handler that
 * learns from the database how much its answer needs (within its own bound). */
void arena_raise_cap(struct arena *a, size_t cap);

/* Returns `size` bytes aligned for any type, or NULL when the cap or memory is exhausted.
 * The memory lives until arena_release(). */
void *arena_alloc(struct arena *a, size_t size) __attribute__((warn_unused_result));

/* Returns a copy of the string in the arena, or NULL. */
char *arena_strdup(struct arena *a, const char *s) __attribute__((warn_unused_result));

/* Formats into a new arena string, or returns NULL. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A position in the arena, to give back what was allocated after it: a handler that
 * answers in parts (a response stream) builds each part after a mark and rewinds to it
 * once the part is sent, so that the arena holds one part at a time. */
struct arena_mark {
	struct arena_chunk *chunk;
	size_t chunk_used, used;
};
struct arena_mark arena_mark(const struct arena *a);
/* Wipes and frees what was allocated after `m` (taken from this arena, not rewound past). */
void arena_rewind(struct arena *a, struct arena_mark m);

/* Wipes and frees every chunk. The arena may be used again afterwards. */
void arena_release(struct arena *a);

#endif
