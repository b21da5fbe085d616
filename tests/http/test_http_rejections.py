"""Bad requests: each is refused with a 4xx/5xx RemoteProtocolError, never a hang."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from treadle.http.connection import Connection
from treadle.http.errors import RemoteProtocolError
from treadle.http.events import NEED_DATA, PAUSED, EndOfMessage, Request
from treadle.http.limits import Limits

Rejected = Callable[..., RemoteProtocolError]

H = b"POST / HTTP/1.1\r\nHost: a\r\n"
CHUNKED = H + b"Transfer-Encoding: chunked\r\n\r\n"


def cases(*rows: tuple[str, bytes, int]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(("data", "status"), [r[1:] for r in rows],
                                   ids=[r[0] for r in rows])


@cases(
    ("plus-sign", H + b"Content-Length: +1\r\n\r\nx", 400),
    ("minus-zero", H + b"Content-Length: -0\r\n\r\n", 400),
    ("underscore", H + b"Content-Length: 0_1\r\n\r\nx", 400),
    ("hex", H + b"Content-Length: 0x1\r\n\r\nx", 400),
    ("space-inside", H + b"Content-Length: 1 2\r\n\r\nx", 400),
    ("empty", H + b"Content-Length: \r\n\r\n", 400),
    ("decimal-point", H + b"Content-Length: 1.0\r\n\r\nx", 400),
    ("list", H + b"Content-Length: 1, 1\r\n\r\nx", 400),
    ("differing-duplicates", H + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nxy", 400),
    ("identical-duplicates", H + b"Content-Length: 1\r\ncontent-length: 1\r\n\r\nx", 400),
    ("unicode-digit", H + b"Content-Length: \xd9\xa1\r\n\r\nx", 400),
    ("absurdly-large", H + b"Content-Length: 1234567890123456789012\r\n\r\n", 400),
    ("nineteen-digits", H + b"Content-Length: 1234567890123456789\r\n\r\n", 400),
)
def test_invalid_content_length_is_rejected(rejected: Rejected, data: bytes, status: int) -> None:
    assert rejected(data).status == status


@cases(
    ("not-chunked", H + b"Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400),
    ("chunked-not-last", H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    ("chunked-not-last-split-fields",
     H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400),
    ("unsupported-coding-before-chunked", H + b"Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
    ("chunked-twice", H + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
    ("identity", H + b"Transfer-Encoding: identity\r\n\r\n", 400),
    ("empty", H + b"Transfer-Encoding: \r\n\r\n0\r\n\r\n", 400),
    ("in-http-1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("with-content-length",
     H + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
    ("content-length-first",
     H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("vertical-tab", H + b"Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n", 400),
    ("form-feed", H + b"Transfer-Encoding: chunked\x0c\r\n\r\n0\r\n\r\n", 400),
    ("nbsp", H + b"Transfer-Encoding: \xa0chunked\r\n\r\n0\r\n\r\n", 400),
    ("space-before-colon", H + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
    ("quoted", H + b'Transfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n', 400),
)
def test_invalid_transfer_encoding_is_rejected(rejected: Rejected, data: bytes, status: int) -> None:
    assert rejected(data).status == status


def test_transfer_underscore_encoding_is_never_taken_as_chunked() -> None:
    conn = Connection()
    conn.receive_data(H + b"Transfer_Encoding: chunked\r\n\r\n0\r\n\r\n")
    request = conn.next_event()
    assert isinstance(request, Request)
    assert (request.chunked, request.content_length) == (False, None)
    assert conn.next_event() == EndOfMessage([])


@cases(
    ("bare-lf-request-line", b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
    ("bare-lf-field-line", b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400),
    ("bare-lf-everywhere", b"GET / HTTP/1.1\nHost: a\n\n", 400),
    ("bare-lf-end-of-head", b"GET / HTTP/1.1\r\nHost: a\r\n\n", 400),
    ("bare-cr-request-line", b"GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
    ("bare-cr-in-target", b"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("bare-cr-field-line", b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400),
    ("nul-request-line", b"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("nul-field-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400),
    ("nul-field-name", b"GET / HTTP/1.1\r\nHost: a\r\nX\x00: b\r\n\r\n", 400),
    ("control-in-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x1bb\r\n\r\n", 400),
    ("del-in-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", 400),
    ("space-before-colon", b"GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n", 400),
    ("tab-before-colon", b"GET / HTTP/1.1\r\nHost: a\r\nX\t: y\r\n\r\n", 400),
    ("obs-fold-space", b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", 400),
    ("obs-fold-tab", b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\tz\r\n\r\n", 400),
    ("space-before-first-field", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
    ("duplicate-host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("duplicate-host-case", b"GET / HTTP/1.1\r\nHost: a\r\nhOST: a\r\n\r\n", 400),
    ("missing-host-1.1", b"GET / HTTP/1.1\r\nX: y\r\n\r\n", 400),
    ("duplicate-host-1.0", b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("field-without-colon", b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
)
def test_malformed_head_is_rejected(rejected: Rejected, data: bytes, status: int) -> None:
    assert rejected(data).status == status


@cases(
    ("separator-in-method", b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("paren-in-method", b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("empty-method", b" / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("unknown-token-method", b"FROB / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    ("lowercase-method", b"get / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    ("connect", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 400),
    ("missing-target", b"GET HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("double-space", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("trailing-space", b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
    ("tab-separator", b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("no-version", b"GET /\r\nHost: a\r\n\r\n", 400),
    ("version-0.99", b"GET / HTTP/0.99\r\nHost: a\r\n\r\n", 400),
    ("version-no-minor", b"GET / HTTP/1\r\nHost: a\r\n\r\n", 400),
    ("version-three-parts", b"GET / HTTP/1.1.1\r\nHost: a\r\n\r\n", 400),
    ("version-lowercase", b"GET / http/1.1\r\nHost: a\r\n\r\n", 400),
    ("version-letters", b"GET / HTTP/x.y\r\nHost: a\r\n\r\n", 400),
    ("version-2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ("version-3.0", b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
    ("version-0.9", b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
    ("star-with-get", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("star-with-suffix", b"OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("authority-form-with-get", b"GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("relative-path", b"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("scheme-without-slashes", b"GET urn:x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("non-ascii-target", b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", 400),
)
def test_invalid_request_line_is_rejected(rejected: Rejected, data: bytes, status: int) -> None:
    assert rejected(data).status == status


@cases(
    ("paren", b"GET / HTTP/1.1\r\nHost: a\r\nX(: y\r\n\r\n", 400),
    ("at-sign", b"GET / HTTP/1.1\r\nHost: a\r\nX@Y: y\r\n\r\n", 400),
    ("non-ascii", b"GET / HTTP/1.1\r\nHost: a\r\nX\xe9: y\r\n\r\n", 400),
    ("empty", b"GET / HTTP/1.1\r\nHost: a\r\n: y\r\n\r\n", 400),
    ("slash", b"GET / HTTP/1.1\r\nHost: a\r\nX/Y: y\r\n\r\n", 400),
)
def test_header_name_that_is_not_a_token_is_rejected(
        rejected: Rejected, data: bytes, status: int) -> None:
    assert rejected(data).status == status


@cases(
    ("hex-prefix", CHUNKED + b"0x5\r\nhello\r\n0\r\n\r\n", 400),
    ("underscore", CHUNKED + b"5_0\r\n", 400),
    ("plus", CHUNKED + b"+5\r\nhello\r\n0\r\n\r\n", 400),
    ("minus", CHUNKED + b"-5\r\nhello\r\n0\r\n\r\n", 400),
    ("leading-space", CHUNKED + b" 5\r\nhello\r\n0\r\n\r\n", 400),
    ("trailing-space", CHUNKED + b"5 \r\nhello\r\n0\r\n\r\n", 400),
    ("trailing-tab", CHUNKED + b"5\t\r\nhello\r\n0\r\n\r\n", 400),
    ("not-hex", CHUNKED + b"g\r\nhello\r\n0\r\n\r\n", 400),
    ("empty-size", CHUNKED + b"\r\nhello\r\n0\r\n\r\n", 400),
    ("seventeen-digits", CHUNKED + b"00000000000000005\r\nhello\r\n0\r\n\r\n", 400),
    ("bare-lf", CHUNKED + b"5\nhello\r\n0\r\n\r\n", 400),
    ("bare-cr", CHUNKED + b"5\rhello\r\n0\r\n\r\n", 400),
    ("nul", CHUNKED + b"5\x00\r\nhello\r\n0\r\n\r\n", 400),
    ("empty-extension", CHUNKED + b"5;\r\nhello\r\n0\r\n\r\n", 400),
    ("extension-no-name", CHUNKED + b"5;=x\r\nhello\r\n0\r\n\r\n", 400),
    ("extension-no-value", CHUNKED + b"5;a=\r\nhello\r\n0\r\n\r\n", 400),
    ("extension-unterminated-quote", CHUNKED + b'5;a="x\r\nhello\r\n0\r\n\r\n', 400),
    ("extension-space-in-name", CHUNKED + b"5;a b\r\nhello\r\n0\r\n\r\n", 400),
    ("extension-control", CHUNKED + b"5;a=\x01\r\nhello\r\n0\r\n\r\n", 400),
    ("extension-too-long", CHUNKED + b"5;a=" + b"x" * 1100 + b"\r\nhello\r\n0\r\n\r\n", 400),
    ("extension-too-long-partial", CHUNKED + b"5;a=" + b"x" * 1100, 400),
    ("missing-crlf-after-data", CHUNKED + b"5\r\nhelloX0\r\n\r\n", 400),
    ("one-wrong-byte-after-data", CHUNKED + b"5\r\nhelloX", 400),
    ("cr-then-wrong-byte", CHUNKED + b"5\r\nhello\rX0\r\n\r\n", 400),
    ("bare-lf-after-data", CHUNKED + b"5\r\nhello\n0\r\n\r\n", 400),
    ("data-longer-than-size", CHUNKED + b"3\r\nhello\r\n0\r\n\r\n", 400),
    ("trailer-bare-lf", CHUNKED + b"0\r\nT: x\n\r\n", 400),
    ("trailer-bare-lf-end", CHUNKED + b"0\r\n\n", 400),
    ("trailer-double-bare-lf", CHUNKED + b"0\r\nT: x\n\n", 400),
    ("trailer-obs-fold", CHUNKED + b"0\r\nT: x\r\n y\r\n\r\n", 400),
    ("trailer-not-token", CHUNKED + b"0\r\nT(: x\r\n\r\n", 400),
    ("trailer-no-colon", CHUNKED + b"0\r\nnocolon\r\n\r\n", 400),
    ("trailer-nul", CHUNKED + b"0\r\nT: \x00\r\n\r\n", 400),
    ("trailers-too-large", CHUNKED + b"0\r\nT: " + b"x" * 9000 + b"\r\n\r\n", 431),
    ("trailers-too-large-partial", CHUNKED + b"0\r\nT: " + b"x" * 9000, 431),
)
def test_invalid_chunked_framing_is_rejected(rejected: Rejected, data: bytes, status: int) -> None:
    assert rejected(data).status == status


@pytest.mark.parametrize("step", [1, 3])
def test_chunked_errors_are_found_when_split_bytewise(rejected: Rejected, step: int) -> None:
    assert rejected(CHUNKED + b"5\r\nhelloX0\r\n\r\n", step=step).status == 400
    assert rejected(CHUNKED + b"5 \r\nhello\r\n0\r\n\r\n", step=step).status == 400


SMALL = Limits(max_request_line=64, max_header_field=64, max_head=256, max_headers=4,
               max_body=10, max_chunk_line=32, max_trailers_size=64)


@cases(
    ("request-line", b"GET /" + b"a" * 64 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    ("request-line-partial", b"GET /" + b"a" * 80, 414),
    ("field-line", b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 70 + b"\r\n\r\n", 431),
    ("head", b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n" * 8
     + b"\r\n", 431),
    ("head-partial", b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: yyyyyyyyyyyyyyyyyyyyyy\r\n" * 12, 431),
    ("header-count", b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: y\r\n" * 4 + b"\r\n", 431),
    ("body-content-length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", 413),
    ("body-chunked", CHUNKED + b"6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n", 413),
    ("chunk-line", CHUNKED + b"5;" + b"a" * 40 + b"\r\nhello\r\n0\r\n\r\n", 400),
    ("trailers", CHUNKED + b"0\r\nT: " + b"x" * 70 + b"\r\n\r\n", 431),
    ("trailer-count", CHUNKED + b"0\r\n" + b"T: x\r\n" * 5 + b"\r\n", 431),
)
def test_limits_map_to_their_status(rejected: Rejected, data: bytes, status: int) -> None:
    assert rejected(data, limits=SMALL).status == status


def test_limits_are_inclusive() -> None:
    conn = Connection(Limits(max_request_line=len(b"GET /abc HTTP/1.1"), max_headers=1))
    conn.receive_data(b"GET /abc HTTP/1.1\r\nHost: a\r\n\r\n")
    assert isinstance(conn.next_event(), Request)


@cases(
    ("tls-client-hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
    ("bare-lf-head-end", b"GET / HTTP/1.1\nHost: a\n\n", 400),
    ("garbage", b"\x00\x01\x02", 400),
)
def test_hopeless_partial_input_is_rejected_without_waiting(
        rejected: Rejected, data: bytes, status: int) -> None:
    assert rejected(data).status == status


def test_nothing_buffered_behind_a_bad_request_is_processed() -> None:
    conn = Connection()
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    for _ in range(3):
        with pytest.raises(RemoteProtocolError, match="duplicate Host"):
            conn.next_event()


def test_data_received_after_an_error_is_discarded() -> None:
    conn = Connection()
    conn.receive_data(b"BAD\x00 / HTTP/1.1\r\n\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" * 1000)
    assert len(conn._buf) == 0
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_a_bad_request_after_a_good_one_is_found_only_in_the_next_cycle() -> None:
    conn = Connection()
    conn.receive_data(b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\nBAD\x00\r\n\r\n")
    request = conn.next_event()
    assert isinstance(request, Request) and request.target == b"/ok"
    assert conn.next_event() == EndOfMessage([])
    assert conn.next_event() is PAUSED
    conn.send_response(200, b"OK", [(b"Content-Length", b"0")])
    conn.send_end()
    conn.start_next_cycle()
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_error_response_is_complete_and_closes() -> None:
    conn = Connection()
    conn.receive_data(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    out = conn.error_response(info.value)
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"\r\nConnection: close" in head
    assert b"\r\nContent-Type: text/plain; charset=utf-8" in head
    assert b"\r\nContent-Length: %d" % len(body) in head
    assert body == b"missing Host header (required in HTTP/1.1)\n"
    assert conn.keep_alive is False


def test_error_response_is_given_once() -> None:
    conn = Connection()
    error = RemoteProtocolError("request head too large", 431)
    assert conn.error_response(error).startswith(b"HTTP/1.1 431 ")
    assert conn.error_response(error) == b""


def test_error_response_carries_extra_headers() -> None:
    out = Connection().error_response(RemoteProtocolError("x", 400), [(b"Server", b"treadle")])
    assert b"\r\nServer: treadle\r\n" in out.partition(b"\r\n\r\n")[0] + b"\r\n"


def test_error_response_after_a_response_started_is_empty() -> None:
    conn = Connection()
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab\x00")
    assert isinstance(conn.next_event(), Request)
    conn.send_response(200, b"OK", [])
    assert conn.error_response(RemoteProtocolError("incomplete request")) == b""
    assert conn.keep_alive is False


def test_incomplete_head_waits_while_it_could_still_be_valid() -> None:
    conn = Connection(SMALL)
    conn.receive_data(b"GET /" + b"a" * 40)
    assert conn.next_event() is NEED_DATA
