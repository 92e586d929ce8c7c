/*
 * SPDX-License-Identifier: ISC
 *
 * Unit tests of nodecl.c, the Node.js cluster primary's side of the
 * protocol: query matching, the replies' exact JSON, keys, the handle
 * queue, NACK resends, the bounds, bad input, exitedAfterDisconnect,
 * and saving a channel over an exec.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "nodecl.h"
#include "runner.h"

static const struct nodecl_sock socks[] = {
	{ "web", NODECL_TCP, NULL, 8000, NULL, 3, 10, NULL },
	{ "api", NODECL_UNIX, NULL, 0, "/run/app/api.sock", 4, 11, NULL },
	{ "lo6", NODECL_TCP, "::1", 8443, NULL, 5, 12, NULL },
	{ "lo4", NODECL_TCP, "127.0.0.1", 8443, NULL, 6, 13, NULL },
};
#define NSOCKS	(sizeof(socks) / sizeof(socks[0]))

static struct nodecl		nc;
static struct nodecl_result	res;

static void
setup(void)
{
	nodecl_init(&nc);
}

static void
teardown(void)
{
	nodecl_free(&nc);
}

static enum nodecl_event
feed(const char *line)
{
	return nodecl_input(&nc, line, strlen(line), socks, NSOCKS, &res);
}

static char *
query(long long seq, const char *fields)
{
	static char	line[8192];

	snprintf(line, sizeof(line), "{\"cmd\":\"NODE_CLUSTER\","
	    "\"act\":\"queryServer\",\"index\":0,%s,\"seq\":%lld}", fields,
	    seq);
	return line;
}

#define Q_PORT(p)	"\"data\":null,\"address\":null,\"port\":" #p \
			",\"addressType\":4,\"backlog\":0"

/* The next line to write must be text, with fd attached; write it all. */
static void
expect_out(const char *text, int fd)
{
	const char	*t;
	size_t		 len;
	int		 f;

	ck_assert_int_eq(nodecl_output(&nc, &t, &len, &f), 1);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_msg(memcmp(t, text, len) == 0, "wrote %.*s, expected %s",
	    (int)len, t, text);
	ck_assert_int_eq(f, fd);
	nodecl_wrote(&nc, len);
}

static void
expect_nothing(void)
{
	const char	*t;
	size_t		 len;
	int		 f;

	ck_assert_int_eq(nodecl_output(&nc, &t, &len, &f), 0);
}

/* Write whatever is queued; the number of lines. */
static int
drain(void)
{
	const char	*t;
	size_t		 len;
	int		 f, n = 0;

	while (nodecl_output(&nc, &t, &len, &f)) {
		nodecl_wrote(&nc, len);
		n++;
	}
	return n;
}

START_TEST(online_and_app_messages)
{
	static const char *app[] = {
		"ready", "\"ready\"", "{\"cmd\":\"ready\"}",
		"{\"act\":\"suicide\"}", "{\"cmd\":\"NODE_\"}",
		"{\"cmd\":\"node_cluster\"}", "{\"cmd\":7}", "[1,2]",
		"{not json", "", "{\"cmd\":\"NODE_CLUSTER\"", NULL
	};
	size_t	i;

	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"online\","
	    "\"seq\":0}"), NODECL_ONLINE);
	expect_nothing();
	for (i = 0; app[i] != NULL; i++) {
		ck_assert_int_eq(feed(app[i]), NODECL_APP);
		ck_assert_ptr_eq(res.nr_app, app[i]);
		ck_assert_uint_eq(res.nr_applen, strlen(app[i]));
	}
	expect_nothing();
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_DEBUG_ENABLED\"}"),
	    NODECL_IGNORED);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"newconn\","
	    "\"seq\":1}"), NODECL_IGNORED);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"ack\":3,"
	    "\"accepted\":true,\"seq\":2}"), NODECL_IGNORED);
	expect_nothing();
}
END_TEST

START_TEST(port_gets_the_shared_handle)
{
	ck_assert_int_eq(feed(query(1, Q_PORT(8000))), NODECL_SERVED);
	ck_assert_int_eq(res.nr_socket, 0);
	ck_assert_str_eq(res.nr_text, "listen(8000) gets socket web (*:8000, "
	    "fd 3)");
	ck_assert_uint_eq(res.nr_datalen, 4);
	expect_out("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":"
	    "{\"cmd\":\"NODE_CLUSTER\",\"errno\":0,\"key\":\"web:1\","
	    "\"ack\":1,\"data\":null,\"seq\":0}}\n", 10);
	expect_nothing();
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_HANDLE_ACK\"}"),
	    NODECL_HANDLE_ACK);
	expect_nothing();
}
END_TEST

