"""The request handler's hook points and the access log."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from wire import Client, get

from treadle.serving import WSGIRequestHandler


class AccessLog(logging.Handler):
    """Collects treadle.serving lines; the server logs after it responds, so tests wait."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.lines.append(record.getMessage())
            self.changed.notify_all()

    def wait(self, count: int) -> list[str]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.lines) >= count, timeout=5)
            return list(self.lines)


@pytest.fixture
def access_log() -> Iterator[AccessLog]:
    logger = logging.getLogger("treadle.serving")
    handler = AccessLog()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ.get("EXTRA", "hello").encode()]


def test_subclass_server_version_sets_the_server_header(serve: Any) -> None:
    class Handler(WSGIRequestHandler):
        server_version = "custom/9"

    assert get(serve(hello, request_handler=Handler)).header("Server") == "custom/9"


def test_subclass_can_extend_the_environ(serve: Any) -> None:
    class Handler(WSGIRequestHandler):
        def make_environ(self) -> dict[str, Any]:
            environ = super().make_environ()
            environ["EXTRA"] = f"from {self.command} {self.path}"
            return environ

    assert get(serve(hello, request_handler=Handler), "/x").body == b"from GET /x"


@pytest.mark.parametrize("threaded", [False, True])
def test_subclass_log_request_is_called_for_every_response(serve: Any, threaded: bool) -> None:
    logged: list[tuple[Any, Any, str]] = []
    both = threading.Event()

    class Handler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            logged.append((code, size, self.requestline))
            if len(logged) == 2:
                both.set()

    srv = serve(hello, request_handler=Handler, threaded=threaded)
    with Client(srv.server.server_address) as client:
        client.request("GET", "/a")
        client.request("GET", "/b?q")
    assert both.wait(5)
    assert logged == [(200, 5, "GET /a HTTP/1.1"), (200, 5, "GET /b?q HTTP/1.1")]


def test_access_log_uses_the_common_log_format(serve: Any, access_log: AccessLog) -> None:
    get(serve(hello), "/path?x=1")
    [line] = access_log.wait(1)
    assert re.fullmatch(
        r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
        r'"GET /path\?x=1 HTTP/1\.1" 200 5', line), line


def test_access_log_is_silent_when_info_is_disabled(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    srv = serve(hello)
    with caplog.at_level(logging.WARNING, logger="treadle.serving"):
        get(srv)
    assert not [r for r in caplog.records if r.name == "treadle.serving"]


def test_encoded_control_characters_are_logged_still_encoded(
        serve: Any, access_log: AccessLog) -> None:
    get(serve(hello), "/%1b[31m")
    [line] = access_log.wait(1)
    assert "\x1b" not in line and "/%1b[31m" in line


def test_rejected_request_is_logged_with_its_status(serve: Any, access_log: AccessLog) -> None:
    srv = serve(hello)
    with Client(srv.server.server_address) as client:
        client.send(b"GET / HTTP/9.9\r\n\r\n")
        assert client.response().status == 505
    assert " 505 " in access_log.wait(1)[0]


def test_log_error_goes_to_the_treadle_serving_logger(
        serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    class Handler(WSGIRequestHandler):
        def make_environ(self) -> dict[str, Any]:
            self.log_error("custom %s", "problem")
            return super().make_environ()

    with caplog.at_level(logging.ERROR, logger="treadle.serving"):
        get(serve(hello, request_handler=Handler))
    assert "custom problem" in caplog.text


def test_protocol_error_answers_carry_the_server_header(serve: Any) -> None:
    class Handler(WSGIRequestHandler):
        server_version = "custom/1"

    srv = serve(hello, request_handler=Handler)
    with Client(srv.server.server_address) as client:
        client.send(b"GET / HTTP/1.1\r\n\r\n")  # no Host
        resp = client.response()
    assert resp.status == 400
    assert resp.header("Server") == "custom/1"
    assert resp.header("Date") is not None
