"""Test helpers: treadle's CLI as a real process on a socket the test bound, and load clients.

The test binds 127.0.0.1 port 0 and hands the socket over with ``--fd``, so the port
is known at once and the server's copy is the only one left. Clients record, for
every request, when it was fully sent and how it ended, so a test can tell what a
stop or a reload did to requests sent before and after it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, NamedTuple

TIMEOUT = 10.0
ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


class ServerProcess:
    """``python -m treadle.serving --fd N ...`` in its own session, logging to a file."""

    def __init__(self, args: list[str], *, log_path: Path, cwd: Path = ROOT) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self.port: int = listener.getsockname()[1]
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=os.pathsep.join(
            [str(HERE), str(cwd), os.environ.get("PYTHONPATH", "")]))
        fd = listener.fileno()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "treadle.serving", "--fd", str(fd), *args],
            pass_fds=[fd], stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            env=env, cwd=cwd, start_new_session=True)
        listener.close()  # the server's copy is now the only one

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 20.0) -> Response:
        """The first successful answer (the kernel queues connections until the server accepts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the server exited early:\n{self.log()}"
            with contextlib.suppress(OSError):
                response = request(self.port, "/")
                if response.status == "ok":
                    return response
            time.sleep(0.05)
        raise AssertionError(f"the server never answered:\n{self.log()}")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 20.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the server did not exit in {timeout}s:\n{self.log()}") from None

    def close(self) -> None:
        """Kill whatever is left of the server's session and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self._log.close()


# -- clients -------------------------------------------------------------------------------


class Response(NamedTuple):
    """How one request ended: ``status`` is ok, refused, no-response, partial or bad."""

    status: str
    sent_at: float  # time.monotonic() once the request was fully written (inf: never)
    body: bytes = b""
    close: bool = False  # the server said Connection: close


def _read_response(sock: socket.socket, sent_at: float) -> Response:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return Response("partial" if data else "no-response", sent_at, data)
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        fields = {k.strip().lower(): v.strip() for k, _, v in
                  (line.partition(":") for line in lines[1:])}
        length = int(fields.get("content-length", "-1"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return Response("partial", sent_at, body)
            body += chunk
    except (ConnectionResetError, BrokenPipeError):
        return Response("partial" if data else "no-response", sent_at, data)
    ok = lines[0].startswith("HTTP/1.1 200 ") and len(body) == length
    return Response("ok" if ok else "bad", sent_at, body,
                    fields.get("connection", "").lower() == "close")


def exchange(sock: socket.socket, path: str) -> Response:
    """One GET on an open connection."""
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    except OSError:
        return Response("no-response", float("inf"))
    return _read_response(sock, time.monotonic())


def connect(port: int) -> socket.socket | None:
    """A connection, or None if it was refused.

    A reset during the handshake counts as refused: the server closed its listener with
    this connection still in the kernel's queue, before any request was sent on it.
    """
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    except (ConnectionRefusedError, ConnectionResetError):
        return None


def request(port: int, path: str) -> Response:
    """One GET on a fresh connection."""
    sock = connect(port)
    if sock is None:
        return Response("refused", float("inf"))
    with sock:
        return exchange(sock, path)


class Load:
    """Client threads issuing requests until stopped or refused, recording every outcome.

    ``keepalive`` threads reuse one connection; ``fresh`` threads connect per
    request. Paths rotate through ``paths``. Like browsers and urllib3 (RFC 9112
    section 9.3.1), a keep-alive thread sends a request again on a new connection when a
    reused one closes before any byte of a response: a server may close an idle
    connection at any time, and only the retry's outcome is recorded.
    """

    def __init__(self, port: int, *, keepalive: int, fresh: int, paths: tuple[str, ...]) -> None:
        self.port = port
        self.paths = paths
        self.results: list[Response] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i, i < keepalive), daemon=True)
                         for i in range(keepalive + fresh)]

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 20.0) -> list[Response]:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "a client thread hung"
        with self._lock:
            return list(self.results)

    def count(self) -> int:
        with self._lock:
            return len(self.results)

    def snapshot(self) -> list[Response]:
        with self._lock:
            return list(self.results)

    def _record(self, response: Response) -> None:
        with self._lock:
            self.results.append(response)

    def _run(self, index: int, keepalive: bool) -> None:
        sock: socket.socket | None = None
        reused = False
        n = index
        try:
            while not self._stop.is_set():
                n += 1
                path = self.paths[n % len(self.paths)]
                if sock is None:
                    sock, reused = connect(self.port), False
                    if sock is None:
                        self._record(Response("refused", float("inf")))
                        return
                response = exchange(sock, path)
                if response.status == "no-response" and reused:
                    sock.close()
                    sock = None
                    n -= 1  # the same request again, on a new connection
                    continue
                self._record(response)
                reused = True
                if not keepalive or response.close or response.status != "ok":
                    sock.close()
                    sock = None
        finally:
            if sock is not None:
                sock.close()
