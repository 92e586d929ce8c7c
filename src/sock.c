/*
 * SPDX-License-Identifier: ISC
 *
 * Listening sockets.  The master binds every socket once, before any
 * worker starts, and never accepts on them: the kernel hands connections
 * straight to the workers.  They stay blocking (as systemd passes them),
 * since a worker may well call a blocking accept().
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

static struct listener	*open_listeners;	/* every listener not freed */

static void	sock_free(struct listener *);
static int	tcp_open(const struct listen_addr *, const char *, int, int,
		    int, char *, size_t);
static int	tcp_bind_listen(int, const struct sockaddr *, socklen_t,
		    const char *, int, int, int, char *, size_t);
static int	tcp_port_start(void);
static int	unix_open(const struct sock_conf *, struct stat *, char *,
		    size_t);
static int	unix_bind(int, const struct sockaddr_un *,
		    const struct sock_conf *, struct stat *, char *, size_t);
static int	unix_file(const char *, const struct stat *, struct stat *,
		    char *, size_t);
static int	unix_file_set(int, const char *, const struct sock_conf *,
		    int, char *, size_t);

/*
 * Open, bind and listen on one configured socket.  On failure err says
 * which step failed, for which address, and why.
 */
struct listener *
sock_open(const struct sock_conf *sc, char *err, size_t errlen)
{
	struct listener	*l;
	struct stat	 st;
	int		 fd;

	memset(&st, 0, sizeof(st));
	switch (sc->sc_addr.la_kind) {
	case ADDR_TCP:
		fd = tcp_open(&sc->sc_addr, sc->sc_listen, sc->sc_backlog,
		    sc->sc_reuseport, !sc->sc_reuseport, err, errlen);
		break;
	case ADDR_UNIX:
		fd = unix_open(sc, &st, err, errlen);
		break;
	case ADDR_SYSTEMD:
		fd = sdlisten_take(sc->sc_addr.la_path, err, errlen);
		break;
	default:
		snprintf(err, errlen, "%s: unknown address kind",
		    sc->sc_listen);
		return NULL;
	}
	if (fd == -1)
		return NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->l_name = strdup(sc->sc_name)) == NULL ||
	    (l->l_listen = strdup(sc->sc_listen)) == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		close(fd);
		if (l != NULL)
			free(l->l_name);
		free(l);
		return NULL;
	}
	l->l_addr = sc->sc_addr;
	l->l_backlog = sc->sc_backlog;
	l->l_reuseport = sc->sc_reuseport;
	l->l_fd = fd;
	l->l_dev = st.st_dev;
	l->l_ino = st.st_ino;
	l->l_refs = 1;
	l->l_next = open_listeners;
	open_listeners = l;
	return l;
}

/*
 * What l (open at fd in the master: the shared socket or a slot's) is:
 * its configured address, or, for a socket systemd passed, what the
 * socket itself says.  -1 if that cannot be told.
 */
int
sock_describe(const struct listener *l, int fd, struct sock_desc *sk)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		 len = sizeof(ss);

	memset(sk, 0, sizeof(*sk));
	switch (l->l_addr.la_kind) {
	case ADDR_TCP:
		sk->sk_any = l->l_addr.la_any;
		snprintf(sk->sk_host, sizeof(sk->sk_host), "%s",
		    strcmp(l->l_addr.la_host, "localhost") == 0 ?
		    "127.0.0.1" : l->l_addr.la_host);
		sk->sk_port = l->l_addr.la_port;
		return 0;
	case ADDR_UNIX:
		sk->sk_unix = 1;
		snprintf(sk->sk_path, sizeof(sk->sk_path), "%s",
		    l->l_addr.la_path);
		return 0;
	default:
		break;
	}
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_UNIX) {
		sk->sk_unix = 1;
		memcpy(sk->sk_path, sun->sun_path, sizeof(sk->sk_path) - 1);
	} else if (ss.ss_family == AF_INET) {
		sk->sk_port = ntohs(sin->sin_port);
		sk->sk_any = sin->sin_addr.s_addr == htonl(INADDR_ANY);
		inet_ntop(AF_INET, &sin->sin_addr, sk->sk_host,
		    sizeof(sk->sk_host));
	} else if (ss.ss_family == AF_INET6) {
		sk->sk_port = ntohs(sin6->sin6_port);
		sk->sk_any = IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
		inet_ntop(AF_INET6, &sin6->sin6_addr, sk->sk_host,
		    sizeof(sk->sk_host));
	} else
		return -1;
	return 0;
}

/*
 * An upgrade: is fd the socket la names, as the old image left it?  A
 * stream socket, listening (unless it only holds a reuseport port), on
 * that port or unix path.  0, or -1 with the reason in err.
 */
