/*
 * SPDX-License-Identifier: ISC
 *
 * Pure parsers for configuration values: shell-like words, durations,
 * sizes, numbers, signals and listen addresses.  None of them logs or
 * keeps state: on failure each writes one human sentence into the
 * caller's buffer and returns -1, so config.c can prefix it with the
 * file, line and key, and clusterctl can share them.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon.h"

#define DURATION_MAX	1e9	/* seconds, about 31 years */

static const struct {
	const char	*name;		/* without SIG */
	int		 sig;
} signals[] = {
	{ "HUP", SIGHUP },	{ "INT", SIGINT },	{ "QUIT", SIGQUIT },
	{ "ILL", SIGILL },	{ "TRAP", SIGTRAP },	{ "ABRT", SIGABRT },
	{ "BUS", SIGBUS },	{ "FPE", SIGFPE },	{ "KILL", SIGKILL },
	{ "USR1", SIGUSR1 },	{ "SEGV", SIGSEGV },	{ "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE },	{ "ALRM", SIGALRM },	{ "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },	{ "CONT", SIGCONT },
	{ "STOP", SIGSTOP },	{ "TSTP", SIGTSTP },	{ "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU },	{ "URG", SIGURG },	{ "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ },	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH },	{ "IO", SIGIO },	{ "PWR", SIGPWR },
	{ "SYS", SIGSYS },
	/* aliases, after the names signal_name() prints */
	{ "IOT", SIGABRT },	{ "CLD", SIGCHLD },	{ "POLL", SIGIO },
};

static int	 all_digits(const char *);
static int	 word_escape(const char **, int, char **, char *, size_t);
static int	 listen_unix(const char *, struct listen_addr *, char *,
		    size_t);
static int	 listen_systemd(const char *, struct listen_addr *, char *,
		    size_t);
static int	 listen_port(const char *, struct listen_addr *, char *,
		    size_t);
static int	 listen_v6(const char *, struct listen_addr *, char *,
		    size_t);
static int	 listen_host(const char *, struct listen_addr *, char *,
		    size_t);

/* Nonempty and nothing but decimal digits. */
static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * A backslash at *sp (not yet consumed): inside double quotes only
 * \" \\ \$ \` and backslash-newline are escapes, as in sh(1); outside
 * quotes it escapes any character.  Backslash-newline vanishes.
 */
static int
word_escape(const char **sp, int dquote, char **out, char *err,
    size_t errlen)
{
	const char	*s = *sp + 1;

	if (*s == '\0') {
		snprintf(err, errlen, "%s", dquote ? "unterminated double "
		    "quote" : "command ends with a backslash");
		return -1;
	}
	if (dquote && strchr("\"\\$`\n", *s) == NULL)
		*(*out)++ = '\\';
	else if (*s == '\n') {
		*sp = s + 1;
		return 0;
	}
	*(*out)++ = *s;
	*sp = s + 1;
	return 0;
}

/*
 * Split a command line into words like sh(1) does, without any
 * expansion: quotes and backslashes only.  Returns the number of words
 * and a NULL-terminated argv that words_free() releases.
 */
int
parse_words(const char *s, char ***argvp, char *err, size_t errlen)
{
	char	**argv, *buf, *out, *start, *before;
	size_t	  n = 0, len = strlen(s);
	int	  inword = 0, quote = 0;

	*argvp = NULL;
	/* No word is longer than the input; there are at most len/2+1. */
	if ((buf = malloc(len + 1)) == NULL ||
	    (argv = calloc(len / 2 + 2, sizeof(*argv))) == NULL) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	out = start = buf;
	while (*s != '\0') {
		if (quote == '\'') {
			if (*s == '\'')
				quote = 0;
			else
				*out++ = *s;
			s++;
		} else if (*s == '\\') {
			before = out;
			if (word_escape(&s, quote == '"', &out, err,
			    errlen) == -1)
				goto fail;
			if (out != before)
				inword = 1;
		} else if (quote == '"') {
			if (*s == '"')
				quote = 0;
			else
				*out++ = *s;
			s++;
		} else if (*s == '\'' || *s == '"') {
			quote = *s++;
			inword = 1;
		} else if (isspace((unsigned char)*s)) {
			s++;
			if (!inword)
				continue;
			*out++ = '\0';
			if ((argv[n++] = strdup(start)) == NULL)
				goto nomem;
			start = out;
			inword = 0;
		} else {
			*out++ = *s++;
			inword = 1;
		}
	}
	if (quote != 0) {
		snprintf(err, errlen, "unterminated %s quote",
		    quote == '"' ? "double" : "single");
		goto fail;
	}
	if (inword) {
		*out = '\0';
		if ((argv[n++] = strdup(start)) == NULL)
			goto nomem;
	}
	if (n == 0) {
		snprintf(err, errlen, "empty command");
		goto fail;
	}
	free(buf);
	*argvp = argv;
	return (int)n;
 nomem:
	snprintf(err, errlen, "out of memory");
 fail:
	free(buf);
	words_free(argv);
	return -1;
}

