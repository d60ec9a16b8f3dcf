/* reports.c - conform's reports: the line per case, JUnit XML and TAP (through lib/report), and JSON. */
#include "reports.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "upper.h"
#include "util.h"

static const char *level_name(enum case_level level)
{
	return level == CASE_MUST ? "MUST" : "SHOULD";
}

static const char *rule_text(const char *rule)
{
	const char *text = upper_rule_text(rule);
	return text != NULL ? text : "?";
}

/* A case counts against the run when it failed and is MUST (or --strict). */
static int counts_against_run(const struct reports_item *x, int strict)
{
	return x->result.status == CASE_FAIL && (x->level == CASE_MUST || strict);
}

struct reports_counts reports_count(const struct reports_item *items, size_t n, int strict)
{
	struct reports_counts k;
	memset(&k, 0, sizeof k);
	for (size_t i = 0; i < n; i++) {
		int failed = items[i].result.status == CASE_FAIL;
		k.passed += items[i].result.status == CASE_PASS;
		k.failed += failed;
		k.must_failed += failed && items[i].level == CASE_MUST;
		k.should_failed += failed && items[i].level != CASE_MUST;
		k.skipped += items[i].result.status == CASE_SKIP;
		k.not_reached += items[i].result.status == CASE_NOT_REACHED;
		k.counted += counts_against_run(&items[i], strict);
		k.retried += items[i].result.retries > 0;
	}
	return k;
}

static const char *status_word(enum case_status status)
{
	static const char *const words[] = {
	    [CASE_PASS] = "PASS", [CASE_FAIL] = "FAIL", [CASE_SKIP] = "SKIP", [CASE_NOT_REACHED] = "----"};
	return words[status];
}

static enum rep_status rep_status_of(enum case_status status)
{
	return status == CASE_PASS ? REP_PASS : status == CASE_FAIL ? REP_FAIL : REP_SKIP;
}

void reports_print_item(FILE *f, const struct reports_item *x, int strict, int verbose)
{
	const struct case_result *r = &x->result;
	const char *status = status_word(r->status);
	fprintf(f, "%s  %-34s %-3s %-6s %6.3fs%s%s\n", status, x->id, x->rule, level_name(x->level),
	        r->seconds, r->retries ? "  (retried after a timeout)" : "",
	        r->status == CASE_FAIL && x->level != CASE_MUST && !strict ? "  (SHOULD: not counted)" : "");
	if (r->status == CASE_SKIP || r->status == CASE_NOT_REACHED) {
		fprintf(f, "      %s\n", r->message);
		return;
	}
	if (r->status == CASE_FAIL) {
		fprintf(f, "      rule %s: %s\n", x->rule, rule_text(x->rule));
		fprintf(f, "      %s\n", r->message);
		if (r->offset >= 0 && r->expected[0] != '\0') {
			fprintf(f, "      first difference at offset %lld\n", r->offset);
			fprintf(f, "        expected %s\n", r->expected);
			fprintf(f, "        actual   %s\n", r->actual);
		}
	}
	if (r->note[0] != '\0' && (verbose || r->status == CASE_FAIL))
		fprintf(f, "      note: %s\n", r->note);
}

/* The lines explaining a failure: the rule, the message (with with_message), the first difference and
 * the note. Returns a malloc'd string, or NULL when out of memory. */
