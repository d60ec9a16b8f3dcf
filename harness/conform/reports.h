/* reports.h - conform's reports of a run: the line per case on the terminal, JUnit XML, JSON and TAP. */
#ifndef REPORTS_H
#define REPORTS_H

#include <stddef.h>
#include <stdio.h>

#include "case.h"

/* One reported case: a case of the table, a random sequence or the server's stop. */
struct reports_item {
	char id[96];
	const char *rule;
	enum case_level level;
	const char *description;
	struct case_result result;
	int rounds, failures; /* --repeat: rounds the case ran in (passed or failed), and failed in */
};

/* The run's tally. counted: failures that fail the run (MUST, or any with --strict); failed is
 * must_failed + should_failed. */
struct reports_counts {
	size_t passed, failed, skipped, counted, retried, must_failed, should_failed, not_reached;
};

struct reports_counts reports_count(const struct reports_item *items, size_t n, int strict);

/* Writes a case's line (PASS/FAIL/SKIP, id, rule, level, seconds) and, for a failure, the rule's text,
 * the reason and the first difference; the note too for a failure, or always with verbose. */
void reports_print_item(FILE *f, const struct reports_item *x, int strict, int verbose);

/* Writes a line per case that measured the server's resources: its growth per connection (per sender
 * for UDP). */
void reports_print_resources(FILE *f, const struct reports_item *items, size_t n);

/* Writes the summary line: passed, MUST and SHOULD failures (whether SHOULD ones count), skipped, not
 * reached, retried, and the seconds. */
void reports_print_summary(FILE *f, const struct reports_item *items, size_t n, int strict, double seconds);

/* --repeat: takes one round's item x into the run's items (*n of them; room for one more): a new id is
 * added, a known one counts the round, and keeps the worst round's result (a failure over a pass, a pass
 * over a skip or not reached; of two failures the later, whose pcap --pcap-dir kept). */
void reports_merge(struct reports_item *items, size_t *n, const struct reports_item *x);

/* --repeat: writes the flakiness table, each case's failures over the rounds it ran in. */
void reports_print_rounds(FILE *f, const struct reports_item *items, size_t n, int rounds);

/* Write the report files; each returns 0, or -1 with a reason ("--junit PATH: reason") in err. */
int reports_write_junit(const char *path, const struct reports_item *items, size_t n, int strict,
                        double seconds, char *err, size_t errlen);
int reports_write_json(const char *path, const struct reports_item *items, size_t n, int strict,
                       double seconds, const char *target, char *err, size_t errlen);

/* Writes TAP version 13 to f. Returns 0, or -1 (errno set) on a stream error. */
int reports_write_tap(FILE *f, const struct reports_item *items, size_t n, int strict);

#endif