void
words_free(char **argv)
{
	char	**p;

	if (argv == NULL)
		return;
	for (p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

/*
 * "1.5s", "100ms", "2m", "1h" or a bare number of seconds.  strtod()
 * alone would take " 1", "+1", "1e3", "0x10", "nan" and "inf": the
 * number is checked by hand first, digits with at most one dot.
 */
int
parse_duration(const char *s, double *out, char *err, size_t errlen)
{
	const char	*p = s, *unit;
	double		 v, mult;
	int		 digits = 0, dots = 0;

	for (; isdigit((unsigned char)*p) || *p == '.'; p++) {
		if (*p == '.')
			dots++;
		else
			digits++;
	}
	unit = p;
	if (digits == 0 || dots > 1)
		goto bad;
	if (strcmp(unit, "") == 0 || strcmp(unit, "s") == 0)
		mult = 1;
	else if (strcmp(unit, "ms") == 0)
		mult = 0.001;
	else if (strcmp(unit, "m") == 0)
		mult = 60;
	else if (strcmp(unit, "h") == 0)
		mult = 3600;
	else
		goto bad;
	/* an underflow (ERANGE too) is about zero: only size matters */
	v = strtod(s, NULL) * mult;
	if (!isfinite(v) || v > DURATION_MAX) {
		snprintf(err, errlen, "duration too long: \"%s\"; the limit "
		    "is %.0fs", s, DURATION_MAX);
		return -1;
	}
	*out = v;
	return 0;
 bad:
	snprintf(err, errlen, "expected a duration like 500ms, 10s, 1.5m or "
	    "1h, got \"%s\"", s);
	return -1;
}

/* Bytes, with an optional K, M or G (powers of 1024) and B. */
int
parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	const char		*p = s;
	unsigned long long	 v = 0;
	unsigned		 shift = 0, d;

	if (!isdigit((unsigned char)*p))
		goto bad;
	for (; isdigit((unsigned char)*p); p++) {
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			goto big;
		v = v * 10 + d;
	}
	switch (toupper((unsigned char)*p)) {
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	}
	if (shift != 0)
		p++;
	if (toupper((unsigned char)*p) == 'B')
		p++;
	if (*p != '\0')
		goto bad;
	if (v > (UINT64_MAX >> shift))
		goto big;
	*out = (uint64_t)v << shift;
	return 0;
 bad:
	snprintf(err, errlen, "expected a size like 512M or 2G, got \"%s\"",
	    s);
	return -1;
 big:
	snprintf(err, errlen, "size too large: \"%s\"", s);
	return -1;
}

/* A decimal integer from min to max: no sign but '-', no spaces. */
int
parse_number(const char *s, long long min, long long max, long long *out,
    char *err, size_t errlen)
{
	long long	 v;
	char		*end;

	if (!all_digits(*s == '-' ? s + 1 : s))
		goto bad;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
 bad:
	snprintf(err, errlen, "expected a number from %lld to %lld, got "
	    "\"%s\"", min, max, s);
	return -1;
}

/* Octal digits only, as for a umask or file mode: "0022", "660". */
int
parse_octal(const char *s, unsigned max, unsigned *out, char *err,
    size_t errlen)
{
	const char	*p;
	unsigned	 v = 0;

	if (*s == '\0')
		goto bad;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '7')
			goto bad;
		v = v * 8 + (unsigned)(*p - '0');
		if (v > max)
			goto bad;
	}
	*out = v;
	return 0;
 bad:
	snprintf(err, errlen, "expected an octal number from 0 to %#o, got "
	    "\"%s\"", max, s);
	return -1;
}

