/*
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
#include <limits.h>
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
ctl_bin(void)
{
	const char	*v = getenv("CLUSTERCTL_BIN");

	if (v == NULL || *v == '\0')
		ck_abort_msg("CLUSTERCTL_BIN is not set (run through make "
		    "integration)");
	return v;
}

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

/* clusterctl -s ctl.sock ARGS... (NULL-terminated). */
static int
ctl(char **out, char **err, ...)
{
	const char	*argv[16];
	va_list		 ap;
	int		 n = 0;

	argv[n++] = ctl_bin();
	argv[n++] = "-s";
	argv[n++] = ctl_sock();
	va_start(ap, err);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run(argv, NULL, out, err);
}

/* As ctl(), but the exit status must be want; stdout returned. */
static char *
ctl_expect(int want, const char *a1, const char *a2, const char *a3)
{
	char	*out, *err;
	int	 rc = ctl(&out, &err, a1, a2, a3, (const char *)NULL);

	H_ASSERT(rc == want, "clusterctl %s %s %s: exit %d, expected %d; "
	    "stdout: %s; stderr: %s", a1, a2 ? a2 : "", a2 && a3 ? a3 : "",
	    rc, want, out, err);
	free(err);
	return out;
}

/* The stderr of a clusterctl run that must exit with want. */
static char *
ctl_stderr(int want, const char *a1, const char *a2, const char *a3)
{
	char	*out, *err;
	int	 rc = ctl(&out, &err, a1, a2, a3, (const char *)NULL);

	H_ASSERT(rc == want, "clusterctl %s %s %s: exit %d, expected %d; "
	    "stderr: %s", a1, a2 ? a2 : "", a2 && a3 ? a3 : "", rc, want,
	    err);
	free(out);
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

/* The table fits in 80 columns and shows every worker. */
START_TEST(test_status_table)
{
	struct slotinfo	 s[MAXSLOTS];
	char		*out, *line, *save, pid[32];
	int		 lines = 0;

	start_ipc(2, 0, "serving 42 connections, and a very long status "
	    "text that a table of 80 columns cannot show whole");
	wait_slots("web", 2, "ready", NULL, 0, s);
	out = ctl_expect(0, "status", NULL, NULL);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), lines++) {
		H_ASSERT(strlen(line) <= 80, "%zu columns: %s", strlen(line),
		    line);
		if (lines == 0) {
			H_ASSERT(strncmp(line, "PROGRAM", 7) == 0, "%s", line);
			assert_contains(line, "SLOT");
			assert_contains(line, "RESTARTS");
			assert_contains(line, "STATUS");
			continue;
		}
		snprintf(pid, sizeof(pid), " %lld ", s[lines - 1].pid);
		H_ASSERT(strncmp(line, "web ", 4) == 0, "%s", line);
		assert_contains(line, pid);
		assert_contains(line, " ready ");
		assert_contains(line, "serving 42 connections");
	}
	H_ASSERT(lines == 3, "%d lines", lines);
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
	out = ctl_expect(0, "reload", NULL, NULL);
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
	err = ctl_stderr(1, "reload", NULL, NULL);
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
	long long	 old[MAXSLOTS], ready0, start1;
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
	ready0 = event_time(s[0].pid, "ready");
	start1 = event_time(s[1].pid, "start");
	H_ASSERT(ready0 > 0 && start1 > 0 && start1 >= ready0, "slot 1's "
	    "new worker started at %lld, slot 0's was ready at %lld", start1,
	    ready0);
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
	out = ctl_expect(0, "scale", "web", "3");
	H_ASSERT_STR_EQ(out, "web: scaling to 3 workers\n");
	free(out);
	wait_slots("web", 3, "ready", NULL, 0, s);
	free(ctl_expect(0, "scale", "web", "1"));
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT(h_wait_dead((pid_t)s[1].pid, WAIT) &&
	    h_wait_dead((pid_t)s[2].pid, WAIT), "removed workers live on");
	err = ctl_stderr(2, "scale", "web", "0");
	assert_contains(err, "expected a number from 1 to 4096");
	free(err);
	free(ctl_stderr(2, "scale", "web", "many"));
	free(ctl_stderr(2, "scale", "web", "4097"));
	err = ctl_stderr(1, "scale", "nope", "2");
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
	out = ctl_expect(0, "signal", "web", "usr1");
	H_ASSERT_STR_EQ(out, "web: sent usr1\n");
	free(out);
	snprintf(want, sizeof(want), "reporter %lld got signal %d", old,
	    SIGUSR1);
	H_ASSERT(h_wait_text(h_out(), want, 1, WAIT), "no \"%s\"", want);
	wait_slots("web", 1, "ready", &old, 1, s);
	H_ASSERT(s[0].restarts == 1, "restarts %lld", s[0].restarts);
	err = ctl_stderr(2, "signal", "web", "10");
	assert_contains(err, "signal numbers are not accepted");
	free(err);
	free(ctl_stderr(2, "signal", "web", "NOSUCH"));
	err = ctl_stderr(1, "signal", "nope", "HUP");
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
	out = ctl_expect(0, "shutdown", NULL, NULL);
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

/*
 * Another uid.  With the socket's mode 0600 it cannot even connect
 * (exit 3).  To reach the SO_PEERCRED check the test opens the socket to
 * everyone (chmod 0666, as root): the daemon must still refuse, with an
 * error line, and log it.
 */
