/*
 * SPDX-License-Identifier: ISC
 *
 * The master: the running whole.  It holds the configuration, the
 * configured listeners and the programs; it turns signals and reaped
 * children into calls on the programs; it reloads and shuts down.
 *
 * Everything that depends on how the workers are doing is decided in one
 * place, after_wakeup(), an ev_prepare watcher that runs each time the
 * loop has handled what woke it and is about to sleep again: rolling
 * restarts move on, removed programs and slots are freed, a reload is
 * found finished (and a queued one started), STATUS= and READY=1 are
 * published, and the loop ends when a shutdown has nothing left.  The
 * layers below only change their own state; none of them calls up.
 *
 * A reload builds a complete new configuration beside the running one.
 * If it does not load, or a new socket cannot be bound, nothing running
 * changes.  Otherwise sockets with the same name and address keep their
 * descriptor, programs take their new configuration, and each one is
 * replaced by a rolling restart; the reload is over when every roll it
 * started is.
 */

#include <sys/mman.h>
#include <sys/resource.h>

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define MEMORY_INTERVAL	2.0	/* seconds between max_memory samples */
#define ORPHANS_MAX	4096	/* adopted processes signalled at exit */

enum phase {
	PHASE_STARTING,		/* READY=1 not yet sent */
	PHASE_RUNNING,
	PHASE_STOPPING,		/* graceful: waiting for workers to exit */
	PHASE_KILLING		/* SIGKILL sent: waiting only for reaping */
};

struct reload_waiter {
	struct reload_waiter	*rw_next;
	reload_cb		 rw_cb;
	void			*rw_arg;
	unsigned		 rw_seq;	/* the reload it waits for */
	int			 rw_fd;		/* upgrade: the client's socket */
};

/* The reload under way, and what it waits for. */
struct reload {
	unsigned		 rl_seq;	/* reloads started so far */
	int			 rl_active;
	int			 rl_queued;
	int			 rl_failed;
	char			 rl_error[2048];
	struct roll_result	*rl_rolls;	/* one per program it rolls */
	size_t			 rl_nrolls;
};

static struct config	*config;
static struct listener	**socks;	/* configured, in file order */
static struct program	*programs;
static enum phase	 phase = PHASE_STARTING;
static int		 verbosity;
static struct master_hooks hooks;
static struct reload	 rl;
static struct reload_waiter *waiters;
static struct reload_waiter *upgrade_waiters;
static int		 upgrade_requested;
static unsigned		 upgrade_check_seq;	/* rl_seq at its check */
static int		 adopted;	/* from an upgrade: nothing to start */
static unsigned		 seen_changes = ~0U;
static int		 dirty = 1;	/* something to look at after wakeup */
static int		 orphans_signalled;

static ev_prepare	 wakeup_watcher;
static ev_child		 child_watcher;
static ev_signal	 sig_term, sig_int, sig_quit, sig_hup, sig_ttin, sig_ttou;
static ev_signal	 sig_usr2;
static ev_timer		 memory_timer;
static ev_timer		 orphan_timer;

static void	after_wakeup(struct ev_loop *, ev_prepare *, int);
static int	reload_step(void);
static int	upgrade_step(void);
static int	upgrade_blocked(void);
static int	upgrade_config_unchanged(void);
static void	upgrade_now(void);
static int	fds_add(int **, size_t *, int);
static int	upgrade_fds(int **, size_t *, int);
static int	waiter_fds(struct state_out *);
static void	upgrade_done(int, const char *);
static struct listener **adopt_listeners(const struct config *,
		    const struct state *);
static void	adopt_node_data(struct listener *, const struct state_rec *);
static const struct state_rec *state_find(const struct state *,
		    const char *, const char *);
static void	sweep_cgroups(void);
static void	sweep_programs(void);
static void	publish_status(void);
static void	end_when_empty(void);
static void	watch_signals(void);
static void	on_child(struct ev_loop *, ev_child *, int);
static void	on_stop_signal(struct ev_loop *, ev_signal *, int);
static void	on_quit(struct ev_loop *, ev_signal *, int);
static void	on_hup(struct ev_loop *, ev_signal *, int);
static void	on_scale(struct ev_loop *, ev_signal *, int);
static void	on_usr2(struct ev_loop *, ev_signal *, int);
static void	on_memory(struct ev_loop *, ev_timer *, int);
static void	on_orphan_timeout(struct ev_loop *, ev_timer *, int);
static void	memory_update(void);
static void	master_adopted(void);
static void	upgrade_answer(int);
static void	signal_orphans(int);
static void	reload_start(void);
static int	reload_apply(struct config *);
static void	reload_programs(struct config *);
static void	reload_globals(struct config *);
static void	reload_finish(int);
static void	waiters_notify(unsigned, int, const char *);
static int	any_rolling(void);
static struct listener **open_listeners(const struct config *, int);
static struct listener *find_listener(const struct sock_conf *, int);
static struct listener *from_fdstore(const struct sock_conf *);
static int	same_address(const struct listen_addr *,
		    const struct listen_addr *);
static void	adopt_listener(struct listener *, const struct sock_conf *);
static void	release_listeners(struct listener **);
static int	create_programs(void);
static void	status_line(char *, size_t);
static int	fds_fit(const struct config *, char *, size_t);
static double	longest_stop_timeout(void);

/*
 * Take over a loaded configuration: bind every socket, set up every
 * program, write the pidfile.  hook is told of each configuration the
 * master takes from a reload.  Any failure is a start-up error: -1, with
 * everything undone.  Nothing is forked yet.
 */
int
master_init(struct config *cf, int verbose, const struct master_hooks *mh)
{
	char	err[ERRBUF_LEN] = "";

	config = cf;
	verbosity = verbose;
	hooks = *mh;
	if (fds_fit(cf, err, sizeof(err)) == -1)
		log_errorx("%s", err);
	else
		(void)cgroup_init(NULL, NULL, 0);	/* says why not */
	if (err[0] != '\0' || (socks = open_listeners(config, 1)) == NULL ||
	    create_programs() == -1 || pidfile_write(config->cf_pidfile) == -1) {
		if (config->cf_pidfile != NULL) {
			free(config->cf_pidfile);	/* not ours */
			config->cf_pidfile = NULL;
		}
		master_cleanup();
		return -1;
	}
	return 0;
}

