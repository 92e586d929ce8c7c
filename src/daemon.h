/*
 * SPDX-License-Identifier: ISC
 *
 * clusterd - a supervisor for pre-forked network servers.
 *
 * The types every module sees: the parsed configuration, the open
 * listeners, the running programs and their workers.  Prototypes are
 * grouped by the file that defines them.
 */

#ifndef DAEMON_H
#define DAEMON_H

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#define DEFAULT_CONFIG		"/etc/clusterd/clusterd.ini"

#define NAME_MAXLEN		64	/* socket and program names */
#define IDENT_MAXLEN		64	/* identifier, with its NUL */
#define ERRBUF_LEN		512	/* one error message */
#define CONF_MAXKEYS		32	/* keys of the largest section type */

/*
 * The longest node_handle MESSAGE once quoted as a JSON string: what the
 * buffer of ipc.c's NODE_HANDLE line (quoted[1024]) holds.
 */
#define NODE_HANDLE_QUOTED_MAX	1023

/*
 * Configuration.  Everything below is produced by config_load() and is
 * read-only afterwards; a reload builds a complete new one beside it.
 */

enum addr_kind {
	ADDR_TCP,		/* a host (or any) and a port */
	ADDR_UNIX,		/* a path in the file system */
	ADDR_SYSTEMD		/* a descriptor passed by systemd, by name */
};

struct listen_addr {
	enum addr_kind	 la_kind;
	int		 la_any;	/* TCP: all addresses, dual-stack */
	char		 la_host[64];	/* TCP: numeric address or localhost */
	uint16_t	 la_port;
	char		 la_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
					/* unix path or systemd name */
};

enum restart_mode {
	RESTART_ALWAYS,
	RESTART_ON_FAILURE,
	RESTART_NEVER
};

enum output_mode {
	OUTPUT_AUTO,		/* JOURNAL when clusterd's own stderr is the
				   journal (JOURNAL_STREAM), else INHERIT:
				   decided when the worker starts */
	OUTPUT_INHERIT,		/* clusterd's own descriptor */
	OUTPUT_JOURNAL,		/* a journal stream of the worker's own */
	OUTPUT_CAPTURE,		/* a pipe clusterd reads, line by line */
	OUTPUT_NULL,		/* /dev/null */
	OUTPUT_FILE,		/* a file opened for appending */
	OUTPUT_STDOUT		/* stderr only: same as the worker's stdout */
};

struct output_conf {
	enum output_mode	 o_mode;
	char			*o_path;	/* OUTPUT_FILE, absolute */
};

/*
 * The syslog priority of a worker's line that says none (<N>), in a
 * journal stream and when captured: info for stdout, err for stderr.
 */
#define PRIO_STDOUT		6
#define PRIO_STDERR		3

struct sock_conf {
	struct sock_conf	*sc_next;
	char			*sc_name;
	const char		*sc_file;	/* its file: one of cf_files */
	int			 sc_line;	/* of the [socket:NAME] header */
	char			*sc_listen;	/* as written, for messages */
	struct listen_addr	 sc_addr;	/* unix paths made absolute */
	int			 sc_backlog;
	int			 sc_reuseport;	/* one socket per worker slot */
	mode_t			 sc_mode;
	int			 sc_has_owner;
	uid_t			 sc_uid;
	gid_t			 sc_gid;
};

enum ipc_mode {
	IPC_JSON,		/* a channel, CLUSTERD_IPC_FD */
	IPC_NODE,		/* the same, also as Node.js's own channel */
	IPC_NODE_CLUSTER,	/* Node's channel; clusterd the primary */
	IPC_NONE
};

enum ready_mode {
	READY_AUTO,		/* up once it has stayed alive min_uptime */
	READY_MESSAGE,		/* up when it sends "ready" */
	READY_EXEC,		/* up as soon as it has exec'd */
	READY_LISTENING,	/* node-cluster: its server is listening */
	READY_NOTIFY		/* READY=1 on its own NOTIFY_SOCKET */
};

/* compat: other supervisors' dialects announced as well (pc_compat). */
#define COMPAT_EINHORN		0x01
#define COMPAT_SERVER_STARTER	0x02

struct config;

