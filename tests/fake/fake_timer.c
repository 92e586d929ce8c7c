/*
 * SPDX-License-Identifier: ISC
 *
 * A fake of timer.c: the clock stands still until fake_advance() moves
 * it, firing the timers that fall due, earliest first.
 */

#include <stddef.h>

#include "fake.h"

#define FAKE_MAX_TIMERS	4096

static double		 now = 1000.0;
static struct timer	*armed[FAKE_MAX_TIMERS];
static int		 narmed;

static void
forget(struct timer *t)
{
	int	i;

	for (i = 0; i < narmed; i++)
		if (armed[i] == t) {
			armed[i] = armed[--narmed];
			return;
		}
}

double
clock_now(void)
{
	return now;
}

void
fake_clock_set(double t)
{
	now = t;
	narmed = 0;
}

void
timer_init(struct timer *t, void (*cb)(void *), void *arg)
{
	t->t_cb = cb;
	t->t_arg = arg;
	t->t_at = 0;
}

void
timer_start(struct timer *t, double after)
{
	forget(t);
	t->t_at = now + (after > 0 ? after : 0);
	if (t->t_at == 0)
		t->t_at = 1e-9;
	if (narmed < FAKE_MAX_TIMERS)
		armed[narmed++] = t;
}

void
timer_stop(struct timer *t)
{
	forget(t);
	t->t_at = 0;
}

int
timer_armed(const struct timer *t)
{
	return t->t_at != 0;
}

double
timer_left(const struct timer *t)
{
	return t->t_at == 0 ? 0 : (t->t_at > now ? t->t_at - now : 0);
}

/* Move the clock by dt, firing every timer due on the way, in order. */
void
fake_advance(double dt)
{
	double		 end = now + dt;
	struct timer	*t;
	int		 i, first;

	for (;;) {
		first = -1;
		for (i = 0; i < narmed; i++)
			if (armed[i]->t_at <= end && (first == -1 ||
			    armed[i]->t_at < armed[first]->t_at))
				first = i;
		if (first == -1)
			break;
		t = armed[first];
		if (t->t_at > now)
			now = t->t_at;
		forget(t);
		t->t_at = 0;
		t->t_cb(t->t_arg);
	}
	now = end;
}
