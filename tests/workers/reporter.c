/*
 * SPDX-License-Identifier: ISC
 *
 * reporter - a test worker for the integration tests.
 *
 * At start it writes what it sees (ids, process group, signal mask,
 * descriptors, sockets, environment) as key=value lines into
 * $REPORT_DIR/<CLUSTERD_PROGRAM>.<CLUSTERD_WORKER>.<pid>, atomically
 * (a temporary file, then rename).  Then it serves every listening
 * socket it was given: one request (a line, or an HTTP header) per
 * connection, one reply.
 *
 * Behaviour, from the environment:
 *	REPLY=TEXT		reply body (default "hello")
 *	REPLY_DELAY_MS=N	wait before replying (in-flight work)
 *	IGNORE_TERM=1		ignore SIGTERM and SIGINT (a handler that
 *				only prints "reporter PID ignoring signal N")
 *	EXIT_AFTER_MS=N		exit by itself after N ms ...
 *	EXIT_CODE=C		... with this status (default 0) ...
 *	CRASH_SIGNAL=NAME	... or by raising this signal (SEGV, ABRT, ...)
 *	SPAWN_CHILD=1		fork a grandchild in our process group that
 *				ignores SIGTERM and sleeps
 *	SPAWN_ORPHAN=1		fork a grandchild that outlives us briefly:
 *				we do not wait for it, it exits after 300 ms
 *				(re-parented to clusterd, the subreaper)
 *	ALLOC_MB=N		touch N MiB of memory at start (max_memory)
 *	FAIL_IF_FILE=PATH	exit 3 at once, before the report, if PATH
 *				exists (a deploy whose new workers fail)
 *	NOTIFY_READY=1		send READY=1 to $NOTIFY_SOCKET after the
 *				report (ready = notify)
 *	NOTIFY_WATCHDOG_MS=N	and WATCHDOG=1 every N ms; a send that fails
 *				says "reporter PID notify failed: ERROR"
 *	SHUTDOWN_LISTENER=1	shutdown(2) the listening sockets after the
 *				report, then close them and serve nothing: the
 *				socket stops listening for every process that
 *				holds it, the master included
 *	SUICIDE_ON_WINCH=1	at each SIGWINCH, send {"cmd":"suicide"} on
 *				$CLUSTERD_IPC_FD (a test picks the worker
 *				that asks to be replaced, and when)
 *	GROW_ON_URG_MB=N	at each SIGURG, touch N MiB more memory and
 *				keep it (max_memory, when a test says so)
 *
 * On stdout: "reporter PID started", "reporter PID request" when a
 * request has been read, "reporter PID got signal N" at a stop,
 * "reporter PID sent suicide" and "reporter PID grew N MiB".
 *
 * A stop signal (TERM, INT, HUP, QUIT, USR1, USR2) closes the listeners,
 * lets the requests in flight finish, and exits 0.
 */

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXFDS		64
#define MAXCONN		64
#define REQ_MAX		8192
#define IDLE_GRACE_MS	2000	/* after a stop: wait this long for a request */

struct conn {
	int		 c_fd;
	size_t		 c_len;
	long long	 c_reply_at;	/* 0: still reading */
	long long	 c_accepted;
	char		 c_buf[REQ_MAX];
};

extern char	**environ;

static volatile sig_atomic_t	got_stop;
static volatile sig_atomic_t	got_ignored;
static volatile sig_atomic_t	got_winch;
static volatile sig_atomic_t	got_urg;
static int			listeners[MAXFDS];
static int			nlisteners;
static struct conn		conns[MAXCONN];
static int			nconns;

