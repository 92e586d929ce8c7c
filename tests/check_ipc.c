/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of the IPC message reader: JSON, bare words, and what is
 * rejected; and of the channel's reads, on a real socketpair.
 */

#include <sys/socket.h>
#include <sys/uio.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

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

#define MAX_SENT_FDS	32

/* A line with n copies of fd attached, as Node.js sends a handle. */
static void
send_with_fds(int sock, const char *line, int fd, int n)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * MAX_SENT_FDS)];
	}		 cm;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;
	int		 i;

	ck_assert_int_le(n, MAX_SENT_FDS);
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)line;
	iov.iov_len = strlen(line);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	for (i = 0; i < n; i++)
		memcpy(CMSG_DATA(c) + sizeof(int) * (size_t)i, &fd,
		    sizeof(int));
	ck_assert_int_eq(sendmsg(sock, &mh, 0), (ssize_t)strlen(line));
}

/* What the channel reports goes nowhere here. */
static void
ignore_news(struct worker *w, enum worker_event ev, int arg,
    const char *text)
{
	(void)w;
	(void)ev;
	(void)arg;
	(void)text;
}

/* A worker struct with just what the channel's code reads. */
static void
channel_worker(struct prog_conf *pc, struct worker *w)
{
	memset(pc, 0, sizeof(*pc));
	memset(w, 0, sizeof(*w));
	pc->pc_name = "t";
	pc->pc_ipc = IPC_JSON;
	w->w_conf = pc;
	w->w_cb = ignore_news;
	w->w_pid = getpid();
}

/*
 * A descriptor that comes with a message is closed at once; a read that
 * fails afterwards (ECONNRESET: the worker closed its end with data
 * unread) closes nothing, although its control buffer is the same stack
 * memory as the successful read's.  The descriptor number the first
 * close freed is taken again (as the next worker's channel would take
 * it) and must stay open.
 */
START_TEST(failed_read_closes_no_fd)
{
	struct prog_conf	 pc;
	struct worker		 w;
	int			 child, peer, pfd[2], reused;
	int			 open_after_first;

	channel_worker(&pc, &w);
	ck_assert_int_eq(ipc_open(&w, NULL, &child), 0);
	ck_assert_int_ne((peer = dup(child)), -1);
	ipc_started(&w, child, -1);		/* closes child; peer stays */
	/* unread data on the worker's side will make its close a reset */
	ck_assert_int_eq(write(w.w_ipc_io.fd, "x\n", 2), 2);
	ck_assert_int_eq(pipe(pfd), 0);
	send_with_fds(peer, "hello", pfd[0], 1);
	close(pfd[0]);
	/*
	 * No ck_assert and no first call of a library function until the
	 * second read: Check's bookkeeping and the dynamic linker would
	 * overwrite the stack where the read's control buffer was.
	 */
	ev_run(EV_DEFAULT, EVRUN_NOWAIT);
	open_after_first = ev_is_active(&w.w_ipc_io);
	/* the received copy is closed: its number is free, and reused */
	reused = dup(pfd[1]);
	close(peer);
	ev_run(EV_DEFAULT, EVRUN_NOWAIT);
	ck_assert(open_after_first);
	ck_assert(!ev_is_active(&w.w_ipc_io));
	ck_assert_int_ne(reused, -1);
	ck_assert_msg(fcntl(reused, F_GETFD) != -1,
	    "fd %d was closed by the failed read", reused);
	close(reused);
	close(pfd[1]);
}
END_TEST

/*
 * More descriptors than the master's control buffer holds (MSG_CTRUNC):
 * those that arrived are closed, the kernel drops the others, none is
 * left open: once the test closes its own copy of a pipe's write end,
 * the read end sees end-of-file.
 */
START_TEST(truncated_fds_are_closed)
{
	struct prog_conf	 pc;
	struct worker		 w;
	char			 c;
	int			 child, peer, pfd[2];

	channel_worker(&pc, &w);
	ck_assert_int_eq(ipc_open(&w, NULL, &child), 0);
	ck_assert_int_ne((peer = dup(child)), -1);
	ipc_started(&w, child, -1);
	ck_assert_int_eq(pipe2(pfd, O_NONBLOCK), 0);
	send_with_fds(peer, "hello\n", pfd[1], MAX_SENT_FDS);
	close(pfd[1]);
	ev_run(EV_DEFAULT, EVRUN_NOWAIT);
	ck_assert(ev_is_active(&w.w_ipc_io));
	ck_assert_int_eq(read(pfd[0], &c, 1), 0);
	ipc_close(&w);
	close(peer);
	close(pfd[0]);
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
	tc = tcase_create("channel");
	tcase_add_test(tc, failed_read_closes_no_fd);
	tcase_add_test(tc, truncated_fds_are_closed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(ipc_suite());
}
