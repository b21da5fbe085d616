"""Property tests: arbitrary and mutated requests, fed in random splits, end in documented outcomes.

Bounded for CI; set ``TREADLE_FUZZ_EXAMPLES`` (e.g. 20000) to search longer.
"""

from __future__ import annotations

import os
from itertools import pairwise
from typing import Any

import httptools
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadle.http.connection import Connection
from treadle.http.errors import LocalProtocolError, RemoteProtocolError
from treadle.http.events import NEED_DATA, PAUSED, ConnectionClosed, Data, EndOfMessage, Request
from treadle.http.limits import Limits

EXAMPLES = int(os.environ.get("TREADLE_FUZZ_EXAMPLES", "250"))
FUZZ = settings(max_examples=EXAMPLES, deadline=1000, derandomize="TREADLE_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SEEDS = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /p?q=1 HTTP/1.0\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n",
    b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer: t\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"HEAD http://a/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
]
FRAGMENTS = [
    b"\r\n", b"\r", b"\n", b" ", b"\t", b"\x00", b"\x0b", b"\xa0", b":", b";", b",", b"=", b'"',
    b"0", b"1", b"f", b"x", b"_", b"-", b"+", b"chunked", b"Content-Length: 3\r\n",
    b"Transfer-Encoding: chunked\r\n", b"Host: b\r\n", b"0\r\n\r\n", b"HTTP/1.1", b"GET ",
    b"\r\n\r\n", b" HTTP/2.0", b"Connection: close\r\n", b"\r\n ",
]
SMALL = Limits(max_request_line=40, max_header_field=40, max_head=120, max_headers=3,
               max_body=8, max_chunk_line=12, max_trailers_size=20)

Summary = list[Any]


def run(data: bytes, cuts: list[int], limits: Limits | None) -> tuple[Summary, int | None]:
    """Serve ``data`` split at ``cuts``; return what was read and the error status, if any."""
    conn = Connection(limits)
    edges = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    pieces = [data[a:b] for a, b in pairwise(edges) if b > a] + [b""]
    feed = iter(pieces)
    seen: Summary = []
    consumed = 0
    for _ in range(10 * len(data) + 100):
        try:
            event = conn.next_event()
        except RemoteProtocolError as exc:
            assert 400 <= exc.status <= 599, exc
            assert exc.message and exc.message.isascii()
            try:
                conn.next_event()
                raise AssertionError("an error must repeat")
            except RemoteProtocolError:
                pass
            assert conn.keep_alive is False
            assert conn.error_response(exc).startswith(b"HTTP/1.1 %d " % exc.status)
            return seen, exc.status
        if event is NEED_DATA:
            piece = next(feed, None)
            assert piece is not None, "NEED_DATA after EOF: the connection would hang"
            consumed += len(piece)
            conn.receive_data(piece)
        elif isinstance(event, Request):
            seen.append([event.method, event.target, event.http_version, event.headers,
                         event.keep_alive, event.content_length, event.chunked, b""])
        elif isinstance(event, Data):
            assert event.data
            seen[-1][-1] += event.data
        elif isinstance(event, EndOfMessage):
            seen[-1].append(event.trailers)
            request_body = seen[-1][-2]
            assert len(request_body) <= consumed
        elif event is PAUSED:
            conn.send_response(200, b"OK", [(b"Content-Length", b"0")])
            conn.send_end()
            if not conn.keep_alive:
                return seen, None
            conn.start_next_cycle()
        else:
            assert isinstance(event, ConnectionClosed)
            return seen, None
    raise AssertionError("no progress: the connection loops without consuming input")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(FRAGMENTS) | st.binary(min_size=1, max_size=4))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 6))]
        elif kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 20))]
    return bytes(data)


cuts = st.lists(st.integers(0, 10_000), max_size=12)
limits = st.sampled_from([None, SMALL])


@FUZZ
@given(data=mutated(), cuts=cuts, limits=limits)
def test_mutated_requests_end_in_documented_outcomes_whatever_the_split(
        data: bytes, cuts: list[int], limits: Limits | None) -> None:
    seen, status = run(data, cuts, limits)
    whole_seen, whole_status = run(data, [], limits)
    # Splitting may change which rule fires first, never whether the input is accepted.
    assert seen == whole_seen
    assert (status is None) == (whole_status is None)


@FUZZ
@given(data=st.binary(max_size=300), cuts=cuts, limits=limits)
def test_arbitrary_bytes_end_in_documented_outcomes(
        data: bytes, cuts: list[int], limits: Limits | None) -> None:
    run(data, cuts, limits)


@FUZZ
@given(seed=st.sampled_from(SEEDS), cuts=cuts)
def test_valid_requests_parse_identically_in_any_split(seed: bytes, cuts: list[int]) -> None:
    seen, status = run(seed, cuts, None)
    assert status is None
    assert seen == run(seed, [], None)[0]


class _ResponseSink:
    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))


field_bytes = st.binary(max_size=12) | st.sampled_from([b"X", b"a\r\nInjected: 1", b"v\n", b"ok"])


@FUZZ
@given(reason=field_bytes, headers=st.lists(st.tuples(field_bytes, field_bytes), max_size=4))
def test_response_head_is_refused_or_reads_back_exactly(
        reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    conn = Connection()
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    conn.next_event()
    conn.next_event()
    try:
        head = conn.send_response(200, reason, headers)
    except LocalProtocolError:
        return
    sink = _ResponseSink()
    parser = httptools.HttpResponseParser(sink)
    parser.set_dangerous_leniencies(lenient_headers=True)
    parser.feed_data(head)
    framing = {b"content-length", b"transfer-encoding", b"connection"}
    sent = [(n, v.strip(b" \t")) for n, v in sink.headers if n.lower() not in framing]
    given_back = [(n, v.strip(b" \t")) for n, v in headers if n.lower() not in framing]
    assert sent == given_back
