/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests of the control socket and clusterctl: the real
 * daemon with `control = ctl.sock` (relative: in the test's directory),
 * driven by the real clusterctl ($CLUSTERCTL_BIN), or by hand through the
 * socket for what clusterctl never sends.  Worker states are read back
 * with `clusterctl --json status`; every wait has a deadline.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
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
#define MAXSLOTS	8
#define SETPRIV		"/usr/bin/setpriv"

#define CTL_HEAD	"[clusterd]\ncontrol = ctl.sock\n\n"

/* One slot, as `clusterctl --json status` shows it. */
struct slotinfo {
	long long	pid;
	long long	restarts;	/* after a crash */
	long long	replaced;	/* planned */
	long long	rss;
	char		state[16];
	char		status[256];
};

static const char *
ctl_sock(void)
{
	return h_path("ctl.sock");
}

/*
 * Run argv (clusterctl, or setpriv in front of it) with extra env; its
 * exit status, and its stdout and stderr in out and err (NULL: freed).
 */
static int
run(const char *const *argv, const char *const *env, char **out,
    char **err)
{
	char	*o = NULL, *e = NULL;
	int	 status;

	H_ASSERT(h_run(argv, env, WAIT, &status, &o, &e), "%s %s hung",
	    argv[0], argv[1] ? argv[1] : "");
	H_ASSERT(WIFEXITED(status), "%s: wait status 0x%x", argv[0], status);
	if (out != NULL)
		*out = o != NULL ? o : strdup("");
	else
		free(o);
	if (err != NULL)
		*err = e != NULL ? e : strdup("");
	else
		free(e);
	return WEXITSTATUS(status);
}

/* clusterctl [-s ctl.sock] ARGS, with extra env (NULL: none). */
static int
vctl(int with_sock, const char *const *env, char **out, char **err,
    va_list ap)
{
	const char	*argv[24];
	int		 n = 0;

	argv[n++] = h_ctl_bin();
	if (with_sock) {
		argv[n++] = "-s";
		argv[n++] = ctl_sock();
	}
	while (n < 23 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	argv[n] = NULL;
	return run(argv, env, out, err);
}

/* clusterctl -s ctl.sock ARGS... (NULL-terminated). */
static int
ctl(char **out, char **err, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, err);
	rc = vctl(1, NULL, out, err, ap);
	va_end(ap);
	return rc;
}

/* clusterctl ARGS... (no -s), with env. */
static int
ctl_env(const char *const *env, char **out, char **err, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, err);
	rc = vctl(0, env, out, err, ap);
	va_end(ap);
	return rc;
}

/* The arguments, for messages. */
static const char *
args_text(va_list ap)
{
	static char	buf[512];
	const char	*a;
	size_t		 n = 0;

	buf[0] = '\0';
	while ((a = va_arg(ap, const char *)) != NULL && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s", a);
	return buf;
}

/*
 * clusterctl -s ctl.sock ARGS... (NULL-terminated), which must exit with
 * want; its stdout (ctl_expect) or stderr (ctl_stderr).
 */
static char *
ctl_want(int want, int give_err, va_list ap)
{
	va_list	 again;
	char	*out, *err;
	int	 rc;

	va_copy(again, ap);
	rc = vctl(1, NULL, &out, &err, ap);
	H_ASSERT(rc == want, "clusterctl%s: exit %d, expected %d; stdout: "
	    "%s; stderr: %s", args_text(again), rc, want, out, err);
	va_end(again);
	if (give_err) {
		free(out);
		return err;
	}
	free(err);
	return out;
}

static char *
ctl_expect(int want, ...)
{
	va_list	 ap;
	char	*out;

	va_start(ap, want);
	out = ctl_want(want, 0, ap);
	va_end(ap);
	return out;
}

static char *
ctl_stderr(int want, ...)
{
	va_list	 ap;
	char	*err;

	va_start(ap, want);
	err = ctl_want(want, 1, ap);
	va_end(ap);
	return err;
}

static void
assert_contains(const char *text, const char *needle)
{
	H_ASSERT(text != NULL && strstr(text, needle) != NULL,
	    "\"%s\" not found in: %s", needle, text ? text : "(null)");
}

static int
get_int(const struct json_val *o, const char *key, long long *n)
{
	struct json_val	v;

	return json_get(o, key, &v) == -1 ? -1 :
	    json_int(&v, 0, 1LL << 62, n);
}

static int
get_str(const struct json_val *o, const char *key, char *buf, size_t len)
{
	struct json_val	v;

	return json_get(o, key, &v) == -1 ? -1 : json_string(&v, buf, len);
}

/* Fill s from one program object; the number of slots. */
static int
read_slots(const struct json_val *p, struct slotinfo *s, int max)
{
	struct json_val	workers, w;
	int		n = 0;

	H_ASSERT(json_get(p, "workers", &workers) == 0, "no workers");
	w.jv_text = NULL;
	while (n < max && json_next(&workers, &w)) {
		H_ASSERT(get_int(&w, "pid", &s[n].pid) == 0 &&
		    get_int(&w, "restarts", &s[n].restarts) == 0 &&
		    get_int(&w, "replaced", &s[n].replaced) == 0 &&
		    get_int(&w, "rss", &s[n].rss) == 0 &&
		    get_str(&w, "state", s[n].state,
		    sizeof(s[n].state)) == 0 &&
		    get_str(&w, "status", s[n].status,
		    sizeof(s[n].status)) == 0, "a malformed worker");
		n++;
	}
	return n;
}

/*
 * The slots of program prog and its state (pstate, may be NULL), from
 * `clusterctl --json status`; -1 if there is no such program, -2 if
 * nothing answers (yet) on the socket.
 */
static int
status_try(const char *prog, struct slotinfo *s, int max, char *pstate)
{
	struct json_val	 top, progs, p;
	char		*out, *errout, name[NAME_MAXLEN], err[128], state[16];
	int		 n = -1, rc;

	rc = ctl(&out, &errout, "--json", "status", (const char *)NULL);
	if (rc == 3) {
		free(out);
		free(errout);
		return -2;
	}
	H_ASSERT(rc == 0, "--json status: exit %d: %s", rc, errout);
	free(errout);
	H_ASSERT(json_parse(out, strlen(out), &top, err, sizeof(err)) == 0,
	    "--json status: %s: %s", err, out);
	H_ASSERT(json_get(&top, "programs", &progs) == 0, "%s", out);
	p.jv_text = NULL;
	while (n == -1 && json_next(&progs, &p)) {
		H_ASSERT(get_str(&p, "name", name, sizeof(name)) == 0 &&
		    get_str(&p, "state", state, sizeof(state)) == 0, "%s",
		    out);
		if (strcmp(name, prog) != 0)
			continue;
		if (pstate != NULL)
			strcpy(pstate, state);
		n = read_slots(&p, s, max);
	}
	free(out);
	return n;
}

static int
status_of(const char *prog, struct slotinfo *s, int max, char *pstate)
{
	int	n = status_try(prog, s, max, pstate);

	H_ASSERT(n != -2, "clusterd does not answer on %s", ctl_sock());
	return n;
}

static int
in_list(long long pid, const long long *list, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		if (list[i] == pid)
			return 1;
	return 0;
}

/*
 * Wait until prog has exactly n slots, each with a worker in state (pid
 * 0 for "stopped"), none of them one of the nold pids in old.
 */
static void
wait_slots(const char *prog, int n, const char *state,
    const long long *old, int nold, struct slotinfo *s)
{
	long long	end = h_now_ms() + WAIT;
	int		got, i, ok;

	for (;;) {
		H_ASSERT(h_daemon_alive(), "the daemon exited");
		got = status_try(prog, s, MAXSLOTS, NULL);
		for (ok = got == n, i = 0; ok && i < got; i++)
			ok = strcmp(s[i].state, state) == 0 &&
			    (s[i].pid != 0) == (strcmp(state, "stopped") != 0)
			    && !in_list(s[i].pid, old, nold);
		if (ok)
			return;
		H_ASSERT(h_now_ms() < end, "%s: %d slot(s) %s expected; "
		    "%d found, slot 0: pid %lld %s", prog, n, state, got,
		    got > 0 ? s[0].pid : 0, got > 0 ? s[0].state : "-");
		h_sleep_ms(50);
	}
}

static void
pids_of(const struct slotinfo *s, int n, long long *pids)
{
	int	i;

	for (i = 0; i < n; i++)
		pids[i] = s[i].pid;
}

/* The daemon with ipcworker: ready when it says so, with a status. */
static void
start_ipc(int workers, int ready_ms, const char *status)
{
	h_write_config(CTL_HEAD
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = %d\n"
	    "ready = message\n"
	    "stop_timeout = 3s\n"
	    "env = READY_AFTER_MS=%d\n"
	    "env = STATUS=%s\n", h_worker("ipcworker"), workers, ready_ms,
	    status);
	H_ASSERT(h_start(NULL) > 0, "start");
}

/* The exit status of the daemon, which must come before the deadline. */
static int
daemon_exit_code(void)
{
	int	st = -1;

	H_ASSERT(h_wait_exit(WAIT, &st), "the daemon did not exit");
	H_ASSERT(WIFEXITED(st), "daemon wait status 0x%x", st);
	return WEXITSTATUS(st);
}

#define LONG_STATUS	"serving 42 connections, and a very long status text " \
			"that a table of 80 columns cannot show whole, nor " \
			"one of 120"

/*
 * Run argv with a pseudo-terminal of cols columns as its stdin, stdout
 * and stderr; its exit status, and what it wrote ("\r\n" made "\n").
 */
static int
run_pty(const char *const *argv, int cols, char **out)
{
	struct winsize	 ws;
	struct pollfd	 pfd;
	char		 buf[4096], *text;
	size_t		 len = 0, cap = 65536;
	long long	 end = h_now_ms() + WAIT;
	ssize_t		 n, i;
	pid_t		 pid;
	int		 fd, status;

	memset(&ws, 0, sizeof(ws));
	ws.ws_row = 24;
	ws.ws_col = (unsigned short)cols;
	H_ASSERT((text = malloc(cap)) != NULL, "malloc");
	pid = forkpty(&fd, NULL, NULL, &ws);
	H_ASSERT(pid != -1, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		setenv("CDTEST_MARK", h_dir(), 1);	/* the janitor's */
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (h_now_ms() >= end) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			break;	/* EIO: the terminal's other end is closed */
		for (i = 0; i < n && len + 1 < cap; i++)
			if (buf[i] != '\r')
				text[len++] = buf[i];
	}
	text[len] = '\0';
	close(fd);
	H_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	H_ASSERT(WIFEXITED(status), "%s: wait status 0x%x", argv[0], status);
	*out = text;
	return WEXITSTATUS(status);
}

/* clusterctl -s ctl.sock ARG... on a terminal of cols columns. */
static char *
ctl_pty(int want, int cols, const char *a1, const char *a2)
{
	const char	*argv[] = { h_ctl_bin(), "-s", ctl_sock(), a1, a2, NULL };
	char		*out;
	int		 rc = run_pty(argv, cols, &out);

	H_ASSERT(rc == want, "clusterctl %s %s on a terminal: exit %d, "
	    "expected %d: %s", a1, a2 ? a2 : "", rc, want, out);
	return out;
}

/* Columns a line takes: one per UTF-8 character; -1 if invalid. */
static int
line_width(const char *s, size_t len)
{
	const unsigned char	*c = (const unsigned char *)s;
	size_t			 i = 0;
	int			 cols = 0, more;

	while (i < len) {
		more = c[i] < 0x80 ? 0 : c[i] >= 0xf0 ? 3 : c[i] >= 0xe0 ? 2 :
		    c[i] >= 0xc2 ? 1 : -1;
		if (more < 0)
			return -1;
		for (i++; more > 0; more--, i++)
			if (i >= len || (c[i] & 0xc0) != 0x80)
				return -1;
		cols++;
	}
	return cols;
}

/* The lines of text (modified in place) into lines; their number. */
static int
split_lines(char *text, char **lines, int max)
{
	char	*line, *save;
	int	 n = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL && n < max;
	    line = strtok_r(NULL, "\n", &save))
		lines[n++] = line;
	return n;
}

