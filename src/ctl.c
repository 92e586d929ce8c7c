/*
 * The control socket: clusterctl's requests, one JSON line each, each
 * answered with one JSON line, after which clusterd closes the
 * connection.  The protocol is documented in clusterctl(1).
 *
 * Every connection is bounded: a request line of at most CTL_REQ_MAX
 * bytes, CTL_TIMEOUT seconds to send it (and to read the reply), at most
 * CTL_MAXCONN at a time.  Only root and clusterd's own uid are served
 * (SO_PEERCRED), on top of the socket file's mode 0600.  The master never
 * blocks on a client: replies are written as the client reads them.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define CTL_BACKLOG	16
#define CTL_MAXCONN	64
#define CTL_REQ_MAX	4096	/* a request line, its newline included */
#define CTL_TIMEOUT	5.0	/* seconds to send a request, read a reply */
#define CTL_PAUSE	1.0	/* accept() paused after EMFILE, ENFILE */

enum conn_state {
	CONN_READING,		/* waiting for the request line */
	CONN_WAITING,		/* a reload is under way: its reply later */
	CONN_WRITING		/* the reply is on its way; closed when sent */
};

struct ctl_conn {
	struct ctl_conn		*c_next;
	int			 c_fd;
	enum conn_state		 c_state;
	long			 c_uid;
	long			 c_pid;
	ev_io			 c_io;
	ev_timer		 c_timer;
	char			 c_req[CTL_REQ_MAX + 1];
	size_t			 c_reqlen;
	char			*c_out;		/* the reply */
	size_t			 c_outlen;
	size_t			 c_outoff;	/* written so far */
	size_t			 c_outcap;
	int			 c_oom;		/* the reply did not fit */
};

typedef void	(*ctl_handler)(struct ctl_conn *, struct program *,
		    const struct json_val *);

struct ctl_cmd {
	const char	*cc_name;
	ctl_handler	 cc_run;
	int		 cc_program;	/* needs a "program" member */
	int		 cc_quiet;	/* logged at debug level only */
};

static int	ctl_listen(const char *);
static int	ctl_bind(int, const char *, char *, size_t);
static void	ctl_start(int, const char *);
static void	ctl_stop(void);
static void	ctl_accept(struct ev_loop *, ev_io *, int);
static void	ctl_pause_accept(void);
static void	ctl_resume(struct ev_loop *, ev_timer *, int);
static void	ctl_refuse(int);
static void	conn_new(int);
static void	conn_free(struct ctl_conn *);
static void	conn_io(struct ev_loop *, ev_io *, int);
static void	conn_timeout(struct ev_loop *, ev_timer *, int);
static void	conn_read(struct ctl_conn *);
static void	conn_hangup(struct ctl_conn *);
static void	conn_write(struct ctl_conn *);
static void	conn_request(struct ctl_conn *);
static const struct ctl_cmd *request_parse(struct ctl_conn *,
		    struct json_val *, struct program **, char *, size_t);
