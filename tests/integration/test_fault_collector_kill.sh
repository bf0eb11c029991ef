#!/usr/bin/env bash
# Faults: the collector killed with SIGKILL.
#  1. Mid-stream: 6 threads stream (30 ms before each event) on kept-alive
#     connections; the collector is killed while streams are in flight, stays
#     down for 1.5 s while the calls go on, is restarted, killed again at once
#     and restarted. The shim reconnects, resends what was not acknowledged:
#     every call has exactly one whole record after dedupe by id, no drops.
#  2. While writing: 3 processes make quick calls and the collector, rotating
#     every 24 KiB, is killed and restarted 4 times. Every line of every file
#     (active and rotated) is whole JSON, every call has its record.
#  3. The leftovers of a kill at the worst moment: a half line at the end of
#     elaine.jsonl, a rotated file not yet compressed, a stale .zst.tmp. On
#     restart the half line is cut, the rotation finished, the tmp removed,
#     and writing continues in whole lines.
source "$(dirname "$0")/lib.sh"
start_mock --delay-ms 30
start_collector

# restart_collector: starts it again after a kill (same socket, directory, pidfile).
restart_collector() {
  local old=$1
  start_collector --max-file-size "${MAX_SIZE:-64M}"
  [[ $(collector_pid) != "$old" ]] || fail "the collector was not restarted"
}

# ---- 1. killed mid-stream, twice --------------------------------------------------
"${SHIM_ENV[@]}" "$PY" - >"$T/stream.out" 2>"$T/stream.err" <<'PYEOF' &
import threading, requests
from elaine_client import *
N, ROUNDS = 6, 6
errors = []
def worker(i):
    try:
        s = requests.Session()
        for k in range(ROUNDS):
            text = "killed collector thread %d round %d tells a story of some length" % (i, k)
            got = chat_requests(text, stream=True, usage=k % 2 == 0, session=s)
            assert got == "Echo: " + text, (got, text)
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors
import os, time
open(os.path.join(os.environ["T"], "streams.done"), "w").close()
end = time.time() + 40  # alive until the test has seen every record: no help from the exit flush
while not os.path.exists(os.path.join(os.environ["T"], "streams.go")):
    assert time.time() < end, "timed out waiting for streams.go"
    time.sleep(0.05)
print("streams done")
PYEOF
client=$!
wait_records 6 20 # round 0 is written: round 1 is streaming now
sleep 0.2
n1=$(count_records)
old=$(collector_pid)
kill_collector KILL
((n1 < 36)) || fail "all calls were done before the kill"
sleep 1.5 # calls go on without a collector
kill -0 "$client" 2>/dev/null || fail "the client ended during the outage: too fast to test"
restart_collector "$old"
sleep 0.3
old=$(collector_pid)
kill_collector KILL
restart_collector "$old"
await_file streams.done "$client"
# the shim reconnects by itself (backoff at most 1.6 s) and resends
wait_records 36 10
touch "$T/streams.go"
wait "$client" || fail "the client failed: $(cat "$T/stream.err")"
[[ $(cat "$T/stream.out") == "streams done" && ! -s $T/stream.err ]] || fail "client output: $(cat "$T/stream.out" "$T/stream.err")"
export CLIENT_PID=$client
check_records_script <<'EOF'
ok(len(uniq) == 36, "%d unique records, want 36" % len(uniq))
for i in range(6):
    for k in range(6):
        chat_ok(find("killed collector thread %d round %d tells a story of some length" % (i, k)), usage=k % 2 == 0)
ok(all(r["pid"] == int(env["CLIENT_PID"]) for r in recs), "pids %r" % {r["pid"] for r in recs})
ok(not [r for r in allrecs if r.get("type") == "drop"], "drop lines")
starts = [r for r in allrecs if r.get("type") == "collector" and r.get("event") == "start"]
ok(len(starts) == 3, "%d collector start lines, want 3" % len(starts))
EOF
check_whole_lines >/dev/null
stop_collector
rm -rf "$LOGDIR"

