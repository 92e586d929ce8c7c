/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests: the real clusterd, seen from its workers' side.
 *
 * Each test writes a configuration into its own temporary directory,
 * starts the daemon, and reads the reports that tests/workers/reporter
 * writes at start (ids, descriptors, sockets, environment).  Waits have
 * deadlines and return as soon as their condition holds.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define WAIT		15000	/* ms: deadline of a wait */
#define TEST_TIMEOUT	60	/* s: Check's per-test timeout */

/* Did the daemon exit with status 0 before the deadline? */
#define H_ASSERT_EXIT(code) do {					\
	int st_ = -1;							\
	H_ASSERT(h_wait_exit(WAIT, &st_), "the daemon did not exit");	\
	H_ASSERT(WIFEXITED(st_) && WEXITSTATUS(st_) == (code),		\
	    "daemon wait status 0x%x, expected exit %d", st_, (code));	\
} while (0)


/* Start the daemon with extra environment and wait for n reports. */
static void
start_and_wait(const char *const *env, const char *prefix, int n)
{
	H_ASSERT(h_start(env) > 0, "start");
	h_expect_reports(prefix, n);
}

/* The only report with this prefix. */
static struct h_report *
one_report(const char *prefix)
{
	struct h_report	*r;

	h_expect_reports(prefix, 1);
	r = h_report_wait(prefix, WAIT);
	H_ASSERT(r != NULL, "report %s", prefix);
	return r;
}

static void
assert_env(const struct h_report *r, const char *name, const char *want)
{
	char		key[256];
	const char	*v;

	snprintf(key, sizeof(key), "env.%s", name);
	v = h_report_get(r, key);
	H_ASSERT(v != NULL && strcmp(v, want) == 0,
	    "%s: %s=\"%s\", expected \"%s\"", r->r_path, name,
	    v ? v : "(unset)", want);
}

static void
assert_no_env(const struct h_report *r, const char *name)
{
	char		key[256];
	const char	*v;

	snprintf(key, sizeof(key), "env.%s", name);
	v = h_report_get(r, key);
	H_ASSERT(v == NULL, "%s: %s=\"%s\" should not be set", r->r_path,
	    name, v ? v : "");
}

/* A report key that is an all-zero hex mask; else name the signals. */
static void
assert_zero_mask(const struct h_report *r, const char *key)
{
	const char		*v = h_report_get(r, key);
	unsigned long long	 m;
	char			 sigs[256] = "";
	int			 i;

	H_ASSERT(v != NULL && *v != '\0', "%s: no %s", r->r_path, key);
	m = strtoull(v, NULL, 16);
	for (i = 0; i < 64; i++)
		if (m & (1ULL << i))
			snprintf(sigs + strlen(sigs), sizeof(sigs) -
			    strlen(sigs), " %d", i + 1);
	H_ASSERT(m == 0, "%s: %s=%s, expected all zero (signals%s)",
	    r->r_path, key, v, sigs);
}

/*
 * Descriptors: 0, 1, 2, the sockets at 3, 4 in the order of `sockets`
 * (not of the file), listening, at the right address; nothing else (the
 * harness leaks fd 7 into the daemon: it must not reach the worker).
 */
START_TEST(test_fds)
{
	struct h_report	*r;
	char		 want[64], addr[64], sock[PATH_MAX];
	const char	*ipc;
	int		 port = h_free_port();

	snprintf(sock, sizeof(sock), "%s", h_path("api.sock"));
	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "\n"
	    "[socket:ctl-api.v1]\n"
	    "listen = unix:api.sock\n"
	    "\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = ctl-api.v1, web\n", port, h_worker("reporter"));
	start_and_wait(NULL, "web.0.", 1);
	r = one_report("web.0.");

	ipc = h_report_get(r, "env.CLUSTERD_IPC_FD");
	if (ipc != NULL) {
		/* The IPC channel comes right after the sockets. */
		H_ASSERT_STR_EQ(ipc, "5");
		snprintf(want, sizeof(want), "0,1,2,3,4,5");
	} else
		snprintf(want, sizeof(want), "0,1,2,3,4");
	h_assert_key(r, "fds", want);

	h_assert_key(r, "fd.3.type", "socket");
	h_assert_key(r, "fd.3.listening", "1");
	h_assert_key(r, "fd.3.family", "unix");
	h_assert_key(r, "fd.3.addr", sock);
	h_assert_key(r, "fd.4.type", "socket");
	h_assert_key(r, "fd.4.listening", "1");
	h_assert_key(r, "fd.4.family", "inet");
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	h_assert_key(r, "fd.4.addr", addr);
	h_assert_key(r, "fd.3.cloexec", "0");
	h_assert_key(r, "fd.4.cloexec", "0");

	assert_env(r, "LISTEN_FDS", "2");
	assert_env(r, "LISTEN_FDNAMES", "ctl-api.v1:web");
	assert_env(r, "CLUSTERD_FD_CTL_API_V1", "3");
	assert_env(r, "CLUSTERD_FD_WEB", "4");
	h_report_free(r);

	/* The sockets serve. */
	{
		char	buf[512];

		H_ASSERT(h_request_tcp(port, "ping\n", buf, sizeof(buf),
		    WAIT) > 0 && strstr(buf, "hello") != NULL,
		    "tcp reply \"%s\"", buf);
		H_ASSERT(h_request_unix(sock, "ping\n", buf, sizeof(buf),
		    WAIT) > 0 && strstr(buf, "hello") != NULL,
		    "unix reply \"%s\"", buf);
	}
	h_stop_daemon();
}
END_TEST

/*
 * Environment: the socket-activation variables for the worker itself,
 * CLUSTERD_*, `env` lines winning, and nothing that systemd addressed to
 * clusterd; a program without sockets gets no LISTEN_* / CLUSTERD_FD_*.
 */
