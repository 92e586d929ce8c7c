#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""
soak.py - soak and fault runs of clusterd, from the outside (make soak).

    soak.py --build DIR [--sanitize] [--results FILE] [--only a,b,...]
            [--kill-seconds S] [--reloads N] [--workers N] [--keep]
            [--label TEXT]

Black box only: clusterd and clusterctl from DIR, examples/hello as the
worker, signals, prlimit/setpriv, /proc.  Nothing here knows the daemon's
insides or its log wording, so the same runs hold before and after a
rewrite of its core.  Every scenario prints PASS, FAIL or INFO lines with
their numbers; the table is appended to FILE (bench/RESULTS.md) with the
date, the commit, the build and this command.  Exit status 1 if any
check failed, 2 if the set-up itself did (a tool missing, no daemon),
else 0.  bench/README.md says what each scenario does and why its
tolerances are what they are.

  a  60 s of SIGKILL to a random worker every 200 ms and SIGHUP every
     3 s under HTTP load (bench/soakload.py)
  b  1000 reloads in a row (clusterctl reload, which waits for each)
  c  1000 workers: start against a plain fork/exec loop (bench/spawnloop),
     master RSS, clusterctl status time, stop time
  d  RLIMIT_NPROC, then RLIMIT_NOFILE, exhausted under a running clusterd
     (prlimit --pid), then lifted
  e  a worker that stops itself (SIGSTOP) when asked to stop, and one
     stopped from outside, while clusterd stops them
  f  clusterd's stderr a pipe nobody reads
  g  SIGTERM while a reload is starting a worker, 20 times

