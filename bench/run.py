"""Run treadle and its peers one after another under the same wrk load.

    python bench/run.py [--duration S] [--quick] [--scenarios ...] [--servers ...]

Walks the tables in scenarios.py, prints one side-by-side table per scenario
and writes bench/RESULTS.md (plus a JSON copy in bench/out/ and, when
matplotlib is installed, docs/bench.png). Every step is bounded, so the whole
run ends within the limit printed before it starts.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import importlib.util
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import loadgen
import report
import servers
from scenarios import (
    GROUPS,
    SCENARIOS,
    SERVERS,
    MemoryScenario,
    PythonScenario,
    WrkScenario,
    expand_scenarios,
    servers_for,
)

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
PLOT_PATH = BENCH_DIR.parent / "docs" / "bench.png"

# Run lengths in seconds, and rounds per load scenario: the default run and --quick.
DEFAULTS = {"duration": 5.0, "warmup": 1.0, "rounds": 3}
QUICK = {"duration": 3.0, "warmup": 1.0, "rounds": 1}
# What starting and stopping a server usually costs, for the up-front estimate.
TYPICAL_START_STOP_S = 1.5

# Open files a server or wrk may need beyond its connections (logs, modules, epoll, pipes).
NOFILE_SLACK = 1024

# The module a server needs importable before it is worth starting.
REQUIRES = {
    "werkzeug": "werkzeug", "werkzeug-threaded": "werkzeug",
    "gunicorn-sync": "gunicorn", "gunicorn-gthread": "gunicorn",
    "waitress": "waitress", "granian": "granian",
    "treadle-threaded": "treadle.serving", "treadle-processes-128": "treadle.serving",
    "treadle-processes": "treadle.serving", "treadle-processes-threads": "treadle.serving",
}

# argv: module, function, keyword arguments as JSON, where to write the figures.
_PYTHON_RUNNER = (
    "import importlib, json, sys\n"
    "function = getattr(importlib.import_module(sys.argv[1]), sys.argv[2])\n"
    "figures = function(**json.loads(sys.argv[3]))\n"
    "with open(sys.argv[4], 'w') as f:\n"
    "    json.dump(figures, f, default=str)\n"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/run.py",
        description="Side-by-side WSGI server benchmark driven by wrk on 127.0.0.1.")
    parser.add_argument("--duration", type=float, help=f"seconds of measured load per run "
                        f"(default {DEFAULTS['duration']:.0f}, --quick {QUICK['duration']:.0f})")
    parser.add_argument("--warmup", type=float, help="seconds of discarded load before each run "
                        f"(default {DEFAULTS['warmup']:.0f}, --quick {QUICK['warmup']:.0f})")
    parser.add_argument("--rounds", type=int, help="runs of each server per load scenario, "
                        "taking turns with the others; the median one is reported "
                        f"(default {DEFAULTS['rounds']}, --quick {QUICK['rounds']})")
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--scenarios", nargs="+", choices=[*SCENARIOS, *GROUPS],
                        default=list(SCENARIOS), metavar="NAME",
                        help=f"any of: {', '.join(SCENARIOS)}; or a group: "
                             + ", ".join(f"{g} ({' '.join(m)})" for g, m in GROUPS.items()))
    parser.add_argument("--servers", nargs="+", choices=list(SERVERS), default=list(SERVERS),
                        metavar="NAME", help=f"any of: {', '.join(SERVERS)}")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS.md",
                        help="where to write the Markdown page (default bench/RESULTS.md)")
    parser.add_argument("--plot", type=Path, default=PLOT_PATH,
                        help="where to draw the req/s chart when matplotlib is installed "
                             "(default docs/bench.png)")
    args = parser.parse_args(argv)
    args.scenarios = expand_scenarios(args.scenarios)
    lengths = QUICK if args.quick else DEFAULTS
    args.duration = lengths["duration"] if args.duration is None else args.duration
    args.warmup = lengths["warmup"] if args.warmup is None else args.warmup
    args.rounds = int(lengths["rounds"]) if args.rounds is None else args.rounds
    if args.duration < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--duration must be at least 1 second, --warmup not negative and "
                     "--rounds at least 1")
    return args


def estimate_s(scenarios: list[str], server_names: list[str], duration: float,
               warmup: float, rounds: int = 1) -> tuple[float, float]:
    """(typical, worst case) seconds for the whole run; the worst case is every deadline hit."""
    typical = worst = 0.0
    deadlines = servers.DEADLINES_S
    lifecycle = deadlines["ready"] + deadlines["term"] + deadlines["kill"]
    for name in scenarios:
        scenario = SCENARIOS[name]
        if isinstance(scenario, PythonScenario):
            typical += scenario.expected_s
            worst += scenario.timeout_s
            continue
        count = len(servers_for(name, server_names))
        if isinstance(scenario, WrkScenario):
            runs = 2 if scenario.reference_path else 1
            busy = warmup + runs * duration
            worst_busy = busy + (runs + 1) * loadgen.WRK_SLACK_S
            count *= rounds
        else:
            busy = scenario.settle_s
            worst_busy = busy + scenario.requests * deadlines["probe"]
        typical += count * (busy + TYPICAL_START_STOP_S)
        worst += count * (worst_busy + lifecycle)
    return typical, worst


def open_files_needed(scenarios: list[str]) -> int:
    """The open-file limit wrk and the servers need for the largest scenario chosen."""
    connections = [s.connections for name in scenarios
                   if isinstance(s := SCENARIOS[name], WrkScenario)]
    return max(connections, default=0) + NOFILE_SLACK


def raise_open_files(needed: int) -> str | None:
    """Lift this process's soft open-file limit (wrk and servers inherit it); a warning if not."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return None
    if hard != resource.RLIM_INFINITY and hard < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return (f"the open-file hard limit is {hard}, below the {needed} the largest scenario "
                "needs; expect connect errors there (raise it: ulimit -Hn, or LimitNOFILE=)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return None


def unavailable_reason(name: str) -> str | None:
    """Why server `name` cannot run here, or None when its module imports."""
    module = REQUIRES[name]
    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:
        found = False
    if found:
        return None
    return f"{module} is not importable from {sys.executable}"


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BENCH_DIR), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextlib.contextmanager
def serving(name: str, scenario_name: str, app: str) -> Iterator[servers.RunningServer]:
    """Server `name` serving `app` for the length of the block; raises ServerError if it can't."""
    reason = unavailable_reason(name)
    if reason is not None:
        raise servers.ServerError(f"unavailable: {reason}")
    port = servers.free_port()
    argv = SERVERS[name].command(python=sys.executable, host=servers.HOST, port=port, app=app)
    server = servers.start_server(argv, port=port, cwd=BENCH_DIR, env=server_env(),
                                  log_path=OUT_DIR / "logs" / f"{scenario_name}-{name}.log")
    try:
        yield server
    finally:
        servers.stop_server(server)


