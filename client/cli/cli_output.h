/* What the CLI prints on stdout, in the three formats of --format.
 *
 * A command describes each thing it prints (a claim, an organisation, a session) once, as
 * a record: an ordered list of typed fields. The writers then give
 *   table: one record as a "Label:  value" listing, many as an aligned table of chosen
 *          columns (widths counted in UTF-8 code points, control characters replaced);
 *   json:  one record as one object, many as an array of objects;
 *   csv:   RFC 4180, a header row of the fields' keys, then one row per record. */
#ifndef TULAY_CLI_OUTPUT_H
#define TULAY_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "tulay/v1/common.pb-c.h"

enum output_format {
	OUTPUT_TABLE,
	OUTPUT_JSON,
	OUTPUT_CSV,
};

struct output_record;

/* Returns an empty record, or NULL when memory runs out. */
struct output_record *output_record_new(void) __attribute__((warn_unused_result));

/* Frees the record and its values. NULL is allowed. */
void output_record_free(struct output_record *rec);

/* Adding fields. `key` is the snake_case JSON key and CSV column ("amount_claimed");
 * `label` the name in the table listing ("Amount claimed"), or NULL to leave the field
 * out of the listing. Keys and labels must outlive the record (string literals); values
 * are copied. When memory runs out the record is marked failed and the output_print_*
 * functions refuse it, so callers need not check each call. */

/* A string: JSON string, CSV cell, shown as it is. */
void output_add_text(struct output_record *rec, const char *key, const char *label,
		     const char *text);
/* An ISO 3166-1 code: like text, and the listing adds the country's name. */
void output_add_country(struct output_record *rec, const char *key, const char *label,
			const char *code);
/* An integer: a JSON number. */
void output_add_int(struct output_record *rec, const char *key, const char *label, int64_t value);
/* Money: JSON {"amount":"45000.00","currency":"MYR","minor_units":4500000} (null when
 * `money` is NULL); CSV two columns, key and key_currency; tables "45000.00 MYR". */
void output_add_money(struct output_record *rec, const char *key, const char *label,
		      const Tulay__V1__Money *money);
/* Unix time in seconds: JSON and CSV "2026-03-01T08:30:00Z", tables "2026-03-01 08:30
 * UTC"; 0 means unknown (null, empty). */
void output_add_time(struct output_record *rec, const char *key, const char *label,
		     int64_t unix_seconds);
/* A yes-or-no: JSON true or false, CSV "true" or "false", tables "yes" or "no". */
void output_add_bool(struct output_record *rec, const char *key, const char *label, bool value);
/* A value for people only (table format), such as the corridor "PH → MY" that JSON and
 * CSV give as two fields. `key` names it for output_column. */
