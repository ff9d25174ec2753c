/* The wire protocol against a real tulayd: connection sequence, limits and hostile input.
 * Every test that sends something bad ends by checking that the server still serves a
 * fresh connection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "wire.h"
#include "it_support.h"

static Tulay__V1__Response *roundtrip(int fd, Tulay__V1__Request *req)
{
	assert_int_equal(it_raw_send(fd, req), 0);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	return resp;
}

static void expect_code(int fd, Tulay__V1__Request *req, Tulay__V1__Code code)
{
	Tulay__V1__Response *resp = roundtrip(fd, req);
	assert_int_equal(resp->id, req->id);
	assert_int_equal(resp->status->code, code);
	tulay__v1__response__free_unpacked(resp, NULL);
}

/* A new connection still gets through Hello and Login: the server kept serving. */
static void assert_server_serves(void)
{
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_raw_login(fd, "officer");
	close(fd);
}

static void list_claims_request(Tulay__V1__Request *req, Tulay__V1__ListClaims *list, uint64_t id)
{
	tulay__v1__list_claims__init(list);
	req->id = id;
	req->body_case = TULAY__V1__REQUEST__BODY_LIST_CLAIMS;
	req->list_claims = list;
}

static void test_hello_must_come_first(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	IT_REQUEST(req);
	Tulay__V1__ListClaims list;
	list_claims_request(&req, &list, 7);
	expect_code(fd, &req, TULAY__V1__CODE__FAILED_PRECONDITION);
	/* The connection stays usable: Hello now works. */
	it_raw_hello(fd);
	close(fd);
}

static void test_unsupported_protocol_version_closes(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	IT_REQUEST(req);
	Tulay__V1__Hello hello = TULAY__V1__HELLO__INIT;
	hello.protocol_version = 2;
	req.id = 3;
	req.body_case = TULAY__V1__REQUEST__BODY_HELLO;
	req.hello = &hello;
	expect_code(fd, &req, TULAY__V1__CODE__FAILED_PRECONDITION);
	assert_true(it_raw_closed(fd));
	close(fd);
	assert_server_serves();
}

static void test_requests_need_a_session(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	IT_REQUEST(req);
	Tulay__V1__ListClaims list;
	list_claims_request(&req, &list, 9);
	expect_code(fd, &req, TULAY__V1__CODE__UNAUTHENTICATED);
	close(fd);
}

static void login_request(Tulay__V1__Request *req, Tulay__V1__Login *login, const char *user,
			  const char *password)
{
	tulay__v1__login__init(login);
	login->username = (char *)user;
	login->password = (char *)password;
	req->id = 11;
	req->body_case = TULAY__V1__REQUEST__BODY_LOGIN;
	req->login = login;
}

static void test_wrong_password_gives_no_hint(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	IT_REQUEST(req);
	Tulay__V1__Login login;
	login_request(&req, &login, "officer", "not-the-password");
	Tulay__V1__Response *known = roundtrip(fd, &req);
	login_request(&req, &login, "nobody-by-this-name", "not-the-password");
	Tulay__V1__Response *unknown = roundtrip(fd, &req);
	assert_int_equal(known->status->code, TULAY__V1__CODE__UNAUTHENTICATED);
	assert_int_equal(unknown->status->code, TULAY__V1__CODE__UNAUTHENTICATED);
	assert_string_equal(known->status->message, unknown->status->message);
	assert_int_equal(known->body_case, TULAY__V1__RESPONSE__BODY__NOT_SET);
	tulay__v1__response__free_unpacked(known, NULL);
	tulay__v1__response__free_unpacked(unknown, NULL);
	close(fd);
}

static void test_oversized_frame_before_login(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	/* One byte over the 16 KiB limit before login: refused from the header alone. */
	uint8_t hdr[FRAME_HEADER_BYTES];
	frame_put_header(hdr, FRAME_DEFAULT_MAX_PAYLOAD_BEFORE_LOGIN + 1);
	assert_int_equal(it_raw_write(fd, hdr, sizeof(hdr)), 0);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	assert_int_equal(resp->id, 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__RESOURCE_EXHAUSTED);
	assert_non_null(strstr(resp->status->message, "16384"));
	tulay__v1__response__free_unpacked(resp, NULL);
	assert_true(it_raw_closed(fd));
	close(fd);
	assert_server_serves();
}

