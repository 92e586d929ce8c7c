/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests for src/config.c: a full file field by field, defaults,
 * continuation lines, paths, and a table of bad files with the exact
 * first error each must produce.  Each test runs in a fresh temporary
 * directory holding app.ini, so messages start with "app.ini:".
 */

#include <sys/stat.h>

#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "runner.h"

#define CONF	"app.ini"

static char	 tmpdir[PATH_MAX];
static char	 olddir[PATH_MAX];

static void
setup(void)
{
	ck_assert_ptr_nonnull(getcwd(olddir, sizeof(olddir)));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(chdir(tmpdir), 0);
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
teardown(void)
{
	ck_assert_int_eq(chdir(olddir), 0);
	nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
}

static void
write_conf(const char *text)
{
	write_file(CONF, text);
}

/* Loads text that must be valid. */
static struct config *
load_ok(const char *text)
{
	struct config	*cfg;
	char		*errtext;

	write_conf(text);
	cfg = config_load(CONF, &errtext);
	ck_assert_msg(cfg != NULL, "unexpected errors:\n%s", errtext);
	ck_assert_ptr_null(errtext);
	return cfg;
}

/* Loads text that must fail; returns the error text. */
static char *
load_bad(const char *text)
{
	struct config	*cfg;
	char		*errtext;

	write_conf(text);
	cfg = config_load(CONF, &errtext);
	ck_assert_msg(cfg == NULL, "accepted:\n%s", text);
	ck_assert_ptr_nonnull(errtext);
	return errtext;
}

/* The first error line of text must be want (without its newline). */
static void
first_error(const char *text, const char *want)
{
	char	*errtext = load_bad(text);
	char	*nl = strchr(errtext, '\n');

	ck_assert_msg(nl != NULL, "no newline in \"%s\"", errtext);
	*nl = '\0';
	ck_assert_msg(strcmp(errtext, want) == 0,
	    "file:\n%s\ngot:  %s\nwant: %s", text, errtext, want);
	free(errtext);
}

#define PROG	"[program:web]\ncommand = /bin/true\n"
#define LONG10	"0123456789"
#define LONG100	LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 \
		LONG10 LONG10

static const char full_conf[] =
	"; a full configuration\n"
	"# every key\n"
	"[clusterd]\n"
	"pidfile = run/clusterd.pid\n"
	"log_level = debug\n"
	"\n"
	"[socket:web]\n"
	"listen = 127.0.0.1:8080\n"
	"backlog = 1024\n"
	"\n"
	"[socket:admin]\n"
	"listen = unix:/run/app/admin.sock\n"
	"mode = 0600\n"
	"owner = daemon:nogroup\n"
	"\n"
	"[program:app]\n"
	"command = /usr/bin/node \"my server.js\" --port=8080\n"
	"workers = 4\n"
	"sockets = web, admin\n"
	"restart = on-failure\n"
	"min_uptime = 2.5s\n"
	"restart_delay = 250ms\n"
	"restart_delay_max = 1m\n"
	"stop_signal = SIGINT\n"
	"stop_timeout = 0\n"
	"env = NODE_ENV=production\n"
	"env = GREETING=hello world\n"
	"directory = /srv/app\n"
	"user = daemon\n"
	"group = nogroup\n"
	"umask = 0027\n"
	"limit_nofile = 65536\n"
	"stdout = /var/log/app.out\n"
	"stderr = stdout\n";

START_TEST(test_full)
{
	struct config		*cfg = load_ok(full_conf);
	struct sock_conf	*sc;
	struct prog_conf	*pc;
	char			 dir[PATH_MAX], path[PATH_MAX + 32];

	ck_assert_ptr_nonnull(realpath(".", dir));
	ck_assert_str_eq(cfg->cf_path, CONF);
	ck_assert_str_eq(cfg->cf_dir, dir);
	snprintf(path, sizeof(path), "%s/run/clusterd.pid", dir);
	ck_assert_str_eq(cfg->cf_pidfile, path);
	ck_assert_int_eq(cfg->cf_log_level, LOG_LVL_DEBUG);

	sc = cfg->cf_socks;
	ck_assert_str_eq(sc->sc_name, "web");
	ck_assert_int_eq(sc->sc_line, 7);
	ck_assert_str_eq(sc->sc_listen, "127.0.0.1:8080");
	ck_assert_int_eq(sc->sc_addr.la_kind, ADDR_TCP);
	ck_assert_str_eq(sc->sc_addr.la_host, "127.0.0.1");
	ck_assert_uint_eq(sc->sc_addr.la_port, 8080);
	ck_assert_int_eq(sc->sc_backlog, 1024);
	ck_assert_uint_eq(sc->sc_mode, 0660);
	ck_assert_int_eq(sc->sc_has_owner, 0);
	ck_assert_ptr_eq(config_find_socket(cfg, "web"), sc);

	sc = sc->sc_next;
	ck_assert_str_eq(sc->sc_name, "admin");
	ck_assert_int_eq(sc->sc_line, 11);
	ck_assert_int_eq(sc->sc_addr.la_kind, ADDR_UNIX);
	ck_assert_str_eq(sc->sc_addr.la_path, "/run/app/admin.sock");
	ck_assert_int_eq(sc->sc_backlog, 511);
	ck_assert_uint_eq(sc->sc_mode, 0600);
	ck_assert_int_eq(sc->sc_has_owner, 1);
	ck_assert_uint_eq(sc->sc_uid, 1);
	ck_assert_uint_eq(sc->sc_gid, 65534);
	ck_assert_ptr_null(sc->sc_next);
	ck_assert_ptr_eq(config_find_socket(cfg, "admin"), sc);
	ck_assert_ptr_null(config_find_socket(cfg, "nope"));

	pc = cfg->cf_progs;
	ck_assert_str_eq(pc->pc_name, "app");
	ck_assert_int_eq(pc->pc_line, 16);
	ck_assert_str_eq(pc->pc_argv[0], "/usr/bin/node");
	ck_assert_str_eq(pc->pc_argv[1], "my server.js");
	ck_assert_str_eq(pc->pc_argv[2], "--port=8080");
	ck_assert_ptr_null(pc->pc_argv[3]);
	ck_assert_int_eq(pc->pc_workers, 4);
	ck_assert_uint_eq(pc->pc_nsockets, 2);
	ck_assert_str_eq(pc->pc_sockets[0], "web");
	ck_assert_str_eq(pc->pc_sockets[1], "admin");
	ck_assert_ptr_null(pc->pc_sockets[2]);
	ck_assert_int_eq(pc->pc_restart, RESTART_ON_FAILURE);
	ck_assert_double_eq(pc->pc_min_uptime, 2.5);
	ck_assert_double_eq_tol(pc->pc_restart_delay, 0.25, 1e-9);
	ck_assert_double_eq(pc->pc_restart_delay_max, 60);
	ck_assert_int_eq(pc->pc_stop_signal, SIGINT);
	ck_assert_double_eq(pc->pc_stop_timeout, 0);
	ck_assert_uint_eq(pc->pc_nenv, 2);
	ck_assert_str_eq(pc->pc_env[0], "NODE_ENV=production");
	ck_assert_str_eq(pc->pc_env[1], "GREETING=hello world");
	ck_assert_ptr_null(pc->pc_env[2]);
	ck_assert_str_eq(pc->pc_directory, "/srv/app");
	ck_assert_str_eq(pc->pc_user, "daemon");
	ck_assert_uint_eq(pc->pc_uid, 1);
	ck_assert_str_eq(pc->pc_home, "/usr/sbin");
	ck_assert_int_eq(pc->pc_has_group, 1);
	ck_assert_uint_eq(pc->pc_gid, 65534);
	ck_assert_int_eq(pc->pc_has_umask, 1);
	ck_assert_uint_eq(pc->pc_umask, 027);
	ck_assert_int_eq(pc->pc_has_nofile, 1);
	ck_assert_uint_eq(pc->pc_nofile, 65536);
	ck_assert_int_eq(pc->pc_stdout.o_mode, OUTPUT_FILE);
	ck_assert_str_eq(pc->pc_stdout.o_path, "/var/log/app.out");
	ck_assert_int_eq(pc->pc_stderr.o_mode, OUTPUT_STDOUT);
	ck_assert_ptr_null(pc->pc_stderr.o_path);
	ck_assert_ptr_null(pc->pc_next);
	config_free(cfg);
}
END_TEST

START_TEST(test_defaults)
{
	struct config		*cfg = load_ok(
	    "[socket:s]\nlisten = :80\n" PROG);
	struct sock_conf	*sc = cfg->cf_socks;
	struct prog_conf	*pc = cfg->cf_progs;

	ck_assert_ptr_null(cfg->cf_pidfile);
	ck_assert_ptr_null(cfg->cf_control);
	ck_assert_int_eq(cfg->cf_log_level, LOG_LVL_DEFAULT);
	ck_assert_int_eq(sc->sc_addr.la_any, 1);
	ck_assert_uint_eq(sc->sc_addr.la_port, 80);
	ck_assert_int_eq(sc->sc_backlog, 511);
	ck_assert_uint_eq(sc->sc_mode, 0660);
	ck_assert_int_eq(sc->sc_has_owner, 0);

	ck_assert_str_eq(pc->pc_argv[0], "/bin/true");
	ck_assert_int_eq(pc->pc_workers, 1);
	ck_assert_uint_eq(pc->pc_nsockets, 0);
	ck_assert_ptr_null(pc->pc_sockets);
	ck_assert_int_eq(pc->pc_restart, RESTART_ALWAYS);
	ck_assert_double_eq(pc->pc_min_uptime, 1);
	ck_assert_double_eq_tol(pc->pc_restart_delay, 0.1, 1e-9);
	ck_assert_double_eq(pc->pc_restart_delay_max, 30);
	ck_assert_int_eq(pc->pc_stop_signal, SIGTERM);
	ck_assert_double_eq(pc->pc_stop_timeout, 10);
	ck_assert_uint_eq(pc->pc_nenv, 0);
	ck_assert_ptr_null(pc->pc_env);
	ck_assert_ptr_null(pc->pc_directory);
	ck_assert_ptr_null(pc->pc_user);
	ck_assert_ptr_null(pc->pc_home);
	ck_assert_int_eq(pc->pc_has_group, 0);
	ck_assert_int_eq(pc->pc_has_umask, 0);
	ck_assert_int_eq(pc->pc_has_nofile, 0);
	ck_assert_int_eq(pc->pc_stdout.o_mode, OUTPUT_AUTO);
	ck_assert_int_eq(pc->pc_stderr.o_mode, OUTPUT_AUTO);
	config_free(cfg);
}
END_TEST

START_TEST(test_continuation)
{
	struct config	*cfg = load_ok(
	    "[program:web]\n"
	    "command = /usr/bin/node\n"
	    "    server.js ; a comment\n"
	    "\t--port 80\n"
	    "; a comment between does not end the value\n"
	    "    'a b'\n"
	    "  [program:not-a-header]\n"
	    "env = A=1\n"
	    "env = B=x\n"
	    "  y\n"
	    "env = C=\n"
	    "workers =\n"
	    "  auto\n");
	struct prog_conf *pc = cfg->cf_progs;
	static const char *const argv[] = {
		"/usr/bin/node", "server.js", "--port", "80", "a b",
		"[program:not-a-header]"
	};
	size_t	i;

	ck_assert_ptr_null(pc->pc_next);
	for (i = 0; i < 6; i++)
		ck_assert_str_eq(pc->pc_argv[i], argv[i]);
	ck_assert_ptr_null(pc->pc_argv[6]);
	ck_assert_int_eq(pc->pc_workers, 0);
	ck_assert_uint_eq(pc->pc_nenv, 3);
	ck_assert_str_eq(pc->pc_env[0], "A=1");
	ck_assert_str_eq(pc->pc_env[1], "B=x y");
	ck_assert_str_eq(pc->pc_env[2], "C=");
	config_free(cfg);

	/*
	 * inih: an indented key right after a header is a key, but an
	 * indented line after a key continues its value.
	 */
	cfg = load_ok("[program:web]\n  command = /bin/true\n  workers = 2\n");
	ck_assert_str_eq(cfg->cf_progs->pc_argv[0], "/bin/true");
	ck_assert_str_eq(cfg->cf_progs->pc_argv[1], "workers");
	ck_assert_int_eq(cfg->cf_progs->pc_workers, 1);
	config_free(cfg);
}
END_TEST

START_TEST(test_relative_paths)
{
	struct config		*cfg;
	struct prog_conf	*pc;
	char			 dir[PATH_MAX], want[PATH_MAX + 64];

	ck_assert_int_eq(mkdir("sub", 0700), 0);
	write_conf("[clusterd]\npidfile = x.pid\ncontrol = run/ctl.sock\n"
	    "[socket:u]\nlisten = unix:run/u.sock\n"
	    "[program:web]\ncommand = bin/app arg\ndirectory = .\n"
	    "stdout = log/out\nstderr = /abs/err\n");
	ck_assert_int_eq(rename(CONF, "sub/" CONF), 0);
	ck_assert_ptr_nonnull(realpath("sub", dir));
	{
		char	*errtext;

		cfg = config_load("sub/" CONF, &errtext);
		ck_assert_msg(cfg != NULL, "%s", errtext);
	}
	ck_assert_str_eq(cfg->cf_path, "sub/" CONF);
	ck_assert_str_eq(cfg->cf_dir, dir);
	snprintf(want, sizeof(want), "%s/x.pid", dir);
	ck_assert_str_eq(cfg->cf_pidfile, want);
	snprintf(want, sizeof(want), "%s/run/ctl.sock", dir);
	ck_assert_str_eq(cfg->cf_control, want);
	snprintf(want, sizeof(want), "%s/run/u.sock", dir);
	ck_assert_str_eq(cfg->cf_socks->sc_addr.la_path, want);
	ck_assert_str_eq(cfg->cf_socks->sc_listen, "unix:run/u.sock");
	pc = cfg->cf_progs;
	ck_assert_str_eq(pc->pc_argv[0], "bin/app");
	snprintf(want, sizeof(want), "%s/.", dir);
	ck_assert_str_eq(pc->pc_directory, want);
	snprintf(want, sizeof(want), "%s/log/out", dir);
	ck_assert_str_eq(pc->pc_stdout.o_path, want);
	ck_assert_int_eq(pc->pc_stderr.o_mode, OUTPUT_FILE);
	ck_assert_str_eq(pc->pc_stderr.o_path, "/abs/err");
	config_free(cfg);
	unlink("sub/" CONF);
	rmdir("sub");
}
END_TEST

START_TEST(test_users)
{
	struct config		*cfg;
	struct prog_conf	*pc;

	cfg = load_ok("[socket:u]\nlisten = unix:/tmp/u\nowner = root\n"
	    "[program:web]\ncommand = x\nuser = root\n");
	ck_assert_int_eq(cfg->cf_socks->sc_has_owner, 1);
	ck_assert_uint_eq(cfg->cf_socks->sc_uid, 0);
	ck_assert_uint_eq(cfg->cf_socks->sc_gid, 0);
	pc = cfg->cf_progs;
	ck_assert_str_eq(pc->pc_user, "root");
	ck_assert_uint_eq(pc->pc_uid, 0);
	ck_assert_str_eq(pc->pc_home, "/root");
	ck_assert_int_eq(pc->pc_has_group, 1);
	ck_assert_uint_eq(pc->pc_gid, 0);
	config_free(cfg);

	/* group before user still wins over the user's primary group */
	cfg = load_ok("[program:web]\ncommand = x\ngroup = nogroup\n"
	    "user = daemon\n");
	ck_assert_uint_eq(cfg->cf_progs->pc_uid, 1);
	ck_assert_uint_eq(cfg->cf_progs->pc_gid, 65534);
	config_free(cfg);

	cfg = load_ok("[program:web]\ncommand = x\ngroup = daemon\n");
	ck_assert_ptr_null(cfg->cf_progs->pc_user);
	ck_assert_int_eq(cfg->cf_progs->pc_has_group, 1);
	ck_assert_uint_eq(cfg->cf_progs->pc_gid, 1);
	config_free(cfg);
}
END_TEST

START_TEST(test_misc_good)
{
	struct config	*cfg;

	/* CRLF line ends, a BOM, workers = auto, zero durations */
	cfg = load_ok("\xEF\xBB\xBF[program:web]\r\ncommand = x\r\n"
	    "workers = auto\r\nrestart_delay = 0\r\nrestart_delay_max = 0\r\n"
	    "min_uptime = 0\r\nstderr = null\r\nrestart = never\r\n");
	ck_assert_int_eq(cfg->cf_progs->pc_workers, 0);
	ck_assert_double_eq(cfg->cf_progs->pc_restart_delay_max, 0);
	ck_assert_int_eq(cfg->cf_progs->pc_stderr.o_mode, OUTPUT_NULL);
	ck_assert_int_eq(cfg->cf_progs->pc_restart, RESTART_NEVER);
	config_free(cfg);

	/* two programs in file order; the socket may come after */
	cfg = load_ok("[program:a]\ncommand = x\nsockets = s\n"
	    "[program:b]\ncommand = y\nsockets = s t\n"
	    "[socket:s]\nlisten = systemd:web\n"
	    "[socket:t]\nlisten = [::]:80\n");
	ck_assert_str_eq(cfg->cf_progs->pc_name, "a");
	ck_assert_str_eq(cfg->cf_progs->pc_next->pc_name, "b");
	ck_assert_uint_eq(cfg->cf_progs->pc_next->pc_nsockets, 2);
	ck_assert_int_eq(cfg->cf_socks->sc_addr.la_kind, ADDR_SYSTEMD);
	ck_assert_str_eq(cfg->cf_socks->sc_addr.la_path, "web");
	config_free(cfg);

	/* a socket and a program may share a name; log levels */
	cfg = load_ok("[clusterd]\nlog_level = error\n"
	    "[socket:web]\nlisten = :80\n"
	    "[program:web]\ncommand = x\nsockets = web\n");
	ck_assert_int_eq(cfg->cf_log_level, LOG_LVL_ERROR);
	config_free(cfg);
}
END_TEST

/* A line of n bytes: "command = " and x's. */
static char *
long_line(size_t n)
{
	char	*s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, 'x', n);
	memcpy(s, "command = ", 10);
	s[n] = '\0';
	return s;
}

