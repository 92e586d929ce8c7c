/*
 * SPDX-License-Identifier: ISC
 *
 * What no single line of the configuration can tell, once every file is
 * read: defaults that depend on other keys, required keys, and the
 * combinations of keys that cannot work.  Each error names the key whose
 * line is most useful to change, or the section's header line.
 */

#include <stdio.h>
#include <string.h>

#include "cfg.h"

#define KEY_IDX(s, name)	cfgkeys_find((s)->s_keys, (s)->s_nkeys, (name))

/* The line of key k in s, or of the section's header when not given. */
static int
key_line(const struct section *s, int k)
{
	return s->s_seen[k] != 0 ? s->s_seen[k] : s->s_line;
}

/*
 * With ipc = node-cluster, a worker is up when its server listens, and
 * stops as Node's own cluster workers do: unless the file says otherwise.
 */
void
cfgcheck_defaults(struct cfg_parse *cp)
{
	struct section		*s;
	struct prog_conf	*pc;

	for (s = cp->cp_sects; s != NULL; s = s->s_next) {
		if (s->s_type != SECT_PROGRAM)
			continue;
		pc = s->s_obj;
		if (pc->pc_ipc != IPC_NODE_CLUSTER)
			continue;
		if (!s->s_seen[KEY_IDX(s, "ready")])
			pc->pc_ready = READY_LISTENING;
		if (!s->s_seen[KEY_IDX(s, "stop_signal")]) {
			pc->pc_stop_disconnect = 1;
			pc->pc_stop_signal = SIGTERM;
		}
	}
}

static void
check_required(struct cfg_parse *cp, const struct section *s)
{
	size_t	i;

	for (i = 0; i < s->s_nkeys; i++)
		if ((s->s_keys[i].k_flags & KEY_REQUIRED) && !s->s_seen[i])
			cfgread_key_error(cp, s, (int)i, s->s_line,
			    "required key missing");
}

/* The backoff starts at restart_delay and stops at restart_delay_max. */
static void
check_delays(struct cfg_parse *cp, const struct section *s)
{
	const struct prog_conf	*pc = s->s_obj;
	int			 d = KEY_IDX(s, "restart_delay");
	int			 m = KEY_IDX(s, "restart_delay_max");
	char			 dbuf[32], mbuf[32], msg[ERRBUF_LEN];

	if (s->s_bad[d] || s->s_bad[m] ||
	    pc->pc_restart_delay_max >= pc->pc_restart_delay)
		return;
	format_duration(pc->pc_restart_delay, dbuf, sizeof(dbuf));
	format_duration(pc->pc_restart_delay_max, mbuf, sizeof(mbuf));
	if (s->s_seen[m]) {
		snprintf(msg, sizeof(msg), "%s is less than restart_delay "
		    "(%s)", mbuf, dbuf);
		cfgread_key_error(cp, s, m, s->s_seen[m], msg);
	} else {
		snprintf(msg, sizeof(msg), "%s is more than "
		    "restart_delay_max (%s)", dbuf, mbuf);
		cfgread_key_error(cp, s, d, s->s_seen[d], msg);
	}
}

/* Each socket a program names must have its [socket:NAME] somewhere. */
static void
check_sockets(struct cfg_parse *cp, const struct section *s)
{
	const struct prog_conf	*pc = s->s_obj;
	const struct sock_conf	*sc;
	int			 k = KEY_IDX(s, "sockets");
	char			 msg[ERRBUF_LEN];
	size_t			 i;

	if (s->s_bad[k])
		return;
	for (i = 0; i < pc->pc_nsockets; i++) {
		sc = cfgkeys_socket(cp->cp_cfg, pc->pc_sockets[i]);
		if (sc == NULL)
			snprintf(msg, sizeof(msg), "there is no [socket:%s] "
			    "section", pc->pc_sockets[i]);
		else if ((pc->pc_compat & COMPAT_SERVER_STARTER) &&
		    sc->sc_addr.la_kind == ADDR_UNIX &&
		    strpbrk(sc->sc_addr.la_path, ";=") != NULL)
			snprintf(msg, sizeof(msg), "with compat = "
			    "server-starter, the path of [socket:%s] (%s) "
			    "cannot hold ';' or '=': Server::Starter's clients "
			    "split SERVER_STARTER_PORT on them",
			    sc->sc_name, sc->sc_addr.la_path);
		else
			continue;
		cfgread_key_error(cp, s, k, s->s_seen[k], msg);
	}
}

/*
 * The IPC keys that cannot work together: node_handle without a Node
 * channel, a ready message or heartbeats with no channel at all, and a
 * ready = auto worker that would be killed before it could be up.
 */
