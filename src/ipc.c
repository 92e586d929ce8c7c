/*
 * SPDX-License-Identifier: ISC
 *
 * The IPC channel between the master and one worker: a Unix stream
 * socketpair speaking newline-delimited JSON (Node.js's framing for
 * process.send) or bare words.  Whatever a worker writes on it stays that
 * worker's problem: lines are bounded, bad ones are dropped, a channel
 * that keeps sending garbage is closed, and the master never blocks on it.
 *
 * With ipc = node-cluster, clusterd is the worker's Node.js cluster
 * primary: every line goes to nodecl.c first, which answers Node's own
 * messages (queryServer gets the program's socket); what is not Node's
 * is read as an app message.  What nodecl queues is written as the
 * channel takes it.  A Node worker exits as soon as its channel closes,
 * so a node or node-cluster channel is never closed for bad input: what
 * cannot be read is dropped.
 */

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "daemon.h"
#include "log.h"
#include "nodecl.h"

#define IPC_LINE_MAX	65536	/* a message and its newline */
#define IPC_BAD_LOGGED	5	/* bad messages logged per channel */
#define IPC_BAD_MAX	100	/* then the channel is closed */

static void	ipc_readable(struct ev_loop *, ev_io *, int);
static int	ipc_receive(struct worker *);
static void	ipc_lines(struct worker *);
static void	ipc_line(struct worker *, char *, size_t);
static void	ipc_report(struct worker *, enum ipc_kind, const char *);
static void	ipc_bad(struct worker *, const char *);
static void	ipc_close_fds(struct msghdr *);
static int	ipc_send_handle(struct worker *, const char *, int);
static int	bare_word(const char *, size_t);
static int	node_channel(const struct worker *);
static int	node_sockets(struct worker *, const struct spawn_req *);
static void	node_sockets_free(struct worker *);
static void	node_line(struct worker *, char *, size_t);
static void	node_event(struct worker *, const struct nodecl_result *);
static void	ipc_writable(struct ev_loop *, ev_io *, int);
static void	ipc_flush(struct worker *);
static int	einhorn_line(struct worker *, const char *, size_t);
static void	app_line(struct worker *, const char *, size_t);

static const struct {
	const char	*word;
	enum ipc_kind	 kind;
} words[] = {
	{ "suicide",		IPC_SUICIDE },
	{ "ready",		IPC_READY },
	{ "heartbeat",		IPC_HEARTBEAT },
	{ "status",		IPC_STATUS },
	{ "NODE_HANDLE_ACK",	IPC_NODE_ACK },
};

/*
 * What one line says.  Pure: the status text of IPC_STATUS goes to
 * status; a malformed line gives IPC_MALFORMED and the reason in err.
 */
enum ipc_kind
ipc_classify(const char *line, size_t len, char *status, size_t statuslen,
    char *err, size_t errlen)
{
	struct json_msg	 m;
	const char	*word;
	size_t		 i;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
	    line[len - 1] == '\t'))
		len--;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (len == 0)
		return IPC_IGNORED;
	if (bare_word(line, len)) {
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].word) == len &&
			    memcmp(words[i].word, line, len) == 0 &&
			    words[i].kind != IPC_STATUS)
				return words[i].kind;
		return IPC_IGNORED;
	}
	if (json_parse_msg(line, len, &m, err, errlen) == -1)
		return IPC_MALFORMED;
	if (m.jm_type == JSON_STRING)
		word = m.jm_string;
	else if (m.jm_type == JSON_OBJECT && m.jm_cmd[0] != '\0')
		word = m.jm_cmd;
	else if (m.jm_type == JSON_OBJECT && strcmp(m.jm_act, "suicide") == 0)
		word = m.jm_act;
	else
		return IPC_IGNORED;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(words[i].word, word) != 0)
			continue;
		if (words[i].kind != IPC_STATUS)
			return words[i].kind;
		if (m.jm_type != JSON_OBJECT || !m.jm_has_status)
			return IPC_IGNORED;
		snprintf(status, statuslen, "%s", m.jm_status);
		return IPC_STATUS;
	}
	return IPC_IGNORED;
}

