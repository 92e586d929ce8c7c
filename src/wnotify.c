/*
 * SPDX-License-Identifier: ISC
 *
 * A worker's own sd_notify socket, for ready = notify: a datagram socket
 * clusterd reads, named to the worker by NOTIFY_SOCKET, on which a
 * program written for systemd reports READY=1, STATUS=, WATCHDOG=1 and
 * STOPPING=1 (sd_notify(3)).
 *
 * The socket is in the abstract namespace, named by the kernel (autobind:
 * "@" and five hex digits, unique on the host): nothing in the file
 * system to create, own, clean up or keep from a chroot, and a worker
 * that has dropped root can still reach it, since abstract sockets have
 * no permissions.  Anyone in the network namespace can reach it too, so
 * every datagram's sender is checked (SO_PASSCRED: the kernel's word, not
 * the sender's): the worker itself, or a process in its process group
 * (clusterd makes each worker the leader of its own).  gunicorn's arbiter,
 * the process clusterd starts, sends READY=1; its workers and anything
 * else forked without setsid() may send too.  A datagram from anyone else
 * is dropped.
 *
 * Like the IPC channel, what a worker sends is its problem only: a
 * datagram longer than WNOTIFY_DGRAM_MAX, or not of NAME=VALUE lines, is
 * dropped and counted, the first few logged; descriptors sent along
 * (FDSTORE=1) are closed; at most WNOTIFY_READS datagrams are read per
 * wake-up, and at most one is delivered, so a flood costs the loop a
 * bounded amount per turn, and the callback may close the socket.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "wnotify.h"

static void	wnotify_readable(struct ev_loop *, ev_io *, int);
static int	wnotify_read(struct wnotify *);
static pid_t	wnotify_sender(struct msghdr *, int *);
static int	wnotify_ours(const struct wnotify *, pid_t);
static void	wnotify_bad(struct wnotify *, pid_t, const char *);
static void	wnotify_stranger(struct wnotify *, pid_t, int);
static int	parse_line(const char *, size_t, struct wnotify_msg *, char *,
		    size_t);
static int	flag(const char *, size_t, const char *, size_t,
		    const char *);
static void	status_copy(char *, const char *, size_t);

/*
 * One datagram: NAME=VALUE lines (an empty line, or the last newline, is
 * fine).  Fills *m and returns 0, or -1 with the reason in err when the
 * datagram is not of that form (every line is checked, as systemd's own
 * senders never write anything else).  Names other than READY, STATUS,
 * WATCHDOG, STOPPING and RELOADING, or values other than 1 for the flags,
 * are counted in wm_ignored (WATCHDOG=trigger, MAINPID=, FDSTORE=, ...).
 */
int
wnotify_parse(const char *buf, size_t len, struct wnotify_msg *m, char *err,
    size_t errlen)
{
	const char	*line = buf, *nl;
	size_t		 n;

	memset(m, 0, sizeof(*m));
	if (len > WNOTIFY_DGRAM_MAX) {
		snprintf(err, errlen, "longer than %d bytes",
		    WNOTIFY_DGRAM_MAX);
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "a NUL byte");
		return -1;
	}
	while (line < buf + len) {
		nl = memchr(line, '\n', (size_t)(buf + len - line));
		n = (size_t)((nl != NULL ? nl : buf + len) - line);
		if (n > 0 && parse_line(line, n, m, err, errlen) == -1)
			return -1;
		line += n + 1;
	}
	return 0;
}

static int
parse_line(const char *line, size_t len, struct wnotify_msg *m, char *err,
    size_t errlen)
{
	const char	*eq = memchr(line, '=', len), *val;
	size_t		 i, namelen, vallen;

	namelen = eq != NULL ? (size_t)(eq - line) : 0;
	for (i = 0; i < namelen; i++)
		if (!((line[i] >= 'A' && line[i] <= 'Z') || line[i] == '_' ||
		    (line[i] >= '0' && line[i] <= '9')))
			break;
	if (eq == NULL || namelen == 0 || i < namelen) {
		snprintf(err, errlen, "not a NAME=VALUE line: \"%.*s\"",
		    (int)(len > 40 ? 40 : len), line);
		for (i = 0; err[i] != '\0'; i++)
			if ((unsigned char)err[i] < ' ' || err[i] == 0x7f)
				err[i] = '?';
		return -1;
	}
	val = eq + 1;
	vallen = len - namelen - 1;
	if (flag(line, namelen, val, vallen, "READY"))
		m->wm_ready = 1;
	else if (flag(line, namelen, val, vallen, "STOPPING"))
		m->wm_stopping = 1;
	else if (flag(line, namelen, val, vallen, "WATCHDOG"))
		m->wm_watchdog = 1;
	else if (flag(line, namelen, val, vallen, "RELOADING"))
		m->wm_reloading = 1;
	else if (namelen == 6 && memcmp(line, "STATUS", 6) == 0) {
		m->wm_has_status = 1;
		status_copy(m->wm_status, val, vallen);
	} else
		m->wm_ignored++;
	return 0;
}

