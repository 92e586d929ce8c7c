/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_json - the JSON reader of src/json.c.
 *
 * The input is one JSON text (any bytes).  Beyond "no crash, no
 * out-of-bounds read, no undefined behaviour", it checks that:
 *  - json_parse() and json_parse_msg() accept exactly the same texts;
 *  - a value json_parse() accepts can be walked whole: json_next() visits
 *    every element of an array and json_get() finds every member of an
 *    object by its name (the first member with exactly that name, never
 *    one whose name only starts with it), each value where an independent
 *    reader finds it;
 *  - each accessor agrees with the value's kind, json_string() gives the
 *    whole decoded text or fails (never a cut one), an integer reads back
 *    as the digits it was written with;
 *  - the fields json_parse_msg() keeps are the last such member, cut to a
 *    prefix of its text when they do not fit, and nothing of a string
 *    with U+0000 in it;
 *  - json_quote() of the input, when that is valid UTF-8 without NUL,
 *    reads back as the same bytes, and a cut quote is a prefix.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "fuzz.h"

#define KEY_MAX		64	/* json_get() finds names shorter than this */

static void	walk(const struct json_val *);

/* Decoded text of a valid string value, in a buffer of its own size. */
static char *
decode(const char *text, size_t len, size_t *outlen)
{
	char	*s;

	if ((s = malloc(len)) == NULL)
		fz_fail("out of memory");
	*outlen = fz_json_decode(text, len, s);
	return s;
}

static void
check_string(const struct json_val *v)
{
	char	*d, *buf;
	size_t	 dl;

	d = decode(v->jv_text, v->jv_len, &dl);
	if ((buf = malloc(dl + 1)) == NULL)
		fz_fail("out of memory");
	if (memchr(d, '\0', dl) != NULL) {
		FZ_ASSERT(json_string(v, buf, dl + 1) == -1,
		    "json_string accepted a string with U+0000");
	} else {
		FZ_ASSERT(json_string(v, buf, dl + 1) == 0,
		    "json_string refused a string that fits");
		FZ_ASSERT(memcmp(buf, d, dl) == 0 && buf[dl] == '\0',
		    "json_string decoded %.*s wrongly", (int)v->jv_len,
		    v->jv_text);
		FZ_ASSERT(json_string(v, buf, dl) == -1,
		    "json_string cut a string to fit");
	}
	free(buf);
	free(d);
}

static void
check_number(const struct json_val *v)
{
	long long	 n;
	double		 d;
	char		 back[32];
	int		 integer;

	integer = memchr(v->jv_text, '.', v->jv_len) == NULL &&
	    memchr(v->jv_text, 'e', v->jv_len) == NULL &&
	    memchr(v->jv_text, 'E', v->jv_len) == NULL;
	if (v->jv_len < 64)
		FZ_ASSERT(json_double(v, &d) == 0,
		    "json_double refused the number %.*s", (int)v->jv_len,
		    v->jv_text);
	if (json_int(v, LLONG_MIN, LLONG_MAX, &n) == -1) {
		FZ_ASSERT(!integer || v->jv_len >= 19,
		    "json_int refused the integer %.*s", (int)v->jv_len,
		    v->jv_text);
		return;
	}
	FZ_ASSERT(integer, "json_int took %.*s", (int)v->jv_len, v->jv_text);
	snprintf(back, sizeof(back), "%lld", n);
	FZ_ASSERT((strlen(back) == v->jv_len &&
	    memcmp(back, v->jv_text, v->jv_len) == 0) ||
	    (n == 0 && v->jv_len == 2 && memcmp(v->jv_text, "-0", 2) == 0),
	    "json_int read %.*s as %lld", (int)v->jv_len, v->jv_text, n);
	FZ_ASSERT(json_int(v, n, n, &n) == 0, "json_int: [n, n] refused n");
	if (n < LLONG_MAX)
		FZ_ASSERT(json_int(v, n + 1, LLONG_MAX, &n) == -1,
		    "json_int: n taken below the minimum");
}

