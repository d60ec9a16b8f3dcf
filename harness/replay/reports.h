/* reports.h - replay's reports: the listing of --list, the line per flow and the summary on standard
 * output, JUnit XML and JSON. */
#ifndef REPORTS_H
#define REPORTS_H

#include <stddef.h>

#include "decode.h"
#include "replay.h"

/* Writes "flow N tcp|udp CLIENT > SERVER" into buf. */
void reports_flow_name(char *buf, size_t len, const struct dec_flow *f);

/* Why flow f is incomplete, in words. */
const char *reports_incomplete_reason(const struct dec_flow *f);

/* --list: prints a file's totals and each flow with its reassembly counts. */
void reports_list(const struct replay_file *cf);

/* Prints one line per job (with -q only the failed ones) and counts them into run->count. */
void reports_flows(struct replay_run *run);

/* Prints the summary line, writes --junit and --json, and returns the exit status (REPLAY_EXIT_*, or 0),
 * from the counts and run->dead. */
int reports_summary(const struct replay_run *run);

#endif
