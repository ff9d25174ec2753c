/* Networks of organisations: memberships (roles, dates, whether aggregates count upward),
 * field offices, and an organisation's full picture (offices, members and networks,
 * directly and at every level). Directory data: any authenticated user reads it; admins
 * and the organisations' own org admins change it, checked here and by the RLS policies
 * of migration 0006. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"
#include "handlers.h"
#include "request.h"
#include "server.h"
#include "validate.h"
#include "vault.h"

/* A Membership as membership_records (migration 0015) shows it, each column by its name
 * (struct membership_columns). */
#define MEMBERSHIP_SELECT                                                                          \
	"SELECT r.member, r.network, r.role, to_char(r.since, 'YYYY-MM-DD') AS since, "            \
	"coalesce(to_char(r.until, 'YYYY-MM-DD'), '') AS until, r.shares_aggregates, r.version, "  \
	"r.state, r.proposal_id, " MEMBERSHIP_ACTOR("proposed") ", " MEMBERSHIP_ACTOR(             \
	    "decided") ", " MEMBERSHIP_ACTOR("ended") " FROM membership_records r "
/* Who proposed, decided or ended it: columns WHAT_by, WHAT_by_user and WHAT_at. */
#define MEMBERSHIP_ACTOR(what)                                                                     \
	"coalesce(r." what "_by, '') AS " what "_by, "                                             \
	"coalesce(r." what "_by_user, '') AS " what "_by_user, "                                   \
	"coalesce(extract(epoch FROM r." what "_at)::bigint, 0) AS " what "_at"
#define MEMBERSHIP_LATEST MEMBERSHIP_SELECT "WHERE r.network = $1 AND r.member = $2 "
#define ORG_ID(param)     "(SELECT org_id FROM organisations WHERE acronym = " param ")"

#define LINK_SELECT(fn)                                                                            \
	"SELECT o.acronym, o.name, l.depth, coalesce(v.acronym, '') AS via "                       \
	"FROM organisations x CROSS JOIN LATERAL " fn "(x.org_id) l "                              \
	"JOIN organisations o ON o.org_id = l.org_id "                                             \
	"LEFT JOIN organisations v ON v.org_id = l.via "                                           \
	"WHERE x.acronym = $1 ORDER BY l.depth, o.acronym"

