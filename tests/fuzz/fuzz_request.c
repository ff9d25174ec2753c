/* libFuzzer driver for what tulayd does with a frame's payload: unpack it as a
 * tulay.v1.Request into a capped per-request arena (server/request.c, request_start), then
 * read its fields the way the handler for its body does, through the validators of
 * server/validate.c.
 *
 * Beyond "no crash, no leak", it checks that
 *  - the unpacked request has the structure handlers rely on without checking (every string
 *    non-NULL, the selected oneof member present; see fuzz_message.h), and the arena stayed
 *    within its cap;
 *  - unpacking into the arena and with malloc gives the same message;
 *  - every validator's answer agrees with a reference written here from the contracts in
 *    validate.h (not from validate.c), and what it accepts round-trips: an accepted date
 *    formats back to the same text, an accepted amount formats and parses back to the same
 *    minor units;
 *  - packing the request again is stable: pack(unpack(pack(x))) == pack(x);
 *  - proto/wire.c's scan finds the id protobuf-c unpacks, and reports a limit only when
 *    a count is over it; the arena says when it refused.
 *
 * Half of the mutations are structure-aware (fuzz_message_mutate): without them the fuzzer
 * practically never grows a string inside a sub-message to a validator's length limit. */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "civil_date.h"
#include "fuzz_check.h"
#include "fuzz_message.h"
#include "fuzz_reference.h"
#include "iso.h"
#include "money.h"
#include "tulay/v1/envelope.pb-c.h"
#include "validate.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* The arena cap of server/request.c (REQUEST_ARENA_PER_BYTE and REQUEST_ARENA_OVERHEAD,
 * private to that file): keep the two in step. */
#define REQUEST_ARENA_PER_BYTE 16u
#define REQUEST_ARENA_OVERHEAD (2u * 1024 * 1024)

/* server/handlers/users.c: passwords are text of 10 to 1000 characters. */
#define PASSWORD_MIN_CHARS 10
#define PASSWORD_MAX_CHARS 1000

/* The longest acronym the handlers copy before validating (struct org_create_state and
 * struct org_resolve_state in server/handlers/orgs.c hold char acronym[24]). */
#define ACRONYM_BUF_BYTES 24

/* --- reference answers -------------------------------------------------------------------- */

/* Scans UTF-8 by the table of well-formed byte sequences (Unicode 15, table 3-7). Returns
 * true when `s` is well-formed and free of C0/C1 control characters and DEL, and then stores
 * the number of code points and whether any is not a space. */
