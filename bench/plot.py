"""Draw one run's requests per second: a group of bars per load scenario, a bar per server.

    python bench/plot.py [bench/out/results-....json] [--out docs/bench.png]

Reads the JSON that bench/run.py writes under bench/out/ (the newest by default).
Picking the figures out of the JSON is pure and tested; only `draw` needs matplotlib.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
DEFAULT_PLOT = BENCH_DIR.parent / "docs" / "bench.png"

# Peers in cool greys and blues, treadle's variants in warm colours, each server always alike.
PEER_COLOURS = ("#9e9e9e", "#616161", "#90caf9", "#42a5f5", "#1565c0", "#26a69a", "#00695c",
                "#b39ddb")
TREADLE_COLOURS = ("#ef6c00", "#c62828", "#ffb300", "#8e24aa", "#f06292")
STYLE = {"width_per_bar": 0.28, "min_width": 10.0, "height": 7.0, "dpi": 130, "label_size": 6.5}


class PlotError(ValueError):
    """The results hold nothing to draw."""


@dataclass(frozen=True)
class Bar:
    """One server's rate in one scenario; `rps` is None when the server failed there."""

    scenario: str
    server: str
    rps: float | None


def load_bars(results: Mapping[str, Any]) -> list[Bar]:
    """Every load scenario's outcomes, in run order, as bars."""
    bars = []
    for name, record in results.get("results", {}).items():
        if not isinstance(record, Mapping) or record.get("kind") != "load":
            continue
        for outcome in record.get("outcomes", []):
            report = outcome.get("report")
            rps = float(report["requests_per_s"]) if report else None
            bars.append(Bar(name, str(outcome["server"]), rps))
    if not bars:
        raise PlotError("no load scenario in these results (only Python or memory scenarios "
                        "ran); run a load scenario such as hello first")
    return bars


def server_colours(servers: list[str]) -> dict[str, str]:
    """A fixed colour per server: treadle's variants warm, peers cool."""
    colours = {}
    treadle = peer = 0
    for server in servers:
        if server.startswith("treadle"):
            colours[server] = TREADLE_COLOURS[treadle % len(TREADLE_COLOURS)]
            treadle += 1
        else:
            colours[server] = PEER_COLOURS[peer % len(PEER_COLOURS)]
            peer += 1
    return colours


def short_rate(rps: float) -> str:
    return f"{rps / 1000:.1f}k" if rps >= 1000 else f"{rps:.0f}"


def draw(results: Mapping[str, Any], path: Path) -> int:
    """Grouped bars on a log scale, saved as a PNG at `path`; the number of bars drawn."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    bars = load_bars(results)
    scenarios = list(dict.fromkeys(bar.scenario for bar in bars))
    servers = list(dict.fromkeys(bar.server for bar in bars))
    colours = server_colours(servers)
    width = max(STYLE["min_width"], STYLE["width_per_bar"] * (len(bars) + 2 * len(scenarios)))
    fig, ax = plt.subplots(figsize=(width, STYLE["height"]))
    ax.set_yscale("log")
    rates = [bar.rps for bar in bars if bar.rps]
    floor = min(rates, default=1.0) / 3
    x = 0.0
    centres = []
    labelled: set[str] = set()
    for scenario in scenarios:
        group = [bar for bar in bars if bar.scenario == scenario]
        start = x
        for bar in group:
            label = bar.server if bar.server not in labelled else None
            labelled.add(bar.server)
            if bar.rps:
                ax.bar(x, bar.rps - floor, bottom=floor, width=0.9, color=colours[bar.server],
                       label=label)
                ax.text(x, bar.rps * 1.05, short_rate(bar.rps), ha="center", va="bottom",
                        rotation=90, fontsize=STYLE["label_size"])
            else:
                ax.bar(x, 0, bottom=floor, width=0.9, color=colours[bar.server], label=label)
                ax.text(x, floor * 1.1, "failed", ha="center", va="bottom", rotation=90,
                        fontsize=STYLE["label_size"], color="#c62828")
            x += 1
        centres.append((start + x - 1) / 2)
        x += 1.5
    ax.set_xticks(centres, scenarios)
    ax.set_xlim(-1, x - 1)
    ax.set_ylim(floor, max(rates, default=10.0) * 3)
    ax.set_ylabel("requests / s (log scale, higher is better)")
    machine = results.get("machine", {})
    ax.set_title(f"treadle and its peers under wrk on {machine.get('cores', '?')} cores, "
                 f"{str(results.get('date', ''))[:16].replace('T', ' ')} UTC "
                 f"(bench/RESULTS.md has the tables)", fontsize=10)
    ax.grid(axis="y", which="major", alpha=0.3)
    ax.legend(ncols=min(5, len(servers)), fontsize=8, loc="upper center",
              bbox_to_anchor=(0.5, -0.08), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=STYLE["dpi"])
    plt.close(fig)
    return len(bars)


def newest_results() -> Path:
    found = sorted(OUT_DIR.glob("results-*.json"))
    if not found:
        raise SystemExit(f"no results in {OUT_DIR}; run python bench/run.py first")
    return found[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/plot.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", type=Path, help="a results JSON (default: newest)")
    parser.add_argument("--out", type=Path, default=DEFAULT_PLOT, help="the PNG to write")
    args = parser.parse_args(argv)
    source = args.results or newest_results()
    try:
        drawn = draw(json.loads(source.read_text()), args.out)
    except PlotError as exc:
        print(f"error: {source}: {exc}", file=sys.stderr)
        return 1
    print(f"drew {args.out} from {source} ({drawn} bars)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
