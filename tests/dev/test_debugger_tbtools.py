"""The traceback model: chains, hidden and library frames, source context, plain text."""

from __future__ import annotations

import json

import pytest

from treadle.dev.debugger.tbtools import CONTEXT_AFTER, CONTEXT_BEFORE, Traceback, is_library_file


def caught(func: object) -> BaseException:
    try:
        func()  # type: ignore[operator]
    except BaseException as exc:
        return exc
    raise AssertionError("no exception")


def divide() -> float:
    numerator = 1
    return numerator / 0


def test_single_exception_has_one_link_with_its_frames() -> None:
    tb = Traceback.from_exception(caught(divide))
    assert len(tb.links) == 1
    assert [f.function for f in tb.frames] == ["caught", "divide"]


def test_frame_records_file_line_and_current_source_line() -> None:
    frame = Traceback.from_exception(caught(divide)).frames[-1]
    assert frame.filename == __file__
    assert frame.current_line.strip() == "return numerator / 0"


def test_source_window_surrounds_current_line() -> None:
    frame = Traceback.from_exception(caught(divide)).frames[-1]
    assert frame.first_lineno == frame.lineno - CONTEXT_BEFORE
    assert len(frame.lines) == CONTEXT_BEFORE + CONTEXT_AFTER + 1


def test_failing_expression_is_marked_on_current_line() -> None:
    frame = Traceback.from_exception(caught(divide)).frames[-1]
    assert frame.mark is not None
    start, end = frame.mark
    assert frame.current_line[start:end] == "numerator / 0"


def test_mark_counts_characters_not_utf8_bytes() -> None:
    def fail() -> object:
        return "ééé" + 1  # type: ignore[operator]

    frame = Traceback.from_exception(caught(fail)).frames[-1]
    assert frame.mark is not None
    assert frame.current_line[frame.mark[0] : frame.mark[1]] == '"ééé" + 1'


def test_cause_chain_runs_oldest_first() -> None:
    def fail() -> None:
        try:
            divide()
        except ZeroDivisionError as exc:
            raise ValueError("bad") from exc

    tb = Traceback.from_exception(caught(fail))
    assert [link.type_name for link in tb.links] == ["ZeroDivisionError", "ValueError"]
    assert [link.relation for link in tb.links] == ["cause", None]


def test_implicit_context_is_kept() -> None:
    def fail() -> None:
        try:
            divide()
        except ZeroDivisionError:
            raise ValueError("while handling")  # noqa: B904 - the implicit context is the point

    tb = Traceback.from_exception(caught(fail))
    assert tb.links[0].relation == "context"


def test_suppressed_context_is_dropped() -> None:
    def fail() -> None:
        try:
            divide()
        except ZeroDivisionError:
            raise ValueError("clean") from None

    assert len(Traceback.from_exception(caught(fail)).links) == 1


def test_context_cycle_does_not_loop() -> None:
    first, second = ValueError("a"), KeyError("b")
    first.__context__, second.__context__ = second, first
    assert len(Traceback.from_exception(first).links) == 2


def test_hidden_frames_are_skipped() -> None:
    def plumbing() -> None:
        __traceback_hide__ = True
        divide()

    tb = Traceback.from_exception(caught(plumbing))
    assert "plumbing" not in [f.function.rsplit(".", 1)[-1] for f in tb.frames]


def test_hidden_frames_kept_when_asked() -> None:
    def plumbing() -> None:
        __traceback_hide__ = True
        divide()

    tb = Traceback.from_exception(caught(plumbing), show_hidden_frames=True)
    frame = next(f for f in tb.frames if f.function.endswith("plumbing"))
    assert frame.hidden


def test_stdlib_frames_are_library_frames() -> None:
    tb = Traceback.from_exception(caught(lambda: json.loads("{")))
    kinds = {f.function.rsplit(".", 1)[-1]: f.is_library for f in tb.frames}
    assert kinds["<lambda>"] is False
    assert kinds["decode"] is True


def test_installed_package_file_is_library() -> None:
    assert is_library_file(pytest.__file__)


def test_generated_code_is_library() -> None:
    assert is_library_file("<frozen importlib._bootstrap>")


def test_text_reads_like_python_traceback() -> None:
    def fail() -> None:
        try:
            divide()
        except ZeroDivisionError as exc:
            raise ValueError("bad") from exc

    text = Traceback.from_exception(caught(fail)).text
    assert text.startswith("Traceback (most recent call last):\n")
    assert "ZeroDivisionError: division by zero\n\nThe above exception was the direct cause" in text
    assert f'  File "{__file__}", line' in text
    assert text.endswith("ValueError: bad\n")


def test_exception_with_broken_str_still_renders() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    def fail() -> None:
        raise Broken()

    tb = Traceback.from_exception(caught(fail))
    assert tb.links[0].message == "<exception str() failed>"
    assert "Broken" in tb.text


def test_exception_group_members_are_in_the_text() -> None:
    def fail() -> None:
        raise ExceptionGroup("two failed", [KeyError("first"), ValueError("second")])

    link = Traceback.from_exception(caught(fail)).links[-1]
    assert "ExceptionGroup: two failed (2 sub-exceptions)" in link.text
    assert "+---- 1 ----\n| KeyError: 'first'" in link.text
    assert "+---- 2 ----\n| ValueError: second" in link.text