# ---- 2. killed while writing and rotating, 4 times ------------------------------
start_mock # no delay: as many records a second as the machine gives
MAX_SIZE=24K
start_collector --max-file-size $MAX_SIZE
# The writers stay alive until the last restart (the bounded wait of an exiting
# process for a collector is another matter: test_fault_collector_stop.sh).
cat >"$T/writer.py" <<'PYEOF'
import os, sys, time, requests
from elaine_client import *
s = requests.Session()
for k in range(50):
    text = "writer %s call %d" % (sys.argv[1], k)
    assert chat_requests(text, session=s) == "Echo: " + text
    time.sleep(0.01)
end = time.time() + 40
while not os.path.exists(os.path.join(os.environ["T"], "writers.go")):
    assert time.time() < end, "timed out waiting for writers.go"
    time.sleep(0.05)
print("writer done")
PYEOF
writers=()
for w in 0 1 2; do
  "${SHIM_ENV[@]}" "$PY" "$T/writer.py" $w >"$T/writer$w.out" 2>"$T/writer$w.err" &
  writers+=($!)
done
wait_records 10 20
(($(count_records) < 150)) || fail "the writers were done before the first kill"
for kill_no in 1 2 3 4; do
  old=$(collector_pid)
  kill_collector KILL
  restart_collector "$old"
  sleep 0.3
done
touch "$T/writers.go"
for w in 0 1 2; do
  wait "${writers[$w]}" || fail "writer $w failed: $(cat "$T/writer$w.err")"
  [[ $(cat "$T/writer$w.out") == "writer done" && ! -s $T/writer$w.err ]] || fail "writer $w: $(cat "$T/writer$w.out" "$T/writer$w.err")"
done
wait_records 150 20
check_whole_lines >/dev/null
ls "$LOGDIR"/elaine-*.jsonl.zst >/dev/null 2>&1 || fail "no rotation happened"
check_records_script <<'EOF'
ok(len(uniq) == 150, "%d unique records, want 150" % len(uniq))
for w in range(3):
    for k in range(50):
        chat_ok(find("writer %d call %d" % (w, k)))
EOF

# ---- 3. the leftovers of a kill in the middle of a write and of a rotation -------
old=$(collector_pid)
kill_collector KILL
MAX_SIZE=64M # no rotation from here: the line count of elaine.jsonl is checked
before=$(wc -l <"$LOGDIR/elaine.jsonl")
printf '%s' '{"type":"exchange","id":"torn-by-a-kill","ts":"2026-01-01T00:00:00.000000Z","pid":1,"req' >>"$LOGDIR/elaine.jsonl"
leftover=$LOGDIR/elaine-20000101T000000.000000Z.jsonl
printf '%s\n' '{"type":"collector","ts":"2000-01-01T00:00:00.000000Z","event":"start","pid":1}' \
  '{"type":"collector","ts":"2000-01-01T00:00:01.000000Z","event":"rotate","pid":1}' >"$leftover"
chmod 600 "$leftover"
echo garbage >"$LOGDIR/elaine-20000101T000001.000000Z.jsonl.zst.tmp"
restart_collector "$old"
run_shim "$PY" -c 'from elaine_client import *; print(chat_urllib("after the torn line"))' >"$T/after.out" ||
  fail "the call after the restart failed"
[[ $(cat "$T/after.out") == "Echo: after the torn line" ]] || fail "output: $(cat "$T/after.out")"
wait_records 151 10
stop_collector
check_whole_lines >/dev/null
grep -q torn-by-a-kill "$LOGDIR/elaine.jsonl" && fail "the half line is still in elaine.jsonl"
(($(wc -l <"$LOGDIR/elaine.jsonl") >= before + 3)) || fail "elaine.jsonl lost lines: $before before the kill, now $(wc -l <"$LOGDIR/elaine.jsonl")"
[[ ! -e $leftover && -f $leftover.zst ]] || fail "the rotated leftover was not compressed: $(ls "$LOGDIR")"
[[ $(zstd -dcq "$leftover.zst" | wc -l) == 2 ]] || fail "the compressed leftover lost lines"
[[ ! -e $LOGDIR/elaine-20000101T000001.000000Z.jsonl.zst.tmp ]] || fail "the stale .zst.tmp is still there"
check_records 'chat_ok(find("after the torn line")) and len(uniq) == 151'
echo "test_fault_collector_kill: ok"
