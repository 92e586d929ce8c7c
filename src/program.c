/*
 * SPDX-License-Identifier: ISC
 *
 * A program: its configuration and sockets, its slots, rolling restarts,
 * scaling, max_memory.  What happens to each worker is the slots' table
 * (slot.c); this file decides which slots there are and which of them
 * to replace next.
 *
 * A rolling restart replaces one slot at a time: the slot's next worker
 * starts from the program's current configuration, and once it is ready
 * the old one stops.  Every worker carries the epoch of its program at
 * its start, and each roll has an epoch of its own, so a slot is done
 * when its worker is of the roll's epoch, however it got there (replaced
 * by the roll, restarted after a crash, added by scaling).  The roll is
 * driven by program_advance() after each wakeup, by reading the slots.
 *
 * A roll that stops because a new worker failed leaves the program on
 * its previous configuration (p_prev becomes p_cur again): until the
 * next reload succeeds, every replacement starts from the configuration
 * the old workers run.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define MAX_SLOTS	4096

enum roll_end {
	ROLL_END_OK,
	ROLL_END_FAILED,
	ROLL_END_CANCELLED
};

static int	binding_make(struct binding *, struct prog_conf *,
		    struct listener **);
static void	binding_clear(struct binding *);
static void	sync_sockets(struct program *);
static int	resize(struct program *, int);
static void	start_roll(struct program *, int, struct roll_result *);
static void	roll_advance(struct program *);
static void	roll_end(struct program *, enum roll_end, const char *);
static void	post_all(struct program *, enum slot_event);
static void	sweep_draining(struct program *);
static int	target_slots(const struct prog_conf *);
static void	adopt_record(struct program *, const struct state_rec *);
static void	adopt_slot(struct program *, const struct state_rec *, int,
		    int);
static struct slot *find_slot(struct program *, int, int);
static void	adopt_slot_sock(struct program *, struct slot *,
		    const struct state_rec *);

/*
 * The runtime side of one [program:NAME]: its sockets are looked up among
 * the configured listeners (a NULL-terminated array), and it gets `workers` (or auto) slots, stopped.
 */
struct program *
program_create(struct prog_conf *pc, struct listener **listeners)
{
	struct program	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->p_state = PROGRAM_RUNNING;
	p->p_epoch = 1;
	if (binding_make(&p->p_cur, pc, listeners) == -1) {
		free(p);
		return NULL;
	}
	p->p_name = pc->pc_name;
	if (resize(p, target_slots(pc)) == -1) {
		program_free(p);
		return NULL;
	}
	return p;
}

/*
 * An upgrade: the program as the old image left it (the records of st
 * that name it), on configuration pc.  Its slots, their reuseport
 * sockets and workers are taken over; a socket that is not what it
 * should be is bound anew.  NULL if st knows nothing of the program.
 */
