#include "utf8.h"

#include <locale.h>
#include <wchar.h>

size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		*cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		*cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		*cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) /* stops at the terminating NUL too */
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	if (*cp < least[len] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/* The character at s: its length in bytes (an invalid byte is one) and *cp (U+FFFD for
 * an invalid byte). */
static size_t next_or_replacement(const unsigned char *s, uint32_t *cp)
{
	size_t len = utf8_next(s, cp);
	if (len == 0) {
		*cp = 0xfffd;
		return 1;
	}
	return len;
}

size_t utf8_chars(const char *s)
{
	size_t n = 0;
	uint32_t cp;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; n++)
		p += next_or_replacement(p, &cp);
	return n;
}

/* Unicode's widths come with glibc's C.UTF-8 locale (built in since glibc 2.35), used
 * through its own locale object so the program's locale stays as it is. Without it every
 * printable character takes one column, as before. */
static int columns_of(uint32_t cp)
{
	static locale_t utf8_locale;
	static int tried;
	if (cp < 0x80) /* ASCII; its control characters are printed as '?' */
		return 1;
	if (!tried) {
		tried = 1;
		utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	if (utf8_locale == (locale_t)0)
		return 1;
	locale_t previous = uselocale(utf8_locale);
	int w = wcwidth((wchar_t)cp);
	uselocale(previous);
	return w < 0 ? 1 : w;
}

size_t utf8_fit(const char *s, size_t columns, size_t *used)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t width = 0;
	while (*p != '\0') {
		uint32_t cp;
		size_t len = next_or_replacement(p, &cp);
		size_t w = (size_t)columns_of(cp);
		if (width + w > columns)
			break;
		width += w;
		p += len;
	}
	if (used != NULL)
		*used = width;
	return (size_t)(p - (const unsigned char *)s);
}

size_t utf8_width(const char *s)
{
	size_t width;
	utf8_fit(s, SIZE_MAX, &width);
	return width;
}
