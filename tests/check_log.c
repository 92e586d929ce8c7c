/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of the log format: a timestamp and level on a terminal or a
 * file, a <N> priority prefix alone when stderr is the journal; and of
 * the policy for a stderr nobody reads: never block, keep a bounded
 * backlog, drop and count the rest.  Workers' captured lines (log_line)
 * come out whole, with their own priority, unfiltered; log_congested()
 * says "wait" before the backlog is full, and only for a slow reader.
 */

#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "runner.h"

static char	path[64];

/* Point stderr at a fresh temporary file. */
static void
capture(void)
{
	int	fd;

	/* a template of its own each time: CK_FORK=no runs them in a row */
	snprintf(path, sizeof(path), "/tmp/clusterd-log-test.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

static char *
captured(void)
{
	static char	buf[65536];
	FILE		*f;
	size_t		 n;

	fflush(stderr);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	return buf;
}

static void
journal_env(void)
{
	struct stat	st;
	char		val[64];

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(val, sizeof(val), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", val, 1);
}

START_TEST(plain_lines_have_time_and_level)
{
	regex_t	 re;
	char	*out;

	unsetenv("JOURNAL_STREAM");
	capture();
	log_init(LOG_LVL_INFO);
	log_info("web[0] started (pid %d)", 42);
	log_debug("not shown");
	errno = ENOENT;
	log_warn("open %s", "x");
	out = captured();
	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2} "
	    "[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} clusterd\\[info\\] "
	    "web\\[0\\] started \\(pid 42\\)\n[^\n]* clusterd\\[warning\\] "
	    "open x: No such file or directory\n$", REG_EXTENDED), 0);
	ck_assert_msg(regexec(&re, out, 0, NULL, 0) == 0, "got: %s", out);
	regfree(&re);
}
END_TEST

/*
 * Held: the first warning is kept for the caller; nothing is written,
 * unless the caller has them written after all.
 */
START_TEST(held_warnings_are_kept_not_written)
{
	char	*out;

	unsetenv("JOURNAL_STREAM");
	capture();
	log_init(LOG_LVL_INFO);
	log_hold();
	errno = EAGAIN;
	log_warn("web[3]: fork");
	log_errorx("web[3]: second");
	log_info("web: info passes");
	ck_assert_str_eq(log_release(0), "web[3]: fork: "
	    "Resource temporarily unavailable");
	log_warnx("after");
	log_hold();
	ck_assert_str_eq(log_release(1), "");
	log_hold();
	log_warnx("web[4]: no journal");
	log_errorx("web[4]: and worse");
	ck_assert_str_eq(log_release(1), "web[4]: no journal");
	out = captured();
	ck_assert_ptr_null(strstr(out, "fork"));
	ck_assert_ptr_null(strstr(out, "second"));
	ck_assert_ptr_nonnull(strstr(out, "info passes"));
	ck_assert_ptr_nonnull(strstr(out, "after"));
	/* released with emit: written after all, at their own levels */
	ck_assert_ptr_nonnull(strstr(out, "[warning] web[4]: no journal\n"));
	ck_assert_ptr_nonnull(strstr(out, "[error] web[4]: and worse\n"));
}
END_TEST

START_TEST(journal_lines_have_priority_only)
{
	capture();
	journal_env();
	log_init(LOG_LVL_DEBUG);
	log_errorx("a");
	log_warnx("b");
	log_notice("c");
	log_info("d");
	log_debug("e");
	ck_assert_str_eq(captured(), "<3>a\n<4>b\n<5>c\n<6>d\n<7>e\n");
}
END_TEST

START_TEST(journal_stream_of_another_file)
{
	char	*out;

	setenv("JOURNAL_STREAM", "1:2", 1);
	capture();
	log_init(LOG_LVL_INFO);
	log_info("x");
	out = captured();
	ck_assert_msg(out[0] != '<' && strstr(out, "clusterd[info] x\n"),
	    "got: %s", out);
}
END_TEST

START_TEST(levels_parse_and_clamp)
{
	ck_assert_int_eq(log_level_parse("debug"), LOG_LVL_DEBUG);
	ck_assert_int_eq(log_level_parse("warning"), LOG_LVL_WARNING);
	ck_assert_int_eq(log_level_parse("warn"), -1);
	log_setlevel(LOG_LVL_DEBUG + 3);
	ck_assert_int_eq(log_getlevel(), LOG_LVL_DEBUG);
	log_setlevel(-5);
	ck_assert_int_eq(log_getlevel(), LOG_LVL_ERROR);
}
END_TEST

/*
 * Log LINES messages into stderr = fd, which nobody reads yet; then read
 * it (read_some drains what is there), logging a tick now and then, until
 * the count of dropped messages has come out.  Every call must return at
 * once, every line must come out whole and in order, and what came out
 * plus what was dropped must be what was logged.
 */
