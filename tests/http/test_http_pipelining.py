"""Keep-alive and pipelining: one request per cycle, in order, however the bytes arrive."""

from __future__ import annotations

import pytest

from treadle.http.connection import Connection
from treadle.http.events import NEED_DATA, PAUSED, ConnectionClosed, Data, EndOfMessage, Request

PIPELINE = (
    b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
    b"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
    b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"
    b"POST /4 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n"
    b"\r\n"  # a stray empty line between requests is ignored
    b"HEAD /5 HTTP/1.1\r\nHost: a\r\n\r\n"
    b"GET /6 HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    b"GET /7 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    b"DELETE /8 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
)
EXPECTED = [
    (b"/1", b"", []), (b"/2", b"abc", []), (b"/3", b"", []), (b"/4", b"de", [(b"T", b"1")]),
    (b"/5", b"", []), (b"/6", b"", []), (b"/7", b"", []), (b"/8", b"", []),
]


def serve_all(conn: Connection, pieces: list[bytes]) -> list[tuple[bytes, bytes, list[tuple[bytes, bytes]]]]:
    """Play a server: answer every request with an empty 200 and collect what was read."""
    seen: list[tuple[bytes, bytes, list[tuple[bytes, bytes]]]] = []
    target, body = b"", b""
    feed = iter(pieces)
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            conn.receive_data(next(feed, b""))
        elif isinstance(event, Request):
            target, body = event.target, b""
        elif isinstance(event, Data):
            body += event.data
        elif isinstance(event, EndOfMessage):
            seen.append((target, body, event.trailers))
        elif event is PAUSED:
            conn.send_response(200, b"OK", [(b"Content-Length", b"0")])
            conn.send_end()
            if not conn.keep_alive:
                return seen
            conn.start_next_cycle()
        else:
            assert isinstance(event, ConnectionClosed)
            return seen


@pytest.mark.parametrize("step", [None, 1, 5, 64], ids=["one-chunk", "bytewise", "by5", "by64"])
def test_pipelined_requests_are_served_one_cycle_at_a_time(step: int | None) -> None:
    pieces = [PIPELINE] if step is None else [
        PIPELINE[i:i + step] for i in range(0, len(PIPELINE), step)]
    conn = Connection()
    assert serve_all(conn, pieces) == EXPECTED
    assert conn.keep_alive is False


def test_paused_until_the_next_cycle_starts() -> None:
    conn = Connection()
    conn.receive_data(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    assert isinstance(conn.next_event(), Request)
    assert conn.next_event() == EndOfMessage([])
    assert conn.next_event() is PAUSED
    assert conn.next_event() is PAUSED
    conn.send_response(200, b"OK", [(b"Content-Length", b"0")])
    conn.send_end()
    conn.start_next_cycle()
    second = conn.next_event()
    assert isinstance(second, Request) and second.target == b"/2"


def test_many_keep_alive_requests_reuse_the_connection() -> None:
    conn = Connection()
    request = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
    post = b"POST /y HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz"
    seen = serve_all(conn, [(request + post) * 50 + b""])
    assert len(seen) == 100
    assert seen[-1] == (b"/y", b"z", [])


def test_clean_close_after_the_last_keep_alive_request() -> None:
    conn = Connection()
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    conn.receive_data(b"")
    assert isinstance(conn.next_event(), Request)
    assert conn.next_event() == EndOfMessage([])
    conn.send_response(200, b"OK", [(b"Content-Length", b"0")])
    conn.send_end()
    conn.start_next_cycle()
    assert conn.next_event() == ConnectionClosed()
