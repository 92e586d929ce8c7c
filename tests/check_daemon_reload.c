/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests: reloads, rolling restarts, scaling, sd_notify and
 * graceful shutdown, seen from outside (SPEC sections 6, 7 and 9).
 *
 * The real daemon runs examples/hello or tests/workers/reporter; a test
 * drives it with signals and watches its log, its workers' reports, the
 * sockets, /proc and, for sd_notify, a datagram socket of its own.  Every
 * wait has a deadline and returns as soon as its condition holds.
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
#define LONG_TIMEOUT	150	/* s: the hundred reloads, sanitized */

#define H_ASSERT_EXIT(code) do {					\
	int st_ = -1;							\
	H_ASSERT(h_wait_exit(WAIT, &st_), "the daemon did not exit");	\
	H_ASSERT(WIFEXITED(st_) && WEXITSTATUS(st_) == (code),		\
	    "daemon wait status 0x%x, expected exit %d", st_, (code));	\
} while (0)

/*
 * Helpers.
 */

static char *
report_str_of(const char *prefix, pid_t pid, const char *key, char *buf,
    size_t len)
{
	struct h_report	**v;
	size_t		  n, i;
	const char	 *s;
	int		  found = 0;

	n = h_report_list(prefix, &v);
	for (i = 0; i < n; i++)
		if (v[i]->r_pid == pid) {
			s = h_report_get(v[i], key);
			snprintf(buf, len, "%s", s != NULL ? s : "(none)");
			found = 1;
		}
	h_report_list_free(v, n);
	H_ASSERT(found, "no report \"%s*\" of pid %ld", prefix, (long)pid);
	return buf;
}

static void
wait_dead(pid_t pid)
{
	H_ASSERT(h_wait_dead(pid, WAIT), "pid %ld still alive", (long)pid);
}

/* Is msg one "STATUS=..." line and nothing else? */
static int
status_only(const char *msg)
{
	return strncmp(msg, "STATUS=", 7) == 0 && strchr(msg, '\n') == NULL;
}

/*
 * The next message that is not a bare STATUS= update (those may come at
 * any time; each must be one line).  Fails at the deadline.
 */
static void
notify_next(int fd, char *buf, size_t len, const char *waiting_for)
{
	long long	end = h_now_ms() + WAIT;

	for (;;) {
		H_ASSERT(h_now_ms() < end, "no sd_notify message while "
		    "waiting for %s", waiting_for);
		if (!h_notify_recv(fd, buf, len, 100))
			continue;
		H_ASSERT(strncmp(buf, "WATCHDOG=", 9) != 0, "WATCHDOG= "
		    "without WATCHDOG_USEC: \"%s\"", buf);
		if (!status_only(buf))
			return;
		H_ASSERT(strchr(buf, '\n') == NULL, "STATUS= of more than "
		    "one line: \"%s\"", buf);
	}
}

/*
 * The tests.
 */

/*
 * Zero downtime: examples/hello under a bounded load loop while three
 * rolling restarts run; not one request may fail or be refused.
 */
START_TEST(test_reload_under_load)
{
	struct h_load	*ld;
	long long	 end, next_hup = 0, quiet_until = 0;
	int		 port = h_free_port(), sent = 0, done;

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
	H_ASSERT(h_start(NULL) > 0, "start");
	h_log_for("started:", 1);
	ld = h_load_new(port, 8);

	/* A SIGHUP once the last reload is done and load ran 300 ms more. */
	end = h_now_ms() + 10000;
	while (h_now_ms() < end) {
		h_load_turn(ld, 0, 10);
		if (h_now_ms() < next_hup)
			continue;
		next_hup = h_now_ms() + 50;	/* look at the log 20/s */
		done = h_count_log("reload done");
		if (done < sent)
			continue;
		if (quiet_until == 0)
			quiet_until = h_now_ms() + 300;
		if (h_now_ms() < quiet_until)
			continue;
		if (sent == 3)
			break;
		H_ASSERT(h_signal(SIGHUP) == 0, "kill");
		sent++;
		quiet_until = 0;
	}
	h_load_drain(ld);
	H_ASSERT(h_count_log("reload done") == 3, "%d reloads done of 3 "
	    "(load ran out of time?)", h_count_log("reload done"));
	h_load_assert_clean(ld);
	free(ld);
	h_stop_daemon();
}
END_TEST

