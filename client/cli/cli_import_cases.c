/* tulay import deportations and tulay import recommendations: their columns (those of
 * `tulay export`), a row read as a CreateDeportation or a CreateRecommendation, what a
 * row naming a case of yours changes in it (a deportation's new stages, a
 * recommendation's status: the steps cli_import_update.c sends), and the commands'
 * help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_import_kind.h"

/* --- deportations --------------------------------------------------------------------------- */

enum deportation_column {
	DCOL_OFFICE,
	DCOL_NATIONALITY,
	DCOL_DEPORTED_FROM,
	DCOL_DEPORTED_TO,
	DCOL_SECTOR,
	DCOL_GROUNDS,
	DCOL_ARRESTED_ON,
	DCOL_ARREST_PLACE,
	DCOL_DETAINED_ON,
	DCOL_DETENTION_PLACE,
	DCOL_DETENTION_TYPE,
	DCOL_RELEASED_ON,
	DCOL_DEPORTED_ON,
	DCOL_LEGAL_COUNSEL,
	DCOL_CONSULAR_NOTIFIED,
	DCOL_FAMILY_SEPARATED,
	DCOL_PERSON_NAME,
	DCOL_PERSON_ID_NUMBER,
	DCOL_IMPORTED, /* the columns above make a new deportation */
	DCOL_REFERENCE = DCOL_IMPORTED,
	DCOL_ORGANISATION,
	DCOL_STATUS,
	DCOL_OPENED_ON,
	DCOL_CLOSED_ON,
	DCOL_VERSION,
	DCOL_CREATED_BY,
	DCOL_CREATED_AT,
	DCOL_COUNT,
};

static const struct import_column deportation_columns[DCOL_COUNT] = {
    [DCOL_OFFICE] = {"office", false, "the exact name of one of your field offices"},
    [DCOL_NATIONALITY] = {"nationality", true, "ISO 3166-1 alpha-2, e.g. BD"},
    [DCOL_DEPORTED_FROM] = {"deported_from", true, "ISO 3166-1 alpha-2, e.g. MY"},
    [DCOL_DEPORTED_TO] = {"deported_to", false, "ISO 3166-1 alpha-2"},
    [DCOL_SECTOR] = {"sector", false, "a sector word, e.g. construction"},
    [DCOL_GROUNDS] = {"grounds", false, "words, comma-separated, e.g. no-permit"},
    [DCOL_ARRESTED_ON] = {"arrested_on", false, "YYYY-MM-DD, YYYY-MM or YYYY, ~ first: circa"},
    [DCOL_ARREST_PLACE] = {"arrest_place", false, "1-200 characters: a town or district"},
    [DCOL_DETAINED_ON] = {"detained_on", false, "as arrested_on"},
    [DCOL_DETENTION_PLACE] = {"detention_place", false, "1-200 characters"},
    [DCOL_DETENTION_TYPE] = {"detention_type", false, "e.g. immigration-depot"},
    [DCOL_RELEASED_ON] = {"released_on", false, "as arrested_on"},
    [DCOL_DEPORTED_ON] = {"deported_on", false, "as arrested_on"},
    [DCOL_LEGAL_COUNSEL] = {"legal_counsel", false, "e.g. none, ngo-lawyer (empty: unknown)"},
    [DCOL_CONSULAR_NOTIFIED] = {"consular_notified", false, "yes, no or unknown"},
    [DCOL_FAMILY_SEPARATED] = {"family_separated", false, "yes, no or unknown"},
    [DCOL_PERSON_NAME] = {"person_name", false, "1-200 characters (encrypted)"},
    [DCOL_PERSON_ID_NUMBER] = {"person_id_number", false, "passport or ID (encrypted)"},
    [DCOL_REFERENCE] = {"reference", false, NULL},
    [DCOL_ORGANISATION] = {"organisation", false, NULL},
    [DCOL_STATUS] = {"status", false, NULL},
    [DCOL_OPENED_ON] = {"opened_on", false, NULL},
    [DCOL_CLOSED_ON] = {"closed_on", false, NULL},
    [DCOL_VERSION] = {"version", false, NULL},
    [DCOL_CREATED_BY] = {"created_by", false, NULL},
    [DCOL_CREATED_AT] = {"created_at", false, NULL},
};

