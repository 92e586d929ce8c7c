/*
 * A program: its slots, which worker each slot runs, what happens when a
 * worker exits (the decision itself is policy.c's), and rolling restarts.
 *
 * A rolling restart replaces one slot at a time: start the slot's next
 * worker, wait until it is ready, then stop the old one.  A next worker
 * that dies or times out before it is ready stops the roll; the old
 * workers keep serving.
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

static int		 program_bind(struct program *, struct prog_conf *,
			    struct listener *);
static int		 program_resize(struct program *, int);
static struct slot	*slot_create(struct program *, int);
static int		 slot_bind_reuseport(struct slot *);
static void		 slot_close_reuseport(struct slot *, size_t);
static void		 slot_destroy(struct slot *);
static void		 slot_start(struct slot *);
static void		 slot_backoff(struct slot *, double);
static void		 slot_backoff_done(struct ev_loop *, ev_timer *, int);
static void		 slot_after_exit(struct slot *, struct worker *, int,
			    const char *);
static void		 roll_step(struct program *);
static void		 roll_finish(struct program *, int, const char *);
static void		 describe_exit(const struct worker *, int, char *,
			    size_t);
static int		 target_slots(const struct prog_conf *);

/*
 * The runtime side of one [program:NAME]: its sockets are looked up among
 * the open listeners, and it gets workers (or auto) slots.
 */
struct program *
program_create(struct prog_conf *pc, struct listener *listeners)
{
	struct program	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->p_state = PROGRAM_RUNNING;
	if (program_bind(p, pc, listeners) == -1 ||
	    program_resize(p, target_slots(pc)) == -1) {
		program_free(p);
		return NULL;
	}
	return p;
}

/*
 * A reload: the program takes its new configuration and sockets.  Workers
 * already running keep the configuration they were started with until
 * the rolling restart replaces them.  Added slots start at once.
 */
int
program_reconfigure(struct program *p, struct prog_conf *pc,
    struct listener *listeners)
{
	int	n = target_slots(pc);

	if (program_bind(p, pc, listeners) == -1)
		return -1;
	if (p->p_state == PROGRAM_STOPPED)
		p->p_state = PROGRAM_RUNNING;
	if (n > p->p_nslots && program_resize(p, n) == -1)
		return -1;
	p->p_roll_target = n;
	return 0;
}

/* Start the workers of every slot that has none. */
void
program_start(struct program *p)
{
	struct slot	*sl;
	int		 i, n = 0;

	if (p->p_state == PROGRAM_STOPPED || p->p_state == PROGRAM_REMOVED)
		p->p_state = PROGRAM_RUNNING;
	for (i = 0; i < p->p_nslots; i++) {
		sl = p->p_slots[i];
		if (sl->sl_worker != NULL || sl->sl_state == SLOT_BACKOFF)
			continue;
		sl->sl_streak = 0;
		slot_start(sl);
		n++;
	}
	if (n > 0)
		log_info("%s: started %d worker%s", p->p_conf->pc_name, n,
		    n == 1 ? "" : "s");
	cluster_changed();
}

/* Stop every worker of the program and cancel pending restarts. */
void
program_stop(struct program *p)
{
	struct slot	*sl;
	int		 i;

	if (p->p_state == PROGRAM_ROLLING) {
		log_notice("%s: rolling restart cancelled: stopping",
		    p->p_conf->pc_name);
		p->p_state = PROGRAM_RUNNING;
		p->p_roll_target = 0;
		cluster_roll_done(p, 0, "the program was stopped");
	}
	if (p->p_state != PROGRAM_REMOVED)
		p->p_state = PROGRAM_STOPPED;
	for (i = 0; i < p->p_nslots; i++) {
		sl = p->p_slots[i];
		ev_timer_stop(EV_DEFAULT, &sl->sl_backoff);
		sl->sl_state = SLOT_STOPPED;
		if (sl->sl_next != NULL)
			worker_stop(sl->sl_next);
		if (sl->sl_worker != NULL)
			worker_stop(sl->sl_worker);
	}
	cluster_changed();
}

