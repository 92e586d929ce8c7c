/*
 * SPDX-License-Identifier: ISC
 *
 * Integration tests of the workers' logs (clusterd.ini(5), stdout):
 * capture (lines named NAME[SLOT], levels, long lines cut and marked, a
 * last line without its newline, output after the worker, a flood while
 * clusterctl status answers, a slow reader of clusterd's stderr slowing
 * the worker down instead of clusterd buffering); journal, against a
 * fake journald listening at /run/systemd/journal/stdout in a private
 * mount namespace (the header, the lines, the peer's pid; the fallback
 * when there is no journal); and auto.
 */

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define WAIT		15000
#define TEST_TIMEOUT	90
#define LINE_MAX_TEXT	4096	/* clusterd's LOG_LINE_TEXT_MAX */

/* The flood: 100000 lines of 105 bytes, 10.5 MB. */
#define FLOOD_LINES	100000
#define STATUS_WORST_MS	2000	/* generous: 2 shared cores, ASan */
#define RSS_GROWTH_KIB	8192

/* The slow reader of clusterd's stderr: 16 KiB per 10 ms at most. */
#define SLOW_LINES	20000
#define SLOW_CHUNK	16384
#define SLOW_PAUSE_MS	10

/* A shell script in the test directory, for a command = line. */
static const char *
script(const char *name, const char *text)
{
	const char	*path = h_path("%s.sh", name);

	h_write_file(path, "%s", text);
	return path;
}

/*
 * The messages of clusterd's log (after "clusterd[LEVEL] ") that start
 * with tag and ": " or "+ " (a line of NAME[SLOT], or a piece of one),
 * in order; *levels gets each one's level.  NULL-terminated.
 */
static char **
messages(const char *path, const char *tag, char ***levels)
{
	char	*text = h_read_file(path), *line, *next, *lv, *end;
	char	**v = NULL, **l = NULL;
	size_t	 n = 0;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if ((lv = strstr(line, " clusterd[")) == NULL ||
		    (end = strstr(lv, "] ")) == NULL ||
		    strncmp(end + 2, tag, strlen(tag)) != 0 ||
		    strchr(":+", end[2 + strlen(tag)]) == NULL ||
		    end[3 + strlen(tag)] != ' ')
			continue;
		v = realloc(v, (n + 2) * sizeof(*v));
		l = realloc(l, (n + 2) * sizeof(*l));
		H_ASSERT(v != NULL && l != NULL, "realloc");
		*end = '\0';
		v[n] = strdup(end + 2);
		l[n] = strdup(lv + 10);
		n++;
	}
	free(text);
	if (v == NULL) {
		v = calloc(1, sizeof(*v));
		l = calloc(1, sizeof(*l));
	}
	v[n] = l[n] = NULL;
	*levels = l;
	return v;
}

static void
strv_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* n times c, then tail. */
static char *
repeat(char c, size_t n, const char *tail)
{
	char	*s = malloc(n + strlen(tail) + 1);

	H_ASSERT(s != NULL, "malloc");
	memset(s, c, n);
	strcpy(s + n, tail);
	return s;
}

/* The pid of NAME[SLOT] as clusterd logged its start. */
static pid_t
started_pid(const char *tag)
{
	char	needle[64], *line, *p;
	pid_t	pid = -1;

	snprintf(needle, sizeof(needle), "%s started (pid ", tag);
	if ((line = h_find_line(h_log(), needle)) != NULL &&
	    (p = strstr(line, needle)) != NULL)
		pid = (pid_t)strtol(p + strlen(needle), NULL, 10);
	free(line);
	return pid;
}

/*
 * clusterctl -s SOCK status: how long it took, in ms.  It must answer
 * (exit 0) within WAIT.
 */
static long long
status_ms(const char *sock)
{
	const char	*argv[] = { h_ctl_bin(), "-s", sock, "status", NULL };
	long long	 t0 = h_now_ms();
	int		 st;
	pid_t		 pid;

	if ((pid = fork()) == 0) {
		int	fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	H_ASSERT(pid > 0, "fork: %s", strerror(errno));
	while (waitpid(pid, &st, WNOHANG) != pid) {
		if (h_now_ms() - t0 > WAIT) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			H_ASSERT(0, "clusterctl status hung");
		}
		h_sleep_ms(1);
	}
	H_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "clusterctl status: wait status 0x%x", st);
	return h_now_ms() - t0;
}

/*
 * Capture.
 */

