/* tulay import's rows: the columns, reading the CSV file with libcsv (a block at a time,
 * each row's first line counted across quoted line breaks), and the checks that turn a
 * row into a CreateClaim or name each bad cell with its fix. */
#include "cli_import_rows.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <openssl/evp.h>

#include "civil_date.h"
#include "cli_vocab.h"
#include "iso.h"
#include "money.h"
#include "utf8.h"

/* --- the columns ------------------------------------------------------------------------ */

const struct import_column import_columns[COL_COUNT] = {
    [COL_WORKER_NATIONALITY] = {"worker_nationality", true, "ISO 3166-1 alpha-2, e.g. PH"},
    [COL_COUNTRY_OF_WORK] = {"country_of_work", true, "ISO 3166-1 alpha-2, e.g. MY"},
    [COL_SECTOR] = {"sector", true, "a sector word, e.g. domestic-work"},
    [COL_EMPLOYER] = {"employer", true, "1-200 characters"},
    [COL_WORK_STARTED_ON] = {"work_started_on", true, "YYYY-MM-DD"},
    [COL_WORK_ENDED_ON] = {"work_ended_on", true, "YYYY-MM-DD, not before work_started_on"},
    [COL_AMOUNT_CLAIMED] = {"amount_claimed", true, "e.g. 4500.00, more than 0"},
    [COL_AMOUNT_CLAIMED_CURRENCY] = {"amount_claimed_currency", true, "ISO 4217, e.g. MYR"},
    [COL_WORKERS] = {"workers", false, "1-100000 (empty: 1)"},
    [COL_RECRUITMENT_AGENCY] = {"recruitment_agency", false, "1-200 characters"},
    [COL_RECRUITMENT_FEE] = {"recruitment_fee", false, "0 or more, with its currency"},
    [COL_RECRUITMENT_FEE_CURRENCY] = {"recruitment_fee_currency", false, "ISO 4217"},
    [COL_CONTRACT_WAGE] = {"contract_wage", false, "monthly, more than 0, with currency"},
    [COL_CONTRACT_WAGE_CURRENCY] = {"contract_wage_currency", false, "ISO 4217"},
    [COL_ACTUAL_WAGE] = {"actual_wage", false, "monthly, 0 or more, with currency"},
    [COL_ACTUAL_WAGE_CURRENCY] = {"actual_wage_currency", false, "ISO 4217"},
    [COL_EXPLOITATION_MEANS] = {"exploitation_means", false, "words, comma-separated"},
    [COL_FORUM] = {"forum", false, "a forum word, e.g. labour-court"},
    [COL_FILING_DEADLINE] = {"filing_deadline", false, "YYYY-MM-DD"},
    [COL_OFFICE] = {"office", false, "the exact name of one of your field offices"},
    [COL_WORKER_NAME] = {"worker_name", false, "1-200 characters (encrypted)"},
    [COL_WORKER_ID_NUMBER] = {"worker_id_number", false, "passport or ID (encrypted)"},
    [COL_WORKER_PHONE] = {"worker_phone", false, "digits, space, + - ( ) (encrypted)"},
    [COL_CO_WORKERS] = {"co_workers", false, "name|id number|phone each, ';' between"},
    [COL_REFERENCE] = {"reference", false, NULL},
    [COL_ORGANISATION] = {"organisation", false, NULL},
    [COL_STATUS] = {"status", false, NULL},
    [COL_AMOUNT_AWARDED] = {"amount_awarded", false, NULL},
    [COL_AMOUNT_AWARDED_CURRENCY] = {"amount_awarded_currency", false, NULL},
    [COL_AMOUNT_RECOVERED] = {"amount_recovered", false, NULL},
    [COL_AMOUNT_RECOVERED_CURRENCY] = {"amount_recovered_currency", false, NULL},
    [COL_OPENED_ON] = {"opened_on", false, NULL},
    [COL_CLOSED_ON] = {"closed_on", false, NULL},
    [COL_VERSION] = {"version", false, NULL},
    [COL_CREATED_BY] = {"created_by", false, NULL},
    [COL_CREATED_AT] = {"created_at", false, NULL},
    [COL_REASON] = {"reason", false, "why the status changes (to close or reopen)"},
};

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

__attribute__((format(printf, 3, 4))) static void problem(struct checker *k, enum column col,
							  const char *fmt, ...)
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

