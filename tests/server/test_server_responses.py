"""The response side of WSGI over a real socket: bodies, write(), close(), errors, exc_info."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from wire import Client, get

App = Any


def simple(body: Any, status: str = "200 OK", headers: list[tuple[str, str]] | None = None) -> App:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response(status, headers if headers is not None else [("Content-Type", "text/plain")])
        return body() if callable(body) else body
    return app


def test_list_body_gets_a_content_length(serve: Any) -> None:
    resp = get(serve(simple([b"Hello, ", b"world"])))
    assert resp.body == b"Hello, world"
    assert resp.header("Content-Length") == "12"
    assert resp.header("Transfer-Encoding") is None


def test_server_and_date_headers_are_added(serve: Any) -> None:
    resp = get(serve(simple([b"x"])))
    assert resp.header("Server", ).startswith("treadle/")  # type: ignore[union-attr]
    assert resp.header("Date", ).endswith(" GMT")  # type: ignore[union-attr]


def test_app_server_header_wins(serve: Any) -> None:
    resp = get(serve(simple([b"x"], headers=[("Server", "mine")])))
    assert [v for k, v in resp.headers if k.lower() == "server"] == ["mine"]


def test_generator_body_is_streamed_chunked(serve: Any) -> None:
    resp = get(serve(simple(lambda: (part for part in [b"a", b"", b"bc"]))))
    assert resp.header("Transfer-Encoding") == "chunked"
    assert resp.body == b"abc"


def test_empty_generator_still_sends_the_head(serve: Any) -> None:
    resp = get(serve(simple(lambda: iter([]))))
    assert resp.status == 200 and resp.body == b""


def test_head_request_gets_headers_but_no_body(serve: Any) -> None:
    srv = serve(simple([b"twelve bytes"]))
    with Client(srv.server.server_address) as client:
        resp = client.request("HEAD", "/")
        assert resp.header("Content-Length") == "12" and resp.body == b""
        assert client.request("GET", "/").body == b"twelve bytes"


def test_empty_head_response_gets_no_invented_length(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [b"full body"]

    srv = serve(app)
    with Client(srv.server.server_address) as client:
        resp = client.request("HEAD", "/")
        assert resp.header("Content-Length") is None
        assert resp.status == 200


def test_write_callable_sends_before_the_iterable(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"first ")
        write(b"second ")
        return [b"third"]

    assert get(serve(app)).body == b"first second third"


def test_close_is_called_after_the_body_is_sent(serve: Any) -> None:
    closed = threading.Event()

    class Body:
        def __iter__(self) -> Any:
            yield b"body"

        def close(self) -> None:
            closed.set()

    assert get(serve(simple(Body))).body == b"body"
    assert closed.wait(5)


def test_close_is_called_when_iteration_fails(serve: Any) -> None:
    closed = threading.Event()

    class Body:
        def __iter__(self) -> Any:
            raise RuntimeError("boom")

        def close(self) -> None:
            closed.set()

    assert get(serve(simple(Body))).status == 500
    assert closed.wait(5)


def test_app_exception_is_a_plain_500_and_logged(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/boom":
            raise ValueError("secret detail")
        start_response("200 OK", [])
        return [b"fine"]

    srv = serve(app)
    with caplog.at_level(logging.ERROR, logger="treadle.serving"):
        resp = get(srv, "/boom")
    assert resp.status == 500
    assert resp.body.strip() == b"Internal Server Error"
    assert b"secret" not in resp.body
    assert "ValueError: secret detail" in caplog.text
    assert get(srv, "/").body == b"fine"


@pytest.mark.parametrize("threaded", [False, True])
def test_passthrough_errors_propagate_out_of_serve_forever(serve: Any, threaded: bool) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        raise KeyError("passed through")

    srv = serve(app, passthrough_errors=True, threaded=threaded)
    with Client(srv.server.server_address) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert client.closed_by_server()
    srv.thread.join(5)
    assert isinstance(srv.error, KeyError)


def test_exc_info_replaces_the_response_before_anything_was_sent(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("late")
        except ValueError:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")],
                           sys.exc_info())
        return [b"sorry"]

    resp = get(serve(app))
    assert resp.status == 503 and resp.body == b"sorry"


def test_exc_info_after_headers_were_sent_reraises_and_aborts(serve: Any) -> None:
    reraised = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"partial")
        try:
            raise ValueError("late")
        except ValueError:
            try:
                start_response("500 Oops", [], sys.exc_info())
            except ValueError:
                reraised.set()
                raise
        return []

    srv = serve(app)
    with Client(srv.server.server_address) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        with pytest.raises(Exception):  # noqa: B017 - a truncated chunked body, any error
            client.response()
    assert reraised.wait(5)


def test_start_response_twice_without_exc_info_is_an_error(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        start_response("201 Created", [])
        return [b""]

    assert get(serve(app)).status == 500


@pytest.mark.parametrize("status,headers", [
    ("200OK", []),
    ("OK", []),
    ("200 OK", [("Bad Name", "v")]),
    ("200 OK", [("X-Split", "a\r\nInjected: 1")]),
    ("200 OK", [("X-Bytes", b"v")]),
    ("200 OK", [("X-Euro", "\u20ac")]),
    ("200 OK\r\nX: y", []),
])
def test_invalid_status_or_headers_give_500_and_nothing_invalid(
        serve: Any, status: str, headers: list[tuple[str, Any]]) -> None:
    resp = get(serve(simple([b"body"], status=status, headers=headers)))
    assert resp.status == 500
    assert resp.header("Injected") is None and resp.header("X") is None


def test_str_body_is_a_500_not_a_crash(serve: Any) -> None:
    srv = serve(simple(["text"]))
    assert get(srv).status == 500
    assert get(srv).status == 500


def test_body_longer_than_content_length_never_reaches_the_wire(serve: Any) -> None:
    resp = get(serve(simple([b"too long"], headers=[("Content-Length", "3")])))
    assert resp.status == 500


def test_file_wrapper_sends_a_file(serve: Any, tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    path = tmp_path / "blob"
    path.write_bytes(data)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        f = path.open("rb")
        start_response("200 OK", [("Content-Length", str(len(data)))])
        return environ["wsgi.file_wrapper"](f, 8192)

    assert get(serve(app)).body == data


def test_file_wrapper_without_length_is_iterated(serve: Any, tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"abc" * 10000)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](path.open("rb"))

    resp = get(serve(app))
    assert resp.body == b"abc" * 10000
    assert resp.header("Transfer-Encoding") == "chunked"


def test_file_wrapper_from_an_offset_sends_the_rest(serve: Any, tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"0123456789")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        f = path.open("rb")
        f.seek(4)
        start_response("200 OK", [("Content-Length", "6")])
        return environ["wsgi.file_wrapper"](f)

    assert get(serve(app)).body == b"456789"


@pytest.mark.parametrize("threaded", [False, True], ids=["single", "threaded"])
def test_file_wrapper_responses_keep_the_connection_alive(serve: Any, tmp_path: Path,
                                                          threaded: bool) -> None:
    # Sent by sendfile, outside the protocol layer's view; it must still frame them,
    # or a keep-alive client (nginx's upstream pool) waits on a dead connection.
    path = tmp_path / "blob"
    path.write_bytes(b"0123456789" * 1000)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Length", "10000")])
        return environ["wsgi.file_wrapper"](path.open("rb"))

    srv = serve(app, threaded=threaded)
    with Client(srv.server.server_address) as client:
        for _ in range(3):
            resp = client.request()
            assert resp.body == b"0123456789" * 1000
            assert resp.header("Connection") is None
        assert client.request("HEAD").body == b""
        assert client.request().body == b"0123456789" * 1000


def test_file_shorter_than_its_content_length_closes_the_connection(serve: Any,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"0123456789")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Length", "20")])
        return environ["wsgi.file_wrapper"](path.open("rb"))

    srv = serve(app, threaded=True)
    with Client(srv.server.server_address) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        head_and_body = b""
        while True:
            data = client.sock.recv(65536)
            if not data:
                break
            head_and_body += data
    assert head_and_body.startswith(b"HTTP/1.1 200 ")
    assert head_and_body.endswith(b"\r\n\r\n0123456789")


def test_http_10_client_gets_a_close_delimited_stream(serve: Any) -> None:
    srv = serve(simple(lambda: iter([b"a", b"b"])))
    with Client(srv.server.server_address) as client:
        client.send(b"GET / HTTP/1.0\r\n\r\n")
        resp = client.response()
        assert resp.body == b"ab"
        assert client.closed_by_server()
