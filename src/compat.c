/*
 * SPDX-License-Identifier: ISC
 *
 * Other supervisors' dialects, so that workers written for them run
 * unchanged (compat = einhorn, server-starter).  The formats are those of
 * einhorn's lib/einhorn/command.rb (prepare_child_environment) and
 * client.rb, and of Server::Starter's lib/Server/Starter.pm
 * (start_server); docs-notes.md has the details and where each one is.
 *
 * einhorn: EINHORN_FD_COUNT, EINHORN_FD_0 ... (the descriptors, in
 * order), EINHORN_MASTER_PID (the worker's parent: einhorn's client
 * refuses to ack when it is not its getppid()), EINHORN_CHILD_INDEX (no
 * two live workers share one: compat_einhorn_index()), EINHORN_SOCK_FD
 * (einhorn -g's command socket; here the IPC channel).
 *
 * Server::Starter: SERVER_STARTER_PORT, entries "KEY=FD" joined by ';',
 * KEY being what start_server was given, normalised: "PORT" for a port on
 * every address, "HOST:PORT", "[V6ADDR]:PORT", or a unix socket's path;
 * SERVER_STARTER_GENERATION, a number that grows with each restart.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "compat.h"

struct strv {
	char	**sv_v;
	size_t	  sv_n;
	int	  sv_failed;
};

static void	strv_add(struct strv *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static char	**strv_done(struct strv *, char *, size_t);
static int	port_entry(const struct compat_sock *, char *, size_t, char *,
		    size_t);
static enum compat_cmd classify_json(const char *, size_t, long long *);
static enum compat_cmd classify_yaml(const char *, size_t, long long *);
static int	yaml_pair(char *, char **, char **);
static void	yaml_scalar(char **);
static int	yaml_quoted(char *);
static enum compat_cmd command_kind(const char *);
static int	parse_pid(const char *, long long *);
static int	hexval(int);

/*
 * einhorn's variables for a worker: socks in the worker's order, its
 * parent's pid, its child index, and the descriptor of EINHORN_SOCK_FD
 * (-1: none).  A NULL-terminated array of "NAME=VALUE" (compat_env_free),
 * or NULL with err.
 */
char **
compat_einhorn_env(const struct compat_sock *socks, size_t n, pid_t master,
    int index, int sock_fd, char *err, size_t errlen)
{
	struct strv	sv = { NULL, 0, 0 };
	size_t		i;

	strv_add(&sv, "EINHORN_FD_COUNT=%zu", n);
	for (i = 0; i < n; i++)
		strv_add(&sv, "EINHORN_FD_%zu=%d", i, socks[i].cs_fd);
	strv_add(&sv, "EINHORN_MASTER_PID=%ld", (long)master);
	strv_add(&sv, "EINHORN_CHILD_INDEX=%d", index);
	if (sock_fd >= 0)
		strv_add(&sv, "EINHORN_SOCK_FD=%d", sock_fd);
	return strv_done(&sv, err, errlen);
}

/*
 * einhorn's EINHORN_CHILD_INDEX for a new worker: the smallest index no
 * live worker of the program has (during a rolling restart the new
 * worker of slot 0 gets another index than the old one still running).
 */
int
compat_einhorn_index(const int *in_use, size_t n)
{
	size_t	i;
	int	idx;

	for (idx = 0;; idx++) {
		for (i = 0; i < n && in_use[i] != idx; i++)
			;
		if (i == n)
			return idx;
	}
}

/*
 * Server::Starter's variables: SERVER_STARTER_PORT for socks (empty when
 * there are none, as start_server leaves it) and the generation.
 */
char **
compat_server_starter_env(const struct compat_sock *socks, size_t n,
    unsigned long generation, char *err, size_t errlen)
{
	struct strv	sv = { NULL, 0, 0 };
	char		port[COMPAT_PORT_MAX];

	if (compat_server_starter_port(socks, n, port, sizeof(port), err,
	    errlen) == -1)
		return NULL;
	strv_add(&sv, "SERVER_STARTER_PORT=%s", port);
	strv_add(&sv, "SERVER_STARTER_GENERATION=%lu", generation);
	return strv_done(&sv, err, errlen);
}

/* The value of SERVER_STARTER_PORT into buf: 0, or -1 with err. */
int
compat_server_starter_port(const struct compat_sock *socks, size_t n,
    char *buf, size_t len, char *err, size_t errlen)
{
	size_t	i, used = 0;

	if (len == 0) {
		snprintf(err, errlen, "SERVER_STARTER_PORT: no room");
		return -1;
	}
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0 && used + 1 < len)
			buf[used++] = ';';
		if (used + 1 >= len || port_entry(&socks[i], buf + used,
		    len - used, err, errlen) == -1) {
			if (used + 1 >= len)
				snprintf(err, errlen, "SERVER_STARTER_PORT: "
				    "longer than %zu bytes", len - 1);
			buf[0] = '\0';
			return -1;
		}
		used += strlen(buf + used);
	}
	return 0;
}

