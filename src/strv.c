/*
 * SPDX-License-Identifier: ISC
 *
 * Growing a NULL-terminated array of strings (argv, environments, name
 * lists) one string at a time.  The capacity is not stored: it is the
 * power of two that the count implies, so an array built by strv_push()
 * alone grows geometrically and needs nothing beside its count.
 */

#include <stdlib.h>

#include "daemon.h"

/* Slots allocated for n strings and the NULL after them. */
static size_t
strv_cap(size_t n)
{
	size_t	cap = 8;

	while (cap < n + 1)
		cap *= 2;
	return cap;
}

/*
 * Appends s (which the array then owns) to *vp, of *np strings, and keeps
 * it NULL-terminated.  Returns -1 when out of memory; *vp, *np and s are
 * then as they were, and s is still the caller's.
 */
int
strv_push(char ***vp, size_t *np, char *s)
{
	char	**v = *vp;
	size_t	  n = *np;

	if (v == NULL || strv_cap(n + 1) != strv_cap(n)) {
		if ((v = reallocarray(v, strv_cap(n + 1), sizeof(*v))) == NULL)
			return -1;
		*vp = v;
	}
	v[n] = s;
	v[n + 1] = NULL;
	*np = n + 1;
	return 0;
}
