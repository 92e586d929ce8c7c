/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests of the configuration as the real clusterd reads it:
 * clusterd -t (FILE: ok, an included file's error at its own line, the
 * run-time checks of -t that start-up does not make), and env_file and
 * include seen from a worker, across a reload.
 */

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "runner.h"

#define WAIT		15000	/* ms: deadline of a wait */
#define TEST_TIMEOUT	60	/* s: Check's per-test timeout */

/* clusterd -t -c CONFIG: its exit status, stdout and stderr. */
static int
check_config(char **out, char **err)
{
	const char	*argv[5];
	char		 conf[PATH_MAX];
	int		 status = -1;

	snprintf(conf, sizeof(conf), "%s", h_conf());
	argv[0] = getenv("CLUSTERD_BIN");
	argv[1] = "-t";
	argv[2] = "-c";
	argv[3] = conf;
	argv[4] = NULL;
	H_ASSERT(argv[0] != NULL, "CLUSTERD_BIN");
	H_ASSERT(h_run(argv, NULL, WAIT, &status, out, err), "-t hung");
	H_ASSERT(WIFEXITED(status), "-t: wait status 0x%x", status);
	return WEXITSTATUS(status);
}

/* The newest report of a program: it must exist. */
static struct h_report *
newest_report(const char *prefix, int n)
{
	struct h_report	**v, *r;
	size_t		  len, i;

	H_ASSERT(h_wait_reports(prefix, n, WAIT), "%d report(s) \"%s*\" "
	    "expected, %d found", n, prefix, h_count_reports(prefix));
	len = h_report_list(prefix, &v);
	H_ASSERT(len >= (size_t)n, "reports \"%s*\"", prefix);
	r = h_report_load(v[len - 1]->r_path);
	for (i = 0; i < len; i++)
		h_report_free(v[i]);
	free(v);
	H_ASSERT(r != NULL, "report \"%s*\"", prefix);
	return r;
}

/* -t with include and env_file: "FILE: ok" on stdout and nothing else. */
START_TEST(test_check_ok)
{
	char	*out = NULL, *err = NULL, want[PATH_MAX + 8];

	H_ASSERT(mkdir(h_path("conf.d"), 0755) == 0, "mkdir");
	h_write_file(h_path("conf.d/web.ini"),
	    "[program:web]\n"
	    "command = %s\n"
	    "env_file = app.env\n", h_worker("reporter"));
	h_write_file(h_path("app.env"), "A=1\n");
	h_write_config(
	    "[clusterd]\n"
	    "include = conf.d/*.ini\n");
	H_ASSERT(check_config(&out, &err) == 0, "-t failed: %s",
	    err ? err : "");
	snprintf(want, sizeof(want), "%s: ok\n", h_conf());
	H_ASSERT_STR_EQ(out, want);
	H_ASSERT(err == NULL || *err == '\0', "stderr: %s", err);
	free(out);
	free(err);
	H_ASSERT(h_count_reports("") == 0, "-t started a worker");
}
END_TEST

/* An error of an included file, at that file's line; nothing starts. */
START_TEST(test_check_include_error)
{
	char	*out = NULL, *err = NULL, want[PATH_MAX * 2];

	H_ASSERT(mkdir(h_path("conf.d"), 0755) == 0, "mkdir");
	h_write_file(h_path("conf.d/10-web.ini"),
	    "; the web program\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "wrkers = 2\n", h_worker("reporter"));
	h_write_config(
	    "[clusterd]\n"
	    "include = conf.d/*.ini\n"
	    "[program:other]\n"
	    "command = %s\n", h_worker("reporter"));
	H_ASSERT(check_config(&out, &err) == 1, "-t accepted the file");
	snprintf(want, sizeof(want), "%s/conf.d/10-web.ini:4: [program:web] "
	    "unknown key \"wrkers\"\n", h_dir());
	H_ASSERT_STR_EQ(err, want);
	H_ASSERT(out == NULL || *out == '\0', "stdout: %s", out);
	free(out);
	free(err);

	/* and start-up refuses it the same way */
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_exit(WAIT, NULL), "the daemon did not exit");
	want[strlen(want) - 1] = '\0';
	H_ASSERT(h_count_log(want) == 1, "no \"%s\" in the log", want);
	H_ASSERT(h_count_reports("") == 0, "a worker was started");
	h_assert_no_leftovers();
}
END_TEST

/*
 * -t reports a program that cannot be executed and a missing output
 * directory; start-up does not, since a deploy may put them in place
 * later: it starts and the worker's exec error is logged.
 */
