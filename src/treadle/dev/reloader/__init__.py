"""The development reloader: restart the server when its code changes.

``run_simple(use_reloader=True)`` calls :func:`run_with_reloader`. The process
the user started becomes the watcher: it binds the listening socket once and
runs the server in a child that inherits it, so connections made during a
restart wait in the kernel's backlog instead of being refused.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from collections.abc import Callable, Iterable

from treadle.dev.reloader.settings import (
    ENV_CHANNEL_FD,
    ENV_RUN_MAIN,
    RELOADER_TYPES,
    ReloaderSettings,
)

__all__ = ["RELOADER_TYPES", "is_running_from_reloader", "run_with_reloader"]


def is_running_from_reloader() -> bool:
    """True in the serving child the reloader started (app code may check it)."""
    return os.environ.get(ENV_RUN_MAIN) == "true"


def run_with_reloader(
    serve: Callable[[int], None],
    bind: Callable[[], socket.socket],
    *,
    extra_files: Iterable[str | os.PathLike[str]] | None = None,
    exclude_patterns: Iterable[str] | None = None,
    interval: float = 1,
    reloader_type: str = "auto",
    unix_socket_path: str | None = None,
) -> None:
    """Watch for changes and restart; never returns in the watcher.

    In the watcher, ``bind()`` creates the listening socket and the process
    exits (status 0) on SIGINT or SIGTERM. In the child, ``serve(fd)`` runs
    the server on the inherited listening fd; it must not close or rebind it.
    ``unix_socket_path`` names the socket file ``bind()`` created, for the
    watcher to remove when it exits.
    """
    if os.name != "posix":
        raise RuntimeError("use_reloader=True needs a POSIX system (Linux, macOS, BSD): the "
                           "reloader relies on SIGCHLD and fork hooks; restart by hand here")
    settings = ReloaderSettings.build(extra_files, exclude_patterns, interval, reloader_type)
    if is_running_from_reloader() and ENV_CHANNEL_FD in os.environ:
        from treadle.dev.reloader.child import serve_in_child

        serve_in_child(serve, settings)
        return
    from treadle.dev.reloader.watcher import watch_and_restart

    with bind() as listener:
        try:
            code = watch_and_restart(listener, settings)
        finally:
            if unix_socket_path is not None:
                _remove_socket_file(unix_socket_path)
    raise SystemExit(code)


def _remove_socket_file(path: str) -> None:
    with contextlib.suppress(OSError):
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
