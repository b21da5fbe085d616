"""Readiness polling for the I/O loop: one-shot interest that the thread owning a connection re-arms.

A connection is watched for one event at a time: once it fires, nothing more is
reported for it until its owner calls :meth:`arm` -- the loop after a partial
read, or the worker thread that served a request, without waking the loop. On
Linux that is epoll's ``EPOLLONESHOT`` (one thread-safe syscall); elsewhere
:class:`SelectorPoller` emulates it, queueing arms from other threads for the loop.
"""

from __future__ import annotations

import contextlib
import select
import selectors
import socket
import threading
from typing import Any

__all__ = ["READ", "WRITE", "EpollPoller", "Poller", "SelectorPoller", "make_poller"]

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE
_MAX_EVENTS = 256  # per poll; the rest are reported by the next one


class Poller:
    """What the loop needs from a readiness poller; see the two implementations.

    ``add`` and ``remove`` belong to the loop thread; ``arm`` (re-arm a one-shot
    registration, or change what a persistent one waits for) and ``wake`` may be
    called from any thread. ``poll`` returns the ``data`` of ready registrations
    and never reports its own wake-up socket.
    """

    loop_thread = 0  # threading.get_ident() of the loop, set when it starts

    def __init__(self) -> None:
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    def add(self, fd: int, data: Any, *, oneshot: bool = True, events: int = READ) -> None:
        raise NotImplementedError

    def arm(self, fd: int, events: int = READ) -> None:
        raise NotImplementedError

    def remove(self, fd: int) -> None:
        raise NotImplementedError

    def poll(self, timeout: float) -> list[Any]:
        raise NotImplementedError

    def wake(self) -> None:
        """Interrupt a ``poll`` in progress (safe in signal handlers: no lock)."""
        with contextlib.suppress(OSError):
            self._wake_w.send(b"w")

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_r.recv(4096)

    def close(self) -> None:
        self._wake_r.close()
        self._wake_w.close()


class EpollPoller(Poller):
    """Linux: ``EPOLLONESHOT`` registrations, so any thread re-arms with one ``epoll_ctl``."""

    def __init__(self) -> None:
        super().__init__()
        self._epoll = select.epoll()
        self._data: dict[int, Any] = {}
        self._persistent: set[int] = set()
        wake = self._wake_r.fileno()
        self._epoll.register(wake, select.EPOLLIN)
        self._wake_fd = wake

    def add(self, fd: int, data: Any, *, oneshot: bool = True, events: int = READ) -> None:
        flags = select.EPOLLONESHOT if oneshot else 0
        self._epoll.register(fd, _epoll_mask(events) | flags)
        self._data[fd] = data
        if not oneshot:
            self._persistent.add(fd)

    def arm(self, fd: int, events: int = READ) -> None:
        oneshot = 0 if fd in self._persistent else select.EPOLLONESHOT
        self._epoll.modify(fd, _epoll_mask(events) | oneshot)

    def remove(self, fd: int) -> None:
        if self._data.pop(fd, None) is not None:
            self._persistent.discard(fd)
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(fd)

    def poll(self, timeout: float) -> list[Any]:
        data = self._data
        ready = []
        for fd, _ in self._epoll.poll(timeout, _MAX_EVENTS):
            item = data.get(fd)
            if item is not None:
                ready.append(item)
            elif fd == self._wake_fd:
                self._drain_wake()
        return ready

    def close(self) -> None:
        self._epoll.close()
        super().close()


def _epoll_mask(events: int) -> int:
    return (select.EPOLLIN if events & READ else 0) | (select.EPOLLOUT if events & WRITE else 0)


class SelectorPoller(Poller):
    """Any platform: ``selectors`` with one-shot emulated by unregistering at each event.

    A selector is not thread-safe, so an ``arm`` from a worker thread is queued
    and the loop woken (one byte while a wake-up is pending) to apply it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_r, READ, None)
        self._oneshot: dict[int, Any] = {}  # fd -> data, for one-shot registrations
        self._lock = threading.Lock()
        self._pending: list[tuple[int, int]] = []
        self._wake_pending = False

    def add(self, fd: int, data: Any, *, oneshot: bool = True, events: int = READ) -> None:
        self._selector.register(fd, events, data)
        if oneshot:
            self._oneshot[fd] = data

    def arm(self, fd: int, events: int = READ) -> None:
        if threading.get_ident() == self.loop_thread:
            self._arm(fd, events)
            return
        with self._lock:
            self._pending.append((fd, events))
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            self.wake()

    def _arm(self, fd: int, events: int) -> None:
        data = self._oneshot.get(fd)
        try:
            if data is None:  # a persistent registration, or one removed meanwhile
                key = self._selector.get_key(fd)
                self._selector.modify(fd, events, key.data)
            else:
                self._selector.modify(fd, events, data)
        except KeyError:
            if data is not None:
                self._selector.register(fd, events, data)

    def remove(self, fd: int) -> None:
        self._oneshot.pop(fd, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(fd)

    def poll(self, timeout: float) -> list[Any]:
        ready = []
        oneshot = self._oneshot
        for key, _ in self._selector.select(timeout):
            if key.data is None:
                self._take_pending()
                continue
            if key.fd in oneshot:
                self._selector.unregister(key.fd)
            ready.append(key.data)
        return ready

    def _take_pending(self) -> None:
        # Read the wake-up bytes before taking the list, so an arm that lands
        # after the swap always sends a fresh byte.
        self._drain_wake()
        with self._lock:
            pending, self._pending = self._pending, []
            self._wake_pending = False
        for fd, events in pending:
            self._arm(fd, events)

    def close(self) -> None:
        self._selector.close()
        super().close()


def make_poller() -> EpollPoller | SelectorPoller:
    """The best poller this platform has."""
    return EpollPoller() if hasattr(select, "epoll") else SelectorPoller()
