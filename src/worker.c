/*
 * The life of one worker process, as a state machine:
 *
 *	STARTING --ready (auto: min_uptime; message: "ready"; exec)--> READY
 *	STARTING --ready_timeout--> SIGKILL, a failed start
 *	READY --watchdog without heartbeat--> SIGKILL, a failure
 *	STARTING, READY --stop--> STOPPING --stop_timeout--> SIGKILL to group
 *	STARTING, READY --retire (suicide)--> STOPPING, no signal
 *	STOPPING --reaped, group not empty--> LINGERING --stop_timeout-->
 *	    SIGKILL to the group
 *	any --reaped--> the program decides what follows; freed
 *
 * Which worker a slot runs, and what an exit leads to, is the program's
 * business (program.c); this file drives one process and its timers.
 */

#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

static struct worker	*workers;	/* every worker not yet freed */

static int	worker_spawn(struct worker *);
static void	worker_exec_status(struct ev_loop *, ev_io *, int);
static void	worker_read_status(struct worker *);
static void	worker_uptime_reached(struct ev_loop *, ev_timer *, int);
static void	worker_became_ready(struct worker *);
static void	worker_ready_timeout(struct ev_loop *, ev_timer *, int);
static void	worker_watchdog(struct ev_loop *, ev_timer *, int);
static void	worker_stop_timeout(struct ev_loop *, ev_timer *, int);
static void	worker_begin_stop(struct worker *, int);
static void	worker_escalate(struct worker *, ev_tstamp);
static void	worker_kill_for(struct worker *, enum kill_reason);
static void	worker_signal_group(struct worker *, int);
static void	worker_free(struct worker *);

static const char *state_names[] = {
	[WORKER_STARTING] = "starting",
	[WORKER_READY] = "ready",
	[WORKER_STOPPING] = "stopping",
	[WORKER_LINGERING] = "stopping",
};

#define W_NAME(w)	((w)->w_conf->pc_name)
#define W_SLOT(w)	((w)->w_index)
#define W_PID(w)	((long)(w)->w_pid)

const char *
worker_state_name(enum worker_state st)
{
	return state_names[st];
}

/*
 * Start a worker of p in slot sl.  Returns NULL when it could not be
 * forked (already logged); the caller treats that as a fast failure.
 */
struct worker *
worker_start(struct program *p, struct slot *sl)
{
	const struct prog_conf	*pc = p->p_conf;
	struct worker		*w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("%s[%d]: cannot start", pc->pc_name, sl->sl_index);
		return NULL;
	}
	w->w_prog = p;
	w->w_conf = p->p_conf;
	w->w_slot = sl;
	w->w_index = sl->sl_index;
	if (worker_spawn(w) == -1) {
		free(w);
		return NULL;
	}
	config_hold(w->w_conf->pc_cfg);
	w->w_state = WORKER_STARTING;
	w->w_started = ev_now(EV_DEFAULT);
	ev_timer_init(&w->w_uptime, worker_uptime_reached, pc->pc_min_uptime,
	    0);
	w->w_uptime.data = w;
	ev_timer_start(EV_DEFAULT, &w->w_uptime);
	ev_timer_init(&w->w_timer, worker_ready_timeout, pc->pc_ready_timeout,
	    0);
	w->w_timer.data = w;
	ev_timer_start(EV_DEFAULT, &w->w_timer);
	w->w_next = workers;
	workers = w;
	log_info("%s[%d] started (pid %ld)", pc->pc_name, sl->sl_index,
	    W_PID(w));
	return w;
}

/* Fork with the IPC channel (if any) and watch the exec-status pipe. */
static int
worker_spawn(struct worker *w)
{
	const struct prog_conf	*pc = w->w_conf;
	int			 child_ipc = -1, status_fd;
	int			 fds[pc->pc_nsockets + 1];

	if (program_slot_fds(w->w_slot, fds) == -1) {
		log_warnx("%s[%d]: its reuseport socket is not open",
		    W_NAME(w), W_SLOT(w));
		return -1;
	}
	if (pc->pc_ipc != IPC_NONE && ipc_open(w, &child_ipc) == -1)
		return -1;
	w->w_pid = spawn_worker(w->w_prog, W_SLOT(w), fds, child_ipc,
	    &status_fd);
	if (w->w_pid == -1) {
		if (child_ipc != -1) {
			close(child_ipc);
			close(w->w_ipc_io.fd);
		}
		return -1;
	}
	if (child_ipc != -1)
		ipc_started(w, child_ipc);
	ev_io_init(&w->w_exec_io, worker_exec_status, status_fd, EV_READ);
	w->w_exec_io.data = w;
	ev_io_start(EV_DEFAULT, &w->w_exec_io);
	return 0;
}

/* Ask a worker to stop: stop_signal now, SIGKILL at stop_timeout. */
void
worker_stop(struct worker *w)
{
	worker_begin_stop(w, w->w_conf->pc_stop_signal);
}