START_TEST(host_path_fd_matching)
{
	/* any address: the configuration decides the interface */
	ck_assert_int_eq(feed(query(1, "\"data\":null,\"address\":\"10.1.2.3\","
	    "\"port\":8000,\"addressType\":4,\"flags\":0,\"backlog\":0")),
	    NODECL_SERVED);
	ck_assert_int_eq(res.nr_socket, 0);
	ck_assert_str_eq(res.nr_text, "listen(8000, \"10.1.2.3\") gets socket "
	    "web (*:8000, fd 3)");
	/* of two on one port, the one on that address, else the first */
	ck_assert_int_eq(feed(query(2, "\"data\":null,\"address\":"
	    "\"127.0.0.1\",\"port\":8443,\"addressType\":4,\"flags\":0")),
	    NODECL_SERVED);
	ck_assert_int_eq(res.nr_socket, 3);
	ck_assert_int_eq(feed(query(3, "\"data\":null,\"address\":\"::1\","
	    "\"port\":8443,\"addressType\":6,\"flags\":0")), NODECL_SERVED);
	ck_assert_int_eq(res.nr_socket, 2);
	ck_assert_str_eq(res.nr_text, "listen(8443, \"::1\") gets socket lo6 "
	    "([::1]:8443, fd 5)");
	ck_assert_int_eq(feed(query(4, Q_PORT(8443))), NODECL_SERVED);
	ck_assert_int_eq(res.nr_socket, 2);
	ck_assert_int_eq(feed(query(5, "\"data\":null,\"address\":"
	    "\"/run/app/api.sock\",\"port\":-1,\"addressType\":-1,"
	    "\"backlog\":0,\"readableAll\":true")), NODECL_SERVED);
	ck_assert_int_eq(res.nr_socket, 1);
	ck_assert_str_eq(res.nr_text, "listen(\"/run/app/api.sock\") gets "
	    "socket api (/run/app/api.sock, fd 4)");
	ck_assert_int_eq(feed(query(6, "\"data\":null,\"address\":null,"
	    "\"port\":null,\"addressType\":null,\"fd\":4,\"backlog\":0")),
	    NODECL_SERVED);
	ck_assert_int_eq(res.nr_socket, 1);
	ck_assert_str_eq(res.nr_text, "listen({fd: 4}) gets socket api "
	    "(/run/app/api.sock, fd 4)");
	ck_assert_int_eq(feed(query(7, "\"data\":null,\"address\":null,"
	    "\"port\":null,\"addressType\":null,\"fd\":6")), NODECL_SERVED);
	ck_assert_int_eq(res.nr_socket, 3);
	ck_assert_uint_eq(nc.nc_nheld, 7);
}
END_TEST

START_TEST(unmatched_gets_eaddrnotavail)
{
	ck_assert_int_eq(feed(query(9, Q_PORT(9000))), NODECL_REFUSED);
	ck_assert_int_eq(res.nr_errno, -99);
	ck_assert_str_eq(res.nr_text, "listen(9000) matches none of the "
	    "program's sockets: web (*:8000, fd 3), api (/run/app/api.sock, "
	    "fd 4), lo6 ([::1]:8443, fd 5), lo4 (127.0.0.1:8443, fd 6)");
	expect_out("{\"cmd\":\"NODE_CLUSTER\",\"errno\":-99,\"key\":"
	    "\"clusterd:1\",\"ack\":9,\"data\":null,\"seq\":0}\n", -1);
	/* no handle in flight: nothing blocks what follows */
	ck_assert_int_eq(feed(query(10, "\"data\":null,\"address\":"
	    "\"/run/app/other.sock\",\"port\":-1,\"addressType\":-1")),
	    NODECL_REFUSED);
	ck_assert_ptr_nonnull(strstr(res.nr_text,
	    "listen(\"/run/app/other.sock\") matches none"));
	ck_assert_int_eq(feed(query(11, "\"data\":null,\"address\":null,"
	    "\"port\":null,\"addressType\":null,\"fd\":9")), NODECL_REFUSED);
	ck_assert_ptr_nonnull(strstr(res.nr_text, "listen({fd: 9}) matches"));
	ck_assert_int_eq(feed(query(12, Q_PORT(0))), NODECL_REFUSED);
	ck_assert_ptr_nonnull(strstr(res.nr_text, "listen(0) (a port of the "
	    "system's choosing) matches none"));
	ck_assert_int_eq(feed(query(13, "\"data\":null,\"address\":"
	    "\"0.0.0.0\",\"port\":8000,\"addressType\":\"udp4\",\"fd\":-1,"
	    "\"flags\":0")), NODECL_REFUSED);
	ck_assert_ptr_nonnull(strstr(res.nr_text, "a UDP bind(8000)"));
	ck_assert_int_eq(drain(), 4);
	ck_assert_uint_eq(nc.nc_nheld, 0);
	ck_assert_int_eq(nodecl_input(&nc, query(14, Q_PORT(8000)),
	    strlen(query(14, Q_PORT(8000))), NULL, 0, &res), NODECL_REFUSED);
	ck_assert_ptr_nonnull(strstr(res.nr_text, "the program has no "
	    "sockets"));
}
END_TEST

