#include "cli_timeline.h"

#include <stdbool.h>

#include "cli_vocab.h"

/* A stored code ("in_mediation", "representation_ministry") as the CLI's word, with
 * hyphens, into buf. */
static const char *code_word(const char *code, char *buf, size_t cap)
{
	size_t i = 0;
	for (; code[i] != '\0' && i + 1 < cap; i++)
		buf[i] = code[i] == '_' ? '-' : code[i];
	buf[i] = '\0';
	return buf;
}

/* A status of the event: its code when the server gave one (statuses of every kind),
 * else the claim status enum (what servers sent before there were other kinds). */
static const char *status_word(const char *code, int claim_status, char *buf, size_t cap)
{
	if (code[0] != '\0')
		return code_word(code, buf, cap);
	return vocab_optional_word(&vocab_claim_statuses, claim_status);
}

/* What an event's detail is, for the listing's label. */
static const char *detail_label(Tulay__V1__CaseEventKind kind)
{
	switch (kind) {
	case TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_STAGE_RECORDED:
		return "Stage";
	case TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_INTERVENTION:
		return "Intervention";
	case TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_EVIDENCE_LINKED:
		return "Evidence";
	default:
		return "Partner"; /* the referrals' */
	}
}

/* Events whose text is a note of what happened, rather than the reason of a move. */
static bool text_is_note(Tulay__V1__CaseEventKind kind)
{
	return kind == TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_NOTE ||
	       kind == TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_STAGE_RECORDED ||
	       kind == TULAY__V1__CASE_EVENT_KIND__CASE_EVENT_KIND_INTERVENTION;
}

struct output_record *timeline_event_record(const Tulay__V1__CaseEvent *e)
{
	struct output_record *rec = output_record_new();
	if (rec == NULL)
		return NULL;
	char from_buf[64], to_buf[64], detail[64];
	const char *from = status_word(e->from_code, e->from_status, from_buf, sizeof(from_buf));
	const char *to = status_word(e->to_code, e->to_status, to_buf, sizeof(to_buf));
	code_word(e->detail, detail, sizeof(detail));
	output_add_int(rec, "id", NULL, e->id);
	output_add_text(rec, "occurred_on", "Occurred on", e->occurred_on);
	output_add_text(rec, "kind", "Event", vocab_word(&vocab_case_event_kinds, e->kind));
	output_add_text(rec, "from_status", NULL, from);
	output_add_text(rec, "to_status", NULL, to);
	/* The table's CHANGE column: "filed → in-mediation" for a move, the first status for
	 * the opening, else the detail ("visit"); a note has none. */
	if (from[0] != '\0')
		output_add_human(rec, "change", "Change", "%s → %s", from, to);
	else if (to[0] != '\0')
		output_add_human(rec, "change", "Status", "%s", to);
	else if (detail[0] != '\0')
		output_add_human(rec, "change", NULL, "%s", detail);
	output_add_text(rec, "detail", detail[0] != '\0' ? detail_label(e->kind) : NULL, detail);
	const char *text_label = NULL;
	if (text_is_note(e->kind))
		text_label = "Note";
	else if (e->text[0] != '\0')
		text_label = "Reason";
	output_add_text(rec, "text", text_label, e->text);
	output_add_text(rec, "recorded_by", "Recorded by", e->recorded_by);
	output_add_text(rec, "recorded_by_organisation", NULL, e->recorded_by_organisation);
	output_add_time(rec, "recorded_at", "Recorded at", e->recorded_at);
	return rec;
}

/* The timeline is never printed as CSV (the case alone is), so it needs no blank. */
static const struct output_column event_columns[] = {
    {"occurred_on", "WHEN", false}, {"kind", "EVENT", false},
    {"change", "CHANGE", false},    {"text", "TEXT", false},
    {"recorded_by", "BY", false},   {"recorded_by_organisation", "ORG", false},
};

const struct output_list_spec timeline_list_spec = {
    .columns = event_columns,
    .n_columns = sizeof(event_columns) / sizeof(event_columns[0]),
    .empty = "No events.",
};

int timeline_show(const struct cli *cli, struct output_record *rec,
		  Tulay__V1__CaseEvent *const *events, size_t n)
{
	struct output_section timeline = {
	    .key = "timeline", .title = "Timeline", .spec = &timeline_list_spec};
	for (size_t i = 0; i < n; i++)
		output_list_add(&timeline.list, timeline_event_record(events[i]));
	return output_show_sections(cli, rec, &timeline, 1);
}