/*
 * A socket whose name and address stay keeps its open file (the same
 * inode in the new workers); a changed address is a new socket; an added
 * socket is bound; a removed one stops accepting once the old workers
 * that still hold it are gone.
 */
START_TEST(test_fd_identity)
{
	pid_t		 old[2], cur[2];
	long long	 inode, i2;
	char		 addr[64], want[64];
	int		 p1 = h_free_port(), p2 = h_free_port(), p3;
	static const char prog[] =
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = %s\n"
	    "min_uptime = 100ms\n";
	char		 conf[1024];

	do
		p3 = h_free_port();
	while (p3 == p1 || p3 == p2);
	snprintf(conf, sizeof(conf), prog, h_worker("reporter"), "web");
	h_write_config("[socket:web]\nlisten = 127.0.0.1:%d\n%s", p1, conf);
	H_ASSERT(h_start(NULL) > 0, "start");
	h_expect_reports("web.", 2);
	h_newest_pids("web.", 2, old);
	inode = h_report_num_of("web.", old[0], "fd.3.inode");
	H_ASSERT(inode > 0, "no inode");
	H_ASSERT(h_report_num_of("web.", old[1], "fd.3.inode") == inode,
	    "two workers, two sockets");

	/* Same file: same socket in the new workers. */
	h_log_for("started:", 1);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("reload done", 1);
	h_expect_reports("web.", 4);
	h_newest_pids("web.", 2, cur);
	H_ASSERT(cur[0] != old[0] && cur[0] != old[1] && cur[1] != old[0] &&
	    cur[1] != old[1], "no new workers");
	H_ASSERT(h_report_num_of("web.", cur[0], "fd.3.inode") == inode &&
	    h_report_num_of("web.", cur[1], "fd.3.inode") == inode,
	    "the socket was not kept across the reload");
	wait_dead(old[0]);
	wait_dead(old[1]);

	/* web moves to p2, extra is added on p3. */
	snprintf(conf, sizeof(conf), prog, h_worker("reporter"), "web extra");
	h_write_config("[socket:web]\nlisten = 127.0.0.1:%d\n"
	    "[socket:extra]\nlisten = 127.0.0.1:%d\n%s", p2, p3, conf);
	memcpy(old, cur, sizeof(old));
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("reload done", 2);
	h_expect_reports("web.", 6);
	h_newest_pids("web.", 2, cur);
	i2 = h_report_num_of("web.", cur[0], "fd.3.inode");
	H_ASSERT(i2 > 0 && i2 != inode, "a new address kept the old socket");
	snprintf(want, sizeof(want), "127.0.0.1:%d", p2);
	H_ASSERT_STR_EQ(report_str_of("web.", cur[1], "fd.3.addr", addr,
	    sizeof(addr)), want);
	snprintf(want, sizeof(want), "127.0.0.1:%d", p3);
	H_ASSERT_STR_EQ(report_str_of("web.", cur[1], "fd.4.addr", addr,
	    sizeof(addr)), want);
	H_ASSERT(h_reporter_answers(p2) && h_reporter_answers(p3),
	    "new sockets do not serve");
	wait_dead(old[0]);
	wait_dead(old[1]);
	H_ASSERT(!h_port_open(p1), "port %d still accepts after its socket "
	    "was removed and its workers have gone", p1);

	/* extra is removed. */
	snprintf(conf, sizeof(conf), prog, h_worker("reporter"), "web");
	h_write_config("[socket:web]\nlisten = 127.0.0.1:%d\n%s", p2, conf);
	memcpy(old, cur, sizeof(old));
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("reload done", 3);
	h_expect_reports("web.", 8);
	h_newest_pids("web.", 2, cur);
	H_ASSERT(h_report_num_of("web.", cur[0], "fd.3.inode") == i2,
	    "web was not kept");
	H_ASSERT_STR_EQ(report_str_of("web.", cur[0], "env.LISTEN_FDS", addr,
	    sizeof(addr)), "1");
	H_ASSERT(h_report_num_of("web.", cur[0], "fd.4.listening") != 1,
	    "the removed socket was passed on");
	wait_dead(old[0]);
	wait_dead(old[1]);
	H_ASSERT(!h_port_open(p3), "port %d still accepts after its socket "
	    "was removed and its workers have gone", p3);
	H_ASSERT(h_reporter_answers(p2), "web does not serve");
	h_stop_daemon();
}
END_TEST

