/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests of what a worker, or the user it runs as, must not
 * be able to do to clusterd: files root opens on its behalf (output
 * files, unix socket files, the pidfile), descriptors on its IPC
 * channel, stale-socket clean-up, and the limits it inherits.
 *
 * Most of them need root (user = nobody); they say so on stderr and
 * pass when run without it.
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define WAIT		15000	/* ms: deadline of a wait */
#define TEST_TIMEOUT	60	/* s: Check's per-test timeout */
#define SETPRIV		"/usr/bin/setpriv"
#define PRLIMIT		"/usr/bin/prlimit"
#define NOBODY		65534

/*
 * Helpers.
 */

/* Entries of a directory, but . and .. */
static int
count_entries(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	H_ASSERT(d != NULL, "opendir %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * A root-owned file with known contents, for a symlink to point to; its
 * path in a buffer of its own (h_path's ring is reused).
 */
static const char *
make_victim(const char *name)
{
	static char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", h_path("%s", name));
	h_write_file(path, "precious\n");
	H_ASSERT(chmod(path, 0600) == 0, "chmod %s: %s", path,
	    strerror(errno));
	return path;
}

/* The victim still holds what make_victim wrote, with its mode. */
static void
assert_victim(const char *path)
{
	struct stat	 st;
	char		*text = h_read_file(path);

	H_ASSERT(text != NULL && strcmp(text, "precious\n") == 0,
	    "%s was written: \"%s\"", path, text ? text : "(gone)");
	free(text);
	H_ASSERT(lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 07777) == 0600, "%s: mode %o", path,
	    (unsigned)st.st_mode);
}

/* Root, and nobody exists as uid 65534: else the test is skipped. */
static int
need_root(const char *test)
{
	struct passwd	*pw;

	if (geteuid() == 0 && (pw = getpwnam("nobody")) != NULL &&
	    pw->pw_uid == NOBODY && access(SETPRIV, X_OK) == 0)
		return 1;
	fprintf(stderr, "%s: needs root, setpriv and user nobody (uid %d); "
	    "skipped\n", test, NOBODY);
	return 0;
}

/* Start clusterd -c CONF as nobody (setpriv), with the extra args. */
static void
start_as_nobody(const char *a1, const char *a2)
{
	const char	*argv[] = { SETPRIV, "--reuid=65534", "--regid=65534",
			    "--clear-groups", h_clusterd_bin(), "-c", h_conf(), a1,
			    a2, NULL };

	H_ASSERT(h_start_cmd(argv, NULL) > 0, "start");
}

/* The daemon exits with this status before the deadline. */
static void
assert_exit(int code)
{
	int	st = -1;

	H_ASSERT(h_wait_exit(WAIT, &st), "the daemon did not exit");
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == code,
	    "daemon wait status 0x%x, expected exit %d", st, code);
}

/* A listening unix socket at path, bound with this umask. */
static int
listen_unix(const char *path, mode_t mask)
{
	struct sockaddr_un	sun;
	mode_t			old;
	int			fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	H_ASSERT((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1,
	    "socket: %s", strerror(errno));
	old = umask(mask);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	H_ASSERT(rc == 0 && listen(fd, 4) == 0, "bind %s: %s", path,
	    strerror(errno));
	return fd;
}

/* Is path still the socket lfd listens on?  A connection tells. */
static int
still_listening(int lfd, const char *path)
{
	struct pollfd	pfd = { lfd, POLLIN, 0 };
	int		c, a = -1;

	if ((c = h_connect_unix(path)) == -1)
		return 0;
	if (poll(&pfd, 1, WAIT) == 1)
		a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(c);
	if (a == -1)
		return 0;
	close(a);
	return 1;
}

/*
 * Defect: a live unix socket unlinked as "stale".  Only ECONNREFUSED
 * (a socket file nothing listens on) makes a file stale.  clusterd runs
 * as nobody; the test listens, as root, on a socket of mode 0600 in a
 * directory nobody may write: clusterd's connect fails with EACCES, so
 * it cannot tell, and must neither unlink it nor start.  The same for
 * the control socket.
 */
START_TEST(test_stale_eacces)
{
	static const char *const heads[] = {
		"[socket:web]\nlisten = unix:socks/live.sock\n"
		    "[program:web]\nsockets = web\n",
		"[clusterd]\ncontrol = socks/live.sock\n"
		    "[program:web]\n",
	};
	char	 sock[PATH_MAX];
	size_t	 i;
	int	 fd;

	if (!need_root("test_stale_eacces"))
		return;
	H_ASSERT(mkdir(h_path("socks"), 0777) == 0 &&
	    chmod(h_path("socks"), 0777) == 0, "mkdir socks");
	snprintf(sock, sizeof(sock), "%s", h_path("socks/live.sock"));
	fd = listen_unix(sock, 0077);
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		h_write_config("%scommand = %s\n", heads[i],
		    h_worker("reporter"));
		start_as_nobody(NULL, NULL);
		assert_exit(1);
		H_ASSERT(still_listening(fd, sock), "%s was replaced", sock);
		H_ASSERT(h_count_log("connect: Permission denied") == (int)i +
		    1, "the reason is not logged");
		H_ASSERT(h_count_log("not removing it") == (int)i + 1,
		    "the decision is not logged");
	}
	H_ASSERT(h_count_reports("web.") == 0, "a worker started");
	close(fd);
}
END_TEST

/* A unix socket file nothing listens on is stale: it is replaced. */
START_TEST(test_stale_replaced)
{
	char	 sock[PATH_MAX], buf[256];

	snprintf(sock, sizeof(sock), "%s", h_path("web.sock"));
	close(listen_unix(sock, 0));
	H_ASSERT(h_connect_unix(sock) == -1, "the old socket answers");
	h_write_config(
	    "[socket:web]\n"
	    "listen = unix:web.sock\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = web\n", h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_reports("web.0.", 1, WAIT), "no worker");
	H_ASSERT(h_request_unix(sock, "ping\n", buf, sizeof(buf), WAIT) > 0 &&
	    strstr(buf, "hello") != NULL, "no reply: %s", buf);
	H_ASSERT(h_count_log("replaced a stale socket file") == 1,
	    "not logged");
	h_stop_daemon();
}
END_TEST

/* The configuration of the socket tests: mode and owner lines. */
static void
write_sock_config(const char *extra)
{
	h_write_config(
	    "[socket:app]\n"
	    "listen = unix:socks/app.sock\n"
	    "%s"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = app\n", extra, h_worker("reporter"));
}

/* SIGHUP, and wait for the reload's outcome (count-th of them). */
static void
reload(int count)
{
	H_ASSERT(h_signal(SIGHUP) == 0, "SIGHUP");
	h_log_alive("reload done", count);
}

static void
assert_file(const char *path, unsigned mode, uid_t uid, gid_t gid)
{
	struct stat	st;

	H_ASSERT(lstat(path, &st) == 0, "lstat %s: %s", path,
	    strerror(errno));
	H_ASSERT((st.st_mode & 07777) == mode && st.st_uid == uid &&
	    st.st_gid == gid, "%s: mode %o uid %u gid %u, expected %o %u %u",
	    path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
	    (unsigned)st.st_gid, mode, (unsigned)uid, (unsigned)gid);
}

/*
 * mode and owner: the socket file has them from the start, and a reload
 * that changes them changes the file (not a socket inode of its own).
 */
START_TEST(test_socket_mode_owner)
{
	const char	*sock;

	if (!need_root("test_socket_mode_owner"))
		return;
	H_ASSERT(mkdir(h_path("socks"), 0755) == 0, "mkdir socks");
	write_sock_config("mode = 0640\nowner = nobody\n");
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_reports("web.0.", 1, WAIT), "no worker");
	sock = h_path("socks/app.sock");
	assert_file(sock, 0640, NOBODY, 65534);
	write_sock_config("mode = 0600\n");
	reload(1);
	assert_file(h_path("socks/app.sock"), 0600, NOBODY, 65534);
	write_sock_config("mode = 0666\nowner = root:root\n");
	reload(2);
	assert_file(h_path("socks/app.sock"), 0666, 0, 0);
	H_ASSERT(h_count_log("cannot apply") == 0, "errors");
	h_stop_daemon();
}
END_TEST

/*
 * Defect: chmod through a symlink on reload.  The socket's directory is
 * writable by nobody, and the socket file is replaced by a symlink to a
 * root file (as the workers' user could), then by a hard link to another
 * socket: a reload that changes mode and owner changes neither target,
 * and says why.
 */
START_TEST(test_socket_update_symlink)
{
	const char	*victim = make_victim("victim");
	char		 sock[PATH_MAX], other[PATH_MAX];
	int		 fd, rc;

	if (!need_root("test_socket_update_symlink"))
		return;
	H_ASSERT(mkdir(h_path("socks"), 0777) == 0 &&
	    chmod(h_path("socks"), 0777) == 0, "mkdir socks");
	snprintf(sock, sizeof(sock), "%s", h_path("socks/app.sock"));
	snprintf(other, sizeof(other), "%s", h_path("other.sock"));
	write_sock_config("mode = 0600\n");
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_reports("web.0.", 1, WAIT), "no worker");
	H_ASSERT(unlink(sock) == 0 && symlink(victim, sock) == 0,
	    "symlink: %s", strerror(errno));
	write_sock_config("mode = 0666\nowner = nobody\n");
	reload(1);
	assert_victim(victim);
	assert_file(victim, 0600, 0, 0);
	H_ASSERT(h_count_log("is no longer the socket clusterd bound") == 1,
	    "the reason is not logged");

	fd = listen_unix(other, 0077);
	rc = unlink(sock) == 0 && link(other, sock) == 0;
	H_ASSERT(rc, "link: %s", strerror(errno));
	write_sock_config("mode = 0644\nowner = nobody\n");
	reload(2);
	assert_file(other, 0700, 0, 0);
	H_ASSERT(h_count_log("is no longer the socket clusterd bound") == 2,
	    "the reason is not logged");
	close(fd);
	/* at exit, what is at the path is not clusterd's: left alone */
	h_stop_daemon();
	H_ASSERT(h_file_exists(sock), "the link was removed");
	unlink(sock);
}
END_TEST

