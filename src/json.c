/*
 * SPDX-License-Identifier: ISC
 *
 * A small, strict JSON reader for IPC messages, and the quoting needed to
 * write them.  Whole RFC 8259 grammar (objects, arrays, strings with every
 * escape, numbers, literals), valid UTF-8 only, bounded nesting; of the
 * value it keeps just what clusterd acts on: a top-level string, or the
 * top-level "cmd", "act" and "status" string members of an object.
 * For the control socket and clusterctl, json_parse() and its accessors
 * give a read-only view of a whole value (members, elements, scalars).
 *
 * Why not a library: Debian has several, but clusterd reads four fields
 * from lines it has already bounded to 64 KiB; 300 lines of its own,
 * tested with the rest, cost less than a dependency on every system.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#define JSON_MAX_DEPTH	64

struct jp {
	const unsigned char	*p, *end;
	int			 depth;
	const char		*err;
	size_t			 len;	/* bytes the last string decodes to,
					   whether or not they fit */
};

static int	jp_value(struct jp *, char *, size_t, int *);
static int	jp_object(struct jp *, struct json_msg *);
static int	jp_array(struct jp *);
static int	jp_string(struct jp *, char *, size_t);
static int	jp_number(struct jp *);
static int	jp_literal(struct jp *, const char *);
static int	jp_utf8(struct jp *, char *, size_t *, size_t);
static int	jp_hex4(struct jp *, unsigned *);
static size_t	jp_put(char *, size_t *, size_t, unsigned);
static int	jp_key_is(const struct jp *, const char *, const char *);
static void	jp_ws(struct jp *);
static size_t	utf8_decode(const unsigned char *, size_t, unsigned *);
static void	quote_put(char *, size_t, size_t *, size_t *, const char *,
		    size_t);
static enum json_kind jv_kind_of(unsigned char);
static int	jv_has_nul(const struct json_val *);

/*
 * Parse one JSON text.  Returns 0 and fills *m, or -1 with a reason in
 * err.  Fields that do not fit their buffers are cut, never overrun.
 */
int
json_parse_msg(const char *text, size_t len, struct json_msg *m, char *err,
    size_t errlen)
{
	struct jp	jp = { (const unsigned char *)text,
			    (const unsigned char *)text + len, 0, NULL, 0 };
	int		rc;
	struct json_val	sv;

	memset(m, 0, sizeof(*m));
	m->jm_type = JSON_OTHER;
	jp_ws(&jp);
	if (jp.p < jp.end && *jp.p == '{') {
		m->jm_type = JSON_OBJECT;
		rc = jp_object(&jp, m);
	} else if (jp.p < jp.end && *jp.p == '"') {
		m->jm_type = JSON_STRING;
		sv.jv_text = (const char *)jp.p;
		rc = jp_string(&jp, m->jm_string, sizeof(m->jm_string));
		sv.jv_len = (size_t)((const char *)jp.p - sv.jv_text);
		if (rc == 0 && jv_has_nul(&sv))
			m->jm_string[0] = '\0';	/* no text holds U+0000 */
	} else {
		rc = jp_value(&jp, NULL, 0, NULL);
	}
	if (rc == 0) {
		jp_ws(&jp);
		if (jp.p != jp.end) {
			jp.err = "trailing characters after the JSON value";
			rc = -1;
		}
	}
	if (rc == -1)
		snprintf(err, errlen, "%s at byte %zu",
		    jp.err ? jp.err : "invalid JSON",
		    (size_t)(jp.p - (const unsigned char *)text));
	return rc;
}

/*
 * Write s as a JSON string, quotes included, into out.  Returns the length
 * it needs (like snprintf); when that is >= outlen the output is cut
 * before the first character or escape that does not fit whole.
 * The result is always valid UTF-8: a byte that is not part of a valid
 * UTF-8 sequence (overlong, a surrogate, past U+10FFFF, cut short, a
 * stray continuation byte) is written as \ufffd, one per byte.
 */
