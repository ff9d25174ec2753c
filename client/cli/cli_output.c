#include "cli_output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iso.h"
#include "money.h"
#include "utf8.h"

enum field_type {
	FIELD_TEXT,
	FIELD_COUNTRY,
	FIELD_INT,
	FIELD_MONEY,
	FIELD_TIME,
	FIELD_BOOL,
	FIELD_HUMAN, /* table format only */
};

struct field {
	const char *key;
	const char *label;
	enum field_type type;
	char *text;     /* TEXT, COUNTRY, HUMAN: the value; MONEY: the currency */
	int64_t number; /* INT; MONEY: minor units; TIME: Unix seconds; BOOL: 0 or 1 */
	bool present;   /* MONEY: false when the response carried none */
};

struct output_record {
	struct field *fields;
	size_t n;
	size_t cap;
	bool failed;
};

/* Big enough for any int64 amount with sign and decimal point. */
#define AMOUNT_BYTES 32
/* "2026-03-01T08:30:00Z" or "2026-03-01 08:30 UTC", with room to spare. */
#define TIME_BYTES 32

struct output_record *output_record_new(void)
{
	return calloc(1, sizeof(struct output_record));
}

void output_record_free(struct output_record *rec)
{
	if (rec == NULL)
		return;
	for (size_t i = 0; i < rec->n; i++)
		free(rec->fields[i].text);
	free(rec->fields);
	free(rec);
}

static struct field *add_field(struct output_record *rec, const char *key, const char *label,
			       enum field_type type)
{
	if (rec->failed)
		return NULL;
	if (rec->n == rec->cap) {
		size_t cap = rec->cap > 0 ? rec->cap * 2 : 16;
		struct field *fields = realloc(rec->fields, cap * sizeof(*fields));
		if (fields == NULL) {
			rec->failed = true;
			return NULL;
		}
		rec->fields = fields;
		rec->cap = cap;
	}
	struct field *f = &rec->fields[rec->n++];
	*f = (struct field){.key = key, .label = label, .type = type};
	return f;
}

static void set_text(struct output_record *rec, struct field *f, const char *text)
{
	f->text = strdup(text != NULL ? text : "");
	if (f->text == NULL)
		rec->failed = true;
}

void output_add_text(struct output_record *rec, const char *key, const char *label,
		     const char *text)
{
	struct field *f = add_field(rec, key, label, FIELD_TEXT);
	if (f != NULL)
		set_text(rec, f, text);
}

void output_add_country(struct output_record *rec, const char *key, const char *label,
			const char *code)
{
	struct field *f = add_field(rec, key, label, FIELD_COUNTRY);
	if (f != NULL)
		set_text(rec, f, code);
}

void output_add_int(struct output_record *rec, const char *key, const char *label, int64_t value)
{
	struct field *f = add_field(rec, key, label, FIELD_INT);
	if (f != NULL)
		f->number = value;
}

void output_add_money(struct output_record *rec, const char *key, const char *label,
		      const Tulay__V1__Money *money)
{
	struct field *f = add_field(rec, key, label, FIELD_MONEY);
	if (f == NULL)
		return;
	f->present = money != NULL;
	f->number = money != NULL ? money->minor_units : 0;
	set_text(rec, f, money != NULL ? money->currency : "");
}

void output_add_time(struct output_record *rec, const char *key, const char *label,
		     int64_t unix_seconds)
{
	struct field *f = add_field(rec, key, label, FIELD_TIME);
	if (f != NULL)
		f->number = unix_seconds;
}

void output_add_bool(struct output_record *rec, const char *key, const char *label, bool value)
{
	struct field *f = add_field(rec, key, label, FIELD_BOOL);
	if (f != NULL)
		f->number = value;
}

void output_add_human(struct output_record *rec, const char *key, const char *label,
		      const char *fmt, ...)
{
	struct field *f = add_field(rec, key, label, FIELD_HUMAN);
	if (f == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&f->text, fmt, ap) < 0) {
		f->text = NULL;
		rec->failed = true;
	}
	va_end(ap);
}

