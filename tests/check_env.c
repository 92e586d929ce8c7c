/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of a worker's environment.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "runner.h"

/* A spawn request for slot of pc, with no sockets open. */
static const struct spawn_req *
req(struct prog_conf *pc, int slot)
{
	static struct spawn_req	sr;

	memset(&sr, 0, sizeof(sr));
	sr.sr_conf = pc;
	sr.sr_slot = slot;
	return &sr;
}

static const char *
lookup(char **envp, const char *name)
{
	size_t	len = strlen(name), i;

	for (i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
			return envp[i] + len + 1;
	return NULL;
}

static size_t
count(char **envp, const char *name)
{
	size_t	len = strlen(name), i, n = 0;

	for (i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
			n++;
	return n;
}

START_TEST(sockets_and_identity)
{
	char			*socks[] = { "web", "admin-v1.x", NULL };
	char			*env[] = { "FOO=bar", "CLUSTERD_FD_WEB=9", NULL };
	char			*base[] = { "PATH=/bin", "LISTEN_FDS=4",
				    "LISTEN_PID=1", "NOTIFY_SOCKET=/x",
				    "WATCHDOG_USEC=5", "FOO=old",
				    "CLUSTERD_WORKER=7", NULL };
	char			*argv[] = { "w", NULL };
	struct prog_conf	 pc;
	char			**envp;

	memset(&pc, 0, sizeof(pc));
	pc.pc_name = "web";
	pc.pc_argv = argv;
	pc.pc_sockets = socks;
	pc.pc_nsockets = 2;
	pc.pc_env = env;
	pc.pc_nenv = 1;
	envp = env_build(req(&pc, 3), 42, 5, base);
	ck_assert_ptr_nonnull(envp);
	ck_assert_str_eq(lookup(envp, "PATH"), "/bin");
	ck_assert_str_eq(lookup(envp, "FOO"), "bar");
	ck_assert_uint_eq(count(envp, "FOO"), 1);
	ck_assert_str_eq(lookup(envp, "LISTEN_FDS"), "2");
	ck_assert_str_eq(lookup(envp, "LISTEN_FDNAMES"), "web:admin-v1.x");
	ck_assert_str_eq(lookup(envp, "CLUSTERD_FD_WEB"), "3");
	ck_assert_str_eq(lookup(envp, "CLUSTERD_FD_ADMIN_V1_X"), "4");
	ck_assert_str_eq(lookup(envp, "CLUSTERD_PROGRAM"), "web");
	ck_assert_str_eq(lookup(envp, "CLUSTERD_WORKER"), "3");
	ck_assert_str_eq(lookup(envp, "CLUSTERD_MASTER_PID"), "42");
	ck_assert_ptr_null(lookup(envp, "NOTIFY_SOCKET"));
	ck_assert_ptr_null(lookup(envp, "WATCHDOG_USEC"));
	ck_assert_uint_eq(count(envp, "LISTEN_PID"), 1);
	ck_assert_str_eq(lookup(envp, "CLUSTERD_IPC_FD"), "5");
	ck_assert_ptr_null(lookup(envp, "NODE_CHANNEL_FD"));
	env_fill_listen_pid(envp, 12345);
	ck_assert_str_eq(lookup(envp, "LISTEN_PID"), "12345");
	env_free(envp);
}
END_TEST

START_TEST(no_sockets_no_listen_vars)
{
	char			*argv[] = { "w", NULL };
	char			*base[] = { "LISTEN_FDS=1", NULL };
	struct prog_conf	 pc;
	char			**envp;

	memset(&pc, 0, sizeof(pc));
	pc.pc_name = "batch";
	pc.pc_argv = argv;
	pc.pc_user = "nobody";
	pc.pc_home = "/nonexistent";
	envp = env_build(req(&pc, 0), 1, -1, base);
	ck_assert_ptr_nonnull(envp);
	ck_assert_ptr_null(lookup(envp, "LISTEN_FDS"));
	ck_assert_ptr_null(lookup(envp, "LISTEN_PID"));
	ck_assert_ptr_null(lookup(envp, "LISTEN_FDNAMES"));
	ck_assert_str_eq(lookup(envp, "USER"), "nobody");
	ck_assert_str_eq(lookup(envp, "LOGNAME"), "nobody");
	ck_assert_str_eq(lookup(envp, "HOME"), "/nonexistent");
	ck_assert_ptr_null(lookup(envp, "CLUSTERD_IPC_FD"));
	env_free(envp);
}
END_TEST

START_TEST(node_channel)
{
	char			*argv[] = { "node", NULL };
	char			*base[] = { "NODE_CHANNEL_FD=9", NULL };
	struct prog_conf	 pc;
	char			**envp;

	memset(&pc, 0, sizeof(pc));
	pc.pc_name = "app";
	pc.pc_argv = argv;
	pc.pc_ipc = IPC_NODE;
	envp = env_build(req(&pc, 0), 1, 3, base);
	ck_assert_ptr_nonnull(envp);
	ck_assert_str_eq(lookup(envp, "CLUSTERD_IPC_FD"), "3");
	ck_assert_str_eq(lookup(envp, "NODE_CHANNEL_FD"), "3");
	ck_assert_str_eq(lookup(envp, "NODE_CHANNEL_SERIALIZATION_MODE"),
	    "json");
	ck_assert_uint_eq(count(envp, "NODE_CHANNEL_FD"), 1);
	env_free(envp);
}
END_TEST

static Suite *
env_suite(void)
{
	Suite	*s = suite_create("env");
	TCase	*tc = tcase_create("env");

	tcase_add_test(tc, sockets_and_identity);
	tcase_add_test(tc, no_sockets_no_listen_vars);
	tcase_add_test(tc, node_channel);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(env_suite());
}
