/* fuzz_tcp.c - fuzz target: a TCP script (script.h) drives tcp-upper's whole event loop
 * (servers/tcp_loop.c) over a simulated kernel (tcpsim.h); any breach of SPEC T1/T4/T5/T6/T7/T8/T9 or B2
 * aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "tcpsim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	int rc = tcpsim_run(data, size, NULL, NULL, why, sizeof why);

	if (rc > 0) {
		fprintf(stderr, "fuzz_tcp: SPEC breach: %s\n", why);
		abort();
	}
	if (rc < 0) {
		fprintf(stderr, "fuzz_tcp: %s\n", why); /* resources, not a finding: skip the input */
		return -1;
	}
	return 0;
}
