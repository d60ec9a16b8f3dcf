/* oracle.c - the checkers' expectation of a correct server, from the plain rule of SPEC X1. */
#include "oracle.h"

#include <stdio.h>

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
