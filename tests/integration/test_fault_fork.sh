#!/usr/bin/env bash
# Faults: processes that fork, exec and spawn while they make LLM calls. No
# deadlock, no crash, no lost record from the parent or from a child; each
# record carries the pid of the process that made the call.
#  1. fork() without exec while 4 threads are mid-stream; the two children
#     make their own calls (a child does not inherit the parent's connections)
#     and exit normally.
#  2. fork() + exec of a new client; posix_spawn(); subprocess (vfork).
#  3. multiprocessing with the "spawn" start method (a pool of 3).
#  4. A prefork server: the parent makes a call, opens a listening socket and
#     forks 3 workers; each worker serves requests by making an LLM call.
# Children that leave with os._exit() (multiprocessing's "fork", prefork
# servers): pending/test_fault_os_exit.sh.
# Not under ASan: GCC 12's ASan allocator takes no lock around fork(), so a
# child forked while another thread (the shim's sender, or the program's own)
# is inside malloc can block forever on the allocator's mutex at its first
# allocation (seen here: both threads of a prefork worker waiting on it, 1 run
# in about 14). glibc's malloc, which real programs use, locks around fork.
source "$(dirname "$0")/lib.sh"
skip_under_sanitizer asan "GCC 12's ASan allocator is not fork-safe in threaded programs"
start_mock --delay-ms 30
start_collector

# ---- 1. fork while threads are mid-request ---------------------------------------
timeout 60 "${SHIM_ENV[@]}" "$PY" - >"$T/fork.out" 2>"$T/fork.err" <<'PYEOF' || fail "fork client failed ($?): $(cat "$T/fork.err")"
import json, os, sys, threading, time, requests
from elaine_client import *
errors = []
def worker(i):
    try:
        s = requests.Session()
        for k in range(2):
            text = "parent thread %d round %d streams on" % (i, k)
            assert chat_requests(text, stream=True, usage=True, session=s) == "Echo: " + text
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
for t in threads: t.start()
time.sleep(0.3)  # the streams are in flight: fork now, twice
kids = []
for c in range(2):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for k in range(2):
                text = "fork child %d call %d" % (c, k)
                assert chat_urllib(text, stream=k == 1, usage=True) == "Echo: " + text
        except BaseException as e:
            print("child %d: %r" % (c, e), file=sys.stderr, flush=True)
            code = 1
        sys.exit(code)
    kids.append(pid)
for pid in kids:
    _, st = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(st) == 0, "child %d: status %d" % (pid, st)
for t in threads: t.join()
assert not errors, errors
print(json.dumps({"parent": os.getpid(), "kids": kids}))
PYEOF
[[ ! -s $T/fork.err ]] || fail "fork client stderr: $(cat "$T/fork.err")"
wait_records 12 15
FORK_PIDS=$(cat "$T/fork.out") check_records_script <<'EOF'
import json
p = json.loads(env["FORK_PIDS"])
ok(len(recs) == 12, "%d records, want 12" % len(recs))
for i in range(4):
    for k in range(2):
        r = find("parent thread %d round %d streams on" % (i, k))
        chat_ok(r)
        ok(r["pid"] == p["parent"], "record %s: pid %r, want the parent %r" % (r["id"], r["pid"], p["parent"]))
for c in range(2):
    for k in range(2):
        r = find("fork child %d call %d" % (c, k))
        chat_ok(r)
        ok(r["pid"] == p["kids"][c], "record %s: pid %r, want child %r" % (r["id"], r["pid"], p["kids"][c]))
EOF

# ---- 2. fork + exec, posix_spawn, subprocess -------------------------------------
cat >"$T/one_call.py" <<'PYEOF'
import os, sys
from elaine_client import *
text = sys.argv[1]
assert chat_urllib(text) == "Echo: " + text
print(os.getpid())
PYEOF
timeout 60 "${SHIM_ENV[@]}" "$PY" - >"$T/spawn.out" 2>"$T/spawn.err" <<'PYEOF' || fail "spawn client failed ($?): $(cat "$T/spawn.err")"
import json, os, subprocess, sys, threading
from elaine_client import *
T, PY = os.environ["T"], sys.executable
one = os.path.join(T, "one_call.py")
pids = {}
# a thread streams in the parent meanwhile
th = threading.Thread(target=lambda: chat_urllib("spawning parent streams", stream=True, usage=True))
th.start()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.dup2(w, 1)
    os.execv(PY, [PY, one, "exec child"])
