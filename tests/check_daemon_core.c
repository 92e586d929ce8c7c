/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests of the supervision core's lifecycle defects (issue 8,
 * item 4), each seen from outside with the real daemon: SIGQUIT kills
 * without a stop signal first; a failed rolling restart leaves the last
 * good generation in charge; a worker that exits by itself leaves no
 * process group behind, and nothing of clusterd's tree outlives it; a
 * rolling restart always ends; no worker is ever untracked; rapid
 * suicides back off; a reload is done when its own rolls are; scaling
 * during a roll is honoured.
 *
 * Workers are tests/workers/reporter (its GEN= environment value tells
 * the generations apart), tests/workers/ipcworker, or /bin/sh commands
 * whose children write their pids into the reports directory.  The
 * daemon is driven by signals and by the real clusterctl
 * ($CLUSTERCTL_BIN); its state is read back with `clusterctl --json
 * status`, its log, an sd_notify socket of the test's own, and /proc.
 * Every wait has a deadline.
 */

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "harness.h"
#include "runner.h"

#define WAIT		15000	/* ms: deadline of a wait */
#define TEST_TIMEOUT	60	/* s: Check's per-test timeout */
#define MAXW		16	/* slots read back from status */
#define MAXPIDS		8192	/* live processes counted */
#define MAXKIDS		64

#define CTL_HEAD	"[clusterd]\ncontrol = ctl.sock\n\n"

/* One program as `clusterctl --json status` shows it. */
struct wstat {
	long long	pid;
	char		state[16];
};

struct pstat {
	char		state[16];
	int		n;
	struct wstat	w[MAXW];
};

/* A clusterctl run in the background. */
struct bg {
	pid_t	pid;
	int	status;
	int	done;
};

/*
 * clusterctl.
 */

static char	ctl_err[1024];	/* the stderr of the last run */

/* argv for clusterctl -s ctl.sock and the NULL-ended args in ap. */
static void
ctl_argv(const char **argv, int max, const char *a1, va_list ap)
{
	int	n = 0;

	argv[n++] = h_ctl_bin();
	argv[n++] = "-s";
	argv[n++] = h_path("ctl.sock");
	argv[n++] = a1;
	while (n < max - 1 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	argv[n] = NULL;
}

/*
 * Run clusterctl with these arguments (NULL-ended) to completion: its
 * exit status; its stdout in *out (malloc'd) unless out is NULL.
 */
static int
ctl(char **out, const char *a1, ...)
{
	const char	*argv[16];
	char		*o = NULL, *e = NULL;
	va_list		 ap;
	int		 st;

	va_start(ap, a1);
	ctl_argv(argv, 16, a1, ap);
	va_end(ap);
	H_ASSERT(h_run(argv, NULL, WAIT, &st, &o, &e), "clusterctl %s did "
	    "not return within %d ms", a1, WAIT);
	H_ASSERT(WIFEXITED(st), "clusterctl %s: wait status 0x%x", a1, st);
	if (out != NULL)
		*out = o != NULL ? o : strdup("");
	else
		free(o);
	snprintf(ctl_err, sizeof(ctl_err), "%s", e != NULL ? e : "");
	free(e);
	return WEXITSTATUS(st);
}

/* clusterctl ARGS... must exit 0. */
static void
ctl_ok(const char *a1, const char *a2, const char *a3)
{
	int	rc = ctl(NULL, a1, a2, a3, (const char *)NULL);

	H_ASSERT(rc == 0, "clusterctl %s %s %s: exit %d: %s", a1,
	    a2 ? a2 : "", a2 && a3 ? a3 : "", rc, ctl_err);
}

/*
 * Start clusterctl in the background (it dies with the test process);
 * its output goes to <dir>/bg.out.
 */
static void
bg_ctl(struct bg *b, const char *a1, ...)
{
	const char	*argv[16];
	va_list		 ap;
	int		 fd;

	va_start(ap, a1);
	ctl_argv(argv, 16, a1, ap);
	va_end(ap);
	memset(b, 0, sizeof(*b));
	fflush(NULL);
	H_ASSERT((b->pid = fork()) != -1, "fork: %s", strerror(errno));
	if (b->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open(h_path("bg.out"), O_WRONLY | O_CREAT |
		    O_APPEND, 0644)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
}

/* Has it exited (status in b->status)? */
static int
bg_done(struct bg *b)
{
	if (!b->done && waitpid(b->pid, &b->status, WNOHANG) == b->pid)
		b->done = 1;
	return b->done;
}

static void
bg_end(struct bg *b)
{
	if (b->pid > 0 && !bg_done(b)) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, &b->status, 0);
		b->done = 1;
	}
}

/*
 * `clusterctl --json status`, one program: 0 and *ps filled, -1 if there
 * is no such program, -2 if nothing answers.
 */
static int
status_read(const char *prog, struct pstat *ps)
{
	struct json_val	 top, progs, p, workers, w, v;
	char		*out, name[NAME_MAXLEN], err[128];
	int		 rc, found = -1;

	memset(ps, 0, sizeof(*ps));
	if ((rc = ctl(&out, "--json", "status", (const char *)NULL)) != 0) {
		free(out);
		return -2;
	}
	H_ASSERT(json_parse(out, strlen(out), &top, err, sizeof(err)) == 0 &&
	    json_get(&top, "programs", &progs) == 0, "--json status: %s: %s",
	    err, out);
	p.jv_text = NULL;
	while (found == -1 && json_next(&progs, &p)) {
		H_ASSERT(json_get(&p, "name", &v) == 0 &&
		    json_string(&v, name, sizeof(name)) == 0, "%s", out);
		if (strcmp(name, prog) != 0)
			continue;
		found = 0;
		H_ASSERT(json_get(&p, "state", &v) == 0 &&
		    json_string(&v, ps->state, sizeof(ps->state)) == 0 &&
		    json_get(&p, "workers", &workers) == 0, "%s", out);
		w.jv_text = NULL;
		while (ps->n < MAXW && json_next(&workers, &w)) {
			struct wstat *ws = &ps->w[ps->n++];

			H_ASSERT(json_get(&w, "pid", &v) == 0 &&
			    json_int(&v, 0, 1LL << 40, &ws->pid) == 0 &&
			    json_get(&w, "state", &v) == 0 &&
			    json_string(&v, ws->state,
			    sizeof(ws->state)) == 0, "a malformed worker: %s",
			    out);
		}
	}
	free(out);
	return found;
}

