/*
 * SPDX-License-Identifier: ISC
 *
 * Integration-test harness: run the real clusterd from the outside, with
 * tiny workers (tests/workers) that report what they see.
 *
 * Every test gets a temporary directory (h_setup) holding the
 * configuration, the daemon's log, and reports/ where the workers write.
 * Waits poll with a deadline and return as soon as the condition holds;
 * nothing sleeps a fixed time.  Every process a test starts carries
 * CDTEST_MARK=<dir> in its environment; h_cleanup() and a janitor
 * process (for a test killed by its timeout) SIGKILL exactly those, by
 * pid, and remove the directory.
 *
 * The daemon is started with a leaked descriptor (fd 7), SIGUSR2 ignored
 * and SIGUSR1 blocked: none of that may reach its workers.
 *
 * Environment: CLUSTERD_BIN (the daemon), TEST_WORKERS (built workers),
 * EXAMPLES (built examples).
 */

#ifndef HARNESS_H
#define HARNESS_H

#include <sys/types.h>

#include <check.h>
#include <stddef.h>

#define H_DEADLINE_MS	15000	/* default deadline of a wait */

/* A report file: key=value lines. */
struct h_report {
	char		 *r_path;
	char		**r_keys;
	char		**r_vals;
	size_t		  r_n;
	pid_t		  r_pid;
	long long	  r_start_ms;	/* CLOCK_REALTIME */
	long long	  r_mono_ms;	/* CLOCK_MONOTONIC */
};

/* Fixture: a temporary directory and the janitor; and the clean-up. */
void		 h_setup(void);
void		 h_teardown(void);
void		 h_cleanup(void);

/* Paths: each returns one of a ring of static buffers. */
const char	*h_dir(void);
const char	*h_path(const char *, ...) __attribute__((format(printf, 1,
		    2)));
const char	*h_worker(const char *);
const char	*h_example(const char *);
const char	*h_conf(void);		/* <dir>/clusterd.ini */
const char	*h_log(void);		/* the daemon's stderr */
const char	*h_out(void);		/* the daemon's stdout */
const char	*h_reports(void);	/* <dir>/reports */

