/*
 * SPDX-License-Identifier: ISC
 *
 * Loading the configuration: the main file, the files it includes and
 * the env files its programs name, into one struct config; and the
 * checks of -t that look at the file system the workers will run in.
 *
 * The reading itself is cfgread.c's (lines), cfgkeys.c's (values) and
 * cfgcheck.c's (combinations); see cfg.h.  Every error is collected and
 * returned as one text; nothing here logs or exits, since a reload loads
 * a configuration beside the running one.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"

#define CONFIG_MAXSIZE	(16 << 20)	/* bytes of a configuration file */
#define ENVFILE_MAXSIZE	(1 << 20)	/* bytes of an env file */

/* A file already read, so that an include pattern reads it only once. */
struct file_id {
	dev_t	fi_dev;
	ino_t	fi_ino;
};

static struct config *config_adopt(struct config *);
static void	 digest_add(struct config *, const char *, const char *,
		    size_t);
static void	 prog_conf_free(struct prog_conf *);
static int	 env_find(char **, size_t, const char *);
static int	 key_given(const struct prog_conf *, const char *);
static void	 rt_error(struct cfg_parse *, const struct prog_conf *,
		    const char *, int, const char *, ...)
		    __attribute__((format(printf, 5, 6)));

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
 * Opens and reads the file path: 0, or -1 with the reason in err (errno
 * is kept for the caller).  id, if not NULL, gets the file's identity.
 */
static int
read_file(const char *path, size_t max, char **bufp, size_t *lenp,
    struct file_id *id, char *err, size_t errlen)
{
	struct stat	st;
	int		fd, rv, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		saved = errno;
		snprintf(err, errlen, "cannot open: %s", strerror(saved));
		errno = saved;
		return -1;
	}
	if (id != NULL && fstat(fd, &st) == 0) {
		id->fi_dev = st.st_dev;
		id->fi_ino = st.st_ino;
	}
	rv = read_all(fd, max, bufp, lenp);
	saved = errno;
	close(fd);
	if (rv == -1 && saved == EFBIG)
		snprintf(err, errlen, "cannot read: larger than %zu MiB",
		    max >> 20);
	else if (rv == -1)
		snprintf(err, errlen, "cannot read: %s", strerror(saved));
	errno = saved;
	return rv;
}

/*
 * include.
 */

/* The glob(3) error callback: keeps the first directory it could not read. */
static char	glob_failed[PATH_MAX];
static int	glob_errno;

static int
glob_error(const char *path, int err)
{
	if (glob_errno == 0) {
		snprintf(glob_failed, sizeof(glob_failed), "%s", path);
		glob_errno = err;
	}
	return 0;
}

/* path with the characters glob(3) would take as a pattern escaped. */
static char *
glob_escape(const char *path)
{
	char	*out, *o;

	if ((out = malloc(strlen(path) * 2 + 1)) == NULL)
		return NULL;
	for (o = out; *path != '\0'; path++) {
		if (strchr("*?[]\\", *path) != NULL)
			*o++ = '\\';
		*o++ = *path;
	}
	*o = '\0';
	return out;
}

/*
 * The pattern to glob: a relative one is taken from the directory of the
 * configuration file, whose name is no pattern.
 */
static char *
include_pattern(const struct config *cfg, const struct cfg_ref *r)
{
	char	*dir, *pat;
	size_t	 dlen = strlen(cfg->cf_dir);

	if (!r->r_relative)
		return strdup(r->r_path);
	if ((dir = glob_escape(cfg->cf_dir)) == NULL)
		return NULL;
	if (asprintf(&pat, "%s/%s", dir, r->r_path + dlen + 1) == -1)
		pat = NULL;
	free(dir);
	return pat;
}

/*
 * A match as messages name it: its part after the configuration file's
 * directory, put after the directory of the pattern as it was named.
 */
static char *
include_name(const struct config *cfg, const struct cfg_ref *r,
    const char *match)
{
	size_t	 dlen = strlen(cfg->cf_dir), rel, prefix;
	char	*name;

	if (!r->r_relative || strncmp(match, cfg->cf_dir, dlen) != 0 ||
	    match[dlen] != '/')
		return strdup(match);
	rel = strlen(r->r_path) - dlen - 1;
	prefix = strlen(r->r_name) - rel;
	if (asprintf(&name, "%.*s%s", (int)prefix, r->r_name,
	    match + dlen + 1) == -1)
		return NULL;
	return name;
}

