/* Deportations: log one (idempotently), show one with its timeline, record its next stage
 * (detention, release, deportation) and what the organisation did (interventions).
 *
 * Stage dates are often remembered only roughly: each is a span of days (a day, a month
 * or a year, see civil_approx) with a "circa" flag, stored as its first day and its
 * precision. A later stage may not certainly precede an earlier one; the SQL functions
 * and a CHECK constraint enforce that too, the checks here only name the field. */
#include <stdlib.h>
#include <string.h>

#include "case_common.h"
#include "civil_date.h"
#include "common.h"
#include "handlers.h"
#include "request.h"
#include "validate.h"
#include "vault.h"

/* The columns deportation_from_row() reads, each by its name. A stage date is three:
 * STAGE_on (its first day), STAGE_precision and STAGE_circa (approx_from_cols). */
#define DEPORTATION_COLUMNS                                                                        \
	"c.reference, o.acronym AS organisation, c.status, d.nationality, d.deported_from, "       \
	"coalesce(d.deported_to, '') AS deported_to, coalesce(d.sector, '') AS sector, "           \
	"array_to_string(d.grounds, ',') AS grounds, "                                             \
	"to_char(d.arrested_on, 'YYYY-MM-DD') AS arrested_on, d.arrested_precision, "              \
	"d.arrested_circa, coalesce(d.arrest_place, '') AS arrest_place, "                         \
	"to_char(d.detained_on, 'YYYY-MM-DD') AS detained_on, d.detained_precision, "              \
	"d.detained_circa, coalesce(d.detention_place, '') AS detention_place, "                   \
	"coalesce(d.detention_type, '') AS detention_type, "                                       \
	"to_char(d.released_on, 'YYYY-MM-DD') AS released_on, d.released_precision, "              \
	"d.released_circa, "                                                                       \
	"to_char(d.deported_on, 'YYYY-MM-DD') AS deported_on, d.deported_precision, "              \
	"d.deported_circa, d.legal_counsel, d.consular_notified, d.family_separated, "             \
	"coalesce(f.name, '') AS office, to_char(c.opened_on, 'YYYY-MM-DD') AS opened_on, "        \
	"coalesce(to_char(c.closed_on, 'YYYY-MM-DD'), '') AS closed_on, c.version, "               \
	"u.username AS created_by, extract(epoch FROM c.created_at)::bigint AS created_at, "       \
	"c.org_id, c.idempotency_key, d.person_name_enc, d.person_id_number_enc "                  \
	"FROM cases c JOIN deportations d ON d.org_id = c.org_id AND d.case_id = c.case_id "       \
	"JOIN organisations o ON o.org_id = c.org_id "                                             \
	"JOIN user_names u ON u.user_id = c.created_by "                                           \
	"LEFT JOIN offices f ON f.org_id = c.org_id AND f.office_id = c.office_id "                \
	"WHERE c.kind = 'deportation' AND c.org_id = $1 "

const struct db_statement deportations_statements[] = {
    {"deportation_create",
     "SELECT case_id, outcome FROM create_deportation($1, $2, $3, $4, $5, $6, $7, $8, $9, "
     "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, "
     "$27, $28, $29, $30, $31)"},
    {"deportation_by_key", "SELECT " DEPORTATION_COLUMNS "AND c.idempotency_key = $2"},
    {"deportation_by_reference", "SELECT " DEPORTATION_COLUMNS "AND c.reference = $2"},
    /* ExportCases (cases.c): a page after case_id $2, as EXPORT_PAGE picks them. */
    {"export_deportations",
     "SELECT c.case_id, " DEPORTATION_COLUMNS EXPORT_PAGE("deportation", "c.case_id")},
    {"deportation_stage", "SELECT outcome, detail FROM record_deportation_stage($1, $2, $3, "
			  "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"},
    {"deportation_intervention",
     "SELECT event_id, outcome FROM add_intervention($1, $2, $3, $4, $5, $6, $7, $8)"},
};
const unsigned deportations_statements_count = N_ELEMS(deportations_statements);

/* --- codes --------------------------------------------------------------------------- */

/* A Known as a boolean parameter: unknown is NULL. */
static const char *const known_params[] = {
    [TULAY__V1__KNOWN__KNOWN_YES] = "true",
    [TULAY__V1__KNOWN__KNOWN_NO] = "false",
};

/* deportations.*_precision, by enum civil_precision. */
static const char *const precision_codes[] = {
    [CIVIL_PRECISION_DAY] = "day",
    [CIVIL_PRECISION_MONTH] = "month",
    [CIVIL_PRECISION_YEAR] = "year",
};