With --sanitize (make soak SANITIZE=1) the binaries are the ASan+UBSan
build: ASAN_OPTIONS=detect_leaks=1 with a log_path in the run's
directory; any sanitizer report there is a FAIL of that scenario.
"""

import argparse
import fcntl
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
NOBODY = 65534


class SetupError(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(cond, timeout, step=0.05):
    """cond() until it is true or timeout seconds passed; its last value."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def proc_alive(pid):
    """A process that exists and is no zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "-"


def thirds(samples, skip_first=False):
    """Medians and maxima of the first (or middle) and the last third."""
    n = len(samples) // 3
    first, last = samples[n:2 * n] if skip_first else samples[:n], \
        samples[-n:]
    return (statistics.median(first), statistics.median(last),
            max(first), max(last))


class Run:
    """One soak run: its directory, the binaries, the results."""

    def __init__(self, args):
        self.args = args
        b = os.path.abspath(args.build)
        self.build = b
        self.clusterd = os.path.join(b, "clusterd")
        self.clusterctl = os.path.join(b, "clusterctl")
        self.hello = os.path.join(b, "examples", "hello")
        self.spawnloop = os.path.join(b, "bench", "spawnloop")
        for f in (self.clusterd, self.clusterctl, self.hello,
                  self.spawnloop):
            if not os.access(f, os.X_OK):
                raise SetupError("%s not built (make soak builds it)" % f)
        for tool in ("prlimit", "setpriv"):
            if shutil.which(tool) is None:
                raise SetupError("%s is needed (util-linux)" % tool)
        self.tmp = tempfile.mkdtemp(prefix="clusterd-soak.")
        os.chmod(self.tmp, 0o755)
        self.san_dir = os.path.join(self.tmp, "san")
        os.mkdir(self.san_dir)
        os.chmod(self.san_dir, 0o1777)
        self.env = dict(os.environ)
        for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                  "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
                  "JOURNAL_STREAM", "CLUSTERD_CONTROL"):
            self.env.pop(k, None)
        if args.sanitize:
            self.env["ASAN_OPTIONS"] = (
                "detect_leaks=1:abort_on_error=0:log_path=%s/asan"
                % self.san_dir)
            self.env["UBSAN_OPTIONS"] = (
                "print_stacktrace=1:halt_on_error=1:log_path=%s/ubsan"
                % self.san_dir)
        self.rows = []
        self.daemons = []
        self.san_seen = set()
        self.started = time.time()

    def result(self, scen, check, ok, numbers):
        verdict = {True: "PASS", False: "FAIL", None: "INFO"}[ok]
        self.rows.append((scen, check, verdict, numbers))
        print("%s %s.%s: %s" % (verdict, scen, check, numbers), flush=True)

    def failed(self):
        return any(r[2] == "FAIL" for r in self.rows)

    def sanitizer_check(self, scen, daemons):
        """A FAIL for every new sanitizer report, naming whose it is."""
        masters = {d.pid for d in daemons}
        new = sorted(set(os.listdir(self.san_dir)) - self.san_seen)
        self.san_seen.update(new)
        if not self.args.sanitize:
            return
        for name in new:
            path = os.path.join(self.san_dir, name)
            with open(path, errors="replace") as f:
                text = f.read()
            pid = int(name.rsplit(".", 1)[1])
            who = "clusterd" if pid in masters else "worker %d" % pid
            first = next((l for l in text.splitlines()
                          if "ERROR" in l or "runtime error" in l
                          or "SUMMARY" in l), text[:200])
            self.result(scen, "sanitizer", False, "%s: %s (%s)"
                        % (who, first.strip(), path))
        if not new:
            self.result(scen, "sanitizer", True,
                        "no ASan/LSan/UBSan report")

    def cleanup(self):
        for d in self.daemons:
            d.kill()
        if self.args.keep or self.failed():
            print("soak: files kept in %s" % self.tmp, flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Daemon:
    """A clusterd of one scenario, driven only from outside."""

    def __init__(self, run, name, body, prefix=(), owner=None, head=""):
        self.run = run
        self.dir = os.path.join(run.tmp, name)
        os.mkdir(self.dir)
        self.ctl = os.path.join(self.dir, "ctl.sock")
        self.cfg = os.path.join(self.dir, "clusterd.ini")
        self.log = os.path.join(self.dir, "log")
        with open(self.cfg, "w") as f:
            f.write("[clusterd]\ncontrol = %s\n%s\n%s"
                    % (self.ctl, head, body))
        if owner is not None:
            os.chown(self.dir, owner, owner)
        self.prefix = list(prefix)
        self.proc = None
        self.pid = None
        self.seen = set()	# worker pids, for the cleanup
        self.cmdlines = {}
        run.daemons.append(self)

    def start(self, stderr=None):
        err = stderr if stderr is not None else open(self.log, "wb")
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(
            self.prefix + [self.run.clusterd, "-c", self.cfg],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=err, env=self.run.env, start_new_session=True)
        if stderr is None:
            err.close()
        self.pid = self.proc.pid
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ctl_cmd(self, *args, timeout=30):
        """(exit status, stdout, seconds); status None on a timeout."""
        t = time.monotonic()
        try:
            p = subprocess.run([self.run.clusterctl, "-s", self.ctl]
                               + list(args), capture_output=True,
                               timeout=timeout, env=self.run.env)
            return p.returncode, p.stdout.decode(errors="replace"), \
                time.monotonic() - t
        except subprocess.TimeoutExpired:
            return None, "", time.monotonic() - t

    def status(self, timeout=10):
        rc, out, _ = self.ctl_cmd("--json", "status", timeout=timeout)
        if rc != 0:
            return None
        try:
            st = json.loads(out)
        except ValueError:
            return None
        for p in st.get("programs", []):
            for w in p.get("workers", []):
                if w.get("pid"):
                    self.seen.add(w["pid"])
        return st

    def workers(self, timeout=10):
        st = self.status(timeout)
        if st is None:
            return None
        return [w for p in st.get("programs", [])
                for w in p.get("workers", [])]

    def ready(self, n):
        """n workers, every one ready and alive."""
        ws = self.workers()
        return ws is not None and len(ws) == n and all(
            w.get("state") == "ready" and proc_alive(w.get("pid", 0))
            for w in ws)

    def wait_ready(self, n, timeout):
        return wait_for(lambda: self.ready(n), timeout, 0.1)

    def children(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.pid, self.pid)) \
                    as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            return []
        for k in kids:
            if k not in self.seen:
                self.seen.add(k)
                try:
                    with open("/proc/%d/cmdline" % k, "rb") as f:
                        self.cmdlines[k] = f.read()
                except OSError:
                    pass
        return kids

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def lowest_free_fd(self):
        used = {int(x) for x in os.listdir("/proc/%d/fd" % self.pid)}
        n = 0
        while n in used:
            n += 1
        return n

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def log_lines(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def send(self, sig):
        os.kill(self.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """(exit status or None if still running, seconds)."""
        t = time.monotonic()
        self.send(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
        return rc, time.monotonic() - t

    def kill(self):
        """SIGKILL the master if it still runs, then its workers left."""
        if self.alive():
            self.children()
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in self.seen:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    same = f.read() == self.cmdlines.get(pid, None)
            except OSError:
                continue
            if same and proc_state(pid) != "Z":
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


HELLO = """[socket:web]
listen = 127.0.0.1:%(port)d