static long long
now_ms(clockid_t clk)
{
	struct timespec	ts;

	clock_gettime(clk, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long
env_num(const char *name, long long def)
{
	const char	*v = getenv(name);
	char		*end;
	long long	 n;

	if (v == NULL || *v == '\0')
		return def;
	n = strtoll(v, &end, 10);
	if (*end != '\0')
		return def;
	return n;
}

static const char *
env_str(const char *name, const char *def)
{
	const char	*v = getenv(name);

	return (v == NULL) ? def : v;
}

static void
on_stop(int sig)
{
	got_stop = sig;
}

static void
on_ignored(int sig)
{
	got_ignored = sig;
}

static void
on_winch(int sig)
{
	(void)sig;
	got_winch = 1;
}

static void
on_urg(int sig)
{
	(void)sig;
	got_urg = 1;
}

/* Read "Name:\tVALUE" from /proc/self/status. */
static void
proc_status(const char *key, char *out, size_t outlen)
{
	FILE	*fp;
	char	 line[512];
	size_t	 klen = strlen(key);

	snprintf(out, outlen, "?");
	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			char *v = line + klen + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, outlen, "%s", v);
			break;
		}
	}
	fclose(fp);
}

static int
cmp_int(const void *a, const void *b)
{
	int	x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int
list_fds(int *fds, int max)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0, dfd;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		char	*end;
		long	 fd;

		if (de->d_name[0] == '.')
			continue;
		fd = strtol(de->d_name, &end, 10);
		if (*end != '\0' || fd == dfd || n >= max)
			continue;
		fds[n++] = (int)fd;
	}
	closedir(d);
	qsort(fds, (size_t)n, sizeof(int), cmp_int);
	return n;
}

static const char *
family_name(int family)
{
	switch (family) {
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	case AF_UNIX:
		return "unix";
	default:
		return "other";
	}
}

static void
format_addr(const struct sockaddr_storage *ss, socklen_t len, char *out,
    size_t outlen)
{
	char	host[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:%u", host, ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, outlen, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	}
	case AF_UNIX: {
		const struct sockaddr_un *sun = (const void *)ss;
		size_t plen;

		if (len <= offsetof(struct sockaddr_un, sun_path)) {
			snprintf(out, outlen, "(unnamed)");
			break;
		}
		plen = len - offsetof(struct sockaddr_un, sun_path);
		if (sun->sun_path[0] == '\0')
			snprintf(out, outlen, "@%.*s", (int)plen - 1,
			    sun->sun_path + 1);
		else
			snprintf(out, outlen, "%.*s", (int)strnlen(
			    sun->sun_path, plen), sun->sun_path);
		break;
	}
	default:
		snprintf(out, outlen, "?");
	}
}

static void
report_fd(FILE *fp, int fd)
{
	struct stat		 st;
	struct sockaddr_storage	 ss;
	socklen_t		 slen = sizeof(ss), olen;
	char			 path[64], target[PATH_MAX], addr[PATH_MAX];
	ssize_t			 n;
	int			 val, type;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((n = readlink(path, target, sizeof(target) - 1)) < 0)
		n = 0;
	target[n] = '\0';
	fprintf(fp, "fd.%d.target=%s\n", fd, target);
	if (fstat(fd, &st) == -1)
		return;
	fprintf(fp, "fd.%d.inode=%llu\n", fd, (unsigned long long)st.st_ino);
	fprintf(fp, "fd.%d.cloexec=%d\n", fd,
	    (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(fp, "fd.%d.type=other\n", fd);
		return;
	}
	fprintf(fp, "fd.%d.type=socket\n", fd);
	olen = sizeof(val);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &olen) == 0)
		fprintf(fp, "fd.%d.listening=%d\n", fd, val != 0);
	olen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) == 0)
		fprintf(fp, "fd.%d.socktype=%s\n", fd,
		    type == SOCK_STREAM ? "stream" :
		    type == SOCK_DGRAM ? "dgram" : "other");
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &slen) == 0) {
		format_addr(&ss, slen, addr, sizeof(addr));
		fprintf(fp, "fd.%d.family=%s\n", fd,
		    family_name(ss.ss_family));
		fprintf(fp, "fd.%d.addr=%s\n", fd, addr);
	}
	olen = sizeof(val);
	if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &val, &olen) == 0)
		fprintf(fp, "fd.%d.reuseport=%d\n", fd, val != 0);
}

