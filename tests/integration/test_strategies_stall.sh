#!/usr/bin/env bash
# A stalled collector (SIGSTOP) under a client that sends more than the shim's
# queue holds (ELAINE_QUEUE_MB=1; 40 calls of ~96 KiB each way, random text so
# gzip cannot shrink the replies), one kept-alive requests.Session on TLS:
#   async (default): the client is not held (its calls finish while the
#     collector is stopped); events are dropped, and once the collector runs
#     again a drop line reports them while the client still runs; complete
#     records + dropped events account for the calls; elaine stats shows them.
#   ELAINE_MODE=sync: the client is held while the collector is stopped; after
#     SIGCONT every call has its complete record and nothing is dropped.
#   sync with ELAINE_SYNC_TIMEOUT_MS=200: held at most that long per event,
#     then dropped and counted: the client finishes while the collector is
#     stopped, and the drop line follows.
source "$(dirname "$0")/lib.sh"
start_mock
export CALLS=40 SIZE=98304

cat >"$T/stall_client.py" <<'PYEOF'
# stall_client.py TAG: a warm-up call, "ready", wait for "go", CALLS calls
# (progress after each), "done" with the seconds they took, wait for "exit".
import base64, os, sys, time, requests
from elaine_client import *
T, tag = os.environ["T"], sys.argv[1]
calls, size = int(os.environ["CALLS"]), int(os.environ["SIZE"])
def mark(name, text=""):
    with open("%s/%s-%s.tmp" % (T, tag, name), "w") as f:
        f.write(text)
    os.replace("%s/%s-%s.tmp" % (T, tag, name), "%s/%s-%s" % (T, tag, name))
def wait(name, limit):
    end = time.monotonic() + limit
    while not os.path.exists("%s/%s-%s" % (T, tag, name)):
        assert time.monotonic() < end, "no %s file" % name
        time.sleep(0.01)