/* A directory of the test owned by nobody, mode 0755. */
static const char *
nobody_dir(const char *name)
{
	static char	path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", h_path("%s", name));
	H_ASSERT(mkdir(path, 0755) == 0 && chown(path, NOBODY, 65534) == 0,
	    "mkdir %s: %s", path, strerror(errno));
	return path;
}

/*
 * Defect: output files opened as root through symlinks.  user = nobody,
 * stdout in a directory nobody owns; the worker writes a line, replaces
 * its output file by a symlink to a root file, and exits 1.  Its restart
 * must not append to the root file: the set-up error names the file and
 * says why, and the worker is not started.
 */
START_TEST(test_output_symlink)
{
	const char	*victim = make_victim("victim");
	const char	*logs;
	char		 out[PATH_MAX], want[PATH_MAX + 128];
	long long	 end;

	if (!need_root("test_output_symlink"))
		return;
	logs = nobody_dir("logs");
	snprintf(out, sizeof(out), "%s/out.log", logs);
	h_write_config(
	    "[program:web]\n"
	    "command = /bin/sh -c 'echo worker output; ln -sf %s %s; "
	    "exit 1'\n"
	    "user = nobody\n"
	    "stdout = %s\n"
	    "stderr = stdout\n"
	    "restart_delay = 10ms\n", victim, out, out);
	H_ASSERT(h_start(NULL) > 0, "start");
	snprintf(want, sizeof(want), "web[0]: cannot open its output %s: "
	    "Too many levels of symbolic links", out);
	/* the restart's outcome: refused, or (the defect) run again */
	end = h_now_ms() + WAIT;
	while (h_count_log(want) == 0 &&
	    h_count_log("exited with status 1 after") < 2 && h_now_ms() < end)
		h_sleep_ms(15);
	assert_victim(victim);
	h_log_alive(want, 1);
	H_ASSERT(h_count_log("exited with status 1 after") == 1,
	    "it ran again");
	h_stop_daemon();
}
END_TEST