/* NAME[SLOT]: on each line; stdout at info, stderr at error, <N>. */
START_TEST(test_capture_names_and_levels)
{
	char	**msg, **lv;
	int	  slot, i, seen;

	h_write_config(
	    "[program:web]\n"
	    "command = /bin/sh %s\n"
	    "workers = 2\n"
	    "stdout = capture\n"
	    "stderr = capture\n"
	    "[program:both]\n"
	    "command = /bin/sh %s\n"
	    "stdout = capture\n"
	    "stderr = stdout\n",
	    script("web", "echo \"out $CLUSTERD_WORKER\"\n"
	    "echo \"err $CLUSTERD_WORKER\" >&2\n"
	    "echo '<4>careful'\n"
	    "echo '<9>not a priority'\n"
	    "exec sleep 600\n"),
	    script("both", "echo to-stdout\necho to-stderr >&2\n"
	    "exec sleep 600\n"));
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_log("web[1]: <9>not a priority", 1, WAIT),
	    "no captured lines");
	H_ASSERT(h_wait_log("web[0]: <9>not a priority", 1, WAIT),
	    "no captured lines");
	H_ASSERT(h_wait_log("both[0]: to-stderr", 1, WAIT), "no shared pipe");
	for (slot = 0; slot < 2; slot++) {
		char	tag[16], out[16], err[16];

		snprintf(tag, sizeof(tag), "web[%d]", slot);
		snprintf(out, sizeof(out), "out %d", slot);
		snprintf(err, sizeof(err), "err %d", slot);
		msg = messages(h_log(), tag, &lv);
		for (i = seen = 0; msg[i] != NULL; i++) {
			const char *text = msg[i] + strlen(tag) + 2;

			if (strcmp(text, out) == 0) {
				H_ASSERT_STR_EQ(lv[i], "info");
				seen |= 1;
			} else if (strcmp(text, err) == 0) {
				H_ASSERT_STR_EQ(lv[i], "error");
				seen |= 2;
			} else if (strcmp(text, "careful") == 0) {
				H_ASSERT_STR_EQ(lv[i], "warning");
				seen |= 4;
			} else if (strcmp(text, "<9>not a priority") == 0) {
				H_ASSERT_STR_EQ(lv[i], "info");
				seen |= 8;
			}
		}
		H_ASSERT(seen == 15, "%s: lines seen 0x%x", tag, seen);
		strv_free(msg);
		strv_free(lv);
	}
	/* one pipe for both: stdout's level for both */
	msg = messages(h_log(), "both[0]", &lv);
	for (i = seen = 0; msg[i] != NULL; i++) {
		H_ASSERT_STR_EQ(lv[i], "info");
		seen++;
	}
	H_ASSERT(seen == 2, "both[0]: %d lines", seen);
	strv_free(msg);
	strv_free(lv);
	/* nothing written around clusterd */
	H_ASSERT(h_count_log("\nerr 0") == 0 && h_count_in_file(h_out(),
	    "out 0") == 0, "a line not through clusterd's log");
	h_stop_daemon();
}
END_TEST

/*
 * A line over 4096 bytes is cut: "NAME[SLOT]: " then "NAME[SLOT]+ "
 * pieces; never inside a UTF-8 character.
 */
START_TEST(test_capture_long_lines)
{
	char	**msg, **lv, *want;
	int	  i;

	h_write_config(
	    "[program:web]\n"
	    "command = /bin/sh %s\n"
	    "stdout = capture\n",
	    script("web", "head -c 10000 /dev/zero | tr '\\000' a; echo\n"
	    "printf '%4095s\\303\\251z\\n' '' | tr ' ' b\n"
	    "echo after\n"
	    "exec sleep 600\n"));
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_log("web[0]: after", 1, WAIT), "no lines");
	msg = messages(h_log(), "web[0]", &lv);
	H_ASSERT(msg[0] != NULL && msg[5] != NULL, "too few lines");
	want = repeat('a', LINE_MAX_TEXT, "");
	H_ASSERT(strncmp(msg[0], "web[0]: ", 8) == 0 &&
	    strcmp(msg[0] + 8, want) == 0, "first piece: %.40s... (%zu)",
	    msg[0], strlen(msg[0]));
	H_ASSERT(strncmp(msg[1], "web[0]+ ", 8) == 0 &&
	    strcmp(msg[1] + 8, want) == 0, "second piece: %.40s... (%zu)",
	    msg[1], strlen(msg[1]));
	free(want);
	want = repeat('a', 10000 - 2 * LINE_MAX_TEXT, "");
	H_ASSERT(strncmp(msg[2], "web[0]+ ", 8) == 0 &&
	    strcmp(msg[2] + 8, want) == 0, "last piece: %.40s... (%zu)",
	    msg[2], strlen(msg[2]));
	free(want);
	/* 4095 b, then a 2-byte character that the cut would split */
	want = repeat('b', LINE_MAX_TEXT - 1, "");
	H_ASSERT(strncmp(msg[3], "web[0]: ", 8) == 0 &&
	    strcmp(msg[3] + 8, want) == 0, "cut in a character: %zu bytes",
	    strlen(msg[3]));
	free(want);
	H_ASSERT_STR_EQ(msg[4], "web[0]+ \303\251z");
	H_ASSERT_STR_EQ(msg[5], "web[0]: after");
	for (i = 0; i < 6; i++)
		H_ASSERT_STR_EQ(lv[i], "info");
	strv_free(msg);
	strv_free(lv);
	h_stop_daemon();
}
END_TEST

