/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests of the IPC channel: the real clusterd, seen from its
 * workers' side.
 *
 * tests/workers/reporter reports the descriptors and environment a worker
 * gets; tests/workers/ipcworker talks on the channel as its environment
 * says and appends what it does to reports/events.<PROGRAM> ("PID SLOT
 * EVENT MS" lines, in the order they happened).  The shipped examples
 * (examples/node, examples/python, examples/shell) run from their own
 * conf/NAME.ini, with only the port and the directory rewritten.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define WAIT		15000	/* ms: deadline of a wait */
#define TEST_TIMEOUT	60	/* s: Check's per-test timeout */

#define H_ASSERT_EXIT(code, ms) do {					\
	int st_ = -1;							\
	H_ASSERT(h_wait_exit((ms), &st_), "the daemon did not exit "	\
	    "within %d ms", (ms));					\
	H_ASSERT(WIFEXITED(st_) && WEXITSTATUS(st_) == (code),		\
	    "daemon wait status 0x%x, expected exit %d", st_, (code));	\
} while (0)

/* One line of an events file. */
struct evt {
	long		 e_pid;
	int		 e_slot;
	char		 e_what[16];
	long long	 e_ms;
};

/*
 * Helpers.
 */

static void
start_daemon(void)
{
	H_ASSERT(h_start(NULL) > 0, "start");
}

/* Log lines that hold both a and b. */
static int
lines_with(const char *a, const char *b)
{
	char	*buf = h_read_file(h_log()), *line, *save;
	int	 n = 0;

	if (buf == NULL)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(line, a) != NULL && strstr(line, b) != NULL)
			n++;
	free(buf);
	return n;
}

static void
wait_lines(const char *a, const char *b, int count, int ms)
{
	long long	end = h_now_ms() + ms;

	while (lines_with(a, b) < count) {
		H_ASSERT(h_daemon_alive(), "the daemon exited while waiting "
		    "for \"%s\" ... \"%s\"", a, b);
		H_ASSERT(h_now_ms() < end, "%d lines with \"%s\" and \"%s\" "
		    "expected, %d found", count, a, b, lines_with(a, b));
		h_sleep_ms(15);
	}
}

/* Does the first log line holding needle also hold sub? */
static int
first_line_has(const char *needle, const char *sub)
{
	char	*line = h_find_line(h_log(), needle);
	int	 yes = line != NULL && strstr(line, sub) != NULL;

	free(line);
	return yes;
}

static const char *
events_path(const char *prog)
{
	return h_path("reports/events.%s", prog);
}

/* The events of prog, in order; *out malloc'd. */
static size_t
events_load(const char *prog, struct evt **out)
{
	char		*buf = h_read_file(events_path(prog)), *line, *save;
	struct evt	*v = NULL, e;
	size_t		 n = 0;

	*out = NULL;
	if (buf == NULL)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		memset(&e, 0, sizeof(e));
		if (sscanf(line, "%ld %d %15s %lld", &e.e_pid, &e.e_slot,
		    e.e_what, &e.e_ms) != 4)
			continue;
		if ((v = realloc(v, (n + 1) * sizeof(*v))) == NULL)
			ck_abort_msg("realloc");
		v[n++] = e;
	}
	free(buf);
	*out = v;
	return n;
}

/* How many events "what" prog has (of pid, unless pid is 0). */
static int
events_count(const char *prog, const char *what, long pid)
{
	struct evt	*v;
	size_t		 n = events_load(prog, &v), i;
	int		 c = 0;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].e_what, what) == 0 &&
		    (pid == 0 || v[i].e_pid == pid))
			c++;
	free(v);
	return c;
}

/* The index of the first event "what" (of pid, unless 0), or -1. */
static int
events_find(const struct evt *v, size_t n, const char *what, long pid)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].e_what, what) == 0 &&
		    (pid == 0 || v[i].e_pid == pid))
			return (int)i;
	return -1;
}

static void
wait_events(const char *prog, const char *what, int count, int ms)
{
	long long	end = h_now_ms() + ms;

	while (events_count(prog, what, 0) < count) {
		H_ASSERT(h_daemon_alive(), "the daemon exited while waiting "
		    "for %d %s events of %s", count, what, prog);
		H_ASSERT(h_now_ms() < end, "%s: %d \"%s\" events expected, "
		    "%d found", prog, count, what,
		    events_count(prog, what, 0));
		h_sleep_ms(15);
	}
}

/* The time of the first event "what" of prog. */
static long long
event_ms(const char *prog, const char *what)
{
	struct evt	*v;
	size_t		 n = events_load(prog, &v);
	int		 i = events_find(v, n, what, 0);
	long long	 ms = i >= 0 ? v[i].e_ms : -1;

	free(v);
	return ms;
}

/* The pid of the last worker of prog that started. */
static long
last_started(const char *prog)
{
	struct evt	*v;
	size_t		 n = events_load(prog, &v), i;
	long		 pid = 0;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].e_what, "start") == 0)
			pid = v[i].e_pid;
	free(v);
	return pid;
}

/*
 * The time of day, in ms, of the first log line holding needle (the
 * daemon writes "YYYY-MM-DD HH:MM:SS.mmm ..." when not under journald).
 */
