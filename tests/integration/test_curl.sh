#!/usr/bin/env bash
# curl --http1.1 against the mock on TLS: a JSON call and two streamed calls
# (with and without include_usage) become exact records; the Authorization
# header is redacted and its secret reaches no file; curl's output is unchanged.
source "$(dirname "$0")/lib.sh"
start_mock
start_collector
SECRET=sk-elaine-test-$RANDOM$RANDOM$RANDOM
url=$MOCK_URL/v1/chat/completions

curl_cmd=(curl --http1.1 -sSk --fail-with-body -H "Authorization: Bearer $SECRET"
  -H 'Content-Type: application/json')
req_json='{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a terse mock."},{"role":"user","content":"curl json call"}]}'
req_stream='{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"curl stream without usage"}]}'
req_usage='{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"curl stream with usage please"}]}'

# Response ids count up in the mock: compare outputs with the id masked.
mask() { sed -E 's/chatcmpl-mock-[0-9]+/chatcmpl-mock-N/g'; }
for name in json stream usage; do
  var=req_$name
  "${curl_cmd[@]}" --data "${!var}" "$url" | mask >"$T/plain.$name" || fail "plain curl ($name) failed"
  run_elaine "${curl_cmd[@]}" --data "${!var}" "$url" | mask >"$T/elaine.$name" ||
    fail "curl under elaine-run ($name) failed"
  cmp -s "$T/plain.$name" "$T/elaine.$name" ||
    fail "curl output ($name) differs under elaine-run: $(diff "$T/plain.$name" "$T/elaine.$name" | head -5)"
done
grep -q '"content":"Echo: curl json call"' "$T/elaine.json" || fail "unexpected reply: $(cat "$T/elaine.json")"
grep -q 'data: \[DONE\]' "$T/elaine.stream" || fail "unexpected stream: $(cat "$T/elaine.stream")"

wait_records 3
check_records 'len(recs) == 3'
check_records 'chat_ok(find("curl json call"), auth="[REDACTED]", exe="curl", model="gpt-4o-mini")'
check_records 'chat_ok(find("curl stream without usage"), usage=False, auth="[REDACTED]", exe="curl", model="gpt-4o")'
check_records 'chat_ok(find("curl stream with usage please"), auth="[REDACTED]", exe="curl")'
check_records 'g(find("curl json call"), "llm.input_tokens") == 8 and g(find("curl json call"), "llm.output_tokens") == 4'
check_records 'g(find("curl stream with usage please"), "llm.total_tokens") == 7 + 6'
check_records 'all(g(r, "llm.stream") is (g(r, "request.body.stream") is True) for r in recs)'
# The reader shows the three exchanges.
"$READER" tail --dir "$LOGDIR" >"$T/tail.out" || fail "elaine tail failed"
[[ $(grep -c '  openai  gpt-4o' "$T/tail.out") == 3 ]] || fail "elaine tail: $(cat "$T/tail.out")"
grep -q 'Echo: curl json call' "$T/tail.out" || fail "elaine tail: $(cat "$T/tail.out")"
if grep -rqF -- "$SECRET" "$LOGDIR"; then
  fail "the secret reached the log directory: $(grep -rlF -- "$SECRET" "$LOGDIR")"
fi
echo "test_curl: ok"
