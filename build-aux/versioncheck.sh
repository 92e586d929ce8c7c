#!/bin/sh
# SPDX-License-Identifier: ISC
#
# versioncheck.sh - VERSION, the one place the version is written, agrees
# with the two that repeat it by hand: the newest debian/changelog entry
# and a "## VERSION" heading in NEWS.md.  Run by make dist and make deb.
set -u

v=$(cat VERSION) || exit 1
rc=0
deb=$(sed -n '1s/^clusterd (\([^)]*\)).*/\1/p' debian/changelog)
if [ "${deb%-*}" != "$v" ]; then
	echo "versioncheck.sh: debian/changelog: the newest entry is" \
	    "\"${deb:-unreadable}\", VERSION says $v:" \
	    "add an entry (dch -v $v)" >&2
	rc=1
fi
if ! grep -q "^## $v\( \|\$\)" NEWS.md; then
	echo "versioncheck.sh: NEWS.md: no \"## $v\" heading" >&2
	rc=1
fi
[ $rc -eq 0 ] && echo "versioncheck.sh: VERSION, debian/changelog and" \
    "NEWS.md all say $v"
exit $rc