const struct db_statement networks_statements[] = {
    {"org_detail", "SELECT " ORG_COLUMNS " FROM organisations WHERE acronym = $1"},
    {"org_offices", "SELECT f.office_id, o.acronym AS organisation, f.name, f.city, f.country "
		    "FROM offices f JOIN organisations o ON o.org_id = f.org_id "
		    "WHERE o.acronym = $1 ORDER BY f.name"},
    {"org_members", MEMBERSHIP_SELECT "WHERE r.network = $1 AND r.state = 'accepted' "
				      "ORDER BY r.member"},
    {"org_member_of", MEMBERSHIP_SELECT "WHERE r.member = $1 AND r.state = 'accepted' "
					"ORDER BY r.network"},
    {"org_networks", LINK_SELECT("network_ancestors")},
    {"org_all_members", LINK_SELECT("network_descendants")},
    /* Row-level security shows open proposals only to the two sides and admins. */
    {"org_proposals", MEMBERSHIP_SELECT "WHERE $1 IN (r.network, r.member) "
					"AND r.state = 'proposed' ORDER BY r.proposal_id"},
    {"org_past_memberships", MEMBERSHIP_SELECT "WHERE $1 IN (r.network, r.member) "
					       "AND r.state IN ('ended', 'declined', 'withdrawn') "
					       "ORDER BY r.proposal_id DESC LIMIT 50"},
    {"membership_propose", "SELECT proposal_id, outcome FROM propose_membership($1, $2, " ORG_ID(
			       "$3") ", " ORG_ID("$4") ", $5, $6, $7)"},
    {"membership_by_key",
     MEMBERSHIP_SELECT "WHERE r.proposal_id = (SELECT p.proposal_id FROM membership_proposals p "
		       "JOIN organisations n ON n.org_id = p.network_org "
		       "WHERE n.acronym = $1 AND p.idempotency_key = $2)"},
    {"membership_decide", "SELECT proposal_id, outcome FROM decide_membership(" ORG_ID(
			      "$1") ", " ORG_ID("$2") ", $3, $4)"},
    {"membership_latest", MEMBERSHIP_LATEST "ORDER BY r.proposal_id DESC LIMIT 1"},
    /* until: NULL for today. ended_at = now() finds the row this transaction ended. */
    {"membership_end",
     "UPDATE memberships m SET until = coalesce($3::date, current_date), "
     "version = m.version + 1, ended_by = tulay_user(), ended_at = now() "
     "FROM organisations mo, organisations no "
     "WHERE mo.org_id = m.member_org AND no.org_id = m.network_org "
     "AND no.acronym = $1 AND mo.acronym = $2 AND m.until IS NULL AND m.version = $4 "
     "AND coalesce($3::date, current_date) >= m.since RETURNING m.version"},
    {"membership_ended", MEMBERSHIP_LATEST "AND r.ended_at = now()"},
    {"membership_state", "SELECT m.version, to_char(m.since, 'YYYY-MM-DD') AS since "
			 "FROM memberships m "
			 "WHERE m.network_org = " ORG_ID("$1") " AND m.member_org = " ORG_ID(
			     "$2") " "
				   "AND m.until IS NULL"},
    {"office_add",
     "INSERT INTO offices (org_id, name, city, country, idempotency_key, request_hash) "
     "VALUES ($1, $2, $3, $4, $5, $6) "
     "ON CONFLICT ON CONSTRAINT offices_idempotency_key DO NOTHING"},
    {"office_by_key", "SELECT f.office_id, o.acronym AS organisation, f.name, f.city, "
		      "f.country, f.request_hash = $3 AS same_request FROM offices f "
		      "JOIN organisations o ON o.org_id = f.org_id "
		      "WHERE f.org_id = $1 AND f.idempotency_key = $2"},
};
const unsigned networks_statements_count = N_ELEMS(networks_statements);

/* Makes a message of row `row` of `res`, reading the columns whose indexes `cols` holds;
 * NULL when out of memory. */
typedef void *row_fn(struct request *req, const PGresult *res, int row, const void *cols);

/* The indexes of the columns of one actor of a membership (who proposed, decided or ended
 * it: `what`), and of all of a MEMBERSHIP_SELECT result, looked up once for all its rows. */
struct membership_actor_columns {
	int by, by_user, at;
};
struct membership_columns {
	int member, network, role, since, until, shares_aggregates, version, state, proposal_id;
	struct membership_actor_columns proposed, decided, ended;
};

static struct membership_actor_columns membership_actor_columns(const PGresult *res,
								const char *what)
{
	char by[32], by_user[32], at[32];
	snprintf(by, sizeof(by), "%s_by", what);
	snprintf(by_user, sizeof(by_user), "%s_by_user", what);
	snprintf(at, sizeof(at), "%s_at", what);
	return (struct membership_actor_columns){db_column(res, by), db_column(res, by_user),
						 db_column(res, at)};
}

static struct membership_columns membership_columns(const PGresult *res)
{
	return (struct membership_columns){
	    .member = db_column(res, "member"),
	    .network = db_column(res, "network"),
	    .role = db_column(res, "role"),
	    .since = db_column(res, "since"),
	    .until = db_column(res, "until"),
	    .shares_aggregates = db_column(res, "shares_aggregates"),
	    .version = db_column(res, "version"),
	    .state = db_column(res, "state"),
	    .proposal_id = db_column(res, "proposal_id"),
	    .proposed = membership_actor_columns(res, "proposed"),
	    .decided = membership_actor_columns(res, "decided"),
	    .ended = membership_actor_columns(res, "ended"),
	};
}

