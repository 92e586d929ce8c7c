/*
 * SPDX-License-Identifier: ISC
 *
 * runner.h - the main() of every test binary: run one suite and exit
 * non-zero if anything failed.
 */

#ifndef RUNNER_H
#define RUNNER_H

#include <check.h>
#include <stdlib.h>

static inline int
run_suite_mode(Suite *s, enum fork_status mode)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	if (mode != CK_FORK_GETENV)
		srunner_set_fork_status(sr, mode);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Unit tests: CK_FORK=no in the environment may turn forking off. */
static inline int
run_suite(Suite *s)
{
	return run_suite_mode(s, CK_FORK_GETENV);
}

/*
 * Integration tests always fork: a failed test must not take the others
 * down, and the harness cleans up from the forked child.
 */
static inline int
run_suite_forked(Suite *s)
{
	return run_suite_mode(s, CK_FORK);
}

#endif /* RUNNER_H */
