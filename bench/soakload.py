#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""
soakload.py - HTTP load for bench/soak.py that remembers every failure.

    soakload.py PORT SECONDS THREADS

Each thread keeps one keep-alive HTTP/1.1 connection to 127.0.0.1:PORT
and sends the next request as soon as the previous answer is in; when
the server says "Connection: close" (or the connection fails) it opens a
new one.  Times are CLOCK_MONOTONIC (time.monotonic), the clock bench/
soak.py stamps its kills with, so the two can be compared.

At the end it prints one JSON object on stdout:

  ok         requests answered in full (status 200 and Content-Length
             bytes of body)
  conns      connections opened
  failures   one entry per request that did not get a whole answer:
             kind     refused (connect() refused: the port was closed),
                      connect (another connect() error), reset (ECONNRESET
                      or EPIPE), eof (closed before a whole answer),
                      timeout (nothing for 5 s), status (not 200)
             conn     when its connection was established (null if it
                      never was)
             start    when the request was sent
             end      when the failure was seen
             served   answers already received on that connection
"""

import json
import socket
import sys
import threading
import time

REQ = b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n"
IO_TIMEOUT = 5.0


class Conn:
    """One keep-alive connection and what it has done."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             IO_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.at = time.monotonic()
        self.served = 0
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def request(self):
        """True to keep the connection, False if the server closes it."""
        self.sock.sendall(REQ)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        if not lines[0].startswith(b"HTTP/1.1 200"):
            raise ValueError(lines[0][:40].decode("latin-1"))
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and b"close" in value.lower():
                close = True
        while len(self.buf) < length:
            self._fill()
        self.buf = self.buf[length:]
        self.served += 1
        return not close


def worker(port, end, out, lock):
    ok, conns, failures = 0, 0, []
    conn = None
    while time.monotonic() < end:
        if conn is None:
            try:
                conn = Conn(port)
                conns += 1
            except ConnectionRefusedError:
                failures.append(failure("refused", None, time.monotonic()))
                time.sleep(0.01)
                continue
            except OSError:
                failures.append(failure("connect", None, time.monotonic()))
                time.sleep(0.01)
                continue
        start = time.monotonic()
        try:
            keep = conn.request()
            ok += 1
            if not keep:
                conn.close()
                conn = None
            continue
        except (ConnectionResetError, BrokenPipeError):
            kind = "reset"
        except EOFError:
            kind = "eof"
        except socket.timeout:
            kind = "timeout"
        except ValueError:
            kind = "status"
        except OSError:
            kind = "reset"
        failures.append(failure(kind, conn, start))
        conn.close()
        conn = None
    if conn is not None:
        conn.close()
    with lock:
        out["ok"] += ok
        out["conns"] += conns
        out["failures"].extend(failures)


def failure(kind, conn, start):
    return {"kind": kind, "conn": conn.at if conn else None,
            "start": start, "end": time.monotonic(),
            "served": conn.served if conn else 0}


def main():
    port, secs, nthreads = int(sys.argv[1]), float(sys.argv[2]), \
        int(sys.argv[3])
    out = {"ok": 0, "conns": 0, "failures": [],
           "began": time.monotonic()}
    lock = threading.Lock()
    end = time.monotonic() + secs
    threads = [threading.Thread(target=worker, args=(port, end, out, lock))
               for _ in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["ended"] = time.monotonic()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