/* One actor of a membership from its columns `c`. False when out of memory. */
static bool membership_actor(struct request *req, const PGresult *res, int row,
			     const struct membership_actor_columns *c, char **org, char **user,
			     int64_t *at)
{
	*org = arena_strdup(&req->arena, PQgetvalue(res, row, c->by));
	*user = arena_strdup(&req->arena, PQgetvalue(res, row, c->by_user));
	*at = strtoll(PQgetvalue(res, row, c->at), NULL, 10);
	return *org != NULL && *user != NULL;
}

/* The Membership in row `row` of a result of MEMBERSHIP_SELECT; NULL when out of memory. */
/* A row_fn: `cols` is a struct membership_columns. */
static void *membership_from_row(struct request *req, const PGresult *res, int row,
				 const void *cols)
{
	const struct membership_columns *c = cols;
	Tulay__V1__Membership *m = request_alloc(req, sizeof(*m));
	if (m == NULL)
		return NULL;
	tulay__v1__membership__init(m);
	m->member = arena_strdup(&req->arena, PQgetvalue(res, row, c->member));
	m->network = arena_strdup(&req->arena, PQgetvalue(res, row, c->network));
	m->role =
	    (Tulay__V1__MembershipRole)VALUE_OF(membership_role, PQgetvalue(res, row, c->role));
	m->since = arena_strdup(&req->arena, PQgetvalue(res, row, c->since));
	m->until = arena_strdup(&req->arena, PQgetvalue(res, row, c->until));
	m->shares_aggregates = strcmp(PQgetvalue(res, row, c->shares_aggregates), "t") == 0;
	m->version = strtoll(PQgetvalue(res, row, c->version), NULL, 10);
	m->state =
	    (Tulay__V1__MembershipState)VALUE_OF(membership_state, PQgetvalue(res, row, c->state));
	m->proposal_id = strtoll(PQgetvalue(res, row, c->proposal_id), NULL, 10);
	bool ok = membership_actor(req, res, row, &c->proposed, &m->proposed_by,
				   &m->proposed_by_user, &m->proposed_at) &&
		  membership_actor(req, res, row, &c->decided, &m->decided_by, &m->decided_by_user,
				   &m->decided_at) &&
		  membership_actor(req, res, row, &c->ended, &m->ended_by, &m->ended_by_user,
				   &m->ended_at);
	return ok && m->member && m->network && m->since && m->until ? m : NULL;
}

/* The indexes of the columns of an org_offices / office_by_key result. */
struct office_columns {
	int office_id, organisation, name, city, country;
};

static struct office_columns office_columns(const PGresult *res)
{
	return (struct office_columns){
	    .office_id = db_column(res, "office_id"),
	    .organisation = db_column(res, "organisation"),
	    .name = db_column(res, "name"),
	    .city = db_column(res, "city"),
	    .country = db_column(res, "country"),
	};
}

/* A row_fn: `cols` is a struct office_columns. */
static void *office_from_row(struct request *req, const PGresult *res, int row, const void *cols)
{
	const struct office_columns *c = cols;
	Tulay__V1__Office *o = request_alloc(req, sizeof(*o));
	if (o == NULL)
		return NULL;
	tulay__v1__office__init(o);
	o->id = strtoll(PQgetvalue(res, row, c->office_id), NULL, 10);
	o->organisation = arena_strdup(&req->arena, PQgetvalue(res, row, c->organisation));
	o->name = arena_strdup(&req->arena, PQgetvalue(res, row, c->name));
	o->city = arena_strdup(&req->arena, PQgetvalue(res, row, c->city));
	o->country = arena_strdup(&req->arena, PQgetvalue(res, row, c->country));
	return o->organisation && o->name && o->city && o->country ? o : NULL;
}

/* The indexes of the columns of a LINK_SELECT result. */
struct link_columns {
	int acronym, name, depth, via;
};

static struct link_columns link_columns(const PGresult *res)
{
	return (struct link_columns){
	    .acronym = db_column(res, "acronym"),
	    .name = db_column(res, "name"),
	    .depth = db_column(res, "depth"),
	    .via = db_column(res, "via"),
	};
}

