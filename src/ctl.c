/*
 * SPDX-License-Identifier: ISC
 *
 * The control socket: the transport of clusterctl's requests.  One JSON
 * request line per connection; the answer is one JSON line, or, for an
 * operation the client waits for, progress lines and then that one
 * (ctlcmd.c decides what each command does and says).  The protocol is
 * documented in clusterctl(1).
 *
 * Every connection is bounded: a request line of at most CTL_REQ_MAX
 * bytes, CTL_TIMEOUT seconds to send it (and to read the answer), at most
 * CTL_MAXCONN at a time, CTL_OUT_MAX bytes of progress waiting to be
 * read.  Only root, clusterd's own uid and, with control_group, the
 * members of that group are served (SO_PEERCRED, SO_PEERGROUPS), on top
 * of the socket file's mode (0600, or 0660 with the group).  The master
 * never blocks on a client: answers are written as the client reads
 * them.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlcmd.h"
#include "log.h"

#define CTL_BACKLOG	16
#define CTL_MAXCONN	64
#define CTL_TIMEOUT	5.0	/* seconds to send a request, read a reply */
#define CTL_PAUSE	1.0	/* accept() paused after EMFILE, ENFILE */
#define CTL_OUT_MAX	(256 * 1024)	/* unread progress, then no more */

enum conn_state {
	CONN_READING,		/* waiting for the request line */
	CONN_WAITING,		/* the operation is under way */
	CONN_CLOSING		/* the answer is on its way; closed once sent */
};

struct ctl_conn {
	struct ctl_conn		*c_next;
	int			 c_fd;
	enum conn_state		 c_state;
	int			 c_half;	/* the client shut its end */
	long			 c_uid;
	long			 c_pid;
	ev_io			 c_io;
	ev_timer		 c_timer;
	char			 c_req[CTL_REQ_MAX + 1];
	size_t			 c_reqlen;
	struct strbuf		 c_out;		/* what is not written yet */
	struct ctl_wait		 c_wait;
};

static int	ctl_reconfigure(const struct config *);
static int	ctl_regroup(const struct config *);
static void	ctl_take_group(const struct config *);
static int	ctl_listen(const char *, const struct config *);
static int	ctl_bind(int, const char *, char *, size_t);
static int	ctl_set_access(const char *, const struct config *, char *,
		    size_t);
