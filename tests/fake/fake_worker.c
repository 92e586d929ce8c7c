/*
 * SPDX-License-Identifier: ISC
 *
 * A fake of worker.c: "spawning" makes a record with a made-up pid and
 * no process; signals are written down; a test reports exits, execs and
 * messages through the same callback worker.c would call.
 */

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

struct fake_rec {
	struct fake_rec	*fr_next;
	struct worker	*fr_w;
	int		 fr_outlives;	/* its group outlives the leader ... */
	int		 fr_killed;	/* ... until SIGKILL to the group */
};

int			 fake_fail_spawns;
int			 fake_nspawned;
struct fake_signal	 fake_signals[FAKE_MAX_SIGNALS];
int			 fake_nsignals;

static struct fake_rec	*recs;
static struct worker	*wlist;		/* via w_next, as worker.c keeps */
static struct worker	*last;
static pid_t		 next_pid = 1000;

static struct fake_rec *
rec_of(const struct worker *w)
{
	struct fake_rec	*r;

	for (r = recs; r != NULL; r = r->fr_next)
		if (r->fr_w == w)
			return r;
	return NULL;
}

void
fake_reset(void)
{
	fake_fail_spawns = 0;
	fake_nspawned = 0;
	fake_nsignals = 0;
	recs = NULL;
	wlist = NULL;
	last = NULL;
	next_pid = 1000;
}

struct worker *
worker_spawn(const struct spawn_req *req, worker_cb cb, struct slot *sl)
{
	struct fake_rec	*r;
	struct worker	*w;

	if (fake_fail_spawns > 0) {
		fake_fail_spawns--;
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		abort();
	w->w_conf = req->sr_conf;
	w->w_slot = sl;
	w->w_index = req->sr_slot;
	w->w_cb = cb;
	w->w_pid = next_pid++;
	w->w_started = clock_now();
	config_hold(w->w_conf->pc_cfg);
	r->fr_w = w;
	r->fr_next = recs;
	recs = r;
	w->w_next = wlist;
	wlist = w;
	last = w;
	fake_nspawned++;
	return w;
}

int
worker_reaped(pid_t pid, int status)
{
	struct worker	*w = fake_worker(pid);

	if (w == NULL || w->w_reaped)
		return 0;
	fake_exit(w, status);
	return 1;
}

static void
record(const struct worker *w, int sig, int group)
{
	if (fake_nsignals < FAKE_MAX_SIGNALS) {
		fake_signals[fake_nsignals].fs_pid = w->w_pid;
		fake_signals[fake_nsignals].fs_sig = sig;
		fake_signals[fake_nsignals].fs_group = group;
		fake_nsignals++;
	}
}

void
worker_signal(struct worker *w, int sig)
{
	record(w, sig, 0);
}

void
worker_signal_group(struct worker *w, int sig)
{
	struct fake_rec	*r = rec_of(w);

	record(w, sig, 1);
	if (r != NULL && sig == SIGKILL)
		r->fr_killed = 1;
}

int
worker_group_alive(const struct worker *w)
{
	const struct fake_rec	*r = rec_of(w);

	if (r == NULL)
		return 0;
	return !w->w_reaped || (r->fr_outlives && !r->fr_killed);
}

void
worker_free(struct worker *w)
{
	struct fake_rec	**pp, *r;
	struct worker	**wp;

	for (wp = &wlist; *wp != NULL; wp = &(*wp)->w_next)
		if (*wp == w) {
			*wp = w->w_next;
			break;
		}
	for (pp = &recs; (r = *pp) != NULL; pp = &r->fr_next)
		if (r->fr_w == w) {
			*pp = r->fr_next;
			free(r);
			break;
		}
	timer_stop(&w->w_timer);
	timer_stop(&w->w_uptime);
	config_release(w->w_conf->pc_cfg);
	if (last == w)
		last = NULL;
	free(w);
}

int
worker_count(void)
{
	return fake_live();
}

struct worker *
fake_worker(pid_t pid)
{
	struct fake_rec	*r;

	for (r = recs; r != NULL; r = r->fr_next)
		if (r->fr_w->w_pid == pid)
			return r->fr_w;
	return NULL;
}

struct worker *
fake_last_spawned(void)
{
	return last;
}

void
fake_execed(struct worker *w)
{
	w->w_cb(w, WE_EXECED, 0, NULL);
}

void
fake_exec_failed(struct worker *w)
{
	w->w_cb(w, WE_EXEC_FAILED, STAGE_EXEC, "cannot execute: fake");
}

void
fake_message(struct worker *w, enum worker_msg m, const char *text)
{
	w->w_cb(w, WE_MESSAGE, (int)m, text != NULL ? text : "");
}

/*
 * The worker's process exits with a wait status; its group goes with it
 * unless the test said otherwise.  The record may be freed by the call.
 */
void
fake_exit(struct worker *w, int status)
{
	w->w_reaped = 1;
	w->w_status = status;
	w->w_cb(w, WE_EXITED, status, NULL);
}

/* 1: its group outlives the leader's exit, until a SIGKILL to it. */
void
fake_set_group_alive(struct worker *w, int outlives)
{
	struct fake_rec	*r = rec_of(w);

	if (r != NULL)
		r->fr_outlives = outlives;
}

int
fake_signalled(pid_t pid, int sig, int group)
{
	int	i, n = 0;

	for (i = 0; i < fake_nsignals; i++)
		if (fake_signals[i].fs_pid == pid &&
		    fake_signals[i].fs_sig == sig &&
		    fake_signals[i].fs_group == group)
			n++;
	return n;
}

int
fake_live(void)
{
	struct fake_rec	*r;
	int		 n = 0;

	for (r = recs; r != NULL; r = r->fr_next)
		n++;
	return n;
}

struct worker *
worker_adopt(const struct spawn_req *req, pid_t pid, double started,
    worker_cb cb, struct slot *sl, int exec_fd)
{
	struct worker	*w;

	(void)exec_fd;
	if ((w = worker_spawn(req, cb, sl)) != NULL) {
		w->w_pid = pid;
		w->w_started = started;
	}
	return w;
}

/* An upgrade's capture pipes: the fake's workers have no pipes. */
void
worker_adopt_output(struct worker *w, const struct state_rec *r)
{
	(void)w;
	(void)r;
}

struct worker *
worker_first(void)
{
	return wlist;
}

/* The fake workers have no cgroup: their group is a process group. */
int
worker_adopt_cgroup(struct worker *w, const char *path)
{
	(void)w;
	(void)path;
	return 0;
}

const char *
worker_group_name(const struct worker *w)
{
	(void)w;
	return "process group";
}

void
worker_disconnect(struct worker *w)
{
	record(w, 0, 1);	/* "signal 0": the disconnect message */
}

void
worker_notify_close(struct worker *w)
{
	(void)w;
}

int
worker_notify_adopt(struct worker *w, int fd)
{
	(void)w;
	(void)fd;
	return -1;
}

int
worker_notify_fd(const struct worker *w)
{
	(void)w;
	return -1;
}