/* A row_fn: `cols` is a struct link_columns. */
static void *link_from_row(struct request *req, const PGresult *res, int row, const void *cols)
{
	const struct link_columns *c = cols;
	Tulay__V1__NetworkLink *l = request_alloc(req, sizeof(*l));
	if (l == NULL)
		return NULL;
	tulay__v1__network_link__init(l);
	l->acronym = arena_strdup(&req->arena, PQgetvalue(res, row, c->acronym));
	l->name = arena_strdup(&req->arena, PQgetvalue(res, row, c->name));
	l->depth = (uint32_t)strtoul(PQgetvalue(res, row, c->depth), NULL, 10);
	l->via = arena_strdup(&req->arena, PQgetvalue(res, row, c->via));
	return l->acronym && l->name && l->via ? l : NULL;
}

/* Builds an array of messages from every row of `res` with `from_row`. Returns false
 * (after ending the request) when out of memory. */
static bool rows_to_array(struct request *req, const PGresult *res, row_fn *from_row,
			  const void *cols, void ***out, size_t *n_out)
{
	int n = PQntuples(res);
	void **items = request_alloc(req, sizeof(*items) * (size_t)(n + 1));
	if (request_oom(req, items))
		return false;
	for (int i = 0; i < n; i++) {
		if (request_oom(req, items[i] = from_row(req, res, i, cols)))
			return false;
	}
	*out = items;
	*n_out = (size_t)n;
	return true;
}

/* The Memberships of every row of the result of `statement` (MEMBERSHIP_SELECT). False
 * after ending the request. */
static bool memberships_of(struct request *req, const char *statement, Tulay__V1__Membership ***out,
			   size_t *n)
{
	const PGresult *res = request_result_of(req, statement);
	struct membership_columns cols = membership_columns(res);
	return rows_to_array(req, res, membership_from_row, &cols, (void ***)out, n);
}

/* The NetworkLinks of every row of the result of `statement` (LINK_SELECT). False after
 * ending the request. */
static bool links_of(struct request *req, const char *statement, Tulay__V1__NetworkLink ***out,
		     size_t *n)
{
	const PGresult *res = request_result_of(req, statement);
	struct link_columns cols = link_columns(res);
	return rows_to_array(req, res, link_from_row, &cols, (void ***)out, n);
}

/* --- GetOrganisation ------------------------------------------------------------------- */

static void organisation_loaded(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	if (PQntuples(request_result_of(req, "org_detail")) != 1) {
		request_fail(req, TULAY__V1__CODE__NOT_FOUND, "no organisation with this acronym");
		return;
	}
	Tulay__V1__OrganisationDetail *d = request_alloc(req, sizeof(*d));
	if (request_oom(req, d))
		return;
	tulay__v1__organisation_detail__init(d);
	if (request_oom(req, d->organisation =
				 org_from_row(req, request_result_of(req, "org_detail"), 0)))
		return;
	const PGresult *offices = request_result_of(req, "org_offices");
	struct office_columns office_cols = office_columns(offices);
	if (!rows_to_array(req, offices, office_from_row, &office_cols, (void ***)&d->offices,
			   &d->n_offices) ||
	    !memberships_of(req, "org_members", &d->members, &d->n_members) ||
	    !memberships_of(req, "org_member_of", &d->member_of, &d->n_member_of) ||
	    !links_of(req, "org_networks", &d->networks, &d->n_networks) ||
	    !links_of(req, "org_all_members", &d->all_members, &d->n_all_members) ||
	    !memberships_of(req, "org_proposals", &d->proposals, &d->n_proposals) ||
	    !memberships_of(req, "org_past_memberships", &d->past, &d->n_past))
		return;
	REQUEST_REPLY(req, ORGANISATION_DETAIL, organisation_detail, d);
}

