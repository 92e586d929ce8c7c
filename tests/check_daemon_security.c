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

static Suite *
security_suite(void)
{
	Suite	*s = suite_create("daemon_security");
	TCase	*tc;

	tc = h_tcase("ipc", TEST_TIMEOUT);
	tcase_add_test(tc, test_ipc_fd_after_reset);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(security_suite());
}
