/*
 * SPDX-License-Identifier: ISC
 *
 * stdout = journal: a journal stream of the worker's own, the protocol
 * systemd-journald speaks on /run/systemd/journal/stdout (what systemd
 * connects a service's StandardOutput=journal to, and what
 * sd_journal_stream_fd(3) opens).  The worker connects it itself, after
 * fork and once it has its own user: journald takes the _PID, _UID and
 * _GID of every line from the connection's SO_PEERCRED, which are the
 * connecting process's at connect(2), and exec keeps the pid.  Then it
 * sends the header, seven lines:
 *
 *	identifier		SYSLOG_IDENTIFIER of every line
 *	unit id			empty: journald finds the unit by cgroup
 *	priority		of a line without a prefix: 6 stdout, 3 stderr
 *	level_prefix		1: a line may start with <N>, its priority
 *	forward_to_syslog	0
 *	forward_to_kmsg		0
 *	forward_to_console	0
 *
 * and the stream is the worker's fd 1 (or 2).  No line passes through
 * clusterd.
 *
 * Before each fork the master checks that the socket takes connections;
 * if not, the worker's output goes to clusterd's own, and that is said
 * once until the socket is back.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define JOURNAL_STDOUT	"/run/systemd/journal/stdout"
#define JOURNAL_SNDBUF	(8 * 1024 * 1024)	/* as sd_journal_stream_fd */

static int	journal_missing;	/* the last check failed; said so */

static int	journal_connect(int);

/*
 * The master, before a fork: may the worker connect a journal stream?
 * A non-blocking connect that is then closed: one that would have to
 * wait (journald's backlog is full) counts as available.  The first
 * failure is logged, naming the program; then nothing until the socket
 * takes connections again.
 */
int
journal_available(const char *prog)
{
	int	fd, saved;

	if ((fd = journal_connect(SOCK_NONBLOCK)) == -1 && errno != EAGAIN) {
		saved = errno;
		if (!journal_missing)
			log_warnx("%s: no journal stream: connect %s: %s; "
			    "workers with stdout or stderr = journal write "
			    "to clusterd's own output instead (inherit)",
			    prog, JOURNAL_STDOUT, strerror(saved));
		journal_missing = 1;
		return 0;
	}
	if (fd != -1)
		close(fd);
	if (journal_missing)
		log_info("%s: %s takes connections again: journal streams "
		    "resume", prog, JOURNAL_STDOUT);
	journal_missing = 0;
	return 1;
}

/*
 * The worker, after fork: a stream for one of its outputs, the header
 * sent; -1 with errno.  Nothing is ever read from it: SHUT_RD.
 */
int
journal_stream_open(const char *identifier, int priority)
{
	char	header[IDENT_MAXLEN + 32];
	int	fd, len, size = JOURNAL_SNDBUF, saved;
	ssize_t	n;

	if ((fd = journal_connect(0)) == -1)
		return -1;
	if (shutdown(fd, SHUT_RD) == -1)
		goto fail;
	/* best effort: a big buffer, so a burst of lines does not block */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	len = snprintf(header, sizeof(header), "%s\n\n%d\n1\n0\n0\n0\n",
	    identifier, priority);
	if (len < 0 || (size_t)len >= sizeof(header)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	do
		n = write(fd, header, (size_t)len);
	while (n == -1 && errno == EINTR);
	if (n != len) {
		if (n >= 0)
			errno = EIO;
		goto fail;
	}
	return fd;
 fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* A socket connected to journald's stream socket, or -1 with errno. */
static int
journal_connect(int flags)
{
	struct sockaddr_un	sun;
	int			fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, JOURNAL_STDOUT, sizeof(JOURNAL_STDOUT));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags,
	    0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