/*
 * A last line without its newline is logged when the output ends; and
 * output still comes after the worker's record is gone, from a process
 * that left its process group, until it closes the pipe.
 */
START_TEST(test_capture_partial_and_after)
{
	char	*line, *end, *text;

	h_write_config(
	    "[program:part]\n"
	    "command = /bin/sh %s\n"
	    "stdout = capture\n"
	    "restart = never\n"
	    "[program:late]\n"
	    "command = /bin/sh %s %s\n"
	    "stdout = capture\n"
	    "restart = never\n",
	    script("part", "echo first\nprintf 'no newline at the end'\n"
	    "exit 0\n"),
	    script("late", "setsid sh -c 'touch \"$0\"; sleep 1; "
	    "echo late from outside' \"$1\" &\n"
	    "while [ ! -e \"$1\" ]; do sleep 0.01; done\n"
	    "echo leader gone\nexit 0\n"), h_path("escaped"));
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_log("part[0]: no newline at the end", 1, WAIT),
	    "the last line was not logged");
	line = h_find_line(h_log(), "part[0]: no newline");
	end = line != NULL ? strstr(line, "at the end") : NULL;
	H_ASSERT(end != NULL && end[10] == '\0', "not a line of its own: %s",
	    line != NULL ? line : "");
	free(line);
	/* a worker's last words come before the news of its exit */
	H_ASSERT(h_wait_log("part[0] (pid", 1, WAIT), "part did not exit");
	text = h_read_file(h_log());
	H_ASSERT(text != NULL && strstr(text, "part[0]: no newline") <
	    strstr(text, "part[0] (pid"), "its exit was logged first");
	free(text);
	H_ASSERT(h_wait_log("late[0] (pid", 1, WAIT), "late did not exit");
	H_ASSERT(h_wait_log("late[0]: late from outside", 1, WAIT),
	    "output after the worker's exit was lost");
	H_ASSERT(h_count_log("part[0]: first") == 1, "first line twice");
	H_ASSERT(h_count_log("still open") == 0, "closed before its end");
	h_stop_daemon();
}
END_TEST

/*
 * Until clusterd has read all that the pipe at fd of pid holds (the
 * pipe opened anew through /proc, for FIONREAD only).
 */
static int
pipe_drained(pid_t pid, int fd, int ms)
{
	long long	end = h_now_ms() + ms;
	char		path[64];
	int		pfd, n = -1;

	snprintf(path, sizeof(path), "/proc/%ld/fd/%d", (long)pid, fd);
	pfd = open(path, O_RDONLY | O_NONBLOCK);
	H_ASSERT(pfd != -1, "open the pipe of pid %ld: %s", (long)pid,
	    strerror(errno));
	while (ioctl(pfd, FIONREAD, &n) == 0 && n > 0 && h_now_ms() < end)
		h_sleep_ms(10);
	close(pfd);
	return n == 0;
}

/*
 * An upgrade carries the capture pipes over, and a line half read: it
 * comes out whole, from the same worker, after the new image took over.
 */
START_TEST(test_capture_upgrade)
{
	char	**msg, **lv;
	pid_t	  pid;
	int	  i, line = -1, err = -1;

	h_write_config(
	    "[program:web]\n"
	    "command = /bin/sh %s %s\n"
	    "ready = exec\n"
	    "stdout = capture\n"
	    "stderr = capture\n",
	    script("web", "printf 'before the upgrade, '\n"
	    "printf 'err before, ' >&2\n"
	    "while [ ! -e \"$1\" ]; do sleep 0.02; done\n"
	    "echo 'after it'\necho 'err after' >&2\necho second line\n"
	    "exec sleep 600\n"), h_path("upgraded"));
	H_ASSERT(h_start(NULL) > 0, "start");
	/* an upgrade waits for the start-up to end */
	H_ASSERT(h_wait_log("started: web: 1/1 ready", 1, WAIT), "not up");
	H_ASSERT((pid = started_pid("web[0]")) > 0, "no pid");
	H_ASSERT(pipe_drained(pid, 1, WAIT) && pipe_drained(pid, 2, WAIT),
	    "clusterd did not read the pipes");
	H_ASSERT(h_signal(SIGUSR2) == 0, "SIGUSR2");
	H_ASSERT(h_wait_log("took over", 1, WAIT), "no upgrade");
	h_write_file(h_path("upgraded"), "%s", "");
	H_ASSERT(h_wait_log("web[0]: second line", 1, WAIT), "lines lost");
	msg = messages(h_log(), "web[0]", &lv);
	for (i = 0; msg[i] != NULL; i++) {
		if (strcmp(msg[i], "web[0]: before the upgrade, after it") == 0)
			line = i;
		if (strcmp(msg[i], "web[0]: err before, err after") == 0) {
			err = i;
			H_ASSERT_STR_EQ(lv[i], "error");
		}
	}
	H_ASSERT(line >= 0 && err >= 0, "the half-read lines were not "
	    "carried over (%d, %d)", line, err);
	strv_free(msg);
	strv_free(lv);
	H_ASSERT(h_count_log("web[0] started") == 1, "the worker restarted");
	H_ASSERT(h_count_log("is lost") == 0, "something was lost");
	h_stop_daemon();
}
END_TEST

