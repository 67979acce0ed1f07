#!/usr/bin/env python3
"""A minimal responder of the net/ protocol (include/hvb/netproto.h) for
tests/qemu/test_net_verify.sh: UDP on ADDR:PORT inside the test's
namespace, run until SIGTERM.

  ECHO   sent back unchanged (header and payload), counted
  RESET  starts the session: counters zeroed, answered with STATS
  STATS  answered with STATS (the session's counters)
  other  counted as bad, no answer

Besides answering, it checks what arrived (the guest -> host direction of
net/verify, whose pattern workloads/net/verify.c describes): every ECHO's
length and payload bytes must be the ones the workload computes for its
seq.  On SIGTERM it writes one line to --report:

  echo=N good=N bad=N first_bad=SEQ:OFFSET|- resets=N stats=N other=N

--corrupt SEQ:OFFSET flips the byte at OFFSET of the UDP payload in the
echo of SEQ (once), so the test can see the guest name them.
--drop SEQ answers nothing to the first ECHO of SEQ (a lost echo).
--no-check answers without checking (the check, in Python, costs about
as much as the rest of a round trip: use it to time the path).
"""
import argparse
import signal
import socket
import struct
import sys

MAGIC = 0x4E48
VERSION = 1
ECHO, SINK, STREAM, STATS, RESET = 1, 2, 3, 4, 5
HDR = struct.Struct("<HBBIIQ")  # struct hvb_net_hdr, 20 bytes
CTL = struct.Struct("<IIIIQQQQQQQ")  # struct hvb_net_ctl, 72 bytes
HDRS = 14 + 20 + 8
FRAME_MIN, FRAME_MAX = 64, 1514
SEED = 0x6876626E76657269  # VERIFY_SEED of workloads/net/verify.c
M64 = (1 << 64) - 1


def mix(x):
    x &= M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    x ^= x >> 31
    return x


def rt_rand(state):
    """xorshift64* of workload.h: (new state, output)."""
    x = state
    x ^= x >> 12
    x ^= (x << 25) & M64
    x ^= x >> 27
    return x, (x * 0x2545F4914F6CDD1D) & M64


def frame_len(seq):
    if seq % 4 == 0:
        return FRAME_MIN
    if seq % 4 == 1:
        return FRAME_MAX
    return FRAME_MIN + mix(SEED + seq) % (FRAME_MAX - FRAME_MIN + 1)


def pattern(seq, length):
    """Bytes HDR.size .. length-1 of seq's payload."""
    state = (SEED + seq) & M64 or 1
    out = bytearray()
    while len(out) < length - HDR.size:
        state, r = rt_rand(state)
        out += r.to_bytes(8, "little")
    return bytes(out[: length - HDR.size])


def first_difference(seq, payload):
    """None if payload is seq's, else the offset of the first wrong byte
    (or of the end, if the length is wrong)."""
    want_len = frame_len(seq) - HDRS
    want = pattern(seq, want_len)
    body = payload[HDR.size :]
    for i, (a, b) in enumerate(zip(body, want)):
        if a != b:
            return HDR.size + i
    if len(payload) != want_len:
        return min(len(payload), want_len)
    return None


class Responder:
    def __init__(self, args):
        self.args = args
        self.session = None
        self.counts = dict(echo=0, good=0, bad=0, resets=0, stats=0, other=0)
        self.first_bad = "-"
        self.rx = self.rx_bytes = self.tx = 0
        self.corrupt = tuple(map(int, args.corrupt.split(":"))) if args.corrupt else None
        self.drop = args.drop

    def stats_reply(self, hdr, addr, sock):
        ctl = CTL.pack(0, 0, 0, 0, self.rx, self.rx_bytes, 0, 0, self.counts["other"], self.tx, 0)
        sock.sendto(HDR.pack(MAGIC, VERSION, STATS, hdr[3], 0, hdr[5]) + ctl, addr)

    def echo(self, data, hdr, addr, sock):
        seq = hdr[4]
        self.counts["echo"] += 1
        self.rx += 1
        self.rx_bytes += len(data)
        bad = None if self.args.no_check else first_difference(seq, data)
        if bad is None:
            self.counts["good"] += 1
        else:
            self.counts["bad"] += 1
            if self.first_bad == "-":
                self.first_bad = "%d:%d" % (seq, bad)
        if self.drop is not None and seq == self.drop:
            self.drop = None
            return
        if self.corrupt and self.corrupt[0] == seq:
            off = self.corrupt[1]
            data = data[:off] + bytes([data[off] ^ 0x5A]) + data[off + 1 :]
            self.corrupt = None
        sock.sendto(data, addr)
        self.tx += 1

    def handle(self, data, addr, sock):
        if len(data) < HDR.size:
            self.counts["other"] += 1
            return
        hdr = HDR.unpack_from(data)
        if hdr[0] != MAGIC or hdr[1] != VERSION:
            self.counts["other"] += 1
        elif hdr[2] == RESET:
            self.counts["resets"] += 1
            self.session, self.rx, self.rx_bytes, self.tx = hdr[3], 0, 0, 0
            self.stats_reply(hdr, addr, sock)
        elif hdr[2] == STATS:
            self.counts["stats"] += 1
            self.stats_reply(hdr, addr, sock)
        elif hdr[2] == ECHO:
            self.echo(data, hdr, addr, sock)
        else:
            self.counts["other"] += 1

    def report(self):
        c = self.counts
        line = "echo=%d good=%d bad=%d first_bad=%s resets=%d stats=%d other=%d\n" % (
            c["echo"], c["good"], c["bad"], self.first_bad, c["resets"], c["stats"], c["other"])
        with open(self.args.report, "w") as f:
            f.write(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--addr", default="10.78.0.1")
    ap.add_argument("--port", type=int, default=47101)
    ap.add_argument("--report", required=True)
    ap.add_argument("--ready", help="file created once the socket is bound")
    ap.add_argument("--corrupt", help="SEQ:OFFSET: flip that payload byte of SEQ's echo")
    ap.add_argument("--drop", type=int, help="SEQ: do not answer its first ECHO")
    ap.add_argument("--no-check", action="store_true", help="echo without checking the pattern")
    args = ap.parse_args()
    r = Responder(args)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.addr, args.port))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sock.settimeout(0.2)
    if args.ready:
        open(args.ready, "w").close()
    while not stop:
        try:
            data, addr = sock.recvfrom(2048)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        r.handle(data, addr, sock)
    r.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
