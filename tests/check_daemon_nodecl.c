/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests of src/nodecl.c with real Node.js workers: the
 * stand-in cluster primary tests/nodeprimary.c (built on nodecl.c) runs
 * as "the daemon" and drives unmodified Node apps through the cluster
 * protocol.  tests/workers/node-app.js reports what each worker sees
 * (cluster.isWorker, its id, the inode of the socket it serves, each
 * listen()'s outcome); the examples in examples/node run as shipped.
 *
 * Once clusterd speaks ipc = node-cluster itself, the same apps run under
 * it; these tests pin down what the protocol code makes them do.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define WAIT		15000	/* ms: deadline of a wait */
#define TEST_TIMEOUT	60	/* s: Check's per-test timeout */

static const char	 http_get[] = "GET / HTTP/1.1\r\nHost: x\r\n"
			    "Connection: close\r\n\r\n";

/*
 * Helpers.
 */

/* A file of the source tree. */
static const char *
src(const char *rel)
{
	static char	 buf[4][PATH_MAX];
	static int	 n;
	const char	*dir = getenv("SRCDIR");
	char		*b = buf[n++ % 4];

	if (dir == NULL || *dir == '\0')
		ck_abort_msg("SRCDIR is not set: run the tests through make");
	snprintf(b, PATH_MAX, "%s/%s", dir, rel);
	return b;
}

/* A program in PATH, as execvp would find it (the harness uses execve). */
static const char *
which(const char *name)
{
	static char	 buf[4][PATH_MAX];
	static int	 n;
	const char	*path = getenv("PATH"), *p, *end;
	char		*b = buf[n++ % 4];

	for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0'; p = end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		snprintf(b, PATH_MAX, "%.*s/%s", (int)(end - p), p, name);
		if (access(b, X_OK) == 0)
			return b;
		if (*end == ':')
			end++;
	}
	ck_abort_msg("%s is not in PATH", name);
	return NULL;
}

/* nodeprimary OPTS -- CMD, as the daemon, with env (each NULL-ended). */
static void
np_start(const char *const *opts, const char *const *cmd,
    const char *const *env)
{
	const char	*argv[40];
	size_t		 n = 0;

	argv[n++] = h_worker("nodeprimary");
	while (*opts != NULL && n < 20)
		argv[n++] = *opts++;
	argv[n++] = "--";
	while (*cmd != NULL && n < 39)
		argv[n++] = *cmd++;
	argv[n] = NULL;
	H_ASSERT(h_start_cmd(argv, env) > 0, "start nodeprimary");
}

static void
wait_log(const char *needle, int count)
{
	H_ASSERT(h_wait_log(needle, count, WAIT), "no %d \"%s\" in the log",
	    count, needle);
}

/* The inode nodeprimary logged for a socket ("socket web fd 3 inode"). */
static const char *
sock_inode(const char *what)
{
	static char	 ino[32];
	char		 needle[64], *line, *p;

	snprintf(needle, sizeof(needle), "socket %s ", what);
	wait_log(needle, 1);
	line = h_find_line(h_log(), needle);
	H_ASSERT(line != NULL && (p = strstr(line, " inode ")) != NULL,
	    "no inode for %s", what);
	snprintf(ino, sizeof(ino), "%s", p + 7);
	free(line);
	return ino;
}

static char *
port_str(int port)
{
	static char	buf[4][16];
	static int	n;
	char		*b = buf[n++ % 4];

	snprintf(b, 16, "%d", port);
	return b;
}

/* A GET with Connection: close; 1 when it got a 200 with "pid". */
static int
get_ok(int port, const char *path, char *out, size_t outlen)
{
	char	req[256], buf[4096];
	ssize_t	n;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n", path);
	n = h_request_tcp(port, req, buf, sizeof(buf), WAIT);
	if (out != NULL)
		snprintf(out, outlen, "%s", n > 0 ? buf : "");
	return n > 0 && strncmp(buf, "HTTP/1.1 200", 12) == 0 &&
	    strstr(buf, "pid ") != NULL;
}

