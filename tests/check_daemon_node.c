/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests of issue 9 with the real daemon: clusterd as the
 * Node.js cluster primary of unmodified Node 20 apps (ipc = node-cluster,
 * ready = listening, stop_signal = disconnect), sd_notify readiness per
 * worker (ready = notify) with Debian's gunicorn and a small sender, and
 * the einhorn and Server::Starter dialects (compat), each seen from the
 * outside: the daemon's log, clusterctl, the workers' reports, requests,
 * /proc.
 *
 * Workers: tests/workers/node-app.js (reports what Node's cluster code
 * gave it), the apps of examples/node as shipped, gunicorn with
 * tests/workers/wsgi_app.py, tests/workers/notify_worker.py,
 * tests/workers/einhorn_worker.py, tests/workers/starter_worker.py.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
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
#define PYTHON		"/usr/bin/python3"

static const char	 http_get[] = "GET / HTTP/1.1\r\nHost: x\r\n"
			    "Connection: close\r\n\r\n";

/*
 * Helpers.
 */

/* A file of the source tree. */
static const char *
src(const char *rel)
{
	static char	 buf[8][PATH_MAX];
	static int	 n;
	const char	*dir = getenv("SRCDIR");
	char		*b = buf[n++ % 8];

	if (dir == NULL || *dir == '\0')
		ck_abort_msg("SRCDIR is not set: run the tests through make");
	snprintf(b, PATH_MAX, "%s/%s", dir, rel);
	return b;
}

static void
start(void)
{
	H_ASSERT(h_start(NULL) > 0, "start the daemon");
}

/* The [clusterd] section of every test that uses clusterctl. */
static const char *
control(void)
{
	static char	buf[PATH_MAX + 32];

	snprintf(buf, sizeof(buf), "[clusterd]\ncontrol = %s\n",
	    h_path("ctl.sock"));
	return buf;
}

/* clusterctl -s ctl.sock ARGS: exit status, stdout in *out (malloc'd). */
static int
ctl(char **out, const char *a1, const char *a2)
{
	const char	*argv[6];
	int		 st = -1, n = 0;

	argv[n++] = getenv("CLUSTERCTL_BIN");
	H_ASSERT(argv[0] != NULL, "CLUSTERCTL_BIN is not set");
	argv[n++] = "-s";
	argv[n++] = h_path("ctl.sock");
	argv[n++] = a1;
	if (a2 != NULL)
		argv[n++] = a2;
	argv[n] = NULL;
	H_ASSERT(h_run(argv, NULL, WAIT, &st, out, NULL), "clusterctl %s "
	    "hung", a1);
	H_ASSERT(WIFEXITED(st), "clusterctl %s: wait status 0x%x", a1, st);
	if (out != NULL && *out == NULL)
		*out = strdup("");
	return WEXITSTATUS(st);
}