struct program *
program_adopt(struct prog_conf *pc, struct listener **listeners,
    const struct state *st)
{
	const struct state_rec	*r;
	struct program		*p;
	size_t			 i;
	int			 ps;
	long long		 n;

	for (i = 0; i < st->st_nrecs; i++) {
		const char *name = state_get(&st->st_recs[i], "name");

		if (strcmp(st->st_recs[i].sr_kind, "program") == 0 &&
		    name != NULL && strcmp(name, pc->pc_name) == 0)
			break;
	}
	if (i == st->st_nrecs || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	r = &st->st_recs[i];
	ps = state_program_state(r, "state");
	p->p_state = ps == PROGRAM_STOPPED ? PROGRAM_STOPPED : PROGRAM_RUNNING;
	p->p_epoch = state_num(r, "epoch", &n) == 0 ? (unsigned)n : 1;
	if (binding_make(&p->p_cur, pc, listeners) == -1) {
		free(p);
		return NULL;
	}
	p->p_name = pc->pc_name;
	for (i = 0; i < st->st_nrecs; i++)
		adopt_record(p, &st->st_recs[i]);
	sync_sockets(p);
	if (p->p_nslots == 0 && resize(p, target_slots(pc)) == 0)
		program_start(p);
	return p;
}

/* One record of the state, if it is about p: a slot, socket or worker. */
static void
adopt_record(struct program *p, const struct state_rec *r)
{
	struct slot	*sl;
	long long	 index, draining = 0;
	const char	*prog = state_get(r, "prog");

	if (prog == NULL || strcmp(prog, p->p_name) != 0 ||
	    state_num(r, strcmp(r->sr_kind, "slot") == 0 ? "index" :
	    strcmp(r->sr_kind, "worker") == 0 ? "slot" : "index",
	    &index) == -1)
		return;
	(void)state_num(r, "draining", &draining);
	if (strcmp(r->sr_kind, "slot") == 0) {
		adopt_slot(p, r, (int)index, (int)draining);
		return;
	}
	if ((sl = find_slot(p, (int)index, (int)draining)) == NULL)
		return;
	if (strcmp(r->sr_kind, "slotsock") == 0)
		adopt_slot_sock(p, sl, r);
	else if (strcmp(r->sr_kind, "worker") == 0)
		(void)slot_adopt_worker(sl, r);
}

/* Slots come in order, 0 first; draining ones go to their list. */
static void
adopt_slot(struct program *p, const struct state_rec *r, int index,
    int draining)
{
	struct slot	**slots, *sl;

	if ((!draining && index != p->p_nslots) ||
	    (sl = slot_adopt(p, r)) == NULL) {
		log_warnx("%s: upgrade: slot %d cannot be taken over",
		    p->p_name, index);
		return;
	}
	if (draining) {
		sl->sl_link = p->p_draining;
		p->p_draining = sl;
		return;
	}
	if ((slots = reallocarray(p->p_slots, (size_t)p->p_nslots + 1,
	    sizeof(*slots))) == NULL) {
		slot_free(sl);
		return;
	}
	p->p_slots = slots;
	p->p_slots[p->p_nslots++] = sl;
}

static struct slot *
find_slot(struct program *p, int index, int draining)
{
	struct slot	*sl;

	if (!draining)
		return index < p->p_nslots ? p->p_slots[index] : NULL;
	for (sl = p->p_draining; sl != NULL; sl = sl->sl_link)
		if (sl->sl_index == index)
			return sl;
	return NULL;
}

/* A reuseport socket of a slot, checked before it is kept. */
static void
adopt_slot_sock(struct program *p, struct slot *sl,
    const struct state_rec *r)
{
	const char	*name = state_get(r, "listener");
	struct listener	*l = NULL;
	long long	 fd;
	size_t		 i;
	char		 err[ERRBUF_LEN];

	if (state_num(r, "fd", &fd) == -1 || fd < 0 || name == NULL)
		return;
	for (i = 0; i < p->p_cur.b_conf->pc_nsockets; i++)
		if (strcmp(p->p_cur.b_socks[i]->l_name, name) == 0)
			l = p->p_cur.b_socks[i];
	if (l == NULL || !l->l_reuseport || sock_check_fd((int)fd, &l->l_addr,
	    1, err, sizeof(err)) == -1 || slot_adopt_sock(sl, l,
	    (int)fd) == -1) {
		log_warnx("%s[%d]: upgrade: its socket %s%s%s: binding it "
		    "anew", p->p_name, sl->sl_index, name, l != NULL ? ": " :
		    " is no longer configured", l != NULL ? err : "");
		close((int)fd);
	}
}

/*
 * A reload: the program takes its new configuration and sockets, and
 * every slot is replaced by a rolling restart whose outcome goes to rr.
 * Workers keep the configuration they were started with until the roll
 * replaces them.  -1 (nothing changed) if a socket is not open.
 */
int
program_reload(struct program *p, struct prog_conf *pc,
    struct listener **listeners, struct roll_result *rr)
{
	struct binding	nb;
	int		n = target_slots(pc);

	if (p->p_state == PROGRAM_ROLLING || p->p_state == PROGRAM_REMOVED ||
	    binding_make(&nb, pc, listeners) == -1)
		return -1;
	binding_clear(&p->p_prev);
	p->p_prev = p->p_cur;
	p->p_cur = nb;
	p->p_name = pc->pc_name;
	if (p->p_state == PROGRAM_STOPPED)
		p->p_state = PROGRAM_RUNNING;
	sync_sockets(p);
	start_roll(p, n, rr);
	if (n > p->p_nslots && resize(p, n) == -1)
		log_warnx("%s: keeps %d slots", p->p_name, p->p_nslots);
	roll_advance(p);
	return 0;
}

/* Start the workers of every slot that has none (and is not waiting). */
void
program_start(struct program *p)
{
	int	i, n = 0;

	if (p->p_state == PROGRAM_STOPPED)
		p->p_state = PROGRAM_RUNNING;
	for (i = 0; i < p->p_nslots; i++) {
		if (p->p_slots[i]->sl_cur != NULL ||
		    p->p_slots[i]->sl_idle != ST_STOPPED)
			continue;
		slot_post(p->p_slots[i], SE_START);
		n += p->p_slots[i]->sl_cur != NULL;	/* else it backs off */
	}
	if (n > 0)
		log_info("%s: started %d worker%s", p->p_name, n,
		    n == 1 ? "" : "s");
}

/* Stop every worker of the program and cancel what would restart one. */
void
program_stop(struct program *p)
{
	if (p->p_state == PROGRAM_ROLLING) {
		log_notice("%s: rolling restart cancelled: stopping",
		    p->p_name);
		roll_end(p, ROLL_END_CANCELLED, "the program was stopped");
	}
	if (p->p_state != PROGRAM_REMOVED)
		p->p_state = PROGRAM_STOPPED;
	post_all(p, SE_STOP);
}

/* SIGKILL to every worker of the program, at once. */
void
program_kill(struct program *p)
{
	if (p->p_state == PROGRAM_ROLLING)
		roll_end(p, ROLL_END_CANCELLED, "the program was killed");
	if (p->p_state != PROGRAM_REMOVED)
		p->p_state = PROGRAM_STOPPED;
	post_all(p, SE_KILL);
}

/* Gone from the configuration: stop everything; freed when empty. */
void
program_remove(struct program *p)
{
	log_notice("%s: removed from the configuration; stopping it",
	    p->p_name);
	if (p->p_state == PROGRAM_ROLLING)
		roll_end(p, ROLL_END_CANCELLED, "the program was removed");
	p->p_state = PROGRAM_REMOVED;
	post_all(p, SE_STOP);
}

/*
 * A rolling restart of every slot with the current configuration, its
 * outcome into rr (may be NULL).  -1 if one is under way already.
 */
int
program_roll(struct program *p, struct roll_result *rr)
{
	if (p->p_state == PROGRAM_ROLLING || p->p_state == PROGRAM_REMOVED)
		return -1;
	p->p_state = PROGRAM_RUNNING;
	start_roll(p, p->p_nslots, rr);
	roll_advance(p);
	return 0;
}

/* The requester of the roll under way no longer wants its result. */
void
program_forget_result(struct program *p, struct roll_result *rr)
{
	if (p->p_roll.r_result == rr)
		p->p_roll.r_result = NULL;
}

/*
 * Set the number of slots: new ones start now (unless the program is
 * stopped), removed ones stop.  During a rolling restart, the roll ends
 * with this many.
 */
int
program_scale(struct program *p, int n)
{
	int	old = p->p_nslots, i;

	if (n < 1 || n > MAX_SLOTS || p->p_state == PROGRAM_REMOVED)
		return -1;
	if (n == old)
		return 0;
	log_notice("%s: scaling from %d to %d worker%s", p->p_name, old, n,
	    n == 1 ? "" : "s");
	if (resize(p, n) == -1)
		return -1;
	if (p->p_state == PROGRAM_ROLLING)
		p->p_roll.r_target = n;
	if (p->p_state != PROGRAM_STOPPED)
		for (i = old; i < p->p_nslots; i++)
			slot_post(p->p_slots[i], SE_START);
	return 0;
}

/* Send sig to every current worker's process (not its group). */
void
program_signal(struct program *p, int sig)
{
	int	i;

	for (i = 0; i < p->p_nslots; i++)
		if (p->p_slots[i]->sl_cur != NULL)
			worker_signal(p->p_slots[i]->sl_cur, sig);
}

/*
 * After each wakeup: move the rolling restart on, and free the removed
 * slots whose last worker is gone.
 */
void
program_advance(struct program *p)
{
	roll_advance(p);
	sweep_draining(p);
}

/*
 * max_memory: replace, new one first, a ready current worker whose
 * memory (its cgroup's, or its resident memory: cgroup_memory) is over
 * the limit.  Not while its slot has a
 * replacement on its way, nor while it waits after a replacement that
 * failed.
 */
void
program_check_memory(struct program *p)
{
	const struct prog_conf	*pc = p->p_cur.b_conf;
	struct slot		*sl;
	struct worker		*w;
	long long		 rss;
	int			 i;

	if (p->p_state != PROGRAM_RUNNING || pc->pc_max_memory == 0)
		return;
	for (i = 0; i < p->p_nslots; i++) {
		sl = p->p_slots[i];
		if ((w = sl->sl_cur) == NULL || w->w_state != ST_READY ||
		    sl->sl_next != NULL || clock_now() < sl->sl_hold_until)
			continue;
		if ((rss = cgroup_memory(w->w_cgroup, w->w_pid)) < 0 ||
		    (uint64_t)rss <= pc->pc_max_memory)
			continue;
		log_warnx("%s[%d] (pid %ld) uses %.1fM, over max_memory "
		    "%.1fM: replacing it", p->p_name, i, (long)w->w_pid,
		    rss / 1048576.0, pc->pc_max_memory / 1048576.0);
		slot_post(sl, SE_REPLACE);
	}
}

/* A process clusterd adopted was reaped: lingering groups may be done. */
void
program_orphan_reaped(struct program *p)
{
	post_all(p, SE_ORPHAN);
}

/* Does any worker, current or not, still belong to this program? */
int
program_has_workers(const struct program *p)
{
	const struct slot	*sl;
	int			 i;

	for (i = 0; i < p->p_nslots; i++)
		if (!slot_empty(p->p_slots[i]))
			return 1;
	for (sl = p->p_draining; sl != NULL; sl = sl->sl_link)
		if (!slot_empty(sl))
			return 1;
	return 0;
}

/* Every slot's current worker is up, or failed: none is starting. */
int
program_settled(const struct program *p)
{
	int	i;

	for (i = 0; i < p->p_nslots; i++)
		if (p->p_slots[i]->sl_cur != NULL &&
		    p->p_slots[i]->sl_cur->w_state == ST_STARTING)
			return 0;
	return 1;
}

/* Slots whose current worker is ready. */
int
program_ready_count(const struct program *p)
{
	int	i, n = 0;

	for (i = 0; i < p->p_nslots; i++)
		if (p->p_slots[i]->sl_cur != NULL &&
		    p->p_slots[i]->sl_cur->w_state == ST_READY)
			n++;
	return n;
}

/*
 * What the program is doing, in one line, for clusterctl status and
 * systemd's STATUS=: "web: 4/4 ready", "web: rolling restart 2/4",
 * "web: crash-looping, 5 fast failures, next start in 8s", "web:
 * stopped"; and when a reload failed, that it runs its previous
 * configuration.
 */
void
program_summary(const struct program *p, char *buf, size_t len)
{
	const struct slot	*sl;
	unsigned		 streak = 0;
	double			 next = -1, left;
	int			 i, ready, backoff = 0;
	size_t			 n;
	char			 d[32];

	for (i = 0; i < p->p_nslots; i++) {
		sl = p->p_slots[i];
		if (sl->sl_cur != NULL || sl->sl_idle != ST_BACKOFF)
			continue;
		backoff++;
		streak = sl->sl_streak > streak ? sl->sl_streak : streak;
		left = timer_left(&sl->sl_timer);
		next = next < 0 || left < next ? left : next;
	}
	ready = program_ready_count(p);
	if (p->p_state == PROGRAM_STOPPED)
		snprintf(buf, len, "%s: stopped", p->p_name);
	else if (p->p_state == PROGRAM_ROLLING)
		snprintf(buf, len, "%s: rolling restart %d/%d", p->p_name,
		    p->p_roll.r_next, p->p_roll.r_target < p->p_nslots ?
		    p->p_roll.r_target : p->p_nslots);
	else if (backoff > 0 && streak >= 2) {
		format_duration(next, d, sizeof(d));
		if (ready > 0)
			snprintf(buf, len, "%s: %d/%d ready, crash-looping, %u "
			    "fast failures, next start in %s", p->p_name, ready,
			    p->p_nslots, streak, d);
		else
			snprintf(buf, len, "%s: crash-looping, %u fast "
			    "failures, next start in %s", p->p_name, streak, d);
	} else if (backoff > 0)
		snprintf(buf, len, "%s: %d/%d ready, %d restarting", p->p_name,
		    ready, p->p_nslots, backoff);
	else
		snprintf(buf, len, "%s: %d/%d ready", p->p_name, ready,
		    p->p_nslots);
	n = strlen(buf);
	if (p->p_failed != NULL && n < len)
		snprintf(buf + n, len - n, ", on its previous configuration: "
		    "the last reload failed");
}

void
program_free(struct program *p)
{
	struct slot	*sl;
	int		 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->p_nslots; i++)
		slot_free(p->p_slots[i]);
	while ((sl = p->p_draining) != NULL) {
		p->p_draining = sl->sl_link;
		slot_free(sl);
	}
	free(p->p_slots);
	binding_clear(&p->p_cur);
	binding_clear(&p->p_prev);
	if (p->p_failed != NULL)
		config_release(p->p_failed->pc_cfg);
	free(p);
}