/*
 * A worker that asked to be replaced: no signal, it finishes its work and
 * exits by itself, or gets SIGKILL at stop_timeout.  Its exit is not
 * restarted.
 */
void
worker_retire(struct worker *w)
{
	worker_begin_stop(w, 0);
}

/* STOPPING: sig (if any) now, SIGKILL to the group at stop_timeout. */
static void
worker_begin_stop(struct worker *w, int sig)
{
	const struct prog_conf	*pc = w->w_conf;

	if (w->w_state != WORKER_STARTING && w->w_state != WORKER_READY)
		return;
	w->w_stop_sent = 1;
	w->w_state = WORKER_STOPPING;
	if (pc->pc_stop_timeout <= 0) {
		ev_timer_stop(EV_DEFAULT, &w->w_timer);
		worker_signal_group(w, SIGKILL);
		return;
	}
	if (sig != 0)
		worker_signal_group(w, sig);
	worker_escalate(w, pc->pc_stop_timeout);
}

/* SIGKILL to the worker's group, now. */
void
worker_kill(struct worker *w)
{
	w->w_stop_sent = 1;
	ev_timer_stop(EV_DEFAULT, &w->w_timer);
	worker_signal_group(w, SIGKILL);
	if (w->w_state == WORKER_LINGERING) {
		worker_free(w);
		return;
	}
	w->w_state = WORKER_STOPPING;
}

/*
 * A child was reaped (the only waitpid is libev's).  Children that are not
 * workers are orphans re-parented to us: nothing to do but note them.
 */
void
worker_reap(pid_t pid, int status)
{
	struct worker	*w;

	for (w = workers; w != NULL; w = w->w_next)
		if (w->w_pid == pid && w->w_state != WORKER_LINGERING)
			break;
	if (w == NULL) {
		log_debug("reaped process %ld (not a worker)", (long)pid);
		return;
	}
	if (ev_is_active(&w->w_exec_io))
		worker_read_status(w);
	ev_timer_stop(EV_DEFAULT, &w->w_uptime);
	ipc_close(w);
	program_worker_exited(w, status);
	if (w->w_state == WORKER_STOPPING && ev_is_active(&w->w_timer) &&
	    kill(-w->w_pid, 0) == 0) {
		/* the group outlives its leader: the stop timer still runs */
		w->w_state = WORKER_LINGERING;
		return;
	}
	worker_free(w);
}

/* A message from the worker's IPC channel. */
void
worker_message(struct worker *w, enum ipc_kind kind, const char *status)
{
	const struct prog_conf	*pc = w->w_conf;

	switch (kind) {
	case IPC_READY:
		if (w->w_state == WORKER_STARTING &&
		    pc->pc_ready == READY_MESSAGE)
			worker_became_ready(w);
		break;
	case IPC_HEARTBEAT:
		if (w->w_state == WORKER_READY && pc->pc_watchdog > 0)
			ev_timer_again(EV_DEFAULT, &w->w_timer);
		break;
	case IPC_STATUS:
		snprintf(w->w_status, sizeof(w->w_status), "%s", status);
		log_debug("%s[%d] (pid %ld) status: %s", W_NAME(w), W_SLOT(w),
		    W_PID(w), w->w_status);
		break;
	case IPC_SUICIDE:
		program_worker_suicide(w);
		break;
	default:
		break;
	}
}

int
worker_count(void)
{
	struct worker	*w;
	int		 n = 0;

	for (w = workers; w != NULL; w = w->w_next)
		n++;
	return n;
}

/* Call fn for every worker; fn may free the worker it is given. */
void
worker_foreach(void (*fn)(struct worker *))
{
	struct worker	*w, *next;

	for (w = workers; w != NULL; w = next) {
		next = w->w_next;
		fn(w);
	}
}

struct worker *
worker_first(void)
{
	return workers;
}

/* A slot is going away: no worker may point at it any more. */
void
worker_detach_slot(struct slot *sl)
{
	struct worker	*w;

	for (w = workers; w != NULL; w = w->w_next)
		if (w->w_slot == sl)
			w->w_slot = NULL;
}

static void
worker_exec_status(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker	*w = io->data;

	(void)loop;
	(void)revents;
	worker_read_status(w);
	if (!ev_is_active(&w->w_exec_io) && !w->w_exec_failed &&
	    w->w_state == WORKER_STARTING &&
	    w->w_conf->pc_ready == READY_EXEC)
		worker_became_ready(w);
}

/*
 * The exec-status pipe: EOF means the exec happened (or the child quit
 * before it); a struct spawn_status means a set-up step failed.
 */