def measure_load(name: str, scenario_name: str, scenario: WrkScenario, duration: float,
                 warmup: float) -> report.Outcome:
    """Start one server, warm it up, load it, stop it; any failure becomes the outcome."""
    conns, headers = scenario.connections, scenario.headers
    reference = None
    try:
        app = scenario.treadle_app if SERVERS[name].treadle and scenario.treadle_app else scenario.app
        with serving(name, scenario_name, app) as server:
            base = f"http://{servers.HOST}:{server.port}"
            url = base + scenario.path
            # With a reference, warm up on it: abandoned slow requests from a warm-up on the
            # scenario's own path would still be queued, and starve the reference run.
            first = base + scenario.reference_path if scenario.reference_path else url
            if warmup > 0:
                loadgen.run_wrk(first, connections=conns, duration_s=warmup, headers=headers)
            if scenario.reference_path:
                reference = loadgen.run_wrk(first, connections=conns, duration_s=duration,
                                            headers=headers)
            result = loadgen.run_wrk(url, connections=conns, duration_s=duration, headers=headers)
            if server.process.poll() is not None:
                raise servers.ServerError(f"exited during the run; log {server.log_path}:\n"
                                          f"{servers.log_tail(server.log_path)}")
    except (servers.ServerError, loadgen.WrkError) as exc:
        return report.Outcome(name, reference=reference, error=str(exc))
    return report.Outcome(name, report=result, reference=reference)


