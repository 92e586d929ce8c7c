#!/bin/sh
# SPDX-License-Identifier: ISC
#
# installcheck.sh MAKE VERSION - make install into a scratch DESTDIR with
# PREFIX=/opt/clusterd (a prefix pkg-config never searches by itself),
# then check: every file in place and no other; the version in the
# binaries, the man pages and clusterd.pc; the units run the installed
# binary; a C worker builds with `cc $(pkg-config --cflags clusterd)'
# alone, from outside the tree; the completion parses; make uninstall
# leaves no file behind.
set -u

make=$1
v=$2
prefix=/opt/clusterd
fails=0

fail() {
	echo "installcheck: FAIL: $*" >&2
	fails=$((fails + 1))
}

d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
dest=$d/dest
top=$dest$prefix

$make --no-print-directory install DESTDIR="$dest" PREFIX=$prefix \
    >"$d/log" 2>&1 || { cat "$d/log"; exit 1; }

(cd "$dest" && find . -type f | sed 's|^\.||' | LC_ALL=C sort) >"$d/got"
LC_ALL=C sort >"$d/want" <<EOF
$prefix/bin/clusterctl
$prefix/include/clusterd.h
$prefix/lib/systemd/system/clusterd.service
$prefix/lib/systemd/system/clusterd.socket
$prefix/lib/systemd/system/clusterd@.service
$prefix/sbin/clusterd
$prefix/share/bash-completion/completions/clusterctl
$prefix/share/man/man1/clusterctl.1
$prefix/share/man/man5/clusterd.ini.5
$prefix/share/man/man7/clusterd-ipc.7
$prefix/share/man/man8/clusterd.8
$prefix/share/pkgconfig/clusterd.pc
EOF
diff -u "$d/want" "$d/got" || fail "installed files differ (- wanted, + got)"

got=$("$top/sbin/clusterd" -V)
[ "$got" = "clusterd $v" ] || fail "clusterd -V says \"$got\""
got=$("$top/bin/clusterctl" -V)
[ "$got" = "clusterctl $v" ] || fail "clusterctl -V says \"$got\""
for m in "$top"/share/man/man*/*; do
	grep -qx "\\.Os clusterd $v" "$m" || fail "$m: no .Os clusterd $v"
done
for u in clusterd.service clusterd@.service; do
	grep -q "^ExecStart=$prefix/sbin/clusterd " \
	    "$top/lib/systemd/system/$u" ||
	    fail "$u: ExecStart= is not $prefix/sbin/clusterd"
done
bash -n "$top/share/bash-completion/completions/clusterctl" ||
    fail "the bash completion does not parse"

pc() {
	PKG_CONFIG_PATH=$top/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest \
	    pkg-config "$@" clusterd
}
got=$(pc --modversion)
[ "$got" = "$v" ] || fail "pkg-config --modversion clusterd says \"$got\""
got=$(PKG_CONFIG_PATH=$top/share/pkgconfig pkg-config --variable=prefix \
    clusterd)
[ "$got" = "$prefix" ] || fail "clusterd.pc: prefix is \"$got\""
got=$(pc --cflags)
got=${got% }
[ "$got" = "-I$top/include" ] ||
    fail "pkg-config --cflags clusterd says \"$got\", not -I$top/include"
mkdir "$d/src"
cat >"$d/src/worker.c" <<'EOF'
#include <clusterd.h>

int
main(void)
{
	return clusterd_listen_fd("web") == -1 && clusterd_ready() == -1 ?
	    0 : 1;
}
EOF
# shellcheck disable=SC2046
if (cd "$d/src" && ${CC:-cc} -std=c11 -Wall -Wextra -Werror \
    $(pc --cflags) -o worker worker.c); then
	"$d/src/worker" || fail "the pkg-config-built worker exits $?"
else
	fail "cc \$(pkg-config --cflags clusterd) worker.c"
fi

$make --no-print-directory uninstall DESTDIR="$dest" PREFIX=$prefix \
    >"$d/log" 2>&1 || { cat "$d/log"; fail "make uninstall"; }
left=$(cd "$dest" && find . -type f)
[ -z "$left" ] || fail "make uninstall left: $left"

if [ $fails -gt 0 ]; then
	echo "installcheck: $fails failure(s)" >&2
	exit 1
fi
echo "installcheck: make install PREFIX=$prefix DESTDIR=...: ok"
