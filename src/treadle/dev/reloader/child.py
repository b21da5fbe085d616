"""The serving child: serve on the inherited socket, exit with 3 on a change.

The server runs on the main thread (signals and the pre-fork supervisor need
it); a daemon thread scans ``sys.modules`` every interval, reports new files to
the watcher and asks the detector. On a change the child ends at once with
``os._exit(3)``: in-flight requests are cut, as a restart in development should.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import threading
import traceback
from collections.abc import Callable
from typing import NoReturn

from treadle.dev.reloader.channel import encode_paths, read_stamps
from treadle.dev.reloader.console import flush_output, log
from treadle.dev.reloader.detectors import Detector, make_detector
from treadle.dev.reloader.files import FileFilter, ModuleScanner, Stamp, forget_bytecode
from treadle.dev.reloader.forks import ForkGuard
from treadle.dev.reloader.settings import (
    BASELINE_TIMEOUT,
    ENV_CHANNEL_FD,
    ENV_SERVER_FD,
    EXIT_RELOAD,
    ReloaderSettings,
)

__all__ = ["serve_in_child"]

def _exit(code: int) -> NoReturn:
    flush_output()
    os._exit(code)


def _inherited_fds() -> tuple[int, int]:
    try:
        server_fd = int(os.environ.pop(ENV_SERVER_FD))
        channel_fd = int(os.environ.pop(ENV_CHANNEL_FD))
    except (KeyError, ValueError):
        raise RuntimeError(
            f"{ENV_SERVER_FD} and {ENV_CHANNEL_FD} must hold the file descriptors the "
            "reloader's watcher passes to its child; unset TREADLE_RUN_MAIN to start the "
            "watcher instead of setting these by hand") from None
    return server_fd, channel_fd


def serve_in_child(serve: Callable[[int], None], settings: ReloaderSettings) -> None:
    """Run ``serve(listening_fd)`` while a thread watches for changes."""
    server_fd, channel_fd = _inherited_fds()
    channel = socket.socket(fileno=channel_fd)
    baseline = read_stamps(channel, BASELINE_TIMEOUT)
    guard = ForkGuard()
    guard.install()
    watcher = threading.Thread(target=_watch_forever,
                               args=(settings, baseline, channel, guard.busy),
                               name="treadle-reloader", daemon=True)
    watcher.start()
    serve(server_fd)


def _watch_forever(settings: ReloaderSettings, baseline: dict[str, Stamp | None],
                   channel: socket.socket, busy: threading.Lock) -> None:
    try:
        # Built here rather than before serving: importing watchdog and starting its
        # observer need not delay the first request, and the baseline still
        # catches an edit made meanwhile.
        with busy:
            file_filter = FileFilter.for_this_process(settings.exclude_patterns)
            detector = make_detector(settings.reloader_type, file_filter, baseline)
            extras = {p for p in settings.extra_files if not file_filter.is_excluded(p)}
            detector.watch(extras, dirs=False)
            # What earlier children watched stays watched: a module that fails to
            # import now (an app factory may serve that error) must bring us back.
            detector.watch(p for p in baseline if p not in extras and file_filter.wants(p))
        _watch(ModuleScanner(file_filter), detector, channel, settings.interval, busy)
    except OSError as exc:
        log(f" * Lost the reloader's watcher process ({exc}); stopping", logging.WARNING)
        _exit(1)
    except BaseException:
        log(" * The reloader failed; stopping so the watcher can restart it:\n"
            + traceback.format_exc(), logging.ERROR)
        _exit(1)


def _watch(scanner: ModuleScanner, detector: Detector, channel: socket.socket,
           interval: float, busy: threading.Lock) -> None:
    with selectors.DefaultSelector() as selector:
        selector.register(channel, selectors.EVENT_READ)
        if detector.fileno() >= 0:
            selector.register(detector.fileno(), selectors.EVENT_READ)
        while True:
            with busy:  # no fork while this thread may hold a lock
                new = scanner.scan()
                if new:
                    detector.watch(new)
                changed = detector.poll()
                if changed is not None:
                    log(f" * Detected change in {changed!r}, reloading")
                    forget_bytecode(changed)
                    _exit(EXIT_RELOAD)
            if new:  # outside the lock: a send may block until the watcher reads
                channel.sendall(encode_paths(new))
            for key, _ in selector.select(interval):
                if key.fileobj is channel and not channel.recv(4096):
                    log(" * The reloader's watcher process is gone; stopping", logging.WARNING)
                    _exit(1)