static int
file_seen(const struct file_id *ids, size_t n, const struct file_id *id)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (ids[i].fi_dev == id->fi_dev && ids[i].fi_ino == id->fi_ino)
			return 1;
	return 0;
}

/*
 * Reads one file an include pattern matched, unless it was read already
 * (the main file, or a match of an earlier pattern).  Errors of opening
 * and reading it are the include line's.
 */
static void
include_one(struct cfg_parse *cp, const struct cfg_ref *r,
    const char *match, struct file_id **ids, size_t *nids)
{
	const char	*cfgfile = cp->cp_cfg->cf_path;
	struct file_id	 id, *grown;
	char		*name, *buf, err[ERRBUF_LEN];
	size_t		 len;

	if ((name = include_name(cp->cp_cfg, r, match)) == NULL) {
		cfgread_error_in(cp, cfgfile, 0, r->r_line, "[clusterd] "
		    "include: out of memory");
		return;
	}
	memset(&id, 0, sizeof(id));
	if (utf8_invalid(name, strlen(name)) < strlen(name))
		cfgread_error_in(cp, cfgfile, 0, r->r_line, "[clusterd] "
		    "include: %s matches a file whose name is not valid "
		    "UTF-8; rename it", r->r_name);
	else if (read_file(match, CONFIG_MAXSIZE, &buf, &len, &id, err,
	    sizeof(err)) == -1)
		cfgread_error_in(cp, cfgfile, 0, r->r_line, "[clusterd] "
		    "include: %s: %s", name, err);
	else {
		if (!file_seen(*ids, *nids, &id)) {
			digest_add(cp->cp_cfg, name, buf, len);
			cfgread_file(cp, name, 0, buf, len);
			if ((grown = reallocarray(*ids, *nids + 1,
			    sizeof(**ids))) != NULL) {
				*ids = grown;
				grown[(*nids)++] = id;
			}
		}
		free(buf);
	}
	free(name);
}

/*
 * [clusterd] include: each pattern in the order given, its matches in
 * sorted order (glob's, in the C locale), each file once; a pattern that
 * matches nothing is not an error.  Included files cannot include again
 * (they have no [clusterd]), so there is no loop to follow.
 */
static void
read_includes(struct cfg_parse *cp)
{
	const char	*cfgfile = cp->cp_cfg->cf_path;
	struct file_id	*ids = NULL;
	struct stat	 st;
	glob_t		 g;
	char		*pat;
	size_t		 i, j, nids = 0;
	int		 rv;

	if (cp->cp_nincludes > 0 && stat(cfgfile, &st) == 0 &&
	    (ids = malloc(sizeof(*ids))) != NULL) {
		ids[0].fi_dev = st.st_dev;
		ids[0].fi_ino = st.st_ino;
		nids = 1;
	}
	for (i = 0; i < cp->cp_nincludes; i++) {
		const struct cfg_ref *r = &cp->cp_includes[i];

		if ((pat = include_pattern(cp->cp_cfg, r)) == NULL) {
			cfgread_error_in(cp, cfgfile, 0, r->r_line,
			    "[clusterd] include: out of memory");
			continue;
		}
		glob_errno = 0;
		rv = glob(pat, 0, glob_error, &g);
		free(pat);
		if (rv == GLOB_NOMATCH)
			continue;
		if (rv == 0 && glob_errno == 0)
			for (j = 0; j < g.gl_pathc; j++)
				include_one(cp, r, g.gl_pathv[j], &ids, &nids);
		else if (glob_errno != 0)
			cfgread_error_in(cp, cfgfile, 0, r->r_line,
			    "[clusterd] include: %s: cannot read directory "
			    "%s: %s", r->r_name, glob_failed,
			    strerror(glob_errno));
		else
			cfgread_error_in(cp, cfgfile, 0, r->r_line,
			    "[clusterd] include: %s: out of memory",
			    r->r_name);
		globfree(&g);
	}
	free(ids);
}

/*
 * env_file.
 */

/* Puts var in the list, replacing the variable of the same name. */
static int
env_set(char ***vars, size_t *n, const char *var)
{
	char	*copy;
	int	 i;

	if ((copy = strdup(var)) == NULL)
		return -1;
	if ((i = env_find(*vars, *n, var)) != -1) {
		free((*vars)[i]);
		(*vars)[i] = copy;
		return 0;
	}
	if (strv_push(vars, n, copy) == -1) {
		free(copy);
		return -1;
	}
	return 0;
}