static void
report_ids(FILE *fp)
{
	gid_t		 groups[NGROUPS_MAX];
	int		 ngroups, i, pds = -1;
	struct rlimit	 rl;
	char		 cwd[PATH_MAX], buf[128];
	mode_t		 um;

	fprintf(fp, "pid=%ld\nppid=%ld\npgid=%ld\nsid=%ld\n", (long)getpid(),
	    (long)getppid(), (long)getpgrp(), (long)getsid(0));
	fprintf(fp, "uid=%u\neuid=%u\ngid=%u\negid=%u\n", getuid(),
	    geteuid(), getgid(), getegid());
	ngroups = getgroups(NGROUPS_MAX, groups);
	fprintf(fp, "groups=");
	for (i = 0; i < ngroups; i++)
		fprintf(fp, "%s%u", i ? "," : "", groups[i]);
	fprintf(fp, "\n");
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(cwd, sizeof(cwd), "?");
	fprintf(fp, "cwd=%s\n", cwd);
	um = umask(0);
	umask(um);
	fprintf(fp, "umask=%04o\n", (unsigned)um);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		fprintf(fp, "nofile_soft=%llu\nnofile_hard=%llu\n",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)rl.rlim_max);
	proc_status("SigBlk", buf, sizeof(buf));
	fprintf(fp, "sigblk=%s\n", buf);
	proc_status("SigIgn", buf, sizeof(buf));
	fprintf(fp, "sigign=%s\n", buf);
	prctl(PR_GET_PDEATHSIG, &pds, 0, 0, 0);
	fprintf(fp, "pdeathsig=%d\n", pds);
}