static void
worker_read_status(struct worker *w)
{
	const struct prog_conf	*pc = w->w_conf;
	struct spawn_status	 ss;
	char			 msg[ERRBUF_LEN];
	ssize_t			 n;

	do
		n = read(w->w_exec_io.fd, &ss, sizeof(ss));
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n == (ssize_t)sizeof(ss)) {
		w->w_exec_failed = 1;
		spawn_describe(pc, &ss, msg, sizeof(msg));
		log_errorx("%s[%d]: %s", pc->pc_name, W_SLOT(w), msg);
	} else if (n == -1) {
		log_warn("%s[%d]: read exec status", pc->pc_name, W_SLOT(w));
	}
	ev_io_stop(EV_DEFAULT, &w->w_exec_io);
	close(w->w_exec_io.fd);
}

/*
 * The worker has lived min_uptime.  With ready = auto that makes it
 * ready; either way, once it is ready and has lived this long, its slot's
 * run of fast failures is over.
 */
static void
worker_uptime_reached(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker	*w = t->data;

	(void)loop;
	(void)revents;
	if (w->w_state == WORKER_STARTING &&
	    w->w_conf->pc_ready == READY_AUTO)
		worker_became_ready(w);
	else if (w->w_state == WORKER_READY)
		program_worker_stable(w);
}

static void
worker_became_ready(struct worker *w)
{
	const struct prog_conf	*pc = w->w_conf;

	w->w_state = WORKER_READY;
	ev_timer_stop(EV_DEFAULT, &w->w_timer);
	if (pc->pc_watchdog > 0) {
		ev_timer_init(&w->w_timer, worker_watchdog, pc->pc_watchdog,
		    pc->pc_watchdog);
		ev_timer_start(EV_DEFAULT, &w->w_timer);
	}
	log_info("%s[%d] (pid %ld) is ready", pc->pc_name, W_SLOT(w),
	    W_PID(w));
	w->w_ready_at = ev_now(EV_DEFAULT);
	if (!ev_is_active(&w->w_uptime))
		program_worker_stable(w);
	program_worker_ready(w);
}

static void
worker_ready_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker	*w = t->data;
	char		 d[32];

	(void)loop;
	(void)revents;
	format_duration(w->w_conf->pc_ready_timeout, d, sizeof(d));
	log_warnx("%s[%d] (pid %ld) was not ready within %s: SIGKILL",
	    W_NAME(w), W_SLOT(w), W_PID(w), d);
	worker_kill_for(w, KILL_READY_TIMEOUT);
}

static void
worker_watchdog(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker	*w = t->data;
	char		 d[32];

	(void)loop;
	(void)revents;
	format_duration(w->w_conf->pc_watchdog, d, sizeof(d));
	log_warnx("%s[%d] (pid %ld) sent no heartbeat for %s: SIGKILL",
	    W_NAME(w), W_SLOT(w), W_PID(w), d);
	worker_kill_for(w, KILL_WATCHDOG);
}

/* Kill a worker clusterd was not stopping; its exit counts as a failure. */
static void
worker_kill_for(struct worker *w, enum kill_reason why)
{
	w->w_killed = why;
	w->w_state = WORKER_STOPPING;
	ev_timer_stop(EV_DEFAULT, &w->w_timer);
	worker_signal_group(w, SIGKILL);
}

static void
worker_escalate(struct worker *w, ev_tstamp after)
{
	ev_timer_stop(EV_DEFAULT, &w->w_timer);
	ev_timer_init(&w->w_timer, worker_stop_timeout, after, 0);
	ev_timer_start(EV_DEFAULT, &w->w_timer);
}

static void
worker_stop_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker	*w = t->data;
	char		 d[32];

	(void)loop;
	(void)revents;
	format_duration(w->w_conf->pc_stop_timeout, d, sizeof(d));
	log_warnx("%s[%d] (pid %ld) did not stop within %s: SIGKILL to "
	    "its process group", W_NAME(w), W_SLOT(w), W_PID(w), d);
	worker_signal_group(w, SIGKILL);
	if (w->w_state == WORKER_LINGERING)
		worker_free(w);
}

static void
worker_signal_group(struct worker *w, int sig)
{
	if (killpg(w->w_pid, sig) == -1 && errno != ESRCH)
		log_warn("%s[%d]: kill process group %ld with %s", W_NAME(w),
		    W_SLOT(w), W_PID(w), signal_name(sig));
}

static void
worker_free(struct worker *w)
{
	struct worker	**pp;

	for (pp = &workers; *pp != NULL; pp = &(*pp)->w_next) {
		if (*pp == w) {
			*pp = w->w_next;
			break;
		}
	}
	ev_timer_stop(EV_DEFAULT, &w->w_timer);
	ev_timer_stop(EV_DEFAULT, &w->w_uptime);
	ipc_close(w);
	if (ev_is_active(&w->w_exec_io)) {
		ev_io_stop(EV_DEFAULT, &w->w_exec_io);
		close(w->w_exec_io.fd);
	}
	config_release(w->w_conf->pc_cfg);
	free(w);
	cluster_worker_freed();
}
