#!/usr/bin/python3
"""A mock of the OpenAI chat API on TLS, for the integration tests and the demo.

Standard library only. Deterministic: POST /v1/chat/completions answers
"Echo: <last user message>", with usage counted in whitespace-separated words
(prompt_tokens: all messages' content; completion_tokens: the reply), as JSON
(gzip when the client accepts it) or, with "stream": true, as an OpenAI
server-sent event stream, one chunk per word, each its own HTTP chunk.
GET /v1/models lists two models; model "error-model" gets a 400; any other
path a 404. Every response carries X-Mock-Connection, the number of the TCP
connection it went out on (tests use it to prove keep-alive).

Usage: mock_llm_server.py --port 0 --cert CERT --key KEY [--plain] [--delay-ms N]
The port is printed as the first line on stdout; nothing else is printed there.
"""
import argparse
import gzip
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
        if path != "/v1/chat/completions":
            self.not_found()
            return
        try:
            req = json.loads(body or b"null")
        except ValueError:
            req = None
        if not isinstance(req, dict):
            self.send_json(400, error_body("We could not parse the JSON body of your request."))
            return
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
        if req.get("stream"):
            opts = req.get("stream_options")
            include_usage = isinstance(opts, dict) and bool(opts.get("include_usage"))
            self.stream(cid, model, reply, usage if include_usage else None)
            return
        self.send_json(200, {
            "id": cid, "object": "chat.completion", "created": CREATED, "model": model,
            "choices": [{"index": 0,
                         "message": {"role": "assistant", "content": reply, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": usage, "system_fingerprint": "fp_mock"})

    def stream(self, cid, model, reply, usage):
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
