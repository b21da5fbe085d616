"""Test helpers: talk HTTP/1.1 to a test server over a real socket, reading with http.client."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from typing import IO, Any

TIMEOUT = 10.0


class _SharedFile:
    """Lets several HTTPResponse objects read one socket file in turn (close is a no-op)."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def makefile(self, *args: Any, **kwargs: Any) -> _SharedFile:
        return self

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class Response:
    """A response as read off the wire: status, headers (ordered, as sent) and body."""

    def __init__(self, resp: http.client.HTTPResponse) -> None:
        self.status = resp.status
        self.reason = resp.reason
        self.headers = resp.getheaders()
        self.version = resp.version
        self.body = resp.read()
        self.will_close = resp.will_close

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class Client:
    """One connection to a test server: send raw bytes, read whole responses."""

    def __init__(self, address: Any, *, tls: ssl.SSLContext | None = None,
                 timeout: float = TIMEOUT) -> None:
        if isinstance(address, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
        sock.settimeout(timeout)
        sock.connect(address)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self._file = _SharedFile(sock.makefile("rb"))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, method: str = "GET") -> Response:
        resp = http.client.HTTPResponse(self._file, method=method)  # type: ignore[arg-type]
        resp.begin()
        return Response(resp)

    def request(self, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None,
                body: bytes | None = None) -> Response:
        self.send(encode(method, path, headers, body))
        return self.response(method)

    def closed_by_server(self) -> bool:
        """Whether the server has closed the connection (reads EOF, or a reset)."""
        try:
            return self._file.read(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self._file._file.close()
        self.sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def encode(method: str = "GET", path: str = "/", headers: dict[str, str] | None = None,
           body: bytes | None = None) -> bytes:
    """A request as bytes; adds Host, and Content-Length when there is a body."""
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost"]
    headers = dict(headers or {})
    if body is not None and "Transfer-Encoding" not in headers:
        headers.setdefault("Content-Length", str(len(body)))
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def get(srv: Any, path: str = "/", **kwargs: Any) -> Response:
    """One request on a fresh connection."""
    with Client(srv.server.server_address) as client:
        return client.request("GET", path, **kwargs)


def read_to_close(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection, within ``timeout``."""
    deadline = time.monotonic() + timeout
    received = bytearray()
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(
                f"the server kept the connection open; received so far: {bytes(received)!r}"
            ) from None
        except ConnectionResetError:
            return bytes(received)
        if not data:
            return bytes(received)
        received += data
