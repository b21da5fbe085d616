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

__all__ = ["Detector", "StatDetector", "make_detector"]


class Detector(Protocol):
    name: str

    def watch(self, paths: Iterable[str], *, dirs: bool = True) -> None:
        """Watch ``paths``; with ``dirs``, also new ``.py`` files beside them."""

    def fileno(self) -> int:
        """An fd that turns readable when :meth:`poll` may report, or -1 to poll on a timer."""

    def poll(self) -> str | None:
        """A path that changed since the baseline, or None."""

    def close(self) -> None: ...


def _group_by_dir(paths: Iterable[str]) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for path in paths:
        groups.setdefault(os.path.dirname(path), set()).add(path)
    return groups


class StatDetector:
    """Compares stamps on every :meth:`poll`; cost grows with the number of files.

    A file that disappears is not a change (editors save by delete and
    rename); its return with a new stamp is. With ``edits_in_dirs`` every
    ``.py`` beside a watched file counts, not just new ones: the watcher uses
    that after a crash, when the module that failed to import was never reported.
    """

    name = "stat"

    def __init__(self, file_filter: FileFilter, baseline: Mapping[str, Stamp | None],
                 *, edits_in_dirs: bool = False) -> None:
        self._filter = file_filter
        self._baseline = baseline
        self._baseline_dirs = _group_by_dir(baseline)
        self._edits_in_dirs = edits_in_dirs
        self._files: dict[str, Stamp | None] = {}
        self._dir_files: dict[str, set[str]] = {}
        self._dir_stamps: dict[str, Stamp | None] = {}

    def _first_stamp(self, path: str) -> Stamp | None:
        return self._baseline[path] if path in self._baseline else stamp(path)

    def watch(self, paths: Iterable[str], *, dirs: bool = True) -> None:
        for path in paths:
            if path in self._files:
                continue
            self._files[path] = self._first_stamp(path)
            self._dir_stamps.pop(path, None)
            directory = os.path.dirname(path)
            if not dirs or directory in self._dir_files:
                continue
            # Files the baseline saw in this directory are the "old" ones; any
            # other .py found later is new, even if it appeared before this call.
            known = self._baseline_dirs.get(directory)
            listing = {p for p in (py_files_in(directory) if known is None else known)
                       if self._filter.wants(p)}
            self._dir_files[directory] = listing
            if self._edits_in_dirs:
                for other in listing - self._files.keys():
                    self._dir_stamps[other] = self._first_stamp(other)

    def fileno(self) -> int:
        return -1

    def poll(self) -> str | None:
        for path, old in self._files.items():
            new = stamp(path)
            if new is not None and new != old:
                return path
        for path, old in self._dir_stamps.items():
            new = stamp(path)
            if new is not None and new != old:
                return path
        for directory, known in self._dir_files.items():
            for path in py_files_in(directory):
                if path not in known and path not in self._files and self._filter.wants(path):
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
