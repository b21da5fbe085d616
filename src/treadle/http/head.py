"""Request heads: find one in the buffer, check it, parse it with httptools.

llhttp (strict mode) splits the field lines and rejects the bytes RFC 9112
forbids in them: bare CR/LF, controls, obs-fold, non-token names (pinned by
tests). The request line, the limits and the meaning of Host, Content-Length,
Transfer-Encoding, Connection and Expect are decided here. llhttp only ever
sees a complete head, never a body.
"""

from __future__ import annotations

from typing import Final

import httptools

from treadle.http.errors import RemoteProtocolError
from treadle.http.events import Request
from treadle.http.limits import Limits
from treadle.http.syntax import TCHAR, is_token, token_list

__all__ = ["HeadParser"]

_METHODS: Final = {m: m.decode("ascii") for m in (
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE")}
_VERSIONS: Final = {b"HTTP/1.1": "1.1", b"HTTP/1.0": "1.0"}
_TCHAR_SET: Final = frozenset(TCHAR)
_SCHEME_CHARS: Final = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."
_MAX_CONTENT_LENGTH_DIGITS: Final = 18

# Fields whose meaning this module decides, by lower-cased name.
_HOST, _CONNECTION, _CONTENT_LENGTH, _TRANSFER_ENCODING, _EXPECT = 1, 2, 3, 4, 5
_FRAMING_FIELDS: Final = {b"host": _HOST, b"connection": _CONNECTION,
                          b"content-length": _CONTENT_LENGTH,
                          b"transfer-encoding": _TRANSFER_ENCODING, b"expect": _EXPECT}
_FRAMING_NAME_LENGTHS: Final = frozenset(map(len, _FRAMING_FIELDS))
# Ordinary names as clients usually spell them, known not to affect framing; every
# other name is classified by its lower-cased form. Never written after import.
_PLAIN_FIELDS: Final = frozenset(
    spelling
    for name in (
        b"User-Agent", b"Accept", b"Accept-Encoding", b"Accept-Language", b"Accept-Charset",
        b"Content-Type", b"Cookie", b"Referer", b"Origin", b"Authorization", b"Cache-Control",
        b"Pragma", b"If-None-Match", b"If-Modified-Since", b"If-Match", b"If-Range", b"Range",
        b"Upgrade-Insecure-Requests", b"DNT", b"TE", b"Upgrade", b"Via", b"Forwarded",
        b"Keep-Alive", b"X-Forwarded-For", b"X-Forwarded-Proto", b"X-Forwarded-Host",
        b"X-Real-IP", b"X-Requested-With", b"Sec-Fetch-Site", b"Sec-Fetch-Mode",
        b"Sec-Fetch-Dest", b"Sec-Fetch-User", b"Priority",
    )
    for spelling in (name, name.lower())
)
# The framing names in their usual spellings, to skip lower-casing them.
_FRAMING_SPELLINGS: Final = {
    spelling: kind for name, kind in _FRAMING_FIELDS.items() for spelling in (name, name.title())
}


class _Sink:
    """The httptools callback target; kept apart from Connection to avoid a reference cycle."""

    __slots__ = ("complete", "headers")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        # llhttp strips leading but not trailing whitespace from values.
        self.headers.append((name, value.rstrip(b" \t")))

    def on_message_complete(self) -> None:
        self.complete = True


class HeadParser:
    """Takes complete request heads off the front of a connection's buffer.

    One httptools parser is reused across keep-alive requests; it is replaced
    after a request with a body (llhttp would wait for bytes it never gets)
    or after a parse error on a reused parser.
    """

    __slots__ = ("_limits", "_parser", "_reusable", "_scanned", "_sink")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._sink = _Sink()
        self._parser = self._new_parser()
        self._scanned = 0

    def _new_parser(self) -> httptools.HttpRequestParser:
        parser = httptools.HttpRequestParser(self._sink)
        # The version is checked here from the raw request line (HTTP/1.2 is served as 1.1).
        parser.set_dangerous_leniencies(lenient_version=True)
        self._reusable = True
        return parser

    def take(self, buf: bytearray) -> Request | None:
        """Remove and return the next request head from ``buf``, or None if incomplete."""
        if buf[0] == 0x0D and buf.startswith(b"\r\n"):
            # RFC 9112 section 2.2: ignore empty lines before a request line.
            while buf.startswith(b"\r\n"):
                del buf[:2]
            self._scanned = 0
        start = self._scanned
        end = buf.find(b"\n\r\n", start - 2 if start > 2 else 0)
        if end < 0:
            self._check_partial(buf)
            self._scanned = len(buf)
            return None
        end += 3
        if end == len(buf):
            head = bytes(buf)
            buf.clear()
        else:
            head = bytes(buf[:end])
            del buf[:end]
        self._scanned = 0
        return self.parse(head)

    def _check_partial(self, buf: bytearray) -> None:
        """Reject an unfinished head as soon as it can never become valid."""
        if not buf:
            return
        limits = self._limits
        size = len(buf)
        if buf[0] not in _TCHAR_SET and buf != b"\r":
            raise RemoteProtocolError("not an HTTP/1.1 request (is the client speaking TLS to a plain port?)")
        line_limit = limits.max_request_line
        if size > line_limit + 1 and buf.find(b"\n", 0, line_limit + 2) < 0:
            raise RemoteProtocolError("request line too long", 414)
        if size > limits.max_head:
            raise RemoteProtocolError("request head too large", 431)
        start = self._scanned
        if buf.find(b"\n\n", start - 1 if start else 0) >= 0:
            raise RemoteProtocolError("bare LF in request head; lines must end with CRLF")

    def parse(self, head: bytes) -> Request:
        """Validate and parse one complete head (request line through the empty line)."""
        limits = self._limits
        eol = head.find(b"\r\n")
        if eol > limits.max_request_line:
            raise RemoteProtocolError("request line too long", 414)
        if len(head) > limits.max_head:
            raise RemoteProtocolError("request head too large", 431)
        if len(head) > limits.max_header_field and max(
                map(len, head.split(b"\r\n")[1:])) > limits.max_header_field:
            raise RemoteProtocolError("header field too large", 431)

        parts = head[:eol].split(b" ")
        if len(parts) != 3 or not parts[1]:
            raise RemoteProtocolError("malformed request line; expected 'METHOD target HTTP/1.1'")
        method_bytes, target, version_bytes = parts
        version = _VERSIONS.get(version_bytes) or _other_version(version_bytes)
        method = _METHODS.get(method_bytes) or _other_method(method_bytes)
        if target[0] != 0x2F:  # "/": origin-form, including "//x", is the common case
            _check_target_form(method, target)

        headers = self._feed(head)
        if len(headers) > limits.max_headers:
            raise RemoteProtocolError("too many header fields", 431)
        return _request(method, target, version, headers)

    def _feed(self, head: bytes) -> list[tuple[bytes, bytes]]:
        sink = self._sink
        headers: list[tuple[bytes, bytes]] = []
        sink.headers = headers
        sink.complete = False
        if self._reusable:
            try:
                self._parser.feed_data(head)
            except (httptools.HttpParserError, httptools.HttpParserUpgrade):
                return self._feed_fresh(head)
            self._reusable = sink.complete
            return headers
        return self._feed_fresh(head)

    def _feed_fresh(self, head: bytes) -> list[tuple[bytes, bytes]]:
        """Feed a new parser: after a body, an upgrade, or an error on a reused parser."""
        sink = self._sink
        sink.headers = []
        sink.complete = False
        self._parser = self._new_parser()
        try:
            self._parser.feed_data(head)
        except httptools.HttpParserUpgrade:
            # No protocol upgrades: the request is served as plain HTTP/1.1.
            self._reusable = False
        except httptools.HttpParserError as exc:
            self._reusable = False
            if isinstance(exc, httptools.HttpParserInvalidMethodError):
                raise RemoteProtocolError("method not implemented", 501) from None
            raise RemoteProtocolError(f"malformed request head ({exc})") from None
        else:
            self._reusable = sink.complete
        return sink.headers


def _other_version(version: bytes) -> str:
    if (len(version) == 8 and version.startswith(b"HTTP/") and version[6] == 0x2E
            and 0x30 <= version[5] <= 0x39 and 0x30 <= version[7] <= 0x39):
        if version[5] != 0x31:
            raise RemoteProtocolError("HTTP version not supported; use HTTP/1.1", 505)
        return "1.0" if version[7] == 0x30 else "1.1"
    raise RemoteProtocolError("invalid HTTP version in request line")


def _other_method(method: bytes) -> str:
    if method == b"CONNECT":
        raise RemoteProtocolError("CONNECT is not supported: this server is not a proxy")
    if not is_token(method):
        raise RemoteProtocolError("invalid method in request line")
    return method.decode("ascii")


def _check_target_form(method: str, target: bytes) -> None:
    if target == b"*":
        if method != "OPTIONS":
            raise RemoteProtocolError("request target '*' is only allowed with OPTIONS")
        return
    scheme, sep, _ = target.partition(b"://")
    if sep and scheme[:1].isalpha() and not scheme.translate(None, _SCHEME_CHARS):
        return  # absolute-form, passed through as is
    raise RemoteProtocolError(
        "invalid request target; expected a path, an absolute URL, or '*' with OPTIONS")


def _request(method: str, target: bytes, version: str,
             headers: list[tuple[bytes, bytes]]) -> Request:
    """Apply the Host, framing and connection rules to the parsed fields."""
    hosts = 0
    connection = content_length = transfer_encoding = expect = None
    for name, value in headers:
        if name in _PLAIN_FIELDS:
            continue
        kind = _FRAMING_SPELLINGS.get(name) or (
            _FRAMING_FIELDS.get(name.lower(), 0) if len(name) in _FRAMING_NAME_LENGTHS else 0)
        if kind:
            if kind == _HOST:
                hosts += 1
            elif kind == _CONNECTION:
                connection = value if connection is None else connection + b"," + value
            elif kind == _CONTENT_LENGTH:
                if content_length is not None:
                    raise RemoteProtocolError("repeated Content-Length header")
                content_length = value
            elif kind == _TRANSFER_ENCODING:
                transfer_encoding = (value if transfer_encoding is None
                                     else transfer_encoding + b"," + value)
            else:
                expect = value if expect is None else expect + b"," + value
    if hosts != 1:
        if hosts:
            raise RemoteProtocolError("duplicate Host header")
        if version == "1.1":
            raise RemoteProtocolError("missing Host header (required in HTTP/1.1)")

    keep_alive = version == "1.1"
    if connection is not None:
        connection = connection.lower()
        if connection == b"keep-alive" or connection == b"close":
            keep_alive = connection == b"keep-alive"
        else:
            tokens = token_list(connection)
            keep_alive = b"close" not in tokens and (keep_alive or b"keep-alive" in tokens)

    length = None
    if content_length is not None:
        if not content_length.isdigit():
            raise RemoteProtocolError("Content-Length must be a decimal number")
        if len(content_length) > _MAX_CONTENT_LENGTH_DIGITS:
            raise RemoteProtocolError("Content-Length has too many digits")
        length = int(content_length)

    chunked = False
    if transfer_encoding is not None:
        if transfer_encoding != b"chunked" or version != "1.1" or length is not None:
            _check_transfer_encoding(transfer_encoding, version, length)
        chunked = True

    expect_continue = (expect is not None and version == "1.1" and (length or chunked)
                       and expect.lower() == b"100-continue")
    return Request(method, target, version, headers, keep_alive, bool(expect_continue),
                   length, chunked)


def _check_transfer_encoding(value: bytes, version: str, content_length: int | None) -> None:
    if version == "1.0":
        raise RemoteProtocolError("Transfer-Encoding is not allowed in an HTTP/1.0 request")
    if content_length is not None:
        raise RemoteProtocolError("request has both Transfer-Encoding and Content-Length")
    codings = token_list(value)
    if not codings or not all(map(is_token, codings)):
        raise RemoteProtocolError("invalid Transfer-Encoding")
    if codings[-1] != b"chunked":
        raise RemoteProtocolError("chunked must be the final transfer coding of a request")
    if len(codings) > 1:
        if codings.count(b"chunked") > 1:
            raise RemoteProtocolError("chunked transfer coding applied more than once")
        raise RemoteProtocolError("transfer codings other than chunked are not supported", 501)
