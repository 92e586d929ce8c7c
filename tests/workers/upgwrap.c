/*
 * SPDX-License-Identifier: ISC
 *
 * upgwrap - stands in for the new clusterd binary in the upgrade tests,
 * to make the moments of an upgrade last long enough to act in them.
 *
 * It execs the real clusterd ($UPGWRAP_BIN) with its own argument vector,
 * argv[0] included: the clusterd it becomes takes this wrapper's path for
 * the path it was started from, so the next upgrade comes through here
 * again.  It keeps every descriptor and the signal mask as they are (an
 * upgrade's execve blocks every signal; they stay pending).  It never
 * forks: a child of its own would be reaped by the clusterd it becomes.
 *
 * What it does first comes from the file $UPGWRAP_CONF, read at each run
 * (KEY=VALUE lines; a missing file or key means no delay):
 *
 *	check_ms=N	run as --upgrade-check: wait N ms first (the
 *			preflight, while the old image goes on)
 *	takeover_ms=N	run as --upgrade-from: wait N ms first (the
 *			window in which no image of clusterd runs)
 *
 * Each run appends "check" or "takeover" and the time (CLOCK_MONOTONIC,
 * ms) to $UPGWRAP_CONF.log, after its wait.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long	conf_num(const char *, const char *);
static void	wait_ms(long);
static void	note(const char *, const char *);

int
main(int argc, char *argv[])
{
	const char	*bin = getenv("UPGWRAP_BIN");
	const char	*conf = getenv("UPGWRAP_CONF");
	const char	*what = NULL;
	int		 i;

	(void)argc;
	if (bin == NULL || *bin == '\0') {
		fprintf(stderr, "upgwrap: UPGWRAP_BIN is not set\n");
		return 127;
	}
	for (i = 1; argv[i] != NULL; i++) {
		if (strcmp(argv[i], "--upgrade-check") == 0)
			what = "check";
		else if (strncmp(argv[i], "--upgrade-from=", 15) == 0)
			what = "takeover";
	}
	if (what != NULL && conf != NULL) {
		wait_ms(conf_num(conf, strcmp(what, "check") == 0 ?
		    "check_ms" : "takeover_ms"));
		note(conf, what);
	}
	execv(bin, argv);
	fprintf(stderr, "upgwrap: execv %s: %s\n", bin, strerror(errno));
	return 127;
}

/* KEY=N in the file; 0 if it is not there. */
static long
conf_num(const char *path, const char *key)
{
	FILE	*fp;
	char	 line[256];
	size_t	 klen = strlen(key);
	long	 n = 0;

	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == '=')
			n = strtol(line + klen + 1, NULL, 10);
	fclose(fp);
	return n;
}

/* Signals are blocked here during a takeover: nanosleep is not cut. */
static void
wait_ms(long ms)
{
	struct timespec	ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
note(const char *conf, const char *what)
{
	struct timespec	ts;
	char		path[4096], line[64];
	int		fd, n;

	snprintf(path, sizeof(path), "%s.log", conf);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) == -1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof(line), "%s %lld\n", what,
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	if (write(fd, line, (size_t)n) != n)
		perror("upgwrap: write");
	close(fd);
}
