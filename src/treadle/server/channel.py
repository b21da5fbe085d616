"""One accepted connection: its socket, its sans-IO :class:`Connection`, and its loop state.

The I/O loop reads it nonblocking (:meth:`Channel.fill`), and collects the start
of a request body (:meth:`Channel.collect_body`); whoever runs a request reads
and writes it as if blocking, waiting at most ``timeout`` per stall, and a body
at most ``timeout`` plus one second per ``min_rate`` bytes in all. Plain sockets stay nonblocking throughout (no mode-switch syscalls per
request); TLS sockets switch to a socket timeout while a request runs.
Exactly one of the loop and a worker owns a channel at a time: no lock.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from treadle.http.errors import ProtocolError, RemoteProtocolError
from treadle.http.events import NEED_DATA, Data, EndOfMessage, Event, Request
from treadle.server.wsgi import ClientDisconnected, RequestBodyError

if TYPE_CHECKING:
    from treadle.http.connection import Connection
    from treadle.server.handler import WSGIRequestHandler

# Nonblocking send and recv of plain sockets, by file descriptor. The C pair keeps the GIL
# (see _speedups.c); the twins release it as the socket methods do, and raise EPIPE, not
# SIGPIPE, since the interpreter ignores that signal from startup.
send_now: Callable[[int, bytes | memoryview], int] = os.write
recv_now: Callable[[int, int], bytes] = os.read
if not os.environ.get("TREADLE_NO_SPEEDUPS"):
    with contextlib.suppress(ImportError):  # built without a C compiler: the twins
        from treadle._speedups import recv_now, send_now

__all__ = ["ANSWERED", "BODY", "BUSY", "CLOSING", "HANDSHAKE", "HEAD", "IDLE", "Channel"]

RECV_SIZE = 65536

# Where a channel is in its life; the loop's sweeps and dispatch read this.
HANDSHAKE = 0  # TLS handshake in progress, driven by the loop
IDLE = 1  # parked between requests, nothing buffered
HEAD = 2  # parked with part of a request head received
BUSY = 3  # a request is being served; the loop does not watch it
CLOSING = 4  # our side is done; discarding input until the peer closes
BODY = 5  # a request head is in; the loop collects the start of its body
# Not a state: what serving returns when the client asked to close, sent nothing
# more, and has its whole answer -- a plain close then risks no reset.
ANSWERED = 6

_STALLED = "the client stopped sending the request body"
_TOO_SLOW = "the client sent the request body too slowly"

_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class Channel:
    """A connection's socket and protocol state, handed between the loop and workers."""

    __slots__ = (
        "_body_done",
        "_body_read",
        "_body_started",
        "_early",
        "_expect_continue",
        "conn",
        "deadline",
        "fd",
        "handler",
        "head",
        "min_rate",
        "requests",
        "sock",
        "state",
        "timeout",
        "tls",
    )

    handler: WSGIRequestHandler

    def __init__(self, sock: socket.socket, conn: Connection, *, tls: bool,
                 timeout: float, min_rate: int = 0) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.conn = conn
        self.tls = tls
        self.timeout = timeout
        self.min_rate = min_rate
        self.state = HANDSHAKE if tls else IDLE
        self.deadline = 0.0
        self.requests = 0
        self.head: Request | None = None  # the request whose body the loop is collecting
        self._expect_continue = False
        self._body_done = False
        self._body_read = 0  # body bytes taken from the connection
        self._body_started = 0.0
        self._early: list[bytes] = []  # body pieces the loop collected, not yet read

    # -- loop side: nonblocking ------------------------------------------------

    def fill(self) -> int:
        """Feed what the socket has to the connection: bytes fed, 0 if none yet, -1 at EOF."""
        try:
            if self.tls:
                sock = self.sock
                data = sock.recv(RECV_SIZE)
                # TLS may hold decrypted bytes the selector cannot see.
                while data and sock.pending():  # type: ignore[attr-defined]
                    data += sock.recv(RECV_SIZE)
            else:
                data = recv_now(self.fd, RECV_SIZE)
        except _WOULD_BLOCK:
            return 0
        except OSError:
            data = b""
        self.conn.receive_data(data)
        return len(data) or -1

    def read_ahead(self, wait: float = 0.0) -> int:
        """While serving: take bytes that have arrived, as :meth:`fill` does, waiting up to
        ``wait`` seconds for the first ones on a plain socket.

        A TLS socket never waits, even in blocking mode: it reads only what the TLS layer
        has already decrypted.
        """
        if self.tls:
            return self.fill() if self.sock.pending() else 0  # type: ignore[attr-defined]
        received = self.fill()
        if received == 0 and wait > 0:
            try:
                self._wait(select.POLLIN, wait)
            except TimeoutError:
                return 0
            return self.fill()
        return received

    def collect_body(self, limit: int) -> bool:
        """Take the body bytes that have arrived, up to ``limit``; True once the request
        can go to the app (its body is complete, or ``limit`` bytes are in).

        Raises RemoteProtocolError for a malformed or oversized body.
        """
        conn = self.conn
        while self._body_read < limit:
            event = conn.next_event()
            if type(event) is Data:
                self._early.append(event.data)
                self._body_read += len(event.data)
            elif type(event) is EndOfMessage:
                self._body_done = True
                return True
            else:
                return False
        return True

    def body_deadline(self) -> float:
        """When the body in progress runs out of time at ``min_rate`` (inf without one)."""
        if not self.min_rate:
            return float("inf")
        return self._body_started + self.timeout + self._body_read / self.min_rate

    def body_late(self, now: float) -> str:
        """Why a body the loop is collecting has run out of time at ``now``."""
        return _TOO_SLOW if self.body_deadline() <= now else _STALLED

    def handshake(self) -> int:
        """Advance the TLS handshake: 0 done, else the selector events it waits for."""
        try:
            self.sock.do_handshake()  # type: ignore[attr-defined]
        except ssl.SSLWantReadError:
            return 1  # selectors.EVENT_READ
        except ssl.SSLWantWriteError:
            return 2  # selectors.EVENT_WRITE
        return 0

    # -- worker side: blocking with a timeout ------------------------------------

    def start_request_io(self) -> None:
        """Before serving: TLS sockets get a timeout (plain ones wait by hand, see ``_wait``)."""
        if self.tls:
            self.sock.settimeout(self.timeout)

    def end_request_io(self) -> None:
        """After serving: back to nonblocking for the loop."""
        if self.tls:
            with contextlib.suppress(OSError):
                self.sock.settimeout(0.0)

    def _wait(self, events: int, timeout: float | None = None, why: str = "") -> None:
        """Wait until the socket is ready for ``events``, at most ``timeout`` seconds."""
        if timeout is None:
            timeout = self.timeout
        poller = select.poll()
        poller.register(self.sock, events)
        if not poller.poll(timeout * 1000):
            raise TimeoutError(why or f"no progress on the connection for {timeout:g}s")

    def _body_wait(self) -> tuple[float, str]:
        """How long the next read of the body may wait, and what to say if it runs out."""
        left = self.body_deadline() - time.monotonic()
        if left < self.timeout:
            return max(left, 0.0), _TOO_SLOW
        return self.timeout, _STALLED

    def _recv(self) -> bytes:
        """Body bytes from the socket, waiting as ``_body_wait`` allows."""
        sock = self.sock
        if self.tls:
            wait, why = self._body_wait()
            try:
                if wait != self.timeout:
                    sock.settimeout(wait)
                return sock.recv(RECV_SIZE)
            except TimeoutError:
                raise TimeoutError(why) from None
            finally:
                if wait != self.timeout:
                    sock.settimeout(self.timeout)
        while True:
            try:
                return recv_now(self.fd, RECV_SIZE)
            except BlockingIOError:
                self._wait(select.POLLIN, *self._body_wait())

    def next_event(self) -> Event:
        """The next protocol event, receiving as needed; raises RemoteProtocolError or OSError."""
        conn = self.conn
        event = conn.next_event()
        while event is NEED_DATA:
            conn.receive_data(self._recv())
            event = conn.next_event()
        return event

    def begin(self, head: Request, now: float) -> None:
        """Reset the per-request body state for ``head``, whose head completed at ``now``."""
        self.requests += 1
        self._body_read = 0
        self._body_done = False
        self._body_started = now
        if self._early:
            self._early = []
        self._expect_continue = head.expect_continue and head.content_length != 0

    def read_body(self) -> bytes:
        """The next piece of the request body (``b""`` at its end), for ``wsgi.input``."""
        if self._early:
            return self._early.pop(0)
        if self._body_done:
            return b""
        try:
            if self._expect_continue:
                self._expect_continue = False
                interim = self.conn.send_continue()
                if interim:
                    self.send(interim)
            while True:
                event = self.next_event()
                if type(event) is Data:
                    if event.data:
                        self._body_read += len(event.data)
                        return event.data
                elif type(event) is EndOfMessage:
                    self._body_done = True
                    return b""
                else:
                    raise RequestBodyError("the request body ended unexpectedly", 400)
        except RemoteProtocolError as err:
            raise RequestBodyError(err.message, err.status) from None
        except TimeoutError as exc:
            raise RequestBodyError(str(exc) or _STALLED, 408) from None
        except ClientDisconnected:
            raise
        except OSError as exc:
            raise RequestBodyError(f"the client went away while sending the body: {exc}",
                                   400) from None

    @property
    def body_pending(self) -> bool:
        """Whether the request body has not been read to its end."""
        return not self._body_done

    def will_drain(self, limit: int, head: Request) -> bool:
        """Whether :meth:`drain` can succeed, judged before sending the response head."""
        if self._body_done:
            return True
        if self._expect_continue:
            return False
        length = head.content_length
        return length is None or length - self._body_read <= limit

    def drain(self, limit: int) -> bool:
        """Read and discard the unread body, up to ``limit`` bytes; False if it cannot be kept."""
        if self._body_done:
            return True
        if self._expect_continue:
            # The client awaits 100 Continue and may never send the body.
            return False
        budget = limit
        try:
            while True:
                event = self.next_event()
                if type(event) is Data:
                    self._body_read += len(event.data)
                    budget -= len(event.data)
                    if budget < 0:
                        return False
                elif type(event) is EndOfMessage:
                    self._body_done = True
                    return True
                else:
                    return False
        except (ProtocolError, OSError):
            return False

    def send(self, data: bytes) -> None:
        """Write all of ``data``; a vanished client raises :class:`ClientDisconnected`."""
        sock = self.sock
        try:
            if self.tls:
                sock.sendall(data)
                return
            total = len(data)
            sent = 0
            view = None
            while True:
                try:
                    sent += send_now(self.fd, data if view is None else view[sent:])
                except BlockingIOError:
                    self._wait(select.POLLOUT)
                    continue
                if sent >= total:
                    return
                if view is None:
                    view = memoryview(data)
        except OSError as exc:  # including TimeoutError: a client that stopped reading
            raise ClientDisconnected(f"the client went away: {exc}") from None

    def sendfile(self, file: IO[bytes], offset: int, count: int) -> int:
        """Send ``count`` bytes of ``file`` from ``offset`` by the kernel where it can."""
        sock = self.sock
        try:
            sock.settimeout(self.timeout)  # socket.sendfile refuses nonblocking sockets
            try:
                return sock.sendfile(file, offset, count)
            finally:
                sock.settimeout(0.0)
        except OSError as exc:
            raise ClientDisconnected(f"the client went away: {exc}") from None

    def close(self) -> None:
        """Close the socket at once (the loop does lingering closes, see ``BaseServer``)."""
        with contextlib.suppress(OSError):
            self.sock.close()
