/*
 * SPDX-License-Identifier: ISC
 *
 * Helpers shared by the fuzz targets (see fuzz.h).  The JSON readers here
 * only work on text that json_parse() has already accepted: they are
 * the simplest code that can find the end of a value or decode a string
 * in valid JSON, written apart from src/json.c so that a target can check
 * one against the other.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

void
fz_fail(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz property broken: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

/* The input up to its first NUL, as a C string of its own. */
char *
fz_cstr(const uint8_t *data, size_t size)
{
	const uint8_t	*nul = memchr(data, '\0', size);
	size_t		 len = nul != NULL ? (size_t)(nul - data) : size;
	char		*s;

	if ((s = malloc(len + 1)) == NULL)
		fz_fail("out of memory");
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

/* RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF. */
int
fz_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*end = p + len;
	unsigned		 cp, min;
	int			 n, i;

	while (p < end) {
		if (p[0] < 0x80) {
			p++;
			continue;
		}
		if (p[0] >= 0xc2 && p[0] <= 0xdf) {
			n = 1; cp = p[0] & 0x1f; min = 0x80;
		} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
			n = 2; cp = p[0] & 0x0f; min = 0x800;
		} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
			n = 3; cp = p[0] & 0x07; min = 0x10000;
		} else
			return 0;
		if (end - p <= n)
			return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return 0;
		p += n + 1;
	}
	return 1;
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return p;
}

/* p at the opening quote; the byte after the closing one. */
static const char *
skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	fz_fail("accepted string has no closing quote");
}

/* p at the first byte of a valid value; the byte after its last one. */
const char *
fz_json_skip(const char *p, const char *end)
{
	int	depth = 0;

	if (*p == '"')
		return skip_string(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && *p != '\0' && strchr(",]} \t\n\r", *p) == NULL)
			p++;
		return p;
	}
	do {
		if (*p == '"') {
			p = skip_string(p, end);
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
		p++;
	} while (depth > 0 && p < end);
	FZ_ASSERT(depth == 0, "accepted value is not closed");
	return p;
}

static unsigned
hex4(const char *p)
{
	unsigned	v = 0;
	int		i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= (unsigned)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= (unsigned)(p[i] - 'a' + 10);
		else
			v |= (unsigned)(p[i] - 'A' + 10);
	}
	return v;
}

static size_t
put_utf8(char *out, unsigned cp)
{
	unsigned char	*u = (unsigned char *)out;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (unsigned char)(0xf0 | cp >> 18);
	u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	u[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decode a valid string value (quotes included) into out, which has room
 * for len bytes: the decoded text is never longer than its JSON.  Returns
 * its length; it may contain NULs (\u0000).
 */
size_t
fz_json_decode(const char *text, size_t len, char *out)
{
	const char	*p = text + 1, *end = text + len - 1;
	size_t		 n = 0;
	unsigned	 cp;

	while (p < end) {
		if (*p != '\\') {
			out[n++] = *p++;
			continue;
		}
		switch (p[1]) {
		case 'b':	out[n++] = '\b'; p += 2; continue;
		case 'f':	out[n++] = '\f'; p += 2; continue;
		case 'n':	out[n++] = '\n'; p += 2; continue;
		case 'r':	out[n++] = '\r'; p += 2; continue;
		case 't':	out[n++] = '\t'; p += 2; continue;
		case 'u':	break;
		default:	out[n++] = p[1]; p += 2; continue;
		}
		cp = hex4(p + 2);
		p += 6;
		if (cp >= 0xd800 && cp < 0xdc00) {
			cp = 0x10000 + ((cp - 0xd800) << 10) +
			    (hex4(p + 2) - 0xdc00);
			p += 6;
		}
		n += put_utf8(out + n, cp);
	}
	return n;
}

/* The members of a valid object, in order, in a malloc'd array. */
size_t
fz_json_members(const char *text, size_t len, struct fz_member **out)
{
	const char		*p = text + 1, *end = text + len, *q;
	struct fz_member	*m;
	size_t			 n = 0;

	/* a member takes at least 5 bytes: "":0, */
	if ((m = calloc(len / 5 + 1, sizeof(*m))) == NULL)
		fz_fail("out of memory");
	p = skip_ws(p, end);
	while (p < end && *p == '"') {
		q = skip_string(p, end);
		m[n].fm_key = p;
		m[n].fm_keylen = (size_t)(q - p);
		p = skip_ws(skip_ws(q, end) + 1, end);	/* past ':' */
		q = fz_json_skip(p, end);
		m[n].fm_val = p;
		m[n].fm_vallen = (size_t)(q - p);
		n++;
		p = skip_ws(q, end);
		if (*p == ',')
			p = skip_ws(p + 1, end);
	}
	FZ_ASSERT(p == end - 1 && *p == '}', "object does not end in '}'");
	*out = m;
	return n;
}