START_TEST(test_long_lines)
{
	struct config	*cfg;
	char		 text[1024], *line;

	line = long_line(199);
	snprintf(text, sizeof(text), "[program:web]\n%s\n", line);
	cfg = load_ok(text);
	ck_assert_uint_eq(strlen(cfg->cf_progs->pc_argv[0]), 189);
	config_free(cfg);
	snprintf(text, sizeof(text), "[program:web]\r\n%s\r\n", line);
	config_free(load_ok(text));
	free(line);

	line = long_line(200);
	snprintf(text, sizeof(text), "[program:web]\n%s\n", line);
	first_error(text, "app.ini:2: line is 200 bytes long; the limit is "
	    "199 bytes: split the value onto indented continuation lines "
	    "(joined with one space), or put a long variable in an env_file, "
	    "which has no line limit");
	free(line);

	/* the long line's continuation lines give no second error */
	line = long_line(250);
	snprintf(text, sizeof(text), "[program:web]\nworkers = 2\n%s\n"
	    "  more words\n  and more = 3\nstop_signal = TERM\n", line);
	{
		char	*errtext = load_bad(text);

		ck_assert_str_eq(errtext, "app.ini:3: line is 250 bytes "
		    "long; the limit is 199 bytes: split the value onto "
		    "indented continuation lines (joined with one space), or "
		    "put a long variable in an env_file, which has no line "
		    "limit\n");
		free(errtext);
	}
	/* a long continuation line */
	snprintf(text, sizeof(text), "[program:web]\ncommand = a\n  %s\n"
	    "  b\n", line);
	{
		char	*errtext = load_bad(text);

		ck_assert_str_eq(errtext, "app.ini:3: line is 252 bytes "
		    "long; the limit is 199 bytes: split the value onto "
		    "indented continuation lines (joined with one space), or "
		    "put a long variable in an env_file, which has no line "
		    "limit\n");
		free(errtext);
	}
	/* a long comment is fine */
	line[0] = ';';
	snprintf(text, sizeof(text), "%s\n" PROG "%s\n", line, line);
	config_free(load_ok(text));
	free(line);
}
END_TEST

