#!/bin/sh
# SPDX-License-Identifier: ISC
#
# runtests.sh LOG TEST... - run each Check test binary, show its output,
# append it to LOG, and go on after a failure; exit 1 if any failed.
set -u
log=$1
shift
rc=0
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
for t; do
	echo "== $t"
	"$t" >"$tmp" 2>&1 || rc=1
	cat "$tmp"
	cat "$tmp" >>"$log"
done
exit $rc