/* Where the sealed person goes: the table and columns its ciphertexts are bound to. */
#define PERSON_TABLE "deportations"
#define PERSON_NAME  "person_name_enc"
#define PERSON_ID    "person_id_number_enc"

/* --- approximate dates --------------------------------------------------------------- */

/* A stage's date as a request gives it, checked. */
struct stage_date {
	bool given;
	bool circa;
	const char *text; /* as given: "2025-03" */
	struct civil_approx span;
	char first[11]; /* the span's first day, YYYY-MM-DD: what is stored */
};

/* Reads `in` (NULL or an empty date: not given) into *out, recording a field error on
 * `field` when the date is malformed, or missing while `required`. */
static void stage_date_read(struct request *req, const char *field, const Tulay__V1__ApproxDate *in,
			    bool required, struct stage_date *out)
{
	*out = (struct stage_date){.text = ""};
	if (in == NULL || *in->date == '\0') {
		if (required || (in != NULL && in->circa))
			request_field_error(req, field,
					    "is required: give the date, even roughly, as "
					    "YYYY-MM-DD, YYYY-MM or YYYY");
		return;
	}
	if (!civil_approx_parse(in->date, &out->span)) {
		request_field_error(req, arena_printf(&req->arena, "%s.date", field),
				    "is not a date written YYYY-MM-DD, YYYY-MM (the month only) or "
				    "YYYY (the year only), years 1950 to 2100");
		return;
	}
	out->given = true;
	out->circa = in->circa;
	out->text = in->date;
	civil_date_format(&out->span.first, out->first, sizeof(out->first));
}

/* The three parameters of a stage date: first day, precision, circa (all NULL when not
 * given). */
static void stage_date_params(struct db_query *q, const struct stage_date *d)
{
	DB_PARAMS_TEXT(q, d->given ? d->first : NULL,
		       d->given ? precision_codes[d->span.precision] : NULL,
		       d->given ? (d->circa ? "true" : "false") : NULL);
}

/* An ApproxDate from the three columns of a stage date at `col`, written as precisely as
 * it is known ("2025-03"): NULL when the date is unknown or memory runs out (*oom then). */
static Tulay__V1__ApproxDate *approx_from_cols(struct request *req, const PGresult *res, int row,
					       const char *stage, bool *oom)
{
	int col = db_column(res, arena_printf(&req->arena, "%s_on", stage));
	if (PQgetisnull(res, row, col))
		return NULL;
	/* The stored first day, cut to its precision: "2025-03-01" -> "2025-03". */
	const char *precision =
	    db_value(res, row, arena_printf(&req->arena, "%s_precision", stage));
	int len = strcmp(precision, "year") == 0 ? 4 : strcmp(precision, "month") == 0 ? 7 : 10;
	Tulay__V1__ApproxDate *d = request_alloc(req, sizeof(*d));
	if (d != NULL) {
		tulay__v1__approx_date__init(d);
		d->date = arena_printf(&req->arena, "%.*s", len, PQgetvalue(res, row, col));
		d->circa =
		    db_value(res, row, arena_printf(&req->arena, "%s_circa", stage))[0] == 't';
	}
	if (d == NULL || d->date == NULL)
		*oom = true;
	return d;
}

/* --- reading a deportation back ------------------------------------------------------ */

static Tulay__V1__Known known_from_col(const PGresult *res, int row, const char *name)
{
	int col = db_column(res, name);
	if (PQgetisnull(res, row, col))
		return TULAY__V1__KNOWN__KNOWN_UNKNOWN;
	return PQgetvalue(res, row, col)[0] == 't' ? TULAY__V1__KNOWN__KNOWN_YES
						   : TULAY__V1__KNOWN__KNOWN_NO;
}

/* The deportation in row `row` of a DEPORTATION_COLUMNS result, without the person; NULL
 * when out of memory. */