/* Wait until `clusterctl status` shows text. */
static void
status_shows(const char *text)
{
	long long	 end = h_now_ms() + WAIT;
	char		*out = NULL;

	for (;;) {
		free(out);
		out = NULL;
		(void)ctl(&out, "status", NULL);
		if (strstr(out, text) != NULL)
			break;
		H_ASSERT(h_now_ms() < end, "clusterctl status does not show "
		    "\"%s\":\n%s", text, out);
		h_sleep_ms(50);
	}
	free(out);
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

/* The pid in a response body "... pid N ..."; -1 if none. */
static long
body_pid(const char *buf)
{
	const char	*p = strstr(buf, "pid ");

	return p != NULL ? strtol(p + 4, NULL, 10) : -1;
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

/* At least want reports with this prefix; the list of them. */
static struct h_report **
reports(const char *prefix, size_t want, size_t *n)
{
	struct h_report	**v;

	h_expect_reports(prefix, (int)want);
	*n = h_report_list(prefix, &v);
	return v;
}

/*
 * The inodes of the sockets listening on 127.0.0.1:port, from
 * /proc/net/tcp: their number.
 */
static int
listen_inodes(int port, unsigned long *ino, int max)
{
	FILE		*f;
	char		 line[512], local[64];
	unsigned	 st, lport;
	unsigned long	 inode;
	int		 n = 0;

	H_ASSERT((f = fopen("/proc/net/tcp", "r")) != NULL, "/proc/net/tcp: "
	    "%s", strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " %*d: %63s %*s %x %*s %*s %*s %*d %*d %lu",
		    local, &st, &inode) == 3 && st == 0x0a &&
		    sscanf(local, "%*x:%x", &lport) == 1 &&
		    (int)lport == port && n < max)
			ino[n++] = inode;
	fclose(f);
	return n;
}

/* Does the daemon hold a descriptor of socket inode ino? */
static int
daemon_holds(unsigned long ino)
{
	char		 dir[64], path[PATH_MAX], link[128], want[64];
	struct dirent	*de;
	DIR		*d;
	ssize_t		 n;
	int		 found = 0;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)h_daemon());
	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	H_ASSERT((d = opendir(dir)) != NULL, "%s: %s", dir, strerror(errno));
	while (!found && (de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return found;
}

/* The time (ms of the day) of the n-th log line with needle; -1. */
static long long
log_ms(const char *needle, int nth)
{
	char		*buf = h_read_file(h_log()), *line, *p;
	int		 h, m, s, ms, seen = 0;
	long long	 t = -1;

	for (line = buf; line != NULL && *line != '\0'; line = p) {
		if ((p = strchr(line, '\n')) != NULL)
			*p++ = '\0';
		if (strstr(line, needle) == NULL || ++seen != nth)
			continue;
		if (sscanf(line, "%*d-%*d-%*d %d:%d:%d.%d", &h, &m, &s,
		    &ms) == 4)
			t = ((h * 60LL + m) * 60 + s) * 1000 + ms;
		break;
	}
	free(buf);
	H_ASSERT(t != -1, "no line %d with \"%s\" in the log", nth, needle);
	return t;
}

/* The line number of the n-th log line with needle; fails if none. */
static int
log_line_no(const char *needle, int nth)
{
	char	*buf = h_read_file(h_log()), *line, *p;
	int	 no = 0, seen = 0, found = -1;

	for (line = buf; line != NULL && *line != '\0'; line = p) {
		if ((p = strchr(line, '\n')) != NULL)
			*p++ = '\0';
		no++;
		if (strstr(line, needle) != NULL && ++seen == nth) {
			found = no;
			break;
		}
	}
	free(buf);
	H_ASSERT(found != -1, "no line %d with \"%s\" in the log", nth,
	    needle);
	return found;
}

/* The pid of the newest report with this prefix; it must exist. */
static pid_t
newest_pid(const char *prefix)
{
	struct h_report	*r = h_newest_report(prefix);
	pid_t		 pid;

	H_ASSERT(r != NULL, "no report \"%s*\"", prefix);
	pid = r->r_pid;
	h_report_free(r);
	return pid;
}

/* Does the first log line with needle also hold what? */
static int
first_line_has(const char *needle, const char *what)
{
	char	*line = h_find_line(h_log(), needle);
	int	 yes = line != NULL && strstr(line, what) != NULL;

	free(line);
	return yes;
}

/* A report with this prefix of another worker than pid; must exist. */
static struct h_report *
report_not_of(const char *prefix, pid_t pid)
{
	struct h_report	**v, *r = NULL;
	size_t		  n, i;

	n = h_report_list(prefix, &v);
	for (i = 0; i < n; i++)
		if (v[i]->r_pid != pid && r == NULL)
			r = h_report_load(v[i]->r_path);
	h_report_list_free(v, n);
	H_ASSERT(r != NULL, "no report \"%s*\" but pid %ld's", prefix,
	    (long)pid);
	return r;
}

/* clusterd -t -c <this text>: exit status and stderr (malloc'd). */
static int
config_check(const char *text, char **err)
{
	const char	*argv[5];
	char		 conf[PATH_MAX];
	int		 st = -1;

	h_write_file(h_path("t.ini"), "%s", text);
	snprintf(conf, sizeof(conf), "%s", h_path("t.ini"));
	argv[0] = getenv("CLUSTERD_BIN");
	argv[1] = "-t";
	argv[2] = "-c";
	argv[3] = conf;
	argv[4] = NULL;
	H_ASSERT(argv[0] != NULL, "CLUSTERD_BIN is not set");
	H_ASSERT(h_run(argv, NULL, WAIT, &st, NULL, err), "-t hung");
	H_ASSERT(WIFEXITED(st), "-t: wait status 0x%x", st);
	return WEXITSTATUS(st);
}

/* A self-signed certificate and key in the test's directory. */
static void
make_cert(void)
{
	const char	*gen[] = { "/usr/bin/openssl", "req", "-x509",
			    "-newkey", "ec",
			    "-pkeyopt", "ec_paramgen_curve:prime256v1",
			    "-nodes", "-days", "1", "-subj", "/CN=localhost",
			    "-keyout", NULL, "-out", NULL, NULL };
	char		 key[PATH_MAX], cert[PATH_MAX];
	int		 st = -1;

	snprintf(key, sizeof(key), "%s", h_path("key.pem"));
	snprintf(cert, sizeof(cert), "%s", h_path("cert.pem"));
	gen[13] = key;
	gen[15] = cert;
	H_ASSERT(h_run(gen, NULL, WAIT, &st, NULL, NULL) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "openssl req: wait status 0x%x", st);
}

/*
 * A load loop: nconn HTTP/1.1 requests in flight at any time, each on a
 * connection of its own (Connection: close), non-blocking sockets and
 * poll(2).  A request is ok (a whole 200 response naming a pid, then
 * EOF), a connection error, or a failure (reset, truncated, or no answer
 * within LOAD_REQ_MS).
 */
#define LOAD_CONNS	8
#define LOAD_REQ_MS	5000

struct lconn {
	int		 lc_fd;		/* -1: idle */
	int		 lc_sent;
	size_t		 lc_len;
	long long	 lc_deadline;
	char		 lc_buf[512];
};

struct load {
	int		 ld_port;
	long		 ld_ok;
	long		 ld_failed;
	long		 ld_connect_err;
	char		 ld_why[256];	/* the first failure */
	struct lconn	 ld_conns[LOAD_CONNS];
};

static void
load_init(struct load *ld, int port)
{
	int	i;

	memset(ld, 0, sizeof(*ld));
	ld->ld_port = port;
	for (i = 0; i < LOAD_CONNS; i++)
		ld->ld_conns[i].lc_fd = -1;
}

static void
load_end(struct load *ld, struct lconn *c, long *counter, const char *why,
    int err)
{
	if (counter != NULL)
		(*counter)++;
	if (counter != NULL && ld->ld_why[0] == '\0')
		snprintf(ld->ld_why, sizeof(ld->ld_why), "%s%s%s (%zu bytes: "
		    "\"%.60s\")", why, err ? ": " : "",
		    err ? strerror(err) : "", c->lc_len, c->lc_buf);
	close(c->lc_fd);
	c->lc_fd = -1;
}

static void
load_begin(struct load *ld, struct lconn *c)
{
	struct sockaddr_in	sin;

	memset(c, 0, sizeof(*c));
	c->lc_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	H_ASSERT(c->lc_fd != -1, "socket: %s", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)ld->ld_port);
	c->lc_deadline = h_now_ms() + LOAD_REQ_MS;
	if (connect(c->lc_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS)
		load_end(ld, c, &ld->ld_connect_err, "connect", errno);
}

/* The socket is writable (connected) or readable. */
static void
load_step(struct load *ld, struct lconn *c)
{
	int		err = 0;
	socklen_t	len = sizeof(err);
	ssize_t		n;

	if (!c->lc_sent) {
		if (getsockopt(c->lc_fd, SOL_SOCKET, SO_ERROR, &err, &len) ==
		    -1 || err != 0) {
			load_end(ld, c, &ld->ld_connect_err, "connect", err);
			return;
		}
		n = send(c->lc_fd, http_get, sizeof(http_get) - 1,
		    MSG_NOSIGNAL);
		if (n != (ssize_t)sizeof(http_get) - 1) {
			load_end(ld, c, &ld->ld_failed, "send", errno);
			return;
		}
		c->lc_sent = 1;
		return;
	}
	n = read(c->lc_fd, c->lc_buf + c->lc_len, sizeof(c->lc_buf) - 1 -
	    c->lc_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		load_end(ld, c, &ld->ld_failed, "read", errno);
		return;
	}
	c->lc_len += (size_t)n;
	c->lc_buf[c->lc_len] = '\0';
	if (n > 0 && c->lc_len < sizeof(c->lc_buf) - 1)
		return;
	if (strncmp(c->lc_buf, "HTTP/1.1 200 ", 13) != 0 ||
	    strstr(c->lc_buf, "\r\n\r\npid ") == NULL ||
	    c->lc_buf[c->lc_len - 1] != '\n') {
		load_end(ld, c, &ld->ld_failed, "bad or truncated response",
		    0);
		return;
	}
	ld->ld_ok++;
	load_end(ld, c, NULL, NULL, 0);
}

/* One turn of at most ms; draining: start nothing new.  In flight. */
static int
load_turn(struct load *ld, int draining, int ms)
{
	struct pollfd	 pfd[LOAD_CONNS];
	struct lconn	*c;
	int		 i, busy = 0;

	for (i = 0; i < LOAD_CONNS; i++) {
		c = &ld->ld_conns[i];
		if (c->lc_fd == -1 && !draining)
			load_begin(ld, c);
		if (c->lc_fd != -1 && h_now_ms() >= c->lc_deadline)
			load_end(ld, c, &ld->ld_failed, "no answer in time",
			    0);
		pfd[i].fd = c->lc_fd;
		pfd[i].events = c->lc_sent ? POLLIN : POLLOUT;
		pfd[i].revents = 0;
		busy += c->lc_fd != -1;
	}
	if (busy == 0 || poll(pfd, LOAD_CONNS, ms) <= 0)
		return busy;
	busy = 0;
	for (i = 0; i < LOAD_CONNS; i++) {
		c = &ld->ld_conns[i];
		if (pfd[i].revents != 0 && c->lc_fd != -1)
			load_step(ld, c);
		busy += c->lc_fd != -1;
	}
	return busy;
}

static void
load_drain(struct load *ld)
{
	long long	end = h_now_ms() + LOAD_REQ_MS + 1000;

	while (load_turn(ld, 1, 20) > 0 && h_now_ms() < end)
		;
}

/*
 * node-cluster: Node apps run unchanged.
 */

/* The classic cluster example, as shipped: its primary branch not run. */
START_TEST(test_cluster_example)
{
	int	 port = h_free_port(), i;
	char	 buf[4096], *err = NULL, *conf;

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node-cluster]\n"
	    "command = node %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "env = PORT=%d\n", port, src("examples/node/cluster-app.js"), port);
	start();
	h_log_for("started: node-cluster: 2/2 ready", 1);
	for (i = 0; i < 4; i++) {
		H_ASSERT(h_request_tcp(port, http_get, buf, sizeof(buf),
		    WAIT) > 0 && strncmp(buf, "HTTP/1.1 200", 12) == 0 &&
		    strstr(buf, "hello from worker ") != NULL,
		    "cluster-app.js: \"%s\"", buf);
	}
	H_ASSERT(h_wait_text(h_out(), " started\n", 2, WAIT), "\"worker PID "
	    "started\" x2 not on stdout");
	H_ASSERT(h_count_in_file(h_out(), "primary ") == 0 &&
	    h_count_in_file(h_out(), " died") == 0, "the primary branch ran");
	h_stop_daemon();
	/* and its configuration file, as shipped, is valid */
	conf = h_read_file(src("conf/node-cluster.ini"));
	H_ASSERT(conf != NULL, "conf/node-cluster.ini");
	H_ASSERT(config_check(conf, &err) == 0, "clusterd -t "
	    "conf/node-cluster.ini: %s", err != NULL ? err : "");
	free(conf);
	free(err);
}
END_TEST

