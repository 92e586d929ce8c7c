/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of the pidfile: written whole under a random name and
 * renamed, never through anything planted at a name one could guess.
 */

#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "runner.h"

static char	dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/clusterd-pidfile.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	char		 p[PATH_MAX];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static const char *
in_dir(const char *name)
{
	static char	bufs[4][PATH_MAX];
	static int	next;

	next = (next + 1) % 4;
	snprintf(bufs[next], sizeof(bufs[next]), "%s/%s", dir, name);
	return bufs[next];
}

static void
write_text(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static char *
read_text(const char *path)
{
	static char	 buf[256];
	FILE		*f = fopen(path, "r");
	size_t		 n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
entries(void)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
assert_pidfile(const char *path)
{
	struct stat	st;
	char		want[32];

	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_str_eq(read_text(path), want);
}

/* The pid and a newline, mode 0644 whatever the umask; nothing else. */
START_TEST(writes_the_pid)
{
	mode_t	old = umask(077);

	ck_assert_int_eq(pidfile_write(in_dir("app.pid")), 0);
	umask(old);
	assert_pidfile(in_dir("app.pid"));
	ck_assert_int_eq(entries(), 1);
	/* again: replaced whole */
	write_text(in_dir("app.pid"), "12345678901234567890\n");
	ck_assert_int_eq(pidfile_write(in_dir("app.pid")), 0);
	assert_pidfile(in_dir("app.pid"));
	ck_assert_int_eq(entries(), 1);
	ck_assert_int_eq(pidfile_write(NULL), 0);
}
END_TEST

/*
 * Symlinks to a victim at every name a writer might take, app.pid
 * included: the victim is untouched, the links stay links, app.pid
 * becomes a regular file.
 */
START_TEST(symlinks_are_not_followed)
{
	static const char *const names[] = { "app.pid.tmp", ".app.pid.tmp",
	    "app.pid.new", "app.pid~", ".app.pid.XXXXXX" };
	char		target[PATH_MAX];
	size_t		i;
	ssize_t		n;

	write_text(in_dir("victim"), "precious\n");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_int_eq(symlink(in_dir("victim"), in_dir(names[i])),
		    0);
	ck_assert_int_eq(symlink(in_dir("victim"), in_dir("app.pid")), 0);
	ck_assert_int_eq(pidfile_write(in_dir("app.pid")), 0);
	ck_assert_str_eq(read_text(in_dir("victim")), "precious\n");
	assert_pidfile(in_dir("app.pid"));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = readlink(in_dir(names[i]), target, sizeof(target) - 1);
		ck_assert_int_gt(n, 0);
		target[n] = '\0';
		ck_assert_str_eq(target, in_dir("victim"));
	}
	/* victim, the links, app.pid: no temporary file left */
	ck_assert_int_eq(entries(), (int)(sizeof(names) / sizeof(names[0])) +
	    2);
}
END_TEST

/* A directory that does not exist: -1, nothing created. */
START_TEST(missing_directory)
{
	ck_assert_int_eq(pidfile_write(in_dir("nope/app.pid")), -1);
	ck_assert_int_eq(entries(), 0);
}
END_TEST

/* Removal takes the name away, a symlink's target never. */
START_TEST(remove_unlinks_the_name)
{
	ck_assert_int_eq(pidfile_write(in_dir("app.pid")), 0);
	pidfile_remove(in_dir("app.pid"));
	ck_assert_int_eq(access(in_dir("app.pid"), F_OK), -1);
	pidfile_remove(in_dir("app.pid"));	/* gone already: quiet */
	pidfile_remove(NULL);
	write_text(in_dir("victim"), "precious\n");
	ck_assert_int_eq(symlink(in_dir("victim"), in_dir("app.pid")), 0);
	pidfile_remove(in_dir("app.pid"));
	ck_assert_str_eq(read_text(in_dir("victim")), "precious\n");
	ck_assert_int_eq(entries(), 1);
}
END_TEST

static Suite *
pidfile_suite(void)
{
	Suite	*s = suite_create("pidfile");
	TCase	*tc = tcase_create("pidfile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, writes_the_pid);
	tcase_add_test(tc, symlinks_are_not_followed);
	tcase_add_test(tc, missing_directory);
	tcase_add_test(tc, remove_unlinks_the_name);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(pidfile_suite());
}
