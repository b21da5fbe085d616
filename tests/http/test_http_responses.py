"""The response side: framing chosen per request and status, and what may not be sent."""

from __future__ import annotations

import pytest

from treadle.http.connection import Connection
from treadle.http.errors import LocalProtocolError, RemoteProtocolError
from treadle.http.events import Data, EndOfMessage, Request
from treadle.http.limits import Limits

GET11 = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
GET10 = b"GET / HTTP/1.0\r\n\r\n"
GET10_KEEP = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
HEAD11 = b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
CL = (b"Content-Length", b"5")


def ready(request: bytes) -> Connection:
    """A connection that has read ``request`` completely."""
    conn = Connection()
    conn.receive_data(request)
    assert isinstance(conn.next_event(), Request)
    while not isinstance(conn.next_event(), EndOfMessage):
        pass
    return conn


def head_lines(head: bytes) -> list[bytes]:
    assert head.endswith(b"\r\n\r\n")
    return head[:-4].split(b"\r\n")


def test_content_length_response_is_sent_as_is() -> None:
    conn = ready(GET11)
    head = conn.send_response(200, b"OK", [(b"Content-Type", b"text/plain"), CL])
    assert head == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"
    assert conn.send_data(b"hel") + conn.send_data(b"lo") == b"hello"
    assert conn.send_end() == b""
    assert conn.keep_alive is True


def test_no_content_length_on_1_1_is_chunked() -> None:
    conn = ready(GET11)
    assert head_lines(conn.send_response(200, b"OK", []))[1:] == [b"Transfer-Encoding: chunked"]
    assert conn.send_data(b"hello world, this is long") == b"19\r\nhello world, this is long\r\n"
    assert conn.send_data(b"") == b""
    assert conn.send_end() == b"0\r\n\r\n"
    assert conn.keep_alive is True


def test_no_content_length_on_1_0_runs_until_close() -> None:
    conn = ready(GET10_KEEP)
    assert head_lines(conn.send_response(200, b"OK", []))[1:] == [b"Connection: close"]
    assert conn.send_data(b"raw") == b"raw"
    assert conn.send_end() == b""
    assert conn.keep_alive is False


def test_1_0_client_that_asked_for_keep_alive_is_told_so() -> None:
    conn = ready(GET10_KEEP)
    assert b"\r\nConnection: keep-alive\r\n" in conn.send_response(200, b"OK", [CL])
    assert conn.keep_alive is True


def test_1_0_client_without_keep_alive_is_told_close() -> None:
    conn = ready(GET10)
    assert b"\r\nConnection: close\r\n" in conn.send_response(200, b"OK", [CL])
    assert conn.keep_alive is False


def test_response_line_is_http_1_1_even_for_1_0_clients() -> None:
    assert ready(GET10).send_response(200, b"OK", [CL]).startswith(b"HTTP/1.1 200 OK\r\n")