static const struct ctl_cmd *cmd_find(const char *);
static void	reply_printf(struct ctl_conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	reply_quote(struct ctl_conn *, const char *);
static void	reply_send(struct ctl_conn *);
static void	reply_ok(struct ctl_conn *);
static void	reply_error(struct ctl_conn *, const char *);
static void	reply_errorf(struct ctl_conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	status_program(struct ctl_conn *, const struct program *);
static void	status_slot(struct ctl_conn *, const struct slot *);
static void	reload_done(void *, int, const char *);
static void	cmd_status(struct ctl_conn *, struct program *,
		    const struct json_val *);
static void	cmd_reload(struct ctl_conn *, struct program *,
		    const struct json_val *);
static void	cmd_restart(struct ctl_conn *, struct program *,
		    const struct json_val *);
static void	cmd_scale(struct ctl_conn *, struct program *,
		    const struct json_val *);
static void	cmd_stop(struct ctl_conn *, struct program *,
		    const struct json_val *);
static void	cmd_start(struct ctl_conn *, struct program *,
		    const struct json_val *);
static void	cmd_signal(struct ctl_conn *, struct program *,
		    const struct json_val *);
static void	cmd_shutdown(struct ctl_conn *, struct program *,
		    const struct json_val *);

static const struct ctl_cmd ctl_cmds[] = {
	{ "status",	cmd_status,	0, 1 },
	{ "reload",	cmd_reload,	0, 0 },
	{ "restart",	cmd_restart,	1, 0 },
	{ "scale",	cmd_scale,	1, 0 },
	{ "stop",	cmd_stop,	1, 0 },
	{ "start",	cmd_start,	1, 0 },
	{ "signal",	cmd_signal,	1, 0 },
	{ "shutdown",	cmd_shutdown,	0, 0 },
};

static const char *program_states[] = {
	[PROGRAM_RUNNING] = "running",
	[PROGRAM_ROLLING] = "rolling",
	[PROGRAM_STOPPED] = "stopped",
	[PROGRAM_REMOVED] = "stopped",
};

static int		 ctl_fd = -1;
static char		*ctl_path;	/* NULL: no control socket */
static ev_io		 ctl_accept_io;
static ev_timer		 ctl_pause;
static int		 ctl_pause_logged;
static int		 ctl_full_logged;
static struct ctl_conn	*conns;
static int		 nconns;

/*
 * Start-up: listen on path (NULL: no control socket).  -1, logged, if
 * the socket cannot be created; nothing is left behind then.
 */
int
ctl_init(const char *path)
{
	int	fd;

	if (path == NULL)
		return 0;
	if ((fd = ctl_listen(path)) == -1)
		return -1;
	ctl_start(fd, path);
	if (ctl_path == NULL) {
		ctl_close();
		return -1;
	}
	log_info("control socket: listening on %s", path);
	return 0;
}

/*
 * A reload changed `control`: listen on the new path first, then close
 * the old socket and remove its file.  If the new one cannot be created
 * the old one stays (-1, logged).  Connections already open go on.
 */
int
ctl_reconfigure(const char *path)
{
	int	fd = -1;

	if ((path == NULL && ctl_path == NULL) || (path != NULL &&
	    ctl_path != NULL && strcmp(path, ctl_path) == 0))
		return 0;
	if (path != NULL && (fd = ctl_listen(path)) == -1) {
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
	log_notice("control socket: listening on %s", path);
	return 0;
}

/* At exit: close every connection and the socket; remove its file. */
void
ctl_close(void)
{
	while (conns != NULL)
		conn_free(conns);
	ctl_stop();
}

/* A listening socket at path, mode 0600; -1 and logged on failure. */
static int
ctl_listen(const char *path)
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
	if (nconns >= CTL_MAXCONN) {
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
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);

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
	ev_timer_init(&c->c_timer, conn_timeout, CTL_TIMEOUT, 0);
	c->c_timer.data = c;
	ev_timer_start(EV_DEFAULT, &c->c_timer);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control socket: SO_PEERCRED");
		conn_free(c);
		return;
	}
	c->c_uid = (long)cred.uid;
	c->c_pid = (long)cred.pid;
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warnx("control socket: refused pid %ld: uid %ld is "
		    "neither root nor clusterd's", c->c_pid, c->c_uid);
		reply_errorf(c, "permission denied: uid %ld is neither root "
		    "nor clusterd's", c->c_uid);
		return;
	}
	ev_io_start(EV_DEFAULT, &c->c_io);
}

static void
conn_free(struct ctl_conn *c)
{
	struct ctl_conn	**pp;

	if (c->c_state == CONN_WAITING)
		cluster_reload_cancel(c);
	ev_io_stop(EV_DEFAULT, &c->c_io);
	ev_timer_stop(EV_DEFAULT, &c->c_timer);
	close(c->c_fd);
	for (pp = &conns; *pp != NULL; pp = &(*pp)->c_next)
		if (*pp == c) {
			*pp = c->c_next;
			break;
		}
	nconns--;
	free(c->c_out);
	free(c);
}

static void
conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn	*c = w->data;

	(void)loop;
	(void)revents;
	switch (c->c_state) {
	case CONN_READING:
		conn_read(c);
		break;
	case CONN_WAITING:
		conn_hangup(c);
		break;
	case CONN_WRITING:
		conn_write(c);
		break;
	}
}

static void
conn_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ctl_conn	*c = t->data;

	(void)loop;
	(void)revents;
	log_debug("control socket: pid %ld %s within %.0fs: closed",
	    c->c_pid, c->c_state == CONN_READING ? "sent no request" :
	    "did not read its reply", CTL_TIMEOUT);
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
			reply_errorf(c, "request too long: the limit is %d "
			    "bytes", CTL_REQ_MAX);
		return;
	}
	c->c_req[c->c_reqlen] = '\0';
	conn_request(c);
}

