/*
 * SPDX-License-Identifier: ISC
 *
 * Starting a worker: fork, then in the child a fixed checklist ending in
 * exec.  Whatever step fails, the child writes the step and errno to a
 * close-on-exec pipe and exits 127; the master reads the pipe and reports
 * the real error (an exec that succeeds just closes the pipe).
 *
 * The child is single-threaded, so the plain libc calls below are safe
 * between fork and exec.
 */

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

extern char **environ;

/* Everything the child needs, prepared by the master before fork. */
struct spawn_ctx {
	const struct prog_conf	*sp_conf;
	char			**sp_envp;
	int			 sp_fds[3 + 64 + 1]; /* to place at 0, 1, ... */
	int			 sp_nfds;
	int			 sp_status;	  /* write end of the pipe */
	pid_t			 sp_master;
	int			 sp_slot;	  /* its cgroup's name */
	enum output_mode	 sp_out;	  /* stdout's, resolved */
	enum output_mode	 sp_err;	  /* stderr's, resolved */
	int			 sp_capture[2];	  /* capture pipes' write
						     ends: stdout, stderr */
	int			 sp_journal[3];	  /* fd 1, 2: a stream the
						     child connected */
};

#define MAX_PASSED_FDS	64

/* ss_errno of STAGE_STDIO/STAGE_STDERR: neither a regular file nor a FIFO */
#define SPAWN_NOT_REGULAR	(-1)

static void	child_run(struct spawn_ctx *) __attribute__((noreturn));
static void	child_fail(struct spawn_ctx *, int) __attribute__((noreturn));
static void	child_fail_with(struct spawn_ctx *, int, int)
		    __attribute__((noreturn));
static void	stdio_resolve(struct spawn_ctx *, const struct spawn_req *);
static enum output_mode output_resolve(const struct prog_conf *,
		    enum output_mode, int *);
static int	child_stdio(struct spawn_ctx *, int *);
static int	child_open_output(struct spawn_ctx *, enum output_mode,
		    const struct output_conf *, int);
static void	child_journal_env(const struct spawn_ctx *);
static int	child_open_file(const char *);
static const char *output_name(const struct output_conf *);
static void	describe_ids(const struct prog_conf *, char *, size_t);
static int	child_place_fds(struct spawn_ctx *);
static void	child_reset_signals(void);
static int	child_drop_privileges(const struct prog_conf *, int *);

/*
 * Fork and exec a worker as req says, passing its sockets (one per
 * socket of the program) and ipc_fd (or -1) after them.  Returns its
 * pid and the read end of its exec-status pipe in *status_fd
 * (non-blocking), or -1 with the reason logged.
 */
pid_t
spawn_worker(const struct spawn_req *req, int ipc_fd, int *status_fd)
{
	const struct prog_conf	*pc = req->sr_conf;
	struct spawn_ctx	 ctx;
	sigset_t		 all, old;
	int			 pipefd[2], slot = req->sr_slot, saved;
	size_t			 i;
	pid_t			 pid;

	memset(&ctx, 0, sizeof(ctx));
	ctx.sp_conf = pc;
	ctx.sp_master = getpid();
	ctx.sp_slot = slot;
	stdio_resolve(&ctx, req);
	if (pc->pc_nsockets > MAX_PASSED_FDS) {
		log_warnx("%s: too many sockets", pc->pc_name);
		return -1;
	}
	for (i = 0; i < pc->pc_nsockets; i++)
		ctx.sp_fds[3 + i] = req->sr_fds[i];
	ctx.sp_nfds = 3 + (int)pc->pc_nsockets;
	if (ipc_fd != -1)
		ctx.sp_fds[ctx.sp_nfds++] = ipc_fd;
	ctx.sp_envp = env_build(req, ctx.sp_master,
	    ipc_fd != -1 ? ctx.sp_nfds - 1 : -1, environ);
	if (ctx.sp_envp == NULL) {
		log_warnx("%s[%d]: cannot build environment: %s",
		    pc->pc_name, slot, strerror(ENOMEM));
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC) == -1) {
		log_warn("%s[%d]: pipe", pc->pc_name, slot);
		env_free(ctx.sp_envp);
		return -1;
	}
	ctx.sp_status = pipefd[1];
	/*
	 * Every signal is blocked across the fork: one that reaches the
	 * child before it has reset its dispositions (a stop sent at once)
	 * waits until they are the defaults, instead of running clusterd's
	 * own handler in the child and being lost.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == -1) {
		saved = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = saved;
		log_warn("%s[%d]: fork", pc->pc_name, slot);
		close(pipefd[0]);
		close(pipefd[1]);
		env_free(ctx.sp_envp);
		return -1;
	}
	if (pid == 0)
		child_run(&ctx);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/*
	 * Also from this side, so that a stop sent before the child got to
	 * its own setpgid still reaches the whole group.
	 */
	if (setpgid(pid, pid) == -1 && errno != EACCES && errno != ESRCH)
		log_warn("%s[%d]: setpgid %ld", pc->pc_name, slot,
		    (long)pid);
	close(pipefd[1]);
	env_free(ctx.sp_envp);
	if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK) == -1)
		log_warn("%s[%d]: fcntl O_NONBLOCK", pc->pc_name, slot);
	*status_fd = pipefd[0];
	return pid;
}

