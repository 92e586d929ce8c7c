/*
 * clusterd: a supervisor for pre-forked network servers.
 */

#include <sys/prctl.h>

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

int
main(int argc, char *argv[])
{
	struct options	 o;
	struct config	*config;

	cmdline_parse(argc, argv, &o);
	config = cmdline_load_config(o.o_config);
	if (o.o_check)
		return cmdline_check(config, o.o_config);
	log_init(config->cf_log_level + o.o_verbosity);
	signal(SIGPIPE, SIG_IGN);
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
	if (ctl_init(config) == -1) {
		config_free(config);
		return 1;
	}
	if (sdlisten_init() == -1 ||
	    master_init(config, o.o_verbosity, ctl_apply_config) == -1) {
		ctl_close();
		return 1;
	}
	log_notice("clusterd %s started (pid %ld) with %s",
	    CLUSTERD_VERSION, (long)getpid(), o.o_config);
	master_run();
	ctl_close();
	master_cleanup();
	log_notice("clusterd stopped");
	return 0;
}
