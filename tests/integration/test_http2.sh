#!/usr/bin/env bash
# HTTP/2 end to end: Debian's nginx (TLS + h2) in front of the mock. curl's
# default (h2), curl --parallel (three streams on one connection) and httpx
# with http2=True become exact records with http.version "2"; the same
# requests over HTTP/1.1 with TLS, over plain HTTP and over h2 give the same
# llm.* and bodies; an h2 connection to a host not in the list is not captured
# (paths cannot decide for h2).
source "$(dirname "$0")/lib.sh"
start_mock --delay-ms 20 # streamed events 20 ms apart: parallel streams interleave
TLS_PORT=$MOCK_PORT
TLS_URL=$MOCK_URL
start_nginx_h2 "$TLS_PORT"
start_mock --plain
PLAIN_PORT=$MOCK_PORT
MOCK_PORT=$TLS_PORT
MOCK_URL=$TLS_URL
export MOCK_PORT MOCK_URL TLS_PORT PLAIN_PORT
start_collector
SECRET=sk-elaine-h2-$RANDOM$RANDOM$RANDOM
export ELAINE_TEST_SECRET=$SECRET
path=/v1/chat/completions

curl_cmd=(curl -sS --fail-with-body --cacert "$MOCK_CERT" -H "Authorization: Bearer $SECRET"
  -H 'Content-Type: application/json')
req_json='{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a terse mock."},{"role":"user","content":"same call every way"}]}'
req_stream='{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"same stream every way"}]}'
mask() { sed -E 's/chatcmpl-mock-[0-9]+/chatcmpl-mock-N/g'; }

# --- curl's default over TLS is h2; the output is what it is without the shim
"${curl_cmd[@]}" -w '\n%{http_version}\n' --data "$req_json" "$NGINX_URL$path" | mask >"$T/plain.h2" ||
  fail "curl to nginx failed"
ELAINE_HOSTS=localhost run_elaine "${curl_cmd[@]}" -w '\n%{http_version}\n' --data "$req_json" \
  "$NGINX_URL$path" | mask >"$T/elaine.h2" || fail "curl h2 under elaine-run failed"
[[ $(tail -n 1 "$T/elaine.h2") == 2 ]] || fail "curl did not use HTTP/2: $(tail -n 1 "$T/elaine.h2")"
cmp -s "$T/elaine.h2" "$T/plain.h2" ||
  fail "curl output differs under elaine-run: $(cat "$T/elaine.h2") // $(cat "$T/plain.h2")"
ELAINE_HOSTS=localhost run_elaine "${curl_cmd[@]}" --data "$req_stream" "$NGINX_URL$path" >"$T/h2.stream" ||
  fail "curl h2 stream failed"
grep -q 'data: \[DONE\]' "$T/h2.stream" || fail "unexpected stream: $(cat "$T/h2.stream")"

# --- the same two calls over HTTP/1.1 with TLS (straight to the mock) and plain HTTP
run_elaine "${curl_cmd[@]}" --http1.1 --data "$req_json" "$TLS_URL$path" >/dev/null || fail "curl 1.1 json"
run_elaine "${curl_cmd[@]}" --http1.1 --data "$req_stream" "$TLS_URL$path" >/dev/null || fail "curl 1.1 stream"
run_elaine "${curl_cmd[@]}" --data "$req_json" "http://localhost:$PLAIN_PORT$path" >/dev/null || fail "curl plain json"
run_elaine "${curl_cmd[@]}" --data "$req_stream" "http://localhost:$PLAIN_PORT$path" >/dev/null ||
  fail "curl plain stream"

# --- curl --parallel: three streams multiplexed on one h2 connection
par=(curl --http2 -Z --parallel-max 3)
for i in 1 2 3; do
  ((i > 1)) && par+=(--next)
  s=true
  ((i == 2)) && s=false
  par+=("${curl_cmd[@]:1}" --http2 -o "$T/par$i" --data
    "{\"model\":\"gpt-4o-mini\",\"stream\":$s,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"parallel call $i\"}]}"
    "$NGINX_URL$path")
done
ELAINE_HOSTS=localhost run_elaine "${par[@]}" || fail "curl --parallel failed"
for i in 1 3; do grep -q 'data: \[DONE\]' "$T/par$i" || fail "parallel stream $i: $(cat "$T/par$i")"; done
grep -q '"content":"Echo: parallel call 2"' "$T/par2" || fail "parallel json: $(cat "$T/par2")"

# --- httpx with http2=True: one JSON call (gzip) and one stream on one connection
ELAINE_HOSTS=localhost run_elaine "$PY" - >"$T/httpx.out" 2>"$T/httpx.err" <<'PYEOF' ||
import os
import httpx
from elaine_client import CA, HEADERS, from_json, from_sse, payload
url = os.environ["NGINX_URL"] + "/v1/chat/completions"
with httpx.Client(http2=True, verify=CA, timeout=30) as c:
    r = c.post(url, json=payload("httpx h2 json call"), headers=HEADERS)
    assert r.http_version == "HTTP/2", r.http_version
    assert r.headers.get("content-encoding") == "gzip", r.headers
    print(from_json(r.json()))
    with c.stream("POST", url, json=payload("httpx h2 stream call", stream=True, usage=True),
                  headers=HEADERS) as r:
        assert r.http_version == "HTTP/2", r.http_version
        print(from_sse(r.iter_lines()))
