/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests: upgrading clusterd itself in place (SPEC section 10,
 * issue 13), seen from outside.
 *
 * The daemon runs from a copy of the built binary in the test's
 * directory (bin/clusterd): an upgrade execs the binary at the path
 * clusterd was started from, so a test replaces that file (a new copy
 * renamed into place, as a package manager does, or a script standing in
 * for a broken release) and then sends SIGUSR2 or the control request
 * {"cmd":"upgrade"} (written to the socket directly: clusterctl has no
 * upgrade command yet).
 *
 * tests/workers/upgwrap stands in for the new binary where a test must
 * act inside the upgrade: it waits before it execs the real clusterd,
 * during the preflight (--upgrade-check) or during the takeover (the
 * window in which no image of clusterd runs, every signal blocked).
 *
 * Every wait has a deadline; the few deliberate pauses say why.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define WAIT		15000	/* ms: deadline of a wait */
#define TEST_TIMEOUT	60	/* s: Check's per-test timeout */
#define LONG_TIMEOUT	150	/* s: a hundred upgrades, sanitized */
#define CHECK_TIMEOUT	30	/* s: clusterd's limit for --upgrade-check */
#define MAX_INODES	64

#define UPGRADE_REQ	"{\"cmd\":\"upgrade\"}\n"
#define STATUS_REQ	"{\"cmd\":\"status\"}\n"
#define UPGRADE_OK	"{\"ok\":true}\n"

/*
 * Helpers: the binary, the daemon, the log.
 */

static const char *
bin(void)
{
	return h_path("bin/clusterd");
}

static const char *
ctl_path(void)
{
	return h_path("ctl.sock");
}

/* "[clusterd]" with the control socket, for the head of a config. */
static const char *
head(void)
{
	static char	buf[PATH_MAX + 64];

	snprintf(buf, sizeof(buf), "[clusterd]\ncontrol = %s\n", ctl_path());
	return buf;
}

/* A new release of clusterd at bin(): the built one, renamed in. */
static void
install_clusterd(void)
{
	const char	*built = getenv("CLUSTERD_BIN");

	H_ASSERT(built != NULL, "CLUSTERD_BIN is not set");
	(void)mkdir(h_path("bin"), 0755);
	h_install(built, bin(), 0755);
}

/* A script at bin() in place of clusterd (a broken release). */
static void
install_script(const char *body)
{
	char	tmp[PATH_MAX];

	(void)mkdir(h_path("bin"), 0755);
	snprintf(tmp, sizeof(tmp), "%s.new", bin());
	h_write_file(tmp, "#!/bin/sh\n%s", body);
	H_ASSERT(chmod(tmp, 0755) == 0, "chmod %s: %s", tmp, strerror(errno));
	H_ASSERT(rename(tmp, bin()) == 0, "rename %s: %s", tmp,
	    strerror(errno));
}

/* path -c CONF, with env. */
static pid_t
start_as(const char *path, const char *const *env)
{
	const char	*argv[] = { path, "-c", h_conf(), NULL };
	pid_t		 pid;

	pid = h_start_cmd(argv, env);
	H_ASSERT(pid > 0, "start");
	return pid;
}

/* Start the copy at bin() with the test's configuration. */
static pid_t
start_copy(const char *const *env)
{
	install_clusterd();
	return start_as(bin(), env);
}

/* Start through upgwrap, whose settings are in wrap.conf. */
static pid_t
start_wrapped(const char *settings)
{
	static char	 wbin[PATH_MAX + 16], wconf[PATH_MAX + 16];
	const char	*env[] = { wbin, wconf, NULL };

	snprintf(wbin, sizeof(wbin), "UPGWRAP_BIN=%s", getenv("CLUSTERD_BIN"));
	snprintf(wconf, sizeof(wconf), "UPGWRAP_CONF=%s", h_path("wrap.conf"));
	h_write_file(h_path("wrap.conf"), "%s", settings);
	return start_as(h_worker("upgwrap"), env);
}


/* Byte offset of the first needle in the log, or -1. */
static long
log_pos(const char *needle)
{
	char	*buf = h_read_file(h_log()), *p;
	long	 pos = -1;

	if (buf != NULL && (p = strstr(buf, needle)) != NULL)
		pos = p - buf;
	free(buf);
	return pos;
}

/*
 * The time of the n-th (from 1) log line holding needle, in ms since
 * the epoch, from its "YYYY-MM-DD HH:MM:SS.mmm" prefix; fails if none.
 */
static long long
log_time(const char *needle, int n)
{
	char		*buf = h_read_file(h_log()), *p, *line;
	struct tm	 tm;
	int		 ms = -1, i, got;
	long long	 t;

	H_ASSERT(buf != NULL, "no log");
	for (p = buf, i = 0; (p = strstr(p, needle)) != NULL; p++)
		if (++i == n)
			break;
	H_ASSERT(p != NULL, "no %d-th \"%s\" in the log", n, needle);
	for (line = p; line > buf && line[-1] != '\n'; line--)
		;
	memset(&tm, 0, sizeof(tm));
	got = sscanf(line, "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms);
	H_ASSERT(got == 7, "a log line without its time: %.80s", line);
	free(buf);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	t = (long long)mktime(&tm) * 1000 + ms;
	return t;
}

/* A control request; the whole answer in buf (the connection closes). */
static void
ctl(const char *req, char *buf, size_t len, int ms)
{
	ssize_t	n = h_request_unix(ctl_path(), req, buf, len, ms);

	H_ASSERT(n > 0, "control request %.40s: %s", req,
	    n == 0 ? "no answer" : "no end of answer in time");
}

/* An upgrade by SIGUSR2, and wait for the n-th new image to run. */
static void
upgrade_by_signal(int n)
{
	H_ASSERT(h_signal(SIGUSR2) == 0, "kill");
	h_log_for("upgraded: ", n);
}

/*
 * Helpers: workers and sockets.
 */

static int
cmp_ulong(const void *a, const void *b)
{
	unsigned long	x = *(const unsigned long *)a;
	unsigned long	y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

/* Is inode a unix datagram socket (/proc/net/unix, type 0002)? */
static int
unix_dgram(unsigned long inode)
{
	FILE		*fp;
	char		 line[512];
	unsigned	 type;
	unsigned long	 ino;
	int		 found = 0;

	if ((fp = fopen("/proc/net/unix", "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "%*s %*s %*s %*s %x %*s %lu", &type,
		    &ino) == 2 && ino == inode && type == 2)
			found = 1;
	fclose(fp);
	return found;
}

/*
 * The inodes of pid's stream socket descriptors, sorted; how many.  The
 * unix datagram socket a master sends sd_notify messages on is left
 * out: each image opens its own.
 */
static int
socket_inodes(pid_t pid, unsigned long *out, int max)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX], link[128];
	ssize_t		 n;
	int		 k = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	H_ASSERT((d = opendir(path)) != NULL, "%s: %s", path,
	    strerror(errno));
	while ((de = readdir(d)) != NULL && k < max) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd/%s", (long)pid,
		    de->d_name);
		if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &out[k]) == 1 &&
		    !unix_dgram(out[k]))
			k++;
	}
	closedir(d);
	qsort(out, (size_t)k, sizeof(*out), cmp_ulong);
	return k;
}

/* pid's descriptor whose socket has this inode, or -1. */
static int
fd_of_inode(pid_t pid, unsigned long inode)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX], link[128], want[64];
	ssize_t		 n;
	int		 fd = -1;

	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && fd == -1) {
		snprintf(path, sizeof(path), "/proc/%ld/fd/%s", (long)pid,
		    de->d_name);
		if ((n = readlink(path, link, sizeof(link) - 1)) > 0) {
			link[n] = '\0';
			if (strcmp(link, want) == 0)
				fd = atoi(de->d_name);
		}
	}
	closedir(d);
	return fd;
}

/* The flags of pid's descriptor fd, from /proc/PID/fdinfo; -1 if none. */
static long
fd_flags(pid_t pid, int fd)
{
	char	 path[64], *buf, *p;
	long	 flags = -1;

	snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%d", (long)pid, fd);
	if ((buf = h_read_file(path)) == NULL)
		return -1;
	if ((p = strstr(buf, "flags:")) != NULL)
		flags = strtol(p + 6, NULL, 8);
	free(buf);
	return flags;
}

/* Nothing a worker wrote says it got a signal. */
static void
assert_no_signal(void)
{
	H_ASSERT(h_count_in_file(h_out(), "got signal") == 0 &&
	    h_count_in_file(h_out(), "ignoring signal") == 0,
	    "a worker got a signal: %d \"got signal\" lines",
	    h_count_in_file(h_out(), "got signal"));
}