struct deportation_msg {
	Tulay__V1__CreateDeportation m;
	Tulay__V1__ApproxDate arrested, detained, released, deported;
	Tulay__V1__Person person;
	int grounds[16];
	/* A row naming a deportation of yours: the stages it has a date for, in order. */
	Tulay__V1__DeportationStage stages[3];
	Tulay__V1__GetDeportation get;
	Tulay__V1__RecordDeportationStage stage;
};

static void deportation_check(struct checker *k, const struct row *row, void *msg)
{
	struct deportation_msg *d = msg;
	Tulay__V1__CreateDeportation *m = &d->m;
	import_check_begin(k, row);
	tulay__v1__create_deportation__init(m);
	m->office = (char *)import_text(k, DCOL_OFFICE, 200);
	m->nationality = (char *)import_country(k, DCOL_NATIONALITY);
	m->deported_from = (char *)import_country(k, DCOL_DEPORTED_FROM);
	m->deported_to = (char *)import_country(k, DCOL_DEPORTED_TO);
	m->sector = (Tulay__V1__Sector)import_word(k, DCOL_SECTOR, &vocab_sectors);
	m->n_grounds = import_words(k, DCOL_GROUNDS, &vocab_deportation_grounds, d->grounds,
				    sizeof(d->grounds) / sizeof(d->grounds[0]));
	m->grounds = (Tulay__V1__DeportationGround *)d->grounds;
	m->arrested_on = import_approx_date(k, DCOL_ARRESTED_ON, &d->arrested);
	m->arrest_place = (char *)import_text(k, DCOL_ARREST_PLACE, 200);
	m->detained_on = import_approx_date(k, DCOL_DETAINED_ON, &d->detained);
	m->detention_place = (char *)import_text(k, DCOL_DETENTION_PLACE, 200);
	m->detention_type =
	    (Tulay__V1__DetentionType)import_word(k, DCOL_DETENTION_TYPE, &vocab_detention_types);
	m->released_on = import_approx_date(k, DCOL_RELEASED_ON, &d->released);
	m->deported_on = import_approx_date(k, DCOL_DEPORTED_ON, &d->deported);
	m->legal_counsel =
	    (Tulay__V1__LegalCounsel)import_word(k, DCOL_LEGAL_COUNSEL, &vocab_legal_counsel);
	m->consular_notified =
	    (Tulay__V1__Known)import_word(k, DCOL_CONSULAR_NOTIFIED, &vocab_known);
	m->family_separated = (Tulay__V1__Known)import_word(k, DCOL_FAMILY_SEPARATED, &vocab_known);
	const char *name = import_cell(k, DCOL_PERSON_NAME),
		   *id = import_cell(k, DCOL_PERSON_ID_NUMBER);
	if (*name != '\0' || *id != '\0') {
		static const int cols[3] = {DCOL_PERSON_NAME, DCOL_PERSON_ID_NUMBER,
					    DCOL_PERSON_ID_NUMBER};
		import_identity(k, cols, name, id, NULL);
		tulay__v1__person__init(&d->person);
		d->person.name = (char *)name;
		d->person.id_number = (char *)id;
		m->person = &d->person;
	}
}

static void deportation_create(void *msg, const uint8_t key[16], Tulay__V1__Request *req)
{
	struct deportation_msg *d = msg;
	d->m.idempotency_key.data = (uint8_t *)key;
	d->m.idempotency_key.len = TULAY_IDEMPOTENCY_KEY_BYTES;
	tulay__v1__request__init(req);
	req->body_case = TULAY__V1__REQUEST__BODY_CREATE_DEPORTATION;
	req->create_deportation = &d->m;
}

static int64_t deportation_created_at(const Tulay__V1__Response *resp)
{
	return resp->deportation != NULL ? resp->deportation->created_at : -1;
}

/* --- a row naming a deportation of yours ----------------------------------------------------- */

static bool approx_same(const Tulay__V1__ApproxDate *a, const Tulay__V1__ApproxDate *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a->date, b->date) == 0 && a->circa == b->circa;
}