void handle_get_organisation(struct request *req)
{
	char *acronym = request_alloc(req, 24);
	const char *given = req->msg->get_organisation->acronym;
	if (request_oom(req, acronym))
		return;
	validate_upper(given, acronym, 24);
	if (strlen(given) >= 24 || validate_acronym(acronym) != NULL) {
		request_field_error(req, "acronym", "is not an organisation acronym");
		request_fail_invalid(req, "invalid organisation acronym");
		return;
	}
	static const char *const queries[] = {
	    "org_detail",   "org_offices",     "org_members",   "org_member_of",
	    "org_networks", "org_all_members", "org_proposals", "org_past_memberships"};
	for (size_t i = 0; i < N_ELEMS(queries); i++)
		db_param_text(db_job_add(&req->job, queries[i]), acronym);
	request_audit(req, "read_organisation", acronym, "");
	request_db(req, organisation_loaded);
}

/* --- AddMembership, AcceptMembership, DeclineMembership, EndMembership ------------------ */

struct membership_state {
	char network[24], member[24];
	uint8_t hash[32];
	char proposal[24];
};

/* Upper-cases and checks an acronym field; records a field error if it is not one. */
static void acronym_field(struct request *req, const char *field, const char *value, char *out)
{
	validate_upper(value, out, 24);
	if (strlen(value) >= 24 || validate_acronym(out) != NULL)
		request_field_error(req, field, "is not an organisation acronym");
}

/* Checks the network and member fields into a new state (req->state); false after ending
 * the request. Records field errors without ending it. */
static struct membership_state *membership_sides(struct request *req, const char *network,
						 const char *member)
{
	struct membership_state *st = request_alloc(req, sizeof(*st));
	if (request_oom(req, st))
		return NULL;
	req->state = st;
	acronym_field(req, "network", network, st->network);
	acronym_field(req, "member", member, st->member);
	return st;
}

/* Whether the caller may act on a membership of the pair: an admin, or an org admin of
 * either side. Ends the request with PERMISSION_DENIED (saying `who`) if not. */
static bool membership_caller_allowed(struct request *req, const struct membership_state *st,
				      const char *who)
{
	bool own_side = strcmp(st->network, req->session.org_acronym) == 0 ||
			strcmp(st->member, req->session.org_acronym) == 0;
	if (req->session.role == TULAY__V1__ROLE__ROLE_ADMIN ||
	    (req->session.role == TULAY__V1__ROLE__ROLE_ORG_ADMIN && own_side))
		return true;
	request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED, who);
	return false;
}

/* Replies with the Membership in the first row of `res`. */
static void membership_reply(struct request *req, const PGresult *res, bool in_effect_changed)
{
	if (PQntuples(res) != 1) {
		request_fail(req, TULAY__V1__CODE__INTERNAL,
			     "the membership could not be read back");
		return;
	}
	struct membership_columns cols = membership_columns(res);
	Tulay__V1__Membership *m = membership_from_row(req, res, 0, &cols);
	if (request_oom(req, m))
		return;
	/* Before the reply, which ends the request: the report scopes it changes. */
	if (in_effect_changed)
		chore_soon(&req->srv->report_refresh);
	REQUEST_REPLY(req, MEMBERSHIP, membership, m);
}

/* Ends the request for the outcomes that proposing and deciding share; false if `outcome`
 * is not one of them. */
static bool membership_common_outcome(struct request *req, const char *outcome)
{
	const struct membership_state *st = req->state;
	if (strcmp(outcome, "unknown_network") == 0 || strcmp(outcome, "unknown_member") == 0) {
		request_field_error(req, outcome + strlen("unknown_"),
				    "is not a registered organisation acronym");
		request_fail_invalid(req, "unknown organisation");
	} else if (strcmp(outcome, "cycle") == 0) {
		char *message =
		    arena_printf(&req->arena,
				 "%s is already, at some level, a member of %s: adding it "
				 "would make %s a member of itself",
				 st->network, st->member, st->network);
		request_field_error(req, "member", "would close a circle of memberships");
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     message != NULL ? message : "the membership would close a circle");
	} else if (strcmp(outcome, "exists") == 0) {
		request_field_error(req, "member", "is already a current member of this network");
		request_fail(req, TULAY__V1__CODE__ALREADY_EXISTS,
			     "this membership exists: end it first to change it");
	} else if (strcmp(outcome, "denied") == 0) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "only an admin or an organisation admin of either side acts on a "
			     "membership");
	} else {
		return false;
	}
	return true;
}

