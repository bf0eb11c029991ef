#!/usr/bin/env bash
# Security of the collector and what it writes:
# - the default socket folder is 0700 and the socket 0600, the log folder
#   0700 and every log file (active and rotated) 0600, whatever the umask;
# - a client of another uid is refused (SO_PEERCRED) and counted, even when
#   the socket's modes would let it in; with the modes as made, it cannot
#   even connect;
# - a log folder writable by others, or a socket folder that others could
#   swap the socket in, is refused;
# - no credential of the known headers (authorization, x-api-key, api-key,
#   x-goog-api-key, cookie, proxy-authorization) nor of the key query
#   parameter reaches any file the collector writes or its stderr, over
#   HTTP/1.1 (curl, Python) and HTTP/2 (curl through nginx): every output is
#   grepped for the test's secret strings, rotated files decompressed.
#
source "$(dirname "$0")/lib.sh"
# Checks that once were known gaps: the fixes are in (tests/fuzz/README.md).
known_gap() {
  fail "$*"
}
mode() { stat -c %a "$1"; }
OTHER=nobody
OTHER_UID=$(id -u "$OTHER") || fail "no user $OTHER"
[[ $(id -u) != "$OTHER_UID" ]] || fail "the test runs as $OTHER already"
as_other() { setpriv --reuid="$OTHER_UID" --regid="$(id -g "$OTHER")" --clear-groups -- "$@"; }
command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
# Running a client as another user takes root (setpriv); without it those parts are skipped.
AS_ROOT=0
[[ $(id -u) == 0 ]] && AS_ROOT=1

# --- the defaults: XDG_RUNTIME_DIR and XDG_STATE_HOME, no --socket, no --dir; umask 000
export XDG_RUNTIME_DIR=$T/xdg XDG_STATE_HOME=$T/state
mkdir -m 0700 "$XDG_RUNTIME_DIR"
SOCK=$XDG_RUNTIME_DIR/memoryelaine/collector.sock
LOGDIR=$XDG_STATE_HOME/memoryelaine
export SOCK LOGDIR
start_mock
start_nginx_h2 "$MOCK_PORT"
(umask 000 && exec env -u LD_PRELOAD "$COLLECTOR" --pidfile "$PIDFILE" --max-file-size 6K --verbose \
  </dev/null >>"$T/collector.out" 2>>"$T/collector.log") &
for ((i = 0; i < 100; i++)); do [[ -s $PIDFILE ]] && break; sleep 0.05; done
[[ -s $PIDFILE ]] || fail "the collector did not start: $(cat "$T/collector.log")"
[[ -S $SOCK ]] || fail "no socket at the default path $SOCK"
[[ $(mode "$(dirname "$SOCK")") == 700 ]] || fail "socket folder mode $(mode "$(dirname "$SOCK")"), want 700"
[[ $(mode "$SOCK") == 600 ]] || fail "socket mode $(mode "$SOCK"), want 600"
[[ $(mode "$LOGDIR") == 700 ]] || fail "log folder mode $(mode "$LOGDIR"), want 700"
[[ $(mode "$LOGDIR/elaine.jsonl") == 600 ]] || fail "elaine.jsonl mode $(mode "$LOGDIR/elaine.jsonl"), want 600"

