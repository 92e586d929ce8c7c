/*
 * SPDX-License-Identifier: ISC
 *
 * The lifecycle of a slot and its workers, as one table of states and
 * events.  This file is the only writer of a worker's or a slot's state.
 *
 * Layers.  The master (master.c) turns signals, the control socket and
 * reaped children into calls on programs (program.c), which post events
 * to their slots here.  Below, worker.c forks and reaps processes and
 * reports what they do through the callback it is given (worker_news),
 * and timers (timer.c) call back here when they go off.  Nothing here
 * calls a layer above: a program learns how its slots are doing by
 * reading them (slot_roll_status, slot_shown) after each wakeup.
 *
 * A slot has at most one current worker (the one that serves), at most
 * one next worker (starting to take over from the current one: a
 * rolling restart, max_memory) and any number of leaving ones (stopping,
 * retired, lingering).  A next worker never exists without a current
 * one: when the current one goes, the next one takes its place.  The
 * table's row is a worker's state, or, for an event addressed to a slot
 * that has no current worker, the slot's own idle state.
 *
 *                 START  STOP   KILL   REPLACE REMOVE SPAWNED EXECFAIL
 *	STOPPED    start  -      -      start   -      -       -
 *	BACKOFF    -      cancel cancel -       cancel -       -
 *	STARTING   -      stop   kill   replace stop   execed  execfail
 *	READY      -      stop   kill   replace stop   -       -
 *	KILLED     -      stopk  kill   -       stopk  -       -
 *	STOPPING   -      -      killl  -       -      -       -
 *	RETIRED    -      -      killl  -       -      -       -
 *	LINGERING  -      -      killg  -       -      -       -
 *
 *                 READY  UP     HEARTB SUICIDE EXITED TIMER    ORPHAN
 *	STOPPED    -      -      -      -       -      -        -
 *	BACKOFF    -      -      -      -       -      start    -
 *	STARTING   ready  upauto -      suicide exited rtimeout -
 *	READY      -      stable beat   suicide exited watchdog -
 *	KILLED     -      -      -      -       exited -        -
 *	STOPPING   -      -      -      -       left   stimeout -
 *	RETIRED    -      -      -      -       left   stimeout -
 *	LINGERING  -      -      -      -       -      ltimeout lcheck
 *
 * Events addressed to a slot (START, STOP, KILL, REPLACE, REMOVE,
 * ORPHAN) go to
 * each of its workers, leaving ones first, then the next one, then the
 * current one, and to the slot itself if it had no current worker.  The
 * others concern one worker: from worker.c (SPAWNED, EXEC_FAILED, READY,
 * HEARTBEAT, SUICIDE, EXITED) or from its timers (UP, TIMER).
 */

#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "daemon.h"
#include "log.h"

typedef void	(*action_fn)(struct slot *, struct worker *);

static void	a_start(struct slot *, struct worker *);
static void	a_cancel(struct slot *, struct worker *);
static void	a_stop(struct slot *, struct worker *);
static void	a_stop_killed(struct slot *, struct worker *);
static void	a_kill(struct slot *, struct worker *);
static void	a_kill_leaving(struct slot *, struct worker *);
static void	a_kill_group(struct slot *, struct worker *);
static void	a_linger_timeout(struct slot *, struct worker *);
static void	a_linger_check(struct slot *, struct worker *);
static void	a_replace(struct slot *, struct worker *);
static void	a_execed(struct slot *, struct worker *);
static void	a_exec_failed(struct slot *, struct worker *);
static void	a_ready(struct slot *, struct worker *);
static void	a_up_auto(struct slot *, struct worker *);
static void	a_stable(struct slot *, struct worker *);
static void	a_heartbeat(struct slot *, struct worker *);
static void	a_suicide(struct slot *, struct worker *);
static void	a_exited(struct slot *, struct worker *);
static void	a_left(struct slot *, struct worker *);
static void	a_ready_timeout(struct slot *, struct worker *);
static void	a_watchdog(struct slot *, struct worker *);
static void	a_stop_timeout(struct slot *, struct worker *);

static const action_fn actions[ST_NSTATES][SE_NEVENTS] = {
	[ST_STOPPED] = {
		[SE_START] = a_start,
		[SE_REPLACE] = a_start,
	},
	[ST_BACKOFF] = {
		[SE_STOP] = a_cancel,
		[SE_KILL] = a_cancel,
		[SE_REMOVE] = a_cancel,
		[SE_TIMER] = a_start,
	},
	[ST_STARTING] = {
		[SE_STOP] = a_stop,
		[SE_KILL] = a_kill,
		[SE_REPLACE] = a_replace,
		[SE_REMOVE] = a_stop,
		[SE_SPAWNED] = a_execed,
		[SE_EXEC_FAILED] = a_exec_failed,
		[SE_READY] = a_ready,
		[SE_UP] = a_up_auto,
		[SE_SUICIDE] = a_suicide,
		[SE_EXITED] = a_exited,
		[SE_TIMER] = a_ready_timeout,
	},
	[ST_READY] = {
		[SE_STOP] = a_stop,
		[SE_KILL] = a_kill,
		[SE_REPLACE] = a_replace,
		[SE_REMOVE] = a_stop,
		[SE_UP] = a_stable,
		[SE_HEARTBEAT] = a_heartbeat,
		[SE_SUICIDE] = a_suicide,
		[SE_EXITED] = a_exited,
		[SE_TIMER] = a_watchdog,
	},
	[ST_KILLED] = {
		[SE_STOP] = a_stop_killed,
		[SE_KILL] = a_kill,
		[SE_REMOVE] = a_stop_killed,
		[SE_EXITED] = a_exited,
	},
	[ST_STOPPING] = {
		[SE_KILL] = a_kill_leaving,
		[SE_EXITED] = a_left,
		[SE_TIMER] = a_stop_timeout,
	},
	[ST_RETIRED] = {
		[SE_KILL] = a_kill_leaving,
		[SE_EXITED] = a_left,
		[SE_TIMER] = a_stop_timeout,
	},
	[ST_LINGERING] = {
		[SE_KILL] = a_kill_group,
		[SE_TIMER] = a_linger_timeout,
		[SE_ORPHAN] = a_linger_check,
	},
};

