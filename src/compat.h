/*
 * SPDX-License-Identifier: ISC
 *
 * compat.h - other supervisors' dialects (compat = einhorn,
 * server-starter): the variables that announce a worker's sockets the way
 * einhorn and Server::Starter's start_server do, and einhorn's worker:ack
 * message.  Pure: no I/O, no logging.
 */

#ifndef COMPAT_H
#define COMPAT_H

#include <sys/types.h>

#include <stddef.h>

#ifndef COMPAT_EINHORN		/* daemon.h has them too (pc_compat) */
#define COMPAT_EINHORN		0x01
#define COMPAT_SERVER_STARTER	0x02
#endif

#define COMPAT_PORT_MAX		4096	/* SERVER_STARTER_PORT's value */
#define COMPAT_LINE_MAX		4096	/* an einhorn command line */

enum compat_kind {
	COMPAT_TCP,
	COMPAT_UNIX
};

/* One of the worker's sockets, as the caller describes it. */
struct compat_sock {
	enum compat_kind	 cs_kind;
	int			 cs_any;	/* TCP: all addresses */
	const char		*cs_host;	/* TCP, not any: numeric or
						   "localhost", as configured */
	int			 cs_port;	/* TCP */
	const char		*cs_path;	/* UNIX: absolute */
	int			 cs_fd;		/* its number in the worker */
};

/* What a line on EINHORN_SOCK_FD is. */
enum compat_cmd {
	COMPAT_CMD_NONE,	/* not an einhorn command: the line is for
				   ipc_classify() */
	COMPAT_CMD_ACK,		/* worker:ack: the worker is up */
	COMPAT_CMD_PING,	/* worker:ping: alive (einhorn's wedge check) */
	COMPAT_CMD_OTHER	/* an einhorn command clusterd does not act on
				   (einhornsh's ehlo, upgrade, ...) */
};

char		**compat_einhorn_env(const struct compat_sock *, size_t, pid_t,
		    int, int, char *, size_t);
int		 compat_einhorn_index(const int *, size_t);
char		**compat_server_starter_env(const struct compat_sock *, size_t,
		    unsigned long, char *, size_t);
int		 compat_server_starter_port(const struct compat_sock *, size_t,
		    char *, size_t, char *, size_t);
void		 compat_env_free(char **);
int		 compat_reserved(const char *, unsigned);
enum compat_cmd	 compat_einhorn_classify(const char *, size_t, long long *);

#endif /* COMPAT_H */