[program:hello]
command = %(hello)s
workers = %(workers)d
sockets = web
stdout = null
stderr = null
%(extra)s
"""


def hello_conf(run, port, workers, extra=""):
    return HELLO % {"port": port, "hello": run.hello, "workers": workers,
                    "extra": extra}


def flat(run, scen, what, samples, unit, tol_fd, tol_rss_kb):
    """fd count and RSS: the last third against the first one."""
    with open(os.path.join(run.tmp, scen + "-samples.json"), "w") as f:
        json.dump(samples, f)
    if len(samples) < 6:
        run.result(scen, what, False, "only %d samples" % len(samples))
        return
    fm1, fm3, fx1, fx3 = thirds([s[0] for s in samples])
    rm1, rm3, rx1, rx3 = thirds([s[1] for s in samples], True)
    run.result(scen, "fds-flat", fm3 <= fm1 + 1 and fx3 <= fx1 + tol_fd,
               "fds median %g -> %g, max %d -> %d (first vs last third "
               "of %d samples %s; tolerance +1 on the median, +%d on the "
               "max)" % (fm1, fm3, fx1, fx3, len(samples), unit, tol_fd))
    ok = rm3 - rm1 <= tol_rss_kb
    if run.args.sanitize:
        ok = None	# ASan's quarantine grows by design: LSan judges
    run.result(scen, "rss-flat", ok,
               "RSS median %d -> %d KiB, max %d -> %d KiB (middle vs last "
               "third, the first is warm-up; tolerance +%d KiB on the "
               "median%s)"
               % (rm1, rm3, rx1, rx3, tol_rss_kb,
                  "; ASan build: not judged" if run.args.sanitize else ""))


def scenario_a(run):
    """SIGKILL storm and SIGHUPs under load."""
    import bisect
    secs, nworkers, threads = run.args.kill_seconds, 4, 8
    port = free_port()
    d = Daemon(run, "a", hello_conf(
        run, port, nworkers, "min_uptime = 100ms\nrestart_delay = 50ms\n"
        "restart_delay_max = 1s\n")).start()
    if not d.wait_ready(nworkers, 30):
        raise SetupError("a: %d workers not ready" % nworkers)
    load = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "soakload.py"), str(port),
         str(secs + 4), str(threads)], stdout=subprocess.PIPE)
    time.sleep(1)
    rng = random.Random(run.args.seed)
    kills, hups, samples = [], 0, []
    t0 = time.monotonic()
    next_kill, next_hup, next_sample = t0 + 0.2, t0 + 3, t0
    while True:
        now = time.monotonic()
        if now >= t0 + secs:
            break
        if now >= next_sample:
            samples.append((d.fds(), d.rss_kb()))
            next_sample += 0.25
        if now >= next_hup:
            d.send(signal.SIGHUP)
            hups += 1
            next_hup += 3
        if now >= next_kill:
            kids = d.children()
            if kids:
                pid = rng.choice(kids)
                t = time.monotonic()
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills.append(t)
                except ProcessLookupError:
                    pass
            next_kill += 0.2
        time.sleep(max(0, min(next_kill, next_hup, next_sample)
                       - time.monotonic()))
    storm_end = time.monotonic()
    alive = d.alive() and d.status() is not None
    refilled = d.wait_ready(nworkers, 15)
    refill_s = time.monotonic() - storm_end
    out, _ = load.communicate(timeout=secs + 60)
    res = json.loads(out)

    run.result("a", "master-alive", alive, "after %d SIGKILLs to workers "
               "and %d SIGHUPs in %.0fs" % (len(kills), hups, secs))
    run.result("a", "slots-refilled", bool(refilled), "%d/%d ready %.1fs "
               "after the last kill" % (nworkers if refilled else
                                        len(d.workers() or []), nworkers,
                                        refill_s))
    # A failure is a request lost at a killed worker when a kill falls
    # between its connection's start and the moment it failed, at most
    # 1 s before that moment; a refused or timed-out one never is.
    eps, window = 0.005, 1.0
    kinds, unexplained = {}, []
    for f in res["failures"]:
        kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
        lo = max(f["end"] - window, (f["conn"] or f["start"]) - eps)
        i = bisect.bisect_left(kills, lo)
        if f["kind"] in ("refused", "connect", "timeout", "status") or \
                i >= len(kills) or kills[i] > f["end"] + eps:
            unexplained.append(f)
    nf = len(res["failures"])
    dur = res["ended"] - res["began"]
    per_kill = nf / len(kills) if kills else 0
    run.result("a", "failures-at-kills", not unexplained and
               nf <= len(kills) * threads,
               "%d requests ok (%.0f/s, %d connections); %d failed %s, "
               "%.2f per kill (%d kills, at most %d connections each); "
               "%d not at a killed worker%s"
               % (res["ok"], res["ok"] / dur, res["conns"], nf,
                  json.dumps(kinds, sort_keys=True), per_kill, len(kills),
                  threads, len(unexplained),
                  (": first %s" % json.dumps(unexplained[0]))
                  if unexplained else ""))
    flat(run, "a", "storm", samples, "every 250 ms", 2, 32)
    rc, secs_stop = d.stop()
    run.result("a", "shutdown", rc == 0, "SIGTERM: exit %s in %.2fs"
               % (rc, secs_stop))
    run.sanitizer_check("a", [d])


def scenario_b(run):
    """1000 reloads in a row."""
    n, nworkers = run.args.reloads, 2
    port = free_port()
    d = Daemon(run, "b", hello_conf(run, port, nworkers,
                                    "ready = exec\n")).start()
    if not d.wait_ready(nworkers, 30):
        raise SetupError("b: %d workers not ready" % nworkers)
    samples, failed, slow = [], 0, 0.0
    t0 = time.monotonic()
    for i in range(n):
        rc, out, secs = d.ctl_cmd("reload", timeout=60)
        if rc != 0:
            failed += 1
        slow = max(slow, secs)
        samples.append((d.fds(), d.rss_kb()))
    took = time.monotonic() - t0
    run.result("b", "reloads", failed == 0, "%d clusterctl reload in %.1fs "
               "(%.1f/s, slowest %.3fs), %d failed"
               % (n, took, n / took, slow, failed))
    ok = d.wait_ready(nworkers, 15) and \
        wait_for(lambda: len(d.children()) == nworkers, 10)
    run.result("b", "workers-after", bool(ok), "%d workers ready, %d "
               "children of the master" % (nworkers, len(d.children())))
    flat(run, "b", "reloads", samples, "one after each reload", 2, 32)
    rc, secs = d.stop()
    run.result("b", "shutdown", rc == 0, "SIGTERM: exit %s in %.2fs"
               % (rc, secs))
    run.sanitizer_check("b", [d])


def scenario_c(run):
    """1000 workers: against a plain spawn loop."""
    n = run.args.workers
    nofile = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    lim = ["prlimit", "--nofile=%d:%d" % (nofile, nofile), "--"]
    port = free_port()
    p = subprocess.run(lim + [run.spawnloop, str(n), str(port), run.hello],
                       capture_output=True, timeout=300, env=run.env)
    try:
        base = json.loads(p.stdout)
    except ValueError:
        raise SetupError("c: spawnloop: %s" % p.stderr.decode()[-300:])
    run.result("c", "spawn-loop", base["started"] == n, "plain fork/exec "
               "loop: %d/%d started in %.3fs, stopped in %.3fs "
               "(RLIMIT_NOFILE %d)" % (base["started"], n,
                                       base["start_s"], base["stop_s"],
                                       nofile))
    port = free_port()
    d = Daemon(run, "c", hello_conf(run, port, n, "ready = exec\n"),
               prefix=lim)
    d.start()
    # Started = exec'd, as for the loop; polled in /proc, not with
    # clusterctl, whose every status would cost the master 1000 reads.
    execd = set()

    def all_execd():
        for pid in d.children():
            if pid not in execd:
                try:
                    if os.readlink("/proc/%d/exe" % pid) == run.hello:
                        execd.add(pid)
                except OSError:
                    pass
        return len(execd) >= n
    wait_for(all_execd, 120, 0.02)
    start_s = time.monotonic() - d.t_start
    ok = d.wait_ready(n, 60)
    ratio = start_s / base["start_s"] if base["start_s"] > 0 else 0
    run.result("c", "start", bool(ok) and ratio <= 10,
               "%d workers exec'd in %.2fs under prlimit --nofile=%d "
               "(children polled in /proc every 20 ms), %s: %.1f times "
               "the plain loop" % (len(execd), start_s, nofile,
                                   "all ready" if ok else "NOT ALL READY",
                                   ratio))
    rss, fds = d.rss_kb(), d.fds()
    run.result("c", "master-rss", None, "master VmRSS %d KiB, %d fds, "
               "with %d workers" % (rss, fds, n))
    times = {}
    for args in (("status",), ("--json", "status")):
        ts = []
        for _ in range(5):
            rc, out, secs = d.ctl_cmd(*args, timeout=30)
            ts.append(secs if rc == 0 else float("inf"))
        times[" ".join(args)] = ts
    worst = max(max(t) for t in times.values())
    run.result("c", "status-time", worst < 1.0, "; ".join(
        "clusterctl %s: median %.3fs, max %.3fs (5 runs)"
        % (k, statistics.median(v), max(v)) for k, v in times.items()))
    rc, stop_s = d.stop(timeout=60)
    gone = wait_for(lambda: not any(proc_alive(w) for w in d.seen), 10)
    run.result("c", "stop", rc == 0 and stop_s < 10 and bool(gone),
               "SIGTERM to exit %s: %.2fs (plain loop %.3fs); %s"
               % (rc, stop_s, base["stop_s"], "every worker gone" if gone
                  else "workers left"))
    run.sanitizer_check("c", [d])


def proc_limit(pid, name):
    """(soft, hard) of a limit as /proc/PID/limits says, as text."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith(name):
                return tuple(line[len(name):].split()[:2])
    raise SetupError("no %s in /proc/%d/limits" % (name, pid))


