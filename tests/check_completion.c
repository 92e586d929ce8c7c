/*
 * SPDX-License-Identifier: ISC
 *
 * Tests of completion/clusterctl.bash, the bash completion of clusterctl.
 *
 * Each test sources the file in a bash of its own, hands _clusterctl the
 * COMP_WORDS, COMP_CWORD and arguments bash itself gives it for a line
 * (bash splits "--socket=/x" into "--socket" "=" "/x"; the word being
 * completed is the last), and reads COMPREPLY back, sorted, one per line.
 * Anything bash says on stderr lands in the same text, so an error in the
 * script fails the comparison.  A fake clusterctl first in PATH answers
 * `--json status' and writes down how it was called.
 */

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

#define OUT_MAX		8192

#define DIR_TEMPLATE	"/tmp/check_completion.XXXXXX"

static char	dir[sizeof(DIR_TEMPLATE)];
static char	path_calls[256];

/* bash -c SCRIPT bash FILE WORD...: what bash's completion would do. */
static const char script[] =
    ". \"$1\" || exit 99\n"
    "shift\n"
    "COMP_WORDS=(\"$@\")\n"
    "COMP_CWORD=$(($# - 1))\n"
    "COMP_LINE=\"$*\"\n"
    "COMP_POINT=${#COMP_LINE}\n"
    "cur=${COMP_WORDS[COMP_CWORD]}\n"
    "prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
    /* readline's word ends at the break character */
    "[ \"$cur\" = = ] && cur=\n"
    "_clusterctl \"${COMP_WORDS[0]}\" \"$cur\" \"$prev\"\n"
    "[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\\n' \"${COMPREPLY[@]}\" |\n"
    "    LC_ALL=C sort\n";

/*
 * Two programs; the worker's status text holds what looks like a program
 * object, escaped as JSON escapes it.
 */
static const char reply[] =
    "{\"ok\":true,\"programs\":[{\"name\":\"web\",\"state\":\"running\","
    "\"workers\":[{\"slot\":0,\"pid\":10,\"state\":\"ready\","
    "\"uptime\":1.0,\"restarts\":0,\"rss\":0,"
    "\"status\":\"{\\\"name\\\":\\\"evil\\\"}\"}]},"
    "{\"name\":\"worker.q\",\"state\":\"running\",\"workers\":[]}]}\n";

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char	 path[256];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_msg(fp != NULL, "fopen %s: %s", path, strerror(errno));
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/*
 * Once for the test case, in the parent (so that a failed test, whose
 * process ends at once, leaves nothing behind): the directory with the
 * fake clusterctl, first in PATH.  It writes "CLUSTERD_CONTROL|ARGS" into
 * calls, then the reply; it exits 3 as if nobody listened when "down"
 * exists, and hangs when "hang" does.
 */
