"""The nonblocking send/recv the server uses on plain sockets: the C pair, which keeps the
GIL, and the twins used without it (os.write / os.read) behave like the socket methods."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

try:
    from treadle import _speedups as speedups
except ImportError:  # pragma: no cover - the C extension is optional
    speedups = None  # type: ignore[assignment]

PAIRS = [pytest.param((os.write, os.read), id="python")]
if speedups is not None:
    PAIRS.append(pytest.param((speedups.send_now, speedups.recv_now), id="c"))


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    with ours, theirs:
        yield ours, theirs


@pytest.mark.parametrize("calls", PAIRS)
def test_bytes_go_both_ways(calls: Any, pair: tuple[socket.socket, socket.socket]) -> None:
    send_now, recv_now = calls
    ours, theirs = pair
    assert send_now(ours.fileno(), memoryview(b"hello world")[6:]) == 5
    assert theirs.recv(100) == b"world"
    theirs.sendall(b"x" * 300)
    assert recv_now(ours.fileno(), 100) == b"x" * 100  # at most size
    assert recv_now(ours.fileno(), 1000) == b"x" * 200


@pytest.mark.parametrize("calls", PAIRS)
def test_nothing_to_read_raises_blocking_io_error(
        calls: Any, pair: tuple[socket.socket, socket.socket]) -> None:
    _, recv_now = calls
    ours, _ = pair
    with pytest.raises(BlockingIOError):
        recv_now(ours.fileno(), 100)


@pytest.mark.parametrize("calls", PAIRS)
def test_a_full_send_buffer_sends_part_then_raises_blocking_io_error(
        calls: Any, pair: tuple[socket.socket, socket.socket]) -> None:
    send_now, _ = calls
    ours, _ = pair
    chunk = b"y" * 65536
    sent = [send_now(ours.fileno(), chunk) for _ in range(3)]
    assert all(0 < n <= len(chunk) for n in sent)
    with pytest.raises(BlockingIOError):
        for _ in range(1000):
            send_now(ours.fileno(), chunk)


@pytest.mark.parametrize("calls", PAIRS)
def test_a_closed_peer_reads_eof_and_refuses_writes(
        calls: Any, pair: tuple[socket.socket, socket.socket]) -> None:
    send_now, recv_now = calls
    ours, theirs = pair
    theirs.close()
    assert recv_now(ours.fileno(), 100) == b""
    with pytest.raises(BrokenPipeError):  # EPIPE, and no SIGPIPE kills the process
        send_now(ours.fileno(), b"late")


@pytest.mark.skipif(speedups is None, reason="treadle._speedups was not built")
def test_the_c_calls_refuse_bad_arguments() -> None:
    assert speedups is not None
    with pytest.raises(ValueError, match="positive"):
        speedups.recv_now(0, 0)
    with pytest.raises(TypeError):
        speedups.send_now(0, "text")  # str is not bytes-like
    with pytest.raises(OSError):
        speedups.recv_now(-1, 10)  # EBADF