static Tulay__V1__Deportation *deportation_from_row(struct request *req, const PGresult *res,
						    int row)
{
	struct arena *a = &req->arena;
	Tulay__V1__Deportation *d = request_alloc(req, sizeof(*d));
	if (d == NULL)
		return NULL;
	tulay__v1__deportation__init(d);
	bool oom = false;
	/* Every text column, NOT NULL or coalesced to '', in one table so that none is
	 * forgotten in the out-of-memory check. */
	struct {
		char **field;
		const char *column;
	} texts[] = {
	    {&d->reference, "reference"},
	    {&d->organisation, "organisation"},
	    {&d->nationality, "nationality"},
	    {&d->deported_from, "deported_from"},
	    {&d->deported_to, "deported_to"},
	    {&d->arrest_place, "arrest_place"},
	    {&d->detention_place, "detention_place"},
	    {&d->office, "office"},
	    {&d->opened_on, "opened_on"},
	    {&d->closed_on, "closed_on"},
	    {&d->created_by, "created_by"},
	};
	for (size_t i = 0; i < N_ELEMS(texts); i++) {
		if ((*texts[i].field = arena_strdup(a, db_value(res, row, texts[i].column))) ==
		    NULL)
			oom = true;
	}
	d->status = (Tulay__V1__DeportationStatus)VALUE_OF(deportation_status,
							   db_value(res, row, "status"));
	d->sector = (Tulay__V1__Sector)VALUE_OF(sector, db_value(res, row, "sector"));
	size_t n_grounds = 0;
	d->grounds = (Tulay__V1__DeportationGround *)case_code_list_values(
	    req, db_value(res, row, "grounds"), ENUM_OF(deportation_ground), &n_grounds);
	d->n_grounds = n_grounds;
	d->arrested_on = approx_from_cols(req, res, row, "arrested", &oom);
	d->detained_on = approx_from_cols(req, res, row, "detained", &oom);
	d->released_on = approx_from_cols(req, res, row, "released", &oom);
	d->deported_on = approx_from_cols(req, res, row, "deported", &oom);
	d->detention_type = (Tulay__V1__DetentionType)VALUE_OF(
	    detention_type, db_value(res, row, "detention_type"));
	d->legal_counsel =
	    (Tulay__V1__LegalCounsel)VALUE_OF(legal_counsel, db_value(res, row, "legal_counsel"));
	d->consular_notified = known_from_col(res, row, "consular_notified");
	d->family_separated = known_from_col(res, row, "family_separated");
	d->version = strtoll(db_value(res, row, "version"), NULL, 10);
	d->created_at = strtoll(db_value(res, row, "created_at"), NULL, 10);
	return oom || d->grounds == NULL ? NULL : d;
}

/* Opens the person of row `row` of a DEPORTATION_COLUMNS result into d->person; false
 * when memory runs out or a sealed value fails its check (logged). */
static bool deportation_open_person(struct request *req, const PGresult *res, int row,
				    Tulay__V1__Deportation *d)
{
	Tulay__V1__Person *p = request_alloc(req, sizeof(*p));
	if (p == NULL)
		return false;
	tulay__v1__person__init(p);
	/* Sealed for the case's own organisation, also when a partner reads it. */
	int64_t org_id = strtoll(db_value(res, row, "org_id"), NULL, 10);
	char *name, *id_number;
	int key_col = db_column(res, "idempotency_key");
	if (!case_open_column(req, res, row, db_column(res, "person_name_enc"), key_col, org_id,
			      PERSON_TABLE, PERSON_NAME, &name) ||
	    !case_open_column(req, res, row, db_column(res, "person_id_number_enc"), key_col,
			      org_id, PERSON_TABLE, PERSON_ID, &id_number))
		return false;
	if (name != NULL)
		p->name = name;
	if (id_number != NULL)
		p->id_number = id_number;
	d->person = p;
	return true;
}

#define DEPORTATION_DATA_LOSS                                                                      \
	"the person's details of this deportation fail their integrity check: they were "          \
	"altered in the database; the incident is logged"

/* The deportation in the first row of a DEPORTATION_COLUMNS result with its person
 * opened, or NULL after ending the request (not found, memory, integrity). */
static Tulay__V1__Deportation *deportation_build(struct request *req, const PGresult *res)
{
	if (PQntuples(res) != 1) {
		request_fail(req, TULAY__V1__CODE__NOT_FOUND, "no deportation with this reference");
		return NULL;
	}
	Tulay__V1__Deportation *d = deportation_from_row(req, res, 0);
	if (request_oom(req, d))
		return NULL;
	if (!deportation_open_person(req, res, 0, d)) {
		request_fail(req, TULAY__V1__CODE__DATA_LOSS, DEPORTATION_DATA_LOSS);
		return NULL;
	}
	return d;
}

Tulay__V1__Deportation *deportation_export_row(struct request *req, const PGresult *res, int row,
					       bool person)
{
	Tulay__V1__Deportation *d = deportation_from_row(req, res, row);
	if (request_oom(req, d))
		return NULL;
	if (person && !deportation_open_person(req, res, row, d)) {
		request_fail(req, TULAY__V1__CODE__DATA_LOSS, DEPORTATION_DATA_LOSS);
		return NULL;
	}
	return d;
}

