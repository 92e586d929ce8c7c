/*
 * SPDX-License-Identifier: ISC
 *
 * Socket activation of clusterd itself: the listening sockets systemd
 * passed at fd 3, 4, ... (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, see
 * sd_listen_fds(3)), for `listen = systemd:NAME'.
 *
 * The passed descriptors stay open in a table for the life of the
 * process: a reload may ask for one that the first configuration did not
 * use, and systemd passes each socket only once.  A listener gets its own
 * duplicate, which it closes like any other socket.  Sockets that the
 * file descriptor store handed back are the exception: they leave the
 * table once taken (sdlisten_forget).
 */

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define SD_FDS_START	3
#define SD_FDS_MAX	4096	/* far more than any unit passes */

struct sdsock {
	int	 sd_fd;
	char	*sd_name;
};

static struct sdsock	*sdsocks;
static int		 nsdsocks;

static int	sdlisten_number(const char *, const char *, long, long *);
static int	sdlisten_names(int, const char *);
static const struct sdsock *sdlisten_find(const char *);
static void	sdlisten_passed(char *, size_t);
static void	sdlisten_free(void);
static void	sdlisten_unsetenv(void);

/*
 * Take the sockets systemd passed, if LISTEN_PID is ours.  Returns how
 * many, or -1 (logged) when the environment is malformed: a start-up
 * error for main().  The variables
 * are removed from the environment in every case, as sd_listen_fds(3)
 * does; the workers get their own from env.c.
 */
int
sdlisten_init(void)
{
	const char	*s;
	long		 pid, n;
	int		 fd, rc = -1;

	if ((s = getenv("LISTEN_PID")) == NULL) {
		sdlisten_unsetenv();
		return 0;
	}
	if (sdlisten_number("LISTEN_PID", s, LONG_MAX, &pid) == -1)
		goto done;
	if (pid != (long)getpid()) {
		log_debug("LISTEN_PID=%ld is not ours: no sockets taken", pid);
		rc = 0;
		goto done;
	}
	if ((s = getenv("LISTEN_FDS")) == NULL)
		s = "0";
	if (sdlisten_number("LISTEN_FDS", s, SD_FDS_MAX, &n) == -1)
		goto done;
	for (fd = SD_FDS_START; fd < SD_FDS_START + n; fd++) {
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
			log_errorx("socket activation: LISTEN_FDS=%ld, but "
			    "fd %d: %s", n, fd, strerror(errno));
			goto done;
		}
	}
	if (sdlisten_names((int)n, getenv("LISTEN_FDNAMES")) == -1) {
		sdlisten_free();
		goto done;
	}
	rc = (int)n;
 done:
	sdlisten_unsetenv();
	return rc;
}

/*
 * A new descriptor for the socket passed under name, or -1 with a
 * message in err.  The caller owns the descriptor.
 */
int
sdlisten_take(const char *name, char *err, size_t errlen)
{
	const struct sdsock	*sd;
	char			 passed[256];
	int			 on = 0, fd;
	socklen_t		 len = sizeof(on);

	if ((sd = sdlisten_find(name)) == NULL) {
		sdlisten_passed(passed, sizeof(passed));
		snprintf(err, errlen, "systemd passed no socket named \"%s\" "
		    "(%s)", name, passed);
		return -1;
	}
	if (getsockopt(sd->sd_fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1 ||
	    !on) {
		snprintf(err, errlen, "socket \"%s\" from systemd is not a "
		    "listening socket", name);
		return -1;
	}
	if ((fd = fcntl(sd->sd_fd, F_DUPFD_CLOEXEC, SD_FDS_START)) == -1) {
		snprintf(err, errlen, "dup socket \"%s\" from systemd: %s",
		    name, strerror(errno));
		return -1;
	}
	return fd;
}

int
sdlisten_has(const char *name)
{
	return sdlisten_find(name) != NULL;
}

/* A whole decimal number from 0 to max. */
static int
sdlisten_number(const char *var, const char *s, long max, long *v)
{
	char	*end;

	errno = 0;
	*v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || *v > max) {
		log_errorx("socket activation: %s=\"%s\" is not a valid "
		    "number", var, s);
		return -1;
	}
	return 0;
}

