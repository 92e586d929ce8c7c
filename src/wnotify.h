/*
 * SPDX-License-Identifier: ISC
 *
 * wnotify.h - a worker's own sd_notify socket (ready = notify): the
 * NOTIFY_SOCKET clusterd gives one worker, and the parser of what is sent
 * there.
 */

#ifndef WNOTIFY_H
#define WNOTIFY_H

#include <sys/types.h>

#include <stddef.h>

#include <ev.h>

#define WNOTIFY_DGRAM_MAX	4096	/* a datagram; longer is dropped */
#define WNOTIFY_STATUS_MAX	256	/* STATUS= text, NUL included */
#define WNOTIFY_READS		32	/* datagrams read per wake-up */
#define WNOTIFY_LOGGED		5	/* bad datagrams logged, per kind */
#define WNOTIFY_NAME_MAX	16	/* "@" and the kernel's 5 hex digits */

/* What one datagram says. */
struct wnotify_msg {
	int		 wm_ready;		/* READY=1 */
	int		 wm_stopping;		/* STOPPING=1 */
	int		 wm_watchdog;		/* WATCHDOG=1 */
	int		 wm_reloading;		/* RELOADING=1 */
	int		 wm_has_status;		/* STATUS=, the last one */
	char		 wm_status[WNOTIFY_STATUS_MAX];
	unsigned	 wm_ignored;		/* other assignments */
	pid_t		 wm_pid;		/* the sender (0 from the
						   parser alone) */
};

struct wnotify;
typedef void	(*wnotify_cb)(void *, const struct wnotify_msg *);

struct wnotify {
	ev_io		 wn_io;
	pid_t		 wn_pid;	/* the worker, leader of its group */
	char		 wn_name[WNOTIFY_NAME_MAX];	/* NOTIFY_SOCKET */
	char		 wn_label[96];	/* "web[0]", for messages */
	wnotify_cb	 wn_cb;
	void		*wn_arg;
	unsigned long	 wn_received;	/* datagrams accepted */
	unsigned long	 wn_bad;	/* malformed or oversized */
	unsigned long	 wn_foreign;	/* from outside its process group */
};

int		 wnotify_parse(const char *, size_t, struct wnotify_msg *,
		    char *, size_t);
int		 wnotify_open(struct wnotify *, const char *, wnotify_cb,
		    void *, char *, size_t);
int		 wnotify_adopt(struct wnotify *, int, const char *, wnotify_cb,
		    void *, char *, size_t);
void		 wnotify_start(struct wnotify *, pid_t);
const char	*wnotify_socket(const struct wnotify *);
void		 wnotify_close(struct wnotify *);

#endif /* WNOTIFY_H */
