/*
 * SPDX-License-Identifier: ISC
 *
 * env_file: a file of variables in the syntax of systemd's
 * EnvironmentFile= (systemd.exec(5)), so that one file can serve a unit
 * and clusterd alike.  Pure: the caller reads the file and checks the
 * names; this only takes the text apart.
 *
 *   - Blank lines, and lines whose first non-blank character is '#' or
 *     ';', are comments; so is a line without '=' (systemd ignores those).
 *   - NAME=VALUE: blanks around NAME are dropped, and before VALUE.
 *   - An unquoted value keeps its inner blanks, loses its trailing ones;
 *     a backslash keeps the next character as it is, and a backslash at
 *     the end of a line joins the next line (whose leading blanks stay).
 *     Quotes after the first character of an unquoted value are kept.
 *   - 'single quotes': everything up to the next ' as it is, newlines too.
 *   - "double quotes": a backslash before " \ ` $ keeps that character,
 *     before a line end joins the lines, before anything else stays.
 *   - A quoted part may be followed by more text, with the blanks between
 *     dropped: A="x" y is "xy", as in systemd.
 *   - No line length limit, no variable expansion.
 *
 * Stricter than systemd, which would ignore the line or take what it got:
 * a NUL byte, a byte that is not UTF-8 and a quote that is never closed
 * are errors.  Lines end in "\n", "\r\n" or "\r".
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

enum ev_state {
	EV_PRE,			/* after '=' or a closing quote */
	EV_PLAIN,		/* an unquoted value */
	EV_ESCAPE,		/* after a backslash in an unquoted value */
	EV_SQUOTE,
	EV_DQUOTE,
	EV_DQUOTE_ESCAPE
};

struct ef {
	const char	*p, *end;
	int		 line;
	char		*val;
	size_t		 vlen, vcap;
	int		 nomem;
};

#define NO_TRAIL	((size_t)-1)

static int
ef_eol(int c)
{
	return c == '\n' || c == '\r';
}

static int
ef_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* Consumes one line end: "\r\n" is one. */
static void
ef_newline(struct ef *ef)
{
	if (*ef->p == '\r' && ef->p + 1 < ef->end && ef->p[1] == '\n')
		ef->p++;
	ef->p++;
	ef->line++;
}

static void
ef_put(struct ef *ef, char c)
{
	char	*grown;
	size_t	 cap;

	if (ef->vlen + 1 >= ef->vcap) {
		cap = ef->vcap == 0 ? 64 : ef->vcap * 2;
		if ((grown = realloc(ef->val, cap)) == NULL) {
			ef->nomem = 1;
			return;
		}
		ef->val = grown;
		ef->vcap = cap;
	}
	ef->val[ef->vlen++] = c;
}

/* A character inside quotes, kept: counts the lines it ends. */
static void
ef_put_quoted(struct ef *ef)
{
	char	c = *ef->p;

	if (c == '\n' || (c == '\r' && (ef->p + 1 == ef->end ||
	    ef->p[1] != '\n')))
		ef->line++;
	ef_put(ef, c);
}

/* One step of an unquoted value, or of what follows a quoted part. */
static void
ef_plain(struct ef *ef, enum ev_state *st, size_t *trail)
{
	char	c = *ef->p;

	if (c == '\\') {
		*st = EV_ESCAPE;
		*trail = NO_TRAIL;
	} else if (*st == EV_PRE && c == '\'')
		*st = EV_SQUOTE;
	else if (*st == EV_PRE && c == '"')
		*st = EV_DQUOTE;
	else if (*st == EV_PRE && ef_blank(c))
		;
	else {
		if (!ef_blank(c))
			*trail = NO_TRAIL;
		else if (*trail == NO_TRAIL)
			*trail = ef->vlen;
		ef_put(ef, c);
		*st = EV_PLAIN;
	}
	ef->p++;
}

/* After a backslash inside double quotes. */
static void
ef_dquote_escape(struct ef *ef)
{
	char	c = *ef->p;

	if (ef_eol(c)) {
		ef_newline(ef);
		return;
	}
	if (strchr("\"\\`$", c) == NULL)
		ef_put(ef, '\\');
	ef_put(ef, c);
	ef->p++;
}

/*
 * The value after '=', up to the line end that ends it (consumed).
 * Returns 0, or -1 for a quote that is never closed; *qline is then the
 * line it was opened on.
 */
static int
ef_value(struct ef *ef, int *qline)
{
	enum ev_state	 st = EV_PRE;
	size_t		 trail = NO_TRAIL;

	ef->vlen = 0;
	while (ef->p < ef->end) {
		switch (st) {
		case EV_PRE:
		case EV_PLAIN:
			if (ef_eol(*ef->p)) {
				ef_newline(ef);
				goto done;
			}
			if (st == EV_PRE && (*ef->p == '\'' || *ef->p == '"'))
				*qline = ef->line;
			ef_plain(ef, &st, &trail);
			break;
		case EV_ESCAPE:
			st = EV_PLAIN;
			if (ef_eol(*ef->p)) {
				ef_newline(ef);
				break;
			}
			ef_put(ef, *ef->p++);
			break;
		case EV_SQUOTE:
		case EV_DQUOTE:
			if (*ef->p == (st == EV_SQUOTE ? '\'' : '"'))
				st = EV_PRE;
			else if (st == EV_DQUOTE && *ef->p == '\\')
				st = EV_DQUOTE_ESCAPE;
			else
				ef_put_quoted(ef);
			ef->p++;
			break;
		case EV_DQUOTE_ESCAPE:
			st = EV_DQUOTE;
			ef_dquote_escape(ef);
			break;
		}
	}
	if (st == EV_SQUOTE || st == EV_DQUOTE || st == EV_DQUOTE_ESCAPE)
		return -1;
 done:
	if (st == EV_PLAIN && trail != NO_TRAIL)
		ef->vlen = trail;
	return 0;
}

