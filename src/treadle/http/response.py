"""Response heads: check what the app sends, choose the body framing, encode in one join.

Framing: no body for HEAD, 1xx, 204 and 304; else the app's Content-Length;
else chunked for HTTP/1.1; else the body runs until the connection closes.
``Connection`` and ``Transfer-Encoding`` belong to this layer: the app's are
read (``close``, ``chunked``) and replaced by ours.
"""

from __future__ import annotations

from typing import Final

from treadle.http.errors import LocalProtocolError
from treadle.http.events import Request
from treadle.http.status import HTTP_STATUS_CODES
from treadle.http.syntax import is_token, token_list

__all__ = ["CHUNKED", "LENGTH", "NO_BODY", "UNTIL_CLOSE", "Framing", "frame_response"]

# How the body that follows a head is delimited.
NO_BODY: Final = "no body"
LENGTH: Final = "Content-Length"
CHUNKED: Final = "chunked"
UNTIL_CLOSE: Final = "until close"

# Every status line we may send (101 is left out: there are no upgrades).
_STATUS_LINES: Final = {code: b"HTTP/1.1 %d " % code for code in range(100, 600) if code != 101}

_ORDINARY, _CONTENT_LENGTH, _TRANSFER_ENCODING, _CONNECTION = 0, 1, 2, 3
_FRAMING_NAMES: Final = {b"content-length": _CONTENT_LENGTH,
                         b"transfer-encoding": _TRANSFER_ENCODING, b"connection": _CONNECTION}
# Ordinary names apps send all the time, already known to be tokens; any other
# name is checked and classified on the slow path. Never written after import.
_PLAIN_NAMES: Final = frozenset(
    spelling
    for name in (
        b"Content-Type", b"Server", b"Date", b"Set-Cookie", b"Location", b"Cache-Control",
        b"ETag", b"Last-Modified", b"Vary", b"Content-Encoding", b"Content-Disposition",
        b"Content-Language", b"Content-Range", b"Accept-Ranges", b"Expires", b"Pragma", b"Age",
        b"Allow", b"Link", b"Retry-After", b"WWW-Authenticate", b"Keep-Alive",
        b"Access-Control-Allow-Origin", b"Access-Control-Allow-Credentials",
        b"Access-Control-Allow-Methods", b"Access-Control-Allow-Headers",
        b"Access-Control-Expose-Headers", b"Access-Control-Max-Age",
        b"Strict-Transport-Security", b"Content-Security-Policy", b"X-Content-Type-Options",
        b"X-Frame-Options", b"Referrer-Policy", b"X-Request-Id", b"Content-MD5", b"Trailer",
        b"Upgrade", b"Via", b"Warning", b"X-Powered-By",
    )
    for spelling in (name, name.lower())
)
_CONTENT_LENGTH_NAMES: Final = frozenset((b"Content-Length", b"content-length"))


Framing = tuple[bytes, str, "int | None", bool]
"""``frame_response``'s answer: head bytes, framing, Content-Length to send, keep-alive."""


def frame_response(status: int, reason: bytes, headers: list[tuple[bytes, bytes]],
                   request: Request | None) -> Framing:
    """Validate and encode a response head for ``request`` (None: no request was read).

    Raises LocalProtocolError, before any state changes, for anything HTTP forbids.
    """
    out = [_STATUS_LINES.get(status) or _status_line(status), reason, b"\r\n"]
    interim = status < 200
    content_length = None
    app_close = False
    for name, value in headers:
        if name not in _PLAIN_NAMES:
            kind = _CONTENT_LENGTH if name in _CONTENT_LENGTH_NAMES else _classify(name)
            if kind == _ORDINARY:
                pass
            elif kind == _CONTENT_LENGTH:
                if content_length is not None:
                    raise LocalProtocolError("response has more than one Content-Length header")
                content_length = int(value) if value.isdigit() else _content_length(value)
                if interim or status == 204:
                    continue  # RFC 9110 section 8.6: never sent with 1xx or 204
            elif kind == _TRANSFER_ENCODING:
                if token_list(value) != [b"chunked"]:
                    raise LocalProtocolError(
                        "Transfer-Encoding is set by the server; remove it and send the body "
                        "unencoded (only 'chunked', which is implied, is accepted)")
                continue
            else:
                app_close = app_close or b"close" in token_list(value)
                continue
        out += (name, b": ", value, b"\r\n")

    framing = NO_BODY
    keep_alive = True
    if not interim:
        if request is None:
            keep_alive = False
            if content_length is not None and status != 204 and status != 304:
                framing = LENGTH
            elif status != 204 and status != 304:
                framing = UNTIL_CLOSE
        else:
            keep_alive = request.keep_alive and not app_close
            if status == 204 or status == 304 or request.method == "HEAD":
                pass
            elif content_length is not None:
                framing = LENGTH
            elif request.http_version == "1.1":
                framing = CHUNKED
                out += _CHUNKED_LINE
            else:
                framing = UNTIL_CLOSE
                keep_alive = False
        if not keep_alive:
            out += _CLOSE_LINE
        elif request is not None and request.http_version == "1.0":
            out += _KEEP_ALIVE_LINE
    out.append(b"\r\n")
    head = b"".join(out)
    # out holds 3 items for the status line, 4 per field line and 1 for the end, so
    # len(out) // 4 + 1 CRLFs were written: any other CR, LF or NUL came from the caller.
    if len(head) - len(head.translate(None, b"\r\n\0")) != 2 * (len(out) // 4 + 1):
        raise LocalProtocolError("status reason, header name or value contains CR, LF or NUL")
    return head, framing, content_length if framing is LENGTH else None, keep_alive


_CHUNKED_LINE: Final = (b"Transfer-Encoding", b": ", b"chunked", b"\r\n")
_CLOSE_LINE: Final = (b"Connection", b": ", b"close", b"\r\n")
_KEEP_ALIVE_LINE: Final = (b"Connection", b": ", b"keep-alive", b"\r\n")


def _status_line(status: int) -> bytes:
    if status == 101:
        raise LocalProtocolError("101 Switching Protocols is not supported: there are no upgrades")
    if type(status) is not int or not 100 <= status <= 599:
        raise LocalProtocolError(f"status must be an integer from 100 to 599, got {status!r}")
    return b"HTTP/1.1 %d " % status


def _classify(name: bytes) -> int:
    if not is_token(name):
        raise LocalProtocolError(
            f"header name {name!r} is empty or not a token (letters, digits, !#$%&'*+-.^_`|~)")
    return _FRAMING_NAMES.get(name.lower(), _ORDINARY)


def _content_length(value: bytes) -> int:
    digits = value.strip(b" \t")
    if not digits.isdigit():
        raise LocalProtocolError(f"Content-Length must be a non-negative integer, got {value!r}")
    return int(digits)


def error_head(status: int, body_length: int) -> bytes:
    """The head of a short text/plain error response that closes the connection."""
    reason = HTTP_STATUS_CODES.get(status, "Error").encode("ascii")
    return b"".join((
        b"HTTP/1.1 %d " % status, reason,
        b"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n" % body_length,
        b"Connection: close\r\n\r\n",
    ))
