#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets from the fixtures in tests/data:
#   tests/fuzz/make_corpus.sh OUTDIR
# makes OUTDIR/<target>/ for every target with inputs in that target's format
# (see the comment at the top of each fuzz_*.c). Needs python3 and zstd.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: make_corpus.sh OUTDIR}
command -v zstd >/dev/null || { echo "make_corpus.sh: zstd is missing" >&2; exit 1; }
mkdir -p "$out"
exec python3 - "$src" "$out" <<'PYEOF'
import glob, gzip, hashlib, os, re, struct, subprocess, sys, tempfile, zlib

src, out = sys.argv[1], sys.argv[2]
data = os.path.join(src, "tests", "data")
count = {}

def seed(target, blob):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(blob).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)
    count[target] = count.get(target, 0) + 1

def read(p):
    with open(p, "rb") as f:
        return f.read()

def split_http(raw):
    """(start line, {lower header: value}, body as it came) of one HTTP/1 message."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        hdrs[k.strip().lower().decode()] = v.strip().decode("latin-1")
    return lines[0].decode("latin-1"), hdrs, body

def dechunk(body):
    out, i = b"", 0
    while True:
        j = body.index(b"\r\n", i)
        n = int(body[i:j].split(b";")[0], 16)
        if n == 0:
            return out
        out += body[j + 2:j + 2 + n]
        i = j + 2 + n + 2

def body_of(raw):
    start, hdrs, body = split_http(raw)
    if "chunked" in hdrs.get("transfer-encoding", ""):
        body = dechunk(body)
    return start, hdrs, body

def sse_events(text):
    """[(event, data)] of an event stream (enough for the fixtures)."""
    evs = []
    for block in re.split(rb"\r?\n\r?\n", text):
        ev, data = b"", []
        for line in block.splitlines():
            if line.startswith(b"event:"):
                ev = line[6:].strip()
            elif line.startswith(b"data:"):
                data.append(line[5:][1:] if line[5:6] == b" " else line[5:])
        if data:
            evs.append((ev, b"\n".join(data)))
    return evs

def zstd_bytes(payload):
    with tempfile.TemporaryDirectory() as t:
        p = os.path.join(t, "p")
        with open(p, "wb") as f:
            f.write(payload)
        subprocess.run(["zstd", "-q", "-f", "-3", p, "-o", p + ".zst"], check=True)
        return read(p + ".zst")

# ---- protobuf (proto/elaine.proto), by hand: varints and length-delimited fields
def varint(v):
    b = b""
    while True:
        c = v & 0x7F
        v >>= 7
        if v:
            b += bytes([c | 0x80])
        else:
            return b + bytes([c])

def f_varint(num, v):
    return varint(num << 3) + varint(v)

def f_bytes(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b

def ev(seq, num, body):
    return f_bytes(2, f_varint(1, seq) + f_bytes(num, body))

def frame(payload, compress):
    if compress:
        payload = zstd_bytes(payload)
    return b"ELN1" + bytes([1, 1 if compress else 0, 0, 0]) + struct.pack("<I", len(payload)) + payload

# ---- the fixtures
cases = []  # (name, request bytes, response bytes)
for d in sorted(glob.glob(os.path.join(data, "*", "*"))):
    rq, rs = os.path.join(d, "request.http"), os.path.join(d, "response.http")
    if os.path.isfile(rq) and os.path.isfile(rs):
        cases.append((os.path.relpath(d, data), read(rq), read(rs)))

jsons = [read(p) for p in sorted(glob.glob(os.path.join(data, "**", "*.json"), recursive=True))]
for name, rq, rs in cases:
    for raw in (rq, rs):
        start, hdrs, body = body_of(raw)
        if "json" in hdrs.get("content-type", "") and not "stream" in name:
            jsons.append(body)

# fuzz_json
for j in jsons:
    seed("fuzz_json", j)
seed("fuzz_json", b'{"a":[1,-2.5e10,true,false,null,"\\u00e9\\ud83d\\ude00\\n"],"b":{}}')

# fuzz_http1: slicing, options (bit 0: request), bytes
for name, rq, rs in cases:
    seed("fuzz_http1", bytes([0, 1]) + rq)
    seed("fuzz_http1", bytes([0, 0]) + rs)
    seed("fuzz_http1", bytes([7, 0]) + rs + rs)  # keep-alive: two responses
seed("fuzz_http1", bytes([1, 0]) + b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
seed("fuzz_http1", bytes([0, 0]) + b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close")
seed("fuzz_http1", bytes([0, 4]) + b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01")
seed("fuzz_http1", bytes([0, 0]) + b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n")

# fuzz_sse: slicing, stream; fuzz_ndjson: slicing, max_line, stream
for name, rq, rs in cases:
    start, hdrs, body = body_of(rs)
    ct = hdrs.get("content-type", "")
    if "event-stream" in ct:
        seed("fuzz_sse", bytes([0]) + body)
        seed("fuzz_sse", bytes([5]) + body.replace(b"\n", b"\r\n"))
    if "ndjson" in ct:
        seed("fuzz_ndjson", bytes([0, 0]) + body)
        seed("fuzz_ndjson", bytes([9, 64]) + body.replace(b"\n", b"\r\n"))
for p in sorted(glob.glob(os.path.join(data, "*", "*.sse"))):
    seed("fuzz_sse", bytes([3]) + read(p))
seed("fuzz_sse", bytes([1]) + b"\xef\xbb\xbf: comment\r\nevent: x\rdata: a\ndata\nid: 1\nretry: 5\n\ndata: [DONE]")
seed("fuzz_ndjson", bytes([1, 8]) + b'{"a":1}\r\n   \n{"b":"0123456789abcdef"}\n{"c":2}')

# fuzz_decode: slicing, coding index (see the table in fuzz_decode.c), max_out index, body
CODING = {"gzip": 0, "deflate": 1, "br": 2, "zstd": 3, "gzip, br": 6, "zstd, gzip": 8, "gzip, gzip": 9}
texts = [body_of(rs)[2] for _, _, rs in cases[:8]] + [b"", b"x", bytes(range(256)) * 8]
for i, t in enumerate(texts):
    mo = i % 8
    seed("fuzz_decode", bytes([0, CODING["gzip"], mo]) + gzip.compress(t))
    seed("fuzz_decode", bytes([6, CODING["gzip"], mo]) + gzip.compress(t) + gzip.compress(t[:50]))  # two members
    seed("fuzz_decode", bytes([0, CODING["deflate"], mo]) + zlib.compress(t))
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    seed("fuzz_decode", bytes([3, CODING["deflate"], mo]) + raw.compress(t) + raw.flush())
    seed("fuzz_decode", bytes([0, CODING["zstd"], mo]) + zstd_bytes(t))
    seed("fuzz_decode", bytes([4, CODING["zstd, gzip"], mo]) + gzip.compress(zstd_bytes(t)))
    seed("fuzz_decode", bytes([0, CODING["gzip, gzip"], mo]) + gzip.compress(gzip.compress(t)))
    seed("fuzz_decode", bytes([0, 0xF0, mo]) + b"gzip , identity\n" + gzip.compress(t))
# bombs: small inputs that claim a lot, under a small max_out (index 2: 7 bytes, 5: 64 KiB)
seed("fuzz_decode", bytes([0, CODING["gzip"], 5]) + gzip.compress(bytes(4 << 20), 9))
seed("fuzz_decode", bytes([0, CODING["zstd"], 2]) + zstd_bytes(bytes(16 << 20)))
seed("fuzz_decode", bytes([0, CODING["zstd, gzip"], 5]) + gzip.compress(zstd_bytes(bytes(16 << 20))))
# brotli has no compressor here: the streams of tests/unit/test_decode.c
tsrc = open(os.path.join(src, "tests", "unit", "test_decode.c")).read()
for m in re.finditer(r"static const unsigned char (br_\w+)\[\] = \{([^}]*)\};", tsrc):
    b = bytes(int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]{2}", m.group(2)))
    coding = CODING["gzip, br"] if "gzip" in m.group(1) else CODING["br"]
    seed("fuzz_decode", bytes([0, coding, 5]) + b)
    seed("fuzz_decode", bytes([2, coding, 3]) + b)

# fuzz_providers: status index, flags (bit 0 stream; bits 1-2 host), "METHOD PATH" FF request FF ...
HOST = {"openai": 0, "anthropic": 1, "gemini": 2, "ollama": 3}
for name, rq, rs in cases:
    prov = name.split("/")[0]
    start, _, rbody = body_of(rq)
    method, path = start.split(" ")[:2]
    rstart, rhdrs, body = body_of(rs)
    status = int(rstart.split(" ")[1])
    st = {200: 0, 400: 4, 401: 5, 404: 6, 429: 7, 500: 8}.get(status, 0)
    host = HOST.get(prov, 0) << 1
    line = (method + " " + path).encode()
    ct = rhdrs.get("content-type", "")
    if "event-stream" in ct:
        evs = b"\xff".join(e + b"\xfe" + d for e, d in sse_events(body))
        seed("fuzz_providers", bytes([st, host | 1]) + line + b"\xff" + rbody + b"\xff" + evs)
    elif "ndjson" in ct:
        evs = b"\xff".join(l for l in body.split(b"\n") if l.strip())
        seed("fuzz_providers", bytes([st, host | 1]) + line + b"\xff" + rbody + b"\xff" + evs)
    else:
        seed("fuzz_providers", bytes([st, host]) + line + b"\xff" + rbody + b"\xff" + body)

# fuzz_exchange: options, then op bytes (see fuzz_exchange.c)
def ex_data(out_dir, b, conn=0):
    ops = b""
    for i in range(0, len(b), 65535):
        part = b[i:i + 65535]
        ops += bytes([(2 if out_dir else 3) | conn << 3 | 1 << 5]) + struct.pack("<H", len(part)) + part
    return ops

for name, rq, rs in cases:
    # ConnOpen (tls, ALPN http/1.1, host api.openai.com, port 443), RequestStart, request, response, Close
    ops = bytes([0, 0b00000101, 1, 0x10]) + ex_data(1, rq) + ex_data(0, rs) + bytes([4])
    seed("fuzz_exchange", bytes([0]) + ops)
    # two exchanges on one connection, the second cut off mid-response; --content redacted, small max_body
    ops = bytes([0, 0b00000101, 1, 0]) + ex_data(1, rq) + ex_data(0, rs)
    ops += bytes([1, 1]) + ex_data(1, rq) + ex_data(0, rs[:len(rs) // 2]) + bytes([4])
    seed("fuzz_exchange", bytes([1 | 1 << 2]) + ops)
# HTTP/2 captures: ConnOpen with ALPN h2 (plain), then the recv()s of both directions
def h2_records(p):
    b, i, recs = read(p), 0, []
    while i + 13 <= len(b):
        d, ns, n = b[i], struct.unpack(">Q", b[i + 1:i + 9])[0], struct.unpack(">I", b[i + 9:i + 13])[0]
        recs.append((d, ns, b[i + 13:i + 13 + n]))
        i += 13 + n
    return recs

for p in sorted(glob.glob(os.path.join(data, "http2", "*.bin"))):
    recs = h2_records(p)
    blob, last = b"", recs[0][1] if recs else 0
    ops = bytes([0, 0b00000010, 1, 0])  # plain, ALPN h2
    for d, ns, chunk in recs:
        adv = min(127, max(0, (ns - last) // 1000000))
        last = ns
        for i in range(0, len(chunk), 65535):
            part = chunk[i:i + 65535]
            blob += bytes([d | adv << 1]) + struct.pack("<H", len(part)) + part
            ops += bytes([(3 if d else 2) | (min(adv, 7) << 5)]) + struct.pack("<H", len(part)) + part
            adv = 0
    seed("fuzz_http2", blob)
    seed("fuzz_exchange", bytes([0]) + ops + bytes([4]))
seed("fuzz_http2", bytes([0, 24, 0]) + b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

# fuzz_frame: slicing, options, frames of Batch {hello, events}
hello = f_varint(1, 4242) + f_varint(4, 777) + f_bytes(5, b"/usr/bin/python3") + f_bytes(7, b"seed")  # Hello
for k, (name, rq, rs) in enumerate(cases[:12]):
    evs = ev(1, 2, f_varint(1, 5) + f_bytes(7, b"api.openai.com") + f_varint(8, 443) + f_varint(6, 1) + f_bytes(5, b"http/1.1"))
    evs += ev(2, 3, f_varint(1, 5) + f_varint(2, 9) + f_varint(3, 1796418191000000000) + f_varint(4, 1000000))
    evs += ev(3, 4, f_varint(1, 5) + f_varint(2, 1) + f_varint(4, 2000000) + f_bytes(5, rq))
    evs += ev(4, 4, f_varint(1, 5) + f_varint(2, 2) + f_varint(4, 3000000) + f_bytes(5, rs))
    evs += ev(5, 5, f_varint(1, 5) + f_varint(2, 4000000))
    evs += ev(6, 6, f_varint(1, 3) + f_varint(2, 100))
    blob = frame(f_bytes(1, hello), k % 2) + frame(evs, k % 2 == 0)
    seed("fuzz_frame", bytes([0, k % 3]) + blob)
    seed("fuzz_frame", bytes([9, 0]) + blob)
    seed("fuzz_frame", bytes([0, 0x80 | (k & 1)]) + evs)  # the pack/unpack round trip
seed("fuzz_frame", bytes([0, 0]) + b"ELN1\x01\x00\x00\x00\xff\xff\xff\xff")  # claims 4 GiB
seed("fuzz_frame", bytes([1, 0]) + b"GET / HTTP/1.1\r\n\r\n")

# dictionaries (libFuzzer -dict): JSON keys of the fixtures, numbers at the
# edges of int64, HTTP/1 and SSE tokens
def dict_entry(b):
    return '"' + "".join(chr(c) if 32 <= c < 127 and c not in (34, 92) else "\\x%02x" % c for c in b) + '"'

import json as _json
keys = set()
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            keys.add(k)
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
for j in jsons:
    try:
        walk(_json.loads(j))
    except ValueError:
        pass
for name, rq, rs in cases:
    start, hdrs, body = body_of(rs)
    for e, d in sse_events(body):
        try:
            walk(_json.loads(d))
        except ValueError:
            pass
        if e:
            keys.add(e.decode())
    for l in body.split(b"\n"):
        try:
            walk(_json.loads(l))
        except ValueError:
            pass
jd = sorted(dict_entry(('"%s":' % k).encode()) for k in keys)
jd += [dict_entry(x) for x in (b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
                               b"18446744073709551615", b"1e400", b"-0", b"0.5", b"\\ud800", b"\\udc00",
                               b"\\u0000", b"[DONE]", b"data: ", b"event: ", b"\n\n", b"null", b"true")]
with open(os.path.join(out, "json.dict"), "w") as f:
    f.write("\n".join(jd) + "\n")
hd = [dict_entry(x) for x in (
    b"HTTP/1.1 ", b"HTTP/1.0 ", b" HTTP/1.1\r\n", b"\r\n", b"\r\n\r\n", b"Content-Length: ",
    b"Transfer-Encoding: chunked\r\n", b"Content-Encoding: gzip\r\n", b"Content-Encoding: br\r\n",
    b"Content-Encoding: zstd\r\n", b"Content-Encoding: deflate\r\n", b"Content-Type: text/event-stream\r\n",
    b"Content-Type: application/x-ndjson\r\n", b"Content-Type: application/json\r\n",
    b"Connection: close\r\n", b"Upgrade: h2c\r\n", b"HTTP/1.1 101 Switching Protocols\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n", b"CONNECT ", b"HEAD ", b"POST ", b"Host: ", b"0\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"\x1f\x8b\x08", b"\x28\xb5\x2f\xfd", b"ELN1\x01")]
with open(os.path.join(out, "http.dict"), "w") as f:
    f.write("\n".join(hd + jd) + "\n")

for t in sorted(count):
    print("%-16s %3d seeds" % (t, count[t]))
PYEOF