/* NAME=1 */
static int
flag(const char *line, size_t namelen, const char *val, size_t vallen,
    const char *name)
{
	return namelen == strlen(name) && memcmp(line, name, namelen) == 0 &&
	    vallen == 1 && val[0] == '1';
}

/* One line of text: controls become spaces, cut on a UTF-8 boundary. */
static void
status_copy(char *dst, const char *src, size_t len)
{
	size_t	i;

	if (len > WNOTIFY_STATUS_MAX - 1) {
		len = WNOTIFY_STATUS_MAX - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	for (i = 0; i < len; i++)
		dst[i] = (unsigned char)src[i] < ' ' || src[i] == 0x7f ? ' ' :
		    src[i];
	dst[len] = '\0';
}

/*
 * A new socket for one worker, not read yet: its name for NOTIFY_SOCKET
 * is wnotify_socket(); wnotify_start() once the worker's pid is known.
 * label names the worker in messages ("web[0]").  0, or -1 with err.
 */
int
wnotify_open(struct wnotify *wn, const char *label, wnotify_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	int			fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "%s: notify socket: %s", label,
		    strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	/* just the family: the kernel picks a free abstract name */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sa_family_t)) == -1) {
		snprintf(err, errlen, "%s: notify socket: bind: %s", label,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (wnotify_adopt(wn, fd, label, cb, arg, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	return 0;
}

/*
 * Take over a socket wnotify_open() made, in this process or in the
 * clusterd before an exec (its descriptor survives; its name is read
 * back).  Counters start at zero.  0, or -1 with err (fd left open).
 */
int
wnotify_adopt(struct wnotify *wn, int fd, const char *label, wnotify_cb cb,
    void *arg, char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	socklen_t		len = sizeof(sun);
	size_t			n, i;
	int			one = 1;

	memset(wn, 0, sizeof(*wn));
	snprintf(wn->wn_label, sizeof(wn->wn_label), "%s", label);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) == -1) {
		snprintf(err, errlen, "%s: notify socket: %s", label,
		    strerror(errno));
		return -1;
	}
	n = len > offsetof(struct sockaddr_un, sun_path) ?
	    len - offsetof(struct sockaddr_un, sun_path) : 0;
	for (i = 1; i < n; i++)
		if (sun.sun_path[i] <= ' ' || sun.sun_path[i] > '~')
			break;
	if (sun.sun_family != AF_UNIX || n < 2 || sun.sun_path[0] != '\0' ||
	    i < n || n >= sizeof(wn->wn_name)) {
		snprintf(err, errlen, "%s: notify socket: not an autobound "
		    "abstract socket", label);
		return -1;
	}
	wn->wn_name[0] = '@';
	memcpy(wn->wn_name + 1, sun.sun_path + 1, n - 1);
	wn->wn_name[n] = '\0';
	wn->wn_cb = cb;
	wn->wn_arg = arg;
	ev_io_init(&wn->wn_io, wnotify_readable, fd, EV_READ);
	wn->wn_io.data = wn;
	return 0;
}

/* The worker is forked: its pid (its process group), and start reading. */
void
wnotify_start(struct wnotify *wn, pid_t pid)
{
	wn->wn_pid = pid;
	ev_io_start(EV_DEFAULT, &wn->wn_io);
}

/* The value of NOTIFY_SOCKET, "@" and the abstract name. */
const char *
wnotify_socket(const struct wnotify *wn)
{
	return wn->wn_name;
}

/* Stop reading and close; a no-op when not open (or closed already). */
void
wnotify_close(struct wnotify *wn)
{
	if (wn->wn_name[0] != '@')
		return;
	ev_io_stop(EV_DEFAULT, &wn->wn_io);
	close(wn->wn_io.fd);
	wn->wn_name[0] = '\0';
}

static void
wnotify_readable(struct ev_loop *loop, ev_io *io, int revents)
{
	struct wnotify	*wn = io->data;
	int		 i;

	(void)loop;
	(void)revents;
	for (i = 0; i < WNOTIFY_READS; i++)
		if (wnotify_read(wn) != 0)
			break;
}

/*
 * Read one datagram: 0 when it was dropped (read on), 1 when it was
 * delivered or nothing is left (stop: the callback may have closed us).
 */
static int
wnotify_read(struct wnotify *wn)
{
	char			buf[WNOTIFY_DGRAM_MAX];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(struct ucred)) +
				    CMSG_SPACE(sizeof(int) * 16)];
	}			cm;
	struct wnotify_msg	m;
	struct msghdr		mh;
	struct iovec		iov = { buf, sizeof(buf) };
	char			err[128];
	ssize_t			n;
	pid_t			pid;
	int			creds;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	n = recvmsg(wn->wn_io.fd, &mh, MSG_DONTWAIT | MSG_TRUNC |
	    MSG_CMSG_CLOEXEC);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("%s: notify socket %s: recvmsg", wn->wn_label,
			    wn->wn_name);
		return 1;
	}
	pid = wnotify_sender(&mh, &creds);
	if (!creds || !wnotify_ours(wn, pid)) {
		wnotify_stranger(wn, pid, creds);
		return 0;
	}
	if ((size_t)n > sizeof(buf) || (mh.msg_flags & MSG_TRUNC)) {
		wnotify_bad(wn, pid, "longer than 4096 bytes");
		return 0;
	}
	if (wnotify_parse(buf, (size_t)n, &m, err, sizeof(err)) == -1) {
		wnotify_bad(wn, pid, err);
		return 0;
	}
	m.wm_pid = pid;
	wn->wn_received++;
	wn->wn_cb(wn->wn_arg, &m);
	return 1;
}

