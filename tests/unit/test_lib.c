/* test_lib.c - CUnit tests of the shared helpers: util (clock, number parsing, stdout check, limits)
 * and report (JSON, XML, JUnit, TAP, byte escaping, hexdump). Every byte value goes through each
 * escaper and is checked against the rule written out independently here; the number parsers run
 * through tables of edge cases; a JUnit document with every byte in its texts is parsed back with
 * xmllint when the host has it. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "report.h"
#include "unit.h"
#include "util.h"

/* A memory FILE and what was written to it. */
struct capture {
	FILE *f;
	char *text;
	size_t len;
};

static void capture_open(struct capture *c)
{
	c->text = NULL;
	c->len = 0;
	c->f = open_memstream(&c->text, &c->len);
	CU_ASSERT_FATAL(c->f != NULL);
}

/* Closes the stream; c->text then holds the output (free with capture_free). */
static void capture_close(struct capture *c)
{
	fclose(c->f);
	c->f = NULL;
}

static void capture_free(struct capture *c)
{
	free(c->text);
	c->text = NULL;
}

static const char hexdigits[] = "0123456789abcdef";

/* The backslash escape JSON strings and rep_escape both give b ("\\n" for a newline), or NULL. */
static const char *backslash_escape(unsigned char b)
{
	static const char bytes[] = "\\\n\r\t", *const escapes[] = {"\\\\", "\\n", "\\r", "\\t"};
	const char *at = b != 0 ? strchr(bytes, b) : NULL;
	return at != NULL ? escapes[at - bytes] : NULL;
}

/* ---- JSON ---- */

/* The JSON rule for one byte, written out independently of report.c. */
static void json_expected(char *out, unsigned char b)
{
	const char *escape = backslash_escape(b);
	if (b == '"')
		strcpy(out, "\"\\\"\"");
	else if (escape != NULL)
		sprintf(out, "\"%s\"", escape);
	else if (b < 0x20 || b >= 0x7f)
		sprintf(out, "\"\\u00%c%c\"", hexdigits[b >> 4], hexdigits[b & 15]);
	else
		sprintf(out, "\"%c\"", b);
}

static void test_json_every_byte(void)
{
	for (unsigned v = 0; v < 256; v++) {
		unsigned char b = (unsigned char)v;
		char want[16];
		struct capture c;
		capture_open(&c);
		rep_json_bytes(c.f, &b, 1);
		capture_close(&c);
		json_expected(want, b);
		CHECK(strcmp(c.text, want) == 0, "rep_json_bytes(0x%02x) = %s, want %s", v, c.text, want);
		capture_free(&c);
	}
}

static int hexval(char c)
{
	const char *p = strchr(hexdigits, c);
	return c != '\0' && p != NULL ? (int)(p - hexdigits) : -1;
}

/* Decodes the JSON string s (quotes included) of Latin-1 code points into out. Returns the byte count
 * or -1 when s is not such a string. */
static long json_decode(const char *s, unsigned char *out, size_t outlen)
{
	size_t n = 0;

	if (*s++ != '"')
		return -1;
	for (; *s != '"'; s++) {
		unsigned char b = (unsigned char)*s;
		if (b == '\0' || b < 0x20 || b >= 0x7f || n == outlen)
			return -1; /* the output must be printable ASCII */
		if (b == '\\') {
			s++;
			if (*s == 'u') {
				if (s[1] != '0' || s[2] != '0' || hexval(s[3]) < 0 || hexval(s[4]) < 0)
					return -1;
				b = (unsigned char)(hexval(s[3]) * 16 + hexval(s[4]));
				s += 4;
			} else {
				const char *esc = strchr("\"\"\\\\n\nr\rt\t", *s);
				if (*s == '\0' || esc == NULL || (esc - "\"\"\\\\n\nr\rt\t") % 2 != 0)
					return -1;
				b = (unsigned char)esc[1];
			}
		}
		out[n++] = b;
	}
	return s[1] == '\0' ? (long)n : -1;
}