int
sock_check_fd(int fd, const struct listen_addr *la, int listening,
    char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		 len = sizeof(ss), olen = sizeof(int);
	struct stat		 st;
	int			 type, acc;

	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "fd %d is not a socket", fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) == -1 ||
	    type != SOCK_STREAM || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
	    &acc, &olen) == -1 || acc != listening ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		snprintf(err, errlen, "fd %d is not a %s stream socket", fd,
		    listening ? "listening" : "bound");
		return -1;
	}
	switch (la->la_kind) {
	case ADDR_TCP:
		if ((ss.ss_family == AF_INET && ntohs(sin->sin_port) ==
		    la->la_port) || (ss.ss_family == AF_INET6 &&
		    ntohs(sin6->sin6_port) == la->la_port))
			return 0;
		break;
	case ADDR_UNIX:
		if (ss.ss_family == AF_UNIX &&
		    strcmp(sun->sun_path, la->la_path) == 0)
			return 0;
		break;
	default:
		return 0;	/* systemd's: whatever it passed */
	}
	snprintf(err, errlen, "fd %d is bound to another address", fd);
	return -1;
}

/*
 * An upgrade: the listener for sc, whose socket is open at fd already;
 * NULL (err says why) if fd is not that socket.
 */
struct listener *
sock_adopt(const struct sock_conf *sc, int fd, char *err, size_t errlen)
{
	struct listener	*l;
	struct stat	 st;

	if (sock_check_fd(fd, &sc->sc_addr, !sc->sc_reuseport, err,
	    errlen) == -1)
		return NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->l_name = strdup(sc->sc_name)) == NULL ||
	    (l->l_listen = strdup(sc->sc_listen)) == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		if (l != NULL)
			free(l->l_name);
		free(l);
		return NULL;
	}
	l->l_addr = sc->sc_addr;
	l->l_backlog = sc->sc_backlog;
	l->l_reuseport = sc->sc_reuseport;
	l->l_fd = fd;
	if (sc->sc_addr.la_kind == ADDR_UNIX &&
	    lstat(sc->sc_addr.la_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		/* the file the old image bound, as far as one can tell */
		l->l_dev = st.st_dev;
		l->l_ino = st.st_ino;
	}
	l->l_refs = 1;
	l->l_next = open_listeners;
	open_listeners = l;
	return l;
}

/*
 * Listeners are shared by the master's configuration and every program
 * configuration that names them; the last one to let go closes it.
 */
void
sock_hold(struct listener *l)
{
	l->l_refs++;
}

void
sock_release(struct listener *l)
{
	struct listener	**pp;

	if (l == NULL || --l->l_refs > 0)
		return;
	for (pp = &open_listeners; *pp != NULL; pp = &(*pp)->l_next)
		if (*pp == l) {
			*pp = l->l_next;
			break;
		}
	sock_free(l);
}

/* Every open listener, in no particular order (via l_next). */
struct listener *
sock_first(void)
{
	return open_listeners;
}

/*
 * Shutdown: close every listening descriptor now, so that new
 * connections are refused rather than queued until clusterd exits.
 */
void
sock_close_all(void)
{
	struct listener	*l;

	for (l = open_listeners; l != NULL; l = l->l_next)
		sock_close(l);
}

/*
 * Close a listener's descriptor; a unix socket's file goes with it, if
 * it is still the one clusterd bound (another file put at its path is
 * left alone).  A socket systemd passed (ADDR_SYSTEMD) is systemd's: only our duplicate
 * is closed, and its file, if any, is left alone.
 */
void
sock_close(struct listener *l)
{
	struct stat	st;

	if (l->l_fd == -1)
		return;
	if (close(l->l_fd) == -1)
		log_warn("close socket %s", l->l_name);
	l->l_fd = -1;
	if (l->l_addr.la_kind == ADDR_UNIX &&
	    lstat(l->l_addr.la_path, &st) == 0) {
		if (st.st_dev != l->l_dev || st.st_ino != l->l_ino)
			log_warnx("socket %s: %s is no longer the socket "
			    "clusterd bound; not removing it", l->l_name,
			    l->l_addr.la_path);
		else if (unlink(l->l_addr.la_path) == -1 && errno != ENOENT)
			log_warn("unlink %s", l->l_addr.la_path);
	}
}

static void
sock_free(struct listener *l)
{
	sock_close(l);
	free(l->l_node_data);
	free(l->l_name);
	free(l->l_listen);
	free(l);
}

/*
 * TCP: a numeric address (localhost is 127.0.0.1), or every address.
 * With reuseport the socket is bound with SO_REUSEPORT; do_listen = 0
 * leaves it bound but not listening, so it holds the port without taking
 * a share of the connections.
 */
