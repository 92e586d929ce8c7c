/*
 * SPDX-License-Identifier: ISC
 *
 * The control socket's commands: what each request does to the master
 * and its programs, and the JSON lines that answer it.  The transport
 * (ctl.c) hands a parsed request here and writes out what comes back.
 *
 * A command either answers at once, or (reload; restart, scale, start
 * and stop with "wait") leaves a struct ctl_wait that ctl.c polls after
 * each wakeup: with "progress", each life event of the program (slot.c's
 * ring) becomes a {"progress":TEXT} line, and the final {"ok":...} line
 * comes once the operation is done.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlcmd.h"
#include "log.h"

typedef int	(*cmd_fn)(const struct ctl_request *, struct program *,
		    struct strbuf *, struct ctl_wait *);

static int	client_fd;	/* of the request being run */
static unsigned	first_event;	/* the life events since it began */

static int	cmd_status(const struct ctl_request *, struct program *,
		    struct strbuf *, struct ctl_wait *);
static int	cmd_check(const struct ctl_request *, struct program *,
		    struct strbuf *, struct ctl_wait *);
static int	cmd_reload(const struct ctl_request *, struct program *,
		    struct strbuf *, struct ctl_wait *);
static int	cmd_restart(const struct ctl_request *, struct program *,
		    struct strbuf *, struct ctl_wait *);
static int	cmd_scale(const struct ctl_request *, struct program *,
		    struct strbuf *, struct ctl_wait *);
static int	cmd_stop(const struct ctl_request *, struct program *,
		    struct strbuf *, struct ctl_wait *);
static int	cmd_start(const struct ctl_request *, struct program *,
		    struct strbuf *, struct ctl_wait *);
static int	cmd_signal(const struct ctl_request *, struct program *,
		    struct strbuf *, struct ctl_wait *);
static int	cmd_shutdown(const struct ctl_request *, struct program *,
		    struct strbuf *, struct ctl_wait *);
static int	cmd_upgrade(const struct ctl_request *, struct program *,
		    struct strbuf *, struct ctl_wait *);
static int	wait_on(const struct ctl_request *, struct program *,
		    struct ctl_wait *, enum wait_kind);
