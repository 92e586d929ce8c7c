/*
 * SPDX-License-Identifier: ISC
 *
 * The Node.js cluster primary's side of the cluster protocol, for one
 * worker's channel: what Node's lib/internal/cluster/primary.js and
 * lib/internal/child_process.js do, without forking, binding or
 * accepting anything.
 *
 * A worker (NODE_UNIQUE_ID set) asks for every server it listens on with
 * {"cmd":"NODE_CLUSTER","act":"queryServer",...,"seq":N}; we answer with
 * the program's matching socket as a shared handle, or with an error the
 * app sees as its listen() failing.  Handles go one at a time: Node's
 * channel sends nothing after a handle until the receiver's
 * NODE_HANDLE_ACK, and we keep the same rule so the worker's reads never
 * see two descriptors in one chunk.  A NODE_HANDLE_NACK (the descriptor
 * did not arrive: the worker is out of descriptors) sends it again, up to
 * NODECL_RETRIES times; then the worker is told EMFILE, so its listen()
 * fails instead of hanging.  (Node's own primary does not resend a
 * net.Native handle at all: its NACK retry exists for net.Socket only.)
 *
 * Bounds: at most NODECL_QUEUE_MAX lines wait, of which at most
 * NODECL_QUEUE_QUERIES replies to queryServer (the rest is kept for the
 * replies a leaving worker needs); at most NODECL_ACKS_MAX acks are owed;
 * a query's data is at most NODECL_DATA_MAX bytes.  What would pass a
 * bound is dropped and reported, never queued: a worker flooding the
 * channel costs at most about 140 KiB.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "nodecl.h"

#define SEQ_MAX		9007199254740991LL	/* 2^53 - 1: a JS integer */
#define KEY_NAME_MAX	64

enum query_kind {
	Q_PORT,		/* listen(PORT[, HOST]) */
	Q_PATH,		/* listen(PATH) */
	Q_FD,		/* listen({fd: N}) */
	Q_EPHEMERAL,	/* listen(0) or listen() */
	Q_UDP,		/* dgram's bind() */
	Q_OTHER
};

struct query {
	enum query_kind	 q_kind;
	long long	 q_seq;
	const char	*q_data;	/* raw JSON */
	size_t		 q_datalen;
	char		 q_addr[NODECL_ADDR_MAX];
	int		 q_has_addr;	/* a string that fit q_addr */
	long long	 q_port;
	long long	 q_fd;
};

static const char ack_line[] = "{\"cmd\":\"NODE_HANDLE_ACK\"}\n";

static enum nodecl_event on_internal(struct nodecl *, const struct json_val *,
		    const char *, const struct nodecl_sock *, size_t,
		    struct nodecl_result *);
static enum nodecl_event on_cluster(struct nodecl *, const struct json_val *,
		    const struct nodecl_sock *, size_t, struct nodecl_result *);
static enum nodecl_event on_handle(struct nodecl *, const struct json_val *,
		    struct nodecl_result *);
static enum nodecl_event on_ack(struct nodecl *, int, struct nodecl_result *);
static enum nodecl_event on_query(struct nodecl *, const struct json_val *,
		    const struct nodecl_sock *, size_t, struct nodecl_result *);
static enum nodecl_event on_listening(const struct json_val *,
		    const struct nodecl_sock *, size_t, struct nodecl_result *);
static enum nodecl_event on_close(struct nodecl *, const struct json_val *,
		    const struct nodecl_sock *, size_t, struct nodecl_result *);
static enum nodecl_event on_exited(struct nodecl *, const struct json_val *,
		    struct nodecl_result *);
static enum nodecl_event refuse(struct nodecl *, const struct query *, int,
		    const char *, const struct nodecl_sock *, size_t,
		    struct nodecl_result *);
static enum nodecl_event serve(struct nodecl *, const struct query *,
		    const struct nodecl_sock *, size_t, int,
		    struct nodecl_result *);
static void	query_parse(const struct json_val *, struct query *);
static int	query_match(const struct query *, const struct nodecl_sock *,
		    size_t);
static void	query_describe(const struct query *, char *, size_t);
static void	socks_describe(const struct nodecl_sock *, size_t, char *,
		    size_t);