/* Largest RSS seen, and status latencies, while a flood goes on. */
struct flood_watch {
	long		 fw_rss0, fw_rss_max;
	long long	 fw_worst, fw_total;
	int		 fw_calls;
};

static void
flood_sample(struct flood_watch *fw, const char *sock)
{
	long long	ms = status_ms(sock);
	long		rss = h_rss_kib(h_daemon());

	fw->fw_calls++;
	fw->fw_total += ms;
	if (ms > fw->fw_worst)
		fw->fw_worst = ms;
	if (rss > fw->fw_rss_max)
		fw->fw_rss_max = rss;
}

/*
 * Numbered flood lines in order, exactly n of them, in path's text; a
 * line at a time (a search of the whole text from each match would be
 * quadratic under ASan, whose strstr measures its haystack).
 */
static void
assert_flood_lines(const char *path, const char *tag, int n)
{
	char	*text = h_read_file(path), *line, *eol, *p;
	long	 next = 0, k;
	size_t	 tlen = strlen(tag);

	H_ASSERT(text != NULL, "cannot read %s", path);
	for (line = text; *line != '\0'; line = eol + 1) {
		if ((eol = strchr(line, '\n')) == NULL)
			break;
		*eol = '\0';
		if ((p = strstr(line, tag)) == NULL || p[tlen] < '0' ||
		    p[tlen] > '9')
			continue;
		k = strtol(p + tlen, NULL, 10);
		H_ASSERT(k == next, "flood line %ld, expected %ld", k, next);
		next++;
	}
	free(text);
	H_ASSERT(next == n, "%ld flood lines of %d", next, n);
}

/* The flood: n numbered lines of 105 bytes, then a file that says so. */
static const char *
flood_script(int n)
{
	static char	text[512];

	snprintf(text, sizeof(text), "awk 'BEGIN { for (i = 0; i < %d; "
	    "i++) printf \"%%06d flood line, padded with this text to a "
	    "hundred and five bytes in all .................\\n\", i }'\n"
	    "date +%%s%%N >\"$1\"\necho flood-done\nexec sleep 600\n", n);
	return script("flood", text);
}

/*
 * 10.5 MB through capture: every line logged in order, clusterctl
 * status answers promptly throughout, clusterd's memory stays flat.
 */
START_TEST(test_capture_flood)
{
	struct flood_watch	 fw = { 0, 0, 0, 0, 0 };
	const char		*sock = h_path("ctl.sock"), *done;
	long long		 t0, idle;

	done = h_path("flood.done");
	h_write_config(
	    "[clusterd]\n"
	    "control = %s\n"
	    "[program:flood]\n"
	    "command = /bin/sh %s %s\n"
	    "stdout = capture\n"
	    "[program:idle]\n"
	    "command = /bin/sh %s %s\n"
	    "stdout = capture\n",
	    sock, flood_script(FLOOD_LINES), done,
	    script("idle", "touch \"$1\"\nexec sleep 600\n"),
	    h_path("idle.up"));
	H_ASSERT(h_start(NULL) > 0, "start");
	H_ASSERT(h_wait_file(h_path("idle.up"), 1, WAIT), "idle not up");
	H_ASSERT(h_wait_file(sock, 1, WAIT), "no control socket");
	idle = status_ms(sock);
	fw.fw_rss0 = h_rss_kib(h_daemon());
	t0 = h_now_ms();
	while (!h_file_exists(done) && h_now_ms() - t0 < 60000)
		flood_sample(&fw, sock);
	H_ASSERT(h_file_exists(done), "the flood did not end");
	H_ASSERT(h_wait_log("flood[0]: flood-done", 1, WAIT),
	    "the flood's end was not logged");
	flood_sample(&fw, sock);
	fprintf(stderr, "capture flood: %d lines in %lld ms; clusterctl "
	    "status: idle %lld ms, %d calls during the flood, worst %lld "
	    "ms, mean %lld ms; clusterd RSS %ld KiB before, %ld KiB at "
	    "most\n", FLOOD_LINES, h_now_ms() - t0, idle, fw.fw_calls,
	    fw.fw_worst, fw.fw_total / fw.fw_calls, fw.fw_rss0,
	    fw.fw_rss_max);
	H_ASSERT(fw.fw_worst < STATUS_WORST_MS, "status took %lld ms",
	    fw.fw_worst);
	H_ASSERT(fw.fw_rss_max - fw.fw_rss0 < RSS_GROWTH_KIB,
	    "RSS grew from %ld to %ld KiB", fw.fw_rss0, fw.fw_rss_max);
	assert_flood_lines(h_log(), "flood[0]: ", FLOOD_LINES);
	H_ASSERT(h_count_log("dropped") == 0, "log lines were dropped");
	h_stop_daemon();
}
END_TEST

