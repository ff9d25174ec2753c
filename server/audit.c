#include "audit.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>

#define AUDIT_HASH_BYTES crypto_hash_sha256_BYTES

/* Appends "length:value;" (length in bytes) of one field to the running hash, exactly as
 * audit_payload() in migrations/0002_security.sql builds it. */
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
		"\n"
		"Recomputes the audit log's hash chain from its first entry and compares every\n"
		"link and the recorded head. Reports the first broken link: an entry edited,\n"
		"deleted, reordered, or the log truncated. Exit 0 when intact, 1 when broken.\n"
		"Connect as the database owner (--db, TULAY_DB): tulayd's own role cannot read\n"
		"the log. Keep the printed head hash somewhere outside the database: comparing it\n"
		"later also detects a rewritten head.\n");
}

int audit_command(const struct config *cfg, int argc, char **argv)
{
	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 1 || strcmp(argv[0], "verify") != 0) {
		usage(stderr);
		return 64;
	}
	if (sodium_init() < 0)
		return 1;
	PGconn *pg = PQconnectdb(cfg->db);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "tulayd audit: cannot connect to the database: %s",
			PQerrorMessage(pg));
		PQfinish(pg);
		return 1;
	}
	int rc = 1;
	/* Lengths are counted in bytes of UTF-8, as audit_payload() does in the database. */
	if (PQsetClientEncoding(pg, "UTF8") != 0) {
		fprintf(stderr, "tulayd audit: cannot use UTF-8: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return 1;
	}
	PGresult *head = PQexec(pg, "SELECT seq, hash FROM audit_head");
	if (PQresultStatus(head) != PGRES_TUPLES_OK || PQntuples(head) != 1) {
		fprintf(stderr,
			"tulayd audit: cannot read the audit head (connect as the owner): %s",
			PQresultErrorMessage(head));
		PQclear(head);
		PQfinish(pg);
		return 1;
	}
	long long head_seq = strtoll(PQgetvalue(head, 0, 0), NULL, 10);
	uint8_t head_hash[AUDIT_HASH_BYTES];
	bool head_ok = hex_to_hash(PQgetvalue(head, 0, 1), head_hash);
	PQclear(head);

	/* One row at a time: the log can be long. */
	if (!PQsendQuery(pg, "SELECT seq, ((extract(epoch FROM at) * 1000000)::bigint)::text, "
			     "coalesce(org_id::text, ''), coalesce(user_id::text, ''), action, "
			     "target, detail, hash FROM audit_log ORDER BY seq") ||
	    !PQsetSingleRowMode(pg)) {
		fprintf(stderr, "tulayd audit: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return 1;
	}
	uint8_t prev[AUDIT_HASH_BYTES] = {0};
	long long expect_seq = 1;
	char broken[512] = "";
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
				    broken, sizeof(broken),
				    "entry %lld is missing (the next present is %lld): deleted",
				    expect_seq, seq);
			else if (!hex_to_hash(PQgetvalue(r, 0, 7), stored) ||
				 sodium_memcmp(stored, computed, sizeof(stored)) != 0)
				snprintf(
				    broken, sizeof(broken),
				    "entry %lld does not match its hash: edited, or moved from "
				    "another position",
				    seq);
			memcpy(prev, computed, sizeof(prev));
			expect_seq = seq + 1;
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
			snprintf(broken, sizeof(broken), "cannot read the log: %s",
				 PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	long long last = expect_seq - 1;
	if (broken[0] == '\0') {
		if (!head_ok || head_seq != last)
			snprintf(broken, sizeof(broken),
				 "the head records %lld entries but the log ends at %lld: %s",
				 head_seq, last,
				 head_seq > last ? "entries were removed from the end"
						 : "the head was rewound");
		else if (last > 0 && sodium_memcmp(head_hash, prev, sizeof(prev)) != 0)
			snprintf(broken, sizeof(broken),
				 "the last entry (%lld) does not match the head's hash", last);
	}
	if (broken[0] != '\0') {
		printf("audit log BROKEN: %s\n", broken);
	} else {
		char hex[AUDIT_HASH_BYTES * 2 + 1];
		sodium_bin2hex(hex, sizeof(hex), prev, sizeof(prev));
		printf("audit log intact: %lld entries, head hash %s\n", last, hex);
		rc = 0;
	}
	PQfinish(pg);
	return rc;
}
