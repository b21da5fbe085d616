"""Messages to the developer, through the ``treadle.reloader`` logger.

Reload notices must be seen even when the app never configured logging, so the
logger gets a stderr handler of its own unless someone already routes it.
"""

from __future__ import annotations

import contextlib
import logging
import sys

__all__ = ["flush_output", "log"]

_logger = logging.getLogger("treadle.reloader")


def log(message: str, level: int = logging.INFO) -> None:
    """Log ``message``, adding a plain stderr handler the first time if none exists."""
    if not _logger.hasHandlers():
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        _logger.addHandler(handler)
    if _logger.level == logging.NOTSET:
        _logger.setLevel(logging.INFO)
    _logger.log(level, message)


def flush_output() -> None:
    """Flush stdio and log handlers: the process is about to ``os._exit``."""
    for handler in logging.getLogger().handlers + _logger.handlers:
        handler.flush()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