static long long
log_time(const char *needle)
{
	char		*line = h_find_line(h_log(), needle);
	int		 hh, mm, ss, ms, got = 0;
	long long	 t;

	H_ASSERT(line != NULL, "no \"%s\" in the log", needle);
	if (strlen(line) > 23)
		got = sscanf(line + 11, "%d:%d:%d.%d", &hh, &mm, &ss, &ms);
	H_ASSERT(got == 4, "log line without a time: %s", line);
	free(line);
	t = ((hh * 60LL + mm) * 60 + ss) * 1000 + ms;
	return t;
}

/*
 * The top of the source tree, where examples/ and conf/ are: $SRCDIR, or
 * the working directory (make runs the tests from there).
 */
static const char *
srcdir(void)
{
	static char	 dir[PATH_MAX];
	const char	*v = getenv("SRCDIR");
	char		 probe[PATH_MAX + 64];

	if (v != NULL && *v != '\0')
		snprintf(dir, sizeof(dir), "%s", v);
	else if (getcwd(dir, sizeof(dir)) == NULL)
		ck_abort_msg("getcwd: %s", strerror(errno));
	snprintf(probe, sizeof(probe), "%s/examples/node/handle-worker.js",
	    dir);
	H_ASSERT(access(probe, R_OK) == 0, "%s: not found; set SRCDIR to "
	    "the top of the source tree", probe);
	return dir;
}

/* A program in PATH, as an absolute path (h_run does not search). */
static const char *
which(const char *name)
{
	static char	 path[PATH_MAX];
	const char	*p = getenv("PATH"), *end;
	size_t		 len;

	for (; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		snprintf(path, sizeof(path), "%.*s/%s", (int)len, p, name);
		if (access(path, X_OK) == 0)
			return path;
	}
	H_ASSERT(0, "%s is not in PATH", name);
	return NULL;
}

/*
 * Install the shipped conf/NAME as the test's configuration: its listen
 * line on 127.0.0.1:port, its directory the source tree, and each
 * "key = value" of overrides (NULL-terminated) in place of the key's line.
 */
static void
use_shipped_conf(const char *name, int port, const char *const *overrides)
{
	char		 path[PATH_MAX + 64], *buf, *line, *save, *out;
	const char	*const *o;
	size_t		 cap, len = 0;
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/conf/%s", srcdir(), name);
	H_ASSERT((buf = h_read_file(path)) != NULL, "%s: %s", path,
	    strerror(errno));
	cap = strlen(buf) + 4096;
	H_ASSERT((out = calloc(1, cap)) != NULL, "calloc");
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *repl = NULL;
		char	    tmp[PATH_MAX + 64];

		if (strncmp(line, "listen = ", 9) == 0) {
			snprintf(tmp, sizeof(tmp), "listen = 127.0.0.1:%d",
			    port);
			repl = tmp;
		} else if (strncmp(line, "directory = ", 12) == 0) {
			snprintf(tmp, sizeof(tmp), "directory = %s",
			    srcdir());
			repl = tmp;
		}
		for (o = overrides; o != NULL && *o != NULL; o++)
			if (strncmp(line, *o, strcspn(*o, "=") + 1) == 0)
				repl = *o;
		len += (size_t)snprintf(out + len, cap - len, "%s\n",
		    repl != NULL ? repl : line);
		H_ASSERT(len < cap, "configuration too long");
	}
	H_ASSERT((fp = fopen(h_conf(), "w")) != NULL, "%s", h_conf());
	fputs(out, fp);
	fclose(fp);
	free(out);
	free(buf);
}

/*
 * One HTTP/1.1 request on a new connection.  Returns the status code,
 * -1 when the connection was refused, 0 for no (or no valid) response.
 */
static int
http_get(int port, const char *path, char *buf, size_t len)
{
	char	req[256];
	int	fd, code;
	ssize_t	n;

	if ((fd = h_connect_tcp(port)) == -1)
		return -1;
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: test\r\n"
	    "Connection: close\r\n\r\n", path);
	if (h_send(fd, req) == -1) {
		close(fd);
		return 0;
	}
	n = h_recv_all(fd, buf, len, 5000);
	close(fd);
	if (n <= 0 || sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
		return 0;
	return code;
}

static void
assert_serves(int port, int n)
{
	char	buf[4096];
	int	i, code;

	for (i = 0; i < n; i++) {
		code = http_get(port, "/", buf, sizeof(buf));
		H_ASSERT(code == 200 && strstr(buf, "hello from worker") !=
		    NULL, "request %d: status %d: %s", i, code, buf);
	}
}

static struct h_report *
report_of(const char *prefix)
{
	struct h_report	*r;

	H_ASSERT((r = h_report_wait(prefix, WAIT)) != NULL, "no report %s*",
	    prefix);
	return r;
}

/*
 * The channel's descriptor.
 */

/*
 * The channel comes right after the sockets, as a Unix stream socket
 * that survives exec; ipc = none gives none; ipc = node also announces it
 * as Node.js's channel.
 */
