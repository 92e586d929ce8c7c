/*
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
#define ERRBUF_LEN		512	/* one error message */

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
	OUTPUT_INHERIT,		/* clusterd's own descriptor */
	OUTPUT_NULL,		/* /dev/null */
	OUTPUT_FILE,		/* a file opened for appending */
	OUTPUT_STDOUT		/* stderr only: same as the worker's stdout */
};

struct output_conf {
	enum output_mode	 o_mode;
	char			*o_path;	/* OUTPUT_FILE, absolute */
};

struct sock_conf {
	struct sock_conf	*sc_next;
	char			*sc_name;
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
	IPC_NONE
};

enum ready_mode {
	READY_AUTO,		/* up once it has stayed alive min_uptime */
	READY_MESSAGE,		/* up when it sends "ready" */
	READY_EXEC		/* up as soon as it has exec'd */
};

struct config;

struct prog_conf {
	struct prog_conf	*pc_next;
	struct config		*pc_cfg;	/* the configuration it is in */
	char			*pc_name;
	int			 pc_line;	/* of the [program:NAME] header */
	char			**pc_argv;	/* NULL-terminated */
	int			 pc_workers;	/* 0: auto */
	char			**pc_sockets;	/* NULL-terminated names */
	size_t			 pc_nsockets;
	enum restart_mode	 pc_restart;
	double			 pc_min_uptime;		/* seconds */
	double			 pc_restart_delay;
	double			 pc_restart_delay_max;
	double			 pc_stop_timeout;
	int			 pc_stop_signal;
	char			**pc_env;	/* NULL-terminated NAME=VALUE */
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
	char			*cf_pidfile;	/* absolute, or NULL */
	char			*cf_control;	/* absolute, or NULL */
	int			 cf_log_level;
	struct sock_conf	*cf_socks;	/* in file order */
	struct prog_conf	*cf_progs;	/* in file order */
};

/*
 * Runtime.
 */

/* An open listening socket, handed to the workers of every program. */
struct listener {
	struct listener		*l_next;
	char			*l_name;
	char			*l_listen;	/* as written, for messages */
	struct listen_addr	 l_addr;
	int			 l_backlog;
	int			 l_reuseport;	/* l_fd only holds the port (bound,
					   not listening); each slot has
					   its own listening socket */
	int			 l_fd;
};

enum worker_state {
	WORKER_STARTING,	/* forked; not yet up */
	WORKER_READY,		/* up: counts as serving */
	WORKER_STOPPING,	/* stop_signal sent; SIGKILL at stop_timeout */
	WORKER_LINGERING	/* leader reaped during a stop, but its process
				   group still has members: SIGKILL to the
				   group at stop_timeout */
};

enum slot_state {
	SLOT_RUNNING,		/* has a current worker */
	SLOT_BACKOFF,		/* waiting to start a replacement */
	SLOT_STOPPED		/* nothing to run (restart policy, stop) */
};

/* Why clusterd killed a worker it was not stopping: each is a failure. */
enum kill_reason {
	KILL_NONE,
	KILL_READY_TIMEOUT,	/* not up by ready_timeout */
	KILL_WATCHDOG		/* no heartbeat within watchdog */
};

struct program;
struct worker;

/* A worker position: CLUSTERD_WORKER, kept by every replacement. */
struct slot {
	struct program		*sl_prog;
	int			 sl_index;
	enum slot_state		 sl_state;
	struct worker		*sl_worker;	/* current worker, or NULL */
	struct worker		*sl_next;	/* its replacement while a
						   rolling restart waits for
						   it to be ready */
	unsigned		 sl_streak;	/* fast failures in a row */
	ev_tstamp		 sl_hold_until;	/* no max_memory replacement
						   before: the last one failed */
	unsigned		 sl_restarts;	/* replacements so far */
	ev_timer		 sl_backoff;
	struct listener		**sl_reuse_of;	/* reuseport sockets of this */
	int			*sl_reuse_fd;	/* slot, by listener; n = */
	size_t			 sl_nreuse;	/* its program's sockets */
};

enum program_state {
	PROGRAM_RUNNING,
	PROGRAM_ROLLING,	/* a rolling restart is under way */
	PROGRAM_STOPPED,	/* stopped by request: nothing restarts */
	PROGRAM_REMOVED		/* gone from the configuration; freed once
				   its last worker is */
};

struct program {
	struct program		*p_next;
	struct prog_conf	*p_conf;	/* current; config held */
	enum program_state	 p_state;
	struct listener		**p_listeners;	/* in pc_sockets order */
	struct listener		*p_node_listener; /* node_handle's socket */
	struct slot		**p_slots;
	int			 p_nslots;
	int			 p_roll_next;	/* next slot to roll */
	int			 p_roll_target;	/* slots once it is done */
	int			 p_roll_failed;	/* the last roll stopped */
};

