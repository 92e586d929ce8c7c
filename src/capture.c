/*
 * SPDX-License-Identifier: ISC
 *
 * stdout = capture: the master reads a worker's output through a pipe
 * and writes each line to its own log as "NAME[SLOT]: line" (log.c's
 * log_line, with its time and level, or its <N> prefix under the
 * journal).  One pipe per output, or one for both with stderr = stdout.
 *
 * Lines:
 * - A line ends at a newline or a NUL byte (as journald ends them).
 * - Its priority is PRIO_STDOUT or PRIO_STDERR (one shared pipe: stdout's),
 *   unless it starts with <N>, N from 0 to 7 (sd-daemon(3)): then N, and
 *   the prefix is not logged.
 * - A line longer than LOG_LINE_TEXT_MAX bytes is cut into pieces of at
 *   most that (at a UTF-8 character boundary when there is one in its
 *   last 3 bytes); the first piece is logged as "NAME[SLOT]: ", each
 *   further one as "NAME[SLOT]+ ", with the first piece's priority.
 * - A last line without its newline is logged when the output ends.
 *
 * Never blocking, never unbounded: the pipe is non-blocking and read
 * from the loop (ev_io), at most CAPTURE_READ_MAX bytes per wakeup, into
 * one line's worth of buffer per pipe.  Lines that log.c could not
 * write at once (a slow reader of clusterd's stderr) are written when
 * the log's descriptor is writable again (an ev_io on it, while they
 * wait).  While log.c's buffer is congested, reading stops until it is
 * not; the worker meanwhile fills its pipe and blocks in write(2): it is
 * slowed down by its own pipe, and no line is dropped.
 *
 * The worker's record goes (worker_free) once the worker and its process
 * group are gone; its capture then reads on to the end of the output
 * (the last bytes, and a slow log reader, may still hold it up) for at
 * most CAPTURE_LINGER seconds.  A pipe still open by then is held by a
 * process that left the worker's group: what came is logged, the pipe
 * closed (that process then gets EPIPE), and that is said.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define CAPTURE_READ_MAX	(64 * 1024)	/* bytes read per wakeup */
#define CAPTURE_LINGER		10.0		/* seconds after the record */
#define CAPTURE_FINAL_MAX	(1024 * 1024)	/* read at exit, at most */

struct capture {
	struct capture	*c_next;	/* every capture not yet freed */
	ev_io		 c_io;
	struct timer	 c_linger;	/* detached: closed by then */
	int		 c_fd;		/* the read end; -1 at its end */
	int		 c_prio;	/* of a line without <N> */
	int		 c_cont;	/* -1, or the priority of the cut line
					   that the next bytes continue */
	int		 c_started;	/* the worker was forked */
	int		 c_paused;	/* the log is congested */
	int		 c_detached;	/* its worker record is gone */
	size_t		 c_len;
	char		 c_tag[NAME_MAXLEN + 16];	/* "web[0]" */
	char		 c_buf[LOG_LINE_TEXT_MAX];	/* a line so far */
};

static struct capture	*captures;
static ev_io		 log_io;	/* the log's fd, while lines wait */

static struct capture *capture_new(const char *, int, int, int);
static void	capture_readable(struct ev_loop *, ev_io *, int);
static void	capture_run(struct capture *);
static void	capture_pump(struct capture *, size_t);
static int	capture_lines(struct capture *, int);
static void	capture_emit(struct capture *, const char *, size_t, int);
static size_t	capture_cut(const char *, size_t);
static void	capture_end(struct capture *);
static void	capture_pause(struct capture *);
static void	capture_watch_log(void);
static void	capture_log_writable(struct ev_loop *, ev_io *, int);
static void	capture_linger_over(void *);
static void	capture_finish(struct capture *);
static void	capture_free(struct capture *);

/*
 * A pipe for one output of the worker NAME[slot], before its fork: the
 * write end for the worker goes to *child_fd (close-on-exec: spawn.c
 * puts it in place), the read end stays here, non-blocking.  Nothing is
 * read before capture_start().  NULL, logged, if the pipe fails.
 */
struct capture *
capture_open(const char *name, int slot, int prio, int *child_fd)
{
	struct capture	*c;
	int		 p[2];

	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("%s[%d]: pipe for its output", name, slot);
		return NULL;
	}
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) == -1 ||
	    (c = capture_new(name, slot, prio, p[0])) == NULL) {
		log_warn("%s[%d]: capture its output", name, slot);
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	*child_fd = p[1];
	return c;
}

static struct capture *
capture_new(const char *name, int slot, int prio, int fd)
{
	struct capture	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->c_fd = fd;
	c->c_prio = prio;
	c->c_cont = -1;
	snprintf(c->c_tag, sizeof(c->c_tag), "%s[%d]", name, slot);
	ev_io_init(&c->c_io, capture_readable, fd, EV_READ);
	c->c_io.data = c;
	timer_init(&c->c_linger, capture_linger_over, c);
	c->c_next = captures;
	captures = c;
	return c;
}

/* The worker is forked (its write end closed here): start reading. */
void
capture_start(struct capture *c)
{
	if (c == NULL)
		return;
	c->c_started = 1;
	ev_io_start(EV_DEFAULT, &c->c_io);
}

