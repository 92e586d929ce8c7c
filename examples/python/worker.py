#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""worker.py - a Python HTTP worker for clusterd(8) (conf/python.ini).

It binds nothing: it serves the listening socket clusterd passed at
CLUSTERD_FD_WEB, tells clusterd it is up with a "ready" message on the IPC
channel (CLUSTERD_IPC_FD, with `ready = message`), and sends a heartbeat
every second for `watchdog`.  Every message is one line of JSON.

SIGTERM: stop accepting, finish the requests in flight, exit 0.
"""

import http.server
import json
import os
import signal
import socket
import threading

HEARTBEAT_S = 1.0

ipc_fd = int(os.environ.get("CLUSTERD_IPC_FD", "-1"))
ipc_lock = threading.Lock()


def send(msg):
    """One message, one line, one write (a worker owns its channel)."""
    if ipc_fd < 0:
        return
    line = (json.dumps(msg) + "\n").encode()
    with ipc_lock:
        try:
            os.write(ipc_fd, line)
        except OSError:
            pass        # the master closed the channel: keep serving


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = ("hello from worker %s (pid %d)\n" %
                (os.environ.get("CLUSTERD_WORKER", "?"), os.getpid())).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class InheritedServer(http.server.ThreadingHTTPServer):
    """An HTTP server on a socket that is already bound and listening."""

    daemon_threads = False      # server_close() waits for the requests

    def __init__(self, fd, handler):
        sock = socket.socket(fileno=fd)
        # Every worker is woken by a new connection and only one gets it:
        # the others must get EAGAIN from accept(), not block in it (and
        # miss a shutdown).  O_NONBLOCK is shared by every process that
        # has the socket, as it would be under Node.js or nginx.
        sock.setblocking(False)
        self.address_family = sock.family
        super().__init__(sock.getsockname(), handler,
                         bind_and_activate=False)
        self.socket.close()
        self.socket = sock


def heartbeats(stop):
    while not stop.wait(HEARTBEAT_S):
        send({"cmd": "heartbeat"})


def main():
    server = InheritedServer(int(os.environ["CLUSTERD_FD_WEB"]), Handler)
    stop = threading.Event()

    def on_term(signum, frame):
        stop.set()
        # shutdown() waits for serve_forever(): not from its own thread
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, on_term)
    threading.Thread(target=heartbeats, args=(stop,), daemon=True).start()
    send({"cmd": "ready"})
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
