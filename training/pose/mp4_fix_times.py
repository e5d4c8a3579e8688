#!/usr/bin/env python3
"""Zero the creation/modification times in an MP4's mvhd, tkhd and mdhd boxes, in place.

GStreamer's mp4mux stamps the wall-clock time into these boxes, so two encodes of the same
input differ by a few bytes. With the times zeroed (= 1904-01-01, "unknown") the output of
training/pose/fetch_fixtures.sh is byte-for-byte reproducible. Standard library only.
"""
import struct
import sys

CONTAINERS = {b"moov", b"trak", b"mdia"}
TIMED = {b"mvhd", b"tkhd", b"mdhd"}


def walk(buf: bytearray, start: int, end: int, patched: list) -> None:
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", buf[pos:pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", buf[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"bad box {kind!r} at {pos}")
        body = pos + header
        if kind in CONTAINERS:
            walk(buf, body, pos + size, patched)
        elif kind in TIMED:
            version = buf[body]
            width = 8 if version == 1 else 4
            # version/flags (4 bytes), then creation_time, modification_time
            buf[body + 4:body + 4 + 2 * width] = bytes(2 * width)
            patched.append(kind.decode())
        pos += size


def main() -> None:
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            buf = bytearray(f.read())
        patched: list = []
        walk(buf, 0, len(buf), patched)
        if "mvhd" not in patched:
            sys.exit(f"{path}: no mvhd box found")
        with open(path, "wb") as f:
            f.write(buf)
        print(f"{path}: zeroed times in {', '.join(patched)}", file=sys.stderr)


if __name__ == "__main__":
    main()
