"""Treadle on free-threaded CPython 3.13t: threads that compute in parallel (issue 7).

One run, one machine: a CPU-bound handler (bench/apps.py ``cpu``, ~5 ms of pure-Python work)
on treadle's threaded server (8 threads) and on Werkzeug's ``threaded=True`` server, each under
3.13t with ``PYTHON_GIL=0`` and ``PYTHON_GIL=1``, 16 connections; then the hello and framework
scenarios on 3.13t (GIL off) next to 3.11, so the single-thread cost of free-threading shows.
Every server process is asked whether it really runs without the GIL (the cpu app's ``/gil``).

    python bench/freethreading.py [--ft-python .venv-ft/bin/python] [--duration 10]
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import loadgen
import report
import servers

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_RESULTS = BENCH / "RESULTS-freethreading.md"
CPU_CONNECTIONS = 16
CPU_THREADS = 8
TARGET_SPEEDUP = 1.8


@dataclass(frozen=True)
class Run:
    """One server on one interpreter with one GIL setting, under one wrk load."""

    label: str
    python: str
    gil: str  # "0", "1", or "" for a regular build
    argv: tuple[str, ...]
    app: str
    path: str
    connections: int


def treadle_argv(*extra: str) -> tuple[str, ...]:
    return ("{python}", "-m", "treadle.serving", "--host", "{host}", "--port", "{port}",
            "--log-level", "warning", *extra, "{app}")  # fmt: skip


WERKZEUG_THREADED = ("{python}", "werkzeug_serve.py", "--threaded", "--host", "{host}",
                     "--port", "{port}", "{app}")  # fmt: skip


def plan(ft: str, regular: str) -> dict[str, list[Run]]:
    """The runs of each section, in the order they are measured."""
    threaded8 = treadle_argv("--threaded", "--threads", str(CPU_THREADS))
    cpu = [
        Run(f"treadle threaded --threads {CPU_THREADS}, 3.13t {mode}", ft, gil, threaded8,
            "apps:cpu", "/", CPU_CONNECTIONS)
        for gil, mode in (("0", "GIL off"), ("1", "GIL on"))
    ] + [
        Run(f"Werkzeug threaded=True, 3.13t {mode}", ft, gil, WERKZEUG_THREADED, "apps:cpu", "/",
            CPU_CONNECTIONS)
        for gil, mode in (("0", "GIL off"), ("1", "GIL on"))
    ] + [
        Run(f"treadle threaded --threads {CPU_THREADS}, 3.11", regular, "", threaded8, "apps:cpu",
            "/", CPU_CONNECTIONS),
    ]  # fmt: skip
    single: list[Run] = []
    for name, app, path in (("hello", "apps:hello", "/"), ("framework text", "treadle_app:app", "/"),
                            ("framework JSON", "treadle_app:app", "/users/42"),
                            ("framework template", "treadle_app:app", "/page")):  # fmt: skip
        for engine, argv in (("threaded", treadle_argv("--threaded")),
                             ("processes=2", treadle_argv("--processes", "2"))):  # fmt: skip
            for python, gil, interpreter in ((regular, "", "3.11"), (ft, "0", "3.13t GIL off")):
                single.append(Run(f"{name}: treadle {engine}, {interpreter}", python, gil, argv,
                                  app, path, 50))  # fmt: skip
    return {"cpu": cpu, "single": single}


@dataclass
class Measured:
    run: Run
    report: loadgen.WrkReport | None
    gil_seen: str
    error: str = ""
    rounds: tuple[float, ...] = ()  # req/s of every round, when the run was repeated


def requests_per_s(measured: Measured) -> float | None:
    return measured.report.requests_per_s if measured.report else None


def median_of(rounds: list[Measured]) -> Measured:
    """The round with the median req/s, carrying every round's figure."""
    middle = report.median_round(rounds, requests_per_s)
    if middle.report is None:
        return middle
    figures = tuple(m.report.requests_per_s for m in rounds if m.report is not None)
    return Measured(middle.run, middle.report, middle.gil_seen, rounds=figures)


def server_env(gil: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH), str(ROOT / "src")])
    if gil:
        env["PYTHON_GIL"] = gil
    return env


