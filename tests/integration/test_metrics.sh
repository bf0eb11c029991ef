#!/usr/bin/env bash
# --metrics HOST:PORT: the collector serves Prometheus' text format at
# /metrics. Three curl calls (two chats, one that the mock answers 400), with
# --sample 0 so that the log keeps only the failure: the metrics count every
# exchange before sampling, with tokens and durations by model, and parse
# with the Prometheus client's own parser. Other paths answer 404, other
# methods 405; an idle connection does not hold up a scrape; a bad address
# or a port in use stops the collector with a message.
source "$(dirname "$0")/lib.sh"
start_mock
MPORT=$(free_port)
start_collector --sample 0 --metrics "127.0.0.1:$MPORT"
url=$MOCK_URL/v1/chat/completions
curl_cmd=(curl --http1.1 -sSk -H 'Content-Type: application/json' -o /dev/null)
for q in one two; do
  run_shim "${curl_cmd[@]}" --data "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"metrics $q\"}]}" \
    "$url" || fail "curl ($q) failed"
done
run_shim "${curl_cmd[@]}" --data '{"model":"error-model","messages":[{"role":"user","content":"metrics error"}]}' \
  "$url" || fail "curl (error) failed"
wait_records 1 # the 400, which sampling keeps; its line is written after the two successes were counted

# An idle connection to the endpoint (it sends nothing) while we scrape.
"$PY" -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(3)
' "$MPORT" &
idle=$!
sleep 0.2
curl -sS --max-time 2 "http://127.0.0.1:$MPORT/metrics" >"$T/metrics.txt" || fail "scrape failed"
kill "$idle" 2>/dev/null || true

"$PY" - "$T/metrics.txt" <<'EOF' || fail "metrics: $(grep -v '^#' "$T/metrics.txt" | head -40)"
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
samples = {}
types = {}
for fam in text_string_to_metric_families(text):
    types[fam.name] = fam.type
    for s in fam.samples:
        samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
def v(name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))
chat = dict(provider="openai", operation="chat", model="gpt-4o")
err = dict(provider="openai", operation="chat", model="error-model")
assert types["elaine_exchanges"] == "counter" and types["elaine_request_duration_seconds"] == "histogram", types
assert v("elaine_exchanges_total", status="2xx", **chat) == 2, v("elaine_exchanges_total", status="2xx", **chat)
assert v("elaine_exchanges_total", status="4xx", **err) == 1
assert v("elaine_tokens_total", type="input", **chat) == 2 * 2  # the mock counts words: "metrics one"
assert v("elaine_tokens_total", type="output", **chat) == 2 * 3  # "Echo: metrics one"
assert v("elaine_request_duration_seconds_count", **chat) == 2
assert v("elaine_request_duration_seconds_bucket", le="+Inf", **chat) == 2
assert 0 < v("elaine_request_duration_seconds_sum", **chat) < 10
assert v("elaine_sampled_out_total") == 2, v("elaine_sampled_out_total")
assert v("elaine_exchanges_written_total") == 1
assert v("elaine_dropped_events_total") == 0
assert v("elaine_build_info", version="0.1.0") == 1
print("ok")
EOF

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[[ $(code "http://127.0.0.1:$MPORT/") == 404 ]] || fail "GET / is not 404"
[[ $(code "http://127.0.0.1:$MPORT/metrics?x=1") == 200 ]] || fail "GET /metrics?x=1 is not 200"
[[ $(code -X POST "http://127.0.0.1:$MPORT/metrics") == 405 ]] || fail "POST /metrics is not 405"
[[ $(curl -sI "http://127.0.0.1:$MPORT/metrics" | head -n 1 | tr -d '\r') == "HTTP/1.1 200 OK" ]] || fail "HEAD /metrics"
# A head too long, and one that is no request line: answered, then closed;
# the endpoint still serves after them.
"$PY" - "$MPORT" <<'EOF' || fail "hostile heads"
import socket, sys
def ask(data):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(data)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            return out
        out += b
assert ask(b"GET /metrics HTTP/1.1\r\nX-Long: " + b"a" * 5000 + b"\r\n\r\n").startswith(b"HTTP/1.1 431 "), "long head"
assert ask(b"garbage\r\n\r\n").startswith(b"HTTP/1.1 400 "), "no request line"
assert ask(b"GET /metrics HTTP/1.0\n\n").startswith(b"HTTP/1.1 200 OK"), "bare newlines"
EOF
stop_collector

# Refused at start: an address that is no HOST:PORT, a port in use (the mock's).
for bad in "nonsense" "127.0.0.1:$MOCK_PORT"; do
  set +e
  "$COLLECTOR" --socket "$T/bad.sock" --dir "$T/badlog" --metrics "$bad" </dev/null >/dev/null 2>"$T/bad.err"
  rc=$?
  set -e
  ((rc == 1)) || fail "--metrics $bad: exit $rc, want 1"
  grep -q -- "--metrics \"$bad\"" "$T/bad.err" || fail "--metrics $bad: $(cat "$T/bad.err")"
done
echo "test_metrics: ok"
