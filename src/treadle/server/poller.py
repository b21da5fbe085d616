"""Readiness polling for the I/O loop, with one-shot registrations for connections.

A connection is watched for one event at a time: once it fires, nothing more is
reported for it until the loop calls :meth:`Poller.arm` -- after a partial read,
or when a worker gives the connection back. A request in flight so costs one
system call (epoll's ``EPOLLONESHOT`` re-arm) instead of an unregister and a
register. :class:`SelectorPoller` emulates it with ``selectors`` elsewhere.
Every method but :meth:`Poller.wake` belongs to the loop thread.
"""

from __future__ import annotations

import contextlib
import select
import selectors
import socket
from typing import Any

__all__ = ["READ", "WRITE", "EpollPoller", "Poller", "SelectorPoller", "make_poller"]

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE
_MAX_EVENTS = 256  # per poll; the rest are reported by the next one


class Poller:
    """What the loop needs from a readiness poller; see the two implementations.

    ``poll`` returns the ``data`` of ready registrations and never reports its
    own wake-up socket; ``arm`` re-arms a one-shot registration, or changes
    what a persistent one waits for.
    """

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
        """Interrupt a ``poll`` in progress; any thread (and signal handlers: no lock)."""
        with contextlib.suppress(OSError):
            self._wake_w.send(b"w")

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_r.recv(4096)

    def close(self) -> None:
        self._wake_r.close()
        self._wake_w.close()


class EpollPoller(Poller):
    """Linux: ``EPOLLONESHOT`` registrations, re-armed with one ``epoll_ctl``."""

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
    """Any platform: ``selectors``, one-shot emulated by unregistering at each event."""

    def __init__(self) -> None:
        super().__init__()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_r, READ, None)
        self._oneshot: dict[int, Any] = {}  # fd -> data, for one-shot registrations

    def add(self, fd: int, data: Any, *, oneshot: bool = True, events: int = READ) -> None:
        self._selector.register(fd, events, data)
        if oneshot:
            self._oneshot[fd] = data

    def arm(self, fd: int, events: int = READ) -> None:
        data = self._oneshot.get(fd)
        if data is None:  # persistent: change what it waits for
            self._selector.modify(fd, events, self._selector.get_key(fd).data)
            return
        try:
            self._selector.modify(fd, events, data)
        except KeyError:  # fired, so unregistered
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
                self._drain_wake()
                continue
            if key.fd in oneshot:
                self._selector.unregister(key.fd)
            ready.append(key.data)
        return ready

    def close(self) -> None:
        self._selector.close()
        super().close()


def make_poller() -> EpollPoller | SelectorPoller:
    """The best poller this platform has."""
    return EpollPoller() if hasattr(select, "epoll") else SelectorPoller()