/* The next sd_notify message that is not a bare STATUS= line. */
static void
notify_next(int fd, char *buf, size_t len, const char *waiting_for)
{
	long long	end = h_now_ms() + WAIT;

	for (;;) {
		H_ASSERT(h_now_ms() < end, "no sd_notify message while "
		    "waiting for %s", waiting_for);
		if (!h_notify_recv(fd, buf, len, 100))
			continue;
		if (strncmp(buf, "STATUS=", 7) != 0)
			return;
	}
}

/*
 * The guarantees (issue 13, item 4).
 */

/*
 * Zero downtime: examples/hello under a load loop while five upgrades
 * run, a new release installed before each one; not one request may
 * fail or be refused.
 */
#define LOAD_UPGRADES	5

START_TEST(test_upgrade_under_load)
{
	struct h_load	*ld;
	long long	 end, next_look = 0, quiet_until = 0;
	int		 port = h_free_port(), sent = 0;

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:hello]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "ready = auto\n"
	    "min_uptime = 100ms\n"
	    "stdout = null\n", port, h_example("hello"));
	start_copy(NULL);
	h_log_for("started:", 1);
	ld = h_load_new(port, 8);

	/* An upgrade once the last one is done and load ran 200 ms more. */
	end = h_now_ms() + 12000;
	while (h_now_ms() < end) {
		h_load_turn(ld, 0, 10);
		if (h_now_ms() < next_look)
			continue;
		next_look = h_now_ms() + 50;
		if (h_count_log("upgraded: ") < sent)
			continue;
		if (quiet_until == 0)
			quiet_until = h_now_ms() + 200;
		if (h_now_ms() < quiet_until)
			continue;
		if (sent == LOAD_UPGRADES)
			break;
		install_clusterd();
		H_ASSERT(h_signal(SIGUSR2) == 0, "kill");
		sent++;
		quiet_until = 0;
	}
	h_load_drain(ld);
	H_ASSERT(h_count_log("upgraded: ") == LOAD_UPGRADES, "%d upgrades "
	    "done of %d", h_count_log("upgraded: "), LOAD_UPGRADES);
	H_ASSERT(h_count_log("upgrade failed") == 0, "an upgrade failed");
	h_load_assert_clean(ld);
	free(ld);
	h_stop_daemon();
}
END_TEST

/*
 * After a package upgrade (a new file renamed over the old one) and
 * {"cmd":"upgrade"}: the answer is {"ok":true}; the master has the same
 * pid and exactly the same sockets (listening, reuseport slot sockets,
 * IPC channels, control socket: the same inodes); the workers are the
 * same and none got a signal or was started; /proc/PID/exe is the new
 * file; systemd is told RELOADING=1, then READY=1, and nothing is put
 * into its file descriptor store again.
 */
START_TEST(test_upgrade_keeps_everything)
{
	unsigned long	 before[MAX_INODES], after[MAX_INODES];
	char		 buf[8192], link[PATH_MAX], npath[PATH_MAX];
	char		 nenv[PATH_MAX + 32], exe[64];
	const char	*env[] = { nenv, NULL };
	struct stat	 st_exe, st_bin;
	pid_t		 master, w[2];
	int		 p1 = h_free_port(), p2 = h_free_port(), nb, na, i;
	int		 nfd;
	ssize_t		 n;

	snprintf(npath, sizeof(npath), "%s", h_path("notify.sock"));
	nfd = h_notify_open(npath);
	snprintf(nenv, sizeof(nenv), "NOTIFY_SOCKET=%s", npath);
	h_write_config(
	    "%s"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[socket:rp]\n"
	    "listen = 127.0.0.1:%d\n"
	    "reuseport = yes\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web rp\n"
	    "min_uptime = 100ms\n", head(), p1, p2, h_worker("reporter"));
	master = start_copy(env);
	h_expect_reports("web.", 2);
	h_log_for("started:", 1);
	h_newest_pids("web.", 2, w);
	notify_next(nfd, buf, sizeof(buf), "FDSTORE=1 of web");
	notify_next(nfd, buf, sizeof(buf), "FDSTORE=1 of rp");
	notify_next(nfd, buf, sizeof(buf), "READY=1");
	H_ASSERT(strncmp(buf, "READY=1", 7) == 0, "at start: \"%s\"", buf);
	nb = socket_inodes(master, before, MAX_INODES);
	H_ASSERT(nb >= 2 + 2 + 2 + 1, "%d sockets in the master", nb);

	install_clusterd();
	snprintf(exe, sizeof(exe), "/proc/%ld/exe", (long)master);
	n = readlink(exe, link, sizeof(link) - 1);
	H_ASSERT(n > 0, "readlink exe: %s", strerror(errno));
	link[n] = '\0';
	H_ASSERT(strstr(link, " (deleted)") != NULL, "the old binary was "
	    "not replaced: exe is %s", link);

	ctl(UPGRADE_REQ, buf, sizeof(buf), WAIT);
	H_ASSERT_STR_EQ(buf, UPGRADE_OK);
	h_log_for("upgraded: ", 1);
	notify_next(nfd, buf, sizeof(buf), "RELOADING=1");
	H_ASSERT(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0,
	    "at the upgrade: \"%s\"", buf);
	notify_next(nfd, buf, sizeof(buf), "READY=1 after the upgrade");
	H_ASSERT(strncmp(buf, "READY=1\nSTATUS=", 15) == 0 &&
	    strstr(buf, "web: 2/2 ready") != NULL, "after the upgrade: "
	    "\"%s\"", buf);

	H_ASSERT(h_daemon_alive(), "the master exited");
	snprintf(link, sizeof(link), "took over (pid %ld)", (long)master);
	H_ASSERT(h_count_log(link) == 1, "no \"%s\" in the log", link);
	na = socket_inodes(master, after, MAX_INODES);
	H_ASSERT(na == nb, "%d sockets before the upgrade, %d after", nb, na);
	for (i = 0; i < nb; i++)
		H_ASSERT(before[i] == after[i], "socket inode %lu is gone, "
		    "%lu is new", before[i], after[i]);
	for (i = 0; i < 2; i++) {
		H_ASSERT(!h_pid_dead(w[i]), "worker %ld is gone", (long)w[i]);
		H_ASSERT(bsearch(&(unsigned long){ (unsigned long)
		    h_report_num_of("web.", w[i], "fd.3.inode") }, after,
		    (size_t)na, sizeof(*after), cmp_ulong) != NULL,
		    "worker %ld's socket is not the master's", (long)w[i]);
	}
	H_ASSERT(h_count_reports("web.") == 2, "a worker was started");
	assert_no_signal();
	H_ASSERT(stat(exe, &st_exe) == 0 && stat(bin(), &st_bin) == 0,
	    "stat: %s", strerror(errno));
	H_ASSERT(st_exe.st_ino == st_bin.st_ino && st_exe.st_dev ==
	    st_bin.st_dev, "/proc/%ld/exe is not the new %s", (long)master,
	    bin());
	H_ASSERT(h_reporter_answers(p1) && h_reporter_answers(p2), "not "
	    "serving after the upgrade");
	ctl(STATUS_REQ, buf, sizeof(buf), WAIT);
	snprintf(link, sizeof(link), "\"pid\":%ld,", (long)w[0]);
	H_ASSERT(strstr(buf, link) != NULL && strstr(buf, "\"restarts\":1")
	    == NULL, "status after the upgrade: %s", buf);
	while (h_notify_recv(nfd, buf, sizeof(buf), 0))
		H_ASSERT(strncmp(buf, "FDSTORE", 7) != 0, "the new image "
		    "stored a socket again: \"%s\"", buf);
	close(nfd);
	h_stop_daemon();
}
END_TEST

/*
 * The IPC channel is carried with what the worker had sent of a line
 * that was not finished: the worker sends a status line and half of a
 * second one before the upgrade, the rest after it, and the new image
 * reads the whole second line.
 */