/* The row's cell of `col`, "" when the file has no such column or the row is short. */
const char *import_cell(const struct checker *k, enum column col)
{
	int i = k->where[col];
	return i >= 0 && (size_t)i < k->row->ncells ? k->row->cells[i] : "";
}

static const char *text_cell(struct checker *k, enum column col, size_t max)
{
	const char *v = import_cell(k, col);
	size_t chars = utf8_chars(v);
	if (*v == '\0') {
		if (import_columns[col].required)
			problem(k, col, "is empty: give %s", import_columns[col].help);
		return "";
	}
	if (chars == (size_t)-1)
		problem(k, col, "is not UTF-8 text: save the file as UTF-8");
	else if (chars > max)
		problem(k, col, "has %zu characters: at most %zu", chars, max);
	for (const char *p = v; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20) {
			problem(k, col, "holds a control character (a line break?): remove it");
			break;
		}
	}
	return v;
}

static const char *country_cell(struct checker *k, enum column col)
{
	const char *v = import_cell(k, col);
	if (*v == '\0')
		problem(k, col, "is empty: give an ISO 3166-1 alpha-2 code such as PH or MY");
	else if (iso_country_find(v) == NULL)
		problem(k, col,
			"'%s' is not an ISO 3166-1 alpha-2 code (two capital letters such "
			"as PH, MY, TH)",
			v);
	return v;
}

static bool date_cell(struct checker *k, enum column col, struct civil_date *out)
{
	const char *v = import_cell(k, col);
	if (*v == '\0') {
		if (import_columns[col].required)
			problem(k, col, "is empty: give a date as YYYY-MM-DD");
		return false;
	}
	if (!civil_date_parse(v, out)) {
		problem(k, col, "'%s' is not a date: write YYYY-MM-DD, a real day", v);
		return false;
	}
	return true;
}

/* An amount and its currency column: unset when both are empty. */
static bool money_cells(struct checker *k, enum column amount, enum column currency, int64_t min,
			Tulay__V1__Money *out)
{
	const char *a = import_cell(k, amount), *c = import_cell(k, currency);
	if (*a == '\0' && *c == '\0') {
		if (import_columns[amount].required)
			problem(k, amount, "is empty: give %s", import_columns[amount].help);
		return false;
	}
	if (*c == '\0') {
		problem(k, currency, "is empty while %s is %s: give the ISO 4217 code",
			import_columns[amount].name, a);
		return false;
	}
	int64_t minor = 0;
	enum money_error err = money_parse(a, c, &minor);
	if (err == MONEY_UNKNOWN_CURRENCY) {
		problem(k, currency,
			"'%s' is not an ISO 4217 code (three capital letters such as "
			"MYR, THB, USD)",
			c);
		return false;
	}
	if (err != MONEY_OK) {
		problem(k, amount, "'%s' %s", a, money_error_text(err));
		return false;
	}
	if (minor < min) {
		problem(k, amount, "'%s' must be %s", a, min > 0 ? "more than 0" : "0 or more");
		return false;
	}
	tulay__v1__money__init(out);
	out->minor_units = minor;
	out->currency = (char *)c;
	return true;
}

static int word_cell(struct checker *k, enum column col, const struct vocab *v)
{
	const char *w = import_cell(k, col);
	int value = 0;
	if (*w == '\0') {
		if (import_columns[col].required)
			problem(k, col, "is empty: give %s", import_columns[col].help);
		return 0;
	}
	char words[512];
	if (!vocab_parse(v, w, &value))
		problem(k, col, "'%s' is not one of: %s", w,
			vocab_join(v, words, sizeof(words)) ? words : "(see --template)");
	return value;
}

static bool chars_in(const char *s, size_t min, size_t max, const char *allowed)
{
	size_t n = strlen(s);
	return n >= min && n <= max && strspn(s, allowed) == n;
}

#define ID_CHARS    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -./"
#define PHONE_CHARS "0123456789 +-()"

