/*
 * SPDX-License-Identifier: ISC
 *
 * A growing string, for replies built piece by piece.  A failed
 * allocation is remembered (sb_oom) rather than reported at each call;
 * the owner checks once at the end.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

static int
strbuf_grow(struct strbuf *sb, size_t more)
{
	size_t	 cap;
	char	*data;

	if (sb->sb_len + more + 1 <= sb->sb_cap)
		return 0;
	cap = (sb->sb_len + more + 1) * 2;
	if ((data = realloc(sb->sb_data, cap)) == NULL) {
		sb->sb_oom = 1;
		return -1;
	}
	sb->sb_data = data;
	sb->sb_cap = cap;
	return 0;
}

void
strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n == -1) {
		sb->sb_oom = 1;
		return;
	}
	if (strbuf_grow(sb, (size_t)n) == 0) {
		memcpy(sb->sb_data + sb->sb_len, s, (size_t)n + 1);
		sb->sb_len += (size_t)n;
	}
	free(s);
}

/* s as a JSON string. */
void
strbuf_quote(struct strbuf *sb, const char *s)
{
	size_t	len = json_quote(s, NULL, 0);

	if (strbuf_grow(sb, len) == 0) {
		json_quote(s, sb->sb_data + sb->sb_len, len + 1);
		sb->sb_len += len;
	}
}

/* The first n bytes are done with (written out). */
void
strbuf_consume(struct strbuf *sb, size_t n)
{
	if (n >= sb->sb_len) {
		sb->sb_len = 0;
		return;
	}
	memmove(sb->sb_data, sb->sb_data + n, sb->sb_len - n);
	sb->sb_len -= n;
}

void
strbuf_reset(struct strbuf *sb)
{
	sb->sb_len = 0;
	sb->sb_oom = 0;
	if (sb->sb_data != NULL)
		sb->sb_data[0] = '\0';
}

void
strbuf_free(struct strbuf *sb)
{
	free(sb->sb_data);
	memset(sb, 0, sizeof(*sb));
}
