/*
 * SPDX-License-Identifier: ISC
 *
 * Reading one file of the configuration into sections and values.
 *
 * inih splits the file into sections and KEY = VALUE pairs, but the
 * handler it calls gets no line number, and Debian's build silently cuts
 * lines at its buffer size.  So inih reads through our own reader: it
 * takes whole lines from the text in memory, counts them, refuses long
 * ones and ones it cannot hand on as they are (a NUL byte, bytes that are
 * not UTF-8), notes section headers (inih reports only keys, and cuts
 * long section names) and tells the handler what kind of line inih is
 * looking at.  A value is applied, through its key's setter, once its
 * continuation lines have all been seen.
 *
 * Every error of every file is collected here and returned as one text,
 * sorted by file and line.
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "cfg.h"

static struct section *section_find(const struct cfg_parse *, const char *);
static void	 pending_flush(struct cfg_parse *);
static const char *find_chars(const char *, const char *);
static void	 error_add(struct cfg_parse *, const char *, int, int,
		    const char *, va_list)
		    __attribute__((format(printf, 5, 0)));

/*
 * Errors.
 */

static void
error_add(struct cfg_parse *cp, const char *file, int forder, int line,
    const char *fmt, va_list ap)
{
	struct cfg_error	*e;
	char			 msg[ERRBUF_LEN * 2];
	size_t			 cap;

	if (cp->cp_nerrs == cp->cp_errcap) {
		cap = cp->cp_errcap == 0 ? 8 : cp->cp_errcap * 2;
		if ((e = reallocarray(cp->cp_errs, cap, sizeof(*e))) == NULL)
			return;
		cp->cp_errs = e;
		cp->cp_errcap = cap;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	e = &cp->cp_errs[cp->cp_nerrs];
	if (line > 0) {
		if (asprintf(&e->e_text, "%s:%d: %s", file, line, msg) == -1)
			return;
	} else if (asprintf(&e->e_text, "%s: %s", file, msg) == -1)
		return;
	e->e_forder = forder;
	e->e_line = line;
	e->e_seq = (int)cp->cp_nerrs++;
}

/* "FILE:LINE: message", in the file being read; line 0: the file. */
void
cfgread_error(struct cfg_parse *cp, int line, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	error_add(cp, cp->cp_file, cp->cp_forder, line, fmt, ap);
	va_end(ap);
}

/* The same in another file, whose place in the order is forder. */
void
cfgread_error_in(struct cfg_parse *cp, const char *file, int forder,
    int line, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	error_add(cp, file, forder, line, fmt, ap);
	va_end(ap);
}

/* "FILE:LINE: [section] key: message", in the section's file. */
void
cfgread_key_error(struct cfg_parse *cp, const struct section *s, int k,
    int line, const char *msg)
{
	cfgread_error_in(cp, s->s_file, s->s_forder, line, "[%s] %s: %s",
	    s->s_title, s->s_keys[k].k_name, msg);
}

/* By file, then line; in each file, errors about the whole file last. */
static int
error_cmp(const void *a, const void *b)
{
	const struct cfg_error	*ea = a, *eb = b;
	unsigned		 la = (unsigned)ea->e_line - 1;
	unsigned		 lb = (unsigned)eb->e_line - 1;

	if (ea->e_forder != eb->e_forder)
		return ea->e_forder < eb->e_forder ? -1 : 1;
	if (la != lb)
		return la < lb ? -1 : 1;
	return ea->e_seq - eb->e_seq;
}

/*
 * One error per line, each ending in a newline, or NULL when there is
 * none or no memory for them; frees the errors.
 */
char *
cfgread_errors(struct cfg_parse *cp)
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
 * Values: a key line starts a pending value, continuation lines are
 * appended to it, and it is applied when the next key, section or the
 * end of the file shows that it is complete.
 */

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
		cfgread_key_error(cp, s, pv->p_key, pv->p_line,
		    "out of memory");
		s->s_bad[pv->p_key] = 1;
	} else if (pv->p_value[0] == '\0') {
		cfgread_key_error(cp, s, pv->p_key, pv->p_line, "empty value");
		s->s_bad[pv->p_key] = 1;
	} else if (k->k_set(cp, k, s->s_obj, pv->p_value, err,
	    sizeof(err)) == -1) {
		cfgread_key_error(cp, s, pv->p_key, pv->p_line, err);
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
			cfgread_error(cp, line, "key \"%s\" is outside any "
			    "section; put it under [clusterd], "
			    "[socket:NAME] or [program:NAME]", name);
		return;
	}
	if (s->s_type == SECT_IGNORED)
		return;
	if ((k = cfgkeys_find(s->s_keys, s->s_nkeys, name)) == -1) {
		if (!discard && *name == '\0')
			cfgread_error(cp, line, "[%s] missing key name before "
			    "\"=\"", s->s_title);
		else if (!discard)
			cfgread_error(cp, line, "[%s] unknown key \"%s\"",
			    s->s_title, name);
		return;
	}
	if (s->s_seen[k] != 0 && !(s->s_keys[k].k_flags & KEY_REPEAT)) {
		if (!discard)
			cfgread_error(cp, line, "[%s] %s: given twice; first "
			    "at line %d", s->s_title, name, s->s_seen[k]);
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
		cfgread_error(cp, cp->cp_lineno, "cannot parse this line");
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
			cfgread_error(cp, s->s_line, "[%s] %s: default: %s",
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
		sc->sc_file = cp->cp_file;
		sc->sc_line = line;
		for (sp = &cp->cp_cfg->cf_socks; *sp != NULL;
		    sp = &(*sp)->sc_next)
			;
		return *sp = sc;
	}
	if ((pc = calloc(1, sizeof(*pc))) == NULL ||
	    (pc->pc_name = strdup(name)) == NULL ||
	    (pc->pc_identifier = strdup(name)) == NULL) {
		if (pc != NULL)
			free(pc->pc_name);
		free(pc);
		return NULL;
	}
	pc->pc_file = cp->cp_file;
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
	s->s_file = cp->cp_file;
	s->s_forder = cp->cp_forder;
	s->s_line = cp->cp_lineno;
	s->s_keys = cfgkeys_table(type, &s->s_nkeys);
	s->s_next = cp->cp_sects;
	cp->cp_sects = s;
	cp->cp_cur = s;
	section_defaults(cp, s);
	return 0;
}

