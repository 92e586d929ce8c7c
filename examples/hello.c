/*
 * SPDX-License-Identifier: ISC
 *
 * hello - the example worker for clusterd(8).
 *
 * A small HTTP/1.1 server that answers every request with "hello\n".  It
 * does not bind anything itself: it serves the listening socket that
 * clusterd passed to it, found by name with clusterd_listen_fd("web"),
 * or, when run by any other socket activator, fd 3 under LISTEN_FDS.
 *
 * One process, one poll(2) loop, non-blocking sockets, keep-alive,
 * at most MAXCONN connections (more wait in the kernel's accept queue,
 * where another worker may take them), CONN_REQUESTS requests on one
 * connection.  A request header must arrive whole within IO_TIMEOUT, so
 * a slow client cannot hold a slot for ever.
 *
 * clusterd passes the listening socket in blocking mode, and it is shared
 * with the master and every other worker: making it non-blocking makes it
 * so for all of them (O_NONBLOCK belongs to the open file, not to the
 * descriptor).  A poll loop needs it all the same: when one connection
 * wakes every worker, the losers must get EAGAIN from accept(2), not
 * block in it.  Node.js does the same.
 *
 * SIGTERM or SIGINT: stop accepting, close idle connections, answer the
 * requests already begun (with "Connection: close"), exit 0.
 */

#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <clusterd.h>		/* the worker helper, include/clusterd.h */

#define MAXCONN		1024		/* concurrent connections */
#define REQ_MAX		8192		/* request header, bytes */
#define DRAIN_GRACE	500		/* ms for a next request at a stop */
#define BODY_MAX	(1024 * 1024)	/* request body we read and discard */
#define IO_TIMEOUT	10000		/* ms for a header or a response */
#define IDLE_TIMEOUT	5000		/* ms between keep-alive requests */
#define CONN_REQUESTS	1000		/* then close, to share the slots */
#define ACCEPT_BATCH	64		/* accepts per loop turn */
#define EMFILE_PAUSE	100		/* ms without accept when out of fds */

enum conn_state {
	CONN_FREE,
	CONN_READ,			/* waiting for a request header */
	CONN_WRITE			/* sending a response */
};

struct conn {
	enum conn_state	 c_state;
	int		 c_fd;
	int		 c_keepalive;	/* after this response */
	int		 c_requests;	/* answered so far */
	int64_t		 c_deadline;	/* monotonic ms */
	size_t		 c_len;		/* bytes in c_in */
	size_t		 c_skip;	/* body bytes still to discard */
	size_t		 c_outlen, c_outoff;
	char		 c_in[REQ_MAX];
	char		 c_out[256];
};

struct request {
	int		 rq_status;	/* 0: fine, else an error status */
	int		 rq_head;
	int		 rq_keepalive;
	size_t		 rq_body;
};

static struct conn		 conns[MAXCONN];
static int			 nconns;
static int			 maxconns = MAXCONN;
static volatile sig_atomic_t	 stopping;

static void	 on_signal(int);
static int64_t	 now_ms(void);
static int	 find_socket(void);
static int	 has_token(const char *, const char *);
static int	 parse_header_line(char *, struct request *);
static void	 parse_request(char *, struct request *);
static void	 respond(struct conn *, const struct request *);
static void	 conn_close(struct conn *);
static void	 conn_process(struct conn *);
static int	 conn_write(struct conn *);
static void	 conn_run(struct conn *);
static void	 conn_read(struct conn *);
static void	 accept_some(int, int64_t *);
static void	 drain(void);
static int	 serve(int);

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The socket named "web": clusterd says where it is in CLUSTERD_FD_WEB.
 * Under another socket activator (systemd, systemd-socket-activate) use
 * the descriptor named "web" in LISTEN_FDNAMES, or fd 3 if there is just
 * one.  Either way it must be a listening socket.
 */
