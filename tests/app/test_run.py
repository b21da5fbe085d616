"""app.run: each rule, checked by recording the run_simple call instead of serving."""

from __future__ import annotations

from typing import Any

import pytest

import treadle.serving
from treadle import Treadle


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append((args, kwargs))

    @property
    def last(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return self.calls[-1]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    monkeypatch.setattr(treadle.serving, "run_simple", rec)
    monkeypatch.delenv("TREADLE_RUN_FROM_CLI", raising=False)
    monkeypatch.delenv("TREADLE_DEBUG", raising=False)
    return rec


@pytest.fixture
def run_app() -> Treadle:
    return Treadle("run_app")


def test_defaults_are_localhost_5000_threaded(recorder: Recorder, run_app: Treadle) -> None:
    run_app.run()
    args, kwargs = recorder.last
    assert args == ("127.0.0.1", 5000, run_app)
    assert kwargs == {"use_reloader": False, "use_debugger": False, "threaded": True}


def test_host_and_port_arguments(recorder: Recorder, run_app: Treadle) -> None:
    run_app.run("0.0.0.0", "8080")  # type: ignore[arg-type]
    assert recorder.last[0][:2] == ("0.0.0.0", 8080)


def test_port_zero_is_kept(recorder: Recorder, run_app: Treadle) -> None:
    run_app.run(port=0)
    assert recorder.last[0][1] == 0


def test_port_from_server_name(recorder: Recorder, run_app: Treadle) -> None:
    run_app.config["SERVER_NAME"] = "example.test:7000"
    run_app.run()
    assert recorder.last[0][:2] == ("example.test", 7000)


def test_server_name_without_port_keeps_5000(recorder: Recorder, run_app: Treadle) -> None:
    run_app.config["SERVER_NAME"] = "example.test"
    run_app.run(host="127.0.0.1")
    assert recorder.last[0][:2] == ("127.0.0.1", 5000)


def test_debug_argument_sets_debug_and_dev_tools(recorder: Recorder, run_app: Treadle) -> None:
    run_app.run(debug=True)
    assert run_app.debug is True
    kwargs = recorder.last[1]
    assert kwargs["use_reloader"] is True
    assert kwargs["use_debugger"] is True


def test_explicit_options_win_over_debug_defaults(recorder: Recorder, run_app: Treadle) -> None:
    run_app.run(debug=True, use_reloader=False, threaded=False, processes=2)
    kwargs = recorder.last[1]
    assert kwargs["use_reloader"] is False
    assert kwargs["use_debugger"] is True
    assert kwargs["threaded"] is False
    assert kwargs["processes"] == 2


def test_debug_from_environment_when_loading_dotenv(
    recorder: Recorder, run_app: Treadle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREADLE_DEBUG", "1")
    run_app.run()
    assert run_app.debug is True


def test_debug_argument_beats_environment(
    recorder: Recorder, run_app: Treadle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREADLE_DEBUG", "1")
    run_app.run(debug=False)
    assert run_app.debug is False


def test_first_request_flag_reset_after_run(recorder: Recorder, run_app: Treadle) -> None:
    run_app._got_first_request = True
    run_app.run()
    assert run_app._got_first_request is False


def test_first_request_flag_reset_even_when_server_fails(
    monkeypatch: pytest.MonkeyPatch, run_app: Treadle
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError("address in use")

    monkeypatch.setattr(treadle.serving, "run_simple", fail)
    monkeypatch.delenv("TREADLE_RUN_FROM_CLI", raising=False)
    run_app._got_first_request = True
    with pytest.raises(OSError):
        run_app.run()
    assert run_app._got_first_request is False


def test_run_is_ignored_under_the_cli(
    recorder: Recorder, run_app: Treadle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TREADLE_RUN_FROM_CLI", "true")
    run_app.run()
    assert recorder.calls == []
    assert "Ignoring a call to 'app.run()'" in capsys.readouterr().err