struct prog_conf {
	struct prog_conf	*pc_next;
	struct config		*pc_cfg;	/* the configuration it is in */
	char			*pc_name;
	const char		*pc_file;	/* its file: one of cf_files */
	int			 pc_line;	/* of the [program:NAME] header */
	int			 pc_lines[CONF_MAXKEYS];	/* of each key
					   given, 0 if not: see
					   config_key_line() */
	char			**pc_argv;	/* NULL-terminated */
	int			 pc_workers;	/* 0: auto */
	char			**pc_sockets;	/* NULL-terminated names */
	size_t			 pc_nsockets;
	enum restart_mode	 pc_restart;
	double			 pc_min_uptime;		/* seconds */
	double			 pc_restart_delay;
	double			 pc_restart_delay_max;
	double			 pc_stop_timeout;
	int			 pc_stop_signal;	/* also the parent-death
						   signal */
	int			 pc_stop_disconnect;	/* stop_signal =
					   disconnect: Node's cluster
					   disconnect (pc_stop_signal is
					   SIGTERM) */
	char			**pc_env;	/* NULL-terminated NAME=VALUE:
					   the env_file variables, then
					   the env lines; names unique */
	size_t			 pc_nenv;
	char			*pc_directory;	/* absolute, or NULL */
	char			*pc_user;	/* NULL: clusterd's */
	uid_t			 pc_uid;
	char			*pc_home;	/* the user's home directory */
	int			 pc_has_group;	/* group given, or user's */
	gid_t			 pc_gid;
	int			 pc_has_umask;
	mode_t			 pc_umask;
	int			 pc_has_nofile;
	rlim_t			 pc_nofile;
	struct output_conf	 pc_stdout;
	struct output_conf	 pc_stderr;
	char			*pc_identifier;	/* SYSLOG_IDENTIFIER; by default
					   the program's name */
	unsigned		 pc_compat;	/* COMPAT_* bits */
	enum ipc_mode		 pc_ipc;
	char			*pc_node_msg;	/* node_handle MESSAGE, or NULL */
	char			*pc_node_socket; /* node_handle SOCKET */
	enum ready_mode		 pc_ready;
	double			 pc_ready_timeout;
	double			 pc_watchdog;	/* 0: off */
	uint64_t		 pc_max_memory;	/* bytes; 0: off */
};

struct config {
	int			 cf_refs;	/* config_hold/config_release */
	char			*cf_path;	/* as given on the command line */
	char			*cf_dir;	/* its directory, absolute */
	char			**cf_files;	/* NULL-terminated: cf_path,
					   then each file it included, as
					   named in messages */
	char			*cf_pidfile;	/* absolute, or NULL */
	char			*cf_control;	/* absolute, or NULL */
	char			*cf_control_group;	/* its name, or NULL */
	int			 cf_has_control_group;
	gid_t			 cf_control_gid;
	int			 cf_log_level;
	uint64_t		 cf_digest;	/* of every file read for it */
	struct sock_conf	*cf_socks;	/* in file order */
	struct prog_conf	*cf_progs;	/* in file order */
};

/*
 * Runtime.
 *
 * The layers, each calling only the ones below it:
 *
 *	main -> master -> program -> slot -> worker -> spawn, ipc, sock
 *	ctl -> master
 *
 * A lower layer reports to the one above through a callback it was given
 * (worker_cb) or a record the upper layer reads after each wakeup
 * (struct roll_result, slot_changes).  slot.c holds the lifecycle state
 * table and is the only writer of worker and slot states.
 */

/* An open listening socket, handed to the workers of every program. */
struct listener {
	struct listener		*l_next;	/* sock.c's list of open ones */
	char			*l_name;
	char			*l_listen;	/* as written, for messages */
	struct listen_addr	 l_addr;
	int			 l_backlog;
	int			 l_reuseport;	/* l_fd only holds the port (bound,
					   not listening); each slot has
					   its own listening socket */
	int			 l_fd;
	int			 l_refs;	/* the master's list, bindings */
	char			*l_node_data;	/* node-cluster: the first data
						   a worker's listen() sent (TLS
						   ticket keys), for every one */
	dev_t			 l_dev;		/* unix: the socket file bound, */
	ino_t			 l_ino;		/* told from anything put there */
};

/* timer.c: one-shot timers on the monotonic clock. */
struct timer {
	ev_timer		 t_ev;
	void			(*t_cb)(void *);
	void			*t_arg;
	double			 t_at;		/* deadline; 0: not armed */
};

/*
 * The lifecycle states of slot.c's table.  A slot without a current
 * worker is in STOPPED or BACKOFF; every worker is in one of the others.
 */