/*
 * Turn a child's failure report into the operator's message: the step,
 * the object by name (the file, the user, the group), and the error.
 */
void
spawn_describe(const struct prog_conf *pc, const struct spawn_status *ss,
    char *buf, size_t len)
{
	const char	*e = ss->ss_errno == SPAWN_NOT_REGULAR ?
			    "not a regular file or FIFO" :
			    strerror(ss->ss_errno);
	char		 ids[128];

	switch (ss->ss_stage) {
	case STAGE_PGID:
		snprintf(buf, len, "cannot create a process group: %s", e);
		break;
	case STAGE_STDIO:
		snprintf(buf, len, "cannot open its output %s: %s",
		    output_name(&pc->pc_stdout), e);
		break;
	case STAGE_STDERR:
		snprintf(buf, len, "cannot open its error output %s: %s",
		    output_name(&pc->pc_stderr), e);
		break;
	case STAGE_FDS:
		snprintf(buf, len, "cannot pass its sockets: %s", e);
		break;
	case STAGE_LIMIT:
		if (pc->pc_has_nofile)
			snprintf(buf, len, "cannot set limit_nofile to %llu: "
			    "%s", (unsigned long long)pc->pc_nofile, e);
		else
			snprintf(buf, len, "cannot set the open files limit "
			    "back to clusterd's original: %s", e);
		break;
	case STAGE_GROUP:
		describe_ids(pc, ids, sizeof(ids));
		snprintf(buf, len, "cannot set %s: %s", ids, e);
		break;
	case STAGE_USER:
		snprintf(buf, len, "cannot set user %s (uid %lu): %s",
		    pc->pc_user ? pc->pc_user : "?", (unsigned long)pc->pc_uid,
		    e);
		break;
	case STAGE_VERIFY:
		describe_ids(pc, ids, sizeof(ids));
		snprintf(buf, len, "privileges were not dropped as asked (%s)",
		    ids);
		break;
	case STAGE_PDEATHSIG:
		snprintf(buf, len, "cannot set the parent-death signal: %s", e);
		break;
	case STAGE_CGROUP:
		snprintf(buf, len, "cannot create or join its cgroup in %s: "
		    "%s", cgroup_base() != NULL ? cgroup_base() : "?", e);
		break;
	case STAGE_CHDIR:
		snprintf(buf, len, "cannot change directory to %s: %s",
		    pc->pc_directory ? pc->pc_directory : "?", e);
		break;
	default:
		snprintf(buf, len, "cannot execute %s: %s", pc->pc_argv[0], e);
		break;
	}
}

/*
 * "user" or "group", "user and group", "user, group", by name and number,
 * for messages: "user app (uid 1001), group www-data (gid 33)".
 */
static void
describe_ids(const struct prog_conf *pc, char *buf, size_t len)
{
	struct group	*gr = pc->pc_has_group ? getgrgid(pc->pc_gid) : NULL;
	char		 user[96] = "";

	if (pc->pc_user != NULL)
		snprintf(user, sizeof(user), "user %s (uid %lu)%s",
		    pc->pc_user, (unsigned long)pc->pc_uid,
		    pc->pc_has_group ? ", " : "");
	if (!pc->pc_has_group)
		snprintf(buf, len, "%s", user);
	else if (gr != NULL)
		snprintf(buf, len, "%sgroup %s (gid %lu)", user, gr->gr_name,
		    (unsigned long)pc->pc_gid);
	else
		snprintf(buf, len, "%sgroup %lu", user,
		    (unsigned long)pc->pc_gid);
}