START_TEST(data_is_echoed_verbatim)
{
	char			q[8192];
	struct nodecl_sock	shared[1];

	snprintf(q, sizeof(q), "%s", query(3, "\"data\": { \"ticketKeys\" : "
	    "\"00ff\\u0041\" }, \"address\":null,\"port\":8000,"
	    "\"addressType\":4"));

	ck_assert_int_eq(feed(q), NODECL_SERVED);
	ck_assert_uint_eq(res.nr_datalen, strlen("{ \"ticketKeys\" : "
	    "\"00ff\\u0041\" }"));
	ck_assert_int_eq(memcmp(res.nr_data, "{ \"ticketKeys\"", 14), 0);
	expect_out("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":"
	    "{\"cmd\":\"NODE_CLUSTER\",\"errno\":0,\"key\":\"web:1\","
	    "\"ack\":3,\"data\":{ \"ticketKeys\" : \"00ff\\u0041\" },"
	    "\"seq\":0}}\n", 10);
	feed("{\"cmd\":\"NODE_HANDLE_ACK\"}");
	/* an error reply echoes it too: a TLS worker reads it first */
	ck_assert_int_eq(feed(query(4, "\"data\":{\"ticketKeys\":\"ab\"},"
	    "\"address\":null,\"port\":1,\"addressType\":4")),
	    NODECL_REFUSED);
	expect_out("{\"cmd\":\"NODE_CLUSTER\",\"errno\":-99,\"key\":"
	    "\"clusterd:2\",\"ack\":4,\"data\":{\"ticketKeys\":\"ab\"},"
	    "\"seq\":1}\n", -1);
	/* the caller's data instead: one set of ticket keys for all */
	shared[0] = socks[0];
	shared[0].ns_data = "{\"ticketKeys\":\"cafe\"}";
	ck_assert_int_eq(nodecl_input(&nc, q, strlen(q), shared, 1, &res),
	    NODECL_SERVED);
	expect_out("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":"
	    "{\"cmd\":\"NODE_CLUSTER\",\"errno\":0,\"key\":\"web:3\","
	    "\"ack\":3,\"data\":{\"ticketKeys\":\"cafe\"},\"seq\":2}}\n", 10);
}
END_TEST

START_TEST(keys_are_unique)
{
	struct json_val	 v, msg, key;
	char		 keys[40][32], err[64];
	const char	*t;
	size_t		 len;
	int		 fd, i, j;

	for (i = 0; i < 40; i++) {
		feed(query(i, i % 3 ? Q_PORT(8000) : Q_PORT(7)));
		ck_assert_int_eq(nodecl_output(&nc, &t, &len, &fd), 1);
		ck_assert_int_eq(json_parse(t, len - 1, &v, err, sizeof(err)),
		    0);
		if (json_get(&v, "msg", &msg) == 0)
			v = msg;
		ck_assert_int_eq(json_get(&v, "key", &key), 0);
		ck_assert_int_eq(json_string(&key, keys[i], sizeof(keys[i])),
		    0);
		nodecl_wrote(&nc, len);
		if (fd != -1)
			feed("{\"cmd\":\"NODE_HANDLE_ACK\"}");
		for (j = 0; j < i; j++)
			ck_assert_str_ne(keys[i], keys[j]);
	}
	ck_assert_str_eq(keys[1], "web:2");
	ck_assert_str_eq(keys[3], "clusterd:4");
}
END_TEST

