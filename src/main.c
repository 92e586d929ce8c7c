/*
 * SPDX-License-Identifier: ISC
 *
 * clusterd: a supervisor for pre-forked network servers.
 */

#include <sys/prctl.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

int
main(int argc, char *argv[])
{
	struct options		 o;
	struct config		*config;
	struct state		 st;
	struct master_hooks	 mh = { ctl_apply_config, ctl_control_fd };
	const struct state_rec	*r = NULL;
	long long		 fd = -1;
	char			 err[ERRBUF_LEN];

	cmdline_parse(argc, argv, &o);
	if (o.o_upgrade_check)
		return cmdline_upgrade_check(o.o_config);
	config = cmdline_load_config(o.o_config);
	if (o.o_check)
		return cmdline_check(config, o.o_config);
	log_init(config->cf_log_level + o.o_verbosity);
	signal(SIGPIPE, SIG_IGN);
	rlimit_raise_nofile();	/* workers get the original back */
	/*
	 * Orphans of our workers are re-parented to us, as to PID 1 in a
	 * container, and reaped with everything else.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl PR_SET_CHILD_SUBREAPER");
	if (upgrade_init(argv[0]) == -1)
		log_warnx("cannot tell the path clusterd was started from: "
		    "no upgrade will be possible");
	if (ev_default_loop(EVFLAG_AUTO) == NULL)
		fatalx("cannot initialise the event loop");
	notify_init();
	if (o.o_upgrade_from >= 0) {
		if (state_read(o.o_upgrade_from, &st, err, sizeof(err)) == -1)
			fatalx("upgrade: %s", err);
		r = st.st_nrecs > 0 ? &st.st_recs[0] : NULL;
		if (r != NULL && state_num(r, "control", &fd) == 0 && fd >= 0)
			(void)ctl_adopt((int)fd, state_get(r, "controlpath"));
		if (ctl_init(config) == -1 ||
		    master_adopt(config, o.o_verbosity, &mh, &st) == -1)
			fatalx("upgrade: cannot take over; the workers are "
			    "on their own");
		state_free(&st);
		log_notice("clusterd %s took over (pid %ld) with %s",
		    CLUSTERD_VERSION, (long)getpid(), o.o_config);
	} else {
		/* the control socket first: a second clusterd stops here */
		if (ctl_init(config) == -1) {
			config_free(config);
			return 1;
		}
		if (sdlisten_init() == -1 ||
		    master_init(config, o.o_verbosity, &mh) == -1) {
			ctl_close();
			return 1;
		}
		log_notice("clusterd %s started (pid %ld) with %s",
		    CLUSTERD_VERSION, (long)getpid(), o.o_config);
	}
	master_run();
	ctl_close();
	master_cleanup();
	log_notice("clusterd stopped");
	return 0;
}
