/*
 * SPDX-License-Identifier: ISC
 *
 * fdlaunch - does what systemd does when it starts a service again with
 * the descriptors of its file descriptor store: the listening sockets at
 * fd 3, 4, ... and LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (its own pid,
 * which the program it execs keeps) in the environment.
 *
 *	fdlaunch SOCKET PROGRAM [ARG ...]
 *
 * The descriptors come from whoever listens on the unix stream socket
 * SOCKET (the test, which plays systemd): one message whose data is the
 * names, colon-separated as in LISTEN_FDNAMES, with the descriptors in
 * SCM_RIGHTS, in the same order.  Exit 127 on any failure, before exec.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FDS_MAX		16
#define FDS_START	3
#define FDS_PARK	100	/* out of the way while they are moved */

static int	fetch(const char *, char *, size_t, int *);
static void	place(int *, int);
static void	die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

int
main(int argc, char *argv[])
{
	char	names[1024], num[32];
	int	fds[FDS_MAX], n;

	if (argc < 3)
		die("usage: fdlaunch SOCKET PROGRAM [ARG ...]");
	n = fetch(argv[1], names, sizeof(names), fds);
	place(fds, n);
	snprintf(num, sizeof(num), "%d", n);
	setenv("LISTEN_FDS", num, 1);
	setenv("LISTEN_FDNAMES", names, 1);
	snprintf(num, sizeof(num), "%ld", (long)getpid());
	setenv("LISTEN_PID", num, 1);
	execv(argv[2], argv + 2);
	die("execv %s: %s", argv[2], strerror(errno));
}

/* Connect to path and receive the names and up to FDS_MAX descriptors. */
static int
fetch(const char *path, char *names, size_t len, int *fds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(FDS_MAX * sizeof(int))];
	}		 cm;
	struct sockaddr_un sun;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;
	ssize_t		 got;
	int		 s, n = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		die("%s: path too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		die("connect %s: %s", path, strerror(errno));
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = names;
	iov.iov_len = len - 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	if ((got = recvmsg(s, &mh, MSG_CMSG_CLOEXEC)) <= 0)
		die("recvmsg %s: %s", path, got == 0 ? "end of file" :
		    strerror(errno));
	names[got] = '\0';
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(c), (size_t)n * sizeof(int));
	}
	close(s);
	return n;
}

/* fds[i] to FDS_START + i, inherited by the exec; first out of the way. */
static void
place(int *fds, int n)
{
	int	i, fd;

	for (i = 0; i < n; i++) {
		if ((fd = fcntl(fds[i], F_DUPFD_CLOEXEC, FDS_PARK)) == -1)
			die("fcntl F_DUPFD: %s", strerror(errno));
		close(fds[i]);
		fds[i] = fd;
	}
	for (i = 0; i < n; i++) {
		if (dup2(fds[i], FDS_START + i) == -1)
			die("dup2: %s", strerror(errno));
		close(fds[i]);
	}
}

static void
die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "fdlaunch: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(127);
}
