#!/usr/bin/python3
"""A mock of the LLM provider APIs on TLS, for the integration tests and the demo.

Standard library only. Deterministic: every generating endpoint answers
"Echo: <last user text>", with usage counted in whitespace-separated words
(input: the text of all messages, and of the system prompt where the API has
one apart; output: the reply, plus the thinking text when thinking is asked
for), as JSON (gzip when the client accepts it) or streamed, one word per
event, each event its own HTTP chunk:

  POST /v1/chat/completions    OpenAI chat; "stream": true gives SSE
                               (usage with stream_options.include_usage)
  POST /v1/responses           OpenAI Responses API; SSE with event: lines
  POST /v1/messages            Anthropic Messages; SSE with event: lines;
                               "thinking" adds a thinking block
  POST /v1beta/models/M:generateContent        Gemini, the model from the path
  POST /v1beta/models/M:streamGenerateContent  ?alt=sse: SSE, else a JSON array;
                               thinkingConfig.includeThoughts adds a thought part
  POST /api/chat, /api/generate  Ollama; NDJSON unless "stream": false (its
                               default is to stream); "think": true adds thinking
  POST /api/embed              Ollama embeddings

With "tools" in the request the model calls the first tool with arguments
{"text": <last user text>} (call id derived from that text, so a streamed and
a plain call agree). GET /v1/models lists two models; model "error-model"
gets the provider's error (400, Ollama 404); any other path a 404. Every
response carries X-Mock-Connection, the number of the TCP connection it went
out on (tests use it to prove keep-alive).

Usage: mock_llm_server.py --port 0 --cert CERT --key KEY [--plain] [--delay-ms N]
The port is printed as the first line on stdout; nothing else is printed there.
"""
import argparse
import gzip
import hashlib
import itertools
import json
import re
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CREATED = 1700000000  # fixed, so that a response is the same on every run
MODELS = ["gpt-4o-mini", "gpt-4o"]


