"""The watchdog detector: native file-system events (inotify, FSEvents, kqueue...).

Imported only when ``reloader_type`` resolves to ``"watchdog"``. Each watched
file's directory is observed (not recursively); events are filtered down to the
watched files and to the ``.py`` files beside watched modules, as the stat
detector does.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Mapping

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from treadle.dev.reloader.detectors import group_by_dir
from treadle.dev.reloader.files import FileFilter, Stamp, py_files_in, stamp

__all__ = ["WatchdogDetector"]

# "attrib" is there because ``touch app.py`` is how people force a reload.
_CHANGE_EVENTS = frozenset({"modified", "created", "moved", "closed", "attrib"})


class _Forward(FileSystemEventHandler):
    def __init__(self, detector: WatchdogDetector) -> None:
        self._detector = detector

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._detector.on_event(event)


class WatchdogDetector:
    """Records the first relevant event and wakes :meth:`fileno` through a pipe."""

    def __init__(self, file_filter: FileFilter, baseline: Mapping[str, Stamp | None]) -> None:
        self._filter = file_filter
        self._baseline = baseline
        self._baseline_dirs = group_by_dir(baseline)
        self._lock = threading.Lock()
        self._files: set[str] = set()
        self._py_dirs: set[str] = set()
        self._watches: dict[str, ObservedWatch | None] = {}
        self._changed: str | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._handler = _Forward(self)
        self._observer = Observer()
        self._observer.start()

    def watch(self, paths: Iterable[str], *, dirs: bool = True) -> None:
        for path in paths:
            directory = os.path.dirname(path)
            with self._lock:
                new_file = path not in self._files
                new_dir = dirs and directory not in self._py_dirs
                self._files.add(path)
                if new_dir:
                    self._py_dirs.add(directory)
            if directory not in self._watches:
                try:
                    self._watches[directory] = self._observer.schedule(
                        self._handler, directory, recursive=False)
                except OSError:
                    self._watches[directory] = None  # gone or unreadable: nothing to see
            # Events from before the watch began are lost: compare with the baseline once.
            if new_file:
                self._check_since_baseline(path)
            if new_dir:
                self._check_dir_since_baseline(directory)

    def _check_since_baseline(self, path: str) -> None:
        if path in self._baseline:
            now = stamp(path)
            if now is not None and now != self._baseline[path]:
                self._record(path)

    def _check_dir_since_baseline(self, directory: str) -> None:
        known = self._baseline_dirs.get(directory)
        if known is None:
            return  # the baseline never saw this directory: nothing to compare with
        for path in py_files_in(directory):
            if not self._filter.wants(path):
                continue
            if path not in known:
                self._record(path)
            else:
                self._check_since_baseline(path)

    def on_event(self, event: FileSystemEvent) -> None:
        """Called on watchdog's thread for every event in an observed directory."""
        kind = event.event_type
        if event.is_directory or kind not in _CHANGE_EVENTS:
            return
        # A move's source is the file going away, like a delete: only its destination counts.
        path = os.fsdecode(event.dest_path if kind == "moved" else event.src_path)
        with self._lock:
            watched = path in self._files
            beside = (not watched and path.endswith(".py")
                      and os.path.dirname(path) in self._py_dirs
                      and not os.path.basename(path).startswith("."))
        if watched or (beside and self._filter.wants(path)):
            self._record(path)

    def _record(self, path: str) -> None:
        with self._lock:
            if self._changed is not None:
                return
            self._changed = path
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"!")

    def fileno(self) -> int:
        return self._wake_r

    def poll(self) -> str | None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_r, 64)
        with self._lock:
            return self._changed

    def close(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
        os.close(self._wake_r)
        os.close(self._wake_w)
