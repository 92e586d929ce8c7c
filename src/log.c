/*
 * SPDX-License-Identifier: ISC
 *
 * Logging to stderr.  Under systemd, when JOURNAL_STREAM names the device
 * and inode of our stderr, the journal adds its own timestamp: each line
 * then carries only a <N> syslog priority prefix.
 *
 * The daemon never blocks on its own log: once log_init() has run, lines
 * go out without waiting (a pipe or terminal through a non-blocking
 * descriptor of our own, a socket with MSG_DONTWAIT), what cannot be
 * written at once waits in a bounded buffer, and when that is full new
 * lines are dropped and counted.  The count is logged as soon as the
 * reader has caught up.  fd 2 itself is left as it was: its open file
 * description is shared with every worker that inherits it, and making
 * it non-blocking would make their writes fail with EAGAIN.
 *
 * Workers' captured lines (log_line) take the same way, but their
 * reader, capture.c, stops reading while log_congested() says the
 * buffer is over half full and the reader is only slow: a worker that
 * writes faster than our stderr drains is held up by its own pipe, and
 * the other half of the buffer stays free for clusterd's own messages.
 */

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_PENDING_MAX	65536	/* bytes waiting for a slow reader */
#define LOG_MSG_MAX	2048	/* a message, before its time and level */

/*
 * Repeated failures are told once, not once per slot and retry: of the
 * warnings and errors that differ only in their numbers (a slot, a pid,
 * a delay), LOG_BURST are logged in LOG_WINDOW seconds, then one line
 * says how many more there were.
 */
#define LOG_BURST	5
#define LOG_WINDOW	10.0
#define LOG_KINDS	32	/* kinds of message followed at once */

struct log_kind {
	unsigned long long	lk_hash;	/* of the message, digits out */
	double			lk_start;	/* its window began */
	unsigned		lk_count;	/* logged in the window */
	unsigned long		lk_held;	/* not logged in it */
	char			lk_example[160];
};

enum log_out {
	LOG_OUT_BLOCKING,	/* write(2) to fd 2: before log_init, files */
	LOG_OUT_FD,		/* write(2) to our own non-blocking fd */
	LOG_OUT_SEND,		/* send(2) to fd 2 with MSG_DONTWAIT */
	LOG_OUT_POLL		/* write(2) to fd 2 when poll(2) allows it */
};

static int		log_level = LOG_LVL_DEFAULT;
static int		log_journal;
static enum log_out	log_out = LOG_OUT_BLOCKING;
static int		log_fd = STDERR_FILENO;
static int		log_failing;	/* the last write failed, not EAGAIN */
static char		log_pending[LOG_PENDING_MAX];
static size_t		log_pending_off;	/* what waits: from here */
static size_t		log_pending_len;	/* this many bytes */
static unsigned long long log_dropped;
static struct log_kind	log_kinds[LOG_KINDS];

static const struct {
	const char	*name;
	int		 syslog_prio;
} levels[] = {
	[LOG_LVL_ERROR] =	{ "error", 3 },
	[LOG_LVL_WARNING] =	{ "warning", 4 },
	[LOG_LVL_NOTICE] =	{ "notice", 5 },
	[LOG_LVL_INFO] =	{ "info", 6 },
	[LOG_LVL_DEBUG] =	{ "debug", 7 },
};

/* Syslog priorities by name, for lines that come with their own. */
static const char *prio_names[8] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
};

static int	stderr_is_journal(void);
static void	log_output_open(void);
static ssize_t	log_write(const char *, size_t);
static void	log_emit(const char *, size_t);
static size_t	log_format(char *, size_t, int, const char *);
static size_t	log_format_text(char *, size_t, int, const char *,
		    const char *, size_t);
static void	log_result(ssize_t);
static void	vlog(int, int, const char *, va_list)
	    __attribute__((format(printf, 3, 0)));
static int	log_burst(int, const char *);
static void	log_msg(int, const char *);
static void	log_held(struct log_kind *, double);
static double	log_now(void);

void
log_init(int level)
{
	log_setlevel(level);	/* -q past error still shows errors */
	log_journal = stderr_is_journal();
	log_output_open();
}