def uid_processes(uid):
    """Processes (threads count for RLIMIT_NPROC) whose real uid is uid."""
    n = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/status" % pid) as f:
                st = f.read()
        except OSError:
            continue
        uids = threads = None
        for line in st.splitlines():
            if line.startswith("Uid:"):
                uids = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
        if uids == uid:
            n += threads or 1
    return n


def limit_burst(run, d, scen, name, have, want, ask, lift, window=10):
    """
    With have workers up and a limit that lets no more start, ask for
    want: measure clusterd's CPU and log lines over window seconds, then
    lift the limit and time the recovery.
    """
    ask()
    time.sleep(1)
    lines0, cpu0, t0 = len(d.log_lines()), d.cpu_s(), time.monotonic()
    most = 0
    while time.monotonic() < t0 + window:
        most = max(most, len(d.children()))
        time.sleep(0.2)
    cpu = (d.cpu_s() - cpu0) / (time.monotonic() - t0)
    lines = d.log_lines()[lines0:]
    run.result(scen, name + "-held", most <= have and d.alive(),
               "at most %d workers while the limit held (%d wanted)"
               % (most, want))
    run.result(scen, name + "-no-spin", cpu < 0.02,
               "clusterd CPU %.2f%% of a core over %ds of failing starts "
               "(limit 2%%)" % (cpu * 100, window))
    sample = lines[-1][:160] if lines else ""
    run.result(scen, name + "-log-once", len(lines) <= want - have,
               "%d log lines in those %ds (at most %d: one per failing "
               "slot and burst)%s" % (len(lines), window, want - have,
                                       "; last: %s" % sample if sample
                                       else ""))
    t_lift = time.monotonic()
    lift()
    ok = d.wait_ready(want, 30)
    run.result(scen, name + "-recovers", bool(ok), "%d/%d ready %.1fs after "
               "the limit was lifted (restart_delay_max = 2s)"
               % (len([w for w in d.workers() or []
                       if w.get("state") == "ready"]), want,
                  time.monotonic() - t_lift))


