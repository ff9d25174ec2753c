/* UTF-8 text, one decoder for server and client: validating what arrives (server/
 * validate.c), counting characters against limits, and laying text out in a terminal's
 * columns (the CLI's tables and charts), where Thai vowels and tone marks take no column,
 * Chinese and Japanese characters two, and Bengali, Burmese and Khmer their own. */
#ifndef TULAY_UTF8_H
#define TULAY_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the sequence at s into *cp and returns its length (1 to 4), or 0 when the bytes
 * there are not UTF-8: overlong forms, surrogates, code points past U+10FFFF, a sequence
 * cut short (the terminating NUL included). */
size_t utf8_next(const unsigned char *s, uint32_t *cp);

/* The characters (code points) of s; a byte that is not UTF-8 counts as one. */
size_t utf8_chars(const char *s);

/* The terminal columns s takes: each character's wcwidth in Unicode's C.UTF-8 locale,
 * whatever the caller's locale. A control character, or a byte that is not UTF-8, takes
 * one (the CLI prints '?' for them). */
size_t utf8_width(const char *s);

/* The length in bytes of the longest start of s that takes at most `columns` columns,
 * never cutting a character, nor a mark from the character it belongs to; stores the
 * columns it takes in *used (when not NULL). */
size_t utf8_fit(const char *s, size_t columns, size_t *used);

#endif