/*
 * Opened as the worker's user: a file it may not write (root's, mode
 * 0644, in its own directory) is refused with EACCES; a file it creates
 * is its own, mode 0644 less the program's umask; something that is
 * neither a regular file nor a FIFO is refused; a FIFO without a reader
 * fails at once (ENXIO) instead of blocking, one with a reader is fine.
 */
START_TEST(test_output_as_user)
{
	const char	*logs;
	char		 path[PATH_MAX], want[PATH_MAX + 128];
	struct stat	 st;
	int		 rfd;

	if (!need_root("test_output_as_user"))
		return;
	logs = nobody_dir("logs");
	snprintf(path, sizeof(path), "%s/root.log", logs);
	h_write_file(path, "root's\n");
	H_ASSERT(chmod(path, 0644) == 0, "chmod");
	H_ASSERT(mkfifo(h_path("logs/fifo"), 0666) == 0 &&
	    chmod(h_path("logs/fifo"), 0666) == 0 &&
	    mkfifo(h_path("logs/piped"), 0666) == 0 &&
	    chmod(h_path("logs/piped"), 0666) == 0, "mkfifo");
	rfd = open(h_path("logs/piped"), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	H_ASSERT(rfd != -1, "open piped: %s", strerror(errno));
	h_write_config(
	    "[program:denied]\n"
	    "command = %s\n"
	    "user = nobody\n"
	    "stdout = logs/root.log\n"
	    "[program:mine]\n"
	    "command = %s\n"
	    "user = nobody\n"
	    "umask = 027\n"
	    "stdout = logs/mine.log\n"
	    "stderr = logs/mine.err\n"
	    "[program:dev]\n"
	    "command = %s\n"
	    "stdout = /dev/null\n"
	    "[program:fifo]\n"
	    "command = %s\n"
	    "user = nobody\n"
	    "stderr = logs/fifo\n"
	    "[program:piped]\n"
	    "command = %s\n"
	    "user = nobody\n"
	    "stderr = logs/piped\n",
	    h_worker("reporter"), h_worker("reporter"), h_worker("reporter"),
	    h_worker("reporter"), h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_reports("mine.0.", 1, WAIT) &&
	    h_wait_reports("piped.0.", 1, WAIT), "no worker");
	snprintf(want, sizeof(want), "denied[0]: cannot open its output %s: "
	    "Permission denied", path);
	h_log_alive(want, 1);
	h_log_alive("dev[0]: cannot open its output /dev/null: not a regular "
	    "file or FIFO", 1);
	snprintf(want, sizeof(want), "fifo[0]: cannot open its error output "
	    "%s/fifo: No such device or address", logs);
	h_log_alive(want, 1);
	H_ASSERT(h_wait_file(h_path("logs/mine.err"), 1, WAIT), "no mine.err");
	H_ASSERT(stat(h_path("logs/mine.log"), &st) == 0 &&
	    st.st_uid == NOBODY && (st.st_mode & 07777) == 0640,
	    "mine.log: uid %u mode %o", (unsigned)st.st_uid,
	    (unsigned)(st.st_mode & 07777));
	H_ASSERT(h_count_reports("denied.") == 0 &&
	    h_count_reports("dev.") == 0 && h_count_reports("fifo.") == 0,
	    "a worker started");
	h_stop_daemon();
	close(rfd);
}
END_TEST

/*
 * Set-up errors name the user and the group by name: clusterd runs as
 * nobody and may not switch to root's group or user.
 */
START_TEST(test_ids_by_name)
{
	if (!need_root("test_ids_by_name"))
		return;
	h_write_config(
	    "[program:grp]\n"
	    "command = %s\n"
	    "group = root\n"
	    "[program:usr]\n"
	    "command = %s\n"
	    "user = root\n"
	    "group = nogroup\n", h_worker("reporter"), h_worker("reporter"));
	start_as_nobody(NULL, NULL);
	h_log_alive("grp[0]: cannot set group root (gid 0): Operation not "
	    "permitted", 1);
	h_log_alive("usr[0]: cannot set user root (uid 0): Operation not "
	    "permitted", 1);
	H_ASSERT(h_count_reports("grp.") == 0 && h_count_reports("usr.") == 0,
	    "a worker started");
	h_stop_daemon();
}
END_TEST

/* "SOFT HARD" of "Max open files" in /proc/PID/limits, or "". */
static const char *
proc_nofile(pid_t pid)
{
	static char	 out[64];
	char		 path[64], soft[32], hard[32], *text, *p;

	snprintf(path, sizeof(path), "/proc/%ld/limits", (long)pid);
	text = h_read_file(path);
	out[0] = '\0';
	if (text != NULL && (p = strstr(text, "Max open files")) != NULL &&
	    sscanf(p + strlen("Max open files"), "%31s %31s", soft,
	    hard) == 2)
		snprintf(out, sizeof(out), "%s %s", soft, hard);
	free(text);
	return out;
}

/*
 * Defect: thousands of workers fail under the default limit on open
 * files.  clusterd, started with 256:4096, raises its own soft limit to
 * 4096; a worker gets 256:4096 back, and one with limit_nofile that.
 */
START_TEST(test_nofile)
{
	const char	*argv[] = { PRLIMIT, "--nofile=256:4096", h_clusterd_bin(),
			    "-c", h_conf(), NULL };
	struct h_report	*r;

	if (geteuid() != 0 || access(PRLIMIT, X_OK) != 0) {
		fprintf(stderr, "test_nofile: needs root and prlimit; "
		    "skipped\n");
		return;
	}
	h_write_config(
	    "[program:plain]\n"
	    "command = %s\n"
	    "[program:limited]\n"
	    "command = %s\n"
	    "limit_nofile = 1000\n", h_worker("reporter"),
	    h_worker("reporter"));
	H_ASSERT(h_start_cmd(argv, NULL) > 0, "start");
	H_ASSERT((r = h_report_wait("plain.0.", WAIT)) != NULL, "no report");
	h_assert_key(r, "nofile_soft", "256");
	h_assert_key(r, "nofile_hard", "4096");
	h_report_free(r);
	H_ASSERT((r = h_report_wait("limited.0.", WAIT)) != NULL,
	    "no report");
	h_assert_key(r, "nofile_soft", "1000");
	h_assert_key(r, "nofile_hard", "1000");
	h_report_free(r);
	H_ASSERT_STR_EQ(proc_nofile(h_daemon()), "4096 4096");
	h_stop_daemon();
}
END_TEST

/* net.ipv4.ip_unprivileged_port_start; 1024 if unreadable. */
static int
unprivileged_port_start(void)
{
	char	*text = h_read_file("/proc/sys/net/ipv4/"
		    "ip_unprivileged_port_start");
	int	 n = text != NULL ? atoi(text) : 1024;

	free(text);
	return n;
}

/*
 * A port below 1024 without the right to bind it: the error says what
 * is missing (issue 11, item 5).
 */
START_TEST(test_low_port_eacces)
{
	char	want[256];
	int	port = unprivileged_port_start() - 1;

	if (!need_root("test_low_port_eacces"))
		return;
	if (port < 1) {
		fprintf(stderr, "test_low_port_eacces: every port may be "
		    "bound; skipped\n");
		return;
	}
	h_write_config(
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "sockets = web\n", port, h_worker("reporter"));
	start_as_nobody(NULL, NULL);
	assert_exit(1);
	snprintf(want, sizeof(want), "socket web: bind 127.0.0.1:%d: "
	    "Permission denied: a port below %d needs root or "
	    "CAP_NET_BIND_SERVICE", port, port + 1);
	H_ASSERT(h_count_log(want) == 1, "no \"%s\"", want);
}
END_TEST

/*
 * Defect: the wrong descriptor closed after a failed recvmsg.  With
 * node_handle, the first worker asks to be replaced in a line with a
 * descriptor attached (closed by the master at once, and its number
 * reused by the replacement's channel), then closes its channel without
 * reading its handle: the master's next read of it fails (ECONNRESET).
 * Control data must be walked only after a read that succeeded: the
 * failed read's stale buffer still named the first descriptor, and
 * closing it again cut the replacement off.  The replacement must get
 * its handle and be ready, and clusterd must stop cleanly.
 */
START_TEST(test_ipc_fd_after_reset)
{
	char	*text;
	int	 port = h_free_port();

	h_write_config(
	    "[clusterd]\n"
	    "log_level = debug\n"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:nh]\n"
	    "command = %s\n"
	    "ipc = node\n"
	    "node_handle = server:web\n"
	    "ready = message\n"
	    "env = SEND_FD_ONCE=1\n"
	    "env = RECV_HANDLE=1\n"
	    "env = READY_AFTER_MS=1000\n", port, h_worker("ipcworker"));
	H_ASSERT(h_start(NULL) > 0, "start");
	h_log_alive("asked to be replaced", 1);
	h_log_alive("closed its IPC channel", 1);
	h_log_alive("is ready", 1);
	h_log_alive("exited with status 0", 1);
	text = h_read_file(h_path("reports/handle.nh"));
	H_ASSERT(text != NULL && strstr(text, "fds=1\n") != NULL,
	    "the replacement got no handle: %s", text ? text : "(none)");
	free(text);
	H_ASSERT(h_count_log("Bad file descriptor") == 0,
	    "a descriptor was closed twice");
	h_stop_daemon();
}
END_TEST