/* What an output setting opens, for messages. */
static const char *
output_name(const struct output_conf *oc)
{
	switch (oc->o_mode) {
	case OUTPUT_FILE:
		return oc->o_path;
	case OUTPUT_NULL:
		return "/dev/null";
	default:
		return "(clusterd's own)";
	}
}

/*
 * The checklist, in order: own process group, and own cgroup (if
 * clusterd has them) while still root, so that nothing the worker
 * starts is outside it; an empty signal mask and
 * default dispositions (libev blocks signals, and ignored signals survive
 * exec); the open-files limit while still privileged (limit_nofile, or
 * the one clusterd was started with: it raised its own); groups, gid, uid,
 * verified; umask; then, as the worker's own user and with its umask,
 * stdio; stdio and sockets at 0.. and nothing else open; directory; the
 * parent-death signal, which a uid change would clear; exec.
 */
static void
child_run(struct spawn_ctx *ctx)
{
	const struct prog_conf	*pc = ctx->sp_conf;
	const struct rlimit	*start = rlimit_nofile_start();
	struct rlimit		 rl;
	int			 stage;

	if (setpgid(0, 0) == -1)
		child_fail(ctx, STAGE_PGID);
	if (cgroup_join(pc->pc_name, ctx->sp_slot) == -1)
		child_fail(ctx, STAGE_CGROUP);
	child_reset_signals();
	if (pc->pc_has_nofile) {
		rl.rlim_cur = rl.rlim_max = pc->pc_nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			child_fail(ctx, STAGE_LIMIT);
	} else if (start != NULL && setrlimit(RLIMIT_NOFILE, start) == -1)
		child_fail(ctx, STAGE_LIMIT);
	if (child_drop_privileges(pc, &stage) == -1)
		child_fail(ctx, stage);
	if (pc->pc_has_umask)
		umask(pc->pc_umask);
	if (child_stdio(ctx, &stage) == -1)
		child_fail_with(ctx, stage, errno);
	if (child_place_fds(ctx) == -1)
		child_fail(ctx, STAGE_FDS);
	if (pc->pc_directory != NULL && chdir(pc->pc_directory) == -1)
		child_fail(ctx, STAGE_CHDIR);
	if (prctl(PR_SET_PDEATHSIG, pc->pc_stop_signal) == -1)
		child_fail(ctx, STAGE_PDEATHSIG);
	if (getppid() != ctx->sp_master)
		_exit(0);	/* the master died before we could notice */
	env_fill_listen_pid(ctx->sp_envp, getpid());
	environ = ctx->sp_envp;	/* so PATH from env lines is searched */
	child_journal_env(ctx);
	execvp(pc->pc_argv[0], pc->pc_argv);
	child_fail(ctx, STAGE_EXEC);
}

static void
child_fail(struct spawn_ctx *ctx, int stage)
{
	child_fail_with(ctx, stage, errno);
}

static void
child_fail_with(struct spawn_ctx *ctx, int stage, int err)
{
	struct spawn_status	ss;
	ssize_t			n;

	ss.ss_stage = stage;
	ss.ss_errno = err;
	do
		n = write(ctx->sp_status, &ss, sizeof(ss));
	while (n == -1 && errno == EINTR);
	_exit(127);
}

/*
 * The master, before the fork: what stdout and stderr are for this
 * worker.  auto is journal when clusterd's own stderr is the journal,
 * else inherit; journal is inherit when the journal's socket takes no
 * connection (journal.c says so once).  Asked at every start, so a
 * worker started after the journal came back gets its stream.  capture
 * takes the pipes worker.c opened (req).
 */
static void
stdio_resolve(struct spawn_ctx *ctx, const struct spawn_req *req)
{
	const struct prog_conf	*pc = ctx->sp_conf;
	int			 journal = -1;	/* not asked yet */

	ctx->sp_out = output_resolve(pc, pc->pc_stdout.o_mode, &journal);
	ctx->sp_err = output_resolve(pc, pc->pc_stderr.o_mode, &journal);
	ctx->sp_capture[0] = req->sr_capture[0];
	ctx->sp_capture[1] = req->sr_capture[1];
}