static int	wait_done(struct ctl_wait *, struct strbuf *);
static void	progress(struct ctl_wait *, struct strbuf *);
static void	reload_done(void *, int, const char *);
static void	status_program(struct strbuf *, const struct program *);
static void	status_slot(struct strbuf *, const struct slot *);
static int	program_all_ready(const struct program *);
static void	reply_ok(struct strbuf *);
static void	reply_error(struct strbuf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static const cmd_fn commands[CTL_NCMDS] = {
	[CTL_STATUS] = cmd_status,
	[CTL_CHECK] = cmd_check,
	[CTL_RELOAD] = cmd_reload,
	[CTL_RESTART] = cmd_restart,
	[CTL_SCALE] = cmd_scale,
	[CTL_STOP] = cmd_stop,
	[CTL_START] = cmd_start,
	[CTL_SIGNAL] = cmd_signal,
	[CTL_SHUTDOWN] = cmd_shutdown,
	[CTL_UPGRADE] = cmd_upgrade,
};

static const char *program_states[] = {
	[PROGRAM_RUNNING] = "running",
	[PROGRAM_ROLLING] = "rolling",
	[PROGRAM_STOPPED] = "stopped",
	[PROGRAM_REMOVED] = "stopped",
};

/*
 * Run a request.  Its answer goes to out (whole lines); 1 if the client
 * is to wait, w then saying for what (ctlcmd_poll), else 0.
 */
int
ctlcmd_run(const struct ctl_request *cr, int fd, struct strbuf *out,
    struct ctl_wait *w)
{
	struct program	*p = NULL;

	memset(w, 0, sizeof(*w));
	client_fd = fd;
	/* what the command itself does (the first start) is progress too */
	first_event = slot_event_next();
	if (cr->cr_def->cd_arg != ARG_NONE &&
	    (p = master_find_program(cr->cr_program)) == NULL) {
		reply_error(out, "no program \"%s\"", cr->cr_program);
		return 0;
	}
	return commands[cr->cr_def->cd_cmd](cr, p, out, w);
}

/*
 * After a wakeup, for a client that waits: its progress lines, and the
 * final line once the operation is done (1; then w is finished with).
 */
int
ctlcmd_poll(struct ctl_wait *w, struct strbuf *out)
{
	if (w->cw_progress)
		progress(w, out);
	if (!wait_done(w, out))
		return 0;
	ctlcmd_cancel(w);
	return 1;
}

/* The client is gone (or done): nothing may point at w any more. */
void
ctlcmd_cancel(struct ctl_wait *w)
{
	if (w->cw_kind == WAIT_RELOAD)
		master_reload_cancel(w);
	if (w->cw_kind == WAIT_UPGRADE)
		master_upgrade_cancel(w);
	if (w->cw_kind == WAIT_ROLL && !w->cw_rr.rr_done &&
	    w->cw_prog != NULL)
		program_forget_result(w->cw_prog, &w->cw_rr);
	free(w->cw_errors);
	w->cw_errors = NULL;
	w->cw_kind = WAIT_NONE;
}

/*
 * {"ok":true,"programs":[{"name":..,"state":..,"summary":..,"slots":..,
 * "ready":..,"previous_config":..,"workers":[{"slot":0,"pid":..,
 * "state":..,"uptime":..,"restarts":..,"replaced":..,"rss":..,"cpu":..,
 * "last_exit":..,"status":..}]}]}
 */
static int
cmd_status(const struct ctl_request *cr, struct program *unused,
    struct strbuf *out, struct ctl_wait *w)
{
	struct program	*p;
	int		 first = 1;

	(void)cr;
	(void)unused;
	(void)w;
	strbuf_printf(out, "{\"ok\":true,\"programs\":[");
	for (p = master_programs(); p != NULL; p = p->p_next) {
		if (p->p_state == PROGRAM_REMOVED)
			continue;
		if (!first)
			strbuf_printf(out, ",");
		first = 0;
		status_program(out, p);
	}
	strbuf_printf(out, "]}\n");
	return 0;
}

static void
status_program(struct strbuf *out, const struct program *p)
{
	char	summary[512];
	int	i;

	program_summary(p, summary, sizeof(summary));
	strbuf_printf(out, "{\"name\":");
	strbuf_quote(out, p->p_name);
	strbuf_printf(out, ",\"state\":\"%s\",\"summary\":",
	    program_states[p->p_state]);
	strbuf_quote(out, summary);
	strbuf_printf(out, ",\"slots\":%d,\"ready\":%d,\"previous_config\":"
	    "%s,\"workers\":[", p->p_nslots, program_ready_count(p),
	    p->p_failed != NULL ? "true" : "false");
	for (i = 0; i < p->p_nslots; i++) {
		if (i > 0)
			strbuf_printf(out, ",");
		status_slot(out, p->p_slots[i]);
	}
	strbuf_printf(out, "]}");
}

/* A slot shows its current worker, else the one on its way, else none. */
static void
status_slot(struct strbuf *out, const struct slot *sl)
{
	const struct worker	*w = slot_shown(sl);
	long long		 rss = 0;
	double			 cpu = 0, uptime = 0;
	char			 last[128];

	exit_describe(&sl->sl_last_exit, 1, last, sizeof(last));
	if (!sl->sl_last_exit.en_valid)
		last[0] = '\0';
	if (w != NULL) {
		rss = cgroup_memory(w->w_cgroup, w->w_pid);
		cpu = cgroup_cpu(w->w_cgroup, w->w_pid);
		uptime = clock_now() - w->w_started;
	}
	strbuf_printf(out, "{\"slot\":%d,\"pid\":%ld,\"state\":\"%s\","
	    "\"uptime\":%.1f,\"restarts\":%u,\"replaced\":%u,\"rss\":%lld,"
	    "\"cpu\":%.2f,\"last_exit\":", sl->sl_index,
	    w != NULL ? (long)w->w_pid : 0L, slot_state_name(sl), uptime,
	    sl->sl_crashes, sl->sl_replaced, rss < 0 ? 0 : rss,
	    cpu < 0 ? 0 : cpu);
	strbuf_quote(out, last);
	strbuf_printf(out, ",\"status\":");
	strbuf_quote(out, w != NULL ? w->w_text : "");
	strbuf_printf(out, "}");
}

/*
 * {"ok":true,"ready":true} when every program has all its workers
 * ready; otherwise "ready":false and "reason": each program that is not,
 * with its summary.
 */
static int
cmd_check(const struct ctl_request *cr, struct program *unused,
    struct strbuf *out, struct ctl_wait *w)
{
	struct program	*p;
	struct strbuf	 why = { NULL, 0, 0, 0 };
	char		 summary[512];

	(void)cr;
	(void)unused;
	(void)w;
	for (p = master_programs(); p != NULL; p = p->p_next) {
		if (p->p_state == PROGRAM_REMOVED || program_all_ready(p))
			continue;
		program_summary(p, summary, sizeof(summary));
		strbuf_printf(&why, "%s%s", why.sb_len > 0 ? "; " : "",
		    summary);
	}
	if (master_shutting_down())
		strbuf_printf(&why, "%sclusterd is shutting down",
		    why.sb_len > 0 ? "; " : "");
	if (why.sb_len == 0)
		strbuf_printf(out, "{\"ok\":true,\"ready\":true}\n");
	else {
		strbuf_printf(out, "{\"ok\":true,\"ready\":false,\"reason\":");
		strbuf_quote(out, why.sb_data);
		strbuf_printf(out, "}\n");
	}
	strbuf_free(&why);
	return 0;
}

/* Every slot's current worker ready, none replaced, nothing stopping. */
static int
program_all_ready(const struct program *p)
{
	return p->p_state == PROGRAM_RUNNING && p->p_draining == NULL &&
	    program_ready_count(p) == p->p_nslots;
}

/* As SIGHUP; the reply waits for the outcome. */
static int
cmd_reload(const struct ctl_request *cr, struct program *p,
    struct strbuf *out, struct ctl_wait *w)
{
	if (master_shutting_down()) {
		reply_error(out, "clusterd is shutting down");
		return 0;
	}
	(void)wait_on(cr, p, w, WAIT_RELOAD);
	master_reload_wait(reload_done, w);
	master_reload();
	return 1;
}

static void
reload_done(void *arg, int ok, const char *errors)
{
	struct ctl_wait	*w = arg;

	w->cw_done = 1;
	w->cw_ok = ok;
	if (!ok && errors != NULL)
		w->cw_errors = strdup(errors);
}

static int
cmd_restart(const struct ctl_request *cr, struct program *p,
    struct strbuf *out, struct ctl_wait *w)
{
	if (master_shutting_down()) {
		reply_error(out, "clusterd is shutting down");
		return 0;
	}
	if (program_roll(p, cr->cr_wait ? &w->cw_rr : NULL) == -1) {
		reply_error(out, "%s is already restarting", p->p_name);
		return 0;
	}
	if (wait_on(cr, p, w, WAIT_ROLL))
		return 1;
	reply_ok(out);
	return 0;
}

static int
cmd_scale(const struct ctl_request *cr, struct program *p,
    struct strbuf *out, struct ctl_wait *w)
{
	if (master_shutting_down()) {
		reply_error(out, "clusterd is shutting down");
		return 0;
	}
	if (program_scale(p, cr->cr_workers) == -1) {
		reply_error(out, "cannot scale %s to %d workers", p->p_name,
		    cr->cr_workers);
		return 0;
	}
	w->cw_target = cr->cr_workers;
	if (wait_on(cr, p, w, WAIT_SCALE))
		return 1;
	reply_ok(out);
	return 0;
}

static int
cmd_stop(const struct ctl_request *cr, struct program *p,
    struct strbuf *out, struct ctl_wait *w)
{
	program_stop(p);
	if (wait_on(cr, p, w, WAIT_STOP))
		return 1;
	reply_ok(out);
	return 0;
}

static int
cmd_start(const struct ctl_request *cr, struct program *p,
    struct strbuf *out, struct ctl_wait *w)
{
	if (master_shutting_down()) {
		reply_error(out, "clusterd is shutting down");
		return 0;
	}
	program_start(p);
	if (wait_on(cr, p, w, WAIT_START))
		return 1;
	reply_ok(out);
	return 0;
}

static int
cmd_signal(const struct ctl_request *cr, struct program *p,
    struct strbuf *out, struct ctl_wait *w)
{
	(void)w;
	program_signal(p, cr->cr_signal);
	reply_ok(out);
	return 0;
}

/* As SIGTERM.  The tiny reply is out before the workers are stopped. */
static int
cmd_shutdown(const struct ctl_request *cr, struct program *p,
    struct strbuf *out, struct ctl_wait *w)
{
	(void)cr;
	(void)p;
	(void)w;
	reply_ok(out);
	if (!master_shutting_down()) {
		log_notice("control socket: stopping gracefully");
		master_shutdown(1);
	}
	return 0;
}

/*
 * As SIGUSR2; the answer waits for the outcome.  If the upgrade works,
 * this image is gone by then: the new one answers on the client's
 * socket, which the upgrade carries across.
 */
static int
cmd_upgrade(const struct ctl_request *cr, struct program *p,
    struct strbuf *out, struct ctl_wait *w)
{
	if (master_shutting_down()) {
		reply_error(out, "clusterd is shutting down");
		return 0;
	}
	(void)wait_on(cr, p, w, WAIT_UPGRADE);
	master_upgrade_wait(reload_done, w, client_fd);
	master_upgrade();
	return 1;
}

/*
 * Set w up to wait for kind, if the request asked to wait (a reload and
 * an upgrade always wait).  1 if the client waits.
 */
static int
wait_on(const struct ctl_request *cr, struct program *p, struct ctl_wait *w,
    enum wait_kind kind)
{
	if (!cr->cr_wait && kind != WAIT_RELOAD && kind != WAIT_UPGRADE)
		return 0;
	w->cw_kind = kind;
	w->cw_progress = cr->cr_progress;
	w->cw_prog = p;
	if (p != NULL)
		snprintf(w->cw_name, sizeof(w->cw_name), "%s", p->p_name);
	w->cw_seq = w->cw_first = first_event;
	return 1;
}

/* The life events since the last look, of w's program (or all). */
static void
progress(struct ctl_wait *w, struct strbuf *out)
{
	const char	*text, *prog;
	unsigned	 want = w->cw_seq;

	while ((text = slot_event(&w->cw_seq, &prog)) != NULL) {
		if (w->cw_seq - 1 != want) {
			strbuf_printf(out, "{\"progress\":\"(%u progress "
			    "lines were lost)\"}\n", w->cw_seq - 1 - want);
		}
		want = w->cw_seq;
		if (w->cw_name[0] != '\0' && strcmp(prog, w->cw_name) != 0)
			continue;
		strbuf_printf(out, "{\"progress\":");
		strbuf_quote(out, text);
		strbuf_printf(out, "}\n");
	}
}

/* Is the operation w waits for over?  Then its final line goes out. */
static int
wait_done(struct ctl_wait *w, struct strbuf *out)
{
	struct program	*p = NULL;
	size_t		 len;

	if (w->cw_kind != WAIT_RELOAD && w->cw_kind != WAIT_ROLL &&
	    w->cw_kind != WAIT_UPGRADE &&
	    (p = master_find_program(w->cw_name)) != w->cw_prog) {
		reply_error(out, "%s was removed", w->cw_name);
		return 1;
	}
	switch (w->cw_kind) {
	case WAIT_RELOAD:
	case WAIT_UPGRADE:
		if (!w->cw_done)
			return 0;
		if (w->cw_ok) {
			reply_ok(out);
			return 1;
		}
		len = w->cw_errors != NULL ? strlen(w->cw_errors) : 0;
		while (len > 0 && w->cw_errors[len - 1] == '\n')
			w->cw_errors[--len] = '\0';
		reply_error(out, "%s", w->cw_errors != NULL ? w->cw_errors :
		    w->cw_kind == WAIT_UPGRADE ? "upgrade failed" :
		    "reload failed");
		return 1;
	case WAIT_ROLL:
		if (!w->cw_rr.rr_done)
			return 0;
		if (w->cw_rr.rr_ok)
			reply_ok(out);
		else
			reply_error(out, "%s", w->cw_rr.rr_why);
		return 1;
	case WAIT_SCALE:
		if (p->p_nslots != w->cw_target || !program_all_ready(p))
			return 0;
		break;
	case WAIT_START:
		if (p->p_state == PROGRAM_STOPPED) {
			reply_error(out, "%s was stopped", p->p_name);
			return 1;
		}
		if (!program_all_ready(p))
			return 0;
		break;
	case WAIT_STOP:
		if (program_has_workers(p))
			return 0;
		break;
	default:
		break;
	}
	reply_ok(out);
	return 1;
}

static void
reply_ok(struct strbuf *out)
{
	strbuf_printf(out, "{\"ok\":true}\n");
}

static void
reply_error(struct strbuf *out, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	strbuf_printf(out, "{\"ok\":false,\"error\":");
	strbuf_quote(out, msg != NULL ? msg : "out of memory");
	strbuf_printf(out, "}\n");
	free(msg);
}
