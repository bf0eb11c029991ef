#!/usr/bin/env bash
# Faults: no collector at all, then one that comes late, then an outage longer
# than the shim's queue. The client runs with the shim preloaded directly (not
# elaine-run, which would start a collector).
#  1. No collector ever: the client's stdout, stderr and exit status are those
#     of a run without the shim, and it does not linger at exit.
#  2. The collector starts while the client is still running: the shim keeps
#     retrying (with backoff, not spinning), and every call made during the
#     outage arrives, exactly once, with no drop line.
#  3. ELAINE_QUEUE_MB=1 and calls of 300 KB: the first calls fit the queue and
#     arrive whole; the drop line counts exactly the events and bytes of the
#     others (the client counts its own SSL writes and reads).
source "$(dirname "$0")/lib.sh"
start_mock


# ---- 1. no collector at all: the application is untouched --------------------
cat >"$T/plain_client.py" <<'PYEOF'
import sys, requests
from elaine_client import *
s = requests.Session()
for i in range(4):
    text = "nobody listens %d" % i
    got = chat_requests(text, stream=i % 2 == 1, usage=True, session=s)
    print(got)
print(chat_urllib("nobody listens urllib"))
print("exiting with 7", file=sys.stderr)
sys.exit(7)
PYEOF
rc0=0
"$PY" "$T/plain_client.py" >"$T/base.out" 2>"$T/base.err" || rc0=$?
start=$(date +%s%N)
rc1=0
run_shim "$PY" "$T/plain_client.py" >"$T/shim.out" 2>"$T/shim.err" || rc1=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
((rc0 == 7)) || fail "the client without the shim exited $rc0: $(cat "$T/base.err")"
((rc1 == rc0)) || fail "exit status with the shim and no collector: $rc1, want $rc0"
cmp -s "$T/base.out" "$T/shim.out" || fail "stdout differs with the shim: $(diff "$T/base.out" "$T/shim.out")"
cmp -s "$T/base.err" "$T/shim.err" || fail "stderr differs with the shim: $(diff "$T/base.err" "$T/shim.err")"
[[ $(wc -l <"$T/shim.out") == 5 ]] || fail "client output: $(cat "$T/shim.out")"
# No collector ever answered: the exit flush must not wait (its bound is 2 s).
((elapsed_ms < 1800)) || fail "the client took ${elapsed_ms} ms with no collector (an exit wait?)"
[[ ! -e $LOGDIR ]] || fail "something wrote to $LOGDIR without a collector"

# ---- 2. the collector comes late: everything arrives once ----------------------
cat >"$T/late_client.py" <<'PYEOF'
import os, time, requests
from elaine_client import *
T = os.environ["T"]
s = requests.Session()
for i in range(6):
    text = "late collector %d" % i
    got = chat_requests(text, stream=i % 2 == 0, usage=True, session=s)
    assert got == "Echo: " + text, (got, text)
open(os.path.join(T, "late.calls"), "w").close()
end = time.time() + 40
while not os.path.exists(os.path.join(T, "late.go")):
    assert time.time() < end, "timed out waiting for late.go"
    time.sleep(0.05)
print("late done")
PYEOF
"${SHIM_ENV[@]}" "$PY" "$T/late_client.py" >"$T/late.out" 2>"$T/late.err" &
late=$!
await_file late.calls "$late"
# The calls are done and nobody listens: the sender retries with backoff. Over
# 2 s the whole client (asleep in a 50 ms loop) must use little CPU.
t0=$(proc_cpu_ticks "$late")
sleep 2
t1=$(proc_cpu_ticks "$late")
(((t1 - t0) * 1000 / $(getconf CLK_TCK) < 300)) || fail "the client used $((t1 - t0)) ticks of CPU in 2 s of outage: the shim spins"
[[ ! -e $LOGDIR ]] || fail "records without a collector?"
start_collector
# backoff is at most 1.6 s: the events must arrive soon
wait_records 6 8
touch "$T/late.go"
wait "$late" || fail "the late client failed: $(cat "$T/late.err")"
[[ $(cat "$T/late.out") == "late done" && ! -s $T/late.err ]] || fail "late client output: $(cat "$T/late.out" "$T/late.err")"
export LATE_PID=$late
check_records_script <<'EOF'
ok(len(recs) == 6, "%d exchange lines, want 6 (no duplicates on a first connection)" % len(recs))
for i in range(6):
    r = find("late collector %d" % i)
    chat_ok(r)
    ok(r["pid"] == int(env["LATE_PID"]), "record %s: pid %r, want the client's" % (r["id"], r["pid"]))
