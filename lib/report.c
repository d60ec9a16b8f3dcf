/* report.c - JSON and XML escaping, JUnit XML, TAP lines, escaped and hexdump renderings of bytes. */
#include "report.h"

#include <errno.h>
#include <string.h>

#include "util.h"

static const char hexdigits[] = "0123456789abcdef";

/* The letter that follows a backslash to stand for c (backslash, newline, carriage return, tab) in JSON
 * strings and escaped bytes, or 0 when c has none. */
static char escape_letter(unsigned char c)
{
	static const char bytes[] = "\\\n\r\t", letters[] = "\\nrt";
	const char *at = c != '\0' ? strchr(bytes, c) : NULL;

	return at != NULL ? letters[at - bytes] : 0;
}

void rep_json_bytes(FILE *f, const void *s, size_t n)
{
	const unsigned char *p = s;

	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		char letter = c == '"' ? '"' : escape_letter(c);
		if (letter != 0) {
			fputc('\\', f);
			fputc(letter, f);
		} else if (c < 0x20 || c >= 0x7f) {
			fprintf(f, "\\u%04x", (unsigned)c);
		} else {
			fputc(c, f);
		}
	}
	fputc('"', f);
}

void rep_json_str(FILE *f, const char *s)
{
	if (s == NULL)
		fputs("null", f);
	else
		rep_json_bytes(f, s, strlen(s));
}

/* The entity that stands for c in XML text and attribute values, or NULL when c needs none. */
static const char *xml_entity(unsigned char c)
{
	static const struct {
		unsigned char c;
		const char *entity;
	} entities[] = {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&apos;"}};

	for (size_t i = 0; i < sizeof entities / sizeof entities[0]; i++)
		if (entities[i].c == c)
			return entities[i].entity;
	return NULL;
}

void rep_xml_str(FILE *f, const char *s)
{
	if (s == NULL)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		const char *entity = xml_entity(*p);
		if (entity != NULL)
			fputs(entity, f);
		else if (*p == '\t' || *p == '\n' || (*p >= 0x20 && *p < 0x7f))
			fputc(*p, f);
		else
			fputc('?', f);
	}
}

/* ---- JUnit ---- */

struct counts {
	size_t failures, errors, skipped;
};

static struct counts count(const struct rep_case *c, size_t n)
{
	struct counts k = {0, 0, 0};

	for (size_t i = 0; i < n; i++) {
		k.failures += c[i].status == REP_FAIL;
		k.errors += c[i].status == REP_ERROR;
		k.skipped += c[i].status == REP_SKIP;
	}
	return k;
}

/* The attributes name="..." tests= failures= errors= skipped= time= of a suite or of the document. */
static void suite_attributes(FILE *f, const char *name, const struct rep_case *c, size_t n, double secs)
{
	struct counts k = count(c, n);

	fputs(" name=\"", f);
	rep_xml_str(f, name);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\"", n,
	        k.failures, k.errors, k.skipped, secs);
}

static void junit_properties(FILE *f, const struct rep_case *c)
{
	if (c->properties == NULL || c->nproperties == 0)
		return;
	fputs("      <properties>", f);
	for (size_t i = 0; i < c->nproperties; i++) {
		fputs("<property name=\"", f);
		rep_xml_str(f, c->properties[i].name);
		fputs("\" value=\"", f);
		rep_xml_str(f, c->properties[i].value);
		fputs("\"/>", f);
	}
	fputs("</properties>\n", f);
}

/* <failure>, <error> or <skipped> of a case that did not pass. */
static void junit_outcome(FILE *f, const struct rep_case *c)
{
	const char *tag = c->status == REP_FAIL ? "failure" : c->status == REP_ERROR ? "error" : "skipped";

	fprintf(f, "      <%s message=\"", tag);
	rep_xml_str(f, c->message);
	fputc('"', f);
	if (c->type != NULL && c->status != REP_SKIP) {
		fputs(" type=\"", f);
		rep_xml_str(f, c->type);
		fputc('"', f);
	}
	if (c->detail == NULL || c->detail[0] == '\0') {
		fputs("/>\n", f);
		return;
	}
	fputc('>', f);
	rep_xml_str(f, c->detail);
	fprintf(f, "</%s>\n", tag);
}

static void junit_case(FILE *f, const char *suite, const struct rep_case *c)
{
	int empty =
	    c->status == REP_PASS && (c->properties == NULL || c->nproperties == 0) && c->system_out == NULL;

	fputs("    <testcase classname=\"", f);
	rep_xml_str(f, c->classname != NULL ? c->classname : suite);
	fputs("\" name=\"", f);
	rep_xml_str(f, c->name);
	fprintf(f, "\" time=\"%.3f\"%s>\n", c->secs, empty ? "/" : "");
	if (empty)
		return;
	junit_properties(f, c);
	if (c->status != REP_PASS)
		junit_outcome(f, c);
	if (c->system_out != NULL) {
		fputs("      <system-out>", f);
		rep_xml_str(f, c->system_out);
		fputs("</system-out>\n", f);
	}
	fputs("    </testcase>\n", f);
}

