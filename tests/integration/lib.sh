# Shared setup of the integration tests, sourced by every tests/integration/test_*.sh:
# a temporary directory removed on exit, a mock LLM server on TLS, a private
# collector, elaine-run, and jq-free assertions over the records (python3).
#
# ctest sets ELAINE_BUILD_DIR and ELAINE_SOURCE_DIR; by hand, run from the
# repository root after a build: bash tests/integration/test_curl.sh
# ELAINE_TEST_KEEP=1 keeps the temporary directory for a look afterwards.
#
# Every daemon started here has its stdio redirected to files and is stopped
# by its pid on exit (a daemon holding ctest's stdout makes the test hang).

set -euo pipefail

ELAINE_SOURCE_DIR=${ELAINE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [[ -z ${ELAINE_BUILD_DIR:-} ]]; then
  if [[ -d build ]]; then ELAINE_BUILD_DIR=$PWD/build; else ELAINE_BUILD_DIR=$ELAINE_SOURCE_DIR/build; fi
fi
[[ -d $ELAINE_BUILD_DIR ]] || { echo "FAIL: no build directory $ELAINE_BUILD_DIR: build first (scripts/test)" >&2; exit 1; }
ELAINE_BUILD_DIR=$(cd "$ELAINE_BUILD_DIR" && pwd)
export ELAINE_SOURCE_DIR ELAINE_BUILD_DIR

PY=/usr/bin/python3
COLLECTOR=$ELAINE_BUILD_DIR/collector/elaine-collector
READER=$ELAINE_BUILD_DIR/collector/elaine
SHIM=$ELAINE_BUILD_DIR/shim/libmemoryelaine.so
ELAINE_RUN=$ELAINE_BUILD_DIR/scripts/elaine-run
MOCK_SERVER=$ELAINE_SOURCE_DIR/tests/integration/mock_llm_server.py

# Nothing from the caller's environment steers the shim or elaine-run here.
for _v in $(compgen -e | grep '^ELAINE_' || true); do
  case $_v in ELAINE_BUILD_DIR | ELAINE_SOURCE_DIR | ELAINE_TEST_KEEP) ;; *) unset "$_v" ;; esac
done
unset _v LD_PRELOAD

# Short path: a Unix socket path must fit in 108 bytes.
T=$(mktemp -d "/tmp/elaine-$(basename "${0%.sh}").XXXXXX")
SOCK=$T/s.sock
LOGDIR=$T/log
PIDFILE=$T/c.pid
MOCK_PIDS=()
MOCK_PORT=
MOCK_URL=
MOCK_CERT=$T/cert.pem
export T SOCK LOGDIR MOCK_CERT
export PYTHONPATH=$T${PYTHONPATH:+:$PYTHONPATH}
export PYTHONDONTWRITEBYTECODE=1

# Sanitizer builds (scripts/test also runs the suite in build-asan and, the
# tests labelled tsan, in build-tsan; see tests/CMakeLists.txt). ELAINE_SAN is
# asan, tsan or empty (a normal build), read from the build tree's CMake cache;
# SAN_PRELOAD is what LD_PRELOAD needs before the shim: the sanitizer runtime
# and, with ASan, libelaine_asan_first.so (elaine-run puts them there itself).
# Every sanitizer report, of any process of the test (collector, reader, a
# client with the shim), goes to $T/sanitizer.PID and fails the test at its
# end (cleanup), whatever the exit statuses were. PRELOAD_ENV is what preloads the shim into a command
# (env "${PRELOAD_ENV[@]}" CMD): with ASan, leak checking is off there, the
# program is not ours (the collector and our tools keep it).
ELAINE_SAN= SAN_PRELOAD=
if [[ -f $ELAINE_BUILD_DIR/CMakeCache.txt ]]; then
  grep -q '^ELAINE_SANITIZE:BOOL=ON$' "$ELAINE_BUILD_DIR/CMakeCache.txt" && ELAINE_SAN=asan
  grep -q '^ELAINE_TSAN:BOOL=ON$' "$ELAINE_BUILD_DIR/CMakeCache.txt" && ELAINE_SAN=tsan
  SAN_PRELOAD=$(sed -n 's/^ELAINE_PRELOAD_RUNTIME:INTERNAL=//p' "$ELAINE_BUILD_DIR/CMakeCache.txt")