/* A plain http.createServer().listen(PORT) app, 2 workers on one port. */
START_TEST(test_plain_example)
{
	int	 port = h_free_port(), i;
	char	 buf[4096], *err = NULL, *conf;

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node-plain]\n"
	    "command = node %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "env = PORT=%d\n", port, src("examples/node/plain-app.js"), port);
	start();
	h_log_for("started: node-plain: 2/2 ready", 1);
	for (i = 0; i < 4; i++)
		H_ASSERT(h_request_tcp(port, http_get, buf, sizeof(buf),
		    WAIT) > 0 && strstr(buf, "hello from pid ") != NULL,
		    "plain-app.js: \"%s\"", buf);
	H_ASSERT(h_count_log("EADDRINUSE") == 0 &&
	    h_count_in_file(h_out(), "EADDRINUSE") == 0, "EADDRINUSE");
	H_ASSERT(h_count_log("exited") == 0, "a worker exited");
	h_stop_daemon();
	conf = h_read_file(src("conf/node-plain.ini"));
	H_ASSERT(conf != NULL, "conf/node-plain.ini");
	H_ASSERT(config_check(conf, &err) == 0, "clusterd -t "
	    "conf/node-plain.ini: %s", err != NULL ? err : "");
	free(conf);
	free(err);
}
END_TEST

/*
 * Every worker is a cluster worker with its own id, and serves the very
 * socket clusterd bound and holds (the same inode).
 */
START_TEST(test_cluster_workers)
{
	struct h_report	**v;
	unsigned long	  ino[4];
	int		  port = h_free_port(), seen[4] = { 0 }, id;
	size_t		  n, i;
	char		  want[64];

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "workers = 3\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "env = LISTEN=%d\n", port, src("tests/workers/node-app.js"), port);
	start();
	v = reports("node.", 3, &n);
	H_ASSERT(n == 3, "%zu reports", n);
	H_ASSERT(listen_inodes(port, ino, 4) == 1, "%d sockets listen on %d",
	    listen_inodes(port, ino, 4), port);
	H_ASSERT(daemon_holds(ino[0]), "clusterd does not hold socket %lu",
	    ino[0]);
	snprintf(want, sizeof(want), "%lu", ino[0]);
	for (i = 0; i < n; i++) {
		h_assert_key(v[i], "is_worker", "1");
		h_assert_key(v[i], "is_primary", "0");
		h_assert_key(v[i], "unique_id_left", "0");
		h_assert_key(v[i], "listen0", "ok");
		h_assert_key(v[i], "inode0", want);
		id = atoi(h_report_get(v[i], "worker_id"));
		H_ASSERT(id >= 1 && id <= 3 && !seen[id], "worker id %d", id);
		seen[id] = 1;
		H_ASSERT(id == atoi(h_report_get(v[i], "app_instance")) + 1,
		    "worker id %d, NODE_APP_INSTANCE %s", id,
		    h_report_get(v[i], "app_instance"));
	}
	h_report_list_free(v, n);
	snprintf(want, sizeof(want), "listen(%d) gets socket web", port);
	h_log_for(want, 3);
	h_log_for("started: node: 3/3 ready", 1);
	H_ASSERT(get_ok(port, "/", NULL, 0), "no answer on %d", port);
	h_stop_daemon();
}
END_TEST

/*
 * reuseport = yes: each worker serves its slot's own socket (one inode
 * per slot, all clusterd's), and connections spread over the workers.
 */
START_TEST(test_reuseport_spreads)
{
	struct h_report	**v;
	unsigned long	  ino[4], wi;
	long		  pid, pids[2] = { 0, 0 };
	int		  port = h_free_port(), hits[2] = { 0, 0 }, i, k;
	size_t		  n, j;
	char		  buf[4096];

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "reuseport = yes\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "env = LISTEN=%d\n", port, src("tests/workers/node-app.js"), port);
	start();
	v = reports("node.", 2, &n);
	H_ASSERT(listen_inodes(port, ino, 4) == 2, "%d sockets listen on %d",
	    listen_inodes(port, ino, 4), port);
	for (k = 0; k < 2; k++)
		H_ASSERT(daemon_holds(ino[k]), "clusterd does not hold %lu",
		    ino[k]);
	for (j = 0; j < n; j++) {
		wi = strtoul(h_report_get(v[j], "inode0"), NULL, 10);
		H_ASSERT(wi == ino[0] || wi == ino[1], "worker %zu serves "
		    "socket %lu, not one of clusterd's", j, wi);
		pids[j] = (long)v[j]->r_pid;
	}
	H_ASSERT(strcmp(h_report_get(v[0], "inode0"),
	    h_report_get(v[1], "inode0")) != 0, "both serve one socket");
	h_report_list_free(v, n);
	h_log_for("started: node: 2/2 ready", 1);
	for (i = 0; i < 40; i++) {
		H_ASSERT(get_ok(port, "/", buf, sizeof(buf)), "request %d: %s",
		    i, buf);
		pid = body_pid(buf);
		for (k = 0; k < 2; k++)
			hits[k] += pid == pids[k];
	}
	H_ASSERT(hits[0] > 0 && hits[1] > 0 && hits[0] + hits[1] == 40,
	    "40 requests: %d and %d", hits[0], hits[1]);
	h_stop_daemon();
}
END_TEST

/* listen(PORT, HOST), listen(PATH) and listen({fd: N}) all match. */
START_TEST(test_unix_host_fd)
{
	struct h_report	**v;
	int		  port = h_free_port();
	size_t		  n;
	char		  buf[4096], sock[PATH_MAX];

	snprintf(sock, sizeof(sock), "%s", h_path("api.sock"));
	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[socket:api]\n"
	    "listen = unix:%s\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "sockets = web, api\n"
	    "ipc = node-cluster\n"
	    "env = LISTEN=127.0.0.1:%d,%s,fd:4\n", port, sock,
	    src("tests/workers/node-app.js"), port, sock);
	start();
	v = reports("node.", 1, &n);
	h_assert_key(v[0], "listen0", "ok");
	h_assert_key(v[0], "listen1", "ok");
	h_assert_key(v[0], "port1", "-1");
	h_assert_key(v[0], "listen2", "ok");
	H_ASSERT(strcmp(h_report_get(v[0], "inode1"),
	    h_report_get(v[0], "inode2")) == 0, "listen(PATH) and listen({fd: "
	    "4}) got different sockets");
	H_ASSERT(daemon_holds(strtoul(h_report_get(v[0], "inode1"), NULL,
	    10)), "the unix socket is not clusterd's");
	h_report_list_free(v, n);
	h_log_for("gets socket api", 2);
	H_ASSERT(get_ok(port, "/", NULL, 0), "no answer on %d", port);
	H_ASSERT(h_request_unix(sock, http_get, buf, sizeof(buf), WAIT) > 0 &&
	    strstr(buf, "pid ") != NULL, "no answer on %s: \"%s\"", sock, buf);
	h_stop_daemon();
}
END_TEST

/*
 * https: Node sends its TLS ticket keys with the query and reads them
 * back from the reply, from a refused one too (null there would crash the
 * worker); the workers serve TLS.
 */
