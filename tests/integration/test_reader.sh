#!/usr/bin/env bash
# The elaine reader over a log directory written by hand: a rotated .zst (made
# with the zstd command) and the active file. Builds nothing; needs $ELAINE_BUILD_DIR.
set -u

ELAINE="${ELAINE_BUILD_DIR:?set ELAINE_BUILD_DIR}/collector/elaine"
[ -x "$ELAINE" ] || { echo "FAIL: $ELAINE not built"; exit 1; }
command -v zstd >/dev/null || { echo "FAIL: zstd command missing"; exit 1; }

tmp=$(mktemp -d /tmp/test_reader.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dir="$tmp/logs"
mkdir -m 700 "$dir"

export TZ=UTC # elaine tail shows local time
fails=0
check() { # check "what" command...
    local what=$1; shift
    if "$@"; then :; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

cat > "$tmp/old.jsonl" <<'EOF'
{"type":"collector","ts":"2026-12-04T20:00:00.000001Z","exchanges_written":0,"write_errors":0}
{"type":"exchange","id":"r1","ts":"2026-12-04T20:59:00.100000Z","host":"api.anthropic.com","port":443,"tls":true,"request":{"method":"POST","path":"/v1/messages"},"response":{"status":200},"llm":{"provider":"anthropic","model":"claude-3-5-haiku","input_tokens":5,"output_tokens":7,"output_text":"Hi"},"timing":{"duration_ms":300},"error":null}
EOF
zstd -q "$tmp/old.jsonl" -o "$dir/elaine-20261204T205900.000000Z.jsonl.zst"

L1='{"type":"exchange","id":"a1","ts":"2026-12-04T21:03:11.123456Z","host":"api.openai.com","port":443,"tls":true,"request":{"method":"POST","path":"/v1/chat/completions"},"response":{"status":200},"llm":{"provider":"openai","model":"gpt-4o-mini","input_tokens":12,"output_tokens":34,"output_text":"Hello there!\nHow can I help?"},"timing":{"duration_ms":812},"error":null}'
L2='{"type":"drop","ts":"2026-12-04T21:04:00.000000Z","pid":4242,"dropped_events":3,"dropped_bytes":1234}'
L3='{"type":"exchange","id":"a2","ts":"2026-12-04T21:05:00.000000Z","host":"localhost","port":11434,"tls":false,"request":{"method":"POST","path":"/api/chat"},"response":{"status":429},"llm":{"provider":"ollama","model":"llama3.2","input_tokens":null,"output_tokens":null,"output_text":null},"timing":{"duration_ms":15},"error":null}'
L4='{"type":"collector","ts":"2026-12-04T21:06:00.000000Z","exchanges_written":3,"write_errors":0}'
printf '%s\n%s\nthis line is not json\n%s\n%s\n' "$L1" "$L2" "$L3" "$L4" > "$dir/elaine.jsonl"
chmod 600 "$dir"/*

# --json: the last two records, as stored (the collector line is not a record to show).
out=$("$ELAINE" tail -n 2 --json --dir "$dir" 2>"$tmp/err")
check "tail -n 2 --json exit 0" [ $? -eq 0 ]
check "tail -n 2 --json prints the last two records" [ "$out" = "$L2"$'\n'"$L3" ]
check "non-JSON lines counted on stderr" grep -q "skipped 1 line" "$tmp/err"

# Human lines: model and status, oldest first, across the rotated file.
out=$("$ELAINE" tail --dir "$dir" 2>/dev/null)
check "human tail exit 0" [ $? -eq 0 ]
check "four records shown" [ "$(printf '%s\n' "$out" | wc -l)" -eq 4 ]
line=$(printf '%s\n' "$out" | sed -n 2p)
check "exchange line has model and status" grep -q "gpt-4o-mini  200" <<<"$line"
check "exchange line has local time, id, tokens, ttft, duration, reply" \
    grep -qxF '12-04 21:03:11  a1  openai  gpt-4o-mini  200  in=12 out=34  ttft=-  812ms  - -> "Hello there! How can I help?"' <<<"$line"
check "rotated record comes first" grep -q "^12-04 20:59:00  r1  anthropic  claude-3-5-haiku  200" <<<"$out"
check "drop line" grep -qF "DROP pid=4242 events=3 bytes=1234" <<<"$out"
check "nulls as -" grep -qF "ollama  llama3.2  429  in=- out=-  ttft=-  15ms  - -> -" <<<"$out"
check "collector lines hidden" eval '! grep -q COLLECTOR <<<"$out"'

# --all shows them; ELAINE_DIR picks the directory.
out=$(ELAINE_DIR="$dir" "$ELAINE" tail --all -n 1 2>/dev/null)
check "--all shows the collector line" grep -qxF "12-04 21:06:00  COLLECTOR exchanges_written=3 write_errors=0" <<<"$out"

# Usage errors: exit 2, usage on stderr.
"$ELAINE" frobnicate >/dev/null 2>"$tmp/err"
check "unknown command exits 2" [ $? -eq 2 ]
check "usage on stderr" grep -q "usage: elaine" "$tmp/err"
"$ELAINE" tail -n x --dir "$dir" >/dev/null 2>&1
check "bad count exits 2" [ $? -eq 2 ]
"$ELAINE" >/dev/null 2>&1
check "no command exits 2" [ $? -eq 2 ]
check "--version" [ "$("$ELAINE" --version)" = "elaine 0.1.0" ]
"$ELAINE" --help | grep -q "elaine tail"
check "--help on stdout" [ "${PIPESTATUS[0]}" -eq 0 ]
"$ELAINE" tail --dir "$tmp/missing" >/dev/null 2>&1
check "missing dir exits 1" [ $? -eq 1 ]

# -f: new lines appear, also after a rotation.
"$ELAINE" tail -f -n 0 --json --dir "$dir" >"$tmp/follow" 2>/dev/null &
pid=$!
sleep 0.5
echo '{"type":"exchange","id":"f1"}' >> "$dir/elaine.jsonl"
sleep 0.3
mv "$dir/elaine.jsonl" "$dir/elaine-20261204T210700.000000Z.jsonl"
echo '{"type":"exchange","id":"f2"}' > "$dir/elaine.jsonl"
for _ in $(seq 50); do
    [ "$(wc -l <"$tmp/follow")" -ge 2 ] && break
    sleep 0.1
done
kill "$pid"
wait "$pid" 2>/dev/null
check "follow sees appended and rotated lines" \
    [ "$(cat "$tmp/follow")" = '{"type":"exchange","id":"f1"}'$'\n''{"type":"exchange","id":"f2"}' ]

# An exchange that is no LLM call (llm.* null): its method and path in place
# of the prompt and reply.
mkdir -m 700 "$tmp/plain"
printf '%s\n' '{"type":"exchange","id":"m1","ts":"2026-12-04T21:07:00.000000Z","host":"api.openai.com","port":443,"tls":true,"request":{"method":"GET","path":"/v1/models","body":null},"response":{"status":200,"body":{"object":"list","data":[]}},"llm":{"provider":null,"model":null,"input_tokens":null,"output_tokens":null,"output_text":null},"timing":{"duration_ms":4},"error":null}' \
    > "$tmp/plain/elaine.jsonl"
chmod 600 "$tmp/plain/elaine.jsonl"
out=$("$ELAINE" tail --dir "$tmp/plain" 2>/dev/null)
check "no LLM call: method and path" grep -qxF '12-04 21:07:00  m1  -  -  200  in=- out=-  ttft=-  4ms  GET /v1/models' <<<"$out"

if [ "$fails" -ne 0 ]; then
    echo "test_reader: $fails check(s) failed"
    exit 1
fi
echo "test_reader: ok"
