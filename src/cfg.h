/*
 * SPDX-License-Identifier: ISC
 *
 * The configuration reader's own types, shared by its four files and
 * nothing else:
 *
 *   config.c	the entry points: files read (the main one, what it
 *		includes, env files), the run-time checks of -t, freeing
 *   cfgread.c	lines into sections and KEY = VALUE pairs (inih glue),
 *		and the error list
 *   cfgkeys.c	the table of keys of each section type and their setters
 *   cfgcheck.c	what no single line can tell: defaults that depend on
 *		other keys, and the combinations that cannot work
 *
 * Calls go config.c -> cfgcheck.c -> cfgread.c -> cfgkeys.c, never back.
 */

#ifndef CFG_H
#define CFG_H

#include <stddef.h>

#include "daemon.h"

#define KEY_REQUIRED	0x01	/* an error if absent */
#define KEY_REPEAT	0x02	/* may be given more than once */
#define KEY_STDOUT_OK	0x04	/* output: "stdout" is allowed */

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

struct cfg_parse;
struct keydef;

/*
 * A setter: gets the key's table entry, the object of its section
 * (struct config, sock_conf or prog_conf) and the value with its
 * continuation lines joined; on error it writes the message that
 * follows "[section] key: " into err and returns -1.
 */
typedef int	(*setter_fn)(struct cfg_parse *, const struct keydef *,
		    void *, const char *, char *, size_t);

struct choice {
	const char	*c_name;
	int		 c_value;
};

struct keydef {
	const char		*k_name;
	setter_fn		 k_set;
	size_t			 k_off;		/* of the field it sets */
	size_t			 k_has;		/* of its "given" flag or 0 */
	long long		 k_min;
	long long		 k_max;
	const struct choice	*k_choices;	/* NULL-terminated */
	const char		*k_default;	/* as written in a file */
	unsigned		 k_flags;
};

enum sect_type {
	SECT_GLOBAL,
	SECT_SOCKET,
	SECT_PROGRAM,
	SECT_IGNORED		/* a bad header: its keys are skipped */
};

/* A file named by a value (env_file, include), and where. */
struct cfg_ref {
	char			*r_path;	/* absolute, to open */
	char			*r_name;	/* as named in messages */
	int			 r_relative;	/* as written: not absolute */
	int			 r_optional;	/* env_file = -PATH */
	int			 r_line;	/* of the key */
};

struct section {
	struct section		*s_next;
	enum sect_type		 s_type;
	char			*s_title;	/* "program:web" */
	const char		*s_file;	/* the file it is in */
	int			 s_forder;	/* that file's place */
	int			 s_line;
	const struct keydef	*s_keys;
	size_t			 s_nkeys;
	void			*s_obj;		/* what its keys set */
	int			 s_seen[CONF_MAXKEYS];	/* line, 0: absent */
	unsigned char		 s_bad[CONF_MAXKEYS];	/* had an error */
	int			*s_envlines;	/* [program:]: the line of */
	size_t			 s_nenvlines;	/* each env, in pc_env order */
	struct cfg_ref		*s_envfiles;	/* its env_file values */
	size_t			 s_nenvfiles;
};

/* What the reader handed inih, so the handler knows how to take it. */
enum line_kind {
	LINE_BLANK,		/* empty or a comment */
	LINE_HEADER,		/* [section] */
	LINE_KEY,		/* KEY = VALUE */
	LINE_CONT,		/* indented continuation of a value */
	LINE_SYNTAX,		/* none of these */
	LINE_LONG_KEY,		/* unreadable (too long, NUL, not UTF-8):
				   inih gets "KEY=" */
	LINE_LONG_CONT,		/* the same for a continuation: " x" */
	LINE_SKIP		/* reported already: inih gets "" */
};

/* A value waiting for its continuation lines. */
struct pending {
	struct section		*p_sect;
	int			 p_key;		/* index, -1: none */
	int			 p_line;
	int			 p_bad;		/* part of it was unreadable */
	char			*p_value;
};

struct cfg_error {
	int			 e_forder;	/* of its file: sorts by file */
	int			 e_line;	/* 0: the whole file */
	int			 e_seq;
	char			*e_text;
};

struct cfg_parse {
	struct config		*cp_cfg;
	/* The file being read. */
	const char		*cp_file;	/* as named in messages */
	int			 cp_forder;	/* its place: main file 0 */
	int			 cp_main;	/* it is the main file */
	const char		*cp_text;	/* its whole text */
	size_t			 cp_textlen;
	size_t			 cp_pos;	/* of the next line */
	char			*cp_raw;	/* that line, NUL-terminated */
	size_t			 cp_rawcap;
	int			 cp_lineno;
	int			 cp_prevkey;	/* inih's prev_name is set */
	enum line_kind		 cp_kind;
	struct section		*cp_cur;	/* NULL before any header */
	struct pending		 cp_pend;
	/* Every file. */
	struct section		*cp_sects;	/* newest first */
	struct section		 cp_ignored;
	struct cfg_ref		*cp_includes;	/* [clusterd] include */
	size_t			 cp_nincludes;
	int			 cp_nfiles;	/* file places handed out */
	struct cfg_error	*cp_errs;
	size_t			 cp_nerrs;
	size_t			 cp_errcap;
};

/* cfgread.c */
void		 cfgread_init(struct cfg_parse *, struct config *);
void		 cfgread_file(struct cfg_parse *, const char *, int,
		    const char *, size_t);
void		 cfgread_error(struct cfg_parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 cfgread_error_in(struct cfg_parse *, const char *, int, int,
		    const char *, ...)
		    __attribute__((format(printf, 5, 6)));
void		 cfgread_key_error(struct cfg_parse *, const struct section *,
		    int, int, const char *);
char		*cfgread_errors(struct cfg_parse *);
void		 cfgread_free(struct cfg_parse *);

/* cfgkeys.c */
const struct keydef *cfgkeys_table(enum sect_type, size_t *);
int		 cfgkeys_find(const struct keydef *, size_t, const char *);
int		 cfgkeys_env_name(const char *, size_t, char *, size_t);
const char	*cfgkeys_env_owner(const struct prog_conf *, const char *,
		    size_t);
char		*cfgkeys_path(const struct config *, const char *);
struct sock_conf *cfgkeys_socket(const struct config *, const char *);
void		 cfgkeys_ref_free(struct cfg_ref *, size_t);

/* cfgcheck.c */
void		 cfgcheck_defaults(struct cfg_parse *);
void		 cfgcheck_all(struct cfg_parse *);

#endif /* CFG_H */