/* Gone from the configuration: stop everything; freed when empty. */
void
program_remove(struct program *p)
{
	log_notice("%s: removed from the configuration; stopping it",
	    p->p_conf->pc_name);
	p->p_state = PROGRAM_REMOVED;
	program_stop(p);
}

/*
 * Begin a rolling restart.  Slots without a worker just get one; the
 * others are replaced one at a time.  -1 if one is already under way.
 */
int
program_roll(struct program *p)
{
	if (p->p_state == PROGRAM_ROLLING || p->p_state == PROGRAM_REMOVED)
		return -1;
	if (p->p_roll_target == 0)
		p->p_roll_target = p->p_nslots;
	p->p_state = PROGRAM_ROLLING;
	p->p_roll_next = 0;
	p->p_roll_failed = 0;
	log_notice("%s: rolling restart of %d worker%s", p->p_conf->pc_name,
	    p->p_nslots, p->p_nslots == 1 ? "" : "s");
	roll_step(p);
	return 0;
}

/*
 * Replace one slot's worker gracefully, new one first: the next worker
 * starts, and once it is ready the old one is stopped (as in a rolling
 * restart of this one slot).  If it fails, the old one stays.
 */
void
program_replace(struct slot *sl)
{
	if (sl->sl_worker == NULL || sl->sl_next != NULL ||
	    cluster_shutting_down())
		return;
	if ((sl->sl_next = worker_start(sl->sl_prog, sl)) != NULL)
		sl->sl_restarts++;
}

/* Set the number of slots: new ones start now, removed ones stop. */
int
program_scale(struct program *p, int n)
{
	int	old = p->p_nslots;

	if (n < 1 || n > 4096 || p->p_state == PROGRAM_REMOVED)
		return -1;
	if (n == old)
		return 0;
	log_notice("%s: scaling from %d to %d worker%s", p->p_conf->pc_name,
	    old, n, n == 1 ? "" : "s");
	if (program_resize(p, n) == -1)
		return -1;
	if (n > old && p->p_state != PROGRAM_STOPPED)
		program_start(p);
	cluster_changed();
	return 0;
}

/* Send sig to every worker's process (not its group). */
void
program_signal(struct program *p, int sig)
{
	struct slot	*sl;
	int		 i;

	for (i = 0; i < p->p_nslots; i++) {
		sl = p->p_slots[i];
		if (sl->sl_worker != NULL && kill(sl->sl_worker->w_pid, sig) ==
		    -1 && errno != ESRCH)
			log_warn("%s[%d]: kill %ld with %s", p->p_conf->pc_name,
			    i, (long)sl->sl_worker->w_pid, signal_name(sig));
	}
}

void
program_free(struct program *p)
{
	int	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->p_nslots; i++)
		slot_destroy(p->p_slots[i]);
	free(p->p_slots);
	free(p->p_listeners);
	if (p->p_conf != NULL)
		config_release(p->p_conf->pc_cfg);
	free(p);
}

/* Does any worker, current or not, still belong to this program? */
int
program_has_workers(const struct program *p)
{
	struct worker	*w;

	for (w = worker_first(); w != NULL; w = w->w_next)
		if (w->w_prog == p)
			return 1;
	return 0;
}

/* A slot's worker has stayed up: its run of fast failures is over. */
void
program_worker_stable(struct worker *w)
{
	if (w->w_slot != NULL && w->w_slot->sl_worker == w)
		w->w_slot->sl_streak = 0;
}