START_TEST(one_handle_in_flight)
{
	ck_assert_int_eq(feed(query(1, Q_PORT(8000))), NODECL_SERVED);
	ck_assert_int_eq(feed(query(2, Q_PORT(9))), NODECL_REFUSED);
	ck_assert_int_eq(feed(query(3, Q_PORT(8443))), NODECL_SERVED);
	expect_out("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":"
	    "{\"cmd\":\"NODE_CLUSTER\",\"errno\":0,\"key\":\"web:1\","
	    "\"ack\":1,\"data\":null,\"seq\":0}}\n", 10);
	/* even a line without a descriptor waits, as in Node */
	expect_nothing();
	/* but acknowledging a handle of the worker's goes first */
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_HANDLE\","
	    "\"type\":\"net.Socket\",\"msg\":{\"hello\":1},"
	    "\"key\":\"x\"}"), NODECL_APP);
	ck_assert_int_eq(strncmp(res.nr_app, "{\"hello\":1}", res.nr_applen),
	    0);
	ck_assert_uint_eq(res.nr_applen, 11);
	expect_out("{\"cmd\":\"NODE_HANDLE_ACK\"}\n", -1);
	expect_nothing();
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_HANDLE_ACK\"}"),
	    NODECL_HANDLE_ACK);
	expect_out("{\"cmd\":\"NODE_CLUSTER\",\"errno\":-99,\"key\":"
	    "\"clusterd:2\",\"ack\":2,\"data\":null,\"seq\":1}\n", -1);
	expect_out("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":"
	    "{\"cmd\":\"NODE_CLUSTER\",\"errno\":0,\"key\":\"lo6:3\","
	    "\"ack\":3,\"data\":null,\"seq\":2}}\n", 12);
	expect_nothing();
	/* a stray ACK changes nothing; the real one unblocks */
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_HANDLE_ACK\"}"),
	    NODECL_HANDLE_ACK);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_HANDLE_ACK\"}"),
	    NODECL_IGNORED);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_HANDLE_NACK\"}"),
	    NODECL_IGNORED);
	expect_nothing();
	ck_assert_uint_eq(nc.nc_count, 0);
}
END_TEST

START_TEST(partial_writes_attach_the_fd_once)
{
	const char	*t;
	size_t		 len, full;
	int		 fd;

	feed(query(1, Q_PORT(8000)));
	ck_assert_int_eq(nodecl_output(&nc, &t, &len, &fd), 1);
	ck_assert_int_eq(fd, 10);
	full = len;
	nodecl_wrote(&nc, 5);
	/* the worker acks a handle of its own meanwhile: after this line */
	feed("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":1}");
	ck_assert_int_eq(nodecl_output(&nc, &t, &len, &fd), 1);
	ck_assert_int_eq(fd, -1);
	ck_assert_uint_eq(len, full - 5);
	ck_assert_int_eq(strncmp(t, "\":\"NODE_HANDLE\",\"type", 20), 0);
	nodecl_wrote(&nc, len);
	expect_out("{\"cmd\":\"NODE_HANDLE_ACK\"}\n", -1);
	expect_nothing();
	/* an ACK line cut short is finished before anything else */
	feed("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":1}");
	ck_assert_int_eq(nodecl_output(&nc, &t, &len, &fd), 1);
	nodecl_wrote(&nc, 3);
	feed("{\"cmd\":\"NODE_HANDLE_ACK\"}");
	feed(query(2, Q_PORT(9)));
	expect_out("md\":\"NODE_HANDLE_ACK\"}\n", -1);
	expect_out("{\"cmd\":\"NODE_CLUSTER\",\"errno\":-99,\"key\":"
	    "\"clusterd:2\",\"ack\":2,\"data\":null,\"seq\":1}\n", -1);
}
END_TEST