/* One "KEY=FD", as start_server writes it. */
static int
port_entry(const struct compat_sock *s, char *buf, size_t len, char *err,
    size_t errlen)
{
	int	n;

	if (s->cs_kind == COMPAT_UNIX) {
		/* its clients split on ';' and on '=' */
		if (s->cs_path == NULL || strpbrk(s->cs_path, ";=") != NULL) {
			snprintf(err, errlen, "SERVER_STARTER_PORT: the unix "
			    "socket path %s has a ';' or '=' in it, which "
			    "Server::Starter's clients cannot read",
			    s->cs_path != NULL ? s->cs_path : "(none)");
			return -1;
		}
		n = snprintf(buf, len, "%s=%d", s->cs_path, s->cs_fd);
	} else if (s->cs_any || s->cs_host == NULL)
		n = snprintf(buf, len, "%d=%d", s->cs_port, s->cs_fd);
	else if (strchr(s->cs_host, ':') != NULL)
		n = snprintf(buf, len, "[%s]:%d=%d", s->cs_host, s->cs_port,
		    s->cs_fd);
	else
		n = snprintf(buf, len, "%s:%d=%d", s->cs_host, s->cs_port,
		    s->cs_fd);
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "SERVER_STARTER_PORT: longer than %d "
		    "bytes", COMPAT_PORT_MAX - 1);
		return -1;
	}
	return 0;
}

void
compat_env_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * Whether a variable ("NAME" or "NAME=VALUE") is one the dialects set
 * (COMPAT_EINHORN, COMPAT_SERVER_STARTER bits), so an env line may not.
 */
int
compat_reserved(const char *var, unsigned dialects)
{
	static const char *einhorn[] = {
		"EINHORN_FD_COUNT", "EINHORN_MASTER_PID",
		"EINHORN_CHILD_INDEX", "EINHORN_SOCK_FD", NULL
	};
	static const char *starter[] = {
		"SERVER_STARTER_PORT", "SERVER_STARTER_GENERATION", NULL
	};
	size_t	len = strcspn(var, "="), i;

	for (i = 0; (dialects & COMPAT_EINHORN) && einhorn[i] != NULL; i++)
		if (strlen(einhorn[i]) == len &&
		    memcmp(var, einhorn[i], len) == 0)
			return 1;
	if ((dialects & COMPAT_EINHORN) && len > 11 &&
	    memcmp(var, "EINHORN_FD_", 11) == 0 &&
	    strspn(var + 11, "0123456789") == len - 11)
		return 1;
	for (i = 0; (dialects & COMPAT_SERVER_STARTER) && starter[i] != NULL;
	    i++)
		if (strlen(starter[i]) == len &&
		    memcmp(var, starter[i], len) == 0)
			return 1;
	return 0;
}

/*
 * A line a worker wrote on EINHORN_SOCK_FD, without its newline: einhorn's
 * command in either of the forms einhorn reads (its command socket takes
 * YAML, and JSON is YAML):
 *	{"command":"worker:ack", "pid":PID}	(einhorn's README, Go and
 *						Python clients)
 *	---%0Acommand: worker:ack%0Apid: PID%0A	(the Ruby client: YAML.dump,
 *						'%' and newlines escaped)
 * Every %XX is decoded, as einhorn did with URI.unescape before 2020 (a
 * Node client escapes spaces too).  *pid gets the pid it names, or -1.
 */
enum compat_cmd
compat_einhorn_classify(const char *line, size_t len, long long *pid)
{
	*pid = -1;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
	    line[len - 1] == '\t'))
		len--;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (len == 0 || len > COMPAT_LINE_MAX)
		return COMPAT_CMD_NONE;
	if (*line == '{')
		return classify_json(line, len, pid);
	return classify_yaml(line, len, pid);
}

static enum compat_cmd
classify_json(const char *line, size_t len, long long *pid)
{
	struct json_val	v, m;
	char		err[64], cmd[64];

	if (json_parse(line, len, &v, err, sizeof(err)) == -1 ||
	    json_get(&v, "command", &m) == -1 ||
	    json_string(&m, cmd, sizeof(cmd)) == -1)
		return COMPAT_CMD_NONE;
	if (json_get(&v, "pid", &m) == 0 && json_int(&m, 1, 0x7fffffff,
	    pid) == -1)
		*pid = -1;
	return command_kind(cmd);
}

