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
 * below 0x20 and bytes 0x7f-0xff (not valid or not safe in an XML 1.0 file declared UTF-8) as '?'. */
void rep_xml_str(FILE *f, const char *s);

/* A test case's result, for rep_junit() and rep_tap(). */
enum rep_status {
	REP_PASS = 0,
	REP_FAIL,   /* the subject under test is wrong */
	REP_SKIP,   /* not run; message says why */
	REP_ERROR   /* could not be tested (set-up error); counts as an error, not a failure */
};

struct rep_case {
	const char *classname; /* JUnit classname, for example "conform.tcp.reset" */
	const char *name;      /* case name, for example "tcp/reset/mid-stream" */
	enum rep_status status;
	const char *message;   /* one line: the failure, skip or error reason (NULL or "" for a pass) */
	const char *detail;    /* more lines for the failure's body, or NULL */
	double secs;           /* time taken */
};

/* Writes a whole JUnit XML document: <testsuites name=suite> holding one <testsuite name=suite> with
 * the n cases, counts of tests, failures, errors and skipped, and total time secs. Returns 0, or -1 with
 * errno set when the stream reports an error (nothing is closed). */
int rep_junit(FILE *f, const char *suite, const struct rep_case *c, size_t n, double secs);

/* Writes one TAP line "ok N - NAME" / "not ok N - NAME" (a SKIP gets " # SKIP message", a non-fatal
 * failure gets " # TODO message" when todo is nonzero), then each line of c->detail prefixed by "# ".
 * Returns 0 or -1 (errno set) on a stream error. */
int rep_tap(FILE *f, size_t number, const struct rep_case *c, int todo);

/* Renders p[0..n) for a one-line message: printable ASCII as is, \\ \n \r \t as such, other bytes as
 * \xNN, cut with "..." to fit outlen (NUL included). Returns out. */
char *rep_escape(char *out, size_t outlen, const void *p, size_t n);

/* Writes a hexdump of p[0..n) (offsets starting at base, 16 bytes a line: offset, hex, ASCII), each line
 * prefixed by prefix, at most maxlines lines (then a "..." line). */
void rep_hexdump(FILE *f, const char *prefix, const void *p, size_t n, size_t base, int maxlines);

#endif
