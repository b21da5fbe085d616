"""Helpers for the sans-IO tests: feed bytes, collect events, no sockets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from treadle.http.connection import Connection
from treadle.http.errors import RemoteProtocolError
from treadle.http.events import NEED_DATA, PAUSED, Data, EndOfMessage, Request
from treadle.http.limits import Limits


@dataclass
class Parsed:
    request: Request
    body: bytes
    trailers: list[tuple[bytes, bytes]]
    data_events: int = 0
    connection: Connection = field(repr=False, default_factory=Connection)


def read_request(data: bytes, step: int | None = None, limits: Limits | None = None) -> Parsed:
    """Feed one request (in ``step``-byte pieces) and return it with its body.

    Asserts the event order Request, Data*, EndOfMessage, then PAUSED.
    """
    conn = Connection(limits)
    pieces = [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]
    events: list[object] = []
    for piece in pieces:
        conn.receive_data(piece)
        while (event := conn.next_event()) is not NEED_DATA:
            events.append(event)
            if event is PAUSED:
                break
    assert events and events[-1] is PAUSED, events
    assert isinstance(events[0], Request), events
    assert isinstance(events[-2], EndOfMessage), events
    assert all(isinstance(e, Data) for e in events[1:-2]), events
    body = b"".join(e.data for e in events[1:-2] if isinstance(e, Data))
    return Parsed(events[0], body, events[-2].trailers, len(events) - 3, conn)


def reject(data: bytes, limits: Limits | None = None, step: int | None = None,
           eof: bool = False) -> RemoteProtocolError:
    """Feed ``data`` and return the RemoteProtocolError it must cause (never a hang)."""
    conn = Connection(limits)
    pieces = [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]
    if eof:
        pieces.append(b"")
    error: RemoteProtocolError | None = None
    try:
        for piece in pieces:
            conn.receive_data(piece)
            while (event := conn.next_event()) is not NEED_DATA:
                if event is PAUSED:
                    raise AssertionError(f"accepted a whole request from {data!r}")
    except RemoteProtocolError as exc:
        error = exc
    assert error is not None, f"no error (waiting for more data) for {data!r}"
    assert 400 <= error.status <= 599
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    assert conn.keep_alive is False
    return error


@pytest.fixture
def read() -> Callable[..., Parsed]:
    return read_request


@pytest.fixture
def rejected() -> Callable[..., RemoteProtocolError]:
    return reject