drops = [r for r in allrecs if r.get("type") == "drop"]
ok(not drops, "drop lines although everything fit the queue: %r" % drops)
EOF
stop_collector
rm -rf "$LOGDIR"

# ---- 3. an outage longer than the queue: the drop count is exact ---------------
cat >"$T/big_client.py" <<'PYEOF'
# Raw HTTP/1.1 over TLS, so that the client knows each SSL call the shim sees:
# one SSL_write_ex for the whole request, one SSL_read_ex per recv().
import json, os, socket, ssl, sys, time
T, PORT, CA = os.environ["T"], int(os.environ["MOCK_PORT"]), os.environ["MOCK_CERT"]
ctx = ssl.create_default_context(cafile=CA)
pad = ("lorem ipsum " * 25000)[:300000]  # 300 KB in the system message: the reply stays short
stats = []
for i in range(6):
    text = "overflow call %d" % i
    body = json.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": pad}, {"role": "user", "content": text}]}).encode()
    req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:%d\r\n"
           b"Authorization: Bearer sk-test-key\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (PORT, len(body))) + body
    raw = socket.create_connection(("localhost", PORT))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(req)  # blocking, no timeout: one SSL_write_ex
    data, reads = b"", 0
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reads += 1
        data += chunk
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
            if len(rest) >= n:
                break
    s.close()
    reply = json.loads(rest)["choices"][0]["message"]["content"]
    assert reply == "Echo: " + text, reply
    stats.append({"text": text, "out": len(req), "in": len(data), "reads": reads})
json.dump(stats, open(os.path.join(T, "big.stats"), "w"))
open(os.path.join(T, "big.calls"), "w").close()
end = time.time() + 40
while not os.path.exists(os.path.join(T, "big.go")):
    assert time.time() < end, "timed out waiting for big.go"
    time.sleep(0.05)
print("big done")
PYEOF
"${SHIM_ENV[@]}" ELAINE_QUEUE_MB=1 ELAINE_STACK=0 "$PY" "$T/big_client.py" >"$T/big.out" 2>"$T/big.err" &
big=$!
await_file big.calls "$big"
start_collector
# the three calls that fit, and the drop line
wait_records 3 8
for ((i = 0; i < 50; i++)); do
  grep -q '"type":"drop"' "$LOGDIR/elaine.jsonl" && break
  sleep 0.1
done
touch "$T/big.go"
wait "$big" || fail "the big client failed: $(cat "$T/big.err")"
[[ $(cat "$T/big.out") == "big done" && ! -s $T/big.err ]] || fail "big client output: $(cat "$T/big.out" "$T/big.err")"
stop_collector
export BIG_PID=$big
check_records_script <<'EOF'
import json
stats = json.load(open(env["T"] + "/big.stats"))
pid = int(env["BIG_PID"])
whole = [s for s in stats if any(last_user(r) == s["text"] and r.get("error") is None for r in uniq)]
lost = [s for s in stats if s not in whole]
# 1 MiB holds three calls of ~300 KB (the cost of an event is its bytes plus ~200)
ok([s["text"] for s in whole] == ["overflow call %d" % i for i in range(3)],
   "whole records for %r, want the first three calls" % [s["text"] for s in whole])
for s in whole:
    chat_ok(find(s["text"]))
drops = [r for r in allrecs if r.get("type") == "drop"]
ok(drops and all(d.get("pid") == pid for d in drops), "drop lines: %r" % drops)
# each lost call: its one write dropped, then each of its reads counted as dropped
want_events = sum(1 + s["reads"] for s in lost)
want_bytes = sum(s["out"] + s["in"] for s in lost)
got_events = sum(d["dropped_events"] for d in drops)
got_bytes = sum(d["dropped_bytes"] for d in drops)
ok((got_events, got_bytes) == (want_events, want_bytes),
   "dropped %d events, %d bytes; want exactly %d, %d" % (got_events, got_bytes, want_events, want_bytes))
# nothing of a lost call pretends to be a whole record
for s in lost:
    for r in uniq:
        if last_user(r) == s["text"]:
            ok(r.get("error"), "record %s of a dropped call has no error" % r["id"])
shut = [r for r in allrecs if r.get("type") == "collector" and r.get("event") == "shutdown"]
ok(len(shut) == 1 and shut[0].get("dropped_events") == want_events,
   "shutdown counters: %r, want dropped_events %d" % (shut, want_events))
EOF
echo "test_fault_no_collector: ok"