START_TEST(test_many_errors)
{
	char	*errtext = load_bad(
	    "[program:web]\n"			/* 1 */
	    "workers = four\n"			/* 2 */
	    "maxmemory = 1G\n"			/* 3 */
	    "[socket:api]\n"			/* 4 */
	    "backlog = 0\n"			/* 5 */
	    "[program:web]\n"			/* 6 */
	    "[program:other]\n"			/* 7 */
	    "command = x\n"			/* 8 */
	    "sockets = api nope\n"		/* 9 */
	    "stop_signal = 9\n");		/* 10 */

	ck_assert_str_eq(errtext,
	    "app.ini:1: [program:web] command: required key missing\n"
	    "app.ini:2: [program:web] workers: expected a number or \"auto\", "
	    "got \"four\"\n"
	    "app.ini:3: [program:web] unknown key \"maxmemory\"\n"
	    "app.ini:4: [socket:api] listen: required key missing\n"
	    "app.ini:5: [socket:api] backlog: expected a number from 1 to "
	    "65535, got \"0\"\n"
	    "app.ini:6: [program:web] defined twice; first at line 1\n"
	    "app.ini:9: [program:other] sockets: there is no [socket:nope] "
	    "section\n"
	    "app.ini:10: [program:other] stop_signal: signal numbers are not "
	    "accepted; use a name like TERM\n");
	free(errtext);
}
END_TEST

START_TEST(test_cannot_open)
{
	char	*errtext = (char *)1;

	ck_assert_ptr_null(config_load("missing.ini", &errtext));
	ck_assert_str_eq(errtext,
	    "missing.ini: cannot open: No such file or directory\n");
	free(errtext);
	ck_assert_int_eq(mkdir("d.ini", 0700), 0);
	ck_assert_ptr_null(config_load("d.ini", &errtext));
	ck_assert_str_eq(errtext, "d.ini: cannot read: Is a directory\n");
	free(errtext);
	rmdir("d.ini");
}
END_TEST

/* From memory: nothing is read, the path only names things. */
START_TEST(test_buffer)
{
	static const char	 text[] = "[program:web]\ncommand = x\n"
	    "stdout = out.log\nworkers = 3";	/* no newline at the end */
	struct config		*cfg;
	char			*errtext, dir[PATH_MAX], want[PATH_MAX + 64];

	ck_assert_ptr_nonnull(realpath(".", dir));
	cfg = config_load_buffer("none/such.ini", text, sizeof(text) - 1,
	    &errtext);
	ck_assert_msg(cfg != NULL, "%s", errtext);
	ck_assert_str_eq(cfg->cf_path, "none/such.ini");
	snprintf(want, sizeof(want), "%s/none", dir);
	ck_assert_str_eq(cfg->cf_dir, want);
	snprintf(want, sizeof(want), "%s/none/out.log", dir);
	ck_assert_str_eq(cfg->cf_progs->pc_stdout.o_path, want);
	ck_assert_int_eq(cfg->cf_progs->pc_workers, 3);
	config_free(cfg);

	cfg = config_load_buffer("/etc/x.ini", text, sizeof(text) - 1,
	    &errtext);
	ck_assert_msg(cfg != NULL, "%s", errtext);
	ck_assert_str_eq(cfg->cf_dir, "/etc");
	config_free(cfg);

	/* the length counts, not a NUL: the second line has one */
	ck_assert_ptr_null(config_load_buffer("b.ini", text, 14, &errtext));
	ck_assert_str_eq(errtext, "b.ini:1: [program:web] command: required "
	    "key missing\n");
	free(errtext);
	ck_assert_ptr_null(config_load_buffer("b.ini",
	    "[program:web]\ncommand = a\0b\n", 27, &errtext));
	ck_assert_str_eq(errtext, "b.ini:2: line contains a NUL byte\n");
	free(errtext);
	ck_assert_ptr_null(config_load_buffer("b.ini", "", 0, &errtext));
	ck_assert_str_eq(errtext, "b.ini: no [program:NAME] section: "
	    "nothing to run\n");
	free(errtext);
}
END_TEST

START_TEST(test_reload_twice)
{
	struct config	*a = load_ok(full_conf);
	struct config	*b = load_ok(full_conf);

	ck_assert_ptr_ne(a, b);
	ck_assert_str_eq(a->cf_progs->pc_name, b->cf_progs->pc_name);
	config_free(a);
	config_free(b);
	config_free(NULL);
}
END_TEST

/*
 * The keys of issues 9 to 11: defaults, values, node-cluster.
 */

START_TEST(test_new_defaults)
{
	struct config		*cfg = load_ok("[socket:s]\nlisten = :80\n"
	    "[program:web]\ncommand = x\nsockets = s\n");
	struct prog_conf	*pc = cfg->cf_progs;

	ck_assert_ptr_null(cfg->cf_control_group);
	ck_assert_int_eq(cfg->cf_has_control_group, 0);
	ck_assert_str_eq(cfg->cf_files[0], CONF);
	ck_assert_ptr_null(cfg->cf_files[1]);
	ck_assert_ptr_eq(cfg->cf_socks->sc_file, cfg->cf_files[0]);
	ck_assert_ptr_eq(pc->pc_file, cfg->cf_files[0]);
	ck_assert_str_eq(pc->pc_identifier, "web");
	ck_assert_uint_eq(pc->pc_compat, 0);
	ck_assert_int_eq(pc->pc_ipc, IPC_JSON);
	ck_assert_int_eq(pc->pc_ready, READY_AUTO);
	ck_assert_int_eq(pc->pc_stop_disconnect, 0);
	ck_assert_int_eq(pc->pc_stop_signal, SIGTERM);
	ck_assert_int_eq(pc->pc_stdout.o_mode, OUTPUT_AUTO);
	ck_assert_int_eq(pc->pc_stderr.o_mode, OUTPUT_AUTO);
	ck_assert_int_eq(config_key_line(pc, "command"), 4);
	ck_assert_int_eq(config_key_line(pc, "sockets"), 5);
	ck_assert_int_eq(config_key_line(pc, "user"), 3);
	ck_assert_int_eq(config_key_line(pc, "no such key"), 3);
	config_free(cfg);
}
END_TEST

START_TEST(test_new_keys)
{
	struct config		*cfg;
	struct prog_conf	*pc;

	cfg = load_ok("[clusterd]\ncontrol = c.sock\ncontrol_group = nogroup\n"
	    "[program:web]\ncommand = x\nidentifier = shop-web\n"
	    "compat = einhorn,server-starter\nstdout = journal\n"
	    "stderr = capture\n"
	    "[program:b]\ncommand = x\ncompat = server-starter\n"
	    "stdout = capture\nstderr = stdout\n"
	    "[program:c]\ncommand = x\ncompat = server-starter  einhorn\n"
	    "stdout = inherit\nstderr = journal\n");
	ck_assert_str_eq(cfg->cf_control_group, "nogroup");
	ck_assert_int_eq(cfg->cf_has_control_group, 1);
	ck_assert_uint_eq(cfg->cf_control_gid, 65534);
	pc = cfg->cf_progs;
	ck_assert_str_eq(pc->pc_identifier, "shop-web");
	ck_assert_uint_eq(pc->pc_compat,
	    COMPAT_EINHORN | COMPAT_SERVER_STARTER);
	ck_assert_int_eq(pc->pc_stdout.o_mode, OUTPUT_JOURNAL);
	ck_assert_int_eq(pc->pc_stderr.o_mode, OUTPUT_CAPTURE);
	pc = pc->pc_next;
	ck_assert_str_eq(pc->pc_identifier, "b");
	ck_assert_uint_eq(pc->pc_compat, COMPAT_SERVER_STARTER);
	ck_assert_int_eq(pc->pc_stdout.o_mode, OUTPUT_CAPTURE);
	ck_assert_int_eq(pc->pc_stderr.o_mode, OUTPUT_STDOUT);
	pc = pc->pc_next;
	ck_assert_uint_eq(pc->pc_compat,
	    COMPAT_EINHORN | COMPAT_SERVER_STARTER);
	ck_assert_int_eq(pc->pc_stdout.o_mode, OUTPUT_INHERIT);
	ck_assert_int_eq(pc->pc_stderr.o_mode, OUTPUT_JOURNAL);
	config_free(cfg);

	/* ready = notify: its own channel, so watchdog needs no IPC one */
	cfg = load_ok(PROG "ipc = none\nready = notify\nwatchdog = 5s\n"
	    "env = NODE_APP_INSTANCE=3\n");
	ck_assert_int_eq(cfg->cf_progs->pc_ready, READY_NOTIFY);
	ck_assert_double_eq(cfg->cf_progs->pc_watchdog, 5);
	config_free(cfg);

	/* variables owned only with some keys are free without them */
	cfg = load_ok(PROG "env = NOTIFY_SOCKET=/run/x\n"
	    "env = EINHORN_FD_COUNT=1\nenv = SERVER_STARTER_PORT=80=3\n");
	ck_assert_uint_eq(cfg->cf_progs->pc_nenv, 3);
	config_free(cfg);
}
END_TEST

