"""The reloader's settings and fixed values: one table, validated once.

Both the watcher and the serving child build a :class:`ReloaderSettings` from
the ``run_simple`` arguments, so a bad value fails before anything is bound.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "BASELINE_TIMEOUT",
    "ENV_CHANNEL_FD",
    "ENV_RUN_MAIN",
    "ENV_SERVER_FD",
    "EXIT_RELOAD",
    "RELOADER_TYPES",
    "STOP_TIMEOUT",
    "ReloaderSettings",
]

RELOADER_TYPES: Final = ("auto", "stat", "watchdog")
"""Valid ``reloader_type`` values; ``auto`` is ``watchdog`` when it is installed."""

EXIT_RELOAD: Final = 3
"""Exit status by which the serving child asks the watcher for a restart."""

ENV_RUN_MAIN: Final = "TREADLE_RUN_MAIN"
"""``"true"`` in the serving child (and only there): the app may check it."""

ENV_SERVER_FD: Final = "TREADLE_SERVER_FD"
"""The listening socket the watcher bound and the child inherits."""

ENV_CHANNEL_FD: Final = "TREADLE_RELOADER_FD"
"""The child's end of the watcher⇄child channel (see ``channel.py``)."""

STOP_TIMEOUT: Final = 10.0
"""Seconds the watcher waits after SIGTERM before it kills the child outright."""

BASELINE_TIMEOUT: Final = 10.0
"""Seconds a child waits for the watcher's stamps (sent at once: this bounds a hung watcher)."""


def watchdog_installed() -> bool:
    """Whether ``watchdog`` can be imported, without importing it."""
    return importlib.util.find_spec("watchdog") is not None


@dataclass(frozen=True, slots=True)
class ReloaderSettings:
    """Validated reloader options; ``reloader_type`` is never ``"auto"`` here."""

    extra_files: tuple[str, ...]
    exclude_patterns: tuple[str, ...]
    interval: float
    reloader_type: str

    @classmethod
    def build(
        cls,
        extra_files: Iterable[str | os.PathLike[str]] | None = None,
        exclude_patterns: Iterable[str] | None = None,
        interval: float = 1,
        reloader_type: str = "auto",
    ) -> ReloaderSettings:
        """Check and normalise the ``run_simple`` reloader arguments."""
        if reloader_type not in RELOADER_TYPES:
            valid = ", ".join(repr(name) for name in RELOADER_TYPES)
            raise ValueError(f"unknown reloader_type {reloader_type!r}; valid types are {valid}")
        if reloader_type == "auto":
            reloader_type = "watchdog" if watchdog_installed() else "stat"
        elif reloader_type == "watchdog" and not watchdog_installed():
            raise RuntimeError(
                "reloader_type='watchdog' needs the watchdog package; install it with "
                "pip install 'treadle[watchdog]', or use reloader_type='stat'")
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
            raise ValueError(f"reloader_interval must be a number of seconds > 0, got {interval!r}")
        if isinstance(extra_files, str | bytes | os.PathLike):
            raise TypeError("extra_files must be a list of paths, not a single path; "
                            f"wrap it: extra_files=[{extra_files!r}]")
        if isinstance(exclude_patterns, str | bytes):
            raise TypeError("exclude_patterns must be a list of patterns, not a single string; "
                            f"wrap it: exclude_patterns=[{exclude_patterns!r}]")
        return cls(
            extra_files=tuple(os.path.abspath(os.fspath(p)) for p in extra_files or ()),
            exclude_patterns=tuple(exclude_patterns or ()),
            interval=float(interval),
            reloader_type=reloader_type,
        )
