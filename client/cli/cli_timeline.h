/* A case's timeline as the CLI prints it, for cases of every kind: one record per event
 * (opened, status changes, stages, notes, interventions, ...) and the table they form
 * under the case's own record. */
#ifndef TULAY_CLI_TIMELINE_H
#define TULAY_CLI_TIMELINE_H

#include <stddef.h>

#include "cli.h"
#include "cli_output.h"
#include "tulay/v1/envelope.pb-c.h"

/* The record of one event, or NULL when memory runs out. Statuses and details (a stage,
 * an intervention's kind) are shown as the CLI's words: "in-mediation", "ngo-lawyer". */
struct output_record *timeline_event_record(const Tulay__V1__CaseEvent *e);

/* How a timeline prints as a section of a case's record (output_show_sections). */
extern const struct output_list_spec timeline_list_spec;

/* Prints `rec` (a case's record, NULL taken as out of memory) followed by its timeline of
 * n events (JSON: the array "timeline"; CSV: the case alone), as output_show_sections
 * does. Frees rec. Returns CLI_EXIT_OK or, after saying why, CLI_EXIT_LOCAL. */
int timeline_show(const struct cli *cli, struct output_record *rec,
		  Tulay__V1__CaseEvent *const *events, size_t n);

#endif
