"""The single-threaded engine: one I/O loop that runs each request inline, one at a time.

Requests are provably serial, yet idle keep-alive connections cost only a
selector entry. A slow request delays everyone, so use it for simple apps,
tests and as the per-process engine under ``processes=N``.
"""

from __future__ import annotations

import time

from treadle.http.events import Request
from treadle.server.base import BaseServer
from treadle.server.channel import ANSWERED, CLOSING, HEAD, Channel

__all__ = ["SingleThreadedServer"]


class SingleThreadedServer(BaseServer):
    """Serves every request on the loop thread (``threaded=False``)."""

    multithread = False

    def _dispatch(self, ch: Channel, head: Request) -> None:
        try:
            state = self._serve(ch, head)
        except OSError:
            state = CLOSING
        if state == ANSWERED:
            self._close_answered(ch)
        elif state == CLOSING or self.stopping:
            self._start_close(ch)
        elif state == HEAD:
            ch.state = HEAD
            ch.deadline = time.monotonic() + self.config.header_timeout
        else:
            self._park(ch)
        if self.heartbeat_fd is not None:
            # Busy loops sweep late; the supervisor must still hear from this one.
            now = time.monotonic()
            if now >= self._next_beat:
                self._beat(now)