static void deportation_send(struct request *req, Tulay__V1__Deportation *d)
{
	REQUEST_REPLY(req, DEPORTATION, deportation, d);
}

/* Replies with the deportation of a DEPORTATION_COLUMNS result. */
static void deportation_reply(struct request *req, const PGresult *res)
{
	Tulay__V1__Deportation *d = deportation_build(req, res);
	if (d != NULL)
		deportation_send(req, d);
}

/* --- CreateDeportation ----------------------------------------------------------------- */

/* The stages in their order, as CreateDeportation and the table name them. */
enum stage { STAGE_ARREST, STAGE_DETENTION, STAGE_RELEASE, STAGE_DEPORTATION, N_STAGES };
static const char *const stage_fields[N_STAGES] = {"arrested_on", "detained_on", "released_on",
						   "deported_on"};
static const char *const stage_nouns[N_STAGES] = {"the arrest", "the detention", "the release",
						  "the deportation"};
/* Which stage may not certainly precede which (the table's deportations_stage_order;
 * release and deportation are not ordered between themselves). */
static const struct {
	enum stage later, earlier;
} stage_order[] = {
    {STAGE_DETENTION, STAGE_ARREST},      {STAGE_RELEASE, STAGE_ARREST},
    {STAGE_DEPORTATION, STAGE_ARREST},    {STAGE_RELEASE, STAGE_DETENTION},
    {STAGE_DEPORTATION, STAGE_DETENTION},
};

struct deportation_create_state {
	int64_t org_id;
	struct stage_date dates[N_STAGES];
	uint8_t id_index[VAULT_INDEX_BYTES];
	bool indexed; /* a person's ID number was given: possible duplicates are looked for */
};

/* Records a field error on each stage date that certainly precedes an earlier stage's,
 * naming both: one per field, the earliest stage it contradicts. */
static void check_stage_order(struct request *req, const struct stage_date *dates)
{
	bool reported[N_STAGES] = {false};
	for (size_t i = 0; i < N_ELEMS(stage_order); i++) {
		const struct stage_date *later = &dates[stage_order[i].later];
		const struct stage_date *earlier = &dates[stage_order[i].earlier];
		if (!later->given || !earlier->given || reported[stage_order[i].later] ||
		    !civil_approx_before(&later->span, &earlier->span))
			continue;
		reported[stage_order[i].later] = true;
		request_field_error(
		    req, stage_fields[stage_order[i].later],
		    arena_printf(&req->arena, "is before %s (%s%s): %s cannot come before %s",
				 stage_fields[stage_order[i].earlier], earlier->circa ? "~" : "",
				 earlier->text, stage_nouns[stage_order[i].later],
				 stage_nouns[stage_order[i].earlier]));
	}
}

/* A place: optional, 1-200 characters. */
static void check_place(struct request *req, const char *field, const char *value)
{
	const char *problem;
	if (*value != '\0' && (problem = validate_text(value, 1, 200)) != NULL)
		request_field_error(req, field, problem);
}

/* An optional enum field: 0 or a value with a code. */
static void check_optional_code(struct request *req, const char *field,
				const ProtobufCEnumDescriptor *e, int value, const char *problem)
{
	if (value != 0 && proto_code(e, value) == NULL)
		request_field_error(req, field, problem);
}

