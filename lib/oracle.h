/* oracle.h - what a correct server sends back, from the plain rule of SPEC X1. Every checker (fuzz
 * targets, replay, conform, the load generator, the tests) judges bytes with these functions, which
 * never call the servers' fast transform (upper_transform() and its SIMD paths): a bug there cannot
 * hide behind its own oracle. Pure: no syscalls, no globals, no allocation. */
#ifndef ORACLE_H
#define ORACLE_H

#include <stddef.h>

/* SPEC X1 as written: 'a'-'z' become 'A'-'Z'; every other byte value is sent back unchanged. */
static inline unsigned char oracle_x1(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return (unsigned char)(c - 'a' + 'A');
	return c;
}

/* Compares got[0..glen) with oracle_x1() of sent[0..slen). Returns the first offset where they
 * differ; if one is a prefix of the other, returns the shorter length. So a result equal to
 * slen == glen means "identical", and a result equal to glen < slen means "a correct prefix". */
size_t oracle_mismatch(const unsigned char *sent, size_t slen, const unsigned char *got, size_t glen);

/* Writes oracle_x1() of src[0..n) to dst[0..n) (dst may equal src): expected bytes for a report. */
void oracle_expect(unsigned char *dst, const unsigned char *src, size_t n);

/* oracle_udp_check()'s results: the rule a UDP reply breaks. */
enum {
	ORACLE_UDP_OK = 0,
	ORACLE_UDP_TRUNCATED, /* U4: shorter than the request */
	ORACLE_UDP_AMPLIFIED, /* U6: longer than the request */
	ORACLE_UDP_CONTENT    /* X1: same length, wrong bytes */
};

/* Checks one UDP reply against its request (U1-U6, X1). Returns ORACLE_UDP_OK when the reply is exactly
 * right; otherwise the failing rule's ORACLE_UDP_* code, with a one-line reason naming the rule and
 * the offset in why[0..whylen) (why may be NULL). A reply both wrong and of the wrong length is
 * reported as CONTENT when a byte both hold differs. */
int oracle_udp_check(const unsigned char *req, size_t reqlen, const unsigned char *rep, size_t replen,
                     char *why, size_t whylen);

/* What oracle_unicode_hint() recognised in a difference. */
enum oracle_hint {
	ORACLE_HINT_NONE = 0,
	ORACLE_HINT_UNICODE, /* a UTF-8 character of the request came back uppercased as Unicode text */
	ORACLE_HINT_LATIN1,  /* a single Latin-1 letter byte (0xe0-0xfe) came back as its uppercase byte */
	ORACLE_HINT_REPLACEMENT, /* a byte that is not UTF-8 came back as U+FFFD, or as '?' */
	ORACLE_HINT_LOCALE       /* 'i' came back as U+0130: uppercased by a Turkish locale */
};

/* Looks at the first place where got[0..glen) differs from SPEC X1's answer to sent[0..slen): when got
 * holds there what uppercasing the text as Unicode does (Python's str.upper() on decoded UTF-8: e-acute
 * to E-acute, sharp s to "SS", the fi ligature to "FI", Greek, Cyrillic, dotless i to "I"), what
 * uppercasing Latin-1 bytes does, what decoding does to bytes that are not UTF-8 (U+FFFD, or '?' after
 * a round trip through a charset that cannot hold them), or what a Turkish locale does to 'i' (U+0130),
 * says so in why[0..whylen) (naming the code points, the offset, and what to change, in the words of
 * the languages that port the tutorial) and returns which; otherwise ORACLE_HINT_NONE and why
 * untouched. */
enum oracle_hint oracle_unicode_hint(const unsigned char *sent, size_t slen, const unsigned char *got,
                                     size_t glen, char *why, size_t whylen);

#endif