/* The header names every column, in order. */
static void
assert_header(const char *line)
{
	static const char *const names[] = { "PROGRAM", "SLOT", "PID",
	    "STATE", "UPTIME", "RESTARTS", "REPLACED", "CPU", "RSS",
	    "LAST EXIT", "STATUS" };
	const char	*at = line, *next;
	size_t		 i;

	H_ASSERT(strncmp(line, "PROGRAM ", 8) == 0, "header: %s", line);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		next = strstr(at, names[i]);
		H_ASSERT(next != NULL, "no %s (in order) in: %s", names[i],
		    line);
		at = next + strlen(names[i]);
	}
}

/*
 * Not a terminal: nothing is cut, whatever the width.  A row per slot,
 * then the program's summary line.
 */
START_TEST(test_status_table)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*out, *lines[16], pid[32];
	int		 n, i;

	start_ipc(2, 0, LONG_STATUS);
	wait_slots("web", 2, "ready", NULL, 0, s);
	out = ctl_expect(0, "status", NULL);
	n = split_lines(out, lines, 16);
	H_ASSERT(n == 4, "%d lines", n);
	assert_header(lines[0]);
	for (i = 1; i <= 2; i++) {
		snprintf(pid, sizeof(pid), " %lld ", s[i - 1].pid);
		H_ASSERT(strncmp(lines[i], "web ", 4) == 0, "%s", lines[i]);
		assert_contains(lines[i], pid);
		assert_contains(lines[i], " ready ");
		/* slot, restarts 0, replaced 0 ... last exit: none */
		assert_contains(lines[i], " 0        0 ");
		assert_contains(lines[i], " - ");
		H_ASSERT(strlen(lines[i]) > 120 && strstr(lines[i],
		    " " LONG_STATUS) != NULL && strcmp(lines[i] +
		    strlen(lines[i]) - strlen(LONG_STATUS), LONG_STATUS) == 0,
		    "the status is cut: %s", lines[i]);
	}
	H_ASSERT_STR_EQ(lines[3], "web: 2/2 ready");
	free(out);
}
END_TEST

/*
 * On a terminal the table is as wide as the terminal: the status text
 * is cut to fit (never inside a UTF-8 character), the other columns
 * never; on one too narrow for them, lines are longer than it and carry
 * no status.
 */
START_TEST(test_status_tty)
{
	static const int	 widths[] = { 80, 120, 200 };
	struct slotinfo		 s[MAXSLOTS];
	char			*out, *lines[16], pid[32];
	int			 n, i, w, cols;

	start_ipc(2, 0, LONG_STATUS);
	wait_slots("web", 2, "ready", NULL, 0, s);
	for (w = 0; w < 3; w++) {
		out = ctl_pty(0, widths[w], "status", NULL);
		n = split_lines(out, lines, 16);
		H_ASSERT(n == 4, "%d columns: %d lines: %s", widths[w], n,
		    out);
		assert_header(lines[0]);
		for (i = 0; i < n; i++) {
			cols = line_width(lines[i], strlen(lines[i]));
			H_ASSERT(cols >= 0 && cols <= widths[w], "%d "
			    "columns: a line of %d: %s", widths[w], cols,
			    lines[i]);
		}
		for (i = 1; i <= 2; i++) {
			snprintf(pid, sizeof(pid), " %lld ", s[i - 1].pid);
			assert_contains(lines[i], pid);
			assert_contains(lines[i], widths[w] > 80 ?
			    " serving 42" : " serv");
			if (widths[w] < 200)
				H_ASSERT(line_width(lines[i],
				    strlen(lines[i])) >= widths[w] - 1 &&
				    strstr(lines[i], "nor one of 120") ==
				    NULL, "%d columns: not cut to fit: %s",
				    widths[w], lines[i]);
			else
				assert_contains(lines[i], LONG_STATUS);
		}
		H_ASSERT_STR_EQ(lines[3], "web: 2/2 ready");
		free(out);
	}
	out = ctl_pty(0, 30, "status", NULL);
	n = split_lines(out, lines, 16);
	H_ASSERT(n == 4, "30 columns: %d lines: %s", n, out);
	H_ASSERT(strncmp(lines[0], "PROGRAM ", 8) == 0 && strstr(lines[0],
	    "LAST EXIT") != NULL, "30 columns: %s", lines[0]);
	for (i = 1; i <= 2; i++) {
		snprintf(pid, sizeof(pid), " %lld ", s[i - 1].pid);
		assert_contains(lines[i], pid);
		H_ASSERT(strlen(lines[i]) > 30 && strstr(lines[i],
		    "serving") == NULL && lines[i][strlen(lines[i]) - 1] ==
		    '-', "30 columns: %s", lines[i]);
	}
	free(out);
}
END_TEST

/* A status of 2-byte characters is cut between two of them. */
START_TEST(test_status_tty_utf8)
{
	struct slotinfo	 s[MAXSLOTS];
	char		 status[512], *out, *lines[16];
	int		 n, i, cols;

	for (i = 0; i < 90; i++)
		memcpy(status + 2 * i, "\xc3\xa9", 2);
	status[180] = '\0';
	start_ipc(1, 0, status);
	wait_slots("web", 1, "ready", NULL, 0, s);
	out = ctl_pty(0, 81, "status", NULL);
	n = split_lines(out, lines, 16);
	H_ASSERT(n == 3, "%d lines: %s", n, out);
	cols = line_width(lines[1], strlen(lines[1]));
	H_ASSERT(cols == 81, "%d columns, or invalid UTF-8: %s", cols,
	    lines[1]);
	assert_contains(lines[1], "\xc3\xa9\xc3\xa9");
	free(out);
}
END_TEST

