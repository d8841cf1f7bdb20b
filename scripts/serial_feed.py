#!/usr/bin/env python3
"""The host end of the image's serial conversation (in-image UART tests and
benchmarks). QEMU's console is its stdio; the image asks for input in a line
of its own output and the host answers on QEMU's stdin:

    SR: uart rx ready N SEED
        the host writes N bytes, byte i = feed_byte(SEED, i) (printable, so
        QEMU's stdio mux never sees its escape character)
    SR: uart tx check
        the host counts the lines containing "uart-tx" since the previous
        check: V whole ones ("uart-tx T S PAYLOAD SUM", SUM the 16-bit sum of
        the bytes of "T S PAYLOAD" in 4 hex digits) and I others (torn,
        interleaved or corrupted), and writes "V I\\n"

pump() copies QEMU's output to the log while answering; run_tests.py and
run_bench.py both use it. tests/image/test_uart.c is the other end.
"""
import re
import threading

RX_READY = re.compile(rb"^SR: uart rx ready (\d+) (\d+)$")
TX_CHECK = b"SR: uart tx check"
TX_LINE = re.compile(rb"^uart-tx (\d+ \d+ [a-z]+) ([0-9a-f]{4})$")


def feed_byte(seed, i):
    """Byte i of the feed with this seed (33..126; the image computes the same)."""
    return 33 + (seed * 31 + i * 7 + i // 94) % 94


def feed(n, seed):
    return bytes(feed_byte(seed, i) for i in range(n))


class Conversation:
    """Answers the image's requests, one output line at a time."""

    def __init__(self, stdin):
        self.stdin = stdin
        self.whole = self.torn = 0

    def send(self, data):
        try:
            self.stdin.write(data)
            self.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # QEMU has gone: its exit status tells the rest

    def line(self, raw):
        raw = raw.rstrip(b"\r")
        m = RX_READY.match(raw)
        if m:
            self.send(feed(int(m[1]), int(m[2])))
        elif raw == TX_CHECK:
            self.send(f"{self.whole} {self.torn}\n".encode())
            self.whole = self.torn = 0
        elif b"uart-tx" in raw:
            m = TX_LINE.match(raw)
            if m and f"{sum(m[1]) & 0xffff:04x}".encode() == m[2]:
                self.whole += 1
            else:
                self.torn += 1


def pump(proc, log):
    """Copies proc's stdout to the binary file log until EOF, answering the
    image's requests on proc's stdin. Returns the thread doing it."""
    def run():
        talk, pending = Conversation(proc.stdin), b""
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):
            log.write(chunk)
            log.flush()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                talk.line(line)
        if pending:
            talk.line(pending)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t
