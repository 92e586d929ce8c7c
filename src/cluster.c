/*
 * The running cluster: its configuration, open listeners and programs;
 * start-up, reload and shutdown.  main.c turns signals into calls here.
 *
 * A reload builds a complete new configuration beside the running one.
 * If it does not load, or a new socket cannot be bound, nothing running
 * changes.  Otherwise sockets with the same name and address keep their
 * descriptor, programs take their new configuration, and each one is
 * replaced by a rolling restart; the reload is over when every roll is.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

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
};

static struct config	*config;
static struct listener	*listeners;
static struct program	*programs;
static enum phase	 phase = PHASE_STARTING;
static int		 verbosity;

static unsigned		 reload_seq;	/* reloads started so far */
static int		 reload_active;	/* a reload is under way */
static int		 reload_rolls;	/* its rolls not yet done */
static int		 reload_queued;
static int		 reload_failed;
static char		 reload_error[2048];
static struct reload_waiter *waiters;

static int	open_listeners(const struct config *, struct listener **);
static int	reuse_listeners(const struct config *, struct listener ***);
static struct listener *find_listener(struct listener **, size_t,
		    const struct sock_conf *);
static int	same_address(const struct listen_addr *,
		    const struct listen_addr *);
static void	adopt_listener(struct listener *, const struct sock_conf *);
static int	listener_in(const struct listener *, const struct listener *);
static void	close_listeners(struct listener *);
static int	create_programs(void);
static int	any_rolling(void);
static int	reload_apply(struct config *);
static void	reload_programs(struct config *);
static void	reload_finish(int);
static void	reload_globals(struct config *);
static void	waiters_notify(unsigned, int, const char *);
static void	sweep_programs(void);
static int	startup_settled(void);
static void	status_line(char *, size_t);

/*
 * Take over a loaded configuration: bind every socket, set up every
 * program, write the pidfile.  Any failure is a start-up error: -1, with
 * everything undone.  Nothing is forked yet.
 */
int
cluster_init(struct config *cf, int verbose)
{
	config = cf;
	verbosity = verbose;
	if (open_listeners(config, &listeners) == -1 ||
	    create_programs() == -1 || pidfile_write(config->cf_pidfile) == -1) {
		if (config->cf_pidfile != NULL) {
			free(config->cf_pidfile);	/* not ours */
			config->cf_pidfile = NULL;
		}
		cluster_cleanup();
		return -1;
	}
	return 0;
}

/* Start every program's workers. */
void
cluster_start(void)
{
	struct program	*p;

	for (p = programs; p != NULL; p = p->p_next)
		program_start(p);
	memory_update();
	cluster_changed();
}

int
cluster_shutting_down(void)
{
	return phase == PHASE_STOPPING || phase == PHASE_KILLING;
}

/*
 * Stop restarting, ask every worker to stop (graceful) or kill them all;
 * the loop ends when the last worker is gone.
 */
void
cluster_shutdown(int graceful)
{
	struct program	*p;

	if (!cluster_shutting_down())
		notify_stopping();
	phase = graceful ? PHASE_STOPPING : PHASE_KILLING;
	reload_active = 0;	/* a reload under way ends here, unreported */
	reload_queued = 0;
	waiters_notify(~0U, 0, "clusterd is shutting down");
	memory_stop();
	for (p = programs; p != NULL; p = p->p_next)
		program_stop(p);
	worker_foreach(graceful ? worker_stop : worker_kill);
	/*
	 * Nothing will start again: once the workers have closed their
	 * copies, new connections are refused instead of queueing until
	 * our exit resets them.
	 */
	close_listeners(listeners);
	listeners = NULL;
	cluster_worker_freed();
}

