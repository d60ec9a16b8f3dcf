/* fuzz_udp.c - fuzz target: a sequence of datagrams from many senders with the kernel's events around
 * them (script.h), run through udp-upper's own batch loop (servers/udp_loop.c) over a simulated kernel
 * (udpsim.h); each reply is checked against its own datagram (SPEC X1 through oracle_udp_check, U2-U6)
 * and its sender's address and port (U1), and every unanswered datagram must be one the kernel refused
 * and the loop counted (U5). Any breach aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_TARGET_NAME "fuzz_udp"
#include "fuzz.h"
#include "udpsim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct udpsim *sim; /* allocated once: the loop's slots and the reference copies */
	char why[320];
	enum udpsim_result r;

	if (sim == NULL)
		sim = udpsim_new(why, sizeof why);
	FUZZ_ASSERT(sim != NULL, "set-up failed", "%s", why);
	r = udpsim_run(sim, data, size, NULL, why, sizeof why);
	FUZZ_ASSERT(r != UDPSIM_ERROR, "set-up failed", "%s", why);
	FUZZ_ASSERT(r == UDPSIM_OK, "SPEC breach", "%s", why);
	return 0;
}