/* Take a configuration and look up its sockets among the listeners. */
static int
binding_make(struct binding *b, struct prog_conf *pc,
    struct listener **listeners)
{
	struct listener	*l;
	size_t		 i, j;

	memset(b, 0, sizeof(*b));
	if ((b->b_socks = calloc(pc->pc_nsockets + 1,
	    sizeof(*b->b_socks))) == NULL)
		return -1;
	for (i = 0; i <= pc->pc_nsockets; i++) {
		const char *name = i < pc->pc_nsockets ? pc->pc_sockets[i] :
		    pc->pc_node_socket;

		if (name == NULL)
			continue;
		for (j = 0; (l = listeners[j]) != NULL; j++)
			if (strcmp(l->l_name, name) == 0)
				break;
		if (l == NULL) {
			log_warnx("%s: socket %s is not open", pc->pc_name,
			    name);
			binding_clear(b);
			return -1;
		}
		sock_hold(l);
		if (i < pc->pc_nsockets)
			b->b_socks[i] = l;
		else
			b->b_node = l;
	}
	config_hold(pc->pc_cfg);
	b->b_conf = pc;
	return 0;
}

static void
binding_clear(struct binding *b)
{
	size_t	i;

	for (i = 0; b->b_socks != NULL && b->b_socks[i] != NULL; i++)
		sock_release(b->b_socks[i]);
	if (b->b_node != NULL)
		sock_release(b->b_node);
	free(b->b_socks);
	if (b->b_conf != NULL)
		config_release(b->b_conf->pc_cfg);
	memset(b, 0, sizeof(*b));
}

