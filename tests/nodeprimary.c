/*
 * SPDX-License-Identifier: ISC
 *
 * nodeprimary - a stand-in Node.js cluster primary built on src/nodecl.c,
 * until clusterd itself speaks ipc = node-cluster.
 *
 *	nodeprimary [-n WORKERS] [-r] [-t STOP_TIMEOUT_MS]
 *	    -s NAME=LISTEN [-s ...] -- COMMAND [ARG ...]
 *
 * LISTEN is HOST:PORT, [V6]:PORT, *:PORT (IPv4 any) or unix:PATH.  Binds
 * the sockets, starts WORKERS copies of COMMAND as Node cluster workers
 * (the sockets at 3, 4, ..., the channel after them, NODE_UNIQUE_ID,
 * NODE_APP_INSTANCE, CLUSTERD_WORKER, CLUSTERD_FD_<NAME>) and answers
 * their cluster messages with what nodecl.c queues.  -r binds one
 * SO_REUSEPORT socket per worker slot, as clusterd's reuseport does.
 *
 *	SIGTERM, SIGINT	disconnect every worker, wait for them (SIGKILL
 *			after STOP_TIMEOUT_MS, default 10000), exit 0
 *	SIGHUP		rolling restart: per slot, start a new worker, wait
 *			until it listens, disconnect the old one
 *
 * A worker that exits by itself is replaced: at once when it announced
 * it (exitedAfterDisconnect), and only once; a crash is replaced too.
 * Everything that happens is one line on stderr:
 *
 *	nodeprimary: socket web fd 5 inode 12345
 *	nodeprimary: worker 0 (pid 4242): served listen(8000) gets ...
 *	nodeprimary: worker 0 (pid 4242): exited with status 0
 */

#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "nodecl.h"

#define MAXSOCKS	8
#define MAXSLOTS	32
#define MAXWORKERS	(MAXSLOTS * 3)
#define LINE_MAX_IPC	65536

struct psock {
	char			 name[NAME_MAXLEN];
	enum nodecl_sock_kind	 kind;
	char			 host[64];	/* "" for any */
	int			 port;
	char			 path[108];
	int			 fd;		/* shared, or the port holder */
	int			 slot_fd[MAXSLOTS];	/* with -r */
};

enum role {
	ROLE_CURRENT,		/* serving its slot */
	ROLE_NEXT,		/* a rolling restart's new worker */
	ROLE_OLD		/* disconnected: leaving */
};

struct wk {
	pid_t		 pid;
	int		 slot;
	enum role	 role;
	int		 fd;		/* the channel, or -1 */
	struct nodecl	 nc;
	char		*buf;
	size_t		 len;
	int		 listening;
	int		 exited;	/* said exitedAfterDisconnect */
	long long	 stop_at;	/* ms: SIGKILL then; 0: none */
};

static struct psock	 socks[MAXSOCKS];
static int		 nsocks;
static struct wk	*workers[MAXWORKERS];
static int		 nslots = 1;
static int		 reuseport;
static long long	 stop_ms = 10000;
static char		**command;
static int		 stopping;
static int		 rolling = -1;	/* slot being rolled, or -1 */

static void	 usage(void) __attribute__((noreturn));
static void	 die(const char *, ...) __attribute__((format(printf, 1, 2),
		    noreturn));
static void	 say(const char *, ...) __attribute__((format(printf, 1, 2)));
static void	 sock_add(const char *);
static int	 sock_bind(struct psock *);
static struct wk *wk_start(int, enum role);
static void	 wk_child(int, int) __attribute__((noreturn));
static void	 wk_read(struct wk *);
static void	 wk_line(struct wk *, char *, size_t);
static void	 wk_flush(struct wk *);
static void	 wk_stop(struct wk *);
static void	 wk_reaped(pid_t, int);
static size_t	 wk_socks(const struct wk *, struct nodecl_sock *);
static struct wk *slot_worker(int, enum role);
static int	 wants_write(const struct wk *);
static void	 roll_next(void);
static void	 on_signal(int);
static long long now_ms(void);

