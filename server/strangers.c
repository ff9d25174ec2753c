#include "strangers.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conn.h"

/* One address's strangers. */
struct stranger_addr {
	struct throttle_addr addr;
	unsigned count;
	struct conn *oldest, *newest;
	struct stranger_addr *next; /* in its bucket */
};

int strangers_init(struct strangers *s, unsigned per_address, unsigned total)
{
	memset(s, 0, sizeof(*s));
	size_t n = 64;
	while (n < (size_t)total * 2 && n < ((size_t)1 << 20))
		n *= 2;
	s->buckets = calloc(n, sizeof(*s->buckets));
	if (s->buckets == NULL)
		return -1;
	s->mask = n - 1;
	randombytes_buf(s->hash_key, sizeof(s->hash_key));
	s->per_address = per_address;
	s->total = total;
	return 0;
}

void strangers_free(struct strangers *s)
{
	if (s->buckets == NULL)
		return;
	for (size_t i = 0; i <= s->mask; i++) {
		for (struct stranger_addr *a = s->buckets[i], *next; a != NULL; a = next) {
			next = a->next;
			free(a);
		}
	}
	free(s->buckets);
	s->buckets = NULL;
}

static struct stranger_addr **bucket_of(const struct strangers *s, const struct throttle_addr *addr)
{
	uint8_t key[1 + sizeof(addr->bytes)] = {addr->len};
	memcpy(key + 1, addr->bytes, addr->len <= sizeof(addr->bytes) ? addr->len : 0);
	uint8_t out[crypto_shorthash_BYTES];
	crypto_shorthash(out, key, sizeof(key), s->hash_key);
	uint64_t h;
	memcpy(&h, out, sizeof(h));
	return &s->buckets[h & s->mask];
}

static bool same_addr(const struct throttle_addr *a, const struct throttle_addr *b)
{
	return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

int strangers_add(struct strangers *s, struct conn *c, const struct throttle_addr *addr)
{
	struct stranger_addr **bucket = bucket_of(s, addr), *a = *bucket;
	while (a != NULL && !same_addr(&a->addr, addr))
		a = a->next;
	if (a == NULL) {
		a = calloc(1, sizeof(*a));
		if (a == NULL)
			return -1;
		a->addr = *addr;
		a->next = *bucket;
		*bucket = a;
	}
	struct stranger_link *l = &c->stranger;
	l->addr = a;
	l->addr_prev = a->newest;
	l->addr_next = NULL;
	if (a->newest != NULL)
		a->newest->stranger.addr_next = c;
	else
		a->oldest = c;
	a->newest = c;
	a->count++;
	l->prev = s->newest;
	l->next = NULL;
	if (s->newest != NULL)
		s->newest->stranger.next = c;
	else
		s->oldest = c;
	s->newest = c;
	s->count++;
	return 0;
}

void strangers_remove(struct strangers *s, struct conn *c)
{
	struct stranger_link *l = &c->stranger;
	struct stranger_addr *a = l->addr;
	if (a == NULL)
		return;
	if (l->addr_prev != NULL)
		l->addr_prev->stranger.addr_next = l->addr_next;
	else
		a->oldest = l->addr_next;
	if (l->addr_next != NULL)
		l->addr_next->stranger.addr_prev = l->addr_prev;
	else
		a->newest = l->addr_prev;
	if (--a->count == 0) {
		struct stranger_addr **p = bucket_of(s, &a->addr);
		while (*p != a)
			p = &(*p)->next;
		*p = a->next;
		free(a);
	}
	if (l->prev != NULL)
		l->prev->stranger.next = l->next;
	else
		s->oldest = l->next;
	if (l->next != NULL)
		l->next->stranger.prev = l->prev;
	else
		s->newest = l->prev;
	s->count--;
	memset(l, 0, sizeof(*l));
}

/* Who goes to make room for c: the oldest silent stranger among the first STRANGERS_SCAN
 * from `first` on (following `by_addr`'s links or the list of all), other than c. A
 * newcomer that has said nothing itself only takes the place of one silent for
 * STRANGERS_QUIET_MS; else it goes itself. */
static struct conn *make_room(struct conn *c, struct conn *first, bool by_addr, uint64_t now_ms)
{
	struct conn *silent = NULL;
	struct conn *x = first;
	for (int i = 0; x != NULL && i < STRANGERS_SCAN; i++) {
		if (x != c && conn_silent(x)) {
			silent = x;
			break;
		}
		x = by_addr ? x->stranger.addr_next : x->stranger.next;
	}
	if (silent == NULL)
		return c;
	if (conn_silent(c) && now_ms - silent->opened_ms < STRANGERS_QUIET_MS)
		return c;
	return silent;
}

struct conn *strangers_victim(struct strangers *s, struct conn *c, bool conns_full, uint64_t now_ms,
			      const char **reason)
{
	const struct stranger_addr *a = c->stranger.addr;
	if (a != NULL && a->count > s->per_address) {
		*reason = "unauthenticated_per_address";
		return make_room(c, a->oldest, true, now_ms);
	}
	if (s->count > s->total) {
		*reason = "unauthenticated_total";
		return make_room(c, s->oldest, false, now_ms);
	}
	if (conns_full && s->oldest != NULL) {
		*reason = "max_connections";
		return make_room(c, s->oldest, false, now_ms);
	}
	return NULL;
}
