/*
 * clusterctl - control a running clusterd through its control socket.
 *
 * One JSON request line, one JSON response line (clusterctl(1) documents
 * both).  The reply is read with json.c, the reader clusterd itself uses;
 * parse.c checks arguments the way the configuration file does.  Neither
 * needs libev: clusterctl links with libc (and libm) only.
 *
 * Exit status: 0 done, 1 clusterd answered with an error (or not at all),
 * 2 usage, 3 cannot connect.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctlproto.h"
#include "daemon.h"

#define EXIT_REPLY	1	/* an error reply, or none */
#define EXIT_USAGE	2
#define EXIT_CONNECT	3

#define REPLY_MAX	(64 << 20)	/* status of 4096 slots fits easily */
#define TIMEOUT_MS	(30 * 1000)
#define RELOAD_MS	(10 * 60 * 1000)	/* a rolling restart can be long */
#define COLUMNS		80

struct command;

typedef int	(*print_fn)(const struct command *, char **,
		    const struct json_val *);

/* The client's side of each command of ctlproto.h. */
struct command {
	enum ctl_cmd	 cm_cmd;
	const char	*cm_args;	/* in the usage text */
	const char	*cm_help;
	print_fn	 cm_print;
	const char	*cm_done;	/* printed on success; $1, $2: args */
	int		 cm_timeout;	/* ms */
};

/* One row of the status table, decoded from the reply. */
struct row {
	char		 r_prog[NAME_MAXLEN];
	long long	 r_slot;
	long long	 r_pid;
	char		 r_state[16];
	double		 r_uptime;
	long long	 r_restarts;
	long long	 r_rss;
	char		 r_status[1024];
};

static void	usage(FILE *, int) __attribute__((noreturn));
static void	usage_error(const char *, const char *)
		    __attribute__((noreturn));
static const struct command *find_command(const char *);
static const char *cmd_name(const struct command *);
static int	cmd_nargs(const struct command *);
static int	print_done(const struct command *, char **,
		    const struct json_val *);
static int	print_status(const struct command *, char **,
		    const struct json_val *);
static int	status_widths(const struct json_val *, int *);
static int	status_program(const struct json_val *, int, int);
static int	row_read(const struct json_val *, struct row *);
static void	row_print(const struct row *, int, int);
static int	get_string(const struct json_val *, const char *, char *,
		    size_t);
static int	get_int(const struct json_val *, const char *, long long *);
static void	fmt_uptime(double, char *, size_t);
static void	fmt_size(long long, char *, size_t);
static void	fmt_text(const char *, size_t, char *, size_t);
static int	ctl_connect(const char *);
static int	ctl_exchange(int, const char *, int, char **);
static int	read_line(int, int, char **);
static int	wait_readable(int, long);
static long	now_ms(void);
static int	report(const struct command *, char **, const char *, int);
static void	report_error(const struct command *, const char *);

static const struct command commands[] = {
	{ CTL_STATUS, "", "workers of every program, one per line",
	    print_status, NULL, TIMEOUT_MS },
	{ CTL_RELOAD, "", "reload the configuration (as SIGHUP) and wait",
	    print_done, "reload done", RELOAD_MS },
	{ CTL_RESTART, "PROGRAM", "rolling restart of one program",
	    print_done, "$1: rolling restart started", TIMEOUT_MS },
	{ CTL_SCALE, "PROGRAM N", "run N workers of the program",
	    print_done, "$1: scaling to $2 workers", TIMEOUT_MS },
	{ CTL_STOP, "PROGRAM", "stop the program's workers",
	    print_done, "$1: stopping", TIMEOUT_MS },
	{ CTL_START, "PROGRAM", "start the program's workers again",
	    print_done, "$1: starting", TIMEOUT_MS },
	{ CTL_SIGNAL, "PROGRAM SIG", "send a signal to each of its workers",
	    print_done, "$1: sent $2", TIMEOUT_MS },
	{ CTL_SHUTDOWN, "", "stop every worker and exit (as SIGTERM)",
	    print_done, "clusterd is shutting down", TIMEOUT_MS },
};