static enum output_mode
output_resolve(const struct prog_conf *pc, enum output_mode mode,
    int *journal)
{
	if (mode == OUTPUT_AUTO)
		mode = log_is_journal() ? OUTPUT_JOURNAL : OUTPUT_INHERIT;
	if (mode != OUTPUT_JOURNAL)
		return mode;
	if (*journal == -1)
		*journal = journal_available(pc->pc_name);
	return *journal ? OUTPUT_JOURNAL : OUTPUT_INHERIT;
}

/*
 * Choose the sources of fds 0, 1 and 2; on failure *stage says which
 * (stdin's /dev/null counts as stdout's) and errno why.
 */
static int
child_stdio(struct spawn_ctx *ctx, int *stage)
{
	const struct prog_conf	*pc = ctx->sp_conf;
	int			 fd;

	*stage = STAGE_STDIO;
	if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	ctx->sp_fds[0] = fd;
	if ((ctx->sp_fds[1] = child_open_output(ctx, ctx->sp_out,
	    &pc->pc_stdout, 1)) == -1)
		return -1;
	*stage = STAGE_STDERR;
	if (ctx->sp_err == OUTPUT_STDOUT) {
		ctx->sp_fds[2] = ctx->sp_fds[1];
		ctx->sp_journal[2] = ctx->sp_journal[1];
	} else if ((ctx->sp_fds[2] = child_open_output(ctx, ctx->sp_err,
	    &pc->pc_stderr, 2)) == -1)
		return -1;
	return 0;
}

/*
 * The source of fd 1 or 2 (which) in mode.  A journal stream that
 * cannot be had here, when the master found the socket fine a moment
 * ago, is clusterd's own output, as if the master had known.
 */
static int
child_open_output(struct spawn_ctx *ctx, enum output_mode mode,
    const struct output_conf *oc, int which)
{
	int	fd;

	switch (mode) {
	case OUTPUT_NULL:
		return open("/dev/null", O_WRONLY | O_CLOEXEC);
	case OUTPUT_FILE:
		return child_open_file(oc->o_path);
	case OUTPUT_CAPTURE:
		return ctx->sp_capture[which - 1];
	case OUTPUT_JOURNAL:
		fd = journal_stream_open(ctx->sp_conf->pc_identifier,
		    which == 1 ? PRIO_STDOUT : PRIO_STDERR);
		if (fd != -1) {
			ctx->sp_journal[which] = 1;
			return fd;
		}
		/* FALLTHROUGH */
	default:
		/* clusterd's own; /dev/null if it has none */
		if (fcntl(which, F_GETFD) == -1)
			return open("/dev/null", O_WRONLY | O_CLOEXEC);
		return which;
	}
}

/*
 * JOURNAL_STREAM as systemd sets it for a service: the device and inode
 * of the worker's stderr if that is a journal stream, else of its stdout
 * if that is one.  Otherwise clusterd's own value stays only if it still
 * names the worker's fd 1 or 2 (inherited); else it would be a lie.
 */
static void
child_journal_env(const struct spawn_ctx *ctx)
{
	struct stat		 st;
	const char		*js = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	char			 val[64];
	int			 fd;

	if (ctx->sp_journal[2] || ctx->sp_journal[1]) {
		fd = ctx->sp_journal[2] ? STDERR_FILENO : STDOUT_FILENO;
		if (fstat(fd, &st) == 0) {
			snprintf(val, sizeof(val), "%llu:%llu",
			    (unsigned long long)st.st_dev,
			    (unsigned long long)st.st_ino);
			(void)setenv("JOURNAL_STREAM", val, 1);
		}
		return;
	}
	if (js == NULL)
		return;
	if (sscanf(js, "%llu:%llu", &dev, &ino) == 2)
		for (fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++)
			if (fstat(fd, &st) == 0 && st.st_dev == (dev_t)dev &&
			    st.st_ino == (ino_t)ino)
				return;
	(void)unsetenv("JOURNAL_STREAM");
}

