"""Hostile requests over real sockets: smuggling, strict framing, limits and unsafe responses.

Every bad request is sent in one write with a valid request queued behind it;
the server must answer once with the documented status and ``Connection:
close``, close the connection, and never let the queued request reach the app.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest
from wire import read_to_close

from treadle import Treadle, redirect, request
from treadle.http.limits import Limits

TIMEOUT = 5.0
BEHIND = b"GET /behind HTTP/1.1\r\nHost: a\r\n\r\n"
CHUNKED_HEAD = b"POST /bad HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


class Recorder:
    """A WSGI app noting each request it served as (path, body), under a lock.

    A request is noted only once its body was read whole, so a body the
    server refused mid-way never counts as seen.
    """

    def __init__(self, read_body: bool = True) -> None:
        self.read_body = read_body
        self.lock = threading.Lock()
        self.seen: list[tuple[str, bytes]] = []
        self.environs: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read() if self.read_body else b""
        with self.lock:
            self.seen.append((environ["PATH_INFO"], body))
            self.environs.append(dict(environ))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"seen " + environ["PATH_INFO"].encode("latin-1")]

    @property
    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.seen]


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


def talk(srv: Any, data: bytes, timeout: float = TIMEOUT) -> bytes:
    """Send ``data`` in one write and read until the server closes (failing if it never does)."""
    with socket.create_connection((srv.host, srv.port), timeout=timeout) as sock:
        send_quietly(sock, data)
        return read_to_close(sock, timeout)


def send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send ``data``; the server closing first (refusing the rest) is an allowed answer."""
    with contextlib.suppress(OSError):
        sock.sendall(data)


def replies(raw: bytes, bodiless: int = 0) -> list[Reply]:
    """Split a response stream framed by Content-Length; the first ``bodiless`` have no body."""
    found = []
    while raw:
        head, sep, raw = raw.partition(b"\r\n\r\n")
        assert sep, f"incomplete response head: {head!r}"
        status_line, *lines = head.decode("latin-1").split("\r\n")
        version, code, _ = status_line.split(" ", 2)
        assert version == "HTTP/1.1", status_line
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        size = 0 if len(found) < bodiless else int(headers.get("content-length", "0"))
        found.append(Reply(int(code), headers, raw[:size]))
        raw = raw[size:]
    return found


def refused(srv: Any, recorder: Recorder, data: bytes, status: int) -> Reply:
    """Send a bad request with a good one behind it; assert one closing error and no app call."""
    [reply] = replies(talk(srv, data + BEHIND))
    assert reply.status == status, reply
    assert reply.headers["connection"] == "close"
    assert recorder.paths == []
    return reply


@pytest.fixture(params=["single", "threaded"])
def mode(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"threaded": request.param == "threaded"}


def post(header: bytes, body: bytes = b"x") -> bytes:
    """A POST to /bad with one extra header line (given without its CRLF)."""
    return b"POST /bad HTTP/1.1\r\nHost: a\r\n" + header + b"\r\n\r\n" + body


# --- 1. Content-Length ------------------------------------------------------------------------

BAD_CONTENT_LENGTHS = {
    "plus sign": b"+1",
    "minus zero": b"-0",
    "underscore": b"0_1",
    "hex": b"0x1",
    "two numbers": b"1 2",
    "list of equal values": b"1, 1",
    "list without space": b"1,1",
    "empty": b"",
    "nineteen digits": b"1" * 19,
    "letters": b"one",
}


@pytest.mark.parametrize("value", BAD_CONTENT_LENGTHS.values(), ids=BAD_CONTENT_LENGTHS.keys())
def test_malformed_content_length_is_400(serve: Any, mode: Any, value: bytes) -> None:
    recorder = Recorder()
    refused(serve(recorder, **mode), recorder, post(b"Content-Length: " + value), 400)


@pytest.mark.parametrize("second", [b"2", b"1"], ids=["differing", "identical"])
def test_duplicate_content_length_is_400(serve: Any, mode: Any, second: bytes) -> None:
    recorder = Recorder()
    data = post(b"Content-Length: 1\r\nContent-Length: " + second)
    refused(serve(recorder, **mode), recorder, data, 400)