/* The worker status shows for slot i of prog, which must exist. */
static pid_t
slot_pid(const char *prog, int i)
{
	struct pstat	ps;

	H_ASSERT(status_read(prog, &ps) == 0 && ps.n > i && ps.w[i].pid > 0,
	    "%s has no worker in slot %d", prog, i);
	return (pid_t)ps.w[i].pid;
}

/* Wait until prog runs (no roll) with exactly n slots, every one ready. */
static void
wait_ready(const char *prog, int n, struct pstat *out)
{
	struct pstat	ps;
	long long	end = h_now_ms() + WAIT;
	int		i, ok;

	for (;;) {
		H_ASSERT(h_daemon_alive(), "the daemon exited");
		ok = status_read(prog, &ps) == 0 &&
		    strcmp(ps.state, "running") == 0 && ps.n == n;
		for (i = 0; ok && i < ps.n; i++)
			ok = ps.w[i].pid > 0 &&
			    strcmp(ps.w[i].state, "ready") == 0;
		if (ok)
			break;
		H_ASSERT(h_now_ms() < end, "%s: %d ready slot(s) expected; "
		    "state \"%s\", %d slot(s), slot 0 %s", prog, n, ps.state,
		    ps.n, ps.n > 0 ? ps.w[0].state : "-");
		h_sleep_ms(50);
	}
	if (out != NULL)
		*out = ps;
}

/*
 * The log, reports, processes.
 */

/* Offset of the first needle in the log, -1 if absent. */
static long
log_offset(const char *needle)
{
	char	*buf = h_read_file(h_log()), *p;
	long	 off = -1;

	if (buf != NULL && (p = strstr(buf, needle)) != NULL)
		off = (long)(p - buf);
	free(buf);
	return off;
}

/* Reports with this prefix whose env.GEN is gen. */
static int
count_gen(const char *prefix, const char *gen)
{
	struct h_report	**v;
	size_t		  n, i;
	int		  c = 0;
	const char	 *g;

	n = h_report_list(prefix, &v);
	for (i = 0; i < n; i++)
		if ((g = h_report_get(v[i], "env.GEN")) != NULL &&
		    strcmp(g, gen) == 0)
			c++;
	h_report_list_free(v, n);
	return c;
}

/* The GEN of the worker with this pid, from its report ("" if none). */
static void
gen_of(pid_t pid, char *buf, size_t len)
{
	struct h_report	**v;
	size_t		  n, i;
	const char	 *g;

	snprintf(buf, len, "%s", "");
	n = h_report_list("", &v);
	for (i = 0; i < n; i++)
		if (v[i]->r_pid == pid &&
		    (g = h_report_get(v[i], "env.GEN")) != NULL)
			snprintf(buf, len, "%s", g);
	h_report_list_free(v, n);
}

/* Live processes of the test other than the daemon (zombies are not). */
static int
worker_pids(pid_t *pids, int max)
{
	static pid_t	all[MAXPIDS];
	int		n, i, k = 0;

	n = h_marked_pids(all, MAXPIDS);
	for (i = 0; i < n; i++)
		if (all[i] != h_daemon() && k < max)
			pids[k++] = all[i];
	return k;
}

static int
pid_in(pid_t pid, const pid_t *v, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		if (v[i] == pid)
			return 1;
	return 0;
}

/*
 * Wait until every live process of the test is a worker that status
 * shows for prog, whatever its state; fails naming one that is not.
 */
static void
wait_no_orphan(const char *prog)
{
	struct pstat	ps;
	pid_t		live[256], shown[MAXW], odd;
	long long	end = h_now_ms() + WAIT;
	char		state[16];
	int		nlive, i;

	for (;;) {
		H_ASSERT(status_read(prog, &ps) == 0, "no program %s", prog);
		for (i = 0; i < ps.n; i++)
			shown[i] = (pid_t)ps.w[i].pid;
		nlive = worker_pids(live, 256);
		for (odd = 0, i = 0; odd == 0 && i < nlive; i++)
			if (!pid_in(live[i], shown, ps.n))
				odd = live[i];
		if (odd == 0)
			return;
		snprintf(state, sizeof(state), "%s", ps.state);
		H_ASSERT(h_now_ms() < end, "pid %ld is alive but not in "
		    "status (%s is \"%s\", %d slot(s), %d live worker "
		    "process(es))", (long)odd, prog, state, ps.n, nlive);
		h_sleep_ms(100);
	}
}

/*
 * Wait until every live process of the test is a worker that status
 * shows for prog (n slots, all ready), and each one's report says
 * GEN=gen (NULL: any).  Fails naming the first one unaccounted for.
 */
static void
wait_all_tracked(const char *prog, int n, const char *gen)
{
	struct pstat	ps;
	pid_t		live[256], shown[MAXW], odd = 0;
	long long	end = h_now_ms() + WAIT;
	char		g[32] = "";
	int		nlive, i, ok;

	for (;;) {
		wait_ready(prog, n, &ps);
		for (i = 0; i < ps.n; i++)
			shown[i] = (pid_t)ps.w[i].pid;
		nlive = worker_pids(live, 256);
		odd = 0;
		for (i = 0; odd == 0 && i < nlive; i++)
			if (!pid_in(live[i], shown, ps.n))
				odd = live[i];
		ok = odd == 0;
		for (i = 0; ok && gen != NULL && i < ps.n; i++) {
			gen_of(shown[i], g, sizeof(g));
			ok = strcmp(g, gen) == 0;
		}
		if (ok)
			return;
		if (odd != 0)
			gen_of(odd, g, sizeof(g));
		H_ASSERT(h_now_ms() < end, "%d live worker process(es), %d "
		    "in status; %s%ld (GEN=%s), wanted GEN=%s", nlive, ps.n,
		    odd ? "not in status: pid " : "all in status; last ",
		    (long)(odd ? odd : shown[i - 1]), g, gen ? gen : "any");
		h_sleep_ms(100);
	}
}