/* A worker became ready: it may be the one a rolling restart awaits. */
void
program_worker_ready(struct worker *w)
{
	struct slot	*sl = w->w_slot;
	struct worker	*old;

	if (sl != NULL && sl->sl_next == w) {
		old = sl->sl_worker;
		sl->sl_worker = w;
		sl->sl_next = NULL;
		sl->sl_state = SLOT_RUNNING;
		if (old != NULL)
			worker_stop(old);
		sl->sl_prog->p_roll_next = sl->sl_index + 1;
		roll_step(sl->sl_prog);
	}
	cluster_changed();
}

/*
 * A worker exited.  If clusterd stopped it, or it is no longer its slot's
 * current worker, that is the end of it; otherwise the restart policy
 * decides.  Either way the exit is logged once, with what happens next.
 */
void
program_worker_exited(struct worker *w, int status)
{
	struct slot	*sl = w->w_slot;
	char		 what[200];

	describe_exit(w, status, what, sizeof(what));
	if (sl != NULL && sl->sl_next == w) {
		sl->sl_next = NULL;
		if (w->w_stop_sent) {
			log_info("%s", what);
			return;
		}
		log_warnx("%s before it was ready; the worker it was to "
		    "replace stays", what);
		/* a replacement that fails is not retried at once */
		sl->sl_streak++;
		sl->sl_hold_until = ev_now(EV_DEFAULT) + backoff_delay(
		    sl->sl_prog->p_conf->pc_restart_delay,
		    sl->sl_prog->p_conf->pc_restart_delay_max, sl->sl_streak);
		roll_finish(sl->sl_prog, 0, "a new worker did not become "
		    "ready");
	} else if (sl != NULL && sl->sl_worker == w) {
		sl->sl_worker = NULL;
		slot_after_exit(sl, w, status, what);
	} else {
		log_info("%s", what);
	}
	cluster_changed();
}

/*
 * The worker asked to be replaced ("suicide"): its replacement starts now,
 * before it exits, so the slot never goes without a worker.  A second
 * request from the same worker, or its exit, changes nothing more.
 */
void
program_worker_suicide(struct worker *w)
{
	struct slot	*sl = w->w_slot;

	if (cluster_shutting_down() || sl == NULL || sl->sl_worker != w ||
	    (w->w_state != WORKER_STARTING && w->w_state != WORKER_READY))
		return;
	log_notice("%s[%d] (pid %ld) asked to be replaced%s",
	    w->w_conf->pc_name, w->w_index, (long)w->w_pid,
	    sl->sl_next != NULL ? "; its replacement is already starting" :
	    ": starting its replacement");
	worker_retire(w);
	sl->sl_worker = NULL;
	if (sl->sl_next == NULL) {
		sl->sl_restarts++;
		slot_start(sl);
	}
	cluster_changed();
}

/* "web: 4/4 ready, 0 restarting" */
void
program_status(const struct program *p, char *buf, size_t len)
{
	int	i, ready = 0, backoff = 0;

	for (i = 0; i < p->p_nslots; i++) {
		if (p->p_slots[i]->sl_worker != NULL &&
		    p->p_slots[i]->sl_worker->w_state == WORKER_READY)
			ready++;
		if (p->p_slots[i]->sl_state == SLOT_BACKOFF)
			backoff++;
	}
	snprintf(buf, len, "%s: %d/%d ready, %d restarting%s",
	    p->p_conf->pc_name, ready, p->p_nslots, backoff,
	    p->p_state == PROGRAM_STOPPED ? ", stopped" :
	    p->p_state == PROGRAM_ROLLING ? ", rolling" :
	    p->p_roll_failed ? ", last rolling restart failed" : "");
}

/* Take a configuration and look up its sockets among the listeners. */
static int
program_bind(struct program *p, struct prog_conf *pc,
    struct listener *listeners)
{
	struct listener	**ls, *l, *node = NULL;
	size_t		  i;

