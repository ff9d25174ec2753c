/* tulayd configuration: defaults, file, environment and flags in that order of strength,
 * errors that name the setting, and password masking in logs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arena.h"
#include "config.h"
#include "vault.h"

static void test_defaults(void **state)
{
	(void)state;
	struct config cfg;
	config_defaults(&cfg);
	assert_string_equal(cfg.listen, "127.0.0.1");
	assert_int_equal(cfg.port, 7420);
	assert_int_equal(cfg.max_frame_bytes, 1024 * 1024);
	assert_int_equal(cfg.max_frame_bytes_before_login, 16 * 1024);
	assert_int_equal(cfg.max_requests_in_flight, 32);
}

static int load(struct config *cfg, int argc, char **argv, int *n_rest, char *err, size_t len)
{
	int rest[16];
	return config_load(cfg, argc, argv, 1, rest, n_rest, err, len);
}

static void test_precedence(void **state)
{
	(void)state;
	char path[] = "/tmp/tulay-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "# a comment\nport = 7001\nmax_connections = 50\nlisten = 127.0.0.2\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	setenv("TULAY_CONFIG", path, 1);
	setenv("TULAY_PORT", "7002", 1); /* env beats file */
	struct config cfg;
	config_defaults(&cfg);
	char *argv[] = {"tulayd", "--max-connections", "60", "--port=7003", "extra", NULL};
	int n_rest = 0;
	char err[256] = "";
	assert_int_equal(load(&cfg, 5, argv, &n_rest, err, sizeof(err)), 0);
	assert_int_equal(cfg.port, 7003);             /* flag beats env */
	assert_int_equal(cfg.max_connections, 60);    /* flag beats file */
	assert_string_equal(cfg.listen, "127.0.0.2"); /* file beats default */
	assert_int_equal(n_rest, 1);                  /* "extra" left for the caller */
	unsetenv("TULAY_CONFIG");
	unsetenv("TULAY_PORT");
	unlink(path);
}

static void test_errors_name_the_setting(void **state)
{
	(void)state;
	struct config cfg;
	char err[256];
	int n_rest;

	config_defaults(&cfg);
	char *bad_number[] = {"tulayd", "--port", "seventy", NULL};
	assert_int_equal(load(&cfg, 3, bad_number, &n_rest, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "port"));
	assert_non_null(strstr(err, "seventy"));

	config_defaults(&cfg);
	char *out_of_range[] = {"tulayd", "--max-frame-bytes", "10", NULL};
	assert_int_equal(load(&cfg, 3, out_of_range, &n_rest, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "max_frame_bytes"));

	config_defaults(&cfg);
	char *missing[] = {"tulayd", "--db", NULL};
	assert_int_equal(load(&cfg, 2, missing, &n_rest, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--db"));

	config_defaults(&cfg);
	setenv("TULAY_LOG_LEVEL", "loud", 1);
	char *none[] = {"tulayd", NULL};
	assert_int_equal(load(&cfg, 1, none, &n_rest, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "log_level"));
	unsetenv("TULAY_LOG_LEVEL");

	config_defaults(&cfg);
	char *inverted[] = {
	    "tulayd", "--max-frame-bytes", "2048", "--max-frame-bytes-before-login", "4096", NULL};
	assert_int_equal(load(&cfg, 5, inverted, &n_rest, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "max_frame_bytes_before_login"));
}

/* Exact reports can be differenced to find one person: only tests may ask for them. */
static void test_exact_reports_for_tests_only(void **state)
{
	(void)state;
	struct config cfg;
	char err[256];
	int n_rest;
	char *exact[] = {"tulayd", "--report-perturbation", "0", NULL};

	config_defaults(&cfg);
	assert_int_equal(cfg.report_perturbation, 1);
	unsetenv("TULAY_TESTING");
	assert_int_equal(load(&cfg, 3, exact, &n_rest, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "report_perturbation 0"));
	assert_non_null(strstr(err, "TULAY_TESTING=1"));

	config_defaults(&cfg);
	setenv("TULAY_TESTING", "yes", 1); /* only 1 will do */
	assert_int_equal(load(&cfg, 3, exact, &n_rest, err, sizeof(err)), -1);

	config_defaults(&cfg);
	setenv("TULAY_TESTING", "1", 1);
	assert_int_equal(load(&cfg, 3, exact, &n_rest, err, sizeof(err)), 0);
	assert_int_equal(cfg.report_perturbation, 0);
	unsetenv("TULAY_TESTING");
}

/* A hash made at another cost than the server's is made again at the next login. */
static void test_password_rehash_when_the_cost_differs(void **state)
{
	(void)state;
	char cheap[crypto_pwhash_STRBYTES];
	assert_int_equal(sodium_init() >= 0, 1);
	assert_true(vault_password_hash(cheap, "correct horse", 0));
	assert_false(vault_password_needs_rehash(cheap, 0));
	assert_true(vault_password_needs_rehash(cheap, 1));
	assert_true(vault_password_needs_rehash(cheap, 2));
	assert_true(vault_password_needs_rehash("not a hash", 0));
}

/* Cheap password hashes are guessed fast from a stolen database: only tests may ask. */
static void test_cheap_passwords_for_tests_only(void **state)
{
	(void)state;
	struct config cfg;
	char err[256];
	int n_rest;
	char *cheap[] = {"tulayd", "--password-cost", "0", NULL};
	char *moderate[] = {"tulayd", "--password-cost", "2", NULL};
	char *too_much[] = {"tulayd", "--password-cost", "3", NULL};

	config_defaults(&cfg);
	assert_int_equal(cfg.password_cost, 1);
	unsetenv("TULAY_TESTING");
	assert_int_equal(load(&cfg, 3, cheap, &n_rest, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "password_cost 0"));
	assert_non_null(strstr(err, "TULAY_TESTING=1"));
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, 3, moderate, &n_rest, err, sizeof(err)), 0);
	assert_int_equal(cfg.password_cost, 2);
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, 3, too_much, &n_rest, err, sizeof(err)), -1);

	config_defaults(&cfg);
	setenv("TULAY_TESTING", "1", 1);
	assert_int_equal(load(&cfg, 3, cheap, &n_rest, err, sizeof(err)), 0);
	assert_int_equal(cfg.password_cost, 0);
	unsetenv("TULAY_TESTING");
}