int
main(int argc, char *argv[])
{
	sigset_t	 mask;
	struct pollfd	 pfd[MAXWORKERS + 1];
	struct wk	*map[MAXWORKERS + 1];
	const char	*specs[MAXSOCKS];
	int		 c, i, n, sfd, live, nspecs = 0;

	while ((c = getopt(argc, argv, "n:rs:t:")) != -1) {
		switch (c) {
		case 'n':
			nslots = atoi(optarg);
			break;
		case 'r':
			reuseport = 1;
			break;
		case 's':
			if (nspecs == MAXSOCKS)
				usage();
			specs[nspecs++] = optarg;
			break;
		case 't':
			stop_ms = atoll(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || nslots < 1 || nslots > MAXSLOTS)
		usage();
	command = argv + optind;
	for (i = 0; i < nspecs; i++)
		sock_add(specs[i]);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		die("signalfd: %s", strerror(errno));
	for (i = 0; i < nslots; i++)
		wk_start(i, ROLE_CURRENT);
	for (;;) {
		n = 0;
		live = 0;
		pfd[n].fd = sfd;
		pfd[n].events = POLLIN;
		map[n++] = NULL;
		for (i = 0; i < MAXWORKERS; i++) {
			if (workers[i] == NULL)
				continue;
			live++;
			if (workers[i]->stop_at != 0 &&
			    now_ms() >= workers[i]->stop_at) {
				say("worker %d (pid %ld): stop timeout, "
				    "SIGKILL",
				    workers[i]->slot, (long)workers[i]->pid);
				kill(-workers[i]->pid, SIGKILL);
				workers[i]->stop_at = 0;
			}
			if (workers[i]->fd == -1)
				continue;
			pfd[n].fd = workers[i]->fd;
			pfd[n].events = POLLIN;
			if (wants_write(workers[i]))
				pfd[n].events |= POLLOUT;
			map[n++] = workers[i];
		}
		if (stopping && live == 0) {
			say("all workers stopped");
			return 0;
		}
		if (poll(pfd, (nfds_t)n, 100) == -1 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 1; i < n; i++) {
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				wk_read(map[i]);
			if (map[i]->fd != -1 && (pfd[i].revents & POLLOUT))
				wk_flush(map[i]);
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo	si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				on_signal((int)si.ssi_signo);
		}
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: nodeprimary [-n WORKERS] [-r] "
	    "[-t STOP_TIMEOUT_MS] -s NAME=LISTEN ... -- COMMAND [ARG ...]\n");
	exit(2);
}

static void
die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "nodeprimary: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void
say(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "nodeprimary: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
}

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* NAME=LISTEN: bind it now (and its slot sockets with -r). */
static void
sock_add(const char *arg)
{
	struct psock	*s;
	const char	*eq = strchr(arg, '='), *spec, *colon;
	struct stat	 st;
	int		 i;

	if (eq == NULL || nsocks == MAXSOCKS || eq - arg >= NAME_MAXLEN)
		usage();
	s = &socks[nsocks++];
	memset(s, 0, sizeof(*s));
	memcpy(s->name, arg, (size_t)(eq - arg));
	spec = eq + 1;
	if (strncmp(spec, "unix:", 5) == 0) {
		s->kind = NODECL_UNIX;
		snprintf(s->path, sizeof(s->path), "%s", spec + 5);
	} else {
		s->kind = NODECL_TCP;
		if ((colon = strrchr(spec, ':')) == NULL)
			usage();
		s->port = atoi(colon + 1);
		if (spec[0] == '[')
			snprintf(s->host, sizeof(s->host), "%.*s",
			    (int)(colon - spec - 2), spec + 1);
		else if (strncmp(spec, "*:", 2) != 0)
			snprintf(s->host, sizeof(s->host), "%.*s",
			    (int)(colon - spec), spec);
	}
	if (!reuseport || s->kind != NODECL_TCP) {
		s->fd = sock_bind(s);
		if (fstat(s->fd, &st) == -1)
			die("fstat: %s", strerror(errno));
		say("socket %s fd %d inode %lu", s->name, s->fd,
		    (unsigned long)st.st_ino);
		return;
	}
	for (i = 0; i < nslots; i++) {
		s->slot_fd[i] = sock_bind(s);
		if (fstat(s->slot_fd[i], &st) == -1)
			die("fstat: %s", strerror(errno));
		say("socket %s slot %d fd %d inode %lu", s->name, i,
		    s->slot_fd[i], (unsigned long)st.st_ino);
	}
	s->fd = s->slot_fd[0];
}

/* Bound, listening and non-blocking, as a Node primary's sockets are. */
static int
sock_bind(struct psock *s)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		 len;
	int			 fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (s->kind == NODECL_UNIX) {
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", s->path);
		unlink(s->path);
		len = sizeof(*sun);
	} else if (strchr(s->host, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)s->port);
		if (inet_pton(AF_INET6, s->host, &sin6->sin6_addr) != 1)
			die("bad address %s", s->host);
		len = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)s->port);
		if (s->host[0] != '\0' &&
		    inet_pton(AF_INET, s->host, &sin->sin_addr) != 1)
			die("bad address %s", s->host);
		len = sizeof(*sin);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (s->kind == NODECL_TCP)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && s->kind == NODECL_TCP)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		die("bind %s: %s", s->name, strerror(errno));
	if (listen(fd, 511) == -1)
		die("listen %s: %s", s->name, strerror(errno));
	return fd;
}