void output_list_add(struct output_list *list, struct output_record *rec)
{
	if (rec == NULL || list->failed) {
		list->failed = true;
		output_record_free(rec);
		return;
	}
	if (list->n == list->cap) {
		size_t cap = list->cap > 0 ? list->cap * 2 : 64;
		struct output_record **records = realloc(list->records, cap * sizeof(*records));
		if (records == NULL) {
			list->failed = true;
			output_record_free(rec);
			return;
		}
		list->records = records;
		list->cap = cap;
	}
	list->records[list->n++] = rec;
}

void output_list_clear(struct output_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		output_record_free(list->records[i]);
	free(list->records);
	*list = (struct output_list){0};
}

/* --- values as text ------------------------------------------------------------------- */

/* The decimal amount of a MONEY field ("45000.00"), or false when the currency is not
 * one this client knows. */
static bool amount_text(const struct field *f, char *buf, size_t cap)
{
	return f->present && money_format(f->number, f->text, buf, cap) >= 0;
}

bool output_time(int64_t t, bool iso, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return false;
	size_t n = iso ? strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm)
		       : strftime(buf, cap, "%Y-%m-%d %H:%M UTC", &tm);
	return n > 0;
}

/* The value of `f` for people, as a new string (NULL when memory runs out). `listing`
 * adds details a table column has no room for (a country's name). */
static char *human_text(const struct field *f, bool listing)
{
	char buf[AMOUNT_BYTES > TIME_BYTES ? AMOUNT_BYTES : TIME_BYTES];
	char *text = NULL;
	int n = 0;
	const struct iso_country *country;
	switch (f->type) {
	case FIELD_TEXT:
	case FIELD_HUMAN:
		return strdup(f->text);
	case FIELD_COUNTRY:
		country = listing ? iso_country_find(f->text) : NULL;
		if (country == NULL)
			return strdup(f->text);
		n = asprintf(&text, "%s (%s)", f->text, country->name);
		break;
	case FIELD_INT:
		n = asprintf(&text, "%lld", (long long)f->number);
		break;
	case FIELD_MONEY:
		if (!f->present)
			return strdup("");
		if (amount_text(f, buf, sizeof(buf)))
			n = asprintf(&text, "%s %s", buf, f->text);
		else
			n = asprintf(&text, "%lld minor units of %s", (long long)f->number,
				     f->text);
		break;
	case FIELD_TIME:
		return strdup(output_time(f->number, false, buf, sizeof(buf)) ? buf : "");
	case FIELD_BOOL:
		return strdup(f->number ? "yes" : "no");
	}
	return n < 0 ? NULL : text;
}

/* --- table format ------------------------------------------------------------------- */

/* Rows of cells (owned strings), printed in aligned columns. */
struct table {
	size_t n_columns;
	char **cells; /* row after row */
	size_t n_rows;
	size_t cap_rows;
	bool failed;
};

/* Appends a row of n_columns cells; takes the cells, NULL ones mark the table failed. */
static void table_add_row(struct table *t, char **row)
{
	bool ok = !t->failed;
	for (size_t c = 0; c < t->n_columns; c++)
		ok = ok && row[c] != NULL;
	if (ok && t->n_rows == t->cap_rows) {
		size_t cap = t->cap_rows > 0 ? t->cap_rows * 2 : 16;
		char **cells = reallocarray(t->cells, cap * t->n_columns, sizeof(*cells));
		if (cells != NULL) {
			t->cells = cells;
			t->cap_rows = cap;
		}
		ok = cells != NULL;
	}
	if (!ok) {
		for (size_t c = 0; c < t->n_columns; c++)
			free(row[c]);
		t->failed = true;
		return;
	}
	memcpy(&t->cells[t->n_rows++ * t->n_columns], row, t->n_columns * sizeof(*row));
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* Writes `s` for a terminal: control characters would let a server's string move the
 * cursor or recolour the screen, so they become '?'. */
static void put_safe(const char *s, FILE *out)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, out);
	}
}

