#!/usr/bin/env python3
"""Relays one TCP connection between a client and a server on loopback and
logs both directions, as the shim would see them, for test_http2.

Usage: capture.py LISTEN_PORT SERVER_PORT OUT.bin

OUT.bin holds one record per recv(): 1 byte direction (0 client -> server,
1 server -> client), 8 bytes CLOCK_MONOTONIC ns and 4 bytes length (big
endian), then the bytes. The relay serves one connection and exits.
"""
import select
import socket
import struct
import sys
import time


def main():
    lport, sport, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", lport))
    ls.listen(1)
    ls.settimeout(30)
    cs, _ = ls.accept()
    ss = socket.create_connection(("127.0.0.1", sport), timeout=30)
    peer = {cs: ss, ss: cs}
    direction = {cs: 0, ss: 1}
    open_ = {cs, ss}
    records = []
    deadline = time.monotonic() + 30
    while open_ and time.monotonic() < deadline:
        r, _, _ = select.select(list(open_), [], [], 1)
        for s in r:
            data = s.recv(65536)
            if not data:
                open_.discard(s)
                try:
                    peer[s].shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            records.append((direction[s], time.monotonic_ns(), data))
            peer[s].sendall(data)
    with open(out, "wb") as f:
        for d, t, data in records:
            f.write(struct.pack(">BQI", d, t, len(data)))
            f.write(data)


if __name__ == "__main__":
    main()
