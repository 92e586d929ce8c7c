/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of wnotify.c: the sd_notify datagram parser, and a worker's
 * notify socket read from a real loop with forked senders (the worker,
 * its process group, a stranger, garbage, floods, passed descriptors, a
 * sender that dropped root), and Debian's gunicorn sending READY=1.
 */

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "wnotify.h"
#include "runner.h"

#define WAIT_MS	10000

static struct wnotify		wn;
static struct wnotify_msg	got[8];
static int			ngot;
static pid_t			worker = -1;

/*
 * The parser.
 */

static int
parse(const char *text, struct wnotify_msg *m, char *err)
{
	return wnotify_parse(text, strlen(text), m, err, 128);
}

START_TEST(parse_what_systemd_understands)
{
	struct wnotify_msg	m;
	char			err[128];

	ck_assert_int_eq(parse("READY=1", &m, err), 0);
	ck_assert_int_eq(m.wm_ready, 1);
	ck_assert_int_eq(m.wm_has_status, 0);
	/* gunicorn's arbiter, as Debian 12 ships it */
	ck_assert_int_eq(parse("READY=1\nSTATUS=Gunicorn arbiter booted", &m,
	    err), 0);
	ck_assert_int_eq(m.wm_ready, 1);
	ck_assert_int_eq(m.wm_has_status, 1);
	ck_assert_str_eq(m.wm_status, "Gunicorn arbiter booted");
	ck_assert_int_eq(parse("STATUS=a\nSTATUS=b\n", &m, err), 0);
	ck_assert_str_eq(m.wm_status, "b");
	ck_assert_int_eq(m.wm_ready, 0);
	ck_assert_int_eq(parse("WATCHDOG=1\n", &m, err), 0);
	ck_assert_int_eq(m.wm_watchdog, 1);
	ck_assert_int_eq(parse("STOPPING=1", &m, err), 0);
	ck_assert_int_eq(m.wm_stopping, 1);
	ck_assert_int_eq(parse("RELOADING=1\nMONOTONIC_USEC=123", &m, err), 0);
	ck_assert_int_eq(m.wm_reloading, 1);
	ck_assert_uint_eq(m.wm_ignored, 1);
	ck_assert_int_eq(parse("STATUS=", &m, err), 0);
	ck_assert_int_eq(m.wm_has_status, 1);
	ck_assert_str_eq(m.wm_status, "");
}
END_TEST

START_TEST(parse_ignores_the_rest)
{
	struct wnotify_msg	m;
	char			err[128];

	ck_assert_int_eq(parse("READY=0\nWATCHDOG=trigger\nMAINPID=5\n"
	    "FDSTORE=1\nFDNAME=x\nERRNO=2\nX_1=y=z", &m, err), 0);
	ck_assert_int_eq(m.wm_ready, 0);
	ck_assert_int_eq(m.wm_watchdog, 0);
	ck_assert_uint_eq(m.wm_ignored, 7);
	ck_assert_int_eq(parse("", &m, err), 0);
	ck_assert_int_eq(parse("\n\n", &m, err), 0);
	ck_assert_int_eq(parse("READY=1\n\nSTOPPING=1", &m, err), 0);
	ck_assert_int_eq(m.wm_ready + m.wm_stopping, 2);
	ck_assert_int_eq(m.wm_pid, 0);
}
END_TEST