os.close(w)
pids["exec child"] = pid
out = os.read(r, 100).decode().strip()
os.waitpid(pid, 0)
assert out == str(pid), (out, pid)
pid = os.posix_spawn(PY, [PY, one, "posix_spawn child"], os.environ)
_, st = os.waitpid(pid, 0)
assert st == 0, st
pids["posix_spawn child"] = pid
p = subprocess.run([PY, one, "subprocess child"], capture_output=True, text=True, check=True)
pids["subprocess child"] = int(p.stdout)
th.join()
assert chat_urllib("spawning parent after") == "Echo: spawning parent after"
pids["spawning parent streams"] = pids["spawning parent after"] = os.getpid()
print(json.dumps(pids))
PYEOF
[[ ! -s $T/spawn.err ]] || fail "spawn client stderr: $(cat "$T/spawn.err")"
wait_records 17 15
SPAWN_PIDS=$(tail -n 1 "$T/spawn.out") check_records_script <<'EOF'
import json
pids = json.loads(env["SPAWN_PIDS"])
ok(len(uniq) == 17, "%d records, want 17" % len(uniq))
for text, pid in pids.items():
    r = find(text)
    chat_ok(r)
    ok(r["pid"] == pid, "record %s (%s): pid %r, want %r" % (r["id"], text, r["pid"], pid))
ok(len({pids[t] for t in pids}) == 4, "want 4 processes: %r" % pids)
EOF

# ---- 3. multiprocessing, spawn start method --------------------------------------
cat >"$T/mp_client.py" <<'PYEOF'
import json, multiprocessing as mp, os, sys
sys.path.insert(0, os.environ["T"])
import elaine_client

def call(text):
    assert elaine_client.chat_urllib(text) == "Echo: " + text
    return text, os.getpid()

if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    with ctx.Pool(3) as pool:
        got = pool.map(call, ["spawn pool task %d" % i for i in range(9)], chunksize=1)
        pool.close()
        pool.join()
    print(json.dumps(dict(got)))
PYEOF
timeout 60 "${SHIM_ENV[@]}" "$PY" "$T/mp_client.py" >"$T/mp.out" 2>"$T/mp.err" || fail "multiprocessing client failed ($?): $(cat "$T/mp.err")"
[[ ! -s $T/mp.err ]] || fail "multiprocessing client stderr: $(cat "$T/mp.err")"
wait_records 26 15
MP_PIDS=$(cat "$T/mp.out") check_records_script <<'EOF'
import json
pids = json.loads(env["MP_PIDS"])
ok(len(uniq) == 26, "%d records, want 26" % len(uniq))
for text, pid in pids.items():
    r = find(text)
    chat_ok(r)
    ok(r["pid"] == pid, "record %s (%s): pid %r, want the worker's %r" % (r["id"], text, r["pid"], pid))
EOF

# ---- 4. a prefork server ---------------------------------------------------------
timeout 60 "${SHIM_ENV[@]}" "$PY" - >"$T/prefork.out" 2>"$T/prefork.err" <<'PYEOF' || fail "prefork server failed ($?): $(cat "$T/prefork.err")"
import json, os, socket, sys
from elaine_client import *
assert chat_urllib("prefork master warms up") == "Echo: prefork master warms up"
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(16)
port = ls.getsockname()[1]
workers = []
for w in range(3):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for _ in range(3):  # each worker serves three requests, then leaves
                c, _ = ls.accept()
                text = c.makefile().readline().strip()
                reply = chat_urllib(text)
                c.sendall(("%s|%d\n" % (reply, os.getpid())).encode())
                c.close()
        except BaseException as e:
            print("worker: %r" % e, file=sys.stderr, flush=True)
            code = 1
        sys.exit(code)
    workers.append(pid)
ls.close()
served = {}
for i in range(9):  # the master plays the users (plain TCP to its own workers: not LLM traffic)
    c = socket.create_connection(("127.0.0.1", port))
    text = "prefork request %d" % i
    c.sendall((text + "\n").encode())
    reply, pid = c.makefile().readline().strip().split("|")
    assert reply == "Echo: " + text, reply
    served[text] = int(pid)
    c.close()
for pid in workers:
    _, st = os.waitpid(pid, 0)
    assert st == 0, (pid, st)
assert chat_urllib("prefork master after") == "Echo: prefork master after"
served["prefork master warms up"] = served["prefork master after"] = os.getpid()
print(json.dumps({"served": served, "workers": workers}))
PYEOF
[[ ! -s $T/prefork.err ]] || fail "prefork stderr: $(cat "$T/prefork.err")"
wait_records 37 15
PREFORK=$(cat "$T/prefork.out") check_records_script <<'EOF'
import json
p = json.loads(env["PREFORK"])
ok(len(uniq) == 37, "%d records, want 37" % len(uniq))
for text, pid in p["served"].items():
    r = find(text)
    chat_ok(r)
    ok(r["pid"] == pid, "record %s (%s): pid %r, want %r" % (r["id"], text, r["pid"], pid))
ok(set(p["served"][t] for t in p["served"] if t.startswith("prefork request")) <= set(p["workers"]),
   "requests served by unknown processes")
# nothing but LLM calls was recorded: the master's own TCP to its workers is not
ok(all(g(r, "request.path") == "/v1/chat/completions" for r in uniq), "a non-LLM exchange was recorded")
EOF
kill -0 "$(collector_pid)" || fail "the collector died"
echo "test_fault_fork: ok"