static void test_json_round_trip(void)
{
	unsigned char all[512], back[512];
	struct capture c;

	for (size_t i = 0; i < sizeof all; i++)
		all[i] = (unsigned char)(255 - i % 256);
	capture_open(&c);
	rep_json_bytes(c.f, all, sizeof all);
	capture_close(&c);
	long n = json_decode(c.text, back, sizeof back);
	CHECK(n == (long)sizeof all && memcmp(all, back, sizeof all) == 0, "every byte reads back (got %ld)",
	      n);
	capture_free(&c);

	capture_open(&c);
	rep_json_str(c.f, NULL);
	fputc(' ', c.f);
	rep_json_str(c.f, "");
	fputc(' ', c.f);
	rep_json_str(c.f, "a\"b");
	capture_close(&c);
	CHECK(strcmp(c.text, "null \"\" \"a\\\"b\"") == 0, "rep_json_str NULL, empty, quote: %s", c.text);
	capture_free(&c);
}

/* ---- XML ---- */

static const char *xml_expected(unsigned char b, char *one)
{
	switch (b) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&apos;";
	default:
		one[0] = (b < 0x20 && b != '\t' && b != '\n') || b >= 0x7f ? '?' : (char)b;
		one[1] = '\0';
		return one;
	}
}

static void test_xml_every_byte(void)
{
	for (unsigned v = 1; v < 256; v++) {
		char s[2] = {(char)v, '\0'}, one[2];
		const char *want = xml_expected((unsigned char)v, one);
		struct capture c;
		capture_open(&c);
		rep_xml_str(c.f, s);
		capture_close(&c);
		CHECK(strcmp(c.text, want) == 0, "rep_xml_str(0x%02x) = '%s', want '%s'", v, c.text, want);
		capture_free(&c);
	}
	struct capture c;
	capture_open(&c);
	rep_xml_str(c.f, NULL);
	capture_close(&c);
	CHECK(c.len == 0, "rep_xml_str(NULL) writes nothing");
	capture_free(&c);
}

/* ---- rep_escape ---- */

static void escape_expected(char *out, unsigned char b)
{
	const char *escape = backslash_escape(b);
	if (escape != NULL)
		strcpy(out, escape);
	else if (b >= 0x20 && b < 0x7f)
		sprintf(out, "%c", b);
	else
		sprintf(out, "\\x%c%c", hexdigits[b >> 4], hexdigits[b & 15]);
}

static void test_escape_every_byte(void)
{
	for (unsigned v = 0; v < 256; v++) {
		unsigned char b = (unsigned char)v;
		char want[8], got[16], one[8];
		escape_expected(want, b);
		rep_escape(got, sizeof got, &b, 1);
		CHECK(strcmp(got, want) == 0, "rep_escape(0x%02x) = '%s', want '%s'", v, got, want);
		size_t n = rep_escape_byte(one, b);
		CHECK(n == strlen(want) && strcmp(one, want) == 0, "rep_escape_byte(0x%02x) = '%s' (%zu)", v,
		      one, n);
	}
}

/* Every outlen from 1 up: the result is the whole rendering, or a prefix ending at a byte's boundary
 * followed by as many of "..." as fit; never longer than outlen - 1. */
static void test_escape_cut(void)
{
	static const unsigned char in[] = "ab\x01\n\\cd\xff\tefgh";
	size_t n = sizeof in - 1, full_len = 0, bound[sizeof in];
	char full[128], got[128], one[8];

	full[0] = '\0';
	bound[0] = 0;
	for (size_t i = 0; i < n; i++) {
		full_len += rep_escape_byte(one, in[i]);
		strcat(full, one);
		bound[i + 1] = full_len;
	}
	for (size_t outlen = 1; outlen < full_len + 4; outlen++) {
		memset(got, 'Z', sizeof got);
		rep_escape(got, outlen, in, n);
		size_t len = strlen(got);
		CHECK(len < outlen, "outlen %zu: length %zu", outlen, len);
		if (outlen > full_len) {
			CHECK(strcmp(got, full) == 0, "outlen %zu: '%s', want the whole '%s'", outlen, got,
			      full);
			continue;
		}
		size_t dots = 0;
		while (dots < len && dots < 3 && got[len - 1 - dots] == '.')
			dots++;
		size_t keep = len - dots, kept = n + 1; /* kept: the bytes before the cut */
		for (size_t i = 0; i <= n; i++)
			if (bound[i] == keep)
				kept = i;
		CHECK(kept < n && strncmp(got, full, keep) == 0, "outlen %zu: '%s' is not a cut of '%s'",
		      outlen, got, full);
		CHECK(dots == (outlen - 1 < 3 ? outlen - 1 : 3), "outlen %zu: '%s' ends with %zu dots",
		      outlen, got, dots);
		if (kept < n)
			CHECK(keep + rep_escape_byte(one, in[kept]) + 3 > outlen - 1,
			      "outlen %zu: '%s' cut more than needed", outlen, got);
	}
}

