#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""
loadgen.py - a load generator that knows when the daemon began to stop.

    loadgen.py PORT SECONDS THREADS MARKFILE

Each thread makes sequential HTTP/1.1 requests to 127.0.0.1:PORT, one
connection per request ("Connection: close"), for at most SECONDS.  The
caller writes the CLOCK_MONOTONIC time (seconds, float) at which it sent
SIGTERM into MARKFILE.  Every request is recorded with the time its
connect() completed and how it ended, and classified at the end:

  ok               a full response (status line, headers, Content-Length
                   bytes of body) arrived
  refused_after    connect() refused after SIGTERM: the port is closed,
                   which is what a stopped server does (not a failure)
  reset_after      connected after SIGTERM, then reset or closed without
                   a response: the connection landed in the accept queue
                   of a socket nobody accepts on any more (not a failure)
  failed           anything else: refused or timed out before SIGTERM,
                   or connected before SIGTERM and then reset, truncated
                   or not answered within 5 s

Prints one line of key=value counts; exit status 0.
"""

import socket
import sys
import threading
import time

REQ = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
IO_TIMEOUT = 5.0


def one_request(port):
    """(connected_at or None, outcome) with outcome ok/refused/error."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(IO_TIMEOUT)
    try:
        try:
            s.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return None, "refused"
        except OSError:
            return None, "error"
        connected = time.monotonic()
        try:
            s.sendall(REQ)
            buf = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
        except OSError:
            return connected, "error"
        head, sep, body = buf.partition(b"\r\n\r\n")
        if not sep or not head.startswith(b"HTTP/1.1 200 "):
            return connected, "error"
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length is None or len(body) != length:
            return connected, "error"
        return connected, "ok"
    finally:
        s.close()


def read_mark(path):
    try:
        with open(path) as f:
            return float(f.read().strip())
    except (OSError, ValueError):
        return None


def main():
    port, seconds, nthreads, markfile = (int(sys.argv[1]),
                                         float(sys.argv[2]),
                                         int(sys.argv[3]), sys.argv[4])
    end = time.monotonic() + seconds
    results = []
    lock = threading.Lock()

    def run():
        mine = []
        refused_streak = 0
        while time.monotonic() < end:
            started = time.monotonic()
            connected, outcome = one_request(port)
            mine.append((started, connected, outcome))
            # Once the port is closed for good there is nothing to measure.
            refused_streak = refused_streak + 1 if outcome == "refused" \
                else 0
            if refused_streak >= 50 and read_mark(markfile) is not None:
                break
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    mark = read_mark(markfile)
    count = {"ok": 0, "ok_after": 0, "refused_after": 0, "reset_after": 0,
             "failed": 0}
    for started, connected, outcome in results:
        if outcome == "ok":
            count["ok"] += 1
            if mark is not None and connected >= mark:
                count["ok_after"] += 1
        elif outcome == "refused" and mark is not None and started >= mark:
            count["refused_after"] += 1
        elif (outcome == "error" and connected is not None and
              mark is not None and connected >= mark):
            count["reset_after"] += 1
        else:
            count["failed"] += 1
    print("requests=%d %s" % (len(results),
                              " ".join("%s=%d" % kv for kv in count.items())))


if __name__ == "__main__":
    main()
