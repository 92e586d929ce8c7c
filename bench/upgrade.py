#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""
upgrade.py - upgrades clusterd in place again and again, and measures how
long its control socket went unanswered each time.

    upgrade.py CONTROL PID LOG BINARY NEW COUNT EVERY POLL_MS

Before each upgrade a new release is installed as a package manager does
it: NEW copied next to BINARY (the file clusterd PID was started from),
then renamed over it.  Then SIGUSR2, and a wait (20 s at most) for one
"upgraded: " line more in LOG.  Upgrades are EVERY seconds apart.

Meanwhile a poller sends {"cmd":"status"} on the control socket every
POLL_MS ms, one connection per request, and notes when each answer
arrived.  An upgrade's *gap* is the longest time between two answers
from 100 ms before its SIGUSR2 to 200 ms before the next one (EVERY is
at least 1 s): how long the master did not answer.  The *baseline* is
the same measure without an upgrade: the median of three windows as
long, before the first one.  A request whose connection was closed
without an answer is *cut* (an upgrade closes every control connection
but its own client's); it is retried at once.

The *window* of an upgrade is read from LOG: from "upgrade: executing"
(the old image's last line) to "upgraded: " (the new image runs its
loop), in ms, at the log's millisecond resolution.

Prints one line of key=value; exit status 0, or 2 if an upgrade did not
finish.
"""

import os
import shutil
import signal
import socket
import statistics
import sys
import threading
import time

REQ = b'{"cmd":"status"}\n'


class Poller(threading.Thread):
    def __init__(self, path, poll_ms):
        super().__init__(daemon=True)
        self.path = path
        self.poll = poll_ms / 1000.0
        self.answers = []          # CLOCK_MONOTONIC of each answer
        self.cut = 0
        self.stop = threading.Event()

    def ask(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(self.path)
            s.sendall(REQ)
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            return buf.startswith(b'{"ok":true')
        except OSError:
            return False
        finally:
            s.close()

    def run(self):
        while not self.stop.is_set():
            if self.ask():
                self.answers.append(time.monotonic())
                time.sleep(self.poll)
            else:
                self.cut += 1

    def longest_gap(self, start, end):
        times = [t for t in self.answers if start <= t <= end]
        before = [t for t in self.answers if t < start]
        if before:
            times.insert(0, before[-1])
        after = [t for t in self.answers if t > end]
        if after:
            times.append(after[0])
        if len(times) < 2:
            return end - start
        return max(b - a for a, b in zip(times, times[1:]))


def count(log, needle):
    try:
        with open(log, errors="replace") as f:
            return f.read().count(needle)
    except OSError:
        return 0


def windows(log, skip):
    """ms from each "upgrade: executing" line to the next "upgraded: "."""
    out, start = [], None
    with open(log, errors="replace") as f:
        for line in f:
            if len(line) < 23 or line[4] != "-":
                continue
            h, m, s = line[11:23].split(":")
            t = (int(h) * 60 + int(m)) * 60 + float(s)
            if "upgrade: executing" in line:
                start = t
            elif "upgraded: " in line and start is not None:
                out.append((t - start) * 1000)
                start = None
    return out[skip:]


def install(new, binary):
    tmp = binary + ".new"
    shutil.copyfile(new, tmp)
    os.chmod(tmp, 0o755)
    os.rename(tmp, binary)


def main():
    ctl, pid, log, binary, new = sys.argv[1:6]
    n, every, poll_ms = int(sys.argv[6]), float(sys.argv[7]), \
        float(sys.argv[8])
    pid = int(pid)
    every = max(every, 1.0)
    poller = Poller(ctl, poll_ms)
    poller.start()
    window = every - 0.1
    time.sleep(0.2)
    quiet = time.monotonic()
    time.sleep(3 * window)
    baseline = statistics.median(
        poller.longest_gap(quiet + k * window, quiet + (k + 1) * window)
        for k in range(3))
    sent = []
    base = count(log, "upgraded: ")
    for i in range(1, n + 1):
        install(new, binary)
        sent.append(time.monotonic())
        os.kill(pid, signal.SIGUSR2)
        end = time.monotonic() + 20
        while count(log, "upgraded: ") < base + i:
            if time.monotonic() > end:
                print("upgrade %d did not finish" % i)
                return 2
            time.sleep(0.01)
        time.sleep(max(0.0, sent[-1] + every - time.monotonic()))
    time.sleep(0.5)
    poller.stop.set()
    poller.join(15)
    gaps = [poller.longest_gap(t - 0.1, t + every - 0.2) * 1000
            for t in sent]
    win = windows(log, base)
    print("upgrades=%d gaps_ms=%s median_ms=%.1f min_ms=%.1f max_ms=%.1f "
          "baseline_ms=%.1f cut=%d answers=%d window_ms=%s "
          "window_median_ms=%.0f window_min_ms=%.0f window_max_ms=%.0f" % (
              n, ",".join("%.1f" % g for g in gaps),
              statistics.median(gaps), min(gaps), max(gaps),
              baseline * 1000, poller.cut, len(poller.answers),
              ",".join("%.0f" % w for w in win), statistics.median(win),
              min(win), max(win)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