/* SIGTERM: every worker disconnected, nodeprimary exits 0 by itself. */
static void
np_stop(void)
{
	h_stop_daemon();
	H_ASSERT(h_count_log("all workers stopped") == 1, "not all stopped");
	H_ASSERT(h_count_log("SIGKILL") == 0, "a worker had to be killed");
}

static int
count(const char *text, const char *needle)
{
	int	n = 0;

	while (text != NULL && (text = strstr(text, needle)) != NULL) {
		n++;
		text += strlen(needle);
	}
	return n;
}

static struct h_report **
reports(size_t want, size_t *n)
{
	struct h_report	**v;

	H_ASSERT(h_wait_reports("node-app.", (int)want, WAIT),
	    "fewer than %zu reports", want);
	*n = h_report_list("node-app.", &v);
	return v;
}

/*
 * Tests.
 */

/* listen(PORT) in every worker gets the primary's socket, the same one. */
START_TEST(listen_port_gets_the_shared_socket)
{
	int		  port = h_free_port();
	char		  web[64], ino[32];
	const char	 *opts[] = { "-n", "2", "-s", web, NULL };
	const char	 *cmd[] = { "node", src("tests/workers/node-app.js"),
			    NULL };
	const char	 *env[] = { NULL, NULL };
	char		  listen[32];
	struct h_report	**v;
	size_t		  n, i;

	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(listen, sizeof(listen), "LISTEN=%d", port);
	env[0] = listen;
	np_start(opts, cmd, env);
	snprintf(ino, sizeof(ino), "%s", sock_inode("web"));
	v = reports(2, &n);
	H_ASSERT(n == 2, "%zu reports", n);
	for (i = 0; i < n; i++) {
		h_assert_key(v[i], "is_worker", "1");
		h_assert_key(v[i], "is_primary", "0");
		h_assert_key(v[i], "unique_id_left", "0");
		h_assert_key(v[i], "listen0", "ok");
		h_assert_key(v[i], "inode0", ino);
		h_assert_key(v[i], "port0", port_str(port));
	}
	/* cluster.worker.id is the slot + 1, NODE_APP_INSTANCE the slot */
	H_ASSERT(strcmp(h_report_get(v[0], "worker_id"),
	    h_report_get(v[1], "worker_id")) != 0, "the same worker id");
	for (i = 0; i < n; i++)
		H_ASSERT(atoi(h_report_get(v[i], "worker_id")) ==
		    atoi(h_report_get(v[i], "app_instance")) + 1,
		    "worker_id %s, app_instance %s",
		    h_report_get(v[i], "worker_id"),
		    h_report_get(v[i], "app_instance"));
	h_report_list_free(v, n);
	H_ASSERT(get_ok(port, "/", NULL, 0), "no answer on %d", port);
	wait_log("listening listen(", 2);
	np_stop();
}
END_TEST