/* A worker's cells; `cols` name them in messages (the co_workers cell, for each co-worker). */
static void worker_cells(struct checker *k, const enum column cols[3], const char *name,
			 const char *id, const char *phone, Tulay__V1__Worker *w)
{
	tulay__v1__worker__init(w);
	size_t chars = utf8_chars(name);
	if (*name != '\0' && (chars == (size_t)-1 || chars > 200))
		problem(k, cols[0], "a worker's name has more than 200 characters");
	if (*id != '\0' && !chars_in(id, 3, 40, ID_CHARS))
		problem(k, cols[1], "'%s' is not an ID number: 3-40 of A-Z a-z 0-9 space - . /",
			id);
	if (*phone != '\0' && !chars_in(phone, 6, 30, PHONE_CHARS))
		problem(k, cols[2], "'%s' is not a phone number: 6-30 of digits, space, + - ( )",
			phone);
	w->name = (char *)name;
	w->id_number = (char *)id;
	w->phone = (char *)phone;
}

/* The cells an update reads (version, status, amount_awarded, amount_recovered, reason).
 * u points into the row's cells. */
static void check_update(struct checker *k, struct claim_update_cells *u)
{
	*u = (struct claim_update_cells){.reference = import_cell(k, COL_REFERENCE)};
	const char *version = import_cell(k, COL_VERSION);
	if (*version == '\0') {
		problem(k, COL_VERSION,
			"is empty: a row with a reference needs the version it was exported at "
			"(a claim of yours is changed at that version); or leave reference empty "
			"to log a new claim");
	} else {
		char *end = NULL;
		errno = 0;
		long long v = strtoll(version, &end, 10);
		if (*end != '\0' || errno != 0 || v < 1)
			problem(k, COL_VERSION,
				"'%s' is not a version: the whole number `tulay export claims` "
				"wrote there",
				version);
		else
			u->version = v;
	}
	u->status = (Tulay__V1__ClaimStatus)word_cell(k, COL_STATUS, &vocab_claim_statuses);
	u->has_awarded =
	    money_cells(k, COL_AMOUNT_AWARDED, COL_AMOUNT_AWARDED_CURRENCY, 0, &u->awarded);
	u->has_recovered =
	    money_cells(k, COL_AMOUNT_RECOVERED, COL_AMOUNT_RECOVERED_CURRENCY, 0, &u->recovered);
	u->reason = text_cell(k, COL_REASON, 1000);
}

