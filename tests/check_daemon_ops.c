/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests of the operating features: reuseport sockets per
 * slot, max_memory recycling, reaping orphans as a subreaper or as a
 * container's PID 1, and running out of descriptors.
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define WAIT		15000
#define TEST_TIMEOUT	60

/* Socket inodes the daemon itself holds open. */
static int
daemon_has_inode(pid_t pid, long long inode)
{
	char		 path[300], link[128], want[64];
	struct dirent	*d;
	DIR		*dir;
	ssize_t		 n;
	int		 found = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	snprintf(want, sizeof(want), "socket:[%lld]", inode);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while (!found && (d = readdir(dir)) != NULL) {
		snprintf(path, sizeof(path), "/proc/%ld/fd/%s", (long)pid,
		    d->d_name);
		if ((n = readlink(path, link, sizeof(link) - 1)) > 0) {
			link[n] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(dir);
	return found;
}

/* SIGTERM to the namespace's init: the child of `unshare --fork`. */
static void
kill_namespace_init(void)
{
	char	path[96], *text;
	long	child;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children",
	    (long)h_daemon(), (long)h_daemon());
	text = h_read_file(path);
	child = text != NULL ? strtol(text, NULL, 10) : 0;
	free(text);
	H_ASSERT(child > 0, "no child of unshare");
	H_ASSERT(kill((pid_t)child, SIGTERM) == 0, "kill %ld", child);
}

/*
 * reuseport: each slot gets its own SO_REUSEPORT socket; a slot's
 * replacement gets the very same one; scaling down closes the removed
 * slot's socket once its worker is gone.
 */
START_TEST(test_reuseport_per_slot)
{
	struct h_report	*r0, *r1, *r2, *again;
	long long	 i0, i1, i2;
	int		 port = h_free_port();

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "reuseport = yes\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 3\n"
	    "sockets = web\n"
	    "min_uptime = 0\n", port, h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_expect_reports("web.", 3);
	r0 = h_newest_report("web.0.");
	r1 = h_newest_report("web.1.");
	r2 = h_newest_report("web.2.");
	i0 = h_report_num(r0, "fd.3.inode");
	i1 = h_report_num(r1, "fd.3.inode");
	i2 = h_report_num(r2, "fd.3.inode");
	H_ASSERT(i0 > 0 && i0 != i1 && i1 != i2 && i0 != i2,
	    "inodes %lld %lld %lld", i0, i1, i2);
	H_ASSERT_STR_EQ(h_report_get(r0, "fd.3.reuseport"), "1");
	H_ASSERT_STR_EQ(h_report_get(r0, "fd.3.listening"), "1");

	/* a replacement gets its slot's socket */
	kill(r1->r_pid, SIGKILL);
	h_expect_reports("web.1.", 2);
	again = h_newest_report("web.1.");
	H_ASSERT(again->r_pid != r1->r_pid, "not replaced");
	H_ASSERT(h_report_num(again, "fd.3.inode") == i1, "inode %lld, "
	    "expected %lld", h_report_num(again, "fd.3.inode"), i1);
	h_report_free(again);

	/* one worker fewer: slot 2's socket goes once its worker has */
	H_ASSERT(daemon_has_inode(h_daemon(), i2) == 1, "slot 2 socket");
	h_signal(SIGTTOU);
	H_ASSERT(h_wait_dead(r2->r_pid, WAIT), "slot 2 worker still alive");
	H_ASSERT(daemon_has_inode(h_daemon(), i2) == 0,
	    "slot 2 socket still open in the master");
	H_ASSERT(daemon_has_inode(h_daemon(), i0) == 1, "slot 0 socket");
	h_report_free(r0);
	h_report_free(r1);
	h_report_free(r2);
	h_stop_daemon();
}
END_TEST

/*
 * While a slot's worker is dead, connections the kernel queued on its
 * socket wait for the replacement: every one of them is answered.
 */
START_TEST(test_reuseport_queue_survives)
{
	struct h_report	*r;
	char		 buf[256];
	int		 fds[40], i, port = h_free_port(), answered = 0;

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "reuseport = yes\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 20s\n"
	    "restart_delay = 1s\n", port, h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_expect_reports("web.", 2);
	r = h_newest_report("web.0.");
	kill(r->r_pid, SIGKILL);
	H_ASSERT(h_wait_dead(r->r_pid, WAIT), "worker alive");
	/* slot 0 backs off 1 s: meanwhile the kernel queues its share */
	for (i = 0; i < 40; i++) {
		fds[i] = h_connect_tcp(port);
		H_ASSERT(fds[i] >= 0, "connect %d: %s", i, strerror(errno));
		H_ASSERT(h_send(fds[i], "x\n") == 0, "send %d", i);
	}
	for (i = 0; i < 40; i++) {
		memset(buf, 0, sizeof(buf));
		if (h_recv_all(fds[i], buf, sizeof(buf) - 1, WAIT) > 0 &&
		    strstr(buf, "hello") != NULL)
			answered++;
		close(fds[i]);
	}
	H_ASSERT(answered == 40, "%d of 40 connections answered", answered);
	H_ASSERT(h_count_reports("web.0.") == 2, "slot 0 not replaced");
	h_report_free(r);
	h_stop_daemon();
}
END_TEST

/* A worker over max_memory is replaced, the new one first. */
START_TEST(test_max_memory)
{
	struct h_report	*r, *next;
	int		 port = h_free_port();

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = web\n"
	    "min_uptime = 100ms\n"
	    "max_memory = 24M\n"
	    "env = ALLOC_MB=48\n", port, h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_expect_reports("web.0.", 1);
	r = h_newest_report("web.0.");
	H_ASSERT(h_wait_log("over max_memory 24.0M", 1, WAIT),
	    "no max_memory line");
	h_expect_reports("web.0.", 2);
	/* the old one is stopped only once its replacement is ready */
	H_ASSERT(h_wait_dead(r->r_pid, WAIT), "old worker alive");
	next = h_newest_report("web.0.");
	H_ASSERT(next->r_pid != r->r_pid, "no replacement");
	H_ASSERT(h_wait_log("is ready", 2, WAIT), "replacement not ready");
	h_report_free(r);
	h_report_free(next);
	h_stop_daemon();
}
END_TEST

/*
 * A max_memory replacement that fails leaves the old worker serving and
 * is not retried at every sample: the slot backs off like any failure.
 */
START_TEST(test_max_memory_failed_replacement)
{
	struct h_report	*r;
	char		 fail[PATH_MAX], buf[64];
	long long	 first;
	int		 attempts, port = h_free_port();

	/* h_path's buffers are a ring: keep this one */
	snprintf(fail, sizeof(fail), "%s", h_path("fail"));
	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = web\n"
	    "min_uptime = 100ms\n"
	    "restart_delay = 6s\n"
	    "max_memory = 24M\n"
	    "env = ALLOC_MB=48\n"
	    "env = FAIL_IF_FILE=%s\n", port, h_worker("reporter"), fail);
	H_ASSERT(h_start(NULL) > 0, "start");
	h_expect_reports("web.0.", 1);
	r = h_newest_report("web.0.");
	h_write_file(fail, "x\n");	/* every new worker now fails */
	H_ASSERT(h_wait_log("before it was ready", 1, WAIT),
	    "the replacement did not fail");
	first = h_now_ms();
	/* two samples later: no new attempt, the old worker serves */
	while (h_now_ms() - first < 4500)
		h_sleep_ms(100);
	attempts = h_count_log("over max_memory");
	H_ASSERT(attempts == 1, "%d attempts in 4.5 s", attempts);
	H_ASSERT(kill(r->r_pid, 0) == 0, "the old worker is gone");
	H_ASSERT(h_request_tcp(port, "x\n", buf, sizeof(buf), WAIT) > 0,
	    "no answer");
	/* once the slot's delay is over, a fixed deploy replaces it */
	unlink(fail);
	H_ASSERT(h_wait_dead(r->r_pid, WAIT), "never replaced");
	h_expect_reports("web.0.", 2);
	h_report_free(r);
	h_stop_daemon();
}
END_TEST

