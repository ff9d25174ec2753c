/* Unit tests of the protocol's enum codes (proto/codes.[ch]), derived from protobuf-c's
 * descriptors: the server stores them, the CLI shows them with '-' for '_'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codes.h"
#include "tulay/v1/envelope.pb-c.h"

/* Every enum of the protocol whose values are codes (Code, the status codes, is not). */
static const ProtobufCEnumDescriptor *const enums[] = {
    &tulay__v1__referral_status__descriptor,
    &tulay__v1__consent_form__descriptor,
    &tulay__v1__referral_decision__descriptor,
    &tulay__v1__referral_direction__descriptor,
    &tulay__v1__report_kind__descriptor,
    &tulay__v1__report_period__descriptor,
    &tulay__v1__case_kind__descriptor,
    &tulay__v1__deportation_status__descriptor,
    &tulay__v1__deportation_ground__descriptor,
    &tulay__v1__detention_type__descriptor,
    &tulay__v1__legal_counsel__descriptor,
    &tulay__v1__known__descriptor,
    &tulay__v1__deportation_stage__descriptor,
    &tulay__v1__intervention_kind__descriptor,
    &tulay__v1__role__descriptor,
    &tulay__v1__recommendation_status__descriptor,
    &tulay__v1__addressed_to__descriptor,
    &tulay__v1__recommendation_theme__descriptor,
    &tulay__v1__organisation_kind__descriptor,
    &tulay__v1__membership_role__descriptor,
    &tulay__v1__membership_state__descriptor,
    &tulay__v1__sector__descriptor,
    &tulay__v1__claim_status__descriptor,
    &tulay__v1__claim_forum__descriptor,
    &tulay__v1__exploitation_means__descriptor,
    &tulay__v1__case_event_kind__descriptor,
};

/* Every value but 0 has a code: lower case, its name without the enum's own prefix
 * (a value named otherwise would get its whole name, and fail here), and reads back. */
static void test_every_value_has_its_code(void **state)
{
	(void)state;
	for (size_t e = 0; e < sizeof(enums) / sizeof(enums[0]); e++) {
		const ProtobufCEnumDescriptor *d = enums[e];
		assert_null(proto_code(d, 0));
		for (unsigned i = 0; i < d->n_values; i++) {
			int value = d->values[i].value;
			if (value == 0)
				continue;
			const char *code = proto_code(d, value);
			assert_non_null(code);
			const char *name = d->values[i].name;
			size_t len = strlen(code);
			assert_true(strlen(name) > len);
			assert_int_equal(name[strlen(name) - len - 1], '_');
			for (size_t c = 0; c < len; c++)
				assert_int_equal(code[c], name[strlen(name) - len + c] |
							      0x20 * (code[c] != '_'));
			assert_int_equal(proto_value(d, code), value);
			/* The same pointer every time: the codes are made once. */
			assert_ptr_equal(proto_code(d, value), code);
		}
	}
}

static void test_known_codes(void **state)
{
	(void)state;
	assert_string_equal(
	    proto_code(&tulay__v1__sector__descriptor, TULAY__V1__SECTOR__SECTOR_DOMESTIC_WORK),
	    "domestic_work");
	assert_string_equal(proto_code(&tulay__v1__claim_status__descriptor,
				       TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_IN_MEDIATION),
			    "in_mediation");
	assert_string_equal(proto_code(&tulay__v1__legal_counsel__descriptor,
				       TULAY__V1__LEGAL_COUNSEL__LEGAL_COUNSEL_NGO_LAWYER),
			    "ngo_lawyer");
	assert_string_equal(proto_code(&tulay__v1__organisation_kind__descriptor,
				       TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_TRADE_UNION),
			    "trade_union");
	/* No code for 0, nor for a value the enum lacks. */
	assert_null(proto_code(&tulay__v1__legal_counsel__descriptor,
			       TULAY__V1__LEGAL_COUNSEL__LEGAL_COUNSEL_UNKNOWN));
	assert_null(proto_code(&tulay__v1__sector__descriptor, 999));
	assert_null(proto_code(&tulay__v1__sector__descriptor, -1));
	/* The CLI's words. */
	assert_string_equal(
	    proto_word(&tulay__v1__addressed_to__descriptor,
		       TULAY__V1__ADDRESSED_TO__ADDRESSED_TO_RECEIVING_AND_SENDING_STATES),
	    "receiving-and-sending-states");
	assert_string_equal(
	    proto_word(&tulay__v1__sector__descriptor, TULAY__V1__SECTOR__SECTOR_CARE), "care");
	assert_null(proto_word(&tulay__v1__sector__descriptor, 0));
}

static void test_values_of_words(void **state)
{
	(void)state;
	const ProtobufCEnumDescriptor *sector = &tulay__v1__sector__descriptor;
	assert_int_equal(proto_value(sector, "domestic_work"),
			 TULAY__V1__SECTOR__SECTOR_DOMESTIC_WORK);
	/* A word of the CLI only where words are read: the server stores codes. */
	assert_int_equal(proto_value(sector, "domestic-work"), 0);
	assert_int_equal(proto_word_value(sector, "domestic-work"),
			 TULAY__V1__SECTOR__SECTOR_DOMESTIC_WORK);
	assert_int_equal(proto_word_value(sector, "domestic_work"),
			 TULAY__V1__SECTOR__SECTOR_DOMESTIC_WORK);
	/* Nothing else: not the name, not upper case, not a prefix, not 0's. */
	assert_int_equal(proto_value(sector, "SECTOR_DOMESTIC_WORK"), 0);
	assert_int_equal(proto_value(sector, "Construction"), 0);
	assert_int_equal(proto_value(sector, "domestic"), 0);
	assert_int_equal(proto_value(sector, "domestic_work_x"), 0);
	assert_int_equal(proto_value(sector, "unspecified"), 0);
	assert_int_equal(proto_value(sector, ""), 0);
	/* The values in order, then 0. */
	assert_int_equal(proto_nth_value(sector, 0), TULAY__V1__SECTOR__SECTOR_CONSTRUCTION);
	assert_int_equal(proto_nth_value(sector, 8), TULAY__V1__SECTOR__SECTOR_OTHER);
	assert_int_equal(proto_nth_value(sector, 9), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_value_has_its_code),
	    cmocka_unit_test(test_known_codes),
	    cmocka_unit_test(test_values_of_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