static struct wk *
wk_start(int slot, enum role role)
{
	struct wk	*w;
	int		 sv[2], i;

	for (i = 0; i < MAXWORKERS && workers[i] != NULL; i++)
		;
	if (i == MAXWORKERS)
		die("too many workers");
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->buf = malloc(LINE_MAX_IPC)) == NULL)
		die("out of memory");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		die("socketpair: %s", strerror(errno));
	w->slot = slot;
	w->role = role;
	w->fd = sv[0];
	nodecl_init(&w->nc);
	fcntl(w->fd, F_SETFL, O_NONBLOCK);
	if ((w->pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (w->pid == 0)
		wk_child(slot, sv[1]);
	close(sv[1]);
	workers[i] = w;
	say("worker %d (pid %ld): started", slot, (long)w->pid);
	return w;
}

/* In the child: sockets at 3, 4, ...; the channel after them; exec. */
static void
wk_child(int slot, int chan)
{
	char		 var[128];
	sigset_t	 mask;
	int		 i, j, k, fd, ipc = 3 + nsocks;

	setpgid(0, 0);
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	signal(SIGPIPE, SIG_DFL);
	if ((chan = fcntl(chan, F_DUPFD_CLOEXEC, 3 + nsocks + 1)) == -1)
		_exit(126);
	for (i = 0; i < nsocks; i++) {
		fd = reuseport && socks[i].kind == NODECL_TCP ?
		    socks[i].slot_fd[slot] : socks[i].fd;
		if (dup2(fd, 3 + i) == -1)
			_exit(126);
		j = snprintf(var, sizeof(var), "CLUSTERD_FD_");
		for (k = 0; socks[i].name[k] != '\0'; k++)
			var[j++] = socks[i].name[k] == '-' ||
			    socks[i].name[k] == '.' ? '_' :
			    (char)toupper((unsigned char)socks[i].name[k]);
		snprintf(var + j, sizeof(var) - (size_t)j, "=%d", 3 + i);
		putenv(strdup(var));
	}
	if (dup2(chan, ipc) == -1)
		_exit(126);
	for (fd = ipc + 1; fd < 1024; fd++)
		close(fd);
	snprintf(var, sizeof(var), "%d", ipc);
	setenv("NODE_CHANNEL_FD", var, 1);
	setenv("NODE_CHANNEL_SERIALIZATION_MODE", "json", 1);
	snprintf(var, sizeof(var), "%d", slot + 1);
	setenv("NODE_UNIQUE_ID", var, 1);
	snprintf(var, sizeof(var), "%d", slot);
	setenv("NODE_APP_INSTANCE", var, 1);
	setenv("CLUSTERD_WORKER", var, 1);
	snprintf(var, sizeof(var), "%ld", (long)getppid());
	setenv("CLUSTERD_MASTER_PID", var, 1);
	execvp(command[0], command);
	fprintf(stderr, "nodeprimary: exec %s: %s\n", command[0],
	    strerror(errno));
	_exit(127);
}

static size_t
wk_socks(const struct wk *w, struct nodecl_sock *ns)
{
	int	i;

	for (i = 0; i < nsocks; i++) {
		memset(&ns[i], 0, sizeof(ns[i]));
		ns[i].ns_name = socks[i].name;
		ns[i].ns_kind = socks[i].kind;
		ns[i].ns_host = socks[i].host[0] != '\0' ? socks[i].host : NULL;
		ns[i].ns_port = socks[i].port;
		ns[i].ns_path = socks[i].path;
		ns[i].ns_child_fd = 3 + i;
		ns[i].ns_fd = reuseport && socks[i].kind == NODECL_TCP ?
		    socks[i].slot_fd[w->slot] : socks[i].fd;
	}
	return (size_t)nsocks;
}

/* Read what there is; act on each line; descriptors sent are closed. */
static void
wk_read(struct wk *w)
{
	char		 cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;
	ssize_t		 n;
	char		*start, *nl;
	int		 fd;

	iov.iov_base = w->buf + w->len;
	iov.iov_len = LINE_MAX_IPC - w->len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	n = recvmsg(w->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	for (c = CMSG_FIRSTHDR(&mh); n > 0 && c != NULL;
	    c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_type == SCM_RIGHTS) {
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			close(fd);
		}
	if (n <= 0) {
		say("worker %d (pid %ld): channel closed%s", w->slot,
		    (long)w->pid, nodecl_leaving(&w->nc) ? "" :
		    " unexpectedly");
		close(w->fd);
		w->fd = -1;
		return;
	}
	w->len += (size_t)n;
	start = w->buf;
	while ((nl = memchr(start, '\n', w->len - (size_t)(start - w->buf))))
	{
		wk_line(w, start, (size_t)(nl - start));
		start = nl + 1;
	}
	w->len -= (size_t)(start - w->buf);
	memmove(w->buf, start, w->len);
	if (w->len == LINE_MAX_IPC) {
		say("worker %d: a line longer than 64 KiB dropped", w->slot);
		w->len = 0;
	}
	wk_flush(w);
}

static void
wk_line(struct wk *w, char *line, size_t len)
{
	struct nodecl_sock	 ns[MAXSOCKS];
	struct nodecl_result	 r;
	struct wk		*old;
	enum nodecl_event	 e;

	e = nodecl_input(&w->nc, line, len, ns, wk_socks(w, ns), &r);
	if (e == NODECL_APP)
		say("worker %d (pid %ld): app message %.*s", w->slot,
		    (long)w->pid, (int)r.nr_applen, r.nr_app);
	else
		say("worker %d (pid %ld): %s%s%s", w->slot, (long)w->pid,
		    nodecl_event_name(e), r.nr_text[0] ? " " : "", r.nr_text);
	if (e == NODECL_LISTENING && !w->listening) {
		w->listening = 1;
		if (w->role == ROLE_NEXT) {
			if ((old = slot_worker(w->slot, ROLE_CURRENT)) != NULL)
				wk_stop(old);
			w->role = ROLE_CURRENT;
			roll_next();
		}
	}
	if (e == NODECL_EXITED && !w->exited) {
		w->exited = 1;
		if (w->role == ROLE_CURRENT && !stopping) {
			w->role = ROLE_OLD;
			wk_start(w->slot, ROLE_CURRENT);
		}
	}
}

static void
wk_flush(struct wk *w)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;
	const char	*text;
	size_t		 len;
	ssize_t		 n;
	int		 fd;

	while (w->fd != -1 && nodecl_output(&w->nc, &text, &len, &fd)) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = (void *)(uintptr_t)text;
		iov.iov_len = len;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (fd != -1) {
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof(cm.buf);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		n = sendmsg(w->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {
			say("worker %d: sendmsg: %s", w->slot, strerror(errno));
			return;
		}
		nodecl_wrote(&w->nc, (size_t)n);
	}
}

static void
wk_stop(struct wk *w)
{
	w->role = ROLE_OLD;
	if (w->stop_at == 0)
		w->stop_at = now_ms() + stop_ms;
	if (nodecl_disconnect(&w->nc) == -1)
		say("worker %d: cannot queue disconnect", w->slot);
	say("worker %d (pid %ld): disconnect", w->slot, (long)w->pid);
	wk_flush(w);
}

static int
wants_write(const struct wk *w)
{
	const char	*text;
	size_t		 len;
	int		 fd;

	return nodecl_output(&w->nc, &text, &len, &fd);
}

static struct wk *
slot_worker(int slot, enum role role)
{
	int	i;

	for (i = 0; i < MAXWORKERS; i++)
		if (workers[i] != NULL && workers[i]->slot == slot &&
		    workers[i]->role == role)
			return workers[i];
	return NULL;
}

static void
wk_reaped(pid_t pid, int status)
{
	struct wk	*w = NULL;
	int		 i, replace;

	for (i = 0; i < MAXWORKERS; i++)
		if (workers[i] != NULL && workers[i]->pid == pid) {
			w = workers[i];
			workers[i] = NULL;
			break;
		}
	if (w == NULL)
		return;
	if (WIFEXITED(status))
		say("worker %d (pid %ld): exited with status %d", w->slot,
		    (long)pid, WEXITSTATUS(status));
	else
		say("worker %d (pid %ld): killed by signal %d", w->slot,
		    (long)pid, WTERMSIG(status));
	kill(-pid, SIGKILL);	/* what it left in its group */
	replace = !stopping && w->role == ROLE_CURRENT;
	if (w->role == ROLE_NEXT) {
		say("rolling restart failed: the new worker %d exited",
		    w->slot);
		rolling = -1;
	}
	if (w->fd != -1)
		close(w->fd);
	nodecl_free(&w->nc);
	free(w->buf);
	if (replace)
		wk_start(w->slot, w->role);
	free(w);
}

/* SIGHUP: the next slot, one at a time. */
static void
roll_next(void)
{
	if (stopping || ++rolling >= nslots) {
		if (rolling >= nslots)
			say("rolling restart done");
		rolling = -1;
		return;
	}
	wk_start(rolling, ROLE_NEXT);
}

static void
on_signal(int sig)
{
	pid_t	pid;
	int	status, i;

	switch (sig) {
	case SIGCHLD:
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			wk_reaped(pid, status);
		break;
	case SIGHUP:
		if (rolling == -1 && !stopping)
			roll_next();
		break;
	default:
		if (stopping)
			break;
		stopping = 1;
		say("stopping");
		for (i = 0; i < MAXWORKERS; i++)
			if (workers[i] != NULL)
				wk_stop(workers[i]);
	}
}