static void
report_fds(FILE *fp)
{
	int	fds[256], n, i;

	n = list_fds(fds, 256);
	fprintf(fp, "fds=");
	for (i = 0; i < n; i++)
		fprintf(fp, "%s%d", i ? "," : "", fds[i]);
	fprintf(fp, "\n");
	for (i = 0; i < n; i++)
		report_fd(fp, fds[i]);
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* Built in memory first: the temporary file must not show in "fds". */
static void
write_report(int argc, char **argv, pid_t grandchild)
{
	const char	*dir = getenv("REPORT_DIR");
	char		 path[PATH_MAX], tmp[PATH_MAX + 8];
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*fp;
	char		**e;
	int		 i, fd;

	if (dir == NULL || *dir == '\0')
		return;
	if ((fp = open_memstream(&buf, &len)) == NULL)
		return;
	fprintf(fp, "start_ms=%lld\n", now_ms(CLOCK_REALTIME));
	fprintf(fp, "start_mono_ms=%lld\n", now_ms(CLOCK_MONOTONIC));
	report_ids(fp);
	report_fds(fp);
	fprintf(fp, "argc=%d\n", argc);
	for (i = 0; i < argc; i++)
		fprintf(fp, "argv.%d=%s\n", i, argv[i]);
	if (grandchild > 0)
		fprintf(fp, "grandchild=%ld\n", (long)grandchild);
	for (e = environ; *e != NULL; e++)
		fprintf(fp, "env.%s\n", *e);
	fclose(fp);

	snprintf(path, sizeof(path), "%s/%s.%s.%ld", dir,
	    env_str("CLUSTERD_PROGRAM", "none"),
	    env_str("CLUSTERD_WORKER", "none"), (long)getpid());
	snprintf(tmp, sizeof(tmp), "%s/.tmp.%ld", dir, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		fprintf(stderr, "reporter: %s: %s\n", tmp, strerror(errno));
		free(buf);
		return;
	}
	write_all(fd, buf, len);
	if (close(fd) == -1 || rename(tmp, path) == -1)
		fprintf(stderr, "reporter: %s: %s\n", path, strerror(errno));
	free(buf);
}

static pid_t
spawn_grandchild(void)
{
	pid_t	pid;
	int	fd;

	if ((pid = fork()) != 0)
		return pid;
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	for (;;)
		pause();
}

static void
setup_signals(void)
{
	static const int	 stops[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT,
	    SIGUSR1, SIGUSR2 };
	struct sigaction	 sa;
	sigset_t		 set;
	size_t			 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		sigaction(stops[i], &sa, NULL);
		sigaddset(&set, stops[i]);
	}
	if (env_num("IGNORE_TERM", 0)) {
		/* Noticed (and said on stdout), but not obeyed. */
		sa.sa_handler = on_ignored;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	if (env_num("SUICIDE_ON_WINCH", 0)) {
		sa.sa_handler = on_winch;
		sigaction(SIGWINCH, &sa, NULL);
		sigaddset(&set, SIGWINCH);
	}
	if (env_num("GROW_ON_URG_MB", 0) > 0) {
		sa.sa_handler = on_urg;
		sigaction(SIGURG, &sa, NULL);
		sigaddset(&set, SIGURG);
	}
	signal(SIGPIPE, SIG_IGN);
	/* Delivered only inside ppoll(): no lost wake-up. */
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static void
find_listeners(void)
{
	long	n = env_num("LISTEN_FDS", 0), i;
	int	val;
	socklen_t len;

	if (env_num("LISTEN_PID", 0) != (long long)getpid())
		n = 0;
	for (i = 0; i < n && nlisteners < MAXFDS; i++) {
		int fd = 3 + (int)i;

		len = sizeof(val);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) ||
		    !val)
			continue;
		/* poll() then accept() must not block when a sibling won. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		listeners[nlisteners++] = fd;
	}
}

static int
request_complete(const struct conn *c)
{
	const char	*b = c->c_buf;
	int		 http;

	http = strncmp(b, "GET ", 4) == 0 || strncmp(b, "POST ", 5) == 0 ||
	    strncmp(b, "HEAD ", 5) == 0 || strncmp(b, "PUT ", 4) == 0;
	if (http)
		return strstr(b, "\r\n\r\n") != NULL;
	return memchr(b, '\n', c->c_len) != NULL;
}

static void
send_reply(struct conn *c)
{
	char	body[1024], head[256];
	int	blen, hlen;

	blen = snprintf(body, sizeof(body), "%s pid=%ld worker=%s\n",
	    env_str("REPLY", "hello"), (long)getpid(),
	    env_str("CLUSTERD_WORKER", "none"));
	if (blen < 0 || (size_t)blen >= sizeof(body))
		blen = (int)strlen(body);
	if (strstr(c->c_buf, " HTTP/1.") != NULL) {
		hlen = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
		    "Content-Type: text/plain\r\nContent-Length: %d\r\n"
		    "Connection: close\r\n\r\n", blen);
		write_all(c->c_fd, head, (size_t)hlen);
	}
	write_all(c->c_fd, body, (size_t)blen);
}

static void
conn_close(int i)
{
	close(conns[i].c_fd);
	conns[i] = conns[--nconns];
}

static void
accept_one(int lfd)
{
	struct conn	*c;
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return;
	if (nconns >= MAXCONN) {
		close(fd);
		return;
	}
	c = &conns[nconns++];
	memset(c, 0, sizeof(*c));
	c->c_fd = fd;
	c->c_accepted = now_ms(CLOCK_MONOTONIC);
}

static void
read_request(int i, long long delay)
{
	struct conn	*c = &conns[i];
	ssize_t		 n;

	n = read(c->c_fd, c->c_buf + c->c_len, sizeof(c->c_buf) - 1 -
	    c->c_len);
	if (n == -1 && errno == EINTR)
		return;
	if (n <= 0) {
		conn_close(i);
		return;
	}
	c->c_len += (size_t)n;
	c->c_buf[c->c_len] = '\0';
	if (request_complete(c) || c->c_len == sizeof(c->c_buf) - 1) {
		c->c_reply_at = now_ms(CLOCK_MONOTONIC) + (delay > 0 ? delay :
		    0) + 1;
		printf("reporter %ld request\n", (long)getpid());
		fflush(stdout);
	}
}

static void
stop_listening(void)
{
	int	i;

	for (i = 0; i < nlisteners; i++)
		close(listeners[i]);
	nlisteners = 0;
}

/* sd_notify(3), by hand: one datagram to $NOTIFY_SOCKET ('@': abstract). */
static void
sd_send(const char *msg)
{
	static int		 fd = -1;
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 len;

	if (path == NULL || *path == '\0' || strlen(path) >=
	    sizeof(sun.sun_path))
		return;
	if (fd == -1 && (fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC,
	    0)) == -1)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path) + (path[0] == '@' ? 0 : 1));
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1) {
		printf("reporter %ld notify failed: %s\n", (long)getpid(),
		    strerror(errno));
		fflush(stdout);
	}
}