@contextmanager
def serving(run: Run, out: Path) -> Iterator[servers.RunningServer]:
    port = servers.free_port()
    values = {"{python}": run.python, "{host}": servers.HOST, "{port}": str(port),
              "{app}": run.app}  # fmt: skip
    argv = [values.get(arg, arg) for arg in run.argv]
    log = out / (run.label.replace(" ", "_").replace("/", "_").replace(",", "") + ".log")
    server = servers.start_server(argv, port=port, cwd=BENCH, log_path=log, env=server_env(run.gil))
    try:
        yield server
    finally:
        servers.stop_server(server)


def gil_state(run: Run, port: int) -> str:
    """What the serving process says about its GIL (the cpu app answers /gil)."""
    if run.app != "apps:cpu":
        return interpreter_gil(run.python, run.gil)
    with urllib.request.urlopen(f"http://{servers.HOST}:{port}/gil", timeout=5) as response:
        return f"GIL {response.read().decode()}"


def interpreter_gil(python: str, gil: str) -> str:
    """The GIL state after importing everything the apps import, in a fresh interpreter."""
    code = ("import sys, treadle.serving, treadle_app, apps, jinja2, httptools; "
            "print('GIL', 'on' if getattr(sys, '_is_gil_enabled', lambda: True)() else 'off')")  # fmt: skip
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=BENCH, env=server_env(gil), check=False)  # fmt: skip
    return (done.stdout.strip() or done.stderr.strip()[-200:]) + " (imports)"


def measure(run: Run, out: Path, duration: float, warmup: float) -> Measured:
    try:
        with serving(run, out) as server:
            seen = gil_state(run, server.port)
            url = f"http://{servers.HOST}:{server.port}{run.path}"
            if warmup > 0:
                loadgen.run_wrk(url, connections=run.connections, duration_s=warmup)
            result = loadgen.run_wrk(url, connections=run.connections, duration_s=duration)
            return Measured(run, result, seen)
    except (servers.ServerError, loadgen.WrkError, OSError) as exc:
        return Measured(run, None, "", error=str(exc).splitlines()[0])


def rate(results: list[Measured], label_start: str) -> float | None:
    for m in results:
        if m.run.label.startswith(label_start) and m.report is not None:
            return m.report.requests_per_s
    return None


def table(results: list[Measured]) -> str:
    rows = []
    for m in results:
        if m.report is None:
            rows.append([m.run.label, "failed: " + m.error, "", "", "", ""])
            continue
        every = " / ".join(report.format_rps(r) for r in m.rounds) or "-"
        rows.append([m.run.label, report.format_rps(m.report.requests_per_s), every,
                     report.latency_cell(m.report, 0.5), report.latency_cell(m.report, 0.99),
                     m.gil_seen])  # fmt: skip
    headers = ["run", "req/s (median)", "every round", "p50", "p99", "inside the server"]
    return report.markdown_table(headers, rows)


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else report.format_ratio(a, b)


def cpu_findings(cpu: list[Measured]) -> list[str]:
    off = rate(cpu, "treadle threaded --threads 8, 3.13t GIL off")
    on = rate(cpu, "treadle threaded --threads 8, 3.13t GIL on")
    wz_off = rate(cpu, "Werkzeug threaded=True, 3.13t GIL off")
    wz_on = rate(cpu, "Werkzeug threaded=True, 3.13t GIL on")
    speedup = None if off is None or on is None else off / on
    met = "met" if speedup is not None and speedup >= TARGET_SPEEDUP else "missed"
    beats = "met" if off is not None and wz_off is not None and off > wz_off else "missed"
    return [
        f"- treadle, GIL off ÷ GIL on: {ratio(off, on)} (target ≥ {TARGET_SPEEDUP}x: {met})",
        f"- Werkzeug, GIL off ÷ GIL on: {ratio(wz_off, wz_on)}",
        f"- treadle ÷ Werkzeug on 3.13t, GIL off: {ratio(off, wz_off)} (target > 1x: {beats});"
        f" GIL on: {ratio(on, wz_on)}",
    ]