START_TEST(test_upgrade_ipc_partial_line)
{
	char	buf[8192];
	pid_t	w;

	h_write_config(
	    "%s"
	    "[program:ipc]\n"
	    "command = %s\n"
	    "min_uptime = 100ms\n"
	    "env = SEND_AT_START={\"cmd\":\"status\",\"status\":\"before\"}"
	    "\\n{\"cmd\":\"status\",\"status\":\"half\n"
	    "env = SEND_WHEN_FILE=%s\n"
	    "env = SEND_THEN=-line\"}\\n\n", head(), h_worker("ipcworker"),
	    h_path("send"));
	start_copy(NULL);
	h_log_for("started:", 1);
	ctl(STATUS_REQ, buf, sizeof(buf), WAIT);
	H_ASSERT(strstr(buf, "\"status\":\"before\"") != NULL, "status "
	    "before the upgrade: %s", buf);
	w = (pid_t)atol(strstr(buf, "\"pid\":") + 6);

	upgrade_by_signal(1);
	h_write_file(h_path("send"), "now\n");
	H_ASSERT(h_wait_text(h_path("reports/events.ipc"), " sent ", 1,
	    WAIT), "the worker did not send the rest of its line");
	/* The line is whole once the master has read it. */
	for (;;) {
		ctl(STATUS_REQ, buf, sizeof(buf), WAIT);
		if (strstr(buf, "\"status\":\"half-line\"") != NULL)
			break;
		H_ASSERT(strstr(buf, "\"status\":\"before\"") != NULL,
		    "status after the upgrade: %s", buf);
		h_sleep_ms(20);
	}
	H_ASSERT(!h_pid_dead(w) && h_count_in_file(
	    h_path("reports/events.ipc"), " start ") == 1, "the worker was "
	    "replaced");
	H_ASSERT(h_count_log("malformed") == 0 && h_count_log("not JSON") ==
	    0, "the master misread the channel");
	h_stop_daemon();
}
END_TEST

/* The top of the source tree (examples/node), from $SRCDIR. */
static const char *
srcdir(void)
{
	const char	*v = getenv("SRCDIR");

	H_ASSERT(v != NULL && *v != '\0', "SRCDIR is not set: run the tests "
	    "through make");
	return v;
}

/* GET path; the status code, the body in buf; -1 if it failed. */
static int
http_get(int port, const char *path, char *buf, size_t len)
{
	char	req[256];
	char	*body;
	int	code;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n", path);
	if (h_request_tcp(port, req, buf, len, WAIT) <= 0 ||
	    sscanf(buf, "HTTP/1.1 %d", &code) != 1)
		return -1;
	if ((body = strstr(buf, "\r\n\r\n")) != NULL)
		memmove(buf, body + 4, strlen(body + 4) + 1);
	return code;
}

/*
 * ipc = node: examples/node/handle-worker.js keeps its Node.js channel
 * across an upgrade.  The same workers serve afterwards, and one that
 * hits a bug asks the new image, over that channel, to be replaced.
 */
START_TEST(test_upgrade_node_channel)
{
	char	buf[4096], want[64];
	pid_t	w[2];
	int	port = h_free_port(), i;

	h_write_config(
	    "%s"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node examples/node/handle-worker.js\n"
	    "directory = %s\n"
	    "workers = 2\n"
	    "ipc = node\n"
	    "node_handle = server:web\n"
	    "ready = message\n"
	    "ready_timeout = 10s\n"
	    "min_uptime = 300ms\n"
	    "stop_timeout = 5s\n", head(), port, srcdir());
	start_copy(NULL);
	h_log_for("started:", 1);
	H_ASSERT(http_get(port, "/", buf, sizeof(buf)) == 200, "GET /: %s",
	    buf);
	ctl(STATUS_REQ, buf, sizeof(buf), WAIT);
	w[0] = (pid_t)atol(strstr(buf, "\"pid\":") + 6);
	w[1] = (pid_t)atol(strstr(strstr(buf, "\"pid\":") + 6, "\"pid\":") +
	    6);
	H_ASSERT(w[0] > 0 && w[1] > 0, "status: %s", buf);

	upgrade_by_signal(1);
	for (i = 0; i < 20; i++) {
		H_ASSERT(http_get(port, "/", buf, sizeof(buf)) == 200,
		    "GET / after the upgrade: %s", buf);
		H_ASSERT(strstr(buf, "(pid ") != NULL, "GET /: %s", buf);
		snprintf(want, sizeof(want), "(pid %ld)", atol(strstr(buf,
		    "(pid ") + 5));
		H_ASSERT(atol(strstr(buf, "(pid ") + 5) == w[0] ||
		    atol(strstr(buf, "(pid ") + 5) == w[1], "answered by %s, "
		    "not by a worker of before the upgrade", want);
	}
	H_ASSERT(http_get(port, "/boom", buf, sizeof(buf)) == 500,
	    "GET /boom: %s", buf);
	h_log_for("asked to be replaced", 1);
	h_log_for(") is ready", 3);
	H_ASSERT(http_get(port, "/", buf, sizeof(buf)) == 200, "GET / after "
	    "the replacement: %s", buf);
	h_stop_daemon();
}
END_TEST

/*
 * ipc = node-cluster: examples/node/cluster-app.js, an unmodified Node
 * cluster app, keeps its cluster channel across an upgrade.  Its
 * workers serve on, and the next reload stops them as Node's own cluster
 * primary would, with a disconnect (stop_signal = disconnect): they
 * close their servers and exit 0, not by a SIGTERM.
 */
START_TEST(test_upgrade_node_cluster)
{
	char	buf[4096], needle[64];
	pid_t	w[2];
	int	port = h_free_port(), i;

	h_write_config(
	    "%s"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:nc]\n"
	    "command = node examples/node/cluster-app.js\n"
	    "directory = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "ready = listening\n"
	    "stop_signal = disconnect\n"
	    "stop_timeout = 5s\n"
	    "env = PORT=%d\n", head(), port, srcdir(), port);
	start_copy(NULL);
	h_log_for("started:", 1);
	ctl(STATUS_REQ, buf, sizeof(buf), WAIT);
	w[0] = (pid_t)atol(strstr(buf, "\"pid\":") + 6);
	w[1] = (pid_t)atol(strstr(strstr(buf, "\"pid\":") + 6, "\"pid\":") +
	    6);
	H_ASSERT(w[0] > 0 && w[1] > 0, "status: %s", buf);

	upgrade_by_signal(1);
	for (i = 0; i < 10; i++)
		H_ASSERT(http_get(port, "/", buf, sizeof(buf)) == 200,
		    "GET / after the upgrade: %s", buf);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("reload done", 1);
	for (i = 0; i < 2; i++) {
		snprintf(needle, sizeof(needle), "(pid %ld) exited",
		    (long)w[i]);
		h_log_for(needle, 1);
		snprintf(needle, sizeof(needle), "(pid %ld) exited with status "
		    "0", (long)w[i]);
		H_ASSERT(h_count_log(needle) == 1, "worker %ld of before the "
		    "upgrade was not stopped by a disconnect (its exit is in "
		    "the log)", (long)w[i]);
	}
	H_ASSERT(http_get(port, "/", buf, sizeof(buf)) == 200, "GET / after "
	    "the reload: %s", buf);
	h_stop_daemon();
}
END_TEST

/*
 * ready = notify: a worker's own sd_notify socket is carried too.  The
 * worker pings WATCHDOG=1 every 200 ms with watchdog = 1s; for twice the
 * watchdog after the upgrade (a deliberate wait: the time in which a lost
 * socket shows) every ping must arrive and nothing may kill it.
 */
START_TEST(test_upgrade_notify_socket)
{
	pid_t	w;

	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "ipc = none\n"
	    "ready = notify\n"
	    "watchdog = 1s\n"
	    "env = NOTIFY_READY=1\n"
	    "env = NOTIFY_WATCHDOG_MS=200\n", h_worker("reporter"));
	start_copy(NULL);
	h_expect_reports("web.", 1);
	h_log_for("started:", 1);
	h_newest_pids("web.", 1, &w);
	upgrade_by_signal(1);
	h_sleep_ms(2000);
	H_ASSERT(h_count_in_file(h_out(), "notify failed") == 0, "the "
	    "worker's WATCHDOG=1 could not be sent after the upgrade");
	H_ASSERT(h_count_log("sent no heartbeat") == 0 && !h_pid_dead(w),
	    "the worker was killed for its watchdog");
	H_ASSERT(h_count_reports("web.") == 1, "the worker was replaced");
	h_stop_daemon();
}
END_TEST

/*
 * A worker that dies while no image of clusterd runs is reaped by the
 * new one, its exit logged once, and it is replaced.  upgwrap holds the
 * takeover for TAKEOVER_MS with every signal blocked; the test kills the
 * worker once the wrapper has begun to wait, and makes sure the wait was
 * not over yet (else it tries again with the next upgrade).
 */
#define TAKEOVER_MS	1500

