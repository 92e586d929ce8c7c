#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""
activate.py - socket activation without clusterd, for comparison.

    activate.py PORT WORKERS PROGRAM

Binds 127.0.0.1:PORT (SO_REUSEADDR, backlog 511, as clusterd does), then
starts WORKERS copies of PROGRAM with the socket at fd 3 and
LISTEN_FDS=1, LISTEN_PID=<its pid>, LISTEN_FDNAMES=web: what
systemd-socket-activate does for one process, for several.  SIGTERM
stops them all.  Nothing supervises them: this is the request path with
no master at all.
"""

import os
import signal
import socket
import sys


def main():
    port, workers, program = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(511)
    pids = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            if s.fileno() != 3:
                os.dup2(s.fileno(), 3)
            os.set_inheritable(3, True)
            env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES="web",
                       LISTEN_PID=str(os.getpid()))
            env.pop("CLUSTERD_FD_WEB", None)
            os.execve(program, [program], env)
        pids.append(pid)

    def stop(signum, frame):
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in pids:
        while True:
            try:
                os.waitpid(p, 0)
                break
            except InterruptedError:
                continue


if __name__ == "__main__":
    main()