/*
 * Copy fifo to out, at most SLOW_CHUNK bytes per SLOW_PAUSE_MS: a slow
 * reader of clusterd's stderr.  Exits at EOF.
 */
static pid_t
slow_reader(const char *fifo, const char *out)
{
	struct timespec	 pause = { 0, SLOW_PAUSE_MS * 1000000L };
	static char	 buf[SLOW_CHUNK];
	ssize_t		 n;
	pid_t		 pid;
	int		 in, fd;

	if ((pid = fork()) != 0)
		return pid;
	if ((in = open(fifo, O_RDONLY)) == -1 ||
	    (fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1)
		_exit(1);
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(fd, buf, (size_t)n) != n)
			_exit(1);
		nanosleep(&pause, NULL);
	}
	_exit(0);
}

static void
dump_tail(const char *path)
{
	char	*buf = h_read_file(path);
	size_t	 len = buf != NULL ? strlen(buf) : 0;

	fprintf(stderr, "---- %s (last 3000 bytes)\n%s----\n", path,
	    len > 3000 ? buf + len - 3000 : buf != NULL ? buf : "");
	free(buf);
}

#define SLOW_ASSERT(expr, ...) do {					\
	if (!(expr))							\
		dump_tail(h_path("slow.log"));				\
	H_ASSERT(expr, __VA_ARGS__);					\
} while (0)

/*
 * clusterd's stderr is a FIFO read slowly: the flooding worker is held
 * up by its pipe (it takes about as long as the reader), no line is
 * dropped, status still answers, clusterd's memory stays flat.
 */
