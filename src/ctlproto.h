/*
 * SPDX-License-Identifier: ISC
 *
 * The control protocol, shared by clusterd (ctl.c) and clusterctl: its
 * commands, its limits, and the request line each side writes or reads.
 * Pure: no I/O, no logging.
 */

#ifndef CTLPROTO_H
#define CTLPROTO_H

#include <stddef.h>

#include "daemon.h"

#define CTL_REQ_MAX	4096	/* a request line, its newline included */
#define CTL_WORKERS_MAX	4096	/* scale */

enum ctl_cmd {
	CTL_STATUS,
	CTL_CHECK,
	CTL_RELOAD,
	CTL_RESTART,
	CTL_SCALE,
	CTL_STOP,
	CTL_START,
	CTL_SIGNAL,
	CTL_SHUTDOWN,
	CTL_UPGRADE,
	CTL_NCMDS
};

/* What a command's request carries besides "cmd". */
enum ctl_arg {
	ARG_NONE,
	ARG_PROGRAM,		/* "program" */
	ARG_WORKERS,		/* "program" and "workers": 1..CTL_WORKERS_MAX */
	ARG_SIGNAL		/* "program" and "signal": a signal name */
};

struct ctl_cmd_def {
	const char	*cd_name;
	enum ctl_cmd	 cd_cmd;
	enum ctl_arg	 cd_arg;
	int		 cd_quiet;	/* logged at debug level only */
};

/* A request as clusterd reads it. */
struct ctl_request {
	const struct ctl_cmd_def *cr_def;
	char		 cr_program[NAME_MAXLEN];
	int		 cr_workers;
	int		 cr_signal;
	int		 cr_wait;	/* answer once it is done */
	int		 cr_progress;	/* and say how it goes */
};

extern const struct ctl_cmd_def	ctl_cmds[CTL_NCMDS];

const struct ctl_cmd_def *ctlproto_find(const char *);
int		 ctlproto_parse(const char *, size_t, struct ctl_request *,
		    char *, size_t);
int		 ctlproto_build(const struct ctl_cmd_def *, const char *,
		    const char *, int, char *, size_t, char *, size_t);

/* ctlproto_build's flags */
#define CTL_WAIT	0x01
#define CTL_PROGRESS	0x02

#endif /* CTLPROTO_H */