/* ---- hexdump ---- */

static void test_hexdump(void)
{
	unsigned char p[20];
	struct capture c;

	for (size_t i = 0; i < sizeof p; i++)
		p[i] = (unsigned char)(0x41 + i + (i == 3 ? 0x80 : 0));
	capture_open(&c);
	rep_hexdump(c.f, "> ", p, sizeof p, 0x1f0, -1);
	capture_close(&c);
	CHECK(strcmp(c.text,
	             "> 000001f0  41 42 43 c4 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50  |ABC.EFGHIJKLMNOP|\n"
	             "> 00000200  51 52 53 54                                      |QRST|\n") == 0,
	      "hexdump:\n%s", c.text);
	capture_free(&c);

	capture_open(&c);
	rep_hexdump(c.f, "", p, sizeof p, 0, 1);
	rep_hexdump(c.f, "", p, 0, 0, 1);
	capture_close(&c);
	CHECK(strncmp(c.text, "00000000  41", 12) == 0 && strstr(c.text, "|\n...\n") != NULL &&
	          strstr(c.text, "00000010") == NULL,
	      "hexdump cut at one line:\n%s", c.text);
	capture_free(&c);
}

/* ---- number parsing ---- */

static void test_parse_u64(void)
{
	static const struct {
		const char *s;
		uint64_t min, max;
		int suffixes;
		int ok;
		uint64_t want;
	} t[] = {
	    {"", 0, 10, 0, 0, 0},
	    {"0", 0, 10, 0, 1, 0},
	    {"007", 0, 10, 0, 1, 7},
	    {"+1", 0, 10, 0, 0, 0},
	    {"-1", 0, 10, 0, 0, 0},
	    {" 1", 0, 10, 0, 0, 0},
	    {"1 ", 0, 10, 0, 0, 0},
	    {"12x", 1, 64, 0, 0, 0},
	    {"1.5", 0, 10, 0, 0, 0},
	    {"0x10", 0, 100, 0, 0, 0},
	    {"0", 1, 64, 0, 0, 0},
	    {"1", 1, 64, 0, 1, 1},
	    {"64", 1, 64, 0, 1, 64},
	    {"65", 1, 64, 0, 0, 0},
	    {"18446744073709551615", 0, UINT64_MAX, 0, 1, UINT64_MAX},
	    {"18446744073709551616", 0, UINT64_MAX, 0, 0, 0},
	    {"99999999999999999999", 0, UINT64_MAX, 0, 0, 0},
	    {"1k", 0, UINT64_MAX, 0, 0, 0},
	    {"1k", 0, UINT64_MAX, 1, 1, 1024},
	    {"1K", 0, UINT64_MAX, 1, 1, 1024},
	    {"3m", 0, UINT64_MAX, 1, 1, 3u << 20},
	    {"2g", 0, UINT64_MAX, 1, 1, 2ull << 30},
	    {"2G", 0, 1u << 30, 1, 0, 0},
	    {"1g", 1, 1u << 30, 1, 1, 1u << 30},
	    {"17179869183g", 0, UINT64_MAX, 1, 1, 17179869183ull << 30},
	    {"17179869184g", 0, UINT64_MAX, 1, 0, 0},
	    {"18014398509481985k", 1, 1u << 30, 1, 0, 0},
	    {"18014398509481984k", 0, UINT64_MAX, 1, 0, 0},
	    {"1kk", 0, UINT64_MAX, 1, 0, 0},
	    {"1kb", 0, UINT64_MAX, 1, 0, 0},
	    {"k", 0, UINT64_MAX, 1, 0, 0},
	    {"1t", 0, UINT64_MAX, 1, 0, 0},
	    {"0k", 1, 10, 1, 0, 0},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		uint64_t v = 12345;
		char err[128] = "";
		int r = util_parse_u64(t[i].s, t[i].min, t[i].max, t[i].suffixes, &v, err, sizeof err);
		if (t[i].ok)
			CHECK(r == 0 && v == t[i].want, "'%s': %d %llu, want %llu (%s)", t[i].s, r,
			      (unsigned long long)v, (unsigned long long)t[i].want, err);
		else
			CHECK(r == -1 && v == 12345 && err[0] != '\0', "'%s' [%llu, %llu]: accepted as %llu",
			      t[i].s, (unsigned long long)t[i].min, (unsigned long long)t[i].max,
			      (unsigned long long)v);
	}
	char err[128];
	uint64_t v;
	util_parse_u64("12x", 1, 64, 0, &v, err, sizeof err);
	CHECK(strcmp(err, "'12x' is not a number from 1 to 64") == 0, "message: %s", err);
}

