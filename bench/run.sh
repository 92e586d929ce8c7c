#!/bin/sh
# SPDX-License-Identifier: ISC
#
# bench/run.sh BUILD_DIR - the clusterd benchmark (make bench); see
# bench/README.md for what each figure means.
#
# Everything runs on 127.0.0.1, every load loop is bounded in time, and
# every process started here is stopped by its pid on the way out.
# Exit status: 1 if a request failed in the zero-downtime runs or during
# the graceful shutdown, 2 if the set-up itself failed, else 0.

set -u

B=${1:-build/plain}
case $B in /*) ;; *) B=$PWD/$B ;; esac
CLUSTERD=$B/clusterd
HELLO=$B/examples/hello
REPORTER=$B/tests/workers/reporter
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}

LOAD_SECS=${LOAD_SECS:-8}	# each zero-downtime run
HUP_EVERY=${HUP_EVERY:-1}	# seconds between SIGHUPs
TERM_SECS=${TERM_SECS:-6}	# the graceful-shutdown run, at most
IDLE_SECS=${IDLE_SECS:-5}
TPUT_SECS=${TPUT_SECS:-5}	# each throughput run
SPREAD_SECS=${SPREAD_SECS:-3}	# each spread run
UPG_COUNT=${UPG_COUNT:-5}	# upgrades under load
UPG_EVERY=${UPG_EVERY:-1.5}	# seconds between them
UPG_POLL_MS=${UPG_POLL_MS:-5}	# a status request this often
WRK_ARGS=${WRK_ARGS:--t2 -c32}

for tool in wrk "$PY" systemd-socket-activate; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench: $tool is needed (apt-get install wrk python3" \
		    "systemd)" >&2
		exit 2
	fi
done
for f in "$CLUSTERD" "$HELLO"; do
	[ -x "$f" ] || { echo "bench: $f not built (make all)" >&2; exit 2; }
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/clusterd-bench.XXXXXX")
PIDS=""		# everything we started and have not reaped

cleanup()
{
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "bench: logs kept in $DIR" >&2
	else
		rm -rf "$DIR"
	fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

die()
{
	echo "bench: $*" >&2
	[ -f "$DIR/log" ] && tail -n 20 "$DIR/log" >&2
	exit 2
}

track()		{ PIDS="$PIDS $1"; }
untrack()	{ PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' '); }

free_port()
{
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

mono()
{
	"$PY" -c 'import time; print("%.6f" % time.monotonic())'
}

# wait_log NEEDLE COUNT SECONDS: the daemon's log holds COUNT lines with it
wait_log()
{
	i=0
	while [ "$(grep -c -- "$1" "$DIR/log" 2>/dev/null || true)" -lt "$2" ]
	do
		i=$((i + 1))
		[ $i -gt $(($3 * 20)) ] && return 1
		sleep 0.05
	done
	return 0
}

# wait_port PORT SECONDS: something answers HTTP on it
wait_port()
{
	"$PY" - "$1" "$2" <<'EOF'
import socket, sys, time
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)
        s.sendall(b"GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
        if s.recv(64).startswith(b"HTTP/1.1 200"):
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit(1)
EOF
}

# wait_pid PID SECONDS: reaped within the time; its status in $STATUS
wait_pid()
{
	i=0
	while kill -0 "$1" 2>/dev/null; do
		# a zombie of ours still answers kill -0: wait reaps it
		if grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; then
			break
		fi
		i=$((i + 1))
		[ $i -gt $(($2 * 20)) ] && return 1
		sleep 0.05
	done
	wait "$1"
	STATUS=$?
	untrack "$1"
	return 0
}

stop_pid()
{
	kill -TERM "$1" 2>/dev/null
	wait_pid "$1" 15 || { kill -KILL "$1" 2>/dev/null; wait_pid "$1" 5; }
}

# start_clusterd PORT WORKERS: daemon pid in $DPID, once it is ready
start_clusterd()
{
	cat >"$DIR/clusterd.ini" <<EOF
[socket:web]
listen = 127.0.0.1:$1
backlog = 1024

[program:hello]
command = $HELLO
workers = $2
sockets = web
ready = auto
min_uptime = 300ms
stop_timeout = 10s
stdout = null
stderr = null
EOF
	: >"$DIR/log"
	"$CLUSTERD" -c "$DIR/clusterd.ini" 2>"$DIR/log" >/dev/null &
	DPID=$!
	track $DPID
	wait_log "started:" 1 15 || die "clusterd did not start"
	wait_port "$1" 10 || die "hello does not answer on port $1"
}

# run_wrk OUTFILE SECONDS PORT [wrk args]: wrk in the background, $WPID
run_wrk()
{
	out=$1 secs=$2 port=$3
	shift 3
	# shellcheck disable=SC2086
	timeout $((secs + 30)) wrk $WRK_ARGS -d"${secs}s" "$@" \
	    "http://127.0.0.1:$port/" >"$out" 2>&1 &
	WPID=$!
	track $WPID
}

# wrk_field OUTFILE NAME: requests, rps, connect, read, write, timeout, non2xx
wrk_field()
{
	awk -v want="$2" '
	/ requests in / { v["requests"] = $1 }
	/^Requests\/sec:/ { v["rps"] = $2 }
	/Socket errors:/ {
		gsub(",", ""); v["connect"] = $4; v["read"] = $6
		v["write"] = $8; v["timeout"] = $10
	}
	/Non-2xx or 3xx responses:/ { v["non2xx"] = $5 }
	END { print (want in v) ? v[want] : (want == "requests" || want == "rps" ? "?" : 0) }
	' "$1"
}

wrk_failed()
{
	n=0
	for k in connect read write timeout non2xx; do
		n=$((n + $(wrk_field "$1" $k)))
	done
	echo $n
}

FAILED=0
RESULTS="$DIR/results"
: >"$RESULTS"
row() { printf '%-50s %s\n' "$1" "$2" >>"$RESULTS"; }

# (a) zero downtime: SIGHUP every HUP_EVERY s under wrk load.
zero_downtime()
{
	label=$1
	shift
	port=$(free_port)
	start_clusterd "$port" 2
	run_wrk "$DIR/wrk.out" "$LOAD_SECS" "$port" "$@"
	sent=0
	while kill -0 $WPID 2>/dev/null && [ $sent -lt $((LOAD_SECS / HUP_EVERY - 1)) ]
	do
		sleep "$HUP_EVERY"
		kill -HUP $DPID && sent=$((sent + 1))
	done
	wait_pid $WPID $((LOAD_SECS + 40)) || die "wrk did not finish"
	done_n=$(grep -c "reload done" "$DIR/log")
	stop_pid $DPID
	req=$(wrk_field "$DIR/wrk.out" requests)
	[ "$req" = "?" ] && die "wrk: $(cat "$DIR/wrk.out")"
	bad=$(wrk_failed "$DIR/wrk.out")
	row "(a) $label: requests" "$req ($(wrk_field "$DIR/wrk.out" rps)/s)"
	row "(a) $label: SIGHUPs sent / reloads done" "$sent / $done_n"
	row "(a) $label: failed requests" "$bad (connect $(wrk_field "$DIR/wrk.out" connect), read $(wrk_field "$DIR/wrk.out" read), write $(wrk_field "$DIR/wrk.out" write), timeout $(wrk_field "$DIR/wrk.out" timeout), non-2xx $(wrk_field "$DIR/wrk.out" non2xx))"
	[ "$bad" -eq 0 ] || FAILED=1
}

# (a) graceful SIGTERM in the middle of the load.
graceful_term()
{
	port=$(free_port)
	start_clusterd "$port" 2
	rm -f "$DIR/mark"
	"$PY" "$HERE/loadgen.py" "$port" "$TERM_SECS" 16 "$DIR/mark" \
	    >"$DIR/load.out" 2>&1 &
	LPID=$!
	track $LPID
	sleep $((TERM_SECS / 3))
	t=$(mono)
	kill -TERM $DPID
	echo "$t" >"$DIR/mark"
	wait_pid $DPID 20 || die "clusterd did not stop after SIGTERM"
	code=$STATUS
	wait_pid $LPID $((TERM_SECS + 30)) || die "loadgen did not finish"
	line=$(cat "$DIR/load.out")
	get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	[ -n "$(get failed)" ] || die "loadgen: $line"
	row "(a) SIGTERM under load: requests" "$(get requests) ($(get ok) ok, $(get ok_after) of them connected after SIGTERM)"
	row "(a) SIGTERM: refused / reset after SIGTERM" "$(get refused_after) / $(get reset_after) (expected, not failures)"
	row "(a) SIGTERM: failed requests" "$(get failed)"
	row "(a) SIGTERM: clusterd exit status" "$code"
	[ "$(get failed)" -eq 0 ] && [ "$code" -eq 0 ] || FAILED=1
}

proc_cpu_ticks()
{
	# utime + stime: fields 14 and 15, counted after the ")" of comm
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

proc_ctxt()
{
	awk '/^voluntary_ctxt_switches:/ { v = $2 }
	    /^nonvoluntary_ctxt_switches:/ { n = $2 }
	    END { print v, n }' "/proc/$1/status"
}

# (b) idle cost of the master.
idle_cost()
{
	port=$(free_port)
	start_clusterd "$port" 2
	sleep 1		# past min_uptime: no timer is left to fire
	t0=$(proc_cpu_ticks $DPID)
	set -- $(proc_ctxt $DPID)
	v0=$1 n0=$2
	sleep "$IDLE_SECS"
	t1=$(proc_cpu_ticks $DPID)
	set -- $(proc_ctxt $DPID)
	v1=$1 n1=$2
	stop_pid $DPID
	hz=$(getconf CLK_TCK)
	row "(b) idle ${IDLE_SECS}s: master CPU time" "$(( (t1 - t0) * 1000 / hz )) ms"
	row "(b) idle ${IDLE_SECS}s: master wake-ups (vol/invol)" "$((v1 - v0)) / $((n1 - n0))"
}

# (c) request-path cost: the same hello, with and without clusterd.
direct_rps()
{
	port=$(free_port)
	if [ "$1" -eq 1 ]; then
		systemd-socket-activate -l "127.0.0.1:$port" --fdname=web \
		    "$HELLO" >/dev/null 2>&1 &
	else
		"$PY" "$HERE/activate.py" "$port" "$1" "$HELLO" \
		    >/dev/null 2>&1 &
	fi
	APID=$!
	track $APID
	wait_port "$port" 10 || die "hello (direct) does not answer"
	run_wrk "$DIR/wrk.out" "$TPUT_SECS" "$port"
	wait_pid $WPID $((TPUT_SECS + 40)) || die "wrk did not finish"
	stop_pid $APID
	RPS=$(wrk_field "$DIR/wrk.out" rps)
}

clusterd_rps()
{
	port=$(free_port)
	start_clusterd "$port" "$1"
	run_wrk "$DIR/wrk.out" "$TPUT_SECS" "$port"
	wait_pid $WPID $((TPUT_SECS + 40)) || die "wrk did not finish"
	stop_pid $DPID
	RPS=$(wrk_field "$DIR/wrk.out" rps)
}

request_path()
{
	for w in 1 2; do
		direct_rps $w
		d=$RPS
		clusterd_rps $w
		c=$RPS
		r=$(awk -v c="$c" -v d="$d" 'BEGIN { if (d > 0) printf "%.3f", c / d; else print "?" }')
		row "(c) workers=$w: req/s direct / clusterd" "$d / $c  ratio $r"
	done
}

# (d) how evenly connections spread over 4 workers: one shared socket
# vs reuseport (a socket per slot), with the reporter test worker.
spread_run()
{
	port=$(free_port)
	cat >"$DIR/spread.ini" <<EOF
[socket:web]
listen = 127.0.0.1:$port
reuseport = $1

[program:reporter]
command = $REPORTER
workers = 4
sockets = web
min_uptime = 100ms
stdout = null
stderr = null
env = REPORT_DIR=$DIR
EOF
	: >"$DIR/log"
	"$CLUSTERD" -c "$DIR/spread.ini" 2>"$DIR/log" >/dev/null &
	DPID=$!
	track $DPID
	wait_log "started:" 1 15 || die "clusterd (spread) did not start"
	SPREAD=$("$PY" "$HERE/spread.py" "$port" "$SPREAD_SECS" 8)
	stop_pid $DPID
}

spread()
{
	if [ ! -x "$REPORTER" ]; then
		row "(d) spread" "skipped: $REPORTER not built"
		return
	fi
	spread_run no
	row "(d) 4 workers, shared socket" "$SPREAD"
	spread_run yes
	row "(d) 4 workers, reuseport = yes" "$SPREAD"
}

# (f) upgrades of clusterd itself under wrk load: a new release renamed
# over the binary clusterd runs from, then SIGUSR2, UPG_COUNT times;
# bench/upgrade.py does that and polls {"cmd":"status"} meanwhile.  Then
# the same without load.
upgrades()
{
	"$PY" "$HERE/upgrade.py" "$DIR/ctl.sock" "$DPID" "$DIR/log" \
	    "$DIR/bin/clusterd" "$CLUSTERD" "$UPG_COUNT" "$UPG_EVERY" \
	    "$UPG_POLL_MS"
}

upgrade_under_load()
{
	port=$(free_port)
	mkdir -p "$DIR/bin"
	cp "$CLUSTERD" "$DIR/bin/clusterd"
	cat >"$DIR/upgrade.ini" <<EOF
[clusterd]
control = $DIR/ctl.sock

[socket:web]
listen = 127.0.0.1:$port
backlog = 1024

[program:hello]
command = $HELLO
workers = 2
sockets = web
ready = auto
min_uptime = 300ms
stdout = null
stderr = null
EOF
	: >"$DIR/log"
	"$DIR/bin/clusterd" -c "$DIR/upgrade.ini" 2>"$DIR/log" >/dev/null &
	DPID=$!
	track $DPID
	wait_log "started:" 1 15 || die "clusterd (upgrade) did not start"
	wait_port "$port" 10 || die "hello does not answer on port $port"
	secs=$(awk -v n="$UPG_COUNT" -v e="$UPG_EVERY" \
	    'BEGIN { printf "%d", n * e + 4 }')
	run_wrk "$DIR/wrk.out" "$secs" "$port"
	up=$(upgrades) || die "upgrade.py: $up"
	wait_pid $WPID $((secs + 40)) || die "wrk did not finish"
	done_n=$(grep -c "upgraded: " "$DIR/log")
	idle=$(upgrades) || die "upgrade.py: $idle"
	failed_n=$(grep -c "upgrade failed" "$DIR/log")
	stop_pid $DPID
	req=$(wrk_field "$DIR/wrk.out" requests)
	[ "$req" = "?" ] && die "wrk: $(cat "$DIR/wrk.out")"
	bad=$(wrk_failed "$DIR/wrk.out")
	get() { echo "$up" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	iget() { echo "$idle" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	row "(f) upgrade under load: requests" "$req ($(wrk_field "$DIR/wrk.out" rps)/s)"
	row "(f) SIGUSR2 sent / upgrades done / failed" "$UPG_COUNT / $done_n / $failed_n"
	row "(f) upgrade: failed requests" "$bad (connect $(wrk_field "$DIR/wrk.out" connect), read $(wrk_field "$DIR/wrk.out" read), write $(wrk_field "$DIR/wrk.out" write), timeout $(wrk_field "$DIR/wrk.out" timeout), non-2xx $(wrk_field "$DIR/wrk.out" non2xx))"
	row "(f) control socket silent during an upgrade" "median $(get median_ms) ms, min-max $(get min_ms)-$(get max_ms) ms (each: $(get gaps_ms); status every ${UPG_POLL_MS} ms; $(get baseline_ms) ms without an upgrade)"
	row "(f) status requests cut by an upgrade" "$(get cut) of $(($(get answers) + $(get cut)))"
	row "(f) no image running (log: executing to upgraded)" "median $(get window_median_ms) ms, min-max $(get window_min_ms)-$(get window_max_ms) ms"
	row "(f) the same, without load: silent" "median $(iget median_ms) ms, min-max $(iget min_ms)-$(iget max_ms) ms (each: $(iget gaps_ms); $(iget baseline_ms) ms without an upgrade)"
	row "(f) without load: status requests cut" "$(iget cut) of $(($(iget answers) + $(iget cut)))"
	row "(f) without load: no image running" "median $(iget window_median_ms) ms, min-max $(iget window_min_ms)-$(iget window_max_ms) ms"
	[ "$bad" -eq 0 ] && [ "$done_n" -eq "$UPG_COUNT" ] || FAILED=1
}

# (e) Node.js: the same plain app under clusterd node-cluster, Node's
# own cluster primary and PM2 cluster mode (bench/nodebench.py).
node_section()
{
	if ! command -v node >/dev/null 2>&1; then
		row "(e) Node.js" "skipped: node is not installed"
		return
	fi
	LOAD_SECS=$LOAD_SECS HUP_EVERY=$HUP_EVERY TPUT_SECS=$TPUT_SECS \
	    SPREAD_SECS=$SPREAD_SECS WRK_ARGS=$WRK_ARGS \
	    "$PY" "$HERE/nodebench.py" "$B" "$RESULTS"
	case $? in
	0)	;;
	1)	FAILED=1 ;;
	*)	die "the Node section could not run" ;;
	esac
}

echo "clusterd benchmark: $CLUSTERD, $(nproc) CPUs, wrk $WRK_ARGS"
zero_downtime "keep-alive, SIGHUP every ${HUP_EVERY}s"
zero_downtime "Connection: close, SIGHUP every ${HUP_EVERY}s" \
    -H "Connection: close"
graceful_term
idle_cost
request_path
spread
node_section
upgrade_under_load
echo
cat "$RESULTS"
echo
if [ $FAILED -ne 0 ]; then
	echo "FAIL: requests failed (see bench/README.md)"
	exit 1
fi
echo "ok: no failed request"
exit 0
