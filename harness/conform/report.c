/* report.c - conform's machine-readable reports: JUnit XML, JSON and TAP. */
#include "cf.h"

#include <errno.h>
#include <string.h>

#include "upper.h"

/* A case counts against the run when it failed and is MUST (or --strict). */
static int counts(const struct cf_report_item *it, int strict)
{
	return it->r.status == CF_FAIL && (it->must || strict);
}

static void xml(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			/* XML 1.0 allows no control characters but tab and newline; keep the file valid */
			if (*p < 0x20 && *p != '\n' && *p != '\t')
				fputc('?', f);
			else if (*p >= 0x80)
				fputc('?', f);
			else
				fputc(*p, f);
		}
	}
}

static void detail(FILE *f, const struct cf_report_item *it, void (*esc)(FILE *, const char *))
{
	const char *rt = upper_rule_text(it->rule);
	char line[3 * CF_MSG];
	snprintf(line, sizeof line, "rule %s: %s\n", it->rule, rt ? rt : "?");
	esc(f, line);
	snprintf(line, sizeof line, "%s\n", it->r.msg);
	esc(f, line);
	if (it->r.offset >= 0 && it->r.expected[0] != '\0') {
		snprintf(line, sizeof line, "first difference at offset %lld\n", it->r.offset);
		esc(f, line);
		snprintf(line, sizeof line, "expected %s\n", it->r.expected);
		esc(f, line);
		snprintf(line, sizeof line, "actual   %s\n", it->r.actual);
		esc(f, line);
	}
	if (it->r.note[0] != '\0') {
		snprintf(line, sizeof line, "note: %s\n", it->r.note);
		esc(f, line);
	}
}