START_TEST(test_status_json)
{
	struct slotinfo	 s[MAXSLOTS];
	const char	*want = "{\"ok\":true,\"programs\":[{\"name\":"
			    "\"web\",\"state\":\"running\",\"summary\":"
			    "\"web: 2/2 ready\",\"slots\":2,\"ready\":2,"
			    "\"previous_config\":false,\"workers\":"
			    "[{\"slot\":0,\"pid\":";
	char		*out, state[16];

	start_ipc(2, 0, "ok \"quoted\"");
	wait_slots("web", 2, "ready", NULL, 0, s);
	out = ctl_expect(0, "--json", "status", NULL);
	H_ASSERT(strncmp(out, want, strlen(want)) == 0, "%s", out);
	H_ASSERT(out[strlen(out) - 1] == '\n' &&
	    strchr(out, '\n') == out + strlen(out) - 1, "one line: %s", out);
	free(out);
	H_ASSERT(status_of("web", s, MAXSLOTS, state) == 2, "two slots");
	H_ASSERT_STR_EQ(state, "running");
	H_ASSERT_STR_EQ(s[0].status, "ok \"quoted\"");
	H_ASSERT(s[0].rss > 100 * 1024, "rss %lld", s[0].rss);
	H_ASSERT(s[0].pid > 0 && s[1].pid > 0 && s[0].pid != s[1].pid,
	    "pids %lld %lld", s[0].pid, s[1].pid);
	H_ASSERT(status_of("nope", s, MAXSLOTS, NULL) == -1, "nope");
}
END_TEST

/* Mode 0600 from the start; removed at exit. */
START_TEST(test_socket_file)
{
	struct slotinfo	s[MAXSLOTS];
	struct stat	st;

	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT(lstat(ctl_sock(), &st) == 0, "%s: %s", ctl_sock(),
	    strerror(errno));
	H_ASSERT(S_ISSOCK(st.st_mode), "not a socket");
	H_ASSERT((st.st_mode & 07777) == 0600, "mode %o", st.st_mode & 07777);
	H_ASSERT(h_signal(SIGTERM) == 0, "kill");
	H_ASSERT(daemon_exit_code() == 0, "exit status");
	H_ASSERT(!h_file_exists(ctl_sock()), "the socket file is still there");
}
END_TEST

/* reload waits for the rolling restart: after it, every pid is new. */
START_TEST(test_reload)
{
	struct slotinfo	 s[MAXSLOTS];
	long long	 old[MAXSLOTS];
	char		*out;
	int		 i;

	start_ipc(2, 100, "x");
	wait_slots("web", 2, "ready", NULL, 0, s);
	pids_of(s, 2, old);
	out = ctl_expect(0, "reload", NULL);
	H_ASSERT_STR_EQ(out, "reload done\n");
	free(out);
	H_ASSERT(status_of("web", s, MAXSLOTS, NULL) == 2, "two slots");
	for (i = 0; i < 2; i++)
		H_ASSERT(strcmp(s[i].state, "ready") == 0 &&
		    !in_list(s[i].pid, old, 2), "slot %d: pid %lld %s", i,
		    s[i].pid, s[i].state);
}
END_TEST

/* A broken file: exit 1, every FILE:LINE on stderr, nothing changes. */
START_TEST(test_reload_broken)
{
	struct slotinfo	 s[MAXSLOTS], now[MAXSLOTS];
	char		*err, want[PATH_MAX + 64];

	start_ipc(2, 0, "x");
	wait_slots("web", 2, "ready", NULL, 0, s);
	h_write_config(CTL_HEAD
	    "[program:web]\n"
	    "command = %s\n"
	    "bogus = 1\n"
	    "workers = lots\n", h_worker("ipcworker"));
	err = ctl_stderr(1, "reload", NULL);
	assert_contains(err, "reload failed");
	snprintf(want, sizeof(want), "%s:6: [program:web] unknown key "
	    "\"bogus\"", h_conf());
	assert_contains(err, want);
	snprintf(want, sizeof(want), "%s:7: [program:web] workers:",
	    h_conf());
	assert_contains(err, want);
	free(err);
	H_ASSERT(status_of("web", now, MAXSLOTS, NULL) == 2, "two slots");
	H_ASSERT(now[0].pid == s[0].pid && now[1].pid == s[1].pid,
	    "pids changed: %lld %lld -> %lld %lld", s[0].pid, s[1].pid,
	    now[0].pid, now[1].pid);
	H_ASSERT(h_daemon_alive(), "the daemon exited");
}
END_TEST

/* The time of pid's event in ipcworker's events file of web, or -1. */
static long long
event_time(long long pid, const char *what)
{
	char		*buf = h_read_file(h_path("reports/events.web"));
	char		*line, *save;
	long long	 p, t, found = -1;
	char		 ev[32];

	for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%lld %*s %31s %lld", &p, ev, &t) == 3 &&
		    p == pid && strcmp(ev, what) == 0)
			found = t;
	free(buf);
	return found;
}

/* One slot at a time: the second new worker starts once the first is up. */
START_TEST(test_restart)
{
	struct slotinfo	 s[MAXSLOTS];
	long long	 old[MAXSLOTS], start0, start1;
	char		*out, *err;

	start_ipc(2, 500, "x");
	wait_slots("web", 2, "ready", NULL, 0, s);
	pids_of(s, 2, old);
	out = ctl_expect(0, "restart", "web", NULL);
	H_ASSERT_STR_EQ(out, "web: rolling restart started\n");
	free(out);
	err = ctl_stderr(1, "restart", "web", NULL);
	assert_contains(err, "web is already restarting");
	free(err);
	err = ctl_stderr(1, "restart", "nope", NULL);
	assert_contains(err, "no program \"nope\"");
	free(err);
	wait_slots("web", 2, "ready", old, 2, s);
	H_ASSERT(h_wait_dead((pid_t)old[0], WAIT) &&
	    h_wait_dead((pid_t)old[1], WAIT), "the old workers live on");
	/*
	 * ipcworker notes "ready" just after it says so, and the next slot
	 * may start in between: its start is compared with the first new
	 * worker's start, 500 ms before that one was ready.
	 */
	start0 = event_time(s[0].pid, "start");
	start1 = event_time(s[1].pid, "start");
	H_ASSERT(start0 > 0 && start1 > 0 && start1 - start0 >= 450, "slot "
	    "1's new worker started at %lld, slot 0's at %lld, ready 500 ms "
	    "later", start1, start0);
	/* planned replacements, not crashes */
	H_ASSERT(s[0].replaced == 1 && s[1].replaced == 1 &&
	    s[0].restarts == 0 && s[1].restarts == 0, "replaced %lld %lld, "
	    "restarts %lld %lld", s[0].replaced, s[1].replaced, s[0].restarts,
	    s[1].restarts);
}
END_TEST

START_TEST(test_scale)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*out, *err;

	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	out = ctl_expect(0, "scale", "web", "3", NULL);
	H_ASSERT_STR_EQ(out, "web: scaling to 3 workers\n");
	free(out);
	wait_slots("web", 3, "ready", NULL, 0, s);
	free(ctl_expect(0, "scale", "web", "1", NULL));
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT(h_wait_dead((pid_t)s[1].pid, WAIT) &&
	    h_wait_dead((pid_t)s[2].pid, WAIT), "removed workers live on");
	err = ctl_stderr(2, "scale", "web", "0", NULL);
	assert_contains(err, "expected a number from 1 to 4096");
	free(err);
	free(ctl_stderr(2, "scale", "web", "many", NULL));
	free(ctl_stderr(2, "scale", "web", "4097", NULL));
	err = ctl_stderr(1, "scale", "nope", "2", NULL);
	assert_contains(err, "no program \"nope\"");
	free(err);
}
END_TEST

START_TEST(test_stop_start)
{
	struct slotinfo	 s[MAXSLOTS];
	long long	 old[MAXSLOTS];
	char		 state[16], *out;

	start_ipc(2, 0, "x");
	wait_slots("web", 2, "ready", NULL, 0, s);
	pids_of(s, 2, old);
	out = ctl_expect(0, "stop", "web", NULL);
	H_ASSERT_STR_EQ(out, "web: stopping\n");
	free(out);
	wait_slots("web", 2, "stopped", NULL, 0, s);
	H_ASSERT(status_of("web", s, MAXSLOTS, state) == 2, "two slots");
	H_ASSERT_STR_EQ(state, "stopped");
	H_ASSERT(h_pid_dead((pid_t)old[0]) && h_pid_dead((pid_t)old[1]),
	    "stopped workers live on");
	out = ctl_expect(0, "start", "web", NULL);
	H_ASSERT_STR_EQ(out, "web: starting\n");
	free(out);
	wait_slots("web", 2, "ready", old, 2, s);
	H_ASSERT(status_of("web", s, MAXSLOTS, state) == 2, "two slots");
	H_ASSERT_STR_EQ(state, "running");
}
END_TEST

/* reporter exits 0 on SIGUSR1; restart = always brings it back. */
START_TEST(test_signal)
{
	struct slotinfo	 s[MAXSLOTS];
	long long	 old;
	char		*out, *err, want[64];

	h_write_config(CTL_HEAD
	    "[program:web]\n"
	    "command = %s\n"
	    "ready = exec\n", h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_slots("web", 1, "ready", NULL, 0, s);
	old = s[0].pid;
	out = ctl_expect(0, "signal", "web", "usr1", NULL);
	H_ASSERT_STR_EQ(out, "web: sent usr1\n");
	free(out);
	snprintf(want, sizeof(want), "reporter %lld got signal %d", old,
	    SIGUSR1);
	H_ASSERT(h_wait_text(h_out(), want, 1, WAIT), "no \"%s\"", want);
	wait_slots("web", 1, "ready", &old, 1, s);
	H_ASSERT(s[0].restarts == 1, "restarts %lld", s[0].restarts);
	err = ctl_stderr(2, "signal", "web", "10", NULL);
	assert_contains(err, "signal numbers are not accepted");
	free(err);
	free(ctl_stderr(2, "signal", "web", "NOSUCH", NULL));
	err = ctl_stderr(1, "signal", "nope", "HUP", NULL);
	assert_contains(err, "no program \"nope\"");
	free(err);
}
END_TEST

START_TEST(test_shutdown)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*out;

	start_ipc(2, 0, "x");
	wait_slots("web", 2, "ready", NULL, 0, s);
	out = ctl_expect(0, "shutdown", NULL);
	H_ASSERT_STR_EQ(out, "clusterd is shutting down\n");
	free(out);
	H_ASSERT(daemon_exit_code() == 0, "exit status");
	H_ASSERT(!h_file_exists(ctl_sock()), "the socket file is still there");
	H_ASSERT(h_wait_no_marked(WAIT), "processes left behind");
}
END_TEST

