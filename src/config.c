/*
 * Reading the configuration file.
 *
 * inih splits the file into sections and KEY = VALUE pairs, but the
 * handler it calls gets no line number, and Debian's build silently cuts
 * lines at its buffer size.  So inih reads through our own reader: it
 * takes whole lines from the text in memory, counts them, refuses long ones,
 * notes section headers (inih reports only keys, and cuts long section
 * names) and tells the handler what kind of line inih is looking at.
 *
 * Each section type has one table of keys: name, setter, where the value
 * goes, bounds and default.  A value is applied once its continuation
 * lines have all been seen.  Every error is collected, sorted by line and
 * returned as one text; config_load() never logs and never exits, since
 * a reload calls it beside a running configuration.
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "daemon.h"
#include "log.h"

#define SECT_MAXKEYS	32	/* keys of the largest section type */
#define CONFIG_MAXSIZE	(16 << 20)	/* bytes of one file */

#define KEY_REQUIRED	0x01	/* an error if absent */
#define KEY_REPEAT	0x02	/* may be given more than once */
#define KEY_STDOUT_OK	0x04	/* output: "stdout" is allowed */

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

struct cfg_parse;
struct keydef;

typedef int	(*setter_fn)(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);

struct choice {
	const char	*c_name;
	int		 c_value;
};

struct keydef {
	const char		*k_name;
	setter_fn		 k_set;
	size_t			 k_off;		/* of the field it sets */
	size_t			 k_has;		/* of its "given" flag or 0 */
	long long		 k_min;
	long long		 k_max;
	const struct choice	*k_choices;	/* NULL-terminated */
	const char		*k_default;	/* as written in a file */
	unsigned		 k_flags;
};

enum sect_type {
	SECT_GLOBAL,
	SECT_SOCKET,
	SECT_PROGRAM,
	SECT_IGNORED		/* a bad header: its keys are skipped */
};

struct section {
	struct section		*s_next;
	enum sect_type		 s_type;
	char			*s_title;	/* "program:web" */
	int			 s_line;
	const struct keydef	*s_keys;
	size_t			 s_nkeys;
	void			*s_obj;		/* what its keys set */
	int			 s_seen[SECT_MAXKEYS];	/* line, 0: absent */
	unsigned char		 s_bad[SECT_MAXKEYS];	/* had an error */
};

/* What the reader handed inih, so the handler knows how to take it. */
enum line_kind {
	LINE_BLANK,		/* empty or a comment */
	LINE_HEADER,		/* [section] */
	LINE_KEY,		/* KEY = VALUE */
	LINE_CONT,		/* indented continuation of a value */
	LINE_SYNTAX,		/* none of these */
	LINE_LONG_KEY,		/* too long: inih gets "KEY=" */
	LINE_LONG_CONT,		/* too long: inih gets " x" */
	LINE_SKIP		/* reported already: inih gets "" */
};

/* A value waiting for its continuation lines. */
struct pending {
	struct section		*p_sect;
	int			 p_key;		/* index, -1: none */
	int			 p_line;
	int			 p_bad;		/* part of it was unreadable */
	char			*p_value;
};

struct cfg_error {
	int			 e_line;	/* 0: the whole file */
	int			 e_seq;
	char			*e_text;
};

struct cfg_parse {
	const char		*cp_file;	/* as given, for messages */
	const char		*cp_text;	/* the whole file */
	size_t			 cp_textlen;
	size_t			 cp_pos;	/* of the next line */
	char			*cp_raw;	/* that line, NUL-terminated */
	size_t			 cp_rawcap;
	int			 cp_lineno;
	int			 cp_prevkey;	/* inih's prev_name is set */
	enum line_kind		 cp_kind;
	struct section		*cp_sects;
	struct section		*cp_cur;	/* NULL before any header */
	struct section		 cp_ignored;
	struct pending		 cp_pend;
	struct config		*cp_cfg;
	struct cfg_error	*cp_errs;
	size_t			 cp_nerrs;
	size_t			 cp_errcap;
};