START_TEST(test_node_cluster)
{
	struct config		*cfg;
	struct prog_conf	*pc;

	/* its defaults, whatever the order of the keys */
	cfg = load_ok("[program:web]\ncommand = node app.js\n"
	    "ipc = node-cluster\n"
	    "[program:b]\ncommand = x\nstop_signal = INT\nready = message\n"
	    "ipc = node-cluster\n"
	    "[program:c]\ncommand = x\nstop_signal = disconnect\n"
	    "ready = listening\nipc = node-cluster\n");
	pc = cfg->cf_progs;
	ck_assert_int_eq(pc->pc_ipc, IPC_NODE_CLUSTER);
	ck_assert_int_eq(pc->pc_ready, READY_LISTENING);
	ck_assert_int_eq(pc->pc_stop_disconnect, 1);
	ck_assert_int_eq(pc->pc_stop_signal, SIGTERM);
	pc = pc->pc_next;
	ck_assert_int_eq(pc->pc_ready, READY_MESSAGE);
	ck_assert_int_eq(pc->pc_stop_disconnect, 0);
	ck_assert_int_eq(pc->pc_stop_signal, SIGINT);
	pc = pc->pc_next;
	ck_assert_int_eq(pc->pc_ready, READY_LISTENING);
	ck_assert_int_eq(pc->pc_stop_disconnect, 1);
	ck_assert_int_eq(pc->pc_stop_signal, SIGTERM);
	config_free(cfg);

	/* ready = auto with node-cluster and a short ready_timeout */
	first_error("[program:web]\ncommand = x\nipc = node-cluster\n"
	    "ready = auto\nready_timeout = 1s\n",
	    "app.ini:5: [program:web] ready_timeout: 1s is not more than "
	    "min_uptime (1s): with ready = auto no worker could ever be up");
	/* but listening, the default, has no such limit */
	config_free(load_ok("[program:web]\ncommand = x\nipc = node-cluster\n"
	    "ready_timeout = 1s\n"));
}
END_TEST

/* node_handle makes the shared socket non-blocking for all its users. */
START_TEST(test_node_handle_sharing)
{
	char	*errtext;

	errtext = load_bad("[socket:web]\nlisten = :80\n"
	    "[program:node]\ncommand = x\nipc = node\n"
	    "node_handle = server:web\n"
	    "[program:other]\ncommand = y\nsockets = web\n");
	ck_assert_str_eq(errtext, "app.ini:9: [program:other] sockets: "
	    "socket web is also sent by [program:node]'s node_handle, which "
	    "makes it non-blocking for every process holding it, so a "
	    "blocking accept() here would fail with EAGAIN: give this "
	    "program a [socket:] of its own, or set reuseport = yes on "
	    "[socket:web]\n");
	free(errtext);
	/* the node_handle program may list it too; reuseport sockets, and
	 * programs taking the same handle, share nothing */
	config_free(load_ok("[socket:web]\nlisten = :80\n"
	    "[program:node]\ncommand = x\nipc = node\nsockets = web\n"
	    "node_handle = server:web\n"
	    "[program:node2]\ncommand = x\nipc = node\nsockets = web\n"
	    "node_handle = srv:web\n"));
	config_free(load_ok("[socket:web]\nlisten = :80\nreuseport = yes\n"
	    "[program:node]\ncommand = x\nipc = node\n"
	    "node_handle = server:web\n"
	    "[program:other]\ncommand = y\nsockets = web\n"));
}
END_TEST

/*
 * node-cluster hands its sockets to Node.js made non-blocking too: the
 * same rule (another Node program may share them).
 */
START_TEST(test_node_cluster_sharing)
{
	char	*errtext;

	errtext = load_bad("[socket:web]\nlisten = :80\n"
	    "[program:node]\ncommand = x\nipc = node-cluster\n"
	    "sockets = web\n"
	    "[program:other]\ncommand = y\nsockets = web\n");
	ck_assert_str_eq(errtext, "app.ini:9: [program:other] sockets: "
	    "socket web is also sent by [program:node]'s ipc = node-cluster, "
	    "which makes it non-blocking for every process holding it, so a "
	    "blocking accept() here would fail with EAGAIN: give this "
	    "program a [socket:] of its own, or set reuseport = yes on "
	    "[socket:web]\n");
	free(errtext);
	config_free(load_ok("[socket:web]\nlisten = :80\n"
	    "[program:a]\ncommand = x\nipc = node-cluster\nsockets = web\n"
	    "[program:b]\ncommand = x\nipc = node-cluster\nsockets = web\n"));
}
END_TEST

/* Server::Starter's clients split SERVER_STARTER_PORT on ';' and '='. */
START_TEST(test_server_starter_path)
{
	char	*errtext;

	errtext = load_bad("[socket:web]\nlisten = unix:/run/a;b.sock\n"
	    PROG "sockets = web\ncompat = server-starter\n");
	ck_assert_msg(strstr(errtext, "[program:web] sockets: with compat = "
	    "server-starter, the path of [socket:web] (/run/a;b.sock) cannot "
	    "hold ';' or '='") != NULL, "%s", errtext);
	free(errtext);
	config_free(load_ok("[socket:web]\nlisten = unix:/run/a;b.sock\n"
	    PROG "sockets = web\n"));
}
END_TEST

/* MESSAGE must fit ipc.c's NODE_HANDLE line, quoted. */
START_TEST(test_node_handle_length)
{
	char	text[4096], quotes[151], *errtext;
	size_t	len;

	memset(quotes, '"', 150);
	quotes[150] = '\0';
	/* 4 x 150 quotes and 3 spaces: 1205 bytes as a JSON string */
	len = (size_t)snprintf(text, sizeof(text), "[socket:web]\n"
	    "listen = :80\n" PROG "ipc = node\nnode_handle = %s\n  %s\n  %s\n"
	    "  %s:web\n", quotes, quotes, quotes, quotes);
	ck_assert_uint_lt(len, sizeof(text));
	errtext = load_bad(text);
	ck_assert_str_eq(errtext, "app.ini:6: [program:web] node_handle: "
	    "MESSAGE is 1205 bytes as a JSON string; the limit is 1023\n");
	free(errtext);
	/* 3 x 150 quotes: 904 bytes, fine */
	snprintf(text, sizeof(text), "[socket:web]\nlisten = :80\n" PROG
	    "ipc = node\nnode_handle = %s\n  %s\n  %s:web\n", quotes, quotes,
	    quotes);
	config_free(load_ok(text));
}
END_TEST

/* Values must be UTF-8: they end up in JSON control replies. */
START_TEST(test_utf8_values)
{
	struct config	*cfg;

	cfg = load_ok("; caf\xE9 in a Latin-1 comment is fine\n"
	    "[program:web]\ncommand = /srv/caf\xC3\xA9/run\n"
	    "# and \xFF here\n");
	ck_assert_str_eq(cfg->cf_progs->pc_argv[0], "/srv/caf\xC3\xA9/run");
	config_free(cfg);
	first_error("[program:web]\ncommand = /srv/caf\xE9/run\n",
	    "app.ini:2: line is not valid UTF-8 (byte 0xe9 at column 19)");
	/* a continuation line, a header: one error, nothing after it */
	{
		char	*errtext = load_bad("[program:web]\ncommand = x\n"
		    "  caf\xE9\nenv = A=\xC0\xAF\n[program:\xFF]\nfoo = 1\n");

		ck_assert_str_eq(errtext,
		    "app.ini:3: line is not valid UTF-8 (byte 0xe9 at "
		    "column 6)\n"
		    "app.ini:4: line is not valid UTF-8 (byte 0xc0 at "
		    "column 9)\n"
		    "app.ini:5: line is not valid UTF-8 (byte 0xff at "
		    "column 10)\n");
		free(errtext);
	}
}
END_TEST

/*
 * env_file.
 */

/* The value of NAME in pc_env, or NULL. */
static const char *
env_value(const struct prog_conf *pc, const char *name)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < pc->pc_nenv; i++)
		if (strncmp(pc->pc_env[i], name, len) == 0 &&
		    pc->pc_env[i][len] == '=')
			return pc->pc_env[i] + len + 1;
	return NULL;
}

