"""Turn measurements into the side-by-side tables and the RESULTS.md page.

Pure formatting (tested without servers) plus the machine description that
heads every results page, so a number is never read without its context.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from loadgen import WRK_SOCKET_TIMEOUT_S, WrkReport
from scenarios import PythonScenario, ServerSpec, Target, WrkScenario
from servers import GroupMemory

# Whose versions the results page records.
PACKAGES = ("treadle", "httptools", "Werkzeug", "Flask", "gunicorn", "waitress", "granian")
MISSING = "—"

Round = TypeVar("Round")


def median_round(rounds: Sequence[Round], rate: Callable[[Round], float | None]) -> Round:
    """The round with the median rate (the upper middle one of an even count), reported
    whole so its latencies go with its rate; a failed round (no rate) is chosen only when
    every round failed."""
    measured = sorted((r for r in rounds if rate(r) is not None), key=lambda r: rate(r) or 0.0)
    if not measured:
        return rounds[-1]
    return measured[len(measured) // 2]


@dataclass(frozen=True)
class Outcome:
    """One server's result in one scenario: a load report or a memory figure, or why none.

    `reference` is the same server's rate on the scenario's reference path, when it has one.
    """

    server: str
    report: WrkReport | None = None
    reference: WrkReport | None = None
    memory: GroupMemory | None = None
    error: str | None = None
    rounds: tuple[float, ...] = ()  # req/s of every round, when the scenario ran several


def format_rps(value: float) -> str:
    return f"{value:,.0f}"


def format_ms(value: float) -> str:
    if value < 10:
        return f"{value:.2f} ms"
    if value < 1000:
        return f"{value:.1f} ms"
    return f"{value / 1000:.2f} s"


def format_ratio(numerator: float, denominator: float) -> str:
    """`numerator / denominator` as `1.85x`; a dash when either side has nothing."""
    if numerator <= 0 or denominator <= 0:
        return MISSING
    return f"{numerator / denominator:.2f}x"


def latency_cell(r: WrkReport, quantile: float) -> str:
    """A latency percentile as wrk measured it, `> 2 s` when timeouts reach that far, or a dash.

    wrk leaves responses slower than its timeout out of the histogram and counts them
    as timeouts, so its own percentile would understate (even read 0 when all time out).
    """
    if not r.requests:
        return MISSING  # nothing answered: wrk's histogram is empty and reads 0
    if r.timeouts >= (1 - quantile) * r.requests:
        return f"> {WRK_SOCKET_TIMEOUT_S} s"
    return format_ms(r.p50_ms if quantile == 0.50 else r.p99_ms)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                   right: Sequence[bool] | None = None) -> str:
    """A Markdown table padded so it also reads as plain text in a terminal."""
    right = right or [False] * len(headers)
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row has {len(row)} cells, the table has {len(headers)} columns: {row}")
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    widths = [max(width, 3) for width in widths]

    def line(cells: Sequence[str]) -> str:
        padded = (cell.rjust(w) if r else cell.ljust(w)
                  for cell, w, r in zip(cells, widths, right, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if r else ("-" * (w + 2))
                          for w, r in zip(widths, right, strict=True)) + "|"
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


def scenario_table(scenario: WrkScenario, outcomes: Sequence[Outcome],
                   servers: Mapping[str, ServerSpec]) -> str:
    """Servers as rows, with each treadle variant's req/s divided by that row's.

    A scenario with a reference path also shows that rate (what the CPU allows the
    server) and the measured rate as a share of it.
    """
    treadles = [o for o in outcomes if servers[o.server].treadle and o.report is not None]
    headers = ["server", "req/s", "p50", "p99", "socket errors", "non-2xx"]
    right = [False, True, True, True, True, True]
    if scenario.ideal_rps:
        headers.append("% of ideal")
        right.append(True)
    if scenario.reference_path:
        headers += [f"CPU allows ({scenario.reference_path} req/s)", "% of that"]
        right += [True, True]
    show_rounds = any(len(o.rounds) > 1 for o in outcomes)
    if show_rounds:
        headers.append("every round (req/s)")
        right.append(True)
    for t in treadles:
        headers.append(f"{t.server} ÷ row")
        right.append(True)
    rows = []
    failures = []
    for outcome in outcomes:
        title = servers[outcome.server].title
        if outcome.report is None:
            failures.append(f"- {title}: {_first_line(outcome.error or '')}")
            rows.append([title, "failed"] + [MISSING] * (len(headers) - 2))
            continue
        r = outcome.report
        row = [title, format_rps(r.requests_per_s), latency_cell(r, 0.50), latency_cell(r, 0.99),
               f"{r.socket_errors:,}", f"{r.non_2xx:,}"]
        if scenario.ideal_rps:
            row.append(format_percent(r.requests_per_s, scenario.ideal_rps))
        if scenario.reference_path:
            ref = outcome.reference.requests_per_s if outcome.reference else 0.0
            row += [format_rps(ref) if ref else MISSING, format_percent(r.requests_per_s, ref)]
        if show_rounds:
            row.append(" / ".join(format_rps(rate) for rate in outcome.rounds) or MISSING)
        for t in treadles:
            assert t.report is not None
            row.append(format_ratio(t.report.requests_per_s, r.requests_per_s))
        rows.append(row)
    parts = [markdown_table(headers, rows, right)]
    if scenario.targets:
        parts.append("\n".join(target_lines(scenario.targets, outcomes, servers)))
    if failures:
        parts.append("\n".join(failures))
    return "\n\n".join(parts)


def format_percent(value: float, of: float) -> str:
    return f"{100 * value / of:.0f}%" if value > 0 and of > 0 else MISSING


def target_lines(targets: Sequence[Target], outcomes: Sequence[Outcome],
                 servers: Mapping[str, ServerSpec]) -> list[str]:
    """One line per target: each treadle variant's ratio to the peer, and whether it is met."""
    rates = {o.server: o.report.requests_per_s for o in outcomes if o.report is not None}
    treadles = [name for name in rates if servers[name].treadle]
    lines = []
    for target in targets:
        peer = rates.get(target.peer, 0.0)
        cells = []
        for name in treadles:
            if peer <= 0:
                cells.append(f"{name} {MISSING}")
                continue
            ratio = rates[name] / peer
            cells.append(f"{name} {ratio:.2f}x ({'met' if ratio >= target.ratio else 'missed'})")
        shown = "; ".join(cells) if cells else "no treadle result"
        if target.peer not in rates:
            shown = f"no {target.peer} result"
        lines.append(f"- Target treadle >= {target.ratio:g}x {target.peer}: {shown}")
    return lines


