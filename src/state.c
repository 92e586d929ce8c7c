/*
 * SPDX-License-Identifier: ISC
 *
 * The state an upgrade carries across execve: what the running clusterd
 * knows that the configuration file does not say, written by the old
 * image to a memfd and read back by the new one (master.c does both).
 *
 * The format is text, versioned by its first line, one record per line:
 * a kind, then KEY=VALUE words in any order; a value has its spaces,
 * '%' and control bytes as %XX.  An unknown key is skipped, so a newer
 * image may add keys without a new version; a new version is only for
 * changes an older reader would get wrong.  Times are absolute on the
 * monotonic clock, which the new image shares with the old one.
 *
 *	clusterd-state 1
 *	master seq=3 digest=... control=7 cgroup=/sys/fs/...
 *	waiter fd=12
 *	listener name=web nodedata=... fd=5
 *	program name=web state=running epoch=4 failed=0
 *	slot prog=web index=0 idle=stopped streak=0 ... timer=1234.5
 *	slotsock prog=web index=0 listener=web fd=9
 *	worker prog=web slot=0 role=cur pid=123 state=ready ... ipc=11 out=13
 *	    cgroup=/sys/fs/cgroup/.../web.0.123
 *	end
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "nodecl.h"
#include "wnotify.h"

static const char *life_names[ST_NSTATES] = {
	[ST_STOPPED] = "stopped",
	[ST_BACKOFF] = "backoff",
	[ST_STARTING] = "starting",
	[ST_READY] = "ready",
	[ST_KILLED] = "killed",
	[ST_STOPPING] = "stopping",
	[ST_RETIRED] = "retired",
	[ST_LINGERING] = "lingering",
};

static const char *program_names[] = {
	[PROGRAM_RUNNING] = "running",
	[PROGRAM_ROLLING] = "rolling",
	[PROGRAM_STOPPED] = "stopped",
	[PROGRAM_REMOVED] = "removed",
};

static void	put(struct strbuf *, const char *, const char *);
static void	put_bytes(struct strbuf *, const char *, const char *,
		    size_t);
static void	put_nodecl(struct strbuf *, const struct nodecl *);
static void	write_slot(struct strbuf *, const struct slot *, int);
static void	write_worker(struct strbuf *, const struct slot *, int,
		    const struct worker *, const char *);
static void	write_capture(struct strbuf *, const char *,
		    const struct capture *);
static int	write_all(int, const char *, size_t);
static int	record_parse(char *, struct state_rec *);
static int	unescape(char *, size_t *);
static int	hexval(char);

/*
 * Write the state of a running clusterd to fd.  0, or -1 with the
 * reason logged.
 */
int
state_write(int fd, const struct state_out *so)
{
	struct strbuf		 sb = { NULL, 0, 0, 0 };
	const struct program	*p;
	const struct slot	*sl;
	const char		*name;
	size_t			 i;
	int			 j, rv, sfd;

	strbuf_printf(&sb, "clusterd-state %d\n", STATE_VERSION);
	strbuf_printf(&sb, "master seq=%u digest=%016llx control=%d",
	    so->so_seq, (unsigned long long)so->so_digest,
	    so->so_control_fd);
	put(&sb, "config", so->so_config_path);
	if (so->so_control_path != NULL)
		put(&sb, "controlpath", so->so_control_path);
	if (cgroup_base() != NULL) {
		put(&sb, "cgroup", cgroup_base());
		put(&sb, "cgroupctl", cgroup_controllers());
	}
	strbuf_printf(&sb, "\n");
	for (i = 0; i < so->so_nwaiters; i++)
		strbuf_printf(&sb, "waiter fd=%d\n", so->so_waiter_fds[i]);
	for (j = 0; (sfd = sdlisten_get(j, &name)) != -1; j++) {
		strbuf_printf(&sb, "sdsock");
		put(&sb, "name", name);
		strbuf_printf(&sb, " fd=%d\n", sfd);
	}
	for (i = 0; so->so_socks[i] != NULL; i++) {
		strbuf_printf(&sb, "listener");
		put(&sb, "name", so->so_socks[i]->l_name);
		if (so->so_socks[i]->l_node_data != NULL)
			put(&sb, "nodedata", so->so_socks[i]->l_node_data);
		strbuf_printf(&sb, " fd=%d\n", so->so_socks[i]->l_fd);
	}
	for (p = so->so_programs; p != NULL; p = p->p_next) {
		strbuf_printf(&sb, "program");
		put(&sb, "name", p->p_name);
		strbuf_printf(&sb, " state=%s epoch=%u\n",
		    program_names[p->p_state], p->p_epoch);
		for (j = 0; j < p->p_nslots; j++)
			write_slot(&sb, p->p_slots[j], 0);
		for (sl = p->p_draining; sl != NULL; sl = sl->sl_link)
			write_slot(&sb, sl, 1);
	}
	strbuf_printf(&sb, "end\n");
	if (sb.sb_oom) {
		log_warnx("upgrade: state: %s", strerror(ENOMEM));
		strbuf_free(&sb);
		return -1;
	}
	if ((rv = write_all(fd, sb.sb_data, sb.sb_len)) == -1)
		log_warn("upgrade: write state");
	strbuf_free(&sb);
	return rv;
}

