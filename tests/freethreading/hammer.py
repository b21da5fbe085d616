"""Client side of the hammer tests: many threads, each a keep-alive client with its own cookies."""

from __future__ import annotations

import http.client
import json
import os
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CLIENT_TIMEOUT = 30.0


def widen_race_window(rounds: int = 50) -> None:
    """Give other threads a chance to run between a write and its read-back (not a sync)."""
    total = 0
    for i in range(rounds):
        total += i * i
        if i % 10 == 0:
            os.sched_yield()


def multipart(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    """Encode a multipart/form-data body; returns it and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, data in files.items():
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\";"
            f' filename="{name}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Client:
    """One sequential keep-alive client that keeps its own cookie jar."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=sent)
        response = self.conn.getresponse()
        data = response.read()
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def close(self) -> None:
        self.conn.close()


def run_clients(
    count: int, work: Callable[[int], None], timeout: float = 120.0
) -> list[BaseException]:
    """Run ``work(client_index)`` on ``count`` threads released together; return their errors."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def body(index: int) -> None:
        try:
            start.wait(timeout)
            work(index)
        except BaseException as exc:  # reported by the test, with the others
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [t for t in threads if t.is_alive()]
    if stuck:
        errors.append(TimeoutError(f"{len(stuck)} client threads did not finish in {timeout} s"))
    return errors


def form_urlencoded(fields: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def loads(data: bytes) -> Any:
    return json.loads(data)