static void deportation_validate(struct request *req, const Tulay__V1__CreateDeportation *m,
				 struct stage_date *dates)
{
	const char *problem;
	if ((problem = validate_idempotency_key(m->idempotency_key.len)) != NULL)
		request_field_error(req, "idempotency_key", problem);
	if (*m->office != '\0' && (problem = validate_text(m->office, 1, 200)) != NULL)
		request_field_error(req, "office", problem);
	if ((problem = validate_country(m->nationality)) != NULL)
		request_field_error(req, "nationality", problem);
	if ((problem = validate_country(m->deported_from)) != NULL)
		request_field_error(req, "deported_from", problem);
	if (*m->deported_to != '\0' && (problem = validate_country(m->deported_to)) != NULL)
		request_field_error(req, "deported_to", problem);
	check_optional_code(req, "sector", ENUM_OF(sector), m->sector,
			    "is not a sector tulay knows");
	case_check_code_list(req, "grounds", ENUM_OF(deportation_ground), (const int *)m->grounds,
			     m->n_grounds, "ground of deportation");
	const Tulay__V1__ApproxDate *given[N_STAGES] = {m->arrested_on, m->detained_on,
							m->released_on, m->deported_on};
	for (int s = 0; s < N_STAGES; s++)
		stage_date_read(req, stage_fields[s], given[s], false, &dates[s]);
	check_stage_order(req, dates);
	check_place(req, "arrest_place", m->arrest_place);
	check_place(req, "detention_place", m->detention_place);
	check_optional_code(req, "detention_type", ENUM_OF(detention_type), m->detention_type,
			    "is not a type of detention tulay knows");
	/* Where and how someone was held belongs to a detention: without its date the case
	 * would say "arrested" while naming a place of detention. */
	if ((*m->detention_place != '\0' || m->detention_type != 0) &&
	    !dates[STAGE_DETENTION].given)
		request_field_error(req, "detained_on",
				    "is required with a place or type of detention: give the "
				    "date, even roughly (YYYY-MM or YYYY, circa if unsure)");
	check_optional_code(req, "legal_counsel", ENUM_OF(legal_counsel), m->legal_counsel,
			    "is not a kind of legal counsel tulay knows");
	check_optional_code(req, "consular_notified", ENUM_OF(known), m->consular_notified,
			    "must be yes, no or unknown");
	check_optional_code(req, "family_separated", ENUM_OF(known), m->family_separated,
			    "must be yes, no or unknown");
	if (m->person != NULL) {
		if (*m->person->name != '\0' &&
		    (problem = validate_text(m->person->name, 1, 200)) != NULL)
			request_field_error(req, "person.name", problem);
		if (*m->person->id_number != '\0' &&
		    !chars_in(m->person->id_number, 3, 40, ID_NUMBER_CHARS))
			request_field_error(req, "person.id_number", ID_NUMBER_PROBLEM);
	}
}

static void deportation_created(struct request *req, enum db_outcome outcome)
{
	if (case_created(req, outcome, "deportation") == NULL)
		return;
	const struct deportation_create_state *st = req->state;
	Tulay__V1__Deportation *d =
	    deportation_build(req, request_result_of(req, "deportation_by_key"));
	if (d != NULL && st->indexed &&
	    !case_references(req, request_result_of(req, "case_duplicates"),
			     &d->possible_duplicates, &d->n_possible_duplicates)) {
		request_fail_oom(req);
		return;
	}
	if (d != NULL)
		deportation_send(req, d);
}

/* Seals one part of the person for the new row (NULL for an empty one). Returns false
 * when memory runs out. */
static bool seal_person_part(struct request *req, const struct deportation_create_state *st,
			     const char *column, const char *value, uint8_t **sealed, size_t *len)
{
	const ProtobufCBinaryData *key = &req->msg->create_deportation->idempotency_key;
	*sealed = NULL;
	*len = 0;
	if (*value == '\0')
		return true;
	*sealed = case_seal(req, st->org_id, PERSON_TABLE, column, key->data, key->len, value, len);
	return *sealed != NULL;
}

/* A bytea parameter, SQL NULL for none. */
static void param_bytes_or_null(struct db_query *q, const uint8_t *sealed, size_t len)
{
	if (sealed != NULL)
		db_param_bytes(q, sealed, (int)len);
	else
		db_param_text(q, NULL);
}

/* "" as SQL NULL: optional texts are sent as NULL when not given. */
static const char *or_null(const char *value)
{
	return value != NULL && *value != '\0' ? value : NULL;
}