/* The accessors of the other kinds all say no. */
static void
check_kind(const struct json_val *v)
{
	struct json_val	 out = { JV_NULL, NULL, 0 };
	long long	 n;
	double		 d;
	char		 buf[8];
	int		 b;

	if (v->jv_kind != JV_STRING)
		FZ_ASSERT(json_string(v, buf, sizeof(buf)) == -1,
		    "json_string on a non-string");
	if (v->jv_kind != JV_NUMBER)
		FZ_ASSERT(json_int(v, LLONG_MIN, LLONG_MAX, &n) == -1 &&
		    json_double(v, &d) == -1, "a number from a non-number");
	if (v->jv_kind != JV_BOOL)
		FZ_ASSERT(json_bool(v, &b) == -1, "json_bool on a non-bool");
	if (v->jv_kind != JV_OBJECT)
		FZ_ASSERT(json_get(v, "a", &out) == -1, "a member of a "
		    "non-object");
	if (v->jv_kind != JV_ARRAY)
		FZ_ASSERT(json_next(v, &out) == 0, "an element of a "
		    "non-array");
}

/* Nothing but whitespace between the brackets of an empty array. */
static int
empty_array(const struct json_val *arr)
{
	size_t	i;

	for (i = 1; i + 1 < arr->jv_len; i++)
		if (strchr(" \t\n\r", arr->jv_text[i]) == NULL)
			return 0;
	return 1;
}

static void
check_array(const struct json_val *arr)
{
	struct json_val	 it = { JV_NULL, NULL, 0 };
	const char	*end = arr->jv_text + arr->jv_len;
	const char	*from = arr->jv_text + 1;	/* after '[' or ',' */
	size_t		 n = 0;

	while (json_next(arr, &it) == 1) {
		FZ_ASSERT(it.jv_text >= from && it.jv_text < end &&
		    fz_json_skip(it.jv_text, end) == it.jv_text + it.jv_len,
		    "element %zu of %.*s is not where it should be", n,
		    (int)arr->jv_len, arr->jv_text);
		from = it.jv_text + it.jv_len + 1;
		FZ_ASSERT(++n <= arr->jv_len / 2, "too many elements");
		walk(&it);
	}
	FZ_ASSERT(n > 0 || empty_array(arr), "json_next skipped the elements "
	    "of %.*s", (int)arr->jv_len, arr->jv_text);
}

/* The members of an object, their names decoded. */
struct names {
	struct fz_member	*nm_m;
	char			**nm_key;
	size_t			*nm_len;
	size_t			 nm_n;
};

static void
names_get(const struct json_val *obj, struct names *nm)
{
	size_t	i;

	nm->nm_n = fz_json_members(obj->jv_text, obj->jv_len, &nm->nm_m);
	if ((nm->nm_key = calloc(nm->nm_n + 1, sizeof(char *))) == NULL ||
	    (nm->nm_len = calloc(nm->nm_n + 1, sizeof(size_t))) == NULL)
		fz_fail("out of memory");
	for (i = 0; i < nm->nm_n; i++)
		nm->nm_key[i] = decode(nm->nm_m[i].fm_key,
		    nm->nm_m[i].fm_keylen, &nm->nm_len[i]);
}

static void
names_free(struct names *nm)
{
	size_t	i;

	for (i = 0; i < nm->nm_n; i++)
		free(nm->nm_key[i]);
	free(nm->nm_key);
	free(nm->nm_len);
	free(nm->nm_m);
}

/* The first (or last) member named exactly key (klen bytes), or -1. */
static long
named(const struct names *nm, const char *key, size_t klen, int last)
{
	long	found = -1;
	size_t	i;

	for (i = 0; i < nm->nm_n; i++) {
		if (nm->nm_len[i] != klen ||
		    memcmp(nm->nm_key[i], key, klen) != 0)
			continue;
		found = (long)i;
		if (!last)
			break;
	}
	return found;
}