START_TEST(test_env)
{
	static const char *const env[] = {
		"LISTEN_FDS=5", "LISTEN_PID=1", "LISTEN_FDNAMES=bogus",
		"NOTIFY_SOCKET=/nonexistent/notify", "WATCHDOG_USEC=1000000",
		"WATCHDOG_PID=1", "FROM_PARENT=parent", "OVERRIDE_ME=parent",
		NULL
	};
	struct h_report	**v;
	char		 pid[32], master[32];
	size_t		 n, i, k;
	int		 port = h_free_port(), seen[2] = { 0, 0 };

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "env = OVERRIDE_ME=child\n"
	    "env = EXTRA=with spaces=and equals\n"
	    "\n"
	    "[program:plain]\n"
	    "command = %s\n", port, h_worker("reporter"),
	    h_worker("reporter"));
	start_and_wait(env, "web.", 2);
	h_expect_reports("plain.", 1);
	snprintf(master, sizeof(master), "%ld", (long)h_daemon());

	n = h_report_list("web.", &v);
	H_ASSERT(n == 2, "%zu web reports", n);
	for (i = 0; i < n; i++) {
		long long w = h_report_num(v[i], "env.CLUSTERD_WORKER");

		snprintf(pid, sizeof(pid), "%ld", (long)v[i]->r_pid);
		assert_env(v[i], "LISTEN_PID", pid);
		assert_env(v[i], "LISTEN_FDS", "1");
		assert_env(v[i], "LISTEN_FDNAMES", "web");
		assert_env(v[i], "CLUSTERD_FD_WEB", "3");
		assert_env(v[i], "CLUSTERD_PROGRAM", "web");
		assert_env(v[i], "CLUSTERD_MASTER_PID", master);
		assert_env(v[i], "OVERRIDE_ME", "child");
		assert_env(v[i], "EXTRA", "with spaces=and equals");
		assert_env(v[i], "FROM_PARENT", "parent");
		assert_no_env(v[i], "NOTIFY_SOCKET");
		assert_no_env(v[i], "WATCHDOG_USEC");
		assert_no_env(v[i], "WATCHDOG_PID");
		H_ASSERT(w == 0 || w == 1, "CLUSTERD_WORKER=%lld", w);
		seen[w]++;
	}
	H_ASSERT(seen[0] == 1 && seen[1] == 1, "slots %d %d", seen[0],
	    seen[1]);
	h_report_list_free(v, n);

	n = h_report_list("plain.", &v);
	H_ASSERT(n == 1, "%zu plain reports", n);
	assert_no_env(v[0], "LISTEN_FDS");
	assert_no_env(v[0], "LISTEN_PID");
	assert_no_env(v[0], "LISTEN_FDNAMES");
	assert_no_env(v[0], "NOTIFY_SOCKET");
	assert_no_env(v[0], "WATCHDOG_USEC");
	for (k = 0; k < v[0]->r_n; k++)
		H_ASSERT(strncmp(v[0]->r_keys[k], "env.CLUSTERD_FD_", 16) != 0,
		    "plain has %s", v[0]->r_keys[k]);
	assert_env(v[0], "CLUSTERD_PROGRAM", "plain");
	assert_env(v[0], "CLUSTERD_WORKER", "0");
	assert_env(v[0], "CLUSTERD_MASTER_PID", master);
	assert_no_env(v[0], "OVERRIDE_ME=child");
	assert_env(v[0], "OVERRIDE_ME", "parent");
	h_report_list_free(v, n);

	h_stop_daemon();
}
END_TEST

/*
 * Process set-up: own process group, child of the master, empty signal
 * mask, no ignored signal, parent-death signal = stop_signal.
 */
START_TEST(test_process_setup)
{
	struct h_report	*r;
	char		 pid[32];

	h_write_config(
	    "[program:a]\n"
	    "command = %s\n"
	    "stop_signal = int\n"
	    "\n"
	    "[program:b]\n"
	    "command = %s\n", h_worker("reporter"), h_worker("reporter"));
	start_and_wait(NULL, "a.0.", 1);
	h_expect_reports("b.0.", 1);

	r = one_report("a.0.");
	snprintf(pid, sizeof(pid), "%ld", (long)r->r_pid);
	h_assert_key(r, "pgid", pid);
	H_ASSERT(h_report_num(r, "ppid") == h_daemon(), "ppid %lld",
	    h_report_num(r, "ppid"));
	assert_zero_mask(r, "sigblk");
	assert_zero_mask(r, "sigign");
	H_ASSERT(h_report_num(r, "pdeathsig") == SIGINT, "pdeathsig %lld",
	    h_report_num(r, "pdeathsig"));
	h_report_free(r);

	r = one_report("b.0.");
	snprintf(pid, sizeof(pid), "%ld", (long)r->r_pid);
	h_assert_key(r, "pgid", pid);
	assert_zero_mask(r, "sigblk");
	assert_zero_mask(r, "sigign");
	H_ASSERT(h_report_num(r, "pdeathsig") == SIGTERM, "pdeathsig %lld",
	    h_report_num(r, "pdeathsig"));
	h_report_free(r);

	h_stop_daemon();
}
END_TEST

/* umask, limit_nofile (soft and hard), directory (relative to the file). */
START_TEST(test_umask_limit_directory)
{
	struct h_report	*r;
	char		 wd[PATH_MAX];

	snprintf(wd, sizeof(wd), "%s", h_path("wd"));
	H_ASSERT(mkdir(wd, 0755) == 0, "mkdir %s", wd);
	h_write_config(
	    "[program:a]\n"
	    "command = %s\n"
	    "umask = 027\n"
	    "limit_nofile = 1000\n"
	    "directory = wd\n", h_worker("reporter"));
	start_and_wait(NULL, "a.0.", 1);
	r = one_report("a.0.");
	h_assert_key(r, "umask", "0027");
	h_assert_key(r, "nofile_soft", "1000");
	h_assert_key(r, "nofile_hard", "1000");
	h_assert_key(r, "cwd", wd);
	h_report_free(r);
	h_stop_daemon();
}
END_TEST

