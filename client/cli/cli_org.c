#include "cli_org.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli_args.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_vocab.h"

static struct output_record *org_record(const Tulay__V1__Organisation *org)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
	output_add_int(rec, "id", NULL, org->id);
	output_add_text(rec, "acronym", "Acronym", org->acronym);
	output_add_text(rec, "name", "Name", org->name);
	output_add_text(rec, "kind", "Kind", vocab_word(&vocab_org_kinds, org->kind));
	output_add_country(rec, "country", "Country", org->country);
	output_add_int(rec, "version", "Version", org->version);
	output_add_time(rec, "created_at", "Created at", org->created_at);
	return rec;
}

static struct output_record *org_blank(void)
{
	Tulay__V1__Organisation org = TULAY__V1__ORGANISATION__INIT;
	return org_record(&org);
}

int org_add(struct cli *cli, int argc, char **argv)
{
	const char *acronym = NULL, *name = NULL, *country = NULL;
	int kind = 0;
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--acronym", ARGS_ACRONYM, &acronym, "ACRONYM",
		     "short name, unique: 2-20 of A-Z 0-9 - _ (e.g. MFA, TF-AMW)",
		     .required = true),
	    ARGS_OPT("--name", ARGS_TEXT, &name, "NAME", "full name, 1-200 characters",
		     .required = true),
	    ARGS_OPT("--kind", ARGS_CHOICE, &kind, "KIND", "what kind of organisation it is",
		     .required = true, .choices = &vocab_org_kinds),
	    ARGS_OPT("--country", ARGS_COUNTRY, &country, "CC",
		     "country of the head office, ISO 3166-1 alpha-2 (e.g. PH)", .required = true),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "org add",
	    .description = "Registers an organisation that uses tulay: a network, an NGO, a trade\n"
			   "union, ... Admins only. Prints the organisation as registered.",
	    .options = options,
	    .example = "  tulay org add --acronym MFA --name \"Migrant Forum in Asia\" \\\n"
		       "      --kind network --country PH",
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;

	Tulay__V1__CreateOrganisation create = TULAY__V1__CREATE_ORGANISATION__INIT;
	create.idempotency_key.data = key.bytes;
	create.idempotency_key.len = sizeof(key.bytes);
	create.acronym = (char *)acronym;
	create.name = (char *)name;
	create.kind = (Tulay__V1__OrganisationKind)kind;
	create.country = (char *)country;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_CREATE_ORGANISATION;
	req.create_organisation = &create;

	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY_ORGANISATION, key.bytes,
		      "The organisation may or may not have been added", &resp);
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "Added organisation %s", resp->organisation->acronym);
		rc = output_show(cli, org_record(resp->organisation));
	}
	tulay_response_free(resp);
	return rc;
}

static const char *org_page(struct output_list *list, const Tulay__V1__Response *resp)
{
	const Tulay__V1__OrganisationList *page = resp->organisations;
	for (size_t i = 0; i < page->n_organisations; i++)
		output_list_add(list, org_record(page->organisations[i]));
	return page->next_page_token;
}

static const struct output_column org_columns[] = {
    {"acronym", "ACRONYM", false},
    {"name", "NAME", false},
    {"kind", "KIND", false},
    {"country", "COUNTRY", false},
};

static const struct output_list_spec org_list_spec = {
    .columns = org_columns,
    .n_columns = sizeof(org_columns) / sizeof(org_columns[0]),
    .empty = "No organisations.",
    .blank = org_blank,
};

static const struct rpc_lister org_lister = {
    .expect = TULAY__V1__RESPONSE__BODY_ORGANISATIONS,
    .noun = "organisations",
    .page = org_page,
    .spec = &org_list_spec,
};

int org_list(struct cli *cli, int argc, char **argv)
{
	const char *country = NULL;
	uint32_t limit = 0;
	bool all = false;
	const struct args_option options[] = {
	    ARGS_OPT("--country", ARGS_COUNTRY, &country, "CC",
		     "only organisations with their head office in this country"),
	    ARGS_PAGE_LIMIT(&limit),
	    ARGS_ALL_PAGES(&all),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "org list",
	    .description = "Lists the organisations registered in tulay, by acronym.",
	    .options = options,
	    .example = "  tulay org list --country MY\n  tulay org list --all --format csv",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	Tulay__V1__ListOrganisations query = TULAY__V1__LIST_ORGANISATIONS__INIT;
	query.country = (char *)(country != NULL ? country : "");
	query.limit = limit;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_LIST_ORGANISATIONS;
	req.list_organisations = &query;

	return rpc_list(cli, &org_lister, &req, &query.page_token, all);
}

/* --- one organisation: its offices and its place in the networks -------------------- */

static struct output_record *office_record(const Tulay__V1__Office *o)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
	output_add_int(rec, "id", NULL, o->id);
	output_add_text(rec, "organisation", "Organisation", o->organisation);
	output_add_text(rec, "name", "Name", o->name);
	output_add_text(rec, "city", "City", o->city);
	output_add_country(rec, "country", "Country", o->country);
	return rec;
}

