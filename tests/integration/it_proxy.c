/* --proxy-protocol 1: behind HAProxy (send-proxy-v2) every connection starts with a PROXY
 * protocol v2 header naming the client. Against a tulayd of its own, over raw sockets:
 *  - a client named by the header is served, and logged under its own address;
 *  - the proxy's own health check (a LOCAL header) is served too, under the proxy's address;
 *  - the login throttle counts per client named, not per proxy: two failed logins from one
 *    named address exhaust its allowance (2 a minute), and another named address still
 *    logs in;
 *  - a connection without a header, or with a damaged one, is closed and logged;
 *  - with TLS, the header comes before the handshake, which then completes (TLS 1.3). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "it_support.h"

static struct it_tulayd tulayd;

/* A PROXY v2 header: PROXY over TCP/IPv4 from `client` (a.b.c.d) and `port` to the
 * server, or LOCAL when client is NULL. Returns its length. */
static size_t proxy_header(uint8_t out[28], const char *client, uint16_t port)
{
	static const uint8_t sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
					0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
	memcpy(out, sig, sizeof(sig));
	if (client == NULL) {
		out[12] = 0x20; /* version 2, LOCAL */
		out[13] = 0x00; /* UNSPEC */
		out[14] = out[15] = 0;
		return 16;
	}
	out[12] = 0x21; /* version 2, PROXY */
	out[13] = 0x11; /* TCP over IPv4 */
	out[14] = 0;
	out[15] = 12;
	assert_int_equal(inet_pton(AF_INET, client, out + 16), 1);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", out + 20), 1);
	uint16_t src = htons(port), dst = htons((uint16_t)tulayd.port);
	memcpy(out + 24, &src, 2);
	memcpy(out + 26, &dst, 2);
	return 28;
}

static int proxied_connect(const char *client, uint16_t port)
{
	int fd = it_raw_connect();
	uint8_t header[28];
	size_t len = proxy_header(header, client, port);
	assert_int_equal(it_raw_write(fd, header, len), 0);
	return fd;
}

static Tulay__V1__Code login_code(int fd, uint64_t id, const char *username)
{
	it_raw_send_login(fd, id, username);
	Tulay__V1__Response *resp = it_raw_recv(fd);
	assert_non_null(resp);
	Tulay__V1__Code code = resp->status->code;
	tulay__v1__response__free_unpacked(resp, NULL);
	return code;
}

static void test_client_named_by_the_header(void **state)
{
	(void)state;
	int fd = proxied_connect("203.0.113.7", 40001);
	it_raw_hello(fd);
	it_raw_login(fd, "officer");
	close(fd);
	assert_true(it_file_has_within(tulayd.log, "event=conn_proxied", 30000));
	assert_true(
	    it_file_has_within(tulayd.log, "peer=203.0.113.7:40001 proxy=127.0.0.1:", 30000));
}

/* True when a line of the log has both `a` and `b`, waiting up to 30 s for it: tulayd
 * writes a loop turn's info lines when the turn ends, after the answers of that turn. */
static bool log_line_has(const char *a, const char *b)
{
	bool found = false;
	for (int tries = 0; tries < 3000 && !found; tries++) {
		if (tries > 0)
			it_sleep_ms(10);
		char *text = it_read_file(tulayd.log);
		for (char *line = text != NULL ? strtok(text, "\n") : NULL; line != NULL && !found;
		     line = strtok(NULL, "\n"))
			found = strstr(line, a) != NULL && strstr(line, b) != NULL;
		free(text);
	}
	return found;
}

static void test_health_check_local_header(void **state)
{
	(void)state;
	int fd = proxied_connect(NULL, 0);
	it_raw_hello(fd);
	close(fd);
	assert_true(log_line_has("event=conn_proxied", "peer=127.0.0.1:"));
}

/* --login-attempts-per-minute-per-address 2: a third attempt from one named client is
 * refused unchecked; a client of another address behind the same proxy is not. */