START_TEST(test_upgrade_crash_in_window)
{
	char	needle[64], wlog[PATH_MAX], settings[64];
	pid_t	w[2], next;
	int	port = h_free_port(), tries, inside = 0, n;

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 100ms\n", port, h_worker("reporter"));
	snprintf(settings, sizeof(settings), "takeover_ms=%d\n", TAKEOVER_MS);
	start_wrapped(settings);
	snprintf(wlog, sizeof(wlog), "%s", h_path("wrap.conf.log"));
	h_expect_reports("web.", 2);
	h_log_for("started:", 1);
	h_newest_pids("web.0.", 1, &w[0]);
	h_newest_pids("web.1.", 1, &w[1]);
	for (tries = 1; tries <= 3 && !inside; tries++) {
		H_ASSERT(h_signal(SIGUSR2) == 0, "kill");
		h_log_for("upgrade: executing", tries);
		if (h_count_in_file(wlog, "takeover ") < tries &&
		    h_count_log("took over") < tries) {
			H_ASSERT(kill(w[0], SIGKILL) == 0, "kill: %s",
			    strerror(errno));
			H_ASSERT(h_wait_dead(w[0], WAIT), "the worker lives");
			inside = h_count_in_file(wlog, "takeover ") < tries;
		}
		h_log_for("upgraded: ", tries);
	}
	H_ASSERT(inside, "the worker could not be killed inside the window "
	    "in 3 upgrades");
	snprintf(needle, sizeof(needle), "(pid %ld) exited on signal 9",
	    (long)w[0]);
	h_log_for(needle, 1);
	H_ASSERT(log_pos(needle) > log_pos("took over"), "the exit was seen "
	    "before the takeover");
	h_expect_reports("web.0.", 2);
	h_newest_pids("web.0.", 1, &next);
	H_ASSERT(next != w[0] && !h_pid_dead(next), "slot 0 was not "
	    "replaced");
	H_ASSERT(!h_pid_dead(w[1]) && h_count_reports("web.1.") == 1,
	    "slot 1 was touched");
	h_wait_marked(2);
	h_assert_no_zombies();
	H_ASSERT(h_reporter_answers(port), "not serving");
	/* once: nothing more of it shows later either */
	h_sleep_ms(300);
	H_ASSERT(h_count_log(needle) == 1, "its exit was logged %d times",
	    h_count_log(needle));
	snprintf(needle, sizeof(needle), "(pid %ld)", (long)w[0]);
	n = h_count_log(needle);
	H_ASSERT(n == 3, "the dead worker is named %d times: its start, "
	    "ready and exit expected", n);
	h_stop_daemon();
}
END_TEST

/*
 * Signals that come while no image runs wait, blocked, for the new one:
 * a SIGHUP and a SIGTTIN sent during the takeover are acted on after
 * it (a reload, a worker more), neither lost nor taken by the default
 * action of a signal nobody handles yet.
 */
START_TEST(test_upgrade_signals_in_window)
{
	char	wlog[PATH_MAX];

	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "min_uptime = 100ms\n", h_worker("reporter"));
	start_wrapped("takeover_ms=1000\n");
	snprintf(wlog, sizeof(wlog), "%s", h_path("wrap.conf.log"));
	h_expect_reports("web.", 1);
	h_log_for("started:", 1);
	H_ASSERT(h_signal(SIGUSR2) == 0, "kill");
	h_log_for("upgrade: executing", 1);
	H_ASSERT(h_signal(SIGHUP) == 0 && h_signal(SIGTTIN) == 0, "kill");
	H_ASSERT(h_count_in_file(wlog, "takeover ") == 0, "the signals came "
	    "after the window (a slow machine?)");
	h_log_for("upgraded: ", 1);
	h_log_for("reload done", 1);
	h_log_for("web: scaling from 1 to 2 workers", 1);
	H_ASSERT(log_pos("took over") < log_pos("reloading "), "reloaded "
	    "before the new image ran");
	H_ASSERT(h_daemon_alive(), "the master died of a signal");
	h_wait_marked(2);
	h_stop_daemon();
}
END_TEST

/*
 * Timers carry over.  Four programs, each with a 6 s timer running when
 * the upgrade starts (about 700 ms after the event that armed it) and
 * still running when the new image takes over (upgwrap holds the
 * takeover 500 ms): a worker in stop_timeout (it ignores SIGTERM), a
 * slot in backoff (its replacement failed at once), a worker waiting
 * for ready_timeout (it never says ready), and what a dead worker left
 * in its process group (a child that ignores SIGTERM), which gets
 * SIGKILL at stop_timeout.  Each must be acted on 6 s after its event,
 * not 6 s after the upgrade (at least 1.2 s later: past the slack).  The
 * timers are long so that a slow machine (sanitizers) still upgrades
 * before they fire.  The killed workers have lived longer than
 * their min_uptime, so that they are restarted at once, not after a
 * backoff (test_upgrade_after_backoff).
 */
#define TIMER_MS	6000
#define TIMER_SLACK_MS	1000	/* a loaded machine is late, never early */

static void
assert_on_time(const char *what, long long armed, long long fired,
    long long upgraded)
{
	fprintf(stderr, "timers: %s armed %lld ms before the takeover, fired "
	    "%lld ms after it was armed (%d expected)\n", what,
	    upgraded - armed, fired - armed, TIMER_MS);
	H_ASSERT(upgraded < fired, "%s: the timer fired before the new image "
	    "ran (the test was %lld ms late to upgrade: a loaded machine?)",
	    what, upgraded - armed - 700);
	H_ASSERT(fired - armed >= TIMER_MS - 50 && fired - armed <= TIMER_MS +
	    TIMER_SLACK_MS, "%s: armed at %lld, fired %lld ms later; "
	    "expected %d (the upgrade took over %lld ms after it was armed)",
	    what, armed, fired - armed, TIMER_MS, upgraded - armed);
}

START_TEST(test_upgrade_timers)
{
	static const char failed_c[] = "exited with status 3 after";
	static const char fired_c[] = "crasher[0] started (pid";
	static const char started_r[] = "slow[0] started (pid";
	static const char fired_r[] = "was not ready within 6s";
	char		 buf[4096], fired_s[64], armed_l[64], fired_l[64];
	pid_t		 s0, c0, r0, l0;
	long long	 t_up;

	h_write_config(
	    "%s"
	    "[program:stopper]\n"
	    "command = %s\n"
	    "min_uptime = 100ms\n"
	    "stop_timeout = 6s\n"
	    "env = IGNORE_TERM=1\n"
	    "[program:crasher]\n"
	    "command = %s\n"
	    "min_uptime = 100ms\n"
	    "restart_delay = 6s\n"
	    "env = FAIL_IF_FILE=%s\n"
	    "[program:slow]\n"
	    "command = %s\n"
	    "ready = message\n"
	    "ready_timeout = 6s\n"
	    "min_uptime = 10ms\n"
	    "env = READY_AFTER_MS=0\n"
	    "env = READY_IF_FILE=%s\n"
	    "[program:linger]\n"
	    "command = %s\n"
	    "min_uptime = 10ms\n"
	    "stop_timeout = 6s\n"
	    "env = SPAWN_CHILD=1\n", head(), h_worker("reporter"),
	    h_worker("reporter"), h_path("fail"), h_worker("ipcworker"),
	    h_path("ready"), h_worker("reporter"));
	h_write_file(h_path("ready"), "yes\n");
	start_wrapped("takeover_ms=500\n");
	h_expect_reports("stopper.", 1);
	h_expect_reports("crasher.", 1);
	h_expect_reports("linger.", 1);
	h_log_for("started:", 1);
	h_newest_pids("stopper.", 1, &s0);
	h_newest_pids("crasher.", 1, &c0);
	h_newest_pids("linger.", 1, &l0);
	ctl(STATUS_REQ, buf, sizeof(buf), WAIT);
	r0 = (pid_t)atol(strstr(strstr(buf, "\"name\":\"slow\""), "\"pid\":") +
	    6);

	/* Arm the three timers. */
	ctl("{\"cmd\":\"stop\",\"program\":\"stopper\"}\n", buf, sizeof(buf),
	    WAIT);
	H_ASSERT(strncmp(buf, "{\"ok\":true", 10) == 0, "stop: %s", buf);
	h_write_file(h_path("fail"), "yes\n");
	unlink(h_path("ready"));
	H_ASSERT(kill(c0, SIGKILL) == 0 && kill(r0, SIGKILL) == 0 &&
	    kill(l0, SIGKILL) == 0, "kill");
	h_log_for(failed_c, 1);
	h_log_for(started_r, 2);
	snprintf(armed_l, sizeof(armed_l), "linger[0] (pid %ld) left members",
	    (long)l0);
	h_log_for(armed_l, 1);
	/* Let them run a while, so a timer restarted at the upgrade shows. */
	h_sleep_ms(700);
	upgrade_by_signal(1);
	t_up = log_time("upgraded: ", 1);

	snprintf(fired_s, sizeof(fired_s), "stopper[0] (pid %ld) did not stop "
	    "within 6s", (long)s0);
	h_log_for(fired_s, 1);
	h_log_for(fired_c, 3);
	h_log_for(fired_r, 1);
	snprintf(fired_l, sizeof(fired_l), "linger[0] (pid %ld) did not stop "
	    "within 6s", (long)l0);
	h_log_for(fired_l, 1);

	assert_on_time("stop_timeout", log_time("control socket: stop "
	    "stopper", 1), log_time(fired_s, 1), t_up);
	assert_on_time("backoff", log_time(failed_c, 1), log_time(fired_c, 3),
	    t_up);
	assert_on_time("ready_timeout", log_time(started_r, 2),
	    log_time(fired_r, 1), t_up);
	assert_on_time("a lingering group's stop_timeout", log_time(armed_l,
	    1), log_time(fired_l, 1), t_up);
	H_ASSERT(h_wait_dead(s0, WAIT), "the stopper lives");
	h_stop_daemon();
}
END_TEST