static void test_oversized_frame_after_login(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_raw_login(fd, "officer");
	/* Under the 1 MiB limit works once logged in ... */
	IT_REQUEST(req);
	Tulay__V1__ListClaims list;
	list_claims_request(&req, &list, 21);
	char *padding = calloc(1, 100 * 1024);
	memset(padding, 'M', 100 * 1024 - 1);
	list.page_token = padding; /* 100 KiB: over the pre-login limit, under the other */
	expect_code(fd, &req, TULAY__V1__CODE__INVALID_ARGUMENT);
	free(padding);
	/* ... one byte over is refused, and the payload sent with it is drained. */
	size_t len = FRAME_DEFAULT_MAX_PAYLOAD + 1 + FRAME_HEADER_BYTES;
	uint8_t *big = calloc(1, len);
	frame_put_header(big, FRAME_DEFAULT_MAX_PAYLOAD + 1);
	(void)it_raw_write(fd, big, len); /* the server may close before reading it all */
	free(big);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	assert_int_equal(resp->id, 0);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__RESOURCE_EXHAUSTED);
	tulay__v1__response__free_unpacked(resp, NULL);
	assert_true(it_raw_closed(fd));
	close(fd);
	assert_server_serves();
}

static void test_random_bytes_close_the_connection(void **state)
{
	(void)state;
	/* Bytes whose "length" is small enough to be read, and which are not a Request. */
	int fd = it_raw_connect();
	uint8_t junk[4 + 64];
	frame_put_header(junk, 64);
	for (size_t i = 4; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(0xff - i * 7);
	assert_int_equal(it_raw_write(fd, junk, sizeof(junk)), 0);
	assert_true(it_raw_closed(fd));
	close(fd);

	/* Plain noise: its first four bytes announce an absurd length. */
	fd = it_raw_connect();
	const char noise[] = "GET / HTTP/1.1\r\nHost: tulay\r\n\r\n";
	assert_int_equal(it_raw_write(fd, noise, sizeof(noise) - 1), 0);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__RESOURCE_EXHAUSTED);
	tulay__v1__response__free_unpacked(resp, NULL);
	assert_true(it_raw_closed(fd));
	close(fd);
	assert_server_serves();
}

static void test_wrong_wire_type_closes(void **state)
{
	(void)state;
	/* Field 1 (id, a varint) sent as a length-delimited field: protobuf refuses it. */
	int fd = it_raw_connect();
	const uint8_t frame[] = {0, 0, 0, 4, 0x0a, 0x02, 'h', 'i'};
	assert_int_equal(it_raw_write(fd, frame, sizeof(frame)), 0);
	assert_true(it_raw_closed(fd));
	close(fd);
	assert_server_serves();
}

static void test_truncated_frame_then_disconnect(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	uint8_t partial[4 + 10];
	frame_put_header(partial, 100);
	memset(partial + 4, 0x08, 10);
	assert_int_equal(it_raw_write(fd, partial, sizeof(partial)), 0);
	close(fd);
	assert_server_serves();
}

static void test_request_without_body(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	IT_REQUEST(req);
	req.id = 31;
	expect_code(fd, &req, TULAY__V1__CODE__INVALID_ARGUMENT);
	close(fd);
}

static void test_unknown_request_type(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	/* id=32, then field 99 (a request type from the future) holding an empty message. */
	const uint8_t frame[] = {0, 0, 0, 5, 0x08, 32, 0x9a, 0x06, 0x00};
	assert_int_equal(it_raw_write(fd, frame, sizeof(frame)), 0);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	assert_int_equal(resp->id, 32);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__UNIMPLEMENTED);
	tulay__v1__response__free_unpacked(resp, NULL);
	close(fd);
}

