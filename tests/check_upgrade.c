/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of what an upgrade carries and checks: the state format
 * (state.c) written and read back through a memfd, and the checks the
 * new image makes of each descriptor it is handed before it adopts it
 * (sock_check_fd in sock.c, ctl_adopt in ctl.c), with real descriptors
 * that are not what they should be.
 */

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "runner.h"

static char	tmpdir[32];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_upgrade.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_ptr_nonnull(ev_default_loop(EVFLAG_AUTO));
}

static void
teardown(void)
{
	char	cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A memfd holding text, as an old image leaves its state. */
static int
state_fd(const char *text)
{
	int	fd = memfd_create("state", MFD_CLOEXEC);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

/* state_read of text fails with err. */
static void
read_fails(const char *text, const char *want)
{
	struct state	st;
	char		err[256];

	ck_assert_int_eq(state_read(state_fd(text), &st, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(st.st_recs);
}

/* Is fd closed? */
static int
closed(int fd)
{
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

/* A TCP socket on 127.0.0.1 (any port), listening or not; its port. */
static int
tcp_socket(int type, int listening, int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (listening)
		ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A listening unix socket at tmpdir/name; its path in path. */
static int
unix_socket(const char *name, char *path, size_t len)
{
	struct sockaddr_un	sun;
	int			fd;

	snprintf(path, len, "%s/%s", tmpdir, name);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

static struct listen_addr
unix_addr(const char *path)
{
	struct listen_addr	la;

	memset(&la, 0, sizeof(la));
	la.la_kind = ADDR_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(la.la_path));
	memcpy(la.la_path, path, strlen(path) + 1);
	return la;
}

static struct listen_addr
tcp_addr(int port)
{
	struct listen_addr	la;

	memset(&la, 0, sizeof(la));
	la.la_kind = ADDR_TCP;
	snprintf(la.la_host, sizeof(la.la_host), "127.0.0.1");
	la.la_port = (uint16_t)port;
	return la;
}

/*
 * The state format.
 */

/* What the master writes comes back word for word, escapes undone. */
START_TEST(test_state_round_trip)
{
	static char		 name[] = "web 1", listen_text[] = "x";
	struct listener		 l, *socks[] = { &l, NULL };
	struct state_out	 so;
	struct state		 st;
	const struct state_rec	*r;
	static const int	 waiters[] = { 12, 13 };
	long long		 n;
	char			 err[256];
	int			 fd = memfd_create("state", MFD_CLOEXEC), i;

	ck_assert_int_ne(fd, -1);
	memset(&l, 0, sizeof(l));
	l.l_name = name;
	l.l_listen = listen_text;
	l.l_fd = 9;
	memset(&so, 0, sizeof(so));
	so.so_config_path = "/etc/my dir/100%=ok\n.ini";
	so.so_digest = 0x0123456789abcdefULL;
	so.so_seq = 7;
	so.so_socks = socks;
	so.so_control_fd = 5;
	so.so_control_path = "/run/c d.sock";
	so.so_waiter_fds = waiters;
	so.so_nwaiters = 2;
	ck_assert_int_eq(state_write(fd, &so), 0);
	ck_assert_int_eq(state_read(fd, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.st_nrecs, 4);

	r = &st.st_recs[0];
	ck_assert_str_eq(r->sr_kind, "master");
	ck_assert_str_eq(state_get(r, "config"), "/etc/my dir/100%=ok\n.ini");
	ck_assert_str_eq(state_get(r, "controlpath"), "/run/c d.sock");
	ck_assert_str_eq(state_get(r, "digest"), "0123456789abcdef");
	ck_assert_int_eq(state_num(r, "seq", &n), 0);
	ck_assert_int_eq(n, 7);
	ck_assert_int_eq(state_num(r, "control", &n), 0);
	ck_assert_int_eq(n, 5);
	ck_assert_ptr_null(state_get(r, "nosuchkey"));

	/* Every clusterctl waiting for the upgrade, not only the first. */
	for (i = 0; i < 2; i++) {
		r = &st.st_recs[1 + i];
		ck_assert_str_eq(r->sr_kind, "waiter");
		ck_assert_int_eq(state_num(r, "fd", &n), 0);
		ck_assert_int_eq(n, waiters[i]);
	}

	r = &st.st_recs[3];
	ck_assert_str_eq(r->sr_kind, "listener");
	ck_assert_str_eq(state_get(r, "name"), "web 1");
	ck_assert_int_eq(state_num(r, "fd", &n), 0);
	ck_assert_int_eq(n, 9);
	state_free(&st);
	ck_assert_ptr_null(st.st_recs);
}
END_TEST

/* Values may hold any byte (an IPC line's tail): NUL, newline, '%'. */
START_TEST(test_state_bytes)
{
	struct state	st;
	char		err[256];
	const char	*v;

	ck_assert_int_eq(state_read(state_fd("clusterd-state 1\n"
	    "worker ipcbuf=a%00b%0A%25 text= empty= unknown=1\n"
	    "end\nafter the end, ignored\n"), &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.st_nrecs, 1);
	v = state_get(&st.st_recs[0], "ipcbuf");
	ck_assert_uint_eq(state_len(&st.st_recs[0], "ipcbuf"), 5);
	ck_assert_int_eq(memcmp(v, "a\0b\n%", 5), 0);
	ck_assert_str_eq(state_get(&st.st_recs[0], "text"), "");
	ck_assert_uint_eq(state_len(&st.st_recs[0], "missing"), 0);
	state_free(&st);
}
END_TEST

/* Numbers, times and state names are checked, not guessed. */
START_TEST(test_state_values)
{
	struct state		 st;
	const struct state_rec	*r;
	long long		 n;
	double			 t;
	char			 err[256];

	ck_assert_int_eq(state_read(state_fd("clusterd-state 1\n"
	    "slot index=3 bad=3x empty= at=12.5 late=x1 idle=backoff "
	    "odd=sleeping prog=rolling\nend\n"), &st, err, sizeof(err)), 0);
	r = &st.st_recs[0];
	ck_assert_int_eq(state_num(r, "index", &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(state_num(r, "bad", &n), -1);
	ck_assert_int_eq(state_num(r, "empty", &n), -1);
	ck_assert_int_eq(state_num(r, "none", &n), -1);
	ck_assert_int_eq(state_time(r, "at", &t), 0);
	ck_assert(t == 12.5);
	ck_assert_int_eq(state_time(r, "late", &t), -1);
	ck_assert_int_eq(state_life(r, "idle"), ST_BACKOFF);
	ck_assert_int_eq(state_life(r, "odd"), -1);
	ck_assert_int_eq(state_program_state(r, "prog"), PROGRAM_ROLLING);
	ck_assert_int_eq(state_program_state(r, "odd"), -1);
	state_free(&st);
}
END_TEST

/* A state this image cannot read is refused, and says why. */
START_TEST(test_state_refused)
{
	read_fails("clusterd-state 99\nmaster seq=1\nend\n", "state version "
	    "99: this clusterd reads version 1");
	read_fails("not a state\n", "state version 0: this clusterd reads "
	    "version 1");
	read_fails("", "state version -1: this clusterd reads version 1");
	read_fails("clusterd-state 1\nmaster seq=1\n", "the state is cut "
	    "short or malformed");
	read_fails("clusterd-state 1\nworker text=%ZZ\nend\n", "the state is "
	    "cut short or malformed");
	read_fails("clusterd-state 1\nworker text=%4\nend\n", "the state is "
	    "cut short or malformed");
}
END_TEST

/* A descriptor that is not there. */
START_TEST(test_state_bad_fd)
{
	struct state	st;
	char		err[256];

	ck_assert_int_eq(state_read(-1, &st, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "cannot read the state: Bad file descriptor");
}
END_TEST

/*
 * The checks of a handed-over socket.
 */

START_TEST(test_check_not_a_socket)
{
	struct listen_addr	la = tcp_addr(80);
	char			err[256], want[64];
	int			p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(sock_check_fd(p[0], &la, 1, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "fd %d is not a socket", p[0]);
	ck_assert_str_eq(err, want);
	close(p[0]);
	close(p[1]);
	/* and a number that is no descriptor at all */
	ck_assert_int_eq(sock_check_fd(p[0], &la, 1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is not a socket"));
}
END_TEST

START_TEST(test_check_tcp)
{
	struct listen_addr	la;
	char			err[256], want[64];
	int			fd, port;

	/* the right one */
	fd = tcp_socket(SOCK_STREAM, 1, &port);
	la = tcp_addr(port);
	ck_assert_int_eq(sock_check_fd(fd, &la, 1, err, sizeof(err)), 0);
	/* another port */
	la = tcp_addr(port == 65535 ? 1 : port + 1);
	ck_assert_int_eq(sock_check_fd(fd, &la, 1, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "fd %d is bound to another address", fd);
	ck_assert_str_eq(err, want);
	/* listening where a reuseport port holder is wanted */
	la = tcp_addr(port);
	ck_assert_int_eq(sock_check_fd(fd, &la, 0, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "fd %d is not a bound stream socket", fd);
	ck_assert_str_eq(err, want);
	close(fd);

	/* bound, not listening: a reuseport holder, or a dead listener */
	fd = tcp_socket(SOCK_STREAM, 0, &port);
	la = tcp_addr(port);
	ck_assert_int_eq(sock_check_fd(fd, &la, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(sock_check_fd(fd, &la, 1, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "fd %d is not a listening stream socket",
	    fd);
	ck_assert_str_eq(err, want);
	close(fd);

	/* a datagram socket on the port */
	fd = tcp_socket(SOCK_DGRAM, 0, &port);
	la = tcp_addr(port);
	ck_assert_int_eq(sock_check_fd(fd, &la, 1, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "fd %d is not a listening stream socket",
	    fd);
	ck_assert_str_eq(err, want);
	close(fd);
}
END_TEST

/* A socket that stopped listening (shutdown(2) by a worker). */
START_TEST(test_check_shut_down)
{
	struct listen_addr	la;
	char			err[256];
	int			fd, port;

	fd = tcp_socket(SOCK_STREAM, 1, &port);
	la = tcp_addr(port);
	ck_assert_int_eq(shutdown(fd, SHUT_RDWR), 0);
	ck_assert_int_eq(sock_check_fd(fd, &la, 1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is not a listening stream socket"));
	close(fd);
}
END_TEST

START_TEST(test_check_unix)
{
	struct listen_addr	la;
	char			path[96], other[96], err[256];
	int			fd, port, tcp;

	fd = unix_socket("a.sock", path, sizeof(path));
	la = unix_addr(path);
	ck_assert_int_eq(sock_check_fd(fd, &la, 1, err, sizeof(err)), 0);
	snprintf(other, sizeof(other), "%s/b.sock", tmpdir);
	la = unix_addr(other);
	ck_assert_int_eq(sock_check_fd(fd, &la, 1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is bound to another address"));
	/* a TCP socket where a unix one is wanted */
	tcp = tcp_socket(SOCK_STREAM, 1, &port);
	la = unix_addr(path);
	ck_assert_int_eq(sock_check_fd(tcp, &la, 1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is bound to another address"));
	/* systemd's: whatever listening stream socket it passed */
	la.la_kind = ADDR_SYSTEMD;
	ck_assert_int_eq(sock_check_fd(tcp, &la, 1, err, sizeof(err)), 0);
	close(tcp);
	close(fd);
}
END_TEST

/*
 * ctl_adopt: the control socket the old image left.  One that is not
 * that socket is closed, so that ctl_init() binds the path anew.
 */
START_TEST(test_ctl_adopt_refuses)
{
	char	path[96], other[96];
	int	p[2], fd, port;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	snprintf(path, sizeof(path), "%s/ctl.sock", tmpdir);
	ck_assert_int_eq(ctl_adopt(p[0], path), -1);
	ck_assert(closed(p[0]));
	close(p[1]);

	fd = unix_socket("other.sock", other, sizeof(other));
	ck_assert_int_eq(ctl_adopt(fd, path), -1);
	ck_assert(closed(fd));

	fd = tcp_socket(SOCK_STREAM, 1, &port);
	ck_assert_int_eq(ctl_adopt(fd, path), -1);
	ck_assert(closed(fd));

	/* no path in the state */
	fd = unix_socket("c.sock", other, sizeof(other));
	ck_assert_int_eq(ctl_adopt(fd, NULL), -1);
	ck_assert(closed(fd));
}
END_TEST

START_TEST(test_ctl_adopt)
{
	struct config	 cf;
	const char	*got = NULL;
	char		 path[96];
	int		 fd;

	fd = unix_socket("ctl.sock", path, sizeof(path));
	ck_assert_int_eq(ctl_adopt(fd, path), 0);
	ck_assert_int_eq(ctl_control_fd(&got), fd);
	ck_assert_str_eq(got, path);
	/* the configuration names the same path: nothing changes */
	memset(&cf, 0, sizeof(cf));
	cf.cf_control = path;
	ck_assert_int_eq(ctl_init(&cf), 0);
	ck_assert_int_eq(ctl_control_fd(&got), fd);
	ctl_close();
}
END_TEST

static Suite *
upgrade_suite(void)
{
	Suite	*s = suite_create("upgrade");
	TCase	*tc;

	tc = tcase_create("state");
	tcase_add_test(tc, test_state_round_trip);
	tcase_add_test(tc, test_state_bytes);
	tcase_add_test(tc, test_state_values);
	tcase_add_test(tc, test_state_refused);
	tcase_add_test(tc, test_state_bad_fd);
	suite_add_tcase(s, tc);

	tc = tcase_create("adopt");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_check_not_a_socket);
	tcase_add_test(tc, test_check_tcp);
	tcase_add_test(tc, test_check_shut_down);
	tcase_add_test(tc, test_check_unix);
	tcase_add_test(tc, test_ctl_adopt_refuses);
	tcase_add_test(tc, test_ctl_adopt);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(upgrade_suite());
}