static int
find_socket(void)
{
	const char	*s, *names;
	char		*end;
	long		 n;
	int		 fd, i, acc;
	socklen_t	 len = sizeof(acc);

	if ((fd = clusterd_listen_fd("web")) == -1) {
		if ((s = getenv("LISTEN_PID")) != NULL &&
		    strtol(s, &end, 10) != (long)getpid())
			return -1;
		if ((s = getenv("LISTEN_FDS")) == NULL ||
		    (n = strtol(s, &end, 10)) < 1 || n > 64 || *end != '\0')
			return -1;
		if (n == 1)
			fd = 3;
		if ((names = getenv("LISTEN_FDNAMES")) != NULL)
			for (i = 0; i < n && *names != '\0'; i++) {
				if (strncmp(names, "web", 3) == 0 &&
				    (names[3] == ':' || names[3] == '\0'))
					fd = 3 + i;
				names += strcspn(names, ":");
				names += *names == ':';
			}
		if (fd == -1)
			return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == -1 ||
	    !acc)
		return -1;
	return fd;
}

/* Whether a comma-separated header value holds a token, any case. */
static int
has_token(const char *value, const char *token)
{
	size_t	 tlen = strlen(token), n;

	while (*value != '\0') {
		value += strspn(value, " \t,");
		n = strcspn(value, ",");
		while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(value, token, n) == 0)
			return 1;
		value += strcspn(value, ",");
	}
	return 0;
}

/* One "Name: value" line; returns -1 for a malformed one. */
static int
parse_header_line(char *line, struct request *rq)
{
	char		*value, *end;
	unsigned long	 n;

	if (*line == ' ' || *line == '\t')	/* obsolete folding */
		return -1;
	if ((value = strchr(line, ':')) == NULL || value == line)
		return -1;
	*value++ = '\0';
	if (line[strcspn(line, " \t")] != '\0')
		return -1;
	value += strspn(value, " \t");
	if (strcasecmp(line, "Connection") == 0) {
		if (has_token(value, "close"))
			rq->rq_keepalive = 0;
		else if (has_token(value, "keep-alive"))
			rq->rq_keepalive = 1;
	} else if (strcasecmp(line, "Content-Length") == 0) {
		errno = 0;
		if (*value < '0' || *value > '9')
			return -1;
		n = strtoul(value, &end, 10);
		end += strspn(end, " \t");
		if (errno != 0 || *end != '\0' ||
		    (rq->rq_body != 0 && rq->rq_body != n))
			return -1;
		if (n > BODY_MAX)
			rq->rq_status = 413;
		rq->rq_body = n;
	} else if (strcasecmp(line, "Transfer-Encoding") == 0)
		rq->rq_status = 501;	/* no chunked bodies here */
	return 0;
}

/*
 * A complete request header, NUL-terminated, bare or CRLF line ends.
 * Only the request line and three headers matter to us.
 */
