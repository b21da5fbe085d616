"""Response heads: check what the app sends, choose the body framing, encode in one join.

Framing: no body for HEAD, 1xx, 204 and 304; else the app's Content-Length;
else chunked for HTTP/1.1; else the body runs until the connection closes.
``Connection`` and ``Transfer-Encoding`` belong to this layer: the app's are
read (``close``, ``chunked``) and replaced by ours.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from treadle.http.errors import LocalProtocolError
from treadle.http.events import Request
from treadle.http.syntax import TCHAR, token_list
from treadle.httputil import HTTP_STATUS_CODES

__all__ = ["CHUNKED", "LENGTH", "NO_BODY", "UNTIL_CLOSE", "Framing", "frame_response"]

# How the body that follows a head is delimited.
NO_BODY: Final = "no body"
LENGTH: Final = "Content-Length"
CHUNKED: Final = "chunked"
UNTIL_CLOSE: Final = "until close"

_STATUS_LINES: Final = {code: b"HTTP/1.1 %d " % code for code in HTTP_STATUS_CODES}
# Reason phrase bytes: HTAB, SP, VCHAR, obs-text.
_REASON_BYTES: Final = b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))
_CONTENT_LENGTH: Final = b"content-length"
_TRANSFER_ENCODING: Final = b"transfer-encoding"
_CONNECTION: Final = b"connection"
_FRAMING_NAME_LENGTHS: Final = frozenset((len(_CONTENT_LENGTH), len(_TRANSFER_ENCODING),
                                          len(_CONNECTION)))


class Framing(NamedTuple):
    """What ``frame_response`` decided, besides the head bytes."""

    head: bytes
    framing: str
    content_length: int | None
    keep_alive: bool


def frame_response(status: int, reason: bytes, headers: list[tuple[bytes, bytes]],
                   request: Request | None) -> Framing:
    """Validate and encode a response head for ``request`` (None: no request was read).

    Raises LocalProtocolError, before any state changes, for anything HTTP forbids.
    """
    if type(status) is not int or not 100 <= status <= 599:
        raise LocalProtocolError(f"status must be an integer from 100 to 599, got {status!r}")
    if status == 101:
        raise LocalProtocolError("101 Switching Protocols is not supported: there are no upgrades")
    if reason.translate(None, _REASON_BYTES):
        raise LocalProtocolError("status reason contains CR, LF, NUL or another control byte")
    interim = status < 200
    no_body = interim or status == 204 or status == 304 or (
        request is not None and request.method == "HEAD")

    out = [_STATUS_LINES.get(status) or b"HTTP/1.1 %d " % status, reason, b"\r\n"]
    names = []
    content_length = None
    app_close = False
    for name, value in headers:
        if len(name) in _FRAMING_NAME_LENGTHS:
            lower = name.lower()
            if lower == _CONTENT_LENGTH:
                if content_length is not None:
                    raise LocalProtocolError("response has more than one Content-Length header")
                content_length = _content_length(value)
                if interim or status == 204:
                    continue  # RFC 9110 section 8.6: never sent with 1xx or 204
            elif lower == _TRANSFER_ENCODING:
                if token_list(value) != [b"chunked"]:
                    raise LocalProtocolError(
                        "Transfer-Encoding is set by the server; remove it and send the body "
                        "unencoded (only 'chunked', which is implied, is accepted)")
                continue
            elif lower == _CONNECTION:
                app_close = app_close or b"close" in token_list(value)
                continue
        names.append(name)
        out += (name, b": ", value, b"\r\n")

    if b"".join(names).translate(None, TCHAR) or not all(names):
        raise LocalProtocolError("header name is empty or not a token (letters, digits, !#$%&'*+-.^_`|~)")

    version = request.http_version if request is not None else "1.1"
    if interim:
        framing = NO_BODY
        keep_alive = True
    else:
        if no_body:
            framing = NO_BODY
        elif content_length is not None:
            framing = LENGTH
        elif version == "1.1" and request is not None:
            framing = CHUNKED
            out.append(b"Transfer-Encoding: chunked\r\n")
        else:
            framing = UNTIL_CLOSE
        keep_alive = (request is not None and request.keep_alive and not app_close
                      and framing is not UNTIL_CLOSE)
        if not keep_alive:
            out.append(b"Connection: close\r\n")
        elif version == "1.0":
            out.append(b"Connection: keep-alive\r\n")
    out.append(b"\r\n")
    head = b"".join(out)
    lines = len(out) - 2 - 3 * len(names)
    if head.count(b"\n") != lines or head.count(b"\r") != lines or b"\0" in head:
        raise LocalProtocolError("header name or value contains CR, LF or NUL")
    return Framing(head, framing, content_length if framing is LENGTH else None, keep_alive)


def _content_length(value: bytes) -> int:
    digits = value.strip(b" \t")
    if not digits.isdigit():
        raise LocalProtocolError(f"Content-Length must be a non-negative integer, got {value!r}")
    return int(digits)


def error_head(status: int, body_length: int) -> bytes:
    """The head of a short text/plain error response that closes the connection."""
    reason = HTTP_STATUS_CODES.get(status, "Error").encode("ascii")
    return b"".join((
        _STATUS_LINES.get(status) or b"HTTP/1.1 %d " % status, reason,
        b"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n" % body_length,
        b"Connection: close\r\n\r\n",
    ))