int cf_write_junit(const char *path, const struct cf_report_item *it, size_t n, int strict, double secs,
		   char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	size_t fails = 0, skips = 0;
	if (f == NULL) {
		snprintf(err, errlen, "--junit %s: %s", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		fails += it[i].r.status == CF_FAIL;
		skips += it[i].r.status == CF_SKIP;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"conform\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
		   "time=\"%.3f\">\n", n, fails, skips, secs);
	fprintf(f, "  <testsuite name=\"conform\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
		   "time=\"%.3f\">\n", n, fails, skips, secs);
	for (size_t i = 0; i < n; i++) {
		const struct cf_report_item *x = &it[i];
		char cls[128];
		snprintf(cls, sizeof cls, "conform.%s", x->id);
		for (char *p = cls; *p != '\0'; p++)
			if (*p == '/')
				*p = '.';
		char *last = strrchr(cls, '.');
		if (last != NULL)
			*last = '\0';
		fprintf(f, "    <testcase classname=\"");
		xml(f, cls);
		fprintf(f, "\" name=\"");
		xml(f, x->id);
		fprintf(f, "\" time=\"%.3f\">\n", x->r.secs);
		fprintf(f, "      <properties><property name=\"rule\" value=\"");
		xml(f, x->rule);
		fprintf(f, "\"/><property name=\"level\" value=\"%s\"/><property name=\"retried\" value=\"%d\"/>"
			   "</properties>\n", x->must ? "MUST" : "SHOULD", x->r.retried);
		if (x->r.status == CF_FAIL) {
			fprintf(f, "      <failure type=\"%s%s\" message=\"", x->must ? "MUST" : "SHOULD",
				counts(x, strict) ? "" : " (not counted)");
			xml(f, x->r.msg);
			fprintf(f, "\">");
			detail(f, x, xml);
			fprintf(f, "</failure>\n");
		} else if (x->r.status == CF_SKIP) {
			fprintf(f, "      <skipped message=\"");
			xml(f, x->r.msg);
			fprintf(f, "\"/>\n");
		}
		if (x->desc != NULL) {
			fprintf(f, "      <system-out>");
			xml(f, x->desc);
			if (x->r.note[0] != '\0' && x->r.status != CF_FAIL) {
				fputs("\n", f);
				xml(f, x->r.note);
			}
			fprintf(f, "</system-out>\n");
		}
		fprintf(f, "    </testcase>\n");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	if (fclose(f) != 0) {
		snprintf(err, errlen, "--junit %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; s != NULL && *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

int cf_write_json(const char *path, const struct cf_report_item *it, size_t n, int strict, double secs,
		  const char *target, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	size_t pass = 0, fail = 0, skip = 0, counted = 0;
	if (f == NULL) {
		snprintf(err, errlen, "--json %s: %s", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		pass += it[i].r.status == CF_PASS;
		fail += it[i].r.status == CF_FAIL;
		skip += it[i].r.status == CF_SKIP;
		counted += counts(&it[i], strict);
	}
	fprintf(f, "{\n  \"tool\": \"conform\",\n  \"target\": ");
	json_str(f, target);
	fprintf(f, ",\n  \"strict\": %s,\n  \"seconds\": %.3f,\n  \"passed\": %zu,\n  \"failed\": %zu,\n"
		   "  \"skipped\": %zu,\n  \"failed_counted\": %zu,\n  \"cases\": [\n",
		strict ? "true" : "false", secs, pass, fail, skip, counted);
	for (size_t i = 0; i < n; i++) {
		const struct cf_report_item *x = &it[i];
		const char *rt = upper_rule_text(x->rule);
		fprintf(f, "    {\"id\": ");
		json_str(f, x->id);
		fprintf(f, ", \"rule\": ");
		json_str(f, x->rule);
		fprintf(f, ", \"rule_text\": ");
		json_str(f, rt ? rt : "");
		fprintf(f, ", \"level\": \"%s\", \"description\": ", x->must ? "MUST" : "SHOULD");
		json_str(f, x->desc ? x->desc : "");
		fprintf(f, ", \"status\": \"%s\", \"timeout\": %s, \"retried\": %d, \"seconds\": %.3f",
			x->r.status == CF_PASS ? "pass" : x->r.status == CF_SKIP ? "skip" : "fail",
			x->r.timeout ? "true" : "false", x->r.retried, x->r.secs);
		fprintf(f, ", \"message\": ");
		json_str(f, x->r.msg);
		if (x->r.offset >= 0)
			fprintf(f, ", \"offset\": %lld", x->r.offset);
		if (x->r.expected[0] != '\0') {
			fprintf(f, ", \"expected\": ");
			json_str(f, x->r.expected);
			fprintf(f, ", \"actual\": ");
			json_str(f, x->r.actual);
		}
		fprintf(f, ", \"note\": ");
		json_str(f, x->r.note);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f) != 0) {
		snprintf(err, errlen, "--json %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void tap_plain(FILE *f, const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '\n' && p[1] != '\0')
			fputs("\n    ", f);
		else
			fputc(*p, f);
	}
}

void cf_write_tap(FILE *f, const struct cf_report_item *it, size_t n, int strict)
{
	fprintf(f, "TAP version 13\n1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		const struct cf_report_item *x = &it[i];
		if (x->r.status == CF_SKIP) {
			fprintf(f, "ok %zu - %s # SKIP %s\n", i + 1, x->id, x->r.msg);
			continue;
		}
		if (x->r.status == CF_PASS) {
			fprintf(f, "ok %zu - %s (%s %s)%s\n", i + 1, x->id, x->rule, x->must ? "MUST" : "SHOULD",
				x->r.retried ? " # retried after a timeout" : "");
			continue;
		}
		fprintf(f, "not ok %zu - %s (%s %s)%s\n", i + 1, x->id, x->rule, x->must ? "MUST" : "SHOULD",
			counts(x, strict) ? "" : " # TODO SHOULD, not counted without --strict");
		fprintf(f, "  ---\n  message: |\n    ");
		detail(f, x, tap_plain);
		fprintf(f, "\n  retried: %d\n  ...\n", x->r.retried);
	}
}