/* SIGHUP: reload, or queue one reload behind the one under way. */
void
cluster_reload(void)
{
	struct config	*cf;
	char		*errors = NULL, *line, *next;

	if (cluster_shutting_down())
		return;
	if (reload_active || any_rolling()) {
		if (!reload_queued)
			log_notice("reload requested during a rolling restart: "
			    "queued");
		reload_queued = 1;
		return;
	}
	reload_seq++;
	reload_active = 1;
	reload_failed = 0;
	reload_error[0] = '\0';
	notify_reloading();
	log_notice("reloading %s", config->cf_path);
	if ((cf = config_load(config->cf_path, &errors)) == NULL) {
		snprintf(reload_error, sizeof(reload_error), "%s",
		    errors != NULL ? errors : "out of memory");
		for (line = errors; line != NULL && *line != '\0';
		    line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			log_errorx("%s", line);
		}
		free(errors);
		reload_failed = 1;
		reload_finish(0);
		return;
	}
	if (reload_apply(cf) == -1) {
		config_release(cf);
		reload_failed = 1;
		reload_finish(0);
	}
}

/*
 * Call cb(arg, ok, errors) when the reload that is under way, or the next
 * one if this request queues another, has finished.
 */
void
cluster_reload_wait(reload_cb cb, void *arg)
{
	struct reload_waiter	*rw;

	if ((rw = calloc(1, sizeof(*rw))) == NULL) {
		cb(arg, 0, "out of memory");
		return;
	}
	rw->rw_cb = cb;
	rw->rw_arg = arg;
	rw->rw_seq = reload_active ? reload_seq + 1 : reload_seq;
	rw->rw_next = waiters;
	waiters = rw;
}

/* The waiter went away (a client hung up): forget it. */
void
cluster_reload_cancel(void *arg)
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

/* SIGTTIN, SIGTTOU: one worker more or fewer for every program. */
void
cluster_scale_all(int delta)
{
	struct program	*p;

	for (p = programs; p != NULL; p = p->p_next)
		if (p->p_state != PROGRAM_REMOVED && p->p_nslots + delta >= 1)
			program_scale(p, p->p_nslots + delta);
}

/*
 * A program's rolling restart is over.  The reload is, once every roll it
 * started is; a reload queued behind a clusterctl restart runs now.
 */
void
cluster_roll_done(struct program *p, int ok, const char *why)
{
	if (!reload_active) {
		if (reload_queued && !any_rolling()) {
			reload_queued = 0;
			cluster_reload();
		}
		return;
	}
	if (!ok && !reload_failed) {
		reload_failed = 1;
		snprintf(reload_error, sizeof(reload_error), "%s: rolling "
		    "restart stopped: %s", p->p_conf->pc_name,
		    why ? why : "failed");
	}
	if (--reload_rolls == 0)
		reload_finish(!reload_failed);
}

/*
 * Something changed: STATUS= for systemd, and READY=1 once every
 * program's first workers have settled at start-up.
 */
void
cluster_changed(void)
{
	char	status[1024];

	status_line(status, sizeof(status));
	if (phase == PHASE_STARTING && startup_settled()) {
		phase = PHASE_RUNNING;
		log_notice("started: %s", status);
		notify_ready(status);
		return;
	}
	notify_status(status);
}

/* Shutdown ends when the last worker is gone. */
void
cluster_worker_freed(void)
{
	sweep_programs();
	if (cluster_shutting_down() && worker_count() == 0)
		ev_break(EV_DEFAULT, EVBREAK_ALL);
}

/* Close sockets (unix socket files go too), remove the pidfile, free. */
void
cluster_cleanup(void)
{
	struct program	*p;

	while ((p = programs) != NULL) {
		programs = p->p_next;
		program_free(p);
	}
	close_listeners(listeners);
	listeners = NULL;
	if (config != NULL)
		pidfile_remove(config->cf_pidfile);
	config_release(config);
	config = NULL;
	waiters_notify(~0U, 0, "clusterd stopped");
}

struct program *
cluster_programs(void)
{
	return programs;
}

struct program *
cluster_find_program(const char *name)
{
	struct program	*p;

	for (p = programs; p != NULL; p = p->p_next)
		if (p->p_state != PROGRAM_REMOVED &&
		    strcmp(p->p_conf->pc_name, name) == 0)
			return p;
	return NULL;
}

const struct config *
cluster_config(void)
{
	return config;
}

/*
 * Apply a loaded configuration: bind what is new (a failure changes
 * nothing), then hand every program its new configuration and roll it.
 */
