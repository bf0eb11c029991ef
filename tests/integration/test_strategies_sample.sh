#!/usr/bin/env bash
# --sample RATE --sample-seed N, end to end: 1,000 chat calls from one kept-alive
# requests.Session (20 of them to model "error-model", which the mock answers
# with 400). Every error is written; the successes kept stay within 5 sigma of
# the binomial mean; exactly the ids that the documented hash of (id, seed)
# keeps are written (reproducible); the collector's shutdown line counts the
# rest as sampled_out, and elaine stats reports them.
source "$(dirname "$0")/lib.sh"
start_mock
export RATE=0.25 SEED=7 CALLS=1000
start_collector --sample "$RATE" --sample-seed "$SEED"

run_elaine "$PY" - >"$T/client.out" 2>&1 <<'PYEOF' || fail "python client failed: $(tail -n 5 "$T/client.out")"
import os, requests
from elaine_client import *
s = requests.Session()
errors = 0
for i in range(int(os.environ["CALLS"])):
    if i % 50 == 0:
        r = s.post(URL, json=payload("error call %d" % i, model="error-model"), headers=HEADERS, verify=CA, timeout=30)
        assert r.status_code == 400, r.status_code
        errors += 1
    else:
        got = chat_requests("sampled call %d" % i, session=s)
        assert got == "Echo: sampled call %d" % i, got
print(errors)
PYEOF
stop_collector # writes the shutdown counters line

check_records_script <<'EOF'
import math
M = (1 << 64) - 1
def mix64(z):
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return z ^ (z >> 31)
def keep(rid, rate, seed):  # elaine_record_sample_keep
    h = 0xcbf29ce484222325
    for b in rid.encode():
        h = ((h ^ b) * 0x100000001b3) & M
    h = mix64(h ^ mix64((seed + 0x9e3779b97f4a7c15) & M))
    return (h >> 11) * (1.0 / 9007199254740992.0) < rate

rate, seed, calls = float(env["RATE"]), int(env["SEED"]), int(env["CALLS"])
n_err = len(range(0, calls, 50))
ok(len(recs) == len(uniq), "duplicate records")
errs = [r for r in uniq if g(r, "response.status") == 400]
good = [r for r in uniq if g(r, "response.status") == 200]
ok(len(errs) + len(good) == len(uniq), "unexpected statuses")
# every failed exchange is kept
ok(len(errs) == n_err, "%d error records, want all %d" % (len(errs), n_err))
ok(all(g(r, "llm.model") == "error-model" and last_user(r).startswith("error call") for r in errs), "error records")
# the successes kept: Binomial(n, rate) within 5 sigma
n = calls - n_err
mean, sd = n * rate, math.sqrt(n * rate * (1 - rate))
ok(abs(len(good) - mean) <= 5 * sd, "%d of %d successes kept, want %.0f +- %.0f" % (len(good), n, mean, 5 * sd))
ok(all(chat_ok(r) for r in good), "kept records are whole")
# reproducible: exactly the ids the hash of (id, seed) keeps; one connection, request numbers in a row
parts = [r["id"].rsplit("-", 1) for r in uniq]
ok(len({p[0] for p in parts}) == 1, "more than one connection: %s" % sorted({p[0] for p in parts}))
prefix = parts[0][0]
by_no = {int(p[1]): r for p, r in zip(parts, uniq)}
first = min(int(p[1]) for p, r in zip(parts, uniq) if r in errs)  # call 0 is an error: always kept
want = {no for no in range(first, first + calls)
        if (no - first) % 50 == 0 or keep("%s-%d" % (prefix, no), rate, seed)}
ok(set(by_no) == want, "kept ids differ from the hash: %d unexpected, %d missing"
   % (len(set(by_no) - want), len(want - set(by_no))))
# the collector's counters: written + sampled_out account for every call
shut = [r for r in allrecs if r.get("type") == "collector" and r.get("event") == "shutdown"]
ok(len(shut) == 1, "%d shutdown lines" % len(shut))
ok(shut[0]["sampled_out"] == n - len(good), "sampled_out %d, want %d" % (shut[0]["sampled_out"], n - len(good)))
ok(shut[0]["exchanges_written"] == len(uniq), "exchanges_written %d, want %d" % (shut[0]["exchanges_written"], len(uniq)))
ok(not any(r.get("type") == "drop" for r in allrecs), "drop lines")
open(env["T"] + "/sampled_out", "w").write(str(shut[0]["sampled_out"]))
EOF
"$READER" stats --json --dir "$LOGDIR" >"$T/stats.json" || fail "elaine stats failed"
"$PY" - "$T/stats.json" "$(cat "$T/sampled_out")" <<'PYEOF' || fail "elaine stats: $(cat "$T/stats.json")"
import json, sys
s = json.load(open(sys.argv[1]))
flat = json.dumps(s)
assert '"sampled_out": %s' % sys.argv[2] in flat, "sampled_out %s not in %s" % (sys.argv[2], flat[-400:])
PYEOF
echo "test_strategies_sample: ok"