void rep_junit_begin(FILE *f, const char *name, const struct rep_case *c, size_t n, double secs)
{
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", f);
	suite_attributes(f, name, c, n, secs);
	fputs(">\n", f);
}

void rep_junit_suite(FILE *f, const char *name, const struct rep_case *c, size_t n, double secs)
{
	fputs("  <testsuite", f);
	suite_attributes(f, name, c, n, secs);
	fputs(">\n", f);
	for (size_t i = 0; i < n; i++)
		junit_case(f, name, &c[i]);
	fputs("  </testsuite>\n", f);
}

int rep_junit_end(FILE *f)
{
	fputs("</testsuites>\n", f);
	return util_flush_ok(f);
}

int rep_junit(FILE *f, const char *suite, const struct rep_case *c, size_t n, double secs)
{
	rep_junit_begin(f, suite, c, n, secs);
	rep_junit_suite(f, suite, c, n, secs);
	return rep_junit_end(f);
}

/* ---- TAP ---- */

/* Writes s with line ends as spaces; with name set, '#' as "\#" (a TAP description must not start a
 * directive). */
static void tap_text(FILE *f, const char *s, int name)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '\n' || *s == '\r')
			fputc(' ', f);
		else if (*s == '#' && name)
			fputs("\\#", f);
		else
			fputc(*s, f);
	}
}

/* Writes each line of s as "# line". */
static void tap_comment(FILE *f, const char *s)
{
	while (s != NULL && *s != '\0') {
		size_t len = strcspn(s, "\n");
		fputs("# ", f);
		fwrite(s, 1, len, f);
		fputc('\n', f);
		s += len + (s[len] == '\n');
	}
}

int rep_tap(FILE *f, size_t number, const struct rep_case *c, int todo)
{
	int bad = c->status == REP_FAIL || c->status == REP_ERROR;

	fprintf(f, "%s %zu - ", bad ? "not ok" : "ok", number);
	tap_text(f, c->name, 1);
	if (c->status == REP_SKIP || (bad && todo)) {
		fputs(c->status == REP_SKIP ? " # SKIP" : " # TODO", f);
		if (c->message != NULL && c->message[0] != '\0') {
			fputc(' ', f);
			tap_text(f, c->message, 0);
		}
	}
	fputc('\n', f);
	if (bad && !todo)
		tap_comment(f, c->message);
	tap_comment(f, c->detail);
	return util_flush_ok(f);
}

/* ---- bytes in messages ---- */

size_t rep_escape_byte(char *out, unsigned char c)
{
	char letter = escape_letter(c);
	size_t n = 0;

	if (letter != 0) {
		out[n++] = '\\';
		out[n++] = letter;
	} else if (c >= 0x20 && c < 0x7f) {
		out[n++] = (char)c;
	} else {
		out[n++] = '\\';
		out[n++] = 'x';
		out[n++] = hexdigits[c >> 4];
		out[n++] = hexdigits[c & 15];
	}
	out[n] = '\0';
	return n;
}

char *rep_escape(char *out, size_t outlen, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t o = 0, i;

	if (outlen == 0)
		return out;
	for (i = 0; i < n; i++) {
		char e[5];
		size_t len = rep_escape_byte(e, b[i]);
		if (o + len > outlen - 1)
			break;
		memcpy(out + o, e, len);
		o += len;
	}
	if (i < n) {
		/* does not fit: back off to leave room for "..." */
		while (o > 0 && o + 3 > outlen - 1) {
			char e[5];
			o -= rep_escape_byte(e, b[--i]);
		}
		size_t dots = outlen - 1 - o < 3 ? outlen - 1 - o : 3;
		memcpy(out + o, "...", dots);
		o += dots;
	}
	out[o] = '\0';
	return out;
}

void rep_hexdump(FILE *f, const char *prefix, const void *p, size_t n, size_t base, int maxlines)
{
	const unsigned char *b = p;
	int lines = 0;

	if (prefix == NULL)
		prefix = "";
	for (size_t line = 0; line < n; line += 16, lines++) {
		char hex[16 * 3 + 1], ascii[17];
		if (maxlines >= 0 && lines >= maxlines) {
			fprintf(f, "%s...\n", prefix);
			return;
		}
		for (size_t i = 0; i < 16; i++) {
			if (line + i < n) {
				unsigned char c = b[line + i];
				hex[i * 3] = hexdigits[c >> 4];
				hex[i * 3 + 1] = hexdigits[c & 15];
				ascii[i] = c >= 0x20 && c < 0x7f ? (char)c : '.';
			} else {
				hex[i * 3] = hex[i * 3 + 1] = ' ';
				ascii[i] = '\0';
			}
			hex[i * 3 + 2] = ' ';
		}
		hex[48] = ascii[16] = '\0';
		fprintf(f, "%s%08zx  %s |%s|\n", prefix, base + line, hex, ascii);
	}
}
