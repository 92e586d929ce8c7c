/*
 * SPDX-License-Identifier: ISC
 *
 * Upgrading clusterd itself: the preflight and the execve.
 *
 * The new binary is the one at the path clusterd was started from, as
 * it was resolved then (not /proc/self/exe, which names the deleted old
 * file once a package has replaced it).  First it runs as `clusterd
 * --upgrade-check -c CONFIG': it must load the configuration and say
 * that it reads the state version this image writes, within
 * CHECK_TIMEOUT.  Only then does the master write its state and call
 * upgrade_exec(), which execs the new binary in place, keeping exactly
 * the descriptors the state names, with every signal blocked so that
 * none is lost in between (blocked signals stay pending across execve).
 * If the execve fails, everything is as it was.
 *
 * The preflight child is reaped by the master's ev_child like every
 * child (upgrade_reaped).
 */

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define CHECK_TIMEOUT	30.0	/* seconds for the new binary's check */
#define CHECK_OUT_MAX	4096	/* what of its output is kept */

extern char **environ;

static char		 exe_path[PATH_MAX];
static enum upgrade_phase phase = UPGRADE_IDLE;
static char		 why[1024];
static pid_t		 check_pid = -1;
static int		 check_status;
static ev_io		 check_io;
static ev_timer		 check_timer;
static char		 check_out[CHECK_OUT_MAX];
static size_t		 check_len;

static void	check_readable(struct ev_loop *, ev_io *, int);
static void	check_timeout(struct ev_loop *, ev_timer *, int);
static void	check_read(void);
static void	check_decide(void);
static void	fail(const char *, ...) __attribute__((format(printf, 1, 2)));
static int	search_path(const char *, char *, size_t);

/*
 * At start-up: the absolute path of the binary clusterd was started as
 * (argv[0], searched in PATH if it has no '/').  -1 if it cannot be
 * told; an upgrade then fails with that reason.
 */
int
upgrade_init(const char *argv0)
{
	char	cwd[PATH_MAX];

	exe_path[0] = '\0';
	if (strchr(argv0, '/') == NULL)
		return search_path(argv0, exe_path, sizeof(exe_path));
	if (argv0[0] == '/') {
		snprintf(exe_path, sizeof(exe_path), "%s", argv0);
		return 0;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    (size_t)snprintf(exe_path, sizeof(exe_path), "%s/%s", cwd,
	    argv0) >= sizeof(exe_path)) {
		exe_path[0] = '\0';
		return -1;
	}
	return 0;
}

const char *
upgrade_path(void)
{
	return exe_path;
}

enum upgrade_phase
upgrade_phase(void)
{
	return phase;
}

/* Why the last upgrade failed. */
const char *
upgrade_error(void)
{
	return why;
}

/* Back to idle, once the master has acted on the outcome. */
void
upgrade_reset(void)
{
	phase = UPGRADE_IDLE;
	why[0] = '\0';
}

/*
 * Start the preflight: the new binary checks config_path.  Its outcome
 * shows in upgrade_phase(): CHECKED, or FAILED with upgrade_error().
 */
void
upgrade_check_start(const char *config_path)
{
	sigset_t	all, old;
	int		pipefd[2], null;
	pid_t		pid;

	check_len = 0;
	phase = UPGRADE_CHECKING;
	if (exe_path[0] == '\0') {
		fail("the path clusterd was started from is not known");
		return;
	}
	if (access(exe_path, X_OK) == -1) {
		fail("%s: %s", exe_path, strerror(errno));
		return;
	}
	if (pipe2(pipefd, O_CLOEXEC) == -1) {
		fail("pipe: %s", strerror(errno));
		return;
	}
	/*
	 * Signals stay blocked in the child until its exec (which resets
	 * clusterd's handlers): none may run them in the child.  The check
	 * runs with them blocked; it needs none, and SIGKILL ends it.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == -1) {
		fail("fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	if (pid == 0) {
		if ((null = open("/dev/null", O_RDONLY)) != -1)
			dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execl(exe_path, exe_path, "--upgrade-check", "-c",
		    config_path, (char *)NULL);
		dprintf(2, "cannot execute %s: %s\n", exe_path,
		    strerror(errno));
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pipefd[1]);
	if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK) == -1)
		log_warn("upgrade: fcntl O_NONBLOCK");
	check_pid = pid;
	ev_io_init(&check_io, check_readable, pipefd[0], EV_READ);
	ev_io_start(EV_DEFAULT, &check_io);
	ev_timer_init(&check_timer, check_timeout, CHECK_TIMEOUT, 0);
	ev_timer_start(EV_DEFAULT, &check_timer);
	log_info("upgrade: checking %s (pid %ld)", exe_path, (long)pid);
}

/* The master reaped pid: 1 if it was the preflight. */
int
upgrade_reaped(pid_t pid, int status)
{
	if (pid != check_pid || check_pid == -1)
		return 0;
	check_pid = -1;
	check_status = status;
	check_read();
	check_decide();
	return 1;
}

/*
 * Exec the new binary in place with argv, keeping the n descriptors of
 * keep open across it.  Returns only if execve failed (-1, errno set):
 * then the descriptors are close-on-exec again and the signal mask is
 * what it was.
 */
int
upgrade_exec(char *const argv[], const int *keep, size_t n)
{
	sigset_t	all, old;
	size_t		i;
	int		saved;

	for (i = 0; i < n; i++)
		if (keep[i] >= 0 && fcntl(keep[i], F_SETFD, 0) == -1)
			log_warn("upgrade: fcntl %d", keep[i]);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	execve(exe_path, argv, environ);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < n; i++)
		if (keep[i] >= 0)
			(void)fcntl(keep[i], F_SETFD, FD_CLOEXEC);
	errno = saved;
	return -1;
}