enum life_state {
	ST_STOPPED,		/* slot: nothing runs, nothing starts by itself */
	ST_BACKOFF,		/* slot: a worker starts when the delay is over */
	ST_STARTING,		/* worker: forked, not up yet */
	ST_READY,		/* worker: up, counts as serving */
	ST_KILLED,		/* worker: SIGKILL sent for a failure
				   (ready_timeout, watchdog); its exit is
				   a failure */
	ST_STOPPING,		/* worker: asked to stop; SIGKILL to its group
				   at stop_timeout */
	ST_RETIRED,		/* worker: asked to be replaced and leaves by
				   itself; SIGKILL at stop_timeout */
	ST_LINGERING,		/* worker: exited, but its process group has
				   members: SIGKILL to it at stop_timeout */
	ST_NSTATES
};

/* Why clusterd killed a worker: for its exit's description. */
enum kill_cause {
	KILL_NONE,
	KILL_READY_TIMEOUT,	/* not up by ready_timeout */
	KILL_WATCHDOG,		/* no heartbeat within watchdog */
	KILL_STOP_TIMEOUT,	/* did not stop within stop_timeout */
	KILL_REQUESTED		/* immediate shutdown, stop_timeout = 0 */
};

/* What a worker told the master on one of its channels. */
enum worker_msg {
	WM_READY,		/* "ready" (or einhorn's worker:ack) */
	WM_LISTENING,		/* node-cluster: a server of it listens */
	WM_NOTIFY_READY,	/* READY=1 on its notify socket */
	WM_HEARTBEAT,		/* "heartbeat", WATCHDOG=1 */
	WM_STATUS,		/* status text */
	WM_SUICIDE		/* "replace me", exitedAfterDisconnect */
};

struct capture;
struct nodecl;
struct nodecl_sock;
struct sock_desc;
struct wnotify;

/* What worker.c reports to the worker's owner. */
enum worker_event {
	WE_EXECED,		/* the exec happened */
	WE_EXEC_FAILED,		/* a set-up step or the exec failed: text */
	WE_MESSAGE,		/* arg: enum worker_msg; text: status text */
	WE_EXITED		/* reaped; arg: the wait status */
};

struct worker;
struct slot;
struct program;
struct state_rec;

typedef void	(*worker_cb)(struct worker *, enum worker_event, int,
		    const char *);

/* What one exit was, for the log and for clusterctl status. */
struct exit_note {
	int			 en_valid;
	int			 en_status;	/* wait status */
	enum kill_cause		 en_cause;
	double			 en_uptime;	/* seconds */
};

/*
 * A worker process.  worker.c keeps the process record (pid, exec-status
 * pipe, IPC channel); the lifecycle fields are slot.c's alone.
 */
struct worker {
	struct worker		*w_next;	/* every worker not yet freed */
	struct worker		*w_sibling;	/* its slot's leaving workers */
	struct slot		*w_slot;	/* the slot it belongs to */
	struct prog_conf	*w_conf;	/* started with; config held */
	int			 w_index;	/* its slot's, for messages */
	pid_t			 w_pid;		/* also its process group */
	char			*w_cgroup;	/* its cgroup's directory, or
						   NULL (cgroup.c) */
	double			 w_started;	/* clock_now() at fork */
	double			 w_ready_at;	/* when it became ready */
	int			 w_reaped;	/* the leader is gone */
	int			 w_status;	/* its wait status, once reaped */
	worker_cb		 w_cb;
	ev_io			 w_exec_io;	/* exec-status pipe */
	ev_io			 w_ipc_io;	/* master's end of the channel */
	ev_io			 w_ipc_wio;	/* ... when it has to write */
	char			*w_ipc_buf;	/* partial line, 64 KiB */
	size_t			 w_ipc_len;
	int			 w_ipc_bad;	/* malformed messages so far */
	int			 w_ipc_skip;	/* dropping an oversized line */
	int			 w_ipc_lost;	/* the channel closed under it
						   (node: its exit is a failure) */
	struct nodecl		*w_nodecl;	/* node-cluster's state */
	struct nodecl_sock	*w_nsocks;	/* its sockets, for queryServer */
	struct sock_desc	*w_nsockdesc;	/* their addresses */
	struct listener		**w_nlisteners;	/* and listeners, held */
	size_t			 w_nnsocks;
	struct wnotify		*w_notify;	/* ready = notify: its socket */
	struct capture		*w_out;		/* stdout = capture: its pipe */
	struct capture		*w_err;		/* stderr = capture: its own */
	char			 w_text[256];	/* last status text */