/* A one-level YAML mapping of plain or quoted scalars: all einhorn sends */
static enum compat_cmd
classify_yaml(const char *line, size_t len, long long *pid)
{
	char		 buf[COMPAT_LINE_MAX + 1], *p, *next, *key, *val;
	char		 cmd[64] = "";
	size_t		 i, n = 0;

	for (i = 0; i < len; i++) {
		if (line[i] == '%' && i + 2 < len &&
		    hexval(line[i + 1]) >= 0 && hexval(line[i + 2]) >= 0) {
			buf[n++] = (char)(hexval(line[i + 1]) * 16 +
			    hexval(line[i + 2]));
			i += 2;
		} else
			buf[n++] = line[i];
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL)
		return COMPAT_CMD_NONE;
	for (p = buf; p != NULL; p = next) {
		if ((next = strchr(p, '\n')) != NULL)
			*next++ = '\0';
		if (strcmp(p, "---") == 0 || strncmp(p, "--- ", 4) == 0 ||
		    *p == '\0' || *p == '#')
			continue;
		if (yaml_pair(p, &key, &val) == -1)
			return COMPAT_CMD_NONE;
		if (strcmp(key, "command") == 0)
			snprintf(cmd, sizeof(cmd), "%s", val);
		else if (strcmp(key, "pid") == 0 && parse_pid(val, pid) == -1)
			*pid = -1;
	}
	return cmd[0] == '\0' ? COMPAT_CMD_NONE : command_kind(cmd);
}

/* "key: value" at the top level: 0 with both unquoted, or -1. */
static int
yaml_pair(char *line, char **key, char **val)
{
	char	*colon;

	if (*line == ' ' || *line == '\t' || *line == '-')
		return -1;
	*key = line;
	if (*line == '"' || *line == '\'') {
		if ((colon = strchr(line + 1, *line)) == NULL)
			return -1;
		colon++;
	} else
		colon = line;
	for (; *colon != '\0'; colon++)
		if (*colon == ':' && (colon[1] == ' ' || colon[1] == '\0'))
			break;
	if (*colon != ':')
		return -1;
	*colon = '\0';
	*val = colon + 1;
	yaml_scalar(key);
	yaml_scalar(val);
	return 0;
}

/* Trim, drop a comment after a plain scalar, unquote a quoted one. */
static void
yaml_scalar(char **s)
{
	char	*p = *s, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	*s = p;
	if ((*p == '\'' || *p == '"') && yaml_quoted(p) == 0)
		return;
	if ((end = strstr(p, " #")) == NULL)
		end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
}

/*
 * Unquote in place: 'it''s' or "a\"b", then nothing but a comment.  0,
 * or -1 (left as it was) when that is not what it is.
 */
static int
yaml_quoted(char *p)
{
	char	 q = *p, *r, *w, *rest;

	for (r = p + 1; *r != '\0'; r++) {
		if (*r == q && q == '\'' && r[1] == '\'')
			r++;
		else if (*r == q)
			break;
		else if (q == '"' && *r == '\\' && r[1] != '\0')
			r++;
	}
	if (*r != q)
		return -1;
	for (rest = r + 1; *rest == ' ' || *rest == '\t'; rest++)
		;
	if (*rest != '\0' && *rest != '#')
		return -1;
	*r = '\0';
	for (w = p, r = p + 1; *r != '\0'; r++) {
		if ((q == '\'' && *r == '\'') || (q == '"' && *r == '\\'))
			r++;
		*w++ = *r;
	}
	*w = '\0';
	return 0;
}

static enum compat_cmd
command_kind(const char *cmd)
{
	if (strcmp(cmd, "worker:ack") == 0)
		return COMPAT_CMD_ACK;
	if (strcmp(cmd, "worker:ping") == 0)
		return COMPAT_CMD_PING;
	return cmd[0] != '\0' ? COMPAT_CMD_OTHER : COMPAT_CMD_NONE;
}

static int
parse_pid(const char *s, long long *pid)
{
	char		*end;
	long long	 n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > 0x7fffffff)
		return -1;
	*pid = n;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
strv_add(struct strv *sv, const char *fmt, ...)
{
	va_list	  ap;
	char	 *s, **grown;

	if (sv->sv_failed)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	grown = s == NULL ? NULL : reallocarray(sv->sv_v, sv->sv_n + 2,
	    sizeof(*grown));
	if (grown == NULL) {
		free(s);
		sv->sv_failed = 1;
		return;
	}
	sv->sv_v = grown;
	sv->sv_v[sv->sv_n++] = s;
	sv->sv_v[sv->sv_n] = NULL;
}

static char **
strv_done(struct strv *sv, char *err, size_t errlen)
{
	if (!sv->sv_failed)
		return sv->sv_v;
	compat_env_free(sv->sv_v);
	snprintf(err, errlen, "out of memory");
	return NULL;
}