START_TEST(test_ipc_fd)
{
	struct h_report	*r;
	int		 port = h_free_port();
	const char	*rep = h_worker("reporter");

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:json]\n"
	    "command = %s\n"
	    "sockets = web\n"
	    "[program:none]\n"
	    "command = %s\n"
	    "sockets = web\n"
	    "ipc = none\n"
	    "[program:node]\n"
	    "command = %s\n"
	    "sockets = web\n"
	    "ipc = node\n"
	    "[program:nosock]\n"
	    "command = %s\n", port, rep, rep, rep, rep);
	start_daemon();

	r = report_of("json.0.");
	h_assert_key(r, "fds", "0,1,2,3,4");
	h_assert_key(r, "env.CLUSTERD_IPC_FD", "4");
	h_assert_key(r, "fd.4.type", "socket");
	h_assert_key(r, "fd.4.socktype", "stream");
	h_assert_key(r, "fd.4.family", "unix");
	h_assert_key(r, "fd.4.listening", "0");
	h_assert_key(r, "fd.4.cloexec", "0");
	h_assert_key(r, "fd.3.listening", "1");
	h_assert_no_key(r, "env.NODE_CHANNEL_FD");
	h_assert_no_key(r, "env.NODE_CHANNEL_SERIALIZATION_MODE");
	h_report_free(r);

	r = report_of("none.0.");
	h_assert_key(r, "fds", "0,1,2,3");
	h_assert_no_key(r, "env.CLUSTERD_IPC_FD");
	h_assert_no_key(r, "env.NODE_CHANNEL_FD");
	h_report_free(r);

	r = report_of("node.0.");
	h_assert_key(r, "fds", "0,1,2,3,4");
	h_assert_key(r, "env.CLUSTERD_IPC_FD", "4");
	h_assert_key(r, "env.NODE_CHANNEL_FD", "4");
	h_assert_key(r, "env.NODE_CHANNEL_SERIALIZATION_MODE", "json");
	h_assert_key(r, "fd.4.socktype", "stream");
	h_assert_key(r, "fd.4.family", "unix");
	h_report_free(r);

	r = report_of("nosock.0.");
	h_assert_key(r, "fds", "0,1,2,3");
	h_assert_key(r, "env.CLUSTERD_IPC_FD", "3");
	h_assert_key(r, "fd.3.family", "unix");
	h_assert_key(r, "fd.3.listening", "0");
	h_report_free(r);
	h_stop_daemon();
}
END_TEST

/*
 * node_handle: right after start the master sends the socket as
 * child.send('server', server) would: one NODE_HANDLE line with the
 * listening socket attached, non-blocking like every socket a Node.js
 * master has (libuv does not set O_NONBLOCK on a handle it receives, and
 * a blocking one stalls the event loop in accept(2) whenever another
 * worker wins the connection).  The ACK is taken quietly.
 */
START_TEST(test_node_handle_message)
{
	struct h_report	*r;
	char		 want[32];
	int		 port = h_free_port();

	h_write_config(
	    "[clusterd]\n"
	    "log_level = debug\n"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:nh]\n"
	    "command = %s\n"
	    "ipc = node\n"
	    "node_handle = server:web\n"
	    "ready = message\n"
	    "env = RECV_HANDLE=1\n"
	    "env = READY_AFTER_MS=0\n", port, h_worker("ipcworker"));
	start_daemon();
	wait_events("nh", "handle", 1, WAIT);
	wait_lines("nh[0]", "is ready", 1, WAIT);
	H_ASSERT((r = h_report_load(h_path("reports/handle.nh"))) != NULL,
	    "no handle report");
	h_assert_key(r, "msg", "{\"cmd\":\"NODE_HANDLE\",\"type\":"
	    "\"net.Server\",\"msg\":\"server\"}");
	h_assert_key(r, "fds", "1");
	h_assert_key(r, "listening", "1");
	snprintf(want, sizeof(want), "%d", port);
	h_assert_key(r, "port", want);
	h_assert_key(r, "nonblock", "1");
	h_report_free(r);
	H_ASSERT(lines_with("nh[0]", "NODE_HANDLE") == 0 &&
	    lines_with("nh[0]", "bad IPC") == 0, "the ACK was not taken");
	h_stop_daemon();
}
END_TEST

/*
 * Suicide.
 */

struct suicide_case {
	const char	*sc_name;
	const char	*sc_env;	/* env lines for ipcworker */
	int		 sc_exits;	/* the old one exits by itself */
};

static const struct suicide_case suicide_cases[] = {
	{ "act", "env = SUICIDE_MSG={\"act\":\"suicide\"}\\n\n", 1 },
	{ "cmd", "env = SUICIDE_MSG={\"cmd\":\"suicide\"}\\n\n", 1 },
	{ "str", "env = SUICIDE_MSG=\"suicide\"\\n\n", 1 },
	{ "bare", "env = SUICIDE_MSG=suicide\\n\n", 1 },
	{ "twice", "env = SUICIDE_TWICE=1\n", 1 },
	{ "crash", "env = CRASH_AFTER_SUICIDE=1\n", 1 },
	/* lingers: killed at stop_timeout, never exits by itself */
	{ "linger", "", 0 },
};

#define NCASES	(sizeof(suicide_cases) / sizeof(suicide_cases[0]))

/*
 * Every form of "replace me": the replacement starts before the old
 * worker exits, the old one gets no signal, there is exactly one
 * replacement, also when the old one asks twice or crashes afterwards;
 * one that lingers past stop_timeout is killed and not replaced again.
 */
