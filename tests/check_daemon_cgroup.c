/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests of worker cgroups: clusterd, run by hand as root in
 * a cgroup v2 the test makes for it (a child of the hierarchy's root,
 * found in /proc/self/mountinfo), gives each worker a cgroup of its own,
 * so that what a worker started is stopped with it even when it left
 * the worker's process group (setsid, a double fork); max_memory and
 * clusterctl status count everything in that cgroup.  The same
 * scenarios with clusterd in the root cgroup, which it does not manage,
 * show what happened before: the escaped processes live on.
 *
 * Every test needs root and a writable cgroup v2 hierarchy; without
 * them it says so on stderr and passes.  Each test's cgroup is
 * clusterd-test.PID (PID: the test process); it is removed at the end,
 * also when the test fails, and one left by a test killed by its
 * timeout is removed by the next test.
 */

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define WAIT		15000	/* ms: deadline of a wait */
#define TEST_TIMEOUT	90	/* s: Check's per-test timeout */
#define PYTHON		"/usr/bin/python3"
#define NOBODY		65534
#define PREFIX		"clusterd-test."

static char	cg_mnt[PATH_MAX];	/* the cgroup v2 hierarchy's root */
static char	cg_dir[PATH_MAX];	/* this test's cgroup */
static int	cg_atexit;