PYEOF
  fail "httpx failed: $(cat "$T/httpx.err")"
[[ $(cat "$T/httpx.out") == $'Echo: httpx h2 json call\nEcho: httpx h2 stream call' ]] ||
  fail "httpx output: $(cat "$T/httpx.out")"

wait_records 11
export NGINX_PORT
check_records_script <<'PYEOF'
import re
nginx, tls_port, plain_port = int(env["NGINX_PORT"]), int(env["TLS_PORT"]), int(env["PLAIN_PORT"])
ok(len(recs) == 11, "%d records, want 11" % len(recs))

def one(text, version, tls):
    hits = [r for r in uniq if user_text(r) == text and g(r, "http.version") == version and g(r, "tls") is tls]
    ok(len(hits) == 1, "%d records for %r over %s tls=%s (want 1)" % (len(hits), text, version, tls))
    return hits[0]

def conn_of(r):
    return r["id"].rsplit("-", 1)[0]

# the same two calls three ways: each record right, and the three alike
for text in ("same call every way", "same stream every way"):
    h2, h1, pl = one(text, "2", True), one(text, "1.1", True), one(text, "1.1", False)
    port = nginx
    chat_ok(h2, version="2", auth="[REDACTED]", exe="curl")
    port = tls_port
    chat_ok(h1, auth="[REDACTED]", exe="curl")
    port = plain_port
    chat_ok(pl, tls=False, auth="[REDACTED]", exe="curl")
    for other in (h1, pl):
        same_llm(h2, other, but=())
        ok(g(h2, "request.body") == g(other, "request.body"), "request bodies differ: %s" % text)
        a, b = g(h2, "response.body"), g(other, "response.body")
        if isinstance(a, dict):
            a, b = dict(a, id=None), dict(b, id=None)
        else:
            a, b = (re.sub(r"chatcmpl-mock-[0-9]+", "N", x) for x in (a, b))
        ok(a == b, "response bodies differ over h2 and 1.1: %r // %r" % (a, b))
        ok(g(h2, "response.body_size") == g(other, "response.body_size"), "body sizes differ")
    # h2: no pseudo-headers among the headers; the server (nginx) answered over h2
    for k in ("request.headers", "response.headers"):
        ok(not [n for n in g(h2, k) if n.startswith(":")], "pseudo-headers in %s: %r" % (k, g(h2, k)))
    ok(g(h2, "request.headers.content-type") == "application/json", "h2 request headers %r" % g(h2, "request.headers"))
    ok(g(h2, "response.headers.server", ) and "nginx" in g(h2, "response.headers.server"), "h2 response headers")

# curl --parallel: three streams on one connection, ids by stream
port = nginx
par = [find_call("parallel call %d" % i) for i in (1, 2, 3)]
for i, r in enumerate(par):
    chat_ok(r, version="2", auth="[REDACTED]", exe="curl")
ok(len({r["id"] for r in par}) == 3, "ids not distinct: %r" % [r["id"] for r in par])
ok(len({conn_of(r) for r in par}) == 1, "parallel streams on several connections: %r" % [r["id"] for r in par])
ok(sorted(int(r["id"].rsplit("-", 1)[1]) for r in par) == [1, 3, 5], "stream ids: %r" % [r["id"] for r in par])
# the streams overlapped in time (each takes some 8 x 20 ms)
ok(all(g(r, "timing.duration_ms") > 100 for r in (par[0], par[2])), "streams too quick to overlap")

# httpx: JSON (gzip, decoded) and a stream on one connection
hj, hs = find_call("httpx h2 json call"), find_call("httpx h2 stream call")
chat_ok(hj, version="2", auth="[REDACTED]", exe="python3")
chat_ok(hs, version="2", auth="[REDACTED]", exe="python3")
ok(g(hj, "response.headers.content-encoding") == "gzip", "httpx json not gzip: %r" % g(hj, "response.headers"))
ok(conn_of(hj) == conn_of(hs), "httpx used two connections: %s %s" % (hj["id"], hs["id"]))
ok([hj["id"].rsplit("-", 1)[1], hs["id"].rsplit("-", 1)[1]] == ["1", "3"], "httpx stream ids %s %s" % (hj["id"], hs["id"]))
PYEOF

# --- an h2 connection to a host not in the list: not captured, even with an LLM path
before=$(count_records)
ELAINE_HOSTS=localhost run_elaine "${curl_cmd[@]}" -k --resolve "api.example.test:$NGINX_PORT:127.0.0.1" \
  -w '\n%{http_version}\n' --data "$req_json" "https://api.example.test:$NGINX_PORT$path" >"$T/other.out" ||
  fail "curl to an unlisted host failed"
[[ $(tail -n 1 "$T/other.out") == 2 ]] || fail "curl to the unlisted host did not use h2"
grep -q '"content":"Echo: same call every way"' "$T/other.out" || fail "reply: $(cat "$T/other.out")"
sleep 0.5
[[ $(count_records) == "$before" ]] || fail "an h2 connection to an unlisted host was recorded"

if grep -rqF -- "$SECRET" "$LOGDIR"; then
  fail "the secret reached the log directory"
fi
echo "test_http2: ok"