START_TEST(test_env_file)
{
	struct config		*cfg;
	struct prog_conf	*pc;
	char			 token[1001], text[2048];

	memset(token, 't', 1000);
	token[1000] = '\0';
	ck_assert_int_eq(mkdir("etc", 0700), 0);
	snprintf(text, sizeof(text),
	    "# database\n"
	    "DB_URL = postgres://app:s3cret@db/app?sslmode=require\n"
	    "TOKEN=%s\n"
	    "GREETING=\"hello,  world\"\n"
	    "QUOTED='a \"b\" $c'\n"
	    "JOINED=one \\\n"
	    "two\n"
	    "MODE=from-file\n"
	    "MODE=later-wins\n"
	    "SHARED=file\n", token);
	write_file("etc/app.env", text);
	write_file("etc/more.env", "MORE=1\nSHARED=second-file\n");
	write_conf(PROG "env = SHARED=env-line\n"
	    "env_file = etc/app.env\n"
	    "env = LAST=1\n"
	    "env_file = -etc/missing.env\n"
	    "env_file = etc/more.env\n");
	{
		char	*errtext;

		cfg = config_load(CONF, &errtext);
		ck_assert_msg(cfg != NULL, "%s", errtext);
	}
	pc = cfg->cf_progs;
	ck_assert_str_eq(env_value(pc, "DB_URL"),
	    "postgres://app:s3cret@db/app?sslmode=require");
	ck_assert_str_eq(env_value(pc, "TOKEN"), token);
	ck_assert_str_eq(env_value(pc, "GREETING"), "hello,  world");
	ck_assert_str_eq(env_value(pc, "QUOTED"), "a \"b\" $c");
	ck_assert_str_eq(env_value(pc, "JOINED"), "one two");
	ck_assert_str_eq(env_value(pc, "MODE"), "later-wins");
	ck_assert_str_eq(env_value(pc, "MORE"), "1");
	ck_assert_str_eq(env_value(pc, "SHARED"), "env-line");
	/* the files' variables first, then the env lines, names unique */
	ck_assert_uint_eq(pc->pc_nenv, 9);
	ck_assert_str_eq(pc->pc_env[0], "DB_URL=postgres://app:s3cret@db/app"
	    "?sslmode=require");
	ck_assert_str_eq(pc->pc_env[7], "SHARED=env-line");
	ck_assert_str_eq(pc->pc_env[8], "LAST=1");
	ck_assert_ptr_null(pc->pc_env[9]);
	config_free(cfg);

	/* read again at every load */
	write_file("etc/more.env", "MORE=2\n");
	cfg = load_ok(PROG "env_file = etc/more.env\n");
	ck_assert_str_eq(env_value(cfg->cf_progs, "MORE"), "2");
	ck_assert_uint_eq(cfg->cf_progs->pc_nenv, 1);
	config_free(cfg);
}
END_TEST

/* Relative to the configuration file's directory, named from there. */
START_TEST(test_env_file_paths)
{
	struct config	*cfg;
	char		*errtext;

	ck_assert_int_eq(mkdir("sub", 0700), 0);
	write_file("sub/app.env", "A=1\n");
	write_file("sub/" CONF, PROG "env_file = app.env\n"
	    "env_file = nope.env\n");
	ck_assert_ptr_null(cfg = config_load("sub/" CONF, &errtext));
	ck_assert_str_eq(errtext, "sub/app.ini:4: [program:web] env_file: "
	    "sub/nope.env: cannot open: No such file or directory\n");
	free(errtext);
	write_file("sub/" CONF, PROG "env_file = app.env\n");
	cfg = config_load("sub/" CONF, &errtext);
	ck_assert_msg(cfg != NULL, "%s", errtext);
	ck_assert_str_eq(cfg->cf_progs->pc_env[0], "A=1");
	config_free(cfg);
}
END_TEST

START_TEST(test_env_file_errors)
{
	char	*errtext;

	write_file("bad.env",
	    "OK=1\n"			/* 1 */
	    "1X=2\n"			/* 2 */
	    "export PATH=/bin\n"	/* 3 */
	    "LISTEN_FDS=3\n"		/* 4 */
	    "NODE_UNIQUE_ID=1\n"	/* 5 */
	    "NODE_APP_INSTANCE=0\n"	/* 6 */
	    "EINHORN_FD_COUNT=1\n"	/* 7 */
	    "SERVER_STARTER_PORT=1\n");	/* 8 */
	errtext = load_bad(PROG "env_file = bad.env\nipc = node-cluster\n"
	    "compat = einhorn\n");
	ck_assert_str_eq(errtext,
	    "bad.env:2: invalid variable name \"1X\": use letters, digits "
	    "and '_', not starting with a digit (env_file of [program:web])\n"
	    "bad.env:3: invalid variable name \"export PATH\": write "
	    "NAME=VALUE without \"export\" (env_file of [program:web])\n"
	    "bad.env:4: LISTEN_FDS is set by clusterd; variables LISTEN_*, "
	    "CLUSTERD_*, NODE_CHANNEL_* and NODE_UNIQUE_ID cannot be set "
	    "(env_file of [program:web])\n"
	    "bad.env:5: NODE_UNIQUE_ID is set by clusterd; variables "
	    "LISTEN_*, CLUSTERD_*, NODE_CHANNEL_* and NODE_UNIQUE_ID cannot "
	    "be set (env_file of [program:web])\n"
	    "bad.env:6: NODE_APP_INSTANCE is set by clusterd; with ipc = "
	    "node-cluster it is the worker's slot (env_file of "
	    "[program:web])\n"
	    "bad.env:7: EINHORN_FD_COUNT is set by clusterd; with compat = "
	    "einhorn, variables EINHORN_* cannot be set (env_file of "
	    "[program:web])\n");
	free(errtext);

	write_file("bad.env", "A=1\nB=\"open\n\nC=2\n");
	first_error(PROG "env_file = bad.env\n", "bad.env:2: the quote "
	    "opened here is never closed (env_file of [program:web])");
	write_file("bad.env", "A=caf\xE9\n");
	first_error(PROG "env_file = bad.env\n", "bad.env:1: not valid UTF-8 "
	    "(byte 0xe9); the file must be UTF-8 (env_file of [program:web])");
	/* at most 1 MiB */
	{
		char	*big = malloc((1 << 20) + 2);

		ck_assert_ptr_nonnull(big);
		memset(big, '#', (1 << 20) + 1);
		big[(1 << 20) + 1] = '\0';
		write_file("big.env", big);
		free(big);
		first_error(PROG "env_file = big.env\n", "app.ini:3: "
		    "[program:web] env_file: big.env: cannot read: larger "
		    "than 1 MiB");
	}
	/* an optional file must still be readable if it is there */
	ck_assert_int_eq(mkdir("dir.env", 0700), 0);
	first_error(PROG "env_file = -dir.env\n", "app.ini:3: [program:web] "
	    "env_file: dir.env: cannot read: Is a directory");
	first_error(PROG "env_file = -\n", "app.ini:3: [program:web] "
	    "env_file: expected PATH or -PATH, got \"-\"");
	/* the env lines are checked after the env files are merged */
	write_file("ok.env", "A=1\nB=2\n");
	first_error(PROG "env_file = ok.env\nipc = node-cluster\n"
	    "env = NODE_APP_INSTANCE=1\nenv = A=3\n",
	    "app.ini:5: [program:web] env: NODE_APP_INSTANCE is set by "
	    "clusterd; with ipc = node-cluster it is the worker's slot");
	/* main file errors first, then the env file's */
	write_file("bad.env", "LISTEN_PID=1\n");
	errtext = load_bad(PROG "env_file = bad.env\nworkers = many\n");
	ck_assert_str_eq(errtext, "app.ini:4: [program:web] workers: expected "
	    "a number or \"auto\", got \"many\"\n"
	    "bad.env:1: LISTEN_PID is set by clusterd; variables LISTEN_*, "
	    "CLUSTERD_*, NODE_CHANNEL_* and NODE_UNIQUE_ID cannot be set "
	    "(env_file of [program:web])\n");
	free(errtext);
}
END_TEST

/*
 * include.
 */

START_TEST(test_include)
{
	struct config		*cfg;
	struct prog_conf	*pc;

	ck_assert_int_eq(mkdir("conf.d", 0700), 0);
	write_file("conf.d/b.ini", "[program:b]\ncommand = b\nsockets = web\n");
	write_file("conf.d/a.ini", "; a\n[socket:api]\nlisten = :81\n"
	    "[program:a]\ncommand = a\nsockets = api\n");
	write_file("conf.d/skipped.conf", "not ini at all\n");
	write_file("conf.d/.hidden.ini", "not ini at all\n");
	cfg = load_ok("[clusterd]\ninclude = conf.d/*.ini\n"
	    "include = none.d/*.ini\n"
	    "[socket:web]\nlisten = :80\n" PROG);
	ck_assert_str_eq(cfg->cf_files[0], CONF);
	ck_assert_str_eq(cfg->cf_files[1], "conf.d/a.ini");
	ck_assert_str_eq(cfg->cf_files[2], "conf.d/b.ini");
	ck_assert_ptr_null(cfg->cf_files[3]);
	pc = cfg->cf_progs;
	ck_assert_str_eq(pc->pc_name, "web");
	ck_assert_ptr_eq(pc->pc_file, cfg->cf_files[0]);
	pc = pc->pc_next;
	ck_assert_str_eq(pc->pc_name, "a");
	ck_assert_str_eq(pc->pc_file, "conf.d/a.ini");
	ck_assert_int_eq(pc->pc_line, 4);
	ck_assert_int_eq(config_key_line(pc, "sockets"), 6);
	pc = pc->pc_next;
	ck_assert_str_eq(pc->pc_name, "b");
	ck_assert_str_eq(pc->pc_file, "conf.d/b.ini");
	ck_assert_str_eq(cfg->cf_socks->sc_next->sc_name, "api");
	ck_assert_str_eq(cfg->cf_socks->sc_next->sc_file, "conf.d/a.ini");
	config_free(cfg);
}
END_TEST

