/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests for src/envfile.c (systemd's EnvironmentFile= syntax), with
 * src/utf8.c and src/strv.c, the small pure helpers beside it.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "runner.h"

/* Parses text that must be valid; returns "NAME=VALUE@LINE|..." */
static char *
parse_ok(const char *text, size_t len)
{
	struct envfile_var	*v;
	size_t			 n, i, size = 1;
	char			 err[ERRBUF_LEN], *out;
	int			 line;

	ck_assert_msg(envfile_parse(text, len, &v, &n, &line, err,
	    sizeof(err)) == 0, "line %d: %s", line, err);
	for (i = 0; i < n; i++)
		size += strlen(v[i].ev_var) + 16;
	ck_assert_ptr_nonnull(out = malloc(size));
	*out = '\0';
	for (i = 0; i < n; i++)
		sprintf(out + strlen(out), "%s%s@%d", i > 0 ? "|" : "",
		    v[i].ev_var, v[i].ev_line);
	envfile_free(v, n);
	return out;
}

static void
expect(const char *text, const char *want)
{
	char	*got = parse_ok(text, strlen(text));

	ck_assert_msg(strcmp(got, want) == 0, "text:\n%s\ngot:  %s\nwant: %s",
	    text, got, want);
	free(got);
}

static void
expect_error(const char *text, size_t len, int wantline, const char *want)
{
	struct envfile_var	*v = (void *)1;
	size_t			 n = 1;
	char			 err[ERRBUF_LEN];
	int			 line;

	ck_assert_int_eq(envfile_parse(text, len, &v, &n, &line, err,
	    sizeof(err)), -1);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(line, wantline);
	ck_assert_str_eq(err, want);
}

START_TEST(test_plain)
{
	expect("", "");
	expect("A=1", "A=1@1");
	expect("A=1\nB=2\n", "A=1@1|B=2@2");
	/* blanks around the name and before the value; trailing ones go */
	expect("  A =  x y  \t\n", "A=x y@1");
	expect("A=\n", "A=@1");
	expect("A=", "A=@1");
	/* comments, blank lines, a line without '=' */
	expect("# c\n; c\n\n   # c=1\nnot an assignment\nB=2\n", "B=2@6");
	/* '#' after a value is part of it, as in systemd */
	expect("A=x # y\n", "A=x # y@1");
	/* a later one is simply another entry; the caller merges */
	expect("A=1\nA=2\n", "A=1@1|A=2@2");
	/* names are not checked here */
	expect("export A=1\n1X=2\n", "export A=1@1|1X=2@2");
	/* CRLF and a lone CR end lines */
	expect("A=1\r\nB=2\rC=3\r\n", "A=1@1|B=2@2|C=3@3");
	/* a leading BOM is skipped */
	expect("\xEF\xBB\xBF" "A=1\n", "A=1@1");
	/* "=" inside the value, and UTF-8 */
	expect("URL=postgres://u:p@h/db?a=b\nX=caf\xC3\xA9\n",
	    "URL=postgres://u:p@h/db?a=b@1|X=caf\xC3\xA9@2");
}
END_TEST

START_TEST(test_quotes)
{
	expect("A='a  b'\n", "A=a  b@1");
	expect("A=\"a  b\"\n", "A=a  b@1");
	expect("A='\\n $x \"'\n", "A=\\n $x \"@1");
	/* double quotes: \" \\ \` \$ unescape, others keep the backslash */
	expect("A=\"\\\" \\\\ \\` \\$ \\n \\x\"\n", "A=\" \\ ` $ \\n \\x@1");
	/* quotes span lines; the next entry's line counts them */
	expect("A='x\ny'\nB=\"1\n2\n3\"\nC=c\n",
	    "A=x\ny@1|B=1\n2\n3@3|C=c@6");
	/* what follows a quoted part is appended, blanks between dropped */
	expect("A=\"x\" y\n", "A=xy@1");
	expect("A='x'\"y\"z \n", "A=xyz@1");
	/* quotes after the first character are kept */
	expect("A=a\"b c\"\n", "A=a\"b c\"@1");
	expect("A=it's\n", "A=it's@1");
	/* blanks outside quotes go, inside stay */
	expect("A=  ' x '  \n", "A= x @1");
}
END_TEST

START_TEST(test_backslashes)
{
	/* unquoted: a backslash keeps the next character */
	expect("A=a\\\\b\n", "A=a\\b@1");
	expect("A=\\$HOME\n", "A=$HOME@1");
	expect("A=x\\ \n", "A=x @1");
	expect("A=\\'q\\'\n", "A='q'@1");
	/* continuation: the next line's leading blanks stay */
	expect("A=one \\\n  two\nB=3\n", "A=one   two@1|B=3@3");
	expect("A=one\\\r\ntwo\n", "A=onetwo@1");
	expect("A=\\\nx\n", "A=x@1");
	/* in double quotes, a backslash-newline joins the lines */
	expect("A=\"one \\\ntwo\"\n", "A=one two@1");
	/* a comment line ending in a backslash does not continue */
	expect("# c \\\nA=1\n", "A=1@2");
	/* a backslash at the very end */
	expect("A=x\\", "A=x@1");
}
END_TEST

/* No line limit: a value of 1000 characters, and one of 100000. */
START_TEST(test_long)
{
	char	*text, *want, *got;
	size_t	 n;

	for (n = 1000; n <= 100000; n *= 100) {
		ck_assert_ptr_nonnull(text = malloc(n + 16));
		ck_assert_ptr_nonnull(want = malloc(n + 16));
		memcpy(text, "TOKEN=", 6);
		memset(text + 6, 'k', n);
		strcpy(text + 6 + n, "\n");
		memcpy(want, text, n + 6);
		strcpy(want + 6 + n, "@1");
		got = parse_ok(text, strlen(text));
		ck_assert_str_eq(got, want);
		free(got);
		free(text);
		free(want);
	}
}
END_TEST

START_TEST(test_errors)
{
	expect_error("A=1\nB='x\n\nC=2\n", 14, 2,
	    "the quote opened here is never closed");
	expect_error("A=\"x\\\"\n", 7, 1,
	    "the quote opened here is never closed");
	expect_error("A=1\nB=\0\n", 8, 2, "line contains a NUL byte");
	expect_error("A=1\r\nB=caf\xE9\n", 11, 2,
	    "not valid UTF-8 (byte 0xe9); the file must be UTF-8");
	/* even in a comment: the file is UTF-8 or it is not */
	expect_error("# \xFF\n", 4, 1,
	    "not valid UTF-8 (byte 0xff); the file must be UTF-8");
}
END_TEST

START_TEST(test_utf8)
{
	static const struct {
		const char	*s;
		size_t		 bad;
	} cases[] = {
		{ "plain", 5 },
		{ "caf\xC3\xA9", 5 },
		{ "\xE2\x82\xAC \xF0\x9F\x98\x80", 8 },
		{ "\xC0\xAF", 0 },		/* overlong '/' */
		{ "\xE0\x80\xAF", 0 },		/* overlong */
		{ "a\xED\xA0\x80", 1 },		/* a surrogate */
		{ "\xF4\x90\x80\x80", 0 },	/* past U+10FFFF */
		{ "ab\xC3", 2 },		/* cut short */
		{ "\xC3\x28", 0 },		/* a bad continuation */
		{ "\x80", 0 },
		{ "\xFF", 0 },
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(utf8_invalid(cases[i].s, strlen(cases[i].s)) ==
		    cases[i].bad, "case %zu", i);
}
END_TEST

START_TEST(test_strv)
{
	char	**v = NULL, buf[32];
	size_t	  n = 0, i;

	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "s%zu", i);
		ck_assert_int_eq(strv_push(&v, &n, strdup(buf)), 0);
		ck_assert_uint_eq(n, i + 1);
		ck_assert_ptr_null(v[n]);
	}
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "s%zu", i);
		ck_assert_str_eq(v[i], buf);
	}
	words_free(v);
}
END_TEST

static Suite *
envfile_suite(void)
{
	Suite	*s = suite_create("envfile");
	TCase	*tc = tcase_create("envfile");

	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_quotes);
	tcase_add_test(tc, test_backslashes);
	tcase_add_test(tc, test_long);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_strv);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(envfile_suite());
}