static void test_login_throttle_counts_each_client(void **state)
{
	(void)state;
	int a = proxied_connect("198.51.100.20", 40002);
	it_raw_hello(a);
	assert_int_equal(login_code(a, 2, "nobody-here"), TULAY__V1__CODE__UNAUTHENTICATED);
	assert_int_equal(login_code(a, 3, "nobody-here-either"), TULAY__V1__CODE__UNAUTHENTICATED);
	assert_int_equal(login_code(a, 4, "officer"), TULAY__V1__CODE__RESOURCE_EXHAUSTED);
	close(a);
	int b = proxied_connect("198.51.100.21", 40003);
	it_raw_hello(b);
	assert_int_equal(login_code(b, 2, "officer"), TULAY__V1__CODE__OK);
	close(b);
	assert_true(it_file_has_within(tulayd.log, "event=login_throttled", 30000));
}

static void test_no_or_damaged_header_is_refused(void **state)
{
	(void)state;
	int fd = it_raw_connect();
	it_raw_send_hello(fd); /* a frame where the header should be */
	assert_true(it_raw_closed(fd));
	close(fd);
	assert_true(it_file_has_within(tulayd.log, "event=proxy_header_invalid", 30000) &&
		    it_file_has_within(tulayd.log, "reason=no_signature", 30000));

	fd = it_raw_connect();
	uint8_t header[28];
	proxy_header(header, "203.0.113.9", 40004);
	header[12] = 0x31; /* version 3 */
	assert_int_equal(it_raw_write(fd, header, sizeof(header)), 0);
	assert_true(it_raw_closed(fd));
	close(fd);
	assert_true(it_file_has_within(tulayd.log, "reason=version_or_command", 30000));
}

/* A tulayd of its own with TLS (the harness's development certificates) and the header. */
static void test_tls_after_the_header(void **state)
{
	(void)state;
	struct it_tulayd tls_tulayd;
	char cert[600], key[600], ca[600];
	snprintf(cert, sizeof(cert), "%s/server.pem", it_env("TULAY_TEST_TLS_DIR"));
	snprintf(key, sizeof(key), "%s/server.key", it_env("TULAY_TEST_TLS_DIR"));
	snprintf(ca, sizeof(ca), "%s/ca.pem", it_env("TULAY_TEST_TLS_DIR"));
	const char *args[] = {"--proxy-protocol", "1", "--tls-cert",        cert, "--tls-key", key,
			      "--db-connections", "1", IT_TULAYD_NO_CHORES, NULL};
	it_tulayd_start(&tls_tulayd, "it_proxy_tls", args);
	char plain_server[64];
	snprintf(plain_server, sizeof(plain_server), "%s", getenv("TULAY_SERVER"));
	unsigned plain_port = tulayd.port;
	setenv("TULAY_SERVER", tls_tulayd.server, 1);
	tulayd.port = tls_tulayd.port; /* the header names it as the destination */
	int fd = proxied_connect("192.0.2.55", 40005);
	setenv("TULAY_SERVER", plain_server, 1);
	tulayd.port = plain_port;

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL *ssl = SSL_new(ctx);
	assert_non_null(ssl);
	assert_int_equal(SSL_set1_host(ssl, "127.0.0.1"), 1);
	assert_int_equal(SSL_set_fd(ssl, fd), 1);
	int connected = SSL_connect(ssl);
	int version = SSL_version(ssl);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	bool proxied =
	    it_file_has_within(tls_tulayd.log, "peer=192.0.2.55:40005 proxy=127.0.0.1:", 30000);
	bool handshake = it_file_has_within(tls_tulayd.log, "event=tls_handshake", 10000);
	assert_int_equal(it_tulayd_stop(&tls_tulayd), 0);
	assert_int_equal(connected, 1);
	assert_int_equal(version, TLS1_3_VERSION);
	assert_true(proxied);
	assert_true(handshake);
}

static int start(void **state)
{
	(void)state;
	const char *args[] = {"--proxy-protocol",
			      "1",
			      "--login-attempts-per-minute-per-address",
			      "2",
			      "--db-connections",
			      "1",
			      IT_TULAYD_NO_CHORES,
			      NULL};
	it_tulayd_start(&tulayd, "it_proxy", args);
	setenv("TULAY_SERVER", tulayd.server, 1);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	return it_tulayd_stop(&tulayd);
}

int main(int argc, char **argv)
{
	it_load_env(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_named_by_the_header),
	    cmocka_unit_test(test_health_check_local_header),
	    cmocka_unit_test(test_login_throttle_counts_each_client),
	    cmocka_unit_test(test_no_or_damaged_header_is_refused),
	    cmocka_unit_test(test_tls_after_the_header),
	};
	return cmocka_run_group_tests_name("it_proxy", tests, start, stop);
}
