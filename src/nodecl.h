/*
 * SPDX-License-Identifier: ISC
 *
 * nodecl.h - the Node.js cluster primary's side of the cluster protocol,
 * for one worker's channel (ipc = node-cluster).
 *
 * Pure: no I/O, no logging, no clock.  The caller reads lines from the
 * channel (framing and the 64 KiB limit stay with it), hands each one to
 * nodecl_input(), and writes what nodecl_output() gives it, with the
 * descriptor attached (SCM_RIGHTS in the same sendmsg as the first byte).
 * The whole state is in struct nodecl: integers, and the queued lines;
 * nodecl_save() and nodecl_restore() carry it over an exec of clusterd.
 */

#ifndef NODECL_H
#define NODECL_H

#include <stddef.h>

#define NODECL_QUEUE_MAX	32	/* messages waiting to be written */
#define NODECL_QUEUE_QUERIES	30	/* of which replies to queryServer */
#define NODECL_HELD_MAX		64	/* servers one worker holds at once */
#define NODECL_ACKS_MAX		16	/* NODE_HANDLE_ACKs owed the worker */
#define NODECL_DATA_MAX		4096	/* a query's data, as JSON text */
#define NODECL_RETRIES		3	/* resends of a NACKed handle */
#define NODECL_TEXT_MAX		512	/* nr_text */
#define NODECL_ADDR_MAX		108	/* nr_address: a unix path fits */

/* libuv's error numbers, as Node's primary sends them. */
#define NODECL_EINVAL		(-22)
#define NODECL_EMFILE		(-24)
#define NODECL_EADDRNOTAVAIL	(-99)

enum nodecl_sock_kind {
	NODECL_TCP,
	NODECL_UNIX
};

/* One of the worker's sockets, as the caller describes it. */
struct nodecl_sock {
	const char		*ns_name;	/* for keys and messages */
	enum nodecl_sock_kind	 ns_kind;
	const char		*ns_host;	/* TCP: as configured, or NULL:
						   any address */
	int			 ns_port;	/* TCP */
	const char		*ns_path;	/* UNIX: absolute */
	int			 ns_child_fd;	/* its number in the worker */
	int			 ns_fd;		/* the master's, to send: the
						   shared socket or the slot's
						   reuseport one */
	const char		*ns_data;	/* NULL: echo the query's data;
						   else this JSON instead (one
						   set of TLS ticket keys for
						   every worker, as Node's own
						   primary does) */
};

enum nodecl_event {
	NODECL_APP,		/* not a cluster message: nr_app is the app's
				   own message, for ipc_classify() */
	NODECL_MALFORMED,	/* Node's internal message, but not one Node
				   sends (nr_text): dropped */
	NODECL_IGNORED,		/* internal, needs nothing (nr_text may say
				   why) */
	NODECL_ONLINE,		/* the worker's cluster code has started */
	NODECL_SERVED,		/* queryServer matched socket nr_socket: its
				   handle is queued (nr_text says what) */
	NODECL_REFUSED,		/* queryServer matched nothing: an error
				   reply nr_errno is queued; nr_text for the
				   log names the request and the sockets */
	NODECL_DROPPED,		/* a message needing a reply was dropped:
				   queue full or out of memory (nr_text) */
	NODECL_HANDLE_ACK,	/* the worker took the handle in flight */
	NODECL_HANDLE_NACK,	/* it did not get it: queued again */
	NODECL_HANDLE_LOST,	/* NACKed NODECL_RETRIES + 1 times: an
				   EMFILE reply replaces it (nr_text) */
	NODECL_LISTENING,	/* a server listens: nr_address, nr_port,
				   nr_socket */
	NODECL_CLOSE,		/* a server was closed: nr_socket */
	NODECL_EXITED		/* exitedAfterDisconnect, the first time:
				   its ack is queued; the worker is leaving
				   by itself */
};

struct nodecl_result {
	enum nodecl_event	 nr_event;
	const char		*nr_app;	/* APP: in the input line */
	size_t			 nr_applen;
	int			 nr_socket;	/* SERVED, LISTENING, CLOSE:
						   index into socks, or -1 */
	int			 nr_errno;	/* REFUSED, HANDLE_LOST */
	int			 nr_port;	/* LISTENING: -1 for a path, 0
						   when it says none */
	char			 nr_address[NODECL_ADDR_MAX];
						/* LISTENING: address or path,
						   "" when null */
	const char		*nr_data;	/* SERVED: the query's data, as
						   JSON, in the input line */
	size_t			 nr_datalen;
	unsigned		 nr_tries;	/* HANDLE_NACK: resends */
	char			 nr_text[NODECL_TEXT_MAX];
};

/* A queued line. */
struct nodecl_msg {
	char		*nm_text;	/* the line, '\n' included */
	size_t		 nm_len;
	int		 nm_fd;		/* to attach, or -1 */
	int		 nm_query;	/* a reply to queryServer */
	unsigned long long nm_key;	/* a handle's key, or 0 */
};

/* A server the worker holds (or is being sent), by its key. */
struct nodecl_held {
	unsigned long long	 nh_key;
	int			 nh_child_fd;
};

enum nodecl_part {
	NODECL_PART_NONE,	/* nothing written halfway */
	NODECL_PART_ACK,	/* a NODE_HANDLE_ACK line */
	NODECL_PART_HEAD	/* the queue's first message */
};

struct nodecl {
	unsigned long long	 nc_seq;	/* our next seq */
	unsigned long long	 nc_keys;	/* keys issued so far */
	struct nodecl_msg	 nc_q[NODECL_QUEUE_MAX];	/* a ring */
	size_t			 nc_head;
	size_t			 nc_count;
	int			 nc_inflight;	/* the head is a handle,
						   written, awaiting
						   NODE_HANDLE_ACK */
	unsigned		 nc_nacks;	/* of the handle in flight */
	unsigned		 nc_acks;	/* NODE_HANDLE_ACKs owed */
	enum nodecl_part	 nc_part;	/* what is written halfway */
	size_t			 nc_off;	/* and how far */
	int			 nc_exited;	/* exitedAfterDisconnect seen */
	int			 nc_disconnect;	/* our disconnect queued */
	struct nodecl_held	 nc_held[NODECL_HELD_MAX];
	size_t			 nc_nheld;
};

void		 nodecl_init(struct nodecl *);
void		 nodecl_free(struct nodecl *);
enum nodecl_event nodecl_input(struct nodecl *, const char *, size_t,
		    const struct nodecl_sock *, size_t,
		    struct nodecl_result *);
int		 nodecl_disconnect(struct nodecl *);
int		 nodecl_output(const struct nodecl *, const char **, size_t *,
		    int *);
void		 nodecl_wrote(struct nodecl *, size_t);
int		 nodecl_leaving(const struct nodecl *);
const char	*nodecl_event_name(enum nodecl_event);
size_t		 nodecl_save(const struct nodecl *, char *, size_t);
int		 nodecl_restore(struct nodecl *, const char *, size_t, char *,
		    size_t);

#endif /* NODECL_H */
