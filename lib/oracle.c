/* oracle.c - the checkers' expectation of a correct server, from the plain rule of SPEC X1. */
#include "oracle.h"

#include <stdio.h>
#include <string.h>

size_t oracle_mismatch(const unsigned char *sent, size_t slen, const unsigned char *got, size_t glen)
{
	size_t n = slen < glen ? slen : glen;

	for (size_t i = 0; i < n; i++)
		if (oracle_x1(sent[i]) != got[i])
			return i;
	return n;
}

void oracle_expect(unsigned char *dst, const unsigned char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = oracle_x1(src[i]);
}

int oracle_udp_check(const unsigned char *req, size_t reqlen, const unsigned char *rep, size_t replen,
                     char *why, size_t whylen)
{
	size_t at = oracle_mismatch(req, reqlen, rep, replen);
	int rc = ORACLE_UDP_OK;

	if (at < reqlen && at < replen)
		rc = ORACLE_UDP_CONTENT;
	else if (replen < reqlen)
		rc = ORACLE_UDP_TRUNCATED;
	else if (replen > reqlen)
		rc = ORACLE_UDP_AMPLIFIED;
	if (rc == ORACLE_UDP_OK || why == NULL || whylen == 0)
		return rc;
	switch (rc) {
	case ORACLE_UDP_CONTENT:
		snprintf(why, whylen, "X1: reply byte %zu is 0x%02x, expected 0x%02x", at, rep[at],
		         oracle_x1(req[at]));
		break;
	case ORACLE_UDP_TRUNCATED:
		snprintf(why, whylen, "U4: reply has %zu bytes, request had %zu (truncated)", replen, reqlen);
		break;
	default:
		snprintf(why, whylen, "U6: reply has %zu bytes, request had %zu (amplified)", replen, reqlen);
		break;
	}
	return rc;
}

/* Decodes one well-formed UTF-8 character (shortest form, no surrogates) at p[0..n). Returns its length
 * (1-4) with the code point in *cp, or 0 when the bytes are not one. */
static size_t utf8_decode(const unsigned char *p, size_t n, unsigned *cp)
{
	static const unsigned minimum[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len = p[0] < 0x80                   ? 1
	             : p[0] >= 0xc2 && p[0] < 0xe0 ? 2
	             : p[0] >= 0xe0 && p[0] < 0xf0 ? 3
	             : p[0] >= 0xf0 && p[0] < 0xf5 ? 4
	                                           : 0;
	if (len == 0 || len > n)
		return 0;
	unsigned v = len == 1 ? p[0] : p[0] & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3fu);
	}
	if (v < minimum[len] || (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
		return 0;
	*cp = v;
	return len;
}

static size_t utf8_encode(unsigned cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The Unicode uppercase of cp for the scripts the checkers send (Latin-1, Latin Extended-A, Greek,
 * Cyrillic, the Latin ligatures), as up to 3 code points in up[]; returns how many, 0 when cp is not
 * a lowercase letter of those. */
static size_t unicode_upper(unsigned cp, unsigned up[3])
{
	static const struct {
		unsigned cp;
		const char *upper;
	} special[] = {{0xdf, "SS"},   {0xfb00, "FF"},  {0xfb01, "FI"},
	               {0xfb02, "FL"}, {0xfb03, "FFI"}, {0xfb04, "FFL"}};
	for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
		if (special[i].cp == cp) {
			size_t n = 0;
			for (const char *s = special[i].upper; *s != '\0'; s++)
				up[n++] = (unsigned char)*s;
			return n;
		}
	unsigned u = 0;
	if (cp == 0xb5)
		u = 0x39c; /* micro sign to Greek capital mu */
	else if (cp == 0xff)
		u = 0x178;
	else if (cp >= 0xe0 && cp <= 0xfe && cp != 0xf7)
		u = cp - 0x20;
	else if (cp == 0x131)
		u = 'I'; /* dotless i */
	else if (cp == 0x17f)
		u = 'S'; /* long s */
	else if (((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14a && cp <= 0x177)) && (cp & 1))
		u = cp - 1;
	else if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e)) && !(cp & 1))
		u = cp - 1;
	else if (cp == 0x3c2)
		u = 0x3a3; /* final sigma */
	else if (cp >= 0x3b1 && cp <= 0x3cb)
		u = cp - 0x20;
	else if (cp == 0x3ac)
		u = 0x386;
	else if (cp >= 0x3ad && cp <= 0x3af)
		u = cp - 0x25;
	else if (cp == 0x3cc)
		u = 0x38c;
	else if (cp == 0x3cd || cp == 0x3ce)
		u = cp - 0x3f;
	else if (cp >= 0x430 && cp <= 0x44f)
		u = cp - 0x20;
	else if (cp >= 0x450 && cp <= 0x45f)
		u = cp - 0x50;
	if (u == 0)
		return 0;
	up[0] = u;
	return 1;
}