/* user = nobody: uid, gid, supplementary groups, HOME/USER/LOGNAME. */
START_TEST(test_user)
{
	struct h_report	*r;
	struct passwd	*pw;
	gid_t		 groups[64];
	int		 ngroups = 64, i;
	char		 want[512], id[32];
	size_t		 len = 0;

	if (getuid() != 0 || (pw = getpwnam("nobody")) == NULL) {
		fprintf(stderr, "test_user: skipped (not root, or no "
		    "nobody)\n");
		return;
	}
	if (getgrouplist("nobody", pw->pw_gid, groups, &ngroups) == -1)
		ngroups = 0;
	want[0] = '\0';
	for (i = 0; i < ngroups; i++)
		len += (size_t)snprintf(want + len, sizeof(want) - len,
		    "%s%u", i ? "," : "", groups[i]);

	h_write_config(
	    "[program:a]\n"
	    "command = %s\n"
	    "user = nobody\n", h_worker("reporter"));
	start_and_wait(NULL, "a.0.", 1);
	r = one_report("a.0.");
	snprintf(id, sizeof(id), "%u", pw->pw_uid);
	h_assert_key(r, "uid", id);
	h_assert_key(r, "euid", id);
	snprintf(id, sizeof(id), "%u", pw->pw_gid);
	h_assert_key(r, "gid", id);
	h_assert_key(r, "egid", id);
	{
		/* Same set, in any order. */
		const char	*got = h_report_get(r, "groups");
		char		 tok[32];

		H_ASSERT(got != NULL, "no groups");
		for (i = 0; i < ngroups; i++) {
			snprintf(tok, sizeof(tok), "%u", groups[i]);
			H_ASSERT(strstr(got, tok) != NULL,
			    "groups=%s, expected %s", got, want);
		}
		H_ASSERT(strlen(got) == strlen(want),
		    "groups=%s, expected %s", got, want);
	}
	assert_env(r, "HOME", pw->pw_dir);
	assert_env(r, "USER", "nobody");
	assert_env(r, "LOGNAME", "nobody");
	h_report_free(r);
	h_stop_daemon();
}
END_TEST

/* stdout/stderr: a file (appended), stderr = stdout, null, inherit. */
START_TEST(test_output)
{
	struct h_report	*r;
	char		 line[128], outlog[PATH_MAX], errlog[PATH_MAX];
	long		 pf, pn, pi;

	snprintf(outlog, sizeof(outlog), "%s", h_path("file.log"));
	snprintf(errlog, sizeof(errlog), "%s", h_path("null.err"));
	h_write_file(outlog, "previous content\n");
	h_write_config(
	    "[program:file]\n"
	    "command = %s\n"
	    "stdout = file.log\n"
	    "stderr = stdout\n"
	    "\n"
	    "[program:null]\n"
	    "command = %s\n"
	    "stdout = null\n"
	    "stderr = null.err\n"
	    "\n"
	    "[program:inherit]\n"
	    "command = %s\n", h_worker("reporter"), h_worker("reporter"),
	    h_worker("reporter"));
	start_and_wait(NULL, "file.0.", 1);
	h_expect_reports("null.0.", 1);
	h_expect_reports("inherit.0.", 1);

	r = one_report("file.0.");
	pf = (long)r->r_pid;
	h_report_free(r);
	r = one_report("null.0.");
	pn = (long)r->r_pid;
	h_assert_key(r, "fd.1.target", "/dev/null");
	h_report_free(r);
	r = one_report("inherit.0.");
	pi = (long)r->r_pid;
	h_report_free(r);

	snprintf(line, sizeof(line), "reporter %ld started", pf);
	H_ASSERT(h_wait_text(outlog, line, 1, WAIT), "%s not in %s", line,
	    outlog);
	snprintf(line, sizeof(line), "reporter %ld stderr", pf);
	H_ASSERT(h_wait_text(outlog, line, 1, WAIT), "%s not in %s", line,
	    outlog);
	H_ASSERT(h_count_in_file(outlog, "previous content") == 1,
	    "%s was truncated, not appended to", outlog);

	snprintf(line, sizeof(line), "reporter %ld stderr", pn);
	H_ASSERT(h_wait_text(errlog, line, 1, WAIT), "%s not in %s", line,
	    errlog);
	snprintf(line, sizeof(line), "reporter %ld started", pn);
	H_ASSERT(h_count_in_file(errlog, line) == 0 &&
	    h_count_in_file(h_out(), line) == 0, "null stdout went somewhere");

	snprintf(line, sizeof(line), "reporter %ld started", pi);
	H_ASSERT(h_wait_text(h_out(), line, 1, WAIT),
	    "inherit: %s not on the daemon's stdout", line);
	snprintf(line, sizeof(line), "reporter %ld stderr", pi);
	H_ASSERT(h_wait_text(h_log(), line, 1, WAIT),
	    "inherit: %s not on the daemon's stderr", line);

	h_stop_daemon();
}
END_TEST

/* CPU seconds (user + system) the process has used so far. */
static double
cpu_seconds(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	FILE			*fp;
	unsigned long		 ut = 0, st = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), fp) == NULL) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* After ")": state(3) ... utime(14) stime(15). */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * A program that cannot be executed: the exec error in the log, and
 * backoff (100ms doubling: a handful of attempts in 2.5s, not hundreds);
 * the daemon stays up and does not spin.
 */
START_TEST(test_exec_failure)
{
	const char	*msg = "web[0]: cannot execute /nonexistent/binary: "
			    "No such file or directory";
	long long	 t0;
	int		 n;
	double		 cpu;

	h_write_config(
	    "[program:web]\n"
	    "command = /nonexistent/binary --flag\n"
	    "restart_delay = 100ms\n"
	    "min_uptime = 1s\n");
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_log(msg, 1, WAIT), "no \"%s\" in the log", msg);
	t0 = h_now_ms();
	/* A measurement window, not a synchronisation. */
	h_sleep_ms(2500);
	n = h_count_log("cannot execute /nonexistent/binary");
	H_ASSERT(h_daemon_alive(), "the daemon died");
	H_ASSERT(n >= 3 && n <= 10,
	    "%d attempts in %lld ms (expected about 5: 100, 200, 400, ...)",
	    n, h_now_ms() - t0);
	cpu = cpu_seconds(h_daemon());
	H_ASSERT(cpu >= 0 && cpu < 1.0, "the daemon used %.2fs of CPU", cpu);
	h_assert_no_zombies();
	h_stop_daemon();
}
END_TEST