/*
 * A slot whose worker once backed off (a fast failure, then a restart
 * after restart_delay) has a current worker again: the upgrade must not
 * start a second one for it.  The worker is killed before min_uptime, is
 * started again 100 ms later, and is up (ready = exec) when the upgrade
 * comes.
 */
START_TEST(test_upgrade_after_backoff)
{
	pid_t	w0, w1;

	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "ready = exec\n"
	    "min_uptime = 3s\n"
	    "restart_delay = 100ms\n", h_worker("reporter"));
	start_copy(NULL);
	h_expect_reports("web.", 1);
	h_log_for("started:", 1);
	h_newest_pids("web.", 1, &w0);
	H_ASSERT(kill(w0, SIGKILL) == 0, "kill: %s", strerror(errno));
	h_log_for("restarting in 100ms", 1);
	h_expect_reports("web.", 2);
	h_newest_pids("web.", 1, &w1);
	h_log_for(") is ready", 2);
	upgrade_by_signal(1);
	/* A second worker would start at once: give it the time to show. */
	h_sleep_ms(500);
	H_ASSERT(h_count_log("web[0] started") == 2 && h_count_reports("web.")
	    == 2, "the upgrade started another worker for slot 0 (%d "
	    "starts)", h_count_log("web[0] started"));
	H_ASSERT(!h_pid_dead(w1), "the current worker is gone");
	h_wait_marked(1);
	h_stop_daemon();
}
END_TEST

/*
 * A hundred upgrades: the master's descriptors and memory are what they
 * were after the first few, the workers are the same, no zombie is left
 * (every preflight is reaped).  Under ASan RSS says nothing (freed memory
 * sits in quarantine): the leak check at exit does that job.
 */
START_TEST(test_hundred_upgrades)
{
	char	buf[1024];
	pid_t	w[2];
	int	port = h_free_port(), i, fds0 = -1, fds;
	long	rss0 = -1, rss;

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "ready = exec\n"
	    "stdout = null\n"
	    "stderr = null\n", port, h_worker("reporter"));
	start_copy(NULL);
	h_log_for("started:", 1);
	h_expect_reports("web.", 2);
	h_newest_pids("web.", 2, w);
	for (i = 1; i <= 100; i++) {
		upgrade_by_signal(i);
		if (i == 5) {
			h_assert_no_zombies();
			fds0 = h_fd_count(h_daemon());
			rss0 = h_rss_kib(h_daemon());
		}
	}
	H_ASSERT(h_count_log("upgrade failed") == 0, "an upgrade failed");
	h_assert_no_zombies();
	fds = h_fd_count(h_daemon());
	rss = h_rss_kib(h_daemon());
	H_ASSERT(fds0 > 0 && fds == fds0, "%d descriptors after 5 upgrades, "
	    "%d after 100", fds0, fds);
	if (!UNDER_ASAN)
		H_ASSERT(rss0 > 0 && rss <= rss0 + 512, "RSS %ld KiB after 5 "
		    "upgrades, %ld KiB after 100", rss0, rss);
	H_ASSERT(!h_pid_dead(w[0]) && !h_pid_dead(w[1]) &&
	    h_count_reports("web.") == 2, "the workers changed");
	h_wait_marked(2);
	H_ASSERT(h_request_tcp(port, "ping\n", buf, sizeof(buf), WAIT) > 0 &&
	    strstr(buf, "hello pid=") != NULL, "not serving: \"%s\"", buf);
	h_stop_daemon();
}
END_TEST

/*
 * An upgrade asked for during a rolling restart waits for it: the roll
 * and its reload finish first, then the new binary is checked and run;
 * the client's answer comes once the new image runs.
 */
START_TEST(test_upgrade_waits_for_roll)
{
	char	buf[1024];

	h_write_config(
	    "%s"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "min_uptime = 700ms\n", head(), h_worker("reporter"));
	start_copy(NULL);
	h_log_for("started:", 1);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("rolling restart of", 1);
	ctl(UPGRADE_REQ, buf, sizeof(buf), WAIT);
	H_ASSERT_STR_EQ(buf, UPGRADE_OK);
	H_ASSERT(log_pos("upgrade of clusterd requested") < log_pos("reload "
	    "done"), "the upgrade was not asked for during the roll");
	H_ASSERT(log_pos("reload done") < log_pos("upgrade: checking"),
	    "the upgrade did not wait for the reload");
	h_log_for("upgraded: ", 1);
	h_wait_marked(2);
	h_stop_daemon();
}
END_TEST

/*
 * A SIGHUP that comes while the new binary is being checked starts a
 * reload; the upgrade must not exec in the middle of its rolling
 * restart, which the new image could not finish: the reload ends (every
 * worker replaced, "reload done"), and the upgrade runs after it.
 * upgwrap makes the preflight last a second; the roll lasts two.
 */
START_TEST(test_reload_during_check)
{
	pid_t	old[2];

	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "min_uptime = 1s\n", h_worker("reporter"));
	start_wrapped("check_ms=1000\n");
	h_expect_reports("web.", 2);
	h_log_for("started:", 1);
	h_newest_pids("web.", 2, old);
	H_ASSERT(h_signal(SIGUSR2) == 0, "kill");
	h_log_for("upgrade: checking", 1);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("reload done", 1);
	h_log_for("upgraded: ", 1);
	H_ASSERT(log_pos("reload done") < log_pos("upgrade: executing"),
	    "the new image was executed during the rolling restart");
	H_ASSERT(h_wait_dead(old[0], WAIT) && h_wait_dead(old[1], WAIT),
	    "a worker of before the reload still runs");
	h_expect_reports("web.", 4);
	h_wait_marked(2);
	h_stop_daemon();
}
END_TEST

/*
 * Two clients ask for the same upgrade: both are answered {"ok":true},
 * and the new image keeps no descriptor of either.
 */
START_TEST(test_upgrade_two_clients)
{
	char	buf[2][256];
	int	fd[2], i, fds0;

	h_write_config(
	    "%s"
	    "[program:web]\n"
	    "command = %s\n"
	    "min_uptime = 100ms\n", head(), h_worker("reporter"));
	start_copy(NULL);
	h_log_for("started:", 1);
	fds0 = h_fd_count(h_daemon());
	for (i = 0; i < 2; i++) {
		H_ASSERT((fd[i] = h_connect_unix(ctl_path())) != -1,
		    "connect: %s", strerror(errno));
		H_ASSERT(h_send(fd[i], UPGRADE_REQ) == 0, "send");
	}
	for (i = 0; i < 2; i++) {
		H_ASSERT(h_recv_all(fd[i], buf[i], sizeof(buf[i]), 5000) > 0,
		    "client %d: no answer, or the connection stays open", i);
		close(fd[i]);
		H_ASSERT_STR_EQ(buf[i], UPGRADE_OK);
	}
	h_log_for("upgraded: ", 1);
	H_ASSERT(h_count_log("upgraded: ") == 1, "two upgrades ran");
	H_ASSERT(h_fd_count(h_daemon()) == fds0, "%d descriptors before, %d "
	    "after", fds0, h_fd_count(h_daemon()));
	h_stop_daemon();
}
END_TEST

