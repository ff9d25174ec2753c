#include "vault.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "log.h"

#define VAULT_CONTEXT "tulay-v1" /* libsodium KDF context: exactly 8 characters */

enum {
	SUBKEY_ENCRYPTION = 1,
	SUBKEY_INDEX = 2,
	SUBKEY_REQUEST_HASH = 3,
	SUBKEY_CELL = 4,
	SUBKEY_CHECK = 5,
	SUBKEY_SEALING = 6
};

struct vault_keys {
	uint8_t encryption[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t index[crypto_generichash_KEYBYTES];
	uint8_t request_hash[crypto_generichash_KEYBYTES];
	uint8_t cell[crypto_generichash_KEYBYTES];
	uint8_t check[VAULT_CHECK_BYTES];
	/* The key pair queued writes are sealed to (SealedRequest), from a seed subkey: every
	 * tulayd of a deployment has the same, and a restored key restores it. */
	uint8_t sealing_public[crypto_box_PUBLICKEYBYTES];
	uint8_t sealing_secret[crypto_box_SECRETKEYBYTES];
};

/* In libsodium's guarded allocation: locked in memory, left out of core dumps, with guard
 * pages around it. NULL until vault_load. */
static struct vault_keys *keys;

int vault_load(const char *path, char *err, size_t errlen)
{
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen,
			 "data_key_file is not set: tulayd needs the key that encrypts workers' "
			 "personal data. Create one with 'tulayd keygen FILE' and point "
			 "--data-key-file (TULAY_DATA_KEY_FILE) at it");
		return -1;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not be initialised");
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "data key file %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = -1;
	struct stat st;
	char text[VAULT_KEY_HEX_CHARS + 8];
	uint8_t master[crypto_kdf_KEYBYTES];
	ssize_t n = 0;
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "data key file %s: %s", path, strerror(errno));
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
			 "data key file %s may be read by other users (mode %03o): chmod 600 it",
			 path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0) {
		snprintf(err, errlen, "data key file %s: %s", path, strerror(errno));
		goto out;
	}
	text[n] = '\0';
	text[strcspn(text, "\r\n")] = '\0';
	size_t len = 0;
	if (strlen(text) != VAULT_KEY_HEX_CHARS ||
	    sodium_hex2bin(master, sizeof(master), text, strlen(text), NULL, &len, NULL) != 0 ||
	    len != sizeof(master)) {
		snprintf(err, errlen,
			 "data key file %s does not hold 64 hexadecimal digits (make one with "
			 "'tulayd keygen FILE')",
			 path);
		goto out;
	}
	if (keys == NULL && (keys = sodium_malloc(sizeof(*keys))) == NULL) {
		snprintf(err, errlen, "cannot allocate protected memory for the data key");
		goto out;
	}
	crypto_kdf_derive_from_key(keys->encryption, sizeof(keys->encryption), SUBKEY_ENCRYPTION,
				   VAULT_CONTEXT, master);
	crypto_kdf_derive_from_key(keys->index, sizeof(keys->index), SUBKEY_INDEX, VAULT_CONTEXT,
				   master);
	crypto_kdf_derive_from_key(keys->request_hash, sizeof(keys->request_hash),
				   SUBKEY_REQUEST_HASH, VAULT_CONTEXT, master);
	crypto_kdf_derive_from_key(keys->cell, sizeof(keys->cell), SUBKEY_CELL, VAULT_CONTEXT,
				   master);
	crypto_kdf_derive_from_key(keys->check, sizeof(keys->check), SUBKEY_CHECK, VAULT_CONTEXT,
				   master);
	uint8_t seed[crypto_box_SEEDBYTES];
	crypto_kdf_derive_from_key(seed, sizeof(seed), SUBKEY_SEALING, VAULT_CONTEXT, master);
	crypto_box_seed_keypair(keys->sealing_public, keys->sealing_secret, seed);
	sodium_memzero(seed, sizeof(seed));
	rc = 0;
out:
	sodium_memzero(master, sizeof(master));
	sodium_memzero(text, sizeof(text));
	close(fd);
	return rc;
}

void vault_key_check(uint8_t out[VAULT_CHECK_BYTES])
{
	memcpy(out, keys->check, VAULT_CHECK_BYTES);
}

const uint8_t *vault_sealing_public_key(void)
{
	return keys->sealing_public;
}

uint8_t *vault_unseal(struct arena *a, const uint8_t *sealed, size_t len, size_t *out_len)
{
	if (len < crypto_box_SEALBYTES)
		return NULL;
	uint8_t *out = arena_alloc(a, len - crypto_box_SEALBYTES + 1);
	if (out == NULL ||
	    crypto_box_seal_open(out, sealed, len, keys->sealing_public, keys->sealing_secret) != 0)
		return NULL;
	*out_len = len - crypto_box_SEALBYTES;
	return out;
}