void
log_setlevel(int level)
{
	if (level < LOG_LVL_ERROR)
		level = LOG_LVL_ERROR;
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

int
log_level_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(levels[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < LOG_LVL_ERROR || level > LOG_LVL_DEBUG)
		return "?";
	return levels[level].name;
}

/* JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected. */
static int
stderr_is_journal(void)
{
	const char		*js;
	struct stat		 st;
	unsigned long long	 dev, ino;

	if ((js = getenv("JOURNAL_STREAM")) == NULL)
		return 0;
	if (sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

/* Is our stderr the journal (as log_init() found it)? */
int
log_is_journal(void)
{
	return log_journal;
}

/*
 * How lines will leave: a pipe, FIFO or terminal through a descriptor of
 * our own on the same file (opening /proc/self/fd/2 gives a new open file
 * description), non-blocking and close-on-exec; a socket (the journal)
 * with MSG_DONTWAIT; a regular file as it is.  Where none of that works,
 * poll(2) says whether a line fits first.
 */
static void
log_output_open(void)
{
	struct stat	st;
	int		fd;

	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	log_out = LOG_OUT_BLOCKING;
	if (fstat(STDERR_FILENO, &st) == -1 || S_ISREG(st.st_mode))
		return;
	if (S_ISSOCK(st.st_mode)) {
		log_out = LOG_OUT_SEND;
		return;
	}
	fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd == -1) {
		log_out = LOG_OUT_POLL;
		return;
	}
	/* never one of 0, 1, 2, which spawn.c hands to the workers */
	if (fd <= STDERR_FILENO) {
		int	high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);

		close(fd);
		if ((fd = high) == -1) {
			log_out = LOG_OUT_POLL;
			return;
		}
	}
	log_fd = fd;
	log_out = LOG_OUT_FD;
}

/* Bytes written, or -1 (EAGAIN and the like: try again later). */
static ssize_t
log_write(const char *buf, size_t len)
{
	struct pollfd	pfd = { STDERR_FILENO, POLLOUT, 0 };
	ssize_t		n;

	switch (log_out) {
	case LOG_OUT_SEND:
		n = send(log_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && errno == ENOTSOCK) {
			log_out = LOG_OUT_POLL;
			return log_write(buf, len);
		}
		return n;
	case LOG_OUT_POLL:
		if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT)) {
			errno = EAGAIN;
			return -1;
		}
		/*
		 * A blocking pipe that polls writable has room for PIPE_BUF
		 * bytes: no more, or the write could wait for the reader.
		 */
		if (len > PIPE_BUF)
			len = PIPE_BUF;
		/* FALLTHROUGH */
	case LOG_OUT_FD:
	case LOG_OUT_BLOCKING:
		do {
			n = write(log_fd, buf, len);
		} while (n == -1 && errno == EINTR);
		return n;
	}
	return -1;
}

/*
 * Write out what waits, a line at a time (a line of up to PIPE_BUF bytes
 * goes into a pipe whole, never mixed with a worker's), as far as the
 * reader takes it.  Returns 0 when nothing waits any more.
 */
int
log_flush(void)
{
	const char	*p, *eol;
	size_t		 len;
	ssize_t		 n;

	while (log_pending_len > 0) {
		p = log_pending + log_pending_off;
		eol = memchr(p, '\n', log_pending_len);
		len = eol != NULL ? (size_t)(eol - p) + 1 : log_pending_len;
		n = log_write(p, len);
		log_result(n);
		if (n <= 0)
			return -1;
		log_pending_off += (size_t)n;
		log_pending_len -= (size_t)n;
	}
	log_pending_off = 0;
	return 0;
}

/* Keep len bytes for later, if they fit; 0, or -1 if they do not. */
static int
log_keep(const char *buf, size_t len)
{
	if (LOG_PENDING_MAX - log_pending_len < len)
		return -1;
	if (LOG_PENDING_MAX - log_pending_off - log_pending_len < len) {
		memmove(log_pending, log_pending + log_pending_off,
		    log_pending_len);
		log_pending_off = 0;
	}
	memcpy(log_pending + log_pending_off + log_pending_len, buf, len);
	log_pending_len += len;
	return 0;
}

/*
 * After a write: is the output only slow (EAGAIN: its reader will catch
 * up), or failing (EPIPE, EIO: waiting would not help)?
 */
static void
log_result(ssize_t n)
{
	if (n >= 0)
		log_failing = 0;
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		log_failing = 1;
}

/*
 * Do lines wait for a reader that is only slow?  Then log_wait_fd()
 * becomes writable when it has read, and log_flush() writes them: the
 * next message would, but there may be none for a while.  Never for a
 * file (writes to it do not wait) or an output that fails (waiting does
 * not help): there lines wait for the next message, then are dropped.
 */
