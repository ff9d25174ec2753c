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
	    {
		.name = "--acronym",
		.type = ARGS_ACRONYM,
		.target = &acronym,
		.metavar = "ACRONYM",
		.help = "short name, unique: 2-20 of A-Z 0-9 - _ (e.g. MFA, TF-AMW)",
		.required = true,
	    },
	    {
		.name = "--name",
		.type = ARGS_TEXT,
		.target = &name,
		.metavar = "NAME",
		.help = "full name, 1-200 characters",
		.required = true,
	    },
	    {
		.name = "--kind",
		.type = ARGS_CHOICE,
		.target = &kind,
		.metavar = "KIND",
		.help = "what kind of organisation it is",
		.required = true,
		.choices = &vocab_org_kinds,
	    },
	    {
		.name = "--country",
		.type = ARGS_COUNTRY,
		.target = &country,
		.metavar = "CC",
		.help = "country of the head office, ISO 3166-1 alpha-2 (e.g. PH)",
		.required = true,
	    },
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
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	rc = args_key_finish(cli, &key);
	if (rc != CLI_EXIT_OK)
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

	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK) {
		rpc.idempotency_key = key.bytes;
		rpc.uncertain = "The organisation may or may not have been added";
		rc = rpc_call(&rpc, &req, TULAY__V1__RESPONSE__BODY_ORGANISATION, &resp);
	}
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "Added organisation %s", resp->organisation->acronym);
		rc = output_show(cli, org_record(resp->organisation));
	}
	tulay_response_free(resp);
	rpc_end(&rpc);
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
	    {
		.name = "--country",
		.type = ARGS_COUNTRY,
		.target = &country,
		.metavar = "CC",
		.help = "only organisations with their head office in this country",
	    },
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

static struct output_record *membership_record(const Tulay__V1__Membership *m)
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

static struct output_record *membership_blank(void)
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

static const struct output_column proposal_direction_columns[] = {
    {"proposal_id", "PROPOSAL", true},
    {"direction", "DIRECTION", false},
    {"network", "NETWORK", false},
    {"member", "MEMBER", false},
    {"role", "ROLE", false},
    {"since", "SINCE", false},
    {"shares_aggregates", "SHARES AGGREGATES", false},
    {"proposed", "PROPOSED BY", false},
};

static struct output_record *proposal_blank(void)
{
	struct output_record *rec = membership_blank();
	if (rec != NULL)
		output_add_text(rec, "direction", "Direction", "");
	return rec;
}

static const struct output_list_spec proposal_direction_list_spec = {
    .columns = proposal_direction_columns,
    .n_columns = sizeof(proposal_direction_columns) / sizeof(proposal_direction_columns[0]),
    .empty = "No open proposals.",
    .blank = proposal_blank,
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
static int org_detail(struct rpc *rpc, const char *acronym, Tulay__V1__Response **out)
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

static int org_show_detail(const struct cli *cli, const Tulay__V1__OrganisationDetail *d)
{
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

	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK)
		rc = org_detail(&rpc, acronym, &resp);
	if (rc == CLI_EXIT_OK)
		rc = org_show_detail(cli, resp->organisation_detail);
	tulay_response_free(resp);
	rpc_end(&rpc);
	return rc;
}

/* --- memberships ---------------------------------------------------------------------- */

/* The --network or --member option of the membership commands. */
#define MEMBERSHIP_SIDE_OPTION(flag, where, what)                                                  \
	{                                                                                          \
		.name = (flag), .type = ARGS_ACRONYM, .target = (where), .metavar = "ACRONYM",     \
		.help = (what), .required = true,                                                  \
	}
#define NETWORK_HELP "the network, e.g. TF-AMW"
#define MEMBER_HELP  "the member organisation, itself possibly a network (e.g. MYNGO)"

/* What `org member add` collects, for its check. */
struct membership_draft {
	const char *network;
	const char *member;
};

static void membership_add_check(struct cli *cli, void *ctx)
{
	const struct membership_draft *d = ctx;
	if (d->network != NULL && d->member != NULL && strcmp(d->network, d->member) == 0)
		cli_problem(cli, "--member", "%s cannot be a member of itself", d->member);
}

/* The side that has to accept a proposal `m` made: the one its proposer is not of. */
static const char *membership_other_side(const Tulay__V1__Membership *m)
{
	return strcmp(m->proposed_by, m->network) == 0 ? m->member : m->network;
}

