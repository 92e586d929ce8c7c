/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests with systemd's own tool: clusterd started by
 * socket activation (systemd-socket-activate), taking its socket by
 * FileDescriptorName, and telling a notify socket what it does.
 */

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define WAIT		15000
#define TEST_TIMEOUT	60
#define ACTIVATE	"/usr/bin/systemd-socket-activate"

static int	notify_fd = -1;

/* A datagram socket of the test's own, for NOTIFY_SOCKET. */
static const char *
notify_open(void)
{
	const char	*path = h_path("notify.sock");

	notify_fd = h_notify_open(path);
	return path;
}

/*
 * The next notification that contains want, skipping WATCHDOG=1,
 * STATUS-only and FDSTORE=1 ones; the text goes to buf.
 */
static int
notify_expect(const char *want, char *buf, size_t len)
{
	struct pollfd	pfd = { notify_fd, POLLIN, 0 };
	long long	end = h_now_ms() + WAIT;
	ssize_t		n;

	while (h_now_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = recv(notify_fd, buf, len - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, want) != NULL)
			return 1;
		H_ASSERT(strncmp(buf, "STATUS=", 7) == 0 ||
		    strcmp(buf, "WATCHDOG=1") == 0 ||
		    strncmp(buf, "FDSTORE=1\n", 10) == 0,
		    "expected %s, got \"%s\"", want, buf);
	}
	return 0;
}

static void
activate(int port, const char *notify)
{
	static char	 listen[64], e_notify[300], e_reports[300], e_mark[300];
	const char	*argv[] = { ACTIVATE, "-l", listen, "--fdname=web",
			    "-E", e_notify, "-E", e_reports, "-E", e_mark,
			    "-E", "WATCHDOG_USEC=400000", NULL, "-c", NULL,
			    NULL };

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(e_notify, sizeof(e_notify), "NOTIFY_SOCKET=%s", notify);
	snprintf(e_reports, sizeof(e_reports), "REPORT_DIR=%s", h_reports());
	snprintf(e_mark, sizeof(e_mark), "CDTEST_MARK=%s", h_dir());
	argv[12] = getenv("CLUSTERD_BIN");
	argv[14] = h_conf();
	H_ASSERT(h_start_cmd(argv, NULL) > 0, "start");
}

START_TEST(test_socket_activation_and_notify)
{
	struct h_report	*r;
	char		 buf[512], fdlink[64], path[64];
	ssize_t		 n;
	int		 i, port = h_free_port(), st = -1;

	if (access(ACTIVATE, X_OK) != 0)
		return;
	h_write_config(
	    "[socket:web]\n"
	    "listen = systemd:web\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 100ms\n", h_worker("reporter"));
	activate(port, notify_open());
	/*
	 * systemd-socket-activate execs clusterd on the first connection;
	 * until it listens, connecting is refused.
	 */
	buf[0] = '\0';
	for (i = 0; i < 200 && h_request_tcp(port, "x\n", buf, sizeof(buf),
	    WAIT) <= 0; i++)
		h_sleep_ms(20);
	H_ASSERT(strstr(buf, "hello") != NULL, "first request: \"%s\"", buf);
	H_ASSERT(notify_expect("READY=1", buf, sizeof(buf)), "no READY=1");
	H_ASSERT(strstr(buf, "STATUS=web: 2/2 ready") != NULL, "%s", buf);
	H_ASSERT(notify_expect("WATCHDOG=1", buf, sizeof(buf)),
	    "no WATCHDOG=1");

	/* the workers have the very socket systemd passed */
	r = h_report_wait("web.0.", WAIT);
	H_ASSERT(r != NULL, "report");
	snprintf(path, sizeof(path), "/proc/%ld/fd/3", (long)h_daemon());
	n = readlink(path, fdlink, sizeof(fdlink) - 1);
	H_ASSERT(n > 0, "readlink %s", path);
	fdlink[n] = '\0';
	snprintf(buf, sizeof(buf), "socket:[%s]",
	    h_report_get(r, "fd.3.inode"));
	H_ASSERT_STR_EQ(fdlink, buf);
	H_ASSERT_STR_EQ(h_report_get(r, "env.LISTEN_FDNAMES"), "web");
	H_ASSERT(h_report_get(r, "env.NOTIFY_SOCKET") == NULL,
	    "NOTIFY_SOCKET reached a worker");
	h_report_free(r);

	/* reload: RELOADING=1, requests keep being answered, READY=1 */
	h_signal(SIGHUP);
	H_ASSERT(notify_expect("RELOADING=1", buf, sizeof(buf)),
	    "no RELOADING=1");
	H_ASSERT(strstr(buf, "\nMONOTONIC_USEC=") != NULL, "%s", buf);
	for (i = 0; i < 20; i++)
		H_ASSERT(h_request_tcp(port, "x\n", buf, sizeof(buf), WAIT) >
		    0, "request %d during the reload", i);
	H_ASSERT(notify_expect("READY=1", buf, sizeof(buf)),
	    "no READY=1 after the reload");
	H_ASSERT(h_wait_log("reload done", 1, WAIT), "reload");

	h_signal(SIGTERM);
	H_ASSERT(notify_expect("STOPPING=1", buf, sizeof(buf)),
	    "no STOPPING=1");
	H_ASSERT(h_wait_exit(WAIT, &st), "no exit");
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	H_ASSERT(h_wait_no_marked(WAIT), "processes left behind");
	close(notify_fd);
}
END_TEST

/* Without socket activation, systemd:NAME is a clear start-up error. */
START_TEST(test_systemd_socket_not_passed)
{
	int	st = -1;
	char	*line;

	h_write_config(
	    "[socket:web]\n"
	    "listen = systemd:web\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = web\n", h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_exit(WAIT, &st), "no exit");
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status 0x%x", st);
	line = h_find_line(h_log(), "socket web:");
	H_ASSERT(line != NULL && strstr(line, "systemd passed no socket "
	    "named \"web\"") != NULL, "log: %s", line ? line : "(none)");
	free(line);
	H_ASSERT(h_count_reports("web.") == 0, "a worker started");
}
END_TEST

static Suite *
systemd_suite(void)
{
	Suite	*s = suite_create("systemd");
	TCase	*tc = h_tcase("systemd", TEST_TIMEOUT);

	tcase_add_test(tc, test_socket_activation_and_notify);
	tcase_add_test(tc, test_systemd_socket_not_passed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(systemd_suite());
}