/* A worker's orphan is re-parented to clusterd (a subreaper), reaped. */
START_TEST(test_orphans_reaped)
{
	struct h_report	*r;
	int		 port = h_free_port();

	h_write_config(
	    "[clusterd]\n"
	    "log_level = debug\n"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = web\n"
	    "min_uptime = 0\n"
	    "env = SPAWN_ORPHAN=1\n", port, h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_expect_reports("web.0.", 1);
	r = h_newest_report("web.0.");
	/* the worker dies; its child outlives it, then exits */
	kill(r->r_pid, SIGKILL);
	H_ASSERT(h_wait_log("(not a worker)", 1, WAIT),
	    "the orphan was not reaped by clusterd");
	H_ASSERT(h_zombie_children(h_daemon()) == 0, "zombies");
	h_report_free(r);
	h_stop_daemon();
}
END_TEST

/*
 * As a container's PID 1 (unshare --pid): workers see the master as
 * pid 1, orphans are reaped, SIGTERM shuts down cleanly.
 */
START_TEST(test_pid1)
{
	const char	*argv[] = { "/usr/bin/unshare", "--pid", "--fork",
			    "--mount-proc", NULL, "-c", NULL, NULL };
	struct h_report	*r;
	char		*pid1;
	int		 st = -1, port = h_free_port();

	if (access("/usr/bin/unshare", X_OK) != 0 || geteuid() != 0)
		return;		/* needs root and util-linux */
	h_write_config(
	    "[clusterd]\n"
	    "log_level = debug\n"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 0\n"
	    "env = SPAWN_ORPHAN=1\n", port, h_worker("reporter"));
	argv[4] = getenv("CLUSTERD_BIN");
	argv[6] = h_conf();
	H_ASSERT(h_start_cmd(argv, NULL) > 0, "start");
	h_expect_reports("web.", 2);
	r = h_newest_report("web.0.");
	H_ASSERT_STR_EQ(h_report_get(r, "env.CLUSTERD_MASTER_PID"), "1");
	H_ASSERT_STR_EQ(h_report_get(r, "ppid"), "1");
	/* its orphan is re-parented to pid 1 when it dies */
	h_kill_in_namespace(r, SIGKILL);
	h_report_free(r);
	H_ASSERT(h_wait_log("(not a worker)", 1, WAIT), "orphan not reaped");
	{
		char	buf[64];

		H_ASSERT(h_request_tcp(port, "x\n", buf, sizeof(buf), WAIT) > 0,
		    "no reply");
	}
	/* unshare passes no signal on: SIGTERM goes to clusterd itself */
	pid1 = h_find_line(h_log(), "started (pid 1)");
	H_ASSERT(pid1 != NULL, "clusterd is not pid 1 in its namespace");
	free(pid1);
	kill_namespace_init();
	H_ASSERT(h_wait_exit(WAIT, &st), "no exit");
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	H_ASSERT(h_count_log("clusterd stopped") == 1, "no clean stop");
	H_ASSERT(h_wait_no_marked(WAIT), "processes left behind");
}
END_TEST

/*
 * A deploy of broken code: the first new worker dies before it is ready,
 * the rolling restart stops there, and every old worker keeps serving.
 */
START_TEST(test_reload_broken_code)
{
	struct h_report	*r0, *r1;
	char		 buf[128], *line;
	int		 port = h_free_port();

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 200ms\n", port, h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_expect_reports("web.", 2);
	H_ASSERT(h_wait_log("started:", 1, WAIT), "not started");
	r0 = h_newest_report("web.0.");
	r1 = h_newest_report("web.1.");
	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 200ms\n"
	    "env = EXIT_AFTER_MS=50\n"
	    "env = EXIT_CODE=3\n", port, h_worker("reporter"));
	h_signal(SIGHUP);
	H_ASSERT(h_wait_log("reload failed", 1, WAIT), "no reload failure");
	line = h_find_line(h_log(), "rolling restart stopped");
	H_ASSERT(line != NULL, "no rolling-restart line");
	free(line);
	/* both old workers still there, still serving */
	H_ASSERT(kill(r0->r_pid, 0) == 0 && kill(r1->r_pid, 0) == 0,
	    "an old worker was stopped");
	H_ASSERT(h_request_tcp(port, "x\n", buf, sizeof(buf), WAIT) > 0 &&
	    strstr(buf, "hello") != NULL, "no answer: %s", buf);
	H_ASSERT(h_count_log("rolling restart of") == 1, "more rolls");
	h_report_free(r0);
	h_report_free(r1);
	h_stop_daemon();
}
END_TEST