static const struct option longopts[] = {
	{ "socket",	required_argument,	NULL,	's' },
	{ "json",	no_argument,		NULL,	'j' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

int
main(int argc, char *argv[])
{
	const struct command	*cm;
	const char		*path = getenv("CLUSTERD_CONTROL");
	char			 req[CTL_REQ_MAX], err[ERRBUF_LEN], *reply;
	int			 ch, json = 0, fd, rc;

	while ((ch = getopt_long(argc, argv, "s:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout, 0);
		case 'V':
			printf("clusterctl %s\n", CLUSTERD_VERSION);
			return 0;
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage_error("no command given", NULL);
	if ((cm = find_command(argv[0])) == NULL)
		usage_error("unknown command", argv[0]);
	if (argc - 1 != cmd_nargs(cm)) {
		snprintf(err, sizeof(err), "usage: clusterctl %s%s%s",
		    cmd_name(cm), *cm->cm_args != '\0' ? " " : "",
		    cm->cm_args);
		usage_error(err, NULL);
	}
	if (ctlproto_build(&ctl_cmds[cm->cm_cmd], argc > 1 ? argv[1] : NULL,
	    argc > 2 ? argv[2] : NULL, 0, req, sizeof(req), err,
	    sizeof(err)) == -1)
		usage_error(err, NULL);
	if (path == NULL || *path == '\0')
		usage_error("no control socket: use -s SOCKET or set "
		    "CLUSTERD_CONTROL", NULL);
	if ((fd = ctl_connect(path)) == -1)
		return EXIT_CONNECT;
	rc = ctl_exchange(fd, req, cm->cm_timeout, &reply);
	close(fd);
	if (rc == -1)
		return EXIT_REPLY;
	rc = report(cm, argv + 1, reply, json);
	free(reply);
	return rc;
}

static void
usage(FILE *out, int status)
{
	size_t	i;
	char	cmd[64];

	fprintf(out, "usage: clusterctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
	    "  -s, --socket SOCKET  clusterd's control socket (default: "
	    "$CLUSTERD_CONTROL)\n"
	    "      --json           print clusterd's reply as it is (JSON)\n"
	    "  -h, --help           print this help and exit\n"
	    "  -V, --version        print the version and exit\n"
	    "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s %s", cmd_name(&commands[i]),
		    commands[i].cm_args);
		fprintf(out, "  %-20s %s\n", cmd, commands[i].cm_help);
	}
	exit(status);
}

/* "clusterctl: MESSAGE[: "WHAT"]", then the usage. */
static void
usage_error(const char *msg, const char *what)
{
	if (what != NULL)
		fprintf(stderr, "clusterctl: %s: \"%s\"\n", msg, what);
	else
		fprintf(stderr, "clusterctl: %s\n", msg);
	usage(stderr, EXIT_USAGE);
}

static const struct command *
find_command(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd_name(&commands[i]), name) == 0)
			return &commands[i];
	return NULL;
}

static const char *
cmd_name(const struct command *cm)
{
	return ctl_cmds[cm->cm_cmd].cd_name;
}

/* What its request carries besides the command, from the command line. */
static int
cmd_nargs(const struct command *cm)
{
	switch (ctl_cmds[cm->cm_cmd].cd_arg) {
	case ARG_NONE:
		return 0;
	case ARG_PROGRAM:
		return 1;
	default:
		return 2;
	}
}

/* The command's line of success, $1 and $2 standing for its arguments. */
static int
print_done(const struct command *cm, char **args, const struct json_val *v)
{
	const char	*t;

	(void)v;
	for (t = cm->cm_done; *t != '\0'; t++) {
		if (t[0] == '$' && t[1] >= '1' && t[1] - '0' <= cmd_nargs(cm))
			fputs(args[*++t - '1'], stdout);
		else
			putchar(*t);
	}
	putchar('\n');
	return 0;
}

/* PROGRAM SLOT PID STATE UPTIME RESTARTS RSS STATUS, in 80 columns. */
static int
print_status(const struct command *cm, char **args,
    const struct json_val *reply)
{
	struct json_val	progs, p;
	int		name_w;

	(void)cm;
	(void)args;
	if (json_get(reply, "programs", &progs) == -1 ||
	    progs.jv_kind != JV_ARRAY || status_widths(&progs, &name_w) == -1)
		return -1;
	printf("%-*s %4s %7s %-8s %7s %8s %6s %s\n", name_w, "PROGRAM",
	    "SLOT", "PID", "STATE", "UPTIME", "RESTARTS", "RSS", "STATUS");
	p.jv_text = NULL;
	while (json_next(&progs, &p))
		if (status_program(&p, name_w, 1) == -1)
			return -1;
	p.jv_text = NULL;
	while (json_next(&progs, &p))
		if (status_program(&p, name_w, 0) == -1)
			return -1;
	return 0;
}

/* The PROGRAM column is as wide as the longest name. */
static int
status_widths(const struct json_val *progs, int *name_w)
{
	struct json_val	p;
	char		name[NAME_MAXLEN];

	*name_w = (int)strlen("PROGRAM");
	p.jv_text = NULL;
	while (json_next(progs, &p)) {
		if (get_string(&p, "name", name, sizeof(name)) == -1)
			return -1;
		if ((int)strlen(name) > *name_w)
			*name_w = (int)strlen(name);
	}
	return 0;
}

/* Its rows (rows), or a note when it is rolling or stopped (!rows). */
static int
status_program(const struct json_val *p, int name_w, int rows)
{
	struct json_val	workers, w;
	struct row	r;
	char		state[16];

	if (get_string(p, "name", r.r_prog, sizeof(r.r_prog)) == -1 ||
	    get_string(p, "state", state, sizeof(state)) == -1 ||
	    json_get(p, "workers", &workers) == -1 ||
	    workers.jv_kind != JV_ARRAY)
		return -1;
	if (!rows) {
		if (strcmp(state, "running") != 0)
			printf("%s: %s\n", r.r_prog,
			    strcmp(state, "rolling") == 0 ?
			    "rolling restart under way" : state);
		return 0;
	}
	w.jv_text = NULL;
	while (json_next(&workers, &w)) {
		if (row_read(&w, &r) == -1)
			return -1;
		row_print(&r, name_w, COLUMNS);
	}
	return 0;
}

static int
row_read(const struct json_val *w, struct row *r)
{
	struct json_val	v;

	if (get_int(w, "slot", &r->r_slot) == -1 ||
	    get_int(w, "pid", &r->r_pid) == -1 ||
	    get_string(w, "state", r->r_state, sizeof(r->r_state)) == -1 ||
	    json_get(w, "uptime", &v) == -1 ||
	    json_double(&v, &r->r_uptime) == -1 ||
	    get_int(w, "restarts", &r->r_restarts) == -1 ||
	    get_int(w, "rss", &r->r_rss) == -1 ||
	    get_string(w, "status", r->r_status, sizeof(r->r_status)) == -1)
		return -1;
	return 0;
}

/* One line; the status text is cut to what is left of the width. */
static void
row_print(const struct row *r, int name_w, int width)
{
	char	pid[24], up[24], rss[24], text[sizeof(r->r_status)];
	int	n, left;

	snprintf(pid, sizeof(pid), "%lld", r->r_pid);
	if (r->r_pid == 0)
		snprintf(up, sizeof(up), "-");
	else
		fmt_uptime(r->r_uptime, up, sizeof(up));
	fmt_size(r->r_rss, rss, sizeof(rss));
	n = printf("%-*s %4lld %7s %-8s %7s %8lld %6s", name_w, r->r_prog,
	    r->r_slot, r->r_pid == 0 ? "-" : pid, r->r_state, up,
	    r->r_restarts, rss);
	left = width - n - 1;
	if (r->r_status[0] != '\0' && left > 0) {
		fmt_text(r->r_status, (size_t)left, text, sizeof(text));
		printf(" %s", text);
	}
	putchar('\n');
}

static int
get_string(const struct json_val *obj, const char *key, char *buf,
    size_t len)
{
	struct json_val	v;

	if (json_get(obj, key, &v) == -1)
		return -1;
	return json_string(&v, buf, len);
}

static int
get_int(const struct json_val *obj, const char *key, long long *out)
{
	struct json_val	v;

	if (json_get(obj, key, &v) == -1)
		return -1;
	return json_int(&v, 0, (1LL << 62), out);
}

/* 5s, 3m12s, 2h05m, 3d04h */
static void
fmt_uptime(double secs, char *buf, size_t len)
{
	long long	s = secs > 0 ? (long long)secs : 0;

	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

/* 512B, 9.5K, 12.3M, 187M, 1.2G; "-" for unknown. */
static void
fmt_size(long long bytes, char *buf, size_t len)
{
	static const char	units[] = "KMGTP";
	double			v = (double)bytes;
	int			u = -1;

	if (bytes <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	while (v >= 1024 && u < (int)sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%lldB", bytes);
	else if (v < 99.95)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
}

/*
 * Text a worker sent, fit for a terminal: controls (C0, DEL, C1) become
 * '?', and it is cut to max bytes without splitting a UTF-8 sequence.
 */
static void
fmt_text(const char *s, size_t max, char *buf, size_t len)
{
	const unsigned char	*c = (const unsigned char *)s;
	size_t			 n = 0;

	for (; *c != '\0' && n + 1 < len; c++, n++) {
		if (*c < 0x20 || *c == 0x7f)
			buf[n] = '?';
		else if (*c == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) {
			buf[n] = '?';
			c++;
		} else
			buf[n] = (char)*c;
	}
	buf[n] = '\0';
	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)buf[n] & 0xc0) == 0x80)
		n--;
	buf[n] = '\0';
}

/* A connected socket, or -1 (said why, and where clusterd should be). */
static int
ctl_connect(const char *path)
{
	struct sockaddr_un	sun;
	struct timeval		tv = { TIMEOUT_MS / 1000, 0 };
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "clusterctl: cannot connect to %s: the path is "
		    "too long for a unix socket\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "clusterctl: socket: %s\n", strerror(errno));
		return -1;
	}
	/* a full backlog makes connect wait: not longer than this */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "clusterctl: cannot connect to %s: %s (is "
		    "clusterd running with control = %s?)\n", path,
		    strerror(errno), path);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Send the request, read the reply line.  clusterd may answer and close
 * before it has read the request (a refusal): the reply counts all the
 * same, so a failed send is only reported if no reply follows.
 */
static int
ctl_exchange(int fd, const char *req, int timeout, char **reply)
{
	size_t	len = strlen(req), off = 0;
	ssize_t	n;
	int	send_errno = 0;

	while (off < len) {
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			send_errno = errno;
			break;
		}
		off += (size_t)n;
	}
	if (read_line(fd, timeout, reply) == 0)
		return 0;
	if (send_errno != 0)
		fprintf(stderr, "clusterctl: send: %s\n", strerror(send_errno));
	return -1;
}

