/*
 * The running cluster: its configuration, open listeners and programs,
 * and the shutdown sequence.  main.c turns signals into calls here.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clusterd.h"
#include "log.h"

enum phase {
	PHASE_RUNNING,
	PHASE_STOPPING,		/* graceful: waiting for workers to exit */
	PHASE_KILLING		/* SIGKILL sent: waiting only for reaping */
};

static struct config	*config;
static struct listener	*listeners;
static struct program	*programs;
static enum phase	 phase = PHASE_RUNNING;

static int	open_listeners(void);
static int	create_programs(void);
static int	pidfile_write(void);
static void	pidfile_remove(void);

/*
 * Take over a loaded configuration: bind every socket, set up every
 * program, write the pidfile.  Any failure is a start-up error: -1, with
 * everything undone.  Nothing is forked yet.
 */
int
cluster_init(struct config *cf)
{
	config = cf;
	if (open_listeners() == -1 || create_programs() == -1 ||
	    pidfile_write() == -1) {
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
}

int
cluster_shutting_down(void)
{
	return phase != PHASE_RUNNING;
}

/*
 * Stop restarting, ask every worker to stop (graceful) or kill them all;
 * the loop ends when the last worker is gone.
 */
void
cluster_shutdown(int graceful)
{
	struct program	*p;

	phase = graceful ? PHASE_STOPPING : PHASE_KILLING;
	for (p = programs; p != NULL; p = p->p_next)
		program_stop(p);
	worker_foreach(graceful ? worker_stop : worker_kill);
	cluster_worker_freed();
}

/* Shutdown ends when the last worker is gone. */
void
cluster_worker_freed(void)
{
	if (phase != PHASE_RUNNING && worker_count() == 0)
		ev_break(EV_DEFAULT, EVBREAK_ALL);
}

/* Close sockets (unix socket files go too), remove the pidfile, free. */
void
cluster_cleanup(void)
{
	struct program	*p;
	struct listener	*l;

	while ((p = programs) != NULL) {
		programs = p->p_next;
		program_free(p);
	}
	while ((l = listeners) != NULL) {
		listeners = l->l_next;
		sock_close(l);
	}
	pidfile_remove();
	config_free(config);
	config = NULL;
}

/* Every socket is bound before any worker starts. */
static int
open_listeners(void)
{
	const struct sock_conf	*sc;
	struct listener		*l, **tail = &listeners;
	char			 err[ERRBUF_LEN];

	for (sc = config->cf_socks; sc != NULL; sc = sc->sc_next) {
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

/* Written whole under a temporary name, then renamed into place. */
static int
pidfile_write(void)
{
	char	tmp[4096];
	int	fd, ok;

	if (config->cf_pidfile == NULL)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", config->cf_pidfile);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_error("pidfile: open %s", tmp);
		goto fail;
	}
	ok = dprintf(fd, "%ld\n", (long)getpid()) > 0;
	if (close(fd) == -1 || !ok) {
		log_error("pidfile: write %s", tmp);
		unlink(tmp);
		goto fail;
	}
	if (rename(tmp, config->cf_pidfile) == -1) {
		log_error("pidfile: rename %s to %s", tmp, config->cf_pidfile);
		unlink(tmp);
		goto fail;
	}
	return 0;
 fail:
	free(config->cf_pidfile);	/* not ours to remove */
	config->cf_pidfile = NULL;
	return -1;
}

static void
pidfile_remove(void)
{
	if (config != NULL && config->cf_pidfile != NULL &&
	    unlink(config->cf_pidfile) == -1 && errno != ENOENT)
		log_warn("unlink %s", config->cf_pidfile);
}
