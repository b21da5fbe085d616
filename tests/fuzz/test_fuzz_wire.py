"""Property test over a real socket: mutated requests get well-formed 4xx/5xx answers, never a 500.

One threaded server (small limits) runs an app that reads every client-controlled
part through :class:`Request`; each example is one connection whose bytes end
with EOF, so every answer is bounded. A 500 would mean some layer crashed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadle.exceptions import HTTPException
from treadle.http.limits import Limits
from treadle.serving import make_server
from treadle.wrappers import Request

EXAMPLES = int(os.environ.get("TREADLE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=5000,
                derandomize="TREADLE_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TIMEOUT = 5.0
STATUS_LINE = re.compile(rb"HTTP/1\.1 ([1-5]\d\d) [^\r\n]*\r\n")
# What a client may legitimately get back from this app and server.
ANSWERS = frozenset({200, 400, 408, 413, 414, 415, 431, 501, 505})

MULTIPART = (b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n"
             b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n"
             b"Content-Type: text/plain\r\n\r\ndata\r\n--b--\r\n")
SEEDS = [
    b"GET /p?a=1&b=%C3%A9&c HTTP/1.1\r\nHost: a\r\nCookie: s=1; t=\"x\\\"y\"\r\n"
    b"Accept: text/html;q=0.9, */*;q=0.1\r\nRange: bytes=0-9,-5\r\nIf-None-Match: W/\"e\", \"f\"\r\n\r\n",
    b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 11\r\n\r\na=1&b=x+y&c",
    b"POST /m HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=b\r\n"
    b"Content-Length: %d\r\n\r\n" % len(MULTIPART) + MULTIPART,
    b"POST /j HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\nb\r\n{\"a\": [1, \r\n4\r\n2.5]}\r\n0\r\n\r\n",
    b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
    b"GET /3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
]
FRAGMENTS = [
    b"\r\n", b"\r", b"\n", b" ", b"\t", b"\x00", b"\x0b", b"\xa0", b":", b";", b",", b"=", b'"',
    b"%", b"%zz", b"&", b"--b", b"\r\n--b--", b"0", b"f", b"Content-Length: 3\r\n",
    b"Transfer-Encoding: chunked\r\n", b"Host: b\r\n", b"0\r\n\r\n", b"Expect: 100-continue\r\n",
    b"Content-Type: application/json\r\n", b"Cookie: a=\"\\\r\n", b"\r\n\r\n", b"{", b"[",
]


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Read every client-controlled part a view might; answer 200 or the documented 4xx."""
    request = Request(environ)
    try:
        seen = [request.args.to_dict(flat=False), request.cookies.to_dict(flat=False),
                list(request.accept_mimetypes), request.if_none_match.to_header(),
                str(request.range), request.form.to_dict(flat=False), sorted(request.files),
                request.get_json(silent=True) if request.is_json else None, request.url]
        status, body = "200 OK", json.dumps(seen, default=str).encode()
    except HTTPException as error:
        status, body = f"{error.code} {error.name}", b""
    finally:
        request.close()
    start_response(status, [("Content-Type", "application/json")])
    return [body]


@contextlib.contextmanager
def serving() -> Iterator[tuple[str, int]]:
    """The fuzzed server, threaded with small limits, stopped on exit (fuzz/run.py uses it too)."""
    limits = Limits(max_request_line=200, max_header_field=200, max_head=1000, max_headers=12,
                    max_body=300, max_chunk_line=40, max_trailers_size=100)
    server = make_server("127.0.0.1", 0, app, threaded=True, body_timeout=2.0,
                         header_timeout=2.0, limits=limits)
    thread = threading.Thread(target=server.serve_forever, name="fuzz-server", daemon=True)
    thread.start()
    try:
        yield server.host, server.port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    with serving() as found:
        yield found


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(FRAGMENTS) | st.binary(min_size=1, max_size=4))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        elif kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 30))]
    return bytes(data)


def exchange(address: tuple[str, int], data: bytes) -> bytes:
    """Send ``data`` then EOF; everything the server answers before it closes (bounded)."""
    deadline = time.monotonic() + TIMEOUT
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        with contextlib.suppress(OSError):  # refused mid-way: read what it said
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise AssertionError(f"no close after {data!r}; got {bytes(received)!r}") from None
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return bytes(received)


def check_answer(address: tuple[str, int], data: bytes) -> None:
    """The property: any bytes get well-formed, documented answers, then a close."""
    raw = exchange(address, data)
    statuses = [int(code) for code in STATUS_LINE.findall(raw)]
    assert raw == b"" or raw.startswith(b"HTTP/1.1 "), raw[:80]
    assert not set(statuses) - ANSWERS - {100}, f"{statuses} for {data!r}"


@FUZZ
@given(data=mutated())
def test_mutated_requests_get_documented_answers_and_never_a_500(
        address: tuple[str, int], data: bytes) -> None:
    check_answer(address, data)