/* listen(PORT, HOST), listen(PATH) and listen({fd: N}) all match. */
START_TEST(listen_host_path_and_fd)
{
	int		  port = h_free_port();
	char		  web[64], api[PATH_MAX], listen[PATH_MAX + 64];
	char		  iweb[32], iapi[32], buf[4096];
	const char	 *opts[] = { "-s", web, "-s", api, NULL };
	const char	 *cmd[] = { "node", src("tests/workers/node-app.js"),
			    NULL };
	const char	 *env[] = { listen, NULL };
	struct h_report	**v;
	size_t		  n;

	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(api, sizeof(api), "api=unix:%s", h_path("api.sock"));
	snprintf(listen, sizeof(listen), "LISTEN=127.0.0.1:%d,%s,fd:4",
	    port, h_path("api.sock"));
	np_start(opts, cmd, env);
	snprintf(iweb, sizeof(iweb), "%s", sock_inode("web"));
	snprintf(iapi, sizeof(iapi), "%s", sock_inode("api"));
	v = reports(1, &n);
	h_assert_key(v[0], "listen0", "ok");
	h_assert_key(v[0], "inode0", iweb);
	h_assert_key(v[0], "listen1", "ok");
	h_assert_key(v[0], "inode1", iapi);
	h_assert_key(v[0], "port1", "-1");
	h_assert_key(v[0], "listen2", "ok");
	h_assert_key(v[0], "inode2", iapi);
	h_report_list_free(v, n);
	wait_log("gets socket web", 1);
	wait_log("gets socket api", 2);
	H_ASSERT(get_ok(port, "/", NULL, 0), "no answer on %d", port);
	H_ASSERT(h_request_unix(h_path("api.sock"), http_get, buf,
	    sizeof(buf), WAIT) > 0 && strstr(buf, "pid ") != NULL,
	    "no answer on the unix socket: %s", buf);
	np_stop();
}
END_TEST

/* A port nobody configured: EADDRNOTAVAIL in the app, a log line, no loop */
START_TEST(unmatched_port_is_eaddrnotavail)
{
	int		  port = h_free_port(), other = h_free_port();
	char		  web[64], listen[64], needle[160];
	const char	 *opts[] = { "-s", web, NULL };
	const char	 *cmd[] = { "node", src("tests/workers/node-app.js"),
			    NULL };
	const char	 *env[] = { listen, NULL };
	struct h_report	**v;
	size_t		  n;

	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(listen, sizeof(listen), "LISTEN=%d,%d", port, other);
	np_start(opts, cmd, env);
	v = reports(1, &n);
	h_assert_key(v[0], "listen0", "ok");
	h_assert_key(v[0], "listen1", "EADDRNOTAVAIL");
	h_report_list_free(v, n);
	snprintf(needle, sizeof(needle), "refused listen(%d) matches none of "
	    "the program's sockets: web (127.0.0.1:%d, fd 3)", other, port);
	wait_log(needle, 1);
	H_ASSERT(get_ok(port, "/", NULL, 0), "no answer on %d", port);
	H_ASSERT(h_count_log("started") == 1, "the worker was restarted");
	np_stop();
}
END_TEST

/*
 * https: the ticket-key data goes out and comes back, in the handle and
 * in the error reply (given null there, the worker would throw).
 */
START_TEST(https_gets_its_data_back)
{
	int		  port = h_free_port(), other = h_free_port(), st;
	struct h_report	**v;
	size_t		  n, i;
	char		  web[64], listen[64], cert[PATH_MAX + 16];
	char		  key[PATH_MAX + 16], py[512], *out = NULL;
	const char	 *opts[] = { "-n", "2", "-s", web, NULL };
	const char	 *cmd[] = { "node", src("tests/workers/node-app.js"),
			    NULL };
	const char	 *env[] = { listen, cert, key, NULL };
	const char	 *gen[] = { which("openssl"), "req", "-x509",
			    "-newkey", "ec",
			    "-pkeyopt", "ec_paramgen_curve:prime256v1",
			    "-nodes", "-days", "1", "-subj", "/CN=localhost",
			    "-keyout", h_path("key.pem"), "-out",
			    h_path("cert.pem"), NULL };
	const char	 *client[] = { which("python3"), "-c", py, NULL };

	H_ASSERT(h_run(gen, NULL, WAIT, &st, NULL, NULL) && st == 0,
	    "openssl req failed: 0x%x", st);
	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(listen, sizeof(listen), "LISTEN=%d,%d", port, other);
	snprintf(cert, sizeof(cert), "TLS_CERT=%s", h_path("cert.pem"));
	snprintf(key, sizeof(key), "TLS_KEY=%s", h_path("key.pem"));
	np_start(opts, cmd, env);
	v = reports(2, &n);
	for (i = 0; i < n; i++) {
		h_assert_key(v[i], "listen0", "ok");
		h_assert_key(v[i], "listen1", "EADDRNOTAVAIL");
	}
	h_report_list_free(v, n);
	snprintf(py, sizeof(py), "import socket, ssl\n"
	    "c = ssl._create_unverified_context()\n"
	    "for i in range(4):\n"
	    "    s = c.wrap_socket(socket.create_connection(('127.0.0.1', "
	    "%d)))\n"
	    "    s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: "
	    "close\\r\\n\\r\\n')\n"
	    "    print(s.recv(4096).decode().split('\\r\\n')[0])\n", port);
	H_ASSERT(h_run(client, NULL, WAIT, &st, &out, NULL) && st == 0,
	    "TLS client failed: 0x%x: %s", st, out ? out : "");
	H_ASSERT(count(out, "HTTP/1.1 200") == 4, "TLS answers: %s", out);
	free(out);
	np_stop();
}
END_TEST

