/*
 * Unit tests of the IPC message reader: JSON, bare words, and what is
 * rejected.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "runner.h"

static enum ipc_kind
classify(const char *line, char *status)
{
	char	st[256], err[128];

	st[0] = '\0';
	err[0] = '\0';
	enum ipc_kind k = ipc_classify(line, strlen(line), st, sizeof(st), err,
	    sizeof(err));
	if (status != NULL)
		strcpy(status, st);
	return k;
}

START_TEST(every_form_of_suicide)
{
	ck_assert_int_eq(classify("{\"act\":\"suicide\"}", NULL), IPC_SUICIDE);
	ck_assert_int_eq(classify("{\"cmd\":\"suicide\"}", NULL), IPC_SUICIDE);
	ck_assert_int_eq(classify("\"suicide\"", NULL), IPC_SUICIDE);
	ck_assert_int_eq(classify("suicide", NULL), IPC_SUICIDE);
	ck_assert_int_eq(classify("  suicide \r", NULL), IPC_SUICIDE);
	ck_assert_int_eq(classify("{ \"x\": [1, {\"a\": null}], "
	    "\"act\" : \"suicide\" }", NULL), IPC_SUICIDE);
}
END_TEST

START_TEST(ready_heartbeat_status)
{
	char	st[256];

	ck_assert_int_eq(classify("ready", NULL), IPC_READY);
	ck_assert_int_eq(classify("\"ready\"", NULL), IPC_READY);
	ck_assert_int_eq(classify("{\"cmd\":\"ready\"}", NULL), IPC_READY);
	ck_assert_int_eq(classify("heartbeat", NULL), IPC_HEARTBEAT);
	ck_assert_int_eq(classify("{\"cmd\":\"heartbeat\"}", NULL),
	    IPC_HEARTBEAT);
	ck_assert_int_eq(classify("{\"cmd\":\"status\",\"status\":"
	    "\"serving \\\"42\\\" \\u00e9\\ud83d\\ude00\"}", st), IPC_STATUS);
	ck_assert_str_eq(st, "serving \"42\" \xc3\xa9\xf0\x9f\x98\x80");
	ck_assert_int_eq(classify("{\"cmd\":\"NODE_HANDLE_ACK\"}", NULL),
	    IPC_NODE_ACK);
}
END_TEST

START_TEST(ignored_messages)
{
	ck_assert_int_eq(classify("", NULL), IPC_IGNORED);
	ck_assert_int_eq(classify("hello", NULL), IPC_IGNORED);
	ck_assert_int_eq(classify("status", NULL), IPC_IGNORED);
	ck_assert_int_eq(classify("{\"cmd\":\"status\"}", NULL), IPC_IGNORED);
	ck_assert_int_eq(classify("{\"cmd\":\"status\",\"status\":5}", NULL),
	    IPC_IGNORED);
	ck_assert_int_eq(classify("{\"act\":\"ready\"}", NULL), IPC_IGNORED);
	ck_assert_int_eq(classify("{\"cmd\":7}", NULL), IPC_IGNORED);
	ck_assert_int_eq(classify("[\"suicide\"]", NULL), IPC_IGNORED);
	ck_assert_int_eq(classify("-12.5e+3", NULL), IPC_IGNORED);
	ck_assert_int_eq(classify("{}", NULL), IPC_IGNORED);
}
END_TEST

START_TEST(malformed_messages)
{
	static const char *bad[] = {
		"{", "{\"cmd\":\"ready\"", "{\"cmd\" \"ready\"}",
		"{\"cmd\":\"ready\",}", "{cmd:\"ready\"}", "\"ready",
		"\"a\\x\"", "\"\\ud800\"", "\"\\udc00x\"", "[01]", "1.", "1e+",
		"{\"cmd\":\"ready\"} x", "[nul]", "\"\x01\"", "\"\xff\"",
		"\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "[1,]", "{\"a\":tru}",
		"\x80\x81\x82", NULL
	};
	char	err[128];
	size_t	i;

	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		ck_assert_msg(ipc_classify(bad[i], strlen(bad[i]), NULL, 0, err,
		    sizeof(err)) == IPC_MALFORMED, "accepted: %s", bad[i]);
		ck_assert_msg(err[0] != '\0', "no reason for: %s", bad[i]);
	}
}
END_TEST

START_TEST(deep_nesting_is_bounded)
{
	char	line[2000], err[128];
	int	i;

	for (i = 0; i < 500; i++)
		line[i] = '[';
	for (; i < 1000; i++)
		line[i] = ']';
	line[i] = '\0';
	ck_assert_int_eq(ipc_classify(line, strlen(line), NULL, 0, err,
	    sizeof(err)), IPC_MALFORMED);
	ck_assert_ptr_nonnull(strstr(err, "nested too deeply"));
}
END_TEST

START_TEST(long_fields_are_cut_not_overrun)
{
	char	line[3000], st[256];
	size_t	n;

	n = (size_t)snprintf(line, sizeof(line),
	    "{\"cmd\":\"status\",\"status\":\"");
	memset(line + n, 'x', 1000);
	strcpy(line + n + 1000, "\"}");
	ck_assert_int_eq(classify(line, st), IPC_STATUS);
	ck_assert_uint_eq(strlen(st), 255);
}
END_TEST

START_TEST(quote_round_trips)
{
	char		 out[128];
	struct json_msg	 m;
	char		 err[64], line[200];

	ck_assert_uint_eq(json_quote("a\"b\\c\nd\x01", out, sizeof(out)),
	    strlen("\"a\\\"b\\\\c\\nd\\u0001\""));
	ck_assert_str_eq(out, "\"a\\\"b\\\\c\\nd\\u0001\"");
	snprintf(line, sizeof(line), "{\"cmd\":%s}", out);
	ck_assert_int_eq(json_parse_msg(line, strlen(line), &m, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(m.jm_cmd, "a\"b\\c\nd\x01");
	ck_assert_uint_eq(json_quote("server", out, 4), 8);
	ck_assert_str_eq(out, "\"se");
}
END_TEST

static Suite *
ipc_suite(void)
{
	Suite	*s = suite_create("ipc");
	TCase	*tc = tcase_create("classify");

	tcase_add_test(tc, every_form_of_suicide);
	tcase_add_test(tc, ready_heartbeat_status);
	tcase_add_test(tc, ignored_messages);
	tcase_add_test(tc, malformed_messages);
	tcase_add_test(tc, deep_nesting_is_bounded);
	tcase_add_test(tc, long_fields_are_cut_not_overrun);
	tcase_add_test(tc, quote_round_trips);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(ipc_suite());
}