def format_mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def memory_table(outcomes: Sequence[Outcome], servers: Mapping[str, ServerSpec]) -> str:
    """Servers as rows with their idle PSS and RSS; failures listed under the table."""
    headers = ["server", "processes", "PSS", "RSS"]
    rows = []
    failures = []
    for outcome in outcomes:
        title = servers[outcome.server].title
        if outcome.memory is None:
            failures.append(f"- {title}: {_first_line(outcome.error or '')}")
            rows.append([title, "failed", MISSING, MISSING])
            continue
        m = outcome.memory
        rows.append([title, str(m.processes), format_mib(m.pss_kib), format_mib(m.rss_kib)])
    table = markdown_table(headers, rows, [False, True, True, True])
    return "\n\n".join([table, "\n".join(failures)]) if failures else table


def flatten(figures: Mapping[str, object], prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts of figures as `a.b` / value pairs, numbers formatted for reading."""
    pairs: list[tuple[str, str]] = []
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            pairs += flatten(value, f"{name}.")
        elif isinstance(value, float):
            pairs.append((name, f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"))
        elif isinstance(value, int) and not isinstance(value, bool):
            pairs.append((name, f"{value:,}"))
        else:
            pairs.append((name, str(value)))
    return pairs


def python_table(scenario: PythonScenario, figures: Mapping[str, object] | None,
                 error: str | None) -> str:
    if figures is None:
        return markdown_table(["figure", "value"], [["failed", _first_line(error or "")]])
    return markdown_table(["figure", "value"], [list(p) for p in flatten(figures)], [False, True])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def uname() -> str:
    try:
        done = subprocess.run(["uname", "-a"], capture_output=True, text=True, timeout=5,
                              check=True)
    except (OSError, subprocess.SubprocessError):
        return " ".join(platform.uname())
    return done.stdout.strip()


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def load_average() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def machine_info(wrk: str) -> dict[str, object]:
    """Everything a reader needs to judge the numbers: host, CPU, Python, versions."""
    return {
        "uname": uname(),
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "load": load_average(),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "wrk": wrk,
        "packages": package_versions(),
    }


@dataclass(frozen=True)
class Section:
    """One scenario's part of the page: heading, how it was driven, the table."""

    name: str
    title: str
    body: str
    note: str = ""
    command: str = ""


def render_page(*, date: str, command: str, machine: Mapping[str, object],
                method: Sequence[str], servers: Mapping[str, ServerSpec],
                sections: Sequence[Section], plot: str = "") -> str:
    """The whole RESULTS.md: context first, then the plot (a relative link), then the tables."""
    packages = machine.get("packages", {})
    versions = ", ".join(f"{k} {v}" for k, v in packages.items()) if isinstance(
        packages, Mapping) else str(packages)
    lines = [
        "# Benchmark results",
        "",
        f"Written by `bench/run.py` on {date}. Command: `{command}`",
        "",
        "## Machine",
        "",
        f"- uname: `{machine.get('uname')}`",
        f"- CPU: {machine.get('cpu')}, {machine.get('cores')} cores",
        f"- load average (1, 5, 15 min): {machine.get('load_start')} at the start, "
        f"{machine.get('load')} at the end",
        f"- Python: {machine.get('python')}",
        f"- wrk: {machine.get('wrk')}",
        f"- packages: {versions}",
        "",
        "## Method",
        "",
        *(f"- {item}" for item in method),
        "",
        "## Servers",
        "",
        markdown_table(["name", "server", "what bounds requests in flight"],
                       [[name, spec.title, spec.concurrency] for name, spec in servers.items()]),
    ]
    if plot:
        lines += ["", f"![Requests per second, per scenario and server]({plot})"]
    for section in sections:
        lines += ["", f"## {section.name}: {section.title}", ""]
        if section.note:
            lines += [section.note, ""]
        if section.command:
            lines += [f"Load: `{section.command}`", ""]
        lines.append(section.body)
    return "\n".join(lines) + "\n"