/* Checks the variables of one env file and adds them to vars. */
static void
env_file_vars(struct cfg_parse *cp, const struct section *s,
    const struct cfg_ref *r, int forder, const struct envfile_var *ev,
    size_t nev, char ***vars, size_t *nvars)
{
	const struct prog_conf	*pc = s->s_obj;
	const char		*why, *var;
	char			 err[ERRBUF_LEN];
	size_t			 i, nlen;

	for (i = 0; i < nev; i++) {
		var = ev[i].ev_var;
		nlen = strcspn(var, "=");
		if (cfgkeys_env_name(var, nlen, err, sizeof(err)) == -1)
			cfgread_error_in(cp, r->r_name, forder, ev[i].ev_line,
			    "%s (env_file of [%s])", err, s->s_title);
		else if ((why = cfgkeys_env_owner(pc, var, nlen)) != NULL)
			cfgread_error_in(cp, r->r_name, forder, ev[i].ev_line,
			    "%.*s is set by clusterd; %s (env_file of [%s])",
			    (int)nlen, var, why, s->s_title);
		else if (env_set(vars, nvars, var) == -1)
			cfgread_error_in(cp, r->r_name, forder, ev[i].ev_line,
			    "out of memory");
	}
}

/* Reads one env file of s into vars; a missing -PATH is no error. */
static void
env_file_read(struct cfg_parse *cp, const struct section *s,
    const struct cfg_ref *r, char ***vars, size_t *nvars)
{
	struct envfile_var	*ev;
	char			*buf, err[ERRBUF_LEN], msg[ERRBUF_LEN * 2];
	size_t			 len, nev;
	int			 line, forder;

	if (read_file(r->r_path, ENVFILE_MAXSIZE, &buf, &len, NULL, err,
	    sizeof(err)) == -1) {
		if (r->r_optional && errno == ENOENT)
			return;
		snprintf(msg, sizeof(msg), "%s: %s", r->r_name, err);
		cfgread_key_error(cp, s, cfgkeys_find(s->s_keys, s->s_nkeys,
		    "env_file"), r->r_line, msg);
		return;
	}
	forder = cp->cp_nfiles++;
	digest_add(cp->cp_cfg, r->r_name, buf, len);
	if (envfile_parse(buf, len, &ev, &nev, &line, err, sizeof(err)) == -1)
		cfgread_error_in(cp, r->r_name, forder, line, "%s (env_file "
		    "of [%s])", err, s->s_title);
	else {
		env_file_vars(cp, s, r, forder, ev, nev, vars, nvars);
		envfile_free(ev, nev);
	}
	free(buf);
}

/* The index of the variable named as var's in vars, or -1. */
static int
env_find(char **vars, size_t n, const char *var)
{
	size_t	nlen = strcspn(var, "="), i;

	for (i = 0; i < n; i++)
		if (strncmp(vars[i], var, nlen + 1) == 0)
			return (int)i;
	return -1;
}

/*
 * Each program's env files, in the order given, later variables winning
 * over earlier ones; then its env lines, which win over them all: pc_env
 * becomes the env file variables that no env line sets, followed by the
 * env lines (which stay its last s_nenvlines entries).
 */
static void
read_env_files(struct cfg_parse *cp)
{
	struct section		*s;
	struct prog_conf	*pc;
	char			**vars, **env;
	size_t			  i, nvars, nenv;

	for (s = cp->cp_sects; s != NULL; s = s->s_next) {
		if (s->s_type != SECT_PROGRAM || s->s_nenvfiles == 0)
			continue;
		pc = s->s_obj;
		vars = NULL;
		nvars = 0;
		for (i = 0; i < s->s_nenvfiles; i++)
			env_file_read(cp, s, &s->s_envfiles[i], &vars, &nvars);
		env = NULL;
		nenv = 0;
		for (i = 0; i < nvars; i++) {
			if (env_find(pc->pc_env, pc->pc_nenv, vars[i]) == -1 &&
			    strv_push(&env, &nenv, vars[i]) == 0)
				continue;
			free(vars[i]);
		}
		for (i = 0; i < pc->pc_nenv; i++) {
			if (strv_push(&env, &nenv, pc->pc_env[i]) == 0)
				continue;
			cfgread_error(cp, s->s_line, "out of memory");
			free(pc->pc_env[i]);
		}
		free(vars);
		free(pc->pc_env);
		pc->pc_env = env;
		pc->pc_nenv = nenv;
	}
}