/* The log line (malloc'd) that contains "(pid N)" and needle. */
static char *
exit_line(pid_t pid, const char *needle)
{
	char		 key[64], *buf, *p, *line;
	long long	 end = h_now_ms() + WAIT;

	snprintf(key, sizeof(key), "(pid %ld)", (long)pid);
	for (;;) {
		if ((buf = h_read_file(h_log())) != NULL) {
			for (p = strtok(buf, "\n"); p != NULL;
			    p = strtok(NULL, "\n"))
				if (strstr(p, key) && strstr(p, needle)) {
					line = strdup(p);
					free(buf);
					return line;
				}
			free(buf);
		}
		if (h_now_ms() >= end)
			return NULL;
		h_sleep_ms(20);
	}
}

/*
 * A worker SIGKILLed by the test is replaced in its slot; the exit line
 * names program, slot, pid, signal and uptime; the other slot is left
 * alone; repeated kills leave no zombie.
 */
START_TEST(test_restart_after_kill)
{
	struct h_report	*r, **v;
	char		*line, slot[16];
	pid_t		 old;
	size_t		 n;
	int		 i, port = h_free_port();

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 0\n"
	    "restart_delay = 50ms\n", port, h_worker("reporter"));
	start_and_wait(NULL, "web.", 2);
	r = one_report("web.0.");
	old = r->r_pid;
	h_report_free(r);

	H_ASSERT(kill(old, SIGKILL) == 0, "kill %ld", (long)old);
	h_expect_reports("web.0.", 2);
	n = h_report_list("web.0.", &v);
	H_ASSERT(n == 2 && v[0]->r_pid == old && v[1]->r_pid != old,
	    "web.0 reports: %zu", n);
	assert_env(v[1], "CLUSTERD_WORKER", "0");
	h_report_list_free(v, n);
	H_ASSERT(h_count_reports("web.1.") == 1, "slot 1 was restarted");

	line = exit_line(old, "SIGKILL");
	H_ASSERT(line != NULL, "no exit line with (pid %ld) and SIGKILL",
	    (long)old);
	H_ASSERT(strstr(line, "web[0]") != NULL && strstr(line, "after") !=
	    NULL, "exit line: %s", line);
	free(line);

	/* Kill slot 1 five times: always replaced, no zombie stays. */
	snprintf(slot, sizeof(slot), "web.1.");
	for (i = 1; i <= 5; i++) {
		r = h_report_wait(slot, WAIT);
		H_ASSERT(r != NULL, "report");
		kill(r->r_pid, SIGKILL);
		H_ASSERT(h_wait_dead(r->r_pid, WAIT), "pid %ld",
		    (long)r->r_pid);
		h_report_free(r);
		h_expect_reports(slot, i + 1);
	}
	h_assert_no_zombies();
	{
		char buf[256];

		H_ASSERT(h_request_tcp(port, "x\n", buf, sizeof(buf), WAIT) >
		    0 && strstr(buf, "hello"), "reply \"%s\"", buf);
	}
	h_stop_daemon();
}
END_TEST

/* restart = never: a killed worker stays dead; the daemon stays up. */
START_TEST(test_restart_never)
{
	struct h_report	*r;
	char		*line;

	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "restart = never\n"
	    "restart_delay = 50ms\n"
	    "min_uptime = 0\n", h_worker("reporter"));
	start_and_wait(NULL, "web.0.", 1);
	r = one_report("web.0.");
	kill(r->r_pid, SIGKILL);
	line = exit_line(r->r_pid, "web[0]");
	H_ASSERT(line != NULL, "no exit line for pid %ld", (long)r->r_pid);
	free(line);
	h_report_free(r);
	/* A window in which a restart would have happened (50ms). */
	h_sleep_ms(1000);
	H_ASSERT(h_count_reports("web.") == 1, "restarted under never");
	H_ASSERT(h_daemon_alive(), "the daemon exited with nothing to run");
	h_stop_daemon();
}
END_TEST

/*
 * restart = on-failure: not after exit 0; after exit 3 and after a
 * crash (SIGSEGV), with the status or the signal in the log.
 */
START_TEST(test_restart_on_failure)
{
	char	*line;

	h_write_config(
	    "[program:ok]\n"
	    "command = %s\n"
	    "restart = on-failure\n"
	    "restart_delay = 50ms\n"
	    "env = EXIT_AFTER_MS=200\n"
	    "env = EXIT_CODE=0\n"
	    "\n"
	    "[program:bad]\n"
	    "command = %s\n"
	    "restart = on-failure\n"
	    "restart_delay = 50ms\n"
	    "env = EXIT_AFTER_MS=200\n"
	    "env = EXIT_CODE=3\n"
	    "\n"
	    "[program:segv]\n"
	    "command = %s\n"
	    "restart = on-failure\n"
	    "restart_delay = 50ms\n"
	    "env = EXIT_AFTER_MS=200\n"
	    "env = CRASH_SIGNAL=SEGV\n", h_worker("reporter"),
	    h_worker("reporter"), h_worker("reporter"));
	start_and_wait(NULL, "bad.0.", 2);
	h_expect_reports("segv.0.", 2);
	H_ASSERT(h_wait_log("exited with status 3", 1, WAIT),
	    "no \"exited with status 3\"");
	line = h_find_line(h_log(), "exited with status 3");
	H_ASSERT(line != NULL && strstr(line, "bad[0]") != NULL,
	    "line: %s", line ? line : "");
	free(line);
	H_ASSERT(h_wait_log("SIGSEGV", 1, WAIT), "no SIGSEGV in the log");
	line = h_find_line(h_log(), "SIGSEGV");
	H_ASSERT(line != NULL && strstr(line, "segv[0]") != NULL,
	    "line: %s", line ? line : "");
	free(line);
	H_ASSERT(h_wait_log("ok[0]", 2, WAIT), "no exit line for ok[0]");
	line = h_find_line(h_log(), "ok[0] (pid");
	H_ASSERT(line != NULL && strstr(line, "status 0") != NULL,
	    "ok exit line: %s", line ? line : "(none)");
	free(line);
	/* bad restarted twice by now: ok had the same time to restart. */
	h_expect_reports("bad.0.", 3);
	H_ASSERT(h_count_reports("ok.") == 1, "ok restarted after exit 0");
	H_ASSERT(h_daemon_alive(), "daemon exited");
	h_stop_daemon();
}
END_TEST

