/* afl_driver.c - AFL++ persistent-mode driver for a fuzz target: the input comes through shared
 * memory (__AFL_FUZZ_TESTCASE_BUF), many inputs per fork (__AFL_LOOP). Built with afl-clang-fast,
 * which defines these macros. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

__AFL_FUZZ_INIT();

int main(int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr,
		        "usage: %s  (run under afl-fuzz; the input comes from AFL++'s shared memory,\n"
		        "or stdin when run alone)\n",
		        argv[0]);
		return 2;
	}
	__AFL_INIT();
	unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(100000)) {
		size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
		(void)LLVMFuzzerTestOneInput(buf, len);
	}
	return 0;
}