/*
 * Read what the pipe holds now (its worker was reaped: its last words
 * come before the news of its exit), unless the log is congested.
 */
void
capture_read(struct capture *c)
{
	if (c != NULL && c->c_started && c->c_fd != -1 && !c->c_paused)
		capture_run(c);
}

/*
 * The worker's record goes.  A capture whose worker never ran is freed;
 * else it reads on to the end of the output, CAPTURE_LINGER at most.
 */
void
capture_close(struct capture *c)
{
	if (c == NULL)
		return;
	if (!c->c_started) {
		capture_free(c);
		return;
	}
	c->c_detached = 1;
	if (c->c_fd != -1 && !c->c_paused)
		capture_pump(c, CAPTURE_READ_MAX);
	capture_watch_log();
	if (c->c_fd == -1) {
		capture_free(c);
		return;
	}
	timer_start(&c->c_linger, CAPTURE_LINGER);
}

/*
 * An upgrade: a capture the old image had, its pipe at fd, and the len
 * bytes of buf it had read but not logged; cont its c_cont.  NULL, and
 * the pipe closed, if it cannot be taken over (logged).
 */
struct capture *
capture_adopt(const char *name, int slot, int prio, int fd, const char *buf,
    size_t len, int cont)
{
	struct capture	*c;

	if (len > LOG_LINE_TEXT_MAX || (len > 0 && buf == NULL) ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    (c = capture_new(name, slot, prio, fd)) == NULL) {
		log_warnx("%s[%d]: upgrade: its captured %s is lost", name,
		    slot, prio == PRIO_STDERR ? "stderr" : "stdout");
		close(fd);
		return NULL;
	}
	if (len > 0)
		memcpy(c->c_buf, buf, len);
	c->c_len = len;
	c->c_cont = cont >= 0 && cont <= 7 ? cont : -1;
	c->c_started = 1;
	ev_io_start(EV_DEFAULT, &c->c_io);
	capture_run(c);		/* whole lines it had held back */
	return c;
}

/* For an upgrade's state: the read end (-1: none any more) ... */
int
capture_fd(const struct capture *c)
{
	return c != NULL ? c->c_fd : -1;
}

/* ... and what was read but not logged yet, and its c_cont. */
const char *
capture_pending(const struct capture *c, size_t *len, int *cont)
{
	*len = c->c_len;
	*cont = c->c_cont;
	return c->c_buf;
}

/* How many capture pipes each worker of pc costs the master. */
int
capture_pipes(const struct prog_conf *pc)
{
	return (pc->pc_stdout.o_mode == OUTPUT_CAPTURE) +
	    (pc->pc_stderr.o_mode == OUTPUT_CAPTURE);
}

/*
 * Before an upgrade's execve: the captures of records that are gone
 * are not carried over; log what they have now and close them.
 */
void
capture_finish_detached(void)
{
	struct capture	*c, *next;

	for (c = captures; c != NULL; c = next) {
		next = c->c_next;
		if (c->c_detached)
			capture_finish(c);
	}
}

/* At exit: whatever is left, logged and closed. */
void
capture_close_all(void)
{
	while (captures != NULL)
		capture_finish(captures);
	if (ev_is_active(&log_io))
		ev_io_stop(EV_DEFAULT, &log_io);
}

static void
capture_readable(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	capture_run(io->data);
}

/*
 * One wakeup's reading; a detached capture at its end is freed.  What
 * the log keeps for later is written once it can be.
 */
static void
capture_run(struct capture *c)
{
	capture_pump(c, CAPTURE_READ_MAX);
	if (c->c_detached && c->c_fd == -1)
		capture_free(c);
	capture_watch_log();
}

/*
 * Log the whole lines held, then read and log up to budget bytes more,
 * as long as the log takes them; pause when it is congested.  At the
 * end of the output, the last line and the pipe are done with.
 */
static void
capture_pump(struct capture *c, size_t budget)
{
	ssize_t	n;

	for (;;) {
		if (capture_lines(c, 1) == -1) {
			capture_pause(c);
			return;
		}
		if (budget == 0 || c->c_fd == -1)
			return;
		n = read(c->c_fd, c->c_buf + c->c_len, sizeof(c->c_buf) -
		    c->c_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1)
			log_warn("%s: read its output", c->c_tag);
		if (n <= 0) {
			capture_end(c);
			return;
		}
		c->c_len += (size_t)n;
		budget -= (size_t)n < budget ? (size_t)n : budget;
	}
}

/*
 * Log each whole line held (and a piece of a line too long to hold),
 * keeping the rest; with wait, stop where the log is congested: -1 then,
 * and lines are left.  0 when what is left is a part of a line.
 */