static void membership_proposed(struct request *req, enum db_outcome outcome)
{
	const struct membership_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const char *result = db_value(request_result_of(req, "membership_propose"), 0, "outcome");
	if (membership_common_outcome(req, result))
		return;
	if (strcmp(result, "key_reused") == 0) {
		request_fail_key_reused(req, "membership");
	} else if (strcmp(result, "self") == 0) {
		request_field_error(req, "member", "is the network itself");
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     "an organisation cannot be a member of itself");
	} else if (strcmp(result, "pending") == 0) {
		char *message = arena_printf(&req->arena,
					     "a proposal of %s as a member of %s is open: accept, "
					     "decline or withdraw it first",
					     st->member, st->network);
		request_field_error(req, "member", "has an open proposal in this network");
		request_fail(req, TULAY__V1__CODE__ALREADY_EXISTS,
			     message != NULL ? message : "a proposal of this membership is open");
	} else {
		/* proposed, accepted (an admin's) or replayed */
		membership_reply(req, request_result_of(req, "membership_by_key"),
				 strcmp(result, "proposed") != 0);
	}
}

void handle_add_membership(struct request *req)
{
	const Tulay__V1__AddMembership *m = req->msg->add_membership;
	struct membership_state *st = membership_sides(req, m->network, m->member);
	if (st == NULL)
		return;
	const char *problem;
	struct civil_date since;
	if ((problem = validate_idempotency_key(m->idempotency_key.len)) != NULL)
		request_field_error(req, "idempotency_key", problem);
	const char *role = CODE_OF(membership_role, m->role);
	if (role == NULL)
		request_field_error(req, "role",
				    "is required: member, focal point, partner or secretariat");
	if ((problem = validate_date(m->since, &since)) != NULL)
		request_field_error(req, "since", problem);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the membership was not proposed");
		return;
	}
	if (!membership_caller_allowed(req, st,
				       "only an admin or an organisation admin of either side "
				       "proposes a membership"))
		return;
	const char *parts[] = {st->network, st->member, role, m->since,
			       m->shares_aggregates ? "t" : "f"};
	vault_fingerprint(parts, N_ELEMS(parts), st->hash, sizeof(st->hash));

	struct db_query *q = db_job_add(&req->job, "membership_propose");
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	db_param_bytes(q, st->hash, sizeof(st->hash));
	DB_PARAMS_TEXT(q, st->network, st->member, role, m->since,
		       m->shares_aggregates ? "t" : "f");
	q = db_job_add(&req->job, "membership_by_key");
	db_param_text(q, st->network);
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	request_audit(req, "add_membership", st->member,
		      arena_printf(&req->arena, "network=%s role=%s shares=%s", st->network, role,
				   m->shares_aggregates ? "t" : "f"));
	request_db(req, membership_proposed);
}

static void membership_decided(struct request *req, enum db_outcome outcome)
{
	const struct membership_state *st = req->state;
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result_of(req, "membership_decide");
	const char *result = db_value(res, 0, "outcome");
	if (membership_common_outcome(req, result))
		return;
	if (strcmp(result, "no_proposal") == 0) {
		char *message = arena_printf(&req->arena,
					     "no open proposal of %s as a member of %s: one side "
					     "proposes it first (AddMembership)",
					     st->member, st->network);
		request_fail(req, TULAY__V1__CODE__NOT_FOUND,
			     message != NULL ? message : "no open proposal of this membership");
	} else if (strcmp(result, "changed") == 0) {
		char *problem = arena_printf(&req->arena,
					     "is not the open proposal (that is %s): look at it "
					     "again before you decide",
					     db_value(res, 0, "proposal_id"));
		request_field_error(req, "proposal_id", problem != NULL ? problem : "is stale");
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     "the proposal changed since you looked");
	} else if (strcmp(result, "own_proposal") == 0) {
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     "your organisation proposed this membership: the other side accepts "
			     "it (or you withdraw it with DeclineMembership)");
	} else {
		/* accepted, declined, withdrawn or replayed */
		membership_reply(req, request_result_of(req, "membership_latest"),
				 strcmp(result, "accepted") == 0);
	}
}