static void
write_slot(struct strbuf *sb, const struct slot *sl, int draining)
{
	const struct exit_note	*en = &sl->sl_last_exit;
	const struct worker	*w;
	const char		*name = sl->sl_prog->p_name;
	size_t			 i;

	strbuf_printf(sb, "slot");
	put(sb, "prog", name);
	strbuf_printf(sb, " index=%d draining=%d idle=%s streak=%u "
	    "startfails=%u hold=%.6f failepoch=%u crashes=%u replaced=%u "
	    "timer=%.6f exit=%d,%d,%d,%.6f\n", sl->sl_index, draining,
	    life_names[sl->sl_idle], sl->sl_streak, sl->sl_start_fails,
	    sl->sl_hold_until, sl->sl_fail_epoch, sl->sl_crashes,
	    sl->sl_replaced, sl->sl_timer.t_at, en->en_valid, en->en_status,
	    (int)en->en_cause, en->en_uptime);
	for (i = 0; i < sl->sl_nsocks; i++) {
		strbuf_printf(sb, "slotsock");
		put(sb, "prog", name);
		strbuf_printf(sb, " index=%d draining=%d", sl->sl_index,
		    draining);
		put(sb, "listener", sl->sl_socks[i].ss_listener->l_name);
		strbuf_printf(sb, " fd=%d\n", sl->sl_socks[i].ss_fd);
	}
	if (sl->sl_cur != NULL)
		write_worker(sb, sl, draining, sl->sl_cur, "cur");
	if (sl->sl_next != NULL)
		write_worker(sb, sl, draining, sl->sl_next, "next");
	for (w = sl->sl_leaving; w != NULL; w = w->w_sibling)
		write_worker(sb, sl, draining, w, "leaving");
}

static void
write_worker(struct strbuf *sb, const struct slot *sl, int draining,
    const struct worker *w, const char *role)
{
	strbuf_printf(sb, "worker");
	put(sb, "prog", sl->sl_prog->p_name);
	strbuf_printf(sb, " slot=%d draining=%d role=%s pid=%ld state=%s "
	    "cause=%d epoch=%u started=%.6f ready=%.6f timer=%.6f "
	    "uptime=%.6f reaped=%d status=%d ipc=%d exec=%d bad=%d",
	    sl->sl_index, draining, role, (long)w->w_pid,
	    life_names[w->w_state], (int)w->w_cause, w->w_epoch,
	    w->w_started, w->w_ready_at, w->w_timer.t_at, w->w_uptime.t_at,
	    w->w_reaped, w->w_status,
	    ev_is_active(&w->w_ipc_io) ? w->w_ipc_io.fd : -1,
	    ev_is_active(&w->w_exec_io) ? w->w_exec_io.fd : -1,
	    w->w_ipc_bad);
	put(sb, "text", w->w_text);
	if (w->w_cgroup != NULL)
		put(sb, "cgroup", w->w_cgroup);
	if (w->w_ipc_len > 0)
		put_bytes(sb, "ipcbuf", w->w_ipc_buf, w->w_ipc_len);
	if (w->w_nodecl != NULL)
		put_nodecl(sb, w->w_nodecl);
	if (w->w_notify != NULL)
		strbuf_printf(sb, " notify=%d", w->w_notify->wn_io.fd);
	write_capture(sb, "out", w->w_out);
	write_capture(sb, "err", w->w_err);
	strbuf_printf(sb, "\n");
}