static void put_spaces(size_t n, FILE *out)
{
	while (n-- > 0)
		fputc(' ', out);
}

/* Prints the table, two spaces between columns; `right[c]` right-aligns column c (NULL:
 * all left). */
static int table_print(const struct table *t, const bool *right, FILE *out)
{
	if (t->failed)
		return -1;
	size_t *widths = calloc(t->n_columns, sizeof(*widths));
	if (widths == NULL)
		return -1;
	for (size_t i = 0; i < t->n_rows * t->n_columns; i++) {
		size_t w = utf8_width(t->cells[i]);
		if (w > widths[i % t->n_columns])
			widths[i % t->n_columns] = w;
	}
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t c = 0; c < t->n_columns; c++) {
			const char *cell = t->cells[r * t->n_columns + c];
			size_t pad = widths[c] - utf8_width(cell);
			bool last = c + 1 == t->n_columns;
			if (c > 0)
				put_spaces(2, out);
			if (right != NULL && right[c])
				put_spaces(pad, out);
			put_safe(cell, out);
			if ((right == NULL || !right[c]) && !last)
				put_spaces(pad, out);
		}
		fputc('\n', out);
	}
	free(widths);
	return ferror(out) ? -1 : 0;
}

static const struct field *find_field(const struct output_record *rec, const char *key)
{
	for (size_t i = 0; i < rec->n; i++) {
		if (strcmp(rec->fields[i].key, key) == 0)
			return &rec->fields[i];
	}
	return NULL;
}

/* One record as "Label:  value" lines. */
static int print_listing(const struct output_record *rec, FILE *out)
{
	struct table t = {.n_columns = 2};
	for (size_t i = 0; i < rec->n; i++) {
		const struct field *f = &rec->fields[i];
		if (f->label == NULL)
			continue;
		char *row[2] = {NULL, human_text(f, true)};
		if (asprintf(&row[0], "%s:", f->label) < 0)
			row[0] = NULL;
		table_add_row(&t, row);
	}
	int rc = table_print(&t, NULL, out);
	table_free(&t);
	return rc;
}

static int print_table(const struct output_list *list, const struct output_list_spec *spec,
		       FILE *out)
{
	if (list->n == 0) {
		fprintf(out, "%s\n", spec->empty);
		return ferror(out) ? -1 : 0;
	}
	struct table t = {.n_columns = spec->n_columns};
	bool *right = calloc(spec->n_columns, sizeof(*right));
	char **row = calloc(spec->n_columns, sizeof(*row));
	int rc = -1;
	if (right == NULL || row == NULL)
		goto out;
	for (size_t c = 0; c < spec->n_columns; c++) {
		right[c] = spec->columns[c].right;
		row[c] = strdup(spec->columns[c].header);
	}
	table_add_row(&t, row);
	for (size_t r = 0; r < list->n; r++) {
		for (size_t c = 0; c < spec->n_columns; c++) {
			const struct field *f = find_field(list->records[r], spec->columns[c].key);
			row[c] = f != NULL ? human_text(f, false) : strdup("");
		}
		table_add_row(&t, row);
	}
	rc = table_print(&t, right, out);
out:
	table_free(&t);
	free(row);
	free(right);
	return rc;
}

/* --- JSON format -------------------------------------------------------------------- */

json_t *output_json_text(const char *s)
{
	/* The worst case: every byte invalid, each then the 3 bytes of U+FFFD. */
	size_t len = strlen(s);
	char *clean = malloc(len * 3 + 1), *w = clean;
	if (clean == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
		uint32_t cp;
		size_t n = utf8_next(p, &cp);
		if (n == 0) {
			memcpy(w, "\xef\xbf\xbd", 3);
			w += 3;
			p++;
		} else {
			memcpy(w, p, n);
			w += n;
			p += n;
		}
	}
	json_t *value = json_stringn(clean, (size_t)(w - clean));
	free(clean);
	return value;
}

void output_json_put(json_t *obj, const char *key, json_t *value, bool *ok)
{
	if (value == NULL || json_object_set_new(obj, key, value) != 0)
		*ok = false;
}

