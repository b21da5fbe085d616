"""The demo app: which process and thread served each request.

Run it with ``python examples/hello.py`` (treadle's threaded server on
http://127.0.0.1:5000), or pre-forked with
``python -m treadle.serving --processes 2 --threads 8 examples.hello:app``.
``/slow`` waits 0.2 s, to watch the bounded thread pool serve requests side by side.
"""

from __future__ import annotations

import os
import threading
import time

from treadle import Treadle, request

app = Treadle(__name__)


def _served_by() -> str:
    return (
        f"Hello from treadle!\npath: {request.path}\nprocess: {os.getpid()}\n"
        f"thread: {threading.current_thread().name}\n"
    )


@app.get("/")
def index() -> tuple[str, dict[str, str]]:
    return _served_by(), {"Content-Type": "text/plain; charset=utf-8"}


@app.get("/slow")
def slow() -> tuple[str, dict[str, str]]:
    time.sleep(0.2)
    return _served_by(), {"Content-Type": "text/plain; charset=utf-8"}


if __name__ == "__main__":
    app.run(threaded=True)
