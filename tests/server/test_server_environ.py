"""The environ a WSGI app sees, checked over a real socket (PEP 3333)."""

from __future__ import annotations

import json
import threading
from typing import Any
from wsgiref.validate import validator

import pytest
from wire import Client, get

from treadle.serving import make_server


def environ_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Echo the str/int/bool/tuple values of the environ as JSON."""
    shown = {k: v for k, v in environ.items() if isinstance(v, str | int | bool | tuple)}
    body = json.dumps(shown).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def environ_of(srv: Any, raw: bytes) -> dict[str, Any]:
    with Client(srv.server.server_address) as client:
        client.send(raw)
        resp = client.response()
    assert resp.status == 200, resp.body
    result: dict[str, Any] = json.loads(resp.body)
    return result


def test_core_cgi_variables(serve: Any) -> None:
    srv = serve(environ_app)
    env = environ_of(srv, b"GET /a%20b/c?x=%20y HTTP/1.1\r\nHost: h.example\r\n\r\n")
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == ""
    assert env["PATH_INFO"] == "/a b/c"
    assert env["QUERY_STRING"] == "x=%20y"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(srv.port)
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert int(env["REMOTE_PORT"]) > 0
    assert env["HTTP_HOST"] == "h.example"
    assert env["REQUEST_URI"] == "/a%20b/c?x=%20y"


def test_wsgi_variables_in_single_threaded_mode(serve: Any) -> None:
    env = environ_of(serve(environ_app), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert env["wsgi.version"] == [1, 0]
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.multithread"] is False
    assert env["wsgi.multiprocess"] is False
    assert env["wsgi.run_once"] is False
    assert env["wsgi.input_terminated"] is True


def test_threaded_mode_says_multithread(serve: Any) -> None:
    env = environ_of(serve(environ_app, threaded=True), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert env["wsgi.multithread"] is True


def test_utf8_path_arrives_as_latin1_decoded_bytes(serve: Any) -> None:
    env = environ_of(serve(environ_app), b"GET /caf%C3%A9 HTTP/1.1\r\nHost: h\r\n\r\n")
    assert env["PATH_INFO"].encode("latin-1").decode("utf-8") == "/café"


def test_content_headers_have_no_http_prefix(serve: Any) -> None:
    env = environ_of(serve(environ_app), b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain"
                                         b"\r\nContent-Length: 2\r\n\r\nhi")
    assert env["CONTENT_TYPE"] == "text/plain"
    assert env["CONTENT_LENGTH"] == "2"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env


def test_repeated_headers_are_joined_with_commas(serve: Any) -> None:
    env = environ_of(serve(environ_app),
                     b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nAccept: b\r\n\r\n")
    assert env["HTTP_ACCEPT"] == "a, b"


def test_repeated_cookie_headers_are_joined_with_semicolons(serve: Any) -> None:
    env = environ_of(serve(environ_app),
                     b"GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n")
    assert env["HTTP_COOKIE"] == "a=1; b=2"


def test_header_with_underscore_is_dropped_not_renamed(serve: Any) -> None:
    env = environ_of(serve(environ_app), b"GET / HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: 6.6.6.6"
                                         b"\r\nX-Real-Ip: 1.2.3.4\r\n\r\n")
    assert "HTTP_X_FORWARDED_FOR" not in env
    assert env["HTTP_X_REAL_IP"] == "1.2.3.4"


def test_double_slash_path_stays_a_path(serve: Any) -> None:
    env = environ_of(serve(environ_app), b"GET //evil.example/x HTTP/1.1\r\nHost: h\r\n\r\n")
    assert env["PATH_INFO"] == "//evil.example/x"
    assert env["HTTP_HOST"] == "h"


def test_absolute_form_target_uses_its_path_and_host(serve: Any) -> None:
    env = environ_of(serve(environ_app),
                     b"GET http://other.example/p?q HTTP/1.1\r\nHost: h\r\n\r\n")
    assert env["PATH_INFO"] == "/p"
    assert env["QUERY_STRING"] == "q"
    assert env["HTTP_HOST"] == "other.example"


def test_http_10_request(serve: Any) -> None:
    env = environ_of(serve(environ_app), b"GET / HTTP/1.0\r\n\r\n")
    assert env["SERVER_PROTOCOL"] == "HTTP/1.0"


def test_wsgi_errors_is_a_text_stream(serve: Any) -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.errors"].write("a line for the log\n")
        seen["errors"] = environ["wsgi.errors"]
        start_response("204 No Content", [])
        return []

    assert get(serve(app)).status == 204
    assert hasattr(seen["errors"], "flush")


@pytest.mark.parametrize("threaded", [False, True])
def test_validator_wrapped_app_passes(serve: Any, threaded: bool) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body) + 3))])
        return iter([b"ok:", body])

    srv = serve(validator(app), threaded=threaded)
    with Client(srv.server.server_address) as client:
        for _ in range(2):
            assert client.request("GET", "/").body == b"ok:"
            assert client.request("POST", "/x?y=1", body=b"data").body == b"ok:data"


def test_make_server_binds_a_free_port_and_reports_it() -> None:
    server = make_server("127.0.0.1", 0, environ_app)
    try:
        assert server.port > 0
        assert server.server_address == ("127.0.0.1", server.port)
    finally:
        server.server_close()


def test_shutdown_from_another_thread_returns_after_the_loop_stopped() -> None:
    server = make_server("127.0.0.1", 0, environ_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with Client(server.server_address) as client:
            assert client.request().status == 200
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
    assert not thread.is_alive()
