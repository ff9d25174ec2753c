/* Unit tests of the UTF-8 decoder, character counts and terminal widths (proto/utf8.[ch]),
 * with the scripts our users write: Thai, Bengali, Burmese, Khmer, Chinese. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

#define expect_next(bytes, want_len, want_cp)                                                      \
	do {                                                                                       \
		uint32_t cp_ = 0;                                                                  \
		assert_int_equal(utf8_next((const unsigned char *)(bytes), &cp_), (want_len));     \
		if ((want_len) != 0)                                                               \
			assert_int_equal(cp_, (want_cp));                                          \
	} while (0)

static void test_next_decodes(void **state)
{
	(void)state;
	expect_next("A", 1, 0x41);
	expect_next("\xc3\xa9", 2, 0xe9);            /* é */
	expect_next("\xe0\xb8\xaa", 3, 0x0e2a);      /* Thai ส */
	expect_next("\xf0\x9f\x98\x80", 4, 0x1f600); /* an emoji */
	expect_next("", 1, 0);                       /* the terminating NUL is ASCII */
}

static void test_next_refuses(void **state)
{
	(void)state;
	expect_next("\x80", 0, 0);                 /* a continuation byte first */
	expect_next("\xc0\xaf", 0, 0);             /* overlong '/' */
	expect_next("\xe0\x80\xaf", 0, 0);         /* overlong, three bytes */
	expect_next("\xed\xa0\x80", 0, 0);         /* a surrogate */
	expect_next("\xf4\x90\x80\x80", 0, 0);     /* past U+10FFFF */
	expect_next("\xe0\xb8", 0, 0);             /* cut short by the NUL */
	expect_next("\xf8\x88\x80\x80\x80", 0, 0); /* five bytes */
	expect_next("\xff", 0, 0);
}

static void test_chars(void **state)
{
	(void)state;
	assert_int_equal(utf8_chars(""), 0);
	assert_int_equal(utf8_chars("Siam Build"), 10);
	assert_int_equal(utf8_chars("สุข"), 3); /* ส ุ ข: the vowel mark is a character */
	assert_int_equal(utf8_chars("a\xff"
				    "b"),
			 3); /* a bad byte counts as one */
	assert_int_equal(utf8_chars("\xe0\xb8"
				    "x"),
			 3); /* so does each byte of a cut one */
}

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(utf8_width(""), 0);
	assert_int_equal(utf8_width("Johor Bahru"), 11);
	/* Thai: the vowel ุ below ส takes no column. */
	assert_int_equal(utf8_width("สุข"), 2);
	/* Bengali: কি is a consonant and a vowel sign; the sign takes its own column in
	 * Unicode's widths. */
	assert_int_equal(utf8_width("কি"), 2);
	/* Burmese: the asat ် is a combining mark. */
	assert_int_equal(utf8_width("က်"), 1);
	/* Khmer: ក្ម, the coeng ្ joins the next consonant below. */
	assert_int_equal(utf8_width("ក្ម"), 2);
	/* Chinese and Japanese take two columns each. */
	assert_int_equal(utf8_width("中文"), 4);
	assert_int_equal(utf8_width("カ"), 2);
	/* Control characters and bad bytes take one: the CLI prints '?' for them. */
	assert_int_equal(utf8_width("a\tb"), 3);
	assert_int_equal(utf8_width("a\xff"), 2);
}

static void test_fit(void **state)
{
	(void)state;
	size_t used = 99;
	/* ASCII: as many bytes as columns. */
	assert_int_equal(utf8_fit("Malaysia", 3, &used), 3);
	assert_int_equal(used, 3);
	/* The whole string when it fits. */
	assert_int_equal(utf8_fit("Malaysia", 20, &used), 8);
	assert_int_equal(used, 8);
	/* A mark stays with its character: ส and ุ (6 bytes) in one column. */
	assert_int_equal(utf8_fit("สุข", 1, &used), 6);
	assert_int_equal(used, 1);
	/* A wide character is never split: with 3 columns, one of the two fits. */
	assert_int_equal(utf8_fit("中文", 3, &used), 3);
	assert_int_equal(used, 2);
	assert_int_equal(utf8_fit("中文", 1, &used), 0);
	assert_int_equal(used, 0);
	/* A NULL `used` is allowed. */
	assert_int_equal(utf8_fit("abc", 2, NULL), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_next_decodes), cmocka_unit_test(test_next_refuses),
	    cmocka_unit_test(test_chars),        cmocka_unit_test(test_width),
	    cmocka_unit_test(test_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