def scenario_d(run):
    """RLIMIT_NPROC, then RLIMIT_NOFILE, exhausted under clusterd."""
    have, want = 4, 8
    extra = "min_uptime = 100ms\nrestart_delay = 100ms\n" \
        "restart_delay_max = 2s\n"
    # NPROC: only an unprivileged user is held to it.
    if uid_processes(NOBODY) != 0:
        run.result("d", "nproc", False, "uid %d already runs processes: "
                   "cannot count clusterd's alone" % NOBODY)
    else:
        port = free_port()
        d = Daemon(run, "d-nproc", hello_conf(run, port, have, extra),
                   prefix=["setpriv", "--reuid=%d" % NOBODY,
                           "--regid=%d" % NOBODY, "--clear-groups", "--"],
                   owner=NOBODY).start()
        if not d.wait_ready(have, 30):
            raise SetupError("d: clusterd as uid %d: workers not ready"
                             % NOBODY)
        nproc = uid_processes(NOBODY)
        hard = proc_limit(d.pid, "Max processes")[1]
        # as uid NOBODY too: root without CAP_SYS_RESOURCE may not change
        # another user's limits, the user itself may (soft up to hard)
        as_nobody = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                     "--clear-groups", "--", "prlimit", "--pid", str(d.pid)]
        run.result("d", "nproc-setup", None, "clusterd as uid %d with %d "
                   "workers; prlimit --pid %d --nproc=%d:%s, then "
                   "clusterctl scale hello %d" % (NOBODY, have, d.pid,
                                                  nproc, hard, want))
        limit_burst(
            run, d, "d", "nproc", have, want,
            lambda: (subprocess.run(as_nobody + ["--nproc=%d:%s"
                                                 % (nproc, hard)],
                                    check=True),
                     d.ctl_cmd("scale", "hello", str(want))),
            lambda: subprocess.run(as_nobody + ["--nproc=%s:%s"
                                                % (hard, hard)],
                                   check=True))
        rc, secs = d.stop()
        run.result("d", "nproc-shutdown", rc == 0, "SIGTERM: exit %s in "
                   "%.2fs" % (rc, secs))
        run.sanitizer_check("d", [d])
    # NOFILE: no free descriptor at all; the control socket cannot accept
    # either, so more workers are asked for with SIGTTIN.
    port = free_port()
    d = Daemon(run, "d-nofile", hello_conf(run, port, have, extra)).start()
    if not d.wait_ready(have, 30):
        raise SetupError("d: workers not ready")
    low = d.lowest_free_fd()
    soft, hard = proc_limit(d.pid, "Max open files")
    run.result("d", "nofile-setup", None, "%d workers, %d fds open; "
               "prlimit --pid %d --nofile=%d:%s, then SIGTTIN x %d"
               % (have, d.fds(), d.pid, low, hard, want - have))

    def more():
        subprocess.run(["prlimit", "--pid", str(d.pid),
                        "--nofile=%d:%s" % (low, hard)], check=True)
        for _ in range(want - have):
            d.send(signal.SIGTTIN)
            time.sleep(0.2)
    limit_burst(run, d, "d", "nofile", have, want, more,
                lambda: subprocess.run(["prlimit", "--pid", str(d.pid),
                                        "--nofile=%s:%s" % (soft, hard)],
                                       check=True))
    rc, secs = d.stop()
    run.result("d", "nofile-shutdown", rc == 0, "SIGTERM: exit %s in %.2fs"
               % (rc, secs))
    run.sanitizer_check("d", [d])