/*
 * Out of descriptors, the control socket pauses accept() instead of
 * spinning on EMFILE; once clients go away it answers again.
 */
START_TEST(test_control_emfile)
{
	const char	*argv[] = { "/usr/bin/prlimit", "--nofile=24", NULL,
			    "-c", NULL, NULL };
	const char	*ctl = h_path("ctl.sock");
	const char	*cargv[] = { NULL, "-s", NULL, "status", NULL };
	char		*out = NULL, *err = NULL;
	int		 fds[40], i, n = 0, st = -1;

	if (access(argv[0], X_OK) != 0)
		return;
	h_write_config(
	    "[clusterd]\n"
	    "control = %s\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "min_uptime = 0\n", ctl, h_worker("reporter"));
	argv[2] = getenv("CLUSTERD_BIN");
	argv[4] = h_conf();
	H_ASSERT(h_start_cmd(argv, NULL) > 0, "start");
	H_ASSERT(h_wait_log("started:", 1, WAIT), "not started");
	for (i = 0; i < 40; i++)
		if ((fds[n] = h_connect_unix(ctl)) >= 0)
			n++;
	H_ASSERT(h_wait_log("pausing for", 1, WAIT),
	    "no EMFILE pause logged (%d clients connected)", n);
	for (i = 0; i < n; i++)
		close(fds[i]);
	cargv[0] = getenv("CLUSTERCTL_BIN");
	cargv[2] = ctl;
	H_ASSERT(cargv[0] != NULL, "CLUSTERCTL_BIN not set");
	H_ASSERT(h_run(cargv, NULL, WAIT, &st, &out, &err) &&
	    WIFEXITED(st) && WEXITSTATUS(st) == 0 && out != NULL &&
	    strstr(out, "ready") != NULL, "status after the pause: %s %s",
	    out ? out : "", err ? err : "");
	free(out);
	free(err);
	/* logged once a pause, not once an accept(): no spinning */
	H_ASSERT(h_count_log("pausing for") <= 3, "%d pauses logged",
	    h_count_log("pausing for"));
	h_stop_daemon();
}
END_TEST

/*
 * Out of descriptors, a slot that cannot start says so once, with the
 * cause, retries in silence, and says how many attempts failed once it
 * has started: one line per burst, not one per retry.
 */
START_TEST(test_start_failures_logged_once)
{
	struct rlimit	 was, none;
	char		*line;
	unsigned	 n;
	pid_t		 pid;

	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 1\n"
	    "min_uptime = 0\n"
	    "restart_delay = 50ms\n"
	    "restart_delay_max = 100ms\n", h_worker("reporter"));
	H_ASSERT((pid = h_start(NULL)) > 0, "start");
	h_log_for("started:", 1);
	H_ASSERT(prlimit(pid, RLIMIT_NOFILE, NULL, &was) == 0, "prlimit: %s",
	    strerror(errno));
	none = was;
	none.rlim_cur = 3;	/* below what it has open: nothing new */
	H_ASSERT(prlimit(pid, RLIMIT_NOFILE, &none, NULL) == 0, "prlimit: %s",
	    strerror(errno));
	H_ASSERT(h_signal(SIGTTIN) == 0, "SIGTTIN");
	h_log_for("could not start: retrying in", 1);
	H_ASSERT(h_signal(SIGTTIN) == 0, "SIGTTIN");	/* apart: no merging */
	h_log_for("could not start: retrying in", 2);
	/* Retries go on every 100 ms at most: a dozen in this time. */
	h_sleep_ms(1200);
	H_ASSERT(prlimit(pid, RLIMIT_NOFILE, &was, NULL) == 0, "prlimit: %s",
	    strerror(errno));
	h_log_for("started after ", 2);
	H_ASSERT(h_count_log("could not start") == 2, "%d lines say it "
	    "could not start", h_count_log("could not start"));
	H_ASSERT(h_count_log("Too many open files; could not start: "
	    "retrying in 50ms, and saying nothing more until it starts") == 2,
	    "the cause is not in the line");
	line = h_find_line(h_log(), "web[2]: started after ");
	H_ASSERT(line != NULL && sscanf(strstr(line, "after ") + 6, "%u", &n)
	    == 1 && n >= 3, "web[2]: %s", line != NULL ? line : "no line");
	free(line);
	h_stop_daemon();
}
END_TEST

static Suite *
ops_suite(void)
{
	Suite	*s = suite_create("ops");
	TCase	*tc = h_tcase("ops", TEST_TIMEOUT);

	tcase_add_test(tc, test_reuseport_per_slot);
	tcase_add_test(tc, test_reuseport_queue_survives);
	tcase_add_test(tc, test_max_memory);
	tcase_add_test(tc, test_max_memory_failed_replacement);
	tcase_add_test(tc, test_orphans_reaped);
	tcase_add_test(tc, test_pid1);
	tcase_add_test(tc, test_reload_broken_code);
	tcase_add_test(tc, test_control_emfile);
	tcase_add_test(tc, test_start_failures_logged_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(ops_suite());
}