s = requests.Session()
assert chat_requests(tag + " warmup", session=s) == "Echo: " + tag + " warmup"
mark("ready")
wait("go", 30)
t0 = time.monotonic()
for i in range(calls):
    text = "%s call %d %s" % (tag, i, base64.b64encode(os.urandom(size * 3 // 4)).decode())
    got = chat_requests(text, session=s)
    assert got == "Echo: " + text, "call %d: wrong reply" % i
    mark("progress", str(i + 1))
mark("done", "%.3f" % (time.monotonic() - t0))
wait("exit", 60)
PYEOF

# wait_file PATH SECONDS: 0 once PATH exists, 1 after SECONDS.
wait_file() {
  local end=$((SECONDS + $2))
  while [[ ! -e $1 ]]; do
    ((SECONDS < end)) || return 1
    sleep 0.02
  done
}
# 1 while the process is stopped (state T).
is_stopped() { [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == T ]]; }
progress() { cat "$T/$1-progress" 2>/dev/null || echo 0; }

# run_client TAG [VAR=VALUE...]: the client under the shim, in the background; sets CLIENT_PID.
run_client() {
  local tag=$1
  shift
  env "${PRELOAD_ENV[@]}" ELAINE_SOCKET="$SOCK" ELAINE_QUEUE_MB=1 ELAINE_STACK=0 "$@" \
    "$PY" "$T/stall_client.py" "$tag" </dev/null >"$T/$tag.out" 2>&1 &
  CLIENT_PID=$!
  wait_file "$T/$tag-ready" 20 || fail "$tag: the client is not ready: $(cat "$T/$tag.out")"
}

# finish_client TAG: lets the client exit and checks its exit status.
finish_client() {
  touch "$T/$1-exit"
  wait "$CLIENT_PID" || fail "$1: the client failed: $(tail -n 5 "$T/$1.out")"
}

# --- async: not held, drops reported
LOGDIR=$T/log-async
start_collector
CPID=$(collector_pid)
run_client async
kill -STOP "$CPID"
touch "$T/async-go"
wait_file "$T/async-done" 30 || { kill -CONT "$CPID"; fail "async: the client was held by a stopped collector (progress $(progress async)/$CALLS)"; }
is_stopped "$CPID" || fail "async: the collector was not stopped throughout"
sleep 0.3
kill -CONT "$CPID"
# the drop line arrives while the client still runs, once the shim can send again
end=$((SECONDS + 15))
while (($(drop_events "$CLIENT_PID") == 0)); do
  ((SECONDS < end)) || fail "async: no drop line within 15 s of SIGCONT"
  sleep 0.1
done
kill -0 "$CLIENT_PID" 2>/dev/null || fail "async: the client exited before the drop line"
finish_client async
export DROPPED_ASYNC
DROPPED_ASYNC=$(drop_events "$CLIENT_PID")
stop_collector
check_records_script <<'EOF'
calls, dropped = int(env["CALLS"]), int(env["DROPPED_ASYNC"])
ok(len(recs) == len(uniq), "duplicate records")
calls_recs = [r for r in uniq if (last_user(r) or "").startswith("async call ")]
complete = [r for r in calls_recs if g(r, "error") is None and g(r, "response.status") == 200
            and g(r, "llm.output_text") == "Echo: " + last_user(r)]
ok(dropped > 0, "no events dropped")
ok(len(complete) < calls, "all %d calls complete: the queue never overflowed" % calls)
# every call that has no complete record lost at least one event to a drop
ok(len(complete) + dropped >= calls, "%d complete records + %d dropped events < %d calls" % (len(complete), dropped, calls))
ok(all(g(r, "error") for r in calls_recs if r not in complete), "an incomplete record without error")
nums = [int(last_user(r).split()[2]) for r in complete]
ok(len(set(nums)) == len(nums), "two records for one call")
ok(any(last_user(r) == "async warmup" for r in uniq), "no warm-up record")
open(env["T"] + "/async-summary", "w").write("%d complete, %d incomplete records, %d dropped events" % (len(complete), len(calls_recs) - len(complete), dropped))
EOF
"$READER" stats --json --dir "$LOGDIR" >"$T/stats.json" || fail "elaine stats failed"
"$PY" -c 'import json, sys; s = json.load(open(sys.argv[1])); assert s["dropped_events"] == int(sys.argv[2]) and s["drop_reports"] >= 1, s' \
  "$T/stats.json" "$DROPPED_ASYNC" || fail "elaine stats does not show the drops: $(cat "$T/stats.json")"
echo "async: $(cat "$T/async-summary")"

# --- sync: held while stopped, nothing lost
LOGDIR=$T/log-sync
start_collector
CPID=$(collector_pid)
run_client sync ELAINE_MODE=sync
kill -STOP "$CPID"
touch "$T/sync-go"
sleep 1.5
p1=$(progress sync)
sleep 1.5
p2=$(progress sync)
[[ -e $T/sync-done ]] && { kill -CONT "$CPID"; fail "sync: the client finished while the collector was stopped"; }
((p1 == p2 && p2 < CALLS)) || { kill -CONT "$CPID"; fail "sync: the client was not held (progress $p1 then $p2 of $CALLS)"; }
kill -0 "$CLIENT_PID" || fail "sync: the client died"
kill -CONT "$CPID"
wait_file "$T/sync-done" 30 || fail "sync: the client did not finish after SIGCONT (progress $(progress sync)/$CALLS)"
finish_client sync
wait_records $((CALLS + 1)) 20
stop_collector
check_records_script <<'EOF'
calls = int(env["CALLS"])
ok(len(recs) == len(uniq) == calls + 1, "%d records (%d unique), want %d" % (len(recs), len(uniq), calls + 1))
for i in range(calls):
    hits = [r for r in uniq if (last_user(r) or "").startswith("sync call %d " % i)]
    ok(len(hits) == 1, "call %d: %d records" % (i, len(hits)))
    chat_ok(hits[0], auth="[REDACTED]")
ok(not any(r.get("type") == "drop" for r in allrecs), "a drop line in sync mode")
shut = [r for r in allrecs if r.get("type") == "collector" and r.get("event") == "shutdown"]
ok(shut and shut[-1]["dropped_events"] == 0 and shut[-1]["exchanges_written"] == calls + 1, "counters %r" % shut)
EOF
echo "sync: held at $p2 of $CALLS calls while stopped, then $((CALLS + 1)) complete records, no drops"

# --- sync with ELAINE_SYNC_TIMEOUT_MS: held at most 200 ms per event, then dropped and counted
export CALLS=12
LOGDIR=$T/log-timeout
start_collector
CPID=$(collector_pid)
run_client timeout ELAINE_MODE=sync ELAINE_SYNC_TIMEOUT_MS=200
kill -STOP "$CPID"
touch "$T/timeout-go"
wait_file "$T/timeout-done" 40 || { kill -CONT "$CPID"; fail "sync timeout: the client is still held (progress $(progress timeout)/$CALLS)"; }
is_stopped "$CPID" || fail "sync timeout: the collector was not stopped throughout"
took=$(cat "$T/timeout-done")
"$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 0.2 else 1)' "$took" ||
  fail "sync timeout: the calls took ${took}s: never held for the 200 ms"
kill -CONT "$CPID"
end=$((SECONDS + 15))
while (($(drop_events "$CLIENT_PID") == 0)); do
  ((SECONDS < end)) || fail "sync timeout: no drop line within 15 s of SIGCONT"
  sleep 0.1
done
finish_client timeout
echo "sync timeout: $CALLS calls in ${took}s while stopped, $(drop_events "$CLIENT_PID") events dropped and reported"
echo "test_strategies_stall: ok"
