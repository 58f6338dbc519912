"""How fast this host is at the relay's kind of work, so runs on different hosts compare.

The relay's CPU per forwarded packet moves with the host: the same code
measured 463-510 tracks per core on one day's shared VM and over 1,000 on
the next (docs/relay.md). The gauge times two fixed workloads in the
benchmark's own process, just before the runs:

- ``python_us``: a fixed piece of pure-Python work shaped like the relay's
  per-subscriber bookkeeping (attribute reads, integer masks, a method call);
- ``send_us``: one 1,000-byte RTP packet's header written, SRTP-protected by
  libsrtp and sent over loopback UDP to a socket this process drains.

A host twice as slow on both shows about half the tracks per core.
"""

from __future__ import annotations

import socket
import struct
import time

import pylibsrtp

ROUNDS = 20_000
PAYLOAD = bytes(1_000)
HEADER = struct.Struct("!BBHII")
DRAIN_EVERY = 32


class _Slot:
    def __init__(self) -> None:
        self.offset = 1234
        self.highest = 0
        self.count = 0

    def advance(self, number: int) -> int:
        out = (number + self.offset) & 0xFFFF
        if ((out - self.highest) & 0xFFFF) < 0x8000:
            self.highest = out
        self.count += 1
        return out


def python_us(rounds: int = ROUNDS) -> float:
    """CPU µs per round of relay-like pure-Python bookkeeping (11 slots per round)."""
    slots = [_Slot() for _ in range(11)]
    started = time.process_time()
    for number in range(rounds):
        for slot in slots:
            slot.advance(number)
    return (time.process_time() - started) / rounds * 1e6


def send_us(rounds: int = ROUNDS) -> float:
    """CPU µs to write, protect and send one RTP packet over loopback (drain included)."""
    policy = pylibsrtp.Policy(
        key=bytes(range(30)),
        ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
        srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    )
    session = pylibsrtp.Session(policy)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as source,
    ):
        sink.bind(("127.0.0.1", 0))
        sink.setblocking(False)
        address = sink.getsockname()
        header = bytearray(HEADER.size)
        started = time.process_time()
        for number in range(rounds):
            HEADER.pack_into(header, 0, 0x80, 96, number & 0xFFFF, number * 3000, 0x1234)
            source.sendto(session.protect(bytes(header) + PAYLOAD), address)
            if number % DRAIN_EVERY == DRAIN_EVERY - 1:
                _drain(sink)
        elapsed = time.process_time() - started
        _drain(sink)
    return elapsed / rounds * 1e6


def _drain(sink: socket.socket) -> None:
    for _ in range(DRAIN_EVERY * 2):
        try:
            sink.recv(2048)
        except BlockingIOError:
            return


def measure() -> dict[str, float]:
    return {"python_us": round(python_us(), 2), "send_us": round(send_us(), 2)}


if __name__ == "__main__":
    print(measure())