void output_json_add(json_t *array, json_t *value, bool *ok)
{
	if (value == NULL || json_array_append_new(array, value) != 0)
		*ok = false;
}

static bool is_array_of_objects(const json_t *value)
{
	return json_is_array(value) && json_array_size(value) > 0 &&
	       json_is_object(json_array_get(value, 0));
}

/* An array of objects, one element per line; anything else compact. */
static int print_spread(const json_t *value, FILE *out)
{
	if (!is_array_of_objects(value))
		return json_dumpf(value, out, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t i;
	const json_t *element;
	fputc('[', out);
	json_array_foreach(value, i, element)
	{
		fputs(i == 0 ? "\n  " : ",\n  ", out);
		if (json_dumpf(element, out, JSON_COMPACT) != 0)
			return -1;
	}
	fputs("\n]", out);
	return 0;
}

int output_json_print(const json_t *value, FILE *out)
{
	if (json_is_object(value)) {
		const char *key;
		const json_t *member;
		bool first = true;
		fputc('{', out);
		json_object_foreach((json_t *)value, key, member)
		{
			json_t *name = json_string(key);
			if (!first)
				fputc(',', out);
			first = false;
			if (name == NULL || json_dumpf(name, out, JSON_ENCODE_ANY) != 0) {
				json_decref(name);
				return -1;
			}
			json_decref(name);
			fputc(':', out);
			if (print_spread(member, out) != 0)
				return -1;
		}
		fputc('}', out);
	} else if (print_spread(value, out) != 0) {
		return -1;
	}
	fputc('\n', out);
	return ferror(out) ? -1 : 0;
}

static json_t *json_money(const struct field *f)
{
	char amount[AMOUNT_BYTES];
	if (!f->present)
		return json_null();
	bool ok = true;
	json_t *money = json_object();
	if (money == NULL)
		return NULL;
	output_json_put(
	    money, "amount",
	    amount_text(f, amount, sizeof(amount)) ? output_json_text(amount) : json_null(), &ok);
	output_json_put(money, "currency", output_json_text(f->text), &ok);
	output_json_put(money, "minor_units", json_integer(f->number), &ok);
	if (!ok) {
		json_decref(money);
		return NULL;
	}
	return money;
}

/* Adds the record's fields to `obj`; clears *ok when memory runs out. */
static void json_fields(const struct output_record *rec, json_t *obj, bool *ok)
{
	char when[TIME_BYTES];
	for (size_t i = 0; i < rec->n; i++) {
		const struct field *f = &rec->fields[i];
		json_t *value = NULL;
		switch (f->type) {
		case FIELD_HUMAN:
			continue;
		case FIELD_TEXT:
		case FIELD_COUNTRY:
			value = output_json_text(f->text);
			break;
		case FIELD_INT:
			value = json_integer(f->number);
			break;
		case FIELD_MONEY:
			value = json_money(f);
			break;
		case FIELD_TIME:
			value = output_time(f->number, true, when, sizeof(when))
				    ? output_json_text(when)
				    : json_null();
			break;
		case FIELD_BOOL:
			value = json_boolean(f->number);
			break;
		}
		output_json_put(obj, f->key, value, ok);
	}
}

static json_t *json_record(const struct output_record *rec)
{
	bool ok = true;
	json_t *obj = json_object();
	if (obj == NULL)
		return NULL;
	json_fields(rec, obj, &ok);
	if (!ok) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static json_t *json_list(const struct output_list *list)
{
	bool ok = true;
	json_t *array = json_array();
	if (array == NULL)
		return NULL;
	for (size_t r = 0; r < list->n; r++)
		output_json_add(array, json_record(list->records[r]), &ok);
	if (!ok) {
		json_decref(array);
		return NULL;
	}
	return array;
}

/* Prints `value` (NULL: memory ran out building it) and frees it. */
static int json_print_new(json_t *value, FILE *out)
{
	if (value == NULL)
		return -1;
	int rc = output_json_print(value, out);
	json_decref(value);
	return rc;
}

/* --- CSV format --------------------------------------------------------------------- */

/* Writes one RFC 4180 field: quoted when it holds a comma, quote, CR or LF, with quotes
 * doubled. */
static void csv_field(const char *s, bool first, FILE *out)
{
	if (!first)
		fputc(',', out);
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void csv_header(const struct output_record *rec, FILE *out)
{
	bool first = true;
	for (size_t i = 0; i < rec->n; i++) {
		const struct field *f = &rec->fields[i];
		if (f->type == FIELD_HUMAN)
			continue;
		csv_field(f->key, first, out);
		first = false;
		if (f->type == FIELD_MONEY)
			fprintf(out, ",%s_currency", f->key);
	}
	fputs("\r\n", out);
}

static void csv_record(const struct output_record *rec, FILE *out)
{
	char buf[AMOUNT_BYTES > TIME_BYTES ? AMOUNT_BYTES : TIME_BYTES];
	char number[AMOUNT_BYTES];
	bool first = true;
	for (size_t i = 0; i < rec->n; i++) {
		const struct field *f = &rec->fields[i];
		switch (f->type) {
		case FIELD_HUMAN:
			continue;
		case FIELD_TEXT:
		case FIELD_COUNTRY:
			csv_field(f->text, first, out);
			break;
		case FIELD_INT:
			snprintf(number, sizeof(number), "%lld", (long long)f->number);
			csv_field(number, first, out);
			break;
		case FIELD_MONEY:
			csv_field(amount_text(f, buf, sizeof(buf)) ? buf : "", first, out);
			csv_field(f->text, false, out);
			break;
		case FIELD_TIME:
			csv_field(output_time(f->number, true, buf, sizeof(buf)) ? buf : "", first,
				  out);
			break;
		case FIELD_BOOL:
			csv_field(f->number ? "true" : "false", first, out);
			break;
		}
		first = false;
	}
	fputs("\r\n", out);
}

/* `blank` names the columns when the list is empty (NULL: print nothing then). */
static int print_csv(const struct output_list *list, struct output_record *(*blank)(void),
		     FILE *out)
{
	if (list->n > 0) {
		csv_header(list->records[0], out);
	} else if (blank != NULL) {
		struct output_record *rec = blank();
		bool ok = rec != NULL && !rec->failed;
		if (ok)
			csv_header(rec, out);
		output_record_free(rec);
		if (!ok)
			return -1;
	}
	for (size_t r = 0; r < list->n; r++)
		csv_record(list->records[r], out);
	return ferror(out) ? -1 : 0;
}

/* --- streams ------------------------------------------------------------------------- */

void output_stream_begin(struct output_stream *s, enum output_format format, FILE *out,
			 struct output_record *(*blank)(void))
{
	*s = (struct output_stream){.format = format, .out = out, .blank = blank};
}

int output_stream_add(struct output_stream *s, struct output_record *rec)
{
	if (rec == NULL || rec->failed)
		s->failed = true;
	if (!s->failed && s->format == OUTPUT_JSON) {
		json_t *obj = json_record(rec);
		char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		if (text == NULL)
			s->failed = true;
		else
			fprintf(s->out, "%s%s", s->n == 0 ? "[\n" : ",\n", text);
		free(text);
		json_decref(obj);
	} else if (!s->failed) {
		if (s->n == 0)
			csv_header(rec, s->out);
		csv_record(rec, s->out);
	}
	output_record_free(rec);
	s->n++;
	return s->failed || ferror(s->out) ? -1 : 0;
}

int output_stream_end(struct output_stream *s)
{
	if (s->failed)
		return -1;
	if (s->format == OUTPUT_JSON) {
		fputs(s->n == 0 ? "[]\n" : "\n]\n", s->out);
	} else if (s->n == 0 && s->blank != NULL) {
		struct output_record *rec = s->blank();
		if (rec == NULL || rec->failed)
			s->failed = true;
		else
			csv_header(rec, s->out);
		output_record_free(rec);
	}
	return s->failed || fflush(s->out) != 0 || ferror(s->out) ? -1 : 0;
}

/* --- entry points ------------------------------------------------------------------- */

int output_print_record(enum output_format format, const struct output_record *rec, FILE *out)
{
	if (rec == NULL || rec->failed)
		return -1;
	switch (format) {
	case OUTPUT_TABLE:
		return print_listing(rec, out);
	case OUTPUT_JSON:
		return json_print_new(json_record(rec), out);
	case OUTPUT_CSV: {
		struct output_record *one = (struct output_record *)rec;
		struct output_list list = {.records = &one, .n = 1};
		return print_csv(&list, NULL, out);
	}
	}
	return ferror(out) ? -1 : 0;
}

/* Whether memory ran out while the list or one of its records was built. */
static bool list_failed(const struct output_list *list)
{
	for (size_t r = 0; r < list->n; r++) {
		if (list->records[r]->failed)
			return true;
	}
	return list->failed;
}

int output_print_list(enum output_format format, const struct output_list *list,
		      const struct output_list_spec *spec, FILE *out)
{
	if (list_failed(list))
		return -1;
	switch (format) {
	case OUTPUT_TABLE:
		return print_table(list, spec, out);
	case OUTPUT_JSON:
		return json_print_new(json_list(list), out);
	case OUTPUT_CSV:
		return print_csv(list, spec->blank, out);
	}
	return ferror(out) ? -1 : 0;
}

/* The work of output_show_sections, which frees what this only reads. */
static int print_sections(enum output_format format, const struct output_record *rec,
			  const struct output_section *sections, size_t n_sections, FILE *out)
{
	if (rec == NULL || rec->failed)
		return -1;
	for (size_t s = 0; s < n_sections; s++) {
		if (list_failed(&sections[s].list))
			return -1;
	}
	switch (format) {
	case OUTPUT_TABLE:
		if (print_listing(rec, out) < 0)
			return -1;
		for (size_t s = 0; s < n_sections; s++) {
			fprintf(out, "\n%s\n", sections[s].title);
			if (print_table(&sections[s].list, sections[s].spec, out) < 0)
				return -1;
		}
		break;
	case OUTPUT_JSON: {
		bool ok = true;
		json_t *obj = json_record(rec);
		for (size_t s = 0; obj != NULL && s < n_sections; s++)
			output_json_put(obj, sections[s].key, json_list(&sections[s].list), &ok);
		if (!ok) {
			json_decref(obj);
			return -1;
		}
		return json_print_new(obj, out);
	}
	case OUTPUT_CSV:
		return output_print_record(format, rec, out);
	}
	return ferror(out) ? -1 : 0;
}

void output_heading(const struct cli *cli, const char *fmt, ...)
{
	if (cli->format != OUTPUT_TABLE)
		return;
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) >= 0) {
		put_safe(text, stdout);
		fputc('\n', stdout);
		free(text);
	}
	va_end(ap);
}

static int show_failed(const struct cli *cli)
{
	cli_error(cli, "cannot print the result: %s",
		  ferror(stdout) ? "standard output is not writable" : "out of memory");
	return CLI_EXIT_LOCAL;
}

int output_show(const struct cli *cli, struct output_record *rec)
{
	int rc = output_print_record(cli->format, rec, stdout);
	output_record_free(rec);
	return rc == 0 ? CLI_EXIT_OK : show_failed(cli);
}

int output_show_list(const struct cli *cli, struct output_list *list,
		     const struct output_list_spec *spec)
{
	int rc = output_print_list(cli->format, list, spec, stdout);
	output_list_clear(list);
	return rc == 0 ? CLI_EXIT_OK : show_failed(cli);
}

int output_show_sections(const struct cli *cli, struct output_record *rec,
			 struct output_section *sections, size_t n_sections)
{
	int rc = print_sections(cli->format, rec, sections, n_sections, stdout);
	output_record_free(rec);
	for (size_t s = 0; s < n_sections; s++)
		output_list_clear(&sections[s].list);
	return rc == 0 ? CLI_EXIT_OK : show_failed(cli);
}
