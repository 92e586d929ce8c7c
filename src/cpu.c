/*
 * SPDX-License-Identifier: ISC
 *
 * workers = auto: the number of CPUs this process may really use.  The
 * host's CPU count is wrong in a container or a systemd slice: the
 * affinity mask and a cgroup v2 cpu.max quota both cut it down.
 */

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

static int	affinity_cpus(void);
static double	cgroup_quota_cpus(void);
static double	cpu_max_file(const char *);

int
cpu_available(void)
{
	int	n = affinity_cpus();
	double	quota = cgroup_quota_cpus();

	if (quota > 0) {
		int q = (int)quota;

		if (quota > q)
			q++;		/* a fractional quota rounds up */
		if (q < n)
			n = q;
	}
	return n < 1 ? 1 : n;
}

static int
affinity_cpus(void)
{
	cpu_set_t	set;
	int		n;

	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n;
}

/*
 * The smallest cpu.max quota on the way from our cgroup up to the root,
 * in CPUs, or 0 when there is none (cgroup v1, "max", unreadable).
 */
static double
cgroup_quota_cpus(void)
{
	FILE	*f;
	char	 line[4096], path[4200], *rel, *slash;
	double	 best = 0, q;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return 0;
	rel = NULL;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "0::", 3) == 0) {
			rel = line + 3;
			rel[strcspn(rel, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
	if (rel == NULL)
		return 0;
	for (;;) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.max",
		    strcmp(rel, "/") == 0 ? "" : rel);
		q = cpu_max_file(path);
		if (q > 0 && (best == 0 || q < best))
			best = q;
		if ((slash = strrchr(rel, '/')) == NULL || slash == rel)
			break;
		*slash = '\0';
	}
	return best;
}

/* "QUOTA PERIOD" in microseconds, or "max PERIOD". */
static double
cpu_max_file(const char *path)
{
	FILE	*f;
	char	 quota[32];
	double	 period;
	char	*end;
	double	 q;

	if ((f = fopen(path, "re")) == NULL)
		return 0;
	if (fscanf(f, "%31s %lf", quota, &period) != 2 || period <= 0) {
		fclose(f);
		return 0;
	}
	fclose(f);
	if (strcmp(quota, "max") == 0)
		return 0;
	q = strtod(quota, &end);
	if (*end != '\0' || q <= 0)
		return 0;
	return q / period;
}
