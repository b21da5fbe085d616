"""The pre-fork supervisor: forks N workers on one listening socket and keeps N alive.

Rules: signal handlers only record (a byte on the self-pipe); the main loop
reaps, logs and acts. What to do next is :func:`decide`, a pure function of
:class:`SupervisorState`. Workers report liveness by writing to a pipe.
Hook points for later: SIGHUP (rolling reload) and heartbeat ages (hard timeouts).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from treadle.server.base import BaseServer, WSGIApplication
from treadle.server.config import ServerConfig
from treadle.server.handler import WSGIRequestHandler, logger

__all__ = [
    "Exit",
    "Kill",
    "Spawn",
    "Supervisor",
    "SupervisorState",
    "Terminate",
    "Wait",
    "decide",
]

WORKER_BOOT_ERROR = 3  # a worker's exit code when it could not start serving
_POLL = 1.0  # longest wait between looks at the workers, signals or not
_POLL_STOPPING = 0.1  # without SIGCHLD (not the main thread) exits are noticed by polling
_WORKER_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGCHLD}


@dataclass(frozen=True, slots=True)
class SupervisorState:
    """Everything :func:`decide` needs; the supervisor replaces it, never mutates it."""

    workers: int
    alive: frozenset[int] = field(default_factory=frozenset)
    stop_requested: bool = False
    stop_deadline: float | None = None  # set once the workers were asked to stop
    killed: bool = False
    boot_failed: bool = False


class Spawn(NamedTuple):
    """Fork ``number`` new workers."""

    number: int


class Terminate(NamedTuple):
    """Ask ``pids`` to stop gracefully (SIGTERM) and start the grace period."""

    pids: tuple[int, ...]


class Kill(NamedTuple):
    """The grace period is over: SIGKILL ``pids``."""

    pids: tuple[int, ...]


class Wait(NamedTuple):
    """Nothing to do for up to ``timeout`` seconds, or until something happens."""

    timeout: float


class Exit(NamedTuple):
    """Every worker is gone; leave with ``code``."""

    code: int


Decision = Spawn | Terminate | Kill | Wait | Exit


def decide(state: SupervisorState, now: float) -> Decision:
    """What the supervisor should do next, given its state and the time."""
    stopping = state.stop_requested or state.boot_failed
    if not stopping:
        missing = state.workers - len(state.alive)
        return Spawn(missing) if missing > 0 else Wait(_POLL)
    if not state.alive:
        return Exit(1 if state.boot_failed else 0)
    if state.stop_deadline is None:
        return Terminate(tuple(sorted(state.alive)))
    if now >= state.stop_deadline and not state.killed:
        return Kill(tuple(sorted(state.alive)))
    return Wait(_POLL_STOPPING if state.killed
                else min(_POLL_STOPPING, max(0.0, state.stop_deadline - now)))


class Supervisor:
    """Pre-forked workers (``processes=N``), each running ``engine`` on the shared socket.

    The same surface as the engines: ``serve_forever()``, ``shutdown()``,
    ``server_close()``, ``server_address`` and ``port``. In the main thread it
    stops on SIGINT/SIGTERM: it forwards SIGTERM, waits ``graceful_timeout``,
    then kills what is left, and returns normally.
    """

    multithread = False
    multiprocess = True

    def __init__(
        self,
        listener: socket.socket,
        app: WSGIApplication,
        *,
        workers: int,
        engine: type[BaseServer],
        config: ServerConfig | None = None,
        request_handler: type[WSGIRequestHandler] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        passthrough_errors: bool = False,
    ) -> None:
        self.socket = listener
        self.app = app
        self.workers = workers
        self.engine = engine
        self.config = config if config is not None else ServerConfig()
        self.request_handler = request_handler
        self.ssl_context = ssl_context
        self.passthrough_errors = passthrough_errors
        self.unix_path: str | None = None
        self.server_address: Any = listener.getsockname()
        if isinstance(self.server_address, tuple):
            self.host: str = self.server_address[0]
            self.port: int = self.server_address[1]
        else:
            self.host, self.port = f"unix:{self.server_address}", 0
        self.state = SupervisorState(workers)
        self.last_beat: dict[int, float] = {}
        self._beats: dict[int, int] = {}  # heartbeat pipe read end -> pid
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._running = False
        self._stopped = threading.Event()
        self._lock = threading.Lock()

    @property
    def worker_pids(self) -> frozenset[int]:
        """The pids of the workers alive right now."""
        return self.state.alive

    def fileno(self) -> int:
        """The listening socket's file descriptor."""
        return self.socket.fileno()

    # -- running -------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Run workers until stopped; raises RuntimeError if the workers cannot start."""
        with self._lock:
            if self._running:
                raise RuntimeError("serve_forever() is already running on this supervisor")
            if self.state.stop_requested:
                return
            self._running = True
            self._stopped.clear()
        restore = self._install_signals()
        try:
            code = self._run()
        finally:
            restore()
            for pid in self.state.alive:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            self._reap(block=True)
            with self._lock:
                self._running = False
            self._stopped.set()
        if code:
            raise RuntimeError("a worker process could not start; see the error logged above")

    def shutdown(self) -> None:
        """Stop the workers gracefully (any thread) and return once they are gone."""
        self.request_stop()
        with self._lock:
            running = self._running
        if running:
            self._stopped.wait()

    def request_stop(self) -> None:
        """Ask the supervisor to stop; safe from a signal handler."""
        self._signal(signal.SIGTERM)

    def server_close(self) -> None:
        """Close the listening socket (removing a Unix socket file we bound)."""
        self.socket.close()
        if self.unix_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.unix_path)
            self.unix_path = None
        with self._lock:
            if self._running or self._wake_r < 0:
                return
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_r = self._wake_w = -1

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, bytes((signum,)))

    def _install_signals(self) -> Any:
        """Route SIGINT/SIGTERM/SIGCHLD to the self-pipe; returns the undo function."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None  # shutdown() and polling still work
        previous = {sig: signal.signal(sig, _record) for sig in
                    (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD)}
        old_fd = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)

        def restore() -> None:
            signal.set_wakeup_fd(old_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore

    def _run(self) -> int:
        while True:
            now = time.monotonic()
            decision = decide(self.state, now)
            if type(decision) is Exit:
                return decision.code
            if type(decision) is Spawn:
                for _ in range(decision.number):
                    self._spawn()
            elif type(decision) is Terminate:
                logger.info("stopping %d workers (graceful timeout %gs)", len(decision.pids),
                            self.config.graceful_timeout)
                self._send(decision.pids, signal.SIGTERM)
                self.state = replace(self.state, stop_deadline=now + self.config.graceful_timeout)
            elif type(decision) is Kill:
                logger.warning("workers %s did not stop within %gs; killing them",
                               ", ".join(map(str, decision.pids)), self.config.graceful_timeout)
                self._send(decision.pids, signal.SIGKILL)
                self.state = replace(self.state, killed=True)
            elif type(decision) is Wait:
                self._wait(decision.timeout)

    def _wait(self, timeout: float) -> None:
        """Sleep until a signal, a heartbeat or a worker exit, then record what happened."""
        try:
            ready, _, _ = select.select([self._wake_r, *self._beats], [], [], timeout)
        except InterruptedError:
            ready = []
        now = time.monotonic()
        exiting: list[int] = []
        for fd in ready:
            if fd == self._wake_r:
                self._read_signals()
            else:
                try:
                    data = os.read(fd, 512)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                pid = self._beats[fd]
                if data:
                    self.last_beat[pid] = now
                else:  # the worker is exiting: its pipe closes just before it can be reaped
                    del self._beats[fd]
                    os.close(fd)
                    exiting.append(pid)
        self._reap(block=False)
        deadline = now + 0.5
        while exiting and time.monotonic() < deadline:
            exiting = [pid for pid in exiting if pid in self.state.alive]
            if exiting:
                time.sleep(0.002)
                self._reap(block=False)

    def _read_signals(self) -> None:
        try:
            data = os.read(self._wake_r, 512)
        except OSError:
            return
        if signal.SIGINT in data or signal.SIGTERM in data:
            self.state = replace(self.state, stop_requested=True)
        # SIGCHLD needs nothing here: every wait ends with a reap.

    def _reap(self, *, block: bool) -> None:
        """Collect exited workers (only ours: other children belong to someone else)."""
        alive = set(self.state.alive)
        boot_failed = self.state.boot_failed
        for pid in list(alive):
            try:
                done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                continue
            alive.discard(pid)
            self.last_beat.pop(pid, None)
            code = os.waitstatus_to_exitcode(status)
            if code == WORKER_BOOT_ERROR:
                boot_failed = True
                logger.error("worker %d could not start serving; stopping", pid)
            elif not self.state.stop_requested:
                how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
                logger.warning("worker %d %s; starting a replacement", pid, how)
        for fd, pid in list(self._beats.items()):
            if pid not in alive:
                del self._beats[fd]
                os.close(fd)
        self.state = replace(self.state, alive=frozenset(alive), boot_failed=boot_failed)

    def _send(self, pids: tuple[int, ...], signum: int) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    # -- workers ------------------------------------------------------------------

    def _spawn(self) -> None:
        beat_r, beat_w = os.pipe()
        # Signals wait until the child has its own handlers: a SIGTERM landing in
        # between would otherwise hit the supervisor's handler copy and be lost.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _WORKER_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                os.close(beat_r)
                self._worker(beat_w, blocked)  # never returns
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(beat_w)
        os.set_blocking(beat_r, False)
        self._beats[beat_r] = pid
        self.last_beat[pid] = time.monotonic()
        self.state = replace(self.state, alive=self.state.alive | {pid})

    def _worker(self, beat_w: int, mask: set[int | signal.Signals]) -> None:
        """The child side of a fork: serve on the inherited socket, then ``os._exit``."""
        code = 0
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.close(self._wake_r)
            os.close(self._wake_w)
            for fd in self._beats:
                os.close(fd)
            os.set_blocking(beat_w, False)
            server = self.engine(self.socket, self.app, config=self.config,
                                 request_handler=self.request_handler,
                                 ssl_context=self.ssl_context,
                                 passthrough_errors=self.passthrough_errors, multiprocess=True)
            server.heartbeat_fd = beat_w
            signal.signal(signal.SIGTERM, lambda signum, frame: server.request_stop())
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        except BaseException:
            traceback.print_exc()
            code = WORKER_BOOT_ERROR
        else:
            try:
                server.serve_forever()
            except BaseException:
                logger.exception("worker %d stopped on an error", os.getpid())
                code = 1
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)


def _record(signum: int, frame: object) -> None:
    """Signal handler: nothing to do, the wakeup fd already carries ``signum``."""
