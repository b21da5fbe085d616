"""Consoles: REPL semantics over a namespace, output capture per thread, the frame registry."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

from treadle.dev.debugger.console import OUTPUT_LIMIT, Console, FrameRegistry
from treadle.dev.debugger.tbtools import Traceback


def test_expression_prints_its_repr() -> None:
    assert Console({}).push("'a' * 3") == ">>> 'a' * 3\n'aaa'\n"


def test_statement_prints_nothing_but_the_echo() -> None:
    assert Console({}).push("x = 1") == ">>> x = 1\n"


def test_print_output_is_captured_not_written_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert Console({}).push("print('hi')").endswith("hi\n")
    assert capsys.readouterr().out == ""


def test_streams_and_displayhook_are_restored_after_a_command() -> None:
    before = (sys.stdout, sys.stderr, sys.displayhook)
    Console({}).push("1")
    assert (sys.stdout, sys.stderr, sys.displayhook) == before


def test_names_persist_between_lines() -> None:
    console = Console({})
    console.push("total = 40")
    assert console.push("total + 2").endswith("42\n")


def test_underscore_holds_last_value_in_console_namespace() -> None:
    namespace: dict[str, Any] = {}
    console = Console(namespace)
    console.push("7 * 6")
    assert namespace["_"] == 42


def test_multi_line_block_waits_for_blank_line() -> None:
    console = Console({})
    assert console.push("def double(n):") == ">>> def double(n):\n"
    assert console.prompt == "... "
    assert console.push("    return n * 2") == "...     return n * 2\n"
    console.push("")
    assert console.prompt == ">>> "
    assert console.push("double(21)").endswith("42\n")


def test_exception_shows_traceback_and_console_continues() -> None:
    console = Console({})
    out = console.push("1 / 0")
    assert "Traceback (most recent call last):" in out
    assert out.endswith("ZeroDivisionError: division by zero\n")
    assert "_run" not in out
    assert console.push("2").endswith("2\n")


def test_syntax_error_is_reported_and_buffer_reset() -> None:
    console = Console({})
    out = console.push("1 +* 2")
    assert "SyntaxError" in out
    assert console.prompt == ">>> "


def test_system_exit_is_reported_not_raised() -> None:
    assert "SystemExit" in Console({}).push("raise SystemExit(3)")


def test_output_is_cut_at_limit() -> None:
    out = Console({}).push(f"print('x' * {OUTPUT_LIMIT * 2})")
    assert len(out) < OUTPUT_LIMIT + 200
    assert out.endswith(f"[output cut at {OUTPUT_LIMIT} characters]\n")


def test_other_threads_output_is_not_captured(capsys: pytest.CaptureFixture[str]) -> None:
    started, release = threading.Event(), threading.Event()

    def other() -> None:
        assert started.wait(5)
        print("from other thread")
        release.set()

    thread = threading.Thread(target=other)
    thread.start()
    namespace = {"started": started, "release": release}
    out = Console(namespace).push("started.set() or release.wait(5)")
    thread.join(5)
    assert "from other thread" not in out
    assert "from other thread" in capsys.readouterr().out


def frame_with_locals() -> Traceback:
    def view() -> None:
        user = "ada"
        visits = [1, 2, 3]
        raise LookupError(user, visits)

    try:
        view()
    except LookupError as exc:
        return Traceback.from_exception(exc)
    raise AssertionError("no exception")


def test_frame_console_sees_locals_and_globals() -> None:
    tb = frame_with_locals()
    registry = FrameRegistry()
    registry.add(tb.frames, [])
    console = registry.console(tb.frames[-1].id, lambda: Console({}))
    assert console is not None
    assert console.push("user, sum(visits), OUTPUT_LIMIT > 0").endswith("('ada', 6, True)\n")


def test_comprehension_in_frame_console_sees_locals() -> None:
    tb = frame_with_locals()
    registry = FrameRegistry()
    registry.add(tb.frames, [])
    console = registry.console(tb.frames[-1].id, lambda: Console({}))
    assert console is not None
    assert console.push("[v * len(user) for v in visits]").endswith("[3, 6, 9]\n")


def test_frame_console_keeps_state_between_commands() -> None:
    tb = frame_with_locals()
    registry = FrameRegistry()
    registry.add(tb.frames, [])
    frame_id = tb.frames[-1].id
    first = registry.console(frame_id, lambda: Console({}))
    assert first is not None
    first.push("extra = 5")
    again = registry.console(frame_id, lambda: Console({}))
    assert again is first


def test_registry_gives_unique_ids() -> None:
    registry = FrameRegistry()
    frames = frame_with_locals().frames + frame_with_locals().frames
    registry.add(frames, [])
    assert len({f.id for f in frames}) == len(frames) and 0 not in {f.id for f in frames}


def test_registry_drops_oldest_frames_past_limit() -> None:
    registry = FrameRegistry(limit=2)
    old = frame_with_locals().frames
    registry.add(old, [])
    new = frame_with_locals().frames
    registry.add(new, [])
    assert len(registry) == 2
    assert registry.console(old[0].id, lambda: Console({})) is None
    assert registry.console(new[-1].id, lambda: Console({})) is not None


def test_frame_zero_is_the_standalone_console() -> None:
    registry = FrameRegistry()
    made = Console({"hello": "world"})
    assert registry.console(0, lambda: made) is made
    assert registry.console(0, lambda: Console({})) is made
