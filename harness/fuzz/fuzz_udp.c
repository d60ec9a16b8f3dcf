/* fuzz_udp.c - fuzz target: a sequence of datagrams (script.h), each answered as udp-upper answers it
 * (upper_udp_reply in place, in a 65536-byte receive slot) and checked against SPEC U1-U6
 * (oracle_udp_check); any breach aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "oracle.h"
#include "script.h"
#include "upper.h"

#define SLOT 65536u /* as servers/udp_upper.c: one receive slot holds the largest payload */

static unsigned char req[SCRIPT_UDP_MAX6], rep[SLOT + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script_udp_dec d;
	size_t len;
	int family;
	char why[160];

	script_udp_init(&d, data, size);
	while (script_udp_next(&d, req, &len, &family)) {
		size_t max = family == 6 ? UPPER_UDP_MAX6 : UPPER_UDP_MAX4;
		/* U1: exactly one reply per datagram; a guard byte past the reply catches over-long writes.
		 */
		memcpy(rep, req, len);
		rep[len] = 0x5a;
		size_t n = upper_udp_reply(rep, rep, len);
		int rc = oracle_udp_check(req, len, rep, n, why, sizeof why);
		if (len > max || n > len || rep[len] != 0x5a || rc != ORACLE_UDP_OK) {
			fprintf(stderr, "fuzz_udp: SPEC breach on a %zu byte IPv%d datagram: %s\n", len,
			        family,
			        rc != ORACLE_UDP_OK ? why : "U2/U6: the reply overran its request's length");
			abort();
		}
		/* The oracle itself must see a reply one byte short (U4), one byte long (U6), a changed byte
		 * (X1). */
		if (len > 0 && oracle_udp_check(req, len, rep, len - 1, NULL, 0) != ORACLE_UDP_TRUNCATED) {
			fprintf(stderr, "fuzz_udp: oracle_udp_check accepts a truncated reply of %zu bytes\n",
			        len - 1);
			abort();
		}
		if (oracle_udp_check(req, len, rep, len + 1, why, sizeof why) != ORACLE_UDP_AMPLIFIED) {
			fprintf(stderr,
			        "fuzz_udp: oracle_udp_check accepts an amplified reply of %zu bytes\n",
			        len + 1);
			abort();
		}
		if (len > 0) {
			rep[len / 2] ^= 0x80;
			rc = oracle_udp_check(req, len, rep, len, why, sizeof why);
			rep[len / 2] ^= 0x80;
			if (rc != ORACLE_UDP_CONTENT) {
				fprintf(stderr, "fuzz_udp: oracle_udp_check accepts a changed byte %zu\n",
				        len / 2);
				abort();
			}
		}
	}
	return 0;
}
