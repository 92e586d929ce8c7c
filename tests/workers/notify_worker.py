# SPDX-License-Identifier: ISC
"""
notify_worker.py - a worker that speaks sd_notify(3) to its NOTIFY_SOCKET
the way libsystemd's sd_notify() does (one datagram of NAME=VALUE lines
per call, an abstract name given with a leading '@'), for the ready =
notify tests.

Environment:
    READY_AFTER_MS=N   send READY=1 after N ms (default 0; -1: never)
    STATUS=TEXT        sent with READY=1, in the same datagram
    WATCHDOG_MS=N      send WATCHDOG=1 every N ms once ready
    WATCHDOG_FOR_MS=N  ... but only for the first N ms after ready
    GARBAGE=N          before anything else, N datagrams that are not
                       sd_notify messages (binary, no '=', oversized)
    FLOOD=N            before READY=1, N datagrams "STATUS=flood I"
    STRANGER=1         before READY=1, a child in a session of its own
                       sends READY=1 (it must not count)

On SIGTERM it sends STOPPING=1, then exits 0.  It prints
"notify_worker PID EVENT" lines on stdout: start, ready, stopping.
"""

import os
import signal
import socket
import sys
import time


def address():
    name = os.environ.get("NOTIFY_SOCKET")
    if name is None:
        sys.stderr.write("notify_worker: no NOTIFY_SOCKET\n")
        sys.exit(3)
    return "\0" + name[1:] if name.startswith("@") else name


def notify(sock, data):
    if isinstance(data, str):
        data = data.encode()
    try:
        sock.sendto(data, address())
    except OSError as err:
        say("send failed: %s" % err)


def say(what):
    print("notify_worker %d %s" % (os.getpid(), what), flush=True)


def garbage(sock, n):
    kinds = [b"\x00\x01\x02binary", b"no equals sign", b"READY=1\x00x",
             b"X" * 70000, b"READY=1\nnot a pair"]
    for i in range(n):
        notify(sock, kinds[i % len(kinds)])


def stranger():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify(s, "READY=1\nSTATUS=from a stranger")
        os._exit(0)
    os.waitpid(pid, 0)


def main():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    env = os.environ.get

    def stop(*_):
        notify(sock, "STOPPING=1")
        say("stopping")
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    say("start")
    garbage(sock, int(env("GARBAGE", "0")))
    for i in range(int(env("FLOOD", "0"))):
        notify(sock, "STATUS=flood %d" % i)
    if env("STRANGER") == "1":
        stranger()
    after = int(env("READY_AFTER_MS", "0"))
    if after < 0:
        while True:
            time.sleep(3600)
    time.sleep(after / 1000)
    msg = "READY=1"
    if env("STATUS") is not None:
        msg += "\nSTATUS=" + env("STATUS")
    notify(sock, msg)
    say("ready")
    beat = int(env("WATCHDOG_MS", "0"))
    until = time.monotonic() + int(env("WATCHDOG_FOR_MS", "-1")) / 1000
    while True:
        if beat <= 0:
            time.sleep(3600)
            continue
        time.sleep(beat / 1000)
        if env("WATCHDOG_FOR_MS") is None or time.monotonic() < until:
            notify(sock, "WATCHDOG=1")


main()