struct worker {
	struct worker		*w_next;	/* every worker not yet freed */
	struct program		*w_prog;
	struct prog_conf	*w_conf;	/* started with; config held */
	struct slot		*w_slot;	/* NULL once its slot is gone */
	int			 w_index;	/* slot index, for messages */
	pid_t			 w_pid;
	enum worker_state	 w_state;
	ev_tstamp		 w_started;	/* ev_now() at fork */
	ev_tstamp		 w_ready_at;	/* when it became ready, or 0 */
	int			 w_stop_sent;	/* clusterd asked it to stop */
	int			 w_exec_failed;	/* its exec never happened */
	enum kill_reason	 w_killed;	/* why clusterd killed it */
	ev_io			 w_exec_io;	/* exec-status pipe */
	ev_timer		 w_uptime;	/* min_uptime reached */
	ev_timer		 w_timer;	/* ready_timeout, watchdog, or
						   stop escalation */
	ev_io			 w_ipc_io;	/* master's end of the channel */
	char			*w_ipc_buf;	/* partial line, 64 KiB */
	size_t			 w_ipc_len;
	int			 w_ipc_bad;	/* malformed messages so far */
	char			 w_status[256];	/* last status text */
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

/* How a failed child reports which step of its set-up failed. */
enum spawn_stage {
	STAGE_PGID,
	STAGE_STDIO,
	STAGE_FDS,
	STAGE_LIMIT,
	STAGE_GROUP,
	STAGE_USER,
	STAGE_VERIFY,
	STAGE_CHDIR,
	STAGE_PDEATHSIG,
	STAGE_EXEC
};

struct spawn_status {
	int	ss_stage;	/* enum spawn_stage */
	int	ss_errno;
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

/* config.c */
struct config	*config_load(const char *, char **);
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

/* ipc.c */
enum ipc_kind	 ipc_classify(const char *, size_t, char *, size_t, char *,
		    size_t);
int		 ipc_open(struct worker *, int *);
void		 ipc_started(struct worker *, int);
void		 ipc_close(struct worker *);

/* env.c */
char		**env_build(const struct program *, int, pid_t, int, char **);
void		 env_free(char **);
void		 env_fill_listen_pid(char **, pid_t);

/* cpu.c */
int		 cpu_available(void);

/* sock.c */
struct listener	*sock_open(const struct sock_conf *, char *, size_t);
int		 sock_open_reuseport(const struct listener *, char *, size_t);
void		 sock_close(struct listener *);
int		 sock_update(struct listener *, const struct sock_conf *);

/* spawn.c */
pid_t		 spawn_worker(const struct program *, int, const int *, int,
		    int *);
void		 spawn_describe(const struct prog_conf *,
		    const struct spawn_status *, char *, size_t);

/* worker.c */
struct worker	*worker_start(struct program *, struct slot *);
void		 worker_stop(struct worker *);
void		 worker_retire(struct worker *);
void		 worker_kill(struct worker *);
void		 worker_reap(pid_t, int);
void		 worker_message(struct worker *, enum ipc_kind, const char *);
int		 worker_count(void);
void		 worker_foreach(void (*)(struct worker *));
struct worker	*worker_first(void);
void		 worker_detach_slot(struct slot *);
const char	*worker_state_name(enum worker_state);

/* program.c */
struct program	*program_create(struct prog_conf *, struct listener *);
int		 program_reconfigure(struct program *, struct prog_conf *,
		    struct listener *);
void		 program_start(struct program *);
void		 program_stop(struct program *);
void		 program_remove(struct program *);
int		 program_roll(struct program *);
void		 program_replace(struct slot *);
int		 program_scale(struct program *, int);
void		 program_signal(struct program *, int);
void		 program_free(struct program *);
int		 program_has_workers(const struct program *);
int		 program_slot_fds(const struct slot *, int *);
void		 program_worker_stable(struct worker *);
void		 program_worker_ready(struct worker *);
void		 program_worker_exited(struct worker *, int);
void		 program_worker_suicide(struct worker *);
void		 program_status(const struct program *, char *, size_t);

/* memory.c */
void		 memory_update(void);
void		 memory_stop(void);
long long	 memory_rss(pid_t);

/* notify.c: systemd's sd_notify protocol, when NOTIFY_SOCKET is set. */
void		 notify_init(void);
void		 notify_ready(const char *);
void		 notify_reloading(void);
void		 notify_stopping(void);
void		 notify_status(const char *);

/* sdlisten.c: sockets systemd passed to clusterd itself. */
int		 sdlisten_init(void);
int		 sdlisten_take(const char *, char *, size_t);
int		 sdlisten_has(const char *);

/* ctl.c: the control socket (clusterctl's side is src/clusterctl.c). */
int		 ctl_init(const char *);
int		 ctl_reconfigure(const char *);
void		 ctl_close(void);

/* cluster.c */
typedef void	(*reload_cb)(void *, int, const char *);

int		 cluster_init(struct config *, int);
void		 cluster_start(void);
int		 cluster_shutting_down(void);
void		 cluster_shutdown(int);
void		 cluster_reload(void);
void		 cluster_reload_wait(reload_cb, void *);
void		 cluster_reload_cancel(void *);
void		 cluster_scale_all(int);
void		 cluster_changed(void);
void		 cluster_roll_done(struct program *, int, const char *);
void		 cluster_worker_freed(void);
void		 cluster_cleanup(void);
struct program	*cluster_programs(void);
struct program	*cluster_find_program(const char *);
const struct config *cluster_config(void);

#endif /* DAEMON_H */