/* Field 5 of /proc/PID/stat (process group), -1 if gone. */
static pid_t
proc_pgid(pid_t pid)
{
	char	path[64], *buf, *p;
	long	pgrp = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((buf = h_read_file(path)) == NULL)
		return -1;
	if ((p = strrchr(buf, ')')) != NULL &&
	    sscanf(p + 1, " %*c %*d %ld", &pgrp) != 1)
		pgrp = -1;
	free(buf);
	return (pid_t)pgrp;
}

/* A "Name:\tHEX" signal mask line of /proc/PID/status. */
static unsigned long long
proc_sigmask(pid_t pid, const char *key)
{
	char			 path[64], *buf, *p;
	unsigned long long	 mask = 0;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((buf = h_read_file(path)) == NULL)
		return 0;
	if ((p = strstr(buf, key)) != NULL)
		mask = strtoull(p + strlen(key) + 1, NULL, 16);
	free(buf);
	return mask;
}

#define SIGBIT(s)	(1ULL << ((s) - 1))

/*
 * "PARENT CHILD" lines that shell workers append to reports/NAME: up to
 * max children, with their parents (the worker, leader of the group).
 */
static int
read_kids(const char *name, pid_t *parents, pid_t *kids, int max)
{
	char	*buf = h_read_file(h_path("reports/%s", name)), *line, *save;
	long	 a, b;
	int	 n = 0;

	if (buf == NULL)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line != NULL && n < max;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%ld %ld", &a, &b) != 2)
			continue;
		parents[n] = (pid_t)a;
		kids[n++] = (pid_t)b;
	}
	free(buf);
	return n;
}

static void
wait_kids(const char *name, int n)
{
	pid_t		p[MAXKIDS], k[MAXKIDS];
	long long	end = h_now_ms() + WAIT;

	while (read_kids(name, p, k, MAXKIDS) < n) {
		H_ASSERT(h_now_ms() < end, "%d line(s) expected in "
		    "reports/%s", n, name);
		h_sleep_ms(20);
	}
}

/* The first n children are gone within ms (what failed: in msg). */
static void
kids_dead_within(const char *name, int n, int ms, const char *why)
{
	pid_t	p[MAXKIDS], k[MAXKIDS];
	int	i;

	pid_t	pgid;

	H_ASSERT(read_kids(name, p, k, MAXKIDS) >= n, "reports/%s", name);
	for (i = 0; i < n; i++) {
		if (h_wait_dead(k[i], ms))
			continue;
		pgid = proc_pgid(k[i]);
		H_ASSERT(0, "pid %ld (left by worker %ld, group %ld) still "
		    "alive %d ms later: %s", (long)k[i], (long)p[i],
		    (long)pgid, ms, why);
	}
}

/*
 * sd_notify: a datagram socket of the test's own.
 */