/* WATCHDOG=1 when due; the ms until the next one (or 1000). */
static long long
notify_tick(long long now)
{
	static long long	next;
	long long		every = env_num("NOTIFY_WATCHDOG_MS", 0);

	if (every <= 0)
		return 1000;
	if (now >= next) {
		sd_send("WATCHDOG=1");
		next = now + every;
	}
	return next - now;
}

/* A server that stops accepting this way stops it for its siblings too. */
static void
shutdown_listeners(void)
{
	int	i;

	for (i = 0; i < nlisteners; i++)
		if (shutdown(listeners[i], SHUT_RDWR) == -1)
			fprintf(stderr, "reporter: shutdown fd %d: %s\n",
			    listeners[i], strerror(errno));
	stop_listening();
	printf("reporter %ld shut its listeners down\n", (long)getpid());
	fflush(stdout);
}

static void
crash(void)
{
	const char	*name = getenv("CRASH_SIGNAL");
	int		 sig = 0;

	if (name != NULL && *name != '\0') {
		if (strncmp(name, "SIG", 3) == 0)
			name += 3;
		if (strcmp(name, "SEGV") == 0)
			sig = SIGSEGV;
		else if (strcmp(name, "ABRT") == 0)
			sig = SIGABRT;
		else if (strcmp(name, "KILL") == 0)
			sig = SIGKILL;
		else if (strcmp(name, "BUS") == 0)
			sig = SIGBUS;
		else if (strcmp(name, "TERM") == 0)
			sig = SIGTERM;
		else
			sig = atoi(name);
	}
	if (sig > 0) {
		sigset_t set;

		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
	}
	exit((int)env_num("EXIT_CODE", 0));
}

/* SUICIDE_ON_WINCH: ask clusterd for a replacement, on the IPC channel. */
static void
send_suicide(void)
{
	static const char	 msg[] = "{\"cmd\":\"suicide\"}\n";
	long long		 fd = env_num("CLUSTERD_IPC_FD", -1);

	if (fd < 0) {
		fprintf(stderr, "reporter: SUICIDE_ON_WINCH without "
		    "CLUSTERD_IPC_FD\n");
		return;
	}
	write_all((int)fd, msg, sizeof(msg) - 1);
	printf("reporter %ld sent suicide\n", (long)getpid());
	fflush(stdout);
}

/* GROW_ON_URG_MB: more resident memory, kept until exit. */
static void
grow_memory(void)
{
	static char	*growth[64];
	static int	 ngrowth;
	long long	 mb = env_num("GROW_ON_URG_MB", 0);

	if (ngrowth >= 64 || (growth[ngrowth] = malloc((size_t)mb << 20)) ==
	    NULL) {
		perror("reporter: grow");
		return;
	}
	memset(growth[ngrowth++], 1, (size_t)mb << 20);
	printf("reporter %ld grew %lld MiB\n", (long)getpid(), mb);
	fflush(stdout);
}

/*
 * The poll loop: listeners (until a stop), connections reading their
 * request, replies due at c_reply_at, and the self-exit timer.
 */
