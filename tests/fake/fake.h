/*
 * SPDX-License-Identifier: ISC
 *
 * Fakes for the unit tests of the lifecycle (slot.c, program.c): a
 * spawner that forks nothing (fake_worker.c, in place of worker.c) and a
 * clock that only moves when a test says so (fake_timer.c, in place of
 * timer.c).  A test drives workers through the same callback worker.c
 * would call, and time through fake_advance().
 */

#ifndef FAKE_H
#define FAKE_H

#include "daemon.h"

#define FAKE_MAX_SIGNALS	256

/* A signal the code under test sent. */
struct fake_signal {
	pid_t	fs_pid;
	int	fs_sig;
	int	fs_group;	/* to the process group */
};

/* fake_worker.c */
extern int			fake_fail_spawns;	/* this many fail */
extern int			fake_nspawned;		/* spawns so far */
extern struct fake_signal	fake_signals[FAKE_MAX_SIGNALS];
extern int			fake_nsignals;

void		 fake_reset(void);
struct worker	*fake_worker(pid_t);		/* live or lingering */
struct worker	*fake_last_spawned(void);
void		 fake_execed(struct worker *);
void		 fake_exec_failed(struct worker *);
void		 fake_message(struct worker *, enum worker_msg,
		    const char *);
void		 fake_exit(struct worker *, int);	/* a wait status */
void		 fake_set_group_alive(struct worker *, int);
int		 fake_signalled(pid_t, int, int);	/* how many times */
int		 fake_live(void);			/* not yet freed */

/* fake_timer.c */
void		 fake_clock_set(double);
void		 fake_advance(double);

#endif /* FAKE_H */
