/*
 * SPDX-License-Identifier: ISC
 *
 * UTF-8 validation: configuration values end up in control replies,
 * which are JSON and so must be UTF-8.
 */

#include <stddef.h>

#include "daemon.h"

/*
 * The length of the UTF-8 sequence at s (of len bytes), or 0 when it is
 * not one: overlong forms, surrogates and code points past U+10FFFF are
 * not.
 */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char	lo = 0x80, hi = 0xBF;
	size_t		n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		if (s[0] == 0xE0)
			lo = 0xA0;		/* overlong */
		else if (s[0] == 0xED)
			hi = 0x9F;		/* surrogates */
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		if (s[0] == 0xF0)
			lo = 0x90;		/* overlong */
		else if (s[0] == 0xF4)
			hi = 0x8F;		/* past U+10FFFF */
	} else
		return 0;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

/* The offset of the first byte of s that is not valid UTF-8, or len. */
size_t
utf8_invalid(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(u + i, len - i)) == 0)
			return i;
		i += n;
	}
	return len;
}