START_TEST(test_capture_backpressure)
{
	struct flood_watch	 fw = { 0, 0, 0, 0, 0 };
	const char		*sock = h_path("ctl.sock"), *done, *fifo;
	const char		*slow = h_path("slow.log");
	const char		*argv[] = { "/bin/sh", "-c",
				    "exec \"$0\" -c \"$1\" 2>\"$2\"", NULL,
				    NULL, NULL, NULL };
	char			*text;
	long long		 t0, started, ended, took;
	pid_t			 reader;
	int			 st;

	done = h_path("flood.done");
	fifo = h_path("stderr.fifo");
	H_ASSERT(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
	h_write_config(
	    "[clusterd]\n"
	    "control = %s\n"
	    "[program:flood]\n"
	    "command = /bin/sh %s %s\n"
	    "stdout = capture\n",
	    sock, flood_script(SLOW_LINES), done);
	H_ASSERT((reader = slow_reader(fifo, slow)) > 0, "fork");
	argv[3] = h_clusterd_bin();
	argv[4] = h_conf();
	argv[5] = fifo;
	H_ASSERT(h_start_cmd(argv, NULL) > 0, "start");
	SLOW_ASSERT(h_wait_file(sock, 1, WAIT), "no control socket");
	fw.fw_rss0 = h_rss_kib(h_daemon());
	t0 = h_now_ms();
	SLOW_ASSERT(h_wait_text(slow, "flood[0] started", 1, WAIT),
	    "not started");
	started = h_now_ms();
	while (!h_file_exists(done) && h_now_ms() - t0 < 60000)
		flood_sample(&fw, sock);
	ended = h_now_ms();
	SLOW_ASSERT(h_file_exists(done), "the flood did not end");
	SLOW_ASSERT(h_wait_text(slow, "flood[0]: flood-done", 1, WAIT),
	    "the flood's end was not logged (dropped: %d)",
	    h_count_in_file(slow, "dropped"));
	took = ended - started;
	fprintf(stderr, "capture to a slow stderr (%d KiB/s): %d lines, the "
	    "worker took %lld ms; clusterctl status: %d calls, worst %lld "
	    "ms; clusterd RSS %ld KiB before, %ld KiB at most\n",
	    SLOW_CHUNK / SLOW_PAUSE_MS * 1000 / 1024, SLOW_LINES, took,
	    fw.fw_calls, fw.fw_worst, fw.fw_rss0, fw.fw_rss_max);
	/* about 3 MB out at 1.6 MB/s at most: it cannot be quick */
	SLOW_ASSERT(took >= 1000, "the worker was not slowed down: %lld ms",
	    took);
	SLOW_ASSERT(fw.fw_worst < STATUS_WORST_MS, "status took %lld ms",
	    fw.fw_worst);
	SLOW_ASSERT(fw.fw_rss_max - fw.fw_rss0 < RSS_GROWTH_KIB,
	    "RSS grew from %ld to %ld KiB", fw.fw_rss0, fw.fw_rss_max);
	h_stop_daemon();
	SLOW_ASSERT(h_wait_dead(reader, WAIT), "the reader did not end");
	waitpid(reader, &st, 0);
	assert_flood_lines(slow, "flood[0]: ", SLOW_LINES);
	text = h_read_file(slow);
	SLOW_ASSERT(text != NULL && strstr(text, "dropped") == NULL,
	    "log lines were dropped");
	free(text);
}
END_TEST

/*
 * Journal: a fake journald.
 */

/* One stream journald would have: who connected, what it sent. */
struct jstream {
	int	 js_fd;
	pid_t	 js_pid;
	uid_t	 js_uid;
	char	 js_data[16384];
	size_t	 js_len;
};

#define JSTREAMS	32

struct jd {
	int		 jd_fd;		/* listening */
	struct jstream	 jd_s[JSTREAMS];
	int		 jd_n;
};

/* May the test make a private mount namespace (root, unshare)? */
static int
can_unshare(void)
{
	const char	*argv[] = { "/usr/bin/unshare", "--mount", "/bin/true",
			    NULL };
	int		 st;

	if (geteuid() != 0 || access(argv[0], X_OK) != 0)
		return 0;
	return h_run(argv, NULL, WAIT, &st, NULL, NULL) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0;
}

/* The journal directory to mount, with a listening stream socket. */
static void
jd_open(struct jd *jd, int listening)
{
	struct sockaddr_un	sun;
	const char		*dir = h_path("journal");

	memset(jd, 0, sizeof(*jd));
	jd->jd_fd = -1;
	H_ASSERT(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
	if (!listening)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/stdout", dir);
	H_ASSERT((jd->jd_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK,
	    0)) != -1, "socket");
	H_ASSERT(bind(jd->jd_fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "bind %s: %s", sun.sun_path, strerror(errno));
	H_ASSERT(chmod(sun.sun_path, 0666) == 0, "chmod");
	H_ASSERT(listen(jd->jd_fd, 64) == 0, "listen");
}

/*
 * Start clusterd in a mount namespace of its own, where the journal
 * directory is at /run/systemd/journal (over a tmpfs if that does not
 * exist).  unshare and sh exec in place: the daemon's pid is clusterd's.
 */
static void
start_in_namespace(const char *const *env)
{
	static const char	 sh[] =
	    "set -e\n"
	    "j=/run/systemd/journal\n"
	    "if [ ! -d $j ]; then\n"
	    "	if [ -d /run/systemd ]; then r=/run/systemd; else r=/run; fi\n"
	    "	mount -t tmpfs tmpfs $r\n"
	    "	mkdir -p $j\n"
	    "fi\n"
	    "mount --bind \"$1\" $j\n"
	    "exec \"$2\" -c \"$3\"\n";
	const char		*argv[] = { "/usr/bin/unshare", "--mount",
				    "/bin/sh", "-c", sh, "sh", NULL, NULL,
				    NULL, NULL };

	argv[6] = h_path("journal");
	argv[7] = h_clusterd_bin();
	argv[8] = h_conf();
	H_ASSERT(h_start_cmd(argv, env) > 0, "start");
}

/* Accept and read for up to ms, or until done(jd) says so. */
static int
jd_wait(struct jd *jd, int (*done)(const struct jd *), int ms)
{
	struct pollfd	 pfd[JSTREAMS + 1];
	struct ucred	 cr;
	socklen_t	 len = sizeof(cr);
	long long	 end = h_now_ms() + ms;
	struct jstream	*js;
	ssize_t		 n;
	int		 i, fd;

	while (!done(jd) && h_now_ms() < end) {
		pfd[0].fd = jd->jd_fd;
		pfd[0].events = POLLIN;
		for (i = 0; i < jd->jd_n; i++) {
			pfd[i + 1].fd = jd->jd_s[i].js_fd;
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)jd->jd_n + 1, 50) <= 0)
			continue;
		if ((pfd[0].revents & POLLIN) && jd->jd_n < JSTREAMS &&
		    (fd = accept(jd->jd_fd, NULL, NULL)) != -1) {
			js = &jd->jd_s[jd->jd_n++];
			js->js_fd = fd;
			H_ASSERT(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr,
			    &len) == 0, "SO_PEERCRED: %s", strerror(errno));
			js->js_pid = cr.pid;
			js->js_uid = cr.uid;
		}
		for (i = 0; i < jd->jd_n; i++) {
			js = &jd->jd_s[i];
			if (js->js_fd == -1 || !(pfd[i + 1].revents &
			    (POLLIN | POLLHUP)))
				continue;
			n = read(js->js_fd, js->js_data + js->js_len,
			    sizeof(js->js_data) - 1 - js->js_len);
			if (n <= 0) {
				close(js->js_fd);
				js->js_fd = -1;
				continue;
			}
			js->js_len += (size_t)n;
			js->js_data[js->js_len] = '\0';
		}
	}
	return done(jd);
}

