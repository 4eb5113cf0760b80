#!/usr/bin/env python3
"""Press keys as a phone does over RTP (RFC 4733 telephone-event, payload type 101): for each key
a start packet, two updates and three end packets, all with the key's start timestamp. Run by
the scenarios in tests/sip/ through sipp's <exec command>; argv: HOST PORT KEYS (the answer's
media address, then keys such as 2468 or 1111#)."""
import socket
import struct
import sys
import time

EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}

host, port, keys = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
ssrc, seq = 0x5EED0001, 100
for n, key in enumerate(keys):
    ts = 48000 + 8000 * n
    for first, (end, duration) in enumerate(
        [(False, 160), (False, 320), (False, 480), (True, 640), (True, 640), (True, 640)]
    ):
        marker = 0x80 if first == 0 else 0
        header = struct.pack("!BBHII", 0x80, marker | 101, seq, ts, ssrc)
        payload = struct.pack("!BBH", EVENTS[key], (0x80 if end else 0) | 10, duration)
        s.sendto(header + payload, (host, port))
        seq += 1
        time.sleep(0.02)
    time.sleep(0.1)