/*
 * Validates a title; a bad one makes the following keys be skipped.  An
 * included file holds sockets and programs only: [clusterd], and so
 * include, belongs to the main file.
 */
static void
section_begin(struct cfg_parse *cp, const char *title)
{
	struct section	*dup;
	const char	*name;
	int		 type, line = cp->cp_lineno;

	cp->cp_cur = &cp->cp_ignored;
	if ((type = section_type(title, &name)) == -1)
		cfgread_error(cp, line, "unknown section [%s]; expected "
		    "[clusterd], [socket:NAME] or [program:NAME]", title);
	else if (name != NULL && !valid_name(name))
		cfgread_error(cp, line, "[%s]: invalid name \"%s\": use 1 to "
		    "%d letters, digits, '_', '.' or '-'", title, name,
		    NAME_MAXLEN - 1);
	else if (type == SECT_GLOBAL && !cp->cp_main)
		cfgread_error(cp, line, "[clusterd] belongs in the main file, "
		    "%s; an included file holds [socket:NAME] and "
		    "[program:NAME] sections only", cp->cp_cfg->cf_path);
	else if ((dup = section_find(cp, title)) != NULL &&
	    dup->s_file == cp->cp_file)
		cfgread_error(cp, line, "[%s] defined twice; first at line %d",
		    title, dup->s_line);
	else if (dup != NULL)
		cfgread_error(cp, line, "[%s] defined twice; first at %s:%d",
		    title, dup->s_file, dup->s_line);
	else if (section_add(cp, title, type, name) == -1)
		cfgread_error(cp, line, "[%s]: out of memory", title);
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
		cfgread_error(cp, cp->cp_lineno, "out of memory");
		cp->cp_cur = &cp->cp_ignored;
		return;
	}
	section_begin(cp, title);
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		cfgread_error(cp, cp->cp_lineno, "unexpected text after [%s]: "
		    "\"%s\"", title, rest);
	free(title);
}