START_TEST(test_https)
{
	struct h_report	**v;
	int		  port = h_free_port(), other = h_free_port(), st = -1;
	int		  conns = 0, ok = 0, reused = 0, workers = 0, got;
	size_t		  n, i;
	char		  py[1536], *out = NULL;
	const char	 *client[] = { PYTHON, "-c", py, NULL };

	make_cert();
	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "env = LISTEN=%d,%d\n"
	    "env = TLS_CERT=%s\n"
	    "env = TLS_KEY=%s\n", port, src("tests/workers/node-app.js"), port,
	    other, h_path("cert.pem"), h_path("key.pem"));
	start();
	v = reports("node.", 2, &n);
	for (i = 0; i < n; i++) {
		h_assert_key(v[i], "listen0", "ok");
		h_assert_key(v[i], "listen1", "EADDRNOTAVAIL");
	}
	h_report_list_free(v, n);
	h_log_for("started: node: 2/2 ready", 1);
	/*
	 * TLS 1.2 sessions, each resumed on the next connection, until both
	 * workers have served (the kernel picks the one that accepts).
	 */
	snprintf(py, sizeof(py), "import socket, ssl\n"
	    "c = ssl._create_unverified_context()\n"
	    "c.maximum_version = ssl.TLSVersion.TLSv1_2\n"
	    "sess, pids, n, ok, reused = None, set(), 0, 0, 0\n"
	    "while n < 6 or (len(pids) < 2 and n < 200):\n"
	    "    s = c.wrap_socket(socket.create_connection(('127.0.0.1', "
	    "%d)), session=sess)\n"
	    "    n += 1\n"
	    "    reused += s.session_reused\n"
	    "    sess = s.session\n"
	    "    s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: "
	    "close\\r\\n\\r\\n')\n"
	    "    r = b''\n"
	    "    while True:\n"
	    "        d = s.recv(4096)\n"
	    "        if not d:\n"
	    "            break\n"
	    "        r += d\n"
	    "    ok += r.startswith(b'HTTP/1.1 200')\n"
	    "    pids.add(r.split(b'pid ')[1].split()[0])\n"
	    "print('connections', n, 'ok', ok, 'reused', reused + 1, "
	    "'workers', len(pids))\n", port);
	H_ASSERT(h_run(client, NULL, WAIT, &st, &out, NULL) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "TLS client: wait status 0x%x: %s", st,
	    out != NULL ? out : "");
	got = sscanf(out, "connections %d ok %d reused %d workers %d", &conns,
	    &ok, &reused, &workers);
	H_ASSERT(got == 4, "TLS client said: %s", out);
	H_ASSERT(ok == conns, "TLS answers: %s", out);
	H_ASSERT(workers == 2, "one worker served all: %s", out);
	/* One set of ticket keys: a session resumes on either worker. */
	H_ASSERT(reused == conns, "TLS sessions: %s", out);
	free(out);
	H_ASSERT(h_count_log("exited") == 0, "a worker exited");
	h_stop_daemon();
}
END_TEST

/*
 * The shared ticket keys outlive an upgrade: a session from a worker the
 * old image started resumes on one the new image started.  The client
 * does the upgrade (SIGUSR2) and the crash between its two connections,
 * as a session cannot leave the process that made it.
 */
START_TEST(test_https_upgrade)
{
	struct h_report	 *r;
	int		  port = h_free_port(), st = -1;
	char		  py[2048], *out = NULL;
	const char	 *client[] = { PYTHON, "-c", py, NULL };

	make_cert();
	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "env = LISTEN=%d\n"
	    "env = TLS_CERT=%s\n"
	    "env = TLS_KEY=%s\n", port, src("tests/workers/node-app.js"), port,
	    h_path("cert.pem"), h_path("key.pem"));
	start();
	r = h_report_wait("node.", WAIT);
	H_ASSERT(r != NULL, "no report from the worker");
	h_log_for("started: node: 1/1 ready", 1);
	snprintf(py, sizeof(py), "import os, signal, socket, ssl, time\n"
	    "c = ssl._create_unverified_context()\n"
	    "c.maximum_version = ssl.TLSVersion.TLSv1_2\n"
	    "def get(sess):\n"
	    "    s = c.wrap_socket(socket.create_connection(('127.0.0.1', "
	    "%d)), session=sess)\n"
	    "    s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: "
	    "close\\r\\n\\r\\n')\n"
	    "    r = b''\n"
	    "    while True:\n"
	    "        d = s.recv(4096)\n"
	    "        if not d:\n"
	    "            break\n"
	    "        r += d\n"
	    "    return s.session, s.session_reused, "
	    "r.split(b'pid ')[1].split()[0].decode()\n"
	    "def log_has(text):\n"
	    "    return text in open('%s', errors='replace').read()\n"
	    "def until(cond):\n"
	    "    end = time.monotonic() + 10\n"
	    "    while not cond():\n"
	    "        if time.monotonic() > end:\n"
	    "            raise SystemExit('timed out')\n"
	    "        time.sleep(0.02)\n"
	    "sess, _, old = get(None)\n"
	    "os.kill(%ld, signal.SIGUSR2)\n"
	    "until(lambda: log_has('upgraded: '))\n"
	    "os.kill(int(old), signal.SIGKILL)\n"
	    "def served():\n"
	    "    global reused, new\n"
	    "    try:\n"
	    "        _, reused, new = get(sess)\n"
	    "    except (OSError, IndexError):\n"
	    "        return False\n"
	    "    return new != old\n"
	    "until(served)\n"
	    "print('old', old, 'new', new, 'reused' if reused else 'full')\n",
	    port, h_log(), (long)h_daemon());
	h_report_free(r);
	H_ASSERT(h_run(client, NULL, WAIT, &st, &out, NULL) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "TLS client: wait status 0x%x: %s", st,
	    out != NULL ? out : "");
	H_ASSERT(strstr(out, " reused") != NULL, "TLS session: %s", out);
	free(out);
	h_stop_daemon();
}
END_TEST

/*
 * A listen() on a port nobody configured: the app gets EADDRNOTAVAIL, the
 * log names the program, the request and its sockets, and nothing spins:
 * an app that goes on serving its other server is not restarted, and one
 * that dies of it (plain-app.js: no 'error' handler) is restarted with
 * growing delays.
 */
START_TEST(test_unconfigured_port)
{
	struct h_report	**v;
	int		  port = h_free_port(), other = h_free_port(), i;
	size_t		  n;
	char		  want[256];
	static const char *delays[] = { "100ms", "200ms", "400ms", "800ms" };

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "env = LISTEN=%d,%d\n"
	    "[program:wrong]\n"
	    "command = node %s\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "stderr = null\n"
	    "env = PORT=%d\n", port, src("tests/workers/node-app.js"), port,
	    other, src("examples/node/plain-app.js"), other);
	start();
	v = reports("node.", 1, &n);
	h_assert_key(v[0], "listen0", "ok");
	h_assert_key(v[0], "listen1", "EADDRNOTAVAIL");
	h_report_list_free(v, n);
	snprintf(want, sizeof(want), "node[0] (pid %ld): listen(%d) matches "
	    "none of the program's sockets: web (127.0.0.1:%d, fd 3)",
	    (long)newest_pid("node."), other, port);
	h_log_for(want, 1);
	snprintf(want, sizeof(want), "): listen(%d) matches none of the "
	    "program's sockets: web (127.0.0.1:%d, fd 3)", other, port);
	/* the one that dies of it backs off: 100, 200, 400, 800 ms */
	for (i = 0; i < 4; i++) {
		snprintf(want, sizeof(want), "exited with status 1 after");
		h_log_for(want, i + 1);
		snprintf(want, sizeof(want), "; restarting in %s", delays[i]);
		H_ASSERT(log_line_no(want, 1) == log_line_no("exited with "
		    "status 1 after", i + 1), "restart %d is not \"%s\"",
		    i + 1, want);
	}
	H_ASSERT(h_count_log("wrong[0] started") <= 5, "%d starts of wrong",
	    h_count_log("wrong[0] started"));
	H_ASSERT(h_count_log("node[0] started") == 1 &&
	    h_count_log("node[0] (pid") == 3, "node[0] was restarted or "
	    "logged more than its two listens and its readiness");
	H_ASSERT(get_ok(port, "/", NULL, 0), "no answer on %d", port);
	h_stop_daemon();
}
END_TEST