static void
jd_close(struct jd *jd)
{
	int	i;

	for (i = 0; i < jd->jd_n; i++)
		if (jd->jd_s[i].js_fd != -1)
			close(jd->jd_s[i].js_fd);
	if (jd->jd_fd != -1)
		close(jd->jd_fd);
}

/* The streams whose data starts with header and holds text. */
static int
jd_count(const struct jd *jd, const char *header, const char *text)
{
	int	i, n = 0;

	for (i = 0; i < jd->jd_n; i++)
		if (strncmp(jd->jd_s[i].js_data, header, strlen(header)) ==
		    0 && strstr(jd->jd_s[i].js_data + strlen(header), text) !=
		    NULL)
			n++;
	return n;
}

static int
streams_done(const struct jd *jd)
{
	return jd_count(jd, "webby\n\n6\n1\n0\n0\n0\n", "<5>noticed\n") == 2 &&
	    jd_count(jd, "webby\n\n3\n1\n0\n0\n0\n", "err-line\n") == 2 &&
	    jd_count(jd, "one\n\n6\n1\n0\n0\n0\n", "two\n") == 1;
}

/*
 * stdout = journal: each worker connects a stream of its own (its pid
 * and user, as SO_PEERCRED shows), sends the header (identifier, empty
 * unit, priority 6 or 3, level_prefix 1, no forwarding) and its lines;
 * stderr = stdout shares the stdout stream; nothing passes through
 * clusterd.
 */
START_TEST(test_journal_streams)
{
	struct jd	 jd;
	struct passwd	*pw = getpwnam("nobody");
	char		 tag[16];
	int		 i, slot, found;

	if (!can_unshare() || pw == NULL)
		return;		/* needs root, unshare, a user nobody */
	jd_open(&jd, 1);
	h_write_config(
	    "[program:web]\n"
	    "command = /bin/sh %s\n"
	    "workers = 2\n"
	    "user = nobody\n"
	    "stdout = journal\n"
	    "stderr = journal\n"
	    "identifier = webby\n"
	    "[program:one]\n"
	    "command = /bin/sh %s\n"
	    "stdout = journal\n"
	    "stderr = stdout\n",
	    script("web", "echo out-line\necho err-line >&2\n"
	    "echo '<5>noticed'\nexec sleep 600\n"),
	    script("one", "echo one\necho two >&2\nexec sleep 600\n"));
	start_in_namespace(NULL);
	H_ASSERT(jd_wait(&jd, streams_done, WAIT), "the streams did not come "
	    "(%d connections)", jd.jd_n);
	for (slot = 0; slot < 2; slot++) {
		pid_t	pid;

		snprintf(tag, sizeof(tag), "web[%d]", slot);
		H_ASSERT((pid = started_pid(tag)) > 0, "no pid for %s", tag);
		for (i = found = 0; i < jd.jd_n; i++) {
			if (jd.jd_s[i].js_pid != pid)
				continue;
			H_ASSERT(jd.jd_s[i].js_uid == pw->pw_uid,
			    "%s: stream of uid %lu", tag,
			    (unsigned long)jd.jd_s[i].js_uid);
			found++;
		}
		H_ASSERT(found == 2, "%s (pid %ld): %d streams", tag, (long)pid,
		    found);
	}
	H_ASSERT(jd_count(&jd, "webby\n\n6\n1\n0\n0\n0\n",
	    "out-line\n<5>noticed\n") == 2, "stdout lines");
	H_ASSERT(jd_count(&jd, "webby\n\n3\n1\n0\n0\n0\n", "out-line") == 0,
	    "stdout in the stderr stream");
	H_ASSERT(jd_count(&jd, "one\n\n6\n1\n0\n0\n0\n", "one\ntwo\n") == 1,
	    "a shared stream");
	H_ASSERT(h_count_log("out-line") == 0 && h_count_log("err-line") ==
	    0 && h_count_log("no journal stream") == 0,
	    "a line went through clusterd");
	h_stop_daemon();
	jd_close(&jd);
}
END_TEST

/*
 * No journal (nothing at the socket's path): the workers write to
 * clusterd's own output, and that is said once, whatever the number of
 * starts.
 */
START_TEST(test_journal_missing)
{
	struct jd	jd;

	if (!can_unshare())
		return;
	jd_open(&jd, 0);
	h_write_config(
	    "[program:web]\n"
	    "command = /bin/sh %s\n"
	    "workers = 3\n"
	    "stdout = journal\n"
	    "stderr = journal\n",
	    script("web", "echo \"inherited $CLUSTERD_WORKER\"\n"
	    "echo \"also stderr $CLUSTERD_WORKER\" >&2\nexec sleep 600\n"));
	start_in_namespace(NULL);
	H_ASSERT(h_wait_text(h_out(), "inherited ", 3, WAIT),
	    "no inherited output");
	H_ASSERT(h_wait_log("also stderr ", 3, WAIT), "no inherited stderr");
	H_ASSERT(h_signal(SIGHUP) == 0, "SIGHUP");	/* 3 starts more */
	H_ASSERT(h_wait_text(h_out(), "inherited ", 6, WAIT), "no restarts");
	H_ASSERT(h_wait_log("reload done", 1, WAIT), "no reload");
	H_ASSERT(h_count_log("no journal stream: connect "
	    "/run/systemd/journal/stdout: No such file or directory") == 1,
	    "%d warnings, expected 1", h_count_log("no journal stream"));
	H_ASSERT(h_count_log("no journal stream") == 1, "warned again");
	h_stop_daemon();
	jd_close(&jd);
}
END_TEST

