/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz.h - what the libFuzzer targets under tests/fuzz/ share: the entry
 * point libFuzzer calls, a way to fail loudly, and small independent
 * readers of JSON that a target compares src/json.c against.
 *
 * A target is one file, tests/fuzz/fuzz_NAME.c, defining
 * LLVMFuzzerTestOneInput(); its seeds are in tests/fuzz/corpus/NAME/ and
 * its dictionary, if it has one, is tests/fuzz/NAME.dict.  A broken
 * property calls fz_fail(), which aborts: libFuzzer saves the input.
 */

#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

void	fz_fail(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
#define FZ_ASSERT(cond, ...) do {					\
	if (!(cond))							\
		fz_fail(__VA_ARGS__);					\
} while (0)

char	*fz_cstr(const uint8_t *, size_t);
int	 fz_utf8_valid(const char *, size_t);

/* One member of a JSON object that json_parse() has accepted. */
struct fz_member {
	const char	*fm_key;	/* its name, quotes included */
	size_t		 fm_keylen;
	const char	*fm_val;	/* its value */
	size_t		 fm_vallen;
};

const char *fz_json_skip(const char *, const char *);
size_t	 fz_json_decode(const char *, size_t, char *);
size_t	 fz_json_members(const char *, size_t, struct fz_member **);

#endif /* FUZZ_H */
