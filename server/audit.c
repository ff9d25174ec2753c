#include "audit.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "admin.h"

#define AUDIT_HASH_BYTES crypto_hash_sha256_BYTES

/* Appends "length:value;" (length in bytes) of one field to the running hash, exactly as
 * audit_payload() and audit_block_payload() build it in the database. */
static void payload_field(crypto_hash_sha256_state *h, const char *value)
{
	char prefix[24];
	int n = snprintf(prefix, sizeof(prefix), "%zu:", strlen(value));
	crypto_hash_sha256_update(h, (const uint8_t *)prefix, (unsigned long long)n);
	crypto_hash_sha256_update(h, (const uint8_t *)value, strlen(value));
	crypto_hash_sha256_update(h, (const uint8_t *)";", 1);
}

static bool hex_to_hash(const char *hex, uint8_t out[AUDIT_HASH_BYTES])
{
	/* bytea in hex output: \x followed by 64 hex digits */
	size_t len;
	return strncmp(hex, "\\x", 2) == 0 &&
	       sodium_hex2bin(out, AUDIT_HASH_BYTES, hex + 2, strlen(hex + 2), NULL, &len, NULL) ==
		   0 &&
	       len == AUDIT_HASH_BYTES;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tulayd audit verify [SETTINGS]\n"
		"       tulayd audit seal [SETTINGS]\n"
		"\n"
		"Requests append audit entries without waiting for one another; tulayd seals the\n"
		"entries of committed transactions into a hash chain in the background, in the\n"
		"order they committed, a block at a time (--audit-seal-ms, 200 ms by default).\n"
		"\n"
		"verify  recomputes the chain of sealed entries from the first and the chain of\n"
		"        blocks that seal them; reports the first broken link (an entry edited,\n"
		"        deleted, reordered, or the log truncated) and how many entries are not\n"
		"        sealed yet. Exit 0 when intact, 1 when broken, 69 when the database\n"
		"        cannot be reached, 70 when it answers with an error (no tulay schema?).\n"
		"seal    seals every entry whose transaction has ended now, as tulayd would\n"
		"        (waits while a tulayd is sealing). Exit 0 when done.\n"
		"\n"
		"Connect as the database owner (--db, TULAY_DB): tulayd's own role cannot read\n"
		"the log. Without --db, the cluster scripts/run.sh made is used, as its owner.\n"
		"Keep the printed head hash somewhere outside the database: comparing it\n"
		"later also detects a log rewritten from that point on.\n");
}

/* Runs one statement expected to answer rows; prints the error and returns NULL else. */
static PGresult *query(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "tulayd audit: %s", PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
	return r;
}

/* Pass 1: the sealed entries in order, each checked against its own hash and, where it
 * ends a block, against the block's. Leaves the last sequence number and hash in
 * *last_seq / last, and how many block ends it met in *ends. */
