"""The server's tunable settings: one frozen table of names, defaults and meanings.

Every knob the engines read lives in :class:`ServerConfig`; ``run_simple``,
``make_server`` and the CLI all build one from keyword options by these names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from treadle.http.limits import Limits

__all__ = ["ServerConfig"]


def _opt(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Settings shared by every engine; the field defaults are the documented defaults.

    Timeouts are seconds. ``threads`` bounds concurrently running requests in
    threaded mode only: idle keep-alive connections wait in the I/O loop and
    hold no thread, so the pool sizes for work in flight, not for clients.
    """

    threads: int = _opt(32, "worker threads per process in threaded mode (started on demand)")
    backlog: int = _opt(2048, "listen() backlog: connections the kernel queues before accept")
    header_timeout: float = _opt(
        10.0, "seconds a client may take to send a complete request head")
    keepalive_timeout: float = _opt(
        5.0, "seconds an idle keep-alive connection is kept open between requests")
    body_timeout: float = _opt(
        30.0, "seconds a read of the request body or a write of the response may stall")
    max_keepalive_requests: int = _opt(
        1000, "requests served on one connection before it is closed")
    max_connections: int = _opt(
        1000, "open connections per process; accepting pauses at this number")
    graceful_timeout: float = _opt(
        30.0, "seconds in-flight requests get to finish when the server stops")
    max_drain: int = _opt(
        65536, "bytes of unread request body discarded to keep a connection alive")
    limits: Limits = field(
        default_factory=Limits, metadata={"help": "request size limits (treadle.http.limits)"})

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "limits":
                if not isinstance(value, Limits):
                    raise TypeError(
                        f"limits must be a treadle.http.limits.Limits, got {type(value).__name__}")
            elif isinstance(value, bool) or not isinstance(
                    value, int if type(f.default) is int else int | float):
                kind = "an integer" if type(f.default) is int else "a number"
                raise TypeError(f"{f.name} must be {kind}, got {value!r}")
            elif value <= 0 and f.name != "max_drain":
                raise ValueError(f"{f.name} must be greater than 0, got {value!r}")
            elif value < 0:
                raise ValueError(f"{f.name} must not be negative, got {value!r}")

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ServerConfig:
        """Build from keyword options, naming any unknown one and the valid names."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(
                f"unknown server option(s) {', '.join(unknown)}; "
                f"valid options are {', '.join(sorted(known))}")
        return cls(**options)
