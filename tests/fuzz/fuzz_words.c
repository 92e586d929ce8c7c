/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_words - parse_words(), the shell-like splitting of a command.
 *
 * The input is a command line (up to its first NUL).  Beyond "no crash",
 * it checks that a success gives a NULL-terminated argv of that many
 * words and a failure an error message and no argv; and that the words,
 * written back in each of three quoting styles of sh(1) (single quotes,
 * double quotes with backslashes, backslashes alone), split into the
 * same words again.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "fuzz.h"

enum style {
	STYLE_SINGLE,		/* 'it'\''s' */
	STYLE_DOUBLE,		/* "say \"hi\"" */
	STYLE_BACKSLASH		/* it\'s, a newline in '' */
};

/* Room for one word in the worst style: 4 bytes a byte, and quotes. */
static size_t
quoted_max(char **argv)
{
	size_t	n = 1;

	for (; *argv != NULL; argv++)
		n += 4 * strlen(*argv) + 3;
	return n;
}

static char *
quote_word(char *out, const char *w, enum style style)
{
	if (*w == '\0' || style == STYLE_SINGLE) {
		*out++ = '\'';
		for (; *w != '\0'; w++) {
			if (*w == '\'') {
				memcpy(out, "'\\''", 4);
				out += 4;
			} else
				*out++ = *w;
		}
		*out++ = '\'';
	} else if (style == STYLE_DOUBLE) {
		*out++ = '"';
		for (; *w != '\0'; w++) {
			if (strchr("\"\\$`", *w) != NULL)
				*out++ = '\\';
			*out++ = *w;
		}
		*out++ = '"';
	} else {
		for (; *w != '\0'; w++) {
			if (*w == '\n') {
				memcpy(out, "'\n'", 3);
				out += 3;
			} else {
				*out++ = '\\';
				*out++ = *w;
			}
		}
	}
	return out;
}

static void
round_trip(const char *s, char **argv, int n, enum style style)
{
	char	 *line, *p, **again, err[ERRBUF_LEN];
	int	  i, m;

	if ((line = malloc(quoted_max(argv))) == NULL)
		fz_fail("out of memory");
	p = line;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ' ';
		p = quote_word(p, argv[i], style);
	}
	*p = '\0';
	m = parse_words(line, &again, err, sizeof(err));
	FZ_ASSERT(m == n, "[%s] split into %d words, quoted (style %d) as "
	    "[%s] into %d: %s", s, n, style, line, m, m == -1 ? err : "");
	for (i = 0; i < n; i++)
		FZ_ASSERT(strcmp(argv[i], again[i]) == 0, "[%s] word %d is "
		    "[%s], quoted (style %d) as [%s] it is [%s]", s, i,
		    argv[i], style, line, again[i]);
	words_free(again);
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s, **argv, err[ERRBUF_LEN];
	int	 n, i;

	s = fz_cstr(data, size);
	err[0] = '\0';
	n = parse_words(s, &argv, err, sizeof(err));
	if (n == -1) {
		FZ_ASSERT(argv == NULL && err[0] != '\0', "a failure without "
		    "a message, or with an argv");
		free(s);
		return 0;
	}
	FZ_ASSERT(n > 0 && argv != NULL && argv[n] == NULL,
	    "%d words, badly terminated", n);
	for (i = 0; i < n; i++)
		FZ_ASSERT(argv[i] != NULL && strlen(argv[i]) <= strlen(s),
		    "word %d missing or too long", i);
	round_trip(s, argv, n, STYLE_SINGLE);
	round_trip(s, argv, n, STYLE_DOUBLE);
	round_trip(s, argv, n, STYLE_BACKSLASH);
	words_free(argv);
	free(s);
	return 0;
}
