#!/usr/bin/env bash
# Faults: the log file cannot be written.
#  1. RLIMIT_FSIZE (ulimit -f 64 KiB): a record larger than the limit fails
#     with EFBIG half way (SIGXFSZ is ignored): the collector keeps running,
#     cuts the half line back, says so on stderr, counts it (write_errors in
#     its counters line), and the records before and after are written whole.
#  2. A full file system (a 2 MiB tmpfs as the log directory, filled up):
#     ENOSPC while the client keeps calling; the client is not affected, the
#     collector keeps running, reports the failure once on stderr, counts the
#     errors, and writes again as soon as there is room. Every line on disk is
#     whole. (Needs root for mount; skipped with a note otherwise.)
source "$(dirname "$0")/lib.sh"
start_mock

cat >"$T/sized_call.py" <<'PYEOF'
# sized_call.py TEXT [PAD_BYTES]: one call whose request carries PAD_BYTES of system prompt.
import json, os, ssl, sys, urllib.request
from elaine_client import *
text, pad = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
msgs = ([{"role": "system", "content": "x" * pad}] if pad else []) + [{"role": "user", "content": text}]
req = urllib.request.Request(URL, data=json.dumps({"model": "gpt-4o-mini", "messages": msgs}).encode(),
                             headers=HEADERS, method="POST")
with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=CA), timeout=30) as resp:
    got = from_json(json.load(resp))
assert got == "Echo: " + text, got
print(got)
PYEOF
# call TEXT [PAD]: one call under the shim; its output must be the echo.
call() {
  local out
  out=$(run_shim "$PY" "$T/sized_call.py" "$@") || fail "the client failed on \"$1\""
  [[ $out == "Echo: $1" ]] || fail "client output for \"$1\": $out"
}
# counters: the collector's last "collector" line, as JSON.
counters() { grep '"type":"collector"' "$LOGDIR/elaine.jsonl" | tail -n 1; }

# ---- 1. RLIMIT_FSIZE --------------------------------------------------------------
(
  ulimit -f 64 # KiB, for the collector started here (and only it)
  start_collector_fg
)
call "before the limit"
wait_records 1 10
call "over the limit" 100000 # a record of ~100 KB: larger than the whole file may be
call "after the limit"
wait_records 2 10
kill -0 "$(collector_pid)" || fail "the collector died on EFBIG (SIGXFSZ?)"
grep -q 'elaine.jsonl failed: File too large' "$T/collector.log" || fail "no message on stderr: $(cat "$T/collector.log")"
stop_collector
check_whole_lines >/dev/null
check_records 'len(uniq) == 2 and chat_ok(find("before the limit")) and chat_ok(find("after the limit"))'
c=$(counters)
[[ $c == *'"event":"shutdown"'* && $c == *'"write_errors":1,'* && $c == *'"exchanges_written":2,'* ]] ||
  fail "counters after EFBIG: $c"
rm -rf "$LOGDIR"
: >"$T/collector.log"

# ---- 2. a full file system ----------------------------------------------------------
mkdir -p "$LOGDIR"
if ! mount -t tmpfs -o size=2m,mode=0700 elaine-test "$LOGDIR" 2>"$T/mount.err"; then
  echo "test_fault_disk_full: tmpfs part skipped: mount failed: $(cat "$T/mount.err")" >&2
  echo "test_fault_disk_full: ok (RLIMIT_FSIZE part only)"
  exit 0
fi
# unmount before lib.sh's cleanup removes $T (the collector is stopped first)
trap '_rc=$?; set +e; [[ -f $PIDFILE ]] && _stop_pid "$(cat "$PIDFILE")"; cp "$LOGDIR/elaine.jsonl" "$T/elaine.jsonl.copy" 2>/dev/null; umount "$LOGDIR" 2>/dev/null || umount -l "$LOGDIR"; (exit $_rc); cleanup' EXIT
start_collector_fg
call "room 0"
wait_records 1 10
# fill the file system, leaving about 40 KB
dd if=/dev/zero of="$LOGDIR/filler" bs=64k count=40 status=none 2>/dev/null || true
avail=$(df -B1 --output=avail "$LOGDIR" | tail -n 1)
dd if=/dev/zero of="$LOGDIR/filler2" bs=1 count=$((avail > 40000 ? avail - 40000 : 0)) status=none 2>/dev/null || true
# calls of ~30 KB records: the first fits, the next ones do not
for i in 1 2 3 4 5; do call "full $i" 30000; done
for ((i = 0; i < 50; i++)); do
  grep -q 'No space left on device' "$T/collector.log" && break
  sleep 0.1
done
grep -q 'elaine.jsonl failed: No space left on device' "$T/collector.log" || fail "no ENOSPC message on stderr: $(cat "$T/collector.log")"
(($(grep -c 'failed: No space left' "$T/collector.log") == 1)) || fail "the ENOSPC message repeats: $(cat "$T/collector.log")"
kill -0 "$(collector_pid)" || fail "the collector died on ENOSPC"
n_full=$(count_records)
((n_full < 6)) || fail "all calls were written although the disk was full"
# room again
rm -f "$LOGDIR/filler" "$LOGDIR/filler2"
for i in 1 2 3; do call "room again $i" 30000; done
wait_records $((n_full + 3)) 10
stop_collector
check_whole_lines >/dev/null
check_records 'chat_ok(find("room 0")) and all(chat_ok(find("room again %d" % i)) for i in (1, 2, 3))'
c=$(counters)
[[ $c == *'"event":"shutdown"'* && $c =~ \"write_errors\":([0-9]+), ]] || fail "counters: $c"
errors=${BASH_REMATCH[1]}
# every call of the full phase is either written or counted as a write error
written_full=$((n_full - 1))
((errors >= 1 && written_full + errors >= 5)) || fail "full phase: $written_full written, $errors write errors counted, 5 calls"
echo "test_fault_disk_full: ok"
