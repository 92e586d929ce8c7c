#!/bin/sh
# SPDX-License-Identifier: ISC
#
# debcheck.sh VERSION DIR - check the package make deb left in DIR:
#   - its control fields, and every file it must hold (dpkg-deb -c), with
#     nothing under /usr/local, /etc/systemd or in /etc/clusterd/;
#   - no unit enabled or started on install: the postinst is run, as
#     dpkg would run it for a first install, against the unpacked
#     package (DPKG_ROOT), and must leave no symlink in
#     etc/systemd/system; no maintainer script starts or restarts one;
#   - the unpacked binaries: their version, and hardening-check;
#   - the packaged example configuration passes clusterd -t;
#   - clusterd.pc: a worker builds with the unpacked header through it;
#   - lintian: no error (its warnings are printed).
set -u

v=$1
dir=$2
arch=$(dpkg-architecture -qDEB_HOST_ARCH) || exit 1
deb=$dir/clusterd_${v}_$arch.deb
changes=$dir/clusterd_${v}_$arch.changes
fails=0

fail() {
	echo "debcheck: FAIL: $*" >&2
	fails=$((fails + 1))
}

if [ ! -f "$deb" ]; then
	echo "debcheck: $deb: no such package: run make deb first" >&2
	exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir "$root" "$tmp/ctl"

echo "== $deb: control fields"
for kv in "Package=clusterd" "Version=$v" "Architecture=$arch"; do
	k=${kv%%=*}
	got=$(dpkg-deb -f "$deb" "$k")
	[ "$got" = "${kv#*=}" ] || fail "$k is \"$got\", not \"${kv#*=}\""
done

echo "== $deb: contents"
dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' >"$tmp/list"
for f in /usr/sbin/clusterd /usr/bin/clusterctl \
    /usr/share/man/man1/clusterctl.1.gz \
    /usr/share/man/man5/clusterd.ini.5.gz \
    /usr/share/man/man7/clusterd-ipc.7.gz \
    /usr/share/man/man8/clusterd.8.gz \
    /lib/systemd/system/clusterd.service \
    /lib/systemd/system/clusterd@.service \
    /lib/systemd/system/clusterd.socket \
    /usr/include/clusterd.h /usr/share/pkgconfig/clusterd.pc \
    /usr/share/bash-completion/completions/clusterctl \
    /usr/share/doc/clusterd/copyright \
    /usr/share/doc/clusterd/changelog.gz \
    /usr/share/doc/clusterd/examples/conf/example.ini \
    /usr/share/doc/clusterd/examples/container/Dockerfile \
    /usr/share/doc/clusterd/examples/container/app.ini \
    /usr/share/doc/clusterd/examples/hello.c \
    /etc/clusterd/; do
	grep -qx "$f" "$tmp/list" || fail "the package lacks $f"
done
bad=$(grep -E '^/usr/local/|^/etc/systemd/|^/etc/clusterd/.|/build/|/\.git' \
    "$tmp/list")
[ -z "$bad" ] || fail "the package must not hold: $(echo "$bad" | tr '\n' ' ')"
echo "$(wc -l <"$tmp/list") entries"

echo "== $deb: maintainer scripts"
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$tmp/ctl"
for s in preinst postinst prerm postrm; do
	[ -f "$tmp/ctl/$s" ] || continue
	# deb-systemd-invoke may only stop; systemctl may not start.
	if grep -nE 'deb-systemd-invoke|systemctl .*(start|enable)' \
	    "$tmp/ctl/$s" | grep -vE 'deb-systemd-invoke +stop '; then
		fail "$s may start, restart or enable a unit (above)"
	fi
done
# A first install: postinst configure with no previous version.  The
# helpers write into DPKG_ROOT, here the unpacked package.
if [ -f "$tmp/ctl/postinst" ]; then
	if ! DPKG_ROOT=$root DPKG_MAINTSCRIPT_PACKAGE=clusterd \
	    DPKG_MAINTSCRIPT_NAME=postinst sh "$tmp/ctl/postinst" \
	    configure ""; then
		fail "postinst configure failed"
	fi
	wants=$(find "$root/etc/systemd" -type l 2>/dev/null)
	[ -z "$wants" ] || fail "the postinst enabled units: $wants"
fi

echo "== $deb: binaries"
got=$("$root/usr/sbin/clusterd" -V)
[ "$got" = "clusterd $v" ] || fail "clusterd -V says \"$got\""
got=$("$root/usr/bin/clusterctl" -V)
[ "$got" = "clusterctl $v" ] || fail "clusterctl -V says \"$got\""
zcat "$root/usr/share/man/man8/clusterd.8.gz" |
    grep -qx "\\.Os clusterd $v" || fail "clusterd.8 has no .Os clusterd $v"
# Control-flow protection (-fcf-protection) is not among Debian 12's
# build flags: not required.
hardening-check --nocfprotection "$root/usr/sbin/clusterd" \
    "$root/usr/bin/clusterctl" || fail "hardening-check"
# clusterd -t also checks that the worker's binary is there, which it is
# only inside the image: the copy checked here runs /bin/true instead.
sed 's|^command = .*|command = /bin/true|' \
    "$root/usr/share/doc/clusterd/examples/container/app.ini" \
    >"$root/app.ini"
"$root/usr/sbin/clusterd" -t -c "$root/app.ini" ||
    fail "the container's app.ini does not pass clusterd -t"

echo "== $deb: pkg-config"
pc() {
	PKG_CONFIG_PATH=$root/usr/share/pkgconfig PKG_CONFIG_LIBDIR="" \
	    PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 \
	    pkg-config "$@" clusterd
}
got=$(pc --modversion)
[ "$got" = "$v" ] || fail "pkg-config --modversion clusterd says \"$got\""
got=$(pc --variable=includedir)
[ "$got" = "$root/usr/include" ] || [ "$got" = /usr/include ] ||
    fail "pkg-config --variable=includedir clusterd says \"$got\""
# A worker that needs nothing but the header; run without clusterd, it
# finds no socket.
cat >"$tmp/worker.c" <<'WORKER'
#include <clusterd.h>

int
main(void)
{
	return clusterd_listen_fd("web") == -1 && clusterd_ready() == -1 ?
	    0 : 1;
}
WORKER
# shellcheck disable=SC2046
if (cd "$tmp" && ${CC:-cc} -std=c11 -Wall -Wextra -Werror \
    $(pc --cflags) -o worker worker.c); then
	"$tmp/worker" || fail "the pkg-config-built worker exits $?"
else
	fail "cc \$(pkg-config --cflags clusterd) worker.c"
fi

echo "== lintian"
target=$deb
[ -f "$changes" ] && target=$changes
lintian --fail-on error "$target" ||
    fail "lintian reports errors"

if [ $fails -gt 0 ]; then
	echo "debcheck: $fails failure(s)" >&2
	exit 1
fi
echo "debcheck: $deb: ok"
