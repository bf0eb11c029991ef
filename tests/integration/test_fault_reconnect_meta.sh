#!/usr/bin/env bash
# PENDING (product bug, shim/shim_queue.c): after a reconnect the shim
# re-announces only the connections still live (collect_live); a connection
# whose ConnOpen an earlier collector acknowledged, and that was closed while
# the shim was disconnected, has its unacknowledged events resent with no
# ConnOpen at all. The new collector then knows nothing of it: its record
# says "tls": false (and loses SNI, ALPN, peer).
# Scenario: a call on a kept-alive connection (its ConnOpen acked), SIGKILL of
# the collector, a second call on the same connection, the connection closed,
# the collector restarted; the client stays alive until the record arrives.
source "$(dirname "$0")/lib.sh"
start_mock
start_collector

"${SHIM_ENV[@]}" "$PY" - >"$T/client.out" 2>"$T/client.err" <<'PYEOF' &
import os, time, requests
from elaine_client import *
T = os.environ["T"]
def await_file(name):
    end = time.time() + 30
    while not os.path.exists(os.path.join(T, name)):
        assert time.time() < end, "timed out waiting for " + name
        time.sleep(0.02)
s = requests.Session()
assert chat_requests("meta call one", session=s) == "Echo: meta call one"
open(os.path.join(T, "one"), "w").close()
await_file("killed")
assert chat_requests("meta call two", stream=True, usage=True, session=s) == "Echo: meta call two"
s.close()  # SSL_free while no collector listens
open(os.path.join(T, "two"), "w").close()
await_file("seen")
print("meta done")
PYEOF
client=$!
await_file one "$client"
sleep 0.3 # acked
kill_collector KILL
touch "$T/killed"
await_file two "$client"
start_collector
wait_records 2 10
touch "$T/seen"
wait "$client" || fail "client failed: $(cat "$T/client.err")"
check_records 'chat_ok(find("meta call one")) and chat_ok(find("meta call two"))'
echo "test_fault_reconnect_meta: ok"
