/*
 * SPDX-License-Identifier: ISC
 *
 * ctlcmd.c: the control socket's commands (the transport is ctl.c).
 */

#ifndef CTLCMD_H
#define CTLCMD_H

#include "ctlproto.h"
#include "daemon.h"

enum wait_kind {
	WAIT_NONE,
	WAIT_RELOAD,		/* the reload's outcome */
	WAIT_ROLL,		/* the rolling restart's end */
	WAIT_SCALE,		/* the target, every worker ready */
	WAIT_START,		/* every worker ready */
	WAIT_STOP,		/* no worker left */
	WAIT_UPGRADE		/* the upgrade's outcome */
};

/* An operation a client waits for, polled after each wakeup. */
struct ctl_wait {
	enum wait_kind		 cw_kind;
	int			 cw_progress;	/* stream progress lines */
	struct program		*cw_prog;	/* as it was asked for */
	char			 cw_name[NAME_MAXLEN];
	int			 cw_target;	/* scale: workers */
	struct roll_result	 cw_rr;		/* restart */
	int			 cw_done;	/* reload: over, and how */
	int			 cw_ok;
	char			*cw_errors;
	unsigned		 cw_first;	/* life events: the first and */
	unsigned		 cw_seq;	/* the next to report */
};

int		 ctlcmd_run(const struct ctl_request *, int, struct strbuf *,
		    struct ctl_wait *);
int		 ctlcmd_poll(struct ctl_wait *, struct strbuf *);
void		 ctlcmd_cancel(struct ctl_wait *);

#endif /* CTLCMD_H */
