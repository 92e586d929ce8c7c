/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of sdlisten.c: socket activation faked inside the test
 * process, with listening sockets moved to fd 3, 4, ... and LISTEN_*
 * set as systemd would set them.
 *
 * main() keeps fds 3 to 5 busy before Check starts, so that Check's own
 * files never sit where a test puts its sockets.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "runner.h"

#define FIRST_FD	3
#define LAST_FD		5

/* A socket of the given type on 127.0.0.1, listening or not, at fd. */
static void
socket_at(int target, int type, int listening)
{
	struct sockaddr_in	sin;
	int			fd;

	fd = socket(AF_INET, type, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (listening)
		ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(dup2(fd, target), target);
	close(fd);
}

static void
activate(const char *pid, const char *nfds, const char *names)
{
	char	buf[32];

	if (pid == NULL) {
		snprintf(buf, sizeof(buf), "%ld", (long)getpid());
		pid = buf;
	}
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", nfds, 1);
	if (names != NULL)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

static void
assert_env_gone(void)
{
	ck_assert_ptr_null(getenv("LISTEN_PID"));
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
	ck_assert_ptr_null(getenv("LISTEN_FDNAMES"));
}

static ino_t
inode(int fd)
{
	struct stat	st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

static int
cloexec(int fd)
{
	int	flags = fcntl(fd, F_GETFD);

	ck_assert_int_ne(flags, -1);
	return (flags & FD_CLOEXEC) != 0;
}

START_TEST(takes_named_sockets)
{
	char	err[ERRBUF_LEN];
	int	web, admin;

	socket_at(3, SOCK_STREAM, 1);
	socket_at(4, SOCK_STREAM, 1);
	activate(NULL, "2", "web:admin");
	ck_assert_int_eq(sdlisten_init(), 2);
	assert_env_gone();
	ck_assert(cloexec(3) && cloexec(4));
	ck_assert(sdlisten_has("web") && sdlisten_has("admin"));
	ck_assert(!sdlisten_has("nope"));

	web = sdlisten_take("web", err, sizeof(err));
	admin = sdlisten_take("admin", err, sizeof(err));
	ck_assert_int_ge(web, 3);
	ck_assert_int_ge(admin, 3);
	ck_assert(web != 3 && web != 4 && admin != 3 && admin != 4);
	ck_assert(inode(web) == inode(3) && inode(admin) == inode(4));
	ck_assert(inode(web) != inode(admin));
	ck_assert(cloexec(web) && cloexec(admin));

	/* the caller owns its copy: closing it leaves the table's */
	close(web);
	web = sdlisten_take("web", err, sizeof(err));
	ck_assert_int_ge(web, 3);
	ck_assert(inode(web) == inode(3));
	close(web);
	close(admin);

	ck_assert_int_eq(sdlisten_take("nope", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "systemd passed no socket named \"nope\" (passed: web, admin)");
}
END_TEST

START_TEST(missing_names_are_unknown)
{
	char	err[ERRBUF_LEN];
	int	fd;

	socket_at(3, SOCK_STREAM, 1);
	socket_at(4, SOCK_STREAM, 1);
	activate(NULL, "2", "web");
	ck_assert_int_eq(sdlisten_init(), 2);
	ck_assert(sdlisten_has("web") && sdlisten_has("unknown"));
	fd = sdlisten_take("unknown", err, sizeof(err));
	ck_assert_int_ge(fd, 3);
	ck_assert(inode(fd) == inode(4));
	close(fd);
}
END_TEST

START_TEST(no_names_at_all)
{
	char	err[ERRBUF_LEN];

	socket_at(3, SOCK_STREAM, 1);
	activate(NULL, "1", NULL);
	ck_assert_int_eq(sdlisten_init(), 1);
	ck_assert(sdlisten_has("unknown"));
	ck_assert_int_eq(sdlisten_take("web", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "systemd passed no socket named \"web\" (passed: unknown)");
}
END_TEST

START_TEST(another_pid_is_ignored)
{
	char	err[ERRBUF_LEN], pid[32];

	socket_at(3, SOCK_STREAM, 1);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	activate(pid, "1", "web");
	ck_assert_int_eq(sdlisten_init(), 0);
	assert_env_gone();
	ck_assert(!cloexec(3));		/* not ours: left as it was */
	ck_assert(!sdlisten_has("web"));
	ck_assert_int_eq(sdlisten_take("web", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "systemd passed no socket named \"web\" "
	    "(clusterd was not started by systemd socket activation)");
}
END_TEST

START_TEST(not_activated)
{
	char	err[ERRBUF_LEN];

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	ck_assert_int_eq(sdlisten_init(), 0);
	ck_assert_int_eq(sdlisten_take("web", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "systemd passed no socket named \"web\" "
	    "(clusterd was not started by systemd socket activation)");
}
END_TEST

START_TEST(not_listening)
{
	char	err[ERRBUF_LEN];

	socket_at(3, SOCK_STREAM, 0);
	socket_at(4, SOCK_DGRAM, 0);
	activate(NULL, "2", "tcp:udp");
	ck_assert_int_eq(sdlisten_init(), 2);
	ck_assert_int_eq(sdlisten_take("tcp", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "socket \"tcp\" from systemd is not a listening socket");
	ck_assert_int_eq(sdlisten_take("udp", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "socket \"udp\" from systemd is not a listening socket");
}
END_TEST

START_TEST(malformed_environment)
{
	activate("12x", "1", "web");
	ck_assert_int_eq(sdlisten_init(), -1);
	assert_env_gone();

	activate(NULL, "-1", "web");
	ck_assert_int_eq(sdlisten_init(), -1);
	assert_env_gone();

	activate(NULL, "", "web");
	ck_assert_int_eq(sdlisten_init(), -1);

	/* more sockets announced than are open */
	socket_at(3, SOCK_STREAM, 1);
	close(4);
	activate(NULL, "2", "web:admin");
	ck_assert_int_eq(sdlisten_init(), -1);
	assert_env_gone();
	ck_assert(!sdlisten_has("web"));
}
END_TEST

START_TEST(sock_open_takes_a_systemd_socket)
{
	struct sock_conf	 sc;
	struct listener		*l;
	char			 err[ERRBUF_LEN];

	socket_at(3, SOCK_STREAM, 1);
	activate(NULL, "1", "web");
	ck_assert_int_eq(sdlisten_init(), 1);

	memset(&sc, 0, sizeof(sc));
	sc.sc_name = "web";
	sc.sc_listen = "systemd:web";
	sc.sc_backlog = 511;
	ck_assert_int_eq(parse_listen("systemd:web", &sc.sc_addr, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(sc.sc_addr.la_kind, ADDR_SYSTEMD);
	l = sock_open(&sc, err, sizeof(err));
	ck_assert_msg(l != NULL, "sock_open: %s", err);
	ck_assert_int_eq(l->l_addr.la_kind, ADDR_SYSTEMD);
	ck_assert(l->l_fd != 3 && inode(l->l_fd) == inode(3));
	sock_close(l);
	ck_assert_int_ne(fcntl(3, F_GETFD), -1);	/* still passed */

	ck_assert_int_eq(parse_listen("systemd:other", &sc.sc_addr, err,
	    sizeof(err)), 0);
	ck_assert_ptr_null(sock_open(&sc, err, sizeof(err)));
	ck_assert_str_eq(err,
	    "systemd passed no socket named \"other\" (passed: web)");
}
END_TEST

static Suite *
sdlisten_suite(void)
{
	Suite	*s = suite_create("sdlisten");
	TCase	*tc = tcase_create("sdlisten");

	tcase_add_test(tc, takes_named_sockets);
	tcase_add_test(tc, missing_names_are_unknown);
	tcase_add_test(tc, no_names_at_all);
	tcase_add_test(tc, another_pid_is_ignored);
	tcase_add_test(tc, not_activated);
	tcase_add_test(tc, not_listening);
	tcase_add_test(tc, malformed_environment);
	tcase_add_test(tc, sock_open_takes_a_systemd_socket);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int	fd;

	for (fd = FIRST_FD; fd <= LAST_FD; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", O_RDONLY) == -1)
			return EXIT_FAILURE;
	return run_suite(sdlisten_suite());
}
