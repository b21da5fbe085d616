"""Clients that stall, trickle or crowd: timeouts, slow-loris and max_connections over real sockets.

Documented behaviour pinned here: a connection that sent part of a request head
and stalls gets ``408`` with ``Connection: close`` once ``header_timeout`` has
passed since its first byte (trickling more bytes does not extend it); one that
sent nothing, or sits idle between requests, is closed without a response.
"""

from __future__ import annotations

import contextlib
import resource
import selectors
import socket
import threading
import time
from typing import Any

import pytest
from wire import read_to_close

from treadle.server.base import BODY_AHEAD

TIMEOUT = 5.0
SHORT = 0.4  # the timeout under test in the small cases
SLACK = 2.0  # the sweep runs at least every second; allow for a busy machine
HEAD = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


@pytest.fixture(params=["single", "threaded"])
def mode(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"threaded": request.param == "threaded"}


def connect(srv: Any) -> socket.socket:
    return socket.create_connection((srv.host, srv.port), timeout=TIMEOUT)


def read_response(sock: socket.socket) -> bytes:
    """One response framed by Content-Length, read off a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed mid-body"
        body += chunk
    assert len(body) == length, "the server sent more than one response"
    return head + b"\r\n\r\n" + body


# --- header timeout ----------------------------------------------------------------------------

def test_partial_head_that_stalls_gets_408_within_the_header_timeout(serve: Any,
                                                                     mode: Any) -> None:
    srv = serve(hello, header_timeout=SHORT, **mode)
    with connect(srv) as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        raw = read_to_close(sock)
        elapsed = time.monotonic() - started
    assert raw.startswith(b"HTTP/1.1 408 ")
    assert b"\r\nConnection: close\r\n" in raw
    assert SHORT * 0.9 <= elapsed < SHORT + SLACK


def test_silent_connection_is_closed_without_a_response(serve: Any, mode: Any) -> None:
    srv = serve(hello, header_timeout=SHORT, **mode)
    with connect(srv) as sock:
        started = time.monotonic()
        assert read_to_close(sock) == b""
        assert time.monotonic() - started < SHORT + SLACK


def test_trickling_header_bytes_does_not_extend_the_header_timeout(serve: Any,
                                                                   mode: Any) -> None:
    srv = serve(hello, header_timeout=SHORT * 2, **mode)
    with connect(srv) as sock:
        started = time.monotonic()
        closed = False
        for byte in b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            if select_readable(sock, 0.05):
                break
        raw = read_to_close(sock)
        elapsed = time.monotonic() - started
    assert closed or raw.startswith(b"HTTP/1.1 408 ")
    assert elapsed < SHORT * 2 + SLACK


def select_readable(sock: socket.socket, timeout: float) -> bool:
    """Wait up to ``timeout`` for the server to send or close (a bounded pacing wait)."""
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(timeout))


def test_partial_head_after_a_served_request_gets_408(serve: Any, mode: Any) -> None:
    srv = serve(hello, header_timeout=SHORT, **mode)
    with connect(srv) as sock:
        sock.sendall(HEAD)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /second HTTP/1.1\r\n")
        assert read_to_close(sock).startswith(b"HTTP/1.1 408 ")


# --- keep-alive --------------------------------------------------------------------------------

def test_idle_keep_alive_connection_is_closed_after_keepalive_timeout(serve: Any,
                                                                      mode: Any) -> None:
    srv = serve(hello, keepalive_timeout=SHORT, **mode)
    with connect(srv) as sock:
        sock.sendall(HEAD)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        idle_from = time.monotonic()
        assert read_to_close(sock) == b""  # closed quietly: no request was pending
        # The idle clock starts when the server parks the connection, just before idle_from.
        assert SHORT / 2 <= time.monotonic() - idle_from < SHORT + SLACK


def test_max_keepalive_requests_closes_after_the_last_with_connection_close(
        serve: Any, mode: Any) -> None:
    srv = serve(hello, max_keepalive_requests=3, **mode)
    with connect(srv) as sock:
        for _ in range(2):
            sock.sendall(HEAD)
            response = read_response(sock)
            assert response.startswith(b"HTTP/1.1 200 ")
            assert b"\r\nConnection: close\r\n" not in response
        sock.sendall(HEAD + HEAD)  # the fourth is never served
        raw = read_to_close(sock)
    assert raw.count(b"HTTP/1.1 ") == 1
    assert raw.startswith(b"HTTP/1.1 200 ") and b"\r\nConnection: close\r\n" in raw


# --- body timeout ------------------------------------------------------------------------------

def test_stalled_body_gets_408_within_the_body_timeout(serve: Any, mode: Any) -> None:
    srv = serve(hello, body_timeout=SHORT, **mode)
    with connect(srv) as sock:
        started = time.monotonic()
        sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        raw = read_to_close(sock)
        elapsed = time.monotonic() - started
    assert raw.startswith(b"HTTP/1.1 408 ") and b"\r\nConnection: close\r\n" in raw
    assert SHORT * 0.9 <= elapsed < SHORT + SLACK


def test_stalled_chunked_body_gets_408_within_the_body_timeout(serve: Any, mode: Any) -> None:
    srv = serve(hello, body_timeout=SHORT, **mode)
    with connect(srv) as sock:
        started = time.monotonic()
        sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
        raw = read_to_close(sock)
    assert raw.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < SHORT + SLACK


# --- slow bodies --------------------------------------------------------------------------------

class Trickler:
    """A client that sends a POST head and ``burst`` body bytes, then one byte per ``every`` s."""

    def __init__(self, srv: Any, length: int, burst: int = 0, every: float = 0.2) -> None:
        self.sock = connect(srv)
        self.sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % length
                          + b"x" * burst)
        self.every = every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stop.wait(self.every):
            try:
                self.sock.sendall(b"x")
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(TIMEOUT)
        self.sock.close()


def test_slowly_sent_small_bodies_hold_no_thread(serve: Any, mode: Any) -> None:
    # The loop collects a small body before the request is given a thread, so
    # even the single-threaded engine keeps serving while two bodies trickle in.
    srv = serve(hello, threads=2, **mode)
    tricklers = [Trickler(srv, length=1000) for _ in range(2)]
    try:
        with connect(srv) as sock:
            started = time.monotonic()
            sock.sendall(HEAD)
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
            assert time.monotonic() - started < 1.0
    finally:
        for trickler in tricklers:
            trickler.close()


def test_a_body_sent_below_min_body_rate_gets_408(serve: Any, mode: Any) -> None:
    # Each byte comes well within body_timeout, but the body as a whole is too slow:
    # it may take body_timeout plus one second per min_body_rate bytes received.
    srv = serve(hello, body_timeout=1.0, min_body_rate=100_000, **mode)
    trickler = Trickler(srv, length=1_000_000, burst=BODY_AHEAD + 10_000)
    try:
        started = time.monotonic()
        raw = read_to_close(trickler.sock, timeout=TIMEOUT)
        elapsed = time.monotonic() - started
    finally:
        trickler.close()
    assert raw.startswith(b"HTTP/1.1 408 ") and b"too slowly" in raw
    allowed = 1.0 + (BODY_AHEAD + 10_000) / 100_000
    assert allowed * 0.9 <= elapsed < allowed + SLACK


def test_slow_body_clients_do_not_starve_the_thread_pool(serve: Any) -> None:
    reading = threading.Semaphore(0)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            reading.release()
        return hello(environ, start_response)

    srv = serve(app, threaded=True, threads=2, body_timeout=1.0, min_body_rate=100_000)
    # Bodies larger than the loop collects, so both reach a thread and hold it.
    tricklers = [Trickler(srv, length=1_000_000, burst=BODY_AHEAD + 10_000, every=0.5)
                 for _ in range(2)]
    try:
        assert reading.acquire(timeout=TIMEOUT) and reading.acquire(timeout=TIMEOUT)
        with connect(srv) as sock:  # both pool threads now wait on trickling bodies
            started = time.monotonic()
            sock.sendall(HEAD)
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
            assert time.monotonic() - started < 3.0
    finally:
        for trickler in tricklers:
            trickler.close()


# --- slow-loris --------------------------------------------------------------------------------

SLOW_CLIENTS = 500
SLOW_HEADER_TIMEOUT = 3.0
SLOW_HEAD = b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"a" * 64


def raise_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class SlowLoris:
    """One thread driving many connections that each send a head byte about once a second."""

    def __init__(self, address: tuple[str, int], count: int) -> None:
        self.socks = [socket.create_connection(address, timeout=TIMEOUT) for _ in range(count)]
        self.sent = dict.fromkeys(self.socks, 0)
        self.replies = {sock: b"" for sock in self.socks}
        self.closed_after: dict[socket.socket, float] = {}
        self.started = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._drive, name="slow-loris", daemon=True)

    def _drive(self) -> None:
        selector = selectors.DefaultSelector()
        for sock in self.socks:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        next_round = time.monotonic()
        while not self.stop.is_set() and len(self.closed_after) < len(self.socks):
            now = time.monotonic()
            if now >= next_round:
                for sock in self.socks:
                    if sock not in self.closed_after:
                        self._send_one(sock)
                next_round = now + 1.0
            for key, _ in selector.select(max(0.0, min(0.2, next_round - now))):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if self._receive(sock):
                    selector.unregister(sock)
                    self.closed_after[sock] = time.monotonic() - self.started
        selector.close()

    def _send_one(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the server may have closed already
            sock.send(SLOW_HEAD[self.sent[sock]:self.sent[sock] + 1])
            self.sent[sock] += 1

    def _receive(self, sock: socket.socket) -> bool:
        """Take what the server sent; True once it closed the connection."""
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            return True
        self.replies[sock] += data
        return not data

    def close(self) -> None:
        self.stop.set()
        self.thread.join(TIMEOUT)
        for sock in self.socks:
            sock.close()


def test_slow_loris_clients_neither_starve_others_nor_stay_open(serve: Any) -> None:
    raise_file_limit(4 * SLOW_CLIENTS + 256)  # both ends of each connection live here
    srv = serve(hello, threaded=True, header_timeout=SLOW_HEADER_TIMEOUT)
    loris = SlowLoris((srv.host, srv.port), SLOW_CLIENTS)
    loris.thread.start()
    try:
        # A normal client keeps getting quick answers while the slow ones hang on.
        latencies = []
        window_end = loris.started + SLOW_HEADER_TIMEOUT
        for _ in range(100):
            began = time.monotonic()
            with connect(srv) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                assert read_to_close(sock).startswith(b"HTTP/1.1 200 ")
            latencies.append(time.monotonic() - began)
            # Spread the requests over the time the slow clients are connected.
            pause = (window_end - time.monotonic()) / 100
            if pause > 0:
                loris.stop.wait(pause)
        # Starved, it would wait for the slow ones to be dropped (header_timeout or more).
        assert max(latencies) < SLOW_HEADER_TIMEOUT / 2, (
            f"slowest normal request took {max(latencies):.2f}s")

        loris.thread.join(SLOW_HEADER_TIMEOUT + 3 * SLACK)
        assert len(loris.closed_after) == SLOW_CLIENTS, (
            f"{SLOW_CLIENTS - len(loris.closed_after)} slow clients were never closed")
        assert max(loris.closed_after.values()) < SLOW_HEADER_TIMEOUT + 2 * SLACK
        assert min(loris.closed_after.values()) >= SLOW_HEADER_TIMEOUT * 0.9
        for reply in loris.replies.values():
            assert reply == b"" or reply.startswith(b"HTTP/1.1 408 "), reply[:80]
        # Only the first few bytes of each head ever went out.
        assert max(loris.sent.values()) <= SLOW_HEADER_TIMEOUT + 2 * SLACK + 1
    finally:
        loris.close()


# --- max_connections ---------------------------------------------------------------------------

def test_connections_over_max_connections_wait_and_are_served_later(serve: Any,
                                                                    mode: Any) -> None:
    srv = serve(hello, max_connections=10, **mode)
    socks = [connect(srv) for _ in range(20)]  # none refused: the kernel queues the rest
    try:
        for sock in socks:
            sock.sendall(HEAD)
        first, waiting = socks[:10], socks[10:]
        for sock in first:
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        # At the limit the server stops accepting: the others get no answer yet.
        for sock in waiting:
            assert not select_readable(sock, 0.02)
        for sock in first:
            sock.close()
        for sock in waiting:
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
            sock.close()
        with connect(srv) as sock:  # and the server is still serving new clients
            sock.sendall(HEAD)
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in socks:
            sock.close()
