#!/usr/bin/python3
"""Writes a log of chat-completion exchange records whose texts vary (words
drawn from this repository's sources and docs, seeded), for zstd_shadow:
records alike except for their id, time and message texts compress far
better than real traffic does.

Usage: varied_log.py OUT [MB]   (default 16 MB)
"""
import glob
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def main():
    out, mb = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 16
    rng = random.Random(1)
    words = []
    for f in sorted(glob.glob(os.path.join(TOP, "collector", "*.c")) + glob.glob(os.path.join(TOP, "*.md"))):
        words += open(f, errors="ignore").read().split()
    rec = {"type": "exchange", "id": "", "ts": "", "pid": 22647, "tid": 22650, "exe": "/usr/bin/python3",
           "host": "api.openai.com", "port": 443, "tls": True, "http": {"version": "1.1"},
           "request": {"method": "POST", "path": "/v1/chat/completions",
                       "headers": {"authorization": "[REDACTED]", "content-type": "application/json"},
                       "body": {"model": "gpt-4o-mini", "messages": [
                           {"role": "system", "content": "You are a helpful assistant."},
                           {"role": "user", "content": ""}]}},
           "response": {"status": 200, "headers": {"content-type": "application/json"},
                        "body": {"id": "", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": ""},
                                              "finish_reason": "stop"}],
                                 "usage": {"prompt_tokens": 0, "completion_tokens": 0}}},
           "llm": {"provider": "openai", "model": "gpt-4o-mini", "output_text": ""}}

    def text(k):
        i = rng.randrange(len(words) - k)
        return " ".join(words[i:i + k])

    n = k = 0
    with open(out, "w") as f:
        while n < mb * 1e6:
            k += 1
            rec["id"] = "%d-%d-1-%d" % (rng.randint(1000, 99999), rng.randint(1, 1 << 30), k)
            rec["ts"] = "2026-12-05T08:%02d:%02d.%06dZ" % (k // 60000 % 60, k // 1000 % 60, k % 1000 * 1000)
            q, a = text(rng.randint(20, 200)), text(rng.randint(20, 300))
            rec["request"]["body"]["messages"][1]["content"] = q
            rec["response"]["body"]["id"] = "chatcmpl-%x" % rng.getrandbits(64)
            rec["response"]["body"]["choices"][0]["message"]["content"] = a
            rec["response"]["body"]["usage"] = {"prompt_tokens": len(q.split()), "completion_tokens": len(a.split())}
            rec["llm"]["output_text"] = a
            s = json.dumps(rec, separators=(",", ":")) + "\n"
            f.write(s)
            n += len(s)


if __name__ == "__main__":
    main()