static void verify_entries(PGconn *pg, char *broken, size_t blen, bool *unreadable,
			   long long *last_seq, uint8_t last[AUDIT_HASH_BYTES], long long *ends)
{
	/* One row at a time: the log can be long. */
	if (!PQsendQuery(pg, "SELECT a.seq, ((extract(epoch FROM a.at) * 1000000)::bigint)::text, "
			     "coalesce(a.org_id::text, ''), coalesce(a.user_id::text, ''), "
			     "a.action, a.target, a.detail, a.hash, b.block, b.last_hash "
			     "FROM audit_log a LEFT JOIN audit_blocks b "
			     "ON b.last_seq = a.seq AND b.last_seq >= b.first_seq "
			     "WHERE a.seq IS NOT NULL ORDER BY a.seq") ||
	    !PQsetSingleRowMode(pg)) {
		*unreadable = true;
		snprintf(broken, blen, "cannot read the log: %s", PQerrorMessage(pg));
		return;
	}
	uint8_t prev[AUDIT_HASH_BYTES] = {0};
	long long expect_seq = 1;
	PGresult *r;
	while ((r = PQgetResult(pg)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_SINGLE_TUPLE && broken[0] == '\0') {
			long long seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
			uint8_t stored[AUDIT_HASH_BYTES], computed[AUDIT_HASH_BYTES];
			crypto_hash_sha256_state h;
			crypto_hash_sha256_init(&h);
			crypto_hash_sha256_update(&h, prev, sizeof(prev));
			for (int col = 0; col < 7; col++)
				payload_field(&h, PQgetvalue(r, 0, col));
			crypto_hash_sha256_final(&h, computed);
			if (seq != expect_seq)
				snprintf(
				    broken, blen,
				    "entry %lld is missing (the next present is %lld): deleted",
				    expect_seq, seq);
			else if (!hex_to_hash(PQgetvalue(r, 0, 7), stored) ||
				 sodium_memcmp(stored, computed, sizeof(stored)) != 0)
				snprintf(
				    broken, blen,
				    "entry %lld does not match its hash: edited, or moved from "
				    "another position",
				    seq);
			else if (!PQgetisnull(r, 0, 8)) {
				(*ends)++;
				if (!hex_to_hash(PQgetvalue(r, 0, 9), stored) ||
				    sodium_memcmp(stored, computed, sizeof(stored)) != 0)
					snprintf(
					    broken, blen,
					    "block %s does not seal entry %lld as it is now: the "
					    "entry or the block was rewritten",
					    PQgetvalue(r, 0, 8), seq);
			}
			memcpy(prev, computed, sizeof(prev));
			expect_seq = seq + 1;
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
			*unreadable = true;
			snprintf(broken, blen, "cannot read the log: %s", PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	*last_seq = expect_seq - 1;
	memcpy(last, prev, AUDIT_HASH_BYTES);
}

/* Pass 2: the blocks, each linked to the one before and covering the entries right after
 * it. Leaves the count, the last block's last entry and its hash. */
static void verify_blocks(PGconn *pg, char *broken, size_t blen, bool *unreadable,
			  long long *nblocks, long long *sealed_to, long long *nonempty,
			  uint8_t head[AUDIT_HASH_BYTES])
{
	if (!PQsendQuery(pg, "SELECT block, first_seq, last_seq, last_hash, prev_hash, hash, "
			     "((extract(epoch FROM sealed_at) * 1000000)::bigint)::text "
			     "FROM audit_blocks ORDER BY block") ||
	    !PQsetSingleRowMode(pg)) {
		*unreadable = true;
		snprintf(broken, blen, "cannot read the blocks: %s", PQerrorMessage(pg));
		return;
	}
	uint8_t prev_hash[AUDIT_HASH_BYTES] = {0}, prev_last[AUDIT_HASH_BYTES] = {0};
	long long expect_block = 0, expect_first = 1;
	PGresult *r;
	while ((r = PQgetResult(pg)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_SINGLE_TUPLE && broken[0] == '\0') {
			long long block = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
			long long first = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
			long long last = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
			uint8_t last_hash[AUDIT_HASH_BYTES], link[AUDIT_HASH_BYTES];
			uint8_t stored[AUDIT_HASH_BYTES], computed[AUDIT_HASH_BYTES];
			bool parsed = hex_to_hash(PQgetvalue(r, 0, 3), last_hash) &&
				      hex_to_hash(PQgetvalue(r, 0, 4), link) &&
				      hex_to_hash(PQgetvalue(r, 0, 5), stored);
			crypto_hash_sha256_state h;
			crypto_hash_sha256_init(&h);
			crypto_hash_sha256_update(&h, link, sizeof(link));
			for (int col = 0; col < 3; col++)
				payload_field(&h, PQgetvalue(r, 0, col));
			payload_field(&h, PQgetvalue(r, 0, 6));
			crypto_hash_sha256_update(&h, last_hash, sizeof(last_hash));
			crypto_hash_sha256_final(&h, computed);
			if (block != expect_block)
				snprintf(broken, blen, "block %lld is missing: deleted",
					 expect_block);
			else if (!parsed || sodium_memcmp(stored, computed, sizeof(stored)) != 0)
				snprintf(broken, blen, "block %lld does not match its hash: edited",
					 block);
			else if (sodium_memcmp(link, prev_hash, sizeof(link)) != 0)
				snprintf(broken, blen,
					 "block %lld does not link to block %lld: the blocks were "
					 "rewritten",
					 block, block - 1);
			else if (first != expect_first || last < first - 1)
				snprintf(
				    broken, blen,
				    "block %lld seals entries %lld to %lld, expected from %lld",
				    block, first, last, expect_first);
			else if (last < first &&
				 sodium_memcmp(last_hash, prev_last, sizeof(last_hash)) != 0)
				snprintf(broken, blen,
					 "empty block %lld does not repeat its "
					 "predecessor's last entry hash",
					 block);
			if (last >= first)
				(*nonempty)++;
			memcpy(prev_hash, stored, sizeof(prev_hash));
			memcpy(prev_last, last_hash, sizeof(prev_last));
			expect_block = block + 1;
			expect_first = last + 1;
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
			*unreadable = true;
			snprintf(broken, blen, "cannot read the blocks: %s",
				 PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	*nblocks = expect_block;
	*sealed_to = expect_first - 1;
	memcpy(head, prev_hash, AUDIT_HASH_BYTES);
}

static int audit_verify(PGconn *pg)
{
	char broken[512] = "";
	long long last_seq = 0, ends = 0, nblocks = 0, sealed_to = 0, nonempty = 0;
	uint8_t last_entry[AUDIT_HASH_BYTES], head[AUDIT_HASH_BYTES];
	bool unreadable = false;
	verify_entries(pg, broken, sizeof(broken), &unreadable, &last_seq, last_entry, &ends);
	if (broken[0] == '\0')
		verify_blocks(pg, broken, sizeof(broken), &unreadable, &nblocks, &sealed_to,
			      &nonempty, head);
	if (unreadable) {
		fprintf(stderr, "tulayd audit: %s", broken);
		return EXIT_DB_ERROR;
	}
	if (broken[0] == '\0') {
		if (nblocks == 0)
			snprintf(broken, sizeof(broken),
				 "there are no blocks: the genesis block "
				 "was deleted");
		else if (sealed_to > last_seq)
			snprintf(broken, sizeof(broken),
				 "the blocks seal %lld entries but the log ends at %lld: entries "
				 "were removed from the end",
				 sealed_to, last_seq);
		else if (sealed_to < last_seq)
			snprintf(broken, sizeof(broken),
				 "entries %lld to %lld are numbered but in no block: forged",
				 sealed_to + 1, last_seq);
		else if (ends != nonempty)
			snprintf(broken, sizeof(broken),
				 "%lld blocks seal entries but only %lld of them end at an entry",
				 nonempty, ends);
	}
	if (broken[0] != '\0') {
		printf("audit log BROKEN: %s\n", broken);
		return 1;
	}
	PGresult *tail = query(pg, "SELECT count(*), coalesce((extract(epoch FROM "
				   "clock_timestamp() - min(at)) * 1000)::bigint, 0) "
				   "FROM audit_log WHERE seq IS NULL");
	if (tail == NULL)
		return EXIT_DB_ERROR;
	char hex[AUDIT_HASH_BYTES * 2 + 1];
	sodium_bin2hex(hex, sizeof(hex), head, sizeof(head));
	printf("audit log intact: %lld entries sealed in %lld blocks, %s unsealed (oldest %s ms), "
	       "head hash %s\n",
	       last_seq, nblocks, PQgetvalue(tail, 0, 0), PQgetvalue(tail, 0, 1), hex);
	PQclear(tail);
	return 0;
}

static int audit_seal_now(PGconn *pg)
{
	long long sealed = 0, blocks = 0;
	/* Another sealer holding the lock seals the same rows: wait for it (10 s at most). */
	for (int waits = 0; waits < 200;) {
		PGresult *r = query(pg, "SELECT audit_seal(50000)");
		if (r == NULL)
			return 1;
		long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		if (n == 0)
			break;
		if (n < 0) {
			waits++;
			nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
			continue;
		}
		sealed += n;
		blocks++;
	}
	PGresult *tail = query(pg, "SELECT count(*) FROM audit_log WHERE seq IS NULL");
	if (tail == NULL)
		return 1;
	printf("sealed %lld entries in %lld blocks; %s unsealed (their transactions are still "
	       "running)\n",
	       sealed, blocks, PQgetvalue(tail, 0, 0));
	PQclear(tail);
	return 0;
}

int audit_command(const struct config *cfg, int argc, char **argv)
{
	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	bool verify = argc == 1 && strcmp(argv[0], "verify") == 0;
	bool seal = argc == 1 && strcmp(argv[0], "seal") == 0;
	if (!verify && !seal) {
		usage(stderr);
		return 64;
	}
	if (sodium_init() < 0)
		return 1;
	PGconn *pg = admin_connect(cfg);
	if (pg == NULL)
		return EXIT_NO_DATABASE;
	/* Lengths are counted in bytes of UTF-8, as audit_payload() does in the database. */
	if (PQsetClientEncoding(pg, "UTF8") != 0) {
		fprintf(stderr, "tulayd audit: cannot use UTF-8: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return 1;
	}
	int rc;
	if (verify) {
		/* One snapshot for the entries, the blocks and the tail: the sealer may commit a
		 * block meanwhile, and two snapshots would see its entries but not its block. */
		PGresult *begin = PQexec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
		bool begun = PQresultStatus(begin) == PGRES_COMMAND_OK;
		if (!begun)
			fprintf(stderr, "tulayd audit: %s", PQresultErrorMessage(begin));
		PQclear(begin);
		rc = begun ? audit_verify(pg) : EXIT_DB_ERROR;
	} else {
		rc = audit_seal_now(pg);
	}
	PQfinish(pg);
	return rc;
}