	/* slot.c's */
	enum life_state		 w_state;
	enum kill_cause		 w_cause;	/* why clusterd killed it */
	unsigned		 w_epoch;	/* its program's, at start */
	int			 w_einhorn;	/* its EINHORN_CHILD_INDEX */
	struct timer		 w_timer;	/* ready_timeout, watchdog, or
						   stop_timeout */
	struct timer		 w_uptime;	/* min_uptime */
};

/* A reuseport listener's socket of one slot. */
struct slot_sock {
	struct listener		*ss_listener;
	int			 ss_fd;
};

/*
 * A worker position: CLUSTERD_WORKER, kept by every replacement.  Its
 * current worker serves; its next one, while there is one, is starting
 * to take over (a rolling restart, max_memory); the leaving ones are on
 * their way out.
 */
struct slot {
	struct slot		*sl_link;	/* its program's draining list */
	struct program		*sl_prog;
	int			 sl_index;
	enum life_state		 sl_idle;	/* STOPPED or BACKOFF: its state
						   while it has no current */
	struct worker		*sl_cur;
	struct worker		*sl_next;
	struct worker		*sl_leaving;	/* via w_sibling */
	unsigned		 sl_streak;	/* fast failures in a row */
	unsigned		 sl_start_fails; /* failed forks in a row */
	double			 sl_hold_until;	/* no replacement by max_memory
						   before: the last one failed */
	unsigned		 sl_fail_epoch;	/* of the last next worker that
						   failed, or 0 */
	unsigned		 sl_crashes;	/* restarts after an exit */
	unsigned		 sl_replaced;	/* planned replacements */
	struct exit_note	 sl_last_exit;
	struct timer		 sl_timer;	/* backoff */
	struct slot_sock	*sl_socks;	/* reuseport sockets */
	size_t			 sl_nsocks;
};

/* A program configuration and the listeners it names. */
struct binding {
	struct prog_conf	*b_conf;	/* config held */
	struct listener		**b_socks;	/* in pc_sockets order; held */
	struct listener		*b_node;	/* node_handle's socket, held */
};

enum program_state {
	PROGRAM_RUNNING,
	PROGRAM_ROLLING,	/* a rolling restart is under way */
	PROGRAM_STOPPED,	/* stopped by request: nothing restarts */
	PROGRAM_REMOVED		/* gone from the configuration; freed once
				   its last worker is */
};

/* How a rolling restart ended, written into its requester's record. */
struct roll_result {
	int			 rr_done;
	int			 rr_ok;		/* done, or cancelled by a stop */
	char			 rr_why[256];	/* when not ok */
};

struct roll {
	int			 r_next;	/* the slot it replaces now */
	int			 r_target;	/* slots once it is done */
	struct roll_result	*r_result;	/* the requester's, or NULL */
};

struct program {
	struct program		*p_next;
	const char		*p_name;	/* p_cur's pc_name */
	enum program_state	 p_state;
	struct binding		 p_cur;		/* new workers start from it */
	struct binding		 p_prev;	/* during a roll: the one it
						   replaces */
	struct prog_conf	*p_failed;	/* whose roll failed, held: the
						   program is on p_cur, its
						   last good one */
	unsigned		 p_epoch;	/* one more with every roll */
	struct slot		**p_slots;
	int			 p_nslots;
	struct slot		*p_draining;	/* removed slots not yet empty */
	struct roll		 p_roll;
};

/* How a failed child reports which step of its set-up failed. */
enum spawn_stage {
	STAGE_PGID,
	STAGE_STDIO,		/* stdout, or stdin's /dev/null */
	STAGE_STDERR,
	STAGE_FDS,
	STAGE_LIMIT,
	STAGE_GROUP,
	STAGE_USER,
	STAGE_VERIFY,
	STAGE_CHDIR,
	STAGE_PDEATHSIG,
	STAGE_EXEC,
	STAGE_CGROUP		/* last: an upgrade's old and new image agree
				   on the numbers of the others */
};

struct spawn_status {
	int	ss_stage;	/* enum spawn_stage */
	int	ss_errno;
};

/* What a worker is started with. */
struct spawn_req {
	struct prog_conf	*sr_conf;
	int			 sr_slot;
	struct listener		**sr_socks;	/* its program's, in order */
	const int		*sr_fds;	/* one per socket of sr_conf */
	int			 sr_node_fd;	/* node_handle socket, or -1 */
	unsigned		 sr_generation;	/* Server::Starter's */
	int			 sr_einhorn_index; /* EINHORN_CHILD_INDEX */
	const char		*sr_notify;	/* NOTIFY_SOCKET, or NULL */
	int			 sr_capture[2];	/* stdout, stderr = capture:
					   the pipes' write ends (worker.c
					   sets them; -1 otherwise) */
};

