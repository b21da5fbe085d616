"""Framework dispatch cost, in process: the same three routes on Flask and on treadle.

No server and no socket: each request is one WSGI call with a fresh environ, so the
figure is the framework's own per-request cost (contexts, routing, hooks, response).
Run: ``.venv/bin/python bench/dispatch_bench.py``; ``main()`` returns the figures.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

TEMPLATE = (
    "<!doctype html><title>{{ title }}</title><ul>"
    "{% for item in items %}<li>{{ item.name }}: {{ item.price }}</li>{% endfor %}</ul>"
)
ITEMS = [{"name": f"item {n}", "price": n * 3} for n in range(10)]
ROUTES = {"text": "/", "json": "/users/42", "template": "/page"}


def build(framework: str, root: str) -> Any:
    """The benchmark app on ``framework`` ("flask" or "treadle"), templates under ``root``."""
    if framework == "flask":
        from flask import Flask as App
        from flask import render_template
    else:
        from treadle import Treadle as App  # type: ignore[assignment]
        from treadle import render_template  # type: ignore[assignment]

    app = App("dispatch_bench", root_path=root)

    @app.route("/")
    def text() -> str:
        return "Hello, World!"

    @app.route("/users/<int:user_id>")
    def user(user_id: int) -> Any:
        return {"id": user_id, "name": "Ann", "admin": False}

    @app.route("/page")
    def page() -> str:
        return render_template("page.html", title="Items", items=ITEMS)

    return app


def _environ(path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "wrk",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
    return lambda data: None


def per_request_us(app: Any, path: str, seconds: float = 1.0) -> float:
    """Best of three timed batches: microseconds per WSGI request."""
    base = _environ(path)
    best = float("inf")
    for _ in range(3):
        count = 0
        start = time.process_time()
        deadline = start + seconds / 3
        while True:
            for _ in range(200):
                environ = dict(base)
                environ["wsgi.input"] = io.BytesIO()
                body = app(environ, _start_response)
                b"".join(body)
                close = getattr(body, "close", None)
                if close is not None:
                    close()
            count += 200
            now = time.process_time()
            if now >= deadline:
                break
        best = min(best, (now - start) / count * 1e6)
    return best


def main(seconds: float = 1.0) -> dict[str, float]:
    """Per-request microseconds for each route and framework, plus treadle's speed-up."""
    root = tempfile.mkdtemp(prefix="dispatch_bench_")
    os.mkdir(os.path.join(root, "templates"))
    with open(os.path.join(root, "templates", "page.html"), "w") as fh:
        fh.write(TEMPLATE)
    apps = {name: build(name, root) for name in ("flask", "treadle")}
    figures: dict[str, float] = {}
    for route, path in ROUTES.items():
        for name, app in apps.items():
            per_request_us(app, path, 0.2)  # warm caches (templates, routing)
            figures[f"{route}.{name}_us"] = round(per_request_us(app, path, seconds), 2)
        figures[f"{route}.speedup"] = round(figures[f"{route}.flask_us"] / figures[f"{route}.treadle_us"], 2)
    shutil.rmtree(root, ignore_errors=True)
    return figures


if __name__ == "__main__":
    for key, value in main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0).items():
        print(f"{key:24} {value}")