# --- secrets in every known place, each call its own
S=sk-elaine-secret-$RANDOM$RANDOM
declare -A SECRETS=(
  [curl_auth]=$S-curl-authorization [curl_xkey]=$S-curl-x-api-key [curl_apikey]=$S-curl-api-key
  [curl_goog]=$S-curl-goog [curl_cookie]=$S-curl-cookie [curl_proxy]=$S-curl-proxy-auth
  [curl_query]=$S-curl-query-key [curl_query2]=$S-curl-query-api-key
  [py_auth]=$S-py-authorization [py_xkey]=$S-py-x-api-key [py_goog]=$S-py-goog [py_cookie]=$S-py-cookie
  [py_query]=$S-py-query-key
  [h2_auth]=$S-h2-authorization [h2_xkey]=$S-h2-x-api-key [h2_cookie]=$S-h2-cookie [h2_query]=$S-h2-query-key
)
chat='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"secret call CALL"}]}'
gem='{"contents":[{"role":"user","parts":[{"text":"secret call CALL"}]}]}'
calls=0
for proto in 1.1 2; do
  if [[ $proto == 1.1 ]]; then p=curl base=$MOCK_URL; else p=h2 base=$NGINX_URL; fi
  extra=("--http$proto")
  auth=${SECRETS[${p}_auth]} xkey=${SECRETS[${p}_xkey]} cookie=${SECRETS[${p}_cookie]} query=${SECRETS[${p}_query]}
  hdrs=(-H "Authorization: Bearer $auth" -H "x-api-key: $xkey" -H "Cookie: a=1; session=$cookie; b=2"
    -H 'Content-Type: application/json')
  if [[ $proto == 1.1 ]]; then
    hdrs+=(-H "api-key: ${SECRETS[curl_apikey]}" -H "x-goog-api-key: ${SECRETS[curl_goog]}"
      -H "Proxy-Authorization: Basic ${SECRETS[curl_proxy]}")
  fi
  ELAINE_HOSTS=localhost run_elaine curl -sS --fail-with-body --cacert "$MOCK_CERT" "${extra[@]}" "${hdrs[@]}" \
    --data "${chat//CALL/$p chat}" "$base/v1/chat/completions" >"$T/out.$p.chat" || fail "curl $p chat failed"
  q="key=$query"
  [[ $proto == 1.1 ]] && q="$q&api_key=${SECRETS[curl_query2]}"
  ELAINE_HOSTS=localhost run_elaine curl -sS --fail-with-body --cacert "$MOCK_CERT" "${extra[@]}" "${hdrs[@]}" \
    --data "${gem//CALL/$p gemini}" "$base/v1beta/models/gemini-2.5-flash:generateContent?$q&alt=json" \
    >"$T/out.$p.gem" || fail "curl $p gemini failed"
  calls=$((calls + 2))
done
export PY_AUTH=${SECRETS[py_auth]} PY_XKEY=${SECRETS[py_xkey]} PY_GOOG=${SECRETS[py_goog]}
export PY_COOKIE=${SECRETS[py_cookie]} PY_QUERY=${SECRETS[py_query]}
run_elaine "$PY" - <<'PYEOF' || fail "the Python calls failed"
import json, os, ssl, urllib.request
ctx = ssl.create_default_context(cafile=os.environ["MOCK_CERT"])
h = {"Authorization": "Bearer " + os.environ["PY_AUTH"], "x-api-key": os.environ["PY_XKEY"],
     "x-goog-api-key": os.environ["PY_GOOG"], "Cookie": "session=" + os.environ["PY_COOKIE"],
     "Content-Type": "application/json"}
base = os.environ["MOCK_URL"]
for path, body in (("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "secret call python chat"}]}),
                   ("/v1beta/models/gemini-2.5-flash:generateContent?key=" + os.environ["PY_QUERY"],
                    {"contents": [{"role": "user", "parts": [{"text": "secret call python gemini"}]}]})):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=h, method="POST")
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        assert r.status == 200
PYEOF
calls=$((calls + 2))

# --- peers of another uid: with the modes as made they cannot connect at all;
# with the folder and socket opened up by mistake, SO_PEERCRED refuses them
cat >"$T/peer.py" <<'PYEOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("connect refused (EACCES)")
    sys.exit(0)
# a hello and an event, in case anybody listened
batch = b"\x0a\x04\x08\xc2\x21" + b"\x12\x04\x08\x01\x12\x00"
try:
    s.sendall(b"ELN1\x01\x00\x00\x00" + struct.pack("<I", len(batch)) + batch)
except OSError:
    pass
s.settimeout(5)
try:
    data = s.recv(100)
    print("closed by the collector" if data == b"" else "ANSWERED %r" % data)
except socket.timeout:
    print("STILL OPEN")
except OSError as e:
    print("closed by the collector (%s)" % e.strerror)
