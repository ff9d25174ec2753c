/* tulay import's rows: reading the CSV file with libcsv (a block at a time, each row's
 * first line counted across quoted line breaks), the checks of each kind of cell, naming
 * each bad one with its fix, and the idempotency keys rows and their requests get. */
#include "cli_import_rows.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>
#include <openssl/evp.h>

#include "civil_date.h"
#include "cli_vocab.h"
#include "iso.h"
#include "money.h"
#include "utf8.h"

/* --- reading the file --------------------------------------------------------------------- */

struct reader {
	size_t line; /* the physical line the parser is on */
	struct row row;
	bool in_row;
	bool oom;
	void (*on_row)(struct row *row, void *ctx); /* takes the cells (frees them) */
	void *ctx;
};

static void reader_field(void *data, size_t len, void *arg)
{
	struct reader *r = arg;
	if (!r->in_row) {
		r->in_row = true;
		r->row = (struct row){.line = r->line};
	}
	for (size_t i = 0; i < len; i++)
		r->line += ((const char *)data)[i] == '\n';
	if (r->row.ncells >= IMPORT_MAX_COLUMNS) {
		r->row.too_many = true;
		return;
	}
	char *cell = malloc(len + 1);
	if (cell == NULL) {
		r->oom = true;
		return;
	}
	memcpy(cell, data, len);
	cell[len] = '\0';
	r->row.cells[r->row.ncells++] = cell;
}

void import_row_free(struct row *row)
{
	for (size_t i = 0; i < row->ncells; i++)
		free(row->cells[i]);
	row->ncells = 0;
}

static void reader_end(int c, void *arg)
{
	struct reader *r = arg;
	if (r->in_row) {
		r->in_row = false;
		r->on_row(&r->row, r->ctx);
		import_row_free(&r->row);
	}
	if (c == '\n')
		r->line++;
}

/* Reads `path` and calls on_row for each row. 0, or -1 after saying why. */
int import_read_csv(struct cli *cli, const char *path, void (*on_row)(struct row *, void *),
		    void *ctx)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		cli_error(cli, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	struct csv_parser p;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
		fclose(f);
		cli_error(cli, "out of memory");
		return -1;
	}
	struct reader r = {.line = 1, .on_row = on_row, .ctx = ctx};
	char buf[65536];
	size_t n;
	int rc = 0;
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (csv_parse(&p, buf, n, reader_field, reader_end, &r) != n)
			rc = -1;
	}
	if (rc == 0 && ferror(f)) {
		cli_error(cli, "reading %s failed: %s", path, strerror(errno));
		rc = -2;
	}
	if (rc == 0 && csv_fini(&p, reader_field, reader_end, &r) != 0)
		rc = -1;
	if (rc == -1)
		cli_error(cli,
			  "%s, line %zu: %s: a quote opens a cell that no quote closes, or a "
			  "quote stands inside an unquoted cell (RFC 4180: put the cell in quotes "
			  "and double the quotes inside)",
			  path, r.line, csv_strerror(csv_error(&p)));
	if (r.in_row)
		import_row_free(&r.row);
	csv_free(&p);
	fclose(f);
	if (rc == 0 && r.oom) {
		cli_error(cli, "out of memory reading %s", path);
		rc = -1;
	}
	return rc == 0 ? 0 : -1;
}

/* --- checking a row -------------------------------------------------------------------- */

void import_check_begin(struct checker *k, const struct row *row)
{
	k->row = row;
	k->nproblems = 0;
	if (row->too_many)
		import_problem(k, IMPORT_ROW, "has more than %d cells", IMPORT_MAX_COLUMNS);
}

void import_problem(struct checker *k, int col, const char *fmt, ...)
{
	if (k->nproblems >= sizeof(k->problems) / sizeof(k->problems[0]))
		return;
	struct problem *p = &k->problems[k->nproblems++];
	p->col = col;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->text, sizeof(p->text), fmt, ap);
	va_end(ap);
}

const char *import_cell(const struct checker *k, int col)
{
	int i = k->where[col];
	return i >= 0 && (size_t)i < k->row->ncells ? k->row->cells[i] : "";
}

