#!/usr/bin/env bash
# The collector is killed (SIGKILL) after 10 of 30 calls on a kept-alive
# connection; 10 calls are made while it is down; it is started again on the
# same socket and directory, and 10 more calls follow. After dedupe by id every
# call has its record, none missing.
source "$(dirname "$0")/lib.sh"
start_mock
start_collector

# The client and the test take turns through files in $T: phase1 (10 calls
# made) -> killed -> phase2 (10 more made) -> restarted -> the last 10.
run_elaine "$PY" - >"$T/client.out" 2>"$T/client.err" <<'PYEOF' &
import os, time, requests
from elaine_client import *
T = os.environ["T"]
def handshake(mine, theirs):
    open(os.path.join(T, mine), "w").close()
    end = time.time() + 30
    while not os.path.exists(os.path.join(T, theirs)):
        assert time.time() < end, "timed out waiting for " + theirs
        time.sleep(0.02)
s = requests.Session()
for i in range(30):
    if i == 10:
        handshake("phase1", "killed")
    elif i == 20:
        handshake("phase2", "restarted")
    text = "restart call %d" % i
    got = chat_requests(text, stream=i % 3 == 2, usage=True, session=s)
    assert got == "Echo: " + text, (got, text)
    time.sleep(0.1)
print("done")
PYEOF
client=$!

await() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ -e $T/$1 ]] && return 0
    kill -0 "$client" 2>/dev/null || fail "the client died: $(cat "$T/client.err")"
    sleep 0.1
  done
  fail "timed out waiting for $1"
}
await phase1
old=$(collector_pid)
stop_collector KILL
touch "$T/killed"
await phase2
start_collector
[[ $(collector_pid) != "$old" ]] || fail "the collector was not restarted"
touch "$T/restarted"
wait "$client" || fail "the client failed: $(cat "$T/client.err")"
[[ $(cat "$T/client.out") == "done" ]] || fail "client output: $(cat "$T/client.out")"

wait_records 30 30
check_records 'len(uniq) == 30'
check_records 'all(chat_ok(find("restart call %d" % i)) for i in range(30))'
echo "test_collector_restart: ok"
