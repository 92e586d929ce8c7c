/*
 * SPDX-License-Identifier: ISC
 *
 * clusterctl - control a running clusterd through its control socket.
 *
 * One JSON request line; clusterd answers with one JSON line or, for an
 * operation clusterctl waits for (--wait, and reload), {"progress":...}
 * lines and then that one.  clusterctl(1) documents the protocol.  The
 * request line is built by ctlproto.c, the module clusterd reads it
 * with; replies are read with json.c; parse.c checks arguments as the
 * configuration does.  For -c, config.c reads the file the way clusterd
 * does (with cfgread.c, cfgkeys.c, cfgcheck.c, envfile.c, strv.c, log.c
 * and inih).  No libev.
 *
 * Exit status: 0 done (check: ready), 1 clusterd answered with an error
 * or not in time (check: not ready), 2 usage (and a -c file that does
 * not load), 3 cannot connect (clusterd refused this user included).
 */

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctlproto.h"
#include "daemon.h"

#define EXIT_REPLY	1	/* an error reply, or none; not ready */
#define EXIT_USAGE	2
#define EXIT_CONNECT	3

#define REPLY_MAX	(64 << 20)	/* a line; status of 4096 slots fits */
#define TIMEOUT_MS	(30 * 1000)
#define UPGRADE_MS	(2 * 60 * 1000)	/* the new binary's check: 30 s */
#define RELOAD_MS	(10 * 60 * 1000)	/* rolls can be long */
#define DEFAULT_SOCKET	"/run/clusterd/clusterd.sock"
#define COLUMNS		80	/* a terminal that does not say its width */
#define CELL_MAX	72	/* a cell of the table, but STATUS */
#define STATUS_MAX	1024	/* STATUS, made fit for a terminal */
#define MORE		(-1)	/* a line that is not the last one */

/* Where the socket's path came from, for the messages. */
enum sock_source {
	SRC_OPTION,		/* -s */
	SRC_ENV,		/* CLUSTERD_CONTROL */
	SRC_CONFIG,		/* -c: its control key */
	SRC_DEFAULT
};

struct opts {
	const char	*o_socket;	/* -s */
	const char	*o_config;	/* -c */
	int		 o_json;
	int		 o_wait;
	long long	 o_timeout;	/* ms; 0: the command's own */
	char		**o_args;	/* the command's arguments */
	int		 o_nargs;
};

struct sockref {
	char		*sk_path;	/* malloc'd */
	enum sock_source sk_source;
	const char	*sk_config;	/* SRC_CONFIG: the file */
};

struct command;

typedef int	(*print_fn)(const struct command *, const struct opts *,
		    const char *, const struct json_val *);

/* The client's side of each command of ctlproto.h. */
struct command {
	enum ctl_cmd	 cm_cmd;
	const char	*cm_args;	/* in the usage text */
	int		 cm_optional;	/* its one argument may be left out */
	const char	*cm_help;
	print_fn	 cm_print;
	const char	*cm_done;	/* printed on success; $1, $2: args */
	const char	*cm_waited;	/* ... after --wait; NULL: no --wait */
	int		 cm_timeout;	/* ms */
};

/* The reply, line by line, within a deadline. */
struct reader {
	int		 rd_fd;
	char		*rd_buf;
	size_t		 rd_len;	/* bytes in rd_buf */
	size_t		 rd_used;	/* of them, the lines handed out */
	size_t		 rd_cap;
	long long	 rd_end;	/* deadline, now_ms() */
};

/* The status table. */
enum column {
	COL_PROGRAM,
	COL_SLOT,
	COL_PID,
	COL_STATE,
	COL_UPTIME,
	COL_RESTARTS,
	COL_REPLACED,
	COL_CPU,
	COL_RSS,
	COL_EXIT,
	COL_STATUS,		/* the last one, the only one ever cut */
	NCOLS
};

struct row {
	char		 r_cell[COL_STATUS][CELL_MAX];
	char		 r_status[STATUS_MAX];
};

struct table {
	struct row	*t_rows;
	size_t		 t_nrows;
	size_t		 t_cap;
};

static void	usage(FILE *, int) __attribute__((noreturn));
static void	usage_error(const char *, const char *)
		    __attribute__((noreturn));
static void	parse_options(int, char *[], struct opts *);
static long long parse_timeout(const char *);
static const struct command *check_command(int, char *[], struct opts *);
static const struct command *find_command(const char *);
static const char *cmd_name(const struct command *);
static int	cmd_nargs(const struct command *);
static int	waits(const struct command *, const struct opts *);
static long long cmd_timeout(const struct command *, const struct opts *);
static void	build_request(const struct command *, const struct opts *,
		    char *, size_t);
static int	find_socket(const struct opts *, struct sockref *);
static int	socket_from_config(const char *, struct sockref *);
static int	ctl_connect(const struct sockref *);
static void	connect_failed(const struct sockref *, int);
static const char *source_note(const struct sockref *);
static void	who_may(const char *, char *, size_t);
static const char *user_name(uid_t, char *, size_t);
static const char *group_name(gid_t, char *, size_t);
static int	converse(int, const struct command *, const struct opts *,
		    const struct sockref *, const char *);
