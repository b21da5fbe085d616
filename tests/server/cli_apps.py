"""WSGI apps the CLI tests load by name (module:attr and module:factory())."""

from __future__ import annotations

from typing import Any


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"plain app"]


def create_app(greeting: str = "factory app") -> Any:
    def made(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [greeting.encode()]
    return made


not_callable = 42
