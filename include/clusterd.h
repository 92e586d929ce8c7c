/*
 * SPDX-License-Identifier: ISC
 *
 * clusterd.h - a header-only helper for C workers run by clusterd(8).
 *
 * Find a listening socket by the name it has in the configuration, and
 * talk to the master over the IPC channel:
 *
 *	int fd = clusterd_listen_fd("web");	// -1 if not passed
 *	clusterd_ready();			// with ready = message
 *	clusterd_heartbeat();			// with watchdog
 *	clusterd_status("42 connections");	// shown by clusterctl status
 *	clusterd_suicide();			// "replace me"
 *
 * The senders return 0, or -1 with errno set (ENOTCONN when the worker has
 * no channel).  They write one whole line with a blocking write and retry
 * on EINTR, so they may be called from a signal handler.  Everything is
 * static inline; there is nothing to link.
 */

#ifndef CLUSTERD_WORKER_H
#define CLUSTERD_WORKER_H

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The descriptor of socket NAME, from CLUSTERD_FD_<NAME> (NAME upper-cased,
 * '-' and '.' as '_'), or -1 when clusterd passed no such socket.
 */
static inline int
clusterd_listen_fd(const char *name)
{
	char		 var[96] = "CLUSTERD_FD_";
	size_t		 len = strlen(var), i;
	const char	*val;
	char		*end;
	long		 fd;

	for (i = 0; name[i] != '\0' && len < sizeof(var) - 1; i++, len++) {
		unsigned char c = (unsigned char)name[i];

		var[len] = (c == '-' || c == '.') ? '_' : (char)toupper(c);
	}
	var[len] = '\0';
	if ((val = getenv(var)) == NULL || *val == '\0')
		return -1;
	fd = strtol(val, &end, 10);
	if (*end != '\0' || fd < 3 || fd > INT_MAX)
		return -1;
	return (int)fd;
}

/* The IPC channel's descriptor, from CLUSTERD_IPC_FD, or -1. */
static inline int
clusterd_ipc_fd(void)
{
	const char	*val = getenv("CLUSTERD_IPC_FD");
	char		*end;
	long		 fd;

	if (val == NULL || *val == '\0')
		return -1;
	fd = strtol(val, &end, 10);
	if (*end != '\0' || fd < 3 || fd > INT_MAX)
		return -1;
	return (int)fd;
}

/* Send one message line; line must end in '\n'. */
static inline int
clusterd_send_line(const char *line)
{
	int		 fd = clusterd_ipc_fd();
	size_t		 len = strlen(line), done = 0;
	ssize_t		 n;

	if (fd == -1) {
		errno = ENOTCONN;
		return -1;
	}
	while (done < len) {
		n = write(fd, line + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static inline int
clusterd_ready(void)
{
	return clusterd_send_line("{\"cmd\":\"ready\"}\n");
}

static inline int
clusterd_heartbeat(void)
{
	return clusterd_send_line("{\"cmd\":\"heartbeat\"}\n");
}

static inline int
clusterd_suicide(void)
{
	return clusterd_send_line("{\"cmd\":\"suicide\"}\n");
}

/*
 * Free text for clusterctl status, JSON-escaped here; at most 255 bytes
 * of it are kept by the master.
 */
static inline int
clusterd_status(const char *text)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 line[1200];
	size_t			 n = 0;
	const unsigned char	*c;

	n = (size_t)snprintf(line, sizeof(line),
	    "{\"cmd\":\"status\",\"status\":\"");
	for (c = (const unsigned char *)text; *c != '\0' &&
	    n < sizeof(line) - 16; c++) {
		if (*c == '"' || *c == '\\') {
			line[n++] = '\\';
			line[n++] = (char)*c;
		} else if (*c < 0x20) {
			line[n++] = '\\';
			line[n++] = 'u';
			line[n++] = '0';
			line[n++] = '0';
			line[n++] = hex[*c >> 4];
			line[n++] = hex[*c & 15];
		} else
			line[n++] = (char)*c;
	}
	memcpy(line + n, "\"}\n", 4);
	return clusterd_send_line(line);
}

#endif /* CLUSTERD_WORKER_H */