static int member_propose(struct cli *cli, int argc, char **argv, const char *name)
{
	struct membership_draft d = {0};
	const char *since = NULL;
	int role = 0;
	bool shares_aggregates = false;
	struct args_key key = {0};
	const struct args_option options[] = {
	    MEMBERSHIP_SIDE_OPTION("--network", &d.network, NETWORK_HELP),
	    MEMBERSHIP_SIDE_OPTION("--member", &d.member, MEMBER_HELP),
	    {
		.name = "--role",
		.type = ARGS_CHOICE,
		.target = &role,
		.metavar = "ROLE",
		.help = "how the member belongs to the network",
		.required = true,
		.choices = &vocab_membership_roles,
	    },
	    {
		.name = "--since",
		.type = ARGS_DATE,
		.target = &since,
		.metavar = "YYYY-MM-DD",
		.help = "the first day of the membership",
		.required = true,
	    },
	    {
		.name = "--shares-aggregates",
		.type = ARGS_FLAG,
		.target = &shares_aggregates,
		.help = "count the member's aggregates in the network's reports (default: not)",
	    },
	    ARGS_IDEMPOTENCY_KEY(&key),
	    {0},
	};
	const struct args_command cmd = {
	    .name = name,
	    .description =
		"Proposes that an organisation become a member of a network. It takes effect\n"
		"only when the other side accepts it (tulay org member accept): the member's\n"
		"organisation admin when the network proposes, the network's when the member\n"
		"asks to join. An admin's proposal takes effect at once. A network can itself\n"
		"be a member of another (networks of networks), but never of itself, directly\n"
		"or through others: the server refuses such a membership. Admins, and the\n"
		"organisation admins of either side. Prints the membership and its state.",
	    .options = options,
	    .notes = "Roles: a member belongs to the network; a focal point speaks for it in\n"
		     "one country (the TF-AMW country focal points); a partner works with it\n"
		     "without belonging; the secretariat runs it.\n"
		     "With --shares-aggregates the member's case counts and amounts appear in the\n"
		     "network's reports, which the network's coordinators read: that is why the\n"
		     "member must agree. 'org member add' is the same command.",
	    .example = "  tulay org member propose --network TF-AMW --member MYNGO \\\n"
		       "      --role focal-point --since 2024-07-01 --shares-aggregates\n"
		       "  tulay org member propose --network MFA --member TF-AMW --role member \\\n"
		       "      --since 2019-01-01",
	    .check = membership_add_check,
	    .check_ctx = &d,
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	rc = args_key_finish(cli, &key);
	if (rc != CLI_EXIT_OK)
		return rc;

	Tulay__V1__AddMembership add = TULAY__V1__ADD_MEMBERSHIP__INIT;
	add.idempotency_key.data = key.bytes;
	add.idempotency_key.len = sizeof(key.bytes);
	add.network = (char *)d.network;
	add.member = (char *)d.member;
	add.role = (Tulay__V1__MembershipRole)role;
	add.since = (char *)since;
	add.shares_aggregates = shares_aggregates;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_ADD_MEMBERSHIP;
	req.add_membership = &add;

	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK) {
		rpc.idempotency_key = key.bytes;
		rpc.uncertain = "The membership may or may not have been proposed";
		rc = rpc_call(&rpc, &req, TULAY__V1__RESPONSE__BODY_MEMBERSHIP, &resp);
	}
	if (rc == CLI_EXIT_OK) {
		const Tulay__V1__Membership *m = resp->membership;
		if (m->state == TULAY__V1__MEMBERSHIP_STATE__MEMBERSHIP_STATE_PROPOSED)
			output_heading(cli,
				       "Proposed %s as %s of %s. It takes effect when %s accepts "
				       "it:\n  tulay org member accept --network %s --member %s",
				       m->member, vocab_word(&vocab_membership_roles, m->role),
				       m->network, membership_other_side(m), m->network, m->member);
		else
			output_heading(cli, "Added %s to %s as %s", m->member, m->network,
				       vocab_word(&vocab_membership_roles, m->role));
		rc = output_show(cli, membership_record(m));
	}
	tulay_response_free(resp);
	rpc_end(&rpc);
	return rc;
}

int org_member_propose(struct cli *cli, int argc, char **argv)
{
	return member_propose(cli, argc, argv, "org member propose");
}

