"""The pre-fork supervisor: forks N workers on one listening socket and keeps N alive.

Rules: signal handlers only record (a byte on the self-pipe); the main loop
reaps, logs and acts. What happens to the state is a pure transition
(:func:`reported`, :func:`exited`, ...) and what to do next is :func:`decide`,
a pure function of :class:`SupervisorState` and the time. Workers report over a
pipe: ready, alive, or "replace me" (see ``treadle.server.base``).
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from treadle.server.base import READY, RETIRE, BaseServer, WSGIApplication
from treadle.server.config import ServerConfig, worker_timeout
from treadle.server.handler import WSGIRequestHandler, logger
from treadle.server.loader import load_app

__all__ = [
    "Exit",
    "Kill",
    "Spawn",
    "Supervisor",
    "SupervisorState",
    "Terminate",
    "Wait",
    "decide",
    "exited",
    "killed",
    "reloaded",
    "reported",
    "resized",
    "spawned",
    "terminated",
]

WORKER_BOOT_ERROR = 3  # a worker's exit code when it could not start serving
_POLL = 1.0  # longest wait between looks at the workers, signals or not
_POLL_STOPPING = 0.1  # without SIGCHLD (not the main thread) exits are noticed by polling
_SUPERVISOR_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP,
                       signal.SIGTTIN, signal.SIGTTOU)
# Blocked across fork until the child has its own dispositions, so none is lost or
# handled by the supervisor's handler copy in the child.
_WORKER_SIGNALS = set(_SUPERVISOR_SIGNALS)


@dataclass(frozen=True, slots=True)
class SupervisorState:
    """Everything :func:`decide` needs; the supervisor replaces it, never mutates it.

    A worker is *serving* from its fork until it is told to stop (``deadlines``)
    or killed. ``retiring`` workers serve on until a fresh one is ready to take
    their place, one at a time (SIGHUP, ``max_requests``, a stuck request).
    """

    workers: int
    alive: frozenset[int] = field(default_factory=frozenset)
    ready: frozenset[int] = field(default_factory=frozenset)  # said READY
    retiring: frozenset[int] = field(default_factory=frozenset)
    asked: frozenset[int] = field(default_factory=frozenset)  # asked once to be replaced
    deadlines: Mapping[int, float] = field(default_factory=dict)  # told to stop: pid -> when to SIGKILL
    killed: frozenset[int] = field(default_factory=frozenset)
    last_beat: Mapping[int, float] = field(default_factory=dict)
    timeout: float = 0.0  # silence after which a serving worker is killed; 0: never
    stop_requested: bool = False
    boot_failed: bool = False
    ever_ready: bool = False

    @property
    def serving(self) -> frozenset[int]:
        """Workers neither told to stop nor killed."""
        return self.alive - self.deadlines.keys() - self.killed


class Spawn(NamedTuple):
    """Fork ``number`` new workers."""

    number: int


class Terminate(NamedTuple):
    """Ask ``pids`` to stop gracefully (SIGTERM) and start their grace period."""

    pids: tuple[int, ...]


class Kill(NamedTuple):
    """SIGKILL ``pids``: their grace period is over, or they stopped reporting."""

    pids: tuple[int, ...]


class Wait(NamedTuple):
    """Nothing to do for up to ``timeout`` seconds, or until something happens."""

    timeout: float


class Exit(NamedTuple):
    """Every worker is gone; leave with ``code``."""

    code: int


Decision = Spawn | Terminate | Kill | Wait | Exit


# -- pure state transitions ---------------------------------------------------------------


def spawned(state: SupervisorState, pid: int, now: float) -> SupervisorState:
    """A worker was forked."""
    return replace(state, alive=state.alive | {pid}, last_beat={**state.last_beat, pid: now})


def reported(state: SupervisorState, pid: int, data: bytes, now: float) -> SupervisorState:
    """A worker wrote ``data`` to its pipe: it is alive, maybe ready, maybe asking to go."""
    if pid not in state.alive:
        return state
    changes: dict[str, Any] = {"last_beat": {**state.last_beat, pid: now}}
    if READY in data:
        changes["ready"] = state.ready | {pid}
        changes["ever_ready"] = True
    if RETIRE in data and pid not in state.asked:
        changes["asked"] = state.asked | {pid}
        if pid in state.serving and not state.stop_requested:
            changes["retiring"] = state.retiring | {pid}
    return replace(state, **changes)


def exited(state: SupervisorState, pid: int, code: int) -> SupervisorState:
    """Worker ``pid`` was reaped with exit ``code`` (negative: killed by that signal).

    A worker that cannot boot stops everything, unless old workers are still
    serving in its place (a reload or a recycle): then the old ones stay.
    """
    gone = frozenset({pid})
    new = replace(
        state, alive=state.alive - gone, ready=state.ready - gone,
        retiring=state.retiring - gone, asked=state.asked - gone, killed=state.killed - gone,
        deadlines={p: t for p, t in state.deadlines.items() if p != pid},
        last_beat={p: t for p, t in state.last_beat.items() if p != pid})
    if code != WORKER_BOOT_ERROR or pid in state.ready:
        return new
    if new.retiring and new.ever_ready:
        return replace(new, retiring=frozenset())
    return replace(new, boot_failed=True)


def reloaded(state: SupervisorState) -> SupervisorState:
    """SIGHUP: every serving worker is to be replaced, one at a time."""
    if state.stop_requested:
        return state
    return replace(state, retiring=state.serving)


def resized(state: SupervisorState, delta: int) -> SupervisorState:
    """SIGTTIN / SIGTTOU: one worker more or less (never fewer than one)."""
    return replace(state, workers=max(1, state.workers + delta))


def terminated(state: SupervisorState, pids: tuple[int, ...], deadline: float) -> SupervisorState:
    """``pids`` were sent SIGTERM and must be gone by ``deadline``."""
    return replace(state, retiring=state.retiring - set(pids),
                   deadlines={**state.deadlines, **dict.fromkeys(pids, deadline)})


def killed(state: SupervisorState, pids: tuple[int, ...]) -> SupervisorState:
    """``pids`` were sent SIGKILL."""
    return replace(state, killed=state.killed | set(pids), retiring=state.retiring - set(pids))


# -- what to do next ------------------------------------------------------------------------


def decide(state: SupervisorState, now: float) -> Decision:
    """What the supervisor should do next, given its state and the time."""
    overdue = [pid for pid, deadline in state.deadlines.items()
               if deadline <= now and pid not in state.killed]
    if overdue:
        return Kill(tuple(sorted(overdue)))
    serving = state.serving
    if state.timeout:
        silent = [pid for pid in serving if now - state.last_beat[pid] > state.timeout]
        if silent:
            return Kill(tuple(sorted(silent)))
    if state.stop_requested or state.boot_failed:
        if not state.alive:
            return Exit(1 if state.boot_failed else 0)
        if serving:
            return Terminate(tuple(sorted(serving)))
        return Wait(_POLL_STOPPING)
    missing = state.workers - len(serving)
    if missing > 0:
        return Spawn(missing)
    old = serving & state.retiring
    if old:
        if serving - old - state.ready:
            return Wait(_next_check(state, serving, now))  # the replacement is booting
        if len(serving) <= state.workers:
            return Spawn(1)
        return Terminate((min(old),))
    if len(serving) > state.workers:
        return Terminate(tuple(sorted(serving)[:len(serving) - state.workers]))
    return Wait(_next_check(state, serving, now))


def _next_check(state: SupervisorState, serving: frozenset[int], now: float) -> float:
    """Seconds until a deadline or a heartbeat may be missed, at most ``_POLL``."""
    soonest = now + _POLL
    for deadline in state.deadlines.values():
        soonest = min(soonest, deadline)
    if state.timeout:
        for pid in serving:
            soonest = min(soonest, state.last_beat[pid] + state.timeout)
    return max(0.01, soonest - now)


# -- the supervisor ---------------------------------------------------------------------------


class Supervisor:
    """Pre-forked workers (``processes=N``), each running ``engine`` on the shared socket.

    The same surface as the engines: ``serve_forever()``, ``shutdown()``,
    ``server_close()``, ``server_address`` and ``port``. In the main thread it
    stops on SIGINT/SIGTERM (workers get ``graceful_timeout``, then SIGKILL),
    replaces every worker one by one on SIGHUP (:meth:`reload`), and adds or
    removes one on SIGTTIN/SIGTTOU. ``app`` may be an import string
    (``"module:app"``): each worker then imports it after the fork, so a reload
    runs the code now on disk; an app object is forked from this process's memory.
    """

    multithread = False
    multiprocess = True

    def __init__(
        self,
        listener: socket.socket,
        app: WSGIApplication | str,
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
        self.timeout = worker_timeout(self.config, engine.multithread)
        # A threaded worker's loop beats on while a thread is stuck; it reports that itself.
        self.state = SupervisorState(workers, timeout=self.timeout)
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

    @property
    def ready_pids(self) -> frozenset[int]:
        """The pids of the workers that are serving and have said they are ready."""
        return self.state.ready & self.state.serving

    @property
    def last_beat(self) -> Mapping[int, float]:
        """When each worker was last heard from (``time.monotonic()``)."""
        return self.state.last_beat

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

    def reload(self) -> None:
        """Replace every worker, one at a time, as SIGHUP does; safe from any thread."""
        self._signal(signal.SIGHUP)

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
        """Route the supervisor's signals to the self-pipe; returns the undo function."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None  # shutdown(), reload() and polling still work
        previous = {sig: signal.signal(sig, _record) for sig in _SUPERVISOR_SIGNALS}
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
                self._terminate(decision.pids, now)
            elif type(decision) is Kill:
                self._kill(decision.pids, now)
            elif type(decision) is Wait:
                self._wait(decision.timeout)

    def _terminate(self, pids: tuple[int, ...], now: float) -> None:
        grace = self.config.graceful_timeout
        if self.state.stop_requested or self.state.boot_failed:
            logger.info("stopping %d workers (graceful timeout %gs)", len(pids), grace)
            # Workers close their copies as they stop; once all are closed, connects are refused.
            self.socket.close()
        else:
            logger.info("stopping worker %s gracefully", ", ".join(map(str, pids)))
        self._send(pids, signal.SIGTERM)
        self.state = terminated(self.state, pids, now + grace)

    def _kill(self, pids: tuple[int, ...], now: float) -> None:
        for pid in pids:
            if pid in self.state.deadlines:
                logger.warning("worker %d did not stop within %gs; killing it", pid,
                               self.config.graceful_timeout)
            else:
                logger.error("worker %d was silent for %.1fs (timeout=%gs): a request is stuck "
                             "in it; killing it", pid, now - self.state.last_beat[pid],
                             self.timeout)
        self._send(pids, signal.SIGKILL)
        self.state = killed(self.state, pids)

    def _wait(self, timeout: float) -> None:
        """Sleep until a signal, a report or a worker exit, then record what happened."""
        try:
            ready, _, _ = select.select([self._wake_r, *self._beats], [], [], timeout)
        except InterruptedError:
            ready = []
        now = time.monotonic()
        exiting: list[int] = []
        for fd in ready:
            if fd == self._wake_r:
                continue  # read by _reap, below, before it judges an exit
            try:
                data = os.read(fd, 512)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            pid = self._beats[fd]
            if data:
                self.state = reported(self.state, pid, data, now)
                if READY in data:
                    logger.debug("worker %d is ready", pid)
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
        if signal.SIGHUP in data and not self.state.stop_requested:
            if isinstance(self.app, str):
                logger.info("reloading: replacing %d workers one by one; each imports %r "
                            "afresh", len(self.state.serving), self.app)
            else:
                logger.info("reloading: replacing %d workers one by one, forked from the "
                            "supervisor's memory (the app was passed as an object, so the "
                            "code stays the same; pass 'module:app' to load new code)",
                            len(self.state.serving))
            self.state = reloaded(self.state)
        for signum, delta in ((signal.SIGTTIN, 1), (signal.SIGTTOU, -1)):
            for _ in range(data.count(signum)):
                self.state = resized(self.state, delta)
                logger.info("worker processes wanted: %d", self.state.workers)
        # SIGCHLD needs nothing here: every wait ends with a reap.

    def _reap(self, *, block: bool) -> None:
        """Collect exited workers (only ours: other children belong to someone else)."""
        # A signal sent to the whole process group (Ctrl+C in a terminal, a process manager
        # stopping the group) may stop a worker before the supervisor read its own copy:
        # read it first, so that worker is not taken for one that died and replaced.
        self._read_signals()
        for pid in sorted(self.state.alive):
            try:
                done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                continue
            code = os.waitstatus_to_exitcode(status)
            before = self.state
            self.state = exited(before, pid, code)
            if code == WORKER_BOOT_ERROR and pid not in before.ready:
                if self.state.boot_failed:
                    logger.error("worker %d could not start serving; stopping", pid)
                else:
                    logger.error("a new worker (%d) could not start serving; the old workers "
                                 "keep serving. Fix the error above and reload again.", pid)
            elif not (before.stop_requested or pid in before.deadlines or pid in before.killed):
                how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
                logger.warning("worker %d %s; starting a replacement", pid, how)
        for fd, pid in list(self._beats.items()):
            if pid not in self.state.alive:
                del self._beats[fd]
                os.close(fd)

    def _send(self, pids: tuple[int, ...], signum: int) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    # -- workers ------------------------------------------------------------------

    def _spawn(self) -> None:
        config = self.config
        retire_after = 0
        if config.max_requests:
            # Chosen here: each fork gets its own draw, so workers do not recycle in step.
            retire_after = config.max_requests + random.randint(0, config.max_requests_jitter)
        beat_r, beat_w = os.pipe()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _WORKER_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                os.close(beat_r)
                self._worker(beat_w, blocked, retire_after)  # never returns
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(beat_w)
        os.set_blocking(beat_r, False)
        self._beats[beat_r] = pid
        self.state = spawned(self.state, pid, time.monotonic())

    def _worker(self, beat_w: int, mask: set[int | signal.Signals], retire_after: int) -> None:
        """The child side of a fork: serve on the inherited socket, then ``os._exit``."""
        code = 0
        try:
            signal.set_wakeup_fd(-1)
            for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU):
                signal.signal(signum, signal.SIG_IGN)  # the supervisor decides
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.close(self._wake_r)
            os.close(self._wake_w)
            for fd in self._beats:
                os.close(fd)
            os.set_blocking(beat_w, False)
            app = load_app(self.app) if isinstance(self.app, str) else self.app
            server = self.engine(self.socket, app, config=self.config,
                                 request_handler=self.request_handler,
                                 ssl_context=self.ssl_context,
                                 passthrough_errors=self.passthrough_errors, multiprocess=True)
            server.attach_supervisor(beat_w, retire_after=retire_after,
                                     request_timeout=self.timeout)
            signal.signal(signal.SIGTERM, lambda signum, frame: server.request_stop())
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.write(beat_w, READY)
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
