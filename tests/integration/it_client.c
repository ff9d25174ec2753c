#include "it_client.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

uint64_t it_flood(struct tulay_client *c, int n)
{
	uint64_t first_id = 0;
	for (int i = 0; i < n; i++) {
		Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
		Tulay__V1__ListClaims q = TULAY__V1__LIST_CLAIMS__INIT;
		q.limit = 500;
		req.body_case = TULAY__V1__REQUEST__BODY_LIST_CLAIMS;
		req.list_claims = &q;
		uint64_t id;
		assert_int_equal(tulay_send(c, &req, &id), 0);
		if (i == 0)
			first_id = id;
		assert_int_equal(id, first_id + (uint64_t)i);
	}
	return first_id;
}

size_t it_drain(struct tulay_client *c, uint64_t first_id, int n)
{
	bool *answered = calloc((size_t)n, sizeof(*answered));
	assert_non_null(answered);
	sleep(2);
	size_t bytes = 0;
	for (int i = 0; i < n; i++) {
		Tulay__V1__Response *resp = NULL;
		assert_int_equal(tulay_recv(c, &resp), 0);
		assert_int_equal(resp->status->code, TULAY__V1__CODE__OK);
		assert_true(resp->id >= first_id && resp->id < first_id + (uint64_t)n);
		assert_false(answered[resp->id - first_id]);
		answered[resp->id - first_id] = true;
		bytes += tulay__v1__response__get_packed_size(resp);
		tulay_response_free(resp);
	}
	free(answered);
	return bytes;
}
