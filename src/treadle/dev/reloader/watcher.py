"""The watcher: the process the user started. It holds the listening socket,
runs the serving child, restarts it on exit code 3, and after any other exit
waits for a watched file to change instead of dying.

Signal handlers only record (SIGINT/SIGTERM count stop requests, SIGCHLD just
wakes the loop through the wakeup fd); the loop decides what happens next.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from types import FrameType, TracebackType

from treadle.dev.reloader.channel import RecordReader, encode_stamps
from treadle.dev.reloader.console import log
from treadle.dev.reloader.detectors import StatDetector
from treadle.dev.reloader.files import (
    FileFilter,
    ModuleScanner,
    Stamp,
    forget_bytecode,
    py_files_in,
    take_stamps,
)
from treadle.dev.reloader.settings import (
    ENV_CHANNEL_FD,
    ENV_RUN_MAIN,
    ENV_SERVER_FD,
    EXIT_RELOAD,
    STOP_TIMEOUT,
    ReloaderSettings,
)

__all__ = ["args_for_reloading", "watch_and_restart"]

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def args_for_reloading() -> list[str]:
    """The command line that started this interpreter, ready to run again.

    ``python -m pkg``, ``python -X dev app.py`` and console scripts all come
    back as they were started; a script path is made absolute so the child
    still finds it if the app changed directory.
    """
    if not sys.executable:
        raise RuntimeError("the reloader restarts Python with sys.executable, which is empty "
                           "in this embedded interpreter; run without use_reloader")
    args = [sys.executable, *sys.orig_argv[1:]]
    argv = sys.argv
    start = len(args) - len(argv)
    main = sys.modules.get("__main__")
    if (argv and start >= 1 and args[start] == argv[0] and args[start + 1:] == argv[1:]
            and getattr(main, "__spec__", None) is None and os.path.isfile(argv[0])):
        args[start] = os.path.abspath(argv[0])
    return args


class _Signals:
    """Records stop requests; every handled signal also wakes :meth:`wait`."""

    def __init__(self) -> None:
        self.stop_requests = 0
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        self._old_handlers: dict[int, object] = {}
        self._old_wakeup_fd = -1

    def __enter__(self) -> _Signals:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("use_reloader=True must be called from the main thread: the "
                               "reloader handles SIGINT, SIGTERM and SIGCHLD")
        for signum in _STOP_SIGNALS:
            self._old_handlers[signum] = signal.signal(signum, self._on_stop)
        self._old_handlers[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, self._on_child)
        self._old_wakeup_fd = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        signal.set_wakeup_fd(self._old_wakeup_fd)
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requests += 1

    def _on_child(self, signum: int, frame: FrameType | None) -> None:
        pass  # the wakeup fd already woke the loop

    def fileno(self) -> int:
        return self._wake_r

    def drain(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds, waking early for any handled signal."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ)
            selector.select(timeout)
        self.drain()


def watch_and_restart(listener: socket.socket, settings: ReloaderSettings) -> int:
    """Run children on ``listener`` until SIGINT/SIGTERM; the exit status to use (0)."""
    file_filter = FileFilter.for_this_process(settings.exclude_patterns)
    extras = [p for p in settings.extra_files if not file_filter.is_excluded(p)]
    # What this process imported is a start; each child reports the rest.
    known = dict.fromkeys(ModuleScanner(file_filter).scan())
    with _Signals() as signals:
        while not signals.stop_requests:
            baseline = take_stamps(_baseline_paths(known, extras, file_filter))
            log(f" * Restarting with {settings.reloader_type}")
            code = _run_child(listener, baseline, known, signals)
            if code is None or signals.stop_requests:
                break
            if code == EXIT_RELOAD:
                continue
            log(f" * The server process {_describe_exit(code)}; fix the error and save a "
                f"watched file to restart ({len(known) + len(extras)} files watched)",
                logging.ERROR)
            if not _wait_for_change(file_filter, baseline, known, extras, settings.interval,
                                    signals):
                break
    return 0


def _baseline_paths(known: Iterable[str], extras: Iterable[str],
                    file_filter: FileFilter) -> set[str]:
    """What to stamp before a start: watched files and every ``.py`` in their directories.

    The child reads a directory that appears here as fully listed, so every
    directory that has a path here is listed, the extras' ones included.
    """
    paths = {*known, *extras}
    for directory in {os.path.dirname(p) for p in paths}:
        paths.update(p for p in py_files_in(directory) if file_filter.wants(p))
    return paths


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _run_child(listener: socket.socket, baseline: dict[str, Stamp | None],
               known: dict[str, None], signals: _Signals) -> int | None:
    """Run one child to its end: its exit code, or None if we stopped it."""
    ours, theirs = socket.socketpair()
    try:
        env = {**os.environ, ENV_RUN_MAIN: "true", ENV_SERVER_FD: str(listener.fileno()),
               ENV_CHANNEL_FD: str(theirs.fileno())}
        child = subprocess.Popen(args_for_reloading(), env=env,
                                 pass_fds=(listener.fileno(), theirs.fileno()))
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    with ours, selectors.DefaultSelector() as selector:
        ours.setblocking(False)
        outgoing = encode_stamps(baseline)
        reader = RecordReader()
        selector.register(signals, selectors.EVENT_READ)
        selector.register(ours, selectors.EVENT_READ | selectors.EVENT_WRITE)
        open_channel = True
        while child.poll() is None:
            if signals.stop_requests:
                _stop_child(child, signals)
                return None
            # SIGCHLD wakes the select; the timeout only guards against a lost wakeup.
            for key, events in selector.select(timeout=1.0):
                if key.fileobj is signals:
                    signals.drain()
                    continue
                if events & selectors.EVENT_WRITE:
                    outgoing = _send_some(ours, outgoing)
                    if not outgoing:
                        selector.modify(ours, selectors.EVENT_READ)
                if events & selectors.EVENT_READ and not _receive(ours, reader, known):
                    selector.unregister(ours)
                    open_channel = False
        if open_channel:
            _receive(ours, reader, known)  # reports written just before the child exited
    return child.returncode


def _send_some(channel: socket.socket, data: bytes) -> bytes:
    try:
        return data[channel.send(data):]
    except BlockingIOError:
        return data
    except OSError:
        return b""  # the child is gone; its exit code tells the story


def _receive(channel: socket.socket, reader: RecordReader, known: dict[str, None]) -> bool:
    """Add reported paths to ``known``; False at EOF."""
    while True:
        try:
            data = channel.recv(65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        for record in reader.feed(data):
            known[os.fsdecode(record)] = None


def _stop_child(child: subprocess.Popen[bytes], signals: _Signals) -> None:
    """SIGTERM the child; kill it after STOP_TIMEOUT or a second stop request.

    SIGTERM even for Ctrl+C: the child usually got that SIGINT from the
    terminal already, and the server treats a repeated SIGTERM as the same request.
    """
    requests = signals.stop_requests
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while child.poll() is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or signals.stop_requests > requests:
            child.kill()
            child.wait()
            return
        signals.wait(remaining)


def _wait_for_change(file_filter: FileFilter, baseline: dict[str, Stamp | None],
                     known: Iterable[str], extras: Iterable[str], interval: float,
                     signals: _Signals) -> bool:
    """Block until a watched file differs from ``baseline`` (True) or a stop request."""
    detector = StatDetector(file_filter, baseline)
    detector.watch(known)
    detector.watch(extras, dirs=False)
    while not signals.stop_requests:
        changed = detector.poll()
        if changed is not None:
            log(f" * Detected change in {changed!r}, restarting")
            forget_bytecode(changed)
            return True
        signals.wait(interval)
    return False
