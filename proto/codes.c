#include "codes.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The codes of one enum, in the order of its descriptor's values (sorted by value), then
 * its words (the codes with '-' for '_'): 2 * n_values strings, NULL at value 0. */
struct enum_codes {
	const ProtobufCEnumDescriptor *d;
	char **codes;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct enum_codes *cache;
static size_t cache_n, cache_cap;

/* The length of the prefix of `name` that is `short_name` ("ClaimStatus") in upper snake
 * case followed by '_' ("CLAIM_STATUS_"), or 0 when `name` does not start with it. */
static size_t prefix_length(const char *short_name, const char *name)
{
	size_t i = 0;
	for (const char *s = short_name; *s != '\0'; s++) {
		if (s != short_name && isupper((unsigned char)*s)) {
			if (name[i] != '_')
				return 0;
			i++;
		}
		if (name[i] != toupper((unsigned char)*s))
			return 0;
		i++;
	}
	return name[i] == '_' ? i + 1 : 0;
}

static char **make_codes(const ProtobufCEnumDescriptor *d)
{
	unsigned n = d->n_values;
	char **codes = calloc(2 * (size_t)n, sizeof(*codes));
	if (codes == NULL)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		const char *name = d->values[i].name;
		if (d->values[i].value == 0)
			continue;
		name += prefix_length(d->short_name, name);
		codes[i] = strdup(name);
		codes[n + i] = strdup(name);
		if (codes[i] == NULL || codes[n + i] == NULL) {
			for (unsigned j = 0; j < 2 * n; j++)
				free(codes[j]);
			free(codes);
			return NULL;
		}
		for (char *c = codes[i], *w = codes[n + i]; *c != '\0'; c++, w++) {
			*c = (char)tolower((unsigned char)*c);
			*w = *c == '_' ? '-' : *c;
		}
	}
	return codes;
}

/* The codes of `d`, made on first use; NULL when memory runs out. */
static char **codes_of(const ProtobufCEnumDescriptor *d)
{
	char **codes = NULL;
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < cache_n; i++) {
		if (cache[i].d == d) {
			codes = cache[i].codes;
			goto out;
		}
	}
	if (cache_n == cache_cap) {
		size_t cap = cache_cap != 0 ? cache_cap * 2 : 32;
		struct enum_codes *grown = realloc(cache, cap * sizeof(*grown));
		if (grown == NULL)
			goto out;
		cache = grown;
		cache_cap = cap;
	}
	codes = make_codes(d);
	if (codes != NULL)
		cache[cache_n++] = (struct enum_codes){d, codes};
out:
	pthread_mutex_unlock(&cache_lock);
	return codes;
}

/* The code (`word` false) or word of `value`, or NULL. */
static const char *text_of(const ProtobufCEnumDescriptor *d, int value, bool word)
{
	if (value == 0)
		return NULL;
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
	char **codes = v != NULL ? codes_of(d) : NULL;
	return codes != NULL ? codes[(word ? d->n_values : 0) + (size_t)(v - d->values)] : NULL;
}

const char *proto_code(const ProtobufCEnumDescriptor *d, int value)
{
	return text_of(d, value, false);
}

const char *proto_word(const ProtobufCEnumDescriptor *d, int value)
{
	return text_of(d, value, true);
}

/* Whether `code` is `want`; with `word`, '-' in `code` reads as '_'. */
static bool same_code(const char *code, const char *want, bool word)
{
	for (; *want != '\0'; code++, want++) {
		if (*code != *want && !(word && *code == '-' && *want == '_'))
			return false;
	}
	return *code == '\0';
}

static int value_of(const ProtobufCEnumDescriptor *d, const char *code, bool word)
{
	char **codes = codes_of(d);
	for (unsigned i = 0; codes != NULL && i < d->n_values; i++) {
		if (codes[i] != NULL && same_code(code, codes[i], word))
			return d->values[i].value;
	}
	return 0;
}

int proto_value(const ProtobufCEnumDescriptor *d, const char *code)
{
	return value_of(d, code, false);
}

int proto_word_value(const ProtobufCEnumDescriptor *d, const char *word)
{
	return value_of(d, word, true);
}

int proto_nth_value(const ProtobufCEnumDescriptor *d, size_t n)
{
	for (unsigned i = 0; i < d->n_values; i++) {
		if (d->values[i].value != 0 && n-- == 0)
			return d->values[i].value;
	}
	return 0;
}
