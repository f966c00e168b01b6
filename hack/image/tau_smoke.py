#!/usr/bin/env python3
"""Minimal TAU v1 client for the container-image test (hack/image/test-image.sh).

Speaks the wire format of pkg/protocol over a raw socket, with no dependency on the Go code,
so the published protocol port is checked from outside the container independently of the
`tau` CLI inside it.

  tau_smoke.py HOST:PORT CERT_FILE write LABEL TS VALUE   # CONNECT, PING, CREATE_SERIES, APPEND, QUERY_POINT
  tau_smoke.py HOST:PORT CERT_FILE read  LABEL TS VALUE   # CONNECT, QUERY_POINT must find VALUE
  tau_smoke.py HOST:PORT CERT_FILE badcert                # a wrong certificate is refused

Exit status 0 when every step answered as expected; otherwise a one-line reason on stderr.
"""

import socket
import struct
import sys

MAGIC = b"TAU"
VERSION = 0x01
OP_CONNECT, OP_DISCONNECT, OP_PING, OP_PONG = 0x01, 0x02, 0x03, 0x04
OP_CREATE_SERIES, OP_APPEND, OP_QUERY_POINT = 0x10, 0x20, 0x30
OP_OK, OP_ERR = 0xF0, 0xFF
STATUS_AUTH_FAILED = 0x06


class Fail(Exception):
    pass


def frame(op, payload=b""):
    return MAGIC + bytes([VERSION, op, 0]) + struct.pack(">I", len(payload)) + payload


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise Fail("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def roundtrip(sock, op, payload=b""):
    sock.sendall(frame(op, payload))
    hdr = recv_exact(sock, 10)
    if hdr[:3] != MAGIC or hdr[3] != VERSION:
        raise Fail("bad answer header %r" % hdr)
    (length,) = struct.unpack(">I", hdr[6:10])
    return hdr[4], recv_exact(sock, length)


def expect(sock, what, op, payload, want_op):
    got_op, body = roundtrip(sock, op, payload)
    if got_op != want_op:
        detail = " status 0x%02x" % body[0] if got_op == OP_ERR and body else ""
        raise Fail("%s: answered opcode 0x%02x%s, want 0x%02x" % (what, got_op, detail, want_op))
    return body


def label(name):
    raw = name.encode()
    if len(raw) > 32:
        raise Fail("label longer than 32 bytes")
    return raw.ljust(32, b"\0")


def read_cert(path):
    data = open(path, "rb").read().strip()
    if len(data) == 64:
        return bytes.fromhex(data.decode())
    if len(data) == 32:
        return data
    raise Fail("certificate file holds %d bytes, want 64 hex digits" % len(data))


def connect(addr, cert):
    host, port = addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    expect(sock, "CONNECT", OP_CONNECT, cert, OP_OK)
    return sock


def main(argv):
    if len(argv) < 4:
        raise Fail(__doc__)
    addr, cert, mode = argv[1], read_cert(argv[2]), argv[3]
    if mode == "badcert":
        host, port = addr.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=10)
        wrong = bytes(b ^ 0xFF for b in cert)
        op, body = roundtrip(sock, OP_CONNECT, wrong)
        if op != OP_ERR or body != bytes([STATUS_AUTH_FAILED]):
            raise Fail("wrong certificate answered opcode 0x%02x %r, want ERR auth_failed" % (op, body))
        print("badcert: refused with auth_failed")
        return
    name, ts, value = argv[4], int(argv[5]), float(argv[6])
    lab = label(name)
    sock = connect(addr, cert)
    if mode == "write":
        expect(sock, "PING", OP_PING, b"", OP_PONG)
        expect(sock, "CREATE_SERIES", OP_CREATE_SERIES, lab, OP_OK)
        expect(sock, "APPEND", OP_APPEND, lab + struct.pack(">qd", ts, value), OP_OK)
    elif mode != "read":
        raise Fail("unknown mode %r" % mode)
    body = expect(sock, "QUERY_POINT", OP_QUERY_POINT, lab + struct.pack(">q", ts), OP_OK)
    if len(body) != 9 or body[0] != 1:
        raise Fail("QUERY_POINT %s@%d: not found (%r)" % (name, ts, body))
    (got,) = struct.unpack(">d", body[1:])
    if got != value:
        raise Fail("QUERY_POINT %s@%d = %r, want %r" % (name, ts, got, value))
    sock.sendall(frame(OP_DISCONNECT))
    sock.close()
    print("%s: %s@%d = %r" % (mode, name, ts, got))


if __name__ == "__main__":
    try:
        main(sys.argv)
    except (Fail, OSError, ValueError) as e:
        print("tau_smoke: %s" % e, file=sys.stderr)
        sys.exit(1)
