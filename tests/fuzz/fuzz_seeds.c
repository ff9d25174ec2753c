/* Writes the seed corpus of the fuzz drivers: valid inputs of each kind, so that the fuzzer
 * starts from real requests, responses, frames and form values instead of having to find
 * the protobuf encoding on its own. Generated at test time rather than checked in as
 * binary files, and from the same generated code the server and client use, so the seeds
 * follow the .proto files.
 *
 *   fuzz_seeds CORPUS_DIR
 *
 * creates CORPUS_DIR/{frame,request,response,money_date}/ and writes seed-* files into
 * them, replacing earlier seeds and leaving whatever the fuzzer added alone. Exits 0, or
 * 1 with a message on stderr. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wire.h"
#include "tulay/v1/envelope.pb-c.h"

static const char *corpus_dir;
static bool failed;

static bool make_dir(const char *path)
{
	if (mkdir(path, 0777) == 0 || errno == EEXIST)
		return true;
	fprintf(stderr, "fuzz_seeds: cannot create %s: %s\n", path, strerror(errno));
	failed = true;
	return false;
}

/* Writes data[0..len) to CORPUS_DIR/driver/seed-name. */
static void write_seed(const char *driver, const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", corpus_dir, driver);
	if (!make_dir(path))
		return;
	snprintf(path, sizeof(path), "%s/%s/seed-%s", corpus_dir, driver, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "fuzz_seeds: cannot write %s: %s\n", path, strerror(errno));
		failed = true;
	}
}

static void write_message(const char *driver, const char *name, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len > 0 ? len : 1);
	if (buf == NULL) {
		fprintf(stderr, "fuzz_seeds: out of memory\n");
		failed = true;
		return;
	}
	protobuf_c_message_pack(msg, buf);
	write_seed(driver, name, buf, len);
	free(buf);
}

static uint8_t idempotency_key[16] = {0x5e, 0x1d, 0x7a, 0x03, 0x9c, 0x44, 0xe1, 0x2b,
				      0x80, 0x6f, 0x11, 0xd2, 0x37, 0xa9, 0x4c, 0xf0};

static void write_request(const char *name, Tulay__V1__Request *req)
{
	write_message("request", name, &req->base);

	/* Also as the frame a client sends, for the frame driver. */
	size_t len;
	uint8_t *frame = frame_pack(&req->base, FRAME_DEFAULT_MAX_PAYLOAD, &len);
	if (frame == NULL) {
		fprintf(stderr, "fuzz_seeds: cannot frame the %s request\n", name);
		failed = true;
		return;
	}
	write_seed("frame", name, frame, len);
	free(frame);
}