static int
capture_lines(struct capture *c, int wait)
{
	const char	*p = c->c_buf, *end = c->c_buf + c->c_len, *eol;
	size_t		 cut;
	int		 rv = 0;

	while (p < end) {
		if (wait && log_congested()) {
			rv = -1;
			break;
		}
		for (eol = p; eol < end && *eol != '\n' && *eol != '\0'; eol++)
			;
		if (eol < end) {
			capture_emit(c, p, (size_t)(eol - p), 1);
			p = eol + 1;
		} else if (p == c->c_buf && c->c_len == sizeof(c->c_buf)) {
			cut = capture_cut(p, c->c_len);
			capture_emit(c, p, cut, 0);
			p += cut;
		} else
			break;
	}
	c->c_len = (size_t)(end - p);
	memmove(c->c_buf, p, c->c_len);
	return rv;
}

/*
 * One line, or one piece of a cut one (ended 0: more of it follows).
 * A <N> prefix at the start of a line sets its priority.
 */
static void
capture_emit(struct capture *c, const char *text, size_t len, int ended)
{
	char	prefix[sizeof(c->c_tag) + 2];
	int	prio = c->c_prio;

	if (c->c_cont != -1) {
		prio = c->c_cont;
		snprintf(prefix, sizeof(prefix), "%s+ ", c->c_tag);
	} else {
		if (len >= 3 && text[0] == '<' && text[1] >= '0' &&
		    text[1] <= '7' && text[2] == '>') {
			prio = text[1] - '0';
			text += 3;
			len -= 3;
		}
		snprintf(prefix, sizeof(prefix), "%s: ", c->c_tag);
	}
	log_line(prio, prefix, text, len);
	c->c_cont = ended ? -1 : prio;
}

/*
 * Where to cut a line that fills the buffer: before a UTF-8 character
 * that the end would split, if its first byte is among the last 3.
 */
static size_t
capture_cut(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i, need;

	for (i = 1; i <= 3 && i < len; i++) {
		if ((u[len - i] & 0xC0) == 0x80)
			continue;	/* a continuation byte: look back */
		if (u[len - i] < 0xC0)
			return len;	/* ASCII: no character is split */
		need = u[len - i] >= 0xF0 ? 4 : u[len - i] >= 0xE0 ? 3 : 2;
		return need > i ? len - i : len;
	}
	return len;
}

/* The output ended: its last line, if it had no newline; the pipe. */
static void
capture_end(struct capture *c)
{
	(void)capture_lines(c, 0);
	if (c->c_len > 0)
		capture_emit(c, c->c_buf, c->c_len, 1);
	c->c_len = 0;
	c->c_cont = -1;
	ev_io_stop(EV_DEFAULT, &c->c_io);
	close(c->c_fd);
	c->c_fd = -1;
	c->c_paused = 0;
}

/* The log is congested: stop reading until it is not. */
static void
capture_pause(struct capture *c)
{
	ev_io_stop(EV_DEFAULT, &c->c_io);
	c->c_paused = 1;
	capture_watch_log();
}

/* Lines wait in the log for a slow reader: write them when it can. */
static void
capture_watch_log(void)
{
	if (ev_is_active(&log_io) || !log_backlog())
		return;
	ev_io_init(&log_io, capture_log_writable, log_wait_fd(), EV_WRITE);
	ev_io_start(EV_DEFAULT, &log_io);
}

/*
 * The log's descriptor takes more: write out what waits; once the log
 * is no longer congested (or waiting has stopped making sense: see
 * log_backlog), every paused capture goes on.
 */
static void
capture_log_writable(struct ev_loop *loop, ev_io *io, int revents)
{
	struct capture	*c, *next;

	(void)revents;
	(void)log_flush();
	if (!log_backlog())
		ev_io_stop(loop, io);
	if (log_congested())
		return;
	for (c = captures; c != NULL; c = next) {
		next = c->c_next;
		if (!c->c_paused)
			continue;
		c->c_paused = 0;
		ev_io_start(loop, &c->c_io);
		capture_run(c);
	}
}

/* A detached capture's time is up: a process outside the group has it. */
static void
capture_linger_over(void *arg)
{
	struct capture	*c = arg;

	log_warnx("%s: its output is still open %.0fs after the worker's "
	    "exit, held by a process outside its process group: closed, "
	    "and that process's output is lost", c->c_tag, CAPTURE_LINGER);
	capture_finish(c);
}

/*
 * Read what the pipe holds now (CAPTURE_FINAL_MAX at most), log it
 * whether or not the log is congested, its last line too; free it.
 */
static void
capture_finish(struct capture *c)
{
	size_t	total = 0;
	ssize_t	n;

	while (c->c_fd != -1 && total < CAPTURE_FINAL_MAX) {
		(void)capture_lines(c, 0);
		n = read(c->c_fd, c->c_buf + c->c_len, sizeof(c->c_buf) -
		    c->c_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		c->c_len += (size_t)n;
		total += (size_t)n;
	}
	if (c->c_fd != -1)
		capture_end(c);
	capture_free(c);
}

static void
capture_free(struct capture *c)
{
	struct capture	**pp;

	for (pp = &captures; *pp != NULL; pp = &(*pp)->c_next)
		if (*pp == c) {
			*pp = c->c_next;
			break;
		}
	ev_io_stop(EV_DEFAULT, &c->c_io);
	timer_stop(&c->c_linger);
	if (c->c_fd != -1)
		close(c->c_fd);
	free(c);
}