static void test_pipelined_hello_login_request(void **state)
{
	(void)state;
	/* Hello, Login and a request in one write: Login holds the request until the session
	 * exists, so all three succeed. */
	IT_REQUEST(hello_req);
	Tulay__V1__Hello hello = TULAY__V1__HELLO__INIT;
	hello.protocol_version = 1;
	hello_req.id = 41;
	hello_req.body_case = TULAY__V1__REQUEST__BODY_HELLO;
	hello_req.hello = &hello;
	IT_REQUEST(login_req);
	Tulay__V1__Login login;
	login_request(&login_req, &login, "officer", it_env("TULAY_TEST_PASSWORD"));
	login_req.id = 42;
	IT_REQUEST(list_req);
	Tulay__V1__ListClaims list;
	list_claims_request(&list_req, &list, 43);

	uint8_t buf[4096];
	size_t off = 0;
	const Tulay__V1__Request *all[] = {&hello_req, &login_req, &list_req};
	for (size_t i = 0; i < 3; i++) {
		size_t n = protobuf_c_message_get_packed_size(&all[i]->base);
		frame_put_header(buf + off, (uint32_t)n);
		protobuf_c_message_pack(&all[i]->base, buf + off + 4);
		off += 4 + n;
	}
	int fd = it_raw_connect();
	assert_int_equal(it_raw_write(fd, buf, off), 0);
	bool seen[3] = {false, false, false};
	for (int i = 0; i < 3; i++) {
		Tulay__V1__Response *resp = it_raw_recv(fd);
		assert_non_null(resp);
		assert_true(resp->id >= 41 && resp->id <= 43);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		seen[resp->id - 41] = true;
		tulay__v1__response__free_unpacked(resp, NULL);
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	close(fd);
}

static char *login_token(int fd)
{
	IT_REQUEST(req);
	Tulay__V1__Login login;
	login_request(&req, &login, "officer", it_env("TULAY_TEST_PASSWORD"));
	Tulay__V1__Response *resp = roundtrip(fd, &req);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	char *token = strdup(resp->session->session_token);
	assert_true(strlen(token) >= 40);
	tulay__v1__response__free_unpacked(resp, NULL);
	return token;
}

static Tulay__V1__Code authenticate_code(const char *token)
{
	int fd = it_raw_connect();
	it_raw_hello(fd);
	IT_REQUEST(req);
	Tulay__V1__Authenticate auth = TULAY__V1__AUTHENTICATE__INIT;
	auth.session_token = (char *)token;
	req.id = 51;
	req.body_case = TULAY__V1__REQUEST__BODY_AUTHENTICATE;
	req.authenticate = &auth;
	Tulay__V1__Response *resp = roundtrip(fd, &req);
	Tulay__V1__Code code = resp->status->code;
	tulay__v1__response__free_unpacked(resp, NULL);
	close(fd);
	return code;
}

/* Sends `req` with every '#' in its packed bytes turned into NUL (protobuf-c packs strings
 * with strlen(), so a NUL cannot be put in any other way), and returns the answer. */
static Tulay__V1__Response *send_with_nuls(int fd, const Tulay__V1__Request *req)
{
	size_t len = tulay__v1__request__get_packed_size(req);
	uint8_t *buf = malloc(FRAME_HEADER_BYTES + len);
	assert_non_null(buf);
	frame_put_header(buf, (uint32_t)len);
	tulay__v1__request__pack(req, buf + FRAME_HEADER_BYTES);
	for (size_t i = FRAME_HEADER_BYTES; i < FRAME_HEADER_BYTES + len; i++)
		if (buf[i] == '#')
			buf[i] = 0;
	assert_int_equal(it_raw_write(fd, buf, FRAME_HEADER_BYTES + len), 0);
	free(buf);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	return resp;
}

static void claim_request(Tulay__V1__Request *req, Tulay__V1__CreateClaim *claim,
			  Tulay__V1__Money *amount, uint64_t id)
{
	static const uint8_t key[16] = "it_protocol-nul";
	tulay__v1__create_claim__init(claim);
	tulay__v1__money__init(amount);
	amount->minor_units = 300000;
	amount->currency = "MYR";
	claim->idempotency_key = (ProtobufCBinaryData){.len = sizeof(key), .data = (uint8_t *)key};
	claim->worker_nationality = "NP";
	claim->country_of_work = "MY";
	claim->sector = TULAY__V1__SECTOR__SECTOR_AGRICULTURE;
	claim->employer = "Ladang Sawit Sdn Bhd";
	claim->work_started_on = "2025-02-01";
	claim->work_ended_on = "2025-10-31";
	claim->amount_claimed = amount;
	req->id = id;
	req->body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	req->create_claim = claim;
}

static void expect_field_refused(const Tulay__V1__Response *resp, uint64_t id, const char *field,
				 const char *problem)
{
	assert_int_equal(resp->id, id);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_int_equal(resp->status->n_field_errors, 1);
	assert_string_equal(resp->status->field_errors[0]->field, field);
	assert_string_equal(resp->status->field_errors[0]->problem, problem);
}

/* Issue 12, finding 4: "a\0b" was stored as "a", and "\0" alone passed as "not given",
 * even in coded fields. Now each is INVALID_ARGUMENT naming the field, nothing is stored
 * (the same key then logs the claim as new), and the connection goes on. */
static void test_finding4_strings_cut_at_nul(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_raw_login(fd, "officer");
	IT_REQUEST(req);
	Tulay__V1__CreateClaim claim;
	Tulay__V1__Money amount;
	claim_request(&req, &claim, &amount, 41);
	claim.employer = "Ladang#Sawit";
	Tulay__V1__Response *resp = send_with_nuls(fd, &req);
	expect_field_refused(resp, 41, "employer", "must not contain NUL characters");
	tulay__v1__response__free_unpacked(resp, NULL);

	claim_request(&req, &claim, &amount, 42);
	claim.filing_deadline = "#";
	resp = send_with_nuls(fd, &req);
	expect_field_refused(resp, 42, "filing_deadline", "must not contain NUL characters");
	tulay__v1__response__free_unpacked(resp, NULL);

	Tulay__V1__Worker worker, *workers[1] = {&worker};
	tulay__v1__worker__init(&worker);
	worker.name = "Ram\tBahadur";
	claim_request(&req, &claim, &amount, 43);
	claim.workers = 2;
	claim.n_co_workers = 1;
	claim.co_workers = workers;
	resp = send_with_nuls(fd, &req);
	expect_field_refused(resp, 43, "co_workers[0].name",
			     "must not contain control characters such as line breaks or tabs");
	tulay__v1__response__free_unpacked(resp, NULL);

	/* Nothing was stored under the key: the clean claim is created, not replayed. */
	claim_request(&req, &claim, &amount, 44);
	resp = roundtrip(fd, &req);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_non_null(resp->claim);
	assert_string_equal(resp->claim->employer, "Ladang Sawit Sdn Bhd");
	assert_int_equal(resp->claim->version, 1);
	tulay__v1__response__free_unpacked(resp, NULL);
	close(fd);
	assert_server_serves();
}

/* Issue 12, finding 5: 70,000 tiny co-workers (under 1 MiB) were dropped with the
 * connection, 60,000 and 100,000 got INVALID_ARGUMENT. Now every count past the documented
 * 100 gets the same answer, INVALID_ARGUMENT naming co_workers and the limit, under the
 * request's id, before anything is unpacked, and the connection goes on; a flood of
 * unknown fields (a request too costly to read) gets RESOURCE_EXHAUSTED. */
static void test_finding5_large_frames_dropped(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_raw_login(fd, "officer");
	const size_t counts[] = {101, 60000, 70000, 100000};
	Tulay__V1__Worker *workers = calloc(100000, sizeof(*workers));
	Tulay__V1__Worker **ptrs = calloc(100000, sizeof(*ptrs));
	assert_non_null(workers);
	assert_non_null(ptrs);
	for (size_t i = 0; i < 100000; i++) {
		tulay__v1__worker__init(&workers[i]);
		workers[i].name = "w";
		ptrs[i] = &workers[i];
	}
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		IT_REQUEST(req);
		Tulay__V1__CreateClaim claim;
		Tulay__V1__Money amount;
		claim_request(&req, &claim, &amount, 50 + c);
		claim.workers = 100000;
		claim.n_co_workers = counts[c];
		claim.co_workers = ptrs;
		assert_true(tulay__v1__request__get_packed_size(&req) < FRAME_DEFAULT_MAX_PAYLOAD);
		Tulay__V1__Response *resp = roundtrip(fd, &req);
		assert_int_equal(resp->id, 50 + c);
		expect_field_refused(resp, 50 + c, "co_workers", "must have at most 100 elements");
		tulay__v1__response__free_unpacked(resp, NULL);
	}
	free(workers);
	free(ptrs);

	/* 1,001 unknown fields after id=60. */
	size_t n = 1001, len = 2 + 3 * n;
	uint8_t *frame = malloc(FRAME_HEADER_BYTES + len);
	assert_non_null(frame);
	frame_put_header(frame, (uint32_t)len);
	uint8_t *p = frame + FRAME_HEADER_BYTES;
	*p++ = 0x08;
	*p++ = 60;
	for (size_t i = 0; i < n; i++) {
		*p++ = 0xf8; /* field 1999, varint 0 */
		*p++ = 0x7c;
		*p++ = 0;
	}
	assert_int_equal(it_raw_write(fd, frame, FRAME_HEADER_BYTES + len), 0);
	free(frame);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	assert_int_equal(resp->id, 60);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__RESOURCE_EXHAUSTED);
	tulay__v1__response__free_unpacked(resp, NULL);

	/* The same connection still serves. */
	IT_REQUEST(req);
	Tulay__V1__ListClaims list;
	list_claims_request(&req, &list, 61);
	expect_code(fd, &req, TULAY__V1__CODE__OK);
	close(fd);
	assert_server_serves();
}