/* Watch signals, start every program's workers, run until shut down. */
void
master_run(void)
{
	struct program	*p;

	watch_signals();	/* before any fork: no exit is missed */
	ev_prepare_init(&wakeup_watcher, after_wakeup);
	ev_prepare_start(EV_DEFAULT, &wakeup_watcher);
	ev_timer_init(&memory_timer, on_memory, MEMORY_INTERVAL,
	    MEMORY_INTERVAL);
	ev_timer_init(&orphan_timer, on_orphan_timeout, 0, 0);
	if (adopted)
		master_adopted();
	else
		for (p = programs; p != NULL; p = p->p_next)
			program_start(p);
	memory_update();
	ev_run(EV_DEFAULT, 0);
}

/*
 * An upgrade: take over from the old image what st says, on the
 * configuration cf (the same file, loaded again).  Listeners keep their
 * descriptors (one that is not what it should be is bound anew),
 * programs their slots and workers.  -1 on a failure that leaves
 * nothing to run (logged).
 */
int
master_adopt(struct config *cf, int verbose, const struct master_hooks *mh,
    struct state *st)
{
	const struct state_rec	*r;
	struct prog_conf	*pc;
	struct program		*p, **tail = &programs;
	long long		 n;
	size_t			 i;

	config = cf;
	verbosity = verbose;
	hooks = *mh;
	adopted = 1;
	phase = PHASE_RUNNING;
	if ((r = state_find(st, "master", NULL)) != NULL &&
	    state_num(r, "seq", &n) == 0)
		rl.rl_seq = (unsigned)n;
	(void)cgroup_init(r != NULL ? state_get(r, "cgroup") : NULL,
	    r != NULL ? state_get(r, "cgroupctl") : NULL, 1);
	if ((socks = adopt_listeners(config, st)) == NULL)
		return -1;
	for (pc = config->cf_progs; pc != NULL; pc = pc->pc_next) {
		if ((p = program_adopt(pc, socks, st)) == NULL &&
		    (p = program_create(pc, socks)) != NULL)
			program_start(p);
		if (p == NULL) {
			log_errorx("program %s: cannot set up", pc->pc_name);
			continue;
		}
		*tail = p;
		tail = &p->p_next;
	}
	sweep_cgroups();
	for (i = 0; i < st->st_nrecs; i++)
		if (strcmp(st->st_recs[i].sr_kind, "waiter") == 0 &&
		    state_num(&st->st_recs[i], "fd", &n) == 0 && n >= 0)
			upgrade_answer((int)n);
	return 0;
}

/*
 * The listeners of cf: each taken over from the state's descriptor of
 * the same name, if it is still that socket, else bound anew.  Sockets
 * systemd passed go back into sdlisten's table.
 */
static struct listener **
adopt_listeners(const struct config *cf, const struct state *st)
{
	const struct sock_conf	 *sc;
	const struct state_rec	 *r;
	struct listener		**ls;
	long long		  fd;
	size_t			  n = 0, i;
	char			  err[ERRBUF_LEN];

	for (i = 0; i < st->st_nrecs; i++)
		if (strcmp(st->st_recs[i].sr_kind, "sdsock") == 0 &&
		    state_num(&st->st_recs[i], "fd", &fd) == 0 &&
		    state_get(&st->st_recs[i], "name") != NULL)
			(void)sdlisten_adopt(state_get(&st->st_recs[i],
			    "name"), (int)fd);
	for (sc = cf->cf_socks; sc != NULL; sc = sc->sc_next)
		n++;
	if ((ls = calloc(n + 1, sizeof(*ls))) == NULL) {
		log_warn("upgrade: listeners");
		return NULL;
	}
	for (sc = cf->cf_socks, i = 0; sc != NULL; sc = sc->sc_next, i++) {
		r = state_find(st, "listener", sc->sc_name);
		if (r != NULL && state_num(r, "fd", &fd) == 0 && fd >= 0) {
			if ((ls[i] = sock_adopt(sc, (int)fd, err,
			    sizeof(err))) != NULL) {
				adopt_node_data(ls[i], r);
				continue;
			}
			log_warnx("upgrade: socket %s: %s: binding it anew",
			    sc->sc_name, err);
			close((int)fd);
		}
		if ((ls[i] = sock_open(sc, err, sizeof(err))) == NULL) {
			log_errorx("socket %s: %s", sc->sc_name, err);
			release_listeners(ls);
			return NULL;
		}
	}
	return ls;
}

/*
 * After an upgrade: worker cgroups that no adopted worker holds (a busy
 * one the old image was still removing) are emptied and removed.
 */
static void
sweep_cgroups(void)
{
	const struct worker	 *w;
	const char		**keep;
	size_t			  n = 0;

	if (cgroup_base() == NULL)
		return;
	for (w = worker_first(); w != NULL; w = w->w_next)
		n++;
	if ((keep = calloc(n + 1, sizeof(*keep))) == NULL) {
		log_warn("upgrade: cgroups");
		return;
	}
	n = 0;
	for (w = worker_first(); w != NULL; w = w->w_next)
		keep[n++] = w->w_cgroup;
	cgroup_sweep(keep, n);
	free(keep);
}

/*
 * The TLS ticket keys node-cluster workers share: kept across the
 * upgrade, so a worker started after it resumes its elders' sessions.
 */
static void
adopt_node_data(struct listener *l, const struct state_rec *r)
{
	const char	*data = state_get(r, "nodedata");

	if (data != NULL && (l->l_node_data = strdup(data)) == NULL)
		log_warn("upgrade: socket %s: node-cluster data", l->l_name);
}

/* The first record of kind (named name, if not NULL). */
static const struct state_rec *
state_find(const struct state *st, const char *kind, const char *name)
{
	const char	*v;
	size_t		 i;

	for (i = 0; i < st->st_nrecs; i++) {
		if (strcmp(st->st_recs[i].sr_kind, kind) != 0)
			continue;
		v = state_get(&st->st_recs[i], "name");
		if (name == NULL || (v != NULL && strcmp(v, name) == 0))
			return &st->st_recs[i];
	}
	return NULL;
}

