/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of cgroup.c: finding clusterd's cgroup from the text of
 * /proc/self/cgroup and /proc/self/mountinfo, telling systemd's units,
 * and what it reads and does in a worker's cgroup, on a directory that
 * stands in for one: memory (memory.current less inactive_file, or the
 * sum of the processes' resident memory), CPU (cpu.stat), populated
 * (cgroup.events), and SIGKILL without cgroup.kill (each process of
 * cgroup.procs), as on kernels before 5.14.
 */

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "runner.h"

static char	dir[64];
static const char *const files[] = { "cgroup.events", "cgroup.procs",
	"memory.current", "memory.stat", "cpu.stat", NULL };

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/clusterd-cgroup.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
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
teardown(void)
{
	size_t	i;

	for (i = 0; files[i] != NULL; i++)
		unlink(in_dir(files[i]));
	rmdir(dir);
}

static void
put(const char *name, const char *text)
{
	FILE	*f = fopen(in_dir(name), "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/*
 * A child that waits to be killed, born with SIGTERM's default action
 * (not Check's handler, which would signal the test's process group).
 */
static pid_t
sleeper(void)
{
	void	(*old)(int) = signal(SIGTERM, SIG_DFL);
	pid_t	  pid = fork();

	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		for (;;)
			pause();
	}
	signal(SIGTERM, old);
	return pid;
}

/*
 * Finding the cgroup.
 */

START_TEST(own_path)
{
	char	buf[64];

	ck_assert_int_eq(cgroup_own_path("12:memory:/x\n0::/a/b\n", buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/a/b");
	ck_assert_int_eq(cgroup_own_path("0::/", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/");
	/* cgroup v1 only */
	ck_assert_int_eq(cgroup_own_path("4:memory:/x\n1:name=systemd:/\n",
	    buf, sizeof(buf)), -1);
	ck_assert_int_eq(cgroup_own_path("", buf, sizeof(buf)), -1);
	/* too long for the buffer */
	ck_assert_int_eq(cgroup_own_path("0::/aaaaaaaa\n", buf, 4), -1);
}
END_TEST

static const char mountinfo[] =
    "23 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup "
    "rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 master:2 - "
    "cgroup2 cgroup2 rw\n";

START_TEST(find_dir)
{
	char	buf[PATH_MAX];

	ck_assert_int_eq(cgroup_find_dir(mountinfo, "/a/b", buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/sys/fs/cgroup/unified/a/b");
	ck_assert_int_eq(cgroup_find_dir(mountinfo, "/", buf, sizeof(buf)),
	    0);
	ck_assert_str_eq(buf, "/sys/fs/cgroup/unified");
	/* no cgroup2 mount: the v1 memory hierarchy is not it */
	ck_assert_int_eq(cgroup_find_dir("35 31 0:32 / /sys/fs/cgroup/memory "
	    "rw - cgroup cgroup rw,memory\n", "/a", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cgroup_find_dir("", "/a", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cgroup_find_dir(mountinfo, "/a", buf, 8), -1);
}
END_TEST

START_TEST(find_dir_root_and_escapes)
{
	char	buf[PATH_MAX];

	/* a mount of a subtree, at a path with a space (\040) */
	static const char sub[] =
	    "50 31 0:38 /a /mnt/with\\040space rw - cgroup2 cgroup2 rw\n";

	ck_assert_int_eq(cgroup_find_dir(sub, "/a/b", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/mnt/with space/b");
	ck_assert_int_eq(cgroup_find_dir(sub, "/a", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/mnt/with space");
	/* /ab is not below /a; / is above it */
	ck_assert_int_eq(cgroup_find_dir(sub, "/ab", buf, sizeof(buf)), -1);
	ck_assert_int_eq(cgroup_find_dir(sub, "/", buf, sizeof(buf)), -1);
}
END_TEST

START_TEST(unit_prefix)
{
	const char	*p;
	int		 slice = -1;

	p = "/sys/fs/cgroup/system.slice/clusterd.service/supervisor";
	ck_assert_uint_eq(cgroup_unit_prefix(p, &slice),
	    strlen("/sys/fs/cgroup/system.slice/clusterd.service"));
	ck_assert_int_eq(slice, 0);
	p = "/sys/fs/cgroup/user.slice/user-0.slice/session-3.scope";
	ck_assert_uint_eq(cgroup_unit_prefix(p, &slice), strlen(p));
	ck_assert_int_eq(slice, 0);
	p = "/sys/fs/cgroup/user.slice/user-0.slice";
	ck_assert_uint_eq(cgroup_unit_prefix(p, &slice), strlen(p));
	ck_assert_int_eq(slice, 1);
	p = "/sys/fs/cgroup/unified/clusterd-test.1/x";
	ck_assert_uint_eq(cgroup_unit_prefix(p, &slice), 0);
	ck_assert_uint_eq(cgroup_unit_prefix("/.service/a", &slice), 0);
}
END_TEST

/*
 * What is read in a worker's cgroup.
 */

START_TEST(populated)
{
	ck_assert_int_eq(cgroup_populated(dir), -1);
	put("cgroup.events", "populated 1\nfrozen 0\n");
	ck_assert_int_eq(cgroup_populated(dir), 1);
	put("cgroup.events", "populated 0\nfrozen 0\n");
	ck_assert_int_eq(cgroup_populated(dir), 0);
	ck_assert_int_eq(cgroup_populated("/nonexistent/cgroup"), -1);
}
END_TEST

START_TEST(memory_current)
{
	put("memory.current", "1000000\n");
	put("memory.stat", "anon 5\nfile 400000\nactive_file 100000\n"
	    "inactive_file 300000\n");
	ck_assert_int_eq(cgroup_memory(dir, getpid()), 700000);
	/* without memory.stat: memory.current as it is */
	unlink(in_dir("memory.stat"));
	ck_assert_int_eq(cgroup_memory(dir, getpid()), 1000000);
}
END_TEST

/* No memory controller: the sum of the processes of cgroup.procs. */
START_TEST(memory_sum)
{
	pid_t		a = sleeper(), b = sleeper();
	char		text[64];
	long long	want;
	int		st;

	snprintf(text, sizeof(text), "%ld\n%ld\n", (long)a, (long)b);
	put("cgroup.procs", text);
	want = proc_rss(a) + proc_rss(b);
	ck_assert_int_gt(proc_rss(a), 0);
	ck_assert_int_eq(cgroup_memory(dir, getpid()), want);
	/* nothing to read in it: the process's own */
	unlink(in_dir("cgroup.procs"));
	ck_assert_int_eq(cgroup_memory(dir, a), proc_rss(a));
	ck_assert_int_eq(cgroup_memory(NULL, b), proc_rss(b));
	kill(a, SIGKILL);
	kill(b, SIGKILL);
	waitpid(a, &st, 0);
	waitpid(b, &st, 0);
}
END_TEST

START_TEST(cpu_stat)
{
	put("cpu.stat", "usage_usec 2500000\nuser_usec 2000000\n"
	    "system_usec 500000\n");
	ck_assert_double_eq_tol(cgroup_cpu(dir, getpid()), 2.5, 1e-9);
	unlink(in_dir("cpu.stat"));
	ck_assert(cgroup_cpu(dir, getpid()) >= 0);
	ck_assert(cgroup_cpu(NULL, getpid()) >= 0);
}
END_TEST

/*
 * Signals.
 */

/* Without cgroup.kill, SIGKILL goes to each pid of cgroup.procs. */
START_TEST(kill_without_cgroup_kill)
{
	pid_t	a = sleeper(), b = sleeper();
	char	text[64];
	int	st;

	snprintf(text, sizeof(text), "%ld\n%ld\n", (long)a, (long)b);
	put("cgroup.procs", text);
	ck_assert_int_eq(cgroup_signal(dir, SIGKILL, 0), 0);
	ck_assert_int_eq(waitpid(a, &st, 0), a);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	ck_assert_int_eq(waitpid(b, &st, 0), b);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* a cgroup that is not there: the caller uses the process group */
	ck_assert_int_eq(cgroup_signal("/nonexistent/cgroup", SIGKILL, 0),
	    -1);
}
END_TEST

/*
 * Another signal goes to each process too (the leader need not be one
 * of them: it may have exited); with a leader and an empty cgroup (its
 * child has not joined yet), the caller is told to signal the process
 * group instead.
 */
START_TEST(signal_and_leader)
{
	pid_t	a = sleeper(), b = sleeper();
	char	text[64];
	int	st;

	snprintf(text, sizeof(text), "%ld\n", (long)a);
	put("cgroup.procs", text);
	ck_assert_int_eq(cgroup_signal(dir, SIGTERM, b), 0);
	ck_assert_int_eq(waitpid(a, &st, 0), a);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	ck_assert_int_eq(kill(b, 0), 0);	/* not listed: not signalled */
	put("cgroup.procs", "");
	ck_assert_int_eq(cgroup_signal(dir, SIGTERM, 0), 0);
	ck_assert_int_eq(cgroup_signal(dir, SIGTERM, b), -1);
	ck_assert_int_eq(kill(b, 0), 0);	/* not signalled */
	kill(b, SIGKILL);
	waitpid(b, &st, 0);
	ck_assert_int_eq(cgroup_signal("/nonexistent/cgroup", SIGTERM, 0),
	    -1);
}
END_TEST

static Suite *
cgroup_suite(void)
{
	Suite	*s = suite_create("cgroup");
	TCase	*tc;

	tc = tcase_create("find");
	tcase_add_test(tc, own_path);
	tcase_add_test(tc, find_dir);
	tcase_add_test(tc, find_dir_root_and_escapes);
	tcase_add_test(tc, unit_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("read");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, populated);
	tcase_add_test(tc, memory_current);
	tcase_add_test(tc, memory_sum);
	tcase_add_test(tc, cpu_stat);
	suite_add_tcase(s, tc);

	tc = tcase_create("signal");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, kill_without_cgroup_kill);
	tcase_add_test(tc, signal_and_leader);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(cgroup_suite());
}
