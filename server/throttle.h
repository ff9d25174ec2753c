/* Login throttling: counts login attempts per username and per client address, in memory,
 * per tulayd process.
 *
 * A `struct throttle` is a fixed-size, 8-way set-associative table of counters keyed by a
 * keyed hash (SipHash with a random key, so a client cannot aim many names at one set).
 * Each counter covers a window that starts with its first attempt and lasts a minute; a
 * counter whose window has passed counts as zero and its slot is free for reuse. When a
 * set is full, the counter with the fewest attempts is replaced: someone hammering one
 * account keeps its counter. Every operation touches one set: O(1), and the memory is
 * fixed at start. */
#ifndef TULAYD_THROTTLE_H
#define TULAYD_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

/* What a client address counts as: an IPv4 address, or the /64 prefix of an IPv6 address
 * (one host usually has a whole /64). IPv4-mapped IPv6 addresses count as IPv4. */
struct throttle_addr {
	uint8_t len; /* 0: unknown */
	uint8_t bytes[8];
};

struct throttle_entry;

struct throttle {
	struct throttle_entry *entries;
	size_t mask; /* entries - 1; the number of entries is a power of two */
	uint64_t window_ms;
	uint8_t hash_key[16];
};

/* Sets up a table of `entries` counters (a power of two, at least 8) whose windows last
 * `window_ms`. Returns 0, or -1 when memory runs out. */
int throttle_init(struct throttle *t, size_t entries, uint64_t window_ms)
    __attribute__((warn_unused_result));

/* Frees the table (idempotent). */
void throttle_free(struct throttle *t);

/* True when `key` has `limit` or more attempts in its current window at `now_ms`. */
bool throttle_over(const struct throttle *t, const void *key, size_t len, unsigned limit,
		   uint64_t now_ms);

/* Counts one attempt for `key`, opening a window at `now_ms` if it has none. */
void throttle_add(struct throttle *t, const void *key, size_t len, uint64_t now_ms);

/* Takes back one attempt counted in the current window (none: nothing happens). */
void throttle_remove(struct throttle *t, const void *key, size_t len, uint64_t now_ms);

/* Forgets every attempt of `key`. */
void throttle_reset(struct throttle *t, const void *key, size_t len);

/* Fills *out from a socket address (len 0 for an unknown family). */
void throttle_addr_from(const struct sockaddr *sa, struct throttle_addr *out);

/* The login throttle of a tulayd process: one table for usernames, one for addresses. */
struct login_throttle {
	struct throttle users, addrs;
	unsigned per_user, per_addr; /* attempts per window */
};

enum login_verdict {
	LOGIN_ALLOWED,
	LOGIN_THROTTLED_USER,    /* the username has had too many attempts */
	LOGIN_THROTTLED_ADDRESS, /* the client's address has */
};

/* Sets up both tables with minute-long windows. Returns 0, or -1 when memory runs out. */
int login_throttle_init(struct login_throttle *lt, unsigned per_user, unsigned per_addr)
    __attribute__((warn_unused_result));

void login_throttle_free(struct login_throttle *lt);

/* Called before a Login's password is checked. When allowed, the attempt is counted against
 * both the username and the address at once, so that many attempts in flight together
 * cannot slip past the limit; it stays counted unless login_throttle_succeeded() is called.
 * When throttled nothing is counted, and the password must not be checked. */
enum login_verdict login_throttle_begin(struct login_throttle *lt, const char *username,
					const struct throttle_addr *addr, uint64_t now_ms)
    __attribute__((warn_unused_result));

/* The password was right: the username's attempts are forgotten, and this attempt is taken
 * back from the address (the address's earlier failures stay counted). */
void login_throttle_succeeded(struct login_throttle *lt, const char *username,
			      const struct throttle_addr *addr, uint64_t now_ms);

#endif
