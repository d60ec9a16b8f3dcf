/* report.h - one writer for each report format every tool shares: JSON and XML string escaping (one
 * rule for every byte), JUnit XML, TAP lines, and the escaped and hexdump renderings of bytes used in
 * messages. Writes only to the FILE or buffer it is given; never prints elsewhere, never exits. */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include <stdio.h>

/* Writes s[0..n) as a JSON string, quotes included. The one rule: '"' and '\\' get a backslash; \n \r
 * \t as such; every other byte below 0x20 and every byte from 0x7f to 0xff as \u00XX (the byte as a
 * Latin-1 code point), so the output is ASCII and every input byte can be read back. */
void rep_json_bytes(FILE *f, const void *s, size_t n);

/* rep_json_bytes() of a NUL-terminated string (NULL writes null). */
void rep_json_str(FILE *f, const char *s);

/* Writes s as XML character data or attribute text: & < > " ' as entities; \t \n kept; other bytes
 * below 0x20 and bytes 0x7f-0xff (not valid or not safe in an XML 1.0 file declared UTF-8) as '?'.
 * NULL writes nothing. */
void rep_xml_str(FILE *f, const char *s);

/* A test case's result, for rep_junit() and rep_tap(). */
enum rep_status {
	REP_PASS = 0,
	REP_FAIL, /* the subject under test is wrong */
	REP_SKIP, /* not run; message says why */
	REP_ERROR /* could not be tested (set-up error); counts as an error, not a failure */
};

/* A JUnit <property name= value=> of a case. */
struct rep_property {
	const char *name;
	const char *value;
};

/* Members after secs are optional: a zero (NULL) value leaves their element or attribute out. */
struct rep_case {
	const char *classname; /* JUnit classname, for example "conform.tcp.reset" (NULL: the suite's name) */
	const char *name;      /* case name, for example "tcp/reset/mid-stream" */
	enum rep_status status;
	const char *message; /* one line: the failure, skip or error reason (NULL or "" for a pass) */
	const char *detail;  /* more lines for the failure's body, or NULL */
	double secs;         /* time taken */
	const char *type;    /* type attribute of <failure> or <error>, for example "MUST" */
	const struct rep_property *properties; /* nproperties of them in <properties> */
	size_t nproperties;
	const char *system_out; /* text of <system-out>, for example the case's description */
};

/* Writes a whole JUnit XML document: <testsuites name=suite> holding one <testsuite name=suite> with
 * the n cases, counts of tests, failures, errors and skipped, and total time secs. Returns 0, or -1 with
 * errno set when the stream reports an error (nothing is closed). */
int rep_junit(FILE *f, const char *suite, const struct rep_case *c, size_t n, double secs);

/* The same document in pieces, for several suites in one file: rep_junit_begin() writes the XML
 * declaration and <testsuites name=name> with the counts of c[0..n) (every case of the file) and time
 * secs; rep_junit_suite() one <testsuite> with its cases; rep_junit_end() closes the document and
 * returns what rep_junit() returns. */
void rep_junit_begin(FILE *f, const char *name, const struct rep_case *c, size_t n, double secs);
void rep_junit_suite(FILE *f, const char *name, const struct rep_case *c, size_t n, double secs);
int rep_junit_end(FILE *f);

/* Writes one TAP line "ok N - NAME" / "not ok N - NAME" (a SKIP gets " # SKIP message", a non-fatal
 * failure gets " # TODO message" when todo is nonzero), then each line of c->detail prefixed by "# ".
 * A failure or error without todo writes its message as the first "# " line. In NAME, '#' is written
 * "\#" and line ends as spaces, so the line stays one TAP line. Returns 0 or -1 (errno set) on a
 * stream error. */
int rep_tap(FILE *f, size_t number, const struct rep_case *c, int todo);

/* Renders the byte c as rep_escape() does (at most 4 characters) into out, NUL-terminated; out holds
 * at least 5. Returns the length. */
size_t rep_escape_byte(char *out, unsigned char c);

/* Renders p[0..n) for a one-line message: printable ASCII as is, \\ \n \r \t as such, other bytes as
 * \xNN, cut with "..." to fit outlen (NUL included): the result is the whole rendering, or a prefix of it
 * ending at a byte's boundary followed by "...". Returns out. */
char *rep_escape(char *out, size_t outlen, const void *p, size_t n);

/* Writes a hexdump of p[0..n) (offsets starting at base, 16 bytes a line: "PREFIX%08zx  " then 16 hex
 * pairs each followed by a space, then " |ASCII|" with '.' for unprintable bytes), each line prefixed by
 * prefix, at most maxlines lines (then a "PREFIX..." line); maxlines < 0 means no limit. */
void rep_hexdump(FILE *f, const char *prefix, const void *p, size_t n, size_t base, int maxlines);

#endif
