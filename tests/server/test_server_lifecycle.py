"""Stopping under load: SIGTERM and SIGINT finish what clients sent, in every engine.

Real server processes, real sockets on 127.0.0.1, client threads running while
the signal lands. A request fully sent before the signal gets a complete 200;
after it, a request may be answered, refused, or find its connection closed
before any byte of a response, but never gets a truncated response.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from procs import Load, Response, ServerProcess
from wire import TIMEOUT, Client, encode

MODES = {
    "threaded": ["--threaded"],
    "single": [],
    "processes": ["--processes", "2"],
    "processes-threads": ["--processes", "2", "--threads", "4"],
}


def check_stop(results: list[Response], signalled_at: float) -> None:
    before = [r for r in results if r.sent_at < signalled_at]
    after = [r for r in results if r.sent_at >= signalled_at]
    assert len(before) > 20, f"too little load before the signal ({len(before)} requests)"
    assert [r.status for r in before if r.status != "ok"] == []
    assert [r.status for r in after if r.status not in ("ok", "refused", "no-response")] == []
    assert any(r.status == "refused" for r in after), "the listener never closed"


@pytest.mark.parametrize(("mode", "signum"), [
    ("threaded", signal.SIGTERM),
    ("single", signal.SIGTERM),
    ("processes", signal.SIGTERM),
    ("processes-threads", signal.SIGTERM),
    ("threaded", signal.SIGINT),
    ("processes", signal.SIGINT),
])
def test_stop_signal_under_load_answers_every_request_sent_before_it(
        tmp_path: Path, mode: str, signum: int) -> None:
    server = ServerProcess([*MODES[mode], "--log-level", "warning", "lifecycle_apps:app"],
                           log_path=tmp_path / "server.log")
    try:
        server.wait_ready()
        load = Load(server.port, keepalive=3, fresh=3, paths=("/", "/", "/slow", "/", "/", "/")).start()
        deadline = time.monotonic() + 10
        while load.count() < 30:
            assert time.monotonic() < deadline, "the load never got going"
            time.sleep(0.02)
        pids = {int(r.body.split(b"\n", 1)[0]) for r in load.snapshot()}
        signalled_at = time.monotonic()
        server.signal(signum)
        assert server.wait() == 0, server.log()
        results = load.stop()
        check_stop(results, signalled_at)
        for pid in pids:  # workers (or the one process) are gone too
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        server.close()


# -- what a stop owes clients, step by step (single-threaded: the loop is busy while serving) --


class HoldApp:
    """/hold waits for ``release`` after setting ``entered``; other paths answer at once."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/hold":
            self.entered.set()
            assert self.release.wait(TIMEOUT)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]


def hold(srv: Any, app: HoldApp) -> Client:
    """Keep the single-threaded server busy in /hold, on a connection the loop read."""
    busy = Client(srv.server.server_address)
    assert busy.request().status == 200  # parked, so /hold comes from the loop, not accept
    busy.send(encode("GET", "/hold"))
    assert app.entered.wait(TIMEOUT)
    return busy


def test_connection_waiting_in_the_backlog_at_stop_is_served(serve: Any) -> None:
    app = HoldApp()
    srv = serve(app)
    with hold(srv, app) as busy, Client(srv.server.server_address) as queued:
        queued.send(encode("GET", "/"))  # the kernel accepted it; the server has not yet
        srv.server.request_stop()
        app.release.set()
        assert busy.response().status == 200
        response = queued.response()
        assert response.status == 200 and response.body == b"ok"
        assert response.header("Connection") == "close"


def test_request_sent_on_an_idle_keep_alive_connection_before_stop_is_served(serve: Any) -> None:
    app = HoldApp()
    srv = serve(app)
    with Client(srv.server.server_address) as idle:
        assert idle.request().status == 200
        with hold(srv, app) as busy:
            idle.send(encode("GET", "/"))  # buffered: the loop is busy with /hold
            srv.server.request_stop()
            app.release.set()
            assert busy.response().status == 200
        assert idle.response().status == 200
        assert idle.closed_by_server()


def test_idle_keep_alive_connection_is_closed_at_stop(serve: Any) -> None:
    srv = serve(HoldApp(), threaded=True)
    with Client(srv.server.server_address) as idle:
        assert idle.request().status == 200
        srv.server.shutdown()
        assert idle.closed_by_server()


def test_connections_after_stop_are_refused(serve: Any) -> None:
    srv = serve(HoldApp(), threaded=True)
    address = srv.server.server_address
    srv.server.shutdown()
    with pytest.raises(ConnectionRefusedError):
        Client(address)