size_t
json_quote(const char *s, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*c = (const unsigned char *)s;
	char			 esc[8];
	size_t			 n = 0, w = 0, k;
	unsigned		 cp;

	quote_put(out, outlen, &n, &w, "\"", 1);
	while (*c != '\0') {
		/* NUL ends s and is no continuation byte: never read past */
		if ((k = utf8_decode(c, 4, &cp)) > 1) {
			quote_put(out, outlen, &n, &w, (const char *)c, k);
			c += k;
			continue;
		}
		if (*c == '"' || *c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", *c);
		else if (*c == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (*c < 0x20)
			snprintf(esc, sizeof(esc), "\\u00%c%c",
			    hex[*c >> 4], hex[*c & 15]);
		else if (*c >= 0x80)
			snprintf(esc, sizeof(esc), "\\ufffd");
		else
			snprintf(esc, sizeof(esc), "%c", *c);
		quote_put(out, outlen, &n, &w, esc, strlen(esc));
		c++;
	}
	quote_put(out, outlen, &n, &w, "\"", 1);
	if (outlen > 0)
		out[w] = '\0';
	return n;
}

/*
 * Append len bytes, whole or not at all, and nothing more once something
 * did not fit (then *w, the bytes written, stays behind *n).
 */
static void
quote_put(char *out, size_t outlen, size_t *n, size_t *w, const char *s,
    size_t len)
{
	if (*w == *n && *n + len < outlen) {
		memcpy(out + *n, s, len);
		*w += len;
	}
	*n += len;
}

/*
 * The length of the valid UTF-8 sequence at p (at most avail bytes): 1 to
 * 4 with its code point in *cp, or 0.  No overlongs, no surrogates,
 * nothing past U+10FFFF.
 */
static size_t
utf8_decode(const unsigned char *p, size_t avail, unsigned *cp)
{
	unsigned	c = p[0], min;
	size_t		more, i;

	if (c < 0x80) {
		more = 0; *cp = c; min = 0;
	} else if ((c & 0xe0) == 0xc0) {
		more = 1; *cp = c & 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		more = 2; *cp = c & 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		more = 3; *cp = c & 0x07; min = 0x10000;
	} else
		return 0;
	for (i = 1; i <= more; i++) {
		if (i >= avail || (p[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (p[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return more + 1;
}

static void
jp_ws(struct jp *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
	    *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

/* Any value; a string's text goes to buf when buf is given. */
static int
jp_value(struct jp *jp, char *buf, size_t buflen, int *is_string)
{
	if (is_string != NULL)
		*is_string = 0;
	jp_ws(jp);
	if (jp->p >= jp->end) {
		jp->err = "unexpected end of input";
		return -1;
	}
	switch (*jp->p) {
	case '{':
		return jp_object(jp, NULL);
	case '[':
		return jp_array(jp);
	case '"':
		if (is_string != NULL)
			*is_string = 1;
		return jp_string(jp, buf, buflen);
	case 't':
		return jp_literal(jp, "true");
	case 'f':
		return jp_literal(jp, "false");
	case 'n':
		return jp_literal(jp, "null");
	default:
		return jp_number(jp);
	}
}

/* An object; with m, its top-level cmd, act and status are kept. */
static int
jp_object(struct jp *jp, struct json_msg *m)
{
	char		 key[16], *dst;
	size_t		 dstlen;
	int		 is_string;
	struct json_val	 sv;

	if (++jp->depth > JSON_MAX_DEPTH) {
		jp->err = "nested too deeply";
		return -1;
	}
	jp->p++;
	jp_ws(jp);
	if (jp->p < jp->end && *jp->p == '}') {
		jp->p++;
		jp->depth--;
		return 0;
	}
	for (;;) {
		jp_ws(jp);
		if (jp->p >= jp->end || *jp->p != '"') {
			jp->err = "expected a string as member name";
			return -1;
		}
		if (jp_string(jp, key, sizeof(key)) == -1)
			return -1;
		jp_ws(jp);
		if (jp->p >= jp->end || *jp->p != ':') {
			jp->err = "expected ':'";
			return -1;
		}
		jp->p++;
		dst = NULL;
		dstlen = 0;
		if (m != NULL && jp_key_is(jp, key, "cmd")) {
			dst = m->jm_cmd;
			dstlen = sizeof(m->jm_cmd);
		} else if (m != NULL && jp_key_is(jp, key, "act")) {
			dst = m->jm_act;
			dstlen = sizeof(m->jm_act);
		} else if (m != NULL && jp_key_is(jp, key, "status")) {
			dst = m->jm_status;
			dstlen = sizeof(m->jm_status);
		}
		jp_ws(jp);
		sv.jv_text = (const char *)jp->p;
		if (jp_value(jp, dst, dstlen, &is_string) == -1)
			return -1;
		sv.jv_len = (size_t)((const char *)jp->p - sv.jv_text);
		/* only whole strings count, and the last member named so */
		if (dst != NULL && (!is_string || jv_has_nul(&sv)))
			dst[0] = '\0';
		if (dst != NULL && dst == m->jm_status)
			m->jm_has_status = is_string && !jv_has_nul(&sv);
		jp_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == '}') {
			jp->p++;
			jp->depth--;
			return 0;
		}
		jp->err = "expected ',' or '}'";
		return -1;
	}
}

static int
jp_array(struct jp *jp)
{
	if (++jp->depth > JSON_MAX_DEPTH) {
		jp->err = "nested too deeply";
		return -1;
	}
	jp->p++;
	jp_ws(jp);
	if (jp->p < jp->end && *jp->p == ']') {
		jp->p++;
		jp->depth--;
		return 0;
	}
	for (;;) {
		if (jp_value(jp, NULL, 0, NULL) == -1)
			return -1;
		jp_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == ']') {
			jp->p++;
			jp->depth--;
			return 0;
		}
		jp->err = "expected ',' or ']'";
		return -1;
	}
}

/* A string; its decoded text goes to buf (cut to fit) when buf is given. */
static int
jp_string(struct jp *jp, char *buf, size_t buflen)
{
	size_t		n = 0;
	unsigned	cp, lo;

	jp->len = 0;
	jp->p++;
	for (;;) {
		if (jp->p >= jp->end) {
			jp->err = "unterminated string";
			return -1;
		}
		if (*jp->p == '"') {
			jp->p++;
			break;
		}
		if (*jp->p < 0x20) {
			jp->err = "control character in string";
			return -1;
		}
		if (*jp->p != '\\') {
			if (jp_utf8(jp, buf, &n, buflen) == -1)
				return -1;
			continue;
		}
		if (++jp->p >= jp->end) {
			jp->err = "unterminated string";
			return -1;
		}
		switch (*jp->p++) {
		case '"':	cp = '"'; break;
		case '\\':	cp = '\\'; break;
		case '/':	cp = '/'; break;
		case 'b':	cp = '\b'; break;
		case 'f':	cp = '\f'; break;
		case 'n':	cp = '\n'; break;
		case 'r':	cp = '\r'; break;
		case 't':	cp = '\t'; break;
		case 'u':
			if (jp_hex4(jp, &cp) == -1)
				return -1;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (jp->end - jp->p < 6 || jp->p[0] != '\\' ||
				    jp->p[1] != 'u') {
					jp->err = "unpaired surrogate";
					return -1;
				}
				jp->p += 2;
				if (jp_hex4(jp, &lo) == -1)
					return -1;
				if (lo < 0xdc00 || lo > 0xdfff) {
					jp->err = "unpaired surrogate";
					return -1;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				jp->err = "unpaired surrogate";
				return -1;
			}
			break;
		default:
			jp->p--;
			jp->err = "invalid escape";
			return -1;
		}
		jp->len += jp_put(buf, &n, buflen, cp);
	}
	if (buf != NULL && buflen > 0)
		buf[n < buflen ? n : buflen - 1] = '\0';
	return 0;
}

/* One UTF-8 sequence, validated (no overlongs, no surrogates). */
static int
jp_utf8(struct jp *jp, char *buf, size_t *n, size_t buflen)
{
	unsigned	cp;
	size_t		k;

	if ((k = utf8_decode(jp->p, (size_t)(jp->end - jp->p), &cp)) == 0) {
		jp->err = "invalid UTF-8";
		return -1;
	}
	jp->p += k;
	jp->len += jp_put(buf, n, buflen, cp);
	return 0;
}

static int
jp_hex4(struct jp *jp, unsigned *out)
{
	unsigned	v = 0;
	int		i;

	if (jp->end - jp->p < 4) {
		jp->err = "invalid \\u escape";
		return -1;
	}
	for (i = 0; i < 4; i++) {
		unsigned char	c = jp->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else {
			jp->err = "invalid \\u escape";
			return -1;
		}
	}
	jp->p += 4;
	*out = v;
	return 0;
}

/*
 * Append code point cp as UTF-8, whole or not at all; returns its length,
 * whether it was stored or not.  The first one that does not fit ends
 * the text there and fills the buffer, so that no shorter one after it
 * is taken: a cut text is always a prefix.
 */
static size_t
jp_put(char *buf, size_t *n, size_t buflen, unsigned cp)
{
	unsigned char	u[4];
	size_t		k, i;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp; k = 1;
	} else if (cp < 0x800) {
		u[0] = 0xc0 | (cp >> 6); u[1] = 0x80 | (cp & 0x3f); k = 2;
	} else if (cp < 0x10000) {
		u[0] = 0xe0 | (cp >> 12); u[1] = 0x80 | ((cp >> 6) & 0x3f);
		u[2] = 0x80 | (cp & 0x3f); k = 3;
	} else {
		u[0] = 0xf0 | (cp >> 18); u[1] = 0x80 | ((cp >> 12) & 0x3f);
		u[2] = 0x80 | ((cp >> 6) & 0x3f); u[3] = 0x80 | (cp & 0x3f);
		k = 4;
	}
	if (buf == NULL || buflen == 0)
		return k;
	if (*n + k >= buflen) {
		buf[*n] = '\0';
		*n = buflen - 1;
		return k;
	}
	for (i = 0; i < k; i++)
		buf[(*n)++] = (char)u[i];
	return k;
}

/*
 * Is the member name the last jp_string() decoded into name exactly key?
 * Not when it was cut to fit, nor when it holds a U+0000 (strcmp would
 * stop there and take "cmd\u0000x" for "cmd").
 */
static int
jp_key_is(const struct jp *jp, const char *name, const char *key)
{
	return jp->len == strlen(key) && strcmp(name, key) == 0;
}

static int
jp_number(struct jp *jp)
{
	const unsigned char	*start = jp->p;

	if (jp->p < jp->end && *jp->p == '-')
		jp->p++;
	if (jp->p < jp->end && *jp->p == '0')
		jp->p++;
	else if (jp->p < jp->end && *jp->p >= '1' && *jp->p <= '9')
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	else {
		jp->p = start;
		jp->err = "expected a JSON value";
		return -1;
	}
	if (jp->p < jp->end && *jp->p == '.') {
		jp->p++;
		if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9') {
			jp->err = "digit expected after '.'";
			return -1;
		}
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
		jp->p++;
		if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
			jp->p++;
		if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9') {
			jp->err = "digit expected in exponent";
			return -1;
		}
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	return 0;
}

static int
jp_literal(struct jp *jp, const char *word)
{
	size_t	len = strlen(word);

	if ((size_t)(jp->end - jp->p) < len ||
	    memcmp(jp->p, word, len) != 0) {
		jp->err = "expected a JSON value";
		return -1;
	}
	jp->p += len;
	return 0;
}

/*
 * A read-only view of parsed JSON, for the control socket and clusterctl:
 * json_parse() validates a whole text once (the same strict grammar as
 * above); the accessors then walk the values inside it without copying.
 */

/*
 * Parse one JSON text; 0 and its top-level value in *v, or -1 with the
 * reason (and the byte offset) in err.  v points into text, which must
 * outlive it.
 */
int
json_parse(const char *text, size_t len, struct json_val *v, char *err,
    size_t errlen)
{
	struct jp		 jp = { (const unsigned char *)text,
				    (const unsigned char *)text + len, 0, NULL,
				    0 };
	const unsigned char	*start;

	jp_ws(&jp);
	start = jp.p;
	if (jp_value(&jp, NULL, 0, NULL) == 0) {
		v->jv_kind = jv_kind_of(*start);
		v->jv_text = (const char *)start;
		v->jv_len = (size_t)(jp.p - start);
		jp_ws(&jp);
		if (jp.p == jp.end)
			return 0;
		jp.err = "trailing characters after the JSON value";
	}
	snprintf(err, errlen, "%s at byte %zu",
	    jp.err ? jp.err : "invalid JSON",
	    (size_t)(jp.p - (const unsigned char *)text));
	return -1;
}

/*
 * The member key of an object: 0 and its value, or -1 if it has none (the
 * first one counts).  A name matches only whole: not cut to fit name[],
 * not up to a U+0000 in it.
 */
int
json_get(const struct json_val *obj, const char *key, struct json_val *out)
{
	struct jp		 jp;
	const unsigned char	*start;
	char			 name[128];
	int			 match;

	if (obj->jv_kind != JV_OBJECT || strlen(key) >= sizeof(name) / 2)
		return -1;
	jp.p = (const unsigned char *)obj->jv_text + 1;
	jp.end = (const unsigned char *)obj->jv_text + obj->jv_len;
	jp.depth = 0;
	jp.err = NULL;
	for (;;) {
		jp_ws(&jp);
		if (jp.p >= jp.end || *jp.p != '"' ||
		    jp_string(&jp, name, sizeof(name)) == -1)
			return -1;
		match = jp_key_is(&jp, name, key);	/* before the value */
		jp_ws(&jp);
		jp.p++;			/* ':' */
		jp_ws(&jp);
		start = jp.p;
		if (jp_value(&jp, NULL, 0, NULL) == -1)
			return -1;
		if (match) {
			out->jv_kind = jv_kind_of(*start);
			out->jv_text = (const char *)start;
			out->jv_len = (size_t)(jp.p - start);
			return 0;
		}
		jp_ws(&jp);
		if (jp.p >= jp.end || *jp.p != ',')
			return -1;
		jp.p++;
	}
}

/*
 * Walk an array: it->jv_text NULL before the first call.  1 with the next
 * element in *it, 0 after the last one (or if arr is not an array).
 */
int
json_next(const struct json_val *arr, struct json_val *it)
{
	struct jp		 jp;
	const unsigned char	*start;

	if (arr->jv_kind != JV_ARRAY)
		return 0;
	jp.end = (const unsigned char *)arr->jv_text + arr->jv_len;
	jp.depth = 0;
	jp.err = NULL;
	if (it->jv_text == NULL)
		jp.p = (const unsigned char *)arr->jv_text + 1;
	else {
		jp.p = (const unsigned char *)it->jv_text + it->jv_len;
		jp_ws(&jp);
		if (jp.p >= jp.end || *jp.p != ',')
			return 0;
		jp.p++;
	}
	jp_ws(&jp);
	if (jp.p >= jp.end || *jp.p == ']')
		return 0;
	start = jp.p;
	if (jp_value(&jp, NULL, 0, NULL) == -1)
		return 0;
	it->jv_kind = jv_kind_of(*start);
	it->jv_text = (const char *)start;
	it->jv_len = (size_t)(jp.p - start);
	return 1;
}

/*
 * A string's decoded text.  -1 if v is not a string, contains U+0000, or
 * does not fit in len bytes with its NUL: nothing is ever cut.
 */
int
json_string(const struct json_val *v, char *buf, size_t len)
{
	struct jp	 jp;
	char		*tmp;
	int		 rc;

	if (v->jv_kind != JV_STRING || len == 0 || jv_has_nul(v))
		return -1;
	if ((tmp = malloc(len + 4)) == NULL)
		return -1;
	jp.p = (const unsigned char *)v->jv_text;
	jp.end = jp.p + v->jv_len;
	jp.depth = 0;
	jp.err = NULL;
	/* whole code points only: one that would not fit stops it short */
	rc = jp_string(&jp, tmp, len + 4);
	if (rc == 0 && strlen(tmp) < len)
		memcpy(buf, tmp, strlen(tmp) + 1);
	else
		rc = -1;
	free(tmp);
	return rc;
}

/* An integer (no fraction, no exponent) from min to max, or -1. */
int
json_int(const struct json_val *v, long long min, long long max,
    long long *out)
{
	char		 num[32], *end;
	long long	 n;

	if (v->jv_kind != JV_NUMBER || v->jv_len >= sizeof(num) ||
	    memchr(v->jv_text, '.', v->jv_len) != NULL ||
	    memchr(v->jv_text, 'e', v->jv_len) != NULL ||
	    memchr(v->jv_text, 'E', v->jv_len) != NULL)
		return -1;
	memcpy(num, v->jv_text, v->jv_len);
	num[v->jv_len] = '\0';
	errno = 0;
	n = strtoll(num, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* Any number, as a double; -1 if v is not one. */
int
json_double(const struct json_val *v, double *out)
{
	char	num[64], *end;

	if (v->jv_kind != JV_NUMBER || v->jv_len >= sizeof(num))
		return -1;
	memcpy(num, v->jv_text, v->jv_len);
	num[v->jv_len] = '\0';
	*out = strtod(num, &end);
	return *end == '\0' ? 0 : -1;
}

/* true or false; -1 if v is neither. */
int
json_bool(const struct json_val *v, int *out)
{
	if (v->jv_kind != JV_BOOL)
		return -1;
	*out = v->jv_text[0] == 't';
	return 0;
}

static enum json_kind
jv_kind_of(unsigned char c)
{
	switch (c) {
	case '{':
		return JV_OBJECT;
	case '[':
		return JV_ARRAY;
	case '"':
		return JV_STRING;
	case 't':
	case 'f':
		return JV_BOOL;
	case 'n':
		return JV_NULL;
	default:
		return JV_NUMBER;
	}
}

/* Does the (valid) string contain \u0000, the one way to write a NUL? */
static int
jv_has_nul(const struct json_val *v)
{
	const char	*p = v->jv_text + 1, *end = v->jv_text + v->jv_len - 1;

	for (; p < end; p++) {
		if (*p != '\\')
			continue;
		if (p[1] == 'u' && end - p >= 6 && memcmp(p + 2, "0000", 4) == 0)
			return 1;
		p++;		/* the escaped character */
	}
	return 0;
}
