"""mitmdump addon of tests/bench: the proxy way of logging LLM calls. One JSON
line per completed flow (request and response with headers and bodies) into
$BENCH_MITM_LOG, the same information a MemoryElaine record carries."""
import json
import os


class LogFlows:
    def __init__(self):
        self.f = open(os.environ["BENCH_MITM_LOG"], "a", buffering=1 << 16)

    def response(self, flow):
        req, resp = flow.request, flow.response
        rec = {
            "type": "exchange",
            "ts": req.timestamp_start,
            "host": req.pretty_host,
            "port": req.port,
            "request": {"method": req.method, "path": req.path, "headers": dict(req.headers),
                        "body": req.get_text(strict=False)},
            "response": {"status": resp.status_code, "headers": dict(resp.headers),
                         "body": resp.get_text(strict=False)},
            "duration_ms": ((resp.timestamp_end or 0) - (req.timestamp_start or 0)) * 1000.0,
        }
        self.f.write(json.dumps(rec) + "\n")

    def done(self):
        self.f.close()


addons = [LogFlows()]
