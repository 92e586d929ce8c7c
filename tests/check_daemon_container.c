/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests: the set-up of examples/container, without a
 * container engine: clusterd as PID 1 of its own PID namespace (unshare
 * --pid --fork --mount-proc), its health probed with `clusterctl check`
 * as the image's HEALTHCHECK and a pod's readiness probe do; and the
 * limits of issue 10: a configuration that cannot fit the open-files
 * limit is refused, repeated failures are logged once with a count.
 */

#include <sys/wait.h>

#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define WAIT		15000
#define TEST_TIMEOUT	60

/* `clusterctl -s SOCKET check`: its exit status; its stderr to *err. */
static int
check(const char *sock, char **err)
{
	const char	*argv[] = { getenv("CLUSTERCTL_BIN"), "-s", sock,
			    "check", NULL };
	char		*out = NULL;
	int		 st = -1;

	H_ASSERT(argv[0] != NULL, "CLUSTERCTL_BIN not set");
	H_ASSERT(h_run(argv, NULL, WAIT, &st, &out, err), "clusterctl");
	free(out);
	H_ASSERT(WIFEXITED(st), "clusterctl check: wait status 0x%x", st);
	return WEXITSTATUS(st);
}

/* Probe until check exits want, as a probe repeats; the last stderr. */
static void
probe_until(const char *sock, int want, const char *what)
{
	long long	 end = h_now_ms() + WAIT;
	char		*err = NULL;
	int		 rc;

	for (;;) {
		free(err);
		err = NULL;
		if ((rc = check(sock, &err)) == want)
			break;
		H_ASSERT(h_now_ms() < end, "%s: clusterctl check exits %d, "
		    "not %d: %s", what, rc, want, err ? err : "");
		h_sleep_ms(50);
	}
	free(err);
}

/* The child of unshare: clusterd, PID 1 of the namespace. */
static pid_t
namespace_init(void)
{
	char	path[96], *text;
	long	child;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children",
	    (long)h_daemon(), (long)h_daemon());
	text = h_read_file(path);
	child = text != NULL ? strtol(text, NULL, 10) : 0;
	free(text);
	H_ASSERT(child > 0, "no child of unshare");
	return (pid_t)child;
}

/*
 * clusterd as a container's PID 1: `clusterctl check` fails while the
 * workers start, passes once they are ready, fails while one is down
 * and passes again once it is replaced; SIGTERM (docker stop, a pod's
 * termination) ends everything with exit 0.
 */
START_TEST(test_pid1_probed_by_check)
{
	const char	*argv[] = { "/usr/bin/unshare", "--pid", "--fork",
			    "--mount-proc", NULL, "-c", NULL, NULL };
	char		 sock[PATH_MAX], *err = NULL;
	struct h_report	*r;
	int		 st = -1, port = h_free_port();

	if (access("/usr/bin/unshare", X_OK) != 0 || geteuid() != 0)
		return;		/* needs root and util-linux */
	snprintf(sock, sizeof(sock), "%s", h_path("app.sock"));
	h_write_config(
	    "[clusterd]\n"
	    "control = %s\n"
	    "[socket:web]\n"
	    "listen = 127.0.0.1:%d\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n"
	    "sockets = web\n"
	    "min_uptime = 1s\n"
	    "restart_delay = 100ms\n"
	    "stop_timeout = 5s\n", sock, port, h_worker("reporter"));
	argv[4] = getenv("CLUSTERD_BIN");
	argv[6] = h_conf();
	H_ASSERT(h_start_cmd(argv, NULL) > 0, "start");
	H_ASSERT(h_wait_file(sock, 1, WAIT), "no control socket");
	/* ready = auto: a second before the workers count as ready */
	H_ASSERT(check(sock, &err) == 1 && err != NULL &&
	    strstr(err, "not ready") != NULL, "check passed while starting: "
	    "%s", err ? err : "");
	free(err);
	probe_until(sock, 0, "once started");
	/* one worker dies: not ready until its replacement is */
	h_expect_reports("web.0.", 1);
	r = h_newest_report("web.0.");
	h_kill_in_namespace(r, SIGKILL);	/* r_pid is the pid inside */
	probe_until(sock, 1, "with a worker down");
	probe_until(sock, 0, "once it is replaced");
	h_report_free(r);
	H_ASSERT(kill(namespace_init(), SIGTERM) == 0, "SIGTERM");
	H_ASSERT(h_wait_exit(WAIT, &st), "no exit");
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	H_ASSERT(h_wait_no_marked(WAIT), "processes left behind");
	/* with clusterd gone, the probe fails: cannot connect */
	H_ASSERT(check(sock, NULL) == 3, "check without clusterd");
}
END_TEST

/*
 * More workers than clusterd's open-files limit can hold: refused at
 * start-up with the numbers, not started one by one until descriptors
 * run out.
 */
START_TEST(test_too_many_workers_refused)
{
	const char	*argv[] = { "/usr/bin/prlimit", "--nofile=256", NULL,
			    "-c", NULL, NULL };
	char		*line;
	int		 st = -1;

	if (access(argv[0], X_OK) != 0)
		return;
	h_write_config(
	    "[program:many]\n"
	    "command = %s\n"
	    "workers = 300\n", h_worker("reporter"));
	argv[2] = getenv("CLUSTERD_BIN");
	argv[4] = h_conf();
	H_ASSERT(h_start_cmd(argv, NULL) > 0, "start");
	H_ASSERT(h_wait_exit(WAIT, &st), "clusterd did not exit");
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status 0x%x", st);
	line = h_find_line(h_log(), "open files");
	H_ASSERT(line != NULL && strstr(line, "300 workers") != NULL &&
	    strstr(line, "is 256") != NULL, "no message with the numbers: %s",
	    line ? line : "(none)");
	free(line);
	H_ASSERT(h_count_reports("many.") == 0, "workers were started");
}
END_TEST

/*
 * Twenty slots that cannot execute their program, again and again: the
 * same failure is logged a few times, then once with a count, not once
 * per slot and retry.
 */
START_TEST(test_repeated_failures_logged_once)
{
	long long	end;
	int		n;

	h_write_config(
	    "[program:broken]\n"
	    "command = %s\n"
	    "workers = 20\n"
	    "restart_delay = 0\n"
	    "restart_delay_max = 200ms\n", h_path("no-such-binary"));
	H_ASSERT(h_start(NULL) > 0, "start");
	/* 20 slots fail at once and retry within 200 ms, many times over */
	end = h_now_ms() + 3000;
	while (h_now_ms() < end)
		h_sleep_ms(100);	/* a rate is measured: time must pass */
	n = h_count_log("cannot execute");
	H_ASSERT(n >= 1 && n <= 10, "%d \"cannot execute\" lines in 3 s", n);
	/* the count comes once the 10 s window is over */
	H_ASSERT(h_wait_log("more like this", 1, WAIT), "no count of the "
	    "lines not logged");
	H_ASSERT(h_daemon_alive(), "clusterd exited");
	h_stop_daemon();
}
END_TEST

static Suite *
container_suite(void)
{
	Suite	*s = suite_create("container");
	TCase	*tc = h_tcase("container", TEST_TIMEOUT);

	tcase_add_test(tc, test_pid1_probed_by_check);
	tcase_add_test(tc, test_too_many_workers_refused);
	tcase_add_test(tc, test_repeated_failures_logged_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(container_suite());
}
