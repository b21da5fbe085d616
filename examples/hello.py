"""A plain WSGI app that shows which process and thread served each request.

Run it with ``python examples/hello.py`` (threaded, on http://127.0.0.1:5000),
or ``python -m treadle.serving --processes 2 examples.hello:app``.
``/slow`` waits 0.2 s, to watch the thread pool serve requests side by side.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Greet, naming the worker process and thread that answered."""
    path = environ["PATH_INFO"]
    if path == "/slow":
        time.sleep(0.2)
    elif path != "/":
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not Found\n"]
    body = (f"Hello from treadle!\npath: {path}\nprocess: {os.getpid()}\n"
            f"thread: {threading.current_thread().name}\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [body]


if __name__ == "__main__":
    from treadle.serving import run_simple

    run_simple("127.0.0.1", 5000, app, threaded=True)
