/*
 * SPDX-License-Identifier: ISC
 *
 * clusterd's command line: options, usage, and loading the configuration
 * file as the command line asked (errors to stderr, exit 1).
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

static void	usage(FILE *, int) __attribute__((noreturn));

static const struct option longopts[] = {
	{ "config",	required_argument,	NULL,	'c' },
	{ "check",	no_argument,		NULL,	't' },
	{ "verbose",	no_argument,		NULL,	'v' },
	{ "quiet",	no_argument,		NULL,	'q' },
	{ "version",	no_argument,		NULL,	'V' },
	{ "help",	no_argument,		NULL,	'h' },
	/* an upgrade's, not for people: clusterd(8) UPGRADING */
	{ "upgrade-check", no_argument,		NULL,	'U' },
	{ "upgrade-from", required_argument,	NULL,	'F' },
	{ NULL,		0,			NULL,	0 }
};

/* Parse argv into o; -V and -h exit 0, a usage error exits 2. */
void
cmdline_parse(int argc, char *argv[], struct options *o)
{
	int	ch;

	long long	fd;
	char		err[ERRBUF_LEN];

	memset(o, 0, sizeof(*o));
	o->o_config = DEFAULT_CONFIG;
	o->o_upgrade_from = -1;
	while ((ch = getopt_long(argc, argv, "c:tvqVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->o_config = optarg;
			break;
		case 't':
			o->o_check = 1;
			break;
		case 'v':
			o->o_verbosity++;
			break;
		case 'q':
			o->o_verbosity--;
			break;
		case 'V':
			printf("clusterd %s\n", CLUSTERD_VERSION);
			exit(0);
		case 'h':
			usage(stdout, 0);
		case 'U':
			o->o_upgrade_check = 1;
			break;
		case 'F':
			if (parse_number(optarg, 0, 1 << 20, &fd, err,
			    sizeof(err)) == -1) {
				fprintf(stderr, "clusterd: --upgrade-from: "
				    "%s\n", err);
				exit(2);
			}
			o->o_upgrade_from = (int)fd;
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
}

static void
usage(FILE *out, int status)
{
	fprintf(out,
	    "usage: clusterd [-c FILE] [-t] [-v] [-q] [-V] [-h]\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  -t, --check        validate the configuration and exit\n"
	    "  -v, --verbose      one log level more than the file says\n"
	    "  -q, --quiet        one log level less\n"
	    "  -V, --version      print the version and exit\n"
	    "  -h, --help         print this help and exit\n",
	    DEFAULT_CONFIG);
	exit(status);
}

/* The configuration, or its errors on stderr and exit 1. */
struct config *
cmdline_load_config(const char *path)
{
	struct config	*cf;
	char		*errors = NULL;

	if ((cf = config_load(path, &errors)) == NULL) {
		fputs(errors != NULL ? errors : "out of memory\n", stderr);
		if (errors != NULL && errors[strlen(errors) - 1] != '\n')
			fputc('\n', stderr);
		free(errors);
		exit(1);
	}
	return cf;
}

/*
 * -t: the configuration loaded; now what only -t checks (commands that
 * are not executable, missing directories, users clusterd cannot switch
 * to).  Prints "FILE: ok" or the errors; the exit status.
 */
int
cmdline_check(struct config *cf, const char *path)
{
	char	*errors = NULL;
	int	 rv = config_check_runtime(cf, &errors);

	config_free(cf);
	if (rv == -1) {
		fputs(errors != NULL ? errors : "out of memory\n", stderr);
		free(errors);
		return 1;
	}
	printf("%s: ok\n", path);
	return 0;
}

/*
 * --upgrade-check, run by the clusterd being upgraded: can this binary
 * take over?  It loads the configuration (its errors on stderr, exit 1)
 * and says which state versions it reads.
 */
int
cmdline_upgrade_check(const char *path)
{
	struct config	*cf = cmdline_load_config(path);

	config_free(cf);
	printf("clusterd %s: %s: ok, reads state %d\n", CLUSTERD_VERSION, path,
	    STATE_VERSION);
	return 0;
}