static void deportation_create_submit(struct request *req)
{
	const Tulay__V1__CreateDeportation *m = req->msg->create_deportation;
	struct deportation_create_state *st = req->state;
	const struct stage_date *dates = st->dates;
	const char *empty_person = "";
	const char *name = m->person != NULL ? m->person->name : empty_person;
	const char *id_number = m->person != NULL ? m->person->id_number : empty_person;
	const char *sector = CODE_OF(sector, m->sector);
	const char *detention_type = CODE_OF(detention_type, m->detention_type);
	/* LEGAL_COUNSEL_UNKNOWN (0) has no code: it is sent as NULL and stored as 'unknown',
	 * which reads back as 0. */
	const char *counsel = CODE_OF(legal_counsel, m->legal_counsel);
	const char *consular = TABLE_WORD(known_params, m->consular_notified);
	const char *family = TABLE_WORD(known_params, m->family_separated);
	char *grounds = case_code_list_param(req, ENUM_OF(deportation_ground),
					     (const int *)m->grounds, m->n_grounds);
	struct case_write *w = request_alloc(req, sizeof(*w));
	uint8_t *sealed_name, *sealed_id;
	size_t name_len, id_len;
	if (grounds == NULL || w == NULL ||
	    !seal_person_part(req, st, PERSON_NAME, name, &sealed_name, &name_len) ||
	    !seal_person_part(req, st, PERSON_ID, id_number, &sealed_id, &id_len)) {
		request_fail_oom(req);
		return;
	}
	st->indexed = *id_number != '\0';
	if (st->indexed)
		vault_index(st->org_id, id_number, st->id_index);

	/* The request as the server understood it, so that a retry is recognised and a key
	 * reused for other content refused; keyed, since it covers the person too. */
	const char *parts[] = {
	    m->office,
	    m->nationality,
	    m->deported_from,
	    m->deported_to,
	    sector != NULL ? sector : "",
	    grounds,
	    dates[STAGE_ARREST].text,
	    dates[STAGE_ARREST].circa ? "circa" : "",
	    m->arrest_place,
	    dates[STAGE_DETENTION].text,
	    dates[STAGE_DETENTION].circa ? "circa" : "",
	    m->detention_place,
	    detention_type != NULL ? detention_type : "",
	    dates[STAGE_RELEASE].text,
	    dates[STAGE_RELEASE].circa ? "circa" : "",
	    dates[STAGE_DEPORTATION].text,
	    dates[STAGE_DEPORTATION].circa ? "circa" : "",
	    counsel != NULL ? counsel : "",
	    consular != NULL ? consular : "",
	    family != NULL ? family : "",
	    name,
	    id_number,
	};
	case_write_finish(req, w, st->org_id, parts, N_ELEMS(parts));

	struct db_query *q = db_job_add(&req->job, "deportation_create");
	db_param_text(q, w->org);
	db_param_text(q, w->user);
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	db_param_bytes(q, w->hash, sizeof(w->hash));
	DB_PARAMS_TEXT(q, m->office, m->nationality, m->deported_from, or_null(m->deported_to),
		       sector, grounds);
	stage_date_params(q, &dates[STAGE_ARREST]);
	db_param_text(q, or_null(m->arrest_place));
	stage_date_params(q, &dates[STAGE_DETENTION]);
	db_param_text(q, or_null(m->detention_place));
	db_param_text(q, detention_type);
	stage_date_params(q, &dates[STAGE_RELEASE]);
	stage_date_params(q, &dates[STAGE_DEPORTATION]);
	DB_PARAMS_TEXT(q, counsel, consular, family);
	param_bytes_or_null(q, sealed_name, name_len);
	param_bytes_or_null(q, sealed_id, id_len);
	param_bytes_or_null(q, *id_number != '\0' ? st->id_index : NULL, sizeof(st->id_index));
	/* Same pipeline, same transaction: read back what was created or replayed. */
	q = db_job_add(&req->job, "deportation_by_key");
	db_param_text(q, w->org);
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	if (st->indexed)
		case_find_duplicates(req, w->org, st->id_index, NULL, &m->idempotency_key);
	request_audit_case_key(req, "create_deportation", m->idempotency_key.data,
			       (int)m->idempotency_key.len);
	request_db(req, deportation_created);
}

void handle_create_deportation(struct request *req)
{
	const Tulay__V1__CreateDeportation *m = req->msg->create_deportation;
	if (req->session.role == TULAY__V1__ROLE__ROLE_COORDINATOR) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "coordinators read cases and reports; a field officer logs cases");
		return;
	}
	struct deportation_create_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	deportation_validate(req, m, st->dates);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req,
				     "the deportation was not logged: correct the fields named");
		return;
	}
	req->state = st;
	request_resolve_org(req, m->organisation, "organisation", false, &st->org_id,
			    deportation_create_submit);
}

/* --- GetDeportation -------------------------------------------------------------------- */

struct deportation_read_state {
	int64_t org_id;
	char *org_param;
};

static void deportation_loaded(struct request *req, enum db_outcome outcome)
{
	struct deportation_read_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	Tulay__V1__Deportation *d =
	    deportation_build(req, request_result_of(req, "deportation_by_reference"));
	if (d == NULL)
		return;
	size_t n = 0;
	if (!case_timeline(req, request_result_of(req, "case_timeline"), st->org_id, &d->timeline,
			   &n))
		return;
	d->n_timeline = n;
	deportation_send(req, d);
}