/* A second clusterd on the same socket stops; the first goes on. */
START_TEST(test_second_daemon)
{
	struct slotinfo	 s[MAXSLOTS];
	char		 conf[PATH_MAX], *err, want[PATH_MAX + 96];
	const char	*argv[] = { getenv("CLUSTERD_BIN"), "-c", conf, NULL };

	snprintf(conf, sizeof(conf), "%s", h_conf());
	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT(argv[0] != NULL, "CLUSTERD_BIN");
	H_ASSERT(run(argv, NULL, NULL, &err) == 1, "second daemon: %s", err);
	snprintf(want, sizeof(want), "control socket %s is in use by another "
	    "clusterd (or another process)", ctl_sock());
	assert_contains(err, want);
	free(err);
	H_ASSERT(h_file_exists(ctl_sock()), "the socket file is gone");
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT(h_daemon_alive(), "the first daemon exited");
}
END_TEST

/* A socket file nobody listens on is replaced. */
START_TEST(test_stale_socket)
{
	struct slotinfo		s[MAXSLOTS];
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctl_sock());
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	H_ASSERT(fd != -1 && bind(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0, "bind: %s", strerror(errno));
	close(fd);
	H_ASSERT(h_file_exists(ctl_sock()), "no stale file");
	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT(h_wait_log("replaced a stale socket file", 1, WAIT),
	    "not logged");
}
END_TEST

/* A file that is not a socket: a start-up error, and it stays. */
START_TEST(test_not_a_socket)
{
	char	*text;

	h_write_file(ctl_sock(), "precious\n");
	start_ipc(1, 0, "x");
	H_ASSERT(daemon_exit_code() == 1, "exit status");
	H_ASSERT(h_wait_log("is not a socket; not removing it", 1, WAIT),
	    "no message");
	text = h_read_file(ctl_sock());
	H_ASSERT(text != NULL && strcmp(text, "precious\n") == 0,
	    "the file was touched");
	free(text);
}
END_TEST


/* What clusterctl never sends: the daemon answers, and goes on. */
START_TEST(test_bad_requests)
{
	struct slotinfo	 s[MAXSLOTS];
	char		 buf[1024], big[5001];
	int		 fd;

	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT(h_request_unix(ctl_sock(), "garbage\n", buf, sizeof(buf),
	    WAIT) > 0, "no reply");
	assert_contains(buf, "{\"ok\":false,\"error\":\"malformed request: ");
	H_ASSERT(h_request_unix(ctl_sock(), "[\"status\"]\n", buf,
	    sizeof(buf), WAIT) > 0, "no reply");
	assert_contains(buf, "malformed request: expected an object");
	H_ASSERT(h_request_unix(ctl_sock(), "{\"cmd\":\"frob\"}\n", buf,
	    sizeof(buf), WAIT) > 0, "no reply");
	H_ASSERT_STR_EQ(buf, "{\"ok\":false,\"error\":\"unknown command "
	    "\\\"frob\\\"\"}\n");
	H_ASSERT(h_request_unix(ctl_sock(), "{\"cmd\":\"scale\",\"program\":"
	    "\"web\",\"workers\":1.5}\n", buf, sizeof(buf), WAIT) > 0,
	    "no reply");
	assert_contains(buf, "a number from 1 to 4096");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	H_ASSERT(h_request_unix(ctl_sock(), big, buf, sizeof(buf), WAIT) > 0,
	    "no reply");
	assert_contains(buf, "request too long");
	/* no newline: not a request yet; then half-closed: it is one */
	H_ASSERT((fd = h_connect_unix(ctl_sock())) != -1, "connect");
	H_ASSERT(h_send(fd, "{\"cmd\":\"status\"}") == 0, "send");
	H_ASSERT(h_recv_all(fd, buf, sizeof(buf), 300) == -1,
	    "answered before the end of the line: %s", buf);
	H_ASSERT(shutdown(fd, SHUT_WR) == 0, "shutdown");
	H_ASSERT(h_recv_all(fd, buf, sizeof(buf), WAIT) > 0, "no reply");
	close(fd);
	assert_contains(buf, "{\"ok\":true,\"programs\":[");
}
END_TEST

/* A client that says nothing is closed at 5s; others are served. */
START_TEST(test_idle_client)
{
	struct slotinfo	 s[MAXSLOTS];
	long long	 t0, took;
	char		 buf[64];
	int		 fd;

	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT((fd = h_connect_unix(ctl_sock())) != -1, "connect");
	t0 = h_now_ms();
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT(h_now_ms() - t0 < 3000, "status waited for the idle client");
	H_ASSERT(h_recv_all(fd, buf, sizeof(buf), WAIT) == 0,
	    "the idle client got something: %s", buf);
	took = h_now_ms() - t0;
	close(fd);
	H_ASSERT(took >= 4000 && took <= 9000, "closed after %lldms", took);
}
END_TEST

/* Past 64 connections: an error line; served again once they go. */
/*
 * 300 idle connections (no request) do not lock out a client: the oldest
 * idle one makes room.  Only when every connection is busy with a
 * request (64 reloads waiting for a rolling restart) is a new one
 * refused.
 */
START_TEST(test_connection_cap)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*err, *out;
	int		 fds[300], i;
	long long	 t0;

	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	for (i = 0; i < 300; i++)
		H_ASSERT((fds[i] = h_connect_unix(ctl_sock())) != -1,
		    "connect %d", i);
	t0 = h_now_ms();
	out = ctl_expect(0, "status", NULL);
	H_ASSERT(h_now_ms() - t0 < 3000, "status took %lld ms",
	    h_now_ms() - t0);
	free(out);
	for (i = 0; i < 300; i++)
		close(fds[i]);

	/* new workers that never become ready: a reload takes its time */
	h_write_config(CTL_HEAD
	    "[program:web]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "ready_timeout = 60s\n"
	    "stop_timeout = 3s\n"
	    "env = READY_AFTER_MS=-1\n", h_worker("ipcworker"));
	for (i = 0; i < 64; i++) {
		H_ASSERT((fds[i] = h_connect_unix(ctl_sock())) != -1,
		    "connect %d", i);
		H_ASSERT(h_send(fds[i], "{\"cmd\":\"reload\"}\n") == 0,
		    "send %d", i);
	}
	H_ASSERT(h_wait_log("control socket: reload", 64, WAIT),
	    "64 reload requests");
	err = ctl_stderr(1, "status", NULL);
	assert_contains(err, "too many control connections");
	free(err);
	for (i = 0; i < 64; i++)
		close(fds[i]);
}
END_TEST



/*
 * The summary of program prog, from `clusterctl --json status`: 0, or
 * -1 if there is no such program.
 */
static int
summary_of(const char *prog, char *buf, size_t len)
{
	struct json_val	 top, progs, p;
	char		*out, name[NAME_MAXLEN], err[128];
	int		 found = -1;

	free(ctl_stderr(0, "--json", "status", NULL));
	out = ctl_expect(0, "--json", "status", NULL);
	H_ASSERT(json_parse(out, strlen(out), &top, err, sizeof(err)) == 0 &&
	    json_get(&top, "programs", &progs) == 0, "%s: %s", err, out);
	p.jv_text = NULL;
	while (found == -1 && json_next(&progs, &p))
		if (get_str(&p, "name", name, sizeof(name)) == 0 &&
		    strcmp(name, prog) == 0) {
			H_ASSERT(get_str(&p, "summary", buf, len) == 0, "%s",
			    out);
			found = 0;
		}
	free(out);
	return found;
}

/* Wait until prog's summary holds needle; the summary. */
static void
wait_summary(const char *prog, const char *needle, char *buf, size_t len)
{
	long long	end = h_now_ms() + WAIT;

	for (;;) {
		H_ASSERT(h_daemon_alive(), "the daemon exited");
		if (summary_of(prog, buf, len) == 0 && strstr(buf,
		    needle) != NULL)
			return;
		H_ASSERT(h_now_ms() < end, "%s: no \"%s\" in its summary: "
		    "\"%s\"", prog, needle, buf);
		h_sleep_ms(50);
	}
}

/* `clusterctl check`: its exit status, and what it said where. */
static void
check_says(int want, const char *out_want, const char *err_want)
{
	char	*out, *err;
	int	 rc = ctl(&out, &err, "check", (const char *)NULL);

	H_ASSERT(rc == want, "check: exit %d, expected %d; stdout: %s; "
	    "stderr: %s", rc, want, out, err);
	H_ASSERT_STR_EQ(out, out_want);
	if (err_want[0] == '\0')
		H_ASSERT_STR_EQ(err, "");
	else
		assert_contains(err, err_want);
	free(out);
	free(err);
}

