/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of compat.c: einhorn's and Server::Starter's variables as
 * their own supervisors write them, einhorn's worker:ack in the forms its
 * clients send, and test workers (tests/workers/einhorn_worker.py,
 * starter_worker.py) that read the variables as the client libraries do,
 * run with what the builders make.
 */

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "runner.h"

static const struct compat_sock socks[] = {
	{ COMPAT_TCP, 1, NULL, 8080, NULL, 3 },
	{ COMPAT_TCP, 0, "127.0.0.1", 8081, NULL, 4 },
	{ COMPAT_TCP, 0, "::1", 8082, NULL, 5 },
	{ COMPAT_TCP, 0, "localhost", 8083, NULL, 6 },
	{ COMPAT_UNIX, 0, NULL, 0, "/run/app/web.sock", 7 },
};
#define NSOCKS	(sizeof(socks) / sizeof(socks[0]))

static int
count(char **v)
{
	int	n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

START_TEST(einhorn_variables)
{
	char	**v, err[128];

	v = compat_einhorn_env(socks, 2, 4242, 1, 9, err, sizeof(err));
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(count(v), 6);
	ck_assert_str_eq(v[0], "EINHORN_FD_COUNT=2");
	ck_assert_str_eq(v[1], "EINHORN_FD_0=3");
	ck_assert_str_eq(v[2], "EINHORN_FD_1=4");
	ck_assert_str_eq(v[3], "EINHORN_MASTER_PID=4242");
	ck_assert_str_eq(v[4], "EINHORN_CHILD_INDEX=1");
	ck_assert_str_eq(v[5], "EINHORN_SOCK_FD=9");
	compat_env_free(v);
	/* no channel, no sockets */
	v = compat_einhorn_env(NULL, 0, 1, 0, -1, err, sizeof(err));
	ck_assert_int_eq(count(v), 3);
	ck_assert_str_eq(v[0], "EINHORN_FD_COUNT=0");
	ck_assert_str_eq(v[2], "EINHORN_CHILD_INDEX=0");
	compat_env_free(v);
}
END_TEST

START_TEST(einhorn_child_index_is_the_smallest_free)
{
	static const int	none[1] = { 0 };
	static const int	a[] = { 0, 1, 2 }, b[] = { 1, 0, 3 };
	static const int	c[] = { 2, 5 };

	ck_assert_int_eq(compat_einhorn_index(none, 0), 0);
	ck_assert_int_eq(compat_einhorn_index(a, 3), 3);
	ck_assert_int_eq(compat_einhorn_index(b, 3), 2);
	ck_assert_int_eq(compat_einhorn_index(c, 2), 0);
}
END_TEST

/* start_server's own spelling of each kind of address. */
START_TEST(server_starter_port)
{
	char	buf[256], err[256], **v;
	struct compat_sock	bad = { COMPAT_UNIX, 0, NULL, 0, "/a=b", 3 };

	ck_assert_int_eq(compat_server_starter_port(socks, NSOCKS, buf,
	    sizeof(buf), err, sizeof(err)), 0);
	ck_assert_str_eq(buf, "8080=3;127.0.0.1:8081=4;[::1]:8082=5;"
	    "localhost:8083=6;/run/app/web.sock=7");
	ck_assert_int_eq(compat_server_starter_port(socks, 0, buf,
	    sizeof(buf), err, sizeof(err)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(compat_server_starter_port(&bad, 1, buf, sizeof(buf),
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/a=b has a ';' or '='"));
	ck_assert_int_eq(compat_server_starter_port(socks, NSOCKS, buf, 20,
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
	ck_assert_str_eq(buf, "");
	v = compat_server_starter_env(socks, 1, 3, err, sizeof(err));
	ck_assert_int_eq(count(v), 2);
	ck_assert_str_eq(v[0], "SERVER_STARTER_PORT=8080=3");
	ck_assert_str_eq(v[1], "SERVER_STARTER_GENERATION=3");
	compat_env_free(v);
	ck_assert_ptr_null(compat_server_starter_env(&bad, 1, 1, err,
	    sizeof(err)));
}
END_TEST

START_TEST(reserved_variables)
{
	ck_assert_int_eq(compat_reserved("EINHORN_FD_COUNT=1", COMPAT_EINHORN),
	    1);
	ck_assert_int_eq(compat_reserved("EINHORN_FD_12=x", COMPAT_EINHORN), 1);
	ck_assert_int_eq(compat_reserved("EINHORN_SOCK_FD", COMPAT_EINHORN), 1);
	ck_assert_int_eq(compat_reserved("EINHORN_MASTER_PID=1",
	    COMPAT_EINHORN), 1);
	ck_assert_int_eq(compat_reserved("EINHORN_CHILD_INDEX=1",
	    COMPAT_EINHORN), 1);
	ck_assert_int_eq(compat_reserved("EINHORN_FD_x=1", COMPAT_EINHORN), 0);
	ck_assert_int_eq(compat_reserved("EINHORN_FD_=1", COMPAT_EINHORN), 0);
	ck_assert_int_eq(compat_reserved("EINHORN_SOCK_PATH=/x",
	    COMPAT_EINHORN), 0);
	ck_assert_int_eq(compat_reserved("EINHORN_FD_COUNT=1",
	    COMPAT_SERVER_STARTER), 0);
	ck_assert_int_eq(compat_reserved("SERVER_STARTER_PORT=1",
	    COMPAT_SERVER_STARTER), 1);
	ck_assert_int_eq(compat_reserved("SERVER_STARTER_GENERATION=1",
	    COMPAT_EINHORN | COMPAT_SERVER_STARTER), 1);
	ck_assert_int_eq(compat_reserved("SERVER_STARTER_PORTS=1",
	    COMPAT_SERVER_STARTER), 0);
	ck_assert_int_eq(compat_reserved("SERVER_STARTER_PORT=1", 0), 0);
}
END_TEST

static enum compat_cmd
classify(const char *line, long long *pid)
{
	return compat_einhorn_classify(line, strlen(line), pid);
}

START_TEST(ack_in_every_form)
{
	long long	pid;

	/* einhorn's README; go-einhorn-style clients */
	ck_assert_int_eq(classify("{\"command\":\"worker:ack\", \"pid\":123}",
	    &pid), COMPAT_CMD_ACK);
	ck_assert_int_eq(pid, 123);
	/* Python's json.dumps(..., sort_keys=True) */
	ck_assert_int_eq(classify("{\"command\": \"worker:ack\", \"pid\": 7}\r",
	    &pid), COMPAT_CMD_ACK);
	ck_assert_int_eq(pid, 7);
	/* the bytes einhorn 1.0's Ruby client writes: Worker.ack!(:fd) */
	ck_assert_int_eq(classify("---%0Acommand: worker:ack%0Apid: 19370%0A",
	    &pid), COMPAT_CMD_ACK);
	ck_assert_int_eq(pid, 19370);
	/* an old Node client: encodeURI(), spaces escaped too */
	ck_assert_int_eq(classify("---%0Acommand:%20worker:ack%0Apid:%2042",
	    &pid), COMPAT_CMD_ACK);
	ck_assert_int_eq(pid, 42);
	/* YAML's other spellings */
	ck_assert_int_eq(classify("---%0A\"command\": 'worker:ack' # x%0A",
	    &pid), COMPAT_CMD_ACK);
	ck_assert_int_eq(pid, -1);
	ck_assert_int_eq(classify("command: \"worker:ack\"%0Apid: x", &pid),
	    COMPAT_CMD_ACK);
	ck_assert_int_eq(pid, -1);
	ck_assert_int_eq(classify("{\"command\":\"worker:ack\"}", &pid),
	    COMPAT_CMD_ACK);
	ck_assert_int_eq(pid, -1);
}
END_TEST

START_TEST(other_einhorn_commands)
{
	long long	pid;

	ck_assert_int_eq(classify("---%0Acommand: worker:ping%0Apid: 5%0A"
	    "request_id: abc%0A", &pid), COMPAT_CMD_PING);
	ck_assert_int_eq(pid, 5);
	ck_assert_int_eq(classify("{\"command\":\"ehlo\",\"user\":\"me\"}",
	    &pid), COMPAT_CMD_OTHER);
	ck_assert_int_eq(classify("---%0Acommand: upgrade%0A", &pid),
	    COMPAT_CMD_OTHER);
	ck_assert_int_eq(classify("command: 'it''s'", &pid), COMPAT_CMD_OTHER);
	ck_assert_int_eq(classify("command: \"worker:\\ack\"", &pid),
	    COMPAT_CMD_ACK);
	ck_assert_int_eq(classify("command: 'worker:ack", &pid),
	    COMPAT_CMD_OTHER);
	ck_assert_int_eq(classify("command: 'worker:ack' x", &pid),
	    COMPAT_CMD_OTHER);
}
END_TEST

/* clusterd's own messages, and garbage, are not einhorn's */
START_TEST(not_einhorn)
{
	static const char *lines[] = {
		"ready", "suicide", "\"ready\"", "{\"cmd\":\"ready\"}",
		"{\"act\":\"suicide\"}", "{\"command\":5}",
		"{\"command\":\"\"}",
		"{\"command\":\"worker:ack\"", "---", "---%0A", "- a%0A- b",
		"command", "command:worker:ack", "  indented: x",
		"---%0A  command: worker:ack", "%00command: worker:ack",
		"status: ok", "", "   ", NULL
	};
	long long	pid;
	char		big[COMPAT_LINE_MAX + 64];
	size_t		i;

	for (i = 0; lines[i] != NULL; i++)
		ck_assert_msg(classify(lines[i], &pid) == COMPAT_CMD_NONE,
		    "\"%s\"", lines[i]);
	memset(big, ' ', sizeof(big));
	memcpy(big, "command: worker:ack", 19);
	big[sizeof(big) - 1] = 'x';
	ck_assert_int_eq(compat_einhorn_classify(big, sizeof(big), &pid),
	    COMPAT_CMD_NONE);
}
END_TEST

/*
 * The test workers, run with the builders' variables.
 */

static char	tmpdir[64];

static int
tcp_listener(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static int
unix_listener(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

/* One request, one line back. */
static void
ask(int family, int port, const char *path, char *buf, size_t len)
{
	struct sockaddr_in	sin;
	struct sockaddr_un	sun;
	int			fd;
	ssize_t			n, got = 0;

	fd = socket(family, SOCK_STREAM, 0);
	if (family == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)port);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
	} else {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)), 0);
	}
	ck_assert_int_eq(write(fd, "hi\n", 3), 3);
	while ((n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
}

/* Read one line from fd within 10 s, without its newline. */
static void
read_line(int fd, char *buf, size_t len)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	size_t		got = 0;
	ssize_t		n;

	while (got + 1 < len) {
		ck_assert_msg(poll(&pfd, 1, 10000) == 1, "no line");
		n = read(fd, buf + got, 1);
		ck_assert_int_gt(n, 0);
		if (buf[got] == '\n')
			break;
		got++;
	}
	buf[got] = '\0';
}

/*
 * Fork python3 SCRIPT with fds[i] at 3 + i, chan at 3 + n (or none),
 * env added, its stdout on a pipe (*out).  The child dies with us.
 */
static pid_t
run_worker(const char *script, const int *fds, int n, int chan, char **env,
    int *out)
{
	int	p[2], i, c;
	pid_t	pid;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		c = chan != -1 ? fcntl(chan, F_DUPFD, 3 + n + 1) : -1;
		for (i = 0; i < n; i++)
			if (dup2(fds[i], 3 + i) == -1)
				_exit(97);
		if (c != -1 && dup2(c, 3 + n) == -1)
			_exit(97);
		for (i = 3 + n + (c != -1); i < 1024; i++)
			close(i);
		for (i = 0; env[i] != NULL; i++)
			putenv(env[i]);
		execlp("python3", "python3", script, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

static void
reap(pid_t pid)
{
	int	status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static void
workers_setup(void)
{
	strcpy(tmpdir, "/tmp/check_compat.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
workers_teardown(void)
{
	char	path[128];

	snprintf(path, sizeof(path), "%s/web.sock", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

/* An einhorn worker finds its sockets and acks on EINHORN_SOCK_FD. */
static void
einhorn_worker_acks(const char *form, long long *acked_pid, pid_t *pid)
{
	struct compat_sock	 cs[2];
	char			 path[128], line[512], err[128], **env;
	char			 formvar[32];
	int			 fds[2], sv[2], port, out;
	long long		 ack_pid;

	snprintf(path, sizeof(path), "%s/web.sock", tmpdir);
	fds[0] = tcp_listener(&port);
	fds[1] = unix_listener(path);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cs[0] = (struct compat_sock){ COMPAT_TCP, 0, "127.0.0.1", port, NULL,
	    3 };
	cs[1] = (struct compat_sock){ COMPAT_UNIX, 0, NULL, 0, path, 4 };
	env = compat_einhorn_env(cs, 2, getpid(), 1, 5, err, sizeof(err));
	ck_assert_ptr_nonnull(env);
	snprintf(formvar, sizeof(formvar), "ACK_FORM=%s", form);
	env = realloc(env, 9 * sizeof(*env));
	env[6] = formvar;
	env[7] = NULL;
	*pid = run_worker("tests/workers/einhorn_worker.py", fds, 2, sv[1], env,
	    &out);
	env[6] = NULL;
	compat_env_free(env);
	close(sv[1]);
	read_line(sv[0], line, sizeof(line));
	ck_assert_msg(compat_einhorn_classify(line, strlen(line), &ack_pid) ==
	    COMPAT_CMD_ACK, "not an ack: %s", line);
	*acked_pid = ack_pid;
	read_line(out, line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, " acked"));
	ask(AF_INET, port, NULL, line, sizeof(line));
	ck_assert_msg(strstr(line, "index 1 socket 0 fd 3") != NULL, "%s",
	    line);
	ask(AF_UNIX, 0, path, line, sizeof(line));
	ck_assert_msg(strstr(line, "index 1 socket 1 fd 4") != NULL, "%s",
	    line);
	close(sv[0]);
	close(out);
	close(fds[0]);
	close(fds[1]);
}

START_TEST(einhorn_worker_json)
{
	long long	ack;
	pid_t		pid;

	einhorn_worker_acks("json", &ack, &pid);
	ck_assert_int_eq(ack, pid);
	reap(pid);
}
END_TEST

START_TEST(einhorn_worker_yaml)
{
	long long	ack;
	pid_t		pid;

	einhorn_worker_acks("yaml", &ack, &pid);
	ck_assert_int_eq(ack, pid);
	reap(pid);
}
END_TEST

START_TEST(einhorn_worker_uri)
{
	long long	ack;
	pid_t		pid;

	einhorn_worker_acks("uri", &ack, &pid);
	ck_assert_int_eq(ack, pid);
	reap(pid);
}
END_TEST

/* A Server::Starter worker reads every kind of entry back. */
START_TEST(server_starter_worker)
{
	struct compat_sock	 cs[2];
	char			 path[128], line[512], want[256], err[256];
	char			 **env;
	int			 fds[2], port, out;
	pid_t			 pid;

	snprintf(path, sizeof(path), "%s/web.sock", tmpdir);
	fds[0] = tcp_listener(&port);
	fds[1] = unix_listener(path);
	cs[0] = (struct compat_sock){ COMPAT_TCP, 1, NULL, port, NULL, 3 };
	cs[1] = (struct compat_sock){ COMPAT_UNIX, 0, NULL, 0, path, 4 };
	env = compat_server_starter_env(cs, 2, 7, err, sizeof(err));
	ck_assert_ptr_nonnull(env);
	pid = run_worker("tests/workers/starter_worker.py", fds, 2, -1, env,
	    &out);
	compat_env_free(env);
	read_line(out, line, sizeof(line));
	snprintf(want, sizeof(want), "generation 7 ports %d=3,%s=4", port,
	    path);
	ck_assert_msg(strstr(line, want) != NULL, "%s", line);
	ask(AF_INET, port, NULL, line, sizeof(line));
	snprintf(want, sizeof(want), "key %d\n", port);
	ck_assert_msg(strstr(line, want) != NULL, "%s", line);
	ask(AF_UNIX, 0, path, line, sizeof(line));
	ck_assert_msg(strstr(line, path) != NULL, "%s", line);
	reap(pid);
	close(out);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

static Suite *
compat_suite(void)
{
	Suite	*s = suite_create("compat");
	TCase	*tc = tcase_create("variables");

	tcase_add_test(tc, einhorn_variables);
	tcase_add_test(tc, einhorn_child_index_is_the_smallest_free);
	tcase_add_test(tc, server_starter_port);
	tcase_add_test(tc, reserved_variables);
	suite_add_tcase(s, tc);
	tc = tcase_create("einhorn_ack");
	tcase_add_test(tc, ack_in_every_form);
	tcase_add_test(tc, other_einhorn_commands);
	tcase_add_test(tc, not_einhorn);
	suite_add_tcase(s, tc);
	tc = tcase_create("workers");
	tcase_add_checked_fixture(tc, workers_setup, workers_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, einhorn_worker_json);
	tcase_add_test(tc, einhorn_worker_yaml);
	tcase_add_test(tc, einhorn_worker_uri);
	tcase_add_test(tc, server_starter_worker);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(compat_suite());
}
