#!/usr/bin/env bash
# A requests.Session makes 20 calls, JSON and streamed in turn, on one kept-alive
# connection: 20 records, distinct ids, every one with its own request's values.
source "$(dirname "$0")/lib.sh"
start_mock
start_collector

run_elaine "$PY" - >"$T/client.out" <<'PYEOF' || fail "python client failed: $(cat "$T/client.out")"
import requests
from elaine_client import *
s = requests.Session()
conns = set()
for i in range(20):
    text = "keepalive call number %d" % i
    got = chat_requests(text, stream=i % 2 == 1, usage=True, session=s)
    assert got == "Echo: " + text, (got, text)
    conns.add(last.headers["x-mock-connection"])
assert len(conns) == 1, "the session used %d connections" % len(conns)
print("ok")
PYEOF

wait_records 20
check_records 'len(recs) == 20'
check_records 'len({r["id"] for r in recs}) == 20'
check_records 'all(chat_ok(find("keepalive call number %d" % i), auth="[REDACTED]") for i in range(20))'
check_records 'all(g(find("keepalive call number %d" % i), "llm.stream") == (i % 2 == 1) for i in range(20))'
check_records 'len({g(r, "response.headers.x-mock-connection") for r in recs}) == 1'
check_records 'all(g(find("keepalive call number %d" % i), "response.body.id") == "chatcmpl-mock-%d" % (i + 1) for i in range(0, 20, 2))'
echo "test_keepalive: ok"
