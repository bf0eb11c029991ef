#!/usr/bin/env bash
# Python's urllib, requests (gzip JSON) and httpx: one JSON and one streamed call
# each become exact records; the API key is redacted and reaches no file.
source "$(dirname "$0")/lib.sh"
start_mock
start_collector
export ELAINE_TEST_SECRET=sk-elaine-py-$RANDOM$RANDOM$RANDOM

run_elaine "$PY" - >"$T/client.out" <<'PYEOF' || fail "python client failed: $(cat "$T/client.out")"
from elaine_client import *
for name, fn in (("urllib", chat_urllib), ("requests", chat_requests), ("httpx", chat_httpx)):
    for stream in (False, True):
        text = "%s %s call" % (name, "stream" if stream else "json")
        # urllib streams without include_usage: its record must carry null tokens.
        got = fn(text, stream=stream, usage=stream and name != "urllib")
        assert got == "Echo: " + text, (got, text)
        if name == "requests" and not stream:
            assert last.headers.get("content-encoding") == "gzip", last.headers
        print(name, "stream" if stream else "json", "ok")
PYEOF
[[ $(wc -l <"$T/client.out") == 6 ]] || fail "client output: $(cat "$T/client.out")"

wait_records 6
check_records 'len(recs) == 6'
for name in urllib requests httpx; do
  usage=True
  [[ $name == urllib ]] && usage=False
  check_records "chat_ok(find('$name json call'), auth='[REDACTED]', exe='python3')"
  check_records "chat_ok(find('$name stream call'), usage=$usage, auth='[REDACTED]', exe='python3')"
done
# requests and httpx ask for gzip, the mock compresses: the record holds the decoded JSON.
check_records 'g(find("requests json call"), "response.headers.content-encoding") == "gzip"'
check_records 'g(find("httpx json call"), "response.headers.content-encoding") == "gzip"'
check_records 'g(find("urllib json call"), "response.headers.content-encoding") is None'
check_records 'g(find("requests json call"), "response.body.usage.total_tokens") == g(find("requests json call"), "llm.total_tokens") == 7 + 4'
check_records 'len({r["pid"] for r in recs}) == 1'
if grep -rqF -- "$ELAINE_TEST_SECRET" "$LOGDIR"; then
  fail "the API key reached the log directory"
fi
echo "test_python_clients: ok"
