/*
 * SPDX-License-Identifier: ISC
 *
 * The pidfile.  Root writes it, often in a directory (/run/NAME) that
 * the workers' user may be able to write too, so nothing at a name that
 * can be guessed is ever opened: the pid goes into a new file under a
 * random name (created with O_EXCL, so a planted symlink or file makes
 * that attempt fail instead of being followed), which is then renamed
 * over the pidfile.  rename(2) replaces whatever is at the final name,
 * a symlink included, without following it; unlink(2) at exit does not
 * follow one either.
 *
 * No fsync: a pidfile does not outlive a crash of the machine in any
 * meaningful way, and the write happens at every reload that moves it.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

static int	pidfile_temp(const char *, char *, size_t);

/*
 * Write clusterd's pid to path (absolute), mode 0644.  Returns 0 (also
 * for a NULL path), or -1 with the reason logged.
 */
int
pidfile_write(const char *path)
{
	char	tmp[PATH_MAX];
	int	fd, ok;

	if (path == NULL)
		return 0;
	if ((fd = pidfile_temp(path, tmp, sizeof(tmp))) == -1)
		return -1;
	ok = fchmod(fd, 0644) == 0;
	if (!ok)
		log_error("pidfile: chmod %s", tmp);
	else if (!(ok = dprintf(fd, "%ld\n", (long)getpid()) > 0))
		log_error("pidfile: write %s", tmp);
	if (close(fd) == -1 && ok) {
		log_error("pidfile: write %s", tmp);
		ok = 0;
	}
	if (ok && rename(tmp, path) == -1) {
		log_error("pidfile: rename %s to %s", tmp, path);
		ok = 0;
	}
	if (!ok) {
		if (unlink(tmp) == -1 && errno != ENOENT)
			log_warn("pidfile: unlink %s", tmp);
		return -1;
	}
	return 0;
}

/* Remove the pidfile at exit, or when a reload moves it. */
void
pidfile_remove(const char *path)
{
	if (path != NULL && unlink(path) == -1 && errno != ENOENT)
		log_warn("pidfile: unlink %s", path);
}

/*
 * A new, empty file beside path: DIR/.NAME.XXXXXX, the X's random,
 * created exclusively (mkostemp retries a name that exists), mode 0600
 * until the caller sets it.  Its name goes to tmp.
 */
static int
pidfile_temp(const char *path, char *tmp, size_t len)
{
	const char	*base = strrchr(path, '/');
	int		 n, fd;

	base = base != NULL ? base + 1 : path;
	n = snprintf(tmp, len, "%.*s.%s.XXXXXX", (int)(base - path), path,
	    base);
	if (n < 0 || (size_t)n >= len) {
		log_errorx("pidfile: %s: path too long", path);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_error("pidfile: create a temporary file beside %s", path);
		return -1;
	}
	return fd;
}