/* Patterns in order, each file once; the main file is not read again. */
START_TEST(test_include_order)
{
	struct config	*cfg;
	char		 dir[PATH_MAX], path[PATH_MAX + 64], text[PATH_MAX * 2];

	write_file("z.ini", "[program:z]\ncommand = z\n");
	write_file("m.ini", "[program:m]\ncommand = m\n");
	ck_assert_int_eq(mkdir("x", 0700), 0);
	write_file("x/a.ini", "[program:a]\ncommand = a\n");
	cfg = load_ok("[clusterd]\ninclude = *.ini\ninclude = x/*.ini\n"
	    "include = z.ini\n" PROG);
	ck_assert_str_eq(cfg->cf_files[1], "m.ini");
	ck_assert_str_eq(cfg->cf_files[2], "z.ini");
	ck_assert_str_eq(cfg->cf_files[3], "x/a.ini");
	ck_assert_ptr_null(cfg->cf_files[4]);
	config_free(cfg);

	/* an absolute pattern, named as it is; glob characters in the
	 * directory of the configuration file are no pattern */
	ck_assert_int_eq(mkdir("w[1]*", 0700), 0);
	write_file("w[1]*/p.ini", "[program:p]\ncommand = p\n");
	write_file("w[1]*/" CONF, "[clusterd]\ninclude = *.ini\n" PROG);
	{
		char	*errtext;

		cfg = config_load("w[1]*/" CONF, &errtext);
		ck_assert_msg(cfg != NULL, "%s", errtext);
		ck_assert_str_eq(cfg->cf_files[1], "w[1]*/p.ini");
		ck_assert_ptr_null(cfg->cf_files[2]);
		config_free(cfg);
	}
	ck_assert_ptr_nonnull(realpath("x", dir));
	snprintf(text, sizeof(text), "[clusterd]\ninclude = %s/*.ini\n" PROG,
	    dir);
	cfg = load_ok(text);
	snprintf(path, sizeof(path), "%s/a.ini", dir);
	ck_assert_str_eq(cfg->cf_files[1], path);
	config_free(cfg);
}
END_TEST

START_TEST(test_include_errors)
{
	char	*errtext;

	ck_assert_int_eq(mkdir("conf.d", 0700), 0);
	/* an error of an included file is reported at its own line */
	write_file("conf.d/a.ini", "[program:a]\ncommand = a\n"
	    "worker = 2\nsockets = nope\n");
	write_file("conf.d/b.ini", "[program:web]\ncommand = b\n"
	    "[clusterd]\ninclude = *.ini\n");
	errtext = load_bad("[clusterd]\ninclude = conf.d/*.ini\n" PROG
	    "stop_signal = 9\n");
	ck_assert_str_eq(errtext,
	    "app.ini:5: [program:web] stop_signal: signal numbers are not "
	    "accepted; use a name like TERM\n"
	    "conf.d/a.ini:3: [program:a] unknown key \"worker\"\n"
	    "conf.d/a.ini:4: [program:a] sockets: there is no [socket:nope] "
	    "section\n"
	    "conf.d/b.ini:1: [program:web] defined twice; first at "
	    "app.ini:3\n"
	    "conf.d/b.ini:3: [clusterd] belongs in the main file, app.ini; "
	    "an included file holds [socket:NAME] and [program:NAME] "
	    "sections only\n");
	free(errtext);

	/* what a pattern matches must be readable */
	ck_assert_int_eq(unlink("conf.d/b.ini"), 0);
	write_file("conf.d/a.ini", "[program:a]\ncommand = a\n");
	ck_assert_int_eq(mkdir("conf.d/d.ini", 0700), 0);
	first_error("[clusterd]\ninclude = conf.d/*.ini\n" PROG,
	    "app.ini:2: [clusterd] include: conf.d/d.ini: cannot read: Is a "
	    "directory");
	first_error("[clusterd]\ninclude =\n" PROG,
	    "app.ini:2: [clusterd] include: empty value");
	ck_assert_int_eq(rmdir("conf.d/d.ini"), 0);
	/* a file matched by two patterns is read once: no duplicate */
	config_free(load_ok("[clusterd]\ninclude = conf.d/*.ini\n"
	    "include = conf.d/a.ini\n" PROG));
	/* a name that is not UTF-8 could not be reported */
	write_file("conf.d/\xE9.ini", "[program:e]\ncommand = e\n");
	first_error("[clusterd]\ninclude = conf.d/*.ini\n" PROG,
	    "app.ini:2: [clusterd] include: conf.d/*.ini matches a file whose "
	    "name is not valid UTF-8; rename it");
}
END_TEST

/*
 * config_check_runtime: what -t adds.
 */

/* The errors of config_check_runtime on text, or NULL. */
static char *
runtime_errors(const char *text)
{
	struct config	*cfg = load_ok(text);
	char		*errtext = (char *)1;
	int		 rv = config_check_runtime(cfg, &errtext);

	config_free(cfg);
	if (rv == 0) {
		ck_assert_ptr_null(errtext);
		return NULL;
	}
	ck_assert_int_eq(rv, -1);
	ck_assert_ptr_nonnull(errtext);
	return errtext;
}

static void
runtime_ok(const char *text)
{
	char	*errtext = runtime_errors(text);

	ck_assert_msg(errtext == NULL, "file:\n%s\nerrors:\n%s", text,
	    errtext);
}

static void
runtime_bad(const char *text, const char *want)
{
	char	*errtext = runtime_errors(text);

	ck_assert_msg(errtext != NULL, "accepted:\n%s", text);
	ck_assert_msg(strcmp(errtext, want) == 0, "file:\n%s\ngot:  %s"
	    "want: %s", text, errtext, want);
	free(errtext);
}

START_TEST(test_runtime_command)
{
	char	text[PATH_MAX * 2], dir[PATH_MAX];

	ck_assert_ptr_nonnull(realpath(".", dir));
	ck_assert_int_eq(mkdir("bin", 0700), 0);
	write_file("bin/app", "#!/bin/sh\nexit 0\n");
	ck_assert_int_eq(chmod("bin/app", 0755), 0);
	write_file("bin/data", "x\n");
	ck_assert_int_eq(chmod("bin/data", 0644), 0);

	runtime_ok("[program:web]\ncommand = /bin/true\n");
	runtime_ok("[program:web]\ncommand = sh -c true\n");
	/* a relative path is taken from the worker's directory */
	snprintf(text, sizeof(text), "[program:web]\ncommand = ./bin/app\n"
	    "directory = %s\n", dir);
	runtime_ok(text);
	runtime_bad("[program:web]\ncommand = ./bin/app\ndirectory = /\n",
	    "app.ini:2: [program:web] command: /./bin/app: No such file or "
	    "directory\n");
	runtime_bad("[program:web]\ncommand = /nonexistent/nod app.js\n",
	    "app.ini:2: [program:web] command: /nonexistent/nod: No such file "
	    "or directory\n");
	snprintf(text, sizeof(text), "[program:web]\n\ncommand = %s/bin/data\n",
	    dir);
	{
		char	want[PATH_MAX * 2];

		snprintf(want, sizeof(want), "app.ini:3: [program:web] "
		    "command: %s/bin/data is not executable (mode 0644)\n",
		    dir);
		runtime_bad(text, want);
		snprintf(text, sizeof(text), "[program:web]\n"
		    "command = %s/bin\n", dir);
		snprintf(want, sizeof(want), "app.ini:2: [program:web] "
		    "command: %s/bin is a directory\n", dir);
		runtime_bad(text, want);
	}
	/* PATH: the program's own (env, env_file), else clusterd's */
	runtime_bad("[program:web]\ncommand = no-such-program-here\n"
	    "env = PATH=/nonexistent:/usr/bin\n",
	    "app.ini:2: [program:web] command: \"no-such-program-here\" is "
	    "not an executable file in any directory of PATH "
	    "(/nonexistent:/usr/bin)\n");
	snprintf(text, sizeof(text), "[program:web]\ncommand = app\n"
	    "env = PATH=/nonexistent:%s/bin\n", dir);
	runtime_ok(text);
	write_file("path.env", "PATH=bin\n");
	snprintf(text, sizeof(text), "[program:web]\ncommand = data\n"
	    "env_file = path.env\ndirectory = %s\n", dir);
	{
		char	want[PATH_MAX * 2];

		snprintf(want, sizeof(want), "app.ini:2: [program:web] "
		    "command: \"data\" is not an executable file in any "
		    "directory of PATH (bin); %s/bin/data is not executable "
		    "(mode 0644)\n", dir);
		runtime_bad(text, want);
	}
	snprintf(text, sizeof(text), "[program:web]\ncommand = app\n"
	    "env_file = path.env\ndirectory = %s\n", dir);
	runtime_ok(text);
}
END_TEST

START_TEST(test_runtime_paths)
{
	runtime_ok("[program:web]\ncommand = /bin/true\ndirectory = /tmp\n"
	    "stdout = /tmp/x.log\nstderr = y.log\n");
	runtime_bad("[program:web]\ncommand = /bin/true\n"
	    "directory = /nonexistent\n",
	    "app.ini:3: [program:web] directory: /nonexistent: No such file "
	    "or directory\n");
	runtime_bad("[program:web]\ncommand = /bin/true\n"
	    "directory = /bin/true\n",
	    "app.ini:3: [program:web] directory: /bin/true is not a "
	    "directory\n");
	runtime_bad("[program:web]\ncommand = /bin/true\n"
	    "stdout = /nonexistent/out.log\nstderr = /bin/true/err.log\n",
	    "app.ini:3: [program:web] stdout: cannot open "
	    "/nonexistent/out.log: its directory /nonexistent: No such file "
	    "or directory\n"
	    "app.ini:4: [program:web] stderr: cannot open /bin/true/err.log: "
	    "/bin/true is not a directory\n");
}
END_TEST

/* Not root: no other user or group (the test drops its euid). */
START_TEST(test_runtime_identity)
{
	struct config	*cfg;
	char		*errtext;
	int		 rv;

	if (geteuid() != 0)
		return;
	cfg = load_ok("[program:web]\ncommand = /bin/true\nuser = root\n"
	    "[program:g]\ncommand = /bin/true\ngroup = root\n"
	    "[program:u]\ncommand = /bin/true\nuser = nobody\n"
	    "[program:self]\ncommand = /bin/true\nuser = nobody\n"
	    "group = nogroup\n");
	ck_assert_int_eq(setegid(65534), 0);
	ck_assert_int_eq(seteuid(65534), 0);
	rv = config_check_runtime(cfg, &errtext);
	ck_assert_int_eq(seteuid(0), 0);
	ck_assert_int_eq(setegid(0), 0);
	config_free(cfg);
	ck_assert_int_eq(rv, -1);
	ck_assert_str_eq(errtext,
	    "app.ini:3: [program:web] user: clusterd runs as nobody (uid "
	    "65534), not as root, so it cannot run workers as root\n"
	    "app.ini:6: [program:g] group: clusterd runs as nobody (uid "
	    "65534), not as root, so it cannot run workers with group root\n");
	free(errtext);
}
END_TEST