/*
 * After the adoption, in the loop: a worker that died while no image
 * was looking is reaped now (a SIGCHLD the old image had taken in but
 * not handled is gone, so libev is made to look), and only then are
 * the signals blocked across execve let in.
 */
static void
master_adopted(void)
{
	sigset_t	none;
	char		status[1024];

	ev_feed_signal_event(EV_DEFAULT, SIGCHLD);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	status_line(status, sizeof(status));
	log_notice("upgraded: %s", status);
	notify_ready(status);
}

/*
 * Close sockets (unix socket files go too), remove the pidfile, free;
 * kill what is left in worker cgroups and remove them.
 */
void
master_cleanup(void)
{
	struct program	*p;

	while ((p = programs) != NULL) {
		programs = p->p_next;
		program_free(p);
	}
	release_listeners(socks);
	socks = NULL;
	if (config != NULL)
		pidfile_remove(config->cf_pidfile);
	config_release(config);
	config = NULL;
	free(rl.rl_rolls);
	rl.rl_rolls = NULL;
	waiters_notify(~0U, 0, "clusterd stopped");
	capture_close_all();
	cgroup_cleanup();	/* what is left in worker cgroups: SIGKILL */
}

int
master_shutting_down(void)
{
	return phase == PHASE_STOPPING || phase == PHASE_KILLING;
}

/*
 * Stop restarting; ask every worker to stop (graceful), or SIGKILL them
 * all.  The loop ends once nothing is left (after_wakeup).
 */
void
master_shutdown(int graceful)
{
	struct program	*p;

	if (!master_shutting_down())
		notify_stopping();
	phase = graceful ? PHASE_STOPPING : PHASE_KILLING;
	dirty = 1;
	ev_timer_stop(EV_DEFAULT, &memory_timer);
	for (p = programs; p != NULL; p = p->p_next) {
		if (graceful)
			program_stop(p);
		else
			program_kill(p);
	}
	if (!graceful && orphans_signalled)
		signal_orphans(SIGKILL);
	rl.rl_active = 0;	/* a reload under way ends here, unreported */
	rl.rl_queued = 0;
	free(rl.rl_rolls);
	rl.rl_rolls = NULL;
	rl.rl_nrolls = 0;
	waiters_notify(~0U, 0, "clusterd is shutting down");
	if (upgrade_requested)
		upgrade_done(0, "clusterd is shutting down");
	/*
	 * Nothing will start again: once the workers have closed their
	 * copies, new connections are refused instead of queueing until
	 * our exit resets them.
	 */
	sock_close_all();
}

/* SIGHUP: reload, or queue one reload behind the one under way. */
void
master_reload(void)
{
	if (master_shutting_down())
		return;
	dirty = 1;
	if (rl.rl_active || any_rolling()) {
		if (!rl.rl_queued)
			log_notice("reload requested during a rolling restart: "
			    "queued");
		rl.rl_queued = 1;
		return;
	}
	reload_start();
}

/*
 * SIGUSR2, clusterctl upgrade: replace clusterd by the binary it was
 * started from, in place.  It waits for a reload or rolling restart
 * under way, as a queued reload does.
 */
void
master_upgrade(void)
{
	if (master_shutting_down())
		return;
	if (!upgrade_requested)
		log_notice("upgrade of clusterd requested");
	upgrade_requested = 1;
	dirty = 1;
}

/*
 * Call cb(arg, ok, error) when the upgrade is over; fd, the client's
 * socket, is carried across the execve: the new image answers there
 * that it went well.
 */
void
master_upgrade_wait(reload_cb cb, void *arg, int fd)
{
	struct reload_waiter	*rw;

	if ((rw = calloc(1, sizeof(*rw))) == NULL) {
		cb(arg, 0, "out of memory");
		return;
	}
	rw->rw_cb = cb;
	rw->rw_arg = arg;
	rw->rw_fd = fd;
	rw->rw_next = upgrade_waiters;
	upgrade_waiters = rw;
}

/* The upgrade's waiter went away: forget it. */
void
master_upgrade_cancel(void *arg)
{
	struct reload_waiter	**pp, *rw;

	for (pp = &upgrade_waiters; (rw = *pp) != NULL; ) {
		if (rw->rw_arg == arg) {
			*pp = rw->rw_next;
			free(rw);
		} else
			pp = &rw->rw_next;
	}
}

/*
 * Call cb(arg, ok, errors) when the reload that is under way, or the next
 * one if this request queues another, has finished.
 */
void
master_reload_wait(reload_cb cb, void *arg)
{
	struct reload_waiter	*rw;

	if ((rw = calloc(1, sizeof(*rw))) == NULL) {
		cb(arg, 0, "out of memory");
		return;
	}
	rw->rw_cb = cb;
	rw->rw_arg = arg;
	rw->rw_seq = rl.rl_active ? rl.rl_seq + 1 : rl.rl_seq;
	rw->rw_next = waiters;
	waiters = rw;
}

/* The waiter went away (a client hung up): forget it. */
void
master_reload_cancel(void *arg)
{
	struct reload_waiter	**pp, *rw;

	for (pp = &waiters; (rw = *pp) != NULL; ) {
		if (rw->rw_arg == arg) {
			*pp = rw->rw_next;
			free(rw);
		} else
			pp = &rw->rw_next;
	}
}

struct program *
master_programs(void)
{
	return programs;
}

struct program *
master_find_program(const char *name)
{
	struct program	*p;

	for (p = programs; p != NULL; p = p->p_next)
		if (p->p_state != PROGRAM_REMOVED &&
		    strcmp(p->p_name, name) == 0)
			return p;
	return NULL;
}

/*
 * After each wakeup, once every event has been handled: look at what
 * moved.  Steps repeat until none changes anything more, since one (a
 * reload finishing) can enable another (the queued reload).
 */
static void
after_wakeup(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct program	*p;
	unsigned	 before;

	(void)loop;
	(void)w;
	(void)revents;
	log_tick();
	if (!dirty && slot_changes() == seen_changes)
		return;
	do {
		dirty = 0;
		before = slot_changes();
		for (p = programs; p != NULL; p = p->p_next)
			program_advance(p);
		sweep_programs();
	} while (reload_step() || upgrade_step() ||
	    slot_changes() != before || dirty);
	publish_status();
	seen_changes = slot_changes();
	end_when_empty();
}

