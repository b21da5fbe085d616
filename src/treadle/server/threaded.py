"""The threaded engine: the I/O loop reads request heads, a bounded thread pool runs them.

A connection holds a thread only while a request is in flight; between
requests it waits in the loop. The pool starts threads on demand up to
``threads`` and never beyond, so a flood of clients queues instead of
spawning a thread each; threads idle for a minute exit.

Under the GIL, handing a request from the loop's thread to another costs
more than a short request itself (the GIL changes hands at every system
call while two threads are runnable). So the loop runs a request inline
when nothing is queued, and a standby thread watches it: a request still
running after one ``WATCH`` period has blocked, and the standby takes
over the loop, which then hands requests to the pool for ``BACKOFF``
seconds. The stalled thread becomes the standby when its request ends.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable
from typing import Any

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
# The standby looks at the loop's inline request every WATCH seconds; one seen twice has
# blocked the loop for at least that long (up to twice as long) and the standby takes over.
# Without the C watcher each look takes the GIL from the loop, so it looks less often.
WATCH = 0.002
WATCH_IN_PYTHON = 0.01
# After a takeover every request goes to the pool for a while: BACKOFF seconds at first,
# twice as long as last time after one that came soon after the last (an app that blocks
# often), at most BACKOFF_MAX. A lone stall (a slow first request, a preempted thread)
# costs little.
BACKOFF = 0.05
BACKOFF_MAX = 1.0
# Seconds a pool thread that answered a keep-alive request waits for the client's next one
# while another thread is parked, instead of giving the connection back to the loop
# at once: a client that sends at once (an API client, a proxy) skips the loop and the
# hand-over to another thread (sleep 20 ms x 100 connections: 193 -> 152 us CPU a request).
READ_AHEAD_WAIT = 0.002


def _watch_in_python(beacon: Any, interval: float) -> int:
    """The pure-Python twin of ``treadle._speedups.watch_beacon``."""
    seen = -1
    while True:
        time.sleep(interval)
        if beacon[1]:
            return -1
        now: int = beacon[0]
        if now & 1 and now == seen:
            return now
        seen = now


watch_beacon: Callable[[Any, float], int] = _watch_in_python
if not os.environ.get("TREADLE_NO_SPEEDUPS"):
    with contextlib.suppress(ImportError):  # built without a C compiler: the twin
        from treadle._speedups import watch_beacon
if watch_beacon is _watch_in_python:
    WATCH = WATCH_IN_PYTHON


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

    def has_parked(self) -> bool:
        """Whether a thread is parked, waiting for work (read without the lock: a hint)."""
        return bool(self._parked)

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


class _LoopLost(BaseException):
    """Unwinds a loop thread whose inline request outlived ``WATCH``: another has the loop."""


class ThreadedServer(BaseServer):
    """Serves requests on a bounded thread pool fed by the I/O loop (``threaded=True``).

    Under the GIL the loop runs on two threads taking turns (see the module
    docstring) and ``serve_forever``'s thread waits; a request run inline
    takes one of the ``threads`` slots, so the pool has one thread less.
    """

    multithread = True
    _oneshot = True

    def _setup(self) -> None:
        threads = self.config.threads
        # Inline running pays only where threads take turns, and needs a thread to spare.
        self.runs_inline = threads > 1 and parallelism() == 1
        self.pool = ThreadPool(threads - 1 if self.runs_inline else threads, self._work,
                               self._hand_back)
        self._role = threading.Lock()  # guards the fields below
        self._turn = 0  # bumped at each takeover: the inline request's thread lost the loop
        # beacon[0]: the ticket, odd while a request runs inline, bumped at its start and
        # end; the standby watches it (see watch_beacon). beacon[1] = 1 ends the watch.
        self._beacon = array("q", (0, 0))
        self._standby: threading.Thread | None = None
        self._ending = False
        self._ended = threading.Event()
        self._pool_until = 0.0  # monotonic time until which requests go to the pool
        self._backoff = BACKOFF
        self.takeovers = 0  # how often a blocked inline request cost the loop its thread
        self._leader_id = 0  # threading.get_ident() of the thread running the loop

    def _run(self) -> None:
        if not self.runs_inline:
            super()._run()
            return
        leader, standby = (threading.Thread(target=self._take_turns, args=(lead,),
                                            name=f"treadle-loop-{n}", daemon=True)
                           for n, lead in ((1, True), (2, False)))
        self._standby = standby  # from the first request on: it watches once it runs
        standby.start()
        leader.start()
        try:
            self._ended.wait()
        except BaseException:  # KeyboardInterrupt: stop gracefully all the same
            self.request_stop()
            self._ended.wait(self.config.graceful_timeout + 1.0)
            raise

    def _take_turns(self, lead: bool) -> None:
        """A loop thread: lead, or stand by until the leader blocks, until the server stops."""
        try:
            while lead or self._stand_by():
                self._leader_id = threading.get_ident()
                try:
                    self._loop()
                except _LoopLost:
                    lead = False
                    continue
                self._graceful_stop()
                break
            else:
                return  # the server ended while this thread stood by
        except BaseException as exc:  # a bug, or passthrough_errors: serve_forever re-raises it
            self._fail(exc)
        self._ended.set()

    def _stand_by(self) -> bool:
        """Watch the leader's inline request; True once this thread has taken the loop over,
        False when the server ends first."""
        with self._role:
            if self._ending:
                return False
            self._standby = threading.current_thread()
        while True:
            stalled = watch_beacon(self._beacon, WATCH)
            with self._role:
                if self._ending:
                    self._standby = None
                    return False
                if stalled == self._beacon[0]:  # still the request seen twice: take over
                    self._turn += 1
                    self._beacon[0] += 1  # that request no longer holds the loop
                    self._standby = None
                    # The rest of the stalled thread's batch, which it will not touch again.
                    self._leftovers.extend(self._batch)
                    self._back_off()
                    return True

    def _back_off(self) -> None:
        """Under the role lock, at a takeover: send requests to the pool for a while."""
        now = time.monotonic()
        self.takeovers += 1
        soon = self._pool_until and now - self._pool_until < 2 * self._backoff
        self._backoff = min(BACKOFF_MAX, 2 * self._backoff) if soon else BACKOFF
        self._pool_until = now + self._backoff

    def _dispatch(self, ch: Channel, head: Request) -> None:
        # The loop's sweep watches this deadline only under a supervisor's timeout.
        timeout = self._request_timeout
        now = time.monotonic()
        ch.deadline = now + timeout if timeout else NEVER
        if (self.runs_inline and self._standby is not None and not self.stopping
                and not self.pool.queued and not head.expect_continue
                and (not ch.body_pending or not (head.chunked or head.content_length))
                and now >= self._pool_until):  # not in the pool-only period after a takeover
            self._serve_inline(ch, head)
        else:
            self.pool.submit(ch, head)

    def _serve_inline(self, ch: Channel, head: Request) -> None:
        role = self._role
        beacon = self._beacon
        with role:
            turn = self._turn
            beacon[0] += 1
        state = self._work(ch, head)
        with role:
            lost = self._turn != turn
            if not lost:
                beacon[0] += 1
        if lost:
            self._hand_back(ch, state)  # to the new leader (or closed, if it has stopped)
            raise _LoopLost
        self._settle(ch, state, time.monotonic())

    def _housekeep(self, now: float) -> float:
        return self.pool.nudge(now)

    def _read_ahead_wait(self) -> float | None:
        # Only when nobody waits: a queued request is served first, in order. Not inline
        # either: there the loop's next poll finds the client's next request as cheaply.
        if self.pool.queued or threading.get_ident() == self._leader_id:
            return None
        # While another thread is parked, waiting a moment for the client's next request
        # costs no request a thread (nor starts one), and it saves the trip through the loop.
        return READ_AHEAD_WAIT if self.pool.has_parked() and not self.stopping else 0.0

    def _work(self, ch: Channel, head: Request) -> int:
        """Serve on a pool thread or inline; the state the channel goes back in (never raises)."""
        try:
            return self._serve(ch, head)
        except OSError as exc:
            logger.debug("connection dropped: %s", exc)
        except BaseException as exc:  # passthrough_errors, or a bug: stop serve_forever
            self._fail(exc)
        return CLOSING

    def _finish(self) -> None:
        # The graceful period is over: threads still in the app are abandoned (daemons).
        with self._role:
            self._ending = True
            self._beacon[1] = 1
        self.pool.stop(timeout=0.2)
