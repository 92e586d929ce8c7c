/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_config - the configuration loader, from a buffer
 * (config_load_buffer): inih's reader, the key tables, every setter and
 * every combination check.
 *
 * Inputs naming `include' or `env_file' are left out: those read other
 * files, and a fuzzer must not wander the file system (they have unit
 * tests).  Beyond "no crash" and no leak: a file that loads has at
 * least one program, and every error is one line naming the file.
 */

#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "fuzz.h"

#define PATH	"/nonexistent/fuzz.ini"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cf;
	char		*text, *errors = NULL, *line, *next;

	if ((text = fz_cstr(data, size)) == NULL)
		return 0;
	if (strstr(text, "include") != NULL || strstr(text, "env_file") !=
	    NULL) {
		free(text);
		return 0;
	}
	if ((cf = config_load_buffer(PATH, (const char *)data, size,
	    &errors)) != NULL) {
		FZ_ASSERT(cf->cf_progs != NULL, "loaded with no program");
		config_release(cf);
	} else {
		FZ_ASSERT(errors != NULL && *errors != '\0', "no errors");
		for (line = errors; *line != '\0'; line = next) {
			next = strchr(line, '\n');
			FZ_ASSERT(next != NULL, "an error without its newline");
			*next++ = '\0';
			FZ_ASSERT(strncmp(line, PATH, strlen(PATH)) == 0,
			    "an error not naming the file: %s", line);
		}
	}
	free(errors);
	free(text);
	return 0;
}