static bool values_same(const int *a, size_t na, const int *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		bool found = false;
		for (size_t j = 0; j < nb && !found; j++)
			found = a[i] == b[j];
		if (!found)
			return false;
	}
	return true;
}

static void deportation_update_read(void *msg, const char *reference, Tulay__V1__Request *req)
{
	struct deportation_msg *d = msg;
	tulay__v1__get_deportation__init(&d->get);
	d->get.reference = (char *)reference;
	tulay__v1__request__init(req);
	req->body_case = TULAY__V1__REQUEST__BODY_GET_DEPORTATION;
	req->get_deportation = &d->get;
}

/* A stage the row has a date for: to record when the case has none, the same when it has
 * this one; false (refused) when it has another, or the details differ. */
static bool stage_planned(const struct checker *k, int col, const Tulay__V1__ApproxDate *row,
			  const Tulay__V1__ApproxDate *has, bool details_same, bool *differs,
			  const char *reference, char *why, size_t cap)
{
	*differs = has == NULL;
	if (has == NULL || (approx_same(row, has) && details_same))
		return true;
	snprintf(why, cap,
		 "%s: %s has this stage recorded (%s%s) otherwise: an import records a stage "
		 "that is not there yet and does not change one",
		 k->columns[col].name, reference, has->circa ? "~" : "", has->date);
	return false;
}

/* Steps: the detention, the release and the deportation the row has dates for, in order;
 * every other cell must still be the case's. */
static bool deportation_update_plan(void *msg, const struct checker *k,
				    const Tulay__V1__Response *resp, int *nsteps,
				    bool differs[IMPORT_MAX_STEPS], char *why, size_t cap)
{
	struct deportation_msg *dm = msg;
	const Tulay__V1__CreateDeportation *m = &dm->m;
	const Tulay__V1__Deportation *d = resp->deportation;
	struct {
		int col;
		bool same;
	} cells[] = {
	    {DCOL_OFFICE, strcmp(m->office, d->office) == 0},
	    {DCOL_NATIONALITY, strcmp(m->nationality, d->nationality) == 0},
	    {DCOL_DEPORTED_FROM, strcmp(m->deported_from, d->deported_from) == 0},
	    {DCOL_SECTOR, m->sector == d->sector},
	    {DCOL_GROUNDS, values_same((const int *)m->grounds, m->n_grounds,
				       (const int *)d->grounds, d->n_grounds)},
	    {DCOL_ARRESTED_ON, approx_same(m->arrested_on, d->arrested_on)},
	    {DCOL_ARREST_PLACE, strcmp(m->arrest_place, d->arrest_place) == 0},
	    {DCOL_LEGAL_COUNSEL, m->legal_counsel == d->legal_counsel},
	    {DCOL_CONSULAR_NOTIFIED, m->consular_notified == d->consular_notified},
	    {DCOL_FAMILY_SEPARATED, m->family_separated == d->family_separated},
	    /* Without a deportation date the destination is the case's, as at intake. */
	    {DCOL_DEPORTED_TO, m->deported_on != NULL || *m->deported_to == '\0' ||
				   strcmp(m->deported_to, d->deported_to) == 0},
	};
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		if (!cells[i].same && k->where[cells[i].col] >= 0) {
			snprintf(
			    why, cap,
			    "%s: differs from %s's: an import records the stages of a "
			    "deportation you have (detained_on, released_on, deported_on) and "
			    "changes nothing else; put back the case's (export it again to see "
			    "it), or leave reference empty to log a new case",
			    k->columns[cells[i].col].name, d->reference);
			return false;
		}
	}
	int n = 0;
	if (m->detained_on != NULL) {
		bool same = (*m->detention_place == '\0' ||
			     strcmp(m->detention_place, d->detention_place) == 0) &&
			    (m->detention_type == 0 || m->detention_type == d->detention_type);
		if (!stage_planned(k, DCOL_DETAINED_ON, m->detained_on, d->detained_on, same,
				   &differs[n], d->reference, why, cap))
			return false;
		dm->stages[n++] = TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DETENTION;
	}
	if (m->released_on != NULL) {
		if (!stage_planned(k, DCOL_RELEASED_ON, m->released_on, d->released_on, true,
				   &differs[n], d->reference, why, cap))
			return false;
		dm->stages[n++] = TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_RELEASE;
	}
	if (m->deported_on != NULL) {
		bool same = *m->deported_to == '\0' || strcmp(m->deported_to, d->deported_to) == 0;
		if (!stage_planned(k, DCOL_DEPORTED_ON, m->deported_on, d->deported_on, same,
				   &differs[n], d->reference, why, cap))
			return false;
		dm->stages[n++] = TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DEPORTATION;
	}
	*nsteps = n;
	return true;
}