static void
parse_request(char *hdr, struct request *rq)
{
	char	*line, *next, *sp1, *sp2;
	int	 status = 0;

	memset(rq, 0, sizeof(*rq));
	line = hdr;
	for (; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (line == hdr) {
			if ((sp1 = strchr(line, ' ')) == NULL ||
			    (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
			    sp1 == line || sp2 == sp1 + 1) {
				rq->rq_status = 400;
				return;
			}
			*sp1 = '\0';
			rq->rq_head = strcmp(line, "HEAD") == 0;
			if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
				rq->rq_keepalive = 1;
			else if (strcmp(sp2 + 1, "HTTP/1.0") != 0)
				status = 505;
		} else if (*line == '\0')
			break;
		else if (parse_header_line(line, rq) == -1) {
			rq->rq_status = 400;
			return;
		}
	}
	if (status != 0)
		rq->rq_status = status;
}

static void
respond(struct conn *c, const struct request *rq)
{
	const char	*reason, *body;
	int		 n;

	switch (rq->rq_status) {
	case 0:
		reason = "OK";
		body = "hello\n";
		break;
	case 413:
		reason = "Content Too Large";
		body = "request body too large\n";
		break;
	case 431:
		reason = "Request Header Fields Too Large";
		body = "request header too large\n";
		break;
	case 501:
		reason = "Not Implemented";
		body = "transfer codings are not supported\n";
		break;
	case 505:
		reason = "HTTP Version Not Supported";
		body = "HTTP/1.0 or HTTP/1.1 only\n";
		break;
	default:
		reason = "Bad Request";
		body = "bad request\n";
		break;
	}
	c->c_keepalive = rq->rq_status == 0 && rq->rq_keepalive &&
	    !stopping && ++c->c_requests < CONN_REQUESTS;
	n = snprintf(c->c_out, sizeof(c->c_out),
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: %s\r\n"
	    "\r\n"
	    "%s",
	    rq->rq_status == 0 ? 200 : rq->rq_status, reason, strlen(body),
	    c->c_keepalive ? "keep-alive" : "close", rq->rq_head ? "" : body);
	c->c_outlen = (size_t)n < sizeof(c->c_out) ?
	    (size_t)n : sizeof(c->c_out) - 1;
	c->c_outoff = 0;
	c->c_state = CONN_WRITE;
	c->c_deadline = now_ms() + IO_TIMEOUT;
}

static void
conn_close(struct conn *c)
{
	if (c->c_state == CONN_FREE)
		return;
	close(c->c_fd);
	c->c_fd = -1;
	c->c_state = CONN_FREE;
	nconns--;
}

/*
 * Discard what is left of the previous request's body, then answer the
 * next complete request in the buffer, if there is one (pipelining).
 */
static void
conn_process(struct conn *c)
{
	struct request	 rq;
	char		*end;
	size_t		 n, hlen;

	n = c->c_skip < c->c_len ? c->c_skip : c->c_len;
	memmove(c->c_in, c->c_in + n, c->c_len - n);
	c->c_len -= n;
	c->c_skip -= n;
	if (c->c_skip > 0 || c->c_len == 0)
		return;
	c->c_in[c->c_len] = '\0';
	if ((end = strstr(c->c_in, "\r\n\r\n")) != NULL)
		hlen = (size_t)(end - c->c_in) + 4;
	else if ((end = strstr(c->c_in, "\n\n")) != NULL)
		hlen = (size_t)(end - c->c_in) + 2;
	else if (strlen(c->c_in) != c->c_len) {	/* a NUL byte */
		memset(&rq, 0, sizeof(rq));
		rq.rq_status = 400;
		respond(c, &rq);
		return;
	} else {
		if (c->c_len == sizeof(c->c_in) - 1) {
			memset(&rq, 0, sizeof(rq));
			rq.rq_status = 431;
			respond(c, &rq);
		}
		return;
	}
	end[0] = '\0';
	parse_request(c->c_in, &rq);
	memmove(c->c_in, c->c_in + hlen, c->c_len - hlen);
	c->c_len -= hlen;
	c->c_skip = rq.rq_body;
	respond(c, &rq);
}

/* Send the response; 1 when it is all sent and c waits for a request. */
static int
conn_write(struct conn *c)
{
	ssize_t	 n;

	while (c->c_outoff < c->c_outlen) {
		n = send(c->c_fd, c->c_out + c->c_outoff,
		    c->c_outlen - c->c_outoff, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == -1) {
			conn_close(c);
			return 0;
		}
		c->c_outoff += (size_t)n;
	}
	if (!c->c_keepalive) {
		shutdown(c->c_fd, SHUT_WR);
		conn_close(c);
		return 0;
	}
	c->c_state = CONN_READ;
	c->c_deadline = now_ms() + IDLE_TIMEOUT;
	return 1;
}

/* Answer every complete request buffered, until a send would block. */
static void
conn_run(struct conn *c)
{
	for (;;) {
		if (c->c_state == CONN_READ) {
			conn_process(c);
			if (c->c_state != CONN_WRITE)
				return;
		}
		if (!conn_write(c))
			return;
	}
}

static void
conn_read(struct conn *c)
{
	ssize_t	 n;

	while (c->c_state == CONN_READ) {
		n = read(c->c_fd, c->c_in + c->c_len,
		    sizeof(c->c_in) - 1 - c->c_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->c_len += (size_t)n;
		conn_run(c);
	}
}

static void
accept_some(int lfd, int64_t *paused_until)
{
	struct conn	*c;
	int		 fd, i, slot = 0;

	for (i = 0; i < ACCEPT_BATCH && nconns < maxconns; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				perror("hello: accept");
				*paused_until = now_ms() + EMFILE_PAUSE;
			}
			return;		/* EAGAIN, or a client gone */
		}
		while (conns[slot].c_state != CONN_FREE)
			slot++;
		c = &conns[slot];
		memset(c, 0, offsetof(struct conn, c_in));
		c->c_fd = fd;
		c->c_state = CONN_READ;
		c->c_deadline = now_ms() + IO_TIMEOUT;
		nconns++;
	}
}