static int
notify_open(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	H_ASSERT((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) != -1,
	    "socket: %s", strerror(errno));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	H_ASSERT(strlen(path) < sizeof(sun.sun_path), "%s: too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	H_ASSERT(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "bind %s: %s", path, strerror(errno));
	return fd;
}

/* The next datagram within ms, NUL-terminated; 0 if none came. */
static int
notify_recv(int fd, char *buf, size_t len, int ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	ssize_t		n;

	if (poll(&pfd, 1, ms) <= 0 ||
	    (n = recv(fd, buf, len - 1, MSG_DONTWAIT)) < 0)
		return 0;
	buf[n] = '\0';
	return 1;
}

/* Skip messages until one that starts with prefix (deadline). */
static void
notify_until(int fd, const char *prefix, char *buf, size_t len)
{
	long long	end = h_now_ms() + WAIT;

	for (;;) {
		H_ASSERT(h_now_ms() < end, "no \"%s\" on the notify socket",
		    prefix);
		if (notify_recv(fd, buf, len, 100) &&
		    strncmp(buf, prefix, strlen(prefix)) == 0)
			return;
	}
}

static const char *
notify_env(char *env, size_t len, int *fd)
{
	char	path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", h_path("notify.sock"));
	*fd = notify_open(path);
	snprintf(env, len, "NOTIFY_SOCKET=%s", path);
	return env;
}

/*
 * 1. SIGQUIT: SIGKILL to every worker's group, nothing before it.
 *
 * A SIGKILL sent right after a stop signal kills a worker before it can
 * say it got the first one, so the stop signal is caught by a probe: a
 * child of the test that joins the worker's process group with every
 * signal blocked.  What was sent to the group stays pending in it, and a
 * killed process keeps its pending set readable until it is reaped.
 */

/* Fork a probe into process group pgid; returns once it is in. */
static pid_t
probe_join(pid_t pgid)
{
	sigset_t	all;
	pid_t		pid;
	int		p[2];
	char		c;

	H_ASSERT(pipe(p) == 0, "pipe: %s", strerror(errno));
	fflush(NULL);
	H_ASSERT((pid = fork()) != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		close(p[0]);
		c = setpgid(0, pgid) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	c = 0;
	if (read(p[0], &c, 1) != 1)
		c = 0;
	close(p[0]);
	if (c != 'y') {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		H_ASSERT(0, "the probe could not join process group %ld",
		    (long)pgid);
	}
	return pid;
}

/*
 * Once the probe is dead (not reaped): the signals it had pending, then
 * reap it; its wait status in *st.
 */
static unsigned long long
probe_result(pid_t pid, int *st)
{
	unsigned long long	pending;
	long long		end = h_now_ms() + WAIT;

	while (h_proc_state(pid) != 'Z') {
		if (h_now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, st, 0);
			H_ASSERT(0, "the probe in the worker's group was not "
			    "killed");
		}
		h_sleep_ms(10);
	}
	pending = proc_sigmask(pid, "ShdPnd:") | proc_sigmask(pid, "SigPnd:");
	waitpid(pid, st, 0);
	return pending;
}

START_TEST(test_sigquit_kills_only)
{
	struct pstat		ps;
	pid_t			probes[2];
	unsigned long long	pending[2];
	int			i, st = -1, pst[2];
	long long		t0;

	h_write_config(CTL_HEAD
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "min_uptime = 100ms\n"
	    "stop_timeout = 20s\n", h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_ready("web", 2, &ps);
	for (i = 0; i < 2; i++)
		probes[i] = probe_join((pid_t)ps.w[i].pid);
	t0 = h_now_ms();
	H_ASSERT(h_signal(SIGQUIT) == 0, "kill");
	for (i = 0; i < 2; i++)
		pending[i] = probe_result(probes[i], &pst[i]);
	H_ASSERT(h_wait_exit(WAIT, &st), "the daemon did not exit");
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "daemon wait status "
	    "0x%x, expected exit 0", st);
	H_ASSERT(h_now_ms() - t0 < 10000, "exit took %lld ms (stop_timeout "
	    "is 20 s)", h_now_ms() - t0);
	for (i = 0; i < 2; i++) {
		H_ASSERT(WIFSIGNALED(pst[i]) && WTERMSIG(pst[i]) == SIGKILL,
		    "probe %d: wait status 0x%x", i, pst[i]);
		H_ASSERT((pending[i] & SIGBIT(SIGTERM)) == 0, "the group of "
		    "worker %lld got SIGTERM before SIGKILL (pending 0x%llx)",
		    ps.w[i].pid, pending[i]);
	}
	H_ASSERT(h_count_in_file(h_out(), "got signal") == 0, "a worker "
	    "got a stop signal");
	h_assert_no_leftovers();
}
END_TEST

/*
 * SIGQUIT while workers that asked to be replaced (retired: no signal,
 * SIGKILL at stop_timeout) still run, each with a child in its group:
 * everything is killed and clusterd exits at once, not at stop_timeout.
 */
START_TEST(test_sigquit_retired_groups)
{
	long long	t0;
	int		st = -1;

	h_write_config(
	    "[program:web]\n"
	    "command = /bin/sh -c \"sleep 300 & "
	    "echo suicide >&$CLUSTERD_IPC_FD; exec sleep 300\"\n"
	    "workers = 2\n"
	    "stop_timeout = 30s\n");
	H_ASSERT(h_start(NULL) > 0, "start");
	h_log_for("asked to be replaced", 4);
	t0 = h_now_ms();
	H_ASSERT(h_signal(SIGQUIT) == 0, "kill");
	H_ASSERT(h_wait_exit(5000, &st), "clusterd did not exit within 5 s "
	    "of SIGQUIT (stop_timeout is 30 s)");
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "wait status 0x%x",
	    st);
	H_ASSERT(h_count_log("SIGTERM now") == 0, "a stop signal after "
	    "SIGQUIT");
	fprintf(stderr, "SIGQUIT with retired workers: exit after %lld ms\n",
	    h_now_ms() - t0);
	h_assert_no_leftovers();
}
END_TEST

/*
 * 2. A failed rolling restart keeps the last good generation in charge.
 * GEN=1 serves; a reload to GEN=2, whose workers exit 3 at once (after
 * their report), fails.  Then each way of starting a worker must start
 * one of GEN=1.
 */

static void
gen_config(int gen, int fail, int workers)
{
	h_write_config(CTL_HEAD
	    "[program:app]\n"
	    "command = %s\n"
	    "workers = %d\n"
	    "min_uptime = 300ms\n"
	    "stop_timeout = 5s\n"
	    "max_memory = 48M\n"
	    "env = GEN=%d\n"
	    "env = SUICIDE_ON_WINCH=1\n"
	    "env = GROW_ON_URG_MB=96\n"
	    "%s", h_worker("reporter"), workers, gen,
	    fail ? "env = EXIT_AFTER_MS=0\nenv = EXIT_CODE=3\n" : "");
}

/* GEN=1 up with two workers, a failed reload to GEN=2: its report count. */
static int
failed_roll(const char *const *env)
{
	int	rc;

	gen_config(1, 0, 2);
	H_ASSERT(h_start(env) > 0, "start");
	wait_ready("app", 2, NULL);
	H_ASSERT(count_gen("app.", "1") == 2, "GEN=1 reports");
	gen_config(2, 1, 2);
	rc = ctl(NULL, "reload", (const char *)NULL);
	H_ASSERT(rc != 0, "a reload whose new workers exit at once: exit 0");
	h_log_for("rolling restart stopped", 1);
	H_ASSERT(count_gen("app.", "2") >= 1, "no GEN=2 worker was tried");
	wait_ready("app", 2, NULL);
	return count_gen("app.", "2");
}

/*
 * After something that starts a worker in slots "prefix": wait for a new
 * GEN=1 report there; fail at once if a GEN=2 worker is started.
 */
static void
expect_gen1(const char *prefix, int gen1_before, int gen2, const char *what)
{
	long long	end = h_now_ms() + WAIT;

	for (;;) {
		H_ASSERT(count_gen("app.", "2") == gen2, "%s started a worker "
		    "of the failed configuration (GEN=2)", what);
		if (count_gen(prefix, "1") > gen1_before)
			break;
		H_ASSERT(h_now_ms() < end, "%s started no GEN=1 worker in "
		    "%s*", what, prefix);
		h_sleep_ms(20);
	}
}

START_TEST(test_failed_roll_crash)
{
	int	g2 = failed_roll(NULL), g1 = count_gen("app.0.", "1");

	H_ASSERT(kill(slot_pid("app", 0), SIGKILL) == 0, "kill");
	expect_gen1("app.0.", g1, g2, "a crash");
	wait_ready("app", 2, NULL);
	H_ASSERT(count_gen("app.", "2") == g2, "GEN=2 started");
	h_stop_daemon();
}
END_TEST