const char *import_text(struct checker *k, int col, size_t max)
{
	const char *v = import_cell(k, col);
	size_t chars = utf8_chars(v);
	if (*v == '\0') {
		if (k->columns[col].required)
			import_problem(k, col, "is empty: give %s", k->columns[col].help);
		return "";
	}
	if (chars == (size_t)-1)
		import_problem(k, col, "is not UTF-8 text: save the file as UTF-8");
	else if (chars > max)
		import_problem(k, col, "has %zu characters: at most %zu", chars, max);
	for (const char *p = v; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20) {
			import_problem(k, col,
				       "holds a control character (a line break?): remove it");
			break;
		}
	}
	return v;
}

const char *import_country(struct checker *k, int col)
{
	const char *v = import_cell(k, col);
	if (*v == '\0') {
		if (k->columns[col].required)
			import_problem(
			    k, col, "is empty: give an ISO 3166-1 alpha-2 code such as PH or MY");
	} else if (iso_country_find(v) == NULL) {
		import_problem(k, col,
			       "'%s' is not an ISO 3166-1 alpha-2 code (two capital letters such "
			       "as PH, MY, TH)",
			       v);
	}
	return v;
}

bool import_date(struct checker *k, int col)
{
	const char *v = import_cell(k, col);
	struct civil_date date;
	if (*v == '\0') {
		if (k->columns[col].required)
			import_problem(k, col, "is empty: give a date as YYYY-MM-DD");
		return false;
	}
	if (!civil_date_parse(v, &date)) {
		import_problem(k, col, "'%s' is not a date: write YYYY-MM-DD, a real day", v);
		return false;
	}
	return true;
}

Tulay__V1__ApproxDate *import_approx_date(struct checker *k, int col, Tulay__V1__ApproxDate *out)
{
	const char *v = import_cell(k, col);
	if (*v == '\0') {
		if (k->columns[col].required)
			import_problem(k, col, "is empty: give a date as YYYY-MM-DD");
		return NULL;
	}
	const char *date = v[0] == '~' ? v + 1 : v;
	struct civil_approx span;
	if (!civil_approx_parse(date, &span)) {
		import_problem(k, col,
			       "'%s' is not a date: write 2025-03-14, or 2025-03 or 2025 when only "
			       "the month or year is known, with ~ in front when even that is "
			       "approximate",
			       v);
		return NULL;
	}
	tulay__v1__approx_date__init(out);
	out->date = (char *)date;
	out->circa = date != v;
	return out;
}

int64_t import_version(struct checker *k, int col)
{
	const char *version = import_cell(k, col);
	if (*version == '\0') {
		import_problem(k, col,
			       "is empty: a row with a reference needs the version it was exported "
			       "at (a case of yours is changed at that version); or leave "
			       "reference empty to log a new one");
		return 0;
	}
	char *end = NULL;
	errno = 0;
	long long v = strtoll(version, &end, 10);
	if (*end != '\0' || errno != 0 || v < 1) {
		import_problem(k, col,
			       "'%s' is not a version: the whole number `tulay export` wrote there",
			       version);
		return 0;
	}
	return v;
}

bool import_money(struct checker *k, int amount, int currency, int64_t min, Tulay__V1__Money *out)
{
	const char *a = import_cell(k, amount), *c = import_cell(k, currency);
	if (*a == '\0' && *c == '\0') {
		if (k->columns[amount].required)
			import_problem(k, amount, "is empty: give %s", k->columns[amount].help);
		return false;
	}
	if (*c == '\0') {
		import_problem(k, currency, "is empty while %s is %s: give the ISO 4217 code",
			       k->columns[amount].name, a);
		return false;
	}
	int64_t minor = 0;
	enum money_error err = money_parse(a, c, &minor);
	if (err == MONEY_UNKNOWN_CURRENCY) {
		import_problem(k, currency,
			       "'%s' is not an ISO 4217 code (three capital letters such as "
			       "MYR, THB, USD)",
			       c);
		return false;
	}
	if (err != MONEY_OK) {
		import_problem(k, amount, "'%s' %s", a, money_error_text(err));
		return false;
	}
	if (minor < min) {
		import_problem(k, amount, "'%s' must be %s", a,
			       min > 0 ? "more than 0" : "0 or more");
		return false;
	}
	tulay__v1__money__init(out);
	out->minor_units = minor;
	out->currency = (char *)c;
	return true;
}