#define LINES	3000

static void
unread_stderr(int fd, int reader, size_t (*read_some)(int, char *, size_t))
{
	static char	 got[1 << 20];
	struct timespec	 t0, t1;
	size_t		 len = 0;
	char		*line, *next, *s;
	long		 last = -1, n, seen = 0, dropped = -1;
	int		 i;

	unsetenv("JOURNAL_STREAM");
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	alarm(30);	/* blocked for good: end the test, never hang */
	log_init(LOG_LVL_INFO);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < LINES; i++)
		log_info("line %d of a log nobody reads, padded to about a "
		    "hundred bytes", i);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_msg(t1.tv_sec - t0.tv_sec < 3, "%d lines took %lds", LINES,
	    (long)(t1.tv_sec - t0.tv_sec));
	/* workers inherit fd 2: its file must stay blocking */
	ck_assert_int_eq(fcntl(STDERR_FILENO, F_GETFL) & O_NONBLOCK, 0);
	for (i = 0; i < 200 && strstr(got, "dropped") == NULL; i++) {
		len += read_some(reader, got + len, sizeof(got) - len - 1);
		got[len] = '\0';
		log_info("tick %d", i);
	}
	len += read_some(reader, got + len, sizeof(got) - len - 1);
	got[len] = '\0';
	for (line = got; (next = strchr(line, '\n')) != NULL; line = next + 1) {
		*next = '\0';
		ck_assert_msg(strncmp(line, "20", 2) == 0 &&
		    strstr(line, " clusterd[") != NULL, "not a whole line: %s",
		    line);
		if ((s = strstr(line, "] line ")) != NULL) {
			n = strtol(s + 7, NULL, 10);
			ck_assert_msg(n > last, "line %ld after %ld", n, last);
			last = n;
			seen++;
		} else if ((s = strstr(line, "] ")) != NULL &&
		    strstr(s, " log messages dropped: stderr was not being "
		    "read") != NULL)
			dropped = strtol(s + 2, NULL, 10);
	}
	ck_assert_msg(*line == '\0', "a cut line at the end: %s", line);
	ck_assert_msg(dropped > 0, "no count of dropped messages");
	ck_assert_int_eq(seen + dropped, LINES);
}

static size_t
read_pipe(int fd, char *buf, size_t len)
{
	ssize_t	n, total = 0;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (len > 0 && (n = read(fd, buf, len)) > 0) {
		buf += n;
		len -= (size_t)n;
		total += n;
	}
	return (size_t)total;
}

static size_t
read_socket(int fd, char *buf, size_t len)
{
	ssize_t	n, total = 0;

	while (len > 0 && (n = recv(fd, buf, len, MSG_DONTWAIT)) > 0) {
		buf += n;
		len -= (size_t)n;
		total += n;
	}
	return (size_t)total;
}

/* clusterd's stderr a pipe nobody reads (bench/soak.py scenario f). */
START_TEST(full_pipe_never_blocks)
{
	int	p[2];

	ck_assert_int_eq(pipe(p), 0);
	unread_stderr(p[1], p[0], read_pipe);
}
END_TEST

/* The same with a stream socket, as the journal's. */
START_TEST(full_socket_never_blocks)
{
	int	sv[2], small = 4096;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	unread_stderr(sv[0], sv[1], read_socket);
}
END_TEST

/* Captured lines: their priority by name, the prefix, the text whole. */
START_TEST(worker_lines_plain)
{
	char	*out, text[] = "hello worldXXX";

	unsetenv("JOURNAL_STREAM");
	capture();
	log_init(LOG_LVL_ERROR);	/* log_level does not apply */
	log_line(6, "web[0]: ", text, 11);
	log_line(2, "web[1]+ ", "", 0);
	log_line(42, "x: ", "out of range is info", 20);
	out = captured();
	ck_assert_msg(strstr(out, " clusterd[info] web[0]: hello world\n") !=
	    NULL, "got: %s", out);
	ck_assert_msg(strstr(out, " clusterd[crit] web[1]+ \n") != NULL,
	    "got: %s", out);
	ck_assert_msg(strstr(out, " clusterd[info] x: out of range is info\n")
	    != NULL, "got: %s", out);
	ck_assert_ptr_null(strstr(out, "XXX"));
}
END_TEST

START_TEST(worker_lines_journal)
{
	capture();
	journal_env();
	log_init(LOG_LVL_INFO);
	ck_assert_int_eq(log_is_journal(), 1);
	log_line(3, "web[0]: ", "oops", 4);
	log_line(7, "web[0]: ", "details", 7);
	ck_assert_str_eq(captured(), "<3>web[0]: oops\n<7>web[0]: details\n");
	unsetenv("JOURNAL_STREAM");
	capture();
	log_init(LOG_LVL_INFO);
	ck_assert_int_eq(log_is_journal(), 0);
	(void)captured();
}
END_TEST

