"""Events the sans-IO connection produces and the values it hands to the server.

This is the contract between ``treadle.http`` and ``treadle.server``: the server
feeds bytes to :class:`treadle.http.connection.Connection` and reads these
events back; it never parses HTTP itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(slots=True)
class Request:
    """A complete, validated request head.

    ``headers`` keeps the field names and values as received (names not
    case-folded, values with surrounding whitespace stripped), in order.
    """

    method: str
    target: bytes
    http_version: str
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    expect_continue: bool
    content_length: int | None
    chunked: bool


@dataclass(slots=True)
class Data:
    """A piece of the request body, already de-chunked."""

    data: bytes


@dataclass(slots=True)
class EndOfMessage:
    """The request body is complete; ``trailers`` holds chunked trailer fields."""

    trailers: list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed its sending side between requests: a clean end, not an error."""


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA: Final = _Sentinel("NEED_DATA")
"""More bytes must be fed before another event can be produced."""

PAUSED: Final = _Sentinel("PAUSED")
"""The current request is complete; call ``start_next_cycle()`` after responding."""

Event = Request | Data | EndOfMessage | ConnectionClosed | _Sentinel