/*
 * Make the socketpair for a worker about to be forked: the master keeps
 * one end (non-blocking), the child's end goes to *child_fd.
 */
int
ipc_open(struct worker *w, const struct spawn_req *req, int *child_fd)
{
	int	sv[2];

	if (w->w_conf->pc_ipc == IPC_NODE_CLUSTER &&
	    node_sockets(w, req) == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s[%d]: socketpair", w->w_conf->pc_name,
		    w->w_index);
		return -1;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1) {
		log_warn("%s[%d]: fcntl O_NONBLOCK",
		    w->w_conf->pc_name, w->w_index);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	ev_io_init(&w->w_ipc_io, ipc_readable, sv[0], EV_READ);
	w->w_ipc_io.data = w;
	ev_io_init(&w->w_ipc_wio, ipc_writable, sv[0], EV_WRITE);
	w->w_ipc_wio.data = w;
	w->w_ipc_bad = 0;
	*child_fd = sv[1];
	return 0;
}

/*
 * node-cluster: what the worker's listen() may get, one entry per socket
 * of its program: the address it answers to, its descriptor in the
 * worker, and the one clusterd sends (the slot's own with reuseport).
 */
static int
node_sockets(struct worker *w, const struct spawn_req *req)
{
	const struct prog_conf	*pc = req->sr_conf;
	struct nodecl_sock	*ns;
	struct sock_desc	*sk;
	size_t			 i, n = pc->pc_nsockets;

	ns = calloc(n + 1, sizeof(*ns));
	sk = calloc(n + 1, sizeof(*sk));
	w->w_nlisteners = calloc(n + 1, sizeof(*w->w_nlisteners));
	w->w_nodecl = calloc(1, sizeof(*w->w_nodecl));
	if (ns == NULL || sk == NULL || w->w_nlisteners == NULL ||
	    w->w_nodecl == NULL) {
		log_warn("%s[%d]: node-cluster channel", pc->pc_name,
		    req->sr_slot);
		free(ns);
		free(sk);
		free(w->w_nlisteners);
		free(w->w_nodecl);
		w->w_nlisteners = NULL;
		w->w_nodecl = NULL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		sock_hold(req->sr_socks[i]);
		w->w_nlisteners[i] = req->sr_socks[i];
		ns[i].ns_name = req->sr_socks[i]->l_name;
		ns[i].ns_child_fd = 3 + (int)i;
		ns[i].ns_fd = req->sr_fds != NULL ? req->sr_fds[i] : -1;
		if (sock_describe(req->sr_socks[i], ns[i].ns_fd,
		    &sk[i]) == -1)
			continue;
		ns[i].ns_kind = sk[i].sk_unix ? NODECL_UNIX : NODECL_TCP;
		ns[i].ns_host = sk[i].sk_any ? NULL : sk[i].sk_host;
		ns[i].ns_port = sk[i].sk_port;
		ns[i].ns_path = sk[i].sk_path;
	}
	nodecl_init(w->w_nodecl);
	w->w_nsocks = ns;
	w->w_nsockdesc = sk;
	w->w_nnsocks = n;
	return 0;
}

/*
 * The worker is forked: close the child's end here, start reading, and
 * hand over the node_handle socket if there is one.
 */
void
ipc_started(struct worker *w, int child_fd, int node_fd)
{
	const struct prog_conf	*pc = w->w_conf;

	close(child_fd);
	ev_io_start(EV_DEFAULT, &w->w_ipc_io);
	if (pc->pc_node_msg != NULL && node_fd != -1 &&
	    ipc_send_handle(w, pc->pc_node_msg, node_fd) == -1)
		ipc_close(w);
}

/*
 * An upgrade: the channel of a worker the old image had, at fd, with
 * the partial line it had read (len bytes at buf) and its count of bad
 * messages.
 */
