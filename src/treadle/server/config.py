"""The server's tunable settings: one frozen table of names, defaults and meanings.

Every knob the engines read lives in :class:`ServerConfig` (request size limits
in :class:`Limits`). ``run_simple``, ``make_server``, the CLI and ``app.config``
all name them the same way: ``header_timeout`` / ``--header-timeout`` /
``SERVER_HEADER_TIMEOUT`` (:data:`CONFIG_KEYS`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from treadle.http.limits import Limits

__all__ = [
    "CONFIG_KEYS",
    "SINGLE_WORKER_TIMEOUT",
    "WORKER_OPTIONS",
    "ServerConfig",
    "options_from_config",
    "worker_timeout",
]

# What ``timeout=None`` means in a single-threaded worker process (gunicorn sync's default).
SINGLE_WORKER_TIMEOUT = 30.0


def _opt(default: Any, help: str, *, zero: bool = False) -> Any:
    return field(default=default, metadata={"help": help, "zero": zero})


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Settings shared by every engine; the field defaults are the documented defaults.

    Timeouts are seconds. ``threads`` bounds concurrently running requests in
    threaded mode only: idle keep-alive connections wait in the I/O loop and
    hold no thread, so the pool sizes for work in flight, not for clients.
    ``max_requests``, ``max_requests_jitter`` and ``timeout`` act on worker
    processes (``processes=N``) only: nothing can replace a lone process.
    """

    # 256 threads at 20 ms per request would serve 12,800 req/s: past what one process's
    # CPU serves, so an I/O-bound app runs out of CPU before it runs out of threads.
    # Threads start only when a request would wait, and exit after a minute idle.
    threads: int = _opt(
        256, "worker threads per process in threaded mode (started on demand, "
        "idle ones exit)")
    backlog: int = _opt(2048, "listen() backlog: connections the kernel queues before accept")
    header_timeout: float = _opt(
        10.0, "seconds a client may take to send a complete request head")
    keepalive_timeout: float = _opt(
        5.0, "seconds an idle keep-alive connection is kept open between requests")
    body_timeout: float = _opt(
        30.0, "seconds a read of the request body or a write of the response may stall")
    min_body_rate: int = _opt(
        1024, "bytes per second a request body must average: it may take body_timeout "
        "seconds plus one second per this many bytes received, so a client trickling it "
        "cannot hold a thread for long (0: no minimum)", zero=True)
    max_keepalive_requests: int = _opt(
        1000, "requests served on one connection before it is closed")
    max_connections: int = _opt(
        1000, "open connections per process; accepting pauses at this number")
    graceful_timeout: float = _opt(
        30.0, "seconds in-flight requests get to finish when the server or a worker stops")
    max_drain: int = _opt(
        65536, "bytes of unread request body discarded to keep a connection alive", zero=True)
    max_requests: int = _opt(
        0, "requests a worker process serves before it is replaced gracefully (0: never)",
        zero=True)
    max_requests_jitter: int = _opt(
        0, "up to this many more requests, chosen at random per worker, so workers "
        "do not all restart at once", zero=True)
    timeout: float | None = _opt(
        None, "seconds one request may run before its worker process is replaced "
        f"(0: never; default: {SINGLE_WORKER_TIMEOUT:g} in single-threaded workers, "
        "never in threaded ones)", zero=True)
    limits: Limits = field(
        default_factory=Limits, metadata={"help": "request size limits (treadle.http.limits)"})

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "limits":
                if not isinstance(value, Limits):
                    raise TypeError(
                        f"limits must be a treadle.http.limits.Limits, got {type(value).__name__}")
                continue
            if value is None and f.default is None:
                continue
            integer = type(f.default) is int
            if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
                kind = "an integer" if integer else "a number"
                raise TypeError(f"{f.name} must be {kind}, got {value!r}")
            if f.metadata["zero"]:
                if value < 0:
                    raise ValueError(f"{f.name} must not be negative, got {value!r}")
            elif value <= 0:
                raise ValueError(f"{f.name} must be greater than 0, got {value!r}")

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ServerConfig:
        """Build from keyword options, naming any unknown one and the valid names.

        Limits fields may be given flat (``max_body=...``); they override the
        same fields of a ``limits=`` object given alongside.
        """
        unknown = sorted(set(options) - _OPTION_NAMES)
        if unknown:
            raise TypeError(
                f"unknown server option(s) {', '.join(unknown)}; "
                f"valid options are {', '.join(sorted(_OPTION_NAMES))}")
        flat = {name: options[name] for name in _LIMIT_NAMES if name in options}
        settings = {name: value for name, value in options.items() if name not in flat}
        if flat:
            base = settings.get("limits", Limits())
            if not isinstance(base, Limits):
                raise TypeError(
                    f"limits must be a treadle.http.limits.Limits, got {type(base).__name__}")
            settings["limits"] = dataclasses.replace(base, **flat)
        return cls(**settings)


def worker_timeout(config: ServerConfig, threaded: bool) -> float:
    """The hard request timeout in force for a worker process, 0 for none."""
    if config.timeout is None:
        return 0.0 if threaded else SINGLE_WORKER_TIMEOUT
    return float(config.timeout)


_LIMIT_NAMES = frozenset(f.name for f in dataclasses.fields(Limits))
_OPTION_NAMES = frozenset(f.name for f in dataclasses.fields(ServerConfig)) | _LIMIT_NAMES

# Settings that only a supervisor with worker processes can honour.
WORKER_OPTIONS = ("max_requests", "max_requests_jitter", "timeout")

# Option name -> app.config key: the one mapping Treadle.run() and `treadle run` read.
CONFIG_KEYS: dict[str, str] = {
    name: "SERVER_" + name.upper()
    for name in [f.name for f in dataclasses.fields(ServerConfig) if f.name != "limits"]
    + [f.name for f in dataclasses.fields(Limits)]
}


def options_from_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The server options an app's config sets through its ``SERVER_*`` keys.

    Values are checked here, so a bad one is reported under its config key.
    """
    options = {name: config[key] for name, key in CONFIG_KEYS.items() if key in config}
    for name, value in options.items():
        try:
            ServerConfig.from_options({name: value})
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"app.config[{CONFIG_KEYS[name]!r}]: {exc}") from None
    return options