/*
 * While a reload runs the client only waits.  If it is gone (POLLHUP:
 * closed, not merely half-closed) nobody wants the outcome any more.
 */
static void
conn_hangup(struct ctl_conn *c)
{
	struct pollfd	pfd = { .fd = c->c_fd, .events = 0 };
	char		buf[256];
	ssize_t		n;

	n = recv(c->c_fd, buf, sizeof(buf), 0);
	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR)))
		return;
	if (n == 0 && !(poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & POLLHUP))) {
		ev_io_stop(EV_DEFAULT, &c->c_io);	/* half-closed */
		return;
	}
	log_debug("control socket: pid %ld left before the reload was done",
	    c->c_pid);
	conn_free(c);
}

/* Write what the client takes; closed once the reply is out. */
static void
conn_write(struct ctl_conn *c)
{
	ssize_t	n;

	while (c->c_outoff < c->c_outlen) {
		n = send(c->c_fd, c->c_out + c->c_outoff,
		    c->c_outlen - c->c_outoff, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1) {
			log_debug("control socket: pid %ld: send: %s",
			    c->c_pid, strerror(errno));
			break;
		}
		c->c_outoff += (size_t)n;
		ev_timer_again(EV_DEFAULT, &c->c_timer);
	}
	conn_free(c);
}

/*
 * One request: {"cmd":NAME, ...}.  The handler answers, now or (reload)
 * later, and may free c: nothing touches it after the call.
 */
static void
conn_request(struct ctl_conn *c)
{
	const struct ctl_cmd	*cc;
	struct json_val		 req;
	struct program		*p = NULL;
	char			 err[ERRBUF_LEN];

	ev_io_stop(EV_DEFAULT, &c->c_io);
	ev_timer_stop(EV_DEFAULT, &c->c_timer);
	if ((cc = request_parse(c, &req, &p, err, sizeof(err))) == NULL) {
		log_debug("control socket: pid %ld: %s", c->c_pid, err);
		reply_error(c, err);
		return;
	}
	if (cc->cc_quiet)
		log_debug("control socket: %s (pid %ld, uid %ld)",
		    cc->cc_name, c->c_pid, c->c_uid);
	else
		log_info("control socket: %s%s%s (pid %ld, uid %ld)",
		    cc->cc_name, p != NULL ? " " : "",
		    p != NULL ? p->p_conf->pc_name : "", c->c_pid, c->c_uid);
	cc->cc_run(c, p, &req);
}

/*
 * The request line as JSON, its command, and its program if the command
 * needs one; NULL and a message for the client in err if any is wrong.
 */
static const struct ctl_cmd *
request_parse(struct ctl_conn *c, struct json_val *req, struct program **pp,
    char *err, size_t errlen)
{
	const struct ctl_cmd	*cc;
	struct json_val		 v;
	char			 cmd[32], prog[NAME_MAXLEN], why[256];

	if (json_parse(c->c_req, c->c_reqlen, req, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "malformed request: %s", why);
		return NULL;
	}
	if (req->jv_kind != JV_OBJECT || json_get(req, "cmd", &v) == -1 ||
	    json_string(&v, cmd, sizeof(cmd)) == -1) {
		snprintf(err, errlen, "malformed request: expected an object "
		    "with a \"cmd\" string");
		return NULL;
	}
	if ((cc = cmd_find(cmd)) == NULL) {
		snprintf(err, errlen, "unknown command \"%s\"", cmd);
		return NULL;
	}
	if (!cc->cc_program)
		return cc;
	if (json_get(req, "program", &v) == -1 ||
	    json_string(&v, prog, sizeof(prog)) == -1) {
		snprintf(err, errlen, "malformed request: \"%s\" needs a "
		    "\"program\" string", cmd);
		return NULL;
	}
	if ((*pp = cluster_find_program(prog)) == NULL) {
		snprintf(err, errlen, "no program \"%s\"", prog);
		return NULL;
	}
	return cc;
}

static const struct ctl_cmd *
cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (strcmp(ctl_cmds[i].cc_name, name) == 0)
			return &ctl_cmds[i];
	return NULL;
}

