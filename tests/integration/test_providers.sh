#!/usr/bin/env bash
# Every provider and mode with real clients against the mock: OpenAI chat and
# Responses, Anthropic Messages, Gemini generateContent/streamGenerateContent
# (SSE and JSON array), Ollama chat/generate (JSON and NDJSON) and embed, with
# tools and thinking, and each provider's error body; Python requests and
# httpx, and curl for some. Each record's llm.* is checked against what the
# mock computes, and a streamed call gives the same llm.* as the same call
# not streamed (except llm.stream).
source "$(dirname "$0")/lib.sh"
start_mock
start_collector

run_elaine "$PY" - >"$T/client.out" 2>&1 <<'PYEOF' || fail "python client failed: $(cat "$T/client.out")"
import json, os
import httpx, requests

BASE, CA = os.environ["MOCK_URL"], os.environ["MOCK_CERT"]
OPENAI = {"Authorization": "Bearer sk-test-key"}
ANTHROPIC = {"x-api-key": "sk-ant-test-key", "anthropic-version": "2023-06-01"}
GEMINI = {"x-goog-api-key": "AIza-test-key"}
hx = httpx.Client(verify=CA, timeout=30)
calls = 0

def post(client, path, body, headers=None, stream=False, status=200):
    """POSTs body as JSON; returns the response body as text (a stream read to its end)."""
    global calls
    calls += 1
    body = {k: v for k, v in body.items() if k != "_text"}
    if client == "requests":
        r = requests.post(BASE + path, json=body, headers=headers or {}, verify=CA, stream=stream, timeout=30)
        text = b"".join(r.iter_content(None)).decode() if stream else r.text
        code = r.status_code
    else:
        with hx.stream("POST", BASE + path, json=body, headers=headers or {}) as r:
            text = b"".join(r.iter_bytes()).decode()
            code = r.status_code
    assert code == status, (path, code, text[:300])
    return text

def both(client, path, body, headers, stream_path=None, ollama=False, **extra):
    """The same request plain and streamed: "stream": true (Ollama: "stream": false
    for the plain one, its default for the streamed one), or Gemini's stream_path."""
    text = body["_text"]
    plain = post(client, path, dict(body, stream=False) if ollama else body, headers)
    sbody = dict(body, **extra)
    if not ollama and not stream_path:
        sbody["stream"] = True
    streamed = post(client, stream_path or path, sbody, headers, stream=True)
    assert text.split()[0] in plain, (path, plain[:300])
    assert len(streamed) > len(plain) // 2, (path, streamed[:300])

