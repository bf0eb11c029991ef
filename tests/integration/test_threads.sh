#!/usr/bin/env bash
# 16 threads of one process stream at once, each on its own connection (httpx):
# 16 records, each with its own thread's text, tid and token counts. The mock
# pauses 20 ms before each event, so that the streams overlap.
source "$(dirname "$0")/lib.sh"
start_mock --delay-ms 20
start_collector

run_elaine "$PY" - >"$T/client.out" <<'PYEOF' || fail "python client failed: $(cat "$T/client.out")"
import threading
import httpx
from elaine_client import *
N = 16
barrier = threading.Barrier(N)
errors = []
def worker(i):
    try:
        with httpx.Client(verify=CA, timeout=30) as c:
            barrier.wait()
            text = "thread %d says hello to %s" % (i, "x " * i)
            got = chat_httpx(text.strip(), stream=True, usage=True, client=c)
            assert got == "Echo: " + text.strip(), (got, text)
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors
print("ok")
PYEOF

wait_records 16
check_records 'len(recs) == 16'
check_records 'all(chat_ok(find(("thread %d says hello to %s" % (i, "x " * i)).strip())) for i in range(16))'
check_records 'all(g(find(("thread %d says hello to %s" % (i, "x " * i)).strip()), "llm.input_tokens") == 9 + i for i in range(16))'
check_records 'len({r["tid"] for r in recs}) == 16'
check_records 'len({r["pid"] for r in recs}) == 1'
echo "test_threads: ok"
