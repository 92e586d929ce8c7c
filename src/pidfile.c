/*
 * The pidfile: written after start-up, removed at exit.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

/* Written whole under a temporary name, then renamed into place. */
int
pidfile_write(const char *path)
{
	char	tmp[4096];
	int	fd, ok;

	if (path == NULL)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_error("pidfile: open %s", tmp);
		return -1;
	}
	ok = dprintf(fd, "%ld\n", (long)getpid()) > 0;
	if (close(fd) == -1 || !ok) {
		log_error("pidfile: write %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		log_error("pidfile: rename %s to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

void
pidfile_remove(const char *path)
{
	if (path != NULL && unlink(path) == -1 && errno != ENOENT)
		log_warn("unlink %s", path);
}
