#!/usr/bin/env bash
# Load: 64 threads streaming at once through one process, and 32 processes
# calling into one collector, with exact record counts: every call has its
# record, once, with its own thread or process; no drop; the collector ends
# with the file descriptors it began with (no client leaks).
#
# By default one round of each (seconds). A bounded soak repeats the rounds
# for ELAINE_SOAK_SECONDS (default 300) and also bounds the collector's memory:
#   ELAINE_SOAK=1 ctest -R soak --output-on-failure
#   ELAINE_SOAK=1 ELAINE_SOAK_SECONDS=900 bash tests/integration/test_fault_soak.sh
source "$(dirname "$0")/lib.sh"
start_mock --delay-ms 10
start_collector
cpid=$(collector_pid)
fds() { ls "/proc/$cpid/fd" | wc -l; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$cpid/status"; }
fds0=$(fds)

cat >"$T/threads.py" <<'PYEOF'
# 64 threads, each its own connection, released together; each streams one call.
import json, os, sys, threading
import httpx
from elaine_client import *
N, rnd = 64, int(sys.argv[1])
barrier = threading.Barrier(N)
errors, tids = [], {}
def worker(i):
    try:
        with httpx.Client(verify=CA, timeout=60) as c:
            barrier.wait()
            text = "soak round %d thread %d streams" % (rnd, i)
            got = chat_httpx(text, stream=True, usage=i % 2 == 0, client=c)
            assert got == "Echo: " + text, (got, text)
            tids[text] = threading.get_native_id()
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors[:3]
print(json.dumps({"pid": os.getpid(), "tids": tids}))
PYEOF

cat >"$T/proc.py" <<'PYEOF'
# one of 32 processes: a plain and a streamed call
import os, sys
from elaine_client import *
rnd, p = int(sys.argv[1]), int(sys.argv[2])
for k, stream in enumerate((False, True)):
    text = "soak round %d process %d call %d" % (rnd, p, k)
    assert chat_urllib(text, stream=stream, usage=True) == "Echo: " + text
print(os.getpid())
PYEOF

total=0
# round_threads N: one round of 64 threads; checks its 64 records.
round_threads() {
  local rnd=$1
  timeout 120 "${SHIM_ENV[@]}" "$PY" "$T/threads.py" "$rnd" >"$T/threads.out" 2>"$T/threads.err" ||
    fail "round $rnd: the 64-thread client failed ($?): $(tail -n 5 "$T/threads.err")"
  total=$((total + 64))
  wait_records "$total" 30
  ROUND=$rnd TOTAL=$total OUT=$(cat "$T/threads.out") check_records_script <<'EOF'
import json
out, rnd = json.loads(env["OUT"]), int(env["ROUND"])
ok(len(uniq) == int(env["TOTAL"]), "%d unique records, want %s" % (len(uniq), env["TOTAL"]))
mine = [r for r in uniq if (last_user(r) or "").startswith("soak round %d thread " % rnd)]
ok(len(mine) == 64, "round %d: %d thread records, want 64" % (rnd, len(mine)))
for text, tid in out["tids"].items():
    r = find(text)
    chat_ok(r, usage=int(text.split()[4]) % 2 == 0)
    ok(r["pid"] == out["pid"] and r["tid"] == tid, "record %s: pid/tid %r/%r, want %r/%r" % (r["id"], r["pid"], r["tid"], out["pid"], tid))
ok(len({r["tid"] for r in mine}) == 64, "want 64 distinct tids")
EOF
}

# round_procs N: one round of 32 processes at once; checks their 64 records.
round_procs() {
  local rnd=$1 p
  local -a pids=()
  for ((p = 0; p < 32; p++)); do
    timeout 120 "${SHIM_ENV[@]}" "$PY" "$T/proc.py" "$rnd" "$p" >"$T/proc$p.out" 2>"$T/proc$p.err" &
    pids+=($!)
  done
  for ((p = 0; p < 32; p++)); do
    wait "${pids[$p]}" || fail "round $rnd: process $p failed: $(tail -n 5 "$T/proc$p.err")"
    [[ ! -s $T/proc$p.err ]] || fail "round $rnd: process $p stderr: $(cat "$T/proc$p.err")"
  done
  total=$((total + 64))
  wait_records "$total" 30
  local pidlist
  pidlist=$(cat "$T"/proc{0..31}.out | tr '\n' ' ')
  ROUND=$rnd TOTAL=$total PIDS=$pidlist check_records_script <<'EOF'
rnd, pids = int(env["ROUND"]), [int(x) for x in env["PIDS"].split()]
ok(len(uniq) == int(env["TOTAL"]), "%d unique records, want %s" % (len(uniq), env["TOTAL"]))
for p in range(32):
    for k in range(2):
        r = find("soak round %d process %d call %d" % (rnd, p, k))
        chat_ok(r)
        ok(r["pid"] == pids[p], "record %s: pid %r, want %r" % (r["id"], r["pid"], pids[p]))
EOF
}

soak=${ELAINE_SOAK:-0}
deadline=$((SECONDS + ${ELAINE_SOAK_SECONDS:-300}))
rnd=0 rss1=
while :; do
  round_threads $rnd
  round_procs $rnd
  rnd=$((rnd + 1))
  [[ -z $rss1 ]] && rss1=$(rss_kb)
  [[ $soak == 1 ]] && ((SECONDS < deadline)) || break
done

check_records_script <<'EOF'
ok(len(recs) == len(uniq), "%d duplicate lines without a collector restart" % (len(recs) - len(uniq)))
ok(not [r for r in allrecs if r.get("type") == "drop"], "drop lines")
EOF
# The processes are gone: the collector lets go of their sockets (at once, or
# within its 10 s grace for a process that is still alive: none is).
for ((i = 0; i < 40; i++)); do
  (($(fds) <= fds0)) && break
  sleep 0.25
done
(($(fds) <= fds0)) || fail "the collector holds $(fds) descriptors, $fds0 at start: $(ls -l "/proc/$cpid/fd")"
if [[ $soak == 1 ]]; then
  rss2=$(rss_kb)
  ((rss2 < rss1 * 2 + 20000)) || fail "the collector grew from ${rss1} kB to ${rss2} kB over $rnd rounds"
  echo "test_fault_soak: $rnd rounds, $total records, collector RSS ${rss1} -> ${rss2} kB"
fi
kill -0 "$cpid" || fail "the collector died"
echo "test_fault_soak: ok"