static void deportation_update_step(void *msg, int step, bool differs, int64_t version,
				    uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES],
				    Tulay__V1__Request *req)
{
	(void)differs;
	struct deportation_msg *dm = msg;
	const Tulay__V1__CreateDeportation *m = &dm->m;
	Tulay__V1__RecordDeportationStage *st = &dm->stage;
	tulay__v1__record_deportation_stage__init(st);
	st->reference = dm->get.reference;
	st->expected_version = version;
	st->stage = dm->stages[step];
	switch (st->stage) {
	case TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DETENTION:
		st->on = m->detained_on;
		st->detention_place = m->detention_place;
		st->detention_type = m->detention_type;
		break;
	case TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_RELEASE:
		st->on = m->released_on;
		break;
	default:
		st->on = m->deported_on;
		st->deported_to = m->deported_to;
		break;
	}
	import_step_key(&st->base, &st->idempotency_key, key);
	tulay__v1__request__init(req);
	req->body_case = TULAY__V1__REQUEST__BODY_RECORD_DEPORTATION_STAGE;
	req->record_deportation_stage = st;
}

/* "on" and "stage" name the stage's date; the others are columns of their own. */
static const char *deportation_step_column(void *msg, int step, const char *field)
{
	const struct deportation_msg *dm = msg;
	if (strcmp(field, "on") != 0 && strcmp(field, "stage") != 0)
		return NULL;
	switch (dm->stages[step]) {
	case TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DETENTION:
		return deportation_columns[DCOL_DETAINED_ON].name;
	case TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_RELEASE:
		return deportation_columns[DCOL_RELEASED_ON].name;
	default:
		return deportation_columns[DCOL_DEPORTED_ON].name;
	}
}

static int64_t deportation_version(const Tulay__V1__Response *resp)
{
	return resp->deportation != NULL ? resp->deportation->version : -1;
}

const struct import_kind import_deportations_kind = {
    .word = "deportations",
    .noun = "deportation",
    .columns = deportation_columns,
    .ncolumns = DCOL_COUNT,
    .nimported = DCOL_IMPORTED,
    .col_reference = DCOL_REFERENCE,
    .col_organisation = DCOL_ORGANISATION,
    .col_version = DCOL_VERSION,
    .key_purpose = "tulay import deportations v1",
    .msg_size = sizeof(struct deportation_msg),
    .check = deportation_check,
    .create = deportation_create,
    .created_at = deportation_created_at,
    .update_read = deportation_update_read,
    .update_plan = deportation_update_plan,
    .update_step = deportation_update_step,
    .case_version = deportation_version,
    .step_column = deportation_step_column,
    .template_row = ",BD,MY,BD,construction,\"no-permit,absconding-report\",2025-03-14,"
		    "Johor Bahru,2025-03-15,Pekan Nenas depot,immigration-depot,,~2025-05,"
		    "none,yes,unknown,Rahim Uddin,BD1234567",
    .description = "Logs the deportations of a CSV file (UTF-8, RFC 4180, a header row of column\n"
		   "names) in the columns of `tulay export deportations`, and records the new\n"
		   "stages of those it names by reference. Every row is checked before\n"
		   "anything is sent, and every bad cell is reported with its line,\n"
		   "column and the fix; the good rows are then logged, many at a time (none with\n"
		   "--all-or-nothing while any row is bad).",
    .notes = "Columns: nationality and deported_from are required; office, deported_to,\n"
	     "sector, grounds (words, comma-separated), arrested_on, arrest_place,\n"
	     "detained_on, detention_place, detention_type, released_on, deported_on\n"
	     "(2025-03-14, 2025-03 or 2025, ~ in front when approximate), legal_counsel,\n"
	     "consular_notified, family_separated (yes, no or unknown), person_name and\n"
	     "person_id_number may be empty or left out. The columns the server assigns\n"
	     "(reference, organisation, status, opened_on, closed_on, version,\n"
	     "created_by, created_at) may be there, as an export writes them: the status\n"
	     "follows from the dates.\n"
	     "\n"
	     "A row with a reference whose organisation is yours (or empty) is a\n"
	     "deportation you have: the stages it has dates for that the case has not yet\n"
	     "(detained_on with detention_place and detention_type, released_on,\n"
	     "deported_on with deported_to) are recorded, in that order, at the row's\n"
	     "version. A stage recorded with another date, or any other cell that is not\n"
	     "the case's, is refused by name. A case changed since the file was exported\n"
	     "is flagged stale and not changed.",
    .example = "  tulay import deportations --template > deportations.csv\n"
	       "  tulay import deportations deportations.csv --dry-run\n"
	       "  tulay import deportations deportations.csv",
};