int
log_backlog(void)
{
	return log_out != LOG_OUT_BLOCKING && !log_failing &&
	    log_pending_len > 0;
}

/*
 * Should a caller that can wait hold its lines back?  Yes while more
 * than half of the buffer waits for a reader that is slow; never where
 * waiting would stall the caller for good (see log_backlog).
 */
int
log_congested(void)
{
	return log_backlog() && log_pending_len > LOG_PENDING_MAX / 2;
}

/* What to poll for writing, while log_backlog(): then log_flush(). */
int
log_wait_fd(void)
{
	return log_fd;
}

/* Messages dropped since the last count was logged. */
unsigned long long
log_dropped_count(void)
{
	return log_dropped;
}

/*
 * Write a line, or keep what the reader did not take; drop it if it
 * cannot wait.  Once everything waiting is out, say how many were
 * dropped, before the line itself.
 */
static void
log_emit(const char *line, size_t len)
{
	char		note[160], buf[256];
	size_t		notelen;
	ssize_t		n = 0;

	if (log_flush() == 0 && log_dropped > 0) {
		snprintf(note, sizeof(note), "%llu log message%s dropped: "
		    "stderr was not being read", log_dropped,
		    log_dropped == 1 ? "" : "s");
		notelen = log_format(buf, sizeof(buf), LOG_LVL_WARNING, note);
		log_dropped = 0;
		log_keep(buf, notelen);
		log_flush();
	}
	if (log_pending_len == 0) {
		n = log_write(line, len);
		log_result(n);
		if (n < 0)
			n = 0;
	}
	if ((size_t)n < len && log_keep(line + n, len - (size_t)n) == -1)
		log_dropped++;
}

/* One whole line, its newline included, into buf; its length. */
static size_t
log_format(char *buf, size_t size, int level, const char *msg)
{
	return log_format_text(buf, size, levels[level].syslog_prio, "", msg,
	    strlen(msg));
}

/* The same for a syslog priority, and prefix and len bytes of text. */
static size_t
log_format_text(char *buf, size_t size, int prio, const char *prefix,
    const char *text, size_t len)
{
	char		 stamp[32];
	struct timespec	 ts;
	struct tm	 tm;
	int		 n, tlen = len > INT_MAX ? INT_MAX : (int)len;

	if (log_journal) {
		n = snprintf(buf, size, "<%d>%s%.*s\n", prio, prefix, tlen,
		    text);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
		n = snprintf(buf, size, "%s.%03ld clusterd[%s] %s%.*s\n", stamp,
		    ts.tv_nsec / 1000000, prio_names[prio], prefix, tlen, text);
	}
	if (n < 0)
		return 0;
	if ((size_t)n >= size) {	/* a cut line still ends the line */
		buf[size - 2] = '\n';
		return size - 1;
	}
	return (size_t)n;
}

/*
 * A line that is not clusterd's own: a worker's, captured (capture.c),
 * with its syslog priority (0-7) and a prefix naming the worker.  Up to
 * LOG_LINE_TEXT_MAX bytes of text are kept whole (any byte but a
 * newline or NUL).  Neither log_level nor the limit on repeated
 * messages applies: those are about clusterd's own messages.
 */
void
log_line(int prio, const char *prefix, const char *text, size_t len)
{
	char	line[LOG_LINE_TEXT_MAX + 256];
	size_t	n;
	int	saved_errno = errno;

	if (prio < 0 || prio > 7)
		prio = levels[LOG_LVL_INFO].syslog_prio;
	n = log_format_text(line, sizeof(line), prio, prefix, text, len);
	log_emit(line, n);
	errno = saved_errno;
}

/*
 * Between log_hold() and log_release(), warnings and errors wait: the
 * caller then has them written after all (a start that worked), or
 * drops them and tells the first in a line of its own (a failed start:
 * once per burst, with its cause, see slot.c).
 */
#define HOLD_MAX	4

static struct held {
	int	 h_level;
	char	 h_msg[LOG_MSG_MAX];
}		 held[HOLD_MAX];
static int	 hold_on, nheld;

void
log_hold(void)
{
	hold_on = 1;
	nheld = 0;
	held[0].h_msg[0] = '\0';
}

/*
 * The end of a hold: what waited is written if emit, else dropped.
 * Returns the first message ("" if none), valid until the next hold.
 */
