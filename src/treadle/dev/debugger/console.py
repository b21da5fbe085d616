"""Interactive consoles: Python evaluated in a traceback frame's namespace, and their registry.

A console keeps its half-typed multi-line block between requests, like the REPL.
Output is captured per thread: while a console runs, sys.stdout/stderr/displayhook
are proxies that send this thread's writes to the console and every other thread's
writes where they went before.
"""

from __future__ import annotations

import codeop
import contextlib
import sys
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any, TextIO

from treadle.dev.debugger.tbtools import Frame

#: Per process: frames kept for the console (oldest dropped first), and output per command.
FRAME_LIMIT = 500
OUTPUT_LIMIT = 100_000

PROMPT = ">>> "
CONTINUATION = "... "


class _Output:
    """What one command printed, cut at OUTPUT_LIMIT so a runaway loop cannot fill memory."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def write(self, text: str) -> None:
        room = OUTPUT_LIMIT - self.size
        if len(text) > room:
            text, self.truncated = text[:room], True
        self.parts.append(text)
        self.size += len(text)

    def getvalue(self) -> str:
        note = f"\n[output cut at {OUTPUT_LIMIT} characters]\n" if self.truncated else ""
        return "".join(self.parts) + note


_capture: ContextVar[_Output | None] = ContextVar("treadle_debugger_capture", default=None)


class _StreamProxy:
    """Stands in for sys.stdout/stderr: the capturing thread's writes go to its console."""

    def __init__(self, original: TextIO) -> None:
        self.original = original

    def write(self, text: str) -> int:
        output = _capture.get()
        if output is None:
            return self.original.write(text)
        output.write(text)
        return len(text)

    def flush(self) -> None:
        if _capture.get() is None:
            self.original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


class _Redirect:
    """Installs the proxies while at least one console command runs, and removes them after."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved: tuple[TextIO, TextIO, Callable[[object], Any]] | None = None
        self._installed: tuple[object, object, object] = (None, None, None)

    @contextlib.contextmanager
    def capturing(self, output: _Output) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._saved = (sys.stdout, sys.stderr, sys.displayhook)
                stdout, stderr = _StreamProxy(sys.stdout), _StreamProxy(sys.stderr)
                hook = _make_displayhook(sys.displayhook)
                sys.stdout, sys.stderr, sys.displayhook = stdout, stderr, hook
                self._installed = (stdout, stderr, hook)
            self._users += 1
        token = _capture.set(output)
        try:
            yield
        finally:
            _capture.reset(token)
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._saved is not None:
                    self._restore()

    def _restore(self) -> None:
        assert self._saved is not None
        stdout, stderr, hook = self._saved
        # Put back only what is still ours: someone may have replaced a stream meanwhile.
        if sys.stdout is self._installed[0]:
            sys.stdout = stdout
        if sys.stderr is self._installed[1]:
            sys.stderr = stderr
        if sys.displayhook is self._installed[2]:
            sys.displayhook = hook
        self._saved = None


def _make_displayhook(original: Callable[[object], Any]) -> Callable[[object], None]:
    def displayhook(value: object) -> None:
        output = _capture.get()
        if output is None:
            original(value)
            return
        if value is None:
            return
        # `_` lives in the console's namespace, not in builtins shared by the process.
        output.namespace["_"] = value
        try:
            text = repr(value)
        except Exception as exc:
            text = f"<repr() failed: {type(exc).__name__}: {exc}>"
        output.write(text + "\n")

    return displayhook


_redirect = _Redirect()


class Console:
    """A REPL over one namespace: push a line, get back what the REPL would print."""

    def __init__(
        self,
        namespace: dict[str, Any],
        contexts: Sequence[AbstractContextManager[Any]] = (),
    ) -> None:
        self.namespace = namespace
        self.contexts = contexts
        self._compile = codeop.CommandCompiler()
        self._buffer: list[str] = []
        self._lock = threading.Lock()

    @property
    def prompt(self) -> str:
        return CONTINUATION if self._buffer else PROMPT

    def push(self, line: str) -> str:
        """Run one line of input; the result starts with the echoed prompt and line."""
        with self._lock:
            output = _Output(self.namespace)
            output.write(f"{self.prompt}{line}\n")
            self._buffer.append(line)
            source = "\n".join(self._buffer)
            try:
                code = self._compile(source, "<debugger>", "single")
            except (SyntaxError, OverflowError, ValueError) as exc:
                self._buffer.clear()
                output.write("".join(traceback.format_exception_only(type(exc), exc)))
                return output.getvalue()
            if code is None:
                return output.getvalue()
            self._buffer.clear()
            with _redirect.capturing(output):
                self._run(code, output)
            return output.getvalue()

    def _run(self, code: Any, output: _Output) -> None:
        try:
            with contextlib.ExitStack() as stack:
                for context in self.contexts:
                    stack.enter_context(context)
                exec(code, self.namespace)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            # Drop this method's own frame: the user's code starts one level down.
            tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
            output.write("".join(traceback.format_exception(type(exc), exc, tb)))


class FrameRegistry:
    """The frames of recent tracebacks by id, so console commands can find them.

    Bounded (oldest first out) because every kept frame keeps its locals alive.
    Id 0 is the standalone console.
    """

    def __init__(self, limit: int = FRAME_LIMIT) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._next_id = 1
        self._frames: OrderedDict[int, tuple[Frame, Sequence[AbstractContextManager[Any]]]] = (
            OrderedDict()
        )
        self._consoles: dict[int, Console] = {}

    def add(self, frames: Sequence[Frame], contexts: Sequence[AbstractContextManager[Any]]) -> None:
        """Give each frame an id and keep it, dropping the oldest past the limit."""
        with self._lock:
            for frame in frames:
                frame.id = self._next_id
                self._next_id += 1
                self._frames[frame.id] = (frame, contexts)
            while len(self._frames) > self._limit:
                old_id, _ = self._frames.popitem(last=False)
                self._consoles.pop(old_id, None)

    def console(self, frame_id: int, make_standalone: Callable[[], Console]) -> Console | None:
        """The console of a frame (made on first use), or None if the frame is gone."""
        with self._lock:
            console = self._consoles.get(frame_id)
            if console is not None:
                return console
            if frame_id == 0:
                console = make_standalone()
            else:
                entry = self._frames.get(frame_id)
                if entry is None:
                    return None
                frame, contexts = entry
                console = Console(_frame_namespace(frame), contexts)
            self._consoles[frame_id] = console
            return console

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)


def _frame_namespace(frame: Frame) -> dict[str, Any]:
    # One dict holding globals then locals: a single namespace is what makes lambdas and
    # comprehensions typed in the console see the frame's locals. Rebinding a module
    # global from the console therefore stays in the console (mutating objects does not).
    namespace = dict(frame.frame.f_globals)
    namespace.update(frame.frame.f_locals)
    return namespace