/* Intervals between the starts of the reports with this prefix. */
static size_t
start_intervals(const char *prefix, long long *iv, size_t max)
{
	struct h_report	**v;
	size_t		  n, i, k = 0;

	n = h_report_list(prefix, &v);
	for (i = 1; i < n && k < max; i++)
		iv[k++] = v[i]->r_mono_ms - v[i - 1]->r_mono_ms;
	h_report_list_free(v, n);
	return k;
}

/*
 * Backoff: a worker that exits at once, restart_delay = 200ms: the
 * delays between starts grow about twofold (ratios, not exact times).
 */
START_TEST(test_backoff_timing)
{
	long long	iv[8];
	size_t		n, i;
	char		msg[256] = "";

	h_write_config(
	    "[program:crash]\n"
	    "command = %s\n"
	    "restart_delay = 200ms\n"
	    "min_uptime = 1s\n"
	    "env = EXIT_AFTER_MS=0\n"
	    "env = EXIT_CODE=1\n", h_worker("reporter"));
	/* Starts at 0, .2, .6, 1.4, 3.0 s. */
	start_and_wait(NULL, "crash.0.", 5);
	n = start_intervals("crash.0.", iv, 4);
	for (i = 0; i < n; i++)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
		    " %lld", iv[i]);
	H_ASSERT(n == 4, "intervals:%s", msg);
	H_ASSERT(iv[0] >= 150 && iv[0] <= 1500, "first delay:%s", msg);
	for (i = 1; i < n; i++)
		H_ASSERT(iv[i] * 10 >= iv[i - 1] * 15 &&
		    iv[i] <= iv[i - 1] * 3 + 500,
		    "not doubling:%s", msg);
	H_ASSERT(h_wait_log("restarting in", 1, WAIT),
	    "no \"restarting in\" in the log");
	h_stop_daemon();
}
END_TEST

/* restart_delay_max caps the doubling. */
START_TEST(test_backoff_cap)
{
	long long	iv[8];
	size_t		n, i;
	char		msg[256] = "";

	h_write_config(
	    "[program:crash]\n"
	    "command = %s\n"
	    "restart_delay = 100ms\n"
	    "restart_delay_max = 300ms\n"
	    "min_uptime = 1s\n"
	    "env = EXIT_AFTER_MS=0\n"
	    "env = EXIT_CODE=1\n", h_worker("reporter"));
	/* Starts at 0, .1, .3, .6, .9, 1.2 s. */
	start_and_wait(NULL, "crash.0.", 6);
	n = start_intervals("crash.0.", iv, 5);
	for (i = 0; i < n; i++)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
		    " %lld", iv[i]);
	H_ASSERT(n == 5, "intervals:%s", msg);
	for (i = 2; i < n; i++)
		H_ASSERT(iv[i] >= 250 && iv[i] <= 900,
		    "not capped at 300ms:%s", msg);
	h_stop_daemon();
}
END_TEST

/*
 * Graceful stop: a request in flight (the worker replies 1.5s later)
 * when the daemon gets SIGTERM still receives its full reply; exit 0,
 * pidfile and unix socket removed.
 */
START_TEST(test_graceful_inflight)
{
	struct h_report	*r;
	char		 buf[1024], line[64], pidfile[PATH_MAX],
			 sock[PATH_MAX];
	int		 port = h_free_port(), fd;
	ssize_t		 n;

	snprintf(pidfile, sizeof(pidfile), "%s", h_path("clusterd.pid"));
	snprintf(sock, sizeof(sock), "%s", h_path("web.sock"));
	h_write_config(
	    "[clusterd]\n"
	    "pidfile = clusterd.pid\n"
	    "\n"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "\n"
	    "[socket:local]\n"
	    "listen = unix:web.sock\n"
	    "\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = web local\n"
	    "env = REPLY_DELAY_MS=1500\n"
	    "env = REPLY=slow\n", port, h_worker("reporter"));
	start_and_wait(NULL, "web.0.", 1);
	r = one_report("web.0.");
	H_ASSERT(h_wait_file(pidfile, 1, WAIT), "no pidfile");
	H_ASSERT(h_file_exists(sock), "no unix socket %s", sock);

	fd = h_connect_tcp(port);
	H_ASSERT(fd != -1, "connect: %s", strerror(errno));
	H_ASSERT(h_send(fd, "GET / HTTP/1.1\r\nHost: test\r\n\r\n") == 0,
	    "send");
	/* In flight: the worker has read the request. */
	snprintf(line, sizeof(line), "reporter %ld request", (long)r->r_pid);
	H_ASSERT(h_wait_text(h_out(), line, 1, WAIT), "request not read");
	H_ASSERT(h_signal(SIGTERM) == 0, "kill");

	n = h_recv_all(fd, buf, sizeof(buf), WAIT);
	close(fd);
	H_ASSERT(n > 0 && strstr(buf, "HTTP/1.1 200 OK") != NULL &&
	    strstr(buf, "slow pid=") != NULL, "reply: \"%s\"", buf);
	H_ASSERT_EXIT(0);
	H_ASSERT(h_pid_dead(r->r_pid), "worker alive");
	H_ASSERT(!h_file_exists(pidfile), "pidfile left behind");
	H_ASSERT(!h_file_exists(sock), "unix socket file left behind");
	h_report_free(r);
	h_assert_no_leftovers();
}
END_TEST

/*
 * stop_timeout: a worker that ignores SIGTERM is SIGKILLed, with its
 * whole process group (a grandchild that ignores SIGTERM too).
 */
START_TEST(test_stop_timeout_kills_group)
{
	struct h_report	*r;
	pid_t		 gc;
	char		 line[64];
	long long	 t0, dt;

	h_write_config(
	    "[program:stubborn]\n"
	    "command = %s\n"
	    "stop_timeout = 500ms\n"
	    "env = IGNORE_TERM=1\n"
	    "env = SPAWN_CHILD=1\n", h_worker("reporter"));
	start_and_wait(NULL, "stubborn.0.", 1);
	r = one_report("stubborn.0.");
	gc = (pid_t)h_report_num(r, "grandchild");
	H_ASSERT(gc > 0 && !h_pid_dead(gc), "grandchild %ld", (long)gc);
	t0 = h_now_ms();
	h_signal(SIGTERM);
	snprintf(line, sizeof(line), "reporter %ld ignoring signal %d",
	    (long)r->r_pid, SIGTERM);
	H_ASSERT(h_wait_text(h_out(), line, 1, WAIT),
	    "the worker never got SIGTERM");
	H_ASSERT_EXIT(0);
	dt = h_now_ms() - t0;
	H_ASSERT(dt >= 400, "exited after %lld ms, before stop_timeout", dt);
	H_ASSERT(h_wait_dead(r->r_pid, WAIT), "worker %ld alive",
	    (long)r->r_pid);
	H_ASSERT(h_wait_dead(gc, WAIT), "grandchild %ld alive", (long)gc);
	h_report_free(r);
	h_assert_no_leftovers();
}
END_TEST

