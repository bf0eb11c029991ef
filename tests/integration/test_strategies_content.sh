#!/usr/bin/env bash
# --content full | redacted | none and --max-body, end to end: Python requests
# (JSON and streamed calls) under the shim against the TLS mock, one collector
# per mode. full keeps bodies whole (credentials redacted); redacted masks PII
# and secrets in bodies, headers and llm texts with [REDACTED:<kind>] (plus a
# --redact-pattern), keeps look-alikes, token counts and timings; none keeps
# metadata only; --max-body cuts at a character boundary and marks truncated.
source "$(dirname "$0")/lib.sh"
start_mock

export PII_TEXT='Contact alice.smith@example.com or +1 (555) 123-4567; card 4111 1111 1111 1111; IBAN DE89 3704 0044 0532 0130 00; from 203.0.113.7; keys sk-proj-Ab3dE5fG7hI9jK1lM3nO5pQ7 sk-ant-api03-abcdefghijklmnopqrstuvwx AIzaSyA1234567890abcdefghijklmnopqrstuv AKIAIOSFODNN7EXAMPLE ghp_abcdefghijklmnopqrstuvwxyz0123456789 xoxb-123456789012-abcdefghijkl; jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2hlcmU; employee EMP-123456. Not secret: order 1234567890, id 550e8400-e29b-41d4-a716-446655440000, version 1.2.3, 2024-01-15, 42 apples.'
export PII_MASKED='Contact [REDACTED:email] or [REDACTED:phone]; card [REDACTED:card]; IBAN [REDACTED:iban]; from [REDACTED:ipv4]; keys [REDACTED:openai_key] [REDACTED:anthropic_key] [REDACTED:google_key] [REDACTED:aws_key] [REDACTED:github_token] [REDACTED:slack_token]; jwt [REDACTED:jwt]; employee [REDACTED:pattern]. Not secret: order 1234567890, id 550e8400-e29b-41d4-a716-446655440000, version 1.2.3, 2024-01-15, 42 apples.'
export PEM_TEXT=$'my key:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\nthanks'
export PEM_MASKED=$'my key:\n[REDACTED:private_key]\nthanks'
export ELAINE_TEST_SECRET=sk-elaine-secret-$RANDOM$RANDOM$RANDOM
# The pieces that must reach no file with --content redacted.
PII_PIECES=(alice.smith '(555) 123' '4111 1111' 'DE89 3704' 203.0.113.7 sk-proj-Ab3 sk-ant-api03 AIzaSy AKIAIOSFODNN7
  ghp_abc xoxb-1234 eyJhbGci EMP-123456 MIIEvQ bob@example.org "$ELAINE_TEST_SECRET")

# Three calls: JSON with the PII, streamed with the PII, JSON with the PEM block.
client() {
  run_elaine "$PY" - >"$T/client.out" 2>&1 <<'PYEOF' || fail "python client failed: $(cat "$T/client.out")"
import os, requests
from elaine_client import *
s = requests.Session()
HEADERS["X-User-Email"] = "bob@example.org"
for text, stream in ((os.environ["PII_TEXT"], False), (os.environ["PII_TEXT"], True), (os.environ["PEM_TEXT"], False)):
    got = chat_requests(text, stream=stream, usage=True, session=s)
    assert got == "Echo: " + text, (got, text)
print("ok")
PYEOF
}

# --- full: bodies whole, credentials redacted
LOGDIR=$T/log-full
start_collector --content full
client
wait_records 3
check_records_script <<'EOF'
ok(len(uniq) == 3, "%d records" % len(uniq))
pii, pem = env["PII_TEXT"], env["PEM_TEXT"]
for r in uniq:
    chat_ok(r, auth="[REDACTED]")
    ok(g(r, "request.headers.x-user-email") == "bob@example.org", g(r, "request.headers.x-user-email"))
ok(len([r for r in uniq if last_user(r) == pii]) == 2, "the PII text is not kept whole")
ok(find(pem) and g(find(pem), "llm.output_text") == "Echo: " + pem, "PEM text")
EOF
grep -rqF -- "$ELAINE_TEST_SECRET" "$T/log-full" && fail "--content full: the API key in Authorization reached the log"
stop_collector

# --- redacted, with a user pattern
LOGDIR=$T/log-redacted
start_collector --content redacted --redact-pattern 'EMP-[0-9]{6}'
client
wait_records 3
check_records_script <<'EOF'
ok(len(uniq) == 3, "%d records" % len(uniq))
pii, masked = env["PII_TEXT"], env["PII_MASKED"]
pem, pem_masked = env["PEM_TEXT"], env["PEM_MASKED"]
words = lambda t: len(t.split())
for r in uniq:
    rid = r["id"]
    user = last_user(r)
    ok(user in (masked, pem_masked), "record %s: user text not masked as expected:\n  %r\nwant\n  %r" % (rid, user, masked))
    orig = pii if user == masked else pem
    # token counts and timings are the provider's and the clock's: intact
    ok(g(r, "llm.input_tokens") == words("You are a mock.") + words(orig), "record %s: input_tokens %r" % (rid, g(r, "llm.input_tokens")))
    ok(g(r, "llm.output_tokens") == words("Echo: " + orig), "record %s: output_tokens" % rid)
    ok(num(g(r, "timing.ttfb_ms")) and num(g(r, "timing.duration_ms")), "record %s: timings" % rid)
    ok(g(r, "llm.output_text") == "Echo: " + user, "record %s: output_text %r" % (rid, g(r, "llm.output_text")))
    ok(g(r, "request.headers.x-user-email") == "[REDACTED:email]", "record %s: header %r" % (rid, g(r, "request.headers.x-user-email")))
    ok(g(r, "request.headers.authorization") == "[REDACTED]", "record %s: authorization" % rid)
    ok(g(r, "request.body.model") == "gpt-4o-mini" and g(r, "response.status") == 200, "record %s: metadata" % rid)
    ok(g(r, "request.body_size") > len(user), "record %s: body_size is the size sent" % rid)
    if g(r, "llm.stream"):
        body = g(r, "response.body")
        ok(isinstance(body, str) and "[REDACTED:email]" in body and "data: [DONE]" in body, "record %s: stream body" % rid)
    elif user == masked:
        ok(g(r, "response.body.choices")[0]["message"]["content"] == "Echo: " + masked, "record %s: response body" % rid)
