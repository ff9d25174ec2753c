/* What the handlers of every case kind share: enum <-> code tables, reading rows (bytea,
 * money, timelines), sealing free text to a case, references, page tokens, and the
 * preamble of every timeline write. */
#ifndef TULAYD_CASE_COMMON_H
#define TULAYD_CASE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "civil_date.h"
#include "common.h"
#include "db.h"

#include "tulay/v1/envelope.pb-c.h"

struct request;

/* A bytea column in text form ("\x0a1b...") decoded into the arena; NULL if malformed or
 * out of memory. */
uint8_t *case_bytea(struct request *req, const PGresult *res, int row, int col, size_t *len);

/* A Money from the columns `name`_minor (minor units) and `name`_currency; NULL when the
 * amount is NULL (unset) or memory runs out (*oom then). */
Tulay__V1__Money *case_money(struct request *req, const PGresult *res, int row, const char *name,
			     bool *oom);

/* "%lld" of value in the arena (NULL when out of memory). */
char *case_int_param(struct request *req, long long value);

/* A case reference: two capital letters, the year and a sequence ("WT-2026-000123",
 * "DP-2026-000001", "RC-2026-000007"). */
bool case_reference_is_valid(const char *ref);

/* A next_page_token this server gives out: empty, or up to 18 digits. */
bool case_page_token_is_valid(const char *token);

/* The most items one page of a list holds (its request's `limit`). */
#define CASE_PAGE_MAX      500
#define CASE_PAGE_MAX_TEXT "500"

/* Adds the field errors of a list request's `limit` (at most CASE_PAGE_MAX) and
 * `page_token` (one this server gave out). */
void case_check_paging(struct request *req, uint32_t limit, const char *page_token);

/* Makes the item of row `row` of res, reading the columns whose indexes `cols` holds (the
 * caller's, looked up once per result); NULL after failing the request. */
typedef void *case_item_fn(struct request *req, const PGresult *res, int row, const void *cols);

/* One page of a keyset-paged list: its items, their count, and the next page's token. */
struct case_page {
	void **items;
	size_t n;
	char *next;
};

/* The page of res, whose statement fetched up to limit + 1 rows: the items item() makes of
 * the first `limit` rows (in the request's arena; each call gets `cols`), and the next
 * page's token: column `id_column` of the last item shown when more rows came (rows added
 * meanwhile have higher ids, so they never shift a page), else "". False after failing the
 * request. */
bool case_page(struct request *req, const PGresult *res, unsigned limit, int id_column,
	       case_item_fn *item, const void *cols, struct case_page *page);

/* Today's date in UTC, the server's calendar (dates "not in the future" are checked
 * against it, as PostgreSQL's opened_on is). */
void case_today(struct civil_date *today);

/* True if value has min..max characters, all from `allowed`. */
bool chars_in(const char *value, size_t min, size_t max, const char *allowed);

/* A repeated enum field (grounds, means): records a field error on `field` when a value
 * has no code in `codes` ("is not a <noun>") or comes twice. `values` are the field's
 * enum values (protobuf-c enums are int-sized). */
void case_check_code_list(struct request *req, const char *field, const ProtobufCEnumDescriptor *e,
			  const int *values, size_t n, const char *noun);

/* The codes of checked `values` as a PostgreSQL array literal, "{no_permit,overstay}", in
 * the arena; NULL when out of memory. Our codes need no quoting. */
char *case_code_list_param(struct request *req, const ProtobufCEnumDescriptor *e, const int *values,
			   size_t n);

/* The enum values of a comma-separated list of codes (array_to_string(column, ',')) as an
 * arena array of *n ints, skipping codes this server does not know; NULL when out of
 * memory. */
int *case_code_list_values(struct request *req, const char *list, const ProtobufCEnumDescriptor *e,
			   size_t *n);

/* The characters of ID numbers and phone numbers; field errors' wording. */
#define ID_NUMBER_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -./"
#define ID_NUMBER_PROBLEM                                                                          \
	"must be 3 to 40 letters and digits (spaces, '-', '.' and '/' allowed), as on the "        \
	"passport or ID card"

/* Seals `text` for (org_id, table, column, row key) into the arena; NULL when out of
 * memory. */
uint8_t *case_seal(struct request *req, int64_t org_id, const char *table, const char *column,
		   const uint8_t *key, size_t key_len, const char *text, size_t *sealed_len);

/* Opens the sealed value in column `col` of `row` (NULL column: *out = NULL, true). The
 * row key is the bytea in column key_col. Returns false when it fails its integrity check
 * (logged) or memory runs out. */
bool case_open_column(struct request *req, const PGresult *res, int row, int col, int key_col,
		      int64_t org_id, const char *table, const char *column, char **out);

/* The columns case_timeline and case_event_reply read, each by its name (e the case's
 * event, u its recorder's user_names row): statements "case_timeline" ($1 org_id, $2
 * reference), "case_timeline_by_key" ($1 org_id, $2 the case's idempotency key, for the
 * case a request creates) and "case_event_by_key" ($1 org_id, $2 the event's idempotency
 * key) give them. */
