/*
 * SPDX-License-Identifier: ISC
 *
 * A cgroup v2 for each worker, when clusterd has a cgroup of its own to
 * manage: what a worker started stays in its cgroup whatever it does to
 * its process group or session (setsid, a double fork), so that a stop
 * or the clean-up after a crash reaches all of it, and its memory and
 * CPU are those of everything it runs.
 *
 * The layout, under clusterd's own cgroup (BASE; the kernel's "no
 * internal processes" rule keeps processes in leaves only once
 * controllers are enabled, so clusterd moves itself into a leaf first):
 *
 *	BASE/				memory and cpu in subtree_control
 *	BASE/supervisor/		clusterd itself
 *	BASE/PROGRAM.SLOT.PID/		one worker and all it starts
 *
 * BASE is clusterd's when it is not the root of the hierarchy, it may
 * write it, and systemd does not own it: below a systemd unit, only a
 * unit with Delegate=yes (systemd marks its cgroup with a delegate
 * extended attribute) hands its subtree over.
 *
 * The child joins its cgroup itself, before anything else of its
 * checklist and while it is still root: it creates PROGRAM.SLOT.PID and
 * writes its pid into its cgroup.procs.  fork() stays fork() (no
 * clone3(CLONE_INTO_CGROUP), which needs Linux 5.7 and a raw system
 * call beside glibc's fork), nothing it starts can be outside (it starts
 * nothing before its exec), and what it allocates after the exec is
 * charged to the worker's cgroup.  Every file is root's and writable
 * by root alone: a worker that runs as another user can neither move
 * itself out nor change a limit nor create cgroups below its own.
 *
 * Without a cgroup of its own clusterd says so once and works on
 * process groups, as it always did.
 */

#include <sys/stat.h>
#include <sys/xattr.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define LEAF		"supervisor"	/* clusterd's own leaf */
#define KILL_ROUNDS	16	/* cgroup.procs passes without cgroup.kill */
#define KILL_MAX	4096	/* pids remembered over those passes */
#define RETRY_FIRST	0.1	/* seconds: a busy cgroup's first rmdir retry */
#define RETRY_NEXT	1.0	/* ... and the later ones */
#define EXIT_WAIT_MS	2000	/* at exit: for killed cgroups to empty */

/* A worker's cgroup that could not be removed yet (still populated). */
struct cg_pending {
	struct cg_pending	*cp_next;
	char			*cp_path;
};

static char		 base[PATH_MAX];	/* "" when there is none */
static int		 has_memory;	/* memory.current in worker cgroups */
static char		 enabled[64];	/* controllers clusterd enabled */
static struct cg_pending *pending;
static struct timer	 retry;
static int		 retry_init;

static int	own_dir(char *, size_t, char *, size_t);
static char	*slurp(const char *);
static int	take_base(const char *, const char *, char *, size_t);
static int	check_base(const char *, const char *, char *, size_t);
static int	systemd_owned(const char *, char *, size_t);
static int	delegated(const char *);
static int	move_self(const char *);
static void	enable_controllers(void);
static int	has_word(const char *, const char *);
static int	read_text(const char *, const char *, char *, size_t);
static int	write_text(const char *, const char *, const char *);
static int	read_key(const char *, const char *, const char *,
		    long long *);