int
parse_bool(const char *s, int *out, char *err, size_t errlen)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t	i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	snprintf(err, errlen, "expected yes or no, got \"%s\"", s);
	return -1;
}

/* A signal name, any case, with or without SIG; never a number. */
int
parse_signal(const char *s, int *out, char *err, size_t errlen)
{
	const char	*name = s;
	size_t		 i;

	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	if (all_digits(*name == '-' ? name + 1 : name)) {
		snprintf(err, errlen, "signal numbers are not accepted; use a "
		    "name like TERM");
		return -1;
	}
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcasecmp(name, signals[i].name) == 0) {
			*out = signals[i].sig;
			return 0;
		}
	}
	snprintf(err, errlen, "unknown signal \"%s\"; expected a name like "
	    "TERM, INT, QUIT or HUP", s);
	return -1;
}

/* "SIGTERM"; not thread-safe for signals outside the table. */
const char *
signal_name(int sig)
{
	static char	 buf[32];
	static char	 names[sizeof(signals) / sizeof(signals[0])][16];
	size_t		 i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (signals[i].sig == sig) {
			snprintf(names[i], sizeof(names[i]), "SIG%s",
			    signals[i].name);
			return names[i];
		}
	}
	if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, sizeof(buf), "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

static int
listen_unix(const char *path, struct listen_addr *la, char *err,
    size_t errlen)
{
	size_t	len = strlen(path);

	if (len == 0) {
		snprintf(err, errlen, "unix socket path is empty");
		return -1;
	}
	if (len >= sizeof(la->la_path)) {
		snprintf(err, errlen, "unix socket path is too long: %zu "
		    "bytes; the limit is %zu", len, sizeof(la->la_path) - 1);
		return -1;
	}
	la->la_kind = ADDR_UNIX;
	memcpy(la->la_path, path, len + 1);
	return 0;
}

/* systemd's FileDescriptorName: printable ASCII without ':'. */
static int
listen_systemd(const char *name, struct listen_addr *la, char *err,
    size_t errlen)
{
	size_t		len = strlen(name), i;

	if (len == 0) {
		snprintf(err, errlen, "systemd socket name is empty");
		return -1;
	}
	if (len >= sizeof(la->la_path)) {
		snprintf(err, errlen, "systemd socket name is too long: %zu "
		    "bytes; the limit is %zu", len, sizeof(la->la_path) - 1);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (name[i] < ' ' || name[i] > '~' || name[i] == ':') {
			snprintf(err, errlen, "systemd socket name \"%s\" "
			    "must be printable ASCII without ':'", name);
			return -1;
		}
	}
	la->la_kind = ADDR_SYSTEMD;
	memcpy(la->la_path, name, len + 1);
	return 0;
}

static int
listen_port(const char *s, struct listen_addr *la, char *err,
    size_t errlen)
{
	long long	port;
	char		dummy[8];

	if (parse_number(s, 1, 65535, &port, dummy, sizeof(dummy)) == -1) {
		snprintf(err, errlen, "port must be 1 to 65535, got \"%s\"",
		    s);
		return -1;
	}
	la->la_port = (uint16_t)port;
	return 0;
}