W = {"type": "function", "function": {"name": "lookup", "description": "Look something up",
     "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}}
SYS = "You are a mock."

# OpenAI chat, plain and with a tool; Responses API, plain and with a tool
chat = lambda t, **kw: dict({"model": "gpt-4o-mini", "messages": [
    {"role": "system", "content": SYS}, {"role": "user", "content": t}], "_text": t}, **kw)
both("requests", "/v1/chat/completions", chat("openai chat call"), OPENAI, stream_options={"include_usage": True})
both("httpx", "/v1/chat/completions", chat("openai tool call", tools=[W]), OPENAI,
     stream_options={"include_usage": True})
both("httpx", "/v1/responses", {"model": "gpt-4.1", "input": "responses call", "_text": "responses call"}, OPENAI)
both("requests", "/v1/responses", {"model": "gpt-4.1", "input": [{"role": "user", "content": "responses tool call"}],
     "tools": [dict(W["function"], type="function")], "_text": "responses tool call"}, OPENAI)

# Anthropic: plain; with thinking and a tool
msgs = lambda t, **kw: dict({"model": "claude-3-5-haiku-latest", "max_tokens": 256, "system": SYS,
                             "messages": [{"role": "user", "content": t}], "_text": t}, **kw)
both("requests", "/v1/messages", msgs("anthropic call"), ANTHROPIC)
both("httpx", "/v1/messages", msgs("anthropic tool call", thinking={"type": "enabled", "budget_tokens": 1024},
     tools=[{"name": "lookup", "description": "Look something up", "input_schema": W["function"]["parameters"]}]),
     ANTHROPIC)

# Gemini: generateContent vs streamGenerateContent?alt=sse; the JSON-array stream; tools and thoughts
gem = lambda t, **kw: dict({"contents": [{"role": "user", "parts": [{"text": t}]}], "_text": t}, **kw)
M = "/v1beta/models/gemini-2.0-flash"
both("requests", M + ":generateContent", gem("gemini call"), GEMINI, stream_path=M + ":streamGenerateContent?alt=sse")
out = post("httpx", M + ":streamGenerateContent", {"contents": [{"role": "user", "parts": [{"text": "gemini call"}]}]},
           GEMINI, stream=True)
assert json.loads(out)[-1]["candidates"][0]["finishReason"] == "STOP", out
both("httpx", M + ":generateContent", gem("gemini tool call", tools=[{"functionDeclarations": [W["function"]]}],
     generationConfig={"thinkingConfig": {"includeThoughts": True}}), GEMINI,
     stream_path=M + ":streamGenerateContent?alt=sse")

# Ollama: chat and generate ("stream": false vs its default, NDJSON); chat with think and a tool; embed
ol = lambda t, **kw: dict({"model": "llama3.2", "messages": [{"role": "user", "content": t}], "_text": t}, **kw)
both("requests", "/api/chat", ol("ollama chat call"), None, ollama=True)
both("httpx", "/api/generate", {"model": "llama3.2", "prompt": "ollama generate call", "_text": "ollama generate call"},
     None, ollama=True)
both("requests", "/api/chat", ol("ollama tool call", think=True, tools=[W]), None, ollama=True)
post("requests", "/api/embed", {"model": "all-minilm", "input": "ollama embed call"})

# errors: each provider's error body
post("requests", "/v1/chat/completions", chat("openai error call", model="error-model"), OPENAI, status=400)
post("httpx", "/v1/messages", msgs("anthropic error call", model="error-model"), ANTHROPIC, status=404)
post("requests", "/v1beta/models/error-model:generateContent", gem("gemini error call"), GEMINI, status=404)
post("httpx", "/api/chat", ol("ollama error call", model="error-model"), None, status=404)
print("calls", calls)
PYEOF
grep -q '^calls 28$' "$T/client.out" || fail "client output: $(cat "$T/client.out")"

# curl: Anthropic plain and streamed, Ollama NDJSON, Gemini SSE
curl_cmd=(curl --http1.1 -sSk -N --fail-with-body -H 'Content-Type: application/json')
an='{"model":"claude-3-5-haiku-latest","max_tokens":64,"messages":[{"role":"user","content":"curl anthropic call"}]'
run_elaine "${curl_cmd[@]}" -H 'x-api-key: sk-ant-curl' --data "$an}" "$MOCK_URL/v1/messages" >"$T/c1" ||
  fail "curl anthropic failed"
run_elaine "${curl_cmd[@]}" -H 'x-api-key: sk-ant-curl' --data "$an,\"stream\":true}" "$MOCK_URL/v1/messages" \
  >"$T/c2" || fail "curl anthropic stream failed"
grep -q 'event: message_stop' "$T/c2" || fail "curl anthropic stream: $(cat "$T/c2")"
run_elaine "${curl_cmd[@]}" --data '{"model":"llama3.2","messages":[{"role":"user","content":"curl ollama call"}]}' \
  "$MOCK_URL/api/chat" >"$T/c3" || fail "curl ollama failed"
[[ $(wc -l <"$T/c3") -ge 3 ]] || fail "curl ollama: not NDJSON: $(cat "$T/c3")"
run_elaine "${curl_cmd[@]}" --data '{"contents":[{"parts":[{"text":"curl gemini call"}]}]}' \
  "$MOCK_URL/v1beta/models/gemini-1.5-flash:streamGenerateContent?alt=sse" >"$T/c4" || fail "curl gemini failed"
grep -q 'finishReason' "$T/c4" || fail "curl gemini: $(cat "$T/c4")"

wait_records 32
check_records 'len(uniq) == 32'
check_records_script <<'PYEOF'
import hashlib

def words(s):
    return len(s.split()) if s else 0

def cid(prefix, text):
    return prefix + hashlib.sha1(text.encode()).hexdigest()[:16]

def want(r, **kv):
    for k, v in kv.items():
        got = g(r, "llm." + k)
        ok(got == v and type(got) is type(v), "record %s (%s %s): llm.%s is %r, want %r"
           % (r.get("id"), g(r, "request.path"), user_text(r), k, got, v))
    return r

def pair(text, sse_only=False, **kv):
    """The plain and the streamed record of text: both as kv says, and equal
    (sse_only: the streamed one is the SSE one, not Gemini's JSON array)."""
    a = find_call(text, False)
    bs = [r for r in uniq if user_text(r) == text and g(r, "llm.stream") is True and
          (not sse_only or "alt=sse" in g(r, "request.path"))]
    ok(len(bs) == 1, "%d streamed records for %r" % (len(bs), text))
    b = bs[0]
    want(a, stream=False, **kv)
    want(b, stream=True, **kv)
    same_llm(a, b)
    ok(g(b, "timing.ttft_ms") is not None, "record %s: a stream without ttft_ms" % b.get("id"))
    return a, b

SYS = "You are a mock."
def tool(prefix, text, with_id=True):
    return [{"id": cid(prefix, text) if with_id else None, "name": "lookup", "arguments": {"text": text}}]

for r in uniq:
    ok(g(r, "error") is None and g(r, "host") == "localhost" and g(r, "port") == port,
       "record %s: error %r host %r port %r" % (r.get("id"), g(r, "error"), g(r, "host"), g(r, "port")))

# OpenAI
t = "openai chat call"; e = "Echo: " + t
pair(t, provider="openai", operation="chat", model="gpt-4o-mini", response_model="gpt-4o-mini",
     input_tokens=words(SYS) + words(t), output_tokens=words(e), total_tokens=words(SYS) + words(t) + words(e),
     finish_reason="stop", output_text=e, tool_calls=None, reasoning_text=None, error_type=None)
t = "openai tool call"; e = "Echo: " + t
pair(t, provider="openai", operation="chat", input_tokens=words(SYS) + words(t), output_tokens=words(e),
     finish_reason="tool_calls", output_text=None, tool_calls=tool("call_", t))
t = "responses call"; e = "Echo: " + t
pair(t, provider="openai", operation="responses", model="gpt-4.1", response_model="gpt-4.1",
     input_tokens=words(t), output_tokens=words(e), total_tokens=words(t) + words(e), cached_input_tokens=0,
     reasoning_tokens=0, finish_reason="completed", output_text=e, tool_calls=None)
t = "responses tool call"; e = "Echo: " + t
pair(t, provider="openai", operation="responses", finish_reason="completed", output_text=None,
     tool_calls=tool("call_", t), input_tokens=words(t), output_tokens=words(e))

# Anthropic
t = "anthropic call"; e = "Echo: " + t
pair(t, provider="anthropic", operation="messages", model="claude-3-5-haiku-latest",
     response_model="claude-3-5-haiku-latest", input_tokens=words(SYS) + words(t), output_tokens=words(e),
     total_tokens=words(SYS) + words(t) + words(e), cached_input_tokens=0, reasoning_tokens=None,
     finish_reason="end_turn", output_text=e, reasoning_text=None, tool_calls=None)
t = "anthropic tool call"; e = "Echo: " + t; th = "Thinking about: " + t
pair(t, provider="anthropic", operation="messages", input_tokens=words(SYS) + words(t),
     output_tokens=words(e) + words(th), finish_reason="tool_use", output_text=e, reasoning_text=th,
     tool_calls=tool("toolu_", t))
for text in ("curl anthropic call",):
    e = "Echo: " + text
    a, b = pair(text, provider="anthropic", input_tokens=words(text), output_tokens=words(e),
                finish_reason="end_turn", output_text=e)
    ok("curl" in g(a, "exe") and g(a, "request.headers.x-api-key") == "[REDACTED]", "curl record %r" % a.get("exe"))

# Gemini
t = "gemini call"; e = "Echo: " + t
a, b = pair(t, sse_only=True, provider="gemini", operation="generate_content", model="gemini-2.0-flash",
            response_model="gemini-2.0-flash", input_tokens=words(t), output_tokens=words(e),
            total_tokens=words(t) + words(e), finish_reason="STOP", output_text=e, tool_calls=None,
            reasoning_tokens=None, cached_input_tokens=None)
ok("alt=sse" in g(b, "request.path"), "the streamed gemini call is not the SSE one")
arr = [r for r in uniq if user_text(r) == t and "alt=sse" not in g(r, "request.path") and g(r, "llm.stream")]
ok(len(arr) == 1, "%d JSON-array stream records" % len(arr))
same_llm(arr[0], b, but=())
ok(g(arr[0], "timing.ttft_ms") is None, "a JSON array has no ttft")
t = "gemini tool call"; e = "Echo: " + t; th = "Thinking about: " + t
pair(t, sse_only=True, provider="gemini", input_tokens=words(t), output_tokens=words(e) + words(th),
     total_tokens=words(t) + words(e) + words(th), reasoning_tokens=words(th), reasoning_text=th,
     output_text=None, finish_reason="STOP", tool_calls=tool("", t, with_id=False))
r = want(find_call("curl gemini call", True), provider="gemini", model="gemini-1.5-flash", output_text="Echo: curl gemini call",
         finish_reason="STOP", input_tokens=3, output_tokens=4, total_tokens=7)

# Ollama
t = "ollama chat call"; e = "Echo: " + t
pair(t, provider="ollama", operation="chat", model="llama3.2", response_model="llama3.2", input_tokens=words(t),
     output_tokens=words(e), total_tokens=words(t) + words(e), finish_reason="stop", output_text=e,
     tool_calls=None, reasoning_text=None)
t = "ollama generate call"; e = "Echo: " + t
pair(t, provider="ollama", operation="completion", model="llama3.2", input_tokens=words(t),
     output_tokens=words(e), total_tokens=words(t) + words(e), finish_reason="stop", output_text=e)
t = "ollama tool call"; e = "Echo: " + t; th = "Thinking about: " + t
pair(t, provider="ollama", operation="chat", input_tokens=words(t), output_tokens=words(e) + words(th),
     finish_reason="stop", output_text="", reasoning_text=th, tool_calls=tool("", t, with_id=False))
want(find_call("ollama embed call"), provider="ollama", operation="embeddings", model="all-minilm",
     response_model="all-minilm", stream=False, input_tokens=3, output_tokens=None, total_tokens=None,
     output_text=None)
r = want(find_call("curl ollama call", True), provider="ollama", operation="chat", output_text="Echo: curl ollama call",
         input_tokens=3, output_tokens=4, finish_reason="stop")
ok("ndjson" in g(r, "response.headers.content-type") and isinstance(g(r, "response.body"), str),
   "ollama stream record: %r" % g(r, "response.headers"))

# errors: the body kept, error_type and error_message from it
errs = {"openai error call": ("openai", 400, "invalid_request_error", "The model `error-model` does not exist."),
        "anthropic error call": ("anthropic", 404, "not_found_error", "model: error-model"),
        "gemini error call": ("gemini", 404, "NOT_FOUND",
                              "models/error-model is not found for API version v1beta, or is not supported for generateContent."),
        "ollama error call": ("ollama", 404, None, 'model "error-model" not found, try pulling it first')}
for text, (prov, status, etype, msg) in errs.items():
    r = want(find_call(text), provider=prov, error_type=etype, error_message=msg, output_text=None,
             input_tokens=None, finish_reason=None)
    ok(g(r, "response.status") == status and isinstance(g(r, "response.body"), dict),
       "record %s: status %r body %r" % (r.get("id"), g(r, "response.status"), g(r, "response.body")))
PYEOF
if grep -rqE 'sk-test-key|sk-ant-test-key|AIza-test-key|sk-ant-curl' "$LOGDIR"; then
  fail "an API key reached the log directory"
fi
echo "test_providers: ok"