static int
ef_add(struct envfile_var **vars, size_t *n, const char *name,
    size_t nlen, const struct ef *ef, int line)
{
	struct envfile_var	*v;
	char			*var;

	if (asprintf(&var, "%.*s=%.*s", (int)nlen, name, (int)ef->vlen,
	    ef->vlen > 0 ? ef->val : "") == -1)
		return -1;
	if ((v = reallocarray(*vars, *n + 1, sizeof(*v))) == NULL) {
		free(var);
		return -1;
	}
	v[*n].ev_var = var;
	v[*n].ev_line = line;
	*vars = v;
	(*n)++;
	return 0;
}

/* The line of offset off in buf. */
static int
ef_line_of(const char *buf, size_t off)
{
	size_t	i;
	int	line = 1;

	for (i = 0; i < off; i++)
		if (buf[i] == '\n' || (buf[i] == '\r' &&
		    (i + 1 == off || buf[i + 1] != '\n')))
			line++;
	return line;
}

/* NUL bytes and bytes that are not UTF-8: the whole file is refused. */
static int
ef_check_bytes(const char *buf, size_t len, int *linep, char *err,
    size_t errlen)
{
	const char	*nul = memchr(buf, '\0', len);
	size_t		 bad = utf8_invalid(buf, len);

	if (nul != NULL && (size_t)(nul - buf) <= bad) {
		*linep = ef_line_of(buf, (size_t)(nul - buf));
		snprintf(err, errlen, "line contains a NUL byte");
		return -1;
	}
	if (bad < len) {
		*linep = ef_line_of(buf, bad);
		snprintf(err, errlen, "not valid UTF-8 (byte 0x%02x); the file "
		    "must be UTF-8", (unsigned char)buf[bad]);
		return -1;
	}
	return 0;
}

/*
 * One line, or one assignment with the lines its value spans: skipped
 * when blank, a comment or without '='.  -1 on error, its line in *linep.
 */
static int
ef_entry(struct ef *ef, struct envfile_var **varsp, size_t *nvarsp,
    int *linep, char *err, size_t errlen)
{
	const char	*name, *nend;
	int		 line, qline = 0;

	if (ef_blank(*ef->p)) {
		ef->p++;
		return 0;
	}
	if (ef_eol(*ef->p)) {
		ef_newline(ef);
		return 0;
	}
	if (*ef->p == '#' || *ef->p == ';') {
		while (ef->p < ef->end && !ef_eol(*ef->p))
			ef->p++;
		return 0;
	}
	name = ef->p++;
	line = ef->line;
	while (ef->p < ef->end && *ef->p != '=' && !ef_eol(*ef->p))
		ef->p++;
	if (ef->p == ef->end || *ef->p != '=')
		return 0;		/* no '=': ignored */
	for (nend = ef->p++; nend > name && ef_blank(nend[-1]); nend--)
		;
	if (ef_value(ef, &qline) == -1) {
		*linep = qline;
		snprintf(err, errlen, "the quote opened here is never closed");
		return -1;
	}
	if (ef->nomem || ef_add(varsp, nvarsp, name, (size_t)(nend - name),
	    ef, line) == -1) {
		*linep = line;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Takes the text of an env file apart into NAME=VALUE strings, in file
 * order, each with the line its name is on; names are not checked (a
 * line like "export A=1" gives the name "export A").  Returns 0, or -1
 * with the message in err and its line in *linep (0: the file as a
 * whole); *varsp is then NULL.  envfile_free() releases the variables.
 */
int
envfile_parse(const char *buf, size_t len, struct envfile_var **varsp,
    size_t *nvarsp, int *linep, char *err, size_t errlen)
{
	struct ef	 ef;
	int		 rv = 0;

	*varsp = NULL;
	*nvarsp = 0;
	*linep = 0;
	if (ef_check_bytes(buf, len, linep, err, errlen) == -1)
		return -1;
	memset(&ef, 0, sizeof(ef));
	ef.p = buf;
	ef.end = buf + len;
	ef.line = 1;
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		ef.p += 3;
	while (rv == 0 && ef.p < ef.end)
		rv = ef_entry(&ef, varsp, nvarsp, linep, err, errlen);
	free(ef.val);
	if (rv == -1) {
		envfile_free(*varsp, *nvarsp);
		*varsp = NULL;
		*nvarsp = 0;
	}
	return rv;
}

void
envfile_free(struct envfile_var *vars, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(vars[i].ev_var);
	free(vars);
}
