/*
 * clusterd: command line, start-up, signals and shutdown.
 */

#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

static ev_signal	 sig_term, sig_int, sig_quit, sig_hup, sig_ttin, sig_ttou;
static ev_child		 child_watcher;

static void	usage(FILE *, int) __attribute__((noreturn));
static struct config *load_or_exit(const char *);
static void	watch_signals(void);
static void	on_child(struct ev_loop *, ev_child *, int);
static void	on_stop_signal(struct ev_loop *, ev_signal *, int);
static void	on_quit(struct ev_loop *, ev_signal *, int);
static void	on_hup(struct ev_loop *, ev_signal *, int);
static void	on_scale(struct ev_loop *, ev_signal *, int);

static const struct option longopts[] = {
	{ "config",	required_argument,	NULL,	'c' },
	{ "check",	no_argument,		NULL,	't' },
	{ "verbose",	no_argument,		NULL,	'v' },
	{ "quiet",	no_argument,		NULL,	'q' },
	{ "version",	no_argument,		NULL,	'V' },
	{ "help",	no_argument,		NULL,	'h' },
	{ NULL,		0,			NULL,	0 }
};

int
main(int argc, char *argv[])
{
	struct config	*config;
	const char	*path = DEFAULT_CONFIG;
	int		 ch, check_only = 0, verbosity = 0;

	while ((ch = getopt_long(argc, argv, "c:tvqVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check_only = 1;
			break;
		case 'v':
			verbosity++;
			break;
		case 'q':
			verbosity--;
			break;
		case 'V':
			printf("clusterd %s\n", CLUSTERD_VERSION);
			return 0;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);

	config = load_or_exit(path);
	if (check_only) {
		printf("%s: ok\n", path);
		config_free(config);
		return 0;
	}
	log_init(config->cf_log_level + verbosity);
	signal(SIGPIPE, SIG_IGN);
	rlimit_raise_nofile();	/* workers get the original back */
	/*
	 * Orphans of our workers are re-parented to us, as to PID 1 in a
	 * container, and reaped with everything else.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl PR_SET_CHILD_SUBREAPER");
	if (ev_default_loop(EVFLAG_AUTO) == NULL)
		fatalx("cannot initialise the event loop");
	notify_init();
	/* the control socket first: a second clusterd stops right here */
	if (ctl_init(config->cf_control) == -1) {
		config_free(config);
		return 1;
	}
	if (sdlisten_init() == -1 || cluster_init(config, verbosity) == -1) {
		ctl_close();
		return 1;
	}
	watch_signals();	/* before any fork: no exit is missed */
	log_notice("clusterd %s started (pid %ld) with %s",
	    CLUSTERD_VERSION, (long)getpid(), path);
	cluster_start();

	ev_run(EV_DEFAULT, 0);

	ctl_close();
	cluster_cleanup();
	log_notice("clusterd stopped");
	return 0;
}

static void
usage(FILE *out, int status)
{
	fprintf(out,
	    "usage: clusterd [-c FILE] [-t] [-v] [-q] [-V] [-h]\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  -t, --check        validate the configuration and exit\n"
	    "  -v, --verbose      one log level more than the file says\n"
	    "  -q, --quiet        one log level less\n"
	    "  -V, --version      print the version and exit\n"
	    "  -h, --help         print this help and exit\n",
	    DEFAULT_CONFIG);
	exit(status);
}

static struct config *
load_or_exit(const char *path)
{
	struct config	*cf;
	char		*errors = NULL;

	if ((cf = config_load(path, &errors)) == NULL) {
		fputs(errors != NULL ? errors : "out of memory\n", stderr);
		if (errors != NULL && errors[strlen(errors) - 1] != '\n')
			fputc('\n', stderr);
		free(errors);
		exit(1);
	}
	return cf;
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
	ev_signal_start(EV_DEFAULT, &sig_ttin);
	ev_signal_start(EV_DEFAULT, &sig_ttou);
	ev_signal_start(EV_DEFAULT, &sig_term);
	ev_signal_start(EV_DEFAULT, &sig_int);
	ev_signal_start(EV_DEFAULT, &sig_quit);
	ev_signal_start(EV_DEFAULT, &sig_hup);
	ev_child_init(&child_watcher, on_child, 0, 0);
	ev_child_start(EV_DEFAULT, &child_watcher);
}

static void
on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	(void)loop;
	(void)revents;
	worker_reap(w->rpid, w->rstatus);
}

/* SIGTERM, SIGINT: graceful; the second one kills at once. */
static void
on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	if (!cluster_shutting_down()) {
		log_notice("%s: stopping gracefully", signal_name(w->signum));
		cluster_shutdown(1);
	} else {
		log_notice("%s during shutdown: killing every worker",
		    signal_name(w->signum));
		cluster_shutdown(0);
	}
}

static void
on_quit(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	(void)w;
	log_notice("SIGQUIT: killing every worker");
	cluster_shutdown(0);
}

static void
on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	(void)w;
	cluster_reload();
}

/* SIGTTIN: one worker more for every program; SIGTTOU: one fewer. */
static void
on_scale(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	log_notice("%s: one worker %s for every program",
	    signal_name(w->signum), w->signum == SIGTTIN ? "more" : "fewer");
	cluster_scale_all(w->signum == SIGTTIN ? 1 : -1);
}
