"""The one table of request parse limits and their defaults.

The server, ``run_simple`` and the CLI expose these by the same names; each
limit maps to the status a client gets when it is exceeded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Limits"]


def _limit(default: int | None, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True)
class Limits:
    """Byte and count limits for one request; ``None`` for ``max_body`` means unbounded."""

    max_request_line: int = _limit(8190, "bytes in the request line (414 beyond)")
    max_header_field: int = _limit(8190, "bytes in one header field line (431 beyond)")
    max_head: int = _limit(65536, "bytes in the whole request head (431 beyond)")
    max_headers: int = _limit(100, "header fields in one request (431 beyond)")
    max_body: int | None = _limit(None, "bytes of request body, None for no limit (413 beyond)")
    max_chunk_line: int = _limit(1024, "bytes in a chunk-size line with extensions (400 beyond)")
    max_trailers_size: int = _limit(8190, "bytes of chunked trailer fields (431 beyond)")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.name == "max_body":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Limits.{f.name} must be an integer, got {value!r}")
            if value < 0 or (value == 0 and f.name != "max_body"):
                raise ValueError(f"Limits.{f.name} must be a positive integer, got {value!r}")