START_TEST(test_failed_roll_suicide)
{
	int	g2 = failed_roll(NULL), g1 = count_gen("app.1.", "1");

	H_ASSERT(kill(slot_pid("app", 1), SIGWINCH) == 0, "kill");
	h_log_for("asked to be replaced", 1);
	expect_gen1("app.1.", g1, g2, "a suicide");
	wait_ready("app", 2, NULL);
	H_ASSERT(count_gen("app.", "2") == g2, "GEN=2 started");
	h_stop_daemon();
}
END_TEST

START_TEST(test_failed_roll_max_memory)
{
	int	g2 = failed_roll(NULL), g1 = count_gen("app.1.", "1");

	H_ASSERT(kill(slot_pid("app", 1), SIGURG) == 0, "kill");
	h_log_for("over max_memory", 1);
	expect_gen1("app.1.", g1, g2, "a max_memory replacement");
	wait_ready("app", 2, NULL);
	H_ASSERT(count_gen("app.", "2") == g2, "GEN=2 started");
	h_stop_daemon();
}
END_TEST

START_TEST(test_failed_roll_scale_signal)
{
	int	g2 = failed_roll(NULL);

	H_ASSERT(h_signal(SIGTTIN) == 0, "kill");
	expect_gen1("app.2.", 0, g2, "SIGTTIN");
	wait_ready("app", 3, NULL);
	H_ASSERT(count_gen("app.", "2") == g2, "GEN=2 started");
	h_stop_daemon();
}
END_TEST

START_TEST(test_failed_roll_scale_ctl)
{
	int	g2 = failed_roll(NULL);

	ctl_ok("scale", "app", "4");
	expect_gen1("app.2.", 0, g2, "clusterctl scale");
	expect_gen1("app.3.", 0, g2, "clusterctl scale");
	wait_ready("app", 4, NULL);
	H_ASSERT(count_gen("app.", "2") == g2, "GEN=2 started");
	h_stop_daemon();
}
END_TEST

#define PREV_CONF	"on its previous configuration"

/*
 * STATUS= says so after the failed reload (in the READY=1 that ends it,
 * and in later updates), and no longer after a reload that succeeds.
 */
START_TEST(test_failed_roll_notify_status)
{
	char		 env[PATH_MAX + 32], buf[2048];
	const char	*extra[] = { NULL, NULL };
	int		 fd, n;

	extra[0] = notify_env(env, sizeof(env), &fd);
	gen_config(1, 0, 2);
	H_ASSERT(h_start(extra) > 0, "start");
	notify_until(fd, "READY=1", buf, sizeof(buf));
	H_ASSERT(strstr(buf, PREV_CONF) == NULL, "at start: %s", buf);
	gen_config(2, 1, 2);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	notify_until(fd, "RELOADING=1", buf, sizeof(buf));
	notify_until(fd, "READY=1", buf, sizeof(buf));
	H_ASSERT(strstr(buf, "reload failed") != NULL &&
	    strstr(buf, PREV_CONF) != NULL, "after the failed reload: %s",
	    buf);
	/* a change later: the state is still shown */
	H_ASSERT(h_signal(SIGTTIN) == 0, "kill");
	for (;;) {
		notify_until(fd, "STATUS=", buf, sizeof(buf));
		if (strstr(buf, "3/3 ready") != NULL)
			break;
	}
	H_ASSERT(strstr(buf, PREV_CONF) != NULL, "later: %s", buf);
	gen_config(3, 0, 3);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	notify_until(fd, "RELOADING=1", buf, sizeof(buf));
	notify_until(fd, "READY=1", buf, sizeof(buf));
	H_ASSERT(strstr(buf, PREV_CONF) == NULL && strstr(buf, "reload "
	    "failed") == NULL, "after a good reload: %s", buf);
	h_log_for("reload done", 1);
	n = count_gen("app.", "3");
	H_ASSERT(n == 3, "%d GEN=3 workers", n);
	close(fd);
	h_stop_daemon();
}
END_TEST

/* clusterctl status says so too, until a reload succeeds. */
START_TEST(test_failed_roll_ctl_status)
{
	char	*out;

	(void)failed_roll(NULL);
	H_ASSERT(ctl(&out, "status", (const char *)NULL) == 0, "status");
	H_ASSERT(strstr(out, PREV_CONF) != NULL, "clusterctl status does "
	    "not say that app is on its previous configuration:\n%s", out);
	free(out);
	gen_config(3, 0, 2);
	ctl_ok("reload", NULL, NULL);
	H_ASSERT(ctl(&out, "status", (const char *)NULL) == 0, "status");
	H_ASSERT(strstr(out, PREV_CONF) == NULL, "after a good reload:\n%s",
	    out);
	free(out);
	h_stop_daemon();
}
END_TEST

/*
 * 3. A worker that exits by itself leaves no process group behind.
 */

/* Shell fragment: start CMD in the background, note "$$ $!" in kids. */
#define BG(cmd)	cmd " & echo $$ $! >>$REPORT_DIR/kids; "

/*
 * SIGQUIT, exit 0, nothing left.  The tests that need a long stop_timeout
 * end this way: a graceful stop would wait for it (see
 * test_shutdown_after_linger).
 */
static void
quit_daemon(void)
{
	int	st = -1;

	H_ASSERT(h_signal(SIGQUIT) == 0, "kill");
	H_ASSERT(h_wait_exit(WAIT, &st) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "wait status 0x%x", st);
	h_assert_no_leftovers();
}

/* Die on SIGTERM: gone at once, long before stop_timeout. */
START_TEST(test_exit_group_term)
{
	int	port = h_free_port();

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = /bin/sh -c \"" BG("sleep 300") BG("sleep 300")
	    "exit 1\"\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "stop_timeout = 30s\n"
	    "restart_delay = 20s\n", port);
	H_ASSERT(h_start(NULL) > 0, "start");
	h_log_for("exited with status 1", 2);
	wait_kids("kids", 4);
	kids_dead_within("kids", 4, 5000, "no stop_signal when their "
	    "worker exited (stop_timeout is 30 s)");
	quit_daemon();
}
END_TEST