/* Files. */
void		 h_write_file(const char *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 h_write_config(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
char		*h_read_file(const char *);	/* malloc'd, or NULL */
int		 h_file_exists(const char *);
int		 h_count_in_file(const char *, const char *);
char		*h_find_line(const char *, const char *);
int		 h_free_port(void);
void		 h_install(const char *, const char *, mode_t);

/* The daemon. */
pid_t		 h_start(const char *const *);	/* extra env, NULL-ended */
pid_t		 h_start_args(const char *const *, const char *const *);
pid_t		 h_start_cmd(const char *const *, const char *const *);
pid_t		 h_daemon(void);
int		 h_signal(int);
int		 h_wait_exit(int, int *);	/* deadline ms, wait status */
int		 h_daemon_alive(void);
int		 h_run(const char *const *, const char *const *, int, int *,
		    char **, char **);

/* Waits: 1 when the condition held before the deadline (ms), else 0. */
long long	 h_now_ms(void);
int		 h_wait_log(const char *, int, int);	/* needle, count, ms */
int		 h_wait_text(const char *, const char *, int, int);
int		 h_count_log(const char *);
int		 h_wait_reports(const char *, int, int);
int		 h_count_reports(const char *);
int		 h_wait_file(const char *, int, int);
int		 h_pid_dead(pid_t);
int		 h_wait_dead(pid_t, int);
void		 h_sleep_ms(int);

/* Reports. */
struct h_report	*h_report_load(const char *);
void		 h_report_free(struct h_report *);
const char	*h_report_get(const struct h_report *, const char *);
long long	 h_report_num(const struct h_report *, const char *);
size_t		 h_report_list(const char *, struct h_report ***);
void		 h_report_list_free(struct h_report **, size_t);
struct h_report	*h_report_wait(const char *, int);
void		 h_assert_key(const struct h_report *, const char *,
		    const char *);
void		 h_assert_no_key(const struct h_report *, const char *);

/* Network. */
int		 h_connect_tcp(int);
int		 h_connect_unix(const char *);
int		 h_send(int, const char *);
ssize_t		 h_recv_all(int, char *, size_t, int);
ssize_t		 h_request_tcp(int, const char *, char *, size_t, int);
ssize_t		 h_request_unix(const char *, const char *, char *, size_t,
		    int);

/*
 * A load loop for examples/hello: nconn HTTP/1.1 requests in flight at any
 * time, each on a connection of its own ("Connection: close"), on
 * non-blocking sockets, single-threaded.  Each request ends as one of: ok
 * (a whole 200 response with the body "hello\n"), a connection error
 * (connect failed), or a failure (reset, truncated, wrong, or no answer
 * within H_LOAD_TIMEOUT ms; ld_why says what the first one was).
 * h_load_turn() starts requests in idle places (unless draining), polls
 * up to ms and advances what is ready; it returns how many are still in
 * flight.  h_load_drain() lets those finish, within the timeout.
 */
#define H_LOAD_MAXCONN	16
#define H_LOAD_TIMEOUT	5000

enum h_lc_state {
	H_LC_IDLE,
	H_LC_CONNECTING,
	H_LC_READING
};

struct h_lconn {
	enum h_lc_state	 lc_state;
	int		 lc_fd;
	size_t		 lc_len;
	long long	 lc_deadline;
	char		 lc_buf[512];
};

struct h_load {
	int		 ld_port;
	long		 ld_ok;
	long		 ld_failed;
	long		 ld_connect_err;
	char		 ld_why[256];	/* the first failure */
	struct h_lconn	 ld_conns[H_LOAD_MAXCONN];
	int		 ld_nconn;
};

struct h_load	*h_load_new(int, int);		/* port, nconn; free() it */
int		 h_load_turn(struct h_load *, int, int);
void		 h_load_drain(struct h_load *);
void		 h_load_assert_clean(const struct h_load *);

/* Processes. */
int		 h_marked_pids(pid_t *, int);	/* alive, not zombies */
int		 h_wait_no_marked(int);
int		 h_zombie_children(pid_t);
char		 h_proc_state(pid_t);		/* 0 if gone */

/* A test case with h_setup/h_teardown as fixture and a timeout (s). */
TCase		*h_tcase(const char *, int);

/* Endings: nothing of the test left; SIGTERM and a clean exit. */
void		 h_assert_no_leftovers(void);
void		 h_stop_daemon(void);

/* Shared assertions and probes. */
void		 h_expect_reports(const char *, int);
struct h_report	*h_newest_report(const char *);
void		 h_assert_no_zombies(void);
int		 h_fd_count(pid_t);
long		 h_rss_kib(pid_t);
int		 h_notify_open(const char *);
int		 h_notify_recv(int, char *, size_t, int);
void		 h_kill_in_namespace(const struct h_report *, int);

/*
 * Assertions the daemon suites share; each waits up to H_WAIT ms and
 * fails the test with what it found.
 */
#define H_WAIT		15000

/* 1 in a build under AddressSanitizer (gcc and clang): slower, larger. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN	1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN	0
#endif
const char	*h_clusterd_bin(void);	/* $CLUSTERD_BIN, set by make */
const char	*h_ctl_bin(void);	/* $CLUSTERCTL_BIN */
void		 h_log_for(const char *, int);	/* needle n times */
void		 h_log_alive(const char *, int);	/* daemon alive */
void		 h_newest_pids(const char *, int, pid_t *);
long long	 h_report_num_of(const char *, pid_t, const char *);
void		 h_wait_marked(int);	/* the daemon and n workers */
int		 h_port_open(int);	/* anything accepts on 127.0.0.1 */
int		 h_reporter_answers(int);	/* "hello pid=" to "ping" */

/* Diagnostics: the tail of the daemon's log on stderr. */
void		 h_dump_log(void);

/*
 * An assertion that shows the daemon's log and cleans up before failing:
 * in CK_FORK mode a failed ck_assert exits at once, without teardown.
 * h_failed() makes the message first, while what it looks at (the log,
 * the reports) is still there, then does that; it returns the message.
 */
const char	*h_failed(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

#define H_ASSERT(expr, ...) do {					\
	if (!(expr)) {							\
		const char *h_msg_ = h_failed(__VA_ARGS__);		\
									\
		ck_abort_msg("assertion '%s' failed: %s", #expr, h_msg_); \
	}								\
} while (0)

#define H_ASSERT_STR_EQ(a, b) do {					\
	const char *h_a_ = (a), *h_b_ = (b);				\
	H_ASSERT(h_a_ != NULL && h_b_ != NULL && strcmp(h_a_, h_b_) == 0, \
	    "\"%s\" != \"%s\"", h_a_ ? h_a_ : "(null)",			\
	    h_b_ ? h_b_ : "(null)");					\
} while (0)

#endif /* HARNESS_H */