/* What a line on the IPC channel asks for. */
enum ipc_kind {
	IPC_SUICIDE,
	IPC_READY,
	IPC_HEARTBEAT,
	IPC_STATUS,
	IPC_NODE_ACK,		/* Node.js acknowledging a handle */
	IPC_IGNORED,		/* valid, but nothing clusterd acts on */
	IPC_MALFORMED
};

/* What the supervisor does after a worker exits. */
enum next_step {
	NEXT_RESTART,		/* start a replacement now */
	NEXT_BACKOFF,		/* start one after a delay */
	NEXT_STOP		/* leave the slot stopped */
};

/* parse.c: pure parsers; each writes a message into err and returns -1. */
int		 parse_words(const char *, char ***, char *, size_t);
void		 words_free(char **);
int		 parse_duration(const char *, double *, char *, size_t);
int		 parse_size(const char *, uint64_t *, char *, size_t);
int		 parse_number(const char *, long long, long long, long long *,
		    char *, size_t);
int		 parse_octal(const char *, unsigned, unsigned *, char *,
		    size_t);
int		 parse_bool(const char *, int *, char *, size_t);
int		 parse_signal(const char *, int *, char *, size_t);
const char	*signal_name(int);
int		 parse_listen(const char *, struct listen_addr *, char *,
		    size_t);
int		 valid_name(const char *);
void		 format_duration(double, char *, size_t);

/* policy.c: supervision decisions, pure. */
double		 backoff_delay(double, double, unsigned);
enum next_step	 policy_after_exit(const struct prog_conf *, int, double,
		    unsigned *, double *);
enum next_step	 policy_after_suicide(const struct prog_conf *, double,
		    unsigned *, double *);
void		 exit_describe(const struct exit_note *, int, char *, size_t);

/* strv.c */
int		 strv_push(char ***, size_t *, char *);

/* utf8.c */
size_t		 utf8_invalid(const char *, size_t);

/* envfile.c: systemd's EnvironmentFile= syntax, pure. */
struct envfile_var {
	char	*ev_var;	/* NAME=VALUE */
	int	 ev_line;	/* of NAME */
};

int		 envfile_parse(const char *, size_t, struct envfile_var **,
		    size_t *, int *, char *, size_t);
void		 envfile_free(struct envfile_var *, size_t);

/* config.c */
struct config	*config_load(const char *, char **);
struct config	*config_load_buffer(const char *, const char *, size_t,
		    char **);
int		 config_check_runtime(const struct config *, char **);
int		 config_key_line(const struct prog_conf *, const char *);
void		 config_free(struct config *);
void		 config_hold(struct config *);
void		 config_release(struct config *);
struct sock_conf *config_find_socket(const struct config *, const char *);

/* json.c */
enum json_type {
	JSON_OTHER,
	JSON_STRING,
	JSON_OBJECT
};

struct json_msg {
	enum json_type	 jm_type;
	char		 jm_string[64];	/* JSON_STRING: its text */
	char		 jm_cmd[64];	/* JSON_OBJECT: string members */
	char		 jm_act[64];
	char		 jm_status[256];
	int		 jm_has_status;
};

int		 json_parse_msg(const char *, size_t, struct json_msg *,
		    char *, size_t);
size_t		 json_quote(const char *, char *, size_t);

/* A value inside a text json_parse() has validated whole. */
enum json_kind {
	JV_NULL,
	JV_BOOL,
	JV_NUMBER,
	JV_STRING,
	JV_ARRAY,
	JV_OBJECT
};

struct json_val {
	enum json_kind	 jv_kind;
	const char	*jv_text;	/* its first byte, in the parsed text */
	size_t		 jv_len;
};

int		 json_parse(const char *, size_t, struct json_val *, char *,
		    size_t);
int		 json_get(const struct json_val *, const char *,
		    struct json_val *);
int		 json_next(const struct json_val *, struct json_val *);
int		 json_string(const struct json_val *, char *, size_t);
int		 json_int(const struct json_val *, long long, long long,
		    long long *);
int		 json_double(const struct json_val *, double *);
int		 json_bool(const struct json_val *, int *);

