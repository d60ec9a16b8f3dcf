/* fuzz.h - the entry point every fuzz target defines; libFuzzer, the AFL++ driver (afl_driver.c) and
 * the standalone runner (standalone.c) call it. Returns 0; -1 asks libFuzzer not to keep the input. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_ASSERT(cond, what, fmt, ...): when cond is false, writes "TARGET: WHAT: message (cond)" to stderr
 * and aborts, so that every engine records the input as a crash. TARGET is FUZZ_TARGET_NAME, which the
 * target defines before including this header; what names the kind of breach ("invariant broken",
 * "truth breach") for the planted-bug script and the reader. */
#define FUZZ_ASSERT(cond, what, ...)                                                                         \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, FUZZ_TARGET_NAME ": " what ": " __VA_ARGS__);                        \
			fprintf(stderr, " (%s)\n", #cond);                                                   \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

#endif