void output_add_human(struct output_record *rec, const char *key, const char *label,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A column of the table format of a list: the field `key`, headed `header`. */
struct output_column {
	const char *key;
	const char *header; /* in capitals: "WORK PERIOD" */
	bool right;         /* right-aligned (amounts, counts) */
};

/* How a list looks in the table format. */
struct output_list_spec {
	const struct output_column *columns;
	size_t n_columns;
	const char *empty; /* printed instead of a table without rows: "No claims." */
	/* A record of an empty item (a zero Claim): names the CSV columns when there are no
	 * records. Returns NULL when memory runs out. */
	struct output_record *(*blank)(void);
};

/* A growing list of records, for commands that print many. */
struct output_list {
	struct output_record **records;
	size_t n;
	size_t cap;
	bool failed; /* memory ran out: a record was dropped */
};

/* Appends `rec` (the list owns it from now on, even on failure). NULL marks the list
 * failed: pass output_record_new()'s result without checking. */
void output_list_add(struct output_list *list, struct output_record *rec);

/* Frees the records and the array; the list is empty afterwards. */
void output_list_clear(struct output_list *list);

/* Prints one record in `format` on `out`. Returns 0, or -1 when the record failed (out of
 * memory) or writing failed. */
int output_print_record(enum output_format format, const struct output_record *rec, FILE *out)
    __attribute__((warn_unused_result));

/* Prints the records of `list` in `format` on `out`; the table format uses `spec`.
 * Returns 0, or -1 when the list or a record failed or writing failed. */
int output_print_list(enum output_format format, const struct output_list *list,
		      const struct output_list_spec *spec, FILE *out)
    __attribute__((warn_unused_result));

/* A list written record by record as the records come (an export), in constant memory:
 * JSON an array with an object a line, CSV a header row (the first record's fields, or
 * blank()'s when there is none) and a row a record. Not the table format. */
struct output_stream {
	enum output_format format; /* OUTPUT_JSON or OUTPUT_CSV */
	FILE *out;
	struct output_record *(*blank)(void);
	size_t n;    /* records written */
	bool failed; /* memory ran out, or a record failed */
};
void output_stream_begin(struct output_stream *s, enum output_format format, FILE *out,
			 struct output_record *(*blank)(void));
/* Writes `rec` and frees it (NULL is taken as out of memory). 0, or -1 once anything
 * failed (writing too). */
int output_stream_add(struct output_stream *s, struct output_record *rec);
/* Closes the JSON array (or writes the CSV header of an empty list) and flushes. 0 or -1. */
int output_stream_end(struct output_stream *s);

/* The CLI's way to print: the run's format on stdout, and a failure reported.
 * output_heading prints a line before a record in the table format only ("Logged claim
 * WT-2026-000001"). output_show prints and frees `rec` (NULL is taken as out of memory);
 * output_show_list prints and clears `list`. They return CLI_EXIT_OK or, after saying
 * why, CLI_EXIT_LOCAL. */
void output_heading(const struct cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int output_show(const struct cli *cli, struct output_record *rec);
int output_show_list(const struct cli *cli, struct output_list *list,
		     const struct output_list_spec *spec);

/* A list that belongs to a record (an organisation's offices), for
 * output_show_sections. */
struct output_section {
	const char *key;   /* the JSON array's key: "offices" */
	const char *title; /* the heading line of the table format: "Offices" */
	const struct output_list_spec *spec;
	struct output_list list;
};

/* Prints `rec` with the lists that belong to it. Table format: the record's listing, then
 * each section as a blank line, its title and its table (or spec->empty). JSON: one
 * object, the record's fields followed by each section's records as an array under its
 * key. CSV: the record alone, since one CSV file holds one kind of row. Frees `rec` (NULL
 * is taken as out of memory) and clears the sections' lists. Returns like output_show. */
int output_show_sections(const struct cli *cli, struct output_record *rec,
			 struct output_section *sections, size_t n_sections);

/* Writes Unix time `t` as "2026-03-01T08:30:00Z" (iso) or "2026-03-01 08:30 UTC" into buf
 * (32 bytes are plenty). Returns false, writing nothing, for 0, which means unknown. */
bool output_time(int64_t t, bool iso, char *buf, size_t cap);

/* --- JSON, through jansson, for commands whose output is nested deeper than a record and
 * its lists (reports) ------------------------------------------------------------------- */

/* `s` as a JSON string, bytes that are not UTF-8 replaced by U+FFFD; NULL when memory runs
 * out. */
json_t *output_json_text(const char *s);

/* Sets obj[key] to `value`, which it takes; clears *ok when `value` is NULL (memory ran
 * out building it) or memory runs out now. */
void output_json_put(json_t *obj, const char *key, json_t *value, bool *ok);

/* Appends `value` to `array`, like output_json_put. */
void output_json_add(json_t *array, json_t *value, bool *ok);

/* Prints `value` and a newline: compact, except that an array of objects (the value itself,
 * or a member of it) has one element per line. Returns 0, or -1 when `out` failed. */
int output_json_print(const json_t *value, FILE *out);

#endif