/*
 * Defect: the pidfile written through a symlink.  The names a writer
 * might pick next to it are planted as symlinks to a root-owned file in
 * a directory others may write (and app.pid itself is one): the victim
 * stays as it was, app.pid is a regular file of mode 0644 holding the
 * daemon's pid, the symlinks are left alone, and no temporary file
 * remains.  Removed at exit.
 */
START_TEST(test_pidfile_symlinks)
{
	static const char *const planted[] = { "app.pid.tmp", "app.pid.new",
	    ".app.pid.tmp", "app.pid~", "app.pid.lock" };
	const char	*victim = make_victim("victim");
	char		 want[32], *text, link[PATH_MAX];
	struct stat	 st;
	size_t		 i;
	ssize_t		 n;
	int		 rc;

	H_ASSERT(mkdir(h_path("run"), 01777) == 0 &&
	    chmod(h_path("run"), 01777) == 0, "mkdir run");
	for (i = 0; i < sizeof(planted) / sizeof(planted[0]); i++) {
		rc = symlink(victim, h_path("run/%s", planted[i]));
		H_ASSERT(rc == 0, "symlink %s", planted[i]);
	}
	H_ASSERT(symlink(victim, h_path("run/app.pid")) == 0, "symlink");
	h_write_config(
	    "[clusterd]\n"
	    "pidfile = run/app.pid\n"
	    "[program:web]\n"
	    "command = %s\n", h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_reports("web.0.", 1, WAIT), "no worker");
	assert_victim(victim);
	H_ASSERT(lstat(h_path("run/app.pid"), &st) == 0 &&
	    S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644,
	    "app.pid: mode %o", (unsigned)st.st_mode);
	snprintf(want, sizeof(want), "%ld\n", (long)h_daemon());
	text = h_read_file(h_path("run/app.pid"));
	H_ASSERT(text != NULL && strcmp(text, want) == 0, "app.pid: \"%s\"",
	    text ? text : "(none)");
	free(text);
	for (i = 0; i < sizeof(planted) / sizeof(planted[0]); i++) {
		n = readlink(h_path("run/%s", planted[i]), link,
		    sizeof(link) - 1);
		H_ASSERT(n > 0 && (size_t)n == strlen(victim) &&
		    memcmp(link, victim, (size_t)n) == 0, "%s was changed",
		    planted[i]);
	}
	H_ASSERT(count_entries(h_path("run")) == (int)(sizeof(planted) /
	    sizeof(planted[0])) + 1, "a temporary file remains in run/");
	H_ASSERT(h_count_in_file(h_log(), "pidfile") == 0, "pidfile errors");
	h_stop_daemon();
	H_ASSERT(!h_file_exists(h_path("run/app.pid")), "app.pid remains");
	assert_victim(victim);
}
END_TEST

static Suite *
security_suite(void)
{
	Suite	*s = suite_create("daemon_security");
	TCase	*tc;

	tc = h_tcase("ipc", TEST_TIMEOUT);
	tcase_add_test(tc, test_ipc_fd_after_reset);
	suite_add_tcase(s, tc);

	tc = h_tcase("files", TEST_TIMEOUT);
	tcase_add_test(tc, test_pidfile_symlinks);
	suite_add_tcase(s, tc);

	tc = h_tcase("output", TEST_TIMEOUT);
	tcase_add_test(tc, test_output_symlink);
	tcase_add_test(tc, test_output_as_user);
	tcase_add_test(tc, test_ids_by_name);
	suite_add_tcase(s, tc);

	tc = h_tcase("limits", TEST_TIMEOUT);
	tcase_add_test(tc, test_nofile);
	suite_add_tcase(s, tc);

	tc = h_tcase("sockets", TEST_TIMEOUT);
	tcase_add_test(tc, test_stale_eacces);
	tcase_add_test(tc, test_stale_replaced);
	tcase_add_test(tc, test_socket_mode_owner);
	tcase_add_test(tc, test_socket_update_symlink);
	tcase_add_test(tc, test_low_port_eacces);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(security_suite());
}
