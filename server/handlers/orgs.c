/* Organisations: register (admins), list, and resolve an acronym for other handlers. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "case_common.h"
#include "common.h"
#include "handlers.h"
#include "request.h"
#include "server.h"
#include "validate.h"
#include "vault.h"

#define ORG_LIST_DEFAULT 50

const struct db_statement orgs_statements[] = {
    {"org_create", "SELECT org_id, outcome FROM create_organisation($1, $2, $3, $4, $5, $6)"},
    {"org_by_key", "SELECT " ORG_COLUMNS " FROM organisations WHERE idempotency_key = $1"},
    {"org_list", "SELECT " ORG_COLUMNS " FROM organisations "
		 " WHERE ($1 = '' OR country = $1) AND acronym > $2 "
		 " ORDER BY acronym LIMIT $3::integer"},
};
const unsigned orgs_statements_count = N_ELEMS(orgs_statements);

/* The indexes of the ORG_COLUMNS of a result, looked up once for all its rows. */
struct org_columns {
	int org_id, acronym, name, kind, country, version, created_at;
};

static struct org_columns org_columns(const PGresult *res)
{
	return (struct org_columns){
	    .org_id = db_column(res, "org_id"),
	    .acronym = db_column(res, "acronym"),
	    .name = db_column(res, "name"),
	    .kind = db_column(res, "kind"),
	    .country = db_column(res, "country"),
	    .version = db_column(res, "version"),
	    .created_at = db_column(res, "created_at"),
	};
}

static Tulay__V1__Organisation *org_row(struct request *req, const PGresult *res, int row,
					const struct org_columns *c)
{
	Tulay__V1__Organisation *o = request_alloc(req, sizeof(*o));
	if (o == NULL)
		return NULL;
	tulay__v1__organisation__init(o);
	o->id = strtoll(PQgetvalue(res, row, c->org_id), NULL, 10);
	o->acronym = arena_strdup(&req->arena, PQgetvalue(res, row, c->acronym));
	o->name = arena_strdup(&req->arena, PQgetvalue(res, row, c->name));
	o->kind =
	    (Tulay__V1__OrganisationKind)VALUE_OF(organisation_kind, PQgetvalue(res, row, c->kind));
	o->country = arena_strdup(&req->arena, PQgetvalue(res, row, c->country));
	o->version = strtoll(PQgetvalue(res, row, c->version), NULL, 10);
	o->created_at = strtoll(PQgetvalue(res, row, c->created_at), NULL, 10);
	if (o->acronym == NULL || o->name == NULL || o->country == NULL)
		return NULL;
	return o;
}

Tulay__V1__Organisation *org_from_row(struct request *req, const PGresult *res, int row)
{
	struct org_columns c = org_columns(res);
	return org_row(req, res, row, &c);
}

/* --- CreateOrganisation ---------------------------------------------------------------- */

struct org_create_state {
	char acronym[24];
	uint8_t hash[32];
};

static void org_created(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const char *result = db_value(request_result_of(req, "org_create"), 0, "outcome");
	if (strcmp(result, "key_reused") == 0) {
		request_fail_key_reused(req, "organisation");
		return;
	}
	if (strcmp(result, "acronym_taken") == 0) {
		request_field_error(req, "acronym", "is already registered");
		request_fail(req, TULAY__V1__CODE__ALREADY_EXISTS,
			     "an organisation with this acronym exists");
		return;
	}
	const PGresult *res = request_result_of(req, "org_by_key");
	Tulay__V1__Organisation *o = PQntuples(res) == 1 ? org_from_row(req, res, 0) : NULL;
	if (o == NULL) {
		request_fail(req, TULAY__V1__CODE__INTERNAL,
			     "the organisation could not be read back");
		return;
	}
	/* Its case numbering, before its first case needs it (that case would otherwise
	 * make it on the request path). */
	chore_soon(&req->srv->case_numbering);
	REQUEST_REPLY(req, ORGANISATION, organisation, o);
}