/* AcceptMembership and DeclineMembership: the same request, one decision apart. */
static void membership_decide(struct request *req, const char *network, const char *member,
			      int64_t proposal_id, bool accept)
{
	struct membership_state *st = membership_sides(req, network, member);
	if (st == NULL)
		return;
	if (proposal_id < 0)
		request_field_error(req, "proposal_id",
				    "is the proposal's id (Membership.proposal_id), or 0 for "
				    "the open one");
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, accept ? "the membership was not accepted"
						 : "the membership was not declined");
		return;
	}
	if (!membership_caller_allowed(req, st,
				       "only an admin or an organisation admin of the other side "
				       "decides on a proposed membership"))
		return;
	snprintf(st->proposal, sizeof(st->proposal), "%lld", (long long)proposal_id);
	struct db_query *q = db_job_add(&req->job, "membership_decide");
	DB_PARAMS_TEXT(q, st->network, st->member, st->proposal, accept ? "t" : "f");
	q = db_job_add(&req->job, "membership_latest");
	db_param_text(q, st->network);
	db_param_text(q, st->member);
	request_audit(
	    req, accept ? "accept_membership" : "decline_membership", st->member,
	    arena_printf(&req->arena, "network=%s proposal=%s", st->network, st->proposal));
	request_db(req, membership_decided);
}

void handle_accept_membership(struct request *req)
{
	const Tulay__V1__AcceptMembership *a = req->msg->accept_membership;
	membership_decide(req, a->network, a->member, a->proposal_id, true);
}

void handle_decline_membership(struct request *req)
{
	const Tulay__V1__DeclineMembership *d = req->msg->decline_membership;
	membership_decide(req, d->network, d->member, d->proposal_id, false);
}

static void membership_ended(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	if (PQntuples(request_result_of(req, "membership_end")) == 1) {
		membership_reply(req, request_result_of(req, "membership_ended"), true);
		return;
	}
	const PGresult *state = request_result_of(req, "membership_state");
	const Tulay__V1__EndMembership *e = req->msg->end_membership;
	if (PQntuples(state) != 1) {
		request_fail(req, TULAY__V1__CODE__NOT_FOUND,
			     "no current membership of this member in this network (a proposal "
			     "not yet accepted is declined or withdrawn with DeclineMembership)");
	} else if (strtoll(db_value(state, 0, "version"), NULL, 10) != e->expected_version) {
		char *message =
		    arena_printf(&req->arena,
				 "the membership changed since you looked (version is now "
				 "%s): check again",
				 db_value(state, 0, "version"));
		request_field_error(req, "expected_version", "is stale");
		request_fail(req, TULAY__V1__CODE__FAILED_PRECONDITION,
			     message != NULL ? message : "stale expected_version");
	} else {
		char *problem = arena_printf(&req->arena, "is before the membership began (%s)",
					     db_value(state, 0, "since"));
		request_field_error(req, "until", problem != NULL ? problem : "is too early");
		request_fail_invalid(req, "the membership was not ended");
	}
}

void handle_end_membership(struct request *req)
{
	const Tulay__V1__EndMembership *e = req->msg->end_membership;
	struct membership_state *st = membership_sides(req, e->network, e->member);
	if (st == NULL)
		return;
	const char *problem;
	struct civil_date until;
	/* Empty: today, so the membership stops counting at once. */
	if (e->until[0] != '\0' && (problem = validate_date(e->until, &until)) != NULL)
		request_field_error(req, "until", problem);
	if (e->expected_version <= 0)
		request_field_error(req, "expected_version",
				    "is required: the version of the membership you saw");
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the membership was not ended");
		return;
	}
	if (!membership_caller_allowed(req, st,
				       "only an admin or an organisation admin of either side ends "
				       "a membership"))
		return;
	char *version = arena_printf(&req->arena, "%lld", (long long)e->expected_version);
	if (request_oom(req, version))
		return;
	struct db_query *q = db_job_add(&req->job, "membership_end");
	DB_PARAMS_TEXT(q, st->network, st->member, e->until[0] != '\0' ? e->until : NULL, version);
	q = db_job_add(&req->job, "membership_ended");
	db_param_text(q, st->network);
	db_param_text(q, st->member);
	q = db_job_add(&req->job, "membership_state");
	db_param_text(q, st->network);
	db_param_text(q, st->member);
	request_audit(req, "end_membership", st->member,
		      arena_printf(&req->arena, "network=%s until=%s", st->network,
				   e->until[0] != '\0' ? e->until : "today"));
	request_db(req, membership_ended);
}