const char *
log_release(int emit)
{
	int	i;

	hold_on = 0;
	for (i = 0; emit && i < nheld; i++)
		log_msg(held[i].h_level, held[i].h_msg);
	return held[0].h_msg;
}

static void
vlog(int level, int with_errno, const char *fmt, va_list ap)
{
	char		 msg[LOG_MSG_MAX];
	size_t		 len;
	int		 saved_errno = errno;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(saved_errno));
	}
	log_msg(level, msg);
	errno = saved_errno;
}

/* A message made: held, one too many of a burst, or written. */
static void
log_msg(int level, const char *msg)
{
	char	line[LOG_MSG_MAX + 152];
	size_t	len;

	if (level <= LOG_LVL_WARNING && hold_on) {
		if (nheld < HOLD_MAX) {
			held[nheld].h_level = level;
			snprintf(held[nheld].h_msg, sizeof(held[nheld].h_msg),
			    "%s", msg);
			nheld++;
		}
		return;
	}
	if (level <= LOG_LVL_WARNING && !log_burst(level, msg))
		return;
	len = log_format(line, sizeof(line), level, msg);
	log_emit(line, len);
}

/*
 * May a warning or error be logged, or is it one more of a burst?  A
 * window that is over first says how many of its kind were held back.
 */
static int
log_burst(int level, const char *msg)
{
	struct log_kind		*lk, *oldest = &log_kinds[0];
	unsigned long long	 h = 0xcbf29ce484222325ULL;
	double			 now = log_now();
	const char		*p;
	size_t			 i;

	(void)level;
	for (p = msg; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9') {
			while (p[1] >= '0' && p[1] <= '9')
				p++;
			h = (h ^ '#') * 0x100000001b3ULL;
		} else
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	}
	for (i = 0; i < LOG_KINDS; i++) {
		lk = &log_kinds[i];
		if (lk->lk_start != 0 && now - lk->lk_start >= LOG_WINDOW)
			log_held(lk, now);	/* its window is over */
		if (lk->lk_start < oldest->lk_start)
			oldest = lk;
	}
	for (i = 0; i < LOG_KINDS; i++)
		if (log_kinds[i].lk_start != 0 && log_kinds[i].lk_hash == h)
			break;
	if (i == LOG_KINDS) {
		lk = oldest;
		log_held(lk, now);
		lk->lk_hash = h;
		lk->lk_start = now;
	} else
		lk = &log_kinds[i];
	if (lk->lk_count++ < LOG_BURST)
		return 1;
	if (lk->lk_held++ == 0)
		snprintf(lk->lk_example, sizeof(lk->lk_example), "%s", msg);
	return 0;
}

/*
 * After a wakeup: the windows that are over say what they held back,
 * even if nothing of their kind comes any more.
 */
void
log_tick(void)
{
	double	now;
	size_t	i;

	for (i = 0; i < LOG_KINDS; i++)
		if (log_kinds[i].lk_held > 0) {
			now = log_now();
			if (now - log_kinds[i].lk_start >= LOG_WINDOW)
				log_held(&log_kinds[i], now);
		}
}

/* A window ends: one line for what it held back, if anything. */
static void
log_held(struct log_kind *lk, double now)
{
	char	msg[300], line[400];
	size_t	len;

	if (lk->lk_held > 0) {
		snprintf(msg, sizeof(msg), "%lu more like this in %.0fs, not "
		    "logged: %s", lk->lk_held, now - lk->lk_start <
		    LOG_WINDOW ? now - lk->lk_start : LOG_WINDOW,
		    lk->lk_example);
		len = log_format(line, sizeof(line), LOG_LVL_WARNING, msg);
		log_emit(line, len);
	}
	memset(lk, 0, sizeof(*lk));
}

static double
log_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define LOG_FN(fn, level, with_errno)		\
void						\
fn(const char *fmt, ...)			\
{						\
	va_list ap;				\
						\
	va_start(ap, fmt);			\
	vlog(level, with_errno, fmt, ap);	\
	va_end(ap);				\
}

LOG_FN(log_error, LOG_LVL_ERROR, 1)
LOG_FN(log_errorx, LOG_LVL_ERROR, 0)
LOG_FN(log_warn, LOG_LVL_WARNING, 1)
LOG_FN(log_warnx, LOG_LVL_WARNING, 0)
LOG_FN(log_notice, LOG_LVL_NOTICE, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 1, fmt, ap);
	va_end(ap);
	log_flush();
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	log_flush();
	exit(1);
}
