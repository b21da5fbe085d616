"""Messages to the developer, on the ``treadle.serving.reloader`` logger.

They go wherever the dev server's ``treadle.serving`` lines go (and obey its
level). The watcher never starts a server, so when nothing routes that logger
yet, this gives it the same plain stderr handler ``run_simple`` would.
"""

from __future__ import annotations

import contextlib
import logging
import sys

__all__ = ["flush_output", "log"]

_server_logger = logging.getLogger("treadle.serving")
_logger = logging.getLogger("treadle.serving.reloader")


def log(message: str, level: int = logging.INFO) -> None:
    """Log ``message``, first giving ``treadle.serving`` a stderr handler if none exists."""
    if _server_logger.level == logging.NOTSET:
        _server_logger.setLevel(logging.INFO)
    if not _server_logger.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        _server_logger.addHandler(handler)
    _logger.log(level, message)


def flush_output() -> None:
    """Flush stdio and log handlers: the process is about to ``os._exit``."""
    for handler in logging.getLogger().handlers + _server_logger.handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
