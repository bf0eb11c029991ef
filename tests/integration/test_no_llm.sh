#!/usr/bin/env bash
# Programs that make no LLM call leave no record, and run under elaine-run exactly
# as without it: the same stdout, stderr and exit status (3 included). A last LLM
# call proves the capture was working all along.
source "$(dirname "$0")/lib.sh"
start_mock
start_collector

# same CMD...: runs CMD plainly and under elaine-run (stdin from $T/input both times)
# and compares stdout, stderr and exit status.
printf 'some input\nlines\n' >"$T/input"
same() {
  local rc1=0 rc2=0
  "$@" <"$T/input" >"$T/out1" 2>"$T/err1" || rc1=$?
  run_elaine "$@" <"$T/input" >"$T/out2" 2>"$T/err2" || rc2=$?
  ((rc1 == rc2)) || fail "$*: exit $rc1 plainly, $rc2 under elaine-run"
  cmp -s "$T/out1" "$T/out2" || fail "$*: stdout differs: $(diff "$T/out1" "$T/out2" | head -5)"
  cmp -s "$T/err1" "$T/err2" || fail "$*: stderr differs: $(diff "$T/err1" "$T/err2" | head -5)"
  LAST_RC=$rc1
}

cat >"$T/nollm.py" <<'PYEOF'
import hashlib, os, ssl, sys, urllib.error, urllib.request
ctx = ssl.create_default_context(cafile=os.environ["MOCK_CERT"])
for path in ("/other", "/v1/models"):
    try:
        with urllib.request.urlopen(os.environ["MOCK_URL"] + path, context=ctx, timeout=30) as r:
            print(r.status, r.read().decode())
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode())
with open(sys.argv[1], "rb") as f:
    print(hashlib.sha256(f.read()).hexdigest())
print(sys.stdin.read().upper(), end="")
print("to stderr", file=sys.stderr)
sys.exit(int(sys.argv[2]))
PYEOF

same "$PY" "$T/nollm.py" "$MOCK_SERVER" 0
grep -q '^404 ' "$T/out1" || fail "the mock did not answer 404: $(cat "$T/out1")"
grep -q '^SOME INPUT$' "$T/out1" || fail "stdin did not reach the program"
same "$PY" "$T/nollm.py" "$MOCK_SERVER" 3
((LAST_RC == 3)) || fail "exit status $LAST_RC, want 3"
same curl --http1.1 -sS --cacert "$MOCK_CERT" "$MOCK_URL/other"
same cat "$MOCK_SERVER" -
same sh -c 'echo out; echo err >&2; exit 3'
((LAST_RC == 3)) || fail "exit status $LAST_RC, want 3"

# The sentinel: one LLM call, which must be the only record.
run_elaine curl --http1.1 -sS --cacert "$MOCK_CERT" -H 'Content-Type: application/json' \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"the only llm call"}]}' \
  "$MOCK_URL/v1/chat/completions" >/dev/null || fail "sentinel call failed"
wait_records 1
sleep 0.5
check_records 'len(recs) == 1 and chat_ok(find("the only llm call"))'
echo "test_no_llm: ok"