/* One line from fd within timeout ms, without its newline; malloc'd. */
static int
read_line(int fd, int timeout, char **line)
{
	char	*buf = NULL, *nl = NULL, *nbuf;
	size_t	 len = 0, cap = 0;
	ssize_t	 n = 1;
	long	 end = now_ms() + timeout;

	while (nl == NULL && n > 0 && len < REPLY_MAX) {
		if (wait_readable(fd, end) == -1) {
			fprintf(stderr, "clusterctl: no reply from clusterd "
			    "within %ds\n", timeout / 1000);
			free(buf);
			return -1;
		}
		if (len + 65536 + 1 > cap) {
			cap = cap == 0 ? 65536 + 1 : cap * 2;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				free(buf);
				fprintf(stderr, "clusterctl: out of memory\n");
				return -1;
			}
			buf = nbuf;
		}
		if ((n = read(fd, buf + len, 65536)) == -1 && errno == EINTR)
			n = 1;
		else if (n > 0) {
			nl = memchr(buf + len, '\n', (size_t)n);
			len += (size_t)n;
		}
	}
	if (nl == NULL) {
		fprintf(stderr, "clusterctl: %s\n", n == -1 ? strerror(errno) :
		    n == 0 ? "clusterd closed the connection without a reply" :
		    "the reply is too long");
		free(buf);
		return -1;
	}
	*nl = '\0';
	*line = buf;
	return 0;
}

