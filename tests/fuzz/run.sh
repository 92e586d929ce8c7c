#!/bin/sh
# SPDX-License-Identifier: ISC
#
# tests/fuzz/run.sh BUILD_DIR SECONDS TARGET... - run each libFuzzer target
# (BUILD_DIR/fuzz_TARGET) for SECONDS, one after the other (make fuzz).
#
# Seeds come from tests/fuzz/corpus/TARGET (read only); what the fuzzer
# learns goes to BUILD_DIR/corpus/TARGET and is reused by the next run;
# a crashing input is saved as BUILD_DIR/artifacts/TARGET-crash-*.  Each
# target prints one line: executions, coverage (edges "cov", features
# "ft"), corpus size, and "ok" or the finding.  Exit 1 if any target found
# anything (a crash, a leak, a timeout, an out-of-memory), else 0.
# With FUZZ_RESULTS=FILE (make fuzz FUZZ_RESULTS=bench/RESULTS.md) those
# lines are also appended to FILE, with the date, commit and command.

set -u

B=$1
SECS=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
failed=""

mkdir -p "$B/artifacts"
summary=$B/summary.txt
: >"$summary"
targets="$*"
for t in "$@"; do
	bin=$B/fuzz_$t
	seeds=$HERE/corpus/$t
	work=$B/corpus/$t
	log=$B/$t.log
	mkdir -p "$work"
	set -- -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-"
	[ -f "$HERE/$t.dict" ] && set -- "$@" -dict="$HERE/$t.dict"
	[ -d "$seeds" ] || seeds=""
	# shellcheck disable=SC2086
	"$bin" "$@" "$work" $seeds >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	if [ $rc -eq 0 ]; then
		echo "fuzz $t: ${execs:-?} execs in ${SECS}s, cov ${cov:-?}" \
		    "ft ${ft:-?}, corpus ${corp:-?}: ok" | tee -a "$summary"
	else
		echo "fuzz $t: FINDING (exit $rc) after ${execs:-?} execs;" \
		    "log $log:" | tee -a "$summary"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz property broken|.*runtime error)' \
		    "$log" | head -n 5
		grep -E '^(artifact_prefix|Test unit written)' "$log"
		failed="$failed $t"
	fi
done
if [ -n "${FUZZ_RESULTS:-}" ]; then
	top=$(cd "$HERE/../.." && pwd)
	commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo "?")
	if [ -n "$(git -C "$top" status --porcelain -uno 2>/dev/null |
	    grep -v 'bench/RESULTS.md')" ]; then
		commit="$commit with local changes"
	fi
	{
		printf '\n## fuzz %s, commit %s\n\n' \
		    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$commit"
		printf -- '- command: `make fuzz FUZZ_SECONDS=%s' "$SECS"
		printf ' FUZZ_TARGETS="%s"`\n' "$targets"
		printf -- '- machine: %s CPUs, Linux %s\n\n' "$(nproc)" \
		    "$(uname -r)"
		sed 's/^/    /' "$summary"
	} >>"$FUZZ_RESULTS"
fi
if [ -n "$failed" ]; then
	echo "fuzz: findings in:$failed" >&2
	exit 1
fi
exit 0