def single_findings(single: list[Measured]) -> list[str]:
    lines = []
    for name in ("hello", "framework text", "framework JSON", "framework template"):
        for engine in ("threaded", "processes=2"):
            regular = rate(single, f"{name}: treadle {engine}, 3.11")
            ft = rate(single, f"{name}: treadle {engine}, 3.13t GIL off")
            lines.append(f"- {name}, {engine}: 3.13t (GIL off) ÷ 3.11 = {ratio(ft, regular)}")
    return lines


def version_of(python: str) -> str:
    done = subprocess.run([python, "-VV"], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip()


def render(date: str, command: str, ft: str, regular: str, cpu: list[Measured],
           single: list[Measured], duration: float, warmup: float) -> str:  # fmt: skip
    calibration = subprocess.run(
        [ft, "-c", "import sys, time, apps; t = time.perf_counter(); [apps.cpu_work() for _ in"
         " range(20)]; print(f'{(time.perf_counter() - t) / 20 * 1000:.1f}')"],
        capture_output=True, text=True, timeout=120, cwd=BENCH, env=server_env("0"), check=False,
    )  # fmt: skip
    return "\n".join([
        "# Free-threaded CPython: benchmark results",
        "",
        f"Written by `bench/freethreading.py` on {date}. Command: `{command}`",
        "",
        "## Machine",
        "",
        f"- uname: `{report.uname()}`",
        f"- CPU: {report.cpu_model()}, {os.cpu_count()} cores",
        f"- load average at the end: {report.load_average()}",
        f"- free-threaded: `{version_of(ft)}`",
        f"- regular: `{version_of(regular)}`",
        f"- wrk: {loadgen.wrk_version()}, `-t1`, {duration:.0f} s after {warmup:.0f} s of warm-up,"
        " on the same machine",
        "",
        "## CPU-bound handler, 16 connections",
        "",
        "Each run is repeated in interleaved rounds; the table shows the median round.",
        "",
        f"`apps:cpu`: {__import__('apps').CPU_LOOP_STEPS:,} steps of an arithmetic loop,"
        f" {calibration.stdout.strip() or '?'} ms per request on one 3.13t thread with the"
        " GIL off, measured now. Treadle runs `--threaded --threads 8`; Werkzeug's server starts"
        " a thread per connection. With the GIL on, threads take turns; with it off, the two"
        " cores compute at once, so 2x is the ceiling here.",
        "",
        table(cpu),
        "",
        *cpu_findings(cpu),
        "",
        "## Single-thread cost: hello and framework scenarios, 3.11 vs 3.13t",
        "",
        "50 keep-alive connections; the framework routes are bench/treadle_app.py's.",
        "",
        table(single),
        "",
        *single_findings(single),
        "",
    ])  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ft-python", default=str(ROOT / ".venv-ft" / "bin" / "python"))
    parser.add_argument("--python", default=sys.executable, help="the regular interpreter")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of the CPU-bound runs, interleaved; the median is shown")  # fmt: skip
    parser.add_argument("--sections", nargs="+", default=["cpu", "single"],
                        choices=["cpu", "single"])  # fmt: skip
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(args.ft_python).exists():
        print(f"no free-threaded interpreter at {args.ft_python}: see docs/free-threading.md")
        return 2
    out = BENCH / "out" / "freethreading"
    runs = plan(args.ft_python, args.python)
    measured: dict[str, list[Measured]] = {"cpu": [], "single": []}
    for section in args.sections:
        rounds = args.repeat if section == "cpu" else 1
        by_run: dict[Run, list[Measured]] = {run: [] for run in runs[section]}
        for _ in range(rounds):  # interleaved, so drift on the machine hits every run alike
            for run in runs[section]:
                result = measure(run, out, args.duration, args.warmup)
                shown = (
                    report.format_rps(result.report.requests_per_s)
                    if result.report
                    else result.error
                )
                print(f"{run.label}: {shown} ({result.gil_seen})", flush=True)
                by_run[run].append(result)
        measured[section] = [median_of(results) for results in by_run.values()]
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python bench/freethreading.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    page = render(date, command.strip(), args.ft_python, args.python, measured["cpu"],
                  measured["single"], args.duration, args.warmup)  # fmt: skip
    args.results.write_text(page, encoding="utf-8")
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