static void test_parse_seconds(void)
{
	static const struct {
		const char *s;
		double min, max;
		int ok;
		double want;
	} t[] = {
	    {"", 0, 10, 0, 0},         {"1", 0, 10, 1, 1},
	    {"0.5", 0, 10, 1, 0.5},    {".5", 0, 10, 1, 0.5},
	    {"5.", 0, 10, 1, 5},       {".", 0, 10, 0, 0},
	    {"1e1", 0, 10, 1, 10},     {"1e2", 0, 10, 0, 0},
	    {"1e999", 0, 1e308, 0, 0}, {"nan", 0, 10, 0, 0},
	    {"NaN", 0, 10, 0, 0},      {"inf", 0, 1e308, 0, 0},
	    {"-inf", -1e308, 0, 0, 0}, {"infinity", 0, 1e308, 0, 0},
	    {"-1", -10, 10, 0, 0},     {"+1", 0, 10, 0, 0},
	    {" 1", 0, 10, 0, 0},       {"1 ", 0, 10, 0, 0},
	    {"1s", 0, 10, 0, 0},       {"0x10", 0, 100, 0, 0},
	    {"0", 0.001, 10, 0, 0},    {"0.001", 0.001, 10, 1, 0.001},
	    {"10", 0, 10, 1, 10},      {"10.01", 0, 10, 0, 0},
	    {"1..2", 0, 10, 0, 0},     {"1e", 0, 10, 0, 0},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		double v = -42;
		char err[128] = "";
		int r = util_parse_seconds(t[i].s, t[i].min, t[i].max, &v, err, sizeof err);
		if (t[i].ok)
			CHECK(r == 0 && v == t[i].want, "'%s': %d %g, want %g (%s)", t[i].s, r, v, t[i].want,
			      err);
		else
			CHECK(r == -1 && v == -42 && err[0] != '\0', "'%s' [%g, %g]: accepted as %g", t[i].s,
			      t[i].min, t[i].max, v);
	}
}

/* ---- clock, stdout check, limits, IPv6 probe ---- */

static void test_clock(void)
{
	uint64_t a = util_now_ns();
	double s = util_now_s();
	uint64_t b = util_now_ns();

	CHECK(b >= a, "monotonic: %llu then %llu", (unsigned long long)a, (unsigned long long)b);
	CHECK(s >= (double)a / 1e9 - 1e-6 && s <= (double)b / 1e9 + 1e-6,
	      "util_now_s %f between the ns readings", s);
	CHECK(util_ms_left(0) == 0 && util_ms_left(a) == 0, "a past deadline leaves 0 ms");
	int left = util_ms_left(util_now_ns() + 1500000u);
	CHECK(left == 2 || left == 1, "1.5 ms ahead leaves %d ms (rounded up)", left);
	CHECK(util_ms_left(UINT64_MAX) == INT_MAX, "a far deadline is capped at INT_MAX");
	uint64_t t0 = util_now_ns();
	util_sleep_ms(20);
	CHECK(util_now_ns() - t0 >= 20000000u, "util_sleep_ms(20) slept %llu ns",
	      (unsigned long long)(util_now_ns() - t0));
	util_sleep_ms(0);
	util_sleep_ms(-5);
}