/* Ignore SIGTERM: SIGKILL at stop_timeout. */
START_TEST(test_exit_group_kill)
{
	pid_t	p[MAXKIDS], k[MAXKIDS];
	int	i, port = h_free_port();

	/* it exits once both children ignore SIGTERM, as its stop comes */
	h_write_file(h_path("kill.sh"),
	    BG("(trap '' TERM; : >$REPORT_DIR/t.$$.1; exec sleep 300)") "\n"
	    BG("(trap '' TERM; : >$REPORT_DIR/t.$$.2; exec sleep 300)") "\n"
	    "while [ ! -e $REPORT_DIR/t.$$.1 ] || "
	    "[ ! -e $REPORT_DIR/t.$$.2 ]; do sleep 0.01; done\n"
	    "exit 1\n");
	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = /bin/sh %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "stop_timeout = 2s\n"
	    "restart_delay = 20s\n", port, h_path("kill.sh"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_log_for("exited with status 1", 2);
	wait_kids("kids", 4);
	H_ASSERT(read_kids("kids", p, k, MAXKIDS) >= 4, "kids");
	for (i = 0; i < 4; i++)
		H_ASSERT(h_pid_dead(k[i]) || (proc_sigmask(k[i], "SigIgn:") &
		    SIGBIT(SIGTERM)) != 0, "pid %ld does not ignore SIGTERM",
		    (long)k[i]);
	kids_dead_within("kids", 4, WAIT, "no SIGKILL at stop_timeout (2 s) "
	    "after their worker exited");
	H_ASSERT(h_count_log("did not stop within 2s") >= 2, "no SIGKILL "
	    "logged for the two groups");
	h_stop_daemon();
}
END_TEST

/* After a suicide, the retired worker exits; what it left is stopped. */
START_TEST(test_suicide_group)
{
	pid_t	p[MAXKIDS], k[MAXKIDS];
	int	port = h_free_port();

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = /bin/sh -c \"" BG("sleep 300")
	    "sleep 1; echo suicide >&$CLUSTERD_IPC_FD; sleep 1; exit 0\"\n"
	    "workers = 1\n"
	    "sockets = web\n"
	    "min_uptime = 300ms\n"
	    "stop_timeout = 30s\n", port);
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_kids("kids", 1);
	H_ASSERT(read_kids("kids", p, k, MAXKIDS) >= 1, "kids");
	h_log_for("asked to be replaced", 1);
	H_ASSERT(h_wait_dead(p[0], WAIT), "the retired worker %ld did not "
	    "exit", (long)p[0]);
	kids_dead_within("kids", 1, 5000, "no stop_signal when the retired "
	    "worker exited (stop_timeout is 30 s)");
	/*
	 * Its replacements keep asking: whatever shutdown comes now meets
	 * a retired worker's group, which test_sigquit_retired_groups and
	 * test_shutdown_after_linger are about.  The fixture kills it all.
	 */
}
END_TEST

/*
 * What a worker that exited left in its group died at the stop_signal:
 * nothing is left, so a graceful shutdown is over at once, not at that
 * group's stop_timeout.
 */
START_TEST(test_shutdown_after_linger)
{
	long long	t0;
	int		st = -1;

	h_write_config(
	    "[program:web]\n"
	    "command = /bin/sh -c \"" BG("sleep 300") "exit 1\"\n"
	    "stop_timeout = 20s\n"
	    "restart_delay = 20s\n");
	H_ASSERT(h_start(NULL) > 0, "start");
	h_log_for("exited with status 1", 1);
	wait_kids("kids", 1);
	kids_dead_within("kids", 1, 5000, "no stop_signal when their "
	    "worker exited (stop_timeout is 20 s)");
	t0 = h_now_ms();
	H_ASSERT(h_signal(SIGTERM) == 0, "kill");
	H_ASSERT(h_wait_exit(5000, &st), "nothing runs, yet clusterd did not "
	    "exit within 5 s of SIGTERM (stop_timeout is 20 s)");
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "wait status 0x%x",
	    st);
	fprintf(stderr, "shutdown after a lingering group: %lld ms\n",
	    h_now_ms() - t0);
	h_assert_no_leftovers();
}
END_TEST

/* A second clusterd with the same configuration binds the port at once. */
static void
restart_binds(void)
{
	char		needle[PATH_MAX + 16], *line;
	long long	end;
	int		st = -1;

	snprintf(needle, sizeof(needle), ") with %s", h_conf());
	H_ASSERT(h_start(NULL) > 0, "start again");
	end = h_now_ms() + WAIT;
	while (h_count_log(needle) < 2) {
		H_ASSERT(h_now_ms() < end, "the second clusterd did not start");
		if (!h_daemon_alive()) {
			line = h_find_line(h_log(), "already in use");
			H_ASSERT(0, "the second clusterd could not start: %s",
			    line != NULL ? line : "(no bind error logged)");
		}
		h_sleep_ms(20);
	}
	H_ASSERT(h_signal(SIGTERM) == 0, "kill");
	H_ASSERT(h_wait_exit(WAIT, &st) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "the second clusterd: wait status 0x%x",
	    st);
}

/* The case: sleeps left by crashing workers, then SIGTERM. */
START_TEST(test_exit_group_shutdown)
{
	int	st = -1, port = h_free_port();

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = /bin/sh -c \"sleep 300 & sleep 300 & exit 1\"\n"
	    "workers = 3\n"
	    "sockets = web\n", port);
	H_ASSERT(h_start(NULL) > 0, "start");
	h_log_for("exited with status 1", 6);
	H_ASSERT(h_signal(SIGTERM) == 0, "kill");
	H_ASSERT(h_wait_exit(WAIT, &st) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "wait status 0x%x", st);
	restart_binds();
	h_assert_no_leftovers();
}
END_TEST

/*
 * Processes that left the worker's group (setsid) and were adopted by
 * clusterd, the subreaper: stopped before clusterd exits.
 */