# Ready (ready = message) only once its SIGTERM handler is in place.
STOPPER = """import os, signal, time
signal.signal(signal.SIGTERM,
              lambda sig, frame: os.kill(os.getpid(), signal.SIGSTOP))
os.write(int(os.environ["CLUSTERD_IPC_FD"]), b"ready\\n")
while True:
    time.sleep(1)
"""


def scenario_e(run):
    """Workers that are stopped (SIGSTOP) while clusterd stops them."""
    n, stop_timeout = 2, 2.0
    script = os.path.join(run.tmp, "stopper.py")
    with open(script, "w") as f:
        f.write(STOPPER)
    d = Daemon(run, "e", "[program:stopper]\ncommand = %s %s\n"
               "workers = %d\nstop_timeout = %gs\nready = message\n"
               % (sys.executable, script, n, stop_timeout)).start()
    if not d.wait_ready(n, 30):
        raise SetupError("e: workers not ready")
    pids = [w["pid"] for w in d.workers()]
    # e1: each stops itself on SIGTERM; SIGKILL must still end it
    t0 = time.monotonic()
    stop = subprocess.Popen([run.clusterctl, "-s", d.ctl, "stop", "stopper"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=run.env)
    stopped = wait_for(lambda: all(proc_state(p) == "T" for p in pids), 2,
                       0.01)
    rc_st, _, st_s = d.ctl_cmd("status", timeout=5)
    gone = wait_for(lambda: not any(proc_alive(p) for p in pids),
                    stop_timeout + 10, 0.02)
    took = time.monotonic() - t0
    try:
        rc = stop.wait(10)
    except subprocess.TimeoutExpired:
        stop.kill()
        rc = None
    run.result("e", "self-stopped", bool(gone) and took <= stop_timeout
               + 1.5 and rc == 0,
               "clusterctl stop: %d workers %s (state T seen: %s) in "
               "%.2fs, stop_timeout %gs; clusterctl exit %s"
               % (n, "gone" if gone else "STILL THERE", bool(stopped),
                  took, stop_timeout, rc))
    run.result("e", "status-meanwhile", rc_st == 0 and st_s < 1,
               "clusterctl status during that stop: exit %s in %.2fs"
               % (rc_st, st_s))
    # e2: one is stopped from outside before clusterd stops everything
    d.ctl_cmd("start", "stopper")
    if not d.wait_ready(n, 30):
        raise SetupError("e: workers not ready again")
    pids = [w["pid"] for w in d.workers()]
    os.kill(pids[0], signal.SIGSTOP)
    wait_for(lambda: proc_state(pids[0]) == "T", 2, 0.01)
    rc, secs = d.stop(timeout=stop_timeout + 15)
    gone = wait_for(lambda: not any(proc_alive(p) for p in pids), 5)
    run.result("e", "shutdown-stopped", rc == 0 and bool(gone) and
               secs <= stop_timeout + 1.5,
               "one worker SIGSTOPped from outside, then SIGTERM to "
               "clusterd: exit %s in %.2fs, workers %s"
               % (rc, secs, "gone" if gone else "STILL THERE"))
    run.sanitizer_check("e", [d])


def pipe_queued(fd):
    buf = fcntl.ioctl(fd, termios.FIONREAD, struct.pack("i", 0))
    return struct.unpack("i", buf)[0]


def drain(fd):
    data = b""
    os.set_blocking(fd, False)
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    except BlockingIOError:
        pass
    os.set_blocking(fd, True)
    return data


def fill_pipe(d, r, cap, more, timeout=60):
    """
    SIGHUP (each reload logs) until the pipe stays full for 1 s, then
    more reloads with clusterctl, which waits for each: about 1 KiB of
    log apiece, to fill whatever clusterd keeps for later too.  Returns
    the bytes in the pipe and the reloads that were answered.
    """
    end = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < end:
        if d.alive():
            d.send(signal.SIGHUP)
        time.sleep(0.05)
        q = pipe_queued(r)
        if q != last:
            last, since = q, time.monotonic()
        elif q > cap - 4096 and time.monotonic() - since > 1:
            break
    answered = 0
    for _ in range(more):
        rc, _, _ = d.ctl_cmd("reload", timeout=3)
        if rc != 0:
            break
        answered += 1
    return pipe_queued(r), answered


def blocked_where(pid):
    """Where a process sleeps: its wait channel and system call."""
    try:
        with open("/proc/%d/wchan" % pid) as f:
            wchan = f.read().strip()
        with open("/proc/%d/syscall" % pid) as f:
            sc = f.read().split()
        names = {"0": "read", "1": "write", "7": "poll", "232":
                 "epoll_wait", "20": "writev"}
        call = "%s(fd %d)" % (names.get(sc[0], "syscall " + sc[0]),
                              int(sc[1], 16)) if len(sc) > 1 else sc[0]
        return "%s in %s, state %s" % (call, wchan, proc_state(pid))
    except (OSError, ValueError, IndexError):
        return "?"


def scenario_f(run):
    """clusterd's stderr a pipe nobody reads."""
    r, w = os.pipe()
    cap = fcntl.fcntl(r, 1032)	# F_GETPIPE_SZ
    port = free_port()
    d = Daemon(run, "f", hello_conf(run, port, 2, "ready = exec\n"),
               head="log_level = debug\n")
    d.start(stderr=w)
    os.close(w)
    if not d.wait_ready(2, 30):
        raise SetupError("f: workers not ready")
    more = 300
    q, answered = fill_pipe(d, r, cap, more)
    rc, _, secs = d.ctl_cmd("status", timeout=3)
    where = blocked_where(d.pid)
    run.result("f", "status-when-full", rc == 0 and answered == more,
               "pipe %d/%d bytes, nobody reading: %d/%d clusterctl "
               "reload then answered; clusterctl status %s in %.2fs; "
               "clusterd is in %s" % (q, cap, answered, more, "answered"
                                      if rc == 0 else "got no answer",
                                      secs, where))
    # the reader comes back: it reads on while clusterd has things to say
    data, t = b"", time.monotonic()
    while time.monotonic() - t < 10 and b"dropped" not in data:
        data += drain(r)
        d.send(signal.SIGHUP)
        time.sleep(0.2)
    data += drain(r)
    dropped = [l for l in data.decode(errors="replace").splitlines()
               if "dropped" in l]
    run.result("f", "drops-counted", bool(dropped), "once the pipe was "
               "read again: %s" % (dropped[0][:160] if dropped else
                                   "no line saying how many were dropped"))
    q, _ = fill_pipe(d, r, cap, more)
    rc, secs = d.stop(timeout=10)
    where = blocked_where(d.pid) if rc is None else ""
    late = ""
    if rc is None:
        t = time.monotonic()
        while d.alive() and time.monotonic() - t < 20:
            drain(r)
            time.sleep(0.05)
        late = "; once the pipe was read it %s %.1fs later" % (
            "exited" if not d.alive() else "still did not exit",
            time.monotonic() - t)
    run.result("f", "sigterm-when-full", rc == 0, "pipe %d/%d bytes: "
               "SIGTERM: %s%s" % (q, cap, "exit %s in %.2fs" % (rc, secs)
                                  if rc is not None else "no exit in %.0fs, "
                                  "clusterd is in %s" % (secs, where), late))
    os.close(r)
    run.sanitizer_check("f", [d])


def scenario_g(run):
    """SIGTERM while a reload is starting a worker."""
    tries, stop_timeout, slow, ds = 20, 2.0, [], []
    for i in range(tries):
        d = Daemon(run, "g%d" % i, hello_conf(
            run, free_port(), 2, "ready = exec\nstop_timeout = %gs\n"
            % stop_timeout)).start()
        if not d.wait_ready(2, 30):
            raise SetupError("g: workers not ready")
        ds.append(d)
        d.send(signal.SIGHUP)
        rc, secs = d.stop(timeout=stop_timeout + 15)
        if rc != 0 or secs > 1:
            slow.append("%.2fs (exit %s, %s)" % (secs, rc, d.log))
    run.result("g", "stop-while-spawning", not slow, "%d times SIGHUP then "
               "at once SIGTERM, stop_timeout %gs: %d stops took over 1s%s"
               % (tries, stop_timeout, len(slow), (": " + ", ".join(
                   slow[:3])) if slow else ""))
    run.sanitizer_check("g", ds)


SCENARIOS = {"a": scenario_a, "b": scenario_b, "c": scenario_c,
             "d": scenario_d, "e": scenario_e, "f": scenario_f,
             "g": scenario_g}

RESULTS_HEAD = """# clusterd: measured results

What clusterd did when it was measured, appended by the runs that
produce the numbers; nothing here is edited by hand but this header.
Each section says when it ran, on which commit and build, and the exact
command, so any row can be produced again:

- **fuzz**: `make fuzz FUZZ_SECONDS=N` (tests/fuzz/run.sh), libFuzzer
  with ASan and UBSan; per target the executions, the coverage at the
  end (`cov`: edges, `ft`: features), the corpus size, the findings.
- **soak**: `make soak` or `make soak SANITIZE=1` (bench/soak.py); one
  row per check, PASS / FAIL / INFO with its numbers.  bench/README.md
  says what each scenario does and how each tolerance was chosen.
"""


def git(*args):
    try:
        return subprocess.run(["git", "-C", TOP] + list(args),
                              capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def write_results(run, path, argv):
    dirty = [l for l in git("status", "--porcelain", "-uno").splitlines()
             if not l.endswith("bench/RESULTS.md")]
    commit = (git("rev-parse", "--short", "HEAD") or "?") + \
        (" with local changes" if dirty else "")
    if run.args.label:
        commit = run.args.label
    build = "ASan+UBSan build (%s), ASAN_OPTIONS=%s" % (
        run.build, run.env.get("ASAN_OPTIONS")) if run.args.sanitize \
        else "plain build (%s)" % run.build
    fresh = not os.path.exists(path)
    with open(path, "a") as f:
        if fresh:
            f.write(RESULTS_HEAD)
        f.write("\n## soak %s, commit %s\n\n"
                % (time.strftime("%Y-%m-%d %H:%M UTC",
                                 time.gmtime(run.started)), commit))
        f.write("- build: %s\n" % build)
        f.write("- command: `%s`\n" % " ".join(argv))
        f.write("- machine: %d CPUs, Linux %s, %.0f s in all\n\n"
                % (os.cpu_count(), os.uname().release,
                   time.time() - run.started))
        f.write("| check | result | numbers |\n|---|---|---|\n")
        for scen, check, verdict, numbers in run.rows:
            f.write("| %s.%s | %s | %s |\n" % (scen, check, verdict,
                                               numbers.replace("|", "/")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--sanitize", action="store_true")
    ap.add_argument("--results", help="append the table to this file")
    ap.add_argument("--only", default="abcdefg",
                    help="scenarios to run, e.g. ab (default: all)")
    ap.add_argument("--kill-seconds", type=float, default=60)
    ap.add_argument("--reloads", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true",
                    help="keep the run's directory (logs, configs)")
    ap.add_argument("--label", help="what was built, for the results, "
                    "when it is not this tree's commit")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("soak: must run as root (setpriv, prlimit --pid)",
              file=sys.stderr)
        return 2
    try:
        run = Run(args)
    except SetupError as e:
        print("soak: %s" % e, file=sys.stderr)
        return 2
    rc = 0
    try:
        for s in args.only.replace(",", ""):
            if s not in SCENARIOS:
                print("soak: no scenario %s" % s, file=sys.stderr)
                return 2
            print("== %s: %s" % (s, SCENARIOS[s].__doc__), flush=True)
            try:
                SCENARIOS[s](run)
            except SetupError as e:
                run.result(s, "setup", False, str(e))
            except Exception as e:	# a broken run is a failed check
                run.result(s, "error", False, "%s: %s"
                           % (type(e).__name__, e))
            for d in run.daemons:
                d.kill()
    finally:
        run.cleanup()
        if args.results:
            write_results(run, args.results, ["python3"] + sys.argv)
    nfail = sum(1 for r in run.rows if r[2] == "FAIL")
    print("soak: %d checks, %d failed" % (len(run.rows), nfail))
    if nfail:
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