int org_member_add(struct cli *cli, int argc, char **argv)
{
	return member_propose(cli, argc, argv, "org member add");
}

/* The open proposal of `member` in `network` as the server shows it now, for the
 * decision's proposal_id. Returns CLI_EXIT_OK with *proposal set, or the exit code after
 * saying why. */
static int membership_open_proposal(struct rpc *rpc, const char *network, const char *member,
				    int64_t *proposal)
{
	Tulay__V1__Response *resp = NULL;
	int rc = org_detail(rpc, network, &resp);
	if (rc != CLI_EXIT_OK)
		return rc;
	const Tulay__V1__OrganisationDetail *d = resp->organisation_detail;
	*proposal = 0;
	for (size_t i = 0; i < d->n_proposals; i++) {
		if (strcasecmp(d->proposals[i]->network, network) == 0 &&
		    strcasecmp(d->proposals[i]->member, member) == 0)
			*proposal = d->proposals[i]->proposal_id;
	}
	tulay_response_free(resp);
	if (*proposal == 0) {
		cli_error(rpc->cli,
			  "there is no open proposal of %s as a member of %s that you can see "
			  "(tulay org member proposals)",
			  member, network);
		return CLI_EXIT_REFUSED;
	}
	return CLI_EXIT_OK;
}

/* What `org member accept` and `decline` differ in. */
struct member_decision {
	const char *name;
	const char *description;
	const char *example;
	bool accept;
};

static int member_decide(struct cli *cli, int argc, char **argv, const struct member_decision *how)
{
	const char *network = NULL, *member = NULL;
	uint32_t proposal = 0;
	const struct args_option options[] = {
	    MEMBERSHIP_SIDE_OPTION("--network", &network, NETWORK_HELP),
	    MEMBERSHIP_SIDE_OPTION("--member", &member, MEMBER_HELP),
	    {
		.name = "--proposal",
		.type = ARGS_COUNT,
		.target = &proposal,
		.metavar = "ID",
		.help = "refuse unless the open proposal is still ID (tulay org member proposals)",
		.min = 1,
		.max = UINT32_MAX,
	    },
	    {0},
	};
	const struct args_command cmd = {
	    .name = how->name,
	    .description = how->description,
	    .options = options,
	    .notes = "Without --proposal, the proposal open just before is used: give it when\n"
		     "you decided on the strength of a listing, so that a proposal withdrawn and\n"
		     "made again with other terms is not decided unseen.",
	    .example = how->example,
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	int64_t id = proposal;
	rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK && id == 0)
		rc = membership_open_proposal(&rpc, network, member, &id);
	if (rc == CLI_EXIT_OK) {
		Tulay__V1__AcceptMembership accept = TULAY__V1__ACCEPT_MEMBERSHIP__INIT;
		Tulay__V1__DeclineMembership decline = TULAY__V1__DECLINE_MEMBERSHIP__INIT;
		Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
		if (how->accept) {
			accept.network = (char *)network;
			accept.member = (char *)member;
			accept.proposal_id = id;
			req.body_case = TULAY__V1__REQUEST__BODY_ACCEPT_MEMBERSHIP;
			req.accept_membership = &accept;
		} else {
			decline.network = (char *)network;
			decline.member = (char *)member;
			decline.proposal_id = id;
			req.body_case = TULAY__V1__REQUEST__BODY_DECLINE_MEMBERSHIP;
			req.decline_membership = &decline;
		}
		rc = rpc_call(&rpc, &req, TULAY__V1__RESPONSE__BODY_MEMBERSHIP, &resp);
	}
	if (rc == CLI_EXIT_OK) {
		const Tulay__V1__Membership *m = resp->membership;
		output_heading(cli, "%s: %s as %s of %s (proposal %lld)",
			       vocab_word(&vocab_membership_states, m->state), m->member,
			       vocab_word(&vocab_membership_roles, m->role), m->network,
			       (long long)m->proposal_id);
		rc = output_show(cli, membership_record(m));
	}
	tulay_response_free(resp);
	rpc_end(&rpc);
	return rc;
}