static void	timed_out(const struct command *, const struct opts *);
static int	on_line(const struct command *, const struct opts *,
		    const struct sockref *, char *);
static int	reader_line(struct reader *, char **);
static int	reader_fill(struct reader *);
static int	wait_readable(int, long long);
static long long now_ms(void);
static int	report(const struct command *, const struct opts *,
		    const struct sockref *, const char *,
		    const struct json_val *);
static int	refused(const struct sockref *, const char *);
static void	report_error(const struct command *, const char *);
static int	malformed(const char *);
static int	print_done(const struct command *, const struct opts *,
		    const char *, const struct json_val *);
static int	print_check(const struct command *, const struct opts *,
		    const char *, const struct json_val *);
static int	print_status(const struct command *, const struct opts *,
		    const char *, const struct json_val *);
static int	find_program(const struct json_val *, const char *,
		    struct json_val *);
static int	no_program(const struct opts *, const char *);
static int	table_program(struct table *, const struct json_val *);
static int	row_read(const struct json_val *, const char *,
		    struct row *);
static void	table_print(const struct table *, int);
static void	line_print(const char (*)[CELL_MAX], const char *,
		    const int *, int);
static int	term_width(void);
static void	print_summary(const struct json_val *);
static int	get_string(const struct json_val *, const char *, char *,
		    size_t);
static int	get_int(const struct json_val *, const char *, long long *);
static int	get_double(const struct json_val *, const char *, double *);
static void	fmt_uptime(double, char *, size_t);
static void	fmt_cpu(double, char *, size_t);
static void	fmt_size(long long, char *, size_t);
static void	fmt_text(const char *, char *, size_t);
static size_t	text_width(const char *);
static void	text_cut(char *, size_t);

static const struct command commands[] = {
	{ CTL_STATUS, "[PROGRAM]", 1,
	    "the workers (of one program), and a line per program",
	    print_status, NULL, NULL, TIMEOUT_MS },
	{ CTL_CHECK, "", 0,
	    "exit 0 if every worker is ready, else 1 and why",
	    print_check, NULL, NULL, TIMEOUT_MS },
	{ CTL_RELOAD, "", 0,
	    "reload the configuration (as SIGHUP), wait for it",
	    print_done, "reload done", "reload done", RELOAD_MS },
	{ CTL_RESTART, "PROGRAM", 0, "rolling restart of one program",
	    print_done, "$1: rolling restart started",
	    "$1: rolling restart done", TIMEOUT_MS },
	{ CTL_SCALE, "PROGRAM N", 0, "run N workers of the program",
	    print_done, "$1: scaling to $2 worker$s",
	    "$1: $2 worker$s, all ready", TIMEOUT_MS },
	{ CTL_STOP, "PROGRAM", 0, "stop the program's workers",
	    print_done, "$1: stopping", "$1: stopped", TIMEOUT_MS },
	{ CTL_START, "PROGRAM", 0, "start the program's workers again",
	    print_done, "$1: starting", "$1: started, every worker ready",
	    TIMEOUT_MS },
	{ CTL_SIGNAL, "PROGRAM SIG", 0, "send a signal to each of its workers",
	    print_done, "$1: sent $2", NULL, TIMEOUT_MS },
	{ CTL_SHUTDOWN, "", 0, "stop every worker and exit (as SIGTERM)",
	    print_done, "clusterd is shutting down", NULL, TIMEOUT_MS },
	{ CTL_UPGRADE, "", 0,
	    "upgrade clusterd in place (as SIGUSR2), wait",
	    print_done, "upgrade done", NULL, UPGRADE_MS },
};

static const struct {
	const char	*c_head;
	int		 c_right;	/* aligned to the right */
} columns[NCOLS] = {
	[COL_PROGRAM] = { "PROGRAM", 0 },
	[COL_SLOT] = { "SLOT", 1 },
	[COL_PID] = { "PID", 1 },
	[COL_STATE] = { "STATE", 0 },
	[COL_UPTIME] = { "UPTIME", 1 },
	[COL_RESTARTS] = { "RESTARTS", 1 },
	[COL_REPLACED] = { "REPLACED", 1 },
	[COL_CPU] = { "CPU", 1 },
	[COL_RSS] = { "RSS", 1 },
	[COL_EXIT] = { "LAST EXIT", 0 },
	[COL_STATUS] = { "STATUS", 0 },
};

#define OPT_JSON	256
#define OPT_TIMEOUT	257

