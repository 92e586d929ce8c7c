# SPDX-License-Identifier: ISC
"""
einhorn_worker.py - a worker written for einhorn, for the compat tests:
it finds its sockets and acks the way einhorn's client libraries do
(lib/einhorn/worker.rb: Einhorn::Worker.is_worker?, socket!(n),
einhorn_child_index, ack!(:fd)), then serves every socket.

Environment, besides einhorn's:
    ACK_FORM     json (default: the form of einhorn's README and its Go
                 and Python clients), yaml (the Ruby client's bytes:
                 YAML.dump, '%' and newlines escaped), uri (an old Node
                 client's: every space escaped too), none
    ACK_CLOSE=1  close EINHORN_SOCK_FD after the ack, as ack!(:fd) does
    REPORT_DIR   write what it found there (key=value lines)

It prints "einhorn_worker PID acked" once it has acked, and answers each
connection with one line: "einhorn worker PID index I socket N fd F".
"""

import os
import re
import select
import signal
import socket
import sys


def fail(msg):
    sys.stderr.write("einhorn_worker: %s\n" % msg)
    sys.exit(3)


def is_worker():
    # Einhorn::Worker.ensure_worker!: the master must be our parent
    ppid = os.environ.get("EINHORN_MASTER_PID")
    return ppid is not None and int(ppid) == os.getppid()


def sockets():
    # Einhorn::Worker.socket!(n) for n below EINHORN_FD_COUNT; Ruby's
    # Integer() refuses anything but an integer
    raw = os.environ.get("EINHORN_FD_COUNT")
    if raw is None or not re.fullmatch(r"[0-9]+", raw):
        fail("no EINHORN_FD_COUNT")
    fds = []
    for n in range(int(raw)):
        fd = os.environ.get("EINHORN_FD_%d" % n)
        if fd is None or not re.fullmatch(r"[0-9]+", fd):
            fail("no EINHORN_FD_%d" % n)
        fds.append(int(fd))
    return fds


def child_index():
    index = os.environ.get("EINHORN_CHILD_INDEX")
    if index is None or not re.fullmatch(r"\d+", index):
        return index
    return int(index)


def ack():
    form = os.environ.get("ACK_FORM", "json")
    fd = os.environ.get("EINHORN_SOCK_FD")
    if form == "none":
        return
    if fd is None:
        fail("no EINHORN_SOCK_FD")
    pid = os.getpid()
    if form == "yaml":
        doc = "---\ncommand: worker:ack\npid: %d\n" % pid
        line = doc.replace("%", "%25").replace("\n", "%0A") + "\n"
    elif form == "uri":
        doc = "---\ncommand: worker:ack\npid: %d" % pid
        line = doc.replace("\n", "%0A").replace(" ", "%20") + "\n"
    else:
        line = '{"command":"worker:ack", "pid":%d}\n' % pid
    os.write(int(fd), line.encode())
    if os.environ.get("ACK_CLOSE") == "1":
        os.close(int(fd))


def report(fds, index):
    lines = ["pid=%d" % os.getpid(), "is_worker=1",
             "index=%s" % index, "fd_count=%d" % len(fds)]
    lines += ["fd%d=%d" % (i, fd) for i, fd in enumerate(fds)]
    directory = os.environ.get("REPORT_DIR")
    if directory is None:
        return
    name = "%s.%s.%d" % (os.environ.get("CLUSTERD_PROGRAM", "einhorn"),
                         os.environ.get("CLUSTERD_WORKER", "0"), os.getpid())
    tmp = os.path.join(directory, "." + name + ".tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(tmp, os.path.join(directory, name))


def serve(fds, index):
    socks = [socket.socket(fileno=fd) for fd in fds]
    while True:
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            try:
                conn, _ = s.accept()
            except BlockingIOError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(("einhorn worker %d index %s socket %d fd %d\n"
                              % (os.getpid(), index, socks.index(s),
                                 s.fileno())).encode())


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if not is_worker():
        fail("not an einhorn worker: EINHORN_MASTER_PID=%s, parent %d"
             % (os.environ.get("EINHORN_MASTER_PID"), os.getppid()))
    fds = sockets()
    index = child_index()
    report(fds, index)
    ack()
    print("einhorn_worker %d acked" % os.getpid(), flush=True)
    serve(fds, index)


main()
