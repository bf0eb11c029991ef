-- wrk script of tests/bench: BENCH_POST=1 sends a chat-completion POST
-- (the captured path); otherwise plain GETs. At the end one line
-- "WRKJSON {...}" carries wrk's own counts for bench.py.
if os.getenv("BENCH_POST") == "1" then
  wrk.method = "POST"
  wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},' ..
             '{"role":"user","content":"What is the weather like in Paris today?"}]}'
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer sk-bench-not-a-key"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
