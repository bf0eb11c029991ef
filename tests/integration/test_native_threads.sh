#!/usr/bin/env bash
# Threads and fork in a client of our own (B/tests/tls_threads_client, C and
# OpenSSL): 4 threads, each on its own keep-alive connection, make 4 calls at
# once (JSON and SSE alternating) while the main thread forks a child that
# makes 4 calls of its own. Every call gives one right record with its
# process's pid, one tid per connection. Then 4 threads x 6 calls while the
# collector is killed and started again. The test that build-tsan runs to
# check the shim's hooks, queue and sender thread under ThreadSanitizer (with
# its client built with -fsanitize=thread too; see tests/CMakeLists.txt).
source "$(dirname "$0")/lib.sh"
CLIENT=$ELAINE_BUILD_DIR/tests/tls_threads_client
[[ -x $CLIENT ]] || fail "$CLIENT is missing: build first (cmake --build build)"
# Under TSan: a child that starts threads after a multi-threaded fork (the
# shim's sender thread) is fine, but TSan stops it by default (die_after_fork).
# No stacks: libunwind (loaded by the shim at run time, not built
# with TSan) has a thread-exit destructor that locks a mutex after TSan has
# let go of the exiting thread, and TSan's mutex hook then crashes
# (__nptl_deallocate_tsd -> libunwind -> __tsan::MutexPreLock, SIGSEGV).
# And the child execs a new client rather than calling on from the fork: GCC
# 12's TSan may deadlock in a child that allocates after a multi-threaded
# fork (its allocator lock held by a thread that is not in the child), and so
# may GCC 12's ASan (test_fault_fork.sh): under ASan the child execs too.
fork=--fork
if [[ $ELAINE_SAN == tsan ]]; then
  export TSAN_OPTIONS="$TSAN_OPTIONS:die_after_fork=0" ELAINE_STACK=0
  fork=--fork-exec
elif [[ $ELAINE_SAN == asan ]]; then
  fork=--fork-exec
fi
start_mock --delay-ms 5
start_collector

timeout 120 "$ELAINE_RUN" --socket "$SOCK" --dir "$LOGDIR" --pidfile "$PIDFILE" -- \
  "$CLIENT" "$MOCK_PORT" 4 4 "$fork" >"$T/client.out" 2>"$T/client.err" ||
  fail "tls_threads_client failed ($?): $(tail -n 20 "$T/client.err")"
(($(wc -l <"$T/client.out") == 20)) || fail "$(wc -l <"$T/client.out") calls answered, want 20: $(cat "$T/client.err")"
wait_records 20 60
check_records_script <<'PYEOF'
lines = open(env["T"] + "/client.out").read().split("\n")[:-1]
ok(len(uniq) == 20, "%d records, want 20" % len(uniq))
pids, tids = {}, {}
for line in lines:
    text, kind = line.rsplit(" ", 1)
    r = find(text)
    chat_ok(r, exe="tls_threads_client", auth="[REDACTED]")
    ok(r["llm"]["stream"] == (kind == "sse"), "record %s: stream %r for a %s call" % (r["id"], g(r, "llm.stream"), kind))
    _, pid, t, _ = text.split(" ")
    ok(r["pid"] == int(pid), "record %s: pid %r, want %s" % (r["id"], r["pid"], pid))
    pids.setdefault(r["pid"], set()).add(t)
    tids.setdefault((r["pid"], t), set()).add(r["tid"])
ok(len(pids) == 2, "records of %d processes, want 2 (parent and child)" % len(pids))
ok(sorted(len(v) for v in pids.values()) == [1, 4], "threads per process: %r" % pids)
ok(all(len(v) == 1 for v in tids.values()), "a connection's calls with several tids: %r" % tids)
ok(len({tuple(v)[0] for v in tids.values()}) == 5, "tids not distinct: %r" % tids)
PYEOF

# Again while the collector is killed and started again: the sender thread
# reconnects and resends while the threads keep queueing. Every call has its
# record after dedupe by id. The client stays (--linger, until its stdin
# closes) until they are written: at exit the shim waits for what it has not
# sent, not for what a killed collector had taken without acknowledging it.
mkfifo "$T/hold"
"${SHIM_ENV[@]}" timeout 120 "$CLIENT" "$MOCK_PORT" 4 6 --linger <"$T/hold" >"$T/client2.out" 2>"$T/client2.err" &
client=$!
exec 3>"$T/hold"
for ((i = 0; i < 200; i++)); do (($(wc -l <"$T/client2.out") >= 4)) && break; sleep 0.05; done
stop_collector KILL
start_collector 3>&- # the daemon must not hold the fifo open
for ((i = 0; i < 1200; i++)); do (($(wc -l <"$T/client2.out") >= 24)) && break; sleep 0.05; done
(($(wc -l <"$T/client2.out") == 24)) || fail "$(wc -l <"$T/client2.out") calls answered, want 24: $(tail -n 5 "$T/client2.err")"
wait_records 44 60
exec 3>&-
rc=0
wait "$client" || rc=$?
((rc == 0)) || fail "tls_threads_client (collector restart) failed ($rc): $(tail -n 20 "$T/client2.err")"
check_records_script <<'PYEOF'
for line in open(env["T"] + "/client2.out").read().split("\n")[:-1]:
    text, kind = line.rsplit(" ", 1)
    chat_ok(find(text), exe="tls_threads_client", auth="[REDACTED]")
ok(len(uniq) == 44, "%d records, want 44" % len(uniq))
PYEOF
echo "test_native_threads: ok"
