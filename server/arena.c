#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_BYTES 8192
#define ARENA_ALIGN       16

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	size_t used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

static void *arena_pb_alloc(void *data, size_t size)
{
	return arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr; /* released with the arena */
}

void arena_init(struct arena *a, size_t cap)
{
	a->chunks = NULL;
	a->used = 0;
	a->cap = cap;
	a->refused = false;
	a->allocator.alloc = arena_pb_alloc;
	a->allocator.free = arena_pb_free;
	a->allocator.allocator_data = a;
}

void arena_raise_cap(struct arena *a, size_t cap)
{
	if (cap > a->cap)
		a->cap = cap;
}

void *arena_alloc(struct arena *a, size_t size)
{
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need < size)
		return NULL;
	struct arena_chunk *c = a->chunks;
	if (c == NULL || c->size - c->used < need) {
		size_t chunk_size = need > ARENA_CHUNK_BYTES ? need : ARENA_CHUNK_BYTES;
		if (a->used + sizeof(*c) + chunk_size > a->cap) {
			a->refused = true;
			return NULL;
		}
		c = malloc(sizeof(*c) + chunk_size);
		if (c == NULL)
			return NULL;
		c->next = a->chunks;
		c->size = chunk_size;
		c->used = 0;
		a->chunks = c;
		a->used += sizeof(*c) + chunk_size;
	}
	void *p = c->data + c->used;
	c->used += need;
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	size_t len = strlen(s);
	char *copy = arena_alloc(a, len + 1);
	if (copy != NULL)
		memcpy(copy, s, len + 1);
	return copy;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = arena_alloc(a, (size_t)n + 1);
	if (s == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

struct arena_mark arena_mark(const struct arena *a)
{
	return (struct arena_mark){
	    .chunk = a->chunks,
	    .chunk_used = a->chunks != NULL ? a->chunks->used : 0,
	    .used = a->used,
	};
}

void arena_rewind(struct arena *a, struct arena_mark m)
{
	while (a->chunks != m.chunk) {
		struct arena_chunk *c = a->chunks;
		a->chunks = c->next;
		explicit_bzero(c->data, c->used);
		free(c);
	}
	if (m.chunk != NULL) {
		explicit_bzero(m.chunk->data + m.chunk_used, m.chunk->used - m.chunk_used);
		m.chunk->used = m.chunk_used;
	}
	a->used = m.used;
}

void arena_release(struct arena *a)
{
	struct arena_chunk *c = a->chunks;
	while (c != NULL) {
		struct arena_chunk *next = c->next;
		/* A request's arena holds what it carried: passwords, decrypted identities. */
		explicit_bzero(c->data, c->used);
		free(c);
		c = next;
	}
	a->chunks = NULL;
	a->used = 0;
}
