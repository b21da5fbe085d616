"""WSGI apps the lifecycle tests serve in real server processes."""

from __future__ import annotations

import os
import time
from typing import Any

PADDING = b"0123456789abcdef" * 256  # 4 KiB, so a truncated body shows


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers with its pid then PADDING; /slow takes 0.15 s, /stuck 10 s."""
    path = environ["PATH_INFO"]
    if path == "/slow":
        time.sleep(0.15)
    elif path == "/stuck":
        time.sleep(10)
    body = f"{os.getpid()}\n".encode() + PADDING
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