static const char *state_names[ST_NSTATES] = {
	[ST_STOPPED] = "stopped",
	[ST_BACKOFF] = "backoff",
	[ST_STARTING] = "starting",
	[ST_READY] = "ready",
	[ST_KILLED] = "stopping",
	[ST_STOPPING] = "stopping",
	[ST_RETIRED] = "stopping",
	[ST_LINGERING] = "stopping",
};

static unsigned	changes;	/* state changes so far, for the master */

/*
 * What happened to workers, one line each, for clients that follow an
 * operation (clusterctl --wait): a ring the upper layers read by
 * sequence number, after each wakeup.  A reader that falls behind by
 * more than the ring holds misses lines, and can tell.
 */
#define EVENTS_MAX	256

struct life_event {
	char	le_prog[NAME_MAXLEN];
	char	le_text[192];
};

static struct life_event	events[EVENTS_MAX];
static unsigned			nevents;	/* recorded so far */

static void	dispatch(struct slot *, struct worker *, enum slot_event);
static void	worker_news(struct worker *, enum worker_event, int,
		    const char *);
static void	worker_timer_fired(void *);
static void	worker_uptime_fired(void *);
static void	slot_timer_fired(void *);
static struct worker *spawn(struct slot *);
static int	spawn_current(struct slot *);
static void	backoff(struct slot *, double);
static void	detach(struct slot *, struct worker *);
static void	leave(struct slot *, struct worker *, enum life_state);
static void	unlink_leaving(struct slot *, struct worker *);
static void	begin_stop(struct slot *, struct worker *, int);
static void	linger_or_free(struct slot *, struct worker *, int);
static void	kill_for(struct worker *, enum kill_cause);
static void	note_exit(const struct worker *, struct exit_note *);
static void	restart_after_exit(struct slot *, struct worker *,
		    const struct exit_note *, const char *);
static void	failed_replacement(struct slot *, struct worker *,
		    const char *);