void handle_create_organisation(struct request *req)
{
	const Tulay__V1__CreateOrganisation *m = req->msg->create_organisation;
	if (req->session.role != TULAY__V1__ROLE__ROLE_ADMIN) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "only an admin can register organisations");
		return;
	}
	struct org_create_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	req->state = st;
	const char *problem;
	if ((problem = validate_idempotency_key(m->idempotency_key.len)) != NULL)
		request_field_error(req, "idempotency_key", problem);
	validate_upper(m->acronym, st->acronym, sizeof(st->acronym));
	if (strlen(m->acronym) >= sizeof(st->acronym))
		request_field_error(req, "acronym", "must be 2 to 20 characters");
	else if ((problem = validate_acronym(st->acronym)) != NULL)
		request_field_error(req, "acronym", problem);
	if ((problem = validate_text(m->name, 1, 200)) != NULL)
		request_field_error(req, "name", problem);
	const char *kind = CODE_OF(organisation_kind, m->kind);
	if (kind == NULL)
		request_field_error(
		    req, "kind",
		    "is required: network, ngo, trade union, migrant association, "
		    "faith-based, research institute, parliamentary caucus or other");
	if ((problem = validate_country(m->country)) != NULL)
		request_field_error(req, "country", problem);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the organisation was not registered");
		return;
	}

	/* What the request asks for, so a reused key with other content is told apart from
	 * a retry. Fields are NUL-separated: none can contain NUL. */
	const char *parts[] = {st->acronym, m->name, kind, m->country};
	vault_fingerprint(parts, N_ELEMS(parts), st->hash, sizeof(st->hash));

	struct db_query *q = db_job_add(&req->job, "org_create");
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	db_param_bytes(q, st->hash, sizeof(st->hash));
	DB_PARAMS_TEXT(q, st->acronym, m->name, kind, m->country);
	q = db_job_add(&req->job, "org_by_key");
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	request_audit(req, "create_organisation", st->acronym, "");
	request_db(req, org_created);
}

/* --- ListOrganisations ----------------------------------------------------------------- */

static void *org_item(struct request *req, const PGresult *res, int row, const void *cols)
{
	Tulay__V1__Organisation *org = org_row(req, res, row, cols);
	if (org == NULL)
		request_fail_oom(req);
	return org;
}

static void orgs_listed(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	unsigned limit = *(unsigned *)req->state;
	Tulay__V1__OrganisationList *list = request_alloc(req, sizeof(*list));
	if (request_oom(req, list))
		return;
	tulay__v1__organisation_list__init(list);
	/* The next page starts after the last acronym shown. */
	const PGresult *res = request_result_of(req, "org_list");
	struct org_columns cols = org_columns(res);
	struct case_page page;
	if (!case_page(req, res, limit, cols.acronym, org_item, &cols, &page))
		return;
	list->organisations = (Tulay__V1__Organisation **)page.items;
	list->n_organisations = page.n;
	list->next_page_token = page.next;
	REQUEST_REPLY(req, ORGANISATIONS, organisations, list);
}

void handle_list_organisations(struct request *req)
{
	const Tulay__V1__ListOrganisations *m = req->msg->list_organisations;
	const char *problem;
	if (*m->country != '\0' && (problem = validate_country(m->country)) != NULL)
		request_field_error(req, "country", problem);
	if (m->limit > CASE_PAGE_MAX)
		request_field_error(req, "limit", "must be at most " CASE_PAGE_MAX_TEXT);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "invalid organisation list request");
		return;
	}
	unsigned *limit = request_alloc(req, sizeof(*limit));
	char *fetch = arena_printf(&req->arena, "%u", (m->limit ? m->limit : ORG_LIST_DEFAULT) + 1);
	if (limit == NULL || fetch == NULL) {
		request_fail_oom(req);
		return;
	}
	*limit = m->limit ? m->limit : ORG_LIST_DEFAULT;
	req->state = limit;
	struct db_query *q = db_job_add(&req->job, "org_list");
	DB_PARAMS_TEXT(q, m->country, m->page_token, fetch);
	request_audit(
	    req, "list_organisations", "",
	    arena_printf(&req->arena, "country=%s page_token=%s", m->country, m->page_token));
	request_db(req, orgs_listed);
}