/* 0 once fd is readable (or at EOF), -1 at the deadline. */
static int
wait_readable(int fd, long end)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	long		left;
	int		rc;

	for (;;) {
		if ((left = end - now_ms()) <= 0)
			return -1;
		rc = poll(&pfd, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc == 0 || errno != EINTR)
			return rc == 0 ? -1 : 0;	/* read says why */
	}
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the reply says, on stdout (success) or stderr; the exit status. */
static int
report(const struct command *cm, char **args, const char *reply, int json)
{
	struct json_val	v, ok, e;
	char		err[ERRBUF_LEN];
	int		good;

	if (json_parse(reply, strlen(reply), &v, err, sizeof(err)) == -1 ||
	    json_get(&v, "ok", &ok) == -1 || json_bool(&ok, &good) == -1) {
		fprintf(stderr, "clusterctl: malformed reply from clusterd: "
		    "%s\n", reply);
		return EXIT_REPLY;
	}
	if (json) {
		puts(reply);
		return good ? 0 : EXIT_REPLY;
	}
	if (!good) {
		if (json_get(&v, "error", &e) == -1 || e.jv_kind != JV_STRING)
			report_error(cm, "clusterd gave no reason");
		else {
			char	*msg = malloc(e.jv_len + 1);

			if (msg == NULL ||
			    json_string(&e, msg, e.jv_len + 1) == -1)
				report_error(cm, "(unreadable error text)");
			else
				report_error(cm, msg);
			free(msg);
		}
		return EXIT_REPLY;
	}
	if (cm->cm_print(cm, args, &v) == -1) {
		fprintf(stderr, "clusterctl: malformed reply from clusterd\n");
		return EXIT_REPLY;
	}
	return 0;
}

/*
 * One line: "clusterctl: MESSAGE".  Several (a reload's FILE:LINE
 * errors): a heading, then each as it is, for editors to jump to.
 */
static void
report_error(const struct command *cm, const char *msg)
{
	const char	*what = cm->cm_cmd == CTL_RELOAD ?
			    "reload failed: " : "";

	if (strchr(msg, '\n') == NULL)
		fprintf(stderr, "clusterctl: %s%s\n", what, msg);
	else
		fprintf(stderr, "clusterctl: %s failed:\n%s\n", cmd_name(cm),
		    msg);
}
