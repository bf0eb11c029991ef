#!/usr/bin/python3
"""The MemoryElaine benchmarks (tests/bench/run.sh builds the tools and runs this).

Every comparison alternates its variants round by round (the order rotates, so
neither side always runs first) and reports the median of the per-round ratios:
run-to-run noise on this kind of machine is about +-25%, so two single runs
prove nothing. Nothing here is a pass/fail test; the table says where each
number stands against its target.

Benchmarks (--only takes a comma list of these names):
  untouched  wrk over HTTPS to nginx, a 1 KB static file: with/without the shim
  captured   wrk POSTs to /v1/chat/completions: without the shim, with shim and
             collector, with the shim and elaine_sink (a collector that only
             reads and acks: the floor), and through mitmdump (reverse proxy +
             logging addon); records are counted against wrk's completed requests
  latency    sequential Python http.client (and a C client) over TLS: added
             median latency per request and added peak RSS
  ingest     elaine_replay against a collector pinned to one core:
             exchanges/s (JSON) and MB/s of SSE data, the collector's RSS
  callgrind  instruction counts per request of the pass-through (and the
             captured) path, from the slope between two request counts

Every server listens on 127.0.0.1 only; every load loop is bounded in time."""
import argparse
import glob
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY = "/usr/bin/python3"

