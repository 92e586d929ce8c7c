/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of sock.c's rule for a unix socket file in the way of a
 * bind: only a refused connection makes it stale.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "runner.h"

static char	dir[64];
static char	path[100];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/clusterd-sock.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0777), 0);
	snprintf(path, sizeof(path), "%s/s.sock", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

/* A unix socket bound at path (mode 0777 minus mask), listening or not. */
static int
bound(mode_t mask, int do_listen)
{
	struct sockaddr_un	sun;
	mode_t			old;
	int			fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	old = umask(mask);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	ck_assert_int_eq(rc, 0);
	if (do_listen)
		ck_assert_int_eq(listen(fd, 1), 0);
	return fd;
}

START_TEST(nothing_there)
{
	char	err[256] = "";

	ck_assert_int_eq(sock_clear_stale(path, err, sizeof(err)), 0);
}
END_TEST

/* Bound, never listened on, closed: connect says ECONNREFUSED. */
START_TEST(stale_is_removed)
{
	char	err[256] = "";

	close(bound(0, 0));
	ck_assert_int_eq(sock_clear_stale(path, err, sizeof(err)), 1);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(live_is_kept)
{
	char	err[256] = "";
	int	fd = bound(0, 1);

	ck_assert_int_eq(sock_clear_stale(path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is in use by another"));
	ck_assert_int_eq(access(path, F_OK), 0);
	close(fd);
}
END_TEST

START_TEST(not_a_socket_is_kept)
{
	char	err[256] = "";
	int	fd;

	ck_assert_int_ne(fd = open(path, O_WRONLY | O_CREAT, 0600), -1);
	close(fd);
	ck_assert_int_eq(sock_clear_stale(path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is not a socket; not removing"));
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

/*
 * Live, mode 0600, root's; the check runs as nobody in a directory it
 * may write: connect fails with EACCES, which says nothing about the
 * socket being stale, so it stays.
 */
START_TEST(eacces_is_kept)
{
	char	err[256] = "";
	pid_t	pid;
	int	fd, st, rc;

	if (geteuid() != 0) {
		fprintf(stderr, "eacces_is_kept: needs root; skipped\n");
		return;
	}
	fd = bound(0077, 1);
	if ((pid = fork()) == 0) {
		if (setresgid(65534, 65534, 65534) == -1 ||
		    setresuid(65534, 65534, 65534) == -1)
			_exit(2);
		rc = sock_clear_stale(path, err, sizeof(err));
		_exit(rc == -1 && strstr(err, "connect: Permission denied") !=
		    NULL ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "wait status 0x%x", st);
	ck_assert_int_eq(access(path, F_OK), 0);
	close(fd);
}
END_TEST

static Suite *
sock_suite(void)
{
	Suite	*s = suite_create("sock");
	TCase	*tc = tcase_create("stale");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, nothing_there);
	tcase_add_test(tc, stale_is_removed);
	tcase_add_test(tc, live_is_kept);
	tcase_add_test(tc, not_a_socket_is_kept);
	tcase_add_test(tc, eacces_is_kept);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(sock_suite());
}
