/*
 * A program: its slots, which worker each slot runs, and what happens
 * when a worker exits (the decision itself is policy.c's).
 */

#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clusterd.h"
#include "log.h"

static struct slot	*slot_create(struct program *, int);
static void		 slot_start(struct slot *);
static void		 slot_backoff(struct slot *, double);
static void		 slot_backoff_done(struct ev_loop *, ev_timer *, int);
static void		 describe_exit(const struct worker *, int, char *,
			    size_t);

/*
 * The runtime side of one [program:NAME]: its sockets are looked up among
 * the open listeners, and it gets workers (or auto) slots.
 */
struct program *
program_create(struct prog_conf *pc, struct listener *listeners)
{
	struct program	*p;
	struct listener	*l;
	size_t		 i;
	int		 n;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->p_conf = pc;
	p->p_listeners = calloc(pc->pc_nsockets + 1, sizeof(*p->p_listeners));
	n = pc->pc_workers > 0 ? pc->pc_workers : cpu_available();
	p->p_slots = calloc((size_t)n, sizeof(*p->p_slots));
	if (p->p_listeners == NULL || p->p_slots == NULL)
		goto fail;
	for (i = 0; i < pc->pc_nsockets; i++) {
		for (l = listeners; l != NULL; l = l->l_next)
			if (strcmp(l->l_name, pc->pc_sockets[i]) == 0)
				break;
		if ((p->p_listeners[i] = l) == NULL) {
			log_warnx("%s: socket %s is not open", pc->pc_name,
			    pc->pc_sockets[i]);
			goto fail;
		}
	}
	if (pc->pc_node_socket != NULL) {
		for (l = listeners; l != NULL; l = l->l_next)
			if (strcmp(l->l_name, pc->pc_node_socket) == 0)
				break;
		if ((p->p_node_listener = l) == NULL) {
			log_warnx("%s: socket %s is not open", pc->pc_name,
			    pc->pc_node_socket);
			goto fail;
		}
	}
	for (p->p_nslots = 0; p->p_nslots < n; p->p_nslots++)
		if ((p->p_slots[p->p_nslots] = slot_create(p,
		    p->p_nslots)) == NULL)
			goto fail;
	return p;
 fail:
	program_free(p);
	return NULL;
}

void
program_start(struct program *p)
{
	int	i;

	log_info("%s: starting %d worker%s", p->p_conf->pc_name, p->p_nslots,
	    p->p_nslots == 1 ? "" : "s");
	for (i = 0; i < p->p_nslots; i++)
		slot_start(p->p_slots[i]);
}

/* Stop every worker of the program and cancel pending restarts. */
void
program_stop(struct program *p)
{
	struct slot	*sl;
	int		 i;

	for (i = 0; i < p->p_nslots; i++) {
		sl = p->p_slots[i];
		ev_timer_stop(EV_DEFAULT, &sl->sl_backoff);
		sl->sl_state = SLOT_STOPPED;
		if (sl->sl_worker != NULL)
			worker_stop(sl->sl_worker);
	}
}

void
program_free(struct program *p)
{
	int	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->p_nslots; i++) {
		ev_timer_stop(EV_DEFAULT, &p->p_slots[i]->sl_backoff);
		free(p->p_slots[i]);
	}
	free(p->p_slots);
	free(p->p_listeners);
	free(p);
}

/* A slot's worker has stayed up: its run of fast failures is over. */
void
program_worker_stable(struct worker *w)
{
	if (w->w_slot->sl_worker == w)
		w->w_slot->sl_streak = 0;
}

/*
 * A worker exited.  If clusterd stopped it, or it is no longer its slot's
 * current worker, that is the end of it; otherwise the restart policy
 * decides.  Either way the exit is logged once, with what happens next.
 */
void
program_worker_exited(struct worker *w, int status)
{
	struct slot		*sl = w->w_slot;
	const struct prog_conf	*pc = w->w_prog->p_conf;
	char			 what[160], d[32];
	double			 delay, uptime;
	int			 failed;

	describe_exit(w, status, what, sizeof(what));
	if (sl->sl_worker != w || w->w_stop_sent || cluster_shutting_down()) {
		log_info("%s", what);
		if (sl->sl_worker == w) {
			sl->sl_worker = NULL;
			sl->sl_state = SLOT_STOPPED;
		}
		return;
	}
	sl->sl_worker = NULL;
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

/*
 * The worker asked to be replaced ("suicide"): its replacement starts now,
 * before it exits, so the slot never goes without a worker.  A second
 * request from the same worker, or its exit, changes nothing more.
 */
void
program_worker_suicide(struct worker *w)
{
	struct slot	*sl = w->w_slot;

	if (cluster_shutting_down() || sl->sl_worker != w ||
	    (w->w_state != WORKER_STARTING && w->w_state != WORKER_READY))
		return;
	log_notice("%s[%d] (pid %ld) asked to be replaced: starting its "
	    "replacement", w->w_prog->p_conf->pc_name, sl->sl_index,
	    (long)w->w_pid);
	worker_retire(w);
	sl->sl_worker = NULL;
	sl->sl_restarts++;
	slot_start(sl);
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
	return sl;
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
	    w->w_prog->p_conf->pc_name, w->w_slot->sl_index, (long)w->w_pid,
	    how, up);
}
