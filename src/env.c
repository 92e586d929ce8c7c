/*
 * SPDX-License-Identifier: ISC
 *
 * The environment a worker starts with: clusterd's own, less what systemd
 * addressed to clusterd itself and anything that would look like it came
 * from clusterd, plus the worker's variables, then the program's env
 * lines, which win.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "compat.h"
#include "daemon.h"
#include "log.h"

/* Digits reserved for LISTEN_PID, which only the child can fill in. */
#define PID_DIGITS	12

struct envbuf {
	char	**e_vars;	/* NULL-terminated, grown by strv_push() */
	size_t	  e_len;
	int	  e_failed;
};

/*
 * What systemd addressed to clusterd itself, and leftovers that would
 * name descriptors this worker does not have (clusterd run by clusterd).
 */
static const char *stripped[] = {
	"LISTEN_", "NOTIFY_SOCKET=", "WATCHDOG_", "CLUSTERD_FD_",
	"CLUSTERD_IPC_FD=", "NODE_CHANNEL_", "NODE_UNIQUE_ID=",
	"EINHORN_FD_", "EINHORN_SOCK_", "SERVER_STARTER_PORT=", NULL
};

static int	env_is_stripped(const char *);
static void	env_put(struct envbuf *, char *);
static void	env_setf(struct envbuf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	env_add_sockets(struct envbuf *, const struct prog_conf *);
static void	env_add_dialects(struct envbuf *, const struct spawn_req *,
		    pid_t, int);
static void	env_put_all(struct envbuf *, char **, const char *,
		    const char *);

/*
 * Build the environment of a worker of pc in the given slot.  ipc_fd is the
 * channel's descriptor in the worker, or -1.  base is the environment
 * clusterd inherited.  Returns NULL when out of memory.
 */
char **
env_build(const struct spawn_req *req, pid_t master, int ipc_fd,
    char **base)
{
	const struct prog_conf	*pc = req->sr_conf;
	struct envbuf		 eb = { NULL, 0, 0 };
	int			 node;
	size_t			 i;

	for (i = 0; base != NULL && base[i] != NULL; i++)
		if (!env_is_stripped(base[i]))
			env_setf(&eb, "%s", base[i]);
	if (pc->pc_user != NULL) {
		env_setf(&eb, "HOME=%s", pc->pc_home);
		env_setf(&eb, "USER=%s", pc->pc_user);
		env_setf(&eb, "LOGNAME=%s", pc->pc_user);
	}
	env_add_sockets(&eb, pc);
	env_setf(&eb, "CLUSTERD_PROGRAM=%s", pc->pc_name);
	env_setf(&eb, "CLUSTERD_WORKER=%d", req->sr_slot);
	env_setf(&eb, "CLUSTERD_MASTER_PID=%ld", (long)master);
	if (ipc_fd != -1)
		env_setf(&eb, "CLUSTERD_IPC_FD=%d", ipc_fd);
	node = pc->pc_ipc == IPC_NODE || pc->pc_ipc == IPC_NODE_CLUSTER;
	if (ipc_fd != -1 && node) {
		env_setf(&eb, "NODE_CHANNEL_FD=%d", ipc_fd);
		env_setf(&eb, "NODE_CHANNEL_SERIALIZATION_MODE=json");
	}
	if (ipc_fd != -1 && pc->pc_ipc == IPC_NODE_CLUSTER) {
		/* Node's cluster.worker.id is 1, 2, ...; PM2's instance 0.. */
		env_setf(&eb, "NODE_UNIQUE_ID=%d", req->sr_slot + 1);
		env_setf(&eb, "NODE_APP_INSTANCE=%d", req->sr_slot);
	}
	if (req->sr_notify != NULL)
		env_setf(&eb, "NOTIFY_SOCKET=%s", req->sr_notify);
	if (pc->pc_compat != 0)
		env_add_dialects(&eb, req, master, ipc_fd);
	for (i = 0; i < pc->pc_nenv; i++)
		env_setf(&eb, "%s", pc->pc_env[i]);
	if (eb.e_failed) {
		env_free(eb.e_vars);
		return NULL;
	}
	return eb.e_vars;
}

/*
 * compat: the worker's sockets announced as einhorn and Server::Starter
 * announce them (compat.c builds the variables).
 */
static void
env_add_dialects(struct envbuf *eb, const struct spawn_req *req,
    pid_t master, int ipc_fd)
{
	const struct prog_conf	*pc = req->sr_conf;
	struct compat_sock	 cs[pc->pc_nsockets + 1];
	struct sock_desc	 sk[pc->pc_nsockets + 1];
	char			**vars = NULL, err[ERRBUF_LEN];
	size_t			 i;

	for (i = 0; i < pc->pc_nsockets; i++) {
		memset(&cs[i], 0, sizeof(cs[i]));
		if (sock_describe(req->sr_socks[i], req->sr_fds[i],
		    &sk[i]) == -1)
			continue;
		cs[i].cs_kind = sk[i].sk_unix ? COMPAT_UNIX : COMPAT_TCP;
		cs[i].cs_any = sk[i].sk_any;
		cs[i].cs_host = sk[i].sk_host;
		cs[i].cs_port = sk[i].sk_port;
		cs[i].cs_path = sk[i].sk_path;
		cs[i].cs_fd = 3 + (int)i;
	}
	if (pc->pc_compat & COMPAT_EINHORN) {
		vars = compat_einhorn_env(cs, pc->pc_nsockets, master,
		    req->sr_einhorn_index, ipc_fd, err, sizeof(err));
		env_put_all(eb, vars, "einhorn", err);
	}
	if (pc->pc_compat & COMPAT_SERVER_STARTER) {
		vars = compat_server_starter_env(cs, pc->pc_nsockets,
		    req->sr_generation, err, sizeof(err));
		env_put_all(eb, vars, "server-starter", err);
	}
}

/* Add every variable of vars (NULL: a failure, err says why). */
static void
env_put_all(struct envbuf *eb, char **vars, const char *dialect,
    const char *err)
{
	size_t	i;

	if (vars == NULL) {
		log_warnx("compat = %s: %s", dialect, err);
		return;
	}
	for (i = 0; vars[i] != NULL; i++)
		env_setf(eb, "%s", vars[i]);
	compat_env_free(vars);
}

void
env_free(char **envp)
{
	size_t	i;

	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		free(envp[i]);
	free(envp);
}

/*
 * In the child, after fork: write its own pid into the LISTEN_PID entry
 * that env_build reserved.  No allocation happens here.
 */
void
env_fill_listen_pid(char **envp, pid_t pid)
{
	size_t	i;

	for (i = 0; envp != NULL && envp[i] != NULL; i++) {
		if (strncmp(envp[i], "LISTEN_PID=", 11) == 0) {
			snprintf(envp[i] + 11, PID_DIGITS + 1, "%ld",
			    (long)pid);
			return;
		}
	}
}

static void
env_add_sockets(struct envbuf *eb, const struct prog_conf *pc)
{
	char			 names[4096] = "", var[NAME_MAXLEN + 16];
	size_t			 i, j;

	if (pc->pc_nsockets == 0)
		return;
	env_setf(eb, "LISTEN_FDS=%zu", pc->pc_nsockets);
	env_setf(eb, "LISTEN_PID=%0*d", PID_DIGITS, 0);
	for (i = 0; i < pc->pc_nsockets; i++) {
		if (i > 0)
			strncat(names, ":", sizeof(names) - strlen(names) - 1);
		strncat(names, pc->pc_sockets[i],
		    sizeof(names) - strlen(names) - 1);
		for (j = 0; pc->pc_sockets[i][j] != '\0' &&
		    j < sizeof(var) - 1; j++) {
			unsigned char c = (unsigned char)pc->pc_sockets[i][j];

			var[j] = (c == '-' || c == '.') ? '_' :
			    (char)toupper(c);
		}
		var[j] = '\0';
		env_setf(eb, "CLUSTERD_FD_%s=%zu", var, 3 + i);
	}
	env_setf(eb, "LISTEN_FDNAMES=%s", names);
}

static int
env_is_stripped(const char *var)
{
	size_t	i;

	for (i = 0; stripped[i] != NULL; i++)
		if (strncmp(var, stripped[i], strlen(stripped[i])) == 0)
			return 1;
	return 0;
}

static void
env_setf(struct envbuf *eb, const char *fmt, ...)
{
	va_list	 ap;
	char	*var;

	va_start(ap, fmt);
	if (vasprintf(&var, fmt, ap) == -1) {
		eb->e_failed = 1;
		var = NULL;
	}
	va_end(ap);
	if (var != NULL)
		env_put(eb, var);
}

/* Add NAME=VALUE, replacing an earlier NAME; takes ownership of var. */
static void
env_put(struct envbuf *eb, char *var)
{
	size_t	 i, namelen = strcspn(var, "=");

	for (i = 0; i < eb->e_len; i++) {
		if (strncmp(eb->e_vars[i], var, namelen + 1) == 0) {
			free(eb->e_vars[i]);
			eb->e_vars[i] = var;
			return;
		}
	}
	if (strv_push(&eb->e_vars, &eb->e_len, var) == -1) {
		eb->e_failed = 1;
		free(var);
	}
}