START_TEST(test_escaped_stopped_at_exit)
{
	pid_t	p[MAXKIDS], k[MAXKIDS], pgid;
	int	i, n, st = -1, port = h_free_port();

	h_write_config(CTL_HEAD
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = /bin/sh -c \"" BG("setsid sleep 300")
	    "(" BG("setsid sleep 300") "); exec sleep 300\"\n"
	    "workers = 1\n"
	    "sockets = web\n"
	    "min_uptime = 100ms\n"
	    "stop_timeout = 3s\n", port);
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_ready("web", 1, NULL);
	wait_kids("kids", 2);
	n = read_kids("kids", p, k, MAXKIDS);
	for (i = 0; i < n; i++) {
		long long end = h_now_ms() + WAIT;

		/* setsid may still be on its way to its exec */
		while (proc_pgid(k[i]) != k[i] && h_now_ms() < end)
			h_sleep_ms(10);
		pgid = proc_pgid(k[i]);
		H_ASSERT(pgid == k[i], "pid %ld did not leave the worker's "
		    "group (%ld)", (long)k[i], (long)pgid);
	}
	H_ASSERT(h_signal(SIGTERM) == 0, "kill");
	H_ASSERT(h_wait_exit(WAIT, &st) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "wait status 0x%x", st);
	for (i = 0; i < n; i++)
		H_ASSERT(h_pid_dead(k[i]), "pid %ld (escaped from worker "
		    "%ld) outlived clusterd", (long)k[i], (long)p[i]);
	restart_binds();
	h_assert_no_leftovers();
}
END_TEST

/*
 * 4. A rolling restart always ends.
 */

static void
roll_config(int gen, int workers, const char *min_uptime)
{
	h_write_config(CTL_HEAD
	    "[program:app]\n"
	    "command = %s\n"
	    "workers = %d\n"
	    "min_uptime = %s\n"
	    "stop_timeout = 5s\n"
	    "env = GEN=%d\n", h_worker("reporter"), workers, min_uptime, gen);
}

/* (a) Scale down while the roll waits on the slot being removed. */
START_TEST(test_roll_scale_down_ends)
{
	struct pstat	 ps;
	long long	 end;
	char		*out;

	roll_config(1, 2, "2s");
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_ready("app", 2, NULL);
	ctl_ok("restart", "app", NULL);
	/* slot 0 is done and slot 1's replacement is starting */
	h_log_for("app[1] started (pid", 2);
	H_ASSERT(h_signal(SIGTTOU) == 0, "kill");
	h_log_for("scaling from 2 to 1", 1);
	end = h_now_ms() + WAIT;
	while (status_read("app", &ps) != 0 || strcmp(ps.state, "running")) {
		H_ASSERT(h_now_ms() < end, "still \"%s\" %d s after SIGTTOU",
		    ps.state, WAIT / 1000);
		h_sleep_ms(50);
	}
	h_log_for("app: rolling restart done", 1);
	H_ASSERT(ctl(&out, "status", (const char *)NULL) == 0, "status");
	H_ASSERT(strstr(out, "rolling") == NULL, "%s", out);
	free(out);
	/* and a reload is not queued forever */
	ctl_ok("reload", NULL, NULL);
	wait_ready("app", 2, NULL);	/* the file says 2 */
	h_stop_daemon();
}
END_TEST

/* (b) Stop a rolling program while a reload is queued, start it again. */
START_TEST(test_roll_stop_queued_reload)
{
	roll_config(1, 2, "1s");
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_ready("app", 2, NULL);
	roll_config(2, 2, "1s");
	ctl_ok("restart", "app", NULL);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("queued", 1);
	ctl_ok("stop", "app", NULL);
	ctl_ok("start", "app", NULL);
	wait_no_orphan("app");
	h_log_for("reload done", 1);
	wait_all_tracked("app", 2, "2");
	h_stop_daemon();
}
END_TEST

/*
 * 5. A reload while a slot's replacement (max_memory, within its
 * min_uptime) is starting: no worker is left untracked.
 */