static void	ctl_start(int, const char *);
static void	ctl_stop(void);
static void	ctl_accept(struct ev_loop *, ev_io *, int);
static void	ctl_pause_accept(void);
static void	ctl_resume(struct ev_loop *, ev_timer *, int);
static int	ctl_evict(void);
static void	ctl_refuse(int);
static void	ctl_after_wakeup(struct ev_loop *, ev_prepare *, int);
static void	conn_new(int);
static int	conn_allowed(struct ctl_conn *);
static int	peer_in_group(int, const struct ucred *);
static void	conn_free(struct ctl_conn *);
static void	conn_io(struct ev_loop *, ev_io *, int);
static void	conn_timeout(struct ev_loop *, ev_timer *, int);
static void	conn_read(struct ctl_conn *);
static int	conn_gone(struct ctl_conn *);
static void	conn_request(struct ctl_conn *);
static void	conn_flush(struct ctl_conn *);
static void	conn_watch(struct ctl_conn *);
static void	conn_answer(struct ctl_conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int		 ctl_fd = -1;
static char		*ctl_path;	/* NULL: no control socket */
static ev_io		 ctl_accept_io;
static ev_timer		 ctl_pause;
static ev_prepare	 ctl_prepare;
static int		 ctl_pause_logged;
static int		 ctl_full_logged;
static struct ctl_conn	*conns;
static int		 nconns;
static int		 nwaiting;
static int		 ctl_has_group;	/* control_group: who else is served */
static gid_t		 ctl_gid;
static char		 ctl_group[64];	/* its name, for messages */

/*
 * Start-up: listen on cf's control path (none: no control socket), for
 * its control_group too.  -1, logged, if the socket cannot be created;
 * nothing is left behind then.
 */
int
ctl_init(const struct config *cf)
{
	const char	*path = cf->cf_control;
	int		 fd;

	if (ctl_path != NULL)		/* taken over in an upgrade */
		return ctl_reconfigure(cf);
	if (path == NULL)
		return 0;
	if ((fd = ctl_listen(path, cf)) == -1)
		return -1;
	ctl_start(fd, path);
	if (ctl_path == NULL) {
		ctl_close();
		return -1;
	}
	ctl_take_group(cf);
	log_info("control socket: listening on %s", path);
	return 0;
}

/*
 * An upgrade: the old image's control socket, at fd, bound at path.
 * -1 (and fd closed) if it is not that socket; ctl_init() then binds
 * one anew.
 */
int
ctl_adopt(int fd, const char *path)
{
	struct listen_addr	la;
	char			err[ERRBUF_LEN];

	memset(&la, 0, sizeof(la));
	la.la_kind = ADDR_UNIX;
	if (path == NULL || strlen(path) >= sizeof(la.la_path)) {
		close(fd);
		return -1;
	}
	memcpy(la.la_path, path, strlen(path) + 1);
	if (sock_check_fd(fd, &la, 1, err, sizeof(err)) == -1) {
		log_warnx("upgrade: control socket %s: %s", path, err);
		close(fd);
		return -1;
	}
	ctl_start(fd, path);
	return ctl_path != NULL ? 0 : -1;
}

/* For an upgrade: the control socket to carry over, and its path. */
int
ctl_control_fd(const char **path)
{
	*path = ctl_path;
	return ctl_fd;
}

/*
 * The master took a new configuration (a reload).  If it changed
 * `control`, listen on the new path first, then close the old socket and
 * remove its file.  If the new one cannot be created the old one stays
 * (logged).  A changed control_group alone changes the file's group and
 * mode in place.  Connections already open go on.
 */
void
ctl_apply_config(const struct config *cf)
{
	(void)ctl_reconfigure(cf);
}

static int
ctl_reconfigure(const struct config *cf)
{
	const char	*path = cf->cf_control;
	int		 fd = -1;

	if (path != NULL && ctl_path != NULL && strcmp(path, ctl_path) == 0)
		return ctl_regroup(cf);
	if (path == NULL && ctl_path == NULL) {
		ctl_take_group(cf);
		return 0;
	}
	if (path != NULL && (fd = ctl_listen(path, cf)) == -1) {
		if (ctl_path != NULL)
			log_warnx("control socket: still listening on %s",
			    ctl_path);
		return -1;
	}
	if (ctl_path != NULL)
		log_notice("control socket: %s closed", ctl_path);
	ctl_stop();
	if (fd == -1)
		return 0;
	ctl_start(fd, path);
	if (ctl_path == NULL)
		return -1;
	ctl_take_group(cf);
	log_notice("control socket: listening on %s", path);
	return 0;
}

/* The same path: the group and mode follow control_group. */
static int
ctl_regroup(const struct config *cf)
{
	char	err[ERRBUF_LEN];

	if (cf->cf_has_control_group == ctl_has_group &&
	    (!ctl_has_group || cf->cf_control_gid == ctl_gid))
		return 0;
	if (ctl_set_access(ctl_path, cf, err, sizeof(err)) == -1) {
		log_warnx("%s; the socket keeps its group and mode", err);
		return -1;
	}
	ctl_take_group(cf);
	if (ctl_has_group)
		log_notice("control socket %s: mode 0660, group %s: its "
		    "members may use it", ctl_path, ctl_group);
	else
		log_notice("control socket %s: mode 0600: only root and "
		    "clusterd's user may use it", ctl_path);
	return 0;
}

/* Serve the members of cf's control_group from now on (or nobody's). */
static void
ctl_take_group(const struct config *cf)
{
	ctl_has_group = cf->cf_has_control_group;
	ctl_gid = cf->cf_control_gid;
	snprintf(ctl_group, sizeof(ctl_group), "%s", ctl_has_group &&
	    cf->cf_control_group != NULL ? cf->cf_control_group : "");
}

/* At exit: close every connection and the socket; remove its file. */
void
ctl_close(void)
{
	while (conns != NULL)
		conn_free(conns);
	ctl_stop();
	ev_prepare_stop(EV_DEFAULT, &ctl_prepare);
}

/*
 * A listening socket at path, mode 0600, or 0660 and cf's control_group;
 * -1 and logged on failure.
 */
static int
ctl_listen(const char *path, const struct config *cf)
{
	char	err[ERRBUF_LEN];
	int	fd;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_errorx("control socket %s: path too long", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_error("control socket %s: socket", path);
		return -1;
	}
	switch (sock_clear_stale(path, err, sizeof(err))) {
	case -1:
		log_errorx("control socket %s", err);
		close(fd);
		return -1;
	case 1:
		log_notice("control socket %s: replaced a stale socket file",
		    path);
		break;
	}
	if (ctl_bind(fd, path, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		close(fd);
		return -1;
	}
	if (cf->cf_has_control_group && ctl_set_access(path, cf, err,
	    sizeof(err)) == -1) {
		log_errorx("%s", err);
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/* The umask makes the file 0600 from its first instant. */
static int
ctl_bind(int fd, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	mode_t			old;
	int			rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1) {
		snprintf(err, errlen, "control socket %s: bind: %s", path,
		    strerror(errno));
		return -1;
	}
	if (listen(fd, CTL_BACKLOG) == -1) {
		snprintf(err, errlen, "control socket %s: listen: %s", path,
		    strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/*
 * The socket file at path gets cf's control_group and mode 0660, or
 * (none) clusterd's own group and mode 0600; the mode is never wider
 * than the group allows at any instant.
 *
 * A unix socket's file cannot be changed through the socket (fchown
 * and fchmod act on the socket's own inode, not the file's), and a path
 * can be replaced by anyone who may write to its directory: chown()
 * would follow a symlink put there, and lchown() would still change a
 * hard link to someone else's file.  So the file is opened once, O_PATH
 * and O_NOFOLLOW, checked on that descriptor (a socket, owned by us:
 * what bind() made), and changed through that same descriptor: the
 * group with fchownat(AT_EMPTY_PATH), the mode through its
 * /proc/self/fd link, which names the inode the descriptor holds, not
 * a path.  Whatever happens to the path meanwhile, only that inode is
 * touched.
 */
static int
ctl_set_access(const char *path, const struct config *cf, char *err,
    size_t errlen)
{
	struct stat	st;
	char		self[64];
	gid_t		gid = cf->cf_has_control_group ? cf->cf_control_gid :
			    getegid();
	mode_t		mode = cf->cf_has_control_group ? 0660 : 0600;
	int		fd, rc = -1;

	if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "control socket %s: open: %s", path,
		    strerror(errno));
		return -1;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (fstat(fd, &st) == -1)
		snprintf(err, errlen, "control socket %s: fstat: %s", path,
		    strerror(errno));
	else if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		snprintf(err, errlen, "control socket %s: the file is not the "
		    "socket clusterd bound (not a socket of uid %ld); not "
		    "changing it", path, (long)geteuid());
	else if (mode == 0600 && chmod(self, mode) == -1)
		snprintf(err, errlen, "control socket %s: chmod 0600 (through "
		    "%s): %s", path, self, strerror(errno));
	else if (fchownat(fd, "", (uid_t)-1, gid, AT_EMPTY_PATH) == -1)
		snprintf(err, errlen, "control socket %s: chown to group %s: "
		    "%s", path, cf->cf_has_control_group ?
		    cf->cf_control_group : "of clusterd", strerror(errno));
	else if (mode == 0660 && chmod(self, mode) == -1)
		snprintf(err, errlen, "control socket %s: chmod 0660 (through "
		    "%s): %s", path, self, strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}

/* Serve fd, bound at path; on failure (no memory) it is undone. */
static void
ctl_start(int fd, const char *path)
{
	if ((ctl_path = strdup(path)) == NULL) {
		log_error("control socket %s", path);
		unlink(path);
		close(fd);
		return;
	}
	ctl_fd = fd;
	if (!ev_is_active(&ctl_prepare)) {
		ev_prepare_init(&ctl_prepare, ctl_after_wakeup);
		ev_prepare_start(EV_DEFAULT, &ctl_prepare);
	}
	ev_io_init(&ctl_accept_io, ctl_accept, fd, EV_READ);
	ev_timer_init(&ctl_pause, ctl_resume, CTL_PAUSE, 0);
	ev_io_start(EV_DEFAULT, &ctl_accept_io);
}

/* Stop listening and remove the file (connections stay). */
static void
ctl_stop(void)
{
	if (ctl_fd == -1)
		return;
	ev_io_stop(EV_DEFAULT, &ctl_accept_io);
	ev_timer_stop(EV_DEFAULT, &ctl_pause);
	close(ctl_fd);
	ctl_fd = -1;
	if (unlink(ctl_path) == -1 && errno != ENOENT)
		log_warn("unlink %s", ctl_path);
	free(ctl_path);
	ctl_path = NULL;
}

static void
ctl_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	int	fd;

	(void)loop;
	(void)w;
	(void)revents;
	fd = accept4(ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE)
			ctl_pause_accept();
		else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control socket: accept");
		return;
	}
	ctl_pause_logged = 0;
	if (nconns >= CTL_MAXCONN && !ctl_evict()) {
		ctl_refuse(fd);
		return;
	}
	ctl_full_logged = 0;
	conn_new(fd);
}

/* Out of descriptors: stop accepting for a while, logged once. */
static void
ctl_pause_accept(void)
{
	if (!ctl_pause_logged)
		log_warnx("control socket: accept: %s; pausing for %.0fs",
		    strerror(errno), CTL_PAUSE);
	ctl_pause_logged = 1;
	ev_io_stop(EV_DEFAULT, &ctl_accept_io);
	ev_timer_set(&ctl_pause, CTL_PAUSE, 0);
	ev_timer_start(EV_DEFAULT, &ctl_pause);
}

static void
ctl_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (ctl_fd != -1)
		ev_io_start(EV_DEFAULT, &ctl_accept_io);
}

/*
 * At the connection limit, the oldest client that has not sent a whole
 * request makes room: idle connections cannot lock out a new one.  0 if
 * every connection is busy with a request.
 */
static int
ctl_evict(void)
{
	struct ctl_conn	*c, *oldest = NULL;

	for (c = conns; c != NULL; c = c->c_next)	/* newest first */
		if (c->c_state == CONN_READING)
			oldest = c;
	if (oldest == NULL)
		return 0;
	log_debug("control socket: %d connections open: closing the oldest "
	    "idle one (pid %ld)", nconns, oldest->c_pid);
	conn_free(oldest);
	return 1;
}

/* Too many connections: one error line, best effort, and close. */
static void
ctl_refuse(int fd)
{
	static const char	msg[] = "{\"ok\":false,\"error\":\"too many "
				    "control connections; try again\"}\n";

	if (!ctl_full_logged)
		log_warnx("control socket: %d connections open: refusing "
		    "more", nconns);
	ctl_full_logged = 1;
	(void)send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* A new client: who it is, then its request within CTL_TIMEOUT. */
static void
conn_new(int fd)
{
	struct ctl_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("control socket: connection");
		close(fd);
		return;
	}
	c->c_fd = fd;
	c->c_state = CONN_READING;
	c->c_next = conns;
	conns = c;
	nconns++;
	ev_io_init(&c->c_io, conn_io, fd, EV_READ);
	c->c_io.data = c;
	ev_timer_init(&c->c_timer, conn_timeout, CTL_TIMEOUT, CTL_TIMEOUT);
	c->c_timer.data = c;
	ev_timer_start(EV_DEFAULT, &c->c_timer);
	if (conn_allowed(c))
		ev_io_start(EV_DEFAULT, &c->c_io);
}

/*
 * Root, clusterd's own user and the members of control_group; anyone
 * else gets an error line that starts with "permission denied:"
 * (clusterctl reads it as a refused connection).
 */
static int
conn_allowed(struct ctl_conn *c)
{
	struct ucred	cred;
	socklen_t	len = sizeof(cred);

	if (getsockopt(c->c_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control socket: SO_PEERCRED");
		conn_free(c);
		return 0;
	}
	c->c_uid = (long)cred.uid;
	c->c_pid = (long)cred.pid;
	if (cred.uid == 0 || cred.uid == geteuid() ||
	    (ctl_has_group && peer_in_group(c->c_fd, &cred)))
		return 1;
	if (ctl_has_group) {
		log_warnx("control socket: refused pid %ld: uid %ld is neither "
		    "root nor clusterd's (uid %ld), nor in group %s",
		    c->c_pid, c->c_uid, (long)geteuid(), ctl_group);
		conn_answer(c, "permission denied: uid %ld is neither root "
		    "nor clusterd's (uid %ld), nor in group %s", c->c_uid,
		    (long)geteuid(), ctl_group);
		return 0;
	}
	log_warnx("control socket: refused pid %ld: uid %ld is neither root "
	    "nor clusterd's (uid %ld)", c->c_pid, c->c_uid, (long)geteuid());
	conn_answer(c, "permission denied: uid %ld is neither root nor "
	    "clusterd's (uid %ld)", c->c_uid, (long)geteuid());
	return 0;
}

/*
 * Is control_group the peer's primary group or one of its supplementary
 * ones?  Both as they were when it connected (SO_PEERCRED,
 * SO_PEERGROUPS), so a client cannot change them afterwards.
 */
static int
peer_in_group(int fd, const struct ucred *cred)
{
	gid_t		 some[64], *groups = some;
	socklen_t	 len = sizeof(some);
	size_t		 i;
	int		 in = 0;

	if (cred->gid == ctl_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1 &&
	    (errno != ERANGE || (groups = malloc(len)) == NULL ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)) {
		log_warn("control socket: SO_PEERGROUPS");
		if (groups != some)
			free(groups);
		return 0;
	}
	for (i = 0; i < len / sizeof(gid_t) && !in; i++)
		in = groups[i] == ctl_gid;
	if (groups != some)
		free(groups);
	return in;
}

static void
conn_free(struct ctl_conn *c)
{
	struct ctl_conn	**pp;

	if (c->c_state == CONN_WAITING) {
		ctlcmd_cancel(&c->c_wait);
		nwaiting--;
	}
	ev_io_stop(EV_DEFAULT, &c->c_io);
	ev_timer_stop(EV_DEFAULT, &c->c_timer);
	close(c->c_fd);
	for (pp = &conns; *pp != NULL; pp = &(*pp)->c_next)
		if (*pp == c) {
			*pp = c->c_next;
			break;
		}
	nconns--;
	strbuf_free(&c->c_out);
	free(c);
}

static void
conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn	*c = w->data;

	(void)loop;
	if (c->c_state == CONN_READING) {
		conn_read(c);
		return;
	}
	if ((revents & EV_READ) && conn_gone(c))
		return;
	if (revents & EV_WRITE)
		conn_flush(c);
}

static void
conn_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ctl_conn	*c = t->data;

	(void)loop;
	(void)revents;
	log_debug("control socket: pid %ld %s within %.0fs: closed",
	    c->c_pid, c->c_state == CONN_READING ? "sent no request" :
	    "did not read its answer", CTL_TIMEOUT);
	conn_free(c);
}

/*
 * Gather the request line.  A client that half-closes after a request
 * without its newline is answered too.
 */
static void
conn_read(struct ctl_conn *c)
{
	ssize_t	 n;
	char	*nl;

	n = recv(c->c_fd, c->c_req + c->c_reqlen, CTL_REQ_MAX - c->c_reqlen,
	    0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1 || (n == 0 && c->c_reqlen == 0)) {
		log_debug("control socket: pid %ld: %s", c->c_pid,
		    n == 0 ? "closed without a request" : strerror(errno));
		conn_free(c);
		return;
	}
	nl = memchr(c->c_req + c->c_reqlen, '\n', (size_t)n);
	c->c_reqlen += (size_t)n;
	if (nl != NULL)
		c->c_reqlen = (size_t)(nl - c->c_req);	/* without it */
	else if (n > 0) {
		if (c->c_reqlen == CTL_REQ_MAX)
			conn_answer(c, "request too long: the limit is %d "
			    "bytes", CTL_REQ_MAX);
		return;
	}
	c->c_half = n == 0;
	c->c_req[c->c_reqlen] = '\0';
	conn_request(c);
}

/*
 * While it waits, a client only reads.  If it is gone (POLLHUP: closed,
 * not merely half-closed) nobody wants the outcome any more: 1, freed.
 */
static int
conn_gone(struct ctl_conn *c)
{
	struct pollfd	pfd = { .fd = c->c_fd, .events = 0 };
	char		buf[256];
	ssize_t		n;

	n = recv(c->c_fd, buf, sizeof(buf), 0);
	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR)))
		return 0;
	if (n == 0 && !(poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & POLLHUP))) {
		c->c_half = 1;
		conn_watch(c);
		return 0;
	}
	log_debug("control socket: pid %ld left before its answer",
	    c->c_pid);
	conn_free(c);
	return 1;
}

