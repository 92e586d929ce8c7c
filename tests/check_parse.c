/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests for src/parse.c: every parser, good and bad input, and the
 * exact messages an operator sees.
 */

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "runner.h"

static char	err[ERRBUF_LEN];

/* parse_words */

static void
words_ok(const char *in, const char *const *want, int nwant)
{
	char	**argv;
	int	  i, n;

	n = parse_words(in, &argv, err, sizeof(err));
	ck_assert_msg(n == nwant, "%s: %d words, want %d (%s)", in, n, nwant,
	    n == -1 ? err : "");
	for (i = 0; i < n; i++)
		ck_assert_str_eq(argv[i], want[i]);
	ck_assert_ptr_null(argv[n]);
	words_free(argv);
}

static void
words_bad(const char *in, const char *msg)
{
	char	**argv = (char **)1;

	ck_assert_int_eq(parse_words(in, &argv, err, sizeof(err)), -1);
	ck_assert_ptr_null(argv);
	ck_assert_str_eq(err, msg);
}

START_TEST(test_words_plain)
{
	static const char *const w1[] = { "/usr/bin/node", "server.js" };
	static const char *const w2[] = { "a", "b", "c" };
	static const char *const w3[] = { "x" };

	words_ok("/usr/bin/node server.js", w1, 2);
	words_ok("  a\tb   c  ", w2, 3);
	words_ok("x", w3, 1);
}
END_TEST

START_TEST(test_words_quotes)
{
	static const char *const w1[] = { "echo", "a b", "c" };
	static const char *const w2[] = { "it's", "$HOME", "a\\b" };
	static const char *const w3[] = { "x", "", "y" };
	static const char *const w4[] = { "abc def" };
	static const char *const w5[] = { "say \"hi\"", "\\n", "$x`" };

	words_ok("echo 'a b' c", w1, 3);
	words_ok("\"it's\" '$HOME' 'a\\b'", w2, 3);
	words_ok("x '' y", w3, 3);
	words_ok("ab'c d'\"ef\"", w4, 1);
	words_ok("\"say \\\"hi\\\"\" \"\\n\" \"\\$x\\`\"", w5, 3);
}
END_TEST

START_TEST(test_words_backslash)
{
	static const char *const w1[] = { "a b", "c" };
	static const char *const w2[] = { "a", "b" };
	static const char *const w3[] = { "'x'", "\"" };
	static const char *const w4[] = { "ab" };

	words_ok("a\\ b c", w1, 2);
	words_ok("a \\\n b", w2, 2);
	words_ok("\\'x\\' \\\"", w3, 2);
	words_ok("\"a\\\nb\"", w4, 1);
}
END_TEST

START_TEST(test_words_no_expansion)
{
	static const char *const w1[] = { "$HOME", "*", "~", "a|b", ">x" };

	words_ok("$HOME * ~ a|b >x", w1, 5);
}
END_TEST

START_TEST(test_words_errors)
{
	words_bad("echo \"abc", "unterminated double quote");
	words_bad("echo 'abc", "unterminated single quote");
	words_bad("echo \"abc\\", "unterminated double quote");
	words_bad("echo abc\\", "command ends with a backslash");
	words_bad("", "empty command");
	words_bad("   \t ", "empty command");
	words_free(NULL);
}
END_TEST

/* parse_duration */

START_TEST(test_duration_good)
{
	static const struct {
		const char	*in;
		double		 want;
	} t[] = {
		{ "1.5s", 1.5 }, { "100ms", 0.1 }, { "2m", 120 },
		{ "1h", 3600 }, { "10", 10 }, { "0", 0 }, { "0s", 0 },
		{ "0.25", 0.25 }, { ".5s", 0.5 }, { "1.5m", 90 },
		{ "30s", 30 }, { "0ms", 0 }, { "1.", 1 },
	};
	size_t	i;
	double	d;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(parse_duration(t[i].in, &d, err,
		    sizeof(err)) == 0, "%s: %s", t[i].in, err);
		ck_assert_double_eq_tol(d, t[i].want, 1e-9);
	}
}
END_TEST

