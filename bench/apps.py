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
REFERENCE_PATH = "/hello"


def hello(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Answer every request with a 13-byte body of known length."""
    start_response("200 OK", HELLO_HEADERS)
    return [HELLO_BODY]


def sleep(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Stand in for an I/O-bound view (a database call): block 20 ms, then answer.

    ``/hello`` answers at once instead: the same server's CPU-bound rate, measured
    beside the sleeping one as the ceiling the CPU sets.
    """
    if environ.get("PATH_INFO") != REFERENCE_PATH:
        time.sleep(SLEEP_SECONDS)
    start_response("200 OK", HELLO_HEADERS)
    return [HELLO_BODY]