START_TEST(test_peer_uid)
{
	struct slotinfo	 s[MAXSLOTS];
	char		 sock[PATH_MAX], *err;
	const char	*argv[] = { SETPRIV, "--reuid=65534", "--regid=65534",
			    "--clear-groups", ctl_bin(), "-s", sock, "status",
			    NULL };

	snprintf(sock, sizeof(sock), "%s", ctl_sock());
	if (geteuid() != 0 || access(SETPRIV, X_OK) != 0) {
		fprintf(stderr, "test_peer_uid: needs root and setpriv; "
		    "skipped\n");
		return;
	}
	start_ipc(1, 0, "x");
	wait_slots("web", 1, "ready", NULL, 0, s);
	H_ASSERT(run(argv, NULL, NULL, &err) == 3, "0600: %s", err);
	assert_contains(err, "Permission denied");
	free(err);
	H_ASSERT(chmod(ctl_sock(), 0666) == 0, "chmod: %s", strerror(errno));
	H_ASSERT(run(argv, NULL, NULL, &err) == 1, "0666: %s", err);
	assert_contains(err, "permission denied: uid 65534 is neither root "
	    "nor clusterd's");
	free(err);
	H_ASSERT(h_wait_log("uid 65534 is neither root nor clusterd's", 1,
	    WAIT), "not logged");
	wait_slots("web", 1, "ready", NULL, 0, s);
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
	out = ctl_expect(0, "status", NULL, NULL);
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
	err = ctl_stderr(1, "status", NULL, NULL);
	assert_contains(err, "too many control connections");
	free(err);
	for (i = 0; i < 64; i++)
		close(fds[i]);
}
END_TEST

START_TEST(test_no_daemon)
{
	char	*err, want[2 * PATH_MAX];
	const char *argv[] = { ctl_bin(), "status", NULL };
	const char *env[] = { NULL, NULL };
	char	 envbuf[PATH_MAX + 32];

	err = ctl_stderr(3, "status", NULL, NULL);
	snprintf(want, sizeof(want), "clusterctl: cannot connect to %s: No "
	    "such file or directory (is clusterd running with control = "
	    "%s?)", ctl_sock(), ctl_sock());
	assert_contains(err, want);
	free(err);
	/* CLUSTERD_CONTROL when there is no -s */
	snprintf(envbuf, sizeof(envbuf), "CLUSTERD_CONTROL=%s", ctl_sock());
	env[0] = envbuf;
	H_ASSERT(run(argv, env, NULL, &err) == 3, "%s", err);
	assert_contains(err, want);
	free(err);
}
END_TEST

START_TEST(test_usage)
{
	const char	*none[] = { ctl_bin(), NULL };
	const char	*nosock[] = { ctl_bin(), "status", NULL };
	const char	*help[] = { ctl_bin(), "--help", NULL };
	const char	*badopt[] = { ctl_bin(), "--frob", "status", NULL };
	char		*out, *err;

	H_ASSERT(run(none, NULL, NULL, &err) == 2, "no command");
	assert_contains(err, "no command given");
	assert_contains(err, "usage: clusterctl");
	free(err);
	H_ASSERT(run(nosock, NULL, NULL, &err) == 2, "no socket");
	assert_contains(err, "use -s SOCKET or set CLUSTERD_CONTROL");
	free(err);
	H_ASSERT(run(badopt, NULL, NULL, NULL) == 2, "bad option");
	H_ASSERT(run(help, NULL, &out, NULL) == 0, "--help");
	assert_contains(out, "scale PROGRAM N");
	free(out);
	err = ctl_stderr(2, "frob", NULL, NULL);
	assert_contains(err, "unknown command: \"frob\"");
	free(err);
	err = ctl_stderr(2, "restart", NULL, NULL);
	assert_contains(err, "usage: clusterctl restart PROGRAM");
	free(err);
	free(ctl_stderr(2, "status", "extra", NULL));
	free(ctl_stderr(2, "restart", "bad name!", NULL));
}
END_TEST

static Suite *
ctl_suite(void)
{
	Suite	*s = suite_create("control");
	TCase	*tc;

	tc = h_tcase("commands", TEST_TIMEOUT);
	tcase_add_test(tc, test_status_table);
	tcase_add_test(tc, test_status_json);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_reload_broken);
	tcase_add_test(tc, test_restart);
	tcase_add_test(tc, test_scale);
	tcase_add_test(tc, test_stop_start);
	tcase_add_test(tc, test_signal);
	tcase_add_test(tc, test_shutdown);
	suite_add_tcase(s, tc);

	tc = h_tcase("socket", TEST_TIMEOUT);
	tcase_add_test(tc, test_socket_file);
	tcase_add_test(tc, test_second_daemon);
	tcase_add_test(tc, test_stale_socket);
	tcase_add_test(tc, test_not_a_socket);
	tcase_add_test(tc, test_peer_uid);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_idle_client);
	tcase_add_test(tc, test_connection_cap);
	suite_add_tcase(s, tc);

	tc = h_tcase("client", TEST_TIMEOUT);
	tcase_add_test(tc, test_no_daemon);
	tcase_add_test(tc, test_usage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(ctl_suite());
}