static char *failure_detail(const struct reports_item *x, int with_message)
{
	const struct case_result *r = &x->result;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return NULL;
	fprintf(f, "rule %s: %s\n", x->rule, rule_text(x->rule));
	if (with_message)
		fprintf(f, "%s\n", r->message);
	if (r->offset >= 0 && r->expected[0] != '\0')
		fprintf(f, "first difference at offset %lld\nexpected %s\nactual   %s\n", r->offset,
		        r->expected, r->actual);
	if (r->note[0] != '\0')
		fprintf(f, "note: %s\n", r->note);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- JUnit ---- */

struct junit_entry {
	struct rep_case c;
	struct rep_property properties[3];
	char classname[sizeof((struct reports_item *)0)->id + 8];
	char retries[16];
	char *detail, *system_out; /* malloc'd */
};

/* "conform." and the id with '/' as '.', without its last part: tcp/reset/owed -> conform.tcp.reset. */
static void junit_classname(char *out, size_t outlen, const char *id)
{
	snprintf(out, outlen, "conform.%s", id);
	for (char *p = out; *p != '\0'; p++)
		if (*p == '/')
			*p = '.';
	char *last = strrchr(out, '.');
	if (last != NULL)
		*last = '\0';
}

static int junit_entry_fill(struct junit_entry *e, const struct reports_item *x, int strict)
{
	const struct case_result *r = &x->result;
	junit_classname(e->classname, sizeof e->classname, x->id);
	snprintf(e->retries, sizeof e->retries, "%d", r->retries);
	e->properties[0] = (struct rep_property){"rule", x->rule};
	e->properties[1] = (struct rep_property){"level", level_name(x->level)};
	e->properties[2] = (struct rep_property){"retried", e->retries};
	e->c.classname = e->classname;
	e->c.name = x->id;
	e->c.status = rep_status_of(r->status);
	e->c.message = r->message;
	e->c.secs = r->seconds;
	e->c.properties = e->properties;
	e->c.nproperties = 3;
	if (r->status == CASE_FAIL) {
		e->c.type = counts_against_run(x, strict) ? level_name(x->level) : "SHOULD (not counted)";
		if ((e->detail = failure_detail(x, 1)) == NULL)
			return -1;
		e->c.detail = e->detail;
	}
	if (x->description != NULL) {
		const char *note = r->note[0] != '\0' && r->status != CASE_FAIL ? r->note : NULL;
		if (note == NULL) {
			e->c.system_out = x->description;
		} else {
			size_t len = strlen(x->description) + strlen(note) + 2;
			if ((e->system_out = malloc(len)) == NULL)
				return -1;
			snprintf(e->system_out, len, "%s\n%s", x->description, note);
			e->c.system_out = e->system_out;
		}
	}
	return 0;
}

/* Writes the JUnit document to f. Returns 0, or -1 with errno set. */
static int junit_write(FILE *f, const struct reports_item *items, size_t n, int strict, double seconds)
{
	struct junit_entry *entries = calloc(n + 1, sizeof *entries);
	struct rep_case *cases = calloc(n + 1, sizeof *cases);
	int rc = -1;
	if (entries == NULL || cases == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (junit_entry_fill(&entries[i], &items[i], strict) < 0)
			goto out;
		cases[i] = entries[i].c;
	}
	rc = rep_junit(f, "conform", cases, n, seconds);
out:
	if (entries != NULL)
		for (size_t i = 0; i < n; i++) {
			free(entries[i].detail);
			free(entries[i].system_out);
		}
	free(entries);
	free(cases);
	if (rc < 0 && errno == 0)
		errno = ENOMEM;
	return rc;
}

int reports_write_junit(const char *path, const struct reports_item *items, size_t n, int strict,
                        double seconds, char *err, size_t errlen)
{
	FILE *f = util_open_output(path, "w");
	if (f == NULL) {
		snprintf(err, errlen, "--junit %s: %s", path, strerror(errno));
		return -1;
	}
	errno = 0;
	int rc = junit_write(f, items, n, strict, seconds);
	int saved = errno;
	if (util_close_output(f) != 0 || rc < 0) {
		snprintf(err, errlen, "--junit %s: %s", path, strerror(rc < 0 ? saved : errno));
		return -1;
	}
	return 0;
}

/* ---- JSON ---- */

static void json_item(FILE *f, const struct reports_item *x)
{
	const struct case_result *r = &x->result;
	const char *text = upper_rule_text(x->rule);
	fprintf(f, "    {\"id\": ");
	rep_json_str(f, x->id);
	fprintf(f, ", \"rule\": ");
	rep_json_str(f, x->rule);
	fprintf(f, ", \"rule_text\": ");
	rep_json_str(f, text != NULL ? text : "");
	fprintf(f, ", \"level\": \"%s\", \"description\": ", level_name(x->level));
	rep_json_str(f, x->description != NULL ? x->description : "");
	static const char *const statuses[] = {[CASE_PASS] = "pass",
	                                       [CASE_FAIL] = "fail",
	                                       [CASE_SKIP] = "skip",
	                                       [CASE_NOT_REACHED] = "not_reached"};
	fprintf(f, ", \"status\": \"%s\", \"timeout\": %s, \"retried\": %d, \"seconds\": %.3f",
	        statuses[r->status], r->timed_out ? "true" : "false", r->retries, r->seconds);
	fprintf(f, ", \"rounds\": %d, \"failures\": %d", x->rounds, x->failures);
	fprintf(f, ", \"message\": ");
	rep_json_str(f, r->message);
	if (r->offset >= 0)
		fprintf(f, ", \"offset\": %lld", r->offset);
	if (r->expected[0] != '\0') {
		fprintf(f, ", \"expected\": ");
		rep_json_str(f, r->expected);
		fprintf(f, ", \"actual\": ");
		rep_json_str(f, r->actual);
	}
	fprintf(f, ", \"note\": ");
	rep_json_str(f, r->note);
	const struct case_resources *m = &r->resources;
	if (m->measured)
		fprintf(f,
		        ", \"resources\": {\"connections\": %ld, \"resident_growth_bytes\": %lld, "
		        "\"descriptor_growth\": %ld, \"thread_growth\": %ld, \"bytes_per_connection\": %.1f, "
		        "\"descriptors_per_connection\": %.4f, \"per\": \"%s\", \"processes\": %d, "
		        "\"threads\": %ld}",
		        m->connections, m->resident_growth, m->descriptor_growth, m->thread_growth,
		        m->bytes_per_connection, m->descriptors_per_connection,
		        m->per_sender ? "sender" : "connection", m->processes, m->threads);
	fprintf(f, "}");
}

void reports_print_resources(FILE *f, const struct reports_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct case_resources *m = &items[i].result.resources;
		const char *per = m->per_sender ? "sender" : "connection";
		if (m->measured)
			fprintf(f,
			        "conform: %s: %.0f bytes and %.3f descriptors per %s kept (%+lld KiB, %+ld "
			        "descriptors, %+ld threads after %ld %ss)\n",
			        items[i].id, m->bytes_per_connection, m->descriptors_per_connection, per,
			        m->resident_growth / 1024, m->descriptor_growth, m->thread_growth,
			        m->connections, per);
	}
}