START_TEST(nack_resends_then_gives_up)
{
	static const char handle[] = "{\"cmd\":\"NODE_HANDLE\",\"type\":"
	    "\"net.Native\",\"msg\":{\"cmd\":\"NODE_CLUSTER\",\"errno\":0,"
	    "\"key\":\"web:1\",\"ack\":7,\"data\":{\"a\":[1]},\"seq\":0}}\n";
	int	i;

	feed(query(7, "\"data\":{\"a\":[1]},\"address\":null,\"port\":8000,"
	    "\"addressType\":4"));
	feed(query(8, Q_PORT(8443)));
	expect_out(handle, 10);
	for (i = 1; i <= NODECL_RETRIES; i++) {
		ck_assert_int_eq(feed("{\"cmd\":\"NODE_HANDLE_NACK\"}"),
		    NODECL_HANDLE_NACK);
		ck_assert_uint_eq(res.nr_tries, (unsigned)i);
		expect_out(handle, 10);
		expect_nothing();
	}
	ck_assert_uint_eq(nc.nc_nheld, 2);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_HANDLE_NACK\"}"),
	    NODECL_HANDLE_LOST);
	ck_assert_int_eq(res.nr_errno, -24);
	ck_assert_ptr_nonnull(strstr(res.nr_text, "fails with EMFILE"));
	ck_assert_uint_eq(nc.nc_nheld, 1);
	expect_out("{\"cmd\":\"NODE_CLUSTER\",\"errno\":-24,\"key\":\"web:1\","
	    "\"ack\":7,\"data\":{\"a\":[1]},\"seq\":2}\n", -1);
	/* the next handle goes, and its first NACK starts a new count */
	expect_out("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":"
	    "{\"cmd\":\"NODE_CLUSTER\",\"errno\":0,\"key\":\"lo6:2\","
	    "\"ack\":8,\"data\":null,\"seq\":1}}\n", 12);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_HANDLE_NACK\"}"),
	    NODECL_HANDLE_NACK);
	ck_assert_uint_eq(res.nr_tries, 1);
}
END_TEST

START_TEST(queue_is_bounded)
{
	int	i;

	for (i = 0; i < NODECL_QUEUE_QUERIES; i++)
		ck_assert_int_eq(feed(query(i, Q_PORT(8000))), NODECL_SERVED);
	ck_assert_int_eq(feed(query(99, Q_PORT(8000))), NODECL_DROPPED);
	ck_assert_int_eq(feed(query(99, Q_PORT(1))), NODECL_DROPPED);
	ck_assert_ptr_nonnull(strstr(res.nr_text, "30 replies are waiting"));
	/* the room kept for a leaving worker */
	ck_assert_int_eq(nodecl_disconnect(&nc), 0);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\","
	    "\"act\":\"exitedAfterDisconnect\",\"seq\":5}"), NODECL_EXITED);
	ck_assert_uint_eq(nc.nc_count, NODECL_QUEUE_MAX);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\","
	    "\"act\":\"exitedAfterDisconnect\",\"seq\":6}"), NODECL_DROPPED);
	ck_assert_uint_eq(nc.nc_count, NODECL_QUEUE_MAX);
	for (i = 0; i < NODECL_ACKS_MAX; i++)
		ck_assert_int_eq(feed("{\"cmd\":\"NODE_HANDLE\",\"msg\":1}"),
		    NODECL_APP);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_HANDLE\",\"msg\":1}"),
	    NODECL_DROPPED);
	ck_assert_uint_eq(nc.nc_acks, NODECL_ACKS_MAX);
}
END_TEST

START_TEST(held_servers_are_bounded)
{
	char	close_msg[128];
	int	i;

	for (i = 0; i < NODECL_HELD_MAX; i++) {
		ck_assert_int_eq(feed(query(i, Q_PORT(8000))), NODECL_SERVED);
		drain();
		feed("{\"cmd\":\"NODE_HANDLE_ACK\"}");
	}
	ck_assert_int_eq(feed(query(100, Q_PORT(8000))), NODECL_REFUSED);
	ck_assert_int_eq(res.nr_errno, -24);
	ck_assert_str_eq(res.nr_text, "listen(8000) refused: it holds 64 "
	    "servers already");
	drain();
	snprintf(close_msg, sizeof(close_msg), "{\"cmd\":\"NODE_CLUSTER\","
	    "\"act\":\"close\",\"key\":\"web:%d\",\"seq\":200}", 17);
	ck_assert_int_eq(feed(close_msg), NODECL_CLOSE);
	ck_assert_int_eq(res.nr_socket, 0);
	ck_assert_int_eq(feed(close_msg), NODECL_IGNORED);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"close\","
	    "\"key\":\"clusterd:65\",\"seq\":201}"), NODECL_IGNORED);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"close\","
	    "\"key\":5,\"seq\":202}"), NODECL_IGNORED);
	ck_assert_int_eq(feed(query(101, Q_PORT(8000))), NODECL_SERVED);
}
END_TEST

