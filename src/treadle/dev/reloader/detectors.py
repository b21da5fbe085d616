"""Change detectors: the stat poller here, the watchdog one in ``native.py``.

A detector starts from a baseline of stamps taken before the code was loaded
and answers "which watched file changed since then?". It never stops the
process itself; the caller decides (the child exits, the watcher restarts).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Protocol

from treadle.dev.reloader.files import FileFilter, Stamp, py_files_in, stamp

__all__ = ["Detector", "StatDetector", "group_by_dir", "make_detector"]


class Detector(Protocol):
    """What the child's watch loop asks of a detector, stat or watchdog alike."""

    def watch(self, paths: Iterable[str], *, dirs: bool = True) -> None:
        """Watch ``paths``; with ``dirs``, also every ``.py`` file beside them."""

    def fileno(self) -> int:
        """An fd that turns readable when :meth:`poll` may report, or -1 to poll on a timer."""

    def poll(self) -> str | None:
        """A path that changed since the baseline, or None."""

    def close(self) -> None: ...


def group_by_dir(paths: Iterable[str]) -> dict[str, set[str]]:
    """Paths keyed by their directory."""
    groups: dict[str, set[str]] = {}
    for path in paths:
        groups.setdefault(os.path.dirname(path), set()).add(path)
    return groups


class StatDetector:
    """Compares stamps on every :meth:`poll`; cost grows with the number of files.

    A file that disappears is not a change (editors save by delete and
    rename); its return with a new stamp is. Every ``.py`` beside a watched
    module counts too, so fixing a module that failed to import (and so never
    reached ``sys.modules``) still reloads.
    """

    def __init__(self, file_filter: FileFilter, baseline: Mapping[str, Stamp | None]) -> None:
        self._filter = file_filter
        self._baseline = baseline
        self._baseline_dirs = group_by_dir(baseline)
        self._stamps: dict[str, Stamp | None] = {}
        self._dirs: set[str] = set()

    def _remember(self, path: str) -> None:
        if path not in self._stamps:
            self._stamps[path] = self._baseline[path] if path in self._baseline else stamp(path)

    def watch(self, paths: Iterable[str], *, dirs: bool = True) -> None:
        for path in paths:
            self._remember(path)
            directory = os.path.dirname(path)
            if not dirs or directory in self._dirs:
                continue
            self._dirs.add(directory)
            # The .py files the baseline saw here are the old ones; any other
            # found later is new, even one that appeared before this call.
            known = self._baseline_dirs.get(directory)
            for other in py_files_in(directory) if known is None else known:
                if other.endswith(".py") and self._filter.wants(other):
                    self._remember(other)

    def fileno(self) -> int:
        return -1

    def poll(self) -> str | None:
        for path, old in self._stamps.items():
            new = stamp(path)
            if new is not None and new != old:
                return path
        for directory in self._dirs:
            for path in py_files_in(directory):
                if path not in self._stamps and self._filter.wants(path):
                    return path
        return None

    def close(self) -> None:
        pass


def make_detector(reloader_type: str, file_filter: FileFilter,
                  baseline: Mapping[str, Stamp | None]) -> Detector:
    """The serving child's detector for a resolved ``reloader_type``."""
    if reloader_type == "watchdog":
        from treadle.dev.reloader.native import WatchdogDetector

        return WatchdogDetector(file_filter, baseline)
    return StatDetector(file_filter, baseline)