/* A second SIGTERM during shutdown kills at once (stop_timeout 30s). */
START_TEST(test_second_term)
{
	struct h_report	*r;
	char		 line[64];
	long long	 t0, dt;

	h_write_config(
	    "[clusterd]\n"
	    "pidfile = clusterd.pid\n"
	    "[program:stubborn]\n"
	    "command = %s\n"
	    "stop_timeout = 30s\n"
	    "env = IGNORE_TERM=1\n", h_worker("reporter"));
	start_and_wait(NULL, "stubborn.0.", 1);
	r = one_report("stubborn.0.");
	H_ASSERT(h_wait_file(h_path("clusterd.pid"), 1, WAIT), "no pidfile");
	h_signal(SIGTERM);
	snprintf(line, sizeof(line), "reporter %ld ignoring signal %d",
	    (long)r->r_pid, SIGTERM);
	H_ASSERT(h_wait_text(h_out(), line, 1, WAIT),
	    "the worker never got SIGTERM");
	H_ASSERT(h_daemon_alive(), "exited before stop_timeout");
	t0 = h_now_ms();
	h_signal(SIGTERM);
	H_ASSERT_EXIT(0);
	dt = h_now_ms() - t0;
	H_ASSERT(dt < 5000, "second SIGTERM took %lld ms", dt);
	H_ASSERT(h_wait_dead(r->r_pid, WAIT), "worker alive");
	H_ASSERT(!h_file_exists(h_path("clusterd.pid")), "pidfile left");
	h_report_free(r);
	h_assert_no_leftovers();
}
END_TEST

/* SIGQUIT: SIGKILL every worker, exit 0 at once, pidfile removed. */
START_TEST(test_sigquit)
{
	struct h_report	**v;
	size_t		  n, i;
	long long	  t0;

	h_write_config(
	    "[clusterd]\n"
	    "pidfile = clusterd.pid\n"
	    "[program:stubborn]\n"
	    "command = %s\n"
	    "workers = 3\n"
	    "stop_timeout = 30s\n"
	    "env = IGNORE_TERM=1\n"
	    "env = SPAWN_CHILD=1\n", h_worker("reporter"));
	start_and_wait(NULL, "stubborn.", 3);
	H_ASSERT(h_wait_file(h_path("clusterd.pid"), 1, WAIT), "no pidfile");
	t0 = h_now_ms();
	h_signal(SIGQUIT);
	H_ASSERT_EXIT(0);
	H_ASSERT(h_now_ms() - t0 < 5000, "SIGQUIT took %lld ms",
	    h_now_ms() - t0);
	n = h_report_list("stubborn.", &v);
	for (i = 0; i < n; i++) {
		pid_t gc = (pid_t)h_report_num(v[i], "grandchild");

		H_ASSERT(h_wait_dead(v[i]->r_pid, WAIT), "worker %ld alive",
		    (long)v[i]->r_pid);
		H_ASSERT(h_wait_dead(gc, WAIT), "grandchild %ld alive",
		    (long)gc);
	}
	h_report_list_free(v, n);
	H_ASSERT(!h_file_exists(h_path("clusterd.pid")), "pidfile left");
	h_assert_no_leftovers();
}
END_TEST

/* SIGINT is a graceful shutdown too; the pidfile holds the master's pid. */
START_TEST(test_pidfile_sigint)
{
	char	*s, want[32];
	char	 pidfile[PATH_MAX];

	snprintf(pidfile, sizeof(pidfile), "%s", h_path("run/clusterd.pid"));
	H_ASSERT(mkdir(h_path("run"), 0755) == 0, "mkdir");
	h_write_config(
	    "[clusterd]\n"
	    "pidfile = run/clusterd.pid\n"
	    "[program:a]\n"
	    "command = %s\n", h_worker("reporter"));
	start_and_wait(NULL, "a.0.", 1);
	H_ASSERT(h_wait_file(pidfile, 1, WAIT), "no pidfile %s", pidfile);
	s = h_read_file(pidfile);
	snprintf(want, sizeof(want), "%ld", (long)h_daemon());
	H_ASSERT(s != NULL && strtol(s, NULL, 10) == h_daemon() &&
	    strspn(s, "0123456789\n") == strlen(s),
	    "pidfile \"%s\", expected %s", s ? s : "", want);
	free(s);
	h_signal(SIGINT);
	H_ASSERT_EXIT(0);
	H_ASSERT(!h_file_exists(pidfile), "pidfile left behind");
	h_assert_no_leftovers();
}
END_TEST

/* -t: "FILE: ok" on stdout, exit 0, nothing bound, nothing started. */
START_TEST(test_check_ok)
{
	const char	*argv[5];
	char		*out = NULL, *err = NULL, conf[PATH_MAX], want[PATH_MAX +
			    8];
	int		 status = -1, port = h_free_port();

	snprintf(conf, sizeof(conf), "%s", h_conf());
	h_write_config(
	    "[clusterd]\n"
	    "pidfile = clusterd.pid\n"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[socket:local]\n"
	    "listen = unix:local.sock\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = web, local\n", port, h_worker("reporter"));
	argv[0] = getenv("CLUSTERD_BIN");
	argv[1] = "-t";
	argv[2] = "-c";
	argv[3] = conf;
	argv[4] = NULL;
	H_ASSERT(argv[0] != NULL, "CLUSTERD_BIN");
	H_ASSERT(h_run(argv, NULL, WAIT, &status, &out, &err), "-t hung");
	snprintf(want, sizeof(want), "%s: ok", conf);
	H_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "-t: status 0x%x, stderr: %s", status, err ? err : "");
	H_ASSERT(out != NULL && strstr(out, want) != NULL,
	    "-t stdout \"%s\", expected \"%s\"", out ? out : "", want);
	H_ASSERT(!h_file_exists(h_path("local.sock")), "-t bound a socket");
	H_ASSERT(!h_file_exists(h_path("clusterd.pid")), "-t wrote a pidfile");
	H_ASSERT(h_count_reports("") == 0, "-t started a worker");
	{
		/* The TCP port is still free. */
		struct sockaddr_in	sin;
		int			fd = socket(AF_INET, SOCK_STREAM, 0);

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)port);
		H_ASSERT(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
		    "port %d busy after -t", port);
		close(fd);
	}
	free(out);
	free(err);
	H_ASSERT(h_wait_no_marked(WAIT), "-t left a process");
}
END_TEST

