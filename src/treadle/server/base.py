"""The I/O loop every engine shares: accept, TLS handshakes, parked connections, timeouts, stop.

Rules: only the thread running the loop touches a channel's state and its
poller registration, adds, removes and closes channels. (One thread at a time
runs it; the threaded engine can move it to another thread, see there.) A
channel is BUSY while a worker serves it; the worker gives it back through
``_hand_back`` (a locked list plus one wake-up byte per batch) and the loop
re-arms it, batching what would be a system call on every worker. Engines
differ only in ``_dispatch``: run the request inline or hand it to a thread.
Under a supervisor the loop also reports over a pipe (:data:`BEAT`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from treadle.http.connection import Connection
from treadle.http.errors import RemoteProtocolError
from treadle.http.events import NEED_DATA, Request
from treadle.server.channel import (
    ANSWERED,
    BODY,
    BUSY,
    CLOSING,
    HANDSHAKE,
    HEAD,
    IDLE,
    Channel,
)
from treadle.server.config import ServerConfig
from treadle.server.handler import WSGIRequestHandler, logger
from treadle.server.listeners import NODELAY_INHERITED
from treadle.server.poller import READ, make_poller
from treadle.server.wsgi import FileWrapper, http_date

__all__ = ["BEAT", "BODY_AHEAD", "READY", "RETIRE", "BaseServer", "WSGIApplication"]

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_LISTENER = object()  # the listening socket's poller data; a channel's is the channel
_ACCEPT_BATCH = 64  # accepts per wake-up, so a connection flood cannot starve the others
# A pre-forked worker shares the listener with its siblings: one accept per wake-up, so a
# burst of connections (a client opening its pool) is shared out between the workers
# instead of landing on whichever woke first (framework template route, processes=2, 50
# connections: 4 runs in 10 left one worker idle at 64 per wake-up, none at 1).
_SHARED_BATCH = 1
_LINGER = 2.0  # seconds a closing connection may keep sending before we drop it
_STOP_GRACE = 1.0  # at a stop, seconds a new connection or a partial head has to become a request
_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
NEVER = float("inf")  # a deadline that never comes
# Bytes of a request body the loop collects before the request is served: a small
# body sent slowly then holds no thread (and never blocks a single-threaded loop).
BODY_AHEAD = 65536

# What a worker process writes to its supervisor's pipe, one byte per message.
READY = b"R"  # serving: a rolling reload may now stop an old worker
BEAT = b"."  # the loop is alive (at least every timeout / 4, and every second)
RETIRE = b"Q"  # replace me, then stop me gracefully (max_requests, a stuck request)


class BaseServer:
    """Serves a WSGI app on a listening socket from one I/O loop; see the engines.

    ``serve_forever()`` runs the loop; ``shutdown()`` (any thread) stops it
    gracefully and returns once it has stopped. A server serves once: after
    ``shutdown()`` it stays stopped. ``server_close()`` releases the socket.
    """

    multithread = False
    multiprocess = False
    # Threaded engines register channels one-shot, so a worker can re-arm one it
    # served without waking the loop; inline engines keep them armed throughout.
    _oneshot = False

    def __init__(
        self,
        listener: socket.socket,
        app: WSGIApplication,
        *,
        config: ServerConfig | None = None,
        request_handler: type[WSGIRequestHandler] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        passthrough_errors: bool = False,
        multiprocess: bool | None = None,
    ) -> None:
        self.socket = listener
        self.app = app
        self.config = config = config if config is not None else ServerConfig()
        self.handler_class = request_handler or WSGIRequestHandler
        self.ssl_context = ssl_context
        self.passthrough_errors = passthrough_errors
        if multiprocess is not None:
            self.multiprocess = multiprocess
        self.stopping = False
        self.retiring = False
        self.heartbeat_fd: int | None = None
        self.unix_path: str | None = None
        self._dispatched = 0
        self._retire_at = 0  # 0: never (max_requests is off, or no supervisor)
        self._request_timeout = 0.0  # threaded workers only; 0: off
        self._next_beat = 0.0

        address = listener.getsockname()
        self.server_address: Any = address
        if isinstance(address, tuple):
            self.host: str = address[0]
            self.port: int = address[1]
            server_name, server_port = self.host, str(self.port)
        else:
            self.host, self.port = f"unix:{address}", 0
            server_name, server_port = "localhost", "443" if ssl_context else "80"
        self._set_nodelay = listener.family != socket.AF_UNIX and not NODELAY_INHERITED
        self.base_environ: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if ssl_context is not None else "http",
            "wsgi.multithread": self.multithread,
            "wsgi.multiprocess": self.multiprocess,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "wsgi.file_wrapper": FileWrapper,
            "SCRIPT_NAME": "",
            "SERVER_NAME": server_name,
            "SERVER_PORT": server_port,
        }

        self._poller = make_poller()
        self._lock = threading.Lock()
        self._returns: list[tuple[Channel, int]] = []
        self._wake_pending = False
        self._error: BaseException | None = None
        self._channels: set[Channel] = set()
        # The loop's current batch of ready events, and those a takeover (see
        # ThreadedServer) left it without acting on: the next turn of the loop, on whichever
        # thread, starts there. One-shot events do not fire twice.
        self._batch: Iterator[Any] = iter(())
        self._leftovers: deque[Any] = deque()
        self._accepting = False
        self._stop_requested = False
        self._running = False
        self._closed = False
        self._released = False
        self._loop_done = False
        self._stopped = threading.Event()
        self._sweep_interval = min(1.0, config.header_timeout / 2, config.keepalive_timeout / 2,
                                   config.body_timeout / 2)
        self._setup()

    # -- public API --------------------------------------------------------------

    def fileno(self) -> int:
        """The listening socket's file descriptor."""
        return self.socket.fileno()

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown`; re-raises an app error under ``passthrough_errors``."""
        with self._lock:
            if self._running:
                raise RuntimeError("serve_forever() is already running on this server")
            if self._stop_requested:
                return
            self._running = True
            self._stopped.clear()
        try:
            self._resume_accepting()
            self._run()
        finally:
            self._abort_all()
            self._finish()
            with self._lock:
                self._running = False
                release = self._closed
            if release:
                self._release()
            self._stopped.set()
        error, self._error = self._error, None
        if error is not None:
            raise error

    def shutdown(self) -> None:
        """Stop gracefully (from any thread) and return once :meth:`serve_forever` has ended."""
        self.request_stop()
        with self._lock:
            running = self._running
        if running and threading.current_thread() is not getattr(self, "_loop_thread", None):
            self._stopped.wait()

    @property
    def stop_requested(self) -> bool:
        """Whether a stop was asked for (``shutdown``, ``request_stop``, a signal)."""
        return self._stop_requested

    def request_stop(self) -> None:
        """Ask the loop to stop; safe in signal handlers (takes no lock)."""
        self._stop_requested = True
        self._poller.wake()

    def attach_supervisor(self, fd: int, *, retire_after: int, request_timeout: float) -> None:
        """Report to a supervisor over pipe ``fd`` (before ``serve_forever``).

        ``retire_after`` requests (0: never), or one request running past
        ``request_timeout`` seconds on a thread, make this worker ask to be
        replaced. A stuck single-threaded loop is caught by its silence instead.
        """
        self.heartbeat_fd = fd
        self._retire_at = retire_after
        if self.multithread:
            self._request_timeout = request_timeout
        if request_timeout:
            self._sweep_interval = min(self._sweep_interval, max(0.05, request_timeout / 4))

    def server_close(self) -> None:
        """Close the listening socket (removing a Unix socket file we bound)."""
        self.request_stop()
        self.socket.close()
        if self.unix_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.unix_path)
            self.unix_path = None
        with self._lock:
            self._closed = True
            release = not self._running
        if release:
            self._release()

    def _release(self) -> None:
        """Close the poller, once, after the loop is gone."""
        if not self._released:
            self._released = True
            self._poller.close()

    def __enter__(self) -> BaseServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server_close()

    # -- engine hooks ------------------------------------------------------------

    def _setup(self) -> None:
        """Create engine resources (called at the end of ``__init__``)."""

    def _run(self) -> None:
        """Run the loop until a stop, then stop gracefully (``serve_forever``'s thread)."""
        self._loop()
        self._graceful_stop()

    def _dispatch(self, ch: Channel, head: Request) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Release engine resources after the loop has stopped."""

    def _housekeep(self, now: float) -> float:
        """Engine chores on each turn of the loop; returns when the next one is due."""
        return NEVER

    def _read_ahead_wait(self) -> float | None:
        """Whether a thread that answered a request may look for the client's next one
        itself, before giving the channel back (see ``_serve``), and how many seconds it
        may wait for it: None, it may not."""
        return None

    # -- the loop ---------------------------------------------------------------

    def _loop(self) -> None:
        self._loop_thread = threading.current_thread()
        poll = self._poller.poll
        monotonic = time.monotonic
        next_sweep = monotonic() + self._sweep_interval
        housekeep = self._housekeep
        leftovers = self._leftovers
        wake_at = next_sweep
        while not self._stop_requested:
            if leftovers:
                self._take_leftovers()
            # Before polling, not only after: a thread taking the loop over mid-batch (see
            # ThreadedServer) starts here, and the wake-up for these returns may have gone
            # to the poll of the thread it took over from.
            if self._returns:
                self._take_returns()
            timeout = wake_at - monotonic()
            self._batch = events = iter(poll(timeout if timeout > 0 else 0))
            for ch in events:
                if ch is _LISTENER:
                    self._accept()
                else:
                    self._ready(ch)
            now = monotonic()
            if now >= next_sweep:
                self._sweep(now)
                next_sweep = now + self._sweep_interval
            wake_at = min(next_sweep, housekeep(now))

    def _take_leftovers(self) -> None:
        """Act on events a takeover left unhandled, for channels that are still open."""
        leftovers = self._leftovers
        channels = self._channels
        while leftovers:
            ch = leftovers.popleft()
            if ch is _LISTENER:
                if self._accepting:
                    self._accept()
            elif ch in channels:
                self._ready(ch)

    def _ready(self, ch: Channel) -> None:
        """Act on a channel the poller reported."""
        state = ch.state
        if state in (IDLE, HEAD):
            self._read(ch)
        elif state == BODY:
            self._read_body(ch)
        elif state == CLOSING:
            self._linger(ch)
        elif state == HANDSHAKE:
            self._handshake(ch)
        # BUSY: a stale event (armed before the request was dispatched); the
        # channel is armed again when its worker gives it back.

    def _accept(self) -> None:
        listener = self.socket
        config = self.config
        channels = self._channels
        add = self._poller.add
        oneshot = self._oneshot
        context = self.ssl_context
        deadline = time.monotonic() + config.header_timeout
        batch = _ACCEPT_BATCH if self.heartbeat_fd is None else _SHARED_BATCH
        for _ in range(batch):
            try:
                sock, address = listener.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_FDS:
                    logger.error("cannot accept connections: %s; lower max_connections or raise "
                                 "the file limit (ulimit -n). Retrying shortly.", exc.strerror)
                    self._pause_accepting()
                    return
                continue  # the client gave up before we accepted it
            ch = self._adopt(sock, address, deadline)
            add(ch.fd, ch, oneshot=oneshot)
            full = len(channels) >= config.max_connections
            if full:  # before serving: the request may end on another thread's loop
                self._pause_accepting()
            if context is None:
                self._read(ch)  # the request often arrives with the connection
            else:
                self._handshake(ch)
            if full:
                return

    def _adopt(self, sock: socket.socket, address: Any, deadline: float) -> Channel:
        """A channel for a freshly accepted socket, added to the set (not yet registered)."""
        sock.setblocking(False)
        if self._set_nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        config = self.config
        context = self.ssl_context
        if context is not None:
            sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        ch = Channel(sock, Connection(config.limits), tls=context is not None,
                     timeout=config.body_timeout, min_rate=config.min_body_rate)
        ch.handler = self.handler_class(self, ch, address)
        ch.deadline = deadline
        self._channels.add(ch)
        return ch

    def _handshake(self, ch: Channel) -> None:
        try:
            wants = ch.handshake()
        except (OSError, ValueError):
            self._close(ch)
            return
        if wants:
            self._poller.arm(ch.fd, wants)
            return
        ch.state = IDLE
        if not self._oneshot:
            self._poller.arm(ch.fd, READ)
        self._read(ch)

    def _read(self, ch: Channel) -> None:
        received = ch.fill()
        if received == 0:
            if self._oneshot:
                self._poller.arm(ch.fd)
            return
        try:
            event = ch.conn.next_event()
        except RemoteProtocolError as err:
            self._reject(ch, err)
            return
        if type(event) is Request:
            self._start(ch, event)
        elif event is NEED_DATA and received > 0:
            if ch.state == IDLE:
                ch.state = HEAD
                ch.deadline = time.monotonic() + self.config.header_timeout
            if self._oneshot:
                self._poller.arm(ch.fd)
        else:
            self._close(ch)  # a clean close between requests, or EOF mid-head

    def _start(self, ch: Channel, head: Request) -> None:
        """A request head is in: collect the start of its body, then serve it."""
        now = time.monotonic()
        ch.begin(head, now)
        if (head.chunked or head.content_length) and not head.expect_continue:
            try:
                complete = ch.collect_body(BODY_AHEAD)
            except RemoteProtocolError as err:
                self._reject(ch, err)
                return
            if not complete:
                ch.head = head
                ch.state = BODY
                ch.deadline = min(now + self.config.body_timeout, ch.body_deadline())
                if self._oneshot:
                    self._poller.arm(ch.fd)
                return
        self._go(ch, head)

    def _read_body(self, ch: Channel) -> None:
        """More of a body the loop is collecting has arrived (or the client went away)."""
        received = ch.fill()
        if received:
            try:
                complete = ch.collect_body(BODY_AHEAD)
            except RemoteProtocolError as err:
                self._reject(ch, err)
                return
            if complete:
                head, ch.head = ch.head, None
                assert head is not None
                self._go(ch, head)
                return
            ch.deadline = min(time.monotonic() + self.config.body_timeout, ch.body_deadline())
        if self._oneshot:
            self._poller.arm(ch.fd)

    def _go(self, ch: Channel, head: Request) -> None:
        """Hand a complete request (or one whose body is large) to the engine."""
        ch.state = BUSY
        self._dispatched += 1
        if self._dispatched == self._retire_at:
            self._retire(f"served {self._dispatched} requests (max_requests)")
        self._dispatch(ch, head)

    def _reject(self, ch: Channel, err: RemoteProtocolError) -> None:
        """Answer a request the protocol layer refused, then close."""
        handler = ch.handler
        handler.head = None
        handler.log("info", '"-" %s - (%s)', err.status, err.message)
        with contextlib.suppress(OSError, ValueError):
            ch.sock.send(ch.conn.error_response(err, (handler.server_header,
                                                      (b"Date", http_date()))))
        self._start_close(ch)

    def _park(self, ch: Channel) -> None:
        ch.state = IDLE
        ch.deadline = time.monotonic() + self.config.keepalive_timeout
        if self._oneshot:
            self._poller.arm(ch.fd)

    def _start_close(self, ch: Channel) -> None:
        """Close our side, then discard input until the peer closes, so no RST eats our reply."""
        try:
            ch.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(ch)
            return
        ch.state = CLOSING
        ch.deadline = time.monotonic() + _LINGER
        if self._oneshot:
            self._poller.arm(ch.fd)

    def _close_answered(self, ch: Channel) -> None:
        """Close at once if the client sent nothing more, else by lingering.

        Unread input makes the kernel answer a close with a reset, which can
        destroy the response before the client reads it; without any, a plain
        close sends it in full, and saves the lingering round trip.
        """
        try:
            pending = ch.sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            pending = b""
        except OSError:
            self._close(ch)
            return
        if pending:
            self._start_close(ch)
        else:
            self._close(ch)

    def _linger(self, ch: Channel) -> None:
        try:
            if ch.sock.recv(65536):
                if self._oneshot:
                    self._poller.arm(ch.fd)
                return
        except (BlockingIOError, ssl.SSLWantReadError):
            if self._oneshot:
                self._poller.arm(ch.fd)
            return
        except OSError:
            pass
        self._close(ch)

    def _close(self, ch: Channel) -> None:
        self._poller.remove(ch.fd)
        self._channels.discard(ch)
        ch.close()
        if not self._accepting and not (self.stopping or self.retiring) and (
                len(self._channels) < self.config.max_connections):
            self._resume_accepting()

    def _sweep(self, now: float) -> None:
        """Enforce deadlines on parked connections and keep the supervisor informed."""
        expired = [(ch, ch.state) for ch in self._channels if ch.deadline <= now]
        for ch, state in expired:
            if state == BUSY:
                self._request_overdue(ch)
            else:
                self._expire(ch, state, now)
        if not self._accepting and not (self.stopping or self.retiring) and (
                len(self._channels) < self.config.max_connections):
            self._resume_accepting()
        if self.heartbeat_fd is not None:
            self._beat(now)

    def _expire(self, ch: Channel, state: int, now: float) -> None:
        """A channel the loop holds is past its deadline: answer 408 mid-request, else close."""
        if state == HEAD:
            self._reject(ch, RemoteProtocolError("request head timed out", 408))
        elif state == BODY:
            self._reject(ch, RemoteProtocolError(ch.body_late(now), 408))
        else:
            self._close(ch)

    def _request_overdue(self, ch: Channel) -> None:
        """A thread has run one request past ``timeout``: no thread can be stopped, so
        the whole worker is replaced once its other requests are done."""
        self._retire(f"a request from {ch.handler.client_address[0]} has run longer than "
                     f"timeout={self._request_timeout:g}s")

    def _retire(self, reason: str) -> None:
        """Ask the supervisor for a replacement; it stops this worker once that one is ready."""
        if self.retiring or self.heartbeat_fd is None:
            return
        self.retiring = True
        # New clients go to the other workers; connections already here are still served.
        self._pause_accepting()
        logger.warning("worker %d: %s; asking for a replacement", os.getpid(), reason)
        self._beat(time.monotonic())

    def _beat(self, now: float) -> None:
        """Tell the supervisor this loop is alive (and whether it wants replacing)."""
        assert self.heartbeat_fd is not None
        self._next_beat = now + self._sweep_interval
        try:
            os.write(self.heartbeat_fd, RETIRE if self.retiring else BEAT)
        except BlockingIOError:
            pass
        except OSError:
            # The supervisor is gone; a worker without one must not linger.
            self.heartbeat_fd = None
            self.request_stop()

    def _pause_accepting(self) -> None:
        if self._accepting:
            self._accepting = False
            fd = self.socket.fileno()
            if fd >= 0:  # else server_close() on another thread closed it, unregistering it
                self._poller.remove(fd)

    def _resume_accepting(self) -> None:
        if not self._accepting:
            self._poller.add(self.socket.fileno(), _LISTENER, oneshot=False)
            self._accepting = True

    # -- serving requests (inline or on a worker thread) --------------------------

    def _serve(self, ch: Channel, head: Request) -> int:
        """Serve ``head`` and the requests that follow it while they are already here.

        Returns the state the channel goes back to the loop in: IDLE, HEAD (part
        of the next head arrived), CLOSING or ANSWERED. Where ``_read_ahead_wait()``
        allows, a request the client sends right after our response is served here too,
        without a trip through the loop.
        """
        handler = ch.handler
        conn = ch.conn
        read_ahead_wait = self._read_ahead_wait
        ch.start_request_io()
        try:
            while handler.handle(head):
                conn.start_next_cycle()
                try:
                    event = conn.next_event()
                    if event is NEED_DATA:
                        wait = read_ahead_wait()
                        # TLS may hold decrypted bytes the poller cannot see: always take them.
                        if wait is None and not ch.tls:
                            return IDLE
                        received = ch.read_ahead(wait or 0.0)
                        if received == 0:
                            return IDLE
                        event = conn.next_event()
                        if event is NEED_DATA:
                            return HEAD
                except RemoteProtocolError as err:
                    handler.head = None
                    handler.log("info", '"-" %s - (%s)', err.status, err.message)
                    ch.send(conn.error_response(err, (handler.server_header,
                                                      (b"Date", http_date()))))
                    return CLOSING
                if type(event) is not Request:
                    return IDLE if event is NEED_DATA else CLOSING
                head = event
                ch.begin(head, time.monotonic())
            if not head.keep_alive and not ch.tls and (
                    not ch.body_pending or not (head.chunked or head.content_length)):
                return ANSWERED
            return CLOSING
        finally:
            ch.end_request_io()

    def _hand_back(self, ch: Channel, state: int) -> None:
        """Give a channel served on a worker thread back to the loop, to go into ``state``."""
        with self._lock:
            if self._loop_done:
                ch.close()
                return
            self._returns.append((ch, state))
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            self._poller.wake()

    def _take_returns(self) -> None:
        with self._lock:
            returns, self._returns = self._returns, []
            self._wake_pending = False
        now = time.monotonic()
        for ch, state in returns:
            self._settle(ch, state, now)

    def _settle(self, ch: Channel, state: int, now: float) -> None:
        """Take back a channel served off the loop (one-shot engines), in ``state``."""
        # Parked even when stopping: the graceful loop serves a request the
        # client sent meanwhile, or closes the connection if none came.
        if state == IDLE:
            ch.state = IDLE
            ch.deadline = now + self.config.keepalive_timeout
        elif state == HEAD:
            ch.state = HEAD
            ch.deadline = now + self.config.header_timeout
        elif state == ANSWERED:
            self._close_answered(ch)
            return
        else:
            self._start_close(ch)
            return
        try:
            self._poller.arm(ch.fd)
        except OSError:
            self._close(ch)

    def _fail(self, exc: BaseException) -> None:
        """Record an error ``serve_forever`` must re-raise, and stop."""
        with self._lock:
            if self._error is None:
                self._error = exc
        self.request_stop()

    # -- stopping ------------------------------------------------------------------

    def _graceful_stop(self) -> None:
        """Stop listening, then serve every request clients already sent, within
        ``graceful_timeout``: in-flight ones, pipelined or buffered ones, and those on
        connections still in the kernel's backlog. Idle keep-alive connections close
        at once (clients retry a request that meets a closing keep-alive connection);
        connections yet to send their first request get ``_STOP_GRACE``; answered ones
        close by lingering, so no reset can eat a response."""
        self.stopping = True
        self._pause_accepting()
        self._take_leftovers()  # reported before the stop: one-shot ones would not fire again
        self._drain_backlog()
        # Our copy of the listener goes now: later connections are refused, not reset.
        self.socket.close()
        now = time.monotonic()
        deadline = now + self.config.graceful_timeout
        grace = now + _STOP_GRACE
        for ch in self._channels:
            if ch.state not in (BUSY, BODY) and ch.deadline > grace:
                ch.deadline = grace
        poll = self._poller.poll
        while True:
            if self._returns:
                self._take_returns()
            now = time.monotonic()
            for ch, state in [(ch, ch.state) for ch in self._channels]:
                if state == IDLE and ch.requests:
                    self._read(ch)  # a request that already arrived is served
                    if ch.state == IDLE:
                        self._close(ch)
                elif state != BUSY and ch.deadline <= now:
                    self._expire(ch, state, now)
            remaining = deadline - now
            if not self._channels or remaining <= 0:
                return
            for ch in poll(min(remaining, 0.1)):
                if ch is not _LISTENER:
                    self._ready(ch)

    def _drain_backlog(self) -> None:
        """Accept what the kernel already queued: closing the listener would reset it."""
        listener = self.socket
        deadline = time.monotonic() + self.config.header_timeout
        for _ in range(self.config.backlog + _ACCEPT_BATCH):
            try:
                sock, address = listener.accept()
            except OSError as exc:
                if exc.errno == errno.ECONNABORTED:
                    continue  # that client gave up; others may still be queued
                return  # drained (EAGAIN), out of descriptors, or the listener is closed
            ch = self._adopt(sock, address, deadline)
            self._poller.add(ch.fd, ch, oneshot=self._oneshot)

    def _abort_all(self) -> None:
        self.stopping = True
        self._pause_accepting()
        with self._lock:
            # From here a worker giving a channel back closes it itself.
            self._loop_done = True
            returns, self._returns = self._returns, []
        for ch, _ in returns:
            self._close(ch)
        for ch in list(self._channels):
            if ch.state == BUSY:
                # A worker still holds it: wake it with an error and let it close
                # the socket, so no thread ever writes to a reused descriptor.
                with contextlib.suppress(OSError):
                    ch.sock.shutdown(socket.SHUT_RDWR)
                self._channels.discard(ch)
            else:
                self._close(ch)
