/*
 * Unit tests of the log format: a timestamp and level on a terminal or a
 * file, a <N> priority prefix alone when stderr is the journal.
 */

#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "runner.h"

static char	path[] = "/tmp/clusterd-log-test.XXXXXX";

/* Point stderr at a fresh temporary file. */
static void
capture(void)
{
	int	fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

static char *
captured(void)
{
	static char	buf[4096];
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

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("log");

	tcase_add_test(tc, plain_lines_have_time_and_level);
	tcase_add_test(tc, journal_lines_have_priority_only);
	tcase_add_test(tc, journal_stream_of_another_file);
	tcase_add_test(tc, levels_parse_and_clamp);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(log_suite());
}