/* timer.c: the monotonic clock and one-shot timers (libev underneath). */
double		 clock_now(void);
void		 timer_init(struct timer *, void (*)(void *), void *);
void		 timer_start(struct timer *, double);
void		 timer_stop(struct timer *);
int		 timer_armed(const struct timer *);
double		 timer_left(const struct timer *);

/* ipc.c: a worker's IPC channel; messages go to its w_cb. */
enum ipc_kind	 ipc_classify(const char *, size_t, char *, size_t, char *,
		    size_t);
int		 ipc_open(struct worker *, const struct spawn_req *, int *);
int		 ipc_adopt(struct worker *, const struct spawn_req *, int,
		    const char *, size_t, int);
int		 ipc_adopt_nodecl(struct worker *, const char *, size_t);
int		 ipc_disconnect(struct worker *);
void		 ipc_close_unstarted(struct worker *);
void		 ipc_started(struct worker *, int, int);
void		 ipc_close(struct worker *);

/* journal.c: journal streams of the workers' own. */
int		 journal_available(const char *);
int		 journal_stream_open(const char *, int);

/* capture.c: workers' output read by the master, logged line by line. */
struct capture	*capture_open(const char *, int, int, int *);
void		 capture_start(struct capture *);
void		 capture_read(struct capture *);
void		 capture_close(struct capture *);
struct capture	*capture_adopt(const char *, int, int, int, const char *,
		    size_t, int);
int		 capture_fd(const struct capture *);
const char	*capture_pending(const struct capture *, size_t *, int *);
int		 capture_pipes(const struct prog_conf *);
void		 capture_finish_detached(void);
void		 capture_close_all(void);

/* env.c */
char		**env_build(const struct spawn_req *, pid_t, int, char **);
void		 env_free(char **);
void		 env_fill_listen_pid(char **, pid_t);

/* cpu.c */
int		 cpu_available(void);

/* cgroup.c: a cgroup v2 for each worker, when clusterd has its own. */
int		 cgroup_own_path(const char *, char *, size_t);
int		 cgroup_find_dir(const char *, const char *, char *, size_t);
size_t		 cgroup_unit_prefix(const char *, int *);
int		 cgroup_init(const char *, const char *, int);
const char	*cgroup_base(void);
const char	*cgroup_controllers(void);
int		 cgroup_join(const char *, int);
char		*cgroup_worker(const char *, int, pid_t);
int		 cgroup_populated(const char *);
int		 cgroup_signal(const char *, int, pid_t);
long long	 cgroup_memory(const char *, pid_t);
double		 cgroup_cpu(const char *, pid_t);
void		 cgroup_remove(const char *);
void		 cgroup_sweep(const char *const *, size_t);
void		 cgroup_cleanup(void);

/* proc.c: what /proc says about processes. */
long long	 proc_rss(pid_t);
double		 proc_cpu(pid_t);
int		 proc_children(pid_t *, int);

/* sock.c */
struct listener	*sock_open(const struct sock_conf *, char *, size_t);
int		 sock_open_reuseport(const struct listener *, char *, size_t);
/* What a worker's socket is, for the dialects that announce it. */
struct sock_desc {
	int	 sk_unix;		/* a unix socket (else TCP) */
	int	 sk_any;		/* TCP: every address */
	char	 sk_host[64];		/* TCP, not any: numeric */
	int	 sk_port;		/* TCP */
	char	 sk_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
					/* unix */
};

int		 sock_describe(const struct listener *, int,
		    struct sock_desc *);
int		 sock_check_fd(int, const struct listen_addr *, int, char *,
		    size_t);
struct listener	*sock_adopt(const struct sock_conf *, int, char *, size_t);
void		 sock_close(struct listener *);
void		 sock_close_all(void);
void		 sock_hold(struct listener *);
void		 sock_release(struct listener *);
struct listener	*sock_first(void);
int		 sock_update(struct listener *, const struct sock_conf *);
int		 sock_clear_stale(const char *, char *, size_t);

/* spawn.c */
pid_t		 spawn_worker(const struct spawn_req *, int, int *);
void		 spawn_describe(const struct prog_conf *,
		    const struct spawn_status *, char *, size_t);

/* worker.c: the process record of a worker. */
struct worker	*worker_spawn(const struct spawn_req *, worker_cb,
		    struct slot *);
struct worker	*worker_adopt(const struct spawn_req *, pid_t, double,
		    worker_cb, struct slot *, int);