/*
 * ready = listening gates a rolling restart: each new worker counts as up
 * when its server listens (1 s after its start here, though min_uptime is
 * 300 ms), and only then is the old one stopped and the next slot begun.
 */
START_TEST(test_listening_gates_roll)
{
	static const char conf[] =
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "min_uptime = 300ms\n"
	    "env = LISTEN=%d\n"
	    "env = SERVE_AFTER_MS=%d\n";
	int		 port = h_free_port(), s;
	long long	 t_start, t_ready, t_next;
	pid_t		 old[2], cur[2];
	char		 want[128], ready[128];
	struct h_report	*r;

	h_write_config(conf, port, src("tests/workers/node-app.js"), port, 0);
	start();
	h_expect_reports("node.0.", 1);
	h_expect_reports("node.1.", 1);
	old[0] = newest_pid("node.0.");
	old[1] = newest_pid("node.1.");
	h_log_for("started: node: 2/2 ready", 1);
	h_write_config(conf, port, src("tests/workers/node-app.js"), port,
	    1000);
	H_ASSERT(h_signal(SIGHUP) == 0, "SIGHUP");
	h_log_for("reload done: node: 2/2 ready", 1);
	for (s = 0; s < 2; s++) {
		snprintf(want, sizeof(want), "node.%d.", s);
		H_ASSERT(h_wait_reports(want, 2, WAIT), "slot %d: no new "
		    "report", s);
		r = h_newest_report(want);
		cur[s] = r->r_pid;
		h_report_free(r);
		snprintf(want, sizeof(want), "node[%d] started (pid %ld)", s,
		    (long)cur[s]);
		t_start = log_ms(want, 1);
		snprintf(ready, sizeof(ready), "node[%d] (pid %ld) is ready", s,
		    (long)cur[s]);
		t_ready = log_ms(ready, 1);
		H_ASSERT(t_ready - t_start >= 950, "slot %d ready %lld ms "
		    "after its start, before it listened", s,
		    t_ready - t_start);
		snprintf(want, sizeof(want), "node[%d] (pid %ld): listen(%d) "
		    "gets socket web", s, (long)cur[s], port);
		H_ASSERT(log_line_no(want, 1) < log_line_no(ready, 1),
		    "slot %d ready before its listen", s);
		snprintf(want, sizeof(want), "node[%d] (pid %ld) exited", s,
		    (long)old[s]);
		h_log_for(want, 1);
		H_ASSERT(log_line_no(want, 1) > log_line_no(ready, 1),
		    "old worker %ld of slot %d stopped before its replacement "
		    "listened", (long)old[s], s);
		if (s == 0) {
			t_next = log_ms("node[1] started", 2);
			H_ASSERT(t_next >= t_ready, "slot 1 began before slot "
			    "0's new worker listened");
		}
	}
	H_ASSERT(get_ok(port, "/", NULL, 0), "no answer on %d", port);
	h_stop_daemon();
}
END_TEST

/*
 * Three rolling restarts of Node workers under load, each connection
 * closed after its response: not one request fails or is refused.
 */
static void
reload_under_load(const char *reuseport)
{
	struct load	*ld;
	long long	 end, next_look = 0, quiet_until = 0;
	int		 port = h_free_port(), sent = 0;

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "reuseport = %s\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "stdout = null\n"
	    "env = LISTEN=%d\n", port, reuseport,
	    src("tests/workers/node-app.js"), port);
	start();
	h_log_for("started: node: 2/2 ready", 1);
	H_ASSERT((ld = malloc(sizeof(*ld))) != NULL, "malloc");
	load_init(ld, port);
	end = h_now_ms() + 25000;
	while (h_now_ms() < end) {
		load_turn(ld, 0, 10);
		if (h_now_ms() < next_look)
			continue;
		next_look = h_now_ms() + 50;
		if (h_count_log("reload done") < sent)
			continue;
		if (quiet_until == 0)
			quiet_until = h_now_ms() + 300;
		if (h_now_ms() < quiet_until)
			continue;
		if (sent == 3)
			break;
		H_ASSERT(h_signal(SIGHUP) == 0, "SIGHUP");
		sent++;
		quiet_until = 0;
	}
	load_drain(ld);
	H_ASSERT(h_count_log("reload done: node: 2/2 ready") == 3, "%d "
	    "reloads done of 3", h_count_log("reload done"));
	H_ASSERT(ld->ld_connect_err == 0 && ld->ld_failed == 0, "%ld ok, "
	    "%ld connection errors, %ld failed requests; first: %s",
	    ld->ld_ok, ld->ld_connect_err, ld->ld_failed, ld->ld_why);
	H_ASSERT(ld->ld_ok > 100, "only %ld requests made", ld->ld_ok);
	H_ASSERT(h_count_log("exited with status 0") == 6, "%d clean exits "
	    "of 6 old workers", h_count_log("exited with status 0"));
	H_ASSERT(h_count_log("SIGKILL") == 0, "a worker was killed");
	free(ld);
	h_stop_daemon();
}

START_TEST(test_reload_under_load)
{
	reload_under_load("no");
}
END_TEST

START_TEST(test_reload_under_load_reuseport)
{
	reload_under_load("yes");
}
END_TEST

/*
 * SIGTERM: the workers get Node's disconnect, finish the request they
 * have, and exit by themselves, long before stop_timeout (30 s).
 */
START_TEST(test_sigterm_in_flight)
{
	int		 port = h_free_port(), fd[2], i, st = -1;
	char		 buf[4096];
	long long	 t0;

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "stop_timeout = 30s\n"
	    "env = LISTEN=%d\n", port, src("tests/workers/node-app.js"), port);
	start();
	h_log_for("started: node: 2/2 ready", 1);
	for (i = 0; i < 2; i++) {
		H_ASSERT((fd[i] = h_connect_tcp(port)) != -1, "connect");
		H_ASSERT(h_send(fd[i], "GET /slow?ms=1500 HTTP/1.1\r\n"
		    "Host: x\r\nConnection: close\r\n\r\n") == 0, "send");
	}
	H_ASSERT(h_wait_text(h_out(), "request /slow", 2, WAIT), "the "
	    "requests did not arrive");
	t0 = h_now_ms();
	H_ASSERT(h_signal(SIGTERM) == 0, "SIGTERM");
	for (i = 0; i < 2; i++) {
		H_ASSERT(h_recv_all(fd[i], buf, sizeof(buf), WAIT) > 0 &&
		    strncmp(buf, "HTTP/1.1 200", 12) == 0 &&
		    strstr(buf, "pid ") != NULL, "in-flight request %d: "
		    "\"%s\"", i, buf);
		close(fd[i]);
	}
	H_ASSERT(h_wait_exit(WAIT, &st) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "daemon wait status 0x%x", st);
	H_ASSERT(h_now_ms() - t0 < 8000, "stopping took %lld ms",
	    h_now_ms() - t0);
	H_ASSERT(h_now_ms() - t0 >= 1000, "stopped in %lld ms: the requests "
	    "were not waited for", h_now_ms() - t0);
	H_ASSERT(h_count_log("exited with status 0") == 2, "clean exits");
	H_ASSERT(h_count_log("SIGKILL") == 0, "a worker was killed");
	h_assert_no_leftovers();
}
END_TEST

/*
 * cluster.worker.disconnect(): the worker leaves by itself and is
 * replaced once, as a suicide (even with restart = on-failure), its exit
 * not counted as a crash.
 */