PYEOF
if ((AS_ROOT)); then
chmod 0711 "$T" "$XDG_RUNTIME_DIR"
chmod 0644 "$T/peer.py"
out=$(as_other "$PY" "$T/peer.py" "$SOCK") || fail "peer.py as $OTHER failed: $out"
[[ $out == "connect refused (EACCES)" ]] || fail "a client of uid $OTHER_UID with the modes as made: $out"
chmod 0711 "$(dirname "$SOCK")"
chmod 0666 "$SOCK"
out=$(as_other "$PY" "$T/peer.py" "$SOCK") || fail "peer.py as $OTHER failed: $out"
chmod 0700 "$(dirname "$SOCK")"
chmod 0600 "$SOCK"
[[ $out == "closed by the collector"* ]] || fail "a client of uid $OTHER_UID on an open socket: $out"
echo "a client of uid $OTHER_UID: EACCES with the modes as made, refused by SO_PEERCRED otherwise"

# --- a rogue server of another uid on the shim's socket path: the shim must
# not hand it the captured bytes (they carry the credentials in clear)
mkdir -m 0777 "$T/pub"
cat >"$T/rogue.py" <<'PYEOF'
import os, socket, sys, threading, time
path, out = sys.argv[1], sys.argv[2]
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind(path)
os.chmod(path, 0o777)
l.listen(16)
got = [0]
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            return
        got[0] += len(d)
def loop():
    while True:
        c, _ = l.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
threading.Thread(target=loop, daemon=True).start()
open(out + ".ready", "w").close()
while not os.path.exists(out + ".stop"):
    time.sleep(0.05)
time.sleep(0.3)
open(out, "w").write(str(got[0]))
PYEOF
chmod 0644 "$T/rogue.py"
as_other "$PY" "$T/rogue.py" "$T/pub/rogue.sock" "$T/pub/rogue.out" </dev/null >/dev/null 2>"$T/rogue.err" &
ROGUE_PID=$!
MOCK_PIDS+=("$ROGUE_PID")
for ((i = 0; i < 100; i++)); do [[ -e $T/pub/rogue.out.ready ]] && break; sleep 0.05; done
[[ -e $T/pub/rogue.out.ready ]] || fail "the rogue server did not start: $(cat "$T/rogue.err")"
ROGUE_SECRET=$S-rogue
env "${PRELOAD_ENV[@]}" ELAINE_SOCKET="$T/pub/rogue.sock" curl --http1.1 -sS --cacert "$MOCK_CERT" \
  -H "Authorization: Bearer $ROGUE_SECRET" -H 'Content-Type: application/json' --data "${chat//CALL/rogue}" \
  "$MOCK_URL/v1/chat/completions" >/dev/null || fail "curl with a rogue server failed"
sleep 1
touch "$T/pub/rogue.out.stop"
wait "$ROGUE_PID" || true
rogue_got=$(cat "$T/pub/rogue.out" 2>/dev/null || echo "?")
if [[ $rogue_got != 0 ]]; then
  known_gap "the shim sent $rogue_got bytes of captured traffic to a socket of uid $OTHER_UID (it does not check SO_PEERCRED of the collector)"
fi
else
  echo "SKIP: the checks with a process of another uid need root (setpriv)"
fi

