#!/usr/bin/env bash
# PENDING (product bug, shim/shim_queue.c): a program that closes all its
# descriptors (close_range, closefrom, a daemonizing library) closes the
# shim's collector socket and its wakeup eventfd. The sender thread checks the
# socket is still its own before each use, but not the eventfd:
#  - poll() on the closed eventfd returns POLLNVAL at once: the sender spins,
#    a whole core, for as long as the process lives;
#  - when the application opens a file and gets that number back, the sender
#    read()s 8 bytes at a time from the application's file (the application
#    then reads less or nothing) and enqueue() write()s 8-byte counters into it.
# Correct: the application's files hold and return exactly its own bytes, the
# process does not spin, and every call is recorded.
source "$(dirname "$0")/lib.sh"
start_mock
start_collector

timeout 60 "${SHIM_ENV[@]}" "$PY" - >"$T/client.out" 2>"$T/client.err" <<'PYEOF' || fail "client failed ($?): $(cat "$T/client.err")"
import os, time
from elaine_client import *
def cpu():
    t = os.times()
    return t.user + t.system
assert chat_urllib("close fds call 0") == "Echo: close fds call 0"
time.sleep(0.7)  # the sender is connected and idle in poll()
os.closerange(3, 65536)
# the application makes pipes: they take the lowest free numbers, the shim's old ones
pipes = [os.pipe() for _ in range(4)]
c0 = cpu()
time.sleep(2.0)  # idle: the process should use (almost) no CPU
spin = cpu() - c0
bad = []
for r, w in pipes:
    msg = b"application data on %d->%d\n" % (w, r)
    os.write(w, msg)
    time.sleep(0.3)
    os.set_blocking(r, False)
    got = os.read(r, 4096)
    if got != msg:
        bad.append(("pipe %d->%d" % (w, r), msg, got))
for i in range(1, 4):
    text = "close fds call %d" % i
    assert chat_urllib(text) == "Echo: " + text
    time.sleep(0.3)
for r, w in pipes:  # nothing else was written into them
    try:
        extra = os.read(r, 4096)
    except BlockingIOError:
        extra = b""
    if extra:
        bad.append(("pipe %d->%d" % (w, r), b"", extra))
assert not bad, "the application's pipes changed under it (what, wrote, read): %r" % bad
assert spin < 0.2, "the process used %.2f s of CPU in 2 s of idling: the sender spins" % spin
print("close fds done")
PYEOF
[[ $(cat "$T/client.out") == "close fds done" ]] || fail "client output: $(cat "$T/client.out" "$T/client.err")"
wait_records 4 10
check_records 'len(uniq) == 4 and all(chat_ok(find("close fds call %d" % i)) for i in range(4))'
echo "test_fault_close_fds: ok"
