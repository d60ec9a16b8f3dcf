/* random_phase.h - conform's random phase (--random N --seed S): sequences of pipelined sends,
 * half-closes and resets over tens of TCP connections, some of which stop reading while the server owes
 * them bytes, and UDP bursts from many senders, over IPv4 and IPv6 (random_sequence.h says what a
 * sequence does). Every byte is judged by the stream oracle of lib/exchange.h; a failing sequence is
 * shrunk and written as fuzz inputs. */
#ifndef RANDOM_PHASE_H
#define RANDOM_PHASE_H

#include <stddef.h>
#include <stdint.h>

#include "case.h"

struct random_phase_options {
	/* Where a failing sequence's fuzz inputs go (created when missing): DIR/random_seed-S.tcp-K, one
	 * per TCP script (lib/script.h TCP format), and DIR/random_seed-S.udp (UDP format). */
	const char *seeds_dir;
	/* When not NULL, called with restart_arg to get a serving target again after a failing attempt
	 * may have killed the server (returns 0, or -1 when the server could not be restarted). */
	int (*restart)(void *);
	void *restart_arg;
};

/* Runs the sequence of seed over the target. Returns 0 on pass, -1 on failure: the result's message
 * says which operation, connection, offset and rule, its note the shrunk sequence, the seed files and
 * the commands that replay them; *rule (when rule is not NULL) is set to the SPEC rule that failed. */
int random_phase_run(struct case_context *c, uint64_t seed, const struct random_phase_options *o,
                     const char **rule);

/* Whether the target is reachable over IPv6 for the random phase (1), or not (0, with the reason in
 * why: the IPv6 part of each sequence then runs over the target's own address). */
int random_phase_ipv6(const struct case_context *c, char *why, size_t len);

#endif