/* The classic cluster example and the plain app, as shipped. */
START_TEST(examples_run_unchanged)
{
	int		 port = h_free_port();
	char		 web[64], penv[32], buf[4096];
	const char	*opts[] = { "-n", "2", "-s", web, NULL };
	const char	*cluster_app[] = { "node",
			    src("examples/node/cluster-app.js"), NULL };
	const char	*env[] = { penv, NULL };
	ssize_t		 n;

	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(penv, sizeof(penv), "PORT=%d", port);
	np_start(opts, cluster_app, env);
	wait_log("listening listen(", 2);
	n = h_request_tcp(port, http_get, buf, sizeof(buf), WAIT);
	H_ASSERT(n > 0 && strstr(buf, "hello from worker ") != NULL,
	    "cluster-app.js: %s", buf);
	H_ASSERT(h_count_in_file(h_out(), "primary ") == 0,
	    "the primary branch ran");
	np_stop();
}
END_TEST

START_TEST(plain_example_runs_unchanged)
{
	int		 port = h_free_port();
	char		 web[64], penv[32], buf[4096];
	const char	*opts[] = { "-n", "2", "-s", web, NULL };
	const char	*plain_app[] = { "node",
			    src("examples/node/plain-app.js"), NULL };
	const char	*env[] = { penv, NULL };
	ssize_t		 n;

	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(penv, sizeof(penv), "PORT=%d", port);
	np_start(opts, plain_app, env);
	wait_log("listening listen(", 2);
	n = h_request_tcp(port, http_get, buf, sizeof(buf), WAIT);
	H_ASSERT(n > 0 && strstr(buf, "hello from pid ") != NULL,
	    "plain-app.js: %s", buf);
	H_ASSERT(h_count_log("EADDRINUSE") == 0, "EADDRINUSE");
	np_stop();
}
END_TEST

/* cluster.worker.disconnect(): acked, reported once, replaced once. */
START_TEST(worker_disconnect_is_replaced_once)
{
	int		  port = h_free_port();
	char		  web[64], listen[32], body[4096];
	const char	 *opts[] = { "-s", web, NULL };
	const char	 *cmd[] = { "node", src("tests/workers/node-app.js"),
			    NULL };
	const char	 *env[] = { listen, NULL };

	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(listen, sizeof(listen), "LISTEN=%d", port);
	np_start(opts, cmd, env);
	wait_log("listening listen(", 1);
	H_ASSERT(get_ok(port, "/disconnect", body, sizeof(body)),
	    "/disconnect: %s", body);
	wait_log("): exited\n", 1);
	wait_log("exited with status 0", 1);
	wait_log("listening listen(", 2);
	H_ASSERT(get_ok(port, "/", NULL, 0), "the replacement does not serve");
	h_sleep_ms(300);
	H_ASSERT(h_count_log("): exited\n") == 1,
	    "exitedAfterDisconnect twice");
	H_ASSERT(h_count_log("started") == 2, "%d starts",
	    h_count_log("started"));
	H_ASSERT(h_count_log("channel closed unexpectedly") == 0,
	    "the channel was lost");
	np_stop();
}
END_TEST

