/* The client of it_request_path: connects to tulayd over TLS (argv[1] the server, argv[2]
 * the CA file), logs in as the harness's officer, says "ready" on stdout, and once a line
 * arrives on stdin sends one CreateClaim and prints its reference; it closes the connection
 * after a second line. What tulayd does between the first line and the reference is one
 * CreateClaim's path, and nothing else. */
#include <stdio.h>
#include <stdlib.h>

#include "it_support.h"
#include "libtulay.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: it_path_client ENV_FILE SERVER CA_FILE\n");
		return 64;
	}
	char *env_argv[] = {argv[0], argv[1], NULL};
	it_load_env(2, env_argv);
	struct tulay_client *c = NULL;
	Tulay__V1__Response *resp = NULL;
	int rc = tulay_connect_tls(argv[2], argv[3], 120000, "it_path_client", &c);
	if (rc == 0)
		rc = tulay_login(c, "officer", it_env("TULAY_TEST_PASSWORD"), &resp);
	if (rc != 0) {
		fprintf(stderr, "it_path_client: %s\n",
			c ? tulay_last_error(c) : tulay_strerror(rc));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	char line[16];
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;

	uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES];
	struct it_claim claim;
	tulay_new_idempotency_key(key);
	it_claim_init(&claim, key, &(struct it_claim_spec){0});
	rc = tulay_create_claim(c, &claim.m, &resp);
	if (rc != 0) {
		fprintf(stderr, "it_path_client: %s\n", tulay_last_error(c));
		return 1;
	}
	printf("%s\n", resp->claim->reference);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	tulay_close(c);
	return 0;
}