void reports_print_summary(FILE *f, const struct reports_item *items, size_t n, int strict, double seconds)
{
	struct reports_counts k = reports_count(items, n, strict);
	fprintf(f, "conform: %zu passed, %zu MUST failure%s, %zu SHOULD failure%s (%s), %zu skipped",
	        k.passed, k.must_failed, k.must_failed == 1 ? "" : "s", k.should_failed,
	        k.should_failed == 1 ? "" : "s",
	        strict ? "counted: --strict" : "not counted without --strict", k.skipped);
	if (k.not_reached > 0)
		fprintf(f, ", %zu not reached", k.not_reached);
	fprintf(f, ", %zu retried after a timeout, in %.2f s\n", k.retried, seconds);
}

void reports_merge(struct reports_item *items, size_t *n, const struct reports_item *x)
{
	static const int rank[] = {[CASE_NOT_REACHED] = 0, [CASE_SKIP] = 1, [CASE_PASS] = 2, [CASE_FAIL] = 3};
	int ran = x->result.status == CASE_PASS || x->result.status == CASE_FAIL;
	size_t i = 0;
	while (i < *n && strcmp(items[i].id, x->id) != 0)
		i++;
	if (i == *n) {
		items[(*n)++] = *x;
		items[i].rounds = items[i].failures = 0;
	} else if (rank[x->result.status] > rank[items[i].result.status] || x->result.status == CASE_FAIL) {
		/* a later failure replaces an earlier one: its pcap (--pcap-dir) is the one on disk */
		items[i].result = x->result;
	}
	items[i].rounds += ran;
	items[i].failures += x->result.status == CASE_FAIL;
}

