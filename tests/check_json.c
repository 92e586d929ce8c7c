/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of the JSON view that the control socket and clusterctl
 * share: json_parse() validates a whole text, the accessors walk it.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "runner.h"

static struct json_val
parse_ok(const char *text)
{
	struct json_val	v;
	char		err[128] = "";

	ck_assert_msg(json_parse(text, strlen(text), &v, err,
	    sizeof(err)) == 0, "rejected %s: %s", text, err);
	return v;
}

static void
parse_bad(const char *text, const char *why)
{
	struct json_val	v;
	char		err[128] = "";

	ck_assert_msg(json_parse(text, strlen(text), &v, err,
	    sizeof(err)) == -1, "accepted %s", text);
	ck_assert_msg(strstr(err, why) != NULL, "%s: \"%s\" lacks \"%s\"",
	    text, err, why);
}

START_TEST(kinds_and_bounds)
{
	struct json_val	v;

	v = parse_ok("  {\"a\":1} \r\n");
	ck_assert_int_eq(v.jv_kind, JV_OBJECT);
	ck_assert_uint_eq(v.jv_len, 7);
	ck_assert_int_eq(parse_ok("[]").jv_kind, JV_ARRAY);
	ck_assert_int_eq(parse_ok("\"x\"").jv_kind, JV_STRING);
	ck_assert_int_eq(parse_ok("-1.5e3").jv_kind, JV_NUMBER);
	ck_assert_int_eq(parse_ok("true").jv_kind, JV_BOOL);
	ck_assert_int_eq(parse_ok("null").jv_kind, JV_NULL);
}
END_TEST

START_TEST(strict_grammar)
{
	parse_bad("", "unexpected end of input");
	parse_bad("{\"a\":1} x", "trailing characters");
	parse_bad("{\"a\":1,}", "expected a string as member name");
	parse_bad("{'a':1}", "expected a string as member name");
	parse_bad("[1,]", "expected a JSON value");
	parse_bad("01", "trailing characters");
	parse_bad("\"a\tb\"", "control character");
	parse_bad("\"\xc3\x28\"", "invalid UTF-8");
	parse_bad("\"\\ud800\"", "unpaired surrogate");
	parse_bad("{\"a\" 1}", "expected ':'");
}
END_TEST