static void test_tokens_forged_and_after_logout(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	char *token = login_token(fd);
	assert_int_equal(authenticate_code(token), TULAY__V1__CODE__OK);
	assert_int_equal(authenticate_code("forged-token-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
			 TULAY__V1__CODE__UNAUTHENTICATED);

	IT_REQUEST(req);
	Tulay__V1__Logout logout = TULAY__V1__LOGOUT__INIT;
	req.id = 52;
	req.body_case = TULAY__V1__REQUEST__BODY_LOGOUT;
	req.logout = &logout;
	expect_code(fd, &req, TULAY__V1__CODE__OK);
	/* The connection is logged out, and the token is dead everywhere. */
	Tulay__V1__ListClaims list;
	list_claims_request(&req, &list, 53);
	expect_code(fd, &req, TULAY__V1__CODE__UNAUTHENTICATED);
	assert_int_equal(authenticate_code(token), TULAY__V1__CODE__UNAUTHENTICATED);
	free(token);
	close(fd);
}

/* Issue 15: ExportCases is answered by a stream of ExportPages under its id, the last with
 * `last` set; bad fields are refused before anything is sent; a request sent behind the
 * export is answered too; resume_after continues after a page, none twice. */
static void export_send(int fd, uint64_t id, Tulay__V1__CaseKind kind, const char *status,
			const char *resume_after, uint32_t page_size)
{
	IT_REQUEST(req);
	Tulay__V1__ExportCases e = TULAY__V1__EXPORT_CASES__INIT;
	e.kind = kind;
	e.status = (char *)status;
	e.resume_after = (char *)resume_after;
	e.page_size = page_size;
	req.id = id;
	req.body_case = TULAY__V1__REQUEST__BODY_EXPORT_CASES;
	req.export_cases = &e;
	assert_int_equal(it_raw_send(fd, &req), 0);
}

/* Sends SealedRequest{sealed: `inner` packed (each '#' turned into NUL) and sealed to `pk`,
 * with one byte flipped when `tamper`} as request `id`; returns the answer. */
static Tulay__V1__Response *sealed_send_local(int fd, uint64_t id, const uint8_t *pk,
					      const Tulay__V1__Request *inner, bool tamper,
					      Tulay__V1__LocalCase *local);

static Tulay__V1__Response *sealed_send(int fd, uint64_t id, const uint8_t *pk,
					const Tulay__V1__Request *inner, bool tamper)
{
	return sealed_send_local(fd, id, pk, inner, tamper, NULL);
}

/* sealed_send, naming one queued case (`local`, may be NULL) in local_cases. */
static Tulay__V1__Response *sealed_send_local(int fd, uint64_t id, const uint8_t *pk,
					      const Tulay__V1__Request *inner, bool tamper,
					      Tulay__V1__LocalCase *local)
{
	size_t len = tulay__v1__request__get_packed_size(inner);
	uint8_t *plain = malloc(len + 1), *sealed = malloc(len + crypto_box_SEALBYTES);
	assert_non_null(plain);
	assert_non_null(sealed);
	tulay__v1__request__pack(inner, plain);
	for (size_t i = 0; i < len; i++) /* as send_with_nuls, inside the seal */
		if (plain[i] == '#')
			plain[i] = 0;
	assert_int_equal(crypto_box_seal(sealed, plain, len, pk), 0);
	if (tamper)
		sealed[len / 2 + crypto_box_SEALBYTES] ^= 1;
	IT_REQUEST(req);
	Tulay__V1__SealedRequest body = TULAY__V1__SEALED_REQUEST__INIT;
	body.sealed = (ProtobufCBinaryData){.len = len + crypto_box_SEALBYTES, .data = sealed};
	body.local_cases = &local;
	body.n_local_cases = local != NULL ? 1 : 0;
	req.id = id;
	req.body_case = TULAY__V1__REQUEST__BODY_SEALED_REQUEST;
	req.sealed_request = &body;
	Tulay__V1__Response *resp = roundtrip(fd, &req);
	free(plain);
	free(sealed);
	return resp;
}

/* Issue 15, point 1: a case write sealed to the key HelloReply publishes is opened and
 * answered as that write sent in the clear, under the carrying request's id, replays
 * included; what cannot be opened, or is not a case write, or breaks the frame checks
 * inside, is refused naming the field, and the connection goes on. */
static void test_sealed_requests(void **state)
{
	(void)state;
	assert_int_equal(sodium_init() >= 0, 1);
	int fd = it_raw_connect();
	IT_REQUEST(hello_req);
	Tulay__V1__Hello hello = TULAY__V1__HELLO__INIT;
	hello.protocol_version = 1;
	hello_req.id = 1;
	hello_req.body_case = TULAY__V1__REQUEST__BODY_HELLO;
	hello_req.hello = &hello;
	Tulay__V1__Response *resp = roundtrip(fd, &hello_req);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(resp->hello->sealing_public_key.len, crypto_box_PUBLICKEYBYTES);
	uint8_t pk[crypto_box_PUBLICKEYBYTES], other_pk[crypto_box_PUBLICKEYBYTES],
	    other_sk[crypto_box_SECRETKEYBYTES];
	memcpy(pk, resp->hello->sealing_public_key.data, sizeof(pk));
	tulay__v1__response__free_unpacked(resp, NULL);
	crypto_box_keypair(other_pk, other_sk);
	it_raw_login(fd, "officer");

	IT_REQUEST(inner);
	Tulay__V1__CreateClaim claim;
	Tulay__V1__Money amount;
	claim_request(&inner, &claim, &amount, 999); /* the inner id is ignored */
	static const uint8_t key[16] = "it_protocol-seal";
	claim.idempotency_key.data = (uint8_t *)key;
	claim.employer = "Sealed Boat Co";

	/* Opened and answered as CreateClaim, under the outer id; the same bytes again are
	 * answered as the first time. */
	resp = sealed_send(fd, 70, pk, &inner, false);
	assert_int_equal(resp->id, 70);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(resp->body_case, TULAY__V1__RESPONSE__BODY_CLAIM);
	assert_string_equal(resp->claim->employer, "Sealed Boat Co");
	char *reference = strdup(resp->claim->reference);
	tulay__v1__response__free_unpacked(resp, NULL);
	resp = sealed_send(fd, 71, pk, &inner, false);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_string_equal(resp->claim->reference, reference);
	tulay__v1__response__free_unpacked(resp, NULL);
	free(reference);

	/* A note naming that claim by a placeholder and the key of the write that logged it:
	 * the server puts the claim's reference in. */
	IT_REQUEST(note_req);
	Tulay__V1__AddCaseNote note = TULAY__V1__ADD_CASE_NOTE__INIT;
	static const uint8_t note_key[16] = "it_protocol-note";
	note.idempotency_key = (ProtobufCBinaryData){.len = 16, .data = (uint8_t *)note_key};
	note.reference = "local:1";
	note.text = "Noted through a placeholder";
	note_req.body_case = TULAY__V1__REQUEST__BODY_ADD_CASE_NOTE;
	note_req.add_case_note = &note;
	Tulay__V1__LocalCase local = TULAY__V1__LOCAL_CASE__INIT;
	local.placeholder = "local:1";
	local.idempotency_key = (ProtobufCBinaryData){.len = 16, .data = (uint8_t *)key};
	resp = sealed_send_local(fd, 80, pk, &note_req, false, &local);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
	assert_int_equal(resp->body_case, TULAY__V1__RESPONSE__BODY_CASE_EVENT);
	tulay__v1__response__free_unpacked(resp, NULL);
	static const uint8_t unknown_key[16] = "it_protocol-none";
	local.idempotency_key.data = (uint8_t *)unknown_key; /* no case logged by that key */
	resp = sealed_send_local(fd, 81, pk, &note_req, false, &local);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__FAILED_PRECONDITION);
	assert_non_null(strstr(resp->status->message, "local_cases[0]"));
	tulay__v1__response__free_unpacked(resp, NULL);
	local.idempotency_key.data = (uint8_t *)key;
	local.placeholder = "local:2"; /* not in the note */
	resp = sealed_send_local(fd, 82, pk, &note_req, false, &local);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(resp->status->field_errors[0]->field, "local_cases[0]");
	tulay__v1__response__free_unpacked(resp, NULL);
	local.placeholder = "WT-2026-000001"; /* not a placeholder */
	resp = sealed_send_local(fd, 83, pk, &note_req, false, &local);
	expect_field_refused(resp, 83, "local_cases[0].placeholder",
			     "must be local: and the outbox entry's number, e.g. local:7");
	tulay__v1__response__free_unpacked(resp, NULL);

	/* Refused, naming the field. */
	resp = sealed_send(fd, 72, other_pk, &inner, false); /* another deployment's key */
	expect_field_refused(resp, 72, "sealed",
			     "cannot be opened with this server's key: it was sealed to another "
			     "deployment's key (log in to this one to pin its key, and queue the "
			     "write again) or it was altered");
	tulay__v1__response__free_unpacked(resp, NULL);
	resp = sealed_send(fd, 73, pk, &inner, true); /* altered */
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(resp->status->field_errors[0]->field, "sealed");
	tulay__v1__response__free_unpacked(resp, NULL);
	claim.employer = "Sealed # Boat"; /* a NUL inside: the frame checks run on it */
	resp = sealed_send(fd, 74, pk, &inner, false);
	expect_field_refused(resp, 74, "employer", "must not contain NUL characters");
	tulay__v1__response__free_unpacked(resp, NULL);
	IT_REQUEST(read);
	Tulay__V1__ListClaims list;
	list_claims_request(&read, &list, 5);
	resp = sealed_send(fd, 75, pk, &read, false); /* not a write */
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(resp->status->field_errors[0]->field, "sealed");
	tulay__v1__response__free_unpacked(resp, NULL);
	IT_REQUEST(empty);
	resp = sealed_send(fd, 76, pk, &empty, false); /* no body at all */
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	tulay__v1__response__free_unpacked(resp, NULL);
	IT_REQUEST(garbage);
	Tulay__V1__SealedRequest junk = TULAY__V1__SEALED_REQUEST__INIT;
	junk.sealed = (ProtobufCBinaryData){.len = 5, .data = (uint8_t *)"short"};
	garbage.id = 77;
	garbage.body_case = TULAY__V1__REQUEST__BODY_SEALED_REQUEST;
	garbage.sealed_request = &junk;
	resp = roundtrip(fd, &garbage);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	tulay__v1__response__free_unpacked(resp, NULL);
	resp = sealed_send(fd, 78, pk, &garbage, false); /* sealed within sealed */
	assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
	assert_string_equal(resp->status->field_errors[0]->field, "sealed");
	tulay__v1__response__free_unpacked(resp, NULL);
	close(fd);

	/* Before login, like any write. */
	fd = it_raw_connect();
	it_raw_hello(fd);
	claim.employer = "Sealed Boat Co";
	resp = sealed_send(fd, 79, pk, &inner, false);
	assert_int_equal(resp->status->code, TULAY__V1__CODE__UNAUTHENTICATED);
	tulay__v1__response__free_unpacked(resp, NULL);
	close(fd);
	assert_server_serves();
}

