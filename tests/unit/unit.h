/* unit.h - what the CUnit unit tests share: a CHECK that names its table row, and the runner. */
#ifndef UNIT_H
#define UNIT_H

#include <CUnit/Basic.h>
#include <stddef.h>
#include <stdio.h>

/* Asserts cond; on failure CUnit reports msg (formatted), so a table row names itself. cond is
 * evaluated before the message, which may show what it computed. */
#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                 \
		char msg_[512];                                                                              \
		CU_BOOL ok_ = (cond) ? CU_TRUE : CU_FALSE;                                                   \
		snprintf(msg_, sizeof msg_, __VA_ARGS__);                                                    \
		CU_assertImplementation(ok_, __LINE__, msg_, __FILE__, "", CU_FALSE);                        \
	} while (0)

/* One test of a suite. */
struct unit_test {
	const char *name;
	CU_TestFunc fn;
};

/* Runs the n tests as the CUnit suite named suite, verbosely. Returns the exit status: 0 when all
 * passed, 1 when one failed, 2 when the tests could not be registered (the reason on stderr). */
int unit_run(const char *suite, const struct unit_test *tests, size_t n);

/* unit_run with a fixture: init runs before the first test (the suite fails, and the status is 1, if
 * it returns nonzero), clean after the last; either may be NULL. */
int unit_run_fixture(const char *suite, CU_InitializeFunc init, CU_CleanupFunc clean,
                     const struct unit_test *tests, size_t n);

/* The directory of the programs under test, for a test program named program: argv[1], else $UPPER_BIN.
 * NULL, with a usage line on stderr, when neither is given. */
const char *unit_bindir(const char *program, int argc, char **argv);

#endif