START_TEST(oversized_data_is_refused)
{
	char	*big, *line;
	size_t	 n = NODECL_DATA_MAX + 100;

	big = malloc(n + 3);
	line = malloc(n + 200);
	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(line);
	big[0] = '"';
	memset(big + 1, 'a', n);
	big[n + 1] = '"';
	big[n + 2] = '\0';
	snprintf(line, n + 200, "{\"cmd\":\"NODE_CLUSTER\",\"act\":"
	    "\"queryServer\",\"data\":%s,\"port\":8000,\"addressType\":4,"
	    "\"seq\":4}", big);
	ck_assert_int_eq(feed(line), NODECL_REFUSED);
	ck_assert_int_eq(res.nr_errno, -22);
	expect_out("{\"cmd\":\"NODE_CLUSTER\",\"errno\":-22,\"key\":"
	    "\"clusterd:1\",\"ack\":4,\"data\":null,\"seq\":0}\n", -1);
	free(big);
	free(line);
}
END_TEST

START_TEST(malformed_internal_messages)
{
	static const char *bad[] = {
		"{\"cmd\":\"NODE_CLUSTER\"}",
		"{\"cmd\":\"NODE_CLUSTER\",\"act\":5,\"seq\":1}",
		"{\"cmd\":\"NODE_CLUSTER\",\"act\":\"queryServer\",\"port\":1}",
		"{\"cmd\":\"NODE_CLUSTER\",\"act\":\"queryServer\",\"seq\":-1}",
		"{\"cmd\":\"NODE_CLUSTER\",\"act\":\"queryServer\","
		    "\"seq\":1.5}",
		"{\"cmd\":\"NODE_CLUSTER\",\"act\":\"queryServer\","
		    "\"seq\":\"1\"}",
		"{\"cmd\":\"NODE_CLUSTER\",\"act\":\"queryServer\","
		    "\"seq\":9007199254740992}",
		"{\"cmd\":\"NODE_CLUSTER\",\"act\":\"exitedAfterDisconnect\"}",
		NULL
	};
	size_t	i;

	for (i = 0; bad[i] != NULL; i++) {
		ck_assert_msg(feed(bad[i]) == NODECL_MALFORMED, "%s", bad[i]);
		ck_assert_str_ne(res.nr_text, "");
	}
	expect_nothing();
	/* odd fields of a query with a seq still get an answer */
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":"
	    "\"queryServer\",\"port\":\"8000\",\"address\":[1],\"seq\":3}"),
	    NODECL_REFUSED);
	ck_assert_str_eq(res.nr_text, "a listen() request clusterd does not "
	    "know matches none of the program's sockets: web (*:8000, fd 3), "
	    "api (/run/app/api.sock, fd 4), lo6 ([::1]:8443, fd 5), lo4 "
	    "(127.0.0.1:8443, fd 6)");
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":"
	    "\"queryServer\",\"address\":\"/a\\nb\",\"port\":-1,\"seq\":4}"),
	    NODECL_REFUSED);
	ck_assert_ptr_nonnull(strstr(res.nr_text, "listen(\"/a?b\")"));
	ck_assert_int_eq(drain(), 2);
}
END_TEST

/* Random bytes, and valid messages cut and bit-flipped: never a crash. */
START_TEST(garbage_never_crashes)
{
	static const char *seeds[] = {
		"{\"cmd\":\"NODE_CLUSTER\",\"act\":\"queryServer\",\"index\":0,"
		    "\"data\":{\"ticketKeys\":\"00\"},\"address\":\"::1\","
		    "\"port\":8443,\"addressType\":6,\"flags\":0,\"seq\":1}",
		"{\"cmd\":\"NODE_CLUSTER\",\"act\":\"listening\",\"address\":"
		    "\"/run/app/api.sock\",\"port\":-1,\"addressType\":-1,"
		    "\"seq\":2}",
		"{\"cmd\":\"NODE_CLUSTER\",\"act\":\"close\",\"key\":\"web:1\","
		    "\"seq\":3}",
		"{\"cmd\":\"NODE_CLUSTER\",\"act\":\"exitedAfterDisconnect\","
		    "\"seq\":4}",
		"{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":"
		    "{\"cmd\":\"NODE_CLUSTER\"}}",
		"{\"cmd\":\"NODE_HANDLE_ACK\"}",
		"{\"cmd\":\"NODE_HANDLE_NACK\"}",
	};
	char		 line[512];
	unsigned	 r = 12345;
	size_t		 len, k, n;
	int		 i;

	for (i = 0; i < 20000; i++) {
		r = r * 1103515245 + 12345;
		n = (r >> 8) % (sizeof(seeds) / sizeof(seeds[0]));
		len = strlen(seeds[n]);
		memcpy(line, seeds[n], len);
		if (i % 3 == 0)
			len = (r >> 4) % (len + 1);
		for (k = 0; k < (size_t)(i % 4); k++) {
			r = r * 1103515245 + 12345;
			line[(r >> 8) % (len ? len : 1)] ^=
			    (char)(1 << (r % 8));
		}
		if (i % 7 == 0)
			for (k = 0; k < len; k++) {
				r = r * 1103515245 + 12345;
				line[k] = (char)(r >> 16);
			}
		nodecl_input(&nc, line, len, socks, NSOCKS, &res);
		ck_assert_uint_le(strlen(res.nr_text), NODECL_TEXT_MAX - 1);
		if (i % 5 == 0)
			drain();
		if (i % 11 == 0)
			feed("{\"cmd\":\"NODE_HANDLE_ACK\"}");
		if (i % 500 == 0) {
			nodecl_free(&nc);
			nodecl_init(&nc);
		}
	}
}
END_TEST