/* --- recommendations ---------------------------------------------------------------------- */

enum recommendation_column {
	RCOL_STATUS,
	RCOL_TITLE,
	RCOL_TEXT,
	RCOL_SOURCE_DOCUMENT,
	RCOL_SOURCE_DATE,
	RCOL_ADDRESSED_TO,
	RCOL_TARGET_BODY,
	RCOL_COUNTRY,
	RCOL_THEME,
	RCOL_OFFICE,
	RCOL_CO_SIGNERS,
	RCOL_EVIDENCE,
	RCOL_IMPORTED, /* the columns above make a new recommendation */
	RCOL_REFERENCE = RCOL_IMPORTED,
	RCOL_ORGANISATION,
	RCOL_OPENED_ON,
	RCOL_CLOSED_ON,
	RCOL_VERSION,
	RCOL_CREATED_BY,
	RCOL_CREATED_AT,
	RCOL_NOTE, /* not exported: the follow-up of a status an update moves it to */
	RCOL_COUNT,
};

#define RECOMMENDATION_MAX_LIST 50 /* co-signers, evidence */

static const struct import_column recommendation_columns[RCOL_COUNT] = {
    [RCOL_STATUS] = {"status", false, "drafted (empty) or submitted"},
    [RCOL_TITLE] = {"title", true, "1-200 characters"},
    [RCOL_TEXT] = {"text", true, "1-4000 characters, naming no one"},
    [RCOL_SOURCE_DOCUMENT] = {"source_document", true, "1-300 characters"},
    [RCOL_SOURCE_DATE] = {"source_date", true, "YYYY-MM-DD"},
    [RCOL_ADDRESSED_TO] = {"addressed_to", true, "e.g. asean, receiving-states"},
    [RCOL_TARGET_BODY] = {"target_body", false, "1-200 characters, e.g. ACMW"},
    [RCOL_COUNTRY] = {"country", false, "ISO 3166-1 alpha-2 of the government addressed"},
    [RCOL_THEME] = {"theme", true, "e.g. wage-protection"},
    [RCOL_OFFICE] = {"office", false, "the exact name of one of your field offices"},
    [RCOL_CO_SIGNERS] = {"co_signers", false, "acronyms, comma-separated"},
    [RCOL_EVIDENCE] = {"evidence", false, "references of your cases (ORG/REF), ';' between"},
    [RCOL_REFERENCE] = {"reference", false, NULL},
    [RCOL_ORGANISATION] = {"organisation", false, NULL},
    [RCOL_OPENED_ON] = {"opened_on", false, NULL},
    [RCOL_CLOSED_ON] = {"closed_on", false, NULL},
    [RCOL_VERSION] = {"version", false, NULL},
    [RCOL_CREATED_BY] = {"created_by", false, NULL},
    [RCOL_CREATED_AT] = {"created_at", false, NULL},
    [RCOL_NOTE] = {"note", false, "the follow-up of a status change, 1-1000 characters"},
};

