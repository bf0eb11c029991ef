#!/usr/bin/env bash
# elaine tail/show/stats/export over a fixture log directory built here by
# hand from tests/data/reader: two rotated .zst (made with the zstd command), a
# corrupt .zst between them, the active file with a duplicate id (a resend), a
# line that is not JSON and a truncated last line. Expected outputs are
# written out in full; the stats numbers are worked out by hand below.
# Needs $ELAINE_BUILD_DIR (ctest sets it).
set -u

ELAINE="${ELAINE_BUILD_DIR:?set ELAINE_BUILD_DIR}/collector/elaine"
SRC=${ELAINE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DATA=$SRC/tests/data/reader
[ -x "$ELAINE" ] || { echo "FAIL: $ELAINE not built"; exit 1; }
command -v zstd >/dev/null || { echo "FAIL: zstd command missing"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 missing"; exit 1; }

tmp=$(mktemp -d /tmp/test_reader_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export TZ=UTC NO_COLOR=
unset ELAINE_DIR
dir="$tmp/logs"
mkdir -m 700 "$dir"
zstd -q "$DATA/rotated1.jsonl" -o "$dir/elaine-20261204T100000.000000Z.jsonl.zst"
printf 'not a zstd frame at all' >"$dir/elaine-20261204T103000.000000Z.jsonl.zst"
zstd -q "$DATA/rotated2.jsonl" -o "$dir/elaine-20261204T110000.000000Z.jsonl.zst"
cat "$DATA/active.jsonl" "$DATA/truncated.txt" >"$dir/elaine.jsonl"

fails=0
check() { # check "what" command...
    local what=$1; shift
    if "$@"; then :; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
same() { # same "what" got want
    if [ "$2" = "$3" ]; then :; else
        echo "FAIL: $1"; diff <(printf '%s\n' "$3") <(printf '%s\n' "$2") | head -20
        fails=$((fails + 1))
    fi
}
run() { "$ELAINE" "$@" --dir "$dir" 2>"$tmp/err"; }

# ---- reading: time order, the corrupt file named, the rest read, dups dropped ----
out=$(run tail -n 100)
check "tail exit 0 despite a corrupt file" [ $? -eq 0 ]
check "corrupt .zst named on stderr in one line" \
    grep -qx 'elaine: read "'"$dir"'/elaine-20261204T103000.000000Z.jsonl.zst" failed: corrupt or truncated zstd data' "$tmp/err"
check "non-JSON line counted, file named" grep -qx "elaine: $dir/elaine.jsonl: skipped 1 line that is not JSON" "$tmp/err"
check "stderr: two lines, nothing about the truncated last line" [ "$(wc -l <"$tmp/err")" -eq 2 ]
same "tail, every exchange once, time order" "$out" \
'12-04 09:10:00  1000-77-1-0  openai  gpt-4o-mini  200  in=10 out=20  ttft=-  100ms  "Capital of France?" -> "Paris is the capital."
12-04 09:20:00  1000-77-2-0  anthropic  claude-3-5-haiku  200  in=5 out=10  ttft=50ms  200ms  "Weather in Paris?" -> "It is 18C and sunny in Paris."
12-04 10:10:00  1000-77-3-0  openai  gpt-4o-mini  429  in=- out=-  ttft=-  50ms  "Again?" -> "Rate limit reached"
12-04 10:20:00  2000-88-1-0  gemini  gemini-2.0-flash  200  in=8 out=40  ttft=100ms  400ms  "What is 2+2?" -> "4"
12-04 10:30:00  DROP pid=4242 events=3 bytes=1234
12-04 11:10:00  3000-99-1-0  openai  gpt-4o-mini  200  in=30 out=60  ttft=30ms  300ms  "Find invoice 42 [image]" -> "call find_invoice({"n":42})"
12-04 11:20:00  4000-11-1-0  ollama  llama3.2  error  in=- out=-  ttft=-  1000ms  "Say hello" -> "connection reset"'

out=$(run tail -n 2 --json)
same "tail -n 2 --json: the last two records as stored" "$out" "$(sed -n 3,4p "$DATA/active.jsonl")"

# ---- filters (every subcommand takes them; checked through export jsonl ids) ----
ids() { run export --format jsonl "$@" | python3 -c 'import sys,json; print(" ".join(json.loads(l)["id"] for l in sys.stdin))'; }
same "no filter: 6 exchanges, duplicate dropped" "$(ids)" "1000-77-1-0 1000-77-2-0 1000-77-3-0 2000-88-1-0 3000-99-1-0 4000-11-1-0"
same "--provider" "$(ids --provider openai)" "1000-77-1-0 1000-77-3-0 3000-99-1-0"
same "--provider twice: either" "$(ids --provider gemini --provider ollama)" "2000-88-1-0 4000-11-1-0"
same "--model glob, also response_model" "$(ids --model 'gpt-4o-mini-2024*')" "1000-77-1-0"
same "--host with port" "$(ids --host 'localhost:11434')" "4000-11-1-0"
same "--exe base name" "$(ids --exe curl)" "3000-99-1-0"
same "--exe full path glob" "$(ids --exe '/opt/*')" "4000-11-1-0"
same "--status error" "$(ids --status error)" "1000-77-3-0 4000-11-1-0"
same "--status 4xx" "$(ids --status 4xx)" "1000-77-3-0"
same "--status 200 --provider openai" "$(ids --status 200 --provider openai)" "1000-77-1-0 3000-99-1-0"
same "--status ok" "$(ids --status ok --model 'g*')" "1000-77-1-0 2000-88-1-0 3000-99-1-0"
same "--grep in the prompt, any case" "$(ids --grep INVOICE)" "3000-99-1-0"
same "--grep in the reply" "$(ids --grep 'sunny in')" "1000-77-2-0"
same "--grep with a quote (no shortcut)" "$(ids --grep '"n":42')" "3000-99-1-0"
same "--since/--until RFC 3339" "$(ids --since 2026-12-04T10:10:00Z --until 2026-12-04T11:10:00Z)" "1000-77-3-0 2000-88-1-0"
same "--since with an offset" "$(ids --since 2026-12-04T12:15:00+01:00)" "4000-11-1-0"
same "--since a duration (all in the past)" "$(ids --since 100000w)" "1000-77-1-0 1000-77-2-0 1000-77-3-0 2000-88-1-0 3000-99-1-0 4000-11-1-0"
same "--until a duration" "$(ids --until 1m --provider anthropic)" "1000-77-2-0"
same "--since a local time (TZ=UTC)" "$(ids --since '2026-12-04 11:15')" "4000-11-1-0"
run export --format jsonl --since 2026-12-04T10:05:00Z >/dev/null
check "--since skips older rotated files unread (no complaint about the one before)" \
    grep -q 103000 "$tmp/err"
run export --format jsonl --since 2026-12-04T10:40:00Z >/dev/null
check "--since after the corrupt file's time: not read" eval '! grep -q 103000 "$tmp/err"'
same "tail takes filters" "$(run tail --status error -n 1)" \
    '12-04 11:20:00  4000-11-1-0  ollama  llama3.2  error  in=- out=-  ttft=-  1000ms  "Say hello" -> "connection reset"'

# ---- stats: worked out by hand from the fixtures ----
# gpt-4o-mini: 1000-77-1 (100 ms, ok, 10/20 tok), 1000-77-3 (50 ms, 429), 3000-99-1 (300 ms, ttft 30, 30/60)
#   count 3, 1 error = 33.3%; durations sorted 50,100,300: p50 = rank ceil(.5*3)=2 -> 100,
#   p95 = rank ceil(2.85)=3 -> 300, p99 -> 300; ttft 30; in 40, out 80;
#   out/s = (20+60) / (0.1+0.3 s) = 200.0
# claude-3-5-haiku: 200 ms, ttft 50, 5/10 -> 10/0.2 = 50.0
# gemini-2.0-flash (the resend counted once): 400 ms, ttft 100, 8/40 -> 40/0.4 = 100.0
# llama3.2: connection reset: 1 error of 1, 1000 ms, no tokens
# TOTAL: 6, 2 errors = 33.3%; 50,100,200,300,400,1000: p50 rank 3 -> 200, p95 rank 6 -> 1000;
#   ttft 30,50,100: p50 rank 2 -> 50, p95 rank 3 -> 100; in 53, out 130, 130/(0.1+0.2+0.4+0.3) = 130.0
# drops: one report of 3 events, 1234 bytes; sampled out: collector pid 100 ends at 5
out=$(run stats)
check "stats exit 0" [ $? -eq 0 ]
same "stats --by model (default)" "$out" \
'MODEL             COUNT    ERR%  P50_MS  P95_MS  P99_MS  TTFT_P50  TTFT_P95  TTFT_P99  IN_TOK  OUT_TOK  OUT_TOK/S
gpt-4o-mini           3   33.3%   100.0   300.0   300.0      30.0      30.0      30.0      40       80      200.0
claude-3-5-haiku      1    0.0%   200.0   200.0   200.0      50.0      50.0      50.0       5       10       50.0
gemini-2.0-flash      1    0.0%   400.0   400.0   400.0     100.0     100.0     100.0       8       40      100.0
llama3.2              1  100.0%  1000.0  1000.0  1000.0         -         -         -       -        -          -
TOTAL                 6   33.3%   200.0  1000.0  1000.0      50.0     100.0     100.0      53      130      130.0

dropped by shims: 3 events (1234 bytes) in 1 report; sampled out: 5 exchanges'

# By status: 200 x4 (100,200,400,300 ms), 429 x1, error x1.
out=$(run stats --by status --json)
got=$(python3 -c '
import json,sys
d=json.loads(sys.argv[1])
g={x["key"]:x for x in d["groups"]}
print(d["by"], [x["key"] for x in d["groups"]], g["200"]["count"], g["200"]["duration_ms"], g["200"]["output_tokens"],
      g["200"]["output_tokens_per_second"], g["429"]["error_rate"], g["error"]["errors"], g["error"]["ttft_ms"]["p50"],
      d["total"]["count"], d["total"]["error_rate"], d["dropped_events"], d["dropped_bytes"], d["drop_reports"],
      d["sampled_out"], d["duplicates_dropped"])' "$out")
# 200: 100,200,300,400: p50 rank 2 -> 200, p95 rank 4 -> 400; out 20+10+40+60=130 over 1.0 s
same "stats --by status --json" "$got" \
    "status ['200', '429', 'error'] 4 {'p50': 200, 'p95': 400, 'p99': 400} 130 130 1 1 None 6 0.3333333333333333 3 1234 1 5 1"

# Within --since: the rotated file named 10:00 is skipped; the collector line at
# 10:00 (sampled_out 2) is the baseline, so 5 - 2 = 3 sampled out in the window.
# gpt-4o-mini: 50 (429) and 300 ms: p50 rank 1 -> 50; total 50,300,400,1000: p50 rank 2 -> 300;
# out/s (60+40)/(0.3+0.4) = 142.9
out=$(run stats --since 2026-12-04T10:05:00Z)
same "stats --since" "$out" \
'MODEL             COUNT    ERR%  P50_MS  P95_MS  P99_MS  TTFT_P50  TTFT_P95  TTFT_P99  IN_TOK  OUT_TOK  OUT_TOK/S
gpt-4o-mini           2   50.0%    50.0   300.0   300.0      30.0      30.0      30.0      30       60      200.0
gemini-2.0-flash      1    0.0%   400.0   400.0   400.0     100.0     100.0     100.0       8       40      100.0
llama3.2              1  100.0%  1000.0  1000.0  1000.0         -         -         -       -        -          -
TOTAL                 4   50.0%   300.0  1000.0  1000.0      30.0     100.0     100.0      38      100      142.9

dropped by shims: 3 events (1234 bytes) in 1 report; sampled out: 3 exchanges'
same "stats --by provider rows" "$(run stats --by provider | awk 'NR>1 && NF>3 && !/^dropped/ {print $1, $2}')" \
    "openai 3
anthropic 1
gemini 1
ollama 1
TOTAL 6"
same "stats --by host" "$(run stats --by host --provider ollama | awk 'NR==2 {print $1, $2}')" "localhost:11434 1"
same "stats --by exe" "$(run stats --by exe --exe node | awk 'NR==2 {print $1, $2}')" "/usr/bin/node 1"

# ---- show ----
out=$(run show 1000-77-2)
check "show exit 0" [ $? -eq 0 ]
same "show: metadata, conversation with tool call and result, reply" "$out" \
'exchange  1000-77-2-0
time      2026-12-04 09:20:00.000  (2026-12-04T09:20:00.000000Z)
client    /usr/bin/python3.11  pid 1000  tid 1001
server    https://api.anthropic.com:443  HTTP/2
request   POST /v1/messages  (300 bytes)
provider  anthropic  operation messages  stream yes
model     claude-3-5-haiku
status    200  finish end_turn
tokens    in 5  out 10  total 15  cached 0  reasoning -
timing    ttfb 40ms  ttft 50ms  duration 200ms

--- request ---
[system]
You are a weather bot.

[user]
Weather in Paris?

[assistant]
Let me check.
-> call get_weather (toolu_1) {"city":"Paris"}

[tool toolu_1]
18C, sunny

--- reply ---
[assistant]
It is 18C and sunny in Paris.'
out=$(run show 1000-77-1-0)
check "show: stack listed" grep -qx '#1   libc.so.6!__libc_start_main+0x85' <<<"$out"
check "show: response model when it differs" grep -qx 'model     gpt-4o-mini  (response: gpt-4o-mini-2024-07-18)' <<<"$out" 
same "show Gemini: function call and response" "$(run show 2000-88 | sed -n '/--- request ---/,$p')" \
'--- request ---
[system]
Be brief.

[user]
What is 2+2?

[assistant]
-> call calc {"expr":"2+2"}

[tool calc]
{"result":4}

--- reply ---
[assistant]
4'
same "show Ollama generate, failed: prompt, error, no reply" "$(run show 4000 | sed -n '/^status/,$p')" \
'status    -  finish -
error     connection reset
tokens    in -  out -  total -  cached -  reasoning -
timing    ttfb -  ttft -  duration 1000ms

--- request ---
[system]
Answer in French.

[user]
Say hello

--- reply ---
(none)'
same "show 429: the error body as reply" "$(run show 1000-77-3 | sed -n '/^api error/p;/--- reply ---/,$p')" \
'api error rate_limit_exceeded: Rate limit reached
--- reply ---
{"error":{"type":"rate_limit_exceeded","message":"Rate limit reached"}}'
same "show --json: the record as stored" "$(run show 3000 --json)" "$(sed -n 3p "$DATA/active.jsonl")"
same "show --raw: the HTTP exchange" "$(run show 1000-77-3 --raw)" \
'POST /v1/chat/completions HTTP/1.1

{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Again?"}]}

HTTP/1.1 429

{"error":{"type":"rate_limit_exceeded","message":"Rate limit reached"}}'
run show 1000-77 >/dev/null
check "ambiguous prefix exits 2" [ $? -eq 2 ]
check "ambiguous prefix lists the ids" grep -q 'several ids: 1000-77-1-0 1000-77-2-0 1000-77-3-0' "$tmp/err"
run show 9999 >/dev/null
check "no such id exits 1" [ $? -eq 1 ]
check "no such id said" grep -q 'no exchange has an id starting with "9999"' "$tmp/err"
run show >/dev/null
check "show without id exits 2" [ $? -eq 2 ]

# ---- export ----
out=$(run export --format openai)
same "export openai: exact message structure" "$out" \
'{"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Capital of France?"},{"role":"assistant","content":"Paris is the capital."}]}
{"messages":[{"role":"system","content":"You are a weather bot."},{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"toolu_1","content":"18C, sunny"},{"role":"assistant","content":"It is 18C and sunny in Paris."}]}
{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"},{"role":"assistant","tool_calls":[{"id":"calc","type":"function","function":{"name":"calc","arguments":"{\"expr\":\"2+2\"}"}}]},{"role":"tool","tool_call_id":"calc","content":"{\"result\":4}"},{"role":"assistant","content":"4"}]}
{"messages":[{"role":"user","content":"Find invoice 42\n[image]"},{"role":"assistant","tool_calls":[{"id":"call_9","type":"function","function":{"name":"find_invoice","arguments":"{\"n\":42}"}}]}],"tools":[{"type":"function","function":{"name":"find_invoice","parameters":{"type":"object"}}}]}'

out=$(run export --format otlp --provider openai --status 4xx)
got=$(python3 -c '
import json,sys
lines=sys.argv[1].splitlines()
d=json.loads(lines[0])
rs=d["resourceSpans"][0]
res={a["key"]:a["value"] for a in rs["resource"]["attributes"]}
sp=rs["scopeSpans"][0]["spans"][0]
at={a["key"]:a["value"] for a in sp["attributes"]}
print(len(lines), res["service.name"], res["process.pid"], sp["name"], sp["kind"], sp["startTimeUnixNano"], sp["endTimeUnixNano"],
      len(sp["traceId"]), len(sp["spanId"]), at["gen_ai.provider.name"], at["gen_ai.system"], at["gen_ai.operation.name"],
      at["gen_ai.request.model"], at["server.address"], at["server.port"], at["http.response.status_code"], at["error.type"],
      sp["status"], "gen_ai.usage.input_tokens" in at)' "$out")
same "export otlp: a failed chat span" "$got" \
    "1 {'stringValue': 'python3.11'} {'intValue': '1000'} chat gpt-4o-mini 3 1796379000000000000 1796379000050000000 32 16 {'stringValue': 'openai'} {'stringValue': 'openai'} {'stringValue': 'chat'} {'stringValue': 'gpt-4o-mini'} {'stringValue': 'api.openai.com'} {'intValue': '443'} {'intValue': '429'} {'stringValue': 'rate_limit_exceeded'} {'code': 2, 'message': 'Rate limit reached'} False"
out=$(run export --format otlp --provider gemini)
got=$(python3 -c '
import json,sys
sp=json.loads(sys.argv[1])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
at={a["key"]:a["value"] for a in sp["attributes"]}
print(sp["name"], at["gen_ai.provider.name"]["stringValue"], at["gen_ai.system"]["stringValue"],
      at["gen_ai.operation.name"]["stringValue"], at["gen_ai.response.model"]["stringValue"],
      at["gen_ai.usage.input_tokens"], at["gen_ai.usage.output_tokens"], at["gen_ai.response.finish_reasons"], sp["status"])' "$out")
same "export otlp: GenAI names" "$got" \
    "generate_content gemini-2.0-flash gcp.gemini gemini generate_content gemini-2.0-flash {'intValue': '8'} {'intValue': '40'} {'arrayValue': {'values': [{'stringValue': 'STOP'}]}} {}"
same "export otlp: one line per LLM exchange" "$(run export --format otlp | wc -l)" "6"
same "export jsonl: records as stored" "$(run export --format jsonl --exe node)" "$(sed -n 3p "$DATA/rotated2.jsonl")"

# ---- usage and help ----
for cmd in tail show stats export; do
    "$ELAINE" $cmd --help >"$tmp/help" 2>&1
    check "$cmd --help exits 0" [ $? -eq 0 ]
    check "$cmd --help explains the filters" grep -q -- "--since T" "$tmp/help"
    check "$cmd --help has an example" grep -q "elaine $cmd" "$tmp/help"
    "$ELAINE" $cmd --bogus --dir "$dir" >/dev/null 2>&1
    check "$cmd: unknown flag exits 2" [ $? -eq 2 ]
done
"$ELAINE" --help | grep -q "elaine stats"
check "elaine --help" [ "${PIPESTATUS[0]}" -eq 0 ]
"$ELAINE" stats --by color --dir "$dir" >/dev/null 2>&1
check "stats --by bad exits 2" [ $? -eq 2 ]
"$ELAINE" export --dir "$dir" >/dev/null 2>&1
check "export without --format exits 2" [ $? -eq 2 ]
"$ELAINE" tail --since yesterday --dir "$dir" >/dev/null 2>&1
check "bad --since exits 2" [ $? -eq 2 ]
"$ELAINE" tail --status 6xx --dir "$dir" >/dev/null 2>&1
check "bad --status exits 2" [ $? -eq 2 ]

# ---- tail width and colour ----
out=$(run tail -n 1 --width 120 --provider openai)
same "tail --width 120: texts cut to fit" "$out" '12-04 11:10:00  3000-99-1-0  openai  gpt-4o-mini  200  in=30 out=60  ttft=30ms  300ms  "Find ..." -> "call find_invo..."'
out=$(run tail -n 1 --width 140 --provider openai)
same "tail --width 140: the short reply whole, the rest to the prompt" "$out" '12-04 11:10:00  3000-99-1-0  openai  gpt-4o-mini  200  in=30 out=60  ttft=30ms  300ms  "Find invoice 42..." -> "call find_invoice({"n":42})"'
check "no colour when not a terminal" eval '! grep -q $'"'"'\033'"'"' <<<"$(run tail)"'
check "--color always colours" eval 'grep -q $'"'"'\033\['"'"' <<<"$(run tail --color always)"'

if [ "$fails" -ne 0 ]; then
    echo "test_reader_cli: $fails check(s) failed"
    exit 1
fi
echo "test_reader_cli: ok"
