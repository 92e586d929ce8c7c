/*
 * max_memory: sample the resident memory of every worker of the programs
 * that set it, and replace a worker that is over the limit gracefully, new
 * one first.  The sampling timer runs only while some program has the key:
 * a cluster without it never wakes up for this.
 */

#include <stdio.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define MEMORY_INTERVAL	2.0	/* seconds between samples */

static ev_timer	memory_timer;
static int	memory_inited;

static void	memory_sample(struct ev_loop *, ev_timer *, int);
static void	memory_check_slot(struct slot *);

/* Start or stop sampling as the programs' configuration says. */
void
memory_update(void)
{
	struct program	*p;
	int		 wanted = 0;

	for (p = cluster_programs(); p != NULL; p = p->p_next)
		if (p->p_state != PROGRAM_REMOVED &&
		    p->p_conf->pc_max_memory > 0)
			wanted = 1;
	if (!memory_inited) {
		ev_timer_init(&memory_timer, memory_sample, MEMORY_INTERVAL,
		    MEMORY_INTERVAL);
		memory_inited = 1;
	}
	if (wanted && !ev_is_active(&memory_timer))
		ev_timer_start(EV_DEFAULT, &memory_timer);
	else if (!wanted && ev_is_active(&memory_timer))
		ev_timer_stop(EV_DEFAULT, &memory_timer);
}

void
memory_stop(void)
{
	if (memory_inited)
		ev_timer_stop(EV_DEFAULT, &memory_timer);
}

/* Resident memory of a process in bytes, from /proc; -1 if unknown. */
long long
memory_rss(pid_t pid)
{
	char		path[64];
	FILE		*f;
	long long	size, resident;

	snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fscanf(f, "%lld %lld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static void
memory_sample(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct program	*p;
	int		 i;

	(void)loop;
	(void)t;
	(void)revents;
	if (cluster_shutting_down())
		return;
	for (p = cluster_programs(); p != NULL; p = p->p_next) {
		if (p->p_state != PROGRAM_RUNNING ||
		    p->p_conf->pc_max_memory == 0)
			continue;
		for (i = 0; i < p->p_nslots; i++)
			memory_check_slot(p->p_slots[i]);
	}
}

/*
 * Only a ready current worker with no replacement under way is judged,
 * and not while the slot backs off from a replacement that failed.
 */
static void
memory_check_slot(struct slot *sl)
{
	struct worker	*w = sl->sl_worker;
	uint64_t	 max = sl->sl_prog->p_conf->pc_max_memory;
	long long	 rss;

	if (w == NULL || w->w_state != WORKER_READY || sl->sl_next != NULL ||
	    ev_now(EV_DEFAULT) < sl->sl_hold_until)
		return;
	if ((rss = memory_rss(w->w_pid)) < 0 || (uint64_t)rss <= max)
		return;
	log_warnx("%s[%d] (pid %ld) uses %.1fM, over max_memory %.1fM: "
	    "replacing it", w->w_conf->pc_name, w->w_index, (long)w->w_pid,
	    rss / 1048576.0, max / 1048576.0);
	program_replace(sl);
}