struct recommendation_msg {
	Tulay__V1__CreateRecommendation m;
	char *lists; /* copies of the co_signers and evidence cells, cut into their items */
	char *co_signers[RECOMMENDATION_MAX_LIST], *evidence[RECOMMENDATION_MAX_LIST];
	const char *note; /* a row naming a recommendation of yours: its status change's */
	Tulay__V1__GetRecommendation get;
	Tulay__V1__ChangeRecommendationStatus change;
};

/* Cuts `cell` (a copy) at each `sep` into items; too many is a problem of `col`. */
static size_t cut_list(struct checker *k, int col, char *cell, const char *sep, char **items)
{
	size_t n = 0;
	for (char *save = NULL, *item = strtok_r(cell, sep, &save); item != NULL;
	     item = strtok_r(NULL, sep, &save)) {
		if (n == RECOMMENDATION_MAX_LIST) {
			import_problem(k, col, "lists more than %d", RECOMMENDATION_MAX_LIST);
			break;
		}
		items[n++] = item;
	}
	return n;
}

/* Evidence: "ORG/REF" (as an export writes it) or "REF". Only the author's own cases can
 * be evidence: those of another organisation (in another's export) are left out. */
static size_t evidence_items(struct checker *k, char **items, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		char *slash = strchr(items[i], '/');
		if (slash != NULL) {
			*slash = '\0';
			if (k->own_org != NULL && k->own_org[0] != '\0' &&
			    strcasecmp(items[i], k->own_org) != 0)
				continue;
			items[i] = slash + 1;
		}
		items[kept++] = items[i];
	}
	return kept;
}

static void recommendation_check(struct checker *k, const struct row *row, void *msg)
{
	struct recommendation_msg *r = msg;
	Tulay__V1__CreateRecommendation *m = &r->m;
	import_check_begin(k, row);
	tulay__v1__create_recommendation__init(m);
	m->status = (Tulay__V1__RecommendationStatus)import_word(k, RCOL_STATUS,
								 &vocab_recommendation_statuses);
	/* A row with a reference may name one of yours, at any status. */
	bool named = *import_cell(k, RCOL_REFERENCE) != '\0';
	r->note = named ? import_text(k, RCOL_NOTE, 1000) : "";
	if (!named && m->status != 0 &&
	    m->status != TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_DRAFTED &&
	    m->status != TULAY__V1__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_SUBMITTED)
		import_problem(
		    k, RCOL_STATUS,
		    "'%s': a new recommendation is drafted or submitted; log it so, then "
		    "move it with `tulay recommendation status`",
		    import_cell(k, RCOL_STATUS));
	m->title = (char *)import_text(k, RCOL_TITLE, 200);
	m->text = (char *)import_cell(k, RCOL_TEXT);
	if (*m->text == '\0')
		import_problem(k, RCOL_TEXT, "is empty: give %s",
			       recommendation_columns[RCOL_TEXT].help);
	m->source_document = (char *)import_text(k, RCOL_SOURCE_DOCUMENT, 300);
	if (import_date(k, RCOL_SOURCE_DATE))
		m->source_date = (char *)import_cell(k, RCOL_SOURCE_DATE);
	m->addressed_to =
	    (Tulay__V1__AddressedTo)import_word(k, RCOL_ADDRESSED_TO, &vocab_addressed_to);
	m->target_body = (char *)import_text(k, RCOL_TARGET_BODY, 200);
	m->country = (char *)import_country(k, RCOL_COUNTRY);
	m->theme = (Tulay__V1__RecommendationTheme)import_word(k, RCOL_THEME,
							       &vocab_recommendation_themes);
	m->office = (char *)import_text(k, RCOL_OFFICE, 200);
	/* Both lists in one copy: the co-signers' cell, a NUL, the evidence's. */
	const char *co = import_cell(k, RCOL_CO_SIGNERS), *ev = import_cell(k, RCOL_EVIDENCE);
	size_t co_len = strlen(co);
	free(r->lists);
	r->lists = malloc(co_len + strlen(ev) + 2);
	if (r->lists == NULL) {
		import_problem(k, IMPORT_ROW, "out of memory");
		return;
	}
	memcpy(r->lists, co, co_len + 1);
	strcpy(r->lists + co_len + 1, ev);
	m->co_signers = r->co_signers;
	m->n_co_signers = cut_list(k, RCOL_CO_SIGNERS, r->lists, ", ", r->co_signers);
	m->evidence = r->evidence;
	m->n_evidence = evidence_items(
	    k, r->evidence, cut_list(k, RCOL_EVIDENCE, r->lists + co_len + 1, "; ", r->evidence));
}