void reports_print_rounds(FILE *f, const struct reports_item *items, size_t n, int rounds)
{
	size_t flaky = 0, failing = 0;
	fprintf(f, "conform: failures per case over %d rounds (FAILED/RAN):\n", rounds);
	for (size_t i = 0; i < n; i++) {
		const struct reports_item *x = &items[i];
		fprintf(f, "  %3d/%-3d %s%s\n", x->failures, x->rounds, x->id,
		        x->failures == 0                ? ""
		        : x->failures < x->rounds       ? "  (flaky)"
		        : x->result.status == CASE_FAIL ? "  (failed every round)"
		                                        : "");
		flaky += x->failures > 0 && x->failures < x->rounds;
		failing += x->failures > 0 && x->failures == x->rounds;
	}
	fprintf(f, "conform: %zu case(s) failed in some rounds only, %zu in every round it ran\n", flaky,
	        failing);
}

int reports_write_json(const char *path, const struct reports_item *items, size_t n, int strict,
                       double seconds, const char *target, char *err, size_t errlen)
{
	FILE *f = util_open_output(path, "w");
	if (f == NULL) {
		snprintf(err, errlen, "--json %s: %s", path, strerror(errno));
		return -1;
	}
	struct reports_counts k = reports_count(items, n, strict);
	fprintf(f, "{\n  \"tool\": \"conform\",\n  \"target\": ");
	rep_json_str(f, target);
	fprintf(f,
	        ",\n  \"strict\": %s,\n  \"seconds\": %.3f,\n  \"passed\": %zu,\n  \"failed\": %zu,\n  "
	        "\"skipped\": %zu,\n  \"failed_counted\": %zu,\n  \"must_failed\": %zu,\n  "
	        "\"should_failed\": %zu,\n  \"not_reached\": %zu,\n  \"cases\": [\n",
	        strict ? "true" : "false", seconds, k.passed, k.failed, k.skipped, k.counted, k.must_failed,
	        k.should_failed, k.not_reached);
	for (size_t i = 0; i < n; i++) {
		json_item(f, &items[i]);
		fprintf(f, "%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (util_close_output(f) != 0) {
		snprintf(err, errlen, "--json %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- TAP ---- */

/* One TAP line and its comment lines: the name carries the rule and level; a failing SHOULD case is a
 * TODO without --strict; the detail lines say why (and whether it was retried). */
static int tap_item(FILE *f, size_t number, const struct reports_item *x, int strict)
{
	const struct case_result *r = &x->result;
	struct rep_case c;
	char name[sizeof x->id + 32], retried[64];
	int todo = r->status == CASE_FAIL && !counts_against_run(x, strict);
	char *detail = NULL;

	memset(&c, 0, sizeof c);
	c.name = x->id;
	c.message = r->message;
	c.status = rep_status_of(r->status);
	if (r->status == CASE_PASS || r->status == CASE_FAIL) {
		snprintf(name, sizeof name, "%s (%s %s)", x->id, x->rule, level_name(x->level));
		c.name = name;
	}
	if (r->status == CASE_PASS && r->retries > 0) {
		snprintf(retried, sizeof retried, "retried after a timeout");
		c.detail = retried;
	}
	if (r->status == CASE_FAIL) {
		if (todo)
			c.message = "SHOULD, not counted without --strict";
		if ((detail = failure_detail(x, todo)) == NULL)
			return -1;
		size_t len = strlen(detail);
		char *more = realloc(detail, len + 32);
		if (more == NULL) {
			free(detail);
			return -1;
		}
		detail = more;
		snprintf(detail + len, 32, "retried: %d\n", r->retries);
		c.detail = detail;
	}
	int rc = rep_tap(f, number, &c, todo);
	free(detail);
	return rc;
}

int reports_write_tap(FILE *f, const struct reports_item *items, size_t n, int strict)
{
	fprintf(f, "TAP version 13\n1..%zu\n", n);
	for (size_t i = 0; i < n; i++)
		if (tap_item(f, i + 1, &items[i], strict) < 0)
			return -1;
	return 0;
}
