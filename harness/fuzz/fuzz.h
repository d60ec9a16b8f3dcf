/* fuzz.h - the entry point every fuzz target defines; libFuzzer, the AFL++ driver (afl_driver.c) and
 * the standalone runner (standalone.c) call it. Returns 0; -1 asks libFuzzer not to keep the input. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