/*
 * Name fd 3 + i after the i-th name of LISTEN_FDNAMES; a missing or empty
 * name is "unknown", as systemd says.  Extra names are ignored.
 */
static int
sdlisten_names(int n, const char *names)
{
	const char	*p = names;
	size_t		 len;
	int		 i;

	if (n == 0)
		return 0;
	if ((sdsocks = calloc((size_t)n, sizeof(*sdsocks))) == NULL) {
		log_error("socket activation: calloc");
		return -1;
	}
	for (i = 0; i < n; i++) {
		len = p != NULL ? strcspn(p, ":") : 0;
		sdsocks[i].sd_fd = SD_FDS_START + i;
		sdsocks[i].sd_name = len > 0 ? strndup(p, len) :
		    strdup("unknown");
		if (sdsocks[i].sd_name == NULL) {
			log_error("socket activation: strdup");
			return -1;
		}
		nsdsocks = i + 1;
		if (p != NULL)
			p = p[len] == ':' ? p + len + 1 : NULL;
		log_info("systemd passed socket \"%s\" at fd %d",
		    sdsocks[i].sd_name, sdsocks[i].sd_fd);
	}
	if (p != NULL)
		log_warnx("LISTEN_FDNAMES=%s names more than LISTEN_FDS=%d "
		    "sockets; the extra names are ignored", names, n);
	return 0;
}

static const struct sdsock *
sdlisten_find(const char *name)
{
	int	i;

	for (i = 0; i < nsdsocks; i++)
		if (strcmp(sdsocks[i].sd_name, name) == 0)
			return &sdsocks[i];
	return NULL;
}

/* "passed: a, b", for an error message; truncated with "..." if long. */
static void
sdlisten_passed(char *buf, size_t len)
{
	size_t	used;
	int	i;

	if (nsdsocks == 0) {
		snprintf(buf, len, "clusterd was not started by systemd "
		    "socket activation");
		return;
	}
	snprintf(buf, len, "passed:");
	for (i = 0; i < nsdsocks; i++) {
		used = strlen(buf);
		if (snprintf(buf + used, len - used, "%s %s", i ? "," : "",
		    sdsocks[i].sd_name) >= (int)(len - used) && len > 4) {
			memcpy(buf + len - 4, "...", 4);
			return;
		}
	}
}

/* Forget a table that could not be completed; the descriptors stay. */
static void
sdlisten_free(void)
{
	int	i;

	for (i = 0; i < nsdsocks; i++)
		free(sdsocks[i].sd_name);
	free(sdsocks);
	sdsocks = NULL;
	nsdsocks = 0;
}

static void
sdlisten_unsetenv(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/*
 * Close every socket passed under name and drop it from the table: one
 * the file descriptor store handed back, once a listener has its own
 * duplicate or has refused it, so that the port closes with the listener.
 */
void
sdlisten_forget(const char *name)
{
	int	i = 0;

	while (i < nsdsocks) {
		if (strcmp(sdsocks[i].sd_name, name) != 0) {
			i++;
			continue;
		}
		if (close(sdsocks[i].sd_fd) == -1)
			log_warn("close socket \"%s\" from systemd", name);
		free(sdsocks[i].sd_name);
		sdsocks[i] = sdsocks[--nsdsocks];
	}
}

/*
 * An upgrade carries the table: the i-th passed socket's descriptor and
 * name (-1 past the end) ...
 */
int
sdlisten_get(int i, const char **name)
{
	if (i < 0 || i >= nsdsocks)
		return -1;
	*name = sdsocks[i].sd_name;
	return sdsocks[i].sd_fd;
}

/* ... and the new image puts each one back (-1, logged, if it cannot). */
int
sdlisten_adopt(const char *name, int fd)
{
	struct sdsock	*grown;
	char		*copy;

	if ((copy = strdup(name)) == NULL || (grown = reallocarray(sdsocks,
	    (size_t)nsdsocks + 1, sizeof(*grown))) == NULL) {
		log_error("upgrade: systemd's socket \"%s\"", name);
		free(copy);
		return -1;
	}
	sdsocks = grown;
	sdsocks[nsdsocks].sd_fd = fd;
	sdsocks[nsdsocks].sd_name = copy;
	nsdsocks++;
	return 0;
}