static void write_requests(void)
{
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;

	Tulay__V1__Hello hello = TULAY__V1__HELLO__INIT;
	hello.protocol_version = 1;
	hello.client = "tulay-cli/0.1.0";
	req.id = 1;
	req.body_case = TULAY__V1__REQUEST__BODY_HELLO;
	req.hello = &hello;
	write_request("hello", &req);

	Tulay__V1__Login login = TULAY__V1__LOGIN__INIT;
	login.username = "ana.reyes";
	login.password = "correct horse battery staple";
	req.id = 2;
	req.body_case = TULAY__V1__REQUEST__BODY_LOGIN;
	req.login = &login;
	write_request("login", &req);

	/* The longest username accepted (64). */
	login.username = "field.officer_0123456789-abcdefghijklmnopqrstuvwxyz.0123456789ab";
	req.id = 22;
	write_request("login-longest", &req);

	Tulay__V1__Authenticate auth = TULAY__V1__AUTHENTICATE__INIT;
	auth.session_token = "tYq3VhX2m0bq8m4KJw9sZlq0Yw5c1n7EoTn0dJrV3cA";
	req.id = 3;
	req.body_case = TULAY__V1__REQUEST__BODY_AUTHENTICATE;
	req.authenticate = &auth;
	write_request("authenticate", &req);

	Tulay__V1__Logout logout = TULAY__V1__LOGOUT__INIT;
	req.id = 4;
	req.body_case = TULAY__V1__REQUEST__BODY_LOGOUT;
	req.logout = &logout;
	write_request("logout", &req);

	Tulay__V1__CreateOrganisation org = TULAY__V1__CREATE_ORGANISATION__INIT;
	org.idempotency_key.data = idempotency_key;
	org.idempotency_key.len = sizeof(idempotency_key);
	org.acronym = "tf-amw";
	org.name = "Task Force on ASEAN Migrant Workers";
	org.kind = TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_NETWORK;
	org.country = "PH";
	req.id = 5;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_ORGANISATION;
	req.create_organisation = &org;
	write_request("create-organisation", &req);

	/* The longest acronym (20) and name (200 characters, 400 bytes of UTF-8) accepted: the
	 * fuzzer finds off-by-ones at limits far sooner from a value sitting on them. */
	char name[401];
	for (int i = 0; i < 200; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[400] = '\0';
	org.acronym = "MIGRANT-CARE-NETWORK";
	org.name = name;
	org.country = "MY";
	req.id = 55;
	write_request("create-organisation-longest", &req);

	Tulay__V1__ListOrganisations orgs = TULAY__V1__LIST_ORGANISATIONS__INIT;
	orgs.country = "MY";
	orgs.limit = 50;
	req.id = 6;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_ORGANISATIONS;
	req.list_organisations = &orgs;
	write_request("list-organisations", &req);

	Tulay__V1__CreateUser user = TULAY__V1__CREATE_USER__INIT;
	user.idempotency_key.data = idempotency_key;
	user.idempotency_key.len = sizeof(idempotency_key);
	user.organisation = "TENAGANITA";
	user.username = "siti.rahman";
	user.role = TULAY__V1__ROLE__ROLE_COORDINATOR;
	user.password = "kata laluan yang panjang";
	req.id = 11;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_USER;
	req.create_user = &user;
	write_request("create-user", &req);

	Tulay__V1__ListUsers users = TULAY__V1__LIST_USERS__INIT;
	users.organisation = "MFA";
	req.id = 12;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_USERS;
	req.list_users = &users;
	write_request("list-users", &req);

	Tulay__V1__DisableUser disable = TULAY__V1__DISABLE_USER__INIT;
	disable.username = "siti.rahman";
	disable.expected_version = 2;
	req.id = 13;
	req.body_case = TULAY__V1__REQUEST__BODY_DISABLE_USER;
	req.disable_user = &disable;
	write_request("disable-user", &req);

	Tulay__V1__ChangePassword passwd = TULAY__V1__CHANGE_PASSWORD__INIT;
	passwd.current_password = "correct horse battery staple";
	passwd.new_password = "0123456789"; /* the shortest accepted */
	req.id = 14;
	req.body_case = TULAY__V1__REQUEST__BODY_CHANGE_PASSWORD;
	req.change_password = &passwd;
	write_request("change-password", &req);

	Tulay__V1__Money amount = TULAY__V1__MONEY__INIT;
	amount.minor_units = 4500000;
	amount.currency = "MYR";
	Tulay__V1__CreateClaim claim = TULAY__V1__CREATE_CLAIM__INIT;
	claim.idempotency_key.data = idempotency_key;
	claim.idempotency_key.len = sizeof(idempotency_key);
	claim.worker_nationality = "PH";
	claim.country_of_work = "MY";
	claim.sector = TULAY__V1__SECTOR__SECTOR_CONSTRUCTION;
	claim.employer = "Syarikat Binaan Maju Sdn Bhd";
	claim.work_started_on = "2024-01-15";
	claim.work_ended_on = "2024-12-31";
	claim.amount_claimed = &amount;
	claim.workers = 12;
	req.id = 7;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	req.create_claim = &claim;
	write_request("create-claim", &req);

	/* Non-ASCII text, another organisation, a currency without minor units, a leap day. */
	Tulay__V1__Money yen = TULAY__V1__MONEY__INIT;
	yen.minor_units = 1850000;
	yen.currency = "JPY";
	claim.organisation = "MFA";
	claim.worker_nationality = "VN";
	claim.country_of_work = "JP";
	claim.sector = TULAY__V1__SECTOR__SECTOR_AGRICULTURE;
	claim.employer =
	    "C\xc3\xb4ng ty TNHH \xc3\x81nh D\xc6\xb0\xc6\xa1ng \xe8\xbe\xb2\xe5\xa0\xb4";
	claim.work_started_on = "2024-02-29";
	claim.work_ended_on = "2025-03-01";
	claim.amount_claimed = &yen;
	claim.workers = 1;
	req.id = 8;
	write_request("create-claim-jpy", &req);

	Tulay__V1__GetClaim get = TULAY__V1__GET_CLAIM__INIT;
	get.reference = "WT-2026-000123";
	get.organisation = "MFA";
	req.id = 9;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_CLAIM;
	req.get_claim = &get;
	write_request("get-claim", &req);

	Tulay__V1__ListClaims list = TULAY__V1__LIST_CLAIMS__INIT;
	list.country_of_work = "TH";
	list.status = TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_FILED;
	list.limit = 20;
	list.page_token = "120";
	req.id = 10;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_CLAIMS;
	req.list_claims = &list;
	write_request("list-claims", &req);
}

static void write_responses(void)
{
	Tulay__V1__Status ok = TULAY__V1__STATUS__INIT;
	Tulay__V1__Response resp = TULAY__V1__RESPONSE__INIT;
	resp.status = &ok;

	Tulay__V1__HelloReply hello = TULAY__V1__HELLO_REPLY__INIT;
	hello.protocol_version = 1;
	hello.server = "tulayd/0.1.0";
	hello.max_frame_bytes = FRAME_DEFAULT_MAX_PAYLOAD;
	hello.max_frame_bytes_before_login = FRAME_DEFAULT_MAX_PAYLOAD_BEFORE_LOGIN;
	hello.max_requests_in_flight = 32;
	resp.id = 1;
	resp.body_case = TULAY__V1__RESPONSE__BODY_HELLO;
	resp.hello = &hello;
	write_message("response", "hello", &resp.base);

	Tulay__V1__Session session = TULAY__V1__SESSION__INIT;
	session.session_token = "tYq3VhX2m0bq8m4KJw9sZlq0Yw5c1n7EoTn0dJrV3cA";
	session.username = "ana.reyes";
	session.role = TULAY__V1__ROLE__ROLE_FIELD_OFFICER;
	session.organisation = "MFA";
	session.expires_at = 1767225600;
	resp.id = 2;
	resp.body_case = TULAY__V1__RESPONSE__BODY_SESSION;
	resp.session = &session;
	write_message("response", "session", &resp.base);

	Tulay__V1__Organisation mfa = TULAY__V1__ORGANISATION__INIT;
	mfa.id = 1;
	mfa.acronym = "MFA";
	mfa.name = "Migrant Forum in Asia";
	mfa.kind = TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_NETWORK;
	mfa.country = "PH";
	mfa.version = 3;
	mfa.created_at = 1735689600;
	Tulay__V1__Organisation tenaganita = mfa;
	tenaganita.id = 2;
	tenaganita.acronym = "TENAGANITA";
	tenaganita.name = "Tenaganita";
	tenaganita.kind = TULAY__V1__ORGANISATION_KIND__ORGANISATION_KIND_NGO;
	tenaganita.country = "MY";
	resp.id = 5;
	resp.body_case = TULAY__V1__RESPONSE__BODY_ORGANISATION;
	resp.organisation = &mfa;
	write_message("response", "organisation", &resp.base);

	Tulay__V1__Organisation *org_items[] = {&mfa, &tenaganita};
	Tulay__V1__OrganisationList orgs = TULAY__V1__ORGANISATION_LIST__INIT;
	orgs.n_organisations = 2;
	orgs.organisations = org_items;
	orgs.next_page_token = "2";
	resp.id = 6;
	resp.body_case = TULAY__V1__RESPONSE__BODY_ORGANISATIONS;
	resp.organisations = &orgs;
	write_message("response", "organisations", &resp.base);

	Tulay__V1__User siti = TULAY__V1__USER__INIT;
	siti.id = 7;
	siti.username = "siti.rahman";
	siti.organisation = "TENAGANITA";
	siti.role = TULAY__V1__ROLE__ROLE_COORDINATOR;
	siti.version = 1;
	siti.created_at = 1767225600;
	Tulay__V1__User ana = siti;
	ana.id = 3;
	ana.username = "ana.reyes";
	ana.organisation = "MFA";
	ana.role = TULAY__V1__ROLE__ROLE_FIELD_OFFICER;
	ana.disabled = true;
	ana.version = 4;
	resp.id = 11;
	resp.body_case = TULAY__V1__RESPONSE__BODY_USER;
	resp.user = &siti;
	write_message("response", "user", &resp.base);

	Tulay__V1__User *user_items[] = {&siti, &ana};
	Tulay__V1__UserList users = TULAY__V1__USER_LIST__INIT;
	users.n_users = 2;
	users.users = user_items;
	resp.id = 12;
	resp.body_case = TULAY__V1__RESPONSE__BODY_USERS;
	resp.users = &users;
	write_message("response", "users", &resp.base);

	Tulay__V1__Money myr = TULAY__V1__MONEY__INIT;
	myr.minor_units = 4500050;
	myr.currency = "MYR";
	Tulay__V1__Claim claim = TULAY__V1__CLAIM__INIT;
	claim.reference = "WT-2026-000123";
	claim.organisation = "MFA";
	claim.status = TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_INTAKE;
	claim.worker_nationality = "PH";
	claim.country_of_work = "MY";
	claim.sector = TULAY__V1__SECTOR__SECTOR_CONSTRUCTION;
	claim.employer = "Syarikat Binaan Maju Sdn Bhd";
	claim.work_started_on = "2024-01-15";
	claim.work_ended_on = "2024-12-31";
	claim.amount_claimed = &myr;
	claim.workers = 12;
	claim.opened_on = "2026-01-05";
	claim.version = 1;
	claim.created_by = "ana.reyes";
	claim.created_at = 1767571200;
	resp.id = 7;
	resp.body_case = TULAY__V1__RESPONSE__BODY_CLAIM;
	resp.claim = &claim;
	write_message("response", "claim", &resp.base);

	Tulay__V1__Money bhd = TULAY__V1__MONEY__INIT;
	bhd.minor_units = 1250125;
	bhd.currency = "BHD";
	Tulay__V1__Claim older = claim;
	older.reference = "WT-2025-000098";
	older.status = TULAY__V1__CLAIM_STATUS__CLAIM_STATUS_PARTIALLY_PAID;
	older.country_of_work = "BH";
	older.sector = TULAY__V1__SECTOR__SECTOR_DOMESTIC_WORK;
	older.amount_claimed = &bhd;
	older.workers = 1;
	older.opened_on = "2025-06-30";
	Tulay__V1__Claim *claim_items[] = {&claim, &older};
	Tulay__V1__ClaimList claims = TULAY__V1__CLAIM_LIST__INIT;
	claims.n_claims = 2;
	claims.claims = claim_items;
	claims.next_page_token = "98";
	resp.id = 10;
	resp.body_case = TULAY__V1__RESPONSE__BODY_CLAIMS;
	resp.claims = &claims;
	write_message("response", "claims", &resp.base);

	Tulay__V1__FieldError amount_error = TULAY__V1__FIELD_ERROR__INIT;
	amount_error.field = "amount_claimed.currency";
	amount_error.problem = "is not an ISO 4217 currency code";
	Tulay__V1__FieldError date_error = TULAY__V1__FIELD_ERROR__INIT;
	date_error.field = "work_ended_on";
	date_error.problem = "is before work_started_on";
	Tulay__V1__FieldError *errors[] = {&amount_error, &date_error};
	Tulay__V1__Status invalid = TULAY__V1__STATUS__INIT;
	invalid.code = TULAY__V1__CODE__INVALID_ARGUMENT;
	invalid.message = "the claim was not logged";
	invalid.n_field_errors = 2;
	invalid.field_errors = errors;
	resp.id = 7;
	resp.status = &invalid;
	resp.body_case = TULAY__V1__RESPONSE__BODY__NOT_SET;
	write_message("response", "invalid-argument", &resp.base);

	Tulay__V1__Status unavailable = TULAY__V1__STATUS__INIT;
	unavailable.code = TULAY__V1__CODE__UNAVAILABLE;
	unavailable.message = "the database is unavailable; try again";
	unavailable.outcome_unknown = true;
	resp.status = &unavailable;
	write_message("response", "unavailable", &resp.base);
}

static void write_frames(void)
{
	static const uint8_t empty[] = {0, 0, 0, 0};
	static const uint8_t too_large[] = {0x7f, 0xff, 0xff, 0xff, 0x0a};
	static const uint8_t short_header[] = {0, 0};
	static const uint8_t truncated[] = {0, 0, 0, 8, 0x08, 0x01, 0x52};
	static const uint8_t two[] = {0, 0, 0, 2, 0x08, 0x01, 0, 0, 0, 2, 0x08, 0x02, 0, 0};
	write_seed("frame", "empty", empty, sizeof(empty));
	write_seed("frame", "too-large", too_large, sizeof(too_large));
	write_seed("frame", "short-header", short_header, sizeof(short_header));
	write_seed("frame", "truncated", truncated, sizeof(truncated));
	write_seed("frame", "two-and-a-half", two, sizeof(two));
}

static void write_money_dates(void)
{
	/* currency, amount, date, date, minor units for money_format (fuzz_money_date.c) */
	static const char *const seeds[][2] = {
	    {"myr", "MYR\n45000.50\n2024-02-29\n2024-03-01\n4500050"},
	    {"jpy", "JPY\n1200\n2000-02-29\n1999-12-31\n-1200"},
	    {"bhd", "BHD\n0.125\n2100-12-31\n1950-01-01\n9223372036854775807"},
	    {"usd-max", "USD\n10000000000000.00\n2023-02-28\n2023-02-29\n-9223372036854775808"},
	    {"php-short", "PHP\n.5\n1900-01-01\n2024-04-31\n1000000000000001"},
	    {"thb-bad", "THB\n1,000.00\n2024-1-05\n24-01-05\n0"},
	    {"unknown", "XAU\n12.3\n2024-13-01\n2024-00-10\n42"},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		write_seed("money_date", seeds[i][0], seeds[i][1], strlen(seeds[i][1]));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds CORPUS_DIR\n");
		return 1;
	}
	corpus_dir = argv[1];
	if (!make_dir(corpus_dir))
		return 1;
	write_requests();
	write_responses();
	write_frames();
	write_money_dates();
	return failed ? 1 : 0;
}