/*
 * Failure paths (issue 13, item 6): each upgrade fails with a message
 * that says why, in the log and in the control answer, and clusterd goes
 * on unchanged: the same process with the same sockets (all close-on-exec
 * still), the same workers, none signalled, still serving, nothing left
 * of the preflight.  Then, the cause fixed, a SIGHUP reloads and an
 * upgrade works.
 */
struct failure {
	const char	*f_why;		/* in the log and the answer */
	void		(*f_break)(void);
	void		(*f_fix)(void);
	int		 f_ms;		/* for the answer */
};

static int	fail_port;

static void
fail_config(const char *extra)
{
	h_write_config(
	    "%s"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 100ms\n"
	    "env = FAIL_IF_FILE=%s\n"
	    "%s", head(), fail_port, h_worker("reporter"), h_path("fail"),
	    extra);
}

/* Every socket of the master is close-on-exec. */
static void
assert_cloexec(pid_t pid)
{
	unsigned long	ino[MAX_INODES];
	int		n, i, fd;

	n = socket_inodes(pid, ino, MAX_INODES);
	for (i = 0; i < n; i++) {
		if ((fd = fd_of_inode(pid, ino[i])) == -1)
			continue;	/* closed meanwhile */
		H_ASSERT((fd_flags(pid, fd) & O_CLOEXEC) != 0, "the master's "
		    "fd %d (socket %lu) is not close-on-exec", fd, ino[i]);
	}
}

static void
run_failure(const struct failure *f)
{
	unsigned long	 before[MAX_INODES], after[MAX_INODES];
	char		 buf[4096], want[1100];
	pid_t		 w[2], master;
	int		 nb, na;

	fail_port = h_free_port();
	fail_config("");
	master = start_copy(NULL);
	h_expect_reports("web.", 2);
	h_log_for("started:", 1);
	h_newest_pids("web.", 2, w);
	nb = socket_inodes(master, before, MAX_INODES);

	f->f_break();
	ctl(UPGRADE_REQ, buf, sizeof(buf), f->f_ms);
	H_ASSERT(strncmp(buf, "{\"ok\":false,\"error\":\"", 21) == 0 &&
	    strstr(buf, f->f_why) != NULL, "answer \"%s\", expected an error "
	    "with \"%s\"", buf, f->f_why);
	snprintf(want, sizeof(want), "upgrade failed: ");
	h_log_for(want, 1);
	H_ASSERT(h_count_log(f->f_why) >= 1 && h_count_log("clusterd goes on "
	    "unchanged") == 1, "no \"%s\" in the log", f->f_why);

	H_ASSERT(h_daemon_alive(), "the master exited");
	H_ASSERT(h_count_log("took over") == 0, "a new image ran");
	na = socket_inodes(master, after, MAX_INODES);
	H_ASSERT(na == nb && memcmp(before, after, (size_t)nb *
	    sizeof(*before)) == 0, "the master's sockets changed (%d, then "
	    "%d)", nb, na);
	assert_cloexec(master);
	H_ASSERT(!h_pid_dead(w[0]) && !h_pid_dead(w[1]) &&
	    h_count_reports("web.") == 2, "the workers changed");
	assert_no_signal();
	H_ASSERT(h_reporter_answers(fail_port), "not serving");
	h_wait_marked(2);
	h_assert_no_zombies();

	f->f_fix();
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("reload done", 1);
	h_expect_reports("web.", 4);
	H_ASSERT(h_wait_dead(w[0], WAIT) && h_wait_dead(w[1], WAIT),
	    "the old workers stay");
	upgrade_by_signal(1);
	H_ASSERT(h_reporter_answers(fail_port), "not serving");
	h_stop_daemon();
}

static void
fix_binary(void)
{
	install_clusterd();
}

static void
fix_nothing(void)
{
}

static void
break_missing(void)
{
	H_ASSERT(unlink(bin()) == 0, "unlink: %s", strerror(errno));
}

START_TEST(test_fail_missing)
{
	static const struct failure f = { "clusterd: No such file or "
	    "directory", break_missing, fix_binary, WAIT };

	run_failure(&f);
}
END_TEST

static void
break_mode(void)
{
	H_ASSERT(chmod(bin(), 0644) == 0, "chmod: %s", strerror(errno));
}

START_TEST(test_fail_not_executable)
{
	static const struct failure f = { "clusterd: Permission denied",
	    break_mode, fix_binary, WAIT };

	run_failure(&f);
}
END_TEST

static void
break_other_program(void)
{
	install_script("echo 'some-tool: unknown option --upgrade-check' >&2\n"
	    "exit 3\n");
}

START_TEST(test_fail_other_program)
{
	static const struct failure f = { "--upgrade-check exited with "
	    "status 3: some-tool: unknown option", break_other_program,
	    fix_binary, WAIT };

	run_failure(&f);
}
END_TEST

static void
break_rejects_config(void)
{
	install_script("echo \"$3:8: [program:web] restart_delay_max: unknown "
	    "key\" >&2\nexit 1\n");
}

START_TEST(test_fail_rejects_config)
{
	static const struct failure f = { "exited with status 1: ",
	    break_rejects_config, fix_binary, WAIT };

	run_failure(&f);
	/* the new binary's own words reach the operator */
	H_ASSERT(h_count_log("restart_delay_max: unknown key") == 1,
	    "the new binary's error is not in the log");
}
END_TEST

static void
break_state_version(void)
{
	install_script("echo \"clusterd 9.0: $3: ok, reads state 99\"\n");
}

START_TEST(test_fail_state_version)
{
	static const struct failure f = { "does not read state version 1; "
	    "it said: clusterd 9.0: ", break_state_version, fix_binary,
	    WAIT };

	run_failure(&f);
}
END_TEST

static void
break_silent(void)
{
	install_script("exec sleep 300\n");
}

START_TEST(test_fail_no_answer)
{
	static const struct failure f = { "--upgrade-check did not answer "
	    "within 30s", break_silent, fix_binary,
	    (CHECK_TIMEOUT + 10) * 1000 };

	run_failure(&f);
}
END_TEST

static void
break_exec(void)
{
	char	body[PATH_MAX + 64];

	snprintf(body, sizeof(body), "chmod 0644 \"$0\"\nexec %s \"$@\"\n",
	    getenv("CLUSTERD_BIN"));
	install_script(body);
}

/* The preflight passes, then the file can no longer be executed. */
START_TEST(test_fail_execve)
{
	static const struct failure f = { "clusterd: Permission denied",
	    break_exec, fix_binary, WAIT };

	run_failure(&f);
	H_ASSERT(h_count_log("upgrade failed: execve ") == 1, "not the "
	    "execve that failed");
}
END_TEST

static void
break_change_file(void)
{
	fail_config("; a comment, but a change all the same\n");
}

START_TEST(test_fail_file_changed)
{
	static const struct failure f = { "the configuration file has "
	    "changed since it was loaded: reload first, then upgrade",
	    break_change_file, fix_nothing, WAIT };

	run_failure(&f);
}
END_TEST

static void
break_bad_file(void)
{
	fail_config("workers = lots\n");
}

static void
fix_file(void)
{
	fail_config("");
}

START_TEST(test_fail_file_invalid)
{
	static const struct failure f = { "the configuration file no longer "
	    "loads", break_bad_file, fix_file, WAIT };

	run_failure(&f);
}
END_TEST

/* A reload whose new workers fail leaves the old configuration running. */
static void
break_reload(void)
{
	h_write_file(h_path("fail"), "yes\n");
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("rolling restart stopped", 1);
	h_log_for("reload failed", 1);
	H_ASSERT(h_count_reports("web.") == 2, "a failing worker reported");
}

static void
fix_reload(void)
{
	H_ASSERT(unlink(h_path("fail")) == 0, "unlink: %s", strerror(errno));
}

START_TEST(test_fail_previous_config)
{
	static const struct failure f = { "a program is on its previous "
	    "configuration because the last reload failed",
	    break_reload, fix_reload, WAIT };

	run_failure(&f);
}
END_TEST

/*
 * The new image cannot adopt a socket: it binds that one anew.  Provoked
 * from outside the way a real server can: a worker that stops accepting
 * with shutdown(2) on its inherited listener (SHUTDOWN_LISTENER) stops
 * the socket for everyone who holds it, the master included; the port
 * then refuses connections.  The new image finds the master's descriptor
 * no longer listening, says so, and binds the port again (a new inode);
 * the next workers (a reload) get that socket and serve.
 */
