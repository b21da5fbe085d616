"""The threaded engine: the I/O loop reads request heads, a bounded thread pool runs them.

A connection holds a thread only while a request is in flight; between
requests it waits in the loop. The pool starts threads on demand up to
``threads`` and never beyond, so a flood of clients queues instead of
spawning a thread each; threads idle for a minute exit.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable

from treadle.http.events import Request
from treadle.server.base import NEVER, BaseServer
from treadle.server.channel import CLOSING, Channel
from treadle.server.handler import logger

__all__ = ["ThreadPool", "ThreadedServer", "parallelism"]

# Seconds a queued request may wait for a thread before another one is woken
# for it, although a running thread may soon be free (see ThreadPool).
PATIENCE = 0.001
# A process using this many CPU seconds per second (sampled every SAMPLE seconds) is bound
# by its own CPU: then no more threads run than can run Python at once (one under the GIL,
# one per core without it); more would only take turns at the GIL or the cores.
SATURATED = 0.9
SAMPLE = 0.01
IDLE_EXIT = 60.0  # seconds a parked thread waits for work before it exits


def parallelism() -> int:
    """How many threads can run Python code at once: 1 under the GIL, else the usable cores.

    Asked again at every CPU sample: on free-threaded CPython an extension module
    imported later can turn the GIL back on.
    """
    gil_enabled = getattr(sys, "_is_gil_enabled", None)
    if gil_enabled is None or gil_enabled():
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class ThreadPool:
    """At most ``size`` threads running ``done(channel, run(channel, head))``, woken only
    when work would wait; ``run`` must not raise.

    Under the GIL every extra runnable thread costs a hand-over of the lock at
    each system call, so a queued request goes to a thread that is running and
    between requests if there is one; a parked thread is woken (most recently
    parked first) only when there is none. A request still queued after
    ``PATIENCE`` gets a thread of its own (the loop calls :meth:`nudge`), so it
    never waits long behind one that blocks -- unless the process is using a
    whole CPU (``SATURATED``) and as many threads are running as can run
    Python at once (one under the GIL, one per core without it): then they are
    making progress, and another would only slow them down. Without the GIL
    short requests gain nothing from more threads either: every extra one adds
    hand-overs and contention (hello on 3.13t: 7.9k req/s with 51 threads,
    10.4k with this rule).
    """

    def __init__(self, size: int, run: Callable[[Channel, Request], int],
                 done: Callable[[Channel, int], None], name: str = "treadle-worker") -> None:
        self.size = size
        self._run = run
        self._done = done
        self._name = name
        self._lock = threading.Lock()
        self._jobs: deque[tuple[Channel, Request, float]] = deque()
        self._parked: list[threading.Lock] = []  # held locks; releasing one wakes its thread
        self._threads: list[threading.Thread] = []
        self._started = 0
        self._free = 0  # threads awake and between requests: they look at the queue next
        self._stopping = False
        self._saturated = False
        self._parallel = parallelism()
        self._sampled_at = time.monotonic()
        self._sampled_cpu = time.process_time()

    @property
    def thread_count(self) -> int:
        """How many threads are alive (started on demand, exited when idle)."""
        with self._lock:
            return len(self._threads)

    @property
    def queued(self) -> int:
        """Requests waiting for a thread."""
        return len(self._jobs)

    def submit(self, ch: Channel, head: Request) -> None:
        """Queue a request, waking or starting a thread if none is free to take it."""
        with self._lock:
            self._jobs.append((ch, head, time.monotonic()))
            thread = self._wake() if self._wanted() else None
        if thread is not None:
            thread.start()

    def nudge(self, now: float) -> float:
        """Give a thread to a request queued for ``PATIENCE``; returns when to call again."""
        if not self._jobs:
            return NEVER
        thread = None
        if now - self._sampled_at >= SAMPLE:
            cpu = time.process_time()
            self._parallel = parallelism()
            self._saturated = cpu - self._sampled_cpu >= SATURATED * (now - self._sampled_at)
            self._sampled_at, self._sampled_cpu = now, cpu
        with self._lock:
            if not self._jobs:
                return NEVER
            due = self._jobs[0][2] + PATIENCE
            if due <= now:
                if self._wanted():
                    thread = self._wake()
                    if thread is None and not self._parked and len(self._threads) >= self.size:
                        return NEVER  # every thread is busy: the next one free takes it
                due = now + PATIENCE
        if thread is not None:
            thread.start()
        return due

    def _wanted(self) -> bool:
        """Under the lock: whether a queued request needs another thread awake."""
        if self._free:
            return False
        running = len(self._threads) - len(self._parked)
        return not (self._saturated and running >= self._parallel)

    def _wake(self) -> threading.Thread | None:
        """Under the lock: wake a parked thread, or make one to start; it counts as free."""
        if self._parked:
            self._free += 1
            self._parked.pop().release()
            return None
        if len(self._threads) >= self.size:
            return None
        self._started += 1
        self._free += 1
        thread = threading.Thread(target=self._work, name=f"{self._name}-{self._started}",
                                  daemon=True)
        self._threads.append(thread)
        return thread

    def _work(self) -> None:
        lock = self._lock
        jobs = self._jobs
        run = self._run
        done = self._done
        wake = threading.Lock()
        wake.acquire()
        while True:  # counted free here
            with lock:
                self._free -= 1
                if jobs:
                    ch, head, _ = jobs.popleft()
                else:
                    if self._stopping:
                        self._threads.remove(threading.current_thread())
                        return
                    self._parked.append(wake)
                    ch = None
            if ch is None:
                if not wake.acquire(timeout=IDLE_EXIT) and self._exit_idle(wake):
                    return
                continue  # whoever woke us counted us free
            state = run(ch, head)
            # Free before the channel goes back, so the client's next request,
            # which may follow at once, finds this thread instead of waking one.
            with lock:
                self._free += 1
            done(ch, state)

    def _exit_idle(self, wake: threading.Lock) -> bool:
        """After an idle timeout: leave, unless a wake-up raced the timeout."""
        with self._lock:
            if wake in self._parked:
                self._parked.remove(wake)
                self._threads.remove(threading.current_thread())
                return True
        wake.acquire()  # released under the lock by the waker: returns at once
        return False

    def stop(self, timeout: float) -> None:
        """Let every thread finish the queued requests and exit, waiting up to ``timeout``."""
        with self._lock:
            self._stopping = True
            threads = list(self._threads)
            while self._parked:
                self._free += 1
                self._parked.pop().release()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class ThreadedServer(BaseServer):
    """Serves requests on a bounded thread pool fed by the I/O loop (``threaded=True``)."""

    multithread = True
    _oneshot = True

    def _setup(self) -> None:
        self.pool = ThreadPool(self.config.threads, self._work, self._hand_back)

    def _dispatch(self, ch: Channel, head: Request) -> None:
        # The loop's sweep watches this deadline only under a supervisor's timeout.
        timeout = self._request_timeout
        ch.deadline = time.monotonic() + timeout if timeout else NEVER
        self.pool.submit(ch, head)

    def _housekeep(self, now: float) -> float:
        return self.pool.nudge(now)

    def _may_read_ahead(self) -> bool:
        # Only when nobody waits: a queued request is served first, in order.
        return not self.pool.queued

    def _work(self, ch: Channel, head: Request) -> int:
        """Serve on a pool thread; the state the channel goes back in (never raises)."""
        try:
            return self._serve(ch, head)
        except OSError as exc:
            logger.debug("connection dropped: %s", exc)
        except BaseException as exc:  # passthrough_errors, or a bug: stop serve_forever
            self._fail(exc)
        return CLOSING

    def _finish(self) -> None:
        # The graceful period is over: threads still in the app are abandoned (daemons).
        self.pool.stop(timeout=0.2)
