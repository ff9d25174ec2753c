/* tulay import claims: a claim's columns, a row read as a CreateClaim (or as what it would
 * change in a claim of yours), and the command's help. */
#include "cli_import_claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil_date.h"

static const struct import_column claim_columns[COL_COUNT] = {
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

/* The cells an update reads (status, amount_awarded, amount_recovered, reason); u points
 * into the row's cells. */
static void check_update(struct checker *k, struct claim_update_cells *u)
{
	*u = (struct claim_update_cells){0};
	u->status = (Tulay__V1__ClaimStatus)import_word(k, COL_STATUS, &vocab_claim_statuses);
	u->has_awarded =
	    import_money(k, COL_AMOUNT_AWARDED, COL_AMOUNT_AWARDED_CURRENCY, 0, &u->awarded);
	u->has_recovered =
	    import_money(k, COL_AMOUNT_RECOVERED, COL_AMOUNT_RECOVERED_CURRENCY, 0, &u->recovered);
	u->reason = import_text(k, COL_REASON, 1000);
}

/* A worker's cells; `cols` name them in messages (the co_workers cell, for each co-worker). */
static void worker_cells(struct checker *k, const int cols[3], const char *name, const char *id,
			 const char *phone, Tulay__V1__Worker *w)
{
	tulay__v1__worker__init(w);
	import_identity(k, cols, name, id, phone);
	w->name = (char *)name;
	w->id_number = (char *)id;
	w->phone = (char *)phone;
}

/* co_workers: "name|id number|phone" each, ';' between. */
static void co_worker_cells(struct checker *k, struct claim_msg *c)
{
	free(c->co_cell);
	c->co_cell = strdup(import_cell(k, COL_CO_WORKERS));
	size_t n = 0;
	for (char *save = NULL, *w = c->co_cell != NULL ? strtok_r(c->co_cell, ";", &save) : NULL;
	     w != NULL; w = strtok_r(NULL, ";", &save)) {
		if (n == IMPORT_MAX_CO_WORKER) {
			import_problem(k, COL_CO_WORKERS, "lists more than %d co-workers",
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
		static const int co[3] = {COL_CO_WORKERS, COL_CO_WORKERS, COL_CO_WORKERS};
		worker_cells(k, co, parts[0], parts[1], parts[2], &c->co[n]);
		c->co_ptrs[n] = &c->co[n];
		n++;
	}
	c->m.co_workers = c->co_ptrs;
	c->m.n_co_workers = n;
}

static void claim_check(struct checker *k, const struct row *row, void *msg)
{
	struct claim_msg *c = msg;
	import_check_begin(k, row);
	tulay__v1__create_claim__init(&c->m);
	Tulay__V1__CreateClaim *m = &c->m;
	m->worker_nationality = (char *)import_country(k, COL_WORKER_NATIONALITY);
	m->country_of_work = (char *)import_country(k, COL_COUNTRY_OF_WORK);
	m->sector = (Tulay__V1__Sector)import_word(k, COL_SECTOR, &vocab_sectors);
	m->employer = (char *)import_text(k, COL_EMPLOYER, 200);
	bool has_from = import_date(k, COL_WORK_STARTED_ON);
	m->work_started_on = (char *)import_cell(k, COL_WORK_STARTED_ON);
	m->work_ended_on = (char *)import_cell(k, COL_WORK_ENDED_ON);
	struct civil_date from, to;
	if (import_date(k, COL_WORK_ENDED_ON) && has_from &&
	    civil_date_parse(m->work_started_on, &from) &&
	    civil_date_parse(m->work_ended_on, &to) && civil_date_cmp(&to, &from) < 0)
		import_problem(k, COL_WORK_ENDED_ON, "%s is before work_started_on %s",
			       m->work_ended_on, m->work_started_on);
	if (import_money(k, COL_AMOUNT_CLAIMED, COL_AMOUNT_CLAIMED_CURRENCY, 1, &c->claimed))
		m->amount_claimed = &c->claimed;
	const char *workers = import_cell(k, COL_WORKERS);
	if (*workers != '\0') {
		char *end = NULL;
		long n = strtol(workers, &end, 10);
		if (*end != '\0' || n < 1 || n > 100000)
			import_problem(k, COL_WORKERS,
				       "'%s' is not a number of workers from 1 to 100000", workers);
		else
			m->workers = (uint32_t)n;
	}
	m->recruitment_agency = (char *)import_text(k, COL_RECRUITMENT_AGENCY, 200);
	if (import_money(k, COL_RECRUITMENT_FEE, COL_RECRUITMENT_FEE_CURRENCY, 0, &c->fee))
		m->recruitment_fee = &c->fee;
	if (import_money(k, COL_CONTRACT_WAGE, COL_CONTRACT_WAGE_CURRENCY, 1, &c->contract))
		m->contract_wage = &c->contract;
	if (import_money(k, COL_ACTUAL_WAGE, COL_ACTUAL_WAGE_CURRENCY, 0, &c->actual))
		m->actual_wage = &c->actual;
	m->n_exploitation_means = import_words(k, COL_EXPLOITATION_MEANS, &vocab_exploitation_means,
					       c->means, sizeof(c->means) / sizeof(c->means[0]));
	m->exploitation_means = (Tulay__V1__ExploitationMeans *)c->means;
	m->forum = (Tulay__V1__ClaimForum)import_word(k, COL_FORUM, &vocab_claim_forums);
	if (import_date(k, COL_FILING_DEADLINE))
		m->filing_deadline = (char *)import_cell(k, COL_FILING_DEADLINE);
	m->office = (char *)import_text(k, COL_OFFICE, 200);
	const char *name = import_cell(k, COL_WORKER_NAME),
		   *id = import_cell(k, COL_WORKER_ID_NUMBER),
		   *phone = import_cell(k, COL_WORKER_PHONE);
	if (*name != '\0' || *id != '\0' || *phone != '\0') {
		static const int lead[3] = {COL_WORKER_NAME, COL_WORKER_ID_NUMBER,
					    COL_WORKER_PHONE};
		worker_cells(k, lead, name, id, phone, &c->worker);
		m->worker = &c->worker;
	}
	co_worker_cells(k, c);
	c->update = (struct claim_update_cells){0};
	if (*import_cell(k, COL_REFERENCE) != '\0')
		check_update(k, &c->update);
}

static void claim_create(void *msg, const uint8_t key[16], Tulay__V1__Request *req)
{
	struct claim_msg *c = msg;
	c->m.idempotency_key.data = (uint8_t *)key;
	c->m.idempotency_key.len = TULAY_IDEMPOTENCY_KEY_BYTES;
	tulay__v1__request__init(req);
	req->body_case = TULAY__V1__REQUEST__BODY_CREATE_CLAIM;
	req->create_claim = &c->m;
}

static int64_t claim_created_at(const Tulay__V1__Response *resp)
{
	return resp->claim != NULL ? resp->claim->created_at : -1;
}

static void claim_msg_free(void *msg)
{
	struct claim_msg *c = msg;
	free(c->co_cell);
	c->co_cell = NULL;
}

/* --- a row naming a claim of yours -------------------------------------------------------- */

static bool means_same(const Tulay__V1__CreateClaim *row, const Tulay__V1__Claim *c)
{
	if (row->n_exploitation_means != c->n_exploitation_means)
		return false;
	for (size_t i = 0; i < row->n_exploitation_means; i++) {
		bool found = false;
		for (size_t j = 0; j < c->n_exploitation_means && !found; j++)
			found = row->exploitation_means[i] == c->exploitation_means[j];
		if (!found)
			return false;
	}
	return true;
}

/* The first of the file's columns whose cell is not the claim's, or COL_COUNT. Only
 * status, amount_awarded and amount_recovered may differ: an import does not rewrite what
 * was recorded at intake. The worker's cells are personal data an export leaves empty
 * (without --with-identities) and are not compared. */
static enum claim_column first_difference(const struct checker *k,
					  const Tulay__V1__CreateClaim *row,
					  const Tulay__V1__Claim *c)
{
	struct {
		enum claim_column col;
		bool same;
	} cells[] = {
	    {COL_WORKER_NATIONALITY, strcmp(row->worker_nationality, c->worker_nationality) == 0},
	    {COL_COUNTRY_OF_WORK, strcmp(row->country_of_work, c->country_of_work) == 0},
	    {COL_SECTOR, row->sector == c->sector},
	    {COL_EMPLOYER, strcmp(row->employer, c->employer) == 0},
	    {COL_WORK_STARTED_ON, strcmp(row->work_started_on, c->work_started_on) == 0},
	    {COL_WORK_ENDED_ON, strcmp(row->work_ended_on, c->work_ended_on) == 0},
	    {COL_AMOUNT_CLAIMED, import_money_same(row->amount_claimed, c->amount_claimed)},
	    {COL_WORKERS, (row->workers != 0 ? row->workers : 1) == c->workers},
	    {COL_RECRUITMENT_AGENCY, strcmp(row->recruitment_agency, c->recruitment_agency) == 0},
	    {COL_RECRUITMENT_FEE, import_money_same(row->recruitment_fee, c->recruitment_fee)},
	    {COL_CONTRACT_WAGE, import_money_same(row->contract_wage, c->contract_wage)},
	    {COL_ACTUAL_WAGE, import_money_same(row->actual_wage, c->actual_wage)},
	    {COL_EXPLOITATION_MEANS, means_same(row, c)},
	    {COL_FORUM, row->forum == c->forum},
	    {COL_FILING_DEADLINE, strcmp(row->filing_deadline, c->filing_deadline) == 0},
	    {COL_OFFICE, strcmp(row->office, c->office) == 0},
	};
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		if (!cells[i].same && k->where[cells[i].col] >= 0)
			return cells[i].col;
	}
	return COL_COUNT;
}

static void claim_update_read(void *msg, const char *reference, Tulay__V1__Request *req)
{
	struct claim_msg *c = msg;
	tulay__v1__get_claim__init(&c->get);
	c->get.reference = (char *)reference;
	tulay__v1__request__init(req);
	req->body_case = TULAY__V1__REQUEST__BODY_GET_CLAIM;
	req->get_claim = &c->get;
}

/* Steps: the status, then the amounts (each when the row has it). */
static bool claim_update_plan(void *msg, const struct checker *k, const Tulay__V1__Response *resp,
			      int *nsteps, bool differs[IMPORT_MAX_STEPS], char *why, size_t cap)
{
	struct claim_msg *m = msg;
	const Tulay__V1__Claim *c = resp->claim;
	enum claim_column col = first_difference(k, &m->m, c);
	if (col != COL_COUNT) {
		snprintf(why, cap,
			 "%s: differs from %s's: an import changes only the status, "
			 "amount_awarded and amount_recovered of a claim you have; put back the "
			 "claim's (export it again to see it), or leave reference empty to log a "
			 "new claim",
			 k->columns[col].name, c->reference);
		return false;
	}
	const struct claim_update_cells *u = &m->update;
	m->change_awarded = u->has_awarded && !import_money_same(&u->awarded, c->amount_awarded);
	m->change_recovered =
	    u->has_recovered && !import_money_same(&u->recovered, c->amount_recovered);
	int n = 0;
	if (u->status != 0)
		differs[n++] = u->status != c->status;
	if (u->has_awarded || u->has_recovered)
		differs[n++] = m->change_awarded || m->change_recovered;
	*nsteps = n;
	return true;
}

static void claim_update_step(void *msg, int step, bool differs, int64_t version,
			      uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES], Tulay__V1__Request *req)
{
	struct claim_msg *m = msg;
	const struct claim_update_cells *u = &m->update;
	tulay__v1__request__init(req);
	if (step == 0 && u->status != 0) {
		Tulay__V1__ChangeClaimStatus *st = &m->status;
		tulay__v1__change_claim_status__init(st);
		st->reference = m->get.reference;
		st->status = u->status;
		st->expected_version = version;
		st->reason = (char *)u->reason;
		import_step_key(&st->base, &st->idempotency_key, key);
		req->body_case = TULAY__V1__REQUEST__BODY_CHANGE_CLAIM_STATUS;
		req->change_claim_status = st;
		return;
	}
	/* The amounts that differ; sent again to find an earlier run's (differs false): the
	 * row's. */
	Tulay__V1__UpdateClaimAmounts *a = &m->amounts;
	tulay__v1__update_claim_amounts__init(a);
	a->reference = m->get.reference;
	a->expected_version = version;
	if (differs ? m->change_awarded : u->has_awarded)
		a->amount_awarded = (Tulay__V1__Money *)&u->awarded;
	if (differs ? m->change_recovered : u->has_recovered)
		a->amount_recovered = (Tulay__V1__Money *)&u->recovered;
	import_step_key(&a->base, &a->idempotency_key, key);
	req->body_case = TULAY__V1__REQUEST__BODY_UPDATE_CLAIM_AMOUNTS;
	req->update_claim_amounts = a;
}

static int64_t claim_version(const Tulay__V1__Response *resp)
{
	return resp->claim != NULL ? resp->claim->version : -1;
}

const struct import_kind import_claims_kind = {
    .word = "claims",
    .noun = "claim",
    .columns = claim_columns,
    .ncolumns = COL_COUNT,
    .nimported = COL_IMPORTED,
    .col_reference = COL_REFERENCE,
    .col_organisation = COL_ORGANISATION,
    .col_version = COL_VERSION,
    .key_purpose = "tulay import claims v1",
    .msg_size = sizeof(struct claim_msg),
    .check = claim_check,
    .create = claim_create,
    .created_at = claim_created_at,
    .msg_free = claim_msg_free,
    .update_read = claim_update_read,
    .update_plan = claim_update_plan,
    .update_step = claim_update_step,
    .case_version = claim_version,
    .template_row =
	"PH,MY,domestic-work,\"Syarikat Maju, Sdn Bhd\",2025-01-06,2025-09-30,4500.00,MYR,"
	"1,Manila Overseas Placement,45000.00,PHP,1500.00,MYR,900.00,MYR,"
	"\"id-confiscated,illegal-deductions\",labour-ministry,2026-03-31,,"
	"Maria Santos,P1234567,+60 12 345 6789,",
    .description = "Logs the claims of a CSV file (UTF-8, RFC 4180, a header row of column\n"
		   "names) in the columns of `tulay export claims`, and updates the status and\n"
		   "amounts of claims it names by reference. Every row is checked before\n"
		   "anything is sent, and every bad cell is reported with its line, column and\n"
		   "the fix; the good rows are then sent, many at a time (none with\n"
		   "--all-or-nothing while any row is bad).",
    .notes = "Columns: worker_nationality, country_of_work, sector, employer,\n"
	     "work_started_on, work_ended_on, amount_claimed and amount_claimed_currency\n"
	     "are required; workers, recruitment_agency, recruitment_fee(_currency),\n"
	     "contract_wage(_currency), actual_wage(_currency), exploitation_means, forum,\n"
	     "filing_deadline, office, worker_name, worker_id_number, worker_phone and\n"
	     "co_workers (\"name|id number|phone\" each, ';' between) may be empty or left\n"
	     "out. The columns the server assigns (reference, organisation, status,\n"
	     "amount_awarded, amount_recovered, opened_on, closed_on, version, created_by,\n"
	     "created_at) may be there, as an export writes them.\n"
	     "\n"
	     "A row without a reference, or of another organisation's export, is logged\n"
	     "as a new claim, at intake. A row with a reference whose organisation is\n"
	     "yours (or empty) is a claim you have: it changes that claim's status,\n"
	     "amount_awarded and amount_recovered to the row's (empty cells: left as\n"
	     "they are), at the row's version. Closing or reopening a claim needs a\n"
	     "reason column (not in exports). The row's other cells must still be the\n"
	     "claim's: an import does not rewrite what was recorded at intake. A claim\n"
	     "changed since the file was exported (its version is past the row's) is\n"
	     "flagged stale and not changed: export it again and redo the change there.",
    .example = "  tulay import claims --template > claims.csv\n"
	       "  tulay import claims claims.csv --dry-run\n"
	       "  tulay import claims claims.csv",
};
