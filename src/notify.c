/*
 * SPDX-License-Identifier: ISC
 *
 * systemd's sd_notify protocol, spoken directly.
 *
 * The protocol is one datagram of NAME=VALUE lines sent to the unix
 * socket named by NOTIFY_SOCKET; it is stable and documented in
 * sd_notify(3).  Linking libsystemd for it would pull a large library
 * (and its own dependencies) into a tiny daemon for a dozen lines of
 * code, so clusterd does without it.
 *
 * Without NOTIFY_SOCKET every function here returns at once.  Sending
 * never blocks and never fails start-up: an error is logged once, and
 * again only after a send has succeeded in between.  NOTIFY_SOCKET and
 * WATCHDOG_* stay in clusterd's environment; env.c keeps them from the
 * workers.
 */

#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define STATUS_MAX	1024	/* one STATUS= line, without the prefix */

static int			 notify_fd = -1;
static struct sockaddr_un	 notify_sun;
static char			 notify_path[sizeof(notify_sun.sun_path)];
static socklen_t		 notify_sunlen;
static int			 notify_failing;	/* warned, not sent since */
static char			 notify_last[STATUS_MAX];
static int			 notify_has_last;
static ev_timer			 notify_wd;
static int			 notify_wd_on;

static int	notify_address(const char *);
static void	notify_watchdog_init(void);
static void	notify_watchdog(struct ev_loop *, ev_timer *, int);
static void	notify_send(const char *);
static void	notify_clean(const char *, char *, size_t);

/*
 * Read NOTIFY_SOCKET and WATCHDOG_USEC; open the socket.  Called once at
 * start-up, after the default loop exists; calling it again starts over.
 */
void
notify_init(void)
{
	const char	*path;

	if (notify_fd != -1)
		close(notify_fd);
	notify_fd = -1;
	notify_has_last = 0;
	notify_failing = 0;
	if (notify_wd_on) {
		ev_ref(EV_DEFAULT);
		ev_timer_stop(EV_DEFAULT, &notify_wd);
		notify_wd_on = 0;
	}
	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return;
	if (notify_address(path) == -1)
		return;
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (notify_fd == -1) {
		log_warn("notify: socket");
		return;
	}
	notify_watchdog_init();
}

/* READY=1, with a STATUS= line unless status is NULL. */
void
notify_ready(const char *status)
{
	char	msg[STATUS_MAX + 32];

	if (notify_fd == -1)
		return;
	if (status == NULL) {
		notify_send("READY=1");
		return;
	}
	notify_clean(status, notify_last, sizeof(notify_last));
	notify_has_last = 1;
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", notify_last);
	notify_send(msg);
}

/* The start of a reload; READY=1 ends it. */
void
notify_reloading(void)
{
	struct timespec	ts;
	char		msg[64];

	if (notify_fd == -1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_send(msg);
}

void
notify_stopping(void)
{
	if (notify_fd == -1)
		return;
	notify_send("STOPPING=1");
}

/*
 * systemd's file descriptor store: keep fd there under name, so that
 * systemd hands it back (LISTEN_FDS, LISTEN_FDNAMES) if clusterd
 * itself crashes and is started again.  Needs FileDescriptorStoreMax=
 * in the unit; without it systemd drops the descriptor.
 */
void
notify_fdstore(const char *name, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;
	char		 msg[NAME_MAXLEN + 32];

	if (notify_fd == -1)
		return;
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	iov.iov_base = msg;
	iov.iov_len = strlen(msg);
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	mh.msg_name = &notify_sun;
	mh.msg_namelen = notify_sunlen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(notify_fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		log_warn("notify: FDSTORE %s", name);
}

/* A socket a reload dropped leaves the store too. */
void
notify_fdstore_remove(const char *name)
{
	char	msg[NAME_MAXLEN + 40];

	if (notify_fd == -1)
		return;
	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	notify_send(msg);
}

/*
 * STATUS=, made one line.  Sent only when it differs from the last one,
 * so callers may call it on every state change.
 */
void
notify_status(const char *text)
{
	char	line[STATUS_MAX], msg[STATUS_MAX + 16];

	if (notify_fd == -1 || text == NULL)
		return;
	notify_clean(text, line, sizeof(line));
	if (notify_has_last && strcmp(line, notify_last) == 0)
		return;
	memcpy(notify_last, line, sizeof(notify_last));
	notify_has_last = 1;
	snprintf(msg, sizeof(msg), "STATUS=%s", line);
	notify_send(msg);
}

/*
 * "/path" is a file system socket, "@name" one in the abstract
 * namespace: its '@' becomes the leading NUL byte, and the address
 * length is exact, since every byte of an abstract name counts.
 */
static int
notify_address(const char *path)
{
	size_t	len = strlen(path);

	if (path[0] != '/' && path[0] != '@') {
		log_warnx("notify: NOTIFY_SOCKET=%s is neither an absolute "
		    "path nor an abstract name; not notifying systemd", path);
		return -1;
	}
	if (len >= sizeof(notify_sun.sun_path) || len < 2) {
		log_warnx("notify: NOTIFY_SOCKET=%s: bad length; not "
		    "notifying systemd", path);
		return -1;
	}
	memset(&notify_sun, 0, sizeof(notify_sun));
	notify_sun.sun_family = AF_UNIX;
	memcpy(notify_sun.sun_path, path, len);
	memcpy(notify_path, path, len + 1);
	notify_sunlen = offsetof(struct sockaddr_un, sun_path) + len;
	if (path[0] == '@')
		notify_sun.sun_path[0] = '\0';
	else
		notify_sunlen++;	/* the terminating NUL */
	return 0;
}

/*
 * WATCHDOG_USEC set (and WATCHDOG_PID absent or ours): WATCHDOG=1 every
 * half period, from the loop, so a stuck loop misses its pings.  The
 * timer does not keep the loop alive by itself.
 */
static void
notify_watchdog_init(void)
{
	const char		*s;
	char			*end;
	unsigned long long	 usec;
	long			 pid;

	if ((s = getenv("WATCHDOG_USEC")) == NULL)
		return;
	errno = 0;
	usec = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || usec == 0) {
		log_warnx("notify: ignoring WATCHDOG_USEC=%s", s);
		return;
	}
	if ((s = getenv("WATCHDOG_PID")) != NULL) {
		errno = 0;
		pid = strtol(s, &end, 10);
		if (*end != '\0' || errno != 0 || pid != (long)getpid())
			return;		/* meant for another process */
	}
	ev_timer_init(&notify_wd, notify_watchdog, usec / 2e6, usec / 2e6);
	ev_timer_start(EV_DEFAULT, &notify_wd);
	ev_unref(EV_DEFAULT);
	notify_wd_on = 1;
	log_debug("notify: watchdog every %.3fs", usec / 2e6);
}

static void
notify_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	notify_send("WATCHDOG=1");
}

static void
notify_send(const char *msg)
{
	ssize_t	n;

	n = sendto(notify_fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&notify_sun, notify_sunlen);
	if (n != -1) {
		notify_failing = 0;
		return;
	}
	if (!notify_failing)
		log_warn("notify: sendto %s", notify_path);
	notify_failing = 1;
}

/* Copy text as one line: line breaks and other controls become spaces. */
static void
notify_clean(const char *text, char *line, size_t len)
{
	size_t	i;

	for (i = 0; text[i] != '\0' && i + 1 < len; i++)
		line[i] = (unsigned char)text[i] < ' ' ? ' ' : text[i];
	line[i] = '\0';
}
