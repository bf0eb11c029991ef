#!/usr/bin/env bash
# Plain-HTTP model servers (Ollama, vLLM, llama.cpp style): captured at the
# socket level from curl, http.client, requests and aiohttp, JSON and SSE;
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