static int	slot_fds(const struct slot *, int *);
static int	slot_fd_of(const struct slot *, const struct listener *);
static int	einhorn_index(const struct program *);
static void	einhorn_used(const struct slot *, int **, size_t *);
static void	record(const struct slot *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	is_cur(const struct slot *, const struct worker *);
static int	is_next(const struct slot *, const struct worker *);

#define W_NAME(w)	((w)->w_conf->pc_name)
#define W_PID(w)	((long)(w)->w_pid)
#define SL_NAME(sl)	((sl)->sl_prog->p_cur.b_conf->pc_name)
#define SL_CONF(sl)	((sl)->sl_prog->p_cur.b_conf)

struct slot *
slot_create(struct program *p, int index)
{
	struct slot	*sl;

	if ((sl = calloc(1, sizeof(*sl))) == NULL)
		return NULL;
	sl->sl_prog = p;
	sl->sl_index = index;
	sl->sl_idle = ST_STOPPED;
	timer_init(&sl->sl_timer, slot_timer_fired, sl);
	if (slot_sync_sockets(sl) == -1) {
		free(sl);
		return NULL;
	}
	return sl;
}

/*
 * An upgrade: slot index of p as the old image had it (its record r):
 * idle state, streak, counts, last exit, backoff deadline.  Its sockets
 * and workers follow (slot_adopt_sock, slot_adopt_worker).
 */
struct slot *
slot_adopt(struct program *p, const struct state_rec *r)
{
	struct slot	*sl;
	long long	 n;
	double		 at;
	int		 st, cause;
	const char	*ex;

	if (state_num(r, "index", &n) == -1 || n < 0 ||
	    (sl = calloc(1, sizeof(*sl))) == NULL)
		return NULL;
	sl->sl_prog = p;
	sl->sl_index = (int)n;
	/*
	 * The idle state outlives the backoff it names (it matters only
	 * while the slot has no worker): a slot waits to start one only if
	 * its backoff timer was still armed.
	 */
	st = state_life(r, "idle");
	if (st == ST_BACKOFF && state_time(r, "timer", &at) == 0 && at > 0)
		sl->sl_idle = ST_BACKOFF;
	else
		sl->sl_idle = ST_STOPPED;
	timer_init(&sl->sl_timer, slot_timer_fired, sl);
	if (state_num(r, "streak", &n) == 0)
		sl->sl_streak = (unsigned)n;
	if (state_num(r, "startfails", &n) == 0)
		sl->sl_start_fails = (unsigned)n;
	if (state_num(r, "failepoch", &n) == 0)
		sl->sl_fail_epoch = (unsigned)n;
	if (state_num(r, "crashes", &n) == 0)
		sl->sl_crashes = (unsigned)n;
	if (state_num(r, "replaced", &n) == 0)
		sl->sl_replaced = (unsigned)n;
	(void)state_time(r, "hold", &sl->sl_hold_until);
	if ((ex = state_get(r, "exit")) != NULL && sscanf(ex, "%d,%d,%d,%lf",
	    &sl->sl_last_exit.en_valid, &sl->sl_last_exit.en_status, &cause,
	    &sl->sl_last_exit.en_uptime) == 4)
		sl->sl_last_exit.en_cause = (enum kill_cause)cause;
	if (sl->sl_idle == ST_BACKOFF)
		timer_start(&sl->sl_timer, at - clock_now());
	return sl;
}

/* An upgrade: the slot's reuseport socket for l, already open at fd. */
int
slot_adopt_sock(struct slot *sl, struct listener *l, int fd)
{
	struct slot_sock	*ss;

	ss = reallocarray(sl->sl_socks, sl->sl_nsocks + 1, sizeof(*ss));
	if (ss == NULL)
		return -1;
	sl->sl_socks = ss;
	ss[sl->sl_nsocks].ss_listener = l;
	ss[sl->sl_nsocks].ss_fd = fd;
	sl->sl_nsocks++;
	return 0;
}

/*
 * An upgrade: a worker of the slot as the old image had it (record r):
 * its role (current, next, leaving), state and timers, its IPC channel,
 * its cgroup and what it had said.  It runs the program's current
 * configuration from now on.  -1 if the record makes no sense (logged).
 */
int
slot_adopt_worker(struct slot *sl, const struct state_rec *r)
{
	struct spawn_req	 req;
	struct worker		*w;
	const char		*role = state_get(r, "role"), *text;
	long long		 pid, n, ipc = -1, exec = -1, bad = 0;
	double			 started = clock_now(), at;
	int			 st = state_life(r, "state");
	int			 fds[SL_CONF(sl)->pc_nsockets + 1];

	if (role == NULL || state_num(r, "pid", &pid) == -1 || pid <= 1 ||
	    st < ST_STARTING) {
		log_warnx("%s[%d]: upgrade: a worker record without its "
		    "pid, role or state", SL_NAME(sl), sl->sl_index);
		return -1;
	}
	(void)state_time(r, "started", &started);
	(void)state_num(r, "ipc", &ipc);
	(void)state_num(r, "exec", &exec);
	(void)state_num(r, "bad", &bad);
	memset(&req, 0, sizeof(req));
	req.sr_conf = SL_CONF(sl);
	req.sr_slot = sl->sl_index;
	req.sr_socks = sl->sl_prog->p_cur.b_socks;
	req.sr_fds = fds;
	if (slot_fds(sl, fds) == -1)
		req.sr_fds = NULL;	/* no queryServer answers, then */
	if ((w = worker_adopt(&req, (pid_t)pid, started, worker_news, sl,
	    (int)exec)) == NULL)
		return -1;
	w->w_state = (enum life_state)st;
	if (state_num(r, "cause", &n) == 0)
		w->w_cause = (enum kill_cause)n;
	if (state_num(r, "epoch", &n) == 0)
		w->w_epoch = (unsigned)n;
	if (state_num(r, "reaped", &n) == 0)
		w->w_reaped = (int)n;
	if (state_num(r, "status", &n) == 0)
		w->w_status = (int)n;
	(void)state_time(r, "ready", &w->w_ready_at);
	if ((text = state_get(r, "text")) != NULL)
		snprintf(w->w_text, sizeof(w->w_text), "%s", text);
	if ((text = state_get(r, "cgroup")) != NULL)
		(void)worker_adopt_cgroup(w, text);	/* logged */
	if (ipc >= 0 && ipc_adopt(w, &req, (int)ipc, state_get(r, "ipcbuf"),
	    state_len(r, "ipcbuf"), (int)bad) == -1)
		log_warnx("%s[%d] (pid %ld): upgrade: its IPC channel is "
		    "lost", W_NAME(w), w->w_index, W_PID(w));
	else if (ipc >= 0 && state_get(r, "nodecl") != NULL)
		(void)ipc_adopt_nodecl(w, state_get(r, "nodecl"),
		    state_len(r, "nodecl"));
	if (state_num(r, "notify", &n) == 0 && n >= 0)
		(void)worker_notify_adopt(w, (int)n);
	worker_adopt_output(w, r);
	timer_init(&w->w_timer, worker_timer_fired, w);
	timer_init(&w->w_uptime, worker_uptime_fired, w);
	if (state_time(r, "timer", &at) == 0 && at > 0)
		timer_start(&w->w_timer, at - clock_now());
	if (state_time(r, "uptime", &at) == 0 && at > 0)
		timer_start(&w->w_uptime, at - clock_now());
	if (strcmp(role, "cur") == 0 && sl->sl_cur == NULL)
		sl->sl_cur = w;
	else if (strcmp(role, "next") == 0 && sl->sl_next == NULL)
		sl->sl_next = w;
	else {
		w->w_sibling = sl->sl_leaving;
		sl->sl_leaving = w;
	}
	return 0;
}

/*
 * Free a slot and its reuseport sockets.  Its workers are normally gone
 * (slot_empty); any record still there is dropped without a signal.
 */
void
slot_free(struct slot *sl)
{
	struct worker	*w;
	size_t		 i;

	timer_stop(&sl->sl_timer);
	while ((w = sl->sl_leaving) != NULL) {
		sl->sl_leaving = w->w_sibling;
		worker_free(w);
	}
	if (sl->sl_next != NULL)
		worker_free(sl->sl_next);
	if (sl->sl_cur != NULL)
		worker_free(sl->sl_cur);
	for (i = 0; i < sl->sl_nsocks; i++)
		if (sl->sl_socks[i].ss_fd != -1)
			close(sl->sl_socks[i].ss_fd);
	free(sl->sl_socks);
	free(sl);
}

/* An event for the slot: to each of its workers, and to the slot. */
void
slot_post(struct slot *sl, enum slot_event ev)
{
	struct worker	*w, *sibling;
	int		 had_cur = sl->sl_cur != NULL;

	for (w = sl->sl_leaving; w != NULL; w = sibling) {
		sibling = w->w_sibling;	/* w may be freed */
		dispatch(sl, w, ev);
	}
	if (sl->sl_next != NULL)
		dispatch(sl, sl->sl_next, ev);
	if (sl->sl_cur != NULL && had_cur)
		dispatch(sl, sl->sl_cur, ev);
	if (!had_cur)
		dispatch(sl, NULL, ev);
}

static void
dispatch(struct slot *sl, struct worker *w, enum slot_event ev)
{
	action_fn	fn;

	fn = actions[w != NULL ? w->w_state : sl->sl_idle][ev];
	if (fn != NULL) {
		fn(sl, w);
		changes++;
	}
}

/* Nothing of this slot is left running. */
int
slot_empty(const struct slot *sl)
{
	return sl->sl_cur == NULL && sl->sl_next == NULL &&
	    sl->sl_leaving == NULL;
}

/*
 * Where the slot stands in a rolling restart to epoch: what the program
 * reads after each wakeup to drive the roll.
 */
enum slot_roll
slot_roll_status(const struct slot *sl, unsigned epoch)
{
	if (sl->sl_fail_epoch == epoch)
		return ROLL_FAILED;
	if (sl->sl_next != NULL)
		return sl->sl_next->w_epoch == epoch ? ROLL_WAIT : ROLL_TODO;
	if (sl->sl_cur != NULL)
		return sl->sl_cur->w_epoch == epoch ||
		    sl->sl_cur->w_state == ST_KILLED ? ROLL_DONE : ROLL_TODO;
	return sl->sl_idle == ST_STOPPED ? ROLL_TODO : ROLL_DONE;
}

/* The worker clusterctl shows for the slot: current, next, or leaving. */
const struct worker *
slot_shown(const struct slot *sl)
{
	if (sl->sl_cur != NULL)
		return sl->sl_cur;
	if (sl->sl_next != NULL)
		return sl->sl_next;
	return sl->sl_leaving;
}

const char *
slot_state_name(const struct slot *sl)
{
	const struct worker	*w = slot_shown(sl);

	return state_names[w != NULL ? w->w_state : sl->sl_idle];
}

/*
 * The life events from seq on: the text of the one at seq and its
 * program's name, or NULL if there is none yet; *seq moves past it, and
 * past any that the ring no longer holds.
 */
const char *
slot_event(unsigned *seq, const char **prog)
{
	struct life_event	*le;

	if (nevents - *seq > EVENTS_MAX)
		*seq = nevents - EVENTS_MAX;
	if (*seq == nevents)
		return NULL;
	le = &events[*seq % EVENTS_MAX];
	(*seq)++;
	*prog = le->le_prog;
	return le->le_text;
}

/* The sequence number the next life event will have. */
unsigned
slot_event_next(void)
{
	return nevents;
}

/* A counter the master compares after each wakeup: did anything move? */
unsigned
slot_changes(void)
{
	return changes;
}

/*
 * The slot's own SO_REUSEPORT socket for each reuseport listener of its
 * program's current and previous configuration: kept while the listener
 * is (so connections queued on it wait for the slot's next worker),
 * bound anew for a new listener, closed when no longer named.  -1 if one
 * could not be bound; that listener's entry stays closed.
 */
int
slot_sync_sockets(struct slot *sl)
{
	const struct binding	*bs[2] = { &sl->sl_prog->p_cur,
				    &sl->sl_prog->p_prev };
	struct slot_sock	*ss = NULL;
	struct listener		*l;
	size_t			 n = 0, i, j, b;
	char			 err[ERRBUF_LEN];
	int			 rc = 0;

	for (b = 0; b < 2; b++)
		if (bs[b]->b_conf != NULL)
			n += bs[b]->b_conf->pc_nsockets + 1;
	if (n > 0 && (ss = calloc(n, sizeof(*ss))) == NULL)
		return -1;
	for (n = 0, b = 0; b < 2; b++) {
		for (i = 0; bs[b]->b_conf != NULL &&
		    i <= bs[b]->b_conf->pc_nsockets; i++) {
			/* its sockets, and node_handle's */
			if ((l = i < bs[b]->b_conf->pc_nsockets ?
			    bs[b]->b_socks[i] : bs[b]->b_node) == NULL)
				continue;
			for (j = 0; j < n && ss[j].ss_listener != l; j++)
				;
			if (!l->l_reuseport || j < n)
				continue;
			ss[n].ss_listener = l;
			ss[n].ss_fd = -1;
			for (j = 0; j < sl->sl_nsocks; j++)
				if (sl->sl_socks[j].ss_listener == l) {
					ss[n].ss_fd = sl->sl_socks[j].ss_fd;
					sl->sl_socks[j].ss_fd = -1;
				}
			if (ss[n].ss_fd == -1 && (ss[n].ss_fd =
			    sock_open_reuseport(l, err, sizeof(err))) == -1) {
				log_errorx("%s[%d]: socket %s: %s", SL_NAME(sl),
				    sl->sl_index, l->l_name, err);
				rc = -1;
			}
			n++;
		}
	}
	for (j = 0; j < sl->sl_nsocks; j++)
		if (sl->sl_socks[j].ss_fd != -1)
			close(sl->sl_socks[j].ss_fd);
	free(sl->sl_socks);
	sl->sl_socks = ss;
	sl->sl_nsocks = n;
	return rc;
}

/*
 * What worker.c reports: turned into the table's events.  A "ready"
 * message counts only with ready = message, a server listening only
 * with ready = listening, READY=1 only with ready = notify.
 */
static void
worker_news(struct worker *w, enum worker_event ev, int arg,
    const char *text)
{
	struct slot	*sl = w->w_slot;

	switch (ev) {
	case WE_EXECED:
		dispatch(sl, w, SE_SPAWNED);
		break;
	case WE_EXEC_FAILED:
		log_errorx("%s[%d]: %s", W_NAME(w), w->w_index, text);
		dispatch(sl, w, SE_EXEC_FAILED);
		break;
	case WE_EXITED:
		dispatch(sl, w, SE_EXITED);
		break;
	case WE_MESSAGE:
		switch ((enum worker_msg)arg) {
		case WM_READY:
			if (w->w_conf->pc_ready == READY_MESSAGE)
				dispatch(sl, w, SE_READY);
			break;
		case WM_LISTENING:
			if (w->w_conf->pc_ready == READY_LISTENING)
				dispatch(sl, w, SE_READY);
			break;
		case WM_NOTIFY_READY:
			if (w->w_conf->pc_ready == READY_NOTIFY)
				dispatch(sl, w, SE_READY);
			break;
		case WM_HEARTBEAT:
			dispatch(sl, w, SE_HEARTBEAT);
			break;
		case WM_STATUS:
			snprintf(w->w_text, sizeof(w->w_text), "%s", text);
			changes++;
			break;
		case WM_SUICIDE:
			dispatch(sl, w, SE_SUICIDE);
			break;
		}
		break;
	}
}

static void
worker_timer_fired(void *arg)
{
	struct worker	*w = arg;

	dispatch(w->w_slot, w, SE_TIMER);
}

static void
worker_uptime_fired(void *arg)
{
	struct worker	*w = arg;

	dispatch(w->w_slot, w, SE_UP);
}

static void
slot_timer_fired(void *arg)
{
	struct slot	*sl = arg;

	dispatch(sl, NULL, SE_TIMER);
}

/* STOPPED + START, REPLACE; BACKOFF + TIMER: start the current worker. */
static void
a_start(struct slot *sl, struct worker *w)
{
	(void)w;
	if (sl->sl_idle == ST_STOPPED)
		sl->sl_streak = 0;	/* asked for: a fresh start */
	(void)spawn_current(sl);
}

/* BACKOFF + STOP, KILL, REMOVE: the pending start is off. */
static void
a_cancel(struct slot *sl, struct worker *w)
{
	(void)w;
	timer_stop(&sl->sl_timer);
	sl->sl_idle = ST_STOPPED;
	sl->sl_start_fails = 0;		/* a new start is a new burst */
}

/* STARTING, READY + STOP, REMOVE: stop_signal now, SIGKILL later. */
static void
a_stop(struct slot *sl, struct worker *w)
{
	const struct prog_conf	*pc = w->w_conf;

	leave(sl, w, ST_STOPPING);
	begin_stop(sl, w, pc->pc_stop_signal);
}

/* KILLED + STOP, REMOVE: SIGKILL is on its way; its exit is not a crash. */
static void
a_stop_killed(struct slot *sl, struct worker *w)
{
	leave(sl, w, ST_STOPPING);
}

/* STARTING, READY, KILLED + KILL: SIGKILL to the group, now. */
static void
a_kill(struct slot *sl, struct worker *w)
{
	leave(sl, w, ST_STOPPING);
	a_kill_leaving(sl, w);
}

/* STOPPING, RETIRED + KILL. */
static void
a_kill_leaving(struct slot *sl, struct worker *w)
{
	(void)sl;
	timer_stop(&w->w_timer);
	w->w_cause = KILL_REQUESTED;
	worker_signal_group(w, SIGKILL);
}

/* LINGERING + KILL: SIGKILL to what is left of the group; gone. */
static void
a_kill_group(struct slot *sl, struct worker *w)
{
	worker_signal_group(w, SIGKILL);
	unlink_leaving(sl, w);
	worker_free(w);
}

/* LINGERING + ORPHAN: the last of its group may just have been reaped. */
static void
a_linger_check(struct slot *sl, struct worker *w)
{
	if (worker_group_alive(w))
		return;
	unlink_leaving(sl, w);
	worker_free(w);
}

/* LINGERING + TIMER: what is left of the group did not stop in time. */
static void
a_linger_timeout(struct slot *sl, struct worker *w)
{
	char	d[32];

	format_duration(w->w_conf->pc_stop_timeout, d, sizeof(d));
	log_warnx("%s[%d] (pid %ld) did not stop within %s: SIGKILL to its "
	    "%s", W_NAME(w), w->w_index, W_PID(w), d, worker_group_name(w));
	a_kill_group(sl, w);
}

/*
 * STARTING, READY + REPLACE: the current worker gets a next one (unless
 * one of this epoch is already starting); a next one of an older epoch
 * is stopped, so that the current one's turn starts a fresh one.
 */
static void
a_replace(struct slot *sl, struct worker *w)
{
	struct worker	*next;

	if (is_next(sl, w)) {
		if (w->w_epoch != sl->sl_prog->p_epoch)
			a_stop(sl, w);
		return;
	}
	if (sl->sl_next != NULL)
		return;
	if ((next = spawn(sl)) == NULL) {
		failed_replacement(sl, NULL, "its replacement could not be "
		    "started");
		return;
	}
	sl->sl_next = next;
}

/* STARTING + SPAWNED: with ready = exec, that is it. */
static void
a_execed(struct slot *sl, struct worker *w)
{
	if (w->w_conf->pc_ready == READY_EXEC)
		a_ready(sl, w);
}

/* STARTING + EXEC_FAILED: it cannot become ready; its exit follows. */
static void
a_exec_failed(struct slot *sl, struct worker *w)
{
	(void)sl;
	timer_stop(&w->w_timer);
}

/*
 * STARTING + READY: up.  A next worker takes over from the current one,
 * which is stopped: a planned replacement.
 */
static void
a_ready(struct slot *sl, struct worker *w)
{
	const struct prog_conf	*pc = w->w_conf;
	struct worker		*old;

	w->w_state = ST_READY;
	w->w_ready_at = clock_now();
	timer_stop(&w->w_timer);
	if (pc->pc_watchdog > 0)
		timer_start(&w->w_timer, pc->pc_watchdog);
	log_info("%s[%d] (pid %ld) is ready", W_NAME(w), w->w_index,
	    W_PID(w));
	record(sl, "pid %ld is ready", W_PID(w));
	if (is_next(sl, w)) {
		sl->sl_next = NULL;
		if ((old = sl->sl_cur) != NULL) {
			record(sl, "pid %ld replaced by pid %ld", W_PID(old),
			    W_PID(w));
			leave(sl, old, ST_STOPPING);
			begin_stop(sl, old, old->w_conf->pc_stop_signal);
		}
		sl->sl_cur = w;
		sl->sl_replaced++;
	}
	if (!timer_armed(&w->w_uptime) && is_cur(sl, w))
		sl->sl_streak = 0;
}

/* STARTING + UP: with ready = auto, living min_uptime makes it ready. */
static void
a_up_auto(struct slot *sl, struct worker *w)
{
	if (w->w_conf->pc_ready == READY_AUTO)
		a_ready(sl, w);
}

/* READY + UP: ready and min_uptime old: the run of fast failures ends. */
static void
a_stable(struct slot *sl, struct worker *w)
{
	if (is_cur(sl, w))
		sl->sl_streak = 0;
}

static void
a_heartbeat(struct slot *sl, struct worker *w)
{
	(void)sl;
	if (w->w_conf->pc_watchdog > 0)
		timer_start(&w->w_timer, w->w_conf->pc_watchdog);
}

/*
 * STARTING, READY + SUICIDE: "replace me".  The worker leaves by itself
 * (SIGKILL at stop_timeout); its replacement starts now, or after a
 * backoff delay when it asks sooner than a worker must live.  A next
 * worker that asks is not listened to: it has not taken over yet.
 */
static void
a_suicide(struct slot *sl, struct worker *w)
{
	const struct prog_conf	*pc = SL_CONF(sl);
	double			 delay, uptime;
	int			 was_ready;
	char			 d[32];

	if (!is_cur(sl, w)) {
		log_debug("%s[%d] (pid %ld) asked to be replaced before it "
		    "took over: ignored", W_NAME(w), w->w_index, W_PID(w));
		return;
	}
	was_ready = w->w_state == ST_READY;
	uptime = was_ready ? clock_now() - w->w_started : 0;
	leave(sl, w, ST_RETIRED);
	begin_stop(sl, w, 0);
	sl->sl_replaced++;
	record(sl, "pid %ld asked to be replaced", W_PID(w));
	if (sl->sl_cur != NULL) {
		log_notice("%s[%d] (pid %ld) asked to be replaced; its "
		    "replacement is already starting", W_NAME(w), w->w_index,
		    W_PID(w));
		return;
	}
	if (policy_after_suicide(pc, uptime, &sl->sl_streak, &delay) ==
	    NEXT_RESTART) {
		log_notice("%s[%d] (pid %ld) asked to be replaced: starting "
		    "its replacement", W_NAME(w), w->w_index, W_PID(w));
		(void)spawn_current(sl);
		return;
	}
	format_duration(delay, d, sizeof(d));
	log_warnx("%s[%d] (pid %ld) asked to be replaced %s; its replacement "
	    "starts in %s", W_NAME(w), w->w_index, W_PID(w),
	    was_ready ? "soon after it started" : "before it was ready", d);
	backoff(sl, delay);
}

/*
 * STARTING, READY, KILLED + EXITED: a current worker exited by itself
 * (or from a kill for a failure); the restart policy decides.  A next
 * worker that exits was a failed replacement: the current one stays.
 */
static void
a_exited(struct slot *sl, struct worker *w)
{
	struct exit_note	 en;
	char			 what[256], how[160];

	timer_stop(&w->w_timer);
	timer_stop(&w->w_uptime);
	note_exit(w, &en);
	exit_describe(&en, 0, how, sizeof(how));
	snprintf(what, sizeof(what), "%s[%d] (pid %ld) %s", W_NAME(w),
	    w->w_index, W_PID(w), how);
	record(sl, "pid %ld %s", W_PID(w), how);
	if (is_next(sl, w)) {
		detach(sl, w);
		failed_replacement(sl, w, what);
	} else {
		sl->sl_last_exit = en;
		detach(sl, w);
		if (sl->sl_cur != NULL)
			log_warnx("%s; its replacement is already starting",
			    what);
		else
			restart_after_exit(sl, w, &en, what);
	}
	linger_or_free(sl, w, 1);
}

/* STOPPING, RETIRED + EXITED: a worker on its way out is gone. */
static void
a_left(struct slot *sl, struct worker *w)
{
	struct exit_note	en;
	char			how[160];

	note_exit(w, &en);
	exit_describe(&en, 0, how, sizeof(how));
	log_info("%s[%d] (pid %ld) %s", W_NAME(w), w->w_index, W_PID(w),
	    how);
	record(sl, "pid %ld stopped: %s", W_PID(w), how);
	unlink_leaving(sl, w);
	linger_or_free(sl, w, w->w_state == ST_RETIRED);
}

/* STARTING + TIMER: not up by ready_timeout. */
static void
a_ready_timeout(struct slot *sl, struct worker *w)
{
	char	d[32];

	(void)sl;
	format_duration(w->w_conf->pc_ready_timeout, d, sizeof(d));
	log_warnx("%s[%d] (pid %ld) was not ready within %s: SIGKILL",
	    W_NAME(w), w->w_index, W_PID(w), d);
	kill_for(w, KILL_READY_TIMEOUT);
}

/* READY + TIMER: no heartbeat within watchdog. */
static void
a_watchdog(struct slot *sl, struct worker *w)
{
	char	d[32];

	(void)sl;
	format_duration(w->w_conf->pc_watchdog, d, sizeof(d));
	log_warnx("%s[%d] (pid %ld) sent no heartbeat for %s: SIGKILL",
	    W_NAME(w), w->w_index, W_PID(w), d);
	kill_for(w, KILL_WATCHDOG);
}

/* STOPPING, RETIRED + TIMER: stop_timeout is over. */
static void
a_stop_timeout(struct slot *sl, struct worker *w)
{
	char	d[32];

	(void)sl;
	format_duration(w->w_conf->pc_stop_timeout, d, sizeof(d));
	log_warnx("%s[%d] (pid %ld) did not stop within %s: SIGKILL to its "
	    "%s", W_NAME(w), w->w_index, W_PID(w), d, worker_group_name(w));
	w->w_cause = KILL_STOP_TIMEOUT;
	worker_signal_group(w, SIGKILL);
}

/*
 * Fork a worker for the slot from its program's current configuration:
 * STARTING, with its ready_timeout and min_uptime running.  NULL if it
 * could not be forked (logged).
 */
static struct worker *
spawn(struct slot *sl)
{
	const struct binding	*b = &sl->sl_prog->p_cur;
	struct prog_conf	*pc = b->b_conf;
	struct spawn_req	 req;
	struct worker		*w;
	int			 fds[pc->pc_nsockets + 1];

	if (slot_fds(sl, fds) == -1) {
		log_warnx("%s[%d]: its reuseport socket is not open",
		    pc->pc_name, sl->sl_index);
		return NULL;
	}
	memset(&req, 0, sizeof(req));
	req.sr_conf = pc;
	req.sr_slot = sl->sl_index;
	req.sr_socks = b->b_socks;
	req.sr_fds = fds;
	req.sr_node_fd = slot_fd_of(sl, b->b_node);
	req.sr_generation = sl->sl_prog->p_epoch;
	req.sr_einhorn_index = (pc->pc_compat & COMPAT_EINHORN) ?
	    einhorn_index(sl->sl_prog) : 0;
	if ((w = worker_spawn(&req, worker_news, sl)) == NULL)
		return NULL;
	w->w_einhorn = req.sr_einhorn_index;
	record(sl, "pid %ld started", W_PID(w));
	w->w_state = ST_STARTING;
	w->w_epoch = sl->sl_prog->p_epoch;
	timer_init(&w->w_timer, worker_timer_fired, w);
	timer_init(&w->w_uptime, worker_uptime_fired, w);
	timer_start(&w->w_timer, pc->pc_ready_timeout);
	timer_start(&w->w_uptime, pc->pc_min_uptime);
	return w;
}

/*
 * Start the current worker; a failed fork backs off like a crash.  A
 * slot that cannot start (no processes or descriptors left) says so
 * once, with the cause, and again only when it has started: one line
 * per burst, not one per retry.
 */
static int
spawn_current(struct slot *sl)
{
	const struct prog_conf	*pc = SL_CONF(sl);
	const char		*why;
	double			 delay;
	char			 d[32];

	timer_stop(&sl->sl_timer);
	log_hold();
	sl->sl_cur = spawn(sl);
	why = log_release(sl->sl_cur != NULL);
	if (sl->sl_cur != NULL) {
		if (sl->sl_start_fails > 0)
			log_notice("%s[%d]: started after %u failed attempts",
			    pc->pc_name, sl->sl_index, sl->sl_start_fails);
		sl->sl_start_fails = 0;
		return 0;
	}
	sl->sl_streak++;
	delay = backoff_delay(pc->pc_restart_delay, pc->pc_restart_delay_max,
	    sl->sl_streak);
	format_duration(delay, d, sizeof(d));
	if (sl->sl_start_fails++ == 0 && *why != '\0')
		log_warnx("%s; could not start: retrying in %s, and saying "
		    "nothing more until it starts", why, d);
	else if (sl->sl_start_fails == 1)
		log_warnx("%s[%d]: could not start: retrying in %s, and "
		    "saying nothing more until it starts", pc->pc_name,
		    sl->sl_index, d);
	else
		log_debug("%s[%d]: could not start (%u times): %s; retrying "
		    "in %s", pc->pc_name, sl->sl_index, sl->sl_start_fails,
		    why, d);
	backoff(sl, delay);
	return -1;
}

static void
backoff(struct slot *sl, double delay)
{
	sl->sl_idle = ST_BACKOFF;
	timer_start(&sl->sl_timer, delay);
}

/* The worker stops being current or next and joins the leaving ones. */
static void
leave(struct slot *sl, struct worker *w, enum life_state st)
{
	detach(sl, w);
	w->w_state = st;
	timer_stop(&w->w_uptime);
	w->w_sibling = sl->sl_leaving;
	sl->sl_leaving = w;
}

/*
 * The worker is no longer the slot's current or next one.  A current
 * worker's next one takes its place; a slot left without a worker is
 * stopped until told otherwise.
 */
static void
detach(struct slot *sl, struct worker *w)
{
	if (is_next(sl, w))
		sl->sl_next = NULL;
	else if (is_cur(sl, w)) {
		sl->sl_cur = sl->sl_next;
		sl->sl_next = NULL;
		if (sl->sl_cur == NULL)
			sl->sl_idle = ST_STOPPED;
	}
}

static void
unlink_leaving(struct slot *sl, struct worker *w)
{
	struct worker	**pp;

	for (pp = &sl->sl_leaving; *pp != NULL; pp = &(*pp)->w_sibling)
		if (*pp == w) {
			*pp = w->w_sibling;
			return;
		}
}

/*
 * A leaving worker: sig (0: none) to its group now, SIGKILL at
 * stop_timeout; stop_timeout = 0 is SIGKILL at once.
 */
static void
begin_stop(struct slot *sl, struct worker *w, int sig)
{
	double	after = w->w_conf->pc_stop_timeout;

	(void)sl;
	timer_stop(&w->w_timer);
	if (after <= 0) {
		w->w_cause = KILL_REQUESTED;
		worker_signal_group(w, SIGKILL);
		return;
	}
	if (sig != 0 && sig == w->w_conf->pc_stop_signal &&
	    w->w_conf->pc_stop_disconnect)
		worker_disconnect(w);	/* Node's graceful stop */
	else if (sig != 0)
		worker_signal_group(w, sig);
	timer_start(&w->w_timer, after);
}

/*
 * The leader is reaped and unlinked from the slot.  If its process group
 * still has members (a helper it left behind, a child holding the
 * listening socket), they are stopped like a worker: stop_signal now
 * when signal_now (they have not had it yet), SIGKILL at stop_timeout;
 * the record stays, LINGERING, until then.  Otherwise it is freed.
 */
static void
linger_or_free(struct slot *sl, struct worker *w, int signal_now)
{
	const struct prog_conf	*pc = w->w_conf;
	char			 d[32];

	timer_stop(&w->w_uptime);
	if (!worker_group_alive(w)) {
		worker_free(w);
		return;
	}
	if (pc->pc_stop_timeout <= 0 ||
	    (!signal_now && !timer_armed(&w->w_timer))) {
		/* no time to give it, or its time is up already */
		worker_signal_group(w, SIGKILL);
		worker_free(w);
		return;
	}
	if (w->w_cause != KILL_NONE) {
		/*
		 * Its group had SIGKILL already: what is left is dying,
		 * or the zombies of it are not reaped yet.  Once they are
		 * (ORPHAN), the record goes; the timer is the fallback.
		 */
		worker_signal_group(w, SIGKILL);
		signal_now = 0;
		if (!timer_armed(&w->w_timer))
			timer_start(&w->w_timer, pc->pc_stop_timeout);
	}
	if (signal_now) {
		format_duration(pc->pc_stop_timeout, d, sizeof(d));
		log_notice("%s[%d] (pid %ld) left members in its %s: %s "
		    "now, SIGKILL in %s", W_NAME(w), w->w_index, W_PID(w),
		    worker_group_name(w), signal_name(pc->pc_stop_signal), d);
		worker_signal_group(w, pc->pc_stop_signal);
		if (!timer_armed(&w->w_timer))
			timer_start(&w->w_timer, pc->pc_stop_timeout);
	}
	w->w_state = ST_LINGERING;
	w->w_sibling = sl->sl_leaving;
	sl->sl_leaving = w;
}

/* Kill a worker clusterd was not stopping: its exit is a failure. */
static void
kill_for(struct worker *w, enum kill_cause why)
{
	w->w_state = ST_KILLED;
	w->w_cause = why;
	timer_stop(&w->w_timer);
	worker_signal_group(w, SIGKILL);
}

static void
note_exit(const struct worker *w, struct exit_note *en)
{
	en->en_valid = 1;
	en->en_status = w->w_status;
	en->en_cause = w->w_cause;
	en->en_uptime = clock_now() - w->w_started;
}

/*
 * The current worker exited and nothing is on its way: restart as the
 * policy says.  A worker that never came up is a fast failure, however
 * long it ran; one clusterd killed for a failure counts as failed.
 */
static void
restart_after_exit(struct slot *sl, struct worker *w,
    const struct exit_note *en, const char *what)
{
	const struct prog_conf	*pc = SL_CONF(sl);
	int			 st = en->en_status, failed;
	double			 delay, uptime;
	char			 d[32];

	failed = w->w_state == ST_KILLED || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0;
	/* a Node worker exits 0 when it has lost its channel */
	if (w->w_ipc_lost && (pc->pc_ipc == IPC_NODE ||
	    pc->pc_ipc == IPC_NODE_CLUSTER))
		failed = 1;
	/* ready, or killed by the watchdog, which only watches ready ones */
	uptime = w->w_state == ST_READY || (w->w_state == ST_KILLED &&
	    w->w_cause == KILL_WATCHDOG) ? en->en_uptime : 0;
	switch (policy_after_exit(pc, failed, uptime, &sl->sl_streak,
	    &delay)) {
	case NEXT_RESTART:
		log_notice("%s; restarting now", what);
		sl->sl_crashes++;
		(void)spawn_current(sl);
		break;
	case NEXT_BACKOFF:
		format_duration(delay, d, sizeof(d));
		log_warnx("%s; restarting in %s", what, d);
		sl->sl_crashes++;
		backoff(sl, delay);
		break;
	case NEXT_STOP:
		log_notice("%s; not restarting (restart = %s)", what,
		    pc->pc_restart == RESTART_NEVER ? "never" : "on-failure");
		sl->sl_idle = ST_STOPPED;
		break;
	}
}

/*
 * A next worker failed before it took over (w, with what it did), or
 * could not be started (w NULL).  The current one stays; no other
 * replacement is tried before a backoff delay, and a rolling restart
 * waiting for this one stops.
 */
static void
failed_replacement(struct slot *sl, struct worker *w, const char *what)
{
	const struct prog_conf	*pc = SL_CONF(sl);

	if (w != NULL) {
		log_warnx("%s before it was ready; the worker it was to "
		    "replace stays", what);
		record(sl, "new pid %ld failed before it was ready; pid "
		    "%ld stays", W_PID(w),
		    sl->sl_cur != NULL ? W_PID(sl->sl_cur) : 0L);
	} else {
		log_warnx("%s[%d]: %s; the current worker stays",
		    pc->pc_name, sl->sl_index, what);
		record(sl, "%s", what);
	}
	sl->sl_streak++;
	sl->sl_hold_until = clock_now() + backoff_delay(pc->pc_restart_delay,
	    pc->pc_restart_delay_max, sl->sl_streak);
	sl->sl_fail_epoch = w != NULL ? w->w_epoch : sl->sl_prog->p_epoch;
}

/*
 * The descriptors a new worker of this slot gets for its program's
 * sockets: the shared listener, or the slot's own reuseport socket.
 */
static int
slot_fds(const struct slot *sl, int *fds)
{
	const struct binding	*b = &sl->sl_prog->p_cur;
	size_t			 i;

	for (i = 0; i < b->b_conf->pc_nsockets; i++)
		if ((fds[i] = slot_fd_of(sl, b->b_socks[i])) == -1)
			return -1;
	return 0;
}

/* The descriptor of l for this slot (-1 for none, or none bound). */
static int
slot_fd_of(const struct slot *sl, const struct listener *l)
{
	size_t	j;

	if (l == NULL || !l->l_reuseport)
		return l != NULL ? l->l_fd : -1;
	for (j = 0; j < sl->sl_nsocks; j++)
		if (sl->sl_socks[j].ss_listener == l)
			return sl->sl_socks[j].ss_fd;
	return -1;
}

/*
 * einhorn numbers its workers with the smallest index no live worker of
 * the program has (EINHORN_CHILD_INDEX), so that an old and a new worker
 * of one slot differ during a rolling restart.
 */
static int
einhorn_index(const struct program *p)
{
	const struct slot	*sl;
	int			*used = NULL, index;
	size_t			 n = 0;
	int			 i;

	for (i = 0; i < p->p_nslots; i++)
		einhorn_used(p->p_slots[i], &used, &n);
	for (sl = p->p_draining; sl != NULL; sl = sl->sl_link)
		einhorn_used(sl, &used, &n);
	index = compat_einhorn_index(used, n);
	free(used);
	return index;
}

/* Add the einhorn indexes of a slot's workers to *used. */
static void
einhorn_used(const struct slot *sl, int **used, size_t *n)
{
	const struct worker	*ws[2] = { sl->sl_cur, sl->sl_next }, *w;
	int			*grown;
	size_t			 i;

	for (i = 0; i < 2; i++) {
		if (ws[i] == NULL || (grown = reallocarray(*used, *n + 1,
		    sizeof(**used))) == NULL)
			continue;
		*used = grown;
		(*used)[(*n)++] = ws[i]->w_einhorn;
	}
	for (w = sl->sl_leaving; w != NULL; w = w->w_sibling) {
		if ((grown = reallocarray(*used, *n + 1,
		    sizeof(**used))) == NULL)
			continue;
		*used = grown;
		(*used)[(*n)++] = w->w_einhorn;
	}
}

static void
record(const struct slot *sl, const char *fmt, ...)
{
	struct life_event	*le = &events[nevents % EVENTS_MAX];
	va_list			 ap;
	int			 n;

	snprintf(le->le_prog, sizeof(le->le_prog), "%s", SL_NAME(sl));
	n = snprintf(le->le_text, sizeof(le->le_text), "%s[%d]: ",
	    SL_NAME(sl), sl->sl_index);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(le->le_text))
		vsnprintf(le->le_text + n, sizeof(le->le_text) - (size_t)n,
		    fmt, ap);
	va_end(ap);
	nevents++;
}

static int
is_cur(const struct slot *sl, const struct worker *w)
{
	return w != NULL && sl->sl_cur == w;
}

static int
is_next(const struct slot *sl, const struct worker *w)
{
	return w != NULL && sl->sl_next == w;
}
