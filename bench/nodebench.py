#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""nodebench.py BUILD_DIR RESULTS: section (e) of make bench.

The same plain Node.js app (examples/node/plain-app.js, unchanged: it
answers "hello from pid P") with NODE_WORKERS workers under:

  clusterd         ipc = node-cluster, one shared socket
  clusterd-rp      the same with reuseport = yes (a socket per slot)
  node-rr          Node's own cluster primary (bench/node-primary.js),
                   its default round-robin: the primary accepts every
                   connection and passes it to a worker
  pm2              PM2 cluster mode (pm2 start app.js -i N), if PM2 is
                   installed (PM2, default build/pm2/node_modules/.bin/pm2)

and measures, in one run:

  throughput       wrk with keep-alive, then with Connection: close
                   (a new connection per request), ROUNDS rounds of
                   TPUT_SECS each, the set-ups interleaved within a
                   round; requests/s, and its ratio to node-rr in the
                   same round: median and min-max over the rounds
  primary CPU      the primary process's CPU time (utime + stime) during
                   each throughput run, as % of one core: median and
                   min-max
  spread           new connection per request from 8 threads for
                   SPREAD_SECS (bench/spread.py): requests per worker pid
                   and the coefficient of variation
  reload           wrk for LOAD_SECS while the set-up reloads every
                   HUP_EVERY s (SIGHUP; pm2 reload), with keep-alive and
                   with Connection: close: failed requests (wrk's socket
                   errors and non-2xx) and reloads done

