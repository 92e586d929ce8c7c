/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of the supervision policy: backoff and restart decisions.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "runner.h"

static struct prog_conf
conf(enum restart_mode mode)
{
	struct prog_conf pc;

	memset(&pc, 0, sizeof(pc));
	pc.pc_restart = mode;
	pc.pc_min_uptime = 1;
	pc.pc_restart_delay = 0.1;
	pc.pc_restart_delay_max = 30;
	return pc;
}

START_TEST(backoff_doubles_and_caps)
{
	ck_assert_double_eq_tol(backoff_delay(0.1, 30, 1), 0.1, 1e-9);
	ck_assert_double_eq_tol(backoff_delay(0.1, 30, 2), 0.2, 1e-9);
	ck_assert_double_eq_tol(backoff_delay(0.1, 30, 3), 0.4, 1e-9);
	ck_assert_double_eq_tol(backoff_delay(0.1, 30, 9), 25.6, 1e-9);
	ck_assert_double_eq_tol(backoff_delay(0.1, 30, 10), 30, 1e-9);
	ck_assert_double_eq_tol(backoff_delay(0.1, 30, 1000), 30, 1e-9);
	ck_assert_double_eq_tol(backoff_delay(0.1, 30, 0), 0, 1e-9);
}
END_TEST

START_TEST(backoff_never_spins)
{
	/* restart_delay = 0 and restart_delay_max = 0 still back off */
	ck_assert_double_eq_tol(backoff_delay(0, 0, 1), 0.01, 1e-9);
	ck_assert_double_eq_tol(backoff_delay(0, 0, 2), 0.02, 1e-9);
	ck_assert_double_eq_tol(backoff_delay(0, 0, 30), 1.0, 1e-9);
	ck_assert(backoff_delay(0, 0, 7) > backoff_delay(0, 0, 6));
}
END_TEST

START_TEST(restart_after_long_uptime)
{
	struct prog_conf	pc = conf(RESTART_ALWAYS);
	unsigned		streak = 4;
	double			delay = -1;

	ck_assert_int_eq(policy_after_exit(&pc, 1, 5.0, &streak, &delay),
	    NEXT_RESTART);
	ck_assert_uint_eq(streak, 0);
	ck_assert_double_eq(delay, 0);
}
END_TEST

START_TEST(fast_failures_back_off)
{
	struct prog_conf	pc = conf(RESTART_ALWAYS);
	unsigned		streak = 0;
	double			delay;

	ck_assert_int_eq(policy_after_exit(&pc, 1, 0.2, &streak, &delay),
	    NEXT_BACKOFF);
	ck_assert_uint_eq(streak, 1);
	ck_assert_double_eq_tol(delay, 0.1, 1e-9);
	ck_assert_int_eq(policy_after_exit(&pc, 1, 0.2, &streak, &delay),
	    NEXT_BACKOFF);
	ck_assert_double_eq_tol(delay, 0.2, 1e-9);
	ck_assert_int_eq(policy_after_exit(&pc, 0, 0.2, &streak, &delay),
	    NEXT_BACKOFF);
	ck_assert_double_eq_tol(delay, 0.4, 1e-9);
}
END_TEST

START_TEST(min_uptime_zero_still_has_a_floor)
{
	struct prog_conf	pc = conf(RESTART_ALWAYS);
	unsigned		streak = 0;
	double			delay;

	pc.pc_min_uptime = 0;
	ck_assert_int_eq(policy_after_exit(&pc, 1, 0.001, &streak, &delay),
	    NEXT_BACKOFF);
	ck_assert_int_eq(policy_after_exit(&pc, 1, 0.5, &streak, &delay),
	    NEXT_RESTART);
}
END_TEST

START_TEST(restart_never_and_on_failure)
{
	struct prog_conf	never = conf(RESTART_NEVER);
	struct prog_conf	onfail = conf(RESTART_ON_FAILURE);
	unsigned		streak = 0;
	double			delay;

	ck_assert_int_eq(policy_after_exit(&never, 1, 5, &streak, &delay),
	    NEXT_STOP);
	ck_assert_int_eq(policy_after_exit(&onfail, 0, 5, &streak, &delay),
	    NEXT_STOP);
	ck_assert_int_eq(policy_after_exit(&onfail, 1, 5, &streak, &delay),
	    NEXT_RESTART);
	ck_assert_int_eq(policy_after_exit(&onfail, 1, 0, &streak, &delay),
	    NEXT_BACKOFF);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc = tcase_create("policy");

	tcase_add_test(tc, backoff_doubles_and_caps);
	tcase_add_test(tc, backoff_never_spins);
	tcase_add_test(tc, restart_after_long_uptime);
	tcase_add_test(tc, fast_failures_back_off);
	tcase_add_test(tc, min_uptime_zero_still_has_a_floor);
	tcase_add_test(tc, restart_never_and_on_failure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(policy_suite());
}