int
ipc_adopt(struct worker *w, const struct spawn_req *req, int fd,
    const char *buf, size_t len, int bad)
{
	if (w->w_conf->pc_ipc == IPC_NODE_CLUSTER &&
	    node_sockets(w, req) == -1)
		return -1;
	if (len > 0) {
		if (len > IPC_LINE_MAX || (w->w_ipc_buf =
		    malloc(IPC_LINE_MAX)) == NULL)
			return -1;
		memcpy(w->w_ipc_buf, buf, len);
		w->w_ipc_len = len;
	}
	w->w_ipc_bad = bad;
	ev_io_init(&w->w_ipc_io, ipc_readable, fd, EV_READ);
	w->w_ipc_io.data = w;
	ev_io_init(&w->w_ipc_wio, ipc_writable, fd, EV_WRITE);
	w->w_ipc_wio.data = w;
	ev_io_start(EV_DEFAULT, &w->w_ipc_io);
	return 0;
}

/*
 * An upgrade: the node-cluster channel as the old image left it (its
 * nodecl_save() text): sequence numbers, keys, what is queued.  What is
 * queued goes out now.  -1 (logged) if it cannot be read: the channel
 * then starts afresh, which a worker that asks for nothing more won't
 * notice.
 */
int
ipc_adopt_nodecl(struct worker *w, const char *text, size_t len)
{
	char	err[ERRBUF_LEN];

	if (w->w_nodecl == NULL)
		return -1;
	nodecl_free(w->w_nodecl);
	if (nodecl_restore(w->w_nodecl, text, len, err, sizeof(err)) == -1) {
		log_warnx("%s[%d] (pid %ld): upgrade: its cluster channel: %s",
		    w->w_conf->pc_name, w->w_index, (long)w->w_pid, err);
		return -1;
	}
	ipc_flush(w);
	return 0;
}

void
ipc_close(struct worker *w)
{
	if (w->w_nodecl != NULL) {
		nodecl_free(w->w_nodecl);
		free(w->w_nodecl);
		w->w_nodecl = NULL;
	}
	node_sockets_free(w);
	if (!ev_is_active(&w->w_ipc_io))
		return;
	ev_io_stop(EV_DEFAULT, &w->w_ipc_io);
	ev_io_stop(EV_DEFAULT, &w->w_ipc_wio);
	close(w->w_ipc_io.fd);
	free(w->w_ipc_buf);
	w->w_ipc_buf = NULL;
	w->w_ipc_len = 0;
}

/* The fork failed: the master's end of a channel never started. */
void
ipc_close_unstarted(struct worker *w)
{
	close(w->w_ipc_io.fd);
	if (w->w_nodecl != NULL) {
		nodecl_free(w->w_nodecl);
		free(w->w_nodecl);
		w->w_nodecl = NULL;
	}
	node_sockets_free(w);
}

/* What node_sockets() made, the listeners let go. */
static void
node_sockets_free(struct worker *w)
{
	size_t	i;

	for (i = 0; w->w_nlisteners != NULL && i < w->w_nnsocks; i++)
		sock_release(w->w_nlisteners[i]);
	free(w->w_nlisteners);
	free(w->w_nsocks);
	free(w->w_nsockdesc);
	w->w_nlisteners = NULL;
	w->w_nsocks = NULL;
	w->w_nsockdesc = NULL;
	w->w_nnsocks = 0;
}

/*
 * stop_signal = disconnect: Node's graceful stop, the primary's
 * disconnect message.  -1 if the worker has no cluster channel to hear
 * it (the caller sends a signal instead).
 */
int
ipc_disconnect(struct worker *w)
{
	if (w->w_nodecl == NULL || !ev_is_active(&w->w_ipc_io))
		return -1;
	if (nodecl_leaving(w->w_nodecl))
		return 0;	/* it is on its way out already */
	if (nodecl_disconnect(w->w_nodecl) == -1)
		return -1;
	ipc_flush(w);
	return 0;
}

/*
 * Write what nodecl has queued, as far as the channel takes it; the
 * descriptor of a handle goes with the line's first byte, made
 * non-blocking first (Node leaves a received socket as it is, and a
 * blocking one would park its event loop in accept()).
 */
