/* What the fuzz drivers share: an invariant check that survives NDEBUG and tells libFuzzer
 * about a violation the way a sanitizer does, by aborting (libFuzzer then saves the input
 * as a crash artifact), and a NUL-terminated heap copy of fuzzer bytes so AddressSanitizer
 * sees any read past the end. */
#ifndef TULAY_FUZZ_CHECK_H
#define TULAY_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Aborts with the file, line and failed condition when `cond` is false. Unlike assert()
 * it stays on in every build type: these checks are the point of the drivers. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__,     \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Returns a malloc'ed copy of data[0..len) followed by a NUL, which the caller frees.
 * Aborts when memory runs out (libFuzzer's -rss_limit_mb fires long before). */
static inline char *fuzz_strndup(const void *data, size_t len)
{
	char *s = malloc(len + 1);
	if (s == NULL)
		abort();
	if (len > 0)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

#endif
