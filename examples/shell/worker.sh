#!/bin/sh
# SPDX-License-Identifier: ISC
#
# worker.sh - a shell worker for clusterd(8) (conf/shell.ini).
#
# It serves nothing; it shows the IPC channel at its simplest: one bare
# word per line on the descriptor in CLUSTERD_IPC_FD.  "ready" tells
# clusterd it is up (ready = message); a "heartbeat" every second keeps
# the watchdog from killing it.  SIGTERM (clusterd's stop_signal) ends it.

fd=${CLUSTERD_IPC_FD:?not run by clusterd with an IPC channel}

trap 'exit 0' TERM

echo "worker $CLUSTERD_WORKER (pid $$) starting"
echo ready >&"$fd"
while :; do
	echo heartbeat >&"$fd"
	sleep 1		# clusterd signals the process group: sleep too
done
