#!/bin/sh
# SPDX-License-Identifier: ISC
#
# spdx.sh check [PATH...] - list every file git tracks (under PATH) that
#     has no SPDX-License-Identifier line in its first 10 lines; exit 1 if
#     there is one.
# spdx.sh add [PATH...] - give each of those files the line, in its own
#     comment syntax.  A file that has it is left alone, so running it
#     again changes nothing.
#
# Where the line goes:
#   C (.c, .h)       the first line of the header comment that opens the
#                    file (" * SPDX-...", then " *"), else a comment of its
#                    own on line 1; JavaScript the same, after 'use strict'
#   man pages        .\" on line 1
#   .ini             ; on line 1
#   Markdown         an HTML comment on line 1
#   a #! script      # right after the #! line
#   anything else    # on line 1 (Makefile, units, debian/, ...)
#
# Exempt, since they cannot carry a comment or are the licence itself:
# LICENSE, VERSION (read whole by the Makefile), debian/changelog,
# debian/copyright (its License: field says ISC) and debian/source/format.
set -u

TAG="SPDX-License-Identifier: ISC"

usage() {
	echo "usage: spdx.sh check|add [PATH...]" >&2
	exit 2
}

exempt() {
	case $1 in
	LICENSE | VERSION | debian/changelog | debian/copyright | \
	    debian/source/format)
		return 0 ;;
	tests/fuzz/corpus/*)
		return 0 ;;	# fuzzer inputs, byte for byte: not source
	esac
	return 1
}

has_tag() {
	head -n 10 "$1" | grep -q 'SPDX-License-Identifier:'
}

# The kind of comment the file takes.
kind() {
	case $1 in
	*.c | *.h)	echo c; return ;;
	*.js)		echo js; return ;;
	*.[1-9])	echo man; return ;;
	*.ini)		echo ini; return ;;
	*.md)		echo md; return ;;
	esac
	if head -c 2 "$1" | grep -q '^#!'; then
		echo shebang
	else
		echo hash
	fi
}

# tagged KIND FILE: the file with the line added, on stdout.
tagged() {
	awk -v kind="$1" -v tag="$TAG" -v q="'" '
	# JavaScript: the header comment may follow the directive.
	NR == 1 && kind == "js" && ($0 == q "use strict" q ";" ||
	    $0 == "\"use strict\";") {
		print; skip = 1; next
	}
	# After a #! line: one more comment line for the header, if any.
	NR == 2 && kind == "shebang" {
		print "# " tag
		if (/^#/ && $0 != "#") print "#"
		print; next
	}
	(NR == 1 || (NR == 2 && skip)) && kind != "shebang" {
		if (kind == "c" || kind == "js") {
			if ($0 == "/*") {
				print; print " * " tag; print " *"; next
			}
			print "/* " tag " */"
		} else if (kind == "man") {
			print ".\\\" " tag
		} else if (kind == "ini") {
			print "; " tag
			if (/^;/ && $0 != ";") print ";"
		} else if (kind == "md") {
			print "<!-- " tag " -->"
		} else {
			print "# " tag
			if (/^#/ && $0 != "#") print "#"
		}
	}
	{ print }
	END {
		if (NR == 0)
			print (kind == "c" || kind == "js") ? \
			    "/* " tag " */" : "# " tag
		else if (NR == 1 && (kind == "shebang" || skip))
			print (kind == "js") ? "/* " tag " */" : "# " tag
	}' "$2"
}

add() {
	f=$1
	tmp=$(mktemp) || exit 1
	if ! tagged "$(kind "$f")" "$f" >"$tmp"; then
		rm -f "$tmp"
		echo "spdx.sh: $f: cannot rewrite" >&2
		return 1
	fi
	# cat keeps the file's mode and its inode.
	cat "$tmp" >"$f" || { rm -f "$tmp"; return 1; }
	rm -f "$tmp"
	echo "spdx.sh: added: $f"
}

[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in
check | add) ;;
*) usage ;;
esac

if ! git rev-parse --show-toplevel >/dev/null 2>&1; then
	echo "spdx.sh: not a git checkout: it works on the files git tracks" >&2
	exit 2
fi
cd "$(git rev-parse --show-toplevel)" || exit 2

list=$(mktemp) || exit 2
trap 'rm -f "$list"' EXIT
git ls-files -- "$@" >"$list" || exit 2

missing=0
rc=0
while IFS= read -r f; do
	[ -f "$f" ] || continue
	exempt "$f" && continue
	has_tag "$f" && continue
	missing=$((missing + 1))
	if [ "$mode" = check ]; then
		echo "$f: no SPDX-License-Identifier line"
	else
		add "$f" || rc=1
	fi
done <"$list"

if [ "$mode" = check ]; then
	if [ "$missing" -gt 0 ]; then
		echo "spdx.sh: $missing file(s) without the line:" \
		    "build-aux/spdx.sh add fixes them" >&2
		exit 1
	fi
	echo "spdx.sh: every tracked file has its SPDX-License-Identifier line"
fi
exit $rc
