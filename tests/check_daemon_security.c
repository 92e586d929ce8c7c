/*
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

/* Wait for a log line, failing at once if the daemon exits. */
static void
wait_log(const char *needle, int count)
{
	long long	end = h_now_ms() + WAIT;

	while (h_count_log(needle) < count) {
		H_ASSERT(h_daemon_alive(), "the daemon exited while waiting "
		    "for \"%s\"", needle);
		H_ASSERT(h_now_ms() < end, "%d \"%s\" in the log expected, "
		    "%d found", count, needle, h_count_log(needle));
		h_sleep_ms(15);
	}
}

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
	wait_log("asked to be replaced", 1);
	wait_log("closed its IPC channel", 1);
	wait_log("is ready", 1);
	wait_log("exited with status 0", 1);
	text = h_read_file(h_path("reports/handle.nh"));
	H_ASSERT(text != NULL && strstr(text, "fds=1\n") != NULL,
	    "the replacement got no handle: %s", text ? text : "(none)");
	free(text);
	H_ASSERT(h_count_log("Bad file descriptor") == 0,
	    "a descriptor was closed twice");
	h_stop_daemon();
}
END_TEST

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
	return s;
}

int
main(void)
{
	return run_suite_forked(security_suite());
}
