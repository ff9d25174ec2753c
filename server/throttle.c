#include "throttle.h"

#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sodium.h>

/* Counters per set: a key is looked for in one set only. */
#define THROTTLE_WAYS 8
/* Counters per table: 2^13 entries of 24 bytes, about 200 KiB each. */
#define LOGIN_THROTTLE_ENTRIES   8192
#define LOGIN_THROTTLE_WINDOW_MS 60000

struct throttle_entry {
	uint64_t key; /* 0: free */
	uint64_t window_start_ms;
	uint32_t count;
};

int throttle_init(struct throttle *t, size_t entries, uint64_t window_ms)
{
	memset(t, 0, sizeof(*t));
	if (entries < THROTTLE_WAYS || (entries & (entries - 1)) != 0)
		return -1;
	t->entries = calloc(entries, sizeof(*t->entries));
	if (t->entries == NULL)
		return -1;
	t->mask = entries - 1;
	t->window_ms = window_ms;
	randombytes_buf(t->hash_key, sizeof(t->hash_key));
	return 0;
}

void throttle_free(struct throttle *t)
{
	free(t->entries);
	t->entries = NULL;
}

static uint64_t throttle_hash(const struct throttle *t, const void *key, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];
	crypto_shorthash(out, key, len, t->hash_key);
	uint64_t h;
	memcpy(&h, out, sizeof(h));
	return h != 0 ? h : 1; /* 0 marks a free entry */
}

static struct throttle_entry *throttle_set(const struct throttle *t, uint64_t h)
{
	return &t->entries[(size_t)h & t->mask & ~(size_t)(THROTTLE_WAYS - 1)];
}

/* The attempts an entry holds at `now_ms`: none once its window has passed. */
static uint32_t throttle_count(const struct throttle *t, const struct throttle_entry *e,
			       uint64_t now_ms)
{
	if (e->key == 0 || now_ms - e->window_start_ms >= t->window_ms)
		return 0;
	return e->count;
}

static struct throttle_entry *throttle_find(const struct throttle *t, uint64_t h)
{
	struct throttle_entry *set = throttle_set(t, h);
	for (size_t i = 0; i < THROTTLE_WAYS; i++) {
		if (set[i].key == h)
			return &set[i];
	}
	return NULL;
}

bool throttle_over(const struct throttle *t, const void *key, size_t len, unsigned limit,
		   uint64_t now_ms)
{
	const struct throttle_entry *e = throttle_find(t, throttle_hash(t, key, len));
	return e != NULL && throttle_count(t, e, now_ms) >= limit;
}

void throttle_add(struct throttle *t, const void *key, size_t len, uint64_t now_ms)
{
	uint64_t h = throttle_hash(t, key, len);
	struct throttle_entry *e = throttle_find(t, h);
	if (e == NULL) {
		/* The entry with the fewest attempts (a free or expired one has none) makes
		 * room. */
		struct throttle_entry *set = throttle_set(t, h);
		e = &set[0];
		for (size_t i = 1; i < THROTTLE_WAYS; i++) {
			if (throttle_count(t, &set[i], now_ms) < throttle_count(t, e, now_ms))
				e = &set[i];
		}
		e->key = h;
		e->count = 0;
		e->window_start_ms = now_ms;
	}
	if (throttle_count(t, e, now_ms) == 0) {
		e->count = 0;
		e->window_start_ms = now_ms;
	}
	if (e->count < UINT32_MAX)
		e->count++;
}

void throttle_remove(struct throttle *t, const void *key, size_t len, uint64_t now_ms)
{
	struct throttle_entry *e = throttle_find(t, throttle_hash(t, key, len));
	if (e != NULL && throttle_count(t, e, now_ms) > 0)
		e->count--;
}

void throttle_reset(struct throttle *t, const void *key, size_t len)
{
	struct throttle_entry *e = throttle_find(t, throttle_hash(t, key, len));
	if (e != NULL)
		e->key = 0;
}

void throttle_addr_from(const struct sockaddr *sa, struct throttle_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		out->len = 4;
		memcpy(out->bytes, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			out->len = 4;
			memcpy(out->bytes, &in6->sin6_addr.s6_addr[12], 4);
		} else {
			out->len = 8;
			memcpy(out->bytes, in6->sin6_addr.s6_addr, 8);
		}
	}
}

int login_throttle_init(struct login_throttle *lt, unsigned per_user, unsigned per_addr)
{
	lt->per_user = per_user;
	lt->per_addr = per_addr;
	if (throttle_init(&lt->users, LOGIN_THROTTLE_ENTRIES, LOGIN_THROTTLE_WINDOW_MS) != 0)
		return -1;
	if (throttle_init(&lt->addrs, LOGIN_THROTTLE_ENTRIES, LOGIN_THROTTLE_WINDOW_MS) != 0) {
		throttle_free(&lt->users);
		return -1;
	}
	return 0;
}

void login_throttle_free(struct login_throttle *lt)
{
	throttle_free(&lt->users);
	throttle_free(&lt->addrs);
}

enum login_verdict login_throttle_begin(struct login_throttle *lt, const char *username,
					const struct throttle_addr *addr, uint64_t now_ms)
{
	size_t ulen = strlen(username);
	if (throttle_over(&lt->users, username, ulen, lt->per_user, now_ms))
		return LOGIN_THROTTLED_USER;
	if (addr->len > 0 &&
	    throttle_over(&lt->addrs, addr->bytes, addr->len, lt->per_addr, now_ms))
		return LOGIN_THROTTLED_ADDRESS;
	throttle_add(&lt->users, username, ulen, now_ms);
	if (addr->len > 0)
		throttle_add(&lt->addrs, addr->bytes, addr->len, now_ms);
	return LOGIN_ALLOWED;
}

void login_throttle_succeeded(struct login_throttle *lt, const char *username,
			      const struct throttle_addr *addr, uint64_t now_ms)
{
	throttle_reset(&lt->users, username, strlen(username));
	if (addr->len > 0)
		throttle_remove(&lt->addrs, addr->bytes, addr->len, now_ms);
}