static int
reload_apply(struct config *cf)
{
	struct listener	**kept, *fresh = NULL, **tail = &fresh, *l, *next;
	struct listener	 *gone = NULL;
	size_t		  i;

	if (reuse_listeners(cf, &kept) == -1)
		return -1;
	/* unlink the removed ones first: relinking reuses l_next */
	for (l = listeners; l != NULL; l = next) {
		next = l->l_next;
		for (i = 0; kept[i] != NULL && kept[i] != l; i++)
			;
		if (kept[i] == NULL) {
			l->l_next = gone;
			gone = l;
		}
	}
	for (i = 0; kept[i] != NULL; i++) {
		*tail = kept[i];
		tail = &kept[i]->l_next;
	}
	*tail = NULL;
	for (l = gone; l != NULL; l = next) {
		next = l->l_next;
		log_notice("socket %s (%s) is no longer configured: closed",
		    l->l_name, l->l_listen);
		sock_close(l);
	}
	free(kept);
	listeners = fresh;
	reload_programs(cf);
	return 0;
}

/*
 * For each socket of the new configuration, the listener it keeps (same
 * address, renamed if need be) or a newly bound one.  On a bind failure
 * the new ones are closed again and nothing has changed.  The array is
 * NULL-terminated, in file order.
 */
static int
reuse_listeners(const struct config *cf, struct listener ***keptp)
{
	const struct sock_conf	 *sc;
	struct listener		**kept, **old, *l;
	size_t			  n = 0, nold = 0, i;
	char			  err[ERRBUF_LEN];

	for (sc = cf->cf_socks; sc != NULL; sc = sc->sc_next)
		n++;
	for (l = listeners; l != NULL; l = l->l_next)
		nold++;
	kept = calloc(n + 1, sizeof(*kept));
	old = calloc(nold + 1, sizeof(*old));
	if (kept == NULL || old == NULL) {
		log_warn("reload");
		goto fail;
	}
	for (l = listeners, i = 0; l != NULL; l = l->l_next)
		old[i++] = l;
	for (sc = cf->cf_socks, i = 0; sc != NULL; sc = sc->sc_next, i++) {
		if ((kept[i] = find_listener(old, nold, sc)) != NULL)
			continue;
		if ((kept[i] = sock_open(sc, err, sizeof(err))) == NULL) {
			snprintf(reload_error, sizeof(reload_error),
			    "socket %s: %s", sc->sc_name, err);
			log_errorx("reload failed: %s", reload_error);
			goto fail;
		}
		log_info("socket %s: listening on %s", kept[i]->l_name,
		    kept[i]->l_listen);
	}
	for (sc = cf->cf_socks, i = 0; sc != NULL; sc = sc->sc_next, i++)
		adopt_listener(kept[i], sc);
	free(old);
	*keptp = kept;
	return 0;
 fail:
	for (i = 0; kept != NULL && i < n; i++)
		if (kept[i] != NULL && !listener_in(listeners, kept[i]))
			sock_close(kept[i]);
	free(kept);
	free(old);
	return -1;
}

/*
 * The open listener for sc: the same name and address first, else the
 * same address under another name.  Taken from old so it is used once.
 */
static struct listener *
find_listener(struct listener **old, size_t nold, const struct sock_conf *sc)
{
	struct listener	*l;
	size_t		 i;
	int		 pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < nold; i++) {
			if ((l = old[i]) == NULL ||
			    !same_address(&l->l_addr, &sc->sc_addr) ||
			    l->l_reuseport != sc->sc_reuseport ||
			    (pass == 0 && strcmp(l->l_name, sc->sc_name) != 0))
				continue;
			old[i] = NULL;
			return l;
		}
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
	(void)sock_update(l, sc);	/* logs what it could not apply */
}

static int
listener_in(const struct listener *list, const struct listener *l)
{
	for (; list != NULL; list = list->l_next)
		if (list == l)
			return 1;
	return 0;
}

/*
 * Programs of the new configuration take it (new ones are created and
 * started), removed ones stop; then every running program rolls.
 */
