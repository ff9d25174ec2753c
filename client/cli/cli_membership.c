/* The membership commands of the tulay CLI: org member propose, add, accept, decline,
 * proposals and end. A membership joins an organisation to a network on both sides'
 * consent: one proposes, the other accepts (an admin may record both at once). */
#include "cli_org.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli_args.h"
#include "cli_output.h"
#include "cli_rpc.h"
#include "cli_vocab.h"

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

/* --- memberships ---------------------------------------------------------------------- */

/* The --network or --member option of the membership commands. */
#define MEMBERSHIP_SIDE_OPTION(flag, where, what)                                                  \
	{                                                                                          \
		.name = (flag), .type = ARGS_ACRONYM, .target = (where), .metavar = "ACRONYM",     \
		.help = (what), .required = true,                                                  \
	}
#define NETWORK_HELP "the network, e.g. TF-AMW"
#define MEMBER_HELP  "the member organisation, itself possibly a network (e.g. MYNGO)"

/* The two sides of a membership: what `org member add` collects, for its check, and
 * what the decisions on one name. */
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
	    ARGS_OPT("--role", ARGS_CHOICE, &role, "ROLE", "how the member belongs to the network",
		     .required = true, .choices = &vocab_membership_roles),
	    ARGS_OPT("--since", ARGS_DATE, &since, "YYYY-MM-DD", "the first day of the membership",
		     .required = true),
	    ARGS_OPT("--shares-aggregates", ARGS_FLAG, &shares_aggregates, NULL,
		     "count the member's aggregates in the network's reports (default: not)"),
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
	if (!args_parse_write(cli, &cmd, argc, argv, &key, &rc))
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

	Tulay__V1__Response *resp = NULL;
	rc = rpc_once(cli, &req, TULAY__V1__RESPONSE__BODY_MEMBERSHIP, key.bytes,
		      "The membership may or may not have been proposed", &resp);
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

/* The open proposal of the membership `ctx` (a membership_draft) as the server shows it
 * now, for the decision's proposal_id (rpc_current_fn). */
static int membership_open_proposal(struct rpc *rpc, const void *ctx, int64_t *proposal)
{
	const struct membership_draft *side = ctx;
	const char *network = side->network, *member = side->member;
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
	struct membership_draft side = {0};
	uint32_t proposal = 0;
	const struct args_option options[] = {
	    MEMBERSHIP_SIDE_OPTION("--network", &side.network, NETWORK_HELP),
	    MEMBERSHIP_SIDE_OPTION("--member", &side.member, MEMBER_HELP),
	    ARGS_OPT("--proposal", ARGS_COUNT, &proposal, "ID",
		     "refuse unless the open proposal is still ID (tulay org member proposals)",
		     .min = 1, .max = UINT32_MAX),
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

	Tulay__V1__AcceptMembership accept = TULAY__V1__ACCEPT_MEMBERSHIP__INIT;
	Tulay__V1__DeclineMembership decline = TULAY__V1__DECLINE_MEMBERSHIP__INIT;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	int64_t *proposal_id;
	if (how->accept) {
		accept.network = (char *)side.network;
		accept.member = (char *)side.member;
		proposal_id = &accept.proposal_id;
		req.body_case = TULAY__V1__REQUEST__BODY_ACCEPT_MEMBERSHIP;
		req.accept_membership = &accept;
	} else {
		decline.network = (char *)side.network;
		decline.member = (char *)side.member;
		proposal_id = &decline.proposal_id;
		req.body_case = TULAY__V1__REQUEST__BODY_DECLINE_MEMBERSHIP;
		req.decline_membership = &decline;
	}
	*proposal_id = proposal;
	const struct rpc_change change = {
	    .req = &req,
	    .expect = TULAY__V1__RESPONSE__BODY_MEMBERSHIP,
	    .expected = proposal_id,
	    .current = membership_open_proposal,
	    .ctx = &side,
	};
	Tulay__V1__Response *resp = NULL;
	rc = rpc_change(cli, &change, &resp);
	if (rc == CLI_EXIT_OK) {
		const Tulay__V1__Membership *m = resp->membership;
		output_heading(cli, "%s: %s as %s of %s (proposal %lld)",
			       vocab_word(&vocab_membership_states, m->state), m->member,
			       vocab_word(&vocab_membership_roles, m->role), m->network,
			       (long long)m->proposal_id);
		rc = output_show(cli, membership_record(m));
	}
	tulay_response_free(resp);
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

/* The version of the current membership `ctx` (a membership_draft) as the server shows
 * it now, for --expected-version's default (rpc_current_fn). */
static int membership_current_version(struct rpc *rpc, const void *ctx, int64_t *version)
{
	const struct membership_draft *side = ctx;
	const char *network = side->network, *member = side->member;
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
	struct membership_draft side = {0};
	const char *until = NULL;
	uint32_t expected = 0;
	const struct args_option options[] = {
	    MEMBERSHIP_SIDE_OPTION("--network", &side.network, NETWORK_HELP),
	    MEMBERSHIP_SIDE_OPTION("--member", &side.member, MEMBER_HELP),
	    ARGS_OPT("--until", ARGS_DATE, &until, "YYYY-MM-DD",
		     "the last day of the membership, not before its first (default: today, "
		     "so it stops counting at once)"),
	    ARGS_OPT("--expected-version", ARGS_COUNT, &expected, "N",
		     "refuse if it changed since you saw version N (tulay org show)", .min = 1,
		     .max = UINT32_MAX),
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

	Tulay__V1__EndMembership end = TULAY__V1__END_MEMBERSHIP__INIT;
	end.network = (char *)side.network;
	end.member = (char *)side.member;
	end.until = (char *)(until != NULL ? until : "");
	end.expected_version = expected;
	Tulay__V1__Request req = TULAY__V1__REQUEST__INIT;
	req.body_case = TULAY__V1__REQUEST__BODY_END_MEMBERSHIP;
	req.end_membership = &end;
	const struct rpc_change change = {
	    .req = &req,
	    .expect = TULAY__V1__RESPONSE__BODY_MEMBERSHIP,
	    .expected = &end.expected_version,
	    .current = membership_current_version,
	    .ctx = &side,
	};
	Tulay__V1__Response *resp = NULL;
	rc = rpc_change(cli, &change, &resp);
	if (rc == CLI_EXIT_OK) {
		const Tulay__V1__Membership *m = resp->membership;
		output_heading(cli, "Ended the membership of %s in %s on %s", m->member, m->network,
			       m->until);
		rc = output_show(cli, membership_record(m));
	}
	tulay_response_free(resp);
	return rc;
}