START_TEST(test_worker_disconnect_once)
{
	int		 port = h_free_port();
	char		 buf[4096], *out = NULL;
	long		 first;

	h_write_config(
	    "%s"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "restart = on-failure\n"
	    "env = LISTEN=%d\n", control(), port,
	    src("tests/workers/node-app.js"), port);
	start();
	h_log_for("started: node: 1/1 ready", 1);
	H_ASSERT(get_ok(port, "/disconnect", buf, sizeof(buf)), "/disconnect:"
	    " \"%s\"", buf);
	first = body_pid(buf);
	h_log_for("leaves by itself (cluster.worker.disconnect)", 1);
	h_log_for("exited with status 0", 1);
	h_log_for(") is ready", 2);
	H_ASSERT(get_ok(port, "/", buf, sizeof(buf)) && body_pid(buf) !=
	    first, "the replacement does not serve: \"%s\"", buf);
	h_sleep_ms(500);
	H_ASSERT(h_count_log("leaves by itself") == 1, "announced %d times",
	    h_count_log("leaves by itself"));
	H_ASSERT(h_count_log("node[0] started") == 2, "%d starts",
	    h_count_log("node[0] started"));
	H_ASSERT(h_count_log("restarting") == 0 && h_count_log("not "
	    "restarting") == 0, "its exit was taken as a crash");
	H_ASSERT(ctl(&out, "status", NULL) == 0, "clusterctl status");
	H_ASSERT(strstr(out, "node: 1/1 ready") != NULL, "status: %s", out);
	free(out);
	h_stop_daemon();
}
END_TEST

/* A worker that crashes (exit 3 in a request) is restarted. */
START_TEST(test_crash_restarted)
{
	int	port = h_free_port(), fd;
	char	buf[4096];

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "min_uptime = 200ms\n"
	    "env = LISTEN=%d\n", port, src("tests/workers/node-app.js"), port);
	start();
	h_log_for("started: node: 1/1 ready", 1);
	h_sleep_ms(250);	/* past min_uptime: restarted at once */
	H_ASSERT((fd = h_connect_tcp(port)) != -1, "connect");
	H_ASSERT(h_send(fd, "GET /crash HTTP/1.1\r\nHost: x\r\n\r\n") == 0,
	    "send");
	(void)h_recv_all(fd, buf, sizeof(buf), WAIT);
	close(fd);
	h_log_for("exited with status 3 after", 1);
	H_ASSERT(h_count_log("exited with status 3") == h_count_log("; "
	    "restarting now"), "not restarted at once");
	h_log_for(") is ready", 2);
	h_expect_reports("node.0.", 2);
	H_ASSERT(get_ok(port, "/", NULL, 0), "the new worker does not serve");
	h_stop_daemon();
}
END_TEST

/*
 * A worker that loses its channel (process.disconnect(): Node then exits
 * 0 at once) has failed: restarted even with restart = on-failure.
 */
START_TEST(test_lost_channel_is_failure)
{
	int	port = h_free_port();
	char	buf[4096];

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "restart = on-failure\n"
	    "min_uptime = 200ms\n"
	    "env = LISTEN=%d\n", port, src("tests/workers/node-app.js"), port);
	start();
	h_log_for("started: node: 1/1 ready", 1);
	h_sleep_ms(250);
	H_ASSERT(get_ok(port, "/lose", buf, sizeof(buf)), "/lose: \"%s\"",
	    buf);
	h_log_for("exited with status 0 after", 1);
	H_ASSERT(h_count_log("not restarting") == 0, "a worker without its "
	    "channel was taken for a clean exit");
	h_log_for(") is ready", 2);
	H_ASSERT(get_ok(port, "/", NULL, 0), "the new worker does not serve");
	h_stop_daemon();
}
END_TEST

/*
 * The app's own process.send() messages are read as on any channel:
 * process.send('ready') (PM2's) with ready = message makes it ready.
 */
START_TEST(test_app_ready_message)
{
	int	port = h_free_port();
	char	want[64];

	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "ready = message\n"
	    "env = LISTEN=%d\n", port, src("tests/workers/node-app.js"), port);
	start();
	snprintf(want, sizeof(want), "listen(%d) gets socket web", port);
	h_log_for(want, 1);
	H_ASSERT(get_ok(port, "/", NULL, 0), "no answer on %d", port);
	H_ASSERT(h_count_log("is ready") == 0, "ready before it said so");
	H_ASSERT(get_ok(port, "/send?msg=ready", NULL, 0), "/send");
	h_log_for("node[0] (pid", 2);
	h_log_for("started: node: 1/1 ready", 1);
	h_stop_daemon();
}
END_TEST

/*
 * A worker out of descriptors (limit_nofile) gets the handle's line
 * without the socket and answers NODE_HANDLE_NACK: clusterd sends it 3
 * more times, then an EMFILE reply, which the app sees; it goes on.
 */
START_TEST(test_nacked_handle)
{
	struct h_report	**v;
	int		  port = h_free_port();
	size_t		  n;

	h_write_config(
	    "[clusterd]\n"
	    "log_level = debug\n"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:node]\n"
	    "command = node %s\n"
	    "sockets = web\n"
	    "ipc = node-cluster\n"
	    "ready_timeout = 60s\n"
	    "limit_nofile = 64\n"
	    "env = LISTEN=%d\n"
	    "env = EXHAUST_FDS=1\n", port, src("tests/workers/node-app.js"),
	    port);
	start();
	v = reports("node.", 1, &n);
	h_assert_key(v[0], "listen0", "EMFILE");
	h_report_list_free(v, n);
	h_log_for("did not receive its server handle: sending it again (3 of "
	    "3)", 1);
	H_ASSERT(h_count_log("did not receive its server handle: sending it "
	    "again") == 3, "%d resends", h_count_log("sending it again"));
	H_ASSERT(h_count_log("node[0] started") == 1 &&
	    h_count_log("exited") == 0, "the worker did not survive it");
	H_ASSERT(h_daemon_alive(), "the daemon died");
	h_stop_daemon();
}
END_TEST

/* clusterd -t: the Node keys and variables need ipc = node-cluster. */
START_TEST(test_check_rejects)
{
	static const struct {
		const char	*conf;
		const char	*msg;
	} cases[] = {
		{ "[program:web]\ncommand = node app.js\n"
		  "env = NODE_UNIQUE_ID=1\n",
		  "t.ini:3: [program:web] env: NODE_UNIQUE_ID is set by "
		  "clusterd" },
		{ "[program:web]\ncommand = node app.js\nready = listening\n",
		  "t.ini:3: [program:web] ready: ready = listening needs "
		  "ipc = node-cluster" },
		{ "[program:web]\ncommand = node app.js\nipc = node\n"
		  "stop_signal = disconnect\n",
		  "t.ini:4: [program:web] stop_signal: disconnect needs "
		  "ipc = node-cluster" },
	};
	size_t	 i;
	char	*err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		H_ASSERT(config_check(cases[i].conf, &err) == 1, "case %zu "
		    "accepted", i);
		H_ASSERT(err != NULL && strstr(err, cases[i].msg) != NULL,
		    "case %zu: \"%s\", expected \"%s\"", i,
		    err != NULL ? err : "", cases[i].msg);
		free(err);
	}
	err = NULL;
	H_ASSERT(config_check("[program:web]\ncommand = node app.js\n"
	    "ipc = node-cluster\nready = listening\nstop_signal = "
	    "disconnect\n", &err) == 0, "node-cluster rejected: %s",
	    err != NULL ? err : "");
	free(err);
}
END_TEST

/*
 * ready = notify.
 */

/*
 * gunicorn as Debian ships it: ready when its arbiter says READY=1 on
 * the worker's own NOTIFY_SOCKET, its STATUS= in clusterctl status; it
 * serves clusterd's socket (LISTEN_FDS), and a rolling restart replaces
 * it with a new arbiter.
 */