Rows are appended to RESULTS as "label value" lines.  Exit status 1 if a
request failed across a clusterd reload with Connection: close (SPEC:
0), 2 if a set-up could not start, else 0.
"""

import atexit
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

B = os.path.abspath(sys.argv[1])
RESULTS = sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
APP = os.path.join(TOP, "examples", "node", "plain-app.js")
PRIMARY = os.path.join(HERE, "node-primary.js")
CLUSTERD = os.path.join(B, "clusterd")
PM2 = os.environ.get("PM2", os.path.join(TOP, "build", "pm2",
                                         "node_modules", ".bin", "pm2"))

WORKERS = int(os.environ.get("NODE_WORKERS", "2"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
TPUT_SECS = int(os.environ.get("TPUT_SECS", "5"))
LOAD_SECS = int(os.environ.get("LOAD_SECS", "8"))
HUP_EVERY = float(os.environ.get("HUP_EVERY", "1"))
SPREAD_SECS = float(os.environ.get("SPREAD_SECS", "3"))
WRK_ARGS = os.environ.get("WRK_ARGS", "-t2 -c32").split()
HZ = os.sysconf("SC_CLK_TCK")
MODES = (("keep-alive", ()), ("close", ("-H", "Connection: close")))
TMP = tempfile.mkdtemp(prefix="clusterd-nodebench.")
RUNNING = []	# set-ups started and not stopped: stopped at exit


def cleanup():
    for s in list(RUNNING):
        try:
            s.stop()
        except Exception:  # whatever state it was left in
            pass
    if os.environ.get("KEEP") == "1":
        sys.stderr.write("nodebench: logs kept in %s\n" % TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)


atexit.register(cleanup)


def row(label, value):
    line = "%-50s %s" % (label, value)
    with open(RESULTS, "a") as f:
        f.write(line + "\n")


def die(msg):
    sys.stderr.write("nodebench: %s\n" % msg)
    sys.exit(2)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def answers(port, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            s = socket.create_connection(("127.0.0.1", port), 1)
            s.sendall(b"GET / HTTP/1.1\r\nHost: b\r\n"
                      b"Connection: close\r\n\r\n")
            ok = s.recv(64).startswith(b"HTTP/1.1 200")
            s.close()
            if ok:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def count_in(path, needle):
    try:
        with open(path) as f:
            return f.read().count(needle)
    except OSError:
        return 0


def wait_for(path, needle, n, secs):
    end = time.monotonic() + secs
    while count_in(path, needle) < n:
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def reap(proc, secs):
    try:
        proc.wait(secs)
        return True
    except subprocess.TimeoutExpired:
        return False


class Clusterd:
    def __init__(self, reuseport):
        self.name = "clusterd-rp" if reuseport else "clusterd"
        self.reuseport = reuseport

    def start(self, port):
        ini = os.path.join(TMP, self.name + ".ini")
        self.log = os.path.join(TMP, self.name + ".log")
        with open(ini, "w") as f:
            f.write("[socket:web]\nlisten = 127.0.0.1:%d\nbacklog = 1024\n"
                    "reuseport = %s\n[program:app]\ncommand = node %s\n"
                    "workers = %d\nsockets = web\nipc = node-cluster\n"
                    "stop_timeout = 10s\nstdout = null\nstderr = null\n"
                    "env = PORT=%d\n" % (port, "yes" if self.reuseport
                                         else "no", APP, WORKERS, port))
        self.proc = subprocess.Popen([CLUSTERD, "-c", ini],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "w"))
        if not wait_for(self.log, "started: app: %d/%d ready" % (WORKERS,
                        WORKERS), 1, 20):
            die("%s did not start (%s)" % (self.name, self.log))
        self.pid = self.proc.pid
        self.sent = 0

    def reload(self):
        if count_in(self.log, "reload done") < self.sent:
            return
        os.kill(self.pid, signal.SIGHUP)
        self.sent += 1

    def reloads(self):
        wait_for(self.log, "reload done", self.sent, 20)
        return count_in(self.log, "reload done")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        if not reap(self.proc, 20):
            self.proc.kill()
            self.proc.wait()


class NodePrimary:
    name = "node-rr"

    def start(self, port):
        self.log = os.path.join(TMP, "node-rr.log")
        env = dict(os.environ, PORT=str(port))
        self.proc = subprocess.Popen(["node", PRIMARY, str(WORKERS), APP],
                                     env=env, stdout=open(self.log, "w"),
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if not wait_for(self.log, " ready", 1, 20):
            die("node-primary.js did not start (%s)" % self.log)
        self.pid = self.proc.pid
        self.sent = 0

    def reload(self):
        if count_in(self.log, "reload done") < self.sent:
            return
        os.kill(self.pid, signal.SIGHUP)
        self.sent += 1

    def reloads(self):
        wait_for(self.log, "reload done", self.sent, 20)
        return count_in(self.log, "reload done")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        if not reap(self.proc, 20):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Pm2:
    name = "pm2"

    def __init__(self):
        self.home = os.path.join(TMP, "pm2home")
        self.env = dict(os.environ, PM2_HOME=self.home)

    def pm2(self, *args, env=None):
        return subprocess.run([PM2] + list(args), env=env or self.env,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              timeout=60).returncode

    def start(self, port):
        env = dict(self.env, PORT=str(port))
        if self.pm2("start", APP, "-i", str(WORKERS), "--name", "app",
                    env=env) != 0:
            die("pm2 start failed")
        with open(os.path.join(self.home, "pm2.pid")) as f:
            self.pid = int(f.read())
        if not answers(port, 20):
            die("the app under pm2 does not answer")
        self.done = 0
        self.busy = None

    def reload(self):
        # pm2 reload waits for the whole roll: one at a time, in a thread
        if self.busy is not None and self.busy.is_alive():
            return

        def run():
            if self.pm2("reload", "app") == 0:
                self.done += 1
        self.busy = threading.Thread(target=run)
        self.busy.start()

    def reloads(self):
        if self.busy is not None:
            self.busy.join(60)
        return self.done

    def stop(self):
        self.pm2("kill")
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)


def wrk(port, secs, extra=()):
    cmd = ["wrk"] + WRK_ARGS + ["-d%ds" % secs] + list(extra) + \
        ["http://127.0.0.1:%d/" % port]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wrk_result(proc, secs):
    try:
        out = proc.communicate(timeout=secs + 30)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        die("wrk did not finish")
    r = {"rps": 0.0, "requests": 0, "failed": 0}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    if m:
        r["failed"] += sum(int(x) for x in m.groups())
        r["errors"] = "connect %s, read %s, write %s, timeout %s" % \
            m.groups()
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["failed"] += int(m.group(1))
    if r["requests"] == 0:
        die("wrk: %s" % out)
    return r


def start(setup, port):
    RUNNING.append(setup)
    setup.start(port)


def stop(setup):
    setup.stop()
    RUNNING.remove(setup)


def throughput(setup, extra):
    port = free_port()
    start(setup, port)
    answers(port, 5)
    t0 = cpu_ticks(setup.pid)
    begun = time.monotonic()
    r = wrk_result(wrk(port, TPUT_SECS, extra), TPUT_SECS)
    cpu = (cpu_ticks(setup.pid) - t0) / HZ
    r["cpu_pct"] = 100.0 * cpu / (time.monotonic() - begun)
    stop(setup)
    return r


def spread(setup):
    port = free_port()
    start(setup, port)
    out = subprocess.run([sys.executable, os.path.join(HERE, "spread.py"),
                          str(port), str(SPREAD_SECS), "8",
                          r"pid (\d+)"], stdout=subprocess.PIPE,
                         text=True, timeout=SPREAD_SECS + 60).stdout
    stop(setup)
    return out.strip()


def reload_load(setup, extra):
    port = free_port()
    start(setup, port)
    w = wrk(port, LOAD_SECS, extra)
    end = time.monotonic() + LOAD_SECS - HUP_EVERY
    while time.monotonic() < end and w.poll() is None:
        time.sleep(HUP_EVERY)
        setup.reload()
    r = wrk_result(w, LOAD_SECS)
    r["reloads"] = setup.reloads()
    stop(setup)
    return r


def med(values, fmt):
    return "%s (%s-%s)" % (fmt % statistics.median(values),
                           fmt % min(values), fmt % max(values))


def main():
    setups = [Clusterd(False), Clusterd(True), NodePrimary()]
    if os.access(PM2, os.X_OK):
        setups.append(Pm2())
    else:
        row("(e) pm2", "skipped: %s not found (cd build/pm2 && npm "
            "install pm2)" % PM2)
    row("(e) set-up", "%d workers of examples/node/plain-app.js, node %s, "
        "wrk %s" % (WORKERS, subprocess.run(["node", "--version"],
                                             stdout=subprocess.PIPE,
                                             text=True).stdout.strip(),
                    " ".join(WRK_ARGS)))
    for label, extra in MODES:
        rps = {s.name: [] for s in setups}
        cpu = {s.name: [] for s in setups}
        for _ in range(ROUNDS):
            for s in setups:
                r = throughput(s, extra)
                rps[s.name].append(r["rps"])
                cpu[s.name].append(r["cpu_pct"])
        for s in setups:
            ratio = [a / b for a, b in zip(rps[s.name], rps["node-rr"])]
            row("(e) %s, %s: req/s, ratio to node-rr" % (s.name, label),
                "%s  ratio %s" % (med(rps[s.name], "%.0f"),
                                  med(ratio, "%.2f")))
        for s in setups:
            row("(e) %s, %s: primary CPU" % (s.name, label),
                "%s %% of a core" % med(cpu[s.name], "%.1f"))
    for s in setups:
        row("(e) %s: spread, new connection each" % s.name, spread(s))
    bad = 0
    for label, extra in MODES:
        for s in setups:
            r = reload_load(s, extra)
            if s.name.startswith("clusterd") and extra and r["failed"]:
                bad = 1
            per = r["failed"] / r["reloads"] if r["reloads"] else 0
            row("(e) %s, %s: reloads under load" % (s.name, label),
                "%d failed of %d in %d reloads (%.1f per reload; %s)" %
                (r["failed"], r["requests"], r["reloads"], per,
                 r.get("errors", "no socket errors")))
    return bad


sys.exit(main())