/* The primary's disconnect lets a request in flight finish, then exit. */
START_TEST(disconnect_lets_in_flight_requests_finish)
{
	int		 port = h_free_port(), fd;
	char		 web[64], listen[32], buf[4096];
	const char	*opts[] = { "-n", "2", "-t", "30000", "-s", web, NULL };
	const char	*cmd[] = { "node", src("tests/workers/node-app.js"),
			    NULL };
	const char	*env[] = { listen, NULL };
	long long	 t0;
	int		 st = -1;

	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(listen, sizeof(listen), "LISTEN=%d", port);
	np_start(opts, cmd, env);
	wait_log("listening listen(", 2);
	H_ASSERT((fd = h_connect_tcp(port)) != -1, "connect");
	H_ASSERT(h_send(fd, "GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n") == 0, "send");
	H_ASSERT(h_wait_text(h_out(), "request /slow", 1, WAIT), "no request");
	t0 = h_now_ms();
	H_ASSERT(h_signal(SIGTERM) == 0, "SIGTERM");
	H_ASSERT(h_recv_all(fd, buf, sizeof(buf), WAIT) > 0 &&
	    strncmp(buf, "HTTP/1.1 200", 12) == 0, "in-flight: %s", buf);
	close(fd);
	H_ASSERT(h_wait_exit(WAIT, &st) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "nodeprimary status 0x%x", st);
	/* by themselves: long before the stop timeout */
	H_ASSERT(h_now_ms() - t0 < 10000, "took %lld ms", h_now_ms() - t0);
	H_ASSERT(h_count_log("exited with status 0") == 2, "exits");
	H_ASSERT(h_count_log("SIGKILL") == 0, "killed");
	h_assert_no_leftovers();
}
END_TEST

/* -r: each worker serves its slot's own SO_REUSEPORT socket. */
START_TEST(reuseport_hands_each_slot_its_socket)
{
	int		  port = h_free_port(), i;
	char		  web[64], listen[32], ino[2][32];
	const char	 *opts[] = { "-r", "-n", "2", "-s", web, NULL };
	const char	 *cmd[] = { "node", src("tests/workers/node-app.js"),
			    NULL };
	const char	 *env[] = { listen, NULL };
	struct h_report	**v;
	size_t		  n, k;

	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(listen, sizeof(listen), "LISTEN=%d", port);
	np_start(opts, cmd, env);
	snprintf(ino[0], sizeof(ino[0]), "%s", sock_inode("web slot 0"));
	snprintf(ino[1], sizeof(ino[1]), "%s", sock_inode("web slot 1"));
	H_ASSERT(strcmp(ino[0], ino[1]) != 0, "one socket for both slots");
	v = reports(2, &n);
	for (k = 0; k < n; k++) {
		i = atoi(h_report_get(v[k], "app_instance"));
		H_ASSERT(i == 0 || i == 1, "slot %d", i);
		h_assert_key(v[k], "inode0", ino[i]);
	}
	h_report_list_free(v, n);
	for (i = 0; i < 10; i++)
		H_ASSERT(get_ok(port, "/", NULL, 0), "request %d", i);
	np_stop();
}
END_TEST

