/*
 * SPDX-License-Identifier: ISC
 *
 * The keys of each section type, one table per type: name, setter, where
 * the value goes, bounds and default; and one setter per type of value.
 * Setters are pure but for user and group look-ups: each writes its
 * message into the caller's buffer.  Whether a key was given, and the
 * checks that need other keys, are cfgread.c's and cfgcheck.c's.
 */

#include <sys/types.h>
#include <sys/un.h>

#include <ctype.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "log.h"

static int	 set_path(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_control(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_control_group(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_include(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_loglevel(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_listen(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_bool(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_int(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_mode(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_owner(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_command(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_workers(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_sockets(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_choice(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_duration(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_positive_duration(struct cfg_parse *,
		    const struct keydef *, void *, const char *, char *, size_t);
static int	 set_watchdog(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_max_memory(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_node_handle(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_stop_signal(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_env(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_env_file(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_user(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_group(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_rlimit(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_output(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_identifier(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_compat(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);

static const struct choice restart_modes[] = {
	{ "always",	RESTART_ALWAYS },
	{ "on-failure",	RESTART_ON_FAILURE },
	{ "never",	RESTART_NEVER },
	{ NULL,		0 }
};

static const struct choice ipc_modes[] = {
	{ "json",		IPC_JSON },
	{ "node",		IPC_NODE },
	{ "node-cluster",	IPC_NODE_CLUSTER },
	{ "none",		IPC_NONE },
	{ NULL,			0 }
};

static const struct choice ready_modes[] = {
	{ "message",	READY_MESSAGE },
	{ "auto",	READY_AUTO },
	{ "exec",	READY_EXEC },
	{ "listening",	READY_LISTENING },
	{ "notify",	READY_NOTIFY },
	{ NULL,		0 }
};

static const struct choice compat_names[] = {
	{ "einhorn",		COMPAT_EINHORN },
	{ "server-starter",	COMPAT_SERVER_STARTER },
	{ NULL,			0 }
};

#define G(f)	offsetof(struct config, f)
#define S(f)	offsetof(struct sock_conf, f)
#define P(f)	offsetof(struct prog_conf, f)
#define KEY(name, set, off) \
	.k_name = (name), .k_set = (set), .k_off = (off)

/* [clusterd] */
static const struct keydef global_keys[] = {
	{ KEY("control", set_control, G(cf_control)) },
	{ KEY("control_group", set_control_group, 0) },
	{ KEY("pidfile", set_path, G(cf_pidfile)) },
	{ KEY("log_level", set_loglevel, G(cf_log_level)) },
	{ KEY("include", set_include, 0), .k_flags = KEY_REPEAT },
};

/* [socket:NAME] */
static const struct keydef socket_keys[] = {
	{ KEY("listen", set_listen, 0), .k_flags = KEY_REQUIRED },
	{ KEY("backlog", set_int, S(sc_backlog)), .k_min = 1,
	    .k_max = 65535, .k_default = "511" },
	{ KEY("reuseport", set_bool, S(sc_reuseport)), .k_default = "no" },
	{ KEY("mode", set_mode, S(sc_mode)), .k_max = 0777,
	    .k_default = "0660" },
	{ KEY("owner", set_owner, 0) },
};

/*
 * [program:NAME].  The defaults of ready and stop_signal are those
 * without ipc = node-cluster; cfgcheck.c changes them for it.
 */
static const struct keydef program_keys[] = {
	{ KEY("command", set_command, P(pc_argv)), .k_flags = KEY_REQUIRED },
	{ KEY("workers", set_workers, P(pc_workers)), .k_min = 1,
	    .k_max = 4096, .k_default = "1" },
	{ KEY("sockets", set_sockets, 0) },
	{ KEY("restart", set_choice, P(pc_restart)),
	    .k_choices = restart_modes, .k_default = "always" },
	{ KEY("min_uptime", set_duration, P(pc_min_uptime)),
	    .k_default = "1s" },
	{ KEY("restart_delay", set_duration, P(pc_restart_delay)),
	    .k_default = "100ms" },
	{ KEY("restart_delay_max", set_duration, P(pc_restart_delay_max)),
	    .k_default = "30s" },
	{ KEY("stop_signal", set_stop_signal, 0), .k_default = "TERM" },
	{ KEY("stop_timeout", set_duration, P(pc_stop_timeout)),
	    .k_default = "10s" },
	{ KEY("env", set_env, 0), .k_flags = KEY_REPEAT },
	{ KEY("env_file", set_env_file, 0), .k_flags = KEY_REPEAT },
	{ KEY("directory", set_path, P(pc_directory)) },
	{ KEY("user", set_user, 0) },
	{ KEY("group", set_group, 0) },
	{ KEY("umask", set_mode, P(pc_umask)), .k_has = P(pc_has_umask),
	    .k_max = 0777 },
	{ KEY("limit_nofile", set_rlimit, P(pc_nofile)),
	    .k_has = P(pc_has_nofile), .k_min = 1, .k_max = 1LL << 30 },
	{ KEY("stdout", set_output, P(pc_stdout)), .k_default = "auto" },
	{ KEY("stderr", set_output, P(pc_stderr)), .k_default = "auto",
	    .k_flags = KEY_STDOUT_OK },
	{ KEY("identifier", set_identifier, 0) },
	{ KEY("compat", set_compat, 0) },
	{ KEY("ipc", set_choice, P(pc_ipc)), .k_choices = ipc_modes,
	    .k_default = "json" },
	{ KEY("node_handle", set_node_handle, 0) },
	{ KEY("ready", set_choice, P(pc_ready)), .k_choices = ready_modes,
	    .k_default = "auto" },
	{ KEY("ready_timeout", set_positive_duration, P(pc_ready_timeout)),
	    .k_default = "30s" },
	{ KEY("watchdog", set_watchdog, P(pc_watchdog)) },
	{ KEY("max_memory", set_max_memory, P(pc_max_memory)) },
};

_Static_assert(nitems(global_keys) <= CONF_MAXKEYS, "CONF_MAXKEYS");
_Static_assert(nitems(socket_keys) <= CONF_MAXKEYS, "CONF_MAXKEYS");
_Static_assert(nitems(program_keys) <= CONF_MAXKEYS, "CONF_MAXKEYS");

/* The keys of a section type. */
const struct keydef *
cfgkeys_table(enum sect_type type, size_t *n)
{
	switch (type) {
	case SECT_GLOBAL:
		*n = nitems(global_keys);
		return global_keys;
	case SECT_SOCKET:
		*n = nitems(socket_keys);
		return socket_keys;
	case SECT_PROGRAM:
		*n = nitems(program_keys);
		return program_keys;
	default:
		*n = 0;
		return NULL;
	}
}

/* The index of key name in a table of n keys, or -1. */
int
cfgkeys_find(const struct keydef *keys, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(keys[i].k_name, name) == 0)
			return (int)i;
	return -1;
}

/* The [socket:NAME] section called name, or NULL. */
struct sock_conf *
cfgkeys_socket(const struct config *cfg, const char *name)
{
	struct sock_conf	*sc;

	for (sc = cfg->cf_socks; sc != NULL; sc = sc->sc_next)
		if (strcmp(sc->sc_name, name) == 0)
			return sc;
	return NULL;
}

#define FIELD(obj, k, type)	((type *)(void *)((char *)(obj) + (k)->k_off))

static void
set_has(const struct keydef *k, void *obj)
{
	if (k->k_has != 0)
		*(int *)(void *)((char *)obj + k->k_has) = 1;
}

/* Relative to the directory of the configuration file. */
char *
cfgkeys_path(const struct config *cfg, const char *path)
{
	char	*p;

	if (*path == '/')
		return strdup(path);
	if (asprintf(&p, "%s/%s", cfg->cf_dir, path) == -1)
		return NULL;
	return p;
}

/*
 * A relative path as messages name it: beside the configuration file as
 * the command line named that ("conf/app.env" for "-c conf/app.ini").
 */
static char *
display_path(const struct config *cfg, const char *path)
{
	char	*copy, *dir, *p = NULL;

	if (*path == '/' || (copy = strdup(cfg->cf_path)) == NULL)
		return strdup(path);
	dir = dirname(copy);
	if (strcmp(dir, ".") == 0)
		p = strdup(path);
	else if (asprintf(&p, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" :
	    "/", path) == -1)
		p = NULL;
	free(copy);
	return p;
}

void
cfgkeys_ref_free(struct cfg_ref *refs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(refs[i].r_path);
		free(refs[i].r_name);
	}
	free(refs);
}

/* Appends a file reference: its absolute path and its name. */
static int
ref_add(struct cfg_parse *cp, struct cfg_ref **refs, size_t *n,
    const char *path, int optional)
{
	struct cfg_ref	*r;

	if ((r = reallocarray(*refs, *n + 1, sizeof(*r))) == NULL)
		return -1;
	*refs = r;
	r += *n;
	memset(r, 0, sizeof(*r));
	r->r_relative = *path != '/';
	r->r_optional = optional;
	r->r_line = cp->cp_pend.p_line;
	if ((r->r_path = cfgkeys_path(cp->cp_cfg, path)) == NULL ||
	    (r->r_name = display_path(cp->cp_cfg, path)) == NULL) {
		free(r->r_path);
		return -1;
	}
	(*n)++;
	return 0;
}

static int
set_path(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	char	**field = FIELD(obj, k, char *);

	free(*field);
	if ((*field = cfgkeys_path(cp->cp_cfg, val)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* A path like pidfile's, that must also fit in a sockaddr_un. */
static int
set_control(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	char	**field = FIELD(obj, k, char *);
	size_t	  len, max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (set_path(cp, k, obj, val, err, errlen) == -1)
		return -1;
	if ((len = strlen(*field)) > max) {
		snprintf(err, errlen, "unix socket path is too long: %zu "
		    "bytes; the limit is %zu (%s)", len, max, *field);
		free(*field);
		*field = NULL;
		return -1;
	}
	return 0;
}

/* A group whose members may use the control socket as well. */
static int
set_control_group(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct config	*cfg = obj;
	struct group	*gr;

	(void)cp;
	(void)k;
	if ((gr = getgrnam(val)) == NULL) {
		snprintf(err, errlen, "unknown group \"%s\"", val);
		return -1;
	}
	free(cfg->cf_control_group);
	if ((cfg->cf_control_group = strdup(val)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cfg->cf_control_gid = gr->gr_gid;
	cfg->cf_has_control_group = 1;
	return 0;
}

/* A glob of more files; config.c reads them after this one. */
static int
set_include(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	(void)k;
	(void)obj;
	if (ref_add(cp, &cp->cp_includes, &cp->cp_nincludes, val, 0) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
set_loglevel(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	int	level;

	(void)cp;
	if ((level = log_level_parse(val)) == -1) {
		snprintf(err, errlen, "expected debug, info, notice, warning "
		    "or error, got \"%s\"", val);
		return -1;
	}
	*FIELD(obj, k, int) = level;
	return 0;
}

static int
set_listen(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct sock_conf	*sc = obj;
	char			*path;
	size_t			 len;

	(void)k;
	if (parse_listen(val, &sc->sc_addr, err, errlen) == -1)
		return -1;
	free(sc->sc_listen);
	if ((sc->sc_listen = strdup(val)) == NULL)
		goto nomem;
	if (sc->sc_addr.la_kind != ADDR_UNIX || sc->sc_addr.la_path[0] == '/')
		return 0;
	if ((path = cfgkeys_path(cp->cp_cfg, sc->sc_addr.la_path)) == NULL)
		goto nomem;
	if ((len = strlen(path)) >= sizeof(sc->sc_addr.la_path)) {
		snprintf(err, errlen, "unix socket path is too long: %zu "
		    "bytes; the limit is %zu (%s)", len,
		    sizeof(sc->sc_addr.la_path) - 1, path);
		free(path);
		return -1;
	}
	memcpy(sc->sc_addr.la_path, path, len + 1);
	free(path);
	return 0;
 nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int
set_bool(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	(void)cp;
	return parse_bool(val, FIELD(obj, k, int), err, errlen);
}

static int
set_int(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	long long	v;

	(void)cp;
	if (parse_number(val, k->k_min, k->k_max, &v, err, errlen) == -1)
		return -1;
	*FIELD(obj, k, int) = (int)v;
	return 0;
}

static int
set_mode(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	unsigned	v;

	(void)cp;
	if (parse_octal(val, (unsigned)k->k_max, &v, err, errlen) == -1)
		return -1;
	*FIELD(obj, k, mode_t) = (mode_t)v;
	set_has(k, obj);
	return 0;
}

/* "USER" (with the user's primary group) or "USER:GROUP". */
static int
set_owner(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct sock_conf	*sc = obj;
	struct passwd		*pw;
	struct group		*gr;
	const char		*colon = strchr(val, ':');
	char			*user;

	(void)cp;
	(void)k;
	if (colon == val || (colon != NULL && colon[1] == '\0')) {
		snprintf(err, errlen, "expected USER or USER:GROUP, got "
		    "\"%s\"", val);
		return -1;
	}
	if ((user = strndup(val, colon ? (size_t)(colon - val) :
	    strlen(val))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "unknown user \"%s\"", user);
		free(user);
		return -1;
	}
	free(user);
	sc->sc_uid = pw->pw_uid;
	sc->sc_gid = pw->pw_gid;
	if (colon != NULL) {
		if ((gr = getgrnam(colon + 1)) == NULL) {
			snprintf(err, errlen, "unknown group \"%s\"",
			    colon + 1);
			return -1;
		}
		sc->sc_gid = gr->gr_gid;
	}
	sc->sc_has_owner = 1;
	return 0;
}

static int
set_command(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	char	***field = FIELD(obj, k, char **);
	char	 **argv;

	(void)cp;
	if (parse_words(val, &argv, err, errlen) == -1)
		return -1;
	if (argv[0][0] == '\0') {
		snprintf(err, errlen, "the program name is empty");
		words_free(argv);
		return -1;
	}
	words_free(*field);
	*field = argv;
	return 0;
}

/* A number of workers, or "auto": as many as usable CPUs (0). */
static int
set_workers(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	long long	v;

	(void)cp;
	if (strcmp(val, "auto") == 0) {
		*FIELD(obj, k, int) = 0;
		return 0;
	}
	if (parse_number(val, k->k_min, k->k_max, &v, err, errlen) == -1) {
		if (*val == '-' || isdigit((unsigned char)*val))
			snprintf(err, errlen, "expected a number from %lld to "
			    "%lld or \"auto\", got \"%s\"", k->k_min,
			    k->k_max, val);
		else
			snprintf(err, errlen, "expected a number or \"auto\", "
			    "got \"%s\"", val);
		return -1;
	}
	*FIELD(obj, k, int) = (int)v;
	return 0;
}

/* Adds one name to pc_sockets; whether it exists is checked at the end. */
static int
add_socket(struct prog_conf *pc, const char *name, char *err,
    size_t errlen)
{
	char	 *copy;
	size_t	  i;

	if (!valid_name(name)) {
		snprintf(err, errlen, "invalid socket name \"%s\"", name);
		return -1;
	}
	for (i = 0; i < pc->pc_nsockets; i++) {
		if (strcmp(pc->pc_sockets[i], name) == 0) {
			snprintf(err, errlen, "socket \"%s\" is named twice",
			    name);
			return -1;
		}
	}
	if ((copy = strdup(name)) == NULL ||
	    strv_push(&pc->pc_sockets, &pc->pc_nsockets, copy) == -1) {
		free(copy);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Socket names separated by commas and/or spaces. */
static int
set_sockets(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct prog_conf	*pc = obj;
	char			*copy, *p, *name;
	int			 rv = 0;

	(void)cp;
	(void)k;
	if ((copy = strdup(val)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p = copy;
	while (rv == 0 && (name = strsep(&p, ", \t")) != NULL)
		if (*name != '\0')
			rv = add_socket(pc, name, err, errlen);
	free(copy);
	if (rv == 0 && pc->pc_nsockets == 0) {
		snprintf(err, errlen, "expected socket names separated by "
		    "commas or spaces, got \"%s\"", val);
		rv = -1;
	}
	return rv;
}

/* One of k_choices; the message lists them. */
static int
set_choice(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	const struct choice	*c;
	size_t			 len;

	(void)cp;
	for (c = k->k_choices; c->c_name != NULL; c++) {
		if (strcmp(c->c_name, val) == 0) {
			*FIELD(obj, k, int) = c->c_value;
			return 0;
		}
	}
	len = (size_t)snprintf(err, errlen, "expected");
	for (c = k->k_choices; c->c_name != NULL && len < errlen; c++)
		len += (size_t)snprintf(err + len, errlen - len, "%s %s",
		    c == k->k_choices ? "" : c[1].c_name == NULL ? " or" : ",",
		    c->c_name);
	if (len < errlen)
		snprintf(err + len, errlen - len, ", got \"%s\"", val);
	return -1;
}

static int
set_duration(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	(void)cp;
	return parse_duration(val, FIELD(obj, k, double), err, errlen);
}

/* A duration where zero would mean nothing: ready_timeout. */
static int
set_positive_duration(struct cfg_parse *cp, const struct keydef *k,
    void *obj, const char *val, char *err, size_t errlen)
{
	(void)cp;
	if (parse_duration(val, FIELD(obj, k, double), err, errlen) == -1)
		return -1;
	if (*FIELD(obj, k, double) > 0)
		return 0;
	snprintf(err, errlen, "must be more than 0, got \"%s\"", val);
	return -1;
}

/* "off" or a duration above zero. */
static int
set_watchdog(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	if (strcmp(val, "off") == 0) {
		*FIELD(obj, k, double) = 0;
		return 0;
	}
	if (set_positive_duration(cp, k, obj, val, err, errlen) == 0)
		return 0;
	snprintf(err, errlen, "expected off or a duration like 10s, got "
	    "\"%s\"", val);
	return -1;
}

/* "off" or a size above zero. */
static int
set_max_memory(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	(void)cp;
	if (strcmp(val, "off") == 0) {
		*FIELD(obj, k, uint64_t) = 0;
		return 0;
	}
	if (parse_size(val, FIELD(obj, k, uint64_t), err, errlen) == -1)
		return -1;
	if (*FIELD(obj, k, uint64_t) > 0)
		return 0;
	snprintf(err, errlen, "expected off or a size like 512M, got \"%s\"",
	    val);
	return -1;
}

/*
 * MESSAGE:SOCKET; socket names have no ':', so the last one splits.
 * MESSAGE, quoted as a JSON string, must fit in the NODE_HANDLE line.
 */
static int
set_node_handle(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct prog_conf	*pc = obj;
	const char		*colon = strrchr(val, ':');
	size_t			 quoted;

	(void)cp;
	(void)k;
	if (colon == NULL || colon == val || !valid_name(colon + 1)) {
		snprintf(err, errlen, "expected MESSAGE:SOCKET, as in "
		    "\"server:web\", got \"%s\"", val);
		return -1;
	}
	free(pc->pc_node_msg);
	free(pc->pc_node_socket);
	pc->pc_node_socket = NULL;
	if ((pc->pc_node_msg = strndup(val, (size_t)(colon - val))) == NULL ||
	    (pc->pc_node_socket = strdup(colon + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((quoted = json_quote(pc->pc_node_msg, NULL, 0)) >
	    NODE_HANDLE_QUOTED_MAX) {
		snprintf(err, errlen, "MESSAGE is %zu bytes as a JSON string; "
		    "the limit is %d", quoted, NODE_HANDLE_QUOTED_MAX);
		return -1;
	}
	return 0;
}

/* A signal name, or disconnect: Node's cluster stop (node-cluster only). */
static int
set_stop_signal(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct prog_conf	*pc = obj;

	(void)cp;
	(void)k;
	if (strcmp(val, "disconnect") == 0) {
		pc->pc_stop_disconnect = 1;
		pc->pc_stop_signal = SIGTERM;
		return 0;
	}
	if (parse_signal(val, &pc->pc_stop_signal, err, errlen) == -1)
		return -1;
	pc->pc_stop_disconnect = 0;
	return 0;
}

/* name (of nlen bytes) is word, or starts with it when it ends in '_'. */
static int
env_matches(const char *name, size_t nlen, const char *word)
{
	size_t	wlen = strlen(word);

	if (word[wlen - 1] == '_')
		return nlen >= wlen && strncmp(name, word, wlen) == 0;
	return nlen == wlen && strncmp(name, word, wlen) == 0;
}

/*
 * Why clusterd owns a variable of this program: it sets it itself, so
 * env and env_file may not.  With pc NULL, only the variables it owns
 * whatever the other keys say; otherwise also those that depend on ipc,
 * ready and compat.  Returns the explanation, or NULL.
 */
const char *
cfgkeys_env_owner(const struct prog_conf *pc, const char *name,
    size_t nlen)
{
	static const char *const always[] = {
		"LISTEN_", "CLUSTERD_", "NODE_CHANNEL_", "NODE_UNIQUE_ID"
	};
	size_t	i;

	for (i = 0; i < nitems(always); i++)
		if (env_matches(name, nlen, always[i]))
			return "variables LISTEN_*, CLUSTERD_*, NODE_CHANNEL_* "
			    "and NODE_UNIQUE_ID cannot be set";
	if (pc == NULL)
		return NULL;
	if (pc->pc_ipc == IPC_NODE_CLUSTER &&
	    env_matches(name, nlen, "NODE_APP_INSTANCE"))
		return "with ipc = node-cluster it is the worker's slot";
	if (pc->pc_ready == READY_NOTIFY &&
	    env_matches(name, nlen, "NOTIFY_SOCKET"))
		return "with ready = notify it is the worker's own socket";
	if ((pc->pc_compat & COMPAT_EINHORN) &&
	    env_matches(name, nlen, "EINHORN_"))
		return "with compat = einhorn, variables EINHORN_* cannot be "
		    "set";
	if ((pc->pc_compat & COMPAT_SERVER_STARTER) &&
	    env_matches(name, nlen, "SERVER_STARTER_"))
		return "with compat = server-starter, variables "
		    "SERVER_STARTER_* cannot be set";
	return NULL;
}

/* A portable variable name: letters, digits and '_', no leading digit. */
int
cfgkeys_env_name(const char *name, size_t nlen, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < nlen; i++)
		if (!(isalpha((unsigned char)name[i]) || name[i] == '_' ||
		    (i > 0 && isdigit((unsigned char)name[i]))))
			break;
	if (nlen > 0 && i == nlen)
		return 0;
	if (nlen > 7 && strncmp(name, "export", 6) == 0 &&
	    isspace((unsigned char)name[6]))
		snprintf(err, errlen, "invalid variable name \"%.*s\": write "
		    "NAME=VALUE without \"export\"", (int)nlen, name);
	else
		snprintf(err, errlen, "invalid variable name \"%.*s\": use "
		    "letters, digits and '_', not starting with a digit",
		    (int)nlen, name);
	return -1;
}

/*
 * NAME=VALUE, repeatable; a name given twice is an error.  The owned
 * variables that depend on other keys are checked once the section is
 * complete (cfgcheck.c), so the line of each is kept.
 */
static int
set_env(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct prog_conf	*pc = obj;
	struct section		*s = cp->cp_pend.p_sect;
	const char		*eq = strchr(val, '='), *why;
	size_t			 nlen, i;
	int			*lines;
	char			*copy;

	(void)k;
	if (eq == NULL) {
		snprintf(err, errlen, "expected NAME=VALUE, got \"%s\"", val);
		return -1;
	}
	nlen = (size_t)(eq - val);
	if (cfgkeys_env_name(val, nlen, err, errlen) == -1)
		return -1;
	if ((why = cfgkeys_env_owner(NULL, val, nlen)) != NULL) {
		snprintf(err, errlen, "%.*s is set by clusterd; %s", (int)nlen,
		    val, why);
		return -1;
	}
	for (i = 0; i < pc->pc_nenv; i++) {
		if (strncmp(pc->pc_env[i], val, nlen + 1) == 0) {
			snprintf(err, errlen, "%.*s is already set by an "
			    "earlier env line", (int)nlen, val);
			return -1;
		}
	}
	lines = reallocarray(s->s_envlines, s->s_nenvlines + 1,
	    sizeof(*lines));
	if (lines == NULL)
		goto nomem;
	s->s_envlines = lines;
	if ((copy = strdup(val)) == NULL)
		goto nomem;
	if (strv_push(&pc->pc_env, &pc->pc_nenv, copy) == -1) {
		free(copy);
		goto nomem;
	}
	s->s_envlines[s->s_nenvlines++] = cp->cp_pend.p_line;
	return 0;
 nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* [-]PATH: read by config.c once the files are read. */
static int
set_env_file(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct section	*s = cp->cp_pend.p_sect;
	int		 optional = *val == '-';

	(void)k;
	(void)obj;
	if (optional && *++val == '\0') {
		snprintf(err, errlen, "expected PATH or -PATH, got \"-\"");
		return -1;
	}
	if (ref_add(cp, &s->s_envfiles, &s->s_nenvfiles, val,
	    optional) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Also the user's primary group, unless group came first. */
static int
set_user(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct prog_conf	*pc = obj;
	struct passwd		*pw;

	(void)cp;
	(void)k;
	if ((pw = getpwnam(val)) == NULL) {
		snprintf(err, errlen, "unknown user \"%s\"", val);
		return -1;
	}
	free(pc->pc_user);
	free(pc->pc_home);
	pc->pc_user = strdup(val);
	pc->pc_home = strdup(pw->pw_dir);
	if (pc->pc_user == NULL || pc->pc_home == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pc->pc_uid = pw->pw_uid;
	if (!pc->pc_has_group) {
		pc->pc_gid = pw->pw_gid;
		pc->pc_has_group = 1;
	}
	return 0;
}

static int
set_group(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct prog_conf	*pc = obj;
	struct group		*gr;

	(void)cp;
	(void)k;
	if ((gr = getgrnam(val)) == NULL) {
		snprintf(err, errlen, "unknown group \"%s\"", val);
		return -1;
	}
	pc->pc_gid = gr->gr_gid;
	pc->pc_has_group = 1;
	return 0;
}

static int
set_rlimit(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	long long	v;

	(void)cp;
	if (parse_number(val, k->k_min, k->k_max, &v, err, errlen) == -1)
		return -1;
	*FIELD(obj, k, rlim_t) = (rlim_t)v;
	set_has(k, obj);
	return 0;
}

/*
 * auto, inherit, journal, capture, null, a file, or for stderr also
 * stdout.
 */
static int
set_output(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	static const struct choice modes[] = {
		{ "auto",	OUTPUT_AUTO },
		{ "inherit",	OUTPUT_INHERIT },
		{ "journal",	OUTPUT_JOURNAL },
		{ "capture",	OUTPUT_CAPTURE },
		{ "null",	OUTPUT_NULL },
		{ NULL,		0 }
	};
	struct output_conf	*o = FIELD(obj, k, struct output_conf);
	const struct choice	*c;
	int			 stdout_ok = (k->k_flags & KEY_STDOUT_OK) != 0;

	free(o->o_path);
	o->o_path = NULL;
	for (c = modes; c->c_name != NULL; c++) {
		if (strcmp(val, c->c_name) == 0) {
			o->o_mode = c->c_value;
			return 0;
		}
	}
	if (stdout_ok && strcmp(val, "stdout") == 0)
		o->o_mode = OUTPUT_STDOUT;
	else if (strcmp(val, "stdout") == 0 || strcmp(val, "stderr") == 0) {
		snprintf(err, errlen, "expected auto, inherit, journal, "
		    "capture, null%s or a file path, got \"%s\"",
		    stdout_ok ? ", stdout" : "", val);
		return -1;
	} else {
		o->o_mode = OUTPUT_FILE;
		if ((o->o_path = cfgkeys_path(cp->cp_cfg, val)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* The journal's SYSLOG_IDENTIFIER: one printable word. */
static int
set_identifier(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct prog_conf	*pc = obj;
	const unsigned char	*c;
	char			*copy;

	(void)cp;
	(void)k;
	if (strlen(val) >= IDENT_MAXLEN) {
		snprintf(err, errlen, "%zu bytes long; the limit is %d",
		    strlen(val), IDENT_MAXLEN - 1);
		return -1;
	}
	for (c = (const unsigned char *)val; *c != '\0'; c++) {
		if (*c <= ' ' || *c == 0x7f) {
			snprintf(err, errlen, "expected one word of printable "
			    "characters, got \"%s\"", val);
			return -1;
		}
	}
	if ((copy = strdup(val)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(pc->pc_identifier);
	pc->pc_identifier = copy;
	return 0;
}

/* Dialect names, separated by commas and/or spaces. */
static int
set_compat(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct prog_conf	*pc = obj;
	const struct choice	*c;
	char			*copy, *p, *name;
	unsigned		 bits = 0;
	int			 rv = 0;

	(void)cp;
	(void)k;
	if ((p = copy = strdup(val)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (rv == 0 && (name = strsep(&p, ", \t")) != NULL) {
		if (*name == '\0')
			continue;
		for (c = compat_names; c->c_name != NULL; c++)
			if (strcmp(c->c_name, name) == 0)
				break;
		if (c->c_name == NULL) {
			snprintf(err, errlen, "expected einhorn and/or "
			    "server-starter, got \"%s\"", name);
			rv = -1;
		} else if (bits & (unsigned)c->c_value) {
			snprintf(err, errlen, "\"%s\" is named twice", name);
			rv = -1;
		}
		bits |= (unsigned)c->c_value;
	}
	free(copy);
	if (rv == 0 && bits == 0) {
		snprintf(err, errlen, "expected einhorn and/or server-starter, "
		    "got \"%s\"", val);
		rv = -1;
	}
	if (rv == 0)
		pc->pc_compat = bits;
	return rv;
}
