"""The debugger behind a real server on 127.0.0.1: what a browser and curl get back."""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from treadle.dev.debugger import DebuggedApplication

PIN = "314-159-265"
TIMEOUT = 5


def broken_view(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    inventory = {"bolts": 12}
    return [str(inventory["nuts"]).encode()]


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch, serve: Callable[..., Any]) -> int:
    monkeypatch.setenv("TREADLE_DEBUG_PIN", PIN)
    app = DebuggedApplication(broken_view, evalex=True, pin_logging=False)
    return int(serve(app, threaded=True).port)


def fetch(port: int, target: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", target, headers=headers or {})
        response = conn.getresponse()
        body = response.read().decode()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def secret_of(page: str) -> str:
    return page.split('data-secret="', 1)[1].split('"', 1)[0]


def test_browser_gets_html_traceback_page(port: int) -> None:
    status, headers, body = fetch(port, "/stock", {"Accept": "text/html,*/*;q=0.8"})
    assert status == 500
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "KeyError" in body and "&#x27;nuts&#x27;" in body
    assert "broken_view" in body and "GET /stock" in body


def test_curl_gets_plain_text_traceback(port: int) -> None:
    status, headers, body = fetch(port, "/stock", {"Accept": "*/*"})
    assert status == 500
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert body.rstrip().endswith("KeyError: 'nuts'")


def test_page_assets_load_with_its_secret(port: int) -> None:
    secret = secret_of(fetch(port, "/", {"Accept": "text/html"})[2])
    status, headers, _ = fetch(port, "/?" + urlencode({"__debugger__": "yes", "cmd": "resource", "f": "debugger.css", "s": secret}))
    assert status == 200 and headers["content-type"].startswith("text/css")


def test_pin_then_console_round_trip(port: int) -> None:
    page = fetch(port, "/stock", {"Accept": "text/html"})[2]
    secret = secret_of(page)
    frame = page.split('<code class="function">broken_view</code>')[0].rsplit('data-frame-id="', 1)[1].split('"')[0]
    status, headers, body = fetch(port, "/?" + urlencode({"__debugger__": "yes", "cmd": "pinauth", "pin": PIN, "s": secret}))
    assert json.loads(body) == {"auth": True, "locked": False}
    cookie = headers["set-cookie"].split(";")[0]
    query = urlencode({"__debugger__": "yes", "cmd": "sorted(inventory)", "frm": frame, "s": secret})
    status, _, body = fetch(port, "/stock?" + query, {"Cookie": cookie})
    assert status == 200
    assert body.endswith("[&#x27;bolts&#x27;]\n")


def test_console_command_from_other_host_name_is_refused(port: int) -> None:
    secret = secret_of(fetch(port, "/", {"Accept": "text/html"})[2])
    query = urlencode({"__debugger__": "yes", "cmd": "pinauth", "pin": PIN, "s": secret})
    status, _, body = fetch(port, "/?" + query, {"Host": "rebound.example"})
    assert status == 403 and "rebound.example" in body


def test_exception_after_body_started_cuts_the_response(serve: Callable[..., Any]) -> None:
    def streaming(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first part "
        raise RuntimeError("mid-stream")

    srv = serve(DebuggedApplication(streaming, pin_logging=False), threaded=True)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/", headers={"Accept": "text/html"})
        response = conn.getresponse()
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead) as info:
            response.read()
        assert info.value.partial == b"first part "
    finally:
        conn.close()


RUN_SIMPLE_SCRIPT = """
from treadle.serving import run_simple

def app(environ, start_response):
    token = "visible-in-frame"
    raise LookupError(token)

run_simple("127.0.0.1", 0, app, use_debugger=True, use_evalex=True)
"""


def _lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def test_run_simple_use_debugger_prints_pin_and_serves_consoles() -> None:
    env = {**os.environ, "TREADLE_DEBUG_PIN": PIN}
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_SIMPLE_SCRIPT], stderr=subprocess.PIPE, text=True, env=env
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stderr, lines), daemon=True)
    reader.start()
    try:
        seen: list[str] = []
        while not any("Running on" in line for line in seen):
            seen.append(lines.get(timeout=TIMEOUT * 2))
        assert f" * Debugger PIN: {PIN}\n" in seen
        port = int(re.findall(r"http://127\.0\.0\.1:(\d+)", "".join(seen))[0])
        status, _, page = fetch(port, "/", {"Accept": "text/html"})
        assert status == 500 and "LookupError" in page and "console-toggle" in page
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)
        reader.join(TIMEOUT)