static void deportation_get_submit(struct request *req)
{
	const Tulay__V1__GetDeportation *m = req->msg->get_deportation;
	struct deportation_read_state *st = req->state;
	if ((st->org_param = case_int_param(req, st->org_id)) == NULL) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q = db_job_add(&req->job, "deportation_by_reference");
	db_param_text(q, st->org_param);
	db_param_text(q, m->reference);
	q = db_job_add(&req->job, "case_timeline");
	db_param_text(q, st->org_param);
	db_param_text(q, m->reference);
	request_audit(req, "read_deportation", m->reference, "");
	request_db(req, deportation_loaded);
}

void handle_get_deportation(struct request *req)
{
	const Tulay__V1__GetDeportation *m = req->msg->get_deportation;
	if (!case_reference_is_valid(m->reference)) {
		request_field_error(req, "reference",
				    "is not a case reference such as DP-2026-000123");
		request_fail_invalid(req, "invalid deportation reference");
		return;
	}
	struct deportation_read_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	req->state = st;
	/* Another organisation's case is visible only when it was referred to the caller's
	 * and accepted: row-level security answers NOT_FOUND otherwise. */
	request_resolve_org(req, m->organisation, "organisation", true, &st->org_id,
			    deportation_get_submit);
}

/* --- RecordDeportationStage ------------------------------------------------------------ */

struct deportation_stage_state {
	struct case_write *w;
	struct stage_date on;
};

/* The problem of a stage date before an earlier stage's. `detail` names that stage by
 * the first day of its span ("arrest on 2025-04-01"); the case read back unchanged
 * (deportation_by_reference) tells it as it was given ("~2025-04"). */
static const char *out_of_order_problem(struct request *req, const char *detail)
{
	const PGresult *res = request_result_of(req, "deportation_by_reference");
	bool arrest = strncmp(detail, "arrest ", strlen("arrest ")) == 0;
	bool oom = false;
	const Tulay__V1__ApproxDate *earlier =
	    PQntuples(res) == 1
		? approx_from_cols(req, res, 0, arrest ? "arrested" : "detained", &oom)
		: NULL;
	if (earlier == NULL)
		return arena_printf(&req->arena,
				    "is before the %s: a stage cannot come before an earlier one",
				    detail);
	return arena_printf(
	    &req->arena, "is before the %s (%s%s): a stage cannot come before an earlier one",
	    arrest ? "arrest" : "detention", earlier->circa ? "~" : "", earlier->date);
}

static void deportation_stage_recorded(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *r = request_result_of(req, "deportation_stage");
	const char *result = db_value(r, 0, "outcome"), *detail = db_value(r, 0, "detail");
	if (strcmp(result, "out_of_order") == 0) {
		request_field_error(req, "on", out_of_order_problem(req, detail));
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     "nothing was recorded: the date is before an earlier stage");
	} else if (strcmp(result, "illegal") == 0) {
		/* The stage, not a status, is what the request names. */
		request_field_error(req, "stage", "is not a move allowed from the current status");
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     arena_printf(&req->arena, "a deportation in status %s", detail));
	} else if (!case_fail_outcome(req, result, detail, "deportation", "note")) {
		/* changed, or replayed: the case as it is now */
		deportation_reply(req, request_result_of(req, "deportation_by_reference"));
	}
}

static void deportation_stage_submit(struct request *req)
{
	const Tulay__V1__RecordDeportationStage *m = req->msg->record_deportation_stage;
	struct deportation_stage_state *st = req->state;
	struct case_write *w = st->w;
	const char *stage = CODE_OF(deportation_stage, m->stage);
	const char *detention_type = CODE_OF(detention_type, m->detention_type);
	const char *parts[] = {
	    m->reference,
	    w->version,
	    stage,
	    st->on.text,
	    st->on.circa ? "circa" : "",
	    m->detention_place,
	    detention_type != NULL ? detention_type : "",
	    m->deported_to,
	    m->note,
	};
	case_write_finish(req, w, w->org_id, parts, N_ELEMS(parts));
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	if (*m->note != '\0' &&
	    (sealed = case_seal(req, w->org_id, "case_events", "text", m->idempotency_key.data,
				m->idempotency_key.len, m->note, &sealed_len)) == NULL) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q =
	    case_write_query(req, "deportation_stage", w, &m->idempotency_key, m->reference);
	db_param_text(q, w->version);
	db_param_text(q, stage);
	stage_date_params(q, &st->on);
	DB_PARAMS_TEXT(q, or_null(m->detention_place), detention_type, or_null(m->deported_to));
	param_bytes_or_null(q, sealed, sealed_len);
	q = db_job_add(&req->job, "deportation_by_reference");
	db_param_text(q, w->org);
	db_param_text(q, m->reference);
	request_audit(req, "record_deportation_stage", m->reference,
		      arena_printf(&req->arena, "stage=%s", stage));
	request_db(req, deportation_stage_recorded);
}