/* "TF-AMW/ana.reyes 2026-12-04" for the table format: who acted for which organisation,
 * and on which day (the username only when the server shows it, the day only when it
 * was recorded); "" when nobody did. */
static void actor_text(char *buf, size_t size, const char *org, const char *user, int64_t at)
{
	char day[16] = "";
	time_t t = (time_t)at;
	struct tm tm;
	if (at > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(day, sizeof(day), " %Y-%m-%d", &tm);
	if (org == NULL || org[0] == '\0')
		snprintf(buf, size, "%s", "");
	else
		snprintf(buf, size, "%s%s%s%s", org, user != NULL && user[0] != '\0' ? "/" : "",
			 user != NULL ? user : "", day);
}

struct output_record *membership_record(const Tulay__V1__Membership *m)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
	char who[160];
	output_add_int(rec, "proposal_id", "Proposal", m->proposal_id);
	output_add_text(rec, "network", "Network", m->network);
	output_add_text(rec, "member", "Member", m->member);
	output_add_text(rec, "role", "Role", vocab_word(&vocab_membership_roles, m->role));
	output_add_text(rec, "since", "Since", m->since);
	output_add_text(rec, "until", "Until", m->until);
	output_add_bool(rec, "shares_aggregates", "Shares aggregates", m->shares_aggregates);
	output_add_text(rec, "state", "State", vocab_word(&vocab_membership_states, m->state));
	output_add_int(rec, "version", "Version", m->version);
	actor_text(who, sizeof(who), m->proposed_by, m->proposed_by_user, m->proposed_at);
	output_add_human(rec, "proposed", "Proposed by", "%s", who);
	actor_text(who, sizeof(who), m->decided_by, m->decided_by_user, m->decided_at);
	output_add_human(rec, "decided", "Decided by", "%s",
			 who[0] != '\0' ||
				 m->state != TULAY__V1__MEMBERSHIP_STATE__MEMBERSHIP_STATE_ACCEPTED
			     ? who
			     : "(made before consent was recorded)");
	actor_text(who, sizeof(who), m->ended_by, m->ended_by_user, m->ended_at);
	output_add_human(rec, "ended", "Ended by", "%s", who);
	output_add_text(rec, "proposed_by", NULL, m->proposed_by);
	output_add_text(rec, "proposed_by_user", NULL, m->proposed_by_user);
	output_add_time(rec, "proposed_at", NULL, m->proposed_at);
	output_add_text(rec, "decided_by", NULL, m->decided_by);
	output_add_text(rec, "decided_by_user", NULL, m->decided_by_user);
	output_add_time(rec, "decided_at", NULL, m->decided_at);
	output_add_text(rec, "ended_by", NULL, m->ended_by);
	output_add_text(rec, "ended_by_user", NULL, m->ended_by_user);
	output_add_time(rec, "ended_at", NULL, m->ended_at);
	return rec;
}

static struct output_record *link_record(const Tulay__V1__NetworkLink *l)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
	output_add_text(rec, "acronym", "Acronym", l->acronym);
	output_add_text(rec, "name", "Name", l->name);
	output_add_int(rec, "depth", "Depth", l->depth);
	output_add_text(rec, "via", "Via", l->via);
	return rec;
}

/* The sections of `org show` are never printed as CSV (the organisation alone is), so
 * their specs need no blank record. */
static const struct output_column office_columns[] = {
    {"name", "NAME", false},
    {"city", "CITY", false},
    {"country", "COUNTRY", false},
};

static const struct output_list_spec office_list_spec = {
    .columns = office_columns,
    .n_columns = sizeof(office_columns) / sizeof(office_columns[0]),
    .empty = "No field offices.",
};

static const struct output_column member_columns[] = {
    {"member", "MEMBER", false},       {"role", "ROLE", false},
    {"since", "SINCE", false},         {"shares_aggregates", "SHARES AGGREGATES", false},
    {"version", "VERSION", true},      {"proposed", "PROPOSED BY", false},
    {"decided", "ACCEPTED BY", false},
};