START_TEST(exited_after_disconnect_once)
{
	ck_assert_int_eq(feed(query(1, Q_PORT(8000))), NODECL_SERVED);
	ck_assert_int_eq(nodecl_leaving(&nc), 0);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\","
	    "\"act\":\"exitedAfterDisconnect\",\"seq\":5}"), NODECL_EXITED);
	ck_assert_int_eq(nodecl_leaving(&nc), 1);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\","
	    "\"act\":\"exitedAfterDisconnect\",\"seq\":6}"), NODECL_IGNORED);
	/* as Node's primary: a leaving worker's queries get no answer */
	ck_assert_int_eq(feed(query(7, Q_PORT(8000))), NODECL_IGNORED);
	/* and no disconnect of ours on top of its own */
	ck_assert_int_eq(nodecl_disconnect(&nc), 0);
	ck_assert_int_eq(drain(), 1);
	feed("{\"cmd\":\"NODE_HANDLE_ACK\"}");
	expect_out("{\"cmd\":\"NODE_CLUSTER\",\"ack\":5,\"seq\":1}\n", -1);
	expect_out("{\"cmd\":\"NODE_CLUSTER\",\"ack\":6,\"seq\":2}\n", -1);
	expect_nothing();
}
END_TEST

START_TEST(disconnect_message)
{
	ck_assert_int_eq(nodecl_disconnect(&nc), 0);
	ck_assert_int_eq(nodecl_disconnect(&nc), 0);
	ck_assert_int_eq(nodecl_leaving(&nc), 1);
	expect_out("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"disconnect\","
	    "\"seq\":0}\n", -1);
	expect_nothing();
	/* the worker closes its servers, then says nothing more */
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"close\","
	    "\"key\":\"web:1\",\"seq\":4}"), NODECL_IGNORED);
}
END_TEST

START_TEST(listening_is_reported)
{
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":"
	    "\"listening\",\"index\":0,\"data\":null,\"address\":null,"
	    "\"port\":8000,\"addressType\":4,\"backlog\":0,\"seq\":2}"),
	    NODECL_LISTENING);
	ck_assert_int_eq(res.nr_socket, 0);
	ck_assert_int_eq(res.nr_port, 8000);
	ck_assert_str_eq(res.nr_address, "");
	ck_assert_str_eq(res.nr_text, "listen(8000)");
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":"
	    "\"listening\",\"index\":0,\"data\":null,\"address\":"
	    "\"/run/app/api.sock\",\"port\":-1,\"addressType\":-1,"
	    "\"seq\":3}"), NODECL_LISTENING);
	ck_assert_int_eq(res.nr_socket, 1);
	ck_assert_int_eq(res.nr_port, -1);
	ck_assert_str_eq(res.nr_address, "/run/app/api.sock");
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":"
	    "\"listening\",\"address\":null,\"port\":null,\"addressType\":"
	    "null,\"fd\":6,\"seq\":4}"), NODECL_LISTENING);
	ck_assert_int_eq(res.nr_socket, 3);
	ck_assert_int_eq(res.nr_port, 0);
	ck_assert_int_eq(feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":"
	    "\"listening\",\"port\":4444,\"addressType\":4,\"seq\":5}"),
	    NODECL_LISTENING);
	ck_assert_int_eq(res.nr_socket, -1);
	expect_nothing();
}
END_TEST