static const struct option longopts[] = {
	{ "socket",	required_argument,	NULL,	's' },
	{ "config",	required_argument,	NULL,	'c' },
	{ "json",	no_argument,		NULL,	OPT_JSON },
	{ "wait",	no_argument,		NULL,	'w' },
	{ "timeout",	required_argument,	NULL,	OPT_TIMEOUT },
	{ "help",	no_argument,		NULL,	'h' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

int
main(int argc, char *argv[])
{
	const struct command	*cm;
	struct opts		 o;
	struct sockref		 sk;
	char			 req[CTL_REQ_MAX];
	int			 fd, rc;

	parse_options(argc, argv, &o);
	cm = check_command(argc - optind, argv + optind, &o);
	build_request(cm, &o, req, sizeof(req));
	if (find_socket(&o, &sk) == -1)
		return EXIT_USAGE;
	if ((fd = ctl_connect(&sk)) == -1) {
		free(sk.sk_path);
		return EXIT_CONNECT;
	}
	rc = converse(fd, cm, &o, &sk, req);
	close(fd);
	free(sk.sk_path);
	return rc;
}

static void
usage(FILE *out, int status)
{
	size_t	i;
	char	cmd[64];

	fprintf(out, "usage: clusterctl [-s SOCKET | -c CONFIG] [--json] "
	    "[--wait] [--timeout DURATION]\n"
	    "                  COMMAND [ARGS]\n"
	    "  -s, --socket SOCKET  clusterd's control socket\n"
	    "  -c, --config CONFIG  the socket of this configuration's "
	    "control key\n"
	    "                       (without either: $CLUSTERD_CONTROL, "
	    "else\n"
	    "                       " DEFAULT_SOCKET ")\n"
	    "      --json           print clusterd's replies as they are "
	    "(JSON)\n"
	    "  -w, --wait           restart, scale, start, stop, reload: "
	    "wait until\n"
	    "                       done, a line per worker on the way\n"
	    "      --timeout DURATION  wait no longer (default 30s; reload: "
	    "10m)\n"
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

static void
parse_options(int argc, char *argv[], struct opts *o)
{
	int	ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "s:c:whV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			if (*optarg == '\0')
				usage_error("-s: the path is empty", NULL);
			o->o_socket = optarg;
			break;
		case 'c':
			o->o_config = optarg;
			break;
		case OPT_JSON:
			o->o_json = 1;
			break;
		case 'w':
			o->o_wait = 1;
			break;
		case OPT_TIMEOUT:
			o->o_timeout = parse_timeout(optarg);
			break;
		case 'h':
			usage(stdout, 0);
		case 'V':
			printf("clusterctl %s\n", CLUSTERD_VERSION);
			exit(0);
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
}

/* --timeout's DURATION, in ms. */
static long long
parse_timeout(const char *arg)
{
	char		err[ERRBUF_LEN], msg[ERRBUF_LEN + 16];
	double		secs;
	long long	ms;

	if (parse_duration(arg, &secs, err, sizeof(err)) == -1) {
		snprintf(msg, sizeof(msg), "--timeout: %s", err);
		usage_error(msg, NULL);
	}
	if ((ms = llround(secs * 1000)) <= 0)
		usage_error("--timeout: must be more than 0", arg);
	return ms;
}

/* The command of argv[0], with the right number of arguments. */
static const struct command *
check_command(int argc, char *argv[], struct opts *o)
{
	const struct command	*cm;
	char			 err[ERRBUF_LEN];
	int			 n;

	if (argc == 0)
		usage_error("no command given", NULL);
	if ((cm = find_command(argv[0])) == NULL)
		usage_error("unknown command", argv[0]);
	n = cmd_nargs(cm);
	if (argc - 1 != n && !(cm->cm_optional && argc - 1 == n - 1)) {
		snprintf(err, sizeof(err), "usage: clusterctl %s%s%s",
		    cmd_name(cm), *cm->cm_args != '\0' ? " " : "",
		    cm->cm_args);
		usage_error(err, NULL);
	}
	if (o->o_wait && cm->cm_waited == NULL) {
		snprintf(err, sizeof(err), "--wait: %s does not take it (only "
		    "restart, scale, start, stop and reload do)",
		    cmd_name(cm));
		usage_error(err, NULL);
	}
	o->o_args = argv + 1;
	o->o_nargs = argc - 1;
	return cm;
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

/* The arguments it takes on the command line. */
static int
cmd_nargs(const struct command *cm)
{
	if (cm->cm_optional)
		return 1;
	switch (ctl_cmds[cm->cm_cmd].cd_arg) {
	case ARG_NONE:
		return 0;
	case ARG_PROGRAM:
		return 1;
	default:
		return 2;
	}
}

/* Does clusterctl wait for the end of an operation (and say so)? */
static int
waits(const struct command *cm, const struct opts *o)
{
	return o->o_wait || cm->cm_cmd == CTL_RELOAD;
}

static long long
cmd_timeout(const struct command *cm, const struct opts *o)
{
	return o->o_timeout > 0 ? o->o_timeout : cm->cm_timeout;
}

/*
 * --wait asks for the end and the progress; a reload always ends first,
 * and shows its progress on a terminal.  status PROGRAM asks for every
 * program: clusterctl picks the one.
 */
static void
build_request(const struct command *cm, const struct opts *o, char *req,
    size_t len)
{
	const char	*prog = NULL, *arg = NULL;
	char		 err[ERRBUF_LEN];
	int		 flags = 0;

	if (o->o_wait)
		flags = CTL_WAIT | CTL_PROGRESS;
	else if (cm->cm_cmd == CTL_RELOAD && !o->o_json &&
	    isatty(STDOUT_FILENO))
		flags = CTL_PROGRESS;
	if (o->o_nargs > 0 && cm->cm_optional && !valid_name(o->o_args[0])) {
		snprintf(err, sizeof(err), "invalid program name \"%s\"",
		    o->o_args[0]);
		usage_error(err, NULL);
	}
	if (!cm->cm_optional && o->o_nargs > 0)
		prog = o->o_args[0];
	if (o->o_nargs > 1)
		arg = o->o_args[1];
	if (ctlproto_build(&ctl_cmds[cm->cm_cmd], prog, arg, flags, req, len,
	    err, sizeof(err)) == -1)
		usage_error(err, NULL);
}

/*
 * The socket: -s, else $CLUSTERD_CONTROL, else the control key of -c's
 * file, else the default.  -1 (said why) if -c's file gives none.
 */
static int
find_socket(const struct opts *o, struct sockref *sk)
{
	const char	*env = getenv("CLUSTERD_CONTROL"), *path;

	memset(sk, 0, sizeof(*sk));
	if (o->o_socket != NULL) {
		path = o->o_socket;
		sk->sk_source = SRC_OPTION;
	} else if (env != NULL && *env != '\0') {
		path = env;
		sk->sk_source = SRC_ENV;
	} else if (o->o_config != NULL)
		return socket_from_config(o->o_config, sk);
	else {
		path = DEFAULT_SOCKET;
		sk->sk_source = SRC_DEFAULT;
	}
	if ((sk->sk_path = strdup(path)) == NULL) {
		fprintf(stderr, "clusterctl: out of memory\n");
		return -1;
	}
	return 0;
}

/* Read the file as clusterd does; its control key is the socket. */
static int
socket_from_config(const char *file, struct sockref *sk)
{
	struct config	*cf;
	char		*errors;

	sk->sk_source = SRC_CONFIG;
	sk->sk_config = file;
	if ((cf = config_load(file, &errors)) == NULL) {
		fprintf(stderr, "clusterctl: -c %s: the configuration has "
		    "errors, so its control socket is not known (-s SOCKET "
		    "names it):\n%s", file, errors != NULL ? errors :
		    "out of memory\n");
		free(errors);
		return -1;
	}
	if (cf->cf_control == NULL) {
		fprintf(stderr, "clusterctl: -c %s: the configuration has no "
		    "control key: its clusterd listens on no control socket\n",
		    file);
		config_free(cf);
		return -1;
	}
	sk->sk_path = strdup(cf->cf_control);
	config_free(cf);
	if (sk->sk_path == NULL) {
		fprintf(stderr, "clusterctl: out of memory\n");
		return -1;
	}
	return 0;
}

/* A connected socket, or -1 (said why, and who may use it). */
static int
ctl_connect(const struct sockref *sk)
{
	struct sockaddr_un	sun;
	struct timeval		tv = { TIMEOUT_MS / 1000, 0 };
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sk->sk_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "clusterctl: cannot connect to %s%s: the path "
		    "is too long for a unix socket (%zu bytes; the limit is "
		    "%zu)\n", sk->sk_path, source_note(sk),
		    strlen(sk->sk_path), sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, sk->sk_path, strlen(sk->sk_path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "clusterctl: socket: %s\n", strerror(errno));
		return -1;
	}
	/* a full backlog makes connect wait: not longer than this */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		connect_failed(sk, errno);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Which of: no socket file, nobody listening on it, this user not
 * allowed (and who is), or anything else.
 */
static void
connect_failed(const struct sockref *sk, int err)
{
	const char	*path = sk->sk_path, *note = source_note(sk);
	struct stat	 st;
	char		 who[512], me[64];

	if (err == ENOENT)
		fprintf(stderr, "clusterctl: cannot connect to %s%s: no such "
		    "file: clusterd is not running, or its control key names "
		    "another path%s\n", path, note,
		    sk->sk_source == SRC_DEFAULT ? " (name it with -s "
		    "SOCKET, CLUSTERD_CONTROL or -c CONFIG)" : "");
	else if (err == ECONNREFUSED && lstat(path, &st) == 0 &&
	    !S_ISSOCK(st.st_mode))
		fprintf(stderr, "clusterctl: cannot connect to %s%s: the file "
		    "is not a socket\n", path, note);
	else if (err == ECONNREFUSED)
		fprintf(stderr, "clusterctl: cannot connect to %s%s: nobody "
		    "is listening (connection refused): clusterd is not "
		    "running; the file is a stale socket left behind\n", path,
		    note);
	else if (err == EACCES || err == EPERM) {
		who_may(path, who, sizeof(who));
		fprintf(stderr, "clusterctl: cannot connect to %s%s: "
		    "permission denied for %s (uid %lu): %s\n", path, note,
		    user_name(getuid(), me, sizeof(me)),
		    (unsigned long)getuid(), who);
	} else if (err == EAGAIN || err == EINPROGRESS)
		fprintf(stderr, "clusterctl: cannot connect to %s%s: clusterd "
		    "did not accept the connection within %ds\n", path, note,
		    TIMEOUT_MS / 1000);
	else
		fprintf(stderr, "clusterctl: cannot connect to %s%s: %s\n",
		    path, note, strerror(err));
}

static const char *
source_note(const struct sockref *sk)
{
	static char	note[PATH_MAX + 64];

	switch (sk->sk_source) {
	case SRC_ENV:
		return " (from CLUSTERD_CONTROL)";
	case SRC_CONFIG:
		snprintf(note, sizeof(note), " (the control key of %s)",
		    sk->sk_config);
		return note;
	case SRC_DEFAULT:
		return " (the default)";
	default:
		return "";
	}
}

/*
 * Who may connect, from the socket file: connecting takes write
 * permission on it, which root has anyway.
 */
static void
who_may(const char *path, char *buf, size_t len)
{
	struct stat	st;
	char		owner[64], group[64];
	int		by_owner, by_group;

	if (lstat(path, &st) == -1) {
		snprintf(buf, len, "a directory on the way to it is closed to "
		    "this user (lstat: %s)", strerror(errno));
		return;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(buf, len, "the socket is open to everyone, so a "
		    "directory on the way to it is closed to this user");
		return;
	}
	by_owner = st.st_uid != 0 && (st.st_mode & S_IWUSR);
	by_group = (st.st_mode & S_IWGRP) != 0;
	user_name(st.st_uid, owner, sizeof(owner));
	group_name(st.st_gid, group, sizeof(group));
	if (by_owner && by_group)
		snprintf(buf, len, "only root, %s and members of group %s may "
		    "use it", owner, group);
	else if (by_owner)
		snprintf(buf, len, "only root and %s may use it", owner);
	else if (by_group)
		snprintf(buf, len, "only root and members of group %s may use "
		    "it", group);
	else
		snprintf(buf, len, "only root may use it");
}

static const char *
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd	*pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
	return buf;
}

static const char *
group_name(gid_t gid, char *buf, size_t len)
{
	struct group	*gr = getgrgid(gid);

	if (gr != NULL)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "%lu", (unsigned long)gid);
	return buf;
}

/*
 * Send the request, then read lines until the last one: progress lines
 * are printed as they come.  clusterd may answer and close before it
 * has read the request (a refusal): the reply counts all the same, so a
 * failed send is only reported if no reply follows.  The exit status.
 */
static int
converse(int fd, const struct command *cm, const struct opts *o,
    const struct sockref *sk, const char *req)
{
	struct reader	 rd = { fd, NULL, 0, 0, 0, 0 };
	size_t		 len = strlen(req), off = 0;
	ssize_t		 n;
	char		*line;
	int		 send_errno = 0, rc = MORE;

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
	rd.rd_end = now_ms() + cmd_timeout(cm, o);
	while (rc == MORE) {
		switch (reader_line(&rd, &line)) {
		case 1:
			rc = on_line(cm, o, sk, line);
			break;
		case 0:
			timed_out(cm, o);
			rc = EXIT_REPLY;
			break;
		default:
			if (send_errno != 0)
				fprintf(stderr, "clusterctl: send: %s\n",
				    strerror(send_errno));
			rc = EXIT_REPLY;
		}
	}
	free(rd.rd_buf);
	return rc;
}

/* No final line in time: what goes on, and since when. */
static void
timed_out(const struct command *cm, const struct opts *o)
{
	char	d[32];
	int	i;

	format_duration((double)cmd_timeout(cm, o) / 1000, d, sizeof(d));
	if (!waits(cm, o)) {
		fprintf(stderr, "clusterctl: no reply from clusterd within "
		    "%s\n", d);
		return;
	}
	fprintf(stderr, "clusterctl: %s", cmd_name(cm));
	for (i = 0; i < o->o_nargs; i++)
		fprintf(stderr, " %s", o->o_args[i]);
	fprintf(stderr, ": still under way after %s; the operation goes on\n",
	    d);
}

/* A progress line is printed (MORE); the last one is the reply. */
static int
on_line(const struct command *cm, const struct opts *o,
    const struct sockref *sk, char *line)
{
	struct json_val	v, p, ok;
	char		err[ERRBUF_LEN], text[STATUS_MAX], *raw;

	if (json_parse(line, strlen(line), &v, err, sizeof(err)) == -1 ||
	    v.jv_kind != JV_OBJECT)
		return malformed(line);
	if (json_get(&v, "progress", &p) == -1 || json_get(&v, "ok",
	    &ok) == 0)
		return report(cm, o, sk, line, &v);
	if (o->o_json)
		puts(line);
	else {
		if (p.jv_kind != JV_STRING ||
		    (raw = malloc(p.jv_len + 1)) == NULL)
			return malformed(line);
		if (json_string(&p, raw, p.jv_len + 1) == -1) {
			free(raw);
			return malformed(line);
		}
		fmt_text(raw, text, sizeof(text));
		free(raw);
		puts(text);
	}
	fflush(stdout);
	return MORE;
}

/*
 * The next line, without its newline, in *line (valid until the next
 * call): 1; 0 at the deadline; -1 on an error or the end (said).
 */
static int
reader_line(struct reader *rd, char **line)
{
	char	*nl;
	int	 rc;

	if (rd->rd_used > 0) {
		memmove(rd->rd_buf, rd->rd_buf + rd->rd_used,
		    rd->rd_len - rd->rd_used);
		rd->rd_len -= rd->rd_used;
		rd->rd_used = 0;
	}
	while ((nl = rd->rd_len == 0 ? NULL : memchr(rd->rd_buf, '\n',
	    rd->rd_len)) == NULL) {
		if (rd->rd_len >= REPLY_MAX) {
			fprintf(stderr, "clusterctl: the reply is too long\n");
			return -1;
		}
		if ((rc = reader_fill(rd)) != 1)
			return rc;
	}
	*nl = '\0';
	*line = rd->rd_buf;
	rd->rd_used = (size_t)(nl - rd->rd_buf) + 1;
	return 1;
}

/* Read what comes: 1; 0 at the deadline; -1 on an error or EOF. */
static int
reader_fill(struct reader *rd)
{
	char	*nbuf;
	ssize_t	 n;

	if (rd->rd_len + 65536 + 1 > rd->rd_cap) {
		rd->rd_cap = rd->rd_cap == 0 ? 65536 + 1 : rd->rd_cap * 2;
		if ((nbuf = realloc(rd->rd_buf, rd->rd_cap)) == NULL) {
			fprintf(stderr, "clusterctl: out of memory\n");
			return -1;
		}
		rd->rd_buf = nbuf;
	}
	if (wait_readable(rd->rd_fd, rd->rd_end) == -1)
		return 0;
	while ((n = read(rd->rd_fd, rd->rd_buf + rd->rd_len, 65536)) == -1 &&
	    errno == EINTR)
		;
	if (n > 0) {
		rd->rd_len += (size_t)n;
		return 1;
	}
	fprintf(stderr, "clusterctl: %s\n", n == -1 ? strerror(errno) :
	    "clusterd closed the connection without a reply");
	return -1;
}

/* 0 once fd is readable (or at EOF), -1 at the deadline. */
static int
wait_readable(int fd, long long end)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	long long	left;
	int		rc;

	for (;;) {
		if ((left = end - now_ms()) <= 0)
			return -1;
		rc = poll(&pfd, 1, left > 3600000 ? 3600000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc == -1 && errno != EINTR)
			return 0;	/* read says why */
	}
}

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the last line says, on stdout or stderr; the exit status. */
static int
report(const struct command *cm, const struct opts *o,
    const struct sockref *sk, const char *line, const struct json_val *v)
{
	struct json_val	 ok, e;
	char		*msg;
	int		 good, rc;

	if (json_get(v, "ok", &ok) == -1 || json_bool(&ok, &good) == -1)
		return malformed(line);
	if (good)
		return cm->cm_print(cm, o, line, v);
	if (o->o_json)
		puts(line);
	if (json_get(v, "error", &e) == -1 || e.jv_kind != JV_STRING ||
	    (msg = malloc(e.jv_len + 1)) == NULL) {
		if (!o->o_json)
			report_error(cm, "clusterd gave no reason");
		return EXIT_REPLY;
	}
	if (json_string(&e, msg, e.jv_len + 1) == -1)
		snprintf(msg, e.jv_len + 1, "(unreadable error text)");
	if (strncmp(msg, "permission denied:", 18) == 0)
		rc = o->o_json ? EXIT_CONNECT : refused(sk, msg);
	else {
		if (!o->o_json)
			report_error(cm, msg);
		rc = EXIT_REPLY;
	}
	free(msg);
	return rc;
}

/* clusterd itself refused this user (SO_PEERCRED). */
static int
refused(const struct sockref *sk, const char *msg)
{
	fprintf(stderr, "clusterctl: cannot use %s%s: clusterd refused the "
	    "connection: %s\n", sk->sk_path, source_note(sk), msg);
	return EXIT_CONNECT;
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

static int
malformed(const char *line)
{
	fprintf(stderr, "clusterctl: malformed reply from clusterd: %s\n",
	    line);
	return EXIT_REPLY;
}

/*
 * The command's line of success ($1 and $2 standing for its arguments,
 * $s for a plural s unless $2 is 1), or the reply as it is.
 */
static int
print_done(const struct command *cm, const struct opts *o, const char *line,
    const struct json_val *v)
{
	const char	*t;

	(void)v;
	if (o->o_json) {
		puts(line);
		return 0;
	}
	for (t = o->o_wait ? cm->cm_waited : cm->cm_done; *t != '\0'; t++) {
		if (t[0] == '$' && t[1] >= '1' && t[1] - '0' <= o->o_nargs)
			fputs(o->o_args[*++t - '1'], stdout);
		else if (t[0] == '$' && t[1] == 's' && o->o_nargs > 1) {
			if (strcmp(o->o_args[1], "1") != 0)
				putchar('s');
			t++;
		} else
			putchar(*t);
	}
	putchar('\n');
	return 0;
}

/*
 * Ready: exit 0, quiet unless stdout is a terminal (a probe's log stays
 * empty).  Not ready: exit 1, and the reason on one line on stderr.
 */
static int
print_check(const struct command *cm, const struct opts *o,
    const char *line, const struct json_val *v)
{
	struct json_val	 r, why;
	char		*reason = NULL, text[STATUS_MAX];
	int		 ready;

	(void)cm;
	if (json_get(v, "ready", &r) == -1 || json_bool(&r, &ready) == -1)
		return malformed(line);
	if (o->o_json) {
		puts(line);
		return ready ? 0 : EXIT_REPLY;
	}
	if (ready) {
		if (isatty(STDOUT_FILENO))
			puts("ready");
		return 0;
	}
	if (json_get(v, "reason", &why) == 0 && why.jv_kind == JV_STRING &&
	    (reason = malloc(why.jv_len + 1)) != NULL &&
	    json_string(&why, reason, why.jv_len + 1) == 0)
		fmt_text(reason, text, sizeof(text));
	else
		snprintf(text, sizeof(text), "clusterd gave no reason");
	free(reason);
	fprintf(stderr, "clusterctl: not ready: %s\n", text);
	return EXIT_REPLY;
}

/*
 * The table of every worker (or one program's), then a line per
 * program.  With --json, the reply as it is; with a program, its object
 * alone, as clusterd wrote it, in the same envelope.
 */
static int
print_status(const struct command *cm, const struct opts *o,
    const char *line, const struct json_val *reply)
{
	struct json_val	 progs, p, only;
	struct table	 t = { NULL, 0, 0 };
	const char	*name = o->o_nargs > 0 ? o->o_args[0] : NULL;
	int		 rc = 0;

	(void)cm;
	if (json_get(reply, "programs", &progs) == -1 ||
	    progs.jv_kind != JV_ARRAY)
		return malformed(line);
	if (name != NULL && find_program(&progs, name, &only) == -1)
		return no_program(o, name);
	if (o->o_json) {
		if (name == NULL)
			puts(line);
		else
			printf("{\"ok\":true,\"programs\":[%.*s]}\n",
			    (int)only.jv_len, only.jv_text);
		return 0;
	}
	if (name != NULL)
		rc = table_program(&t, &only);
	else
		for (p.jv_text = NULL; rc == 0 && json_next(&progs, &p);)
			rc = table_program(&t, &p);
	if (rc == 0) {
		table_print(&t, term_width());
		if (name != NULL)
			print_summary(&only);
		else
			for (p.jv_text = NULL; json_next(&progs, &p);)
				print_summary(&p);
	}
	free(t.t_rows);
	return rc == 0 ? 0 : malformed(line);
}

/* The program named name in progs: 0 and *p, or -1. */
static int
find_program(const struct json_val *progs, const char *name,
    struct json_val *p)
{
	char	got[NAME_MAXLEN];

	p->jv_text = NULL;
	while (json_next(progs, p))
		if (get_string(p, "name", got, sizeof(got)) == 0 &&
		    strcmp(got, name) == 0)
			return 0;
	return -1;
}

static int
no_program(const struct opts *o, const char *name)
{
	if (o->o_json)
		printf("{\"ok\":false,\"error\":\"no program \\\"%s\\\"\"}\n",
		    name);		/* a valid name needs no escaping */
	else
		fprintf(stderr, "clusterctl: no program \"%s\"\n", name);
	return EXIT_REPLY;
}

/* A row per slot of program p. */
static int
table_program(struct table *t, const struct json_val *p)
{
	struct json_val	 workers, w;
	struct row	*nrows;
	char		 name[NAME_MAXLEN];

	if (get_string(p, "name", name, sizeof(name)) == -1 ||
	    json_get(p, "workers", &workers) == -1 ||
	    workers.jv_kind != JV_ARRAY)
		return -1;
	w.jv_text = NULL;
	while (json_next(&workers, &w)) {
		if (t->t_nrows == t->t_cap) {
			t->t_cap = t->t_cap == 0 ? 16 : t->t_cap * 2;
			if ((nrows = reallocarray(t->t_rows, t->t_cap,
			    sizeof(*nrows))) == NULL)
				return -1;
			t->t_rows = nrows;
		}
		if (row_read(&w, name, &t->t_rows[t->t_nrows]) == -1)
			return -1;
		t->t_nrows++;
	}
	return 0;
}

/* The cells of one slot, as people read them. */
static int
row_read(const struct json_val *w, const char *prog, struct row *r)
{
	long long	slot, pid, restarts, replaced, rss;
	double		uptime, cpu;
	char		state[32], last[CELL_MAX], status[STATUS_MAX];
	char		(*c)[CELL_MAX] = r->r_cell;

	if (get_int(w, "slot", &slot) == -1 ||
	    get_int(w, "pid", &pid) == -1 ||
	    get_string(w, "state", state, sizeof(state)) == -1 ||
	    get_double(w, "uptime", &uptime) == -1 ||
	    get_int(w, "restarts", &restarts) == -1 ||
	    get_int(w, "replaced", &replaced) == -1 ||
	    get_double(w, "cpu", &cpu) == -1 ||
	    get_int(w, "rss", &rss) == -1 ||
	    get_string(w, "last_exit", last, sizeof(last)) == -1 ||
	    get_string(w, "status", status, sizeof(status)) == -1)
		return -1;
	snprintf(c[COL_PROGRAM], CELL_MAX, "%s", prog);
	snprintf(c[COL_SLOT], CELL_MAX, "%lld", slot);
	snprintf(c[COL_PID], CELL_MAX, pid == 0 ? "-" : "%lld", pid);
	fmt_text(state, c[COL_STATE], CELL_MAX);
	if (pid == 0) {
		snprintf(c[COL_UPTIME], CELL_MAX, "-");
		snprintf(c[COL_CPU], CELL_MAX, "-");
	} else {
		fmt_uptime(uptime, c[COL_UPTIME], CELL_MAX);
		fmt_cpu(cpu, c[COL_CPU], CELL_MAX);
	}
	snprintf(c[COL_RESTARTS], CELL_MAX, "%lld", restarts);
	snprintf(c[COL_REPLACED], CELL_MAX, "%lld", replaced);
	fmt_size(rss, c[COL_RSS], CELL_MAX);
	fmt_text(last[0] != '\0' ? last : "-", c[COL_EXIT], CELL_MAX);
	fmt_text(status, r->r_status, sizeof(r->r_status));
	return 0;
}

/*
 * Columns as wide as their widest cell.  width > 0 (a terminal): STATUS
 * is cut to what is left of it; the other columns never are.
 */
static void
table_print(const struct table *t, int width)
{
	char	head[COL_STATUS][CELL_MAX];
	int	w[COL_STATUS], i, used = 0;
	size_t	r;

	for (i = 0; i < COL_STATUS; i++) {
		snprintf(head[i], CELL_MAX, "%s", columns[i].c_head);
		w[i] = (int)strlen(head[i]);
		for (r = 0; r < t->t_nrows; r++)
			if ((int)strlen(t->t_rows[r].r_cell[i]) > w[i])
				w[i] = (int)strlen(t->t_rows[r].r_cell[i]);
		used += w[i] + 1;
	}
	width = width > 0 ? (width > used ? width - used : 0) : -1;
	line_print((const char (*)[CELL_MAX])head, columns[COL_STATUS].c_head,
	    w, width);
	for (r = 0; r < t->t_nrows; r++)
		line_print((const char (*)[CELL_MAX])t->t_rows[r].r_cell,
		    t->t_rows[r].r_status, w, width);
}

/* One line; status gets at most left columns (-1: all it needs). */
static void
line_print(const char (*cell)[CELL_MAX], const char *status, const int *w,
    int left)
{
	char	text[STATUS_MAX], out[COL_STATUS * (CELL_MAX + 1) +
		    STATUS_MAX];
	size_t	n = 0;
	int	i;

	for (i = 0; i < COL_STATUS; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%*s",
		    i > 0 ? " " : "", columns[i].c_right ? w[i] : -w[i],
		    cell[i]);
	snprintf(text, sizeof(text), "%s", status);
	if (left >= 0)
		text_cut(text, (size_t)left);
	if (text[0] != '\0')
		snprintf(out + n, sizeof(out) - n, " %s", text);
	n = strlen(out);
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
	puts(out);
}

/* stdout's width if it is a terminal, else 0: no limit. */
static int
term_width(void)
{
	struct winsize	ws;

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == -1 || ws.ws_col == 0)
		return COLUMNS;
	return ws.ws_col;
}

/* "web: 4/4 ready", below the table, never cut. */
static void
print_summary(const struct json_val *p)
{
	char	summary[STATUS_MAX], text[STATUS_MAX];

	if (get_string(p, "summary", summary, sizeof(summary)) == -1)
		return;
	fmt_text(summary, text, sizeof(text));
	puts(text);
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

static int
get_double(const struct json_val *obj, const char *key, double *out)
{
	struct json_val	v;

	if (json_get(obj, key, &v) == -1)
		return -1;
	return json_double(&v, out);
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

/* CPU time: 0.04s, 12.3s, then as an uptime: 3m12s, 2h05m. */
static void
fmt_cpu(double secs, char *buf, size_t len)
{
	if (!(secs > 0))
		snprintf(buf, len, "0s");
	else if (secs < 9.995)
		snprintf(buf, len, "%.2fs", secs);
	else if (secs < 59.95)
		snprintf(buf, len, "%.1fs", secs);
	else
		fmt_uptime(secs, buf, len);
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
 * Text from clusterd or a worker, fit for a terminal: controls (C0,
 * DEL, C1) become '?'.  Cut to len bytes without splitting a UTF-8
 * sequence.
 */
static void
fmt_text(const char *s, char *buf, size_t len)
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
	if ((*c & 0xc0) == 0x80) {	/* cut inside a character */
		while (n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0)
			n--;		/* and its first byte */
	}
	buf[n] = '\0';
}

/* Columns on a terminal: one per character (UTF-8 lead byte). */
static size_t
text_width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Cut s to at most max columns, between two characters. */
static void
text_cut(char *s, size_t max)
{
	size_t	cols = 0, i;

	if (text_width(s) <= max)
		return;
	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && cols++ == max)
			break;
	}
	s[i] = '\0';
}
