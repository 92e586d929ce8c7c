/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_parse - the value parsers of src/parse.c: durations, sizes,
 * numbers, octal modes, booleans, signals, listen addresses and names.
 *
 * The input (up to its first NUL) goes to every parser.  Each answer is
 * checked against the grammar the parser documents, computed here apart:
 * a value is accepted exactly when it is written as documented and in
 * range, and then it is the value the text means (a duration finite and
 * not negative, a size its digits times its unit, a number the one
 * strtoll reads); a signal and a listen address written back the way
 * clusterd prints them parse to the same thing; a refusal comes with a
 * message that fits the caller's buffer.
 */

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon.h"
#include "fuzz.h"

/* An error buffer of a size of its own, so an overrun is caught. */
struct errbuf {
	char	*eb_buf;
	size_t	 eb_len;
};

static void
refused(const struct errbuf *eb, const char *what, const char *s)
{
	FZ_ASSERT(eb->eb_len < 2 || eb->eb_buf[0] != '\0',
	    "%s refused \"%s\" without a message", what, s);
	FZ_ASSERT(strlen(eb->eb_buf) < eb->eb_len, "%s: message overrun",
	    what);
	eb->eb_buf[0] = '\0';
}

static void
check_duration(const char *s, const struct errbuf *eb)
{
	const char	*p = s;
	double		 v = -1, want, mult = -1;
	int		 digits = 0, dots = 0, rc;
	char		 text[32];

	for (; isdigit((unsigned char)*p) || *p == '.'; p++)
		*p == '.' ? dots++ : digits++;
	if (strcmp(p, "") == 0 || strcmp(p, "s") == 0)
		mult = 1;
	else if (strcmp(p, "ms") == 0)
		mult = 0.001;
	else if (strcmp(p, "m") == 0)
		mult = 60;
	else if (strcmp(p, "h") == 0)
		mult = 3600;
	want = digits > 0 && dots <= 1 && mult > 0 ?
	    strtod(s, NULL) * mult : -1;
	rc = parse_duration(s, &v, eb->eb_buf, eb->eb_len);
	if (rc == -1) {
		FZ_ASSERT(!(want >= 0 && want <= 1e9), "a duration of %gs "
		    "refused: \"%s\": %s", want, s, eb->eb_buf);
		refused(eb, "parse_duration", s);
		return;
	}
	FZ_ASSERT(want >= 0 && isfinite(v) && v >= 0 && v <= 1e9 && v == want,
	    "parse_duration(\"%s\") = %g, not %g", s, v, want);
	format_duration(v, text, sizeof(text));
	FZ_ASSERT(text[0] != '\0' && isdigit((unsigned char)text[0]) &&
	    strchr(text, '-') == NULL, "format_duration(%g) = \"%s\"", v,
	    text);
}

static void
check_size(const char *s, const struct errbuf *eb)
{
	const char		*p = s;
	unsigned long long	 digits = 0;
	uint64_t		 v = 0;
	unsigned		 shift = 0;
	int			 ok = isdigit((unsigned char)*p) != 0, rc;

	for (; isdigit((unsigned char)*p); p++) {
		if (digits > (ULLONG_MAX - (unsigned)(*p - '0')) / 10)
			ok = 0;
		digits = digits * 10 + (unsigned)(*p - '0');
	}
	if (*p != '\0' && strchr("kKmMgG", *p) != NULL) {
		shift = strchr("kK", *p) ? 10 : strchr("mM", *p) ? 20 : 30;
		p++;
	}
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0' || digits > (UINT64_MAX >> shift))
		ok = 0;
	rc = parse_size(s, &v, eb->eb_buf, eb->eb_len);
	FZ_ASSERT((rc == 0) == ok, "parse_size(\"%s\") = %d", s, rc);
	if (rc == -1)
		refused(eb, "parse_size", s);
	else
		FZ_ASSERT(v == (uint64_t)digits << shift, "parse_size(\"%s\") "
		    "= %llu", s, (unsigned long long)v);
}

static void
check_number(const char *s, const struct errbuf *eb)
{
	static const long long	 ranges[][2] = {
		{ LLONG_MIN, LLONG_MAX }, { 0, 65535 }, { 1, 4096 }, { -1, 1 }
	};
	const char		*p = *s == '-' ? s + 1 : s;
	long long		 want = 0, v;
	int			 ok, rc;
	size_t			 i;

	ok = *p != '\0' && strspn(p, "0123456789") == strlen(p);
	if (ok) {
		errno = 0;
		want = strtoll(s, NULL, 10);
		ok = errno == 0;
	}
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		rc = parse_number(s, ranges[i][0], ranges[i][1], &v,
		    eb->eb_buf, eb->eb_len);
		FZ_ASSERT((rc == 0) == (ok && want >= ranges[i][0] &&
		    want <= ranges[i][1]), "parse_number(\"%s\", %lld, %lld) "
		    "= %d", s, ranges[i][0], ranges[i][1], rc);
		if (rc == -1)
			refused(eb, "parse_number", s);
		else
			FZ_ASSERT(v == want, "parse_number(\"%s\") = %lld", s,
			    v);
	}
}

static void
check_octal(const char *s, const struct errbuf *eb)
{
	static const unsigned	 maxes[] = { 0, 0777, 07777, UINT_MAX / 8 };
	unsigned long long	 want;
	unsigned		 v;
	const char		*p;
	int			 ok, rc;
	size_t			 i;

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		ok = *s != '\0' && strspn(s, "01234567") == strlen(s);
		for (want = 0, p = s; ok && *p != '\0'; p++)
			if ((want = want * 8 + (unsigned)(*p - '0')) > maxes[i])
				ok = 0;
		rc = parse_octal(s, maxes[i], &v, eb->eb_buf, eb->eb_len);
		FZ_ASSERT((rc == 0) == ok, "parse_octal(\"%s\", %#o) = %d", s,
		    maxes[i], rc);
		if (rc == -1)
			refused(eb, "parse_octal", s);
		else
			FZ_ASSERT(v == want, "parse_octal(\"%s\") = %#o", s, v);
	}
}

