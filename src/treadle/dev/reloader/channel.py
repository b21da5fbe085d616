"""The watcher⇄child channel: a Unix socketpair, one per child.

Watcher → child: the stamps the watcher took just before starting the child,
ended by an empty record, so the child notices an edit made while it was still
importing. Child → watcher: each path the child starts watching, so the
watcher knows what to watch after a crash. Records end with NUL; paths travel
as ``os.fsencode`` bytes. EOF on the child's end means the watcher is gone.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping

from treadle.dev.reloader.files import Stamp

__all__ = ["RecordReader", "encode_paths", "encode_stamps", "parse_stamp", "read_stamps"]

_END = b"\0"
_MISSING = b"-"


def encode_stamps(stamps: Mapping[str, Stamp | None]) -> bytes:
    """Records ``mtime_ns:size:path`` (``-:path`` when missing), then the end record."""
    parts = []
    for path, value in stamps.items():
        head = _MISSING if value is None else b"%d:%d" % value
        parts.append(head + b":" + os.fsencode(path) + _END)
    parts.append(_END)
    return b"".join(parts)


def parse_stamp(record: bytes) -> tuple[str, Stamp | None]:
    """Inverse of one record of :func:`encode_stamps`; ValueError if malformed."""
    if record.startswith(_MISSING + b":"):
        return os.fsdecode(record[2:]), None
    mtime, size, path = record.split(b":", 2)
    return os.fsdecode(path), (int(mtime), int(size))


def encode_paths(paths: Iterable[str]) -> bytes:
    return b"".join(os.fsencode(path) + _END for path in paths)


class RecordReader:
    """Splits a byte stream into NUL-terminated records, keeping partial tails."""

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, data: bytes) -> list[bytes]:
        *records, self._tail = (self._tail + data).split(_END)
        return records


def read_stamps(channel: socket.socket, timeout: float) -> dict[str, Stamp | None]:
    """Block until the watcher's stamps have arrived (or ``timeout``, or EOF)."""
    reader = RecordReader()
    stamps: dict[str, Stamp | None] = {}
    channel.settimeout(timeout)
    try:
        while True:
            data = channel.recv(65536)
            if not data:
                return stamps
            for record in reader.feed(data):
                if not record:
                    return stamps
                path, value = parse_stamp(record)
                stamps[path] = value
    except TimeoutError:
        return stamps
    finally:
        channel.settimeout(None)
