#!/usr/bin/env bash
# Plain-HTTP model servers (Ollama, vLLM, llama.cpp style): captured at the
# socket level from curl, http.client, requests and aiohttp: OpenAI-compatible
# JSON and SSE, and Ollama's /api/chat and /api/generate as JSON and NDJSON;
# non-LLM traffic on the same kind of socket and heavy file/pipe I/O record
# nothing and behave the same.
source "$(dirname "$0")/lib.sh"
start_mock --plain
MOCK_URL=http://localhost:$MOCK_PORT
export MOCK_URL
start_collector
url=$MOCK_URL/v1/chat/completions

run_elaine curl -sS --fail-with-body "$url" -H 'Content-Type: application/json' \
  -d '{"model":"llama3","messages":[{"role":"user","content":"plain curl json"}]}' >"$T/c1" || fail "curl json"
grep -q '"content":"Echo: plain curl json"' "$T/c1" || fail "curl reply: $(cat "$T/c1")"
run_elaine curl -sS --fail-with-body "$url" -H 'Content-Type: application/json' \
  -d '{"model":"llama3","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"plain curl stream"}]}' >"$T/c2" ||
  fail "curl stream"
grep -q 'data: \[DONE\]' "$T/c2" || fail "curl stream reply: $(cat "$T/c2")"

run_elaine "$PY" - >"$T/py.out" 2>"$T/py.err" <<'PYEOF' || fail "python client failed: $(cat "$T/py.err")"
import asyncio, http.client, json, os
import aiohttp, requests
from elaine_client import payload, from_sse, from_json
port = int(os.environ["MOCK_PORT"])
url = os.environ["MOCK_URL"] + "/v1/chat/completions"

c = http.client.HTTPConnection("localhost", port, timeout=30)
c.request("POST", "/v1/chat/completions", body=json.dumps(payload("plain http.client", model="llama3")),
          headers={"Content-Type": "application/json"})
print(from_json(json.loads(c.getresponse().read())))
c.close()

r = requests.post(url, json=payload("plain requests stream", model="llama3", stream=True, usage=True),
                  stream=True, timeout=30)
print(from_sse(r.iter_lines()))

async def main():
    async with aiohttp.ClientSession() as s:
        async with s.post(url, json=payload("plain aiohttp json", model="llama3")) as r:
            print(from_json(await r.json()))
        async with s.post(url, json=payload("plain aiohttp stream", model="llama3", stream=True, usage=True)) as r:
            print(from_sse([line async for line in r.content]))
asyncio.run(main())
PYEOF
want=$'Echo: plain http.client\nEcho: plain requests stream\nEcho: plain aiohttp json\nEcho: plain aiohttp stream'
[[ $(cat "$T/py.out") == "$want" ]] || fail "python output: $(cat "$T/py.out")"

wait_records 6
check_records 'len(recs) == 6'
for text in "plain curl json" "plain curl stream" "plain http.client" "plain requests stream" \
  "plain aiohttp json" "plain aiohttp stream"; do
  check_records "chat_ok(find('$text'), tls=False, model='llama3')"
done
check_records 'all(g(r, "exe").endswith(("curl", "python3.11", "python3")) for r in recs)'

# Ollama's own API over plain HTTP: NDJSON streams (its default) and JSON.
run_elaine curl -sS --fail-with-body "$MOCK_URL/api/chat" \
  -d '{"model":"llama3.2","messages":[{"role":"user","content":"ollama curl chat"}]}' >"$T/o1" || fail "curl /api/chat"
[[ $(wc -l <"$T/o1") -ge 3 ]] || fail "curl /api/chat is not NDJSON: $(cat "$T/o1")"
run_elaine "$PY" - >"$T/ol.out" 2>"$T/ol.err" <<'PYEOF' || fail "python ollama client failed: $(cat "$T/ol.err")"
import asyncio, http.client, json, os
import aiohttp, requests
port = int(os.environ["MOCK_PORT"])
base = os.environ["MOCK_URL"]
def chat(text): return {"model": "llama3.2", "messages": [{"role": "user", "content": text}]}
def ndjson_text(lines, key):
    out = []
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode()
        if line.strip():
            o = json.loads(line)
            out.append(o["message"]["content"] if key == "message" else o["response"])
    return "".join(out)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("POST", "/api/generate", body=json.dumps({"model": "llama3.2", "prompt": "ollama http.client generate"}))
