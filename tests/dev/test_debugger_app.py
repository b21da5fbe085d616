"""The debugger around a Treadle app in debug mode: the console sees the request's context."""

from __future__ import annotations

import io
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from treadle import Treadle, g, request  # noqa: F401 - the console finds `request` in these globals
from treadle.dev.debugger import DebuggedApplication

PIN = "123-123-123"


@pytest.fixture
def debugged(monkeypatch: pytest.MonkeyPatch) -> DebuggedApplication:
    monkeypatch.setenv("TREADLE_DEBUG_PIN", PIN)
    app = Treadle(__name__)
    app.debug = True

    @app.route("/orders/<int:order_id>")
    def order(order_id: int) -> str:
        g.user = "ada"
        return str({}[order_id])

    return DebuggedApplication(app, evalex=True, pin_logging=False)


def call(app: DebuggedApplication, path: str, query: str = "", cookie: str = "") -> tuple[str, dict[str, str], str]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "localhost", "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost:5000", "HTTP_ACCEPT": "text/html", "HTTP_COOKIE": cookie,
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response)).decode()
    return seen["status"], seen["headers"], body


def command(app: DebuggedApplication, cookie: str = "", **params: str) -> tuple[str, dict[str, str], str]:
    return call(app, "/", urlencode({"__debugger__": "yes", "s": app.secret, **params}), cookie)


def test_view_error_in_debug_mode_reaches_the_debugger(debugged: DebuggedApplication) -> None:
    status, _, page = call(debugged, "/orders/7")
    assert status.startswith("500")
    assert "KeyError" in page and '<code class="function">' in page


def test_console_in_view_frame_sees_request_and_g(debugged: DebuggedApplication) -> None:
    page = call(debugged, "/orders/7", "full=1")[2]
    match = re.search(r'data-frame-id="(\d+)">\s*<div class="frame-head"><code class="function">[^<]*order</code>', page)
    assert match
    _, headers, body = command(debugged, cmd="pinauth", pin=PIN)
    assert json.loads(body)["auth"]
    cookie = headers["Set-Cookie"].split(";")[0]
    out = command(debugged, cookie, cmd="order_id, request.path, request.args['full'], g.user", frm=match.group(1))[2]
    assert out.endswith("(7, &#x27;/orders/7&#x27;, &#x27;1&#x27;, &#x27;ada&#x27;)\n")