/*
 * Is the reload under way done (every roll it started has ended)?  Then
 * report it, and start a queued one.  1 if anything happened.
 */
static int
reload_step(void)
{
	size_t	i;

	if (rl.rl_active) {
		for (i = 0; i < rl.rl_nrolls; i++)
			if (!rl.rl_rolls[i].rr_done)
				return 0;
		for (i = 0; i < rl.rl_nrolls; i++)
			if (!rl.rl_rolls[i].rr_ok && !rl.rl_failed) {
				rl.rl_failed = 1;
				snprintf(rl.rl_error, sizeof(rl.rl_error),
				    "%s", rl.rl_rolls[i].rr_why);
			}
		reload_finish(!rl.rl_failed);
		return 1;
	}
	if (rl.rl_queued && !master_shutting_down() && !any_rolling()) {
		rl.rl_queued = 0;
		reload_start();
		return 1;
	}
	return 0;
}

/*
 * Move an upgrade on: start its check once nothing else is under way,
 * and act on the check's outcome.  1 if anything happened.
 */
static int
upgrade_step(void)
{
	switch (upgrade_phase()) {
	case UPGRADE_IDLE:
		if (!upgrade_requested || upgrade_blocked())
			return 0;
		if (upgrade_config_unchanged()) {
			upgrade_check_start(config->cf_path);
			upgrade_check_seq = rl.rl_seq;
		}
		return 1;
	case UPGRADE_FAILED:
		upgrade_done(0, upgrade_error());
		return 1;
	case UPGRADE_CHECKED:
		/*
		 * A reload that came during the check: the exec waits for
		 * it, and the new binary checks the file it loaded.
		 */
		if (upgrade_blocked())
			return 0;
		if (upgrade_check_seq != rl.rl_seq) {
			log_info("upgrade: the configuration was reloaded "
			    "during the check: checking again");
			upgrade_reset();
			return 1;
		}
		upgrade_now();
		return 1;
	default:
		return 0;
	}
}

/* An upgrade waits for a reload, a rolling restart, a removal. */
static int
upgrade_blocked(void)
{
	struct program	*p;

	if (phase == PHASE_STARTING || rl.rl_active || rl.rl_queued)
		return 1;
	for (p = programs; p != NULL; p = p->p_next)
		if (p->p_state == PROGRAM_ROLLING ||
		    p->p_state == PROGRAM_REMOVED)
			return 1;
	return 0;
}

/*
 * The new image reads the configuration file again, so it must hold
 * what runs: not changed since it was loaded, and no program on its
 * previous configuration after a failed reload.  Else the upgrade
 * fails, and says what to do.
 */
static int
upgrade_config_unchanged(void)
{
	struct config	*cf;
	struct program	*p;
	char		*errors = NULL;
	int		 same;

	for (p = programs; p != NULL; p = p->p_next)
		if (p->p_failed != NULL) {
			upgrade_done(0, "a program is on its previous "
			    "configuration because the last reload failed: "
			    "fix the file and reload, then upgrade");
			return 0;
		}
	if ((cf = config_load(config->cf_path, &errors)) == NULL) {
		free(errors);
		upgrade_done(0, "the configuration file no longer loads: "
		    "fix it and reload, then upgrade");
		return 0;
	}
	same = cf->cf_digest == config->cf_digest;
	config_release(cf);
	if (!same)
		upgrade_done(0, "the configuration file has changed since "
		    "it was loaded: reload first, then upgrade");
	return same;
}

/*
 * The check passed: write the state, and exec the new binary in its
 * place.  Returns only if the execve failed; then nothing has changed.
 */
static void
upgrade_now(void)
{
	struct state_out	 so;
	char			 arg[64], *argv[16], status[1024];
	int			*keep = NULL, fd, i, n = 0;
	size_t			 nkeep = 0;

	if ((fd = memfd_create("clusterd-state", MFD_CLOEXEC)) == -1) {
		upgrade_done(0, strerror(errno));
		return;
	}
	memset(&so, 0, sizeof(so));
	so.so_config_path = config->cf_path;
	so.so_digest = config->cf_digest;
	so.so_seq = rl.rl_seq;
	so.so_socks = socks;
	so.so_programs = programs;
	so.so_control_fd = hooks.mh_control_fd != NULL ?
	    hooks.mh_control_fd(&so.so_control_path) : -1;
	if (waiter_fds(&so) == -1 || state_write(fd, &so) == -1 ||
	    upgrade_fds(&keep, &nkeep, fd) == -1) {
		close(fd);
		free(keep);
		free((int *)so.so_waiter_fds);
		upgrade_done(0, "cannot write the state");
		return;
	}
	snprintf(arg, sizeof(arg), "--upgrade-from=%d", fd);
	argv[n++] = (char *)upgrade_path();
	argv[n++] = (char *)"-c";
	argv[n++] = config->cf_path;
	argv[n++] = arg;
	for (i = 0; i < verbosity && n < 14; i++)
		argv[n++] = (char *)"-v";
	for (i = 0; i > verbosity && n < 14; i--)
		argv[n++] = (char *)"-q";
	argv[n] = NULL;
	log_notice("upgrade: executing %s", upgrade_path());
	notify_reloading();
	capture_finish_detached();	/* not carried over */
	(void)upgrade_exec(argv, keep, nkeep);
	snprintf(status, sizeof(status), "execve %s: %s", upgrade_path(),
	    strerror(errno));
	close(fd);
	free(keep);
	free((int *)so.so_waiter_fds);
	upgrade_done(0, status);
	status_line(status, sizeof(status));
	notify_ready(status);
}

/* The sockets of the clusterctls that wait for the upgrade. */
static int
waiter_fds(struct state_out *so)
{
	struct reload_waiter	*rw;
	int			*fds = NULL;
	size_t			 n = 0;

	for (rw = upgrade_waiters; rw != NULL; rw = rw->rw_next)
		if (fds_add(&fds, &n, rw->rw_fd) == -1) {
			free(fds);
			return -1;
		}
	so->so_waiter_fds = fds;
	so->so_nwaiters = n;
	return 0;
}