static void
check_ipc(struct cfg_parse *cp, const struct section *s)
{
	const struct prog_conf	*pc = s->s_obj;
	int			 nh = KEY_IDX(s, "node_handle");
	int			 rd = KEY_IDX(s, "ready");
	int			 wd = KEY_IDX(s, "watchdog");
	int			 rt = KEY_IDX(s, "ready_timeout");
	char			 msg[ERRBUF_LEN], a[32], b[32];

	if (s->s_seen[nh] && !s->s_bad[nh] && pc->pc_ipc == IPC_NODE_CLUSTER)
		cfgread_key_error(cp, s, nh, s->s_seen[nh], "needs ipc = node; "
		    "with ipc = node-cluster the worker's listen() gets the "
		    "program's sockets without it");
	else if (s->s_seen[nh] && !s->s_bad[nh] && pc->pc_ipc != IPC_NODE)
		cfgread_key_error(cp, s, nh, s->s_seen[nh], "needs ipc = node");
	if (s->s_seen[nh] && !s->s_bad[nh] &&
	    cfgkeys_socket(cp->cp_cfg, pc->pc_node_socket) == NULL) {
		snprintf(msg, sizeof(msg), "there is no [socket:%s] section",
		    pc->pc_node_socket);
		cfgread_key_error(cp, s, nh, s->s_seen[nh], msg);
	}
	if (pc->pc_ipc == IPC_NONE && pc->pc_ready == READY_MESSAGE)
		cfgread_key_error(cp, s, rd, key_line(s, rd),
		    "ready = message needs an IPC channel (ipc = none)");
	if (pc->pc_ipc == IPC_NONE && pc->pc_watchdog > 0 &&
	    pc->pc_ready != READY_NOTIFY)
		cfgread_key_error(cp, s, wd, key_line(s, wd), "needs an IPC "
		    "channel for heartbeats (ipc = none), or ready = notify "
		    "for WATCHDOG=1");
	if (pc->pc_ready == READY_AUTO && !s->s_bad[rt] &&
	    pc->pc_ready_timeout <= pc->pc_min_uptime) {
		format_duration(pc->pc_ready_timeout, a, sizeof(a));
		format_duration(pc->pc_min_uptime, b, sizeof(b));
		snprintf(msg, sizeof(msg), "%s is not more than min_uptime "
		    "(%s): with ready = auto no worker could ever be up", a, b);
		cfgread_key_error(cp, s, rt, key_line(s, rt), msg);
	}
}

/*
 * What only Node's cluster protocol gives: the listening event and the
 * disconnect message; and einhorn's dialect, whose EINHORN_SOCK_FD is the
 * IPC channel.
 */
static void
check_node_cluster(struct cfg_parse *cp, const struct section *s)
{
	const struct prog_conf	*pc = s->s_obj;
	int			 rd = KEY_IDX(s, "ready");
	int			 ss = KEY_IDX(s, "stop_signal");
	int			 co = KEY_IDX(s, "compat");

	if (pc->pc_ready == READY_LISTENING && pc->pc_ipc != IPC_NODE_CLUSTER)
		cfgread_key_error(cp, s, rd, key_line(s, rd), "ready = "
		    "listening needs ipc = node-cluster: only Node's cluster "
		    "protocol tells when a server listens");
	if (pc->pc_stop_disconnect && pc->pc_ipc != IPC_NODE_CLUSTER)
		cfgread_key_error(cp, s, ss, key_line(s, ss), "disconnect "
		    "needs ipc = node-cluster: it is a message of Node's "
		    "cluster protocol");
	if ((pc->pc_compat & COMPAT_EINHORN) && pc->pc_ipc == IPC_NONE)
		cfgread_key_error(cp, s, co, key_line(s, co), "einhorn needs "
		    "an IPC channel, which is its EINHORN_SOCK_FD (ipc = "
		    "none)");
}

/*
 * The variables of env lines that clusterd sets itself with the keys
 * this program has, which are only known now (those it always sets were
 * refused at their line).
 */
static void
check_env_lines(struct cfg_parse *cp, const struct section *s)
{
	const struct prog_conf	*pc = s->s_obj;
	int			 k = KEY_IDX(s, "env");
	const char		*why, *var;
	char			 msg[ERRBUF_LEN];
	size_t			 i, nlen, first;

	/* after the env file variables, the env lines are pc_env's last */
	if (s->s_nenvlines > pc->pc_nenv)
		return;
	first = pc->pc_nenv - s->s_nenvlines;
	for (i = 0; i < s->s_nenvlines; i++) {
		var = pc->pc_env[first + i];
		nlen = strcspn(var, "=");
		if ((why = cfgkeys_env_owner(pc, var, nlen)) == NULL)
			continue;
		snprintf(msg, sizeof(msg), "%.*s is set by clusterd; %s",
		    (int)nlen, var, why);
		cfgread_key_error(cp, s, k, s->s_envlines[i], msg);
	}
}

