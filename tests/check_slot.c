/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of the lifecycle: slot.c's state table and program.c's
 * rolling restarts, scaling and max_memory decisions, with a fake
 * spawner and a fake clock (tests/fake): no fork, no sleep.  Each test
 * walks a worker through the rows of the table it names.
 */

#include <sys/wait.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fake/fake.h"
#include "log.h"
#include "runner.h"

#define EXITED(code)	((code) << 8)
#define KILLED(sig)	(sig)

static struct config	*cf;
static struct program	*prog;
static struct listener	*nosocks[1];

static struct config *
load(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct config *
load(const char *fmt, ...)
{
	char		 path[] = "/tmp/check_slot.XXXXXX", *errors = NULL;
	struct config	*c;
	va_list		 ap;
	FILE		*f;
	int		 fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	c = config_load(path, &errors);
	unlink(path);
	ck_assert_msg(c != NULL, "config: %s", errors);
	return c;
}

/* A program "app" with these extra lines, created and started. */
static void
start(const char *lines)
{
	cf = load("[program:app]\ncommand = /bin/true\n%s", lines);
	ck_assert_ptr_nonnull(prog = program_create(cf->cf_progs, nosocks));
	program_start(prog);
}

static void
setup(void)
{
	log_init(LOG_LVL_ERROR);
	fake_reset();
	fake_clock_set(1000.0);
	cf = NULL;
	prog = NULL;
}

static void
teardown(void)
{
	program_free(prog);
	config_release(cf);
}

static struct slot *
slot(int i)
{
	return prog->p_slots[i];
}

static struct worker *
cur(int i)
{
	return slot(i)->sl_cur;
}

static enum life_state
state(int i)
{
	return cur(i) != NULL ? cur(i)->w_state : slot(i)->sl_idle;
}

static int
nleaving(int i)
{
	struct worker	*w;
	int		 n = 0;

	for (w = slot(i)->sl_leaving; w != NULL; w = w->w_sibling)
		n++;
	return n;
}

/* Every worker the fake has is reachable from a slot: none untracked. */
static int
all_tracked(void)
{
	struct slot	*sl;
	struct worker	*w;
	int		 i, n = 0;

	for (i = 0; i < prog->p_nslots; i++) {
		sl = slot(i);
		n += (sl->sl_cur != NULL) + (sl->sl_next != NULL);
		for (w = sl->sl_leaving; w != NULL; w = w->w_sibling)
			n++;
	}
	for (sl = prog->p_draining; sl != NULL; sl = sl->sl_link) {
		n += (sl->sl_cur != NULL) + (sl->sl_next != NULL);
		for (w = sl->sl_leaving; w != NULL; w = w->w_sibling)
			n++;
	}
	return n == fake_live();
}

/* Ready = auto: up once it has lived min_uptime. */
static void
up(int i)
{
	ck_assert_int_eq(state(i), ST_STARTING);
	fake_advance(1.0);
	ck_assert_int_eq(state(i), ST_READY);
}

/* STOPPED + START -> STARTING; STARTING + UP (auto) -> READY. */
START_TEST(start_then_ready_auto)
{
	start("workers = 2\n");
	ck_assert_int_eq(fake_nspawned, 2);
	ck_assert_int_eq(state(0), ST_STARTING);
	fake_advance(0.5);
	ck_assert_int_eq(state(0), ST_STARTING);
	ck_assert(!program_settled(prog));
	fake_advance(0.5);
	ck_assert_int_eq(state(0), ST_READY);
	ck_assert_int_eq(state(1), ST_READY);
	ck_assert(program_settled(prog));
	/* READY + START: nothing */
	program_start(prog);
	ck_assert_int_eq(fake_nspawned, 2);
}
END_TEST

/* STARTING + READY (message), + SPAWNED (exec). */
START_TEST(ready_message_and_exec)
{
	start("ready = message\nipc = json\n");
	fake_advance(5);
	ck_assert_int_eq(state(0), ST_STARTING);
	fake_message(cur(0), WM_READY, NULL);
	ck_assert_int_eq(state(0), ST_READY);
	teardown();
	setup();
	start("ready = exec\n");
	ck_assert_int_eq(state(0), ST_STARTING);
	fake_execed(cur(0));
	ck_assert_int_eq(state(0), ST_READY);
}
END_TEST

/* A "ready" message counts only with ready = message. */
START_TEST(ready_message_ignored_with_auto)
{
	start("ipc = json\n");
	fake_message(cur(0), WM_READY, NULL);
	ck_assert_int_eq(state(0), ST_STARTING);
}
END_TEST

/* STARTING + TIMER (ready_timeout) -> KILLED, + EXITED -> BACKOFF. */
START_TEST(ready_timeout_kills_and_backs_off)
{
	struct worker	*w;
	pid_t		 pid;

	start("ready = message\nipc = json\nready_timeout = 5s\n");
	w = cur(0);
	pid = w->w_pid;
	fake_advance(5);
	ck_assert_int_eq(state(0), ST_KILLED);
	ck_assert_int_eq(fake_signalled(pid, SIGKILL, 1), 1);
	ck_assert_int_eq(fake_signalled(pid, SIGTERM, 1), 0);
	fake_exit(w, KILLED(SIGKILL));
	ck_assert_int_eq(state(0), ST_BACKOFF);
	ck_assert_int_eq(slot(0)->sl_streak, 1);
	ck_assert_int_eq(slot(0)->sl_last_exit.en_cause, KILL_READY_TIMEOUT);
	fake_advance(0.09);
	ck_assert_int_eq(fake_nspawned, 1);
	fake_advance(0.02);	/* restart_delay = 100ms */
	ck_assert_int_eq(fake_nspawned, 2);
	ck_assert_int_eq(state(0), ST_STARTING);
}
END_TEST

/* STARTING + EXITED: never up, a fast failure however long it ran. */
START_TEST(exit_during_ready_timeout_is_fast)
{
	start("ready = message\nipc = json\nready_timeout = 60s\n");
	fake_advance(20);
	fake_exit(cur(0), EXITED(0));
	ck_assert_int_eq(state(0), ST_BACKOFF);
	ck_assert_int_eq(slot(0)->sl_streak, 1);
}
END_TEST

/* STARTING + EXEC_FAILED: no ready_timeout any more; the exit backs off. */
START_TEST(exec_failure_backs_off)
{
	start("ready_timeout = 5s\n");
	fake_exec_failed(cur(0));
	ck_assert(!timer_armed(&cur(0)->w_timer));
	fake_exit(cur(0), EXITED(127));
	ck_assert_int_eq(state(0), ST_BACKOFF);
}
END_TEST

/* READY + EXITED after min_uptime: restarted at once, streak reset. */
START_TEST(crash_after_uptime_restarts_now)
{
	pid_t	pid;

	start("");
	up(0);
	fake_advance(10);
	pid = cur(0)->w_pid;
	fake_exit(cur(0), KILLED(SIGSEGV));
	ck_assert_int_eq(state(0), ST_STARTING);
	ck_assert_int_ne(cur(0)->w_pid, pid);
	ck_assert_int_eq(slot(0)->sl_streak, 0);
	ck_assert_uint_eq(slot(0)->sl_crashes, 1);
	ck_assert(slot(0)->sl_last_exit.en_valid);
}
END_TEST

/* Fast failures in a row: the delay doubles, then is capped. */
START_TEST(backoff_doubles_until_capped)
{
	const double	delays[] = { 0.1, 0.2, 0.4, 0.8, 1.0, 1.0 };
	size_t		i;

	start("restart_delay_max = 1s\nmin_uptime = 1s\n");
	for (i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
		fake_exit(cur(0), EXITED(1));
		ck_assert_int_eq(state(0), ST_BACKOFF);
		ck_assert_double_eq_tol(timer_left(&slot(0)->sl_timer),
		    delays[i], 1e-6);
		fake_advance(delays[i]);
		ck_assert_int_eq(state(0), ST_STARTING);
	}
	/* one that stays up min_uptime ends the run */
	up(0);
	ck_assert_int_eq(slot(0)->sl_streak, 0);
}
END_TEST

/* restart = never, on-failure: what an exit leads to. */
START_TEST(restart_modes)
{
	start("restart = never\n");
	up(0);
	fake_exit(cur(0), KILLED(SIGKILL));
	ck_assert_int_eq(state(0), ST_STOPPED);
	teardown();
	setup();
	start("restart = on-failure\n");
	up(0);
	fake_exit(cur(0), EXITED(0));
	ck_assert_int_eq(state(0), ST_STOPPED);
	/* STOPPED + START: runs again */
	program_start(prog);
	up(0);
	fake_exit(cur(0), EXITED(2));
	ck_assert_int_eq(state(0), ST_STARTING);
}
END_TEST

/*
 * READY + STOP -> STOPPING (stop_signal to the group), + TIMER -> SIGKILL
 * to the group, + EXITED -> gone, the slot STOPPED.
 */
START_TEST(stop_escalates)
{
	struct worker	*w;
	pid_t		 pid;

	start("stop_signal = INT\nstop_timeout = 3s\n");
	up(0);
	w = cur(0);
	pid = w->w_pid;
	program_stop(prog);
	ck_assert_int_eq(state(0), ST_STOPPED);
	ck_assert_int_eq(w->w_state, ST_STOPPING);
	ck_assert_int_eq(fake_signalled(pid, SIGINT, 1), 1);
	fake_advance(2.9);
	ck_assert_int_eq(fake_signalled(pid, SIGKILL, 1), 0);
	fake_advance(0.2);
	ck_assert_int_eq(fake_signalled(pid, SIGKILL, 1), 1);
	ck_assert(program_has_workers(prog));
	fake_exit(w, KILLED(SIGKILL));
	ck_assert(!program_has_workers(prog));
	ck_assert_int_eq(fake_live(), 0);
	/* STOPPED + STOP, KILL: nothing */
	program_stop(prog);
	program_kill(prog);
	ck_assert_int_eq(fake_nsignals, 2);
}
END_TEST

/* stop_timeout = 0: SIGKILL at once, no stop_signal. */
START_TEST(stop_timeout_zero_kills)
{
	pid_t	pid;

	start("stop_timeout = 0\n");
	pid = cur(0)->w_pid;
	program_stop(prog);
	ck_assert_int_eq(fake_signalled(pid, SIGTERM, 1), 0);
	ck_assert_int_eq(fake_signalled(pid, SIGKILL, 1), 1);
}
END_TEST

/* STOPPING + EXITED with its group alive -> LINGERING, + TIMER -> gone. */
START_TEST(stopping_group_lingers)
{
	struct worker	*w;
	pid_t		 pid;

	start("stop_timeout = 4s\n");
	w = cur(0);
	pid = w->w_pid;
	fake_set_group_alive(w, 1);
	program_stop(prog);
	fake_advance(1);
	fake_exit(w, EXITED(0));
	ck_assert_int_eq(w->w_state, ST_LINGERING);
	ck_assert(program_has_workers(prog));
	fake_advance(2.9);
	ck_assert_int_eq(fake_signalled(pid, SIGKILL, 1), 0);
	fake_advance(0.2);
	ck_assert_int_eq(fake_signalled(pid, SIGKILL, 1), 1);
	ck_assert(!program_has_workers(prog));
}
END_TEST

/*
 * READY + EXITED with its group alive: the members get stop_signal at
 * once and SIGKILL at stop_timeout; the slot restarts meanwhile.
 */
START_TEST(crashed_group_is_stopped)
{
	struct worker	*w;
	pid_t		 pid;

	start("stop_timeout = 5s\n");
	up(0);
	fake_advance(5);
	w = cur(0);
	pid = w->w_pid;
	fake_set_group_alive(w, 1);
	fake_exit(w, EXITED(1));
	ck_assert_int_eq(fake_signalled(pid, SIGTERM, 1), 1);
	ck_assert_int_eq(state(0), ST_STARTING);
	ck_assert_int_eq(nleaving(0), 1);
	ck_assert(all_tracked());
	fake_advance(5);
	ck_assert_int_eq(fake_signalled(pid, SIGKILL, 1), 1);
	ck_assert_int_eq(nleaving(0), 0);
	ck_assert_int_eq(fake_live(), 1);
}
END_TEST

/* LINGERING + KILL: SIGKILL to the group, gone at once. */
START_TEST(lingering_killed)
{
	struct worker	*w;

	start("");
	w = cur(0);
	fake_set_group_alive(w, 1);
	program_stop(prog);
	fake_exit(w, EXITED(0));
	ck_assert_int_eq(w->w_state, ST_LINGERING);
	program_kill(prog);
	ck_assert_int_eq(fake_live(), 0);
}
END_TEST

/*
 * KILL (SIGQUIT): SIGKILL to every group, no stop_signal first, for the
 * current, next and leaving workers alike; BACKOFF -> STOPPED.
 */
START_TEST(kill_sends_sigkill_only)
{
	int	i;

	start("workers = 3\n");
	up(0);
	program_stop(prog);	/* all three stopping */
	program_start(prog);	/* three more starting */
	fake_exit(cur(2), EXITED(1));	/* slot 2 in backoff */
	ck_assert_int_eq(state(2), ST_BACKOFF);
	fake_nsignals = 0;
	program_kill(prog);
	for (i = 0; i < fake_nsignals; i++)
		ck_assert_int_eq(fake_signals[i].fs_sig, SIGKILL);
	ck_assert_int_eq(fake_nsignals, 5);
	ck_assert_int_eq(state(2), ST_STOPPED);
	fake_advance(60);
	ck_assert_int_eq(fake_nspawned, 6);
}
END_TEST

/*
 * READY + SUICIDE -> RETIRED (no signal), its replacement at once;
 * RETIRED + TIMER: SIGKILL at stop_timeout; RETIRED + EXITED: gone, not
 * restarted.
 */
START_TEST(suicide_replaced_at_once)
{
	struct worker	*w;
	pid_t		 pid;

	start("ipc = json\nstop_timeout = 2s\n");
	up(0);
	fake_advance(3);
	w = cur(0);
	pid = w->w_pid;
	fake_message(w, WM_SUICIDE, NULL);
	ck_assert_int_eq(w->w_state, ST_RETIRED);
	ck_assert_int_eq(state(0), ST_STARTING);
	ck_assert_int_ne(cur(0)->w_pid, pid);
	ck_assert_int_eq(fake_nsignals, 0);
	/* RETIRED + SUICIDE: nothing more */
	fake_message(w, WM_SUICIDE, NULL);
	ck_assert_int_eq(fake_nspawned, 2);
	fake_advance(2);
	ck_assert_int_eq(fake_signalled(pid, SIGKILL, 1), 1);
	fake_exit(w, KILLED(SIGKILL));
	ck_assert_int_eq(fake_nspawned, 2);
	ck_assert_int_eq(fake_live(), 1);
	ck_assert_uint_eq(slot(0)->sl_replaced, 1);
}
END_TEST

/*
 * Suicides right after start, again and again, are fast failures: the
 * replacements back off, and the processes are never more than the
 * slot's plus those still leaving.
 */
START_TEST(rapid_suicides_back_off)
{
	int	starts;

	start("ipc = json\nstop_timeout = 1s\n");
	while (clock_now() < 1003.0) {
		if (cur(0) != NULL && cur(0)->w_state == ST_STARTING)
			fake_message(cur(0), WM_SUICIDE, NULL);
		fake_advance(0.001);
		ck_assert(all_tracked());
	}
	starts = fake_nspawned;
	ck_assert_msg(starts <= 8, "%d starts in 3 s", starts);
	ck_assert_int_ge(slot(0)->sl_streak, 4);
}
END_TEST

/* STOPPING + SUICIDE: ignored; the stop goes on. */
START_TEST(suicide_during_stop)
{
	struct worker	*w;

	start("ipc = json\n");
	up(0);
	w = cur(0);
	program_stop(prog);
	fake_message(w, WM_SUICIDE, NULL);
	ck_assert_int_eq(w->w_state, ST_STOPPING);
	ck_assert_int_eq(fake_nspawned, 1);
	ck_assert_int_eq(state(0), ST_STOPPED);
}
END_TEST

/* READY + HEARTBEAT re-arms the watchdog; READY + TIMER -> KILLED. */
START_TEST(watchdog)
{
	struct worker	*w;

	start("ipc = json\nwatchdog = 2s\n");
	up(0);
	w = cur(0);
	fake_advance(1.5);
	fake_message(w, WM_HEARTBEAT, NULL);
	fake_advance(1.5);
	ck_assert_int_eq(w->w_state, ST_READY);
	fake_advance(0.6);
	ck_assert_int_eq(w->w_state, ST_KILLED);
	ck_assert_int_eq(fake_signalled(w->w_pid, SIGKILL, 1), 1);
	fake_advance(10);
	/* a worker that had been up that long: restarted at once */
	fake_exit(w, KILLED(SIGKILL));
	ck_assert_int_eq(state(0), ST_STARTING);
	ck_assert_int_eq(slot(0)->sl_last_exit.en_cause, KILL_WATCHDOG);
}
END_TEST

/* KILLED + STOP: its exit is not a crash, nothing restarts. */
START_TEST(killed_then_stopped)
{
	struct worker	*w;

	start("ready = message\nipc = json\nready_timeout = 1s\n");
	w = cur(0);
	fake_advance(1);
	ck_assert_int_eq(w->w_state, ST_KILLED);
	program_stop(prog);
	ck_assert_int_eq(w->w_state, ST_STOPPING);
	fake_exit(w, KILLED(SIGKILL));
	ck_assert_int_eq(state(0), ST_STOPPED);
	ck_assert_int_eq(fake_nspawned, 1);
}
END_TEST

/* A fork that fails backs off like a fast failure. */
START_TEST(spawn_failure_backs_off)
{
	fake_fail_spawns = 1;
	start("");
	ck_assert_int_eq(state(0), ST_BACKOFF);
	ck_assert_int_eq(slot(0)->sl_streak, 1);
	fake_advance(0.1);
	ck_assert_int_eq(state(0), ST_STARTING);
}
END_TEST

/*
 * Failed starts in a row are counted for the log (once per burst); a
 * start, or a stop during the backoff, ends the burst.
 */
START_TEST(spawn_failures_counted_per_burst)
{
	fake_fail_spawns = 3;
	start("");
	ck_assert_uint_eq(slot(0)->sl_start_fails, 1);
	fake_advance(0.1);	/* the backoff doubles from restart_delay */
	ck_assert_uint_eq(slot(0)->sl_start_fails, 2);
	program_stop(prog);
	ck_assert_int_eq(state(0), ST_STOPPED);
	ck_assert_uint_eq(slot(0)->sl_start_fails, 0);
	program_start(prog);
	ck_assert_int_eq(state(0), ST_BACKOFF);
	ck_assert_uint_eq(slot(0)->sl_start_fails, 1);
	fake_advance(0.1);
	ck_assert_int_eq(state(0), ST_STARTING);
	ck_assert_uint_eq(slot(0)->sl_start_fails, 0);
}
END_TEST

/* Drive a rolling restart: each next worker up, then the next slot. */
static void
roll_through(int nslots)
{
	struct worker	*old;
	int		 i;

	for (i = 0; i < nslots; i++) {
		program_advance(prog);
		ck_assert_int_eq(prog->p_state, PROGRAM_ROLLING);
		ck_assert_ptr_nonnull(slot(i)->sl_next);
		old = cur(i);
		fake_advance(1);	/* auto: up */
		ck_assert_uint_eq(cur(i)->w_epoch, prog->p_epoch);
		ck_assert_int_eq(old->w_state, ST_STOPPING);
		fake_exit(old, KILLED(SIGTERM));
	}
	program_advance(prog);
}

/* REPLACE: next worker first; the old one stops once it is up. */
START_TEST(rolling_restart)
{
	struct roll_result	rr;

	start("workers = 3\n");
	fake_advance(1);
	ck_assert_int_eq(program_roll(prog, &rr), 0);
	ck_assert_int_eq(program_roll(prog, NULL), -1);
	/* one slot at a time */
	ck_assert_ptr_nonnull(slot(0)->sl_next);
	ck_assert_ptr_null(slot(1)->sl_next);
	roll_through(3);
	ck_assert(rr.rr_done && rr.rr_ok);
	ck_assert_int_eq(prog->p_state, PROGRAM_RUNNING);
	ck_assert_int_eq(fake_live(), 3);
	ck_assert_uint_eq(slot(2)->sl_replaced, 1);
}
END_TEST

/*
 * A next worker that fails stops the roll, the old one stays; after a
 * reload, the program is back on its previous configuration: a crash
 * replacement starts from it, never from the one that failed.
 */
START_TEST(failed_roll_keeps_last_good)
{
	struct config		*bad;
	struct prog_conf	*good;
	struct roll_result	 rr;
	struct worker		*old;

	start("workers = 2\n");
	fake_advance(1);
	good = cur(0)->w_conf;
	old = cur(0);
	bad = load("[program:app]\ncommand = /bin/false\nworkers = 2\n");
	ck_assert_int_eq(program_reload(prog, bad->cf_progs, nosocks, &rr),
	    0);
	ck_assert_ptr_eq(slot(0)->sl_next->w_conf, bad->cf_progs);
	fake_exit(slot(0)->sl_next, EXITED(1));
	program_advance(prog);
	ck_assert(rr.rr_done && !rr.rr_ok);
	ck_assert_ptr_eq(cur(0), old);
	ck_assert_ptr_eq(prog->p_cur.b_conf, good);
	ck_assert_ptr_eq(prog->p_failed, bad->cf_progs);
	fake_advance(10);
	fake_exit(cur(1), KILLED(SIGKILL));
	ck_assert_ptr_eq(cur(1)->w_conf, good);
	/* and a scale-up too */
	ck_assert_int_eq(program_scale(prog, 3), 0);
	ck_assert_ptr_eq(cur(2)->w_conf, good);
	config_release(bad);
}
END_TEST

/* A stop during a roll cancels it: its requester hears, nothing hangs. */
START_TEST(stop_cancels_roll)
{
	struct roll_result	rr;

	start("workers = 2\n");
	fake_advance(1);
	program_roll(prog, &rr);
	program_stop(prog);
	ck_assert(rr.rr_done && !rr.rr_ok);
	ck_assert_int_eq(prog->p_state, PROGRAM_STOPPED);
	ck_assert_ptr_null(slot(0)->sl_next);
	ck_assert(all_tracked());
}
END_TEST

/* Scaling down to below the slot the roll waits on ends the roll. */
START_TEST(scale_down_during_roll)
{
	struct roll_result	rr;
	struct worker		*w;

	start("workers = 2\n");
	fake_advance(1);
	program_roll(prog, &rr);
	w = slot(0)->sl_next;
	fake_advance(1);	/* slot 0 done */
	program_advance(prog);
	ck_assert_ptr_nonnull(slot(1)->sl_next);
	ck_assert_int_eq(program_scale(prog, 1), 0);
	program_advance(prog);
	ck_assert(rr.rr_done && rr.rr_ok);
	ck_assert_int_eq(prog->p_state, PROGRAM_RUNNING);
	ck_assert_ptr_eq(cur(0), w);
	ck_assert(all_tracked());
}
END_TEST

/* Scaling up during a roll: the roll ends with that many. */
START_TEST(scale_up_during_roll)
{
	struct roll_result	rr;

	start("workers = 2\n");
	fake_advance(1);
	program_roll(prog, &rr);
	ck_assert_int_eq(program_scale(prog, 4), 0);
	roll_through(2);
	ck_assert(rr.rr_done && rr.rr_ok);
	ck_assert_int_eq(prog->p_nslots, 4);
	fake_advance(1);
	ck_assert_int_eq(state(3), ST_READY);
}
END_TEST

/*
 * A reload while a slot's next worker (max_memory) is starting: that one
 * is stopped and a new one of the new epoch takes its place; nothing is
 * left untracked.
 */
START_TEST(reload_over_starting_next)
{
	struct config		*c2;
	struct roll_result	 rr;
	struct worker		*mem;

	start("min_uptime = 3s\n");
	fake_advance(3);
	slot_post(slot(0), SE_REPLACE);		/* as max_memory does */
	mem = slot(0)->sl_next;
	ck_assert_ptr_nonnull(mem);
	c2 = load("[program:app]\ncommand = /bin/true\nmin_uptime = 3s\n");
	program_reload(prog, c2->cf_progs, nosocks, &rr);
	ck_assert_int_eq(mem->w_state, ST_STOPPING);
	ck_assert_ptr_nonnull(slot(0)->sl_next);
	ck_assert_ptr_ne(slot(0)->sl_next, mem);
	ck_assert_ptr_eq(slot(0)->sl_next->w_conf, c2->cf_progs);
	ck_assert(all_tracked());
	fake_exit(mem, KILLED(SIGTERM));
	fake_advance(3);
	program_advance(prog);
	ck_assert(rr.rr_done && rr.rr_ok);
	ck_assert_int_eq(fake_live(), 2);	/* new current, old stopping */
	ck_assert(all_tracked());
	config_release(c2);
}
END_TEST

/* REMOVE (scale down): the slot's workers stop; freed once empty. */
START_TEST(scale_down_drains)
{
	struct worker	*w;

	start("workers = 2\n");
	fake_advance(1);
	w = cur(1);
	ck_assert_int_eq(program_scale(prog, 1), 0);
	ck_assert_int_eq(prog->p_nslots, 1);
	ck_assert_int_eq(w->w_state, ST_STOPPING);
	ck_assert_ptr_nonnull(prog->p_draining);
	fake_exit(w, EXITED(0));
	program_advance(prog);
	ck_assert_ptr_null(prog->p_draining);
	ck_assert_int_eq(fake_live(), 1);
}
END_TEST

/* A next worker that asks to be replaced has not taken over: ignored. */
START_TEST(next_suicide_ignored)
{
	start("ipc = json\n");
	fake_advance(1);
	program_roll(prog, NULL);
	fake_message(slot(0)->sl_next, WM_SUICIDE, NULL);
	ck_assert_int_eq(slot(0)->sl_next->w_state, ST_STARTING);
	ck_assert_int_eq(fake_nspawned, 2);
}
END_TEST

/* The current worker leaves while its next one starts: it takes over. */
START_TEST(next_takes_over_from_crashed)
{
	struct worker	*next;

	start("");
	fake_advance(1);
	program_roll(prog, NULL);
	next = slot(0)->sl_next;
	fake_exit(cur(0), EXITED(1));
	ck_assert_ptr_eq(cur(0), next);
	ck_assert_ptr_null(slot(0)->sl_next);
	ck_assert_int_eq(fake_nspawned, 2);
	fake_advance(1);
	program_advance(prog);
	ck_assert_int_eq(prog->p_state, PROGRAM_RUNNING);
}
END_TEST

/* A failed replacement holds max_memory off for a backoff delay. */
START_TEST(failed_replacement_holds)
{
	start("restart_delay = 5s\n");
	fake_advance(1);
	slot_post(slot(0), SE_REPLACE);
	fake_exit(slot(0)->sl_next, EXITED(1));
	ck_assert_double_eq_tol(slot(0)->sl_hold_until, clock_now() + 5,
	    1e-6);
	ck_assert_int_eq(state(0), ST_READY);
}
END_TEST

/* BACKOFF + STOP: the pending start is cancelled. */
START_TEST(backoff_cancelled_by_stop)
{
	start("");
	fake_exit(cur(0), EXITED(1));
	ck_assert_int_eq(state(0), ST_BACKOFF);
	program_stop(prog);
	ck_assert_int_eq(state(0), ST_STOPPED);
	fake_advance(60);
	ck_assert_int_eq(fake_nspawned, 1);
}
END_TEST

/* The names clusterctl shows, and the worker it shows for a slot. */
START_TEST(state_names)
{
	struct worker	*w;

	start("");
	ck_assert_str_eq(slot_state_name(slot(0)), "starting");
	fake_advance(1);
	ck_assert_str_eq(slot_state_name(slot(0)), "ready");
	w = cur(0);
	program_stop(prog);
	ck_assert_ptr_eq(slot_shown(slot(0)), w);
	ck_assert_str_eq(slot_state_name(slot(0)), "stopping");
	fake_exit(w, EXITED(0));
	ck_assert_str_eq(slot_state_name(slot(0)), "stopped");
	program_start(prog);
	fake_exit(cur(0), EXITED(1));
	ck_assert_str_eq(slot_state_name(slot(0)), "backoff");
}
END_TEST

static Suite *
slot_suite(void)
{
	Suite	*s = suite_create("slot");
	TCase	*tc = tcase_create("lifecycle");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, start_then_ready_auto);
	tcase_add_test(tc, ready_message_and_exec);
	tcase_add_test(tc, ready_message_ignored_with_auto);
	tcase_add_test(tc, ready_timeout_kills_and_backs_off);
	tcase_add_test(tc, exit_during_ready_timeout_is_fast);
	tcase_add_test(tc, exec_failure_backs_off);
	tcase_add_test(tc, crash_after_uptime_restarts_now);
	tcase_add_test(tc, backoff_doubles_until_capped);
	tcase_add_test(tc, restart_modes);
	tcase_add_test(tc, stop_escalates);
	tcase_add_test(tc, stop_timeout_zero_kills);
	tcase_add_test(tc, stopping_group_lingers);
	tcase_add_test(tc, crashed_group_is_stopped);
	tcase_add_test(tc, lingering_killed);
	tcase_add_test(tc, kill_sends_sigkill_only);
	tcase_add_test(tc, suicide_replaced_at_once);
	tcase_add_test(tc, rapid_suicides_back_off);
	tcase_add_test(tc, suicide_during_stop);
	tcase_add_test(tc, watchdog);
	tcase_add_test(tc, killed_then_stopped);
	tcase_add_test(tc, spawn_failure_backs_off);
	tcase_add_test(tc, spawn_failures_counted_per_burst);
	tcase_add_test(tc, rolling_restart);
	tcase_add_test(tc, failed_roll_keeps_last_good);
	tcase_add_test(tc, stop_cancels_roll);
	tcase_add_test(tc, scale_down_during_roll);
	tcase_add_test(tc, scale_up_during_roll);
	tcase_add_test(tc, reload_over_starting_next);
	tcase_add_test(tc, scale_down_drains);
	tcase_add_test(tc, next_suicide_ignored);
	tcase_add_test(tc, next_takes_over_from_crashed);
	tcase_add_test(tc, failed_replacement_holds);
	tcase_add_test(tc, backoff_cancelled_by_stop);
	tcase_add_test(tc, state_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(slot_suite());
}