/* Add fd to the growing array *v of *n. */
static int
fds_add(int **v, size_t *n, int fd)
{
	int	*grown;

	if (fd < 0)
		return 0;
	if ((grown = reallocarray(*v, *n + 1, sizeof(**v))) == NULL)
		return -1;
	*v = grown;
	grown[(*n)++] = fd;
	return 0;
}

/*
 * Every descriptor the state names, and the state's own: the ones kept
 * open across the execve.
 */
static int
upgrade_fds(int **keepp, size_t *np, int state_fd)
{
	struct listener		*l;
	struct program		*p;
	struct slot		*sl;
	struct worker		*w;
	struct reload_waiter	*rw;
	const char		*name;
	int			 fd, i, j, rc = 0;
	size_t			 k;

	*keepp = NULL;
	*np = 0;
	rc |= fds_add(keepp, np, state_fd);
	for (l = sock_first(); l != NULL; l = l->l_next)
		rc |= fds_add(keepp, np, l->l_fd);
	for (p = programs; p != NULL; p = p->p_next) {
		for (i = 0; i < p->p_nslots; i++)
			for (k = 0; k < p->p_slots[i]->sl_nsocks; k++)
				rc |= fds_add(keepp, np,
				    p->p_slots[i]->sl_socks[k].ss_fd);
		for (sl = p->p_draining; sl != NULL; sl = sl->sl_link)
			for (k = 0; k < sl->sl_nsocks; k++)
				rc |= fds_add(keepp, np,
				    sl->sl_socks[k].ss_fd);
	}
	for (w = worker_first(); w != NULL; w = w->w_next) {
		if (ev_is_active(&w->w_ipc_io))
			rc |= fds_add(keepp, np, w->w_ipc_io.fd);
		if (ev_is_active(&w->w_exec_io))
			rc |= fds_add(keepp, np, w->w_exec_io.fd);
		if (w->w_notify != NULL)
			rc |= fds_add(keepp, np, worker_notify_fd(w));
		rc |= fds_add(keepp, np, capture_fd(w->w_out));
		rc |= fds_add(keepp, np, capture_fd(w->w_err));
	}
	for (j = 0; (fd = sdlisten_get(j, &name)) != -1; j++)
		rc |= fds_add(keepp, np, fd);
	if (hooks.mh_control_fd != NULL)
		rc |= fds_add(keepp, np, hooks.mh_control_fd(&name));
	for (rw = upgrade_waiters; rw != NULL; rw = rw->rw_next)
		rc |= fds_add(keepp, np, rw->rw_fd);
	return rc != 0 ? -1 : 0;
}

/*
 * The upgrade is over here: it failed (ok 0, why), or the new image
 * runs and the old one is gone (this is not called then).
 */
static void
upgrade_done(int ok, const char *why)
{
	struct reload_waiter	*rw;

	if (!ok)
		log_errorx("upgrade failed: %s; clusterd goes on unchanged",
		    why);
	while ((rw = upgrade_waiters) != NULL) {
		upgrade_waiters = rw->rw_next;
		rw->rw_cb(rw->rw_arg, ok, why);
		free(rw);
	}
	upgrade_requested = 0;
	upgrade_reset();
}

/*
 * The new image, once it has taken over: the clusterctl that asked for
 * the upgrade learns that it is done, on the socket the old image left.
 */
static void
upgrade_answer(int fd)
{
	static const char	ok[] = "{\"ok\":true}\n";

	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		log_debug("upgrade: answer the client: %s", strerror(errno));
	close(fd);
}

/* Removed programs go once their last worker has. */
static void
sweep_programs(void)
{
	struct program	**pp, *p;

	for (pp = &programs; (p = *pp) != NULL; ) {
		if (p->p_state == PROGRAM_REMOVED && !program_has_workers(p)) {
			*pp = p->p_next;
			program_free(p);
		} else
			pp = &p->p_next;
	}
}

/*
 * STATUS= for systemd, and READY=1 once every program's first workers
 * have settled at start-up.
 */
static void
publish_status(void)
{
	struct program	*p;
	char		 status[1024];
	int		 settled = 1;

	status_line(status, sizeof(status));
	if (phase == PHASE_STARTING) {
		for (p = programs; p != NULL; p = p->p_next)
			settled = settled && program_settled(p);
		if (settled) {
			phase = PHASE_RUNNING;
			log_notice("started: %s", status);
			notify_ready(status);
			return;
		}
	}
	notify_status(status);
}

/*
 * A shutdown is over when no worker is left and no process we adopted
 * as a subreaper is either: those get stop_signal (SIGTERM), and SIGKILL
 * after the longest stop_timeout, so nothing of our tree outlives us.
 */
static void
end_when_empty(void)
{
	pid_t	pids[1];
	int	n;

	if (!master_shutting_down() || worker_count() > 0)
		return;
	if ((n = proc_children(pids, 1)) <= 0) {
		ev_break(EV_DEFAULT, EVBREAK_ALL);
		return;
	}
	if (orphans_signalled)
		return;
	orphans_signalled = 1;
	log_notice("stopping %d process%s left by workers", n,
	    n == 1 ? "" : "es");
	signal_orphans(phase == PHASE_KILLING ? SIGKILL : SIGTERM);
	ev_timer_set(&orphan_timer, longest_stop_timeout(), 0);
	ev_timer_start(EV_DEFAULT, &orphan_timer);
}

static void
signal_orphans(int sig)
{
	pid_t	pids[ORPHANS_MAX];
	int	i, n;

	n = proc_children(pids, ORPHANS_MAX);
	for (i = 0; i < n && i < ORPHANS_MAX; i++)
		if (kill(pids[i], sig) == -1 && errno != ESRCH)
			log_warn("kill %ld with %s", (long)pids[i],
			    signal_name(sig));
}

static void
on_orphan_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	log_warnx("processes left by workers did not stop: SIGKILL");
	signal_orphans(SIGKILL);
}

static double
longest_stop_timeout(void)
{
	struct program	*p;
	double		 t = 0;

	for (p = programs; p != NULL; p = p->p_next)
		if (p->p_cur.b_conf->pc_stop_timeout > t)
			t = p->p_cur.b_conf->pc_stop_timeout;
	return t;
}