static void recommendation_create(void *msg, const uint8_t key[16], Tulay__V1__Request *req)
{
	struct recommendation_msg *r = msg;
	r->m.idempotency_key.data = (uint8_t *)key;
	r->m.idempotency_key.len = TULAY_IDEMPOTENCY_KEY_BYTES;
	tulay__v1__request__init(req);
	req->body_case = TULAY__V1__REQUEST__BODY_CREATE_RECOMMENDATION;
	req->create_recommendation = &r->m;
}

static int64_t recommendation_created_at(const Tulay__V1__Response *resp)
{
	return resp->recommendation != NULL ? resp->recommendation->created_at : -1;
}

static void recommendation_msg_free(void *msg)
{
	struct recommendation_msg *r = msg;
	free(r->lists);
	r->lists = NULL;
}

/* --- a row naming a recommendation of yours ------------------------------------------------ */

static void recommendation_update_read(void *msg, const char *reference, Tulay__V1__Request *req)
{
	struct recommendation_msg *r = msg;
	tulay__v1__get_recommendation__init(&r->get);
	r->get.reference = (char *)reference;
	tulay__v1__request__init(req);
	req->body_case = TULAY__V1__REQUEST__BODY_GET_RECOMMENDATION;
	req->get_recommendation = &r->get;
}

/* Whether the row's list (co-signers, or the author's cases as evidence) is the case's. */
static bool list_same(char *const *row, size_t n, const char *const *has, size_t n_has)
{
	if (n != n_has)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t j = 0; j < n_has && !found; j++)
			found = strcasecmp(row[i], has[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* Steps: the status, when the row has one; every other cell must still be the case's. */
static bool recommendation_update_plan(void *msg, const struct checker *k,
				       const Tulay__V1__Response *resp, int *nsteps,
				       bool differs[IMPORT_MAX_STEPS], char *why, size_t cap)
{
	struct recommendation_msg *rm = msg;
	const Tulay__V1__CreateRecommendation *m = &rm->m;
	const Tulay__V1__Recommendation *r = resp->recommendation;
	const char *evidence[RECOMMENDATION_MAX_LIST];
	size_t n_evidence = 0;
	for (size_t i = 0; i < r->n_evidence && n_evidence < RECOMMENDATION_MAX_LIST; i++)
		evidence[n_evidence++] = r->evidence[i]->reference;
	struct {
		int col;
		bool same;
	} cells[] = {
	    {RCOL_TITLE, strcmp(m->title, r->title) == 0},
	    {RCOL_TEXT, strcmp(m->text, r->text) == 0},
	    {RCOL_SOURCE_DOCUMENT, strcmp(m->source_document, r->source_document) == 0},
	    {RCOL_SOURCE_DATE, strcmp(m->source_date, r->source_date) == 0},
	    {RCOL_ADDRESSED_TO, m->addressed_to == r->addressed_to},
	    {RCOL_TARGET_BODY, strcmp(m->target_body, r->target_body) == 0},
	    {RCOL_COUNTRY, strcmp(m->country, r->country) == 0},
	    {RCOL_THEME, m->theme == r->theme},
	    {RCOL_OFFICE, strcmp(m->office, r->office) == 0},
	    {RCOL_CO_SIGNERS, list_same(m->co_signers, m->n_co_signers,
					(const char *const *)r->co_signers, r->n_co_signers)},
	    {RCOL_EVIDENCE, list_same(m->evidence, m->n_evidence, evidence, n_evidence)},
	};
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		if (!cells[i].same && k->where[cells[i].col] >= 0) {
			snprintf(why, cap,
				 "%s: differs from %s's: an import changes only the status of a "
				 "recommendation you have (evidence: `tulay recommendation "
				 "evidence`); put back the case's (export it again to see it), or "
				 "leave reference empty to log a new one",
				 k->columns[cells[i].col].name, r->reference);
			return false;
		}
	}
	*nsteps = 0;
	if (m->status != 0)
		differs[(*nsteps)++] = m->status != r->status;
	return true;
}

static void recommendation_update_step(void *msg, int step, bool differs, int64_t version,
				       uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES],
				       Tulay__V1__Request *req)
{
	(void)step;
	(void)differs;
	struct recommendation_msg *r = msg;
	Tulay__V1__ChangeRecommendationStatus *c = &r->change;
	tulay__v1__change_recommendation_status__init(c);
	c->reference = r->get.reference;
	c->status = r->m.status;
	c->expected_version = version;
	c->note = (char *)r->note;
	import_step_key(&c->base, &c->idempotency_key, key);
	tulay__v1__request__init(req);
	req->body_case = TULAY__V1__REQUEST__BODY_CHANGE_RECOMMENDATION_STATUS;
	req->change_recommendation_status = c;
}