/*
 * Loading.
 */

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
 * Reads the main file's text, then what it includes and the env files,
 * and checks the whole.  dir is the absolute directory that relative
 * paths are taken from (now ours), or NULL if it could not be found.
 */
static struct config *
config_parse(const char *path, char *dir, const char *buf, size_t len,
    char **errtext)
{
	struct cfg_parse	 cp;
	struct config		*cfg;
	int			 saved = errno;

	*errtext = NULL;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->cf_path = strdup(path)) == NULL) {
		free(cfg);
		free(dir);
		return load_fail(path, "cannot load", errtext);
	}
	cfg->cf_log_level = LOG_LVL_DEFAULT;
	cfg->cf_dir = dir;
	cfgread_init(&cp, cfg);
	if (dir == NULL)
		cfgread_error_in(&cp, path, 0, 0, "cannot resolve its "
		    "directory: %s", strerror(saved));
	else {
		digest_add(cfg, path, buf, len);
		cfgread_file(&cp, path, 1, buf, len);
		read_includes(&cp);
		cfgcheck_defaults(&cp);
		read_env_files(&cp);
		cfgcheck_all(&cp);
	}
	cfgread_free(&cp);
	if (cp.cp_nerrs == 0)
		return config_adopt(cfg);
	config_free(cfg);
	if ((*errtext = cfgread_errors(&cp)) == NULL)
		*errtext = strdup("out of memory\n");
	return NULL;
}

/*
 * The digest of every file a configuration was read from (FNV-1a over
 * each name and text, in reading order): a later load of the same path
 * that gives the same digest read the same bytes.
 */
static void
digest_add(struct config *cfg, const char *name, const char *buf,
    size_t len)
{
	uint64_t	h = cfg->cf_digest != 0 ? cfg->cf_digest :
			    0xcbf29ce484222325ULL;
	size_t		i, n = strlen(name) + 1;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)buf[i]) * 0x100000001b3ULL;
	cfg->cf_digest = h;
}

/*
 * Loads a configuration from len bytes at buf, as if they had been read
 * from the file path: path names the file in messages, and relative paths
 * in it are taken from path's directory (made absolute from the working
 * directory, without looking at the file system).  Nothing is read from
 * the file system but the user and group databases (user, group, owner,
 * control_group) and the files that include and env_file name, when the
 * text has those keys: a fuzzer that must not touch files leaves inputs
 * with them out.  Returns what config_load() returns.
 */
struct config *
config_load_buffer(const char *path, const char *buf, size_t len,
    char **errtext)
{
	return config_parse(path, dir_of(path), buf, len, errtext);
}

/*
 * Reads and checks a whole configuration: the file path, the files it
 * includes and the env files it names, read anew at every call (so at
 * every reload).  Returns the configuration, or NULL and in *errtext
 * every error found, one "FILE:LINE: message" per line (or "FILE:
 * message" for a file as a whole), each ending in a newline, in file
 * and line order; the caller frees it.
 */
struct config *
config_load(const char *path, char **errtext)
{
	struct config	*cfg;
	char		*buf, err[ERRBUF_LEN];
	size_t		 len;

	*errtext = NULL;
	if (read_file(path, CONFIG_MAXSIZE, &buf, &len, NULL, err,
	    sizeof(err)) == -1) {
		if (asprintf(errtext, "%s: %s\n", path, err) == -1)
			*errtext = NULL;
		return NULL;
	}
	cfg = config_parse(path, real_dir_of(path), buf, len, errtext);
	free(buf);
	return cfg;
}

/* The line of a program's key, or 0 when it was not given. */
static int
key_given(const struct prog_conf *pc, const char *key)
{
	const struct keydef	*keys;
	size_t			 n;
	int			 k;

	keys = cfgkeys_table(SECT_PROGRAM, &n);
	if ((k = cfgkeys_find(keys, n, key)) == -1)
		return 0;
	return pc->pc_lines[k];
}

/* The line of a program's key, or of its section header if not given. */
int
config_key_line(const struct prog_conf *pc, const char *key)
{
	int	line = key_given(pc, key);

	return line != 0 ? line : pc->pc_line;
}

/*
 * The run-time checks of -t: what start-up would find only when a worker
 * starts.  Start-up and reload do not make them, since a deploy may put
 * the program or its directories in place after clusterd has loaded
 * the file.
 */