static void
ipc_flush(struct worker *w)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct msghdr	 mh;
	struct iovec	 iov;
	const char	*text;
	size_t		 len;
	ssize_t		 n;
	int		 fd, flags;

	while (w->w_nodecl != NULL && ev_is_active(&w->w_ipc_io) &&
	    nodecl_output(w->w_nodecl, &text, &len, &fd) == 1) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = (void *)text;
		iov.iov_len = len;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (fd != -1) {
			if ((flags = fcntl(fd, F_GETFL)) != -1 &&
			    !(flags & O_NONBLOCK))
				(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof(cm.buf);
			CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
			CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
			CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof(int));
		}
		n = sendmsg(w->w_ipc_io.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			ev_io_start(EV_DEFAULT, &w->w_ipc_wio);
			return;
		}
		if (n == -1) {
			log_debug("%s[%d] (pid %ld): IPC write: %s",
			    w->w_conf->pc_name, w->w_index, (long)w->w_pid,
			    strerror(errno));
			break;
		}
		nodecl_wrote(w->w_nodecl, (size_t)n);
	}
	ev_io_stop(EV_DEFAULT, &w->w_ipc_wio);
}

static void
ipc_writable(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	ipc_flush(io->data);
}

/*
 * {"cmd":"NODE_HANDLE","type":"net.Server","msg":MESSAGE} with the socket
 * in the same sendmsg: what child_process's send(message, server) writes.
 * The channel is new and empty, so the write cannot block.
 */
static int
ipc_send_handle(struct worker *w, const char *msg, int fd)
{
	char		 quoted[1024], line[1200];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;
	ssize_t		 n;
	int		 flags;

	/*
	 * A Node master's sockets are non-blocking, and Node leaves a
	 * received handle as it is: a blocking one would park the worker's
	 * event loop in accept() whenever another worker wins the race.
	 */
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) ==
	    -1))
		log_warn("%s: cannot make socket %s non-blocking",
		    w->w_conf->pc_name, w->w_conf->pc_node_socket);
	json_quote(msg, quoted, sizeof(quoted));
	iov.iov_base = line;
	iov.iov_len = (size_t)snprintf(line, sizeof(line),
	    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Server\",\"msg\":%s}\n",
	    quoted);
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(w->w_ipc_io.fd, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)iov.iov_len) {
		log_warn("%s[%d] (pid %ld): cannot send its server handle",
		    w->w_conf->pc_name, w->w_index,
		    (long)w->w_pid);
		return -1;
	}
	return 0;
}

static void
ipc_readable(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker	*w = io->data;

	(void)loop;
	(void)revents;
	if (ipc_receive(w) == -1)
		ipc_close(w);
	else
		ipc_lines(w);
}

/*
 * One read per wake-up, at most what the line buffer has room for: a
 * flooding worker gets its turn like every other event, no more.
 * Descriptors a worker passes (Node can send handles) are closed at once,
 * including those of a message whose control data was cut (MSG_CTRUNC:
 * the kernel closes the ones that did not fit).
 */