/*
 * An invalid file: the reload fails with FILE:LINE in the log, nothing
 * changes (same workers, still serving); a valid file later reloads.
 */
START_TEST(test_invalid_reload)
{
	pid_t		 old[2], cur[2];
	char		 where[PATH_MAX + 16];
	int		 port = h_free_port();

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 100ms\n", port, h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_expect_reports("web.", 2);
	h_log_for("started:", 1);
	h_newest_pids("web.", 2, old);

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = lots\n"
	    "sockets = web\n", port, h_worker("reporter"));
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("reload failed", 1);
	snprintf(where, sizeof(where), "%s:5:", h_conf());
	H_ASSERT(h_count_log(where) >= 1, "no \"%s\" in the log", where);
	H_ASSERT(h_count_log("rolling restart") == 0, "a failed reload "
	    "rolled");
	H_ASSERT(!h_pid_dead(old[0]) && !h_pid_dead(old[1]),
	    "a worker is gone");
	H_ASSERT(h_count_reports("web.") == 2, "a new worker started");
	H_ASSERT(h_reporter_answers(port), "no longer serving");
	h_wait_marked(2);

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 100ms\n", port, h_worker("reporter"));
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("reload done", 1);
	h_expect_reports("web.", 4);
	h_newest_pids("web.", 2, cur);
	wait_dead(old[0]);
	wait_dead(old[1]);
	H_ASSERT(!h_pid_dead(cur[0]) && !h_pid_dead(cur[1]), "new workers");
	H_ASSERT(h_reporter_answers(port), "not serving after the reload");
	h_stop_daemon();
}
END_TEST

/*
 * A hundred reloads: the master's descriptors and memory are what they
 * were after the first few, and it leaves no zombie.  (Under ASan freed
 * memory sits in quarantine, so RSS says nothing there; the leak check
 * at exit does that job.)
 */
START_TEST(test_hundred_reloads)
{
	char	buf[1024];
	int	port = h_free_port(), i, fds0 = -1, fds;
	long	rss0 = -1, rss;

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:hello]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "ready = exec\n"
	    "min_uptime = 50ms\n"
	    "stdout = null\n"
	    "stderr = null\n", port, h_example("hello"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_log_for("started:", 1);
	for (i = 1; i <= 100; i++) {
		H_ASSERT(h_signal(SIGHUP) == 0, "kill");
		h_log_for("reload done", i);
		if (i == 5) {
			h_wait_marked(2);
			h_assert_no_zombies();
			fds0 = h_fd_count(h_daemon());
			rss0 = h_rss_kib(h_daemon());
		}
	}
	H_ASSERT(h_count_log("reload failed") == 0, "a reload failed");
	h_wait_marked(2);
	h_assert_no_zombies();
	fds = h_fd_count(h_daemon());
	rss = h_rss_kib(h_daemon());
	H_ASSERT(fds0 > 0 && fds == fds0, "%d descriptors after 5 reloads, "
	    "%d after 100", fds0, fds);
	if (!UNDER_ASAN)
		H_ASSERT(rss0 > 0 && rss <= rss0 + 512, "RSS %ld KiB after 5 "
		    "reloads, %ld KiB after 100", rss0, rss);
	H_ASSERT(h_request_tcp(port, "GET / HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n", buf, sizeof(buf), WAIT) > 0 &&
	    strstr(buf, "\r\n\r\nhello\n") != NULL, "not serving: \"%s\"",
	    buf);
	h_stop_daemon();
}
END_TEST

/*
 * SIGHUPs during a rolling restart: one is queued (and logged), several
 * collapse into one; so exactly two reloads run.
 */
START_TEST(test_queued_reload)
{
	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "min_uptime = 700ms\n", h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_log_for("started:", 1);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("rolling restart of", 1);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("queued", 1);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("reload done", 2);
	/* No third reload: it would have begun by now, within one roll. */
	H_ASSERT(!h_wait_log("reloading ", 3, 2000), "queued reloads did "
	    "not collapse: %d reloads", h_count_log("reloading "));
	H_ASSERT(h_count_log("reload done") == 2, "%d reloads done",
	    h_count_log("reload done"));
	H_ASSERT(h_count_reports("web.") == 6, "%d workers started, "
	    "expected 2 + 2 + 2", h_count_reports("web."));
	h_stop_daemon();
}
END_TEST

