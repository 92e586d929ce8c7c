/*
 * Logging to stderr.  Under systemd, when JOURNAL_STREAM names the device
 * and inode of our stderr, the journal adds its own timestamp: each line
 * then carries only a <N> syslog priority prefix.
 */

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	log_level = LOG_LVL_DEFAULT;
static int	log_journal;

static const struct {
	const char	*name;
	int		 syslog_prio;
} levels[] = {
	[LOG_LVL_ERROR] =	{ "error", 3 },
	[LOG_LVL_WARNING] =	{ "warning", 4 },
	[LOG_LVL_NOTICE] =	{ "notice", 5 },
	[LOG_LVL_INFO] =	{ "info", 6 },
	[LOG_LVL_DEBUG] =	{ "debug", 7 },
};

static int	stderr_is_journal(void);
static void	vlog(int, int, const char *, va_list)
	    __attribute__((format(printf, 3, 0)));

void
log_init(int level)
{
	log_setlevel(level);	/* -q past error still shows errors */
	log_journal = stderr_is_journal();
}

void
log_setlevel(int level)
{
	if (level < LOG_LVL_ERROR)
		level = LOG_LVL_ERROR;
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

int
log_level_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(levels[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < LOG_LVL_ERROR || level > LOG_LVL_DEBUG)
		return "?";
	return levels[level].name;
}

/* JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected. */
static int
stderr_is_journal(void)
{
	const char		*js;
	struct stat		 st;
	unsigned long long	 dev, ino;

	if ((js = getenv("JOURNAL_STREAM")) == NULL)
		return 0;
	if (sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

static void
vlog(int level, int with_errno, const char *fmt, va_list ap)
{
	char		 msg[2048], stamp[32];
	struct timespec	 ts;
	struct tm	 tm;
	int		 saved_errno = errno;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		size_t len = strlen(msg);

		snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(saved_errno));
	}
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", levels[level].syslog_prio, msg);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld clusterd[%s] %s\n", stamp,
		    ts.tv_nsec / 1000000, levels[level].name, msg);
	}
	fflush(stderr);
	errno = saved_errno;
}

#define LOG_FN(fn, level, with_errno)		\
void						\
fn(const char *fmt, ...)			\
{						\
	va_list ap;				\
						\
	va_start(ap, fmt);			\
	vlog(level, with_errno, fmt, ap);	\
	va_end(ap);				\
}

LOG_FN(log_error, LOG_LVL_ERROR, 1)
LOG_FN(log_errorx, LOG_LVL_ERROR, 0)
LOG_FN(log_warn, LOG_LVL_WARNING, 1)
LOG_FN(log_warnx, LOG_LVL_WARNING, 0)
LOG_FN(log_notice, LOG_LVL_NOTICE, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