static int
tcp_open(const struct listen_addr *la, const char *text, int backlog,
    int reuseport, int do_listen, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	const char		*host;
	socklen_t		 len;
	int			 fd, off = 0;

	memset(&ss, 0, sizeof(ss));
	host = strcmp(la->la_host, "localhost") == 0 ? "127.0.0.1" :
	    la->la_host;
	if (la->la_any || inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(la->la_port);
		if (la->la_any)
			sin6->sin6_addr = in6addr_any;
		len = sizeof(*sin6);
	} else if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(la->la_port);
		len = sizeof(*sin);
	} else {
		snprintf(err, errlen, "%s: not a numeric address", host);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 && la->la_any && errno == EAFNOSUPPORT) {
		/* no IPv6 on this host: all IPv4 addresses instead */
		memset(&ss, 0, sizeof(ss));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons(la->la_port);
		len = sizeof(*sin);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	if (fd == -1) {
		snprintf(err, errlen, "socket %s: %s", text, strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_INET6 && la->la_any &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) == -1) {
		snprintf(err, errlen, "setsockopt IPV6_V6ONLY %s: %s", text,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return tcp_bind_listen(fd, (struct sockaddr *)&ss, len, text, backlog,
	    reuseport, do_listen, err, errlen);
}

static int
tcp_bind_listen(int fd, const struct sockaddr *sa, socklen_t salen,
    const char *text, int backlog, int reuseport, int do_listen, char *err,
    size_t errlen)
{
	int	on = 1, port, start;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
		snprintf(err, errlen, "setsockopt SO_REUSEADDR %s: %s", text,
		    strerror(errno));
		goto fail;
	}
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) {
		snprintf(err, errlen, "setsockopt SO_REUSEPORT %s: %s", text,
		    strerror(errno));
		goto fail;
	}
	if (bind(fd, sa, salen) == -1) {
		port = ntohs(sa->sa_family == AF_INET6 ?
		    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port :
		    ((const struct sockaddr_in *)(const void *)sa)->sin_port);
		if (errno == EACCES && port < (start = tcp_port_start()))
			snprintf(err, errlen, "bind %s: %s: a port below %d "
			    "needs root or CAP_NET_BIND_SERVICE", text,
			    strerror(EACCES), start);
		else
			snprintf(err, errlen, "bind %s: %s", text,
			    strerror(errno));
		goto fail;
	}
	if (do_listen && listen(fd, backlog) == -1) {
		snprintf(err, errlen, "listen %s: %s", text, strerror(errno));
		goto fail;
	}
	return fd;
 fail:
	close(fd);
	return -1;
}

/*
 * The first port anyone may bind (net.ipv4.ip_unprivileged_port_start,
 * which also applies to IPv6), 1024 when it cannot be read.
 */
static int
tcp_port_start(void)
{
	FILE	*f;
	int	 n = 1024;

	if ((f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start",
	    "re")) != NULL) {
		if (fscanf(f, "%d", &n) != 1)
			n = 1024;
		fclose(f);
	}
	return n;
}

/* One more SO_REUSEPORT socket on a reuseport listener's address. */
int
sock_open_reuseport(const struct listener *l, char *err, size_t errlen)
{
	return tcp_open(&l->l_addr, l->l_listen, l->l_backlog, 1, 1, err,
	    errlen);
}

/* Bind and listen at a unix path; *st: the socket file it made. */
static int
unix_open(const struct sock_conf *sc, struct stat *st, char *err,
    size_t errlen)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sc->sc_addr.la_path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", sc->sc_listen);
		return -1;
	}
	strcpy(sun.sun_path, sc->sc_addr.la_path);
	switch (sock_clear_stale(sun.sun_path, err, errlen)) {
	case -1:
		return -1;
	case 1:
		log_notice("socket %s: replaced a stale socket file %s",
		    sc->sc_name, sun.sun_path);
		break;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket %s: %s", sc->sc_listen,
		    strerror(errno));
		return -1;
	}
	if (unix_bind(fd, &sun, sc, st, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The one rule for a unix socket file in the way of a bind, for the
 * listening sockets and the control socket alike: it is stale, and
 * removed, only when connect(2) says ECONNREFUSED (a socket file nothing
 * listens on: its process is gone).  A connection, a full backlog
 * (EAGAIN) or any other error (EACCES: this user may not connect, so
 * cannot tell) leaves it alone, and so does a file that is not a socket.
 * Returns 0 when nothing is there, 1 when a stale file was removed, or -1
 * with the reason in err, which starts with the path.
 */
int
sock_clear_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd, rc, saved;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: lstat: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; not "
		    "removing it", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "%s: socket: %s", path, strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	close(fd);
	if (rc == 0 || saved == EAGAIN) {
		snprintf(err, errlen, "%s is in use by another clusterd (or "
		    "another process)", path);
		return -1;
	}
	if (saved == ENOENT)
		return 0;		/* gone meanwhile */
	if (saved != ECONNREFUSED) {
		snprintf(err, errlen, "%s: connect: %s; cannot tell whether "
		    "it is in use, not removing it", path, strerror(saved));
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: unlink stale socket file: %s", path,
		    strerror(errno));
		return -1;
	}
	return 1;
}

