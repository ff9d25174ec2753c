/* libFuzzer driver for what libtulay does with a frame's payload: unpack it as a
 * tulay.v1.Response with the default allocator (client/lib/libtulay.c, take_frame), read it,
 * and free it. A server, or whatever answers in its place, controls every byte.
 *
 * Beyond "no crash, no leak", it checks that the unpacked response has the structure the
 * client relies on (fuzz_message.h), that every amount in it prints the way the CLI prints
 * it and parses back to the same minor units, that every string the client might read as
 * a date or an amount (in the response's currency, MYR if it has none) is parsed
 * consistently, and that packing it again is stable. Half of the mutations are
 * structure-aware (fuzz_message_mutate). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "civil_date.h"
#include "fuzz_check.h"
#include "fuzz_message.h"
#include "fuzz_reference.h"
#include "iso.h"
#include "money.h"
#include "tulay/v1/envelope.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

struct response_walk {
	const char *currency; /* of the first Money in the response, or NULL */
};

static void find_currency(const ProtobufCMessage *msg, void *ctx)
{
	struct response_walk *rw = ctx;
	if (msg->descriptor == &tulay__v1__money__descriptor && rw->currency == NULL)
		rw->currency = ((const Tulay__V1__Money *)msg)->currency;
}

/* Prints the amount as the CLI does (client/cli/cli_output.c) and reads the text back. */
static void check_money(const ProtobufCMessage *msg, void *ctx)
{
	(void)ctx;
	if (msg->descriptor != &tulay__v1__money__descriptor)
		return;
	const Tulay__V1__Money *money = (const Tulay__V1__Money *)msg;
	char text[32];
	int n = money_format(money->minor_units, money->currency, text, sizeof(text));
	if (iso_currency_find(money->currency) == NULL) {
		FUZZ_CHECK(n == -1);
		return;
	}
	/* Any int64 fits in 32 bytes, with sign, decimal point and NUL. */
	FUZZ_CHECK(n > 0 && (size_t)n == strlen(text));
	int64_t back = -1;
	enum money_error err = money_parse(text, money->currency, &back);
	if (money->minor_units < 0) {
		FUZZ_CHECK(text[0] == '-' && err == MONEY_NEGATIVE && back == -1);
	} else if (money->minor_units > MONEY_MAX_MINOR_UNITS) {
		FUZZ_CHECK(err == MONEY_TOO_LARGE && back == -1);
	} else {
		FUZZ_CHECK(err == MONEY_OK && back == money->minor_units);
	}
}

static void on_string(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field,
		      const char *value, void *ctx)
{
	(void)msg;
	(void)field;
	const struct response_walk *rw = ctx;

	struct civil_date want = {-1, -1, -1}, got = {-1, -1, -1};
	bool is_date = fuzz_ref_date(value, &want);
	FUZZ_CHECK(civil_date_parse(value, &got) == is_date);
	/* A date is exactly the reference's and formats back to the same text; anything else
	 * leaves the output untouched (civil_date.h). */
	FUZZ_CHECK(got.year == want.year && got.month == want.month && got.day == want.day);
	if (is_date) {
		char text[11];
		civil_date_format(&got, text, sizeof(text));
		FUZZ_CHECK(strcmp(text, value) == 0);
	}

	const char *currency = rw->currency != NULL ? rw->currency : "MYR";
	int64_t minor = -1;
	enum money_error err = money_parse(value, currency, &minor);
	FUZZ_CHECK(err >= MONEY_OK && err <= MONEY_UNKNOWN_CURRENCY);
	const char *why = money_error_text(err);
	FUZZ_CHECK(why != NULL && why[0] != '\0');
	if (err != MONEY_OK) {
		FUZZ_CHECK(minor == -1); /* untouched on error (money.h) */
		FUZZ_CHECK((err == MONEY_UNKNOWN_CURRENCY) ==
			   (iso_currency_find(currency) == NULL));
		return;
	}
	FUZZ_CHECK(minor >= 0 && minor <= MONEY_MAX_MINOR_UNITS);
	char text[32];
	FUZZ_CHECK(money_format(minor, currency, text, sizeof(text)) > 0);
	int64_t back = -1;
	FUZZ_CHECK(money_parse(text, currency, &back) == MONEY_OK && back == minor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Tulay__V1__Response *resp = tulay__v1__response__unpack(NULL, size, data);
	if (resp == NULL)
		return 0;

	struct response_walk rw = {.currency = NULL};
	const struct fuzz_walk currency_walk = {.on_message = find_currency, .ctx = &rw};
	fuzz_message_walk(&resp->base, &currency_walk);
	const struct fuzz_walk value_walk = {
	    .on_message = check_money, .on_string = on_string, .ctx = &rw};
	fuzz_message_walk(&resp->base, &value_walk);

	/* What take_frame and its callers look at first. */
	if (resp->status != NULL) {
		FUZZ_CHECK(resp->status->message != NULL);
		for (size_t i = 0; i < resp->status->n_field_errors; i++)
			FUZZ_CHECK(resp->status->field_errors[i]->field != NULL &&
				   resp->status->field_errors[i]->problem != NULL);
	}
	fuzz_message_check_repack(&resp->base);
	tulay__v1__response__free_unpacked(resp, NULL);
	return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	return fuzz_message_mutate(&tulay__v1__response__descriptor, data, size, max_size, seed);
}
