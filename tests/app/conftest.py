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