/* Append to the reply; a reply that cannot grow becomes an error. */
static void
reply_printf(struct ctl_conn *c, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n == -1) {
		c->c_oom = 1;
		return;
	}
	if (c->c_outlen + (size_t)n + 2 > c->c_outcap) {
		size_t	 cap = (c->c_outlen + (size_t)n + 2) * 2;
		char	*out = realloc(c->c_out, cap);

		if (out == NULL) {
			c->c_oom = 1;
			free(s);
			return;
		}
		c->c_out = out;
		c->c_outcap = cap;
	}
	memcpy(c->c_out + c->c_outlen, s, (size_t)n + 1);
	c->c_outlen += (size_t)n;
	free(s);
}

/* Append s as a JSON string. */
static void
reply_quote(struct ctl_conn *c, const char *s)
{
	size_t	 len = json_quote(s, NULL, 0);
	char	*q;

	if ((q = malloc(len + 1)) == NULL) {
		c->c_oom = 1;
		return;
	}
	json_quote(s, q, len + 1);
	reply_printf(c, "%s", q);
	free(q);
}

/* The reply is complete: send it, and close once it is out. */
static void
reply_send(struct ctl_conn *c)
{
	static const char	oom[] = "{\"ok\":false,\"error\":\"out of "
				    "memory\"}";

	if (c->c_oom) {
		c->c_outlen = 0;
		c->c_oom = 0;
		reply_printf(c, "%s", oom);
		if (c->c_oom) {
			conn_free(c);
			return;
		}
	}
	reply_printf(c, "\n");
	c->c_state = CONN_WRITING;
	ev_io_stop(EV_DEFAULT, &c->c_io);
	ev_io_set(&c->c_io, c->c_fd, EV_WRITE);
	ev_io_start(EV_DEFAULT, &c->c_io);
	ev_timer_stop(EV_DEFAULT, &c->c_timer);
	ev_timer_set(&c->c_timer, CTL_TIMEOUT, CTL_TIMEOUT);
	ev_timer_start(EV_DEFAULT, &c->c_timer);
	conn_write(c);
}

static void
reply_ok(struct ctl_conn *c)
{
	reply_printf(c, "{\"ok\":true}");
	reply_send(c);
}

static void
reply_error(struct ctl_conn *c, const char *msg)
{
	c->c_outlen = 0;
	reply_printf(c, "{\"ok\":false,\"error\":");
	reply_quote(c, msg);
	reply_printf(c, "}");
	reply_send(c);
}

static void
reply_errorf(struct ctl_conn *c, const char *fmt, ...)
{
	va_list	ap;
	char	msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error(c, msg);
}

/*
 * {"ok":true,"programs":[{"name":..,"state":..,"workers":[{"slot":0,
 * "pid":..,"state":..,"uptime":..,"restarts":..,"rss":..,"status":..}]}]}
 */
static void
cmd_status(struct ctl_conn *c, struct program *unused,
    const struct json_val *req)
{
	struct program	*p;
	int		 first = 1;

	(void)unused;
	(void)req;
	reply_printf(c, "{\"ok\":true,\"programs\":[");
	for (p = cluster_programs(); p != NULL; p = p->p_next) {
		if (p->p_state == PROGRAM_REMOVED)
			continue;
		if (!first)
			reply_printf(c, ",");
		first = 0;
		status_program(c, p);
	}
	reply_printf(c, "]}");
	reply_send(c);
}

static void
status_program(struct ctl_conn *c, const struct program *p)
{
	int	i;

	reply_printf(c, "{\"name\":");
	reply_quote(c, p->p_conf->pc_name);
	reply_printf(c, ",\"state\":\"%s\",\"workers\":[",
	    program_states[p->p_state]);
	for (i = 0; i < p->p_nslots; i++) {
		if (i > 0)
			reply_printf(c, ",");
		status_slot(c, p->p_slots[i]);
	}
	reply_printf(c, "]}");
}