START_TEST(test_check_runtime)
{
	char	*out = NULL, *err = NULL, want[PATH_MAX * 2];
	int	 st = -1;

	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "[program:api]\n"
	    "command = /nonexistent/bin/api --port 80\n"
	    "restart_delay = 1s\n"
	    "stdout = logs/api.log\n", h_worker("reporter"));
	H_ASSERT(check_config(&out, &err) == 1, "-t accepted the file");
	snprintf(want, sizeof(want),
	    "%s:4: [program:api] command: /nonexistent/bin/api: No such file "
	    "or directory\n"
	    "%s:6: [program:api] stdout: cannot open %s/logs/api.log: its "
	    "directory %s/logs: No such file or directory\n",
	    h_conf(), h_conf(), h_dir(), h_dir());
	H_ASSERT_STR_EQ(err, want);
	free(out);
	free(err);

	H_ASSERT(mkdir(h_path("logs"), 0755) == 0, "mkdir");
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_reports("web.", 1, WAIT), "web did not start");
	H_ASSERT(h_wait_log("cannot execute /nonexistent/bin/api", 1, WAIT),
	    "the exec error of api is not in the log");
	H_ASSERT(h_daemon_alive(), "the daemon exited");
	H_ASSERT(h_signal(SIGTERM) == 0, "kill");
	H_ASSERT(h_wait_exit(WAIT, &st), "the daemon did not exit");
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	h_assert_no_leftovers();
}
END_TEST

/*
 * A 1000-character env_file value reaches the worker whole; a reload
 * reads the file again; env lines win; an included file's program runs.
 */
START_TEST(test_env_file_worker)
{
	struct h_report	*r;
	char		 token[1001], key[] = "env.TOKEN";

	memset(token, 'a', 1000);
	token[1000] = '\0';
	H_ASSERT(mkdir(h_path("conf.d"), 0755) == 0, "mkdir");
	h_write_file(h_path("app.env"),
	    "# secrets\n"
	    "TOKEN=%s\n"
	    "GREETING=\"hello,  world\"\n"
	    "MODE=file\n", token);
	h_write_file(h_path("conf.d/api.ini"),
	    "[program:api]\n"
	    "command = %s\n", h_worker("reporter"));
	h_write_config(
	    "[clusterd]\n"
	    "include = conf.d/*.ini\n"
	    "[program:web]\n"
	    "command = %s\n"
	    "env_file = app.env\n"
	    "env_file = -missing.env\n"
	    "env = MODE=line\n", h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	r = newest_report("web.", 1);
	h_assert_key(r, key, token);
	h_assert_key(r, "env.GREETING", "hello,  world");
	h_assert_key(r, "env.MODE", "line");
	h_report_free(r);
	r = newest_report("api.", 1);
	h_assert_no_key(r, key);
	h_report_free(r);

	token[0] = 'b';
	h_write_file(h_path("app.env"), "TOKEN=%s\n", token);
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	r = newest_report("web.", 2);
	h_assert_key(r, key, token);
	h_assert_no_key(r, "env.GREETING");
	h_report_free(r);
	h_stop_daemon();
	h_assert_no_leftovers();
}
END_TEST

/* A reload whose env file has become bad fails and changes nothing. */
START_TEST(test_env_file_bad_reload)
{
	struct h_report	*r;
	char		 needle[PATH_MAX + 32];

	h_write_file(h_path("app.env"), "A=1\n");
	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "env_file = app.env\n", h_worker("reporter"));
	H_ASSERT(h_start(NULL) > 0, "start");
	r = newest_report("web.", 1);
	h_assert_key(r, "env.A", "1");
	h_report_free(r);

	h_write_file(h_path("app.env"), "A=1\nLISTEN_FDS=9\n");
	H_ASSERT(h_signal(SIGHUP) == 0, "kill");
	snprintf(needle, sizeof(needle), "%s:2: LISTEN_FDS is set by clusterd",
	    h_path("app.env"));
	H_ASSERT(h_wait_log(needle, 1, WAIT), "no \"%s\" in the log", needle);
	H_ASSERT(h_count_reports("web.") == 1, "a worker was replaced");
	H_ASSERT(h_daemon_alive(), "the daemon exited");
	h_stop_daemon();
	h_assert_no_leftovers();
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("daemon_config");
	TCase	*tc;

	tc = h_tcase("check", TEST_TIMEOUT);
	tcase_add_test(tc, test_check_ok);
	tcase_add_test(tc, test_check_include_error);
	tcase_add_test(tc, test_check_runtime);
	suite_add_tcase(s, tc);

	tc = h_tcase("env_file", TEST_TIMEOUT);
	tcase_add_test(tc, test_env_file_worker);
	tcase_add_test(tc, test_env_file_bad_reload);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(config_suite());
}
