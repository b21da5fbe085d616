"""Fixtures for the app-layer tests."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

import pytest

EnvironFactory = Callable[..., dict[str, Any]]


def _build_environ(
    path: str = "/",
    method: str = "GET",
    query: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A WSGI environ as a server would build it for one request to http://localhost/."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body or content_type:
        environ["CONTENT_LENGTH"] = str(len(body))
    if content_type:
        environ["CONTENT_TYPE"] = content_type
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = value
    environ.update(extra)
    return environ


@pytest.fixture
def make_environ() -> EnvironFactory:
    """Build a WSGI environ: ``make_environ("/path", method="POST", body=b"...")``."""
    return _build_environ


# -- app and client fixtures, and the context-leak detector (helper E) -------------------------

from collections.abc import Iterator  # noqa: E402

from treadle.globals import _cv_app, _cv_request  # noqa: E402


@pytest.fixture(autouse=True)
def _no_leaked_contexts() -> Iterator[None]:
    """Fail a test that leaves an app or request context pushed (then pop it, for the next test)."""
    yield
    leaked: list[str] = []
    for var in (_cv_request, _cv_app):
        for _ in range(100):
            ctx = var.get(None)
            if ctx is None:
                break
            leaked.append(repr(ctx))
            try:
                ctx.pop()
            except Exception:
                break
    assert not leaked, f"the test left contexts pushed: {leaked}"


@pytest.fixture
def app() -> Any:
    """A fresh app in testing mode with a secret key, rooted in a temporary directory."""
    from treadle import Treadle

    application = Treadle("app_under_test")
    application.config.update(TESTING=True, SECRET_KEY="test key")
    return application


@pytest.fixture
def client(app: Any) -> Any:
    """The app's test client."""
    return app.test_client()
