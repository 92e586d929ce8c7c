#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Install what clusterd needs to build (deps.sh build) or to run its tests
# (deps.sh test), with Debian's packages.  Only missing packages are
# installed; on a system without apt-get we say what is needed and stop.
set -u

want=build
[ $# -gt 0 ] && want=$1

have_header() {
	printf '#include <%s>\nint main(void){return 0;}\n' "$1" |
	    ${CC:-cc} -x c -o /dev/null - >/dev/null 2>&1
}

missing=""
need() { missing="$missing $1"; }

command -v ${CC:-cc} >/dev/null 2>&1 || need gcc
command -v make >/dev/null 2>&1 || need make
command -v pkg-config >/dev/null 2>&1 || need pkg-config
have_header ev.h || need libev-dev
have_header ini.h || need libinih-dev
if [ "$want" = test ]; then
	have_header check.h || need check
	command -v node >/dev/null 2>&1 || need nodejs
	command -v python3 >/dev/null 2>&1 || need python3
	command -v openssl >/dev/null 2>&1 || need openssl
	command -v gunicorn >/dev/null 2>&1 || need gunicorn
	command -v systemd-analyze >/dev/null 2>&1 || need systemd
	command -v setpriv >/dev/null 2>&1 || need util-linux
fi
[ -z "$missing" ] && exit 0

echo "clusterd needs:$missing"
if ! command -v apt-get >/dev/null 2>&1; then
	echo "This is not a Debian or Ubuntu system: install the packages" \
	    "above with your package manager (libev, inih, Check)." >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "Not root and no sudo: run as root:" \
		    "apt-get install$missing" >&2
		exit 1
	fi
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q || exit 1
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing || exit 1
