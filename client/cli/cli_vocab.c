#include "cli_vocab.h"

#include <ctype.h>
#include <stdio.h>

#include "cli_output.h"
#include "codes.h"
#include "tulay/v1/envelope.pb-c.h"

static const struct vocab_word known[] = {
    {TULAY__V1__KNOWN__KNOWN_YES, "yes"},
    {TULAY__V1__KNOWN__KNOWN_NO, "no"},
    {TULAY__V1__KNOWN__KNOWN_UNKNOWN, "unknown"},
};

static const struct vocab_word formats[] = {
    {OUTPUT_TABLE, "table"},
    {OUTPUT_JSON, "json"},
    {OUTPUT_CSV, "csv"},
};

/* The protocol's enums (VOCAB_ENUMS in cli_vocab.h): their words come from their
 * descriptors. */
#define VOCAB_DEFINE(name, noun, e)                                                                \
	const struct vocab vocab_##name = {(noun), NULL, 0, &tulay__v1__##e##__descriptor};
VOCAB_ENUMS(VOCAB_DEFINE)
#undef VOCAB_DEFINE

const struct vocab vocab_known = VOCAB_WORDS("yes, no or unknown", known);
const struct vocab vocab_formats = VOCAB_WORDS("format", formats);

static bool same_word(const char *word, const char *text)
{
	for (; *word != '\0'; word++, text++) {
		char ch = *text == '_' ? '-' : (char)tolower((unsigned char)*text);
		if (ch != *word)
			return false;
	}
	return *text == '\0';
}

/* The i-th word of `v` and its value, or NULL past the last. */
static const char *word_at(const struct vocab *v, size_t i, int *value)
{
	if (v->e == NULL) {
		if (i >= v->n)
			return NULL;
		*value = v->words[i].value;
		return v->words[i].word;
	}
	*value = proto_nth_value(v->e, i);
	return *value != 0 ? proto_word(v->e, *value) : NULL;
}

bool vocab_parse(const struct vocab *v, const char *text, int *value)
{
	int each;
	const char *word;
	for (size_t i = 0; (word = word_at(v, i, &each)) != NULL; i++) {
		if (same_word(word, text)) {
			*value = each;
			return true;
		}
	}
	return false;
}

const char *vocab_word(const struct vocab *v, int value)
{
	int each;
	const char *word;
	for (size_t i = 0; (word = word_at(v, i, &each)) != NULL; i++) {
		if (each == value)
			return word;
	}
	return "unknown";
}

const char *vocab_optional_word(const struct vocab *v, int value)
{
	return value == 0 ? "" : vocab_word(v, value);
}

bool vocab_join_values(const struct vocab *v, const int *values, size_t n, char *buf, size_t cap)
{
	if (cap == 0)
		return false;
	buf[0] = '\0';
	for (size_t i = 0, len = 0; i < n; i++) {
		int w = snprintf(buf + len, cap - len, "%s%s", i > 0 ? "," : "",
				 vocab_word(v, values[i]));
		if (w < 0 || (size_t)w >= cap - len) {
			buf[0] = '\0';
			return false;
		}
		len += (size_t)w;
	}
	return true;
}

bool vocab_join(const struct vocab *v, char *buf, size_t cap)
{
	if (cap == 0)
		return false;
	buf[0] = '\0';
	int each;
	const char *word;
	for (size_t i = 0, len = 0; (word = word_at(v, i, &each)) != NULL; i++) {
		int n = snprintf(buf + len, cap - len, "%s%s", i > 0 ? ", " : "", word);
		if (n < 0 || (size_t)n >= cap - len) {
			buf[0] = '\0';
			return false;
		}
		len += (size_t)n;
	}
	return true;
}