static void
check_lookup(const struct json_val *obj, const struct names *nm,
    const char *key, size_t klen)
{
	struct json_val	 got;
	long		 want;
	int		 rc;

	if (memchr(key, '\0', klen) != NULL)
		return;		/* a C string cannot name it */
	rc = json_get(obj, key, &got);
	want = klen < KEY_MAX ? named(nm, key, klen, 0) : -1;
	if (want == -1) {
		FZ_ASSERT(rc == -1, "json_get found \"%s\", which %.*s does "
		    "not have", key, (int)obj->jv_len, obj->jv_text);
		return;
	}
	FZ_ASSERT(rc == 0 && got.jv_text == nm->nm_m[want].fm_val &&
	    got.jv_len == nm->nm_m[want].fm_vallen, "json_get(\"%s\") did "
	    "not find member %ld of %.*s", key, want, (int)obj->jv_len,
	    obj->jv_text);
}

static void
check_object(const struct json_val *obj)
{
	struct names	 nm;
	struct json_val	 v;
	size_t		 i, kl;
	char		 probe[KEY_MAX + 2], err[128];

	names_get(obj, &nm);
	for (i = 0; i < nm.nm_n; i++) {
		kl = nm.nm_len[i];
		if (kl <= KEY_MAX) {
			memcpy(probe, nm.nm_key[i], kl);
			probe[kl] = '\0';
			check_lookup(obj, &nm, probe, kl);
			if (kl > 0) {	/* a shorter name must not match */
				probe[kl - 1] = '\0';
				check_lookup(obj, &nm, probe, kl - 1);
			}
			memcpy(probe, nm.nm_key[i], kl);
			probe[kl] = 'x';
			probe[kl + 1] = '\0';
			check_lookup(obj, &nm, probe, kl + 1);
		}
		FZ_ASSERT(json_parse(nm.nm_m[i].fm_val, nm.nm_m[i].fm_vallen,
		    &v, err, sizeof(err)) == 0 &&
		    v.jv_text == nm.nm_m[i].fm_val, "member %zu of %.*s does "
		    "not parse alone", i, (int)obj->jv_len, obj->jv_text);
		walk(&v);
	}
	names_free(&nm);
}

static void
walk(const struct json_val *v)
{
	int	b;

	check_kind(v);
	switch (v->jv_kind) {
	case JV_NULL:
		FZ_ASSERT(v->jv_len == 4 && memcmp(v->jv_text, "null", 4) == 0,
		    "null is %.*s", (int)v->jv_len, v->jv_text);
		break;
	case JV_BOOL:
		FZ_ASSERT(json_bool(v, &b) == 0, "json_bool refused a bool");
		FZ_ASSERT((b && v->jv_len == 4 &&
		    memcmp(v->jv_text, "true", 4) == 0) || (!b &&
		    v->jv_len == 5 && memcmp(v->jv_text, "false", 5) == 0),
		    "json_bool read %.*s as %d", (int)v->jv_len, v->jv_text,
		    b);
		break;
	case JV_NUMBER:
		check_number(v);
		break;
	case JV_STRING:
		check_string(v);
		break;
	case JV_ARRAY:
		check_array(v);
		break;
	case JV_OBJECT:
		check_object(v);
		break;
	}
}

/* A field json_parse_msg() keeps: want (wl bytes, no NUL) or a prefix. */
static void
check_field(const char *field, size_t size, const char *want, size_t wl,
    const char *what)
{
	size_t	fl = strnlen(field, size);

	FZ_ASSERT(fl < size, "%s is not NUL-terminated", what);
	FZ_ASSERT(fl <= wl && memcmp(field, want, fl) == 0,
	    "%s \"%s\" is not a prefix of \"%.*s\"", what, field, (int)wl,
	    want);
	/* cut only when it does not fit, and then by one code point at most */
	FZ_ASSERT(fl == wl || (wl >= size - 1 && fl + 4 >= size),
	    "%s \"%s\" cut short of \"%.*s\"", what, field, (int)wl, want);
}

static void
check_msg_member(const struct json_val *v, const struct names *nm,
    const char *name, const char *field, size_t size)
{
	long	last = named(nm, name, strlen(name), 1);
	char	*d;
	size_t	 dl;

	if (last == -1 || nm->nm_m[last].fm_val[0] != '"') {
		FZ_ASSERT(field[0] == '\0', "%s is \"%s\" in %.*s", name,
		    field, (int)v->jv_len, v->jv_text);
		return;
	}
	d = decode(nm->nm_m[last].fm_val, nm->nm_m[last].fm_vallen, &dl);
	if (memchr(d, '\0', dl) != NULL)	/* no text holds U+0000 */
		FZ_ASSERT(field[0] == '\0', "%s \"%s\" kept from a string "
		    "with U+0000", name, field);
	else
		check_field(field, size, d, dl, name);
	free(d);
}