START_TEST(test_suicide)
{
	char			 conf[8192], needle[128];
	size_t			 len = 0, i, n;
	const struct suicide_case *c;
	struct evt		*v;
	long			 old, new;
	int			 is, ie, inew;

	for (i = 0; i < NCASES; i++) {
		c = &suicide_cases[i];
		len += (size_t)snprintf(conf + len, sizeof(conf) - len,
		    "[program:%s]\n"
		    "command = %s\n"
		    "stop_timeout = 500ms\n"
		    "min_uptime = 100ms\n"
		    "env = SUICIDE_AFTER_MS=300\n"
		    "env = EXIT_AFTER_SUICIDE_MS=%d\n"
		    "env = ONLY_SLOT_PID=1\n"
		    "%s", c->sc_name, h_worker("ipcworker"),
		    c->sc_exits ? 400 : 60000, c->sc_env);
	}
	h_write_config("%s", conf);
	start_daemon();

	for (i = 0; i < NCASES; i++) {
		c = &suicide_cases[i];
		wait_events(c->sc_name, "start", 2, WAIT);
		if (c->sc_exits)
			wait_events(c->sc_name, "exit", 1, WAIT);
	}
	/* the lingering one is killed at stop_timeout */
	h_log_alive("did not stop within 500ms: SIGKILL", 1);
	/* let anything that would still happen happen */
	h_sleep_ms(1500);

	for (i = 0; i < NCASES; i++) {
		c = &suicide_cases[i];
		n = events_load(c->sc_name, &v);
		H_ASSERT(n > 0 && strcmp(v[0].e_what, "start") == 0,
		    "%s: no start event", c->sc_name);
		old = v[0].e_pid;
		is = events_find(v, n, "suicide", old);
		H_ASSERT(is > 0, "%s: the first worker did not ask",
		    c->sc_name);
		for (inew = 1; inew < (int)n; inew++)
			if (strcmp(v[inew].e_what, "start") == 0)
				break;
		H_ASSERT(inew < (int)n, "%s: no replacement", c->sc_name);
		new = v[inew].e_pid;
		H_ASSERT(new != old, "%s: pid reused", c->sc_name);
		ie = events_find(v, n, "exit", old);
		if (c->sc_exits) {
			H_ASSERT(ie > 0, "%s: the old worker (pid %ld) did "
			    "not exit by itself", c->sc_name, old);
			H_ASSERT(inew < ie, "%s: the replacement started "
			    "after the old worker exited", c->sc_name);
		} else {
			H_ASSERT(ie == -1, "%s: the old worker (pid %ld) "
			    "exited by itself", c->sc_name, old);
			H_ASSERT(h_pid_dead((pid_t)old), "%s: the old "
			    "worker (pid %ld) still runs past stop_timeout",
			    c->sc_name, old);
			snprintf(needle, sizeof(needle), "%s[0] (pid %ld) did "
			    "not stop within 500ms", c->sc_name, old);
			H_ASSERT(h_count_log(needle) == 1, "%s: no \"%s\"",
			    c->sc_name, needle);
		}
		H_ASSERT(events_find(v, n, "stop", old) == -1,
		    "%s: the old worker (pid %ld) got SIGTERM", c->sc_name,
		    old);
		H_ASSERT(events_count(c->sc_name, "start", 0) == 2,
		    "%s: %d workers started, expected 2", c->sc_name,
		    events_count(c->sc_name, "start", 0));
		H_ASSERT(!h_pid_dead((pid_t)new), "%s: the replacement "
		    "(pid %ld) is gone", c->sc_name, new);
		snprintf(needle, sizeof(needle), "%s[0] (pid %ld) asked to "
		    "be replaced", c->sc_name, old);
		H_ASSERT(h_count_log(needle) == 1, "%s: %d \"%s\"",
		    c->sc_name, h_count_log(needle), needle);
		free(v);
	}
	h_stop_daemon();
}
END_TEST

/*
 * Readiness.
 */

/*
 * ready = message: a worker that never says so is killed at
 * ready_timeout and counts as a fast failure: the gaps between its
 * starts grow with the backoff.
 */
START_TEST(test_ready_timeout)
{
	struct evt	*v;
	long long	 starts[8], gap0, gap3;
	size_t		 n, i;
	int		 k = 0;

	h_write_config(
	    "[program:mute]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "ready_timeout = 300ms\n"
	    "min_uptime = 1s\n"
	    "restart_delay = 100ms\n"
	    "restart_delay_max = 10s\n", h_worker("ipcworker"));
	start_daemon();
	wait_events("mute", "start", 5, WAIT);
	h_log_alive("was not ready within 300ms: SIGKILL", 4);
	H_ASSERT(h_count_log(") is ready") == 0, "a mute worker was ready");

	n = events_load("mute", &v);
	for (i = 0; i < n && k < 8; i++)
		if (strcmp(v[i].e_what, "start") == 0)
			starts[k++] = v[i].e_ms;
	free(v);
	H_ASSERT(k >= 5, "%d starts", k);
	/* 300ms + 100ms, 300ms + 200ms, + 400ms, + 800ms */
	gap0 = starts[1] - starts[0];
	gap3 = starts[4] - starts[3];
	for (i = 1; i < (size_t)k; i++)
		H_ASSERT(starts[i] - starts[i - 1] >= 350, "start %zu came "
		    "%lld ms after the one before", i,
		    starts[i] - starts[i - 1]);
	H_ASSERT(gap3 >= gap0 + 400, "no backoff: gaps %lld ms then %lld ms",
	    gap0, gap3);
	H_ASSERT(h_count_log("restarting in 100ms") >= 1 &&
	    h_count_log("restarting in 200ms") >= 1, "backoff not logged");
	h_stop_daemon();
}
END_TEST