/* SO_REUSEPORT spreads TCP connections; unix and passed sockets can't. */
static void
check_reuseport(struct cfg_parse *cp, const struct section *s)
{
	const struct sock_conf	*sc = s->s_obj;
	int			 k = KEY_IDX(s, "reuseport");

	if (sc->sc_reuseport && sc->sc_addr.la_kind != ADDR_TCP)
		cfgread_key_error(cp, s, k, s->s_seen[k], sc->sc_addr.la_kind ==
		    ADDR_UNIX ? "only for TCP sockets, not unix:" :
		    "only for TCP sockets clusterd binds, not systemd:");
}

/* The section of program pc. */
static const struct section *
section_of(const struct cfg_parse *cp, const struct prog_conf *pc)
{
	const struct section	*s;

	for (s = cp->cp_sects; s != NULL; s = s->s_next)
		if (s->s_obj == pc)
			return s;
	return NULL;
}

/* Does program pc hand socket sc to Node.js (node_handle, node-cluster)? */
static int
node_hands_out(const struct prog_conf *pc, const struct sock_conf *sc)
{
	size_t	i;

	if (pc->pc_node_socket != NULL &&
	    strcmp(pc->pc_node_socket, sc->sc_name) == 0)
		return 1;
	if (pc->pc_ipc != IPC_NODE_CLUSTER)
		return 0;
	for (i = 0; i < pc->pc_nsockets; i++)
		if (strcmp(pc->pc_sockets[i], sc->sc_name) == 0)
			return 1;
	return 0;
}

/* The first program that hands socket sc to Node.js, or NULL. */
static const struct prog_conf *
node_handle_user(const struct config *cfg, const struct sock_conf *sc)
{
	const struct prog_conf	*pc;

	for (pc = cfg->cf_progs; pc != NULL; pc = pc->pc_next)
		if (node_hands_out(pc, sc))
			return pc;
	return NULL;
}

/*
 * Sending a socket as a Node.js handle makes it non-blocking, and the
 * flag belongs to the open socket, which every program using it shares
 * (unless reuseport gives each slot its own): a program that does not
 * take it through the same node_handle would see its blocking accept()
 * fail with EAGAIN.
 */
static void
check_node_handle_sharing(struct cfg_parse *cp)
{
	const struct config	*cfg = cp->cp_cfg;
	const struct prog_conf	*pc, *nh;
	const struct sock_conf	*sc;
	const struct section	*s;
	char			 msg[ERRBUF_LEN];
	size_t			 i;

	for (pc = cfg->cf_progs; pc != NULL; pc = pc->pc_next) {
		for (i = 0; i < pc->pc_nsockets; i++) {
			sc = cfgkeys_socket(cfg, pc->pc_sockets[i]);
			if (sc == NULL || sc->sc_reuseport ||
			    (nh = node_handle_user(cfg, sc)) == NULL ||
			    node_hands_out(pc, sc) ||
			    (s = section_of(cp, pc)) == NULL)
				continue;
			snprintf(msg, sizeof(msg), "socket %s is also sent by "
			    "[program:%s]'s %s, which makes it non-blocking "
			    "for every process holding it, so a blocking "
			    "accept() here would fail with EAGAIN: give this "
			    "program a [socket:] of its own, or set reuseport = "
			    "yes on [socket:%s]", sc->sc_name, nh->pc_name,
			    nh->pc_node_socket != NULL ? "node_handle" :
			    "ipc = node-cluster", sc->sc_name);
			cfgread_key_error(cp, s, KEY_IDX(s, "sockets"),
			    key_line(s, KEY_IDX(s, "sockets")), msg);
		}
	}
}

/*
 * Everything, after cfgcheck_defaults() and the env files; and each
 * program keeps the line of each of its keys, for -t's messages.
 */
void
cfgcheck_all(struct cfg_parse *cp)
{
	struct section		*s;
	struct prog_conf	*pc;

	for (s = cp->cp_sects; s != NULL; s = s->s_next) {
		check_required(cp, s);
		if (s->s_type == SECT_SOCKET)
			check_reuseport(cp, s);
		if (s->s_type == SECT_PROGRAM) {
			pc = s->s_obj;
			memcpy(pc->pc_lines, s->s_seen, sizeof(pc->pc_lines));
			check_delays(cp, s);
			check_sockets(cp, s);
			check_ipc(cp, s);
			check_node_cluster(cp, s);
			check_env_lines(cp, s);
		}
	}
	check_node_handle_sharing(cp);
	if (cp->cp_cfg->cf_progs == NULL && cp->cp_nerrs == 0)
		cfgread_error_in(cp, cp->cp_cfg->cf_path, 0, 0,
		    "no [program:NAME] section: nothing to run");
}