/* status PROGRAM: that program alone, in text and JSON. */
START_TEST(test_status_program)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*out, *err, *lines[16];
	int		 n;

	h_write_config(CTL_HEAD
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "ready = message\n"
	    "env = READY_AFTER_MS=0\n"
	    "[program:api]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "env = READY_AFTER_MS=0\n", h_worker("ipcworker"),
	    h_worker("ipcworker"));
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_slots("web", 2, "ready", NULL, 0, s);
	wait_slots("api", 1, "ready", NULL, 0, s);
	out = ctl_expect(0, "status", "api", NULL);
	n = split_lines(out, lines, 16);
	H_ASSERT(n == 3, "%d lines: %s", n, out);
	assert_header(lines[0]);
	H_ASSERT(strncmp(lines[1], "api ", 4) == 0, "%s", lines[1]);
	H_ASSERT_STR_EQ(lines[2], "api: 1/1 ready");
	free(out);
	out = ctl_expect(0, "status", NULL);
	n = split_lines(out, lines, 16);
	H_ASSERT(n == 6, "%d lines", n);
	H_ASSERT_STR_EQ(lines[4], "web: 2/2 ready");
	H_ASSERT_STR_EQ(lines[5], "api: 1/1 ready");
	free(out);
	err = ctl_stderr(1, "status", "nope", NULL);
	H_ASSERT_STR_EQ(err, "clusterctl: no program \"nope\"\n");
	free(err);
	out = ctl_expect(0, "--json", "status", "api", NULL);
	H_ASSERT(strncmp(out, "{\"ok\":true,\"programs\":[{\"name\":"
	    "\"api\",", 33) == 0 && strstr(out, "\"web\"") == NULL &&
	    strcmp(out + strlen(out) - 4, "}]}\n") == 0, "%s", out);
	free(out);
	out = ctl_expect(1, "--json", "status", "nope", NULL);
	H_ASSERT_STR_EQ(out, "{\"ok\":false,\"error\":\"no program "
	    "\\\"nope\\\"\"}\n");
	free(out);
}
END_TEST

/* Every worker ready: check exits 0, quiet unless on a terminal. */
START_TEST(test_state_ready)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*out, summary[512];

	start_ipc(2, 0, "x");
	wait_slots("web", 2, "ready", NULL, 0, s);
	H_ASSERT(summary_of("web", summary, sizeof(summary)) == 0, "web");
	H_ASSERT_STR_EQ(summary, "web: 2/2 ready");
	check_says(0, "", "");
	out = ctl_pty(0, 80, "check", NULL);
	H_ASSERT_STR_EQ(out, "ready\n");
	free(out);
	out = ctl_expect(0, "--json", "check", NULL);
	H_ASSERT_STR_EQ(out, "{\"ok\":true,\"ready\":true}\n");
	free(out);
}
END_TEST

/* Workers that are not ready yet. */
START_TEST(test_state_starting)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*out, summary[512];

	h_write_config(CTL_HEAD
	    "[program:web]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "ready_timeout = 60s\n"
	    "env = READY_AFTER_MS=-1\n", h_worker("ipcworker"));
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_slots("web", 1, "starting", NULL, 0, s);
	H_ASSERT(summary_of("web", summary, sizeof(summary)) == 0, "web");
	H_ASSERT_STR_EQ(summary, "web: 0/1 ready");
	check_says(1, "", "clusterctl: not ready: web: 0/1 ready\n");
	out = ctl_expect(1, "--json", "check", NULL);
	H_ASSERT_STR_EQ(out, "{\"ok\":true,\"ready\":false,\"reason\":"
	    "\"web: 0/1 ready\"}\n");
	free(out);
}
END_TEST

/* During a rolling restart, and after it. */
START_TEST(test_state_rolling)
{
	struct slotinfo	 s[MAXSLOTS];
	char		 summary[512];

	start_ipc(2, 1500, "x");
	wait_slots("web", 2, "ready", NULL, 0, s);
	free(ctl_expect(0, "restart", "web", NULL));
	wait_summary("web", "rolling restart", summary, sizeof(summary));
	H_ASSERT(strcmp(summary, "web: rolling restart 0/2") == 0 ||
	    strcmp(summary, "web: rolling restart 1/2") == 0, "%s", summary);
	check_says(1, "", "clusterctl: not ready: web: rolling restart ");
	wait_summary("web", "web: 2/2 ready", summary, sizeof(summary));
	check_says(0, "", "");
}
END_TEST

/*
 * A program that fails at once: crash-looping, with its last exit in the
 * table; a ready one beside it is not named by check.
 */
START_TEST(test_state_crashloop)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*out, summary[512];

	h_write_config(CTL_HEAD
	    "[program:web]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "env = READY_AFTER_MS=0\n"
	    "[program:bad]\n"
	    "command = /bin/false\n", h_worker("ipcworker"));
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_slots("web", 1, "ready", NULL, 0, s);
	wait_summary("bad", "crash-looping", summary, sizeof(summary));
	H_ASSERT(strncmp(summary, "bad: crash-looping, ", 20) == 0 &&
	    strstr(summary, " fast failures, next start in ") != NULL,
	    "%s", summary);
	check_says(1, "", "clusterctl: not ready: bad: crash-looping, ");
	out = ctl_stderr(1, "check", NULL);
	H_ASSERT(strstr(out, "web") == NULL && strchr(out, '\n') ==
	    out + strlen(out) - 1, "one line, bad only: %s", out);
	free(out);
	out = ctl_expect(0, "status", "bad", NULL);
	assert_contains(out, " backoff ");
	assert_contains(out, " exit 1 after ");
	assert_contains(out, "\nbad: crash-looping, ");
	free(out);
}
END_TEST

START_TEST(test_state_stopped)
{
	struct slotinfo	 s[MAXSLOTS];
	char		 summary[512];

	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	free(ctl_expect(0, "stop", "web", NULL));
	wait_slots("web", 1, "stopped", NULL, 0, s);
	H_ASSERT(summary_of("web", summary, sizeof(summary)) == 0, "web");
	H_ASSERT_STR_EQ(summary, "web: stopped");
	check_says(1, "", "clusterctl: not ready: web: stopped\n");
}
END_TEST

/*
 * A reload whose new workers fail: the program keeps serving on its
 * previous configuration, and says so; check counts it ready (it is).
 */
START_TEST(test_state_previous_config)
{
	struct slotinfo	 s[MAXSLOTS], now[MAXSLOTS];
	char		*err, summary[512];

	start_ipc(2, 0, "x");
	wait_slots("web", 2, "ready", NULL, 0, s);
	h_write_config(CTL_HEAD
	    "[program:web]\n"
	    "command = /bin/false\n"
	    "workers = 2\n");
	err = ctl_stderr(1, "reload", NULL);
	assert_contains(err, "clusterctl: reload failed: ");
	free(err);
	H_ASSERT(summary_of("web", summary, sizeof(summary)) == 0, "web");
	H_ASSERT_STR_EQ(summary, "web: 2/2 ready, on its previous "
	    "configuration: the last reload failed");
	H_ASSERT(status_of("web", now, MAXSLOTS, NULL) == 2 &&
	    now[0].pid == s[0].pid && now[1].pid == s[1].pid, "replaced");
	check_says(0, "", "");
}
END_TEST

/* No daemon: check cannot connect (3), as a probe must tell apart. */
START_TEST(test_check_no_daemon)
{
	char	*err = ctl_stderr(3, "check", NULL);

	assert_contains(err, "cannot connect to ");
	free(err);
}
END_TEST

/* Lines of text that hold needle. */
static int
count_in(const char *text, const char *needle)
{
	const char	*at = text;
	int		 n = 0;

	while ((at = strstr(at, needle)) != NULL) {
		n++;
		at += strlen(needle);
	}
	return n;
}

/* The last line of text, without its newline (static). */
static const char *
last_line(const char *text)
{
	static char	 buf[1024];
	size_t		 len = strlen(text);
	const char	*start;

	while (len > 0 && text[len - 1] == '\n')
		len--;
	for (start = text + len; start > text && start[-1] != '\n'; start--)
		;
	snprintf(buf, sizeof(buf), "%.*s", (int)(text + len - start),
	    start);
	return buf;
}

/*
 * restart --wait: a line per step of each slot, and it returns once the
 * last new worker is ready.
 */
START_TEST(test_wait_restart)
{
	struct slotinfo	 s[MAXSLOTS], now[MAXSLOTS];
	long long	 old[MAXSLOTS];
	char		*out, want[128];
	int		 i;

	start_ipc(2, 300, "x");
	wait_slots("web", 2, "ready", NULL, 0, s);
	pids_of(s, 2, old);
	out = ctl_expect(0, "--wait", "restart", "web", NULL);
	H_ASSERT_STR_EQ(last_line(out), "web: rolling restart done");
	H_ASSERT(status_of("web", now, MAXSLOTS, NULL) == 2, "two slots");
	for (i = 0; i < 2; i++) {
		H_ASSERT(strcmp(now[i].state, "ready") == 0 &&
		    !in_list(now[i].pid, old, 2), "returned before the end: "
		    "slot %d: pid %lld %s", i, now[i].pid, now[i].state);
		snprintf(want, sizeof(want), "web[%d]: pid %lld is ready\n",
		    i, now[i].pid);
		assert_contains(out, want);
		snprintf(want, sizeof(want), "web[%d]: pid %lld replaced by "
		    "pid %lld\n", i, old[i], now[i].pid);
		assert_contains(out, want);
	}
	free(out);
	/* the same, as JSON lines */
	pids_of(now, 2, old);
	out = ctl_expect(0, "-w", "--json", "restart", "web", NULL);
	H_ASSERT(strncmp(out, "{\"progress\":\"web[", 17) == 0 &&
	    strcmp(last_line(out), "{\"ok\":true}") == 0, "%s", out);
	H_ASSERT(count_in(out, "{\"progress\":") >= 4, "%s", out);
	free(out);
}
END_TEST