static void
watch_signals(void)
{
	ev_signal_init(&sig_term, on_stop_signal, SIGTERM);
	ev_signal_init(&sig_int, on_stop_signal, SIGINT);
	ev_signal_init(&sig_quit, on_quit, SIGQUIT);
	ev_signal_init(&sig_hup, on_hup, SIGHUP);
	ev_signal_init(&sig_ttin, on_scale, SIGTTIN);
	ev_signal_init(&sig_ttou, on_scale, SIGTTOU);
	ev_signal_init(&sig_usr2, on_usr2, SIGUSR2);
	ev_signal_start(EV_DEFAULT, &sig_usr2);
	ev_signal_start(EV_DEFAULT, &sig_ttin);
	ev_signal_start(EV_DEFAULT, &sig_ttou);
	ev_signal_start(EV_DEFAULT, &sig_term);
	ev_signal_start(EV_DEFAULT, &sig_int);
	ev_signal_start(EV_DEFAULT, &sig_quit);
	ev_signal_start(EV_DEFAULT, &sig_hup);
	ev_child_init(&child_watcher, on_child, 0, 0);
	ev_child_start(EV_DEFAULT, &child_watcher);
}

/*
 * The one place children are reaped (libev's waitpid).  Children that
 * are not workers are orphans re-parented to us: nothing to do but note
 * them.
 */
static void
on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct program	*p;

	(void)loop;
	(void)revents;

	if (worker_reaped(w->rpid, w->rstatus) ||
	    upgrade_reaped(w->rpid, w->rstatus)) {
		dirty = 1;
		return;
	}
	log_debug("reaped process %ld (not a worker)", (long)w->rpid);
	for (p = programs; p != NULL; p = p->p_next)
		program_orphan_reaped(p);
	dirty = 1;
}

/* SIGTERM, SIGINT: graceful; the second one kills at once. */
static void
on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	if (!master_shutting_down()) {
		log_notice("%s: stopping gracefully", signal_name(w->signum));
		master_shutdown(1);
	} else {
		log_notice("%s during shutdown: killing every worker",
		    signal_name(w->signum));
		master_shutdown(0);
	}
}

static void
on_quit(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	(void)w;
	log_notice("SIGQUIT: killing every worker");
	master_shutdown(0);
}

static void
on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	(void)w;
	master_reload();
}

static void
on_usr2(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	(void)w;
	log_notice("SIGUSR2: upgrade");
	master_upgrade();
}

/* SIGTTIN: one worker more for every program; SIGTTOU: one fewer. */
static void
on_scale(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct program	*p;
	int		 delta = w->signum == SIGTTIN ? 1 : -1;

	(void)loop;
	(void)revents;
	if (master_shutting_down())
		return;
	log_notice("%s: one worker %s for every program",
	    signal_name(w->signum), delta > 0 ? "more" : "fewer");
	for (p = programs; p != NULL; p = p->p_next)
		if (p->p_state != PROGRAM_REMOVED && p->p_nslots + delta >= 1)
			(void)program_scale(p, p->p_nslots + delta);
	dirty = 1;
}

/* Sample memory only while some program has max_memory. */
static void
memory_update(void)
{
	struct program	*p;
	int		 wanted = 0;

	for (p = programs; p != NULL; p = p->p_next)
		if (p->p_state != PROGRAM_REMOVED &&
		    p->p_cur.b_conf->pc_max_memory > 0)
			wanted = 1;
	if (wanted && !ev_is_active(&memory_timer))
		ev_timer_start(EV_DEFAULT, &memory_timer);
	else if (!wanted && ev_is_active(&memory_timer))
		ev_timer_stop(EV_DEFAULT, &memory_timer);
}

static void
on_memory(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct program	*p;

	(void)loop;
	(void)t;
	(void)revents;
	for (p = programs; p != NULL; p = p->p_next)
		program_check_memory(p);
}

static void
reload_start(void)
{
	struct config	*cf;
	char		*errors = NULL, *line, *next;

	rl.rl_seq++;
	rl.rl_active = 1;
	rl.rl_failed = 0;
	rl.rl_error[0] = '\0';
	dirty = 1;
	notify_reloading();
	log_notice("reloading %s", config->cf_path);
	if ((cf = config_load(config->cf_path, &errors)) != NULL &&
	    fds_fit(cf, rl.rl_error, sizeof(rl.rl_error)) == -1) {
		log_errorx("reload failed: %s", rl.rl_error);
		config_release(cf);
		rl.rl_failed = 1;
		reload_finish(0);
		return;
	}
	if (cf == NULL) {
		snprintf(rl.rl_error, sizeof(rl.rl_error), "%s",
		    errors != NULL ? errors : "out of memory");
		for (line = errors; line != NULL && *line != '\0';
		    line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			log_errorx("%s", line);
		}
		free(errors);
		rl.rl_failed = 1;
		reload_finish(0);
		return;
	}
	if (reload_apply(cf) == -1) {
		config_release(cf);
		rl.rl_failed = 1;
		reload_finish(0);
	}
}

/*
 * Apply a loaded configuration: bind what is new (a failure changes
 * nothing), then hand every program its new configuration and roll it.
 */
static int
reload_apply(struct config *cf)
{
	struct listener	**kept;
	size_t		  i, j;

	if ((kept = open_listeners(cf, 0)) == NULL)
		return -1;
	for (i = 0; socks[i] != NULL; i++) {
		for (j = 0; kept[j] != NULL && kept[j] != socks[i]; j++)
			;
		if (kept[j] == NULL) {
			log_notice("socket %s (%s) is no longer configured: "
			    "closed", socks[i]->l_name, socks[i]->l_listen);
			notify_fdstore_remove(socks[i]->l_name);
		}
	}
	release_listeners(socks);
	socks = kept;
	reload_programs(cf);
	return 0;
}

/*
 * Programs of the new configuration take it (new ones are created and
 * started by their roll), removed ones stop; every one rolls.
 */