/* A slot shows its current worker, else the one on its way, else none. */
static void
status_slot(struct ctl_conn *c, const struct slot *sl)
{
	const struct worker	*w = sl->sl_worker;
	long long		 rss;

	if (w == NULL)
		w = sl->sl_next;
	reply_printf(c, "{\"slot\":%d,", sl->sl_index);
	if (w == NULL) {
		reply_printf(c, "\"pid\":0,\"state\":\"%s\",\"uptime\":0,"
		    "\"restarts\":%u,\"rss\":0,\"status\":\"\"}",
		    sl->sl_state == SLOT_BACKOFF ? "backoff" : "stopped",
		    sl->sl_restarts);
		return;
	}
	rss = memory_rss(w->w_pid);
	reply_printf(c, "\"pid\":%ld,\"state\":\"%s\",\"uptime\":%.1f,"
	    "\"restarts\":%u,\"rss\":%lld,\"status\":", (long)w->w_pid,
	    worker_state_name(w->w_state), ev_now(EV_DEFAULT) - w->w_started,
	    sl->sl_restarts, rss < 0 ? 0 : rss);
	reply_quote(c, w->w_status);
	reply_printf(c, "}");
}

/* As SIGHUP; the reply waits for the outcome. */
static void
cmd_reload(struct ctl_conn *c, struct program *unused,
    const struct json_val *req)
{
	(void)unused;
	(void)req;
	if (cluster_shutting_down()) {
		reply_error(c, "clusterd is shutting down");
		return;
	}
	c->c_state = CONN_WAITING;
	ev_io_start(EV_DEFAULT, &c->c_io);	/* to see a hang-up */
	cluster_reload_wait(reload_done, c);
	cluster_reload();	/* may have answered, and freed c */
}

static void
reload_done(void *arg, int ok, const char *errors)
{
	struct ctl_conn	*c = arg;
	char		*msg;
	size_t		 len;

	c->c_state = CONN_WRITING;	/* no longer a reload waiter */
	if (ok) {
		reply_ok(c);
		return;
	}
	if (errors == NULL || (msg = strdup(errors)) == NULL) {
		reply_error(c, errors ? "out of memory" : "reload failed");
		return;
	}
	for (len = strlen(msg); len > 0 && msg[len - 1] == '\n'; len--)
		msg[len - 1] = '\0';
	reply_error(c, msg);
	free(msg);
}

static void
cmd_restart(struct ctl_conn *c, struct program *p,
    const struct json_val *req)
{
	(void)req;
	if (program_roll(p) == -1) {
		reply_errorf(c, "%s is already restarting",
		    p->p_conf->pc_name);
		return;
	}
	reply_ok(c);
}

static void
cmd_scale(struct ctl_conn *c, struct program *p, const struct json_val *req)
{
	struct json_val	v;
	long long	n;

	if (json_get(req, "workers", &v) == -1 ||
	    json_int(&v, 1, 4096, &n) == -1) {
		reply_error(c, "malformed request: \"scale\" needs "
		    "\"workers\": a number from 1 to 4096");
		return;
	}
	if (program_scale(p, (int)n) == -1) {
		reply_errorf(c, "cannot scale %s to %lld workers",
		    p->p_conf->pc_name, n);
		return;
	}
	reply_ok(c);
}

static void
cmd_stop(struct ctl_conn *c, struct program *p, const struct json_val *req)
{
	(void)req;
	program_stop(p);
	reply_ok(c);
}

static void
cmd_start(struct ctl_conn *c, struct program *p, const struct json_val *req)
{
	(void)req;
	program_start(p);
	reply_ok(c);
}

static void
cmd_signal(struct ctl_conn *c, struct program *p,
    const struct json_val *req)
{
	struct json_val	v;
	char		name[32], err[ERRBUF_LEN];
	int		sig;

	if (json_get(req, "signal", &v) == -1 ||
	    json_string(&v, name, sizeof(name)) == -1) {
		reply_error(c, "malformed request: \"signal\" needs "
		    "a \"signal\" string");
		return;
	}
	if (parse_signal(name, &sig, err, sizeof(err)) == -1) {
		reply_error(c, err);
		return;
	}
	program_signal(p, sig);
	reply_ok(c);
}

/* As SIGTERM.  The tiny reply is out before the workers are stopped. */
static void
cmd_shutdown(struct ctl_conn *c, struct program *unused,
    const struct json_val *req)
{
	(void)unused;
	(void)req;
	reply_ok(c);
	if (!cluster_shutting_down()) {
		log_notice("control socket: stopping gracefully");
		cluster_shutdown(1);
	}
}
