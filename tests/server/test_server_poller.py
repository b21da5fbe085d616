"""The readiness poller: one-shot registrations, re-arming, wake-ups from another thread.

Both implementations run every test: epoll where the platform has it, and the
selectors fallback everywhere.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from treadle.server.poller import WRITE, EpollPoller, Poller, SelectorPoller

TIMEOUT = 5.0
KINDS = [SelectorPoller, *([EpollPoller] if hasattr(select, "epoll") else [])]


@pytest.fixture(params=KINDS, ids=lambda kind: kind.__name__)
def poller(request: pytest.FixtureRequest) -> Iterator[Poller]:
    p: Poller = request.param()
    yield p
    p.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_a_one_shot_registration_reports_once_until_armed(
        poller: Poller, pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    poller.add(a.fileno(), "a")
    b.send(b"x")
    assert poller.poll(TIMEOUT) == ["a"]
    assert poller.poll(0.05) == []  # still readable, but not armed
    poller.arm(a.fileno())
    assert poller.poll(TIMEOUT) == ["a"]


def test_a_persistent_registration_reports_while_ready(
        poller: Poller, pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    poller.add(a.fileno(), "a", oneshot=False)
    b.send(b"x")
    assert poller.poll(TIMEOUT) == ["a"]
    assert poller.poll(TIMEOUT) == ["a"]


def test_a_fired_one_shot_registration_can_be_armed_for_writing(
        poller: Poller, pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    poller.add(a.fileno(), "a")
    b.send(b"x")
    assert poller.poll(TIMEOUT) == ["a"]
    a.recv(1)
    poller.arm(a.fileno(), WRITE)
    assert poller.poll(TIMEOUT) == ["a"]


def test_a_removed_registration_is_not_reported(
        poller: Poller, pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    poller.add(a.fileno(), "a", oneshot=False)
    poller.remove(a.fileno())
    b.send(b"x")
    assert poller.poll(0.05) == []


def test_arm_can_wait_for_writability(
        poller: Poller, pair: tuple[socket.socket, socket.socket]) -> None:
    a, _ = pair
    poller.add(a.fileno(), "a")
    poller.arm(a.fileno(), WRITE)
    assert poller.poll(TIMEOUT) == ["a"]


def test_wake_ends_a_poll_early_and_is_not_reported(poller: Poller) -> None:
    timer = threading.Timer(0.05, poller.wake)
    timer.start()
    started = time.monotonic()
    assert poller.poll(TIMEOUT) == []
    assert time.monotonic() - started < TIMEOUT / 2
    timer.join(TIMEOUT)