/* The sender's pid from its credentials; descriptors it sent are closed. */
static pid_t
wnotify_sender(struct msghdr *mh, int *creds)
{
	struct cmsghdr	*c;
	struct ucred	 uc;
	pid_t		 pid = 0;
	size_t		 i, nfd;
	int		 fd;

	*creds = 0;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(uc))) {
			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			pid = uc.pid;
			*creds = 1;
		} else if (c->cmsg_type == SCM_RIGHTS) {
			nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < nfd; i++) {
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
				    sizeof(fd));
				close(fd);
			}
		}
	}
	return pid;
}

/* The worker, or a process in its process group. */
static int
wnotify_ours(const struct wnotify *wn, pid_t pid)
{
	if (wn->wn_pid <= 0 || pid <= 0)
		return 0;
	return pid == wn->wn_pid || getpgid(pid) == wn->wn_pid;
}

static void
wnotify_bad(struct wnotify *wn, pid_t pid, const char *why)
{
	wn->wn_bad++;
	if (wn->wn_bad <= WNOTIFY_LOGGED)
		log_warnx("%s (pid %ld): bad sd_notify datagram from pid %ld "
		    "dropped: %s", wn->wn_label, (long)wn->wn_pid, (long)pid,
		    why);
	if (wn->wn_bad == WNOTIFY_LOGGED)
		log_warnx("%s (pid %ld): further bad sd_notify datagrams are "
		    "not logged", wn->wn_label, (long)wn->wn_pid);
}

static void
wnotify_stranger(struct wnotify *wn, pid_t pid, int creds)
{
	wn->wn_foreign++;
	if (wn->wn_foreign <= WNOTIFY_LOGGED) {
		if (creds)
			log_warnx("%s (pid %ld): sd_notify datagram from pid "
			    "%ld, not in its process group, dropped",
			    wn->wn_label, (long)wn->wn_pid, (long)pid);
		else
			log_warnx("%s (pid %ld): sd_notify datagram without "
			    "credentials dropped", wn->wn_label,
			    (long)wn->wn_pid);
	}
	if (wn->wn_foreign == WNOTIFY_LOGGED)
		log_warnx("%s (pid %ld): further foreign sd_notify datagrams "
		    "are not logged", wn->wn_label, (long)wn->wn_pid);
}