/*
 * Bad files and the first error of each.
 */
static const struct {
	const char	*text;
	const char	*error;
} bad_files[] = {
	/* structure */
	{ PROG "foo = 1\n",
	  "app.ini:3: [program:web] unknown key \"foo\"" },
	{ PROG "[sockets:web]\nlisten = :80\n",
	  "app.ini:3: unknown section [sockets:web]; expected [clusterd], "
	  "[socket:NAME] or [program:NAME]" },
	{ "[global]\n" PROG,
	  "app.ini:1: unknown section [global]; expected [clusterd], "
	  "[socket:NAME] or [program:NAME]" },
	{ "; comment\nworkers = 2\n" PROG,
	  "app.ini:2: key \"workers\" is outside any section; put it under "
	  "[clusterd], [socket:NAME] or [program:NAME]" },
	{ PROG "\n" PROG,
	  "app.ini:4: [program:web] defined twice; first at line 1" },
	{ "[clusterd]\n[clusterd]\n" PROG,
	  "app.ini:2: [clusterd] defined twice; first at line 1" },
	{ PROG "workers = 2\ncommand = /bin/false\n",
	  "app.ini:4: [program:web] command: given twice; first at line 2" },
	{ "[socket:web]\nbacklog = 5\n" PROG,
	  "app.ini:1: [socket:web] listen: required key missing" },
	{ "[socket:s]\nlisten = :80\n[program:web]\nworkers = 2\n",
	  "app.ini:3: [program:web] command: required key missing" },
	{ "[program:a b]\ncommand = x\n",
	  "app.ini:1: [program:a b]: invalid name \"a b\": use 1 to 63 "
	  "letters, digits, '_', '.' or '-'" },
	{ "[socket:]\n" PROG,
	  "app.ini:1: [socket:]: invalid name \"\": use 1 to 63 letters, "
	  "digits, '_', '.' or '-'" },
	{ PROG "this is not a key\n",
	  "app.ini:3: expected KEY = VALUE or [SECTION], got \"this is not a "
	  "key\"" },
	{ "[program:web\ncommand = x\n",
	  "app.ini:1: missing \"]\" in section header \"[program:web\"" },
	{ "[program:web] junk\ncommand = x\n",
	  "app.ini:1: unexpected text after [program:web]: \"junk\"" },
	{ PROG "= 5\n",
	  "app.ini:3: [program:web] missing key name before \"=\"" },
	{ "[program:web]\ncommand =\n",
	  "app.ini:2: [program:web] command: empty value" },
	{ "; nothing\n",
	  "app.ini: no [program:NAME] section: nothing to run" },
	{ "[socket:s]\nlisten = :80\n",
	  "app.ini: no [program:NAME] section: nothing to run" },

	/* IPC keys and the combinations that cannot work */
	{ PROG "ready = soon\n",
	  "app.ini:3: [program:web] ready: expected message, auto, exec, "
	  "listening or notify, got \"soon\"" },
	{ PROG "ipc = pipe\n",
	  "app.ini:3: [program:web] ipc: expected json, node, node-cluster or "
	  "none, got \"pipe\"" },
	{ "[socket:web]\nlisten = :80\n" PROG "node_handle = server:web\n",
	  "app.ini:5: [program:web] node_handle: needs ipc = node" },
	{ PROG "ipc = node\nnode_handle = server:nope\n",
	  "app.ini:4: [program:web] node_handle: there is no [socket:nope] "
	  "section" },
	{ PROG "ipc = node\nnode_handle = server\n",
	  "app.ini:4: [program:web] node_handle: expected MESSAGE:SOCKET, as "
	  "in \"server:web\", got \"server\"" },
	{ PROG "ipc = none\nready = message\n",
	  "app.ini:4: [program:web] ready: ready = message needs an IPC "
	  "channel (ipc = none)" },
	{ PROG "ipc = none\nwatchdog = 5s\n",
	  "app.ini:4: [program:web] watchdog: needs an IPC channel for "
	  "heartbeats (ipc = none), or ready = notify for WATCHDOG=1" },
	{ PROG "watchdog = 0\n",
	  "app.ini:3: [program:web] watchdog: expected off or a duration "
	  "like 10s, got \"0\"" },
	{ PROG "ready_timeout = 0\n",
	  "app.ini:3: [program:web] ready_timeout: must be more than 0, got "
	  "\"0\"" },
	{ PROG "min_uptime = 5s\nready_timeout = 2s\n",
	  "app.ini:4: [program:web] ready_timeout: 2s is not more than "
	  "min_uptime (5s): with ready = auto no worker could ever be up" },

	/* node-cluster, notify, compat */
	{ PROG "ready = listening\n",
	  "app.ini:3: [program:web] ready: ready = listening needs ipc = "
	  "node-cluster: only Node's cluster protocol tells when a server "
	  "listens" },
	{ PROG "ipc = node\nstop_signal = disconnect\n",
	  "app.ini:4: [program:web] stop_signal: disconnect needs ipc = "
	  "node-cluster: it is a message of Node's cluster protocol" },
	{ "[socket:web]\nlisten = :80\n" PROG "ipc = node-cluster\n"
	  "node_handle = server:web\n",
	  "app.ini:6: [program:web] node_handle: needs ipc = node; with ipc = "
	  "node-cluster the worker's listen() gets the program's sockets "
	  "without it" },
	{ PROG "stop_signal = disconnected\n",
	  "app.ini:3: [program:web] stop_signal: unknown signal "
	  "\"disconnected\"; expected a name like TERM, INT, QUIT or HUP" },
	{ PROG "env = NODE_UNIQUE_ID=1\n",
	  "app.ini:3: [program:web] env: NODE_UNIQUE_ID is set by clusterd; "
	  "variables LISTEN_*, CLUSTERD_*, NODE_CHANNEL_* and NODE_UNIQUE_ID "
	  "cannot be set" },
	{ PROG "env = NODE_APP_INSTANCE=1\nipc = node-cluster\n",
	  "app.ini:3: [program:web] env: NODE_APP_INSTANCE is set by "
	  "clusterd; with ipc = node-cluster it is the worker's slot" },
	{ PROG "ready = notify\nenv = NOTIFY_SOCKET=/run/n\n",
	  "app.ini:4: [program:web] env: NOTIFY_SOCKET is set by clusterd; "
	  "with ready = notify it is the worker's own socket" },
	{ PROG "env = EINHORN_FD_COUNT=2\ncompat = einhorn\n",
	  "app.ini:3: [program:web] env: EINHORN_FD_COUNT is set by "
	  "clusterd; with compat = einhorn, variables EINHORN_* cannot be "
	  "set" },
	{ PROG "compat = server-starter\nenv = SERVER_STARTER_PORT=1\n",
	  "app.ini:4: [program:web] env: SERVER_STARTER_PORT is set by "
	  "clusterd; with compat = server-starter, variables "
	  "SERVER_STARTER_* cannot be set" },
	{ PROG "compat = einhorn\nipc = none\n",
	  "app.ini:3: [program:web] compat: einhorn needs an IPC channel, "
	  "which is its EINHORN_SOCK_FD (ipc = none)" },
	{ PROG "compat = upstart\n",
	  "app.ini:3: [program:web] compat: expected einhorn and/or "
	  "server-starter, got \"upstart\"" },
	{ PROG "compat = einhorn, einhorn\n",
	  "app.ini:3: [program:web] compat: \"einhorn\" is named twice" },
	{ PROG "compat = , ,\n",
	  "app.ini:3: [program:web] compat: expected einhorn and/or "
	  "server-starter, got \", ,\"" },
	{ PROG "compat = einhorn\ncompat = server-starter\n",
	  "app.ini:4: [program:web] compat: given twice; first at line 3" },
	{ PROG "identifier = my app\n",
	  "app.ini:3: [program:web] identifier: expected one word of "
	  "printable characters, got \"my app\"" },
	{ PROG "identifier = " LONG10 LONG10 LONG10 LONG10 LONG10 LONG10
	  "0123\n",
	  "app.ini:3: [program:web] identifier: 64 bytes long; the limit is "
	  "63" },
	{ PROG "identifier = a\x7f\n",
	  "app.ini:3: [program:web] identifier: expected one word of "
	  "printable characters, got \"a\x7f\"" },

	/* later issues: not keys yet */
	{ PROG "max_memory = 0\n",
	  "app.ini:3: [program:web] max_memory: expected off or a size like "
	  "512M, got \"0\"" },
	{ PROG "max_memory = lots\n",
	  "app.ini:3: [program:web] max_memory: expected a size like 512M or "
	  "2G, got \"lots\"" },
	{ "[socket:s]\nlisten = unix:/tmp/s\nreuseport = yes\n" PROG,
	  "app.ini:3: [socket:s] reuseport: only for TCP sockets, not unix:" },
	{ "[socket:s]\nlisten = systemd:s\nreuseport = on\n" PROG,
	  "app.ini:3: [socket:s] reuseport: only for TCP sockets clusterd "
	  "binds, not systemd:" },
	{ "[socket:s]\nlisten = :80\nreuseport = maybe\n" PROG,
	  "app.ini:3: [socket:s] reuseport: expected yes or no, got "
	  "\"maybe\"" },

	/* [clusterd] values */
	{ "[clusterd]\ncontrol = /run/" LONG100 ".sock\n" PROG,
	  "app.ini:2: [clusterd] control: unix socket path is too long: 110 "
	  "bytes; the limit is 107 (/run/" LONG100 ".sock)" },
	{ "[clusterd]\ncontrol =\n" PROG,
	  "app.ini:2: [clusterd] control: empty value" },
	{ "[clusterd]\ncontrol_group = nosuchgroup\n" PROG,
	  "app.ini:2: [clusterd] control_group: unknown group "
	  "\"nosuchgroup\"" },
	{ "[clusterd]\ninclude = a\ninclude = b\ncontrol_group = root\n"
	  "control_group = root\n" PROG,
	  "app.ini:5: [clusterd] control_group: given twice; first at line "
	  "4" },
	{ "[clusterd]\nlog_level = loud\n" PROG,
	  "app.ini:2: [clusterd] log_level: expected debug, info, notice, "
	  "warning or error, got \"loud\"" },

	/* [socket:] values */
	{ "[socket:web]\nlisten = 127.0.0.1:99999\n" PROG,
	  "app.ini:2: [socket:web] listen: port must be 1 to 65535, got "
	  "\"99999\"" },
	{ "[socket:web]\nlisten = *:0\n" PROG,
	  "app.ini:2: [socket:web] listen: port must be 1 to 65535, got "
	  "\"0\"" },
	{ "[socket:web]\nlisten = example.com:80\n" PROG,
	  "app.ini:2: [socket:web] listen: HOST must be a numeric address or "
	  "localhost, got \"example.com\"" },
	{ "[socket:web]\nlisten = ::1:80\n" PROG,
	  "app.ini:2: [socket:web] listen: an IPv6 address needs brackets: "
	  "\"[::1]:80\"" },
	{ "[socket:web]\nlisten = [::g]:80\n" PROG,
	  "app.ini:2: [socket:web] listen: expected a numeric IPv6 address "
	  "in brackets, got \"[::g]:80\"" },
	{ "[socket:web]\nlisten = 8080\n" PROG,
	  "app.ini:2: [socket:web] listen: expected HOST:PORT; for all "
	  "addresses write \":8080\" or \"*:8080\"" },
	{ "[socket:web]\nlisten = unix:\n" PROG,
	  "app.ini:2: [socket:web] listen: unix socket path is empty" },
	{ "[socket:web]\nlisten = systemd:\n" PROG,
	  "app.ini:2: [socket:web] listen: systemd socket name is empty" },
	{ "[socket:web]\nlisten = systemd:a:b\n" PROG,
	  "app.ini:2: [socket:web] listen: systemd socket name \"a:b\" must "
	  "be printable ASCII without ':'" },
	{ "[socket:web]\nlisten = :80\nbacklog = 0\n" PROG,
	  "app.ini:3: [socket:web] backlog: expected a number from 1 to "
	  "65535, got \"0\"" },
	{ "[socket:web]\nlisten = :80\nmode = 1777\n" PROG,
	  "app.ini:3: [socket:web] mode: expected an octal number from 0 to "
	  "0777, got \"1777\"" },
	{ "[socket:web]\nlisten = :80\nowner = nosuchuser\n" PROG,
	  "app.ini:3: [socket:web] owner: unknown user \"nosuchuser\"" },
	{ "[socket:web]\nlisten = :80\nowner = root:nosuchgroup\n" PROG,
	  "app.ini:3: [socket:web] owner: unknown group \"nosuchgroup\"" },
	{ "[socket:web]\nlisten = :80\nowner = root:\n" PROG,
	  "app.ini:3: [socket:web] owner: expected USER or USER:GROUP, got "
	  "\"root:\"" },

	/* [program:] values */
	{ PROG "workers = four\n",
	  "app.ini:3: [program:web] workers: expected a number or \"auto\", "
	  "got \"four\"" },
	{ PROG "workers = 0\n",
	  "app.ini:3: [program:web] workers: expected a number from 1 to "
	  "4096 or \"auto\", got \"0\"" },
	{ "[program:web]\ncommand = node 'app.js\n",
	  "app.ini:2: [program:web] command: unterminated single quote" },
	{ "[program:web]\ncommand = '' x\n",
	  "app.ini:2: [program:web] command: the program name is empty" },
	{ PROG "min_uptime = ten\n",
	  "app.ini:3: [program:web] min_uptime: expected a duration like "
	  "500ms, 10s, 1.5m or 1h, got \"ten\"" },
	{ PROG "stop_timeout = -1s\n",
	  "app.ini:3: [program:web] stop_timeout: expected a duration like "
	  "500ms, 10s, 1.5m or 1h, got \"-1s\"" },
	{ PROG "restart_delay = 5s\nrestart_delay_max = 2s\n",
	  "app.ini:4: [program:web] restart_delay_max: 2s is less than "
	  "restart_delay (5s)" },
	{ PROG "restart_delay = 1m\n",
	  "app.ini:3: [program:web] restart_delay: 1m is more than "
	  "restart_delay_max (30s)" },
	{ PROG "restart = sometimes\n",
	  "app.ini:3: [program:web] restart: expected always, on-failure or "
	  "never, got \"sometimes\"" },
	{ PROG "sockets = web\n",
	  "app.ini:3: [program:web] sockets: there is no [socket:web] "
	  "section" },
	{ "[socket:web]\nlisten = :80\n" PROG "sockets = web, web\n",
	  "app.ini:5: [program:web] sockets: socket \"web\" is named twice" },
	{ PROG "sockets = , ,\n",
	  "app.ini:3: [program:web] sockets: expected socket names separated "
	  "by commas or spaces, got \", ,\"" },
	{ PROG "sockets = a/b\n",
	  "app.ini:3: [program:web] sockets: invalid socket name \"a/b\"" },
	{ PROG "stop_signal = TERMINATE\n",
	  "app.ini:3: [program:web] stop_signal: unknown signal "
	  "\"TERMINATE\"; expected a name like TERM, INT, QUIT or HUP" },
	{ PROG "stop_signal = 15\n",
	  "app.ini:3: [program:web] stop_signal: signal numbers are not "
	  "accepted; use a name like TERM" },
	{ PROG "env = LISTEN_FDS=3\n",
	  "app.ini:3: [program:web] env: LISTEN_FDS is set by clusterd; "
	  "variables LISTEN_*, CLUSTERD_*, NODE_CHANNEL_* and NODE_UNIQUE_ID "
	  "cannot be set" },
	{ PROG "env = CLUSTERD_WORKER=1\n",
	  "app.ini:3: [program:web] env: CLUSTERD_WORKER is set by clusterd; "
	  "variables LISTEN_*, CLUSTERD_*, NODE_CHANNEL_* and NODE_UNIQUE_ID "
	  "cannot be set" },
	{ PROG "env = NODE_CHANNEL_FD=4\n",
	  "app.ini:3: [program:web] env: NODE_CHANNEL_FD is set by clusterd; "
	  "variables LISTEN_*, CLUSTERD_*, NODE_CHANNEL_* and NODE_UNIQUE_ID "
	  "cannot be set" },
	{ PROG "env = 1X=2\n",
	  "app.ini:3: [program:web] env: invalid variable name \"1X\": use "
	  "letters, digits and '_', not starting with a digit" },
	{ PROG "env = FOO\n",
	  "app.ini:3: [program:web] env: expected NAME=VALUE, got \"FOO\"" },
	{ PROG "env = A=1\nenv = A=2\n",
	  "app.ini:4: [program:web] env: A is already set by an earlier env "
	  "line" },
	{ PROG "user = nosuchuser\n",
	  "app.ini:3: [program:web] user: unknown user \"nosuchuser\"" },
	{ PROG "group = nosuchgroup\n",
	  "app.ini:3: [program:web] group: unknown group \"nosuchgroup\"" },
	{ PROG "umask = 0999\n",
	  "app.ini:3: [program:web] umask: expected an octal number from 0 "
	  "to 0777, got \"0999\"" },
	{ PROG "limit_nofile = 0\n",
	  "app.ini:3: [program:web] limit_nofile: expected a number from 1 "
	  "to 1073741824, got \"0\"" },
	{ PROG "stdout = stdout\n",
	  "app.ini:3: [program:web] stdout: expected auto, inherit, journal, "
	  "capture, null or a file path, got \"stdout\"" },
	{ PROG "stderr = stderr\n",
	  "app.ini:3: [program:web] stderr: expected auto, inherit, journal, "
	  "capture, null, stdout or a file path, got \"stderr\"" },
};

START_TEST(test_bad_file)
{
	first_error(bad_files[_i].text, bad_files[_i].error);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("good");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_continuation);
	tcase_add_test(tc, test_relative_paths);
	tcase_add_test(tc, test_users);
	tcase_add_test(tc, test_misc_good);
	tcase_add_test(tc, test_reload_twice);
	tcase_add_test(tc, test_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_defaults);
	tcase_add_test(tc, test_new_keys);
	tcase_add_test(tc, test_node_cluster);
	tcase_add_test(tc, test_node_handle_sharing);
	tcase_add_test(tc, test_node_cluster_sharing);
	tcase_add_test(tc, test_server_starter_path);
	tcase_add_test(tc, test_node_handle_length);
	tcase_add_test(tc, test_utf8_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("env_file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_env_file);
	tcase_add_test(tc, test_env_file_paths);
	tcase_add_test(tc, test_env_file_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("include");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_include_order);
	tcase_add_test(tc, test_include_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("runtime");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_runtime_command);
	tcase_add_test(tc, test_runtime_paths);
	tcase_add_test(tc, test_runtime_identity);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_cannot_open);
	tcase_add_loop_test(tc, test_bad_file, 0,
	    (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(config_suite());
}