int org_member_accept(struct cli *cli, int argc, char **argv)
{
	static const struct member_decision accept = {
	    .name = "org member accept",
	    .description =
		"Accepts the open proposal of an organisation as a member of a network, for\n"
		"the side that did not propose it: from then on the membership counts (with\n"
		"--shares-aggregates, the member's figures appear in the network's reports).\n"
		"Organisation admins of that side, and admins. Prints the membership.",
	    .example = "  tulay org member proposals\n"
		       "  tulay org member accept --network TF-AMW --member MYNGO --proposal 7",
	    .accept = true,
	};
	return member_decide(cli, argc, argv, &accept);
}

int org_member_decline(struct cli *cli, int argc, char **argv)
{
	static const struct member_decision decline = {
	    .name = "org member decline",
	    .description =
		"Declines the open proposal of an organisation as a member of a network (the\n"
		"other side), or withdraws it (the side that proposed it). It stays on\n"
		"record as declined or withdrawn; either side can propose again later.\n"
		"Organisation admins of either side, and admins. Prints the proposal.",
	    .example = "  tulay org member decline --network TF-AMW --member MYNGO",
	    .accept = false,
	};
	return member_decide(cli, argc, argv, &decline);
}

int org_member_proposals(struct cli *cli, int argc, char **argv)
{
	const char *acronym = NULL;
	const struct args_option options[] = {{0}};
	const struct args_command cmd = {
	    .name = "org member proposals",
	    .description =
		"Lists the open proposals of memberships an organisation is part of, as\n"
		"network or as member: incoming ones (the other side proposed them: accept or\n"
		"decline them) and outgoing ones (waiting for the other side). Users of the\n"
		"organisation and of the other side see them, and admins.",
	    .options = options,
	    .operand = "ACRONYM",
	    .operand_help = "the organisation (default: your own)",
	    .operand_value = &acronym,
	    .operand_optional = true,
	    .example = "  tulay org member proposals\n  tulay org member proposals TF-AMW",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	struct rpc rpc;
	Tulay__V1__Response *who = NULL, *resp = NULL;
	rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK && acronym == NULL) {
		rc = rpc_authenticate(&rpc, &who);
		if (rc == CLI_EXIT_OK)
			acronym = who->session->organisation;
	}
	if (rc == CLI_EXIT_OK)
		rc = org_detail(&rpc, acronym, &resp);
	if (rc == CLI_EXIT_OK) {
		const Tulay__V1__OrganisationDetail *d = resp->organisation_detail;
		struct output_list list = {0};
		for (size_t i = 0; i < d->n_proposals; i++) {
			struct output_record *rec = membership_record(d->proposals[i]);
			bool incoming = strcasecmp(d->proposals[i]->proposed_by, acronym) != 0;
			output_add_text(rec, "direction", "Direction",
					incoming ? "incoming" : "outgoing");
			output_list_add(&list, rec);
		}
		rc = output_show_list(cli, &list, &proposal_direction_list_spec);
	}
	tulay_response_free(resp);
	tulay_response_free(who);
	rpc_end(&rpc);
	return rc;
}

/* The version of the current membership of `member` in `network` as the server shows it
 * now, for --expected-version's default. Returns CLI_EXIT_OK with *version set, or the
 * exit code after saying why. */
static int membership_current_version(struct rpc *rpc, const char *network, const char *member,
				      int64_t *version)
{
	Tulay__V1__Response *resp = NULL;
	int rc = org_detail(rpc, member, &resp);
	if (rc != CLI_EXIT_OK)
		return rc;
	const Tulay__V1__OrganisationDetail *d = resp->organisation_detail;
	*version = 0;
	for (size_t i = 0; i < d->n_member_of; i++) {
		if (strcasecmp(d->member_of[i]->network, network) == 0)
			*version = d->member_of[i]->version;
	}
	tulay_response_free(resp);
	if (*version == 0) {
		cli_error(rpc->cli, "%s is not a member of %s now: there is no membership to end",
			  member, network);
		return CLI_EXIT_REFUSED;
	}
	return CLI_EXIT_OK;
}