void handle_record_deportation_stage(struct request *req)
{
	const Tulay__V1__RecordDeportationStage *m = req->msg->record_deportation_stage;
	struct deportation_stage_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	const char *problem;
	if (CODE_OF(deportation_stage, m->stage) == NULL)
		request_field_error(req, "stage", "is required: detention, release or deportation");
	stage_date_read(req, "on", m->on, true, &st->on);
	check_place(req, "detention_place", m->detention_place);
	check_optional_code(req, "detention_type", ENUM_OF(detention_type), m->detention_type,
			    "is not a type of detention tulay knows");
	bool detention = m->stage == TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DETENTION;
	bool deportation = m->stage == TULAY__V1__DEPORTATION_STAGE__DEPORTATION_STAGE_DEPORTATION;
	if (!detention && *m->detention_place != '\0')
		request_field_error(req, "detention_place", "is only for the detention stage");
	if (!detention && m->detention_type != 0)
		request_field_error(req, "detention_type", "is only for the detention stage");
	if (*m->deported_to != '\0' && !deportation)
		request_field_error(req, "deported_to", "is only for the deportation stage");
	else if (*m->deported_to != '\0' && (problem = validate_country(m->deported_to)) != NULL)
		request_field_error(req, "deported_to", problem);
	if (m->expected_version <= 0)
		request_field_error(req, "expected_version",
				    "is required: the version of the deportation you saw");
	/* The event's day is the stage's (the SQL function takes it from `on`). On failure
	 * the request has ended and st is gone with its arena. */
	struct case_write *w = case_write_begin(req, &m->idempotency_key, m->reference, "", m->note,
						1000, "note", m->expected_version);
	if (w == NULL)
		return;
	st->w = w;
	req->state = st;
	request_resolve_org(req, m->organisation, "organisation", true, &st->w->org_id,
			    deportation_stage_submit);
}

/* --- AddIntervention ------------------------------------------------------------------- */

static void intervention_added(struct request *req, enum db_outcome outcome)
{
	const struct case_write *w = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const char *result =
	    db_value(request_result_of(req, "deportation_intervention"), 0, "outcome");
	if (!case_fail_outcome(req, result, "", "deportation", "text"))
		case_event_reply(req, request_result_of(req, "case_event_by_key"),
				 w->org_id); /* added, replayed */
}

static void intervention_submit(struct request *req)
{
	const Tulay__V1__AddIntervention *m = req->msg->add_intervention;
	struct case_write *w = req->state;
	const char *kind = CODE_OF(intervention_kind, m->kind);
	const char *parts[] = {m->reference, kind, w->occurred_on, m->text};
	case_write_finish(req, w, w->org_id, parts, N_ELEMS(parts));
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	if (*m->text != '\0' &&
	    (sealed = case_seal(req, w->org_id, "case_events", "text", m->idempotency_key.data,
				m->idempotency_key.len, m->text, &sealed_len)) == NULL) {
		request_fail_oom(req);
		return;
	}
	struct db_query *q =
	    case_write_query(req, "deportation_intervention", w, &m->idempotency_key, m->reference);
	db_param_text(q, w->occurred_on);
	db_param_text(q, kind);
	param_bytes_or_null(q, sealed, sealed_len);
	q = db_job_add(&req->job, "case_event_by_key");
	db_param_text(q, w->org);
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	request_audit(req, "add_intervention", m->reference,
		      arena_printf(&req->arena, "kind=%s", kind));
	request_db(req, intervention_added);
}

void handle_add_intervention(struct request *req)
{
	const Tulay__V1__AddIntervention *m = req->msg->add_intervention;
	if (CODE_OF(intervention_kind, m->kind) == NULL)
		request_field_error(req, "kind",
				    "is required: visit, representation to a ministry or an "
				    "embassy, legal representation, repatriation support or other");
	struct case_write *w = case_write_begin(req, &m->idempotency_key, m->reference,
						m->occurred_on, m->text, 4000, "text", 0);
	if (w == NULL)
		return;
	req->state = w;
	request_resolve_org(req, m->organisation, "organisation", true, &w->org_id,
			    intervention_submit);
}