# --- rotation happened (6K files): the rotated files are 0600 too
wait_records "$calls" 30
stop_collector
shopt -s nullglob
rotated=("$LOGDIR"/elaine-*.jsonl.zst)
rejected=$(grep -h '"event":"shutdown"' "$LOGDIR/elaine.jsonl" | grep -o '"clients_rejected":[0-9]*' | cut -d: -f2)
[[ $rejected == "$AS_ROOT" ]] || fail "the shutdown line counts clients_rejected ${rejected:-?}, want $AS_ROOT"
((${#rotated[@]} >= 1)) || fail "no rotation with --max-file-size 6K"
for f in "$LOGDIR"/*; do
  [[ $(mode "$f") == 600 ]] || fail "$f has mode $(mode "$f"), want 600"
done
echo "modes: socket folder 700, socket 600, log folder 700, $((${#rotated[@]} + 1)) log files 600"

# --- the records carry [REDACTED] where the secrets were (so the headers were seen)
check_records_script <<'EOF'
by = {}
for r in uniq:
    b = g(r, "request.body") or {}
    t = None
    if isinstance(b, dict) and b.get("messages"):
        t = b["messages"][-1]["content"]
    elif isinstance(b, dict) and b.get("contents"):
        t = b["contents"][-1]["parts"][0]["text"]
    by[t] = r
for who in ("curl", "h2", "python"):
    for what in ("chat", "gemini"):
        r = by.get("secret call %s %s" % (who, what))
        ok(r is not None, "no record of %s %s: %r" % (who, what, sorted(by, key=str)))
        h = g(r, "request.headers")
        for name in ("authorization", "x-api-key", "cookie"):
            ok(h.get(name) == "[REDACTED]", "%s %s: %s is %r" % (who, what, name, h.get(name)))
        if who == "curl":
            for name in ("api-key", "x-goog-api-key", "proxy-authorization"):
                ok(h.get(name) == "[REDACTED]", "%s %s: %s is %r" % (who, what, name, h.get(name)))
        if what == "gemini":
            p = g(r, "request.path")
            ok("key=[REDACTED]" in p or "key=%5BREDACTED%5D" in p, "%s: path %r" % (who, p))
        ok(g(r, "response.status") == 200, "%s %s: status %r" % (who, what, g(r, "response.status")))
EOF

# --- no secret anywhere: every log file (decompressed), the collector's output
for f in "$LOGDIR"/*.zst; do zstd -dcq "$f" >"$T/rotated.$(basename "$f").txt" || fail "zstd -d $f"; done
outputs=("$LOGDIR"/* "$T"/rotated.*.txt "$T/collector.log" "$T/collector.out")
[[ -s $T/collector.log ]] || echo "(the collector wrote nothing on stderr)"
for k in "${!SECRETS[@]}"; do
  v=${SECRETS[$k]}
  for f in "${outputs[@]}"; do
    if grep -aqF -- "$v" "$f"; then fail "the secret of $k reached $f"; fi
  done
done
# the prefix too: no part of any of them (e.g. a secret cut by --max-body or a log message)
for f in "${outputs[@]}"; do
  if grep -aqF -- "$S" "$f"; then fail "a secret ($S...) reached $f: $(grep -aoF -- "$S" "$f" | head -n 1)"; fi
done
echo "secrets: ${#SECRETS[@]} secrets in $calls calls, none in ${#outputs[@]} outputs"

# --- refused log folders and socket folders
try_collector() { # dir socket: 0 when it refused to start, 1 when it ran (then stopped)
  local pf=$T/try.pid rc
  rm -f "$pf"
  env -u LD_PRELOAD "$COLLECTOR" --dir "$1" --socket "$2" --pidfile "$pf" </dev/null \
    >>"$T/try.out" 2>>"$T/try.err" &
  local pid=$!
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    [[ -s $pf ]] && break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    _stop_pid "$pid"
    return 1
  fi
  wait "$pid" && rc=0 || rc=$?
  ((rc != 0)) || fail "the collector exited 0 without serving (dir $1)"
  return 0
}
mkdir -m 0777 "$T/openlog"
chmod 0777 "$T/openlog" # whatever the umask
if try_collector "$T/openlog" "$T/try1.sock"; then
  grep -q "openlog" "$T/try.err" || fail "refusing $T/openlog, the collector did not say why"
else
  known_gap "the collector accepts a log folder writable by others ($T/openlog, mode 777)"
fi
mkdir -p "$T/goodlog" && chmod 0700 "$T/goodlog"
install -m 0644 /dev/null "$T/goodlog/elaine.jsonl"
try_collector "$T/goodlog" "$T/try2.sock" && fail "the collector refused a good log folder: $(tail -n 2 "$T/try.err")"
[[ $(mode "$T/goodlog/elaine.jsonl") == 600 ]] ||
  known_gap "an existing elaine.jsonl keeps mode $(mode "$T/goodlog/elaine.jsonl") (not made 0600)"
mkdir -m 0777 "$T/opensock"
chmod 0777 "$T/opensock"
if ! try_collector "$T/goodlog" "$T/opensock/c.sock"; then
  known_gap "the collector binds its socket in a folder writable by others ($T/opensock, mode 777): the socket can be swapped"
fi
echo "test_security: ok"