/* --- AddOffice ------------------------------------------------------------------------- */

struct office_state {
	int64_t org_id;
	char *org_param;
	uint8_t hash[32];
};

static void office_added(struct request *req, enum db_outcome outcome)
{
	if (outcome == DB_QUERY_ERROR &&
	    strcmp(db_sqlstate(req->job.results[req->job.failed_query]), "23505") == 0) {
		request_field_error(req, "name", "is already the name of one of its offices");
		request_fail(req, TULAY__V1__CODE__ALREADY_EXISTS,
			     "an office with this name exists");
		return;
	}
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result_of(req, "office_by_key");
	if (PQntuples(res) != 1) {
		request_fail(req, TULAY__V1__CODE__INTERNAL, "the office could not be read back");
		return;
	}
	if (strcmp(db_value(res, 0, "same_request"), "t") != 0) {
		request_fail_key_reused(req, "office");
		return;
	}
	struct office_columns cols = office_columns(res);
	Tulay__V1__Office *o = office_from_row(req, res, 0, &cols);
	if (request_oom(req, o))
		return;
	REQUEST_REPLY(req, OFFICE, office, o);
}

static void office_resolved(struct request *req)
{
	const Tulay__V1__AddOffice *m = req->msg->add_office;
	struct office_state *st = req->state;
	st->org_param = arena_printf(&req->arena, "%lld", (long long)st->org_id);
	if (request_oom(req, st->org_param))
		return;
	const char *parts[] = {st->org_param, m->name, m->city, m->country};
	vault_fingerprint(parts, N_ELEMS(parts), st->hash, sizeof(st->hash));
	struct db_query *q = db_job_add(&req->job, "office_add");
	DB_PARAMS_TEXT(q, st->org_param, m->name, m->city, m->country);
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	db_param_bytes(q, st->hash, sizeof(st->hash));
	q = db_job_add(&req->job, "office_by_key");
	db_param_text(q, st->org_param);
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	db_param_bytes(q, st->hash, sizeof(st->hash));
	request_audit(req, "add_office", m->name,
		      arena_printf(&req->arena, "org=%s", st->org_param));
	request_db(req, office_added);
}

void handle_add_office(struct request *req)
{
	const Tulay__V1__AddOffice *m = req->msg->add_office;
	const char *problem;
	if ((problem = validate_idempotency_key(m->idempotency_key.len)) != NULL)
		request_field_error(req, "idempotency_key", problem);
	if ((problem = validate_text(m->name, 1, 200)) != NULL)
		request_field_error(req, "name", problem);
	if ((problem = validate_text(m->city, 1, 100)) != NULL)
		request_field_error(req, "city", problem);
	if ((problem = validate_country(m->country)) != NULL)
		request_field_error(req, "country", problem);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the office was not added");
		return;
	}
	if (req->session.role != TULAY__V1__ROLE__ROLE_ADMIN &&
	    req->session.role != TULAY__V1__ROLE__ROLE_ORG_ADMIN) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "only an admin or the organisation's admin adds offices");
		return;
	}
	struct office_state *st = request_alloc(req, sizeof(*st));
	if (request_oom(req, st))
		return;
	req->state = st;
	request_resolve_org(req, m->organisation, "organisation",
			    req->session.role == TULAY__V1__ROLE__ROLE_ADMIN, &st->org_id,
			    office_resolved);
}
