/* Strangers: connections that have never logged in (issue 14). Slots a stranger cannot
 * take from the users.
 *
 * Every connection is a stranger from accept until its first successful Login or
 * Authenticate. Strangers are counted per client address (an IPv4 address, an IPv6 /64:
 * struct throttle_addr) and in total, each against a cap. Past a cap, a silent stranger
 * (one that has sent nothing, as a client that never says Hello) makes room:
 *  - a newcomer that has spoken already (its Hello waits in the socket) takes the place of
 *    the oldest silent stranger of its address (or of all, for the total);
 *  - a newcomer that has said nothing yet takes the place only of one silent for
 *    STRANGERS_QUIET_MS, else it is closed itself, as is any newcomer when nobody is
 *    silent (strangers that are logging in keep their slots).
 * Refusing every newcomer instead would let whoever came first keep the slots until the
 * login deadline (30 s), and a flood that reconnects at once keep out everyone after it;
 * letting every newcomer replace the oldest would let such a flood churn through the slots
 * faster than a real client says Hello. A client closed before its Hello was answered
 * connects again (libtulay does, with backoff). At max_connections the same makes room: a
 * user who has logged in is never closed for a stranger.
 *
 * Each address keeps its strangers in a list, oldest first, and all strangers are in one
 * list too: adding, removing and finding a victim are O(1) but for the scan for a silent
 * one, which stops after STRANGERS_SCAN entries. Addresses are found through a hash table
 * keyed with a random key (SipHash), so that clients cannot aim many addresses at one
 * bucket. */
#ifndef TULAYD_STRANGERS_H
#define TULAYD_STRANGERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "throttle.h"

/* How many of the oldest strangers are looked at for a silent one. */
#define STRANGERS_SCAN 64
/* A newcomer that has said nothing yet takes the place only of a stranger silent this
 * long; a newcomer that has spoken takes the place of any silent one. */
#define STRANGERS_QUIET_MS 1000

struct conn;
struct stranger_addr;

/* A connection's place among the strangers (in struct conn). */
struct stranger_link {
	struct conn *prev, *next;           /* all strangers, oldest first */
	struct conn *addr_prev, *addr_next; /* its address's strangers, oldest first */
	struct stranger_addr *addr;         /* NULL: not a stranger (any more) */
};

struct strangers {
	struct stranger_addr **buckets;
	size_t mask; /* buckets - 1: a power of two */
	uint8_t hash_key[16];
	struct conn *oldest, *newest;
	unsigned count;
	unsigned per_address, total; /* the caps */
	uint64_t closed;             /* strangers closed since the last warning (conn.c) */
	uint64_t warned_ms;
};

/* Sets up the table for caps `per_address` and `total`. Returns 0, or -1 (out of memory). */
int strangers_init(struct strangers *s, unsigned per_address, unsigned total)
    __attribute__((warn_unused_result));

void strangers_free(struct strangers *s);

/* Counts c, just accepted, as a stranger from `addr`. Returns 0, or -1 (out of memory: c
 * is not counted, and should be closed). */
int strangers_add(struct strangers *s, struct conn *c, const struct throttle_addr *addr)
    __attribute__((warn_unused_result));

/* c is no stranger any more: logged in, or closed (idempotent). */
void strangers_remove(struct strangers *s, struct conn *c);

/* The stranger to close now that c (a stranger just added) has come, or NULL when no cap
 * is passed; *reason says which cap. `conns_full`: the server has more connections than it
 * serves. May return c itself: then c is the one to close (nobody silent long enough to
 * make room for a newcomer that has said nothing either, or nobody silent at all). Call
 * again after closing the one returned, until NULL. */
struct conn *strangers_victim(struct strangers *s, struct conn *c, bool conns_full, uint64_t now_ms,
			      const char **reason);

#endif
