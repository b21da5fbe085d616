"""The plain WSGI callables every server in the benchmark serves.

No framework, no routing: what is measured is the server. Headers and bodies
are built once at import so the app itself costs next to nothing.
"""

from __future__ import annotations

import sys
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


# About 5 ms of pure-Python arithmetic per request on the 2-core bench VMs (3.13t, one thread).
CPU_LOOP_STEPS = 75_000


def cpu_work(steps: int = CPU_LOOP_STEPS) -> int:
    """A CPU-bound stand-in for a view that computes: no I/O, no C calls that drop the GIL.

    Its only constant is a small int (immortal). On 3.13t a larger int constant read from a
    .pyc is an ordinary shared object whose reference count every thread updates on every
    step, and the loop then barely scales past one core (docs/free-threading.md).
    """
    total = 0
    for i in range(steps):
        total = (total + i * i) % 251
    return total


def cpu(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Spend ~5 ms computing, then answer; ``/gil`` reports whether this process has a GIL."""
    if environ.get("PATH_INFO") == "/gil":
        enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
        body = b"on" if enabled else b"off"
    else:
        body = str(cpu_work()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