static void
check_bool(const char *s, const struct errbuf *eb)
{
	static const char *const words[] = {
		"no", "false", "off", "0", "yes", "true", "on", "1"
	};
	int	want = -1, v = -1, rc;
	size_t	i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			want = i >= 4;
	rc = parse_bool(s, &v, eb->eb_buf, eb->eb_len);
	FZ_ASSERT((rc == 0) == (want != -1) && (rc == -1 || v == want),
	    "parse_bool(\"%s\") = %d, %d", s, rc, v);
	if (rc == -1)
		refused(eb, "parse_bool", s);
}

static void
check_signal(const char *s, const struct errbuf *eb)
{
	const char	*name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	const char	*printed;
	int		 sig = 0, again = 0;

	if (parse_signal(s, &sig, eb->eb_buf, eb->eb_len) == -1) {
		refused(eb, "parse_signal", s);
		return;
	}
	FZ_ASSERT(strspn(*name == '-' ? name + 1 : name, "0123456789") !=
	    strlen(*name == '-' ? name + 1 : name), "parse_signal took the "
	    "number \"%s\"", s);
	FZ_ASSERT(sig >= 1 && sig < SIGRTMIN, "parse_signal(\"%s\") = %d", s,
	    sig);
	printed = signal_name(sig);
	FZ_ASSERT(strncmp(printed, "SIG", 3) == 0 &&
	    parse_signal(printed, &again, eb->eb_buf, eb->eb_len) == 0 &&
	    again == sig && parse_signal(printed + 3, &again, eb->eb_buf,
	    eb->eb_len) == 0 && again == sig, "signal %d (\"%s\") printed as "
	    "\"%s\" does not read back", sig, s, printed);
}

/* The address written the way a configuration would say it. */
static void
listen_print(const struct listen_addr *la, char *buf, size_t len)
{
	switch (la->la_kind) {
	case ADDR_UNIX:
		snprintf(buf, len, "unix:%s", la->la_path);
		break;
	case ADDR_SYSTEMD:
		snprintf(buf, len, "systemd:%s", la->la_path);
		break;
	case ADDR_TCP:
		if (la->la_any)
			snprintf(buf, len, ":%u", la->la_port);
		else if (strchr(la->la_host, ':') != NULL)
			snprintf(buf, len, "[%s]:%u", la->la_host, la->la_port);
		else
			snprintf(buf, len, "%s:%u", la->la_host, la->la_port);
		break;
	}
}

static void
check_listen(const char *s, const struct errbuf *eb)
{
	struct listen_addr	 la, back;
	struct in6_addr		 in6;
	char			 text[256];

	if (parse_listen(s, &la, eb->eb_buf, eb->eb_len) == -1) {
		refused(eb, "parse_listen", s);
		return;
	}
	switch (la.la_kind) {
	case ADDR_UNIX:
		FZ_ASSERT(strncmp(s, "unix:", 5) == 0 &&
		    strcmp(la.la_path, s + 5) == 0 && la.la_path[0] != '\0',
		    "parse_listen(\"%s\"): path \"%s\"", s, la.la_path);
		break;
	case ADDR_SYSTEMD:
		FZ_ASSERT(strncmp(s, "systemd:", 8) == 0 &&
		    strcmp(la.la_path, s + 8) == 0 && la.la_path[0] != '\0' &&
		    strchr(la.la_path, ':') == NULL, "parse_listen(\"%s\"): "
		    "name \"%s\"", s, la.la_path);
		break;
	case ADDR_TCP:
		FZ_ASSERT(la.la_port >= 1, "parse_listen(\"%s\"): port 0", s);
		FZ_ASSERT(la.la_any ? la.la_host[0] == '\0' :
		    strcmp(la.la_host, "localhost") == 0 ||
		    inet_pton(AF_INET, la.la_host, &in6) == 1 ||
		    (s[0] == '[' && inet_pton(AF_INET6, la.la_host, &in6) == 1),
		    "parse_listen(\"%s\"): host \"%s\"", s, la.la_host);
		break;
	default:
		fz_fail("parse_listen(\"%s\"): kind %d", s, la.la_kind);
	}
	listen_print(&la, text, sizeof(text));
	FZ_ASSERT(parse_listen(text, &back, eb->eb_buf, eb->eb_len) == 0 &&
	    memcmp(&la, &back, sizeof(la)) == 0, "parse_listen(\"%s\") "
	    "printed as \"%s\" does not read back", s, text);
}

static void
check_name(const char *s)
{
	size_t	len = strlen(s);
	int	want;

	want = len > 0 && len < NAME_MAXLEN && strspn(s, "abcdefghijklmnop"
	    "qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
	FZ_ASSERT(valid_name(s) == want, "valid_name(\"%s\")", s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errbuf	 eb;
	char		*s;

	s = fz_cstr(data, size);
	eb.eb_len = 1 + size % 97;	/* small ones too: a cut message */
	if ((eb.eb_buf = calloc(1, eb.eb_len)) == NULL)
		fz_fail("out of memory");
	check_duration(s, &eb);
	check_size(s, &eb);
	check_number(s, &eb);
	check_octal(s, &eb);
	check_bool(s, &eb);
	check_signal(s, &eb);
	check_listen(s, &eb);
	check_name(s);
	free(eb.eb_buf);
	free(s);
	return 0;
}