/* A node-cluster channel's state: sequence numbers, keys, the queue. */
static void
put_nodecl(struct strbuf *sb, const struct nodecl *nc)
{
	size_t	 len = nodecl_save(nc, NULL, 0);
	char	*text;

	if ((text = malloc(len + 1)) == NULL) {
		sb->sb_oom = 1;
		return;
	}
	nodecl_save(nc, text, len + 1);
	put_bytes(sb, "nodecl", text, len);
	free(text);
}

/*
 * A capture pipe (worker_adopt_output reads it back): " out=FD outcont=N",
 * and the bytes read but not logged yet, " outbuf=...".
 */
static void
write_capture(struct strbuf *sb, const char *key, const struct capture *c)
{
	const char	*buf;
	char		 k[16];
	size_t		 len;
	int		 cont;

	if (capture_fd(c) == -1)
		return;
	buf = capture_pending(c, &len, &cont);
	strbuf_printf(sb, " %s=%d %scont=%d", key, capture_fd(c), key, cont);
	snprintf(k, sizeof(k), "%sbuf", key);
	if (len > 0)
		put_bytes(sb, k, buf, len);
}

/* " key=VALUE", the value escaped. */
static void
put(struct strbuf *sb, const char *key, const char *value)
{
	put_bytes(sb, key, value, strlen(value));
}

static void
put_bytes(struct strbuf *sb, const char *key, const char *v, size_t len)
{
	size_t	i;

	strbuf_printf(sb, " %s=", key);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= ' ' || c == '%' || c == '=' || c >= 0x7f)
			strbuf_printf(sb, "%%%02X", c);
		else
			strbuf_printf(sb, "%c", c);
	}
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read a state from fd (from its start) into st: its records, each a
 * kind and its words, for master.c to rebuild from.  -1 and a message in
 * err if it is not a state this image can read.
 */
int
state_read(int fd, struct state *st, char *err, size_t errlen)
{
	FILE		*f;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	int		 version = -1, ended = 0;

	memset(st, 0, sizeof(*st));
	if (lseek(fd, 0, SEEK_SET) == -1 || (f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "cannot read the state: %s",
		    strerror(errno));
		return -1;
	}
	while (!ended && (n = getline(&line, &cap, f)) != -1) {
		struct state_rec	*r, *grown;

		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (version == -1) {
			if (sscanf(line, "clusterd-state %d", &version) != 1)
				version = 0;
			if (version != STATE_VERSION)
				break;
			continue;
		}
		if (strcmp(line, "end") == 0) {
			ended = 1;
			break;
		}
		if ((grown = reallocarray(st->st_recs, st->st_nrecs + 1,
		    sizeof(*grown))) == NULL)
			break;
		st->st_recs = grown;
		r = &st->st_recs[st->st_nrecs];
		st->st_nrecs++;		/* state_free frees a part too */
		if (record_parse(line, r) == -1)
			break;
	}
	free(line);
	fclose(f);
	if (version != STATE_VERSION) {
		snprintf(err, errlen, "state version %d: this clusterd reads "
		    "version %d", version, STATE_VERSION);
		state_free(st);
		return -1;
	}
	if (!ended) {
		snprintf(err, errlen, "the state is cut short or malformed");
		state_free(st);
		return -1;
	}
	return 0;
}

