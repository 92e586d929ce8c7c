/*
 * SPDX-License-Identifier: ISC
 *
 * What /proc says about processes: a worker's resident memory, and the
 * children clusterd has (its workers and the orphans it adopted as a
 * subreaper).
 */

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

/* Resident memory of a process in bytes; -1 if unknown. */
long long
proc_rss(pid_t pid)
{
	char		path[64];
	FILE		*f;
	long long	size, resident;

	snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fscanf(f, "%lld %lld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* The parent pid in /proc/PID/stat (after the command's parenthesis). */
static long
proc_parent(const char *pid)
{
	char	path[64], buf[512], *p;
	FILE	*f;
	long	ppid = -1;
	size_t	n;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) != NULL &&
	    sscanf(p + 1, " %*c %ld", &ppid) != 1)
		ppid = -1;
	return ppid;
}

/*
 * Up to max pids of clusterd's children into pids; the number found
 * (which may be larger than max), or -1 if /proc cannot be read.
 */
int
proc_children(pid_t *pids, int max)
{
	DIR		*d;
	struct dirent	*de;
	long		 self = (long)getpid();
	int		 n = 0;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (proc_parent(de->d_name) != self)
			continue;
		if (n < max)
			pids[n] = (pid_t)strtol(de->d_name, NULL, 10);
		n++;
	}
	closedir(d);
	return n;
}

/* CPU time a process has used, user and system, in seconds; -1 if gone. */
double
proc_cpu(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	FILE			*f;
	unsigned long long	 ut, st;
	size_t			 n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after the command: state and 11 fields, then utime and stime */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 1,
	    " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}