int		 worker_adopt_cgroup(struct worker *, const char *);
void		 worker_adopt_output(struct worker *,
		    const struct state_rec *);
struct worker	*worker_first(void);
int		 worker_reaped(pid_t, int);
void		 worker_signal(struct worker *, int);
void		 worker_signal_group(struct worker *, int);
void		 worker_disconnect(struct worker *);
void		 worker_notify_close(struct worker *);
int		 worker_notify_fd(const struct worker *);
int		 worker_notify_adopt(struct worker *, int);
int		 worker_group_alive(const struct worker *);
const char	*worker_group_name(const struct worker *);
void		 worker_free(struct worker *);
int		 worker_count(void);

/* slot.c: the lifecycle state table. */
enum slot_event {
	SE_START,		/* run a worker if there is none */
	SE_STOP,		/* stop every worker; nothing restarts */
	SE_KILL,		/* SIGKILL every worker now */
	SE_REPLACE,		/* replace the current worker, new one first */
	SE_REMOVE,		/* the slot is scaled away: stop everything */
	SE_SPAWNED,		/* the worker's exec happened */
	SE_EXEC_FAILED,		/* its set-up or exec failed */
	SE_READY,		/* it says it is up */
	SE_UP,			/* it has lived min_uptime */
	SE_HEARTBEAT,		/* it says it is alive */
	SE_SUICIDE,		/* it asks to be replaced */
	SE_EXITED,		/* its process was reaped */
	SE_TIMER,		/* its timer, or the slot's, went off */
	SE_ORPHAN,		/* a process clusterd adopted was reaped: a
				   lingering group may be empty now */
	SE_NEVENTS
};

/* Where a slot stands in a rolling restart to a program epoch. */
enum slot_roll {
	ROLL_TODO,		/* its worker is older: replace it */
	ROLL_WAIT,		/* its new worker is starting */
	ROLL_DONE,		/* nothing to wait for */
	ROLL_FAILED		/* its new worker failed before it was up */
};

struct slot	*slot_create(struct program *, int);
struct slot	*slot_adopt(struct program *, const struct state_rec *);
int		 slot_adopt_sock(struct slot *, struct listener *, int);
int		 slot_adopt_worker(struct slot *, const struct state_rec *);
void		 slot_free(struct slot *);
void		 slot_post(struct slot *, enum slot_event);
int		 slot_sync_sockets(struct slot *);
int		 slot_empty(const struct slot *);
enum slot_roll	 slot_roll_status(const struct slot *, unsigned);
const struct worker *slot_shown(const struct slot *);
const char	*slot_state_name(const struct slot *);
unsigned	 slot_changes(void);
const char	*slot_event(unsigned *, const char **);
unsigned	 slot_event_next(void);

/* program.c */
struct state;
struct program	*program_create(struct prog_conf *, struct listener **);
struct program	*program_adopt(struct prog_conf *, struct listener **,
		    const struct state *);
int		 program_reload(struct program *, struct prog_conf *,
		    struct listener **, struct roll_result *);
void		 program_start(struct program *);
void		 program_stop(struct program *);
void		 program_kill(struct program *);
void		 program_remove(struct program *);
int		 program_roll(struct program *, struct roll_result *);
void		 program_forget_result(struct program *, struct roll_result *);
int		 program_scale(struct program *, int);
void		 program_signal(struct program *, int);
void		 program_advance(struct program *);
void		 program_check_memory(struct program *);
void		 program_orphan_reaped(struct program *);
int		 program_has_workers(const struct program *);
int		 program_settled(const struct program *);
void		 program_summary(const struct program *, char *, size_t);
int		 program_ready_count(const struct program *);
void		 program_free(struct program *);

/* strbuf.c: a growing string. */
struct strbuf {
	char	*sb_data;
	size_t	 sb_len;
	size_t	 sb_cap;
	int	 sb_oom;	/* an allocation failed */
};

