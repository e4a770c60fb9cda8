#!/usr/bin/env python3
"""Writes a pcap with N concurrent TCP connections (handshake and one data segment
each, within one minute, none closed): the sensor then holds N live flows at the end.
Usage: gen_flows.py N OUT.pcap"""
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = b"\x00\x50\x56\x00\x00\x01" + b"\x00\x12\x21\x00\x00\x02" + b"\x08\x00"
    return eth + ip + tcp


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    server = bytes([10, 30, 0, 10])
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1_700_000_000 * 1_000_000
        for i in range(n):
            client = bytes([10, 20, (i >> 8) & 0xFF, i & 0xFF])
            sport = 10_000 + (i >> 16)
            packets = [
                frame(client, server, sport, 4001, 1000, 0, 0x02),
                frame(server, client, 4001, sport, 5000, 1001, 0x12),
                frame(client, server, sport, 4001, 1001, 5001, 0x10),
                frame(client, server, sport, 4001, 1001, 5001, 0x18, b"HELLO\r\n"),
            ]
            for p in packets:
                t += 100  # 100 us apart: 4 * N packets within a minute for N <= 150,000
                f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(p), len(p)))
                f.write(p)


main()
