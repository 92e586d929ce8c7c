/*
 * SPDX-License-Identifier: ISC
 *
 * The process record of a worker: fork it (spawn.c) with its IPC channel
 * (ipc.c), watch its exec-status pipe, find it by pid when it is reaped,
 * signal it or its group, free it.  Its group is its cgroup when
 * clusterd gives workers one (cgroup.c), else its process group.
 *
 * Nothing here decides anything about a worker's life: what happens is
 * reported to its owner through the callback given at spawn (w_cb), and
 * the owner (slot.c) holds the state.
 */

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "wnotify.h"

static struct worker	*workers;	/* every worker not yet freed */

static int	worker_fork(struct worker *, const struct spawn_req *);
static int	worker_notify_open(struct worker *, struct spawn_req *);
static int	worker_capture_open(struct worker *, struct spawn_req *);
static struct capture *worker_adopt_capture(struct worker *,
		    const struct state_rec *, const char *, int);
static void	worker_capture_forked(struct worker *, struct spawn_req *,
		    int);
static void	worker_notify_news(void *, const struct wnotify_msg *);
static void	worker_exec_status(struct ev_loop *, ev_io *, int);
static void	worker_read_status(struct worker *);

/*
 * Fork a worker as req says; events go to cb.  Returns NULL, logged,
 * when it could not be forked.
 */
struct worker *
worker_spawn(const struct spawn_req *req, worker_cb cb, struct slot *sl)
{
	struct worker	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("%s[%d]: cannot start", req->sr_conf->pc_name,
		    req->sr_slot);
		return NULL;
	}
	w->w_conf = req->sr_conf;
	w->w_slot = sl;
	w->w_index = req->sr_slot;
	w->w_cb = cb;
	if (worker_fork(w, req) == -1) {
		free(w);
		return NULL;
	}
	config_hold(w->w_conf->pc_cfg);
	w->w_started = clock_now();
	w->w_cgroup = cgroup_worker(req->sr_conf->pc_name, req->sr_slot,
	    w->w_pid);
	w->w_next = workers;
	workers = w;
	log_info("%s[%d] started (pid %ld)", req->sr_conf->pc_name,
	    req->sr_slot, (long)w->w_pid);
	return w;
}

/*
 * Fork with the capture pipes, the IPC channel and the notify socket (if
 * any), and watch the exec-status pipe.
 */
static int
worker_fork(struct worker *w, const struct spawn_req *sreq)
{
	struct spawn_req	req = *sreq;
	int			child_ipc = -1, status_fd;

	if (worker_capture_open(w, &req) == -1)
		return -1;
	if (req.sr_conf->pc_ready == READY_NOTIFY &&
	    worker_notify_open(w, &req) == -1) {
		worker_capture_forked(w, &req, 0);
		return -1;
	}
	if (req.sr_conf->pc_ipc != IPC_NONE &&
	    ipc_open(w, &req, &child_ipc) == -1) {
		worker_notify_close(w);
		worker_capture_forked(w, &req, 0);
		return -1;
	}
	w->w_pid = spawn_worker(&req, child_ipc, &status_fd);
	worker_capture_forked(w, &req, w->w_pid != -1);
	if (w->w_pid == -1) {
		if (child_ipc != -1) {
			close(child_ipc);
			ipc_close_unstarted(w);
		}
		worker_notify_close(w);
		return -1;
	}
	if (w->w_notify != NULL)
		wnotify_start(w->w_notify, w->w_pid);
	if (child_ipc != -1)
		ipc_started(w, child_ipc, req.sr_node_fd);
	ev_io_init(&w->w_exec_io, worker_exec_status, status_fd, EV_READ);
	w->w_exec_io.data = w;
	ev_io_start(EV_DEFAULT, &w->w_exec_io);
	return 0;
}

