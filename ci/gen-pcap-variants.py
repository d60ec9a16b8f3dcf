#!/usr/bin/env python3
"""gen-pcap-variants.py - derives capture variants that tcpdump/libpcap cannot write from an Ethernet
(EN10MB) pcap recorded by tcpdump, for ci/record-pcaps.sh and the replay tests.

usage: gen-pcap-variants.py KIND IN.pcap OUT
  KIND  pcapng      the same packets as a pcapng file (SHB, one IDB with if_tsresol, EPBs)
        big-endian  the same pcap written in big-endian byte order (magic a1b2c3d4 / a1b23c4d as stored)
        null        link type NULL (0): Ethernet header replaced by a 4-byte little-endian AF value
        loop        link type LOOP (108): 4-byte big-endian AF value
        raw         link type RAW (101): bare IP packets
        vlan        EN10MB with an 802.1Q tag (VLAN 42) inserted in every frame

libpcap writes only classic pcap in host byte order (pcap_dump), and tcpdump cannot write pcapng, so
these files are derived here, following the formats as documented in the pcap and pcapng specifications
(https://www.tcpdump.org/manpages/pcap-savefile.5.html, https://ietf-opsawg-wg.github.io/draft-ietf-opsawg-pcap/
and draft-ietf-opsawg-pcapng). bin/replay reads every result through libpcap, which is the check.
"""
import struct
import sys

AF_INET, AF_INET6_BSD = 2, 24


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        sys.exit("%s: too short for a pcap header" % path)
    magic = data[:4]
    table = {b"\xd4\xc3\xb2\xa1": ("<", 6), b"\xa1\xb2\xc3\xd4": (">", 6),
             b"\x4d\x3c\xb2\xa1": ("<", 9), b"\xa1\xb2\x3c\x4d": (">", 9)}
    if magic not in table:
        sys.exit("%s: not a classic pcap file" % path)
    e, res = table[magic]
    _, _, _, _, snap, link = struct.unpack(e + "HHiIII", data[4:24])
    off, pkts = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            sys.exit("%s: truncated packet" % path)
        pkts.append((sec, frac, orig, data[off:off + incl]))
        off += incl
    return res, snap, link, pkts


def write_pcap(path, e, res, snap, link, pkts):
    magic = 0xa1b2c3d4 if res == 6 else 0xa1b23c4d
    with open(path, "wb") as f:
        f.write(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snap, link))
        for sec, frac, orig, frame in pkts:
            f.write(struct.pack(e + "IIII", sec, frac, len(frame), orig) + frame)


def block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def write_pcapng(path, res, snap, link, pkts):
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = struct.pack("<HHB", 9, 1, res) + b"\0\0\0" + struct.pack("<HH", 0, 0)
    idb = block(1, struct.pack("<HHI", link, 0, snap) + opts)
    with open(path, "wb") as f:
        f.write(shb + idb)
        for sec, frac, orig, frame in pkts:
            ts = sec * 10 ** res + frac
            f.write(block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff, len(frame), orig) + frame))


def convert(kind, pkts):
    out = []
    for sec, frac, orig, frame in pkts:
        if len(frame) < 14:
            continue
        et = struct.unpack(">H", frame[12:14])[0]
        if et not in (0x0800, 0x86DD):
            continue
        ip = frame[14:]
        af = AF_INET if et == 0x0800 else AF_INET6_BSD
        if kind == "null":
            new = struct.pack("<I", af) + ip
        elif kind == "loop":
            new = struct.pack(">I", af) + ip
        elif kind == "raw":
            new = ip
        else:  # vlan
            new = frame[:12] + struct.pack(">HH", 0x8100, 42) + frame[12:]
        out.append((sec, frac, orig - len(frame) + len(new), new))
    return out


def main():
    if len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    kind, src, dst = sys.argv[1:]
    res, snap, link, pkts = read_pcap(src)
    if kind == "pcapng":
        write_pcapng(dst, res, snap, link, pkts)
    elif kind == "big-endian":
        write_pcap(dst, ">", res, snap, link, pkts)
    elif kind in ("null", "loop", "raw", "vlan"):
        if link != 1:
            sys.exit("%s: link type %d, expected EN10MB (1)" % (src, link))
        newlink = {"null": 0, "loop": 108, "raw": 101, "vlan": 1}[kind]
        write_pcap(dst, "<", res, snap + 4, newlink, convert(kind, pkts))
    else:
        sys.exit("unknown kind %s\n%s" % (kind, __doc__))


if __name__ == "__main__":
    main()