int vault_create_key_file(const char *path, char *err, size_t errlen)
{
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not be initialised");
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	uint8_t master[crypto_kdf_KEYBYTES];
	char text[VAULT_KEY_HEX_CHARS + 2];
	crypto_kdf_keygen(master);
	sodium_bin2hex(text, sizeof(text), master, sizeof(master));
	size_t len = strlen(text);
	text[len++] = '\n';
	int rc = fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len ? 0 : -1;
	if (rc != 0)
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	if (close(fd) != 0 && rc == 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	sodium_memzero(master, sizeof(master));
	sodium_memzero(text, sizeof(text));
	return rc;
}

/* "tulay.v1|<org>|<table>|<column>|" followed by the row's bytes. */
static size_t vault_ad(const struct vault_place *place, uint8_t *out, size_t cap)
{
	int n = snprintf((char *)out, cap, "tulay.v1|%lld|%s|%s|", (long long)place->org_id,
			 place->table, place->column);
	if (n < 0 || (size_t)n + place->row_len > cap)
		return 0;
	memcpy(out + n, place->row, place->row_len);
	return (size_t)n + place->row_len;
}

uint8_t *vault_seal(struct arena *a, const char *plaintext, const struct vault_place *place,
		    size_t *len)
{
	uint8_t ad[256];
	size_t ad_len = vault_ad(place, ad, sizeof(ad));
	size_t mlen = strlen(plaintext);
	size_t total = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + mlen +
		       crypto_aead_xchacha20poly1305_ietf_ABYTES;
	uint8_t *out = arena_alloc(a, total);
	if (out == NULL || ad_len == 0 || keys == NULL)
		return NULL;
	randombytes_buf(out, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	unsigned long long clen;
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, (const uint8_t *)plaintext,
	    mlen, ad, ad_len, NULL, out, keys->encryption);
	*len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
	return out;
}

char *vault_open(struct arena *a, const uint8_t *sealed, size_t len,
		 const struct vault_place *place)
{
	const size_t overhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
				crypto_aead_xchacha20poly1305_ietf_ABYTES;
	uint8_t ad[256];
	size_t ad_len = vault_ad(place, ad, sizeof(ad));
	if (len < overhead || ad_len == 0 || keys == NULL)
		return NULL;
	char *out = arena_alloc(a, len - overhead + 1);
	if (out == NULL)
		return NULL;
	unsigned long long mlen;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		(uint8_t *)out, &mlen, NULL, sealed + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		len - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad, ad_len, sealed,
		keys->encryption) != 0)
		return NULL;
	out[mlen] = '\0';
	return out;
}

void vault_index(int64_t org_id, const char *id_number, uint8_t out[VAULT_INDEX_BYTES])
{
	crypto_generichash_state h;
	char org[24];
	int n = snprintf(org, sizeof(org), "%lld|", (long long)org_id);
	crypto_generichash_init(&h, keys->index, sizeof(keys->index), VAULT_INDEX_BYTES);
	crypto_generichash_update(&h, (const uint8_t *)org, (unsigned long long)n);
	for (const char *p = id_number; *p != '\0'; p++) {
		if (*p == ' ' || *p == '-' || *p == '.' || *p == '/')
			continue;
		uint8_t c = (uint8_t)toupper((unsigned char)*p);
		crypto_generichash_update(&h, &c, 1);
	}
	crypto_generichash_final(&h, out, VAULT_INDEX_BYTES);
}

void vault_fingerprint_start(crypto_generichash_state *state, size_t out_len)
{
	crypto_generichash_init(state, keys->request_hash, sizeof(keys->request_hash), out_len);
}

void vault_fingerprint_add(crypto_generichash_state *state, const char *const *parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		crypto_generichash_update(state, (const uint8_t *)parts[i], strlen(parts[i]) + 1);
}

/* Argon2id's operations and memory at each --password-cost. */
static const struct {
	unsigned long long ops;
	size_t mem;
} password_costs[] = {
    {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN},
    {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE},
    {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE},
};

bool vault_password_hash(char out[crypto_pwhash_STRBYTES], const char *password, unsigned cost)
{
	if (cost >= N_ELEMS(password_costs))
		log_bug("password cost %u", cost);
	return crypto_pwhash_str(out, password, strlen(password), password_costs[cost].ops,
				 password_costs[cost].mem) == 0;
}

bool vault_password_needs_rehash(const char *hash, unsigned cost)
{
	if (cost >= N_ELEMS(password_costs))
		log_bug("password cost %u", cost);
	return crypto_pwhash_str_needs_rehash(hash, password_costs[cost].ops,
					      password_costs[cost].mem) != 0;
}

void vault_fingerprint(const char *const *parts, size_t n, uint8_t *out, size_t out_len)
{
	crypto_generichash_state h;
	vault_fingerprint_start(&h, out_len);
	vault_fingerprint_add(&h, parts, n);
	crypto_generichash_final(&h, out, out_len);
}

const uint8_t *vault_cell_key(void)
{
	return keys->cell;
}
