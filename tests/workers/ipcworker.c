/*
 * ipcworker: a test worker that talks to clusterd over its IPC channel as
 * its environment tells it, and appends what it does to $REPORT_DIR/events
 * ("PID SLOT EVENT" lines; O_APPEND keeps lines of concurrent workers
 * whole).  It serves nothing.
 *
 *	SEND_AT_START	text written to the channel at start ("\n" escapes)
 *	READY_AFTER_MS	send {"cmd":"ready"} after this long
 *	HEARTBEAT_MS	send a heartbeat this often ...
 *	HEARTBEAT_FOR_MS  ... for this long, then stop (default: forever)
 *	SUICIDE_AFTER_MS  send suicide after this long
 *	SUICIDE_TWICE	send it twice
 *	EXIT_AFTER_SUICIDE_MS  exit 0 this long after suicide (default: 300)
 *	CRASH_AFTER_SUICIDE  exit 3 instead of 0
 *	ONLY_SLOT_PID	act on SUICIDE_AFTER_MS only in the first worker of
 *			slot 0 (whose pid is not yet in $REPORT_DIR/suicided)
 *	FLOOD_MB	write this many MiB of junk lines, then go on
 *	STATUS		send this status text at start
 */

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
static void	flood(long);
static int	first_suicide(void);

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
	long	next_hb = start, suicided_at = -1, t;
	int	sent_ready = 0;

	signal(SIGTERM, on_term);
	event("start");
	if (getenv("SEND_AT_START") != NULL)
		send_unescaped(getenv("SEND_AT_START"));
	if (getenv("STATUS") != NULL)
		clusterd_status(getenv("STATUS"));
	if (env_ms("FLOOD_MB", 0) > 0)
		flood(env_ms("FLOOD_MB", 0));
	if (suicide_at >= 0 && getenv("ONLY_SLOT_PID") != NULL &&
	    !first_suicide())
		suicide_at = -1;
	while (!stopping) {
		t = now_ms() - start;
		if (!sent_ready && ready_at >= 0 && t >= ready_at) {
			clusterd_ready();
			event("ready");
			sent_ready = 1;
		}
		if (hb > 0 && now_ms() >= next_hb &&
		    (hb_for < 0 || t < hb_for)) {
			clusterd_heartbeat();
			next_hb = now_ms() + hb;
		}
		if (suicide_at >= 0 && suicided_at < 0 && t >= suicide_at) {
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
	char		 path[4096];
	const char	*dir = getenv("REPORT_DIR"), *slot;
	int		 fd;

	slot = getenv("CLUSTERD_WORKER");
	if (dir == NULL || slot == NULL || strcmp(slot, "0") != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/suicided", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1)
		return 0;
	close(fd);
	return 1;
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
	snprintf(path, sizeof(path), "%s/events", dir);
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

/* Write s with "\n" turned into newlines, as one write. */
static void
send_unescaped(const char *s)
{
	char	buf[8192];
	size_t	n = 0;
	int	fd = clusterd_ipc_fd();

	for (; *s != '\0' && n < sizeof(buf); s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			buf[n++] = '\n';
			s++;
		} else
			buf[n++] = *s;
	}
	if (fd != -1 && write(fd, buf, n) != (ssize_t)n)
		perror("ipcworker: write");
}

/* MiB of junk lines, as fast as the channel takes them. */
static void
flood(long mb)
{
	char	junk[4096];
	long	left = mb * 1024 * 1024;
	int	fd = clusterd_ipc_fd();
	ssize_t	n;

	memset(junk, '{', sizeof(junk));
	junk[sizeof(junk) - 1] = '\n';
	while (fd != -1 && left > 0) {
		n = write(fd, junk, sizeof(junk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		left -= n;
	}
	event("flooded");
}