/*
 * The umask around bind gives the file its mode from the first instant.
 * The owner is set through the file itself, opened without following
 * anything right after bind, and never through its path: fchown on the
 * socket's own descriptor would not do, as on Linux it changes the
 * socket's inode in sockfs, not the file.  The file's device and inode
 * go to *st: later changes (sock_update) and the removal at exit act only
 * on that file.
 */
static int
unix_bind(int fd, const struct sockaddr_un *sun, const struct sock_conf *sc,
    struct stat *st, char *err, size_t errlen)
{
	mode_t	old;
	int	rc, pfd;

	old = umask(~sc->sc_mode & 0777);
	rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(old);
	if (rc == -1) {
		snprintf(err, errlen, "bind %s: %s", sc->sc_listen,
		    strerror(errno));
		return -1;
	}
	if ((pfd = unix_file(sun->sun_path, NULL, st, err, errlen)) == -1)
		goto fail;
	rc = sc->sc_has_owner ? unix_file_set(pfd, sun->sun_path, sc, 0, err,
	    errlen) : 0;
	close(pfd);
	if (rc == -1)
		goto fail;
	if (listen(fd, sc->sc_backlog) == -1) {
		snprintf(err, errlen, "listen %s: %s", sc->sc_listen,
		    strerror(errno));
		goto fail;
	}
	return 0;
 fail:
	unlink(sun->sun_path);
	return -1;
}

/*
 * The socket file at path, as an O_PATH descriptor that no symlink led to
 * (O_NOFOLLOW: a symlink is opened as itself and then refused).  It must
 * be a socket and, when want is given, the very file (device and inode)
 * clusterd bound; its stat goes to *st.  -1 with the reason in err.
 */
static int
unix_file(const char *path, const struct stat *want, struct stat *st,
    char *err, size_t errlen)
{
	int	fd;

	if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1) {
		snprintf(err, errlen, "%s: fstat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISSOCK(st->st_mode) || (want != NULL &&
	    (st->st_dev != want->st_dev || st->st_ino != want->st_ino))) {
		snprintf(err, errlen, "%s is no longer the socket clusterd "
		    "bound (%s); not changing its mode or owner", path,
		    S_ISLNK(st->st_mode) ? "a symlink" :
		    S_ISSOCK(st->st_mode) ? "another socket" :
		    "not a socket");
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Owner (if configured) and, with do_mode, mode of the file pfd is an
 * O_PATH descriptor of.  fchownat(AT_EMPTY_PATH) acts on the descriptor;
 * for the mode, fchmod refuses O_PATH descriptors and glibc's fchmodat
 * has no AT_EMPTY_PATH, so it goes through /proc/self/fd, whose entry is
 * the file itself whatever its path now names.
 */
static int
unix_file_set(int pfd, const char *path, const struct sock_conf *sc,
    int do_mode, char *err, size_t errlen)
{
	char	proc[64];

	if (sc->sc_has_owner && fchownat(pfd, "", sc->sc_uid, sc->sc_gid,
	    AT_EMPTY_PATH) == -1) {
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	if (do_mode && chmod(proc, sc->sc_mode) == -1) {
		snprintf(err, errlen, "chmod %s (through %s): %s", path, proc,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Settings a kept socket takes at a reload without being closed: the
 * backlog (listen() again adjusts it) and a unix socket file's mode and
 * owner, applied to the file clusterd bound and to nothing else: if its
 * path now names something else (a symlink, another file), that is
 * logged and nothing is changed.
 */
int
sock_update(struct listener *l, const struct sock_conf *sc)
{
	struct stat	want, st;
	char		err[ERRBUF_LEN];
	int		rc = 0, pfd;

	l->l_backlog = sc->sc_backlog;
	if (sc->sc_addr.la_kind == ADDR_SYSTEMD)
		return 0;	/* systemd's socket, systemd's Backlog= */
	if (!l->l_reuseport && listen(l->l_fd, sc->sc_backlog) == -1) {
		log_warn("socket %s: listen", sc->sc_name);
		rc = -1;
	}
	if (sc->sc_addr.la_kind != ADDR_UNIX)
		return rc;
	want.st_dev = l->l_dev;
	want.st_ino = l->l_ino;
	if ((pfd = unix_file(l->l_addr.la_path, &want, &st, err,
	    sizeof(err))) == -1 ||
	    unix_file_set(pfd, l->l_addr.la_path, sc, 1, err,
	    sizeof(err)) == -1) {
		log_warnx("socket %s: %s", sc->sc_name, err);
		rc = -1;
	}
	if (pfd != -1)
		close(pfd);
	return rc;
}