fi
[[ $ELAINE_SAN == asan ]] && SAN_PRELOAD+=:$ELAINE_BUILD_DIR/shim/libelaine_asan_first.so
unset ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS LSAN_OPTIONS
PRELOAD_ENV=(LD_PRELOAD="${SAN_PRELOAD:+$SAN_PRELOAD:}$ELAINE_BUILD_DIR/shim/libmemoryelaine.so")
case $ELAINE_SAN in
asan)
  export ASAN_OPTIONS="log_path=$T/sanitizer:halt_on_error=1:exitcode=86:detect_leaks=1"
  export UBSAN_OPTIONS="log_path=$T/sanitizer:halt_on_error=1:print_stacktrace=1"
  PRELOAD_ENV+=(ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0")
  ;;
tsan)
  export TSAN_OPTIONS="log_path=$T/sanitizer:halt_on_error=1:exitcode=86:second_deadlock_stack=1"
  ;;
esac
export ELAINE_SAN

# skip_under_sanitizer asan|tsan|any REASON: this test cannot run in such a
# build: exit 77, which ctest counts as skipped (SKIP_RETURN_CODE).
skip_under_sanitizer() {
  if [[ -n $ELAINE_SAN && ($1 == any || $1 == "$ELAINE_SAN") ]]; then
    echo "SKIP: $(basename "$0") under $ELAINE_SAN: $2"
    exit 77
  fi
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Waits until pid is gone (it need not be our child), up to $2 tenths of a second.
_wait_gone() {
  local pid=$1 n=${2:-50}
  while ((n-- > 0)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# Stops a process by pid: TERM, then KILL after 5 s.
_stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  _wait_gone "$pid" 50 || { kill -KILL "$pid" 2>/dev/null || true; _wait_gone "$pid" 20 || true; }
}

# Pids of the processes (other than this shell) whose command line mentions $1.
pids_with_arg() {
  local f pid x
  local -a args
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    mapfile -d '' args 2>/dev/null <"$f" || continue
    for x in "${args[@]}"; do
      if [[ $x == *"$1"* ]]; then echo "$pid"; break; fi
    done
  done
}

cleanup() {
  local rc=$? pid
  set +e
  trap '' PIPE
  trap - EXIT
  [[ -f $PIDFILE ]] && _stop_pid "$(cat "$PIDFILE")"
  for pid in "${MOCK_PIDS[@]}"; do _stop_pid "$pid"; done
  # Anything else still running that was started on this test's files (a
  # collector started by elaine-run with another pidfile, a client).
  for pid in $(pids_with_arg "$T/"); do _stop_pid "$pid"; done
  local san
  for san in "$T"/sanitizer.*; do
    [[ -s $san ]] || continue
    echo "FAIL: $ELAINE_SAN report in $san:" >&2
    head -n 80 "$san" >&2
    rc=1
  done
  if ((rc != 0)); then
    local f
    for f in "$T"/collector.log "$T"/mock*.err; do
      [[ -s $f ]] && { echo "--- $f (last lines)" >&2; tail -n 30 "$f" >&2; }
    done
    if [[ -f $LOGDIR/elaine.jsonl ]]; then
      echo "--- $LOGDIR/elaine.jsonl: $(wc -l <"$LOGDIR/elaine.jsonl") lines, last 3:" >&2
      tail -n 3 "$LOGDIR/elaine.jsonl" | cut -c1-600 >&2
    fi
  fi
  if [[ -n ${ELAINE_TEST_KEEP:-} ]]; then
    echo "kept $T" >&2
  else
    rm -rf "$T"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need_build() {
  local f
  for f in "$COLLECTOR" "$ELAINE_RUN" "$SHIM"; do
    [[ -f $f ]] || fail "$f is missing: build first (cmake -S . -B build && cmake --build build)"
  done
}

# start_mock [mock_llm_server.py args]: a TLS mock on a free port of localhost.
# Sets MOCK_PORT, MOCK_URL (https://localhost:PORT), MOCK_PID; exports them.
start_mock() {
  if [[ ! -f $MOCK_CERT ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
      -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
      -keyout "$T/key.pem" -out "$MOCK_CERT" >/dev/null 2>&1 || fail "openssl req failed"
  fi
  local n=${#MOCK_PIDS[@]}
  : >"$T/mock$n.out"
  "$PY" "$MOCK_SERVER" --port 0 --cert "$MOCK_CERT" --key "$T/key.pem" "$@" \
    </dev/null >"$T/mock$n.out" 2>"$T/mock$n.err" &
  MOCK_PID=$!
  MOCK_PIDS+=("$MOCK_PID")
  local i
  for ((i = 0; i < 100; i++)); do
    MOCK_PORT=$(head -n 1 "$T/mock$n.out")
    [[ $MOCK_PORT =~ ^[0-9]+$ ]] && break
    kill -0 "$MOCK_PID" 2>/dev/null || fail "mock server died: $(cat "$T/mock$n.err")"
    sleep 0.05
  done
  [[ $MOCK_PORT =~ ^[0-9]+$ ]] || fail "mock server printed no port"
  MOCK_URL=https://localhost:$MOCK_PORT
  export MOCK_PORT MOCK_URL MOCK_PID
}

# start_collector [collector flags]: a private collector on $SOCK writing to $LOGDIR.
start_collector() {
  [[ -x $COLLECTOR ]] || fail "$COLLECTOR is missing"
  env -u LD_PRELOAD "$COLLECTOR" --daemon --socket "$SOCK" --dir "$LOGDIR" --pidfile "$PIDFILE" "$@" \
    </dev/null >>"$T/collector.out" 2>>"$T/collector.log" || fail "elaine-collector --daemon failed (exit $?)"
  "$COLLECTOR" --ping --socket "$SOCK" </dev/null >/dev/null 2>&1 || fail "collector does not answer --ping"
  [[ -s $PIDFILE ]] || fail "collector wrote no pidfile"
}

collector_pid() { cat "$PIDFILE"; }

# stop_collector [signal]: stops the collector of $PIDFILE (TERM, or the given
# signal such as KILL) and waits until it is gone.
stop_collector() {
  local sig=${1:-TERM} pid
  pid=$(cat "$PIDFILE")
  kill "-$sig" "$pid" 2>/dev/null || true
  _wait_gone "$pid" 50 || fail "collector $pid still alive after SIG$sig"
}

# run_elaine CMD ARGS...: runs CMD under elaine-run with the private socket and
# log directory (the collector is started if none answers on $SOCK).
run_elaine() {
  "$ELAINE_RUN" --socket "$SOCK" --dir "$LOGDIR" --pidfile "$PIDFILE" -- "$@"
}

# The record checker: reads every exchange record of a log directory
# (rotated .zst files oldest first, then elaine.jsonl; only whole lines).
# Within an expression:
#   recs            the exchange records in file order
#   uniq            the same, duplicates (same id) dropped
#   g(r, "a.b")     a dotted key, None when absent
#   find(text)      the one record (of uniq) whose request's last user message is text
#   chat_ok(r, ...) asserts a chat record is right (see below); True
#   env, port       os.environ, int(MOCK_PORT)
_RECS_PY='
import glob, json, os, subprocess, sys

def load(d):
    files = sorted(glob.glob(os.path.join(d, "elaine-*.jsonl.zst")))
    files += sorted(f for f in glob.glob(os.path.join(d, "elaine-*.jsonl")) if not os.path.exists(f + ".zst"))
    files.append(os.path.join(d, "elaine.jsonl"))
    out, bad = [], []
    for f in files:
        try:
            data = subprocess.run(["zstd", "-dcq", f], check=True, capture_output=True).stdout \
                if f.endswith(".zst") else open(f, "rb").read()
        except (OSError, subprocess.CalledProcessError):
            continue
        lines = data.split(b"\n")
        for line in lines[:-1]:
            try:
                out.append(json.loads(line))
            except ValueError:
                bad.append(line[:200])
    return out, bad

def g(r, path):
    for k in path.split("."):
        if not isinstance(r, dict) or k not in r:
            return None
        r = r[k]
    return r

def text_of(c):
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return " ".join(p.get("text", "") for p in c if isinstance(p, dict))
    return ""

def last_user(r):
    msgs = g(r, "request.body.messages")
    if not isinstance(msgs, list):
        return None
    users = [m for m in msgs if isinstance(m, dict) and m.get("role") == "user"]
    return text_of(users[-1].get("content")) if users else None

class Check(AssertionError):
    pass

def ok(cond, msg):
    if not cond:
        raise Check(msg)
    return True

def find(text):
    hits = [r for r in uniq if last_user(r) == text]
    ok(len(hits) == 1, "%d records for the message %r (want 1)" % (len(hits), text))
    return hits[0]

def num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)

def chat_ok(r, usage=True, model=None, text=None, auth=None, exe=None, tls=True, host="localhost", version="1.1"):
    """A record of a POST /v1/chat/completions to the mock, checked against what
    the mock computes from the recorded request. usage=False: a stream without
    include_usage (token counts must then be null, never guessed)."""
    rid = r.get("id")
    def want(key, expect):
        ok(g(r, key) == expect, "record %s: %s is %r, want %r" % (rid, key, g(r, key), expect))
    body = g(r, "request.body")
    ok(isinstance(body, dict), "record %s: request.body is not the parsed JSON: %r" % (rid, body))
    msgs = body.get("messages") or []
    user = last_user(r)
    if text is not None:
        ok(user == text, "record %s: last user message %r, want %r" % (rid, user, text))
    reply = "Echo: " + (user or "")
    p = sum(len(text_of(m.get("content")).split()) for m in msgs if isinstance(m, dict))
    c = len(reply.split())
    want("type", "exchange")
    ok(isinstance(rid, str) and rid, "record without an id")
    want("request.method", "POST")
    want("request.path", "/v1/chat/completions")
    want("response.status", 200)
    want("host", host)
    want("port", port)
    want("tls", tls)
    want("http.version", version)
    want("error", None)
    want("llm.operation", "chat")
    want("llm.model", model or body.get("model"))
    want("llm.response_model", model or body.get("model"))
    is_stream = bool(body.get("stream"))
    want("llm.stream", is_stream)
    want("llm.output_text", reply)
    want("llm.finish_reason", "stop")
    if usage:
        want("llm.input_tokens", p)
        want("llm.output_tokens", c)
        want("llm.total_tokens", p + c)
    else:
        want("llm.input_tokens", None)
        want("llm.output_tokens", None)
        want("llm.total_tokens", None)
    for k in ("ts", "pid", "tid", "exe", "stack"):
        ok(k in r, "record %s: key %s missing" % (rid, k))
    ok(isinstance(r.get("pid"), int) and r["pid"] > 0, "record %s: pid %r" % (rid, r.get("pid")))
    if exe is not None:
        ok(isinstance(r.get("exe"), str) and exe in r["exe"], "record %s: exe %r, want *%s*" % (rid, r.get("exe"), exe))
    if auth is not None:
        want("request.headers.authorization", auth)
    ttfb, ttft, dur = g(r, "timing.ttfb_ms"), g(r, "timing.ttft_ms"), g(r, "timing.duration_ms")
    ok(num(ttfb) and num(dur) and 0 <= ttfb <= dur,
       "record %s: want 0 <= ttfb_ms <= duration_ms, got %r, %r" % (rid, ttfb, dur))
    rbody = g(r, "response.body")
    if is_stream:
        ok(num(ttft) and ttfb <= ttft <= dur,
           "record %s: want ttfb_ms <= ttft_ms <= duration_ms, got %r, %r, %r" % (rid, ttfb, ttft, dur))
        ok(isinstance(rbody, str) and "data: [DONE]" in rbody, "record %s: stream body %r" % (rid, rbody))
        ok(g(r, "response.body_size") == len(rbody.encode()),
           "record %s: response.body_size %r, body has %d bytes" % (rid, g(r, "response.body_size"), len(rbody.encode())))
    else:
        ok(isinstance(rbody, dict) and rbody.get("object") == "chat.completion",
           "record %s: response.body is not the parsed JSON: %r" % (rid, rbody))
        ok(g(r, "response.body_size") == len(json.dumps(rbody, separators=(",", ":")).encode()),
           "record %s: response.body_size %r (decoded size expected)" % (rid, g(r, "response.body_size")))
    return True

def user_text(r):
    """The last user text of a request of any provider: messages (OpenAI chat,
    Anthropic, Ollama chat), contents (Gemini), input (Responses), prompt (Ollama generate)."""
    b = g(r, "request.body")
    if not isinstance(b, dict):
        return None
    if isinstance(b.get("messages"), list):
        return last_user(r)
    if isinstance(b.get("contents"), list):
        users = [c for c in b["contents"] if isinstance(c, dict) and c.get("role", "user") == "user"]
        return text_of(users[-1].get("parts")) if users else None
    if isinstance(b.get("input"), str):
        return b["input"]
    if isinstance(b.get("input"), list):
        users = [m for m in b["input"] if isinstance(m, dict) and m.get("role") == "user"]
        return text_of(users[-1].get("content")) if users else None
    if isinstance(b.get("prompt"), str):
        return b["prompt"]
    return None

def find_call(text, stream=None):
    """The one record (of uniq) whose request has the user text is text (and llm.stream is stream)."""
    hits = [r for r in uniq if user_text(r) == text and (stream is None or g(r, "llm.stream") is stream)]
    ok(len(hits) == 1, "%d records for the user text %r, stream %r (want 1)" % (len(hits), text, stream))
    return hits[0]

def same_llm(a, b, but=("stream",)):
    """The llm objects of two records are equal, except the keys in but."""
    la, lb = dict(g(a, "llm") or {}), dict(g(b, "llm") or {})
    for k in but:
        la.pop(k, None)
        lb.pop(k, None)
    diff = sorted(k for k in set(la) | set(lb) if la.get(k) != lb.get(k))
    ok(not diff, "records %s and %s differ in llm: %s" % (a.get("id"), b.get("id"),
       ", ".join("%s: %r != %r" % (k, la.get(k), lb.get(k)) for k in diff)))
    return True

def short(r):
    keys = ("id", "request.method", "request.path", "response.status", "llm.model", "llm.stream",
            "llm.input_tokens", "llm.output_tokens", "llm.total_tokens", "llm.output_text", "error")
    return "{" + ", ".join("%s=%r" % (k, g(r, k)) for k in keys) + "}"

mode, d = sys.argv[1], sys.argv[2]
allrecs, bad = load(d)
recs = [r for r in allrecs if isinstance(r, dict) and r.get("type") == "exchange"]
seen = set()
uniq = [r for r in recs if not (r.get("id") in seen or seen.add(r.get("id")))]
env = os.environ
port = int(env.get("MOCK_PORT") or 0)
if mode == "count":
    print(len(uniq))
    sys.exit(0)
if bad:
    print("FAIL: %d lines of %s/elaine*.jsonl are not JSON, first: %r" % (len(bad), d, bad[0]), file=sys.stderr)
    sys.exit(1)
expr = sys.argv[3]
try:
    if mode == "script":
        exec(compile(expr, "check_records_script", "exec"), globals())
        res = True
    else:
        res = eval(expr)
    err = None if res else "false"
except Check as e:
    err = str(e)
except Exception as e:
    err = "%s: %s" % (type(e).__name__, e)
if err:
    print("FAIL: check_records %s\n  -> %s\n  %d exchange records (%d unique):" % (expr, err, len(recs), len(uniq)), file=sys.stderr)
    for r in recs[:40]:
        print("   ", short(r), file=sys.stderr)
    sys.exit(1)
'

# check_records 'python expression' [dir]: fails the test when the expression is false
# (or a chat_ok/find assertion fails). Pass shell values through the environment (env["X"]).
check_records() {
  "$PY" -c "$_RECS_PY" check "${2:-$LOGDIR}" "$1" || exit 1
}

# check_records_script [dir] <<'EOF' ... EOF: runs a Python script (from stdin) with the
# same names as check_records (recs, uniq, g, ok, find, find_call, same_llm, ...);
# an exception or a failed ok() fails the test.
check_records_script() {
  local code
  code=$(cat)
  "$PY" -c "$_RECS_PY" script "${1:-$LOGDIR}" "$code" || exit 1
}

# count_records [dir]: number of unique exchange records written so far.
count_records() {
  "$PY" -c "$_RECS_PY" count "${1:-$LOGDIR}"
}

# drop_events [pid]: the sum of dropped_events over the drop lines (of pid) in $LOGDIR.
drop_events() {
  "$PY" - "$LOGDIR/elaine.jsonl" "${1:-}" <<'PYEOF'
import json, sys
n = 0
for line in open(sys.argv[1], "rb"):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("type") == "drop" and (not sys.argv[2] or r.get("pid") == int(sys.argv[2])):
        n += r["dropped_events"]
print(n)
PYEOF
}

# wait_records N [timeout seconds, default 20] [dir]: waits until N unique exchange
# records are on disk (more are not an error here: check the count afterwards).
wait_records() {
  local want=$1 timeout=${2:-20} dir=${3:-$LOGDIR} n=0 end
  end=$((SECONDS + timeout))
  while :; do
    n=$(count_records "$dir")
    ((n >= want)) && return 0
    ((SECONDS >= end)) && fail "waited ${timeout}s for $want exchange records in $dir, have $n"
    sleep 0.1
  done
}

# A small client library for the Python tests, importable as elaine_client
# (PYTHONPATH includes $T). Each call returns the assistant text it received;
# last["headers"] holds the response headers of the latest call in this thread.
write_client() {
  cat >"$T/elaine_client.py" <<'PYEOF'
import json, os, ssl, sys, threading
last = threading.local()
BASE = os.environ["MOCK_URL"]
URL = BASE + "/v1/chat/completions"
CA = os.environ["MOCK_CERT"]
KEY = os.environ.get("ELAINE_TEST_SECRET", "sk-test-key")
HEADERS = {"Authorization": "Bearer " + KEY, "Content-Type": "application/json"}

def payload(text, model="gpt-4o-mini", stream=False, usage=False):
    p = {"model": model, "messages": [{"role": "system", "content": "You are a mock."},
                                      {"role": "user", "content": text}]}
    if stream:
        p["stream"] = True
        if usage:
            p["stream_options"] = {"include_usage": True}
    return p

def from_sse(lines):
    out = []
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode()
        line = line.strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        ev = json.loads(line[6:])
        for ch in ev.get("choices", []):
            out.append(ch.get("delta", {}).get("content") or "")
    return "".join(out)

def from_json(obj):
    return obj["choices"][0]["message"]["content"]

def chat_urllib(text, stream=False, usage=False, **kw):
    import urllib.request
    ctx = ssl.create_default_context(cafile=CA)
    req = urllib.request.Request(URL, data=json.dumps(payload(text, stream=stream, usage=usage, **kw)).encode(),
                                 headers=HEADERS, method="POST")
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        last.headers = {k.lower(): v for k, v in resp.getheaders()}
        return from_sse(resp) if stream else from_json(json.load(resp))

def chat_requests(text, stream=False, usage=False, session=None, **kw):
    import requests
    s = session or requests
    r = s.post(URL, json=payload(text, stream=stream, usage=usage, **kw), headers=HEADERS,
               verify=CA, stream=stream, timeout=30)
    r.raise_for_status()
    last.headers = {k.lower(): v for k, v in r.headers.items()}
    if stream:
        return from_sse(r.iter_lines())
    assert r.headers.get("Content-Encoding") == "gzip", r.headers
    return from_json(r.json())

def chat_httpx(text, stream=False, usage=False, client=None, **kw):
    import httpx
    c = client or httpx.Client(verify=CA, timeout=30)
    try:
        if stream:
            with c.stream("POST", URL, json=payload(text, stream=True, usage=usage, **kw), headers=HEADERS) as r:
                r.raise_for_status()
                last.headers = {k.lower(): v for k, v in r.headers.items()}
                return from_sse(r.iter_lines())
        r = c.post(URL, json=payload(text, **kw), headers=HEADERS)
        r.raise_for_status()
        last.headers = {k.lower(): v for k, v in r.headers.items()}
        return from_json(r.json())
    finally:
        if client is None:
            c.close()
PYEOF
}
write_client
need_build

# start_nginx_h2 UPSTREAM_PORT: Debian's nginx on a free port of 127.0.0.1 with
# TLS and HTTP/2 ($MOCK_CERT, made by start_mock), proxying to the TLS mock on
# UPSTREAM_PORT over HTTP/1.1 without buffering (SSE flows as it comes).
# Config, pid, logs and temp files in $T; stopped by pid on exit. Sets and
# exports NGINX_PORT, NGINX_URL (https://localhost:PORT), NGINX_PID.
# free_port: a port of 127.0.0.1 that was free a moment ago (the caller binds it soon).
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_nginx_h2() {
  local upstream=$1 try i port user=
  [[ -x /usr/sbin/nginx ]] || fail "/usr/sbin/nginx is missing (scripts/setup installs nginx)"
  [[ -f $MOCK_CERT ]] || fail "start_nginx_h2: start_mock first (it makes $MOCK_CERT)"
  mkdir -p "$T/nginx-tmp"
  # as root, workers would run as nobody, who cannot enter $T
  [[ $(id -u) == 0 ]] && user="user $(id -un) $(id -gn);"
  for ((try = 0; try < 5; try++)); do
    port=$(free_port)
    cat >"$T/nginx.conf" <<EOF
$user
daemon off;
master_process on;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log $T/nginx-access.log;
  client_body_temp_path $T/nginx-tmp/body;
  proxy_temp_path $T/nginx-tmp/proxy;
  fastcgi_temp_path $T/nginx-tmp/fastcgi;
  uwsgi_temp_path $T/nginx-tmp/uwsgi;
  scgi_temp_path $T/nginx-tmp/scgi;
  client_body_buffer_size 1m;
  server {
    listen 127.0.0.1:$port ssl http2;
    server_name localhost;
    ssl_certificate $MOCK_CERT;
    ssl_certificate_key $T/key.pem;
    location / {
      proxy_pass https://127.0.0.1:$upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_ssl_verify off;
    }
  }
}
EOF
    /usr/sbin/nginx -p "$T" -c "$T/nginx.conf" -e "$T/nginx-error.log" \
      </dev/null >"$T/nginx.out" 2>>"$T/nginx-error.log" &
    NGINX_PID=$!
    MOCK_PIDS+=("$NGINX_PID")
    for ((i = 0; i < 100; i++)); do
      kill -0 "$NGINX_PID" 2>/dev/null || break
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        NGINX_PORT=$port
        NGINX_URL=https://localhost:$port
        export NGINX_PORT NGINX_URL NGINX_PID
        return 0
      fi
      sleep 0.05
    done
    _stop_pid "$NGINX_PID" # the port was taken meanwhile, or nginx did not come up: again
  done
  fail "nginx did not start: $(tail -n 5 "$T/nginx-error.log")"
}

# ---- helpers of the fault tests (tests/integration/test_fault_*.sh) ----

# run_shim CMD ARGS...: CMD with only the shim preloaded, talking to $SOCK; no
# collector is started (unlike run_elaine), so the caller decides when one runs.
# In the background, "${SHIM_ENV[@]}" CMD ARGS... & makes $! the command's pid.
SHIM_ENV=(env "${PRELOAD_ENV[@]}" ELAINE_SOCKET="$SOCK")
run_shim() {
  "${SHIM_ENV[@]}" "$@"
}

# await_file NAME [PID] [timeout seconds, default 30]: waits until $T/NAME
# exists; fails early when PID (a client that was to create it) is gone.
await_file() {
  local name=$1 pid=${2:-} n=$((${3:-30} * 20))
  while ((n-- > 0)); do
    [[ -e $T/$name ]] && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      [[ -e $T/$name ]] && return 0
      fail "process $pid ended before $name appeared"
    fi
    sleep 0.05
  done
  fail "timed out waiting for $T/$name"
}

# proc_cpu_ticks PID: user + system CPU time of PID, all its threads, in clock ticks.
proc_cpu_ticks() {
  local stat rest
  stat=$(cat "/proc/$1/stat") || fail "no process $1"
  rest=${stat##*) } # after "pid (comm) ": state is field 3, utime 14, stime 15
  set -- $rest
  echo $((${12} + ${13}))
}

# check_whole_lines [dir]: every file of the log directory (elaine.jsonl and
# rotated files, compressed or not) holds whole JSON lines only, each ending
# in "\n" (check_records ignores a last line without one); prints the number
# of lines of each type, e.g. "collector=3 exchange=40".
check_whole_lines() {
  "$PY" - "${1:-$LOGDIR}" <<'PYEOF' || exit 1
import collections, glob, json, os, subprocess, sys
d = sys.argv[1]
types = collections.Counter()
errs = []
for f in sorted(glob.glob(os.path.join(d, "elaine*"))):
    name = os.path.basename(f)
    if name.endswith(".zst"):
        p = subprocess.run(["zstd", "-dcq", f], capture_output=True)
        if p.returncode:
            errs.append("%s: zstd -d failed: %s" % (name, p.stderr.decode().strip()))
            continue
        data = p.stdout
    elif name.endswith(".jsonl"):
        data = open(f, "rb").read()
    elif name in ("elaine-collector.log", "elaine-collector.log.1"):
        continue  # the daemon's stderr
    else:
        errs.append("%s: unexpected file in the log directory" % name)
        continue
    if data and not data.endswith(b"\n"):
        errs.append("%s: ends inside a line: %r" % (name, data[-120:]))
    for no, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            types[json.loads(line).get("type")] += 1
        except (ValueError, AttributeError):
            errs.append("%s:%d is not a JSON object: %r" % (name, no, line[:120]))
if errs:
    print("FAIL: check_whole_lines %s:\n  %s" % (d, "\n  ".join(errs[:10])), file=sys.stderr)
    sys.exit(1)
print(" ".join("%s=%d" % kv for kv in sorted(types.items(), key=lambda kv: str(kv[0]))))
PYEOF
}

# kill_collector [signal, default KILL]: signals the collector of $PIDFILE and
# waits until it is dead. A daemon is not our child: its zombie waits for
# whoever reaps orphans (seconds, in some containers), so a zombie counts as dead.
kill_collector() {
  local sig=${1:-KILL} pid n=100 state
  pid=$(cat "$PIDFILE")
  kill "-$sig" "$pid" 2>/dev/null || true
  while ((n-- > 0)); do
    state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$pid/stat" 2>/dev/null) || state=
    [[ -z $state || $state == Z || $state == X ]] && return 0
    sleep 0.05
  done
  fail "collector $pid still alive after SIG$sig"
}

# start_collector_fg [collector flags]: like start_collector, but not --daemon:
# a daemon sends its stderr to /dev/null, this one keeps it ($T/collector.log),
# so that a test can read what it reports there. Stopped like the other (pidfile).
# Runs under the caller's limits (ulimit -f in a subshell applies to it).
start_collector_fg() {
  [[ -x $COLLECTOR ]] || fail "$COLLECTOR is missing"
  rm -f "$PIDFILE"
  env -u LD_PRELOAD "$COLLECTOR" --socket "$SOCK" --dir "$LOGDIR" --pidfile "$PIDFILE" "$@" \
    </dev/null >>"$T/collector.out" 2>>"$T/collector.log" &
  local pid=$! i
  for ((i = 0; i < 100; i++)); do
    [[ -s $PIDFILE ]] && "$COLLECTOR" --ping --socket "$SOCK" </dev/null >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || fail "elaine-collector exited at start: $(tail -n 5 "$T/collector.log")"
    sleep 0.05
  done
  fail "elaine-collector did not answer on $SOCK"
}
