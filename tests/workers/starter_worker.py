# SPDX-License-Identifier: ISC
"""
starter_worker.py - a worker written for Server::Starter (start_server),
for the compat tests: it reads SERVER_STARTER_PORT the way the client
libraries do and serves every socket it names.

    Server::Starter::server_ports (Perl): split on ';', then each entry
    on its first '=' into KEY => FD.
    lestrrat-go/server-starter/listener (Go): the same split; KEY "PORT"
    is 0.0.0.0:PORT, anything else not HOST:PORT-like a unix path.

It prints one line, "starter_worker PID generation G ports KEY=FD,...",
writes the same as key=value lines into REPORT_DIR (if set), and answers
each connection with "starter worker PID key KEY".
"""

import os
import select
import signal
import socket
import sys


def server_ports():
    spec = os.environ.get("SERVER_STARTER_PORT")
    if spec is None:
        sys.stderr.write("starter_worker: no SERVER_STARTER_PORT\n")
        sys.exit(3)
    ports = {}
    for entry in spec.split(";") if spec else []:
        key, fd = entry.split("=", 1)
        ports[key] = int(fd)
    return ports


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ports = server_ports()
    gen = os.environ.get("SERVER_STARTER_GENERATION", "")
    listing = ",".join("%s=%d" % kv for kv in ports.items())
    print("starter_worker %d generation %s ports %s" % (os.getpid(), gen,
                                                        listing), flush=True)
    directory = os.environ.get("REPORT_DIR")
    if directory is not None:
        name = "%s.%s.%d" % (os.environ.get("CLUSTERD_PROGRAM", "starter"),
                             os.environ.get("CLUSTERD_WORKER", "0"),
                             os.getpid())
        tmp = os.path.join(directory, "." + name + ".tmp")
        with open(tmp, "w") as f:
            f.write("pid=%d\ngeneration=%s\nports=%s\n" % (os.getpid(), gen,
                                                            listing))
        os.rename(tmp, os.path.join(directory, name))
    socks = {socket.socket(fileno=fd): key for key, fd in ports.items()}
    while True:
        ready, _, _ = select.select(list(socks), [], [])
        for s in ready:
            try:
                conn, _ = s.accept()
            except BlockingIOError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(("starter worker %d key %s\n"
                              % (os.getpid(), socks[s])).encode())


main()