int org_member_end(struct cli *cli, int argc, char **argv)
{
	const char *network = NULL, *member = NULL, *until = NULL;
	uint32_t expected = 0;
	const struct args_option options[] = {
	    MEMBERSHIP_SIDE_OPTION("--network", &network, NETWORK_HELP),
	    MEMBERSHIP_SIDE_OPTION("--member", &member, MEMBER_HELP),
	    {
		.name = "--until",
		.type = ARGS_DATE,
		.target = &until,
		.metavar = "YYYY-MM-DD",
		.help = "the last day of the membership, not before its first (default: today, "
			"so it stops counting at once)",
	    },
	    {
		.name = "--expected-version",
		.type = ARGS_COUNT,
		.target = &expected,
		.metavar = "N",
		.help = "refuse if it changed since you saw version N (tulay org show)",
		.min = 1,
		.max = UINT32_MAX,
	    },
	    {0},
	};
	const struct args_command cmd = {
	    .name = "org member end",
	    .description =
		"Ends a current membership of an organisation in a network, today or on a\n"
		"given day. From that day the member's figures no longer count in the\n"
		"network's reports. Either side may end it alone: the membership stays on\n"
		"record with its dates and who ended it. Admins, and the organisation admins\n"
		"of either side. Prints the ended membership.",
	    .options = options,
	    .notes = "Without --expected-version, the version the server shows just before is\n"
		     "used (from tulay org show MEMBER): give it when you decided on the\n"
		     "strength of a listing.",
	    .example = "  tulay org member end --network TF-AMW --member MYNGO\n"
		       "  tulay org member end --network TF-AMW --member MYNGO --until 2025-12-31\n"
		       "  tulay org member end --network MFA --member WARBE --until 2026-03-31 \\\n"
		       "      --expected-version 2",
	};
	int rc;
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;

	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	int64_t version = expected;
	rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK && version == 0)
		rc = membership_current_version(&rpc, network, member, &version);
	if (rc == CLI_EXIT_OK) {
		Tulay__V1__EndMembership end = TULAY__V1__END_MEMBERSHIP__INIT;
		end.network = (char *)network;
		end.member = (char *)member;
		end.until = (char *)(until != NULL ? until : "");
		end.expected_version = version;
		Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
		req.body_case = TULAY__V1__REQUEST__BODY_END_MEMBERSHIP;
		req.end_membership = &end;
		rc = rpc_call(&rpc, &req, TULAY__V1__RESPONSE__BODY_MEMBERSHIP, &resp);
	}
	if (rc == CLI_EXIT_OK) {
		const Tulay__V1__Membership *m = resp->membership;
		output_heading(cli, "Ended the membership of %s in %s on %s", m->member, m->network,
			       m->until);
		rc = output_show(cli, membership_record(m));
	}
	tulay_response_free(resp);
	rpc_end(&rpc);
	return rc;
}

/* --- field offices ------------------------------------------------------------------- */

int org_office_add(struct cli *cli, int argc, char **argv)
{
	const char *name = NULL, *city = NULL, *country = NULL, *org = NULL;
	struct args_key key = {0};
	const struct args_option options[] = {
	    {
		.name = "--name",
		.type = ARGS_TEXT,
		.target = &name,
		.metavar = "NAME",
		.help = "the office's name, 1-200 characters, unique within the organisation",
		.required = true,
	    },
	    {
		.name = "--city",
		.type = ARGS_TEXT,
		.target = &city,
		.metavar = "CITY",
		.help = "the city it is in, 1-100 characters",
		.required = true,
	    },
	    {
		.name = "--country",
		.type = ARGS_COUNTRY,
		.target = &country,
		.metavar = "CC",
		.help = "its country, ISO 3166-1 alpha-2 (e.g. MY)",
		.required = true,
	    },
	    {
		.name = "--org",
		.type = ARGS_ACRONYM,
		.target = &org,
		.metavar = "ACRONYM",
		.help = "the organisation whose office it is (default: your own)",
	    },
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
	if (!args_parse(cli, &cmd, argc, argv, &rc))
		return rc;
	rc = args_key_finish(cli, &key);
	if (rc != CLI_EXIT_OK)
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

	struct rpc rpc;
	Tulay__V1__Response *resp = NULL;
	rc = rpc_begin(cli, &rpc);
	if (rc == CLI_EXIT_OK) {
		rpc.idempotency_key = key.bytes;
		rpc.uncertain = "The office may or may not have been added";
		rc = rpc_call(&rpc, &req, TULAY__V1__RESPONSE__BODY_OFFICE, &resp);
	}
	if (rc == CLI_EXIT_OK) {
		output_heading(cli, "Added office %s of %s", resp->office->name,
			       resp->office->organisation);
		rc = output_show(cli, office_record(resp->office));
	}
	tulay_response_free(resp);
	rpc_end(&rpc);
	return rc;
}
