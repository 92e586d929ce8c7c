/*
 * SPDX-License-Identifier: ISC
 *
 * clusterd's own limit on open files.  Thousands of workers mean
 * thousands of descriptors in the master (an IPC channel and an
 * exec-status pipe each, reuseport sockets), far past the usual soft limit
 * of 1024, so at start-up clusterd raises its soft limit to its hard
 * limit.  Workers must not inherit that: a program that uses select(2)
 * breaks past 1024.  They get back the limit clusterd was started with,
 * soft and hard as they were, unless limit_nofile says otherwise.
 */

#include <sys/resource.h>

#include <string.h>

#include "daemon.h"
#include "log.h"

static struct rlimit	nofile_start;
static int		nofile_saved;

/* Raise the soft RLIMIT_NOFILE to the hard one; remember the original. */
void
rlimit_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	nofile_start = rl;
	nofile_saved = 1;
	if (rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("setrlimit RLIMIT_NOFILE %llu",
		    (unsigned long long)rl.rlim_max);
		return;
	}
	log_info("open files limit raised from %llu to %llu; workers keep "
	    "%llu unless limit_nofile is set",
	    (unsigned long long)nofile_start.rlim_cur,
	    (unsigned long long)rl.rlim_cur,
	    (unsigned long long)nofile_start.rlim_cur);
}

/*
 * The limit clusterd was started with, for a worker to get back; NULL
 * before rlimit_raise_nofile() (nothing was changed).
 */
const struct rlimit *
rlimit_nofile_start(void)
{
	return nofile_saved ? &nofile_start : NULL;
}