static int	signal_listed(const char *, int, int, pid_t);
static long long rss_sum(const char *);
static void	sweep(const char *const *, size_t, int);
static int	worker_name(const char *);
static int	remove_now(const char *);
static void	pending_add(const char *);
static void	retry_fired(void *);
static int	wait_empty(const char *, long long);
static long long now_ms(void);
static int	join(char *, size_t, const char *, const char *);
static void	say(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Pure helpers (unit-tested).
 */

/*
 * The cgroup v2 path of a process from the text of /proc/PID/cgroup:
 * its "0::PATH" line.  -1 if there is none (cgroup v1 only).
 */
int
cgroup_own_path(const char *text, char *buf, size_t len)
{
	const char	*p = text, *end;
	size_t		 n;

	while (p != NULL && *p != '\0') {
		end = strchr(p, '\n');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n > 3 && strncmp(p, "0::", 3) == 0 && p[3] == '/') {
			if (n - 3 >= len)
				return -1;
			memcpy(buf, p + 3, n - 3);
			buf[n - 3] = '\0';
			return 0;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return -1;
}

/* A mountinfo field, its \NNN escapes undone; -1 if it does not fit. */
static int
unescape_field(const char *f, size_t n, char *out, size_t len)
{
	size_t	i, o = 0;

	for (i = 0; i < n; i++) {
		if (o + 1 >= len)
			return -1;
		if (f[i] == '\\' && i + 3 < n &&
		    f[i + 1] >= '0' && f[i + 1] <= '3' &&
		    f[i + 2] >= '0' && f[i + 2] <= '7' &&
		    f[i + 3] >= '0' && f[i + 3] <= '7') {
			out[o++] = (char)((f[i + 1] - '0') * 64 +
			    (f[i + 2] - '0') * 8 + (f[i + 3] - '0'));
			i += 3;
		} else
			out[o++] = f[i];
	}
	out[o] = '\0';
	return 0;
}

/*
 * One line of /proc/self/mountinfo: the root and mount point of a
 * cgroup2 file system; -1 if the line is another kind of mount.
 */
static int
mount_line(const char *line, size_t n, char *root, char *mnt, size_t len)
{
	const char	*f[6], *p = line, *end = line + n, *dash;
	size_t		 flen[6];
	int		 i;

	for (i = 0; i < 6; i++) {
		while (p < end && *p == ' ')
			p++;
		f[i] = p;
		while (p < end && *p != ' ')
			p++;
		flen[i] = (size_t)(p - f[i]);
		if (flen[i] == 0)
			return -1;
	}
	/* optional fields, then " - FSTYPE SOURCE OPTIONS" */
	for (dash = p; dash + 3 <= end; dash++)
		if (strncmp(dash, " - ", 3) == 0)
			break;
	if (dash + 3 > end || (size_t)(end - (dash + 3)) < 8 ||
	    strncmp(dash + 3, "cgroup2 ", 8) != 0)
		return -1;
	if (unescape_field(f[3], flen[3], root, len) == -1 ||
	    unescape_field(f[4], flen[4], mnt, len) == -1)
		return -1;
	return 0;
}

/*
 * The directory of the cgroup at cgpath (as /proc/self/cgroup names
 * it), from the text of /proc/self/mountinfo: the mount point of a
 * cgroup2 file system whose root is cgpath or one of its ancestors,
 * and the rest of cgpath below it.  -1 if no mount shows it.
 */
int
cgroup_find_dir(const char *mountinfo, const char *cgpath, char *dir,
    size_t len)
{
	char		 root[PATH_MAX], mnt[PATH_MAX];
	const char	*p = mountinfo, *end, *rest;
	size_t		 n, rlen;

	for (; p != NULL && *p != '\0'; p = end != NULL ? end + 1 : NULL) {
		end = strchr(p, '\n');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (mount_line(p, n, root, mnt, sizeof(root)) == -1)
			continue;
		rlen = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (strncmp(cgpath, root, rlen) != 0 ||
		    (cgpath[rlen] != '/' && cgpath[rlen] != '\0'))
			continue;
		rest = cgpath + rlen;
		if (strcmp(rest, "/") == 0)
			rest = "";
		if ((size_t)snprintf(dir, len, "%s%s", mnt, rest) >= len)
			return -1;
		return 0;
	}
	return -1;
}

/*
 * The length of the part of cgpath down to its deepest component that
 * is named like a systemd unit (.service, .scope, .slice), 0 if none;
 * *slice says whether that one is a slice.
 */
size_t
cgroup_unit_prefix(const char *cgpath, int *slice)
{
	static const char *const kinds[] = { ".service", ".scope", ".slice" };
	const char	*c = cgpath, *e;
	size_t		 n, k, found = 0, klen;

	*slice = 0;
	while (*c != '\0') {
		while (*c == '/')
			c++;
		if (*c == '\0')
			break;
		e = strchr(c, '/');
		n = e != NULL ? (size_t)(e - c) : strlen(c);
		for (k = 0; k < 3; k++) {
			klen = strlen(kinds[k]);
			if (n > klen && memcmp(c + n - klen, kinds[k],
			    klen) == 0) {
				found = (size_t)(c - cgpath) + n;
				*slice = k == 2;
			}
		}
		c += n;
	}
	return found;
}

/*
 * Start-up.
 */

/*
 * Find clusterd's cgroup and take it over for the workers, or say once
 * why not.  An upgrade's new image passes the old one's BASE (adopt)
 * and the controllers it had enabled (ctl): it runs in BASE/supervisor
 * already; upgraded, the old image has said why there are none.  1 when
 * workers get cgroups, 0 when not.
 */
int
cgroup_init(const char *adopt, const char *ctl, int upgraded)
{
	char	dir[PATH_MAX], why[ERRBUF_LEN], on[512];

	base[0] = '\0';
	if (own_dir(dir, sizeof(dir), why, sizeof(why)) == -1 ||
	    take_base(dir, adopt, why, sizeof(why)) == -1) {
		(upgraded ? log_debug : log_notice)("no cgroup for the "
		    "workers: %s; a process that leaves its worker's process "
		    "group (setsid, a double fork) is not caught when the "
		    "worker stops", why);
		return 0;
	}
	if (adopt != NULL && strcmp(base, adopt) == 0) {
		snprintf(enabled, sizeof(enabled), "%s", ctl != NULL ? ctl :
		    "");
		if (read_text(base, "cgroup.subtree_control", on,
		    sizeof(on)) == 0)
			has_memory = has_word(on, "memory");
	} else
		enable_controllers();
	log_info("cgroup %s: one for each worker (memory: %s)", base,
	    has_memory ? "memory.current" : "the sum of its processes' "
	    "resident memory");
	return 1;
}

/*
 * The directory of clusterd's own cgroup v2: its path in
 * /proc/self/cgroup, where /proc/self/mountinfo shows the hierarchy.
 * -1 and why if there is none.
 */
static int
own_dir(char *dir, size_t len, char *why, size_t wlen)
{
	char	*text, cgpath[PATH_MAX];
	int	 rc = -1;

	if ((text = slurp("/proc/self/cgroup")) == NULL) {
		say(why, wlen, "/proc/self/cgroup: %s", strerror(errno));
		return -1;
	}
	if (cgroup_own_path(text, cgpath, sizeof(cgpath)) == -1)
		say(why, wlen, "no cgroup v2 hierarchy (no 0:: line in "
		    "/proc/self/cgroup)");
	else
		rc = 0;
	free(text);
	if (rc == -1)
		return -1;
	if ((text = slurp("/proc/self/mountinfo")) == NULL) {
		say(why, wlen, "/proc/self/mountinfo: %s",
		    strerror(errno));
		return -1;
	}
	if ((rc = cgroup_find_dir(text, cgpath, dir, len)) == -1)
		say(why, wlen, "the cgroup v2 hierarchy that holds %s "
		    "is not mounted", cgpath);
	free(text);
	return rc;
}

/* A whole /proc file, malloc'd and NUL-terminated; NULL and errno. */
static char *
slurp(const char *path)
{
	char	*buf = NULL, *grown;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	for (;;) {
		if (len + 1 >= cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			if ((grown = realloc(buf, cap)) == NULL) {
				saved = ENOMEM;
				goto fail;
			}
			buf = grown;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
 fail:
	close(fd);
	free(buf);
	errno = saved;
	return NULL;
}

/*
 * dir (clusterd's cgroup, or with adopt, its leaf below the old
 * image's BASE) becomes BASE, clusterd in its leaf.  -1 and why if it
 * cannot.
 */
static int
take_base(const char *dir, const char *adopt, char *why, size_t len)
{
	char	leaf[PATH_MAX], text[64];

	if (adopt != NULL && join(leaf, sizeof(leaf), adopt, LEAF) == 0 &&
	    strcmp(leaf, dir) == 0) {
		memcpy(base, dir, strlen(dir) - strlen(LEAF) - 1);
		base[strlen(dir) - strlen(LEAF) - 1] = '\0';
		return 0;
	}
	if (check_base(dir, adopt, why, len) == -1)
		return -1;
	if (join(leaf, sizeof(leaf), dir, LEAF) == -1) {
		say(why, len, "%s: %s", dir, strerror(ENAMETOOLONG));
		return -1;
	}
	if (mkdir(leaf, 0755) == -1 && errno != EEXIST) {
		say(why, len, "mkdir %s: %s", leaf, strerror(errno));
		return -1;
	}
	if (read_text(leaf, "cgroup.procs", text, sizeof(text)) == 0 &&
	    text[0] != '\0') {
		say(why, len, "%s has processes: another clusterd "
		    "manages %s", leaf, dir);
		return -1;
	}
	if (move_self(leaf) == -1) {
		say(why, len, "write %s/cgroup.procs: %s", leaf,
		    strerror(errno));
		return -1;
	}
	memcpy(base, dir, strlen(dir) + 1);
	if (adopt == NULL)
		cgroup_sweep(NULL, 0);	/* an upgrade's master keeps some */
	return 0;
}

/* May clusterd manage dir, its own cgroup?  -1 and why if not. */
static int
check_base(const char *dir, const char *adopt, char *why, size_t len)
{
	char	path[PATH_MAX];

	if (adopt != NULL)
		log_warnx("upgrade: clusterd is no longer in %s/%s: taking "
		    "its cgroup %s anew", adopt, LEAF, dir);
	(void)join(path, sizeof(path), dir, "cgroup.events");
	if (access(path, F_OK) == -1) {
		say(why, len, "clusterd runs in the root cgroup (%s), "
		    "which is not its own", dir);
		return -1;
	}
	if (systemd_owned(dir, why, len))
		return -1;
	(void)join(path, sizeof(path), dir, "cgroup.procs");
	if (access(dir, W_OK) == -1 || access(path, W_OK) == -1) {
		say(why, len, "its cgroup %s is not writable: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Below a systemd unit, the cgroup is systemd's unless the unit has
 * Delegate=yes: 1 and why if so.
 */
static int
systemd_owned(const char *dir, char *why, size_t len)
{
	char	unit[PATH_MAX];
	size_t	n;
	int	slice;

	if ((n = cgroup_unit_prefix(dir, &slice)) == 0 || n >= sizeof(unit))
		return 0;
	memcpy(unit, dir, n);
	unit[n] = '\0';
	if (!slice && delegated(unit))
		return 0;
	say(why, len, "its cgroup %s belongs to systemd (%s has no "
	    "Delegate=yes)", dir, unit);
	return 1;
}

/* systemd's mark of a delegated cgroup (trusted.* needs CAP_SYS_ADMIN). */
static int
delegated(const char *dir)
{
	static const char *const names[] = { "user.delegate",
	    "trusted.delegate" };
	char	v[8];
	ssize_t	n;
	size_t	i;

	for (i = 0; i < 2; i++)
		if ((n = getxattr(dir, names[i], v, sizeof(v))) > 0 &&
		    v[0] == '1')
			return 1;
	return 0;
}

static int
move_self(const char *dir)
{
	char	pid[32];

	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	return write_text(dir, "cgroup.procs", pid);
}

/*
 * memory and cpu in BASE's subtree_control, those of them BASE has:
 * the worker cgroups get memory.current and the CPU scheduler's share.
 * Without memory, a worker's memory is the sum of its processes'.
 */
static void
enable_controllers(void)
{
	static const char *const want[] = { "memory", "cpu" };
	char	have[512], on[512], cmd[32];
	size_t	i, n;

	enabled[0] = '\0';
	has_memory = 0;
	if (read_text(base, "cgroup.controllers", have, sizeof(have)) == -1)
		have[0] = '\0';
	if (read_text(base, "cgroup.subtree_control", on, sizeof(on)) == -1)
		on[0] = '\0';
	for (i = 0; i < 2; i++) {
		if (!has_word(have, want[i])) {
			log_info("cgroup %s: no %s controller (not in its "
			    "cgroup.controllers)", base, want[i]);
			continue;
		}
		if (has_word(on, want[i]))
			continue;
		snprintf(cmd, sizeof(cmd), "+%s", want[i]);
		if (write_text(base, "cgroup.subtree_control", cmd) == -1) {
			log_warn("cgroup %s: cannot enable the %s controller: "
			    "write cgroup.subtree_control", base, want[i]);
			continue;
		}
		n = strlen(enabled);
		snprintf(enabled + n, sizeof(enabled) - n, "%s%s",
		    n > 0 ? "," : "", want[i]);
	}
	if (read_text(base, "cgroup.subtree_control", on, sizeof(on)) == 0)
		has_memory = has_word(on, "memory");
}

/* Is word one of the space- or comma-separated words of text? */
static int
has_word(const char *text, const char *word)
{
	size_t		 n = strlen(word);
	const char	*p;

	for (p = text; (p = strstr(p, word)) != NULL; p += n)
		if ((p == text || p[-1] == ' ' || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == ',' ||
		    p[n] == '\n'))
			return 1;
	return 0;
}

/* BASE, for an upgrade's state; NULL when workers get no cgroups. */
const char *
cgroup_base(void)
{
	return base[0] != '\0' ? base : NULL;
}

/* The controllers clusterd enabled itself ("memory,cpu"), for the state. */
const char *
cgroup_controllers(void)
{
	return enabled;
}

/*
 * A worker's cgroup.
 */

/* BASE/PROGRAM.SLOT.PID into buf; -1 if it does not fit. */
static int
worker_path(char *buf, size_t len, const char *prog, int slot, pid_t pid)
{
	if ((size_t)snprintf(buf, len, "%s/%s.%d.%ld", base, prog, slot,
	    (long)pid) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * In the child, as root: create the worker's cgroup and move into it.
 * An existing one is taken only if it is empty (a pid used again).
 * 0, also when there are no worker cgroups; -1 and errno.
 */
int
cgroup_join(const char *prog, int slot)
{
	char	path[PATH_MAX];

	if (base[0] == '\0')
		return 0;
	if (worker_path(path, sizeof(path), prog, slot, getpid()) == -1)
		return -1;
	if (mkdir(path, 0755) == -1) {
		if (errno != EEXIST)
			return -1;
		if (cgroup_populated(path) != 0) {
			errno = EEXIST;
			return -1;
		}
	}
	return move_self(path);
}

/*
 * The master's name for the cgroup its child pid joins (malloc'd), or
 * NULL when workers get none.
 */
char *
cgroup_worker(const char *prog, int slot, pid_t pid)
{
	char	path[PATH_MAX], *p;

	if (base[0] == '\0' || worker_path(path, sizeof(path), prog, slot,
	    pid) == -1)
		return NULL;
	if ((p = strdup(path)) == NULL)
		log_warn("%s[%d] (pid %ld): its cgroup", prog, slot,
		    (long)pid);
	return p;
}

/* Does the cgroup have a live process?  1, 0, or -1 if it is not there. */
int
cgroup_populated(const char *path)
{
	long long	v;

	if (read_key(path, "cgroup.events", "populated", &v) == -1)
		return -1;
	return v != 0;
}

/*
 * sig to every process in the cgroup: SIGKILL through cgroup.kill
 * (Linux 5.14), or to each pid of cgroup.procs until no new one shows
 * up.  With leader (the worker, not yet reaped), another signal counts
 * only if the cgroup has a process: it has none before the worker's
 * child has joined it.  0 when done, -1 when the caller should signal
 * the process group instead.
 */
int
cgroup_signal(const char *path, int sig, pid_t leader)
{
	if (sig != SIGKILL)
		return signal_listed(path, sig, 1, leader);
	if (write_text(path, "cgroup.kill", "1") == 0)
		return 0;
	if (errno != ENOENT || access(path, F_OK) == -1) {
		if (errno != ENOENT)
			log_warn("cgroup %s: write cgroup.kill", path);
		return -1;
	}
	return signal_listed(path, SIGKILL, KILL_ROUNDS, 0);
}

/*
 * sig to each process in cgroup.procs, for up to rounds passes while
 * new ones appear (a process may fork while the list is read).  -1 if
 * the list cannot be read, or is empty and leader is given.
 */
static int
signal_listed(const char *path, int sig, int rounds, pid_t leader)
{
	static pid_t	 seen[KILL_MAX];
	char		 file[PATH_MAX];
	FILE		*f;
	long		 pid;
	int		 nseen = 0, fresh, i, r;

	if (join(file, sizeof(file), path, "cgroup.procs") == -1)
		return -1;
	for (r = 0; r < rounds; r++) {
		if ((f = fopen(file, "re")) == NULL)
			return -1;
		fresh = 0;
		while (fscanf(f, "%ld", &pid) == 1) {
			for (i = 0; i < nseen && seen[i] != (pid_t)pid; i++)
				;
			if (i < nseen)
				continue;
			if (nseen < KILL_MAX)
				seen[nseen++] = (pid_t)pid;
			fresh++;
			if (kill((pid_t)pid, sig) == -1 && errno != ESRCH)
				log_warn("cgroup %s: kill %ld with %s", path,
				    pid, signal_name(sig));
		}
		fclose(f);
		if (fresh == 0)
			break;
	}
	return leader > 0 && nseen == 0 ? -1 : 0;
}

/*
 * The memory of a worker, in bytes: its cgroup's memory.current less
 * the inactive page cache (memory.stat inactive_file, which the kernel
 * drops first), or without the memory controller the sum of its
 * processes' resident memory; the process's own with no cgroup.  -1 if
 * unknown.
 */
long long
cgroup_memory(const char *path, pid_t pid)
{
	long long	cur, inactive, sum;
	char		text[64];

	if (path == NULL)
		return proc_rss(pid);
	if (read_text(path, "memory.current", text, sizeof(text)) == 0 &&
	    (cur = strtoll(text, NULL, 10)) >= 0) {
		if (read_key(path, "memory.stat", "inactive_file",
		    &inactive) == 0 && inactive <= cur)
			cur -= inactive;
		return cur;
	}
	if ((sum = rss_sum(path)) >= 0)
		return sum;
	return proc_rss(pid);
}

/* The resident memory of every process in the cgroup; -1 if unknown. */
static long long
rss_sum(const char *path)
{
	char		 file[PATH_MAX];
	FILE		*f;
	long		 pid;
	long long	 sum = 0, one;
	int		 n = 0;

	if (join(file, sizeof(file), path, "cgroup.procs") == -1)
		return -1;
	if ((f = fopen(file, "re")) == NULL)
		return -1;
	while (fscanf(f, "%ld", &pid) == 1) {
		if ((one = proc_rss((pid_t)pid)) > 0)
			sum += one;
		n++;
	}
	fclose(f);
	return n > 0 ? sum : -1;
}

/*
 * CPU time the worker and everything it ran have used, in seconds:
 * usage_usec of its cgroup's cpu.stat (kept by the kernel with or
 * without the cpu controller); the process's own with no cgroup.
 */
double
cgroup_cpu(const char *path, pid_t pid)
{
	long long	usec;

	if (path != NULL && read_key(path, "cpu.stat", "usage_usec",
	    &usec) == 0)
		return (double)usec / 1e6;
	return proc_cpu(pid);
}

/*
 * The worker is gone: its cgroup goes too.  One that still has
 * processes (killed, not yet exited) is retried until it is empty.
 */
void
cgroup_remove(const char *path)
{
	if (remove_now(path) == -1)
		pending_add(path);
}

/* 0 when the cgroup is gone, -1 while it is busy (logged otherwise). */
static int
remove_now(const char *path)
{
	if (rmdir(path) == 0 || errno == ENOENT)
		return 0;
	if (errno == EBUSY)
		return -1;
	log_warn("cgroup %s: rmdir", path);
	return 0;
}

static void
pending_add(const char *path)
{
	struct cg_pending	*cp;

	for (cp = pending; cp != NULL; cp = cp->cp_next)
		if (strcmp(cp->cp_path, path) == 0)
			return;
	if ((cp = calloc(1, sizeof(*cp))) == NULL ||
	    (cp->cp_path = strdup(path)) == NULL) {
		log_warn("cgroup %s: cannot remove it later", path);
		free(cp);
		return;
	}
	cp->cp_next = pending;
	pending = cp;
	if (!retry_init) {
		timer_init(&retry, retry_fired, NULL);
		retry_init = 1;
	}
	if (!timer_armed(&retry))
		timer_start(&retry, RETRY_FIRST);
}

/*
 * The busy cgroups again: what is still in one belongs to no worker
 * any more, and is killed.
 */
static void
retry_fired(void *arg)
{
	struct cg_pending	**pp, *cp;

	(void)arg;
	for (pp = &pending; (cp = *pp) != NULL; ) {
		if (cgroup_populated(cp->cp_path) == 1)
			(void)cgroup_signal(cp->cp_path, SIGKILL, 0);
		if (remove_now(cp->cp_path) == 0) {
			*pp = cp->cp_next;
			free(cp->cp_path);
			free(cp);
		} else
			pp = &cp->cp_next;
	}
	if (pending != NULL)
		timer_start(&retry, RETRY_NEXT);
}

/*
 * Worker cgroups in BASE that no worker holds (the n paths of keep):
 * left by an earlier clusterd, or by the old image of an upgrade.
 * What is in them is killed, and they are removed.
 */
void
cgroup_sweep(const char *const *keep, size_t n)
{
	sweep(keep, n, 1);
}

/* cgroup_sweep(); loud: say what is killed (not at exit: it is ours). */
static void
sweep(const char *const *keep, size_t n, int loud)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX];
	size_t		 i;

	if (base[0] == '\0' || (d = opendir(base)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!worker_name(de->d_name) || join(path, sizeof(path),
		    base, de->d_name) == -1)
			continue;
		for (i = 0; i < n && (keep[i] == NULL ||
		    strcmp(keep[i], path) != 0); i++)
			;
		if (i < n)
			continue;
		if (cgroup_populated(path) == 1) {
			if (loud)
				log_notice("cgroup %s: left by an earlier "
				    "clusterd with processes in it: killing "
				    "them", path);
			(void)cgroup_signal(path, SIGKILL, 0);
		}
		cgroup_remove(path);
	}
	closedir(d);
}

/* PROGRAM.SLOT.PID: a worker cgroup's name. */
static int
worker_name(const char *s)
{
	const char	*p = s + strlen(s);
	int		 dots;

	for (dots = 0; dots < 2; dots++) {
		if (p == s || !isdigit((unsigned char)p[-1]))
			return 0;
		while (p > s && isdigit((unsigned char)p[-1]))
			p--;
		if (p == s || p[-1] != '.')
			return 0;
		p--;
	}
	return p > s;
}

/*
 * At exit: what is left in worker cgroups is killed and the cgroups
 * removed (waiting a little for them to empty), the controllers
 * clusterd enabled are disabled again, and clusterd goes back to BASE
 * and removes its leaf: the cgroup is left as it was found.
 */
void
cgroup_cleanup(void)
{
	struct cg_pending	*cp;
	long long		 end = now_ms() + EXIT_WAIT_MS;
	char			 leaf[PATH_MAX], cmd[64], *c, *next;

	if (base[0] == '\0')
		return;
	sweep(NULL, 0, 0);	/* what is left joins the pending ones */
	if (retry_init)
		timer_stop(&retry);
	while ((cp = pending) != NULL) {
		pending = cp->cp_next;
		(void)cgroup_signal(cp->cp_path, SIGKILL, 0);
		if (wait_empty(cp->cp_path, end) == -1 ||
		    (rmdir(cp->cp_path) == -1 && errno != ENOENT))
			log_warn("cgroup %s: cannot remove it at exit",
			    cp->cp_path);
		free(cp->cp_path);
		free(cp);
	}
	for (c = enabled; c != NULL && *c != '\0'; c = next) {
		if ((next = strchr(c, ',')) != NULL)
			*next++ = '\0';
		if ((size_t)snprintf(cmd, sizeof(cmd), "-%s", c) >=
		    sizeof(cmd))
			continue;
		if (write_text(base, "cgroup.subtree_control", cmd) == -1)
			log_debug("cgroup %s: write cgroup.subtree_control "
			    "%s: %s", base, cmd, strerror(errno));
	}
	enabled[0] = '\0';
	(void)join(leaf, sizeof(leaf), base, LEAF);
	if (move_self(base) == 0 && rmdir(leaf) == -1)
		log_debug("cgroup %s: rmdir: %s", leaf, strerror(errno));
	base[0] = '\0';
}

/* Poll cgroup.events until "populated 0", or until end (ms); -1 then. */
static int
wait_empty(const char *path, long long end)
{
	struct pollfd	pfd;
	char		file[PATH_MAX];
	int		left, rc;

	if (join(file, sizeof(file), path, "cgroup.events") == -1)
		return -1;
	if ((pfd.fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	pfd.events = POLLPRI;
	while ((rc = cgroup_populated(path)) == 1 &&
	    (left = (int)(end - now_ms())) > 0)
		(void)poll(&pfd, 1, left);
	close(pfd.fd);
	return rc == 1 ? -1 : 0;
}

static long long
now_ms(void)
{
	return (long long)(clock_now() * 1000);
}

/*
 * Files of a cgroup.
 */

/* dir/name into buf: 0, or -1 and ENAMETOOLONG. */
static int
join(char *buf, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* A reason, for the one line that says why there are no cgroups. */
static void
say(char *why, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* The text of dir/name into buf, NUL-terminated.  0, or -1 and errno. */
static int
read_text(const char *dir, const char *name, char *buf, size_t len)
{
	char	path[PATH_MAX];
	ssize_t	n;
	size_t	got = 0;
	int	fd, saved;

	if (join(path, sizeof(path), dir, name) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return 0;
}

/* Write text into dir/name in one write(2).  0, or -1 and errno. */
static int
write_text(const char *dir, const char *name, const char *text)
{
	char	path[PATH_MAX];
	size_t	len = strlen(text);
	ssize_t	n;
	int	fd, saved;

	if (join(path, sizeof(path), dir, name) == -1)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	do
		n = write(fd, text, len);
	while (n == -1 && errno == EINTR);
	saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)len ? 0 : -1;
}

/* The number after "key " on a line of dir/name (cpu.stat, ...). */
static int
read_key(const char *dir, const char *name, const char *key,
    long long *v)
{
	char		 text[8192], *p, *end;
	size_t		 n = strlen(key);

	if (read_text(dir, name, text, sizeof(text)) == -1)
		return -1;
	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL) {
		if (strncmp(p, key, n) != 0 || p[n] != ' ')
			continue;
		errno = 0;
		*v = strtoll(p + n + 1, &end, 10);
		if (errno != 0 || end == p + n + 1)
			return -1;
		return 0;
	}
	return -1;
}
