#!/usr/bin/env python3
"""Press '#' as a phone does over RTP (RFC 4733 telephone-event, payload type 101): a start
packet, two updates and three end packets, all with the key's start timestamp. Run by
uac_record_pound.xml through sipp's <exec command>; argv: HOST PORT (the answer's media)."""
import socket
import struct
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
ssrc, ts = 0x5EED0001, 48000
for seq, (end, duration) in enumerate(
    [(False, 160), (False, 320), (False, 480), (True, 640), (True, 640), (True, 640)]
):
    header = struct.pack("!BBHII", 0x80, (0x80 if seq == 0 else 0) | 101, 100 + seq, ts, ssrc)
    payload = struct.pack("!BBH", 11, (0x80 if end else 0) | 10, duration)
    s.sendto(header + payload, (host, port))
    time.sleep(0.02)