/* JOURNAL_STREAM=DEV:INO of the daemon's log file (created first). */
static const char *
journal_stream_of_log(int matching)
{
	static char	env[96];
	struct stat	st;

	h_write_file(h_log(), "%s", "");
	H_ASSERT(stat(h_log(), &st) == 0, "stat");
	snprintf(env, sizeof(env), "JOURNAL_STREAM=%llu:%llu",
	    (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino + (matching ? 0 : 1));
	return env;
}

static int
auto_done(const struct jd *jd)
{
	return jd_count(jd, "web\n\n6\n1\n0\n0\n0\n", "auto-out\n") == 1 &&
	    jd_count(jd, "web\n\n3\n1\n0\n0\n0\n", "auto-err\n") == 1;
}

/*
 * auto, clusterd's stderr the journal: the worker's own journal streams;
 * and clusterd's captured lines keep their <N> prefix.
 */
START_TEST(test_auto_journal)
{
	const char	*env[] = { NULL, NULL };
	struct jd	 jd;

	if (!can_unshare())
		return;
	jd_open(&jd, 1);
	h_write_config(
	    "[program:web]\n"
	    "command = /bin/sh %s\n"
	    "[program:cap]\n"
	    "command = /bin/sh %s\n"
	    "stdout = capture\n"
	    "stderr = capture\n",
	    script("web", "echo auto-out\necho auto-err >&2\n"
	    "exec sleep 600\n"),
	    script("cap", "echo cap-out\necho cap-err >&2\n"
	    "echo '<5>cap-notice'\nexec sleep 600\n"));
	env[0] = journal_stream_of_log(1);
	start_in_namespace(env);
	H_ASSERT(jd_wait(&jd, auto_done, WAIT), "no journal streams (%d "
	    "connections)", jd.jd_n);
	H_ASSERT(h_wait_log("<3>cap[0]: cap-err\n", 1, WAIT), "cap-err");
	H_ASSERT(h_wait_log("<6>cap[0]: cap-out\n", 1, WAIT), "cap-out");
	H_ASSERT(h_wait_log("<5>cap[0]: cap-notice\n", 1, WAIT), "notice");
	H_ASSERT(h_count_log("auto-") == 0 && h_count_in_file(h_out(),
	    "auto-") == 0, "web's lines went through clusterd");
	h_stop_daemon();
	jd_close(&jd);
}
END_TEST

/* auto, clusterd's stderr not the journal: inherit, no journal asked. */
START_TEST(test_auto_inherit)
{
	const char	*env[] = { NULL, NULL };
	struct pollfd	 pfd;
	struct jd	 jd;

	if (!can_unshare())
		return;
	jd_open(&jd, 1);
	h_write_config(
	    "[program:web]\n"
	    "command = /bin/sh %s\n",
	    script("web", "echo auto-out\necho auto-err >&2\n"
	    "exec sleep 600\n"));
	env[0] = journal_stream_of_log(0);
	start_in_namespace(env);
	H_ASSERT(h_wait_text(h_out(), "auto-out\n", 1, WAIT), "not inherited");
	H_ASSERT(h_wait_log("\nauto-err\n", 1, WAIT), "not inherited");
	H_ASSERT(h_count_log("clusterd[notice]") > 0, "the log is not plain");
	pfd.fd = jd.jd_fd;
	pfd.events = POLLIN;
	H_ASSERT(poll(&pfd, 1, 0) == 0, "the journal was connected to");
	h_stop_daemon();
	jd_close(&jd);
}
END_TEST

static Suite *
logs_suite(void)
{
	Suite	*s = suite_create("daemon_logs");
	TCase	*tc;

	tc = h_tcase("capture", TEST_TIMEOUT);
	tcase_add_test(tc, test_capture_names_and_levels);
	tcase_add_test(tc, test_capture_long_lines);
	tcase_add_test(tc, test_capture_partial_and_after);
	tcase_add_test(tc, test_capture_flood);
	tcase_add_test(tc, test_capture_backpressure);
	tcase_add_test(tc, test_capture_upgrade);
	suite_add_tcase(s, tc);
	tc = h_tcase("journal", TEST_TIMEOUT);
	tcase_add_test(tc, test_journal_streams);
	tcase_add_test(tc, test_journal_missing);
	tcase_add_test(tc, test_auto_journal);
	tcase_add_test(tc, test_auto_inherit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite_forked(logs_suite());
}