/*
 * An output file, opened by the worker's own user (privileges are
 * dropped by now, so the kernel decides as for the worker itself): no
 * symlink followed (O_NOFOLLOW, ELOOP), appended to, created with mode
 * 0644 less the worker's umask and owned by the worker's user.  It must
 * be a regular file or a FIFO (errno SPAWN_NOT_REGULAR otherwise);
 * O_NONBLOCK makes a FIFO without a reader fail (ENXIO) instead of
 * blocking the child, and is cleared again once the file is open.
 */
static int
child_open_file(const char *path)
{
	struct stat	st;
	int		fd, flags;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		close(fd);
		errno = SPAWN_NOT_REGULAR;
		return -1;
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1)
		goto fail;
	return fd;
 fail:
	flags = errno;
	close(fd);
	errno = flags;
	return -1;
}

/*
 * Move every source fd above the target range first, so that placing one
 * never overwrites another, then dup2 them into place (dup2 clears
 * close-on-exec).  The status pipe goes right after them, still
 * close-on-exec, and everything above is closed.
 */
static int
child_place_fds(struct spawn_ctx *ctx)
{
	int	high[3 + MAX_PASSED_FDS + 1], i, n = ctx->sp_nfds, status;

	for (i = 0; i < n; i++)
		if ((high[i] = fcntl(ctx->sp_fds[i], F_DUPFD_CLOEXEC,
		    n + 1)) == -1)
			return -1;
	if ((status = fcntl(ctx->sp_status, F_DUPFD_CLOEXEC, n + 1)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (dup2(high[i], i) == -1)
			return -1;
	if (dup3(status, n, O_CLOEXEC) == -1)
		return -1;
	ctx->sp_status = n;
	if (close_range((unsigned)n + 1, ~0U, 0) == -1) {
		int fd, max = (int)sysconf(_SC_OPEN_MAX);

		for (fd = n + 1; fd < max; fd++)
			close(fd);
	}
	return 0;
}

/*
 * Every signal to its default, through the system call itself: glibc's
 * sigaction refuses the two real-time signals it keeps for threads, yet a
 * launcher (GNU make does) may have left them ignored, and ignored
 * signals survive exec.
 */
static void
child_reset_signals(void)
{
	struct {
		void		(*handler)(int);
		unsigned long	  flags;
		void		(*restorer)(void);
		unsigned long	  mask;
	}		ksa;
	sigset_t	set;
	int		sig;

	memset(&ksa, 0, sizeof(ksa));
	ksa.handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &ksa, NULL,
			    sizeof(ksa.mask));
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

/*
 * Supplementary groups, then gid, then uid: once the uid is gone the rest
 * cannot be changed.  Then check that it took, and that root cannot be
 * regained.  Without root, only "no change" is possible.
 */
static int
child_drop_privileges(const struct prog_conf *pc, int *stage)
{
	int	root = geteuid() == 0;

	*stage = STAGE_GROUP;
	if (pc->pc_has_group && pc->pc_gid != getegid()) {
		if (!root) {
			errno = EPERM;
			return -1;
		}
	}
	if (root && pc->pc_user != NULL &&
	    initgroups(pc->pc_user, pc->pc_gid) == -1)
		return -1;
	if (root && pc->pc_user == NULL && pc->pc_has_group &&
	    setgroups(1, &pc->pc_gid) == -1)
		return -1;
	if (pc->pc_has_group && setresgid(pc->pc_gid, pc->pc_gid,
	    pc->pc_gid) == -1)
		return -1;
	*stage = STAGE_USER;
	if (pc->pc_user != NULL && pc->pc_uid != geteuid() && !root) {
		errno = EPERM;
		return -1;
	}
	if (pc->pc_user != NULL && setresuid(pc->pc_uid, pc->pc_uid,
	    pc->pc_uid) == -1)
		return -1;
	*stage = STAGE_VERIFY;
	errno = EPERM;
	if (pc->pc_user != NULL && (getuid() != pc->pc_uid ||
	    geteuid() != pc->pc_uid || (pc->pc_uid != 0 && setuid(0) == 0)))
		return -1;
	if (pc->pc_has_group && (getgid() != pc->pc_gid ||
	    getegid() != pc->pc_gid))
		return -1;
	return 0;
}