/*
 * Every worker --wait started says so: the first one too, which
 * clusterd starts before it answers.  (Fails while ctlcmd.c takes its
 * first life event after the command has run: program_roll(),
 * program_scale() and program_start() record "started" synchronously,
 * before wait_on() sets cw_first = slot_event_next().)
 */
START_TEST(test_wait_start_lines)
{
	struct slotinfo	 s[MAXSLOTS], now[MAXSLOTS];
	char		*out, want[128];

	start_ipc(1, 200, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	out = ctl_expect(0, "--wait", "restart", "web", NULL);
	H_ASSERT(status_of("web", now, MAXSLOTS, NULL) == 1, "one slot");
	snprintf(want, sizeof(want), "web[0]: pid %lld started\n",
	    now[0].pid);
	assert_contains(out, want);
	free(out);
	out = ctl_expect(0, "--wait", "scale", "web", "2", NULL);
	H_ASSERT(status_of("web", now, MAXSLOTS, NULL) == 2, "two slots");
	snprintf(want, sizeof(want), "web[1]: pid %lld started\n",
	    now[1].pid);
	assert_contains(out, want);
	free(out);
	free(ctl_expect(0, "--wait", "stop", "web", NULL));
	out = ctl_expect(0, "--wait", "start", "web", NULL);
	H_ASSERT(status_of("web", now, MAXSLOTS, NULL) == 2, "two slots");
	snprintf(want, sizeof(want), "web[0]: pid %lld started\n",
	    now[0].pid);
	assert_contains(out, want);
	free(out);
}
END_TEST

/* scale --wait, up: every new worker ready; down: the removed ones gone. */
START_TEST(test_wait_scale)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*out, want[128];
	int		 i;

	start_ipc(1, 300, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	out = ctl_expect(0, "--wait", "scale", "web", "3", NULL);
	H_ASSERT_STR_EQ(last_line(out), "web: 3 workers, all ready");
	H_ASSERT(status_of("web", s, MAXSLOTS, NULL) == 3, "three slots");
	for (i = 1; i < 3; i++) {
		H_ASSERT(strcmp(s[i].state, "ready") == 0, "returned before "
		    "the end: slot %d: %s", i, s[i].state);
		snprintf(want, sizeof(want), "web[%d]: pid %lld is ready\n",
		    i, s[i].pid);
		assert_contains(out, want);
	}
	free(out);
	out = ctl_expect(0, "--wait", "scale", "web", "1", NULL);
	H_ASSERT_STR_EQ(last_line(out), "web: 1 worker, all ready");
	for (i = 1; i < 3; i++) {
		H_ASSERT(h_pid_dead((pid_t)s[i].pid), "returned before pid "
		    "%lld was gone", s[i].pid);
		snprintf(want, sizeof(want), "web[%d]: pid %lld stopped: ",
		    i, s[i].pid);
		assert_contains(out, want);
	}
	H_ASSERT(status_of("web", s, MAXSLOTS, NULL) == 1, "one slot");
	free(out);
}
END_TEST

/* stop --wait returns once every worker is gone; start once all ready. */
START_TEST(test_wait_stop_start)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*out, want[128];
	int		 i;

	start_ipc(2, 300, "x");
	wait_slots("web", 2, "ready", NULL, 0, s);
	out = ctl_expect(0, "--wait", "stop", "web", NULL);
	H_ASSERT_STR_EQ(last_line(out), "web: stopped");
	for (i = 0; i < 2; i++) {
		H_ASSERT(h_pid_dead((pid_t)s[i].pid), "returned before pid "
		    "%lld was gone", s[i].pid);
		snprintf(want, sizeof(want), "web[%d]: pid %lld stopped: ",
		    i, s[i].pid);
		assert_contains(out, want);
	}
	free(out);
	out = ctl_expect(0, "--wait", "start", "web", NULL);
	H_ASSERT_STR_EQ(last_line(out), "web: started, every worker ready");
	H_ASSERT(status_of("web", s, MAXSLOTS, NULL) == 2, "two slots");
	for (i = 0; i < 2; i++) {
		H_ASSERT(strcmp(s[i].state, "ready") == 0, "returned before "
		    "the end: slot %d: %s", i, s[i].state);
		snprintf(want, sizeof(want), "web[%d]: pid %lld is ready\n",
		    i, s[i].pid);
		assert_contains(out, want);
	}
	free(out);
}
END_TEST

/*
 * reload --wait: progress, then the outcome, once every worker is new.
 * Without --wait: the progress only on a terminal.
 */
START_TEST(test_wait_reload)
{
	struct slotinfo	 s[MAXSLOTS], now[MAXSLOTS];
	long long	 old[MAXSLOTS];
	char		*out, want[128];
	int		 i;

	start_ipc(2, 300, "x");
	wait_slots("web", 2, "ready", NULL, 0, s);
	pids_of(s, 2, old);
	out = ctl_expect(0, "reload", "--wait", NULL);
	H_ASSERT_STR_EQ(last_line(out), "reload done");
	H_ASSERT(status_of("web", now, MAXSLOTS, NULL) == 2, "two slots");
	for (i = 0; i < 2; i++) {
		H_ASSERT(strcmp(now[i].state, "ready") == 0 &&
		    !in_list(now[i].pid, old, 2), "returned before the end: "
		    "slot %d: pid %lld %s", i, now[i].pid, now[i].state);
		snprintf(want, sizeof(want), "web[%d]: pid %lld replaced by "
		    "pid %lld\n", i, old[i], now[i].pid);
		assert_contains(out, want);
	}
	free(out);
	pids_of(now, 2, old);
	out = ctl_pty(0, 80, "reload", NULL);
	H_ASSERT_STR_EQ(last_line(out), "reload done");
	H_ASSERT(status_of("web", now, MAXSLOTS, NULL) == 2, "two slots");
	for (i = 0; i < 2; i++) {
		snprintf(want, sizeof(want), "web[%d]: pid %lld replaced by "
		    "pid %lld\n", i, old[i], now[i].pid);
		assert_contains(out, want);
	}
	free(out);
}
END_TEST

/*
 * --timeout: clusterctl says the operation goes on, exits 1, and it
 * does go on.
 */