static void
sync_sockets(struct program *p)
{
	int	i;

	for (i = 0; i < p->p_nslots; i++)
		if (slot_sync_sockets(p->p_slots[i]) == -1)
			log_warnx("%s[%d]: a reuseport socket could not be "
			    "bound", p->p_name, i);
}

/*
 * Grow or shrink the slot array.  Removed slots stop their workers and
 * wait on the draining list until they are empty; new ones are stopped.
 */
static int
resize(struct program *p, int n)
{
	struct slot	**slots, *sl;

	while (p->p_nslots > n) {
		sl = p->p_slots[--p->p_nslots];
		slot_post(sl, SE_REMOVE);
		sl->sl_link = p->p_draining;
		p->p_draining = sl;
	}
	if (n == p->p_nslots)
		return 0;
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

static void
start_roll(struct program *p, int target, struct roll_result *rr)
{
	p->p_epoch++;
	p->p_state = PROGRAM_ROLLING;
	p->p_roll.r_next = 0;
	p->p_roll.r_target = target;
	p->p_roll.r_result = rr;
	if (rr != NULL)
		memset(rr, 0, sizeof(*rr));
	log_notice("%s: rolling restart of %d worker%s", p->p_name,
	    p->p_nslots, p->p_nslots == 1 ? "" : "s");
}

/*
 * Replace the slot the roll is at, or move past it once it is done.
 * When every slot is done, the slots beyond the target are removed.
 */
static void
roll_advance(struct program *p)
{
	struct roll	*r = &p->p_roll;
	struct slot	*sl;

	while (p->p_state == PROGRAM_ROLLING) {
		if (r->r_next >= p->p_nslots || r->r_next >= r->r_target) {
			if (p->p_nslots > r->r_target)
				(void)resize(p, r->r_target);
			roll_end(p, ROLL_END_OK, NULL);
			return;
		}
		sl = p->p_slots[r->r_next];
		switch (slot_roll_status(sl, p->p_epoch)) {
		case ROLL_TODO:
			slot_post(sl, SE_REPLACE);
			if (slot_roll_status(sl, p->p_epoch) == ROLL_TODO) {
				roll_end(p, ROLL_END_FAILED, "a slot could "
				    "not be replaced");
				return;
			}
			break;
		case ROLL_WAIT:
			return;
		case ROLL_DONE:
			r->r_next++;
			break;
		case ROLL_FAILED:
			roll_end(p, ROLL_END_FAILED, "a new worker did not "
			    "become ready");
			return;
		}
	}
}

/*
 * The roll is over.  Done: the previous configuration is let go.
 * Failed: the previous one is in charge again.  Cancelled (a stop): the
 * new one stays.  The requester's record says how it went.
 */
static void
roll_end(struct program *p, enum roll_end how, const char *why)
{
	struct roll_result	*rr = p->p_roll.r_result;

	p->p_state = PROGRAM_RUNNING;
	p->p_roll.r_result = NULL;
	if (how == ROLL_END_OK)
		log_notice("%s: rolling restart done", p->p_name);
	else if (how == ROLL_END_FAILED)
		log_errorx("%s: rolling restart stopped: %s; the old workers "
		    "keep serving", p->p_name, why);
	if (how == ROLL_END_FAILED && p->p_prev.b_conf != NULL) {
		log_warnx("%s: replacements start from its previous "
		    "configuration until a reload succeeds", p->p_name);
		if (p->p_failed != NULL)
			config_release(p->p_failed->pc_cfg);
		p->p_failed = p->p_cur.b_conf;
		config_hold(p->p_failed->pc_cfg);
		binding_clear(&p->p_cur);
		p->p_cur = p->p_prev;
		memset(&p->p_prev, 0, sizeof(p->p_prev));
		p->p_name = p->p_cur.b_conf->pc_name;
	} else if (how == ROLL_END_OK && p->p_failed != NULL) {
		config_release(p->p_failed->pc_cfg);
		p->p_failed = NULL;
	}
	binding_clear(&p->p_prev);
	sync_sockets(p);
	if (rr != NULL) {
		rr->rr_done = 1;
		rr->rr_ok = how == ROLL_END_OK;
		if (how == ROLL_END_OK)
			rr->rr_why[0] = '\0';
		else
			snprintf(rr->rr_why, sizeof(rr->rr_why), "%s: rolling "
			    "restart %s: %s", p->p_name, how == ROLL_END_FAILED ?
			    "stopped" : "cancelled", why);
	}
}

/* An event for every slot, the draining ones too. */
static void
post_all(struct program *p, enum slot_event ev)
{
	struct slot	*sl;
	int		 i;

	for (i = 0; i < p->p_nslots; i++)
		slot_post(p->p_slots[i], ev);
	for (sl = p->p_draining; sl != NULL; sl = sl->sl_link)
		slot_post(sl, ev);
}

static void
sweep_draining(struct program *p)
{
	struct slot	**pp, *sl;

	for (pp = &p->p_draining; (sl = *pp) != NULL; ) {
		if (slot_empty(sl)) {
			*pp = sl->sl_link;
			slot_free(sl);
		} else
			pp = &sl->sl_link;
	}
}

static int
target_slots(const struct prog_conf *pc)
{
	return pc->pc_workers > 0 ? pc->pc_workers : cpu_available();
}
