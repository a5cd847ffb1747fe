/* The one way a unit suite runs: every test of suite, then the process's exit status. */
#ifndef MONDUX_TESTS_UNIT_RUN_H
#define MONDUX_TESTS_UNIT_RUN_H

#include <check.h>
#include <stdlib.h>

static inline int mx_unit_run(Suite *suite) {
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