int import_word(struct checker *k, int col, const struct vocab *v)
{
	const char *w = import_cell(k, col);
	int value = 0;
	/* An export writes "unknown" for an enum left at 0 without a word of its own (the
	 * legal counsel of a deportation): read back as empty. */
	if (strcasecmp(w, "unknown") == 0 && !vocab_parse(v, w, &value))
		w = "";
	if (*w == '\0') {
		if (k->columns[col].required)
			import_problem(k, col, "is empty: give %s", k->columns[col].help);
		return 0;
	}
	char words[512];
	if (!vocab_parse(v, w, &value))
		import_problem(k, col, "'%s' is not one of: %s", w,
			       vocab_join(v, words, sizeof(words)) ? words : "(see --template)");
	return value;
}

size_t import_words(struct checker *k, int col, const struct vocab *v, int *values, size_t cap)
{
	const char *cell = import_cell(k, col);
	size_t n = 0;
	if (*cell == '\0' && k->columns[col].required)
		import_problem(k, col, "is empty: give %s", k->columns[col].help);
	for (const char *p = cell; *p != '\0';) {
		size_t len = strcspn(p, ",");
		char word[64];
		int value;
		snprintf(word, sizeof(word), "%.*s", (int)len, p);
		if (!vocab_parse(v, word, &value)) {
			char words[512];
			import_problem(k, col, "'%s' is not a %s: one of %s", word, v->noun,
				       vocab_join(v, words, sizeof(words)) ? words
									   : "(see --template)");
		} else if (n < cap) {
			values[n++] = value;
		}
		p += len + (p[len] == ',');
	}
	return n;
}

static bool chars_in(const char *s, size_t min, size_t max, const char *allowed)
{
	size_t n = strlen(s);
	return n >= min && n <= max && strspn(s, allowed) == n;
}

#define ID_CHARS    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -./"
#define PHONE_CHARS "0123456789 +-()"

void import_identity(struct checker *k, const int cols[3], const char *name, const char *id,
		     const char *phone)
{
	size_t chars = utf8_chars(name);
	if (*name != '\0' && (chars == (size_t)-1 || chars > 200))
		import_problem(k, cols[0], "a name has more than 200 characters");
	if (*id != '\0' && !chars_in(id, 3, 40, ID_CHARS))
		import_problem(k, cols[1],
			       "'%s' is not an ID number: 3-40 of A-Z a-z 0-9 space - . /", id);
	if (phone != NULL && *phone != '\0' && !chars_in(phone, 6, 30, PHONE_CHARS))
		import_problem(k, cols[2],
			       "'%s' is not a phone number: 6-30 of digits, space, + - ( )", phone);
}

static bool is_column(const struct checker *k, const char *name)
{
	for (int c = 0; c < k->ncolumns; c++) {
		if (strcmp(k->columns[c].name, name) == 0)
			return true;
	}
	return false;
}

const char *import_field_column(const struct checker *k, const char *field, char *buf, size_t cap)
{
	if (strcmp(field, "expected_version") == 0)
		return "version";
	size_t stem = strcspn(field, ".[");
	if (field[stem] == '.') {
		snprintf(buf, cap, "%.*s_%s", (int)stem, field, field + stem + 1);
		if (is_column(k, buf))
			return buf;
	}
	snprintf(buf, cap, "%.*s", (int)stem, field);
	return buf;
}

static void sha256(const void *const *parts, const size_t *lens, size_t n, uint8_t out[32])
{
	unsigned len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (size_t i = 0; i < n; i++)
		EVP_DigestUpdate(ctx, parts[i], lens[i]);
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
}

void import_request_key(const char *purpose, const uint8_t *bytes, size_t len, uint8_t key[16])
{
	const void *parts[] = {purpose, bytes};
	size_t lens[] = {strlen(purpose) + 1, len};
	uint8_t out[32];
	sha256(parts, lens, 2, out);
	memcpy(key, out, 16);
}

void import_row_digest(const struct checker *k, int ncolumns, uint8_t digest[32])
{
	const void *parts[IMPORT_MAX_COLUMNS];
	size_t lens[IMPORT_MAX_COLUMNS];
	for (int col = 0; col < ncolumns; col++) {
		parts[col] = import_cell(k, col);
		lens[col] = strlen(parts[col]) + 1;
	}
	sha256(parts, lens, (size_t)ncolumns, digest);
}

void import_row_key(const char *purpose, const uint8_t digest[32], unsigned occurrence,
		    uint8_t key[16])
{
	const void *parts[] = {purpose, digest, &occurrence};
	size_t lens[] = {strlen(purpose) + 1, 32, sizeof(occurrence)};
	uint8_t out[32];
	sha256(parts, lens, 3, out);
	memcpy(key, out, 16);
}
