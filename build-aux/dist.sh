#!/bin/sh
# SPDX-License-Identifier: ISC
#
# dist.sh VERSION OUTDIR - OUTDIR/clusterd-VERSION.tar.gz: every file git
# tracks, as it is in the work tree, under clusterd-VERSION/, except
# .ci/ (it drives this repository: git clones, apt-get) and .gitignore.
# That is what building, testing (make check, make bench) and packaging
# (debian/, make deb) need; make distcheck proves it by running make check
# in the unpacked tarball.  The same tree gives the same bytes: names
# sorted, owner root, times those of the last commit, gzip -n.
set -eu

v=$1
out=$2
name=clusterd-$v

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "dist.sh: make dist needs a git checkout: the tarball is the" \
	    "files git tracks" >&2
	exit 1
fi
cd "$(git rev-parse --show-toplevel)"

list=$(mktemp)
trap 'rm -f "$list" "$out/$name.tar.gz.tmp"' EXIT
git ls-files -z -- . ':!:.ci' ':!:.gitignore' >"$list"
n=$(tr -cd '\0' <"$list" | wc -c)
mtime=$(git log -1 --format=%ct)

mkdir -p "$out"
tar --create --null --files-from="$list" --transform="s|^|$name/|" \
    --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
    --mode='u+rw,go+r,go-w' | gzip -9n >"$out/$name.tar.gz.tmp"
mv "$out/$name.tar.gz.tmp" "$out/$name.tar.gz"
if ! git diff --quiet HEAD --; then
	echo "dist.sh: note: the work tree differs from HEAD, and the" \
	    "tarball holds it as it is" >&2
fi
echo "dist.sh: $out/$name.tar.gz: $n files"
