/*
 * Supervision policy: what happens after a worker exits.  Pure functions,
 * so the rules are tested without processes or a loop.
 */

#include <math.h>

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