START_TEST(parse_rejects_garbage)
{
	static const char *bad[] = {
		"READY", "ready=1", "=1", "READY=1\ngarbage", "A B=1",
		"READY =1", "\x01\x02", "READY=1\n\xff=1", NULL
	};
	struct wnotify_msg	 m;
	char			 err[128], big[WNOTIFY_DGRAM_MAX + 1];
	size_t			 i;

	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		ck_assert_msg(parse(bad[i], &m, err) == -1, "%s", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "not a NAME=VALUE line"));
		ck_assert_ptr_null(strpbrk(err, "\x01\x02\n"));
	}
	ck_assert_int_eq(wnotify_parse("READY=1\0", 8, &m, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "a NUL byte");
	memset(big, 'A', sizeof(big));
	memcpy(big, "STATUS=", 7);
	ck_assert_int_eq(wnotify_parse(big, sizeof(big), &m, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "longer than 4096 bytes");
	ck_assert_int_eq(wnotify_parse(big, sizeof(big) - 1, &m, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(strlen(m.wm_status), WNOTIFY_STATUS_MAX - 1);
}
END_TEST

START_TEST(status_is_one_clean_line)
{
	struct wnotify_msg	m;
	char			err[128], text[1024];
	size_t			i, n;

	ck_assert_int_eq(parse("STATUS=a\tb\x01" "c\x7f", &m, err), 0);
	ck_assert_str_eq(m.wm_status, "a b c ");
	/* cut between characters, not inside one */
	n = (size_t)snprintf(text, sizeof(text), "STATUS=x");
	for (i = 0; i < 300; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "\xc3\xa9");
	ck_assert_int_eq(parse(text, &m, err), 0);
	ck_assert_uint_eq(strlen(m.wm_status), 255 - 0);
	ck_assert_int_eq(m.wm_status[0], 'x');
	ck_assert_int_eq((unsigned char)m.wm_status[253], 0xc3);
	ck_assert_int_eq((unsigned char)m.wm_status[254], 0xa9);
}
END_TEST

/*
 * The socket.
 */

static void
on_msg(void *arg, const struct wnotify_msg *m)
{
	(void)arg;
	if (ngot < (int)(sizeof(got) / sizeof(got[0])))
		got[ngot] = *m;
	ngot++;
}

static void
wake(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
}

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop until n messages arrived, or WAIT_MS. */
static int
run_until(int n)
{
	ev_timer	t;
	long long	end = now_ms() + WAIT_MS;

	ev_timer_init(&t, wake, 0.02, 0.02);
	ev_timer_start(EV_DEFAULT, &t);
	while (ngot < n && now_ms() < end)
		ev_run(EV_DEFAULT, EVRUN_ONCE);
	ev_timer_stop(EV_DEFAULT, &t);
	return ngot >= n;
}

/* Drain the socket for a while: what is dropped is counted meanwhile. */
static void
run_for(int ms)
{
	ev_timer	t;
	long long	end = now_ms() + ms;

	ev_timer_init(&t, wake, 0.02, 0.02);
	ev_timer_start(EV_DEFAULT, &t);
	while (now_ms() < end)
		ev_run(EV_DEFAULT, EVRUN_ONCE);
	ev_timer_stop(EV_DEFAULT, &t);
}

static void
sock_setup(void)
{
	char	err[256];

	ngot = 0;
	worker = -1;
	ck_assert_msg(wnotify_open(&wn, "web[0]", on_msg, NULL, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(wnotify_socket(&wn)[0], '@');
	ck_assert_uint_eq(strlen(wnotify_socket(&wn)), 6);
}

static void
sock_teardown(void)
{
	int	status;

	wnotify_close(&wn);
	if (worker > 0) {
		kill(-worker, SIGKILL);
		kill(worker, SIGKILL);
		waitpid(worker, &status, 0);
	}
}

/* sendmsg to NOTIFY_SOCKET, as sd_notify(3) does (with an fd: FDSTORE). */
static void
send_to(const char *name, const void *buf, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}			 cm;
	struct sockaddr_un	 sun;
	struct msghdr		 mh;
	struct iovec		 iov = { (void *)(uintptr_t)buf, len };
	struct cmsghdr		*c;
	int			 s;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, name + 1, strlen(name) - 1);
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &sun;
	mh.msg_namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(name));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd != -1) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if ((s = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    sendmsg(s, &mh, 0) != (ssize_t)len)
		_exit(99);
	close(s);
}

static void
say(const char *text)
{
	send_to(wnotify_socket(&wn), text, strlen(text), -1);
}

/*
 * Fork "the worker": the leader of its own process group, as clusterd
 * makes it.  It runs body, then waits to be killed (so that its pid and
 * group stay valid while the test reads).
 */
static void
start_worker(void (*body)(void))
{
	ck_assert_int_ne(worker = fork(), -1);
	if (worker == 0) {
		/* a failed test exits without its teardown: go with it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		body();
		for (;;)
			pause();
	}
	setpgid(worker, worker);
	wnotify_start(&wn, worker);
}

static void
body_ready(void)
{
	say("READY=1\nSTATUS=up and running");
}

START_TEST(the_worker_is_heard)
{
	start_worker(body_ready);
	ck_assert(run_until(1));
	ck_assert_int_eq(got[0].wm_ready, 1);
	ck_assert_str_eq(got[0].wm_status, "up and running");
	ck_assert_int_eq(got[0].wm_pid, worker);
	ck_assert_uint_eq(wn.wn_received, 1);
	ck_assert_uint_eq(wn.wn_bad + wn.wn_foreign, 0);
}
END_TEST

static void
body_grandchild(void)
{
	pid_t	pid;

	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		say("WATCHDOG=1");
		for (;;)
			pause();
	}
}

/* gunicorn's workers, and whatever else stays in the worker's group. */
START_TEST(its_process_group_is_heard)
{
	start_worker(body_grandchild);
	ck_assert(run_until(1));
	ck_assert_int_eq(got[0].wm_watchdog, 1);
	ck_assert_int_ne(got[0].wm_pid, worker);
	ck_assert_uint_eq(wn.wn_foreign, 0);
}
END_TEST

START_TEST(strangers_are_not)
{
	pid_t	pid;
	int	status;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		setpgid(0, 0);
		say("READY=1");
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	start_worker(body_ready);
	ck_assert(run_until(1));
	ck_assert_int_eq(got[0].wm_pid, worker);
	ck_assert_uint_eq(wn.wn_foreign, 1);
	ck_assert_int_eq(ngot, 1);
}
END_TEST

static void
body_garbage(void)
{
	char	big[WNOTIFY_DGRAM_MAX + 904];
	int	i;

	memset(big, 'A', sizeof(big));
	memcpy(big, "STATUS=", 7);
	send_to(wnotify_socket(&wn), big, sizeof(big), -1);
	for (i = 0; i < 300; i++)
		say("\x01garbage");
	say("READY=1");
}

/* Too long, or not NAME=VALUE: dropped and counted; then READY=1 works. */
START_TEST(garbage_and_floods_are_dropped)
{
	start_worker(body_garbage);
	ck_assert(run_until(1));
	ck_assert_int_eq(got[0].wm_ready, 1);
	ck_assert_uint_eq(wn.wn_bad, 301);
	ck_assert_int_eq(ngot, 1);
}
END_TEST

static int
count_fds(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*de;
	int		 n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
body_fdstore(void)
{
	int	p[2];

	if (pipe(p) == 0)
		send_to(wnotify_socket(&wn), "FDSTORE=1", 9, p[0]);
}

START_TEST(passed_descriptors_are_closed)
{
	int	before;

	/* the loop's own descriptors first */
	ev_run(EV_DEFAULT, EVRUN_NOWAIT);
	before = count_fds();
	start_worker(body_fdstore);
	ck_assert(run_until(1));
	ck_assert_uint_eq(got[0].wm_ignored, 1);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

static void
body_nobody(void)
{
	if (setgroups(0, NULL) == -1 || setgid(65534) == -1 ||
	    setuid(65534) == -1)
		_exit(98);
	say("READY=1");
}

/* root's clusterd, a worker that dropped to nobody: it still gets through */
START_TEST(a_worker_without_root_is_heard)
{
	if (geteuid() != 0)
		return;
	start_worker(body_nobody);
	ck_assert(run_until(1));
	ck_assert_int_eq(got[0].wm_ready, 1);
}
END_TEST

/* A clusterd after exec: the descriptor, the same name. */
START_TEST(adopt_keeps_the_name)
{
	struct wnotify	copy;
	char		err[256];
	int		fd = dup(wn.wn_io.fd), sv[2];

	ck_assert_int_eq(wnotify_adopt(&copy, fd, "web[0]", on_msg, NULL, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(wnotify_socket(&copy), wnotify_socket(&wn));
	wnotify_close(&copy);
	wnotify_close(&copy);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	ck_assert_int_eq(wnotify_adopt(&copy, sv[0], "web[0]", on_msg, NULL,
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not an autobound abstract"));
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * gunicorn (Debian 12: 20.1.0) given a socket the way clusterd gives it
 * (fd 3, LISTEN_FDS, LISTEN_PID) serves it, and its arbiter - the process
 * clusterd starts - sends READY=1 with a STATUS= to NOTIFY_SOCKET.
 */
START_TEST(gunicorn_says_ready)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	char			buf[512], pidbuf[32];
	int			lfd, c;
	ssize_t			n;

	ck_assert_int_ne(lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ne(worker = fork(), -1);
	if (worker == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		if (dup2(lfd, 3) == -1)
			_exit(97);
		snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)getpid());
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_PID", pidbuf, 1);
		setenv("NOTIFY_SOCKET", wnotify_socket(&wn), 1);
		execlp("gunicorn", "gunicorn", "--workers", "2", "--chdir",
		    "tests/workers", "--log-level", "warning", "wsgi_app:app",
		    (char *)NULL);
		_exit(127);
	}
	setpgid(worker, worker);
	close(lfd);
	wnotify_start(&wn, worker);
	ck_assert_msg(run_until(1), "no READY=1 from gunicorn (is it "
	    "installed? run from the top of the tree)");
	ck_assert_int_eq(got[0].wm_ready, 1);
	ck_assert_str_eq(got[0].wm_status, "Gunicorn arbiter booted");
	ck_assert_int_eq(got[0].wm_pid, worker);
	ck_assert_int_ne(c = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	snprintf(buf, sizeof(buf), "GET / HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(write(c, buf, strlen(buf)), (ssize_t)strlen(buf));
	n = read(c, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "200 OK"));
	close(c);
	/* nothing else: no STOPPING=1, no WATCHDOG=1 in this version */
	kill(worker, SIGTERM);
	run_for(300);
	ck_assert_int_eq(ngot, 1);
}
END_TEST

static Suite *
wnotify_suite(void)
{
	Suite	*s = suite_create("wnotify");
	TCase	*tc = tcase_create("parse");

	tcase_add_test(tc, parse_what_systemd_understands);
	tcase_add_test(tc, parse_ignores_the_rest);
	tcase_add_test(tc, parse_rejects_garbage);
	tcase_add_test(tc, status_is_one_clean_line);
	suite_add_tcase(s, tc);
	tc = tcase_create("socket");
	tcase_add_checked_fixture(tc, sock_setup, sock_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, the_worker_is_heard);
	tcase_add_test(tc, its_process_group_is_heard);
	tcase_add_test(tc, strangers_are_not);
	tcase_add_test(tc, garbage_and_floods_are_dropped);
	tcase_add_test(tc, passed_descriptors_are_closed);
	tcase_add_test(tc, a_worker_without_root_is_heard);
	tcase_add_test(tc, adopt_keeps_the_name);
	tcase_add_test(tc, gunicorn_says_ready);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	log_init(LOG_LVL_WARNING);
	return run_suite(wnotify_suite());
}