/* One request: run it; answer now, or wait for what it started. */
static void
conn_request(struct ctl_conn *c)
{
	struct ctl_request	cr;
	char			err[ERRBUF_LEN];

	if (ctlproto_parse(c->c_req, c->c_reqlen, &cr, err,
	    sizeof(err)) == -1) {
		log_debug("control socket: pid %ld: %s", c->c_pid, err);
		conn_answer(c, "%s", err);
		return;
	}
	if (cr.cr_def->cd_quiet)
		log_debug("control socket: %s (pid %ld, uid %ld)",
		    cr.cr_def->cd_name, c->c_pid, c->c_uid);
	else
		log_info("control socket: %s%s%s (pid %ld, uid %ld)",
		    cr.cr_def->cd_name, cr.cr_program[0] != '\0' ? " " : "",
		    cr.cr_program, c->c_pid, c->c_uid);
	if (ctlcmd_run(&cr, c->c_fd, &c->c_out, &c->c_wait)) {
		c->c_state = CONN_WAITING;
		nwaiting++;
		ev_timer_stop(EV_DEFAULT, &c->c_timer);
	} else
		c->c_state = CONN_CLOSING;
	conn_flush(c);
}

/* An error answer, and close. */
static void
conn_answer(struct ctl_conn *c, const char *fmt, ...)
{
	va_list	ap;
	char	msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	strbuf_reset(&c->c_out);
	strbuf_printf(&c->c_out, "{\"ok\":false,\"error\":");
	strbuf_quote(&c->c_out, msg);
	strbuf_printf(&c->c_out, "}\n");
	c->c_state = CONN_CLOSING;
	conn_flush(c);
}