	if ((ls = calloc(pc->pc_nsockets + 1, sizeof(*ls))) == NULL)
		return -1;
	for (i = 0; i <= pc->pc_nsockets; i++) {
		const char *name = i < pc->pc_nsockets ? pc->pc_sockets[i] :
		    pc->pc_node_socket;

		if (name == NULL)
			continue;
		for (l = listeners; l != NULL; l = l->l_next)
			if (strcmp(l->l_name, name) == 0)
				break;
		if (l == NULL) {
			log_warnx("%s: socket %s is not open", pc->pc_name,
			    name);
			free(ls);
			return -1;
		}
		if (i < pc->pc_nsockets)
			ls[i] = l;
		else
			node = l;
	}
	free(p->p_listeners);
	p->p_listeners = ls;
	p->p_node_listener = node;
	config_hold(pc->pc_cfg);
	if (p->p_conf != NULL)
		config_release(p->p_conf->pc_cfg);
	p->p_conf = pc;
	for (i = 0; i < (size_t)p->p_nslots; i++)
		if (slot_bind_reuseport(p->p_slots[i]) == -1)
			log_warnx("%s[%zu]: keeps its old reuseport sockets",
			    pc->pc_name, i);
	return 0;
}

/*
 * The descriptors a new worker of this slot gets for the program's
 * sockets: the shared listener, or the slot's own reuseport socket.
 * -1 if a reuseport socket could not be bound for it.
 */
int
program_slot_fds(const struct slot *sl, int *fds)
{
	const struct program	*p = sl->sl_prog;
	struct listener		*l;
	size_t			 i, j;

	for (i = 0; i < p->p_conf->pc_nsockets; i++) {
		l = p->p_listeners[i];
		fds[i] = l->l_fd;
		if (!l->l_reuseport)
			continue;
		for (j = 0; j < sl->sl_nreuse; j++)
			if (sl->sl_reuse_of[j] == l)
				break;
		if (j == sl->sl_nreuse || sl->sl_reuse_fd[j] == -1)
			return -1;
		fds[i] = sl->sl_reuse_fd[j];
	}
	return 0;
}

/* Grow or shrink the slot array; removed slots stop their workers. */
static int
program_resize(struct program *p, int n)
{
	struct slot	**slots;
	int		  i;

	for (i = n; i < p->p_nslots; i++)
		slot_destroy(p->p_slots[i]);
	if (n < p->p_nslots) {
		p->p_nslots = n;
		return 0;
	}
	slots = reallocarray(p->p_slots, (size_t)n, sizeof(*slots));
	if (slots == NULL)
		return -1;
	p->p_slots = slots;
	for (; p->p_nslots < n; p->p_nslots++)
		if ((p->p_slots[p->p_nslots] = slot_create(p,
		    p->p_nslots)) == NULL)
			return -1;
	return 0;
}

static int
target_slots(const struct prog_conf *pc)
{
	return pc->pc_workers > 0 ? pc->pc_workers : cpu_available();
}

/*
 * Replace the next slot that has a worker; start the ones that have none.
 * When every slot is done, the slots the new configuration no longer has
 * are stopped and the roll is over.
 */
static void
roll_step(struct program *p)
{
	struct slot	*sl;

	if (p->p_state != PROGRAM_ROLLING)
		return;
	for (; p->p_roll_next < p->p_nslots &&
	    p->p_roll_next < p->p_roll_target; p->p_roll_next++) {
		sl = p->p_slots[p->p_roll_next];
		if (sl->sl_worker == NULL) {
			if (sl->sl_state != SLOT_BACKOFF) {
				sl->sl_streak = 0;
				slot_start(sl);
			}
			continue;
		}
		if ((sl->sl_next = worker_start(p, sl)) == NULL) {
			roll_finish(p, 0, "a new worker could not be started");
			return;
		}
		sl->sl_restarts++;
		return;		/* program_worker_ready goes on */
	}
	if (p->p_nslots > p->p_roll_target)
		program_resize(p, p->p_roll_target);
	roll_finish(p, 1, NULL);
	program_start(p);
}

