#!/usr/bin/python3
"""Sequential HTTPS client of tests/bench: N requests with http.client on one
keep-alive TLS connection, each timed from request() to the end of read().

  bench_client.py PORT PATH N [--post] [--warmup W]

Prints one JSON line: median/p90/p99/mean latency in microseconds and the
process's peak RSS (VmHWM, KiB) after the run."""
import http.client
import json
import ssl
import sys
import time

BODY = json.dumps({"model": "gpt-4o-mini", "messages": [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the weather like in Paris today?"}]}).encode()


def main():
    port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    post = "--post" in sys.argv
    warmup = int(sys.argv[sys.argv.index("--warmup") + 1]) if "--warmup" in sys.argv else 100
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench-not-a-key"} if post else {}
    method, body = ("POST", BODY) if post else ("GET", None)
    lat = []
    clock = time.perf_counter_ns
    for i in range(warmup + n):
        t0 = clock()
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        t1 = clock()
        if r.status != 200 or not data:
            print("bench_client: request %d: status %d" % (i, r.status), file=sys.stderr)
            sys.exit(1)
        if i >= warmup:
            lat.append((t1 - t0) / 1000.0)
    conn.close()
    lat.sort()
    print(json.dumps({"requests": n, "median_us": lat[n // 2], "p90_us": lat[n * 9 // 10],
                      "p99_us": lat[n * 99 // 100], "mean_us": sum(lat) / n,
                      "maxrss_kib": peak_rss_kib()}))


def peak_rss_kib():
    """VmHWM: the peak RSS of this process image (ru_maxrss would carry the
    parent's peak over when the parent spawned us with vfork)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


main()