START_TEST(test_upgrade_rebinds_dead_socket)
{
	unsigned long	 before[MAX_INODES];
	long long	 ino;
	pid_t		 w, master;
	int		 port = h_free_port(), n, i;
	static const char conf[] =
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = web\n"
	    "min_uptime = 100ms\n"
	    "%s";

	h_write_config(conf, port, h_worker("reporter"),
	    "env = SHUTDOWN_LISTENER=1\n");
	master = start_copy(NULL);
	h_expect_reports("web.", 1);
	h_log_for("started:", 1);
	h_newest_pids("web.", 1, &w);
	ino = h_report_num_of("web.", w, "fd.3.inode");
	H_ASSERT(h_wait_text(h_out(), "shut its listeners down", 1, WAIT),
	    "the worker did not shut its listener down");
	H_ASSERT(!h_port_open(port), "port %d still accepts", port);
	n = socket_inodes(master, before, MAX_INODES);

	upgrade_by_signal(1);
	h_log_for("upgrade: socket web: fd ", 1);
	h_log_for("is not a listening stream socket: binding it anew", 1);
	H_ASSERT(h_port_open(port), "port %d was not bound again", port);
	H_ASSERT(!h_pid_dead(w), "the worker was stopped");
	for (i = 0; i < n; i++)
		H_ASSERT(before[i] != (unsigned long)ino || fd_of_inode(master,
		    before[i]) == -1, "the master kept the dead socket");

	h_write_config(conf, port, h_worker("reporter"), "");
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("reload done", 1);
	h_expect_reports("web.", 2);
	H_ASSERT(h_reporter_answers(port), "the new socket does not serve");
	H_ASSERT(h_wait_dead(w, WAIT), "the old worker stays");
	h_stop_daemon();
}
END_TEST

/*
 * systemd's file descriptor store (issue 13, item 5).  The test plays
 * systemd: its notify socket keeps every descriptor sent with FDSTORE=1
 * under its FDNAME, drops one at FDSTOREREMOVE=1.  clusterd stores its
 * sockets at start and each new one at a reload, and removes the ones a
 * reload drops.  Then clusterd and its workers are killed (as systemd
 * does with KillMode=mixed when the main process crashes); a connection
 * made meanwhile waits in the stored socket's queue; tests/workers/
 * fdlaunch starts clusterd again with the stored sockets (LISTEN_FDS,
 * LISTEN_FDNAMES, LISTEN_PID), which takes them back by name and serves
 * the waiting connection.  A later reload that drops a socket taken back
 * closes it: its port refuses connections once its workers are gone.
 */
#define STORE_MAX	8

struct store {
	char	*st_name[STORE_MAX];
	int	 st_fd[STORE_MAX];
	int	 st_n;
};

/* The next datagram within ms, with a descriptor it carries (or -1). */
static int
notify_recv_fd(int sock, char *buf, size_t len, int *fd, int ms)
{
	union {
		struct cmsghdr	hdr;
		char		b[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct pollfd	 pfd = { sock, POLLIN, 0 };
	struct msghdr	 mh;
	struct iovec	 iov = { buf, len - 1 };
	struct cmsghdr	*c;
	ssize_t		 n;

	*fd = -1;
	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof(cm.b);
	if ((n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) < 0)
		return 0;
	buf[n] = '\0';
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 1;
}

/* The stored descriptor of name, or -1. */
static int
store_fd(const struct store *s, const char *name)
{
	int	i;

	for (i = 0; i < s->st_n; i++)
		if (strcmp(s->st_name[i], name) == 0)
			return s->st_fd[i];
	return -1;
}

/* Handle messages as systemd would, until one starts with until. */
static void
store_until(struct store *s, int sock, const char *until)
{
	char		 buf[2048], *name;
	long long	 end = h_now_ms() + WAIT;
	int		 fd, i;

	for (;;) {
		H_ASSERT(h_now_ms() < end, "no \"%s\" from clusterd", until);
		if (!notify_recv_fd(sock, buf, sizeof(buf), &fd, 100))
			continue;
		name = strstr(buf, "FDNAME=");
		if (strncmp(buf, "FDSTORE=1\n", 10) == 0) {
			H_ASSERT(fd != -1 && name != NULL && s->st_n <
			    STORE_MAX, "FDSTORE=1 without a descriptor or a "
			    "name: \"%s\"", buf);
			s->st_name[s->st_n] = strdup(name + 7);
			s->st_fd[s->st_n++] = fd;
		} else if (strncmp(buf, "FDSTOREREMOVE=1\n", 16) == 0) {
			H_ASSERT(name != NULL, "FDSTOREREMOVE=1 without a "
			    "name: \"%s\"", buf);
			H_ASSERT(store_fd(s, name + 7) != -1, "FDSTOREREMOVE "
			    "of \"%s\", which is not in the store", name + 7);
			/* as systemd: every descriptor of that name */
			for (i = 0; i < s->st_n; i++) {
				if (strcmp(s->st_name[i], name + 7) != 0)
					continue;
				close(s->st_fd[i]);
				free(s->st_name[i]);
				s->st_name[i] = s->st_name[--s->st_n];
				s->st_fd[i--] = s->st_fd[s->st_n];
			}
		} else if (fd != -1)
			close(fd);
		if (strncmp(buf, until, strlen(until)) == 0)
			return;
	}
}

/* How many stored descriptors have that name. */
static int
store_count(const struct store *s, const char *name)
{
	int	i, n = 0;

	for (i = 0; i < s->st_n; i++)
		n += strcmp(s->st_name[i], name) == 0;
	return n;
}

/* The port of a stored TCP socket. */
static int
fd_port(int fd)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	H_ASSERT(getsockname(fd, (struct sockaddr *)&sin, &len) == 0,
	    "getsockname: %s", strerror(errno));
	return ntohs(sin.sin_port);
}

/* fdlaunch is connected at lfd: hand it the store, in its order. */
static void
store_pass(const struct store *s, int lfd)
{
	union {
		struct cmsghdr	hdr;
		char		b[CMSG_SPACE(STORE_MAX * sizeof(int))];
	}		 cm;
	struct pollfd	 pfd = { lfd, POLLIN, 0 };
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;
	char		 names[512];
	int		 conn, i;
	size_t		 len = 0;

	H_ASSERT(poll(&pfd, 1, WAIT) == 1, "fdlaunch did not connect");
	H_ASSERT((conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) != -1,
	    "accept: %s", strerror(errno));
	names[0] = '\0';
	for (i = 0; i < s->st_n; i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len,
		    "%s%s", i > 0 ? ":" : "", s->st_name[i]);
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = names;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = CMSG_SPACE((size_t)s->st_n * sizeof(int));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)s->st_n * sizeof(int));
	memcpy(CMSG_DATA(c), s->st_fd, (size_t)s->st_n * sizeof(int));
	H_ASSERT(sendmsg(conn, &mh, MSG_NOSIGNAL) == (ssize_t)len,
	    "sendmsg: %s", strerror(errno));
	close(conn);
}

/* SIGKILL to clusterd and every worker; nothing of the test is left. */
static void
kill_everything(void)
{
	pid_t	pids[64];
	int	n, i, st;

	n = h_marked_pids(pids, 64);
	H_ASSERT(h_signal(SIGKILL) == 0, "kill");
	H_ASSERT(h_wait_exit(WAIT, &st), "clusterd did not die");
	for (i = 0; i < n; i++)
		(void)kill(pids[i], SIGKILL);
	H_ASSERT(h_wait_no_marked(WAIT), "processes outlive clusterd");
}

/*
 * systemd starts clusterd again with its store: fdlaunch, at the path
 * of the daemon's binary, fetches the store from us.
 */
