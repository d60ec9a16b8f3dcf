/* random_phase.h - conform's random phase (--random N --seed S). */
#ifndef RANDOM_PHASE_H
#define RANDOM_PHASE_H

#include <stdint.h>

#include "case.h"

/* Runs one random sequence generated from seed over the target. Returns 0 on pass, -1 on failure (the
 * shrunk sequence and the seed in the result's message and note). restart, when not NULL, is called
 * with arg to get a serving target again after a failing attempt may have killed the server (it
 * returns 0, or -1 when the server could not be restarted). */
int random_phase_run(struct case_context *c, uint64_t seed, int (*restart)(void *), void *arg);

#endif