static void
check_msg(const struct json_val *v, const struct json_msg *jm)
{
	struct names	 nm;
	size_t		 dl;
	char		*d;

	switch (v->jv_kind) {
	case JV_STRING:
		FZ_ASSERT(jm->jm_type == JSON_STRING, "not JSON_STRING");
		d = decode(v->jv_text, v->jv_len, &dl);
		if (memchr(d, '\0', dl) != NULL)
			FZ_ASSERT(jm->jm_string[0] == '\0', "string \"%s\" kept "
			    "from one with U+0000", jm->jm_string);
		else
			check_field(jm->jm_string, sizeof(jm->jm_string), d,
			    dl, "string");
		free(d);
		break;
	case JV_OBJECT:
		FZ_ASSERT(jm->jm_type == JSON_OBJECT, "not JSON_OBJECT");
		names_get(v, &nm);
		check_msg_member(v, &nm, "cmd", jm->jm_cmd,
		    sizeof(jm->jm_cmd));
		check_msg_member(v, &nm, "act", jm->jm_act,
		    sizeof(jm->jm_act));
		check_msg_member(v, &nm, "status", jm->jm_status,
		    sizeof(jm->jm_status));
		names_free(&nm);
		break;
	default:
		FZ_ASSERT(jm->jm_type == JSON_OTHER, "not JSON_OTHER");
		break;
	}
}

static void
check_parse(const char *text, size_t len)
{
	struct json_val	 v;
	struct json_msg	 jm;
	char		 err[128], err2[128];
	int		 rc, rc2;

	err[0] = err2[0] = '\0';
	rc = json_parse(text, len, &v, err, sizeof(err));
	rc2 = json_parse_msg(text, len, &jm, err2, sizeof(err2));
	FZ_ASSERT(rc == rc2, "json_parse says %d, json_parse_msg %d", rc,
	    rc2);
	if (rc == -1) {
		FZ_ASSERT(err[0] != '\0' && strcmp(err, err2) == 0,
		    "two reasons for one error: \"%s\", \"%s\"", err, err2);
		return;
	}
	FZ_ASSERT(v.jv_text >= text && v.jv_text + v.jv_len <= text + len &&
	    fz_json_skip(v.jv_text, text + len) == v.jv_text + v.jv_len,
	    "the value is not where it should be");
	walk(&v);
	check_msg(&v, &jm);
}

static void
check_quote(const char *s)
{
	struct json_val	 v;
	char		*q, *cut, *back, err[128];
	size_t		 len = strlen(s), need, outlen;

	need = json_quote(s, NULL, 0);
	if ((q = malloc(need + 1)) == NULL)
		fz_fail("out of memory");
	FZ_ASSERT(json_quote(s, q, need + 1) == need && strlen(q) == need,
	    "json_quote: two lengths");
	for (outlen = 1; outlen <= need; outlen += need / 3 + 1) {
		if ((cut = malloc(outlen)) == NULL)
			fz_fail("out of memory");
		FZ_ASSERT(json_quote(s, cut, outlen) == need &&
		    strlen(cut) < outlen && strncmp(cut, q, strlen(cut)) == 0,
		    "json_quote cut into %zu bytes is not a prefix", outlen);
		free(cut);
	}
	if (fz_utf8_valid(s, len)) {
		FZ_ASSERT(json_parse(q, need, &v, err, sizeof(err)) == 0 &&
		    v.jv_kind == JV_STRING, "json_quote wrote %s: %s", q, err);
		if ((back = malloc(len + 1)) == NULL)
			fz_fail("out of memory");
		FZ_ASSERT(json_string(&v, back, len + 1) == 0 &&
		    strcmp(back, s) == 0, "%s does not read back as it was",
		    q);
		free(back);
	}
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	check_parse((const char *)data, size);
	s = fz_cstr(data, size);
	check_quote(s);
	free(s);
	return 0;
}