/* "kind key=value ...": the words, unescaped, in r. */
static int
record_parse(char *line, struct state_rec *r)
{
	char	*word, *save, *eq;
	size_t	 len;

	memset(r, 0, sizeof(*r));
	if ((word = strtok_r(line, " ", &save)) == NULL ||
	    (r->sr_kind = strdup(word)) == NULL)
		return -1;
	while ((word = strtok_r(NULL, " ", &save)) != NULL) {
		if ((eq = strchr(word, '=')) == NULL ||
		    r->sr_nwords == STATE_WORDS_MAX)
			continue;
		*eq = '\0';
		if (unescape(eq + 1, &len) == -1)
			return -1;
		r->sr_keys[r->sr_nwords] = strdup(word);
		if ((r->sr_vals[r->sr_nwords] = malloc(len + 1)) != NULL) {
			memcpy(r->sr_vals[r->sr_nwords], eq + 1, len);
			r->sr_vals[r->sr_nwords][len] = '\0';
		}
		r->sr_lens[r->sr_nwords] = len;
		r->sr_nwords++;
		if (r->sr_keys[r->sr_nwords - 1] == NULL ||
		    r->sr_vals[r->sr_nwords - 1] == NULL)
			return -1;
	}
	return 0;
}

/* %XX back into bytes, in place; the length goes to *len. */
static int
unescape(char *s, size_t *len)
{
	char	*in, *out = s;
	int	 hi, lo;

	for (in = s; *in != '\0'; in++) {
		if (*in != '%') {
			*out++ = *in;
			continue;
		}
		if ((hi = hexval(in[1])) == -1 || (lo = hexval(in[2])) == -1)
			return -1;
		*out++ = (char)(hi << 4 | lo);
		in += 2;
	}
	*out = '\0';
	*len = (size_t)(out - s);
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void
state_free(struct state *st)
{
	size_t	i;
	int	j;

	for (i = 0; i < st->st_nrecs; i++) {
		free(st->st_recs[i].sr_kind);
		for (j = 0; j < st->st_recs[i].sr_nwords; j++) {
			free(st->st_recs[i].sr_keys[j]);
			free(st->st_recs[i].sr_vals[j]);
		}
	}
	free(st->st_recs);
	memset(st, 0, sizeof(*st));
}

/* A word of a record: its value, or NULL. */
const char *
state_get(const struct state_rec *r, const char *key)
{
	int	i;

	for (i = 0; i < r->sr_nwords; i++)
		if (strcmp(r->sr_keys[i], key) == 0)
			return r->sr_vals[i];
	return NULL;
}

/* A number word of a record; -1 if it is missing or not a number. */
int
state_num(const struct state_rec *r, const char *key, long long *n)
{
	const char	*v = state_get(r, key);
	char		*end;

	if (v == NULL || *v == '\0')
		return -1;
	errno = 0;
	*n = strtoll(v, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

/* A time word (seconds on the monotonic clock). */
int
state_time(const struct state_rec *r, const char *key, double *t)
{
	const char	*v = state_get(r, key);
	char		*end;

	if (v == NULL || *v == '\0')
		return -1;
	errno = 0;
	*t = strtod(v, &end);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

/* The life state a word names; -1 if none. */
int
state_life(const struct state_rec *r, const char *key)
{
	const char	*v = state_get(r, key);
	int		 i;

	for (i = 0; v != NULL && i < ST_NSTATES; i++)
		if (strcmp(life_names[i], v) == 0)
			return i;
	return -1;
}

/* The program state a word names; -1 if none. */
int
state_program_state(const struct state_rec *r, const char *key)
{
	const char	*v = state_get(r, key);
	size_t		 i;

	for (i = 0; v != NULL && i < sizeof(program_names) /
	    sizeof(program_names[0]); i++)
		if (strcmp(program_names[i], v) == 0)
			return (int)i;
	return -1;
}

/* The length of a word's value (it may hold NUL bytes); 0 if missing. */
size_t
state_len(const struct state_rec *r, const char *key)
{
	int	i;

	for (i = 0; i < r->sr_nwords; i++)
		if (strcmp(r->sr_keys[i], key) == 0)
			return r->sr_lens[i];
	return 0;
}
