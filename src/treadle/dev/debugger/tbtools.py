"""The traceback model: an exception chain as links of frames, plus its plain text.

Built once per caught exception; rendering (render.py) and the console (console.py)
only read it. A frame is "library" when its file lives in the stdlib, site-packages or
treadle itself, so the page can fold away what the user did not write.
"""

from __future__ import annotations

import linecache
import os
import site
import sysconfig
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

#: How many source lines the page shows around each frame's current line.
CONTEXT_BEFORE = 5
CONTEXT_AFTER = 3

#: Python's own sentences between the exceptions of a chain.
CHAIN_SENTENCES = {
    "cause": "The above exception was the direct cause of the following exception:",
    "context": "During handling of the above exception, another exception occurred:",
}


def _library_prefixes() -> tuple[str, ...]:
    paths = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.update(getattr(site, "getsitepackages", list)())
    paths.add(site.getusersitepackages())
    # treadle's own frames (middleware, dispatch) are plumbing to the user, wherever installed.
    paths.add(str(Path(__file__).resolve().parents[2]))
    return tuple(os.path.normcase(os.path.realpath(p)).rstrip(os.sep) + os.sep for p in paths)


LIBRARY_PREFIXES = _library_prefixes()


def is_library_file(filename: str) -> bool:
    """True for code the user did not write: stdlib, installed packages, frozen modules."""
    if filename.startswith("<"):
        return True
    path = os.path.normcase(os.path.realpath(filename))
    return path.startswith(LIBRARY_PREFIXES)


def _char_offset(line: str, byte_offset: int) -> int:
    # Code positions count UTF-8 bytes; the page marks characters.
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))


@dataclass(eq=False)
class Frame:
    """One frame of a traceback, with the source lines the page shows around it."""

    filename: str
    lineno: int
    function: str
    frame: FrameType = field(repr=False)
    is_library: bool
    hidden: bool
    first_lineno: int = 0
    lines: list[str] = field(default_factory=list)
    #: Character span of the failing expression on the current line, if known.
    mark: tuple[int, int] | None = None
    #: Set by the frame registry when the frame gets a console.
    id: int = 0

    @property
    def current_line(self) -> str:
        index = self.lineno - self.first_lineno
        return self.lines[index] if 0 <= index < len(self.lines) else ""


@dataclass(eq=False)
class ChainLink:
    """One exception of a chain and its frames; `relation` says how it led to the next."""

    exception: BaseException
    frames: list[Frame]
    summaries: traceback.StackSummary = field(repr=False)
    relation: str | None = None

    @property
    def type_name(self) -> str:
        cls = type(self.exception)
        if cls.__module__ in ("builtins", "__main__"):
            return cls.__qualname__
        return f"{cls.__module__}.{cls.__qualname__}"

    @property
    def message(self) -> str:
        try:
            return str(self.exception)
        except Exception:
            return "<exception str() failed>"

    @property
    def sub_exceptions_text(self) -> str:
        """An exception group's members, as Python prints them ("" for other exceptions)."""
        if not isinstance(self.exception, BaseExceptionGroup):
            return ""
        parts = []
        for number, member in enumerate(self.exception.exceptions, 1):
            lines = "".join(traceback.format_exception(member)).splitlines(keepends=True)
            parts.append(f"+---- {number} ----\n" + "".join("| " + line for line in lines))
        return "".join(parts)

    @property
    def text(self) -> str:
        head = "Traceback (most recent call last):\n" if self.summaries else ""
        body = "".join(self.summaries.format())
        tail = "".join(traceback.format_exception_only(type(self.exception), self.exception))
        return head + body + tail + self.sub_exceptions_text


@dataclass(eq=False)
class Traceback:
    """An exception chain, oldest exception first, as Python prints it."""

    links: list[ChainLink]

    @classmethod
    def from_exception(cls, exc: BaseException, show_hidden_frames: bool = False) -> Traceback:
        chain: list[tuple[BaseException, str | None]] = []
        seen: set[int] = set()
        current: BaseException | None = exc
        relation: str | None = None
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            chain.append((current, relation))
            if current.__cause__ is not None:
                current, relation = current.__cause__, "cause"
            elif current.__context__ is not None and not current.__suppress_context__:
                current, relation = current.__context__, "context"
            else:
                current = None
        # chain runs newest to oldest, each entry saying how it led to the one before it;
        # reversed, a link's relation describes how it led to the link after it.
        links: list[ChainLink] = []
        for error, how in reversed(chain):
            link = _link(error.__traceback__, error, show_hidden_frames)
            link.relation = how
            links.append(link)
        return cls(links)

    @property
    def exception(self) -> BaseException:
        return self.links[-1].exception

    @property
    def frames(self) -> list[Frame]:
        return [frame for link in self.links for frame in link.frames]

    @property
    def text(self) -> str:
        parts: list[str] = []
        for link in self.links:
            parts.append(link.text)
            if link.relation is not None:
                parts.append(f"\n{CHAIN_SENTENCES[link.relation]}\n\n")
        return "".join(parts)


def _is_hidden(frame: FrameType) -> bool:
    return bool(frame.f_locals.get("__traceback_hide__", frame.f_globals.get("__traceback_hide__")))


def _link(tb: TracebackType | None, exc: BaseException, show_hidden: bool) -> ChainLink:
    frames: list[Frame] = []
    kept: list[tuple[FrameType, int]] = []
    while tb is not None:
        frame_obj, lineno, lasti = tb.tb_frame, tb.tb_lineno, tb.tb_lasti
        tb = tb.tb_next
        hidden = _is_hidden(frame_obj)
        if hidden and not show_hidden:
            continue
        kept.append((frame_obj, lineno))
        frame = _frame(frame_obj, lineno, hidden)
        frame.mark = _mark(frame_obj, lasti, frame.current_line, lineno)
        frames.append(frame)
    return ChainLink(exc, frames, traceback.StackSummary.extract(iter(kept)))


def _mark(frame: FrameType, lasti: int, line: str, lineno: int) -> tuple[int, int] | None:
    if lasti < 0 or not line:
        return None
    # One position per 2-byte code unit; tb_lasti is a byte offset.
    for index, position in enumerate(frame.f_code.co_positions()):
        if index == lasti // 2:
            start, end, col, end_col = position
            if start == end == lineno and col is not None and end_col is not None:
                return _char_offset(line, col), _char_offset(line, end_col)
            return None
    return None


def _frame(frame_obj: FrameType, lineno: int, hidden: bool) -> Frame:
    code = frame_obj.f_code
    filename = code.co_filename
    frame = Frame(
        filename=filename,
        lineno=lineno,
        function=code.co_qualname,
        frame=frame_obj,
        is_library=is_library_file(filename),
        hidden=hidden,
    )
    source = linecache.getlines(filename, frame_obj.f_globals)
    if source:
        first = max(1, lineno - CONTEXT_BEFORE)
        last = min(len(source), lineno + CONTEXT_AFTER)
        frame.first_lineno = first
        frame.lines = [line.rstrip("\r\n") for line in source[first - 1 : last]]
    return frame
