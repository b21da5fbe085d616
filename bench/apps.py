"""The plain WSGI callables every server in the benchmark serves.

No framework, no routing: what is measured is the server. Headers and bodies
are built once at import so the app itself costs next to nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]
Environ = dict[str, Any]

HELLO_BODY = b"Hello, World!"
HELLO_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(HELLO_BODY))),
]
SLEEP_SECONDS = 0.02


def hello(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Answer every request with a 13-byte body of known length."""
    start_response("200 OK", HELLO_HEADERS)
    return [HELLO_BODY]


def sleep(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Stand in for an I/O-bound view (a database call): block 20 ms, then answer."""
    time.sleep(SLEEP_SECONDS)
    start_response("200 OK", HELLO_HEADERS)
    return [HELLO_BODY]