# --- 2. Transfer-Encoding ---------------------------------------------------------------------

BAD_TRANSFER_ENCODINGS = {
    "chunked not last": (b"Transfer-Encoding: chunked, gzip", 400),
    "unknown coding": (b"Transfer-Encoding: foo", 400),
    "chunked twice": (b"Transfer-Encoding: chunked, chunked", 400),
    "chunked in two fields": (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", 400),
    "empty": (b"Transfer-Encoding: ", 400),
    "vertical tab before chunked": (b"Transfer-Encoding: \x0bchunked", 400),
    "form feed before chunked": (b"Transfer-Encoding: \x0cchunked", 400),
    "nbsp before chunked": (b"Transfer-Encoding: \xa0chunked", 400),
    "nul after chunked": (b"Transfer-Encoding: chunked\x00", 400),
    "space before colon": (b"Transfer-Encoding : chunked", 400),
    "with Content-Length before": (b"Content-Length: 5\r\nTransfer-Encoding: chunked", 400),
    "with Content-Length after": (b"Transfer-Encoding: chunked\r\nContent-Length: 5", 400),
    # Documented in treadle.http.connection: a known framing with other codings is 501.
    "gzip then chunked": (b"Transfer-Encoding: gzip, chunked", 501),
}


@pytest.mark.parametrize("header,status", BAD_TRANSFER_ENCODINGS.values(),
                         ids=BAD_TRANSFER_ENCODINGS.keys())
def test_bad_transfer_encoding_is_refused(serve: Any, mode: Any, header: bytes,
                                          status: int) -> None:
    recorder = Recorder()
    refused(serve(recorder, **mode), recorder, post(header, b"0\r\n\r\n"), status)


def test_transfer_encoding_in_http_10_is_400(serve: Any, mode: Any) -> None:
    recorder = Recorder()
    data = b"POST /bad HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    refused(serve(recorder, **mode), recorder, data, 400)


def test_underscore_transfer_encoding_does_not_frame_the_body(serve: Any, mode: Any) -> None:
    recorder = Recorder()
    srv = serve(recorder, **mode)
    smuggled = b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
    raw = talk(srv, b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n" + smuggled)
    first, second = replies(raw)
    # The request has no body; what follows it is the next request, and a bad one.
    assert first.status == 200 and second.status == 400
    assert second.headers["connection"] == "close"
    assert recorder.seen == [("/x", b"")]
    assert "HTTP_TRANSFER_ENCODING" not in recorder.environs[0]


# --- 3. bytes RFC 9112 forbids, Host, method and version --------------------------------------

BAD_HEADS = {
    "bare LF ending the request line": (b"GET /bad HTTP/1.1\nHost: a\r\n\r\n", 400),
    "bare CR ending the request line": (b"GET /bad HTTP/1.1\rHost: a\r\n\r\n", 400),
    "NUL in the target": (b"GET /b\x00ad HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "NUL in the method": (b"GE\x00T /bad HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "NUL in the version": (b"GET /bad HTTP/1.1\x00\r\nHost: a\r\n\r\n", 400),
    "bare LF ending a field line": (b"GET /bad HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n", 400),
    "bare CR inside a field line": (b"GET /bad HTTP/1.1\r\nHost: a\rX-A: b\r\n\r\n", 400),
    "bare LF ending the head": (b"GET /bad HTTP/1.1\r\nHost: a\r\n\n", 400),
    "NUL in a field value": (b"GET /bad HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n", 400),
    "NUL in a field name": (b"GET /bad HTTP/1.1\r\nHost: a\r\nX\x00A: b\r\n\r\n", 400),
    "space before the colon": (b"GET /bad HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", 400),
    "tab before the colon": (b"GET /bad HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n", 400),
    "obs-fold with a space": (b"GET /bad HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400),
    "obs-fold with a tab": (b"GET /bad HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400),
    "field line without a colon": (b"GET /bad HTTP/1.1\r\nHost: a\r\nX-A b\r\n\r\n", 400),
    "duplicate Host": (b"GET /bad HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    "missing Host on HTTP/1.1": (b"GET /bad HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
    "invalid method token": (b"G(T /bad HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "method with a slash": (b"GE/T /bad HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "HTTP/0.99": (b"GET /bad HTTP/0.99\r\nHost: a\r\n\r\n", 400),
    "lower-case version": (b"GET /bad http/1.1\r\nHost: a\r\n\r\n", 400),
    "HTTP/2.0": (b"GET /bad HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    "HTTP/3.0": (b"GET /bad HTTP/3.0\r\nHost: a\r\n\r\n", 505),
    "missing target": (b"GET HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "empty target": (b"GET  HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "two spaces before the version": (b"GET /bad  HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "target without a slash": (b"GET bad HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "asterisk with GET": (b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "CONNECT": (b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 400),
    "TLS ClientHello on a plain port": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
}


@pytest.mark.parametrize("data,status", BAD_HEADS.values(), ids=BAD_HEADS.keys())
def test_bad_request_head_is_refused(serve: Any, mode: Any, data: bytes, status: int) -> None:
    recorder = Recorder()
    refused(serve(recorder, **mode), recorder, data, status)


BAD_CHUNK_LINES = {
    "non-hex size": b"zz\r\nx\r\n0\r\n\r\n",
    "underscore in size": b"1_0\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n",
    "leading space": b" 1\r\nx\r\n0\r\n\r\n",
    "trailing space": b"1 \r\nx\r\n0\r\n\r\n",
    "plus sign": b"+1\r\nx\r\n0\r\n\r\n",
    "hex prefix": b"0x1\r\nx\r\n0\r\n\r\n",
    "seventeen hex digits": b"0" * 16 + b"1\r\nx\r\n0\r\n\r\n",
    "size overflowing 64 bits": b"1" + b"0" * 16 + b"\r\nx\r\n0\r\n\r\n",
    "empty size": b"\r\nx\r\n0\r\n\r\n",
    "NUL in the size line": b"1\x00\r\nx\r\n0\r\n\r\n",
    "bare LF after the size": b"1\nx\r\n0\r\n\r\n",
    "bare CR after the size": b"1\rx\r\n0\r\n\r\n",
    "extension without a name": b"1;\r\nx\r\n0\r\n\r\n",
    "extension with an open quote": b'1;a="b\r\nx\r\n0\r\n\r\n',
    "extension with a control byte": b"1;a=\x01\r\nx\r\n0\r\n\r\n",
    "oversize extension": b"1;a=" + b"b" * 2000 + b"\r\nx\r\n0\r\n\r\n",
    "data longer than its size": b"1\r\nxy\r\n0\r\n\r\n",
    "bare LF after the data": b"1\r\nx\n0\r\n\r\n",
    "NUL in a trailer": b"1\r\nx\r\n0\r\nX-T: a\x00b\r\n\r\n",
    "bare LF in the trailers": b"1\r\nx\r\n0\r\nX-T: a\n\r\n",
}


@pytest.mark.parametrize("body", BAD_CHUNK_LINES.values(), ids=BAD_CHUNK_LINES.keys())
def test_bad_chunked_body_is_400(serve: Any, mode: Any, body: bytes) -> None:
    recorder = Recorder()
    refused(serve(recorder, **mode), recorder, CHUNKED_HEAD + body, 400)


def test_chunk_data_without_its_crlf_is_answered_within_the_body_timeout(
        serve: Any, mode: Any) -> None:
    recorder = Recorder()
    srv = serve(recorder, body_timeout=0.5, **mode)
    started = time.monotonic()
    [reply] = replies(talk(srv, CHUNKED_HEAD + b"1\r\nx"))  # and then nothing
    assert time.monotonic() - started < 3.0
    assert reply.status == 408 and reply.headers["connection"] == "close"
    assert recorder.paths == []


# --- 5. and 6. pipelining and unread bodies ---------------------------------------------------

def test_bad_request_between_good_ones_stops_the_connection(serve: Any, mode: Any) -> None:
    recorder = Recorder()
    srv = serve(recorder, **mode)
    bad = post(b"Content-Length: 1\r\nContent-Length: 2")
    raw = talk(srv, b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n" + bad + b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
    first, error = replies(raw)
    assert first.status == 200 and first.body == b"seen /a"
    assert "connection" not in first.headers
    assert error.status == 400 and error.headers["connection"] == "close"
    assert recorder.paths == ["/a"]


@pytest.mark.parametrize("first", [
    b"GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /a HTTP/1.0\r\n\r\n",
], ids=["Connection: close", "HTTP/1.0"])
def test_nothing_after_a_closing_request_is_served(serve: Any, mode: Any, first: bytes) -> None:
    recorder = Recorder()
    srv = serve(recorder, **mode)
    [reply] = replies(talk(srv, first + BEHIND))
    assert reply.status == 200 and reply.headers["connection"] == "close"
    assert recorder.paths == ["/a"]


def big_body_with_a_request_inside(size: int) -> bytes:
    inner = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
    return inner * (size // len(inner)) + b"x" * (size % len(inner))


@pytest.mark.parametrize("size", [1 << 20, 2000], ids=["1MB closes", "small is drained"])
def test_unread_body_is_never_parsed_as_requests(serve: Any, mode: Any, size: int) -> None:
    recorder = Recorder(read_body=False)
    srv = serve(recorder, **mode)
    body = big_body_with_a_request_inside(size)
    data = (b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % size + body
            + b"GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    with socket.create_connection((srv.host, srv.port), timeout=TIMEOUT) as sock:
        # A thread sends, so a server that stops reading cannot block this test.
        sender = threading.Thread(target=send_quietly, args=(sock, data), daemon=True)
        sender.start()
        raw = read_to_close(sock)
        sender.join(TIMEOUT)
    found = replies(raw)
    assert found[0].status == 200 and found[0].body == b"seen /big"
    if len(found) == 1:
        assert found[0].headers["connection"] == "close"
        assert recorder.paths == ["/big"]
    else:
        assert [r.body for r in found] == [b"seen /big", b"seen /next"]
        assert recorder.paths == ["/big", "/next"]
    assert size < 65536 or len(found) == 1  # over max_drain the server must close


# --- 7. header names with underscores ----------------------------------------------------------

def test_underscore_header_names_never_reach_the_environ(serve: Any, mode: Any) -> None:
    recorder = Recorder()
    srv = serve(recorder, **mode)
    talk(srv, b"GET /u HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 6.6.6.6\r\n"
              b"X-Forwarded_For: 6.6.6.7\r\nContent_Type: text/evil\r\nConnection: close\r\n\r\n")
    [environ] = recorder.environs
    assert "HTTP_X_FORWARDED_FOR" not in environ
    assert "HTTP_CONTENT_TYPE" not in environ and "CONTENT_TYPE" not in environ
    assert "6.6.6" not in repr(environ)


def test_underscore_header_cannot_join_the_real_one(serve: Any, mode: Any) -> None:
    recorder = Recorder()
    srv = serve(recorder, **mode)
    talk(srv, b"GET /u HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 6.6.6.6\r\n"
              b"X-Forwarded-For: 1.2.3.4\r\nConnection: close\r\n\r\n")
    assert recorder.environs[0]["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"


# --- 8. unsafe responses from the app -----------------------------------------------------------

UNSAFE_RESPONSES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "CRLF in the status": ("200 OK\r\nX-Injected: 1", []),
    "LF in the status": ("200 OK\nX-Injected: 1", []),
    "NUL in the status": ("200 OK\x00X-Injected", []),
    "CRLF in a header value": ("200 OK", [("X-A", "v\r\nX-Injected: 1")]),
    "bare CR in a header value": ("200 OK", [("X-A", "v\rX-Injected: 1")]),
    "LF in a header value": ("200 OK", [("X-A", "v\nX-Injected: 1")]),
    "NUL in a header value": ("200 OK", [("X-A", "v\x00X-Injected")]),
    "LF in a header name": ("200 OK", [("X-Injected: 1\nX-A", "v")]),
    "CR in a header name": ("200 OK", [("X-Injected\rX-A", "v")]),
    "NUL in a header name": ("200 OK", [("X-Injected\x00", "v")]),
    "colon in a header name": ("200 OK", [("X-Injected: 1", "v")]),
    "space in a header name": ("200 OK", [("X-Injected 1", "v")]),
    "empty header name": ("200 OK", [("", "X-Injected")]),
}


@pytest.mark.parametrize("status,headers", UNSAFE_RESPONSES.values(), ids=UNSAFE_RESPONSES.keys())
def test_unsafe_status_or_header_is_500_and_never_sent(
        serve: Any, mode: Any, status: str, headers: list[tuple[str, str]]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(status, headers)
        return [b"X-Injected body"]

    srv = serve(app, **mode)
    raw = talk(srv, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" + BEHIND)
    [reply] = replies(raw)
    assert reply.status == 500 and reply.headers["connection"] == "close"
    assert b"X-Injected" not in raw


def framing_app(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if path == "/204":
        start_response("204 No Content", [])
        return [b"body bytes"]
    if path == "/304":
        start_response("304 Not Modified", [("Content-Length", "10"), ("ETag", '"e"')])
        return [b"body bytes"]
    if path == "/head":
        start_response("200 OK", [("Content-Length", "10")])
        return iter([b"body ", b"bytes"])
    if path == "/short":
        start_response("200 OK", [("Content-Length", "10")])
        return iter([b"short"])
    if path == "/long":
        start_response("200 OK", [("Content-Length", "4")])
        return iter([b"long", b" and longer"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"next"]


@pytest.mark.parametrize("request_line", [b"GET /204", b"GET /304", b"HEAD /head"])
def test_bodiless_responses_send_no_body_bytes(serve: Any, mode: Any,
                                               request_line: bytes) -> None:
    srv = serve(framing_app, **mode)
    raw = talk(srv, request_line + b" HTTP/1.1\r\nHost: a\r\n\r\n"
                    b"GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    first, second = replies(raw, bodiless=1)
    assert first.status in (200, 204, 304) and first.body == b""
    assert "connection" not in first.headers
    assert second.status == 200 and second.body == b"next"
    assert b"body" not in raw


@pytest.mark.parametrize("path,sent", [(b"/short", b"short"), (b"/long", b"long")])
def test_body_not_matching_content_length_closes_the_connection(
        serve: Any, mode: Any, path: bytes, sent: bytes) -> None:
    srv = serve(framing_app, **mode)
    raw = talk(srv, b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n" + BEHIND)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == sent  # never more than declared, and no next response


# --- 9. protocol-relative paths ------------------------------------------------------------------

def test_double_slash_path_is_kept_as_the_path(serve: Any, mode: Any) -> None:
    recorder = Recorder()
    srv = serve(recorder, **mode)
    talk(srv, b"GET //evil.example/path?q=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    [environ] = recorder.environs
    assert environ["PATH_INFO"] == "//evil.example/path"
    assert environ["QUERY_STRING"] == "q=1"
    assert environ["HTTP_HOST"] == "a"


def redirecting_app() -> Treadle:
    app = Treadle(__name__)

    @app.route("/evil.example/path/")
    def with_slash() -> str:
        return "slash"

    @app.route("/login")
    def login() -> str:
        return "login"

    @app.route("/go")
    def go() -> Any:
        return redirect("/login")

    @app.route("/evil.example/back")
    def back() -> Any:
        return redirect(request.path)

    return app


@pytest.mark.parametrize("target", [b"//evil.example/path", b"///evil.example/path",
                                    b"//evil.example/back", b"//go"])
def test_redirects_from_double_slash_paths_stay_on_the_host(serve: Any, mode: Any,
                                                            target: bytes) -> None:
    srv = serve(redirecting_app(), **mode)
    raw = talk(srv, b"GET " + target + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    [reply] = replies(raw)
    assert 300 <= reply.status < 400
    location = reply.headers["location"]
    assert not location.startswith(("//", "/\\")), location
    assert urlsplit(location).netloc in ("", "a"), location


def test_backslash_path_is_not_taken_for_a_host(serve: Any, mode: Any) -> None:
    srv = serve(redirecting_app(), **mode)
    raw = talk(srv, b"GET /\\evil.example/path HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    [reply] = replies(raw)
    assert reply.status == 404 and "location" not in reply.headers


# --- limits ----------------------------------------------------------------------------------------

SMALL = Limits(max_request_line=100, max_header_field=100, max_head=400, max_headers=5,
               max_body=50, max_chunk_line=64, max_trailers_size=100)


@pytest.mark.parametrize("data,status", [
    (b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: " + b"a" * 200 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: a\r\n" + (b"X-A: " + b"a" * 92 + b"\r\n") * 4 + b"\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-A: a\r\n" * 5 + b"\r\n", 431),
], ids=["request line", "one header field", "whole head", "header count"])
def test_head_over_a_limit_is_refused(serve: Any, mode: Any, data: bytes, status: int) -> None:
    recorder = Recorder()
    refused(serve(recorder, limits=SMALL, **mode), recorder, data, status)


def test_head_limits_apply_before_the_head_is_complete(serve: Any, mode: Any) -> None:
    recorder = Recorder()
    srv = serve(recorder, limits=SMALL, **mode)
    with socket.create_connection((srv.host, srv.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: " + b"a" * 1000)  # no end in sight
        [reply] = replies(read_to_close(sock))
    assert reply.status == 431
    assert recorder.paths == []


def test_content_length_over_max_body_is_413_before_the_body_is_sent(serve: Any,
                                                                     mode: Any) -> None:
    recorder = Recorder()
    srv = serve(recorder, limits=SMALL, **mode)
    with socket.create_connection((srv.host, srv.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000\r\n\r\n")
        [reply] = replies(read_to_close(sock))
    assert reply.status == 413 and reply.headers["connection"] == "close"
    assert recorder.paths == []


def test_chunked_body_over_max_body_is_413(serve: Any, mode: Any) -> None:
    recorder = Recorder()
    body = b"20\r\n" + b"x" * 32 + b"\r\n" + b"20\r\n" + b"x" * 32 + b"\r\n0\r\n\r\n"
    refused(serve(recorder, limits=SMALL, **mode), recorder, CHUNKED_HEAD + body, 413)


def test_chunked_body_claiming_a_huge_chunk_is_413_at_once(serve: Any, mode: Any) -> None:
    recorder = Recorder()
    srv = serve(recorder, limits=SMALL, **mode)
    with socket.create_connection((srv.host, srv.port), timeout=TIMEOUT) as sock:
        sock.sendall(CHUNKED_HEAD + b"ffffffffffffffff\r\n")
        [reply] = replies(read_to_close(sock))
    assert reply.status == 413
    assert recorder.paths == []


def test_requests_within_the_limits_are_served(serve: Any, mode: Any) -> None:
    recorder = Recorder()
    srv = serve(recorder, limits=SMALL, **mode)
    raw = talk(srv, b"POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n"
                    b"Connection: close\r\n\r\n" + b"y" * 50)
    [reply] = replies(raw)
    assert reply.status == 200
    assert recorder.seen == [("/ok", b"y" * 50)]


def test_expect_continue_over_max_body_gets_413_without_100_continue(serve: Any,
                                                                     mode: Any) -> None:
    recorder = Recorder()
    srv = serve(recorder, limits=SMALL, **mode)
    with socket.create_connection((srv.host, srv.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        raw = read_to_close(sock)
    assert raw.startswith(b"HTTP/1.1 413 "), raw
    assert recorder.paths == []