/* -t on a bad file: exit 1, FILE:LINE on stderr, nothing on stdout. */
START_TEST(test_check_bad)
{
	const char	*argv[5];
	char		*out = NULL, *err = NULL, conf[PATH_MAX], want[PATH_MAX +
			    8];
	int		 status = -1;

	snprintf(conf, sizeof(conf), "%s", h_conf());
	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "bogus_key = 1\n", h_worker("reporter"));
	argv[0] = getenv("CLUSTERD_BIN");
	argv[1] = "-t";
	argv[2] = "-c";
	argv[3] = conf;
	argv[4] = NULL;
	H_ASSERT(argv[0] != NULL, "CLUSTERD_BIN");
	H_ASSERT(h_run(argv, NULL, WAIT, &status, &out, &err), "-t hung");
	snprintf(want, sizeof(want), "%s:4", conf);
	H_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "-t bad: status 0x%x", status);
	H_ASSERT(err != NULL && strstr(err, want) != NULL &&
	    strstr(err, "bogus_key") != NULL,
	    "stderr \"%s\", expected \"%s\" and the key", err ? err : "",
	    want);
	H_ASSERT(out == NULL || strstr(out, ": ok") == NULL, "stdout: %s",
	    out);
	free(out);
	free(err);

	/* The same file without -t: exit 1 too, nothing started. */
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT_EXIT(1);
	H_ASSERT(h_count_log(want) >= 1, "no %s in the log", want);
	H_ASSERT(h_count_reports("") == 0, "a worker was started");
	h_assert_no_leftovers();
}
END_TEST

/* Usage errors exit 2; -h and -V exit 0. */
START_TEST(test_usage)
{
	static const char *const bad[][4] = {
		{ "-Z", NULL },
		{ "-c", NULL },
		{ "--no-such-option", NULL },
		{ "-t", "extra-operand", NULL },
	};
	const char	*argv[6];
	char		*out, *err;
	size_t		 i, k;
	int		 status;

	argv[0] = getenv("CLUSTERD_BIN");
	H_ASSERT(argv[0] != NULL, "CLUSTERD_BIN");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (k = 0; bad[i][k] != NULL; k++)
			argv[k + 1] = bad[i][k];
		argv[k + 1] = NULL;
		status = -1;
		H_ASSERT(h_run(argv, NULL, WAIT, &status, &out, &err),
		    "hung");
		H_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 2,
		    "clusterd %s: status 0x%x, expected exit 2", bad[i][0],
		    status);
		H_ASSERT(err != NULL && *err != '\0',
		    "clusterd %s: nothing on stderr", bad[i][0]);
		free(out);
		free(err);
	}
	argv[1] = "-V";
	argv[2] = NULL;
	H_ASSERT(h_run(argv, NULL, WAIT, &status, &out, &err), "hung");
	H_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "-V: status 0x%x", status);
	free(out);
	free(err);
	argv[1] = "-h";
	H_ASSERT(h_run(argv, NULL, WAIT, &status, &out, &err), "hung");
	H_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "-h: status 0x%x", status);
	H_ASSERT((out != NULL && strstr(out, "-c") != NULL),
	    "-h: no usage on stdout");
	free(out);
	free(err);
}
END_TEST