START_TEST(test_reload_during_replacement)
{
	h_write_config(CTL_HEAD
	    "[program:app]\n"
	    "command = %s\n"
	    "min_uptime = 3s\n"
	    "stop_timeout = 5s\n"
	    "max_memory = 48M\n"
	    "env = GEN=1\n"
	    "env = GROW_ON_URG_MB=96\n", h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_ready("app", 1, NULL);
	H_ASSERT(kill(slot_pid("app", 0), SIGURG) == 0, "kill");
	h_log_for("over max_memory", 1);
	H_ASSERT(h_count_log("is ready") == 1, "the replacement was ready "
	    "before the reload");
	roll_config(2, 1, "3s");
	ctl_ok("reload", NULL, NULL);
	wait_all_tracked("app", 1, "2");
	h_stop_daemon();
}
END_TEST

/*
 * 6. A worker that asks to be replaced as soon as it starts is a fast
 * failure.  The test lets 3 s pass: what it measures is a rate.  With
 * restart_delay = 100ms doubling, each slot starts about 5 times in 3 s;
 * 12 a slot is the bound.  Live processes: those starts, at most (each
 * retired one lingers until its stop_timeout).
 */
#define SUICIDE_BOUND	12

START_TEST(test_rapid_suicide_bounded)
{
	static pid_t	pids[MAXPIDS];
	long long	t0;
	int		n, most = 0, starts;

	h_write_config(
	    "[program:loop]\n"
	    "command = /bin/sh -c \"echo suicide >&$CLUSTERD_IPC_FD; "
	    "exec sleep 30\"\n"
	    "workers = 2\n"
	    "ipc = json\n"
	    "stop_timeout = 3s\n");
	H_ASSERT(h_start(NULL) > 0, "start");
	h_log_for("loop[1] started (pid", 1);
	t0 = h_now_ms();
	while (h_now_ms() - t0 < 3000) {
		n = worker_pids(pids, MAXPIDS);
		if (n > most)
			most = n;
		h_sleep_ms(50);
	}
	starts = h_count_log("] started (pid");
	fprintf(stderr, "rapid suicide: %d starts in 3 s, at most %d live "
	    "worker processes\n", starts, most);
	H_ASSERT(starts <= 2 * SUICIDE_BOUND, "%d starts in 3 s", starts);
	H_ASSERT(most <= 2 * SUICIDE_BOUND + 2, "%d live processes", most);
	h_stop_daemon();
}
END_TEST

/*
 * 7. A reload is done when the rolls it started are, not when another
 * one (clusterctl restart fast) ends first.  slow's new workers are
 * ready 5 s after they start; fast's in 200 ms.
 */
static void
two_config(int slow_ready_ms)
{
	h_write_config(CTL_HEAD
	    "[program:slow]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "stop_timeout = 5s\n"
	    "env = READY_AFTER_MS=%d\n"
	    "[program:fast]\n"
	    "command = %s\n"
	    "min_uptime = 200ms\n"
	    "stop_timeout = 5s\n", h_worker("ipcworker"), slow_ready_ms,
	    h_worker("reporter"));
}

#define SLOW_DONE	"slow: rolling restart done"

START_TEST(test_reload_done_waits_own_rolls)
{
	struct bg	 b;
	char		 env[PATH_MAX + 32], buf[2048];
	const char	*extra[] = { NULL, NULL };
	long long	 end;
	int		 fd, slow_at_ready = -1, slow_at_exit = -1;

	extra[0] = notify_env(env, sizeof(env), &fd);
	two_config(100);
	H_ASSERT(h_start(extra) > 0, "start");
	notify_until(fd, "READY=1", buf, sizeof(buf));
	wait_ready("slow", 1, NULL);
	wait_ready("fast", 1, NULL);
	two_config(5000);
	bg_ctl(&b, "reload", (const char *)NULL);
	notify_until(fd, "RELOADING=1", buf, sizeof(buf));
	h_log_for("fast: rolling restart done", 1);
	ctl_ok("restart", "fast", NULL);
	h_log_for("fast: rolling restart done", 2);
	H_ASSERT(h_count_log(SLOW_DONE) == 0, "premise: slow's roll (5 s) "
	    "ended before fast's two rolls");
	/* at READY=1 and at clusterctl's exit: was slow's roll done? */
	end = h_now_ms() + WAIT;
	while (slow_at_ready == -1 || slow_at_exit == -1) {
		if (slow_at_ready == -1 && notify_recv(fd, buf, sizeof(buf),
		    20) && strncmp(buf, "READY=1", 7) == 0)
			slow_at_ready = h_count_log(SLOW_DONE);
		if (slow_at_exit == -1 && bg_done(&b))
			slow_at_exit = h_count_log(SLOW_DONE);
		if (h_now_ms() >= end) {
			bg_end(&b);
			H_ASSERT(0, "READY=1 %s, clusterctl reload %s",
			    slow_at_ready != -1 ? "came" : "did not come",
			    slow_at_exit != -1 ? "returned" : "did not return");
		}
	}
	H_ASSERT(slow_at_ready == 1, "READY=1 before slow's roll was done");
	H_ASSERT(slow_at_exit == 1, "clusterctl reload returned before "
	    "slow's roll was done");
	H_ASSERT(WIFEXITED(b.status) && WEXITSTATUS(b.status) == 0,
	    "clusterctl reload: wait status 0x%x", b.status);
	H_ASSERT(log_offset("reload done") > log_offset(SLOW_DONE),
	    "\"reload done\" logged before \"" SLOW_DONE "\"");
	close(fd);
	h_stop_daemon();
}
END_TEST

/* 8. Scaling during a rolling restart is honoured. */
START_TEST(test_scale_during_roll)
{
	struct pstat	ps;

	roll_config(1, 2, "1s");
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_ready("app", 2, NULL);
	ctl_ok("restart", "app", NULL);
	ctl_ok("scale", "app", "4");
	h_log_for("app: rolling restart done", 1);
	H_ASSERT(status_read("app", &ps) == 0 && ps.n == 4, "%d slots when "
	    "the roll was done", ps.n);
	wait_ready("app", 4, NULL);
	h_stop_daemon();
}
END_TEST

static Suite *
core_suite(void)
{
	Suite	*s = suite_create("daemon_core");
	TCase	*tc;

	tc = h_tcase("sigquit", TEST_TIMEOUT);
	tcase_add_test(tc, test_sigquit_kills_only);
	tcase_add_test(tc, test_sigquit_retired_groups);
	suite_add_tcase(s, tc);

	tc = h_tcase("failed_roll", TEST_TIMEOUT);
	tcase_add_test(tc, test_failed_roll_crash);
	tcase_add_test(tc, test_failed_roll_suicide);
	tcase_add_test(tc, test_failed_roll_max_memory);
	tcase_add_test(tc, test_failed_roll_scale_signal);
	tcase_add_test(tc, test_failed_roll_scale_ctl);
	tcase_add_test(tc, test_failed_roll_notify_status);
	tcase_add_test(tc, test_failed_roll_ctl_status);
	suite_add_tcase(s, tc);

	tc = h_tcase("process_group", TEST_TIMEOUT);
	tcase_add_test(tc, test_exit_group_term);
	tcase_add_test(tc, test_exit_group_kill);
	tcase_add_test(tc, test_suicide_group);
	tcase_add_test(tc, test_shutdown_after_linger);
	tcase_add_test(tc, test_exit_group_shutdown);
	tcase_add_test(tc, test_escaped_stopped_at_exit);
	suite_add_tcase(s, tc);

	tc = h_tcase("roll", TEST_TIMEOUT);
	tcase_add_test(tc, test_roll_scale_down_ends);
	tcase_add_test(tc, test_roll_stop_queued_reload);
	tcase_add_test(tc, test_reload_during_replacement);
	tcase_add_test(tc, test_rapid_suicide_bounded);
	tcase_add_test(tc, test_reload_done_waits_own_rolls);
	tcase_add_test(tc, test_scale_during_roll);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(core_suite());
}