def test_client_connection_close_gets_connection_close() -> None:
    conn = ready(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert head_lines(conn.send_response(200, b"OK", [CL]))[-1] == b"Connection: close"
    assert conn.keep_alive is False


def test_head_response_has_no_body_and_keeps_content_length() -> None:
    conn = ready(HEAD11)
    head = conn.send_response(200, b"OK", [(b"Content-Length", b"1234")])
    assert head_lines(head)[1:] == [b"Content-Length: 1234"]
    assert conn.send_data(b"ignored body") == b""
    assert conn.send_end() == b""
    assert conn.keep_alive is True


def test_head_response_without_length_is_not_chunked() -> None:
    conn = ready(HEAD11)
    assert head_lines(conn.send_response(200, b"OK", []))[1:] == []
    assert conn.send_end() == b""
    assert conn.keep_alive is True


def test_204_drops_content_length_and_body() -> None:
    conn = ready(GET11)
    head = conn.send_response(204, b"No Content", [(b"Content-Length", b"0"), (b"X", b"y")])
    assert head_lines(head) == [b"HTTP/1.1 204 No Content", b"X: y"]
    assert conn.send_data(b"body") == b""
    assert conn.send_end() == b""
    assert conn.keep_alive is True


def test_304_keeps_content_length_but_sends_no_body() -> None:
    conn = ready(GET11)
    head = conn.send_response(304, b"Not Modified", [(b"Content-Length", b"99")])
    assert head_lines(head)[1:] == [b"Content-Length: 99"]
    assert conn.send_data(b"body") == b""
    assert conn.send_end() == b""
    assert conn.keep_alive is True


def test_interim_1xx_response_leaves_the_final_response_to_come() -> None:
    conn = ready(GET11)
    assert conn.send_response(103, b"Early Hints", [(b"Link", b"</s.css>; rel=preload")]) == (
        b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")
    assert conn.send_response(200, b"OK", [CL]).startswith(b"HTTP/1.1 200 OK")


def test_interim_response_is_not_sent_to_a_1_0_client() -> None:
    assert ready(GET10).send_response(103, b"Early Hints", []) == b""


def test_interim_response_drops_content_length() -> None:
    head = ready(GET11).send_response(103, b"Early Hints", [(b"Content-Length", b"5")])
    assert head == b"HTTP/1.1 103 Early Hints\r\n\r\n"


def test_empty_reason_is_allowed() -> None:
    assert ready(GET11).send_response(299, b"", [CL]).startswith(b"HTTP/1.1 299 \r\n")


@pytest.mark.parametrize("status", [101, 99, 600, 1000, -1])
def test_unsupported_status_is_a_local_error(status: int) -> None:
    with pytest.raises(LocalProtocolError):
        ready(GET11).send_response(status, b"X", [])


@pytest.mark.parametrize(("reason", "headers"), [
    (b"OK\r\nX: injected", []),
    (b"OK\n", []),
    (b"O\rK", []),
    (b"O\x00K", []),
    (b"OK", [(b"X", b"a\r\nInjected: yes")]),
    (b"OK", [(b"X", b"a\nb")]),
    (b"OK", [(b"X", b"a\rb")]),
    (b"OK", [(b"X", b"a\x00b")]),
    (b"OK", [(b"X\r\nY", b"v")]),
    (b"OK", [(b"X\x00", b"v")]),
    (b"OK", [(b"Content-Length", b"5\r\nX: y")]),
], ids=["reason-crlf", "reason-lf", "reason-cr", "reason-nul", "value-crlf", "value-lf",
        "value-cr", "value-nul", "name-crlf", "name-nul", "content-length-crlf"])
def test_cr_lf_or_nul_in_the_head_is_a_local_error(
        reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(LocalProtocolError):
        ready(GET11).send_response(200, reason, headers)


@pytest.mark.parametrize("name", [b"", b"X Y", b"X:", b"(x)", b"X\xe9"])
def test_header_name_that_is_not_a_token_is_a_local_error(name: bytes) -> None:
    with pytest.raises(LocalProtocolError, match="token"):
        ready(GET11).send_response(200, b"OK", [(name, b"v")])


def test_after_a_rejected_head_the_server_can_still_send_a_500() -> None:
    conn = ready(GET11)
    with pytest.raises(LocalProtocolError):
        conn.send_response(200, b"OK", [(b"X", b"bad\r\n")])
    assert conn.send_response(500, b"Internal Server Error", [(b"Content-Length", b"0")])


@pytest.mark.parametrize("value", [b"-1", b"1.5", b"abc", b"", b"0x10", b"1, 1"])
def test_invalid_content_length_from_the_app_is_a_local_error(value: bytes) -> None:
    with pytest.raises(LocalProtocolError, match="Content-Length"):
        ready(GET11).send_response(200, b"OK", [(b"Content-Length", value)])


def test_two_content_lengths_from_the_app_are_a_local_error() -> None:
    with pytest.raises(LocalProtocolError, match="more than one"):
        ready(GET11).send_response(200, b"OK", [CL, (b"content-length", b"5")])


def test_body_longer_than_content_length_is_a_local_error() -> None:
    conn = ready(GET11)
    conn.send_response(200, b"OK", [CL])
    assert conn.send_data(b"1234") == b"1234"
    with pytest.raises(LocalProtocolError, match="longer than its Content-Length"):
        conn.send_data(b"56")
    assert conn.keep_alive is False
    with pytest.raises(LocalProtocolError):
        conn.send_data(b"")


def test_body_shorter_than_content_length_ends_keep_alive() -> None:
    conn = ready(GET11)
    conn.send_response(200, b"OK", [CL])
    conn.send_data(b"1234")
    assert conn.send_end() == b""
    assert conn.keep_alive is False


def test_app_connection_close_is_honoured_once() -> None:
    conn = ready(GET11)
    head = conn.send_response(200, b"OK", [(b"connection", b"Close"), CL])
    assert head.lower().count(b"connection") == 1
    assert head_lines(head)[-1] == b"Connection: close"
    assert conn.keep_alive is False


def test_app_connection_keep_alive_cannot_keep_a_closing_connection_open() -> None:
    conn = ready(GET10)
    head = conn.send_response(200, b"OK", [(b"Connection", b"keep-alive"), CL])
    assert head_lines(head)[1:] == [b"Content-Length: 5", b"Connection: close"]


def test_app_transfer_encoding_chunked_is_replaced_by_ours() -> None:
    conn = ready(GET11)
    head = conn.send_response(200, b"OK", [(b"Transfer-Encoding", b"chunked")])
    assert head_lines(head)[1:] == [b"Transfer-Encoding: chunked"]
    assert conn.send_data(b"ab") == b"2\r\nab\r\n"


def test_app_transfer_encoding_other_than_chunked_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError, match="Transfer-Encoding"):
        ready(GET11).send_response(200, b"OK", [(b"Transfer-Encoding", b"gzip, chunked")])


def test_response_without_a_request_closes() -> None:
    conn = Connection()
    head = conn.send_response(408, b"Request Timeout", [(b"Content-Length", b"0")])
    assert head_lines(head)[-1] == b"Connection: close"
    assert conn.keep_alive is False


def test_second_response_head_is_a_local_error() -> None:
    conn = ready(GET11)
    conn.send_response(200, b"OK", [CL])
    with pytest.raises(LocalProtocolError, match="one response per request"):
        conn.send_response(200, b"OK", [CL])


def test_data_before_the_head_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError, match="send_response"):
        ready(GET11).send_data(b"x")


def test_end_before_the_head_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        ready(GET11).send_end()


EXPECTING = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"


def test_continue_is_sent_once_when_the_request_expects_it() -> None:
    conn = Connection()
    conn.receive_data(EXPECTING)
    assert isinstance(conn.next_event(), Request)
    assert conn.send_continue() == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert conn.send_continue() == b""
    conn.receive_data(b"ok")
    assert conn.next_event() == Data(b"ok")


def test_continue_is_not_sent_without_expect() -> None:
    conn = Connection()
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n")
    assert isinstance(conn.next_event(), Request)
    assert conn.send_continue() == b""


def test_continue_is_not_sent_after_the_response_started() -> None:
    conn = Connection()
    conn.receive_data(EXPECTING)
    assert isinstance(conn.next_event(), Request)
    conn.send_response(413, b"Request Entity Too Large", [(b"Content-Length", b"0")])
    assert conn.send_continue() == b""


def test_continue_is_not_sent_once_the_body_has_arrived() -> None:
    conn = Connection()
    conn.receive_data(EXPECTING + b"ok")
    assert isinstance(conn.next_event(), Request)
    assert conn.next_event() == Data(b"ok")
    assert conn.next_event() == EndOfMessage([])
    assert conn.send_continue() == b""


def test_continue_is_not_sent_for_a_body_over_the_limit() -> None:
    conn = Connection(Limits(max_body=1))
    conn.receive_data(EXPECTING)
    assert isinstance(conn.next_event(), Request)
    assert conn.send_continue() == b""
    with pytest.raises(RemoteProtocolError) as raised:
        conn.next_event()
    assert raised.value.status == 413


def test_explicit_100_response_counts_as_the_continue() -> None:
    conn = Connection()
    conn.receive_data(EXPECTING)
    assert isinstance(conn.next_event(), Request)
    assert conn.send_response(100, b"Continue", []) == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert conn.send_continue() == b""


def test_next_cycle_needs_the_response_finished() -> None:
    conn = ready(GET11)
    conn.send_response(200, b"OK", [CL])
    with pytest.raises(LocalProtocolError, match="cannot start a new cycle"):
        conn.start_next_cycle()


def test_next_cycle_needs_the_request_body_read() -> None:
    conn = Connection()
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n")
    assert isinstance(conn.next_event(), Request)
    conn.send_response(204, b"No Content", [])
    conn.send_end()
    with pytest.raises(LocalProtocolError, match="cannot start a new cycle"):
        conn.start_next_cycle()


def test_next_cycle_refused_when_the_connection_must_close() -> None:
    conn = ready(GET10)
    conn.send_response(200, b"OK", [(b"Content-Length", b"0")])
    conn.send_end()
    with pytest.raises(LocalProtocolError, match="keep_alive=False"):
        conn.start_next_cycle()
