/*
 * SPDX-License-Identifier: ISC
 *
 * ipcworker: a test worker that talks to clusterd over its IPC channel as
 * its environment tells it, and appends what it does to
 * $REPORT_DIR/events.<CLUSTERD_PROGRAM> ("PID SLOT EVENT MS" lines, MS
 * from CLOCK_MONOTONIC; O_APPEND keeps lines of concurrent workers
 * whole).  It serves nothing.  SIGPIPE is ignored: a write to a channel
 * the master closed fails, and the worker goes on.
 *
 *	SEND_AT_START	text written to the channel at start, in one write;
 *			"\n" and "\xHH" escapes
 *	READY_LINE_BYTES  at start, a {"cmd":"ready",...} line padded to
 *			exactly this many bytes, its newline included
 *	BAD_LINES	at start, this many malformed lines
 *	CLOSE_IPC	close the channel after the start messages
 *	READY_AFTER_MS	send {"cmd":"ready"} after this long ...
 *	READY_IF_FILE	... if this file exists at start
 *	SEND_WHEN_FILE	once this file exists, write SEND_THEN to the
 *			channel ("\n" and "\xHH" escapes), once
 *	HEARTBEAT_MS	send a heartbeat this often ...
 *	HEARTBEAT_FOR_MS  ... for this long, then stop (default: forever)
 *	SUICIDE_AFTER_MS  send suicide after this long
 *	SUICIDE_MSG	the text sent for it ("\n" escapes; default the
 *			{"cmd":"suicide"} line of clusterd_suicide())
 *	SUICIDE_TWICE	send it twice
 *	EXIT_AFTER_SUICIDE_MS  exit 0 this long after suicide (default: 300)
 *	CRASH_AFTER_SUICIDE  exit 3 instead of 0
 *	ONLY_SLOT_PID	act on SUICIDE_AFTER_MS only in the first worker of
 *			slot 0 (no $REPORT_DIR/suicided.<PROGRAM> yet)
 *	FLOOD_MB	write this many MiB of lines, then go on ...
 *	FLOOD_AFTER_MS	... after this long (default 0) ...
 *	FLOOD_CHAR	... of this character (default '{', malformed JSON;
 *			a letter makes an ignored bare word) ...
 *	FLOOD_LINE_BYTES  ... in lines this long with the newline (2 to
 *			4096, default 4096)
 *	STATUS		send this status text at start
 *	RECV_HANDLE	first read the master's node_handle message (as
 *			Node.js would), write what came to
 *			$REPORT_DIR/handle.<PROGRAM> (msg=, fds=, and of the
 *			descriptor: listening=, nonblock=, cloexec=, port=),
 *			and answer {"cmd":"NODE_HANDLE_ACK"}
 *	SEND_FD_ONCE	the first worker of the program (no
 *			$REPORT_DIR/sentfd.<PROGRAM> yet) asks to be
 *			replaced with a descriptor attached to the line,
 *			closes the channel 300 ms later with the master's
 *			messages unread (its read then fails), and exits
 *			0 200 ms after that; the others go on as the rest
 *			of the environment says
 *
 * Events: start, ready, suicide, exit (by itself after suicide), stop
 * (got SIGTERM), flooding, flooded, sent (SEND_THEN).
 */

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <clusterd.h>

static void	event(const char *);
static long	env_ms(const char *, long);
static long	now_ms(void);
static void	send_unescaped(const char *);
static void	send_padded_ready(long);
static void	send_bad_lines(long);
static void	flood(long);
static int	first_suicide(void);
static int	first_to(const char *);
static void	send_fd_and_exit(void);
static void	recv_handle(void);

static volatile sig_atomic_t	stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