print(ndjson_text(c.getresponse().read().splitlines(), "response"))
c.close()
r = requests.post(base + "/api/chat", json=dict(chat("ollama requests json"), stream=False), timeout=30)
print(r.json()["message"]["content"])
async def main():
    async with aiohttp.ClientSession() as s:
        async with s.post(base + "/api/chat", json=chat("ollama aiohttp stream")) as r:
            print(ndjson_text([line async for line in r.content], "message"))
asyncio.run(main())
PYEOF
want=$'Echo: ollama http.client generate\nEcho: ollama requests json\nEcho: ollama aiohttp stream'
[[ $(cat "$T/ol.out") == "$want" ]] || fail "python ollama output: $(cat "$T/ol.out")"
wait_records 10
check_records_script <<'PYEOF'
def ollama(text, op, stream):
    r = [x for x in uniq if isinstance(g(x, "llm.output_text"), str) and g(x, "llm.output_text") == "Echo: " + text]
    ok(len(r) == 1, "one record for %r, got %d" % (text, len(r)))
    r = r[0]
    for k, v in (("llm.provider", "ollama"), ("llm.operation", op), ("llm.model", "llama3.2"), ("llm.stream", stream),
                 ("llm.input_tokens", len(text.split())), ("llm.output_tokens", len(text.split()) + 1),
                 ("llm.finish_reason", "stop"), ("tls", False), ("response.status", 200)):
        ok(g(r, k) == v, "%r: %s is %r, want %r" % (text, k, g(r, k), v))
    ok(g(r, "llm.total_tokens") == 2 * len(text.split()) + 1, "%r: total_tokens %r" % (text, g(r, "llm.total_tokens")))
ollama("ollama curl chat", "chat", True)
ollama("ollama http.client generate", "completion", True)
ollama("ollama requests json", "chat", False)
ollama("ollama aiohttp stream", "chat", True)
PYEOF

# vfork: Python's subprocess runs the child in the parent's memory until exec,
# and the child closes descriptors there; a kept-alive captured connection of
# the parent must go on being recorded.
before=$(count_records "$LOGDIR")
run_elaine "$PY" - >"$T/vf.out" 2>"$T/vf.err" <<'PYEOF' || fail "vfork client failed: $(cat "$T/vf.err")"
import os, subprocess, requests
from elaine_client import payload, from_json
s = requests.Session()
url = os.environ["MOCK_URL"] + "/v1/chat/completions"
for i in range(3):
    print(from_json(s.post(url, json=payload("plain vfork %d" % i, model="llama3"), timeout=30).json()))
    subprocess.run(["true"], check=True, close_fds=True)
PYEOF
[[ $(cat "$T/vf.out") == $'Echo: plain vfork 0\nEcho: plain vfork 1\nEcho: plain vfork 2' ]] || fail "vfork output: $(cat "$T/vf.out")"
wait_records $((before + 3))
for i in 0 1 2; do check_records "chat_ok(find('plain vfork $i'), tls=False, model='llama3')"; done
check_records 'len({g(find("plain vfork %d" % i), "id").rsplit("-", 1)[0] for i in range(3)}) == 1'

# No LLM: a GET of another path on the same server, and heavy file and pipe
# I/O, record nothing; output and exit status are those of the plain run.
before=$(count_records "$LOGDIR")
cat >"$T/nollm.sh" <<EOF
curl -sS "$MOCK_URL/v1/models" | head -c 40; echo
dd if=/dev/zero bs=64k count=800 2>/dev/null | $PY -c 'import sys, hashlib; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
seq 1 200000 | sort -r | tail -n 1
EOF
plain_out=$(bash "$T/nollm.sh")
elaine_out=$(run_elaine bash "$T/nollm.sh")
[[ $plain_out == *'"object":"list"'*8565a714dca8* ]] || fail "unexpected output of the non-LLM commands: $plain_out"
[[ $plain_out == "$elaine_out" ]] || fail "output differs under elaine-run: $plain_out // $elaine_out"
sleep 0.5
[[ $(count_records "$LOGDIR") == "$before" ]] || fail "non-LLM traffic was recorded"
echo "test_plain_http: ok"