def measure_memory(name: str, scenario_name: str, scenario: MemoryScenario) -> report.Outcome:
    """Start one server, send it a few requests, let it settle, sum its group's memory."""
    try:
        with serving(name, scenario_name, scenario.app) as server:
            for _ in range(scenario.requests):
                servers.answers_http(server.port, servers.DEADLINES_S["probe"])
            # A measured pause, not synchronisation: allocations after the last response land.
            time.sleep(scenario.settle_s)
            memory = servers.group_memory(server.process.pid)
    except servers.ServerError as exc:
        return report.Outcome(name, error=str(exc))
    return report.Outcome(name, memory=memory)


def run_python(scenario: PythonScenario,
               quick: bool = False) -> tuple[dict[str, object] | None, str | None]:
    """Call bench/<module>.py <function>() in a child process with a deadline."""
    if not (BENCH_DIR / f"{scenario.module}.py").exists():
        return None, f"bench/{scenario.module}.py is not written yet"
    call = f"{scenario.module}.{scenario.function}()"
    kwargs = json.dumps(dict(scenario.quick_args) if quick else {})
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        try:
            done = subprocess.run([sys.executable, "-c", _PYTHON_RUNNER, scenario.module,
                                   scenario.function, kwargs, str(out)],
                                  cwd=BENCH_DIR, env=server_env(), capture_output=True, text=True,
                                  timeout=scenario.timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return None, f"{call} ran past {scenario.timeout_s:.0f} s"
        if done.returncode != 0:
            return None, f"{call} failed: {done.stderr.strip()[-800:]}"
        figures = json.loads(out.read_text())
    if not isinstance(figures, dict):
        return None, f"{call} returned {type(figures).__name__}, not a dict"
    return figures, None


def run_python_scenario(name: str, scenario: PythonScenario,
                        args: argparse.Namespace) -> tuple[report.Section, object]:
    figures, error = run_python(scenario, quick=args.quick)
    body = report.python_table(scenario, figures, error)
    return (report.Section(name, scenario.title, body, scenario.note),
            {"kind": "python", "title": scenario.title, "figures": figures, "error": error})


def run_server_scenario(name: str, scenario: WrkScenario | MemoryScenario,
                        args: argparse.Namespace) -> tuple[report.Section, object]:
    """Every chosen server that takes part, in turn, through one load or memory scenario."""
    taking_part = servers_for(name, args.servers)
    if not taking_part:
        print("  none of the chosen servers takes part in this scenario", flush=True)
    # Servers take turns, round after round, so a change in the machine's speed during the
    # scenario reaches them alike; each one's median round is reported.
    rounds = args.rounds if isinstance(scenario, WrkScenario) else 1
    runs: dict[str, list[report.Outcome]] = {server_name: [] for server_name in taking_part}
    for round_no in range(1, rounds + 1):
        for server_name in taking_part:
            label = f"round {round_no}/{rounds} " if rounds > 1 else ""
            print(f"  {label}{server_name} ...", end=" ", flush=True)
            if isinstance(scenario, WrkScenario):
                outcome = measure_load(server_name, name, scenario, args.duration, args.warmup)
            else:
                outcome = measure_memory(server_name, name, scenario)
            print(progress(outcome), flush=True)
            runs[server_name].append(outcome)
    outcomes = [dataclasses.replace(report.median_round(rounds_run, outcome_rate),
                                    rounds=tuple(o.report.requests_per_s for o in rounds_run
                                                 if o.report is not None))
                for rounds_run in runs.values()]
    kind = "memory" if isinstance(scenario, MemoryScenario) else "load"
    record = {"kind": kind, "title": scenario.title,
              "outcomes": [dataclasses.asdict(o) for o in outcomes]}
    if isinstance(scenario, MemoryScenario):
        body = report.memory_table(outcomes, SERVERS)
        return report.Section(name, scenario.title, body, scenario.note), record
    body = report.scenario_table(scenario, outcomes, SERVERS)
    command = shlex.join(loadgen.wrk_command(
        f"http://127.0.0.1:PORT{scenario.path}", connections=scenario.connections,
        duration_s=args.duration, headers=scenario.headers))
    return report.Section(name, scenario.title, body, scenario.note, command), record


def outcome_rate(outcome: report.Outcome) -> float | None:
    return outcome.report.requests_per_s if outcome.report else None


def progress(outcome: report.Outcome) -> str:
    if outcome.report is not None:
        rate = f"{outcome.report.requests_per_s:,.0f} req/s"
        if outcome.reference is not None:
            rate += f" (reference {outcome.reference.requests_per_s:,.0f})"
        return rate
    if outcome.memory is not None:
        return f"{outcome.memory.pss_kib / 1024:.1f} MiB PSS"
    return (outcome.error or "failed").splitlines()[0]


def method_notes(duration: float, warmup: float, rounds: int = 1) -> list[str]:
    rounds_note = (
        f"Each load scenario runs {rounds} rounds; in each round every server takes its turn, "
        "so a change in the machine's speed during the scenario reaches them all; a table "
        "row is that server's median round (by req/s), with that round's latencies."
        if rounds > 1 else "Each load scenario runs every server once.")
    return [
        "Each server runs alone, as a subprocess on a free 127.0.0.1 port, and is stopped "
        "(SIGTERM, then SIGKILL to its process group) before the next starts.",
        rounds_note,
        f"Load: `wrk -t{loadgen.WRK_THREADS} --latency --timeout={loadgen.WRK_SOCKET_TIMEOUT_S}s`"
        f" for {duration:.0f} s after {warmup:.0f} s of discarded warm-up. "
        "wrk runs on the same machine, so it and the server share the cores.",
        "Apps are the plain WSGI callables in bench/apps.py (13-byte body with "
        "Content-Length), except in the framework scenarios (bench/flask_app.py and "
        "bench/treadle_app.py); no access logs are written by any server.",
        "Ratio columns are treadle's req/s divided by the row's: above 1.00x treadle is faster.",
        "Socket errors are wrk's connect + read + write + timeout counts; a request that "
        f"times out ({loadgen.WRK_SOCKET_TIMEOUT_S} s) counts there and not in the latencies.",
        "Other work on the machine moves the numbers: compare servers within one run.",
    ]


def draw_plot(json_path: Path, plot_path: Path) -> bool:
    """The req/s chart of this run, when matplotlib is importable; False when it is not drawn."""
    if importlib.util.find_spec("matplotlib") is None:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot drawn")
        return False
    import plot

    try:
        drawn = plot.draw(json.loads(json_path.read_text()), plot_path)
    except plot.PlotError as exc:
        print(f"no plot drawn: {exc}")
        return False
    print(f"drew {plot_path} ({drawn} bars)")
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        wrk = loadgen.wrk_version()
    except loadgen.WrkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    warning = raise_open_files(open_files_needed(args.scenarios))
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    typical, worst = estimate_s(args.scenarios, args.servers, args.duration, args.warmup,
                                args.rounds)
    print(f"{len(args.scenarios)} scenarios x {len(args.servers)} servers x {args.rounds} "
          f"rounds, {args.duration:.0f} s per run: about {typical / 60:.1f} min, "
          f"at most {worst / 60:.1f} min.", flush=True)

    started = dt.datetime.now(dt.UTC)
    load_start = report.load_average()
    sections: list[report.Section] = []
    record: dict[str, object] = {}
    for scenario_name in args.scenarios:
        scenario = SCENARIOS[scenario_name]
        print(f"\n## {scenario_name}: {scenario.title}", flush=True)
        began = time.monotonic()
        if isinstance(scenario, PythonScenario):
            section, record[scenario_name] = run_python_scenario(scenario_name, scenario, args)
        else:
            section, record[scenario_name] = run_server_scenario(scenario_name, scenario, args)
        sections.append(section)
        print(f"{section.body}\n({time.monotonic() - began:.0f} s)", flush=True)

    command = shlex.join(["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    chosen = {name: SERVERS[name] for name in args.servers}
    machine = {**report.machine_info(wrk), "load_start": load_start}
    OUT_DIR.mkdir(exist_ok=True)
    json_path = OUT_DIR / f"results-{started.strftime('%Y%m%d-%H%M%S')}.json"
    json_path.write_text(json.dumps({"date": started.isoformat(), "command": command,
                                     "machine": machine, "results": record}, indent=2))
    plot_link = ""
    if draw_plot(json_path, args.plot):
        plot_link = Path(os.path.relpath(args.plot.resolve(),
                                         args.results.resolve().parent)).as_posix()
    page = report.render_page(date=started.strftime("%Y-%m-%d %H:%M UTC"), command=command,
                              machine=machine, method=method_notes(args.duration, args.warmup, args.rounds),
                              servers=chosen, sections=sections, plot=plot_link)
    args.results.write_text(page, encoding="utf-8")
    print(f"\nwrote {args.results} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
