#!/usr/bin/env bash
# Faults: the application takes the shim's socket away, or exits from a thread.
#  1. The application dup2()s a file of its own over the shim's collector
#     socket and writes to it: the file holds exactly what the application
#     wrote (the shim neither writes its frames into it nor reads from it), the
#     shim reconnects on a socket of its own, and every call has its record.
#  2. exit(9) from a thread right after a 6 MB upload, while the shim's sender
#     is still compressing and sending it: the process leaves with status 9,
#     within the exit flush's bound, without a crash, and the upload's record
#     is whole.
# Closing all descriptors (close_range) and reusing their numbers:
# pending/test_fault_close_fds.sh.
source "$(dirname "$0")/lib.sh"
start_mock
start_collector

# ---- 1. dup2 over the shim's socket ----------------------------------------------
timeout 60 "${SHIM_ENV[@]}" "$PY" - >"$T/dup2.out" 2>"$T/dup2.err" <<'PYEOF' || fail "dup2 client failed ($?): $(cat "$T/dup2.err")"
import os, socket, time
from elaine_client import *
T = os.environ["T"]
def unix_sockets():
    out = set()
    for f in os.listdir("/proc/self/fd"):
        fd = int(f)
        try:
            if not os.readlink("/proc/self/fd/%d" % fd).startswith("socket:"):
                continue
            s = socket.socket(fileno=fd)
            try:
                if s.family == socket.AF_UNIX:
                    out.add(fd)
            finally:
                s.detach()
        except OSError:
            pass
    return out
before = unix_sockets()
assert chat_urllib("dup2 call 0") == "Echo: dup2 call 0"
time.sleep(0.3)  # the sender is connected, idle
shim = unix_sockets() - before
assert len(shim) == 1, "the shim's socket? %r" % shim
fd = shim.pop()
path = os.path.join(T, "dup2.dat")
mine = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
os.dup2(mine, fd)
os.close(mine)
os.write(fd, b"application line 1\n")
for i in range(1, 4):
    text = "dup2 call %d" % i
    assert chat_urllib(text, stream=i == 2, usage=True) == "Echo: " + text
    time.sleep(0.2)
os.write(fd, b"application line 2\n")
time.sleep(0.5)
os.lseek(fd, 0, os.SEEK_SET)
data = os.read(fd, 4096)
assert data == b"application line 1\napplication line 2\n", "the file behind fd %d holds %r" % (fd, data[:200])
os.close(fd)
print("dup2 done")
PYEOF
[[ $(cat "$T/dup2.out") == "dup2 done" && ! -s $T/dup2.err ]] || fail "dup2 client: $(cat "$T/dup2.out" "$T/dup2.err")"
wait_records 4 10
check_records 'len(uniq) == 4 and all(chat_ok(find("dup2 call %d" % i)) for i in range(4))'

# ---- 2. exit() from a thread while the sender is busy ----------------------------
start=$(date +%s%N)
rc=0
timeout 30 "${SHIM_ENV[@]}" "$PY" - >"$T/exit.out" 2>"$T/exit.err" <<'PYEOF' || rc=$?
import base64, ctypes, json, os, ssl, sys, threading, time, urllib.request
from elaine_client import *
libc = ctypes.CDLL(None)
pad = base64.b64encode(os.urandom(4608 * 1024)).decode()  # 6 MB that zstd cannot shrink much (--max-body is 8M)
body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "system", "content": pad},
                   {"role": "user", "content": "exit from a thread"}]}).encode()
def upload_then_exit():
    ctx = ssl.create_default_context(cafile=CA)
    req = urllib.request.Request(URL, data=body, headers=HEADERS, method="POST")
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        got = from_json(json.load(resp))
    print(got, flush=True)
    libc.exit(9)  # the C library's exit(), from this thread, the sender still busy
t = threading.Thread(target=upload_then_exit)
t.start()
while True:  # the main thread never returns by itself
    time.sleep(1)
PYEOF
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
((rc == 9)) || fail "exit status $rc, want 9 (124: hung; 128+N: signal N): $(cat "$T/exit.err")"
[[ $(cat "$T/exit.out") == "Echo: exit from a thread" && ! -s $T/exit.err ]] || fail "output: $(cat "$T/exit.out" "$T/exit.err")"
((elapsed_ms < 15000)) || fail "the exit took ${elapsed_ms} ms"
wait_records 5 15
check_records_script <<'EOF'
r = find("exit from a thread")
chat_ok(r)
ok(g(r, "request.body_size") > 6000000, "body_size %r" % g(r, "request.body_size"))
EOF
kill -0 "$(collector_pid)" || fail "the collector died"
echo "test_fault_fds_exit: ok"