static void
reload_programs(struct config *cf)
{
	struct prog_conf	*pc;
	struct program		*p, **tail, *created = NULL, **ctail = &created;

	for (p = programs; p != NULL; p = p->p_next) {
		if (p->p_state == PROGRAM_REMOVED)
			continue;
		for (pc = cf->cf_progs; pc != NULL; pc = pc->pc_next)
			if (strcmp(pc->pc_name, p->p_conf->pc_name) == 0)
				break;
		if (pc == NULL)
			program_remove(p);
	}
	for (pc = cf->cf_progs; pc != NULL; pc = pc->pc_next) {
		if ((p = cluster_find_program(pc->pc_name)) != NULL) {
			if (program_reconfigure(p, pc, listeners) == -1)
				log_warnx("reload: %s keeps its old "
				    "configuration", pc->pc_name);
			continue;
		}
		if ((p = program_create(pc, listeners)) == NULL) {
			log_warnx("reload: cannot set up program %s",
			    pc->pc_name);
			continue;
		}
		*ctail = p;
		ctail = &p->p_next;
	}
	for (tail = &programs; *tail != NULL; tail = &(*tail)->p_next)
		;
	*tail = created;	/* a new program's roll just starts it */
	reload_globals(cf);
	memory_update();
	reload_rolls = 1;	/* held until every roll has begun */
	for (p = programs; p != NULL; p = p->p_next)
		if (p->p_state != PROGRAM_REMOVED && program_roll(p) == 0)
			reload_rolls++;
	if (--reload_rolls == 0)
		reload_finish(!reload_failed);
}

/* Log level and pidfile follow the file; the old config is released. */
static void
reload_globals(struct config *cf)
{
	const char	*oldpid = config->cf_pidfile;

	log_setlevel(cf->cf_log_level + verbosity);
	(void)ctl_reconfigure(cf->cf_control);	/* logs; keeps the old */
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

	if (!reload_active)
		return;
	reload_active = 0;
	status_line(status, sizeof(status));
	if (ok) {
		log_notice("reload done: %s", status);
		notify_ready(status);
	} else {
		snprintf(first, sizeof(first), "%.*s",
		    (int)strcspn(reload_error, "\n"), reload_error);
		log_errorx("reload failed; still running: %s", status);
		snprintf(msg, sizeof(msg), "reload failed: %s; %s", first,
		    status);
		notify_ready(msg);
	}
	waiters_notify(reload_seq, ok, ok ? NULL : reload_error);
	if (reload_queued && !cluster_shutting_down() && !any_rolling()) {
		reload_queued = 0;
		cluster_reload();
	}
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

/* Every slot's first worker is ready, or failed and backs off. */
static int
startup_settled(void)
{
	struct program	*p;
	int		 i;

	for (p = programs; p != NULL; p = p->p_next)
		for (i = 0; i < p->p_nslots; i++)
			if (p->p_slots[i]->sl_worker != NULL &&
			    p->p_slots[i]->sl_worker->w_state ==
			    WORKER_STARTING)
				return 0;
	return 1;
}

/* "web: 4/4 ready, 0 restarting; api: ..." */
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
			program_status(p, buf + n, len - n);
		n += strlen(buf + n);
	}
}

/* Every socket is bound before any worker starts. */
static int
open_listeners(const struct config *cf, struct listener **list)
{
	const struct sock_conf	*sc;
	struct listener		*l, **tail = list;
	char			 err[ERRBUF_LEN];

	for (sc = cf->cf_socks; sc != NULL; sc = sc->sc_next) {
		if ((l = sock_open(sc, err, sizeof(err))) == NULL) {
			log_errorx("socket %s: %s", sc->sc_name, err);
			return -1;
		}
		log_info("socket %s: listening on %s", l->l_name, l->l_listen);
		*tail = l;
		tail = &l->l_next;
	}
	return 0;
}

static void
close_listeners(struct listener *l)
{
	struct listener	*next;

	for (; l != NULL; l = next) {
		next = l->l_next;
		sock_close(l);
	}
}

static int
create_programs(void)
{
	struct prog_conf	*pc;
	struct program		*p, **tail = &programs;

	for (pc = config->cf_progs; pc != NULL; pc = pc->pc_next) {
		if ((p = program_create(pc, listeners)) == NULL) {
			log_errorx("program %s: cannot set up", pc->pc_name);
			return -1;
		}
		*tail = p;
		tail = &p->p_next;
	}
	return 0;
}
