#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""spread.py PORT SECONDS CONNS [PATTERN]: how evenly connections reach
the workers.

CONNS client threads open a new connection per request for SECONDS and
count which worker answered: the first group of the regular expression
PATTERN in the reply (default "worker=(\d+)": the reporter test worker
replies "hello pid=P worker=K"; "pid (\d+)" for the Node apps).
Prints: requests, per-worker counts, and the
coefficient of variation (stddev / mean; 0 is perfectly even).
"""
import collections
import re
import socket
import statistics
import sys
import threading
import time

port, secs, conns = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
pattern = re.compile((sys.argv[4] if len(sys.argv) > 4 else
                      r"worker=(\d+)").encode())
counts = collections.Counter()
errors = 0
lock = threading.Lock()
end = time.monotonic() + secs


def client():
    global errors
    local = collections.Counter()
    bad = 0
    while time.monotonic() < end:
        try:
            s = socket.create_connection(("127.0.0.1", port), 2)
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            m = pattern.search(data)
            if m:
                local[int(m.group(1))] += 1
            else:
                bad += 1
        except OSError:
            bad += 1
    with lock:
        counts.update(local)
        errors += bad


threads = [threading.Thread(target=client) for _ in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
values = [counts[k] for k in sorted(counts)]
total = sum(values)
cv = statistics.pstdev(values) / statistics.mean(values) if values else 0
print("requests=%d errors=%d per_worker=%s cv=%.3f" % (
    total, errors, "/".join(str(v) for v in values), cv))
