"""The single-threaded engine: one I/O loop that runs each request inline, one at a time.

Requests are provably serial, yet idle keep-alive connections cost only a
selector entry. A slow request delays everyone, so use it for simple apps,
tests and as the per-process engine under ``processes=N``.
"""

from __future__ import annotations

import time

from treadle.http.events import Request
from treadle.server.base import BaseServer
from treadle.server.channel import Channel

__all__ = ["SingleThreadedServer"]


class SingleThreadedServer(BaseServer):
    """Serves every request on the loop thread (``threaded=False``)."""

    multithread = False

    def _dispatch(self, ch: Channel, head: Request) -> None:
        try:
            keep = self._serve(ch, head)
        except OSError:
            keep = False
        if keep and not self.stopping:
            self._park(ch)
        else:
            self._start_close(ch)
        if self.heartbeat_fd is not None:
            # Busy loops sweep late; the supervisor must still hear from this one.
            now = time.monotonic()
            if now >= self._next_beat:
                self._beat(now)
