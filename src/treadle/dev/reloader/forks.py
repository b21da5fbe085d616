"""Processes forked inside the serving child (``processes=N`` workers) end with it.

The reloader thread runs beside the pre-fork supervisor, so a fork waits until
that thread is idle (it holds :attr:`ForkGuard.busy` while it works), and every
forked process gets a thread that ends it the moment the serving child exits:
after a reload no old worker may keep accepting connections with old code.
"""

from __future__ import annotations

import os
import threading

__all__ = ["ForkGuard"]


class ForkGuard:
    """Install once in the serving child, before the server starts."""

    def __init__(self) -> None:
        self.busy = threading.Lock()
        # Only the serving child keeps the write end; EOF on the read end means it is gone.
        self._lifeline_r, self._lifeline_w = os.pipe()
        self._holds_write_end = True

    def install(self) -> None:
        os.register_at_fork(before=self.busy.acquire, after_in_parent=self.busy.release,
                            after_in_child=self._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        self.busy.release()
        if self._holds_write_end:  # False in a worker's own forks: it closed it already
            self._holds_write_end = False
            os.close(self._lifeline_w)
        threading.Thread(target=self._end_with_serving_child, name="treadle-reloader-lifeline",
                         daemon=True).start()

    def _end_with_serving_child(self) -> None:
        try:
            os.read(self._lifeline_r, 1)
        finally:
            os._exit(0)