/*
 * Write what the client takes.  A closing connection is freed once its
 * answer is out; an answer that did not fit in memory becomes an error.
 */
static void
conn_flush(struct ctl_conn *c)
{
	static const char	oom[] = "{\"ok\":false,\"error\":\"out of "
				    "memory\"}\n";
	ssize_t			n;

	if (c->c_out.sb_oom) {
		strbuf_free(&c->c_out);
		(void)send(c->c_fd, oom, sizeof(oom) - 1, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		conn_free(c);
		return;
	}
	while (c->c_out.sb_len > 0) {
		n = send(c->c_fd, c->c_out.sb_data, c->c_out.sb_len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1) {
			log_debug("control socket: pid %ld: send: %s",
			    c->c_pid, strerror(errno));
			conn_free(c);
			return;
		}
		strbuf_consume(&c->c_out, (size_t)n);
		if (c->c_state == CONN_CLOSING)
			ev_timer_again(EV_DEFAULT, &c->c_timer);
	}
	if (c->c_state == CONN_CLOSING && c->c_out.sb_len == 0) {
		conn_free(c);
		return;
	}
	conn_watch(c);
}

/* Watch for what the connection needs: room to write, or a hang-up. */
static void
conn_watch(struct ctl_conn *c)
{
	int	events = 0;

	if (c->c_out.sb_len > 0)
		events |= EV_WRITE;
	if (c->c_state == CONN_WAITING && !c->c_half)
		events |= EV_READ;
	if (c->c_state == CONN_CLOSING && !ev_is_active(&c->c_timer))
		ev_timer_again(EV_DEFAULT, &c->c_timer);
	ev_io_stop(EV_DEFAULT, &c->c_io);
	if (events != 0) {
		ev_io_set(&c->c_io, c->c_fd, events);
		ev_io_start(EV_DEFAULT, &c->c_io);
	}
}

/*
 * After each wakeup: the clients that wait get their progress, and
 * their answer once the operation is over.  A client that does not read
 * its progress gets no more of it, only the answer.
 */
static void
ctl_after_wakeup(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct ctl_conn	*c, *next;

	(void)loop;
	(void)w;
	(void)revents;
	if (nwaiting == 0)
		return;
	for (c = conns; c != NULL; c = next) {
		next = c->c_next;
		if (c->c_state != CONN_WAITING)
			continue;
		if (c->c_out.sb_len > CTL_OUT_MAX)
			c->c_wait.cw_progress = 0;
		if (ctlcmd_poll(&c->c_wait, &c->c_out)) {
			c->c_state = CONN_CLOSING;
			nwaiting--;
		}
		conn_flush(c);
	}
}