int
main(void)
{
	long	start = now_ms(), ready_at = env_ms("READY_AFTER_MS", -1);
	long	hb = env_ms("HEARTBEAT_MS", 0);
	long	hb_for = env_ms("HEARTBEAT_FOR_MS", -1);
	long	suicide_at = env_ms("SUICIDE_AFTER_MS", -1);
	long	exit_after = env_ms("EXIT_AFTER_SUICIDE_MS", 300);
	long	flood_at = env_ms("FLOOD_AFTER_MS", 0);
	long	next_hb = start, suicided_at = -1, t;
	int	sent_ready = 0, sent_then = 0;
	int	flooded = env_ms("FLOOD_MB", 0) <= 0;

	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	event("start");
	if (getenv("SEND_FD_ONCE") != NULL && first_to("sentfd"))
		send_fd_and_exit();
	if (getenv("RECV_HANDLE") != NULL)
		recv_handle();
	if (getenv("SEND_AT_START") != NULL)
		send_unescaped(getenv("SEND_AT_START"));
	if (env_ms("READY_LINE_BYTES", 0) > 0)
		send_padded_ready(env_ms("READY_LINE_BYTES", 0));
	if (env_ms("BAD_LINES", 0) > 0)
		send_bad_lines(env_ms("BAD_LINES", 0));
	if (getenv("STATUS") != NULL)
		clusterd_status(getenv("STATUS"));
	if (getenv("CLOSE_IPC") != NULL && clusterd_ipc_fd() != -1) {
		close(clusterd_ipc_fd());
		event("closed");
	}
	if (getenv("READY_IF_FILE") != NULL &&
	    access(getenv("READY_IF_FILE"), F_OK) == -1)
		ready_at = -1;
	if (suicide_at >= 0 && getenv("ONLY_SLOT_PID") != NULL &&
	    !first_suicide())
		suicide_at = -1;
	while (!stopping) {
		t = now_ms() - start;
		if (!flooded && t >= flood_at) {
			flood(env_ms("FLOOD_MB", 0));
			flooded = 1;
			continue;
		}
		if (!sent_ready && ready_at >= 0 && t >= ready_at) {
			clusterd_ready();
			event("ready");
			sent_ready = 1;
		}
		if (!sent_then && getenv("SEND_WHEN_FILE") != NULL &&
		    access(getenv("SEND_WHEN_FILE"), F_OK) == 0) {
			send_unescaped(getenv("SEND_THEN") != NULL ?
			    getenv("SEND_THEN") : "");
			event("sent");
			sent_then = 1;
		}
		if (hb > 0 && now_ms() >= next_hb &&
		    (hb_for < 0 || t < hb_for)) {
			clusterd_heartbeat();
			next_hb = now_ms() + hb;
		}
		if (suicide_at >= 0 && suicided_at < 0 && t >= suicide_at) {
			if (getenv("SUICIDE_MSG") != NULL)
				send_unescaped(getenv("SUICIDE_MSG"));
			else
				clusterd_suicide();
			if (getenv("SUICIDE_TWICE") != NULL)
				clusterd_send_line("suicide\n");
			event("suicide");
			suicided_at = t;
		}
		if (suicided_at >= 0 && t >= suicided_at + exit_after) {
			event("exit");
			return getenv("CRASH_AFTER_SUICIDE") ? 3 : 0;
		}
		poll(NULL, 0, 10);
	}
	event("stop");
	return 0;
}

/* Only the first worker of slot 0 to get here acts. */
static int
first_suicide(void)
{
	const char	*slot = getenv("CLUSTERD_WORKER");

	if (slot == NULL || strcmp(slot, "0") != 0)
		return 0;
	return first_to("suicided");
}

/* The first worker of the program to get here: $REPORT_DIR/WHAT.PROG. */
static int
first_to(const char *what)
{
	char		 path[4096];
	const char	*dir = getenv("REPORT_DIR");
	int		 fd;

	if (dir == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s.%s", dir, what,
	    getenv("CLUSTERD_PROGRAM") ? getenv("CLUSTERD_PROGRAM") : "-");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1)
		return 0;
	close(fd);
	return 1;
}

/*
 * A suicide line with our stdin attached, as a Node.js worker sending a
 * handle would.  The replacement starts at once; then the channel is
 * closed with what the master sent still unread, so the master's next
 * read of it fails with ECONNRESET.
 */
static void
send_fd_and_exit(void)
{
	char		 line[] = "{\"cmd\":\"suicide\"}\n";
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;
	int		 fd = 0;

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = line;
	iov.iov_len = sizeof(line) - 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(clusterd_ipc_fd(), &mh, 0) == -1)
		perror("ipcworker: sendmsg");
	event("sentfd");
	poll(NULL, 0, 300);
	close(clusterd_ipc_fd());
	event("closed");
	poll(NULL, 0, 200);
	_exit(0);
}

static void
event(const char *what)
{
	char		 path[4096], line[256];
	const char	*dir = getenv("REPORT_DIR"), *slot;
	int		 fd, n;

	if (dir == NULL)
		return;
	slot = getenv("CLUSTERD_WORKER");
	snprintf(path, sizeof(path), "%s/events.%s", dir,
	    getenv("CLUSTERD_PROGRAM") ? getenv("CLUSTERD_PROGRAM") : "-");
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) == -1)
		return;
	n = snprintf(line, sizeof(line), "%ld %s %s %ld\n", (long)getpid(),
	    slot ? slot : "-", what, now_ms());
	if (write(fd, line, (size_t)n) != n)
		perror("ipcworker: write events");
	close(fd);
}

