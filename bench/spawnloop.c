/*
 * SPDX-License-Identifier: ISC
 *
 * spawnloop - the baseline of bench/soak.py's 1000-worker run: start N
 * copies of a worker with a plain fork/exec loop, as a supervisor with
 * nothing else to do would, and time it.
 *
 *	spawnloop N PORT PROGRAM [ARG...]
 *
 * Binds 127.0.0.1:PORT and gives it to every copy as fd 3 with
 * LISTEN_FDS=1, LISTEN_PID and LISTEN_FDNAMES=web (what clusterd and
 * systemd-socket-activate pass), each in a process group of its own.
 * A copy counts as started when it has exec'd: the close-on-exec pipe
 * the parent reads gives EOF (or the exec errno).  Then every copy gets
 * SIGTERM and is reaped.  Prints one JSON line:
 *	{"n":N,"started":S,"start_s":T1,"stop_s":T2}
 * T1 from the first fork to the last exec, T2 from the first SIGTERM to
 * the last reap.  Exit 0 if every copy started, else 1.
 */

#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
listen_on(int port)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 511) == -1) {
		fprintf(stderr, "spawnloop: listen 127.0.0.1:%d: %s\n", port,
		    strerror(errno));
		exit(1);
	}
	return fd;
}

/* The child: fd 3, the environment, exec; the errno back on failure. */
static void
child(int sock, int status_fd, char **argv)
{
	char	pid[32];
	int	err;

	setpgid(0, 0);
	if (sock == 3)
		fcntl(3, F_SETFD, 0);
	else if (dup2(sock, 3) == -1)
		goto fail;
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDNAMES", "web", 1);
	execv(argv[0], argv);
 fail:
	err = errno;
	(void)write(status_fd, &err, sizeof(err));
	_exit(127);
}

int
main(int argc, char **argv)
{
	pid_t	*pids;
	int	*pipes, n, i, sock, p[2], err, started = 0;
	double	 t0, t1, t2, t3;

	if (argc < 4 || (n = atoi(argv[1])) < 1) {
		fprintf(stderr, "usage: spawnloop N PORT PROGRAM [ARG...]\n");
		return 2;
	}
	sock = listen_on(atoi(argv[2]));
	if ((pids = calloc((size_t)n, sizeof(*pids))) == NULL ||
	    (pipes = calloc((size_t)n, sizeof(*pipes))) == NULL)
		return 1;
	t0 = now();
	for (i = 0; i < n; i++) {
		if (pipe2(p, O_CLOEXEC) == -1) {
			perror("spawnloop: pipe");
			return 1;
		}
		if ((pids[i] = fork()) == -1) {
			perror("spawnloop: fork");
			return 1;
		}
		if (pids[i] == 0)
			child(sock, p[1], argv + 3);
		close(p[1]);
		pipes[i] = p[0];
	}
	for (i = 0; i < n; i++) {
		if (read(pipes[i], &err, sizeof(err)) == 0)
			started++;
		close(pipes[i]);
	}
	t1 = now();
	t2 = now();
	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (i = 0; i < n; i++)
		while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
			;
	t3 = now();
	printf("{\"n\":%d,\"started\":%d,\"start_s\":%.4f,\"stop_s\":%.4f}\n",
	    n, started, t1 - t0, t3 - t2);
	free(pids);
	free(pipes);
	return started == n ? 0 : 1;
}