/* Saved in the middle of everything, the copy carries on identically. */
START_TEST(save_and_restore)
{
	struct nodecl	 copy;
	char		*buf, err[128];
	size_t		 need, len1, len2;
	const char	*t1, *t2;
	int		 fd1, fd2, n;

	feed(query(1, "\"data\":{\"ticketKeys\":\"a\\\"b\\n\"},"
	    "\"address\":null,\"port\":8000,\"addressType\":4"));
	feed(query(2, Q_PORT(8443)));
	feed(query(3, Q_PORT(9)));
	feed("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"exitedAfterDisconnect\","
	    "\"seq\":4}");
	expect_out("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Native\",\"msg\":"
	    "{\"cmd\":\"NODE_CLUSTER\",\"errno\":0,\"key\":\"web:1\","
	    "\"ack\":1,\"data\":{\"ticketKeys\":\"a\\\"b\\n\"},\"seq\":0}}\n",
	    10);
	feed("{\"cmd\":\"NODE_HANDLE_NACK\"}");
	feed("{\"cmd\":\"NODE_HANDLE\",\"msg\":1}");
	ck_assert_int_eq(nodecl_output(&nc, &t1, &len1, &fd1), 1);
	nodecl_wrote(&nc, 4);
	need = nodecl_save(&nc, NULL, 0);
	buf = malloc(need + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(nodecl_save(&nc, buf, need + 1), need);
	ck_assert_uint_eq(strlen(buf), need);
	ck_assert_int_eq(nodecl_restore(&copy, buf, need, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(copy.nc_seq, nc.nc_seq);
	ck_assert_uint_eq(copy.nc_keys, nc.nc_keys);
	ck_assert_uint_eq(copy.nc_nheld, nc.nc_nheld);
	ck_assert_int_eq(copy.nc_exited, 1);
	for (n = 0; n < 20; n++) {
		ck_assert_int_eq(nodecl_output(&nc, &t1, &len1, &fd1),
		    nodecl_output(&copy, &t2, &len2, &fd2));
		if (!nodecl_output(&nc, &t1, &len1, &fd1)) {
			nodecl_input(&nc, "{\"cmd\":\"NODE_HANDLE_ACK\"}", 25,
			    socks, NSOCKS, &res);
			nodecl_input(&copy, "{\"cmd\":\"NODE_HANDLE_ACK\"}", 25,
			    socks, NSOCKS, &res);
			continue;
		}
		nodecl_output(&copy, &t2, &len2, &fd2);
		ck_assert_uint_eq(len1, len2);
		ck_assert_int_eq(memcmp(t1, t2, len1), 0);
		ck_assert_int_eq(fd1, fd2);
		nodecl_wrote(&nc, len1);
		nodecl_wrote(&copy, len2);
	}
	ck_assert_uint_eq(copy.nc_count, 0);
	nodecl_free(&copy);
	/* what is not a saved channel is refused, leaving nothing behind */
	buf[need / 2] = '\0';
	ck_assert_int_eq(nodecl_restore(&copy, buf, need / 2, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(nodecl_restore(&copy, "{\"v\":1}", 7, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "not a saved node-cluster channel");
	ck_assert_int_eq(nodecl_restore(&copy, "{\"v\":1,\"seq\":0,\"keys\":0,"
	    "\"inflight\":1,\"nacks\":0,\"acks\":0,\"part\":0,\"off\":0,"
	    "\"exited\":0,\"disconnect\":0,\"held\":[],\"queue\":[]}", 125,
	    err, sizeof(err)), -1);
	ck_assert_uint_eq(copy.nc_count, 0);
	free(buf);
}
END_TEST

static Suite *
nodecl_suite(void)
{
	Suite	*s = suite_create("nodecl");
	TCase	*tc = tcase_create("protocol");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, online_and_app_messages);
	tcase_add_test(tc, port_gets_the_shared_handle);
	tcase_add_test(tc, host_path_fd_matching);
	tcase_add_test(tc, unmatched_gets_eaddrnotavail);
	tcase_add_test(tc, data_is_echoed_verbatim);
	tcase_add_test(tc, keys_are_unique);
	tcase_add_test(tc, one_handle_in_flight);
	tcase_add_test(tc, partial_writes_attach_the_fd_once);
	tcase_add_test(tc, nack_resends_then_gives_up);
	tcase_add_test(tc, queue_is_bounded);
	tcase_add_test(tc, held_servers_are_bounded);
	tcase_add_test(tc, oversized_data_is_refused);
	tcase_add_test(tc, malformed_internal_messages);
	tcase_add_test(tc, garbage_never_crashes);
	tcase_add_test(tc, exited_after_disconnect_once);
	tcase_add_test(tc, disconnect_message);
	tcase_add_test(tc, listening_is_reported);
	tcase_add_test(tc, save_and_restore);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(nodecl_suite());
}