static void
roll_finish(struct program *p, int ok, const char *why)
{
	if (p->p_state != PROGRAM_ROLLING)
		return;
	p->p_state = PROGRAM_RUNNING;
	p->p_roll_target = 0;
	p->p_roll_failed = !ok;
	if (ok)
		log_notice("%s: rolling restart done", p->p_conf->pc_name);
	else
		log_errorx("%s: rolling restart stopped: %s; the old workers "
		    "keep serving", p->p_conf->pc_name, why);
	cluster_roll_done(p, ok, why);
}

static struct slot *
slot_create(struct program *p, int index)
{
	struct slot	*sl;

	if ((sl = calloc(1, sizeof(*sl))) == NULL)
		return NULL;
	sl->sl_prog = p;
	sl->sl_index = index;
	sl->sl_state = SLOT_STOPPED;
	ev_timer_init(&sl->sl_backoff, slot_backoff_done, 0, 0);
	sl->sl_backoff.data = sl;
	if (slot_bind_reuseport(sl) == -1) {
		free(sl);
		return NULL;
	}
	return sl;
}

/*
 * reuseport: the slot's own SO_REUSEPORT socket for each such listener of
 * its program, kept while the listener is (so queued connections wait
 * for the slot's next worker), bound anew for a new listener, closed when
 * no longer used.  On a bind failure nothing changes.
 */
static int
slot_bind_reuseport(struct slot *sl)
{
	const struct program	*p = sl->sl_prog;
	size_t			 n = p->p_conf->pc_nsockets, i, j;
	struct listener		**of;
	int			*fd;
	char			 err[ERRBUF_LEN];

	of = calloc(n + 1, sizeof(*of));
	fd = calloc(n + 1, sizeof(*fd));
	if (of == NULL || fd == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		fd[i] = -1;
		if (!(of[i] = p->p_listeners[i])->l_reuseport)
			continue;
		for (j = 0; j < sl->sl_nreuse; j++)
			if (sl->sl_reuse_of[j] == of[i] &&
			    sl->sl_reuse_fd[j] != -1) {
				fd[i] = sl->sl_reuse_fd[j];
				sl->sl_reuse_fd[j] = -1;	/* moved */
				break;
			}
		if (fd[i] == -1 && (fd[i] = sock_open_reuseport(of[i], err,
		    sizeof(err))) == -1) {
			log_errorx("%s[%d]: socket %s: %s", p->p_conf->pc_name,
			    sl->sl_index, of[i]->l_name, err);
			goto fail;
		}
	}
	slot_close_reuseport(sl, sl->sl_nreuse);
	sl->sl_reuse_of = of;
	sl->sl_reuse_fd = fd;
	sl->sl_nreuse = n;
	return 0;
 fail:
	/* give the moved ones back, close the new ones */
	for (i = 0; fd != NULL && of != NULL && i < n; i++) {
		for (j = 0; j < sl->sl_nreuse; j++)
			if (sl->sl_reuse_of[j] == of[i] &&
			    sl->sl_reuse_fd[j] == -1)
				break;
		if (j < sl->sl_nreuse)
			sl->sl_reuse_fd[j] = fd[i];
		else if (fd[i] > 0)
			close(fd[i]);
	}
	free(of);
	free(fd);
	return -1;
}

static void
slot_close_reuseport(struct slot *sl, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (sl->sl_reuse_fd[i] != -1)
			close(sl->sl_reuse_fd[i]);
	free(sl->sl_reuse_of);
	free(sl->sl_reuse_fd);
	sl->sl_reuse_of = NULL;
	sl->sl_reuse_fd = NULL;
	sl->sl_nreuse = 0;
}

/* Its workers stop gracefully and no longer point at it. */
static void
slot_destroy(struct slot *sl)
{
	ev_timer_stop(EV_DEFAULT, &sl->sl_backoff);
	if (sl->sl_next != NULL) {
		worker_stop(sl->sl_next);
		sl->sl_next->w_slot = NULL;
	}
	if (sl->sl_worker != NULL) {
		worker_stop(sl->sl_worker);
		sl->sl_worker->w_slot = NULL;
	}
	worker_detach_slot(sl);
	slot_close_reuseport(sl, sl->sl_nreuse);
	free(sl);
}