#define CASE_EVENT_COLUMNS                                                                         \
	"e.event_id, e.kind, to_char(e.occurred_on, 'YYYY-MM-DD') AS occurred_on, "                \
	"extract(epoch FROM e.recorded_at)::bigint AS recorded_at, u.username AS recorded_by, "    \
	"coalesce(e.from_status, '') AS from_status, coalesce(e.to_status, '') AS to_status, "     \
	"e.text_enc, e.idempotency_key, coalesce(e.detail, '') AS detail, "                        \
	"u.organisation AS recorded_by_organisation"

/* All rows of a case_timeline result as a NULL-terminated array in *events and count
 * *n. Returns false after ending the request (memory, integrity). */
bool case_timeline(struct request *req, const PGresult *res, int64_t org_id,
		   Tulay__V1__CaseEvent ***events, size_t *n);

/* Adds the query "case_duplicates" to the request's job: the references of the
 * organisation's (org_id) other cases than the one with idempotency key `key` holding the
 * ID number whose blind index is `index` (NULL: none) or one of `indexes` (a bytea[]
 * literal, NULL: none). Read its result with case_references. */
void case_find_duplicates(struct request *req, const char *org_id, const uint8_t *index,
			  const char *indexes, const ProtobufCBinaryData *key);

/* The column `reference` of every row of `res` as an arena array. False when out of
 * memory. */
bool case_references(struct request *req, const PGresult *res, char ***out, size_t *n);

/* Replies with one CaseEvent read from a case_event_by_key result. */
void case_event_reply(struct request *req, const PGresult *res, int64_t org_id);

/* The state every timeline write shares: the case's organisation (resolved), caller,
 * version and date as text parameters, and the keyed request hash. */
struct case_write {
	int64_t org_id;
	char org[24], user[24], version[24];
	char occurred_on[11];
	uint8_t hash[32];
};

/* Adds `statement` to the request's job with the parameters every case function takes
 * first: the organisation and user of `w`, the idempotency key, the request's fingerprint
 * and the case's reference. The caller adds the rest. */
struct db_query *case_write_query(struct request *req, const char *statement,
				  const struct case_write *w, const ProtobufCBinaryData *key,
				  const char *reference);

/* The result of the case function case_write_query added: its outcome ("ok", "stale",
 * ...) and detail. It is the job's first query, whichever function it is. */
const PGresult *case_write_result(const struct request *req);

/* Checks what every write to an existing case shares: the caller may write (not a
 * coordinator), the key and the reference are well-formed, occurred_on is a date (empty:
 * today, UTC; copied to st->occurred_on) and `text` (optional) has 1..max_text
 * characters. Records field errors; returns NULL after ending the request with them (or
 * on other failure), else the state. expected_version <= 0 means "not needed". Callers
 * add their own field errors before calling it, so that all are reported together. */
struct case_write *case_write_begin(struct request *req, const ProtobufCBinaryData *key,
				    const char *reference, const char *occurred_on,
				    const char *text, size_t max_text, const char *text_field,
				    int64_t expected_version);

/* Finishes st once the case's organisation is known: sets org_id/org/user and the
 * request hash over `parts` (NUL-separated). */
void case_write_finish(struct request *req, struct case_write *st, int64_t org_id,
		       const char *const *parts, size_t n);

/* Maps the common outcomes of the case functions ('key_reused', 'not_found', 'stale',
 * 'illegal', 'reason_required'; detail as they give it) to the request's failure and
 * returns true, or returns false for others (success). `noun`: "claim", "deportation". */
bool case_fail_outcome(struct request *req, const char *outcome, const char *detail,
		       const char *noun, const char *reason_field);

/* True (after ending the request with a field error on `office`) when query `i` of the
 * job failed because the office named is not one of the organisation's (SQLSTATE TU001,
 * raised by case_office_id()). */
bool case_fail_unknown_office(struct request *req);

/* The first result of a case's create function (query 0: its case_id and outcome), or NULL
 * after ending the request: the job failed (an unknown office named, see above), or the
 * idempotency key came with other content ("key_reused"; `what` names the case kind). */
const PGresult *case_created(struct request *req, enum db_outcome outcome, const char *what);

/* --- ExportCases (cases.c) -------------------------------------------------------------- */

/* The condition of an export's page of one kind, after `... WHERE org_id = $1`: its cases
 * are those export_case_ids (migration 0026) picks, oldest first, after case_id $2 (0:
 * from the start), with status $3 (''), opened from $4 to $5 (NULL: unset) at office $6
 * (''), $7 of them at most. `case_id` names the column in the kind's statement. */
#define EXPORT_PAGE(kind, case_id)                                                                 \
	" AND " case_id " IN (SELECT e.case_id FROM export_case_ids($1::bigint, '" kind "', "      \
	"$2::bigint, $3::text, $4::date, $5::date, $6::text, $7::integer) e) ORDER BY " case_id

/* A deportation of an export's page (row `row` of export_deportations), its person opened
 * when `person`; NULL after ending the request. */
Tulay__V1__Deportation *deportation_export_row(struct request *req, const PGresult *res, int row,
					       bool person);

/* A recommendation of an export's page (rows [from, to) of export_recommendations: one a
 * piece of evidence); NULL after ending the request. */
Tulay__V1__Recommendation *recommendation_export_row(struct request *req, const PGresult *res,
						     int from, int to);

/* The statements above. */
extern const struct db_statement case_common_statements[];
extern const unsigned case_common_statements_count;

#endif
