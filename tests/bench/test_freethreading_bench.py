"""bench/freethreading.py's parts, wrk-free: the plan, medians, verdicts, and the GIL probe
of a real server started with the CPU-bound app."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import apps  # noqa: E402
import loadgen  # noqa: E402

import freethreading  # noqa: E402


def _report(rps: float) -> loadgen.WrkReport:
    return loadgen.WrkReport(rps, 1.0, 2.0, int(rps * 10), 10.0, 0, 0, 0, 0, 0)


def _measured(label: str, rps: float | None) -> freethreading.Measured:
    run = freethreading.Run(label, "py", "0", (), "apps:cpu", "/", 16)
    if rps is None:
        return freethreading.Measured(run, None, "", error="did not start")
    return freethreading.Measured(run, _report(rps), "GIL off")


def test_the_cpu_runs_pair_each_server_with_the_gil_off_and_on() -> None:
    cpu = freethreading.plan("ft", "regular")["cpu"]
    settings = {(run.label.split(",")[0], run.python, run.gil) for run in cpu}
    assert ("treadle threaded --threads 8", "ft", "0") in settings
    assert ("treadle threaded --threads 8", "ft", "1") in settings
    assert ("Werkzeug threaded=True", "ft", "0") in settings
    assert ("Werkzeug threaded=True", "ft", "1") in settings
    assert all(run.connections == 16 and run.app == "apps:cpu" for run in cpu)


def test_the_median_round_is_reported_with_every_round() -> None:
    rounds = [_measured("x", 300), _measured("x", None), _measured("x", 100), _measured("x", 200)]
    chosen = freethreading.median_of(rounds)
    assert chosen.report is not None and chosen.report.requests_per_s == 200
    assert chosen.rounds == (300, 100, 200)


def test_verdicts_compare_gil_off_with_on_and_with_werkzeug() -> None:
    cpu = [
        _measured("treadle threaded --threads 8, 3.13t GIL off", 380),
        _measured("treadle threaded --threads 8, 3.13t GIL on", 200),
        _measured("Werkzeug threaded=True, 3.13t GIL off", 400),
        _measured("Werkzeug threaded=True, 3.13t GIL on", 190),
    ]
    lines = freethreading.cpu_findings(cpu)
    assert lines[0].startswith("- treadle, GIL off ÷ GIL on: 1.90x") and "met" in lines[0]
    assert "0.95x (target > 1x: missed)" in lines[2]


def test_a_failed_run_is_a_row_that_says_so() -> None:
    table = freethreading.table([_measured("broken", None)])
    assert "failed: did not start" in table


def test_the_cpu_app_computes_and_reports_its_gil() -> None:
    assert isinstance(apps.cpu_work(1000), int)
    seen: list[str] = []
    body = apps.cpu({"PATH_INFO": "/gil"}, lambda status, headers: seen.append(status))
    assert seen == ["200 OK"] and b"".join(body) in (b"on", b"off")


def test_a_real_server_is_asked_about_its_gil(tmp_path: Path) -> None:
    run = freethreading.Run("probe", sys.executable, "", freethreading.treadle_argv("--threaded"),
                            "apps:cpu", "/", 1)  # fmt: skip
    with freethreading.serving(run, tmp_path) as server:
        state = freethreading.gil_state(run, server.port)
    expected = "on" if getattr(sys, "_is_gil_enabled", lambda: True)() else "off"
    assert state == f"GIL {expected}"
