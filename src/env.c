/*
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

#include "daemon.h"

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
	"CLUSTERD_IPC_FD=", "NODE_CHANNEL_", NULL
};

static int	env_is_stripped(const char *);
static void	env_put(struct envbuf *, char *);
static void	env_setf(struct envbuf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	env_add_sockets(struct envbuf *, const struct prog_conf *);

/*
 * Build the environment of a worker of pc in the given slot.  ipc_fd is the
 * channel's descriptor in the worker, or -1.  base is the environment
 * clusterd inherited.  Returns NULL when out of memory.
 */
char **
env_build(const struct prog_conf *pc, int slot, pid_t master, int ipc_fd,
    char **base)
{
	struct envbuf		 eb = { NULL, 0, 0 };
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
	env_setf(&eb, "CLUSTERD_WORKER=%d", slot);
	env_setf(&eb, "CLUSTERD_MASTER_PID=%ld", (long)master);
	if (ipc_fd != -1)
		env_setf(&eb, "CLUSTERD_IPC_FD=%d", ipc_fd);
	if (ipc_fd != -1 && pc->pc_ipc == IPC_NODE) {
		env_setf(&eb, "NODE_CHANNEL_FD=%d", ipc_fd);
		env_setf(&eb, "NODE_CHANNEL_SERIALIZATION_MODE=json");
	}
	for (i = 0; i < pc->pc_nenv; i++)
		env_setf(&eb, "%s", pc->pc_env[i]);
	if (eb.e_failed) {
		env_free(eb.e_vars);
		return NULL;
	}
	return eb.e_vars;
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