/*
 * A child was reaped (the only waitpid is the master's ev_child).  If it
 * is a worker, its exec status is read first, its channel closed, and
 * the exit reported.  0 for a child that is not a worker: an orphan that
 * was re-parented to us.
 */
int
worker_reaped(pid_t pid, int status)
{
	struct worker	*w;

	for (w = workers; w != NULL; w = w->w_next)
		if (w->w_pid == pid && !w->w_reaped)
			break;
	if (w == NULL)
		return 0;
	w->w_reaped = 1;
	w->w_status = status;
	if (ev_is_active(&w->w_exec_io))
		worker_read_status(w);	/* a set-up failure, if any */
	ipc_close(w);
	capture_read(w->w_out);		/* its last lines first */
	capture_read(w->w_err);
	w->w_cb(w, WE_EXITED, status, NULL);
	return 1;
}

/*
 * The record of a worker that runs already: a new image of clusterd
 * takes over the workers of the old one (an upgrade).  Its IPC channel
 * and exec-status pipe, if it had them, are the descriptors given.
 */
struct worker *
worker_adopt(const struct spawn_req *req, pid_t pid, double started,
    worker_cb cb, struct slot *sl, int exec_fd)
{
	struct worker	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("%s[%d] (pid %ld): cannot take over",
		    req->sr_conf->pc_name, req->sr_slot, (long)pid);
		return NULL;
	}
	w->w_conf = req->sr_conf;
	w->w_slot = sl;
	w->w_index = req->sr_slot;
	w->w_cb = cb;
	w->w_pid = pid;
	w->w_started = started;
	config_hold(w->w_conf->pc_cfg);
	if (exec_fd != -1) {
		ev_io_init(&w->w_exec_io, worker_exec_status, exec_fd,
		    EV_READ);
		w->w_exec_io.data = w;
		ev_io_start(EV_DEFAULT, &w->w_exec_io);
	}
	w->w_next = workers;
	workers = w;
	return w;
}

/* An upgrade: the adopted worker's cgroup, as the old image had it. */
int
worker_adopt_cgroup(struct worker *w, const char *path)
{
	free(w->w_cgroup);
	if ((w->w_cgroup = strdup(path)) == NULL) {
		log_warn("%s[%d] (pid %ld): its cgroup %s", w->w_conf->pc_name,
		    w->w_index, (long)w->w_pid, path);
		return -1;
	}
	return 0;
}

/*
 * stdout or stderr = capture: the pipes the master reads, opened before
 * the fork like the IPC channel; their write ends go to spawn.c in req
 * (stderr = stdout shares stdout's pipe there).
 */
static int
worker_capture_open(struct worker *w, struct spawn_req *req)
{
	const struct prog_conf	*pc = req->sr_conf;

	req->sr_capture[0] = req->sr_capture[1] = -1;
	if (pc->pc_stdout.o_mode == OUTPUT_CAPTURE && (w->w_out =
	    capture_open(pc->pc_name, req->sr_slot, PRIO_STDOUT,
	    &req->sr_capture[0])) == NULL)
		return -1;
	if (pc->pc_stderr.o_mode == OUTPUT_CAPTURE && (w->w_err =
	    capture_open(pc->pc_name, req->sr_slot, PRIO_STDERR,
	    &req->sr_capture[1])) == NULL) {
		worker_capture_forked(w, req, 0);
		return -1;
	}
	return 0;
}

/*
 * After the fork (forked), or instead of it: the write ends are the
 * worker's alone; reading starts, or the pipes go.
 */
static void
worker_capture_forked(struct worker *w, struct spawn_req *req, int forked)
{
	int	i;

	for (i = 0; i < 2; i++)
		if (req->sr_capture[i] != -1) {
			close(req->sr_capture[i]);
			req->sr_capture[i] = -1;
		}
	if (forked) {
		capture_start(w->w_out);
		capture_start(w->w_err);
		return;
	}
	capture_close(w->w_out);
	capture_close(w->w_err);
	w->w_out = w->w_err = NULL;
}