static int
ipc_receive(struct worker *w)
{
	const char	*name = w->w_conf->pc_name;
	char		 cbuf[CMSG_SPACE(sizeof(int) * 16)];
	struct msghdr	 mh;
	struct iovec	 iov;
	ssize_t		 n;

	if (w->w_ipc_buf == NULL &&
	    (w->w_ipc_buf = malloc(IPC_LINE_MAX)) == NULL) {
		log_warn("%s[%d]: IPC buffer", name, w->w_index);
		return -1;
	}
	iov.iov_base = w->w_ipc_buf + w->w_ipc_len;
	iov.iov_len = IPC_LINE_MAX - w->w_ipc_len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	n = recvmsg(w->w_ipc_io.fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* a failed read fills in nothing: cbuf is whatever the stack held */
	if (n >= 0)
		ipc_close_fds(&mh);
	if (n >= 0 && (mh.msg_flags & MSG_CTRUNC))
		log_warnx("%s[%d] (pid %ld): more descriptors than fit came "
		    "with a message on its IPC channel; all were closed",
		    name, w->w_index, (long)w->w_pid);
	if (n == -1 && errno != ECONNRESET) {
		log_warn("%s[%d] (pid %ld): IPC read", name,
		    w->w_index, (long)w->w_pid);
		return -1;
	}
	if (n <= 0) {
		log_debug("%s[%d] (pid %ld) closed its IPC channel", name,
		    w->w_index, (long)w->w_pid);
		if (w->w_nodecl == NULL || !nodecl_leaving(w->w_nodecl))
			w->w_ipc_lost = 1;
		return -1;
	}
	w->w_ipc_len += (size_t)n;
	return 0;
}

static void
ipc_close_fds(struct msghdr *mh)
{
	struct cmsghdr	*c;
	int		 fd;
	size_t		 i, n;

	if (mh->msg_controllen == 0)
		return;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
}

/* Act on every complete line; keep a partial one for the next read. */
static void
ipc_lines(struct worker *w)
{
	char	*start, *nl;
	size_t	 left;

	if (w->w_ipc_buf == NULL)
		return;
	start = w->w_ipc_buf;
	left = w->w_ipc_len;
	while (left > 0 && (nl = memchr(start, '\n', left)) != NULL) {
		if (w->w_ipc_skip)
			w->w_ipc_skip = 0;	/* the end of the long one */
		else
			ipc_line(w, start, (size_t)(nl - start));
		if (w->w_ipc_buf == NULL)
			return;		/* the line closed the channel */
		left -= (size_t)(nl - start) + 1;
		start = nl + 1;
	}
	if (left == IPC_LINE_MAX) {
		if (!w->w_ipc_skip)
			ipc_bad(w, "a message longer than 64 KiB");
		if (!node_channel(w)) {
			ipc_close(w);
			return;
		}
		w->w_ipc_skip = 1;	/* dropped up to its newline */
		left = 0;
	}
	memmove(w->w_ipc_buf, start, left);
	w->w_ipc_len = left;
}

static void
ipc_line(struct worker *w, char *line, size_t len)
{
	if (w->w_nodecl != NULL)
		node_line(w, line, len);
	else
		app_line(w, line, len);
}

/* A message of the program's own (not Node's cluster protocol). */
static void
app_line(struct worker *w, const char *line, size_t len)
{
	char		status[sizeof(w->w_text)], err[128];
	enum ipc_kind	kind;

	if ((w->w_conf->pc_compat & COMPAT_EINHORN) &&
	    einhorn_line(w, line, len))
		return;
	kind = ipc_classify(line, len, status, sizeof(status), err,
	    sizeof(err));
	switch (kind) {
	case IPC_MALFORMED:
		ipc_bad(w, err);
		if (w->w_ipc_bad >= IPC_BAD_MAX && !node_channel(w))
			ipc_close(w);
		return;
	case IPC_IGNORED:
		log_debug("%s[%d] (pid %ld): ignored message: %.*s",
		    w->w_conf->pc_name, w->w_index,
		    (long)w->w_pid, len > 200 ? 200 : (int)len, line);
		return;
	case IPC_NODE_ACK:
		return;
	default:
		ipc_report(w, kind, status);
	}
}

/*
 * node-cluster: Node's own messages are nodecl's; the rest is the app's,
 * read as on any channel.  Whatever nodecl queued goes out.
 */
static void
node_line(struct worker *w, char *line, size_t len)
{
	struct nodecl_result	 r;
	struct listener		*l;
	size_t			 i;

	/*
	 * As Node's own primary does, every worker of a socket gets the
	 * data its first worker's listen() sent: one set of TLS ticket
	 * keys, so a session resumes on whichever worker it lands.
	 */
	for (i = 0; i < w->w_nnsocks; i++)
		w->w_nsocks[i].ns_data = w->w_nlisteners[i]->l_node_data;
	if (nodecl_input(w->w_nodecl, line, len, w->w_nsocks, w->w_nnsocks,
	    &r) == NODECL_APP)
		app_line(w, r.nr_app, r.nr_applen);
	else
		node_event(w, &r);
	if (r.nr_event == NODECL_SERVED && r.nr_socket >= 0 &&
	    (size_t)r.nr_socket < w->w_nnsocks && r.nr_data != NULL &&
	    (l = w->w_nlisteners[r.nr_socket])->l_node_data == NULL &&
	    !(r.nr_datalen == 4 && memcmp(r.nr_data, "null", 4) == 0))
		l->l_node_data = strndup(r.nr_data, r.nr_datalen);
	ipc_flush(w);
}

static void
node_event(struct worker *w, const struct nodecl_result *r)
{
	const char	*name = w->w_conf->pc_name;
	long		 pid = (long)w->w_pid;

	switch (r->nr_event) {
	case NODECL_SERVED:
		log_info("%s[%d] (pid %ld): %s", name, w->w_index, pid,
		    r->nr_text);
		break;
	case NODECL_REFUSED:
	case NODECL_DROPPED:
	case NODECL_HANDLE_LOST:
	case NODECL_MALFORMED:
		log_warnx("%s[%d] (pid %ld): %s", name, w->w_index, pid,
		    r->nr_text);
		break;
	case NODECL_LISTENING:
		if (r->nr_socket >= 0)
			w->w_cb(w, WE_MESSAGE, WM_LISTENING, "");
		break;
	case NODECL_EXITED:
		log_info("%s[%d] (pid %ld) leaves by itself "
		    "(cluster.worker.disconnect)", name, w->w_index, pid);
		w->w_cb(w, WE_MESSAGE, WM_SUICIDE, "");
		break;
	default:
		log_debug("%s[%d] (pid %ld): cluster: %s%s%s", name,
		    w->w_index, pid, nodecl_event_name(r->nr_event),
		    r->nr_text[0] != '\0' ? ": " : "", r->nr_text);
		break;
	}
}

/*
 * compat = einhorn: einhorn's worker:ack (in JSON, or the Ruby client's
 * escaped YAML) says the worker is up.  1 if the line was einhorn's.
 */
static int
einhorn_line(struct worker *w, const char *line, size_t len)
{
	long long	pid;

	switch (compat_einhorn_classify(line, len, &pid)) {
	case COMPAT_CMD_ACK:
		w->w_cb(w, WE_MESSAGE, WM_READY, "");
		return 1;
	case COMPAT_CMD_PING:
	case COMPAT_CMD_OTHER:
		return 1;
	default:
		return 0;
	}
}

/* A node or node-cluster channel: never closed for bad input. */
static int
node_channel(const struct worker *w)
{
	return w->w_conf->pc_ipc == IPC_NODE ||
	    w->w_conf->pc_ipc == IPC_NODE_CLUSTER;
}

/* Tell the worker's owner what the line asked for. */
static void
ipc_report(struct worker *w, enum ipc_kind kind, const char *status)
{
	static const enum worker_msg msgs[] = {
		[IPC_SUICIDE] = WM_SUICIDE,
		[IPC_READY] = WM_READY,
		[IPC_HEARTBEAT] = WM_HEARTBEAT,
		[IPC_STATUS] = WM_STATUS,
	};

	if (kind == IPC_STATUS)
		log_debug("%s[%d] (pid %ld) status: %s", w->w_conf->pc_name,
		    w->w_index, (long)w->w_pid, status);
	w->w_cb(w, WE_MESSAGE, (int)msgs[kind], status);
}

static void
ipc_bad(struct worker *w, const char *why)
{
	const char	*name = w->w_conf->pc_name;
	int		 slot = w->w_index;
	long		 pid = (long)w->w_pid;

	w->w_ipc_bad++;
	if (w->w_ipc_bad <= IPC_BAD_LOGGED)
		log_warnx("%s[%d] (pid %ld): bad IPC message dropped: %s",
		    name, slot, pid, why);
	if (w->w_ipc_bad == IPC_BAD_LOGGED)
		log_warnx("%s[%d] (pid %ld): further bad IPC messages are "
		    "not logged", name, slot, pid);
	if (w->w_ipc_bad == IPC_BAD_MAX && !node_channel(w))
		log_warnx("%s[%d] (pid %ld): %d bad IPC messages: closing "
		    "its channel", name, slot, pid, IPC_BAD_MAX);
}

/* A bare word line: letters, digits, '_' and '-' only. */
static int
bare_word(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-'))
			return 0;
	return 1;
}