static void test_flush_ok(void)
{
	struct capture c;
	capture_open(&c);
	fputs("fine", c.f);
	CHECK(util_flush_ok(c.f) == 0, "a memory stream flushes");
	capture_close(&c);
	capture_free(&c);

	FILE *f = fopen("/dev/full", "w");
	if (f == NULL) {
		CU_PASS("no /dev/full on this host");
		return;
	}
	fputs("lost", f);
	errno = 0;
	int r = util_flush_ok(f);
	CHECK(r == -1 && errno == ENOSPC, "/dev/full: %d errno %d", r, errno);
	r = util_flush_ok(f); /* nothing left to write: the error flag still says so */
	CHECK(r == -1 && errno != 0, "/dev/full again: %d errno %d", r, errno);
	fclose(f);
}

static void test_limits_and_ipv6(void)
{
	long before = util_raise_nofile(0);
	CHECK(before > 0, "the soft limit reads (%ld)", before);
	CHECK(util_raise_nofile(1) == before, "a smaller want does not lower the limit");
	long after = util_raise_nofile(LONG_MAX);
	CHECK(after >= before, "raising to the hard limit: %ld from %ld", after, before);
	for (int i = 0; i < 2; i++) {
		int r = util_have_ipv6_loopback(i ? SOCK_DGRAM : SOCK_STREAM);
		CHECK(r == 0 || r == 1, "util_have_ipv6_loopback(%s) = %d", i ? "udp" : "tcp", r);
	}
}

/* util_mkdir_out: the one rule for output directories: an existing one taken, a missing last part made,
 * a missing parent refused naming it, a file in the way refused. */
static void test_mkdir_out(void)
{
	char base[] = "/tmp/test_lib_mkdir_out.XXXXXX", path[512], err[512];
	struct stat st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(base));
	snprintf(path, sizeof path, "%s/new", base);
	CHECK(util_mkdir_out(path, err, sizeof err) == 0, "last part: %.200s", err);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "%.200s made", path);
	CHECK(util_mkdir_out(path, err, sizeof err) == 0, "again: %.200s", err);
	CHECK(rmdir(path) == 0, "rmdir");
	snprintf(path, sizeof path, "%s/deep/er/dir", base);
	errno = 0;
	CHECK(util_mkdir_out(path, err, sizeof err) == -1 && errno == ENOENT, "missing parent: errno %d",
	      errno);
	CHECK(strstr(err, "deep/er does not exist") != NULL, "names the parent: %.300s", err);
	snprintf(path, sizeof path, "%s/deep", base);
	CHECK(stat(path, &st) < 0, "nothing made on a refusal");
	CHECK(util_mkdir_out("/etc/passwd", err, sizeof err) == -1 && errno == ENOTDIR, "a file: errno %d",
	      errno);
	CHECK(util_mkdir_out("", err, sizeof err) == -1, "empty");
	CHECK(rmdir(base) == 0, "%.200s: left empty", base);
}

/* util_parse_duration; net_parse_listen: PORT is loopback, :PORT every address, as nc users expect. */
static void test_duration_and_listen(void)
{
	char err[256], name[NET_ADDRSTRLEN];
	struct net_addr a;
	double v;

	CHECK(util_parse_duration("250ms", 0, 10, &v, err, sizeof err) == 0 && v == 0.25, "250ms: %g", v);
	CHECK(util_parse_duration("3", 0, 10, &v, err, sizeof err) == 0 && v == 3, "3: %g", v);
	CHECK(util_parse_duration("1h", 0, 10, &v, err, sizeof err) < 0, "1h above 10 s");
	CHECK(util_parse_duration("2 s", 0, 10, &v, err, sizeof err) < 0, "a space");
	CHECK(util_parse_duration("2S", 0, 10, &v, err, sizeof err) < 0, "units are lower case");
	CHECK(strstr(err, "500ms, 2s, 1m") != NULL, "the message shows units: %s", err);
	static const struct {
		const char *in, *out;
	} rows[] = {{"8082", "127.0.0.1:8082"}, {"0", "127.0.0.1:0"},   {":8082", "0.0.0.0:8082"},
	            {":0", "0.0.0.0:0"},        {"[::1]:7", "[::1]:7"}, {"127.0.0.2:9", "127.0.0.2:9"}};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		CHECK(net_parse_listen(rows[i].in, &a, err, sizeof err) == 0, "%s: %s", rows[i].in, err);
		net_format((struct sockaddr *)&a.ss, name, sizeof name);
		CHECK(strcmp(name, rows[i].out) == 0, "%s: %s, want %s", rows[i].in, name, rows[i].out);
	}
	CHECK(net_parse_listen("99999", &a, err, sizeof err) < 0, "port 99999");
	CHECK(net_parse_listen(":x", &a, err, sizeof err) < 0, ":x");
	CHECK(net_parse_listen("", &a, err, sizeof err) < 0, "empty");
}

