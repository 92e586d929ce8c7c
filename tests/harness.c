/*
 * SPDX-License-Identifier: ISC
 *
 * Integration-test harness; see harness.h.
 */

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MARK_VAR	"CDTEST_MARK"
#define POLL_MS		15
#define NBUF		16

extern char	**environ;

static char	test_dir[256];
static pid_t	daemon_pid = -1;
static int	daemon_status;
static int	daemon_reaped;
static int	janitor_fd = -1;

static void	h_die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	vwrite_file(const char *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));
static void	janitor_start(void);
static void	kill_marked(void);
static int	rm_entry(const char *, const struct stat *, int,
		    struct FTW *);

static char *
ring_buf(void)
{
	static char	bufs[NBUF][PATH_MAX];
	static int	next;

	next = (next + 1) % NBUF;
	return bufs[next];
}

static void
h_die(const char *fmt, ...)
{
	va_list	ap;
	char	msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h_cleanup();
	ck_abort_msg("harness: %s", msg);
}

long long
h_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
h_sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Fixture.
 */

void
h_setup(void)
{
	const char	*tmp = getenv("TMPDIR");

	signal(SIGPIPE, SIG_IGN);
	snprintf(test_dir, sizeof(test_dir), "%s/clusterd-test.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(test_dir) == NULL)
		ck_abort_msg("mkdtemp %s: %s", test_dir, strerror(errno));
	/* Workers may run as another user (user = nobody). */
	chmod(test_dir, 0755);
	if (mkdir(h_reports(), 0777) == -1 || chmod(h_reports(), 01777))
		h_die("mkdir %s: %s", h_reports(), strerror(errno));
	daemon_pid = -1;
	daemon_reaped = 0;
	janitor_start();
}

void
h_teardown(void)
{
	h_cleanup();
}

/*
 * SIGKILL every process of this test (by pid, found by its mark), reap
 * the daemon, remove the directory.  Safe to call more than once.
 */
void
h_cleanup(void)
{
	int	status;

	if (test_dir[0] == '\0')
		return;
	if (daemon_pid > 0 && !daemon_reaped) {
		kill(daemon_pid, SIGKILL);
		if (waitpid(daemon_pid, &status, 0) == daemon_pid) {
			daemon_reaped = 1;
			daemon_status = status;
		}
	}
	kill_marked();
	nftw(test_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	test_dir[0] = '\0';
	if (janitor_fd != -1) {
		close(janitor_fd);	/* the janitor finds nothing to do */
		janitor_fd = -1;
	}
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/*
 * A process of its own group (Check SIGKILLs the test's group on a
 * timeout) that waits for the test process to go away, however it goes,
 * and then does h_cleanup()'s work.
 */
static void
janitor_start(void)
{
	int	 p[2], fd;
	pid_t	 pid;
	char	 c;

	if (pipe2(p, O_CLOEXEC) == -1)
		h_die("pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		h_die("fork: %s", strerror(errno));
	if (pid == 0) {
		setpgid(0, 0);
		close(p[1]);
		for (fd = 3; fd < 1024; fd++)
			if (fd != p[0])
				close(fd);
		while (read(p[0], &c, 1) == -1 && errno == EINTR)
			;
		/* Test over: anything still marked is a leftover. */
		kill_marked();
		nftw(test_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		_exit(0);
	}
	close(p[0]);
	janitor_fd = p[1];
}

/* The pids whose environment carries our mark, zombies excluded. */
int
h_marked_pids(pid_t *pids, int max)
{
	DIR		*d;
	struct dirent	*de;
	char		 mark[PATH_MAX + 32], path[64], *buf;
	int		 n = 0, fd;
	size_t		 mlen, cap = 1 << 20;
	ssize_t		 len, r;

	snprintf(mark, sizeof(mark), "%s=%s", MARK_VAR, test_dir);
	mlen = strlen(mark) + 1;	/* with its NUL */
	if ((d = opendir("/proc")) == NULL || (buf = malloc(cap)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char	*end, *p;
		long	 pid = strtol(de->d_name, &end, 10);

		if (*end != '\0' || pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		len = 0;
		while ((r = read(fd, buf + len, cap - (size_t)len)) > 0)
			len += r;
		close(fd);
		for (p = buf; p < buf + len; p += strlen(p) + 1) {
			if ((size_t)(buf + len - p) >= mlen &&
			    memcmp(p, mark, mlen) == 0) {
				char st = h_proc_state((pid_t)pid);

				if (st != 0 && st != 'Z' && st != 'X' &&
				    n < max)
					pids[n++] = (pid_t)pid;
				break;
			}
		}
	}
	closedir(d);
	free(buf);
	return n;
}

static void
kill_marked(void)
{
	pid_t	pids[256];
	int	n, i, round;

	if (test_dir[0] == '\0')
		return;
	/* Rounds: a daemon still alive may fork while we kill. */
	for (round = 0; round < 50; round++) {
		if ((n = h_marked_pids(pids, 256)) == 0)
			return;
		for (i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		h_sleep_ms(10);
	}
}

int
h_wait_no_marked(int ms)
{
	pid_t		pids[64];
	long long	end = h_now_ms() + ms;

	for (;;) {
		if (h_marked_pids(pids, 64) == 0)
			return 1;
		if (h_now_ms() >= end)
			return 0;
		h_sleep_ms(POLL_MS);
	}
}

/* State letter from /proc/PID/stat, 0 when the process is gone. */
char
h_proc_state(pid_t pid)
{
	char	path[64], buf[512], *p;
	int	fd;
	ssize_t	n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return 0;
	return p[2];
}

static pid_t
proc_ppid(pid_t pid)
{
	char	path[64], buf[512], *p;
	int	fd;
	ssize_t	n;
	char	st;
	long	ppid;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 1, " %c %ld", &st, &ppid) != 2)
		return -1;
	return (pid_t)ppid;
}

/* Zombie children of pid right now. */
int
h_zombie_children(pid_t parent)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char	*end;
		long	 pid = strtol(de->d_name, &end, 10);

		if (*end != '\0' || pid <= 0)
			continue;
		if (proc_ppid((pid_t)pid) == parent &&
		    h_proc_state((pid_t)pid) == 'Z')
			n++;
	}
	closedir(d);
	return n;
}

/*
 * Paths.
 */

const char *
h_dir(void)
{
	return test_dir;
}

const char *
h_path(const char *fmt, ...)
{
	char	*b = ring_buf(), name[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	snprintf(b, PATH_MAX, "%s/%s", test_dir, name);
	return b;
}

static const char *
env_dir(const char *var)
{
	const char	*v = getenv(var);

	if (v == NULL || *v == '\0')
		h_die("%s is not set (run through make integration)", var);
	return v;
}

const char *
h_worker(const char *name)
{
	char	*b = ring_buf();

	snprintf(b, PATH_MAX, "%s/%s", env_dir("TEST_WORKERS"), name);
	return b;
}

const char *
h_example(const char *name)
{
	char	*b = ring_buf();

	snprintf(b, PATH_MAX, "%s/%s", env_dir("EXAMPLES"), name);
	return b;
}

const char *
h_conf(void)
{
	return h_path("clusterd.ini");
}

const char *
h_log(void)
{
	return h_path("clusterd.log");
}

const char *
h_out(void)
{
	return h_path("clusterd.out");
}

const char *
h_reports(void)
{
	return h_path("reports");
}

/*
 * Files.
 */

static void
vwrite_file(const char *path, const char *fmt, va_list ap)
{
	FILE	*fp;

	if ((fp = fopen(path, "w")) == NULL)
		h_die("%s: %s", path, strerror(errno));
	vfprintf(fp, fmt, ap);
	if (fclose(fp) == EOF)
		h_die("%s: %s", path, strerror(errno));
}

void
h_write_file(const char *path, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vwrite_file(path, fmt, ap);
	va_end(ap);
}

void
h_write_config(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vwrite_file(h_conf(), fmt, ap);
	va_end(ap);
}

char *
h_read_file(const char *path)
{
	FILE	*fp;
	char	*buf;
	size_t	 cap = 4096, len = 0, n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	if ((buf = malloc(cap)) == NULL) {
		fclose(fp);
		return NULL;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			char *nb = realloc(buf, cap * 2);

			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	fclose(fp);
	return buf;
}

int
h_file_exists(const char *path)
{
	struct stat	st;

	return lstat(path, &st) == 0;
}

int
h_count_in_file(const char *path, const char *needle)
{
	char		*buf = h_read_file(path);
	const char	*p;
	int		 n = 0;

	if (buf == NULL || *needle == '\0') {
		free(buf);
		return 0;
	}
	for (p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(buf);
	return n;
}

/*
 * Copy src to dst with mode as a package manager installs a file: into
 * dst.new, then renamed over dst, so that a process running the old dst
 * keeps its (now deleted) file.
 */
void
h_install(const char *src, const char *dst, mode_t mode)
{
	char	tmp[PATH_MAX], buf[65536];
	ssize_t	n;
	int	in, out;

	snprintf(tmp, sizeof(tmp), "%s.new", dst);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		h_die("%s: %s", src, strerror(errno));
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		h_die("%s: %s", tmp, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			h_die("write %s: %s", tmp, strerror(errno));
	if (n == -1)
		h_die("read %s: %s", src, strerror(errno));
	close(in);
	if (fchmod(out, mode) == -1 || close(out) == -1)
		h_die("%s: %s", tmp, strerror(errno));
	if (rename(tmp, dst) == -1)
		h_die("rename %s to %s: %s", tmp, dst, strerror(errno));
}

/* A port free right now on 127.0.0.1 (bind port 0, read it, close). */
int
h_free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, port;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		h_die("socket: %s", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		h_die("bind: %s", strerror(errno));
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/*
 * Processes.
 */

/* envp = our environment + the mark + REPORT_DIR + extra (which win). */
static char **
build_env(const char *const *extra)
{
	static char	  mark_env[PATH_MAX + 32], report_env[PATH_MAX + 16];
	size_t		  n = 0, i, k = 0, j;
	char		**envp;

	for (i = 0; environ[i] != NULL; i++)
		n++;
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		n++;
	if ((envp = calloc(n + 3, sizeof(char *))) == NULL)
		h_die("calloc");
	for (i = 0; environ[i] != NULL; i++) {
		size_t nl = strcspn(environ[i], "=");
		int overridden = strncmp(environ[i], MARK_VAR "=",
		    sizeof(MARK_VAR)) == 0 ||
		    strncmp(environ[i], "REPORT_DIR=", 11) == 0;

		for (j = 0; extra != NULL && extra[j] != NULL; j++)
			if (strncmp(extra[j], environ[i], nl + 1) == 0)
				overridden = 1;
		if (!overridden)
			envp[k++] = environ[i];
	}
	snprintf(mark_env, sizeof(mark_env), "%s=%s", MARK_VAR, test_dir);
	envp[k++] = mark_env;
	snprintf(report_env, sizeof(report_env), "REPORT_DIR=%s",
	    h_reports());
	envp[k++] = report_env;
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		envp[k++] = (char *)extra[i];
	envp[k] = NULL;
	return envp;
}

/*
 * Ignore signals 32 and 33 (glibc's internal ones, which its signal()
 * refuses to touch) with the raw system call, as GNU make leaves them:
 * so the daemon's workers are tested the same way inside and outside
 * make.  A worker must see them at their default too.
 */
static void
ignore_libc_signals(void)
{
#if defined(__x86_64__) || defined(__aarch64__) || defined(__i386__)
	struct {
		void		(*ks_handler)(int);
		unsigned long	  ks_flags;
		void		(*ks_restorer)(void);
		unsigned long	  ks_mask;
	} ksa;
	int	sig;

	memset(&ksa, 0, sizeof(ksa));
	ksa.ks_handler = SIG_IGN;
	for (sig = 32; sig <= 33; sig++)
		syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.ks_mask));
#endif
}

/*
 * fork + exec argv with stdout and stderr to files; fds above 2 closed
 * except one deliberately leaked descriptor (fd 7, /dev/null) that the
 * daemon must not pass on to its workers; likewise SIGUSR2 ignored and
 * SIGUSR1 blocked.
 */
static pid_t
spawn(const char *const *argv, const char *const *extra, const char *out,
    const char *err)
{
	char	**envp = build_env(extra);
	sigset_t  set;
	pid_t	  pid;
	int	  fd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		h_die("fork: %s", strerror(errno));
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, 0);
		if ((fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644)) !=
		    -1)
			dup2(fd, 1);
		if ((fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644)) !=
		    -1)
			dup2(fd, 2);
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		if ((fd = open("/dev/null", O_RDONLY)) != -1 && fd != 7) {
			dup2(fd, 7);
			close(fd);
		}
		/*
		 * Hand the daemon an ignored signal and a blocked one: its
		 * workers must get default dispositions and an empty mask
		 * all the same.
		 */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGUSR2, SIG_IGN);
		ignore_libc_signals();
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		execve(argv[0], (char *const *)argv, envp);
		dprintf(2, "harness: execve %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	free(envp);
	return pid;
}

pid_t
h_start_args(const char *const *extra_env, const char *const *args)
{
	const char	*argv[32];
	size_t		 n = 0, i;

	if (daemon_pid > 0 && !daemon_reaped)
		h_die("a daemon is already running (pid %ld)",
		    (long)daemon_pid);
	argv[n++] = env_dir("CLUSTERD_BIN");
	argv[n++] = "-c";
	argv[n++] = h_conf();
	for (i = 0; args != NULL && args[i] != NULL && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	daemon_pid = spawn(argv, extra_env, h_out(), h_log());
	daemon_reaped = 0;
	return daemon_pid;
}

/* Run another command as "the daemon" (e.g. clusterd under unshare). */
pid_t
h_start_cmd(const char *const *argv, const char *const *extra_env)
{
	if (daemon_pid > 0 && !daemon_reaped)
		h_die("a daemon is already running (pid %ld)",
		    (long)daemon_pid);
	daemon_pid = spawn(argv, extra_env, h_out(), h_log());
	daemon_reaped = 0;
	return daemon_pid;
}

pid_t
h_start(const char *const *extra_env)
{
	return h_start_args(extra_env, NULL);
}

pid_t
h_daemon(void)
{
	return daemon_pid;
}

int
h_signal(int sig)
{
	if (daemon_pid <= 0 || daemon_reaped)
		return -1;
	return kill(daemon_pid, sig);
}

int
h_daemon_alive(void)
{
	int	status;

	if (daemon_pid <= 0 || daemon_reaped)
		return 0;
	if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
		daemon_reaped = 1;
		daemon_status = status;
		return 0;
	}
	return 1;
}

/* Wait for the daemon's exit; 1 and its wait status, or 0 at deadline. */
int
h_wait_exit(int ms, int *status)
{
	long long	end = h_now_ms() + ms;

	for (;;) {
		if (!h_daemon_alive()) {
			if (status != NULL)
				*status = daemon_status;
			return daemon_pid > 0;
		}
		if (h_now_ms() >= end)
			return 0;
		h_sleep_ms(POLL_MS);
	}
}

/*
 * Run argv to completion (deadline ms); its wait status, stdout and
 * stderr (malloc'd).  Returns 1, or 0 if it had to be killed.
 */
int
h_run(const char *const *argv, const char *const *extra_env, int ms,
    int *status, char **out, char **err)
{
	char		 opath[PATH_MAX], epath[PATH_MAX];
	static int	 seq;
	long long	 end = h_now_ms() + ms;
	pid_t		 pid;
	int		 ok = 1;

	seq++;
	snprintf(opath, sizeof(opath), "%s", h_path("run%d.out", seq));
	snprintf(epath, sizeof(epath), "%s", h_path("run%d.err", seq));
	pid = spawn(argv, extra_env, opath, epath);
	while (waitpid(pid, status, WNOHANG) != pid) {
		if (h_now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			ok = 0;
			break;
		}
		h_sleep_ms(POLL_MS);
	}
	if (out != NULL)
		*out = h_read_file(opath);
	if (err != NULL)
		*err = h_read_file(epath);
	return ok;
}

int
h_pid_dead(pid_t pid)
{
	char	st;

	if (pid <= 0)
		return 1;
	if (pid == daemon_pid)
		return !h_daemon_alive();
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	/* A zombie (its parent gone, or not yet reaping) is dead too. */
	st = h_proc_state(pid);
	return st == 0 || st == 'Z' || st == 'X';
}

int
h_wait_dead(pid_t pid, int ms)
{
	long long	end = h_now_ms() + ms;

	for (;;) {
		if (h_pid_dead(pid))
			return 1;
		if (h_now_ms() >= end)
			return 0;
		h_sleep_ms(POLL_MS);
	}
}

/*
 * Waits.
 */

int
h_count_log(const char *needle)
{
	return h_count_in_file(h_log(), needle);
}

/* The first line of file that contains needle (malloc'd), or NULL. */
char *
h_find_line(const char *path, const char *needle)
{
	char	*buf = h_read_file(path), *p, *start, *end, *line = NULL;

	if (buf == NULL)
		return NULL;
	if ((p = strstr(buf, needle)) != NULL) {
		for (start = p; start > buf && start[-1] != '\n'; start--)
			;
		if ((end = strchr(p, '\n')) == NULL)
			end = p + strlen(p);
		line = strndup(start, (size_t)(end - start));
	}
	free(buf);
	return line;
}

int
h_wait_log(const char *needle, int count, int ms)
{
	return h_wait_text(h_log(), needle, count, ms);
}

/* Wait until file holds count occurrences of needle. */
int
h_wait_text(const char *path, const char *needle, int count, int ms)
{
	long long	end = h_now_ms() + ms;

	for (;;) {
		if (h_count_in_file(path, needle) >= count)
			return 1;
		if (h_now_ms() >= end)
			return 0;
		h_sleep_ms(POLL_MS);
	}
}

/* Report files whose name starts with prefix ("web." or "web.0."). */
int
h_count_reports(const char *prefix)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(h_reports())) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

int
h_wait_reports(const char *prefix, int count, int ms)
{
	long long	end = h_now_ms() + ms;

	for (;;) {
		if (h_count_reports(prefix) >= count)
			return 1;
		if (h_now_ms() >= end)
			return 0;
		h_sleep_ms(POLL_MS);
	}
}

int
h_wait_file(const char *path, int exists, int ms)
{
	long long	end = h_now_ms() + ms;

	for (;;) {
		if (h_file_exists(path) == (exists != 0))
			return 1;
		if (h_now_ms() >= end)
			return 0;
		h_sleep_ms(POLL_MS);
	}
}

/*
 * Reports.
 */

struct h_report *
h_report_load(const char *path)
{
	struct h_report	*r;
	char		*buf, *line, *save = NULL, *eq;

	if ((buf = h_read_file(path)) == NULL)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		h_die("calloc");
	r->r_path = strdup(path);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		r->r_keys = realloc(r->r_keys, (r->r_n + 1) * sizeof(char *));
		r->r_vals = realloc(r->r_vals, (r->r_n + 1) * sizeof(char *));
		if (r->r_keys == NULL || r->r_vals == NULL)
			h_die("realloc");
		r->r_keys[r->r_n] = strdup(line);
		r->r_vals[r->r_n] = strdup(eq + 1);
		r->r_n++;
	}
	free(buf);
	r->r_pid = (pid_t)h_report_num(r, "pid");
	r->r_start_ms = h_report_num(r, "start_ms");
	r->r_mono_ms = h_report_num(r, "start_mono_ms");
	return r;
}

void
h_report_free(struct h_report *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->r_n; i++) {
		free(r->r_keys[i]);
		free(r->r_vals[i]);
	}
	free(r->r_keys);
	free(r->r_vals);
	free(r->r_path);
	free(r);
}

const char *
h_report_get(const struct h_report *r, const char *key)
{
	size_t	i;

	if (r == NULL)
		return NULL;
	for (i = 0; i < r->r_n; i++)
		if (strcmp(r->r_keys[i], key) == 0)
			return r->r_vals[i];
	return NULL;
}

long long
h_report_num(const struct h_report *r, const char *key)
{
	const char	*v = h_report_get(r, key);
	char		*end;
	long long	 n;

	if (v == NULL || *v == '\0')
		return -1;
	n = strtoll(v, &end, 0);
	return *end == '\0' ? n : -1;
}

static int
cmp_report(const void *a, const void *b)
{
	const struct h_report	*x = *(struct h_report *const *)a;
	const struct h_report	*y = *(struct h_report *const *)b;

	return (x->r_mono_ms > y->r_mono_ms) - (x->r_mono_ms < y->r_mono_ms);
}

/* The reports whose name starts with prefix, oldest start first. */
size_t
h_report_list(const char *prefix, struct h_report ***out)
{
	DIR		 *d;
	struct dirent	 *de;
	struct h_report	**v = NULL, *r;
	size_t		  n = 0;

	*out = NULL;
	if ((d = opendir(h_reports())) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if ((r = h_report_load(h_path("reports/%s", de->d_name))) ==
		    NULL)
			continue;
		if ((v = realloc(v, (n + 1) * sizeof(*v))) == NULL)
			h_die("realloc");
		v[n++] = r;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_report);
	*out = v;
	return n;
}

void
h_report_list_free(struct h_report **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		h_report_free(v[i]);
	free(v);
}

/* Wait for the first report with this prefix and load it (the newest). */
struct h_report *
h_report_wait(const char *prefix, int ms)
{
	struct h_report	**v, *r;
	size_t		  n;

	if (!h_wait_reports(prefix, 1, ms))
		return NULL;
	if ((n = h_report_list(prefix, &v)) == 0)
		return NULL;
	r = v[n - 1];
	v[n - 1] = NULL;
	h_report_list_free(v, n - 1);
	return r;
}

/*
 * Network.
 */

int
h_connect_tcp(int port)
{
	struct sockaddr_in	sin;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
h_connect_unix(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
h_send(int fd, const char *s)
{
	size_t	len = strlen(s);
	ssize_t	n;

	while (len > 0) {
		n = send(fd, s, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until EOF or the deadline; the length read, or -1 on timeout. */
ssize_t
h_recv_all(int fd, char *buf, size_t len, int ms)
{
	long long	end = h_now_ms() + ms, left;
	struct pollfd	pfd = { fd, POLLIN, 0 };
	size_t		got = 0;
	ssize_t		n;

	for (;;) {
		if ((left = end - h_now_ms()) <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(fd, buf + got, len - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == len - 1)
			break;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

static ssize_t
request(int fd, const char *req, char *buf, size_t len, int ms)
{
	ssize_t	n;

	if (fd == -1)
		return -1;
	if (h_send(fd, req) == -1) {
		close(fd);
		return -1;
	}
	n = h_recv_all(fd, buf, len, ms);
	close(fd);
	return n;
}

ssize_t
h_request_tcp(int port, const char *req, char *buf, size_t len, int ms)
{
	return request(h_connect_tcp(port), req, buf, len, ms);
}

ssize_t
h_request_unix(const char *path, const char *req, char *buf, size_t len,
    int ms)
{
	return request(h_connect_unix(path), req, buf, len, ms);
}

/*
 * The load loop (see harness.h).
 */

#define LOAD_REQ	"GET / HTTP/1.1\r\nHost: test\r\n" \
			"Connection: close\r\n\r\n"

/* nconn requests in flight on 127.0.0.1:port; free() it when done. */
struct h_load *
h_load_new(int port, int nconn)
{
	struct h_load	*ld;

	if ((ld = calloc(1, sizeof(*ld))) == NULL)
		h_die("calloc");
	ld->ld_port = port;
	ld->ld_nconn = nconn < H_LOAD_MAXCONN ? nconn : H_LOAD_MAXCONN;
	return ld;
}

static void
lo_fail(struct h_load *ld, struct h_lconn *c, long *counter, const char *why,
    int err)
{
	(*counter)++;
	if (ld->ld_why[0] == '\0')
		snprintf(ld->ld_why, sizeof(ld->ld_why), "%s%s%s (got %zu "
		    "bytes: \"%.60s\")", why, err ? ": " : "",
		    err ? strerror(err) : "", c->lc_len, c->lc_buf);
	close(c->lc_fd);
	c->lc_fd = -1;
	c->lc_state = H_LC_IDLE;
}

static void
lo_send(struct h_load *ld, struct h_lconn *c)
{
	ssize_t	n;

	n = send(c->lc_fd, LOAD_REQ, sizeof(LOAD_REQ) - 1, MSG_NOSIGNAL);
	if (n != (ssize_t)sizeof(LOAD_REQ) - 1) {
		lo_fail(ld, c, &ld->ld_failed, "send", n == -1 ? errno : 0);
		return;
	}
	c->lc_state = H_LC_READING;
}

static void
lo_begin(struct h_load *ld, struct h_lconn *c)
{
	struct sockaddr_in	sin;

	memset(c, 0, sizeof(*c));
	c->lc_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	H_ASSERT(c->lc_fd != -1, "socket: %s", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)ld->ld_port);
	c->lc_deadline = h_now_ms() + H_LOAD_TIMEOUT;
	if (connect(c->lc_fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
		lo_send(ld, c);
		return;
	}
	if (errno != EINPROGRESS) {
		lo_fail(ld, c, &ld->ld_connect_err, "connect", errno);
		return;
	}
	c->lc_state = H_LC_CONNECTING;
}

static void
lo_connected(struct h_load *ld, struct h_lconn *c)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(c->lc_fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		lo_fail(ld, c, &ld->ld_connect_err, "connect", err);
		return;
	}
	lo_send(ld, c);
}

/* Read; at EOF the response must be whole. */
static void
lo_read(struct h_load *ld, struct h_lconn *c)
{
	static const char	 body[] = "\r\n\r\nhello\n";
	ssize_t			 n;
	char			*end;

	n = read(c->lc_fd, c->lc_buf + c->lc_len, sizeof(c->lc_buf) - 1 -
	    c->lc_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		lo_fail(ld, c, &ld->ld_failed, "read", errno);
		return;
	}
	c->lc_len += (size_t)n;
	c->lc_buf[c->lc_len] = '\0';
	if (n > 0 && c->lc_len < sizeof(c->lc_buf) - 1)
		return;
	end = strstr(c->lc_buf, body);
	if (strncmp(c->lc_buf, "HTTP/1.1 200 ", 13) != 0 || end == NULL ||
	    end[sizeof(body) - 1] != '\0') {
		lo_fail(ld, c, &ld->ld_failed, "bad or truncated response",
		    0);
		return;
	}
	ld->ld_ok++;
	close(c->lc_fd);
	c->lc_fd = -1;
	c->lc_state = H_LC_IDLE;
}

/*
 * One turn: start requests in idle slots (unless draining), poll up to
 * ms, advance what is ready.  Returns the number still in flight.
 */
int
h_load_turn(struct h_load *ld, int draining, int ms)
{
	struct pollfd	 pfd[H_LOAD_MAXCONN];
	struct h_lconn	*c;
	long long	 now = h_now_ms();
	int		 i, n = 0, busy = 0;

	for (i = 0; i < ld->ld_nconn; i++) {
		c = &ld->ld_conns[i];
		if (c->lc_state == H_LC_IDLE && !draining)
			lo_begin(ld, c);
		if (c->lc_state != H_LC_IDLE && now >= c->lc_deadline)
			lo_fail(ld, c, &ld->ld_failed, "no answer in time",
			    0);
		pfd[i].fd = c->lc_state == H_LC_IDLE ? -1 : c->lc_fd;
		pfd[i].events = c->lc_state == H_LC_CONNECTING ? POLLOUT :
		    POLLIN;
		pfd[i].revents = 0;
		busy += c->lc_state != H_LC_IDLE;
	}
	if (busy == 0)
		return 0;
	if (poll(pfd, (nfds_t)ld->ld_nconn, ms) <= 0)
		return busy;
	for (i = 0; i < ld->ld_nconn; i++) {
		c = &ld->ld_conns[i];
		if (pfd[i].revents == 0 || c->lc_state == H_LC_IDLE)
			continue;
		if (c->lc_state == H_LC_CONNECTING)
			lo_connected(ld, c);
		else
			lo_read(ld, c);
	}
	for (i = 0; i < ld->ld_nconn; i++)
		n += ld->ld_conns[i].lc_state != H_LC_IDLE;
	return n;
}

/* Let the requests in flight finish (bounded), then close everything. */
void
h_load_drain(struct h_load *ld)
{
	long long	end = h_now_ms() + H_LOAD_TIMEOUT + 1000;

	while (h_load_turn(ld, 1, 20) > 0 && h_now_ms() < end)
		;
}

/*
 * Diagnostics.
 */

void
h_dump_log(void)
{
	char	*buf;
	size_t	 len;

	if (test_dir[0] == '\0' || (buf = h_read_file(h_log())) == NULL)
		return;
	len = strlen(buf);
	fprintf(stderr, "---- %s (last 3000 bytes)\n%s----\n", h_log(),
	    len > 3000 ? buf + len - 3000 : buf);
	free(buf);
}

/* A failed H_ASSERT: its message, then the log shown, then clean-up. */
const char *
h_failed(const char *fmt, ...)
{
	static char	msg[2048];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h_dump_log();
	h_cleanup();
	return msg;
}

/* After a shutdown: every process of the test is gone. */
void
h_assert_no_leftovers(void)
{
	pid_t	pids[16];
	int	n;

	if (!h_wait_no_marked(H_DEADLINE_MS)) {
		n = h_marked_pids(pids, 16);
		H_ASSERT(0, "%d process(es) left behind, first pid %ld", n,
		    n > 0 ? (long)pids[0] : -1L);
	}
}

/* SIGTERM; the daemon exits 0 in time and leaves nothing behind. */
void
h_stop_daemon(void)
{
	int	st = -1;

	H_ASSERT(h_signal(SIGTERM) == 0, "the daemon is not running");
	H_ASSERT(h_wait_exit(H_DEADLINE_MS, &st), "the daemon did not exit");
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "daemon wait status 0x%x, expected exit 0", st);
	h_assert_no_leftovers();
}

/* The report has key, with this value. */
void
h_assert_key(const struct h_report *r, const char *key, const char *want)
{
	const char	*v = h_report_get(r, key);

	H_ASSERT(v != NULL && strcmp(v, want) == 0,
	    "%s: %s=\"%s\", expected \"%s\"", r->r_path, key,
	    v ? v : "(none)", want);
}

/* The report does not have key. */
void
h_assert_no_key(const struct h_report *r, const char *key)
{
	const char	*v = h_report_get(r, key);

	H_ASSERT(v == NULL, "%s: %s=\"%s\" should not be there", r->r_path,
	    key, v ? v : "");
}

/* A test case run in the harness's fixture, with a Check timeout. */
TCase *
h_tcase(const char *name, int timeout)
{
	TCase	*tc = tcase_create(name);

	tcase_add_checked_fixture(tc, h_setup, h_teardown);
	tcase_set_timeout(tc, timeout);
	return tc;
}

/*
 * Shared assertions and probes of the integration suites.
 */

/* n reports with prefix appear; fail at once if the daemon exits. */
void
h_expect_reports(const char *prefix, int n)
{
	long long	end = h_now_ms() + H_DEADLINE_MS;

	while (h_count_reports(prefix) < n) {
		H_ASSERT(h_daemon_alive(), "the daemon exited while %d "
		    "report(s) \"%s*\" were expected (%d found)", n, prefix,
		    h_count_reports(prefix));
		H_ASSERT(h_now_ms() < end, "%d report(s) \"%s*\" expected, "
		    "%d found", n, prefix, h_count_reports(prefix));
		h_sleep_ms(15);
	}
}

/* The newest report with prefix (there must be one). */
struct h_report *
h_newest_report(const char *prefix)
{
	struct h_report	**v, *r;
	size_t		  n, i;

	n = h_report_list(prefix, &v);
	H_ASSERT(n > 0, "no report %s", prefix);
	r = v[n - 1];
	for (i = 0; i + 1 < n; i++)
		h_report_free(v[i]);
	free(v);
	return r;
}

/* The daemon reaps: no zombie child stays (a moment to reap allowed). */
void
h_assert_no_zombies(void)
{
	long long	end = h_now_ms() + H_DEADLINE_MS;

	while (h_zombie_children(h_daemon()) > 0 && h_now_ms() < end)
		h_sleep_ms(20);
	H_ASSERT(h_zombie_children(h_daemon()) == 0, "%d zombie children",
	    h_zombie_children(h_daemon()));
}

/* Open descriptors of pid, from /proc; -1 if it cannot be read. */
int
h_fd_count(pid_t pid)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[64];
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Resident memory of pid in KiB, from /proc; -1 if unknown. */
long
h_rss_kib(pid_t pid)
{
	char	 path[64], *buf, *p;
	long	 kib = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((buf = h_read_file(path)) == NULL)
		return -1;
	if ((p = strstr(buf, "VmRSS:")) != NULL)
		kib = strtol(p + 6, NULL, 10);
	free(buf);
	return kib;
}

/* A datagram socket bound at path: a NOTIFY_SOCKET for the daemon. */
int
h_notify_open(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	H_ASSERT(fd != -1, "socket: %s", strerror(errno));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	H_ASSERT(strlen(path) < sizeof(sun.sun_path), "%s: too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	H_ASSERT(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "bind %s: %s", path, strerror(errno));
	return fd;
}

/* The next datagram within ms, NUL-terminated; 0 on timeout. */
int
h_notify_recv(int fd, char *buf, size_t len, int ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	ssize_t		n;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	n = recv(fd, buf, len - 1, MSG_DONTWAIT);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return 1;
}

/*
 * Signal the reporter that wrote r from inside a PID namespace: its
 * reported pid is the one inside, matched through NSpid in /proc.
 */
void
h_kill_in_namespace(const struct h_report *r, int sig)
{
	pid_t		 pids[64];
	int		 n, i;
	char		 path[64], want[64], *st;

	n = h_marked_pids(pids, 64);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%ld/status", (long)pids[i]);
		if ((st = h_read_file(path)) == NULL)
			continue;
		snprintf(want, sizeof(want), "NSpid:\t%ld\t%ld\n",
		    (long)pids[i], (long)r->r_pid);
		if (strstr(st, "Name:\treporter") != NULL &&
		    strstr(st, want) != NULL) {
			free(st);
			H_ASSERT(kill(pids[i], sig) == 0, "kill %ld",
			    (long)pids[i]);
			return;
		}
		free(st);
	}
	H_ASSERT(0, "worker %ld not found", (long)r->r_pid);
}

/*
 * Assertions the daemon suites share.
 */

static const char *
bin_from(const char *var)
{
	const char	*v = getenv(var);

	if (v == NULL || *v == '\0')
		ck_abort_msg("%s is not set (run through make integration)",
		    var);
	return v;
}

const char *
h_clusterd_bin(void)
{
	return bin_from("CLUSTERD_BIN");
}

const char *
h_ctl_bin(void)
{
	return bin_from("CLUSTERCTL_BIN");
}

void
h_log_for(const char *needle, int n)
{
	H_ASSERT(h_wait_log(needle, n, H_WAIT), "\"%s\" x%d not in the log "
	    "(%d found)", needle, n, h_count_log(needle));
}

/* h_log_for, failing at once if the daemon exits meanwhile. */
void
h_log_alive(const char *needle, int n)
{
	long long	end = h_now_ms() + H_WAIT;

	while (h_count_log(needle) < n) {
		H_ASSERT(h_daemon_alive(), "the daemon exited while waiting "
		    "for \"%s\"", needle);
		H_ASSERT(h_now_ms() < end, "%d \"%s\" in the log expected, "
		    "%d found", n, needle, h_count_log(needle));
		h_sleep_ms(15);
	}
}

/* The pids of the newest n reports with this prefix, newest last. */
void
h_newest_pids(const char *prefix, int n, pid_t *pids)
{
	struct h_report	**v;
	size_t		  len, i;

	len = h_report_list(prefix, &v);
	H_ASSERT(len >= (size_t)n, "%zu reports \"%s*\", wanted %d", len,
	    prefix, n);
	for (i = 0; i < (size_t)n; i++)
		pids[i] = v[len - (size_t)n + i]->r_pid;
	h_report_list_free(v, len);
}

/* A number from the report of pid. */
long long
h_report_num_of(const char *prefix, pid_t pid, const char *key)
{
	struct h_report	**v;
	size_t		  len, i;
	long long	  n = -2;

	len = h_report_list(prefix, &v);
	for (i = 0; i < len; i++)
		if (v[i]->r_pid == pid)
			n = h_report_num(v[i], key);
	h_report_list_free(v, len);
	H_ASSERT(n != -2, "no report \"%s*\" of pid %ld", prefix, (long)pid);
	return n;
}

/* The daemon and exactly n workers are alive (the old ones have gone). */
void
h_wait_marked(int n)
{
	long long	end = h_now_ms() + H_WAIT;
	pid_t		pids[64];

	while (h_marked_pids(pids, 64) != n + 1) {
		H_ASSERT(h_now_ms() < end, "%d processes, expected %d + the "
		    "daemon", h_marked_pids(pids, 64) - 1, n);
		h_sleep_ms(15);
	}
}

int
h_port_open(int port)
{
	int	fd = h_connect_tcp(port);

	if (fd == -1)
		return 0;
	close(fd);
	return 1;
}

int
h_reporter_answers(int port)
{
	char	buf[512];

	if (h_request_tcp(port, "ping\n", buf, sizeof(buf), H_WAIT) <= 0)
		return 0;
	return strstr(buf, "hello pid=") != NULL;
}

/* Not one request of the load failed or was refused, and it made some. */
void
h_load_assert_clean(const struct h_load *ld)
{
	H_ASSERT(ld->ld_connect_err == 0 && ld->ld_failed == 0, "%ld ok, "
	    "%ld connection errors, %ld failed requests; first: %s",
	    ld->ld_ok, ld->ld_connect_err, ld->ld_failed, ld->ld_why);
	H_ASSERT(ld->ld_ok > 100, "only %ld requests made", ld->ld_ok);
}