static void
serve(void)
{
	struct pollfd	 pfd[MAXFDS + MAXCONN];
	long long	 delay = env_num("REPLY_DELAY_MS", 0);
	long long	 exit_after = env_num("EXIT_AFTER_MS", -1);
	long long	 start = now_ms(CLOCK_MONOTONIC), stopped_at = 0, now;
	sigset_t	 empty;
	int		 i, n, np, timeout;

	sigemptyset(&empty);
	for (;;) {
		now = now_ms(CLOCK_MONOTONIC);
		if (exit_after >= 0 && now - start >= exit_after)
			crash();
		if (got_ignored) {
			printf("reporter %ld ignoring signal %d\n",
			    (long)getpid(), (int)got_ignored);
			fflush(stdout);
			got_ignored = 0;
		}
		if (got_winch) {
			got_winch = 0;
			send_suicide();
		}
		if (got_urg) {
			got_urg = 0;
			grow_memory();
		}
		if (got_stop && stopped_at == 0) {
			printf("reporter %ld got signal %d\n", (long)getpid(),
			    (int)got_stop);
			fflush(stdout);
			stopped_at = now;
			stop_listening();
		}
		for (i = 0; i < nconns; i++) {
			if (conns[i].c_reply_at && now >= conns[i].c_reply_at) {
				send_reply(&conns[i]);
				conn_close(i--);
			} else if (stopped_at && !conns[i].c_reply_at &&
			    conns[i].c_len == 0 &&
			    now - stopped_at > IDLE_GRACE_MS)
				conn_close(i--);
		}
		if (stopped_at && nconns == 0)
			exit(0);

		timeout = (int)notify_tick(now);
		if (exit_after >= 0 && exit_after - (now - start) < timeout)
			timeout = (int)(exit_after - (now - start));
		np = 0;
		for (i = 0; i < nlisteners; i++) {
			pfd[np].fd = listeners[i];
			pfd[np++].events = POLLIN;
		}
		for (i = 0; i < nconns; i++) {
			pfd[np].fd = conns[i].c_reply_at ? -1 : conns[i].c_fd;
			pfd[np++].events = POLLIN;
			if (conns[i].c_reply_at && conns[i].c_reply_at - now <
			    timeout)
				timeout = (int)(conns[i].c_reply_at - now);
		}
		if (stopped_at && timeout > 100)
			timeout = 100;
		if (timeout < 0)
			timeout = 0;
		n = ppoll(pfd, (nfds_t)np, &(struct timespec){ timeout / 1000,
		    (timeout % 1000) * 1000000L }, &empty);
		if (n <= 0)
			continue;
		/* Connections first: conn_close() reorders the array. */
		for (i = nconns - 1; i >= 0; i--)
			if (pfd[nlisteners + i].revents)
				read_request(i, delay);
		for (i = 0; i < nlisteners; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(listeners[i]);
	}
}

/* A grandchild whose parent never waits: an orphan once we exit. */
static pid_t
spawn_orphan(void)
{
	pid_t	pid;

	if ((pid = fork()) == 0) {
		usleep(300000);
		_exit(0);
	}
	return pid;
}

/* Resident memory for max_memory tests: allocated and touched, kept. */
static char	*ballast;

static void
alloc_memory(long long mb)
{
	if (mb <= 0)
		return;
	if ((ballast = malloc((size_t)mb << 20)) == NULL) {
		perror("reporter: malloc");
		return;
	}
	memset(ballast, 1, (size_t)mb << 20);
	printf("reporter %ld allocated %lld MiB\n", (long)getpid(), mb);
}

int
main(int argc, char **argv)
{
	pid_t	grandchild = 0;

	if (getenv("FAIL_IF_FILE") != NULL &&
	    access(getenv("FAIL_IF_FILE"), F_OK) == 0)
		return 3;
	alloc_memory(env_num("ALLOC_MB", 0));
	if (env_num("SPAWN_ORPHAN", 0))
		grandchild = spawn_orphan();
	if (env_num("SPAWN_CHILD", 0))
		grandchild = spawn_grandchild();
	write_report(argc, argv, grandchild);
	printf("reporter %ld started\n", (long)getpid());
	fflush(stdout);
	fprintf(stderr, "reporter %ld stderr\n", (long)getpid());
	setup_signals();
	find_listeners();
	if (env_num("SHUTDOWN_LISTENER", 0))
		shutdown_listeners();
	if (env_num("NOTIFY_READY", 0))
		sd_send("READY=1");
	serve();
	return 0;
}
