"""Valid requests: what the connection hands the server, however the bytes arrive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from treadle.http.connection import Connection
from treadle.http.errors import LocalProtocolError, RemoteProtocolError
from treadle.http.events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Request,
)
from treadle.http.limits import Limits

Read = Callable[..., Any]  # conftest.read_request

# (id, bytes, method, target, body, trailers)
VALID = [
    ("get", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", b"/", b"", []),
    ("get-query", b"GET /p?q=1&r=%20 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n",
     "GET", b"/p?q=1&r=%20", b"", []),
    ("head", b"HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD", b"/x", b"", []),
    ("options-star", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS", b"*", b"", []),
    ("absolute-form", b"GET http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
     "GET", b"http://example.com/p?q", b"", []),
    ("double-slash-path", b"GET //evil.example/x HTTP/1.1\r\nHost: a\r\n\r\n",
     "GET", b"//evil.example/x", b"", []),
    ("http10-no-host", b"GET /old HTTP/1.0\r\n\r\n", "GET", b"/old", b"", []),
    ("content-length", b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
     "POST", b"/f", b"hello", []),
    ("content-length-zero", b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
     "POST", b"/f", b"", []),
    ("chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "POST", b"/", b"hello world", []),
    ("chunked-trailers", b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"3\r\nabc\r\n0\r\nX-Sum: 9\r\nX-Other:  two \r\n\r\n", "PUT", b"/", b"abc",
     [(b"X-Sum", b"9"), (b"X-Other", b"two")]),
    ("chunk-extensions", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"3;name=value;flag\r\nabc\r\n2 ; q=\"a;b\\\"c\"\r\nde\r\n0;last\r\n\r\n",
     "POST", b"/", b"abcde", []),
    ("chunk-size-uppercase-hex", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
     b"A\r\n0123456789\r\n0\r\n\r\n", "POST", b"/", b"0123456789", []),
    ("leading-empty-lines", b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", b"/", b"", []),
    ("unknown-but-known-to-llhttp-method", b"PURGE /c HTTP/1.1\r\nHost: a\r\n\r\n",
     "PURGE", b"/c", b"", []),
]


@pytest.mark.parametrize(("data", "method", "target", "body", "trailers"),
                         [v[1:] for v in VALID], ids=[v[0] for v in VALID])
@pytest.mark.parametrize("step", [None, 1, 2, 7], ids=["whole", "bytewise", "by2", "by7"])
def test_valid_request_parses_the_same_however_it_is_split(
        read: Read, data: bytes, method: str, target: bytes, body: bytes,
        trailers: list[tuple[bytes, bytes]], step: int | None) -> None:
    parsed = read(data, step)
    assert (parsed.request.method, parsed.request.target) == (method, target)
    assert parsed.body == body
    assert parsed.trailers == trailers


def test_headers_keep_names_and_order_and_strip_values(read: Read) -> None:
    parsed = read(b"GET / HTTP/1.1\r\nHost: a\r\nX-Thing:  spaced \t\r\nx-thing:\tlower\r\n"
                  b"Empty:\r\n\r\n")
    assert parsed.request.headers == [
        (b"Host", b"a"), (b"X-Thing", b"spaced"), (b"x-thing", b"lower"), (b"Empty", b"")]


def test_header_names_with_underscore_pass_through(read: Read) -> None:
    parsed = read(b"GET / HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 1.2.3.4\r\n\r\n")
    assert (b"X_Forwarded_For", b"1.2.3.4") in parsed.request.headers


def test_obs_text_in_a_value_is_kept_as_bytes(read: Read) -> None:
    parsed = read(b"GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\n\r\n")
    assert parsed.request.headers[-1] == (b"X-Name", b"caf\xe9")


def test_request_fields_for_a_chunked_post(read: Read) -> None:
    request = read(b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").request
    assert (request.chunked, request.content_length, request.http_version) == (True, None, "1.1")


def test_content_length_is_reported(read: Read) -> None:
    request = read(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc").request
    assert (request.content_length, request.chunked) == (3, False)


def test_content_length_with_surrounding_whitespace_is_accepted(read: Read) -> None:
    assert read(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  3 \r\n\r\nabc").body == b"abc"


def test_http_1_minor_versions_above_1_are_served_as_1_1(read: Read) -> None:
    assert read(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n").request.http_version == "1.1"


@pytest.mark.parametrize(("head", "keep_alive"), [
    (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", True),
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", False),
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", False),
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: te\r\nConnection: close\r\n\r\n", False),
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n", True),
    (b"GET / HTTP/1.0\r\n\r\n", False),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
    (b"GET / HTTP/1.0\r\nConnection: foo,  Keep-Alive\r\n\r\n", True),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", False),
], ids=["1.1-default", "1.1-close", "1.1-close-in-list", "1.1-close-second-field",
        "1.1-other-token", "1.0-default", "1.0-keep-alive", "1.0-keep-alive-in-list",
        "1.0-both"])
def test_keep_alive_follows_version_and_connection_tokens(
        read: Read, head: bytes, keep_alive: bool) -> None:
    parsed = read(head)
    assert parsed.request.keep_alive is keep_alive
    assert parsed.connection.keep_alive is keep_alive


@pytest.mark.parametrize(("head", "expected"), [
    (b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", True),
    (b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx", True),
    (b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", False),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", False),
], ids=["1.1", "case-insensitive", "ignored-on-1.0", "absent"])
def test_expect_continue_is_reported_only_for_1_1(read: Read, head: bytes, expected: bool) -> None:
    assert read(head).request.expect_continue is expected


def test_a_buffered_body_comes_as_one_data_event(read: Read) -> None:
    parsed = read(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\n\r\n" + b"x" * 4096)
    assert parsed.data_events == 1


def test_buffered_chunks_are_coalesced_into_one_data_event(read: Read) -> None:
    body = b"".join(b"1\r\n%c\r\n" % c for c in b"abcdefgh")
    parsed = read(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + body + b"0\r\n\r\n")
    assert (parsed.body, parsed.data_events) == (b"abcdefgh", 1)


def test_body_arriving_in_pieces_comes_as_data_events_in_order() -> None:
    conn = Connection()
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nab")
    assert isinstance(conn.next_event(), Request)
    assert conn.next_event() == Data(b"ab")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"cdef")
    assert conn.next_event() == Data(b"cdef")
    assert conn.next_event() == EndOfMessage([])
    assert conn.next_event() is PAUSED


def test_eof_before_any_request_is_a_clean_close() -> None:
    conn = Connection()
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed()
    assert conn.next_event() == ConnectionClosed()
    assert conn.keep_alive is False


def test_eof_after_empty_lines_between_requests_is_a_clean_close() -> None:
    conn = Connection()
    conn.receive_data(b"\r\n")
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed()


@pytest.mark.parametrize("partial", [
    b"GET / HTTP/1.1\r\nHost: a\r\n",
    b"G",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
], ids=["head", "one-byte", "length-body", "chunk-data", "before-trailers"])
def test_eof_inside_a_request_is_incomplete_request(partial: bytes) -> None:
    conn = Connection()
    conn.receive_data(partial)
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError, match="incomplete request") as info:
        while conn.next_event() is not PAUSED:
            pass
    assert info.value.status == 400


def test_data_after_eof_is_a_local_error() -> None:
    conn = Connection()
    conn.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"GET")


def test_need_data_until_the_head_is_complete() -> None:
    conn = Connection()
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"\r\n")
    assert isinstance(conn.next_event(), Request)


def test_max_body_from_content_length_is_413_before_reading_the_body() -> None:
    conn = Connection(Limits(max_body=10))
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n")
    assert isinstance(conn.next_event(), Request)
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.status == 413


def test_set_max_body_overrides_the_limit_for_this_request() -> None:
    conn = Connection(Limits(max_body=10))
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world")
    assert isinstance(conn.next_event(), Request)
    conn.set_max_body(None)
    assert conn.next_event() == Data(b"hello world")


def test_set_max_body_can_tighten_the_limit_for_a_chunked_body() -> None:
    conn = Connection()
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n")
    assert isinstance(conn.next_event(), Request)
    conn.set_max_body(8)
    assert conn.next_event() == Data(b"hello")  # what came before the limit, then the error
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.status == 413


def test_set_max_body_applies_to_one_request_only() -> None:
    conn = Connection(Limits(max_body=3))
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd"
                      b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd")
    assert isinstance(conn.next_event(), Request)
    conn.set_max_body(100)
    assert conn.next_event() == Data(b"abcd")
    assert conn.next_event() == EndOfMessage([])
    conn.send_response(204, b"No Content", [])
    conn.send_end()
    conn.start_next_cycle()
    assert isinstance(conn.next_event(), Request)
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