static void
reload_programs(struct config *cf)
{
	struct prog_conf	*pc;
	struct program		*p, **tail;
	size_t			 n = 0, i = 0;

	for (pc = cf->cf_progs; pc != NULL; pc = pc->pc_next)
		n++;
	free(rl.rl_rolls);
	rl.rl_nrolls = 0;
	if ((rl.rl_rolls = calloc(n + 1, sizeof(*rl.rl_rolls))) == NULL)
		log_warn("reload");
	for (p = programs; p != NULL; p = p->p_next) {
		if (p->p_state == PROGRAM_REMOVED)
			continue;
		for (pc = cf->cf_progs; pc != NULL; pc = pc->pc_next)
			if (strcmp(pc->pc_name, p->p_name) == 0)
				break;
		if (pc == NULL)
			program_remove(p);
	}
	for (pc = cf->cf_progs; pc != NULL; pc = pc->pc_next) {
		struct roll_result *rr = rl.rl_rolls != NULL ?
		    &rl.rl_rolls[i++] : NULL;

		if ((p = master_find_program(pc->pc_name)) != NULL) {
			if (program_reload(p, pc, socks, rr) == -1) {
				log_warnx("reload: %s keeps its old "
				    "configuration", pc->pc_name);
				if (rr != NULL)
					rr->rr_done = rr->rr_ok = 1;
			}
			continue;
		}
		if ((p = program_create(pc, socks)) == NULL) {
			log_warnx("reload: cannot set up program %s",
			    pc->pc_name);
			if (rr != NULL)
				rr->rr_done = rr->rr_ok = 1;
			continue;
		}
		for (tail = &programs; *tail != NULL; tail = &(*tail)->p_next)
			;
		*tail = p;
		(void)program_roll(p, rr);	/* starts its workers */
	}
	rl.rl_nrolls = i;
	reload_globals(cf);
	memory_update();
}

/* Log level, control socket and pidfile follow the file. */
static void
reload_globals(struct config *cf)
{
	const char	*oldpid = config->cf_pidfile;

	log_setlevel(cf->cf_log_level + verbosity);
	if (hooks.mh_config != NULL)
		hooks.mh_config(cf);
	if (cf->cf_pidfile != NULL && (oldpid == NULL ||
	    strcmp(oldpid, cf->cf_pidfile) != 0)) {
		if (pidfile_write(cf->cf_pidfile) == -1) {
			free(cf->cf_pidfile);
			cf->cf_pidfile = NULL;
		}
	}
	if (oldpid != NULL && (cf->cf_pidfile == NULL ||
	    strcmp(oldpid, cf->cf_pidfile) != 0))
		pidfile_remove(oldpid);
	config_release(config);
	config = cf;
}

/* The reload is over: tell systemd, the log and whoever waits. */
static void
reload_finish(int ok)
{
	char	status[1024], msg[1400], first[256];

	if (!rl.rl_active)
		return;
	rl.rl_active = 0;
	free(rl.rl_rolls);
	rl.rl_rolls = NULL;
	rl.rl_nrolls = 0;
	status_line(status, sizeof(status));
	if (ok) {
		log_notice("reload done: %s", status);
		notify_ready(status);
	} else {
		snprintf(first, sizeof(first), "%.*s",
		    (int)strcspn(rl.rl_error, "\n"), rl.rl_error);
		log_errorx("reload failed; still running: %s", status);
		snprintf(msg, sizeof(msg), "reload failed: %s; %s", first,
		    status);
		notify_ready(msg);
	}
	waiters_notify(rl.rl_seq, ok, ok ? NULL : rl.rl_error);
}

/* Tell the waiters of reloads up to seq how it went. */
static void
waiters_notify(unsigned seq, int ok, const char *errors)
{
	struct reload_waiter	**pp, *rw;

	for (pp = &waiters; (rw = *pp) != NULL; ) {
		if (rw->rw_seq <= seq) {
			*pp = rw->rw_next;
			rw->rw_cb(rw->rw_arg, ok, errors);
			free(rw);
			pp = &waiters;	/* the callback may have changed it */
		} else
			pp = &rw->rw_next;
	}
}

static int
any_rolling(void)
{
	struct program	*p;

	for (p = programs; p != NULL; p = p->p_next)
		if (p->p_state == PROGRAM_ROLLING)
			return 1;
	return 0;
}

/*
 * For each socket of cf, in file order: the open listener it keeps (same
 * address, renamed if need be) or a newly bound one, each held once.  On
 * a bind failure the new ones are closed again and nothing has changed:
 * NULL, logged.  At start-up (first) there is nothing to keep.
 */
static struct listener **
open_listeners(const struct config *cf, int first)
{
	const struct sock_conf	 *sc;
	struct listener		**ls;
	size_t			  n = 0, i;
	char			  err[ERRBUF_LEN];

	for (sc = cf->cf_socks; sc != NULL; sc = sc->sc_next)
		n++;
	if ((ls = calloc(n + 1, sizeof(*ls))) == NULL) {
		log_warn("listeners");
		return NULL;
	}
	for (sc = cf->cf_socks, i = 0; sc != NULL; sc = sc->sc_next, i++) {
		if (!first && (ls[i] = find_listener(sc, 0)) == NULL)
			ls[i] = find_listener(sc, 1);
		if (ls[i] != NULL) {
			sock_hold(ls[i]);
			continue;
		}
		if ((ls[i] = from_fdstore(sc)) != NULL)
			continue;
		if ((ls[i] = sock_open(sc, err, sizeof(err))) == NULL) {
			if (first)
				log_errorx("socket %s: %s", sc->sc_name, err);
			else {
				snprintf(rl.rl_error, sizeof(rl.rl_error),
				    "socket %s: %s", sc->sc_name, err);
				log_errorx("reload failed: %s", rl.rl_error);
			}
			release_listeners(ls);
			return NULL;
		}
		log_info("socket %s: listening on %s", ls[i]->l_name,
		    ls[i]->l_listen);
		notify_fdstore(ls[i]->l_name, ls[i]->l_fd);
	}
	for (sc = cf->cf_socks, i = 0; !first && sc != NULL;
	    sc = sc->sc_next, i++)
		adopt_listener(ls[i], sc);
	return ls;
}