/* Fills c from the row; the problems are in k. c points into the row's cells. */
void import_check_row(struct checker *k, const struct row *row, struct claim_msg *c)
{
	k->row = row;
	k->nproblems = 0;
	tulay__v1__create_claim__init(&c->m);
	Tulay__V1__CreateClaim *m = &c->m;
	if (row->too_many)
		problem(k, COL_COUNT, "has more than %d cells", IMPORT_MAX_COLUMNS);
	m->worker_nationality = (char *)country_cell(k, COL_WORKER_NATIONALITY);
	m->country_of_work = (char *)country_cell(k, COL_COUNTRY_OF_WORK);
	m->sector = (Tulay__V1__Sector)word_cell(k, COL_SECTOR, &vocab_sectors);
	m->employer = (char *)text_cell(k, COL_EMPLOYER, 200);
	struct civil_date from, to;
	bool has_from = date_cell(k, COL_WORK_STARTED_ON, &from);
	if (date_cell(k, COL_WORK_ENDED_ON, &to) && has_from && civil_date_cmp(&to, &from) < 0)
		problem(k, COL_WORK_ENDED_ON, "%s is before work_started_on %s",
			import_cell(k, COL_WORK_ENDED_ON), import_cell(k, COL_WORK_STARTED_ON));
	m->work_started_on = (char *)import_cell(k, COL_WORK_STARTED_ON);
	m->work_ended_on = (char *)import_cell(k, COL_WORK_ENDED_ON);
	if (money_cells(k, COL_AMOUNT_CLAIMED, COL_AMOUNT_CLAIMED_CURRENCY, 1, &c->claimed))
		m->amount_claimed = &c->claimed;
	const char *workers = import_cell(k, COL_WORKERS);
	if (*workers != '\0') {
		char *end = NULL;
		long n = strtol(workers, &end, 10);
		if (*end != '\0' || n < 1 || n > 100000)
			problem(k, COL_WORKERS, "'%s' is not a number of workers from 1 to 100000",
				workers);
		else
			m->workers = (uint32_t)n;
	}
	m->recruitment_agency = (char *)text_cell(k, COL_RECRUITMENT_AGENCY, 200);
	if (money_cells(k, COL_RECRUITMENT_FEE, COL_RECRUITMENT_FEE_CURRENCY, 0, &c->fee))
		m->recruitment_fee = &c->fee;
	if (money_cells(k, COL_CONTRACT_WAGE, COL_CONTRACT_WAGE_CURRENCY, 1, &c->contract))
		m->contract_wage = &c->contract;
	if (money_cells(k, COL_ACTUAL_WAGE, COL_ACTUAL_WAGE_CURRENCY, 0, &c->actual))
		m->actual_wage = &c->actual;
	const char *means = import_cell(k, COL_EXPLOITATION_MEANS);
	for (const char *p = means; *p != '\0';) {
		size_t len = strcspn(p, ",");
		char word[64];
		int value;
		snprintf(word, sizeof(word), "%.*s", (int)len, p);
		if (!vocab_parse(&vocab_exploitation_means, word, &value))
			problem(k, COL_EXPLOITATION_MEANS, "'%s' is not a means of exploitation",
				word);
		else if (m->n_exploitation_means < sizeof(c->means) / sizeof(c->means[0]))
			c->means[m->n_exploitation_means++] = (Tulay__V1__ExploitationMeans)value;
		p += len + (p[len] == ',');
	}
	m->exploitation_means = c->means;
	m->forum = (Tulay__V1__ClaimForum)word_cell(k, COL_FORUM, &vocab_claim_forums);
	struct civil_date deadline;
	if (date_cell(k, COL_FILING_DEADLINE, &deadline))
		m->filing_deadline = (char *)import_cell(k, COL_FILING_DEADLINE);
	m->office = (char *)text_cell(k, COL_OFFICE, 200);
	const char *name = import_cell(k, COL_WORKER_NAME),
		   *id = import_cell(k, COL_WORKER_ID_NUMBER),
		   *phone = import_cell(k, COL_WORKER_PHONE);
	if (*name != '\0' || *id != '\0' || *phone != '\0') {
		static const enum column lead[3] = {COL_WORKER_NAME, COL_WORKER_ID_NUMBER,
						    COL_WORKER_PHONE};
		worker_cells(k, lead, name, id, phone, &c->worker);
		m->worker = &c->worker;
	}
	/* co_workers: "name|id number|phone" each, ';' between. */
	free(c->co_cell);
	c->co_cell = strdup(import_cell(k, COL_CO_WORKERS));
	size_t n = 0;
	for (char *save = NULL, *w = c->co_cell != NULL ? strtok_r(c->co_cell, ";", &save) : NULL;
	     w != NULL; w = strtok_r(NULL, ";", &save)) {
		if (n == IMPORT_MAX_CO_WORKER) {
			problem(k, COL_CO_WORKERS, "lists more than %d co-workers",
				IMPORT_MAX_CO_WORKER);
			break;
		}
		char *parts[3] = {w, "", ""};
		for (int i = 1; i < 3 && parts[i - 1] != NULL; i++) {
			char *bar = strchr(parts[i - 1], '|');
			if (bar == NULL)
				break;
			*bar = '\0';
			parts[i] = bar + 1;
		}
		static const enum column co[3] = {COL_CO_WORKERS, COL_CO_WORKERS, COL_CO_WORKERS};
		worker_cells(k, co, parts[0], parts[1], parts[2], &c->co[n]);
		c->co_ptrs[n] = &c->co[n];
		n++;
	}
	m->co_workers = c->co_ptrs;
	m->n_co_workers = n;
	c->update = (struct claim_update_cells){.reference = ""};
	if (*import_cell(k, COL_REFERENCE) != '\0')
		check_update(k, &c->update);
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

/* The digest of a row's imported cells (each with its terminating NUL). */
void import_row_digest(const struct checker *k, uint8_t digest[32])
{
	const void *parts[COL_IMPORTED];
	size_t lens[COL_IMPORTED];
	for (int col = 0; col < COL_IMPORTED; col++) {
		parts[col] = import_cell(k, (enum column)col);
		lens[col] = strlen(parts[col]) + 1;
	}
	sha256(parts, lens, COL_IMPORTED, digest);
}

/* The idempotency key of a row: its content's digest and how many identical rows came
 * before it in the file. */
void import_row_key(const uint8_t digest[32], unsigned occurrence, uint8_t key[16])
{
	static const char purpose[] = "tulay import claims v1";
	const void *parts[] = {purpose, digest, &occurrence};
	size_t lens[] = {sizeof(purpose), 32, sizeof(occurrence)};
	uint8_t out[32];
	sha256(parts, lens, 3, out);
	memcpy(key, out, 16);
}