static const struct output_list_spec member_list_spec = {
    .columns = member_columns,
    .n_columns = sizeof(member_columns) / sizeof(member_columns[0]),
    .empty = "No members.",
};

static const struct output_column member_of_columns[] = {
    {"network", "NETWORK", false},     {"role", "ROLE", false},
    {"since", "SINCE", false},         {"shares_aggregates", "SHARES AGGREGATES", false},
    {"version", "VERSION", true},      {"proposed", "PROPOSED BY", false},
    {"decided", "ACCEPTED BY", false},
};

static const struct output_list_spec member_of_list_spec = {
    .columns = member_of_columns,
    .n_columns = sizeof(member_of_columns) / sizeof(member_of_columns[0]),
    .empty = "A member of no network.",
};

static const struct output_column proposal_columns[] = {
    {"proposal_id", "PROPOSAL", true},  {"network", "NETWORK", false},
    {"member", "MEMBER", false},        {"role", "ROLE", false},
    {"since", "SINCE", false},          {"shares_aggregates", "SHARES AGGREGATES", false},
    {"proposed", "PROPOSED BY", false},
};

struct output_record *membership_blank(void)
{
	Tulay__V1__Membership m = TULAY__V1__MEMBERSHIP__INIT;
	return membership_record(&m);
}

static const struct output_list_spec proposal_list_spec = {
    .columns = proposal_columns,
    .n_columns = sizeof(proposal_columns) / sizeof(proposal_columns[0]),
    .empty = "No open proposals.",
    .blank = membership_blank,
};

static const struct output_column past_columns[] = {
    {"network", "NETWORK", false},
    {"member", "MEMBER", false},
    {"role", "ROLE", false},
    {"state", "STATE", false},
    {"since", "SINCE", false},
    {"until", "UNTIL", false},
    {"proposed", "PROPOSED BY", false},
    {"decided", "DECIDED BY", false},
    {"ended", "ENDED BY", false},
};

static const struct output_list_spec past_list_spec = {
    .columns = past_columns,
    .n_columns = sizeof(past_columns) / sizeof(past_columns[0]),
    .empty = "None.",
    .blank = membership_blank,
};

static const struct output_column link_columns[] = {
    {"acronym", "ACRONYM", false},
    {"depth", "DEPTH", true},
    {"via", "VIA", false},
    {"name", "NAME", false},
};

static const struct output_list_spec network_list_spec = {
    .columns = link_columns,
    .n_columns = sizeof(link_columns) / sizeof(link_columns[0]),
    .empty = "In no network.",
};

static const struct output_list_spec all_members_list_spec = {
    .columns = link_columns,
    .n_columns = sizeof(link_columns) / sizeof(link_columns[0]),
    .empty = "No members, at any level.",
};

/* Asks for the organisation `acronym` on `rpc`. Returns CLI_EXIT_OK with the Response
 * (body organisation_detail, its organisation present) in *out for the caller to free,
 * or the exit code after saying what failed. */
int org_detail(struct rpc *rpc, const char *acronym, Tulay__V1__Response **out)
{
	Tulay__V1__GetOrganisation get = TULAY__V1__GET_ORGANISATION__INIT;
	get.acronym = (char *)acronym;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_GET_ORGANISATION;
	req.get_organisation = &get;
	int rc = rpc_call(rpc, &req, TULAY__V1__RESPONSE__BODY_ORGANISATION_DETAIL, out);
	if (rc == CLI_EXIT_OK && (*out)->organisation_detail->organisation == NULL) {
		cli_error(rpc->cli, "the server sent an organisation without its record");
		tulay_response_free(*out);
		*out = NULL;
		rc = CLI_EXIT_UNREACHABLE;
	}
	return rc;
}

/* org_detail as an rpc_getter: an organisation is named by its acronym alone. */
static int org_get(struct rpc *rpc, const char *acronym, const char *org, Tulay__V1__Response **out)
{
	(void)org;
	return org_detail(rpc, acronym, out);
}