/* "FILE:LINE: [program:NAME] key: message", at that key's line. */
static void
rt_error(struct cfg_parse *cp, const struct prog_conf *pc, const char *key,
    int line, const char *fmt, ...)
{
	const struct config	*cfg = cp->cp_cfg;
	char			 msg[ERRBUF_LEN * 2];
	va_list			 ap;
	int			 forder;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (forder = 0; cfg->cf_files != NULL && cfg->cf_files[forder] !=
	    NULL && cfg->cf_files[forder] != pc->pc_file; forder++)
		;
	cfgread_error_in(cp, pc->pc_file, forder, line, "[program:%s] %s: %s",
	    pc->pc_name, key, msg);
}

/* 0 if this process could execute path; or -1, and why in err. */
static int
rt_executable(const char *path, char *err, size_t errlen)
{
	struct stat	st;

	if (stat(path, &st) == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		snprintf(err, errlen, "%s is a directory", path);
	else if (!S_ISREG(st.st_mode))
		snprintf(err, errlen, "%s is not a regular file", path);
	else if ((st.st_mode & 0111) == 0)
		snprintf(err, errlen, "%s is not executable (mode %04o)", path,
		    (unsigned)(st.st_mode & 07777));
	else if (access(path, X_OK) == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else
		return 0;
	return -1;
}

/*
 * name in dir (or name itself when dir is NULL), a relative one taken
 * from the worker's directory: as the kernel will resolve it there.
 */
static char *
rt_join(const char *workdir, const char *dir, const char *name)
{
	const char	*base;
	char		*p;
	size_t		 blen;

	if (dir == NULL && *name == '/')
		return strdup(name);
	base = dir != NULL && *dir == '/' ? dir : workdir;
	blen = strlen(base);
	if (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (dir != NULL && *dir != '/') {
		if (asprintf(&p, "%.*s/%s/%s", (int)blen, base, dir,
		    name) == -1)
			return NULL;
	} else if (asprintf(&p, "%.*s/%s", (int)blen, base, name) == -1)
		return NULL;
	return p;
}

/* The PATH execvp() will search in the worker. */
static const char *
rt_path(const struct prog_conf *pc)
{
	const char	*path;
	size_t		 i;

	for (i = 0; i < pc->pc_nenv; i++)
		if (strncmp(pc->pc_env[i], "PATH=", 5) == 0)
			return pc->pc_env[i] + 5;
	if ((path = getenv("PATH")) != NULL)
		return path;
	return "/bin:/usr/bin";		/* glibc's execvp() without PATH */
}

/*
 * The program of command, searched as execvp() will search it in the
 * worker: a name without '/' in each directory of PATH (an empty one
 * being the working directory), a relative path in the working directory.
 */
static void
rt_command(struct cfg_parse *cp, const struct prog_conf *pc,
    const char *workdir)
{
	const char	*prog = pc->pc_argv[0], *path, *p, *colon;
	char		 err[ERRBUF_LEN], first[ERRBUF_LEN + 2] = "";
	char		*dir, *file;
	int		 line = config_key_line(pc, "command");

	if (strchr(prog, '/') != NULL) {
		if ((file = rt_join(workdir, NULL, prog)) != NULL &&
		    rt_executable(file, err, sizeof(err)) == -1)
			rt_error(cp, pc, "command", line, "%s", err);
		free(file);
		return;
	}
	path = rt_path(pc);
	for (p = path; ; p = colon + 1) {
		colon = strchrnul(p, ':');
		if ((dir = strndup(p, (size_t)(colon - p))) == NULL)
			return;
		file = rt_join(workdir, *dir == '\0' ? "." : dir, prog);
		free(dir);
		if (file != NULL && rt_executable(file, err,
		    sizeof(err)) == 0) {
			free(file);
			return;
		}
		if (file != NULL && first[0] == '\0' && errno != ENOENT &&
		    errno != ENOTDIR)
			snprintf(first, sizeof(first), "; %s", err);
		free(file);
		if (*colon == '\0')
			break;
	}
	rt_error(cp, pc, "command", line, "\"%s\" is not an executable file "
	    "in any directory of PATH (%s)%s", prog, path, first);
}

static void
rt_directory(struct cfg_parse *cp, const struct prog_conf *pc)
{
	struct stat	st;
	int		line = config_key_line(pc, "directory");

	if (pc->pc_directory == NULL)
		return;
	if (stat(pc->pc_directory, &st) == -1)
		rt_error(cp, pc, "directory", line, "%s: %s", pc->pc_directory,
		    strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rt_error(cp, pc, "directory", line, "%s is not a directory",
		    pc->pc_directory);
}

/* An output file is created if need be, but not its directory. */
static void
rt_output(struct cfg_parse *cp, const struct prog_conf *pc,
    const struct output_conf *o, const char *key)
{
	struct stat	 st;
	char		*copy, *dir;
	int		 line = config_key_line(pc, key);

	if (o->o_mode != OUTPUT_FILE || (copy = strdup(o->o_path)) == NULL)
		return;
	dir = dirname(copy);
	if (stat(dir, &st) == -1)
		rt_error(cp, pc, key, line, "cannot open %s: its directory %s: "
		    "%s", o->o_path, dir, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rt_error(cp, pc, key, line, "cannot open %s: %s is not a "
		    "directory", o->o_path, dir);
	free(copy);
}

/* Only root may run a worker as another user or group (as spawn.c). */
static void
rt_identity(struct cfg_parse *cp, const struct prog_conf *pc)
{
	struct passwd	*pw;
	struct group	*gr;
	char		 self[96], gname[64];
	int		 gline = key_given(pc, "group");

	if (geteuid() == 0)
		return;
	if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(self, sizeof(self), "%s (uid %lu)", pw->pw_name,
		    (unsigned long)geteuid());
	else
		snprintf(self, sizeof(self), "uid %lu",
		    (unsigned long)geteuid());
	if (pc->pc_user != NULL && pc->pc_uid != geteuid())
		rt_error(cp, pc, "user", config_key_line(pc, "user"),
		    "clusterd runs as %s, not as root, so it cannot run "
		    "workers as %s", self, pc->pc_user);
	if (!pc->pc_has_group || pc->pc_gid == getegid())
		return;
	if ((gr = getgrgid(pc->pc_gid)) != NULL)
		snprintf(gname, sizeof(gname), "%s", gr->gr_name);
	else
		snprintf(gname, sizeof(gname), "%lu",
		    (unsigned long)pc->pc_gid);
	if (gline != 0)
		rt_error(cp, pc, "group", gline, "clusterd runs as %s, not as "
		    "root, so it cannot run workers with group %s", self,
		    gname);
	else if (pc->pc_user == NULL || pc->pc_uid == geteuid())
		rt_error(cp, pc, "user", config_key_line(pc, "user"),
		    "clusterd runs as %s, not as root, so it cannot run "
		    "workers with %s's primary group %s", self,
		    pc->pc_user != NULL ? pc->pc_user : "?", gname);
}

/*
 * Checks, for clusterd -t, what the workers will need when they start:
 * an executable command, an existing directory, the directories of their
 * output files, and a user and group clusterd can switch to.  Returns 0,
 * or -1 and in *errtext the errors, as config_load() does.
 */
int
config_check_runtime(const struct config *cfg, char **errtext)
{
	struct cfg_parse	 cp;
	const struct prog_conf	*pc;
	char			*cwd, *workdir;

	*errtext = NULL;
	cfgread_init(&cp, (struct config *)cfg);
	cwd = getcwd(NULL, 0);
	for (pc = cfg->cf_progs; pc != NULL; pc = pc->pc_next) {
		workdir = pc->pc_directory != NULL ? pc->pc_directory :
		    cwd != NULL ? cwd : ".";
		rt_command(&cp, pc, workdir);
		rt_directory(&cp, pc);
		rt_output(&cp, pc, &pc->pc_stdout, "stdout");
		rt_output(&cp, pc, &pc->pc_stderr, "stderr");
		rt_identity(&cp, pc);
	}
	free(cwd);
	cfgread_free(&cp);
	if (cp.cp_nerrs == 0)
		return 0;
	if ((*errtext = cfgread_errors(&cp)) == NULL)
		*errtext = strdup("out of memory\n");
	return -1;
}

/*
 * Freeing.
 */

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
	free(pc->pc_identifier);
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
	words_free(cfg->cf_files);
	free(cfg->cf_pidfile);
	free(cfg->cf_control);
	free(cfg->cf_control_group);
	free(cfg);
}

struct sock_conf *
config_find_socket(const struct config *cfg, const char *name)
{
	return cfgkeys_socket(cfg, name);
}
