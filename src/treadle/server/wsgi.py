"""The WSGI 1.0.1 (PEP 3333) pieces that need no socket: environ values, wsgi.input, file_wrapper.

Rule: the environ is built from the parsed request head only; header names with
``_`` are dropped so ``X_Forwarded`` can never pose as ``X-Forwarded``. Status
and header checks raise :class:`TypeError`/:class:`ValueError` naming the fix.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import IO, Any, Protocol
from urllib.parse import unquote_to_bytes

__all__ = [
    "BodySource",
    "ClientDisconnected",
    "FileWrapper",
    "InputStream",
    "RequestBodyError",
    "check_headers",
    "check_status",
    "environ_key",
    "http_date",
    "is_sequence_body",
    "split_target",
]


class BodySource(Protocol):
    """Where :class:`InputStream` pulls the request body from (the connection's channel)."""

    def read_body(self) -> bytes:
        """The next piece of the body, or ``b""`` once it is complete."""
        ...


class InputStream:
    """``wsgi.input``: the request body as a binary file that ends where the body ends."""

    __slots__ = ("_buf", "_done", "_source")

    def __init__(self, source: BodySource) -> None:
        self._source = source
        self._buf = b""
        self._done = False

    def _pull(self) -> bytes:
        data = self._source.read_body()
        if not data:
            self._done = True
        return data

    def read(self, size: int | None = -1) -> bytes:
        """Read ``size`` bytes (all that remain if negative or ``None``)."""
        buf = self._buf
        if size is None or size < 0:
            parts = [buf]
            while not self._done:
                parts.append(self._pull())
            self._buf = b""
            return b"".join(parts)
        while len(buf) < size and not self._done:
            buf += self._pull()
        self._buf = buf[size:]
        return buf[:size]

    def readline(self, size: int | None = -1) -> bytes:
        """Read up to and including the next ``b"\\n"``, or at most ``size`` bytes."""
        buf = self._buf
        limit = -1 if size is None else size
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end >= 0:
                end += 1
                break
            if self._done or 0 <= limit <= len(buf):
                end = len(buf)
                break
            start = len(buf)
            buf += self._pull()
        if 0 <= limit < end:
            end = limit
        self._buf = buf[end:]
        return buf[:end]

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        """Read lines until the body ends or ``hint`` bytes have been read."""
        lines: list[bytes] = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def close(self) -> None:
        """Nothing to release: the server owns the socket."""


class FileWrapper:
    """``wsgi.file_wrapper``: lets the server send a file with ``socket.sendfile``.

    Iterating it reads blocks, so it also works where sendfile cannot (TLS).
    """

    __slots__ = ("blksize", "filelike")

    def __init__(self, filelike: IO[bytes], blksize: int = 65536) -> None:
        self.filelike = filelike
        self.blksize = blksize

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        blksize = self.blksize
        while data := read(blksize):
            yield data

    def close(self) -> None:
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


def split_target(target: bytes) -> tuple[str, str, str | None]:
    """``(PATH_INFO, QUERY_STRING, host)`` from a request target.

    The path is percent-decoded, then decoded as latin-1 (PEP 3333's "bytes in
    a str"). A target beginning ``//`` is a path, never an authority; an
    absolute-form target yields its path and, as ``host``, its authority.
    """
    path, _, query = target.partition(b"?")
    host = None
    if path[:1] != b"/" and path != b"*":
        scheme_end = path.find(b"://")
        if scheme_end > 0:
            rest = path[scheme_end + 3:]
            slash = rest.find(b"/")
            if slash < 0:
                host, path = rest, b"/"
            else:
                host, path = rest[:slash], rest[slash:]
    if b"%" in path:
        path = unquote_to_bytes(path)
    return path.decode("latin-1"), query.decode("latin-1"), (
        None if host is None else host.decode("latin-1"))


# Environ keys by raw header name; "" marks a name that is dropped. Bounded so
# a client inventing names cannot grow it without end.
_ENVIRON_KEYS: dict[bytes, str] = {}
_ENVIRON_KEYS_MAX = 2048


def environ_key(name: bytes) -> str:
    """The environ key for header ``name``, or ``""`` if the header must be dropped."""
    key = _ENVIRON_KEYS.get(name)
    if key is None:
        text = name.decode("latin-1")
        if "_" in text:
            key = ""
        else:
            key = text.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
        if len(_ENVIRON_KEYS) < _ENVIRON_KEYS_MAX:
            _ENVIRON_KEYS[name] = key
    return key


def check_status(status: Any) -> int:
    """The status code of a WSGI status line such as ``"200 OK"``."""
    if type(status) is not str:
        raise TypeError(f"the status must be a str such as '200 OK', got {status!r}")
    code = status[:3]
    if len(status) < 4 or status[3] != " " or not code.isdigit() or code[0] == "0":
        raise ValueError(
            f"the status must be a three-digit code, a space and a reason, "
            f"such as '200 OK'; got {status!r}")
    if code[0] == "1":
        raise ValueError(f"an interim status ({status!r}) cannot be a WSGI response; "
                         "the server sends 100 Continue itself")
    return int(code)


def check_headers(headers: Any) -> None:
    """Reject response headers that are not a list of ``(str, str)`` pairs."""
    if type(headers) is not list:
        raise TypeError(f"response headers must be a list of (name, value) tuples, got "
                        f"{type(headers).__name__}")
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise TypeError(f"each response header must be a (name, value) tuple, got {item!r}")
        name, value = item
        if type(name) is not str or type(value) is not str:
            raise TypeError(f"response header names and values must be str, got {item!r}")


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")
# (second, formatted) swapped as one immutable tuple, so readers on any thread
# see a consistent pair without a lock.
_date_cache: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """The current time as an IMF-fixdate ``Date`` value, formatted once per second."""
    global _date_cache
    now = int(time.time())
    cached = _date_cache
    if cached[0] == now:
        return cached[1]
    t = time.gmtime(now)
    value = (f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon]} {t.tm_year} "
             f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT").encode("ascii")
    _date_cache = (now, value)
    return value


def is_sequence_body(result: Iterable[bytes]) -> bool:
    """Whether the whole body is already in memory, so its length can be summed."""
    return type(result) is list or type(result) is tuple


class RequestBodyError(OSError):
    """``wsgi.input`` could not deliver the body: it was malformed, too large, or stalled.

    ``status`` is what the server answers when the app lets this escape.
    """

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ClientDisconnected(ConnectionError):
    """The client went away while the response was being sent."""
