/* What the report commands (cli_report.c) hand to their renderers (cli_report_render.c):
 * the kind of report and the query as checked. Private to those two files. */
#ifndef TULAY_CLI_REPORT_RENDER_H
#define TULAY_CLI_REPORT_RENDER_H

#include "cli.h"
#include "cli_args.h"
#include "cli_vocab.h"
#include "tulay/v1/reports.pb-c.h"

/* Limits of the server (proto: GetReport): dimensions besides the period, and filters. */
#define REPORT_DIMENSIONS_MAX 4
#define REPORT_FILTERS_MAX    16
/* The most filter options of a kind. */
#define REPORT_FILTER_OPTIONS_MAX 10
/* Room for a dimension's or a filter value's protocol code: "receiving_and_sending_states". */
#define REPORT_CODE_BYTES 40
/* Room for a month, "2026-03", with space to spare. */
#define REPORT_MONTH_BYTES 16

/* What differs between the three report commands. */
struct report_kind {
	const char *name;  /* "report claims" */
	const char *noun;  /* "claims": the kind in JSON */
	const char *title; /* "Wage-theft claims": the heading of the table */
	Tulay__V1__ReportKind kind;
	const struct vocab *by;
	const struct report_filter *filters; /* cli_report.c */
	size_t n_filters;
	const struct vocab *optional; /* what --not-recorded takes */
	bool money;                   /* claims: workers and amounts; --currency and --corridor */
	const char *description;
	const char *notes;
	const char *example;
};
/* One run's options, and what report_check works out from them. */
struct report_query {
	const struct report_kind *kind;
	struct args_choices by;
	const char *from, *to, *network, *currency, *corridor;
	bool chart;
	struct args_list filters[REPORT_FILTER_OPTIONS_MAX]; /* as kind->filters */
	struct args_list not_recorded;                       /* words of kind->optional */
	/* Worked out by report_check. */
	Tulay__V1__ReportPeriod period;
	char dimensions[REPORT_DIMENSIONS_MAX][REPORT_CODE_BYTES]; /* protocol names */
	size_t n_dimensions;
	char from_month[REPORT_MONTH_BYTES], to_month[REPORT_MONTH_BYTES]; /* "" if not given */
	char corridor_origin[3], corridor_destination[3];
};

/* Prints report `r`, answered to `q`, in the CLI's format (--format): a table or, with
 * --chart, a bar chart, each with a heading and the notes under it; CSV; or JSON.
 * Returns the command's exit status. */
int report_show(const struct cli *cli, const struct report_query *q, const Tulay__V1__Report *r);

#endif
