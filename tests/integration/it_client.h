/* Integration-test helpers that speak through libtulay (it_support.h speaks raw frames). */
#ifndef TULAY_IT_CLIENT_H
#define TULAY_IT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "libtulay.h"

/* Pipelines n ListClaims{limit 500} without reading anything; returns the first id (the
 * others follow it). Asserts every send works. */
uint64_t it_flood(struct tulay_client *c, int n);

/* Waits two seconds (so the kernel's buffers and then the server's queue fill), then
 * reads the n answers to it_flood's requests in whatever order they come, asserting each
 * is OK and answers exactly one of them. Returns the response bytes read. */
size_t it_drain(struct tulay_client *c, uint64_t first_id, int n);

#endif
