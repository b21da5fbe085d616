"""The threaded engine: the I/O loop reads request heads, a bounded thread pool runs them.

A connection holds a thread only while a request is in flight; between
requests it waits in the loop. The pool starts threads on demand up to
``threads`` and never beyond, so a flood of clients queues instead of
spawning a thread each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from queue import SimpleQueue

from treadle.http.events import Request
from treadle.server.base import NEVER, BaseServer
from treadle.server.channel import Channel
from treadle.server.handler import logger

__all__ = ["ThreadPool", "ThreadedServer"]


class ThreadPool:
    """At most ``size`` daemon threads running ``run(channel, head)`` for queued work."""

    def __init__(self, size: int, run: Callable[[Channel, Request], None],
                 name: str = "treadle-worker") -> None:
        self.size = size
        self._run = run
        self._name = name
        self._queue: SimpleQueue[tuple[Channel, Request] | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._pending = 0  # submitted and not yet finished

    @property
    def thread_count(self) -> int:
        """How many threads have been started so far."""
        with self._lock:
            return len(self._threads)

    def submit(self, ch: Channel, head: Request) -> None:
        """Queue a request, starting a thread if every started one is busy."""
        with self._lock:
            self._pending += 1
            count = len(self._threads)
            thread = None
            if self._pending > count and count < self.size:
                thread = threading.Thread(target=self._work, name=f"{self._name}-{count + 1}",
                                          daemon=True)
                self._threads.append(thread)
        if thread is not None:
            thread.start()
        self._queue.put((ch, head))

    def _work(self) -> None:
        get = self._queue.get
        run = self._run
        lock = self._lock
        while (item := get()) is not None:
            try:
                run(*item)
            finally:
                with lock:
                    self._pending -= 1

    def stop(self, timeout: float) -> None:
        """Let every thread finish its current request and exit, waiting up to ``timeout``."""
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class ThreadedServer(BaseServer):
    """Serves requests on a bounded thread pool fed by the I/O loop (``threaded=True``)."""

    multithread = True

    def _setup(self) -> None:
        self.pool = ThreadPool(self.config.threads, self._work)

    def _dispatch(self, ch: Channel, head: Request) -> None:
        self._selector.unregister(ch.sock)
        # The loop's sweep watches this deadline only under a supervisor's timeout.
        timeout = self._request_timeout
        ch.deadline = time.monotonic() + timeout if timeout else NEVER
        self.pool.submit(ch, head)

    def _work(self, ch: Channel, head: Request) -> None:
        try:
            keep = self._serve(ch, head)
        except OSError as exc:
            logger.debug("connection dropped: %s", exc)
            keep = False
        except BaseException as exc:  # passthrough_errors, or a bug: stop serve_forever
            keep = False
            self._fail(exc)
        self._hand_back(ch, keep)

    def _finish(self) -> None:
        # The graceful period is over: threads still in the app are abandoned (daemons).
        self.pool.stop(timeout=0.2)
