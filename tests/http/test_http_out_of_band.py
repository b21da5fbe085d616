"""Body bytes the server sends itself (``sendfile``): counted, so keep-alive survives them."""

from __future__ import annotations

import pytest

from treadle.http.connection import Connection
from treadle.http.errors import LocalProtocolError
from treadle.http.events import EndOfMessage, Request

GET11 = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
GET10 = b"GET / HTTP/1.0\r\n\r\n"


def ready(request: bytes) -> Connection:
    """A connection that has read ``request`` completely."""
    conn = Connection()
    conn.receive_data(request)
    assert isinstance(conn.next_event(), Request)
    while not isinstance(conn.next_event(), EndOfMessage):
        pass
    return conn


def test_a_content_length_body_sent_out_of_band_keeps_the_connection() -> None:
    conn = ready(GET11)
    conn.send_response(200, b"OK", [(b"Content-Length", b"10")])
    conn.sent_out_of_band(6)
    conn.sent_out_of_band(4)
    assert conn.send_end() == b""
    assert conn.keep_alive is True
    conn.start_next_cycle()


def test_a_short_out_of_band_body_ends_keep_alive() -> None:
    conn = ready(GET11)
    conn.send_response(200, b"OK", [(b"Content-Length", b"10")])
    conn.sent_out_of_band(9)
    conn.send_end()
    assert conn.keep_alive is False


def test_out_of_band_bytes_past_content_length_are_refused() -> None:
    conn = ready(GET11)
    conn.send_response(200, b"OK", [(b"Content-Length", b"10")])
    with pytest.raises(LocalProtocolError, match="longer than its Content-Length"):
        conn.sent_out_of_band(11)
    assert conn.keep_alive is False


def test_out_of_band_and_framed_bytes_share_one_count() -> None:
    conn = ready(GET11)
    conn.send_response(200, b"OK", [(b"Content-Length", b"10")])
    assert conn.send_data(b"abc") == b"abc"
    conn.sent_out_of_band(7)
    conn.send_end()
    assert conn.keep_alive is True


def test_a_chunked_body_cannot_be_sent_out_of_band() -> None:
    conn = ready(GET11)
    conn.send_response(200, b"OK", [])
    with pytest.raises(LocalProtocolError, match="chunked"):
        conn.sent_out_of_band(5)


def test_an_until_close_body_may_be_sent_out_of_band() -> None:
    conn = ready(GET10)
    conn.send_response(200, b"OK", [])
    conn.sent_out_of_band(5)
    assert conn.send_end() == b""
    assert conn.keep_alive is False


def test_out_of_band_bytes_before_the_response_head_are_refused() -> None:
    conn = ready(GET11)
    with pytest.raises(LocalProtocolError, match="send_response"):
        conn.sent_out_of_band(5)