static void test_password_masking(void **state)
{
	(void)state;
	char out[256];
	config_mask_conninfo("host=/tmp dbname=tulay user=tulay password=s3cret", out, sizeof(out));
	assert_null(strstr(out, "s3cret"));
	assert_non_null(strstr(out, "password=****"));
	assert_non_null(strstr(out, "dbname=tulay"));

	config_mask_conninfo("password = 'with space' host=db", out, sizeof(out));
	assert_null(strstr(out, "with"));
	assert_non_null(strstr(out, "host=db"));

	config_mask_conninfo("postgresql://tulay:s3cret@db:5432/tulay?sslmode=require", out,
			     sizeof(out));
	assert_null(strstr(out, "s3cret"));
	assert_string_equal(out, "postgresql://tulay:****@db:5432/tulay?sslmode=require");

	config_mask_conninfo("postgresql://db/tulay?user=x&password=s3cret&sslmode=require", out,
			     sizeof(out));
	assert_null(strstr(out, "s3cret"));
	assert_non_null(strstr(out, "sslmode=require"));

	config_mask_conninfo("host=db dbname=tulay", out, sizeof(out));
	assert_string_equal(out, "host=db dbname=tulay");
}

static void test_transport_rule(void **state)
{
	(void)state;
	struct config cfg;
	char err[512];
	config_defaults(&cfg);
	assert_int_equal(config_check_transport(&cfg, err, sizeof(err)), 0); /* 127.0.0.1 */
	const char *loopback[] = {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"};
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
		assert_true(config_listen_is_loopback(loopback[i]));
	const char *elsewhere[] = {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "localhost", ""};
	for (size_t i = 0; i < sizeof(elsewhere) / sizeof(elsewhere[0]); i++)
		assert_false(config_listen_is_loopback(elsewhere[i]));

	snprintf(cfg.listen, sizeof(cfg.listen), "0.0.0.0");
	assert_int_equal(config_check_transport(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tls_cert"));
	assert_non_null(strstr(err, "tls_key"));
	snprintf(cfg.tls_cert, sizeof(cfg.tls_cert), "/etc/tulay/server.pem");
	assert_int_equal(config_check_transport(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tls_key is not"));
	snprintf(cfg.tls_key, sizeof(cfg.tls_key), "/etc/tulay/server.key");
	assert_int_equal(config_check_transport(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.handshake_timeout_ms, 10000);
	assert_int_equal(cfg.login_timeout_ms, 30000);
	assert_int_equal(cfg.idle_timeout_ms, 300000);
	assert_int_equal(cfg.login_attempts_per_minute, 10);
	assert_int_equal(cfg.login_attempts_per_minute_per_address, 30);
}

static void test_arena_cap(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a, 64 * 1024);
	void *p = arena_alloc(&a, 100);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 16, 0);
	assert_non_null(arena_alloc(&a, 20000));
	assert_null(arena_alloc(&a, 60000)); /* over the cap */
	assert_string_equal(arena_printf(&a, "%s-%d", "WT", 2026), "WT-2026");
	arena_release(&a);
	assert_null(a.chunks);
	assert_non_null(arena_alloc(&a, 100)); /* usable again */
	arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_errors_name_the_setting),
	    cmocka_unit_test(test_exact_reports_for_tests_only),
	    cmocka_unit_test(test_cheap_passwords_for_tests_only),
	    cmocka_unit_test(test_password_rehash_when_the_cost_differs),
	    cmocka_unit_test(test_password_masking),
	    cmocka_unit_test(test_transport_rule),
	    cmocka_unit_test(test_arena_cap),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