static int64_t recommendation_version(const Tulay__V1__Response *resp)
{
	return resp->recommendation != NULL ? resp->recommendation->version : -1;
}

const struct import_kind import_recommendations_kind = {
    .word = "recommendations",
    .noun = "recommendation",
    .columns = recommendation_columns,
    .ncolumns = RCOL_COUNT,
    .nimported = RCOL_IMPORTED,
    .col_reference = RCOL_REFERENCE,
    .col_organisation = RCOL_ORGANISATION,
    .col_version = RCOL_VERSION,
    .key_purpose = "tulay import recommendations v1",
    .msg_size = sizeof(struct recommendation_msg),
    .check = recommendation_check,
    .create = recommendation_create,
    .created_at = recommendation_created_at,
    .msg_free = recommendation_msg_free,
    .update_read = recommendation_update_read,
    .update_plan = recommendation_update_plan,
    .update_step = recommendation_update_step,
    .case_version = recommendation_version,
    .template_row = "submitted,Portable social protection for returning workers,\"Governments of "
		    "origin and destination should make social security benefits portable.\","
		    "Civil Society Proposal: ASEAN Framework Instrument,2025-10-20,asean,ACMW,,"
		    "social-protection,,,",
    .description = "Logs the recommendations of a CSV file (UTF-8, RFC 4180, a header row of\n"
		   "column names) in the columns of `tulay export recommendations`, and moves\n"
		   "those it names by reference to the row's status. Every row is checked\n"
		   "before anything is sent, and every bad cell is reported with its\n"
		   "line, column and the fix; the good rows are then logged, many at a time (none\n"
		   "with --all-or-nothing while any row is bad).",
    .notes = "Columns: title, text, source_document, source_date, addressed_to and theme\n"
	     "are required; status (drafted or submitted: later statuses are moves made\n"
	     "with `tulay recommendation status`), target_body, country, office,\n"
	     "co_signers (acronyms, comma-separated) and evidence (your cases, REF or\n"
	     "ORG/REF, ';' between) may be empty or left out. Evidence naming another\n"
	     "organisation's case (in another's export) is left out: only the author's\n"
	     "cases can be evidence. The columns the server assigns (reference,\n"
	     "organisation, opened_on, closed_on, version, created_by, created_at) may be\n"
	     "there, as an export writes them.\n"
	     "\n"
	     "A row with a reference whose organisation is yours (or empty) is a\n"
	     "recommendation you have: its status becomes the row's (any status), at the\n"
	     "row's version, with the note column (not in exports) as the follow-up. Any\n"
	     "other cell that is not the case's is refused by name; a case changed since\n"
	     "the file was exported is flagged stale and not changed.",
    .example = "  tulay import recommendations --template > recommendations.csv\n"
	       "  tulay import recommendations recommendations.csv --dry-run\n"
	       "  tulay import recommendations recommendations.csv",
};