CHAT_JSON = ('{"id":"chatcmpl-bench0001","object":"chat.completion","created":1700000000,'
             '"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",'
             '"content":"Light rain in Paris today, around 14 degrees: take an umbrella.","refusal":null},'
             '"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":27,"completion_tokens":14,'
             '"total_tokens":41,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":'
             '{"reasoning_tokens":0}},"system_fingerprint":"fp_bench"}')


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELAINE_") and k != "LD_PRELOAD"}
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Bench:
    def __init__(self, a):
        self.a = a
        self.B = os.path.abspath(a.build)
        self.shim = os.path.join(self.B, "shim/libmemoryelaine.so")
        self.collector = os.path.join(self.B, "collector/elaine-collector")
        self.replay = os.path.join(self.B, "tests/bench/elaine_replay")
        self.tls_client = os.path.join(self.B, "tests/bench/elaine_tls_client")
        self.sink = os.path.join(self.B, "tests/bench/elaine_sink")
        # --compare DIR: a second build (a patched tree) run as variant "shim2"
        # beside "shim" in the same alternation, with its own collector.
        self.builds = {"shim": (self.shim, self.collector)}
        if a.compare:
            c = os.path.abspath(a.compare)
            self.builds["shim2"] = (os.path.join(c, "shim/libmemoryelaine.so"),
                                    os.path.join(c, "collector/elaine-collector"))
        for f in [x for pair in self.builds.values() for x in pair]:
            if not os.path.exists(f):
                sys.exit("bench: %s is missing: build first (tests/bench/run.sh builds)" % f)
        self.T = tempfile.mkdtemp(prefix="elaine-bench.", dir="/tmp")
        # The collector writes to a tmpfs: the disk is not what is measured.
        shm = a.log_dir or ("/dev/shm" if os.path.isdir("/dev/shm") else self.T)
        self.S = tempfile.mkdtemp(prefix="elaine-bench.", dir=shm)
        self.sock = os.path.join(self.T, "c.sock")
        self.procs = []
        self.results = {"machine": self.machine(), "args": vars(a), "benchmarks": {}}
        self.rows = []

    # ---- processes ----

    def start(self, argv, name, env=None, cwd=None):
        out = open(os.path.join(self.T, name + ".out"), "ab")
        err = open(os.path.join(self.T, name + ".err"), "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             env=env or clean_env(), cwd=cwd, start_new_session=True)
        out.close()
        err.close()
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if p in self.procs:
            self.procs.remove(p)

    def cleanup(self):
        for p in list(self.procs):
            self.stop(p, timeout=5)
        if self.a.keep:
            log("bench: kept %s and %s" % (self.T, self.S))
        else:
            shutil.rmtree(self.T, ignore_errors=True)
            shutil.rmtree(self.S, ignore_errors=True)

    def machine(self):
        info = {"nproc": os.cpu_count()}
        try:
            info["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
        except (OSError, StopIteration):
            pass
        info["kernel"] = os.uname().release
        return info

    # ---- servers ----

    def start_nginx(self):
        www = os.path.join(self.T, "www")
        os.makedirs(os.path.join(www, "static"), exist_ok=True)
        with open(os.path.join(www, "static/1k.bin"), "wb") as f:
            f.write(b"x" * 1024)
        self.cert, self.key = os.path.join(self.T, "cert.pem"), os.path.join(self.T, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert], check=True, capture_output=True, timeout=60)
        user = "user %s %s;" % (subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip(),
                                 subprocess.run(["id", "-gn"], capture_output=True, text=True).stdout.strip()) \
            if os.getuid() == 0 else ""
        for _ in range(5):
            port = free_port()
            conf = os.path.join(self.T, "nginx.conf")
            tmp = os.path.join(self.T, "nginx-tmp")
            os.makedirs(tmp, exist_ok=True)
            with open(conf, "w") as f:
                f.write("""%(user)s
daemon off;
master_process on;
worker_processes 1;
pid %(T)s/nginx.pid;
error_log %(T)s/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_body_temp_path %(tmp)s/body;
  proxy_temp_path %(tmp)s/proxy;
  fastcgi_temp_path %(tmp)s/fastcgi;
  uwsgi_temp_path %(tmp)s/uwsgi;
  scgi_temp_path %(tmp)s/scgi;
  server {
    listen 127.0.0.1:%(port)d ssl;
    server_name localhost;
    ssl_certificate %(cert)s;
    ssl_certificate_key %(key)s;
    location /static/ { root %(www)s; }
    location = /v1/chat/completions { default_type application/json; return 200 '%(chat)s'; }
  }
}
""" % {"user": user, "T": self.T, "tmp": tmp, "port": port, "cert": self.cert, "key": self.key,
                    "www": www, "chat": CHAT_JSON})
            p = self.start(self.app_cpu() + ["/usr/sbin/nginx", "-p", self.T, "-c", conf, "-e",
                                             os.path.join(self.T, "nginx-error.log")],
                           "nginx")
            if wait_port(port, p):
                self.nginx, self.port = p, port
                return
            self.stop(p)
        sys.exit("bench: nginx did not start: see %s/nginx-error.log" % self.T)

    def start_collector(self, logdir, pin=None, variant="shim", sock=None):
        sock = sock or self.sock
        if os.path.exists(sock):
            os.unlink(sock)
        os.makedirs(logdir, exist_ok=True)
        argv = [self.builds[variant][1], "--socket", sock, "--dir", logdir]
        if pin is not None:
            argv = ["taskset", "-c", str(pin)] + argv
        p = self.start(argv, "collector")
        end = time.time() + 10
        while time.time() < end:
            r = subprocess.run([self.collector, "--ping", "--socket", sock], capture_output=True, timeout=5)
            if r.returncode == 0:
                return p
            if p.poll() is not None:
                break
            time.sleep(0.05)
        sys.exit("bench: the collector did not start: see %s/collector.err" % self.T)

    # --pin-collector: nginx and wrk (with the shim's sender thread) share CPU
    # 0, the collector (or elaine_sink) has CPU 1 to itself: the case of a
    # machine with a core to spare, where the collector's work is not taken
    # from the application's.
    def app_cpu(self):
        return ["taskset", "-c", "0"] if self.a.pin_collector else []

    def collector_cpu(self):
        return ["taskset", "-c", "1"] if self.a.pin_collector else []

    def start_sink(self, log_args=()):
        """elaine_sink on the socket: takes frames and acks them, writes nothing
        (log_args: --log DIR --line FILE, the log's file work only)."""
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        p = self.start(self.collector_cpu() + [self.sink, "--socket", self.sock] + list(log_args), "sink")
        end = time.time() + 10
        while time.time() < end and p.poll() is None:
            if os.path.exists(self.sock):
                return p
            time.sleep(0.02)
        sys.exit("bench: elaine_sink did not start: see %s/sink.err" % self.T)

    def sample_lines(self):
        """Real record lines for elaine_sink --line: the exchange lines of a
        1 s captured run of the collector (at most 4,096 of them)."""
        logdir = os.path.join(self.S, "sample")
        c = self.start_collector(logdir)
        self.wrk("https://127.0.0.1:%d/v1/chat/completions" % self.port, True, shim="shim", duration=1)
        self.wait_idle(c.pid)
        self.stop(c)
        out = os.path.join(self.T, "sample.jsonl")
        n = 0
        with open(os.path.join(logdir, "elaine.jsonl")) as f, open(out, "w") as o:
            for line in f:
                if n < 4096 and line.startswith('{"type":"exchange"'):
                    o.write(line)
                    n += 1
        shutil.rmtree(logdir, ignore_errors=True)
        log("bench captured: %d record lines for the file-work floor" % n)
        return out if n else None

    def start_mitm(self):
        mitm = shutil.which("mitmdump")
        if not mitm:
            return None
        port = free_port()
        self.mitm_log = os.path.join(self.S, "mitm.jsonl")
        env = clean_env(BENCH_MITM_LOG=self.mitm_log)
        p = self.start([mitm, "-q", "--mode", "reverse:https://127.0.0.1:%d" % self.port,
                        "--listen-host", "127.0.0.1", "--listen-port", str(port), "--ssl-insecure",
                        "--set", "confdir=%s" % os.path.join(self.T, "mitm"), "--set", "flow_detail=0",
                        "-s", os.path.join(HERE, "mitm_log_addon.py")], "mitmdump", env=env)
        if not wait_port(port, p, timeout=30):
            log("bench: mitmdump did not start: see %s/mitmdump.err" % self.T)
            self.stop(p)
            return None
        self.mitm, self.mitm_port = p, port
        return p

    # ---- records ----

    def count_records(self, logdir):
        """Exchange lines (unique ids, complete ones), drop lines, the shutdown counters."""
        files = sorted(glob.glob(os.path.join(logdir, "elaine-*.jsonl.zst")))
        ids, complete, incomplete, drops, counters = set(), 0, 0, 0, None
        dup = 0
        for f in files + [os.path.join(logdir, "elaine.jsonl")]:
            if f.endswith(".zst"):
                data = subprocess.run(["zstd", "-dcq", f], capture_output=True, timeout=120).stdout
            elif os.path.exists(f):
                data = open(f, "rb").read()
            else:
                continue
            for line in data.split(b"\n"):
                if not line:
                    continue
                if line.startswith(b'{"type":"exchange"'):
                    r = json.loads(line)
                    if r["id"] in ids:
                        dup += 1
                        continue
                    ids.add(r["id"])
                    if r.get("error") is None and (r.get("response") or {}).get("status") == 200:
                        complete += 1
                    else:
                        incomplete += 1
                elif line.startswith(b'{"type":"drop"'):
                    drops += json.loads(line).get("dropped_events", 0)
                elif line.startswith(b'{"type":"collector"'):
                    c = json.loads(line)
                    if c.get("event") == "shutdown":
                        counters = c
        return {"records": len(ids), "complete": complete, "incomplete": incomplete, "duplicates": dup,
                "dropped_events": drops, "counters": counters}

    # ---- clients ----

    @staticmethod
    def proc_cpu(pid):
        """utime + stime of pid in seconds (0 when gone)."""
        try:
            with open("/proc/%d/stat" % pid) as f:
                rest = f.read().rsplit(")", 1)[1].split()
            return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def wait_idle(self, pid, timeout=60):
        """Waits (bounded) until pid uses no CPU for 0.3 s: the collector has
        written what the client handed it. Returns the seconds waited."""
        t0 = time.monotonic()
        last = self.proc_cpu(pid)
        while time.monotonic() - t0 < timeout:
            time.sleep(0.3)
            now = self.proc_cpu(pid)
            if now - last < 0.005:
                break
            last = now
        return time.monotonic() - t0

    def nginx_workers(self):
        pids = []
        for d in glob.glob("/proc/[0-9]*/stat"):
            try:
                with open(d) as f:
                    rest = f.read().rsplit(")", 1)[1].split()
                if int(rest[1]) == self.nginx.pid:
                    pids.append(int(d.split("/")[2]))
            except (OSError, IndexError, ValueError):
                pass
        return pids

    def wrk(self, url, post, shim=None, extra_env=None, watch=None, duration=None):
        """One wrk run. watch: {name: pid} whose CPU time is measured too
        (nginx's workers always are, wrk's own from its rusage)."""
        env = clean_env(BENCH_POST="1" if post else "0")
        if shim:
            env.update(LD_PRELOAD=self.builds[shim][0], ELAINE_SOCKET=self.sock)
        if extra_env:
            env.update(extra_env)
        cmd = self.app_cpu() + ["wrk", "-t%d" % self.a.threads, "-c%d" % self.a.connections, "-d%ds" % (duration or self.a.duration),
               "-s", os.path.join(HERE, "wrk_bench.lua"), url]
        watch = dict(watch or {})
        for i, pid in enumerate(self.nginx_workers()):
            watch["nginx%d" % i] = pid
        cpu0 = {k: self.proc_cpu(p) for k, p in watch.items()}
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=(duration or self.a.duration) + 60)
        wall = time.monotonic() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = {k: self.proc_cpu(p) - cpu0[k] for k, p in watch.items()}
        cpu["wrk"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        m = re.search(r"^WRKJSON (\{.*\})$", r.stdout, re.M)
        if r.returncode != 0 or not m:
            sys.exit("bench: wrk failed (%d): %s %s" % (r.returncode, r.stdout[-500:], r.stderr[-500:]))
        w = json.loads(m.group(1))
        w["rps"] = w["requests"] / (w["duration_us"] / 1e6)
        w["exit_s"] = wall - w["duration_us"] / 1e6  # process exit after the measured time (the shim's exit flush)
        w["cpu_s"] = cpu
        w["cpu_us_per_request"] = {k: v * 1e6 / max(w["requests"], 1) for k, v in cpu.items()}
        w["errors"] = sum(w[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
        return w

    def rounds(self, variants, n, run):
        """Runs run(variant, round) for each variant, n rounds, the order rotating each round."""
        res = {v: [] for v in variants}
        for i in range(n):
            k = i % len(variants)
            order = variants[k:] + variants[:k]
            for v in order:
                res[v].append(run(v, i))
            log("  round %d/%d: %s" % (i + 1, n, ", ".join("%s %s" % (v, self.fmt_short(res[v][-1])) for v in variants)))
        return res

    @staticmethod
    def fmt_short(x):
        if isinstance(x, dict):
            for k in ("rps", "median_us"):
                if k in x:
                    return "%.0f %s" % (x[k], k)
        return str(x)

    @staticmethod
    def cpu_summary(runs):
        """Median CPU us per request of each process kind (nginx workers summed)."""
        keys = {}
        for r in runs:
            agg = {}
            for k, v in r["cpu_us_per_request"].items():
                kk = "nginx" if k.startswith("nginx") else k
                agg[kk] = agg.get(kk, 0) + v
            for k, v in agg.items():
                keys.setdefault(k, []).append(v)
        return {k: median(v) for k, v in keys.items()}

    @staticmethod
    def cpu_text(d, runs):
        """The CPU per request of each process kind, and how many of the
        machine's cores the measured processes kept busy (median of the runs):
        near all of them, the rps ratio is the ratio of CPU per request; with
        cores to spare, the collector's CPU partly hides in idle time."""
        busy = median([sum(r["cpu_us_per_request"].values()) * r["rps"] / 1e6 for r in runs])
        return (", ".join("%s %.1f" % (k, v) for k, v in sorted(d.items())) +
                "; total %.1f; %.2f of %d cores busy" % (sum(d.values()), busy, os.cpu_count() or 1))

    def row(self, name, value, target, ok, note=""):
        self.rows.append((name, value, target, "yes" if ok else ("NO" if ok is not None else "-"), note))

    # ---- 1. untouched ----

    def bench_untouched(self):
        log("bench untouched: wrk -t%d -c%d -d%ds GET /static/1k.bin, %d rounds" %
            (self.a.threads, self.a.connections, self.a.duration, self.a.rounds))
        url = "https://127.0.0.1:%d/static/1k.bin" % self.port
        res = self.rounds(["none"] + list(self.builds), self.a.rounds,
                          lambda v, i: self.wrk(url, False, shim=None if v == "none" else v))
        ratios = [s["rps"] / n["rps"] for n, s in zip(res["none"], res["shim"])]
        out = {"none_rps": [r["rps"] for r in res["none"]], "shim_rps": [r["rps"] for r in res["shim"]],
               "ratios": ratios, "median_ratio": median(ratios),
               "errors": sum(r["errors"] for r in res["none"] + res["shim"]),
               "cpu_us_per_request": {v: self.cpu_summary(res[v]) for v in res}}
        for v in res:
            self.row("1. untouched: CPU us/request, %s" % v, self.cpu_text(out["cpu_us_per_request"][v], res[v]),
                     "report", None)
        self.results["benchmarks"]["untouched"] = out
        self.row("1. untouched: rps shim / none (median of %d pairs)" % len(ratios),
                 "%.3f (%.3f-%.3f); %.0f vs %.0f rps" % (out["median_ratio"], min(ratios), max(ratios),
                                                        median(out["shim_rps"]), median(out["none_rps"])),
                 ">= 0.98", out["median_ratio"] >= 0.98)
        if "shim2" in res:
            r2 = [s["rps"] / n["rps"] for n, s in zip(res["none"], res["shim2"])]
            out.update(shim2_rps=[r["rps"] for r in res["shim2"]], shim2_ratios=r2, shim2_median_ratio=median(r2))
            self.row("1. untouched: rps shim2 (--compare build) / none", "%.3f (%.3f-%.3f)" %
                     (median(r2), min(r2), max(r2)), ">= 0.98", median(r2) >= 0.98)

    # ---- 2 and 5. captured, and against a proxy ----

    def bench_captured(self):
        variants = ["none"] + list(self.builds)
        # sink: the shim with a collector that only unframes and acks (no
        # parsing, no records): the floor this design can reach on this machine.
        if os.path.exists(self.sink):
            variants.append("sink")
        sample = self.sample_lines() if self.a.io_floor and os.path.exists(self.sink) else None
        if sample:
            variants.append("sinklog")
        if not self.a.no_proxy and self.start_mitm():
            variants.append("mitm")
        elif not self.a.no_proxy:
            log("bench captured: mitmdump not available (apt-get install mitmproxy): no proxy comparison")
        log("bench captured: wrk POST /v1/chat/completions, variants %s, %d rounds" % (variants, self.a.rounds))
        direct = "https://127.0.0.1:%d/v1/chat/completions" % self.port

        def run(v, i):
            if v == "none":
                return self.wrk(direct, True)
            if v == "mitm":
                before = sum(1 for _ in open(self.mitm_log)) if os.path.exists(self.mitm_log) else 0
                w = self.wrk("https://127.0.0.1:%d/v1/chat/completions" % self.mitm_port, True,
                             watch={"mitmdump": self.mitm.pid})
                time.sleep(0.5)  # the addon's buffer
                w["records"] = (sum(1 for _ in open(self.mitm_log)) if os.path.exists(self.mitm_log) else 0) - before
                return w
            if v in ("sink", "sinklog"):
                logdir = os.path.join(self.S, "captured-%s-%d" % (v, i))
                k = self.start_sink(("--log", logdir, "--line", sample) if v == "sinklog" else ())
                w = self.wrk(direct, True, shim="shim", watch={"sink": k.pid})
                time.sleep(0.3)
                self.stop(k)
                shutil.rmtree(logdir, ignore_errors=True)
                return w
            logdir = os.path.join(self.S, "captured-%s-%d" % (v, i))
            c = self.start_collector(logdir, variant=v, pin=1 if self.a.pin_collector else None)
            w = self.wrk(direct, True, shim=v, watch={"collector": c.pid})
            w["collector_drain_s"] = self.wait_idle(c.pid)
            self.stop(c)  # TERM: it writes what is in flight, then its counters
            w.update(self.count_records(logdir))
            if w["dropped_events"]:  # kept for a look at when and where (drop lines against rotations)
                kept = tempfile.mkdtemp(prefix="elaine-bench-drops-%s-%d." % (v, i))
                shutil.move(logdir, kept)
                log("  round %d %s: %d events dropped; its log is kept in %s" % (i + 1, v, w["dropped_events"], kept))
            shutil.rmtree(logdir, ignore_errors=True)
            return w

        res = self.rounds(variants, self.a.rounds, run)
        ratios = [s["rps"] / n["rps"] for n, s in zip(res["none"], res["shim"])]
        shim = res["shim"]
        out = {"none_rps": [r["rps"] for r in res["none"]], "shim_rps": [r["rps"] for r in shim],
               "ratios": ratios, "median_ratio": median(ratios),
               "wrk_requests": [r["requests"] for r in shim], "records": [r["records"] for r in shim],
               "complete_records": [r["complete"] for r in shim],
               "incomplete_records": [r["incomplete"] for r in shim],
               "dropped_events": [r["dropped_events"] for r in shim],
               "wrk_exit_s": [r["exit_s"] for r in shim], "collector_drain_s": [r["collector_drain_s"] for r in shim],
               "counters": [r["counters"] for r in shim]}
        out["cpu_us_per_request"] = {v: self.cpu_summary(res[v]) for v in res}
        for v in res:
            self.row("2. captured: CPU us/request, %s" % v, self.cpu_text(out["cpu_us_per_request"][v], res[v]),
                     "report", None)
        exact = all(r["complete"] == r["requests"] for r in shim)
        # (the drop lines and the shutdown counters count the same drops: the larger of the two a round)
        drops = sum(max(r["dropped_events"], (r["counters"] or {}).get("dropped_events", 0)) for r in shim)
        pinned = " [--pin-collector: nginx+wrk on CPU 0, collector on CPU 1]" if self.a.pin_collector else ""
        self.row("2. captured: rps shim+collector / none (median of %d pairs)%s" % (len(ratios), pinned),
                 "%.3f (%.3f-%.3f); %.0f vs %.0f rps" % (out["median_ratio"], min(ratios), max(ratios),
                                                        median(out["shim_rps"]), median(out["none_rps"])),
                 ">= 0.90", out["median_ratio"] >= 0.90)
        self.row("2. captured: complete records == wrk completed requests",
                 "%s; records %s vs requests %s; in flight at exit (error records) %s; wrk exit after its "
                 "run (the shim's exit flush, at most 2 s) %s s; collector busy after wrk exit %s s" %
                 ("every round" if exact else "NOT in every round", out["complete_records"], out["wrk_requests"],
                  out["incomplete_records"], " ".join("%.1f" % x for x in out["wrk_exit_s"]),
                  " ".join("%.1f" % x for x in out["collector_drain_s"])), "equal", exact)
        self.row("2. captured: dropped events (64 MiB queue)", str(drops), "0", drops == 0)
        if "shim2" in res:
            s2 = res["shim2"]
            r2 = [s["rps"] / n["rps"] for n, s in zip(res["none"], s2)]
            d2 = sum(max(r["dropped_events"], (r["counters"] or {}).get("dropped_events", 0)) for r in s2)
            out.update(shim2_rps=[r["rps"] for r in s2], shim2_ratios=r2, shim2_median_ratio=median(r2),
                       shim2_complete_records=[r["complete"] for r in s2], shim2_wrk_requests=[r["requests"] for r in s2],
                       shim2_dropped=d2)
            self.row("2. captured: rps shim2+collector2 (--compare build) / none", "%.3f (%.3f-%.3f); records %s "
                     "vs requests %s; drops %d" % (median(r2), min(r2), max(r2), out["shim2_complete_records"],
                                                   out["shim2_wrk_requests"], d2), ">= 0.90", median(r2) >= 0.90)
        if "sink" in res:
            kr = [k["rps"] / n["rps"] for n, k in zip(res["none"], res["sink"])]
            out.update(sink_rps=[r["rps"] for r in res["sink"]], sink_ratios=kr, sink_median_ratio=median(kr))
            self.row("2. captured floor: rps shim+elaine_sink (reads and acks only) / none%s" % pinned,
                     "%.3f (%.3f-%.3f); %.0f rps" % (median(kr), min(kr), max(kr), median(out["sink_rps"])),
                     "report", None)
        if "sinklog" in res:
            kr = [k["rps"] / n["rps"] for n, k in zip(res["none"], res["sinklog"])]
            out.update(sinklog_rps=[r["rps"] for r in res["sinklog"]], sinklog_ratios=kr,
                       sinklog_median_ratio=median(kr))
            self.row("2. captured, the log's file work alone: rps shim+elaine_sink writing real record lines "
                     "through the log writer / none%s" % pinned,
                     "%.3f (%.3f-%.3f); %.0f rps" % (median(kr), min(kr), max(kr), median(out["sinklog_rps"])),
                     "report", None)
        if "mitm" in res:
            mr = [m["rps"] / n["rps"] for n, m in zip(res["none"], res["mitm"])]
            sm = [s["rps"] / m["rps"] for s, m in zip(res["shim"], res["mitm"])]
            out.update(mitm_rps=[r["rps"] for r in res["mitm"]], mitm_ratios=mr, mitm_median_ratio=median(mr),
                       shim_over_mitm=sm, shim_over_mitm_median=median(sm),
                       mitm_records=[r["records"] for r in res["mitm"]],
                       mitm_requests=[r["requests"] for r in res["mitm"]],
                       mitm_errors=[r["errors"] for r in res["mitm"]])
            self.row("5. proxy: rps mitmdump(reverse, logging) / none",
                     "%.3f (%.3f-%.3f); %.0f rps" % (median(mr), min(mr), max(mr), median(out["mitm_rps"])),
                     "report", None)
            self.row("5. proxy: rps shim+collector / mitmdump", "%.1fx" % median(sm), "report", None)
        self.results["benchmarks"]["captured"] = out

    # ---- 3. latency ----

    def bench_latency(self):
        n, rounds = self.a.requests, self.a.latency_rounds
        log("bench latency: %d sequential requests per run, %d rounds" % (n, rounds))
        logdir = os.path.join(self.S, "latency")
        c = self.start_collector(logdir)
        out = {}
        cases = [("python", "POST", "/v1/chat/completions"), ("python", "GET", "/static/1k.bin")]
        if os.path.exists(self.tls_client):
            cases += [("c", "POST", "/v1/chat/completions"), ("c", "GET", "/static/1k.bin")]
        for client, method, path in cases:
            def run(v, i, client=client, method=method, path=path):
                env = clean_env()
                if v != "none":
                    env.update(LD_PRELOAD=self.builds[v][0], ELAINE_SOCKET=self.sock)
                if client == "python":
                    cmd = [PY, os.path.join(HERE, "bench_client.py"), str(self.port), path, str(n)]
                    if method == "POST":
                        cmd.append("--post")
                    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
                    if r.returncode != 0:
                        sys.exit("bench: bench_client.py failed: " + r.stderr[-500:])
                    return json.loads(r.stdout.strip().splitlines()[-1])
                cmd = [self.tls_client, str(self.port), path, str(n), "--warmup", "100"]
                if method == "POST":
                    cmd.append("--post")
                r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
                if r.returncode != 0:
                    sys.exit("bench: elaine_tls_client failed: " + r.stderr[-500:])
                return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", r.stdout)}

            log(" %s %s %s" % (client, method, path))
            res = self.rounds(["none"] + list(self.builds), rounds, run)
            dl = [s["median_us"] - b["median_us"] for b, s in zip(res["none"], res["shim"])]
            dr = [(s["maxrss_kib"] - b["maxrss_kib"]) / 1024.0 for b, s in zip(res["none"], res["shim"])]
            key = "%s_%s" % (client, method.lower())
            out[key] = {"none_median_us": [r["median_us"] for r in res["none"]],
                        "shim_median_us": [r["median_us"] for r in res["shim"]],
                        "added_median_us": dl, "added_median_us_median": median(dl),
                        "none_maxrss_kib": [r["maxrss_kib"] for r in res["none"]],
                        "shim_maxrss_kib": [r["maxrss_kib"] for r in res["shim"]],
                        "added_rss_mib": dr, "added_rss_mib_median": median(dr)}
            captured = method == "POST"
            label = "%s %s %s" % ({"python": "python http.client", "c": "C client"}[client], method,
                                  "(captured)" if captured else "(untouched)")
            target = client == "python" and captured
            self.row("3. latency: %s: added median us/request" % label,
                     "%+.1f us (%.1f vs %.1f us; pairs %s)" % (median(dl), median(out[key]["shim_median_us"]),
                                                            median(out[key]["none_median_us"]),
                                                            " ".join("%+.0f" % x for x in dl)),
                     "<= 20 us" if target else "report", median(dl) <= 20 if target else None)
            self.row("3. latency: %s: added peak RSS" % label, "%+.2f MiB" % median(dr),
                     "<= 4 MiB" if client == "python" else "report",
                     median(dr) <= 4 if client == "python" else None)
            if "shim2" in res:
                d2 = [s["median_us"] - b["median_us"] for b, s in zip(res["none"], res["shim2"])]
                r2 = [(s["maxrss_kib"] - b["maxrss_kib"]) / 1024.0 for b, s in zip(res["none"], res["shim2"])]
                out[key].update(shim2_added_median_us=d2, shim2_added_rss_mib=r2)
                self.row("3. latency: %s: shim2 (--compare build) added median us, peak RSS" % label,
                         "%+.1f us, %+.2f MiB" % (median(d2), median(r2)), "report", None)
        self.stop(c)
        cnt = self.count_records(logdir)
        out["records"] = cnt
        self.results["benchmarks"]["latency"] = out

    # ---- 4. ingest ----

    def bench_ingest(self):
        if not os.path.exists(self.replay):
            log("bench ingest: %s is missing (cmake --build B --target bench_tools)" % self.replay)
            return
        log("bench ingest: elaine_replay -> collector pinned to CPU 0, %d repetitions" % self.a.ingest_reps)
        pin = ["taskset", "-c", "1"] if (os.cpu_count() or 1) > 1 else []
        runs = [("json", ["--mode", "json", "--exchanges", str(self.a.json_exchanges)]),
                ("sse", ["--mode", "sse", "--exchanges", str(self.a.sse_exchanges)]),
                ("sse_small_reads", ["--mode", "sse", "--exchanges", str(self.a.sse_exchanges // 2), "--read-size", "0"])]
        # One collector per build, kept for every repetition (its RSS over time).
        cols = {}
        for v in self.builds:
            sock = self.sock + "." + v
            cols[v] = (self.start_collector(os.path.join(self.S, "ingest-" + v), pin=0, variant=v, sock=sock), sock)
        outs = {v: {k: [] for k, _ in runs} for v in self.builds}
        rss = {v: [] for v in self.builds}
        variants = list(self.builds)
        for rep in range(self.a.ingest_reps):
            order = variants[rep % len(variants):] + variants[:rep % len(variants)]
            for name, args in runs:
                for v in order:
                    c, sock = cols[v]
                    cmd = pin + [self.replay, "--socket", sock, "--pid", str(c.pid), "--max-seconds", "120"] + args
                    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                    kv = dict(re.findall(r"(\w+)=(\S+)", r.stdout.splitlines()[0] if r.stdout else ""))
                    if r.returncode != 0 or not kv:
                        log("bench ingest: elaine_replay failed: %s %s" % (r.stdout[-300:], r.stderr[-300:]))
                        continue
                    samples = re.search(r"rss_samples_kib=(\S+)", r.stdout)
                    kv = {k: (float(x) if re.fullmatch(r"-?[\d.]+", x) else x) for k, x in kv.items()}
                    kv["rss_samples"] = samples.group(1) if samples else ""
                    outs[v][name].append(kv)
                    rss[v].append(kv["rss_max_kib"])
                    log("  %s %s #%d: %.0f exchanges/s, %.1f MB/s (per collector CPU-s: %.0f, %.1f), RSS max %.0f KiB" %
                        (v, name, rep + 1, kv["exchanges_per_s"], kv["MB_per_s"], kv["exchanges_per_cpu_s"],
                         kv["MB_per_cpu_s"], kv["rss_max_kib"]))
        for v in self.builds:
            c, sock = cols[v]
            self.stop(c)
            outs[v]["counters"] = self.count_records(os.path.join(self.S, "ingest-" + v))["counters"]
            shutil.rmtree(os.path.join(self.S, "ingest-" + v), ignore_errors=True)
            outs[v]["rss_max_kib_per_run"] = rss[v]
        self.results["benchmarks"]["ingest"] = outs
        for v in self.builds:
            out, tag = outs[v], "" if v == "shim" else " [%s: --compare build]" % v
            if out["json"]:
                x = median([r["exchanges_per_cpu_s"] for r in out["json"]])
                self.row("4. ingest: non-streamed exchanges per collector CPU-second (one core)" + tag,
                         "%.0f (wall clock %.0f/s, collector CPU use %.2f)" %
                         (x, median([r["exchanges_per_s"] for r in out["json"]]),
                          median([r["collector_cpu_util"] for r in out["json"]])), ">= 50000", x >= 50000)
            if out["sse"]:
                x = median([r["MB_per_cpu_s"] for r in out["sse"]])
                self.row("4. ingest: SSE MB per collector CPU-second, 16 KiB Data events" + tag,
                         "%.1f (wall clock %.1f MB/s, collector CPU use %.2f)" %
                         (x, median([r["MB_per_s"] for r in out["sse"]]),
                          median([r["collector_cpu_util"] for r in out["sse"]])), ">= 200", x >= 200)
            if out["sse_small_reads"]:
                x = median([r["MB_per_cpu_s"] for r in out["sse_small_reads"]])
                self.row("4. ingest: SSE MB per collector CPU-second, one Data event per SSE event" + tag,
                         "%.1f" % x, "report", None)
            if rss[v]:
                first, last = rss[v][0], rss[v][-1]
                self.row("4. ingest: collector RSS, peak per run (KiB)" + tag, " ".join("%.0f" % x for x in rss[v]),
                         "bounded, flat", last <= max(first * 1.25, first + 16384))

    # ---- callgrind ----

    def callgrind_run(self, path, n, shim, post, variant="shim"):
        out = os.path.join(self.T, "cg.%s.%d.%d.%s" % ("post" if post else "get", n, shim, variant))
        env = clean_env()
        if shim:
            env.update(LD_PRELOAD=self.builds[variant][0], ELAINE_SOCKET=self.sock)
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, self.tls_client,
               str(self.port), path, str(n)] + (["--post"] if post else [])
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            sys.exit("bench: callgrind run failed: " + r.stderr[-800:])
        total = None
        for line in open(out):
            if line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
        ann = subprocess.run(["callgrind_annotate", "--threshold=100", out], capture_output=True, text=True,
                             timeout=300).stdout
        shim_ir = 0
        fns = {}
        for line in ann.splitlines():
            m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(\S+?):(\S+)\s+\[(.*)\]", line)
            if m and "libmemoryelaine" in m.group(4):
                ir = int(m.group(1).replace(",", ""))
                shim_ir += ir
                fns[m.group(3)] = ir
        return total, shim_ir, fns

    def bench_callgrind(self):
        if not shutil.which("valgrind") or not os.path.exists(self.tls_client):
            log("bench callgrind: valgrind or elaine_tls_client missing: skipped")
            return
        n1, n2 = self.a.cg_requests
        out = {}
        for post, path in ((False, "/static/1k.bin"), (True, "/v1/chat/completions")):
            key = "post" if post else "get"
            log("bench callgrind: %s %s, %d and %d requests" % ("POST" if post else "GET", path, n1, n2))
            base = {n: self.callgrind_run(path, n, 0, post) for n in (n1, n2)}
            none_per = (base[n2][0] - base[n1][0]) / (n2 - n1)
            for v in self.builds:
                c = self.start_collector(os.path.join(self.S, "callgrind-" + v), variant=v) if post else None
                r = {n: self.callgrind_run(path, n, 1, post, variant=v) for n in (n1, n2)}
                if c:
                    self.stop(c)
                per = (r[n2][0] - r[n1][0]) / (n2 - n1)
                shim_per = (r[n2][1] - r[n1][1]) / (n2 - n1)
                fn_per = {f: (r[n2][2].get(f, 0) - r[n1][2].get(f, 0)) / (n2 - n1) for f in r[n2][2]}
                fn_per = dict(sorted(((f, x) for f, x in fn_per.items() if x >= 0.5), key=lambda kv: -kv[1]))
                out.setdefault(v, {})[key] = {
                    "ir_per_request_none": none_per, "ir_per_request_shim": per, "added_ir_per_request": per - none_per,
                    "shim_self_ir_per_request": shim_per, "shim_functions_ir_per_request": fn_per,
                    "shim_startup_ir": r[n1][1] - n1 * shim_per}
                label = "captured POST" if post else "pass-through GET"
                tag = "" if v == "shim" else " [%s: --compare build]" % v
                self.row("callgrind: %s: instructions per request, shim - none%s" % (label, tag),
                         "%+.0f of %.0f (%.2f%%); in the shim's own code %.0f (%s)" %
                         (per - none_per, none_per, 100.0 * (per - none_per) / none_per, shim_per,
                          ", ".join("%s %.0f" % kv for kv in list(fn_per.items())[:6])), "report", None)
        self.results["benchmarks"]["callgrind"] = out

    # ---- all ----

    def run(self):
        self.start_nginx()
        log("bench: nginx on 127.0.0.1:%d, work dir %s, logs on %s" % (self.port, self.T, self.S))
        only = set(self.a.only.split(",")) if self.a.only else None
        for name in ("untouched", "captured", "latency", "ingest", "callgrind"):
            if only is None or name in only:
                getattr(self, "bench_" + name)()
        return self.report()

    def report(self):
        w0 = max(len(r[0]) for r in self.rows) if self.rows else 10
        w1 = max(len(r[1]) for r in self.rows) if self.rows else 10
        lines = ["| %s | %s | target | met |" % ("benchmark".ljust(w0), "result".ljust(w1)),
                 "| %s | %s | --- | --- |" % ("-" * w0, "-" * w1)]
        for name, value, target, ok, _ in self.rows:
            lines.append("| %s | %s | %s | %s |" % (name.ljust(w0), value.ljust(w1), target, ok))
        table = "\n".join(lines)
        print(table)
        self.results["table"] = self.rows
        with open(self.a.out, "w") as f:
            json.dump(self.results, f, indent=1)
        log("bench: details in %s" % self.a.out)
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("ELAINE_BUILD_DIR") or os.path.join(ROOT, "build"))
    ap.add_argument("--only", help="comma list: untouched,captured,latency,ingest,callgrind")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds of the wrk benchmarks")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--log-dir", default=None,
                    help="where the collectors' logs go (a new folder in it); default /dev/shm (tmpfs), "
                         "e.g. /var/tmp for a disk like the default ~/.local/state")
    ap.add_argument("--requests", type=int, default=2000, help="requests per latency run")
    ap.add_argument("--latency-rounds", type=int, default=9)
    ap.add_argument("--ingest-reps", type=int, default=3)
    ap.add_argument("--json-exchanges", type=int, default=200000)
    ap.add_argument("--sse-exchanges", type=int, default=2000)
    ap.add_argument("--cg-requests", type=lambda s: tuple(int(x) for x in s.split(",")), default=(500, 1500))
    ap.add_argument("--no-proxy", action="store_true", help="skip mitmdump")
    ap.add_argument("--pin-collector", action="store_true",
                    help="nginx and wrk on CPU 0, the collector (or elaine_sink) alone on CPU 1")
    ap.add_argument("--io-floor", action="store_true",
                    help="captured: also elaine_sink writing real record lines through the collector's log "
                         "writer (variant sinklog): what the log's file work alone costs")
    ap.add_argument("--compare", metavar="DIR", help="a second build dir (e.g. a patched tree): variant shim2")
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    ap.add_argument("--out", default="/tmp/elaine-bench-results.json")
    a = ap.parse_args()
    b = Bench(a)
    try:
        return b.run()
    finally:
        b.cleanup()


if __name__ == "__main__":
    sys.exit(main())