START_TEST(test_duration_bad)
{
	static const char *const bad[] = {
		"ten", "", "-1", "+1", " 1s", "1s ", "1 s", "nan", "inf",
		"0x10", "1e3", "1..2", ".", "s", "10S", "1d", "1.2.3s",
		"10sec", "ms",
	};
	size_t	i;
	double	d;
	char	want[ERRBUF_LEN];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse_duration(bad[i], &d, err,
		    sizeof(err)) == -1, "%s accepted", bad[i]);
		snprintf(want, sizeof(want), "expected a duration like 500ms, "
		    "10s, 1.5m or 1h, got \"%s\"", bad[i]);
		ck_assert_str_eq(err, want);
	}
	ck_assert_int_eq(parse_duration("99999999999999999999h", &d, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "duration too long: \"99999999999999999999h\"; "
	    "the limit is 1000000000s");
	ck_assert_int_eq(parse_duration("1000000001", &d, err, sizeof(err)),
	    -1);
	ck_assert_int_eq(parse_duration("1000000000", &d, err, sizeof(err)),
	    0);
}
END_TEST

/*
 * A duration too small for a double is about zero, not "too long"; one
 * too large for a double is too long (found by tests/fuzz/fuzz_parse).
 */
START_TEST(test_duration_extremes)
{
	char	tiny[512], huge[512];
	double	d = -1;

	snprintf(tiny, sizeof(tiny), "0.%0400dms", 1);
	ck_assert_msg(parse_duration(tiny, &d, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert(d >= 0 && d < 1e-300);
	snprintf(huge, sizeof(huge), "1%0400dh", 0);
	ck_assert_int_eq(parse_duration(huge, &d, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "duration too long"));
}
END_TEST

/* parse_size */

START_TEST(test_size)
{
	static const struct {
		const char	*in;
		uint64_t	 want;
	} t[] = {
		{ "0", 0 }, { "512", 512 }, { "1K", 1024 }, { "1k", 1024 },
		{ "512M", 512ULL << 20 }, { "2G", 2ULL << 30 },
		{ "2g", 2ULL << 30 }, { "1KB", 1024 }, { "3mb", 3ULL << 20 },
		{ "100B", 100 }, { "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = {
		"x", "", "-1", "1.5G", "1T", "1 G", "G", "1GBB", "0x10",
		" 1",
	};
	char		 want[ERRBUF_LEN];
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(parse_size(t[i].in, &v, err, sizeof(err)) == 0,
		    "%s: %s", t[i].in, err);
		ck_assert_uint_eq(v, t[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse_size(bad[i], &v, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "expected a size like 512M or "
		    "2G, got \"%s\"", bad[i]);
		ck_assert_str_eq(err, want);
	}
	ck_assert_int_eq(parse_size("18446744073709551616", &v, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "size too large: \"18446744073709551616\"");
	ck_assert_int_eq(parse_size("17179869184G", &v, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "size too large: \"17179869184G\"");
}
END_TEST

/* parse_number, parse_octal, parse_bool */

START_TEST(test_number)
{
	long long	v;

	ck_assert_int_eq(parse_number("1", 1, 65535, &v, err, sizeof(err)),
	    0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(parse_number("65535", 1, 65535, &v, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(v, 65535);
	ck_assert_int_eq(parse_number("007", 0, 10, &v, err, sizeof(err)),
	    0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(parse_number("-5", -10, 10, &v, err, sizeof(err)),
	    0);
	ck_assert_int_eq(v, -5);
	ck_assert_int_eq(parse_number("x", 1, 65535, &v, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "expected a number from 1 to 65535, got \"x\"");
	ck_assert_int_eq(parse_number("0", 1, 65535, &v, err, sizeof(err)),
	    -1);
	ck_assert_int_eq(parse_number("65536", 1, 65535, &v, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "expected a number from 1 to 65535, got \"65536\"");
	ck_assert_int_eq(parse_number("99999999999999999999", 1, 65535, &v,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(parse_number("", 1, 2, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_number("+1", 1, 2, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_number(" 1", 1, 2, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_number("1 ", 1, 2, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_number("0x1", 0, 2, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_number("1.0", 0, 2, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_number("-", -2, 2, &v, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_octal)
{
	unsigned	v;

	ck_assert_int_eq(parse_octal("0022", 0777, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 022);
	ck_assert_int_eq(parse_octal("660", 0777, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 0660);
	ck_assert_int_eq(parse_octal("0", 0777, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_octal("0777", 0777, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 0777);
	ck_assert_int_eq(parse_octal("0999", 0777, &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "expected an octal number from 0 to 0777, got \"0999\"");
	ck_assert_int_eq(parse_octal("1000", 0777, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_octal("", 0777, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_octal("-1", 0777, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_octal("0o22", 0777, &v, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_octal("77777777777777777777", 0777, &v, err,
	    sizeof(err)), -1);
}
END_TEST

START_TEST(test_bool)
{
	static const char *const yes[] = { "yes", "YES", "true", "On", "1" };
	static const char *const no[] = { "no", "No", "false", "OFF", "0" };
	size_t	i;
	int	b;

	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(parse_bool(yes[i], &b, err, sizeof(err)), 0);
		ck_assert_int_eq(b, 1);
		ck_assert_int_eq(parse_bool(no[i], &b, err, sizeof(err)), 0);
		ck_assert_int_eq(b, 0);
	}
	ck_assert_int_eq(parse_bool("maybe", &b, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "expected yes or no, got \"maybe\"");
	ck_assert_int_eq(parse_bool("", &b, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_bool("y", &b, err, sizeof(err)), -1);
}
END_TEST

/* parse_signal, signal_name */

START_TEST(test_signal)
{
	static const struct {
		const char	*in;
		int		 want;
	} t[] = {
		{ "TERM", SIGTERM }, { "SIGTERM", SIGTERM },
		{ "sigint", SIGINT }, { "HUP", SIGHUP }, { "quit", SIGQUIT },
		{ "USR1", SIGUSR1 }, { "SigUsr2", SIGUSR2 },
		{ "KILL", SIGKILL }, { "INT", SIGINT }, { "WINCH", SIGWINCH },
		{ "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "ALRM", SIGALRM },
		{ "PIPE", SIGPIPE }, { "CHLD", SIGCHLD }, { "TTIN", SIGTTIN },
		{ "TTOU", SIGTTOU }, { "ABRT", SIGABRT }, { "IOT", SIGABRT },
		{ "SEGV", SIGSEGV }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
	};
	size_t	i;
	int	sig;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(parse_signal(t[i].in, &sig, err,
		    sizeof(err)) == 0, "%s: %s", t[i].in, err);
		ck_assert_int_eq(sig, t[i].want);
	}
}
END_TEST

START_TEST(test_signal_bad)
{
	static const char *const nums[] = { "15", "9", "SIG15", "-9", "0" };
	size_t	i;
	int	sig;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		ck_assert_int_eq(parse_signal(nums[i], &sig, err,
		    sizeof(err)), -1);
		ck_assert_str_eq(err, "signal numbers are not accepted; use a "
		    "name like TERM");
	}
	ck_assert_int_eq(parse_signal("TERMINATE", &sig, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "unknown signal \"TERMINATE\"; expected a name "
	    "like TERM, INT, QUIT or HUP");
	ck_assert_int_eq(parse_signal("", &sig, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_signal("SIG", &sig, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_signal(" TERM", &sig, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_signal_name)
{
	ck_assert_str_eq(signal_name(SIGTERM), "SIGTERM");
	ck_assert_str_eq(signal_name(SIGKILL), "SIGKILL");
	ck_assert_str_eq(signal_name(SIGABRT), "SIGABRT");
	ck_assert_str_eq(signal_name(SIGCHLD), "SIGCHLD");
	ck_assert_str_eq(signal_name(SIGIO), "SIGIO");
	ck_assert_str_eq(signal_name(SIGRTMIN + 2), "SIGRTMIN+2");
	ck_assert_str_eq(signal_name(0), "signal 0");
	ck_assert_str_eq(signal_name(200), "signal 200");
}
END_TEST

/* parse_listen */

START_TEST(test_listen_tcp)
{
	struct listen_addr	la;

	ck_assert_int_eq(parse_listen("127.0.0.1:8080", &la, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(la.la_kind, ADDR_TCP);
	ck_assert_int_eq(la.la_any, 0);
	ck_assert_str_eq(la.la_host, "127.0.0.1");
	ck_assert_uint_eq(la.la_port, 8080);

	ck_assert_int_eq(parse_listen("localhost:1", &la, err, sizeof(err)),
	    0);
	ck_assert_str_eq(la.la_host, "localhost");
	ck_assert_uint_eq(la.la_port, 1);

	ck_assert_int_eq(parse_listen("[::1]:65535", &la, err, sizeof(err)),
	    0);
	ck_assert_int_eq(la.la_kind, ADDR_TCP);
	ck_assert_str_eq(la.la_host, "::1");
	ck_assert_uint_eq(la.la_port, 65535);
	ck_assert_int_eq(parse_listen("[fe80::1:2]:80", &la, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(la.la_host, "fe80::1:2");

	ck_assert_int_eq(parse_listen("*:80", &la, err, sizeof(err)), 0);
	ck_assert_int_eq(la.la_any, 1);
	ck_assert_str_eq(la.la_host, "");
	ck_assert_uint_eq(la.la_port, 80);
	ck_assert_int_eq(parse_listen(":443", &la, err, sizeof(err)), 0);
	ck_assert_int_eq(la.la_any, 1);
	ck_assert_uint_eq(la.la_port, 443);
}
END_TEST

START_TEST(test_listen_unix_systemd)
{
	struct listen_addr	la;
	char			long_path[200];

	ck_assert_int_eq(parse_listen("unix:/run/app.sock", &la, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(la.la_kind, ADDR_UNIX);
	ck_assert_str_eq(la.la_path, "/run/app.sock");
	ck_assert_int_eq(parse_listen("unix:rel/app.sock", &la, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(la.la_path, "rel/app.sock");
	ck_assert_int_eq(parse_listen("unix:", &la, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "unix socket path is empty");
	memset(long_path, 'a', sizeof(long_path));
	memcpy(long_path, "unix:/", 6);
	long_path[5 + 108] = '\0';
	ck_assert_int_eq(parse_listen(long_path, &la, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "unix socket path is too long: 108 bytes; the limit is 107");
	long_path[5 + 107] = '\0';
	ck_assert_int_eq(parse_listen(long_path, &la, err, sizeof(err)), 0);

	ck_assert_int_eq(parse_listen("systemd:web", &la, err, sizeof(err)),
	    0);
	ck_assert_int_eq(la.la_kind, ADDR_SYSTEMD);
	ck_assert_str_eq(la.la_path, "web");
	ck_assert_int_eq(parse_listen("systemd:my web.1", &la, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(parse_listen("systemd:", &la, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "systemd socket name is empty");
	ck_assert_int_eq(parse_listen("systemd:a:b", &la, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "systemd socket name \"a:b\" must be printable "
	    "ASCII without ':'");
	ck_assert_int_eq(parse_listen("systemd:a\tb", &la, err, sizeof(err)),
	    -1);
}
END_TEST

START_TEST(test_listen_bad)
{
	static const struct {
		const char	*in;
		const char	*msg;
	} t[] = {
		{ "127.0.0.1:99999", "port must be 1 to 65535, got \"99999\"" },
		{ "127.0.0.1:0", "port must be 1 to 65535, got \"0\"" },
		{ "127.0.0.1:", "port must be 1 to 65535, got \"\"" },
		{ "127.0.0.1:http", "port must be 1 to 65535, got \"http\"" },
		{ "*:-1", "port must be 1 to 65535, got \"-1\"" },
		{ "example.com:80", "HOST must be a numeric address or "
		    "localhost, got \"example.com\"" },
		{ "127.1:80", "HOST must be a numeric address or localhost, "
		    "got \"127.1\"" },
		{ "::1:80", "an IPv6 address needs brackets: \"[::1]:80\"" },
		{ "[::1]", "expected [V6ADDR]:PORT, got \"[::1]\"" },
		{ "[::1]80", "expected [V6ADDR]:PORT, got \"[::1]80\"" },
		{ "[foo]:80", "expected a numeric IPv6 address in brackets, "
		    "got \"[foo]:80\"" },
		{ "[127.0.0.1]:80", "expected a numeric IPv6 address in "
		    "brackets, got \"[127.0.0.1]:80\"" },
		{ "[::1]:0", "port must be 1 to 65535, got \"0\"" },
		{ "8080", "expected HOST:PORT; for all addresses write "
		    "\":8080\" or \"*:8080\"" },
		{ "", "expected HOST:PORT, [V6ADDR]:PORT, *:PORT, :PORT, "
		    "unix:PATH or systemd:NAME, got \"\"" },
		{ "tcp", "expected HOST:PORT, [V6ADDR]:PORT, *:PORT, :PORT, "
		    "unix:PATH or systemd:NAME, got \"tcp\"" },
	};
	struct listen_addr	la;
	size_t			i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(parse_listen(t[i].in, &la, err,
		    sizeof(err)) == -1, "%s accepted", t[i].in);
		ck_assert_str_eq(err, t[i].msg);
	}
}
END_TEST

/* valid_name, format_duration */

START_TEST(test_valid_name)
{
	char	name[NAME_MAXLEN + 1];

	ck_assert(valid_name("web"));
	ck_assert(valid_name("A-z_0.9"));
	ck_assert(!valid_name(""));
	ck_assert(!valid_name("a b"));
	ck_assert(!valid_name("a:b"));
	ck_assert(!valid_name("a/b"));
	ck_assert(!valid_name("é"));
	memset(name, 'a', sizeof(name));
	name[NAME_MAXLEN - 1] = '\0';
	ck_assert(valid_name(name));
	name[NAME_MAXLEN - 1] = 'a';
	name[NAME_MAXLEN] = '\0';
	ck_assert(!valid_name(name));
}
END_TEST

START_TEST(test_format_duration)
{
	static const struct {
		double		 in;
		const char	*want;
	} t[] = {
		{ 0, "0s" }, { -1, "0s" }, { 0.4, "400ms" }, { 0.001, "1ms" },
		{ 0.9994, "999ms" }, { 1, "1s" }, { 3.2, "3.2s" },
		{ 3.25, "3.3s" }, { 59.9, "59.9s" }, { 59.96, "1m" },
		{ 60, "1m" }, { 65, "1m05s" }, { 3599, "59m59s" },
		{ 3600, "1h" }, { 3660, "1h01m" }, { 7800, "2h10m" },
		{ 90061, "25h01m" },
	};
	char	buf[32];
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		format_duration(t[i].in, buf, sizeof(buf));
		ck_assert_msg(strcmp(buf, t[i].want) == 0, "%g: \"%s\", want "
		    "\"%s\"", t[i].in, buf, t[i].want);
	}
}
END_TEST

static Suite *
parse_suite(void)
{
	Suite	*s = suite_create("parse");
	TCase	*tc;

	tc = tcase_create("words");
	tcase_add_test(tc, test_words_plain);
	tcase_add_test(tc, test_words_quotes);
	tcase_add_test(tc, test_words_backslash);
	tcase_add_test(tc, test_words_no_expansion);
	tcase_add_test(tc, test_words_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_test(tc, test_duration_good);
	tcase_add_test(tc, test_duration_bad);
	tcase_add_test(tc, test_duration_extremes);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_number);
	tcase_add_test(tc, test_octal);
	tcase_add_test(tc, test_bool);
	suite_add_tcase(s, tc);

	tc = tcase_create("signals");
	tcase_add_test(tc, test_signal);
	tcase_add_test(tc, test_signal_bad);
	tcase_add_test(tc, test_signal_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_test(tc, test_listen_tcp);
	tcase_add_test(tc, test_listen_unix_systemd);
	tcase_add_test(tc, test_listen_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("misc");
	tcase_add_test(tc, test_valid_name);
	tcase_add_test(tc, test_format_duration);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(parse_suite());
}