/* A reload that removes a program stops it; an added one starts. */
START_TEST(test_program_add_remove)
{
	pid_t	a0, b[2], c1[1], a1[1];
	static const char prog[] =
	    "[program:%s]\n"
	    "command = %s\n"
	    "workers = %d\n"
	    "min_uptime = 100ms\n";
	char	pa[512], pb[512], pc[512];

	snprintf(pa, sizeof(pa), prog, "a", h_worker("reporter"), 1);
	snprintf(pb, sizeof(pb), prog, "b", h_worker("reporter"), 2);
	snprintf(pc, sizeof(pc), prog, "c", h_worker("reporter"), 1);
	h_write_config("%s%s", pa, pb);
	H_ASSERT(h_start(NULL) > 0, "start");
	h_expect_reports("a.", 1);
	h_expect_reports("b.", 2);
	h_log_for("started:", 1);
	h_newest_pids("a.", 1, &a0);
	h_newest_pids("b.", 2, b);

	h_write_config("%s%s", pa, pc);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	h_log_for("reload done", 1);
	h_log_for("b: removed from the configuration", 1);
	wait_dead(b[0]);
	wait_dead(b[1]);
	h_expect_reports("c.0.", 1);
	h_expect_reports("a.", 2);
	h_newest_pids("c.", 1, c1);
	h_newest_pids("a.", 1, a1);
	H_ASSERT(a1[0] != a0, "a was not rolled");
	wait_dead(a0);
	H_ASSERT(!h_pid_dead(c1[0]) && !h_pid_dead(a1[0]), "a or c down");
	h_wait_marked(2);
	H_ASSERT(h_count_reports("b.") == 2, "b restarted");
	h_stop_daemon();
}
END_TEST

/* SIGTTIN: one worker more; SIGTTOU: one fewer, never fewer than one. */
START_TEST(test_scale_signals)
{
	pid_t	w0, w1;

	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 1\n"
	    "min_uptime = 100ms\n", h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_expect_reports("web.0.", 1);
	h_log_for("started:", 1);
	h_newest_pids("web.0.", 1, &w0);

	H_ASSERT(h_signal(SIGTTIN) == 0, "kill");
	h_expect_reports("web.1.", 1);
	h_newest_pids("web.1.", 1, &w1);
	h_wait_marked(2);

	H_ASSERT(h_signal(SIGTTOU) == 0, "kill");
	wait_dead(w1);
	h_wait_marked(1);
	H_ASSERT(!h_pid_dead(w0), "slot 0 stopped");

	H_ASSERT(h_signal(SIGTTOU) == 0, "kill");
	h_log_for("SIGTTOU", 2);
	/* The signal was handled; nothing may stop. */
	H_ASSERT(!h_wait_dead(w0, 500), "the last worker was stopped");
	h_wait_marked(1);
	H_ASSERT(h_count_reports("web.") == 2, "a worker was restarted");
	H_ASSERT(h_daemon_alive(), "the daemon died");
	h_stop_daemon();
}
END_TEST

/*
 * sd_notify, in order: READY=1 with STATUS= once every worker is up;
 * RELOADING=1 with MONOTONIC_USEC at a SIGHUP, READY=1 when the roll is
 * done; STOPPING=1 at SIGTERM.  STATUS= updates may come in between.
 */
