#!/usr/bin/env bash
# The collector as a daemon (--daemon, as elaine-run starts it):
#  1. what it says on stderr is kept in DIR/elaine-collector.log (0600), not
#     thrown away: a malformed client is reported there, and the reader
#     ignores the file;
#  2. its soft limit of open files is raised to the hard one (one connection
#     per captured process);
#  3. --max-buffered refuses a bound smaller than one frame needs.
source "$(dirname "$0")/lib.sh"
start_mock

# A soft limit below the hard one, as on most systems (1024 / 524288).
hard=$(ulimit -Hn)
soft=256
[[ $hard == unlimited ]] || ((hard > soft)) || fail "the hard limit of open files is $hard"
(ulimit -Sn "$soft" && start_collector)
CPID=$(collector_pid)
got=$(awk '/^Max open files/ {print $4 " " $5}' "/proc/$CPID/limits")
[[ $got == "$hard $hard" ]] || fail "the collector's open-file limits are '$got', want '$hard $hard'"

call() {
  run_shim curl --http1.1 -sSk --fail-with-body -H 'Content-Type: application/json' --max-time 20 \
    --data "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"$1\"}]}" \
    "$MOCK_URL/v1/chat/completions" >"$T/call.out" || fail "curl ($1) failed"
  grep -q "Echo: $1" "$T/call.out" || fail "curl ($1): $(cat "$T/call.out")"
}

# 1. a malformed client: the collector says why it closed it, into the log folder
call "before the garbage"
"$PY" - "$SOCK" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"GET / HTTP/1.1\r\n\r\n")
s.settimeout(5)
assert s.recv(1) == b"", "the collector kept a malformed client"
EOF
errlog=$LOGDIR/elaine-collector.log
for ((i = 0; i < 50; i++)); do grep -qs 'malformed frame' "$errlog" && break; sleep 0.1; done
grep -q 'malformed frame' "$errlog" || fail "no message in $errlog: $(cat "$errlog" 2>&1)"
[[ $(stat -c %a "$errlog") == 600 ]] || fail "$errlog has mode $(stat -c %a "$errlog")"
[[ ! -s $T/collector.log ]] || fail "the daemon wrote to the starting terminal: $(cat "$T/collector.log")"
call "after the garbage"
wait_records 2
"$READER" stats --dir "$LOGDIR" >"$T/stats.out" 2>"$T/stats.err" || fail "elaine stats: $(cat "$T/stats.err")"
[[ ! -s $T/stats.err ]] || fail "elaine stats complained: $(cat "$T/stats.err")"
grep -Eq '^TOTAL +2 +0\.0%' "$T/stats.out" || fail "elaine stats: $(cat "$T/stats.out")"
stop_collector

# A second start appends to the same file (messages of earlier runs are kept).
start_collector
"$PY" - "$SOCK" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"garbage!garbage!")
s.settimeout(5)
s.recv(1)
EOF
for ((i = 0; i < 50; i++)); do (($(grep -c 'malformed frame' "$errlog") >= 2)) && break; sleep 0.1; done
(($(grep -c 'malformed frame' "$errlog") == 2)) || fail "messages of two runs: $(cat "$errlog")"
stop_collector

# 3. --max-buffered below what one frame of 16 MiB needs
rc=0
"$COLLECTOR" --socket "$T/other.sock" --dir "$LOGDIR" --max-buffered 1M >"$T/mb.out" 2>&1 || rc=$?
((rc == 2)) || fail "--max-buffered 1M: exit $rc ($(cat "$T/mb.out"))"
grep -q 'invalid value "1M" for --max-buffered' "$T/mb.out" || fail "--max-buffered 1M: $(cat "$T/mb.out")"
echo "test_collector_daemon: ok"
