#include "cli_org.h"

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