START_TEST(test_wait_timeout)
{
	struct slotinfo	 s[MAXSLOTS];
	long long	 old, t0, took;
	char		*err;

	start_ipc(1, 2500, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	old = s[0].pid;
	t0 = h_now_ms();
	err = ctl_stderr(1, "--wait", "--timeout", "500ms", "restart", "web",
	    NULL);
	took = h_now_ms() - t0;
	H_ASSERT_STR_EQ(err, "clusterctl: restart web: still under way "
	    "after 500ms; the operation goes on\n");
	free(err);
	H_ASSERT(took >= 500 && took < 2000, "returned after %lld ms", took);
	wait_slots("web", 1, "ready", &old, 1, s);
	old = s[0].pid;
	err = ctl_stderr(1, "--timeout", "0.3", "reload", NULL);
	H_ASSERT_STR_EQ(err, "clusterctl: reload: still under way after "
	    "300ms; the operation goes on\n");
	free(err);
	wait_slots("web", 1, "ready", &old, 1, s);
	H_ASSERT(h_wait_log("reload done", 1, WAIT), "the reload stopped");
	err = ctl_stderr(2, "--timeout", "0", "status", NULL);
	assert_contains(err, "--timeout: must be more than 0");
	free(err);
	err = ctl_stderr(2, "--timeout", "soon", "status", NULL);
	assert_contains(err, "--timeout: expected a duration");
	free(err);
	err = ctl_stderr(2, "--wait", "status", NULL);
	assert_contains(err, "--wait: status does not take it");
	free(err);
}
END_TEST

/* -s, then CLUSTERD_CONTROL, then -c's control key. */
START_TEST(test_find_socket)
{
	struct slotinfo	 s[MAXSLOTS];
	char		 envbuf[PATH_MAX + 32], conf[PATH_MAX], *out, *err;
	const char	*env[] = { envbuf, NULL };
	const char	*noenv[] = { "CLUSTERD_CONTROL=", NULL };
	const char	*badenv[] = { "CLUSTERD_CONTROL=/nonexistent.sock",
			    NULL };

	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	snprintf(conf, sizeof(conf), "%s", h_conf());
	snprintf(envbuf, sizeof(envbuf), "CLUSTERD_CONTROL=%s", ctl_sock());
	H_ASSERT(ctl_env(env, &out, &err, "status", "web", NULL) == 0,
	    "CLUSTERD_CONTROL: %s", err);
	assert_contains(out, "web: 1/1 ready");
	free(out);
	free(err);
	H_ASSERT(ctl_env(noenv, &out, &err, "-c", conf, "status", NULL) == 0,
	    "-c: %s", err);
	assert_contains(out, "web: 1/1 ready");
	free(out);
	free(err);
	/* -s before CLUSTERD_CONTROL; CLUSTERD_CONTROL before -c */
	H_ASSERT(ctl_env(badenv, NULL, &err, "-s", ctl_sock(), "check",
	    NULL) == 0, "-s: %s", err);
	free(err);
	H_ASSERT(ctl_env(badenv, NULL, &err, "-c", conf, "check", NULL) == 3,
	    "CLUSTERD_CONTROL then -c: %s", err);
	assert_contains(err, "/nonexistent.sock (from CLUSTERD_CONTROL): no "
	    "such file");
	free(err);
	/* a file that does not load, or has no control key */
	h_write_file(h_path("bad.ini"), "[clusterd]\ncontrol = x.sock\n"
	    "bogus = 1\n");
	H_ASSERT(ctl_env(noenv, NULL, &err, "-c", h_path("bad.ini"),
	    "status", NULL) == 2, "bad.ini: %s", err);
	assert_contains(err, "the configuration has errors");
	assert_contains(err, "bad.ini:3: [clusterd] unknown key \"bogus\"");
	free(err);
	h_write_file(h_path("none.ini"), "[program:x]\ncommand = /bin/true\n");
	H_ASSERT(ctl_env(noenv, NULL, &err, "-c", h_path("none.ini"),
	    "status", NULL) == 2, "none.ini: %s", err);
	assert_contains(err, "the configuration has no control key");
	free(err);
	H_ASSERT(ctl_env(env, NULL, &err, "-c", h_path("bad.ini"), "check",
	    NULL) == 0, "CLUSTERD_CONTROL, -c not read: %s", err);
	free(err);
}
END_TEST

#define RUN_DIR		"/run/clusterd"
#define DEFAULT_SOCK	RUN_DIR "/clusterd.sock"

/*
 * With none of -s, CLUSTERD_CONTROL, -c: /run/clusterd/clusterd.sock.
 * Only where nothing is there already; what the test made goes before
 * any assertion.
 */
START_TEST(test_default_socket)
{
	struct stat	 st;
	const char	*noenv[] = { "CLUSTERD_CONTROL=", NULL };
	char		*out = NULL, *err = NULL, *err2 = NULL;
	int		 made_dir = 0, up, rc = -1, rc2;

	if (lstat(DEFAULT_SOCK, &st) == 0 || errno != ENOENT) {
		fprintf(stderr, "test_default_socket: %s exists; skipped\n",
		    DEFAULT_SOCK);
		return;
	}
	if (mkdir(RUN_DIR, 0755) == 0)
		made_dir = 1;
	h_write_config("[clusterd]\ncontrol = " DEFAULT_SOCK "\n\n"
	    "[program:web]\ncommand = %s\nready = message\n"
	    "env = READY_AFTER_MS=0\n", h_worker("ipcworker"));
	up = h_start(NULL) > 0 && h_wait_file(DEFAULT_SOCK, 1, WAIT);
	if (up)
		rc = ctl_env(noenv, &out, &err, "status", NULL);
	if (h_daemon_alive())
		h_signal(SIGTERM);
	(void)daemon_exit_code();
	if (lstat(DEFAULT_SOCK, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(DEFAULT_SOCK);
	rc2 = ctl_env(noenv, NULL, &err2, "status", NULL);
	if (made_dir)
		rmdir(RUN_DIR);
	H_ASSERT(up, "the daemon did not listen on %s", DEFAULT_SOCK);
	H_ASSERT(rc == 0, "status: exit %d: %s", rc, err);
	assert_contains(out, "PROGRAM ");
	H_ASSERT(rc2 == 3, "no daemon: exit %d", rc2);
	assert_contains(err2, "clusterctl: cannot connect to " DEFAULT_SOCK
	    " (the default): no such file: clusterd is not running, or its "
	    "control key names another path (name it with -s SOCKET, "
	    "CLUSTERD_CONTROL or -c CONFIG)");
	free(out);
	free(err);
	free(err2);
}
END_TEST

/* Each reason a connection fails, said as it is. */
START_TEST(test_connect_errors)
{
	struct sockaddr_un	 sun;
	char			*err, want[2 * PATH_MAX];
	int			 fd;

	err = ctl_stderr(3, "status", NULL);
	snprintf(want, sizeof(want), "clusterctl: cannot connect to %s: no "
	    "such file: clusterd is not running, or its control key names "
	    "another path\n", ctl_sock());
	H_ASSERT_STR_EQ(err, want);
	free(err);
	/* a socket file nobody listens on */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctl_sock());
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	H_ASSERT(fd != -1 && bind(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0, "bind: %s", strerror(errno));
	close(fd);
	err = ctl_stderr(3, "status", NULL);
	snprintf(want, sizeof(want), "clusterctl: cannot connect to %s: "
	    "nobody is listening (connection refused): clusterd is not "
	    "running; the file is a stale socket left behind\n", ctl_sock());
	H_ASSERT_STR_EQ(err, want);
	free(err);
	unlink(ctl_sock());
	h_write_file(ctl_sock(), "not a socket\n");
	err = ctl_stderr(3, "status", NULL);
	snprintf(want, sizeof(want), "clusterctl: cannot connect to %s: the "
	    "file is not a socket\n", ctl_sock());
	H_ASSERT_STR_EQ(err, want);
	free(err);
}
END_TEST

/* Root and setpriv, to be another user; else the test is skipped. */
static int
can_setpriv(const char *test)
{
	if (geteuid() == 0 && access(SETPRIV, X_OK) == 0)
		return 1;
	fprintf(stderr, "%s: needs root and setpriv; skipped\n", test);
	return 0;
}

/* clusterctl -s ctl.sock CMD as uid 65534, with setpriv's group args. */
static int
ctl_as_nobody(const char *regid, const char *groups, const char *cmd,
    char **err)
{
	char		 sock[PATH_MAX];
	const char	*argv[] = { SETPRIV, "--reuid=65534", regid, groups,
			    h_ctl_bin(), "-s", sock, cmd, NULL };

	snprintf(sock, sizeof(sock), "%s", ctl_sock());
	return run(argv, NULL, NULL, err);
}

/*
 * Another uid.  With the socket's mode 0600 it cannot even connect
 * (exit 3, and who may).  To reach the SO_PEERCRED check the test opens
 * the socket to everyone (chmod 0666, as root): the daemon must still
 * refuse, with a "permission denied:" line (exit 3 as well), and log it.
 */
START_TEST(test_peer_uid)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*err, want[2 * PATH_MAX];

	if (!can_setpriv("test_peer_uid"))
		return;
	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT(ctl_as_nobody("--regid=65534", "--clear-groups", "status",
	    &err) == 3, "0600: %s", err);
	snprintf(want, sizeof(want), "clusterctl: cannot connect to %s: "
	    "permission denied for nobody (uid 65534): only root may use "
	    "it\n", ctl_sock());
	H_ASSERT_STR_EQ(err, want);
	free(err);
	H_ASSERT(chmod(ctl_sock(), 0666) == 0, "chmod: %s", strerror(errno));
	H_ASSERT(ctl_as_nobody("--regid=65534", "--clear-groups", "status",
	    &err) == 3, "0666: %s", err);
	snprintf(want, sizeof(want), "clusterctl: cannot use %s: clusterd "
	    "refused the connection: permission denied: uid 65534 is "
	    "neither root nor clusterd's (uid 0)\n", ctl_sock());
	H_ASSERT_STR_EQ(err, want);
	free(err);
	H_ASSERT(h_wait_log("uid 65534 is neither root nor clusterd's", 1,
	    WAIT), "not logged");
	wait_slots("web", 1, "ready", NULL, 0, s);
}
END_TEST

/*
 * Who may use a socket, from its file: a socket of another owner, with
 * its group allowed.  Nobody listens on it: the permission is checked
 * first.
 */
START_TEST(test_who_may)
{
	struct sockaddr_un	 sun;
	struct group		*gr = getgrnam("users");
	char			*err, want[2 * PATH_MAX];
	int			 fd;

	if (!can_setpriv("test_who_may"))
		return;
	H_ASSERT(gr != NULL, "no group users");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctl_sock());
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	H_ASSERT(fd != -1 && bind(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0, "bind: %s", strerror(errno));
	close(fd);
	H_ASSERT(chown(ctl_sock(), 1, gr->gr_gid) == 0 &&
	    chmod(ctl_sock(), 0660) == 0, "chown: %s", strerror(errno));
	H_ASSERT(ctl_as_nobody("--regid=65534", "--clear-groups", "status",
	    &err) == 3, "%s", err);
	snprintf(want, sizeof(want), "clusterctl: cannot connect to %s: "
	    "permission denied for nobody (uid 65534): only root, daemon "
	    "and members of group users may use it\n", ctl_sock());
	H_ASSERT_STR_EQ(err, want);
	free(err);
	/* a member gets as far as the listener: nobody there */
	H_ASSERT(ctl_as_nobody("--regid=65534", "--groups=users", "status",
	    &err) == 3, "%s", err);
	assert_contains(err, "nobody is listening (connection refused)");
	free(err);
}
END_TEST

/*
 * control_group: the socket is mode 0660 with that group; a peer with
 * it as primary or supplementary group is served, others are refused by
 * the file's mode, and by clusterd itself when the mode lets them in.
 */
START_TEST(test_control_group)
{
	struct slotinfo	 s[MAXSLOTS];
	struct group	*gr = getgrnam("users");
	struct stat	 st;
	char		*err, want[2 * PATH_MAX];

	if (!can_setpriv("test_control_group"))
		return;
	H_ASSERT(gr != NULL, "no group users");
	h_write_config("[clusterd]\ncontrol = ctl.sock\ncontrol_group = "
	    "users\n\n[program:web]\ncommand = %s\nready = message\n"
	    "env = READY_AFTER_MS=0\n",
	    h_worker("ipcworker"));
	H_ASSERT(h_start(NULL) > 0, "start");
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT(lstat(ctl_sock(), &st) == 0 && S_ISSOCK(st.st_mode),
	    "%s: %s", ctl_sock(), strerror(errno));
	H_ASSERT((st.st_mode & 07777) == 0660 && st.st_gid == gr->gr_gid &&
	    st.st_uid == 0, "mode %o, owner %ld:%ld", st.st_mode & 07777,
	    (long)st.st_uid, (long)st.st_gid);
	H_ASSERT(ctl_as_nobody("--regid=65534", "--groups=users", "check",
	    &err) == 0, "supplementary group: %s", err);
	free(err);
	H_ASSERT(ctl_as_nobody("--regid=users", "--clear-groups", "check",
	    &err) == 0, "primary group: %s", err);
	free(err);
	H_ASSERT(ctl_as_nobody("--regid=65534", "--clear-groups", "check",
	    &err) == 3, "no group: %s", err);
	snprintf(want, sizeof(want), "clusterctl: cannot connect to %s: "
	    "permission denied for nobody (uid 65534): only root and "
	    "members of group users may use it\n", ctl_sock());
	H_ASSERT_STR_EQ(err, want);
	free(err);
	H_ASSERT(chmod(ctl_sock(), 0666) == 0, "chmod: %s", strerror(errno));
	H_ASSERT(ctl_as_nobody("--regid=65534", "--clear-groups", "check",
	    &err) == 3, "0666: %s", err);
	assert_contains(err, "clusterd refused the connection: permission "
	    "denied: uid 65534 is neither root nor clusterd's (uid 0), nor "
	    "in group users\n");
	free(err);
	H_ASSERT(h_wait_log("nor in group users", 1, WAIT), "not logged");
}
END_TEST

#define GROUP_CONF	"[clusterd]\ncontrol = ctl.sock\n%s\n" \
			"[program:web]\ncommand = %s\nready = message\n" \
			"env = READY_AFTER_MS=0\n"

/* A reload that adds, changes or removes control_group applies it. */
START_TEST(test_control_group_reload)
{
	struct slotinfo	 s[MAXSLOTS];
	struct group	*gr;
	struct stat	 st;
	char		*err;
	gid_t		 users, adm;

	if (!can_setpriv("test_control_group_reload"))
		return;
	H_ASSERT((gr = getgrnam("users")) != NULL, "no group users");
	users = gr->gr_gid;
	H_ASSERT((gr = getgrnam("adm")) != NULL, "no group adm");
	adm = gr->gr_gid;
	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	h_write_config(GROUP_CONF, "control_group = users\n",
	    h_worker("ipcworker"));
	free(ctl_expect(0, "reload", NULL));
	H_ASSERT(lstat(ctl_sock(), &st) == 0 && (st.st_mode & 07777) ==
	    0660 && st.st_gid == users, "added: mode %o, group %ld",
	    st.st_mode & 07777, (long)st.st_gid);
	H_ASSERT(h_wait_log("mode 0660, group users: its members may use it",
	    1, WAIT), "not logged");
	H_ASSERT(ctl_as_nobody("--regid=65534", "--groups=users", "check",
	    &err) == 0, "a member after the reload: %s", err);
	free(err);
	h_write_config(GROUP_CONF, "control_group = adm\n",
	    h_worker("ipcworker"));
	free(ctl_expect(0, "reload", NULL));
	H_ASSERT(lstat(ctl_sock(), &st) == 0 && (st.st_mode & 07777) ==
	    0660 && st.st_gid == adm, "changed: mode %o, group %ld",
	    st.st_mode & 07777, (long)st.st_gid);
	H_ASSERT(ctl_as_nobody("--regid=65534", "--groups=users", "check",
	    &err) == 3, "the old group: %s", err);
	free(err);
	h_write_config(GROUP_CONF, "", h_worker("ipcworker"));
	free(ctl_expect(0, "reload", NULL));
	H_ASSERT(lstat(ctl_sock(), &st) == 0 && (st.st_mode & 07777) ==
	    0600 && st.st_gid == getegid(), "removed: mode %o, group %ld",
	    st.st_mode & 07777, (long)st.st_gid);
	/* and clusterd itself no longer serves the group */
	H_ASSERT(chmod(ctl_sock(), 0666) == 0, "chmod: %s", strerror(errno));
	H_ASSERT(ctl_as_nobody("--regid=65534", "--groups=adm", "check",
	    &err) == 3, "removed: %s", err);
	assert_contains(err, "clusterd refused the connection");
	free(err);
}
END_TEST

START_TEST(test_usage)
{
	const char	*none[] = { h_ctl_bin(), NULL };
	const char	*help[] = { h_ctl_bin(), "--help", NULL };
	const char	*badopt[] = { h_ctl_bin(), "--frob", "status", NULL };
	char		*out, *err, *line, *save;

	H_ASSERT(run(none, NULL, NULL, &err) == 2, "no command");
	assert_contains(err, "no command given");
	assert_contains(err, "usage: clusterctl");
	free(err);
	H_ASSERT(run(badopt, NULL, NULL, NULL) == 2, "bad option");
	H_ASSERT(run(help, NULL, &out, NULL) == 0, "--help");
	assert_contains(out, "scale PROGRAM N");
	assert_contains(out, "check ");
	assert_contains(out, "--wait");
	assert_contains(out, "--timeout DURATION");
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		H_ASSERT(strlen(line) <= 80, "--help: %s", line);
	free(out);
	err = ctl_stderr(2, "frob", NULL);
	assert_contains(err, "unknown command: \"frob\"");
	free(err);
	err = ctl_stderr(2, "restart", NULL);
	assert_contains(err, "usage: clusterctl restart PROGRAM");
	free(err);
	free(ctl_stderr(2, "status", "web", "extra", NULL));
	free(ctl_stderr(2, "status", "bad name!", NULL));
	free(ctl_stderr(2, "restart", "bad name!", NULL));
	free(ctl_stderr(2, "check", "web", NULL));
	free(ctl_stderr(2, "-s", "", "status", NULL));
}
END_TEST

static Suite *
ctl_suite(void)
{
	Suite	*s = suite_create("control");
	TCase	*tc;

	tc = h_tcase("commands", TEST_TIMEOUT);
	tcase_add_test(tc, test_status_table);
	tcase_add_test(tc, test_status_tty);
	tcase_add_test(tc, test_status_tty_utf8);
	tcase_add_test(tc, test_status_json);
	tcase_add_test(tc, test_status_program);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_reload_broken);
	tcase_add_test(tc, test_restart);
	tcase_add_test(tc, test_scale);
	tcase_add_test(tc, test_stop_start);
	tcase_add_test(tc, test_signal);
	tcase_add_test(tc, test_shutdown);
	suite_add_tcase(s, tc);

	tc = h_tcase("states", TEST_TIMEOUT);
	tcase_add_test(tc, test_state_ready);
	tcase_add_test(tc, test_state_starting);
	tcase_add_test(tc, test_state_rolling);
	tcase_add_test(tc, test_state_crashloop);
	tcase_add_test(tc, test_state_stopped);
	tcase_add_test(tc, test_state_previous_config);
	tcase_add_test(tc, test_check_no_daemon);
	suite_add_tcase(s, tc);

	tc = h_tcase("wait", TEST_TIMEOUT);
	tcase_add_test(tc, test_wait_restart);
	tcase_add_test(tc, test_wait_start_lines);
	tcase_add_test(tc, test_wait_scale);
	tcase_add_test(tc, test_wait_stop_start);
	tcase_add_test(tc, test_wait_reload);
	tcase_add_test(tc, test_wait_timeout);
	suite_add_tcase(s, tc);

	tc = h_tcase("socket", TEST_TIMEOUT);
	tcase_add_test(tc, test_socket_file);
	tcase_add_test(tc, test_second_daemon);
	tcase_add_test(tc, test_stale_socket);
	tcase_add_test(tc, test_not_a_socket);
	tcase_add_test(tc, test_peer_uid);
	tcase_add_test(tc, test_who_may);
	tcase_add_test(tc, test_control_group);
	tcase_add_test(tc, test_control_group_reload);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_idle_client);
	tcase_add_test(tc, test_connection_cap);
	suite_add_tcase(s, tc);

	tc = h_tcase("client", TEST_TIMEOUT);
	tcase_add_test(tc, test_find_socket);
	tcase_add_test(tc, test_default_socket);
	tcase_add_test(tc, test_connect_errors);
	tcase_add_test(tc, test_usage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(ctl_suite());
}
