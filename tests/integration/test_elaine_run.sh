#!/usr/bin/env bash
# elaine-run: starts a collector when none answers and reuses it; concurrent runs
# start one; stdio of the daemon is detached; the exit status is the command's;
# ELAINE_SOCKET / ELAINE_HOSTS / LD_PRELOAD are set; fail open without a collector.
source "$(dirname "$0")/lib.sh"

# Default socket and log directory, from XDG_RUNTIME_DIR and XDG_STATE_HOME.
export XDG_RUNTIME_DIR=$T/run XDG_STATE_HOME=$T/state
mkdir -p "$XDG_RUNTIME_DIR"
dsock=$XDG_RUNTIME_DIR/memoryelaine/collector.sock
if "$COLLECTOR" --ping --socket "$dsock" </dev/null >/dev/null 2>&1; then
  fail "a collector answers before any was started"
fi

out=$("$ELAINE_RUN" --pidfile "$PIDFILE" sh -c 'echo "$ELAINE_SOCKET"; echo "$LD_PRELOAD"' 2>"$T/err1")
[[ ! -s $T/err1 ]] || fail "elaine-run printed on stderr: $(cat "$T/err1")"
[[ $(sed -n 1p <<<"$out") == "$dsock" ]] || fail "ELAINE_SOCKET is '$(sed -n 1p <<<"$out")', want $dsock"
want=${SAN_PRELOAD:+$SAN_PRELOAD:}$SHIM # a sanitizer build puts its runtime first
[[ $(sed -n 2p <<<"$out") == "$want" ]] || fail "LD_PRELOAD is '$(sed -n 2p <<<"$out")', want $want"
"$COLLECTOR" --ping --socket "$dsock" </dev/null >/dev/null 2>&1 || fail "no collector answers after elaine-run"
[[ $(stat -c %a "$XDG_RUNTIME_DIR/memoryelaine") == 700 ]] || fail "socket folder mode is $(stat -c %a "$XDG_RUNTIME_DIR/memoryelaine")"
pid1=$(collector_pid)
kill -0 "$pid1" || fail "pidfile names no live process"

# A second run reuses it.
"$ELAINE_RUN" --pidfile "$PIDFILE" true || fail "second run failed"
[[ $(collector_pid) == "$pid1" ]] || fail "second run started another collector"
n=$(pids_with_arg "$dsock" | wc -l)
((n == 1)) || fail "$n processes serve $dsock, want 1"
stop_collector

# The command's exit status, stdin and stdout pass through; the daemon started
# by elaine-run holds none of the caller's descriptors (else the pipe below
# would stay open and the capture hang).
"$PY" - "$ELAINE_RUN" "$T/c3/s.sock" "$T/c3.pid" <<'EOF' || fail "stdio or exit status not passed through"
import subprocess, sys
run, sock, pidfile = sys.argv[1:]
cmd = [run, "--socket", sock, "--pidfile", pidfile, "--", "sh", "-c", "cat; echo out; echo err >&2; exit 7"]
p = subprocess.run(cmd, input=b"in\n", capture_output=True, timeout=20)
assert p.returncode == 7, p
assert p.stdout == b"in\nout\n", p
assert p.stderr == b"err\n", p
EOF
_stop_pid "$(cat "$T/c3.pid")"
rc=$(bash -c '"$@"; echo $?' _ "$ELAINE_RUN" --socket "$SOCK" --pidfile "$PIDFILE" sh -c 'kill -TERM $$' 2>/dev/null)
((rc == 143)) || fail "a command killed by SIGTERM: exit $rc, want 143"
stop_collector

# Concurrent runs start one collector: count the --daemon starts through a wrapper.
cat >"$T/wrap-collector" <<EOF
#!/bin/sh
case " \$* " in *" --daemon "*) echo start >>"$T/starts" ;; esac
exec "$COLLECTOR" "\$@"
EOF
chmod +x "$T/wrap-collector"
pids=()
for i in 1 2 3 4 5 6 7 8; do
  ELAINE_COLLECTOR=$T/wrap-collector "$ELAINE_RUN" --socket "$T/c2/s.sock" --pidfile "$T/c2.pid" true &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent run failed"; done
[[ $(wc -l <"$T/starts") == 1 ]] || fail "$(wc -l <"$T/starts") collectors started by 8 concurrent runs, want 1"
n=$(pids_with_arg "$T/c2/s.sock" | wc -l)
((n == 1)) || fail "$n processes serve $T/c2/s.sock, want 1"
_stop_pid "$(cat "$T/c2.pid")"

# --hosts is appended to ELAINE_HOSTS; a sanitizer runtime stays first in LD_PRELOAD.
out=$(ELAINE_HOSTS=a.example "$ELAINE_RUN" --socket "$SOCK" --pidfile "$PIDFILE" --hosts b.example:8443 \
  printenv ELAINE_HOSTS 2>/dev/null)
[[ $out == "a.example,b.example:8443" ]] || fail "ELAINE_HOSTS is '$out'"
# (an ASan build's shim without its runtime first: printenv would stop at once)
[[ $ELAINE_SAN == asan ]] && export ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0
out=$(LD_PRELOAD="/nonexistent/libasan.so.8 /nonexistent/libother.so" \
  "$ELAINE_RUN" --socket "$SOCK" --pidfile "$PIDFILE" printenv LD_PRELOAD 2>/dev/null)
[[ $out == "/nonexistent/libasan.so.8:$SHIM:/nonexistent/libother.so" ]] || fail "LD_PRELOAD is '$out'"
stop_collector

# Fail open: no collector binary. One line on stderr, the command runs, its status is kept.
set +e
out=$(ELAINE_COLLECTOR=/nonexistent "$ELAINE_RUN" --socket "$T/none/s.sock" sh -c 'echo ran; exit 5' 2>"$T/err2")
rc=$?
set -e
((rc == 5)) || fail "fail-open run: exit $rc, want 5"
[[ $out == ran ]] || fail "fail-open run printed '$out'"
[[ $(wc -l <"$T/err2") == 1 ]] || fail "fail-open message is not one line: $(cat "$T/err2")"
grep -q '^elaine-run: could not start elaine-collector (.*); running without capture$' "$T/err2" ||
  fail "fail-open message: $(cat "$T/err2")"
out=$(ELAINE_COLLECTOR=/nonexistent "$ELAINE_RUN" --socket "$T/none/s.sock" printenv LD_PRELOAD 2>/dev/null || true)
[[ -z $out ]] || fail "fail-open run still preloads: '$out'"

# A log folder that another collector writes to (on another socket): refused,
# with the collector's own reason in the one line; the command still runs.
"$ELAINE_RUN" --pidfile "$PIDFILE" --socket "$T/a/s.sock" --dir "$T/shared" true || fail "first collector on shared"
out=$("$ELAINE_RUN" --socket "$T/b/s.sock" --dir "$T/shared" sh -c 'echo ran' 2>"$T/err3")
[[ $out == ran ]] || fail "run beside a busy log folder printed '$out'"
grep -q '^elaine-run: could not start elaine-collector (log folder ".*/shared" is in use by another elaine-collector; exit status 1, see .*); running without capture$' "$T/err3" ||
  fail "busy log folder message: $(cat "$T/err3")"
"$COLLECTOR" --ping --socket "$T/b/s.sock" </dev/null >/dev/null 2>&1 && fail "a second collector serves the busy log folder"
stop_collector

echo "test_elaine_run: ok"