static void	nsock_describe(const struct nodecl_sock *, char *, size_t);
static int	get_seq(const struct json_val *, long long *);
static long long get_int(const struct json_val *, const char *, long long);
static int	is_internal(const struct json_val *, char *, size_t);
static int	sock_index(const struct nodecl_sock *, size_t, int);
static char	*line_make(size_t *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	queue_push(struct nodecl *, char *, size_t, int, int,
		    unsigned long long);
static void	queue_pop(struct nodecl *);
static size_t	queue_queries(const struct nodecl *);
static struct nodecl_msg *queue_head(const struct nodecl *);
static void	held_drop(struct nodecl *, unsigned long long);
static void	handle_lost(struct nodecl *, struct nodecl_result *);
static enum nodecl_part out_part(const struct nodecl *);
static void	key_make(const char *, unsigned long long, char *, size_t);
static void	text_clean(char *);
static enum nodecl_event drop(struct nodecl_result *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

void
nodecl_init(struct nodecl *nc)
{
	memset(nc, 0, sizeof(*nc));
	nc->nc_part = NODECL_PART_NONE;
}

void
nodecl_free(struct nodecl *nc)
{
	while (nc->nc_count > 0)
		queue_pop(nc);
	nodecl_init(nc);
}

/*
 * One complete line the worker sent, without its newline.  socks are the
 * worker's sockets (for queryServer and listening).  Fills *res and
 * returns its nr_event.  Anything that is not one of Node's internal
 * messages (an object whose "cmd" is a string "NODE_..."), JSON or not,
 * is the app's: NODECL_APP.
 */
enum nodecl_event
nodecl_input(struct nodecl *nc, const char *line, size_t len,
    const struct nodecl_sock *socks, size_t nsocks, struct nodecl_result *res)
{
	struct json_val	 v;
	char		 cmd[32], err[128];

	memset(res, 0, sizeof(*res));
	res->nr_socket = -1;
	res->nr_app = line;
	res->nr_applen = len;
	if (json_parse(line, len, &v, err, sizeof(err)) == -1 ||
	    !is_internal(&v, cmd, sizeof(cmd)))
		return res->nr_event = NODECL_APP;
	res->nr_app = NULL;
	res->nr_applen = 0;
	return res->nr_event = on_internal(nc, &v, cmd, socks, nsocks, res);
}

static enum nodecl_event
on_internal(struct nodecl *nc, const struct json_val *v, const char *cmd,
    const struct nodecl_sock *socks, size_t nsocks, struct nodecl_result *res)
{
	if (strcmp(cmd, "NODE_CLUSTER") == 0)
		return on_cluster(nc, v, socks, nsocks, res);
	if (strcmp(cmd, "NODE_HANDLE_ACK") == 0)
		return on_ack(nc, 1, res);
	if (strcmp(cmd, "NODE_HANDLE_NACK") == 0)
		return on_ack(nc, 0, res);
	if (strcmp(cmd, "NODE_HANDLE") == 0)
		return on_handle(nc, v, res);
	snprintf(res->nr_text, sizeof(res->nr_text),
	    "an internal message %s, not for a cluster primary", cmd);
	text_clean(res->nr_text);
	return NODECL_IGNORED;
}

static enum nodecl_event
on_cluster(struct nodecl *nc, const struct json_val *v,
    const struct nodecl_sock *socks, size_t nsocks, struct nodecl_result *res)
{
	struct json_val	act;
	char		name[32];

	if (json_get(v, "act", &act) == -1) {
		/* an ack of one of ours: Node's workers send those for
		   round-robin connections only, which we never send */
		if (json_get(v, "ack", &act) == 0)
			return NODECL_IGNORED;
		snprintf(res->nr_text, sizeof(res->nr_text),
		    "a NODE_CLUSTER message with neither act nor ack");
		return NODECL_MALFORMED;
	}
	if (json_string(&act, name, sizeof(name)) == -1) {
		snprintf(res->nr_text, sizeof(res->nr_text),
		    "a NODE_CLUSTER message whose act is not a short string");
		return NODECL_MALFORMED;
	}
	if (strcmp(name, "online") == 0)
		return NODECL_ONLINE;
	if (strcmp(name, "queryServer") == 0)
		return on_query(nc, v, socks, nsocks, res);
	if (strcmp(name, "listening") == 0)
		return on_listening(v, socks, nsocks, res);
	if (strcmp(name, "close") == 0)
		return on_close(nc, v, socks, nsocks, res);
	if (strcmp(name, "exitedAfterDisconnect") == 0)
		return on_exited(nc, v, res);
	snprintf(res->nr_text, sizeof(res->nr_text),
	    "a NODE_CLUSTER message with act %s, unknown to a primary", name);
	text_clean(res->nr_text);
	return NODECL_IGNORED;
}

/*
 * The worker sent a handle of its own (process.send(msg, socket)): its
 * channel sends nothing more until we acknowledge it, so we do at once
 * (the descriptor itself is the caller's to close).  The message it
 * carried is the app's.
 */
static enum nodecl_event
on_handle(struct nodecl *nc, const struct json_val *v,
    struct nodecl_result *res)
{
	struct json_val	msg;
	char		cmd[32];

	if (nc->nc_acks >= NODECL_ACKS_MAX)
		return drop(res, "a handle from the worker: %d acks are owed "
		    "already", NODECL_ACKS_MAX);
	nc->nc_acks++;
	if (json_get(v, "msg", &msg) == -1 || is_internal(&msg, cmd,
	    sizeof(cmd))) {
		snprintf(res->nr_text, sizeof(res->nr_text),
		    "a handle from the worker, acknowledged");
		return NODECL_IGNORED;
	}
	res->nr_app = msg.jv_text;
	res->nr_applen = msg.jv_len;
	return NODECL_APP;
}

static enum nodecl_event
on_ack(struct nodecl *nc, int ok, struct nodecl_result *res)
{
	if (!nc->nc_inflight) {
		snprintf(res->nr_text, sizeof(res->nr_text),
		    "NODE_HANDLE_%s with no handle in flight",
		    ok ? "ACK" : "NACK");
		return NODECL_IGNORED;
	}
	nc->nc_inflight = 0;
	if (ok) {
		queue_pop(nc);
		nc->nc_nacks = 0;
		return NODECL_HANDLE_ACK;
	}
	if (nc->nc_nacks < NODECL_RETRIES) {
		res->nr_tries = ++nc->nc_nacks;
		snprintf(res->nr_text, sizeof(res->nr_text), "the worker did "
		    "not receive its server handle: sending it again "
		    "(%u of %d)", res->nr_tries, NODECL_RETRIES);
		return NODECL_HANDLE_NACK;
	}
	handle_lost(nc, res);
	return NODECL_HANDLE_LOST;
}

/*
 * Give up on the handle at the head: the same reply, errno EMFILE and no
 * descriptor, so the worker's listen() fails with an error it can show.
 */
static void
handle_lost(struct nodecl *nc, struct nodecl_result *res)
{
	struct nodecl_msg	*m = queue_head(nc);
	struct json_val		 v, msg, key, ack, data;
	char			 err[64], *text;
	size_t			 len;
	long long		 seq;

	nc->nc_nacks = 0;
	res->nr_errno = NODECL_EMFILE;
	held_drop(nc, m->nm_key);
	if (json_parse(m->nm_text, m->nm_len, &v, err, sizeof(err)) == -1 ||
	    json_get(&v, "msg", &msg) == -1 ||
	    json_get(&msg, "key", &key) == -1 ||
	    json_get(&msg, "ack", &ack) == -1 ||
	    json_get(&msg, "data", &data) == -1 ||
	    json_int(&ack, 0, SEQ_MAX, &seq) == -1)
		text = NULL;
	else
		text = line_make(&len, "{\"cmd\":\"NODE_CLUSTER\",\"errno\":%d,"
		    "\"key\":%.*s,\"ack\":%lld,\"data\":%.*s,\"seq\":%llu}\n",
		    NODECL_EMFILE, (int)key.jv_len, key.jv_text, seq,
		    (int)data.jv_len, data.jv_text, nc->nc_seq);
	snprintf(res->nr_text, sizeof(res->nr_text), "the worker did not "
	    "receive its server handle (NODE_HANDLE_NACK %d times: it is "
	    "probably out of file descriptors); %s", NODECL_RETRIES + 1,
	    text != NULL ? "its listen() fails with EMFILE" :
	    "out of memory: its listen() will not return");
	if (text == NULL) {
		queue_pop(nc);
		return;
	}
	nc->nc_seq++;
	free(m->nm_text);
	m->nm_text = text;
	m->nm_len = len;
	m->nm_fd = -1;
	m->nm_key = 0;
}

static enum nodecl_event
on_query(struct nodecl *nc, const struct json_val *v,
    const struct nodecl_sock *socks, size_t nsocks, struct nodecl_result *res)
{
	struct query	q;
	int		i;

	if (get_seq(v, &q.q_seq) == -1) {
		snprintf(res->nr_text, sizeof(res->nr_text),
		    "a queryServer without an integer seq cannot be answered");
		return NODECL_MALFORMED;
	}
	query_parse(v, &q);
	if (nodecl_leaving(nc)) {
		/* as Node's primary: a leaving worker's listen() waits */
		snprintf(res->nr_text, sizeof(res->nr_text),
		    "queryServer after disconnect: not answered");
		return NODECL_IGNORED;
	}
	if (queue_queries(nc) >= NODECL_QUEUE_QUERIES)
		return drop(res, "queryServer: %d replies are waiting already",
		    NODECL_QUEUE_QUERIES);
	if (q.q_datalen > NODECL_DATA_MAX) {
		q.q_data = "null";
		q.q_datalen = 4;
		return refuse(nc, &q, NODECL_EINVAL, "its server data is "
		    "longer than 4096 bytes", socks, nsocks, res);
	}
	if ((i = query_match(&q, socks, nsocks)) == -1)
		return refuse(nc, &q, NODECL_EADDRNOTAVAIL, NULL, socks,
		    nsocks, res);
	if (nc->nc_nheld >= NODECL_HELD_MAX)
		return refuse(nc, &q, NODECL_EMFILE, "it holds 64 servers "
		    "already", socks, nsocks, res);
	return serve(nc, &q, socks, nsocks, i, res);
}

static enum nodecl_event
serve(struct nodecl *nc, const struct query *q,
    const struct nodecl_sock *socks, size_t nsocks, int i,
    struct nodecl_result *res)
{
	const struct nodecl_sock	*s = &socks[i];
	const char			*data = q->q_data;
	char				 key[KEY_NAME_MAX * 6 + 32], *text;
	char				 what[160], sock[160];
	size_t				 datalen = q->q_datalen, len;
	unsigned long long		 k = nc->nc_keys + 1;

	(void)nsocks;
	key_make(s->ns_name, k, key, sizeof(key));
	if (s->ns_data != NULL) {
		data = s->ns_data;
		datalen = strlen(data);
	}
	text = line_make(&len, "{\"cmd\":\"NODE_HANDLE\","
	    "\"type\":\"net.Native\",\"msg\":{\"cmd\":\"NODE_CLUSTER\","
	    "\"errno\":0,\"key\":%s,\"ack\":%lld,\"data\":%.*s,"
	    "\"seq\":%llu}}\n", key, q->q_seq, (int)datalen, data,
	    nc->nc_seq);
	if (text == NULL || queue_push(nc, text, len, s->ns_fd, 1, k) == -1) {
		free(text);
		return drop(res, "queryServer: out of memory");
	}
	nc->nc_seq++;
	nc->nc_keys = k;
	nc->nc_held[nc->nc_nheld].nh_key = k;
	nc->nc_held[nc->nc_nheld++].nh_child_fd = s->ns_child_fd;
	res->nr_socket = i;
	res->nr_data = q->q_data;
	res->nr_datalen = q->q_datalen;
	query_describe(q, what, sizeof(what));
	nsock_describe(s, sock, sizeof(sock));
	snprintf(res->nr_text, sizeof(res->nr_text), "%s gets socket %s",
	    what, sock);
	text_clean(res->nr_text);
	return NODECL_SERVED;
}

/*
 * The error reply: the query's data echoed even here, since the worker
 * hands it to _setServerData() before it looks at errno (a TLS server
 * given null would throw).
 */
static enum nodecl_event
refuse(struct nodecl *nc, const struct query *q, int errnum,
    const char *why, const struct nodecl_sock *socks, size_t nsocks,
    struct nodecl_result *res)
{
	char	 what[160], list[NODECL_TEXT_MAX], *text;
	size_t	 len;

	text = line_make(&len, "{\"cmd\":\"NODE_CLUSTER\",\"errno\":%d,"
	    "\"key\":\"clusterd:%llu\",\"ack\":%lld,\"data\":%.*s,"
	    "\"seq\":%llu}\n", errnum, nc->nc_keys + 1, q->q_seq,
	    (int)q->q_datalen, q->q_data, nc->nc_seq);
	if (text == NULL || queue_push(nc, text, len, -1, 1, 0) == -1) {
		free(text);
		return drop(res, "queryServer: out of memory");
	}
	nc->nc_seq++;
	nc->nc_keys++;
	res->nr_errno = errnum;
	query_describe(q, what, sizeof(what));
	if (why != NULL)
		snprintf(res->nr_text, sizeof(res->nr_text), "%s refused: %s",
		    what, why);
	else if (nsocks == 0)
		snprintf(res->nr_text, sizeof(res->nr_text), "%s refused: the "
		    "program has no sockets", what);
	else {
		socks_describe(socks, nsocks, list, sizeof(list));
		snprintf(res->nr_text, sizeof(res->nr_text), "%s matches none "
		    "of the program's sockets: %s", what, list);
	}
	text_clean(res->nr_text);
	return NODECL_REFUSED;
}

static enum nodecl_event
on_listening(const struct json_val *v, const struct nodecl_sock *socks,
    size_t nsocks, struct nodecl_result *res)
{
	struct query	q;

	query_parse(v, &q);
	res->nr_socket = query_match(&q, socks, nsocks);
	if (q.q_has_addr)
		snprintf(res->nr_address, sizeof(res->nr_address), "%s",
		    q.q_addr);
	res->nr_port = q.q_port > 0 && q.q_port <= 65535 ? (int)q.q_port :
	    q.q_kind == Q_PATH ? -1 : 0;
	query_describe(&q, res->nr_text, sizeof(res->nr_text));
	text_clean(res->nr_text);
	return NODECL_LISTENING;
}

static enum nodecl_event
on_close(struct nodecl *nc, const struct json_val *v,
    const struct nodecl_sock *socks, size_t nsocks, struct nodecl_result *res)
{
	struct json_val		 key;
	char			 text[2 * KEY_NAME_MAX + 32], *colon, *end;
	unsigned long long	 k;
	size_t			 i;

	if (json_get(v, "key", &key) == -1 ||
	    json_string(&key, text, sizeof(text)) == -1 ||
	    (colon = strrchr(text, ':')) == NULL) {
		snprintf(res->nr_text, sizeof(res->nr_text),
		    "close of a server with a key clusterd never gave");
		return NODECL_IGNORED;
	}
	errno = 0;
	k = strtoull(colon + 1, &end, 10);
	for (i = 0; i < nc->nc_nheld; i++) {
		if (*end != '\0' || errno != 0 || nc->nc_held[i].nh_key != k)
			continue;
		res->nr_socket = sock_index(socks, nsocks,
		    nc->nc_held[i].nh_child_fd);
		held_drop(nc, k);
		return NODECL_CLOSE;
	}
	snprintf(res->nr_text, sizeof(res->nr_text),
	    "close of a server with a key clusterd never gave");
	return NODECL_IGNORED;
}

/*
 * cluster.worker.disconnect() in the worker: it has closed its servers
 * and calls process.disconnect() only when this is acknowledged.
 */
static enum nodecl_event
on_exited(struct nodecl *nc, const struct json_val *v,
    struct nodecl_result *res)
{
	long long	 seq;
	char		*text;
	size_t		 len;

	if (get_seq(v, &seq) == -1) {
		snprintf(res->nr_text, sizeof(res->nr_text), "an "
		    "exitedAfterDisconnect without an integer seq cannot be "
		    "answered");
		return NODECL_MALFORMED;
	}
	text = line_make(&len, "{\"cmd\":\"NODE_CLUSTER\",\"ack\":%lld,"
	    "\"seq\":%llu}\n", seq, nc->nc_seq);
	if (text == NULL || queue_push(nc, text, len, -1, 0, 0) == -1) {
		free(text);
		return drop(res, "exitedAfterDisconnect: %s", text == NULL ?
		    "out of memory" : "the queue is full");
	}
	nc->nc_seq++;
	if (nc->nc_exited) {
		snprintf(res->nr_text, sizeof(res->nr_text),
		    "exitedAfterDisconnect again: acknowledged");
		return NODECL_IGNORED;
	}
	nc->nc_exited = 1;
	return NODECL_EXITED;
}

/*
 * Queue the primary's disconnect (Node's worker.disconnect()): the worker
 * closes its servers, lets their connections finish, closes the channel
 * and exits.  Once only; nothing is sent to a worker that is leaving by
 * itself already (a second disconnect would make its process.disconnect()
 * throw).  0, or -1 when the queue is full or memory is short.
 */
int
nodecl_disconnect(struct nodecl *nc)
{
	char	*text;
	size_t	 len;

	if (nodecl_leaving(nc))
		return 0;
	text = line_make(&len, "{\"cmd\":\"NODE_CLUSTER\",\"act\":"
	    "\"disconnect\",\"seq\":%llu}\n", nc->nc_seq);
	if (text == NULL || queue_push(nc, text, len, -1, 0, 0) == -1) {
		free(text);
		return -1;
	}
	nc->nc_seq++;
	nc->nc_disconnect = 1;
	return 0;
}

/* The worker is leaving: it said exitedAfterDisconnect, or we disconnect. */
int
nodecl_leaving(const struct nodecl *nc)
{
	return nc->nc_exited || nc->nc_disconnect;
}

/*
 * What to write next: 1 with the bytes and the descriptor to attach to
 * them (-1: none; only ever with the first byte of a line), or 0 when
 * nothing can go now (nothing queued, or a handle awaits its ACK).
 * Report what was written with nodecl_wrote().
 */
int
nodecl_output(const struct nodecl *nc, const char **text, size_t *len,
    int *fd)
{
	const struct nodecl_msg	*m;
	size_t			 off;

	off = nc->nc_part == NODECL_PART_NONE ? 0 : nc->nc_off;
	switch (out_part(nc)) {
	case NODECL_PART_ACK:
		*text = ack_line + off;
		*len = sizeof(ack_line) - 1 - off;
		*fd = -1;
		return 1;
	case NODECL_PART_HEAD:
		m = queue_head(nc);
		*text = m->nm_text + off;
		*len = m->nm_len - off;
		*fd = off == 0 ? m->nm_fd : -1;
		return 1;
	default:
		return 0;
	}
}

/* n bytes of what nodecl_output() gave were written (and its fd sent). */
void
nodecl_wrote(struct nodecl *nc, size_t n)
{
	enum nodecl_part	 part = out_part(nc);
	struct nodecl_msg	*m = queue_head(nc);
	size_t			 total, off;

	if (part == NODECL_PART_NONE || n == 0)
		return;
	total = part == NODECL_PART_ACK ? sizeof(ack_line) - 1 : m->nm_len;
	off = (nc->nc_part == NODECL_PART_NONE ? 0 : nc->nc_off) + n;
	if (off < total) {
		nc->nc_part = part;
		nc->nc_off = off;
		return;
	}
	nc->nc_part = NODECL_PART_NONE;
	nc->nc_off = 0;
	if (part == NODECL_PART_ACK)
		nc->nc_acks--;
	else if (m->nm_fd != -1)
		nc->nc_inflight = 1;
	else
		queue_pop(nc);
}

static enum nodecl_part
out_part(const struct nodecl *nc)
{
	if (nc->nc_part != NODECL_PART_NONE)
		return nc->nc_part;
	if (nc->nc_acks > 0)
		return NODECL_PART_ACK;
	if (nc->nc_count > 0 && !nc->nc_inflight)
		return NODECL_PART_HEAD;
	return NODECL_PART_NONE;
}

const char *
nodecl_event_name(enum nodecl_event e)
{
	static const char *names[] = {
		"app", "malformed", "ignored", "online", "served", "refused",
		"dropped", "handle-ack", "handle-nack", "handle-lost",
		"listening", "close", "exited"
	};

	if ((size_t)e >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[e];
}

/*
 * The query's fields, as net.js's listenInCluster() and dgram's bind()
 * fill them: listen(PORT) {address: null, port, addressType: 4};
 * listen(PORT, HOST) {address, port, addressType: 4 or 6};
 * listen(PATH) {address: absolute path, port: -1, addressType: -1};
 * listen({fd}) {address: null, port: null, addressType: null, fd};
 * UDP {addressType: "udp4" or "udp6", fd: -1}.
 */
static void
query_parse(const struct json_val *v, struct query *q)
{
	struct json_val	m;
	long long	seq = q->q_seq;
	int		udp = 0;

	memset(q, 0, sizeof(*q));
	q->q_seq = seq;
	q->q_data = "null";
	q->q_datalen = 4;
	if (json_get(v, "data", &m) == 0) {
		q->q_data = m.jv_text;
		q->q_datalen = m.jv_len;
	}
	if (json_get(v, "address", &m) == 0 &&
	    json_string(&m, q->q_addr, sizeof(q->q_addr)) == 0)
		q->q_has_addr = 1;
	if (json_get(v, "addressType", &m) == 0 && m.jv_kind == JV_STRING)
		udp = 1;
	q->q_port = get_int(v, "port", LLONG_MIN);
	q->q_fd = get_int(v, "fd", -1);
	if (udp)
		q->q_kind = Q_UDP;
	else if (q->q_fd >= 0)
		q->q_kind = Q_FD;
	else if (q->q_port > 0 && q->q_port <= 65535)
		q->q_kind = Q_PORT;
	else if (q->q_port == 0)
		q->q_kind = Q_EPHEMERAL;
	else if (q->q_port == -1 && json_get(v, "address", &m) == 0 &&
	    m.jv_kind == JV_STRING)
		q->q_kind = Q_PATH;
	else
		q->q_kind = Q_OTHER;
}

/*
 * The socket a query gets, or -1.  A port matches a TCP socket with that
 * port on whatever address it is bound to (Node checks only the port);
 * of several, the one on the very address asked for, else the first.
 */
static int
query_match(const struct query *q, const struct nodecl_sock *socks,
    size_t n)
{
	const struct nodecl_sock	*s;
	size_t				 i;
	int				 first = -1;

	for (i = 0; i < n && i < INT_MAX; i++) {
		s = &socks[i];
		if (q->q_kind == Q_FD && s->ns_child_fd == q->q_fd)
			return (int)i;
		if (q->q_kind == Q_PATH && q->q_has_addr &&
		    s->ns_kind == NODECL_UNIX && s->ns_path != NULL &&
		    strcmp(s->ns_path, q->q_addr) == 0)
			return (int)i;
		if (q->q_kind != Q_PORT || s->ns_kind != NODECL_TCP ||
		    s->ns_port != q->q_port)
			continue;
		if (q->q_has_addr && s->ns_host != NULL &&
		    strcmp(s->ns_host, q->q_addr) == 0)
			return (int)i;
		if (first == -1)
			first = (int)i;
	}
	return first;
}

/* The request as the app wrote it, for messages. */
static void
query_describe(const struct query *q, char *buf, size_t len)
{
	switch (q->q_kind) {
	case Q_PORT:
		if (q->q_has_addr)
			snprintf(buf, len, "listen(%lld, \"%s\")", q->q_port,
			    q->q_addr);
		else
			snprintf(buf, len, "listen(%lld)", q->q_port);
		break;
	case Q_PATH:
		if (q->q_has_addr)
			snprintf(buf, len, "listen(\"%s\")", q->q_addr);
		else
			snprintf(buf, len, "listen() on a unix path longer "
			    "than %d bytes", NODECL_ADDR_MAX - 1);
		break;
	case Q_FD:
		snprintf(buf, len, "listen({fd: %lld})", q->q_fd);
		break;
	case Q_EPHEMERAL:
		snprintf(buf, len, "listen(0) (a port of the system's "
		    "choosing)");
		break;
	case Q_UDP:
		snprintf(buf, len, "a UDP bind(%lld) (only stream sockets are "
		    "handed out)", q->q_port == LLONG_MIN ? 0 : q->q_port);
		break;
	default:
		snprintf(buf, len, "a listen() request clusterd does not "
		    "know");
	}
}

/* "web (*:8000, fd 3), api (/run/api.sock, fd 4)" */
static void
socks_describe(const struct nodecl_sock *socks, size_t n, char *buf,
    size_t len)
{
	char	one[160];
	size_t	i, used;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		nsock_describe(&socks[i], one, sizeof(one));
		used = strlen(buf);
		if (used + 1 < len)
			snprintf(buf + used, len - used, "%s%s",
			    i > 0 ? ", " : "", one);
	}
}

static void
nsock_describe(const struct nodecl_sock *s, char *buf, size_t len)
{
	const char	*name = s->ns_name != NULL ? s->ns_name : "?";

	if (s->ns_kind == NODECL_UNIX)
		snprintf(buf, len, "%s (%s, fd %d)", name,
		    s->ns_path != NULL ? s->ns_path : "?", s->ns_child_fd);
	else if (s->ns_host == NULL)
		snprintf(buf, len, "%s (*:%d, fd %d)", name, s->ns_port,
		    s->ns_child_fd);
	else if (strchr(s->ns_host, ':') != NULL)
		snprintf(buf, len, "%s ([%s]:%d, fd %d)", name, s->ns_host,
		    s->ns_port, s->ns_child_fd);
	else
		snprintf(buf, len, "%s (%s:%d, fd %d)", name, s->ns_host,
		    s->ns_port, s->ns_child_fd);
}

static int
get_seq(const struct json_val *v, long long *seq)
{
	struct json_val	m;

	if (json_get(v, "seq", &m) == -1)
		return -1;
	return json_int(&m, 0, SEQ_MAX, seq);
}

/* An integer member, or dflt when it is absent, null or not one. */
static long long
get_int(const struct json_val *v, const char *name, long long dflt)
{
	struct json_val	m;
	long long	n;

	if (json_get(v, name, &m) == -1 ||
	    json_int(&m, -SEQ_MAX, SEQ_MAX, &n) == -1)
		return dflt;
	return n;
}

/*
 * Node's rule (internal/child_process.js isInternal): an object whose cmd
 * is a string longer than "NODE_" that starts with it.  Such messages
 * never reach the app's 'message' listeners.
 */
static int
is_internal(const struct json_val *v, char *cmd, size_t len)
{
	struct json_val	m;

	if (v->jv_kind != JV_OBJECT || json_get(v, "cmd", &m) == -1 ||
	    m.jv_kind != JV_STRING || m.jv_len < 8 ||
	    memcmp(m.jv_text, "\"NODE_", 6) != 0)
		return 0;
	/* a long or odd one is still internal; only its name is cut */
	if (json_string(&m, cmd, len) == -1)
		snprintf(cmd, len, "NODE_?");
	return 1;
}

static int
sock_index(const struct nodecl_sock *socks, size_t n, int child_fd)
{
	size_t	i;

	for (i = 0; i < n && i < INT_MAX; i++)
		if (socks[i].ns_child_fd == child_fd)
			return (int)i;
	return -1;
}

/* A malloc'd line and its length, or NULL. */
static char *
line_make(size_t *len, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*len = (size_t)n;
	return s;
}

static int
queue_push(struct nodecl *nc, char *text, size_t len, int fd, int query,
    unsigned long long key)
{
	struct nodecl_msg	*m;

	if (nc->nc_count >= NODECL_QUEUE_MAX)
		return -1;
	m = &nc->nc_q[(nc->nc_head + nc->nc_count) % NODECL_QUEUE_MAX];
	m->nm_text = text;
	m->nm_len = len;
	m->nm_fd = fd;
	m->nm_query = query;
	m->nm_key = key;
	nc->nc_count++;
	return 0;
}

static void
queue_pop(struct nodecl *nc)
{
	struct nodecl_msg	*m = &nc->nc_q[nc->nc_head];

	free(m->nm_text);
	memset(m, 0, sizeof(*m));
	nc->nc_head = (nc->nc_head + 1) % NODECL_QUEUE_MAX;
	nc->nc_count--;
}

static struct nodecl_msg *
queue_head(const struct nodecl *nc)
{
	return (struct nodecl_msg *)&nc->nc_q[nc->nc_head];
}

static size_t
queue_queries(const struct nodecl *nc)
{
	size_t	i, n = 0;

	for (i = 0; i < nc->nc_count; i++)
		if (nc->nc_q[(nc->nc_head + i) % NODECL_QUEUE_MAX].nm_query)
			n++;
	return n;
}

static void
held_drop(struct nodecl *nc, unsigned long long key)
{
	size_t	i;

	for (i = 0; i < nc->nc_nheld; i++) {
		if (nc->nc_held[i].nh_key != key)
			continue;
		nc->nc_held[i] = nc->nc_held[--nc->nc_nheld];
		return;
	}
}

/*
 * A key, quoted: "NAME:N".  N is unique within the channel, which is what
 * the worker asserts; the name is for whoever reads NODE_DEBUG=cluster.
 */
static void
key_make(const char *name, unsigned long long k, char *buf, size_t len)
{
	char	quoted[KEY_NAME_MAX * 6 + 3];

	if (name == NULL || strlen(name) > KEY_NAME_MAX)
		name = "socket";
	json_quote(name, quoted, sizeof(quoted));
	snprintf(buf, len, "%.*s:%llu\"", (int)strlen(quoted) - 1, quoted,
	    k);
}

/* Messages quote what the worker sent: no control characters in logs. */
static void
text_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
}

static enum nodecl_event
drop(struct nodecl_result *res, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(res->nr_text, sizeof(res->nr_text), fmt, ap);
	va_end(ap);
	return NODECL_DROPPED;
}

/*
 * Saving and restoring, for an exec of clusterd: the state as one JSON
 * object.  The descriptors in it are numbers, valid in the new image
 * because the caller keeps them open across the exec.
 */

struct sbuf {
	char	*sb_buf;
	size_t	 sb_len;
	size_t	 sb_n;		/* needed so far */
};

static void	sb_printf(struct sbuf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	restore_int(const struct json_val *, const char *, long long,
		    long long, long long *);
static int	restore_fields(struct nodecl *, const struct json_val *);
static int	restore_held(struct nodecl *, const struct json_val *);
static int	restore_queue(struct nodecl *, const struct json_val *);
static int	restore_check(const struct nodecl *);

/*
 * Write the state into buf (NUL-terminated when it fits); returns the
 * length it needs, without the NUL, like snprintf.
 */
size_t
nodecl_save(const struct nodecl *nc, char *buf, size_t len)
{
	struct sbuf			 sb = { buf, len, 0 };
	const struct nodecl_msg		*m;
	size_t				 i, n;

	if (len > 0)
		buf[0] = '\0';
	sb_printf(&sb, "{\"v\":1,\"seq\":%llu,\"keys\":%llu,\"inflight\":%d,"
	    "\"nacks\":%u,\"acks\":%u,\"part\":%d,\"off\":%zu,\"exited\":%d,"
	    "\"disconnect\":%d,\"held\":[", nc->nc_seq, nc->nc_keys,
	    nc->nc_inflight, nc->nc_nacks, nc->nc_acks, (int)nc->nc_part,
	    nc->nc_off, nc->nc_exited, nc->nc_disconnect);
	for (i = 0; i < nc->nc_nheld; i++)
		sb_printf(&sb, "%s[%llu,%d]", i > 0 ? "," : "",
		    nc->nc_held[i].nh_key, nc->nc_held[i].nh_child_fd);
	sb_printf(&sb, "],\"queue\":[");
	for (i = 0; i < nc->nc_count; i++) {
		m = &nc->nc_q[(nc->nc_head + i) % NODECL_QUEUE_MAX];
		sb_printf(&sb, "%s[%d,%d,%llu,", i > 0 ? "," : "", m->nm_fd,
		    m->nm_query, m->nm_key);
		n = json_quote(m->nm_text, sb.sb_n < len ? buf + sb.sb_n :
		    NULL, sb.sb_n < len ? len - sb.sb_n : 0);
		sb.sb_n += n;
		sb_printf(&sb, "]");
	}
	sb_printf(&sb, "]}");
	return sb.sb_n;
}

static void
sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	if (sb->sb_n < sb->sb_len)
		n = vsnprintf(sb->sb_buf + sb->sb_n, sb->sb_len - sb->sb_n, fmt,
		    ap);
	else
		n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->sb_n += (size_t)n;
}

/*
 * Rebuild a channel from nodecl_save()'s text.  0, or -1 with the reason
 * in err and *nc empty (initialised, nothing to free).
 */
int
nodecl_restore(struct nodecl *nc, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct json_val	v;

	nodecl_init(nc);
	if (json_parse(text, len, &v, err, errlen) == -1)
		return -1;
	if (v.jv_kind != JV_OBJECT || restore_fields(nc, &v) == -1 ||
	    restore_held(nc, &v) == -1 || restore_queue(nc, &v) == -1 ||
	    restore_check(nc) == -1) {
		nodecl_free(nc);
		snprintf(err, errlen, "not a saved node-cluster channel");
		return -1;
	}
	return 0;
}

static int
restore_int(const struct json_val *v, const char *name, long long min,
    long long max, long long *out)
{
	struct json_val	m;

	if (json_get(v, name, &m) == -1)
		return -1;
	return json_int(&m, min, max, out);
}

static int
restore_fields(struct nodecl *nc, const struct json_val *v)
{
	long long	n[9];

	if (restore_int(v, "v", 1, 1, &n[0]) == -1 ||
	    restore_int(v, "seq", 0, SEQ_MAX, &n[0]) == -1 ||
	    restore_int(v, "keys", 0, SEQ_MAX, &n[1]) == -1 ||
	    restore_int(v, "inflight", 0, 1, &n[2]) == -1 ||
	    restore_int(v, "nacks", 0, NODECL_RETRIES, &n[3]) == -1 ||
	    restore_int(v, "acks", 0, NODECL_ACKS_MAX, &n[4]) == -1 ||
	    restore_int(v, "part", NODECL_PART_NONE, NODECL_PART_HEAD,
	    &n[5]) == -1 ||
	    restore_int(v, "off", 0, SEQ_MAX, &n[6]) == -1 ||
	    restore_int(v, "exited", 0, 1, &n[7]) == -1 ||
	    restore_int(v, "disconnect", 0, 1, &n[8]) == -1)
		return -1;
	nc->nc_seq = (unsigned long long)n[0];
	nc->nc_keys = (unsigned long long)n[1];
	nc->nc_inflight = (int)n[2];
	nc->nc_nacks = (unsigned)n[3];
	nc->nc_acks = (unsigned)n[4];
	nc->nc_part = (enum nodecl_part)n[5];
	nc->nc_off = (size_t)n[6];
	nc->nc_exited = (int)n[7];
	nc->nc_disconnect = (int)n[8];
	return 0;
}

static int
restore_held(struct nodecl *nc, const struct json_val *v)
{
	struct json_val	arr, it = { JV_NULL, NULL, 0 }, f;
	long long	key, fd;

	if (json_get(v, "held", &arr) == -1 || arr.jv_kind != JV_ARRAY)
		return -1;
	while (json_next(&arr, &it)) {
		f.jv_text = NULL;
		if (nc->nc_nheld >= NODECL_HELD_MAX ||
		    !json_next(&it, &f) || json_int(&f, 1, SEQ_MAX, &key) ||
		    !json_next(&it, &f) || json_int(&f, 0, INT_MAX, &fd) ||
		    json_next(&it, &f))
			return -1;
		nc->nc_held[nc->nc_nheld].nh_key = (unsigned long long)key;
		nc->nc_held[nc->nc_nheld++].nh_child_fd = (int)fd;
	}
	return 0;
}

static int
restore_queue(struct nodecl *nc, const struct json_val *v)
{
	struct json_val	 arr, it = { JV_NULL, NULL, 0 }, f;
	long long	 fd, query, key;
	char		*text;

	if (json_get(v, "queue", &arr) == -1 || arr.jv_kind != JV_ARRAY)
		return -1;
	while (json_next(&arr, &it)) {
		f.jv_text = NULL;
		if (!json_next(&it, &f) || json_int(&f, -1, INT_MAX, &fd) ||
		    !json_next(&it, &f) || json_int(&f, 0, 1, &query) ||
		    !json_next(&it, &f) || json_int(&f, 0, SEQ_MAX, &key) ||
		    !json_next(&it, &f) || f.jv_kind != JV_STRING)
			return -1;
		if ((text = malloc(f.jv_len)) == NULL)
			return -1;
		if (json_string(&f, text, f.jv_len) == -1 ||
		    strlen(text) == 0 || text[strlen(text) - 1] != '\n' ||
		    json_next(&it, &f) || queue_push(nc, text, strlen(text),
		    (int)fd, (int)query, (unsigned long long)key) == -1) {
			free(text);
			return -1;
		}
	}
	return 0;
}

/* What nodecl_output() and nodecl_wrote() rely on. */
static int
restore_check(const struct nodecl *nc)
{
	const struct nodecl_msg	*m = queue_head(nc);

	if (nc->nc_inflight && (nc->nc_count == 0 || m->nm_fd == -1))
		return -1;
	if (nc->nc_part == NODECL_PART_NONE && nc->nc_off != 0)
		return -1;
	if (nc->nc_part == NODECL_PART_ACK && (nc->nc_acks == 0 ||
	    nc->nc_off >= sizeof(ack_line) - 1))
		return -1;
	if (nc->nc_part == NODECL_PART_HEAD && (nc->nc_count == 0 ||
	    nc->nc_inflight || nc->nc_off >= m->nm_len))
		return -1;
	return 0;
}