static long
env_ms(const char *name, long dflt)
{
	const char	*v = getenv(name);
	char		*end;
	long		 n;

	if (v == NULL || *v == '\0')
		return dflt;
	n = strtol(v, &end, 10);
	return *end == '\0' ? n : dflt;
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
write_ipc(const char *buf, size_t n)
{
	int	fd = clusterd_ipc_fd();
	ssize_t	w;

	while (fd != -1 && n > 0) {
		w = write(fd, buf, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("ipcworker: write");
			return;
		}
		buf += w;
		n -= (size_t)w;
	}
}

/* Write s with "\n" and "\xHH" escapes decoded, as one write. */
static void
send_unescaped(const char *s)
{
	char	*buf;
	size_t	 n = 0;

	if ((buf = malloc(strlen(s) + 1)) == NULL)
		return;
	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			buf[n++] = '\n';
			s++;
		} else if (s[0] == '\\' && s[1] == 'x' && hexval(s[2]) >= 0 &&
		    hexval(s[3]) >= 0) {
			buf[n++] = (char)(hexval(s[2]) * 16 + hexval(s[3]));
			s += 3;
		} else
			buf[n++] = *s;
	}
	write_ipc(buf, n);
	free(buf);
}

/* {"cmd":"ready","pad":"xxx...."}\n, exactly len bytes. */
static void
send_padded_ready(long len)
{
	static const char	 head[] = "{\"cmd\":\"ready\",\"pad\":\"";
	static const char	 tail[] = "\"}\n";
	size_t			 h = sizeof(head) - 1, t = sizeof(tail) - 1;
	char			*buf;

	if (len < (long)(h + t) || (buf = malloc((size_t)len)) == NULL)
		return;
	memcpy(buf, head, h);
	memset(buf + h, 'x', (size_t)len - h - t);
	memcpy(buf + len - t, tail, t);
	write_ipc(buf, (size_t)len);
	free(buf);
}

static void
send_bad_lines(long n)
{
	while (n-- > 0)
		write_ipc("{\"cmd\":\n", 8);
}

/* MiB of junk lines, as fast as the channel takes them. */
static void
flood(long mb)
{
	char		 junk[4096];
	long		 left = mb * 1024 * 1024;
	int		 fd = clusterd_ipc_fd();
	ssize_t		 n;
	const char	*c = getenv("FLOOD_CHAR");
	long		 line = env_ms("FLOOD_LINE_BYTES", sizeof(junk)), i;

	if (line < 2 || line > (long)sizeof(junk))
		line = sizeof(junk);
	memset(junk, c != NULL && *c != '\0' ? *c : '{', sizeof(junk));
	for (i = line - 1; i < (long)sizeof(junk); i += line)
		junk[i] = '\n';
	event("flooding");
	while (fd != -1 && left > 0) {
		n = write(fd, junk, sizeof(junk) - sizeof(junk) % line);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		left -= n;
	}
	event("flooded");
}

/*
 * The first message on the channel, with the descriptors that came with
 * it: what a Node.js worker would turn into ('server', net.Server).
 */
static void
recv_handle(void)
{
	char			 line[4096], cbuf[CMSG_SPACE(sizeof(int) * 8)];
	char			 path[4096], out[8192];
	const char		*dir = getenv("REPORT_DIR");
	const char		*prog = getenv("CLUSTERD_PROGRAM");
	struct msghdr		 mh;
	struct iovec		 iov;
	struct cmsghdr		*c;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fds[8], nfds = 0, val = 0, fd = clusterd_ipc_fd();
	ssize_t			 n;
	size_t			 o = 0;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = line;
	iov.iov_len = sizeof(line) - 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (fd == -1 || (n = recvmsg(fd, &mh, 0)) <= 0)
		return;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			while (nfds < 8 && CMSG_LEN(sizeof(int) *
			    (size_t)(nfds + 1)) <= c->cmsg_len) {
				memcpy(&fds[nfds], CMSG_DATA(c) +
				    sizeof(int) * (size_t)nfds, sizeof(int));
				nfds++;
			}
	o += (size_t)snprintf(out + o, sizeof(out) - o, "msg=%s\nfds=%d\n",
	    line, nfds);
	if (nfds > 0) {
		len = sizeof(val);
		getsockopt(fds[0], SOL_SOCKET, SO_ACCEPTCONN, &val, &len);
		o += (size_t)snprintf(out + o, sizeof(out) - o,
		    "listening=%d\nnonblock=%d\ncloexec=%d\n", val != 0,
		    (fcntl(fds[0], F_GETFL) & O_NONBLOCK) != 0,
		    (fcntl(fds[0], F_GETFD) & FD_CLOEXEC) != 0);
		len = sizeof(sin);
		if (getsockname(fds[0], (struct sockaddr *)&sin, &len) == 0 &&
		    sin.sin_family == AF_INET)
			o += (size_t)snprintf(out + o, sizeof(out) - o,
			    "port=%d\n", ntohs(sin.sin_port));
	}
	clusterd_send_line("{\"cmd\":\"NODE_HANDLE_ACK\"}\n");
	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/handle.%s", dir, prog ? prog : "-");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return;
	if (write(fd, out, o) != (ssize_t)o)
		perror("ipcworker: write handle report");
	close(fd);
	event("handle");
}