/*
 * When a worker is up, for each mode: ready = message when it says so
 * (not at min_uptime), ready = exec at once (not at min_uptime), and
 * ready = auto at min_uptime (even if it says "ready" before).
 */
START_TEST(test_ready_modes)
{
	const char	*w = h_worker("ipcworker");
	long long	 d;

	h_write_config(
	    "[program:msg]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "min_uptime = 100ms\n"
	    "env = READY_AFTER_MS=800\n"
	    "[program:exec]\n"
	    "command = %s\n"
	    "ready = exec\n"
	    "min_uptime = 5s\n"
	    "ready_timeout = 10s\n"
	    "[program:auto]\n"
	    "command = %s\n"
	    "ready = auto\n"
	    "min_uptime = 800ms\n"
	    "ready_timeout = 5s\n"
	    "env = READY_AFTER_MS=0\n", w, w, w);
	start_daemon();
	h_log_alive("msg[0] (pid", 1);
	h_log_alive(") is ready", 3);

	d = log_time("msg[0] (pid") - log_time("msg[0] started");
	H_ASSERT(d >= 750, "msg was ready %lld ms after its start", d);
	d = log_time("exec[0] (pid") - log_time("exec[0] started");
	H_ASSERT(d < 1000, "exec was ready %lld ms after its start", d);
	d = log_time("auto[0] (pid") - log_time("auto[0] started");
	H_ASSERT(d >= 750, "auto was ready %lld ms after its start", d);
	H_ASSERT(events_count("msg", "ready", 0) == 1, "msg sent no ready");
	H_ASSERT(events_count("msg", "start", 0) == 1 &&
	    events_count("exec", "start", 0) == 1 &&
	    events_count("auto", "start", 0) == 1, "a worker was replaced");
	h_stop_daemon();
}
END_TEST

/*
 * Watchdog: heartbeats keep a ready worker alive; one that stops sending
 * them is killed after watchdog and replaced.
 */
START_TEST(test_watchdog)
{
	const char	*w = h_worker("ipcworker");
	long long	 d;

	h_write_config(
	    "[program:beat]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "watchdog = 500ms\n"
	    "env = READY_AFTER_MS=0\n"
	    "env = HEARTBEAT_MS=100\n"
	    "[program:quiet]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "watchdog = 500ms\n"
	    "min_uptime = 100ms\n"
	    "env = READY_AFTER_MS=0\n"
	    "env = HEARTBEAT_MS=100\n"
	    "env = HEARTBEAT_FOR_MS=800\n", w, w);
	start_daemon();
	h_log_alive("quiet[0] (pid", 1);
	h_log_alive("sent no heartbeat for 500ms: SIGKILL", 1);
	wait_events("quiet", "start", 2, WAIT);
	d = log_time("sent no heartbeat") - log_time("quiet[0] started");
	H_ASSERT(d >= 1100 && d < 3000, "quiet was killed %lld ms after its "
	    "start (heartbeats for 800 ms, watchdog 500 ms)", d);
	/* beat has been up for more than twice its watchdog by now */
	h_sleep_ms(500);
	H_ASSERT(h_count_log("beat[0] (pid") == 1, "beat: more than its "
	    "ready line in the log");
	H_ASSERT(events_count("beat", "start", 0) == 1, "beat was replaced");
	h_stop_daemon();
}
END_TEST

/* {"cmd":"status","status":TEXT} is taken (shown at debug level). */
START_TEST(test_status)
{
	h_write_config(
	    "[clusterd]\n"
	    "log_level = debug\n"
	    "[program:st]\n"
	    "command = %s\n"
	    "env = STATUS=serving 42 \"requests\"\n", h_worker("ipcworker"));
	start_daemon();
	h_log_alive("status: serving 42 \"requests\"", 1);
	h_stop_daemon();
}
END_TEST

/*
 * Bad input.
 */

/*
 * Malformed JSON and binary garbage are dropped and logged, and what
 * follows them is still read; a line of exactly 64 KiB (with its
 * newline) is taken, one byte more closes the channel; 99 bad messages
 * are survived, the 100th closes the channel, and a worker that then
 * still owes "ready" hits ready_timeout; a worker that closes its end is
 * still supervised.
 */