/* What to change, in each language's words: the end of every hint. */
#define ORACLE_HINT_FIX                                                                                      \
	"X1 changes only the bytes a-z: uppercase bytes, not text (Python bytes.upper(), Rust "              \
	"to_ascii_uppercase(), Perl tr/a-z/A-Z/, a loop over 'a'-'z' in Go, Java, Node.js)"

enum oracle_hint oracle_unicode_hint(const unsigned char *sent, size_t slen, const unsigned char *got,
                                     size_t glen, char *why, size_t whylen)
{
	size_t at = oracle_mismatch(sent, slen, got, glen);
	if (at >= slen || at >= glen)
		return ORACLE_HINT_NONE;
	size_t start = at;
	while (start > 0 && at - start < 3 && (sent[start] & 0xc0) == 0x80)
		start--;
	unsigned cp, up[3];
	size_t len = utf8_decode(sent + start, slen - start, &cp);
	size_t n = len > 1 ? unicode_upper(cp, up) : 0;
	const char *hint = NULL;
	enum oracle_hint kind = ORACLE_HINT_NONE;
	unsigned ignored;
	int not_utf8 = utf8_decode(sent + at, slen - at, &ignored) == 0; /* the byte at the difference */
	if (n > 0) {
		unsigned char want[12];
		size_t want_len = 0;
		for (size_t i = 0; i < n; i++)
			want_len += utf8_encode(up[i], want + want_len);
		if (glen - start >= want_len && memcmp(got + start, want, want_len) == 0) {
			char shown[40];
			int w = snprintf(shown, sizeof shown, "U+%04X", up[0]);
			for (size_t i = 1; i < n && w > 0 && (size_t)w < sizeof shown; i++)
				w += snprintf(shown + w, sizeof shown - (size_t)w, " U+%04X", up[i]);
			if (why != NULL && whylen > 0)
				snprintf(
				    why, whylen,
				    "looks like Unicode-aware uppercasing (text decoded as UTF-8 and "
				    "uppercased: Python's str.upper(), JavaScript's and Java's "
				    "toUpperCase(), Go's strings.ToUpper, Rust's to_uppercase(), Perl's uc "
				    "on decoded text): U+%04X at byte %zu became %s%s; " ORACLE_HINT_FIX,
				    cp, start, shown, want_len != len ? ", changing the length" : "");
			return ORACLE_HINT_UNICODE;
		}
	}
	if (sent[at] == 'i' && glen - at >= 2 && got[at] == 0xc4 && got[at + 1] == 0xb0) {
		kind = ORACLE_HINT_LOCALE;
		hint =
		    "looks like uppercasing by locale: 'i' at byte %zu became U+0130, the dotted capital I "
		    "of a Turkish locale (Java's toUpperCase() without Locale.ROOT, C's toupper() after "
		    "setlocale()); ";
	} else if (not_utf8 && glen - at >= 3 && got[at] == 0xef && got[at + 1] == 0xbf &&
	           got[at + 2] == 0xbd) {
		kind = ORACLE_HINT_REPLACEMENT;
		hint = "looks like text decoding: byte 0x%02x at %zu, not UTF-8, became U+FFFD (Go's "
		       "string(b), Rust's from_utf8_lossy, Node's toString(), Java's new String(bytes), "
		       "Perl's decode_utf8); ";
	} else if (sent[at] >= 0x80 && got[at] == '?') {
		kind = ORACLE_HINT_REPLACEMENT;
		hint = "looks like a charset round trip: byte 0x%02x at %zu became '?' (Java's new "
		       "String(bytes).getBytes() with the platform charset, US-ASCII under LANG=C); ";
	} else if (not_utf8 && sent[at] >= 0xe0 && sent[at] <= 0xfe && sent[at] != 0xf7 &&
	           got[at] == sent[at] - 0x20) {
		kind = ORACLE_HINT_LATIN1;
		hint = "looks like Latin-1 text uppercased: byte 0x%02x at %zu became 0x%02x (Perl's uc "
		       "under use v5.12 or later, toupper() in a Latin-1 locale); ";
	}
	if (kind == ORACLE_HINT_NONE)
		return ORACLE_HINT_NONE;
	if (why != NULL && whylen > 0) {
		char head[300];
		if (kind == ORACLE_HINT_LOCALE)
			snprintf(head, sizeof head, hint, at);
		else
			snprintf(head, sizeof head, hint, sent[at], at, got[at]);
		snprintf(why, whylen, "%s" ORACLE_HINT_FIX, head);
	}
	return kind;
}