static bool ref_text(const char *text, size_t *chars, bool *visible)
{
	const unsigned char *s = (const unsigned char *)text;
	*chars = 0;
	*visible = false;
	while (*s != '\0') {
		unsigned char b = s[0];
		size_t n;
		unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
		if (b <= 0x7f)
			n = 1;
		else if (b >= 0xc2 && b <= 0xdf)
			n = 2;
		else if (b >= 0xe0 && b <= 0xef)
			n = 3;
		else if (b >= 0xf0 && b <= 0xf4)
			n = 4;
		else
			return false;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
		else if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
		uint32_t cp = n == 1 ? b : b & (0x7f >> n);
		for (size_t i = 1; i < n; i++) {
			/* The NUL terminator fails both tests, so this never reads past it. */
			if (i == 1 ? s[1] < lo || s[1] > hi : (s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return false;
		if (cp != ' ')
			*visible = true;
		(*chars)++;
		s += n;
	}
	return true;
}

static bool ref_upper_letters(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	}
	return true;
}

/* True when s is made of min..max characters, each in `allowed`. */
static bool ref_word(const char *s, size_t min, size_t max, const char *allowed)
{
	size_t len = strlen(s);
	return len >= min && len <= max && strspn(s, allowed) == len;
}

/* --- the validators against the references ------------------------------------------------- */

/* A validator's answer: NULL, or a sentence for a field officer. */
static void check_problem(const char *problem)
{
	if (problem != NULL) {
		FUZZ_CHECK(problem[0] != '\0');
		FUZZ_CHECK(strlen(problem) < 200);
	}
}

/* validate_text(value, min, max) against the reference. */
static void check_text_within(const char *value, size_t min, size_t max)
{
	size_t chars;
	bool visible;
	bool well_formed = ref_text(value, &chars, &visible);
	const char *problem = validate_text(value, min, max);
	check_problem(problem);
	bool ok = well_formed && chars >= min && chars <= max && (min == 0 || visible);
	FUZZ_CHECK((problem == NULL) == ok);
}

/* validate_text with no bounds, the names' bounds (1..200), and exactly as many characters
 * as the reference counts. */
static void check_text(const char *value)
{
	check_text_within(value, 0, SIZE_MAX);
	check_text_within(value, 1, 200);
	size_t chars;
	bool visible;
	bool well_formed = ref_text(value, &chars, &visible);
	if (well_formed && visible)
		FUZZ_CHECK(validate_text(value, chars, chars) == NULL);
	if (well_formed && chars > 0)
		FUZZ_CHECK(validate_text(value, chars + 1, SIZE_MAX) != NULL);
	if (well_formed && chars > 1)
		FUZZ_CHECK(validate_text(value, 0, chars - 1) != NULL);
}

static void check_country(const char *value)
{
	const char *problem = validate_country(value);
	check_problem(problem);
	FUZZ_CHECK((problem == NULL) == (iso_country_find(value) != NULL));
	if (problem == NULL)
		FUZZ_CHECK(ref_upper_letters(value, 2));
}

static void check_currency(const char *value)
{
	const char *problem = validate_currency(value);
	check_problem(problem);
	FUZZ_CHECK((problem == NULL) == (iso_currency_find(value) != NULL));
	if (problem == NULL)
		FUZZ_CHECK(ref_upper_letters(value, 3));
}

/* Returns whether the date was accepted, storing it in *out. */
static bool check_date(const char *value, struct civil_date *out)
{
	struct civil_date want = {-1, -1, -1};
	bool ok = fuzz_ref_date(value, &want);
	struct civil_date got = {-1, -1, -1};
	const char *problem = validate_date(value, &got);
	check_problem(problem);
	FUZZ_CHECK((problem == NULL) == ok);
	/* Accepted: exactly the reference's date, which formats back to the same text. */
	if (ok) {
		FUZZ_CHECK(got.year == want.year && got.month == want.month && got.day == want.day);
		char text[11];
		civil_date_format(&got, text, sizeof(text));
		FUZZ_CHECK(strcmp(text, value) == 0);
	}
	*out = got;
	return ok;
}

/* What the organisation handlers do with an acronym: upper-case it into a 24-byte buffer
 * (here on the heap, exactly that size, so an overflow is caught) and validate the copy.
 * Also validates the raw value, which may be of any length. */
static void check_acronym(const char *value)
{
	static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
	const char *problem = validate_acronym(value);
	check_problem(problem);
	FUZZ_CHECK((problem == NULL) == ref_word(value, 2, 20, allowed));

	char *upper = malloc(ACRONYM_BUF_BYTES);
	FUZZ_CHECK(upper != NULL);
	FUZZ_CHECK(validate_upper(value, upper, ACRONYM_BUF_BYTES) == upper);
	size_t len = strlen(value);
	size_t kept = len < ACRONYM_BUF_BYTES - 1 ? len : ACRONYM_BUF_BYTES - 1;
	FUZZ_CHECK(strlen(upper) == kept);
	for (size_t i = 0; i < kept; i++)
		FUZZ_CHECK(upper[i] == (char)toupper((unsigned char)value[i]));
	problem = validate_acronym(upper);
	check_problem(problem);
	FUZZ_CHECK((problem == NULL) == ref_word(upper, 2, 20, allowed));
	free(upper);

	/* The smallest buffer: only the terminator fits. */
	char one;
	FUZZ_CHECK(validate_upper(value, &one, 1) == &one && one == '\0');
}

static void check_username(const char *value)
{
	const char *problem = validate_username(value);
	check_problem(problem);
	FUZZ_CHECK((problem == NULL) ==
		   ref_word(value, 2, 64, "abcdefghijklmnopqrstuvwxyz0123456789._-"));
}

static void check_idempotency_key(const ProtobufCBinaryData *key)
{
	const char *problem = validate_idempotency_key(key->len);
	check_problem(problem);
	FUZZ_CHECK((problem == NULL) == (key->len == VALIDATE_IDEMPOTENCY_KEY_BYTES));
}

/* An amount the server accepts is one it can echo: it formats, and the text parses back to
 * the same minor units (what the client does with it). */
static void check_money(const Tulay__V1__Money *money)
{
	check_currency(money->currency);
	const char *problem = validate_amount(money->minor_units);
	check_problem(problem);
	FUZZ_CHECK((problem == NULL) ==
		   (money->minor_units > 0 && money->minor_units <= MONEY_MAX_MINOR_UNITS));
	if (problem != NULL || validate_currency(money->currency) != NULL)
		return;
	char text[32];
	int n = money_format(money->minor_units, money->currency, text, sizeof(text));
	FUZZ_CHECK(n > 0 && (size_t)n == strlen(text));
	int64_t back = -1;
	FUZZ_CHECK(money_parse(text, money->currency, &back) == MONEY_OK);
	FUZZ_CHECK(back == money->minor_units);
}

/* --- the handlers' reading of each request ------------------------------------------------- */

static void on_string(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field,
		      const char *value, void *ctx)
{
	(void)msg;
	(void)field;
	(void)ctx;
	check_text(value);
}

static void check_create_claim(const Tulay__V1__CreateClaim *m)
{
	check_idempotency_key(&m->idempotency_key);
	if (*m->organisation != '\0')
		check_acronym(m->organisation);
	check_country(m->worker_nationality);
	check_country(m->country_of_work);
	struct civil_date start, end;
	bool start_ok = check_date(m->work_started_on, &start);
	bool end_ok = check_date(m->work_ended_on, &end);
	if (start_ok && end_ok)
		fuzz_check_date_order(m->work_started_on, &start, m->work_ended_on, &end);
	if (m->amount_claimed != NULL)
		check_money(m->amount_claimed);
	const Tulay__V1__Money *more[] = {m->recruitment_fee, m->contract_wage, m->actual_wage};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		if (more[i] != NULL)
			check_money(more[i]);
	}
	struct civil_date deadline;
	if (*m->filing_deadline != '\0')
		(void)check_date(m->filing_deadline, &deadline);
}

/* Reads the body as its handler does (server/handlers/). */
static void check_body(const Tulay__V1__Request *req)
{
	switch (req->body_case) {
	case TULAY__V1__REQUEST__BODY__NOT_SET:
	case TULAY__V1__REQUEST__BODY_HELLO:
	case TULAY__V1__REQUEST__BODY_AUTHENTICATE:
	case TULAY__V1__REQUEST__BODY_LOGOUT:
		break; /* strings only: checked by the walk */
	case TULAY__V1__REQUEST__BODY_LOGIN:
		check_username(req->login->username);
		break;
	case TULAY__V1__REQUEST__BODY_CREATE_ORGANISATION:
		check_idempotency_key(&req->create_organisation->idempotency_key);
		check_acronym(req->create_organisation->acronym);
		check_country(req->create_organisation->country);
		break;
	case TULAY__V1__REQUEST__BODY_LIST_ORGANISATIONS:
		check_country(req->list_organisations->country);
		break;
	case TULAY__V1__REQUEST__BODY_CREATE_CLAIM:
		check_create_claim(req->create_claim);
		break;
	case TULAY__V1__REQUEST__BODY_GET_CLAIM:
		check_acronym(req->get_claim->organisation);
		break;
	case TULAY__V1__REQUEST__BODY_LIST_CLAIMS:
		check_acronym(req->list_claims->organisation);
		check_country(req->list_claims->country_of_work);
		break;
	case TULAY__V1__REQUEST__BODY_CREATE_USER:
		check_idempotency_key(&req->create_user->idempotency_key);
		check_acronym(req->create_user->organisation);
		check_username(req->create_user->username);
		check_text_within(req->create_user->password, PASSWORD_MIN_CHARS,
				  PASSWORD_MAX_CHARS);
		break;
	case TULAY__V1__REQUEST__BODY_LIST_USERS:
		check_acronym(req->list_users->organisation);
		break;
	case TULAY__V1__REQUEST__BODY_DISABLE_USER:
		check_username(req->disable_user->username);
		break;
	case TULAY__V1__REQUEST__BODY_CHANGE_PASSWORD:
		check_text_within(req->change_password->new_password, PASSWORD_MIN_CHARS,
				  PASSWORD_MAX_CHARS);
		break;
	case TULAY__V1__REQUEST__BODY_GET_ORGANISATION:
		check_acronym(req->get_organisation->acronym);
		break;
	case TULAY__V1__REQUEST__BODY_ADD_MEMBERSHIP: {
		const Tulay__V1__AddMembership *m = req->add_membership;
		struct civil_date since;
		check_idempotency_key(&m->idempotency_key);
		check_acronym(m->network);
		check_acronym(m->member);
		(void)check_date(m->since, &since);
		break;
	}
	case TULAY__V1__REQUEST__BODY_END_MEMBERSHIP: {
		struct civil_date until;
		check_acronym(req->end_membership->network);
		check_acronym(req->end_membership->member);
		(void)check_date(req->end_membership->until, &until);
		break;
	}
	case TULAY__V1__REQUEST__BODY_ACCEPT_MEMBERSHIP:
		check_acronym(req->accept_membership->network);
		check_acronym(req->accept_membership->member);
		break;
	case TULAY__V1__REQUEST__BODY_DECLINE_MEMBERSHIP:
		check_acronym(req->decline_membership->network);
		check_acronym(req->decline_membership->member);
		break;
	case TULAY__V1__REQUEST__BODY_ADD_OFFICE:
		check_idempotency_key(&req->add_office->idempotency_key);
		check_acronym(req->add_office->organisation);
		check_text_within(req->add_office->city, 1, 100);
		check_country(req->add_office->country);
		break;
	case TULAY__V1__REQUEST__BODY_CHANGE_CLAIM_STATUS: {
		const Tulay__V1__ChangeClaimStatus *m = req->change_claim_status;
		struct civil_date when;
		check_idempotency_key(&m->idempotency_key);
		check_text_within(m->reason, 1, 1000);
		if (*m->occurred_on != '\0')
			(void)check_date(m->occurred_on, &when);
		break;
	}
	case TULAY__V1__REQUEST__BODY_ADD_CASE_NOTE: {
		const Tulay__V1__AddCaseNote *m = req->add_case_note;
		struct civil_date when;
		check_idempotency_key(&m->idempotency_key);
		check_text_within(m->text, 1, 4000);
		if (*m->occurred_on != '\0')
			(void)check_date(m->occurred_on, &when);
		break;
	}
	case TULAY__V1__REQUEST__BODY_UPDATE_CLAIM_AMOUNTS:
		check_idempotency_key(&req->update_claim_amounts->idempotency_key);
		if (req->update_claim_amounts->amount_awarded != NULL)
			check_money(req->update_claim_amounts->amount_awarded);
		if (req->update_claim_amounts->amount_recovered != NULL)
			check_money(req->update_claim_amounts->amount_recovered);
		break;
	case TULAY__V1__REQUEST__BODY_RECORD_PAYMENT: {
		const Tulay__V1__RecordPayment *m = req->record_payment;
		struct civil_date day;
		check_idempotency_key(&m->idempotency_key);
		check_acronym(m->organisation);
		if (m->amount != NULL)
			check_money(m->amount);
		(void)check_date(m->paid_on, &day);
		(void)check_date(m->exchange_rate_date, &day);
		break;
	}
	case TULAY__V1__REQUEST__BODY_CREATE_DEPORTATION: {
		const Tulay__V1__CreateDeportation *m = req->create_deportation;
		check_idempotency_key(&m->idempotency_key);
		check_acronym(m->organisation);
		check_country(m->nationality);
		check_country(m->deported_from);
		check_country(m->deported_to);
		check_text_within(m->arrest_place, 1, 200);
		check_text_within(m->detention_place, 1, 200);
		break;
	}
	case TULAY__V1__REQUEST__BODY_GET_DEPORTATION:
		check_acronym(req->get_deportation->organisation);
		break;
	case TULAY__V1__REQUEST__BODY_RECORD_DEPORTATION_STAGE:
		check_idempotency_key(&req->record_deportation_stage->idempotency_key);
		check_acronym(req->record_deportation_stage->organisation);
		check_country(req->record_deportation_stage->deported_to);
		check_text_within(req->record_deportation_stage->note, 1, 1000);
		break;
	case TULAY__V1__REQUEST__BODY_ADD_INTERVENTION: {
		struct civil_date when;
		check_idempotency_key(&req->add_intervention->idempotency_key);
		check_acronym(req->add_intervention->organisation);
		check_text_within(req->add_intervention->text, 1, 4000);
		if (*req->add_intervention->occurred_on != '\0')
			(void)check_date(req->add_intervention->occurred_on, &when);
		break;
	}
	case TULAY__V1__REQUEST__BODY_CREATE_RECOMMENDATION: {
		const Tulay__V1__CreateRecommendation *m = req->create_recommendation;
		struct civil_date when;
		check_idempotency_key(&m->idempotency_key);
		check_acronym(m->organisation);
		check_text_within(m->title, 1, 200);
		check_text_within(m->text, 1, 4000);
		(void)check_date(m->source_date, &when);
		check_country(m->country);
		for (size_t i = 0; i < m->n_co_signers; i++)
			check_acronym(m->co_signers[i]);
		break;
	}
	case TULAY__V1__REQUEST__BODY_GET_RECOMMENDATION:
		check_acronym(req->get_recommendation->organisation);
		break;
	case TULAY__V1__REQUEST__BODY_CHANGE_RECOMMENDATION_STATUS: {
		struct civil_date when;
		check_idempotency_key(&req->change_recommendation_status->idempotency_key);
		check_text_within(req->change_recommendation_status->note, 1, 1000);
		if (*req->change_recommendation_status->occurred_on != '\0')
			(void)check_date(req->change_recommendation_status->occurred_on, &when);
		break;
	}
	case TULAY__V1__REQUEST__BODY_LINK_EVIDENCE:
		check_idempotency_key(&req->link_evidence->idempotency_key);
		if (req->link_evidence->evidence != NULL)
			check_acronym(req->link_evidence->evidence->organisation);
		break;
	case TULAY__V1__REQUEST__BODY_PROPOSE_REFERRAL: {
		const Tulay__V1__ProposeReferral *m = req->propose_referral;
		struct civil_date when;
		check_idempotency_key(&m->idempotency_key);
		check_acronym(m->to_organisation);
		check_text_within(m->reason, 1, 1000);
		if (m->consent != NULL)
			(void)check_date(m->consent->given_on, &when);
		break;
	}
	case TULAY__V1__REQUEST__BODY_DECIDE_REFERRAL:
		check_idempotency_key(&req->decide_referral->idempotency_key);
		check_text_within(req->decide_referral->reason, 1, 1000);
		break;
	case TULAY__V1__REQUEST__BODY_LIST_REFERRALS:
		break; /* enums, numbers and strings: checked by the walk */
	case TULAY__V1__REQUEST__BODY_LIST_CASES: {
		const Tulay__V1__ListCases *m = req->list_cases;
		struct civil_date from, to;
		check_acronym(m->organisation);
		check_country(m->country);
		bool from_ok = check_date(m->opened_from, &from);
		bool to_ok = check_date(m->opened_to, &to);
		if (from_ok && to_ok)
			fuzz_check_date_order(m->opened_from, &from, m->opened_to, &to);
		check_text_within(m->text, 1, 100);
		break;
	}
	case TULAY__V1__REQUEST__BODY_GET_REPORT: {
		const Tulay__V1__GetReport *m = req->get_report;
		check_acronym(m->network);
		check_currency(m->currency);
		for (size_t i = 0; i < m->n_filters; i++)
			check_text_within(m->filters[i]->value, 0, 200);
		break;
	}
	case TULAY__V1__REQUEST__BODY_SET_EXCHANGE_RATE: {
		const Tulay__V1__SetExchangeRate *m = req->set_exchange_rate;
		struct civil_date from;
		check_idempotency_key(&m->idempotency_key);
		check_currency(m->currency);
		check_currency(m->reporting_currency);
		(void)check_date(m->valid_from, &from);
		break;
	}
	case TULAY__V1__REQUEST__BODY_SEALED_REQUEST:
		/* The sealed bytes are opaque here (only tulayd's key opens them; it_protocol
		 * drives what they hold); the keys of the cases they name are checked. */
		for (size_t i = 0; i < req->sealed_request->n_local_cases; i++)
			check_idempotency_key(
			    &req->sealed_request->local_cases[i]->idempotency_key);
		break;
	case TULAY__V1__REQUEST__BODY_EXPORT_CASES:
		break; /* an enum, numbers and strings: checked by the walk (it_protocol: the rest)
			*/
	case TULAY__V1__REQUEST__BODY_LIST_EXCHANGE_RATES:
		check_currency(req->list_exchange_rates->currency);
		check_currency(req->list_exchange_rates->reporting_currency);
		break;
	default:
		/* Either unpack invented a member, or envelope.proto gained a request type: then
		 * add here what its handler checks. */
		FUZZ_CHECK(0 && "a Request body this driver does not know");
	}
}

/* The two unpackings hold the same message: they pack to the same bytes. */
static void check_same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t len = protobuf_c_message_get_packed_size(a);
	FUZZ_CHECK(protobuf_c_message_get_packed_size(b) == len);
	uint8_t *pa = malloc(len + 1), *pb = malloc(len + 1);
	FUZZ_CHECK(pa != NULL && pb != NULL);
	FUZZ_CHECK(protobuf_c_message_pack(a, pa) == len);
	FUZZ_CHECK(protobuf_c_message_pack(b, pb) == len);
	FUZZ_CHECK(memcmp(pa, pb, len) == 0);
	free(pa);
	free(pb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena arena;
	arena_init(&arena, REQUEST_ARENA_PER_BYTE * size + REQUEST_ARENA_OVERHEAD);
	Tulay__V1__Request *req = tulay__v1__request__unpack(&arena.allocator, size, data);
	FUZZ_CHECK(arena.used <= arena.cap);
	Tulay__V1__Request *plain = tulay__v1__request__unpack(NULL, size, data);
	/* The arena may refuse a request that malloc would take (that is its job), never the
	 * other way round. */
	FUZZ_CHECK(req == NULL || plain != NULL);
	/* ... and when it refuses one, it says so (tulayd then answers RESOURCE_EXHAUSTED). */
	FUZZ_CHECK(req != NULL || plain == NULL || arena.refused);

	/* proto/wire.c's look before unpacking: it finds the id protobuf-c would (the last
	 * one), and a count over a limit is over it. */
	struct wire_scan scan;
	wire_scan(&tulay__v1__request__descriptor, data, size, &scan);
	if (plain != NULL)
		FUZZ_CHECK(scan.has_id ? plain->id == scan.id : plain->id == 0);
	if (scan.finding == WIRE_TOO_MANY)
		FUZZ_CHECK(scan.count > scan.limit && scan.path[0] != '\0');

	if (req != NULL) {
		const struct fuzz_walk walk = {.on_string = on_string};
		fuzz_message_walk(&req->base, &walk);
		check_body(req);
		check_same_message(&req->base, &plain->base);
		fuzz_message_check_repack(&req->base);
	}
	tulay__v1__request__free_unpacked(plain, NULL);
	arena_release(&arena);
	FUZZ_CHECK(arena.chunks == NULL && arena.used == 0);
	return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	return fuzz_message_mutate(&tulay__v1__request__descriptor, data, size, max_size, seed);
}
