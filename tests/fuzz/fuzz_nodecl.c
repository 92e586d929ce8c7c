/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_nodecl - the Node.js cluster primary's side of the protocol
 * (src/nodecl.c), as a worker drives it: the input is the worker's
 * lines (split at newlines), and between them the channel takes what
 * nodecl queued, a few bytes at a time or all of it, as the input's
 * bytes say.
 *
 * Beyond "no crash": the queue never holds more than NODECL_QUEUE_MAX,
 * a descriptor only ever goes with a line's first byte and is one of the
 * program's, every line written whole is one JSON text ending in a
 * newline, and the state saved at any point is restored to the same
 * state (saved again, the same text).
 */

#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "fuzz.h"
#include "nodecl.h"

static const struct nodecl_sock socks[] = {
	{ "web", NODECL_TCP, NULL, 8000, NULL, 3, 10, NULL },
	{ "api", NODECL_TCP, "127.0.0.1", 8001, NULL, 4, 11, NULL },
	{ "admin", NODECL_UNIX, NULL, 0, "/run/app/admin.sock", 5, 12, NULL },
};

static char	 line[1 << 17];
static size_t	 linelen;

/* Take up to max bytes of output; check whole lines as they complete. */
static void
drain(struct nodecl *nc, size_t max)
{
	struct json_val	 v;
	const char	*text;
	size_t		 len, n;
	int		 fd;
	char		 err[128];

	while (max > 0 && nodecl_output(nc, &text, &len, &fd) == 1) {
		FZ_ASSERT(len > 0, "nodecl_output gave 0 bytes");
		FZ_ASSERT(fd == -1 || linelen == 0, "fd %d not with a first "
		    "byte", fd);
		FZ_ASSERT(fd == -1 || fd == 10 || fd == 11 || fd == 12,
		    "fd %d is none of the program's", fd);
		n = len < max ? len : max;
		FZ_ASSERT(linelen + n <= sizeof(line), "a line over %zu",
		    sizeof(line));
		memcpy(line + linelen, text, n);
		linelen += n;
		nodecl_wrote(nc, n);
		max -= n;
		if (linelen > 0 && line[linelen - 1] == '\n') {
			FZ_ASSERT(json_parse(line, linelen - 1, &v, err,
			    sizeof(err)) == 0, "written line not JSON: %s: "
			    "%.*s", err, (int)linelen - 1, line);
			linelen = 0;
		}
	}
}

/* Saved, restored, saved again: the same text. */
static void
roundtrip(const struct nodecl *nc)
{
	struct nodecl	 back;
	size_t		 len = nodecl_save(nc, NULL, 0), len2;
	char		*a, *b, err[256];

	if ((a = malloc(len + 1)) == NULL)
		return;
	nodecl_save(nc, a, len + 1);
	FZ_ASSERT(nodecl_restore(&back, a, len, err, sizeof(err)) == 0,
	    "restore of its own save: %s: %s", err, a);
	len2 = nodecl_save(&back, NULL, 0);
	if ((b = malloc(len2 + 1)) != NULL) {
		nodecl_save(&back, b, len2 + 1);
		FZ_ASSERT(len == len2 && memcmp(a, b, len) == 0,
		    "save, restore, save differ:\n%s\n%s", a, b);
		free(b);
	}
	nodecl_free(&back);
	free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nodecl		 nc;
	struct nodecl_result	 r;
	const char		*p = (const char *)data, *end = p + size, *nl;
	size_t			 n = 0;

	nodecl_init(&nc);
	linelen = 0;
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		(void)nodecl_input(&nc, p, (size_t)(nl - p), socks,
		    sizeof(socks) / sizeof(socks[0]), &r);
		FZ_ASSERT(nc.nc_count <= NODECL_QUEUE_MAX, "queue %zu",
		    nc.nc_count);
		if ((n++ & 7) == 3)
			(void)nodecl_disconnect(&nc);
		/* the line's first byte says how much the channel takes */
		drain(&nc, nl > p ? (size_t)(unsigned char)*p * 7 + 1 :
		    (size_t)-1);
		if ((n & 3) == 0)
			roundtrip(&nc);
		p = nl + 1;
	}
	roundtrip(&nc);
	nodecl_free(&nc);
	return 0;
}
