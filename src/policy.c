/*
 * SPDX-License-Identifier: ISC
 *
 * Supervision policy: what happens after a worker exits.  Pure functions,
 * so the rules are tested without processes or a loop.
 */

#include <sys/wait.h>

#include <math.h>
#include <stdio.h>

#include "daemon.h"

/*
 * Whatever the configuration says, a crash loop must not spin the CPU:
 * a worker that dies within FAST_FLOOR seconds is always a fast failure,
 * and the backoff never drops below a floor that itself doubles (10 ms,
 * 20 ms, ... up to 1 s), so even restart_delay = 0 with
 * restart_delay_max = 0 settles at one start a second.
 */
#define FAST_FLOOR	0.1
#define DELAY_FLOOR	0.01
#define DELAY_FLOOR_MAX	1.0

/*
 * The delay before the start that follows the streak'th fast failure in a
 * row: restart_delay doubled for each failure after the first, capped at
 * restart_delay_max.
 */
double
backoff_delay(double base, double max, unsigned streak)
{
	double	delay, floor;
	int	doublings;

	if (streak == 0)
		return 0;
	doublings = streak > 64 ? 64 : (int)streak - 1;
	delay = ldexp(base, doublings);
	if (delay > max)
		delay = max;
	floor = ldexp(DELAY_FLOOR, doublings);
	if (floor > DELAY_FLOOR_MAX)
		floor = DELAY_FLOOR_MAX;
	return delay > floor ? delay : floor;
}

/*
 * Decide what follows the exit of a slot's worker that clusterd did not
 * stop.  failed: a non-zero exit, a signal clusterd did not send, or an
 * exec that never happened.  The slot's fast-failure streak is updated in
 * *streak; the delay of NEXT_BACKOFF goes to *delay.
 */
enum next_step
policy_after_exit(const struct prog_conf *pc, int failed, double uptime,
    unsigned *streak, double *delay)
{
	double	fast = pc->pc_min_uptime > FAST_FLOOR ?
		    pc->pc_min_uptime : FAST_FLOOR;

	*delay = 0;
	if (pc->pc_restart == RESTART_NEVER ||
	    (pc->pc_restart == RESTART_ON_FAILURE && !failed))
		return NEXT_STOP;
	if (uptime >= fast) {
		*streak = 0;
		return NEXT_RESTART;
	}
	(*streak)++;
	*delay = backoff_delay(pc->pc_restart_delay, pc->pc_restart_delay_max,
	    *streak);
	return NEXT_BACKOFF;
}

/*
 * A worker asked to be replaced.  Its replacement starts at once, unless
 * it asks sooner than a worker must live (min_uptime, or it was never
 * ready: uptime 0): then it is a fast failure like a crash, and the
 * replacement waits, so that a worker that asks again and again cannot
 * make clusterd fork as fast as it can.
 */
enum next_step
policy_after_suicide(const struct prog_conf *pc, double uptime,
    unsigned *streak, double *delay)
{
	double	fast = pc->pc_min_uptime > FAST_FLOOR ?
		    pc->pc_min_uptime : FAST_FLOOR;

	*delay = 0;
	if (uptime >= fast) {
		*streak = 0;
		return NEXT_RESTART;
	}
	(*streak)++;
	*delay = backoff_delay(pc->pc_restart_delay, pc->pc_restart_delay_max,
	    *streak);
	return NEXT_BACKOFF;
}

/*
 * The one place a wait status becomes words.  The long form is for the
 * log ("exited on signal 9 (SIGKILL) after 3.2s"), the brief one for
 * clusterctl status ("SIGKILL after ready_timeout", "exit 1 after
 * 0.2s").
 */
void
exit_describe(const struct exit_note *en, int brief, char *buf, size_t len)
{
	static const char	*causes[] = {
		[KILL_READY_TIMEOUT] = "ready_timeout",
		[KILL_WATCHDOG] = "watchdog",
		[KILL_STOP_TIMEOUT] = "stop_timeout",
		[KILL_REQUESTED] = "requested",
	};
	int			 st = en->en_status;
	char			 up[32], how[80];

	format_duration(en->en_uptime, up, sizeof(up));
	if (!en->en_valid) {
		snprintf(buf, len, "%s", brief ? "-" : "never exited");
		return;
	}
	if (brief && WIFSIGNALED(st) && en->en_cause != KILL_NONE) {
		snprintf(buf, len, "%s%s%s", signal_name(WTERMSIG(st)),
		    en->en_cause == KILL_WATCHDOG ? ": " : " after ",
		    causes[en->en_cause]);
		return;
	}
	if (WIFSIGNALED(st) && brief)
		snprintf(how, sizeof(how), "%s%s", signal_name(WTERMSIG(st)),
		    WCOREDUMP(st) ? ", core dumped" : "");
	else if (WIFSIGNALED(st))
		snprintf(how, sizeof(how), "exited on signal %d (%s)%s",
		    WTERMSIG(st), signal_name(WTERMSIG(st)),
		    WCOREDUMP(st) ? ", core dumped" : "");
	else
		snprintf(how, sizeof(how), brief ? "exit %d" :
		    "exited with status %d", WEXITSTATUS(st));
	snprintf(buf, len, "%s after %s", how, up);
}
