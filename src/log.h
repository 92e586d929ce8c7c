/*
 * SPDX-License-Identifier: ISC
 *
 * clusterd logging: one line per message on stderr, with a timestamp and
 * level, or with a <N> priority prefix when stderr is the journal.  After
 * log_init() a slow or absent reader never blocks the caller: lines wait
 * in a bounded buffer (log_flush() retries it), then are dropped and
 * counted.  A caller that can wait itself (capture.c, reading workers'
 * output) asks log_congested() first, so that it never fills the buffer:
 * the other half is kept for clusterd's own messages.
 */

#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARNING,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

#define LOG_LVL_DEFAULT	LOG_LVL_INFO

/* The longest text log_line() takes whole; longer is cut. */
#define LOG_LINE_TEXT_MAX	4096

void	log_init(int);
void	log_tick(void);
int	log_flush(void);
unsigned long long log_dropped_count(void);
int	log_is_journal(void);
int	log_backlog(void);
int	log_congested(void);
int	log_wait_fd(void);
void	log_line(int, const char *, const char *, size_t);
void	log_hold(void);
const char *log_release(int);
void	log_setlevel(int);
int	log_getlevel(void);
int	log_level_parse(const char *);
const char *log_level_name(int);

void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* LOG_H */