START_TEST(test_bad_messages)
{
	const char	*w = h_worker("ipcworker");
	long		 pid;

	h_write_config(
	    "[clusterd]\n"
	    "log_level = debug\n"
	    "[program:badjson]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "env = SEND_AT_START={\"cmd\":\\n{\"cmd\":\"ready\"}\\n\n"
	    "[program:garbage]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "env = SEND_AT_START=\\x00\\xff\\xfe\\x01bin\\x00\\n\\xc3\\x28\\n"
	    "\"\\xff\"\\n\\x1b[2J\\nready\\n\n"
	    "[program:exact]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "env = READY_LINE_BYTES=65536\n"
	    "[program:toolong]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "ready_timeout = 1s\n"
	    "restart_delay = 5s\n"
	    "env = READY_LINE_BYTES=65537\n"
	    "env = READY_AFTER_MS=100\n"
	    "[program:bad99]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "env = BAD_LINES=99\n"
	    "env = READY_AFTER_MS=100\n"
	    "[program:bad100]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "ready_timeout = 1s\n"
	    "restart_delay = 5s\n"
	    "env = BAD_LINES=100\n"
	    "env = READY_AFTER_MS=100\n"
	    "[program:closer]\n"
	    "command = %s\n"
	    "min_uptime = 100ms\n"
	    "env = CLOSE_IPC=1\n", w, w, w, w, w, w, w);
	start_daemon();

	h_log_alive("badjson[0] (pid", 2);
	H_ASSERT(first_line_has("badjson[0] (pid", "bad IPC message dropped"),
	    "badjson: no drop logged");
	wait_lines("badjson[0]", "is ready", 1, WAIT);
	wait_lines("garbage[0]", "is ready", 1, WAIT);
	wait_lines("exact[0]", "is ready", 1, WAIT);
	wait_lines("bad99[0]", "is ready", 1, WAIT);
	H_ASSERT(lines_with("garbage[0]", "bad IPC message dropped") >= 4,
	    "garbage: %d drops logged",
	    lines_with("garbage[0]", "bad IPC message dropped"));
	H_ASSERT(lines_with("exact[0]", "is ready") == 1 &&
	    lines_with("exact[0]", "bad IPC") == 0,
	    "exact: a line of 64 KiB with its newline was not taken");
	H_ASSERT(lines_with("bad99[0]", "is ready") == 1 &&
	    lines_with("bad99[0]", "closing its channel") == 0, "bad99");

	h_log_alive("a message longer than 64 KiB", 1);
	H_ASSERT(lines_with("toolong[0]", "a message longer than 64 KiB") ==
	    1, "the wrong line was too long");
	h_log_alive("100 bad IPC messages: closing its channel", 1);
	H_ASSERT(lines_with("bad100[0]", "100 bad IPC messages: closing its "
	    "channel") == 1, "the wrong channel was closed");
	wait_lines("toolong[0]", "was not ready within 1s", 1, WAIT);
	wait_lines("bad100[0]", "was not ready within 1s", 1, WAIT);
	H_ASSERT(lines_with("toolong[0]", "is ready") == 0 &&
	    lines_with("bad100[0]", "is ready") == 0, "ready after close");
	wait_lines("closer[0]", "closed its IPC channel", 1, WAIT);
	H_ASSERT(events_count("bad99", "start", 0) == 1, "bad99 replaced");

	/* the closer is still supervised: killed, it is replaced */
	pid = last_started("closer");
	H_ASSERT(pid > 0 && !h_pid_dead((pid_t)pid), "closer is gone");
	H_ASSERT(events_count("closer", "start", 0) == 1, "closer replaced");
	kill((pid_t)pid, SIGKILL);
	wait_events("closer", "start", 2, WAIT);
	H_ASSERT(h_daemon_alive(), "the daemon died");
	h_stop_daemon();
}
END_TEST

/*
 * A worker floods its channel with 50 MiB of lines: the master reads
 * them all (the worker's "ready" after the flood arrives), replaces
 * another program's killed worker promptly meanwhile, and its memory
 * stays bounded.
 */
START_TEST(test_flood)
{
	const char	*w = h_worker("ipcworker");
	long		 base, rss, max = 0, pid;
	long long	 t0, lat, worst = 0;
	int		 kills = 0, starts;

	h_write_config(
	    "[program:flood]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "ready_timeout = 60s\n"
	    "env = FLOOD_MB=50\n"
	    "env = FLOOD_CHAR=x\n"
	    "env = FLOOD_LINE_BYTES=2\n"
	    "env = FLOOD_AFTER_MS=700\n"
	    "env = READY_AFTER_MS=800\n"
	    "[program:victim]\n"
	    "command = %s\n"
	    "min_uptime = 100ms\n", w, w);
	start_daemon();
	h_log_alive("victim[0] (pid", 1);	/* ready: up 100 ms */
	H_ASSERT(events_count("flood", "flooding", 0) == 0,
	    "the flood began too early to measure");
	h_sleep_ms(100);
	base = h_rss_kib(h_daemon());
	H_ASSERT(base > 0, "no RSS for the daemon");
	wait_events("flood", "flooding", 1, WAIT);

	/* kill the victim again and again while the flood lasts */
	t0 = h_now_ms();
	while (events_count("flood", "flooded", 0) == 0 || kills == 0) {
		H_ASSERT(h_now_ms() - t0 < 30000, "the flood never ends");
		pid = last_started("victim");
		starts = events_count("victim", "start", 0);
		H_ASSERT(kill((pid_t)pid, SIGKILL) == 0, "kill %ld", pid);
		kills++;
		lat = h_now_ms();
		wait_events("victim", "start", starts + 1, WAIT);
		lat = h_now_ms() - lat;
		if (lat > worst)
			worst = lat;
		if ((rss = h_rss_kib(h_daemon())) > max)
			max = rss;
		h_sleep_ms(150);	/* past min_uptime: no backoff */
		if ((rss = h_rss_kib(h_daemon())) > max)
			max = rss;
	}
	h_log_alive("flood[0] (pid", 1);
	H_ASSERT(first_line_has("flood[0] (pid", "is ready"),
	    "the flood's ready was lost");
	H_ASSERT(worst < 1000, "a killed worker was replaced after %lld ms "
	    "during the flood", worst);
	H_ASSERT(max - base < 16384, "the daemon grew from %ld KiB to %ld "
	    "KiB during the flood", base, max);
	H_ASSERT(h_count_log("bad IPC") == 0, "ignored lines counted as bad");
	fprintf(stderr, "flood: 50 MiB in %lld ms, %d kills meanwhile, "
	    "worst replacement %lld ms, RSS %ld -> %ld KiB\n",
	    event_ms("flood", "flooded") - event_ms("flood", "flooding"),
	    kills, worst, base, max);
	h_stop_daemon();
}
END_TEST

/*
 * The shipped examples.
 */

/* They parse: node --check, py_compile, sh -n, clusterd -t. */
START_TEST(test_examples_check)
{
	static const char *confs[] = { "node-handle.ini", "node-fd.ini",
	    "python.ini", "shell.ini" };
	char		 a[PATH_MAX + 64], b[PATH_MAX + 128], pyc[PATH_MAX + 32];
	char		*out, *err;
	const char	*argv[6];
	const char	*env[2] = { pyc, NULL };
	int		 st;
	size_t		 i;

	snprintf(pyc, sizeof(pyc), "PYTHONPYCACHEPREFIX=%s",
	    h_path("pycache"));
	for (i = 0; i < 2; i++) {
		snprintf(a, sizeof(a), "%s/examples/node/%s", srcdir(),
		    i == 0 ? "handle-worker.js" : "fd-worker.js");
		argv[0] = which("node");
		argv[1] = "--check";
		argv[2] = a;
		argv[3] = NULL;
		H_ASSERT(h_run(argv, NULL, WAIT, &st, NULL, &err) && st == 0,
		    "node --check %s: %s", a, err ? err : "");
		free(err);
	}
	snprintf(a, sizeof(a), "%s/examples/python/worker.py", srcdir());
	argv[0] = which("python3");
	argv[1] = "-m";
	argv[2] = "py_compile";
	argv[3] = a;
	argv[4] = NULL;
	H_ASSERT(h_run(argv, env, WAIT, &st, NULL, &err) && st == 0,
	    "py_compile %s: %s", a, err ? err : "");
	free(err);
	snprintf(a, sizeof(a), "%s/examples/shell/worker.sh", srcdir());
	argv[0] = "/bin/sh";
	argv[1] = "-n";
	argv[2] = a;
	argv[3] = NULL;
	H_ASSERT(h_run(argv, NULL, WAIT, &st, NULL, &err) && st == 0,
	    "sh -n %s: %s", a, err ? err : "");
	free(err);
	for (i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		snprintf(a, sizeof(a), "%s/conf/%s", srcdir(), confs[i]);
		argv[0] = getenv("CLUSTERD_BIN");
		argv[1] = "-t";
		argv[2] = "-c";
		argv[3] = a;
		argv[4] = NULL;
		H_ASSERT(argv[0] != NULL, "CLUSTERD_BIN is not set");
		H_ASSERT(h_run(argv, NULL, WAIT, &st, &out, &err) && st == 0,
		    "clusterd -t -c %s: %s", a, err ? err : "");
		snprintf(b, sizeof(b), "%s: ok\n", a);
		H_ASSERT(out != NULL && strcmp(out, b) == 0, "-t said: %s",
		    out ? out : "");
		free(out);
		free(err);
	}
}
END_TEST

/* Run loop for ms: GET path again and again; counts by outcome. */
static void
http_loop(int port, const char *path, int ms, int pause_ms, int *ok,
    int *refused, int *failed, int want)
{
	char		 buf[4096];
	long long	 end = h_now_ms() + ms;
	int		 code;

	*ok = *refused = *failed = 0;
	while (h_now_ms() < end) {
		code = http_get(port, path, buf, sizeof(buf));
		if (code == want)
			(*ok)++;
		else if (code == -1)
			(*refused)++;
		else
			(*failed)++;
		if (pause_ms > 0)
			h_sleep_ms(pause_ms);
	}
}

/*
 * examples/node/handle-worker.js, written for a child_process.fork()
 * master, gets its socket through node_handle and serves it.  While one
 * client hits GET /boom (an uncaught exception: the worker asks to be
 * replaced and leaves gracefully) for 3 s, another's GET / never fails:
 * replacements start before the old workers leave, and the socket stays
 * open in the master.  Then every worker stops promptly on SIGTERM.
 * The bug is hit every BOOM_PAUSE_MS, so that most workers have lived
 * min_uptime (1 s) when they ask: one that asks sooner is a fast
 * failure, and its replacement waits a backoff delay.
 */
#define BOOM_PAUSE_MS	600

START_TEST(test_node_handle)
{
	int	port = h_free_port(), p[2], ok, refused, failed, st;
	int	booms[3] = { 0, 0, 0 };
	pid_t	child;

	use_shipped_conf("node-handle.ini", port, NULL);
	start_daemon();
	h_log_alive(") is ready", 2);
	assert_serves(port, 10);

	H_ASSERT(pipe(p) == 0, "pipe");
	fflush(NULL);
	if ((child = fork()) == 0) {
		close(p[0]);
		http_loop(port, "/boom", 3000, BOOM_PAUSE_MS, &booms[0],
		    &booms[1],
		    &booms[2], 500);
		if (write(p[1], booms, sizeof(booms)) != sizeof(booms))
			_exit(1);
		_exit(0);
	}
	H_ASSERT(child > 0, "fork");
	close(p[1]);
	http_loop(port, "/", 3000, 0, &ok, &refused, &failed, 200);
	H_ASSERT(read(p[0], booms, sizeof(booms)) == sizeof(booms),
	    "the /boom client died");
	close(p[0]);
	waitpid(child, &st, 0);

	fprintf(stderr, "node_handle: GET / %d ok, %d refused, %d failed; "
	    "GET /boom %d 500s, %d refused, %d other\n", ok, refused, failed,
	    booms[0], booms[1], booms[2]);
	H_ASSERT(refused == 0, "%d connections refused", refused);
	H_ASSERT(failed == 0, "%d of %d requests for / failed", failed,
	    ok + failed);
	H_ASSERT(ok >= 20, "only %d requests for / in 3 s", ok);
	H_ASSERT(booms[0] >= 3 && booms[1] == 0, "/boom: %d 500s, %d "
	    "refused", booms[0], booms[1]);
	H_ASSERT(h_count_log("asked to be replaced") >= 3, "%d suicides",
	    h_count_log("asked to be replaced"));
	H_ASSERT(h_count_log("] started (pid") >= 2 + booms[0] / 2,
	    "%d workers started for %d exceptions",
	    h_count_log("] started (pid"), booms[0]);
	assert_serves(port, 5);

	/* each worker ends its event loop on SIGTERM, well before 15s */
	h_signal(SIGTERM);
	H_ASSERT_EXIT(0, 5000);
	h_assert_no_leftovers();
	H_ASSERT(h_count_log("did not stop within") == 0, "a Node worker had "
	    "to be killed");
}
END_TEST

/* examples/node/fd-worker.js: listen({fd}), process.send('ready'). */
START_TEST(test_node_fd)
{
	int	port = h_free_port();

	use_shipped_conf("node-fd.ini", port, NULL);
	start_daemon();
	h_log_alive(") is ready", 2);
	assert_serves(port, 10);
	h_signal(SIGTERM);
	H_ASSERT_EXIT(0, 5000);
	h_assert_no_leftovers();
	H_ASSERT(h_count_log("did not stop within") == 0, "killed");
}
END_TEST

/*
 * examples/python/worker.py: ready, serves, heartbeats keep it past its
 * watchdog, stops on SIGTERM.
 */
START_TEST(test_python)
{
	static const char *const over[] = { "watchdog = 2s", NULL };
	int	port = h_free_port();

	use_shipped_conf("python.ini", port, over);
	start_daemon();
	h_log_alive(") is ready", 2);
	assert_serves(port, 10);
	h_sleep_ms(2500);
	assert_serves(port, 4);
	H_ASSERT(h_count_log("sent no heartbeat") == 0 &&
	    h_count_log("] started (pid") == 2, "a worker was replaced");
	h_signal(SIGTERM);
	H_ASSERT_EXIT(0, 5000);
	h_assert_no_leftovers();
	H_ASSERT(h_count_log("did not stop within") == 0, "killed");
}
END_TEST

/* examples/shell/worker.sh: ready and heartbeats with echo. */
START_TEST(test_shell)
{
	static const char *const over[] = { "watchdog = 1500ms", NULL };

	use_shipped_conf("shell.ini", 0, over);
	start_daemon();
	h_log_alive("shell[0] (pid", 1);
	H_ASSERT(first_line_has("shell[0] (pid", "is ready"), "not ready");
	h_sleep_ms(3500);
	H_ASSERT(h_count_log("sent no heartbeat") == 0 &&
	    h_count_log("] started (pid") == 1, "the worker was replaced");
	h_signal(SIGTERM);
	H_ASSERT_EXIT(0, 5000);
	h_assert_no_leftovers();
	H_ASSERT(h_count_log("exited with status 0") == 1, "unclean exit");
}
END_TEST

static Suite *
ipc_suite(void)
{
	Suite	*s = suite_create("daemon_ipc");
	TCase	*tc;

	tc = h_tcase("channel", TEST_TIMEOUT);
	tcase_add_test(tc, test_ipc_fd);
	tcase_add_test(tc, test_node_handle_message);
	tcase_add_test(tc, test_suicide);
	tcase_add_test(tc, test_ready_timeout);
	tcase_add_test(tc, test_ready_modes);
	tcase_add_test(tc, test_watchdog);
	tcase_add_test(tc, test_status);
	suite_add_tcase(s, tc);

	tc = h_tcase("abuse", TEST_TIMEOUT);
	tcase_add_test(tc, test_bad_messages);
	tcase_add_test(tc, test_flood);
	suite_add_tcase(s, tc);

	tc = h_tcase("examples", TEST_TIMEOUT);
	tcase_add_test(tc, test_examples_check);
	tcase_add_test(tc, test_node_handle);
	tcase_add_test(tc, test_node_fd);
	tcase_add_test(tc, test_python);
	tcase_add_test(tc, test_shell);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(ipc_suite());
}