START_TEST(test_gunicorn_notify)
{
	int		 port = h_free_port(), i;
	char		 buf[4096];

	h_write_config(
	    "%s"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:gunicorn]\n"
	    "command = gunicorn --workers 2 --graceful-timeout 5 "
	    "--log-level warning --chdir %s wsgi_app:app\n"
	    "sockets = web\n"
	    "ipc = none\n"
	    "ready = notify\n"
	    "min_uptime = 100ms\n"
	    "stop_timeout = 8s\n", control(), port, src("tests/workers"));
	start();
	h_log_for("started: gunicorn: 1/1 ready", 1);
	status_shows("Gunicorn arbiter booted");
	H_ASSERT(get_ok(port, "/", buf, sizeof(buf)), "gunicorn: \"%s\"",
	    buf);
	H_ASSERT(h_count_log("bad sd_notify") == 0 &&
	    h_count_log("foreign") == 0 && h_count_log("not in its "
	    "process group") == 0, "gunicorn's datagrams were not taken");
	H_ASSERT(h_signal(SIGHUP) == 0, "SIGHUP");
	h_log_for("reload done: gunicorn: 1/1 ready", 1);
	h_log_for("gunicorn[0] (pid", 3);	/* ready, old exits, new ready */
	for (i = 0; i < 3; i++)
		H_ASSERT(get_ok(port, "/", buf, sizeof(buf)), "after the "
		    "reload: \"%s\"", buf);
	H_ASSERT(h_count_log("SIGKILL") == 0, "gunicorn had to be killed");
	h_stop_daemon();
}
END_TEST

/*
 * The small sender: not ready before READY=1 (800 ms after its start,
 * min_uptime 100 ms), STATUS= shown by clusterctl, STOPPING=1 logged.
 */
START_TEST(test_notify_ready_status_stopping)
{
	long long	t_start, t_ready;
	char		*out = NULL;

	h_write_config(
	    "%s"
	    "[program:nt]\n"
	    "command = %s %s\n"
	    "workers = 2\n"
	    "ipc = none\n"
	    "ready = notify\n"
	    "min_uptime = 100ms\n"
	    "env = READY_AFTER_MS=800\n"
	    "env = STATUS=serving 42 \"requests\"\n", control(), PYTHON,
	    src("tests/workers/notify_worker.py"));
	start();
	h_log_for("started: nt: 2/2 ready", 1);
	t_start = log_ms("nt[0] started", 1);
	t_ready = log_ms("nt[0] (pid", 1);
	H_ASSERT(first_line_has("nt[0] (pid", "is ready"),
	    "nt[0]'s first line is not its readiness");
	H_ASSERT(t_ready - t_start >= 750, "ready %lld ms after the start, "
	    "before READY=1", t_ready - t_start);
	H_ASSERT(ctl(&out, "status", NULL) == 0, "clusterctl status");
	H_ASSERT(count(out, "serving 42 \"requests\"") == 2, "status:\n%s",
	    out);
	free(out);
	out = NULL;
	H_ASSERT(ctl(&out, "--json", "status") == 0, "clusterctl --json");
	H_ASSERT(count(out, "\"status\":\"serving 42 \\\"requests\\\"\"") ==
	    2, "--json status:\n%s", out);
	free(out);
	h_stop_daemon();
	H_ASSERT(h_count_log("says it is stopping (STOPPING=1)") == 2,
	    "STOPPING=1 logged %d times", h_count_log("says it is stopping"));
}
END_TEST

/*
 * WATCHDOG=1 is a heartbeat: a worker that sends it every 100 ms lives
 * (watchdog = 500ms); one that stops after 800 ms is killed and replaced.
 */
START_TEST(test_notify_watchdog)
{
	long long	d;
	const char	*py = PYTHON;

	h_write_config(
	    "[program:beat]\n"
	    "command = %s %s\n"
	    "ipc = none\n"
	    "ready = notify\n"
	    "watchdog = 500ms\n"
	    "env = WATCHDOG_MS=100\n"
	    "[program:quiet]\n"
	    "command = %s %s\n"
	    "ipc = none\n"
	    "ready = notify\n"
	    "watchdog = 500ms\n"
	    "min_uptime = 100ms\n"
	    "env = WATCHDOG_MS=100\n"
	    "env = WATCHDOG_FOR_MS=800\n", py,
	    src("tests/workers/notify_worker.py"), py,
	    src("tests/workers/notify_worker.py"));
	start();
	h_log_for("quiet[0] (pid", 1);
	h_log_for("sent no heartbeat for 500ms: SIGKILL", 1);
	d = log_ms("sent no heartbeat", 1) - log_ms("quiet[0] (pid", 1);
	H_ASSERT(d >= 1100 && d < 3000, "quiet was killed %lld ms after it "
	    "was ready (heartbeats for 800 ms, watchdog 500 ms)", d);
	H_ASSERT(first_line_has("sent no heartbeat", "quiet[0]"), "not quiet "
	    "was killed");
	h_log_for("quiet[0] started", 2);
	H_ASSERT(h_count_log("beat[0] started") == 1 &&
	    h_count_log("beat[0] (pid") == 1, "beat was killed or replaced");
	h_stop_daemon();
}
END_TEST

/*
 * Garbage, a flood and a stranger on a worker's NOTIFY_SOCKET: a few
 * lines logged, the rest counted silently; the stranger's READY=1 does
 * not count (never-ready worker killed at ready_timeout); the daemon
 * answers clusterctl throughout and the flooder's last STATUS= wins.
 */
START_TEST(test_notify_garbage_flood)
{
	char	*out = NULL, *line;

	h_write_config(
	    "%s"
	    "[program:flood]\n"
	    "command = %s %s\n"
	    "ipc = none\n"
	    "ready = notify\n"
	    "env = GARBAGE=200\n"
	    "env = FLOOD=3000\n"
	    "[program:stranger]\n"
	    "command = %s %s\n"
	    "ipc = none\n"
	    "ready = notify\n"
	    "ready_timeout = 1500ms\n"
	    "restart_delay = 5s\n"
	    "env = STRANGER=1\n"
	    "env = READY_AFTER_MS=-1\n", control(), PYTHON,
	    src("tests/workers/notify_worker.py"), PYTHON,
	    src("tests/workers/notify_worker.py"));
	start();
	h_log_for("control socket: listening", 1);
	H_ASSERT(ctl(&out, "status", NULL) == 0, "clusterctl during the "
	    "flood");
	free(out);
	status_shows("flood 2999");
	h_log_for("flood[0] (pid", 7);
	/* 5 datagrams logged, then one line for the rest, then ready */
	H_ASSERT(h_count_log("flood[0] (pid") == 7, "flood[0]: %d lines",
	    h_count_log("flood[0] (pid"));
	H_ASSERT(h_count_log("bad sd_notify datagram from pid") == 5 &&
	    h_count_log("further bad sd_notify datagrams are not logged") ==
	    1, "the garbage was not quieted");
	h_log_for("flood[0] (pid", 7);
	h_log_for("was not ready within 1.5s: SIGKILL", 1);
	line = h_find_line(h_log(), "not in its process group, dropped");
	H_ASSERT(line != NULL && strstr(line, "stranger[0] (pid") != NULL,
	    "the stranger's datagram: %s", line != NULL ? line : "(none)");
	free(line);
	line = h_find_line(h_log(), "was not ready within");
	H_ASSERT(strstr(line, "stranger[0]") != NULL, "not the stranger's "
	    "worker was killed: %s", line);
	free(line);
	H_ASSERT(h_count_log(") is ready") == 1 &&
	    h_count_log("flood[0] (pid") == 7, "%d workers ready, only flood "
	    "should be", h_count_log(") is ready"));
	h_stop_daemon();
}
END_TEST

/*
 * compat = einhorn, server-starter.
 */

/*
 * einhorn's variables read as its client library reads them, for each
 * of two workers with distinct EINHORN_CHILD_INDEX; worker:ack (JSON,
 * and the Ruby client's escaped YAML after which the socket is closed)
 * on EINHORN_SOCK_FD makes a worker ready with ready = message; no ack,
 * not ready.
 */