/* A line of LOG_LINE_TEXT_MAX bytes comes out whole; the same line is
 * never held back as "more like this". */
START_TEST(worker_lines_whole_and_unlimited)
{
	static char	 text[LOG_LINE_TEXT_MAX];
	char		*out, *p;
	int		 i, n = 0;

	memset(text, 'a', sizeof(text));
	unsetenv("JOURNAL_STREAM");
	capture();
	log_init(LOG_LVL_INFO);
	log_line(6, "web[0]: ", text, sizeof(text));
	for (i = 0; i < 20; i++)
		log_line(4, "web[0]: ", "the same warning 1", 18);
	out = captured();
	p = strstr(out, "web[0]: a");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(strspn(p + 8, "a"), LOG_LINE_TEXT_MAX);
	ck_assert_int_eq(p[8 + LOG_LINE_TEXT_MAX], '\n');
	for (p = out; (p = strstr(p, "the same warning 1\n")) != NULL; p++)
		n++;
	ck_assert_int_eq(n, 20);
	ck_assert_ptr_null(strstr(out, "more like this"));
}
END_TEST

/*
 * A pipe nobody reads: log_congested() turns on before anything is
 * dropped, and off once the reader has caught up and log_flush() wrote
 * what waited; log_wait_fd() is what to poll meanwhile, as long as
 * log_backlog() says lines wait.
 */
START_TEST(congested_before_dropping)
{
	static char	 sink[1 << 20];
	struct pollfd	 pfd;
	int		 p[2], i;

	unsetenv("JOURNAL_STREAM");
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	log_init(LOG_LVL_INFO);
	ck_assert_int_eq(log_congested(), 0);
	for (i = 0; i < 10000 && !log_congested(); i++)
		log_line(6, "web[0]: ", "a line of a worker's, about sixty "
		    "bytes long", 44);
	ck_assert_msg(log_congested(), "not congested after %d lines", i);
	ck_assert_int_eq(log_backlog(), 1);
	ck_assert_int_eq(log_dropped_count(), 0);
	pfd.fd = log_wait_fd();
	pfd.events = POLLOUT;
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);	/* the pipe is full */
	while (log_congested()) {
		ck_assert_int_gt(read_pipe(p[0], sink, sizeof(sink)), 0);
		ck_assert_int_eq(poll(&pfd, 1, 1000), 1);
		(void)log_flush();
	}
	ck_assert_int_eq(log_flush(), 0);
	ck_assert_int_eq(log_backlog(), 0);
	ck_assert_int_eq(log_dropped_count(), 0);
	(void)read_pipe(p[0], sink, sizeof(sink));
	close(p[0]);
}
END_TEST

/*
 * Waiting would not help: a file (writes do not wait), or a reader that
 * is gone (EPIPE).  Never congested; lines are dropped instead.
 */
START_TEST(never_congested_when_waiting_is_useless)
{
	int	p[2], i;

	unsetenv("JOURNAL_STREAM");
	capture();
	log_init(LOG_LVL_INFO);
	for (i = 0; i < 3000; i++)
		log_line(6, "web[0]: ", "to a file", 9);
	ck_assert_int_eq(log_congested(), 0);
	ck_assert_int_eq(log_backlog(), 0);
	(void)captured();
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	close(p[0]);
	log_init(LOG_LVL_INFO);
	for (i = 0; i < 3000; i++)
		log_line(6, "web[0]: ", "to nobody at all", 16);
	ck_assert_int_eq(log_congested(), 0);
	ck_assert_int_eq(log_backlog(), 0);	/* lines wait, in vain */
	ck_assert_int_gt(log_dropped_count(), 0);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("log");

	tcase_add_test(tc, plain_lines_have_time_and_level);
	tcase_add_test(tc, journal_lines_have_priority_only);
	tcase_add_test(tc, held_warnings_are_kept_not_written);
	tcase_add_test(tc, journal_stream_of_another_file);
	tcase_add_test(tc, levels_parse_and_clamp);
	tcase_add_test(tc, full_pipe_never_blocks);
	tcase_add_test(tc, full_socket_never_blocks);
	tcase_add_test(tc, worker_lines_plain);
	tcase_add_test(tc, worker_lines_journal);
	tcase_add_test(tc, worker_lines_whole_and_unlimited);
	tcase_add_test(tc, congested_before_dropping);
	tcase_add_test(tc, never_congested_when_waiting_is_useless);
	tcase_set_timeout(tc, 40);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(log_suite());
}