/*
 * Shutting down: a connection with no request yet (just accepted, or
 * idle between keep-alive requests) gets a short grace period, since its
 * next request may already be on the way; every answer from now on says
 * Connection: close.
 */
static void
drain(void)
{
	int64_t	 grace = now_ms() + DRAIN_GRACE;
	int	 i;

	for (i = 0; i < MAXCONN; i++)
		if (conns[i].c_state == CONN_READ && conns[i].c_len == 0 &&
		    conns[i].c_deadline > grace)
			conns[i].c_deadline = grace;
}

static int
serve(int lfd)
{
	static struct pollfd	 pfd[MAXCONN + 1];
	static struct conn	*pconn[MAXCONN + 1];
	struct timespec		 ts;
	sigset_t		 empty;
	int64_t			 now, next, paused_until = 0;
	int			 i, n, timeout;

	sigemptyset(&empty);
	while (!stopping || nconns > 0) {
		if (stopping && lfd != -1) {
			/* what the kernel queued for us is ours to answer */
			accept_some(lfd, &paused_until);
			close(lfd);	/* the master and others keep it */
			lfd = -1;
			drain();
			continue;
		}
		now = now_ms();
		next = INT64_MAX;
		n = 0;
		if (lfd != -1 && nconns < maxconns && now >= paused_until) {
			pfd[n].fd = lfd;
			pfd[n].events = POLLIN;
			pconn[n++] = NULL;
		} else if (lfd != -1 && now < paused_until)
			next = paused_until;
		for (i = 0; i < MAXCONN; i++) {
			struct conn *c = &conns[i];

			if (c->c_state == CONN_FREE)
				continue;
			if (now >= c->c_deadline) {
				conn_close(c);
				continue;
			}
			if (c->c_deadline < next)
				next = c->c_deadline;
			pfd[n].fd = c->c_fd;
			pfd[n].events = c->c_state == CONN_READ ?
			    POLLIN : POLLOUT;
			pconn[n++] = c;
		}
		timeout = next == INT64_MAX ? -1 : (int)(next - now);
		ts.tv_sec = timeout / 1000;
		ts.tv_nsec = (long)(timeout % 1000) * 1000000;
		if (ppoll(pfd, (nfds_t)n, timeout == -1 ? NULL : &ts,
		    &empty) == -1) {
			if (errno == EINTR)
				continue;
			perror("hello: poll");
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pconn[i] == NULL)
				accept_some(lfd, &paused_until);
			else if (pconn[i]->c_state == CONN_READ)
				conn_read(pconn[i]);
			else if (pconn[i]->c_state == CONN_WRITE)
				conn_run(pconn[i]);
		}
	}
	return 0;
}

int
main(void)
{
	struct sigaction	 sa;
	struct rlimit		 rl;
	sigset_t		 set;
	int			 lfd, i;
	const char		*slot;

	if ((lfd = find_socket()) == -1) {
		fprintf(stderr, "hello: no listening socket: run me under "
		    "clusterd with sockets = web, or with LISTEN_FDS=1\n");
		return 1;
	}
	if (fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) == -1) {
		perror("hello: fcntl");
		return 1;
	}
	/* Leave room under RLIMIT_NOFILE for stdio and the listener. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < MAXCONN + 16)
		maxconns = rl.rlim_cur > 32 ? (int)rl.rlim_cur - 16 : 16;
	for (i = 0; i < MAXCONN; i++)
		conns[i].c_fd = -1;

	/* The signals are blocked except inside ppoll(): no race. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	slot = getenv("CLUSTERD_WORKER");
	fprintf(stderr, "hello: worker %s (pid %ld) serving fd %d\n",
	    slot != NULL ? slot : "-", (long)getpid(), lfd);
	if (serve(lfd) != 0)
		return 1;
	fprintf(stderr, "hello: worker %s (pid %ld) done\n",
	    slot != NULL ? slot : "-", (long)getpid());
	return 0;
}