static void
dir_create(void)
{
	char	 text[1024], bin[256], path[2048];
	const char *old = getenv("PATH");

	memcpy(dir, DIR_TEMPLATE, sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	ck_assert_int_eq(mkdir(bin, 0755), 0);
	snprintf(path_calls, sizeof(path_calls), "%s/calls", dir);
	snprintf(text, sizeof(text),
	    "#!/bin/sh\n"
	    "printf '%%s|%%s\\n' \"${CLUSTERD_CONTROL-}\" \"$*\" >>%s\n"
	    "[ -e %s/down ] && exit 3\n"
	    "[ -e %s/hang ] && exec sleep 10\n"
	    "exec cat %s/reply\n", path_calls, dir, dir, dir);
	write_file("bin/clusterctl", text, 0755);
	write_file("reply", reply, 0644);
	write_file("app.sock", "", 0644);
	write_file("app.ini", "", 0644);
	snprintf(path, sizeof(path), "%s:%s", bin, old ? old : "/usr/bin:/bin");
	ck_assert_int_eq(setenv("PATH", path, 1), 0);
}

static void
remove_files(const char *const *files)
{
	char	path[256];
	int	i;

	for (i = 0; files[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (remove(path) == -1 && errno != ENOENT)
			fprintf(stderr, "remove %s: %s\n", path,
			    strerror(errno));
	}
}

/* Before each test: no calls recorded, clusterd "up", no variable. */
static void
reset(void)
{
	static const char *const files[] = { "calls", "down", "hang", NULL };

	remove_files(files);
	ck_assert_int_eq(unsetenv("CLUSTERD_CONTROL"), 0);
}

static void
dir_remove(void)
{
	static const char *const files[] = { "bin/clusterctl", "reply",
	    "app.sock", "app.ini", "calls", "down", "hang", "bin", NULL };

	remove_files(files);
	if (rmdir(dir) == -1)
		fprintf(stderr, "rmdir %s: %s\n", dir, strerror(errno));
}

static const char *
completion_file(void)
{
	static char	path[1024];
	const char	*src = getenv("SRCDIR");

	snprintf(path, sizeof(path), "%s/completion/clusterctl.bash",
	    src != NULL && *src != '\0' ? src : ".");
	return path;
}

/* Run bash with SCRIPT and ARGV after it; its stdout and stderr. */
static void
run_bash(const char *code, const char *const *argv, char *out, size_t len)
{
	const char	*args[32];
	int		 pfd[2], n = 0, status;
	size_t		 got = 0;
	ssize_t		 r;
	pid_t		 pid;

	args[n++] = "bash";
	args[n++] = "--norc";
	args[n++] = "--noprofile";
	args[n++] = "-c";
	args[n++] = code;
	args[n++] = "bash";
	args[n++] = completion_file();
	for (; *argv != NULL && n < 31; argv++)
		args[n++] = *argv;
	args[n] = NULL;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execvp("bash", (char *const *)args);
		fprintf(stderr, "execvp bash: %s\n", strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	while (got < len - 1 &&
	    (r = read(pfd[0], out + got, len - 1 - got)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		ck_assert_msg(r > 0, "read: %s", strerror(errno));
		got += (size_t)r;
	}
	out[got] = '\0';
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "bash exited with status %d: %s", status, out);
}

/* WORDS as bash would split the line: COMPREPLY is WANT. */
static void
complete_is(const char *const *words, const char *want)
{
	char	out[OUT_MAX], line[1024] = "";
	int	i;

	for (i = 0; words[i] != NULL; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
		    "%s\"%s\"", i > 0 ? " " : "", words[i]);
	run_bash(script, words, out, sizeof(out));
	ck_assert_msg(strcmp(out, want) == 0,
	    "completing %s: got\n%s\nwant\n%s", line, out, want);
}

/* What the fake clusterctl was called with, or "" if it was not. */
static void
calls_are(const char *want)
{
	char	 text[1024] = "";
	FILE	*fp;
	size_t	 n;

	if ((fp = fopen(path_calls, "r")) != NULL) {
		n = fread(text, 1, sizeof(text) - 1, fp);
		text[n] = '\0';
		fclose(fp);
	}
	ck_assert_str_eq(text, want);
}

#define W(...)	((const char *const []){ __VA_ARGS__, NULL })

START_TEST(registered)
{
	char	out[OUT_MAX];

	run_bash(". \"$1\" && complete -p clusterctl", W("x"), out,
	    sizeof(out));
	ck_assert_str_eq(out, "complete -F _clusterctl clusterctl\n");
}
END_TEST

START_TEST(commands)
{
	complete_is(W("clusterctl", ""),
	    "check\nreload\nrestart\nscale\nshutdown\nsignal\nstart\n"
	    "status\nstop\nupgrade\n");
	complete_is(W("clusterctl", "re"), "reload\nrestart\n");
	complete_is(W("clusterctl", "st"), "start\nstatus\nstop\n");
	complete_is(W("clusterctl", "-s", "/run/x.sock", "--json", "sh"),
	    "shutdown\n");
	complete_is(W("clusterctl", "--timeout", "5s", "up"), "upgrade\n");
	complete_is(W("clusterctl", "nosuch"), "");
	calls_are("");
}
END_TEST

START_TEST(options)
{
	complete_is(W("clusterctl", "-"),
	    "--help\n--json\n--socket\n--timeout\n--version\n--wait\n"
	    "-V\n-c\n-h\n-s\n");
	complete_is(W("clusterctl", "--"),
	    "--help\n--json\n--socket\n--timeout\n--version\n--wait\n");
	complete_is(W("clusterctl", "--j"), "--json\n");
	complete_is(W("clusterctl", "restart", "--w"), "--wait\n");
	complete_is(W("clusterctl", "--timeout", ""), "");
	complete_is(W("clusterctl", "--timeout", "="), "");
	calls_are("");
}
END_TEST

/* -s and -c take a file name, in either spelling of the option. */
START_TEST(files)
{
	char	prefix[256], want[512];

	snprintf(prefix, sizeof(prefix), "%s/app.", dir);
	snprintf(want, sizeof(want), "%s/app.ini\n%s/app.sock\n", dir, dir);
	complete_is(W("clusterctl", "-s", prefix), want);
	complete_is(W("clusterctl", "-c", prefix), want);
	complete_is(W("clusterctl", "--socket", "=", prefix), want);
	snprintf(prefix, sizeof(prefix), "%s/app.s", dir);
	snprintf(want, sizeof(want), "%s/app.sock\n", dir);
	complete_is(W("clusterctl", "restart", "-s", prefix), want);
	calls_are("");
}
END_TEST

START_TEST(programs_from_the_socket_on_the_line)
{
	complete_is(W("clusterctl", "-s", "/run/a.sock", "restart", ""),
	    "web\nworker.q\n");
	calls_are("|-s /run/a.sock --json status\n");
}
END_TEST

START_TEST(programs_every_spelling)
{
	complete_is(W("clusterctl", "--socket", "=", "/run/b.sock", "stop",
	    "w"), "web\nworker.q\n");
	complete_is(W("clusterctl", "-c", "/etc/clusterd/app.ini", "start",
	    "wo"), "worker.q\n");
	complete_is(W("clusterctl", "status", "--socket", "/run/c.sock",
	    ""), "web\nworker.q\n");
	complete_is(W("clusterctl", "-s/run/d.sock", "scale", "we"),
	    "web\n");
	calls_are("|--socket=/run/b.sock --json status\n"
	    "|-c /etc/clusterd/app.ini --json status\n"
	    "|--socket /run/c.sock --json status\n"
	    "|-s/run/d.sock --json status\n");
}
END_TEST

START_TEST(programs_from_the_environment)
{
	ck_assert_int_eq(setenv("CLUSTERD_CONTROL", "/run/env.sock", 1), 0);
	complete_is(W("clusterctl", "restart", "--wait", ""),
	    "web\nworker.q\n");
	calls_are("/run/env.sock|--json status\n");
}
END_TEST

/* Only the first argument of a command is a program. */
START_TEST(arguments_after_the_program)
{
	complete_is(W("clusterctl", "scale", "web", ""), "");
	complete_is(W("clusterctl", "stop", "web", ""), "");
	complete_is(W("clusterctl", "reload", ""), "");
	complete_is(W("clusterctl", "shutdown", ""), "");
	calls_are("");
}
END_TEST

START_TEST(signals)
{
	complete_is(W("clusterctl", "signal", ""), "web\nworker.q\n");
	complete_is(W("clusterctl", "signal", "web", "US"), "USR1\nUSR2\n");
	complete_is(W("clusterctl", "signal", "web", "te"), "term\n");
	complete_is(W("clusterctl", "signal", "web", "SIGH"), "SIGHUP\n");
	complete_is(W("clusterctl", "signal", "web", "sigk"), "sigkill\n");
	complete_is(W("clusterctl", "signal", "web", "TT"), "TTIN\nTTOU\n");
	complete_is(W("clusterctl", "signal", "web", "TERM", ""), "");
}
END_TEST

START_TEST(signals_all)
{
	char	out[OUT_MAX];
	int	n = 0;
	char	*p;

	run_bash(script, W("clusterctl", "signal", "web", ""), out,
	    sizeof(out));
	for (p = out; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	ck_assert_int_eq(n, 31);
	ck_assert_ptr_nonnull(strstr(out, "\nHUP\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nWINCH\n"));
}
END_TEST

/* No clusterd: no names, no error text, and the line still completes. */
START_TEST(daemon_down)
{
	write_file("down", "", 0644);
	complete_is(W("clusterctl", "-s", "/run/none.sock", "restart", ""),
	    "");
	calls_are("|-s /run/none.sock --json status\n");
}
END_TEST

/* A clusterd that does not answer costs the completion 2 seconds. */
START_TEST(daemon_hangs)
{
	struct timespec	t0, t1;
	double		secs;

	write_file("hang", "", 0644);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	complete_is(W("clusterctl", "-s", "/run/stuck.sock", "stop", ""),
	    "");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(secs >= 1.5 && secs < 6, "took %.1fs", secs);
}
END_TEST

static Suite *
completion_suite(void)
{
	Suite	*s = suite_create("completion");
	TCase	*tc = tcase_create("bash");

	tcase_add_unchecked_fixture(tc, dir_create, dir_remove);
	tcase_add_checked_fixture(tc, reset, NULL);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, registered);
	tcase_add_test(tc, commands);
	tcase_add_test(tc, options);
	tcase_add_test(tc, files);
	tcase_add_test(tc, programs_from_the_socket_on_the_line);
	tcase_add_test(tc, programs_every_spelling);
	tcase_add_test(tc, programs_from_the_environment);
	tcase_add_test(tc, arguments_after_the_program);
	tcase_add_test(tc, signals);
	tcase_add_test(tc, signals_all);
	tcase_add_test(tc, daemon_down);
	tcase_add_test(tc, daemon_hangs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(completion_suite());
}
