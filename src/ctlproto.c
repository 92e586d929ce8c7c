/*
 * SPDX-License-Identifier: ISC
 *
 * The control protocol's commands and request lines, for both ends:
 * one JSON object per line, {"cmd":NAME, ...}, documented in
 * clusterctl(1).  ctlproto_build() is clusterctl's side, ctlproto_parse()
 * clusterd's; both check the arguments the same way.
 */

#include <stdio.h>
#include <string.h>

#include "ctlproto.h"

const struct ctl_cmd_def ctl_cmds[CTL_NCMDS] = {
	{ "status",	CTL_STATUS,	ARG_NONE,	1 },
	{ "check",	CTL_CHECK,	ARG_NONE,	1 },
	{ "reload",	CTL_RELOAD,	ARG_NONE,	0 },
	{ "restart",	CTL_RESTART,	ARG_PROGRAM,	0 },
	{ "scale",	CTL_SCALE,	ARG_WORKERS,	0 },
	{ "stop",	CTL_STOP,	ARG_PROGRAM,	0 },
	{ "start",	CTL_START,	ARG_PROGRAM,	0 },
	{ "signal",	CTL_SIGNAL,	ARG_SIGNAL,	0 },
	{ "shutdown",	CTL_SHUTDOWN,	ARG_NONE,	0 },
	{ "upgrade",	CTL_UPGRADE,	ARG_NONE,	0 },
};

static int	flag(const struct json_val *, const char *, int *, char *,
		    size_t);
static int	finish(char *, size_t, int);

const struct ctl_cmd_def *
ctlproto_find(const char *name)
{
	size_t	i;

	for (i = 0; i < CTL_NCMDS; i++)
		if (strcmp(ctl_cmds[i].cd_name, name) == 0)
			return &ctl_cmds[i];
	return NULL;
}

/* An optional boolean member: absent is false. */
static int
flag(const struct json_val *req, const char *name, int *on, char *err,
    size_t errlen)
{
	struct json_val	v;

	*on = 0;
	if (json_get(req, name, &v) == -1)
		return 0;
	if (json_bool(&v, on) == -1) {
		snprintf(err, errlen, "malformed request: \"%s\" must be "
		    "true or false", name);
		return -1;
	}
	return 0;
}

/*
 * Read one request line (without its newline) into cr; -1 and a message
 * for the client in err if it is not a valid request.
 */
int
ctlproto_parse(const char *line, size_t len, struct ctl_request *cr,
    char *err, size_t errlen)
{
	struct json_val	 req, v;
	char		 cmd[32], sig[32], why[256];
	long long	 n;

	memset(cr, 0, sizeof(*cr));
	if (json_parse(line, len, &req, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "malformed request: %s", why);
		return -1;
	}
	if (req.jv_kind != JV_OBJECT || json_get(&req, "cmd", &v) == -1 ||
	    json_string(&v, cmd, sizeof(cmd)) == -1) {
		snprintf(err, errlen, "malformed request: expected an object "
		    "with a \"cmd\" string");
		return -1;
	}
	if ((cr->cr_def = ctlproto_find(cmd)) == NULL) {
		snprintf(err, errlen, "unknown command \"%s\"", cmd);
		return -1;
	}
	if (flag(&req, "wait", &cr->cr_wait, err, errlen) == -1 ||
	    flag(&req, "progress", &cr->cr_progress, err, errlen) == -1)
		return -1;
	if (cr->cr_def->cd_arg == ARG_NONE)
		return 0;
	if (json_get(&req, "program", &v) == -1 ||
	    json_string(&v, cr->cr_program, sizeof(cr->cr_program)) == -1) {
		snprintf(err, errlen, "malformed request: \"%s\" needs a "
		    "\"program\" string", cmd);
		return -1;
	}
	switch (cr->cr_def->cd_arg) {
	case ARG_WORKERS:
		if (json_get(&req, "workers", &v) == -1 ||
		    json_int(&v, 1, CTL_WORKERS_MAX, &n) == -1) {
			snprintf(err, errlen, "malformed request: \"scale\" "
			    "needs \"workers\": a number from 1 to %d",
			    CTL_WORKERS_MAX);
			return -1;
		}
		cr->cr_workers = (int)n;
		break;
	case ARG_SIGNAL:
		if (json_get(&req, "signal", &v) == -1 ||
		    json_string(&v, sig, sizeof(sig)) == -1) {
			snprintf(err, errlen, "malformed request: \"signal\" "
			    "needs a \"signal\" string");
			return -1;
		}
		if (parse_signal(sig, &cr->cr_signal, err, errlen) == -1)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

/*
 * The request line for cd, with its newline: program and arg (the number
 * of workers, or a signal name) as the command needs them.  -1 and a
 * message in err if an argument is not valid.
 */
int
ctlproto_build(const struct ctl_cmd_def *cd, const char *program,
    const char *arg, int flags, char *req, size_t len, char *err,
    size_t errlen)
{
	char		prog[4 * NAME_MAXLEN], name[64], why[ERRBUF_LEN];
	long long	n = 0;
	int		sig = 0;

	if (cd->cd_arg == ARG_NONE) {
		snprintf(req, len, "{\"cmd\":\"%s\"", cd->cd_name);
		return finish(req, len, flags);
	}
	if (program == NULL || !valid_name(program)) {
		snprintf(err, errlen, "invalid program name \"%s\"",
		    program != NULL ? program : "");
		return -1;
	}
	if (cd->cd_arg == ARG_WORKERS && parse_number(arg, 1,
	    CTL_WORKERS_MAX, &n, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: N: %s", cd->cd_name, why);
		return -1;
	}
	if (cd->cd_arg == ARG_SIGNAL && parse_signal(arg, &sig, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", cd->cd_name, why);
		return -1;
	}
	json_quote(program, prog, sizeof(prog));
	if (cd->cd_arg == ARG_WORKERS)
		snprintf(req, len, "{\"cmd\":\"%s\",\"program\":%s,"
		    "\"workers\":%lld", cd->cd_name, prog, n);
	else if (cd->cd_arg == ARG_SIGNAL) {
		json_quote(signal_name(sig), name, sizeof(name));
		snprintf(req, len, "{\"cmd\":\"%s\",\"program\":%s,"
		    "\"signal\":%s", cd->cd_name, prog, name);
	} else
		snprintf(req, len, "{\"cmd\":\"%s\",\"program\":%s",
		    cd->cd_name, prog);
	return finish(req, len, flags);
}

/* The flags as members, and the end of the object and line. */
static int
finish(char *req, size_t len, int flags)
{
	size_t	n = strlen(req);

	snprintf(req + n, len - n, "%s%s}\n",
	    flags & CTL_WAIT ? ",\"wait\":true" : "",
	    flags & CTL_PROGRESS ? ",\"progress\":true" : "");
	return 0;
}
