/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_ipc - ipc_classify(), what one line from a worker's IPC channel
 * says (SPEC 5).
 *
 * The input is one line without its newline (any bytes).  Beyond "no
 * crash", it checks the answer against the rules of SPEC 5 computed
 * here apart, on exact decoded text: blanks around the line do not
 * matter; a bare word is one of the known words or ignored; anything
 * else is malformed exactly when it is not JSON; a JSON string is a
 * word; of an object the last "cmd" member counts, else an "act" of
 * "suicide", and "status" needs a string "status" member (a string
 * with U+0000 in it is no text).  The status
 * text kept is valid UTF-8 and fits its buffer.
 */

#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "fuzz.h"

#define STATUS_LEN	256	/* as the daemon's w_status */

static const struct {
	const char	*word;
	enum ipc_kind	 kind;
} words[] = {
	{ "suicide", IPC_SUICIDE },
	{ "ready", IPC_READY },
	{ "heartbeat", IPC_HEARTBEAT },
	{ "status", IPC_STATUS },
	{ "NODE_HANDLE_ACK", IPC_NODE_ACK },
};

/* The kind a word (len bytes, maybe with NULs) names. */
static enum ipc_kind
word_kind(const char *w, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i].word) == len &&
		    memcmp(words[i].word, w, len) == 0)
			return words[i].kind;
	return IPC_IGNORED;
}

/* The last member named name, decoded if it is a string; -1 if none. */
static int
member(const struct fz_member *m, size_t n, const char *name, char **val,
    size_t *vallen)
{
	size_t	 i, kl;
	char	*k;
	int	 found = -1;

	*val = NULL;
	*vallen = 0;
	for (i = 0; i < n; i++) {
		if ((k = malloc(m[i].fm_keylen)) == NULL)
			fz_fail("out of memory");
		kl = fz_json_decode(m[i].fm_key, m[i].fm_keylen, k);
		if (kl == strlen(name) && memcmp(k, name, kl) == 0) {
			free(*val);
			*val = NULL;
			*vallen = 0;
			found = m[i].fm_val[0] == '"';
			if (found) {
				if ((*val = malloc(m[i].fm_vallen)) == NULL)
					fz_fail("out of memory");
				*vallen = fz_json_decode(m[i].fm_val,
				    m[i].fm_vallen, *val);
			}
			if (found && memchr(*val, '\0', *vallen) != NULL) {
				found = 0;	/* no text holds U+0000 */
				free(*val);
				*val = NULL;
				*vallen = 0;
			}
		}
		free(k);
	}
	return found;
}

static enum ipc_kind
object_kind(const struct json_val *v)
{
	struct fz_member	*m;
	size_t			 n, cl, al, sl;
	char			*cmd, *act, *status = NULL;
	enum ipc_kind		 kind;

	n = fz_json_members(v->jv_text, v->jv_len, &m);
	member(m, n, "cmd", &cmd, &cl);
	member(m, n, "act", &act, &al);
	if (cl > 0)
		kind = word_kind(cmd, cl);
	else if (al == 7 && memcmp(act, "suicide", 7) == 0)
		kind = IPC_SUICIDE;
	else
		kind = IPC_IGNORED;
	if (kind == IPC_STATUS && member(m, n, "status", &status, &sl) != 1)
		kind = IPC_IGNORED;
	free(status);
	free(cmd);
	free(act);
	free(m);
	return kind;
}

/* What SPEC 5 says the trimmed line t (len bytes) is. */
static enum ipc_kind
expected(const char *t, size_t len)
{
	struct json_val	 v;
	enum ipc_kind	 kind;
	char		 err[128], *d;
	size_t		 dl, i;

	if (len == 0)
		return IPC_IGNORED;
	for (i = 0; i < len && t[i] != '\0' && strchr("abcdefghijklmnopqrstu"
	    "vwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", t[i]) != NULL; i++)
		;
	if (i == len) {
		kind = word_kind(t, len);
		return kind == IPC_STATUS ? IPC_IGNORED : kind;
	}
	if (json_parse(t, len, &v, err, sizeof(err)) == -1)
		return IPC_MALFORMED;
	if (v.jv_kind == JV_OBJECT)
		return object_kind(&v);
	if (v.jv_kind != JV_STRING)
		return IPC_IGNORED;
	if ((d = malloc(v.jv_len)) == NULL)
		fz_fail("out of memory");
	dl = fz_json_decode(v.jv_text, v.jv_len, d);
	kind = memchr(d, '\0', dl) != NULL ? IPC_IGNORED : word_kind(d, dl);
	free(d);
	return kind == IPC_STATUS ? IPC_IGNORED : kind;
}

static enum ipc_kind
classify(const char *line, size_t len, char *status)
{
	enum ipc_kind	 kind;
	char		 err[128];

	err[0] = '\0';
	status[0] = '\0';
	kind = ipc_classify(line, len, status, STATUS_LEN, err, sizeof(err));
	FZ_ASSERT(kind >= IPC_SUICIDE && kind <= IPC_MALFORMED, "kind %d",
	    kind);
	FZ_ASSERT(kind != IPC_MALFORMED || err[0] != '\0',
	    "malformed, but no reason");
	if (kind == IPC_STATUS)
		FZ_ASSERT(strnlen(status, STATUS_LEN) < STATUS_LEN &&
		    fz_utf8_valid(status, strlen(status)), "status text not "
		    "NUL-terminated or not UTF-8");
	return kind;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*t = (const char *)data;
	size_t		 len = size;
	char		*line, *padded, status[STATUS_LEN], status2[STATUS_LEN];
	enum ipc_kind	 kind, want;

	/* a copy of its own size, so that a read past the line is caught */
	if ((line = malloc(size + 1)) == NULL ||
	    (padded = malloc(size + 5)) == NULL)
		fz_fail("out of memory");
	memcpy(line, data, size);
	kind = classify(line, size, status);
	memcpy(padded, " \t", 2);
	memcpy(padded + 2, data, size);
	memcpy(padded + 2 + size, "\r \t", 3);
	FZ_ASSERT(classify(padded, size + 5, status2) == kind &&
	    strcmp(status, status2) == 0, "blanks around the line changed "
	    "what it says");
	while (len > 0 && strchr("\r \t", t[len - 1]) != NULL && t[len - 1])
		len--;
	while (len > 0 && (*t == ' ' || *t == '\t')) {
		t++;
		len--;
	}
	want = expected(t, len);
	FZ_ASSERT(kind == want, "classified as %d, SPEC 5 says %d", kind,
	    want);
	free(padded);
	free(line);
	return 0;
}