/*
 * An upgrade: the capture pipes the old image read for the worker, as
 * its record r has them (state.c's out=, err= words).
 */
void
worker_adopt_output(struct worker *w, const struct state_rec *r)
{
	w->w_out = worker_adopt_capture(w, r, "out", PRIO_STDOUT);
	w->w_err = worker_adopt_capture(w, r, "err", PRIO_STDERR);
}

static struct capture *
worker_adopt_capture(struct worker *w, const struct state_rec *r,
    const char *key, int prio)
{
	char		 buf[16], cont[16];
	long long	 fd, n = -1;

	if (state_num(r, key, &fd) == -1 || fd < 0 || fd > INT_MAX)
		return NULL;
	snprintf(buf, sizeof(buf), "%sbuf", key);
	snprintf(cont, sizeof(cont), "%scont", key);
	(void)state_num(r, cont, &n);
	return capture_adopt(w->w_conf->pc_name, w->w_index, prio, (int)fd,
	    state_get(r, buf), state_len(r, buf), n < 0 || n > 7 ? -1 :
	    (int)n);
}

/* Every worker not yet freed, for an upgrade's bookkeeping. */
struct worker *
worker_first(void)
{
	return workers;
}

/*
 * ready = notify: the worker's own NOTIFY_SOCKET, opened before the
 * fork so that its name goes into the worker's environment.
 */
static int
worker_notify_open(struct worker *w, struct spawn_req *req)
{
	char	label[96], err[ERRBUF_LEN];

	snprintf(label, sizeof(label), "%s[%d]", req->sr_conf->pc_name,
	    req->sr_slot);
	if ((w->w_notify = calloc(1, sizeof(*w->w_notify))) == NULL ||
	    wnotify_open(w->w_notify, label, worker_notify_news, w, err,
	    sizeof(err)) == -1) {
		log_warnx("%s", w->w_notify != NULL ? err : strerror(errno));
		free(w->w_notify);
		w->w_notify = NULL;
		return -1;
	}
	req->sr_notify = wnotify_socket(w->w_notify);
	return 0;
}

/* What the worker sent to its NOTIFY_SOCKET, for its owner. */
static void
worker_notify_news(void *arg, const struct wnotify_msg *m)
{
	struct worker	*w = arg;

	if (m->wm_has_status)
		w->w_cb(w, WE_MESSAGE, WM_STATUS, m->wm_status);
	if (m->wm_watchdog)
		w->w_cb(w, WE_MESSAGE, WM_HEARTBEAT, "");
	if (m->wm_stopping)
		log_info("%s[%d] (pid %ld) says it is stopping (STOPPING=1)",
		    w->w_conf->pc_name, w->w_index, (long)w->w_pid);
	if (m->wm_ready)
		w->w_cb(w, WE_MESSAGE, WM_NOTIFY_READY, "");
}

/* For an upgrade: the notify socket's descriptor. */
int
worker_notify_fd(const struct worker *w)
{
	return w->w_notify != NULL ? w->w_notify->wn_io.fd : -1;
}

/*
 * An upgrade: the notify socket the old image opened for this worker,
 * at fd.  -1 (logged) if it is not one; the worker's READY=1 and other
 * messages are then not heard.
 */
int
worker_notify_adopt(struct worker *w, int fd)
{
	char	label[96], err[ERRBUF_LEN];

	snprintf(label, sizeof(label), "%s[%d]", w->w_conf->pc_name,
	    w->w_index);
	if ((w->w_notify = calloc(1, sizeof(*w->w_notify))) == NULL ||
	    wnotify_adopt(w->w_notify, fd, label, worker_notify_news, w, err,
	    sizeof(err)) == -1) {
		log_warnx("upgrade: %s", w->w_notify != NULL ? err :
		    strerror(errno));
		free(w->w_notify);
		w->w_notify = NULL;
		close(fd);
		return -1;
	}
	wnotify_start(w->w_notify, w->w_pid);
	return 0;
}

