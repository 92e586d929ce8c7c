/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_ctl - the control socket's request line (ctlproto_parse), as a
 * client may send anything.
 *
 * Beyond "no crash": a request that parses is built again by
 * clusterctl's side (ctlproto_build) from what was read, and that line
 * parses to the same request; a request that does not parse has a
 * message for the client.
 */

#include <stdio.h>
#include <string.h>

#include "ctlproto.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request	 a, b;
	char			 err[ERRBUF_LEN], line[CTL_REQ_MAX + 64];
	char			 arg[32];
	int			 flags;

	err[0] = '\0';
	if (ctlproto_parse((const char *)data, size, &a, err,
	    sizeof(err)) == -1) {
		FZ_ASSERT(err[0] != '\0', "refused without a message");
		return 0;
	}
	if (a.cr_def->cd_arg == ARG_WORKERS)
		snprintf(arg, sizeof(arg), "%d", a.cr_workers);
	else
		snprintf(arg, sizeof(arg), "%s", signal_name(a.cr_signal));
	flags = (a.cr_wait ? CTL_WAIT : 0) | (a.cr_progress ? CTL_PROGRESS :
	    0);
	if (ctlproto_build(a.cr_def, a.cr_def->cd_arg != ARG_NONE ?
	    a.cr_program : NULL, arg, flags, line, sizeof(line), err,
	    sizeof(err)) == -1) {
		/* only a program name clusterctl would not send: say so */
		FZ_ASSERT(!valid_name(a.cr_program), "build refused %s: %s",
		    a.cr_program, err);
		return 0;
	}
	FZ_ASSERT(ctlproto_parse(line, strlen(line) - 1, &b, err,
	    sizeof(err)) == 0, "its own line does not parse: %s: %s", err,
	    line);
	FZ_ASSERT(a.cr_def == b.cr_def && strcmp(a.cr_program,
	    b.cr_program) == 0 && a.cr_workers == b.cr_workers &&
	    a.cr_signal == b.cr_signal && a.cr_wait == b.cr_wait &&
	    a.cr_progress == b.cr_progress, "not the same request: %s", line);
	return 0;
}