START_TEST(test_notify_sequence)
{
	char		 buf[2048], env[PATH_MAX + 32], path[PATH_MAX];
	const char	*extra[] = { env, NULL };
	struct timespec	 ts;
	long long	 start, now_us, usec;
	char		*end;
	int		 fd;

	snprintf(path, sizeof(path), "%s", h_path("notify.sock"));
	fd = h_notify_open(path);
	snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", path);
	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "min_uptime = 300ms\n", h_worker("reporter"));
	start = h_now_ms();
	H_ASSERT(h_start(extra) > 0, "start");

	notify_next(fd, buf, sizeof(buf), "READY=1");
	H_ASSERT(strncmp(buf, "READY=1\nSTATUS=", 15) == 0 &&
	    strchr(buf + 15, '\n') == NULL, "first message: \"%s\"", buf);
	H_ASSERT(strstr(buf, "web: 2/2 ready") != NULL, "READY=1 before "
	    "the workers were up: \"%s\"", buf);
	H_ASSERT(h_now_ms() - start >= 300, "READY=1 before min_uptime");
	h_expect_reports("web.", 2);

	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	notify_next(fd, buf, sizeof(buf), "RELOADING=1");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	H_ASSERT(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0,
	    "at SIGHUP: \"%s\"", buf);
	usec = strtoll(buf + 27, &end, 10);
	H_ASSERT(*end == '\0' && usec > 0 && usec <= now_us &&
	    usec > now_us - 5000000, "MONOTONIC_USEC=%s, now %lld",
	    buf + 27, now_us);
	notify_next(fd, buf, sizeof(buf), "READY=1 after the reload");
	H_ASSERT(strncmp(buf, "READY=1\nSTATUS=", 15) == 0 &&
	    strstr(buf, "web: 2/2 ready") != NULL, "after the reload: "
	    "\"%s\"", buf);
	H_ASSERT(h_count_log("reload done") == 1, "READY=1 before the "
	    "reload was done");

	H_ASSERT(h_signal(SIGTERM) == 0, "kill");
	notify_next(fd, buf, sizeof(buf), "STOPPING=1");
	H_ASSERT(strcmp(buf, "STOPPING=1") == 0, "at SIGTERM: \"%s\"", buf);
	H_ASSERT_EXIT(0);
	while (h_notify_recv(fd, buf, sizeof(buf), 0))
		H_ASSERT(status_only(buf), "after STOPPING=1: \"%s\"", buf);
	close(fd);
	H_ASSERT(h_wait_no_marked(WAIT), "processes left behind");
}
END_TEST

/*
 * SIGTERM with requests in flight on every worker: each gets its whole
 * answer, then clusterd exits 0.
 */
#define INFLIGHT	6

START_TEST(test_graceful_under_load)
{
	char	 buf[1024];
	int	 fds[INFLIGHT], i, port = h_free_port();
	ssize_t	 n;

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 100ms\n"
	    "env = REPLY_DELAY_MS=1000\n", port, h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_expect_reports("web.", 2);
	h_log_for("started:", 1);
	for (i = 0; i < INFLIGHT; i++) {
		fds[i] = h_connect_tcp(port);
		H_ASSERT(fds[i] != -1, "connect: %s", strerror(errno));
		H_ASSERT(h_send(fds[i], "GET / HTTP/1.1\r\nHost: t\r\n\r\n") ==
		    0, "send");
	}
	H_ASSERT(h_wait_text(h_out(), " request", INFLIGHT, WAIT),
	    "%d of %d requests read", h_count_in_file(h_out(), " request"),
	    INFLIGHT);
	H_ASSERT(h_signal(SIGTERM) == 0, "kill");
	for (i = 0; i < INFLIGHT; i++) {
		n = h_recv_all(fds[i], buf, sizeof(buf), WAIT);
		close(fds[i]);
		H_ASSERT(n > 0 && strncmp(buf, "HTTP/1.1 200 OK", 15) == 0 &&
		    strstr(buf, "hello pid=") != NULL, "request %d: \"%s\"",
		    i, n > 0 ? buf : "");
	}
	H_ASSERT_EXIT(0);
	H_ASSERT(h_wait_no_marked(WAIT), "processes left behind");
}
END_TEST

static Suite *
reload_suite(void)
{
	Suite	*s = suite_create("daemon_reload");
	TCase	*tc;

	tc = h_tcase("reload", TEST_TIMEOUT);
	tcase_add_test(tc, test_reload_under_load);
	tcase_add_test(tc, test_fd_identity);
	tcase_add_test(tc, test_invalid_reload);
	tcase_add_test(tc, test_queued_reload);
	tcase_add_test(tc, test_program_add_remove);
	suite_add_tcase(s, tc);

	tc = h_tcase("endurance", LONG_TIMEOUT);
	tcase_add_test(tc, test_hundred_reloads);
	suite_add_tcase(s, tc);

	tc = h_tcase("signals", TEST_TIMEOUT);
	tcase_add_test(tc, test_scale_signals);
	tcase_add_test(tc, test_notify_sequence);
	tcase_add_test(tc, test_graceful_under_load);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(reload_suite());
}