/* A port already in use: exit 1, naming the socket and the address. */
START_TEST(test_bind_failure)
{
	struct sockaddr_in	sin;
	char			addr[64];
	int			fd, port = h_free_port(), one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	H_ASSERT(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    listen(fd, 5) == 0, "bind %d", port);
	h_write_config(
	    "[socket:busy-one]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = busy-one\n", port, h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT_EXIT(1);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	H_ASSERT(h_count_log("busy-one") >= 1 && h_count_log(addr) >= 1 &&
	    h_count_log("Address already in use") >= 1,
	    "log should name busy-one, %s, and the error", addr);
	H_ASSERT(h_count_reports("") == 0, "a worker was started");
	close(fd);
	h_assert_no_leftovers();
}
END_TEST

/* The daemon under SIGKILL: its workers get their stop_signal. */
START_TEST(test_master_death)
{
	struct h_report	*r;

	h_write_config(
	    "[program:a]\n"
	    "command = %s\n"
	    "workers = 2\n", h_worker("reporter"));
	start_and_wait(NULL, "a.", 2);
	r = one_report("a.0.");
	h_signal(SIGKILL);
	H_ASSERT(h_wait_exit(WAIT, NULL), "not dead");
	H_ASSERT(h_wait_dead(r->r_pid, WAIT), "worker outlived its master");
	h_report_free(r);
	h_assert_no_leftovers();
}
END_TEST

/*
 * command: split like shell words (quotes, backslashes, no expansion);
 * a program without '/' is searched in PATH.
 */
START_TEST(test_command_words_path)
{
	struct h_report	*r;
	char		 path[PATH_MAX + 64];
	const char	*env[2];

	snprintf(path, sizeof(path), "PATH=%s:/usr/bin:/bin",
	    getenv("TEST_WORKERS") ? getenv("TEST_WORKERS") : "");
	env[0] = path;
	env[1] = NULL;
	h_write_config(
	    "[program:a]\n"
	    "command = reporter plain \"two words\" 'single $HOME' "
	    "back\\ slash \"\"\n");
	start_and_wait(env, "a.0.", 1);
	r = one_report("a.0.");
	h_assert_key(r, "argc", "6");
	h_assert_key(r, "argv.0", "reporter");
	h_assert_key(r, "argv.1", "plain");
	h_assert_key(r, "argv.2", "two words");
	h_assert_key(r, "argv.3", "single $HOME");
	h_assert_key(r, "argv.4", "back slash");
	h_assert_key(r, "argv.5", "");
	h_report_free(r);
	h_stop_daemon();
}
END_TEST

/* A graceful shutdown sends each program its own stop_signal. */
START_TEST(test_stop_signal)
{
	struct h_report	*a, *b;
	char		 line[64];

	h_write_config(
	    "[program:a]\n"
	    "command = %s\n"
	    "stop_signal = SIGUSR1\n"
	    "[program:b]\n"
	    "command = %s\n", h_worker("reporter"), h_worker("reporter"));
	start_and_wait(NULL, "a.0.", 1);
	h_expect_reports("b.0.", 1);
	a = one_report("a.0.");
	b = one_report("b.0.");
	h_signal(SIGTERM);
	H_ASSERT_EXIT(0);
	snprintf(line, sizeof(line), "reporter %ld got signal %d",
	    (long)a->r_pid, SIGUSR1);
	H_ASSERT(h_count_in_file(h_out(), line) == 1, "no \"%s\"", line);
	snprintf(line, sizeof(line), "reporter %ld got signal %d",
	    (long)b->r_pid, SIGTERM);
	H_ASSERT(h_count_in_file(h_out(), line) == 1, "no \"%s\"", line);
	h_report_free(a);
	h_report_free(b);
	h_assert_no_leftovers();
}
END_TEST

/* stop_timeout = 0: SIGKILL at once, no stop_signal first. */
START_TEST(test_stop_timeout_zero)
{
	struct h_report	*r;
	char		 line[64];
	long long	 t0;

	h_write_config(
	    "[program:a]\n"
	    "command = %s\n"
	    "stop_timeout = 0\n"
	    "env = IGNORE_TERM=1\n", h_worker("reporter"));
	start_and_wait(NULL, "a.0.", 1);
	r = one_report("a.0.");
	t0 = h_now_ms();
	h_signal(SIGTERM);
	H_ASSERT_EXIT(0);
	H_ASSERT(h_now_ms() - t0 < 3000, "took %lld ms", h_now_ms() - t0);
	H_ASSERT(h_wait_dead(r->r_pid, WAIT), "worker alive");
	snprintf(line, sizeof(line), "reporter %ld ignoring", (long)r->r_pid);
	H_ASSERT(h_count_in_file(h_out(), line) == 0,
	    "the worker got its stop_signal before SIGKILL");
	h_report_free(r);
	h_assert_no_leftovers();
}
END_TEST

/*
 * restart = always (the default) restarts after exit 0 too; a worker
 * that stayed up min_uptime is restarted at once, and that resets the
 * backoff streak.
 */
START_TEST(test_restart_always_clean_exit)
{
	long long	iv[4];
	size_t		n;

	h_write_config(
	    "[program:a]\n"
	    "command = %s\n"
	    "min_uptime = 200ms\n"
	    "restart_delay = 5s\n"
	    "env = EXIT_AFTER_MS=400\n"
	    "env = EXIT_CODE=0\n", h_worker("reporter"));
	/* Up 400ms > min_uptime each time: never the 5s delay. */
	start_and_wait(NULL, "a.0.", 4);
	n = start_intervals("a.0.", iv, 3);
	H_ASSERT(n == 3 && iv[0] < 2500 && iv[1] < 2500 && iv[2] < 2500,
	    "intervals %lld %lld %lld", iv[0], iv[1], iv[2]);
	H_ASSERT(h_count_log("status 0") >= 3, "exit lines");
	h_stop_daemon();
}
END_TEST

/* The shipped example serves HTTP under clusterd and stops cleanly. */
START_TEST(test_example_hello)
{
	char	buf[1024];
	int	i, port = h_free_port();

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:hello]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n", port, h_example("hello"));
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_log("serving fd 3", 2, WAIT),
	    "the two hello workers did not start");
	for (i = 0; i < 20; i++) {
		H_ASSERT(h_request_tcp(port, "GET / HTTP/1.1\r\nHost: t\r\n"
		    "Connection: close\r\n\r\n", buf, sizeof(buf), WAIT) > 0,
		    "request %d: no reply", i);
		H_ASSERT(strstr(buf, "200") != NULL &&
		    strstr(buf, "hello") != NULL, "reply %d: %s", i, buf);
	}
	h_stop_daemon();
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite	*s = suite_create("daemon");
	TCase	*tc;

	tc = h_tcase("worker", TEST_TIMEOUT);
	tcase_add_test(tc, test_fds);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_process_setup);
	tcase_add_test(tc, test_umask_limit_directory);
	tcase_add_test(tc, test_user);
	tcase_add_test(tc, test_output);
	tcase_add_test(tc, test_command_words_path);
	suite_add_tcase(s, tc);

	tc = h_tcase("supervision", TEST_TIMEOUT);
	tcase_add_test(tc, test_exec_failure);
	tcase_add_test(tc, test_restart_after_kill);
	tcase_add_test(tc, test_restart_never);
	tcase_add_test(tc, test_restart_on_failure);
	tcase_add_test(tc, test_backoff_timing);
	tcase_add_test(tc, test_backoff_cap);
	tcase_add_test(tc, test_master_death);
	tcase_add_test(tc, test_restart_always_clean_exit);
	suite_add_tcase(s, tc);

	tc = h_tcase("shutdown", TEST_TIMEOUT);
	tcase_add_test(tc, test_graceful_inflight);
	tcase_add_test(tc, test_stop_timeout_kills_group);
	tcase_add_test(tc, test_second_term);
	tcase_add_test(tc, test_sigquit);
	tcase_add_test(tc, test_pidfile_sigint);
	tcase_add_test(tc, test_stop_signal);
	tcase_add_test(tc, test_stop_timeout_zero);
	tcase_add_test(tc, test_example_hello);
	suite_add_tcase(s, tc);

	tc = h_tcase("cli", TEST_TIMEOUT);
	tcase_add_test(tc, test_check_ok);
	tcase_add_test(tc, test_check_bad);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_bind_failure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(daemon_suite());
}
