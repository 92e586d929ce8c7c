/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of notify.c: the datagrams systemd would receive, read from
 * a socket the test binds where NOTIFY_SOCKET points.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "runner.h"

static char	tmpdir[64];
static char	sockpath[128];

/* Bind a datagram socket at a fresh path and point NOTIFY_SOCKET at it. */
static int
listen_path(void)
{
	struct sockaddr_un	sun;
	int			fd;

	strcpy(tmpdir, "/tmp/check_notify.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(sockpath, sizeof(sockpath), "%s/notify", tmpdir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, sockpath);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setenv("NOTIFY_SOCKET", sockpath, 1);
	return fd;
}

static void
cleanup_path(int fd)
{
	close(fd);
	unlink(sockpath);
	rmdir(tmpdir);
}

/* An abstract socket "@name": exact address length, no file. */
static int
listen_abstract(void)
{
	struct sockaddr_un	sun;
	char			name[64];
	socklen_t		len;
	int			fd;

	snprintf(name, sizeof(name), "@clusterd-check-notify-%ld",
	    (long)getpid());
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, strlen(name));
	sun.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(name);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	return fd;
}

/* The next datagram, waiting up to ms; "" if none came. */
static const char *
next_msg(int fd, int ms)
{
	static char	buf[4096];
	struct pollfd	pfd = { fd, POLLIN, 0 };
	ssize_t		n;

	buf[0] = '\0';
	if (poll(&pfd, 1, ms) != 1)
		return buf;
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

static unsigned long long
now_usec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL;
}

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Run the default loop for secs, then count the datagrams received. */
static int
count_watchdogs(int fd, double secs)
{
	ev_timer	deadline;
	int		n = 0;

	ev_timer_init(&deadline, on_deadline, secs, 0);
	ev_timer_start(EV_DEFAULT, &deadline);
	ev_run(EV_DEFAULT, 0);
	while (strcmp(next_msg(fd, 0), "WATCHDOG=1") == 0)
		n++;
	return n;
}

START_TEST(ready_with_and_without_status)
{
	int	fd = listen_path();

	notify_init();
	notify_ready("web: 4/4 ready, 0 restarting");
	ck_assert_str_eq(next_msg(fd, 1000),
	    "READY=1\nSTATUS=web: 4/4 ready, 0 restarting");
	notify_ready(NULL);
	ck_assert_str_eq(next_msg(fd, 1000), "READY=1");
	cleanup_path(fd);
}
END_TEST

START_TEST(reloading_has_monotonic_usec)
{
	unsigned long long	 before, after, usec;
	const char		*msg;
	char			*end;
	int			 fd = listen_path();

	notify_init();
	before = now_usec();
	notify_reloading();
	after = now_usec();
	msg = next_msg(fd, 1000);
	ck_assert_int_eq(strncmp(msg, "RELOADING=1\nMONOTONIC_USEC=", 27), 0);
	ck_assert(msg[27] >= '0' && msg[27] <= '9');
	usec = strtoull(msg + 27, &end, 10);
	ck_assert_str_eq(end, "");
	ck_assert(usec >= before && usec <= after);
	cleanup_path(fd);
}
END_TEST

START_TEST(stopping)
{
	int	fd = listen_path();

	notify_init();
	notify_stopping();
	ck_assert_str_eq(next_msg(fd, 1000), "STOPPING=1");
	cleanup_path(fd);
}
END_TEST

START_TEST(status_sent_once_and_one_line)
{
	int	fd = listen_path();

	notify_init();
	notify_status("web: 1/2 ready");
	notify_status("web: 1/2 ready");
	notify_status("web: 2/2 ready\nsecond line");
	ck_assert_str_eq(next_msg(fd, 1000), "STATUS=web: 1/2 ready");
	ck_assert_str_eq(next_msg(fd, 1000),
	    "STATUS=web: 2/2 ready second line");
	ck_assert_str_eq(next_msg(fd, 100), "");
	/* READY=1 with a status counts as the last STATUS sent */
	notify_ready("all up");
	notify_status("all up");
	ck_assert_str_eq(next_msg(fd, 1000), "READY=1\nSTATUS=all up");
	ck_assert_str_eq(next_msg(fd, 100), "");
	cleanup_path(fd);
}
END_TEST

START_TEST(abstract_socket)
{
	int	fd = listen_abstract();

	notify_init();
	notify_ready("x");
	ck_assert_str_eq(next_msg(fd, 1000), "READY=1\nSTATUS=x");
	notify_stopping();
	ck_assert_str_eq(next_msg(fd, 1000), "STOPPING=1");
	close(fd);
}
END_TEST

START_TEST(watchdog_pings_at_half_period)
{
	int	fd = listen_path();

	setenv("WATCHDOG_USEC", "200000", 1);
	unsetenv("WATCHDOG_PID");
	notify_init();
	ck_assert_int_ge(count_watchdogs(fd, 0.5), 2);
	cleanup_path(fd);
}
END_TEST

START_TEST(watchdog_for_our_pid)
{
	char	pid[32];
	int	fd = listen_path();

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_USEC", "200000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	notify_init();
	ck_assert_int_ge(count_watchdogs(fd, 0.5), 2);
	cleanup_path(fd);
}
END_TEST

START_TEST(watchdog_for_another_pid)
{
	char	pid[32];
	int	fd = listen_path();

	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	notify_init();
	ck_assert_int_eq(count_watchdogs(fd, 0.4), 0);
	cleanup_path(fd);
}
END_TEST

START_TEST(no_socket_is_a_no_op)
{
	unsetenv("NOTIFY_SOCKET");
	setenv("WATCHDOG_USEC", "200000", 1);
	notify_init();
	notify_ready("x");
	notify_ready(NULL);
	notify_reloading();
	notify_status("y");
	notify_stopping();
	/* no watchdog timer either: the loop has nothing to wait for */
	ev_run(EV_DEFAULT, 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	notify_init();
	notify_ready("x");
}
END_TEST

START_TEST(send_errors_are_not_fatal)
{
	/* nobody listens there: sendto fails, is logged, and that is all */
	setenv("NOTIFY_SOCKET", "/nonexistent/clusterd-notify", 1);
	notify_init();
	notify_ready("x");
	notify_status("y");
	notify_stopping();
}
END_TEST

static Suite *
notify_suite(void)
{
	Suite	*s = suite_create("notify");
	TCase	*tc = tcase_create("notify");

	tcase_add_test(tc, ready_with_and_without_status);
	tcase_add_test(tc, reloading_has_monotonic_usec);
	tcase_add_test(tc, stopping);
	tcase_add_test(tc, status_sent_once_and_one_line);
	tcase_add_test(tc, abstract_socket);
	tcase_add_test(tc, watchdog_pings_at_half_period);
	tcase_add_test(tc, watchdog_for_our_pid);
	tcase_add_test(tc, watchdog_for_another_pid);
	tcase_add_test(tc, no_socket_is_a_no_op);
	tcase_add_test(tc, send_errors_are_not_fatal);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(notify_suite());
}
