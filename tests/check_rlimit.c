/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of clusterd's own open-files limit: raised to the hard
 * limit, the original kept for the workers.
 */

#include <sys/resource.h>

#include <check.h>
#include <stdlib.h>

#include "daemon.h"
#include "runner.h"

START_TEST(nothing_before_raise)
{
	ck_assert_ptr_null(rlimit_nofile_start());
}
END_TEST

/* Soft 64 under a hard limit above it: raised, 64 remembered. */
START_TEST(raise_keeps_the_original)
{
	struct rlimit		 rl, now;
	const struct rlimit	*start;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < 128)
		return;		/* nothing to raise to */
	rl.rlim_cur = 64;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	rlimit_raise_nofile();
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &now), 0);
	ck_assert_uint_eq(now.rlim_cur, rl.rlim_max);
	ck_assert_uint_eq(now.rlim_max, rl.rlim_max);
	ck_assert_ptr_nonnull(start = rlimit_nofile_start());
	ck_assert_uint_eq(start->rlim_cur, 64);
	ck_assert_uint_eq(start->rlim_max, rl.rlim_max);
	/* what a worker gets back */
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, start), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &now), 0);
	ck_assert_uint_eq(now.rlim_cur, 64);
}
END_TEST

/* Already at the hard limit: nothing changes, that is remembered. */
START_TEST(at_the_hard_limit)
{
	struct rlimit	rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	rlimit_raise_nofile();
	ck_assert_ptr_nonnull(rlimit_nofile_start());
	ck_assert_uint_eq(rlimit_nofile_start()->rlim_cur, rl.rlim_max);
}
END_TEST

static Suite *
rlimit_suite(void)
{
	Suite	*s = suite_create("rlimit");
	TCase	*tc = tcase_create("nofile");

	/* each test changes the process's limit: always in a child */
	tcase_add_test(tc, nothing_before_raise);
	tcase_add_test(tc, raise_keeps_the_original);
	tcase_add_test(tc, at_the_hard_limit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_mode(rlimit_suite(), CK_FORK);
}