/* snprintf, for paths that always fit here. */
static void	fmt(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
fmt(char *buf, size_t len, const char *f, ...)
{
	va_list	ap;

	va_start(ap, f);
	(void)vsnprintf(buf, len, f, ap);
	va_end(ap);
}

/*
 * The test's cgroup.
 */

/* The mount point of the cgroup v2 hierarchy (its root), or -1. */
static int
find_mount(void)
{
	FILE	*f = fopen("/proc/self/mountinfo", "re");
	char	 line[4096], root[PATH_MAX], mnt[PATH_MAX];
	int	 rc = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, " - cgroup2 ") != NULL &&
		    sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) == 2 &&
		    strcmp(root, "/") == 0) {
			fmt(cg_mnt, sizeof(cg_mnt), "%s", mnt);
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

static int
cg_write(const char *dir, const char *file, const char *text)
{
	char	path[PATH_MAX];
	int	fd, rc;

	fmt(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	close(fd);
	return rc;
}

/* "populated N" of dir's cgroup.events: 1, 0, or -1 if it is gone. */
static int
cg_populated(const char *dir)
{
	char	 path[PATH_MAX], *text, *p;
	int	 v = -1;

	fmt(path, sizeof(path), "%s/cgroup.events", dir);
	if ((text = h_read_file(path)) == NULL)
		return -1;
	if ((p = strstr(text, "populated ")) != NULL)
		v = p[10] == '1';
	free(text);
	return v;
}

/* Remove dir and the cgroups below it, killing what is in them. */
static void
cg_rmtree(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		 sub[PATH_MAX];
	long long	 end;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		fmt(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		cg_rmtree(sub);
	}
	closedir(d);
	if (cg_populated(dir) == 1)
		(void)cg_write(dir, "cgroup.kill", "1");
	end = h_now_ms() + 5000;
	while (cg_populated(dir) == 1 && h_now_ms() < end)
		h_sleep_ms(10);
	if (rmdir(dir) == -1 && errno != ENOENT)
		fprintf(stderr, "check_daemon_cgroup: rmdir %s: %s\n", dir,
		    strerror(errno));
}

static void
cg_teardown(void)
{
	if (cg_dir[0] == '\0')
		return;
	cg_rmtree(cg_dir);
	cg_dir[0] = '\0';
}

/* Test cgroups of test processes that are gone (killed by a timeout). */
static void
cg_sweep_stale(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX], *end;
	long		 pid;

	if ((d = opendir(cg_mnt)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, PREFIX, strlen(PREFIX)) != 0)
			continue;
		pid = strtol(de->d_name + strlen(PREFIX), &end, 10);
		if (*end != '\0' || pid <= 0 || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		fmt(path, sizeof(path), "%s/%s", cg_mnt, de->d_name);
		cg_rmtree(path);
	}
	closedir(d);
}

/*
 * Root and a cgroup v2 hierarchy where a cgroup can be made: this
 * test's cgroup is made.  Else the test is skipped.
 */
static int
need_cgroup(const char *test)
{
	if (geteuid() == 0 && find_mount() == 0) {
		cg_sweep_stale();
		fmt(cg_dir, sizeof(cg_dir), "%s/%s%ld", cg_mnt, PREFIX,
		    (long)getpid());
		if (mkdir(cg_dir, 0755) == 0) {
			if (!cg_atexit)
				atexit(cg_teardown);
			cg_atexit = 1;
			return 1;
		}
		cg_dir[0] = '\0';
	}
	fprintf(stderr, "%s: needs root and a writable cgroup v2 hierarchy; "
	    "skipped\n", test);
	return 0;
}

/* cg_dir/name, in a buffer of its own. */
static const char *
cg_path(const char *name)
{
	static char	buf[4][PATH_MAX];
	static int	n;

	n = (n + 1) % 4;
	fmt(buf[n], sizeof(buf[n]), "%s/%s", cg_dir, name);
	return buf[n];
}

/* The worker cgroups (not supervisor/) in cg_dir. */
static int
worker_cgroups(char names[][64], int max)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	H_ASSERT((d = opendir(cg_dir)) != NULL, "opendir %s: %s", cg_dir,
	    strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
		    strcmp(de->d_name, "supervisor") == 0)
			continue;
		if (names != NULL && n < max)
			fmt(names[n], 64, "%s", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Wait until cg_dir holds n worker cgroups. */
static void
wait_worker_cgroups(int n)
{
	long long	end = h_now_ms() + WAIT;

	while (worker_cgroups(NULL, 0) != n) {
		H_ASSERT(h_now_ms() < end, "%d worker cgroups in %s, %d "
		    "expected", worker_cgroups(NULL, 0), cg_dir, n);
		h_sleep_ms(15);
	}
}

/* The cgroup directory of process pid, into buf. */
static const char *
cgroup_of(pid_t pid, char *buf, size_t len)
{
	char	path[64], *text, *p, *nl;

	fmt(path, sizeof(path), "/proc/%ld/cgroup", (long)pid);
	H_ASSERT((text = h_read_file(path)) != NULL, "%s: %s", path,
	    strerror(errno));
	H_ASSERT((p = strstr(text, "0::")) != NULL, "%s: no 0:: line", path);
	if ((nl = strchr(p, '\n')) != NULL)
		*nl = '\0';
	fmt(buf, len, "%s%s", cg_mnt, p + 3);
	free(text);
	return buf;
}

/*
 * The daemon.
 */

/*
 * Start bin (clusterd) -c CONF in the cgroup dir: a shell moves itself
 * there, then execs it, so that clusterd is there from its first
 * instruction.
 */
static void
start_in(const char *dir, const char *bin)
{
	const char	*argv[] = { "/bin/sh", "-c",
			    "echo $$ >\"$0/cgroup.procs\" && exec \"$@\"", dir,
			    bin, "-c", h_conf(), NULL };

	H_ASSERT(h_start_cmd(argv, NULL) > 0, "start");
}

/* clusterctl ARGS (NULL-ended): its exit status, its stdout in *out. */
static int
ctl(char **out, const char *a1, const char *a2, const char *a3)
{
	const char	*argv[] = { h_ctl_bin(), "-s",
			    h_path("ctl.sock"), a1, a2, a3, NULL };
	char		*o = NULL, *e = NULL;
	int		 st = -1;

	H_ASSERT(h_run(argv, NULL, WAIT, &st, &o, &e), "clusterctl %s did "
	    "not return", a1);
	H_ASSERT(WIFEXITED(st), "clusterctl %s: status 0x%x", a1, st);
	if (out != NULL)
		*out = o != NULL ? o : strdup("");
	else
		free(o);
	free(e);
	return WEXITSTATUS(st);
}

/* The pid written into file, once it is there. */
static pid_t
pid_from(const char *file)
{
	long long	 end = h_now_ms() + WAIT;
	char		*text;
	long		 pid = 0;

	for (;;) {
		if ((text = h_read_file(file)) != NULL) {
			pid = strtol(text, NULL, 10);
			free(text);
		}
		if (pid > 0)
			return (pid_t)pid;
		H_ASSERT(h_daemon_alive(), "the daemon exited while waiting "
		    "for %s", file);
		H_ASSERT(h_now_ms() < end, "%s: no pid in it", file);
		h_sleep_ms(15);
	}
}

/* The first number after key in text (a --json status reply). */
static double
json_num(const char *text, const char *key)
{
	const char	*p = strstr(text, key);

	H_ASSERT(p != NULL, "no %s in %s", key, text);
	return strtod(p + strlen(key), NULL);
}

/* Resident memory of one process, in bytes. */
static long long
rss_of(pid_t pid)
{
	char		 path[64], *text;
	long long	 size = 0, res = 0;

	fmt(path, sizeof(path), "/proc/%ld/statm", (long)pid);
	if ((text = h_read_file(path)) != NULL &&
	    sscanf(text, "%lld %lld", &size, &res) != 2)
		res = 0;
	free(text);
	return res * sysconf(_SC_PAGESIZE);
}

/*
 * The daemon stops cleanly, nothing of the test is left, and its
 * cgroup is as the test made it: no worker cgroup, no supervisor/,
 * no process.
 */
static void
stop_and_check_clean(void)
{
	char	*procs;

	h_stop_daemon();
	H_ASSERT(worker_cgroups(NULL, 0) == 0, "worker cgroups left in %s",
	    cg_dir);
	H_ASSERT(access(cg_path("supervisor"), F_OK) == -1, "%s left",
	    cg_path("supervisor"));
	procs = h_read_file(cg_path("cgroup.procs"));
	H_ASSERT(procs != NULL && procs[0] == '\0', "processes left in %s: "
	    "%s", cg_dir, procs ? procs : "?");
	free(procs);
}

/*
 * Escaping workers.
 */

/*
 * A worker whose child calls setsid() (a new session and process
 * group) and stays; its pid in DIR/gc.SLOT.pid.
 */
static void
write_setsid_worker(int workers, const char *extra)
{
	h_write_file(h_path("esc.sh"),
	    "setsid sh -c 'echo $$ >\"$0\"; exec sleep 1000' "
	    "%s/gc.$CLUSTERD_WORKER.pid &\n"
	    "exec sleep 1000\n", h_dir());
	h_write_config(
	    "[clusterd]\n"
	    "log_level = debug\n"
	    "control = %s\n"
	    "[program:esc]\n"
	    "command = /bin/sh %s\n"
	    "workers = %d\n"
	    "min_uptime = 0\n"
	    "stop_timeout = 2s\n"
	    "%s", h_path("ctl.sock"), h_path("esc.sh"), workers,
	    extra != NULL ? extra : "");
}

/*
 * Stopping a program whose worker's child left the process group:
 * with worker cgroups it is stopped too (its cgroup gets stop_signal),
 * without (clusterd in the root cgroup) it lives on.
 */
static void
setsid_stop(int cgroups)
{
	char	 cg[PATH_MAX], want[PATH_MAX];
	pid_t	 gc;

	write_setsid_worker(1, NULL);
	start_in(cgroups ? cg_dir : cg_mnt, h_clusterd_bin());
	gc = pid_from(h_path("gc.0.pid"));
	h_log_alive("esc[0] (pid", 1);	/* ready */
	H_ASSERT(getsid(gc) == gc, "pid %ld did not call setsid", (long)gc);
	if (cgroups) {
		H_ASSERT(worker_cgroups(NULL, 0) == 1, "no worker cgroup");
		cgroup_of(gc, cg, sizeof(cg));
		fmt(want, sizeof(want), "%s/esc.0.", cg_dir);
		H_ASSERT(strncmp(cg, want, strlen(want)) == 0, "pid %ld is in "
		    "%s, not in esc[0]'s cgroup", (long)gc, cg);
	} else
		H_ASSERT(h_count_log("no cgroup for the workers: clusterd "
		    "runs in the root cgroup") == 1, "no notice");
	H_ASSERT(ctl(NULL, "stop", "esc", NULL) == 0, "clusterctl stop");
	h_log_alive("exited on signal 15", 1);
	if (cgroups) {
		H_ASSERT(h_wait_dead(gc, WAIT), "pid %ld (setsid) survived "
		    "the stop", (long)gc);
		wait_worker_cgroups(0);
		stop_and_check_clean();
		return;
	}
	/* stop_timeout (2s) and more: it is still there */
	h_sleep_ms(2500);
	H_ASSERT(!h_pid_dead(gc), "pid %ld was stopped without a cgroup",
	    (long)gc);
	h_stop_daemon();	/* the orphans clusterd adopted go at exit */
}

START_TEST(test_setsid_stop)
{
	if (!need_cgroup("test_setsid_stop"))
		return;
	setsid_stop(1);
	cg_teardown();
}
END_TEST

START_TEST(test_setsid_stop_no_cgroup)
{
	if (!need_cgroup("test_setsid_stop_no_cgroup"))
		return;
	setsid_stop(0);
	cg_teardown();
}
END_TEST

/*
 * A worker that daemonizes a helper with a double fork (setsid -f: the
 * helper's parent exits, it is re-parented to clusterd) which ignores
 * SIGTERM, then exits by itself.  With cgroups, the clean-up after that
 * exit reaches the helper: SIGTERM, then SIGKILL through cgroup.kill at
 * stop_timeout.  Without, it lives on.
 */
static void
double_fork_exit(int cgroups)
{
	pid_t	gc;

	h_write_file(h_path("dfork.sh"),
	    "setsid -f sh -c 'trap \"\" TERM; echo $$ >\"$0\"; "
	    "while :; do sleep 0.2; done' %s/gc.pid\n"
	    "while [ ! -s %s/gc.pid ]; do sleep 0.05; done\n"
	    "exit 3\n", h_dir(), h_dir());
	h_write_config(
	    "[clusterd]\n"
	    "log_level = debug\n"
	    "[program:dfork]\n"
	    "command = /bin/sh %s\n"
	    "workers = 1\n"
	    "restart = never\n"
	    "stop_timeout = 1s\n", h_path("dfork.sh"));
	start_in(cgroups ? cg_dir : cg_mnt, h_clusterd_bin());
	gc = pid_from(h_path("gc.pid"));
	h_log_alive("exited with status 3", 1);
	H_ASSERT(getsid(gc) == gc, "pid %ld did not call setsid", (long)gc);
	if (cgroups) {
		h_log_alive("left members in its cgroup: SIGTERM now", 1);
		h_log_alive("did not stop within 1s: SIGKILL to its cgroup", 1);
		H_ASSERT(h_wait_dead(gc, WAIT), "pid %ld (double fork) "
		    "survived its worker", (long)gc);
		wait_worker_cgroups(0);
		stop_and_check_clean();
		return;
	}
	h_sleep_ms(2000);	/* twice stop_timeout */
	H_ASSERT(!h_pid_dead(gc), "pid %ld was stopped without a cgroup",
	    (long)gc);
	H_ASSERT(h_count_log("left members") == 0, "it was seen lingering");
	h_stop_daemon();
}

START_TEST(test_double_fork_exit)
{
	if (!need_cgroup("test_double_fork_exit"))
		return;
	double_fork_exit(1);
	cg_teardown();
}
END_TEST

START_TEST(test_double_fork_exit_no_cgroup)
{
	if (!need_cgroup("test_double_fork_exit_no_cgroup"))
		return;
	double_fork_exit(0);
	cg_teardown();
}
END_TEST

/*
 * A worker killed and replaced: the dead one's cgroup goes, the new one
 * has its own.
 */
START_TEST(test_replaced_cgroup_removed)
{
	char	names[4][64], before[64], want[PATH_MAX];
	pid_t	w0;
	int	n, i;

	if (!need_cgroup("test_replaced_cgroup_removed"))
		return;
	write_setsid_worker(2, NULL);
	start_in(cg_dir, h_clusterd_bin());
	(void)pid_from(h_path("gc.0.pid"));
	(void)pid_from(h_path("gc.1.pid"));
	wait_worker_cgroups(2);
	H_ASSERT(worker_cgroups(names, 4) == 2, "two worker cgroups");
	for (i = 0; i < 2 && strncmp(names[i], "esc.0.", 6) != 0; i++)
		;
	H_ASSERT(i < 2, "no cgroup esc.0.PID: %s, %s", names[0], names[1]);
	fmt(before, sizeof(before), "%s", names[i]);
	w0 = (pid_t)strtol(before + 6, NULL, 10);
	unlink(h_path("gc.0.pid"));
	H_ASSERT(kill(w0, SIGKILL) == 0, "kill %ld", (long)w0);
	h_log_alive("exited on signal 9", 1);
	(void)pid_from(h_path("gc.0.pid"));	/* its replacement's */
	fmt(want, sizeof(want), "%s", cg_path(before));
	H_ASSERT(h_wait_file(want, 0, WAIT), "%s is still there", want);
	wait_worker_cgroups(2);
	n = worker_cgroups(names, 4);
	for (i = 0; i < n; i++)
		H_ASSERT(strcmp(names[i], before) != 0, "%s reused", before);
	stop_and_check_clean();
	cg_teardown();
}
END_TEST

/*
 * Memory and CPU.
 */

/*
 * A small worker whose child holds 64 MiB and has used some CPU; the
 * child touches DIR/mem.ready when it has.
 */
static void
write_memory_worker(const char *extra)
{
	h_write_file(h_path("mem.sh"),
	    "%s -c 'import time\n"
	    "x = b\"x\" * (64 << 20)\n"
	    "t = time.process_time()\n"
	    "while time.process_time() - t < 0.3:\n"
	    "    pass\n"
	    "open(\"%s/mem.ready.%%d\" %% __import__(\"os\").getpid(), "
	    "\"w\").close()\n"
	    "time.sleep(1000)' &\n"
	    "exec sleep 1000\n", PYTHON, h_dir());
	h_write_config(
	    "[clusterd]\n"
	    "log_level = debug\n"
	    "control = %s\n"
	    "[program:mem]\n"
	    "command = /bin/sh %s\n"
	    "workers = 1\n"
	    "min_uptime = 0\n"
	    "stop_timeout = 2s\n"
	    "%s", h_path("ctl.sock"), h_path("mem.sh"),
	    extra != NULL ? extra : "");
}

/* Wait for a mem.ready.PID file; the pid of the child that wrote it. */
static pid_t
wait_memory_child(void)
{
	long long	 end = h_now_ms() + WAIT;
	DIR		*d;
	struct dirent	*de;
	pid_t		 pid = 0;

	while (pid == 0) {
		H_ASSERT(h_now_ms() < end, "no mem.ready file");
		H_ASSERT((d = opendir(h_dir())) != NULL, "opendir");
		while ((de = readdir(d)) != NULL)
			if (strncmp(de->d_name, "mem.ready.", 10) == 0)
				pid = (pid_t)strtol(de->d_name + 10, NULL, 10);
		closedir(d);
		if (pid == 0)
			h_sleep_ms(20);
	}
	return pid;
}

/*
 * clusterctl status: rss and cpu of the worker are its cgroup's, which
 * counts the child's 64 MiB and CPU; the worker's own process is small.
 * Without cgroups they are the top process's.
 */
static void
status_cgroup(int cgroups)
{
	char		*out;
	double		 rss, cpu, wpid;

	if (access(PYTHON, X_OK) != 0) {
		fprintf(stderr, "status: needs %s; skipped\n", PYTHON);
		return;
	}
	write_memory_worker(NULL);
	start_in(cgroups ? cg_dir : cg_mnt, h_clusterd_bin());
	(void)wait_memory_child();
	H_ASSERT(ctl(&out, "--json", "status", NULL) == 0, "status");
	rss = json_num(out, "\"rss\":");
	cpu = json_num(out, "\"cpu\":");
	wpid = json_num(out, "\"pid\":");
	H_ASSERT(rss_of((pid_t)wpid) < 16 << 20, "the worker's own process "
	    "has %lld bytes", rss_of((pid_t)wpid));
	if (cgroups) {
		H_ASSERT(rss >= 64 << 20, "rss %.0f: not its cgroup's: %s",
		    rss, out);
		H_ASSERT(cpu >= 0.25, "cpu %.2f: not its cgroup's: %s", cpu,
		    out);
	} else {
		H_ASSERT(rss < 16 << 20, "rss %.0f without a cgroup: %s", rss,
		    out);
		H_ASSERT(cpu < 0.2, "cpu %.2f without a cgroup: %s", cpu,
		    out);
	}
	free(out);
	if (cgroups)
		stop_and_check_clean();
	else
		h_stop_daemon();
}

START_TEST(test_status_cgroup)
{
	if (!need_cgroup("test_status_cgroup"))
		return;
	status_cgroup(1);
	cg_teardown();
}
END_TEST

START_TEST(test_status_no_cgroup)
{
	if (!need_cgroup("test_status_no_cgroup"))
		return;
	status_cgroup(0);
	cg_teardown();
}
END_TEST

/*
 * max_memory counts what the worker's child holds: the worker is
 * replaced, new one first, and the old one's child goes with it.
 */
START_TEST(test_max_memory_child)
{
	pid_t	child;

	if (!need_cgroup("test_max_memory_child"))
		return;
	if (access(PYTHON, X_OK) != 0) {
		fprintf(stderr, "test_max_memory_child: needs %s; skipped\n",
		    PYTHON);
		return;
	}
	write_memory_worker("max_memory = 40M\n");
	start_in(cg_dir, h_clusterd_bin());
	child = wait_memory_child();
	h_log_alive("over max_memory 40.0M: replacing it", 1);
	H_ASSERT(h_wait_dead(child, WAIT), "the old worker's child (pid %ld) "
	    "is still there", (long)child);
	stop_and_check_clean();
	cg_teardown();
}
END_TEST

/*
 * Without a cgroup to manage.
 */

/*
 * The cgroup is not writable (a read-only mount of the hierarchy, as
 * in a container): clusterd says so once, also across a reload, and
 * its workers run as before.
 */
START_TEST(test_read_only_cgroup)
{
	char		 script[PATH_MAX * 3];
	const char	*argv[] = { "/usr/bin/unshare", "--mount", "/bin/sh",
			    "-c", script, NULL };
	struct h_report	*r;

	if (!need_cgroup("test_read_only_cgroup"))
		return;
	if (access(argv[0], X_OK) != 0) {
		fprintf(stderr, "test_read_only_cgroup: needs %s; skipped\n",
		    argv[0]);
		return;
	}
	fmt(script, sizeof(script), "echo $$ >%s/cgroup.procs && "
	    "mount -o remount,bind,ro %s && exec %s -c %s", cg_dir, cg_mnt,
	    h_clusterd_bin(), h_conf());
	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 2\n", h_worker("reporter"));
	H_ASSERT(h_start_cmd(argv, NULL) > 0, "start");
	h_expect_reports("web.", 2);
	h_log_alive("started: web: 2/2 ready", 1);
	H_ASSERT(h_count_log("no cgroup for the workers: its cgroup") == 1 &&
	    h_count_log("is not writable: Read-only file system") == 1,
	    "no notice");
	H_ASSERT(h_signal(SIGHUP) == 0, "SIGHUP");
	h_log_alive("reload done", 1);
	H_ASSERT(h_count_log("no cgroup for the workers") == 1, "the notice "
	    "came again");
	H_ASSERT(h_signal(SIGUSR2) == 0, "SIGUSR2");
	h_log_alive("upgraded: ", 1);
	H_ASSERT(h_count_log("no cgroup for the workers") == 1, "the notice "
	    "came again after an upgrade");
	H_ASSERT(worker_cgroups(NULL, 0) == 0, "a worker cgroup was made");
	r = h_newest_report("web.0.");
	H_ASSERT(r->r_pid > 0, "report");
	h_report_free(r);
	h_stop_daemon();
	cg_teardown();
}
END_TEST

/* A process of our own in cgroup dir (made if need be): its pid. */
static pid_t
sleeper_in(const char *dir)
{
	pid_t	pid;
	char	me[32];

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		H_ASSERT(0, "mkdir %s: %s", dir, strerror(errno));
	H_ASSERT((pid = fork()) != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		fmt(me, sizeof(me), "%ld\n", (long)getpid());
		if (cg_write(dir, "cgroup.procs", me) == -1)
			_exit(1);
		execl("/bin/sleep", "sleep", "1000", (char *)NULL);
		_exit(127);
	}
	while (cg_populated(dir) != 1 && !h_pid_dead(pid))
		h_sleep_ms(5);
	H_ASSERT(cg_populated(dir) == 1, "the sleeper did not join %s", dir);
	return pid;
}

/*
 * Another clusterd (a process in supervisor/) manages the cgroup: this
 * one leaves it alone and says so.
 */
START_TEST(test_other_supervisor)
{
	pid_t	other;
	int	st;

	if (!need_cgroup("test_other_supervisor"))
		return;
	other = sleeper_in(cg_path("supervisor"));
	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 1\n", h_worker("reporter"));
	start_in(cg_dir, h_clusterd_bin());
	h_expect_reports("web.", 1);
	H_ASSERT(h_count_log("supervisor has processes: another clusterd "
	    "manages") == 1, "no notice");
	H_ASSERT(worker_cgroups(NULL, 0) == 0, "a worker cgroup was made");
	H_ASSERT(!h_pid_dead(other), "the other supervisor was touched");
	h_stop_daemon();
	kill(other, SIGKILL);
	waitpid(other, &st, 0);
	cg_teardown();
}
END_TEST

/*
 * Worker cgroups an earlier clusterd left in its cgroup: emptied (what
 * is in them is killed) and removed at start-up.
 */
START_TEST(test_stale_cgroups)
{
	pid_t	stale;
	int	st;

	if (!need_cgroup("test_stale_cgroups"))
		return;
	H_ASSERT(mkdir(cg_path("old.0.12345"), 0755) == 0, "mkdir");
	stale = sleeper_in(cg_path("web.3.99999"));
	H_ASSERT(mkdir(cg_path("mine"), 0755) == 0, "mkdir");
	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 1\n", h_worker("reporter"));
	start_in(cg_dir, h_clusterd_bin());
	h_expect_reports("web.", 1);
	h_log_alive("web.3.99999: left by an earlier clusterd with processes "
	    "in it: killing them", 1);
	H_ASSERT(waitpid(stale, &st, 0) == stale && WIFSIGNALED(st) &&
	    WTERMSIG(st) == SIGKILL, "the stale process: status 0x%x", st);
	wait_worker_cgroups(2);		/* web.0.PID, and mine/ */
	H_ASSERT(access(cg_path("old.0.12345"), F_OK) == -1 &&
	    access(cg_path("web.3.99999"), F_OK) == -1, "stale cgroups left");
	H_ASSERT(access(cg_path("mine"), F_OK) == 0, "a cgroup not named "
	    "like a worker's was removed");
	H_ASSERT(rmdir(cg_path("mine")) == 0, "rmdir mine");
	stop_and_check_clean();
	cg_teardown();
}
END_TEST

/*
 * A worker cgroup that cannot be made (cgroup.max.descendants): the
 * start fails with the reason, backs off, and succeeds once it can.
 */
START_TEST(test_cgroup_mkdir_fails)
{
	if (!need_cgroup("test_cgroup_mkdir_fails"))
		return;
	H_ASSERT(cg_write(cg_dir, "cgroup.max.descendants", "1") == 0,
	    "cgroup.max.descendants: %s", strerror(errno));
	h_write_config(
	    "[program:web]\n"
	    "command = %s\n"
	    "workers = 1\n"
	    "restart_delay = 100ms\n"
	    "restart_delay_max = 200ms\n", h_worker("reporter"));
	start_in(cg_dir, h_clusterd_bin());
	h_log_alive("cannot create or join its cgroup in ", 1);
	H_ASSERT(h_count_log("its cgroup in /") >= 1 && h_count_log(
	    ": Resource temporarily unavailable") >= 1, "the reason");
	H_ASSERT(h_count_reports("web.") == 0, "it ran all the same");
	H_ASSERT(cg_write(cg_dir, "cgroup.max.descendants", "max") == 0,
	    "cgroup.max.descendants");
	h_expect_reports("web.", 1);
	wait_worker_cgroups(1);
	stop_and_check_clean();
	cg_teardown();
}
END_TEST

/*
 * A worker running as nobody cannot leave its cgroup, make one below
 * it, or change its settings: everything there is root's.
 */
START_TEST(test_user_contained)
{
	struct passwd	*pw;
	char		*r, own[PATH_MAX];
	pid_t		 w;

	if (!need_cgroup("test_user_contained"))
		return;
	if ((pw = getpwnam("nobody")) == NULL || pw->pw_uid != NOBODY) {
		fprintf(stderr, "test_user_contained: needs user nobody; "
		    "skipped\n");
		return;
	}
	h_write_file(h_path("try.sh"),
	    "own=%s$(sed -n 's/^0:://p' /proc/self/cgroup)\n"
	    "try() { if sh -c \"$2\" 2>/dev/null; then echo $1=done; "
	    "else echo $1=refused; fi; }\n"
	    "{\n"
	    "try base \"echo $$ >%s/cgroup.procs\"\n"
	    "try leaf \"echo $$ >%s/supervisor/cgroup.procs\"\n"
	    "try root \"echo $$ >%s/cgroup.procs\"\n"
	    "try self \"echo $$ >$own/cgroup.procs\"\n"
	    "try mkdir \"mkdir $own/sub\"\n"
	    "try freeze \"echo 1 >$own/cgroup.freeze\"\n"
	    "try limit \"echo 1 >$own/cgroup.max.descendants\"\n"
	    "echo cgroup=$own\n"
	    "} >%s/try.tmp && mv %s/try.tmp %s/try\n"
	    "exec sleep 1000\n", cg_mnt, cg_dir, cg_dir, cg_mnt,
	    h_reports(), h_reports(), h_reports());
	h_write_config(
	    "[clusterd]\n"
	    "control = %s\n"
	    "[program:try]\n"
	    "command = /bin/sh %s\n"
	    "user = nobody\n"
	    "workers = 1\n", h_path("ctl.sock"), h_path("try.sh"));
	start_in(cg_dir, h_clusterd_bin());
	H_ASSERT(h_wait_file(h_path("reports/try"), 1, WAIT), "no report");
	r = h_read_file(h_path("reports/try"));
	H_ASSERT(r != NULL && strstr(r, "=done") == NULL, "the worker "
	    "changed its cgroup:\n%s", r ? r : "");
	H_ASSERT(strstr(r, "base=refused") && strstr(r, "leaf=refused") &&
	    strstr(r, "root=refused") && strstr(r, "self=refused") &&
	    strstr(r, "mkdir=refused") && strstr(r, "freeze=refused") &&
	    strstr(r, "limit=refused"), "%s", r);
	H_ASSERT(worker_cgroups(NULL, 0) == 1, "one worker cgroup");
	{
		char	name[1][64];

		(void)worker_cgroups(name, 1);
		w = (pid_t)strtol(strrchr(name[0], '.') + 1, NULL, 10);
		H_ASSERT(strstr(r, cgroup_of(w, own, sizeof(own))) != NULL,
		    "it is not in its cgroup %s:\n%s", own, r);
	}
	free(r);
	stop_and_check_clean();
	cg_teardown();
}
END_TEST

/*
 * An upgrade (SIGUSR2, to a copy of the binary) keeps the workers'
 * cgroups and clusterd's leaf: the new image reads each worker's cgroup
 * from its state record and does not sweep it as stale; a stop after it
 * still reaches what escaped the process groups.
 */
START_TEST(test_upgrade_keeps_cgroups)
{
	char		 before[4][64], after[4][64], cg[PATH_MAX];
	char		*bin;
	const char	*argv[4];
	pid_t		 gc0, gc1;
	int		 n, i, st;

	if (!need_cgroup("test_upgrade_keeps_cgroups"))
		return;
	bin = strdup(h_path("clusterd"));
	argv[0] = "/bin/cp";
	argv[1] = h_clusterd_bin();
	argv[2] = bin;
	argv[3] = NULL;
	H_ASSERT(h_run(argv, NULL, WAIT, &st, NULL, NULL) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "cp %s", argv[1]);
	write_setsid_worker(2, NULL);
	start_in(cg_dir, bin);
	gc0 = pid_from(h_path("gc.0.pid"));
	gc1 = pid_from(h_path("gc.1.pid"));
	h_log_alive("started: esc: 2/2 ready", 1);
	n = worker_cgroups(before, 4);
	H_ASSERT(n == 2, "%d worker cgroups", n);
	H_ASSERT(h_signal(SIGUSR2) == 0, "SIGUSR2");
	h_log_alive("took over", 1);
	H_ASSERT(h_count_log("upgrade failed") == 0, "upgrade failed");
	H_ASSERT(h_count_log("left by an earlier clusterd") == 0, "the new "
	    "image took its own workers' cgroups for stale ones");
	H_ASSERT(worker_cgroups(after, 4) == 2, "worker cgroups after the "
	    "upgrade");
	for (i = 0; i < 2; i++)
		H_ASSERT((strcmp(after[0], before[i]) == 0 ||
		    strcmp(after[1], before[i]) == 0), "%s is gone",
		    before[i]);
	cgroup_of(h_daemon(), cg, sizeof(cg));
	H_ASSERT(strcmp(cg, cg_path("supervisor")) == 0, "the new image is "
	    "in %s", cg);
	H_ASSERT(ctl(NULL, "stop", "esc", NULL) == 0, "clusterctl stop");
	H_ASSERT(h_wait_dead(gc0, WAIT) && h_wait_dead(gc1, WAIT), "the "
	    "setsid children survived the stop after the upgrade");
	wait_worker_cgroups(0);
	/* The workers lived through the upgrade: the stop ended them. */
	H_ASSERT(h_count_log("exited on signal 15 (SIGTERM)") == 2 &&
	    h_count_log("exited on signal 9") == 0 && h_count_log("esc[0] "
	    "started") == 1 && h_count_log("esc[1] started") == 1, "the "
	    "workers did not live until the stop after the upgrade");
	stop_and_check_clean();
	free(bin);
	cg_teardown();
}
END_TEST

static Suite *
cgroup_suite(void)
{
	Suite	*s = suite_create("daemon_cgroup");
	TCase	*tc;

	tc = h_tcase("escape", TEST_TIMEOUT);
	tcase_add_test(tc, test_setsid_stop);
	tcase_add_test(tc, test_setsid_stop_no_cgroup);
	tcase_add_test(tc, test_double_fork_exit);
	tcase_add_test(tc, test_double_fork_exit_no_cgroup);
	tcase_add_test(tc, test_replaced_cgroup_removed);
	tcase_add_test(tc, test_user_contained);
	suite_add_tcase(s, tc);

	tc = h_tcase("resources", TEST_TIMEOUT);
	tcase_add_test(tc, test_status_cgroup);
	tcase_add_test(tc, test_status_no_cgroup);
	tcase_add_test(tc, test_max_memory_child);
	suite_add_tcase(s, tc);

	tc = h_tcase("setup", TEST_TIMEOUT);
	tcase_add_test(tc, test_read_only_cgroup);
	tcase_add_test(tc, test_other_supervisor);
	tcase_add_test(tc, test_stale_cgroups);
	tcase_add_test(tc, test_cgroup_mkdir_fails);
	tcase_add_test(tc, test_upgrade_keeps_cgroups);
	suite_add_tcase(s, tc);
	return s;
}

/* After the tests (each forked): no test cgroup is left. */
int
main(void)
{
	int	rc = run_suite_forked(cgroup_suite());

	if (geteuid() == 0 && find_mount() == 0)
		cg_sweep_stale();
	return rc;
}