/* A worker out of descriptors NACKs: resent 3 times, then EMFILE. */
START_TEST(nacked_handle_is_resent_then_refused)
{
	int		  port = h_free_port();
	char		  web[64], listen[32];
	const char	 *opts[] = { "-s", web, NULL };
	const char	 *cmd[] = { "prlimit", "--nofile=64:64", "node",
			    src("tests/workers/node-app.js"), NULL };
	const char	 *env[] = { listen, "EXHAUST_FDS=1", NULL };
	struct h_report	**v;
	size_t		  n;

	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(listen, sizeof(listen), "LISTEN=%d", port);
	np_start(opts, cmd, env);
	v = reports(1, &n);
	h_assert_key(v[0], "listen0", "EMFILE");
	h_report_list_free(v, n);
	H_ASSERT(h_count_log("handle-nack") == 3, "%d NACKs",
	    h_count_log("handle-nack"));
	wait_log("handle-lost the worker did not receive its server handle", 1);
	np_stop();
}
END_TEST

/* What the app sends with process.send() is the app's, not Node's. */
START_TEST(app_messages_pass_through)
{
	int		 port = h_free_port();
	char		 web[64], listen[32];
	const char	*opts[] = { "-s", web, NULL };
	const char	*cmd[] = { "node", src("tests/workers/node-app.js"),
			    NULL };
	const char	*env[] = { listen, NULL };

	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(listen, sizeof(listen), "LISTEN=%d", port);
	np_start(opts, cmd, env);
	wait_log("listening listen(", 1);
	H_ASSERT(get_ok(port, "/send?msg=ready", NULL, 0), "/send");
	wait_log("app message \"ready\"", 1);
	np_stop();
}
END_TEST

/* A rolling restart under load, connections closed after each response. */
START_TEST(rolling_restart_loses_no_request)
{
	int		 port = h_free_port(), i, ok = 0, failed = 0;
	char		 web[64], listen[32], body[4096];
	const char	*opts[] = { "-n", "2", "-s", web, NULL };
	const char	*cmd[] = { "node", src("tests/workers/node-app.js"),
			    NULL };
	const char	*env[] = { listen, "DELAY_MS=20", NULL };
	long long	 end;

	snprintf(web, sizeof(web), "web=127.0.0.1:%d", port);
	snprintf(listen, sizeof(listen), "LISTEN=%d", port);
	np_start(opts, cmd, env);
	wait_log("listening listen(", 2);
	for (i = 0; i < 20; i++)
		get_ok(port, "/", NULL, 0) ? ok++ : failed++;
	H_ASSERT(h_signal(SIGHUP) == 0, "SIGHUP");
	end = h_now_ms() + WAIT;
	while (h_count_log("rolling restart done") == 0 && h_now_ms() < end)
		get_ok(port, "/", body, sizeof(body)) ? ok++ : failed++;
	for (i = 0; i < 20; i++)
		get_ok(port, "/", NULL, 0) ? ok++ : failed++;
	H_ASSERT(h_count_log("rolling restart done") == 1, "no roll");
	H_ASSERT(failed == 0, "%d of %d requests failed", failed,
	    ok + failed);
	H_ASSERT(h_count_log("started") == 4, "%d starts",
	    h_count_log("started"));
	wait_log("exited with status 0", 2);
	np_stop();
}
END_TEST

static Suite *
nodecl_suite(void)
{
	Suite	*s = suite_create("nodecl with Node.js");
	TCase	*tc = h_tcase("node", TEST_TIMEOUT);

	tcase_add_test(tc, listen_port_gets_the_shared_socket);
	tcase_add_test(tc, listen_host_path_and_fd);
	tcase_add_test(tc, unmatched_port_is_eaddrnotavail);
	tcase_add_test(tc, https_gets_its_data_back);
	tcase_add_test(tc, examples_run_unchanged);
	tcase_add_test(tc, plain_example_runs_unchanged);
	tcase_add_test(tc, worker_disconnect_is_replaced_once);
	tcase_add_test(tc, disconnect_lets_in_flight_requests_finish);
	tcase_add_test(tc, reuseport_hands_each_slot_its_socket);
	tcase_add_test(tc, nacked_handle_is_resent_then_refused);
	tcase_add_test(tc, app_messages_pass_through);
	tcase_add_test(tc, rolling_restart_loses_no_request);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(nodecl_suite());
}
