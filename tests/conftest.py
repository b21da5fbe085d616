"""Shared fixtures: ``serve`` starts a real treadle server on 127.0.0.1, port 0, and stops it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from treadle.serving import make_server

STOP_TIMEOUT = 10.0


class RunningServer:
    """A server serving on a background thread; ``url`` is its base URL."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="test-server", daemon=True)

    def _run(self) -> None:
        try:
            self.server.serve_forever()
        except BaseException as exc:  # kept for tests of passthrough_errors
            self.error = exc

    @property
    def host(self) -> str:
        return str(self.server.host)

    @property
    def port(self) -> int:
        return int(self.server.port)

    @property
    def url(self) -> str:
        scheme = "https" if self.server.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def stop(self) -> None:
        """Shut down, close the socket and join the thread (bounded)."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(STOP_TIMEOUT)
        assert not self.thread.is_alive(), "the test server did not stop"


ServeFactory = Callable[..., RunningServer]


@pytest.fixture
def serve() -> Iterator[ServeFactory]:
    """Start ``app`` on a real socket: ``srv = serve(app, threaded=True); srv.url``.

    Keyword arguments go to ``make_server`` (``host`` defaults to 127.0.0.1,
    ``port`` to 0). Every server started is stopped when the test ends.
    """
    running: list[RunningServer] = []

    def start(app: Any, *, host: str = "127.0.0.1", port: int = 0,
              **kwargs: Any) -> RunningServer:
        srv = RunningServer(make_server(host, port, app, **kwargs))
        running.append(srv)
        srv.thread.start()
        return srv

    yield start
    for srv in reversed(running):
        srv.stop()
