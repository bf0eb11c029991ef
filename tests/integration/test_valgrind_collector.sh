#!/usr/bin/env bash
# The collector runs clean under valgrind (memcheck): no invalid read or write,
# no use of an uninitialised value, no definite leak, with real traffic: curl
# (JSON, SSE with and without usage), Python requests (a gzip'd JSON reply)
# and httpx (SSE), and our own C client with threads and a fork (stacks to
# name). Stopped with SIGTERM; any valgrind error fails the test.
# Normal builds only: valgrind cannot run a sanitizer build.
source "$(dirname "$0")/lib.sh"
skip_under_sanitizer any "valgrind cannot run a binary built with a sanitizer"
command -v valgrind >/dev/null || fail "valgrind is not installed (scripts/setup installs it)"
CLIENT=$ELAINE_BUILD_DIR/tests/tls_threads_client
start_mock

# In the foreground (a --daemon forks, and valgrind would follow the parent);
# valgrind's pid is the collector's.
valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --track-origins=yes --num-callers=30 --log-file="$T/valgrind.log" \
  "$COLLECTOR" --socket "$SOCK" --dir "$LOGDIR" --pidfile "$PIDFILE" \
  </dev/null >>"$T/collector.out" 2>>"$T/collector.log" &
vpid=$!
for ((i = 0; i < 300; i++)); do
  [[ -s $PIDFILE ]] && "$COLLECTOR" --ping --socket "$SOCK" </dev/null >/dev/null 2>&1 && break
  kill -0 "$vpid" 2>/dev/null || fail "the collector under valgrind exited at start: $(cat "$T/valgrind.log")"
  sleep 0.1
done
"$COLLECTOR" --ping --socket "$SOCK" </dev/null >/dev/null 2>&1 || fail "the collector under valgrind does not answer"
[[ $(cat "$PIDFILE") == "$vpid" ]] || fail "pidfile names $(cat "$PIDFILE"), valgrind is $vpid"

url=$MOCK_URL/v1/chat/completions
curl_cmd=(curl --http1.1 -sSk --fail-with-body -H "Authorization: Bearer sk-valgrind" -H 'Content-Type: application/json')
run_elaine "${curl_cmd[@]}" --data '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"vg json"}]}' \
  "$url" >"$T/c1.out" || fail "curl json failed"
run_elaine "${curl_cmd[@]}" --data '{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"vg stream"}]}' \
  "$url" >"$T/c2.out" || fail "curl stream failed"
run_elaine "${curl_cmd[@]}" --data \
  '{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"vg usage"}]}' \
  "$url" >"$T/c3.out" || fail "curl stream with usage failed"
run_elaine "$PY" -c '
from elaine_client import *
assert chat_requests("vg requests gzip") == "Echo: vg requests gzip"
assert chat_httpx("vg httpx stream", stream=True, usage=True) == "Echo: vg httpx stream"
' >"$T/py.out" 2>&1 || fail "python client failed: $(cat "$T/py.out")"
timeout 120 "$ELAINE_RUN" --socket "$SOCK" -- "$CLIENT" "$MOCK_PORT" 2 2 --fork >"$T/native.out" 2>"$T/native.err" ||
  fail "tls_threads_client failed: $(cat "$T/native.err")"
wait_records 11 60
check_records 'len(uniq) == 11'
check_records 'chat_ok(find("vg json"), auth="[REDACTED]", exe="curl")'
check_records 'chat_ok(find("vg stream"), usage=False, exe="curl")'
check_records 'chat_ok(find("vg usage"), exe="curl")'
check_records 'chat_ok(find("vg requests gzip")) and chat_ok(find("vg httpx stream"))'

kill -TERM "$vpid"
rc=0
timeout 60 tail --pid="$vpid" -f /dev/null || fail "the collector under valgrind did not stop within 60 s of SIGTERM"
wait "$vpid" || rc=$?
rm -f "$PIDFILE"
if ((rc != 0)) || [[ -s $T/valgrind.log ]]; then
  cat "$T/valgrind.log" >&2
  fail "valgrind: exit status $rc, $(grep -c '^==[0-9]*== [A-Z]' "$T/valgrind.log" || true) report lines (above)"
fi
check_records 'True' # the log is still whole JSON
echo "test_valgrind_collector: ok"