static struct config *config_adopt(struct config *);
static void	 cfg_error(struct cfg_parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 key_error(struct cfg_parse *, const struct section *, int,
		    int, const char *);
static char	*errors_text(struct cfg_parse *);
static char	*abs_path(const struct cfg_parse *, const char *);
static const char *find_chars(const char *, const char *);

static int	 set_path(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_control(struct cfg_parse *, const struct keydef *,
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
static int	 set_signal(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_env(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_user(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_group(struct cfg_parse *, const struct keydef *, void *,
		    const char *, char *, size_t);
static int	 set_rlimit(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);
static int	 set_output(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);

static const struct choice restart_modes[] = {
	{ "always",	RESTART_ALWAYS },
	{ "on-failure",	RESTART_ON_FAILURE },
	{ "never",	RESTART_NEVER },
	{ NULL,		0 }
};

static const struct choice ipc_modes[] = {
	{ "json",	IPC_JSON },
	{ "node",	IPC_NODE },
	{ "none",	IPC_NONE },
	{ NULL,		0 }
};

static const struct choice ready_modes[] = {
	{ "message",	READY_MESSAGE },
	{ "auto",	READY_AUTO },
	{ "exec",	READY_EXEC },
	{ NULL,		0 }
};

#define G(f)	offsetof(struct config, f)
#define S(f)	offsetof(struct sock_conf, f)
#define P(f)	offsetof(struct prog_conf, f)
#define KEY(name, set, off) \
	.k_name = (name), .k_set = (set), .k_off = (off)

/* [clusterd] */
static const struct keydef global_keys[] = {
	{ KEY("control", set_control, G(cf_control)) },
	{ KEY("pidfile", set_path, G(cf_pidfile)) },
	{ KEY("log_level", set_loglevel, G(cf_log_level)) },
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

/* [program:NAME] */
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
	{ KEY("stop_signal", set_signal, P(pc_stop_signal)),
	    .k_default = "TERM" },
	{ KEY("stop_timeout", set_duration, P(pc_stop_timeout)),
	    .k_default = "10s" },
	{ KEY("env", set_env, 0), .k_flags = KEY_REPEAT },
	{ KEY("directory", set_path, P(pc_directory)) },
	{ KEY("user", set_user, 0) },
	{ KEY("group", set_group, 0) },
	{ KEY("umask", set_mode, P(pc_umask)), .k_has = P(pc_has_umask),
	    .k_max = 0777 },
	{ KEY("limit_nofile", set_rlimit, P(pc_nofile)),
	    .k_has = P(pc_has_nofile), .k_min = 1, .k_max = 1LL << 30 },
	{ KEY("stdout", set_output, P(pc_stdout)), .k_default = "inherit" },
	{ KEY("stderr", set_output, P(pc_stderr)), .k_default = "inherit",
	    .k_flags = KEY_STDOUT_OK },
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

_Static_assert(nitems(global_keys) <= SECT_MAXKEYS, "SECT_MAXKEYS");
_Static_assert(nitems(socket_keys) <= SECT_MAXKEYS, "SECT_MAXKEYS");
_Static_assert(nitems(program_keys) <= SECT_MAXKEYS, "SECT_MAXKEYS");

/*
 * Errors.
 */

static void
cfg_error(struct cfg_parse *cp, int line, const char *fmt, ...)
{
	struct cfg_error	*e;
	char			 msg[ERRBUF_LEN * 2];
	va_list			 ap;
	size_t			 cap;

	if (cp->cp_nerrs == cp->cp_errcap) {
		cap = cp->cp_errcap == 0 ? 8 : cp->cp_errcap * 2;
		if ((e = reallocarray(cp->cp_errs, cap, sizeof(*e))) == NULL)
			return;
		cp->cp_errs = e;
		cp->cp_errcap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = &cp->cp_errs[cp->cp_nerrs];
	if (line > 0) {
		if (asprintf(&e->e_text, "%s:%d: %s", cp->cp_file, line,
		    msg) == -1)
			return;
	} else if (asprintf(&e->e_text, "%s: %s", cp->cp_file, msg) == -1)
		return;
	e->e_line = line;
	e->e_seq = (int)cp->cp_nerrs++;
}

/* "FILE:LINE: [section] key: message" */
static void
key_error(struct cfg_parse *cp, const struct section *s, int k, int line,
    const char *msg)
{
	cfg_error(cp, line, "[%s] %s: %s", s->s_title, s->s_keys[k].k_name,
	    msg);
}

/* In line order; errors about the whole file last. */
static int
error_cmp(const void *a, const void *b)
{
	const struct cfg_error	*ea = a, *eb = b;
	unsigned		 la = (unsigned)ea->e_line - 1;
	unsigned		 lb = (unsigned)eb->e_line - 1;

	if (la != lb)
		return la < lb ? -1 : 1;
	return ea->e_seq - eb->e_seq;
}

/* One error per line, each ending in a newline; frees the errors. */
static char *
errors_text(struct cfg_parse *cp)
{
	char	*text, *p;
	size_t	 i, len = 1;

	qsort(cp->cp_errs, cp->cp_nerrs, sizeof(*cp->cp_errs), error_cmp);
	for (i = 0; i < cp->cp_nerrs; i++)
		len += strlen(cp->cp_errs[i].e_text) + 1;
	if ((text = malloc(len)) != NULL) {
		p = text;
		*p = '\0';
		for (i = 0; i < cp->cp_nerrs; i++)
			p += sprintf(p, "%s\n", cp->cp_errs[i].e_text);
	}
	for (i = 0; i < cp->cp_nerrs; i++)
		free(cp->cp_errs[i].e_text);
	free(cp->cp_errs);
	cp->cp_errs = NULL;
	cp->cp_nerrs = cp->cp_errcap = 0;
	return text;
}

/*
 * Setters: one per type of value.  Each gets the key's table entry, the
 * object of the section (struct config, sock_conf or prog_conf) and the
 * value with its continuation lines joined; on error it writes the
 * message that follows "[section] key: ".
 */

#define FIELD(obj, k, type)	((type *)(void *)((char *)(obj) + (k)->k_off))

static void
set_has(const struct keydef *k, void *obj)
{
	if (k->k_has != 0)
		*(int *)(void *)((char *)obj + k->k_has) = 1;
}

/* Relative to the directory of the configuration file. */
static char *
abs_path(const struct cfg_parse *cp, const char *path)
{
	char	*p;

	if (*path == '/')
		return strdup(path);
	if (asprintf(&p, "%s/%s", cp->cp_cfg->cf_dir, path) == -1)
		return NULL;
	return p;
}

static int
set_path(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	char	**field = FIELD(obj, k, char *);

	free(*field);
	if ((*field = abs_path(cp, val)) == NULL) {
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
	if ((path = abs_path(cp, sc->sc_addr.la_path)) == NULL)
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
	char	**v;
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
	v = reallocarray(pc->pc_sockets, pc->pc_nsockets + 2, sizeof(*v));
	if (v == NULL || (v[pc->pc_nsockets] = strdup(name)) == NULL) {
		if (v != NULL)
			pc->pc_sockets = v;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pc->pc_sockets = v;
	v[++pc->pc_nsockets] = NULL;
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

/* MESSAGE:SOCKET; socket names have no ':', so the last one splits. */
static int
set_node_handle(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct prog_conf	*pc = obj;
	const char		*colon = strrchr(val, ':');

	(void)cp;
	(void)k;
	if (colon == NULL || colon == val || !valid_name(colon + 1)) {
		snprintf(err, errlen, "expected MESSAGE:SOCKET, as in "
		    "\"server:web\", got \"%s\"", val);
		return -1;
	}
	if ((pc->pc_node_msg = strndup(val, (size_t)(colon - val))) == NULL ||
	    (pc->pc_node_socket = strdup(colon + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
set_signal(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	(void)cp;
	return parse_signal(val, FIELD(obj, k, int), err, errlen);
}

/* Variables that clusterd sets for its workers itself. */
static const char *
env_owned(const char *name)
{
	static const char *const prefixes[] = {
		"LISTEN_", "CLUSTERD_", "NODE_CHANNEL_"
	};
	size_t	i;

	for (i = 0; i < nitems(prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return prefixes[i];
	return NULL;
}

/* NAME=VALUE, NAME a portable variable name; repeatable. */
static int
env_check(const struct prog_conf *pc, const char *val, size_t nlen,
    char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < nlen; i++)
		if (!(isalpha((unsigned char)val[i]) || val[i] == '_' ||
		    (i > 0 && isdigit((unsigned char)val[i]))))
			break;
	if (nlen == 0 || i < nlen) {
		snprintf(err, errlen, "invalid variable name \"%.*s\": use "
		    "letters, digits and '_', not starting with a digit",
		    (int)nlen, val);
		return -1;
	}
	if (env_owned(val) != NULL) {
		snprintf(err, errlen, "%.*s is set by clusterd; variables "
		    "LISTEN_*, CLUSTERD_* and NODE_CHANNEL_* cannot be set",
		    (int)nlen, val);
		return -1;
	}
	for (i = 0; i < pc->pc_nenv; i++) {
		if (strncmp(pc->pc_env[i], val, nlen + 1) == 0) {
			snprintf(err, errlen, "%.*s is already set by an "
			    "earlier env line", (int)nlen, val);
			return -1;
		}
	}
	return 0;
}

static int
set_env(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct prog_conf	*pc = obj;
	const char		*eq = strchr(val, '=');
	char			**v;

	(void)cp;
	(void)k;
	if (eq == NULL) {
		snprintf(err, errlen, "expected NAME=VALUE, got \"%s\"", val);
		return -1;
	}
	if (env_check(pc, val, (size_t)(eq - val), err, errlen) == -1)
		return -1;
	v = reallocarray(pc->pc_env, pc->pc_nenv + 2, sizeof(*v));
	if (v == NULL || (v[pc->pc_nenv] = strdup(val)) == NULL) {
		if (v != NULL)
			pc->pc_env = v;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pc->pc_env = v;
	v[++pc->pc_nenv] = NULL;
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

/* inherit, null, a file, or for stderr also stdout. */
static int
set_output(struct cfg_parse *cp, const struct keydef *k, void *obj,
    const char *val, char *err, size_t errlen)
{
	struct output_conf	*o = FIELD(obj, k, struct output_conf);
	int			 stdout_ok = (k->k_flags & KEY_STDOUT_OK) != 0;

	free(o->o_path);
	o->o_path = NULL;
	if (strcmp(val, "inherit") == 0)
		o->o_mode = OUTPUT_INHERIT;
	else if (strcmp(val, "null") == 0)
		o->o_mode = OUTPUT_NULL;
	else if (stdout_ok && strcmp(val, "stdout") == 0)
		o->o_mode = OUTPUT_STDOUT;
	else if (strcmp(val, "stdout") == 0 || strcmp(val, "stderr") == 0) {
		snprintf(err, errlen, "expected inherit, null%s or a file "
		    "path, got \"%s\"", stdout_ok ? ", stdout" : "", val);
		return -1;
	} else {
		o->o_mode = OUTPUT_FILE;
		if ((o->o_path = abs_path(cp, val)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/*
 * Values: a key line starts a pending value, continuation lines are
 * appended to it, and it is applied when the next key, section or the
 * end of the file shows that it is complete.
 */

static int
key_find(const struct section *s, const char *name)
{
	size_t	i;

	for (i = 0; i < s->s_nkeys; i++)
		if (strcmp(s->s_keys[i].k_name, name) == 0)
			return (int)i;
	return -1;
}

static void
pending_flush(struct cfg_parse *cp)
{
	struct pending		*pv = &cp->cp_pend;
	struct section		*s = pv->p_sect;
	const struct keydef	*k;
	char			 err[ERRBUF_LEN];

	if (pv->p_key == -1)
		return;
	k = &s->s_keys[pv->p_key];
	if (pv->p_bad)
		s->s_bad[pv->p_key] = 1;
	else if (pv->p_value == NULL) {
		key_error(cp, s, pv->p_key, pv->p_line, "out of memory");
		s->s_bad[pv->p_key] = 1;
	} else if (pv->p_value[0] == '\0') {
		key_error(cp, s, pv->p_key, pv->p_line, "empty value");
		s->s_bad[pv->p_key] = 1;
	} else if (k->k_set(cp, k, s->s_obj, pv->p_value, err,
	    sizeof(err)) == -1) {
		key_error(cp, s, pv->p_key, pv->p_line, err);
		s->s_bad[pv->p_key] = 1;
	}
	free(pv->p_value);
	pv->p_value = NULL;
	pv->p_key = -1;
}

/*
 * A KEY = VALUE line.  With discard, the line was too long and has been
 * reported: the key still counts as given, so that neither "required
 * key missing" nor a cross-check complains about it as well.
 */
static void
key_begin(struct cfg_parse *cp, const char *name, const char *value,
    int discard)
{
	struct section	*s = cp->cp_cur;
	int		 k, line = cp->cp_lineno;

	if (s == NULL) {
		if (!discard)
			cfg_error(cp, line, "key \"%s\" is outside any "
			    "section; put it under [clusterd], "
			    "[socket:NAME] or [program:NAME]", name);
		return;
	}
	if (s->s_type == SECT_IGNORED)
		return;
	if ((k = key_find(s, name)) == -1) {
		if (!discard && *name == '\0')
			cfg_error(cp, line, "[%s] missing key name before "
			    "\"=\"", s->s_title);
		else if (!discard)
			cfg_error(cp, line, "[%s] unknown key \"%s\"",
			    s->s_title, name);
		return;
	}
	if (s->s_seen[k] != 0 && !(s->s_keys[k].k_flags & KEY_REPEAT)) {
		if (!discard)
			cfg_error(cp, line, "[%s] %s: given twice; first at "
			    "line %d", s->s_title, name, s->s_seen[k]);
		return;
	}
	if (s->s_seen[k] == 0)
		s->s_seen[k] = line;
	cp->cp_pend.p_sect = s;
	cp->cp_pend.p_key = k;
	cp->cp_pend.p_line = line;
	cp->cp_pend.p_bad = discard;
	cp->cp_pend.p_value = strdup(value);
}

/*
 * An indented line: "joined with one space".  inih r55 leaves a " ;"
 * comment on a continuation line; it goes here, as on a key line.
 */
static void
key_continue(struct cfg_parse *cp, const char *value)
{
	struct pending	*pv = &cp->cp_pend;
	char		*joined;
	int		 len;

	if (pv->p_key == -1 || pv->p_value == NULL)
		return;
	len = (int)(find_chars(value, "") - value);
	while (len > 0 && isspace((unsigned char)value[len - 1]))
		len--;
	if (len == 0)
		return;
	if (asprintf(&joined, "%s%s%.*s", pv->p_value,
	    *pv->p_value == '\0' ? "" : " ", len, value) == -1) {
		free(pv->p_value);
		pv->p_value = NULL;
		return;
	}
	free(pv->p_value);
	pv->p_value = joined;
}

/*
 * inih calls this for KEY = VALUE lines and continuation lines only,
 * without a line number; the reader has just read that line and said
 * what it is.  inih's section name is not used: it cuts long ones.
 */
static int
cfg_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct cfg_parse	*cp = user;

	(void)section;
	switch (cp->cp_kind) {
	case LINE_KEY:
	case LINE_LONG_KEY:
		key_begin(cp, name, value, cp->cp_kind == LINE_LONG_KEY);
		break;
	case LINE_CONT:
		key_continue(cp, value);
		break;
	case LINE_LONG_CONT:
		cp->cp_pend.p_bad = 1;
		break;
	default:
		cfg_error(cp, cp->cp_lineno, "cannot parse this line");
		break;
	}
	return 1;
}

/*
 * Sections.
 */

static struct section *
section_find(const struct cfg_parse *cp, const char *title)
{
	struct section	*s;

	for (s = cp->cp_sects; s != NULL; s = s->s_next)
		if (strcmp(s->s_title, title) == 0)
			return s;
	return NULL;
}

/* Every default, through the setter a file's value would go through. */
static void
section_defaults(struct cfg_parse *cp, struct section *s)
{
	const struct keydef	*k;
	char			 err[ERRBUF_LEN];
	size_t			 i;

	for (i = 0; i < s->s_nkeys; i++) {
		k = &s->s_keys[i];
		if (k->k_default != NULL && k->k_set(cp, k, s->s_obj,
		    k->k_default, err, sizeof(err)) == -1)
			cfg_error(cp, s->s_line, "[%s] %s: default: %s",
			    s->s_title, k->k_name, err);
	}
}

static void *
section_object(struct cfg_parse *cp, enum sect_type type, const char *name,
    int line)
{
	struct sock_conf	*sc, **sp;
	struct prog_conf	*pc, **pp;

	if (type == SECT_GLOBAL)
		return cp->cp_cfg;
	if (type == SECT_SOCKET) {
		if ((sc = calloc(1, sizeof(*sc))) == NULL ||
		    (sc->sc_name = strdup(name)) == NULL) {
			free(sc);
			return NULL;
		}
		sc->sc_line = line;
		for (sp = &cp->cp_cfg->cf_socks; *sp != NULL;
		    sp = &(*sp)->sc_next)
			;
		return *sp = sc;
	}
	if ((pc = calloc(1, sizeof(*pc))) == NULL ||
	    (pc->pc_name = strdup(name)) == NULL) {
		free(pc);
		return NULL;
	}
	pc->pc_line = line;
	for (pp = &cp->cp_cfg->cf_progs; *pp != NULL; pp = &(*pp)->pc_next)
		;
	return *pp = pc;
}

/* The type of section a title names, and the NAME part; -1: unknown. */
static int
section_type(const char *title, const char **name)
{
	*name = NULL;
	if (strcmp(title, "clusterd") == 0)
		return SECT_GLOBAL;
	if (strncmp(title, "socket:", 7) == 0) {
		*name = title + 7;
		return SECT_SOCKET;
	}
	if (strncmp(title, "program:", 8) == 0) {
		*name = title + 8;
		return SECT_PROGRAM;
	}
	return -1;
}

/* A valid and new section: becomes the current one. */
static int
section_add(struct cfg_parse *cp, const char *title, int type,
    const char *name)
{
	static const struct {
		const struct keydef	*keys;
		size_t			 nkeys;
	} tables[] = {
		[SECT_GLOBAL] =		{ global_keys, nitems(global_keys) },
		[SECT_SOCKET] =		{ socket_keys, nitems(socket_keys) },
		[SECT_PROGRAM] =	{ program_keys, nitems(program_keys) },
	};
	struct section	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	if ((s->s_title = strdup(title)) == NULL ||
	    (s->s_obj = section_object(cp, type, name,
	    cp->cp_lineno)) == NULL) {
		free(s->s_title);
		free(s);
		return -1;
	}
	s->s_type = type;
	s->s_line = cp->cp_lineno;
	s->s_keys = tables[type].keys;
	s->s_nkeys = tables[type].nkeys;
	s->s_next = cp->cp_sects;
	cp->cp_sects = s;
	cp->cp_cur = s;
	section_defaults(cp, s);
	return 0;
}

/* Validates a title; a bad one makes the following keys be skipped. */
static void
section_begin(struct cfg_parse *cp, const char *title)
{
	struct section	*dup;
	const char	*name;
	int		 type, line = cp->cp_lineno;

	cp->cp_cur = &cp->cp_ignored;
	if ((type = section_type(title, &name)) == -1)
		cfg_error(cp, line, "unknown section [%s]; expected "
		    "[clusterd], [socket:NAME] or [program:NAME]", title);
	else if (name != NULL && !valid_name(name))
		cfg_error(cp, line, "[%s]: invalid name \"%s\": use 1 to %d "
		    "letters, digits, '_', '.' or '-'", title, name,
		    NAME_MAXLEN - 1);
	else if ((dup = section_find(cp, title)) != NULL)
		cfg_error(cp, line, "[%s] defined twice; first at line %d",
		    title, dup->s_line);
	else if (section_add(cp, title, type, name) == -1)
		cfg_error(cp, line, "[%s]: out of memory", title);
}

/*
 * The reader.
 */

/* inih's find_chars_or_comment(): a char of chars or a " ;" comment. */
static const char *
find_chars(const char *s, const char *chars)
{
	int	was_space = 0;

	while (*s != '\0' && strchr(chars, *s) == NULL &&
	    !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

static const char *
skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* What inih will make of this line: mirrors ini_parse_stream(). */
static enum line_kind
line_classify(const struct cfg_parse *cp, const char *line)
{
	const char	*start = skip_space(line), *sep;

	if (*start == '\0' || *start == ';' || *start == '#')
		return LINE_BLANK;
	if (cp->cp_prevkey && start > line)
		return LINE_CONT;
	if (*start == '[')
		return *find_chars(start + 1, "]") == ']' ? LINE_HEADER :
		    LINE_SYNTAX;
	sep = find_chars(start, "=:");
	return *sep != '\0' && *sep != ';' ? LINE_KEY : LINE_SYNTAX;
}

/* A KEY line sets inih's prev_name, unless KEY is empty. */
static int
key_named(const char *line)
{
	const char	*start = skip_space(line);

	return *start != '=' && *start != ':';
}

static void
header_line(struct cfg_parse *cp, const char *line)
{
	const char	*start = skip_space(line) + 1;
	const char	*end = find_chars(start, "]");
	const char	*rest = skip_space(end + 1);
	char		*title;

	if ((title = strndup(start, (size_t)(end - start))) == NULL) {
		cfg_error(cp, cp->cp_lineno, "out of memory");
		cp->cp_cur = &cp->cp_ignored;
		return;
	}
	section_begin(cp, title);
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		cfg_error(cp, cp->cp_lineno, "unexpected text after [%s]: "
		    "\"%s\"", title, rest);
	free(title);
}

static void
syntax_line(struct cfg_parse *cp, const char *line)
{
	const char	*start = skip_space(line);

	if (*start == '[') {
		cfg_error(cp, cp->cp_lineno, "missing \"]\" in section "
		    "header \"%s\"", start);
		cp->cp_cur = &cp->cp_ignored;
	}
	else
		cfg_error(cp, cp->cp_lineno, "expected KEY = VALUE or "
		    "[SECTION], got \"%s\"", start);
}

/*
 * A line inih must not see as it is (too long for its buffer, or with a
 * NUL byte in it), reported already: hand inih a short line that leaves
 * it in the state the real one would have, so that the lines after it
 * are read as they would have been, and no second error comes of it.
 */
static const char *
line_replace(struct cfg_parse *cp, char *line, int num)
{
	const char	*sep;

	switch (cp->cp_kind) {
	case LINE_HEADER:
		cp->cp_cur = &cp->cp_ignored;
		cp->cp_kind = LINE_SKIP;
		return "[]";
	case LINE_KEY:
		cp->cp_kind = LINE_LONG_KEY;
		sep = find_chars(skip_space(line), "=:");
		if (sep - line + 2 <= num) {
			/* The key and its '=', without the value. */
			line[sep - line + 1] = '\0';
			return line;
		}
		return key_named(line) ? "x=" : "=";
	case LINE_CONT:
		cp->cp_kind = LINE_LONG_CONT;
		return " x";
	default:
		cp->cp_kind = LINE_SKIP;
		return "";
	}
}

/* Strips the line end ("\n" or "\r\n") and, on line 1, a UTF-8 BOM. */
static char *
line_trim(struct cfg_parse *cp, ssize_t n, size_t *lenp)
{
	char	*line = cp->cp_raw;
	size_t	 len = (size_t)n;

	if (cp->cp_lineno == 1 && len >= 3 &&
	    memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
		line += 3;
		len -= 3;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	*lenp = len;
	return line;
}

/*
 * The next line of the text, with its line end, copied to cp_raw and
 * NUL-terminated (a NUL byte inside it stays, for the caller to find).
 * Returns its length, or -1 at the end of the text.
 */
static ssize_t
next_line(struct cfg_parse *cp)
{
	const char	*start = cp->cp_text + cp->cp_pos, *nl;
	size_t		 left = cp->cp_textlen - cp->cp_pos, n;
	char		*grown;

	if (left == 0)
		return -1;
	nl = memchr(start, '\n', left);
	n = nl != NULL ? (size_t)(nl - start) + 1 : left;
	if (n + 1 > cp->cp_rawcap) {
		if ((grown = realloc(cp->cp_raw, n + 1)) == NULL)
			return -1;
		cp->cp_raw = grown;
		cp->cp_rawcap = n + 1;
	}
	memcpy(cp->cp_raw, start, n);
	cp->cp_raw[n] = '\0';
	cp->cp_pos += n;
	return (ssize_t)n;
}

/*
 * inih's fgets(): takes one whole line, whatever its length, and hands
 * inih either that line (without its newline) or, when it would not
 * fit in inih's buffer of num bytes, a replacement.  Comment lines may
 * be of any length.  Section headers are taken here.
 */
static char *
cfg_reader(char *buf, int num, void *stream)
{
	struct cfg_parse	*cp = stream;
	const char		*text;
	char			*line;
	ssize_t			 n;
	size_t			 len;

	if ((n = next_line(cp)) == -1) {
		if (cp->cp_pos < cp->cp_textlen)
			cfg_error(cp, cp->cp_lineno + 1, "out of memory");
		pending_flush(cp);
		return NULL;
	}
	cp->cp_lineno++;
	text = line = line_trim(cp, n, &len);
	cp->cp_kind = line_classify(cp, line);
	if (cp->cp_kind == LINE_HEADER || cp->cp_kind == LINE_KEY ||
	    cp->cp_kind == LINE_SYNTAX)
		pending_flush(cp);
	if (cp->cp_kind == LINE_KEY)
		cp->cp_prevkey = key_named(line);
	else if (cp->cp_kind == LINE_HEADER)
		cp->cp_prevkey = 0;

	if (memchr(line, '\0', len) != NULL) {
		cfg_error(cp, cp->cp_lineno, "line contains a NUL byte");
		text = line_replace(cp, line, num);
	} else if (len > (size_t)num - 1 && cp->cp_kind != LINE_BLANK) {
		cfg_error(cp, cp->cp_lineno, "line is %zu bytes long; the "
		    "limit is %d bytes: split the value onto indented "
		    "continuation lines", len, num - 1);
		text = line_replace(cp, line, num);
	} else if (cp->cp_kind == LINE_HEADER)
		header_line(cp, line);
	else if (cp->cp_kind == LINE_SYNTAX)
		syntax_line(cp, line);
	snprintf(buf, (size_t)num, "%s", text);
	return buf;
}

/*
 * After the whole file: what no single line could tell.
 */

static void
check_required(struct cfg_parse *cp, const struct section *s)
{
	size_t	i;

	for (i = 0; i < s->s_nkeys; i++)
		if ((s->s_keys[i].k_flags & KEY_REQUIRED) && !s->s_seen[i])
			key_error(cp, s, (int)i, s->s_line,
			    "required key missing");
}

/* The backoff starts at restart_delay and stops at restart_delay_max. */
static void
check_delays(struct cfg_parse *cp, const struct section *s)
{
	const struct prog_conf	*pc = s->s_obj;
	int			 d = key_find(s, "restart_delay");
	int			 m = key_find(s, "restart_delay_max");
	char			 dbuf[32], mbuf[32], msg[ERRBUF_LEN];

	if (s->s_bad[d] || s->s_bad[m] ||
	    pc->pc_restart_delay_max >= pc->pc_restart_delay)
		return;
	format_duration(pc->pc_restart_delay, dbuf, sizeof(dbuf));
	format_duration(pc->pc_restart_delay_max, mbuf, sizeof(mbuf));
	if (s->s_seen[m]) {
		snprintf(msg, sizeof(msg), "%s is less than restart_delay "
		    "(%s)", mbuf, dbuf);
		key_error(cp, s, m, s->s_seen[m], msg);
	} else {
		snprintf(msg, sizeof(msg), "%s is more than "
		    "restart_delay_max (%s)", dbuf, mbuf);
		key_error(cp, s, d, s->s_seen[d], msg);
	}
}

/* Each socket a program names must have its [socket:NAME] somewhere. */
static void
check_sockets(struct cfg_parse *cp, const struct section *s)
{
	const struct prog_conf	*pc = s->s_obj;
	int			 k = key_find(s, "sockets");
	char			 msg[ERRBUF_LEN];
	size_t			 i;

	if (s->s_bad[k])
		return;
	for (i = 0; i < pc->pc_nsockets; i++) {
		if (config_find_socket(cp->cp_cfg, pc->pc_sockets[i]) != NULL)
			continue;
		snprintf(msg, sizeof(msg), "there is no [socket:%s] section",
		    pc->pc_sockets[i]);
		key_error(cp, s, k, s->s_seen[k], msg);
	}
}

/*
 * The IPC keys that cannot work together: node_handle without a Node
 * channel, a ready message or heartbeats with no channel at all, and a
 * ready = auto worker that would be killed before it could be up.
 */
static void
check_ipc(struct cfg_parse *cp, const struct section *s)
{
	const struct prog_conf	*pc = s->s_obj;
	int			 nh = key_find(s, "node_handle");
	int			 rd = key_find(s, "ready");
	int			 wd = key_find(s, "watchdog");
	int			 rt = key_find(s, "ready_timeout");
	char			 msg[ERRBUF_LEN], a[32], b[32];

	if (s->s_seen[nh] && !s->s_bad[nh] && pc->pc_ipc != IPC_NODE)
		key_error(cp, s, nh, s->s_seen[nh], "needs ipc = node");
	if (s->s_seen[nh] && !s->s_bad[nh] &&
	    config_find_socket(cp->cp_cfg, pc->pc_node_socket) == NULL) {
		snprintf(msg, sizeof(msg), "there is no [socket:%s] section",
		    pc->pc_node_socket);
		key_error(cp, s, nh, s->s_seen[nh], msg);
	}
	if (pc->pc_ipc == IPC_NONE && pc->pc_ready == READY_MESSAGE)
		key_error(cp, s, rd, s->s_seen[rd],
		    "ready = message needs an IPC channel (ipc = none)");
	if (pc->pc_ipc == IPC_NONE && pc->pc_watchdog > 0)
		key_error(cp, s, wd, s->s_seen[wd],
		    "needs an IPC channel for heartbeats (ipc = none)");
	if (pc->pc_ready == READY_AUTO && !s->s_bad[rt] &&
	    pc->pc_ready_timeout <= pc->pc_min_uptime) {
		format_duration(pc->pc_ready_timeout, a, sizeof(a));
		format_duration(pc->pc_min_uptime, b, sizeof(b));
		snprintf(msg, sizeof(msg), "%s is not more than min_uptime "
		    "(%s): with ready = auto no worker could ever be up", a, b);
		key_error(cp, s, rt, s->s_seen[rt] ? s->s_seen[rt] :
		    s->s_line, msg);
	}
}

/* SO_REUSEPORT spreads TCP connections; unix and passed sockets can't. */
static void
check_reuseport(struct cfg_parse *cp, const struct section *s)
{
	const struct sock_conf	*sc = s->s_obj;
	int			 k = key_find(s, "reuseport");

	if (sc->sc_reuseport && sc->sc_addr.la_kind != ADDR_TCP)
		key_error(cp, s, k, s->s_seen[k], sc->sc_addr.la_kind ==
		    ADDR_UNIX ? "only for TCP sockets, not unix:" :
		    "only for TCP sockets clusterd binds, not systemd:");
}

static void
config_check(struct cfg_parse *cp)
{
	struct section	*s;

	for (s = cp->cp_sects; s != NULL; s = s->s_next) {
		check_required(cp, s);
		if (s->s_type == SECT_SOCKET)
			check_reuseport(cp, s);
		if (s->s_type == SECT_PROGRAM) {
			check_delays(cp, s);
			check_sockets(cp, s);
			check_ipc(cp, s);
		}
	}
	if (cp->cp_cfg->cf_progs == NULL && cp->cp_nerrs == 0)
		cfg_error(cp, 0, "no [program:NAME] section: nothing to run");
}

/*
 * Loading.
 */

/* cf_path and cf_dir (absolute, or NULL: an error is reported). */
static struct config *
config_new(struct cfg_parse *cp, const char *path, char *dir)
{
	struct config	*cfg;
	int		 saved = errno;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->cf_path = strdup(path)) == NULL) {
		free(cfg);
		free(dir);
		return NULL;
	}
	cfg->cf_log_level = LOG_LVL_DEFAULT;
	cfg->cf_dir = dir;
	if (dir == NULL)
		cfg_error(cp, 0, "cannot resolve its directory: %s",
		    strerror(saved));
	return cfg;
}

/*
 * The directory of path, absolute, from the text of path and the working
 * directory alone: nothing on the file system is looked at.
 */
static char *
dir_of(const char *path)
{
	char	*copy, *dir, *cwd = NULL, *abs = NULL;

	if ((copy = strdup(path)) == NULL)
		return NULL;
	dir = dirname(copy);
	if (*dir == '/')
		abs = strdup(dir);
	else if ((cwd = getcwd(NULL, 0)) != NULL) {
		if (strcmp(dir, ".") == 0)
			abs = strdup(cwd);
		else if (asprintf(&abs, "%s%s%s", cwd,
		    strcmp(cwd, "/") == 0 ? "" : "/", dir) == -1)
			abs = NULL;
	}
	free(cwd);
	free(copy);
	return abs;
}

/* The real path of the directory of path, which exists. */
static char *
real_dir_of(const char *path)
{
	char	*copy, *dir;

	if ((copy = strdup(path)) == NULL)
		return NULL;
	dir = realpath(dirname(copy), NULL);
	free(copy);
	return dir;
}

static void
parse_free(struct cfg_parse *cp)
{
	struct section	*s, *next;

	for (s = cp->cp_sects; s != NULL; s = next) {
		next = s->s_next;
		free(s->s_title);
		free(s);
	}
	free(cp->cp_pend.p_value);
	free(cp->cp_raw);
}

/* A one-line error text for a file that could not be read at all. */
static struct config *
load_fail(const char *path, const char *what, char **errtext)
{
	if (asprintf(errtext, "%s: %s: %s\n", path, what,
	    strerror(errno)) == -1)
		*errtext = NULL;
	return NULL;
}

/*
 * Parses and checks the text of one file; dir is the absolute directory
 * that relative paths are taken from (the caller's, now ours), or NULL
 * if it could not be found (an error).
 */
static struct config *
config_parse(const char *path, char *dir, const char *buf, size_t len,
    char **errtext)
{
	struct cfg_parse	 cp;
	int			 rv;

	*errtext = NULL;
	memset(&cp, 0, sizeof(cp));
	cp.cp_file = path;
	cp.cp_text = buf;
	cp.cp_textlen = len;
	cp.cp_pend.p_key = -1;
	cp.cp_ignored.s_type = SECT_IGNORED;
	if ((cp.cp_cfg = config_new(&cp, path, dir)) == NULL)
		return load_fail(path, "cannot load", errtext);
	if (cp.cp_nerrs == 0) {
		rv = ini_parse_stream(cfg_reader, &cp, cfg_handler, &cp);
		if (rv != 0 && cp.cp_nerrs == 0)
			cfg_error(&cp, rv > 0 ? rv : 0, "cannot parse");
		config_check(&cp);
	}
	parse_free(&cp);
	if (cp.cp_nerrs == 0)
		return config_adopt(cp.cp_cfg);
	config_free(cp.cp_cfg);
	if ((*errtext = errors_text(&cp)) == NULL)
		*errtext = strdup("out of memory\n");
	return NULL;
}

/*
 * Loads a configuration from len bytes at buf, as if they had been read
 * from the file path: path names the file in messages, and relative paths
 * in it are taken from path's directory (made absolute from the working
 * directory, without looking at the file system).  Nothing is read from
 * the file system but the user and group databases (for user, group and
 * owner) and, when the text has them, the files that include and
 * env_file name: a fuzzer that must not touch files keeps inputs with
 * those two keys out.  Returns what config_load() returns.
 */
struct config *
config_load_buffer(const char *path, const char *buf, size_t len,
    char **errtext)
{
	return config_parse(path, dir_of(path), buf, len, errtext);
}

/*
 * Reads all of an open file, at most max bytes; -1 with errno set, EFBIG
 * when it is larger.
 */
static int
read_all(int fd, size_t max, char **bufp, size_t *lenp)
{
	char	*buf = NULL, *grown;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if ((grown = realloc(buf, cap)) == NULL) {
				free(buf);
				return -1;
			}
			buf = grown;
		}
		if ((n = read(fd, buf + len, cap - len)) == 0)
			break;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || (len += (size_t)n) > max) {
			if (n != -1)
				errno = EFBIG;
			free(buf);
			return -1;
		}
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

/*
 * Reads and checks a whole file.  Returns the configuration, or NULL
 * and in *errtext every error found, one "FILE:LINE: message" per line
 * (or "FILE: message" for the file as a whole), each ending in a
 * newline, in line order; the caller frees it.
 */
struct config *
config_load(const char *path, char **errtext)
{
	struct config	*cfg;
	char		*buf;
	size_t		 len;
	int		 fd, rv;

	*errtext = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return load_fail(path, "cannot open", errtext);
	rv = read_all(fd, CONFIG_MAXSIZE, &buf, &len);
	close(fd);
	if (rv == -1 && errno == EFBIG) {
		if (asprintf(errtext, "%s: cannot read: larger than %d MiB\n",
		    path, CONFIG_MAXSIZE >> 20) == -1)
			*errtext = NULL;
		return NULL;
	}
	if (rv == -1)
		return load_fail(path, "cannot read", errtext);
	cfg = config_parse(path, real_dir_of(path), buf, len, errtext);
	free(buf);
	return cfg;
}

static void
sock_conf_free(struct sock_conf *sc)
{
	free(sc->sc_name);
	free(sc->sc_listen);
	free(sc);
}

static void
prog_conf_free(struct prog_conf *pc)
{
	free(pc->pc_name);
	words_free(pc->pc_argv);
	words_free(pc->pc_sockets);
	words_free(pc->pc_env);
	free(pc->pc_directory);
	free(pc->pc_user);
	free(pc->pc_home);
	free(pc->pc_stdout.o_path);
	free(pc->pc_stderr.o_path);
	free(pc->pc_node_msg);
	free(pc->pc_node_socket);
	free(pc);
}

/*
 * A loaded configuration is shared: the cluster holds it while it is
 * current, and every worker holds the one it was started with, so that a
 * worker of the old generation still has its stop_signal and stop_timeout
 * after a reload.  The last release frees it.
 */
static struct config *
config_adopt(struct config *cfg)
{
	struct prog_conf	*pc;

	cfg->cf_refs = 1;
	for (pc = cfg->cf_progs; pc != NULL; pc = pc->pc_next)
		pc->pc_cfg = cfg;
	return cfg;
}

void
config_hold(struct config *cfg)
{
	cfg->cf_refs++;
}

void
config_release(struct config *cfg)
{
	if (cfg != NULL && --cfg->cf_refs <= 0)
		config_free(cfg);
}

void
config_free(struct config *cfg)
{
	struct sock_conf	*sc;
	struct prog_conf	*pc;

	if (cfg == NULL)
		return;
	while ((sc = cfg->cf_socks) != NULL) {
		cfg->cf_socks = sc->sc_next;
		sock_conf_free(sc);
	}
	while ((pc = cfg->cf_progs) != NULL) {
		cfg->cf_progs = pc->pc_next;
		prog_conf_free(pc);
	}
	free(cfg->cf_path);
	free(cfg->cf_dir);
	free(cfg->cf_pidfile);
	free(cfg->cf_control);
	free(cfg);
}

struct sock_conf *
config_find_socket(const struct config *cfg, const char *name)
{
	struct sock_conf	*sc;

	for (sc = cfg->cf_socks; sc != NULL; sc = sc->sc_next)
		if (strcmp(sc->sc_name, name) == 0)
			return sc;
	return NULL;
}