static void test_export_stream(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_hello(fd);
	it_raw_login(fd, "officer");
	const struct {
		Tulay__V1__CaseKind kind;
		const char *status, *resume_after;
		uint32_t page_size;
		const char *field;
	} bad[] = {
	    {TULAY__V1__CASE_KIND__CASE_KIND_UNSPECIFIED, "", "", 0, "kind"},
	    {(Tulay__V1__CaseKind)9, "", "", 0, "kind"},
	    {TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT, "detained", "", 0, "status"},
	    {TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT, "", "99999999999999999999", 0,
	     "resume_after"},
	    {TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT, "", "9999999999999999999", 0,
	     "resume_after"},
	    {TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT, "", "12a", 0, "resume_after"},
	    {TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT, "", "", 1001, "page_size"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		export_send(fd, 60 + i, bad[i].kind, bad[i].status, bad[i].resume_after,
			    bad[i].page_size);
		Tulay__V1__Response *resp = it_raw_recv(fd);
		assert_non_null(resp);
		assert_int_equal(resp->id, 60 + i);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__INVALID_ARGUMENT);
		assert_int_equal(resp->status->n_field_errors, 1);
		assert_string_equal(resp->status->field_errors[0]->field, bad[i].field);
		tulay__v1__response__free_unpacked(resp, NULL);
	}

	/* Two claims at least, then an export a claim a page with a ListClaims behind it. */
	for (uint64_t id = 80; id < 82; id++) {
		IT_REQUEST(req);
		Tulay__V1__CreateClaim claim;
		Tulay__V1__Money amount;
		claim_request(&req, &claim, &amount, id);
		uint8_t key[16] = "it_protocol-exp";
		key[15] = (uint8_t)id;
		claim.idempotency_key.data = key;
		Tulay__V1__Response *resp = roundtrip(fd, &req);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		tulay__v1__response__free_unpacked(resp, NULL);
	}
	export_send(fd, 90, TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT, "", "", 7);
	IT_REQUEST(list);
	Tulay__V1__ListClaims lc = TULAY__V1__LIST_CLAIMS__INIT;
	list.id = 91;
	list.body_case = TULAY__V1__REQUEST__BODY_LIST_CLAIMS;
	list.list_claims = &lc;
	assert_int_equal(it_raw_send(fd, &list), 0);
	bool last = false, listed = false;
	uint64_t pages = 0, exported = 0;
	char first_resume[32] = "";
	uint64_t first_page = 0;
	while (!last || !listed) {
		Tulay__V1__Response *resp = it_raw_recv(fd);
		assert_non_null(resp);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		if (resp->id == 91) {
			assert_false(listed);
			listed = true;
		} else {
			assert_int_equal(resp->id, 90);
			assert_false(last); /* nothing under the id after the last page */
			const Tulay__V1__ExportPage *page = resp->export_page;
			assert_non_null(page);
			assert_true(page->n_claims <= 7);
			exported += page->n_claims;
			assert_int_equal(page->exported, exported);
			if (page->n_claims > 0)
				assert_null(page->claims[0]->worker); /* no identities unasked */
			if (pages++ == 0) {
				snprintf(first_resume, sizeof(first_resume), "%s",
					 page->resume_after);
				first_page = page->n_claims;
			}
			last = page->last;
		}
		tulay__v1__response__free_unpacked(resp, NULL);
	}
	assert_true(exported >= 2);
	assert_true(pages >= exported / 7);

	/* After the first page: every claim but the first page's. */
	export_send(fd, 92, TULAY__V1__CASE_KIND__CASE_KIND_WAGE_THEFT, "", first_resume, 1000);
	uint64_t rest = 0;
	for (last = false; !last;) {
		Tulay__V1__Response *resp = it_raw_recv(fd);
		assert_non_null(resp);
		assert_int_equal(resp->id, 92);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		rest += resp->export_page->n_claims;
		last = resp->export_page->last;
		tulay__v1__response__free_unpacked(resp, NULL);
	}
	assert_int_equal(rest, exported - first_page);
	close(fd);
	assert_server_serves();
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_must_come_first),
	    cmocka_unit_test(test_unsupported_protocol_version_closes),
	    cmocka_unit_test(test_requests_need_a_session),
	    cmocka_unit_test(test_wrong_password_gives_no_hint),
	    cmocka_unit_test(test_oversized_frame_before_login),
	    cmocka_unit_test(test_oversized_frame_after_login),
	    cmocka_unit_test(test_random_bytes_close_the_connection),
	    cmocka_unit_test(test_wrong_wire_type_closes),
	    cmocka_unit_test(test_truncated_frame_then_disconnect),
	    cmocka_unit_test(test_request_without_body),
	    cmocka_unit_test(test_unknown_request_type),
	    cmocka_unit_test(test_pipelined_hello_login_request),
	    cmocka_unit_test(test_tokens_forged_and_after_logout),
	    cmocka_unit_test(test_finding4_strings_cut_at_nul),
	    cmocka_unit_test(test_finding5_large_frames_dropped),
	    cmocka_unit_test(test_export_stream),
	    cmocka_unit_test(test_sealed_requests),
	};
	return cmocka_run_group_tests_name("it_protocol", tests, NULL, NULL);
}