static int org_show_detail(const struct cli *cli, const Tulay__V1__Response *resp)
{
	const Tulay__V1__OrganisationDetail *d = resp->organisation_detail;
	struct output_section sections[] = {
	    {.key = "offices", .title = "Offices", .spec = &office_list_spec},
	    {.key = "members", .title = "Members", .spec = &member_list_spec},
	    {.key = "member_of", .title = "Member of", .spec = &member_of_list_spec},
	    {.key = "networks", .title = "Networks (all levels)", .spec = &network_list_spec},
	    {.key = "all_members",
	     .title = "All members (all levels)",
	     .spec = &all_members_list_spec},
	    {.key = "proposals",
	     .title = "Open proposals (seen by both sides only)",
	     .spec = &proposal_list_spec},
	    {.key = "past", .title = "Past memberships and proposals", .spec = &past_list_spec},
	};
	for (size_t i = 0; i < d->n_offices; i++)
		output_list_add(&sections[0].list, office_record(d->offices[i]));
	for (size_t i = 0; i < d->n_members; i++)
		output_list_add(&sections[1].list, membership_record(d->members[i]));
	for (size_t i = 0; i < d->n_member_of; i++)
		output_list_add(&sections[2].list, membership_record(d->member_of[i]));
	for (size_t i = 0; i < d->n_networks; i++)
		output_list_add(&sections[3].list, link_record(d->networks[i]));
	for (size_t i = 0; i < d->n_all_members; i++)
		output_list_add(&sections[4].list, link_record(d->all_members[i]));
	for (size_t i = 0; i < d->n_proposals; i++)
		output_list_add(&sections[5].list, membership_record(d->proposals[i]));
	for (size_t i = 0; i < d->n_past; i++)
		output_list_add(&sections[6].list, membership_record(d->past[i]));
	return output_show_sections(cli, org_record(d->organisation), sections,
				    sizeof(sections) / sizeof(sections[0]));
}

int org_show(struct cli *cli, int argc, char **argv)
{
	const char *acronym = NULL;
	const struct args_option options[] = {{0}};
	const struct args_command cmd = {
	    .name = "org show",
	    .description =
		"Shows an organisation: its record, its field offices, its current direct\n"
		"members and the networks it is directly a member of, and then, through\n"
		"networks of networks, every network it belongs to and every organisation\n"
		"below it, with how many steps away (depth) and through whom (via).\n"
		"Each membership says who proposed it and who accepted it for the other\n"
		"side. Users of the organisation (and of the other side) also see the open\n"
		"proposals of memberships it is part of, and the past ones: memberships\n"
		"ended, proposals declined or withdrawn, with who did what and when.",
	    .options = options,
	    .operand = "ACRONYM",
	    .operand_help = "the organisation's acronym, e.g. TF-AMW",
	    .operand_value = &acronym,
	    .notes =
		"With --format json, one object: the organisation's fields and the arrays\n"
		"offices, members, member_of, networks, all_members, proposals and past. With\n"
		"--format csv, the organisation's record only.",
	    .example = "  tulay org show TF-AMW\n  tulay org show MFA --format json",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	return rpc_show(cli, org_get, acronym, NULL, org_show_detail);
}

/* --- field offices ------------------------------------------------------------------- */

int org_office_add(struct cli *cli, int argc, char **argv)
{
	const char *name = NULL, *city = NULL, *country = NULL, *org = NULL;
	struct args_key key = {0};
	const struct args_option options[] = {
	    ARGS_OPT("--name", ARGS_TEXT, &name, "NAME",
		     "the office's name, 1-200 characters, unique within the organisation",
		     .required = true),
	    ARGS_OPT("--city", ARGS_TEXT, &city, "CITY", "the city it is in, 1-100 characters",
		     .required = true),
	    ARGS_OPT("--country", ARGS_COUNTRY, &country, "CC",
		     "its country, ISO 3166-1 alpha-2 (e.g. MY)", .required = true),
	    ARGS_OPT("--org", ARGS_ACRONYM, &org, "ACRONYM",
		     "the organisation whose office it is (default: your own)"),
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = "org office add",
	    .description =
		"Adds a field office of an organisation, in a city of a country of origin\n"
		"or of destination. Admins, and the organisation's organisation admins.\n"
		"Prints the office.",
	    .options = options,
	    .example = "  tulay org office add --name \"Johor Bahru field office\" \\\n"
		       "      --city \"Johor Bahru\" --country MY --org MYNGO",
	};
	int rc;
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
		return rc;

	Tulay__V1__AddOffice add = TULAY__V1__ADD_OFFICE__INIT;
	add.idempotency_key.data = key.bytes;
	add.idempotency_key.len = sizeof(key.bytes);
	add.organisation = (char *)(org != NULL ? org : "");
	add.name = (char *)name;
	add.city = (char *)city;
	add.country = (char *)country;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_ADD_OFFICE;
	req.add_office = &add;

	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY_OFFICE, key.bytes,
		      "The office may or may not have been added", &resp);
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "Added office %s of %s", resp->office->name,
			       resp->office->organisation);
		rc = output_show(cli, office_record(resp->office));
	}
	tulay_response_free(resp);
	return rc;
}
