/* The vault: encryption of personal data (a worker's name, passport or ID number, phone)
 * inside tulayd, so that PostgreSQL only ever holds ciphertext.
 *
 * One 32-byte master key, read at start from a file outside the database (mode 0600),
 * gives four subkeys (libsodium's KDF): one for XChaCha20-Poly1305 encryption, one for
 * blind indexes (keyed hashes for exact lookup), one for keyed request hashes, one for
 * the cell keys of report perturbation. Every
 * ciphertext's associated data binds organisation, table, column and row, so a ciphertext
 * copied elsewhere fails to decrypt. Plaintext is never logged. */
#ifndef TULAYD_VAULT_H
#define TULAYD_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "arena.h"

#define VAULT_KEY_HEX_CHARS 64
#define VAULT_INDEX_BYTES   32
#define VAULT_CHECK_BYTES   32

/* Where a sealed value lives: the associated data of its ciphertext. */
struct vault_place {
	int64_t org_id;
	const char *table;
	const char *column;
	const uint8_t *row; /* the row's stable identity (a case's idempotency key) */
	size_t row_len;
};

/* Reads the master key (64 hexadecimal digits, optionally followed by a newline) from
 * `path`, refusing a file that others may read. Blocking; call before the loop. Returns 0,
 * or -1 with a sentence naming the file and the fix in err. */
int vault_load(const char *path, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Creates a new key file at `path` (it must not exist) with mode 0600. Returns 0, or -1
 * with the reason in err. */
int vault_create_key_file(const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The key's check value: a subkey used for nothing else, which the database keeps
 * (data_key_check) so that tulayd can tell a wrong key from the right one. */
void vault_key_check(uint8_t out[VAULT_CHECK_BYTES]);

/* The public half of the key pair queued writes are sealed to (HelloReply), 32 bytes. */
const uint8_t *vault_sealing_public_key(void);

/* Opens what a client sealed to that key (crypto_box_seal) into the arena; stores its
 * length in *out_len. NULL when it was sealed to another key, altered, or too short, or
 * memory ran out. */
uint8_t *vault_unseal(struct arena *a, const uint8_t *sealed, size_t len, size_t *out_len)
    __attribute__((warn_unused_result));

/* Encrypts `plaintext` for `place` into the arena: nonce || ciphertext || tag. Returns
 * the bytes and stores their length in *len, or NULL when out of arena memory. */
uint8_t *vault_seal(struct arena *a, const char *plaintext, const struct vault_place *place,
		    size_t *len) __attribute__((warn_unused_result));

/* Decrypts what vault_seal made for the same place into a NUL-terminated arena string.
 * Returns NULL if the bytes were altered, belong to another place, or memory ran out. */
char *vault_open(struct arena *a, const uint8_t *sealed, size_t len,
		 const struct vault_place *place) __attribute__((warn_unused_result));

/* The blind index of an ID number within an organisation: a keyed hash of its normalised
 * form (upper case, without spaces, '-', '.' and '/'), so "ab 123-456" finds "AB123456". */
void vault_index(int64_t org_id, const char *id_number, uint8_t out[VAULT_INDEX_BYTES]);

/* Hashes a password for storage (argon2id, libsodium's string format, which records its
 * cost so that verifying needs no setting): at `cost` 1 interactive, 2 moderate, 0 the
 * minimum (tests only; see config.c). False when out of memory. */
bool vault_password_hash(char out[crypto_pwhash_STRBYTES], const char *password, unsigned cost)
    __attribute__((warn_unused_result));

/* True when `hash` was not made at `cost` (an older setting, or not a hash we know): a
 * login that verifies it stores the password hashed again at the current cost. */
bool vault_password_needs_rehash(const char *hash, unsigned cost);

/* A request's fingerprint, stored with what it created so that a retry is recognised and
 * a reused idempotency key with other content refused: a keyed hash (the deployment's
 * request key: unlike a plain hash it cannot be brute-forced back to low-entropy personal
 * data) of `parts`, each with its terminating NUL (no part holds one), in order. */
void vault_fingerprint(const char *const *parts, size_t n, uint8_t *out, size_t out_len);

/* The same in steps, for requests with lists: start, add parts, then
 * crypto_generichash_final(state, out, out_len). */
void vault_fingerprint_start(crypto_generichash_state *state, size_t out_len);
void vault_fingerprint_add(crypto_generichash_state *state, const char *const *parts, size_t n);

/* The key of report cell-key perturbation (crypto_generichash_KEYBYTES bytes): the same
 * on every tulayd of a deployment, so that the same cases always get the same noise,
 * and unknown to anyone who could otherwise compute the noise away. */
const uint8_t *vault_cell_key(void);

#endif