/* The notify socket goes with the record. */
void
worker_notify_close(struct worker *w)
{
	if (w->w_notify == NULL)
		return;
	wnotify_close(w->w_notify);
	free(w->w_notify);
	w->w_notify = NULL;
}

/*
 * stop_signal = disconnect: Node's own graceful stop on the cluster
 * channel; the program's stop_signal (SIGTERM) if there is no channel
 * to say it on any more.
 */
void
worker_disconnect(struct worker *w)
{
	if (ipc_disconnect(w) == -1)
		worker_signal_group(w, w->w_conf->pc_stop_signal);
}

/* A signal to the worker's process only. */
void
worker_signal(struct worker *w, int sig)
{
	if (!w->w_reaped && kill(w->w_pid, sig) == -1 && errno != ESRCH)
		log_warn("%s: kill %ld with %s", w->w_conf->pc_name,
		    (long)w->w_pid, signal_name(sig));
}

/*
 * A signal to its whole group, which may outlive the leader: every
 * process of its cgroup, and SIGKILL to its process group as well; the
 * process group alone without a cgroup, or while the child has not
 * joined it yet.
 */
void
worker_signal_group(struct worker *w, int sig)
{
	if (w->w_cgroup != NULL && cgroup_signal(w->w_cgroup, sig,
	    w->w_reaped ? 0 : w->w_pid) == 0 && sig != SIGKILL)
		return;
	if (killpg(w->w_pid, sig) == -1 && errno != ESRCH)
		log_warn("%s: kill process group %ld with %s",
		    w->w_conf->pc_name, (long)w->w_pid, signal_name(sig));
}

/* What its group is, for messages. */
const char *
worker_group_name(const struct worker *w)
{
	return w->w_cgroup != NULL ? "cgroup" : "process group";
}

/*
 * Is anything left of it: a process in its cgroup, or a member of its
 * process group?  A group's id is never given to a new process while
 * the group exists, so the answer is about this worker's group even
 * after its leader is gone.
 */
int
worker_group_alive(const struct worker *w)
{
	if (w->w_cgroup != NULL && cgroup_populated(w->w_cgroup) == 1)
		return 1;
	return kill(-w->w_pid, 0) == 0 || errno == EPERM;
}

void
worker_free(struct worker *w)
{
	struct worker	**pp;

	for (pp = &workers; *pp != NULL; pp = &(*pp)->w_next) {
		if (*pp == w) {
			*pp = w->w_next;
			break;
		}
	}
	timer_stop(&w->w_timer);
	timer_stop(&w->w_uptime);
	ipc_close(w);
	worker_notify_close(w);
	/* what the pipes still hold is logged: capture.c reads on */
	capture_close(w->w_out);
	capture_close(w->w_err);
	if (ev_is_active(&w->w_exec_io)) {
		ev_io_stop(EV_DEFAULT, &w->w_exec_io);
		close(w->w_exec_io.fd);
	}
	if (w->w_cgroup != NULL) {
		cgroup_remove(w->w_cgroup);
		free(w->w_cgroup);
	}
	config_release(w->w_conf->pc_cfg);
	free(w);
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

static void
worker_exec_status(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker	*w = io->data;

	(void)loop;
	(void)revents;
	worker_read_status(w);
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
	ev_io_stop(EV_DEFAULT, &w->w_exec_io);
	close(w->w_exec_io.fd);
	if (n == (ssize_t)sizeof(ss)) {
		spawn_describe(pc, &ss, msg, sizeof(msg));
		w->w_cb(w, WE_EXEC_FAILED, ss.ss_stage, msg);
	} else if (n == -1) {
		log_warn("%s (pid %ld): read exec status", pc->pc_name,
		    (long)w->w_pid);
	} else if (!w->w_reaped) {
		w->w_cb(w, WE_EXECED, 0, NULL);
	}
}