ok(sum(1 for r in uniq if last_user(r) == masked) == 2, "two PII records")
EOF
for piece in "${PII_PIECES[@]}"; do
  grep -rqF -- "$piece" "$T/log-redacted" && fail "--content redacted: \"$piece\" reached the log: $(grep -rhoF -- "$piece" "$T/log-redacted" | head -3)"
done
# look-alikes stay
grep -qF '550e8400-e29b-41d4-a716-446655440000' "$T/log-redacted/elaine.jsonl" || fail "the UUID was masked"
grep -qF 'order 1234567890' "$T/log-redacted/elaine.jsonl" || fail "the order id was masked"
stop_collector

# --- none: metadata only
LOGDIR=$T/log-none
start_collector --content none
client
wait_records 3
check_records_script <<'EOF'
ok(len(uniq) == 3, "%d records" % len(uniq))
for r in uniq:
    rid = r["id"]
    for k in ("request.body", "response.body", "llm.output_text", "llm.reasoning_text"):
        ok(g(r, k) is None, "record %s: %s is %r, want null" % (rid, k, g(r, k)))
    ok(g(r, "llm.model") == "gpt-4o-mini" and g(r, "llm.provider") == "openai", "record %s: model" % rid)
    ok(isinstance(g(r, "llm.input_tokens"), int) and g(r, "llm.input_tokens") > 20 or g(r, "llm.input_tokens") == 14, "record %s: tokens %r" % (rid, g(r, "llm.input_tokens")))
    ok(g(r, "response.status") == 200 and g(r, "request.body_size") > 100 and g(r, "response.body_size") > 100, "record %s: sizes" % rid)
    ok(g(r, "request.headers.authorization") == "[REDACTED]", "record %s: authorization" % rid)
    ok(num(g(r, "timing.duration_ms")), "record %s: timing" % rid)
EOF
grep -rqF -- 'alice.smith' "$T/log-none" && fail "--content none: body text reached the log"
stop_collector

# --- --max-body: cut at a character boundary, truncated, original size kept
LOGDIR=$T/log-maxbody
start_collector --max-body 1000
run_elaine "$PY" - >"$T/client.out" 2>&1 <<'PYEOF' || fail "python client failed: $(cat "$T/client.out")"
import json, requests
from elaine_client import *
# 2- and 4-byte characters, sent as raw UTF-8 (not \u escapes)
text = "caf\u00e9 \U0001F600 " * 400
body = json.dumps(payload(text), ensure_ascii=False).encode()
open(os.environ["T"] + "/sent_size", "w").write(str(len(body)))
r = requests.post(URL, data=body, headers=dict(HEADERS, **{"Accept-Encoding": "identity"}), verify=CA, timeout=30)
r.raise_for_status()
assert from_json(r.json()) == "Echo: " + text
print(len(r.content))
PYEOF
export SENT_SIZE RECV_SIZE
SENT_SIZE=$(cat "$T/sent_size")
RECV_SIZE=$(tail -n 1 "$T/client.out")
wait_records 1
check_records_script <<'EOF'
ok(len(uniq) == 1, "%d records" % len(uniq))
r = uniq[0]
for side, size in (("request", int(env["SENT_SIZE"])), ("response", int(env["RECV_SIZE"]))):
    body = g(r, side + ".body")
    ok(g(r, side + ".truncated") is True, "%s.truncated is %r" % (side, g(r, side + ".truncated")))
    ok(g(r, side + ".body_truncated") is None, "%s.body_truncated is still written" % side)
    ok(g(r, side + ".body_size") == size, "%s.body_size %r, want the original %d" % (side, g(r, side + ".body_size"), size))
    ok(isinstance(body, str), "%s.body is %r" % (side, type(body)))
    n = len(body.encode())
    ok(996 <= n <= 1000, "%s.body has %d bytes, want the last whole character within 1000" % (side, n))
    ok("\ufffd" not in body, "%s.body ends in a broken character: %r" % (side, body[-8:]))
    ok(body.startswith('{"model"' if side == "request" else '{"id"'), "%s.body does not start as sent: %r" % (side, body[:20]))
ok(g(r, "response.status") == 200 and g(r, "request.method") == "POST", "metadata")
EOF
echo "test_strategies_content: ok"