static void
relaunch(const struct store *s, const char *const *env)
{
	struct sockaddr_un	 sun;
	char			 launcher[PATH_MAX], store[PATH_MAX];
	char			 exe[PATH_MAX], conf_path[PATH_MAX];
	const char		*argv[] = { launcher, store, exe, "-c",
				    conf_path, NULL };
	int			 lfd;

	snprintf(launcher, sizeof(launcher), "%s", h_worker("fdlaunch"));
	snprintf(store, sizeof(store), "%s", h_path("store.sock"));
	snprintf(exe, sizeof(exe), "%s", bin());
	snprintf(conf_path, sizeof(conf_path), "%s", h_conf());
	(void)unlink(store);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	H_ASSERT(strlen(store) < sizeof(sun.sun_path), "%s: too long", store);
	memcpy(sun.sun_path, store, strlen(store) + 1);
	H_ASSERT(lfd != -1 && bind(lfd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0 && listen(lfd, 1) == 0, "store socket: %s",
	    strerror(errno));
	H_ASSERT(h_start_cmd(argv, env) > 0, "start");
	store_pass(s, lfd);
	close(lfd);
}

static void
store_free(struct store *s)
{
	int	i;

	for (i = 0; i < s->st_n; i++) {
		close(s->st_fd[i]);
		free(s->st_name[i]);
	}
	s->st_n = 0;
}

START_TEST(test_fdstore)
{
	static const char conf[] =
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "%s"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = %s\n"
	    "min_uptime = 100ms\n";
	struct store	 s;
	char		 nenv[PATH_MAX + 32], npath[PATH_MAX], buf[512];
	char		 extra[128], more[128];
	const char	*env[] = { nenv, NULL };
	int		 web = h_free_port(), p_extra = h_free_port(), p_more;
	int		 nfd, conn;

	memset(&s, 0, sizeof(s));
	do
		p_more = h_free_port();
	while (p_more == web || p_more == p_extra);
	snprintf(npath, sizeof(npath), "%s", h_path("notify.sock"));
	nfd = h_notify_open(npath);
	snprintf(nenv, sizeof(nenv), "NOTIFY_SOCKET=%s", npath);
	snprintf(extra, sizeof(extra), "[socket:extra]\nlisten = "
	    "127.0.0.1:%d\n", p_extra);
	snprintf(more, sizeof(more), "[socket:more]\nlisten = "
	    "127.0.0.1:%d\n", p_more);

	/* At start: both sockets stored, under their names. */
	h_write_config(conf, web, extra, h_worker("reporter"), "web extra");
	start_copy(env);
	store_until(&s, nfd, "READY=1");
	H_ASSERT(s.st_n == 2 && store_fd(&s, "web") != -1 &&
	    store_fd(&s, "extra") != -1, "stored at start: %d", s.st_n);
	H_ASSERT(fd_port(store_fd(&s, "web")) == web &&
	    fd_port(store_fd(&s, "extra")) == p_extra, "the wrong sockets "
	    "were stored");

	/* A reload drops extra, adds more. */
	h_write_config(conf, web, more, h_worker("reporter"), "web more");
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	store_until(&s, nfd, "READY=1");
	h_log_for("reload done", 1);
	H_ASSERT(s.st_n == 2 && store_fd(&s, "web") != -1 &&
	    store_fd(&s, "more") != -1 && store_fd(&s, "extra") == -1,
	    "the store after the reload is wrong");
	H_ASSERT(fd_port(store_fd(&s, "more")) == p_more, "more: the wrong "
	    "socket");

	/* clusterd crashes; a client comes while nothing runs. */
	kill_everything();
	H_ASSERT((conn = h_connect_tcp(web)) != -1, "connect while no "
	    "clusterd ran: %s", strerror(errno));
	H_ASSERT(h_send(conn, "ping\n") == 0, "send");
	H_ASSERT(!h_port_open(p_extra), "the dropped socket still accepts");

	/* systemd starts it again with the store. */
	relaunch(&s, env);
	store_until(&s, nfd, "READY=1");
	h_log_for("socket web: taken back from systemd (127.0.0.1:", 1);
	h_log_for("socket more: taken back from systemd (127.0.0.1:", 1);
	H_ASSERT(h_recv_all(conn, buf, sizeof(buf), WAIT) > 0 &&
	    strstr(buf, "hello pid=") != NULL, "the connection made while no "
	    "clusterd ran was not served: \"%s\"", buf);
	close(conn);
	H_ASSERT(h_count_log("socket web: listening on") == 1, "web was "
	    "bound anew");

	/* A reload drops more: it leaves the store, its port closes. */
	h_write_config(conf, web, "", h_worker("reporter"), "web");
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	store_until(&s, nfd, "READY=1");
	h_log_for("reload done", 2);
	H_ASSERT(s.st_n == 1 && store_fd(&s, "web") != -1, "more is still "
	    "stored");
	h_wait_marked(1);
	H_ASSERT(!h_port_open(p_more), "port %d still accepts after its socket "
	    "was dropped and its workers are gone", p_more);
	H_ASSERT(h_reporter_answers(web), "web does not serve");
	store_free(&s);
	close(nfd);
	h_stop_daemon();
}
END_TEST

/*
 * After a crash the file moved a socket to another port: the stored one
 * is not that socket any more.  clusterd binds the new address and puts
 * it in the store in place of the stale one (FDSTOREREMOVE=1 first, so
 * that the next restart is not handed the old port again), and the old
 * port closes.
 */
START_TEST(test_fdstore_moved)
{
	static const char conf[] =
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = web\n"
	    "min_uptime = 100ms\n";
	struct store	 s;
	char		 nenv[PATH_MAX + 32], npath[PATH_MAX];
	const char	*env[] = { nenv, NULL };
	int		 p1 = h_free_port(), p2, nfd;

	memset(&s, 0, sizeof(s));
	do
		p2 = h_free_port();
	while (p2 == p1);
	snprintf(npath, sizeof(npath), "%s", h_path("notify.sock"));
	nfd = h_notify_open(npath);
	snprintf(nenv, sizeof(nenv), "NOTIFY_SOCKET=%s", npath);
	h_write_config(conf, p1, h_worker("reporter"));
	start_copy(env);
	store_until(&s, nfd, "READY=1");
	H_ASSERT(store_count(&s, "web") == 1, "web stored %d times",
	    store_count(&s, "web"));
	kill_everything();

	h_write_config(conf, p2, h_worker("reporter"));
	relaunch(&s, env);
	store_until(&s, nfd, "READY=1");
	h_log_for("socket web: the one systemd kept: ", 1);
	H_ASSERT(h_reporter_answers(p2), "the new port does not serve");
	H_ASSERT(store_count(&s, "web") == 1 && fd_port(store_fd(&s,
	    "web")) == p2, "the store holds %d sockets named web, the first "
	    "on port %d (the new port is %d)", store_count(&s, "web"),
	    fd_port(store_fd(&s, "web")), p2);
	H_ASSERT(!h_port_open(p1), "the old port %d still accepts", p1);
	store_free(&s);
	close(nfd);
	h_stop_daemon();
}
END_TEST

static Suite *
upgrade_suite(void)
{
	Suite	*s = suite_create("daemon_upgrade");
	TCase	*tc;

	tc = h_tcase("guarantees", TEST_TIMEOUT);
	tcase_add_test(tc, test_upgrade_under_load);
	tcase_add_test(tc, test_upgrade_keeps_everything);
	tcase_add_test(tc, test_upgrade_ipc_partial_line);
	tcase_add_test(tc, test_upgrade_node_channel);
	tcase_add_test(tc, test_upgrade_node_cluster);
	tcase_add_test(tc, test_upgrade_notify_socket);
	tcase_add_test(tc, test_upgrade_crash_in_window);
	tcase_add_test(tc, test_upgrade_signals_in_window);
	tcase_add_test(tc, test_upgrade_timers);
	tcase_add_test(tc, test_upgrade_after_backoff);
	tcase_add_test(tc, test_upgrade_waits_for_roll);
	tcase_add_test(tc, test_reload_during_check);
	tcase_add_test(tc, test_upgrade_two_clients);
	suite_add_tcase(s, tc);

	tc = h_tcase("endurance", LONG_TIMEOUT);
	tcase_add_test(tc, test_hundred_upgrades);
	suite_add_tcase(s, tc);

	tc = h_tcase("failures", TEST_TIMEOUT);
	tcase_add_test(tc, test_fail_missing);
	tcase_add_test(tc, test_fail_not_executable);
	tcase_add_test(tc, test_fail_other_program);
	tcase_add_test(tc, test_fail_rejects_config);
	tcase_add_test(tc, test_fail_state_version);
	tcase_add_test(tc, test_fail_no_answer);
	tcase_add_test(tc, test_fail_execve);
	tcase_add_test(tc, test_fail_file_changed);
	tcase_add_test(tc, test_fail_file_invalid);
	tcase_add_test(tc, test_fail_previous_config);
	tcase_add_test(tc, test_upgrade_rebinds_dead_socket);
	suite_add_tcase(s, tc);

	tc = h_tcase("systemd", TEST_TIMEOUT);
	tcase_add_test(tc, test_fdstore);
	tcase_add_test(tc, test_fdstore_moved);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(upgrade_suite());
}