/* Start the slot's worker; a failed fork backs off like a fast failure. */
static void
slot_start(struct slot *sl)
{
	const struct prog_conf	*pc = sl->sl_prog->p_conf;
	struct worker		*w;
	double			 delay;
	char			 d[32];

	if ((w = worker_start(sl->sl_prog, sl)) != NULL) {
		sl->sl_worker = w;
		sl->sl_state = SLOT_RUNNING;
		return;
	}
	sl->sl_streak++;
	delay = backoff_delay(pc->pc_restart_delay, pc->pc_restart_delay_max,
	    sl->sl_streak);
	format_duration(delay, d, sizeof(d));
	log_warnx("%s[%d]: could not start; retrying in %s", pc->pc_name,
	    sl->sl_index, d);
	slot_backoff(sl, delay);
}

/*
 * The current worker of a slot exited on its own.  Restart it as the
 * policy says, unless clusterd is stopping or a replacement is already
 * on its way (a rolling restart).
 */
static void
slot_after_exit(struct slot *sl, struct worker *w, int status,
    const char *what)
{
	const struct prog_conf	*pc = sl->sl_prog->p_conf;
	char			 d[32];
	double			 delay, uptime;
	int			 failed;

	if (w->w_stop_sent || cluster_shutting_down() ||
	    sl->sl_prog->p_state == PROGRAM_STOPPED ||
	    sl->sl_prog->p_state == PROGRAM_REMOVED) {
		log_info("%s", what);
		sl->sl_state = SLOT_STOPPED;
		return;
	}
	if (sl->sl_next != NULL) {
		log_warnx("%s; its replacement is already starting", what);
		return;
	}
	failed = w->w_exec_failed || w->w_killed != KILL_NONE ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	/* a worker that never came up is a fast failure, however long */
	uptime = w->w_ready_at > 0 ? ev_now(EV_DEFAULT) - w->w_started : 0;
	switch (policy_after_exit(pc, failed, uptime, &sl->sl_streak,
	    &delay)) {
	case NEXT_RESTART:
		log_notice("%s; restarting now", what);
		sl->sl_restarts++;
		slot_start(sl);
		break;
	case NEXT_BACKOFF:
		format_duration(delay, d, sizeof(d));
		log_warnx("%s; restarting in %s", what, d);
		sl->sl_restarts++;
		slot_backoff(sl, delay);
		break;
	case NEXT_STOP:
		log_notice("%s; not restarting (restart = %s)", what,
		    pc->pc_restart == RESTART_NEVER ? "never" : "on-failure");
		sl->sl_state = SLOT_STOPPED;
		break;
	}
}

static void
slot_backoff(struct slot *sl, double delay)
{
	sl->sl_state = SLOT_BACKOFF;
	ev_timer_set(&sl->sl_backoff, delay, 0);
	ev_timer_start(EV_DEFAULT, &sl->sl_backoff);
}

static void
slot_backoff_done(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct slot	*sl = t->data;

	(void)loop;
	(void)revents;
	if (sl->sl_state == SLOT_BACKOFF && !cluster_shutting_down())
		slot_start(sl);
	cluster_changed();
}

/* The one place a wait status becomes words. */
static void
describe_exit(const struct worker *w, int status, char *buf, size_t len)
{
	char	up[32], how[64];

	format_duration(ev_now(EV_DEFAULT) - w->w_started, up, sizeof(up));
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "exited on signal %d (%s)%s",
		    WTERMSIG(status), signal_name(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	snprintf(buf, len, "%s[%d] (pid %ld) %s after %s",
	    w->w_conf->pc_name, w->w_index, (long)w->w_pid, how, up);
}
