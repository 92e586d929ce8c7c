#!/bin/sh
# SPDX-License-Identifier: ISC
#
# summary.sh LOG - one closing line for every Check suite run into LOG:
# "check: N passed, N failed".
awk '
/^[0-9]+%: Checks: / {
	gsub(",", "")
	checks += $3; failed += $5 + $7
}
END {
	printf "check: %d passed, %d failed\n", checks - failed, failed
	exit failed > 0 || checks == 0
}' "${1:?usage: summary.sh LOG}"