static void
syntax_line(struct cfg_parse *cp, const char *line)
{
	const char	*start = skip_space(line);

	if (*start == '[') {
		cfgread_error(cp, cp->cp_lineno, "missing \"]\" in section "
		    "header \"%s\"", start);
		cp->cp_cur = &cp->cp_ignored;
	}
	else
		cfgread_error(cp, cp->cp_lineno, "expected KEY = VALUE or "
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
	size_t			 len, bad;

	if ((n = next_line(cp)) == -1) {
		if (cp->cp_pos < cp->cp_textlen)
			cfgread_error(cp, cp->cp_lineno + 1, "out of memory");
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
		cfgread_error(cp, cp->cp_lineno, "line contains a NUL byte");
		text = line_replace(cp, line, num);
	} else if (len > (size_t)num - 1 && cp->cp_kind != LINE_BLANK) {
		cfgread_error(cp, cp->cp_lineno, "line is %zu bytes long; the "
		    "limit is %d bytes: split the value onto indented "
		    "continuation lines (joined with one space), or put a long "
		    "variable in an env_file, which has no line limit", len,
		    num - 1);
		text = line_replace(cp, line, num);
	} else if ((bad = utf8_invalid(line, len)) < len &&
	    cp->cp_kind != LINE_BLANK) {
		cfgread_error(cp, cp->cp_lineno, "line is not valid UTF-8 "
		    "(byte 0x%02x at column %zu)", (unsigned char)line[bad],
		    bad + 1);
		text = line_replace(cp, line, num);
	} else if (cp->cp_kind == LINE_HEADER)
		header_line(cp, line);
	else if (cp->cp_kind == LINE_SYNTAX)
		syntax_line(cp, line);
	snprintf(buf, (size_t)num, "%s", text);
	return buf;
}

/*
 * Reads the text of one file, of len bytes, named file in messages
 * (is_main: the file the command line named), into the sections of cp.
 * Errors are collected; nothing is returned.
 */
void
cfgread_file(struct cfg_parse *cp, const char *file, int is_main,
    const char *text, size_t len)
{
	struct config	*cfg = cp->cp_cfg;
	size_t		 n = 0, before = cp->cp_nerrs;
	char		*name;
	int		 rv;

	while (cfg->cf_files != NULL && cfg->cf_files[n] != NULL)
		n++;
	if ((name = strdup(file)) == NULL ||
	    strv_push(&cfg->cf_files, &n, name) == -1) {
		free(name);
		cfgread_error_in(cp, file, cp->cp_nfiles++, 0,
		    "out of memory");
		return;
	}
	cp->cp_file = name;
	cp->cp_forder = cp->cp_nfiles++;
	cp->cp_main = is_main;
	cp->cp_text = text;
	cp->cp_textlen = len;
	cp->cp_pos = 0;
	cp->cp_lineno = 0;
	cp->cp_prevkey = 0;
	cp->cp_cur = NULL;
	cp->cp_pend.p_key = -1;
	rv = ini_parse_stream(cfg_reader, cp, cfg_handler, cp);
	if (rv != 0 && cp->cp_nerrs == before)
		cfgread_error(cp, rv > 0 ? rv : 0, "cannot parse");
}

void
cfgread_init(struct cfg_parse *cp, struct config *cfg)
{
	memset(cp, 0, sizeof(*cp));
	cp->cp_cfg = cfg;
	cp->cp_pend.p_key = -1;
	cp->cp_ignored.s_type = SECT_IGNORED;
}

void
cfgread_free(struct cfg_parse *cp)
{
	struct section	*s, *next;

	for (s = cp->cp_sects; s != NULL; s = next) {
		next = s->s_next;
		free(s->s_title);
		free(s->s_envlines);
		cfgkeys_ref_free(s->s_envfiles, s->s_nenvfiles);
		free(s);
	}
	cp->cp_sects = NULL;
	free(cp->cp_pend.p_value);
	cp->cp_pend.p_value = NULL;
	free(cp->cp_raw);
	cp->cp_raw = NULL;
	cfgkeys_ref_free(cp->cp_includes, cp->cp_nincludes);
	cp->cp_includes = NULL;
	cp->cp_nincludes = 0;
}