/*
 * A socket that systemd's file descriptor store handed back under sc's
 * name (clusterd crashed and was started again): taken over, queued
 * connections and all, if it is still that socket; NULL otherwise.
 */
static struct listener *
from_fdstore(const struct sock_conf *sc)
{
	struct listener	*l;
	char		 err[ERRBUF_LEN];
	int		 fd;

	if (sc->sc_addr.la_kind == ADDR_SYSTEMD || !sdlisten_has(sc->sc_name))
		return NULL;
	fd = sdlisten_take(sc->sc_name, err, sizeof(err));
	sdlisten_forget(sc->sc_name);
	if (fd == -1 || (l = sock_adopt(sc, fd, err, sizeof(err))) == NULL) {
		log_warnx("socket %s: the one systemd kept: %s: binding it "
		    "anew", sc->sc_name, err);
		if (fd != -1)
			close(fd);
		/* The new one takes its place in the store, not beside it. */
		notify_fdstore_remove(sc->sc_name);
		return NULL;
	}
	log_info("socket %s: taken back from systemd (%s)", l->l_name,
	    l->l_listen);
	return l;
}

/*
 * An open listener for sc that no earlier socket of the new
 * configuration has taken: the same name and address (any_name 0), or
 * the same address under another name (any_name 1).
 */
static struct listener *
find_listener(const struct sock_conf *sc, int any_name)
{
	struct listener	*l;

	for (l = sock_first(); l != NULL; l = l->l_next) {
		if (l->l_fd == -1 || !same_address(&l->l_addr, &sc->sc_addr) ||
		    l->l_reuseport != sc->sc_reuseport ||
		    (!any_name && strcmp(l->l_name, sc->sc_name) != 0))
			continue;
		return l;
	}
	return NULL;
}

static int
same_address(const struct listen_addr *a, const struct listen_addr *b)
{
	if (a->la_kind != b->la_kind)
		return 0;
	switch (a->la_kind) {
	case ADDR_TCP:
		return a->la_any == b->la_any && a->la_port == b->la_port &&
		    strcmp(a->la_host, b->la_host) == 0;
	default:
		return strcmp(a->la_path, b->la_path) == 0;
	}
}

/*
 * A kept listener takes what may change without closing it: its name and
 * text, its backlog (listen() again), a unix socket's mode and owner.
 * Failures are logged; the socket goes on serving as it was.
 */
static void
adopt_listener(struct listener *l, const struct sock_conf *sc)
{
	char	*name, *text;

	if (strcmp(l->l_name, sc->sc_name) != 0 ||
	    strcmp(l->l_listen, sc->sc_listen) != 0) {
		name = strdup(sc->sc_name);
		text = strdup(sc->sc_listen);
		if (name == NULL || text == NULL) {
			log_warn("socket %s", sc->sc_name);
			free(name);
			free(text);
		} else {
			free(l->l_name);
			free(l->l_listen);
			l->l_name = name;
			l->l_listen = text;
		}
	}
	(void)sock_update(l, sc);	/* it logs why it could not */
}

/* Let go of a configured set; a listener nothing else holds closes. */
static void
release_listeners(struct listener **ls)
{
	size_t	i;

	for (i = 0; ls != NULL && ls[i] != NULL; i++)
		sock_release(ls[i]);
	free(ls);
}

static int
create_programs(void)
{
	struct prog_conf	*pc;
	struct program		*p, **tail = &programs;

	for (pc = config->cf_progs; pc != NULL; pc = pc->pc_next) {
		if ((p = program_create(pc, socks)) == NULL) {
			log_errorx("program %s: cannot set up", pc->pc_name);
			return -1;
		}
		*tail = p;
		tail = &p->p_next;
	}
	return 0;
}

/*
 * Can cf run within clusterd's open-files limit?  Each worker costs the
 * master its IPC channel, its exec-status pipe while it starts, its
 * notify socket, its capture pipes, and its slot's reuseport sockets,
 * twice over during a rolling restart (old and new); on top come the
 * listeners, and what libev, the log and the control socket use (16;
 * control clients past the limit wait: accept pauses).  A file that
 * cannot fit is refused with the numbers, rather than have workers fail
 * to start one by one.
 */
static int
fds_fit(const struct config *cf, char *err, size_t errlen)
{
	const struct sock_conf	*sc;
	const struct prog_conf	*pc;
	struct rlimit		 lim;
	unsigned long long	 need = 16, workers = 0, per;
	size_t			 i;
	int			 n;

	if (getrlimit(RLIMIT_NOFILE, &lim) == -1 ||
	    lim.rlim_cur == RLIM_INFINITY)
		return 0;
	for (sc = cf->cf_socks; sc != NULL; sc = sc->sc_next)
		need++;
	for (pc = cf->cf_progs; pc != NULL; pc = pc->pc_next) {
		per = 1 + (pc->pc_ipc != IPC_NONE) +
		    (pc->pc_ready == READY_NOTIFY) + capture_pipes(pc);
		for (i = 0; i < pc->pc_nsockets; i++) {
			sc = config_find_socket(cf, pc->pc_sockets[i]);
			per += sc != NULL && sc->sc_reuseport;
		}
		n = pc->pc_workers > 0 ? pc->pc_workers : cpu_available();
		workers += (unsigned long long)n;
		need += 2 * per * (unsigned long long)n;
	}
	if (need <= (unsigned long long)lim.rlim_cur)
		return 0;
	snprintf(err, errlen, "%llu workers need about %llu open files in "
	    "clusterd, but its limit (RLIMIT_NOFILE) is %llu: raise "
	    "LimitNOFILE= (or ulimit -n), or run fewer workers", workers,
	    need, (unsigned long long)lim.rlim_cur);
	return -1;
}

/* "web: 4/4 ready; api: ..." */
static void
status_line(char *buf, size_t len)
{
	struct program	*p;
	size_t		 n = 0;

	buf[0] = '\0';
	for (p = programs; p != NULL && n + 1 < len; p = p->p_next) {
		if (p->p_state == PROGRAM_REMOVED)
			continue;
		if (n > 0)
			n += (size_t)snprintf(buf + n, len - n, "; ");
		if (n < len)
			program_summary(p, buf + n, len - n);
		n += strlen(buf + n);
	}
}