START_TEST(test_einhorn)
{
	struct h_report	**v, *r;
	pid_t		  first;
	int		  port = h_free_port(), idx[3] = { 0 }, i;
	size_t		  n, k;
	char		  sock[PATH_MAX], buf[512];
	const char	 *w = src("tests/workers/einhorn_worker.py");

	snprintf(sock, sizeof(sock), "%s", h_path("api.sock"));
	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[socket:api]\n"
	    "listen = unix:%s\n"
	    "[program:ej]\n"
	    "command = %s %s\n"
	    "workers = 2\n"
	    "sockets = web, api\n"
	    "compat = einhorn\n"
	    "ready = message\n"
	    "[program:ey]\n"
	    "command = %s %s\n"
	    "compat = einhorn\n"
	    "ready = message\n"
	    "env = ACK_FORM=yaml\n"
	    "env = ACK_CLOSE=1\n"
	    "[program:en]\n"
	    "command = %s %s\n"
	    "compat = einhorn\n"
	    "ready = message\n"
	    "ready_timeout = 1s\n"
	    "restart_delay = 5s\n"
	    "env = ACK_FORM=none\n", port, sock, PYTHON, w, PYTHON, w,
	    PYTHON, w);
	start();
	h_log_for("started: ej: 2/2 ready; ey: 1/1 ready; en: 0/1 ready", 1);
	v = reports("ej.", 2, &n);
	for (k = 0; k < n; k++) {
		h_assert_key(v[k], "is_worker", "1");
		h_assert_key(v[k], "fd_count", "2");
		h_assert_key(v[k], "fd0", "3");
		h_assert_key(v[k], "fd1", "4");
		i = atoi(h_report_get(v[k], "index"));
		H_ASSERT(i >= 0 && i < 2 && !idx[i], "index %d", i);
		idx[i] = 1;
	}
	h_report_list_free(v, n);
	r = h_report_wait("ej.0.", WAIT);
	H_ASSERT(r != NULL, "no report of ej[0]");
	first = r->r_pid;
	h_report_free(r);
	h_report_free(h_report_wait("ey.", WAIT));
	h_log_for("en[0] (pid", 1);
	h_log_for("was not ready within 1s: SIGKILL", 1);
	H_ASSERT(first_line_has("was not ready within", "en[0]"), "not the "
	    "worker without an ack was killed");
	H_ASSERT(h_count_log(") is ready") == 3, "%d ready",
	    h_count_log(") is ready"));
	H_ASSERT(h_count_log("bad IPC message") == 0, "an ack was not read");
	H_ASSERT(h_request_unix(sock, "hi\n", buf, sizeof(buf), WAIT) > 0 &&
	    strstr(buf, "socket 1 fd 4") != NULL, "api: \"%s\"", buf);
	/* a rolling restart: the new worker of slot 0 starts beside both */
	H_ASSERT(h_signal(SIGHUP) == 0, "SIGHUP");
	h_log_for("reload done: ej: 2/2 ready", 1);
	H_ASSERT(h_wait_reports("ej.0.", 2, WAIT), "no new ej[0]");
	r = report_not_of("ej.0.", first);
	h_assert_key(r, "index", "2");
	h_report_free(r);
	h_stop_daemon();
}
END_TEST

/*
 * Server::Starter's SERVER_STARTER_PORT, parsed as its clients do: an
 * any-address socket as PORT, HOST:PORT, a unix socket as its path; the
 * generation one more after a reload.
 */
START_TEST(test_server_starter)
{
	struct h_report	*r;
	pid_t		 first;
	int		 p1 = h_free_port(), p2 = h_free_port();
	char		 sock[PATH_MAX], want[PATH_MAX + 64], buf[512];

	snprintf(sock, sizeof(sock), "%s", h_path("ss.sock"));
	h_write_config(
	    "[socket:any]\n"
	    "listen = :%d\n"
	    "[socket:lo]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[socket:path]\n"
	    "listen = unix:%s\n"
	    "[program:ss]\n"
	    "command = %s %s\n"
	    "sockets = any lo path\n"
	    "ipc = none\n"
	    "compat = server-starter\n"
	    "min_uptime = 100ms\n", p1, p2, sock, PYTHON,
	    src("tests/workers/starter_worker.py"));
	start();
	r = h_report_wait("ss.0.", WAIT);
	H_ASSERT(r != NULL, "no report");
	first = r->r_pid;
	snprintf(want, sizeof(want), "%d=3,127.0.0.1:%d=4,%s=5", p1, p2, sock);
	h_assert_key(r, "ports", want);
	h_assert_key(r, "generation", "1");
	h_report_free(r);
	snprintf(want, sizeof(want), "key 127.0.0.1:%d\n", p2);
	H_ASSERT(h_request_tcp(p2, "hi\n", buf, sizeof(buf), WAIT) > 0 &&
	    strstr(buf, want) != NULL, "lo: \"%s\"", buf);
	snprintf(want, sizeof(want), "key %d\n", p1);
	H_ASSERT(h_request_tcp(p1, "hi\n", buf, sizeof(buf), WAIT) > 0 &&
	    strstr(buf, want) != NULL, "any: \"%s\"", buf);
	H_ASSERT(h_request_unix(sock, "hi\n", buf, sizeof(buf), WAIT) > 0 &&
	    strstr(buf, sock) != NULL, "path: \"%s\"", buf);
	h_log_for("started: ss: 1/1 ready", 1);
	H_ASSERT(h_signal(SIGHUP) == 0, "SIGHUP");
	h_log_for("reload done: ss: 1/1 ready", 1);
	H_ASSERT(h_wait_reports("ss.0.", 2, WAIT), "no new worker");
	r = report_not_of("ss.0.", first);
	h_assert_key(r, "generation", "2");
	h_report_free(r);
	h_stop_daemon();
}
END_TEST

static Suite *
node_suite(void)
{
	Suite	*s = suite_create("daemon_node");
	TCase	*tc;

	tc = h_tcase("node-cluster", TEST_TIMEOUT);
	tcase_add_test(tc, test_cluster_example);
	tcase_add_test(tc, test_plain_example);
	tcase_add_test(tc, test_cluster_workers);
	tcase_add_test(tc, test_reuseport_spreads);
	tcase_add_test(tc, test_unix_host_fd);
	tcase_add_test(tc, test_https);
	tcase_add_test(tc, test_https_upgrade);
	tcase_add_test(tc, test_unconfigured_port);
	tcase_add_test(tc, test_nacked_handle);
	tcase_add_test(tc, test_check_rejects);
	suite_add_tcase(s, tc);

	tc = h_tcase("node-lifecycle", TEST_TIMEOUT);
	tcase_add_test(tc, test_listening_gates_roll);
	tcase_add_test(tc, test_reload_under_load);
	tcase_add_test(tc, test_reload_under_load_reuseport);
	tcase_add_test(tc, test_sigterm_in_flight);
	tcase_add_test(tc, test_worker_disconnect_once);
	tcase_add_test(tc, test_crash_restarted);
	tcase_add_test(tc, test_lost_channel_is_failure);
	tcase_add_test(tc, test_app_ready_message);
	suite_add_tcase(s, tc);

	tc = h_tcase("notify", TEST_TIMEOUT);
	tcase_add_test(tc, test_gunicorn_notify);
	tcase_add_test(tc, test_notify_ready_status_stopping);
	tcase_add_test(tc, test_notify_watchdog);
	tcase_add_test(tc, test_notify_garbage_flood);
	suite_add_tcase(s, tc);

	tc = h_tcase("compat", TEST_TIMEOUT);
	tcase_add_test(tc, test_einhorn);
	tcase_add_test(tc, test_server_starter);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(node_suite());
}