START_TEST(members)
{
	struct json_val	o = parse_ok("{ \"cmd\" : \"scale\", \"n\": [1, {\"x\":"
			    "2}], \"program\":\"web\", \"cmd\": \"dup\" }");
	struct json_val	v;
	char		buf[16];

	ck_assert_int_eq(json_get(&o, "cmd", &v), 0);
	ck_assert_int_eq(json_string(&v, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "scale");		/* the first one counts */
	ck_assert_int_eq(json_get(&o, "program", &v), 0);
	ck_assert_int_eq(json_string(&v, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "web");
	ck_assert_int_eq(json_get(&o, "n", &v), 0);
	ck_assert_int_eq(v.jv_kind, JV_ARRAY);
	ck_assert_int_eq(json_get(&o, "x", &v), -1);	/* not top level */
	ck_assert_int_eq(json_get(&o, "nope", &v), -1);
	v = parse_ok("[1]");
	ck_assert_int_eq(json_get(&v, "cmd", &o), -1);	/* not an object */
	v = parse_ok("{}");
	ck_assert_int_eq(json_get(&v, "cmd", &o), -1);
}
END_TEST

START_TEST(elements)
{
	struct json_val	a = parse_ok("[ 1 , \"two\" ,{\"three\":[3]} , [] ]");
	struct json_val	it = { .jv_text = NULL };
	long long	n;
	int		count = 0;
	char		buf[8];

	ck_assert_int_eq(json_next(&a, &it), 1);
	ck_assert_int_eq(json_int(&it, 0, 10, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(json_next(&a, &it), 1);
	ck_assert_int_eq(json_string(&it, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "two");
	ck_assert_int_eq(json_next(&a, &it), 1);
	ck_assert_int_eq(it.jv_kind, JV_OBJECT);
	ck_assert_int_eq(json_next(&a, &it), 1);
	ck_assert_int_eq(it.jv_kind, JV_ARRAY);
	ck_assert_int_eq(json_next(&a, &it), 0);

	a = parse_ok("[]");
	it.jv_text = NULL;
	while (json_next(&a, &it))
		count++;
	ck_assert_int_eq(count, 0);
	a = parse_ok("{\"a\":1}");
	it.jv_text = NULL;
	ck_assert_int_eq(json_next(&a, &it), 0);	/* not an array */
}
END_TEST

START_TEST(strings_never_cut)
{
	struct json_val	v;
	char		buf[6], big[16];

	v = parse_ok("\"hello\"");
	ck_assert_int_eq(json_string(&v, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "hello");
	v = parse_ok("\"hello!\"");
	ck_assert_int_eq(json_string(&v, buf, sizeof(buf)), -1);
	v = parse_ok("\"h\\u00e9llo\"");		/* 6 bytes decoded */
	ck_assert_int_eq(json_string(&v, buf, sizeof(buf)), -1);
	v = parse_ok("\"\\u00e9\\n\\\"\"");
	ck_assert_int_eq(json_string(&v, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "\xc3\xa9\n\"");
	v = parse_ok("\"a\\u0000b\"");			/* no hidden NUL */
	ck_assert_int_eq(json_string(&v, buf, sizeof(buf)), -1);
	v = parse_ok("\"\\\\u0000\"");		/* an escaped backslash */
	ck_assert_int_eq(json_string(&v, big, sizeof(big)), 0);
	ck_assert_str_eq(big, "\\u0000");
	v = parse_ok("\"\\\\u00\"");
	ck_assert_int_eq(json_string(&v, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "\\u00");
	v = parse_ok("12");
	ck_assert_int_eq(json_string(&v, buf, sizeof(buf)), -1);
}
END_TEST

START_TEST(numbers)
{
	struct json_val	v;
	long long	n;
	double		d;
	int		b;

	v = parse_ok("4096");
	ck_assert_int_eq(json_int(&v, 1, 4096, &n), 0);
	ck_assert_int_eq(n, 4096);
	ck_assert_int_eq(json_int(&v, 1, 4095, &n), -1);
	v = parse_ok("-3");
	ck_assert_int_eq(json_int(&v, -5, 5, &n), 0);
	ck_assert_int_eq(n, -3);
	v = parse_ok("2.0");
	ck_assert_int_eq(json_int(&v, 0, 5, &n), -1);
	ck_assert_int_eq(json_double(&v, &d), 0);
	ck_assert_double_eq_tol(d, 2.0, 1e-9);
	v = parse_ok("1e2");
	ck_assert_int_eq(json_int(&v, 0, 500, &n), -1);
	v = parse_ok("99999999999999999999999");
	ck_assert_int_eq(json_int(&v, 0, 1LL << 62, &n), -1);
	v = parse_ok("\"4\"");
	ck_assert_int_eq(json_int(&v, 0, 5, &n), -1);
	ck_assert_int_eq(json_double(&v, &d), -1);
	v = parse_ok("false");
	ck_assert_int_eq(json_bool(&v, &b), 0);
	ck_assert_int_eq(b, 0);
	v = parse_ok("true");
	ck_assert_int_eq(json_bool(&v, &b), 0);
	ck_assert_int_eq(b, 1);
	v = parse_ok("null");
	ck_assert_int_eq(json_bool(&v, &b), -1);
}
END_TEST

/* What json_quote writes, json_parse reads back as it was. */
START_TEST(quote_round_trip)
{
	const char	*s = "a \"b\" \\ c\n\t\x01 \xc3\xa9";
	char		 q[128], back[64];
	struct json_val	 v;

	ck_assert_uint_lt(json_quote(s, q, sizeof(q)), sizeof(q));
	v = parse_ok(q);
	ck_assert_int_eq(json_string(&v, back, sizeof(back)), 0);
	ck_assert_str_eq(back, s);
	ck_assert_uint_eq(json_quote(s, NULL, 0), strlen(q));
}
END_TEST

/*
 * Bytes that are not UTF-8 (from the configuration, a path, a user's
 * name) come out as \ufffd, one per byte, so that a reply is always valid
 * JSON; valid sequences pass as they are.
 */
START_TEST(quote_invalid_utf8)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "a\xff" "b", "\"a\\ufffdb\"" },
		/* U+00E9, U+20AC, U+1F600: as they are */
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
		    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"" },
		/* overlong '/', twice; a surrogate; past U+10FFFF */
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
		{ "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
		/* cut short, at the end and before another character */
		{ "x\xe2\x82", "\"x\\ufffd\\ufffd\"" },
		{ "\xe2\x82z", "\"\\ufffd\\ufffdz\"" },
		/* a lone continuation byte; a 5-byte form */
		{ "\x80", "\"\\ufffd\"" },
		{ "\xf8\x88\x80\x80\x80",
		    "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	};
	char		 q[128], back[64];
	struct json_val	 v;
	size_t		 i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = json_quote(cases[i].in, q, sizeof(q));
		ck_assert_str_eq(q, cases[i].out);
		ck_assert_uint_eq(n, strlen(cases[i].out));
		ck_assert_uint_eq(json_quote(cases[i].in, NULL, 0), n);
		v = parse_ok(q);
		ck_assert_int_eq(json_string(&v, back, sizeof(back)), 0);
	}
	/* cut: never in the middle of a sequence, never past the buffer */
	n = json_quote("\xc3\xa9\xc3\xa9", q, 5);
	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(q, "\"\xc3\xa9");
	n = json_quote("\xc3\xa9\xc3\xa9", q, 3);
	ck_assert_str_eq(q, "\"");
	n = json_quote("\xff", q, 5);
	ck_assert_uint_eq(n, 8);
	ck_assert_str_eq(q, "\"");
	n = json_quote("ab\xff" "c", q, 6);
	ck_assert_str_eq(q, "\"ab");	/* nothing after what did not fit */
}
END_TEST

/*
 * A key with an embedded U+0000 is another key: "cmd\u0000x" is not
 * "cmd", and neither is "cmd\u0000"; nor is a key cut to fit a buffer.
 */
START_TEST(keys_with_nul)
{
	struct json_val	 o, v;
	struct json_msg	 m;
	char		 buf[16], err[128], key[200], text[300];
	const char	*t;

	o = parse_ok("{\"cmd\\u0000x\":\"evil\",\"cmd\":\"status\"}");
	ck_assert_int_eq(json_get(&o, "cmd", &v), 0);
	ck_assert_int_eq(json_string(&v, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "status");
	o = parse_ok("{\"cmd\\u0000\":\"evil\"}");
	ck_assert_int_eq(json_get(&o, "cmd", &v), -1);
	memset(key, 'a', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"%s\":1}", key);
	o = parse_ok(text);
	key[60] = '\0';
	ck_assert_int_eq(json_get(&o, key, &v), -1);

	t = "{\"cmd\\u0000x\":\"suicide\",\"status\\u0000\":\"s\","
	    "\"act\\u0000\":\"suicide\"}";
	ck_assert_int_eq(json_parse_msg(t, strlen(t), &m, err, sizeof(err)),
	    0);
	ck_assert_str_eq(m.jm_cmd, "");
	ck_assert_str_eq(m.jm_act, "");
	ck_assert_int_eq(m.jm_has_status, 0);
	t = "{\"cmd\":\"ready\",\"cmd\\u0000\":\"suicide\"}";
	ck_assert_int_eq(json_parse_msg(t, strlen(t), &m, err, sizeof(err)),
	    0);
	ck_assert_str_eq(m.jm_cmd, "ready");
}
END_TEST

/*
 * json_parse_msg reports an error where json_parse does, even when
 * whitespace follows it (found by tests/fuzz/fuzz_json).
 */
START_TEST(msg_error_offset)
{
	static const char *const bad[] = {
		"{\"cmd\n\"}", "\"ab\n\"", "[1,\n", "{\"a\":1 \n x"
	};
	struct json_msg	 m;
	struct json_val	 v;
	char		 err[128], err2[128];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(json_parse(bad[i], strlen(bad[i]), &v, err,
		    sizeof(err)), -1);
		ck_assert_int_eq(json_parse_msg(bad[i], strlen(bad[i]), &m,
		    err2, sizeof(err2)), -1);
		ck_assert_str_eq(err2, err);
	}
	json_parse_msg("\"ab\n\"", 5, &m, err, sizeof(err));
	ck_assert_str_eq(err, "control character in string at byte 3");
}
END_TEST

/*
 * A field cut to fit its buffer is a prefix of the text, cut at a code
 * point: nothing after the first one that did not fit (found by
 * tests/fuzz/fuzz_json).
 */
START_TEST(msg_cut_keeps_a_prefix)
{
	struct json_msg	 m;
	char		 text[128], want[64], err[128];

	memset(want, 'a', 61);
	want[61] = '\0';
	/* 61 bytes, then 4 that do not fit in 63, then 1 that would */
	snprintf(text, sizeof(text), "\"%s\xf0\x9f\x98\x80" "b\"", want);
	ck_assert_int_eq(json_parse_msg(text, strlen(text), &m, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(m.jm_string, want);
	snprintf(text, sizeof(text), "{\"cmd\":\"%s\\ud83d\\ude00b\"}", want);
	ck_assert_int_eq(json_parse_msg(text, strlen(text), &m, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(m.jm_cmd, want);
}
END_TEST

/*
 * A string value with U+0000 in it is no text json_parse_msg keeps (as
 * json_string refuses it): "ready\u0000x" is not "ready".  Of members
 * with the same name the last one counts, "status" included (found by
 * tests/fuzz/fuzz_ipc).
 */
START_TEST(msg_strings_whole)
{
	static const char *const texts[] = {
		"{\"cmd\":\"ready\\u0000x\"}",
		"{\"act\":\"suicide\\u0000\"}",
		"\"ready\\u0000\"",
		"{\"cmd\":\"status\",\"status\":\"a\",\"status\":5}",
		"{\"cmd\":\"status\",\"status\":\"a\\u0000b\"}",
	};
	struct json_msg	 m;
	char		 err[128];
	size_t		 i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		ck_assert_int_eq(json_parse_msg(texts[i], strlen(texts[i]), &m,
		    err, sizeof(err)), 0);
		ck_assert_msg(m.jm_act[0] == '\0' && m.jm_string[0] == '\0' &&
		    m.jm_status[0] == '\0' && !m.jm_has_status &&
		    (m.jm_cmd[0] == '\0' || strcmp(m.jm_cmd, "status") == 0),
		    "%s: kept cmd \"%s\" act \"%s\" string \"%s\" status "
		    "\"%s\" (%d)", texts[i], m.jm_cmd, m.jm_act, m.jm_string,
		    m.jm_status, m.jm_has_status);
	}
	json_parse_msg("{\"status\":5,\"status\":\"b\"}", 26, &m, err,
	    sizeof(err));
	ck_assert(m.jm_has_status);
	ck_assert_str_eq(m.jm_status, "b");
}
END_TEST

static Suite *
json_suite(void)
{
	Suite	*s = suite_create("json");
	TCase	*tc = tcase_create("view");

	tcase_add_test(tc, kinds_and_bounds);
	tcase_add_test(tc, strict_grammar);
	tcase_add_test(tc, members);
	tcase_add_test(tc, elements);
	tcase_add_test(tc, strings_never_cut);
	tcase_add_test(tc, numbers);
	tcase_add_test(tc, quote_round_trip);
	tcase_add_test(tc, quote_invalid_utf8);
	tcase_add_test(tc, keys_with_nul);
	tcase_add_test(tc, msg_error_offset);
	tcase_add_test(tc, msg_cut_keeps_a_prefix);
	tcase_add_test(tc, msg_strings_whole);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(json_suite());
}
