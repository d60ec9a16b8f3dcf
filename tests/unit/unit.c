/* unit.c - what the CUnit test programs share: the runner and the bin directory of the programs under test.
 */
#include "unit.h"

#include <stdlib.h>

int unit_run(const char *suite, const struct unit_test *tests, size_t n)
{
	return unit_run_fixture(suite, NULL, NULL, tests, n);
}

int unit_run_fixture(const char *suite, CU_InitializeFunc init, CU_CleanupFunc clean,
                     const struct unit_test *tests, size_t n)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "%s: cannot start CUnit: %s\n", suite, CU_get_error_msg());
		return 2;
	}
	s = CU_add_suite(suite, init, clean);
	for (size_t i = 0; s != NULL && i < n; i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			s = NULL;
	if (s == NULL) {
		fprintf(stderr, "%s: cannot register tests: %s\n", suite, CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails =
	    CU_get_number_of_failures() + CU_get_number_of_suites_failed() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails == 0 ? 0 : 1;
}

const char *unit_bindir(const char *program, int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : getenv("UPPER_BIN");
	if (dir == NULL)
		fprintf(stderr, "usage: %s BINDIR (the directory holding tcp-upper and udp-upper)\n",
		        program);
	return dir;
}