/* util_proc_stat, util_rss_kib, util_count_fds on this process, whose answers are known otherwise. */
/* util_mkdir_p: nested parts made, existing ones fine, a file anywhere in the way refused naming it. */
static void test_mkdir_p(void)
{
	char base[] = "/tmp/test_lib_mkdir.XXXXXX", path[512], file[512], err[256], big[PATH_MAX + 8];
	struct stat st;
	FILE *f;

	if (mkdtemp(base) == NULL) {
		CU_FAIL("mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/a/b//c/", base);
	CHECK(util_mkdir_p(path, 0777, err, sizeof err) == 0, "nested: %.200s", err);
	snprintf(path, sizeof path, "%s/a/b/c", base);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "%.200s is a directory", path);
	CHECK(util_mkdir_p(path, 0777, err, sizeof err) == 0, "again: %.200s", err);
	CHECK(util_mkdir_p("/", 0777, err, sizeof err) == 0, "/: %s", err);
	snprintf(file, sizeof file, "%s/file", base);
	f = fopen(file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	snprintf(path, sizeof path, "%s/file/sub/dir", base);
	errno = 0;
	CHECK(util_mkdir_p(path, 0777, err, sizeof err) == -1 && errno == ENOTDIR, "under a file: errno %d",
	      errno);
	CHECK(strstr(err, "/file/sub: ") != NULL, "names the part: %s", err);
	errno = 0;
	CHECK(util_mkdir_p(file, 0777, err, sizeof err) == -1 && errno == ENOTDIR, "a file: errno %d", errno);
	CHECK(strstr(err, file) != NULL, "names the file: %.200s", err);
	CHECK(util_mkdir_p("", 0777, err, sizeof err) == -1 && errno == ENOENT, "empty: errno %d", errno);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(util_mkdir_p(big, 0777, err, sizeof err) == -1 && errno == ENAMETOOLONG, "too long: errno %d",
	      errno);
	unlink(file);
	for (int i = 3; i > 0; i--) {
		snprintf(path, sizeof path, "%s/%.*s", base, 2 * i - 1, "a/b/c");
		rmdir(path);
	}
	CHECK(rmdir(base) == 0, "%.200s: left empty", base);
}

static void test_proc(void)
{
	struct util_proc_stat st;
	CHECK(util_proc_stat(getpid(), &st) == 0, "util_proc_stat of this process");
	CHECK(st.parent == getppid() && st.group == getpgrp(), "parent %ld (want %ld), group %ld (want %ld)",
	      (long)st.parent, (long)getppid(), (long)st.group, (long)getpgrp());
	CHECK(st.threads == 1 && st.cpu_s >= 0, "threads %ld, cpu %.3f s", st.threads, st.cpu_s);
	CHECK(util_rss_kib(getpid()) > 0, "resident memory of this process");
	int fds = util_count_fds(getpid()), fd = dup(0);
	CHECK(fd >= 0 && util_count_fds(getpid()) == fds + 1, "one more descriptor counted");
	close(fd);
	CHECK(util_proc_stat(0, &st) < 0 && util_rss_kib(0) < 0 && util_count_fds(0) < 0, "no process 0");
}

/* ---- TAP ---- */

static void test_tap(void)
{
	static const struct {
		struct rep_case c;
		int todo;
		const char *want;
	} t[] = {
	    {{.name = "tcp/echo", .status = REP_PASS}, 0, "ok 1 - tcp/echo\n"},
	    {{.name = "tcp/echo", .status = REP_PASS, .detail = "d1\nd2"},
	     0,
	     "ok 1 - tcp/echo\n# d1\n# d2\n"},
	    {{.name = "udp/v6", .status = REP_SKIP, .message = "no IPv6"},
	     0,
	     "ok 1 - udp/v6 # SKIP no IPv6\n"},
	    {{.name = "a#b", .status = REP_FAIL, .message = "m"}, 1, "not ok 1 - a\\#b # TODO m\n"},
	    {{.name = "x\ny", .status = REP_FAIL, .message = "wrong", .detail = "l1\nl2\n"},
	     0,
	     "not ok 1 - x y\n# wrong\n# l1\n# l2\n"},
	    {{.name = "e", .status = REP_ERROR, .message = "no server"}, 0, "not ok 1 - e\n# no server\n"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct capture c;
		capture_open(&c);
		int r = rep_tap(c.f, 1, &t[i].c, t[i].todo);
		capture_close(&c);
		CHECK(r == 0 && strcmp(c.text, t[i].want) == 0, "row %zu: '%s', want '%s'", i, c.text,
		      t[i].want);
		capture_free(&c);
	}
}

/* ---- JUnit ---- */

static int count_of(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(s, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Runs xmllint on path: 0 when it parses, 1 when it does not, -1 when xmllint is not installed. With an
 * xpath, its result is stored in out. */
static int xmllint(const char *path, const char *xpath, char *out, size_t outlen)
{
	char cmd[512];

	if (system("command -v xmllint >/dev/null 2>&1") != 0)
		return -1;
	if (xpath == NULL) {
		snprintf(cmd, sizeof cmd, "xmllint --noout '%s' 2>&1", path);
		return system(cmd) == 0 ? 0 : 1;
	}
	snprintf(cmd, sizeof cmd, "xmllint --xpath '%s' '%s' 2>/dev/null", xpath, path);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return 1;
	size_t n = fread(out, 1, outlen - 1, p);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		n--;
	out[n] = '\0';
	return pclose(p) == 0 ? 0 : 1;
}

static void test_junit(void)
{
	char all[256], path[] = "/tmp/test_lib_junit.XXXXXX", got[64];
	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	const struct rep_property props[] = {{"rule", "X1"}, {"bytes", all}};
	const struct rep_case c[] = {
	    {.classname = "conform.tcp", .name = "tcp/ok", .status = REP_PASS, .secs = 0.25},
	    {.name = all,
	     .status = REP_FAIL,
	     .message = all,
	     .detail = all,
	     .type = "MUST",
	     .properties = props,
	     .nproperties = 2,
	     .system_out = all},
	    {.name = "skip", .status = REP_SKIP, .message = "no IPv6", .type = "ignored"},
	    {.name = "err", .status = REP_ERROR, .message = "<server died>", .type = "setup"},
	    {.name = "fail2", .status = REP_FAIL, .message = "x"},
	};
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	FILE *f = fdopen(fd, "w");
	CU_ASSERT_FATAL(f != NULL);
	CHECK(rep_junit(f, "conform", c, 5, 1.5) == 0, "rep_junit returns 0");
	fclose(f);

	f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	char text[8192];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	int clean = 1;
	for (size_t i = 0; i < n; i++)
		clean &= ((unsigned char)text[i] >= 0x20 && (unsigned char)text[i] < 0x7f) ||
		         text[i] == '\n' || text[i] == '\t';
	CHECK(clean, "the document is printable ASCII, tab and newline");
	CHECK(strncmp(text,
	              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"conform\" tests=\"5\" "
	              "failures=\"2\" errors=\"1\" skipped=\"1\" time=\"1.500\">\n",
	              115) == 0,
	      "document head:\n%.200s", text);
	CHECK(count_of(text, "<testcase ") == 5 && count_of(text, "<failure ") == 2 &&
	          count_of(text, "<error ") == 1 && count_of(text, "<skipped ") == 1,
	      "elements of 5 cases");
	CHECK(strstr(text, "<testcase classname=\"conform.tcp\" name=\"tcp/ok\" time=\"0.250\"/>") != NULL,
	      "a pass is an empty testcase");
	CHECK(strstr(text, "classname=\"conform\" name=\"skip\"") != NULL, "no classname: the suite's");
	CHECK(strstr(text, "message=\"&lt;server died&gt;\" type=\"setup\"/>") != NULL,
	      "error with its type");
	CHECK(strstr(text, "<skipped message=\"no IPv6\"/>") != NULL, "a skip has no type");
	CHECK(strstr(text, "<property name=\"rule\" value=\"X1\"/>") != NULL, "properties");

	int r = xmllint(path, NULL, NULL, 0);
	if (r < 0) {
		fprintf(stderr, "    (no xmllint: the JUnit document was not parsed back)\n");
	} else {
		CHECK(r == 0, "xmllint parses %s", path);
		CHECK(xmllint(path, "count(//testcase)", got, sizeof got) == 0 && strcmp(got, "5") == 0,
		      "xpath testcases %s", got);
		CHECK(xmllint(path, "string(/testsuites/@failures)", got, sizeof got) == 0 &&
		          strcmp(got, "2") == 0,
		      "xpath failures %s", got);
		CHECK(xmllint(path, "string(//testcase[2]/failure/@message)", got, sizeof got) == 0 &&
		          strncmp(got, "????????  ??", 12) == 0,
		      "xpath failure message '%.12s' (tab and newline read back as spaces in an attribute)",
		      got);
	}
	unlink(path);
}

static void test_junit_pieces(void)
{
	const struct rep_case a[] = {{.name = "f1", .status = REP_FAIL, .message = "m"},
	                             {.name = "ok", .status = REP_PASS}};
	const struct rep_case all[] = {a[0], a[1], {.name = "s", .status = REP_SKIP}};
	struct capture c;

	capture_open(&c);
	rep_junit_begin(c.f, "replay", all, 3, 0);
	rep_junit_suite(c.f, "one.pcap", a, 2, 0);
	rep_junit_suite(c.f, "two.pcap", all + 2, 1, 0);
	CHECK(rep_junit_end(c.f) == 0, "rep_junit_end returns 0");
	capture_close(&c);
	CHECK(count_of(c.text, "<testsuite ") == 2 && count_of(c.text, "</testsuite>") == 2,
	      "two suites:\n%s", c.text);
	CHECK(strstr(c.text,
	             "<testsuites name=\"replay\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\"") !=
	          NULL,
	      "document counts every suite's cases");
	CHECK(strstr(c.text,
	             "<testsuite name=\"two.pcap\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\"") !=
	          NULL,
	      "a suite counts its own");
	CHECK(strstr(c.text, "<failure message=\"m\"/>") != NULL, "a failure without detail is empty");
	capture_free(&c);

	FILE *f = fopen("/dev/full", "w");
	if (f != NULL) {
		errno = 0;
		CHECK(rep_junit(f, "s", a, 2, 0) == -1 && errno != 0, "a full disk is reported");
		fclose(f);
	}
}

int main(void)
{
	static const struct unit_test tests[] = {
	    {"rep_json_bytes: every byte value", test_json_every_byte},
	    {"rep_json_bytes: reads back; rep_json_str", test_json_round_trip},
	    {"rep_xml_str: every byte value", test_xml_every_byte},
	    {"rep_escape: every byte value", test_escape_every_byte},
	    {"rep_escape: cut at every length", test_escape_cut},
	    {"rep_hexdump", test_hexdump},
	    {"util_parse_u64: edge cases", test_parse_u64},
	    {"util_parse_seconds: edge cases", test_parse_seconds},
	    {"util clock", test_clock},
	    {"util_flush_ok", test_flush_ok},
	    {"util_mkdir_p", test_mkdir_p},
	    {"util_mkdir_out", test_mkdir_out},
	    {"util_parse_duration, net_parse_listen", test_duration_and_listen},
	    {"util_raise_nofile, util_have_ipv6_loopback", test_limits_and_ipv6},
	    {"util_proc_stat, util_rss_kib, util_count_fds", test_proc},
	    {"rep_tap", test_tap},
	    {"rep_junit: escaping, counts, xmllint", test_junit},
	    {"rep_junit in pieces, stream errors", test_junit_pieces},
	};

	return unit_run("lib", tests, sizeof tests / sizeof tests[0]);
}