def content_text(content):
    """A message's content as text: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content
                        if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def word_chunks(text):
    """Splits text into pieces of one word each (with the space before it);
    the pieces concatenate back to text."""
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)):]
    if rest:
        pieces = pieces[:-1] + [pieces[-1] + rest] if pieces else [rest]
    return pieces


def error_body(message, etype="invalid_request_error", code=None, param=None):
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


def words(text):
    return len(text.split()) if isinstance(text, str) else 0


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def call_id(prefix, text):
    """A tool call id that depends only on the text, so that a streamed and a
    plain call of the same request agree."""
    return prefix + hashlib.sha1(text.encode()).hexdigest()[:16]


def first_tool(tools, *path):
    """The name of the first tool, found under the keys in path, or None."""
    if not isinstance(tools, list) or not tools:
        return None
    t = tools[0]
    for k in path:
        t = t.get(k) if isinstance(t, dict) else None
        if isinstance(t, list):
            t = t[0] if t else None
    return t if isinstance(t, str) else None


def split_args(args):
    """The JSON text of args in two pieces, as a model streams them."""
    text = json.dumps(args, separators=(",", ":"))
    return [text[:len(text) // 2], text[len(text) // 2:]]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "mock-llm/1.0"

    def setup(self):
        super().setup()
        self.conn_no = next(self.server.conn_counter)
        # Like real API servers: no Nagle delay between the head and the body
        # (it would show as ~40 ms of fake latency in every record).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            # The handshake runs here, in the connection's thread, not in accept().
            self.connection.settimeout(10)
            self.connection.do_handshake()
            self.connection.settimeout(None)

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("mock: %s %s\n" % (self.address_string(), fmt % args))

    # --- reading -----------------------------------------------------------
    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(parts)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    # --- writing -----------------------------------------------------------
    def send_json(self, status, obj):
        body = json.dumps(obj, separators=(",", ":")).encode()
        gz = "gzip" in self.headers.get("Accept-Encoding", "").lower()
        if gz:
            body = gzip.compress(body, mtime=0)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if gz:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Mock-Connection", str(self.conn_no))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # --- routes ------------------------------------------------------------
    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": CREATED, "owned_by": "mock"}
                for m in MODELS]})
        else:
            self.not_found()

    def do_POST(self):
        body = self.read_body()
        path = self.path.split("?", 1)[0]
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        routes = {"/v1/chat/completions": self.chat, "/v1/responses": self.responses_api,
                  "/v1/messages": self.anthropic, "/api/chat": self.ollama,
                  "/api/generate": self.ollama, "/api/embed": self.ollama_embed}
        handler = routes.get(path)
        m = re.fullmatch(r"/v1beta/models/([^/:]+):(generateContent|streamGenerateContent)", path)
        if m:
            handler = lambda req: self.gemini(req, m.group(1), m.group(2) == "streamGenerateContent",
                                              "alt=sse" in query.split("&"))
        if handler is None:
            self.not_found()
            return
        try:
            req = json.loads(body or b"null")
        except ValueError:
            req = None
        if not isinstance(req, dict):
            self.send_json(400, error_body("We could not parse the JSON body of your request."))
            return
        handler(req)

    def chat(self, req):
        model = req.get("model")
        messages = req.get("messages")
        if not isinstance(model, str) or not isinstance(messages, list):
            self.send_json(400, error_body("'model' and 'messages' are required properties.",
                                           param="messages" if isinstance(model, str) else "model"))
            return
        if model == "error-model":
            self.send_json(400, error_body("The model `error-model` does not exist.",
                                           param="model", code="model_not_found"))
            return
        msgs = [m for m in messages if isinstance(m, dict)]
        users = [m for m in msgs if m.get("role") == "user"] or msgs
        reply = "Echo: " + (content_text(users[-1].get("content")) if users else "")
        prompt_tokens = sum(len(content_text(m.get("content")).split()) for m in msgs)
        completion_tokens = len(reply.split())
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        cid = "chatcmpl-mock-%d" % next(self.server.id_counter)
        tool = first_tool(req.get("tools"), "function", "name")
        user = content_text(users[-1].get("content")) if users else ""
        if req.get("stream"):
            opts = req.get("stream_options")
            include_usage = isinstance(opts, dict) and bool(opts.get("include_usage"))
            self.stream(cid, model, reply, usage if include_usage else None, tool, user)
            return
        message = {"role": "assistant", "content": reply, "refusal": None}
        if tool:
            message["content"] = None
            message["tool_calls"] = [{"id": call_id("call_", user), "type": "function", "function": {
                "name": tool, "arguments": json.dumps({"text": user}, separators=(",", ":"))}}]
        self.send_json(200, {
            "id": cid, "object": "chat.completion", "created": CREATED, "model": model,
            "choices": [{"index": 0, "message": message,
                         "logprobs": None, "finish_reason": "tool_calls" if tool else "stop"}],
            "usage": usage, "system_fingerprint": "fp_mock"})

    def stream(self, cid, model, reply, usage, tool=None, user=""):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Mock-Connection", str(self.conn_no))
        self.end_headers()
        self.wfile.flush()

        def chunk(delta, finish=None):
            obj = {"id": cid, "object": "chat.completion.chunk", "created": CREATED,
                   "model": model, "system_fingerprint": "fp_mock",
                   "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                "finish_reason": finish}]}
            if usage is not None:
                obj["usage"] = None
            return obj

        if tool:
            args = split_args({"text": user})
            events = [chunk({"role": "assistant", "content": None, "refusal": None, "tool_calls": [
                {"index": 0, "id": call_id("call_", user), "type": "function",
                 "function": {"name": tool, "arguments": ""}}]})]
            events += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": a}}]}) for a in args]
            events.append(chunk({}, "tool_calls"))
        else:
            events = [chunk({"role": "assistant", "content": "", "refusal": None})]
            events += [chunk({"content": w}) for w in word_chunks(reply)]
            events.append(chunk({}, "stop"))
        if usage is not None:
            events.append({"id": cid, "object": "chat.completion.chunk", "created": CREATED,
                           "model": model, "system_fingerprint": "fp_mock",
                           "choices": [], "usage": usage})
        delay = self.server.delay
        for ev in events:
            if delay:
                time.sleep(delay)
            self.send_chunk(b"data: " + json.dumps(ev, separators=(",", ":")).encode() + b"\n\n")
        self.send_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # --- streaming helpers ---------------------------------------------------
    def start_stream(self, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Mock-Connection", str(self.conn_no))
        self.end_headers()
        self.wfile.flush()

    def send_events(self, pieces):
        """Each piece (bytes) its own HTTP chunk, then the last chunk."""
        for p in pieces:
            if self.server.delay:
                time.sleep(self.server.delay)
            self.send_chunk(p)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    @staticmethod
    def sse(name, obj, nl="\n"):
        head = ("event: %s%s" % (name, nl)).encode() if name else b""
        return head + b"data: " + compact(obj) + (nl + nl).encode()

    # --- OpenAI Responses API ----------------------------------------------
    def responses_api(self, req):
        model = req.get("model")
        inp = req.get("input")
        if not isinstance(model, str) or not isinstance(inp, (str, list)):
            self.send_json(400, error_body("'model' and 'input' are required properties."))
            return
        if model == "error-model":
            self.send_json(400, error_body("The model `error-model` does not exist.",
                                           param="model", code="model_not_found"))
            return
        msgs = [{"role": "user", "content": inp}] if isinstance(inp, str) else \
            [m for m in inp if isinstance(m, dict)]
        users = [m for m in msgs if m.get("role") == "user"] or msgs
        user = content_text(users[-1].get("content")) if users else ""
        reply = "Echo: " + user
        in_tok = words(req.get("instructions")) + sum(words(content_text(m.get("content"))) for m in msgs)
        out_tok = words(reply)
        usage = {"input_tokens": in_tok, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": out_tok, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": in_tok + out_tok}
        n = next(self.server.id_counter)
        rid, mid = "resp_mock_%d" % n, "msg_mock_%d" % n
        tool = first_tool(req.get("tools"), "name")
        if tool:
            item = {"type": "function_call", "id": "fc_mock_%d" % n, "call_id": call_id("call_", user),
                    "name": tool, "arguments": json.dumps({"text": user}, separators=(",", ":")),
                    "status": "completed"}
        else:
            item = {"type": "message", "id": mid, "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": reply, "annotations": []}]}

        def obj(status, output, u):
            return {"id": rid, "object": "response", "created_at": CREATED, "status": status,
                    "error": None, "incomplete_details": None, "model": model, "output": output,
                    "usage": u}
        if not req.get("stream"):
            self.send_json(200, obj("completed", [item], usage))
            return
        seq = itertools.count()

        def ev(t, **kw):
            d = {"type": t}
            d.update(kw)
            d["sequence_number"] = next(seq)
            return self.sse(t, d)
        out = [ev("response.created", response=obj("in_progress", [], None)),
               ev("response.in_progress", response=obj("in_progress", [], None))]
        if tool:
            out.append(ev("response.output_item.added", output_index=0,
                          item=dict(item, arguments="", status="in_progress")))
            out += [ev("response.function_call_arguments.delta", item_id=item["id"], output_index=0, delta=a)
                    for a in split_args({"text": user})]
            out.append(ev("response.function_call_arguments.done", item_id=item["id"], output_index=0,
                          arguments=item["arguments"]))
        else:
            out.append(ev("response.output_item.added", output_index=0,
                          item=dict(item, status="in_progress", content=[])))
            out.append(ev("response.content_part.added", item_id=mid, output_index=0, content_index=0,
                          part={"type": "output_text", "text": "", "annotations": []}))
            out += [ev("response.output_text.delta", item_id=mid, output_index=0, content_index=0, delta=w)
                    for w in word_chunks(reply)]
            out.append(ev("response.output_text.done", item_id=mid, output_index=0, content_index=0, text=reply))
            out.append(ev("response.content_part.done", item_id=mid, output_index=0, content_index=0,
                          part=item["content"][0]))
        out.append(ev("response.output_item.done", output_index=0, item=item))
        out.append(ev("response.completed", response=obj("completed", [item], usage)))
        self.start_stream("text/event-stream; charset=utf-8")
        self.send_events(out)

    # --- Anthropic Messages ------------------------------------------------
    def anthropic(self, req):
        model, messages = req.get("model"), req.get("messages")
        if not isinstance(model, str) or not isinstance(messages, list) or model == "error-model":
            what = "model: %s" % model if isinstance(model, str) else "model: Field required"
            self.send_json(404 if model == "error-model" else 400, {
                "type": "error", "error": {"type": "not_found_error" if model == "error-model"
                                           else "invalid_request_error", "message": what},
                "request_id": "req_mock"})
            return
        msgs = [m for m in messages if isinstance(m, dict)]
        users = [m for m in msgs if m.get("role") == "user"] or msgs
        user = content_text(users[-1].get("content")) if users else ""
        reply = "Echo: " + user
        thinking = None
        th = req.get("thinking")
        if isinstance(th, dict) and th.get("type") == "enabled":
            thinking = "Thinking about: " + user
        in_tok = words(content_text(req.get("system"))) + sum(words(content_text(m.get("content"))) for m in msgs)
        out_tok = words(reply) + words(thinking)
        tool = first_tool(req.get("tools"), "name")
        n = next(self.server.id_counter)
        mid = "msg_mock_%d" % n
        blocks = []
        if thinking:
            blocks.append({"type": "thinking", "thinking": thinking, "signature": "c2lnbmF0dXJl"})
        blocks.append({"type": "text", "text": reply})
        if tool:
            blocks.append({"type": "tool_use", "id": call_id("toolu_", user), "name": tool,
                           "input": {"text": user}})
        stop = "tool_use" if tool else "end_turn"
        usage = {"input_tokens": in_tok, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                 "output_tokens": out_tok}
        if not req.get("stream"):
            self.send_json(200, {"id": mid, "type": "message", "role": "assistant", "model": model,
                                 "content": blocks, "stop_reason": stop, "stop_sequence": None,
                                 "usage": usage})
            return
        out = [self.sse("message_start", {"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant", "content": [], "model": model,
            "stop_reason": None, "stop_sequence": None, "usage": dict(usage, output_tokens=1)}})]
        for i, b in enumerate(blocks):
            def delta(d, i=i):
                return self.sse("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})
            if b["type"] == "thinking":
                start = {"type": "thinking", "thinking": "", "signature": ""}
                deltas = [delta({"type": "thinking_delta", "thinking": w}) for w in word_chunks(b["thinking"])]
                deltas.append(delta({"type": "signature_delta", "signature": b["signature"]}))
            elif b["type"] == "text":
                start = {"type": "text", "text": ""}
                deltas = [delta({"type": "text_delta", "text": w}) for w in word_chunks(b["text"])]
            else:
                start = dict(b, input={})
                deltas = [delta({"type": "input_json_delta", "partial_json": ""})]
                deltas += [delta({"type": "input_json_delta", "partial_json": a}) for a in split_args(b["input"])]
            out.append(self.sse("content_block_start", {"type": "content_block_start", "index": i,
                                                        "content_block": start}))
            if i == 0:
                out.append(self.sse("ping", {"type": "ping"}))
            out += deltas
            out.append(self.sse("content_block_stop", {"type": "content_block_stop", "index": i}))
        out.append(self.sse("message_delta", {"type": "message_delta", "delta": {
            "stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": out_tok}}))
        out.append(self.sse("message_stop", {"type": "message_stop"}))
        self.start_stream("text/event-stream; charset=utf-8")
        self.send_events(out)

    # --- Gemini --------------------------------------------------------------
    def gemini(self, req, model, stream, sse):
        contents = req.get("contents")
        if not isinstance(contents, list) or model == "error-model":
            msg = ("models/%s is not found for API version v1beta, or is not supported for generateContent."
                   % model) if model == "error-model" else "* GenerateContentRequest.contents: contents is not specified"
            code = 404 if model == "error-model" else 400
            self.send_json(code, {"error": {"code": code, "message": msg,
                                            "status": "NOT_FOUND" if code == 404 else "INVALID_ARGUMENT"}})
            return
        msgs = [c for c in contents if isinstance(c, dict)]
        users = [c for c in msgs if c.get("role", "user") == "user"] or msgs
        user = content_text(users[-1].get("parts")) if users else ""
        reply = "Echo: " + user
        cfg = req.get("generationConfig")
        tc = cfg.get("thinkingConfig") if isinstance(cfg, dict) else None
        thought = "Thinking about: " + user if isinstance(tc, dict) and tc.get("includeThoughts") else None
        sys_parts = req.get("systemInstruction")
        in_tok = words(content_text(sys_parts.get("parts") if isinstance(sys_parts, dict) else None)) + \
            sum(words(content_text(c.get("parts"))) for c in msgs)
        cand_tok, th_tok = words(reply), words(thought)
        tool = first_tool(req.get("tools"), "functionDeclarations", "name")
        rid = "mock-%d" % next(self.server.id_counter)

        def chunk(parts, final):
            c = {"content": {"parts": parts, "role": "model"}, "index": 0}
            u = {"promptTokenCount": in_tok, "totalTokenCount": in_tok + th_tok + (cand_tok if final else 0)}
            if th_tok:
                u["thoughtsTokenCount"] = th_tok
            if final:
                c["finishReason"] = "STOP"
                u["candidatesTokenCount"] = cand_tok
            return {"candidates": [c], "usageMetadata": u, "modelVersion": model, "responseId": rid}
        if tool:
            text_parts = [[{"functionCall": {"name": tool, "args": {"text": user}}}]]
        elif stream:
            text_parts = [[{"text": w}] for w in word_chunks(reply)]
        else:
            text_parts = [[{"text": reply}]]
        if thought:
            text_parts = [[{"text": thought, "thought": True}]] + text_parts
        chunks = [chunk(p, i == len(text_parts) - 1) for i, p in enumerate(text_parts)]
        if not stream:
            parts = [p for ps in text_parts for p in ps]
            self.send_json(200, chunk(parts, True))
        elif sse:
            self.start_stream("text/event-stream")
            self.send_events([self.sse(None, c, "\r\n") for c in chunks])
        else:  # a JSON array, streamed in pieces
            self.start_stream("application/json; charset=UTF-8")
            text = json.dumps(chunks, indent=2).encode()
            self.send_events([text[:len(text) // 2], text[len(text) // 2:]])

    # --- Ollama --------------------------------------------------------------
    def ollama(self, req):
        chat = self.path.split("?", 1)[0] == "/api/chat"
        model = req.get("model")
        if not isinstance(model, str) or model == "error-model":
            self.send_json(404 if model == "error-model" else 400, {
                "error": ("model \"%s\" not found, try pulling it first" % model) if model == "error-model"
                else "model is required"})
            return
        if chat:
            msgs = [m for m in (req.get("messages") or []) if isinstance(m, dict)]
            users = [m for m in msgs if m.get("role") == "user"] or msgs
            user = content_text(users[-1].get("content")) if users else ""
            in_tok = sum(words(content_text(m.get("content"))) for m in msgs)
        else:
            user = req.get("prompt") if isinstance(req.get("prompt"), str) else ""
            in_tok = words(req.get("system")) + words(user)
        reply = "Echo: " + user
        thinking = "Thinking about: " + user if req.get("think") is True else None
        out_tok = words(reply) + words(thinking)
        tool = first_tool(req.get("tools"), "function", "name") if chat else None
        created = "2025-03-04T10:00:00.000000Z"

        def obj(text, think, done, calls=None):
            o = {"model": model, "created_at": created}
            if chat:
                o["message"] = {"role": "assistant", "content": text}
                if think:
                    o["message"]["thinking"] = think
                if calls:
                    o["message"]["tool_calls"] = calls
            else:
                o["response"] = text
                if think:
                    o["thinking"] = think
            o["done"] = done
            if done:
                o.update(done_reason="stop", total_duration=1000000, load_duration=1000,
                         prompt_eval_count=in_tok, prompt_eval_duration=1000, eval_count=out_tok,
                         eval_duration=100000)
            return o
        calls = [{"function": {"name": tool, "arguments": {"text": user}}}] if tool else None
        if req.get("stream") is False:
            self.send_json(200, obj("" if tool else reply, thinking, True, calls))
            return
        lines = []
        if thinking:
            lines += [obj("", w, False) for w in word_chunks(thinking)]
        if tool:
            lines.append(obj("", None, False, calls))
        else:
            lines += [obj(w, None, False) for w in word_chunks(reply)]
        lines.append(obj("", None, True))
        self.start_stream("application/x-ndjson")
        self.send_events([compact(o) + b"\n" for o in lines])

    def ollama_embed(self, req):
        model, inp = req.get("model"), req.get("input")
        if not isinstance(model, str) or model == "error-model":
            self.send_json(404, {"error": "model \"%s\" not found, try pulling it first" % model})
            return
        inputs = inp if isinstance(inp, list) else [inp]
        self.send_json(200, {"model": model, "embeddings": [[0.1, -0.2, 0.3] for _ in inputs],
                             "total_duration": 1000000, "load_duration": 1000,
                             "prompt_eval_count": sum(words(i) for i in inputs)})

    def do_other(self):
        self.read_body()
        self.not_found()

    do_PUT = do_PATCH = do_DELETE = do_other

    def not_found(self):
        self.send_json(404, error_body("Unknown request URL: %s %s. Please check the URL."
                                       % (self.command, self.path.split("?", 1)[0]),
                                       code="unknown_url"))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, ctx, delay, verbose, counters):
        self.ssl_ctx = ctx
        self.delay = delay
        self.verbose = verbose
        self.conn_counter, self.id_counter = counters
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_ctx is not None:
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


class Server6(Server):
    address_family = socket.AF_INET6


def main():
    ap = argparse.ArgumentParser(description="Mock OpenAI chat API for MemoryElaine tests")
    ap.add_argument("--port", type=int, default=0, help="0: pick a free port")
    ap.add_argument("--host", default="localhost",
                    help="address to listen on; localhost: 127.0.0.1 and, if it exists, ::1")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--plain", action="store_true", help="plain HTTP, no TLS")
    ap.add_argument("--delay-ms", type=float, default=0, help="pause before each stream event")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    ctx = None
    if not args.plain:
        if not args.cert:
            ap.error("--cert is required without --plain")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        ctx.set_alpn_protocols(["http/1.1"])

    counters = (itertools.count(1), itertools.count(1))
    opts = (ctx, args.delay_ms / 1000.0, args.verbose, counters)
    host = "127.0.0.1" if args.host == "localhost" else args.host
    srv = (Server6 if ":" in host else Server)((host, args.port), *opts)
    port = srv.server_address[1]
    if args.host == "localhost":
        # Clients that resolve localhost to ::1 first find the server there too.
        try:
            srv6 = Server6(("::1", port), *opts)
            threading.Thread(target=srv6.serve_forever, args=(0.2,), daemon=True).start()
        except OSError:
            pass
    print(port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
