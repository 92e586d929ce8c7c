/*
 * SPDX-License-Identifier: ISC
 *
 * The supervisor's clock and timers.
 *
 * Lifecycle times (a worker's start, its deadlines) are read from the
 * monotonic clock, so that setting the system clock neither kills nor
 * spares a worker, and so that they mean the same after clusterd has
 * exec'd a new image of itself.  Timers are one-shot libev timers that
 * call a plain function; the lifecycle code sees only this interface,
 * which its unit tests replace with a fake clock (tests/fake_timer.c).
 */

#include <time.h>

#include "daemon.h"

static void	timer_fired(struct ev_loop *, ev_timer *, int);

/* Seconds on the monotonic clock. */
double
clock_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
timer_init(struct timer *t, void (*cb)(void *), void *arg)
{
	ev_timer_init(&t->t_ev, timer_fired, 0, 0);
	t->t_ev.data = t;
	t->t_cb = cb;
	t->t_arg = arg;
	t->t_at = 0;
}

/* Arm (or re-arm) the timer to go off after the given seconds. */
void
timer_start(struct timer *t, double after)
{
	if (after < 0)
		after = 0;
	ev_timer_stop(EV_DEFAULT, &t->t_ev);
	ev_timer_set(&t->t_ev, after, 0);
	ev_timer_start(EV_DEFAULT, &t->t_ev);
	t->t_at = clock_now() + after;
}

void
timer_stop(struct timer *t)
{
	ev_timer_stop(EV_DEFAULT, &t->t_ev);
	t->t_at = 0;
}

int
timer_armed(const struct timer *t)
{
	return t->t_at != 0;
}

/* Seconds until it goes off; 0 if it is not armed. */
double
timer_left(const struct timer *t)
{
	double	left;

	if (t->t_at == 0)
		return 0;
	left = t->t_at - clock_now();
	return left > 0 ? left : 0;
}

static void
timer_fired(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct timer	*t = w->data;

	(void)loop;
	(void)revents;
	t->t_at = 0;
	t->t_cb(t->t_arg);
}