static void
check_readable(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)io;
	(void)revents;
	check_read();
}

/* Keep what fits of the check's output; the pipe closes at its EOF. */
static void
check_read(void)
{
	char	buf[1024];
	ssize_t	n;
	size_t	room;

	if (!ev_is_active(&check_io))
		return;
	for (;;) {
		n = read(check_io.fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		room = sizeof(check_out) - 1 - check_len;
		if ((size_t)n < room)
			room = (size_t)n;
		memcpy(check_out + check_len, buf, room);
		check_len += room;
		check_out[check_len] = '\0';
	}
	ev_io_stop(EV_DEFAULT, &check_io);
	close(check_io.fd);
}

static void
check_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (check_pid != -1)
		(void)kill(check_pid, SIGKILL);
	fail("%s --upgrade-check did not answer within %.0fs", exe_path,
	    CHECK_TIMEOUT);
}

/*
 * The check has exited: it passed if it exited 0 and said it reads the
 * state version this image writes ("reads state 1").
 */
static void
check_decide(void)
{
	char	 want[32], first[256], *p;
	int	 st = check_status;

	ev_timer_stop(EV_DEFAULT, &check_timer);
	if (ev_is_active(&check_io)) {
		/* something it started holds the pipe: we have read enough */
		ev_io_stop(EV_DEFAULT, &check_io);
		close(check_io.fd);
	}
	if (phase != UPGRADE_CHECKING)
		return;		/* timed out already */
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(check_out, "\n"),
	    check_out);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (WIFSIGNALED(st))
			fail("%s --upgrade-check was killed by %s%s%s",
			    exe_path, signal_name(WTERMSIG(st)),
			    first[0] != '\0' ? ": " : "", first);
		else
			fail("%s --upgrade-check exited with status %d%s%s",
			    exe_path, WEXITSTATUS(st), first[0] != '\0' ?
			    ": " : "", check_out[0] != '\0' ? check_out : "");
		return;
	}
	snprintf(want, sizeof(want), "reads state %d", STATE_VERSION);
	if ((p = strstr(check_out, want)) == NULL || (p[strlen(want)] !=
	    '\0' && p[strlen(want)] != '\n' && p[strlen(want)] != ',')) {
		fail("%s does not read state version %d%s%s", exe_path,
		    STATE_VERSION, first[0] != '\0' ? "; it said: " : "",
		    first);
		return;
	}
	phase = UPGRADE_CHECKED;
	log_info("upgrade: %s: %s", exe_path, first);
}

static void
fail(const char *fmt, ...)
{
	va_list	ap;
	size_t	n;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	for (n = strlen(why); n > 0 && why[n - 1] == '\n'; n--)
		why[n - 1] = '\0';
	phase = UPGRADE_FAILED;
	ev_timer_stop(EV_DEFAULT, &check_timer);
}

/* name found in PATH as execvp would; -1 if not. */
static int
search_path(const char *name, char *out, size_t len)
{
	const char	*path = getenv("PATH"), *p, *end;
	struct stat	 st;

	for (p = path != NULL ? path : "/usr/bin:/bin"; ; p = end + 1) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		if ((size_t)snprintf(out, len, "%.*s/%s", (int)(end - p), p,
		    name) < len && out[0] == '/' && stat(out, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		if (*end == '\0')
			break;
	}
	out[0] = '\0';
	return -1;
}
