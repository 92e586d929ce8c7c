#!/bin/sh
# SPDX-License-Identifier: ISC
#
# deb.sh VERSION OUTDIR - build the Debian package from this tree with
# dpkg-buildpackage -us -uc -b and move what it writes into the parent
# directory (the .deb, its -dbgsym, .buildinfo and .changes) to OUTDIR.
set -eu

v=$1
out=$2

for tool in dpkg-buildpackage dh; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "deb.sh: make deb needs dpkg-dev and debhelper:" \
		    "apt-get install dpkg-dev debhelper" >&2
		exit 1
	fi
done
if ! dpkg-checkbuilddeps; then
	echo "deb.sh: install the build dependencies above first" \
	    "(apt-get build-dep ./ does, from the top of the tree)" >&2
	exit 1
fi

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
files="clusterd_${v}_$arch.deb clusterd-dbgsym_${v}_$arch.deb
    clusterd_${v}_$arch.buildinfo clusterd_${v}_$arch.changes"
mkdir -p "$out"
for f in $files; do
	rm -f "$out/$f"
done

# --post-clean leaves the tree as it was, less build/debian.
dpkg-buildpackage -us -uc -b --post-clean

for f in $files; do
	if [ -e "../$f" ]; then
		mv "../$f" "$out/$f"
		echo "deb.sh: $out/$f"
	fi
done
[ -e "$out/clusterd_${v}_$arch.deb" ] || {
	echo "deb.sh: dpkg-buildpackage wrote no ../clusterd_${v}_$arch.deb" >&2
	exit 1
}