/* "[V6ADDR]:PORT" */
static int
listen_v6(const char *s, struct listen_addr *la, char *err, size_t errlen)
{
	struct in6_addr	 in6;
	const char	*close = strchr(s, ']');
	size_t		 len;

	if (close == NULL || close[1] != ':') {
		snprintf(err, errlen, "expected [V6ADDR]:PORT, got \"%s\"", s);
		return -1;
	}
	len = (size_t)(close - s - 1);
	if (len >= sizeof(la->la_host))
		len = sizeof(la->la_host) - 1;
	memcpy(la->la_host, s + 1, len);
	la->la_host[len] = '\0';
	if (inet_pton(AF_INET6, la->la_host, &in6) != 1) {
		snprintf(err, errlen, "expected a numeric IPv6 address in "
		    "brackets, got \"%s\"", s);
		return -1;
	}
	la->la_kind = ADDR_TCP;
	return listen_port(close + 2, la, err, errlen);
}

/* "HOST:PORT", "*:PORT", ":PORT" */
static int
listen_host(const char *s, struct listen_addr *la, char *err,
    size_t errlen)
{
	struct in_addr	 in4;
	const char	*colon = strrchr(s, ':');
	size_t		 len;

	if (colon == NULL) {
		if (all_digits(s))
			snprintf(err, errlen, "expected HOST:PORT; for all "
			    "addresses write \":%s\" or \"*:%s\"", s, s);
		else
			snprintf(err, errlen, "expected HOST:PORT, "
			    "[V6ADDR]:PORT, *:PORT, :PORT, unix:PATH or "
			    "systemd:NAME, got \"%s\"", s);
		return -1;
	}
	len = (size_t)(colon - s);
	if (memchr(s, ':', len) != NULL) {
		snprintf(err, errlen, "an IPv6 address needs brackets: "
		    "\"[%.*s]%s\"", (int)len, s, colon);
		return -1;
	}
	la->la_kind = ADDR_TCP;
	if (len == 0 || (len == 1 && *s == '*')) {
		la->la_any = 1;
		return listen_port(colon + 1, la, err, errlen);
	}
	if (len >= sizeof(la->la_host))
		len = sizeof(la->la_host) - 1;
	memcpy(la->la_host, s, len);
	la->la_host[len] = '\0';
	if (strcmp(la->la_host, "localhost") != 0 &&
	    inet_pton(AF_INET, la->la_host, &in4) != 1) {
		snprintf(err, errlen, "HOST must be a numeric address or "
		    "localhost, got \"%s\"", la->la_host);
		return -1;
	}
	return listen_port(colon + 1, la, err, errlen);
}

/*
 * A listen address as in the [socket:] section.  A host name other
 * than localhost is refused: resolving it would make start-up depend
 * on DNS, and a name may resolve to several addresses.
 */
int
parse_listen(const char *s, struct listen_addr *la, char *err,
    size_t errlen)
{
	memset(la, 0, sizeof(*la));
	if (strncmp(s, "unix:", 5) == 0)
		return listen_unix(s + 5, la, err, errlen);
	if (strncmp(s, "systemd:", 8) == 0)
		return listen_systemd(s + 8, la, err, errlen);
	if (*s == '[')
		return listen_v6(s, la, err, errlen);
	return listen_host(s, la, err, errlen);
}

/* Socket and program names: [A-Za-z0-9_.-]+, shorter than NAME_MAXLEN. */
int
valid_name(const char *s)
{
	size_t	len = strlen(s), i;

	if (len == 0 || len >= NAME_MAXLEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("_.-", s[i]) == NULL)
			return 0;
	return 1;
}

/* For log lines: "0s", "400ms", "3.2s", "1m05s", "2h10m". */
void
format_duration(double secs, char *buf, size_t len)
{
	long long	ms, tenths, s;

	if (!(secs > 0)) {
		snprintf(buf, len, "0s");
		return;
	}
	ms = llround(secs * 1000);
	tenths = llround(secs * 10);
	s = llround(secs);
	if (ms < 1000)
		snprintf(buf, len, "%lldms", ms);
	else if (tenths < 600 && tenths % 10 != 0)
		snprintf(buf, len, "%lld.%llds", tenths / 10, tenths % 10);
	else if (tenths < 600)
		snprintf(buf, len, "%llds", tenths / 10);
	else if (s < 3600 && s % 60 == 0)
		snprintf(buf, len, "%lldm", s / 60);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s / 60 % 60 == 0)
		snprintf(buf, len, "%lldh", s / 3600);
	else
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
}