void		 strbuf_printf(struct strbuf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 strbuf_quote(struct strbuf *, const char *);
void		 strbuf_consume(struct strbuf *, size_t);
void		 strbuf_reset(struct strbuf *);
void		 strbuf_free(struct strbuf *);

/* notify.c: systemd's sd_notify protocol, when NOTIFY_SOCKET is set. */
void		 notify_init(void);
void		 notify_ready(const char *);
void		 notify_reloading(void);
void		 notify_stopping(void);
void		 notify_status(const char *);
void		 notify_fdstore(const char *, int);
void		 notify_fdstore_remove(const char *);

/* sdlisten.c: sockets systemd passed to clusterd itself. */
int		 sdlisten_init(void);
int		 sdlisten_take(const char *, char *, size_t);
int		 sdlisten_has(const char *);
void		 sdlisten_forget(const char *);
int		 sdlisten_get(int, const char **);
int		 sdlisten_adopt(const char *, int);

/* state.c: what an upgrade carries across execve. */
#define STATE_VERSION		1
#define STATE_WORDS_MAX		40

struct state_out {
	const char		*so_config_path;
	uint64_t		 so_digest;
	unsigned		 so_seq;	/* reloads so far */
	struct listener		**so_socks;	/* configured */
	struct program		*so_programs;
	int			 so_control_fd;	/* or -1 */
	const char		*so_control_path;
	const int		*so_waiter_fds;	/* the clusterctls upgrading */
	size_t			 so_nwaiters;
};

struct state_rec {
	char			*sr_kind;
	int			 sr_nwords;
	char			*sr_keys[STATE_WORDS_MAX];
	char			*sr_vals[STATE_WORDS_MAX];
	size_t			 sr_lens[STATE_WORDS_MAX];
};

struct state {
	struct state_rec	*st_recs;
	size_t			 st_nrecs;
};

int		 state_write(int, const struct state_out *);
int		 state_read(int, struct state *, char *, size_t);
void		 state_free(struct state *);
const char	*state_get(const struct state_rec *, const char *);
size_t		 state_len(const struct state_rec *, const char *);
int		 state_num(const struct state_rec *, const char *,
		    long long *);
int		 state_time(const struct state_rec *, const char *, double *);
int		 state_life(const struct state_rec *, const char *);
int		 state_program_state(const struct state_rec *, const char *);

/* upgrade.c: the preflight check of the new binary, and the execve. */
enum upgrade_phase {
	UPGRADE_IDLE,
	UPGRADE_CHECKING,	/* the new binary checks the configuration */
	UPGRADE_CHECKED,	/* it passed: write the state and exec */
	UPGRADE_FAILED		/* upgrade_error() says why */
};

int		 upgrade_init(const char *);
const char	*upgrade_path(void);
enum upgrade_phase upgrade_phase(void);
const char	*upgrade_error(void);
void		 upgrade_reset(void);
void		 upgrade_check_start(const char *);
int		 upgrade_reaped(pid_t, int);
int		 upgrade_exec(char *const [], const int *, size_t);

/* pidfile.c */
int		 pidfile_write(const char *);
void		 pidfile_remove(const char *);

/* master.c: the running whole; signals; the loop. */
typedef void	(*reload_cb)(void *, int, const char *);

/* What the master asks of the layer above it (the control socket). */
struct master_hooks {
	void	(*mh_config)(const struct config *);	/* a reload took it */
	int	(*mh_control_fd)(const char **);	/* for an upgrade */
};

int		 master_init(struct config *, int,
		    const struct master_hooks *);
int		 master_adopt(struct config *, int,
		    const struct master_hooks *, struct state *);
void		 master_upgrade(void);
void		 master_upgrade_wait(reload_cb, void *, int);
void		 master_upgrade_cancel(void *);
void		 master_run(void);
void		 master_cleanup(void);
int		 master_shutting_down(void);
void		 master_shutdown(int);
void		 master_reload(void);
void		 master_reload_wait(reload_cb, void *);
void		 master_reload_cancel(void *);
struct program	*master_programs(void);
struct program	*master_find_program(const char *);

/* rlimit.c */
void		 rlimit_raise_nofile(void);
const struct rlimit *rlimit_nofile_start(void);

/* ctl.c: the control socket (clusterctl's side is src/clusterctl.c). */
int		 ctl_init(const struct config *);
int		 ctl_adopt(int, const char *);
int		 ctl_control_fd(const char **);
void		 ctl_apply_config(const struct config *);
void		 ctl_close(void);

/* cmdline.c: clusterd's options. */
struct options {
	const char	*o_config;
	int		 o_check;
	int		 o_verbosity;
	int		 o_upgrade_check;	/* --upgrade-check */
	int		 o_upgrade_from;	/* --upgrade-from=FD, or -1 */
};

void		 cmdline_parse(int, char *[], struct options *);
struct config	*cmdline_load_config(const char *);
int		 cmdline_check(struct config *, const char *);
int		 cmdline_upgrade_check(const char *);

#endif /* DAEMON_H */
